//! The live board's read model (`GET /stats/realtime`, the supervisor feed): queues and agents
//! now, aggregated from `queues`, `interactions`, `interaction_participants` and `users`.

use super::{Db, StoreResult};
use crate::domain::business_hours::BusinessHours;
use crate::domain::time::to_rfc3339;
use crate::domain::{AgentStatus, AlertLevel};
use serde::Serialize;
use std::collections::BTreeMap;
use utoipa::ToSchema;

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
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
    /// R27: how many wait at each priority (only those with someone waiting), highest first.
    pub waiting_by_priority: Vec<PriorityWaiting>,
    /// R27: when the next waiting conversation overflows (RFC 3339), if the queue overflows
    /// and one waits.
    pub next_overflow_at: Option<String>,
    /// R27: inside its business hours now (always, without hours).
    pub open: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct PriorityWaiting {
    pub priority: u8,
    pub waiting: i64,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct RealtimeStats {
    /// RFC 3339.
    pub generated_at: String,
    pub queues: Vec<QueueStats>,
    /// Users (not deleted) per status: `offline`, `available`, `on_break`, `rona` (all four keys present).
    #[schema(value_type = Object)]
    pub agents: BTreeMap<&'static str, i64>,
    /// Each user (not deleted, admins aside) with status and load, for the live board.
    pub agent_list: Vec<AgentNow>,
    /// The open conversations (R25), the oldest first, at most [`MAX_LISTED`]: a supervisor
    /// opens one to watch it.
    pub conversations: Vec<ConversationNow>,
}

impl RealtimeStats {
    /// R13 on the board: with masking on, the customers' names (a number, when WhatsApp gave
    /// no name) are masked for every watcher of the board; the monitor shows who it is.
    pub fn masked(mut self, masking_enabled: bool) -> Self {
        if masking_enabled {
            for c in &mut self.conversations {
                c.customer = crate::domain::masking::mask_name(&c.customer);
            }
        }
        self
    }
}

/// At most this many open conversations are listed on the board.
pub const MAX_LISTED: i64 = 500;

/// An open conversation as the live board lists it.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ConversationNow {
    pub id: i64,
    /// `queued`, `offered`, `active` or `wrap_up`.
    pub state: String,
    /// `inbound` or `outbound`.
    pub kind: String,
    pub queue_id: i64,
    pub queue_name: String,
    /// The customer's name (or number, or @username).
    pub customer: String,
    /// The owner, when an agent has it.
    pub agent_id: Option<i64>,
    pub agent_name: Option<String>,
    /// RFC 3339 (the board shows the age from it: the frame changes only when something
    /// does).
    pub created_at: String,
    /// R16's reply-time alert: `none`, `warn` or `critical`.
    pub alert: AlertLevel,
    /// R27: 0 to 9, higher served first.
    pub priority: u8,
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct AgentNow {
    pub id: i64,
    pub display_name: String,
    pub role: String,
    /// `offline`, `available`, `on_break` or `rona`.
    pub status: String,
    /// RFC 3339.
    pub status_since: String,
    pub stop_new: bool,
    /// Interactions held as offered, active or in wrap-up.
    pub load: i64,
    pub max_concurrent: i64,
}

/// Queues and agents as of `now`.
pub fn realtime(db: &Db, now: i64) -> StoreResult<RealtimeStats> {
    let mut stmt = db.0.prepare_cached(
        "SELECT q.id, q.name, \
           COUNT(CASE WHEN i.state = 'queued' THEN 1 END), \
           MIN(CASE WHEN i.state = 'queued' THEN i.created_at END), \
           COUNT(CASE WHEN i.state = 'offered' THEN 1 END), \
           COUNT(CASE WHEN i.state = 'active' THEN 1 END), \
           COUNT(CASE WHEN i.state = 'wrap_up' THEN 1 END), \
           MIN(CASE WHEN i.state = 'queued' AND i.overflowed_from IS NULL THEN i.queued_at END) \
             + q.max_wait_secs * 1000, \
           q.hours \
         FROM queues q LEFT JOIN interactions i ON i.queue_id = q.id AND i.state <> 'closed' \
         WHERE q.deleted = 0 GROUP BY q.id ORDER BY q.id",
    )?;
    let mut queues = stmt
        .query_map([], |r| {
            let oldest: Option<i64> = r.get(3)?;
            let overflow_at: Option<i64> = r.get(7)?;
            let open = r
                .get::<_, Option<String>>(8)?
                .and_then(|h| serde_json::from_str::<serde_json::Value>(&h).ok())
                .and_then(|h| BusinessHours::parse(&h).ok())
                .is_none_or(|h| h.is_open(now));
            Ok(QueueStats {
                id: r.get(0)?,
                name: r.get(1)?,
                waiting: r.get(2)?,
                longest_wait_secs: oldest.map(|t| ((now - t) / 1000).max(0)).unwrap_or(0),
                offered: r.get(4)?,
                active: r.get(5)?,
                wrap_up: r.get(6)?,
                waiting_by_priority: Vec::new(),
                next_overflow_at: overflow_at.map(to_rfc3339),
                open,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = db.0.prepare_cached(
        "SELECT queue_id, priority, COUNT(*) FROM interactions WHERE state = 'queued' \
         GROUP BY queue_id, priority ORDER BY queue_id, priority DESC",
    )?;
    let by_priority = stmt.query_map([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            PriorityWaiting {
                priority: r.get(1)?,
                waiting: r.get(2)?,
            },
        ))
    })?;
    for row in by_priority {
        let (queue_id, p) = row?;
        if let Some(q) = queues.iter_mut().find(|q| q.id == queue_id) {
            q.waiting_by_priority.push(p);
        }
    }
    let mut stmt = db.0.prepare_cached(
        "SELECT u.id, u.display_name, u.role, u.status, u.status_since, u.stop_new, \
           u.max_concurrent, \
           (SELECT COUNT(*) FROM interactions i \
             WHERE i.state <> 'closed' AND i.offer_agent_id = u.id) + \
           (SELECT COUNT(*) FROM interaction_participants p \
             JOIN interactions i ON i.id = p.interaction_id \
             WHERE p.agent_id = u.id AND i.state <> 'closed' \
               AND p.left_at IS NULL AND p.wrapped_up_at IS NULL) \
         FROM users u WHERE u.deleted = 0 ORDER BY u.display_name, u.id",
    )?;
    let agent_list = stmt
        .query_map([], |r| {
            Ok(AgentNow {
                id: r.get(0)?,
                display_name: r.get(1)?,
                role: r.get(2)?,
                status: r.get(3)?,
                status_since: to_rfc3339(r.get(4)?),
                stop_new: r.get(5)?,
                max_concurrent: r.get(6)?,
                load: r.get(7)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;

    let mut agents: BTreeMap<&'static str, i64> =
        AgentStatus::ALL.iter().map(|s| (s.as_str(), 0)).collect();
    for a in &agent_list {
        if let Some(s) = AgentStatus::parse(&a.status) {
            *agents.entry(s.as_str()).or_default() += 1;
        }
    }
    let mut stmt = db.0.prepare_cached(
        "SELECT i.id, i.state, i.kind, i.queue_id, COALESCE(q.name, ''), i.customer_name,
                i.owner_agent_id, u.display_name, i.created_at,
                COALESCE(q.alert_warn_secs, 60), COALESCE(q.alert_critical_secs, 180), i.priority,
                (SELECT MIN(m.sent_at) FROM messages m
                  WHERE m.interaction_id = i.id AND m.direction = 'in'
                    AND m.id > COALESCE((SELECT MAX(o.id) FROM messages o
                                          WHERE o.interaction_id = i.id AND o.direction = 'out'), 0))
           FROM interactions i
           LEFT JOIN queues q ON q.id = i.queue_id
           LEFT JOIN users u ON u.id = i.owner_agent_id
          WHERE i.state <> 'closed'
          ORDER BY i.created_at, i.id LIMIT ?1",
    )?;
    let conversations = stmt
        .query_map([MAX_LISTED], |r| {
            let state: String = r.get(1)?;
            let created_at: i64 = r.get(8)?;
            let unanswered: Option<i64> = r.get(12)?;
            Ok(ConversationNow {
                id: r.get(0)?,
                kind: r.get(2)?,
                queue_id: r.get(3)?,
                queue_name: r.get(4)?,
                customer: r.get(5)?,
                agent_id: r.get(6)?,
                agent_name: r.get(7)?,
                created_at: to_rfc3339(created_at),
                alert: if state == "active" {
                    AlertLevel::of(unanswered, r.get(9)?, r.get(10)?, now)
                } else {
                    AlertLevel::None
                },
                priority: r.get(11)?,
                state,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(RealtimeStats {
        conversations,
        generated_at: to_rfc3339(now),
        queues,
        agents,
        agent_list: agent_list
            .into_iter()
            .filter(|a| a.role != "admin")
            .collect(),
    })
}
