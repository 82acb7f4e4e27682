//! R2, R3, R9: the offer to one agent, its timeout (RONA) and its revocation.

use super::InteractionActor;
use crate::actors::agent::{AgentActor, NoAnswer, Push, Release};
use crate::domain::interaction::{PendingOffer, Revoked};
use crate::domain::time::now_ms;
use crate::domain::{InteractionState, OfferKind, RevokeReason};
use crate::store::{interactions, offer_log};
use crate::ws::protocol::{CommandError, CommandResult, ServerEvent};
use actix::prelude::*;
use std::time::Duration;

/// The queue reserved an agent for this interaction: offer it (R2, R3).
#[derive(Message)]
#[rtype(result = "()")]
pub struct OfferTo {
    pub agent_id: i64,
    pub agent: Addr<AgentActor>,
    pub can_reject: bool,
    pub display_name: String,
}

impl Handler<OfferTo> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: OfferTo, ctx: &mut Self::Context) {
        // The offer carries the number of CRM matches (R20): while the lookup runs, the offer
        // waits for its result (the mailbox does not).
        if self.offer_waiting_for_lookup.is_none() && self.look_up_contacts(ctx) {
            self.offer_waiting_for_lookup = Some(msg);
            return;
        }
        self.offer_now(msg, ctx);
    }
}

impl InteractionActor {
    pub(super) fn start_offer_timer(&mut self, ctx: &mut Context<Self>) {
        if let Some(h) = self.offer_timer.take() {
            ctx.cancel_future(h);
        }
        let Some(offer) = &self.d.offer else { return };
        let delay = Duration::from_millis((offer.expires_at - now_ms()).max(0) as u64);
        let agent_id = offer.agent_id;
        self.offer_timer = Some(ctx.run_later(delay, move |act, ctx| {
            act.offer_timer = None;
            if act.d.offer.as_ref().map(|o| o.agent_id) == Some(agent_id) {
                let fut = act.take_back_offer(RevokeReason::Timeout).map(|_, _, _| ());
                ctx.wait(fut);
            }
        }));
    }

    /// Takes the pending offer back (timeout, reject, disconnect, deletion). A new or
    /// transferred conversation goes back to its queue (a transfer to the front, R17); a
    /// conference invitation lapses and the conversation goes on. Timeout and reject cost
    /// the agent its availability (R3, R4).
    pub(super) fn take_back_offer(
        &mut self,
        reason: RevokeReason,
    ) -> ResponseActFuture<Self, CommandResult> {
        let Some(offer) = &self.d.offer else {
            return Box::pin(fut::ready(Ok(())));
        };
        let name = self.display_name(offer.agent_id);
        match self.d.revoke_offer(&name, now_ms()) {
            Some(revoked) => self.commit_revocation(revoked, reason),
            None => Box::pin(fut::ready(Ok(()))),
        }
    }

    /// Commits a revoked offer, then tells the agent and routes the conversation on.
    pub(super) fn commit_revocation(
        &mut self,
        revoked: Revoked,
        reason: RevokeReason,
    ) -> ResponseActFuture<Self, CommandResult> {
        let Revoked { next, offer, notes } = revoked;
        Box::pin(self.commit(&next, notes).map(move |res, act, ctx| {
            let notes = res?;
            act.d = next;
            act.withdraw_offer(&offer, reason, ctx);
            act.add_notes(notes);
            if act.d.state == InteractionState::Queued {
                act.enqueue();
            }
            if offer.kind == OfferKind::Conference {
                act.announce_state(ctx);
            }
            Ok(())
        }))
    }

    /// After the commit that took a pending offer back: stops its timer, tells the agent, and
    /// frees its capacity; a timeout or reject also costs its availability (R3, R4).
    pub(super) fn withdraw_offer(
        &mut self,
        offer: &PendingOffer,
        reason: RevokeReason,
        ctx: &mut Context<Self>,
    ) {
        self.log_offer_end(offer.agent_id, offer.kind, reason.as_str());
        if let Some(h) = self.offer_timer.take() {
            ctx.cancel_future(h);
        }
        self.push_to(
            offer.agent_id,
            ServerEvent::OfferRevoked {
                interaction_id: self.d.id,
                reason,
            },
        );
        if let Some(agent) = self.agent(offer.agent_id) {
            let interaction_id = self.d.id;
            match reason {
                RevokeReason::Timeout | RevokeReason::Rejected => {
                    agent.do_send(NoAnswer { interaction_id })
                }
                _ => agent.do_send(Release { interaction_id }),
            }
        }
    }

    pub(super) fn offer_now(&mut self, msg: OfferTo, ctx: &mut Context<Self>) {
        if self.d.state != InteractionState::Queued
            || self.d.offer.is_some()
            || self.offer_waiting_for_lookup.is_some()
            || self.d.interrupted.is_some()
        {
            msg.agent.do_send(Release {
                interaction_id: self.d.id,
            });
            return;
        }
        let (timeout, _) = self.queue_settings();
        let mut next = self.d.clone();
        next.state = InteractionState::Offered;
        // R27: a sticky reservation ends with the first offer (to its agent).
        next.routing.sticky = None;
        next.offer = Some(PendingOffer {
            agent_id: msg.agent_id,
            kind: OfferKind::New,
            expires_at: now_ms() + i64::from(timeout) * 1000,
            from_agent_id: None,
            can_reject: msg.can_reject,
        });
        let row = next.clone();
        let agent = msg.agent;
        let fut = self
            .persist(move |db| interactions::save(db, &row))
            .map(move |res, act, ctx| {
                if let Err(e) = res {
                    tracing::error!(error = %e, "could not save an offer; back to the queue");
                    agent.do_send(Release {
                        interaction_id: act.d.id,
                    });
                    act.enqueue();
                    return;
                }
                act.d = next;
                if let Some(offer) = act.offer_event() {
                    agent.do_send(Push(ServerEvent::Offer(offer)));
                }
                act.start_offer_timer(ctx);
            });
        ctx.wait(fut);
    }

    pub(super) fn check_offered_to(&self, agent_id: i64) -> Result<&PendingOffer, CommandError> {
        Ok(self.d.offered_to(agent_id)?)
    }

    /// An offer that waits for the CRM lookup is dropped when its agent goes away (R11) or
    /// is deleted: the agent's capacity is freed and the conversation waits in its queue again.
    pub(super) fn drop_offer_waiting_for(&mut self, agent_id: i64) {
        if self
            .offer_waiting_for_lookup
            .as_ref()
            .is_some_and(|o| o.agent_id == agent_id)
        {
            if let Some(offer) = self.offer_waiting_for_lookup.take() {
                offer.agent.do_send(Release {
                    interaction_id: self.d.id,
                });
                self.enqueue();
            }
        }
    }
}

impl InteractionActor {
    /// An offer ended (`accepted` or its revoke reason), after that outcome was committed:
    /// counted, and logged for the reports in the background (the conversation never waits).
    pub(super) fn log_offer_end(&self, agent_id: i64, kind: OfferKind, outcome: &str) {
        crate::metrics::offer_outcome(outcome);
        let store = self.registry.store.clone();
        let (interaction_id, queue_id) = (self.d.id, self.d.queue_id);
        let outcome = outcome.to_string();
        let at = now_ms();
        actix::spawn(async move {
            let written = store
                .write(move |db| {
                    offer_log::insert(
                        db,
                        interaction_id,
                        queue_id,
                        agent_id,
                        kind.as_str(),
                        &outcome,
                        at,
                    )
                })
                .await;
            if let Err(e) = written {
                tracing::warn!(error = %e, "offer not logged for the reports");
            }
        });
    }
}
