//! The agent WebSocket protocol (SPEC.md section 5): commands in, events out, each a JSON
//! object with a `type`.

use crate::domain::error_code::ErrorCode;
pub use crate::domain::message::{Author, Message};
use crate::domain::time::{rfc3339, rfc3339_opt};
use crate::domain::{
    AgentStatus, AlertLevel, ConferenceState, DispositionCode, InteractionKind, InteractionState,
    MessageStatus, OfferKind, ParticipantRole, RevokeReason, Role,
};
pub use crate::store::activities::ActivitySummary;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A client frame: the command plus an optional `ref` echoed in the `ack` or `error`.
#[derive(Debug, Deserialize)]
pub struct ClientFrame {
    #[serde(rename = "ref", default)]
    pub reference: Option<serde_json::Value>,
    #[serde(flatten)]
    pub command: ClientCommand,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientCommand {
    SetStatus {
        status: AgentStatus,
        #[serde(default)]
        reason: Option<String>,
    },
    StopNew {
        enabled: bool,
    },
    Accept {
        interaction_id: i64,
    },
    Reject {
        interaction_id: i64,
    },
    Send {
        interaction_id: i64,
        text: String,
        /// A message of the interaction this one answers (quoted, R24).
        #[serde(default)]
        reply_to: Option<i64>,
    },
    /// R23: an approved template, allowed after the 24-hour window too.
    SendTemplate {
        interaction_id: i64,
        name: String,
        language: String,
        #[serde(default)]
        parameters: crate::domain::template::TemplateValues,
    },
    /// R24: react to a message (an empty emoji takes the reaction back).
    React {
        interaction_id: i64,
        message_id: i64,
        emoji: String,
    },
    /// R24: the agent looks at the conversation: its newest customer message is marked read.
    Read {
        interaction_id: i64,
    },
    /// R24: the agent is typing (at most once every 20 s per interaction reaches Meta).
    Typing {
        interaction_id: i64,
    },
    End {
        interaction_id: i64,
    },
    WrapUp {
        interaction_id: i64,
        #[serde(default)]
        disposition: Option<String>,
    },
    Transfer {
        interaction_id: i64,
        #[serde(default)]
        queue_id: Option<i64>,
        #[serde(default)]
        agent_id: Option<i64>,
    },
    Conference {
        interaction_id: i64,
        #[serde(default)]
        queue_id: Option<i64>,
        #[serde(default)]
        agent_id: Option<i64>,
    },
    EndConference {
        interaction_id: i64,
    },
    LeaveConference {
        interaction_id: i64,
    },
    TransferTargets {
        #[serde(default)]
        filter: Option<String>,
    },
    LinkContact {
        interaction_id: i64,
        contact_id: crate::crm::ContactId,
    },
    CreateContact {
        interaction_id: i64,
        contact: serde_json::Value,
    },
    /// R25 (supervisor and up): the conversation and from now on all its events.
    Monitor {
        interaction_id: i64,
    },
    Unmonitor {
        interaction_id: i64,
    },
    /// R25 (supervisor and up): join the conversation as a participant.
    BargeIn {
        interaction_id: i64,
    },
    /// R25: an internal note (a whisper) to the agents and supervisors of the conversation.
    Note {
        interaction_id: i64,
        text: String,
    },
    /// Application-level keep-alive (browsers cannot send WebSocket pings).
    Ping,
}

/// Decodes a client text frame. A frame that is not a command is answered with an `error`
/// `bad_request`, echoing its `ref` when the frame was JSON at all.
pub fn decode(text: &str) -> Result<ClientFrame, Box<ServerEvent>> {
    serde_json::from_str(text).map_err(|e| {
        let reference = serde_json::from_str::<serde_json::Value>(text)
            .ok()
            .and_then(|v| v.get("ref").cloned());
        Box::new(ServerEvent::Error {
            reference,
            code: ErrorCode::BadRequest.to_string(),
            message: format!("malformed command: {e}"),
        })
    })
}

/// Why a command failed: a stable code and a human message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandError {
    pub code: ErrorCode,
    pub message: String,
}

impl CommandError {
    pub fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        CommandError {
            code,
            message: message.into(),
        }
    }
}

impl From<crate::store::StoreError> for CommandError {
    fn from(e: crate::store::StoreError) -> Self {
        tracing::error!(error = %e, "store error in a command");
        CommandError::new(
            ErrorCode::Unavailable,
            "the change could not be saved, try again",
        )
    }
}

impl From<crate::domain::interaction::Refusal> for CommandError {
    fn from(r: crate::domain::interaction::Refusal) -> Self {
        CommandError {
            code: r.code,
            message: r.message,
        }
    }
}

pub type CommandResult = Result<(), CommandError>;

/// A command's refusal answered over HTTP (R23's `POST /conversations` runs the same
/// command as the desk): the same code, the status of its row.
impl From<CommandError> for crate::error::ApiError {
    fn from(e: CommandError) -> Self {
        crate::error::ApiError::Refused(e.code, e.message)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentInfo {
    pub id: i64,
    pub display_name: String,
    pub role: Role,
    pub can_reject: bool,
    pub max_concurrent: u32,
    pub auto_multi_match_pop: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct StatusInfo {
    pub status: AgentStatus,
    #[serde(with = "rfc3339")]
    pub since: i64,
    pub stop_new: bool,
    pub reason: Option<String>,
    /// Interactions held (offered, active, wrap-up) and the capacity.
    pub load: u32,
    pub max_concurrent: u32,
}

/// `{name, phone, username, user_id}` of the customer (R21): phone in E.164, any of the
/// last three may be null.
pub use crate::domain::customer::CustomerView as Customer;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct QueueRef {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentRef {
    pub id: i64,
    pub display_name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Offer {
    pub interaction_id: i64,
    pub kind: OfferKind,
    pub customer: Customer,
    pub source_number: String,
    pub queue: QueueRef,
    #[serde(with = "rfc3339")]
    pub received_at: i64,
    #[serde(with = "rfc3339")]
    pub expires_at: i64,
    pub can_reject: bool,
    pub contact_matches: u32,
    pub from_agent: Option<AgentRef>,
    /// R27: 0 to 9, higher served first.
    pub priority: u8,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Participant {
    pub agent_id: i64,
    pub display_name: String,
    /// `owner` or `conference`.
    pub role: ParticipantRole,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub joined_at: i64,
    /// Set while this agent wraps up.
    #[serde(with = "rfc3339_opt", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>)]
    pub wrap_up_deadline: Option<i64>,
    /// While wrapping up: the codes to choose from (so a desktop that reconnects has them).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition_codes: Option<Vec<DispositionCode>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disposition_required: Option<bool>,
}

/// A conversation, as the WebSocket and the HTTP API show it. Times are RFC 3339 UTC.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Interaction {
    pub id: i64,
    /// `queued`, `offered`, `active`, `wrap_up` or `closed`.
    pub state: InteractionState,
    /// `inbound` (the customer wrote first) or `outbound` (the business started it, R23).
    pub kind: InteractionKind,
    pub channel_id: i64,
    pub customer: Customer,
    /// The business number the customer wrote to.
    pub source_number: String,
    pub queue: QueueRef,
    pub owner_agent_id: Option<i64>,
    /// The agents in it now.
    pub participants: Vec<Participant>,
    /// `none`, `requested` or `active`.
    pub conference_state: ConferenceState,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub created_at: i64,
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub accepted_at: Option<i64>,
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub ended_at: Option<i64>,
    /// A number for the built-in CRM (the HTTP API), a string for an external one (a
    /// Dynamics GUID, on the WebSocket).
    #[schema(value_type = Option<i64>)]
    pub contact_id: Option<crate::crm::ContactId>,
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub last_customer_message_at: Option<i64>,
    /// 24 h after the customer's last message (R14).
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub window_expires_at: Option<i64>,
    /// `none`, `warn` or `critical`.
    pub alert: AlertLevel,
    /// Why the interaction was interrupted (R15), if it was.
    pub interrupted: Option<String>,
    /// R27: 0 to 9, higher served first.
    pub priority: u8,
    /// The transcript, oldest first.
    pub messages: Vec<Message>,
}

#[derive(Debug, Clone, Serialize)]
pub struct QueueTarget {
    pub id: i64,
    pub name: String,
    pub waiting: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct AgentTarget {
    pub id: i64,
    pub display_name: String,
    pub load: u32,
    pub max_concurrent: u32,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerEvent {
    Hello {
        agent: AgentInfo,
        status: StatusInfo,
        interactions: Vec<Interaction>,
        offers: Vec<Offer>,
        #[serde(with = "rfc3339")]
        server_time: i64,
    },
    Status(StatusInfo),
    Offer(Offer),
    OfferRevoked {
        interaction_id: i64,
        reason: RevokeReason,
    },
    Interaction(Box<Interaction>),
    Message {
        interaction_id: i64,
        message: Message,
    },
    MessageStatus {
        interaction_id: i64,
        message_id: i64,
        status: MessageStatus,
        error: Option<String>,
    },
    /// R24: someone reacted to a message (an empty emoji: their reaction was taken back).
    Reaction {
        interaction_id: i64,
        message_id: i64,
        emoji: String,
        author: Author,
    },
    /// R24: the customer edited or deleted a message: the whole message as now shown.
    MessageChanged {
        interaction_id: i64,
        message: Message,
    },
    /// R22: a message's media file is `ready` (with its `url`) or `failed` (with `error`).
    MessageMedia {
        interaction_id: i64,
        message_id: i64,
        media: crate::domain::media::Media,
    },
    WrapUpStarted {
        interaction_id: i64,
        #[serde(with = "rfc3339")]
        deadline: i64,
        disposition_codes: Vec<DispositionCode>,
        disposition_required: bool,
    },
    WrapUpDone {
        interaction_id: i64,
        disposition: Option<String>,
        auto: bool,
    },
    Interrupted {
        interaction_id: i64,
        reason: String,
    },
    /// R20: the customer's CRM record, on accept and after `link_contact` / `create_contact`.
    ScreenPop {
        interaction_id: i64,
        action: crate::crm::PopAction,
        contact: Option<crate::crm::Contact>,
        matches: Vec<crate::crm::Contact>,
        /// Set when the CRM could not be asked.
        error: Option<String>,
        /// The linked contact's recent call logs, newest first.
        activities: Vec<ActivitySummary>,
    },
    Alert {
        interaction_id: i64,
        level: AlertLevel,
    },
    TransferTargets {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
        reference: Option<serde_json::Value>,
        queues: Vec<QueueTarget>,
        agents: Vec<AgentTarget>,
    },
    Replaced,
    Ack {
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
    },
    Error {
        #[serde(rename = "ref")]
        reference: Option<serde_json::Value>,
        code: String,
        message: String,
    },
    Pong,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse_with_ref() {
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"accept","interaction_id":7,"ref":"a1"}"#).unwrap();
        assert!(matches!(
            f.command,
            ClientCommand::Accept { interaction_id: 7 }
        ));
        assert_eq!(f.reference, Some(serde_json::json!("a1")));
        let f: ClientFrame =
            serde_json::from_str(r#"{"type":"set_status","status":"available"}"#).unwrap();
        assert!(matches!(
            f.command,
            ClientCommand::SetStatus {
                status: AgentStatus::Available,
                ..
            }
        ));
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"nope"}"#).is_err());
        assert!(serde_json::from_str::<ClientFrame>(r#"{"type":"accept"}"#).is_err());
    }

    #[test]
    fn a_frame_that_is_not_a_command_is_answered_bad_request_with_its_ref() {
        assert!(matches!(
            decode(r#"{"type":"ping","ref":1}"#).map(|f| f.command),
            Ok(ClientCommand::Ping)
        ));
        for (text, reference) in [
            (
                r#"{"type":"nope","ref":"r7"}"#,
                Some(serde_json::json!("r7")),
            ),
            (r#"{"type":"accept"}"#, None),
            ("not json", None),
        ] {
            match decode(text).map(|f| f.command).map_err(|e| *e) {
                Err(ServerEvent::Error {
                    reference: r,
                    code,
                    message,
                }) => {
                    assert_eq!(r, reference, "{text}");
                    assert_eq!(code, "bad_request");
                    assert!(message.starts_with("malformed command: "), "{message}");
                }
                other => panic!("{text} decoded as {other:?}"),
            }
        }
    }

    #[test]
    fn events_are_tagged() {
        let v = serde_json::to_value(ServerEvent::OfferRevoked {
            interaction_id: 3,
            reason: RevokeReason::Timeout,
        })
        .unwrap();
        assert_eq!(
            v,
            serde_json::json!({"type":"offer_revoked","interaction_id":3,"reason":"timeout"})
        );
        let v = serde_json::to_value(ServerEvent::Replaced).unwrap();
        assert_eq!(v, serde_json::json!({"type":"replaced"}));
    }

    const TYPES: &[&str] = &[
        "set_status",
        "stop_new",
        "accept",
        "reject",
        "send",
        "end",
        "wrap_up",
        "transfer",
        "conference",
        "end_conference",
        "leave_conference",
        "transfer_targets",
        "link_contact",
        "create_contact",
        "ping",
        "bogus",
        "",
    ];

    fn arb_field() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            ".{0,16}".prop_map(Value::String),
            Just(serde_json::json!({"first_name": "A", "phones": ["+1"]})),
            Just(serde_json::json!([1, 2])),
            Just(Value::String("available".into())),
            Just(Value::String("rona".into())),
        ]
    }

    proptest::proptest! {
        /// Any text: a command or an error, never a panic.
        #[test]
        fn decoding_any_text_never_panics(text in ".{0,256}") {
            let _ = serde_json::from_str::<ClientFrame>(&text);
        }

        /// Objects with a known (or unknown) type and arbitrary fields: decoded or refused.
        #[test]
        fn decoding_command_shaped_objects_never_panics(
            ty in proptest::sample::select(TYPES),
            fields in proptest::collection::btree_map(
                proptest::sample::select(&["interaction_id", "status", "reason", "enabled",
                    "text", "disposition", "queue_id", "agent_id", "filter", "contact_id",
                    "contact", "ref", "type"][..]),
                arb_field(),
                0..6,
            ),
        ) {
            let mut obj = serde_json::Map::new();
            obj.insert("type".into(), serde_json::Value::String(ty.to_string()));
            for (k, v) in fields {
                obj.insert(k.to_string(), v);
            }
            let text = serde_json::Value::Object(obj).to_string();
            if serde_json::from_str::<ClientFrame>(&text).is_ok() {
                // Only a real command type decodes.
                proptest::prop_assert!(TYPES[..15].contains(&ty), "{} decoded", text);
            }
        }

        /// `send` with any text and id decodes to exactly that text and id.
        #[test]
        fn send_round_trips(id in proptest::prelude::any::<i64>(), text in ".{0,64}") {
            let frame = serde_json::json!({"type": "send", "interaction_id": id, "text": text, "ref": 1});
            let f: ClientFrame = serde_json::from_value(frame).unwrap();
            match f.command {
                ClientCommand::Send { interaction_id, text: t, reply_to: None } => {
                    proptest::prop_assert_eq!(interaction_id, id);
                    proptest::prop_assert_eq!(t, text);
                }
                other => proptest::prop_assert!(false, "decoded as {:?}", other),
            }
        }
    }
}
