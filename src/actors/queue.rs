//! The queue actor: the waiting interactions in order and the routing of each to one
//! eligible member agent at a time (R2). R27: only members with the queue's required skills
//! are candidates; the line is ordered by priority, then age; a conversation reserved for its
//! sticky agent waits for that agent until its reservation ends; one timer ends reservations
//! and overflows conversations that waited too long.

use super::agent::{AgentActor, Publish, Release, Reserve};
use super::interaction::{OfferTo, Overflow};
use super::registry::Registry;
use crate::domain::priority::QueueKey;
use crate::domain::routing::{rank, rank_top, Candidate};
use crate::domain::skills::{qualifies, Skill};
use crate::domain::time::now_ms;
use crate::domain::waiting_line::{Next, Waiting, WaitingLine};
use crate::domain::AgentStatus;
use crate::store::queues::QueueRecord;
use actix::prelude::*;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

/// Agents ranked (and asked in turn) before the rest of the eligible are sorted.
const FIRST_ASKED: usize = 8;

pub struct QueueActor {
    rec: QueueRecord,
    registry: Arc<Registry>,
    /// Latest routing snapshot of each member agent with the required skills.
    agents: HashMap<i64, Candidate>,
    /// The waiting interactions, in order (R27).
    line: WaitingLine,
    /// The timer of the line's next deadline (a reservation ends, an overflow), and when.
    deadline: Option<(i64, SpawnHandle)>,
    dispatching: bool,
    dispatch_again: bool,
    _alive: crate::metrics::Alive,
}

impl QueueActor {
    pub fn new(rec: QueueRecord, registry: Arc<Registry>) -> Self {
        QueueActor {
            rec,
            registry,
            agents: HashMap::new(),
            line: WaitingLine::new(),
            deadline: None,
            dispatching: false,
            dispatch_again: false,
            _alive: crate::metrics::Alive::new("queue"),
        }
    }

    /// Offers the next waiting interaction (R27's order) to the best eligible agent, asking
    /// each candidate in turn to reserve capacity (the agent is the authority on its load);
    /// one reserved for its sticky agent, to that agent only.
    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        if self.dispatching {
            self.dispatch_again = true;
            return;
        }
        let Some(next) = self.line.next() else {
            return;
        };
        type Ranked = Box<dyn Iterator<Item = i64>>;
        let (interaction_id, key, ranked, sticky_agent): (i64, QueueKey, Ranked, _) = match next {
            Next::Reserved {
                interaction_id,
                key,
                agent_id,
            } => (
                interaction_id,
                key,
                Box::new(std::iter::once(agent_id)),
                Some(agent_id),
            ),
            Next::Anyone {
                interaction_id,
                key,
            } => match self.ranked() {
                Some(ranked) => (interaction_id, key, Box::new(ranked), None),
                None => return,
            },
        };
        let Some(interaction) = self.registry.interaction(interaction_id) else {
            self.line.remove(interaction_id);
            self.arm_deadline(ctx);
            ctx.notify(Dispatch);
            return;
        };
        let registry = self.registry.clone();
        self.dispatching = true;
        self.dispatch_again = false;
        let queue_id = self.rec.id;
        let target = interaction.clone();
        let fut = async move {
            let mut refused = Vec::new();
            for agent_id in ranked {
                let Some(agent) = registry.agent(agent_id) else {
                    continue;
                };
                let ask = Reserve {
                    interaction_id,
                    queue_id: Some(queue_id),
                    interaction: target.clone(),
                };
                match agent.send(ask).await {
                    Ok(Ok(reserved)) => return (Some((agent_id, agent, reserved)), refused),
                    Ok(Err(now)) => refused.push(now),
                    Err(_) => {}
                }
            }
            (None, refused)
        }
        .into_actor(self)
        .map(move |(granted, refused), act, ctx| {
            act.dispatching = false;
            for c in refused {
                if act.agents.contains_key(&c.agent_id) {
                    act.line.set_ready(c.agent_id, c.eligible());
                    act.agents.insert(c.agent_id, c);
                }
            }
            match granted {
                Some((agent_id, agent, reserved)) => {
                    if act.line.still_at(interaction_id, key) {
                        act.line.remove(interaction_id);
                        act.arm_deadline(ctx);
                        interaction.do_send(OfferTo {
                            agent_id,
                            agent,
                            can_reject: reserved.can_reject,
                            display_name: reserved.display_name,
                        });
                    } else {
                        // It left the queue while we asked: give the capacity back.
                        agent.do_send(Release { interaction_id });
                    }
                    ctx.notify(Dispatch);
                }
                None => {
                    if let Some(agent_id) = sticky_agent {
                        // Its agent could not take it now: the rest of the line goes on.
                        act.line.set_ready(agent_id, false);
                        ctx.notify(Dispatch);
                    } else if act.dispatch_again {
                        ctx.notify(Dispatch);
                    }
                }
            }
        });
        ctx.spawn(fut);
    }

    /// The eligible agents in rank order, or None when there is none: the first few by
    /// selection, the rest sorted only if they all refuse. Only the eligible are ranked, and
    /// an agent's address is looked up only when it is asked: with thousands of agents, most
    /// dispatches end at the first one.
    fn ranked(&self) -> Option<impl Iterator<Item = i64> + 'static> {
        let candidates: Vec<Candidate> = self
            .agents
            .values()
            .filter(|c| c.eligible())
            .cloned()
            .collect();
        let strategy = self.rec.strategy;
        let top = rank_top(strategy, &candidates, FIRST_ASKED);
        if top.is_empty() {
            return None;
        }
        let more = candidates.len() > top.len();
        let asked = top.clone();
        Some(
            top.into_iter().chain(
                std::iter::once(())
                    .filter(move |_| more)
                    .flat_map(move |_| {
                        rank(strategy, &candidates)
                            .into_iter()
                            .filter(|id| !asked.contains(id))
                            .collect::<Vec<_>>()
                    }),
            ),
        )
    }

    /// How long a conversation may wait before it overflows (R27), when the queue overflows.
    fn max_wait_ms(&self) -> Option<i64> {
        self.rec
            .routing
            .overflow
            .map(|o| i64::from(o.max_wait_secs) * 1000)
    }

    /// Sets the timer to the line's next deadline.
    fn arm_deadline(&mut self, ctx: &mut Context<Self>) {
        let next = self.line.next_deadline(self.max_wait_ms());
        if self.deadline.as_ref().map(|(at, _)| *at) == next {
            return;
        }
        if let Some((_, timer)) = self.deadline.take() {
            ctx.cancel_future(timer);
        }
        if let Some(at) = next {
            let delay = Duration::from_millis((at - now_ms()).max(0) as u64);
            let timer = ctx.run_later(delay, |act, ctx| {
                act.deadline = None;
                act.deadline_passed(ctx);
            });
            self.deadline = Some((at, timer));
        }
    }

    /// Reservations that ended go to everyone; conversations that waited too long are told
    /// to overflow (each moves once, or waits on here off the clock when it cannot:
    /// `actors/interaction/overflow.rs`).
    fn deadline_passed(&mut self, ctx: &mut Context<Self>) {
        let now = now_ms();
        let released = self.line.expire(now);
        if let (Some(overflow), Some(max_wait)) = (self.rec.routing.overflow, self.max_wait_ms()) {
            for interaction_id in self.line.take_overdue(now, max_wait) {
                if let Some(interaction) = self.registry.interaction(interaction_id) {
                    interaction.do_send(Overflow {
                        from_queue_id: self.rec.id,
                        to_queue_id: overflow.queue_id,
                    });
                }
            }
        }
        self.arm_deadline(ctx);
        if released > 0 {
            self.dispatch(ctx);
        }
    }

    fn stats(&self) -> QueueStats {
        QueueStats {
            queue_id: self.rec.id,
            waiting: self.line.len() as u32,
        }
    }
}

/// Whether a waiting conversation may wait for this agent (R27 sticky routing): an agent
/// who is offline, away or stopping new offers never delays it. After a restart
/// (`resumed`) nobody is connected yet: its reservation stands until it ends.
fn may_wait_for(c: &Candidate, resumed: bool) -> bool {
    c.status == AgentStatus::Available && !c.stop_new && (c.connected || resumed)
}

impl Actor for QueueActor {
    type Context = Context<Self>;

    fn started(&mut self, _ctx: &mut Self::Context) {
        for agent_id in &self.rec.members {
            if let Some(agent) = self.registry.agent(*agent_id) {
                agent.do_send(Publish);
            }
        }
    }
}

#[derive(Message)]
#[rtype(result = "()")]
struct Dispatch;

impl Handler<Dispatch> for QueueActor {
    type Result = ();

    fn handle(&mut self, _msg: Dispatch, ctx: &mut Self::Context) {
        self.dispatch(ctx);
    }
}

/// An interaction waits in this queue (R27's order); `resumed` after a restart.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Enqueue {
    pub waiting: Waiting,
    pub resumed: bool,
}

impl Handler<Enqueue> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Enqueue, ctx: &mut Self::Context) {
        let mut w = msg.waiting;
        let now = now_ms();
        if let Some(s) = w.sticky {
            let waits = s.until > now
                && match self.agents.get(&s.agent_id) {
                    Some(c) => may_wait_for(c, msg.resumed),
                    // Not heard from yet after a restart: a member is waited for.
                    None => msg.resumed && self.rec.members.contains(&s.agent_id),
                };
            if !waits {
                w.sticky = None;
            }
        }
        self.line.insert(w);
        // A deadline passed while it was away (a restart) is handled at once.
        if self
            .line
            .next_deadline(self.max_wait_ms())
            .is_some_and(|at| at <= now)
        {
            self.deadline_passed(ctx);
        } else {
            self.arm_deadline(ctx);
        }
        self.dispatch(ctx);
    }
}

/// The interaction no longer waits here (closed, moved, deleted).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Dequeue {
    pub interaction_id: i64,
}

impl Handler<Dequeue> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Dequeue, ctx: &mut Self::Context) {
        self.line.remove(msg.interaction_id);
        self.arm_deadline(ctx);
    }
}

/// A member agent's routing snapshot changed, with its skills (R27).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentUpdate {
    pub candidate: Candidate,
    pub skills: Arc<[Skill]>,
}

impl Handler<AgentUpdate> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: AgentUpdate, ctx: &mut Self::Context) {
        let c = msg.candidate;
        let id = c.agent_id;
        if !self.rec.members.contains(&id) {
            return;
        }
        let qualified = qualifies(&msg.skills, &self.rec.routing.required_skills);
        let eligible = qualified && c.eligible();
        // R27: conversations reserved for an agent who went away, or lacks a required skill
        // now, go to everyone at once.
        let was_connected = self.agents.get(&id).is_some_and(|p| p.connected);
        let went_away = !qualified
            || c.status != AgentStatus::Available
            || c.stop_new
            || (was_connected && !c.connected);
        let released = if went_away {
            self.line.release_agent(id)
        } else {
            0
        };
        if qualified {
            self.agents.insert(id, c);
        } else {
            self.agents.remove(&id);
        }
        self.line.set_ready(id, eligible);
        if released > 0 {
            self.arm_deadline(ctx);
        }
        if eligible || released > 0 {
            self.dispatch(ctx);
        }
    }
}

/// An admin changed the queue (settings or members).
#[derive(Message)]
#[rtype(result = "()")]
pub struct SetRecord(pub QueueRecord);

impl Handler<SetRecord> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: SetRecord, ctx: &mut Self::Context) {
        let skills_changed = self.rec.routing.required_skills != msg.0.routing.required_skills;
        self.rec = msg.0;
        // Members that left (or, with new required skills, everyone: each is checked again
        // when it publishes below) are no longer candidates; their reservations end.
        let gone: Vec<i64> = self
            .agents
            .keys()
            .filter(|id| skills_changed || !self.rec.members.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.agents.remove(&id);
            self.line.set_ready(id, false);
            if !self.rec.members.contains(&id) {
                self.line.release_agent(id);
            }
        }
        self.arm_deadline(ctx);
        for agent_id in &self.rec.members {
            if let Some(agent) = self.registry.agent(*agent_id) {
                agent.do_send(Publish);
            }
        }
        self.dispatch(ctx);
    }
}

#[derive(Debug, Clone)]
pub struct QueueStats {
    pub queue_id: i64,
    pub waiting: u32,
}

#[derive(Message)]
#[rtype(result = "QueueStats")]
pub struct GetStats;

impl Handler<GetStats> for QueueActor {
    type Result = MessageResult<GetStats>;

    fn handle(&mut self, _msg: GetStats, _ctx: &mut Self::Context) -> Self::Result {
        MessageResult(self.stats())
    }
}

/// The queue was deleted: the actor stops (its interactions are interrupted by the registry).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Stop;

impl Handler<Stop> for QueueActor {
    type Result = ();

    fn handle(&mut self, _msg: Stop, ctx: &mut Self::Context) {
        ctx.stop();
    }
}

/// A conference invitation to this queue: reserve its best eligible agent, not one of
/// `exclude` (the agents already in the conversation).
#[derive(Message)]
#[rtype(result = "Option<(i64, super::agent::Reserved)>")]
pub struct PickAgent {
    pub interaction_id: i64,
    pub interaction: Addr<super::interaction::InteractionActor>,
    pub exclude: Vec<i64>,
}

impl Handler<PickAgent> for QueueActor {
    type Result = ResponseActFuture<Self, Option<(i64, super::agent::Reserved)>>;

    fn handle(&mut self, msg: PickAgent, _ctx: &mut Self::Context) -> Self::Result {
        let candidates: Vec<Candidate> = self
            .agents
            .values()
            .filter(|c| !msg.exclude.contains(&c.agent_id))
            .cloned()
            .collect();
        let agents: Vec<(i64, Addr<AgentActor>)> = rank(self.rec.strategy, &candidates)
            .into_iter()
            .filter_map(|id| self.registry.agent(id).map(|a| (id, a)))
            .collect();
        let queue_id = self.rec.id;
        Box::pin(
            async move {
                for (agent_id, agent) in agents {
                    let ask = Reserve {
                        interaction_id: msg.interaction_id,
                        queue_id: Some(queue_id),
                        interaction: msg.interaction.clone(),
                    };
                    if let Ok(Ok(reserved)) = agent.send(ask).await {
                        return Some((agent_id, reserved));
                    }
                }
                None
            }
            .into_actor(self),
        )
    }
}
