//! `/canned_responses` (R26): saved replies for every queue or one. Agents read those of
//! their queues and the global ones, and render them into a conversation they are or were
//! in; supervisors and admins read them all and write them.

use super::roles::{AnyUser, Supervisor};
use super::settings::{audit_unmasked_read, customer_data_view, CustomerDataView};
use super::{check_len, Data};
use crate::admin::queues::refuse_unknown_queue;
use crate::auth::AuthUser;
use crate::domain::canned::{self, Fill, Shortcut, Title};
use crate::domain::masking::mask_name;
use crate::domain::time::{now_ms, rfc3339};
use crate::domain::Role;
use crate::error::{ApiError, ErrorCode};
use crate::store::canned::{self as store, CannedFields, CannedRecord};
use crate::store::{history, queue_members, Db};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/canned_responses")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/canned_responses/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    )
    .service(web::resource("/canned_responses/{id}/render").route(web::post().to(render)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CannedResponse {
    pub id: i64,
    /// What follows `/` in the composer: 1 to 32 of `a-z 0-9 _ -`, unique.
    pub shortcut: String,
    pub title: String,
    /// With placeholders: `{{customer.name}}`, `{{customer.first_name}}`, `{{agent.name}}`,
    /// `{{agent.first_name}}`, `{{queue.name}}`.
    pub text: String,
    /// The queue whose agents may use it; null: every queue.
    pub queue_id: Option<i64>,
    /// Read only: that queue's name (null for every queue).
    pub queue_name: Option<String>,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub updated_at: i64,
    /// The user who wrote it (null: the demo seed).
    pub created_by: Option<i64>,
    /// The user who changed it last.
    pub updated_by: Option<i64>,
}

impl From<CannedRecord> for CannedResponse {
    fn from(c: CannedRecord) -> Self {
        CannedResponse {
            id: c.id,
            shortcut: c.shortcut,
            title: c.title,
            text: c.text,
            queue_id: c.queue_id,
            queue_name: c.queue_id.map(|_| c.queue_name.unwrap_or_default()),
            created_at: c.created_at,
            updated_at: c.updated_at,
            created_by: c.created_by,
            updated_by: c.updated_by,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CannedList {
    /// By shortcut.
    pub items: Vec<CannedResponse>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CannedQuery {
    /// Words (up to 200 characters), each found, regardless of case, in the shortcut, the
    /// title or the text.
    pub q: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewCanned {
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z0-9_-]{1,32}$")]
    pub shortcut: String,
    /// 1 to 100 characters once trimmed.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub title: String,
    /// 1 to `limits.max_message_chars` characters (4096 by default), not blank.
    #[schema(min_length = 1, pattern = "\\S")]
    pub text: String,
    /// A queue (400 `unknown_queue` otherwise); null or absent: every queue.
    #[serde(default)]
    pub queue_id: Option<i64>,
}

/// Only the fields given change; `"queue_id": null` makes it a response for every queue.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct CannedPatch {
    #[schema(min_length = 1, max_length = 32, pattern = "^[a-z0-9_-]{1,32}$")]
    pub shortcut: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub title: Option<String>,
    #[schema(min_length = 1, pattern = "\\S")]
    pub text: Option<String>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<i64>)]
    pub queue_id: Option<Option<i64>>,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct RenderRequest {
    /// The conversation whose customer, agent and queue fill the placeholders.
    pub interaction_id: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Rendered {
    /// The text with its placeholders filled; for the agent to edit and send.
    pub text: String,
}

/// The queues an agent's reads are limited to; `None` for supervisors and admins.
fn agent_queues(db: &Db, user: &AuthUser) -> Result<Option<Vec<i64>>, ApiError> {
    if user.role.at_least(Role::Supervisor) {
        return Ok(None);
    }
    Ok(Some(queue_members::of_agent(db, user.id)?))
}

/// The canned response `id` if `user` may read it: 404 when it does not exist or is of a
/// queue the agent is not in.
fn readable(db: &Db, user: &AuthUser, id: i64) -> Result<CannedRecord, ApiError> {
    let found = store::load(db, id)?.ok_or(ApiError::NotFound("canned response"))?;
    match agent_queues(db, user)? {
        Some(mine) if !canned::readable_by_agent(found.queue_id, &mine) => {
            Err(ApiError::NotFound("canned response"))
        }
        _ => Ok(found),
    }
}

/// 409 `shortcut_taken` if another canned response (not deleted) has it.
fn refuse_taken(db: &Db, shortcut: &str, except: i64) -> Result<(), ApiError> {
    if store::shortcut_taken(db, shortcut, except)? {
        return Err(ApiError::conflict(
            ErrorCode::ShortcutTaken,
            format!("another canned response has the shortcut /{shortcut}"),
        ));
    }
    Ok(())
}

fn loaded(db: &Db, id: i64) -> Result<CannedRecord, ApiError> {
    store::load(db, id)?.ok_or(ApiError::NotFound("canned response"))
}

#[utoipa::path(
    get, path = "/api/v1/canned_responses", operation_id = "list_canned_responses", tag = "canned_responses", security(("bearer" = [])),
    params(CannedQuery),
    responses(
        (status = 200, description = "The canned responses the caller may use (agents: their queues' and the global ones), by shortcut", body = CannedList),
        (status = 400, description = "`invalid_input` (`q` too long), `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(
    user: AnyUser,
    state: Data,
    query: web::Query<CannedQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner().q.unwrap_or_default();
    let q = q.trim().to_string();
    check_len("q", &q, 0, 200)?;
    let user = user.0;
    let items = state
        .store
        .read(move |db| -> Result<_, ApiError> {
            let mine = agent_queues(db, &user)?;
            Ok(store::list(db)?
                .into_iter()
                .filter(|c| {
                    mine.as_ref()
                        .is_none_or(|m| canned::readable_by_agent(c.queue_id, m))
                })
                .filter(|c| canned::matches(&q, &c.shortcut, &c.title, &c.text))
                .map(CannedResponse::from)
                .collect::<Vec<_>>())
        })
        .await?;
    Ok(HttpResponse::Ok().json(CannedList { items }))
}

#[utoipa::path(
    get, path = "/api/v1/canned_responses/{id}", operation_id = "get_canned_response", tag = "canned_responses", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Canned response id")),
    responses(
        (status = 200, body = CannedResponse),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found` (also one of a queue the agent is not in)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(user: AnyUser, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let user = user.0;
    let found = state.store.read(move |db| readable(db, &user, id)).await?;
    Ok(HttpResponse::Ok().json(CannedResponse::from(found)))
}

#[utoipa::path(
    post, path = "/api/v1/canned_responses", operation_id = "create_canned_response", tag = "canned_responses", security(("bearer" = [])),
    request_body = NewCanned,
    responses(
        (status = 201, description = "Created", body = CannedResponse),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (an agent)", body = super::openapi::ErrorResponse),
        (status = 409, description = "`shortcut_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    user: Supervisor,
    state: Data,
    body: super::Json<NewCanned>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let max = state.settings.limits.max_message_chars;
    let shortcut = Shortcut::parse(&body.shortcut)?;
    let title = Title::parse(&body.title)?;
    canned::check_text(&body.text, max)?;
    let fields = CannedFields {
        shortcut: shortcut.into_inner(),
        title: title.into_inner(),
        text: body.text,
        queue_id: body.queue_id,
    };
    let by = user.id;
    let created = state
        .store
        .write(move |db| {
            if let Some(q) = fields.queue_id {
                refuse_unknown_queue(db, q)?;
            }
            refuse_taken(db, &fields.shortcut, 0)?;
            let id = store::insert(db, &fields, Some(by), now_ms())?;
            loaded(db, id)
        })
        .await?;
    Ok(HttpResponse::Created().json(CannedResponse::from(created)))
}

#[utoipa::path(
    patch, path = "/api/v1/canned_responses/{id}", operation_id = "update_canned_response", tag = "canned_responses", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Canned response id")),
    request_body = CannedPatch,
    responses(
        (status = 200, description = "Updated", body = CannedResponse),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_path`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (an agent)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`shortcut_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    user: Supervisor,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<CannedPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let p = body.into_inner();
    let max = state.settings.limits.max_message_chars;
    let shortcut = p.shortcut.as_deref().map(Shortcut::parse).transpose()?;
    let title = p.title.as_deref().map(Title::parse).transpose()?;
    if let Some(text) = &p.text {
        canned::check_text(text, max)?;
    }
    let by = user.id;
    let updated = state
        .store
        .write(move |db| {
            let old = loaded(db, id)?;
            if let Some(Some(q)) = p.queue_id {
                // The queue it has may have been deleted since: naming it again is no change.
                if old.queue_id != Some(q) {
                    refuse_unknown_queue(db, q)?;
                }
            }
            if let Some(s) = &shortcut {
                refuse_taken(db, s.as_str(), id)?;
            }
            let fields = CannedFields {
                shortcut: shortcut.map_or(old.shortcut, Shortcut::into_inner),
                title: title.map_or(old.title, Title::into_inner),
                text: p.text.unwrap_or(old.text),
                queue_id: p.queue_id.unwrap_or(old.queue_id),
            };
            store::update(db, id, &fields, by, now_ms())?;
            loaded(db, id)
        })
        .await?;
    Ok(HttpResponse::Ok().json(CannedResponse::from(updated)))
}

#[utoipa::path(
    delete, path = "/api/v1/canned_responses/{id}", operation_id = "delete_canned_response", tag = "canned_responses", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Canned response id")),
    responses(
        (status = 204, description = "Deleted (its shortcut is free again)"),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (an agent)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn delete(
    user: Supervisor,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let by = user.id;
    let deleted = state
        .store
        .write(move |db| store::soft_delete(db, id, by, now_ms()))
        .await?;
    if !deleted {
        return Err(ApiError::NotFound("canned response"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(
    post, path = "/api/v1/canned_responses/{id}/render", operation_id = "render_canned_response", tag = "canned_responses", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Canned response id")),
    request_body = RenderRequest,
    responses(
        (status = 200, description = "The text with its placeholders filled from the conversation and the caller", body = Rendered),
        (status = 400, description = "`invalid_path`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: no such canned response (or, for an agent, one of a queue it is not in), or no such interaction (or, for an agent, one it was never in)", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn render(
    user: AnyUser,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<RenderRequest>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let interaction_id = body.into_inner().interaction_id;
    let user = user.0;
    let reader = user.clone();
    let (response, interaction) = state
        .store
        .read(move |db| -> Result<_, ApiError> {
            let response = readable(db, &reader, id)?;
            let agent = !reader.role.at_least(Role::Supervisor);
            if agent && !history::took_part(db, interaction_id, reader.id)? {
                return Err(ApiError::NotFound("interaction"));
            }
            let interaction = history::load_interaction(db, interaction_id)?
                .ok_or(ApiError::NotFound("interaction"))?;
            Ok((response, interaction))
        })
        .await?;

    let shown = canned::customer_name(&interaction.customer_name, &interaction.customer.label());
    let customer_name = match customer_data_view(user.role, &state.runtime) {
        CustomerDataView::Plain => shown.map(str::to_string),
        CustomerDataView::Masked => shown.map(mask_name),
        CustomerDataView::Audited => {
            if shown.is_some() && canned::uses_customer_data(&response.text) {
                let subject = format!("interaction:{interaction_id}");
                audit_unmasked_read(&state, &user, subject, vec![interaction_id]).await?;
            }
            shown.map(str::to_string)
        }
    };
    let fill = Fill {
        customer_name,
        agent_name: Some(user.display_name.clone()),
        queue_name: Some(interaction.queue_name),
    };
    Ok(HttpResponse::Ok().json(Rendered {
        text: canned::render(&response.text, &fill),
    }))
}
