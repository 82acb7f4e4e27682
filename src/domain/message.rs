//! A transcript message as agents see it: the customer's, an agent's or a system note.

use super::media::Media;
use super::time::rfc3339;
use super::{AuthorKind, Direction, MessageKind, MessageStatus};
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Author {
    /// `customer`, `agent` or `system`.
    pub kind: AuthorKind,
    pub id: Option<String>,
    pub name: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Message {
    pub id: i64,
    /// `in`, `out` or `system`.
    pub direction: Direction,
    pub author: Author,
    pub text: String,
    /// `text`, `image`, `document`, `audio`, `video`, `location`, `sticker`, `contacts`,
    /// `interactive` or `unsupported`.
    pub kind: MessageKind,
    /// WhatsApp media id of an image, document, audio, video or sticker.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media_id: Option<String>,
    /// RFC 3339.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub sent_at: i64,
    /// Outbound messages: `queued`, `sent`, `delivered`, `read` or `failed`.
    pub status: Option<MessageStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The file of an image, video, audio, document or sticker (R22), either way.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Media>,
}
