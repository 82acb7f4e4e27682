//! The `audit_log` table: who read customer data unmasked, who changed masking (R13).

use super::{Db, StoreResult};
use rusqlite::params;

#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub id: i64,
    pub at: i64,
    pub user_id: Option<i64>,
    pub action: String,
    pub subject: String,
    pub detail: String,
}

/// Appends one audit record.
pub fn record(
    db: &Db,
    at: i64,
    user_id: Option<i64>,
    action: &str,
    subject: &str,
    detail: &str,
) -> StoreResult<()> {
    db.0.prepare_cached(
        "INSERT INTO audit_log (at, user_id, action, subject, detail) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![at, user_id, action, subject, detail])?;
    Ok(())
}

/// Up to `limit` records older (by id) than `before`, newest first.
pub fn page(db: &Db, before: Option<i64>, limit: i64) -> StoreResult<Vec<AuditRecord>> {
    let mut stmt = db.0.prepare_cached(
        "SELECT id, at, user_id, action, subject, detail FROM audit_log \
         WHERE id < ?1 ORDER BY id DESC LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![before.unwrap_or(i64::MAX), limit], |r| {
        Ok(AuditRecord {
            id: r.get(0)?,
            at: r.get(1)?,
            user_id: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: r.get(5)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
