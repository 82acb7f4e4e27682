//! Conversations and call logs as the HTTP API reads them back: interactions with their
//! participants and transcript, activities (call logs), and a customer's own view of the
//! messages (the sandbox simulator).
//!
//! Unknown stored values (a kind or state this build does not know, say after a downgrade)
//! read as a neutral fallback, logged, instead of failing the whole page: a transcript stays
//! readable. Transcripts are read by `store::messages`, the one message mapper, which does the
//! same.

use super::{Db, StoreResult};
use crate::domain::csat::CsatAnswer;
use crate::domain::customer::{CustomerIdentity, CustomerKey};
use crate::domain::message::Message;
use crate::domain::{ConferenceState, InteractionKind, InteractionState, ParticipantRole};
use rusqlite::types::Value;
use rusqlite::{params, OptionalExtension, Row};

fn parse_or<T: Copy>(s: &str, parse: fn(&str) -> Option<T>, fallback: T) -> T {
    parse(s).unwrap_or_else(|| {
        tracing::warn!(value = s, "unknown stored value read as its fallback");
        fallback
    })
}

/// An agent in an interaction now.
#[derive(Debug, Clone)]
pub struct ParticipantRecord {
    pub agent_id: i64,
    pub display_name: String,
    pub role: ParticipantRole,
    pub joined_at: i64,
    pub wrap_up_deadline: Option<i64>,
}

/// The agents in an interaction now (they have not left).
fn participants(db: &Db, interaction_id: i64) -> StoreResult<Vec<ParticipantRecord>> {
    let mut stmt = db.0.prepare_cached(
        "SELECT agent_id, display_name, role, joined_at, wrap_up_deadline \
         FROM interaction_participants \
         WHERE interaction_id = ?1 AND left_at IS NULL AND wrapped_up_at IS NULL \
         ORDER BY joined_at, agent_id",
    )?;
    let rows = stmt.query_map([interaction_id], |r| {
        let role: String = r.get(2)?;
        Ok(ParticipantRecord {
            agent_id: r.get(0)?,
            display_name: r.get(1)?,
            role: parse_or(&role, ParticipantRole::parse, ParticipantRole::Conference),
            joined_at: r.get(3)?,
            wrap_up_deadline: r.get(4)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// An interaction as stored, with its participants now and its transcript.
#[derive(Debug, Clone)]
pub struct InteractionRecord {
    pub id: i64,
    pub state: InteractionState,
    pub kind: InteractionKind,
    pub channel_id: i64,
    pub customer_name: String,
    pub customer: CustomerIdentity,
    pub source_number: String,
    pub queue_id: i64,
    /// Empty when the queue row is gone.
    pub queue_name: String,
    pub owner_agent_id: Option<i64>,
    pub conference_state: ConferenceState,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// A contact of the built-in CRM.
    pub contact_id: Option<i64>,
    pub last_customer_message_at: Option<i64>,
    /// Why the conversation was cut short (R18), if it was.
    pub interrupted: Option<String>,
    /// R27.
    pub priority: u8,
    pub participants: Vec<ParticipantRecord>,
    pub messages: Vec<Message>,
}

/// One interaction with its participants and transcript.
pub fn load_interaction(db: &Db, id: i64) -> StoreResult<Option<InteractionRecord>> {
    let found =
        db.0.prepare_cached(
            "SELECT i.id, i.state, i.channel_id, i.customer_name, i.customer_phone, \
             i.source_number, i.queue_id, COALESCE(q.name, ''), i.owner_agent_id, \
             i.conference_state, i.created_at, i.accepted_at, i.ended_at, i.contact_id, \
             i.last_customer_message_at, i.interrupted, i.customer_user_id, i.customer_username, \
             i.kind, i.priority FROM interactions i LEFT JOIN queues q ON q.id = i.queue_id \
             WHERE i.id = ?1",
        )?
        .query_row([id], |r| {
            let state: String = r.get(1)?;
            let conference: String = r.get(9)?;
            Ok(InteractionRecord {
                id: r.get(0)?,
                state: parse_or(&state, InteractionState::parse, InteractionState::Closed),
                kind: r.get(18)?,
                channel_id: r.get(2)?,
                customer_name: r.get(3)?,
                customer: CustomerIdentity {
                    phone: r.get(4)?,
                    user_id: r.get(16)?,
                    username: r.get(17)?,
                },
                source_number: r.get(5)?,
                queue_id: r.get(6)?,
                queue_name: r.get(7)?,
                owner_agent_id: r.get(8)?,
                conference_state: parse_or(
                    &conference,
                    ConferenceState::parse,
                    ConferenceState::None,
                ),
                created_at: r.get(10)?,
                accepted_at: r.get(11)?,
                ended_at: r.get(12)?,
                contact_id: r.get(13)?,
                last_customer_message_at: r.get(14)?,
                interrupted: r.get(15)?,
                priority: r.get(19)?,
                participants: Vec::new(),
                messages: Vec::new(),
            })
        })
        .optional()?;
    let Some(mut interaction) = found else {
        return Ok(None);
    };
    interaction.participants = participants(db, id)?;
    interaction.messages = super::messages::for_interaction(db, id)?;
    Ok(Some(interaction))
}

/// Whether `agent_id` is or was in the interaction (owner or participant).
pub fn took_part(db: &Db, interaction_id: i64, agent_id: i64) -> StoreResult<bool> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM interaction_participants \
               WHERE interaction_id = ?1 AND agent_id = ?2) \
             OR EXISTS(SELECT 1 FROM interactions WHERE id = ?1 AND owner_agent_id = ?2)",
        )?
        .query_row(params![interaction_id, agent_id], |r| r.get(0))?)
}

/// Which interactions a page lists.
#[derive(Debug, Clone, Default)]
pub struct InteractionFilter {
    pub state: Option<InteractionState>,
    pub queue_id: Option<i64>,
    /// Interactions this agent is or was in.
    pub agent_id: Option<i64>,
    /// An agent reading: only the interactions it is or was in.
    pub viewer: Option<i64>,
    /// Ids below this one (the cursor).
    pub before: Option<i64>,
}

/// Up to `limit` interactions, newest first, and whether more follow.
pub fn interaction_page(
    db: &Db,
    f: &InteractionFilter,
    limit: i64,
) -> StoreResult<(Vec<InteractionRecord>, bool)> {
    let mut sql = String::from("SELECT i.id FROM interactions i WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    let took_part = |n: usize| {
        format!(
            " AND (EXISTS(SELECT 1 FROM interaction_participants p \
               WHERE p.interaction_id = i.id AND p.agent_id = ?{n}) OR i.owner_agent_id = ?{n})"
        )
    };
    if let Some(s) = f.state {
        args.push(Value::Text(s.as_str().into()));
        sql.push_str(&format!(" AND i.state = ?{}", args.len()));
    }
    if let Some(queue) = f.queue_id {
        args.push(Value::Integer(queue));
        sql.push_str(&format!(" AND i.queue_id = ?{}", args.len()));
    }
    if let Some(agent) = f.agent_id {
        args.push(Value::Integer(agent));
        sql.push_str(&took_part(args.len()));
    }
    if let Some(me) = f.viewer {
        args.push(Value::Integer(me));
        sql.push_str(&took_part(args.len()));
    }
    if let Some(after) = f.before {
        args.push(Value::Integer(after));
        sql.push_str(&format!(" AND i.id < ?{}", args.len()));
    }
    args.push(Value::Integer(limit + 1));
    sql.push_str(&format!(" ORDER BY i.id DESC LIMIT ?{}", args.len()));

    let mut stmt = db.0.prepare(&sql)?;
    let mut ids = stmt
        .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))?
        .collect::<Result<Vec<_>, _>>()?;
    let more = ids.len() as i64 > limit;
    ids.truncate(limit as usize);
    let mut items = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(i) = load_interaction(db, id)? {
            items.push(i);
        }
    }
    Ok((items, more))
}

/// A call log as stored (R8): `agents` and `transcript` are JSON saved with it.
#[derive(Debug, Clone)]
pub struct ActivityRecord {
    pub id: i64,
    pub interaction_id: i64,
    pub channel_id: i64,
    pub queue_id: i64,
    /// Empty when the queue row is gone.
    pub queue_name: String,
    pub contact_id: Option<i64>,
    pub customer_name: String,
    pub customer: CustomerIdentity,
    pub source_number: String,
    pub agents: serde_json::Value,
    pub initiated_at: i64,
    pub accepted_at: Option<i64>,
    pub terminated_at: Option<i64>,
    pub wrapped_up_at: i64,
    pub disposition: Option<String>,
    pub transcript: serde_json::Value,
    pub kind: InteractionKind,
    /// When the satisfaction survey went out (R28), if one did.
    pub csat_sent_at: Option<i64>,
    /// The customer's answer to it.
    pub csat: Option<CsatAnswer>,
}

const ACTIVITY_COLUMNS: &str = "a.id, a.interaction_id, a.channel_id, a.queue_id, \
     COALESCE(q.name, ''), a.contact_id, a.customer_name, a.customer_phone, a.source_number, \
     a.agents, a.initiated_at, a.accepted_at, a.terminated_at, a.wrapped_up_at, a.disposition, \
     a.transcript, a.customer_user_id, a.customer_username, a.kind, s.sent_at, s.score, \
     s.answered_at";

/// The tables [`ACTIVITY_COLUMNS`] reads.
const ACTIVITY_FROM: &str = "activities a LEFT JOIN queues q ON q.id = a.queue_id \
     LEFT JOIN csat_surveys s ON s.interaction_id = a.interaction_id";

fn json_column(r: &Row<'_>, i: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn activity_from_row(r: &Row<'_>) -> rusqlite::Result<ActivityRecord> {
    Ok(ActivityRecord {
        id: r.get(0)?,
        interaction_id: r.get(1)?,
        channel_id: r.get(2)?,
        queue_id: r.get(3)?,
        queue_name: r.get(4)?,
        contact_id: r.get(5)?,
        customer_name: r.get(6)?,
        customer: CustomerIdentity {
            phone: r
                .get::<_, String>(7)?
                .strip_prefix('+')
                .map(str::to_string)
                .filter(|p| !p.is_empty()),
            user_id: r.get(16)?,
            username: r.get(17)?,
        },
        source_number: r.get(8)?,
        agents: json_column(r, 9)?,
        initiated_at: r.get(10)?,
        accepted_at: r.get(11)?,
        terminated_at: r.get(12)?,
        wrapped_up_at: r.get(13)?,
        disposition: r.get(14)?,
        transcript: json_column(r, 15)?,
        kind: r.get(18)?,
        csat_sent_at: r.get(19)?,
        csat: CsatAnswer::of(r.get(20)?, r.get(21)?),
    })
}

pub fn load_activity(db: &Db, id: i64) -> StoreResult<Option<ActivityRecord>> {
    let sql = format!("SELECT {ACTIVITY_COLUMNS} FROM {ACTIVITY_FROM} WHERE a.id = ?1");
    Ok(db
        .0
        .prepare_cached(&sql)?
        .query_row([id], activity_from_row)
        .optional()?)
}

/// Which call logs a page lists.
#[derive(Debug, Clone, Default)]
pub struct ActivityFilter {
    /// Saved against this CRM contact.
    pub contact_id: Option<i64>,
    /// This agent took part.
    pub agent_id: Option<i64>,
    /// Ids below this one (the cursor).
    pub before: Option<i64>,
}

/// Up to `limit` call logs, newest first, and whether more follow.
pub fn activity_page(
    db: &Db,
    f: &ActivityFilter,
    limit: i64,
) -> StoreResult<(Vec<ActivityRecord>, bool)> {
    let mut sql = format!("SELECT {ACTIVITY_COLUMNS} FROM {ACTIVITY_FROM} WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    if let Some(contact) = f.contact_id {
        args.push(Value::Integer(contact));
        sql.push_str(&format!(" AND a.contact_id = ?{}", args.len()));
    }
    if let Some(agent) = f.agent_id {
        args.push(Value::Integer(agent));
        sql.push_str(&format!(
            " AND EXISTS(SELECT 1 FROM activity_agents g WHERE g.activity_id = a.id AND g.agent_id = ?{})",
            args.len()
        ));
    }
    if let Some(before) = f.before {
        args.push(Value::Integer(before));
        sql.push_str(&format!(" AND a.id < ?{}", args.len()));
    }
    args.push(Value::Integer(limit + 1));
    sql.push_str(&format!(" ORDER BY a.id DESC LIMIT ?{}", args.len()));

    let mut stmt = db.0.prepare(&sql)?;
    let mut items = stmt
        .query_map(rusqlite::params_from_iter(args), activity_from_row)?
        .collect::<Result<Vec<_>, _>>()?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    Ok((items, more))
}

/// A message as the customer sees it (the simulator): no system messages, no agent names.
#[derive(Debug, Clone)]
pub struct CustomerMessage {
    pub id: i64,
    pub interaction_id: i64,
    pub direction: String,
    pub kind: String,
    pub text: String,
    pub sent_at: i64,
    pub status: Option<String>,
    pub error: Option<String>,
    /// The customer's own message: the business marked it read (R24).
    pub read_by_business: bool,
    /// The quoted message, when it is one of this list's: (id, text).
    pub reply_to: Option<(Option<i64>, String)>,
    /// Reactions: (emoji, by the customer).
    pub reactions: Vec<(String, bool)>,
    pub edited: bool,
    pub deleted: bool,
    /// The file of a media message (R22).
    pub media: Option<crate::domain::media::Media>,
    /// A template (R23) or interactive (R28) message: the Cloud API object that was sent.
    pub payload: Option<serde_json::Value>,
    /// A satisfaction survey: the score the customer picked, if they did.
    pub survey_score: Option<u8>,
}

/// The latest `limit` messages between a customer and a channel, across its interactions,
/// oldest first.
pub fn customer_messages(
    db: &Db,
    channel_id: i64,
    who: &CustomerKey,
    limit: i64,
) -> StoreResult<Vec<CustomerMessage>> {
    let (phone, user_id) = key_columns(who);
    let mut stmt = db.0.prepare_cached(
        "SELECT * FROM (
           SELECT m.id, m.interaction_id, m.direction, m.kind, m.text, m.sent_at, m.status, m.error,
                  m.read_sent_at IS NOT NULL, m.reply_to_id, m.reply_to_wamid,
                  CASE WHEN q.deleted_at IS NULL THEN q.text ELSE '' END,
                  m.edited_at IS NOT NULL, m.deleted_at IS NOT NULL,
                  mm.id, mm.mime_type, mm.size, mm.filename, mm.caption, mm.sha256, mm.state, mm.error,
                  m.payload, s.score
           FROM messages m JOIN interactions i ON i.id = m.interaction_id
           LEFT JOIN messages q ON q.id = m.reply_to_id
           LEFT JOIN message_media mm ON mm.message_id = m.id
           LEFT JOIN csat_surveys s ON s.message_id = m.id
           WHERE i.customer_id = (SELECT id FROM customers WHERE channel_id = ?1 AND phone = ?2
                                  UNION ALL
                                  SELECT customer_id FROM customer_user_ids
                                   WHERE channel_id = ?1 AND user_id = ?3 LIMIT 1)
             AND m.direction IN ('in', 'out')
           ORDER BY m.id DESC LIMIT ?4)
         ORDER BY id",
    )?;
    let rows = stmt.query_map(params![channel_id, phone, user_id, limit], |r| {
        let reply_to_id: Option<i64> = r.get(9)?;
        let reply_to_wamid: Option<String> = r.get(10)?;
        Ok(CustomerMessage {
            id: r.get(0)?,
            interaction_id: r.get(1)?,
            direction: r.get(2)?,
            kind: r.get(3)?,
            text: r.get(4)?,
            sent_at: r.get(5)?,
            status: r.get(6)?,
            error: r.get(7)?,
            read_by_business: r.get(8)?,
            reply_to: (reply_to_id.is_some() || reply_to_wamid.is_some())
                .then(|| {
                    Ok::<_, rusqlite::Error>((
                        reply_to_id,
                        r.get::<_, Option<String>>(11)?.unwrap_or_default(),
                    ))
                })
                .transpose()?,
            reactions: Vec::new(),
            edited: r.get(12)?,
            deleted: r.get(13)?,
            media: super::media::from_row(r, 14)?,
            payload: r
                .get::<_, Option<String>>(22)?
                .and_then(|p| serde_json::from_str(&p).ok()),
            survey_score: r.get(23)?,
        })
    })?;
    let mut messages: Vec<CustomerMessage> = rows.collect::<Result<_, _>>()?;
    let mut reactions = db.0.prepare_cached(
        "SELECT emoji, author_kind = 'customer' FROM message_reactions
          WHERE message_id = ?1 ORDER BY updated_at",
    )?;
    for m in &mut messages {
        m.reactions = reactions
            .query_map([m.id], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect::<Result<_, _>>()?;
    }
    Ok(messages)
}

/// True when the interaction is one of this customer's on the channel.
pub fn is_customers_interaction(
    db: &Db,
    channel_id: i64,
    who: &CustomerKey,
    interaction_id: i64,
) -> StoreResult<bool> {
    let (phone, user_id) = key_columns(who);
    Ok(db
        .0
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM interactions i
          WHERE i.id = ?4
            AND i.customer_id = (SELECT id FROM customers WHERE channel_id = ?1 AND phone = ?2
                                 UNION ALL
                                 SELECT customer_id FROM customer_user_ids
                                  WHERE channel_id = ?1 AND user_id = ?3 LIMIT 1))",
        )?
        .query_row(params![channel_id, phone, user_id, interaction_id], |r| {
            r.get(0)
        })?)
}

/// The wamid of one of the customer's conversation messages (to quote or react to it).
pub fn customer_message_wamid(
    db: &Db,
    channel_id: i64,
    who: &CustomerKey,
    message_id: i64,
) -> StoreResult<Option<String>> {
    let (phone, user_id) = key_columns(who);
    Ok(db
        .0
        .prepare_cached(
            "SELECT m.wamid FROM messages m JOIN interactions i ON i.id = m.interaction_id
              WHERE m.id = ?4 AND m.wamid IS NOT NULL
                AND i.customer_id = (SELECT id FROM customers WHERE channel_id = ?1 AND phone = ?2
                                     UNION ALL
                                     SELECT customer_id FROM customer_user_ids
                                      WHERE channel_id = ?1 AND user_id = ?3 LIMIT 1)",
        )?
        .query_row(params![channel_id, phone, user_id, message_id], |r| {
            r.get(0)
        })
        .optional()?)
}

/// The wamids of the replies a customer has not read yet (sent or delivered), oldest first.
pub fn unread_replies(db: &Db, channel_id: i64, who: &CustomerKey) -> StoreResult<Vec<String>> {
    let (phone, user_id) = key_columns(who);
    let mut stmt = db.0.prepare_cached(
        "SELECT m.wamid FROM messages m JOIN interactions i ON i.id = m.interaction_id
         WHERE i.customer_id = (SELECT id FROM customers WHERE channel_id = ?1 AND phone = ?2
                                UNION ALL
                                SELECT customer_id FROM customer_user_ids
                                 WHERE channel_id = ?1 AND user_id = ?3 LIMIT 1)
           AND m.direction = 'out' AND m.wamid IS NOT NULL AND m.status IN ('sent', 'delivered')
         ORDER BY m.id",
    )?;
    let rows = stmt.query_map(params![channel_id, phone, user_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// A customer key as the two columns it is looked up by (the other one NULL).
fn key_columns(who: &CustomerKey) -> (Option<&str>, Option<&str>) {
    match who {
        CustomerKey::Phone(p) => (Some(p.as_str()), None),
        CustomerKey::UserId(u) => (None, Some(u.as_str())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{AuthorKind, MessageKind};

    #[test]
    fn loads_an_interaction_with_its_transcript() {
        let c = crate::store::test_connection();
        c.execute_batch(
            "INSERT INTO users(id, username, display_name, role, password_hash, status_since, created_at, updated_at)
                 VALUES (5, 'ann', 'Ann', 'agent', 'x', 0, 0, 0);
             INSERT INTO queues(id, name, offer_timeout_secs, wrap_up_secs, created_at, updated_at)
                 VALUES (1, 'Support', 30, 60, 0, 0);
             INSERT INTO channels(id, name, phone_number_id, display_phone_number, queue_id, access_token, created_at, updated_at)
                 VALUES (1, 'WA', '1', '15550001111', 1, 't', 0, 0);
             INSERT INTO interactions(id, channel_id, queue_id, customer_phone, customer_name, source_number,
                                      state, queue_position, owner_agent_id, created_at, last_customer_message_at, updated_at)
                 VALUES (7, 1, 1, '447700900001', 'Bob', '15550001111', 'active', 0, 5, 1000, 2000, 0);
             INSERT INTO interaction_participants(interaction_id, agent_id, display_name, role, joined_at)
                 VALUES (7, 5, 'Ann', 'owner', 1500);
             INSERT INTO messages(interaction_id, direction, author_kind, author_name, kind, text, sent_at, created_at, updated_at)
                 VALUES (7, 'in', 'customer', 'Bob', 'text', 'hi', 2000, 0, 0);
             INSERT INTO messages(interaction_id, direction, author_kind, author_name, kind, text, sent_at, created_at, updated_at)
                 VALUES (7, 'in', 'robot', 'X', 'hologram', '?', 2001, 0, 0);",
        )
        .unwrap();
        let db = Db(&c);
        let i = load_interaction(&db, 7).unwrap().unwrap();
        assert_eq!(i.customer.phone.as_deref(), Some("447700900001"));
        assert_eq!(i.queue_name, "Support");
        assert_eq!(i.participants.len(), 1);
        assert_eq!(i.messages.len(), 2);
        assert_eq!(i.last_customer_message_at, Some(2000));
        // Values this build does not know read as the neutral fallback.
        let odd = &i.messages[1];
        assert_eq!(odd.author.kind, AuthorKind::System);
        assert_eq!(odd.kind, MessageKind::Unsupported);
        assert!(took_part(&db, 7, 5).unwrap());
        assert!(!took_part(&db, 7, 6).unwrap());
        assert!(load_interaction(&db, 8).unwrap().is_none());
    }
}
