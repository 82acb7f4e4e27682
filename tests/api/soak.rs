//! Soak: steady traffic (customers writing, agents accepting, replying, ending and wrapping
//! up, conversations opening and closing all the time) for a bounded time, with the server's
//! resident memory, open file descriptors, threads and live actors sampled from /proc and
//! /metrics. After the warm-up nothing may keep growing. CI runs it for `SOAK_SECS` (default
//! 20 s); `SOAK_SECS=600 cargo test --release --test api soak -- --nocapture` is the long run.

use crate::helpers::*;
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::json;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn soak_secs() -> u64 {
    std::env::var("SOAK_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20)
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    at: f64,
    rss_kib: u64,
    file_kib: u64,
    /// Open descriptors other than sockets (database files, pipes, eventfds, epoll).
    fds: usize,
    /// Open sockets (listener, clients, Cloud API connections).
    sockets: usize,
    threads: u64,
    interaction_actors: i64,
    open_interactions: i64,
    sqlite_kib: u64,
}

fn proc_status(pid: u32, key: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// The value of a Prometheus sample line `name{labels} value` (or the sum over `name{..}`).
fn metric(text: &str, prefix: &str) -> i64 {
    text.lines()
        .filter(|l| l.starts_with(prefix))
        .filter_map(|l| l.rsplit(' ').next())
        .filter_map(|v| v.parse::<f64>().ok())
        .map(|v| v as i64)
        .sum()
}

/// What the descriptors of `pid` other than sockets point to (files, pipes, anon inodes).
fn fd_targets(pid: u32) -> Vec<String> {
    open_descriptors(pid)
        .into_iter()
        .filter(|t| !is_socket(t))
        .collect()
}

async fn sample(app: &TestApp, pid: u32, started: Instant) -> Sample {
    let text = app
        .get("/metrics", None)
        .await
        .text()
        .await
        .unwrap_or_default();
    let descriptors = open_descriptors(pid);
    let sockets = descriptors.iter().filter(|t| is_socket(t)).count();
    let all = metric(&text, "switchboard_interactions{");
    let closed = metric(&text, "switchboard_interactions{state=\"closed\"}");
    Sample {
        at: started.elapsed().as_secs_f64(),
        rss_kib: proc_status(pid, "VmRSS:"),
        file_kib: proc_status(pid, "RssFile:") + proc_status(pid, "RssShmem:"),
        fds: descriptors.len() - sockets,
        sockets,
        threads: proc_status(pid, "Threads:"),
        interaction_actors: metric(&text, "switchboard_actors_alive{kind=\"interaction\"}"),
        open_interactions: all - closed,
        sqlite_kib: (metric(&text, "switchboard_sqlite_memory_bytes") / 1024) as u64,
    }
}

/// A desktop that takes everything: accepts offers, answers every customer message, ends after
/// the third and wraps up at once.
async fn desk(app_ws: String, agent_id: i64, stop: Arc<AtomicBool>, replies: Arc<AtomicU64>) {
    let mut c = AgentClient::connect(&app_ws, agent_id).await;
    c.set_status("available").await;
    let mut heard: HashMap<i64, u32> = HashMap::new();
    while !stop.load(Ordering::Relaxed) {
        let Some(e) = c.try_next_event(Duration::from_millis(100)).await else {
            assert!(
                !c.is_closed(),
                "agent {agent_id}: the server closed the socket"
            );
            continue;
        };
        match e["type"].as_str() {
            Some("offer") => {
                let id = e["interaction_id"].clone();
                // The customer may have gone meanwhile: refusals are fine, errors are counted.
                let _ = c
                    .command(json!({"type": "accept", "interaction_id": id}))
                    .await;
            }
            Some("message") if e["message"]["direction"] == "in" => {
                let id = e["interaction_id"].as_i64().unwrap();
                let n = heard.entry(id).or_default();
                *n += 1;
                let text = format!("reply {n} to {id}");
                if c.send_message(id, &text).await.is_ok() {
                    replies.fetch_add(1, Ordering::Relaxed);
                }
                if *n >= 3 {
                    heard.remove(&id);
                    let _ = c
                        .command(json!({"type": "end", "interaction_id": id}))
                        .await;
                    let _ = c.wrap_up(id, None).await;
                }
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn steady_load_grows_neither_memory_nor_file_descriptors_nor_actors() {
    let secs = soak_secs();
    let mut app = TestApp::spawn_with(|c| {
        c.set("whatsapp.max_in_flight", 16);
    })
    .await;
    app.cloud_api_accepts_all().await;
    let b = app
        .setup_basic_with(6, json!({"wrap_up_secs": 5}), json!({"max_concurrent": 4}))
        .await;
    let pid = app.pid().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let replies = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for a in &b.agents {
        tasks.push(tokio::spawn(desk(
            app.ws_url(&a.token),
            a.id,
            stop.clone(),
            replies.clone(),
        )));
    }
    let inbound = Arc::new(AtomicU64::new(0));
    let refused = Arc::new(AtomicU64::new(0));
    for k in 0..20u64 {
        let (client, url, stop, inbound, refused) = (
            app.client.clone(),
            app.url("/webhooks/whatsapp"),
            stop.clone(),
            inbound.clone(),
            refused.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(k);
            let from = format!("1555200{k:04}");
            while !stop.load(Ordering::Relaxed) {
                let body = serde_json::to_vec(&inbound_delivery(
                    PHONE_NUMBER_ID,
                    &[(&from, "Soak", &new_wamid(), "how is my order?", now_secs())],
                ))
                .unwrap();
                let resp = client
                    .post(&url)
                    .header("Content-Type", "application/json")
                    .header("X-Hub-Signature-256", sign(&body, APP_SECRET))
                    .body(body)
                    .send()
                    .await;
                match resp {
                    Ok(r) if r.status() == 200 => inbound.fetch_add(1, Ordering::Relaxed),
                    _ => refused.fetch_add(1, Ordering::Relaxed),
                };
                tokio::time::sleep(Duration::from_millis(rng.gen_range(100..300))).await;
            }
        }));
    }

    let started = Instant::now();
    let mut samples: Vec<Sample> = Vec::new();
    let mut targets_at_warm_up: Option<Vec<String>> = None;
    while started.elapsed() < Duration::from_secs(secs) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        samples.push(sample(&app, pid, started).await);
        if targets_at_warm_up.is_none() && started.elapsed().as_secs_f64() >= secs as f64 * 0.4 {
            targets_at_warm_up = Some(fd_targets(pid));
        }
    }
    let targets_late = fd_targets(pid);
    let targets_at_warm_up = targets_at_warm_up.unwrap_or_default();
    let new_targets: Vec<&String> = targets_late
        .iter()
        .filter(|t| !targets_at_warm_up.contains(t))
        .collect();
    stop.store(true, Ordering::Relaxed);
    for t in tasks {
        t.await.expect("a client task failed");
    }
    // Let wrap-up countdowns and the outbox finish, then look at what is left.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let end = sample(&app, pid, started).await;

    let warm_up = samples.len() * 2 / 5;
    let (warm, steady) = samples.split_at(warm_up);
    let median = |xs: &mut Vec<u64>| {
        xs.sort_unstable();
        xs[xs.len() / 2]
    };
    let rss_at_warm = median(&mut warm.iter().rev().take(5).map(|s| s.rss_kib).collect());
    let rss_last = median(&mut steady.iter().rev().take(5).map(|s| s.rss_kib).collect());
    let rss_max = steady.iter().map(|s| s.rss_kib).max().unwrap();
    // Descriptors other than sockets are a fixed set (database files, epoll, eventfds, pipes).
    // Sockets come and go with the clients: never more than the peers that can be connected:
    // 20 customers' keep-alive connections, 6 agents, 16 Cloud API connections, the listener
    // and the sampler.
    let fds_warm = warm.iter().map(|s| s.fds).max().unwrap();
    let fds_max = steady.iter().map(|s| s.fds).max().unwrap();
    let sockets_max = samples.iter().map(|s| s.sockets).max().unwrap();
    // (+8: connections the peer closed that the server has not reaped yet.)
    let sockets_bound = 20 + 6 + 16 + 1 + 1 + 8;
    let threads_warm = warm.iter().map(|s| s.threads).max().unwrap();
    let threads_max = steady.iter().map(|s| s.threads).max().unwrap();
    let in_total = inbound.load(Ordering::Relaxed);
    let closed_total = {
        let text = app.get("/metrics", None).await.text().await.unwrap();
        metric(&text, "switchboard_interactions{state=\"closed\"}")
    };
    eprintln!(
        "soak {secs} s: {in_total} customer messages (refused: {}), {} agent replies, \
         {closed_total} conversations closed; RSS {rss_at_warm} KiB after warm-up, {rss_last} \
         KiB at the end (max {rss_max}); descriptors other than sockets {fds_warm} in warm-up, \
         max {fds_max} after; sockets max {sockets_max} (bound {sockets_bound}); threads \
         {threads_warm} -> max {threads_max}; new descriptors since the warm-up {new_targets:?}; \
         interaction actors at the end {} for {} open \
         conversations",
        refused.load(Ordering::Relaxed),
        replies.load(Ordering::Relaxed),
        end.interaction_actors,
        end.open_interactions,
    );
    for s in samples.iter().step_by((samples.len() / 10).max(1)) {
        eprintln!(
            "  t={:5.1}s rss={} KiB (files {} KiB, sqlite heap {} KiB) fds={} sockets={} \
             threads={} interaction actors={} open={}",
            s.at,
            s.rss_kib,
            s.file_kib,
            s.sqlite_kib,
            s.fds,
            s.sockets,
            s.threads,
            s.interaction_actors,
            s.open_interactions
        );
    }

    assert_eq!(refused.load(Ordering::Relaxed), 0, "webhooks refused");
    assert!(
        in_total > secs * 20,
        "too little traffic to judge: {in_total}"
    );
    assert!(
        closed_total > 10,
        "conversations did not cycle: {closed_total} closed"
    );
    // No growth after the warm-up: descriptors and threads stay flat, memory within 10 %
    // (allocator noise) plus 4 MiB.
    // (+2: the runtime may open an eventfd or a timerfd for a thread it starts late.)
    assert!(
        fds_max <= fds_warm + 2,
        "descriptors other than sockets grew: {fds_warm} during warm-up, {fds_max} later; \
         new since the warm-up: {new_targets:?}"
    );
    assert!(
        sockets_max <= sockets_bound,
        "{sockets_max} sockets open at once, more than the {sockets_bound} peers"
    );
    assert!(
        threads_max <= threads_warm + 2,
        "threads grew: {threads_warm} after warm-up, {threads_max} later"
    );
    assert!(
        rss_last <= rss_at_warm + rss_at_warm / 10 + 4096,
        "resident memory grew: {rss_at_warm} KiB after warm-up, {rss_last} KiB at the end"
    );
    // One interaction actor per open conversation, none left over from closed ones.
    assert_eq!(
        end.interaction_actors, end.open_interactions,
        "interaction actors alive vs open conversations"
    );
    assert!(app.is_running());
}
