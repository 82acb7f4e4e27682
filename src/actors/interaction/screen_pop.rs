//! R20: screen pop: the CRM lookup of the customer's number, what the accepting agent's
//! screen shows, and linking or creating a contact.

use super::{reply, InteractionActor, Reply};
use crate::crm::{Contact, ContactId, CrmError, ScreenPop};
use crate::domain::error_code::ErrorCode;
use crate::store::activities;
use crate::store::interactions;
use crate::ws::protocol::{CommandError, CommandResult, ServerEvent};
use actix::prelude::*;
use std::time::Duration;

/// How long a screen-pop lookup may hold up an offer; past it the offer goes out without
/// the match count and the agent sees the CRM error (a CRM outage never blocks routing).
/// The lookup runs beside the actor's mailbox: only the offer waits, never other messages.
const CRM_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

/// The first pause after a failed lookup; it doubles with each failure in a row up to
/// [`BREAKER_MAX_PAUSE`].
const BREAKER_FIRST_PAUSE: Duration = Duration::from_secs(5);
const BREAKER_MAX_PAUSE: Duration = Duration::from_secs(60);

/// Remembers a CRM outage for every conversation: after a failed lookup nobody asks the CRM
/// again until the pause is over, so offers go out at once (with the last error) instead of
/// each waiting for a CRM that does not answer.
#[derive(Debug, Default)]
pub struct LookupBreaker {
    state: std::sync::Mutex<BreakerState>,
}

#[derive(Debug, Default)]
struct BreakerState {
    failures_in_a_row: u32,
    paused_until: Option<std::time::Instant>,
    last_error: String,
}

impl LookupBreaker {
    fn state(&self) -> std::sync::MutexGuard<'_, BreakerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `Ok` when a lookup may be tried now; else the last failure's message.
    pub fn may_try(&self) -> Result<(), String> {
        let state = self.state();
        match state.paused_until {
            Some(until) if std::time::Instant::now() < until => Err(state.last_error.clone()),
            _ => Ok(()),
        }
    }

    pub fn succeeded(&self) {
        *self.state() = BreakerState::default();
    }

    pub fn failed(&self, error: &str) {
        let mut state = self.state();
        state.failures_in_a_row = state.failures_in_a_row.saturating_add(1);
        let doublings = state.failures_in_a_row.saturating_sub(1).min(8);
        let pause = (BREAKER_FIRST_PAUSE * 2u32.pow(doublings)).min(BREAKER_MAX_PAUSE);
        state.paused_until = Some(std::time::Instant::now() + pause);
        state.last_error = error.to_string();
    }
}

fn crm_error(e: CrmError) -> CommandError {
    CommandError::new(e.code(), e.to_string())
}

/// R20: an agent links the conversation to a CRM contact.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct LinkContact {
    pub agent_id: i64,
    pub contact_id: ContactId,
}

/// R20: an agent creates a CRM contact and links the conversation to it.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct CreateContact {
    pub agent_id: i64,
    pub contact: serde_json::Value,
}

impl Handler<LinkContact> for InteractionActor {
    type Result = ResponseFuture<CommandResult>;

    fn handle(&mut self, msg: LinkContact, ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_involved(msg.agent_id) {
            return Box::pin(async move { Err(e) });
        }
        let crm = self.registry.crm.clone();
        let id = msg.contact_id;
        let agent_id = msg.agent_id;
        let me = ctx.address();
        let user_id = self.d.customer.user_id.clone();
        // The CRM is asked outside the mailbox; the link itself is one atomic step after it.
        Box::pin(async move {
            let contact = match crm.get(&id).await {
                Ok(Some(contact)) => contact,
                Ok(None) => {
                    return Err(CommandError::new(
                        ErrorCode::NotFound,
                        format!("no contact {id}"),
                    ))
                }
                Err(e) => return Err(crm_error(e)),
            };
            // R21: the contact learns the customer's BSUID, so the screen pop finds it when
            // the number is withheld. The link does not depend on it.
            let contact = match user_id {
                Some(u) if crm.keeps_user_ids() && !contact.whatsapp_user_ids.contains(&u) => {
                    match crm.add_user_id(&contact.id, &u).await {
                        Ok(updated) => updated,
                        Err(e) => {
                            tracing::warn!(error = %e, "the contact did not take the customer's user id");
                            contact
                        }
                    }
                }
                _ => contact,
            };
            me.send(Link {
                agent_id,
                contact,
                created: false,
            })
            .await
            .map_err(mailbox_error)?
        })
    }
}

impl Handler<CreateContact> for InteractionActor {
    type Result = ResponseFuture<CommandResult>;

    fn handle(&mut self, msg: CreateContact, ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_involved(msg.agent_id) {
            return Box::pin(async move { Err(e) });
        }
        let mut new: crate::crm::NewContact = match serde_json::from_value(msg.contact) {
            Ok(c) => c,
            Err(e) => {
                let e = CommandError::new(ErrorCode::InvalidInput, format!("contact: {e}"));
                return Box::pin(async move { Err(e) });
            }
        };
        // The customer's number and WhatsApp profile name are the defaults.
        if new.phones.is_empty() {
            new.phones.extend(self.d.customer.e164());
        }
        // R21: and the customer's BSUID, where the CRM keeps one.
        if let Some(u) = &self.d.customer.user_id {
            if self.registry.crm.keeps_user_ids() && !new.whatsapp_user_ids.contains(u) {
                new.whatsapp_user_ids.push(u.clone());
            }
        }
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|v| v.trim().is_empty());
        let profile = self.d.customer_name.trim();
        let profile_is_a_name =
            !profile.is_empty() && !profile.starts_with('+') && profile != self.d.customer.label();
        if blank(&new.first_name) && blank(&new.last_name) && profile_is_a_name {
            new.first_name = Some(profile.to_string());
        }
        let crm = self.registry.crm.clone();
        let agent_id = msg.agent_id;
        let me = ctx.address();
        Box::pin(async move {
            let contact = crm.create(new).await.map_err(crm_error)?;
            me.send(Link {
                agent_id,
                contact,
                created: true,
            })
            .await
            .map_err(mailbox_error)?
        })
    }
}

fn mailbox_error(e: MailboxError) -> CommandError {
    CommandError::new(ErrorCode::Unavailable, e.to_string())
}

/// The contact an agent chose or created, found in the CRM: link it (R20).
#[derive(Message)]
#[rtype(result = "CommandResult")]
struct Link {
    agent_id: i64,
    contact: Contact,
    /// Just created: it matches the customer's number from now on.
    created: bool,
}

impl Handler<Link> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Link, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_involved(msg.agent_id) {
            return reply(Err(e));
        }
        if msg.created {
            let e164 = self
                .d
                .customer
                .phone
                .as_deref()
                .and_then(crate::domain::phone::from_wa_id);
            let user_id = self.d.customer.user_id.as_ref();
            if let Some(Ok(matches)) = &mut self.contacts {
                let by_phone = e164
                    .as_ref()
                    .is_some_and(|p| msg.contact.phones.contains(p));
                let by_user = user_id.is_some_and(|u| msg.contact.whatsapp_user_ids.contains(u));
                if by_phone || by_user {
                    matches.insert(0, msg.contact.clone());
                }
            }
        }
        AtomicResponse::new(self.link(msg.agent_id, msg.contact))
    }
}

impl InteractionActor {
    /// Starts the CRM lookup of the customer's number in the background (R20), unless its
    /// result is known or it runs already. While the CRM is out (the breaker remembers the
    /// last failure) the last error stands instead of a new try. True while a lookup runs.
    pub(super) fn look_up_contacts(&mut self, ctx: &mut Context<Self>) -> bool {
        if self.lookup.is_some() {
            return true;
        }
        if matches!(self.contacts, Some(Ok(_))) {
            return false;
        }
        let breaker = self.registry.crm_lookups.clone();
        if let Err(last_error) = breaker.may_try() {
            self.contacts = Some(Err(last_error));
            return false;
        }
        let crm = self.registry.crm.clone();
        let e164 = self
            .d
            .customer
            .phone
            .as_deref()
            .and_then(crate::domain::phone::from_wa_id);
        // R21: by number when known, else by the business-scoped user id.
        let user_id = self.d.customer.user_id.clone();
        let lookup = async move {
            if e164.is_none() && user_id.is_none() {
                return Ok(Vec::new());
            }
            let asked = crm.lookup_customer(e164.as_deref(), user_id.as_deref());
            let found = match tokio::time::timeout(CRM_LOOKUP_TIMEOUT, asked).await {
                Ok(found) => found.map_err(|e| format!("CRM lookup failed: {e}")),
                Err(_) => Err("CRM lookup failed: no answer in time".to_string()),
            };
            match &found {
                Ok(_) => breaker.succeeded(),
                Err(e) => breaker.failed(e),
            }
            found
        }
        .into_actor(self)
        .map(|found, act, ctx| {
            act.lookup = None;
            if let Err(e) = &found {
                tracing::warn!(interaction = act.d.id, error = %e, "screen pop lookup");
            }
            act.contacts = Some(found);
            if let Some(offer) = act.offer_waiting_for_lookup.take() {
                act.offer_now(offer, ctx);
            }
        });
        self.lookup = Some(ctx.spawn(lookup));
        true
    }

    /// R20: what the accepting agent's screen pops. A contact already linked (by an earlier
    /// agent, or chosen with `link_contact`) pops as it is.
    pub(super) fn screen_pop_for(&self, agent_id: i64) -> ScreenPop {
        let auto = self
            .registry
            .agent_record(agent_id)
            .is_none_or(|a| a.auto_multi_match_pop);
        let mut pop = match &self.contacts {
            Some(Ok(matches)) => ScreenPop::decide(Ok(matches.clone()), auto),
            Some(Err(e)) => ScreenPop::decide(Err(CrmError::Unavailable(e.clone())), auto),
            None => ScreenPop::decide(Ok(Vec::new()), auto),
        };
        if let Some(e) = &pop.error {
            // decide() prefixes its own words; keep the lookup's message as it was.
            if let Some(Err(original)) = &self.contacts {
                pop.error = Some(original.clone());
            } else {
                pop.error = Some(e.clone());
            }
        }
        let linked = self.linked.clone().or_else(|| {
            let id = self.d.contact_id.as_ref()?;
            pop.matches.iter().find(|c| &c.id == id).cloned()
        });
        if let Some(contact) = linked {
            pop.action = crate::crm::PopAction::Pop;
            pop.contact = Some(contact);
        }
        pop
    }

    /// Sends `screen_pop` with the linked contact's recent call logs.
    pub(super) fn push_screen_pop(&self, agent_id: i64, pop: ScreenPop, ctx: &mut Context<Self>) {
        let store = self.registry.store.clone();
        let linked = pop.linked().map(|c| c.id.clone());
        let interaction_id = self.d.id;
        let fut = async move {
            match linked {
                Some(id) => store
                    .read(move |db| activities::recent_for_contact(db, &id))
                    .await
                    .unwrap_or_default(),
                None => Vec::new(),
            }
        }
        .into_actor(self)
        .map(move |activities, act, _ctx| {
            act.push_to(
                agent_id,
                ServerEvent::ScreenPop {
                    interaction_id,
                    action: pop.action,
                    contact: pop.contact,
                    matches: pop.matches,
                    error: pop.error,
                    activities,
                },
            );
        });
        ctx.spawn(fut);
    }

    /// Links the interaction to `contact` (persisted), then pops it on the agent's screen.
    pub(super) fn link(
        &mut self,
        agent_id: i64,
        contact: Contact,
    ) -> ResponseActFuture<Self, CommandResult> {
        let mut next = self.d.clone();
        next.contact_id = Some(contact.id.clone());
        let row = next.clone();
        Box::pin(
            self.persist(move |db| interactions::save(db, &row))
                .map(move |res, act, ctx| {
                    res?;
                    act.d = next;
                    act.linked = Some(contact.clone());
                    let mut pop = act.screen_pop_for(agent_id);
                    pop.action = crate::crm::PopAction::Pop;
                    pop.contact = Some(contact);
                    act.push_screen_pop(agent_id, pop, ctx);
                    act.announce_state(ctx);
                    Ok(())
                }),
        )
    }

    /// Link and create are for the agents in the conversation or wrapping it up.
    pub(super) fn check_involved(&self, agent_id: i64) -> Result<(), CommandError> {
        match self.participant(agent_id) {
            Some(p) if !p.done() => Ok(()),
            _ => Err(CommandError::new(
                ErrorCode::NotParticipant,
                "you are not in this conversation",
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::LookupBreaker;

    #[test]
    fn a_failed_lookup_pauses_the_next_tries_until_one_succeeds() {
        let breaker = LookupBreaker::default();
        assert_eq!(breaker.may_try(), Ok(()));
        breaker.failed("CRM lookup failed: no answer in time");
        assert_eq!(
            breaker.may_try(),
            Err("CRM lookup failed: no answer in time".to_string())
        );
        breaker.succeeded();
        assert_eq!(breaker.may_try(), Ok(()));
    }

    #[test]
    fn the_pause_doubles_with_each_failure_in_a_row_up_to_a_minute() {
        let breaker = LookupBreaker::default();
        let mut pauses = Vec::new();
        for _ in 0..6 {
            let before = std::time::Instant::now();
            breaker.failed("down");
            let until = breaker.state().paused_until.unwrap();
            pauses.push((until - before).as_secs());
        }
        assert_eq!(pauses, vec![5, 10, 20, 40, 60, 60]);
    }
}
