//! `/agents`: users (agents, supervisors, admins) and their queue memberships. Admin only.

use super::{changed_ids, check_len, check_range, reject, unique_ids, Data};
use crate::auth::{hash_password, AuthUser};
use crate::domain::time::{now_ms, to_rfc3339};
use crate::domain::{AgentStatus, Role};
use crate::error::ApiError;
use crate::store::rows::{self, AgentRecord};
use actix_web::{web, HttpResponse};
use rusqlite::{params, Connection};
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
}

pub(crate) fn validate_username(username: &str) -> Result<(), ApiError> {
    check_len("username", username, 1, 64)?;
    let ok = username
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '@' | '-'));
    if !ok {
        return Err(ApiError::invalid(
            "username may only contain letters, digits, `.`, `_`, `@` and `-`",
        ));
    }
    Ok(())
}

pub(crate) fn validate_password(password: &str) -> Result<(), ApiError> {
    check_len("password", password, 8, 1024)
}

fn validate_display_name(name: &str) -> Result<(), ApiError> {
    check_len("display_name", name, 1, 100)?;
    if name.trim().is_empty() {
        return Err(ApiError::invalid("display_name cannot be blank"));
    }
    Ok(())
}

fn validate_max_concurrent(n: i64) -> Result<(), ApiError> {
    check_range("max_concurrent", n, 1, 50)
}

async fn hash(password: String) -> Result<String, ApiError> {
    crate::auth::argon2_work(move || hash_password(&password))
        .await?
        .map_err(ApiError::Internal)
}

fn username_taken(c: &Connection, username: &str, except: i64) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1 AND id <> ?2)",
        params![username, except],
        |r| r.get(0),
    )
}

/// 400 `unknown_queue` unless every id names a live queue.
fn check_queues(c: &Connection, ids: &[i64]) -> rusqlite::Result<()> {
    for id in ids {
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
    }
    Ok(())
}

fn loaded(c: &Connection, id: i64) -> rusqlite::Result<AgentRecord> {
    rows::load_agent(c, id)?.ok_or_else(|| reject(ApiError::NotFound("agent")))
}

#[utoipa::path(
    get, path = "/api/v1/agents", operation_id = "list_agents", tag = "agents", security(("bearer" = [])),
    responses(
        (status = 200, description = "All agents (not deleted), by id", body = [Agent]),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(user: AuthUser, state: Data) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let agents = super::read(&state.store, rows::list_agents).await?;
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
pub async fn get(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    let agent = super::read(&state.store, move |c| rows::load_agent(c, id))
        .await?
        .ok_or(ApiError::NotFound("agent"))?;
    Ok(HttpResponse::Ok().json(Agent::from(agent)))
}

#[utoipa::path(
    post, path = "/api/v1/agents", operation_id = "create_agent", tag = "agents", security(("bearer" = [])),
    request_body = NewAgent,
    responses(
        (status = 201, description = "Created", body = Agent),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_json`, `unsupported_media_type`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 409, description = "`username_taken`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    user: AuthUser,
    state: Data,
    body: super::Json<NewAgent>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let body = body.into_inner();
    validate_username(&body.username)?;
    let display_name = body
        .display_name
        .clone()
        .unwrap_or_else(|| body.username.clone());
    validate_display_name(&display_name)?;
    validate_password(&body.password)?;
    validate_max_concurrent(body.max_concurrent)?;
    let queues = unique_ids(&body.queues);
    let password_hash = hash(body.password).await?;

    let agent_queues = queues.clone();
    let agent = super::write(&state.store, move |c| {
        if username_taken(c, &body.username, 0)? {
            return Err(reject(ApiError::conflict(
                "username_taken",
                format!("username `{}` is taken", body.username),
            )));
        }
        check_queues(c, &agent_queues)?;
        let now = now_ms();
        c.execute(
            "INSERT INTO users(username, display_name, role, password_hash, max_concurrent, \
             can_reject, auto_multi_match_pop, status, status_since, stop_new, deleted, \
             created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'offline', ?8, 0, 0, ?8, ?8)",
            params![
                body.username,
                display_name,
                body.role,
                password_hash,
                body.max_concurrent,
                body.can_reject,
                body.auto_multi_match_pop,
                now
            ],
        )?;
        let id = c.last_insert_rowid();
        for q in &agent_queues {
            c.execute(
                "INSERT INTO queue_members(queue_id, agent_id) VALUES (?1, ?2)",
                params![q, id],
            )?;
        }
        loaded(c, id)
    })
    .await?;

    state.registry.agent_changed(agent.id).await;
    for q in &queues {
        state.registry.queue_changed(*q).await;
    }
    Ok(HttpResponse::Created().json(Agent::from(agent)))
}

#[utoipa::path(
    patch, path = "/api/v1/agents/{id}", operation_id = "update_agent", tag = "agents", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Agent id")),
    request_body = AgentPatch,
    responses(
        (status = 200, description = "Updated", body = Agent),
        (status = 400, description = "`invalid_input`, `unknown_queue`, `invalid_path`, `invalid_json`, `unsupported_media_type`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`username_taken`, `cannot_demote_self`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<AgentPatch>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    let patch = body.into_inner();
    if let Some(u) = &patch.username {
        validate_username(u)?;
    }
    if let Some(d) = &patch.display_name {
        validate_display_name(d)?;
    }
    if let Some(n) = patch.max_concurrent {
        validate_max_concurrent(n)?;
    }
    if id == user.id && patch.role.is_some_and(|r| r != Role::Admin) {
        return Err(ApiError::conflict(
            "cannot_demote_self",
            "an admin cannot take away its own admin role",
        ));
    }
    let password_hash = match &patch.password {
        Some(p) => {
            validate_password(p)?;
            Some(hash(p.clone()).await?)
        }
        None => None,
    };
    let new_queues = patch.queues.as_deref().map(unique_ids);

    let (agent, affected) = super::write(&state.store, move |c| {
        let old = loaded(c, id)?;
        if let Some(u) = &patch.username {
            if username_taken(c, u, id)? {
                return Err(reject(ApiError::conflict(
                    "username_taken",
                    format!("username `{u}` is taken"),
                )));
            }
        }
        if let Some(q) = &new_queues {
            check_queues(c, q)?;
        }
        c.execute(
            "UPDATE users SET username = ?2, display_name = ?3, role = ?4, max_concurrent = ?5, \
             can_reject = ?6, auto_multi_match_pop = ?7, \
             password_hash = COALESCE(?8, password_hash), updated_at = ?9 WHERE id = ?1",
            params![
                id,
                patch.username.as_deref().unwrap_or(&old.username),
                patch.display_name.as_deref().unwrap_or(&old.display_name),
                patch.role.unwrap_or(old.role),
                patch.max_concurrent.unwrap_or(old.max_concurrent as i64),
                patch.can_reject.unwrap_or(old.can_reject),
                patch
                    .auto_multi_match_pop
                    .unwrap_or(old.auto_multi_match_pop),
                password_hash,
                now_ms()
            ],
        )?;
        let mut affected = Vec::new();
        if let Some(new) = &new_queues {
            affected = changed_ids(&old.queues, new);
            for q in &affected {
                super::set_member(c, *q, id, new.contains(q))?;
            }
        }
        Ok((loaded(c, id)?, affected))
    })
    .await?;

    state.registry.agent_changed(id).await;
    for q in &affected {
        state.registry.queue_changed(*q).await;
    }
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
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let id = id.into_inner();
    if id == user.id {
        return Err(ApiError::conflict(
            "cannot_delete_self",
            "an admin cannot delete itself",
        ));
    }
    let former_queues = super::write(&state.store, move |c| {
        let old = loaded(c, id)?;
        c.execute(
            "UPDATE users SET deleted = 1, username = username || '#deleted#' || id, \
             updated_at = ?2 WHERE id = ?1",
            params![id, now_ms()],
        )?;
        c.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
        c.execute("DELETE FROM queue_members WHERE agent_id = ?1", [id])?;
        Ok(old.queues)
    })
    .await?;

    state.registry.agent_deleted(id).await;
    for q in &former_queues {
        state.registry.queue_changed(*q).await;
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames() {
        assert!(validate_username("ann.lee@acme-1_x").is_ok());
        assert!(validate_username("").is_err());
        assert!(validate_username(&"a".repeat(64)).is_ok());
        assert!(validate_username(&"a".repeat(65)).is_err());
        assert!(validate_username("ann lee").is_err());
        assert!(validate_username("ann#1").is_err());
        assert!(validate_username("anné").is_err());
    }

    #[test]
    fn passwords_and_capacity() {
        assert!(validate_password("1234567").is_err());
        assert!(validate_password("12345678").is_ok());
        assert!(validate_max_concurrent(0).is_err());
        assert!(validate_max_concurrent(1).is_ok());
        assert!(validate_max_concurrent(50).is_ok());
        assert!(validate_max_concurrent(51).is_err());
    }
}
