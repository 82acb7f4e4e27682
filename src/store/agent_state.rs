//! An agent's presence as stored on its `users` row: status (with since and reason) and the
//! `stop_new` flag.

use super::{Db, StoreResult};
use crate::domain::AgentStatus;
use rusqlite::params;

pub fn set_status(
    db: &Db,
    agent_id: i64,
    status: AgentStatus,
    since: i64,
    reason: Option<&str>,
) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE users SET status = ?1, status_since = ?2, status_reason = ?3 WHERE id = ?4",
    )?
    .execute(params![status, since, reason, agent_id])?;
    Ok(())
}

pub fn set_stop_new(db: &Db, agent_id: i64, enabled: bool) -> StoreResult<()> {
    db.0.prepare_cached("UPDATE users SET stop_new = ?1 WHERE id = ?2")?
        .execute(params![enabled, agent_id])?;
    Ok(())
}
