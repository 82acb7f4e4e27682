//! The `messages` table: the transcripts. Customer messages (R1, R12), agent messages queued
//! for the WhatsApp outbox (R6) and system notes; one row mapper for every reader.

use super::{media, Db, StoreResult};
use crate::domain::message::{Author, Message};
use crate::domain::{AuthorKind, Direction, MessageKind, MessageStatus};
use rusqlite::params;

/// A customer message as the webhook delivered it.
pub struct CustomerMessage<'a> {
    pub wamid: &'a str,
    /// The customer's WhatsApp id.
    pub from: &'a str,
    pub author_name: &'a str,
    pub kind: MessageKind,
    pub text: &'a str,
    pub media_id: Option<&'a str>,
    pub sent_at: i64,
}

/// True when a message with this WhatsApp id is stored already (R12).
pub fn wamid_exists(db: &Db, wamid: &str) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM messages WHERE wamid = ?1)")?
        .query_row([wamid], |r| r.get(0))?)
}

/// Appends a customer message to the transcript.
pub fn insert_customer(
    db: &Db,
    interaction_id: i64,
    m: &CustomerMessage,
    now: i64,
) -> StoreResult<Message> {
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, media_id, wamid, status, error, sent_at, created_at, updated_at)
         VALUES (?1, 'in', 'customer', ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?8, ?9, ?9)",
    )?
    .execute(params![
        interaction_id,
        m.from,
        m.author_name,
        m.kind,
        m.text,
        m.media_id,
        m.wamid,
        m.sent_at,
        now
    ])?;
    Ok(Message {
        id: db.0.last_insert_rowid(),
        direction: Direction::In,
        author: Author {
            kind: AuthorKind::Customer,
            id: Some(m.from.to_string()),
            name: m.author_name.to_string(),
        },
        text: m.text.to_string(),
        kind: m.kind,
        media_id: m.media_id.map(str::to_string),
        sent_at: m.sent_at,
        status: None,
        error: None,
        media: None,
    })
}

/// Appends an agent's text as `queued` (R6); the caller queues it in the outbox
/// ([`super::outbox::enqueue`]) in the same transaction.
pub fn insert_agent_text(
    db: &Db,
    interaction_id: i64,
    agent_id: i64,
    author_name: &str,
    text: &str,
    now: i64,
) -> StoreResult<Message> {
    insert_agent(
        db,
        interaction_id,
        agent_id,
        author_name,
        MessageKind::Text,
        text,
        now,
    )
}

/// Appends an agent's message of `kind` as `queued` (R6): text, or an attachment whose
/// `text` is its caption or description (R22; the caller adds its `message_media` row).
pub fn insert_agent(
    db: &Db,
    interaction_id: i64,
    agent_id: i64,
    author_name: &str,
    kind: MessageKind,
    text: &str,
    now: i64,
) -> StoreResult<Message> {
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, status, sent_at, created_at, updated_at)
         VALUES (?1, 'out', 'agent', ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?6)",
    )?
    .execute(params![
        interaction_id,
        agent_id.to_string(),
        author_name,
        kind,
        text,
        now
    ])?;
    let message_id = db.0.last_insert_rowid();
    Ok(Message {
        id: message_id,
        direction: Direction::Out,
        author: Author {
            kind: AuthorKind::Agent,
            id: Some(agent_id.to_string()),
            name: author_name.to_string(),
        },
        text: text.to_string(),
        kind,
        media_id: None,
        sent_at: now,
        status: Some(MessageStatus::Queued),
        error: None,
        media: None,
    })
}

/// Adds a system note ("Bob joined the chat") to the transcript.
pub fn insert_system(db: &Db, interaction_id: i64, text: String, now: i64) -> StoreResult<Message> {
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_name, kind,
            text, sent_at, created_at, updated_at)
         VALUES (?1, 'system', 'system', 'System', 'text', ?2, ?3, ?3, ?3)",
    )?
    .execute(params![interaction_id, text, now])?;
    Ok(Message {
        id: db.0.last_insert_rowid(),
        direction: Direction::System,
        author: Author {
            kind: AuthorKind::System,
            id: None,
            name: "System".into(),
        },
        text,
        kind: MessageKind::Text,
        media_id: None,
        sent_at: now,
        status: None,
        error: None,
        media: None,
    })
}

/// The transcript of an interaction, oldest first.
pub fn for_interaction(db: &Db, interaction_id: i64) -> StoreResult<Vec<Message>> {
    let sql = format!(
        "SELECT m.id, m.direction, m.author_kind, m.author_id, m.author_name, m.text, m.kind,
                m.media_id, m.sent_at, m.status, m.error, {}
         FROM messages m LEFT JOIN message_media mm ON mm.message_id = m.id
         WHERE m.interaction_id = ?1 ORDER BY m.id",
        media::COLUMNS
    );
    let mut stmt = db.0.prepare_cached(&sql)?;
    let rows = stmt.query_map([interaction_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A `messages` row selected as in [`for_interaction`]. A value this version does not know
/// (a newer kind, say) reads as the neutral one instead of failing the whole transcript.
pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    let direction: String = r.get(1)?;
    let author_kind: String = r.get(2)?;
    let kind: String = r.get(6)?;
    let status: Option<String> = r.get(9)?;
    Ok(Message {
        id: r.get(0)?,
        direction: Direction::parse(&direction).unwrap_or(Direction::System),
        author: Author {
            kind: AuthorKind::parse(&author_kind).unwrap_or(AuthorKind::System),
            id: r.get(3)?,
            name: r.get(4)?,
        },
        text: r.get(5)?,
        kind: MessageKind::parse(&kind).unwrap_or(MessageKind::Unsupported),
        media_id: r.get(7)?,
        sent_at: r.get(8)?,
        status: status.as_deref().and_then(MessageStatus::parse),
        error: r.get(10)?,
        media: media::from_row(r, 11)?,
    })
}
