//! The `canned_responses` table (R26): saved replies, each for every queue (`queue_id` NULL)
//! or one. Deleting keeps the row (`deleted_at`) and frees its shortcut.

use super::{Db, StoreResult};
use rusqlite::{params, OptionalExtension, Row};

/// A canned response as stored, with its queue's name (also a deleted queue's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CannedRecord {
    pub id: i64,
    pub shortcut: String,
    pub title: String,
    pub text: String,
    pub queue_id: Option<i64>,
    pub queue_name: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
    pub created_by: Option<i64>,
    pub updated_by: Option<i64>,
}

/// What a create or an update writes (checked by the caller).
#[derive(Debug, Clone)]
pub struct CannedFields {
    pub shortcut: String,
    pub title: String,
    pub text: String,
    pub queue_id: Option<i64>,
}

const SELECT: &str = "SELECT c.id, c.shortcut, c.title, c.text, c.queue_id, q.name, \
     c.created_at, c.updated_at, c.created_by, c.updated_by \
     FROM canned_responses c LEFT JOIN queues q ON q.id = c.queue_id";

fn from_row(r: &Row<'_>) -> rusqlite::Result<CannedRecord> {
    Ok(CannedRecord {
        id: r.get(0)?,
        shortcut: r.get(1)?,
        title: r.get(2)?,
        text: r.get(3)?,
        queue_id: r.get(4)?,
        queue_name: r.get(5)?,
        created_at: r.get(6)?,
        updated_at: r.get(7)?,
        created_by: r.get(8)?,
        updated_by: r.get(9)?,
    })
}

/// Every canned response not deleted, by shortcut.
pub fn list(db: &Db) -> StoreResult<Vec<CannedRecord>> {
    let mut stmt = db.0.prepare_cached(&format!(
        "{SELECT} WHERE c.deleted_at IS NULL ORDER BY c.shortcut"
    ))?;
    let rows = stmt.query_map([], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One canned response, unless deleted.
pub fn load(db: &Db, id: i64) -> StoreResult<Option<CannedRecord>> {
    Ok(db
        .0
        .prepare_cached(&format!(
            "{SELECT} WHERE c.id = ?1 AND c.deleted_at IS NULL"
        ))?
        .query_row([id], from_row)
        .optional()?)
}

/// Whether a canned response other than `except` (not deleted) has `shortcut`.
pub fn shortcut_taken(db: &Db, shortcut: &str, except: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM canned_responses \
             WHERE shortcut = ?1 AND id != ?2 AND deleted_at IS NULL)",
        )?
        .query_row(params![shortcut, except], |r| r.get(0))?)
}

/// Creates one; returns its id. `by`: the user who writes it (`None`: the demo seed).
pub fn insert(db: &Db, f: &CannedFields, by: Option<i64>, now: i64) -> StoreResult<i64> {
    db.0.prepare_cached(
        "INSERT INTO canned_responses (shortcut, title, text, queue_id, created_at, updated_at, \
         created_by, updated_by) VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?6, ?6)",
    )?
    .execute(params![f.shortcut, f.title, f.text, f.queue_id, now, by])?;
    Ok(db.0.last_insert_rowid())
}

pub fn update(db: &Db, id: i64, f: &CannedFields, by: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE canned_responses SET shortcut = ?2, title = ?3, text = ?4, queue_id = ?5, \
         updated_at = ?6, updated_by = ?7 WHERE id = ?1 AND deleted_at IS NULL",
    )?
    .execute(params![
        id, f.shortcut, f.title, f.text, f.queue_id, now, by
    ])?;
    Ok(())
}

/// Marks it deleted; false when there was none to delete.
pub fn soft_delete(db: &Db, id: i64, by: i64, now: i64) -> StoreResult<bool> {
    let n =
        db.0.prepare_cached(
            "UPDATE canned_responses SET deleted_at = ?2, updated_at = ?2, updated_by = ?3 \
             WHERE id = ?1 AND deleted_at IS NULL",
        )?
        .execute(params![id, now, by])?;
    Ok(n > 0)
}
