//! `GET /stats/realtime`: the live board (queues and agents now). Supervisor and up.

use super::Data;
use crate::auth::AuthUser;
use crate::domain::time::{now_ms, to_rfc3339};
use crate::domain::{AgentStatus, Role};
use crate::error::ApiError;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/stats/realtime", web::get().to(realtime));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueueStats {
    pub id: i64,
    pub name: String,
    /// Interactions waiting (`queued`).
    pub waiting: i64,
    /// How long the oldest waiting interaction has waited, in seconds (0 when none waits).
    pub longest_wait_secs: i64,
    /// Interactions offered to an agent, not yet accepted.
    pub offered: i64,
    pub active: i64,
    pub wrap_up: i64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RealtimeStats {
    /// RFC 3339.
    pub generated_at: String,
    pub queues: Vec<QueueStats>,
    /// Users (not deleted) per status: `offline`, `available`, `on_break`, `rona` (all four keys present).
    #[schema(value_type = Object)]
    pub agents: BTreeMap<&'static str, i64>,
}

#[utoipa::path(
    get, path = "/api/v1/stats/realtime", tag = "stats", security(("bearer" = [])),
    responses(
        (status = 200, body = RealtimeStats),
        (status = 401, body = super::openapi::ErrorResponse),
        (status = 403, body = super::openapi::ErrorResponse),
    )
)]
pub async fn realtime(user: AuthUser, state: Data) -> Result<HttpResponse, ApiError> {
    user.require(Role::Supervisor)?;
    let now = now_ms();
    let (queues, statuses) = super::read(&state.store, move |c| {
        let mut stmt = c.prepare(
            "SELECT q.id, q.name, \
               COUNT(CASE WHEN i.state = 'queued' THEN 1 END), \
               MIN(CASE WHEN i.state = 'queued' THEN i.created_at END), \
               COUNT(CASE WHEN i.state = 'offered' THEN 1 END), \
               COUNT(CASE WHEN i.state = 'active' THEN 1 END), \
               COUNT(CASE WHEN i.state = 'wrap_up' THEN 1 END) \
             FROM queues q LEFT JOIN interactions i ON i.queue_id = q.id AND i.state <> 'closed' \
             WHERE q.deleted = 0 GROUP BY q.id ORDER BY q.id",
        )?;
        let queues = stmt
            .query_map([], |r| {
                let oldest: Option<i64> = r.get(3)?;
                Ok(QueueStats {
                    id: r.get(0)?,
                    name: r.get(1)?,
                    waiting: r.get(2)?,
                    longest_wait_secs: oldest.map(|t| ((now - t) / 1000).max(0)).unwrap_or(0),
                    offered: r.get(4)?,
                    active: r.get(5)?,
                    wrap_up: r.get(6)?,
                })
            })?
            .collect::<Result<Vec<_>, _>>()?;
        let mut stmt =
            c.prepare("SELECT status, COUNT(*) FROM users WHERE deleted = 0 GROUP BY status")?;
        let statuses = stmt
            .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            .collect::<Result<Vec<_>, _>>()?;
        Ok((queues, statuses))
    })
    .await?;

    let mut agents: BTreeMap<&'static str, i64> =
        AgentStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for (status, n) in statuses {
        if let Some(s) = AgentStatus::parse(&status) {
            *agents.entry(s.as_str()).or_default() += n;
        }
    }
    Ok(HttpResponse::Ok().json(RealtimeStats {
        generated_at: to_rfc3339(now),
        queues,
        agents,
    }))
}
