//! R23: a conversation the business starts. The interaction is the starting agent's, active
//! at once, with the template as its first message; the customer's reply lands in it.

use super::templates::{store_template, TemplateSend};
use super::{InteractionActor, Reply};
use crate::actors::agent::Hold;
use crate::crm::Contact;
use crate::domain::error_code::ErrorCode;
use crate::domain::time::now_ms;
use crate::store::{customers, interactions};
use crate::ws::protocol::{self, CommandError, ServerEvent};
use actix::prelude::*;

/// Starts the (new, not yet stored) conversation as the business's.
#[derive(Message)]
#[rtype(result = "Result<protocol::Interaction, CommandError>")]
pub struct StartOutbound {
    pub agent_id: i64,
    pub template: TemplateSend,
    /// The CRM contact it was started from, linked at once.
    pub contact: Option<Contact>,
}

impl Handler<StartOutbound> for InteractionActor {
    type Result = Reply<Result<protocol::Interaction, CommandError>>;

    fn handle(&mut self, msg: StartOutbound, _ctx: &mut Self::Context) -> Self::Result {
        if self.persisted {
            // The customer wrote first, a moment ago.
            return super::fail(
                ErrorCode::ConversationOpen,
                format!(
                    "the customer already has an open conversation on this channel (interaction {})",
                    self.d.id
                ),
            );
        }
        let agent_id = msg.agent_id;
        let display_name = self.display_name(agent_id);
        let now = now_ms();
        let mut next = self.d.start_outbound(agent_id, &display_name, now);
        if let Some(contact) = &msg.contact {
            next.contact_id = Some(contact.id.clone());
            let name = contact.display_name();
            if !name.trim().is_empty() {
                next.customer_name = name;
            }
        }
        let mut row = next.clone();
        let template = msg.template;
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> Result<_, CommandError> {
                row.customer_id = Some(customers::resolve(
                    db,
                    row.channel_id,
                    &row.customer,
                    None,
                    now,
                )?);
                interactions::save(db, &row)?;
                let first = store_template(
                    db,
                    row.channel_id,
                    row.id,
                    (agent_id, &display_name),
                    &template,
                    now,
                )?;
                Ok((row.customer_id, first))
            })
            .map(move |res, act, ctx| {
                let (customer_id, first) = match res {
                    Ok(done) => done,
                    Err(e) => {
                        act.abandon(ctx);
                        return Err(e);
                    }
                };
                act.d = next;
                act.d.customer_id = customer_id;
                act.persisted = true;
                act.linked = msg.contact;
                act.messages.push(first);
                act.registry.kick_outbox();
                let snapshot = act.snapshot();
                // The owner's desk shows it; the owner holds it (its capacity counts it). Until
                // its desk says it is there, the reconnect grace runs (R11).
                act.push_to(
                    agent_id,
                    ServerEvent::Interaction(Box::new(snapshot.clone())),
                );
                act.disconnected.insert(agent_id);
                act.start_grace_timer(agent_id, ctx);
                if let Some(agent) = act.agent(agent_id) {
                    agent.do_send(Hold {
                        interaction_id: act.d.id,
                        interaction: ctx.address(),
                    });
                }
                let pop = act.screen_pop_for(agent_id);
                act.push_screen_pop(agent_id, pop, ctx);
                act.refresh_alert(ctx);
                Ok(snapshot)
            }),
        ))
    }
}

impl InteractionActor {
    /// A conversation that was never stored is given up (after its start was refused):
    /// nothing finds it any more, and the actor stops once it has answered.
    fn abandon(&mut self, ctx: &mut Context<Self>) {
        if !self.persisted {
            self.registry.interaction_closed(self.d.id);
            ctx.stop();
        }
    }
}
