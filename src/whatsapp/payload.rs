//! The Cloud API webhook envelope, read leniently: unknown fields are ignored, an unknown or
//! odd-shaped message becomes an `unsupported` message instead of failing the whole delivery
//! (Meta would otherwise retry it for days).

use crate::domain::customer::CustomerIdentity;
use crate::domain::message::{CustomerChange, Pricing};
use crate::domain::{MessageKind, MessageStatus};
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;
use serde_json::Value;

/// A customer's message, as the actors need it.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMessage {
    pub wamid: String,
    /// Who wrote (R21): their number (`from`, `wa_id`), their business-scoped user id
    /// (`from_user_id`, `user_id`) and username, as far as the delivery says. Empty when it
    /// says nothing: the message is still kept.
    pub customer: CustomerIdentity,
    pub profile_name: Option<String>,
    pub timestamp_ms: i64,
    pub kind: MessageKind,
    /// The body, the caption, or a short description (`[image]`, `📍 ...`) for the transcript.
    pub text: String,
    /// The file of an image, video, audio, document or sticker (R22).
    pub media: Option<InboundMedia>,
    /// The wamid of the message it answers (`context.id`), when the customer quoted one.
    pub reply_to: Option<String>,
    /// The id of the row the customer picked in an interactive list (`list_reply.id`): a
    /// satisfaction survey's answer (R28) names the conversation and the score.
    pub list_reply_id: Option<String>,
}

/// A `message_template_status_update` webhook (R23): a template of the WhatsApp Business
/// Account `waba_id` was approved, rejected, paused, disabled...
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateStatus {
    pub waba_id: String,
    pub name: String,
    pub language: String,
    /// The new status (Meta's `event`), upper case.
    pub status: String,
    /// Meta's reason, unless `NONE`.
    pub reason: Option<String>,
}

/// A customer's media file as the webhook describes it; the file itself is fetched later.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundMedia {
    /// Meta's media id: `GET {graph_base_url}/{id}` gives a download URL (for 7 days).
    pub id: String,
    pub mime_type: Option<String>,
    /// Base64 in webhooks (hex at the media endpoint): either is accepted.
    pub sha256: Option<String>,
    pub filename: Option<String>,
    pub caption: Option<String>,
}

/// A reaction, an edit or a deletion of the message `target` by the customer (R24).
#[derive(Debug, Clone, PartialEq)]
pub struct MessageUpdate {
    pub wamid: String,
    pub customer: CustomerIdentity,
    pub profile_name: Option<String>,
    /// The wamid of the message it is about.
    pub target: String,
    pub change: CustomerChange,
}

/// A delivery status for one of our outbound messages.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusUpdate {
    pub wamid: String,
    pub status: MessageStatus,
    pub timestamp_ms: i64,
    pub error: Option<String>,
    /// The customer it went to (`recipient_id`, `recipient_user_id`).
    pub recipient: CustomerIdentity,
    /// What Meta charges for the message, when the status says (R24).
    pub pricing: Option<Pricing>,
}

/// A customer who changed number or business-scoped user id (`system` messages of type
/// `user_changed_number` and `user_changed_user_id`): still the same customer (R21).
#[derive(Debug, Clone, PartialEq)]
pub struct IdentityChange {
    pub wamid: String,
    /// How the customer was known (`from`, `from_user_id`).
    pub before: CustomerIdentity,
    /// The BSUID that was replaced (`system.previous_user_id`).
    pub previous_user_id: Option<String>,
    /// How the customer is known now (`system.wa_id`, `system.user_id`).
    pub after: CustomerIdentity,
}

/// What became of an inbound message handed to the registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Stored,
    /// Its `wamid` was already stored: a repeated delivery adds nothing (R12).
    Duplicate,
}

/// Everything one delivery says about one business phone number, in delivery order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChannelEvents {
    pub phone_number_id: String,
    pub messages: Vec<InboundMessage>,
    pub statuses: Vec<StatusUpdate>,
    /// Number and BSUID changes, applied before the messages of the same delivery.
    pub identity_changes: Vec<IdentityChange>,
    /// Reactions, edits and deletions, applied after the messages of the same delivery.
    pub updates: Vec<MessageUpdate>,
}

/// A delivery, read straight from its bytes: no `serde_json::Value` tree. Each level's lists
/// are captured as raw slices of the body and their items read one by one, so an item that
/// does not fit is skipped without spoiling the rest.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    #[serde(default, borrow, deserialize_with = "lenient_vec")]
    pub entry: Vec<Entry<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Entry<'a> {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: Option<String>,
    #[serde(default, borrow, deserialize_with = "lenient_vec")]
    pub changes: Vec<Change<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct Change<'a> {
    #[serde(default)]
    pub field: Option<String>,
    #[serde(default, borrow)]
    pub value: Option<ChangeValue<'a>>,
}

#[derive(Debug, Deserialize)]
pub struct ChangeValue<'a> {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default, deserialize_with = "lenient_vec")]
    pub contacts: Vec<Contact>,
    /// Kept raw: each message is read on its own so one odd message cannot spoil the rest.
    #[serde(default, borrow, deserialize_with = "lenient_vec")]
    pub messages: Vec<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "lenient_vec")]
    pub statuses: Vec<&'a RawValue>,
    /// `message_template_status_update` (R23): the new status and the template it is about.
    #[serde(default, deserialize_with = "string_or_number")]
    pub event: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub message_template_name: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub message_template_language: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub reason: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Metadata {
    #[serde(default)]
    pub display_phone_number: Option<String>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub phone_number_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Contact {
    #[serde(default)]
    pub profile: Option<Profile>,
    #[serde(default, deserialize_with = "string_or_number")]
    pub wa_id: Option<String>,
    /// The business-scoped user id (BSUID).
    #[serde(default)]
    pub user_id: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct Profile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawMessage {
    #[serde(deserialize_with = "string_or_number")]
    from: Option<String>,
    from_user_id: Option<String>,
    id: Option<String>,
    #[serde(deserialize_with = "string_or_number")]
    timestamp: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    text: Option<Text>,
    image: Option<Media>,
    document: Option<Media>,
    audio: Option<Media>,
    video: Option<Media>,
    sticker: Option<Media>,
    location: Option<Location>,
    contacts: Option<Vec<SharedContact>>,
    interactive: Option<Interactive>,
    button: Option<Button>,
    reaction: Option<Reaction>,
    system: Option<System>,
    context: Option<Context>,
    edit: Option<Edit>,
    revoke: Option<Revoke>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Context {
    id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Edit {
    original_message_id: Option<String>,
    message: Option<Box<RawMessage>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Revoke {
    original_message_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct System {
    body: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    /// The new number (`user_changed_number`).
    #[serde(deserialize_with = "string_or_number")]
    wa_id: Option<String>,
    /// Older payloads name the new number `new_wa_id`.
    #[serde(deserialize_with = "string_or_number")]
    new_wa_id: Option<String>,
    /// The new BSUID.
    user_id: Option<String>,
    previous_user_id: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Text {
    body: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Media {
    #[serde(deserialize_with = "string_or_number")]
    id: Option<String>,
    caption: Option<String>,
    filename: Option<String>,
    voice: Option<bool>,
    mime_type: Option<String>,
    sha256: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Location {
    latitude: Option<f64>,
    longitude: Option<f64>,
    name: Option<String>,
    address: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SharedContact {
    name: Option<SharedContactName>,
    phones: Option<Vec<SharedContactPhone>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SharedContactName {
    formatted_name: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SharedContactPhone {
    phone: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Interactive {
    button_reply: Option<Reply>,
    list_reply: Option<Reply>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Reply {
    id: Option<String>,
    title: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Button {
    text: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Reaction {
    message_id: Option<String>,
    emoji: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RawStatus {
    id: Option<String>,
    status: Option<String>,
    #[serde(deserialize_with = "string_or_number")]
    timestamp: Option<String>,
    errors: Option<Vec<ApiErrorDetail>>,
    #[serde(deserialize_with = "string_or_number")]
    recipient_id: Option<String>,
    recipient_user_id: Option<String>,
    #[serde(deserialize_with = "lenient")]
    pricing: Option<Pricing>,
}

/// An error object as the Cloud API writes it, in status webhooks and in request answers.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ApiErrorDetail {
    pub code: Option<i64>,
    pub title: Option<String>,
    pub message: Option<String>,
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ErrorData {
    pub details: Option<String>,
}

impl ApiErrorDetail {
    /// "message: details" (or the title when there is no message), for the transcript.
    pub fn describe(&self) -> String {
        let base = self
            .message
            .as_deref()
            .or(self.title.as_deref())
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| match self.code {
                Some(code) => format!("error {code}"),
                None => "unknown error".to_string(),
            });
        match self.error_data.as_ref().and_then(|d| d.details.as_deref()) {
            Some(details) if !details.trim().is_empty() && details != base => {
                format!("{base}: {details}")
            }
            _ => base,
        }
    }
}

/// Reads a delivery's raw body. Only malformed JSON, or JSON that is not an object, is refused.
pub fn parse(body: &[u8]) -> Result<Envelope<'_>, String> {
    // Checked whole: the fields skipped below are not read closely enough to see bad UTF-8.
    let body = std::str::from_utf8(body)
        .map_err(|e| format!("malformed JSON: the body is not UTF-8 ({e})"))?;
    let first = body.bytes().find(|b| !b.is_ascii_whitespace());
    let envelope = serde_json::from_str::<Envelope>(body);
    match (envelope, first) {
        (Ok(envelope), Some(b'{')) => Ok(envelope),
        // Well-formed, but an array, a string, a number...
        (Ok(_), _) => Err("the delivery must be a JSON object".into()),
        (Err(e), _) if e.is_syntax() || e.is_eof() || e.is_io() => {
            Err(format!("malformed JSON: {e}"))
        }
        (Err(e), Some(b'{')) => Err(format!("not a webhook envelope: {e}")),
        (Err(_), _) => Err("the delivery must be a JSON object".into()),
    }
}

/// A list that is absent, null or not a list reads as empty; items that do not fit are skipped.
/// The list is captured as a slice of the body and each item read from its own slice, so one
/// odd item cannot stop the others (serde stops at the first error of a stream).
fn lenient_vec<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let raw = <&'de RawValue>::deserialize(d)?;
    let Ok(items) = serde_json::from_str::<Vec<&'de RawValue>>(raw.get()) else {
        return Ok(Vec::new());
    };
    Ok(items
        .into_iter()
        .filter_map(|item| serde_json::from_str(item.get()).ok())
        .collect())
}

/// A field read on its own: one that does not fit reads as absent.
fn lenient<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    let raw = <&'de RawValue>::deserialize(d)?;
    Ok(serde_json::from_str(raw.get()).ok())
}

/// Ids and timestamps are strings in Meta's payloads; accept numbers too. Anything else (null,
/// a boolean, an object, a list) reads as absent.
fn string_or_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => Some(s),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

fn timestamp_ms(secs: Option<&str>, fallback_ms: i64) -> i64 {
    secs.and_then(|s| s.trim().parse::<i64>().ok())
        .and_then(|s| s.checked_mul(1000))
        .unwrap_or(fallback_ms)
}

fn non_empty(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.trim().is_empty())
}

/// Reads the envelope's events, grouped by business phone number in order of first appearance.
/// `now_ms` stands in for a missing or unreadable timestamp.
pub fn events(envelope: &Envelope, now_ms: i64) -> Vec<ChannelEvents> {
    let mut out: Vec<ChannelEvents> = Vec::new();
    for change in envelope.entry.iter().flat_map(|e| e.changes.iter()) {
        if change.field.as_deref().is_some_and(|f| f != "messages") {
            continue;
        }
        let Some(value) = &change.value else { continue };
        let Some(phone_number_id) = value
            .metadata
            .as_ref()
            .and_then(|m| m.phone_number_id.clone())
            .filter(|id| !id.is_empty())
        else {
            tracing::warn!("webhook change without metadata.phone_number_id skipped");
            continue;
        };
        let idx = match out
            .iter()
            .position(|g| g.phone_number_id == phone_number_id)
        {
            Some(i) => i,
            None => {
                out.push(ChannelEvents {
                    phone_number_id,
                    ..Default::default()
                });
                out.len() - 1
            }
        };
        let group = &mut out[idx];
        for raw in &value.messages {
            let (parsed, well_formed) = read_message(raw);
            if let Some(change) = well_formed.then(|| identity_change(&parsed)).flatten() {
                group.identity_changes.push(change);
            } else if let Some(m) = inbound_message(&parsed, &value.contacts, now_ms) {
                match well_formed.then(|| message_update(&parsed, &m)).flatten() {
                    Some(update) => group.updates.push(update),
                    None => group.messages.push(m),
                }
            }
        }
        for raw in &value.statuses {
            if let Some(s) = status_update(raw, now_ms) {
                group.statuses.push(s);
            }
        }
    }
    out
}

/// One message of a delivery, and whether it had the expected shape. An odd shape keeps what
/// identifies it, so the customer's message is not lost.
fn read_message(raw: &RawValue) -> (RawMessage, bool) {
    if let Ok(m) = serde_json::from_str::<RawMessage>(raw.get()) {
        return (m, true);
    }
    let raw: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
    let text = |key: &str| raw.get(key).and_then(Value::as_str).map(str::to_string);
    let m = RawMessage {
        from: text("from"),
        from_user_id: text("from_user_id"),
        id: text("id"),
        timestamp: text("timestamp"),
        kind: text("type"),
        ..Default::default()
    };
    (m, false)
}

fn inbound_message(
    parsed: &RawMessage,
    contacts: &[Contact],
    now_ms: i64,
) -> Option<InboundMessage> {
    let wamid = non_empty(parsed.id.clone())?;
    let from = non_empty(parsed.from.clone());
    let from_user_id = non_empty(parsed.from_user_id.clone());
    // The contact entry of this sender: the one naming its number or BSUID, or the only one.
    let contact = contacts
        .iter()
        .find(|c| {
            (from.is_some() && c.wa_id == from)
                || (from_user_id.is_some() && c.user_id == from_user_id)
        })
        .or(match contacts {
            [only] => Some(only),
            _ => None,
        });
    let profile = contact.and_then(|c| c.profile.as_ref());
    let customer = CustomerIdentity::new(
        from.as_deref().or(contact.and_then(|c| c.wa_id.as_deref())),
        from_user_id
            .as_deref()
            .or(contact.and_then(|c| c.user_id.as_deref())),
        profile.and_then(|p| p.username.as_deref()),
    );
    if customer.is_empty() {
        // Kept all the same: an agent sees it, even if no reply can reach its sender.
        tracing::warn!(%wamid, "inbound message names no sender");
    }
    let profile_name = profile.and_then(|p| non_empty(p.name.clone()));
    let (kind, text, media) = describe(parsed.kind.as_deref().unwrap_or(""), parsed);
    let reply_to = parsed
        .context
        .as_ref()
        .and_then(|c| non_empty(c.id.clone()));
    let list_reply_id = parsed
        .interactive
        .as_ref()
        .and_then(|i| i.list_reply.as_ref())
        .and_then(|r| non_empty(r.id.clone()));
    Some(InboundMessage {
        wamid,
        customer,
        profile_name,
        timestamp_ms: timestamp_ms(parsed.timestamp.as_deref(), now_ms),
        kind,
        text,
        media,
        reply_to,
        list_reply_id,
    })
}

/// The template status changes of a delivery (`field: message_template_status_update`; the
/// entry's `id` is the WhatsApp Business Account). Items that name no template are skipped.
pub fn template_statuses(envelope: &Envelope) -> Vec<TemplateStatus> {
    let mut out = Vec::new();
    for entry in &envelope.entry {
        let Some(waba_id) = non_empty(entry.id.clone()) else {
            continue;
        };
        for change in &entry.changes {
            if change.field.as_deref() != Some("message_template_status_update") {
                continue;
            }
            let Some(v) = change.value.as_ref() else {
                continue;
            };
            let text = |field: &Option<String>| non_empty(field.clone());
            let (Some(name), Some(language), Some(status)) = (
                text(&v.message_template_name),
                text(&v.message_template_language),
                text(&v.event),
            ) else {
                tracing::warn!("template status update without name, language or event skipped");
                continue;
            };
            out.push(TemplateStatus {
                waba_id: waba_id.clone(),
                name,
                language,
                status: status.to_ascii_uppercase(),
                reason: text(&v.reason).filter(|r| r != "NONE"),
            });
        }
    }
    out
}

/// The message's kind, its transcript text and its media file.
fn describe(kind: &str, m: &RawMessage) -> (MessageKind, String, Option<InboundMedia>) {
    let media = |media: &Option<Media>, label: &str| -> (String, Option<InboundMedia>) {
        let caption = media.as_ref().and_then(|x| non_empty(x.caption.clone()));
        let file = media.as_ref().and_then(|x| {
            Some(InboundMedia {
                id: non_empty(x.id.clone())?,
                mime_type: non_empty(x.mime_type.clone()),
                sha256: non_empty(x.sha256.clone()),
                filename: non_empty(x.filename.clone()),
                caption: caption.clone(),
            })
        });
        let text = match (
            &caption,
            media.as_ref().and_then(|x| non_empty(x.filename.clone())),
        ) {
            (Some(c), _) => c.clone(),
            (None, Some(f)) if label == "document" => format!("[document: {f}]"),
            (None, _) => format!("[{label}]"),
        };
        (text, file)
    };
    match kind {
        "text" => match m.text.as_ref().and_then(|t| t.body.clone()) {
            Some(body) => (MessageKind::Text, body, None),
            None => (
                MessageKind::Unsupported,
                "[empty text message]".into(),
                None,
            ),
        },
        "image" => {
            let (text, id) = media(&m.image, "image");
            (MessageKind::Image, text, id)
        }
        "video" => {
            let (text, id) = media(&m.video, "video");
            (MessageKind::Video, text, id)
        }
        "sticker" => {
            let (text, id) = media(&m.sticker, "sticker");
            (MessageKind::Sticker, text, id)
        }
        "audio" => {
            let voice = m.audio.as_ref().and_then(|a| a.voice).unwrap_or(false);
            let (text, id) = media(&m.audio, if voice { "voice message" } else { "audio" });
            (MessageKind::Audio, text, id)
        }
        "document" => {
            let (text, file) = media(&m.document, "document");
            (MessageKind::Document, text, file)
        }
        "location" => {
            let mut parts: Vec<String> = vec!["📍".into()];
            if let Some(loc) = &m.location {
                parts.extend(non_empty(loc.name.clone()));
                parts.extend(non_empty(loc.address.clone()));
                if let (Some(lat), Some(lon)) = (loc.latitude, loc.longitude) {
                    parts.push(format!("({lat}, {lon})"));
                }
            }
            if parts.len() == 1 {
                parts.push("[location]".into());
            }
            (MessageKind::Location, parts.join(" "), None)
        }
        "contacts" => {
            let shared: Vec<String> = m
                .contacts
                .iter()
                .flatten()
                .map(|c| {
                    let name = c
                        .name
                        .as_ref()
                        .and_then(|n| non_empty(n.formatted_name.clone()));
                    let phones: Vec<String> = c
                        .phones
                        .iter()
                        .flatten()
                        .filter_map(|p| non_empty(p.phone.clone()))
                        .collect();
                    match (name, phones.is_empty()) {
                        (Some(n), false) => format!("{n} {}", phones.join(", ")),
                        (Some(n), true) => n,
                        (None, _) => phones.join(", "),
                    }
                })
                .filter(|s| !s.is_empty())
                .collect();
            let text = if shared.is_empty() {
                "[contact]".to_string()
            } else {
                format!("[contact: {}]", shared.join("; "))
            };
            (MessageKind::Contacts, text, None)
        }
        "interactive" => {
            let title = m.interactive.as_ref().and_then(|i| {
                i.button_reply
                    .as_ref()
                    .or(i.list_reply.as_ref())
                    .and_then(|r| non_empty(r.title.clone()))
            });
            (
                MessageKind::Interactive,
                title.unwrap_or_else(|| "[interactive reply]".into()),
                None,
            )
        }
        // A quick-reply button of a template is an interactive answer too.
        "button" => {
            let text = m.button.as_ref().and_then(|b| non_empty(b.text.clone()));
            (
                MessageKind::Interactive,
                text.unwrap_or_else(|| "[button]".into()),
                None,
            )
        }
        "reaction" => {
            let text = match m.reaction.as_ref().and_then(|r| non_empty(r.emoji.clone())) {
                Some(emoji) => format!("[reaction {emoji}]"),
                None => "[reaction removed]".into(),
            };
            (MessageKind::Unsupported, text, None)
        }
        "system" => {
            let text = m.system.as_ref().and_then(|s| non_empty(s.body.clone()));
            (
                MessageKind::Unsupported,
                text.unwrap_or_else(|| "[system message]".into()),
                None,
            )
        }
        "" | "unsupported" | "unknown" => (
            MessageKind::Unsupported,
            "[unsupported message]".into(),
            None,
        ),
        other => (MessageKind::Unsupported, format!("[{other} message]"), None),
    }
}

/// A reaction, an edit or a deletion naming the message it is about; None for a message of
/// the transcript (a reaction or edit that names no message stays one, so nothing is lost).
fn message_update(parsed: &RawMessage, m: &InboundMessage) -> Option<MessageUpdate> {
    let (target, change) = match parsed.kind.as_deref()? {
        "reaction" => {
            let r = parsed.reaction.as_ref()?;
            (
                non_empty(r.message_id.clone())?,
                CustomerChange::Reaction(r.emoji.clone().unwrap_or_default()),
            )
        }
        "edit" => {
            let e = parsed.edit.as_ref()?;
            let new = e.message.as_deref()?;
            let (_, text, _) = describe(new.kind.as_deref().unwrap_or("text"), new);
            (
                non_empty(e.original_message_id.clone())?,
                CustomerChange::Edit(text),
            )
        }
        "revoke" => (
            non_empty(parsed.revoke.as_ref()?.original_message_id.clone())?,
            CustomerChange::Revoke,
        ),
        _ => return None,
    };
    Some(MessageUpdate {
        wamid: m.wamid.clone(),
        customer: m.customer.clone(),
        profile_name: m.profile_name.clone(),
        target,
        change,
    })
}

/// A `system` message that says the customer changed number or BSUID; None for any other
/// message.
fn identity_change(parsed: &RawMessage) -> Option<IdentityChange> {
    if parsed.kind.as_deref() != Some("system") {
        return None;
    }
    let system = parsed.system.as_ref()?;
    match system.kind.as_deref() {
        Some("user_changed_number" | "user_changed_user_id" | "customer_changed_number") => {}
        _ => return None,
    }
    let wamid = non_empty(parsed.id.clone()).unwrap_or_default();
    Some(IdentityChange {
        wamid,
        before: CustomerIdentity::new(parsed.from.as_deref(), parsed.from_user_id.as_deref(), None),
        previous_user_id: non_empty(system.previous_user_id.clone()),
        after: CustomerIdentity::new(
            system.wa_id.as_deref().or(system.new_wa_id.as_deref()),
            system.user_id.as_deref(),
            None,
        ),
    })
}

fn status_update(raw: &RawValue, now_ms: i64) -> Option<StatusUpdate> {
    let parsed: RawStatus = serde_json::from_str(raw.get()).ok()?;
    let wamid = non_empty(parsed.id)?;
    let status = match parsed.status.as_deref()? {
        "sent" => MessageStatus::Sent,
        "delivered" => MessageStatus::Delivered,
        "read" => MessageStatus::Read,
        "failed" => MessageStatus::Failed,
        // "deleted", "warning", "played"...: nothing for the transcript.
        _ => return None,
    };
    let error = parsed
        .errors
        .as_ref()
        .and_then(|errors| errors.first())
        .map(ApiErrorDetail::describe);
    Some(StatusUpdate {
        wamid,
        status,
        timestamp_ms: timestamp_ms(parsed.timestamp.as_deref(), now_ms),
        error,
        recipient: CustomerIdentity::new(
            parsed.recipient_id.as_deref(),
            parsed.recipient_user_id.as_deref(),
            None,
        ),
        pricing: parsed.pricing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000_123;

    fn parse(json: &str) -> Vec<ChannelEvents> {
        let envelope = super::parse(json.as_bytes()).expect("envelope");
        events(&envelope, NOW)
    }

    fn wrap(value: &str) -> String {
        format!(
            r#"{{"object":"whatsapp_business_account","entry":[{{"id":"102290129340398","changes":[{{"field":"messages","value":{value}}}]}}]}}"#
        )
    }

    #[test]
    fn text_message_with_profile() {
        let json = wrap(
            r#"{"messaging_product":"whatsapp",
                "metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
                "contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
                "messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=",
                             "timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}]}"#,
        );
        let groups = parse(&json);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].phone_number_id, "106540352242922");
        assert!(groups[0].statuses.is_empty());
        assert_eq!(
            groups[0].messages,
            vec![InboundMessage {
                wamid: "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=".into(),
                customer: CustomerIdentity::new(Some("16505551234"), None, None),
                profile_name: Some("Sheena Nelson".into()),
                timestamp_ms: 1_749_416_383_000,
                kind: MessageKind::Text,
                text: "Does it come in another color?".into(),
                media: None,
                reply_to: None,
                list_reply_id: None,
            }]
        );
    }

    #[test]
    fn image_with_caption_and_media_without_caption() {
        let json = wrap(
            r#"{"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
                "contacts":[{"profile":{"name":"Sheena"},"wa_id":"16505551234"}],
                "messages":[
                  {"from":"16505551234","id":"wamid.img","timestamp":"1749416383","type":"image",
                   "image":{"caption":"Broken box","mime_type":"image/jpeg","sha256":"abc","id":"1003383421387256"}},
                  {"from":"16505551234","id":"wamid.vid","timestamp":"1749416384","type":"video",
                   "video":{"mime_type":"video/mp4","id":"2222"}},
                  {"from":"16505551234","id":"wamid.doc","timestamp":"1749416385","type":"document",
                   "document":{"filename":"invoice.pdf","mime_type":"application/pdf","id":"3333"}},
                  {"from":"16505551234","id":"wamid.voice","timestamp":"1749416386","type":"audio",
                   "audio":{"mime_type":"audio/ogg; codecs=opus","id":"4444","voice":true}}
                ]}"#,
        );
        let m = &parse(&json)[0].messages;
        assert_eq!(m.len(), 4);
        assert_eq!(
            (m[0].kind, m[0].text.as_str()),
            (MessageKind::Image, "Broken box")
        );
        let image = m[0].media.as_ref().expect("image media");
        assert_eq!(image.id, "1003383421387256");
        assert_eq!(image.mime_type.as_deref(), Some("image/jpeg"));
        assert_eq!(image.sha256.as_deref(), Some("abc"));
        assert_eq!(image.caption.as_deref(), Some("Broken box"));
        assert_eq!(
            (m[1].kind, m[1].text.as_str()),
            (MessageKind::Video, "[video]")
        );
        assert_eq!(m[2].text, "[document: invoice.pdf]");
        let doc = m[2].media.as_ref().expect("document media");
        assert_eq!(doc.id, "3333");
        assert_eq!(doc.filename.as_deref(), Some("invoice.pdf"));
        assert_eq!(doc.caption, None);
        assert_eq!(m[3].media.as_ref().map(|x| x.id.as_str()), Some("4444"));
        assert_eq!(
            (m[3].kind, m[3].text.as_str()),
            (MessageKind::Audio, "[voice message]")
        );
    }

    #[test]
    fn media_without_an_id_has_no_file_and_odd_fields_are_tolerated() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "contacts":[{"profile":{"name":"Sheena"},"wa_id":"16505551234"}],
                "messages":[
                  {"from":"16505551234","id":"wamid.s1","timestamp":"1","type":"sticker",
                   "sticker":{"mime_type":"image/webp","sha256":"aGk=","id":55,"animated":false}},
                  {"from":"16505551234","id":"wamid.s2","timestamp":"2","type":"image",
                   "image":{"caption":"no id","mime_type":"image/png"}},
                  {"from":"16505551234","id":"wamid.s3","timestamp":"3","type":"document",
                   "document":{"id":"77","sha256":7,"filename":"  "}}
                ]}"#,
        );
        let m = &parse(&json)[0].messages;
        let sticker = m[0].media.as_ref().expect("a numeric id is read");
        assert_eq!(
            (sticker.id.as_str(), sticker.sha256.as_deref()),
            ("55", Some("aGk="))
        );
        assert_eq!(
            (m[1].kind, m[1].text.as_str(), m[1].media.is_none()),
            (MessageKind::Image, "no id", true)
        );
        // A field of the wrong type spoils the media object: the message stays, without a file.
        assert_eq!(
            (m[2].kind, m[2].text.as_str()),
            (MessageKind::Document, "[document]")
        );
        assert!(m[2].media.is_none());
    }

    #[test]
    fn location_is_described() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "contacts":[{"profile":{"name":"Sheena"},"wa_id":"16505551234"}],
                "messages":[{"from":"16505551234","id":"wamid.loc","timestamp":"1749416383","type":"location",
                  "location":{"address":"1 Hacker Way, Menlo Park, CA 94025","latitude":37.483307,
                              "longitude":-122.148981,"name":"Meta Headquarters","url":"https://meta.com"}}]}"#,
        );
        let m = &parse(&json)[0].messages[0];
        assert_eq!(m.kind, MessageKind::Location);
        assert_eq!(
            m.text,
            "📍 Meta Headquarters 1 Hacker Way, Menlo Park, CA 94025 (37.483307, -122.148981)"
        );
    }

    #[test]
    fn several_entries_messages_and_statuses_in_one_delivery() {
        let json = r#"{"object":"whatsapp_business_account","entry":[
          {"id":"WABA1","changes":[
            {"field":"messages","value":{"messaging_product":"whatsapp",
              "metadata":{"display_phone_number":"15550001111","phone_number_id":"PN1"},
              "contacts":[{"profile":{"name":"Ann"},"wa_id":"447700900001"},{"profile":{"name":"Bob"},"wa_id":"447700900002"}],
              "messages":[
                {"from":"447700900001","id":"wamid.a1","timestamp":"1700000001","type":"text","text":{"body":"hi"}},
                {"from":"447700900002","id":"wamid.b1","timestamp":"1700000002","type":"text","text":{"body":"hello"}}]}},
            {"field":"messages","value":{"messaging_product":"whatsapp",
              "metadata":{"display_phone_number":"15550001111","phone_number_id":"PN1"},
              "statuses":[
                {"id":"wamid.out1","status":"delivered","timestamp":"1700000003","recipient_id":"447700900001",
                 "conversation":{"id":"c1","origin":{"type":"service"}},"pricing":{"billable":true}},
                {"id":"wamid.out2","status":"failed","timestamp":"1700000004","recipient_id":"447700900001",
                 "errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message",
                            "error_data":{"details":"Message failed to send because more than 24 hours have passed"}}]},
                {"id":"wamid.out3","status":"deleted","timestamp":"1700000005","recipient_id":"447700900001"}]}}]},
          {"id":"WABA2","changes":[
            {"field":"messages","value":{
              "metadata":{"display_phone_number":"15550002222","phone_number_id":"PN2"},
              "statuses":[{"id":"wamid.out9","status":"read","timestamp":"1700000006","recipient_id":"1"}]}},
            {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}]}]}"#;
        let groups = parse(json);
        assert_eq!(groups.len(), 2);
        let pn1 = &groups[0];
        assert_eq!(pn1.phone_number_id, "PN1");
        assert_eq!(pn1.messages.len(), 2);
        assert_eq!(pn1.messages[0].profile_name.as_deref(), Some("Ann"));
        assert_eq!(pn1.messages[1].profile_name.as_deref(), Some("Bob"));
        assert_eq!(pn1.messages[1].timestamp_ms, 1_700_000_002_000);
        assert_eq!(pn1.statuses.len(), 2, "`deleted` is ignored");
        assert_eq!(pn1.statuses[0].status, MessageStatus::Delivered);
        assert_eq!(pn1.statuses[0].error, None);
        assert_eq!(pn1.statuses[1].status, MessageStatus::Failed);
        assert_eq!(
            pn1.statuses[1].error.as_deref(),
            Some("Re-engagement message: Message failed to send because more than 24 hours have passed")
        );
        assert_eq!(groups[1].phone_number_id, "PN2");
        assert_eq!(groups[1].statuses[0].status, MessageStatus::Read);
    }

    #[test]
    fn unknown_and_odd_messages_become_unsupported() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "contacts":[{"profile":{"name":"Sheena"},"wa_id":"16505551234"}],
                "messages":[
                  {"from":"16505551234","id":"wamid.u1","timestamp":"1749416383","type":"unsupported",
                   "errors":[{"code":131051,"title":"Message type unknown"}]},
                  {"from":"16505551234","id":"wamid.u2","timestamp":"1749416384","type":"order","order":{"catalog_id":"1"}},
                  {"from":"16505551234","id":"wamid.u3","timestamp":1749416385,"type":"text","text":"not an object"},
                  {"from":"16505551234","id":"wamid.btn","timestamp":"1749416386","type":"button",
                   "button":{"payload":"yes","text":"Yes please"}},
                  {"from":"16505551234","id":"wamid.list","timestamp":"1749416387","type":"interactive",
                   "interactive":{"type":"list_reply","list_reply":{"id":"r1","title":"Tuesday"}}},
                  {"id":"wamid.nofrom-but-single-contact","timestamp":"x","type":"text","text":{"body":"ok"}}
                ]}"#,
        );
        let m = &parse(&json)[0].messages;
        assert_eq!(m.len(), 6);
        assert_eq!(
            (m[0].kind, m[0].text.as_str()),
            (MessageKind::Unsupported, "[unsupported message]")
        );
        assert_eq!(
            (m[1].kind, m[1].text.as_str()),
            (MessageKind::Unsupported, "[order message]")
        );
        assert_eq!(m[2].kind, MessageKind::Unsupported);
        assert_eq!(m[2].wamid, "wamid.u3");
        assert_eq!(
            (m[3].kind, m[3].text.as_str()),
            (MessageKind::Interactive, "Yes please")
        );
        assert_eq!(
            (m[4].kind, m[4].text.as_str()),
            (MessageKind::Interactive, "Tuesday")
        );
        // The picked row's id is kept (a survey's answer, R28); a button's is not a list's.
        assert_eq!(m[4].list_reply_id.as_deref(), Some("r1"));
        assert_eq!(m[3].list_reply_id, None);
        assert_eq!(m[5].customer.phone.as_deref(), Some("16505551234"));
        assert_eq!(
            m[5].timestamp_ms, NOW,
            "unreadable timestamp falls back to now"
        );
    }

    #[test]
    fn template_status_updates_name_the_account_and_the_template() {
        let json = r#"{"object":"whatsapp_business_account","entry":[
            {"id":"102290129340398","time":1749416383,"changes":[
              {"field":"message_template_status_update","value":{"event":"REJECTED",
                "message_template_id":1234,"message_template_name":"spring_sale",
                "message_template_language":"en_US","reason":"PROMOTIONAL"}},
              {"field":"message_template_status_update","value":{"event":"approved",
                "message_template_id":99,"message_template_name":"order_update",
                "message_template_language":"en_US","reason":"NONE"}},
              {"field":"message_template_status_update","value":{"event":"APPROVED"}},
              {"field":"messages","value":{"event":"APPROVED","message_template_name":"x",
                "message_template_language":"en"}}]},
            {"changes":[{"field":"message_template_status_update","value":{"event":"APPROVED",
                "message_template_name":"y","message_template_language":"en"}}]}]}"#;
        let all = template_statuses(&super::parse(json.as_bytes()).unwrap());
        assert_eq!(
            all,
            vec![
                TemplateStatus {
                    waba_id: "102290129340398".into(),
                    name: "spring_sale".into(),
                    language: "en_US".into(),
                    status: "REJECTED".into(),
                    reason: Some("PROMOTIONAL".into()),
                },
                TemplateStatus {
                    waba_id: "102290129340398".into(),
                    name: "order_update".into(),
                    language: "en_US".into(),
                    status: "APPROVED".into(),
                    reason: None,
                },
            ]
        );
        // Nor are they messages.
        assert!(events(&super::parse(json.as_bytes()).unwrap(), NOW).is_empty());
    }

    #[test]
    fn a_customer_with_a_username_and_no_number_is_kept() {
        let json = wrap(
            r#"{"metadata":{"display_phone_number":"15550783881","phone_number_id":"1"},
                "contacts":[{"profile":{"name":"Ann","username":"@ann.b"},"user_id":"US.13491208655302741918"}],
                "messages":[{"from_user_id":"US.13491208655302741918","id":"wamid.u","timestamp":"1749416383",
                             "type":"text","text":{"body":"hi"}}]}"#,
        );
        let m = &parse(&json)[0].messages;
        assert_eq!(m.len(), 1);
        assert_eq!(
            m[0].customer,
            CustomerIdentity::new(None, Some("US.13491208655302741918"), Some("ann.b"))
        );
        assert_eq!(m[0].profile_name.as_deref(), Some("Ann"));
    }

    #[test]
    fn a_delivery_with_number_and_bsuid_carries_both() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "contacts":[{"profile":{"name":"A"},"wa_id":"111","user_id":"US.1"},
                            {"profile":{"name":"B","username":"bee"},"wa_id":"222","user_id":"US.2"}],
                "messages":[{"from":"222","from_user_id":"US.2","id":"w1","type":"text","text":{"body":"x"}},
                            {"from_user_id":"US.1","id":"w2","type":"text","text":{"body":"y"}}]}"#,
        );
        let m = &parse(&json)[0].messages;
        assert_eq!(
            m[0].customer,
            CustomerIdentity::new(Some("222"), Some("US.2"), Some("bee"))
        );
        assert_eq!(m[0].profile_name.as_deref(), Some("B"));
        // The contact entry that names the BSUID gives the number too.
        assert_eq!(
            m[1].customer,
            CustomerIdentity::new(Some("111"), Some("US.1"), None)
        );
    }

    #[test]
    fn a_message_naming_nobody_is_still_kept() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "messages":[{"id":"w","type":"text","text":{"body":"x"}}]}"#,
        );
        let m = &parse(&json)[0].messages;
        assert_eq!(m.len(), 1);
        assert!(m[0].customer.is_empty());
    }

    #[test]
    fn number_and_bsuid_changes_are_identity_changes_not_messages() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "messages":[
                  {"from":"16505551234","id":"w.sys1","timestamp":"1","type":"system",
                   "system":{"body":"User A changed from 16505551234 to 16505559999","type":"user_changed_number",
                             "wa_id":"16505559999","user_id":"US.2","previous_user_id":"US.1"}},
                  {"from_user_id":"US.2","id":"w.sys2","timestamp":"2","type":"system",
                   "system":{"body":"changed","type":"user_changed_user_id","user_id":"US.3","previous_user_id":"US.2"}},
                  {"from":"1","id":"w.sys3","type":"system","system":{"body":"other","type":"something_else"}}]}"#,
        );
        let g = &parse(&json)[0];
        assert_eq!(g.identity_changes.len(), 2);
        assert_eq!(
            g.identity_changes[0],
            IdentityChange {
                wamid: "w.sys1".into(),
                before: CustomerIdentity::new(Some("16505551234"), None, None),
                previous_user_id: Some("US.1".into()),
                after: CustomerIdentity::new(Some("16505559999"), Some("US.2"), None),
            }
        );
        assert_eq!(
            g.identity_changes[1].after,
            CustomerIdentity::new(None, Some("US.3"), None)
        );
        assert_eq!(
            g.identity_changes[1].before,
            CustomerIdentity::new(None, Some("US.2"), None)
        );
        // Another system message stays a message of the transcript.
        assert_eq!(g.messages.len(), 1);
        assert_eq!(g.messages[0].kind, MessageKind::Unsupported);
    }

    #[test]
    fn statuses_name_the_recipient_by_number_or_bsuid() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "statuses":[{"id":"wamid.o","status":"delivered","timestamp":"5","recipient_user_id":"US.9"}]}"#,
        );
        let s = &parse(&json)[0].statuses;
        assert_eq!(
            s[0].recipient,
            CustomerIdentity::new(None, Some("US.9"), None)
        );
    }

    #[test]
    fn replies_reactions_edits_and_deletions() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "contacts":[{"profile":{"name":"A"},"wa_id":"111"}],
                "messages":[
                  {"from":"111","id":"w.reply","type":"text","text":{"body":"yes"},"context":{"from":"1555","id":"wamid.OUT1"}},
                  {"from":"111","id":"w.react","type":"reaction","reaction":{"message_id":"wamid.OUT1","emoji":"👍"}},
                  {"from":"111","id":"w.unreact","type":"reaction","reaction":{"message_id":"wamid.OUT1","emoji":""}},
                  {"from":"111","id":"w.edit","type":"edit","edit":{"original_message_id":"w.reply",
                     "message":{"type":"text","text":{"body":"yes please"}}}},
                  {"from":"111","id":"w.revoke","type":"revoke","revoke":{"original_message_id":"w.reply"}},
                  {"from":"111","id":"w.odd","type":"reaction","reaction":{"emoji":"👍"}}]}"#,
        );
        let g = &parse(&json)[0];
        assert_eq!(
            g.messages.len(),
            2,
            "the reply, and a reaction naming nothing"
        );
        assert_eq!(g.messages[0].reply_to.as_deref(), Some("wamid.OUT1"));
        assert_eq!(g.messages[1].kind, MessageKind::Unsupported);
        let changes: Vec<(&str, &CustomerChange)> = g
            .updates
            .iter()
            .map(|u| (u.target.as_str(), &u.change))
            .collect();
        assert_eq!(
            changes,
            vec![
                ("wamid.OUT1", &CustomerChange::Reaction("👍".into())),
                ("wamid.OUT1", &CustomerChange::Reaction(String::new())),
                ("w.reply", &CustomerChange::Edit("yes please".into())),
                ("w.reply", &CustomerChange::Revoke),
            ]
        );
        assert_eq!(
            g.updates[0].customer,
            CustomerIdentity::new(Some("111"), None, None)
        );
    }

    #[test]
    fn statuses_carry_pricing() {
        let json = wrap(
            r#"{"metadata":{"phone_number_id":"1"},
                "statuses":[{"id":"wamid.o","status":"sent","timestamp":"5","recipient_id":"111",
                  "pricing":{"billable":true,"pricing_model":"PMP","category":"service","type":"free_customer_service"}}]}"#,
        );
        let s = &parse(&json)[0].statuses;
        assert_eq!(
            s[0].pricing,
            Some(Pricing {
                billable: Some(true),
                pricing_model: Some("PMP".into()),
                category: Some("service".into()),
                kind: Some("free_customer_service".into()),
            })
        );
    }

    #[test]
    fn an_odd_item_at_any_level_spoils_nothing_else() {
        // Read straight from the bytes, each list item on its own: an entry, a change, a
        // contact or a status that does not fit is skipped, the rest is read.
        let json = r#"{"object":"whatsapp_business_account","entry":[
            7,
            {"id":102290129340398,"changes":[
              "odd",
              {"field":"messages","value":{"metadata":{"phone_number_id":106540352242922},
                "contacts":[{"profile":"odd"},{"profile":{"name":"Sheena \u00e9"},"wa_id":16505551234}],
                "messages":[null,{"from":"16505551234","id":"wamid.1","timestamp":"1","type":"text","text":{"body":"hi \"there\""}}],
                "statuses":[[],{"id":"wamid.o","status":"read","timestamp":"5","recipient_id":"111","pricing":"odd"}]}}]}]}"#;
        let groups = parse(json);
        assert_eq!(groups.len(), 1);
        assert_eq!(groups[0].phone_number_id, "106540352242922");
        let m = &groups[0].messages;
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].text, "hi \"there\"");
        assert_eq!(m[0].profile_name.as_deref(), Some("Sheena é"));
        let s = &groups[0].statuses;
        assert_eq!(s.len(), 1);
        assert_eq!(
            (s[0].status, s[0].pricing.clone()),
            (MessageStatus::Read, None)
        );
        // Bad UTF-8 anywhere, even in a field nobody reads, is malformed JSON.
        let err = super::parse(b"{\"object\": \"\xff\"}").unwrap_err();
        assert!(err.starts_with("malformed JSON"), "{err}");
        assert!(super::parse(b"[]").is_err());
        assert!(super::parse(b"{\"entry\": [").is_err());
    }

    #[test]
    fn envelope_is_lenient_about_shape() {
        assert!(parse(r#"{}"#).is_empty());
        assert!(parse(r#"{"object":"whatsapp_business_account","entry":null}"#).is_empty());
        assert!(parse(r#"{"entry":[{"changes":[{"field":"messages"}]}]}"#).is_empty());
        // No metadata: nothing names the channel.
        assert!(parse(&wrap(
            r#"{"messages":[{"from":"1","id":"w","type":"text","text":{"body":"x"}}]}"#
        ))
        .is_empty());
        assert!(super::parse(b"[1,2]").is_err());
        assert!(super::parse(b"{\"entry\": [").is_err());
        assert!(super::parse(br#"{"object": 5, "entry": "x"}"#).is_ok());
    }

    /// Any JSON value, nested a few levels, with the keys a delivery uses (so the fuzzer
    /// reaches past the envelope into messages and statuses).
    fn arb_json() -> impl proptest::strategy::Strategy<Value = serde_json::Value> {
        use proptest::prelude::*;
        use serde_json::Value;
        let key = prop_oneof![
            Just("object".to_string()),
            Just("entry".to_string()),
            Just("changes".to_string()),
            Just("field".to_string()),
            Just("value".to_string()),
            Just("metadata".to_string()),
            Just("phone_number_id".to_string()),
            Just("contacts".to_string()),
            Just("profile".to_string()),
            Just("name".to_string()),
            Just("wa_id".to_string()),
            Just("user_id".to_string()),
            Just("from_user_id".to_string()),
            Just("username".to_string()),
            Just("recipient_user_id".to_string()),
            Just("system".to_string()),
            Just("previous_user_id".to_string()),
            Just("messages".to_string()),
            Just("statuses".to_string()),
            Just("from".to_string()),
            Just("id".to_string()),
            Just("timestamp".to_string()),
            Just("type".to_string()),
            Just("text".to_string()),
            Just("body".to_string()),
            Just("status".to_string()),
            Just("errors".to_string()),
            Just("image".to_string()),
            Just("document".to_string()),
            Just("sticker".to_string()),
            Just("mime_type".to_string()),
            Just("sha256".to_string()),
            Just("caption".to_string()),
            Just("filename".to_string()),
            Just("location".to_string()),
            "[a-z_]{1,8}",
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            prop_oneof![
                Just("text".to_string()),
                Just("messages".to_string()),
                Just("read".to_string()),
                Just("failed".to_string()),
                Just("99999999999999999999999".to_string()),
                Just("-1".to_string()),
                ".{0,12}",
            ]
            .prop_map(Value::String),
        ];
        leaf.prop_recursive(5, 64, 6, move |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                proptest::collection::btree_map(key.clone(), inner, 0..6)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest::proptest! {
        /// Arbitrary bytes: an error or an envelope, never a panic.
        #[test]
        fn parse_never_panics_on_bytes(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            if let Ok(env) = super::parse(&body) {
                let _ = super::events(&env, 0);
            }
        }

        /// Arbitrary JSON shaped like a delivery: parsed and split into events without panic.
        #[test]
        fn parse_and_events_never_panic_on_json(v in arb_json()) {
            let body = serde_json::to_vec(&v).unwrap();
            if let Ok(env) = super::parse(&body) {
                let _ = super::events(&env, i64::MAX);
            }
        }

        /// A valid delivery with one field replaced by anything still parses or errors cleanly.
        #[test]
        fn a_mutated_delivery_never_panics(path in 0usize..9, v in arb_json()) {
            let mut d = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "W",
                "changes": [{"field": "messages", "value": {"metadata": {"phone_number_id": "1"},
                "contacts": [{"profile": {"name": "A"}, "wa_id": "1"}],
                "messages": [{"from": "1", "id": "w", "timestamp": "1", "type": "text", "text": {"body": "hi"}}],
                "statuses": [{"id": "w", "status": "read", "timestamp": "1"}]}}]}]});
            let slot = match path {
                0 => &mut d["entry"],
                1 => &mut d["entry"][0]["changes"],
                2 => &mut d["entry"][0]["changes"][0]["value"],
                3 => &mut d["entry"][0]["changes"][0]["value"]["metadata"],
                4 => &mut d["entry"][0]["changes"][0]["value"]["messages"][0],
                5 => &mut d["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"],
                6 => &mut d["entry"][0]["changes"][0]["value"]["messages"][0]["text"],
                7 => &mut d["entry"][0]["changes"][0]["value"]["statuses"][0],
                _ => &mut d["entry"][0]["changes"][0]["value"]["contacts"],
            };
            *slot = v;
            let body = serde_json::to_vec(&d).unwrap();
            if let Ok(env) = super::parse(&body) {
                let _ = super::events(&env, 0);
            }
        }
    }
}
