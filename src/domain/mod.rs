//! The contact-center rules that need no actor, no SQL and no network: statuses, states,
//! routing choice, message validation.

pub mod activity;
pub mod business_hours;
pub mod canned;
pub mod contact;
pub mod csat;
pub mod customer;
pub mod error_code;
pub mod input;
pub mod interaction;
pub mod masking;
pub mod media;
pub mod message;
pub mod overflow;
pub mod phone;
pub mod priority;
pub mod reports;
pub mod routing;
pub mod skills;
pub mod sticky;
pub mod template;
pub mod time;
pub mod waiting_line;

use crate::domain::error_code::ErrorCode;
use serde::{Deserialize, Serialize};

macro_rules! string_enum {
    ($(#[$m:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
            pub fn parse(s: &str) -> Option<Self> {
                match s { $($text => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_enum!(
    /// A user's role: what it may do over HTTP.
    Role { Agent => "agent", Supervisor => "supervisor", Admin => "admin" }
);

impl Role {
    /// Roles are ordered: admin can do what a supervisor can, who can do what an agent can.
    pub fn at_least(self, other: Role) -> bool {
        let rank = |r: Role| match r {
            Role::Agent => 0,
            Role::Supervisor => 1,
            Role::Admin => 2,
        };
        rank(self) >= rank(other)
    }
}

string_enum!(
    /// An agent's presence. `rona` is only ever set by the system (no answer to an offer).
    AgentStatus { Offline => "offline", Available => "available", OnBreak => "on_break", Rona => "rona" }
);

string_enum!(
    /// Lifecycle of an interaction: queued → offered → active → wrap_up → closed.
    InteractionState { Queued => "queued", Offered => "offered", Active => "active", WrapUp => "wrap_up", Closed => "closed" }
);

string_enum!(
    /// How a queue picks among eligible agents.
    Strategy { LongestIdle => "longest_idle", LeastBusy => "least_busy", RoundRobin => "round_robin" }
);

string_enum!(
    OfferKind { New => "new", Transfer => "transfer", Conference => "conference" }
);

string_enum!(
    /// Who started the conversation: the customer (`inbound`) or the business (`outbound`, R23).
    InteractionKind { Inbound => "inbound", Outbound => "outbound" }
);

string_enum!(
    ConferenceState { None => "none", Requested => "requested", Active => "active" }
);

string_enum!(
    /// `supervisor`: a supervisor who barged in (R25).
    ParticipantRole { Owner => "owner", Conference => "conference", Supervisor => "supervisor" }
);

string_enum!(
    /// Why an offer was taken back from an agent.
    RevokeReason {
        Timeout => "timeout", Rejected => "rejected", Taken => "taken",
        CustomerLeft => "customer_left", ResourceDeleted => "resource_deleted", Disconnected => "disconnected"
    }
);

string_enum!(
    /// `internal`: a note or whisper among agents and supervisors, never sent (R25).
    Direction { In => "in", Out => "out", System => "system", Internal => "internal" }
);

string_enum!(
    AuthorKind { Customer => "customer", Agent => "agent", System => "system" }
);

string_enum!(
    MessageKind {
        Text => "text", Image => "image", Document => "document", Audio => "audio", Video => "video",
        Location => "location", Sticker => "sticker", Contacts => "contacts", Interactive => "interactive",
        Template => "template", Unsupported => "unsupported"
    }
);

string_enum!(
    /// Delivery of an outbound message. It only moves forward; `failed` is final.
    MessageStatus { Queued => "queued", Sent => "sent", Delivered => "delivered", Read => "read", Failed => "failed" }
);

string_enum!(
    AlertLevel { None => "none", Warn => "warn", Critical => "critical" }
);

impl AlertLevel {
    /// R16: the reply-time alert of a conversation whose customer has waited since
    /// `unanswered_since` (None: nobody waits) for an answer, at `now`.
    pub fn of(unanswered_since: Option<i64>, warn_secs: u32, critical_secs: u32, now: i64) -> Self {
        let Some(since) = unanswered_since else {
            return AlertLevel::None;
        };
        if now >= since + i64::from(critical_secs) * 1000 {
            AlertLevel::Critical
        } else if now >= since + i64::from(warn_secs) * 1000 {
            AlertLevel::Warn
        } else {
            AlertLevel::None
        }
    }
}

string_enum!(
    /// A message's media file (R22): `pending` until fetched (inbound), `ready` once stored,
    /// `failed` when it could not be fetched (the reason is kept).
    MediaState { Pending => "pending", Ready => "ready", Failed => "failed" }
);

impl MessageStatus {
    pub fn rank(self) -> u8 {
        match self {
            MessageStatus::Queued => 0,
            MessageStatus::Sent => 1,
            MessageStatus::Delivered => 2,
            MessageStatus::Read => 3,
            MessageStatus::Failed => 4,
        }
    }

    /// A status change is applied only when it moves forward (R6).
    pub fn can_become(self, next: MessageStatus) -> bool {
        self != MessageStatus::Failed && next.rank() > self.rank()
    }
}

/// Validates an agent's message text (R6): 1 to `max_chars` Unicode scalar values, not blank.
pub fn validate_message_text(text: &str, max_chars: usize) -> Result<(), (ErrorCode, String)> {
    if text.trim().is_empty() {
        return Err((
            ErrorCode::EmptyMessage,
            "a message cannot be empty or blank".into(),
        ));
    }
    let n = text.chars().count();
    if n > max_chars {
        return Err((
            ErrorCode::MessageTooLong,
            format!("a message has at most {max_chars} characters, this one has {n}"),
        ));
    }
    Ok(())
}

/// WhatsApp's customer service window: free-form replies within 24 h of the customer's last message.
pub const CUSTOMER_WINDOW_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DispositionCode {
    /// Unique within the queue.
    #[schema(min_length = 1, max_length = 64, pattern = "\\S")]
    pub code: String,
    #[schema(min_length = 1, max_length = 200, pattern = "\\S")]
    pub label: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_never_goes_backwards_and_failed_is_final() {
        use MessageStatus::*;
        assert!(Queued.can_become(Sent));
        assert!(Sent.can_become(Read));
        assert!(!Read.can_become(Delivered));
        assert!(!Delivered.can_become(Sent));
        assert!(Delivered.can_become(Failed));
        assert!(!Failed.can_become(Read));
        assert!(!Sent.can_become(Sent));
    }

    #[test]
    fn message_length_counts_characters_not_bytes() {
        let four_k_emoji: String = "😀".repeat(4096);
        assert!(validate_message_text(&four_k_emoji, 4096).is_ok());
        let too_long = "é".repeat(4097);
        assert_eq!(
            validate_message_text(&too_long, 4096)
                .unwrap_err()
                .0
                .as_str(),
            "message_too_long"
        );
        assert_eq!(
            validate_message_text(" \n\t", 4096).unwrap_err().0.as_str(),
            "empty_message"
        );
        assert_eq!(
            validate_message_text("", 4096).unwrap_err().0.as_str(),
            "empty_message"
        );
    }

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin.at_least(Role::Supervisor));
        assert!(Role::Supervisor.at_least(Role::Agent));
        assert!(!Role::Agent.at_least(Role::Supervisor));
    }
}
