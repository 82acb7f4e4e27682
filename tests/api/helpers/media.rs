//! Media both ways (R22): the Cloud API's media endpoints in the mock (the lookup that gives a
//! fresh download URL each time, the download, the upload), customers' media messages, and
//! agents' attachments over HTTP.

use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wiremock::matchers::{header, method, path, path_regex};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

use super::{envelope, new_wamid, now_secs, TestApp, ACCESS_TOKEN, EVENT_TIMEOUT, PHONE_NUMBER_ID};

/// Hex sha256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Base64 sha256, as Meta's webhooks write it.
pub fn sha256_base64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(Sha256::digest(bytes))
}

/// The smallest files each kind is recognised by (their first bytes).
pub fn jpeg_bytes(len: usize) -> Vec<u8> {
    let mut b = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0x00,
    ];
    b.resize(len.max(b.len()), 0x42);
    b
}
pub fn pdf_bytes() -> Vec<u8> {
    b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n"
        .to_vec()
}
pub fn mp3_bytes() -> Vec<u8> {
    let mut b = b"ID3\x03\x00\x00\x00\x00\x00\x0a".to_vec();
    b.resize(256, 0x11);
    b
}
pub fn mp4_bytes() -> Vec<u8> {
    let mut b = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom".to_vec();
    b.resize(512, 0x22);
    b
}
pub fn webp_bytes() -> Vec<u8> {
    let mut b = b"RIFF\x24\x00\x00\x00WEBPVP8 \x18\x00\x00\x00".to_vec();
    b.resize(128, 0x33);
    b
}

/// Answers the media lookup with a fresh download URL each call (`/download/{id}/{n}`).
pub struct MediaLookup {
    pub base: String,
    pub media_id: String,
    pub mime: String,
    /// What the lookup declares (hex, or whatever a test wants).
    pub sha256: String,
    pub size: usize,
    pub calls: Arc<AtomicU64>,
}

impl Respond for MediaLookup {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "url": format!("{}/download/{}/{n}", self.base, self.media_id),
            "mime_type": self.mime,
            "sha256": self.sha256,
            "file_size": self.size.to_string(),
            "id": self.media_id,
        }))
    }
}

impl TestApp {
    /// Meta has the file `bytes` under `media_id`: the lookup (with the channel's token) gives a
    /// fresh URL each time, the download (with the same token) gives the bytes. Returns the
    /// lookup's call counter.
    pub async fn cloud_media(&self, media_id: &str, bytes: &[u8], mime: &str) -> Arc<AtomicU64> {
        self.cloud_media_declaring(media_id, bytes, mime, &sha256_hex(bytes))
            .await
    }

    /// As `cloud_media`, with the lookup declaring `sha256` (hex or base64, right or wrong).
    pub async fn cloud_media_declaring(
        &self,
        media_id: &str,
        bytes: &[u8],
        mime: &str,
        sha256: &str,
    ) -> Arc<AtomicU64> {
        let calls = Arc::new(AtomicU64::new(0));
        Mock::given(method("GET"))
            .and(path(format!("/{media_id}")))
            .and(header("authorization", format!("Bearer {ACCESS_TOKEN}")))
            .respond_with(MediaLookup {
                base: self.cloud_api.uri(),
                media_id: media_id.to_string(),
                mime: mime.to_string(),
                sha256: sha256.to_string(),
                size: bytes.len(),
                calls: calls.clone(),
            })
            .mount(&self.cloud_api)
            .await;
        Mock::given(method("GET"))
            .and(path_regex(format!("^/download/{media_id}/[0-9]+$")))
            .and(header("authorization", format!("Bearer {ACCESS_TOKEN}")))
            .respond_with(
                ResponseTemplate::new(200)
                    .insert_header("content-type", mime)
                    .set_body_bytes(bytes.to_vec()),
            )
            .mount(&self.cloud_api)
            .await;
        calls
    }

    /// Download requests the mock received for `media_id`, in order (their paths).
    pub async fn media_downloads(&self, media_id: &str) -> Vec<String> {
        let prefix = format!("/download/{media_id}/");
        self.cloud_api
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(|r| r.url.path().to_string())
            .filter(|p| p.starts_with(&prefix))
            .collect()
    }

    /// The customer sends a media message: `kind` (`image`, `document`, ...) with the media
    /// object `media` (`{id, mime_type, sha256, caption, filename}`). Returns the wamid.
    pub async fn customer_sends_media(&self, from: &str, kind: &str, media: Value) -> String {
        let wamid = new_wamid();
        let resp = self
            .post_webhook(&media_delivery(from, &wamid, kind, media))
            .await;
        assert_eq!(resp.status(), 200, "media webhook refused");
        wamid
    }

    /// The upload endpoint answers each upload with a fresh id (`uploaded-N`).
    pub async fn cloud_api_accepts_uploads(&self) {
        let n = Arc::new(AtomicU64::new(0));
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE_NUMBER_ID}/media")))
            .respond_with(move |_: &Request| {
                let i = n.fetch_add(1, Ordering::SeqCst) + 1;
                ResponseTemplate::new(200).set_body_json(json!({"id": format!("uploaded-{i}")}))
            })
            .mount(&self.cloud_api)
            .await;
    }

    /// Upload requests the mock received, in order.
    pub async fn cloud_api_uploads(&self) -> Vec<Request> {
        self.cloud_api
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == format!("/{PHONE_NUMBER_ID}/media"))
            .collect()
    }

    /// `POST /api/v1/interactions/{id}/attachments` with `file` (and `caption`).
    pub async fn attach(
        &self,
        token: &str,
        interaction_id: i64,
        bytes: Vec<u8>,
        filename: &str,
        content_type: &str,
        caption: Option<&str>,
    ) -> reqwest::Response {
        let part = reqwest::multipart::Part::bytes(bytes)
            .file_name(filename.to_string())
            .mime_str(content_type)
            .unwrap();
        let mut form = reqwest::multipart::Form::new().part("file", part);
        if let Some(c) = caption {
            form = form.text("caption", c.to_string());
        }
        self.client
            .post(self.url(&format!(
                "/api/v1/interactions/{interaction_id}/attachments"
            )))
            .bearer_auth(token)
            .multipart(form)
            .send()
            .await
            .expect("POST attachments")
    }

    /// Polls the admin view until the message with `media` of `message_id` has `state`.
    pub async fn wait_media_state(
        &self,
        interaction_id: i64,
        message_id: i64,
        state: &str,
    ) -> Value {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let i = self.get_interaction(interaction_id).await;
            let m = i["messages"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["id"] == json!(message_id))
                .cloned()
                .unwrap_or(Value::Null);
            if m["media"]["state"] == state {
                return m;
            }
            assert!(
                Instant::now() < deadline,
                "message {message_id}: media never became {state}: {m}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A delivery with one media message of `kind` from `from`.
pub fn media_delivery(from: &str, wamid: &str, kind: &str, media: Value) -> Value {
    let mut message = json!({
        "from": from, "id": wamid, "timestamp": now_secs().to_string(), "type": kind,
    });
    message[kind] = media;
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Customer"}, "wa_id": from}],
        "messages": [message],
    }))
}

/// The fields of a multipart body as (name, value) pairs, the file's value as its length.
pub fn multipart_fields(request: &Request) -> Vec<(String, String)> {
    let ct = request
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let boundary = ct
        .split("boundary=")
        .nth(1)
        .unwrap_or_else(|| panic!("no boundary in {ct}"))
        .trim_matches('"')
        .to_string();
    let body = &request.body;
    let delimiter = format!("--{boundary}").into_bytes();
    let mut fields = Vec::new();
    let mut rest: &[u8] = body;
    while let Some(start) = find(rest, &delimiter) {
        rest = &rest[start + delimiter.len()..];
        if rest.starts_with(b"--") {
            break;
        }
        let Some(head_end) = find(rest, b"\r\n\r\n") else {
            break;
        };
        let head = String::from_utf8_lossy(&rest[..head_end]).to_string();
        let content = &rest[head_end + 4..];
        let end = find(content, &delimiter).unwrap_or(content.len());
        let value = &content[..end.saturating_sub(2)];
        let name = head
            .split("name=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .unwrap_or_default()
            .to_string();
        let shown = if head.contains("filename=") {
            format!("{} bytes", value.len())
        } else {
            String::from_utf8_lossy(value).to_string()
        };
        fields.push((name, shown));
        rest = content;
    }
    fields
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
