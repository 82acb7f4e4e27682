//! The `messages` table: the transcripts. Customer messages (R1, R12), agent messages queued
//! for the WhatsApp outbox (R6) and system notes; one row mapper for every reader.

use super::{media, Db, StoreResult};
use crate::domain::message::{Author, CustomerChange, Message, Reaction, ReplyTo, TemplateRef};
use crate::domain::{AuthorKind, Direction, MessageKind, MessageStatus};
use rusqlite::{params, OptionalExtension};

/// A customer message as the webhook delivered it.
pub struct CustomerMessage<'a> {
    pub wamid: &'a str,
    /// Who wrote: the customer's WhatsApp id (number digits), else their BSUID (R21).
    pub from: Option<&'a str>,
    pub author_name: &'a str,
    pub kind: MessageKind,
    pub text: &'a str,
    pub media_id: Option<&'a str>,
    pub sent_at: i64,
    /// The wamid of the message it answers (`context.id`), if any (R24).
    pub reply_to_wamid: Option<&'a str>,
}

/// True when a message with this WhatsApp id is stored already (R12).
pub fn wamid_exists(db: &Db, wamid: &str) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM messages WHERE wamid = ?1)")?
        .query_row([wamid], |r| r.get(0))?)
}

/// The message a reply quotes, by its wamid: our id and the text shown for it. Unknown
/// wamids (older than retention, say) still give a quote, with no id.
fn quoted_by_wamid(db: &Db, wamid: &str) -> StoreResult<ReplyTo> {
    let found: Option<(i64, String, Option<i64>)> =
        db.0.prepare_cached("SELECT id, text, deleted_at FROM messages WHERE wamid = ?1")?
            .query_row([wamid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
    Ok(match found {
        Some((id, _, Some(_))) => ReplyTo {
            message_id: Some(id),
            text: String::new(),
        },
        Some((id, text, None)) => ReplyTo {
            message_id: Some(id),
            text,
        },
        None => ReplyTo {
            message_id: None,
            text: String::new(),
        },
    })
}

/// The quote of one of this interaction's messages, for an agent's reply; None when the
/// message is not in the interaction.
pub fn quoted_in(db: &Db, interaction_id: i64, message_id: i64) -> StoreResult<Option<ReplyTo>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT id, CASE WHEN deleted_at IS NULL THEN text ELSE '' END
               FROM messages WHERE id = ?1 AND interaction_id = ?2 AND direction <> 'system'",
        )?
        .query_row(params![message_id, interaction_id], |r| {
            Ok(ReplyTo {
                message_id: Some(r.get(0)?),
                text: r.get(1)?,
            })
        })
        .optional()?)
}

/// Appends a customer message to the transcript.
pub fn insert_customer(
    db: &Db,
    interaction_id: i64,
    m: &CustomerMessage,
    now: i64,
) -> StoreResult<Message> {
    let reply_to = match m.reply_to_wamid {
        Some(w) => Some(quoted_by_wamid(db, w)?),
        None => None,
    };
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, media_id, wamid, status, error, sent_at, created_at, updated_at,
            reply_to_id, reply_to_wamid)
         VALUES (?1, 'in', 'customer', ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?8, ?9, ?9, ?10, ?11)",
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
        now,
        reply_to.as_ref().and_then(|r| r.message_id),
        m.reply_to_wamid,
    ])?;
    let mut message = Message::plain(
        db.0.last_insert_rowid(),
        Direction::In,
        Author {
            kind: AuthorKind::Customer,
            id: m.from.map(str::to_string),
            name: m.author_name.to_string(),
        },
        m.text.to_string(),
        m.kind,
        m.media_id.map(str::to_string),
        m.sent_at,
        None,
    );
    message.reply_to = reply_to.map(Box::new);
    Ok(message)
}

/// Appends an agent's text as `queued` (R6); the caller queues it in the outbox
/// ([`super::outbox::enqueue`]) in the same transaction. `reply_to` is a message of the
/// same interaction (checked with [`quoted_in`]).
pub fn insert_agent_text(
    db: &Db,
    interaction_id: i64,
    agent_id: i64,
    author_name: &str,
    text: &str,
    reply_to: Option<ReplyTo>,
    now: i64,
) -> StoreResult<Message> {
    insert_agent(
        db,
        interaction_id,
        agent_id,
        author_name,
        MessageKind::Text,
        text,
        reply_to,
        now,
    )
}

/// Appends an agent's message of `kind` as `queued` (R6): text, or an attachment whose
/// `text` is its caption or description (R22; the caller adds its `message_media` row),
/// quoting `reply_to` (R24) when given.
#[allow(clippy::too_many_arguments)]
pub fn insert_agent(
    db: &Db,
    interaction_id: i64,
    agent_id: i64,
    author_name: &str,
    kind: MessageKind,
    text: &str,
    reply_to: Option<ReplyTo>,
    now: i64,
) -> StoreResult<Message> {
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, status, sent_at, created_at, updated_at, reply_to_id)
         VALUES (?1, 'out', 'agent', ?2, ?3, ?4, ?5, 'queued', ?6, ?6, ?6, ?7)",
    )?
    .execute(params![
        interaction_id,
        agent_id.to_string(),
        author_name,
        kind,
        text,
        now,
        reply_to.as_ref().and_then(|r| r.message_id),
    ])?;
    let mut message = Message::plain(
        db.0.last_insert_rowid(),
        Direction::Out,
        Author {
            kind: AuthorKind::Agent,
            id: Some(agent_id.to_string()),
            name: author_name.to_string(),
        },
        text.to_string(),
        kind,
        None,
        now,
        Some(MessageStatus::Queued),
    );
    message.reply_to = reply_to.map(Box::new);
    Ok(message)
}

/// Appends an outbound message that is not text (R23 a template, R28 a survey) as `queued`:
/// `text` is what the customer sees, `payload` the Cloud API's object for it, sent as it is.
/// The caller queues it in the outbox in the same transaction. `agent` is None for a
/// message the system sends (the survey).
pub fn insert_outbound_payload(
    db: &Db,
    interaction_id: i64,
    agent: Option<(i64, &str)>,
    kind: MessageKind,
    text: &str,
    payload: &serde_json::Value,
    now: i64,
) -> StoreResult<Message> {
    let author = match agent {
        Some((id, name)) => Author {
            kind: AuthorKind::Agent,
            id: Some(id.to_string()),
            name: name.to_string(),
        },
        None => Author {
            kind: AuthorKind::System,
            id: None,
            name: "System".into(),
        },
    };
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, status, sent_at, created_at, updated_at, payload)
         VALUES (?1, 'out', ?2, ?3, ?4, ?5, ?6, 'queued', ?7, ?7, ?7, ?8)",
    )?
    .execute(params![
        interaction_id,
        author.kind,
        author.id,
        author.name,
        kind,
        text,
        now,
        payload.to_string(),
    ])?;
    let mut message = Message::plain(
        db.0.last_insert_rowid(),
        Direction::Out,
        author,
        text.to_string(),
        kind,
        None,
        now,
        Some(MessageStatus::Queued),
    );
    message.template = TemplateRef::of_payload(payload).map(Box::new);
    Ok(message)
}

/// R25: an internal note (a whisper) by an agent or supervisor: in the transcript, for agents
/// and supervisors only; never in the outbox.
pub fn insert_note(
    db: &Db,
    interaction_id: i64,
    agent_id: i64,
    author_name: &str,
    text: &str,
    now: i64,
) -> StoreResult<Message> {
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, sent_at, created_at, updated_at, internal)
         VALUES (?1, 'system', 'agent', ?2, ?3, 'text', ?4, ?5, ?5, ?5, 1)",
    )?
    .execute(params![
        interaction_id,
        agent_id.to_string(),
        author_name,
        text,
        now
    ])?;
    Ok(Message::plain(
        db.0.last_insert_rowid(),
        Direction::Internal,
        Author {
            kind: AuthorKind::Agent,
            id: Some(agent_id.to_string()),
            name: author_name.to_string(),
        },
        text.to_string(),
        MessageKind::Text,
        None,
        now,
        None,
    ))
}

/// Appends a text the system sends the customer (R27's closed and greeting messages) as
/// `queued`; the caller queues it in the outbox in the same transaction.
pub fn insert_system_text(
    db: &Db,
    interaction_id: i64,
    text: &str,
    now: i64,
) -> StoreResult<Message> {
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_name, kind,
            text, status, sent_at, created_at, updated_at)
         VALUES (?1, 'out', 'system', 'System', 'text', ?2, 'queued', ?3, ?3, ?3)",
    )?
    .execute(params![interaction_id, text, now])?;
    Ok(Message::plain(
        db.0.last_insert_rowid(),
        Direction::Out,
        Author {
            kind: AuthorKind::System,
            id: None,
            name: "System".into(),
        },
        text.to_string(),
        MessageKind::Text,
        None,
        now,
        Some(MessageStatus::Queued),
    ))
}

/// Adds a system note ("Bob joined the chat") to the transcript.
pub fn insert_system(db: &Db, interaction_id: i64, text: String, now: i64) -> StoreResult<Message> {
    db.0.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_name, kind,
            text, sent_at, created_at, updated_at)
         VALUES (?1, 'system', 'system', 'System', 'text', ?2, ?3, ?3, ?3)",
    )?
    .execute(params![interaction_id, text, now])?;
    Ok(Message::plain(
        db.0.last_insert_rowid(),
        Direction::System,
        Author {
            kind: AuthorKind::System,
            id: None,
            name: "System".into(),
        },
        text,
        MessageKind::Text,
        None,
        now,
        None,
    ))
}

/// The transcript of an interaction, oldest first, with replies and reactions.
pub fn for_interaction(db: &Db, interaction_id: i64) -> StoreResult<Vec<Message>> {
    let mut messages = rows_of(db, interaction_id)?;
    let mut stmt = db.0.prepare_cached(
        "SELECT r.message_id, r.author_kind, r.author_id, r.author_name, r.emoji
           FROM message_reactions r JOIN messages m ON m.id = r.message_id
          WHERE m.interaction_id = ?1 ORDER BY r.updated_at",
    )?;
    let found = stmt.query_map([interaction_id], reaction_row)?;
    for row in found {
        let (message_id, reaction) = row?;
        if let Some(m) = messages.iter_mut().find(|m| m.id == message_id) {
            m.reactions.push(reaction);
        }
    }
    Ok(messages)
}

/// The transcripts of every open interaction, read after a restart (R10): one query for all
/// their reactions rather than one per interaction.
pub fn for_open_interactions(
    db: &Db,
    ids: &[i64],
) -> StoreResult<std::collections::HashMap<i64, Vec<Message>>> {
    let mut reactions: std::collections::HashMap<i64, Vec<Reaction>> = Default::default();
    let mut stmt = db.0.prepare(
        "SELECT r.message_id, r.author_kind, r.author_id, r.author_name, r.emoji
           FROM message_reactions r JOIN messages m ON m.id = r.message_id
           JOIN interactions i ON i.id = m.interaction_id
          WHERE i.state <> 'closed' ORDER BY r.updated_at",
    )?;
    for row in stmt.query_map([], reaction_row)? {
        let (message_id, reaction) = row?;
        reactions.entry(message_id).or_default().push(reaction);
    }
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for &id in ids {
        let mut messages = rows_of(db, id)?;
        if !reactions.is_empty() {
            for m in &mut messages {
                if let Some(r) = reactions.remove(&m.id) {
                    m.reactions = r;
                }
            }
        }
        out.insert(id, messages);
    }
    Ok(out)
}

fn rows_of(db: &Db, interaction_id: i64) -> StoreResult<Vec<Message>> {
    let mut stmt = db.0.prepare_cached(&format!(
        "SELECT {MESSAGE_COLUMNS}, {} FROM messages m
           LEFT JOIN messages q ON q.id = m.reply_to_id
           LEFT JOIN message_media mm ON mm.message_id = m.id
          WHERE m.interaction_id = ?1 ORDER BY m.id",
        media::COLUMNS
    ))?;
    let rows = stmt.query_map([interaction_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

fn reaction_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Reaction)> {
    let kind: String = r.get(1)?;
    Ok((
        r.get::<_, i64>(0)?,
        Reaction {
            emoji: r.get(4)?,
            author: Author {
                kind: AuthorKind::parse(&kind).unwrap_or(AuthorKind::Customer),
                id: r.get(2)?,
                name: r.get(3)?,
            },
        },
    ))
}

/// The columns [`from_row`] reads, from `messages m` left-joined to its quoted `messages q`.
pub const MESSAGE_COLUMNS: &str = "m.id, m.direction, m.author_kind, m.author_id, m.author_name, \
     m.text, m.kind, m.media_id, m.sent_at, m.status, m.error, m.reply_to_id, m.reply_to_wamid, \
     CASE WHEN q.deleted_at IS NULL THEN q.text ELSE '' END, m.original_text, m.edited_at, \
     m.deleted_at, m.payload, m.internal";

/// A `messages` row selected as [`MESSAGE_COLUMNS`]. A value this version does not know
/// (a newer kind, say) reads as the neutral one instead of failing the whole transcript.
pub fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Message> {
    let direction: String = r.get(1)?;
    let author_kind: String = r.get(2)?;
    let kind: String = r.get(6)?;
    let status: Option<String> = r.get(9)?;
    let reply_to_id: Option<i64> = r.get(11)?;
    let reply_to_wamid: Option<String> = r.get(12)?;
    let quoted_text: Option<String> = r.get(13)?;
    let original_text: Option<String> = r.get(14)?;
    let edited_at: Option<i64> = r.get(15)?;
    let deleted_at: Option<i64> = r.get(16)?;
    let text: String = r.get(5)?;
    let mut m = Message::plain(
        r.get(0)?,
        Direction::parse(&direction).unwrap_or(Direction::System),
        Author {
            kind: AuthorKind::parse(&author_kind).unwrap_or(AuthorKind::System),
            id: r.get(3)?,
            name: r.get(4)?,
        },
        text,
        MessageKind::parse(&kind).unwrap_or(MessageKind::Unsupported),
        r.get(7)?,
        r.get(8)?,
        status.as_deref().and_then(MessageStatus::parse),
    );
    m.error = r.get(10)?;
    m.media = media::from_row(r, 19)?.map(Box::new);
    if r.get::<_, bool>(18)? {
        m.direction = Direction::Internal;
    }
    if m.kind == MessageKind::Template {
        let payload: Option<String> = r.get(17)?;
        m.template = payload
            .and_then(|p| serde_json::from_str(&p).ok())
            .and_then(|p| TemplateRef::of_payload(&p))
            .map(Box::new);
    }
    if reply_to_id.is_some() || reply_to_wamid.is_some() {
        m.reply_to = Some(Box::new(ReplyTo {
            message_id: reply_to_id,
            text: quoted_text.unwrap_or_default(),
        }));
    }
    m.original_text = original_text;
    m.edited = edited_at.is_some();
    if deleted_at.is_some() {
        if m.original_text.is_none() {
            m.original_text = Some(std::mem::take(&mut m.text));
        }
        m.text.clear();
        m.media = None;
        m.deleted = true;
    }
    Ok(m)
}

/// A customer message named by its wamid: (message id, interaction id).
pub fn inbound_by_wamid(db: &Db, wamid: &str) -> StoreResult<Option<(i64, i64)>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT id, interaction_id FROM messages WHERE wamid = ?1 AND direction = 'in'",
        )?
        .query_row([wamid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Any message (ours or the customer's) named by its wamid: (message id, interaction id).
pub fn by_wamid(db: &Db, wamid: &str) -> StoreResult<Option<(i64, i64)>> {
    Ok(db
        .0
        .prepare_cached("SELECT id, interaction_id FROM messages WHERE wamid = ?1")?
        .query_row([wamid], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?)
}

/// Sets `author`'s reaction to a message; an empty emoji removes it.
pub fn set_reaction(
    db: &Db,
    message_id: i64,
    author: &Author,
    emoji: &str,
    now: i64,
) -> StoreResult<()> {
    let author_id = author.id.clone().unwrap_or_default();
    if emoji.is_empty() {
        db.0.prepare_cached(
            "DELETE FROM message_reactions
              WHERE message_id = ?1 AND author_kind = ?2 AND author_id = ?3",
        )?
        .execute(params![message_id, author.kind, author_id])?;
    } else {
        db.0.prepare_cached(
            "INSERT INTO message_reactions (message_id, author_kind, author_id, author_name, emoji, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(message_id, author_kind, author_id)
             DO UPDATE SET emoji = excluded.emoji, author_name = excluded.author_name,
                           updated_at = excluded.updated_at",
        )?
        .execute(params![message_id, author.kind, author_id, author.name, emoji, now])?;
    }
    Ok(())
}

/// The customer edited a message: the new text is shown, the first one kept.
pub fn edit(db: &Db, message_id: i64, text: &str, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE messages SET original_text = COALESCE(original_text, text), text = ?2,
                edited_at = ?3, updated_at = ?3
          WHERE id = ?1",
    )?
    .execute(params![message_id, text, now])?;
    Ok(())
}

/// The customer deleted a message: kept for the record, no longer shown.
pub fn delete(db: &Db, message_id: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE messages SET deleted_at = COALESCE(deleted_at, ?2), updated_at = ?2 WHERE id = ?1",
    )?
    .execute(params![message_id, now])?;
    Ok(())
}

/// The newest customer message of the interaction with a wamid: (id, wamid, read receipt
/// already committed).
pub fn newest_inbound(db: &Db, interaction_id: i64) -> StoreResult<Option<(i64, String, bool)>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT id, wamid, read_sent_at IS NOT NULL FROM messages
              WHERE interaction_id = ?1 AND direction = 'in' AND wamid IS NOT NULL
              ORDER BY id DESC LIMIT 1",
        )?
        .query_row([interaction_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .optional()?)
}

/// The read receipt for this customer message (and the earlier ones) is committed.
pub fn mark_read_sent(db: &Db, message_id: i64, now: i64) -> StoreResult<()> {
    db.0.prepare_cached("UPDATE messages SET read_sent_at = ?2 WHERE id = ?1")?
        .execute(params![message_id, now])?;
    Ok(())
}

/// A customer's reaction, edit or deletion of the message `target` (a wamid), stored (R24).
/// Answers (message id, interaction id) of the message, or None when no message has that
/// wamid (nothing to change).
pub fn apply_customer_change(
    db: &Db,
    target: &str,
    author: &Author,
    change: &CustomerChange,
    now: i64,
) -> StoreResult<Option<(i64, i64)>> {
    let Some((message_id, interaction_id)) = by_wamid(db, target)? else {
        return Ok(None);
    };
    match change {
        CustomerChange::Reaction(emoji) => set_reaction(db, message_id, author, emoji, now)?,
        CustomerChange::Edit(text) => edit(db, message_id, text, now)?,
        CustomerChange::Revoke => delete(db, message_id, now)?,
    }
    Ok(Some((message_id, interaction_id)))
}
