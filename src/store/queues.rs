//! The `queues` table: routing settings and disposition codes. Members are in
//! [`super::queue_members`].

use super::{queue_members, Db, StoreError, StoreResult};
use crate::domain::business_hours::BusinessHours;
use crate::domain::csat::CsatSettings;
use crate::domain::overflow::Overflow;
use crate::domain::routing::QueueRouting;
use crate::domain::sticky::StickySettings;
use crate::domain::{DispositionCode, Strategy};
use rusqlite::{params, OptionalExtension, Row};

#[derive(Debug, Clone)]
pub struct QueueRecord {
    pub id: i64,
    pub name: String,
    pub offer_timeout_secs: u32,
    pub wrap_up_secs: u32,
    pub disposition_codes: Vec<DispositionCode>,
    pub disposition_required: bool,
    pub strategy: Strategy,
    pub alert_warn_secs: u32,
    pub alert_critical_secs: u32,
    /// The survey after a conversation closes (R28).
    pub csat: CsatSettings,
    /// Accepted within this many seconds of arrival: within the service level (8.8).
    pub service_level_secs: u32,
    /// Skills, priority, sticky agents, business hours, overflow (R27).
    pub routing: QueueRouting,
    pub members: Vec<i64>,
}

const QUEUE_COLUMNS: &str = "id, name, offer_timeout_secs, wrap_up_secs, disposition_codes, \
     disposition_required, strategy, alert_warn_secs, alert_critical_secs, csat_enabled, \
     csat_question, csat_timeout_hours, service_level_secs, required_skills, default_priority, \
     sticky_agent_secs, sticky_window_hours, hours, closed_message, greeting_message, \
     max_wait_secs, overflow_queue_id";

fn json_column<T: serde::de::DeserializeOwned>(r: &Row<'_>, i: usize) -> rusqlite::Result<T> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn routing_from_row(r: &Row<'_>) -> rusqlite::Result<QueueRouting> {
    let hours = match r.get::<_, Option<String>>(17)? {
        None => None,
        Some(text) => {
            let bad = |e: Box<dyn std::error::Error + Send + Sync>| {
                rusqlite::Error::FromSqlConversionFailure(17, rusqlite::types::Type::Text, e)
            };
            let value: serde_json::Value =
                serde_json::from_str(&text).map_err(|e| bad(Box::new(e)))?;
            Some(BusinessHours::parse(&value).map_err(|e| bad(Box::new(e)))?)
        }
    };
    let overflow = match (r.get::<_, Option<u32>>(20)?, r.get::<_, Option<i64>>(21)?) {
        (Some(max_wait_secs), Some(queue_id)) => Some(Overflow {
            max_wait_secs,
            queue_id,
        }),
        _ => None,
    };
    Ok(QueueRouting {
        required_skills: json_column(r, 13)?,
        default_priority: r.get(14)?,
        sticky: StickySettings {
            agent_secs: r.get(15)?,
            window_hours: r.get(16)?,
        },
        hours,
        closed_message: r.get(18)?,
        greeting_message: r.get(19)?,
        overflow,
    })
}

fn queue_from_row(r: &Row<'_>) -> rusqlite::Result<QueueRecord> {
    let codes: String = r.get(4)?;
    Ok(QueueRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        offer_timeout_secs: r.get(2)?,
        wrap_up_secs: r.get(3)?,
        disposition_codes: serde_json::from_str(&codes).map_err(|e| {
            rusqlite::Error::FromSqlConversionFailure(4, rusqlite::types::Type::Text, Box::new(e))
        })?,
        disposition_required: r.get(5)?,
        strategy: r.get(6)?,
        alert_warn_secs: r.get(7)?,
        alert_critical_secs: r.get(8)?,
        csat: CsatSettings {
            enabled: r.get(9)?,
            question: r.get(10)?,
            timeout_hours: r.get(11)?,
        },
        service_level_secs: r.get(12)?,
        routing: routing_from_row(r)?,
        members: Vec::new(),
    })
}

/// A live queue with its members.
pub fn load_queue(db: &Db, id: i64) -> StoreResult<Option<QueueRecord>> {
    let sql = format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE id = ?1 AND deleted = 0");
    let queue =
        db.0.prepare_cached(&sql)?
            .query_row([id], queue_from_row)
            .optional()?;
    match queue {
        Some(mut q) => {
            q.members = queue_members::of_queue(db, id)?;
            Ok(Some(q))
        }
        None => Ok(None),
    }
}

/// Every live queue, by id, with its members.
pub fn list_queues(db: &Db) -> StoreResult<Vec<QueueRecord>> {
    let sql = format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE deleted = 0 ORDER BY id");
    let mut stmt = db.0.prepare(&sql)?;
    let mut queues: Vec<QueueRecord> = stmt
        .query_map([], queue_from_row)?
        .collect::<Result<_, _>>()?;
    for q in &mut queues {
        q.members = queue_members::of_queue(db, q.id)?;
    }
    Ok(queues)
}

/// Whether `id` names a live queue.
pub fn exists(db: &Db, id: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM queues WHERE id = ?1 AND deleted = 0)")?
        .query_row([id], |r| r.get(0))?)
}

/// A queue's settings as they are stored (checked by the caller).
#[derive(Debug, Clone)]
pub struct QueueSettings {
    pub name: String,
    pub offer_timeout_secs: u32,
    pub wrap_up_secs: u32,
    pub disposition_codes: Vec<DispositionCode>,
    pub disposition_required: bool,
    pub strategy: Strategy,
    pub alert_warn_secs: u32,
    pub alert_critical_secs: u32,
    pub csat: CsatSettings,
    pub service_level_secs: u32,
    pub routing: QueueRouting,
}

fn codes_json(codes: &[DispositionCode]) -> StoreResult<String> {
    serde_json::to_string(codes)
        .map_err(|e| StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e))))
}

/// Creates a queue with no member; returns its id.
pub fn insert(db: &Db, q: &QueueSettings, now: i64) -> StoreResult<i64> {
    db.0.prepare_cached(
        "INSERT INTO queues(name, offer_timeout_secs, wrap_up_secs, disposition_codes, \
         disposition_required, strategy, alert_warn_secs, alert_critical_secs, deleted, \
         created_at, updated_at, csat_enabled, csat_question, csat_timeout_hours, \
         service_level_secs) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        q.name,
        q.offer_timeout_secs,
        q.wrap_up_secs,
        codes_json(&q.disposition_codes)?,
        q.disposition_required,
        q.strategy,
        q.alert_warn_secs,
        q.alert_critical_secs,
        now,
        q.csat.enabled,
        q.csat.question,
        q.csat.timeout_hours,
        q.service_level_secs,
    ])?;
    let id = db.0.last_insert_rowid();
    set_routing(db, id, &q.routing)?;
    Ok(id)
}

/// Writes a queue's R27 settings.
fn set_routing(db: &Db, id: i64, r: &QueueRouting) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE queues SET required_skills = ?2, default_priority = ?3, sticky_agent_secs = ?4, \
         sticky_window_hours = ?5, hours = ?6, closed_message = ?7, greeting_message = ?8, \
         max_wait_secs = ?9, overflow_queue_id = ?10 WHERE id = ?1",
    )?
    .execute(params![
        id,
        serde_json::to_string(&r.required_skills).map_err(|e| {
            StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
        })?,
        r.default_priority,
        r.sticky.agent_secs,
        r.sticky.window_hours,
        r.hours.as_ref().map(|h| h.to_json().to_string()),
        r.closed_message,
        r.greeting_message,
        r.overflow.map(|o| o.max_wait_secs),
        r.overflow.map(|o| o.queue_id),
    ])?;
    Ok(())
}

/// Queues that overflow into `id` overflow nowhere any more (it was deleted); their ids.
pub fn clear_overflow_to(db: &Db, id: i64, now: i64) -> StoreResult<Vec<i64>> {
    let mut stmt = db.0.prepare_cached(
        "UPDATE queues SET max_wait_secs = NULL, overflow_queue_id = NULL, updated_at = ?2 \
          WHERE overflow_queue_id = ?1 AND deleted = 0 RETURNING id",
    )?;
    let ids = stmt
        .query_map(params![id, now], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(ids)
}

pub fn update(db: &Db, id: i64, q: &QueueSettings, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE queues SET name = ?2, offer_timeout_secs = ?3, wrap_up_secs = ?4, \
         disposition_codes = ?5, disposition_required = ?6, strategy = ?7, \
         alert_warn_secs = ?8, alert_critical_secs = ?9, updated_at = ?10, \
         csat_enabled = ?11, csat_question = ?12, csat_timeout_hours = ?13, \
         service_level_secs = ?14 WHERE id = ?1",
    )?
    .execute(params![
        id,
        q.name,
        q.offer_timeout_secs,
        q.wrap_up_secs,
        codes_json(&q.disposition_codes)?,
        q.disposition_required,
        q.strategy,
        q.alert_warn_secs,
        q.alert_critical_secs,
        now,
        q.csat.enabled,
        q.csat.question,
        q.csat.timeout_hours,
        q.service_level_secs,
    ])?;
    set_routing(db, id, &q.routing)
}

/// Soft delete: the row stays for the reports and old conversations.
pub fn soft_delete(db: &Db, id: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached("UPDATE queues SET deleted = 1, updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}
