//! Client faults: agents whose connections die without a WebSocket close (a crashed tab, a
//! dropped Wi-Fi) at every stage of a conversation, with a command in flight; and reconnect
//! storms of hundreds of agents at once. Checked against R10/R11: nothing acknowledged is
//! lost, a command in flight is applied once or not at all, and every open conversation is in
//! exactly one place. `FAULTS_LONG=1` runs a bigger storm.

use crate::helpers::*;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

fn long() -> bool {
    std::env::var_os("FAULTS_LONG").is_some()
}

/// The agent's connection vanishes: the TCP connection closes without a WebSocket close frame.
fn vanish(c: AgentClient) {
    drop(c);
}

fn held_ids(hello: &Value, state: &str) -> Vec<i64> {
    hello["interactions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|i| i["state"] == state)
        .filter_map(|i| i["id"].as_i64())
        .collect()
}

fn texts_of(hello: &Value, id: i64) -> Vec<String> {
    hello["interactions"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|i| i["id"] == json!(id))
        .map(message_texts)
        .unwrap_or_default()
}

#[tokio::test]
async fn connections_dying_mid_offer_mid_conversation_and_mid_wrap_up_lose_nothing() {
    let app = TestApp::spawn_with(|c| {
        c.set("routing.reconnect_grace_secs", 3);
    })
    .await;
    app.cloud_api_accepts_all().await;
    let b = app
        .setup_basic(
            2,
            json!({"offer_timeout_secs": 60, "wrap_up_secs": 3,
                   "disposition_codes": [{"code": "resolved", "label": "Resolved"}]}),
        )
        .await;
    let (alice, bob) = (&b.agents[0], &b.agents[1]);

    // 1. Mid-offer: Alice is offered the conversation and vanishes. It is rerouted at once
    //    (not after the 60 s offer timeout), and Alice is not penalised (R11).
    let mut a = app.agent_online(alice).await;
    let mut bb = app.connect(bob).await;
    app.customer_says("15550008001", "Dana", "first message")
        .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    let started = Instant::now();
    vanish(a);
    bb.set_status("available").await;
    let again = bb.wait_for("offer", Duration::from_secs(5)).await;
    assert_eq!(again["interaction_id"], json!(id));
    let reroute_ms = started.elapsed().as_millis();
    let a = app.connect(alice).await;
    let status = a.hello["status"]["status"].as_str().unwrap().to_string();
    assert!(
        status != "on_break" && status != "rona",
        "a vanished connection is not a no-answer: {status}"
    );
    assert_eq!(a.hello["offers"], json!([]), "the offer went to Bob");
    vanish(a);

    // 2. Mid-conversation, with a send in flight: Bob accepts, replies (acked), then sends
    //    one more and vanishes before the answer; the customer writes while he is away.
    bb.accept(id).await;
    bb.ok(json!({"type": "send", "interaction_id": id, "text": "acked reply"}))
        .await;
    bb.send_json(
        json!({"type": "send", "interaction_id": id, "text": "in-flight reply",
                        "ref": "lost-ack"}),
    )
    .await;
    vanish(bb);
    app.customer_says("15550008001", "Dana", "while bob is away")
        .await;
    let mut bb = app.connect(bob).await;
    assert_eq!(held_ids(&bb.hello, "active"), vec![id], "{}", bb.hello);
    let texts = texts_of(&bb.hello, id);
    for t in ["first message", "acked reply", "while bob is away"] {
        assert_eq!(
            texts.iter().filter(|x| *x == t).count(),
            1,
            "{t:?} once in the transcript Bob gets back: {texts:?}"
        );
    }
    // The in-flight send was applied once or not at all, and WhatsApp got it iff it is stored.
    let in_flight_stored = texts.iter().filter(|x| *x == "in-flight reply").count();
    assert!(in_flight_stored <= 1, "{texts:?}");
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let sent = app.cloud_api_texts().await;
        let acked_out = sent.iter().any(|t| t == "acked reply");
        let in_flight_out = sent.iter().any(|t| t == "in-flight reply");
        if acked_out && in_flight_out == (in_flight_stored == 1) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "sent to WhatsApp: {sent:?}; stored in-flight reply: {in_flight_stored}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // No one else holds it: Alice's desktop shows nothing.
    let a = app.connect(alice).await;
    assert!(held_ids(&a.hello, "active").is_empty(), "{}", a.hello);
    vanish(a);

    // 3. Mid-wrap-up, back in time: Bob ends, vanishes during the 3 s countdown, comes back
    //    and picks the disposition himself.
    bb.end(id).await;
    bb.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    vanish(bb);
    let mut bb = app.connect(bob).await;
    let wrapping = held_ids(&bb.hello, "wrap_up");
    assert_eq!(wrapping, vec![id], "wrap-up is back in hello: {}", bb.hello);
    bb.wrap_up(id, Some("resolved"))
        .await
        .expect("wrap-up after reconnecting");
    let act = app
        .wait_activity(&format!("?agent_id={}", bob.id), |x| {
            x["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(act["disposition"], "resolved");

    // 4. Mid-wrap-up, away too long: the countdown closes it on its own while Bob is gone,
    //    and his capacity comes back.
    let id2 = app
        .deliver_and_accept(&mut bb, "15550008002", "second customer")
        .await;
    bb.end(id2).await;
    bb.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    vanish(bb);
    let closed = app
        .wait_interaction(id2, "closed by the countdown", |i| i["state"] == "closed")
        .await;
    assert_eq!(closed["state"], "closed");
    let act2 = app
        .wait_activity(&format!("?agent_id={}", bob.id), |x| {
            x["interaction_id"] == json!(id2)
        })
        .await;
    assert!(act2["wrapped_up_at"].is_string(), "{act2}");
    // The grace period (3 s, like the countdown) started when the connection vanished, just
    // after the countdown did: wait for it too, or the agent may not be offline yet.
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let agent = app.admin_get(&format!("/api/v1/agents/{}", bob.id)).await;
        if agent["status"] == "offline" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "away past the grace period, the agent goes offline: {agent}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut bb = app.connect(bob).await;
    assert!(
        bb.hello["interactions"].as_array().unwrap().is_empty(),
        "nothing left on Bob's desk: {}",
        bb.hello
    );
    // Away longer than the grace period: he went offline, and chooses to be available again.
    assert_eq!(bb.hello["status"]["status"], "offline", "{}", bb.hello);
    bb.set_status("available").await;

    // 5. Mid-conversation, away too long: the conversation returns to the front of the queue
    //    and the next agent gets it with its transcript.
    let id3 = app
        .deliver_and_accept(&mut bb, "15550008003", "third customer")
        .await;
    bb.ok(json!({"type": "send", "interaction_id": id3, "text": "bob's answer"}))
        .await;
    let mut a = app.agent_online(alice).await;
    vanish(bb);
    let offer = a.wait_for("offer", Duration::from_secs(10)).await;
    assert_eq!(offer["interaction_id"], json!(id3));
    let ev = a.accept_active(id3).await;
    assert_eq!(
        message_texts(&ev)
            .iter()
            .filter(|t| *t == "third customer" || *t == "bob's answer")
            .count(),
        2,
        "the transcript follows: {ev}"
    );
    let bb = app.connect(bob).await;
    assert!(
        held_ids(&bb.hello, "active").is_empty(),
        "Bob no longer holds it: {}",
        bb.hello
    );
    eprintln!(
        "client faults: offer rerouted {reroute_ms} ms after the connection vanished; \
         in-flight send stored {in_flight_stored} time(s) and sent iff stored; wrap-up resumed \
         after a reconnect and closed by the countdown without one; a conversation returned \
         to the queue after the grace period with its transcript"
    );
}

/// A half-open connection: the socket stays open but nothing comes back, not even the pongs
/// (a frozen tab, a laptop lid closed, a peer gone without a FIN). The heartbeat ends the
/// session after `limits.ws_client_timeout_secs`, the grace period runs, and the
/// conversation goes to the next agent; an agent who is idle but connected is kept.
#[tokio::test]
async fn a_silent_connection_is_dropped_by_the_heartbeat_and_its_conversation_rerouted() {
    let app = TestApp::spawn_with(|c| {
        c.set("limits.ws_client_timeout_secs", 1);
        c.set("routing.reconnect_grace_secs", 1);
    })
    .await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 60})).await;
    let (alice, bob) = (&b.agents[0], &b.agents[1]);
    let mut a = app.agent_online(alice).await;
    let id = app
        .deliver_and_accept(&mut a, "15550008010", "anyone there?")
        .await;
    let mut bb = app.agent_online(bob).await;

    // Alice's client stops reading: tungstenite answers pings only while it reads.
    let silent = Instant::now();
    // Bob sends nothing either, but his client reads (and so answers pings) while he waits,
    // for longer than the timeout.
    let offer = bb
        .wait_for_where("offer", Duration::from_secs(10), |o| {
            o["interaction_id"] == json!(id)
        })
        .await;
    let rerouted = silent.elapsed();
    assert!(
        rerouted >= Duration::from_secs(2),
        "not before the timeout and the grace period: {rerouted:?}"
    );
    let ev = bb.accept_active(id).await;
    assert!(
        message_texts(&ev).iter().any(|t| t == "anyone there?"),
        "the transcript follows: {ev}"
    );
    assert!(!offer["customer"].is_null());

    // Alice's socket was closed by the server: what was buffered, then the end.
    while a.try_next_event(Duration::from_secs(2)).await.is_some() {}
    assert!(a.is_closed(), "the silent socket is closed by the server");
    let a = app.connect(alice).await;
    assert!(held_ids(&a.hello, "active").is_empty(), "{}", a.hello);
    eprintln!(
        "half-open connection: its conversation reached the next agent {} ms after the \
         client went silent (timeout 1 s + grace 1 s)",
        rerouted.as_millis()
    );
}

/// Opens `agents.len()` connections at once; returns them and how long the slowest took.
async fn connect_all(app: &TestApp, agents: &[TestAgent]) -> (Vec<AgentClient>, Duration) {
    let started = Instant::now();
    let conns = futures_util::future::join_all(agents.iter().map(|a| app.connect(a))).await;
    (conns, started.elapsed())
}

#[tokio::test]
async fn a_reconnect_storm_of_hundreds_of_agents_keeps_every_conversation_in_one_place() {
    let n_agents = if long() { 1000 } else { 300 };
    let n_conversations = n_agents / 3;
    let mut app = TestApp::spawn_with(|c| {
        c.set("routing.reconnect_grace_secs", 60)
            .set("auth.login_attempts_per_minute", 100_000);
    })
    .await;
    let b = app
        .setup_basic_with(0, json!({"offer_timeout_secs": 120}), json!({}))
        .await;
    // Agents are created and logged in concurrently (argon2 dominates the set-up).
    let queues = [b.queue_id];
    let mut agents: Vec<TestAgent> = Vec::new();
    for chunk in (0..n_agents).collect::<Vec<_>>().chunks(16) {
        let made = futures_util::future::join_all(
            chunk
                .iter()
                .map(|_| app.new_agent(&queues, json!({"max_concurrent": 1}))),
        )
        .await;
        agents.extend(made);
    }
    let pid = app.pid().unwrap();
    let fds_idle = open_descriptors(pid).len();

    // Storm 1: everyone connects at once, goes available; customers arrive and are accepted.
    let (mut conns, first_storm) = connect_all(&app, &agents).await;
    for c in conns.iter_mut() {
        c.set_status("available").await;
    }
    let mut owner: BTreeMap<i64, i64> = BTreeMap::new(); // interaction -> agent
    for k in 0..n_conversations {
        app.customer_says(&format!("1555100{k:04}"), "Storm", &format!("storm-{k}"))
            .await;
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while owner.len() < n_conversations {
        assert!(
            Instant::now() < deadline,
            "only {} of {n_conversations} conversations were offered and accepted",
            owner.len()
        );
        for c in conns.iter_mut() {
            if let Some(o) = c
                .try_wait_for_where("offer", Duration::from_millis(1), |_| true)
                .await
            {
                let id = o["interaction_id"].as_i64().unwrap();
                c.accept(id).await;
                owner.insert(id, c.agent_id);
            }
        }
    }
    let fds_connected = open_descriptors(pid).len();

    // Storm 2: every connection dies at the same moment, and everyone reconnects at once.
    for c in conns.drain(..) {
        vanish(c);
    }
    let (mut conns, reconnect_storm) = connect_all(&app, &agents).await;

    // Every open conversation is back with its owner, and in no one else's hello.
    let mut seen: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    for c in &conns {
        for id in held_ids(&c.hello, "active") {
            seen.entry(id).or_default().push(c.agent_id);
        }
        assert_eq!(c.hello["offers"], json!([]), "no stray offer: {}", c.hello);
    }
    for (id, agent) in &owner {
        assert_eq!(
            seen.get(id),
            Some(&vec![*agent]),
            "conversation {id} should be with agent {agent} only"
        );
    }
    assert_eq!(
        seen.len(),
        owner.len(),
        "no conversation appeared from nowhere"
    );

    // Storm 3: half reconnect again while their previous connection is still open (the new
    // one replaces the old, which is told so).
    let half: Vec<TestAgent> = agents.iter().step_by(2).cloned().collect();
    let (replacements, _) = connect_all(&app, &half).await;
    let mut replaced = 0;
    for c in conns.iter_mut().step_by(2) {
        if c.try_wait_for_where("replaced", EVENT_TIMEOUT, |_| true)
            .await
            .is_some()
        {
            replaced += 1;
        }
    }
    assert_eq!(replaced, half.len(), "every replaced connection is told so");
    let mut live: BTreeMap<i64, AgentClient> = BTreeMap::new();
    for c in conns.into_iter().skip(1).step_by(2) {
        live.insert(c.agent_id, c);
    }
    for c in replacements {
        live.insert(c.agent_id, c);
    }

    // Every customer writes once more: the message reaches its owner's live connection, once.
    for (id, agent) in owner.iter() {
        let from = {
            let i = app.get_interaction(*id).await;
            let phone = i["customer"]["phone"]
                .as_str()
                .unwrap_or_else(|| panic!("customer of {id}: {i}"));
            phone
                .chars()
                .filter(char::is_ascii_digit)
                .collect::<String>()
        };
        app.customer_says(&from, "Storm", &format!("after-storm-{id}"))
            .await;
        let c = live.get_mut(agent).unwrap();
        c.wait_for_where("message", EVENT_TIMEOUT, |m| {
            m["interaction_id"] == json!(id)
                && m["message"]["text"] == json!(format!("after-storm-{id}"))
        })
        .await;
    }
    let delivered = owner.len();
    // Nobody got a message for someone else's conversation.
    for (agent, c) in live.iter_mut() {
        let mine: BTreeSet<i64> = owner
            .iter()
            .filter(|(_, a)| *a == agent)
            .map(|(i, _)| *i)
            .collect();
        c.expect_no_where("message", Duration::from_millis(1), |m| {
            !mine.contains(&m["interaction_id"].as_i64().unwrap_or(-1))
        })
        .await;
    }

    // Everyone leaves: the server lets go of every socket.
    drop(live);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut fds_after = open_descriptors(pid).len();
    while fds_after > fds_idle + 8 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(200)).await;
        fds_after = open_descriptors(pid).len();
    }
    assert!(
        fds_after <= fds_idle + 8,
        "file descriptors: {fds_idle} idle, {fds_connected} with {n_agents} agents, \
         {fds_after} after they left"
    );
    assert!(app.is_running());
    eprintln!(
        "reconnect storm: {n_agents} agents, {} conversations; all connected in {:.2} s; all \
         dropped and reconnected in {:.2} s with every conversation back with its owner only; \
         {replaced} replaced connections told so; {delivered} messages after the storm each \
         reached its owner once; fds {fds_idle} idle / {fds_connected} connected / {fds_after} \
         after",
        owner.len(),
        first_storm.as_secs_f64(),
        reconnect_storm.as_secs_f64(),
    );
}
