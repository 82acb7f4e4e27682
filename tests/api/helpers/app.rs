//! The server under test: a `switchboard` child process with its own database, plain HTTP and login.

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use wiremock::MockServer;

use super::{json_ok, ADMIN_PASSWORD, ADMIN_USERNAME, APP_SECRET, VERIFY_TOKEN};

// ---------------------------------------------------------------------------------------------
// Configuration of the spawned binary
// ---------------------------------------------------------------------------------------------

/// Environment of the spawned binary. `set("routing.no_answer_status", "rona")` becomes
/// `SWITCHBOARD__ROUTING__NO_ANSWER_STATUS=rona`; `env` sets any variable verbatim.
#[derive(Debug, Clone, Default)]
pub struct TestConfig {
    pub env: BTreeMap<String, String>,
    /// A program that starts the server as its child (`litestream replicate -exec`): its
    /// words, in which `{server}` stands for the server's path (appended when none has it).
    pub launcher: Vec<String>,
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

    /// Starts the server under `words`: `["litestream", "replicate", "-config", PATH, "-exec",
    /// "{server} serve"]`.
    pub fn launch_under(&mut self, words: &[&str]) -> &mut Self {
        self.launcher = words.iter().map(|w| w.to_string()).collect();
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
    /// `media.path`: where the server keeps media files (R22).
    pub media_path: PathBuf,
    env: BTreeMap<String, String>,
    launcher: Vec<String>,
    child: Option<Child>,
    stderr_tail: Arc<Mutex<String>>,
    /// Every stderr line, kept only when the test set `RUST_LOG` itself (log audits).
    full_log: Arc<Mutex<String>>,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(|_| {}).await
    }

    pub async fn spawn_with(configure: impl FnOnce(&mut TestConfig)) -> TestApp {
        let dir = tempfile::tempdir().expect("tempdir");
        let db_path = dir.path().join("sb.db");
        let media_path = dir.path().join("media");
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
            .set("media.path", media_path.display())
            .set("media.retry_base_ms", 50)
            .set("media.retry_max_ms", 200)
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
        let media_path = cfg
            .env
            .get("SWITCHBOARD__MEDIA__PATH")
            .map(PathBuf::from)
            .unwrap_or(media_path);

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
            media_path,
            env: cfg.env,
            launcher: cfg.launcher,
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
        let server = env!("CARGO_BIN_EXE_switchboard");
        let mut cmd = match self.launcher.split_first() {
            None => Command::new(server),
            Some((program, words)) => {
                let mut c = Command::new(program);
                c.args(words.iter().map(|w| w.replace("{server}", server)));
                if !words.iter().any(|w| w.contains("{server}")) {
                    c.arg(server);
                }
                // Loopback object storage over plain HTTP: no CA bundle of the host's (the AWS
                // SDK inside Litestream refuses to start with one it cannot apply).
                c.env_remove("AWS_CA_BUNDLE");
                c
            }
        };
        // A process group of its own: `kill9` takes the launcher and the server together.
        cmd.process_group(0);
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

    /// SIGKILL to the server and its launcher at once: no graceful shutdown, no flush.
    pub async fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            kill_group(&child);
            child.kill().await.expect("kill -9");
            let _ = child.wait().await;
        }
    }

    /// Changes the environment or launcher of the next start (another machine's folders).
    pub fn reconfigure(&mut self, configure: impl FnOnce(&mut TestConfig)) {
        let mut cfg = TestConfig {
            env: std::mem::take(&mut self.env),
            launcher: std::mem::take(&mut self.launcher),
        };
        configure(&mut cfg);
        self.env = cfg.env;
        self.launcher = cfg.launcher;
        if let Some(db) = self.env.get("SWITCHBOARD__DATABASE__PATH") {
            self.db_path = PathBuf::from(db);
        }
        if let Some(media) = self.env.get("SWITCHBOARD__MEDIA__PATH") {
            self.media_path = PathBuf::from(media);
        }
    }

    /// Starts the server (after `kill9`), as `restart` does.
    pub async fn start(&mut self) {
        self.start_process().await;
    }

    /// The folder of this test's files (the database and media under it by default).
    pub fn dir(&self) -> &std::path::Path {
        self._dir.path()
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
}

/// SIGKILL to the child's whole process group (the launcher's child with it).
fn kill_group(child: &Child) {
    if let Some(pid) = child.id() {
        // SAFETY: killpg only sends a signal; the group is the one the child leads.
        unsafe {
            libc::killpg(pid as libc::pid_t, libc::SIGKILL);
        }
    }
}

impl Drop for TestApp {
    /// A failing test shows what the server logged (warnings and errors; everything with TEST_LOG).
    fn drop(&mut self) {
        if let Some(child) = &self.child {
            kill_group(child);
        }
        if std::thread::panicking() && std::env::var_os("TEST_LOG").is_none() {
            let log = self.server_log();
            if !log.trim().is_empty() {
                eprintln!("---- switchboard stderr (tail) ----\n{log}");
            }
        }
    }
}
