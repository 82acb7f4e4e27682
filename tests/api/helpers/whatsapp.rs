//! The WhatsApp side: signed webhook deliveries to the server and the Cloud API mock it sends to.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

use super::{now_ms, now_secs, unique, TestApp, APP_SECRET, EVENT_TIMEOUT, PHONE_NUMBER_ID};

impl TestApp {
    // ---- WhatsApp webhooks -----------------------------------------------------------------

    /// POSTs raw bytes to the webhook with the given `X-Hub-Signature-256` (or none).
    pub async fn post_webhook_raw(
        &self,
        body: Vec<u8>,
        signature: Option<String>,
    ) -> reqwest::Response {
        let mut req = self
            .client
            .post(self.url("/webhooks/whatsapp"))
            .header("Content-Type", "application/json")
            .body(body);
        if let Some(sig) = signature {
            req = req.header("X-Hub-Signature-256", sig);
        }
        req.send().await.expect("POST webhook")
    }

    /// POSTs a delivery signed with the test app secret.
    pub async fn post_webhook(&self, delivery: &Value) -> reqwest::Response {
        let body = serde_json::to_vec(delivery).unwrap();
        let sig = sign(&body, APP_SECRET);
        self.post_webhook_raw(body, Some(sig)).await
    }

    /// The customer `from` (a wa_id) writes `text`; returns the wamid. Asserts 200.
    pub async fn customer_says(&self, from: &str, name: &str, text: &str) -> String {
        self.customer_says_at(from, name, text, now_secs()).await
    }

    /// As `customer_says`, with the message's WhatsApp timestamp (unix seconds).
    pub async fn customer_says_at(&self, from: &str, name: &str, text: &str, ts: i64) -> String {
        let wamid = new_wamid();
        let resp = self
            .post_webhook(&inbound_delivery(
                PHONE_NUMBER_ID,
                &[(from, name, &wamid, text, ts)],
            ))
            .await;
        let status = resp.status();
        let body = resp.text().await.unwrap_or_default();
        assert_eq!(status, 200, "webhook delivery refused: {body}");
        wamid
    }

    /// A status webhook for an outbound message, asserting 200.
    pub async fn status_update(&self, wamid: &str, status: &str, recipient: &str) {
        let resp = self
            .post_webhook(&status_delivery(wamid, status, recipient))
            .await;
        assert_eq!(resp.status(), 200, "status webhook refused");
    }

    // ---- Cloud API mock ------------------------------------------------------------------------

    /// The Cloud API accepts every message with id `wamid`.
    pub async fn cloud_api_accepts(&self, wamid: &str) {
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "messaging_product": "whatsapp",
                "contacts": [{"input": "x", "wa_id": "x"}],
                "messages": [{"id": wamid}]
            })))
            .mount(&self.cloud_api)
            .await;
    }

    /// The Cloud API accepts every message, each with a wamid of its own (wamids are unique
    /// in the store, so traffic with many sends needs this rather than `cloud_api_accepts`).
    pub async fn cloud_api_accepts_all(&self) {
        Mock::given(method("POST"))
            .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
            .respond_with(FreshWamids(AtomicU64::new(1)))
            .mount(&self.cloud_api)
            .await;
    }

    /// Requests the Cloud API mock received on the messages endpoint.
    pub async fn cloud_api_requests(&self) -> Vec<wiremock::Request> {
        self.cloud_api
            .received_requests()
            .await
            .unwrap_or_default()
            .into_iter()
            .filter(|r| r.url.path() == format!("/{PHONE_NUMBER_ID}/messages"))
            .collect()
    }

    /// The text bodies of the message requests the Cloud API mock received, in order.
    pub async fn cloud_api_texts(&self) -> Vec<String> {
        self.cloud_api_requests()
            .await
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .filter_map(|v| v["text"]["body"].as_str().map(str::to_string))
            .collect()
    }

    /// Waits until the mock has seen at least `n` message requests.
    pub async fn wait_cloud_api_requests(&self, n: usize) -> Vec<wiremock::Request> {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let reqs = self.cloud_api_requests().await;
            if reqs.len() >= n {
                return reqs;
            }
            if Instant::now() > deadline {
                panic!("the Cloud API got {} requests, expected {n}", reqs.len());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Answers every send with a fresh wamid.
struct FreshWamids(AtomicU64);

impl wiremock::Respond for FreshWamids {
    fn respond(&self, _: &wiremock::Request) -> ResponseTemplate {
        let n = self.0.fetch_add(1, Ordering::Relaxed);
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "messages": [{"id": format!("wamid.OUT{}x{n}", now_ms())}]
        }))
    }
}

/// The customer `from` writes `text` to the channel with `phone_number_id`. Asserts 200.
pub async fn customer_says_on(
    app: &TestApp,
    phone_number_id: &str,
    from: &str,
    name: &str,
    text: &str,
) -> String {
    let wamid = new_wamid();
    let resp = app
        .post_webhook(&inbound_delivery(
            phone_number_id,
            &[(from, name, &wamid, text, now_secs())],
        ))
        .await;
    assert_eq!(resp.status(), 200, "webhook delivery refused");
    wamid
}

// ---------------------------------------------------------------------------------------------
// Meta-shaped payloads and signatures
// ---------------------------------------------------------------------------------------------

pub fn new_wamid() -> String {
    format!("wamid.TEST{}x{}", now_secs(), unique())
}

/// `sha256=<hex HMAC-SHA256(body, secret)>`
pub fn sign(body: &[u8], secret: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// A delivery with text messages `(from, name, wamid, text, unix_ts)`, all in one change.
pub fn inbound_delivery(phone_number_id: &str, msgs: &[(&str, &str, &str, &str, i64)]) -> Value {
    let mut contacts: Vec<Value> = Vec::new();
    for (from, name, ..) in msgs {
        if !contacts.iter().any(|c| c["wa_id"] == json!(from)) {
            contacts.push(json!({"profile": {"name": name}, "wa_id": from}));
        }
    }
    let messages: Vec<Value> = msgs
        .iter()
        .map(|(from, _, wamid, text, ts)| {
            json!({
                "from": from,
                "id": wamid,
                "timestamp": ts.to_string(),
                "type": "text",
                "text": {"body": text}
            })
        })
        .collect();
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": phone_number_id},
        "contacts": contacts,
        "messages": messages,
    }))
}

/// A status webhook for one outbound message.
pub fn status_delivery(wamid: &str, status: &str, recipient: &str) -> Value {
    let mut st = json!({
        "id": wamid,
        "status": status,
        "timestamp": now_secs().to_string(),
        "recipient_id": recipient,
    });
    if status == "failed" {
        st["errors"] = json!([{"code": 131026, "title": "Message undeliverable"}]);
    }
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
        "statuses": [st],
    }))
}

pub fn envelope(value: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": value}]}]
    })
}

/// A delivery of one text message from a customer known by any of: number (`from`, `wa_id`),
/// business-scoped user id (`from_user_id`, `user_id`) and username (R21).
pub fn identity_delivery(
    phone: Option<&str>,
    user_id: Option<&str>,
    username: Option<&str>,
    name: &str,
    wamid: &str,
    text: &str,
) -> Value {
    let mut contact = json!({"profile": {"name": name}});
    let mut message = json!({
        "id": wamid,
        "timestamp": now_secs().to_string(),
        "type": "text",
        "text": {"body": text}
    });
    if let Some(p) = phone {
        contact["wa_id"] = json!(p);
        message["from"] = json!(p);
    }
    if let Some(u) = user_id {
        contact["user_id"] = json!(u);
        message["from_user_id"] = json!(u);
    }
    if let Some(u) = username {
        contact["profile"]["username"] = json!(u);
    }
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [contact],
        "messages": [message],
    }))
}

/// Meta's notice that a customer changed number (`user_changed_number`, with the new number
/// and BSUID) or BSUID (`user_changed_user_id`).
pub fn identity_change_delivery(
    kind: &str,
    from: (Option<&str>, Option<&str>),
    new_phone: Option<&str>,
    new_user_id: &str,
    previous_user_id: Option<&str>,
) -> Value {
    let mut system = json!({"body": "changed", "type": kind, "user_id": new_user_id});
    if let Some(p) = new_phone {
        system["wa_id"] = json!(p);
    }
    if let Some(p) = previous_user_id {
        system["previous_user_id"] = json!(p);
    }
    let mut message = json!({
        "id": new_wamid(),
        "timestamp": now_secs().to_string(),
        "type": "system",
        "system": system
    });
    if let Some(p) = from.0 {
        message["from"] = json!(p);
    }
    if let Some(u) = from.1 {
        message["from_user_id"] = json!(u);
    }
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
        "messages": [message],
    }))
}
