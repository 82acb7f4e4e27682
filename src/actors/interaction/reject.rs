//! R4: reject, for agents with `can_reject`: the same consequences as a timeout.

use super::{fail, reply, InteractionActor, Reply};
use crate::domain::RevokeReason;
use crate::ws::protocol::CommandResult;
use actix::prelude::*;

/// R4: the offered agent declines (only with `can_reject`).
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct Reject {
    pub agent_id: i64,
}

impl Handler<Reject> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Reject, _ctx: &mut Self::Context) -> Self::Result {
        match self.check_offered_to(msg.agent_id) {
            Ok(o) if !o.can_reject => fail(
                "reject_not_permitted",
                "your administrator does not allow you to reject conversations",
            ),
            Ok(_) => AtomicResponse::new(self.take_back_offer(RevokeReason::Rejected)),
            Err(e) => reply(Err(e)),
        }
    }
}
