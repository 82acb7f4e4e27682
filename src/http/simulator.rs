//! The customer simulator's server side (sandbox mode only): someone plays a WhatsApp customer
//! from `static/simulator.html`.
//!
//! - `POST /api/v1/simulator/messages` `{phone_number_id?, from, name, text, kind?}` builds a
//!   delivery shaped like Meta's, signs it with the channel's effective app secret (the
//!   channel's own, else `whatsapp.app_secret`) and POSTs it over HTTP to this server's own
//!   `/webhooks/whatsapp`. Going through the real endpoint (rather than calling the actors
//!   directly) means the simulator exercises exactly what Meta's deliveries go through:
//!   signature check, parsing, idempotency by wamid, commit before the 200, routing.
//! - `POST /api/v1/simulator/read` `{phone_number_id?, from}`: the customer has seen the
//!   replies; a signed `read` status delivery goes through the same webhook.
//! - `GET /api/v1/simulator/messages?from=DIGITS[&phone_number_id=]`: the conversation as the
//!   customer sees it (inbound and outbound messages across its interactions, with delivery
//!   status; no system messages, no agent names).
//! - `GET /api/v1/simulator/channels`: the channels a customer can write to.
//!
//! No login is needed: the simulator is a demo tool and a customer has no account. Outside
//! sandbox mode (`whatsapp.sandbox = false`) every route answers 404 `not_found`, as if it did
//! not exist. Nothing secret (access tokens, app secrets) is ever returned.

use super::Data;
use crate::domain::customer::CustomerKey;
use crate::domain::time::{now_ms, to_rfc3339};
use crate::error::{ApiError, ErrorCode};
use crate::store::channels::ChannelRecord;
use crate::store::{history, media, StoreError};
use crate::whatsapp::signature;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;
use utoipa::{IntoParams, ToSchema};

/// Longest simulated customer text (WhatsApp's own limit for a text message).
const MAX_TEXT_CHARS: usize = 4096;
const MAX_NAME_CHARS: usize = 100;
/// Most messages returned by `GET /simulator/messages` (the latest ones).
const MAX_MESSAGES: i64 = 500;
const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(15);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/simulator/channels").route(web::get().to(channels)))
        .service(
            web::resource("/simulator/messages")
                .route(web::get().to(conversation))
                .route(web::post().to(send)),
        )
        .service(web::resource("/simulator/read").route(web::post().to(read)))
        .service(web::resource("/simulator/reactions").route(web::post().to(react)))
        .service(web::resource("/simulator/media/{id}").route(web::get().to(media_file)));
}

/// The customer's phone opens a file of their conversation (an agent's attachment, or their
/// own): sandbox only, like the rest of the simulator.
#[utoipa::path(
    get, path = "/api/v1/simulator/media/{id}", tag = "simulator",
    params(("id" = i64, Path, description = "The media id of a message in `GET /api/v1/simulator/messages`"), ConversationQuery),
    responses(
        (status = 200, description = "The file, served as `GET /api/v1/media/{id}` serves it"),
        (status = 400, description = "`invalid_input`, `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: not in sandbox mode, no such file, or not this customer's", body = super::openapi::ErrorResponse),
        (status = 409, description = "`media_not_ready`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn media_file(
    state: Data,
    id: web::Path<i64>,
    query: web::Query<ConversationQuery>,
) -> Result<HttpResponse, ApiError> {
    sandbox_only(&state)?;
    let id = id.into_inner();
    let from = SimCustomer::parse(&query.from)?;
    let channel = pick_channel(&state, query.phone_number_id.as_deref())?;
    let (channel_id, key) = (channel.id, from.key());
    let file = state
        .store
        .read(move |db| -> Result<_, StoreError> {
            let Some((file, _)) = media::load(db, id)? else {
                return Ok(None);
            };
            let theirs =
                history::is_customers_interaction(db, channel_id, &key, file.interaction_id)?;
            Ok(theirs.then_some(file))
        })
        .await?
        .ok_or(ApiError::NotFound("media"))?;
    super::media::serve(&state, id, file).await
}

fn sandbox_only(state: &Data) -> Result<(), ApiError> {
    if state.settings.whatsapp.sandbox {
        Ok(())
    } else {
        Err(ApiError::NotFound("page"))
    }
}

/// A channel a simulated customer can write to (nothing secret).
#[derive(Debug, Serialize, ToSchema)]
pub struct SimChannel {
    id: i64,
    name: String,
    phone_number_id: String,
    display_phone_number: String,
}

impl From<ChannelRecord> for SimChannel {
    fn from(c: ChannelRecord) -> Self {
        SimChannel {
            id: c.id,
            name: c.name,
            phone_number_id: c.phone_number_id,
            display_phone_number: c.display_phone_number,
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimChannels {
    channels: Vec<SimChannel>,
}

#[utoipa::path(
    get, path = "/api/v1/simulator/channels", tag = "simulator",
    responses(
        (status = 200, description = "The channels (sandbox mode only)", body = SimChannels),
        (status = 404, description = "`not_found`: not in sandbox mode", body = super::openapi::ErrorResponse),
    )
)]
pub async fn channels(state: Data) -> Result<HttpResponse, ApiError> {
    sandbox_only(&state)?;
    let channels = state
        .registry
        .channels()
        .into_iter()
        .map(SimChannel::from)
        .collect();
    Ok(HttpResponse::Ok().json(SimChannels { channels }))
}

/// The channel named by `phone_number_id`, or the first one when none is named.
fn pick_channel(state: &Data, phone_number_id: Option<&str>) -> Result<ChannelRecord, ApiError> {
    match phone_number_id.filter(|p| !p.is_empty()) {
        Some(p) => state
            .registry
            .channel_by_phone_number_id(p)
            .ok_or(ApiError::NotFound("channel")),
        None => state
            .registry
            .channels()
            .into_iter()
            .next()
            .ok_or(ApiError::NotFound("channel")),
    }
}

/// A customer's WhatsApp id: the digits of the phone number (a leading `+`, spaces, dashes
/// and parentheses are dropped), 6 to 15 digits.
fn wa_id(from: &str) -> Result<String, ApiError> {
    let digits: String = from
        .chars()
        .filter(|c| !matches!(c, '+' | ' ' | '-' | '(' | ')' | '.'))
        .collect();
    if !(6..=15).contains(&digits.len()) || !digits.chars().all(|c| c.is_ascii_digit()) {
        return Err(ApiError::invalid(
            "from must be a phone number of 6 to 15 digits",
        ));
    }
    Ok(digits)
}

/// A simulated customer: a phone number, or `@username` for a customer who adopted a
/// WhatsApp username and withholds their number (Meta then names them by a business-scoped
/// user id only, R21).
#[derive(Debug, Clone, PartialEq)]
enum SimCustomer {
    Phone(String),
    Username { username: String, user_id: String },
}

impl SimCustomer {
    fn parse(from: &str) -> Result<SimCustomer, ApiError> {
        let from = from.trim();
        let Some(username) = from.strip_prefix('@') else {
            return wa_id(from).map(SimCustomer::Phone);
        };
        let username = username.to_ascii_lowercase();
        let valid = (3..=35).contains(&username.len())
            && username
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
        if !valid {
            return Err(ApiError::invalid(
                "from must be a phone number of 6 to 15 digits or @username (3 to 35 letters, digits, . or _)",
            ));
        }
        // A stable BSUID for the username, shaped like Meta's (`US.` and digits).
        let digest = Sha256::digest(username.as_bytes());
        let n = u64::from_be_bytes(digest[..8].try_into().unwrap_or([0; 8]));
        let user_id = format!("US.{:020}", n);
        Ok(SimCustomer::Username { username, user_id })
    }

    fn key(&self) -> CustomerKey {
        match self {
            SimCustomer::Phone(p) => CustomerKey::Phone(p.clone()),
            SimCustomer::Username { user_id, .. } => CustomerKey::UserId(user_id.clone()),
        }
    }

    /// `from` as the simulator answers it: the number's digits, or `@username`.
    fn shown(&self) -> String {
        match self {
            SimCustomer::Phone(p) => p.clone(),
            SimCustomer::Username { .. } => self.label(),
        }
    }

    /// How the customer is shown: `+digits` or `@username`.
    fn label(&self) -> String {
        match self {
            SimCustomer::Phone(p) => format!("+{p}"),
            SimCustomer::Username { username, .. } => format!("@{username}"),
        }
    }

    /// The delivery's `contacts[0]`.
    fn contact(&self, name: &str) -> Value {
        match self {
            SimCustomer::Phone(p) => json!({"profile": {"name": name}, "wa_id": p}),
            SimCustomer::Username { username, user_id } => {
                json!({"profile": {"name": name, "username": username}, "user_id": user_id})
            }
        }
    }

    /// `from` or `from_user_id` of a message.
    fn sender(&self) -> (&'static str, &str) {
        match self {
            SimCustomer::Phone(p) => ("from", p),
            SimCustomer::Username { user_id, .. } => ("from_user_id", user_id),
        }
    }

    /// `recipient_id` or `recipient_user_id` of a status.
    fn recipient(&self) -> (&'static str, &str) {
        match self {
            SimCustomer::Phone(p) => ("recipient_id", p),
            SimCustomer::Username { user_id, .. } => ("recipient_user_id", user_id),
        }
    }
}

/// A message from a simulated customer.
#[derive(Debug, Deserialize, ToSchema)]
pub struct SimMessage {
    #[serde(default)]
    phone_number_id: Option<String>,
    /// The customer's phone number: 6 to 15 digits (`+`, spaces, `-`, `(`, `)`, `.` allowed),
    /// or `@username` for a customer whose number is withheld.
    #[schema(pattern = "^([+ ().-]*([0-9][+ ().-]*){6,15}|@[A-Za-z0-9._]{3,35})$")]
    from: String,
    #[serde(default)]
    name: Option<String>,
    /// Not blank for `text` messages; a caption for the others.
    #[serde(default)]
    #[schema(max_length = 4096)]
    text: String,
    /// `text` (default), `image`, `document`, `location`, `sticker`, or `list_reply` (the
    /// customer picks `choice` in the interactive list `reply_to`).
    #[serde(default)]
    #[schema(pattern = "^(text|image|document|location|sticker|list_reply)$")]
    kind: Option<String>,
    /// The id (from `GET /api/v1/simulator/messages`) of a message this one quotes.
    #[serde(default)]
    reply_to: Option<i64>,
    /// `list_reply`: the id of the row picked.
    #[serde(default)]
    #[schema(max_length = 200)]
    choice: Option<String>,
}

/// The sample file a simulated customer sends for `kind`: (file name, MIME type).
fn sample_for(kind: &str) -> Option<(&'static str, &'static str)> {
    match kind {
        "image" => Some(("photo.png", "image/png")),
        "document" => Some(("invoice.pdf", "application/pdf")),
        "sticker" => Some(("sticker.png", "image/png")),
        _ => None,
    }
}

/// The media id of a sample file in sandbox mode: the media fetcher reads the file from
/// `{media.path}/sandbox/{id}` instead of asking Meta (R22).
fn sample_media_id(wamid: &str) -> String {
    format!("sim-{}", &wamid[wamid.len().saturating_sub(12)..])
}

/// Puts the sample file for `kind` where the sandbox media fetcher finds it; answers its
/// sha256 in base64, as Meta's webhook gives it.
fn stage_sample(state: &Data, kind: &str, media_id: &str) -> Result<Option<String>, ApiError> {
    let Some((name, _)) = sample_for(kind) else {
        return Ok(None);
    };
    let bytes = super::static_files::sample(name)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("sample {name} missing")))?;
    let dir = std::path::Path::new(&state.settings.media.path).join("sandbox");
    std::fs::create_dir_all(&dir)
        .and_then(|_| std::fs::write(dir.join(media_id), &bytes))
        .map_err(|e| ApiError::Unavailable(format!("the sample file could not be staged: {e}")))?;
    use base64::Engine as _;
    Ok(Some(
        base64::engine::general_purpose::STANDARD.encode(Sha256::digest(&bytes)),
    ))
}

/// The `messages[0]` of a Meta delivery for a simulated customer message; `sha256` is the
/// staged sample's, for media kinds.
fn message_value(
    kind: &str,
    wamid: &str,
    from: &SimCustomer,
    ts: &str,
    text: &str,
    sha256: Option<&str>,
) -> Value {
    let media_id = sample_media_id(wamid);
    let mut m = json!({"id": wamid, "timestamp": ts, "type": kind});
    let (field, id) = from.sender();
    m[field] = json!(id);
    let mime = sample_for(kind).map(|(_, mime)| mime);
    let body = match kind {
        "image" => json!({"id": media_id, "mime_type": mime, "sha256": sha256, "caption": text}),
        "document" => json!({
            "id": media_id, "mime_type": mime, "sha256": sha256, "filename": "invoice.pdf",
            "caption": text
        }),
        "sticker" => json!({"id": media_id, "mime_type": mime, "sha256": sha256}),
        "location" => json!({
            "latitude": 48.8584, "longitude": 2.2945,
            "name": if text.is_empty() { "Eiffel Tower" } else { text },
            "address": "Champ de Mars, Paris"
        }),
        _ => json!({"body": text}),
    };
    m[kind] = body;
    m
}

/// A whole signed-ready envelope around one `value`.
fn envelope(channel: &ChannelRecord, value: Value) -> Value {
    let mut value = value;
    value["messaging_product"] = json!("whatsapp");
    value["metadata"] = json!({
        "display_phone_number": channel.display_phone_number,
        "phone_number_id": channel.phone_number_id,
    });
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "SANDBOX-WABA", "changes": [{"field": "messages", "value": value}]}]
    })
}

/// What the webhook accepted.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimSent {
    /// The WhatsApp message id given to the simulated message.
    wamid: String,
    channel_id: i64,
    /// The customer's WhatsApp id (digits), or `@username`.
    from: String,
}

#[utoipa::path(
    post, path = "/api/v1/simulator/messages", tag = "simulator",
    request_body = SimMessage,
    responses(
        (status = 200, description = "Signed and accepted by `POST /webhooks/whatsapp` (committed)", body = SimSent),
        (status = 400, description = "`invalid_input`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: not in sandbox mode, or no such channel", body = super::openapi::ErrorResponse),
        (status = 409, description = "`no_app_secret`: nothing to sign with", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 503, description = "`unavailable`: the webhook did not accept it", body = super::openapi::ErrorResponse),
    )
)]
pub async fn send(
    state: Data,
    req: HttpRequest,
    body: super::Json<SimMessage>,
) -> Result<HttpResponse, ApiError> {
    sandbox_only(&state)?;
    let body = body.into_inner();
    let from = SimCustomer::parse(&body.from)?;
    let kind = body.kind.as_deref().unwrap_or("text");
    if !matches!(
        kind,
        "text" | "image" | "document" | "location" | "sticker" | "list_reply"
    ) {
        return Err(ApiError::invalid(
            "kind must be text, image, document, location, sticker or list_reply",
        ));
    }
    let text = body.text;
    if kind == "text" {
        super::check_len("text", &text, 1, MAX_TEXT_CHARS)?;
        if text.trim().is_empty() {
            return Err(ApiError::invalid("text must not be blank"));
        }
    } else {
        super::check_len("text", &text, 0, MAX_TEXT_CHARS)?;
    }
    let name = body
        .name
        .map(|n| n.trim().to_string())
        .filter(|n| !n.is_empty())
        .unwrap_or_else(|| from.label());
    super::check_len("name", &name, 1, MAX_NAME_CHARS)?;
    let channel = pick_channel(&state, body.phone_number_id.as_deref())?;
    let quoted = match body.reply_to {
        Some(id) => Some(message_wamid(&state, &channel, &from, id).await?),
        None => None,
    };

    let wamid = format!("wamid.SIM{:032x}", rand::random::<u128>());
    let ts = (now_ms() / 1000).to_string();
    let mut message = if kind == "list_reply" {
        let (Some(list_id), Some(choice)) = (body.reply_to, body.choice.as_deref()) else {
            return Err(ApiError::invalid(
                "list_reply needs reply_to (the list) and choice (a row id)",
            ));
        };
        let row = picked_row(&state, &channel, &from, list_id, choice).await?;
        let mut m = json!({
            "id": wamid, "timestamp": ts, "type": "interactive",
            "interactive": {"type": "list_reply", "list_reply": row},
        });
        let (field, id) = from.sender();
        m[field] = json!(id);
        m
    } else {
        let sha256 = stage_sample(&state, kind, &sample_media_id(&wamid))?;
        message_value(kind, &wamid, &from, &ts, &text, sha256.as_deref())
    };
    if let Some(quoted) = quoted {
        message["context"] = json!({"from": channel.display_phone_number, "id": quoted});
    }
    let value = json!({
        "contacts": [from.contact(&name)],
        "messages": [message],
    });
    post_to_webhook(&state, &req, &channel, envelope(&channel, value)).await?;
    Ok(HttpResponse::Ok().json(SimSent {
        wamid,
        channel_id: channel.id,
        from: from.shown(),
    }))
}

/// The row `choice` of the interactive list `list_id` this customer got, as Meta's
/// `list_reply` names it: `{id, title, description}`.
async fn picked_row(
    state: &Data,
    channel: &ChannelRecord,
    from: &SimCustomer,
    list_id: i64,
    choice: &str,
) -> Result<Value, ApiError> {
    let (channel_id, key) = (channel.id, from.key());
    let all = state
        .store
        .read(move |db| history::customer_messages(db, channel_id, &key, MAX_MESSAGES))
        .await?;
    let list = all
        .iter()
        .find(|m| m.id == list_id && m.direction == "out")
        .and_then(|m| m.payload.as_ref())
        .and_then(SimList::of_payload)
        .ok_or_else(|| {
            ApiError::invalid("reply_to is not an interactive list this customer got")
        })?;
    let row = list
        .rows
        .into_iter()
        .find(|r| r.id == choice)
        .ok_or_else(|| ApiError::invalid("choice is not a row of that list"))?;
    let mut picked = json!({"id": row.id, "title": row.title});
    if let Some(d) = row.description {
        picked["description"] = json!(d);
    }
    Ok(picked)
}

/// The wamid of a message of this customer's conversations on the channel, by its id.
async fn message_wamid(
    state: &Data,
    channel: &ChannelRecord,
    from: &SimCustomer,
    message_id: i64,
) -> Result<String, ApiError> {
    let (channel_id, key) = (channel.id, from.key());
    state
        .store
        .read(move |db| history::customer_message_wamid(db, channel_id, &key, message_id))
        .await?
        .ok_or_else(|| ApiError::invalid("no message of this conversation has that id"))
}

/// The customer reacts to a message (an empty emoji takes the reaction back).
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReactBody {
    #[serde(default)]
    phone_number_id: Option<String>,
    #[schema(pattern = "^([+ ().-]*([0-9][+ ().-]*){6,15}|@[A-Za-z0-9._]{3,35})$")]
    from: String,
    /// The id of the message (from `GET /api/v1/simulator/messages`).
    message_id: i64,
    #[schema(max_length = 10)]
    emoji: String,
}

/// Sends the customer's reaction to a message through a signed `reaction` delivery (R24).
#[utoipa::path(
    post, path = "/api/v1/simulator/reactions", tag = "simulator",
    request_body = ReactBody,
    responses(
        (status = 200, description = "Signed and accepted by `POST /webhooks/whatsapp` (committed)", body = SimSent),
        (status = 400, description = "`invalid_input` (no such message, not one emoji), `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: not in sandbox mode, or no such channel", body = super::openapi::ErrorResponse),
        (status = 409, description = "`no_app_secret`: nothing to sign with", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type`: the body is not JSON", body = super::openapi::ErrorResponse),
        (status = 503, description = "`unavailable`: the webhook did not accept it", body = super::openapi::ErrorResponse),
    )
)]
pub async fn react(
    state: Data,
    req: HttpRequest,
    body: super::Json<ReactBody>,
) -> Result<HttpResponse, ApiError> {
    sandbox_only(&state)?;
    let body = body.into_inner();
    let from = SimCustomer::parse(&body.from)?;
    let emoji = body.emoji.trim().to_string();
    if emoji.chars().count() > 10 || emoji.chars().any(char::is_whitespace) {
        return Err(ApiError::invalid(
            "emoji must be one emoji, or empty to take the reaction back",
        ));
    }
    let channel = pick_channel(&state, body.phone_number_id.as_deref())?;
    let target = message_wamid(&state, &channel, &from, body.message_id).await?;
    let wamid = format!("wamid.SIM{:032x}", rand::random::<u128>());
    let mut message = json!({
        "id": wamid, "timestamp": (now_ms() / 1000).to_string(), "type": "reaction",
        "reaction": {"message_id": target, "emoji": emoji},
    });
    let (field, id) = from.sender();
    message[field] = json!(id);
    let value = json!({"contacts": [from.contact(&from.label())], "messages": [message]});
    post_to_webhook(&state, &req, &channel, envelope(&channel, value)).await?;
    Ok(HttpResponse::Ok().json(SimSent {
        wamid,
        channel_id: channel.id,
        from: from.shown(),
    }))
}

/// The customer read the replies.
#[derive(Debug, Deserialize, ToSchema)]
pub struct ReadBody {
    #[serde(default)]
    phone_number_id: Option<String>,
    #[schema(pattern = "^([+ ().-]*([0-9][+ ().-]*){6,15}|@[A-Za-z0-9._]{3,35})$")]
    from: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimRead {
    /// How many replies were marked `read`.
    read: usize,
}

/// Marks the replies the customer has seen as `read`, through a signed status delivery.
#[utoipa::path(
    post, path = "/api/v1/simulator/read", tag = "simulator",
    request_body = ReadBody,
    responses(
        (status = 200, description = "A signed `read` status delivery was accepted by the webhook", body = SimRead),
        (status = 400, description = "`invalid_input`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: not in sandbox mode, or no such channel", body = super::openapi::ErrorResponse),
        (status = 409, description = "`no_app_secret`: nothing to sign with", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 503, description = "`unavailable`: the webhook did not accept it", body = super::openapi::ErrorResponse),
    )
)]
pub async fn read(
    state: Data,
    req: HttpRequest,
    body: super::Json<ReadBody>,
) -> Result<HttpResponse, ApiError> {
    sandbox_only(&state)?;
    let from = SimCustomer::parse(&body.from)?;
    let channel = pick_channel(&state, body.phone_number_id.as_deref())?;
    let (channel_id, key) = (channel.id, from.key());
    let wamids = state
        .store
        .read(move |db| history::unread_replies(db, channel_id, &key))
        .await?;
    if wamids.is_empty() {
        return Ok(HttpResponse::Ok().json(SimRead { read: 0 }));
    }
    let ts = (now_ms() / 1000).to_string();
    let statuses: Vec<Value> = wamids
        .iter()
        .map(|w| {
            let mut status = json!({"id": w, "status": "read", "timestamp": ts});
            let (field, id) = from.recipient();
            status[field] = json!(id);
            status
        })
        .collect();
    let n = statuses.len();
    post_to_webhook(
        &state,
        &req,
        &channel,
        envelope(&channel, json!({ "statuses": statuses })),
    )
    .await?;
    Ok(HttpResponse::Ok().json(SimRead { read: n }))
}

/// Where this server can be reached from itself: the address of the listener that took this
/// request (an unspecified bind address such as 0.0.0.0 becomes loopback).
fn own_address(req: &HttpRequest) -> SocketAddr {
    let mut addr = req.app_config().local_addr();
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    addr
}

/// Signs `delivery` like Meta does and POSTs it to our own webhook; the webhook's error, if
/// any, is passed on.
async fn post_to_webhook(
    state: &Data,
    req: &HttpRequest,
    channel: &ChannelRecord,
    delivery: Value,
) -> Result<(), ApiError> {
    let secret = channel
        .app_secret
        .as_deref()
        .filter(|s| !s.is_empty())
        .or(state.settings.whatsapp.app_secret.as_deref())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| {
            ApiError::conflict(
                ErrorCode::NoAppSecret,
                "the channel has no app secret to sign the delivery with",
            )
        })?;
    let raw = serde_json::to_vec(&delivery).map_err(|e| ApiError::Internal(e.into()))?;
    let header = signature::sign(secret, &raw);
    let url = format!("http://{}/webhooks/whatsapp", own_address(req));
    let client = awc::Client::builder().timeout(WEBHOOK_TIMEOUT).finish();
    let mut answer = client
        .post(url)
        .insert_header(("Content-Type", "application/json"))
        .insert_header((signature::HEADER, header))
        .send_body(raw)
        .await
        .map_err(|e| ApiError::Unavailable(format!("webhook not reached: {e}")))?;
    let status = answer.status();
    if status.is_success() {
        return Ok(());
    }
    let text = answer.body().limit(64 * 1024).await.unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&text)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(&text).into_owned());
    tracing::warn!(%status, %message, "simulated delivery refused by the webhook");
    Err(ApiError::Unavailable(format!(
        "the webhook answered {status}: {message}"
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ConversationQuery {
    /// The customer's phone number (digits), or `@username`.
    #[param(pattern = "^([+ ().-]*([0-9][+ ().-]*){6,15}|@[A-Za-z0-9._]{3,35})$")]
    from: String,
    #[serde(default)]
    phone_number_id: Option<String>,
}

/// A message as the customer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimView {
    id: i64,
    interaction_id: i64,
    /// `in` (from the customer) or `out` (from the business).
    direction: String,
    kind: String,
    text: String,
    sent_at: String,
    /// Replies: `queued`, `sent`, `delivered`, `read`, `failed`. The customer's own messages:
    /// `delivered`, or `read` once an agent looked at them (the blue ticks).
    status: Option<String>,
    error: Option<String>,
    /// The quoted message: its id in this list (null when not in it) and text.
    reply_to: Option<SimQuote>,
    reactions: Vec<SimReaction>,
    edited: bool,
    deleted: bool,
    /// The file of a media message; `url` is the simulator's (`/api/v1/simulator/media/{id}`).
    media: Option<crate::domain::media::Media>,
    /// A template message (R23): which one, and its parts as the phone shows them; `text` is
    /// the same, a line each.
    template: Option<SimTemplate>,
    /// An interactive list (R28's survey): what the customer can pick.
    interactive: Option<SimList>,
    /// For a list: the id of the row the customer picked, once they did.
    answered: Option<String>,
}

/// A template message as the customer's phone shows it. The parts are null when the template
/// is no longer in the channel's list.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimTemplate {
    name: String,
    language: String,
    header: Option<String>,
    body: Option<String>,
    footer: Option<String>,
    buttons: Vec<String>,
}

/// An interactive list message as the customer's phone shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct SimList {
    /// `list`.
    #[serde(rename = "type")]
    kind: String,
    body: String,
    /// The label of the button that opens the list.
    button: String,
    rows: Vec<SimRow>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimRow {
    id: String,
    title: String,
    description: Option<String>,
}

impl SimList {
    /// The list of a stored `{"type": "interactive", "interactive": {...}}` object.
    fn of_payload(payload: &Value) -> Option<SimList> {
        let list = payload.get("interactive")?;
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_string);
        let rows = list
            .pointer("/action/sections")?
            .as_array()?
            .iter()
            .filter_map(|s| s.get("rows")?.as_array())
            .flatten()
            .filter_map(|r| {
                Some(SimRow {
                    id: text(r.get("id"))?,
                    title: text(r.get("title"))?,
                    description: text(r.get("description")),
                })
            })
            .collect();
        Some(SimList {
            kind: text(list.get("type")).unwrap_or_else(|| "list".into()),
            body: text(list.pointer("/body/text")).unwrap_or_default(),
            button: text(list.pointer("/action/button")).unwrap_or_default(),
            rows,
        })
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimQuote {
    message_id: Option<i64>,
    text: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimReaction {
    emoji: String,
    /// `customer` (the simulated customer) or `business` (an agent).
    by: &'static str,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct SimConversation {
    from: String,
    channel: SimChannel,
    /// Oldest first (the latest 500), across the customer's interactions on the channel.
    messages: Vec<SimView>,
}

#[utoipa::path(
    get, path = "/api/v1/simulator/messages", tag = "simulator",
    params(ConversationQuery),
    responses(
        (status = 200, description = "The customer's messages and the replies, with delivery status", body = SimConversation),
        (status = 400, description = "`invalid_input`, `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: not in sandbox mode, or no such channel", body = super::openapi::ErrorResponse),
    )
)]
pub async fn conversation(
    state: Data,
    query: web::Query<ConversationQuery>,
) -> Result<HttpResponse, ApiError> {
    sandbox_only(&state)?;
    let from = SimCustomer::parse(&query.from)?;
    let channel = pick_channel(&state, query.phone_number_id.as_deref())?;
    let (channel_id, key) = (channel.id, from.key());
    let (messages, templates) = state
        .store
        .read(move |db| -> Result<_, crate::store::StoreError> {
            Ok((
                history::customer_messages(db, channel_id, &key, MAX_MESSAGES)?,
                crate::store::templates::list(db, channel_id)?,
            ))
        })
        .await?;
    let template_of = |payload: &Value| -> Option<SimTemplate> {
        let r = crate::domain::message::TemplateRef::of_payload(payload)?;
        let shown = templates
            .iter()
            .find(|t| t.name == r.name && t.language == r.language)
            .map(|t| t.shown(payload));
        Some(SimTemplate {
            header: shown.as_ref().and_then(|s| s.header.clone()),
            body: shown.as_ref().map(|s| s.body.clone()),
            footer: shown.as_ref().and_then(|s| s.footer.clone()),
            buttons: shown.map(|s| s.buttons).unwrap_or_default(),
            name: r.name,
            language: r.language,
        })
    };
    let messages: Vec<SimView> = messages
        .into_iter()
        .map(|m| SimView {
            id: m.id,
            interaction_id: m.interaction_id,
            kind: m.kind,
            text: if m.deleted { String::new() } else { m.text },
            sent_at: to_rfc3339(m.sent_at),
            status: match (m.direction.as_str(), m.read_by_business) {
                ("in", true) => Some("read".into()),
                ("in", false) => Some("delivered".into()),
                _ => m.status,
            },
            direction: m.direction,
            error: m.error,
            reply_to: m
                .reply_to
                .map(|(message_id, text)| SimQuote { message_id, text }),
            reactions: m
                .reactions
                .into_iter()
                .map(|(emoji, by_customer)| SimReaction {
                    emoji,
                    by: if by_customer { "customer" } else { "business" },
                })
                .collect(),
            edited: m.edited,
            media: m.media.filter(|_| !m.deleted).map(|mut media| {
                if media.url.is_some() {
                    let mut params = vec![("from", query.from.as_str())];
                    params.extend(
                        query
                            .phone_number_id
                            .as_deref()
                            .map(|p| ("phone_number_id", p)),
                    );
                    let qs = serde_urlencoded::to_string(&params).unwrap_or_default();
                    media.url = Some(format!("/api/v1/simulator/media/{}?{qs}", media.id));
                }
                media
            }),
            deleted: m.deleted,
            template: m.payload.as_ref().and_then(template_of),
            interactive: m.payload.as_ref().and_then(SimList::of_payload),
            answered: m
                .survey_score
                .map(|score| crate::domain::csat::row_id(m.interaction_id, score)),
        })
        .collect();
    Ok(HttpResponse::Ok().json(SimConversation {
        from: from.shown(),
        channel: channel.into(),
        messages,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wa_ids_are_digits() {
        assert_eq!(wa_id("+44 7700-900 123").unwrap(), "447700900123");
        assert!(wa_id("12345").is_err());
        assert!(wa_id("+44 77OO 900123").is_err());
        assert!(wa_id("1234567890123456").is_err());
    }

    #[test]
    fn a_username_customer_has_a_stable_bsuid_and_no_number() {
        let a = SimCustomer::parse("@Ann.B").unwrap();
        let SimCustomer::Username { username, user_id } = &a else {
            panic!("a username customer")
        };
        assert_eq!(username, "ann.b");
        assert!(
            crate::domain::contact::is_whatsapp_user_id(user_id),
            "{user_id}"
        );
        assert_eq!(a, SimCustomer::parse("@ann.b").unwrap());
        assert_ne!(a, SimCustomer::parse("@bob").unwrap());
        let m = message_value("text", "wamid.X", &a, "1", "hi", None);
        assert_eq!(m["from_user_id"], json!(user_id));
        assert!(m.get("from").is_none());
        assert_eq!(a.contact("Ann")["profile"]["username"], "ann.b");
        assert!(SimCustomer::parse("@a").is_err());
        assert!(SimCustomer::parse("@bad name").is_err());
    }

    #[test]
    fn deliveries_look_like_meta() {
        let phone = SimCustomer::Phone("4477".into());
        let m = message_value("text", "wamid.X", &phone, "1700000000", "hi", None);
        assert_eq!(m["text"]["body"], "hi");
        assert_eq!(m["type"], "text");
        assert_eq!(m["from"], "4477");
        let m = message_value(
            "image",
            "wamid.SIM0123456789abcdef",
            &phone,
            "1",
            "look",
            Some("c2hh"),
        );
        assert_eq!(m["image"]["caption"], "look");
        assert_eq!(m["image"]["id"], "sim-456789abcdef");
        assert_eq!(m["image"]["sha256"], "c2hh");
        assert_eq!(m["image"]["mime_type"], "image/png");
        let ch = ChannelRecord {
            id: 1,
            kind: "whatsapp".into(),
            name: "WA".into(),
            phone_number_id: "100".into(),
            display_phone_number: "+1 555".into(),
            queue_id: 1,
            access_token: "t".into(),
            app_secret: Some("s".into()),
            verify_token: None,
            waba_id: None,
            templates_synced_at: None,
            templates_sync_error: None,
        };
        let e = envelope(&ch, json!({"messages": [m]}));
        let value = &e["entry"][0]["changes"][0]["value"];
        assert_eq!(value["metadata"]["phone_number_id"], "100");
        let body = serde_json::to_vec(&e).unwrap();
        let parsed = crate::whatsapp::payload::parse(&body).unwrap();
        let events = crate::whatsapp::payload::events(&parsed, 0);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].messages.len(), 1);
    }
}
