//! Browser-facing protections: security headers on every answer, and the WebSocket `Origin`
//! check (a page on another site must not open an agent's or supervisor's socket).
//!
//! Allowed origins: the origin of `server.public_url`, and `http://127.0.0.1:PORT` /
//! `http://localhost:PORT` for the port actually bound (so a local demo or test on port 0
//! works). A request without `Origin` is not from a browser page (curl, the test harness, a
//! native client) and is allowed: it still needs a valid token.

use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{header, Method};
use actix_web::middleware::{DefaultHeaders, Next};
use actix_web::{web, HttpMessage, HttpRequest};

/// No inline script or style, nothing from other sites, never framed. `blob:` images and
/// media: the desktop fetches a conversation's media with its bearer token (an `<img src>`
/// cannot send it) and shows the file from an object URL.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; \
     connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// Headers added to every response that does not set them itself.
pub fn headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add((header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY))
        .add((header::X_FRAME_OPTIONS, "DENY"))
        .add((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .add((header::REFERRER_POLICY, "no-referrer"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
}

/// Authentication (401) and the resource's role (403) before anything else on `/api/v1`
/// (login and the sandbox simulator aside): actix extracts a handler's arguments concurrently
/// and answers the first failure, so without this a bad body could be answered 400 before a
/// bad token is answered 401, and a client could probe validation it may not use. The user found is kept for the `AuthUser`
/// extractor (one lookup per request).
pub async fn authenticate_first(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody + 'static>, actix_web::Error> {
    let path = req.path();
    let public = !path.starts_with("/api/v1/")
        || path == "/api/v1/auth/login"
        || path.starts_with("/api/v1/simulator/");
    if !public {
        let token = crate::auth::bearer_token(req.request()).map(str::to_owned);
        let store = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.store.clone());
        let user = match (token, store) {
            (Some(token), Some(store)) => crate::auth::authenticate_token(&store, &token).await,
            _ => Err(ApiError::Unauthenticated),
        };
        match user.and_then(|u| match least_role(req.method(), path) {
            Some(role) => u.require(role).map(|()| u),
            None => Ok(u),
        }) {
            Ok(user) => {
                req.extensions_mut().insert(user);
            }
            // An answer, not an `Err`: the outer middleware (headers, log) still see it.
            Err(e) => return Ok(req.error_response(e).map_into_right_body()),
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// The role a whole `/api/v1` resource needs (handlers check again); `None` when any user
/// may call it (and the handler decides, e.g. agents see their own interactions).
fn least_role(method: &Method, path: &str) -> Option<Role> {
    let rest = path.strip_prefix("/api/v1/")?;
    let mut parts = rest.split('/');
    let resource = parts.next()?;
    // A channel's template list is every user's (agents pick templates from it, R23).
    if resource == "channels" && parts.nth(1) == Some("templates") && parts.next().is_none() {
        return None;
    }
    // Canned responses (R26): agents read and render them; supervisors and up write them.
    if resource == "canned_responses" {
        let render = parts.nth(1) == Some("render") && parts.next().is_none();
        let read = *method == Method::GET || *method == Method::HEAD;
        return (!read && !render).then_some(Role::Supervisor);
    }
    match resource {
        "agents" | "queues" | "channels" | "settings" => Some(Role::Admin),
        "stats" | "reports" => Some(Role::Supervisor),
        _ => None,
    }
}

/// The origins a browser page may open a WebSocket from.
#[derive(Debug, Clone, Default)]
pub struct AllowedOrigins(Vec<String>);

impl AllowedOrigins {
    pub fn new(public_url: &str, bound_port: u16) -> Self {
        let mut list = Vec::new();
        if let Some(o) = origin_of(public_url) {
            list.push(o);
        }
        for host in ["127.0.0.1", "localhost"] {
            if let Some(o) = origin_of(&format!("http://{host}:{bound_port}")) {
                if !list.contains(&o) {
                    list.push(o);
                }
            }
        }
        AllowedOrigins(list)
    }

    pub fn allows(&self, origin: &str) -> bool {
        origin_of(origin).is_some_and(|o| self.0.contains(&o))
    }
}

/// `scheme://host[:port]`, lower case, default port dropped; `None` if not an http(s) URL.
pub fn origin_of(url: &str) -> Option<String> {
    let url = url.trim();
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "http" => "80",
        "https" => "443",
        _ => return None,
    };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    // The port follows the last ':' unless that ':' is inside an IPv6 literal.
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.contains(']') => (h.to_string(), p.to_string()),
        _ => (authority.clone(), default_port.to_string()),
    };
    if host.is_empty() || (!port.is_empty() && !port.bytes().all(|b| b.is_ascii_digit())) {
        return None;
    }
    if port.is_empty() || port == default_port {
        Some(format!("{scheme}://{host}"))
    } else {
        Some(format!("{scheme}://{host}:{port}"))
    }
}

/// 403 when the request carries an `Origin` that is not allowed (see the module comment).
pub fn check_origin(req: &HttpRequest) -> Result<(), ApiError> {
    let Some(origin) = req.headers().get(header::ORIGIN) else {
        return Ok(());
    };
    let allowed = req
        .app_data::<web::Data<AllowedOrigins>>()
        .is_some_and(|a| origin.to_str().is_ok_and(|o| a.allows(o)));
    if allowed {
        Ok(())
    } else {
        tracing::warn!(origin = ?origin, path = req.path(), "WebSocket from a foreign origin refused");
        Err(ApiError::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised() {
        assert_eq!(
            origin_of("HTTP://Example.com:80/x").as_deref(),
            Some("http://example.com")
        );
        assert_eq!(
            origin_of("https://example.com:443").as_deref(),
            Some("https://example.com")
        );
        assert_eq!(
            origin_of("http://127.0.0.1:8080/").as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            origin_of("http://[::1]:8080").as_deref(),
            Some("http://[::1]:8080")
        );
        assert_eq!(origin_of("null"), None);
        assert_eq!(origin_of("file:///etc/passwd"), None);
        assert_eq!(origin_of("http://user@evil.example"), None);
    }

    #[test]
    fn only_the_public_and_bound_origins_are_allowed() {
        let a = AllowedOrigins::new("https://cc.example.com/", 8080);
        assert!(a.allows("https://cc.example.com"));
        assert!(a.allows("https://cc.example.com:443"));
        assert!(a.allows("http://127.0.0.1:8080"));
        assert!(a.allows("http://localhost:8080"));
        assert!(!a.allows("http://cc.example.com"));
        assert!(!a.allows("https://cc.example.com.evil.example"));
        assert!(!a.allows("http://127.0.0.1:8081"));
        assert!(!a.allows("null"));
    }

    #[test]
    fn a_channels_template_list_is_for_everyone_the_rest_of_channels_for_admins() {
        let get = |p| least_role(&Method::GET, p);
        assert_eq!(get("/api/v1/channels/3/templates"), None);
        assert_eq!(
            least_role(&Method::POST, "/api/v1/channels/3/templates/sync"),
            Some(Role::Admin)
        );
        assert_eq!(get("/api/v1/channels/3"), Some(Role::Admin));
        assert_eq!(get("/api/v1/channels"), Some(Role::Admin));
        assert_eq!(get("/api/v1/reports/queues"), Some(Role::Supervisor));
        assert_eq!(least_role(&Method::POST, "/api/v1/conversations"), None);
    }

    #[test]
    fn agents_read_and_render_canned_responses_supervisors_write_them() {
        for (method, path) in [
            (Method::GET, "/api/v1/canned_responses"),
            (Method::GET, "/api/v1/canned_responses/4"),
            (Method::POST, "/api/v1/canned_responses/4/render"),
        ] {
            assert_eq!(least_role(&method, path), None, "{method} {path}");
        }
        for (method, path) in [
            (Method::POST, "/api/v1/canned_responses"),
            (Method::PATCH, "/api/v1/canned_responses/4"),
            (Method::DELETE, "/api/v1/canned_responses/4"),
            (Method::POST, "/api/v1/canned_responses/4/render/x"),
            (Method::PUT, "/api/v1/canned_responses/4/render2"),
        ] {
            assert_eq!(
                least_role(&method, path),
                Some(Role::Supervisor),
                "{method} {path}"
            );
        }
    }
}
