//! The `interactions` table and its `interaction_participants`: the record an interaction
//! actor keeps, written whole (upsert) and read back after a restart (R10).

use super::{messages, Db, StoreResult};
use crate::domain::contact::ContactId;
use crate::domain::customer::CustomerIdentity;
use crate::domain::interaction::{
    InteractionRecord, InteractionRouting, ParticipantRecord, PendingOffer,
};
use crate::domain::message::Message;
use crate::domain::sticky::Sticky;
use crate::domain::time::now_ms;
use crate::domain::OfferKind;
use rusqlite::{params, OptionalExtension};

/// Writes the whole interaction row and its participants (upsert).
pub fn save(db: &Db, d: &InteractionRecord) -> StoreResult<()> {
    let c = db.0;
    let now = now_ms();
    let offer = d.offer.as_ref();
    c.prepare_cached(
        "INSERT INTO interactions (id, channel_id, queue_id, customer_phone, customer_name, source_number,
            state, queue_position, owner_agent_id, offer_agent_id, offer_kind, offer_from_agent_id,
            offer_expires_at, conference_state, contact_id, interrupted, created_at, accepted_at,
            ended_at, closed_at, last_customer_message_at, updated_at, crm_contact_id,
            customer_user_id, customer_username, customer_id, kind, priority, queued_at,
            overflowed_from, sticky_agent_id, sticky_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23,
            ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31, ?32)
         ON CONFLICT(id) DO UPDATE SET channel_id = excluded.channel_id, queue_id = excluded.queue_id,
            customer_name = excluded.customer_name, state = excluded.state,
            queue_position = excluded.queue_position, owner_agent_id = excluded.owner_agent_id,
            offer_agent_id = excluded.offer_agent_id, offer_kind = excluded.offer_kind,
            offer_from_agent_id = excluded.offer_from_agent_id, offer_expires_at = excluded.offer_expires_at,
            conference_state = excluded.conference_state, contact_id = excluded.contact_id,
            interrupted = excluded.interrupted, accepted_at = excluded.accepted_at,
            ended_at = excluded.ended_at, closed_at = excluded.closed_at,
            last_customer_message_at = excluded.last_customer_message_at, updated_at = excluded.updated_at,
            crm_contact_id = excluded.crm_contact_id, priority = excluded.priority,
            queued_at = excluded.queued_at, overflowed_from = excluded.overflowed_from,
            sticky_agent_id = excluded.sticky_agent_id, sticky_until = excluded.sticky_until",
    )?
    .execute(params![
        d.id,
        d.channel_id,
        d.queue_id,
        d.customer.phone,
        d.customer_name,
        d.source_number,
        d.state,
        d.position,
        d.owner,
        offer.map(|o| o.agent_id),
        offer.map(|o| o.kind),
        offer.and_then(|o| o.from_agent_id),
        offer.map(|o| o.expires_at),
        d.conference_state,
        d.contact_id.as_ref().and_then(ContactId::local),
        d.interrupted,
        d.created_at,
        d.accepted_at,
        d.ended_at,
        d.closed_at,
        d.last_customer_message_at,
        now,
        d.contact_id.as_ref().and_then(ContactId::external),
        d.customer.user_id,
        d.customer.username,
        d.customer_id,
        d.kind,
        d.routing.priority,
        d.routing.queued_at,
        d.routing.overflowed_from,
        d.routing.sticky.map(|s| s.agent_id),
        d.routing.sticky.map(|s| s.until),
    ])?;
    let mut stmt = c.prepare_cached(
        "INSERT INTO interaction_participants (interaction_id, agent_id, display_name, role, joined_at,
            left_at, wrap_up_deadline, wrapped_up_at, disposition, auto, wrap_up_codes, wrap_up_required)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
         ON CONFLICT(interaction_id, agent_id) DO UPDATE SET display_name = excluded.display_name,
            role = excluded.role, joined_at = excluded.joined_at, left_at = excluded.left_at,
            wrap_up_deadline = excluded.wrap_up_deadline, wrapped_up_at = excluded.wrapped_up_at,
            disposition = excluded.disposition, auto = excluded.auto,
            wrap_up_codes = excluded.wrap_up_codes, wrap_up_required = excluded.wrap_up_required",
    )?;
    for p in &d.participants {
        stmt.execute(params![
            d.id,
            p.agent_id,
            p.display_name,
            p.role,
            p.joined_at,
            p.left_at,
            p.wrap_up_deadline,
            p.wrapped_up_at,
            p.disposition,
            p.auto,
            p.wrap_up_codes
                .as_ref()
                .map(|c| serde_json::to_string(c).unwrap_or_else(|_| "[]".into())),
            p.wrap_up_required,
        ])?;
    }
    Ok(())
}

/// What a customer message changes of a conversation already stored (R1): the customer's name
/// and when they last wrote. A new conversation is written whole with [`save`].
pub fn customer_wrote(db: &Db, d: &InteractionRecord) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE interactions SET customer_name = ?2, last_customer_message_at = ?3,
                updated_at = ?4
          WHERE id = ?1",
    )?
    .execute(params![
        d.id,
        d.customer_name,
        d.last_customer_message_at,
        now_ms()
    ])?;
    Ok(())
}

/// Writes who the customer is (R21) when a delivery taught the conversation something new;
/// [`save`] writes it only with a new row, so the message path does not rewrite it (nor
/// check its foreign key) with every message.
pub fn set_customer(db: &Db, d: &InteractionRecord) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE interactions SET customer_phone = ?2, customer_user_id = ?3,
                customer_username = ?4, customer_id = ?5
          WHERE id = ?1",
    )?
    .execute(params![
        d.id,
        d.customer.phone,
        d.customer.user_id,
        d.customer.username,
        d.customer_id
    ])?;
    Ok(())
}

/// R27 sticky routing: the owner of the customer's newest conversation in the queue that
/// closed at or after `since`, if it had one.
pub fn last_owner(
    db: &Db,
    customer_id: i64,
    queue_id: i64,
    since: i64,
) -> StoreResult<Option<i64>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT owner_agent_id FROM interactions
              WHERE customer_id = ?1 AND queue_id = ?2 AND state = 'closed' AND closed_at >= ?3
              ORDER BY closed_at DESC LIMIT 1",
        )?
        .query_row(params![customer_id, queue_id, since], |r| r.get(0))
        .optional()?
        .flatten())
}

/// The highest interaction id ever given (0 when there is none).
pub fn max_id(db: &Db) -> StoreResult<i64> {
    Ok(db
        .0
        .query_row("SELECT COALESCE(MAX(id), 0) FROM interactions", [], |r| {
            r.get(0)
        })?)
}

/// True when the interaction exists and is closed.
pub fn is_closed(db: &Db, id: i64) -> StoreResult<bool> {
    Ok(db.0.query_row(
        "SELECT EXISTS(SELECT 1 FROM interactions WHERE id = ?1 AND state = 'closed')",
        [id],
        |r| r.get(0),
    )?)
}

/// Every interaction that is not closed, with its participants and transcript (R10).
pub fn load_open(db: &Db) -> StoreResult<Vec<(InteractionRecord, Vec<Message>)>> {
    let c = db.0;
    // One read transaction for the 100,000 statements of a big restore: one snapshot, and the
    // file lock taken once instead of once per statement.
    let snapshot = c.unchecked_transaction()?;
    let mut stmt = c.prepare(
        "SELECT id, channel_id, queue_id, customer_phone, customer_name, source_number, state,
                queue_position, owner_agent_id, offer_agent_id, offer_kind, offer_from_agent_id,
                offer_expires_at, conference_state, contact_id, interrupted, created_at, accepted_at,
                ended_at, closed_at, last_customer_message_at, crm_contact_id,
                customer_user_id, customer_username, customer_id, kind, priority,
                COALESCE(queued_at, created_at), overflowed_from, sticky_agent_id, sticky_until
         FROM interactions WHERE state <> 'closed' ORDER BY id",
    )?;
    let mut open: Vec<InteractionRecord> = stmt
        .query_map([], |r| {
            let offer_agent: Option<i64> = r.get(9)?;
            let offer_kind: Option<OfferKind> = r.get(10)?;
            Ok(InteractionRecord {
                id: r.get(0)?,
                channel_id: r.get(1)?,
                queue_id: r.get(2)?,
                kind: r.get(25)?,
                customer: CustomerIdentity {
                    phone: r.get(3)?,
                    user_id: r.get(22)?,
                    username: r.get(23)?,
                },
                customer_id: r.get(24)?,
                customer_name: r.get(4)?,
                source_number: r.get(5)?,
                state: r.get(6)?,
                position: r.get(7)?,
                owner: r.get(8)?,
                offer: match (offer_agent, offer_kind) {
                    (Some(agent_id), Some(kind)) => Some(PendingOffer {
                        agent_id,
                        kind,
                        expires_at: r.get::<_, Option<i64>>(12)?.unwrap_or(0),
                        from_agent_id: r.get(11)?,
                        can_reject: true,
                    }),
                    _ => None,
                },
                conference_state: r.get(13)?,
                contact_id: match (
                    r.get::<_, Option<i64>>(14)?,
                    r.get::<_, Option<String>>(21)?,
                ) {
                    (Some(id), _) => Some(ContactId::Local(id)),
                    (None, Some(id)) => Some(ContactId::External(id)),
                    _ => None,
                },
                interrupted: r.get(15)?,
                created_at: r.get(16)?,
                accepted_at: r.get(17)?,
                ended_at: r.get(18)?,
                closed_at: r.get(19)?,
                last_customer_message_at: r.get(20)?,
                participants: Vec::new(),
                routing: InteractionRouting {
                    priority: r.get(26)?,
                    queued_at: r.get(27)?,
                    overflowed_from: r.get(28)?,
                    sticky: match (r.get::<_, Option<i64>>(29)?, r.get::<_, Option<i64>>(30)?) {
                        (Some(agent_id), Some(until)) => Some(Sticky { agent_id, until }),
                        _ => None,
                    },
                },
            })
        })?
        .collect::<Result<_, _>>()?;

    let mut parts = c.prepare_cached(
        "SELECT agent_id, display_name, role, joined_at, left_at, wrap_up_deadline, wrapped_up_at,
                disposition, auto, wrap_up_codes, wrap_up_required
         FROM interaction_participants WHERE interaction_id = ?1 ORDER BY joined_at",
    )?;
    let ids: Vec<i64> = open.iter().map(|d| d.id).collect();
    let mut transcripts = messages::for_open_interactions(db, &ids)?;
    let mut result = Vec::with_capacity(open.len());
    for mut d in open.drain(..) {
        d.participants = parts
            .query_map([d.id], |r| {
                Ok(ParticipantRecord {
                    agent_id: r.get(0)?,
                    display_name: r.get(1)?,
                    role: r.get(2)?,
                    joined_at: r.get(3)?,
                    left_at: r.get(4)?,
                    wrap_up_deadline: r.get(5)?,
                    wrapped_up_at: r.get(6)?,
                    disposition: r.get(7)?,
                    auto: r.get(8)?,
                    wrap_up_codes: r
                        .get::<_, Option<String>>(9)?
                        .and_then(|c| serde_json::from_str(&c).ok()),
                    wrap_up_required: r.get(10)?,
                })
            })?
            .collect::<Result<_, _>>()?;
        let messages = transcripts.remove(&d.id).unwrap_or_default();
        result.push((d, messages));
    }
    drop(parts);
    snapshot.commit()?;
    Ok(result)
}
