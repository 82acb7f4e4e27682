//! `/agents`: users (agents, supervisors, admins) and their queue memberships. Admin only.

use super::roles::Admin;
use super::Data;
use crate::admin::{self, Actors};
use crate::domain::skills::Skill;
use crate::domain::time::to_rfc3339;
use crate::domain::{AgentStatus, Role};
use crate::error::ApiError;
use crate::store::users::{self, AgentRecord};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/agents")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/agents/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

/// An agent as the API shows it (never its password).
#[derive(Debug, Serialize, ToSchema)]
pub struct Agent {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub max_concurrent: u32,
    pub can_reject: bool,
    pub auto_multi_match_pop: bool,
    /// Ids of the queues the agent is a member of.
    pub queues: Vec<i64>,
    /// R27: a queue offers its conversations only to agents with all its required skills.
    pub skills: Vec<Skill>,
    /// Read only.
    pub status: AgentStatus,
    /// Read only, RFC 3339.
    pub status_since: String,
    /// Read only.
    pub stop_new: bool,
}

impl From<AgentRecord> for Agent {
    fn from(a: AgentRecord) -> Self {
        Agent {
            id: a.id,
            username: a.username,
            display_name: a.display_name,
            role: a.role,
            max_concurrent: a.max_concurrent,
            can_reject: a.can_reject,
            auto_multi_match_pop: a.auto_multi_match_pop,
            queues: a.queues,
            skills: a.skills.to_vec(),
            status: a.status,
            status_since: to_rfc3339(a.status_since),
            stop_new: a.stop_new,
        }
    }
}

fn default_max_concurrent() -> i64 {
    3
}
fn yes() -> bool {
    true
}
fn agent_role() -> Role {
    Role::Agent
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewAgent {
    /// 1 to 64 characters of `A-Z a-z 0-9 . _ @ -`.
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    pub username: String,
    /// Defaults to the username. Not blank.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub display_name: Option<String>,
    #[serde(default = "agent_role")]
    pub role: Role,
    /// At least 8 characters.
    #[schema(min_length = 8, max_length = 1024)]
    pub password: String,
    #[serde(default = "default_max_concurrent")]
    #[schema(minimum = 1, maximum = 50, default = 3)]
    pub max_concurrent: i64,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub can_reject: bool,
    #[serde(default = "yes")]
    #[schema(default = true)]
    pub auto_multi_match_pop: bool,
    #[serde(default)]
    pub queues: Vec<i64>,
    /// R27: names matched without regard to case, levels 1 to 10, at most 50.
    #[serde(default, deserialize_with = "super::objects")]
    pub skills: Vec<Skill>,
}

/// Only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct AgentPatch {
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._@-]+$")]
    pub username: Option<String>,
    #[schema(min_length = 1, max_length = 100, pattern = "\\S")]
    pub display_name: Option<String>,
    pub role: Option<Role>,
    #[schema(min_length = 8, max_length = 1024)]
    pub password: Option<String>,
    #[schema(minimum = 1, maximum = 50)]
    pub max_concurrent: Option<i64>,
    pub can_reject: Option<bool>,
    pub auto_multi_match_pop: Option<bool>,
    pub queues: Option<Vec<i64>>,
    /// Replaces the skills.
    #[serde(default, deserialize_with = "super::optional_objects")]
    pub skills: Option<Vec<Skill>>,
}

impl From<NewAgent> for admin::agents::NewAgent {
    fn from(b: NewAgent) -> Self {
        admin::agents::NewAgent {
            username: b.username,
            display_name: b.display_name,
            role: b.role,
            password: b.password,
            max_concurrent: b.max_concurrent,
            can_reject: b.can_reject,
            auto_multi_match_pop: b.auto_multi_match_pop,
            queues: b.queues,
            skills: b.skills,
        }
    }
}

impl From<AgentPatch> for admin::agents::AgentPatch {
    fn from(p: AgentPatch) -> Self {
        admin::agents::AgentPatch {
            username: p.username,
            display_name: p.display_name,
            role: p.role,
            password: p.password,
            max_concurrent: p.max_concurrent,
            can_reject: p.can_reject,
            auto_multi_match_pop: p.auto_multi_match_pop,
            queues: p.queues,
            skills: p.skills,
        }
    }
}

#[utoipa::path(
    get, path = "/api/v1/agents", operation_id = "list_agents", tag = "agents", security(("bearer" = [])),
    responses(
        (status = 200, description = "All agents (not deleted), by id", body = [Agent]),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(_admin: Admin, state: Data) -> Result<HttpResponse, ApiError> {
    let agents = state.store.read(users::list_agents).await?;
    Ok(HttpResponse::Ok().json(agents.into_iter().map(Agent::from).collect::<Vec<_>>()))
}

#[utoipa::path(
    get, path = "/api/v1/agents/{id}", operation_id = "get_agent", tag = "agents", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 200, body = Agent),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(_admin: Admin, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let agent = state
        .store
        .read(move |db| users::load_agent(db, id))
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    Ok(HttpResponse::Ok().json(Agent::from(agent)))
}

#[utoipa::path(
    post, path = "/api/v1/agents", operation_id = "create_agent", tag = "agents", security(("bearer" = [])),
    request_body = NewAgent,
    responses(
        (status = 201, description = "Created", body = Agent),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 409, description = "`username_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    _admin: Admin,
    state: Data,
    body: super::Json<NewAgent>,
) -> Result<HttpResponse, ApiError> {
    let agent = admin::agents::create(
        &state.store,
        Actors::Running(&state.registry),
        body.into_inner().into(),
    )
    .await?;
    Ok(HttpResponse::Created().json(Agent::from(agent)))
}

#[utoipa::path(
    patch, path = "/api/v1/agents/{id}", operation_id = "update_agent", tag = "agents", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Agent id")),
    request_body = AgentPatch,
    responses(
        (status = 200, description = "Updated", body = Agent),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_path`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`username_taken`, `cannot_demote_self`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    user: Admin,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<AgentPatch>,
) -> Result<HttpResponse, ApiError> {
    let agent = admin::agents::update(
        &state.store,
        Actors::Running(&state.registry),
        user.id,
        id.into_inner(),
        body.into_inner().into(),
    )
    .await?;
    Ok(HttpResponse::Ok().json(Agent::from(agent)))
}

#[utoipa::path(
    delete, path = "/api/v1/agents/{id}", operation_id = "delete_agent", tag = "agents", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Agent id")),
    responses(
        (status = 204, description = "Deleted (soft: the username is freed)"),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`cannot_delete_self`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn delete(
    user: Admin,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    admin::agents::delete(
        &state.store,
        Actors::Running(&state.registry),
        user.id,
        id.into_inner(),
    )
    .await?;
    Ok(HttpResponse::NoContent().finish())
}
