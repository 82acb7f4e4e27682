//! One error shape for every failure: `{"error": {"code", "message"}}` with the fitting status.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

pub use crate::domain::error_code::ErrorCode;

impl ErrorCode {
    /// The HTTP status an answer with this code has.
    pub fn status(self) -> StatusCode {
        StatusCode::from_u16(self.http_status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

/// An error a client sees: a stable snake_case code, a human message and an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    BadRequest(ErrorCode, String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{1}")]
    Unauthorized(ErrorCode, String),
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{1}")]
    Conflict(ErrorCode, String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("too many attempts, try again later")]
    TooManyRequests,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    /// A service Switchboard relies on (the configured CRM) failed; the code says how.
    #[error("{1}")]
    Upstream(ErrorCode, String),
    /// A refusal of the rules (the WebSocket's command errors, the domain's refusals) answered
    /// over HTTP: the status is its code's.
    #[error("{1}")]
    Refused(ErrorCode, String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// 400 with `code`.
    pub fn bad(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::BadRequest(code, message.into())
    }
    /// 409 with `code`.
    pub fn conflict(code: ErrorCode, message: impl Into<String>) -> Self {
        ApiError::Conflict(code, message.into())
    }
    /// 400 `invalid_input`.
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::BadRequest(ErrorCode::InvalidInput, message.into())
    }

    /// The code's row of the table, which gives the status too.
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::BadRequest(code, _)
            | ApiError::Unauthorized(code, _)
            | ApiError::Conflict(code, _)
            | ApiError::Upstream(code, _) => *code,
            ApiError::Refused(code, _) => *code,
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::Forbidden => ErrorCode::Forbidden,
            ApiError::NotFound(_) => ErrorCode::NotFound,
            ApiError::PayloadTooLarge => ErrorCode::PayloadTooLarge,
            ApiError::TooManyRequests => ErrorCode::TooManyRequests,
            ApiError::Unavailable(_) => ErrorCode::Unavailable,
            ApiError::Internal(_) => ErrorCode::InternalError,
        }
    }
}

#[derive(Serialize)]
pub struct ErrorBody<'a> {
    pub error: ErrorDetail<'a>,
}

#[derive(Serialize)]
pub struct ErrorDetail<'a> {
    pub code: &'a str,
    pub message: String,
}

pub fn error_body(code: &str, message: impl Into<String>) -> ErrorBody<'_> {
    ErrorBody {
        error: ErrorDetail {
            code,
            message: message.into(),
        },
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.code().status()
    }

    fn error_response(&self) -> HttpResponse {
        let message = match self {
            // Internal causes go to the log, not to the client.
            ApiError::Internal(e) => {
                tracing::error!(error = ?e, "internal error");
                "internal error".to_string()
            }
            other => other.to_string(),
        };
        HttpResponse::build(self.status_code()).json(error_body(self.code().as_str(), message))
    }
}

impl From<crate::store::StoreError> for ApiError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Unavailable(m) => ApiError::Unavailable(m),
            crate::store::StoreError::Pool(e) => ApiError::Unavailable(e.to_string()),
            other => ApiError::Internal(anyhow::Error::new(other)),
        }
    }
}

impl From<crate::domain::interaction::Refusal> for ApiError {
    fn from(r: crate::domain::interaction::Refusal) -> Self {
        ApiError::Refused(r.code, r.message)
    }
}

impl From<crate::domain::input::InvalidInput> for ApiError {
    fn from(e: crate::domain::input::InvalidInput) -> Self {
        ApiError::invalid(e.0)
    }
}

/// Turns actix's own extractor failures (bad JSON, bad query, oversized body) into the contract's shape.
pub fn json_error_handler(
    err: actix_web::error::JsonPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError as J;
    let api = match &err {
        J::Overflow { .. } | J::OverflowKnownLength { .. } => ApiError::PayloadTooLarge,
        J::ContentType => {
            ApiError::bad(ErrorCode::UnsupportedMediaType, "expected application/json")
        }
        other => ApiError::bad(ErrorCode::InvalidJson, other.to_string()),
    };
    api.into()
}

pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad(ErrorCode::InvalidQuery, err.to_string()).into()
}

pub fn path_error_handler(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad(ErrorCode::InvalidPath, err.to_string()).into()
}

/// Middleware: actix's own error answers (404 for a path nothing serves, 405 with `Allow` for a
/// method a resource does not take) have an empty body; they get the contract's
/// `{"error": {"code", "message"}}` shape, with their status and headers kept.
pub async fn shape_empty_errors(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<
    actix_web::dev::ServiceResponse<impl actix_web::body::MessageBody + 'static>,
    actix_web::Error,
> {
    use actix_web::body::BodySize;
    let res = next.call(req).await?;
    let status = res.status();
    let empty = matches!(
        res.response().body().size(),
        BodySize::None | BodySize::Sized(0)
    );
    if !empty || !(status.is_client_error() || status.is_server_error()) {
        return Ok(res.map_into_left_body());
    }
    let (req, res) = res.into_parts();
    let reason = status
        .canonical_reason()
        .unwrap_or("error")
        .to_ascii_lowercase();
    let (code, message) = match status {
        StatusCode::NOT_FOUND => (
            ErrorCode::NotFound.to_string(),
            "no such resource".to_string(),
        ),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = res
                .headers()
                .get(actix_web::http::header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (
                ErrorCode::MethodNotAllowed.to_string(),
                format!("{} is not allowed here (allowed: {allowed})", req.method()),
            )
        }
        StatusCode::INTERNAL_SERVER_ERROR => (ErrorCode::InternalError.to_string(), reason),
        StatusCode::SERVICE_UNAVAILABLE => (ErrorCode::Unavailable.to_string(), reason),
        _ => (reason.replace([' ', '-'], "_"), reason),
    };
    let mut shaped = HttpResponse::build(status).json(error_body(&code, message));
    for (name, value) in res.headers() {
        if !shaped.headers().contains_key(name) {
            shaped.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(actix_web::dev::ServiceResponse::new(req, shaped).map_into_right_body())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_snake_case_and_parse_back() {
        let mut seen = std::collections::HashSet::new();
        for code in ErrorCode::ALL {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "{s}"
            );
            assert_eq!(ErrorCode::parse(s), Some(*code));
        }
        assert_eq!(ErrorCode::parse("no_such_code"), None);
        assert_eq!(
            serde_json::to_string(&ErrorCode::QueueInUse).unwrap(),
            "\"queue_in_use\""
        );
    }

    /// The status each variant always stood for: the table must agree with it.
    fn variant_status(e: &ApiError) -> StatusCode {
        match e {
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) | ApiError::Upstream(..) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Refused(code, _) => code.status(),
        }
    }

    #[test]
    fn the_table_keeps_every_variants_status() {
        let errors = [
            ApiError::invalid("x"),
            ApiError::bad(ErrorCode::UnknownQueue, "x"),
            ApiError::bad(ErrorCode::InvalidBody, "x"),
            ApiError::Unauthenticated,
            ApiError::Unauthorized(ErrorCode::InvalidCredentials, "x".into()),
            ApiError::Unauthorized(ErrorCode::InvalidSignature, "x".into()),
            ApiError::Forbidden,
            ApiError::NotFound("agent"),
            ApiError::conflict(ErrorCode::UsernameTaken, "x"),
            ApiError::conflict(ErrorCode::NoAppSecret, "x"),
            ApiError::PayloadTooLarge,
            ApiError::TooManyRequests,
            ApiError::Unavailable("x".into()),
            ApiError::Upstream(ErrorCode::CrmUnavailable, "x".into()),
            ApiError::Upstream(ErrorCode::CrmRejected, "x".into()),
            ApiError::Upstream(ErrorCode::CrmAuthFailed, "x".into()),
            ApiError::conflict(ErrorCode::CrmUnsupported, "x"),
            ApiError::Internal(anyhow::anyhow!("x")),
            ApiError::Refused(ErrorCode::WindowClosed, "x".into()),
            ApiError::Refused(ErrorCode::UnsupportedMediaType, "x".into()),
        ];
        for e in errors {
            assert_eq!(e.status_code(), variant_status(&e), "{}", e.code());
        }
        for code in ErrorCode::ALL {
            let class = match code.status().as_u16() {
                400 => variant_status(&ApiError::bad(*code, "x")),
                409 => variant_status(&ApiError::conflict(*code, "x")),
                other => StatusCode::from_u16(other).unwrap(),
            };
            assert_eq!(code.status(), class, "{code}");
        }
    }
}
