//! The agent's WebSocket session actor (actix-web-actors). It decodes commands, hands them
//! to the agent and interaction actors, answers `ack` after the effect is committed, and
//! writes the events those actors push. Kept in this one module so a later move to
//! actix-ws stays local.

use super::protocol::{self, ClientCommand, ClientFrame, CommandError, CommandResult, ServerEvent};
use crate::actors::agent::{self, AgentActor, SessionEvent};
use crate::actors::interaction;
use crate::actors::registry::Registry;
use crate::actors::transfer_targets;
use crate::domain::error_code::ErrorCode;
use actix::prelude::*;
use actix_web_actors::ws;
use futures_util::future::{BoxFuture, FutureExt};
use std::sync::Arc;
use std::time::Instant;

/// Largest command frame accepted.
pub const MAX_FRAME_BYTES: usize = 64 * 1024;

pub struct AgentSession {
    id: u64,
    agent_id: i64,
    agent: Addr<AgentActor>,
    registry: Arc<Registry>,
    last_heard: Instant,
}

impl AgentSession {
    pub fn new(agent_id: i64, agent: Addr<AgentActor>, registry: Arc<Registry>) -> Self {
        AgentSession {
            id: registry.next_session_id(),
            agent_id,
            agent,
            registry,
            last_heard: Instant::now(),
        }
    }

    /// Pings; a client silent past `limits.ws_client_timeout_secs` is disconnected (R11),
    /// which starts the reconnect grace period of its conversations.
    fn heartbeat(&self, ctx: &mut ws::WebsocketContext<Self>) {
        let (every, timeout) = self.registry.settings.limits.ws_heartbeat();
        ctx.run_interval(every, move |act, ctx| {
            if Instant::now().duration_since(act.last_heard) > timeout {
                tracing::info!(agent = act.agent_id, "agent socket silent, disconnecting");
                ctx.stop();
                return;
            }
            ctx.ping(b"");
        });
    }

    /// Writes one event; with masking on (R13), a masked copy: unmasked customer data never
    /// reaches the agent's browser. Read at every event, so a settings change applies at once.
    fn send_event(&self, ctx: &mut ws::WebsocketContext<Self>, event: &ServerEvent) {
        let encoded = if self.registry.runtime.masking_enabled() {
            let mut masked = event.clone();
            super::masking::mask_event(&mut masked);
            serde_json::to_string(&masked)
        } else {
            serde_json::to_string(event)
        };
        match encoded {
            Ok(text) => ctx.text(text),
            Err(e) => tracing::error!(error = %e, "could not encode an event"),
        }
    }

    fn handle_text(&mut self, text: &str, ctx: &mut ws::WebsocketContext<Self>) {
        let frame: ClientFrame = match protocol::decode(text) {
            Ok(f) => f,
            Err(error) => {
                self.send_event(ctx, &error);
                return;
            }
        };
        let reference = frame.reference;
        let agent_id = self.agent_id;
        let fut = self.run(frame.command, reference.clone(), ctx);
        let Some(fut) = fut else {
            return;
        };
        ctx.spawn(fut.into_actor(self).map(move |result, act, ctx| {
            let event = match result {
                Ok(()) => ServerEvent::Ack { reference },
                Err(e) => {
                    tracing::debug!(agent = agent_id, code = %e.code, "command refused");
                    ServerEvent::Error {
                        reference,
                        code: e.code.to_string(),
                        message: e.message,
                    }
                }
            };
            act.send_event(ctx, &event);
        }));
    }

    /// Hands a command to the actor that owns its effect; the future resolves after commit.
    fn run(
        &mut self,
        command: ClientCommand,
        reference: Option<serde_json::Value>,
        ctx: &mut ws::WebsocketContext<Self>,
    ) -> Option<BoxFuture<'static, CommandResult>> {
        let agent_id = self.agent_id;
        Some(match command {
            ClientCommand::Ping => {
                self.send_event(ctx, &ServerEvent::Pong);
                return None;
            }
            ClientCommand::SetStatus { status, reason } => {
                let req = self.agent.send(agent::SetStatus { status, reason });
                async move { req.await.map_err(mailbox_error)? }.boxed()
            }
            ClientCommand::StopNew { enabled } => {
                let req = self.agent.send(agent::SetStopNew { enabled });
                async move { req.await.map_err(mailbox_error)? }.boxed()
            }
            ClientCommand::Accept { interaction_id } => {
                self.to_interaction(interaction_id, interaction::Accept { agent_id })
            }
            ClientCommand::Reject { interaction_id } => {
                self.to_interaction(interaction_id, interaction::Reject { agent_id })
            }
            ClientCommand::Send {
                interaction_id,
                text,
                reply_to,
            } => self.to_interaction(
                interaction_id,
                interaction::SendText {
                    agent_id,
                    text,
                    reply_to,
                },
            ),
            ClientCommand::SendTemplate {
                interaction_id,
                name,
                language,
                parameters,
            } => self.to_interaction(
                interaction_id,
                interaction::SendTemplate {
                    agent_id,
                    template: interaction::TemplateSend {
                        name,
                        language,
                        values: parameters,
                    },
                },
            ),
            ClientCommand::React {
                interaction_id,
                message_id,
                emoji,
            } => self.to_interaction(
                interaction_id,
                interaction::React {
                    agent_id,
                    message_id,
                    emoji,
                },
            ),
            ClientCommand::Read { interaction_id } => self.to_interaction(
                interaction_id,
                interaction::MarkRead {
                    agent_id,
                    typing: false,
                },
            ),
            ClientCommand::Typing { interaction_id } => self.to_interaction(
                interaction_id,
                interaction::MarkRead {
                    agent_id,
                    typing: true,
                },
            ),
            ClientCommand::End { interaction_id } => {
                self.to_interaction(interaction_id, interaction::End { agent_id })
            }
            ClientCommand::WrapUp {
                interaction_id,
                disposition,
            } => self.to_interaction(
                interaction_id,
                interaction::WrapUp {
                    agent_id,
                    disposition,
                },
            ),
            ClientCommand::Transfer {
                interaction_id,
                queue_id,
                agent_id: target,
            } => match interaction::Target::from_ids(queue_id, target) {
                Ok(target) => {
                    self.to_interaction(interaction_id, interaction::Transfer { agent_id, target })
                }
                Err(e) => futures_util::future::ready(Err(e.into())).boxed(),
            },
            ClientCommand::Conference {
                interaction_id,
                queue_id,
                agent_id: target,
            } => match interaction::Target::from_ids(queue_id, target) {
                Ok(target) => self
                    .to_interaction(interaction_id, interaction::Conference { agent_id, target }),
                Err(e) => futures_util::future::ready(Err(e.into())).boxed(),
            },
            ClientCommand::EndConference { interaction_id } => {
                self.to_interaction(interaction_id, interaction::EndConference { agent_id })
            }
            ClientCommand::LeaveConference { interaction_id } => {
                self.to_interaction(interaction_id, interaction::LeaveConference { agent_id })
            }
            ClientCommand::LinkContact {
                interaction_id,
                contact_id,
            } => self.to_interaction(
                interaction_id,
                interaction::LinkContact {
                    agent_id,
                    contact_id,
                },
            ),
            ClientCommand::CreateContact {
                interaction_id,
                contact,
            } => self.to_interaction(
                interaction_id,
                interaction::CreateContact { agent_id, contact },
            ),
            ClientCommand::TransferTargets { filter } => {
                let registry = self.registry.clone();
                let fut = async move {
                    transfer_targets::find(&registry, agent_id, filter.as_deref()).await
                };
                ctx.spawn(fut.into_actor(self).map(move |(queues, agents), act, ctx| {
                    let event = ServerEvent::TransferTargets {
                        reference: reference.clone(),
                        queues,
                        agents,
                    };
                    act.send_event(ctx, &event);
                    act.send_event(ctx, &ServerEvent::Ack { reference });
                }));
                return None;
            }
        })
    }
}

impl AgentSession {
    /// Sends a command to the interaction it names; a closed interaction answers
    /// `invalid_state`, an unknown one `not_found`.
    fn to_interaction<M>(&self, interaction_id: i64, msg: M) -> BoxFuture<'static, CommandResult>
    where
        M: Message<Result = CommandResult> + Send + 'static,
        interaction::InteractionActor: Handler<M>,
    {
        if let Some(addr) = self.registry.interaction(interaction_id) {
            let req = addr.send(msg);
            return async move { req.await.map_err(mailbox_error)? }.boxed();
        }
        let store = self.registry.store.clone();
        async move {
            let closed = store
                .read(move |db| crate::store::interactions::is_closed(db, interaction_id))
                .await
                .unwrap_or(false);
            Err(if closed {
                CommandError::new(
                    ErrorCode::InvalidState,
                    format!("interaction {interaction_id} is closed"),
                )
            } else {
                CommandError::new(
                    ErrorCode::NotFound,
                    format!("no open interaction {interaction_id}"),
                )
            })
        }
        .boxed()
    }
}

fn mailbox_error(e: MailboxError) -> CommandError {
    CommandError::new(ErrorCode::Unavailable, e.to_string())
}

impl Actor for AgentSession {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        // Events waiting for a socket that does not drain are bounded: past this many the
        // agent actor drops the session (`limits.ws_max_pending_events`, see agent.rs `push`).
        ctx.set_mailbox_capacity(self.registry.settings.limits.ws_max_pending_events.max(16));
        crate::metrics::socket_connected();
        self.heartbeat(ctx);
        self.agent.do_send(agent::Connect {
            session_id: self.id,
            session: ctx.address().recipient(),
        });
    }

    fn stopping(&mut self, _ctx: &mut Self::Context) -> Running {
        crate::metrics::socket_disconnected();
        self.agent.do_send(agent::Disconnect {
            session_id: self.id,
        });
        Running::Stop
    }
}

impl Handler<SessionEvent> for AgentSession {
    type Result = ();

    fn handle(&mut self, msg: SessionEvent, ctx: &mut Self::Context) {
        match msg {
            SessionEvent::Event(event) => self.send_event(ctx, &event),
            SessionEvent::Replaced => {
                self.send_event(ctx, &ServerEvent::Replaced);
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Policy,
                    description: Some("replaced by another connection".into()),
                }));
                ctx.stop();
            }
            SessionEvent::Close(reason) => {
                ctx.close(Some(ws::CloseReason {
                    code: ws::CloseCode::Policy,
                    description: Some(reason),
                }));
                ctx.stop();
            }
        }
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for AgentSession {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.last_heard = Instant::now();
        match msg {
            Ok(ws::Message::Text(text)) => self.handle_text(&text, ctx),
            Ok(ws::Message::Ping(payload)) => ctx.pong(&payload),
            Ok(ws::Message::Pong(_)) => {}
            Ok(ws::Message::Binary(_)) => self.send_event(
                ctx,
                &ServerEvent::Error {
                    reference: None,
                    code: ErrorCode::BadRequest.to_string(),
                    message: "commands are JSON text frames".into(),
                },
            ),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Ok(ws::Message::Continuation(_)) | Ok(ws::Message::Nop) => {}
            Err(e) => {
                tracing::debug!(error = %e, "websocket protocol error");
                ctx.stop();
            }
        }
    }
}
