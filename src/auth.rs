//! Authentication: argon2 password hashes, random bearer tokens stored hashed, roles.

use crate::configuration::AuthSettings;
use crate::domain::{time::now_ms, Role};
use crate::error::{ApiError, ErrorCode};
use crate::store::users::{self, Identity, NewUser};
use crate::store::{sessions, Store};
use actix_web::{web, HttpRequest};
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use rand::RngCore;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::OnceLock;

/// Hashes a password with Argon2id (default parameters) and a random salt (PHC string).
pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

/// True when `password` matches the PHC `hash`. A malformed hash never matches.
pub fn verify_password(password: &str, hash: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Runs argon2 work (`hash_password`, `verify_password`) off the async workers, at most one
/// hash per core at a time. Each hash takes tens of milliseconds of CPU and 19 MiB of memory:
/// a burst of logins or account creations waits its turn (the CPU could not go faster
/// anyway) instead of holding 19 MiB for every blocking thread the burst would start.
pub async fn argon2_work<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    static PERMITS: OnceLock<tokio::sync::Semaphore> = OnceLock::new();
    let permits = PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores)
    });
    let _permit = permits
        .acquire()
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing: {e}")))?;
    web::block(work)
        .await
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("password hashing: {e}")))
}

/// A real hash to verify against when the username is unknown, so both failures take as long.
fn dummy_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| hash_password("switchboard-timing-equaliser").unwrap_or_default())
}

/// A new bearer token: 32 random bytes, hex-encoded.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// What the `sessions` table keeps of a token: its SHA-256, hex-encoded.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// The authenticated user of a request (or of a WebSocket session).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuthUser {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

impl From<Identity> for AuthUser {
    fn from(u: Identity) -> Self {
        AuthUser {
            id: u.id,
            username: u.username,
            display_name: u.display_name,
            role: u.role,
        }
    }
}

impl AuthUser {
    /// 403 `forbidden` unless the user's role is `role` or above.
    pub fn require(&self, role: Role) -> Result<(), ApiError> {
        if self.role.at_least(role) {
            Ok(())
        } else {
            Err(ApiError::Forbidden)
        }
    }
}

/// The token of `Authorization: Bearer TOKEN`, if there is one.
pub fn bearer_token(req: &HttpRequest) -> Option<&str> {
    let value = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Resolves a bearer token to its user: unknown, expired or deleted → 401 `unauthenticated`.
pub async fn authenticate_token(store: &Store, token: &str) -> Result<AuthUser, ApiError> {
    if token.len() != 64 || !token.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::Unauthenticated);
    }
    let hash = token_hash(&token.to_ascii_lowercase());
    let now = now_ms();
    let user = store
        .read(move |db| sessions::user_of(db, &hash, now))
        .await?;
    user.map(AuthUser::from).ok_or(ApiError::Unauthenticated)
}

/// Checks a username and password; on success opens a session.
/// Returns the token, its expiry (ms) and the user. Unknown user and wrong password answer
/// alike (401 `invalid_credentials`), after the same argon2 work.
pub async fn login(
    store: &Store,
    username: &str,
    password: &str,
    ttl_secs: i64,
) -> Result<(String, i64, AuthUser), ApiError> {
    let name = username.to_string();
    let found = store.read(move |db| users::credentials(db, &name)).await?;

    let password = password.to_string();
    let hash = found
        .as_ref()
        .map(|(_, hash)| hash.clone())
        .unwrap_or_else(|| dummy_hash().to_string());
    let matches = argon2_work(move || verify_password(&password, &hash)).await?;
    let user = match (found, matches) {
        (Some((user, _)), true) => AuthUser::from(user),
        _ => {
            return Err(ApiError::Unauthorized(
                ErrorCode::InvalidCredentials,
                "wrong username or password".into(),
            ))
        }
    };

    let token = new_token();
    let hash = token_hash(&token);
    let now = now_ms();
    let expires_at = now + ttl_secs.max(1) * 1000;
    let user_id = user.id;
    store
        .write(move |db| sessions::open(db, &hash, user_id, now, expires_at))
        .await?;
    Ok((token, expires_at, user))
}

/// Ends the session of `token` (no error if it is already gone).
pub async fn logout(store: &Store, token: &str) -> Result<(), ApiError> {
    let hash = token_hash(&token.to_ascii_lowercase());
    store.write(move |db| sessions::close(db, &hash)).await?;
    Ok(())
}

/// Throttles login attempts per username and per client address.
/// A client address gets five times the per-username allowance: several people may share it.
pub struct LoginLimiter {
    by_user: Option<DefaultKeyedRateLimiter<String>>,
    by_addr: Option<DefaultKeyedRateLimiter<IpAddr>>,
}

/// Above this many tracked keys, idle ones are dropped (bounded memory under a spray).
const LIMITER_HOUSEKEEPING_KEYS: usize = 10_000;

impl LoginLimiter {
    /// `per_minute` = 0 turns the limiter off.
    pub fn new(per_minute: u32) -> Self {
        let quota = |n: u32| NonZeroU32::new(n).map(Quota::per_minute);
        LoginLimiter {
            by_user: quota(per_minute).map(RateLimiter::keyed),
            by_addr: quota(per_minute.saturating_mul(5)).map(RateLimiter::keyed),
        }
    }

    /// Counts one attempt; 429 `too_many_requests` once either allowance is used up.
    pub fn check(&self, username: &str, addr: Option<IpAddr>) -> Result<(), ApiError> {
        if let Some(limiter) = &self.by_user {
            if limiter.len() > LIMITER_HOUSEKEEPING_KEYS {
                limiter.retain_recent();
            }
            if limiter.check_key(&username.to_lowercase()).is_err() {
                return Err(ApiError::TooManyRequests);
            }
        }
        if let (Some(limiter), Some(addr)) = (&self.by_addr, addr) {
            if limiter.len() > LIMITER_HOUSEKEEPING_KEYS {
                limiter.retain_recent();
            }
            if limiter.check_key(&addr).is_err() {
                return Err(ApiError::TooManyRequests);
            }
        }
        Ok(())
    }
}

/// Creates the configured admin if both settings are set and no admin exists.
pub fn bootstrap_admin(store: &Store, auth: &AuthSettings) -> anyhow::Result<()> {
    let (Some(username), Some(password)) = (
        auth.bootstrap_admin_username.as_deref(),
        auth.bootstrap_admin_password.as_deref(),
    ) else {
        return Ok(());
    };
    if username.is_empty() || password.is_empty() {
        return Ok(());
    }
    let user = NewUser {
        username: username.to_string(),
        display_name: username.to_string(),
        role: Role::Admin,
        password_hash: hash_password(password)?,
        max_concurrent: 3,
        can_reject: true,
        auto_multi_match_pop: true,
    };
    let created = store.write_now(move |db| {
        if users::any_admin(db)? {
            return anyhow::Ok(None);
        }
        if users::username_taken(db, &user.username, 0)? {
            return Ok(Some(Err(user.username)));
        }
        let id = users::insert(db, &user, now_ms())?;
        Ok(Some(Ok((id, user.username))))
    })?;
    match created {
        Some(Ok((id, username))) => {
            tracing::info!(id, %username, "bootstrap admin created")
        }
        Some(Err(username)) => anyhow::bail!(
            "cannot create the bootstrap admin: username `{username}` is taken by a non-admin user"
        ),
        None => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_hash_roundtrip() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("wrong horse", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(hash, hash_password("correct horse").unwrap(), "salted");
    }

    #[test]
    fn tokens_are_random_hex_and_hashed() {
        let a = new_token();
        assert_eq!(a.len(), 64);
        assert!(a.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_ne!(a, new_token());
        assert_eq!(token_hash(&a).len(), 64);
        assert_ne!(token_hash(&a), a);
    }

    #[test]
    fn limiter_counts_per_username() {
        let l = LoginLimiter::new(2);
        assert!(l.check("ann", None).is_ok());
        assert!(l.check("Ann", None).is_ok());
        assert!(matches!(
            l.check("ann", None),
            Err(ApiError::TooManyRequests)
        ));
        assert!(l.check("bob", None).is_ok());
        assert!(LoginLimiter::new(0).check("ann", None).is_ok());
    }

    #[test]
    fn bearer_header_is_parsed() {
        let req = actix_web::test::TestRequest::default()
            .insert_header(("Authorization", "Bearer abc"))
            .to_http_request();
        assert_eq!(bearer_token(&req), Some("abc"));
        let req = actix_web::test::TestRequest::default()
            .insert_header(("Authorization", "Basic abc"))
            .to_http_request();
        assert_eq!(bearer_token(&req), None);
    }
}
