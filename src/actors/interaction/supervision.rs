//! R25: supervisors watch a conversation (its events, unseen by the agents), whisper to the
//! agents with internal notes, and barge in as a participant.

use super::{reply, InteractionActor, Reply};
use crate::actors::agent::{Hold, Watching};
use crate::domain::time::now_ms;
use crate::store::messages;
use crate::ws::protocol::{CommandResult, ServerEvent};
use actix::prelude::*;

/// `monitor` (on) and `unmonitor` (off); the session checked the role. Also sent by the
/// watcher's agent actor when its desktop goes away.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct Watch {
    pub agent_id: i64,
    pub on: bool,
}

impl Handler<Watch> for InteractionActor {
    type Result = CommandResult;

    fn handle(&mut self, msg: Watch, ctx: &mut Self::Context) -> CommandResult {
        let changed = if msg.on {
            self.watchers.insert(msg.agent_id)
        } else {
            self.watchers.remove(&msg.agent_id)
        };
        if msg.on {
            // The watcher gets the conversation as it is now, then every event.
            self.push_to(
                msg.agent_id,
                ServerEvent::Interaction(Box::new(self.snapshot())),
            );
        }
        if changed {
            if let Some(agent) = self.agent(msg.agent_id) {
                agent.do_send(Watching {
                    interaction_id: self.d.id,
                    interaction: ctx.address(),
                    on: msg.on,
                });
            }
        }
        Ok(())
    }
}

/// `note`: an internal note (a whisper) by someone in the conversation or watching it.
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct Note {
    pub agent_id: i64,
    pub text: String,
}

impl Handler<Note> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: Note, _ctx: &mut Self::Context) -> Self::Result {
        let max = self.registry.settings.limits.max_message_chars;
        let watching = self.watchers.contains(&msg.agent_id);
        if let Err(refusal) = self.d.check_note(msg.agent_id, watching, &msg.text, max) {
            return reply(Err(refusal.into()));
        }
        let (interaction_id, agent_id, text) = (self.d.id, msg.agent_id, msg.text);
        let author = self.display_name(agent_id);
        let now = now_ms();
        AtomicResponse::new(Box::pin(
            self.persist(move |db| {
                messages::insert_note(db, interaction_id, agent_id, &author, &text, now)
            })
            .map(move |res, act, _ctx| {
                let note = res?;
                act.messages.push(note.clone());
                act.show(ServerEvent::Message {
                    interaction_id: act.d.id,
                    message: note,
                });
                Ok(())
            }),
        ))
    }
}

/// `barge_in`: the supervisor joins as a participant (role `supervisor`).
#[derive(Message)]
#[rtype(result = "CommandResult")]
pub struct BargeIn {
    pub agent_id: i64,
}

impl Handler<BargeIn> for InteractionActor {
    type Result = Reply<CommandResult>;

    fn handle(&mut self, msg: BargeIn, _ctx: &mut Self::Context) -> Self::Result {
        let agent_id = msg.agent_id;
        let name = self.display_name(agent_id);
        let (next, notes) = match self.d.barge_in(agent_id, &name, now_ms()) {
            Ok(joined) => joined,
            Err(refusal) => return reply(Err(refusal.into())),
        };
        AtomicResponse::new(Box::pin(self.commit(&next, notes).map(
            move |res, act, ctx| {
                let notes = res?;
                act.d = next;
                // A participant now: the events come as to any participant.
                act.watchers.remove(&agent_id);
                if let Some(agent) = act.agent(agent_id) {
                    agent.do_send(Hold {
                        interaction_id: act.d.id,
                        interaction: ctx.address(),
                    });
                }
                act.announce_state(ctx);
                act.add_notes(notes);
                Ok(())
            },
        )))
    }
}
