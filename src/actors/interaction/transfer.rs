//! R17: transfer (owner only) to a queue or to an agent.

use super::{fail, reply, InteractionActor, Reply};
use crate::actors::agent::Release;
use crate::domain::interaction::{InteractionRecord, PendingOffer};
use crate::domain::time::now_ms;
use crate::domain::{InteractionState, OfferKind, ParticipantRole};
use crate::ws::protocol::{CommandError, CommandResult, ServerEvent};
use actix::prelude::*;

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

/// R17: the owner hands the conversation to a queue or an agent.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct Transfer {
    pub agent_id: i64,
    pub target: Target,
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

impl InteractionActor {
    /// Transfer and conference are the owner's, on an active, uninterrupted conversation.
    pub(super) fn check_owner_may_route(&self, agent_id: i64) -> Result<(), CommandError> {
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
    pub(super) fn reserve_agent(
        &self,
        me: Addr<Self>,
        target: i64,
    ) -> impl ActorFuture<Self, Output = Result<(i64, crate::actors::agent::Reserved), CommandError>>
    {
        let agent = self.agent(target);
        let interaction_id = self.d.id;
        async move {
            let agent = agent
                .ok_or_else(|| CommandError::new("not_found", format!("no agent {target}")))?;
            match agent
                .send(crate::actors::agent::Reserve {
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
    pub(super) fn invite(
        &mut self,
        mut next: InteractionRecord,
        kind: OfferKind,
        from: i64,
        target: i64,
        reserved: crate::actors::agent::Reserved,
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
