//! Records read from SQLite that the actors and the HTTP edge share, with their loaders.

use crate::domain::{AgentStatus, DispositionCode, Role, Strategy};
use rusqlite::{params, Connection, OptionalExtension, Row};

#[derive(Debug, Clone)]
pub struct AgentRecord {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub max_concurrent: u32,
    pub can_reject: bool,
    pub auto_multi_match_pop: bool,
    pub status: AgentStatus,
    pub status_since: i64,
    pub status_reason: Option<String>,
    pub stop_new: bool,
    pub queues: Vec<i64>,
}

pub const AGENT_COLUMNS: &str = "id, username, display_name, role, max_concurrent, can_reject, \
     auto_multi_match_pop, status, status_since, status_reason, stop_new";

fn agent_from_row(r: &Row<'_>) -> rusqlite::Result<AgentRecord> {
    Ok(AgentRecord {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: r.get(3)?,
        max_concurrent: r.get(4)?,
        can_reject: r.get(5)?,
        auto_multi_match_pop: r.get(6)?,
        status: r.get(7)?,
        status_since: r.get(8)?,
        status_reason: r.get(9)?,
        stop_new: r.get(10)?,
        queues: Vec::new(),
    })
}

fn agent_queues(conn: &Connection, agent_id: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.queue_id FROM queue_members m JOIN queues q ON q.id = m.queue_id \
         WHERE m.agent_id = ?1 AND q.deleted = 0 ORDER BY m.queue_id",
    )?;
    let rows = stmt.query_map([agent_id], |r| r.get(0))?;
    rows.collect()
}

/// A live (not deleted) agent with its queue memberships.
pub fn load_agent(conn: &Connection, id: i64) -> rusqlite::Result<Option<AgentRecord>> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM users WHERE id = ?1 AND deleted = 0");
    let agent = conn.query_row(&sql, [id], agent_from_row).optional()?;
    match agent {
        Some(mut a) => {
            a.queues = agent_queues(conn, id)?;
            Ok(Some(a))
        }
        None => Ok(None),
    }
}

pub fn list_agents(conn: &Connection) -> rusqlite::Result<Vec<AgentRecord>> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM users WHERE deleted = 0 ORDER BY id");
    let mut stmt = conn.prepare(&sql)?;
    let mut agents: Vec<AgentRecord> = stmt
        .query_map([], agent_from_row)?
        .collect::<Result<_, _>>()?;
    for a in &mut agents {
        a.queues = agent_queues(conn, a.id)?;
    }
    Ok(agents)
}

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
    pub members: Vec<i64>,
}

pub const QUEUE_COLUMNS: &str = "id, name, offer_timeout_secs, wrap_up_secs, disposition_codes, \
     disposition_required, strategy, alert_warn_secs, alert_critical_secs";

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
        members: Vec::new(),
    })
}

fn queue_members(conn: &Connection, queue_id: i64) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = conn.prepare_cached(
        "SELECT m.agent_id FROM queue_members m JOIN users u ON u.id = m.agent_id \
         WHERE m.queue_id = ?1 AND u.deleted = 0 ORDER BY m.agent_id",
    )?;
    let rows = stmt.query_map([queue_id], |r| r.get(0))?;
    rows.collect()
}

pub fn load_queue(conn: &Connection, id: i64) -> rusqlite::Result<Option<QueueRecord>> {
    let sql = format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE id = ?1 AND deleted = 0");
    let queue = conn.query_row(&sql, [id], queue_from_row).optional()?;
    match queue {
        Some(mut q) => {
            q.members = queue_members(conn, id)?;
            Ok(Some(q))
        }
        None => Ok(None),
    }
}

pub fn list_queues(conn: &Connection) -> rusqlite::Result<Vec<QueueRecord>> {
    let sql = format!("SELECT {QUEUE_COLUMNS} FROM queues WHERE deleted = 0 ORDER BY id");
    let mut stmt = conn.prepare(&sql)?;
    let mut queues: Vec<QueueRecord> = stmt
        .query_map([], queue_from_row)?
        .collect::<Result<_, _>>()?;
    for q in &mut queues {
        q.members = queue_members(conn, q.id)?;
    }
    Ok(queues)
}

#[derive(Debug, Clone)]
pub struct ChannelRecord {
    pub id: i64,
    pub kind: String,
    pub name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub queue_id: i64,
    pub access_token: String,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
}

pub const CHANNEL_COLUMNS: &str =
    "id, kind, name, phone_number_id, display_phone_number, queue_id, \
     access_token, app_secret, verify_token";

fn channel_from_row(r: &Row<'_>) -> rusqlite::Result<ChannelRecord> {
    Ok(ChannelRecord {
        id: r.get(0)?,
        kind: r.get(1)?,
        name: r.get(2)?,
        phone_number_id: r.get(3)?,
        display_phone_number: r.get(4)?,
        queue_id: r.get(5)?,
        access_token: r.get(6)?,
        app_secret: r.get(7)?,
        verify_token: r.get(8)?,
    })
}

pub fn load_channel(conn: &Connection, id: i64) -> rusqlite::Result<Option<ChannelRecord>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?1 AND deleted = 0");
    conn.query_row(&sql, [id], channel_from_row).optional()
}

pub fn list_channels(conn: &Connection) -> rusqlite::Result<Vec<ChannelRecord>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE deleted = 0 ORDER BY id");
    let mut stmt = conn.prepare(&sql)?;
    let rows = stmt.query_map([], channel_from_row)?;
    rows.collect()
}

/// Run-time settings stored in the `settings` table (they override the configuration).
pub fn load_setting(conn: &Connection, key: &str) -> rusqlite::Result<Option<String>> {
    conn.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
        r.get(0)
    })
    .optional()
}

pub fn save_setting(conn: &Connection, key: &str, value: &str) -> rusqlite::Result<()> {
    conn.execute(
        "INSERT INTO settings(key, value) VALUES (?1, ?2) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        params![key, value],
    )?;
    Ok(())
}
