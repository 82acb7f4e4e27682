//! The interaction actor: one WhatsApp conversation from the first customer message to its
//! call log. It owns the state machine (queued → offered → active → wrap_up → closed), the
//! transcript, the offer timer, the wrap-up countdowns and the reconnect grace timers.
//! Every change is committed to SQLite before it is applied and announced (R10).
//!
//! Still one actor per conversation; its handlers live in one file per rule of SPEC.md.

mod accept;
mod alerts;
mod arrival;
mod conference;
mod identity;
mod inbound;
mod interruption;
mod media;
mod offer;
mod outbound;
mod overflow;
mod presence;
mod reactions;
mod read_receipts;
mod reject;
pub mod screen_pop;
mod send;
mod supervision;
mod templates;
mod transfer;
mod wrap_up;

pub use crate::domain::interaction::{Target, MAX_AGENTS};
pub use accept::Accept;
pub use conference::{Conference, EndConference, LeaveConference};
pub use identity::CustomerChanged;
pub use inbound::{Inbound, InboundOutcome};
pub use interruption::ResourceDeleted;
pub use media::{CheckAttachment, MediaChanged, SendAttachment, StoredAttachment};
pub use offer::OfferTo;
pub use outbound::StartOutbound;
pub use overflow::Overflow;
pub use presence::{AgentLeftSession, AgentReturned};
pub use reactions::{CustomerUpdate, React};
pub use read_receipts::MarkRead;
pub use reject::Reject;
pub use screen_pop::{CreateContact, LinkContact};
pub use send::{MessageStatusChanged, SendText};
pub use supervision::{BargeIn, Note, Watch};
pub use templates::{SendTemplate, TemplateSend};
pub use transfer::Transfer;
pub use wrap_up::{End, WrapUp};

use super::registry::Registry;
use crate::actors::agent::{AgentActor, Hold, Push, Release};
use crate::actors::queue::Enqueue;
use crate::crm::Contact;
use crate::domain::customer::CustomerIdentity;
use crate::domain::error_code::ErrorCode;
use crate::domain::interaction::{InteractionRecord, ParticipantRecord};
use crate::domain::priority::queue_key;
use crate::domain::time::now_ms;
use crate::domain::waiting_line::Waiting;
use crate::domain::{
    AlertLevel, ConferenceState, InteractionKind, InteractionState, RevokeReason,
    CUSTOMER_WINDOW_MS,
};
use crate::store::{interactions, messages, Db, StoreError, StoreResult};
use crate::ws::protocol::{self, AgentRef, CommandError, Customer, QueueRef, ServerEvent};
use actix::prelude::*;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

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
    /// The CRM lookup running in the background, if any.
    lookup: Option<SpawnHandle>,
    /// An offer that waits for the lookup's match count (R20).
    offer_waiting_for_lookup: Option<OfferTo>,
    /// The contact the interaction is linked to, when known.
    linked: Option<Contact>,
    /// When a typing indicator last went to Meta (R24: at most one every 20 s).
    last_typing_at: Option<i64>,
    /// Supervisors watching the conversation (R25): they get its events; agents are not told.
    watchers: HashSet<i64>,
    _alive: crate::metrics::Alive,
}

type Reply<T> = AtomicResponse<InteractionActor, T>;

fn reply<T: 'static>(value: T) -> Reply<T> {
    AtomicResponse::new(Box::pin(fut::ready(value)))
}

fn fail<T: 'static>(code: ErrorCode, message: impl Into<String>) -> Reply<Result<T, CommandError>> {
    reply(Err(CommandError::new(code, message)))
}

impl InteractionActor {
    /// A new, not yet persisted interaction for a customer of a channel.
    pub fn new_for_customer(
        registry: Arc<Registry>,
        id: i64,
        channel: &crate::store::channels::ChannelRecord,
        customer: &CustomerIdentity,
    ) -> Self {
        let now = now_ms();
        let d = InteractionRecord {
            id,
            channel_id: channel.id,
            queue_id: channel.queue_id,
            kind: InteractionKind::Inbound,
            customer: customer.clone(),
            customer_id: None,
            customer_name: customer.label(),
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
            routing: crate::domain::interaction::InteractionRouting {
                queued_at: now,
                ..Default::default()
            },
        };
        Self::with(registry, d, Vec::new(), false)
    }

    /// An open interaction read back from the store after a restart (R10).
    pub fn restored(
        registry: Arc<Registry>,
        d: InteractionRecord,
        messages: Vec<protocol::Message>,
    ) -> Self {
        Self::with(registry, d, messages, true)
    }

    /// A new conversation (not yet in the store) or one read back from it, with no timer yet.
    fn with(
        registry: Arc<Registry>,
        d: InteractionRecord,
        messages: Vec<protocol::Message>,
        restored: bool,
    ) -> Self {
        InteractionActor {
            registry,
            d,
            persisted: restored,
            messages,
            offer_timer: None,
            wrap_timers: HashMap::new(),
            grace_timers: HashMap::new(),
            disconnected: HashSet::new(),
            restored,
            alert: AlertLevel::None,
            alert_timers: Vec::new(),
            contacts: None,
            lookup: None,
            offer_waiting_for_lookup: None,
            linked: None,
            last_typing_at: None,
            watchers: HashSet::new(),
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
        self.d.participant(agent_id)
    }

    /// Agents who read and write in the conversation.
    fn active_agents(&self) -> Vec<i64> {
        self.d.active_agents()
    }

    /// Who sees the transcript's events: the agents in the conversation, and the
    /// supervisors watching it (R25).
    fn audience(&self) -> Vec<i64> {
        self.and_watchers(self.active_agents())
    }

    /// `agents` and the watchers who are not among them.
    fn and_watchers(&self, mut agents: Vec<i64>) -> Vec<i64> {
        if self.watchers.is_empty() {
            return agents; // nearly always: nobody watches
        }
        let watchers: Vec<i64> = self
            .watchers
            .iter()
            .filter(|w| !agents.contains(w))
            .copied()
            .collect();
        agents.extend(watchers);
        agents
    }

    /// Shows an event of the transcript to [`Self::audience`].
    fn show(&self, event: ServerEvent) {
        for agent_id in self.audience() {
            self.push_to(agent_id, event.clone());
        }
    }

    /// Shows a change of state to [`Self::state_audience`].
    fn show_state(&self, event: ServerEvent) {
        for agent_id in self.state_audience() {
            self.push_to(agent_id, event.clone());
        }
    }

    /// Who is told of a change of state: the agents in it or wrapping it up, and the
    /// watchers.
    fn state_audience(&self) -> Vec<i64> {
        self.and_watchers(self.involved_agents())
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
                .with_queue(self.d.queue_id, |q| q.name.clone())
                .unwrap_or_default(),
        }
    }

    fn customer(&self) -> Customer {
        self.d.customer.view(&self.d.customer_name)
    }

    pub fn snapshot(&self) -> protocol::Interaction {
        protocol::Interaction {
            id: self.d.id,
            state: self.d.state,
            kind: self.d.kind,
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
            priority: self.d.routing.priority,
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
            priority: self.d.routing.priority,
        })
    }

    /// Tells the agents in the conversation its new state (and re-arms the R16 alert).
    fn announce_state(&mut self, ctx: &mut Context<Self>) {
        self.refresh_alert(ctx);
        let snapshot = self.snapshot();
        for agent_id in self.state_audience() {
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
            self.show(ServerEvent::Message {
                interaction_id: self.d.id,
                message,
            });
        }
    }

    fn display_name(&self, agent_id: i64) -> String {
        self.participant(agent_id)
            .map(|p| p.display_name.clone())
            .or_else(|| self.registry.agent_name(agent_id))
            .unwrap_or_else(|| format!("agent {agent_id}"))
    }

    fn enqueue(&self) {
        self.enqueue_in_line(false);
    }

    /// Waits in its queue: at its priority and position, reserved for its sticky agent, on
    /// the overflow clock unless it overflowed once (R27). `resumed` after a restart: a
    /// reservation stands though its agent has not reconnected yet.
    fn enqueue_in_line(&self, resumed: bool) {
        if self.d.interrupted.is_some() {
            return; // R15: it waits for its last agent to wrap up, then closes
        }
        let r = &self.d.routing;
        match self.registry.queue(self.d.queue_id) {
            Some(q) => q.do_send(Enqueue {
                waiting: Waiting {
                    key: queue_key(r.priority, self.d.position, self.d.id),
                    sticky: r.sticky,
                    queued_at: r.overflowed_from.is_none().then_some(r.queued_at),
                },
                resumed,
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
            .with_queue(self.d.queue_id, |q| (q.offer_timeout_secs, q.wrap_up_secs))
            .unwrap_or((30, 60))
    }
}

impl Actor for InteractionActor {
    type Context = Context<Self>;

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        // An offer still waiting for the CRM lookup gives its agent's capacity back.
        if let Some(offer) = self.offer_waiting_for_lookup.take() {
            offer.agent.do_send(Release {
                interaction_id: self.d.id,
            });
        }
    }

    fn started(&mut self, ctx: &mut Self::Context) {
        // The screen pop's lookup starts with the conversation, beside its mailbox (R20); after
        // a restart, only for the conversations about to be offered (not all at once).
        let waiting = matches!(
            self.d.state,
            InteractionState::Queued | InteractionState::Offered
        );
        if !self.restored || waiting {
            self.look_up_contacts(ctx);
        }
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
            self.enqueue_in_line(true);
        }
        self.refresh_alert(ctx);
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
