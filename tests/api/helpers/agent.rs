//! The agent desktop's WebSocket client, and connecting test agents with it.

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use std::collections::VecDeque;
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use super::{unique, wait_note, TestAgent, TestApp, EVENT_TIMEOUT};

impl TestApp {
    /// Connects the agent's WebSocket (reads `hello`), without changing its status.
    pub async fn connect(&self, agent: &TestAgent) -> AgentClient {
        AgentClient::connect(&self.ws_url(&agent.token), agent.id).await
    }

    /// Connects the agent and makes it `available`.
    pub async fn agent_online(&self, agent: &TestAgent) -> AgentClient {
        let mut c = self.connect(agent).await;
        c.set_status("available").await;
        c
    }

    /// The customer writes; `agent` gets the offer and accepts it. Returns the interaction id.
    pub async fn deliver_and_accept(&self, agent: &mut AgentClient, from: &str, text: &str) -> i64 {
        self.customer_says(from, "Customer", text).await;
        let offer = agent.wait_for("offer", EVENT_TIMEOUT).await;
        let id = offer["interaction_id"]
            .as_i64()
            .expect("offer interaction_id");
        agent.accept_active(id).await;
        id
    }
}

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub struct AgentClient {
    ws: Ws,
    /// Events read but not yet consumed by a `wait_for`.
    buffer: VecDeque<Value>,
    /// Everything received, for failure messages.
    seen: Vec<String>,
    closed: bool,
    pub hello: Value,
    pub agent_id: i64,
}

impl AgentClient {
    pub async fn connect(url: &str, agent_id: i64) -> AgentClient {
        let (ws, _) = tokio::time::timeout(EVENT_TIMEOUT, tokio_tungstenite::connect_async(url))
            .await
            .expect("WebSocket connect timed out")
            .unwrap_or_else(|e| panic!("WebSocket connect to {url} failed: {e}"));
        let mut c = AgentClient {
            ws,
            buffer: VecDeque::new(),
            seen: Vec::new(),
            closed: false,
            hello: Value::Null,
            agent_id,
        };
        let first = c.next_event(EVENT_TIMEOUT).await;
        assert_eq!(
            first["type"], "hello",
            "the first frame must be hello, got {first}"
        );
        c.hello = first;
        c
    }

    pub async fn send_json(&mut self, v: Value) {
        self.send_text(v.to_string()).await;
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws
            .send(WsMessage::text(text))
            .await
            .expect("WebSocket send");
    }

    pub async fn send_binary(&mut self, bytes: Vec<u8>) {
        self.ws
            .send(WsMessage::binary(bytes))
            .await
            .expect("WebSocket send");
    }

    /// Reads the next JSON event from the socket (not the buffer). `None` on timeout or close.
    async fn read_frame(&mut self, timeout: Duration) -> Option<Value> {
        if self.closed {
            return None;
        }
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let msg = match tokio::time::timeout_at(deadline, self.ws.next()).await {
                Err(_) => return None,
                Ok(None) | Ok(Some(Err(_))) => {
                    self.closed = true;
                    return None;
                }
                Ok(Some(Ok(m))) => m,
            };
            match msg {
                WsMessage::Text(t) => {
                    let v: Value = serde_json::from_str(t.as_str())
                        .unwrap_or_else(|e| panic!("server sent non-JSON text {t:?}: {e}"));
                    self.seen.push(compact(&v));
                    if v["type"] == "pong" {
                        continue;
                    }
                    return Some(v);
                }
                WsMessage::Close(_) => {
                    self.closed = true;
                    return None;
                }
                _ => continue, // ping/pong frames: tungstenite answers pings itself
            }
        }
    }

    /// The next event (buffered first). Panics after `timeout`.
    pub async fn next_event(&mut self, timeout: Duration) -> Value {
        if let Some(v) = self.buffer.pop_front() {
            return v;
        }
        match self.read_frame(timeout).await {
            Some(v) => v,
            None => panic!(
                "agent {}: no event within {timeout:?} (closed: {}); seen: {:#?}",
                self.agent_id, self.closed, self.seen
            ),
        }
    }

    /// The next event (buffered first), or `None` after `timeout` or once closed.
    pub async fn try_next_event(&mut self, timeout: Duration) -> Option<Value> {
        if let Some(v) = self.buffer.pop_front() {
            return Some(v);
        }
        self.read_frame(timeout).await
    }

    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Waits for an event of type `ty`, keeping other events for later waits.
    pub async fn wait_for(&mut self, ty: &str, timeout: Duration) -> Value {
        self.wait_for_where(ty, timeout, |_| true).await
    }

    /// Waits for an event of type `ty` that satisfies `pred`.
    pub async fn wait_for_where(
        &mut self,
        ty: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Value {
        match self.try_wait_for_where(ty, timeout, pred).await {
            Some(v) => v,
            None => panic!(
                "agent {}: no matching `{ty}` event within {timeout:?} (closed: {}); seen: {:#?}",
                self.agent_id, self.closed, self.seen
            ),
        }
    }

    pub async fn try_wait_for_where(
        &mut self,
        ty: &str,
        timeout: Duration,
        pred: impl Fn(&Value) -> bool,
    ) -> Option<Value> {
        if let Some(pos) = self.buffer.iter().position(|e| e["type"] == ty && pred(e)) {
            return self.buffer.remove(pos);
        }
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let v = self.read_frame(left).await?;
            if v["type"] == ty && pred(&v) {
                return Some(v);
            }
            self.buffer.push_back(v);
        }
    }

    /// Asserts that no event of type `ty` arrives (or is buffered) for `duration`.
    pub async fn expect_no(&mut self, ty: &str, duration: Duration) {
        self.expect_no_where(ty, duration, |_| true).await
    }

    pub async fn expect_no_where(
        &mut self,
        ty: &str,
        duration: Duration,
        pred: impl Fn(&Value) -> bool,
    ) {
        if let Some(e) = self.buffer.iter().find(|e| e["type"] == ty && pred(e)) {
            panic!("agent {}: unexpected `{ty}` event: {e}", self.agent_id);
        }
        if let Some(e) = self.try_wait_for_where(ty, duration, &pred).await {
            panic!("agent {}: unexpected `{ty}` event: {e}", self.agent_id);
        }
    }

    /// Internal: waits for the `ack` or `error` with `reference` (other events are buffered).
    async fn reply_for(&mut self, reference: &str) -> Result<Value, Value> {
        let r = json!(reference);
        let deadline = Instant::now() + EVENT_TIMEOUT;
        loop {
            if let Some(pos) = self
                .buffer
                .iter()
                .position(|e| (e["type"] == "ack" || e["type"] == "error") && e["ref"] == r)
            {
                let e = self.buffer.remove(pos).unwrap();
                return if e["type"] == "ack" { Ok(e) } else { Err(e) };
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.read_frame(left).await {
                Some(v) => self.buffer.push_back(v),
                None => panic!(
                    "agent {}: no ack/error for ref {reference} (closed: {}); seen: {:#?}",
                    self.agent_id, self.closed, self.seen
                ),
            }
        }
    }

    /// Sends a command with a fresh `ref`; `Ok(ack)` or `Err(error event)`.
    pub async fn command(&mut self, mut v: Value) -> Result<Value, Value> {
        let reference = format!("r{}", unique());
        v["ref"] = json!(reference);
        self.send_json(v).await;
        self.reply_for(&reference).await
    }

    /// A command that must be acknowledged.
    pub async fn ok(&mut self, v: Value) -> Value {
        let what = v.to_string();
        match self.command(v).await {
            Ok(ack) => ack,
            Err(e) => panic!("agent {}: command {what} failed: {e}", self.agent_id),
        }
    }

    /// A command that must fail; returns the error code.
    pub async fn err(&mut self, v: Value) -> String {
        let what = v.to_string();
        match self.command(v).await {
            Ok(ack) => panic!(
                "agent {}: command {what} should fail, got {ack}",
                self.agent_id
            ),
            Err(e) => e["code"].as_str().unwrap_or_default().to_string(),
        }
    }

    pub async fn set_status(&mut self, status: &str) {
        self.ok(json!({"type": "set_status", "status": status}))
            .await;
    }

    pub async fn accept(&mut self, interaction_id: i64) {
        self.ok(json!({"type": "accept", "interaction_id": interaction_id}))
            .await;
    }

    /// Waits for the `interaction` event that shows `interaction_id` active.
    pub async fn wait_active(&mut self, interaction_id: i64) -> Value {
        self.wait_for_where("interaction", EVENT_TIMEOUT, |e| {
            e["id"] == json!(interaction_id) && e["state"] == "active"
        })
        .await
    }

    /// Accepts `interaction_id`; returns its `interaction` event once it is active.
    pub async fn accept_active(&mut self, interaction_id: i64) -> Value {
        self.accept(interaction_id).await;
        self.wait_active(interaction_id).await
    }

    pub async fn send_message(&mut self, interaction_id: i64, text: &str) -> Result<Value, Value> {
        self.command(json!({"type": "send", "interaction_id": interaction_id, "text": text}))
            .await
    }

    pub async fn end(&mut self, interaction_id: i64) {
        self.ok(json!({"type": "end", "interaction_id": interaction_id}))
            .await;
    }

    pub async fn wrap_up(
        &mut self,
        interaction_id: i64,
        disposition: Option<&str>,
    ) -> Result<Value, Value> {
        let mut v = json!({"type": "wrap_up", "interaction_id": interaction_id});
        if let Some(d) = disposition {
            v["disposition"] = json!(d);
        }
        self.command(v).await
    }

    /// Ends an accepted interaction and wraps it up with `resolved`: it closes and the
    /// agent's capacity is free.
    pub async fn end_and_wrap_up(&mut self, interaction_id: i64) {
        self.end(interaction_id).await;
        self.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
        self.wrap_up(interaction_id, Some("resolved"))
            .await
            .expect("wrap_up");
        self.wait_for_where("wrap_up_done", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(interaction_id)
        })
        .await;
    }

    /// Waits until the server closes the socket; true if it did within `timeout`.
    pub async fn wait_closed(&mut self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            if let Some(v) = self.read_frame(left).await {
                self.buffer.push_back(v);
            }
        }
        self.closed
    }

    /// Closes the socket from the client side (a browser tab going away).
    pub async fn close(mut self) {
        let _ = self.ws.close(None).await;
        // Let the close handshake finish so the server sees it now, not at a timeout.
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            while let Some(Ok(_)) = self.ws.next().await {}
        })
        .await;
    }
}

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 400 {
        format!("{}…", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

/// The owner invites `guest_id` to a conference on `id`; the guest gets the offer of kind
/// `conference` and accepts it; both see "<guest> joined the chat".
pub async fn invite_and_join(
    owner: &mut AgentClient,
    guest: &mut AgentClient,
    id: i64,
    guest_name: &str,
) {
    owner
        .ok(json!({"type": "conference", "interaction_id": id, "agent_id": guest.agent_id}))
        .await;
    let offer = guest
        .wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] == json!(id))
        .await;
    assert_eq!(offer["kind"], "conference", "{offer}");
    guest.accept(id).await;
    let joined = format!("{guest_name} joined the chat");
    wait_note(owner, id, &joined).await;
    wait_note(guest, id, &joined).await;
}
