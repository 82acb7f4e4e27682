//! Checks on HTTP answers, and waits on the admin views and on agent events.

use serde_json::{json, Value};
use std::time::{Duration, Instant};

use super::{items_of, AgentClient, TestApp, EVENT_TIMEOUT};

/// Asserts a 2xx answer and returns its JSON.
pub async fn json_ok(resp: reqwest::Response, what: &str) -> Value {
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert!(status.is_success(), "{what}: HTTP {status}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

/// Asserts a creation answer (200 or 201) and returns its JSON.
pub async fn json_created(resp: reqwest::Response, what: &str) -> Value {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert!(
        status == 200 || status == 201,
        "{what}: HTTP {status}: {text}"
    );
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {text}"))
}

/// Asserts the status and the `{"error": {"code", "message"}}` shape; returns the code.
pub async fn assert_error(resp: reqwest::Response, status: u16) -> String {
    let got = resp.status().as_u16();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(got, status, "unexpected status, body: {text}");
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("error body is not JSON ({e}): {text}"));
    let code = v["error"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("error body lacks error.code: {text}"));
    assert!(
        v["error"]["message"].is_string(),
        "error body lacks error.message: {text}"
    );
    code.to_string()
}

impl TestApp {
    /// Polls the admin view of an interaction until `pred` holds.
    pub async fn wait_interaction(
        &self,
        id: i64,
        what: &str,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let resp = self
                .get(
                    &format!("/api/v1/interactions/{id}"),
                    Some(&self.admin_token),
                )
                .await;
            let ok = resp.status().is_success();
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            if ok && pred(&v) {
                return v;
            }
            if Instant::now() > deadline {
                panic!("interaction {id}: timed out waiting for {what}; last seen: {v}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Polls `GET /api/v1/activities{query}` (admin) until `pred` matches one.
    pub async fn wait_activity(&self, query: &str, pred: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            let resp = self
                .get(
                    &format!("/api/v1/activities{query}"),
                    Some(&self.admin_token),
                )
                .await;
            let v: Value = resp.json().await.unwrap_or(Value::Null);
            if let Some(found) = items_of(v.clone()).into_iter().find(|a| pred(a)) {
                return found;
            }
            if Instant::now() > deadline {
                panic!("timed out waiting for an activity in /api/v1/activities{query}; last: {v}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Waits until one of `clients` gets an `offer`; returns its index and the offer.
pub async fn wait_offer_any(
    clients: &mut [&mut AgentClient],
    timeout: std::time::Duration,
) -> (usize, Value) {
    let deadline = Instant::now() + timeout;
    loop {
        for (i, c) in clients.iter_mut().enumerate() {
            if let Some(o) = c
                .try_wait_for_where("offer", Duration::from_millis(50), |_| true)
                .await
            {
                return (i, o);
            }
        }
        if Instant::now() > deadline {
            panic!("no agent got an offer within {timeout:?}");
        }
    }
}

/// Waits for a system message of interaction `id` whose text contains `needle`.
pub async fn wait_note(c: &mut AgentClient, id: i64, needle: &str) -> Value {
    let needle = needle.to_string();
    c.wait_for_where("message", EVENT_TIMEOUT, move |e| {
        e["interaction_id"] == json!(id)
            && e["message"]["direction"] == "system"
            && e["message"]["text"]
                .as_str()
                .is_some_and(|t| t.contains(&needle))
    })
    .await
}
