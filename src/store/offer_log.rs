//! The `offer_log` table: how each offer ended, for the reports.

use super::{Db, StoreResult};
use rusqlite::params;

/// `kind`: `new`, `transfer` or `conference`; `outcome`: `accepted` or the revoke reason.
pub fn insert(
    db: &Db,
    interaction_id: i64,
    queue_id: i64,
    agent_id: i64,
    kind: &str,
    outcome: &str,
    ended_at: i64,
) -> StoreResult<()> {
    db.0.prepare_cached(
        "INSERT INTO offer_log (interaction_id, queue_id, agent_id, kind, outcome, ended_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        interaction_id,
        queue_id,
        agent_id,
        kind,
        outcome,
        ended_at
    ])?;
    Ok(())
}
