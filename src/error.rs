//! One error shape for every failure: `{"error": {"code", "message"}}` with the fitting status.

use actix_web::{http::StatusCode, HttpResponse, ResponseError};
use serde::Serialize;

/// An error a client sees: a stable snake_case code, a human message and an HTTP status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{1}")]
    BadRequest(&'static str, String),
    #[error("authentication required")]
    Unauthenticated,
    #[error("{1}")]
    Unauthorized(&'static str, String),
    #[error("you are not allowed to do this")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("request body too large")]
    PayloadTooLarge,
    #[error("too many attempts, try again later")]
    TooManyRequests,
    #[error("service unavailable: {0}")]
    Unavailable(String),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    pub fn bad(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::BadRequest(code, message.into())
    }
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError::Conflict(code, message.into())
    }
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError::BadRequest("invalid_input", message.into())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(code, _) => code,
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::Unauthorized(code, _) => code,
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) => "not_found",
            ApiError::Conflict(code, _) => code,
            ApiError::PayloadTooLarge => "payload_too_large",
            ApiError::TooManyRequests => "too_many_requests",
            ApiError::Unavailable(_) => "unavailable",
            ApiError::Internal(_) => "internal_error",
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
        match self {
            ApiError::BadRequest(..) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::Unauthorized(..) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(..) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
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
        HttpResponse::build(self.status_code()).json(error_body(self.code(), message))
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
        J::ContentType => ApiError::bad("unsupported_media_type", "expected application/json"),
        other => ApiError::bad("invalid_json", other.to_string()),
    };
    api.into()
}

pub fn query_error_handler(
    err: actix_web::error::QueryPayloadError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad("invalid_query", err.to_string()).into()
}

pub fn path_error_handler(
    err: actix_web::error::PathError,
    _req: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::bad("invalid_path", err.to_string()).into()
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
        StatusCode::NOT_FOUND => ("not_found".to_string(), "no such resource".to_string()),
        StatusCode::METHOD_NOT_ALLOWED => {
            let allowed = res
                .headers()
                .get(actix_web::http::header::ALLOW)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("");
            (
                "method_not_allowed".to_string(),
                format!("{} is not allowed here (allowed: {allowed})", req.method()),
            )
        }
        StatusCode::INTERNAL_SERVER_ERROR => ("internal_error".to_string(), reason),
        StatusCode::SERVICE_UNAVAILABLE => ("unavailable".to_string(), reason),
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
