//! A transcript message as agents see it: the customer's, an agent's or a system note.

use super::time::rfc3339;
use super::{AuthorKind, Direction, MessageKind, MessageStatus};
use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Author {
    pub kind: AuthorKind,
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub id: i64,
    pub direction: Direction,
    pub author: Author,
    pub text: String,
    pub kind: MessageKind,
    /// WhatsApp media id of an image, document, audio, video or sticker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    #[serde(with = "rfc3339")]
    pub sent_at: i64,
    pub status: Option<MessageStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}
