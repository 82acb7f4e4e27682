//! R24: reactions both ways, and the customer's edits and deletions of their messages. None
//! of these is a new message of the transcript; agents see the message change.

use super::{reply, InteractionActor, Reply};
use crate::domain::error_code::ErrorCode;
use crate::domain::message::{Author, CustomerChange};
use crate::domain::time::now_ms;
use crate::domain::AuthorKind;
use crate::store::signals::{self, SignalKind};
use crate::store::{messages, StoreError, StoreResult};
use crate::ws::protocol::{CommandError, CommandResult, ServerEvent};
use actix::prelude::*;

/// An agent reacts to a message of the conversation (an empty emoji takes it back).
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct React {
    pub agent_id: i64,
    pub message_id: i64,
    pub emoji: String,
}

impl Handler<React> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: React, _ctx: &mut Self::Context) -> Self::Result {
        let now = now_ms();
        if let Err(refusal) = self.d.check_react(msg.agent_id, &msg.emoji, now) {
            return reply(Err(refusal.into()));
        }
        let Some(target) = self.messages.iter().find(|m| m.id == msg.message_id) else {
            return reply(Err(CommandError::new(
                ErrorCode::InvalidInput,
                "message_id is not a message of this interaction",
            )));
        };
        if target.author.kind == AuthorKind::System {
            return reply(Err(CommandError::new(
                ErrorCode::InvalidInput,
                "system notes cannot be reacted to",
            )));
        }
        let author = Author {
            kind: AuthorKind::Agent,
            id: Some(msg.agent_id.to_string()),
            name: self
                .participant(msg.agent_id)
                .map(|p| p.display_name.clone())
                .unwrap_or_default(),
        };
        let (interaction_id, message_id, emoji) = (self.d.id, msg.message_id, msg.emoji);
        let stored_author = author.clone();
        let stored_emoji = emoji.clone();
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> Result<_, CommandError> {
                // The reaction shows at once and is sent by the signal sender; neither exists
                // without the other.
                messages::set_reaction(db, message_id, &stored_author, &stored_emoji, now)?;
                signals::enqueue(
                    db,
                    interaction_id,
                    SignalKind::Reaction,
                    message_id,
                    Some(&stored_emoji),
                    None,
                    now,
                )?;
                Ok(())
            })
            .map(move |res, act, _ctx| {
                res?;
                act.registry.kick_signals();
                act.show_reaction(message_id, author, &emoji);
                Ok(())
            }),
        ))
    }
}

/// A customer's reaction, edit or deletion of the message `target` (a wamid).
#[derive(Message)]
#[rtype(result = "StoreResult<()>")]
pub struct CustomerUpdate {
    pub target: String,
    pub change: CustomerChange,
}

impl Handler<CustomerUpdate> for InteractionActor {
    type Result = Reply<StoreResult<()>>;

    fn handle(&mut self, msg: CustomerUpdate, _ctx: &mut Self::Context) -> Self::Result {
        let author = self.customer_author();
        let stored_author = author.clone();
        let now = now_ms();
        let change = msg.change.clone();
        AtomicResponse::new(Box::pin(
            self.persist(move |db| -> Result<_, StoreError> {
                messages::apply_customer_change(db, &msg.target, &stored_author, &change, now)
            })
            .map(move |res, act, _ctx| {
                let Some((message_id, interaction_id)) = res? else {
                    return Ok(());
                };
                if interaction_id != act.d.id {
                    return Ok(()); // an older conversation's message: stored, nothing to show
                }
                match &msg.change {
                    CustomerChange::Reaction(emoji) => act.show_reaction(message_id, author, emoji),
                    change => {
                        let Some(m) = act.messages.iter_mut().find(|m| m.id == message_id) else {
                            return Ok(());
                        };
                        m.apply(&author, change);
                        let message = m.clone();
                        act.show(ServerEvent::MessageChanged {
                            interaction_id: act.d.id,
                            message: message.clone(),
                        });
                    }
                }
                Ok(())
            }),
        ))
    }
}

impl InteractionActor {
    /// The customer as the author of a reaction.
    pub(super) fn customer_author(&self) -> Author {
        Author {
            kind: AuthorKind::Customer,
            id: self
                .d
                .customer
                .phone
                .clone()
                .or_else(|| self.d.customer.user_id.clone()),
            name: self.d.customer_name.clone(),
        }
    }

    /// Applies a committed reaction to the transcript and tells the agents.
    fn show_reaction(&mut self, message_id: i64, author: Author, emoji: &str) {
        let Some(m) = self.messages.iter_mut().find(|m| m.id == message_id) else {
            return;
        };
        if !m.set_reaction(author.clone(), emoji) {
            return;
        }
        self.show(ServerEvent::Reaction {
            interaction_id: self.d.id,
            message_id,
            emoji: emoji.to_string(),
            author: author.clone(),
        });
    }
}
