//! The outbound sender (R6): agents' messages wait in the `outbox` table until the Cloud API
//! answers for good. Oldest first, at most `max_in_flight` requests at once, one at a time per
//! interaction (a message waiting for a retry holds back the later ones, so a conversation keeps
//! its order). Network errors, 5xx and rate limits are retried with backoff; other 4xx fail the
//! message. Rows left from before a crash are sent on start (at least once).

use crate::configuration::Settings;
use crate::domain::customer::Recipient;
use crate::domain::media::takes_caption;
use crate::domain::MessageKind;
use crate::domain::{time::now_ms, MessageStatus};
use crate::media_files::MediaFiles;
pub use crate::store::outbox::Finish;
use crate::store::outbox::{self as queued, DueMessage, DueState, OutboundMedia};
use crate::store::Store;
use crate::whatsapp::payload::ApiErrorDetail;
use actix::prelude::*;
use actix_web::web;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How often due rows are looked for without a [`Kick`] (retries come due this way).
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How long to wait before retrying bookkeeping that failed to commit.
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Largest Cloud API answer read.
const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// Cloud API error codes that mean "slow down", retried like a 429.
const THROTTLE_CODES: &[i64] = &[4, 80007, 130429, 131056];

/// Told after each status change of an outbound message: (interaction, message, status, error).
pub type Notify = Arc<dyn Fn(i64, i64, MessageStatus, Option<String>) + Send + Sync>;

/// New outbox rows were committed: look for work now rather than at the next poll.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick;

pub struct Outbox {
    files: MediaFiles,
    store: Store,
    settings: Arc<Settings>,
    notify: Notify,
    client: Option<awc::Client>,
    /// Interactions whose head message is on its way (request or bookkeeping not yet committed).
    busy: HashSet<i64>,
    scanning: bool,
    rescan: bool,
    /// Interactions settled while a scan was reading: that scan may have seen their old rows,
    /// so they stay busy until it is done.
    release_after_scan: Vec<i64>,
}

impl Outbox {
    pub fn new(store: Store, settings: Arc<Settings>, files: MediaFiles, notify: Notify) -> Self {
        Outbox {
            store,
            settings,
            files,
            notify,
            client: None,
            busy: HashSet::new(),
            scanning: false,
            rescan: false,
            release_after_scan: Vec::new(),
        }
    }

    fn max_in_flight(&self) -> usize {
        self.settings.whatsapp.max_in_flight.max(1)
    }

    /// Reads the due head rows and starts as many as capacity allows.
    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.scanning {
            self.rescan = true;
            return;
        }
        if self.busy.len() >= self.max_in_flight() {
            return; // a settling send pumps again
        }
        self.scanning = true;
        let limit = (self.max_in_flight() + self.busy.len()) as i64;
        let store = self.store.clone();
        let now = now_ms();
        let read = async move { store.read(move |db| queued::due(db, now, limit)).await };
        ctx.spawn(read.into_actor(self).map(|result, act, ctx| {
            act.scanning = false;
            match result {
                Ok(jobs) => {
                    for job in jobs {
                        if act.busy.len() >= act.max_in_flight() {
                            break;
                        }
                        if act.busy.insert(job.interaction_id) {
                            act.start(job, ctx);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "outbox scan failed"),
            }
            for id in std::mem::take(&mut act.release_after_scan) {
                act.busy.remove(&id);
            }
            if std::mem::take(&mut act.rescan) {
                act.pump(ctx);
            }
        }));
    }

    fn start(&mut self, job: DueMessage, ctx: &mut Context<Self>) {
        match job.state {
            DueState::MessageGone => return self.settle(job, Finish::Drop, ctx),
            DueState::ChannelGone => {
                return self.settle(job, Finish::Failed("channel deleted".into()), ctx)
            }
            DueState::Ready => {}
        }
        if self.settings.whatsapp.sandbox {
            return self.settle(job, Finish::Sandbox, ctx);
        }
        let client = self
            .client
            .get_or_insert_with(|| build_client(&self.settings))
            .clone();
        let base = self
            .settings
            .whatsapp
            .graph_base_url
            .trim_end_matches('/')
            .to_string();
        let url = format!("{base}/{}/messages", job.phone_number_id);
        let Some(to) = job.to.as_ref() else {
            let reason = "the customer has neither a phone number nor a user id".to_string();
            return self.settle(job, Finish::Failed(reason), ctx);
        };
        let mut body = SendText::new(to, &job.text);
        body.context = job
            .reply_to_wamid
            .as_deref()
            .map(|message_id| ReplyContext { message_id });
        let mut text_body = serde_json::to_value(body).unwrap_or(serde_json::Value::Null);
        if let Some(payload) = &job.payload {
            text_body = with_payload(text_body, payload);
        }
        let timeout = Duration::from_millis(self.settings.whatsapp.request_timeout_ms);
        let upload = job.media.clone().map(|media| Upload {
            client: client.clone(),
            url: format!("{base}/{}/media", job.phone_number_id),
            token: job.access_token.clone(),
            files: self.files.clone(),
            store: self.store.clone(),
            timeout,
            media,
        });
        let token = job.access_token.clone();
        let call = async move {
            let body = match upload {
                None => text_body,
                Some(upload) => match upload.media_id().await {
                    Ok(wa_media_id) => with_media(text_body, &upload.media, &wa_media_id),
                    Err(finish) => return finish,
                },
            };
            post(&client, &url, &token, timeout, &body).await
        };
        ctx.spawn(
            call.into_actor(self)
                .map(move |finish, act, ctx| act.settle(job, finish, ctx)),
        );
    }

    /// Commits the outcome, then notifies and frees the interaction. Bookkeeping that fails to
    /// commit is retried (the interaction stays busy meanwhile), so an answered message is
    /// never sent again while this process runs.
    fn settle(&mut self, job: DueMessage, finish: Finish, ctx: &mut Context<Self>) {
        let now = now_ms();
        let wa = &self.settings.whatsapp;
        let retry_at = now
            + backoff_ms(
                job.attempts,
                wa.retry_base_ms,
                wa.retry_max_ms,
                rand::random::<f64>(),
            ) as i64;
        crate::metrics::outbox_attempt(match &finish {
            Finish::Sent(_) | Finish::Sandbox => "sent",
            Finish::Retry(_) => "retry",
            Finish::Failed(_) => "failed",
            Finish::Drop => "dropped",
        });
        match &finish {
            Finish::Retry(reason) => tracing::warn!(
                message_id = job.message_id, attempts = job.attempts + 1, %reason,
                "outbound message will be retried"
            ),
            Finish::Failed(error) => {
                tracing::warn!(message_id = job.message_id, %error, "outbound message failed")
            }
            _ => {}
        }
        let store = self.store.clone();
        let (message_id, f) = (job.message_id, finish.clone());
        let write = async move {
            store
                .write(move |db| queued::settle(db, message_id, &f, now, retry_at))
                .await
        };
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| match result {
            Ok(changes) => {
                for (status, error) in changes {
                    (act.notify)(job.interaction_id, job.message_id, status, error);
                }
                act.release(job.interaction_id, ctx);
            }
            Err(e) => {
                tracing::error!(error = %e, message_id = job.message_id, "outbox bookkeeping failed; retrying");
                ctx.run_later(STORE_RETRY, move |act, ctx| act.settle(job, finish, ctx));
            }
        }));
    }

    fn release(&mut self, interaction_id: i64, ctx: &mut Context<Self>) {
        if self.scanning {
            self.release_after_scan.push(interaction_id);
            self.rescan = true;
        } else {
            self.busy.remove(&interaction_id);
            self.pump(ctx);
        }
    }
}

impl Actor for Outbox {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        if !self.settings.whatsapp.sandbox {
            self.client = Some(build_client(&self.settings));
        }
        ctx.run_interval(POLL_EVERY, |act, ctx| act.pump(ctx));
        // Rows left from before a restart are due already.
        self.pump(ctx);
    }
}

impl Handler<Kick> for Outbox {
    type Result = ();
    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        self.pump(ctx);
    }
}

pub(crate) fn build_client(settings: &Settings) -> awc::Client {
    // rustls needs a process-wide crypto provider before the first TLS config; losing a race
    // to another installer is fine.
    let _ = rustls::crypto::ring::default_provider().install_default();
    awc::Client::builder()
        .timeout(Duration::from_millis(settings.whatsapp.request_timeout_ms))
        .finish()
}

/// The Cloud API's text message body, fields in the documented order.
#[derive(Debug, Serialize)]
struct SendText<'a> {
    messaging_product: &'static str,
    recipient_type: &'static str,
    /// The customer's number (`+` and digits) when known...
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
    /// ...else their business-scoped user id (R21).
    #[serde(skip_serializing_if = "Option::is_none")]
    recipient: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    text: SendTextBody<'a>,
    /// The message this one answers (R24), shown quoted to the customer.
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<ReplyContext<'a>>,
}

#[derive(Debug, Serialize)]
struct ReplyContext<'a> {
    message_id: &'a str,
}

#[derive(Debug, Serialize)]
struct SendTextBody<'a> {
    preview_url: bool,
    body: &'a str,
}

impl<'a> SendText<'a> {
    fn new(to: &Recipient, text: &'a str) -> Self {
        let (to, recipient) = addressed(to);
        SendText {
            messaging_product: "whatsapp",
            recipient_type: "individual",
            to,
            recipient,
            kind: "text",
            text: SendTextBody {
                preview_url: false,
                body: text,
            },
            context: None,
        }
    }
}

/// The `to` and `recipient` fields of a send: the number when known, else the BSUID (R21).
fn addressed(to: &Recipient) -> (Option<String>, Option<String>) {
    match to {
        Recipient::Phone(p) => (Some(format!("+{}", p.trim().trim_start_matches('+'))), None),
        Recipient::UserId(u) => (None, Some(u.clone())),
    }
}

/// A media message (R22): the text message's envelope, recipient and all, with the media
/// object in place of `text`: `{"type": "image", "image": {"id", "caption"}}`, a document
/// with its `filename`, audio and stickers without a caption.
fn with_media(
    mut body: serde_json::Value,
    media: &OutboundMedia,
    wa_media_id: &str,
) -> serde_json::Value {
    let kind = media.kind.as_str();
    let mut object = serde_json::json!({ "id": wa_media_id });
    if let Some(caption) = media
        .caption
        .as_deref()
        .filter(|c| takes_caption(media.kind) && !c.trim().is_empty())
    {
        object["caption"] = caption.into();
    }
    if let Some(name) = media
        .filename
        .as_deref()
        .filter(|_| media.kind == MessageKind::Document)
    {
        object["filename"] = name.into();
    }
    if let Some(map) = body.as_object_mut() {
        map.remove("text");
        map.insert("type".into(), kind.into());
        map.insert(kind.into(), object);
    }
    body
}

/// A template (R23) or interactive (R28) message: the text message's envelope with the
/// stored object (`type` and its field) in place of `text`.
fn with_payload(mut body: serde_json::Value, payload: &serde_json::Value) -> serde_json::Value {
    if let (Some(map), Some(fields)) = (body.as_object_mut(), payload.as_object()) {
        map.remove("text");
        for (k, v) in fields {
            map.insert(k.clone(), v.clone());
        }
    }
    body
}

/// Uploading an attachment to Meta (`POST {graph_base_url}/{phone_number_id}/media`, multipart
/// `file`, `type`, `messaging_product`) before its message is sent.
struct Upload {
    client: awc::Client,
    url: String,
    token: String,
    files: MediaFiles,
    store: Store,
    timeout: Duration,
    media: OutboundMedia,
}

impl Upload {
    /// Meta's id of the file: the one kept from an earlier try, or a new upload's (kept before
    /// the send, so a retried send never uploads again).
    async fn media_id(&self) -> Result<String, Finish> {
        if let Some(id) = self.media.wa_media_id.clone().filter(|id| !id.is_empty()) {
            return Ok(id);
        }
        let id = self.upload().await?;
        let (media_id, kept) = (self.media.media_id, id.clone());
        self.store
            .write(move |db| crate::store::media::record_upload(db, media_id, &kept, now_ms()))
            .await
            .map_err(|e| Finish::Retry(format!("the upload's id could not be kept: {e}")))?;
        Ok(id)
    }

    async fn upload(&self) -> Result<String, Finish> {
        use actix_web::body::SizedStream;
        use futures_util::StreamExt;
        let missing = || Finish::Failed("the attachment's file is missing".into());
        let opened = match self.files.open(&self.media.file).await {
            Ok(Some(opened)) => opened,
            Ok(None) => return Err(missing()),
            Err(e) => return Err(Finish::Retry(format!("reading the attachment: {e}"))),
        };
        let size = opened.len;
        let boundary = format!("switchboard-{:032x}", rand::random::<u128>());
        let name = self
            .media
            .filename
            .as_deref()
            .unwrap_or("file")
            .replace(['"', '\\', '\r', '\n'], "_");
        let head = format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\nwhatsapp\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\n{mime}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{name}\"\r\n\
             Content-Type: {mime}\r\n\r\n",
            mime = self.media.mime_type,
        );
        let tail = format!("\r\n--{boundary}--\r\n");
        let length = head.len() as u64 + size + tail.len() as u64;
        let chunks = opened.chunks;
        let body = futures_util::stream::once(async move { Ok(web::Bytes::from(head)) })
            .chain(chunks)
            .chain(futures_util::stream::once(async move {
                Ok::<_, std::io::Error>(web::Bytes::from(tail))
            }));
        // A large file gets time to travel: at least 256 KiB a second on top of the timeout.
        let timeout = self.timeout + Duration::from_secs(size / (256 * 1024));
        let answer = self
            .client
            .post(&self.url)
            .bearer_auth(&self.token)
            .timeout(timeout)
            .insert_header((
                actix_web::http::header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={boundary}"),
            ))
            .send_body(SizedStream::new(length, body.boxed_local()));
        let mut answer = answer
            .await
            .map_err(|e| Finish::Retry(format!("upload failed: {e}")))?;
        let status = answer.status().as_u16();
        let bytes =
            answer.body().limit(MAX_ANSWER_BYTES).await.map_err(|e| {
                Finish::Retry(format!("upload: HTTP {status}, answer unreadable: {e}"))
            })?;
        uploaded_id(status, &bytes)
    }
}

/// Reads the Cloud API's answer to an upload: `{"id"}`, or an error classified like a send's.
pub fn uploaded_id(status: u16, body: &[u8]) -> Result<String, Finish> {
    if (200..300).contains(&status) {
        #[derive(Deserialize)]
        struct Uploaded {
            id: Option<serde_json::Value>,
        }
        let id = serde_json::from_slice::<Uploaded>(body)
            .ok()
            .and_then(|u| u.id)
            .and_then(|id| match id {
                serde_json::Value::String(s) if !s.is_empty() => Some(s),
                serde_json::Value::Number(n) => Some(n.to_string()),
                _ => None,
            });
        return id.ok_or_else(|| Finish::Retry("the upload's answer had no id".into()));
    }
    Err(match classify(status, body) {
        Finish::Failed(text) => Finish::Failed(format!("upload refused: {text}")),
        Finish::Retry(text) => Finish::Retry(format!("upload: {text}")),
        other => other,
    })
}

/// POSTs `body` to the Cloud API and reads the answer (messages, reactions, read receipts).
pub(crate) async fn post(
    client: &awc::Client,
    url: &str,
    token: &str,
    timeout: Duration,
    body: &impl Serialize,
) -> Finish {
    let request = client
        .post(url)
        .bearer_auth(token)
        .timeout(timeout)
        .send_json(body);
    match request.await {
        Ok(mut answer) => {
            let status = answer.status().as_u16();
            match answer.body().limit(MAX_ANSWER_BYTES).await {
                Ok(bytes) => classify(status, &bytes),
                // Accepted but unreadable: it was sent, never send it again.
                Err(_) if (200..300).contains(&status) => Finish::Sent(None),
                Err(e) => Finish::Retry(format!("HTTP {status}, answer unreadable: {e}")),
            }
        }
        Err(e) => Finish::Retry(format!("request failed: {e}")),
    }
}

/// Reads the Cloud API's answer to a send.
pub fn classify(status: u16, body: &[u8]) -> Finish {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        messages: Vec<SentId>,
        #[serde(default)]
        error: Option<ApiErrorDetail>,
    }
    #[derive(Deserialize)]
    struct SentId {
        #[serde(default)]
        id: Option<String>,
    }
    let answer: Option<Answer> = serde_json::from_slice(body).ok();
    if (200..300).contains(&status) {
        let wamid = answer
            .and_then(|a| a.messages.into_iter().next())
            .and_then(|m| m.id)
            .filter(|id| !id.is_empty());
        return Finish::Sent(wamid);
    }
    let error = answer.and_then(|a| a.error);
    let code = error.as_ref().and_then(|e| e.code);
    let text = error
        .map(|e| e.describe())
        .unwrap_or_else(|| format!("HTTP {status}"));
    let throttled = code.is_some_and(|c| THROTTLE_CODES.contains(&c));
    if status == 429 || throttled || !(400..500).contains(&status) {
        Finish::Retry(format!("HTTP {status}: {text}"))
    } else {
        Finish::Failed(text)
    }
}

/// `min(base * 2^attempts, max)`, spread by ±20% (`jitter` in [0, 1)) so retries of many
/// messages do not all land at once, and never past the maximum.
pub fn backoff_ms(attempts: u32, base_ms: u64, max_ms: u64, jitter: f64) -> u64 {
    let factor = 1u64.checked_shl(attempts.min(63)).unwrap_or(u64::MAX);
    let delay = base_ms.saturating_mul(factor).min(max_ms);
    let spread = delay as f64 * (0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    (spread as u64).min(max_ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        let mid = 0.5; // no spread
        assert_eq!(backoff_ms(0, 1000, 60_000, mid), 1000);
        assert_eq!(backoff_ms(1, 1000, 60_000, mid), 2000);
        assert_eq!(backoff_ms(5, 1000, 60_000, mid), 32_000);
        assert_eq!(backoff_ms(6, 1000, 60_000, mid), 60_000);
        assert_eq!(backoff_ms(200, 1000, 60_000, mid), 60_000);
        assert_eq!(backoff_ms(0, 1000, 60_000, 0.0), 800);
        assert_eq!(backoff_ms(0, 1000, 60_000, 0.999_999), 1199);
        assert_eq!(
            backoff_ms(10, 1000, 60_000, 0.999_999),
            60_000,
            "never past the max"
        );
        assert_eq!(backoff_ms(u32::MAX, u64::MAX, u64::MAX, 0.5), u64::MAX);
    }

    #[test]
    fn answers_are_classified() {
        assert_eq!(
            classify(
                200,
                br#"{"messaging_product":"whatsapp","contacts":[{"input":"+1","wa_id":"1"}],"messages":[{"id":"wamid.X"}]}"#
            ),
            Finish::Sent(Some("wamid.X".into()))
        );
        assert_eq!(classify(200, b"not json"), Finish::Sent(None));
        assert!(matches!(classify(500, b"{}"), Finish::Retry(_)));
        assert!(matches!(classify(503, b""), Finish::Retry(_)));
        assert!(matches!(classify(429, b""), Finish::Retry(_)));
        assert!(matches!(
            classify(
                400,
                br#"{"error":{"message":"(#130429) Rate limit hit","code":130429}}"#
            ),
            Finish::Retry(_)
        ));
        assert_eq!(
            classify(
                400,
                br#"{"error":{"message":"(#131030) Recipient phone number not in allowed list","type":"OAuthException",
                     "code":131030,"error_data":{"messaging_product":"whatsapp","details":"Add recipient phone number to recipient list"},
                     "fbtrace_id":"A"}}"#
            ),
            Finish::Failed(
                "(#131030) Recipient phone number not in allowed list: Add recipient phone number to recipient list".into()
            )
        );
        assert_eq!(classify(404, b"<html>"), Finish::Failed("HTTP 404".into()));
    }

    #[test]
    fn send_body_has_the_documented_shape() {
        let json = serde_json::to_string(&SendText::new(&phone("447700900001"), "Hello \"there\""))
            .unwrap();
        assert_eq!(
            json,
            r#"{"messaging_product":"whatsapp","recipient_type":"individual","to":"+447700900001","type":"text","text":{"preview_url":false,"body":"Hello \"there\""}}"#
        );
        assert_eq!(
            SendText::new(&phone("+447700900001"), "x").to.as_deref(),
            Some("+447700900001")
        );
    }

    fn phone(p: &str) -> Recipient {
        Recipient::Phone(p.into())
    }

    #[test]
    fn a_customer_without_a_number_is_sent_to_by_bsuid() {
        let json = serde_json::to_string(&SendText::new(
            &Recipient::UserId("US.13491208655302741918".into()),
            "Hi",
        ))
        .unwrap();
        assert_eq!(
            json,
            r#"{"messaging_product":"whatsapp","recipient_type":"individual","recipient":"US.13491208655302741918","type":"text","text":{"preview_url":false,"body":"Hi"}}"#
        );
    }

    fn outbound(kind: MessageKind, caption: Option<&str>, filename: Option<&str>) -> OutboundMedia {
        OutboundMedia {
            media_id: 1,
            kind,
            mime_type: "application/pdf".into(),
            file: "2026/01/x".into(),
            filename: filename.map(str::to_string),
            caption: caption.map(str::to_string),
            wa_media_id: None,
        }
    }

    #[test]
    fn a_media_body_keeps_the_text_bodys_recipient() {
        let text =
            serde_json::to_value(SendText::new(&phone("447700900001"), "Broken box")).unwrap();
        let body = with_media(
            text.clone(),
            &outbound(MessageKind::Image, Some("Broken box"), None),
            "M1",
        );
        assert_eq!(
            body,
            serde_json::json!({"messaging_product": "whatsapp", "recipient_type": "individual",
                "to": "+447700900001", "type": "image", "image": {"id": "M1", "caption": "Broken box"}})
        );
        let doc = with_media(
            text.clone(),
            &outbound(
                MessageKind::Document,
                Some("Your invoice"),
                Some("invoice.pdf"),
            ),
            "M2",
        );
        assert_eq!(
            doc["document"],
            serde_json::json!({"id": "M2", "caption": "Your invoice", "filename": "invoice.pdf"})
        );
        // Audio and stickers take no caption; only documents carry a file name.
        let audio = with_media(
            text.clone(),
            &outbound(MessageKind::Audio, Some("x"), Some("a.mp3")),
            "M3",
        );
        assert_eq!(audio["audio"], serde_json::json!({"id": "M3"}));
        let sticker = with_media(text, &outbound(MessageKind::Sticker, None, None), "M4");
        assert_eq!(
            (sticker["type"].as_str(), sticker.get("text")),
            (Some("sticker"), None)
        );
    }

    #[test]
    fn upload_answers_are_classified() {
        assert_eq!(
            uploaded_id(200, br#"{"id":"1013859600285441"}"#),
            Ok("1013859600285441".into())
        );
        assert_eq!(uploaded_id(200, br#"{"id":42}"#), Ok("42".into()));
        assert!(matches!(uploaded_id(200, b"{}"), Err(Finish::Retry(_))));
        assert!(matches!(uploaded_id(500, b""), Err(Finish::Retry(_))));
        assert!(matches!(uploaded_id(429, b""), Err(Finish::Retry(_))));
        assert_eq!(
            uploaded_id(400, br#"{"error":{"message":"(#100) Param file must be a file with one of the following types","code":100}}"#),
            Err(Finish::Failed("upload refused: (#100) Param file must be a file with one of the following types".into()))
        );
    }
}
