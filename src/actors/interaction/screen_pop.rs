//! R20: screen pop: the CRM lookup of the customer's number, what the accepting agent's
//! screen shows, and linking or creating a contact.

use super::{fail, reply, InteractionActor, Reply};
use crate::crm::{Contact, ContactId, CrmError, ScreenPop};
use crate::store::activities::{self};
use crate::store::interactions;
use crate::ws::protocol::{CommandError, CommandResult, ServerEvent};
use actix::prelude::*;
use std::time::Duration;

/// How long a screen-pop lookup may hold up an offer; past it the offer goes out without
/// the match count and the agent sees the CRM error (a CRM outage never blocks routing).
const CRM_LOOKUP_TIMEOUT: Duration = Duration::from_secs(3);

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
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: LinkContact, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_involved(msg.agent_id) {
            return reply(Err(e));
        }
        let crm = self.registry.crm.clone();
        let id = msg.contact_id;
        let agent_id = msg.agent_id;
        AtomicResponse::new(Box::pin(
            async move {
                match crm.get(&id).await {
                    Ok(Some(contact)) => Ok(contact),
                    Ok(None) => Err(CommandError::new("not_found", format!("no contact {id}"))),
                    Err(e) => Err(crm_error(e)),
                }
            }
            .into_actor(self)
            .then(
                move |found, act, _ctx| -> ResponseActFuture<Self, CommandResult> {
                    match found {
                        Ok(contact) => act.link(agent_id, contact),
                        Err(e) => Box::pin(fut::ready(Err(e))),
                    }
                },
            ),
        ))
    }
}

impl Handler<CreateContact> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: CreateContact, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_involved(msg.agent_id) {
            return reply(Err(e));
        }
        let mut new: crate::crm::NewContact = match serde_json::from_value(msg.contact) {
            Ok(c) => c,
            Err(e) => return fail("invalid_input", format!("contact: {e}")),
        };
        // The customer's number and WhatsApp profile name are the defaults.
        if new.phones.is_empty() {
            new.phones.push(format!("+{}", self.d.customer_wa_id));
        }
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|v| v.trim().is_empty());
        let profile = self.d.customer_name.trim();
        let profile_is_a_name = !profile.is_empty() && !profile.starts_with('+');
        if blank(&new.first_name) && blank(&new.last_name) && profile_is_a_name {
            new.first_name = Some(profile.to_string());
        }
        let crm = self.registry.crm.clone();
        let agent_id = msg.agent_id;
        let e164 = crate::domain::phone::from_wa_id(&self.d.customer_wa_id);
        AtomicResponse::new(Box::pin(
            async move { crm.create(new).await.map_err(crm_error) }
                .into_actor(self)
                .then(
                    move |created, act, _ctx| -> ResponseActFuture<Self, CommandResult> {
                        match created {
                            Ok(contact) => {
                                // The new contact matches the customer's number from now on.
                                if let (Some(Ok(matches)), Some(e164)) = (&mut act.contacts, &e164)
                                {
                                    if contact.phones.contains(e164) {
                                        matches.insert(0, contact.clone());
                                    }
                                }
                                act.link(agent_id, contact)
                            }
                            Err(e) => Box::pin(fut::ready(Err(e))),
                        }
                    },
                ),
        ))
    }
}

impl InteractionActor {
    /// Looks the customer's number up in the CRM once (again after a failure).
    pub(super) fn ensure_contacts(&mut self) -> ResponseActFuture<Self, ()> {
        if matches!(self.contacts, Some(Ok(_))) {
            return Box::pin(fut::ready(()));
        }
        let crm = self.registry.crm.clone();
        let e164 = crate::domain::phone::from_wa_id(&self.d.customer_wa_id);
        Box::pin(
            async move {
                let Some(e164) = e164 else {
                    return Ok(Vec::new());
                };
                match tokio::time::timeout(CRM_LOOKUP_TIMEOUT, crm.lookup_by_phone(&e164)).await {
                    Ok(found) => found.map_err(|e| format!("CRM lookup failed: {e}")),
                    Err(_) => Err("CRM lookup failed: no answer in time".to_string()),
                }
            }
            .into_actor(self)
            .map(|found, act, _ctx| {
                if let Err(e) = &found {
                    tracing::warn!(interaction = act.d.id, error = %e, "screen pop lookup");
                }
                act.contacts = Some(found);
            }),
        )
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
                "not_participant",
                "you are not in this conversation",
            )),
        }
    }
}
