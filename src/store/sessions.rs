//! The `sessions` table: logged-in users' bearer tokens, kept as their SHA-256.

use super::users::{identity_from_row, Identity};
use super::{Db, StoreResult};
use rusqlite::{params, OptionalExtension};

/// The live user a token (by its hash) belongs to, unless it expired.
pub fn user_of(db: &Db, token_hash: &str, now: i64) -> StoreResult<Option<Identity>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT u.id, u.username, u.display_name, u.role FROM sessions s \
             JOIN users u ON u.id = s.user_id \
             WHERE s.token_hash = ?1 AND s.expires_at > ?2 AND u.deleted = 0",
        )?
        .query_row(params![token_hash, now], identity_from_row)
        .optional()?)
}

/// Opens a session (and forgets the expired ones on the way).
pub fn open(db: &Db, token_hash: &str, user_id: i64, now: i64, expires_at: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM sessions WHERE expires_at <= ?1")?
        .execute([now])?;
    db.0.prepare_cached(
        "INSERT INTO sessions(token_hash, user_id, created_at, expires_at) \
         VALUES (?1, ?2, ?3, ?4)",
    )?
    .execute(params![token_hash, user_id, now, expires_at])?;
    Ok(())
}

/// Ends one session (nothing if it is already gone).
pub fn close(db: &Db, token_hash: &str) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM sessions WHERE token_hash = ?1")?
        .execute([token_hash])?;
    Ok(())
}

/// Ends every session of a user (deleted).
pub fn close_all_of(db: &Db, user_id: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM sessions WHERE user_id = ?1")?
        .execute([user_id])?;
    Ok(())
}
