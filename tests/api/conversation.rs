//! Accepting and holding a conversation: transcript, outbound messages through the Cloud API,
//! delivery statuses, limits and the customer service window (R1, R5, R6, R12, R14).

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const CUSTOMER: &str = "15550005001";

/// One agent online with an accepted conversation from CUSTOMER.
async fn active_conversation(app: &TestApp) -> (AgentClient, i64) {
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, CUSTOMER, "I need help")
        .await;
    (a, id)
}

fn out_messages(v: &Value) -> Vec<Value> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out")
        .cloned()
        .collect()
}

async fn wait_status(a: &mut AgentClient, id: i64, status: &str) -> Value {
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id) && e["status"] == status
    })
    .await
}

#[tokio::test]
async fn accept_makes_the_interaction_active_with_its_transcript() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says(CUSTOMER, "Maria", "I need help").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept(id).await;
    let ev = a
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| e["id"] == json!(id))
        .await;
    assert_eq!(ev["state"], "active");
    assert_eq!(ev["owner_agent_id"], json!(b.agents[0].id));
    assert_eq!(ev["customer"]["phone"], "+15550005001");
    assert_eq!(ev["customer"]["name"], "Maria");
    assert_eq!(ev["channel_id"], json!(b.channel_id));
    assert_eq!(ev["queue"]["id"], json!(b.queue_id));
    assert_eq!(ev["conference_state"], "none");
    assert!(ev["accepted_at"].is_string());
    let parts = ev["participants"].as_array().expect("participants");
    assert_eq!(parts.len(), 1);
    assert_eq!(parts[0]["agent_id"], json!(b.agents[0].id));
    assert_eq!(parts[0]["role"], "owner");
    assert_eq!(ev["messages"][0]["text"], "I need help");
    assert_eq!(ev["messages"][0]["direction"], "in");
    let last = rfc3339_ms(ev["last_customer_message_at"].as_str().unwrap());
    let window = rfc3339_ms(ev["window_expires_at"].as_str().unwrap());
    assert!(
        (window - last - 24 * 3600 * 1000).abs() < 2000,
        "24 h window"
    );

    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert_eq!(v["owner_agent_id"], json!(b.agents[0].id));
}

#[tokio::test]
async fn later_customer_messages_reach_the_owner() {
    let app = TestApp::spawn().await;
    let (mut a, id) = active_conversation(&app).await;
    app.customer_says(CUSTOMER, "Maria", "Order 1234").await;
    let ev = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "Order 1234"
        })
        .await;
    assert_eq!(ev["interaction_id"], json!(id));
    assert_eq!(ev["message"]["direction"], "in");
    assert_eq!(ev["message"]["author"]["kind"], "customer");
    assert_eq!(ev["message"]["kind"], "text");
    // Still one interaction, now with two messages.
    let v = app.get_interaction(id).await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);
    assert_eq!(app.list_interactions("").await.len(), 1);
}

#[tokio::test]
async fn send_posts_to_the_cloud_api_and_becomes_sent() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    a.send_message(id, "Hello Maria, how can I help?")
        .await
        .expect("send ack");
    let st = wait_status(&mut a, id, "sent").await;
    assert!(st["message_id"].is_i64());

    let reqs = app.wait_cloud_api_requests(1).await;
    assert_eq!(reqs.len(), 1);
    let req = &reqs[0];
    assert_eq!(req.method.as_str(), "POST");
    assert_eq!(
        req.headers
            .get("authorization")
            .and_then(|h| h.to_str().ok()),
        Some("Bearer test-access-token")
    );
    let body: Value = req.body_json().expect("JSON body");
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": "+15550005001",
            "type": "text",
            "text": {"preview_url": false, "body": "Hello Maria, how can I help?"}
        })
    );

    let v = app.get_interaction(id).await;
    let outs = out_messages(&v);
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0]["text"], "Hello Maria, how can I help?");
    assert_eq!(outs[0]["status"], "sent");
    assert_eq!(outs[0]["author"]["kind"], "agent");
    assert_eq!(outs[0]["id"], st["message_id"]);
}

#[tokio::test]
async fn server_errors_are_retried_and_sent_once() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"error": {"message": "boom", "code": 1}})),
        )
        .up_to_n_times(1)
        .mount(&app.cloud_api)
        .await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    a.send_message(id, "retry me").await.expect("send ack");
    wait_status(&mut a, id, "sent").await;
    a.expect_no_where("message_status", Duration::from_millis(800), |e| {
        e["status"] == "sent" || e["status"] == "failed"
    })
    .await;
    assert_eq!(
        app.cloud_api_requests().await.len(),
        2,
        "one failure, one success"
    );
}

#[tokio::test]
async fn rate_limits_are_retried() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(ResponseTemplate::new(429).set_body_json(
            json!({"error": {"message": "(#130429) Rate limit hit", "code": 130429}}),
        ))
        .up_to_n_times(2)
        .mount(&app.cloud_api)
        .await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    a.send_message(id, "patience").await.expect("send ack");
    wait_status(&mut a, id, "sent").await;
    assert_eq!(app.cloud_api_requests().await.len(), 3);
}

#[tokio::test]
async fn client_errors_fail_the_message_with_the_api_text() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"message": "Invalid parameter", "type": "OAuthException", "code": 100}}),
        ))
        .mount(&app.cloud_api)
        .await;
    let (mut a, id) = active_conversation(&app).await;
    a.send_message(id, "this will fail")
        .await
        .expect("send ack");
    let st = wait_status(&mut a, id, "failed").await;
    assert!(
        st["error"]
            .as_str()
            .is_some_and(|e| e.contains("Invalid parameter")),
        "the API's error text: {st}"
    );
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        app.cloud_api_requests().await.len(),
        1,
        "a 4xx is not retried"
    );
    let v = app.get_interaction(id).await;
    assert_eq!(out_messages(&v)[0]["status"], "failed");
}

#[tokio::test]
async fn status_webhooks_advance_delivery() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    a.send_message(id, "tick tick").await.expect("send ack");
    let sent = wait_status(&mut a, id, "sent").await;

    app.status_update("wamid.OUT1", "delivered", CUSTOMER).await;
    let d = wait_status(&mut a, id, "delivered").await;
    assert_eq!(d["message_id"], sent["message_id"]);
    app.status_update("wamid.OUT1", "read", CUSTOMER).await;
    wait_status(&mut a, id, "read").await;
    let v = app.get_interaction(id).await;
    assert_eq!(out_messages(&v)[0]["status"], "read");
}

#[tokio::test]
async fn statuses_never_go_backwards() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    a.send_message(id, "out of order").await.expect("send ack");
    wait_status(&mut a, id, "sent").await;

    app.status_update("wamid.OUT1", "read", CUSTOMER).await;
    wait_status(&mut a, id, "read").await;
    app.status_update("wamid.OUT1", "delivered", CUSTOMER).await;
    app.status_update("wamid.OUT1", "sent", CUSTOMER).await;
    a.expect_no_where("message_status", Duration::from_millis(800), |e| {
        e["status"] != "read"
    })
    .await;
    let v = app.get_interaction(id).await;
    assert_eq!(out_messages(&v)[0]["status"], "read");
}

#[tokio::test]
async fn failed_is_final() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    a.send_message(id, "doomed").await.expect("send ack");
    wait_status(&mut a, id, "sent").await;
    app.status_update("wamid.OUT1", "failed", CUSTOMER).await;
    wait_status(&mut a, id, "failed").await;
    app.status_update("wamid.OUT1", "read", CUSTOMER).await;
    a.expect_no_where("message_status", Duration::from_millis(800), |e| {
        e["status"] == "read"
    })
    .await;
    let v = app.get_interaction(id).await;
    assert_eq!(out_messages(&v)[0]["status"], "failed");
}

#[tokio::test]
async fn message_length_is_checked_in_characters() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    let too_long = "a".repeat(4097);
    let code = a
        .err(json!({"type": "send", "interaction_id": id, "text": too_long}))
        .await;
    assert_eq!(code, "message_too_long");
    // 4096 emoji are 16 KiB of UTF-8 but 4096 characters: allowed.
    let emoji = "😀".repeat(4096);
    a.send_message(id, &emoji)
        .await
        .expect("4096 characters are allowed");
    wait_status(&mut a, id, "sent").await;
    let reqs = app.wait_cloud_api_requests(1).await;
    let body: Value = reqs[0].body_json().unwrap();
    assert_eq!(body["text"]["body"].as_str().unwrap().chars().count(), 4096);
}

#[tokio::test]
async fn blank_messages_are_refused() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let (mut a, id) = active_conversation(&app).await;
    for text in ["", "   ", "\n\t "] {
        let code = a
            .err(json!({"type": "send", "interaction_id": id, "text": text}))
            .await;
        assert_eq!(code, "empty_message", "{text:?}");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.cloud_api_requests().await.is_empty());
}

#[tokio::test]
async fn replies_after_the_24h_window_are_refused() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says_at(CUSTOMER, "Old", "from yesterday", now_secs() - 25 * 3600)
        .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept(id).await;
    let code = a
        .err(json!({"type": "send", "interaction_id": id, "text": "sorry for the wait"}))
        .await;
    assert_eq!(code, "window_closed");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.cloud_api_requests().await.is_empty());

    // A fresh customer message opens the window again.
    app.customer_says(CUSTOMER, "Old", "still there?").await;
    a.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "still there?"
    })
    .await;
    a.send_message(id, "yes!").await.expect("window open again");
}

#[tokio::test]
async fn only_participants_can_send_and_only_while_active() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let b = app.setup_basic(2, json!({})).await;
    let mut owner = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut owner, CUSTOMER, "hi").await;
    let mut other = app.connect(&b.agents[1]).await;

    let code = other
        .err(json!({"type": "send", "interaction_id": id, "text": "not mine"}))
        .await;
    assert_eq!(code, "not_participant");
    let code = other
        .err(json!({"type": "end", "interaction_id": id}))
        .await;
    assert_eq!(code, "not_participant");
    let code = owner
        .err(json!({"type": "send", "interaction_id": 424242, "text": "nowhere"}))
        .await;
    assert_eq!(code, "not_found");

    owner.end(id).await;
    let code = owner
        .err(json!({"type": "send", "interaction_id": id, "text": "too late"}))
        .await;
    assert_eq!(code, "invalid_state");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.cloud_api_requests().await.is_empty());
}

#[tokio::test]
async fn a_message_after_close_starts_a_new_interaction() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let first = app
        .deliver_and_accept(&mut a, CUSTOMER, "first visit")
        .await;
    a.end(first).await;
    a.wrap_up(first, Some("resolved")).await.expect("wrap_up");
    app.wait_interaction(first, "closed", |v| v["state"] == "closed")
        .await;

    app.customer_says(CUSTOMER, "Maria", "back again").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let second = offer["interaction_id"].as_i64().unwrap();
    assert_ne!(second, first, "a closed interaction is never reopened");
    let v = app.get_interaction(second).await;
    assert_eq!(v["queue"]["id"], json!(b.queue_id));
    let texts: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "in")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["back again"]);
    assert_eq!(app.get_interaction(first).await["state"], "closed");
}
