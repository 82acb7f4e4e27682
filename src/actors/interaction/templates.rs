//! R23: an approved message template, sent into the conversation (after the 24-hour window
//! too: that is what templates are for), through the outbox like any agent message.

use super::{reply, InteractionActor, Reply};
use crate::domain::error_code::ErrorCode;
use crate::domain::template::TemplateValues;
use crate::domain::time::now_ms;
use crate::domain::MessageKind;
use crate::store::{messages, outbox, templates, Db};
use crate::ws::protocol::{CommandError, CommandResult, Message};
use actix::prelude::*;

/// Which template of the channel to send, with its values.
#[derive(Debug, Clone)]
pub struct TemplateSend {
    pub name: String,
    pub language: String,
    pub values: TemplateValues,
}

/// `send_template`: a template of the conversation's channel.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct SendTemplate {
    pub agent_id: i64,
    pub template: TemplateSend,
}

/// Reads the channel's template, checks the values and stores the message with its outbox
/// row, in the caller's transaction. Refused with `not_found`, `template_not_approved` or
/// `bad_template_parameters`.
pub(super) fn store_template(
    db: &Db,
    channel_id: i64,
    interaction_id: i64,
    agent: (i64, &str),
    send: &TemplateSend,
    now: i64,
) -> Result<Message, CommandError> {
    let (name, language) = (&send.name, &send.language);
    let template = templates::get(db, channel_id, name, language)?.ok_or_else(|| {
        CommandError::new(
            ErrorCode::NotFound,
            format!("the channel has no template {name} in {language}"),
        )
    })?;
    let prepared = template.prepare(&send.values)?;
    let message = messages::insert_outbound_payload(
        db,
        interaction_id,
        Some(agent),
        MessageKind::Template,
        &prepared.text,
        &prepared.payload,
        now,
    )?;
    outbox::enqueue(db, message.id, interaction_id, now)?;
    Ok(message)
}

impl Handler<SendTemplate> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: SendTemplate, _ctx: &mut Self::Context) -> Self::Result {
        if let Err(refusal) = self.d.check_send_template(msg.agent_id) {
            return reply(Err(refusal.into()));
        }
        let (interaction_id, channel_id) = (self.d.id, self.d.channel_id);
        let agent_id = msg.agent_id;
        let author_name = self.display_name(agent_id);
        let now = now_ms();
        AtomicResponse::new(Box::pin(
            self.persist(move |db| {
                store_template(
                    db,
                    channel_id,
                    interaction_id,
                    (agent_id, &author_name),
                    &msg.template,
                    now,
                )
            })
            .map(move |res, act, ctx| {
                let message = res?;
                act.queued(message, ctx);
                Ok(())
            }),
        ))
    }
}
