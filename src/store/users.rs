//! The `users` table: agents, supervisors and admins (one table, the role says which), their
//! credentials and their desktop preferences. Queue memberships are in [`super::queue_members`].

use super::{queue_members, Db, StoreResult};
use crate::domain::skills::Skill;
use crate::domain::{AgentStatus, Role};
use rusqlite::{params, OptionalExtension, Row};
use std::sync::Arc;

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
    /// R27: shared with the queues, which check them against their required skills.
    pub skills: Arc<[Skill]>,
}

const AGENT_COLUMNS: &str = "id, username, display_name, role, max_concurrent, can_reject, \
     auto_multi_match_pop, status, status_since, status_reason, stop_new, skills";

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
        skills: {
            let text: String = r.get(11)?;
            let skills: Vec<Skill> = serde_json::from_str(&text).map_err(|e| {
                rusqlite::Error::FromSqlConversionFailure(
                    11,
                    rusqlite::types::Type::Text,
                    Box::new(e),
                )
            })?;
            skills.into()
        },
    })
}

/// A live (not deleted) agent with its queue memberships.
pub fn load_agent(db: &Db, id: i64) -> StoreResult<Option<AgentRecord>> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM users WHERE id = ?1 AND deleted = 0");
    let agent =
        db.0.prepare_cached(&sql)?
            .query_row([id], agent_from_row)
            .optional()?;
    match agent {
        Some(mut a) => {
            a.queues = queue_members::of_agent(db, id)?;
            Ok(Some(a))
        }
        None => Ok(None),
    }
}

/// Every live agent, by id, with its queue memberships.
pub fn list_agents(db: &Db) -> StoreResult<Vec<AgentRecord>> {
    let sql = format!("SELECT {AGENT_COLUMNS} FROM users WHERE deleted = 0 ORDER BY id");
    let mut stmt = db.0.prepare(&sql)?;
    let mut agents: Vec<AgentRecord> = stmt
        .query_map([], agent_from_row)?
        .collect::<Result<_, _>>()?;
    for a in &mut agents {
        a.queues = queue_members::of_agent(db, a.id)?;
    }
    Ok(agents)
}

/// Who a user is, as authentication knows it.
#[derive(Debug, Clone)]
pub struct Identity {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: Role,
}

pub(super) fn identity_from_row(r: &Row<'_>) -> rusqlite::Result<Identity> {
    Ok(Identity {
        id: r.get(0)?,
        username: r.get(1)?,
        display_name: r.get(2)?,
        role: r.get(3)?,
    })
}

/// A live user's identity and password hash, for login.
pub fn credentials(db: &Db, username: &str) -> StoreResult<Option<(Identity, String)>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT id, username, display_name, role, password_hash FROM users \
             WHERE username = ?1 AND deleted = 0",
        )?
        .query_row([username], |r| Ok((identity_from_row(r)?, r.get(4)?)))
        .optional()?)
}

/// A user as created: by the agents API, the command line, the demo seed or the bootstrap.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub password_hash: String,
    pub max_concurrent: u32,
    pub can_reject: bool,
    pub auto_multi_match_pop: bool,
}

/// Creates a user, offline, with no queue; returns its id.
pub fn insert(db: &Db, u: &NewUser, now: i64) -> StoreResult<i64> {
    db.0.prepare_cached(
        "INSERT INTO users(username, display_name, role, password_hash, max_concurrent, \
         can_reject, auto_multi_match_pop, status, status_since, stop_new, deleted, \
         created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 'offline', ?8, 0, 0, ?8, ?8)",
    )?
    .execute(params![
        u.username,
        u.display_name,
        u.role,
        u.password_hash,
        u.max_concurrent,
        u.can_reject,
        u.auto_multi_match_pop,
        now
    ])?;
    Ok(db.0.last_insert_rowid())
}

/// An agent's settings as an admin stored them; `password_hash: None` keeps the password.
#[derive(Debug, Clone)]
pub struct AgentUpdate {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub max_concurrent: u32,
    pub can_reject: bool,
    pub auto_multi_match_pop: bool,
    pub password_hash: Option<String>,
}

pub fn update(db: &Db, id: i64, u: &AgentUpdate, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE users SET username = ?2, display_name = ?3, role = ?4, max_concurrent = ?5, \
         can_reject = ?6, auto_multi_match_pop = ?7, \
         password_hash = COALESCE(?8, password_hash), updated_at = ?9 WHERE id = ?1",
    )?
    .execute(params![
        id,
        u.username,
        u.display_name,
        u.role,
        u.max_concurrent,
        u.can_reject,
        u.auto_multi_match_pop,
        u.password_hash,
        now
    ])?;
    Ok(())
}

/// Replaces an agent's skills (R27; checked by the caller).
pub fn set_skills(db: &Db, id: i64, skills: &[Skill], now: i64) -> StoreResult<()> {
    let text = serde_json::to_string(skills).map_err(|e| {
        super::StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(Box::new(e)))
    })?;
    db.0.prepare_cached("UPDATE users SET skills = ?2, updated_at = ?3 WHERE id = ?1")?
        .execute(params![id, text, now])?;
    Ok(())
}

/// Soft delete: the row stays for the reports, the username is freed.
pub fn soft_delete(db: &Db, id: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE users SET deleted = 1, username = username || '#deleted#' || id, \
         updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![id, now])?;
    Ok(())
}

/// Whether another user (deleted ones included: their names carry a suffix) has `username`.
pub fn username_taken(db: &Db, username: &str, except: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE username = ?1 AND id <> ?2)")?
        .query_row(params![username, except], |r| r.get(0))?)
}

/// Whether `id` names a live user.
pub fn exists(db: &Db, id: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE id = ?1 AND deleted = 0)")?
        .query_row([id], |r| r.get(0))?)
}

/// Whether a live admin exists.
pub fn any_admin(db: &Db) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM users WHERE role = 'admin' AND deleted = 0)")?
        .query_row([], |r| r.get(0))?)
}

/// Nothing but admins yet: no queue, no channel, no other user (the demo seeds such a database).
pub fn only_admins_exist(db: &Db) -> StoreResult<bool> {
    Ok(db.0.query_row(
        "SELECT NOT EXISTS(SELECT 1 FROM queues) AND NOT EXISTS(SELECT 1 FROM channels)
            AND NOT EXISTS(SELECT 1 FROM users WHERE role <> 'admin')",
        [],
        |r| r.get(0),
    )?)
}

/// The user's own "pop the latest contact when several match" preference (R20).
pub fn auto_multi_match_pop(db: &Db, id: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached("SELECT auto_multi_match_pop FROM users WHERE id = ?1")?
        .query_row([id], |r| r.get(0))?)
}

pub fn set_auto_multi_match_pop(db: &Db, id: i64, on: bool, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE users SET auto_multi_match_pop = ?1, updated_at = ?2 WHERE id = ?3",
    )?
    .execute(params![on, now, id])?;
    Ok(())
}
