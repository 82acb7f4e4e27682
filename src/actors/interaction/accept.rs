//! R5: the offered agent accepts; the conversation becomes active with it as owner (or it
//! joins a conference), and its screen pops (R20).

use super::{reply, InteractionActor, Reply};
use crate::domain::time::now_ms;
use crate::ws::protocol::CommandResult;
use actix::prelude::*;

/// R5: the offered agent takes the conversation (or joins it, for a conference).
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct Accept {
    pub agent_id: i64,
}

impl Handler<Accept> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Accept, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(e) = self.check_offered_to(msg.agent_id) {
            return reply(Err(e));
        }
        AtomicResponse::new(self.accept_now(msg))
    }
}

impl InteractionActor {
    pub(super) fn accept_now(&mut self, msg: Accept) -> ResponseActFuture<Self, CommandResult> {
        let agent_id = msg.agent_id;
        let offer_kind = match self.check_offered_to(agent_id) {
            Ok(o) => o.kind,
            Err(e) => return Box::pin(fut::ready(Err(e))),
        };
        let pop = self.screen_pop_for(agent_id);
        let display_name = self.registry.agent_name(agent_id).unwrap_or_default();
        let (mut next, notes) = match self.d.accept(agent_id, &display_name, now_ms()) {
            Ok(accepted) => accepted,
            Err(refusal) => return Box::pin(fut::ready(Err(refusal.into()))),
        };
        if next.contact_id.is_none() {
            next.contact_id = pop.linked().map(|c| c.id.clone());
        }
        Box::pin(self.commit(&next, notes).map(move |res, act, ctx| {
            let notes = res?;
            act.d = next;
            act.log_offer_end(agent_id, offer_kind, "accepted");
            if let Some(h) = act.offer_timer.take() {
                ctx.cancel_future(h);
            }
            act.announce_state(ctx);
            act.add_notes(notes);
            if act.linked.is_none() {
                act.linked = pop.linked().cloned();
            }
            act.push_screen_pop(agent_id, pop, ctx);
            Ok(())
        }))
    }
}
