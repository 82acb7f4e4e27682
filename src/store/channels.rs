//! The `channels` table: WhatsApp Business numbers and the queue each routes to.

use super::{Db, StoreResult};
use rusqlite::{params, OptionalExtension, Row};

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
    /// The WhatsApp Business Account whose templates the channel sends (R23).
    pub waba_id: Option<String>,
    pub templates_synced_at: Option<i64>,
    pub templates_sync_error: Option<String>,
}

const CHANNEL_COLUMNS: &str = "id, kind, name, phone_number_id, display_phone_number, queue_id, \
     access_token, app_secret, verify_token, waba_id, templates_synced_at, templates_sync_error";

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
        waba_id: r.get(9)?,
        templates_synced_at: r.get(10)?,
        templates_sync_error: r.get(11)?,
    })
}

/// A live channel.
pub fn load_channel(db: &Db, id: i64) -> StoreResult<Option<ChannelRecord>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE id = ?1 AND deleted = 0");
    Ok(db
        .0
        .prepare_cached(&sql)?
        .query_row([id], channel_from_row)
        .optional()?)
}

/// Every live channel, by id.
pub fn list_channels(db: &Db) -> StoreResult<Vec<ChannelRecord>> {
    let sql = format!("SELECT {CHANNEL_COLUMNS} FROM channels WHERE deleted = 0 ORDER BY id");
    let mut stmt = db.0.prepare(&sql)?;
    let rows = stmt.query_map([], channel_from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Whether another live channel (not `except`) has this phone number id.
pub fn phone_number_id_taken(db: &Db, phone_number_id: &str, except: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM channels WHERE phone_number_id = ?1 AND deleted = 0 \
             AND id <> ?2)",
        )?
        .query_row(params![phone_number_id, except], |r| r.get(0))?)
}

/// Whether a live channel routes to `queue_id`.
pub fn routes_to_queue(db: &Db, queue_id: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM channels WHERE queue_id = ?1 AND deleted = 0)",
        )?
        .query_row([queue_id], |r| r.get(0))?)
}

/// A channel's settings as they are stored (checked by the caller). `kind` is set at creation.
#[derive(Debug, Clone)]
pub struct ChannelSettings {
    pub kind: String,
    pub name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub queue_id: i64,
    pub access_token: String,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub waba_id: Option<String>,
}

/// Creates a channel; returns its id.
pub fn insert(db: &Db, c: &ChannelSettings, now: i64) -> StoreResult<i64> {
    db.0.prepare_cached(
        "INSERT INTO channels(kind, name, phone_number_id, display_phone_number, queue_id, \
         access_token, app_secret, verify_token, deleted, created_at, updated_at, waba_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9, ?9, ?10)",
    )?
    .execute(params![
        c.kind,
        c.name,
        c.phone_number_id,
        c.display_phone_number,
        c.queue_id,
        c.access_token,
        c.app_secret,
        c.verify_token,
        now,
        c.waba_id,
    ])?;
    Ok(db.0.last_insert_rowid())
}

/// Stores every setting but `kind`.
pub fn update(db: &Db, id: i64, c: &ChannelSettings, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE channels SET name = ?2, phone_number_id = ?3, display_phone_number = ?4, \
         queue_id = ?5, access_token = ?6, app_secret = ?7, verify_token = ?8, \
         updated_at = ?9, waba_id = ?10 WHERE id = ?1",
    )?
    .execute(params![
        id,
        c.name,
        c.phone_number_id,
        c.display_phone_number,
        c.queue_id,
        c.access_token,
        c.app_secret,
        c.verify_token,
        now,
        c.waba_id,
    ])?;
    Ok(())
}

/// Soft delete: the row stays for old conversations.
pub fn soft_delete(db: &Db, id: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached("UPDATE channels SET deleted = 1, updated_at = ?2 WHERE id = ?1")?
        .execute(params![id, now])?;
    Ok(())
}
