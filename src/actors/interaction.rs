//! The interaction actor: one WhatsApp conversation from the first customer message to its
//! call log. It owns the state machine (queued → offered → active → wrap_up → closed), the
//! transcript, the offer timer, the wrap-up countdowns and the reconnect grace timers.
//! Every change is committed to SQLite before it is applied and announced (R10).

use super::agent::{AgentActor, Hold, NoAnswer, Push, Release};
use super::queue::Enqueue;
use super::registry::Registry;
use crate::crm::{Contact, ContactId, CrmError, ScreenPop};
use crate::domain::interaction::{InteractionRecord, ParticipantRecord, PendingOffer};
use crate::domain::time::now_ms;
use crate::domain::{
    validate_message_text, AlertLevel, ConferenceState, Direction, DispositionCode,
    InteractionState, MessageStatus, OfferKind, ParticipantRole, RevokeReason, CUSTOMER_WINDOW_MS,
};
use crate::store::activities::{self, NewActivity};
use crate::store::messages::{self, CustomerMessage};
use crate::store::{interactions, Db, StoreError, StoreResult};
use crate::whatsapp::payload::InboundMessage;
use crate::ws::protocol::{
    self, AgentRef, CommandError, CommandResult, Customer, QueueRef, ServerEvent,
};
use actix::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

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
    d: InteractionRecord,
    /// False until the first customer message (with the row) is committed.
    persisted: bool,
    messages: Vec<protocol::Message>,
    offer_timer: Option<SpawnHandle>,
    wrap_timers: HashMap<i64, SpawnHandle>,
    grace_timers: HashMap<i64, SpawnHandle>,
    /// Participants whose desktop is not connected (reconnect grace running).
    disconnected: HashSet<i64>,
    restored: bool,
    /// Reply-time alert (R16) and the timers that raise it.
    alert: AlertLevel,
    alert_timers: Vec<SpawnHandle>,
    /// The CRM's contacts for the customer's number (R20), looked up once; an error text
    /// when the CRM could not be asked.
    contacts: Option<Result<Vec<Contact>, String>>,
    /// The contact the interaction is linked to, when known.
    linked: Option<Contact>,
    _alive: crate::metrics::Alive,
}

type Reply<T> = AtomicResponse<InteractionActor, T>;

fn reply<T: 'static>(value: T) -> Reply<T> {
    AtomicResponse::new(Box::pin(fut::ready(value)))
}

fn fail<T: 'static>(
    code: &'static str,
    message: impl Into<String>,
) -> Reply<Result<T, CommandError>> {
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
        let d = InteractionRecord {
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
            alert: AlertLevel::None,
            alert_timers: Vec::new(),
            contacts: None,
            linked: None,
            _alive: crate::metrics::Alive::new("interaction"),
        }
    }

    /// An open interaction read back from the store after a restart (R10).
    pub fn restored(
        registry: Arc<Registry>,
        d: InteractionRecord,
        messages: Vec<protocol::Message>,
    ) -> Self {
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
            alert: AlertLevel::None,
            alert_timers: Vec::new(),
            contacts: None,
            linked: None,
            _alive: crate::metrics::Alive::new("interaction"),
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

    fn participant(&self, agent_id: i64) -> Option<&ParticipantRecord> {
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
                    disposition_codes: p.wrapping_up().then(|| p.wrap_up_terms().0),
                    disposition_required: p.wrapping_up().then(|| p.wrap_up_terms().1),
                })
                .collect(),
            conference_state: self.d.conference_state,
            created_at: self.d.created_at,
            accepted_at: self.d.accepted_at,
            ended_at: self.d.ended_at,
            contact_id: self.d.contact_id.clone(),
            last_customer_message_at: self.d.last_customer_message_at,
            window_expires_at: self
                .d
                .last_customer_message_at
                .map(|t| t + CUSTOMER_WINDOW_MS),
            alert: self.alert,
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
            contact_matches: self
                .contacts
                .as_ref()
                .and_then(|r| r.as_ref().ok())
                .map_or(0, |m| m.len() as u32),
            from_agent: o.from_agent_id.map(|id| AgentRef {
                id,
                display_name: self.registry.agent_name(id).unwrap_or_default(),
            }),
        })
    }

    /// Tells the agents in the conversation its new state (and re-arms the R16 alert).
    fn announce_state(&mut self, ctx: &mut Context<Self>) {
        self.refresh_alert(ctx);
        let snapshot = self.snapshot();
        for agent_id in self.involved_agents() {
            self.push_to(
                agent_id,
                ServerEvent::Interaction(Box::new(snapshot.clone())),
            );
        }
    }

    /// Runs a write in the next group commit; the actor waits for it (atomic handling).
    fn persist<T, E>(
        &self,
        f: impl FnOnce(&Db) -> Result<T, E> + Send + 'static,
    ) -> impl ActorFuture<Self, Output = Result<T, E>>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
    {
        let store = self.registry.store.clone();
        async move { store.write(f).await }.into_actor(self)
    }

    /// Persists `next` with system messages added to the transcript; the caller applies
    /// `next` and calls [`Self::add_notes`] after the commit.
    fn commit(
        &self,
        next: &InteractionRecord,
        notes: Vec<String>,
    ) -> impl ActorFuture<Self, Output = StoreResult<Vec<protocol::Message>>> {
        let row = next.clone();
        let interaction_id = self.d.id;
        let now = now_ms();
        self.persist(move |db| {
            interactions::save(db, &row)?;
            let mut created = Vec::with_capacity(notes.len());
            for text in notes {
                created.push(messages::insert_system(db, interaction_id, text, now)?);
            }
            Ok(created)
        })
    }

    /// Adds committed system messages to the transcript and shows them to the agents in it.
    fn add_notes(&mut self, notes: Vec<protocol::Message>) {
        for message in notes {
            self.messages.push(message.clone());
            for agent_id in self.active_agents() {
                self.push_to(
                    agent_id,
                    ServerEvent::Message {
                        interaction_id: self.d.id,
                        message: message.clone(),
                    },
                );
            }
        }
    }

    /// The wrap-up terms (disposition codes, whether one is required) of the current queue.
    fn wrap_up_terms(&self) -> (Vec<DispositionCode>, bool) {
        self.registry
            .queue_record(self.d.queue_id)
            .map(|q| (q.disposition_codes, q.disposition_required))
            .unwrap_or_default()
    }

    /// Tells an agent its wrap-up started (the caller set its deadline and terms) and arms
    /// the countdown.
    fn begin_wrap_up(&mut self, agent_id: i64, deadline: i64, ctx: &mut Context<Self>) {
        let (codes, required) = self
            .participant(agent_id)
            .map(|p| p.wrap_up_terms())
            .unwrap_or_default();
        self.push_to(
            agent_id,
            ServerEvent::WrapUpStarted {
                interaction_id: self.d.id,
                deadline,
                disposition_codes: codes,
                disposition_required: required,
            },
        );
        self.start_wrap_timer(agent_id, deadline, ctx);
    }

    fn wrap_up_deadline(&self, now: i64) -> i64 {
        let (_, wrap_up_secs) = self.queue_settings();
        now + i64::from(wrap_up_secs) * 1000
    }

    fn display_name(&self, agent_id: i64) -> String {
        self.participant(agent_id)
            .map(|p| p.display_name.clone())
            .or_else(|| self.registry.agent_name(agent_id))
            .unwrap_or_else(|| format!("agent {agent_id}"))
    }

    /// When the customer's oldest unanswered message was sent: the first customer message
    /// after the last agent reply.
    fn unanswered_since(&self) -> Option<i64> {
        let mut since = None;
        for m in &self.messages {
            match m.direction {
                Direction::In => {
                    since.get_or_insert(m.sent_at);
                }
                Direction::Out => since = None,
                Direction::System => {}
            }
        }
        since
    }

    /// R16: recomputes the reply-time alert and arms the timers for the next level.
    fn refresh_alert(&mut self, ctx: &mut Context<Self>) {
        for h in self.alert_timers.drain(..) {
            ctx.cancel_future(h);
        }
        let since = (self.d.state == InteractionState::Active)
            .then(|| self.unanswered_since())
            .flatten();
        let Some(since) = since else {
            return self.set_alert(AlertLevel::None);
        };
        let (warn, critical) = self
            .registry
            .queue_record(self.d.queue_id)
            .map(|q| (q.alert_warn_secs, q.alert_critical_secs))
            .unwrap_or((60, 180));
        let warn_at = since + i64::from(warn) * 1000;
        let critical_at = since + i64::from(critical) * 1000;
        let now = now_ms();
        let level = if now >= critical_at {
            AlertLevel::Critical
        } else if now >= warn_at {
            AlertLevel::Warn
        } else {
            AlertLevel::None
        };
        self.set_alert(level);
        for at in [warn_at, critical_at] {
            if at > now {
                let delay = Duration::from_millis((at - now) as u64);
                self.alert_timers
                    .push(ctx.run_later(delay, |act, ctx| act.refresh_alert(ctx)));
            }
        }
    }

    fn set_alert(&mut self, level: AlertLevel) {
        if self.alert == level {
            return;
        }
        self.alert = level;
        for agent_id in self.active_agents() {
            self.push_to(
                agent_id,
                ServerEvent::Alert {
                    interaction_id: self.d.id,
                    level,
                },
            );
        }
    }

    fn enqueue(&self) {
        if self.d.interrupted.is_some() {
            return; // R15: it waits for its last agent to wrap up, then closes
        }
        match self.registry.queue(self.d.queue_id) {
            Some(q) => q.do_send(Enqueue {
                interaction_id: self.d.id,
                position: self.d.position,
            }),
            None => tracing::warn!(
                interaction = self.d.id,
                queue = self.d.queue_id,
                "queue is gone"
            ),
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

    /// Takes the pending offer back (timeout, reject, disconnect, deletion). A new or
    /// transferred conversation goes back to its queue (a transfer to the front, R17); a
    /// conference invitation lapses and the conversation goes on. Timeout and reject cost
    /// the agent its availability (R3, R4).
    fn take_back_offer(&mut self, reason: RevokeReason) -> ResponseActFuture<Self, CommandResult> {
        let Some(offer) = self.d.offer.clone() else {
            return Box::pin(fut::ready(Ok(())));
        };
        let now = now_ms();
        let mut next = self.d.clone();
        next.offer = None;
        let mut notes = Vec::new();
        let name = self.display_name(offer.agent_id);
        match offer.kind {
            OfferKind::New => {
                if next.state == InteractionState::Offered {
                    next.state = InteractionState::Queued;
                }
            }
            OfferKind::Transfer => {
                next.state = InteractionState::Queued;
                next.position = -now;
                notes.push(format!(
                    "{name} did not take the transfer; the conversation is back in the queue"
                ));
            }
            OfferKind::Conference => {
                if !next
                    .participants
                    .iter()
                    .any(|p| p.active() && p.role == ParticipantRole::Conference)
                {
                    next.conference_state = ConferenceState::None;
                }
                notes.push(format!("{name} did not join the chat"));
            }
        }
        Box::pin(self.commit(&next, notes).map(move |res, act, ctx| {
            let notes = res?;
            act.d = next;
            act.withdraw_offer(&offer, reason, ctx);
            act.add_notes(notes);
            if act.d.state == InteractionState::Queued {
                act.enqueue();
            }
            if offer.kind == OfferKind::Conference {
                act.announce_state(ctx);
            }
            Ok(())
        }))
    }

    /// After the commit that took a pending offer back: stops its timer, tells the agent, and
    /// frees its capacity; a timeout or reject also costs its availability (R3, R4).
    fn withdraw_offer(
        &mut self,
        offer: &PendingOffer,
        reason: RevokeReason,
        ctx: &mut Context<Self>,
    ) {
        crate::metrics::offer_ended(
            self.d.id,
            self.d.queue_id,
            offer.agent_id,
            offer.kind.as_str(),
            reason.as_str(),
        );
        if let Some(h) = self.offer_timer.take() {
            ctx.cancel_future(h);
        }
        self.push_to(
            offer.agent_id,
            ServerEvent::OfferRevoked {
                interaction_id: self.d.id,
                reason,
            },
        );
        if let Some(agent) = self.agent(offer.agent_id) {
            let interaction_id = self.d.id;
            match reason {
                RevokeReason::Timeout | RevokeReason::Rejected => {
                    agent.do_send(NoAnswer { interaction_id })
                }
                _ => agent.do_send(Release { interaction_id }),
            }
        }
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
        if let Some(p) = next
            .participants
            .iter_mut()
            .find(|p| p.agent_id == agent_id)
        {
            p.wrapped_up_at = Some(now);
            p.disposition = disposition.clone();
            p.auto = Some(auto);
        }
        // The last wrap-up closes an ended conversation, and an interrupted one that no agent
        // holds any more (R15: it cannot be routed again).
        let closing = (next.state == InteractionState::WrapUp || next.interrupted.is_some())
            && next.participants.iter().all(|p| p.done())
            && next.offer.is_none();
        if closing {
            next.state = InteractionState::Closed;
            next.closed_at = Some(now);
            next.ended_at.get_or_insert(now);
        }
        let row = next.clone();
        let activity = closing.then(|| self.activity_row(&next, now));
        let push_to_crm = self.registry.crm.pushes_activities();
        Box::pin(
            self.persist(move |db| -> StoreResult<()> {
                interactions::save(db, &row)?;
                if let Some(a) = activity {
                    activities::insert(db, &a, push_to_crm)?;
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
                    act.registry.crm.activity_enqueued();
                    act.registry.interaction_closed(
                        act.d.id,
                        act.d.channel_id,
                        &act.d.customer_wa_id,
                    );
                    ctx.stop();
                } else {
                    act.announce_state(ctx);
                }
                Ok(())
            }),
        )
    }

    fn activity_row(&self, d: &InteractionRecord, now: i64) -> NewActivity {
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
        // The final owner's disposition is the call's; else the first one given.
        let disposition = d
            .participants
            .iter()
            .filter(|p| Some(p.agent_id) == d.owner && p.disposition.is_some())
            .chain(d.participants.iter().filter(|p| p.disposition.is_some()))
            .map(|p| p.disposition.clone())
            .next()
            .flatten();
        NewActivity {
            queue_name: self.queue_ref().name,
            agent_names: d
                .participants
                .iter()
                .map(|p| p.display_name.clone())
                .collect(),
            interaction_id: d.id,
            channel_id: d.channel_id,
            queue_id: d.queue_id,
            contact_id: d.contact_id.clone(),
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
            transcript: self.messages.clone(),
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
        if let Some(p) = next
            .participants
            .iter_mut()
            .find(|p| p.agent_id == agent_id)
        {
            p.left_at = Some(now);
        }
        let was_owner = next.owner == Some(agent_id);
        if was_owner {
            next.owner = None;
            next.state = InteractionState::Queued;
            next.position = -now;
        }
        let row = next.clone();
        Box::pin(
            self.persist(move |db| interactions::save(db, &row))
                .map(move |res, act, ctx| {
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
                    act.announce_state(ctx);
                }),
        )
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
        self.refresh_alert(ctx);
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
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> StoreResult<_> {
                if messages::wamid_exists(db, &m.wamid)? {
                    return Ok(None);
                }
                interactions::save(db, &row)?;
                let message = CustomerMessage {
                    wamid: &m.wamid,
                    from: &m.from,
                    author_name: &author_name,
                    kind: m.kind,
                    text: &m.text,
                    media_id: m.media_id.as_deref(),
                    sent_at: m.timestamp_ms,
                };
                Ok(Some(messages::insert_customer(
                    db,
                    interaction_id,
                    &message,
                    now,
                )?))
            })
            .map(move |res, act, ctx| {
                let Some(message) = res? else {
                    return Ok(InboundOutcome::Duplicate);
                };
                act.d = next;
                act.persisted = true;
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
                act.refresh_alert(ctx);
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
        // The offer carries the number of CRM matches (R20): look them up first.
        let fut = self
            .ensure_contacts()
            .map(move |(), act, ctx| act.offer_now(msg, ctx));
        ctx.wait(fut);
    }
}

impl InteractionActor {
    fn offer_now(&mut self, msg: OfferTo, ctx: &mut Context<Self>) {
        if self.d.state != InteractionState::Queued || self.d.offer.is_some() {
            msg.agent.do_send(Release {
                interaction_id: self.d.id,
            });
            return;
        }
        let (timeout, _) = self.queue_settings();
        let mut next = self.d.clone();
        next.state = InteractionState::Offered;
        next.offer = Some(PendingOffer {
            agent_id: msg.agent_id,
            kind: OfferKind::New,
            expires_at: now_ms() + i64::from(timeout) * 1000,
            from_agent_id: None,
            can_reject: msg.can_reject,
        });
        let row = next.clone();
        let agent = msg.agent;
        let fut = self
            .persist(move |db| interactions::save(db, &row))
            .map(move |res, act, ctx| {
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
    fn check_offered_to(&self, agent_id: i64) -> Result<&PendingOffer, CommandError> {
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
                return Err(CommandError::new(
                    "invalid_state",
                    "you are wrapping up this conversation",
                ))
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
        if let Err(e) = self.check_offered_to(msg.agent_id) {
            return reply(Err(e));
        }
        AtomicResponse::new(Box::pin(
            self.ensure_contacts()
                .then(move |(), act, _ctx| act.accept_now(msg)),
        ))
    }
}

impl InteractionActor {
    fn accept_now(&mut self, msg: Accept) -> ResponseActFuture<Self, CommandResult> {
        let offer = match self.check_offered_to(msg.agent_id) {
            Ok(o) => o.clone(),
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let agent_id = msg.agent_id;
        let offer_kind = offer.kind;
        let pop = self.screen_pop_for(agent_id);
        let now = now_ms();
        let mut next = self.d.clone();
        next.offer = None;
        let display_name = self.registry.agent_name(msg.agent_id).unwrap_or_default();
        let mut notes = Vec::new();
        let role = match offer.kind {
            OfferKind::New | OfferKind::Transfer => {
                next.state = InteractionState::Active;
                next.owner = Some(msg.agent_id);
                next.accepted_at.get_or_insert(now);
                ParticipantRole::Owner
            }
            OfferKind::Conference => {
                next.conference_state = ConferenceState::Active;
                notes.push(format!("{display_name} joined the chat"));
                ParticipantRole::Conference
            }
        };
        next.participants.retain(|p| p.agent_id != msg.agent_id);
        next.participants.push(ParticipantRecord {
            agent_id: msg.agent_id,
            display_name,
            role,
            joined_at: now,
            left_at: None,
            wrap_up_deadline: None,
            wrapped_up_at: None,
            disposition: None,
            auto: None,
            wrap_up_codes: None,
            wrap_up_required: None,
        });
        if next.contact_id.is_none() {
            next.contact_id = pop.linked().map(|c| c.id.clone());
        }
        Box::pin(self.commit(&next, notes).map(move |res, act, ctx| {
            let notes = res?;
            act.d = next;
            crate::metrics::offer_ended(
                act.d.id,
                act.d.queue_id,
                agent_id,
                offer_kind.as_str(),
                "accepted",
            );
            if let Some(h) = act.offer_timer.take() {
                ctx.cancel_future(h);
            }
            act.announce_state(ctx);
            act.add_notes(notes);
            if act.linked.is_none() {
                act.linked = pop.linked().cloned();
            }
            act.push_screen_pop(agent_id, pop, ctx);
            Ok(())
        }))
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
            return fail(
                "interrupted",
                format!("the conversation was interrupted: {reason}"),
            );
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
        AtomicResponse::new(Box::pin(
            self.persist(move |db| {
                messages::insert_agent_text(db, interaction_id, agent_id, &author_name, &text, now)
            })
            .map(move |res, act, ctx| {
                let message = res?;
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
                act.refresh_alert(ctx);
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
        if self.d.owner != Some(msg.agent_id) && self.d.interrupted.is_none() {
            return fail("not_owner", "only the owner can end the conversation");
        }
        let now = now_ms();
        let deadline = self.wrap_up_deadline(now);
        let terms = self.wrap_up_terms();
        let mut next = self.d.clone();
        next.state = InteractionState::WrapUp;
        next.ended_at = Some(now);
        let pending_offer = next.offer.take();
        if pending_offer.is_some() {
            next.conference_state = ConferenceState::None;
        }
        let mut wrapping = Vec::new();
        for p in next.participants.iter_mut().filter(|p| p.active()) {
            p.start_wrap_up(deadline, &terms);
            wrapping.push(p.agent_id);
        }
        AtomicResponse::new(self.commit_wrap_ups(
            next,
            Vec::new(),
            pending_offer,
            wrapping,
            deadline,
        ))
    }
}

impl Handler<WrapUp> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: WrapUp, _ctx: &mut Self::Context) -> Self::Result {
        let (codes, required) = match self.participant(msg.agent_id) {
            Some(p) if p.wrapping_up() => p.wrap_up_terms(),
            Some(_) => return fail("invalid_state", "you are not wrapping up this conversation"),
            None => return fail("not_participant", "you are not in this conversation"),
        };
        let disposition = msg.disposition.filter(|d| !d.is_empty());
        match &disposition {
            Some(code) if !codes.iter().any(|c| &c.code == code) => {
                return fail(
                    "unknown_disposition",
                    format!("`{code}` is not a disposition code of this queue"),
                )
            }
            None if required => {
                return fail(
                    "disposition_required",
                    "this queue requires a disposition code",
                )
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
        if self
            .d
            .offer
            .as_ref()
            .is_some_and(|o| o.agent_id == msg.agent_id)
        {
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
        let involved = self.participant(msg.agent_id).is_some_and(|p| !p.done());
        let offered = self
            .d
            .offer
            .as_ref()
            .is_some_and(|o| o.agent_id == msg.agent_id);
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

/// Where a transfer or conference invitation goes.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Queue(i64),
    Agent(i64),
}

impl Target {
    pub fn from_ids(queue_id: Option<i64>, agent_id: Option<i64>) -> Result<Target, CommandError> {
        match (queue_id, agent_id) {
            (Some(q), None) => Ok(Target::Queue(q)),
            (None, Some(a)) => Ok(Target::Agent(a)),
            _ => Err(CommandError::new(
                "bad_request",
                "give exactly one of queue_id and agent_id",
            )),
        }
    }
}

/// At most this many agents in one conversation (R18).
pub const MAX_AGENTS: usize = 5;

agent_command!(Transfer { target: Target });
agent_command!(Conference { target: Target });
agent_command!(EndConference {});
agent_command!(LeaveConference {});

impl InteractionActor {
    /// Transfer and conference are the owner's, on an active, uninterrupted conversation.
    fn check_owner_may_route(&self, agent_id: i64) -> Result<(), CommandError> {
        self.check_active_participant(agent_id)?;
        if self.d.owner != Some(agent_id) {
            return Err(CommandError::new("not_owner", "only the owner can do this"));
        }
        if let Some(reason) = &self.d.interrupted {
            return Err(CommandError::new(
                "interrupted",
                format!("the conversation was interrupted: {reason}"),
            ));
        }
        if self.d.offer.is_some() {
            return Err(CommandError::new(
                "invalid_state",
                "an invitation for this conversation is pending",
            ));
        }
        Ok(())
    }

    /// Reserves capacity at the target agent (R17: connected, available, below capacity).
    fn reserve_agent(
        &self,
        me: Addr<Self>,
        target: i64,
    ) -> impl ActorFuture<Self, Output = Result<(i64, super::agent::Reserved), CommandError>> {
        let agent = self.agent(target);
        let interaction_id = self.d.id;
        async move {
            let agent = agent
                .ok_or_else(|| CommandError::new("not_found", format!("no agent {target}")))?;
            match agent
                .send(super::agent::Reserve {
                    interaction_id,
                    queue_id: None,
                    interaction: me,
                })
                .await
            {
                Ok(Ok(reserved)) => Ok((target, reserved)),
                _ => Err(CommandError::new(
                    "target_unavailable",
                    "that agent is not connected, available and below capacity",
                )),
            }
        }
        .into_actor(self)
    }

    /// Offers an invitation (transfer or conference) to a reserved agent, after the commit.
    fn invite(
        &mut self,
        mut next: InteractionRecord,
        kind: OfferKind,
        from: i64,
        target: i64,
        reserved: super::agent::Reserved,
        notes: Vec<String>,
    ) -> ResponseActFuture<Self, CommandResult> {
        let now = now_ms();
        let (timeout, _) = self.queue_settings();
        next.offer = Some(PendingOffer {
            agent_id: target,
            kind,
            expires_at: now + i64::from(timeout) * 1000,
            from_agent_id: Some(from),
            can_reject: reserved.can_reject,
        });
        let wrapping_owner = (kind == OfferKind::Transfer).then_some(from);
        Box::pin(self.commit(&next, notes).map(move |res, act, ctx| {
            let notes = match res {
                Ok(n) => n,
                Err(e) => {
                    if let Some(a) = act.agent(target) {
                        a.do_send(Release {
                            interaction_id: act.d.id,
                        });
                    }
                    return Err(e.into());
                }
            };
            // The transferring agent's notes are shown before it leaves the conversation.
            act.add_notes(notes);
            act.d = next;
            if let Some(offer) = act.offer_event() {
                act.push_to(target, ServerEvent::Offer(offer));
            }
            act.start_offer_timer(ctx);
            if let Some(owner) = wrapping_owner {
                let deadline = act.participant(owner).and_then(|p| p.wrap_up_deadline);
                act.announce_state(ctx);
                if let Some(deadline) = deadline {
                    act.begin_wrap_up(owner, deadline, ctx);
                }
            } else {
                act.announce_state(ctx);
            }
            Ok(())
        }))
    }
}

impl Handler<Transfer> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Transfer, ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_owner_may_route(msg.agent_id) {
            return reply(Err(e));
        }
        if self
            .d
            .participants
            .iter()
            .any(|p| p.active() && p.role == ParticipantRole::Conference)
        {
            return fail("invalid_state", "end the conference before transferring");
        }
        let me = msg.agent_id;
        let me_name = self.display_name(me);
        let now = now_ms();
        let deadline = self.wrap_up_deadline(now);
        let terms = self.wrap_up_terms();
        // The transferring agent goes to wrap-up at once; the conversation leaves it.
        let mut next = self.d.clone();
        next.owner = None;
        next.position = -now;
        if let Some(p) = next.participants.iter_mut().find(|p| p.agent_id == me) {
            p.start_wrap_up(deadline, &terms);
        }
        match msg.target {
            Target::Queue(queue_id) => {
                let Some(queue) = self.registry.queue_record(queue_id) else {
                    return fail("not_found", format!("no queue {queue_id}"));
                };
                next.state = InteractionState::Queued;
                next.queue_id = queue_id;
                let notes = vec![format!(
                    "{me_name} transferred the conversation to the queue {}",
                    queue.name
                )];
                AtomicResponse::new(Box::pin(self.commit(&next, notes).map(
                    move |res, act, ctx| {
                        let notes = res?;
                        act.add_notes(notes);
                        act.d = next;
                        act.announce_state(ctx);
                        act.begin_wrap_up(me, deadline, ctx);
                        act.enqueue();
                        Ok(())
                    },
                )))
            }
            Target::Agent(target) => {
                if target == me {
                    return fail("invalid_target", "you cannot transfer to yourself");
                }
                next.state = InteractionState::Offered;
                let target_name = self.registry.agent_name(target).unwrap_or_default();
                let notes = vec![format!(
                    "{me_name} transferred the conversation to {target_name}"
                )];
                let addr = ctx.address();
                AtomicResponse::new(Box::pin(self.reserve_agent(addr, target).then(
                    move |res, act, _ctx| -> ResponseActFuture<Self, CommandResult> {
                        match res {
                            Ok((target, reserved)) => {
                                act.invite(next, OfferKind::Transfer, me, target, reserved, notes)
                            }
                            Err(e) => Box::pin(fut::ready(Err(e))),
                        }
                    },
                )))
            }
        }
    }
}

impl Handler<Conference> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Conference, ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_owner_may_route(msg.agent_id) {
            return reply(Err(e));
        }
        let in_it: Vec<i64> = self.active_agents();
        if in_it.len() >= MAX_AGENTS {
            return fail(
                "conversation_full",
                format!("at most {MAX_AGENTS} agents can be in one conversation"),
            );
        }
        let me = msg.agent_id;
        let mut next = self.d.clone();
        if next.conference_state == ConferenceState::None {
            next.conference_state = ConferenceState::Requested;
        }
        let addr = ctx.address();
        let reserve: ResponseActFuture<Self, Result<(i64, super::agent::Reserved), CommandError>> =
            match msg.target {
                Target::Agent(target) => {
                    if in_it.contains(&target) {
                        return fail(
                            "invalid_target",
                            "that agent is already in the conversation",
                        );
                    }
                    Box::pin(self.reserve_agent(addr, target))
                }
                Target::Queue(queue_id) => {
                    let Some(queue) = self.registry.queue(queue_id) else {
                        return fail("not_found", format!("no queue {queue_id}"));
                    };
                    let pick = queue.send(super::queue::PickAgent {
                        interaction_id: self.d.id,
                        interaction: addr,
                        exclude: in_it,
                    });
                    Box::pin(
                        async move {
                            match pick.await {
                                Ok(Some(picked)) => Ok(picked),
                                _ => Err(CommandError::new(
                                    "target_unavailable",
                                    "no agent of that queue is available",
                                )),
                            }
                        }
                        .into_actor(self),
                    )
                }
            };
        AtomicResponse::new(Box::pin(reserve.then(
            move |res, act, _ctx| -> ResponseActFuture<Self, CommandResult> {
                match res {
                    Ok((target, reserved)) => act.invite(
                        next,
                        OfferKind::Conference,
                        me,
                        target,
                        reserved,
                        Vec::new(),
                    ),
                    Err(e) => Box::pin(fut::ready(Err(e))),
                }
            },
        )))
    }
}

impl InteractionActor {
    /// Sends the given agents to wrap-up and lets the conversation go on without them.
    fn remove_agents(
        &mut self,
        agents: Vec<i64>,
        notes: Vec<String>,
        cancel_invitation: bool,
    ) -> ResponseActFuture<Self, CommandResult> {
        let now = now_ms();
        let deadline = self.wrap_up_deadline(now);
        let terms = self.wrap_up_terms();
        let mut next = self.d.clone();
        for p in next
            .participants
            .iter_mut()
            .filter(|p| agents.contains(&p.agent_id))
        {
            p.start_wrap_up(deadline, &terms);
        }
        let cancelled = if cancel_invitation {
            next.offer.take_if(|o| o.kind == OfferKind::Conference)
        } else {
            None
        };
        let others_left = next
            .participants
            .iter()
            .any(|p| p.active() && p.role == ParticipantRole::Conference);
        if !others_left && next.offer.is_none() {
            next.conference_state = ConferenceState::None;
        }
        self.commit_wrap_ups(next, notes, cancelled, agents, deadline)
    }

    /// Commits `next` (in which `agents` start wrap-up at `deadline`), then takes back the
    /// withdrawn invitation, announces the state and starts each agent's countdown.
    fn commit_wrap_ups(
        &mut self,
        next: InteractionRecord,
        notes: Vec<String>,
        withdrawn: Option<PendingOffer>,
        agents: Vec<i64>,
        deadline: i64,
    ) -> ResponseActFuture<Self, CommandResult> {
        Box::pin(self.commit(&next, notes).map(move |res, act, ctx| {
            let notes = res?;
            act.add_notes(notes);
            act.d = next;
            if let Some(o) = withdrawn {
                act.withdraw_offer(&o, RevokeReason::Taken, ctx);
            }
            act.announce_state(ctx);
            for agent_id in agents {
                act.begin_wrap_up(agent_id, deadline, ctx);
            }
            Ok(())
        }))
    }
}

impl Handler<EndConference> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: EndConference, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_active_participant(msg.agent_id) {
            return reply(Err(e));
        }
        if self.d.owner != Some(msg.agent_id) {
            return fail("not_owner", "only the owner can end the conference");
        }
        if self.d.conference_state == ConferenceState::None {
            return fail("invalid_state", "there is no conference");
        }
        let guests: Vec<i64> = self
            .d
            .participants
            .iter()
            .filter(|p| p.active() && p.role == ParticipantRole::Conference)
            .map(|p| p.agent_id)
            .collect();
        let notes = guests
            .iter()
            .map(|id| format!("{} left the chat", self.display_name(*id)))
            .collect();
        AtomicResponse::new(self.remove_agents(guests, notes, true))
    }
}

impl Handler<LeaveConference> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: LeaveConference, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_active_participant(msg.agent_id) {
            return reply(Err(e));
        }
        if self.participant(msg.agent_id).map(|p| p.role) != Some(ParticipantRole::Conference) {
            return fail(
                "not_conference_participant",
                "only an invited agent can leave a conference",
            );
        }
        let notes = vec![format!("{} left the chat", self.display_name(msg.agent_id))];
        AtomicResponse::new(self.remove_agents(vec![msg.agent_id], notes, false))
    }
}

/// A resource this interaction may use was deleted by an admin (R15).
#[derive(Message, Clone)]
#[rtype(result = "()")]
pub enum ResourceDeleted {
    Queue(i64),
    Channel(i64),
    Agent(i64),
}

impl Handler<ResourceDeleted> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: ResourceDeleted, ctx: &mut Self::Context) {
        let reason = match msg {
            ResourceDeleted::Queue(id) if id == self.d.queue_id => "the queue was deleted",
            ResourceDeleted::Channel(id) if id == self.d.channel_id => "the channel was deleted",
            ResourceDeleted::Agent(id) => {
                self.agent_deleted(id, ctx);
                return;
            }
            _ => return,
        };
        if !self.persisted || self.d.state == InteractionState::Closed {
            return;
        }
        let fut = self.interrupt(reason.to_string(), None).map(|res, _, _| {
            if let Err(e) = res {
                tracing::error!(error = %e.message, "could not interrupt an interaction");
            }
        });
        ctx.wait(fut);
    }
}

impl InteractionActor {
    /// R15: the conversation is interrupted. Agents in it are told and can only end and wrap
    /// up; a pending offer is revoked; a conversation with no agent left is closed at once
    /// (its call log is still saved).
    fn interrupt(
        &mut self,
        reason: String,
        gone_agent: Option<i64>,
    ) -> ResponseActFuture<Self, CommandResult> {
        let now = now_ms();
        let mut next = self.d.clone();
        next.interrupted = Some(reason.clone());
        let revoked = next.offer.take();
        if next.state == InteractionState::Offered {
            next.state = InteractionState::Queued;
        }
        if let Some(o) = &revoked {
            if o.kind == OfferKind::Conference
                && next.conference_state == ConferenceState::Requested
            {
                next.conference_state = ConferenceState::None;
            }
        }
        if let Some(gone) = gone_agent {
            if let Some(p) = next
                .participants
                .iter_mut()
                .find(|p| p.agent_id == gone && !p.done())
            {
                p.left_at = Some(now);
            }
        }
        let nobody_left = next.participants.iter().all(|p| p.done());
        let closing = nobody_left;
        if closing {
            if next.ended_at.is_none() {
                next.ended_at = Some(now);
            }
            next.state = InteractionState::Closed;
            next.closed_at = Some(now);
        }
        let activity = closing.then(|| self.activity_row(&next, now));
        let push_to_crm = self.registry.crm.pushes_activities();
        let row = next.clone();
        let note = format!("The conversation was interrupted: {reason}");
        let interaction_id = self.d.id;
        Box::pin(
            self.persist(move |db| -> StoreResult<_> {
                interactions::save(db, &row)?;
                let note = messages::insert_system(db, interaction_id, note, now)?;
                if let Some(mut a) = activity {
                    a.transcript.push(note.clone());
                    activities::insert(db, &a, push_to_crm)?;
                }
                Ok(note)
            })
            .map(move |res, act, ctx| {
                let note = res?;
                act.d = next;
                act.add_notes(vec![note]);
                if let Some(o) = revoked {
                    act.withdraw_offer(&o, RevokeReason::ResourceDeleted, ctx);
                }
                if let Some(gone) = gone_agent {
                    if let Some(h) = act.wrap_timers.remove(&gone) {
                        ctx.cancel_future(h);
                    }
                }
                // An interrupted conversation is never routed again.
                if let Some(q) = act.registry.queue(act.d.queue_id) {
                    q.do_send(super::queue::Dequeue {
                        interaction_id: act.d.id,
                    });
                }
                if closing {
                    act.registry.crm.activity_enqueued();
                    act.registry.interaction_closed(
                        act.d.id,
                        act.d.channel_id,
                        &act.d.customer_wa_id,
                    );
                    ctx.stop();
                    return Ok(());
                }
                for agent_id in act.involved_agents() {
                    act.push_to(
                        agent_id,
                        ServerEvent::Interrupted {
                            interaction_id: act.d.id,
                            reason: reason.clone(),
                        },
                    );
                }
                act.announce_state(ctx);
                Ok(())
            }),
        )
    }

    /// An agent was deleted: an offer to it is revoked and the conversation rerouted; if it
    /// was in the conversation, the conversation is interrupted for the others (R15).
    fn agent_deleted(&mut self, agent_id: i64, ctx: &mut Context<Self>) {
        if self
            .d
            .offer
            .as_ref()
            .is_some_and(|o| o.agent_id == agent_id)
        {
            let fut = self
                .take_back_offer(RevokeReason::ResourceDeleted)
                .map(|_, _, _| ());
            ctx.wait(fut);
        }
        if self.participant(agent_id).is_some_and(|p| !p.done()) {
            let fut = self
                .interrupt("the agent was deleted".to_string(), Some(agent_id))
                .map(|res, _, _| {
                    if let Err(e) = res {
                        tracing::error!(error = %e.message, "could not interrupt an interaction");
                    }
                });
            ctx.wait(fut);
        }
    }
}

/// How long a screen-pop lookup may hold up an offer; past it the offer goes out without
/// the match count and the agent sees the CRM error (a CRM outage never blocks routing).
const CRM_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

impl InteractionActor {
    /// Looks the customer's number up in the CRM once (again after a failure).
    fn ensure_contacts(&mut self) -> ResponseActFuture<Self, ()> {
        if matches!(self.contacts, Some(Ok(_))) {
            return Box::pin(fut::ready(()));
        }
        let crm = self.registry.crm.clone();
        let e164 = crate::domain::phone::from_wa_id(&self.d.customer_wa_id);
        Box::pin(
            async move {
                let Some(e164) = e164 else {
                    return Ok(Vec::new());
                };
                match tokio::time::timeout(CRM_LOOKUP_TIMEOUT, crm.lookup_by_phone(&e164)).await {
                    Ok(found) => found.map_err(|e| format!("CRM lookup failed: {e}")),
                    Err(_) => Err("CRM lookup failed: no answer in time".to_string()),
                }
            }
            .into_actor(self)
            .map(|found, act, _ctx| {
                if let Err(e) = &found {
                    tracing::warn!(interaction = act.d.id, error = %e, "screen pop lookup");
                }
                act.contacts = Some(found);
            }),
        )
    }

    /// R20: what the accepting agent's screen pops. A contact already linked (by an earlier
    /// agent, or chosen with `link_contact`) pops as it is.
    fn screen_pop_for(&self, agent_id: i64) -> ScreenPop {
        let auto = self
            .registry
            .agent_record(agent_id)
            .is_none_or(|a| a.auto_multi_match_pop);
        let mut pop = match &self.contacts {
            Some(Ok(matches)) => ScreenPop::decide(Ok(matches.clone()), auto),
            Some(Err(e)) => ScreenPop::decide(Err(CrmError::Unavailable(e.clone())), auto),
            None => ScreenPop::decide(Ok(Vec::new()), auto),
        };
        if let Some(e) = &pop.error {
            // decide() prefixes its own words; keep the lookup's message as it was.
            if let Some(Err(original)) = &self.contacts {
                pop.error = Some(original.clone());
            } else {
                pop.error = Some(e.clone());
            }
        }
        let linked = self.linked.clone().or_else(|| {
            let id = self.d.contact_id.as_ref()?;
            pop.matches.iter().find(|c| &c.id == id).cloned()
        });
        if let Some(contact) = linked {
            pop.action = crate::crm::PopAction::Pop;
            pop.contact = Some(contact);
        }
        pop
    }

    /// Sends `screen_pop` with the linked contact's recent call logs.
    fn push_screen_pop(&self, agent_id: i64, pop: ScreenPop, ctx: &mut Context<Self>) {
        let store = self.registry.store.clone();
        let linked = pop.linked().map(|c| c.id.clone());
        let interaction_id = self.d.id;
        let fut = async move {
            match linked {
                Some(id) => store
                    .read(move |db| activities::recent_for_contact(db, &id))
                    .await
                    .unwrap_or_default(),
                None => Vec::new(),
            }
        }
        .into_actor(self)
        .map(move |activities, act, _ctx| {
            act.push_to(
                agent_id,
                ServerEvent::ScreenPop {
                    interaction_id,
                    action: pop.action,
                    contact: pop.contact,
                    matches: pop.matches,
                    error: pop.error,
                    activities,
                },
            );
        });
        ctx.spawn(fut);
    }

    /// Links the interaction to `contact` (persisted), then pops it on the agent's screen.
    fn link(&mut self, agent_id: i64, contact: Contact) -> ResponseActFuture<Self, CommandResult> {
        let mut next = self.d.clone();
        next.contact_id = Some(contact.id.clone());
        let row = next.clone();
        Box::pin(
            self.persist(move |db| interactions::save(db, &row))
                .map(move |res, act, ctx| {
                    res?;
                    act.d = next;
                    act.linked = Some(contact.clone());
                    let mut pop = act.screen_pop_for(agent_id);
                    pop.action = crate::crm::PopAction::Pop;
                    pop.contact = Some(contact);
                    act.push_screen_pop(agent_id, pop, ctx);
                    act.announce_state(ctx);
                    Ok(())
                }),
        )
    }

    /// Link and create are for the agents in the conversation or wrapping it up.
    fn check_involved(&self, agent_id: i64) -> Result<(), CommandError> {
        match self.participant(agent_id) {
            Some(p) if !p.done() => Ok(()),
            _ => Err(CommandError::new(
                "not_participant",
                "you are not in this conversation",
            )),
        }
    }
}

fn crm_error(e: CrmError) -> CommandError {
    CommandError::new(e.code(), e.to_string())
}

agent_command!(LinkContact {
    contact_id: ContactId
});
agent_command!(CreateContact {
    contact: serde_json::Value
});

impl Handler<LinkContact> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: LinkContact, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_involved(msg.agent_id) {
            return reply(Err(e));
        }
        let crm = self.registry.crm.clone();
        let id = msg.contact_id;
        let agent_id = msg.agent_id;
        AtomicResponse::new(Box::pin(
            async move {
                match crm.get(&id).await {
                    Ok(Some(contact)) => Ok(contact),
                    Ok(None) => Err(CommandError::new("not_found", format!("no contact {id}"))),
                    Err(e) => Err(crm_error(e)),
                }
            }
            .into_actor(self)
            .then(
                move |found, act, _ctx| -> ResponseActFuture<Self, CommandResult> {
                    match found {
                        Ok(contact) => act.link(agent_id, contact),
                        Err(e) => Box::pin(fut::ready(Err(e))),
                    }
                },
            ),
        ))
    }
}

impl Handler<CreateContact> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: CreateContact, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_involved(msg.agent_id) {
            return reply(Err(e));
        }
        let mut new: crate::crm::NewContact = match serde_json::from_value(msg.contact) {
            Ok(c) => c,
            Err(e) => return fail("invalid_input", format!("contact: {e}")),
        };
        // The customer's number and WhatsApp profile name are the defaults.
        if new.phones.is_empty() {
            new.phones.push(format!("+{}", self.d.customer_wa_id));
        }
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|v| v.trim().is_empty());
        let profile = self.d.customer_name.trim();
        let profile_is_a_name = !profile.is_empty() && !profile.starts_with('+');
        if blank(&new.first_name) && blank(&new.last_name) && profile_is_a_name {
            new.first_name = Some(profile.to_string());
        }
        let crm = self.registry.crm.clone();
        let agent_id = msg.agent_id;
        let e164 = crate::domain::phone::from_wa_id(&self.d.customer_wa_id);
        AtomicResponse::new(Box::pin(
            async move { crm.create(new).await.map_err(crm_error) }
                .into_actor(self)
                .then(
                    move |created, act, _ctx| -> ResponseActFuture<Self, CommandResult> {
                        match created {
                            Ok(contact) => {
                                // The new contact matches the customer's number from now on.
                                if let (Some(Ok(matches)), Some(e164)) = (&mut act.contacts, &e164)
                                {
                                    if contact.phones.contains(e164) {
                                        matches.insert(0, contact.clone());
                                    }
                                }
                                act.link(agent_id, contact)
                            }
                            Err(e) => Box::pin(fut::ready(Err(e))),
                        }
                    },
                ),
        ))
    }
}
