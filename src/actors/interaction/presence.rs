//! R11: an agent's desktop goes away (offers revoked at once, conversations held for the
//! reconnect grace) and comes back.

use super::InteractionActor;
use crate::actors::agent::Release;
use crate::domain::time::now_ms;
use crate::domain::RevokeReason;
use crate::store::interactions;
use actix::prelude::*;
use std::time::Duration;

/// The agent's desktop disconnected (R11).
#[derive(Message)]
#[rtype(result = "()")]
pub struct AgentLeftSession {
    pub agent_id: i64,
}

impl Handler<AgentLeftSession> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: AgentLeftSession, ctx: &mut Self::Context) {
        self.drop_offer_waiting_for(msg.agent_id);
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

impl InteractionActor {
    pub(super) fn start_grace_timer(&mut self, agent_id: i64, ctx: &mut Context<Self>) {
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
    pub(super) fn drop_absent_agent(&mut self, agent_id: i64) -> ResponseActFuture<Self, ()> {
        let (next, was_owner) = self.d.drop_absent_agent(agent_id, now_ms());
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
