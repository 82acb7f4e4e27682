//! The `settings` table: run-time settings changed by an admin (masking, no-answer status, ...).

use super::{Db, StoreResult};
use rusqlite::{params, OptionalExtension};

/// The stored value of `key`, if an admin ever set it.
pub fn load(db: &Db, key: &str) -> StoreResult<Option<String>> {
    Ok(db
        .0
        .prepare_cached("SELECT value FROM settings WHERE key = ?1")?
        .query_row([key], |r| r.get(0))
        .optional()?)
}

pub fn save(db: &Db, key: &str, value: &str) -> StoreResult<()> {
    db.0.prepare_cached(
        "INSERT INTO settings(key, value) VALUES (?1, ?2) \
         ON CONFLICT(key) DO UPDATE SET value = excluded.value",
    )?
    .execute(params![key, value])?;
    Ok(())
}
