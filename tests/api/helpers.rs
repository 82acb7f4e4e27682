//! Drives the real `switchboard` binary as a client would: a child process per test with its own
#![allow(dead_code)]
//! SQLite file, a wiremock server standing in for the WhatsApp Cloud API, HTTP helpers for the
//! admin API and webhooks, and a WebSocket client for the agent desktop protocol.

use futures_util::{SinkExt, StreamExt};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PHONE_NUMBER_ID: &str = "1234567890";
pub const DISPLAY_PHONE_NUMBER: &str = "+1 555 0100";
pub const ACCESS_TOKEN: &str = "test-access-token";

/// How long we wait for an event the server should send promptly.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A process-wide unique number (wamids, refs, names).
pub fn unique() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------------
// Configuration of the spawned binary
// ---------------------------------------------------------------------------------------------

/// Environment of the spawned binary. `set("routing.no_answer_status", "rona")` becomes
/// `SWITCHBOARD__ROUTING__NO_ANSWER_STATUS=rona`; `env` sets any variable verbatim.
#[derive(Debug, Clone, Default)]
pub struct TestConfig {
    pub env: BTreeMap<String, String>,
}

impl TestConfig {
    pub fn set(&mut self, key: &str, value: impl ToString) -> &mut Self {
        let var = format!("SWITCHBOARD__{}", key.replace('.', "__").to_uppercase());
        self.env.insert(var, value.to_string());
        self
    }

    pub fn env(&mut self, var: &str, value: impl ToString) -> &mut Self {
        self.env.insert(var.to_string(), value.to_string());
        self
    }
}

// ---------------------------------------------------------------------------------------------
// The application under test
// ---------------------------------------------------------------------------------------------

pub struct TestApp {
    /// `http://127.0.0.1:PORT`
    pub address: String,
    pub port: u16,
    /// Stands in for the WhatsApp Cloud API (`whatsapp.graph_base_url`).
    pub cloud_api: MockServer,
    pub client: reqwest::Client,
    /// The bootstrap admin's token (sessions survive restarts: they are in SQLite).
    pub admin_token: String,
    pub db_path: PathBuf,
    env: BTreeMap<String, String>,
    child: Option<Child>,
    stderr_tail: Arc<Mutex<String>>,
    /// Every stderr line, kept only when the test set `RUST_LOG` itself (log audits).
    full_log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

/// What `setup_basic` created.
#[derive(Debug, Clone)]
pub struct Basic {
    pub queue_id: i64,
    pub queue_name: String,
    pub channel_id: i64,
    pub agents: Vec<TestAgent>,
}

/// An agent account, logged in over HTTP.
#[derive(Debug, Clone)]
pub struct TestAgent {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub token: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut TestConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_path = dir.path().join("sb.db");
        let cloud_api = MockServer::start().await;

        let mut cfg = TestConfig::default();
        cfg.set("server.bind", "127.0.0.1:0")
            .set("database.path", db_path.display())
            .set("demo.enabled", false)
            .set("whatsapp.sandbox", false)
            .set("whatsapp.graph_base_url", cloud_api.uri())
            .set("whatsapp.app_secret", APP_SECRET)
            .set("whatsapp.verify_token", VERIFY_TOKEN)
            .set("whatsapp.retry_base_ms", 50)
            .set("whatsapp.retry_max_ms", 200)
            .set("auth.bootstrap_admin_username", ADMIN_USERNAME)
            .set("auth.bootstrap_admin_password", ADMIN_PASSWORD)
            .set("routing.reconnect_grace_secs", 2);
        configure(&mut cfg);
        // Tests may point the database elsewhere.
        let db_path = cfg
            .env
            .get("SWITCHBOARD__DATABASE__PATH")
            .map(PathBuf::from)
            .unwrap_or(db_path);

        let mut app = TestApp {
            address: String::new(),
            port: 0,
            cloud_api,
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            admin_token: String::new(),
            db_path,
            env: cfg.env,
            child: None,
            stderr_tail: Arc::new(Mutex::new(String::new())),
            full_log: Arc::new(Mutex::new(String::new())),
            _dir: dir,
        };
        app.start_process().await;
        let login = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
        app.admin_token = login["token"]
            .as_str()
            .unwrap_or_else(|| panic!("admin login gave no token: {login}"))
            .to_string();
        app
    }

    async fn start_process(&mut self) {
        let test_log = std::env::var_os("TEST_LOG").is_some();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.current_dir(self._dir.path())
            .env_remove("SWITCHBOARD_ENV")
            .env_remove("SWITCHBOARD_CONFIG")
            .envs(&self.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let keep_full = self.env.contains_key("RUST_LOG");
        if !test_log && !keep_full {
            cmd.env("RUST_LOG", "warn");
        }
        let mut child = cmd.spawn().expect("spawning the switchboard binary");

        // Keep the end of stderr to explain a failed start; echo it when TEST_LOG is set.
        let stderr = child.stderr.take().unwrap();
        let tail = self.stderr_tail.clone();
        tail.lock().unwrap().clear();
        let full = self.full_log.clone();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if test_log {
                    eprintln!("[switchboard] {line}");
                }
                if keep_full {
                    let mut f = full.lock().unwrap();
                    f.push_str(&line);
                    f.push('\n');
                }
                let mut t = tail.lock().unwrap();
                t.push_str(&line);
                t.push('\n');
                if t.len() > 16_000 {
                    let cut = t.len() - 8_000;
                    let cut = (cut..t.len()).find(|i| t.is_char_boundary(*i)).unwrap_or(0);
                    t.drain(..cut);
                }
            }
        });

        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let deadline = Instant::now() + Duration::from_secs(20);
        let address = loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match tokio::time::timeout(left, lines.next_line()).await {
                Ok(Ok(Some(line))) => {
                    if test_log {
                        eprintln!("[switchboard stdout] {line}");
                    }
                    if let Some(rest) = line.split("switchboard listening on ").nth(1) {
                        break rest.trim().to_string();
                    }
                }
                Ok(_) => {
                    let status = child.try_wait().ok().flatten();
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    panic!(
                        "switchboard exited before listening ({status:?}); stderr:\n{}",
                        self.stderr_tail.lock().unwrap()
                    );
                }
                Err(_) => panic!(
                    "switchboard did not print its address within 20 s; stderr:\n{}",
                    self.stderr_tail.lock().unwrap()
                ),
            }
        };
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                if test_log {
                    eprintln!("[switchboard stdout] {line}");
                }
            }
        });
        self.port = address
            .rsplit(':')
            .next()
            .and_then(|p| p.trim_end_matches('/').parse().ok())
            .unwrap_or_else(|| panic!("no port in {address:?}"));
        self.address = format!("http://127.0.0.1:{}", self.port);
        self.child = Some(child);
    }

    /// SIGKILL: no graceful shutdown, no flush.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill -9");
            let _ = child.wait().await;
        }
    }

    /// Starts the binary again on the same database and environment (a new port).
    pub async fn restart(&mut self) {
        self.kill9().await;
        self.start_process().await;
    }

    /// The server's process id (for /proc sampling), while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// True while the server process has not exited (no crash, no panic exit).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn ws_url(&self, token: &str) -> String {
        format!("ws://127.0.0.1:{}/ws/agent?token={}", self.port, token)
    }

    /// The supervisor feed's WebSocket URL for `token`.
    pub fn supervisor_url(&self, token: &str) -> String {
        format!("ws://127.0.0.1:{}/ws/supervisor?token={}", self.port, token)
    }

    /// Everything the server wrote on stderr, across restarts, when the test set `RUST_LOG`.
    pub fn full_log(&self) -> String {
        self.full_log.lock().unwrap().clone()
    }

    /// The last lines the server wrote on stderr (to explain failures).
    pub fn server_log(&self) -> String {
        self.stderr_tail.lock().unwrap().clone()
    }

    // ---- plain HTTP ----------------------------------------------------------------------

    pub async fn get(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.get(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("GET")
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.client.post(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("POST")
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> reqwest::Response {
        let mut req = self.client.patch(self.url(path)).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("PATCH")
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> reqwest::Response {
        let mut req = self.client.delete(self.url(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("DELETE")
    }

    /// GET as admin, asserting 200, returning the JSON body.
    pub async fn admin_get(&self, path: &str) -> Value {
        let resp = self.get(path, Some(&self.admin_token)).await;
        json_ok(resp, &format!("GET {path}")).await
    }

    // ---- auth ------------------------------------------------------------------------------

    pub async fn try_login(&self, username: &str, password: &str) -> reqwest::Response {
        self.post(
            "/api/v1/auth/login",
            None,
            &json!({"username": username, "password": password}),
        )
        .await
    }

    /// Logs in and returns the whole answer `{token, expires_at, user}`.
    pub async fn login(&self, username: &str, password: &str) -> Value {
        let resp = self.try_login(username, password).await;
        json_ok(resp, &format!("login as {username}")).await
    }

    // ---- admin API ---------------------------------------------------------------------------

    /// Creates a queue; `overrides` are merged over a default body.
    pub async fn create_queue(&self, overrides: Value) -> i64 {
        let mut body = json!({
            "name": format!("Queue {}", unique()),
            "offer_timeout_secs": 30,
            "wrap_up_secs": 60,
            "disposition_codes": [
                {"code": "resolved", "label": "Resolved"},
                {"code": "follow_up", "label": "Needs follow-up"}
            ],
        });
        merge(&mut body, overrides);
        let resp = self
            .post("/api/v1/queues", Some(&self.admin_token), &body)
            .await;
        id_of(json_created(resp, "create queue").await)
    }

    /// Creates an agent; `extra` is merged over `{username, password, display_name, role: agent}`.
    pub async fn create_agent(&self, username: &str, password: &str, extra: Value) -> i64 {
        let mut body = json!({
            "username": username,
            "password": password,
            "display_name": display_name_of(username),
            "role": "agent",
        });
        merge(&mut body, extra);
        let resp = self
            .post("/api/v1/agents", Some(&self.admin_token), &body)
            .await;
        id_of(json_created(resp, "create agent").await)
    }

    /// Creates the WhatsApp channel (phone_number_id 1234567890) feeding `queue_id`.
    pub async fn create_channel(&self, queue_id: i64) -> i64 {
        self.create_channel_with(queue_id, json!({})).await
    }

    pub async fn create_channel_with(&self, queue_id: i64, extra: Value) -> i64 {
        let mut body = json!({
            "kind": "whatsapp",
            "name": "Support line",
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": DISPLAY_PHONE_NUMBER,
            "queue_id": queue_id,
            "access_token": ACCESS_TOKEN,
        });
        merge(&mut body, extra);
        let resp = self
            .post("/api/v1/channels", Some(&self.admin_token), &body)
            .await;
        id_of(json_created(resp, "create channel").await)
    }

    /// Creates and logs in an agent that is a member of `queues`.
    pub async fn new_agent(&self, queues: &[i64], extra: Value) -> TestAgent {
        let username = format!("agent{}", unique());
        let password = format!("pw-{username}-secret");
        let mut body = json!({ "queues": queues });
        merge(&mut body, extra);
        let id = self.create_agent(&username, &password, body).await;
        let login = self.login(&username, &password).await;
        TestAgent {
            id,
            username,
            password,
            token: login["token"].as_str().expect("agent token").to_string(),
        }
    }

    /// A queue (defaults merged with `queue_overrides`), `n_agents` member agents (logged in
    /// over HTTP, not connected) and the channel feeding the queue.
    pub async fn setup_basic(&self, n_agents: usize, queue_overrides: Value) -> Basic {
        self.setup_basic_with(n_agents, queue_overrides, json!({}))
            .await
    }

    /// As `setup_basic`, with `agent_extra` merged into every agent's creation body.
    pub async fn setup_basic_with(
        &self,
        n_agents: usize,
        queue_overrides: Value,
        agent_extra: Value,
    ) -> Basic {
        let queue_name = format!("Support {}", unique());
        let mut q = json!({ "name": queue_name });
        merge(&mut q, queue_overrides);
        let queue_name = q["name"].as_str().unwrap().to_string();
        let queue_id = self.create_queue(q).await;
        let mut agents = Vec::new();
        for _ in 0..n_agents {
            agents.push(self.new_agent(&[queue_id], agent_extra.clone()).await);
        }
        let channel_id = self.create_channel(queue_id).await;
        Basic {
            queue_id,
            queue_name,
            channel_id,
            agents,
        }
    }

    pub async fn get_interaction(&self, id: i64) -> Value {
        self.admin_get(&format!("/api/v1/interactions/{id}")).await
    }

    /// Lists interactions (admin); accepts `{"items": [...]}` or a bare array.
    pub async fn list_interactions(&self, query: &str) -> Vec<Value> {
        let v = self
            .admin_get(&format!("/api/v1/interactions{query}"))
            .await;
        items_of(v)
    }

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

    // ---- agent desktop ---------------------------------------------------------------------------

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

/// What each open descriptor of process `pid` points to (`socket:[…]`, a path, `anon_inode:…`),
/// sorted; empty once the process is gone.
pub fn open_descriptors(pid: u32) -> Vec<String> {
    let mut targets: Vec<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|t| t.to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    targets.sort();
    targets
}

pub fn is_socket(target: &str) -> bool {
    target.starts_with("socket:")
}

// ---------------------------------------------------------------------------------------------
// Agent WebSocket client
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Small JSON helpers
// ---------------------------------------------------------------------------------------------

/// Shallow-merges the keys of `extra` into `base`.
pub fn merge(base: &mut Value, extra: Value) {
    if let (Some(b), Value::Object(e)) = (base.as_object_mut(), extra) {
        for (k, v) in e {
            b.insert(k, v);
        }
    }
}

pub fn display_name_of(username: &str) -> String {
    format!("Agent {username}")
}

pub fn id_of(v: Value) -> i64 {
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("expected an integer `id` in {v}"))
}

/// A list answer: a bare array, or an object with `items` (or `data`).
pub fn items_of(v: Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a,
        Value::Object(mut o) => match o.remove("items").or_else(|| o.remove("data")) {
            Some(Value::Array(a)) => a,
            _ => panic!("expected a list, got {}", Value::Object(o)),
        },
        other => panic!("expected a list, got {other}"),
    }
}

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

fn compact(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 400 {
        format!("{}…", s.chars().take(400).collect::<String>())
    } else {
        s
    }
}

/// Parses an RFC 3339 UTC time (`2024-01-02T03:04:05[.fff]Z` or `+00:00`) to unix millis.
pub fn rfc3339_ms(s: &str) -> i64 {
    let bad = || panic!("not an RFC 3339 UTC time: {s:?}");
    let b = s.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || (b[10] != b'T' && b[10] != b't') {
        bad();
    }
    let num = |r: std::ops::Range<usize>| -> i64 { s[r].parse().unwrap_or_else(|_| bad()) };
    let (y, mo, d, h, mi, sec) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    );
    let mut rest = &s[19..];
    let mut ms = 0i64;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits: String = frac.chars().take_while(|c| c.is_ascii_digit()).collect();
        let padded = format!("{digits:0<3}");
        ms = padded[..3].parse().unwrap();
        rest = &frac[digits.len()..];
    }
    let offset_ms = match rest {
        "Z" | "z" | "+00:00" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) => {
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let hh: i64 = o[1..3].parse().unwrap_or_else(|_| bad());
            let mm: i64 = o[4..6].parse().unwrap_or_else(|_| bad());
            sign * (hh * 3600 + mm * 60) * 1000
        }
        _ => bad(),
    };
    // Days from civil (Howard Hinnant).
    let y2 = if mo <= 2 { y - 1 } else { y };
    let era = if y2 >= 0 { y2 } else { y2 - 399 } / 400;
    let yoe = y2 - era * 400;
    let mp = (mo + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146097 + doe - 719468;
    (days * 86400 + h * 3600 + mi * 60 + sec) * 1000 + ms - offset_ms
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
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

impl Drop for TestApp {
    /// A failing test shows what the server logged (warnings and errors; everything with TEST_LOG).
    fn drop(&mut self) {
        if std::thread::panicking() && std::env::var_os("TEST_LOG").is_none() {
            let log = self.server_log();
            if !log.trim().is_empty() {
                eprintln!("---- switchboard stderr (tail) ----\n{log}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Transfer, conference and interruption helpers (R15, R17–R19)
// ---------------------------------------------------------------------------------------------

/// The texts of an interaction's `messages`, in order.
pub fn message_texts(interaction: &Value) -> Vec<String> {
    interaction["messages"]
        .as_array()
        .unwrap_or_else(|| panic!("no messages in {interaction}"))
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect()
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
