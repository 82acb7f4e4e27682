//! R17: transfer (owner only) to a queue or to an agent.

use super::{fail, reply, InteractionActor, Reply, Target};
use crate::actors::agent::Release;
use crate::domain::error_code::ErrorCode;
use crate::domain::interaction::InteractionRecord;
use crate::domain::time::now_ms;
use crate::domain::OfferKind;
use crate::ws::protocol::{CommandError, CommandResult, ServerEvent};
use actix::prelude::*;

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
        // The invited agent's offer and screen pop want the CRM's matches (R20).
        self.look_up_contacts(ctx);
        let me = msg.agent_id;
        let me_name = self.display_name(me);
        let now = now_ms();
        let deadline = self.wrap_up_deadline(now);
        let terms = self.wrap_up_terms();
        // The transferring agent goes to wrap-up at once; the conversation leaves it.
        let mut next = match self.d.transfer(me, msg.target, deadline, &terms, now) {
            Ok(next) => next,
            Err(refusal) => return reply(Err(refusal.into())),
        };
        match msg.target {
            Target::Queue(queue_id) => {
                let Some(queue) = self.registry.queue_record(queue_id) else {
                    return fail(ErrorCode::NotFound, format!("no queue {queue_id}"));
                };
                // R27: it waits there from now, at least at that queue's priority.
                next.routing.entering(queue.routing.default_priority, now);
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
            let agent = agent.ok_or_else(|| {
                CommandError::new(ErrorCode::NotFound, format!("no agent {target}"))
            })?;
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
                    ErrorCode::TargetUnavailable,
                    "that agent is not connected, available and below capacity",
                )),
            }
        }
        .into_actor(self)
    }

    /// Offers an invitation (transfer or conference) to a reserved agent, after the commit.
    pub(super) fn invite(
        &mut self,
        next: InteractionRecord,
        kind: OfferKind,
        from: i64,
        target: i64,
        reserved: crate::actors::agent::Reserved,
        notes: Vec<String>,
    ) -> ResponseActFuture<Self, CommandResult> {
        let (timeout, _) = self.queue_settings();
        let expires_at = now_ms() + i64::from(timeout) * 1000;
        let next = next.with_invitation(kind, from, target, expires_at, reserved.can_reject);
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
