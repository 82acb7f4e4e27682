//! The WhatsApp outbox (`outbox`): agents' messages waiting for the Cloud API's answer (R6),
//! one row per message until it is sent, failed or dropped.

use super::deliveries;
use super::{Db, StoreResult};
use crate::domain::customer::{CustomerIdentity, Recipient};
use crate::domain::{MessageKind, MessageStatus};
use rusqlite::params;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DueState {
    Ready,
    /// The message row is gone (or failed already): nothing to send, the outbox row is dropped.
    MessageGone,
    /// The channel (or its interaction) is deleted: the message fails.
    ChannelGone,
}

/// An outbox row that is due, with what sending it takes.
#[derive(Debug, Clone)]
pub struct DueMessage {
    pub message_id: i64,
    pub interaction_id: i64,
    pub attempts: u32,
    pub text: String,
    /// Where the reply goes (R21): the customer's number, else their BSUID; None when the
    /// interaction row is gone.
    pub to: Option<Recipient>,
    pub phone_number_id: String,
    pub access_token: String,
    pub state: DueState,
    /// The wamid of the message this one answers (R24 `context`), when it has one.
    pub reply_to_wamid: Option<String>,
    /// An agent's attachment (R22): uploaded to Meta first, then sent by its media id.
    pub media: Option<OutboundMedia>,
    /// A template (R23) or interactive (R28) message: the Cloud API's object, sent as it is.
    pub payload: Option<serde_json::Value>,
}

/// The file of an outbound media message.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundMedia {
    pub media_id: i64,
    pub kind: MessageKind,
    pub mime_type: String,
    /// Relative to `media.path`.
    pub file: String,
    pub filename: Option<String>,
    pub caption: Option<String>,
    /// Meta's id once uploaded: a retried send does not upload again.
    pub wa_media_id: Option<String>,
}

/// How a send ended, as far as the outbox is concerned.
#[derive(Debug, Clone, PartialEq)]
pub enum Finish {
    /// Accepted by the Cloud API, with the wamid its status webhooks will name.
    Sent(Option<String>),
    /// Sandbox: handed to the built-in simulator, which reads it from the database.
    Sandbox,
    /// Try again later (network, 5xx, 429, throttling).
    Retry(String),
    /// Refused for good, with the API's error text.
    Failed(String),
    /// Nothing to send any more.
    Drop,
}

/// Queues a stored outbound message for sending, due at once.
pub fn enqueue(db: &Db, message_id: i64, interaction_id: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "INSERT INTO outbox (message_id, interaction_id, attempts, next_attempt_at) \
         VALUES (?1, ?2, 0, ?3)",
    )?
    .execute(params![message_id, interaction_id, now])?;
    Ok(())
}

/// The head (oldest) row of each interaction that is due, oldest first: a message waiting for
/// a retry holds back the later ones, so a conversation keeps its order.
pub fn due(db: &Db, now: i64, limit: i64) -> StoreResult<Vec<DueMessage>> {
    let mut stmt = db.0.prepare_cached(
        "WITH heads AS (SELECT MIN(message_id) AS message_id FROM outbox GROUP BY interaction_id)
         SELECT o.message_id, o.interaction_id, o.attempts, m.id, m.text, m.status,
                i.customer_phone, c.phone_number_id, c.access_token, c.deleted, i.customer_user_id,
                q.wamid,
                mm.id, mm.kind, mm.mime_type, mm.file, mm.filename, mm.caption, mm.wa_media_id,
                m.payload
           FROM heads h
           JOIN outbox o ON o.message_id = h.message_id
           LEFT JOIN messages m ON m.id = o.message_id
           LEFT JOIN messages q ON q.id = m.reply_to_id
           LEFT JOIN interactions i ON i.id = o.interaction_id
           LEFT JOIN channels c ON c.id = i.channel_id
           LEFT JOIN message_media mm ON mm.message_id = o.message_id AND mm.direction = 'out'
          WHERE o.next_attempt_at <= ?1
          ORDER BY o.message_id
          LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        let message: Option<i64> = r.get(3)?;
        let status: Option<String> = r.get(5)?;
        let phone_number_id: Option<String> = r.get(7)?;
        let deleted: Option<bool> = r.get(9)?;
        let state = if message.is_none() || status.as_deref() == Some("failed") {
            DueState::MessageGone
        } else if phone_number_id.is_none() || deleted != Some(false) {
            DueState::ChannelGone
        } else {
            DueState::Ready
        };
        Ok(DueMessage {
            message_id: r.get(0)?,
            interaction_id: r.get(1)?,
            attempts: r.get::<_, i64>(2)?.clamp(0, u32::MAX as i64) as u32,
            text: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            to: CustomerIdentity {
                phone: r.get(6)?,
                user_id: r.get(10)?,
                username: None,
            }
            .recipient(),
            phone_number_id: phone_number_id.unwrap_or_default(),
            access_token: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
            state,
            reply_to_wamid: r.get(11)?,
            media: match r.get::<_, Option<i64>>(12)? {
                Some(media_id) => Some(OutboundMedia {
                    media_id,
                    kind: MessageKind::parse(&r.get::<_, String>(13)?)
                        .unwrap_or(MessageKind::Document),
                    mime_type: r
                        .get::<_, Option<String>>(14)?
                        .unwrap_or_else(|| "application/octet-stream".into()),
                    file: r.get::<_, Option<String>>(15)?.unwrap_or_default(),
                    filename: r.get(16)?,
                    caption: r.get(17)?,
                    wa_media_id: r.get(18)?,
                }),
                None => None,
            },
            payload: r
                .get::<_, Option<String>>(19)?
                .and_then(|p| serde_json::from_str(&p).ok()),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn remove(db: &Db, message_id: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM outbox WHERE message_id = ?1")?
        .execute([message_id])?;
    Ok(())
}

fn retry_later(db: &Db, message_id: i64, retry_at: i64, reason: &str) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?1, last_error = ?2
          WHERE message_id = ?3",
    )?
    .execute(params![retry_at, reason, message_id])?;
    Ok(())
}

/// Commits a send's outcome: the message's status moves on (never backwards) and its row
/// leaves, or waits until `retry_at`. Returns the status changes to announce, in order.
pub fn settle(
    db: &Db,
    message_id: i64,
    finish: &Finish,
    now: i64,
    retry_at: i64,
) -> StoreResult<Vec<(MessageStatus, Option<String>)>> {
    let Some(mut delivery) = deliveries::by_id(db, message_id)? else {
        remove(db, message_id)?;
        return Ok(Vec::new());
    };
    let mut changes = Vec::new();
    let mut advance = |next: MessageStatus, error: Option<String>| -> StoreResult<()> {
        if deliveries::advance(db, &mut delivery, next, error.as_deref(), now)? {
            changes.push((next, error));
        }
        Ok(())
    };
    let record_wamid = |wamid: &str| -> StoreResult<()> {
        if !deliveries::record_wamid(db, message_id, wamid)? {
            tracing::warn!(message_id, %wamid, "wamid not recorded (already set or used)");
        }
        Ok(())
    };
    match finish {
        Finish::Sent(wamid) => {
            if let Some(wamid) = wamid {
                record_wamid(wamid)?;
            }
            advance(MessageStatus::Sent, None)?;
            // Statuses the webhook brought before this answer named the wamid (R24).
            if let Some(wamid) = wamid {
                for (status, error, pricing) in deliveries::take_early(db, wamid, now)? {
                    deliveries::record_pricing(db, message_id, &pricing)?;
                    advance(status, error)?;
                }
            }
            remove(db, message_id)?;
        }
        Finish::Sandbox => {
            record_wamid(&format!("sandbox.{message_id}"))?;
            advance(MessageStatus::Sent, None)?;
            advance(MessageStatus::Delivered, None)?;
            remove(db, message_id)?;
        }
        Finish::Retry(reason) => retry_later(db, message_id, retry_at, reason)?,
        Finish::Failed(error) => {
            advance(MessageStatus::Failed, Some(error.clone()))?;
            remove(db, message_id)?;
        }
        Finish::Drop => remove(db, message_id)?,
    }
    Ok(changes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::deliveries::tests::db_with_outbound;
    use rusqlite::Connection;

    fn queue_outbound(conn: &Connection, text: &str, next_attempt_at: i64) -> i64 {
        conn.execute(
            "INSERT INTO messages(interaction_id, direction, author_kind, author_name, kind, text, status,
                                  sent_at, created_at, updated_at)
             VALUES (7, 'out', 'agent', 'Agent', 'text', ?1, 'queued', 0, 0, 0)",
            [text],
        )
        .unwrap();
        let id = conn.last_insert_rowid();
        conn.execute(
            "INSERT INTO outbox(message_id, interaction_id, next_attempt_at) VALUES (?1, 7, ?2)",
            params![id, next_attempt_at],
        )
        .unwrap();
        id
    }

    fn message(conn: &Connection, id: i64) -> (String, Option<String>, Option<String>) {
        conn.query_row(
            "SELECT status, wamid, error FROM messages WHERE id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
    }

    fn outbox_len(conn: &Connection) -> i64 {
        conn.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn only_the_head_of_each_conversation_is_due() {
        let conn = db_with_outbound(&[]);
        let db = Db(&conn);
        let first = queue_outbound(&conn, "one", 0);
        let _second = queue_outbound(&conn, "two", 0);
        let jobs = due(&db, 10, 10).unwrap();
        assert_eq!(jobs.len(), 1);
        assert_eq!((jobs[0].message_id, jobs[0].text.as_str()), (first, "one"));
        assert_eq!(jobs[0].to, Some(Recipient::Phone("447700900001".into())));
        assert_eq!(jobs[0].phone_number_id, "PN1");
        assert_eq!(jobs[0].state, DueState::Ready);

        // The head waits for a retry: the later message waits too.
        settle(&db, first, &Finish::Retry("HTTP 503".into()), 10, 5_000).unwrap();
        assert!(due(&db, 10, 10).unwrap().is_empty());
        let jobs = due(&db, 5_000, 10).unwrap();
        assert_eq!((jobs[0].message_id, jobs[0].attempts), (first, 1));

        conn.execute("UPDATE channels SET deleted = 1", []).unwrap();
        assert_eq!(due(&db, 5_000, 10).unwrap()[0].state, DueState::ChannelGone);
    }

    #[test]
    fn an_attachment_comes_with_its_file_and_its_upload_once_done() {
        let conn = db_with_outbound(&[]);
        let db = Db(&conn);
        let id = queue_outbound(&conn, "[document: a.pdf]", 0);
        let row = crate::store::media::NewOutbound {
            message_id: id,
            interaction_id: 7,
            kind: MessageKind::Document,
            mime_type: "application/pdf",
            size: 3,
            sha256: "abc",
            filename: Some("a.pdf"),
            caption: None,
            file: "2026/01/f",
        };
        let media = crate::store::media::insert_outbound(&db, &row, 0).unwrap();
        let job = &due(&db, 10, 10).unwrap()[0];
        let m = job.media.clone().expect("the file");
        assert_eq!(
            (m.kind, m.file.as_str(), m.filename.as_deref()),
            (MessageKind::Document, "2026/01/f", Some("a.pdf"))
        );
        assert_eq!(m.wa_media_id, None);
        crate::store::media::record_upload(&db, media.id, "WA1", 5).unwrap();
        let job = &due(&db, 10, 10).unwrap()[0];
        assert_eq!(
            job.media.as_ref().unwrap().wa_media_id.as_deref(),
            Some("WA1")
        );
    }

    #[test]
    fn sent_does_not_override_a_later_status() {
        let conn = db_with_outbound(&[]);
        let db = Db(&conn);
        let id = queue_outbound(&conn, "one", 0);
        let changes = settle(&db, id, &Finish::Sent(Some("wamid.A".into())), 10, 0).unwrap();
        assert_eq!(changes, vec![(MessageStatus::Sent, None)]);
        assert_eq!(
            message(&conn, id),
            ("sent".into(), Some("wamid.A".into()), None)
        );
        assert_eq!(outbox_len(&conn), 0);

        // The delivered webhook won the race: the answer still records the wamid, status stays.
        let id2 = queue_outbound(&conn, "two", 0);
        conn.execute(
            "UPDATE messages SET status = 'delivered' WHERE id = ?1",
            [id2],
        )
        .unwrap();
        let changes = settle(&db, id2, &Finish::Sent(Some("wamid.B".into())), 10, 0).unwrap();
        assert!(changes.is_empty());
        assert_eq!(
            message(&conn, id2),
            ("delivered".into(), Some("wamid.B".into()), None)
        );

        // A reused wamid does not wedge the outbox.
        let id3 = queue_outbound(&conn, "three", 0);
        settle(&db, id3, &Finish::Sent(Some("wamid.B".into())), 10, 0).unwrap();
        assert_eq!(message(&conn, id3), ("sent".into(), None, None));
        assert_eq!(outbox_len(&conn), 0);
    }

    #[test]
    fn sandbox_failed_and_drop() {
        let conn = db_with_outbound(&[]);
        let db = Db(&conn);
        let id = queue_outbound(&conn, "one", 0);
        let changes = settle(&db, id, &Finish::Sandbox, 10, 0).unwrap();
        assert_eq!(
            changes,
            vec![
                (MessageStatus::Sent, None),
                (MessageStatus::Delivered, None)
            ]
        );
        assert_eq!(
            message(&conn, id),
            ("delivered".into(), Some(format!("sandbox.{id}")), None)
        );

        let id = queue_outbound(&conn, "two", 0);
        let changes = settle(&db, id, &Finish::Failed("channel deleted".into()), 10, 0).unwrap();
        assert_eq!(
            changes,
            vec![(MessageStatus::Failed, Some("channel deleted".into()))]
        );
        assert_eq!(
            message(&conn, id),
            ("failed".into(), None, Some("channel deleted".into()))
        );

        let id = queue_outbound(&conn, "three", 0);
        assert!(settle(&db, id, &Finish::Drop, 10, 0).unwrap().is_empty());
        assert_eq!(outbox_len(&conn), 0);
    }
}
