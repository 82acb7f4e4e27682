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
    /// The file of an image, video, audio, document or sticker (R22), either way. Boxed, like
    /// `reply_to`: most messages have neither, and every open conversation keeps its
    /// transcript in memory.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<Box<Media>>,
    /// The message this one answers (R24), when it quotes one.
    pub reply_to: Option<Box<ReplyTo>>,
    /// A template message (R23): which template; `text` is what the customer sees.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<Box<TemplateRef>>,
    /// Reactions, one per author (R24).
    pub reactions: Vec<Reaction>,
    /// The customer edited it: `text` is the latest text.
    pub edited: bool,
    /// The customer deleted it: `text` is empty for agents; the store keeps it.
    pub deleted: bool,
    /// The text as first received, when it was edited or deleted (for the call log; never
    /// sent to agents).
    #[serde(skip)]
    pub original_text: Option<String>,
}

/// The quoted message of a reply: its id in this transcript (null when it is not one we
/// know) and its text.
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct ReplyTo {
    pub message_id: Option<i64>,
    pub text: String,
}

/// The template a message was sent from (R23).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct TemplateRef {
    pub name: String,
    pub language: String,
}

impl TemplateRef {
    /// The template named by a stored send (`{"type": "template", "template": {"name",
    /// "language": {"code"}}}`).
    pub fn of_payload(payload: &serde_json::Value) -> Option<TemplateRef> {
        let t = payload.get("template")?;
        Some(TemplateRef {
            name: t.get("name")?.as_str()?.to_string(),
            language: t.get("language")?.get("code")?.as_str()?.to_string(),
        })
    }
}

/// The `pricing` object of a status webhook (R24): what Meta charges for a message.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
#[serde(default)]
pub struct Pricing {
    pub billable: Option<bool>,
    pub pricing_model: Option<String>,
    pub category: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// What a customer did to an earlier message (R24): none of these is a new message.
#[derive(Debug, Clone, PartialEq)]
pub enum CustomerChange {
    /// A reaction; an empty emoji takes it back.
    Reaction(String),
    /// New text (or caption).
    Edit(String),
    /// Deleted for everyone.
    Revoke,
}

impl Message {
    /// Applies a customer's change by `author`; true when what agents see changed.
    pub fn apply(&mut self, author: &Author, change: &CustomerChange) -> bool {
        match change {
            CustomerChange::Reaction(emoji) => self.set_reaction(author.clone(), emoji),
            CustomerChange::Edit(text) => {
                self.edit(text);
                true
            }
            CustomerChange::Revoke => {
                self.delete();
                true
            }
        }
    }
}

/// One author's reaction to a message.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Reaction {
    pub emoji: String,
    pub author: Author,
}

impl Message {
    /// A message with no reply, reaction, edit or deletion.
    #[allow(clippy::too_many_arguments)]
    pub fn plain(
        id: i64,
        direction: Direction,
        author: Author,
        text: String,
        kind: MessageKind,
        media_id: Option<String>,
        sent_at: i64,
        status: Option<MessageStatus>,
    ) -> Message {
        Message {
            id,
            direction,
            author,
            text,
            kind,
            media_id,
            sent_at,
            status,
            error: None,
            media: None,
            reply_to: None,
            template: None,
            reactions: Vec::new(),
            edited: false,
            deleted: false,
            original_text: None,
        }
    }

    /// Sets `author`'s reaction; an empty emoji takes it back. True when something changed.
    pub fn set_reaction(&mut self, author: Author, emoji: &str) -> bool {
        let same = |r: &Reaction| r.author.kind == author.kind && r.author.id == author.id;
        let before = self.reactions.iter().position(same);
        match (before, emoji.is_empty()) {
            (Some(i), true) => {
                self.reactions.remove(i);
                true
            }
            (None, true) => false,
            (Some(i), false) if self.reactions[i].emoji == emoji => false,
            (Some(i), false) => {
                self.reactions[i].emoji = emoji.to_string();
                true
            }
            (None, false) => {
                self.reactions.push(Reaction {
                    emoji: emoji.to_string(),
                    author,
                });
                true
            }
        }
    }

    /// The customer edited the message: agents see `text`, the first text is kept.
    pub fn edit(&mut self, text: &str) {
        if self.original_text.is_none() {
            self.original_text = Some(std::mem::take(&mut self.text));
        }
        self.text = text.to_string();
        self.edited = true;
    }

    /// The customer deleted the message: agents no longer see its text.
    pub fn delete(&mut self) {
        if self.original_text.is_none() {
            self.original_text = Some(std::mem::take(&mut self.text));
        }
        self.text.clear();
        self.media = None;
        self.deleted = true;
    }

    /// The text for the record (call log): the first text, with what became of it.
    pub fn record_text(&self) -> String {
        match (&self.original_text, self.deleted, self.edited) {
            (Some(first), true, _) => format!("{first} [deleted by the customer]"),
            (Some(first), false, true) => format!("{first} [edited: {}]", self.text),
            _ => self.text.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(text: &str) -> Message {
        Message::plain(
            1,
            Direction::In,
            Author {
                kind: AuthorKind::Customer,
                id: Some("1".into()),
                name: "Ann".into(),
            },
            text.into(),
            MessageKind::Text,
            None,
            0,
            None,
        )
    }

    fn agent(id: &str) -> Author {
        Author {
            kind: AuthorKind::Agent,
            id: Some(id.into()),
            name: "Bo".into(),
        }
    }

    #[test]
    fn one_reaction_per_author_and_empty_takes_it_back() {
        let mut m = msg("hi");
        assert!(m.set_reaction(agent("2"), "👍"));
        assert!(!m.set_reaction(agent("2"), "👍"));
        assert!(m.set_reaction(agent("2"), "❤️"));
        assert!(m.set_reaction(agent("3"), "😂"));
        assert_eq!(m.reactions.len(), 2);
        assert_eq!(m.reactions[0].emoji, "❤️");
        assert!(m.set_reaction(agent("2"), ""));
        assert!(!m.set_reaction(agent("2"), ""));
        assert_eq!(m.reactions.len(), 1);
    }

    #[test]
    fn edits_show_the_latest_and_the_record_keeps_the_first() {
        let mut m = msg("I want 2");
        m.edit("I want 3");
        m.edit("I want 4");
        assert_eq!(m.text, "I want 4");
        assert!(m.edited);
        assert_eq!(m.record_text(), "I want 2 [edited: I want 4]");
    }

    #[test]
    fn a_deleted_message_hides_its_text_from_agents_only() {
        let mut m = msg("my card is 4111");
        m.delete();
        assert_eq!(m.text, "");
        assert!(m.deleted);
        assert_eq!(m.record_text(), "my card is 4111 [deleted by the customer]");
        let json = serde_json::to_value(&m).unwrap();
        assert!(!json.to_string().contains("4111"));
    }
}
