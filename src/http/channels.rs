//! `/channels`: WhatsApp Business numbers and the queue each routes to. Admin only.

use super::{check_len, double_option, reject, Data};
use crate::auth::AuthUser;
use crate::domain::time::now_ms;
use crate::domain::Role;
use crate::error::ApiError;
use crate::store::rows::{self, ChannelRecord};
use actix_web::{web, HttpResponse};
use rusqlite::{params, Connection};
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
}

fn validate_kind(kind: &str) -> Result<(), ApiError> {
    if kind != "whatsapp" {
        return Err(ApiError::invalid("kind must be `whatsapp`"));
    }
    Ok(())
}

fn validate_name(name: &str) -> Result<(), ApiError> {
    check_len("name", name, 1, 100)?;
    if name.trim().is_empty() {
        return Err(ApiError::invalid("name cannot be blank"));
    }
    Ok(())
}

pub(crate) fn validate_phone_number_id(id: &str) -> Result<(), ApiError> {
    check_len("phone_number_id", id, 1, 32)?;
    if !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ApiError::invalid("phone_number_id must be digits"));
    }
    Ok(())
}

fn validate_display_phone_number(n: &str) -> Result<(), ApiError> {
    check_len("display_phone_number", n, 1, 32)?;
    if n.trim().is_empty() {
        return Err(ApiError::invalid("display_phone_number cannot be blank"));
    }
    Ok(())
}

fn validate_secret(field: &str, v: &str) -> Result<(), ApiError> {
    check_len(field, v, 1, 4096)?;
    if v.trim().is_empty() {
        return Err(ApiError::invalid(format!("{field} cannot be blank")));
    }
    Ok(())
}

fn check_queue(c: &Connection, id: i64) -> rusqlite::Result<()> {
    let exists: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM queues WHERE id = ?1 AND deleted = 0)",
        [id],
        |r| r.get(0),
    )?;
    if !exists {
        return Err(reject(ApiError::bad(
            "unknown_queue",
            format!("there is no queue {id}"),
        )));
    }
    Ok(())
}

fn check_phone_number_id(c: &Connection, pnid: &str, except: i64) -> rusqlite::Result<()> {
    let taken: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM channels WHERE phone_number_id = ?1 AND deleted = 0 \
         AND id <> ?2)",
        params![pnid, except],
        |r| r.get(0),
    )?;
    if taken {
        return Err(reject(ApiError::conflict(
            "phone_number_id_taken",
            format!("another channel has phone_number_id {pnid}"),
        )));
    }
    Ok(())
}

fn loaded(c: &Connection, id: i64) -> rusqlite::Result<ChannelRecord> {
    rows::load_channel(c, id)?.ok_or_else(|| reject(ApiError::NotFound("channel")))
}

#[utoipa::path(
    get, path = "/api/v1/channels", operation_id = "list_channels", tag = "channels", security(("bearer" = [])),
    responses(
        (status = 200, description = "All channels (not deleted), by id", body = [Channel]),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(user: AuthUser, state: Data) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let channels = super::read(&state.store, rows::list_channels).await?;
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
pub async fn get(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    let channel = super::read(&state.store, move |c| rows::load_channel(c, id))
        .await?
        .ok_or(ApiError::NotFound("channel"))?;
    Ok(HttpResponse::Ok().json(Channel::from(channel)))
}

#[utoipa::path(
    post, path = "/api/v1/channels", operation_id = "create_channel", tag = "channels", security(("bearer" = [])),
    request_body = NewChannel,
    responses(
        (status = 201, description = "Created", body = Channel),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_json`, `unsupported_media_type`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 409, description = "`phone_number_id_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    user: AuthUser,
    state: Data,
    body: super::Json<NewChannel>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let b = body.into_inner();
    validate_kind(&b.kind)?;
    validate_name(&b.name)?;
    validate_phone_number_id(&b.phone_number_id)?;
    validate_display_phone_number(&b.display_phone_number)?;
    validate_secret("access_token", &b.access_token)?;
    if let Some(s) = &b.app_secret {
        validate_secret("app_secret", s)?;
    }
    if let Some(t) = &b.verify_token {
        validate_secret("verify_token", t)?;
    }

    let channel = super::write(&state.store, move |c| {
        check_queue(c, b.queue_id)?;
        check_phone_number_id(c, &b.phone_number_id, 0)?;
        let now = now_ms();
        c.execute(
            "INSERT INTO channels(kind, name, phone_number_id, display_phone_number, queue_id, \
             access_token, app_secret, verify_token, deleted, created_at, updated_at) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9)",
            params![
                b.kind,
                b.name,
                b.phone_number_id,
                b.display_phone_number,
                b.queue_id,
                b.access_token,
                b.app_secret,
                b.verify_token,
                now
            ],
        )?;
        loaded(c, c.last_insert_rowid())
    })
    .await?;

    state.registry.channel_changed(channel.id).await;
    Ok(HttpResponse::Created().json(Channel::from(channel)))
}

#[utoipa::path(
    patch, path = "/api/v1/channels/{id}", operation_id = "update_channel", tag = "channels", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Channel id")),
    request_body = ChannelPatch,
    responses(
        (status = 200, description = "Updated", body = Channel),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_path`, `invalid_json`, `unsupported_media_type`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`phone_number_id_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<ChannelPatch>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    let p = body.into_inner();
    if let Some(k) = &p.kind {
        validate_kind(k)?;
    }
    if let Some(n) = &p.name {
        validate_name(n)?;
    }
    if let Some(n) = &p.phone_number_id {
        validate_phone_number_id(n)?;
    }
    if let Some(n) = &p.display_phone_number {
        validate_display_phone_number(n)?;
    }
    if let Some(t) = &p.access_token {
        validate_secret("access_token", t)?;
    }
    if let Some(Some(s)) = &p.app_secret {
        validate_secret("app_secret", s)?;
    }
    if let Some(Some(t)) = &p.verify_token {
        validate_secret("verify_token", t)?;
    }

    let channel = super::write(&state.store, move |c| {
        let old = loaded(c, id)?;
        if let Some(q) = p.queue_id {
            check_queue(c, q)?;
        }
        if let Some(n) = &p.phone_number_id {
            check_phone_number_id(c, n, id)?;
        }
        c.execute(
            "UPDATE channels SET name = ?2, phone_number_id = ?3, display_phone_number = ?4, \
             queue_id = ?5, access_token = ?6, app_secret = ?7, verify_token = ?8, \
             updated_at = ?9 WHERE id = ?1",
            params![
                id,
                p.name.unwrap_or(old.name),
                p.phone_number_id.unwrap_or(old.phone_number_id),
                p.display_phone_number.unwrap_or(old.display_phone_number),
                p.queue_id.unwrap_or(old.queue_id),
                p.access_token.unwrap_or(old.access_token),
                p.app_secret.unwrap_or(old.app_secret),
                p.verify_token.unwrap_or(old.verify_token),
                now_ms()
            ],
        )?;
        loaded(c, id)
    })
    .await?;

    state.registry.channel_changed(id).await;
    Ok(HttpResponse::Ok().json(Channel::from(channel)))
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
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    super::write(&state.store, move |c| {
        loaded(c, id)?;
        c.execute(
            "UPDATE channels SET deleted = 1, updated_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )
    })
    .await?;
    state.registry.channel_deleted(id).await;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_number_ids_are_digits() {
        assert!(validate_phone_number_id("106540352242922").is_ok());
        assert!(validate_phone_number_id("").is_err());
        assert!(validate_phone_number_id("+1555").is_err());
        assert!(validate_phone_number_id("12 34").is_err());
        assert!(validate_kind("whatsapp").is_ok());
        assert!(validate_kind("sms").is_err());
        assert!(validate_secret("access_token", "  ").is_err());
    }
}
