//! R4: reject, for agents with `can_reject`: the same consequences as a timeout.

use super::{reply, InteractionActor, Reply};
use crate::domain::time::now_ms;
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
        let name = self.display_name(msg.agent_id);
        match self.d.reject(msg.agent_id, &name, now_ms()) {
            Ok(revoked) => {
                AtomicResponse::new(self.commit_revocation(revoked, RevokeReason::Rejected))
            }
            Err(refusal) => reply(Err(refusal.into())),
        }
    }
}
