//! Transfer (R17) and transfer targets (R19): to a queue (front of it), to an agent (offer of
//! kind `transfer`, accept, reject, timeout), the transferring agent's wrap-up, bad input, and
//! a pending transfer across `kill -9`.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(1500);
/// Offer timeout 5 s (the contract's minimum) plus slack.
const TIMEOUT_WAIT: Duration = Duration::from_secs(12);
/// The second channel's phone_number_id (routes to a second queue).
const OTHER_PNID: &str = "2223334444";

fn name_of(a: &TestAgent) -> String {
    display_name_of(&a.username)
}

/// Waits for an `interaction` event of `id` that satisfies `pred`.
async fn interaction_where(c: &mut AgentClient, id: i64, pred: impl Fn(&Value) -> bool) -> Value {
    c.wait_for_where("interaction", EVENT_TIMEOUT, |e| {
        e["id"] == json!(id) && pred(e)
    })
    .await
}

async fn wait_offer_for(c: &mut AgentClient, id: i64, timeout: Duration) -> Value {
    c.wait_for_where("offer", timeout, |e| e["interaction_id"] == json!(id))
        .await
}

fn transfer_to_agent(id: i64, agent: i64) -> Value {
    json!({"type": "transfer", "interaction_id": id, "agent_id": agent})
}

fn transfer_to_queue(id: i64, queue: i64) -> Value {
    json!({"type": "transfer", "interaction_id": id, "queue_id": queue})
}

/// Sends `transfer_targets` and returns the `transfer_targets` event (after its ack).
async fn targets(c: &mut AgentClient, filter: Option<&str>) -> Value {
    let mut cmd = json!({"type": "transfer_targets"});
    if let Some(f) = filter {
        cmd["filter"] = json!(f);
    }
    let ack = c.ok(cmd).await;
    let reference = ack["ref"].clone();
    c.wait_for_where("transfer_targets", EVENT_TIMEOUT, |e| e["ref"] == reference)
        .await
}

fn agent_ids(t: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = t["agents"]
        .as_array()
        .unwrap_or_else(|| panic!("no agents in {t}"))
        .iter()
        .map(|a| a["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

fn queue_ids(t: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = t["queues"]
        .as_array()
        .unwrap_or_else(|| panic!("no queues in {t}"))
        .iter()
        .map(|q| q["id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

// ---------------------------------------------------------------------------------------------
// Transfer targets (R19)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transfer_targets_lists_queues_and_only_agents_that_can_take_a_transfer() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(0, json!({"name": "Billing Desk"})).await;
    let sales = app.create_queue(json!({"name": "Sales Team"})).await;
    let asker = app
        .new_agent(&[b.queue_id], json!({"display_name": "Asker Person"}))
        .await;
    let ready = app
        .new_agent(&[sales], json!({"display_name": "Zelda Ready"}))
        .await;
    let working = app
        .new_agent(
            &[b.queue_id],
            json!({"display_name": "Yannick Working", "max_concurrent": 2}),
        )
        .await;
    let full = app
        .new_agent(
            &[b.queue_id],
            json!({"display_name": "Xavier Full", "max_concurrent": 1}),
        )
        .await;
    let on_break = app
        .new_agent(&[sales], json!({"display_name": "Walter Break"}))
        .await;
    let stop_new = app
        .new_agent(&[sales], json!({"display_name": "Vera Stopnew"}))
        .await;
    let offline = app
        .new_agent(&[sales], json!({"display_name": "Ursula Gone"}))
        .await;

    // One conversation fills the single slot of `full`; one takes one of two of `working`.
    let mut full_c = app.agent_online(&full).await;
    app.deliver_and_accept(&mut full_c, "15550101001", "first")
        .await;
    let mut work_c = app.agent_online(&working).await;
    app.deliver_and_accept(&mut work_c, "15550101002", "second")
        .await;

    let mut asker_c = app.agent_online(&asker).await;
    let _ready_c = app.agent_online(&ready).await;
    let mut brk = app.connect(&on_break).await;
    brk.set_status("on_break").await;
    let mut sn = app.agent_online(&stop_new).await;
    sn.ok(json!({"type": "stop_new", "enabled": true})).await;
    let gone = app.agent_online(&offline).await;
    gone.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let t = targets(&mut asker_c, None).await;
    let mut expected = vec![ready.id, working.id];
    expected.sort();
    assert_eq!(
        agent_ids(&t),
        expected,
        "connected, available, taking offers, below capacity, not the asker: {t}"
    );
    let y = t["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["id"] == json!(working.id))
        .unwrap()
        .clone();
    assert_eq!(y["display_name"], "Yannick Working");
    assert_eq!(y["load"], 1);
    assert_eq!(y["max_concurrent"], 2);
    let mut all_queues = vec![b.queue_id, sales];
    all_queues.sort();
    assert_eq!(queue_ids(&t), all_queues);
    let billing = t["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == json!(b.queue_id))
        .unwrap()
        .clone();
    assert_eq!(billing["name"], "Billing Desk");
    assert_eq!(billing["waiting"], 0);

    // Refreshable on demand: the list follows changes of status.
    work_c
        .ok(json!({"type": "stop_new", "enabled": true}))
        .await;
    brk.set_status("available").await;
    let t = targets(&mut asker_c, None).await;
    let mut expected = vec![ready.id, on_break.id];
    expected.sort();
    assert_eq!(agent_ids(&t), expected, "{t}");

    // The filter: a case-insensitive substring of queue names and agent display names.
    let f = targets(&mut asker_c, Some("zELd")).await;
    assert_eq!(agent_ids(&f), vec![ready.id]);
    assert_eq!(queue_ids(&f), Vec::<i64>::new());
    let f = targets(&mut asker_c, Some("team")).await;
    assert_eq!(queue_ids(&f), vec![sales]);
    assert_eq!(agent_ids(&f), Vec::<i64>::new());
    let f = targets(&mut asker_c, Some("nobody-matches-this")).await;
    assert_eq!(agent_ids(&f), Vec::<i64>::new());
    assert_eq!(queue_ids(&f), Vec::<i64>::new());
    // The asker is never listed, even when its name matches.
    let f = targets(&mut asker_c, Some("asker")).await;
    assert_eq!(agent_ids(&f), Vec::<i64>::new());
}

#[tokio::test]
async fn transfer_targets_counts_waiting_conversations() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.connect(&b.agents[0]).await;
    a.set_status("on_break").await;
    app.customer_says("15550101011", "W1", "one").await;
    app.customer_says("15550101012", "W2", "two").await;
    app.wait_interaction(
        id_of(app.list_interactions("").await[0].clone()),
        "queued",
        |v| v["state"] == "queued",
    )
    .await;
    let t = targets(&mut a, None).await;
    let q = t["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == json!(b.queue_id))
        .cloned()
        .unwrap_or_else(|| panic!("queue missing: {t}"));
    assert_eq!(q["waiting"], 2, "{t}");
    assert_eq!(q["name"], json!(b.queue_name));
}

// ---------------------------------------------------------------------------------------------
// Transfer to a queue
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transfer_to_a_queue_lands_at_its_front_and_wraps_up_the_transferring_agent() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let sales = app
        .create_queue(json!({"name": "Sales Queue", "wrap_up_secs": 120}))
        .await;
    app.create_channel_with(
        sales,
        json!({"name": "Sales line", "phone_number_id": OTHER_PNID, "display_phone_number": "+1 555 0200"}),
    )
    .await;
    let seller = app.new_agent(&[sales], json!({"max_concurrent": 1})).await;
    let mut x = app.connect(&seller).await;
    x.set_status("on_break").await;

    // Two conversations already wait in Sales, older than the transfer.
    customer_says_on(&app, OTHER_PNID, "15550102001", "Old One", "waiting 1").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    customer_says_on(&app, OTHER_PNID, "15550102002", "Old Two", "waiting 2").await;

    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, "15550102003", "please move me")
        .await;
    a.ok(transfer_to_queue(id, sales)).await;

    // The transferring agent wraps up at once, with the queue's codes.
    let w = a
        .wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert!(w["deadline"].is_string());
    let note = format!(
        "{} transferred the conversation to the queue Sales Queue",
        name_of(&b.agents[0])
    );
    wait_note(&mut a, id, &note).await;

    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "queued");
    assert_eq!(v["queue"]["id"], json!(sales));
    assert!(v["owner_agent_id"].is_null(), "{v}");

    // The first offer in Sales is the transferred conversation, ahead of older ones.
    x.set_status("available").await;
    let offer = x.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(
        offer["interaction_id"],
        json!(id),
        "front of the queue: {offer}"
    );
    assert_eq!(offer["queue"]["id"], json!(sales));
    x.accept(id).await;
    let it = interaction_where(&mut x, id, |e| e["state"] == "active").await;
    assert_eq!(it["owner_agent_id"], json!(seller.id));
    let texts = message_texts(&it);
    assert!(
        texts.iter().any(|t| t == "please move me") && texts.iter().any(|t| t == &note),
        "the transcript follows: {texts:?}"
    );

    // The transferring agent's wrap-up closes only its part.
    a.wrap_up(id, Some("resolved")).await.expect("wrap_up");
    let done = a
        .wait_for_where("wrap_up_done", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(done["auto"], false);
    assert_eq!(app.get_interaction(id).await["state"], "active");

    // Then the older ones, oldest first.
    x.end(id).await;
    x.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    x.wrap_up(id, None).await.expect("wrap_up");
    let next = x.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(next["customer"]["phone"], "+15550102001");
}

#[tokio::test]
async fn the_transferring_agent_wraps_up_with_the_codes_of_the_queue_it_worked_in() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"wrap_up_secs": 60})).await;
    let sales = app
        .create_queue(json!({
            "wrap_up_secs": 600,
            "disposition_codes": [{"code": "sale_made", "label": "Sale made"}],
        }))
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550102021", "hi").await;
    a.ok(transfer_to_queue(id, sales)).await;
    let w = a
        .wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    let left = rfc3339_ms(w["deadline"].as_str().unwrap()) - now_ms();
    assert!(
        (50_000..=70_000).contains(&left),
        "the worked-in queue's wrap_up_secs: {left} ms"
    );
    let codes: Vec<&str> = w["disposition_codes"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(
        codes.contains(&"resolved") && !codes.contains(&"sale_made"),
        "the codes of the queue the agent handled it in: {w}"
    );
    a.wrap_up(id, Some("resolved"))
        .await
        .expect("a code of the queue it worked in");
}

#[tokio::test]
async fn transfer_to_a_queue_is_offered_to_its_members() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let other = app.create_queue(json!({})).await;
    let member = app.new_agent(&[other], json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let mut m = app.agent_online(&member).await;
    let id = app.deliver_and_accept(&mut a, "15550102011", "hi").await;
    a.ok(transfer_to_queue(id, other)).await;
    let offer = wait_offer_for(&mut m, id, EVENT_TIMEOUT).await;
    assert_eq!(offer["queue"]["id"], json!(other));
    m.accept(id).await;
    let it = interaction_where(&mut m, id, |e| e["state"] == "active").await;
    assert_eq!(it["owner_agent_id"], json!(member.id));
    // The former owner no longer gets the customer's messages.
    app.customer_says("15550102011", "Customer", "after the transfer")
        .await;
    m.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "after the transfer"
    })
    .await;
    a.expect_no_where("message", Duration::from_millis(500), |e| {
        e["message"]["text"] == "after the transfer"
    })
    .await;
}

// ---------------------------------------------------------------------------------------------
// Transfer to an agent
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn transfer_to_an_agent_accepted_carries_the_transcript() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, "15550103001", "first question")
        .await;
    a.send_message(id, "answer from the first agent")
        .await
        .expect("send");
    let mut t = app.agent_online(&b.agents[1]).await;

    a.ok(transfer_to_agent(id, b.agents[1].id)).await;

    let offer = wait_offer_for(&mut t, id, EVENT_TIMEOUT).await;
    assert_eq!(offer["kind"], "transfer");
    assert_eq!(offer["from_agent"]["id"], json!(b.agents[0].id));
    assert_eq!(offer["from_agent"]["display_name"], name_of(&b.agents[0]));
    assert_eq!(offer["customer"]["phone"], "+15550103001");
    // Wrap-up starts at once, before the target answers.
    a.wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id)
    })
    .await;
    assert_eq!(app.get_interaction(id).await["state"], "offered");
    // The transferring agent can no longer write.
    let e = a.send_message(id, "too late").await.unwrap_err();
    assert_eq!(e["code"], "invalid_state", "{e}");

    t.accept(id).await;
    let it = interaction_where(&mut t, id, |e| e["state"] == "active").await;
    assert_eq!(it["owner_agent_id"], json!(b.agents[1].id));
    let texts = message_texts(&it);
    assert!(
        texts.contains(&"first question".to_string())
            && texts.contains(&"answer from the first agent".to_string()),
        "the whole transcript: {texts:?}"
    );
    let owner = it["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["role"] == "owner" && p["wrap_up_deadline"].is_null())
        .cloned()
        .unwrap_or_else(|| panic!("an owner participant: {it}"));
    assert_eq!(owner["agent_id"], json!(b.agents[1].id), "{it}");

    // The new owner writes; the customer's messages reach it and not the former owner.
    t.send_message(id, "hello from the second agent")
        .await
        .expect("send");
    app.customer_says("15550103001", "Customer", "thanks").await;
    t.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "thanks"
    })
    .await;
    a.expect_no_where("message", Duration::from_millis(500), |e| {
        e["message"]["text"] == "thanks"
    })
    .await;

    // Both wrap up; the call log names both agents.
    a.wrap_up(id, Some("follow_up")).await.expect("wrap_up");
    t.end(id).await;
    t.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    t.wrap_up(id, Some("resolved")).await.expect("wrap_up");
    let act = app
        .wait_activity(&format!("?agent_id={}", b.agents[1].id), |x| {
            x["interaction_id"] == json!(id)
        })
        .await;
    let agents: Vec<i64> = act["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["agent_id"].as_i64().unwrap())
        .collect();
    assert!(
        agents.contains(&b.agents[0].id) && agents.contains(&b.agents[1].id),
        "{act}"
    );
    // Which code is the call's after a transfer is not pinned down by the contract.
    assert!(
        act["disposition"] == "resolved" || act["disposition"] == "follow_up",
        "{act}"
    );
}

#[tokio::test]
async fn rejected_transfer_goes_to_the_front_of_its_queue() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(2, json!({}), json!({"max_concurrent": 1}))
        .await;
    let elsewhere = app.create_queue(json!({})).await;
    let target = app.new_agent(&[elsewhere], json!({})).await;
    let (owner, later) = (&b.agents[0], &b.agents[1]);
    let mut a = app.agent_online(owner).await;
    let mut l = app.connect(later).await;
    l.set_status("on_break").await;
    let id = app
        .deliver_and_accept(&mut a, "15550103011", "transfer me")
        .await;
    // An older conversation waits behind (the owner is at capacity).
    app.customer_says("15550103012", "Older", "I was waiting")
        .await;

    let mut t = app.agent_online(&target).await;
    a.ok(transfer_to_agent(id, target.id)).await;
    wait_offer_for(&mut t, id, EVENT_TIMEOUT).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;

    t.ok(json!({"type": "reject", "interaction_id": id})).await;
    let revoked = t
        .wait_for_where("offer_revoked", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(revoked["reason"], "rejected");
    t.wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] == "on_break")
        .await;
    let v = app
        .wait_interaction(id, "back in the queue", |v| v["state"] == "queued")
        .await;
    assert_eq!(v["queue"]["id"], json!(b.queue_id), "its own queue");
    let texts = message_texts(&v);
    assert!(texts.contains(&"transfer me".to_string()), "never dropped");

    // The next eligible agent gets the transferred one first, before the older waiting one.
    l.set_status("available").await;
    let offer = l.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["interaction_id"], json!(id), "front of the queue");
}

#[tokio::test]
async fn transfer_offer_that_times_out_goes_back_to_the_queue() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 5})).await;
    let elsewhere = app.create_queue(json!({})).await;
    let target = app.new_agent(&[elsewhere], json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let mut other = app.connect(&b.agents[1]).await;
    other.set_status("on_break").await;
    let id = app.deliver_and_accept(&mut a, "15550103021", "hello").await;
    let mut t = app.agent_online(&target).await;
    a.ok(transfer_to_agent(id, target.id)).await;
    let offer = wait_offer_for(&mut t, id, EVENT_TIMEOUT).await;
    assert_eq!(offer["kind"], "transfer");
    let lasting = rfc3339_ms(offer["expires_at"].as_str().unwrap()) - now_ms();
    assert!(lasting <= 6_000, "the queue's offer timeout: {lasting} ms");

    let revoked = t
        .wait_for_where("offer_revoked", TIMEOUT_WAIT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(revoked["reason"], "timeout");
    t.wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] == "on_break")
        .await;
    app.wait_interaction(id, "queued", |v| v["state"] == "queued")
        .await;
    // The transferring agent is in wrap-up for it: not offered back to it.
    a.expect_no_where("offer", Duration::from_millis(500), |e| {
        e["interaction_id"] == json!(id)
    })
    .await;
    other.set_status("available").await;
    wait_offer_for(&mut other, id, EVENT_TIMEOUT).await;
    other.accept(id).await;
    let it = interaction_where(&mut other, id, |e| e["state"] == "active").await;
    assert!(message_texts(&it).contains(&"hello".to_string()));
}

// ---------------------------------------------------------------------------------------------
// Bad input: a clear error code, nothing changed
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn bad_transfers_are_refused_and_change_nothing() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let other_queue = app.create_queue(json!({})).await;
    let on_break = app.new_agent(&[other_queue], json!({})).await;
    let never_connected = app.new_agent(&[other_queue], json!({})).await;
    let full = app
        .new_agent(&[other_queue], json!({"max_concurrent": 1}))
        .await;
    let stopped = app.new_agent(&[other_queue], json!({})).await;

    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550104001", "hi").await;
    let mut stranger = app.agent_online(&b.agents[1]).await;
    let mut brk = app.connect(&on_break).await;
    brk.set_status("on_break").await;
    let mut f = app.agent_online(&full).await;
    // Fill the single slot of `full` with a conversation of its own queue.
    let cq_channel = app
        .create_channel_with(
            other_queue,
            json!({"phone_number_id": "2223334446", "display_phone_number": "+1 555 0300"}),
        )
        .await;
    assert!(cq_channel > 0);
    let mut s = app.agent_online(&stopped).await;
    s.ok(json!({"type": "stop_new", "enabled": true})).await;
    customer_says_on(&app, "2223334446", "15550104003", "Fills", "fill").await;
    let fill = f.wait_for("offer", EVENT_TIMEOUT).await;
    f.accept(fill["interaction_id"].as_i64().unwrap()).await;

    let before = app.get_interaction(id).await;

    // Not in the conversation.
    let code = stranger.err(transfer_to_queue(id, other_queue)).await;
    assert_eq!(code, "not_participant");
    let code = stranger.err(transfer_to_agent(id, b.agents[1].id)).await;
    assert_eq!(code, "not_participant");
    // To itself.
    assert_eq!(
        a.err(transfer_to_agent(id, b.agents[0].id)).await,
        "invalid_target"
    );
    // Unknown targets and conversations.
    assert_eq!(a.err(transfer_to_agent(id, 987_654)).await, "not_found");
    assert_eq!(a.err(transfer_to_queue(id, 987_654)).await, "not_found");
    assert_eq!(
        a.err(transfer_to_queue(987_654, other_queue)).await,
        "not_found"
    );
    // Unavailable agents: on break, not connected, at capacity, not taking new ones.
    for who in [on_break.id, never_connected.id, full.id, stopped.id] {
        assert_eq!(
            a.err(transfer_to_agent(id, who)).await,
            "target_unavailable",
            "agent {who}"
        );
    }
    // Both or neither target.
    assert_eq!(
        a.err(json!({"type": "transfer", "interaction_id": id, "queue_id": other_queue, "agent_id": b.agents[1].id}))
            .await,
        "bad_request"
    );
    assert_eq!(
        a.err(json!({"type": "transfer", "interaction_id": id}))
            .await,
        "bad_request"
    );

    // Nothing changed: still active with the same owner, no wrap-up, no offers anywhere.
    let after = app.get_interaction(id).await;
    assert_eq!(after["state"], "active");
    assert_eq!(after["owner_agent_id"], json!(b.agents[0].id));
    assert_eq!(after["queue"]["id"], json!(b.queue_id));
    assert_eq!(
        message_texts(&after),
        message_texts(&before),
        "no system message was added"
    );
    a.expect_no("wrap_up_started", Duration::from_millis(300))
        .await;
    stranger
        .expect_no("offer", Duration::from_millis(100))
        .await;
    brk.expect_no("offer", Duration::from_millis(100)).await;
    s.expect_no("offer", Duration::from_millis(100)).await;
    // The owner can still write and transfer for real.
    a.ok(transfer_to_agent(id, b.agents[1].id)).await;
    wait_offer_for(&mut stranger, id, EVENT_TIMEOUT).await;
}

#[tokio::test]
async fn transfer_during_wrap_up_or_by_a_non_owner_is_refused() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(3, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550104011", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    let mut third = app.agent_online(&b.agents[2]).await;

    // A conferenced agent is in it but is not the owner.
    invite_and_join(&mut a, &mut g, id, &name_of(&b.agents[1])).await;
    assert_eq!(
        g.err(transfer_to_agent(id, b.agents[2].id)).await,
        "not_owner"
    );
    assert_eq!(g.err(transfer_to_queue(id, b.queue_id)).await, "not_owner");
    // The owner cannot transfer while the conference runs.
    assert_eq!(
        a.err(transfer_to_agent(id, b.agents[2].id)).await,
        "invalid_state"
    );
    third.expect_no("offer", Duration::from_millis(300)).await;

    // During wrap-up.
    a.end(id).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    assert_eq!(
        a.err(transfer_to_agent(id, b.agents[2].id)).await,
        "invalid_state"
    );
    assert_eq!(
        a.err(transfer_to_queue(id, b.queue_id)).await,
        "invalid_state"
    );
    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "wrap_up");
    third.expect_no("offer", Duration::from_millis(300)).await;
}

#[tokio::test]
async fn a_second_transfer_while_one_is_pending_is_refused() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(3, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550104021", "hi").await;
    let mut t = app.agent_online(&b.agents[1]).await;
    let mut u = app.agent_online(&b.agents[2]).await;
    a.ok(transfer_to_agent(id, b.agents[1].id)).await;
    wait_offer_for(&mut t, id, EVENT_TIMEOUT).await;
    let code = a.err(transfer_to_agent(id, b.agents[2].id)).await;
    assert!(
        code == "invalid_state" || code == "not_owner",
        "the former owner can no longer route it: {code}"
    );
    u.expect_no("offer", SHORT).await;
}

// ---------------------------------------------------------------------------------------------
// Recovery (R10)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn a_pending_transfer_survives_kill_9_and_is_offered_again() {
    let mut app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.reconnect_grace_secs", 60);
    })
    .await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 120})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, "15550105001", "survive the crash")
        .await;
    let mut t = app.agent_online(&b.agents[1]).await;
    a.ok(transfer_to_agent(id, b.agents[1].id)).await;
    wait_offer_for(&mut t, id, EVENT_TIMEOUT).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    drop(a);
    drop(t);

    app.kill9().await;
    app.restart().await;

    // Back in its queue (the offered agent is not connected), transcript intact.
    let v = app
        .wait_interaction(id, "queued after restart", |v| v["state"] == "queued")
        .await;
    assert_eq!(v["queue"]["id"], json!(b.queue_id));
    assert!(message_texts(&v).contains(&"survive the crash".to_string()));

    // Offered as soon as an eligible agent connects.
    let mut t = app.agent_online(&b.agents[1]).await;
    let offer = wait_offer_for(&mut t, id, EVENT_TIMEOUT).await;
    t.accept(id).await;
    let it = interaction_where(&mut t, id, |e| e["state"] == "active").await;
    assert_eq!(it["owner_agent_id"], json!(b.agents[1].id));
    assert!(message_texts(&it).contains(&"survive the crash".to_string()));
    assert_eq!(offer["customer"]["phone"], "+15550105001");

    // The transferring agent is still wrapping it up after the restart.
    let a = app.connect(&b.agents[0]).await;
    let mine = a.hello["interactions"]
        .as_array()
        .unwrap()
        .iter()
        .any(|i| i["id"] == json!(id));
    assert!(mine, "the wrap-up survives too: {}", a.hello);
}
