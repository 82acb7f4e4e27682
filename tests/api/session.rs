//! The agent WebSocket session: hello, status, malformed frames, replacement, disconnects (R11).

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn hello_describes_the_agent() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(
            1,
            json!({}),
            json!({"max_concurrent": 4, "can_reject": false}),
        )
        .await;
    let a = app.connect(&b.agents[0]).await;
    let h = &a.hello;
    assert_eq!(h["agent"]["id"], json!(b.agents[0].id));
    assert_eq!(
        h["agent"]["display_name"],
        display_name_of(&b.agents[0].username)
    );
    assert_eq!(h["agent"]["role"], "agent");
    assert_eq!(h["agent"]["max_concurrent"], 4);
    assert_eq!(h["agent"]["can_reject"], false);
    assert_eq!(h["agent"]["auto_multi_match_pop"], true);
    assert!(h["status"]["status"].is_string());
    assert_eq!(h["status"]["stop_new"], false);
    assert!(h["status"]["since"].is_string());
    assert_eq!(h["interactions"], json!([]));
    assert_eq!(h["offers"], json!([]));
    let server = rfc3339_ms(h["server_time"].as_str().unwrap());
    assert!((server - now_ms()).abs() < 10_000);
}

#[tokio::test]
async fn set_status_is_acknowledged_and_broadcast() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.connect(&b.agents[0]).await;
    a.ok(json!({"type": "set_status", "status": "on_break", "reason": "lunch"}))
        .await;
    let st = a
        .wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] == "on_break")
        .await;
    assert_eq!(st["reason"], "lunch");
    assert_eq!(st["stop_new"], false);
    assert_eq!(st["load"], 0);
    assert_eq!(st["max_concurrent"], 3);
    assert!(st["since"].is_string());
    a.set_status("available").await;
    a.wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] == "available")
        .await;
}

#[tokio::test]
async fn clients_cannot_set_rona_or_unknown_statuses() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.connect(&b.agents[0]).await;
    let code = a.err(json!({"type": "set_status", "status": "rona"})).await;
    assert_eq!(code, "invalid_status");
    let code = a
        .err(json!({"type": "set_status", "status": "sleeping"}))
        .await;
    assert!(code == "invalid_status" || code == "bad_request", "{code}");
}

#[tokio::test]
async fn malformed_frames_get_bad_request_and_the_socket_stays_open() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.connect(&b.agents[0]).await;

    a.send_text("this is not json".into()).await;
    let e = a.wait_for("error", EVENT_TIMEOUT).await;
    assert_eq!(e["code"], "bad_request");

    let code = a.err(json!({"type": "no_such_command"})).await;
    assert_eq!(code, "bad_request");
    let code = a.err(json!({"type": "accept"})).await;
    assert_eq!(code, "bad_request", "a missing field is a bad request");
    let code = a
        .err(json!({"type": "accept", "interaction_id": "seven"}))
        .await;
    assert_eq!(code, "bad_request");

    // Still connected and working.
    a.set_status("available").await;
}

#[tokio::test]
async fn a_second_connection_replaces_the_first() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut first = app.agent_online(&b.agents[0]).await;
    let mut second = app.connect(&b.agents[0]).await;
    first.wait_for("replaced", EVENT_TIMEOUT).await;
    assert!(
        first.wait_closed(EVENT_TIMEOUT).await,
        "the replaced socket is closed"
    );
    // The new connection is the agent's: offers arrive there.
    second.set_status("available").await;
    app.customer_says("15550007001", "C", "hi").await;
    second.wait_for("offer", EVENT_TIMEOUT).await;
}

#[tokio::test]
async fn disconnecting_with_a_pending_offer_reroutes_it_without_penalty() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 60})).await;
    let mut c0 = app.agent_online(&b.agents[0]).await;
    let mut c1 = app.agent_online(&b.agents[1]).await;
    app.customer_says("15550007002", "C", "hi").await;
    let (who, offer) = wait_offer_any(&mut [&mut c0, &mut c1], EVENT_TIMEOUT).await;
    let (gone, stay, gone_agent) = if who == 0 {
        (c0, c1, b.agents[0].clone())
    } else {
        (c1, c0, b.agents[1].clone())
    };
    let mut stay = stay;
    gone.close().await;
    // Rerouted at once, long before the 60 s offer timeout.
    let next = stay.wait_for("offer", Duration::from_secs(5)).await;
    assert_eq!(next["interaction_id"], offer["interaction_id"]);

    let back = app.connect(&gone_agent).await;
    let status = back.hello["status"]["status"].as_str().unwrap();
    assert!(
        status != "on_break" && status != "rona",
        "a disconnect is not a no-answer: {status}"
    );
    assert_eq!(back.hello["offers"], json!([]));
}

#[tokio::test]
async fn reconnecting_within_the_grace_period_keeps_the_conversation() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.reconnect_grace_secs", 5);
    })
    .await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550007003", "hi").await;
    let mut other = app.agent_online(&b.agents[1]).await;
    a.close().await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let back = app.connect(&b.agents[0]).await;
    let held = back.hello["interactions"]
        .as_array()
        .expect("hello.interactions");
    let it = held
        .iter()
        .find(|i| i["id"] == json!(id))
        .unwrap_or_else(|| panic!("the conversation is back in hello: {}", back.hello));
    assert_eq!(it["state"], "active");
    assert_eq!(it["owner_agent_id"], json!(b.agents[0].id));
    assert_eq!(it["messages"][0]["text"], "hi");
    // It does not return to the queue after the original grace period either.
    other.expect_no("offer", Duration::from_secs(6)).await;
    assert_eq!(
        app.get_interaction(id).await["owner_agent_id"],
        json!(b.agents[0].id)
    );
}

#[tokio::test]
async fn after_the_grace_period_the_conversation_returns_to_the_queue() {
    let app = TestApp::spawn().await; // reconnect_grace_secs = 2
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550007004", "hi").await;
    let mut other = app.agent_online(&b.agents[1]).await;
    a.close().await;
    other.expect_no("offer", Duration::from_millis(1000)).await;
    let offer = other.wait_for("offer", Duration::from_secs(8)).await;
    assert_eq!(offer["interaction_id"], json!(id));
    other.accept(id).await;
    let ev = other
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| e["id"] == json!(id))
        .await;
    assert_eq!(ev["owner_agent_id"], json!(b.agents[1].id));
    assert_eq!(ev["messages"][0]["text"], "hi", "the transcript follows");
}

#[tokio::test]
async fn a_returning_conversation_goes_to_the_front_of_the_queue() {
    let app = TestApp::spawn().await; // reconnect_grace_secs = 2
    let b = app
        .setup_basic_with(2, json!({}), json!({"max_concurrent": 1}))
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550007005", "old").await;
    let mut other = app.connect(&b.agents[1]).await;
    // A newer conversation waits (no one is available for it).
    app.customer_says("15550007006", "New", "new").await;
    a.close().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    other.set_status("available").await;
    let offer = other.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(
        offer["interaction_id"],
        json!(id),
        "the returning conversation goes before the newer one"
    );
}

#[tokio::test]
async fn load_is_reported_in_status_events() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550007007", "hi").await;
    let st = a
        .wait_for_where("status", EVENT_TIMEOUT, |e| e["load"] == 1)
        .await;
    assert_eq!(st["max_concurrent"], 3);
    assert_eq!(st["status"], "available");
    a.end(id).await;
    a.wrap_up(id, None).await.expect("wrap_up");
    a.wait_for_where("status", EVENT_TIMEOUT, |e| e["load"] == 0)
        .await;
}
