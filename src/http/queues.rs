//! `/queues`: routing settings, disposition codes and members. Admin only.

use super::{changed_ids, check_len, check_range, reject, unique_ids, Data};
use crate::auth::AuthUser;
use crate::domain::time::now_ms;
use crate::domain::{DispositionCode, Role, Strategy};
use crate::error::ApiError;
use crate::store::rows::{self, QueueRecord};
use actix_web::{web, HttpResponse};
use rusqlite::{params, Connection};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/queues")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/queues/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Queue {
    pub id: i64,
    pub name: String,
    pub offer_timeout_secs: u32,
    pub wrap_up_secs: u32,
    pub disposition_codes: Vec<DispositionCode>,
    pub disposition_required: bool,
    pub strategy: Strategy,
    pub alert_warn_secs: u32,
    pub alert_critical_secs: u32,
    /// Ids of the member agents.
    pub members: Vec<i64>,
}

impl From<QueueRecord> for Queue {
    fn from(q: QueueRecord) -> Self {
        Queue {
            id: q.id,
            name: q.name,
            offer_timeout_secs: q.offer_timeout_secs,
            wrap_up_secs: q.wrap_up_secs,
            disposition_codes: q.disposition_codes,
            disposition_required: q.disposition_required,
            strategy: q.strategy,
            alert_warn_secs: q.alert_warn_secs,
            alert_critical_secs: q.alert_critical_secs,
            members: q.members,
        }
    }
}

fn d30() -> i64 {
    30
}
fn d60() -> i64 {
    60
}
fn d180() -> i64 {
    180
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewQueue {
    /// 1 to 100 characters, not blank.
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: String,
    #[serde(default = "d30")]
    #[schema(minimum = 5, maximum = 600, default = 30)]
    pub offer_timeout_secs: i64,
    #[serde(default = "d60")]
    #[schema(minimum = 0, maximum = 3600, default = 60)]
    pub wrap_up_secs: i64,
    #[serde(default, deserialize_with = "super::objects")]
    pub disposition_codes: Vec<DispositionCode>,
    #[serde(default)]
    pub disposition_required: bool,
    #[serde(default = "default_strategy")]
    pub strategy: Strategy,
    #[serde(default = "d60")]
    #[schema(minimum = 1, maximum = 86400, default = 60)]
    pub alert_warn_secs: i64,
    /// Must be greater than `alert_warn_secs`.
    #[serde(default = "d180")]
    #[schema(minimum = 2, maximum = 86400, default = 180)]
    pub alert_critical_secs: i64,
    #[serde(default)]
    pub members: Vec<i64>,
}

fn default_strategy() -> Strategy {
    Strategy::LongestIdle
}

/// Only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct QueuePatch {
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub name: Option<String>,
    #[schema(minimum = 5, maximum = 600)]
    pub offer_timeout_secs: Option<i64>,
    #[schema(minimum = 0, maximum = 3600)]
    pub wrap_up_secs: Option<i64>,
    #[serde(default, deserialize_with = "super::optional_objects")]
    pub disposition_codes: Option<Vec<DispositionCode>>,
    pub disposition_required: Option<bool>,
    pub strategy: Option<Strategy>,
    #[schema(minimum = 1, maximum = 86400)]
    pub alert_warn_secs: Option<i64>,
    /// Must be greater than `alert_warn_secs` (the given or the stored one).
    #[schema(minimum = 2, maximum = 86400)]
    pub alert_critical_secs: Option<i64>,
    pub members: Option<Vec<i64>>,
}

/// A queue's settings as they will be stored.
#[derive(Debug, Clone)]
struct QueueFields {
    name: String,
    offer_timeout_secs: i64,
    wrap_up_secs: i64,
    disposition_codes: Vec<DispositionCode>,
    disposition_required: bool,
    strategy: Strategy,
    alert_warn_secs: i64,
    alert_critical_secs: i64,
}

impl QueueFields {
    fn from_new(q: &NewQueue) -> Self {
        QueueFields {
            name: q.name.clone(),
            offer_timeout_secs: q.offer_timeout_secs,
            wrap_up_secs: q.wrap_up_secs,
            disposition_codes: q.disposition_codes.clone(),
            disposition_required: q.disposition_required,
            strategy: q.strategy,
            alert_warn_secs: q.alert_warn_secs,
            alert_critical_secs: q.alert_critical_secs,
        }
    }

    fn patched(old: &QueueRecord, p: &QueuePatch) -> Self {
        QueueFields {
            name: p.name.clone().unwrap_or_else(|| old.name.clone()),
            offer_timeout_secs: p
                .offer_timeout_secs
                .unwrap_or(old.offer_timeout_secs as i64),
            wrap_up_secs: p.wrap_up_secs.unwrap_or(old.wrap_up_secs as i64),
            disposition_codes: p
                .disposition_codes
                .clone()
                .unwrap_or_else(|| old.disposition_codes.clone()),
            disposition_required: p.disposition_required.unwrap_or(old.disposition_required),
            strategy: p.strategy.unwrap_or(old.strategy),
            alert_warn_secs: p.alert_warn_secs.unwrap_or(old.alert_warn_secs as i64),
            alert_critical_secs: p
                .alert_critical_secs
                .unwrap_or(old.alert_critical_secs as i64),
        }
    }

    fn validate(&self) -> Result<(), ApiError> {
        check_len("name", &self.name, 1, 100)?;
        if self.name.trim().is_empty() {
            return Err(ApiError::invalid("name cannot be blank"));
        }
        check_range("offer_timeout_secs", self.offer_timeout_secs, 5, 600)?;
        check_range("wrap_up_secs", self.wrap_up_secs, 0, 3600)?;
        check_range("alert_warn_secs", self.alert_warn_secs, 1, 86_400)?;
        check_range("alert_critical_secs", self.alert_critical_secs, 1, 86_400)?;
        if self.alert_critical_secs <= self.alert_warn_secs {
            return Err(ApiError::invalid(
                "alert_critical_secs must be greater than alert_warn_secs",
            ));
        }
        validate_codes(&self.disposition_codes)?;
        if self.disposition_required && self.disposition_codes.is_empty() {
            return Err(ApiError::invalid(
                "disposition_required needs at least one disposition code",
            ));
        }
        Ok(())
    }
}

fn validate_codes(codes: &[DispositionCode]) -> Result<(), ApiError> {
    for (i, d) in codes.iter().enumerate() {
        check_len("disposition code", &d.code, 1, 64)?;
        check_len("disposition label", &d.label, 1, 200)?;
        if d.code.trim().is_empty() || d.label.trim().is_empty() {
            return Err(ApiError::invalid(
                "disposition codes and labels cannot be blank",
            ));
        }
        if codes[..i].iter().any(|o| o.code == d.code) {
            return Err(ApiError::invalid(format!(
                "disposition code `{}` appears twice",
                d.code
            )));
        }
    }
    Ok(())
}

/// 400 `unknown_agent` unless every id names a live user.
fn check_agents(c: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
    for id in ids {
        let exists: bool = c.query_row(
            "SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1 AND deleted = 0)",
            [id],
            |r| r.get(0),
        )?;
        if !exists {
            return Err(reject(ApiError::bad(
                "unknown_agent",
                format!("there is no agent {id}"),
            )));
        }
    }
    Ok(())
}

fn loaded(c: &Connection, id: i64) -> rusqlite::Result<QueueRecord> {
    rows::load_queue(c, id)?.ok_or_else(|| reject(ApiError::NotFound("queue")))
}

fn codes_json(codes: &[DispositionCode]) -> rusqlite::Result<String> {
    serde_json::to_string(codes).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
}

#[utoipa::path(
    get, path = "/api/v1/queues", operation_id = "list_queues", tag = "queues", security(("bearer" = [])),
    responses(
        (status = 200, description = "All queues (not deleted), by id", body = [Queue]),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(user: AuthUser, state: Data) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let queues = super::read(&state.store, rows::list_queues).await?;
    Ok(HttpResponse::Ok().json(queues.into_iter().map(Queue::from).collect::<Vec<_>>()))
}

#[utoipa::path(
    get, path = "/api/v1/queues/{id}", operation_id = "get_queue", tag = "queues", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Queue id")),
    responses(
        (status = 200, body = Queue),
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
    let queue = super::read(&state.store, move |c| rows::load_queue(c, id))
        .await?
        .ok_or(ApiError::NotFound("queue"))?;
    Ok(HttpResponse::Ok().json(Queue::from(queue)))
}

#[utoipa::path(
    post, path = "/api/v1/queues", operation_id = "create_queue", tag = "queues", security(("bearer" = [])),
    request_body = NewQueue,
    responses(
        (status = 201, description = "Created", body = Queue),
        (status = 400, description = "`invalid_input`, `unknown_agent`, `invalid_json`, `unsupported_media_type`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    user: AuthUser,
    state: Data,
    body: super::Json<NewQueue>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let body = body.into_inner();
    let fields = QueueFields::from_new(&body);
    fields.validate()?;
    let members = unique_ids(&body.members);

    let queue_members = members.clone();
    let queue = super::write(&state.store, move |c| {
        check_agents(c, &queue_members)?;
        let now = now_ms();
        c.execute(
            "INSERT INTO queues(name, offer_timeout_secs, wrap_up_secs, disposition_codes, \
             disposition_required, strategy, alert_warn_secs, alert_critical_secs, deleted, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9)",
            params![
                fields.name,
                fields.offer_timeout_secs,
                fields.wrap_up_secs,
                codes_json(&fields.disposition_codes)?,
                fields.disposition_required,
                fields.strategy,
                fields.alert_warn_secs,
                fields.alert_critical_secs,
                now
            ],
        )?;
        let id = c.last_insert_rowid();
        for a in &queue_members {
            c.execute(
                "INSERT INTO queue_members(queue_id, agent_id) VALUES (?1, ?2)",
                params![id, a],
            )?;
        }
        loaded(c, id)
    })
    .await?;

    state.registry.queue_changed(queue.id).await;
    for a in &members {
        state.registry.agent_changed(*a).await;
    }
    Ok(HttpResponse::Created().json(Queue::from(queue)))
}

#[utoipa::path(
    patch, path = "/api/v1/queues/{id}", operation_id = "update_queue", tag = "queues", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Queue id")),
    request_body = QueuePatch,
    responses(
        (status = 200, description = "Updated", body = Queue),
        (status = 400, description = "`invalid_input`, `unknown_agent`, `invalid_path`, `invalid_json`, `unsupported_media_type`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<QueuePatch>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    let patch = body.into_inner();
    // Checks that need no stored state first, so a bad request answers 400 even for an unknown id.
    if let Some(codes) = &patch.disposition_codes {
        validate_codes(codes)?;
    }
    let new_members = patch.members.as_deref().map(unique_ids);

    let (queue, affected) = super::write(&state.store, move |c| {
        let old = loaded(c, id)?;
        let fields = QueueFields::patched(&old, &patch);
        fields.validate().map_err(reject)?;
        if let Some(m) = &new_members {
            check_agents(c, m)?;
        }
        c.execute(
            "UPDATE queues SET name = ?2, offer_timeout_secs = ?3, wrap_up_secs = ?4, \
             disposition_codes = ?5, disposition_required = ?6, strategy = ?7, \
             alert_warn_secs = ?8, alert_critical_secs = ?9, updated_at = ?10 WHERE id = ?1",
            params![
                id,
                fields.name,
                fields.offer_timeout_secs,
                fields.wrap_up_secs,
                codes_json(&fields.disposition_codes)?,
                fields.disposition_required,
                fields.strategy,
                fields.alert_warn_secs,
                fields.alert_critical_secs,
                now_ms()
            ],
        )?;
        let mut affected = Vec::new();
        if let Some(new) = &new_members {
            affected = changed_ids(&old.members, new);
            for a in &affected {
                super::set_member(c, id, *a, new.contains(a))?;
            }
        }
        Ok((loaded(c, id)?, affected))
    })
    .await?;

    state.registry.queue_changed(id).await;
    for a in &affected {
        state.registry.agent_changed(*a).await;
    }
    Ok(HttpResponse::Ok().json(Queue::from(queue)))
}

#[utoipa::path(
    delete, path = "/api/v1/queues/{id}", operation_id = "delete_queue", tag = "queues", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Queue id")),
    responses(
        (status = 204, description = "Deleted (soft)"),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`queue_in_use` (a channel routes to it)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn delete(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    let former_members = super::write(&state.store, move |c| {
        let old = loaded(c, id)?;
        let in_use: bool = c.query_row(
            "SELECT EXISTS(SELECT 1 FROM channels WHERE queue_id = ?1 AND deleted = 0)",
            [id],
            |r| r.get(0),
        )?;
        if in_use {
            return Err(reject(ApiError::conflict(
                "queue_in_use",
                "a channel routes to this queue: move or delete the channel first",
            )));
        }
        c.execute(
            "UPDATE queues SET deleted = 1, updated_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )?;
        c.execute("DELETE FROM queue_members WHERE queue_id = ?1", [id])?;
        Ok(old.members)
    })
    .await?;

    state.registry.queue_deleted(id).await;
    for a in &former_members {
        state.registry.agent_changed(*a).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> QueueFields {
        QueueFields {
            name: "Sales".into(),
            offer_timeout_secs: 30,
            wrap_up_secs: 60,
            disposition_codes: vec![],
            disposition_required: false,
            strategy: Strategy::LongestIdle,
            alert_warn_secs: 60,
            alert_critical_secs: 180,
        }
    }

    fn code(c: &str) -> DispositionCode {
        DispositionCode {
            code: c.into(),
            label: format!("{c} label"),
        }
    }

    #[test]
    fn defaults_are_valid() {
        assert!(fields().validate().is_ok());
    }

    #[test]
    fn ranges() {
        let mut f = fields();
        f.offer_timeout_secs = 4;
        assert!(f.validate().is_err());
        f.offer_timeout_secs = 601;
        assert!(f.validate().is_err());
        let mut f = fields();
        f.wrap_up_secs = 0;
        assert!(f.validate().is_ok());
        f.wrap_up_secs = 3601;
        assert!(f.validate().is_err());
        let mut f = fields();
        f.alert_critical_secs = 60;
        assert!(f.validate().is_err(), "critical must exceed warn");
        let mut f = fields();
        f.name = String::new();
        assert!(f.validate().is_err());
    }

    #[test]
    fn disposition_codes() {
        let mut f = fields();
        f.disposition_required = true;
        assert!(f.validate().is_err(), "required without codes");
        f.disposition_codes = vec![code("sale"), code("no_sale")];
        assert!(f.validate().is_ok());
        f.disposition_codes.push(code("sale"));
        assert!(f.validate().is_err(), "duplicate");
        f.disposition_codes = vec![code(&"x".repeat(65))];
        assert!(f.validate().is_err());
        f.disposition_codes = vec![DispositionCode {
            code: "a".into(),
            label: String::new(),
        }];
        assert!(f.validate().is_err());
    }
}
