//! R1, R12: a customer message opens or continues the conversation; a webhook delivered
//! twice (same `wamid`) adds nothing. R22: a media message is committed with its file
//! `pending` and the file's download job, in the same transaction; the fetch comes after.

use super::{arrival, reply, InteractionActor, Reply};
use crate::domain::media::{clean_filename, is_media_kind};
use crate::domain::time::now_ms;
use crate::domain::InteractionState;
use crate::store::messages::{self, CustomerMessage};
use crate::store::{customers, interactions, media, media_downloads, StoreResult};
use crate::whatsapp::payload::InboundMessage;
use crate::ws::protocol::ServerEvent;
use actix::prelude::*;

/// Result of delivering a customer message to this actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    Stored,
    Duplicate,
    /// The interaction closed meanwhile: the registry opens a new one (R1).
    Closed,
}

/// A customer message for this conversation (R1, R12).
#[derive(Message)]
#[rtype(result = "StoreResult<InboundOutcome>")]
pub struct Inbound {
    pub msg: InboundMessage,
}

impl Handler<Inbound> for InteractionActor {
    type Result = Reply<StoreResult<InboundOutcome>>;

    fn handle(&mut self, msg: Inbound, _ctx: &mut Self::Context) -> Self::Result {
        if self.d.state == InteractionState::Closed {
            return reply(Ok(InboundOutcome::Closed));
        }
        let m = msg.msg;
        let creating = !self.persisted;
        let mut next = self.d.clone();
        // R21: a delivery may name the customer by more than the conversation knew (a
        // number next to the BSUID, a new username): the customer row learns it too.
        let mut learned = next.customer.learn(&m.customer);
        if let Some(name) = m.profile_name.as_ref().filter(|n| !n.trim().is_empty()) {
            learned |= next.customer_name != *name;
            next.customer_name = name.clone();
        }
        next.last_customer_message_at = Some(
            next.last_customer_message_at
                .map_or(m.timestamp_ms, |t| t.max(m.timestamp_ms)),
        );
        let now = now_ms();
        if creating {
            next.created_at = now;
            next.position = now;
        }
        let mut row = next.clone();
        let interaction_id = self.d.id;
        let author_name = next.customer_name.clone();
        let resolve =
            !row.customer.is_empty() && (creating || learned || row.customer_id.is_none());
        let profile_name = m.profile_name.clone();
        // R27: what the queue decides of a new conversation, committed with its first message.
        let routing = creating
            .then(|| self.registry.queue_routing(row.queue_id))
            .flatten();
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> StoreResult<_> {
                if messages::wamid_exists(db, &m.wamid)? {
                    return Ok(None);
                }
                if resolve {
                    row.customer_id = Some(customers::resolve(
                        db,
                        row.channel_id,
                        &row.customer,
                        profile_name.as_deref(),
                        now,
                    )?);
                }
                if let Some(routing) = &routing {
                    arrival::route_new(db, &mut row, routing, now)?;
                }
                if creating {
                    interactions::save(db, &row)?;
                } else {
                    // Only what a customer message changes: not the whole row and its
                    // participants with every message.
                    interactions::customer_wrote(db, &row)?;
                    if resolve {
                        interactions::set_customer(db, &row)?;
                    }
                }
                let message = CustomerMessage {
                    wamid: &m.wamid,
                    from: m
                        .customer
                        .phone
                        .as_deref()
                        .or(m.customer.user_id.as_deref()),
                    author_name: &author_name,
                    kind: m.kind,
                    text: &m.text,
                    media_id: m.media.as_ref().map(|f| f.id.as_str()),
                    sent_at: m.timestamp_ms,
                    reply_to_wamid: m.reply_to.as_deref(),
                };
                let mut stored = messages::insert_customer(db, interaction_id, &message, now)?;
                if let Some(file) = m.media.as_ref().filter(|_| is_media_kind(m.kind)) {
                    let filename = file.filename.as_deref().and_then(clean_filename);
                    let row = media::NewInbound {
                        message_id: stored.id,
                        interaction_id,
                        kind: m.kind,
                        wa_media_id: &file.id,
                        mime_type: file.mime_type.as_deref(),
                        sha256: file.sha256.as_deref(),
                        filename: filename.as_deref(),
                        caption: file.caption.as_deref(),
                    };
                    let pending = media::insert_inbound(db, &row, now)?;
                    media_downloads::enqueue(db, pending.id, now)?;
                    stored.media = Some(Box::new(pending));
                }
                let greeting = match &routing {
                    Some(routing) => arrival::greet(db, interaction_id, routing, now)?,
                    None => None,
                };
                Ok(Some((stored, row.customer_id, row.routing, greeting)))
            })
            .map(move |res, act, ctx| {
                let Some((message, customer_id, routing, greeting)) = res? else {
                    return Ok(InboundOutcome::Duplicate);
                };
                let announce = learned && !creating;
                act.d = next;
                act.d.customer_id = customer_id;
                act.d.routing = routing;
                act.persisted = true;
                act.messages.push(message.clone());
                if message.media.is_some() {
                    act.registry.kick_media();
                }
                act.show(ServerEvent::Message {
                    interaction_id: act.d.id,
                    message: message.clone(),
                });
                if let Some(greeting) = greeting {
                    act.messages.push(greeting.clone());
                    act.show(ServerEvent::Message {
                        interaction_id: act.d.id,
                        message: greeting,
                    });
                    act.registry.kick_outbox();
                }
                if creating {
                    act.enqueue();
                }
                if announce {
                    // Agents see the number, username or name that just became known.
                    act.announce_state(ctx);
                }
                act.refresh_alert(ctx);
                Ok(InboundOutcome::Stored)
            }),
        ))
    }
}
