//! Work for an external CRM (`crm_outbox`): a row per call log to push, written in the
//! transaction that saves the activity, left when the CRM accepted it or kept, given up, with
//! its error for an operator to see.

use super::{Db, StoreResult};
use rusqlite::params;
use serde::Serialize;

/// A row waiting in the outbox.
#[derive(Debug, Clone)]
pub struct Pending {
    pub id: i64,
    pub kind: String,
    pub payload: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub given_up_at: Option<i64>,
}

const COLUMNS: &str = "id, kind, payload, attempts, last_error, given_up_at";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Pending> {
    Ok(Pending {
        id: r.get(0)?,
        kind: r.get(1)?,
        payload: r.get(2)?,
        attempts: r.get(3)?,
        last_error: r.get(4)?,
        given_up_at: r.get(5)?,
    })
}

/// Queues `payload` (as JSON) under `kind`, due at once, in the caller's transaction.
pub fn enqueue<P: Serialize>(db: &Db, kind: &str, payload: &P, now: i64) -> StoreResult<()> {
    let payload = serde_json::to_string(payload)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    db.0.prepare_cached(
        "INSERT INTO crm_outbox (kind, payload, attempts, next_attempt_at, created_at) \
         VALUES (?1, ?2, 0, ?3, ?3)",
    )?
    .execute(params![kind, payload, now])?;
    Ok(())
}

/// Every row still in the outbox (oldest first): waiting, retrying or given up.
pub fn pending(db: &Db) -> StoreResult<Vec<Pending>> {
    let mut stmt =
        db.0.prepare(&format!("SELECT {COLUMNS} FROM crm_outbox ORDER BY id"))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Rows due by `now` and not given up, soonest first (`limit` of them).
pub fn due(db: &Db, now: i64, limit: i64) -> StoreResult<Vec<Pending>> {
    let mut stmt = db.0.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM crm_outbox \
         WHERE given_up_at IS NULL AND next_attempt_at <= ?1 ORDER BY next_attempt_at, id \
         LIMIT ?2"
    ))?;
    let rows = stmt.query_map(params![now, limit], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The CRM accepted it.
pub fn remove(db: &Db, id: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM crm_outbox WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// A transient failure: try again at `next_attempt_at`.
pub fn retry_later(
    db: &Db,
    id: i64,
    attempts: i64,
    next_attempt_at: i64,
    error: &str,
) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE crm_outbox SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
    )?
    .execute(params![id, attempts, next_attempt_at, error])?;
    Ok(())
}

/// A refusal: kept with its error, never tried again.
pub fn give_up(db: &Db, id: i64, attempts: i64, error: &str, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE crm_outbox SET attempts = ?2, last_error = ?3, given_up_at = ?4 WHERE id = ?1",
    )?
    .execute(params![id, attempts, error, now])?;
    Ok(())
}
