//! Disk faults under the real binary: the database's filesystem fills up, or the kernel turns
//! it read-only after an I/O error. The webhook must answer 5xx (so Meta retries), an agent's
//! `send` must be refused rather than acknowledged, nothing may be half-written, and the
//! service must recover: by itself when space comes back, after a restart on the repaired
//! filesystem when it went read-only.
//!
//! The faults are real: a size-limited tmpfs that a filler file fills, and an ext4 image on a
//! loop device forced read-only with `/sys/fs/ext4/<dev>/trigger_fs_error` (what the kernel
//! does by itself with `errors=remount-ro` when the disk fails). Both need root (mount); as
//! another user the tests say so and pass, unless `DISK_FAULTS_REQUIRED=1` (set by `.ci/run`).

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Root can mount; otherwise skip (or fail when CI requires these tests).
fn can_mount(test: &str) -> bool {
    let uid = Command::new("id").arg("-u").output().ok();
    let root = uid.is_some_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    if root {
        return true;
    }
    assert!(
        std::env::var_os("DISK_FAULTS_REQUIRED").is_none(),
        "{test}: needs root to mount a filesystem, and DISK_FAULTS_REQUIRED is set"
    );
    eprintln!("SKIPPED {test}: needs root (mount); run as root or in CI");
    false
}

fn run(cmd: &str, args: &[&str]) -> std::process::Output {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} {args:?}: {e}"));
    out
}

fn run_ok(cmd: &str, args: &[&str]) {
    let out = run(cmd, args);
    assert!(
        out.status.success(),
        "{cmd} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A filesystem mounted for one test; unmounted (lazily, so a crash cannot wedge it) on drop.
struct Mounted {
    dir: PathBuf,
    mounted: bool,
}

impl Mounted {
    fn tmpfs(dir: &Path, size: &str) -> Mounted {
        std::fs::create_dir_all(dir).unwrap();
        let opts = format!("size={size}");
        run_ok(
            "mount",
            &["-t", "tmpfs", "-o", &opts, "tmpfs", dir.to_str().unwrap()],
        );
        Mounted {
            dir: dir.to_path_buf(),
            mounted: true,
        }
    }

    /// ext4 on a loop device over `image`, which turns read-only on the first error.
    fn ext4(image: &Path, dir: &Path) -> Mounted {
        std::fs::create_dir_all(dir).unwrap();
        run_ok(
            "mount",
            &[
                "-o",
                "loop,errors=remount-ro",
                image.to_str().unwrap(),
                dir.to_str().unwrap(),
            ],
        );
        Mounted {
            dir: dir.to_path_buf(),
            mounted: true,
        }
    }

    fn unmount(&mut self) {
        if self.mounted {
            run_ok("umount", &[self.dir.to_str().unwrap()]);
            self.mounted = false;
        }
    }

    /// The block device's name (`loop3`), as /sys/fs/ext4 knows it.
    fn device_name(&self) -> String {
        let out = run("findmnt", &["-no", "SOURCE", self.dir.to_str().unwrap()]);
        let source = String::from_utf8_lossy(&out.stdout).trim().to_string();
        source.rsplit('/').next().unwrap_or_default().to_string()
    }

    fn options(&self) -> String {
        let out = run("findmnt", &["-no", "OPTIONS", self.dir.to_str().unwrap()]);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if self.mounted {
            let _ = run("umount", &["-l", self.dir.to_str().unwrap()]);
        }
    }
}

/// Fills the filesystem of `path` with a file until the disk is full; returns its size.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0u64;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(_) => break,
        }
    }
    let _ = f.sync_all();
    written
}

/// One signed delivery of `text` from `from`, with its own wamid (kept for Meta's retries).
struct Delivery {
    text: String,
    body: Vec<u8>,
}

fn delivery(from: &str, text: String) -> Delivery {
    let wamid = new_wamid();
    let body = serde_json::to_vec(&inbound_delivery(
        PHONE_NUMBER_ID,
        &[(from, "Disk Customer", &wamid, &text, now_secs())],
    ))
    .unwrap();
    Delivery { text, body }
}

/// Posts a delivery; returns the status and the error code of a refusal.
async fn post(app: &TestApp, d: &Delivery) -> (u16, String) {
    let resp = app
        .post_webhook_raw(d.body.clone(), Some(sign(&d.body, APP_SECRET)))
        .await;
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    let code = body["error"]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    (status, code)
}

/// How often each text appears in the stored transcript of `id`, by direction.
async fn stored_counts(app: &TestApp, id: i64) -> BTreeMap<(String, String), usize> {
    let i = app.get_interaction(id).await;
    let mut counts = BTreeMap::new();
    for m in i["messages"].as_array().unwrap() {
        let key = (
            m["direction"].as_str().unwrap_or_default().to_string(),
            m["text"].as_str().unwrap_or_default().to_string(),
        );
        *counts.entry(key).or_insert(0) += 1;
    }
    counts
}

/// `PRAGMA integrity_check` on a read-only connection beside the running server.
fn integrity(db: &Path) -> String {
    let c = rusqlite::Connection::open_with_flags(db, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)
        .unwrap();
    c.query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap()
}

/// A server whose database is `db`, an agent online, and a conversation the agent accepted
/// after the customer `from` wrote `first`.
async fn in_conversation_on(
    db: &Path,
    from: &str,
    first: &str,
) -> (TestApp, Basic, AgentClient, i64) {
    let app = TestApp::spawn_with(|c| {
        c.set("database.path", db.display());
    })
    .await;
    app.cloud_api_accepts_all().await;
    let basic = app.setup_basic(1, json!({})).await;
    let mut agent = app.agent_online(&basic.agents[0]).await;
    let id = app.deliver_and_accept(&mut agent, from, first).await;
    (app, basic, agent, id)
}

/// Retries a refused delivery as Meta does until it is answered 200.
async fn redeliver(app: &TestApp, d: &Delivery) {
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let (status, code) = post(app, d).await;
        if status == 200 {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "redelivery of {:?} still refused: {status} {code}",
            d.text
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_full_disk_refuses_with_503_writes_nothing_half_and_recovers_by_itself() {
    if !can_mount("disk full") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let disk = Mounted::tmpfs(&root.path().join("disk"), "24m");
    let db = disk.dir.join("sb.db");
    let customer = "15550009001";
    let (mut app, _basic, mut agent, id) =
        in_conversation_on(&db, customer, "before the disk fills").await;
    agent
        .ok(json!({"type": "send", "interaction_id": id, "text": "hello from the agent"}))
        .await;

    // The disk fills up.
    let filler = disk.dir.join("filler");
    let filled = fill(&filler);
    assert!(filled > 0, "the filler wrote nothing");

    // Customers keep writing (2 KB messages, to need new pages) and the agent keeps replying.
    let pad = "x".repeat(2_000);
    let mut inbound_ok: Vec<String> = Vec::new();
    let mut refused: Vec<Delivery> = Vec::new();
    let mut acked: Vec<String> = Vec::new();
    let mut send_refused: Vec<(String, String)> = Vec::new();
    let mut other_statuses: Vec<(u16, String)> = Vec::new();
    for n in 0..300 {
        let d = delivery(customer, format!("full-{n} {pad}"));
        let (status, code) = post(&app, &d).await;
        match status {
            200 => inbound_ok.push(d.text.clone()),
            503 if code == "unavailable" => refused.push(d),
            _ => other_statuses.push((status, code)),
        }
        if n % 10 == 0 {
            let text = format!("reply-{n} {pad}");
            match agent.send_message(id, &text).await {
                Ok(_) => acked.push(text),
                Err(e) => send_refused.push((text, e["code"].as_str().unwrap_or("").into())),
            }
        }
        if refused.len() >= 30 && !send_refused.is_empty() {
            break;
        }
    }
    assert!(
        other_statuses.is_empty(),
        "a full disk must answer 503 unavailable (Meta retries), got {other_statuses:?}"
    );
    assert!(
        !refused.is_empty(),
        "the disk never filled: every delivery was answered 200"
    );
    assert!(
        !send_refused.is_empty(),
        "no agent send was refused on a full disk ({} acked)",
        acked.len()
    );
    for (_, code) in &send_refused {
        assert_eq!(code, "unavailable", "a refused send: {send_refused:?}");
    }
    // Ending needs a commit too: refused, and the conversation stays active.
    let end = agent
        .command(json!({"type": "end", "interaction_id": id}))
        .await;
    let end_refused = end.is_err();
    // Reads still work, the server still runs.
    let view = app.get_interaction(id).await;
    if end_refused {
        assert_eq!(view["state"], "active", "a refused end changed the state");
    }
    assert!(app.is_running(), "the server died on a full disk");
    // A refused send never reached the customer.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let sent = app.cloud_api_texts().await;
    for (text, _) in &send_refused {
        assert!(
            !sent.contains(text),
            "a send refused on a full disk was sent to WhatsApp anyway"
        );
    }

    // Space comes back: no restart, Meta's retries and the agent's resend go through.
    std::fs::remove_file(&filler).unwrap();
    for d in &refused {
        redeliver(&app, d).await;
    }
    for (text, _) in &send_refused {
        agent
            .ok(json!({"type": "send", "interaction_id": id, "text": text}))
            .await;
    }
    if end_refused {
        agent.end(id).await;
    }
    agent
        .wrap_up(id, None)
        .await
        .expect("wrap-up after recovery");

    // Every 200 and every retried delivery is stored once; every send once, and sent.
    let counts = stored_counts(&app, id).await;
    let once = |dir: &str, text: &str| counts.get(&(dir.to_string(), text.to_string())) == Some(&1);
    for t in &inbound_ok {
        assert!(
            once("in", t),
            "a message answered 200 is not stored exactly once"
        );
    }
    for d in &refused {
        assert!(
            once("in", &d.text),
            "a redelivered message is not stored exactly once"
        );
    }
    for t in acked.iter().chain(send_refused.iter().map(|(t, _)| t)) {
        assert!(
            once("out", t),
            "an acknowledged send is not stored exactly once"
        );
    }
    let all_out: BTreeSet<&String> = acked
        .iter()
        .chain(send_refused.iter().map(|(t, _)| t))
        .collect();
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let sent: BTreeSet<String> = app.cloud_api_texts().await.into_iter().collect();
        if all_out.iter().all(|t| sent.contains(*t)) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acknowledged sends did not reach the Cloud API"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(integrity(&db), "ok");
    let log = app.server_log();
    assert!(!log.contains("panicked"), "the server panicked:\n{log}");
    assert!(app.is_running());
    eprintln!(
        "disk full: {} MB filler; {} deliveries answered 200 and {} refused 503 while full \
         (all stored once after Meta's retries); {} sends acked, {} refused then resent; \
         end refused: {end_refused}; integrity ok",
        filled / 1_000_000,
        inbound_ok.len(),
        refused.len(),
        acked.len(),
        send_refused.len()
    );
}

#[tokio::test]
async fn a_filesystem_gone_read_only_refuses_with_503_and_a_restart_after_repair_loses_nothing() {
    if !can_mount("read-only filesystem") {
        return;
    }
    let root = tempfile::tempdir().unwrap();
    let image = root.path().join("disk.img");
    std::fs::File::create(&image)
        .unwrap()
        .set_len(64 * 1024 * 1024)
        .unwrap();
    run_ok("mkfs.ext4", &["-q", "-F", image.to_str().unwrap()]);
    let mut disk = Mounted::ext4(&image, &root.path().join("disk"));
    let db = disk.dir.join("sb.db");
    let customer = "15550009002";
    let (mut app, basic, mut agent, id) =
        in_conversation_on(&db, customer, "before the disk fails").await;

    // Healthy traffic: everything acknowledged now must survive what follows.
    let mut inbound_ok: Vec<String> = vec!["before the disk fails".into()];
    let mut acked: Vec<String> = Vec::new();
    for n in 0..40 {
        let d = delivery(customer, format!("healthy-{n}"));
        let (status, code) = post(&app, &d).await;
        assert_eq!(status, 200, "healthy delivery refused: {code}");
        inbound_ok.push(d.text);
        if n % 4 == 0 {
            let text = format!("healthy-reply-{n}");
            agent
                .ok(json!({"type": "send", "interaction_id": id, "text": text}))
                .await;
            acked.push(text);
        }
    }

    // The disk fails: the kernel turns the filesystem read-only under the running server.
    let dev = disk.device_name();
    std::fs::write(format!("/sys/fs/ext4/{dev}/trigger_fs_error"), "1")
        .unwrap_or_else(|e| panic!("trigger_fs_error on {dev}: {e}"));
    let opts = disk.options();
    assert!(
        opts.starts_with("ro") || opts.split(',').any(|o| o == "emergency_ro"),
        "the filesystem did not go read-only: {opts}"
    );

    let mut refused: Vec<Delivery> = Vec::new();
    let mut other: Vec<(u16, String)> = Vec::new();
    for n in 0..20 {
        let d = delivery(customer, format!("read-only-{n}"));
        let (status, code) = post(&app, &d).await;
        match (status, code.as_str()) {
            (503, "unavailable") => refused.push(d),
            (200, _) => inbound_ok.push(d.text),
            _ => other.push((status, code)),
        }
    }
    assert!(
        other.is_empty(),
        "read-only disk: want 503 unavailable, got {other:?}"
    );
    assert!(
        !refused.is_empty(),
        "every delivery was answered 200 on a read-only disk"
    );
    let send = agent.send_message(id, "while read-only").await;
    let send_refused = send.is_err();
    if let Err(e) = &send {
        assert_eq!(e["code"], "unavailable", "refused send: {e}");
    } else {
        acked.push("while read-only".into());
    }
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 503, "readyz on a read-only database");
    assert!(
        app.is_running(),
        "the server died when the disk went read-only"
    );
    let cloud_before = app.cloud_api_texts().await;
    if send_refused {
        assert!(!cloud_before.iter().any(|t| t == "while read-only"));
    }

    // The operator repairs the filesystem and restarts the service on it.
    app.kill9().await;
    drop(agent);
    disk.unmount();
    let fsck = run("e2fsck", &["-f", "-y", image.to_str().unwrap()]);
    assert!(
        matches!(fsck.status.code(), Some(0..=2)),
        "e2fsck could not repair the image: {}",
        String::from_utf8_lossy(&fsck.stdout)
    );
    let _disk = Mounted::ext4(&image, &disk.dir);
    app.restart().await;

    for d in &refused {
        redeliver(&app, d).await;
    }
    let counts = stored_counts(&app, id).await;
    let count = |dir: &str, t: &str| counts.get(&(dir.to_string(), t.to_string())).copied();
    let lost_in: Vec<&String> = inbound_ok
        .iter()
        .filter(|t| count("in", t) != Some(1))
        .collect();
    assert!(
        lost_in.is_empty(),
        "{} of {} messages answered 200 are not stored exactly once after the repair: {lost_in:?}",
        lost_in.len(),
        inbound_ok.len()
    );
    for d in &refused {
        assert_eq!(count("in", &d.text), Some(1), "redelivered {:?}", d.text);
    }
    let lost_out: Vec<&String> = acked
        .iter()
        .filter(|t| count("out", t) != Some(1))
        .collect();
    assert!(lost_out.is_empty(), "acknowledged sends lost: {lost_out:?}");
    if send_refused {
        assert_eq!(
            count("out", "while read-only"),
            None,
            "a refused send was stored"
        );
    }
    // The conversation is back with its agent.
    let mut agent = app.connect(&basic.agents[0]).await;
    let mine = agent.hello["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == json!(id) && i["state"] == "active");
    assert!(
        mine,
        "the conversation is not back with its agent: {}",
        agent.hello
    );
    agent
        .ok(json!({"type": "send", "interaction_id": id, "text": "after the repair"}))
        .await;
    assert_eq!(integrity(&db), "ok");
    eprintln!(
        "read-only: {} deliveries and {} sends acknowledged before or during the fault, all kept \
         after e2fsck and restart; {} deliveries refused 503 while read-only, stored once when \
         redelivered; send refused: {send_refused}",
        inbound_ok.len(),
        acked.len(),
        refused.len()
    );
}

/// R22: the disk of `media.path` fills up while a customer's file is fetched. The message is
/// committed all the same, the file waits (a full disk uses up no try), `/readyz` says why,
/// and once there is space again the file is stored and `/readyz` is ready.
#[tokio::test]
async fn a_full_media_disk_keeps_customer_files_waiting_and_readyz_tells() {
    if !can_mount("a_full_media_disk_keeps_customer_files_waiting_and_readyz_tells") {
        return;
    }
    let base = tempfile::tempdir().unwrap();
    let media_dir = base.path().join("media");
    let mut mount = Mounted::tmpfs(&media_dir, "4M");
    let media = media_dir.display().to_string();
    let app = TestApp::spawn_with(|c| {
        c.set("media.path", &media).set("media.max_attempts", 3);
    })
    .await;
    app.setup_basic(1, json!({})).await;
    let image = jpeg_bytes(500_000);
    app.cloud_media("FULL", &image, "image/jpeg").await;
    let filler = media_dir.join("filler");
    fill(&filler);

    app.customer_sends_media(
        "447700900555",
        "image",
        json!({"id": "FULL", "mime_type": "image/jpeg"}),
    )
    .await;
    let id = app.list_interactions("").await[0]["id"].as_i64().unwrap();
    let message_id = app.get_interaction(id).await["messages"][0]["id"]
        .as_i64()
        .unwrap();
    let deadline = Instant::now() + EVENT_TIMEOUT;
    let readiness = loop {
        let resp = app.get("/readyz", None).await;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap();
        if status == 503 && body["media"] != "ok" {
            break body;
        }
        assert!(Instant::now() < deadline, "readyz never told: {body}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(readiness["database"], "ok", "{readiness}");
    assert!(
        readiness["media"].as_str().unwrap().contains("media"),
        "{readiness}"
    );
    // Many tries later, still waiting: a full disk is not the file's fault.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let m = app.get_interaction(id).await["messages"][0].clone();
    assert_eq!(m["media"]["state"], "pending", "{m}");
    assert!(
        m["media"]["error"]
            .as_str()
            .unwrap()
            .contains("could not be stored"),
        "{m}"
    );

    std::fs::remove_file(&filler).unwrap();
    let ready = app.wait_media_state(id, message_id, "ready").await;
    let url = ready["media"]["url"].as_str().unwrap();
    let got = app
        .get(url, Some(&app.admin_token))
        .await
        .bytes()
        .await
        .unwrap();
    assert_eq!(got.to_vec(), image);
    let body = json_ok(app.get("/readyz", None).await, "readyz").await;
    assert_eq!(
        (body["status"].as_str(), body["media"].as_str()),
        (Some("ready"), Some("ok"))
    );
    drop(app);
    mount.unmount();
}
