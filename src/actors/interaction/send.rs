//! R6, R14: an agent's message (queued, then sent by the outbox; the 24-hour customer
//! service window) and the delivery statuses that follow.

use super::{reply, InteractionActor, Reply};
use crate::domain::error_code::ErrorCode;
use crate::domain::time::now_ms;
use crate::domain::MessageStatus;
use crate::store::{messages, outbox};
use crate::ws::protocol::{CommandError, CommandResult, ServerEvent};
use actix::prelude::*;

/// R6: an agent's text to the customer.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct SendText {
    pub agent_id: i64,
    pub text: String,
    /// A message of this interaction the text answers (quoted, R24).
    pub reply_to: Option<i64>,
}

impl Handler<SendText> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: SendText, _ctx: &mut Self::Context) -> Self::Result {
        let max = self.registry.settings.limits.max_message_chars;
        let now = now_ms();
        if let Err(refusal) = self.d.check_send(msg.agent_id, &msg.text, max, now) {
            return reply(Err(refusal.into()));
        }
        let interaction_id = self.d.id;
        let agent_id = msg.agent_id;
        let author_name = self
            .participant(agent_id)
            .map(|p| p.display_name.clone())
            .unwrap_or_default();
        let text = msg.text;
        let reply_to = msg.reply_to;
        if reply_to.is_some_and(|id| !self.messages.iter().any(|m| m.id == id)) {
            return reply(Err(CommandError::new(
                ErrorCode::InvalidInput,
                "reply_to is not a message of this interaction",
            )));
        }
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> Result<_, CommandError> {
                let quoted = match reply_to {
                    Some(id) => {
                        Some(messages::quoted_in(db, interaction_id, id)?.ok_or_else(|| {
                            CommandError::new(
                                ErrorCode::InvalidInput,
                                "reply_to is not a message of this interaction",
                            )
                        })?)
                    }
                    None => None,
                };
                // Neither the message nor its place in the outbox exists without the other.
                let message = messages::insert_agent_text(
                    db,
                    interaction_id,
                    agent_id,
                    &author_name,
                    &text,
                    quoted,
                    now,
                )?;
                outbox::enqueue(db, message.id, interaction_id, now)?;
                Ok(message)
            })
            .map(move |res, act, ctx| {
                let message = res?;
                act.queued(message, ctx);
                Ok(())
            }),
        ))
    }
}

impl InteractionActor {
    /// An agent's message (text or attachment) is committed with its outbox row: the
    /// transcript and the agents show it, the outbox sends it, the reply-time alert clears.
    pub(super) fn queued(
        &mut self,
        message: crate::ws::protocol::Message,
        ctx: &mut Context<Self>,
    ) {
        self.messages.push(message.clone());
        self.show(ServerEvent::Message {
            interaction_id: self.d.id,
            message: message.clone(),
        });
        self.registry.kick_outbox();
        self.refresh_alert(ctx);
    }
}

/// A delivery status of an outbound message changed (API answer or status webhook).
#[derive(Message)]
#[rtype(result = "()")]
pub struct MessageStatusChanged {
    pub message_id: i64,
    pub status: MessageStatus,
    pub error: Option<String>,
}

impl Handler<MessageStatusChanged> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: MessageStatusChanged, _ctx: &mut Self::Context) {
        let Some(m) = self.messages.iter_mut().find(|m| m.id == msg.message_id) else {
            return;
        };
        if !m.status.is_none_or(|s| s.can_become(msg.status)) {
            return;
        }
        m.status = Some(msg.status);
        m.error = msg.error.clone();
        self.show(ServerEvent::MessageStatus {
            interaction_id: self.d.id,
            message_id: msg.message_id,
            status: msg.status,
            error: msg.error.clone(),
        });
    }
}
