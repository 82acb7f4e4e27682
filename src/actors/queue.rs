//! The queue actor: the waiting interactions in order and the routing of each to one
//! eligible member agent at a time (R2).

use super::agent::{AgentActor, Publish, Release, Reserve};
use super::interaction::OfferTo;
use super::registry::Registry;
use crate::domain::routing::{rank, rank_top, Candidate};
use crate::store::queues::QueueRecord;
use actix::prelude::*;
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

/// Agents ranked (and asked in turn) before the rest of the eligible are sorted.
const FIRST_ASKED: usize = 8;

pub struct QueueActor {
    rec: QueueRecord,
    registry: Arc<Registry>,
    /// Latest routing snapshot of each member agent.
    agents: HashMap<i64, Candidate>,
    /// (position, interaction id): lowest position first. Normal positions are the arrival
    /// time in ms; an interaction sent back to the front gets a negative position.
    waiting: BTreeSet<(i64, i64)>,
    /// The position of each waiting interaction (its key in `waiting`).
    positions: HashMap<i64, i64>,
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
            waiting: BTreeSet::new(),
            positions: HashMap::new(),
            dispatching: false,
            dispatch_again: false,
            _alive: crate::metrics::Alive::new("queue"),
        }
    }

    /// Offers the oldest waiting interaction to the best eligible agent, asking each
    /// candidate in turn to reserve capacity (the agent is the authority on its load).
    fn dispatch(&mut self, ctx: &mut Context<Self>) {
        if self.dispatching {
            self.dispatch_again = true;
            return;
        }
        let Some(&(position, interaction_id)) = self.waiting.iter().next() else {
            return;
        };
        // Only the eligible are ranked, and an agent's address is looked up only when it is
        // asked: with thousands of agents, most dispatches end at the first one.
        let candidates: Vec<Candidate> = self
            .agents
            .values()
            .filter(|c| c.eligible())
            .cloned()
            .collect();
        let strategy = self.rec.strategy;
        let top = rank_top(strategy, &candidates, FIRST_ASKED);
        if top.is_empty() {
            return;
        }
        // Everyone in rank order, as `rank` gives it; the rest is sorted only if the first
        // ones all refuse.
        let more = candidates.len() > top.len();
        let asked = top.clone();
        let ranked =
            top.into_iter().chain(
                std::iter::once(())
                    .filter(move |_| more)
                    .flat_map(move |_| {
                        rank(strategy, &candidates)
                            .into_iter()
                            .filter(|id| !asked.contains(id))
                            .collect::<Vec<_>>()
                    }),
            );
        let Some(interaction) = self.registry.interaction(interaction_id) else {
            self.remove_waiting(interaction_id);
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
                    act.agents.insert(c.agent_id, c);
                }
            }
            match granted {
                Some((agent_id, agent, reserved)) => {
                    if act.waiting.contains(&(position, interaction_id)) {
                        act.remove_waiting(interaction_id);
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
                None if act.dispatch_again => ctx.notify(Dispatch),
                None => {}
            }
        });
        ctx.spawn(fut);
    }

    fn remove_waiting(&mut self, interaction_id: i64) {
        if let Some(position) = self.positions.remove(&interaction_id) {
            self.waiting.remove(&(position, interaction_id));
        }
    }

    fn stats(&self) -> QueueStats {
        QueueStats {
            queue_id: self.rec.id,
            waiting: self.waiting.len() as u32,
        }
    }
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

/// An interaction waits in this queue at `position` (lower first).
#[derive(Message)]
#[rtype(result = "()")]
pub struct Enqueue {
    pub interaction_id: i64,
    pub position: i64,
}

impl Handler<Enqueue> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: Enqueue, ctx: &mut Self::Context) {
        self.remove_waiting(msg.interaction_id);
        self.waiting.insert((msg.position, msg.interaction_id));
        self.positions.insert(msg.interaction_id, msg.position);
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

    fn handle(&mut self, msg: Dequeue, _ctx: &mut Self::Context) {
        self.remove_waiting(msg.interaction_id);
    }
}

/// A member agent's routing snapshot changed.
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentUpdate(pub Candidate);

impl Handler<AgentUpdate> for QueueActor {
    type Result = ();

    fn handle(&mut self, msg: AgentUpdate, ctx: &mut Self::Context) {
        if self.rec.members.contains(&msg.0.agent_id) {
            let eligible = msg.0.eligible();
            self.agents.insert(msg.0.agent_id, msg.0);
            if eligible {
                self.dispatch(ctx);
            }
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
        self.rec = msg.0;
        let members = &self.rec.members;
        self.agents.retain(|id, _| members.contains(id));
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
