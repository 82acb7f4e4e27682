//! R24: read receipts and typing indicators. The agent looking at the conversation marks the
//! customer's newest message read at Meta, once per message; typing shows the customer the
//! agent is writing, at most once every 20 s per interaction.

use super::{reply, InteractionActor, Reply};
use crate::domain::error_code::ErrorCode;
use crate::domain::time::now_ms;
use crate::store::messages;
use crate::store::signals::{self, SignalKind};
use crate::ws::protocol::{CommandError, CommandResult};
use actix::prelude::*;

/// How often a typing indicator reaches Meta for one interaction (it shows for up to 25 s).
pub const TYPING_EVERY_MS: i64 = 20_000;

/// `read` (typing false) or `typing` (true) from an agent of the conversation.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct MarkRead {
    pub agent_id: i64,
    pub typing: bool,
}

impl Handler<MarkRead> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: MarkRead, _ctx: &mut Self::Context) -> Self::Result {
        if !self.participant(msg.agent_id).is_some_and(|p| p.active()) {
            return reply(Err(CommandError::new(
                ErrorCode::NotParticipant,
                "only an agent in the conversation marks it read",
            )));
        }
        let now = now_ms();
        if msg.typing {
            if self
                .last_typing_at
                .is_some_and(|t| now - t < TYPING_EVERY_MS)
            {
                return reply(Ok(())); // shown already
            }
            self.last_typing_at = Some(now);
        }
        let interaction_id = self.d.id;
        let typing = msg.typing;
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> Result<bool, CommandError> {
                let Some((message_id, _wamid, read_sent)) =
                    messages::newest_inbound(db, interaction_id)?
                else {
                    return Ok(false);
                };
                if read_sent && !typing {
                    return Ok(false); // once per message
                }
                let (kind, expires_at) = if typing {
                    (SignalKind::Typing, Some(now + TYPING_EVERY_MS))
                } else {
                    (SignalKind::Read, None)
                };
                signals::enqueue(db, interaction_id, kind, message_id, None, expires_at, now)?;
                messages::mark_read_sent(db, message_id, now)?;
                Ok(true)
            })
            .map(|res, act, _ctx| {
                if res? {
                    act.registry.kick_signals();
                }
                Ok(())
            }),
        ))
    }
}
