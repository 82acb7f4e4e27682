//! The agent actor: status, stop-new, capacity and the interactions it holds, its WebSocket
//! session, and the grace timer that sets it offline after a disconnect.

use super::interaction::{AgentLeftSession, AgentReturned, InteractionActor, SnapshotFor};
use super::queue::AgentUpdate;
use super::registry::Registry;
use crate::domain::error_code::ErrorCode;
use crate::domain::routing::Candidate;
use crate::domain::time::now_ms;
use crate::domain::AgentStatus;
use crate::store::agent_state;
use crate::store::users::AgentRecord;
use crate::ws::protocol::{AgentInfo, CommandError, CommandResult, ServerEvent, StatusInfo};
use actix::prelude::*;
use futures_util::future::join_all;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// What the agent actor sends its desktop session (`ws::session`).
#[derive(Message)]
#[rtype(result = "()")]
pub enum SessionEvent {
    Event(Box<ServerEvent>),
    /// Another connection of the same agent took over.
    Replaced,
    /// The server ends the session (agent deleted).
    Close(String),
}

pub struct AgentActor {
    rec: AgentRecord,
    registry: Arc<Registry>,
    /// Interactions this agent holds as offered, active or in wrap-up: its load.
    holds: HashMap<i64, Addr<InteractionActor>>,
    /// Interactions this supervisor watches (R25), until `unmonitor` or the desktop goes.
    watching: HashMap<i64, Addr<InteractionActor>>,
    idle_since: i64,
    last_offer_at: i64,
    session: Option<(u64, Recipient<SessionEvent>)>,
    /// Events held back while a new session's `hello` is being gathered, so that `hello`
    /// comes first. (The agent never blocks waiting on an interaction: interactions may
    /// wait on agents, so the wait must go one way only.)
    held_for_hello: Option<Vec<ServerEvent>>,
    offline_timer: Option<SpawnHandle>,
    /// Its own address, to finish dropping a session that stopped reading.
    me: Option<Addr<AgentActor>>,
    _alive: crate::metrics::Alive,
}

impl AgentActor {
    pub fn new(rec: AgentRecord, registry: Arc<Registry>) -> Self {
        let idle_since = rec.status_since;
        AgentActor {
            rec,
            registry,
            holds: HashMap::new(),
            watching: HashMap::new(),
            idle_since,
            last_offer_at: 0,
            session: None,
            held_for_hello: None,
            offline_timer: None,
            me: None,
            _alive: crate::metrics::Alive::new("agent"),
        }
    }

    fn load(&self) -> u32 {
        self.holds.len() as u32
    }

    fn candidate(&self) -> Candidate {
        Candidate {
            agent_id: self.rec.id,
            connected: self.session.is_some(),
            status: self.rec.status,
            stop_new: self.rec.stop_new,
            load: self.load(),
            max_concurrent: self.rec.max_concurrent,
            idle_since: self.idle_since,
            last_offer_at: self.last_offer_at,
        }
    }

    fn status_info(&self) -> StatusInfo {
        StatusInfo {
            status: self.rec.status,
            since: self.rec.status_since,
            stop_new: self.rec.stop_new,
            reason: self.rec.status_reason.clone(),
            load: self.load(),
            max_concurrent: self.rec.max_concurrent,
        }
    }

    fn info(&self) -> AgentInfo {
        AgentInfo {
            id: self.rec.id,
            display_name: self.rec.display_name.clone(),
            role: self.rec.role,
            can_reject: self.rec.can_reject,
            max_concurrent: self.rec.max_concurrent,
            auto_multi_match_pop: self.rec.auto_multi_match_pop,
        }
    }

    fn push(&mut self, event: ServerEvent) {
        if let Some(held) = &mut self.held_for_hello {
            held.push(event);
            return;
        }
        let Some((session_id, session)) = &self.session else {
            return;
        };
        // Bounded: a session whose mailbox is full (its client stopped reading, so its socket
        // stopped draining) is dropped rather than buffered without end; the client
        // reconnects and resyncs from `hello`.
        if let Err(SendError::Full(_)) = session.try_send(SessionEvent::Event(Box::new(event))) {
            tracing::warn!(
                agent = self.rec.id,
                session = session_id,
                "agent socket not reading: closing it (the client resyncs with hello)"
            );
            session.do_send(SessionEvent::Close("too many unread events".into()));
            self.session = None;
            self.held_for_hello = None;
            if let Some(me) = &self.me {
                me.do_send(SessionLost);
            }
        }
    }

    /// Tells the agent's queues what routing needs to know of it.
    fn publish(&self) {
        let candidate = self.candidate();
        for queue_id in &self.rec.queues {
            if let Some(queue) = self.registry.queue(*queue_id) {
                queue.do_send(AgentUpdate {
                    candidate: candidate.clone(),
                    skills: self.rec.skills.clone(),
                });
            }
        }
    }

    fn view(&self) -> AgentView {
        AgentView {
            id: self.rec.id,
            display_name: self.rec.display_name.clone(),
            status: self.rec.status,
            stop_new: self.rec.stop_new,
            connected: self.session.is_some(),
            load: self.load(),
            max_concurrent: self.rec.max_concurrent,
            queues: self.rec.queues.clone(),
        }
    }

    /// Persists a status change, then applies it, tells the agent and its queues.
    fn change_status(
        &mut self,
        status: AgentStatus,
        reason: Option<String>,
    ) -> ResponseActFuture<Self, CommandResult> {
        let id = self.rec.id;
        let since = now_ms();
        let store = self.registry.store.clone();
        let saved_reason = reason.clone();
        Box::pin(
            async move {
                store
                    .write(move |db| {
                        agent_state::set_status(db, id, status, since, saved_reason.as_deref())
                    })
                    .await
            }
            .into_actor(self)
            .map(move |res, act, _ctx| {
                res?;
                act.rec.status = status;
                act.rec.status_since = since;
                act.rec.status_reason = reason;
                if status == AgentStatus::Available {
                    act.idle_since = since;
                }
                act.push(ServerEvent::Status(act.status_info()));
                act.publish();
                Ok(())
            }),
        )
    }
}

impl Actor for AgentActor {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.me = Some(ctx.address());
        // A restarted server has no sockets yet: the agent gets the same grace as a disconnect.
        self.schedule_offline(ctx);
    }
}

impl AgentActor {
    fn schedule_offline(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.offline_timer.take() {
            ctx.cancel_future(h);
        }
        let grace = Duration::from_secs(self.registry.settings.routing.reconnect_grace_secs);
        self.offline_timer = Some(ctx.run_later(grace, |act, ctx| {
            act.offline_timer = None;
            if act.session.is_none() && act.rec.status != AgentStatus::Offline {
                let fut = act
                    .change_status(AgentStatus::Offline, Some("disconnected".into()))
                    .map(|res, _, _| {
                        if let Err(e) = res {
                            tracing::warn!(error = %e.message, "could not set a disconnected agent offline");
                        }
                    });
                ctx.wait(fut);
            }
        }));
    }
}

/// What the registry and transfer lists see of an agent.
#[derive(Debug, Clone)]
pub struct AgentView {
    pub id: i64,
    pub display_name: String,
    pub status: AgentStatus,
    pub stop_new: bool,
    pub connected: bool,
    pub load: u32,
    pub max_concurrent: u32,
    pub queues: Vec<i64>,
}

/// A WebSocket session of this agent opened; a previous one is replaced.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub session_id: u64,
    pub session: Recipient<SessionEvent>,
}

impl Handler<Connect> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: Connect, ctx: &mut Self::Context) {
        if let Some((_, old)) = self.session.take() {
            old.do_send(SessionEvent::Replaced);
        }
        if let Some(h) = self.offline_timer.take() {
            ctx.cancel_future(h);
        }
        let session_id = msg.session_id;
        self.session = Some((session_id, msg.session));
        self.held_for_hello = Some(Vec::new());
        let agent_id = self.rec.id;
        let holds: Vec<Addr<InteractionActor>> = self.holds.values().cloned().collect();
        for h in &holds {
            h.do_send(AgentReturned { agent_id });
        }
        let gather =
            async move { join_all(holds.iter().map(|h| h.send(SnapshotFor { agent_id }))).await };
        ctx.spawn(gather.into_actor(self).map(move |snapshots, act, _ctx| {
            if !matches!(&act.session, Some((id, _)) if *id == session_id) {
                return; // replaced or gone meanwhile; the newer session gathers its own
            }
            let mut interactions = Vec::new();
            let mut offers = Vec::new();
            for snap in snapshots.into_iter().flatten() {
                interactions.extend(snap.interaction);
                offers.extend(snap.offer);
            }
            interactions.sort_by_key(|i| (i.created_at, i.id));
            let hello = ServerEvent::Hello {
                agent: act.info(),
                status: act.status_info(),
                interactions,
                offers,
                server_time: now_ms(),
            };
            let held = act.held_for_hello.take().unwrap_or_default();
            act.push(hello);
            // Replayed after hello; an update the snapshot already has is harmless (clients
            // apply interactions and offers by id).
            for event in held {
                act.push(event);
            }
            act.publish();
        }));
    }
}

/// The session with this id closed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub session_id: u64,
}

impl Handler<Disconnect> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, ctx: &mut Self::Context) {
        if !matches!(&self.session, Some((id, _)) if *id == msg.session_id) {
            return; // an older, replaced session
        }
        self.session = None;
        self.held_for_hello = None;
        self.session_gone(ctx);
    }
}

/// A session dropped for not reading (see `push`): the same consequences as a disconnect.
#[derive(Message)]
#[rtype(result = "()")]
struct SessionLost;

impl Handler<SessionLost> for AgentActor {
    type Result = ();

    fn handle(&mut self, _: SessionLost, ctx: &mut Self::Context) {
        if self.session.is_none() {
            self.session_gone(ctx);
        }
    }
}

/// R25: this supervisor started or stopped watching an interaction.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Watching {
    pub interaction_id: i64,
    pub interaction: Addr<InteractionActor>,
    pub on: bool,
}

impl Handler<Watching> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: Watching, _ctx: &mut Self::Context) {
        if msg.on {
            self.watching.insert(msg.interaction_id, msg.interaction);
        } else {
            self.watching.remove(&msg.interaction_id);
        }
    }
}

impl AgentActor {
    /// R11: pending offers go back, active conversations wait out the grace period.
    fn session_gone(&mut self, ctx: &mut Context<Self>) {
        // R25: watching ends with the desktop.
        for (_, interaction) in self.watching.drain() {
            interaction.do_send(super::interaction::Watch {
                agent_id: self.rec.id,
                on: false,
            });
        }
        let agent_id = self.rec.id;
        for h in self.holds.values() {
            h.do_send(AgentLeftSession { agent_id });
        }
        self.publish();
        self.schedule_offline(ctx);
    }
}

#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct SetStatus {
    pub status: AgentStatus,
    pub reason: Option<String>,
}

impl Handler<SetStatus> for AgentActor {
    type Result = AtomicResponse<Self, CommandResult>;

    fn handle(&mut self, msg: SetStatus, _ctx: &mut Self::Context) -> Self::Result {
        if msg.status == AgentStatus::Rona {
            return AtomicResponse::new(Box::pin(fut::ready(Err(CommandError::new(
                ErrorCode::InvalidStatus,
                "an agent can choose available, on_break or offline",
            )))));
        }
        if let Some(r) = &msg.reason {
            if r.chars().count() > 200 {
                return AtomicResponse::new(Box::pin(fut::ready(Err(CommandError::new(
                    ErrorCode::InvalidInput,
                    "a status reason has at most 200 characters",
                )))));
            }
        }
        AtomicResponse::new(self.change_status(msg.status, msg.reason))
    }
}

#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct SetStopNew {
    pub enabled: bool,
}

impl Handler<SetStopNew> for AgentActor {
    type Result = AtomicResponse<Self, CommandResult>;

    fn handle(&mut self, msg: SetStopNew, _ctx: &mut Self::Context) -> Self::Result {
        let id = self.rec.id;
        let enabled = msg.enabled;
        let store = self.registry.store.clone();
        AtomicResponse::new(Box::pin(
            async move {
                store
                    .write(move |db| agent_state::set_stop_new(db, id, enabled))
                    .await
            }
            .into_actor(self)
            .map(move |res, act, _| {
                res?;
                act.rec.stop_new = enabled;
                act.push(ServerEvent::Status(act.status_info()));
                act.publish();
                Ok(())
            }),
        ))
    }
}

/// A queue asks to offer an interaction to this agent: granted only if the agent is
/// eligible right now (R2). On success the interaction counts in the agent's load.
#[derive(Message)]
#[rtype(result = "Result<Reserved, Candidate>")]
pub struct Reserve {
    pub interaction_id: i64,
    pub queue_id: Option<i64>,
    pub interaction: Addr<InteractionActor>,
}

#[derive(Debug, Clone)]
pub struct Reserved {
    pub can_reject: bool,
    pub display_name: String,
}

impl Handler<Reserve> for AgentActor {
    type Result = Result<Reserved, Candidate>;

    fn handle(&mut self, msg: Reserve, _ctx: &mut Self::Context) -> Self::Result {
        let candidate = self.candidate();
        let member = msg.queue_id.is_none_or(|q| self.rec.queues.contains(&q));
        if !candidate.eligible() || !member || self.holds.contains_key(&msg.interaction_id) {
            return Err(candidate);
        }
        self.holds.insert(msg.interaction_id, msg.interaction);
        self.last_offer_at = now_ms();
        self.push(ServerEvent::Status(self.status_info()));
        self.publish();
        Ok(Reserved {
            can_reject: self.rec.can_reject,
            display_name: self.rec.display_name.clone(),
        })
    }
}

/// The agent holds this interaction (restored after a restart, or joined it).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Hold {
    pub interaction_id: i64,
    pub interaction: Addr<InteractionActor>,
}

impl Handler<Hold> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: Hold, ctx: &mut Self::Context) {
        let addr = msg.interaction.clone();
        let new = self
            .holds
            .insert(msg.interaction_id, msg.interaction)
            .is_none();
        self.push(ServerEvent::Status(self.status_info()));
        self.publish();
        if new && self.session.is_some() {
            // Restored after this agent's `hello` was gathered (a restart with many open
            // interactions: the agent reconnected while they were still being started).
            // It is back: no grace timer, and the desktop gets the interaction now.
            let agent_id = self.rec.id;
            addr.do_send(AgentReturned { agent_id });
            let snapshot = async move { addr.send(SnapshotFor { agent_id }).await };
            ctx.spawn(snapshot.into_actor(self).map(|part, act, _ctx| {
                let Ok(part) = part else { return };
                if let Some(i) = part.interaction {
                    act.push(ServerEvent::Interaction(Box::new(i)));
                }
                if let Some(o) = part.offer {
                    act.push(ServerEvent::Offer(o));
                }
            }));
        }
    }
}

/// The interaction no longer counts in this agent's load (wrapped up, rerouted, revoked).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Release {
    pub interaction_id: i64,
}

impl Handler<Release> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: Release, _ctx: &mut Self::Context) {
        if self.holds.remove(&msg.interaction_id).is_some() {
            if self.holds.is_empty() {
                self.idle_since = now_ms();
            }
            self.push(ServerEvent::Status(self.status_info()));
            self.publish();
        }
    }
}

/// The agent let an offer lapse or rejected it (R3, R4): the status becomes
/// `routing.no_answer_status` (on_break or rona) until the agent changes it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct NoAnswer {
    pub interaction_id: i64,
}

impl Handler<NoAnswer> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: NoAnswer, ctx: &mut Self::Context) {
        self.holds.remove(&msg.interaction_id);
        if self.holds.is_empty() {
            self.idle_since = now_ms();
        }
        let status = self.registry.runtime.no_answer_status();
        let reason = Some("no answer to an offer".to_string());
        let fut = self.change_status(status, reason).map(|res, _, _| {
            if let Err(e) = res {
                tracing::error!(error = %e.message, "could not save a no-answer status");
            }
        });
        ctx.wait(fut);
    }
}

/// An event for the agent's desktop.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Push(pub ServerEvent);

impl Handler<Push> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: Push, _ctx: &mut Self::Context) {
        self.push(msg.0);
    }
}

/// An admin changed the agent (capacity, permissions, name, queues).
#[derive(Message)]
#[rtype(result = "()")]
pub struct UpdateRecord(pub AgentRecord);

impl Handler<UpdateRecord> for AgentActor {
    type Result = ();

    fn handle(&mut self, msg: UpdateRecord, ctx: &mut Self::Context) {
        let mut rec = msg.0;
        // Presence is the actor's own: an admin edit does not change it.
        rec.status = self.rec.status;
        rec.status_since = self.rec.status_since;
        rec.status_reason = self.rec.status_reason.take();
        rec.stop_new = self.rec.stop_new;
        // What the desktop may see depends on the role (R13, R25): a new role, a new socket.
        if rec.role != self.rec.role {
            if let Some((_, session)) = self.session.take() {
                session.do_send(SessionEvent::Close("your role changed: reconnect".into()));
            }
            self.rec = rec;
            return self.session_gone(ctx);
        }
        self.rec = rec;
        self.push(ServerEvent::Status(self.status_info()));
        self.publish();
    }
}

/// A queue wants this agent's routing snapshot (it just became a member).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Publish;

impl Handler<Publish> for AgentActor {
    type Result = ();

    fn handle(&mut self, _msg: Publish, _ctx: &mut Self::Context) {
        self.publish();
    }
}

#[derive(Message)]
#[rtype(result = "AgentView")]
pub struct GetView;

impl Handler<GetView> for AgentActor {
    type Result = MessageResult<GetView>;

    fn handle(&mut self, _msg: GetView, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.view())
    }
}

/// The agent was deleted by an admin: its session ends and the actor stops.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Deleted;

impl Handler<Deleted> for AgentActor {
    type Result = ();

    fn handle(&mut self, _msg: Deleted, ctx: &mut Self::Context) {
        if let Some((_, session)) = self.session.take() {
            session.do_send(SessionEvent::Close("agent deleted".into()));
        }
        // Without its session the agent is not connected: its queues stop offering to it.
        self.publish();
        ctx.stop();
    }
}
