//! `/channels`: WhatsApp Business numbers and the queue each routes to. Admin only.

use super::roles::Admin;
use super::{double_option, Data};
use crate::admin::{self, Actors};
use crate::error::ApiError;
use crate::store::channels::{self, ChannelRecord};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/channels")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/channels/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

/// A channel as the API shows it: the access token and app secret are never returned.
#[derive(Debug, Serialize, ToSchema)]
pub struct Channel {
    pub id: i64,
    /// Always `whatsapp`.
    pub kind: String,
    pub name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub queue_id: i64,
    pub verify_token: Option<String>,
    /// Read only: whether the channel has its own app secret for webhook signatures.
    pub has_app_secret: bool,
    /// The WhatsApp Business Account whose message templates the channel sends (R23).
    pub waba_id: Option<String>,
    /// Read only: when the templates were last synced from Meta (RFC 3339), null before.
    #[serde(with = "crate::domain::time::rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub templates_synced_at: Option<i64>,
    /// Read only: why the last template sync failed; null after a sync that worked.
    pub templates_sync_error: Option<String>,
}

impl From<ChannelRecord> for Channel {
    fn from(c: ChannelRecord) -> Self {
        Channel {
            id: c.id,
            kind: c.kind,
            name: c.name,
            phone_number_id: c.phone_number_id,
            display_phone_number: c.display_phone_number,
            queue_id: c.queue_id,
            verify_token: c.verify_token,
            has_app_secret: c.app_secret.is_some(),
            waba_id: c.waba_id,
            templates_synced_at: c.templates_synced_at,
            templates_sync_error: c.templates_sync_error,
        }
    }
}

fn whatsapp() -> String {
    "whatsapp".into()
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewChannel {
    /// Only `whatsapp`.
    #[serde(default = "whatsapp")]
    #[schema(pattern = "^whatsapp$", default = "whatsapp")]
    pub kind: String,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    /// The Cloud API phone number id (digits); unique among channels.
    #[schema(pattern = "^[0-9]{1,32}$")]
    pub phone_number_id: String,
    #[schema(min_length = 1, max_length = 32, pattern = "\\S")]
    pub display_phone_number: String,
    pub queue_id: i64,
    /// Write only.
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub access_token: String,
    /// Write only. Overrides `whatsapp.app_secret` for this channel.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub app_secret: Option<String>,
    /// Overrides `whatsapp.verify_token` for this channel.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub verify_token: Option<String>,
    /// The WhatsApp Business Account id (digits), for message templates (R23).
    #[serde(default)]
    #[schema(pattern = "^[0-9]{1,32}$")]
    pub waba_id: Option<String>,
}

/// Only the fields given change; `null` clears `app_secret` or `verify_token`.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ChannelPatch {
    #[schema(pattern = "^whatsapp$")]
    pub kind: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(pattern = "^[0-9]{1,32}$")]
    pub phone_number_id: Option<String>,
    #[schema(min_length = 1, max_length = 32, pattern = "\\S")]
    pub display_phone_number: Option<String>,
    pub queue_id: Option<i64>,
    #[schema(min_length = 1, max_length = 4096, pattern = "\\S")]
    pub access_token: Option<String>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096, pattern = "\\S")]
    pub app_secret: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, min_length = 1, max_length = 4096, pattern = "\\S")]
    pub verify_token: Option<Option<String>>,
    /// `null` clears it.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, pattern = "^[0-9]{1,32}$")]
    pub waba_id: Option<Option<String>>,
}

impl From<NewChannel> for admin::channels::NewChannel {
    fn from(b: NewChannel) -> Self {
        admin::channels::NewChannel {
            kind: b.kind,
            name: b.name,
            phone_number_id: b.phone_number_id,
            display_phone_number: b.display_phone_number,
            queue_id: b.queue_id,
            access_token: b.access_token,
            app_secret: b.app_secret,
            verify_token: b.verify_token,
            waba_id: b.waba_id,
        }
    }
}

impl From<ChannelPatch> for admin::channels::ChannelPatch {
    fn from(p: ChannelPatch) -> Self {
        admin::channels::ChannelPatch {
            kind: p.kind,
            name: p.name,
            phone_number_id: p.phone_number_id,
            display_phone_number: p.display_phone_number,
            queue_id: p.queue_id,
            access_token: p.access_token,
            app_secret: p.app_secret,
            verify_token: p.verify_token,
            waba_id: p.waba_id,
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/channels", operation_id = "list_channels", tag = "channels", security(("bearer" = [])),
    responses(
        (status = 200, description = "All channels (not deleted), by id", body = [Channel]),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(_admin: Admin, state: Data) -> Result<HttpResponse, ApiError> {
    let channels = state.store.read(channels::list_channels).await?;
    Ok(HttpResponse::Ok().json(channels.into_iter().map(Channel::from).collect::<Vec<_>>()))
}

#[utoipa::path(
    get, path = "/api/v1/channels/{id}", operation_id = "get_channel", tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    responses(
        (status = 200, body = Channel),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(_admin: Admin, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let channel = state
        .store
        .read(move |db| channels::load_channel(db, id))
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    Ok(HttpResponse::Ok().json(Channel::from(channel)))
}

#[utoipa::path(
    post, path = "/api/v1/channels", operation_id = "create_channel", tag = "channels", security(("bearer" = [])),
    request_body = NewChannel,
    responses(
        (status = 201, description = "Created", body = Channel),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 409, description = "`phone_number_id_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    _admin: Admin,
    state: Data,
    body: super::Json<NewChannel>,
) -> Result<HttpResponse, ApiError> {
    let channel = admin::channels::create(
        &state.store,
        Actors::Running(&state.registry),
        body.into_inner().into(),
    )
    .await?;
    if channel.waba_id.is_some() || state.settings.whatsapp.sandbox {
        sync_in_background(&state, &channel);
    }
    Ok(HttpResponse::Created().json(Channel::from(channel)))
}

#[utoipa::path(
    patch, path = "/api/v1/channels/{id}", operation_id = "update_channel", tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    request_body = ChannelPatch,
    responses(
        (status = 200, description = "Updated", body = Channel),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_path`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`phone_number_id_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    _admin: Admin,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<ChannelPatch>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let new_account = matches!(&body.waba_id, Some(Some(_)));
    let channel = admin::channels::update(
        &state.store,
        Actors::Running(&state.registry),
        id.into_inner(),
        body.into(),
    )
    .await?;
    if new_account {
        sync_in_background(&state, &channel);
    }
    Ok(HttpResponse::Ok().json(Channel::from(channel)))
}

/// R23: a channel that gets its WhatsApp Business Account has its templates at once, without
/// waiting for the next sync (a failure is recorded on the channel, as for any sync).
fn sync_in_background(state: &Data, channel: &ChannelRecord) {
    let (state, channel) = (state.clone(), channel.clone());
    actix_web::rt::spawn(async move {
        let client = crate::whatsapp::outbox::build_client(&state.settings);
        let _ = crate::whatsapp::templates::sync_channel(
            &state.store,
            &state.settings,
            &client,
            &channel,
        )
        .await;
    });
}

#[utoipa::path(
    delete, path = "/api/v1/channels/{id}", operation_id = "delete_channel", tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    responses(
        (status = 204, description = "Deleted (soft)"),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn delete(
    _admin: Admin,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    admin::channels::delete(
        &state.store,
        Actors::Running(&state.registry),
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
