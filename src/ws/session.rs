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
use crate::domain::masking::CustomerDataView;
use crate::domain::Role;
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
    /// The user's role when the socket opened; a role change closes the socket (see the
    /// agent actor's `UpdateRecord`), so it is never stale.
    role: Role,
    agent: Addr<AgentActor>,
    registry: Arc<Registry>,
    last_heard: Instant,
}

impl AgentSession {
    pub fn new(
        agent_id: i64,
        role: Role,
        agent: Addr<AgentActor>,
        registry: Arc<Registry>,
    ) -> Self {
        AgentSession {
            id: registry.next_session_id(),
            agent_id,
            role,
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
    /// reaches an agent's browser. Admins, and supervisors when `supervisors_see_unmasked`,
    /// see it as the HTTP API shows it to them (R25: a watcher is masked as an agent unless
    /// allowed). Read at every event, so a settings change applies at once.
    fn send_event(&self, ctx: &mut ws::WebsocketContext<Self>, event: &ServerEvent) {
        let runtime = &self.registry.runtime;
        let view = CustomerDataView::of(
            self.role,
            runtime.masking_enabled(),
            runtime.supervisors_see_unmasked(),
        );
        let encoded = if view == CustomerDataView::Masked {
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
            ClientCommand::Monitor { interaction_id }
            | ClientCommand::Unmonitor { interaction_id } => {
                let on = matches!(command, ClientCommand::Monitor { .. });
                if let Err(e) = self.supervisor_only(if on { "monitor" } else { "unmonitor" }) {
                    return Some(futures_util::future::ready(Err(e)).boxed());
                }
                let runtime = &self.registry.runtime;
                let unmasked = CustomerDataView::of(
                    self.role,
                    runtime.masking_enabled(),
                    runtime.supervisors_see_unmasked(),
                ) == CustomerDataView::Audited;
                if !(on && unmasked) {
                    return Some(
                        self.to_interaction(interaction_id, interaction::Watch { agent_id, on }),
                    );
                }
                // R13: an unmasked watch is an unmasked read, audited before anything is shown.
                let registry = self.registry.clone();
                let detail =
                    serde_json::json!({"ids": [interaction_id], "role": self.role}).to_string();
                async move {
                    registry
                        .store
                        .write(move |db| {
                            crate::store::audit::record(
                                db,
                                crate::domain::time::now_ms(),
                                Some(agent_id),
                                "read_unmasked",
                                &format!("interaction:{interaction_id}"),
                                &detail,
                            )
                        })
                        .await
                        .map_err(CommandError::from)?;
                    match registry.interaction(interaction_id) {
                        Some(addr) => addr
                            .send(interaction::Watch { agent_id, on })
                            .await
                            .map_err(mailbox_error)?,
                        None => Err(CommandError::new(
                            ErrorCode::NotFound,
                            format!("no open interaction {interaction_id}"),
                        )),
                    }
                }
                .boxed()
            }
            ClientCommand::BargeIn { interaction_id } => match self.supervisor_only("barge in") {
                Ok(()) => self.to_interaction(interaction_id, interaction::BargeIn { agent_id }),
                Err(e) => futures_util::future::ready(Err(e)).boxed(),
            },
            ClientCommand::Note {
                interaction_id,
                text,
            } => self.to_interaction(interaction_id, interaction::Note { agent_id, text }),
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
    /// R25: watching and barging in are for supervisors and admins.
    fn supervisor_only(&self, what: &str) -> Result<(), CommandError> {
        let role = self.registry.agent_record(self.agent_id).map(|a| a.role);
        if role.is_some_and(|r| r.at_least(Role::Supervisor)) {
            Ok(())
        } else {
            Err(CommandError::new(
                ErrorCode::Forbidden,
                format!("only supervisors and admins may {what}"),
            ))
        }
    }

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
