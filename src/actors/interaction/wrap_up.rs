//! R7, R8: end, wrap-up with a disposition or by the countdown, and the call log saved
//! when the last agent has wrapped up.

use super::{reply, InteractionActor, Reply};
use crate::actors::agent::Release;
use crate::crm::Crm;
use crate::domain::csat;
use crate::domain::interaction::{Ended, InteractionRecord, PendingOffer, WrappedUp};
use crate::domain::time::now_ms;
use crate::domain::{DispositionCode, RevokeReason};
use crate::store::activities::{self, NewActivity};
use crate::store::csat::{self as csat_store, NewSurvey};
use crate::store::{interactions, Db, StoreResult};
use crate::ws::protocol::{CommandResult, ServerEvent};
use actix::prelude::*;
use std::time::Duration;

/// R7: the owner ends the conversation; everyone in it goes to wrap-up.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct End {
    pub agent_id: i64,
}

/// R7: an agent closes its wrap-up, with a disposition code.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct WrapUp {
    pub agent_id: i64,
    pub disposition: Option<String>,
}

impl Handler<End> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: End, _ctx: &mut Self::Context) -> Self::Result {
        let now = now_ms();
        let deadline = self.wrap_up_deadline(now);
        let terms = self.wrap_up_terms();
        let Ended {
            next,
            withdrawn,
            wrapping,
        } = match self.d.end(msg.agent_id, deadline, &terms, now) {
            Ok(ended) => ended,
            Err(refusal) => return reply(Err(refusal.into())),
        };
        AtomicResponse::new(self.commit_wrap_ups(next, Vec::new(), withdrawn, wrapping, deadline))
    }
}

impl Handler<WrapUp> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: WrapUp, _ctx: &mut Self::Context) -> Self::Result {
        let disposition = match self.d.check_wrap_up(msg.agent_id, msg.disposition) {
            Ok(disposition) => disposition,
            Err(refusal) => return reply(Err(refusal.into())),
        };
        AtomicResponse::new(self.complete_wrap_up(msg.agent_id, disposition, false))
    }
}

impl InteractionActor {
    /// The wrap-up terms (disposition codes, whether one is required) of the current queue.
    pub(super) fn wrap_up_terms(&self) -> (Vec<DispositionCode>, bool) {
        self.registry
            .with_queue(self.d.queue_id, |q| {
                (q.disposition_codes.clone(), q.disposition_required)
            })
            .unwrap_or_default()
    }

    /// Tells an agent its wrap-up started (the caller set its deadline and terms) and arms
    /// the countdown.
    pub(super) fn begin_wrap_up(&mut self, agent_id: i64, deadline: i64, ctx: &mut Context<Self>) {
        let (codes, required) = self
            .participant(agent_id)
            .map(|p| p.wrap_up_terms())
            .unwrap_or_default();
        self.push_to(
            agent_id,
            ServerEvent::WrapUpStarted {
                interaction_id: self.d.id,
                deadline,
                disposition_codes: codes,
                disposition_required: required,
            },
        );
        self.start_wrap_timer(agent_id, deadline, ctx);
    }

    pub(super) fn wrap_up_deadline(&self, now: i64) -> i64 {
        let (_, wrap_up_secs) = self.queue_settings();
        now + i64::from(wrap_up_secs) * 1000
    }

    pub(super) fn start_wrap_timer(
        &mut self,
        agent_id: i64,
        deadline: i64,
        ctx: &mut Context<Self>,
    ) {
        if let Some(h) = self.wrap_timers.remove(&agent_id) {
            ctx.cancel_future(h);
        }
        let delay = Duration::from_millis((deadline - now_ms()).max(0) as u64);
        let handle = ctx.run_later(delay, move |act, ctx| {
            act.wrap_timers.remove(&agent_id);
            if act.participant(agent_id).is_some_and(|p| p.wrapping_up()) {
                let fut = act.complete_wrap_up(agent_id, None, true).map(|res, _, _| {
                    if let Err(e) = res {
                        tracing::error!(error = %e.message, "automatic wrap-up failed");
                    }
                });
                ctx.wait(fut);
            }
        });
        self.wrap_timers.insert(agent_id, handle);
    }

    /// Closes one agent's wrap-up; the last one closes the interaction and saves the call log.
    pub(super) fn complete_wrap_up(
        &mut self,
        agent_id: i64,
        disposition: Option<String>,
        auto: bool,
    ) -> ResponseActFuture<Self, CommandResult> {
        let now = now_ms();
        let WrappedUp { next, closing } =
            self.d
                .complete_wrap_up(agent_id, disposition.clone(), auto, now);
        let row = next.clone();
        let activity = closing.then(|| self.activity_row(&next, now));
        let survey = if closing {
            self.survey_for(&next, now)
        } else {
            None
        };
        let surveying = survey.is_some();
        let crm = self.registry.crm.clone();
        Box::pin(
            self.persist(move |db| -> StoreResult<()> {
                interactions::save(db, &row)?;
                if let Some(a) = activity {
                    save_call_log(db, &a, &crm, survey.as_ref(), now)?;
                }
                Ok(())
            })
            .map(move |res, act, ctx| {
                res?;
                act.d = next;
                if surveying {
                    act.registry.kick_outbox();
                }
                if let Some(h) = act.wrap_timers.remove(&agent_id) {
                    ctx.cancel_future(h);
                }
                act.push_to(
                    agent_id,
                    ServerEvent::WrapUpDone {
                        interaction_id: act.d.id,
                        disposition,
                        auto,
                    },
                );
                if let Some(agent) = act.agent(agent_id) {
                    agent.do_send(Release {
                        interaction_id: act.d.id,
                    });
                }
                if closing {
                    act.closed(ctx);
                } else {
                    act.announce_state(ctx);
                }
                Ok(())
            }),
        )
    }

    /// R28: the survey the customer gets as the conversation `d` closes, when its queue asks
    /// for one and the 24-hour window is open.
    fn survey_for(&self, d: &InteractionRecord, now: i64) -> Option<NewSurvey> {
        let settings = self.registry.with_queue(d.queue_id, |q| q.csat.clone())?;
        let due = csat::due(
            settings.enabled,
            d.last_customer_message_at,
            d.customer.recipient().is_some(),
            d.interrupted.is_some(),
            now,
        );
        due.then(|| NewSurvey {
            interaction_id: d.id,
            channel_id: d.channel_id,
            queue_id: d.queue_id,
            agent_id: d
                .owner
                .or_else(|| d.participants.last().map(|p| p.agent_id)),
            question: settings.question,
            timeout_hours: settings.timeout_hours,
        })
    }

    pub(super) fn activity_row(&self, d: &InteractionRecord, now: i64) -> NewActivity {
        let agents: Vec<serde_json::Value> = d
            .participants
            .iter()
            .map(|p| {
                serde_json::json!({
                    "agent_id": p.agent_id,
                    "display_name": p.display_name,
                    "role": p.role,
                    "joined_at": crate::domain::time::to_rfc3339(p.joined_at),
                    "wrapped_up_at": p.wrapped_up_at.map(crate::domain::time::to_rfc3339),
                    "disposition": p.disposition,
                    "auto": p.auto,
                })
            })
            .collect();
        // The final owner's disposition is the call's; else the first one given.
        let disposition = d
            .participants
            .iter()
            .filter(|p| Some(p.agent_id) == d.owner && p.disposition.is_some())
            .chain(d.participants.iter().filter(|p| p.disposition.is_some()))
            .map(|p| p.disposition.clone())
            .next()
            .flatten();
        NewActivity {
            queue_name: self.queue_ref().name,
            agent_names: d
                .participants
                .iter()
                .map(|p| p.display_name.clone())
                .collect(),
            interaction_id: d.id,
            kind: d.kind,
            channel_id: d.channel_id,
            queue_id: d.queue_id,
            contact_id: d.contact_id.clone(),
            customer_name: d.customer_name.clone(),
            customer: d.customer.clone(),
            source_number: d.source_number.clone(),
            agents: serde_json::Value::Array(agents).to_string(),
            agent_ids: d.participants.iter().map(|p| p.agent_id).collect(),
            initiated_at: d.created_at,
            accepted_at: d.accepted_at,
            terminated_at: d.ended_at,
            wrapped_up_at: now,
            disposition,
            transcript: self.messages.clone(),
        }
    }

    /// Commits `next` (in which `agents` start wrap-up at `deadline`), then takes back the
    /// withdrawn invitation, announces the state and starts each agent's countdown.
    pub(super) fn commit_wrap_ups(
        &mut self,
        next: InteractionRecord,
        notes: Vec<String>,
        withdrawn: Option<PendingOffer>,
        agents: Vec<i64>,
        deadline: i64,
    ) -> ResponseActFuture<Self, CommandResult> {
        Box::pin(self.commit(&next, notes).map(move |res, act, ctx| {
            let notes = res?;
            act.add_notes(notes);
            act.d = next;
            if let Some(o) = withdrawn {
                act.withdraw_offer(&o, RevokeReason::Taken, ctx);
            }
            act.announce_state(ctx);
            for agent_id in agents {
                if act
                    .participant(agent_id)
                    .is_some_and(|p| p.left_at.is_some())
                {
                    // A supervisor (R25): no wrap-up, out of the conversation at once.
                    if let Some(agent) = act.agent(agent_id) {
                        agent.do_send(Release {
                            interaction_id: act.d.id,
                        });
                    }
                } else {
                    act.begin_wrap_up(agent_id, deadline, ctx);
                }
            }
            Ok(())
        }))
    }
}

impl InteractionActor {
    /// The conversation is closed and its call log committed: the CRM outbox looks for it,
    /// the registry forgets the conversation, and the actor stops.
    pub(super) fn closed(&mut self, ctx: &mut Context<Self>) {
        // Watchers see it closed (R25); the agents have their wrap-up answers.
        let snapshot = self.snapshot();
        for watcher in &self.watchers {
            self.push_to(
                *watcher,
                ServerEvent::Interaction(Box::new(snapshot.clone())),
            );
        }
        self.registry.crm.activity_enqueued();
        self.registry.interaction_closed(self.d.id);
        ctx.stop();
    }
}

/// R8: saves the call log, and queues it for an external CRM in the same transaction
/// (neither exists without the other); R28: with the survey, when one is due.
pub(super) fn save_call_log(
    db: &Db,
    a: &NewActivity,
    crm: &Crm,
    survey: Option<&NewSurvey>,
    now: i64,
) -> StoreResult<i64> {
    let id = activities::insert(db, a)?;
    crm.enqueue_activity(db, || a.crm_record())?;
    if let Some(s) = survey {
        csat_store::enqueue(db, s, id, now)?;
    }
    Ok(id)
}
