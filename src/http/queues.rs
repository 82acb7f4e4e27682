//! `/queues`: routing settings, disposition codes and members. Admin only.

use super::roles::Admin;
use super::Data;
use crate::admin::queues::{QueueFields, RoutingFields, RoutingPatch};
use crate::admin::{self, Actors};
use crate::domain::business_hours::BusinessHours;
use crate::domain::input::double_option;
use crate::domain::skills::RequiredSkill;
use crate::domain::{DispositionCode, Strategy};
use crate::error::ApiError;
use crate::store::queues::{self, QueueRecord};
use actix_web::{web, HttpResponse};
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
    /// R28: a satisfaction survey goes to the customer when a conversation closes inside
    /// the 24-hour window.
    pub csat_enabled: bool,
    pub csat_question: String,
    /// How long after the survey an answer is taken.
    pub csat_timeout_hours: u32,
    /// 8.8: a conversation accepted within this many seconds of its arrival is within the
    /// service level (the reports' `service_level`).
    pub service_level_secs: u32,
    /// R27: only agents with every one of these skills, at `min_level` or above, get offers.
    pub required_skills: Vec<RequiredSkill>,
    /// R27: 0 to 9, higher served first; a matching contact's `priority` raises it.
    pub default_priority: u8,
    /// R27: a returning customer's conversation waits this long for the agent who last served
    /// them (0: off).
    pub sticky_agent_secs: u32,
    /// R27: ... if their previous conversation here closed less than this long ago.
    pub sticky_window_hours: u32,
    /// R27: null is always open.
    #[schema(value_type = Option<Object>, example = json!({"timezone": "Europe/Madrid", "weekly": [{"day": "mon", "open": "09:00", "close": "17:00"}], "holidays": ["2026-12-25"]}))]
    pub hours: Option<serde_json::Value>,
    /// R27: sent once when a conversation starts out of hours.
    pub closed_message: Option<String>,
    /// R27: sent once when a conversation starts in hours.
    pub greeting_message: Option<String>,
    /// R27: a conversation waiting longer moves, once, to the front of `overflow_queue_id`.
    pub max_wait_secs: Option<u32>,
    pub overflow_queue_id: Option<i64>,
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
            csat_enabled: q.csat.enabled,
            csat_question: q.csat.question,
            csat_timeout_hours: q.csat.timeout_hours,
            service_level_secs: q.service_level_secs,
            required_skills: q.routing.required_skills,
            default_priority: q.routing.default_priority,
            sticky_agent_secs: q.routing.sticky.agent_secs,
            sticky_window_hours: q.routing.sticky.window_hours,
            hours: q.routing.hours.as_ref().map(BusinessHours::to_json),
            closed_message: q.routing.closed_message,
            greeting_message: q.routing.greeting_message,
            max_wait_secs: q.routing.overflow.map(|o| o.max_wait_secs),
            overflow_queue_id: q.routing.overflow.map(|o| o.queue_id),
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
    /// R28, default false.
    #[serde(default)]
    pub csat_enabled: bool,
    #[serde(default = "default_question")]
    #[schema(min_length = 1, max_length = 1024, pattern = "\\S")]
    pub csat_question: String,
    #[serde(default = "d24")]
    #[schema(minimum = 1, maximum = 168, default = 24)]
    pub csat_timeout_hours: i64,
    /// 8.8: the service level threshold, in seconds.
    #[serde(default = "d_service_level")]
    #[schema(minimum = 1, maximum = 86400, default = 60)]
    pub service_level_secs: i64,
    /// R27, default none.
    #[serde(default, deserialize_with = "super::objects")]
    pub required_skills: Vec<RequiredSkill>,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9, default = 0)]
    pub default_priority: i64,
    #[serde(default)]
    #[schema(minimum = 0, maximum = 3600, default = 0)]
    pub sticky_agent_secs: i64,
    #[serde(default = "d72")]
    #[schema(minimum = 1, maximum = 720, default = 72)]
    pub sticky_window_hours: i64,
    /// `{timezone, weekly: [{day, open, close}], holidays}`; null or absent: always open.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub hours: Option<serde_json::Value>,
    /// Blank or null: none.
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub closed_message: Option<String>,
    #[serde(default)]
    #[schema(max_length = 4096)]
    pub greeting_message: Option<String>,
    /// With `overflow_queue_id`, or neither.
    #[serde(default)]
    #[schema(minimum = 1, maximum = 86400)]
    pub max_wait_secs: Option<i64>,
    #[serde(default)]
    pub overflow_queue_id: Option<i64>,
    #[serde(default)]
    pub members: Vec<i64>,
}

fn d72() -> i64 {
    i64::from(crate::domain::sticky::DEFAULT_WINDOW_HOURS)
}

fn d_service_level() -> i64 {
    i64::from(crate::domain::reports::DEFAULT_SERVICE_LEVEL_SECS)
}

fn d24() -> i64 {
    i64::from(crate::domain::csat::DEFAULT_TIMEOUT_HOURS)
}

fn default_question() -> String {
    crate::domain::csat::DEFAULT_QUESTION.into()
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
    pub csat_enabled: Option<bool>,
    #[schema(min_length = 1, max_length = 1024, pattern = "\\S")]
    pub csat_question: Option<String>,
    #[schema(minimum = 1, maximum = 168)]
    pub csat_timeout_hours: Option<i64>,
    #[schema(minimum = 1, maximum = 86400)]
    pub service_level_secs: Option<i64>,
    #[serde(default, deserialize_with = "super::optional_objects")]
    pub required_skills: Option<Vec<RequiredSkill>>,
    #[schema(minimum = 0, maximum = 9)]
    pub default_priority: Option<i64>,
    #[schema(minimum = 0, maximum = 3600)]
    pub sticky_agent_secs: Option<i64>,
    #[schema(minimum = 1, maximum = 720)]
    pub sticky_window_hours: Option<i64>,
    /// null: always open.
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<Object>)]
    pub hours: Option<Option<serde_json::Value>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub closed_message: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>, max_length = 4096)]
    pub greeting_message: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 86400)]
    pub max_wait_secs: Option<Option<i64>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<i64>)]
    pub overflow_queue_id: Option<Option<i64>>,
    pub members: Option<Vec<i64>>,
}

impl NewQueue {
    fn fields(&self) -> QueueFields {
        QueueFields {
            name: self.name.clone(),
            offer_timeout_secs: self.offer_timeout_secs,
            wrap_up_secs: self.wrap_up_secs,
            disposition_codes: self.disposition_codes.clone(),
            disposition_required: self.disposition_required,
            strategy: self.strategy,
            alert_warn_secs: self.alert_warn_secs,
            alert_critical_secs: self.alert_critical_secs,
            csat_enabled: self.csat_enabled,
            csat_question: self.csat_question.clone(),
            csat_timeout_hours: self.csat_timeout_hours,
            service_level_secs: self.service_level_secs,
            routing: RoutingFields {
                required_skills: self.required_skills.clone(),
                default_priority: self.default_priority,
                sticky_agent_secs: self.sticky_agent_secs,
                sticky_window_hours: self.sticky_window_hours,
                hours: self.hours.clone(),
                closed_message: self.closed_message.clone(),
                greeting_message: self.greeting_message.clone(),
                max_wait_secs: self.max_wait_secs,
                overflow_queue_id: self.overflow_queue_id,
            },
        }
    }
}

impl From<QueuePatch> for admin::queues::QueuePatch {
    fn from(p: QueuePatch) -> Self {
        admin::queues::QueuePatch {
            name: p.name,
            offer_timeout_secs: p.offer_timeout_secs,
            wrap_up_secs: p.wrap_up_secs,
            disposition_codes: p.disposition_codes,
            disposition_required: p.disposition_required,
            strategy: p.strategy,
            alert_warn_secs: p.alert_warn_secs,
            alert_critical_secs: p.alert_critical_secs,
            csat_enabled: p.csat_enabled,
            csat_question: p.csat_question,
            csat_timeout_hours: p.csat_timeout_hours,
            service_level_secs: p.service_level_secs,
            routing: RoutingPatch {
                required_skills: p.required_skills,
                default_priority: p.default_priority,
                sticky_agent_secs: p.sticky_agent_secs,
                sticky_window_hours: p.sticky_window_hours,
                hours: p.hours,
                closed_message: p.closed_message,
                greeting_message: p.greeting_message,
                max_wait_secs: p.max_wait_secs,
                overflow_queue_id: p.overflow_queue_id,
            },
            members: p.members,
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/queues", operation_id = "list_queues", tag = "queues", security(("bearer" = [])),
    responses(
        (status = 200, description = "All queues (not deleted), by id", body = [Queue]),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(_admin: Admin, state: Data) -> Result<HttpResponse, ApiError> {
    let queues = state.store.read(queues::list_queues).await?;
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
pub async fn get(_admin: Admin, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let queue = state
        .store
        .read(move |db| queues::load_queue(db, id))
        .await?
        .ok_or(ApiError::NotFound("queue"))?;
    Ok(HttpResponse::Ok().json(Queue::from(queue)))
}

#[utoipa::path(
    post, path = "/api/v1/queues", operation_id = "create_queue", tag = "queues", security(("bearer" = [])),
    request_body = NewQueue,
    responses(
        (status = 201, description = "Created", body = Queue),
        (status = 400, description = "`invalid_input`, `unknown_agent`, `unknown_queue` (the overflow queue), `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    _admin: Admin,
    state: Data,
    body: super::Json<NewQueue>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    let queue = admin::queues::create(
        &state.store,
        Actors::Running(&state.registry),
        body.fields(),
        &body.members,
    )
    .await?;
    Ok(HttpResponse::Created().json(Queue::from(queue)))
}

#[utoipa::path(
    patch, path = "/api/v1/queues/{id}", operation_id = "update_queue", tag = "queues", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Queue id")),
    request_body = QueuePatch,
    responses(
        (status = 200, description = "Updated", body = Queue),
        (status = 400, description = "`invalid_input`, `unknown_agent`, `unknown_queue` (the overflow queue), `invalid_path`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    _admin: Admin,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<QueuePatch>,
) -> Result<HttpResponse, ApiError> {
    let queue = admin::queues::update(
        &state.store,
        Actors::Running(&state.registry),
        id.into_inner(),
        body.into_inner().into(),
    )
    .await?;
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
    _admin: Admin,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    admin::queues::delete(
        &state.store,
        Actors::Running(&state.registry),
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
