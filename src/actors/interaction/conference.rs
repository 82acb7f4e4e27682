//! R18: conference (owner only): invite, join, end and leave; at most five agents.

use super::{fail, reply, InteractionActor, Reply, Target};
use crate::domain::time::now_ms;
use crate::domain::{ConferenceState, OfferKind, ParticipantRole};
use crate::ws::protocol::{CommandError, CommandResult};
use actix::prelude::*;

/// At most this many agents in one conversation (R18).
pub const MAX_AGENTS: usize = 5;

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
        let reserve: ResponseActFuture<
            Self,
            Result<(i64, crate::actors::agent::Reserved), CommandError>,
        > = match msg.target {
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
}
