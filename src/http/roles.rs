//! Authorization as a type (meilisearch's `GuardedData` idea): a handler that takes an
//! [`Admin`] cannot run for anyone else, and cannot forget to check. Each extractor
//! authenticates (401 `unauthenticated`) then checks the role (403 `forbidden`).

use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::ApiError;
use actix_web::{dev::Payload, FromRequest, HttpRequest};
use futures_util::future::LocalBoxFuture;

/// Any signed-in user: the session token's user (401 `unauthenticated` without one).
impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _payload: &mut Payload) -> Self::Future {
        // Already authenticated by `http::security::authenticate_first`.
        if let Some(user) = actix_web::HttpMessage::extensions(req)
            .get::<AuthUser>()
            .cloned()
        {
            return Box::pin(async move { Ok(user) });
        }
        let token = crate::auth::bearer_token(req).map(str::to_owned);
        let store = req
            .app_data::<actix_web::web::Data<crate::state::AppState>>()
            .map(|s| s.store.clone());
        Box::pin(async move {
            let token = token.ok_or(ApiError::Unauthenticated)?;
            let store = store
                .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("application state missing")))?;
            crate::auth::authenticate_token(&store, &token).await
        })
    }
}

macro_rules! role_extractor {
    ($(#[$doc:meta])* $name:ident, $least:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone)]
        pub struct $name(pub AuthUser);

        impl std::ops::Deref for $name {
            type Target = AuthUser;

            fn deref(&self) -> &AuthUser {
                &self.0
            }
        }

        impl FromRequest for $name {
            type Error = ApiError;
            type Future = LocalBoxFuture<'static, Result<Self, ApiError>>;

            fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let user = AuthUser::from_request(req, payload);
                Box::pin(async move {
                    let user = user.await?;
                    user.require($least)?;
                    Ok($name(user))
                })
            }
        }
    };
}

role_extractor!(
    /// An admin.
    Admin,
    Role::Admin
);
role_extractor!(
    /// A supervisor or an admin.
    Supervisor,
    Role::Supervisor
);
role_extractor!(
    /// Any authenticated user: an agent, a supervisor or an admin.
    AnyUser,
    Role::Agent
);

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::HttpMessage;

    fn request_of(role: Role) -> HttpRequest {
        let req = actix_web::test::TestRequest::default().to_http_request();
        req.extensions_mut().insert(AuthUser {
            id: 1,
            username: "u".into(),
            display_name: "U".into(),
            role,
        });
        req
    }

    async fn extract<T: FromRequest<Error = ApiError>>(role: Role) -> Result<T, ApiError> {
        T::from_request(&request_of(role), &mut Payload::None).await
    }

    #[actix_web::test]
    async fn each_extractor_lets_its_role_and_above_in() {
        assert!(extract::<Admin>(Role::Admin).await.is_ok());
        assert!(matches!(
            extract::<Admin>(Role::Supervisor).await,
            Err(ApiError::Forbidden)
        ));
        assert!(extract::<Supervisor>(Role::Admin).await.is_ok());
        assert!(extract::<Supervisor>(Role::Supervisor).await.is_ok());
        assert!(matches!(
            extract::<Supervisor>(Role::Agent).await,
            Err(ApiError::Forbidden)
        ));
        assert!(extract::<AnyUser>(Role::Agent).await.is_ok());
    }

    #[actix_web::test]
    async fn no_user_is_unauthenticated() {
        let req = actix_web::test::TestRequest::default().to_http_request();
        let got = AnyUser::from_request(&req, &mut Payload::None).await;
        assert!(matches!(got, Err(ApiError::Unauthenticated)));
    }
}
