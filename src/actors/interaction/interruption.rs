//! R15: an admin deleted a queue, channel or agent the conversation uses.

use super::InteractionActor;
use crate::domain::interaction::Interrupted;
use crate::domain::time::now_ms;
use crate::domain::{InteractionState, RevokeReason};
use crate::store::messages;
use crate::store::{interactions, StoreResult};
use crate::ws::protocol::{CommandResult, ServerEvent};
use actix::prelude::*;

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
    pub(super) fn interrupt(
        &mut self,
        reason: String,
        gone_agent: Option<i64>,
    ) -> ResponseActFuture<Self, CommandResult> {
        let now = now_ms();
        let Interrupted {
            next,
            revoked,
            closing,
        } = self.d.interrupt(&reason, gone_agent, now);
        let activity = closing.then(|| self.activity_row(&next, now));
        let crm = self.registry.crm.clone();
        let row = next.clone();
        let note = format!("The conversation was interrupted: {reason}");
        let interaction_id = self.d.id;
        Box::pin(
            self.persist(move |db| -> StoreResult<_> {
                interactions::save(db, &row)?;
                let note = messages::insert_system(db, interaction_id, note, now)?;
                if let Some(mut a) = activity {
                    a.transcript.push(note.clone());
                    super::wrap_up::save_call_log(db, &a, &crm, None, now)?;
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
                    q.do_send(crate::actors::queue::Dequeue {
                        interaction_id: act.d.id,
                    });
                }
                if closing {
                    act.closed(ctx);
                    return Ok(());
                }
                act.show_state(ServerEvent::Interrupted {
                    interaction_id: act.d.id,
                    reason: reason.clone(),
                });
                act.announce_state(ctx);
                Ok(())
            }),
        )
    }

    /// An agent was deleted: an offer to it is revoked and the conversation rerouted; if it
    /// was in the conversation, the conversation is interrupted for the others (R15).
    pub(super) fn agent_deleted(&mut self, agent_id: i64, ctx: &mut Context<Self>) {
        self.drop_offer_waiting_for(agent_id);
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
