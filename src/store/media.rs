//! The `message_media` table (R22): the file of a media message, both ways. An inbound file is
//! `pending` until the media fetcher stores it (its job is in `media_downloads`); an agent's
//! attachment is stored before its row is written, so it starts `ready`.

use super::{Db, StoreResult};
use crate::domain::media::{media_url, Media};
use crate::domain::{MediaState, MessageKind};
use rusqlite::{params, OptionalExtension};

/// A customer's media as the webhook described it.
pub struct NewInbound<'a> {
    pub message_id: i64,
    pub interaction_id: i64,
    pub kind: MessageKind,
    /// Meta's media id (lives 7 days).
    pub wa_media_id: &'a str,
    pub mime_type: Option<&'a str>,
    /// As the webhook gives it (base64); the fetcher checks the file against it.
    pub sha256: Option<&'a str>,
    pub filename: Option<&'a str>,
    pub caption: Option<&'a str>,
}

/// An agent's attachment, already stored under `media.path`.
pub struct NewOutbound<'a> {
    pub message_id: i64,
    pub interaction_id: i64,
    pub kind: MessageKind,
    pub mime_type: &'a str,
    pub size: i64,
    /// Hex.
    pub sha256: &'a str,
    pub filename: Option<&'a str>,
    pub caption: Option<&'a str>,
    /// Relative to `media.path`.
    pub file: &'a str,
}

/// A stored file, as `GET /api/v1/media/{id}` needs it.
#[derive(Debug, Clone)]
pub struct MediaFile {
    pub media: Media,
    pub interaction_id: i64,
    /// Relative to `media.path`; set once ready.
    pub file: Option<String>,
}

/// The columns [`from_row`] reads, in its order, from a `message_media` aliased `mm`.
pub const COLUMNS: &str =
    "mm.id, mm.mime_type, mm.size, mm.filename, mm.caption, mm.sha256, mm.state, mm.error";

/// A media row selected with [`COLUMNS`] starting at `at`; `None` when the LEFT JOIN found none.
pub fn from_row(r: &rusqlite::Row<'_>, at: usize) -> rusqlite::Result<Option<Media>> {
    let Some(id) = r.get::<_, Option<i64>>(at)? else {
        return Ok(None);
    };
    let state: String = r.get(at + 6)?;
    let state = MediaState::parse(&state).unwrap_or(MediaState::Failed);
    Ok(Some(Media {
        id,
        mime_type: r.get(at + 1)?,
        size: r.get(at + 2)?,
        filename: r.get(at + 3)?,
        caption: r.get(at + 4)?,
        // A declared (base64) digest is not shown: the hex one comes with the checked file.
        sha256: match state {
            MediaState::Ready => r.get(at + 5)?,
            _ => None,
        },
        state,
        url: (state == MediaState::Ready).then(|| media_url(id)),
        error: r.get(at + 7)?,
    }))
}

/// Records a customer's media as `pending`; the caller queues its download in the same
/// transaction ([`super::media_downloads::enqueue`]).
pub fn insert_inbound(db: &Db, m: &NewInbound, now: i64) -> StoreResult<Media> {
    db.0.prepare_cached(
        "INSERT INTO message_media (message_id, interaction_id, direction, kind, wa_media_id,
            mime_type, sha256, filename, caption, state, created_at, updated_at)
         VALUES (?1, ?2, 'in', ?3, ?4, ?5, ?6, ?7, ?8, 'pending', ?9, ?9)",
    )?
    .execute(params![
        m.message_id,
        m.interaction_id,
        m.kind,
        m.wa_media_id,
        m.mime_type,
        m.sha256,
        m.filename,
        m.caption,
        now
    ])?;
    Ok(Media {
        id: db.0.last_insert_rowid(),
        mime_type: m.mime_type.map(str::to_string),
        size: None,
        filename: m.filename.map(str::to_string),
        caption: m.caption.map(str::to_string),
        sha256: None,
        state: MediaState::Pending,
        url: None,
        error: None,
    })
}

/// Records an agent's stored attachment (`ready`; the outbox uploads it to Meta).
pub fn insert_outbound(db: &Db, m: &NewOutbound, now: i64) -> StoreResult<Media> {
    db.0.prepare_cached(
        "INSERT INTO message_media (message_id, interaction_id, direction, kind, mime_type, size,
            sha256, filename, caption, state, file, created_at, updated_at)
         VALUES (?1, ?2, 'out', ?3, ?4, ?5, ?6, ?7, ?8, 'ready', ?9, ?10, ?10)",
    )?
    .execute(params![
        m.message_id,
        m.interaction_id,
        m.kind,
        m.mime_type,
        m.size,
        m.sha256,
        m.filename,
        m.caption,
        m.file,
        now
    ])?;
    let id = db.0.last_insert_rowid();
    Ok(Media {
        id,
        mime_type: Some(m.mime_type.to_string()),
        size: Some(m.size),
        filename: m.filename.map(str::to_string),
        caption: m.caption.map(str::to_string),
        sha256: Some(m.sha256.to_string()),
        state: MediaState::Ready,
        url: Some(media_url(id)),
        error: None,
    })
}

/// Keeps the id Meta gave an uploaded attachment, so a retried send does not upload again.
pub fn record_upload(db: &Db, media_id: i64, wa_media_id: &str, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE message_media SET wa_media_id = ?1, updated_at = ?2 WHERE id = ?3",
    )?
    .execute(params![wa_media_id, now, media_id])?;
    Ok(())
}

/// The fetched file is stored: the media is `ready`.
pub fn mark_ready(
    db: &Db,
    media_id: i64,
    file: &str,
    size: i64,
    sha256_hex: &str,
    mime_type: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE message_media SET state = 'ready', file = ?1, size = ?2, sha256 = ?3,
                mime_type = COALESCE(?4, mime_type), error = NULL, updated_at = ?5
          WHERE id = ?6",
    )?
    .execute(params![file, size, sha256_hex, mime_type, now, media_id])?;
    Ok(())
}

/// The media cannot be fetched: `failed`, with the reason.
pub fn mark_failed(db: &Db, media_id: i64, error: &str, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE message_media SET state = 'failed', error = ?1, updated_at = ?2 WHERE id = ?3",
    )?
    .execute(params![error, now, media_id])?;
    Ok(())
}

/// A try failed and another will come: the reason is shown while it stays `pending`.
pub fn note_error(db: &Db, media_id: i64, error: &str, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE message_media SET error = ?1, updated_at = ?2 WHERE id = ?3 AND state = 'pending'",
    )?
    .execute(params![error, now, media_id])?;
    Ok(())
}

/// One media row with what serving it needs, and the message it belongs to.
pub fn load(db: &Db, media_id: i64) -> StoreResult<Option<(MediaFile, i64)>> {
    let sql = format!(
        "SELECT {COLUMNS}, mm.interaction_id, mm.file, mm.message_id
           FROM message_media mm WHERE mm.id = ?1"
    );
    Ok(db
        .0
        .prepare_cached(&sql)?
        .query_row([media_id], |r| {
            let media = from_row(r, 0)?.expect("the row exists");
            Ok((
                MediaFile {
                    media,
                    interaction_id: r.get(8)?,
                    file: r.get(9)?,
                },
                r.get::<_, i64>(10)?,
            ))
        })
        .optional()?)
}

/// The media of one message as agents see it.
pub fn for_message(db: &Db, message_id: i64) -> StoreResult<Option<Media>> {
    let sql = format!("SELECT {COLUMNS} FROM message_media mm WHERE mm.message_id = ?1");
    Ok(db
        .0
        .prepare_cached(&sql)?
        .query_row([message_id], |r| from_row(r, 0))
        .optional()?
        .flatten())
}

/// Deletes the media rows (and download jobs) of one interaction; returns the files they
/// named, for the caller to delete once this is committed (retention).
pub fn delete_for_interaction(db: &Db, interaction_id: i64) -> StoreResult<Vec<String>> {
    let files: Vec<String> = {
        let mut stmt = db.0.prepare_cached(
            "SELECT file FROM message_media WHERE interaction_id = ?1 AND file IS NOT NULL",
        )?;
        let rows = stmt.query_map([interaction_id], |r| r.get(0))?;
        rows.collect::<Result<_, _>>()?
    };
    db.0.prepare_cached(
        "DELETE FROM media_downloads
          WHERE media_id IN (SELECT id FROM message_media WHERE interaction_id = ?1)",
    )?
    .execute([interaction_id])?;
    db.0.prepare_cached("DELETE FROM message_media WHERE interaction_id = ?1")?
        .execute([interaction_id])?;
    Ok(files)
}
