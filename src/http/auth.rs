//! `POST /auth/login`, `POST /auth/logout`, `GET /me`.

use super::roles::AnyUser;
use super::Data;
use crate::auth::{bearer_token, AuthUser};
use crate::domain::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ErrorCode};
use crate::store::users;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/auth/login").route(web::post().to(login)))
        .service(web::resource("/auth/logout").route(web::post().to(logout)))
        .service(web::resource("/me").route(web::get().to(me)))
        .service(
            web::resource("/me/preferences")
                .route(web::get().to(preferences))
                .route(web::patch().to(update_preferences)),
        );
}

/// The agent's own interaction settings ("My Profile > Interactions").
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Preferences {
    /// Pop the most recently updated contact when several match (R20).
    pub auto_multi_match_pop: bool,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct PreferencesPatch {
    pub auto_multi_match_pop: Option<bool>,
}

#[utoipa::path(
    get, path = "/api/v1/me/preferences", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The user's own interaction settings", body = Preferences),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn preferences(user: AnyUser, state: Data) -> Result<HttpResponse, ApiError> {
    let id = user.id;
    let auto = state
        .store
        .read(move |db| users::auto_multi_match_pop(db, id))
        .await?;
    Ok(HttpResponse::Ok().json(Preferences {
        auto_multi_match_pop: auto,
    }))
}

#[utoipa::path(
    patch, path = "/api/v1/me/preferences", tag = "auth",
    security(("bearer" = [])),
    request_body = PreferencesPatch,
    responses(
        (status = 200, description = "Saved; takes effect on the next accept", body = Preferences),
        (status = 400, description = "`invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update_preferences(
    user: AnyUser,
    state: Data,
    body: super::Json<PreferencesPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = user.id;
    let patch = body.into_inner();
    let auto = state
        .store
        .write(move |db| {
            if let Some(on) = patch.auto_multi_match_pop {
                users::set_auto_multi_match_pop(db, id, on, now_ms())?;
            }
            users::auto_multi_match_pop(db, id)
        })
        .await?;
    state.registry.agent_changed(id).await;
    Ok(HttpResponse::Ok().json(Preferences {
        auto_multi_match_pop: auto,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct LoginRequest {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Bearer token for `Authorization: Bearer TOKEN` and `/ws/agent?token=TOKEN`.
    pub token: String,
    /// RFC 3339 UTC.
    pub expires_at: String,
    pub user: AuthUser,
}

/// Longest username or password looked at; longer ones cannot match.
const MAX_CREDENTIAL_CHARS: usize = 1024;

#[utoipa::path(
    post, path = "/api/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = LoginResponse),
        (status = 400, description = "`invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`invalid_credentials` (unknown user or wrong password)", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 429, description = "`too_many_requests`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn login(
    state: Data,
    req: HttpRequest,
    body: super::Json<LoginRequest>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let addr = req.peer_addr().map(|a| a.ip());
    state.auth.check(&body.username, addr)?;
    if body.username.chars().count() > MAX_CREDENTIAL_CHARS
        || body.password.chars().count() > MAX_CREDENTIAL_CHARS
    {
        return Err(ApiError::Unauthorized(
            ErrorCode::InvalidCredentials,
            "wrong username or password".into(),
        ));
    }
    let (token, expires_at, user) = crate::auth::login(
        &state.store,
        &body.username,
        &body.password,
        state.settings.auth.token_ttl_secs,
    )
    .await?;
    Ok(HttpResponse::Ok().json(LoginResponse {
        token,
        expires_at: to_rfc3339(expires_at),
        user,
    }))
}

#[utoipa::path(
    post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Session ended"),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn logout(
    state: Data,
    _user: AnyUser,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    if let Some(token) = bearer_token(&req) {
        crate::auth::logout(&state.store, token).await?;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    get, path = "/api/v1/me", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The authenticated user", body = AuthUser),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn me(user: AnyUser) -> HttpResponse {
    HttpResponse::Ok().json(user.0)
}
