//! The interaction actor: one WhatsApp conversation from the first customer message to its
//! call log. It owns the state machine (queued → offered → active → wrap_up → closed), the
//! transcript, the offer timer, the wrap-up countdowns and the reconnect grace timers.
//! Every change is committed to SQLite before it is applied and announced (R10).

use super::agent::{AgentActor, Hold, NoAnswer, Push, Release};
use super::queue::Enqueue;
use super::registry::Registry;
use crate::domain::time::now_ms;
use crate::domain::{
    validate_message_text, AlertLevel, AuthorKind, ConferenceState, Direction, InteractionState,
    MessageKind, MessageStatus, OfferKind, ParticipantRole, RevokeReason, CUSTOMER_WINDOW_MS,
};
use crate::store::StoreResult;
use crate::whatsapp::payload::InboundMessage;
use crate::ws::protocol::{
    self, AgentRef, Author, CommandError, CommandResult, Customer, QueueRef, ServerEvent,
};
use actix::prelude::*;
use rusqlite::{params, Connection};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// The persisted state of an interaction (one row of `interactions` plus its participants).
#[derive(Debug, Clone)]
pub struct Data {
    pub id: i64,
    pub channel_id: i64,
    pub queue_id: i64,
    pub customer_wa_id: String,
    pub customer_name: String,
    pub source_number: String,
    pub state: InteractionState,
    pub position: i64,
    pub owner: Option<i64>,
    pub offer: Option<OfferData>,
    pub conference_state: ConferenceState,
    pub contact_id: Option<i64>,
    pub interrupted: Option<String>,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub last_customer_message_at: Option<i64>,
    pub participants: Vec<ParticipantData>,
}

#[derive(Debug, Clone)]
pub struct OfferData {
    pub agent_id: i64,
    pub kind: OfferKind,
    pub expires_at: i64,
    pub from_agent_id: Option<i64>,
    pub can_reject: bool,
}

#[derive(Debug, Clone)]
pub struct ParticipantData {
    pub agent_id: i64,
    pub display_name: String,
    pub role: ParticipantRole,
    pub joined_at: i64,
    /// Left without wrap-up (reconnect grace ran out).
    pub left_at: Option<i64>,
    pub wrap_up_deadline: Option<i64>,
    pub wrapped_up_at: Option<i64>,
    pub disposition: Option<String>,
    pub auto: Option<bool>,
}

impl ParticipantData {
    /// In the conversation: may read and write.
    pub fn active(&self) -> bool {
        self.left_at.is_none() && self.wrap_up_deadline.is_none()
    }
    pub fn wrapping_up(&self) -> bool {
        self.left_at.is_none() && self.wrap_up_deadline.is_some() && self.wrapped_up_at.is_none()
    }
    pub fn done(&self) -> bool {
        self.left_at.is_some() || self.wrapped_up_at.is_some()
    }
}

/// Writes the whole interaction row and its participants (upsert).
pub fn save(conn: &Connection, d: &Data) -> rusqlite::Result<()> {
    let now = now_ms();
    let offer = d.offer.as_ref();
    conn.prepare_cached(
        "INSERT INTO interactions (id, channel_id, queue_id, customer_wa_id, customer_name, source_number,
            state, queue_position, owner_agent_id, offer_agent_id, offer_kind, offer_from_agent_id,
            offer_expires_at, conference_state, contact_id, interrupted, created_at, accepted_at,
            ended_at, closed_at, last_customer_message_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)
         ON CONFLICT(id) DO UPDATE SET channel_id = excluded.channel_id, queue_id = excluded.queue_id,
            customer_name = excluded.customer_name, state = excluded.state,
            queue_position = excluded.queue_position, owner_agent_id = excluded.owner_agent_id,
            offer_agent_id = excluded.offer_agent_id, offer_kind = excluded.offer_kind,
            offer_from_agent_id = excluded.offer_from_agent_id, offer_expires_at = excluded.offer_expires_at,
            conference_state = excluded.conference_state, contact_id = excluded.contact_id,
            interrupted = excluded.interrupted, accepted_at = excluded.accepted_at,
            ended_at = excluded.ended_at, closed_at = excluded.closed_at,
            last_customer_message_at = excluded.last_customer_message_at, updated_at = excluded.updated_at",
    )?
    .execute(params![
        d.id,
        d.channel_id,
        d.queue_id,
        d.customer_wa_id,
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
        d.contact_id,
        d.interrupted,
        d.created_at,
        d.accepted_at,
        d.ended_at,
        d.closed_at,
        d.last_customer_message_at,
        now,
    ])?;
    let mut stmt = conn.prepare_cached(
        "INSERT INTO interaction_participants (interaction_id, agent_id, display_name, role, joined_at,
            left_at, wrap_up_deadline, wrapped_up_at, disposition, auto)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
         ON CONFLICT(interaction_id, agent_id) DO UPDATE SET display_name = excluded.display_name,
            role = excluded.role, joined_at = excluded.joined_at, left_at = excluded.left_at,
            wrap_up_deadline = excluded.wrap_up_deadline, wrapped_up_at = excluded.wrapped_up_at,
            disposition = excluded.disposition, auto = excluded.auto",
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
        ])?;
    }
    Ok(())
}

/// Result of delivering a customer message to this actor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InboundOutcome {
    Stored,
    Duplicate,
    /// The interaction closed meanwhile: the registry opens a new one (R1).
    Closed,
}

pub struct InteractionActor {
    registry: Arc<Registry>,
    d: Data,
    /// False until the first customer message (with the row) is committed.
    persisted: bool,
    messages: Vec<protocol::Message>,
    offer_timer: Option<SpawnHandle>,
    wrap_timers: HashMap<i64, SpawnHandle>,
    grace_timers: HashMap<i64, SpawnHandle>,
    /// Participants whose desktop is not connected (reconnect grace running).
    disconnected: HashSet<i64>,
    restored: bool,
}

type Reply<T> = AtomicResponse<InteractionActor, T>;

fn reply<T: 'static>(value: T) -> Reply<T> {
    AtomicResponse::new(Box::pin(fut::ready(value)))
}

fn fail<T: 'static>(code: &'static str, message: impl Into<String>) -> Reply<Result<T, CommandError>> {
    reply(Err(CommandError::new(code, message)))
}

impl InteractionActor {
    /// A new, not yet persisted interaction for a customer of a channel.
    pub fn new_for_customer(
        registry: Arc<Registry>,
        id: i64,
        channel: &crate::store::rows::ChannelRecord,
        wa_id: &str,
    ) -> Self {
        let now = now_ms();
        let d = Data {
            id,
            channel_id: channel.id,
            queue_id: channel.queue_id,
            customer_wa_id: wa_id.to_string(),
            customer_name: format!("+{wa_id}"),
            source_number: channel.display_phone_number.clone(),
            state: InteractionState::Queued,
            position: now,
            owner: None,
            offer: None,
            conference_state: ConferenceState::None,
            contact_id: None,
            interrupted: None,
            created_at: now,
            accepted_at: None,
            ended_at: None,
            closed_at: None,
            last_customer_message_at: None,
            participants: Vec::new(),
        };
        InteractionActor {
            registry,
            d,
            persisted: false,
            messages: Vec::new(),
            offer_timer: None,
            wrap_timers: HashMap::new(),
            grace_timers: HashMap::new(),
            disconnected: HashSet::new(),
            restored: false,
        }
    }

    /// An open interaction read back from the store after a restart (R10).
    pub fn restored(registry: Arc<Registry>, d: Data, messages: Vec<protocol::Message>) -> Self {
        InteractionActor {
            registry,
            d,
            persisted: true,
            messages,
            offer_timer: None,
            wrap_timers: HashMap::new(),
            grace_timers: HashMap::new(),
            disconnected: HashSet::new(),
            restored: true,
        }
    }

    fn agent(&self, id: i64) -> Option<Addr<AgentActor>> {
        self.registry.agent(id)
    }

    fn push_to(&self, agent_id: i64, event: ServerEvent) {
        if let Some(a) = self.agent(agent_id) {
            a.do_send(Push(event));
        }
    }

    fn participant(&self, agent_id: i64) -> Option<&ParticipantData> {
        self.d.participants.iter().find(|p| p.agent_id == agent_id)
    }

    /// Agents who read and write in the conversation.
    fn active_agents(&self) -> Vec<i64> {
        self.d
            .participants
            .iter()
            .filter(|p| p.active())
            .map(|p| p.agent_id)
            .collect()
    }

    /// Agents to tell about a change of state: those in it or wrapping it up.
    fn involved_agents(&self) -> Vec<i64> {
        self.d
            .participants
            .iter()
            .filter(|p| !p.done())
            .map(|p| p.agent_id)
            .collect()
    }

    fn queue_ref(&self) -> QueueRef {
        QueueRef {
            id: self.d.queue_id,
            name: self
                .registry
                .queue_record(self.d.queue_id)
                .map(|q| q.name)
                .unwrap_or_default(),
        }
    }

    fn customer(&self) -> Customer {
        Customer {
            name: self.d.customer_name.clone(),
            phone: format!("+{}", self.d.customer_wa_id),
        }
    }

    pub fn snapshot(&self) -> protocol::Interaction {
        protocol::Interaction {
            id: self.d.id,
            state: self.d.state,
            channel_id: self.d.channel_id,
            customer: self.customer(),
            source_number: self.d.source_number.clone(),
            queue: self.queue_ref(),
            owner_agent_id: self.d.owner,
            participants: self
                .d
                .participants
                .iter()
                .filter(|p| !p.done())
                .map(|p| protocol::Participant {
                    agent_id: p.agent_id,
                    display_name: p.display_name.clone(),
                    role: p.role,
                    joined_at: p.joined_at,
                    wrap_up_deadline: p.wrap_up_deadline,
                })
                .collect(),
            conference_state: self.d.conference_state,
            created_at: self.d.created_at,
            accepted_at: self.d.accepted_at,
            ended_at: self.d.ended_at,
            contact_id: self.d.contact_id,
            last_customer_message_at: self.d.last_customer_message_at,
            window_expires_at: self.d.last_customer_message_at.map(|t| t + CUSTOMER_WINDOW_MS),
            alert: AlertLevel::None,
            interrupted: self.d.interrupted.clone(),
            messages: self.messages.clone(),
        }
    }

    fn offer_event(&self) -> Option<protocol::Offer> {
        let o = self.d.offer.as_ref()?;
        Some(protocol::Offer {
            interaction_id: self.d.id,
            kind: o.kind,
            customer: self.customer(),
            source_number: self.d.source_number.clone(),
            queue: self.queue_ref(),
            received_at: self.d.created_at,
            expires_at: o.expires_at,
            can_reject: o.can_reject,
            contact_matches: 0,
            from_agent: o.from_agent_id.map(|id| AgentRef {
                id,
                display_name: self.registry.agent_name(id).unwrap_or_default(),
            }),
        })
    }

    fn announce_state(&self) {
        let snapshot = self.snapshot();
        for agent_id in self.involved_agents() {
            self.push_to(agent_id, ServerEvent::Interaction(Box::new(snapshot.clone())));
        }
    }

    /// Runs a write in the next group commit; the actor waits for it (atomic handling).
    fn persist<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> impl ActorFuture<Self, Output = StoreResult<T>> {
        let store = self.registry.store.clone();
        async move { store.write(f).await }.into_actor(self)
    }

    fn enqueue(&self) {
        match self.registry.queue(self.d.queue_id) {
            Some(q) => q.do_send(Enqueue {
                interaction_id: self.d.id,
                position: self.d.position,
            }),
            None => tracing::warn!(interaction = self.d.id, queue = self.d.queue_id, "queue is gone"),
        }
    }

    fn queue_settings(&self) -> (u32, u32) {
        self.registry
            .queue_record(self.d.queue_id)
            .map(|q| (q.offer_timeout_secs, q.wrap_up_secs))
            .unwrap_or((30, 60))
    }

    fn start_offer_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.offer_timer.take() {
            ctx.cancel_future(h);
        }
        let Some(offer) = &self.d.offer else { return };
        let delay = Duration::from_millis((offer.expires_at - now_ms()).max(0) as u64);
        let agent_id = offer.agent_id;
        self.offer_timer = Some(ctx.run_later(delay, move |act, ctx| {
            act.offer_timer = None;
            if act.d.offer.as_ref().map(|o| o.agent_id) == Some(agent_id) {
                let fut = act.take_back_offer(RevokeReason::Timeout).map(|_, _, _| ());
                ctx.wait(fut);
            }
        }));
    }

    /// Takes the pending offer back (timeout, reject, disconnect) and puts the interaction
    /// back in its queue at its place. Timeout and reject cost the agent its availability.
    fn take_back_offer(&mut self, reason: RevokeReason) -> ResponseActFuture<Self, CommandResult> {
        let Some(offer) = self.d.offer.clone() else {
            return Box::pin(fut::ready(Ok(())));
        };
        let mut next = self.d.clone();
        next.offer = None;
        if next.state == InteractionState::Offered {
            next.state = InteractionState::Queued;
        }
        let row = next.clone();
        Box::pin(self.persist(move |c| save(c, &row)).map(move |res, act, ctx| {
            res?;
            act.d = next;
            if let Some(h) = act.offer_timer.take() {
                ctx.cancel_future(h);
            }
            act.push_to(
                offer.agent_id,
                ServerEvent::OfferRevoked {
                    interaction_id: act.d.id,
                    reason,
                },
            );
            if let Some(agent) = act.agent(offer.agent_id) {
                match reason {
                    RevokeReason::Timeout | RevokeReason::Rejected => agent.do_send(NoAnswer {
                        interaction_id: act.d.id,
                    }),
                    _ => agent.do_send(Release {
                        interaction_id: act.d.id,
                    }),
                }
            }
            if act.d.state == InteractionState::Queued {
                act.enqueue();
            }
            Ok(())
        }))
    }

    fn start_wrap_timer(&mut self, agent_id: i64, deadline: i64, ctx: &mut Context<Self>) {
        if let Some(h) = self.wrap_timers.remove(&agent_id) {
            ctx.cancel_future(h);
        }
        let delay = Duration::from_millis((deadline - now_ms()).max(0) as u64);
        let handle = ctx.run_later(delay, move |act, ctx| {
            act.wrap_timers.remove(&agent_id);
            if act.participant(agent_id).is_some_and(|p| p.wrapping_up()) {
                let fut = act.complete_wrap_up(agent_id, None, true).map(|res, _, _| {
                    if let Err(e) = res {
                        tracing::error!(error = %e.message, "automatic wrap-up failed");
                    }
                });
                ctx.wait(fut);
            }
        });
        self.wrap_timers.insert(agent_id, handle);
    }

    /// Closes one agent's wrap-up; the last one closes the interaction and saves the call log.
    fn complete_wrap_up(
        &mut self,
        agent_id: i64,
        disposition: Option<String>,
        auto: bool,
    ) -> ResponseActFuture<Self, CommandResult> {
        let now = now_ms();
        let mut next = self.d.clone();
        if let Some(p) = next.participants.iter_mut().find(|p| p.agent_id == agent_id) {
            p.wrapped_up_at = Some(now);
            p.disposition = disposition.clone();
            p.auto = Some(auto);
        }
        let closing = next.state == InteractionState::WrapUp && next.participants.iter().all(|p| p.done());
        if closing {
            next.state = InteractionState::Closed;
            next.closed_at = Some(now);
        }
        let row = next.clone();
        let activity = closing.then(|| self.activity_row(&next, now));
        Box::pin(
            self.persist(move |c| {
                save(c, &row)?;
                if let Some(a) = activity {
                    a.insert(c)?;
                }
                Ok(())
            })
            .map(move |res, act, ctx| {
                res?;
                act.d = next;
                if let Some(h) = act.wrap_timers.remove(&agent_id) {
                    ctx.cancel_future(h);
                }
                act.push_to(
                    agent_id,
                    ServerEvent::WrapUpDone {
                        interaction_id: act.d.id,
                        disposition,
                        auto,
                    },
                );
                if let Some(agent) = act.agent(agent_id) {
                    agent.do_send(Release {
                        interaction_id: act.d.id,
                    });
                }
                if closing {
                    act.registry
                        .interaction_closed(act.d.id, act.d.channel_id, &act.d.customer_wa_id);
                    ctx.stop();
                } else {
                    act.announce_state();
                }
                Ok(())
            }),
        )
    }

    fn activity_row(&self, d: &Data, now: i64) -> ActivityRow {
        let agents: Vec<serde_json::Value> = d
            .participants
            .iter()
            .map(|p| {
                serde_json::json!({
                    "agent_id": p.agent_id,
                    "display_name": p.display_name,
                    "role": p.role,
                    "joined_at": crate::domain::time::to_rfc3339(p.joined_at),
                    "wrapped_up_at": p.wrapped_up_at.map(crate::domain::time::to_rfc3339),
                    "disposition": p.disposition,
                    "auto": p.auto,
                })
            })
            .collect();
        // The owner's disposition is the call's; else the last one given.
        let disposition = d
            .participants
            .iter()
            .filter(|p| p.role == ParticipantRole::Owner && p.disposition.is_some())
            .chain(d.participants.iter().filter(|p| p.disposition.is_some()))
            .map(|p| p.disposition.clone())
            .next()
            .flatten();
        ActivityRow {
            interaction_id: d.id,
            channel_id: d.channel_id,
            queue_id: d.queue_id,
            contact_id: d.contact_id,
            customer_name: d.customer_name.clone(),
            customer_phone: format!("+{}", d.customer_wa_id),
            source_number: d.source_number.clone(),
            agents: serde_json::Value::Array(agents).to_string(),
            agent_ids: d.participants.iter().map(|p| p.agent_id).collect(),
            initiated_at: d.created_at,
            accepted_at: d.accepted_at,
            terminated_at: d.ended_at,
            wrapped_up_at: now,
            disposition,
            transcript: serde_json::to_string(&self.messages).unwrap_or_else(|_| "[]".into()),
        }
    }

    fn start_grace_timer(&mut self, agent_id: i64, ctx: &mut Context<Self>) {
        if let Some(h) = self.grace_timers.remove(&agent_id) {
            ctx.cancel_future(h);
        }
        let grace = Duration::from_secs(self.registry.settings.routing.reconnect_grace_secs);
        let handle = ctx.run_later(grace, move |act, ctx| {
            act.grace_timers.remove(&agent_id);
            if act.disconnected.contains(&agent_id)
                && act.participant(agent_id).is_some_and(|p| p.active())
            {
                let fut = act.drop_absent_agent(agent_id);
                ctx.wait(fut);
            }
        });
        self.grace_timers.insert(agent_id, handle);
    }

    /// R11: the reconnect grace ran out. The agent leaves the conversation; if it owned it,
    /// the interaction goes back to the front of its queue.
    fn drop_absent_agent(&mut self, agent_id: i64) -> ResponseActFuture<Self, ()> {
        let now = now_ms();
        let mut next = self.d.clone();
        if let Some(p) = next.participants.iter_mut().find(|p| p.agent_id == agent_id) {
            p.left_at = Some(now);
        }
        let was_owner = next.owner == Some(agent_id);
        if was_owner {
            next.owner = None;
            next.state = InteractionState::Queued;
            next.position = -now;
        }
        let row = next.clone();
        Box::pin(self.persist(move |c| save(c, &row)).map(move |res, act, _ctx| {
            if let Err(e) = res {
                tracing::error!(error = %e, "could not requeue after the reconnect grace");
                return;
            }
            act.d = next;
            act.disconnected.remove(&agent_id);
            if let Some(agent) = act.agent(agent_id) {
                agent.do_send(Release {
                    interaction_id: act.d.id,
                });
            }
            if was_owner {
                act.enqueue();
            }
            act.announce_state();
        }))
    }
}

/// A call log row, written in the same transaction that closes the interaction (R8).
pub struct ActivityRow {
    interaction_id: i64,
    channel_id: i64,
    queue_id: i64,
    contact_id: Option<i64>,
    customer_name: String,
    customer_phone: String,
    source_number: String,
    agents: String,
    agent_ids: Vec<i64>,
    initiated_at: i64,
    accepted_at: Option<i64>,
    terminated_at: Option<i64>,
    wrapped_up_at: i64,
    disposition: Option<String>,
    transcript: String,
}

impl ActivityRow {
    fn insert(&self, c: &Connection) -> rusqlite::Result<()> {
        c.execute(
            "INSERT INTO activities (interaction_id, channel_id, queue_id, contact_id, customer_name,
                customer_phone, source_number, agents, initiated_at, accepted_at, terminated_at,
                wrapped_up_at, disposition, transcript, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            params![
                self.interaction_id,
                self.channel_id,
                self.queue_id,
                self.contact_id,
                self.customer_name,
                self.customer_phone,
                self.source_number,
                self.agents,
                self.initiated_at,
                self.accepted_at,
                self.terminated_at,
                self.wrapped_up_at,
                self.disposition,
                self.transcript,
                self.wrapped_up_at,
            ],
        )?;
        let activity_id = c.last_insert_rowid();
        let mut stmt =
            c.prepare_cached("INSERT OR IGNORE INTO activity_agents (activity_id, agent_id) VALUES (?1, ?2)")?;
        for agent_id in &self.agent_ids {
            stmt.execute(params![activity_id, agent_id])?;
        }
        Ok(())
    }
}

impl Actor for InteractionActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if !self.restored {
            return;
        }
        // Back after a restart: nobody is connected yet.
        let id = self.d.id;
        let me = ctx.address();
        let mut holders = Vec::new();
        if let Some(o) = &self.d.offer {
            holders.push(o.agent_id);
        }
        for p in self.d.participants.iter().filter(|p| !p.done()) {
            holders.push(p.agent_id);
        }
        for agent_id in holders {
            if let Some(agent) = self.agent(agent_id) {
                agent.do_send(Hold {
                    interaction_id: id,
                    interaction: me.clone(),
                });
            }
        }
        let participants = self.d.participants.clone();
        for p in participants {
            if p.active() {
                self.disconnected.insert(p.agent_id);
                self.start_grace_timer(p.agent_id, ctx);
            } else if p.wrapping_up() {
                self.start_wrap_timer(p.agent_id, p.wrap_up_deadline.unwrap_or(0), ctx);
            }
        }
        if self.d.offer.is_some() {
            // The offered agent's socket is gone: revoke without penalty and reroute (R11).
            let fut = self
                .take_back_offer(RevokeReason::Disconnected)
                .map(|_, _, _| ());
            ctx.wait(fut);
        } else if self.d.state == InteractionState::Queued {
            self.enqueue();
        }
    }
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
        if let Some(name) = m.profile_name.as_ref().filter(|n| !n.trim().is_empty()) {
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
        let row = next.clone();
        let interaction_id = self.d.id;
        let author_name = next.customer_name.clone();
        let m2 = m.clone();
        AtomicResponse::new(Box::pin(
            self.persist(move |c| {
                let exists: bool = c
                    .prepare_cached("SELECT EXISTS(SELECT 1 FROM messages WHERE wamid = ?1)")?
                    .query_row([&m2.wamid], |r| r.get(0))?;
                if exists {
                    return Ok(None);
                }
                save(c, &row)?;
                c.prepare_cached(
                    "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
                        kind, text, media_id, wamid, status, error, sent_at, created_at, updated_at)
                     VALUES (?1, 'in', 'customer', ?2, ?3, ?4, ?5, ?6, ?7, NULL, NULL, ?8, ?9, ?9)",
                )?
                .execute(params![
                    interaction_id,
                    m2.from,
                    author_name,
                    m2.kind,
                    m2.text,
                    m2.media_id,
                    m2.wamid,
                    m2.timestamp_ms,
                    now
                ])?;
                Ok(Some(c.last_insert_rowid()))
            })
            .map(move |res, act, _ctx| {
                let Some(message_id) = res? else {
                    return Ok(InboundOutcome::Duplicate);
                };
                act.d = next;
                act.persisted = true;
                let message = protocol::Message {
                    id: message_id,
                    direction: Direction::In,
                    author: Author {
                        kind: AuthorKind::Customer,
                        id: Some(m.from.clone()),
                        name: act.d.customer_name.clone(),
                    },
                    text: m.text,
                    kind: m.kind,
                    media_id: m.media_id,
                    sent_at: m.timestamp_ms,
                    status: None,
                    error: None,
                };
                act.messages.push(message.clone());
                for agent_id in act.active_agents() {
                    act.push_to(
                        agent_id,
                        ServerEvent::Message {
                            interaction_id: act.d.id,
                            message: message.clone(),
                        },
                    );
                }
                if creating {
                    act.enqueue();
                }
                Ok(InboundOutcome::Stored)
            }),
        ))
    }
}

/// The queue reserved an agent for this interaction: offer it (R2, R3).
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferTo {
    pub agent_id: i64,
    pub agent: Addr<AgentActor>,
    pub can_reject: bool,
    pub display_name: String,
}

impl Handler<OfferTo> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: OfferTo, ctx: &mut Self::Context) {
        if self.d.state != InteractionState::Queued || self.d.offer.is_some() {
            msg.agent.do_send(Release {
                interaction_id: self.d.id,
            });
            return;
        }
        let (timeout, _) = self.queue_settings();
        let mut next = self.d.clone();
        next.state = InteractionState::Offered;
        next.offer = Some(OfferData {
            agent_id: msg.agent_id,
            kind: OfferKind::New,
            expires_at: now_ms() + i64::from(timeout) * 1000,
            from_agent_id: None,
            can_reject: msg.can_reject,
        });
        let row = next.clone();
        let agent = msg.agent;
        let fut = self.persist(move |c| save(c, &row)).map(move |res, act, ctx| {
            if let Err(e) = res {
                tracing::error!(error = %e, "could not save an offer; back to the queue");
                agent.do_send(Release {
                    interaction_id: act.d.id,
                });
                act.enqueue();
                return;
            }
            act.d = next;
            if let Some(offer) = act.offer_event() {
                agent.do_send(Push(ServerEvent::Offer(offer)));
            }
            act.start_offer_timer(ctx);
        });
        ctx.wait(fut);
    }
}

macro_rules! agent_command {
    ($name:ident { $($field:ident : $ty:ty),* $(,)? }) => {
        #[derive(Message)]
        #[rtype(result = "CommandResult")]
        pub struct $name {
            pub agent_id: i64,
            $(pub $field: $ty),*
        }
    };
}

agent_command!(Accept {});
agent_command!(Reject {});
agent_command!(SendText { text: String });
agent_command!(End {});
agent_command!(WrapUp { disposition: Option<String> });

impl InteractionActor {
    fn check_offered_to(&self, agent_id: i64) -> Result<&OfferData, CommandError> {
        match &self.d.offer {
            Some(o) if o.agent_id == agent_id => Ok(o),
            _ => Err(CommandError::new(
                "not_offered",
                "this conversation is not offered to you",
            )),
        }
    }

    fn check_active_participant(&self, agent_id: i64) -> Result<(), CommandError> {
        match self.participant(agent_id) {
            Some(p) if p.active() => {}
            Some(p) if p.wrapping_up() => {
                return Err(CommandError::new("invalid_state", "you are wrapping up this conversation"))
            }
            _ => {
                return Err(CommandError::new(
                    "not_participant",
                    "you are not in this conversation",
                ))
            }
        }
        if self.d.state != InteractionState::Active {
            return Err(CommandError::new(
                "invalid_state",
                format!("the conversation is {}", self.d.state),
            ));
        }
        Ok(())
    }
}

impl Handler<Accept> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Accept, _ctx: &mut Self::Context) -> Self::Result {
        let offer = match self.check_offered_to(msg.agent_id) {
            Ok(o) => o.clone(),
            Err(e) => return reply(Err(e)),
        };
        let now = now_ms();
        let mut next = self.d.clone();
        next.offer = None;
        next.state = InteractionState::Active;
        next.owner = Some(msg.agent_id);
        next.accepted_at.get_or_insert(now);
        let display_name = self.registry.agent_name(msg.agent_id).unwrap_or_default();
        next.participants.retain(|p| p.agent_id != msg.agent_id);
        next.participants.push(ParticipantData {
            agent_id: msg.agent_id,
            display_name,
            role: ParticipantRole::Owner,
            joined_at: now,
            left_at: None,
            wrap_up_deadline: None,
            wrapped_up_at: None,
            disposition: None,
            auto: None,
        });
        let _ = offer;
        let row = next.clone();
        AtomicResponse::new(Box::pin(self.persist(move |c| save(c, &row)).map(
            move |res, act, ctx| {
                res?;
                act.d = next;
                if let Some(h) = act.offer_timer.take() {
                    ctx.cancel_future(h);
                }
                act.announce_state();
                Ok(())
            },
        )))
    }
}

impl Handler<Reject> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Reject, _ctx: &mut Self::Context) -> Self::Result {
        match self.check_offered_to(msg.agent_id) {
            Ok(o) if !o.can_reject => fail(
                "reject_not_permitted",
                "your administrator does not allow you to reject conversations",
            ),
            Ok(_) => AtomicResponse::new(self.take_back_offer(RevokeReason::Rejected)),
            Err(e) => reply(Err(e)),
        }
    }
}

impl Handler<SendText> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: SendText, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_active_participant(msg.agent_id) {
            return reply(Err(e));
        }
        if let Some(reason) = &self.d.interrupted {
            return fail("interrupted", format!("the conversation was interrupted: {reason}"));
        }
        let max = self.registry.settings.limits.max_message_chars;
        if let Err((code, message)) = validate_message_text(&msg.text, max) {
            return fail(code, message);
        }
        let now = now_ms();
        let window_open = self
            .d
            .last_customer_message_at
            .is_some_and(|t| now - t <= CUSTOMER_WINDOW_MS);
        if !window_open {
            return fail(
                "window_closed",
                "more than 24 hours have passed since the customer's last message",
            );
        }
        let interaction_id = self.d.id;
        let agent_id = msg.agent_id;
        let author_name = self
            .participant(agent_id)
            .map(|p| p.display_name.clone())
            .unwrap_or_default();
        let text = msg.text;
        let (name2, text2) = (author_name.clone(), text.clone());
        AtomicResponse::new(Box::pin(
            self.persist(move |c| {
                c.prepare_cached(
                    "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
                        kind, text, status, sent_at, created_at, updated_at)
                     VALUES (?1, 'out', 'agent', ?2, ?3, 'text', ?4, 'queued', ?5, ?5, ?5)",
                )?
                .execute(params![interaction_id, agent_id.to_string(), name2, text2, now])?;
                let message_id = c.last_insert_rowid();
                c.prepare_cached(
                    "INSERT INTO outbox (message_id, interaction_id, attempts, next_attempt_at) VALUES (?1, ?2, 0, ?3)",
                )?
                .execute(params![message_id, interaction_id, now])?;
                Ok(message_id)
            })
            .map(move |res, act, _ctx| {
                let message_id = res?;
                let message = protocol::Message {
                    id: message_id,
                    direction: Direction::Out,
                    author: Author {
                        kind: AuthorKind::Agent,
                        id: Some(agent_id.to_string()),
                        name: author_name,
                    },
                    text,
                    kind: MessageKind::Text,
                    media_id: None,
                    sent_at: now,
                    status: Some(MessageStatus::Queued),
                    error: None,
                };
                act.messages.push(message.clone());
                for other in act.active_agents() {
                    act.push_to(
                        other,
                        ServerEvent::Message {
                            interaction_id: act.d.id,
                            message: message.clone(),
                        },
                    );
                }
                act.registry.kick_outbox();
                Ok(())
            }),
        ))
    }
}

impl Handler<End> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: End, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_active_participant(msg.agent_id) {
            return reply(Err(e));
        }
        if self.d.owner != Some(msg.agent_id) {
            return fail("not_owner", "only the owner can end the conversation");
        }
        let now = now_ms();
        let (_, wrap_up_secs) = self.queue_settings();
        let deadline = now + i64::from(wrap_up_secs) * 1000;
        let mut next = self.d.clone();
        next.state = InteractionState::WrapUp;
        next.ended_at = Some(now);
        let pending_offer = next.offer.take();
        if pending_offer.is_some() {
            next.conference_state = ConferenceState::None;
        }
        let mut wrapping = Vec::new();
        for p in next.participants.iter_mut().filter(|p| p.active()) {
            p.wrap_up_deadline = Some(deadline);
            wrapping.push(p.agent_id);
        }
        let row = next.clone();
        AtomicResponse::new(Box::pin(self.persist(move |c| save(c, &row)).map(
            move |res, act, ctx| {
                res?;
                act.d = next;
                if let Some(o) = pending_offer {
                    if let Some(h) = act.offer_timer.take() {
                        ctx.cancel_future(h);
                    }
                    act.push_to(
                        o.agent_id,
                        ServerEvent::OfferRevoked {
                            interaction_id: act.d.id,
                            reason: RevokeReason::CustomerLeft,
                        },
                    );
                    if let Some(a) = act.agent(o.agent_id) {
                        a.do_send(Release {
                            interaction_id: act.d.id,
                        });
                    }
                }
                act.announce_state();
                let (codes, required) = act
                    .registry
                    .queue_record(act.d.queue_id)
                    .map(|q| (q.disposition_codes, q.disposition_required))
                    .unwrap_or_default();
                for agent_id in wrapping {
                    act.push_to(
                        agent_id,
                        ServerEvent::WrapUpStarted {
                            interaction_id: act.d.id,
                            deadline,
                            disposition_codes: codes.clone(),
                            disposition_required: required,
                        },
                    );
                    act.start_wrap_timer(agent_id, deadline, ctx);
                }
                Ok(())
            },
        )))
    }
}

impl Handler<WrapUp> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: WrapUp, _ctx: &mut Self::Context) -> Self::Result {
        match self.participant(msg.agent_id) {
            Some(p) if p.wrapping_up() => {}
            Some(_) => return fail("invalid_state", "you are not wrapping up this conversation"),
            None => return fail("not_participant", "you are not in this conversation"),
        }
        let (codes, required) = self
            .registry
            .queue_record(self.d.queue_id)
            .map(|q| (q.disposition_codes, q.disposition_required))
            .unwrap_or_default();
        let disposition = msg.disposition.filter(|d| !d.is_empty());
        match &disposition {
            Some(code) if !codes.iter().any(|c| &c.code == code) => {
                return fail(
                    "unknown_disposition",
                    format!("`{code}` is not a disposition code of this queue"),
                )
            }
            None if required => {
                return fail("disposition_required", "this queue requires a disposition code")
            }
            _ => {}
        }
        AtomicResponse::new(self.complete_wrap_up(msg.agent_id, disposition, false))
    }
}

/// The agent's desktop disconnected (R11).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentLeftSession {
    pub agent_id: i64,
}

impl Handler<AgentLeftSession> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: AgentLeftSession, ctx: &mut Self::Context) {
        if self.d.offer.as_ref().is_some_and(|o| o.agent_id == msg.agent_id) {
            let fut = self
                .take_back_offer(RevokeReason::Disconnected)
                .map(|_, _, _| ());
            ctx.wait(fut);
        }
        if self.participant(msg.agent_id).is_some_and(|p| p.active()) {
            self.disconnected.insert(msg.agent_id);
            self.start_grace_timer(msg.agent_id, ctx);
        }
    }
}

/// The agent's desktop is back.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentReturned {
    pub agent_id: i64,
}

impl Handler<AgentReturned> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: AgentReturned, ctx: &mut Self::Context) {
        self.disconnected.remove(&msg.agent_id);
        if let Some(h) = self.grace_timers.remove(&msg.agent_id) {
            ctx.cancel_future(h);
        }
    }
}

/// What an agent's `hello` shows of this interaction.
pub struct HelloPart {
    pub interaction: Option<protocol::Interaction>,
    pub offer: Option<protocol::Offer>,
}

#[derive(Message)]
#[rtype(result = "HelloPart")]
pub struct SnapshotFor {
    pub agent_id: i64,
}

impl Handler<SnapshotFor> for InteractionActor {
    type Result = MessageResult<SnapshotFor>;

    fn handle(&mut self, msg: SnapshotFor, _ctx: &mut Self::Context) -> Self::Result {
        let involved = self
            .participant(msg.agent_id)
            .is_some_and(|p| !p.done());
        let offered = self.d.offer.as_ref().is_some_and(|o| o.agent_id == msg.agent_id);
        MessageResult(HelloPart {
            interaction: involved.then(|| self.snapshot()),
            offer: if offered { self.offer_event() } else { None },
        })
    }
}

/// A delivery status of an outbound message changed (API answer or status webhook).
#[derive(Message)]
#[rtype(result = "()")]
pub struct MessageStatusChanged {
    pub message_id: i64,
    pub status: MessageStatus,
    pub error: Option<String>,
}

impl Handler<MessageStatusChanged> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: MessageStatusChanged, _ctx: &mut Self::Context) {
        let Some(m) = self.messages.iter_mut().find(|m| m.id == msg.message_id) else {
            return;
        };
        if !m.status.is_none_or(|s| s.can_become(msg.status)) {
            return;
        }
        m.status = Some(msg.status);
        m.error = msg.error.clone();
        for agent_id in self.active_agents() {
            self.push_to(
                agent_id,
                ServerEvent::MessageStatus {
                    interaction_id: self.d.id,
                    message_id: msg.message_id,
                    status: msg.status,
                    error: msg.error.clone(),
                },
            );
        }
    }
}
