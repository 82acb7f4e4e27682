//! R22 in the conversation: a customer's file that became `ready` or `failed` is shown to the
//! agents (`message_media`); an agent's attachment is checked like a text (R6, R14, R15),
//! committed with its file's row and its outbox row in one transaction, then sent by the outbox
//! in order with the texts.

use super::{reply, InteractionActor, Reply};
use crate::domain::media::{attachment_text, Media};
use crate::domain::time::now_ms;
use crate::domain::MessageKind;
use crate::store::{media, messages, outbox, StoreResult};
use crate::ws::protocol::{CommandError, CommandResult, Message as ChatMessage, ServerEvent};
use actix::prelude::*;

/// The fetcher stored a message's file, or gave up on it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct MediaChanged {
    pub message_id: i64,
    pub media: Media,
}

impl Handler<MediaChanged> for InteractionActor {
    type Result = ();

    fn handle(&mut self, msg: MediaChanged, _ctx: &mut Self::Context) {
        if let Some(m) = self.messages.iter_mut().find(|m| m.id == msg.message_id) {
            m.media = Some(Box::new(msg.media.clone()));
        }
        self.show(ServerEvent::MessageMedia {
            interaction_id: self.d.id,
            message_id: msg.message_id,
            media: msg.media.clone(),
        });
    }
}

/// May `agent_id` send an attachment now? Asked before the upload is read, so a refused
/// agent does not send megabytes first.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct CheckAttachment {
    pub agent_id: i64,
}

impl Handler<CheckAttachment> for InteractionActor {
    type Result = CommandResult;

    fn handle(&mut self, msg: CheckAttachment, _ctx: &mut Self::Context) -> Self::Result {
        let max = self.registry.settings.limits.max_message_chars;
        Ok(self
            .d
            .check_send_attachment(msg.agent_id, None, max, now_ms())?)
    }
}

/// An agent's file, stored under `media.path` and judged by its bytes.
#[derive(Debug, Clone)]
pub struct StoredAttachment {
    pub kind: MessageKind,
    pub mime_type: String,
    pub size: i64,
    pub sha256_hex: String,
    pub filename: Option<String>,
    pub caption: Option<String>,
    /// Relative to `media.path`.
    pub file: String,
}

/// R22: an agent sends a stored attachment; answered with the `queued` message.
#[derive(Message)]
#[rtype(result = "Result<ChatMessage, CommandError>")]
pub struct SendAttachment {
    pub agent_id: i64,
    pub attachment: StoredAttachment,
}

impl Handler<SendAttachment> for InteractionActor {
    type Result = Reply<Result<ChatMessage, CommandError>>;

    fn handle(&mut self, msg: SendAttachment, _ctx: &mut Self::Context) -> Self::Result {
        let max = self.registry.settings.limits.max_message_chars;
        let now = now_ms();
        let a = msg.attachment;
        if let Err(refusal) =
            self.d
                .check_send_attachment(msg.agent_id, a.caption.as_deref(), max, now)
        {
            return reply(Err(refusal.into()));
        }
        let interaction_id = self.d.id;
        let agent_id = msg.agent_id;
        let author_name = self
            .participant(agent_id)
            .map(|p| p.display_name.clone())
            .unwrap_or_default();
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> StoreResult<_> {
                // The message, its file's row and its place in the outbox: all or nothing.
                let text = attachment_text(a.kind, a.caption.as_deref(), a.filename.as_deref());
                let mut message = messages::insert_agent(
                    db,
                    interaction_id,
                    agent_id,
                    &author_name,
                    a.kind,
                    &text,
                    None,
                    now,
                )?;
                let row = media::NewOutbound {
                    message_id: message.id,
                    interaction_id,
                    kind: a.kind,
                    mime_type: &a.mime_type,
                    size: a.size,
                    sha256: &a.sha256_hex,
                    filename: a.filename.as_deref(),
                    caption: a.caption.as_deref(),
                    file: &a.file,
                };
                message.media = Some(Box::new(media::insert_outbound(db, &row, now)?));
                outbox::enqueue(db, message.id, interaction_id, now)?;
                Ok(message)
            })
            .map(move |res, act, ctx| {
                let message = res?;
                act.queued(message.clone(), ctx);
                Ok(message)
            }),
        ))
    }
}
