//! Faults: SIGKILL under load, a failing Cloud API, slow and vanishing clients, a read-only
//! database. Each test checks what the server promised (a 200, an `ack`) against what it did.
//! `FAULTS_LONG=1` runs the longer versions; `FAULTS_SEED=N` replays a random schedule.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use rand::{rngs::StdRng, Rng, SeedableRng};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message as WsMessage;
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

fn long() -> bool {
    std::env::var_os("FAULTS_LONG").is_some()
}

fn seed() -> u64 {
    std::env::var("FAULTS_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| now_ms() as u64)
}

/// What the clients were told, across every crash.
#[derive(Default)]
struct Ledger {
    /// Customer texts whose webhook was answered 200.
    inbound_ok: BTreeSet<String>,
    /// Agent texts whose `send` was acknowledged.
    agent_acked: BTreeSet<String>,
    /// Customer texts as agents saw them: the message ids they came with.
    shown: HashMap<String, HashSet<i64>>,
    webhooks_tried: u64,
    sends_tried: u64,
    accepts: u64,
    ends: u64,
    transfers: u64,
}

impl Ledger {
    fn saw_messages(&mut self, messages: &Value) {
        for m in messages.as_array().into_iter().flatten() {
            self.saw_message(m);
        }
    }
    fn saw_message(&mut self, m: &Value) {
        if m["direction"] == "in" {
            if let (Some(t), Some(id)) = (m["text"].as_str(), m["id"].as_i64()) {
                self.shown.entry(t.to_string()).or_default().insert(id);
            }
        }
    }
}

/// Customers writing until `stop`: each 200 is recorded.
async fn customers(
    client: reqwest::Client,
    url: String,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
    seed: u64,
) {
    let mut rng = StdRng::seed_from_u64(seed);
    while !stop.load(Ordering::Relaxed) {
        let from = format!("1555000{:04}", rng.gen_range(0..12));
        let text = format!("in-{}", unique());
        let wamid = new_wamid();
        let body = serde_json::to_vec(&inbound_delivery(
            PHONE_NUMBER_ID,
            &[(&from, "Customer", &wamid, &text, now_secs())],
        ))
        .unwrap();
        ledger.lock().unwrap().webhooks_tried += 1;
        let sent = client
            .post(&url)
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", sign(&body, APP_SECRET))
            .timeout(Duration::from_secs(5))
            .body(body)
            .send()
            .await;
        if matches!(&sent, Ok(r) if r.status() == 200) {
            ledger.lock().unwrap().inbound_ok.insert(text);
        }
        tokio::time::sleep(Duration::from_millis(rng.gen_range(5..40))).await;
    }
}

/// An agent desktop until `stop` or the socket dies: accepts offers, replies, ends and wraps
/// up, transfers to the queue. Never panics on a dead server.
async fn agent_desktop(
    ws_url: String,
    agent_id: i64,
    queue_id: i64,
    stop: Arc<AtomicBool>,
    ledger: Arc<Mutex<Ledger>>,
    seed: u64,
) {
    let Ok(Ok((mut ws, _))) = tokio::time::timeout(
        Duration::from_secs(5),
        tokio_tungstenite::connect_async(&ws_url),
    )
    .await
    else {
        return;
    };
    let mut rng = StdRng::seed_from_u64(seed);
    let mut pending: HashMap<String, Option<String>> = HashMap::new();
    let mut active: BTreeSet<i64> = BTreeSet::new();
    let mut outgoing: Vec<Value> = vec![json!({"type": "set_status", "status": "available"})];
    let mut tick = tokio::time::interval(Duration::from_millis(30));
    while !stop.load(Ordering::Relaxed) {
        for mut cmd in outgoing.drain(..) {
            let r = format!("f{}", unique());
            cmd["ref"] = json!(r);
            let text = (cmd["type"] == "send").then(|| cmd["text"].as_str().unwrap().to_string());
            pending.insert(r, text);
            if ws.send(WsMessage::text(cmd.to_string())).await.is_err() {
                return;
            }
        }
        tokio::select! {
            frame = ws.next() => {
                let v: Value = match frame {
                    Some(Ok(WsMessage::Text(t))) => match serde_json::from_str(t.as_str()) {
                        Ok(v) => v,
                        Err(_) => continue,
                    },
                    Some(Ok(_)) => continue,
                    _ => return,
                };
                let mut l = ledger.lock().unwrap();
                match v["type"].as_str().unwrap_or("") {
                    "hello" => {
                        for i in v["interactions"].as_array().into_iter().flatten() {
                            l.saw_messages(&i["messages"]);
                            let id = i["id"].as_i64().unwrap_or(0);
                            if i["state"] == "active" {
                                active.insert(id);
                            }
                            let mine = i["participants"].as_array().into_iter().flatten()
                                .find(|p| p["agent_id"] == json!(agent_id)).cloned();
                            if mine.is_some_and(|p| !p["wrap_up_deadline"].is_null()) {
                                outgoing.push(json!({"type": "wrap_up", "interaction_id": id, "disposition": "resolved"}));
                            }
                        }
                        for o in v["offers"].as_array().into_iter().flatten() {
                            outgoing.push(json!({"type": "accept", "interaction_id": o["interaction_id"]}));
                        }
                    }
                    "offer" => {
                        l.accepts += 1;
                        outgoing.push(json!({"type": "accept", "interaction_id": v["interaction_id"]}));
                    }
                    "interaction" => {
                        l.saw_messages(&v["messages"]);
                        let id = v["id"].as_i64().unwrap_or(0);
                        let owner = v["owner_agent_id"] == json!(agent_id);
                        if v["state"] == "active" && owner {
                            active.insert(id);
                        } else {
                            active.remove(&id);
                        }
                    }
                    "message" => l.saw_message(&v["message"]),
                    "wrap_up_started" => {
                        active.remove(&v["interaction_id"].as_i64().unwrap_or(0));
                        outgoing.push(json!({"type": "wrap_up", "interaction_id": v["interaction_id"], "disposition": "resolved"}));
                    }
                    "ack" | "error" => {
                        let r = v["ref"].as_str().unwrap_or("").to_string();
                        if let Some(Some(text)) = pending.remove(&r) {
                            if v["type"] == "ack" {
                                l.agent_acked.insert(text);
                            }
                        }
                    }
                    _ => {}
                }
            }
            _ = tick.tick() => {
                let Some(&id) = active.iter().nth(rng.gen_range(0..active.len().max(1))) else {
                    continue;
                };
                let roll = rng.gen_range(0..100);
                let mut l = ledger.lock().unwrap();
                if roll < 75 {
                    l.sends_tried += 1;
                    let text = format!("out-{agent_id}-{}", unique());
                    outgoing.push(json!({"type": "send", "interaction_id": id, "text": text}));
                } else if roll < 85 {
                    l.ends += 1;
                    active.remove(&id);
                    outgoing.push(json!({"type": "end", "interaction_id": id}));
                } else if roll < 90 {
                    l.transfers += 1;
                    active.remove(&id);
                    outgoing.push(json!({"type": "transfer", "interaction_id": id, "queue_id": queue_id}));
                }
            }
        }
    }
}

/// Every interaction with its transcript (admin view).
async fn all_interactions(app: &TestApp) -> Vec<Value> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let q = match &cursor {
            Some(c) => format!("?limit=200&cursor={c}"),
            None => "?limit=200".to_string(),
        };
        let page = app.admin_get(&format!("/api/v1/interactions{q}")).await;
        for i in page["items"].as_array().unwrap() {
            out.push(app.get_interaction(id_of(i.clone())).await);
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => return out,
        }
    }
}

#[tokio::test]
async fn crash_under_load_loses_nothing_acknowledged() {
    let seed = seed();
    eprintln!("crash_under_load: FAULTS_SEED={seed}");
    let mut rng = StdRng::seed_from_u64(seed);
    let kills = if long() { 12 } else { 3 };
    let mut app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.reconnect_grace_secs", 60);
    })
    .await;
    app.cloud_api_accepts_all().await;
    let b = app
        .setup_basic_with(
            3,
            json!({"offer_timeout_secs": 5, "wrap_up_secs": 30}),
            json!({"max_concurrent": 50}),
        )
        .await;
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    for round in 0..=kills {
        let stop = Arc::new(AtomicBool::new(false));
        let mut tasks = Vec::new();
        for c in 0..3u64 {
            tasks.push(tokio::spawn(customers(
                app.client.clone(),
                app.url("/webhooks/whatsapp"),
                stop.clone(),
                ledger.clone(),
                rng.gen::<u64>() ^ c,
            )));
        }
        for a in &b.agents {
            tasks.push(tokio::spawn(agent_desktop(
                app.ws_url(&a.token),
                a.id,
                b.queue_id,
                stop.clone(),
                ledger.clone(),
                rng.gen(),
            )));
        }
        let run = if long() { 1500..4000 } else { 600..1600 };
        tokio::time::sleep(Duration::from_millis(rng.gen_range(run))).await;
        if round < kills {
            app.kill9().await; // mid-traffic: requests and commands in flight
        }
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = tokio::time::timeout(Duration::from_secs(10), t).await;
        }
        if round < kills {
            app.restart().await;
        }
    }

    // Quiet now: the outbox drains, then one more crash while idle, and the check.
    let acked: BTreeSet<String> = ledger.lock().unwrap().agent_acked.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let sent: HashSet<String> = app.cloud_api_texts().await.into_iter().collect();
        let missing: Vec<&String> = acked.iter().filter(|t| !sent.contains(*t)).collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "acknowledged agent messages never reached the Cloud API: {missing:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    app.kill9().await;
    app.restart().await;

    // Every client task has ended: the ledger is final.
    let l = std::mem::take(&mut *ledger.lock().unwrap());
    let interactions = all_interactions(&app).await;
    let mut inbound: HashMap<String, Vec<i64>> = HashMap::new();
    let mut outbound: HashMap<String, Vec<(i64, String)>> = HashMap::new();
    for i in &interactions {
        for m in i["messages"].as_array().unwrap() {
            let text = m["text"].as_str().unwrap_or_default().to_string();
            match m["direction"].as_str() {
                Some("in") => inbound
                    .entry(text)
                    .or_default()
                    .push(m["id"].as_i64().unwrap()),
                Some("out") => outbound.entry(text).or_default().push((
                    m["id"].as_i64().unwrap(),
                    m["status"].as_str().unwrap_or("").into(),
                )),
                _ => {}
            }
        }
    }
    // Every 200 is stored exactly once; agents saw it under that one id only.
    for text in &l.inbound_ok {
        let ids = inbound.get(text).cloned().unwrap_or_default();
        assert_eq!(ids.len(), 1, "customer message {text:?} stored {ids:?}");
        if let Some(seen) = l.shown.get(text) {
            assert_eq!(
                seen,
                &HashSet::from([ids[0]]),
                "customer message {text:?} shown to agents as {seen:?}"
            );
        }
    }
    for (text, ids) in &inbound {
        assert_eq!(
            ids.len(),
            1,
            "customer message {text:?} stored twice: {ids:?}"
        );
    }
    // Every acked agent message is recorded once and was sent (at least once, above).
    let sent = app.cloud_api_texts().await;
    let mut sent_count: HashMap<&str, usize> = HashMap::new();
    for t in &sent {
        *sent_count.entry(t.as_str()).or_default() += 1;
    }
    for text in &l.agent_acked {
        let rows = outbound.get(text).cloned().unwrap_or_default();
        assert_eq!(rows.len(), 1, "agent message {text:?} recorded {rows:?}");
        assert_eq!(rows[0].1, "sent", "agent message {text:?}: {rows:?}");
    }
    let resent = sent_count.values().filter(|n| **n > 1).count();

    // Every open conversation is with its owner or its queue, and in one place only.
    let mut helloes: BTreeMap<i64, Value> = BTreeMap::new();
    for a in &b.agents {
        let c = app.connect(a).await;
        helloes.insert(a.id, c.hello.clone());
    }
    let mut open = 0;
    for i in interactions.iter().filter(|i| i["state"] != "closed") {
        open += 1;
        let id = i["id"].clone();
        let holders: Vec<i64> = helloes
            .iter()
            .filter(|(_, h)| {
                h["interactions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|x| x["id"] == id)
            })
            .map(|(a, _)| *a)
            .collect();
        match i["state"].as_str().unwrap() {
            "queued" | "offered" => {
                // Only an agent wrapping up his part may still have it on his desk (he
                // transferred it to the queue); no one is working it.
                for h in &holders {
                    let mine = helloes[h]["interactions"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .find(|x| x["id"] == id)
                        .and_then(|x| {
                            x["participants"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .find(|p| p["agent_id"] == json!(h))
                                .cloned()
                        });
                    assert!(
                        mine.as_ref()
                            .is_some_and(|p| p["wrap_up_deadline"].is_string()),
                        "waiting {id} is also with agent {h}, not wrapping up: {}",
                        helloes[h]
                    );
                }
                assert_eq!(i["queue"]["id"], json!(b.queue_id), "{i}");
            }
            "active" => {
                let owner = i["owner_agent_id"].as_i64().expect("active has an owner");
                assert_eq!(holders, vec![owner], "active {id} held by {holders:?}");
            }
            "wrap_up" => {
                let wrapping: Vec<i64> = i["participants"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|p| p["agent_id"].as_i64())
                    .collect();
                assert!(!wrapping.is_empty(), "wrap_up {id} with nobody: {i}");
                for h in &holders {
                    assert!(wrapping.contains(h), "{id} with non-participant {h}");
                }
            }
            other => panic!("interaction {id} in state {other}"),
        }
    }
    eprintln!(
        "crash_under_load: seed {seed}, {} kills survived, {} webhooks tried / {} answered 200 / {} stored, \
         {} agent sends tried / {} acked / {} Cloud API requests ({} texts sent more than once), \
         {} accepts, {} ends, {} transfers, {} interactions ({} open); 0 lost, 0 duplicated",
        kills + 1,
        l.webhooks_tried,
        l.inbound_ok.len(),
        inbound.len(),
        l.sends_tried,
        l.agent_acked.len(),
        sent.len(),
        resent,
        l.accepts,
        l.ends,
        l.transfers,
        interactions.len(),
        open
    );
    assert!(
        !l.inbound_ok.is_empty() && !l.agent_acked.is_empty(),
        "no traffic ran"
    );
}

/// One scripted answer of the flaky Cloud API.
#[derive(Debug, Clone, Copy)]
enum Fault {
    /// Answers after the client's timeout.
    Timeout,
    Status(u16),
    /// HTTP 400 with Meta's rate-limit error code.
    Throttled130429,
    /// Succeeds, slowly (within the timeout).
    Slow,
}

/// Plays `script` to the first requests, then accepts everything.
struct Flaky {
    script: Mutex<std::collections::VecDeque<Fault>>,
    n: AtomicU64,
}

impl Respond for Flaky {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.n.fetch_add(1, Ordering::Relaxed);
        let ok = || {
            ResponseTemplate::new(200).set_body_json(json!({
                "messages": [{"id": format!("wamid.FLAKY{}x{n}", now_ms())}]
            }))
        };
        match self.script.lock().unwrap().pop_front() {
            None => ok(),
            Some(Fault::Timeout) => ok().set_delay(Duration::from_millis(1500)),
            Some(Fault::Slow) => ok().set_delay(Duration::from_millis(250)),
            Some(Fault::Status(s)) => ResponseTemplate::new(s)
                .set_body_json(json!({"error": {"message": "scripted failure", "code": 1}})),
            Some(Fault::Throttled130429) => ResponseTemplate::new(400).set_body_json(json!({
                "error": {"message": "(#130429) Rate limit hit", "type": "OAuthException",
                          "code": 130429}
            })),
        }
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn cloud_api_faults_are_retried_and_each_conversation_stays_in_order() {
    // The Cloud API is down (connection refused) until a server appears on this port.
    let port = free_port();
    let app = TestApp::spawn_with(|cfg| {
        cfg.set(
            "whatsapp.graph_base_url",
            format!("http://127.0.0.1:{port}"),
        )
        .set("whatsapp.request_timeout_ms", 500);
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let customers = ["15550009101", "15550009102", "15550009103"];
    let mut ids = Vec::new();
    for c in customers {
        ids.push(app.deliver_and_accept(&mut a, c, "hello").await);
    }
    let per_conversation = 4;
    for k in 0..per_conversation {
        for (c, id) in customers.iter().zip(&ids) {
            a.send_message(*id, &format!("{c}-{k}"))
                .await
                .expect("acked while the API is down");
        }
    }
    // Refused connections are retried: nothing is failed meanwhile.
    tokio::time::sleep(Duration::from_millis(700)).await;
    for id in &ids {
        let v = app.get_interaction(*id).await;
        for m in v["messages"].as_array().unwrap() {
            if m["direction"] == "out" {
                assert_eq!(m["status"], "queued", "while refused: {m}");
            }
        }
    }

    // The API comes back, but badly at first.
    let script = [
        Fault::Timeout,
        Fault::Status(500),
        Fault::Status(429),
        Fault::Throttled130429,
        Fault::Status(503),
        Fault::Slow,
        Fault::Timeout,
        Fault::Status(502),
        Fault::Slow,
    ];
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).expect("rebinding the port");
    let api = wiremock::MockServer::builder()
        .listener(listener)
        .start()
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(Flaky {
            script: Mutex::new(script.into_iter().collect()),
            n: AtomicU64::new(0),
        })
        .mount(&api)
        .await;

    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut done = true;
        for id in &ids {
            let v = app.get_interaction(*id).await;
            for m in v["messages"].as_array().unwrap() {
                if m["direction"] == "out" {
                    assert_ne!(m["status"], "failed", "retryable fault made it fail: {m}");
                    done &= m["status"] == "sent";
                }
            }
        }
        if done {
            break;
        }
        assert!(Instant::now() < deadline, "the outbox did not drain");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // Per conversation, the requests went out in order: a message is (re)tried only after
    // every earlier one of its conversation was answered.
    let reqs = api.received_requests().await.unwrap();
    let failures = script.iter().filter(|f| !matches!(f, Fault::Slow)).count();
    assert!(
        reqs.len() >= customers.len() * per_conversation + failures,
        "every fault was answered by a retry: {} requests",
        reqs.len()
    );
    let mut by_customer: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &reqs {
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        by_customer
            .entry(body["to"].as_str().unwrap().to_string())
            .or_default()
            .push(body["text"]["body"].as_str().unwrap().to_string());
    }
    for c in customers {
        let seq = &by_customer[&format!("+{c}")];
        let order: Vec<usize> = seq
            .iter()
            .map(|t| t.rsplit('-').next().unwrap().parse().unwrap())
            .collect();
        assert!(
            order.windows(2).all(|w| w[0] <= w[1]),
            "conversation {c} out of order: {seq:?}"
        );
        assert_eq!(order.last(), Some(&(per_conversation - 1)));
    }
    // Each message is stored once, whatever the number of attempts.
    for id in &ids {
        let v = app.get_interaction(*id).await;
        let outs: Vec<&Value> = v["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|m| m["direction"] == "out")
            .collect();
        assert_eq!(outs.len(), per_conversation);
    }
    eprintln!(
        "cloud_api_faults: {} messages, {} Cloud API requests, {} scripted faults plus refused connections; all sent, in order",
        customers.len() * per_conversation,
        reqs.len(),
        script.len()
    );
}

/// Opens an agent socket with a tiny receive buffer, so a client that stops reading fills
/// the server's side quickly.
async fn tight_socket(
    port: u16,
    token: &str,
) -> tokio_tungstenite::WebSocketStream<tokio::net::TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(([127, 0, 0, 1], port).into()).await.unwrap();
    let url = format!("ws://127.0.0.1:{port}/ws/agent?token={token}");
    tokio_tungstenite::client_async(url, stream)
        .await
        .unwrap()
        .0
}

/// Reads frames until one of `ty` (and returns it); `None` on close or timeout.
async fn read_until(
    ws: &mut tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>,
    ty: &str,
) -> Option<Value> {
    loop {
        let f = tokio::time::timeout(EVENT_TIMEOUT, ws.next())
            .await
            .ok()??;
        if let Ok(WsMessage::Text(t)) = f {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == ty {
                return Some(v);
            }
        }
    }
}

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_not_buffered() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("limits.ws_max_pending_events", 32);
    })
    .await;
    let b = app
        .setup_basic_with(2, json!({}), json!({"max_concurrent": 1}))
        .await;
    let (slow_agent, fast_agent) = (&b.agents[0], &b.agents[1]);

    let mut slow = tight_socket(app.port, &slow_agent.token).await;
    read_until(&mut slow, "hello").await.expect("hello");
    slow.send(WsMessage::text(
        json!({"type": "set_status", "status": "available", "ref": "s"}).to_string(),
    ))
    .await
    .unwrap();
    read_until(&mut slow, "ack").await.expect("ack");
    app.customer_says("15550009201", "Slow reader", "hi").await;
    let offer = read_until(&mut slow, "offer").await.expect("offer");
    let slow_id = offer["interaction_id"].as_i64().unwrap();
    slow.send(WsMessage::text(
        json!({"type": "accept", "interaction_id": slow_id, "ref": "a"}).to_string(),
    ))
    .await
    .unwrap();
    read_until(&mut slow, "ack").await.expect("accept ack");

    let mut fast = app.agent_online(fast_agent).await;
    let fast_id = app.deliver_and_accept(&mut fast, "15550009202", "hi").await;

    // The slow client reads nothing more; both customers write a lot.
    let n = if long() { 3000 } else { 800 };
    let big = "x".repeat(16 * 1024);
    let flood = futures_util::stream::iter(0..n)
        .map(|k| {
            let app = &app;
            let big = &big;
            async move {
                let from = if k % 2 == 0 {
                    "15550009201"
                } else {
                    "15550009202"
                };
                app.customer_says(from, "Customer", &format!("{k} {big}"))
                    .await;
            }
        })
        .buffer_unordered(8);
    // The fast client keeps reading meanwhile.
    let reader = async {
        let mut got = 0;
        while got < n / 2 {
            fast.wait_for_where("message", EVENT_TIMEOUT, |e| {
                e["interaction_id"] == json!(fast_id)
            })
            .await;
            got += 1;
        }
    };
    tokio::join!(flood.collect::<Vec<()>>(), reader);

    // The server gave up on the slow socket instead of queueing every event for it.
    let deadline = Instant::now() + EVENT_TIMEOUT;
    while !app.server_log().contains("agent socket not reading") {
        assert!(
            Instant::now() < deadline,
            "the slow socket was never dropped"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // What it still delivers is bounded, then it closes.
    let mut frames = 0;
    let mut closed = false;
    while let Ok(Some(f)) = tokio::time::timeout(EVENT_TIMEOUT, slow.next()).await {
        match f {
            Ok(WsMessage::Close(_)) | Err(_) => {
                closed = true;
                break;
            }
            Ok(_) => frames += 1,
        }
    }
    assert!(closed, "the slow socket was not closed");
    assert!(frames < n / 2, "{frames} frames were buffered for it");

    // The fast client was not affected, and the slow one resyncs from hello.
    assert!(!fast.wait_closed(Duration::from_millis(100)).await);
    let back = app.connect(slow_agent).await;
    let it = back.hello["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["id"] == json!(slow_id))
        .cloned()
        .expect("the conversation is back in hello");
    assert_eq!(it["messages"].as_array().unwrap().len(), 1 + n / 2);
    eprintln!(
        "slow_consumer: {n} customer messages of 16 KiB; the slow socket got {frames} frames before it was closed; the fast one got all {}",
        n / 2
    );
}
