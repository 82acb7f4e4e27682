//! The `signals` table (R24): what the business tells Meta besides messages (reactions, read
//! receipts, typing indicators), waiting for the Cloud API like the outbox's messages.

use super::{Db, StoreResult};
use crate::domain::customer::{CustomerIdentity, Recipient};
use rusqlite::params;

/// What a signal says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SignalKind {
    Reaction,
    Read,
    Typing,
}

impl SignalKind {
    fn as_str(self) -> &'static str {
        match self {
            SignalKind::Reaction => "reaction",
            SignalKind::Read => "read",
            SignalKind::Typing => "typing",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        match s {
            "reaction" => Some(SignalKind::Reaction),
            "read" => Some(SignalKind::Read),
            "typing" => Some(SignalKind::Typing),
            _ => None,
        }
    }
}

/// A signal that is due, with what sending it takes.
#[derive(Debug, Clone)]
pub struct DueSignal {
    pub id: i64,
    pub kind: Option<SignalKind>,
    pub attempts: u32,
    pub emoji: String,
    /// The wamid of the message it is about; None while that message is not sent yet.
    pub wamid: Option<String>,
    /// That message failed (or is gone): it will never have a wamid.
    pub message_lost: bool,
    pub to: Option<Recipient>,
    pub phone_number_id: Option<String>,
    pub access_token: String,
    /// A typing indicator past its time is dropped, not sent.
    pub expired: bool,
}

/// Queues a signal about `message_id`, due at once.
pub fn enqueue(
    db: &Db,
    interaction_id: i64,
    kind: SignalKind,
    message_id: i64,
    emoji: Option<&str>,
    expires_at: Option<i64>,
    now: i64,
) -> StoreResult<()> {
    db.0.prepare_cached(
        "INSERT INTO signals (interaction_id, kind, message_id, emoji, next_attempt_at, expires_at, created_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?5)",
    )?
    .execute(params![
        interaction_id,
        kind.as_str(),
        message_id,
        emoji,
        now,
        expires_at
    ])?;
    Ok(())
}

/// Signals due now, oldest first.
pub fn due(db: &Db, now: i64, limit: i64) -> StoreResult<Vec<DueSignal>> {
    let mut stmt = db.0.prepare_cached(
        "SELECT s.id, s.kind, s.attempts, COALESCE(s.emoji, ''), m.wamid, i.customer_phone,
                i.customer_user_id, c.phone_number_id, c.access_token, c.deleted,
                s.expires_at IS NOT NULL AND s.expires_at < ?1,
                m.id IS NULL OR COALESCE(m.status, '') = 'failed'
           FROM signals s
           LEFT JOIN messages m ON m.id = s.message_id
           LEFT JOIN interactions i ON i.id = s.interaction_id
           LEFT JOIN channels c ON c.id = i.channel_id
          WHERE s.next_attempt_at <= ?1
          ORDER BY s.id LIMIT ?2",
    )?;
    let rows = stmt.query_map(params![now, limit], |r| {
        let kind: String = r.get(1)?;
        let deleted: Option<bool> = r.get(9)?;
        Ok(DueSignal {
            id: r.get(0)?,
            kind: SignalKind::parse(&kind),
            attempts: r.get::<_, i64>(2)?.clamp(0, u32::MAX as i64) as u32,
            emoji: r.get(3)?,
            wamid: r.get(4)?,
            to: CustomerIdentity {
                phone: r.get(5)?,
                user_id: r.get(6)?,
                username: None,
            }
            .recipient(),
            phone_number_id: r
                .get::<_, Option<String>>(7)?
                .filter(|_| deleted == Some(false)),
            access_token: r.get::<_, Option<String>>(8)?.unwrap_or_default(),
            expired: r.get(10)?,
            message_lost: r.get(11)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Sent, refused for good, or nothing to send any more: the signal leaves.
pub fn remove(db: &Db, id: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM signals WHERE id = ?1")?
        .execute([id])?;
    Ok(())
}

/// Try again at `retry_at`.
pub fn retry_later(db: &Db, id: i64, retry_at: i64, reason: &str) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE signals SET attempts = attempts + 1, next_attempt_at = ?2, last_error = ?3
          WHERE id = ?1",
    )?
    .execute(params![id, retry_at, reason])?;
    Ok(())
}
