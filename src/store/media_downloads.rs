//! The `media_downloads` table (R22): inbound media waiting to be fetched from Meta, one row
//! per file, with its tries, the next one's time and the last error. It survives `kill -9`;
//! the wamid deduplication of `messages` never reads or changes it.

use super::{media, Db, StoreResult};
use crate::domain::media::Media;
use rusqlite::params;

/// Queues the fetch of a customer's file, due at once.
pub fn enqueue(db: &Db, media_id: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "INSERT OR IGNORE INTO media_downloads (media_id, attempts, next_attempt_at, created_at)
         VALUES (?1, 0, ?2, ?2)",
    )?
    .execute(params![media_id, now])?;
    Ok(())
}

/// A fetch that is due, with what it takes.
#[derive(Debug, Clone)]
pub struct DueDownload {
    pub media_id: i64,
    pub message_id: i64,
    pub interaction_id: i64,
    pub attempts: u32,
    pub wa_media_id: String,
    /// As the webhook declared them.
    pub mime_type: Option<String>,
    pub sha256: Option<String>,
    /// The channel's Cloud API token; `None` when the channel is gone.
    pub access_token: Option<String>,
}

/// Due fetches, oldest first.
pub fn due(db: &Db, now: i64, limit: i64) -> StoreResult<Vec<DueDownload>> {
    let mut stmt = db.0.prepare_cached(
        "SELECT d.media_id, mm.message_id, mm.interaction_id, d.attempts, mm.wa_media_id,
                mm.mime_type, mm.sha256, c.access_token, c.deleted
           FROM media_downloads d
           JOIN message_media mm ON mm.id = d.media_id
           LEFT JOIN interactions i ON i.id = mm.interaction_id
           LEFT JOIN channels c ON c.id = i.channel_id
          WHERE d.next_attempt_at <= ?1
          ORDER BY d.next_attempt_at, d.media_id
          LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        let deleted: Option<bool> = r.get(8)?;
        Ok(DueDownload {
            media_id: r.get(0)?,
            message_id: r.get(1)?,
            interaction_id: r.get(2)?,
            attempts: r.get::<_, i64>(3)?.clamp(0, u32::MAX as i64) as u32,
            wa_media_id: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            mime_type: r.get(5)?,
            sha256: r.get(6)?,
            access_token: match deleted {
                Some(false) => r.get(7)?,
                _ => None,
            },
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// How one try of a fetch ended.
#[derive(Debug, Clone, PartialEq)]
pub enum Fetched {
    /// Stored under `media.path` at `file` (relative), checked.
    Stored {
        file: String,
        size: i64,
        sha256_hex: String,
        mime_type: Option<String>,
    },
    /// Try again at `retry_at`; `counts` is false when the fault was ours (a full disk),
    /// which does not use up a try.
    Retry {
        reason: String,
        counts: bool,
        retry_at: i64,
    },
    /// Never: the media is `failed` with this reason.
    Failed(String),
}

/// Commits a try's outcome. Returns the media as agents now see it when it became `ready` or
/// `failed` (to announce), `None` while it waits for another try.
pub fn settle(db: &Db, media_id: i64, fetched: &Fetched, now: i64) -> StoreResult<Option<Media>> {
    let remove = |db: &Db| -> StoreResult<()> {
        db.0.prepare_cached("DELETE FROM media_downloads WHERE media_id = ?1")?
            .execute([media_id])?;
        Ok(())
    };
    match fetched {
        Fetched::Stored {
            file,
            size,
            sha256_hex,
            mime_type,
        } => {
            media::mark_ready(
                db,
                media_id,
                file,
                *size,
                sha256_hex,
                mime_type.as_deref(),
                now,
            )?;
            remove(db)?;
        }
        Fetched::Failed(error) => {
            media::mark_failed(db, media_id, error, now)?;
            remove(db)?;
        }
        Fetched::Retry {
            reason,
            counts,
            retry_at,
        } => {
            db.0.prepare_cached(
                "UPDATE media_downloads
                    SET attempts = attempts + ?1, next_attempt_at = ?2, last_error = ?3
                  WHERE media_id = ?4",
            )?
            .execute(params![i64::from(*counts), retry_at, reason, media_id])?;
            media::note_error(db, media_id, reason, now)?;
            return Ok(None);
        }
    }
    let message_id: Option<i64> =
        db.0.prepare_cached("SELECT message_id FROM message_media WHERE id = ?1")?
            .query_row([media_id], |r| r.get(0))
            .ok();
    match message_id {
        Some(message_id) => media::for_message(db, message_id),
        None => Ok(None),
    }
}

/// Files waiting to be fetched, and the oldest one's age in ms (for metrics and readiness).
pub fn backlog(db: &Db, now: i64) -> StoreResult<(i64, i64)> {
    Ok(db
        .0
        .prepare_cached("SELECT COUNT(*), COALESCE(?1 - MIN(created_at), 0) FROM media_downloads")?
        .query_row([now], |r| Ok((r.get(0)?, r.get(1)?)))?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{MediaState, MessageKind};
    use crate::store::deliveries::tests::db_with_outbound;
    use crate::store::messages;

    #[test]
    fn a_download_job_is_due_retried_then_settled_ready() {
        let conn = db_with_outbound(&[]);
        let db = Db(&conn);
        conn.execute(
            "INSERT INTO messages(interaction_id, direction, author_kind, author_name, kind, text,
                                  media_id, wamid, sent_at, created_at, updated_at)
             VALUES (7, 'in', 'customer', 'Ann', 'image', '[image]', 'M1', 'wamid.1', 0, 0, 0)",
            [],
        )
        .unwrap();
        let message_id = conn.last_insert_rowid();
        let row = media::NewInbound {
            message_id,
            interaction_id: 7,
            kind: MessageKind::Image,
            wa_media_id: "M1",
            mime_type: Some("image/jpeg"),
            sha256: Some("aGVsbG8="),
            filename: None,
            caption: None,
        };
        let pending = media::insert_inbound(&db, &row, 10).unwrap();
        enqueue(&db, pending.id, 10).unwrap();
        enqueue(&db, pending.id, 10).unwrap(); // once only

        let due_now = due(&db, 10, 10).unwrap();
        assert_eq!(due_now.len(), 1);
        let job = &due_now[0];
        assert_eq!(
            (job.message_id, job.wa_media_id.as_str()),
            (message_id, "M1")
        );
        assert_eq!(job.access_token.as_deref(), Some("token"));
        assert_eq!(job.sha256.as_deref(), Some("aGVsbG8="));

        // A failed try waits; a full disk does not use up a try.
        let retry = Fetched::Retry {
            reason: "HTTP 500".into(),
            counts: true,
            retry_at: 500,
        };
        assert_eq!(settle(&db, pending.id, &retry, 20).unwrap(), None);
        let disk = Fetched::Retry {
            reason: "disk full".into(),
            counts: false,
            retry_at: 900,
        };
        assert_eq!(settle(&db, pending.id, &disk, 30).unwrap(), None);
        assert!(due(&db, 899, 10).unwrap().is_empty());
        assert_eq!(due(&db, 900, 10).unwrap()[0].attempts, 1);
        let shown = messages::for_interaction(&db, 7).unwrap();
        let m = shown[0].media.as_ref().unwrap();
        assert_eq!(
            (m.state, m.url.as_deref(), m.error.as_deref()),
            (MediaState::Pending, None, Some("disk full"))
        );

        let stored = Fetched::Stored {
            file: "2026/01/abc".into(),
            size: 5,
            sha256_hex: "2cf2".into(),
            mime_type: Some("image/jpeg".into()),
        };
        let ready = settle(&db, pending.id, &stored, 40).unwrap().unwrap();
        assert_eq!(ready.state, MediaState::Ready);
        assert_eq!(ready.url, Some(format!("/api/v1/media/{}", pending.id)));
        assert_eq!((ready.size, ready.error), (Some(5), None));
        assert!(
            due(&db, i64::MAX, 10).unwrap().is_empty(),
            "the job is gone"
        );
        let (file, _) = media::load(&db, pending.id).unwrap().unwrap();
        assert_eq!(
            (file.interaction_id, file.file.as_deref()),
            (7, Some("2026/01/abc"))
        );
        assert_eq!(
            media::delete_for_interaction(&db, 7).unwrap(),
            vec!["2026/01/abc".to_string()]
        );
        assert!(media::load(&db, pending.id).unwrap().is_none());
    }
}
