//! R18: conference (owner only): invite, join, end and leave; at most five agents.

use super::{fail, reply, InteractionActor, Reply, Target};
use crate::domain::error_code::ErrorCode;
use crate::domain::interaction::Removed;
use crate::domain::time::now_ms;
use crate::domain::OfferKind;
use crate::ws::protocol::{CommandError, CommandResult};
use actix::prelude::*;

/// R18: the owner invites an agent or a queue into the conversation.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct Conference {
    pub agent_id: i64,
    pub target: Target,
}

/// R18: the owner removes the invited agents.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct EndConference {
    pub agent_id: i64,
}

/// R18: an invited agent leaves the conversation.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct LeaveConference {
    pub agent_id: i64,
}

impl Handler<Conference> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Conference, ctx: &mut Self::Context) -> Self::Result {
        // The invited agent's offer and screen pop want the CRM's matches (R20).
        self.look_up_contacts(ctx);
        let me = msg.agent_id;
        let next = match self.d.invite_to_conference(me, msg.target) {
            Ok(next) => next,
            Err(refusal) => return reply(Err(refusal.into())),
        };
        let in_it = self.active_agents();
        let addr = ctx.address();
        let reserve: ResponseActFuture<
            Self,
            Result<(i64, crate::actors::agent::Reserved), CommandError>,
        > = match msg.target {
            Target::Agent(target) => Box::pin(self.reserve_agent(addr, target)),
            Target::Queue(queue_id) => {
                let Some(queue) = self.registry.queue(queue_id) else {
                    return fail(ErrorCode::NotFound, format!("no queue {queue_id}"));
                };
                let pick = queue.send(crate::actors::queue::PickAgent {
                    interaction_id: self.d.id,
                    interaction: addr,
                    exclude: in_it,
                });
                Box::pin(
                    async move {
                        match pick.await {
                            Ok(Some(picked)) => Ok(picked),
                            _ => Err(CommandError::new(
                                ErrorCode::TargetUnavailable,
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

impl Handler<EndConference> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: EndConference, _ctx: &mut Self::Context) -> Self::Result {
        let guests = match self.d.end_conference(msg.agent_id) {
            Ok(guests) => guests,
            Err(refusal) => return reply(Err(refusal.into())),
        };
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
        if let Err(refusal) = self.d.check_leave_conference(msg.agent_id) {
            return reply(Err(refusal.into()));
        }
        let notes = vec![format!("{} left the chat", self.display_name(msg.agent_id))];
        AtomicResponse::new(self.remove_agents(vec![msg.agent_id], notes, false))
    }
}

impl InteractionActor {
    /// Sends the given agents to wrap-up and lets the conversation go on without them.
    pub(super) fn remove_agents(
        &mut self,
        agents: Vec<i64>,
        notes: Vec<String>,
        cancel_invitation: bool,
    ) -> ResponseActFuture<Self, CommandResult> {
        let now = now_ms();
        let deadline = self.wrap_up_deadline(now);
        let terms = self.wrap_up_terms();
        let Removed { next, cancelled } =
            self.d
                .remove_agents(&agents, cancel_invitation, deadline, &terms, now);
        self.commit_wrap_ups(next, notes, cancelled, agents, deadline)
    }
}
