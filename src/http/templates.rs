//! `/channels/{id}/templates`: a channel's message templates (R23), kept in step with Meta.
//! Listed for every signed-in user (agents pick from them); synced on demand by admins.

use super::roles::{Admin, AnyUser};
use super::Data;
use crate::domain::template::{Preview, Slots, Template as Stored};
use crate::domain::time::now_ms;
use crate::error::{ApiError, ErrorCode};
use crate::store::{channels, templates};
use crate::whatsapp::templates::{sync_channel, SyncError};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/channels/{id}/templates").route(web::get().to(list)))
        .service(web::resource("/channels/{id}/templates/sync").route(web::post().to(sync)));
}

/// A message template as Meta describes it, with what a send needs and what the customer
/// sees.
#[derive(Debug, Serialize, ToSchema)]
pub struct Template {
    pub name: String,
    pub language: String,
    /// `MARKETING`, `UTILITY` or `AUTHENTICATION`.
    pub category: String,
    /// `APPROVED` (the only one that can be sent), `PENDING`, `REJECTED`, `PAUSED`,
    /// `DISABLED`, ...
    pub status: String,
    /// `POSITIONAL` (`{{1}}`) or `NAMED` (`{{first_name}}`).
    pub parameter_format: String,
    /// Why Meta rejected, paused or disabled it, when it said.
    pub rejected_reason: Option<String>,
    /// Meta's components, as Meta gives them.
    #[schema(value_type = Vec<Object>)]
    pub components: serde_json::Value,
    /// The values a send takes, in order, with Meta's examples.
    pub parameters: Slots,
    /// What the customer sees, placeholders kept.
    pub preview: Preview,
}

impl From<Stored> for Template {
    fn from(t: Stored) -> Self {
        Template {
            parameters: t.slots(),
            preview: t.preview(),
            name: t.name,
            language: t.language,
            category: t.category,
            status: t.status,
            parameter_format: t.parameter_format,
            rejected_reason: t.rejected_reason,
            components: t.components,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateList {
    /// By name, then language.
    pub items: Vec<Template>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct TemplateSync {
    pub items: Vec<Template>,
    /// RFC 3339.
    #[serde(with = "crate::domain::time::rfc3339")]
    #[schema(value_type = String)]
    pub synced_at: i64,
}

#[utoipa::path(
    get, path = "/api/v1/channels/{id}/templates", operation_id = "list_templates", tag = "templates", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    responses(
        (status = 200, description = "The channel's templates as last synced", body = TemplateList),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: no such channel", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(
    _user: AnyUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let items = state
        .store
        .read(move |db| -> Result<_, ApiError> {
            channels::load_channel(db, id)?.ok_or(ApiError::NotFound("channel"))?;
            Ok(templates::list(db, id)?)
        })
        .await?;
    Ok(HttpResponse::Ok().json(TemplateList {
        items: items.into_iter().map(Template::from).collect(),
    }))
}

#[utoipa::path(
    post, path = "/api/v1/channels/{id}/templates/sync", operation_id = "sync_templates", tag = "templates", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    responses(
        (status = 200, description = "Every page of Meta's list, now stored", body = TemplateSync),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: no such channel", body = super::openapi::ErrorResponse),
        (status = 409, description = "`no_waba_id`: the channel has no `waba_id`", body = super::openapi::ErrorResponse),
        (status = 503, description = "`whatsapp_unavailable`: Meta could not be asked or refused (the templates stay as they were)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn sync(
    _admin: Admin,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let channel = state
        .store
        .read(move |db| channels::load_channel(db, id))
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    let client = crate::whatsapp::outbox::build_client(&state.settings);
    let mut all = sync_channel(&state.store, &state.settings, &client, &channel)
        .await
        .map_err(|e| match e {
            SyncError::NoWabaId => ApiError::conflict(
                ErrorCode::NoWabaId,
                "the channel has no waba_id: set it to sync its templates",
            ),
            SyncError::Meta(reason) => ApiError::Refused(ErrorCode::WhatsappUnavailable, reason),
            SyncError::Store(e) => e.into(),
        })?;
    all.sort_by(|a, b| (&a.name, &a.language).cmp(&(&b.name, &b.language)));
    Ok(HttpResponse::Ok().json(TemplateSync {
        items: all.into_iter().map(Template::from).collect(),
        synced_at: now_ms(),
    }))
}
