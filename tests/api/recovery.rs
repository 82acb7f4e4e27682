//! Durability: `kill -9` and restart (R10).

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

#[tokio::test]
async fn an_acknowledged_webhook_survives_kill_9() {
    let mut app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    app.customer_says("15550008001", "Durable", "do not lose me")
        .await;
    app.kill9().await;
    app.restart().await;
    let list = app.list_interactions("").await;
    assert_eq!(list.len(), 1);
    let v = app.get_interaction(id_of(list[0].clone())).await;
    assert_eq!(v["state"], "queued");
    assert_eq!(v["messages"][0]["text"], "do not lose me");
}

#[tokio::test]
async fn an_active_conversation_is_back_after_kill_9() {
    let mut app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.reconnect_grace_secs", 60);
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, "15550008002", "before the crash")
        .await;
    app.customer_says("15550008002", "Customer", "and more")
        .await;
    a.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "and more"
    })
    .await;
    drop(a);

    app.kill9().await;
    app.restart().await;

    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert_eq!(v["owner_agent_id"], json!(b.agents[0].id));

    // The owner's session survived too; reconnecting gives the conversation back.
    let mut back = app.connect(&b.agents[0]).await;
    let it = back.hello["interactions"]
        .as_array()
        .expect("hello.interactions")
        .iter()
        .find(|i| i["id"] == json!(id))
        .cloned()
        .unwrap_or_else(|| panic!("the conversation is in hello: {}", back.hello));
    assert_eq!(it["state"], "active");
    let texts: Vec<&str> = it["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(texts, ["before the crash", "and more"]);
    // And it can be carried on: end works on the restored interaction.
    back.end(id).await;
    back.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
}

#[tokio::test]
async fn a_message_the_api_did_not_take_is_sent_after_restart() {
    let mut app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.reconnect_grace_secs", 60);
    })
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.cloud_api)
        .await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550008006", "hello").await;
    a.send_message(id, "acknowledged, so never lost")
        .await
        .expect("send ack");
    app.wait_cloud_api_requests(1).await;
    drop(a);
    app.kill9().await;

    app.cloud_api.reset().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    app.restart().await;
    let v = app
        .wait_interaction(id, "the outbound message sent", |v| {
            v["messages"].as_array().is_some_and(|ms| {
                ms.iter()
                    .any(|m| m["direction"] == "out" && m["status"] == "sent")
            })
        })
        .await;
    let outs: Vec<_> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .collect();
    assert_eq!(outs.len(), 1);
    let reqs = app.cloud_api_requests().await;
    assert_eq!(reqs.len(), 1, "sent once after the restart");
    let body: serde_json::Value = reqs[0].body_json().unwrap();
    assert_eq!(body["text"]["body"], "acknowledged, so never lost");
}

#[tokio::test]
async fn a_sent_message_is_not_sent_again_after_restart() {
    let mut app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.reconnect_grace_secs", 60);
    })
    .await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550008007", "hello").await;
    a.send_message(id, "once only").await.expect("send ack");
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;
    drop(a);
    app.kill9().await;
    app.restart().await;
    let v = app.get_interaction(id).await;
    let out = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "out")
        .cloned()
        .expect("the outbound message");
    assert_eq!(out["status"], "sent");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(app.cloud_api_requests().await.len(), 1);
}

#[tokio::test]
async fn a_queued_conversation_is_offered_after_restart() {
    let mut app = TestApp::spawn().await;
    // One chat at a time, so the first offer is the head of the queue: with room for two,
    // both are offered at once and their offers may reach the desktop in either order.
    let b = app
        .setup_basic_with(1, json!({}), json!({"max_concurrent": 1}))
        .await;
    app.customer_says("15550008003", "First", "1").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.customer_says("15550008004", "Second", "2").await;
    app.kill9().await;
    app.restart().await;

    let mut a = app.agent_online(&b.agents[0]).await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(
        offer["customer"]["phone"], "+15550008003",
        "queue order kept"
    );
    assert_eq!(offer["queue"]["id"], json!(b.queue_id));
    let waiting = app.list_interactions("?state=queued").await;
    assert_eq!(waiting.len(), 1, "the second still waits: {waiting:?}");
    assert_eq!(waiting[0]["customer"]["phone"], "+15550008004");
}

#[tokio::test]
async fn a_wrap_up_deadline_passed_during_downtime_fires_at_once() {
    let mut app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"wrap_up_secs": 2})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550008005", "hi").await;
    a.end(id).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    drop(a);
    app.kill9().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    app.restart().await;

    let deadline = std::time::Instant::now() + Duration::from_secs(3);
    loop {
        let v = app.get_interaction(id).await;
        if v["state"] == "closed" {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the expired wrap-up must complete right after the restart: {}",
            v["state"]
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let act = app
        .wait_activity(&format!("?agent_id={}", b.agents[0].id), |x| {
            x["interaction_id"] == json!(id)
        })
        .await;
    assert!(act["disposition"].is_null());
}

#[tokio::test]
async fn configuration_and_accounts_survive_a_restart() {
    let mut app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"name": "Persisted"})).await;
    app.restart().await;
    let q = app
        .admin_get(&format!("/api/v1/queues/{}", b.queue_id))
        .await;
    assert_eq!(q["name"], "Persisted");
    assert_eq!(q["members"], json!([b.agents[0].id]));
    // Tokens issued before the restart still work, and the bootstrap admin is not duplicated.
    let me = json_ok(app.get("/api/v1/me", Some(&b.agents[0].token)).await, "me").await;
    assert_eq!(me["id"], json!(b.agents[0].id));
    let admins: Vec<_> = items_of(app.admin_get("/api/v1/agents").await)
        .into_iter()
        .filter(|u| u["username"] == ADMIN_USERNAME)
        .collect();
    assert!(admins.len() <= 1);
}

#[tokio::test]
async fn what_a_later_customer_message_changes_survives_kill_9() {
    let mut app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let an_hour_ago = now_secs() - 3600;
    app.customer_says_at("15550008101", "Old Name", "first", an_hour_ago)
        .await;
    // A later message: a new profile name and a newer time. Only these change in the row.
    app.customer_says("15550008101", "New Name", "second").await;
    let id = id_of(app.list_interactions("").await[0].clone());
    let before = app.get_interaction(id).await;
    app.kill9().await;
    app.restart().await;
    let after = app.get_interaction(id).await;
    assert_eq!(after["customer"]["name"], "New Name");
    let last = rfc3339_ms(after["last_customer_message_at"].as_str().unwrap());
    assert!(
        last > an_hour_ago * 1000 + 3_000_000,
        "the second message's time: {after}"
    );
    for field in [
        "state",
        "queue",
        "created_at",
        "priority",
        "last_customer_message_at",
    ] {
        assert_eq!(after[field], before[field], "{field}");
    }
}
