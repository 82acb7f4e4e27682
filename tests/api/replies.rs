//! R24: replies (quotes) both ways, reactions both ways, the customer's edits and deletions,
//! read receipts once per message, typing at most every 20 s, pricing stored and reported,
//! and statuses that arrive before the send's answer.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const CUSTOMER: &str = "15550008001";

async fn deliver(app: &TestApp, delivery: &Value) {
    let resp = app.post_webhook(delivery).await;
    assert_eq!(
        resp.status(),
        200,
        "{}",
        resp.text().await.unwrap_or_default()
    );
}

/// One message from CUSTOMER in Meta's shape, with `extra` merged into the message.
fn customer_message(wamid: &str, kind: &str, extra: Value) -> Value {
    let mut message = json!({
        "from": CUSTOMER, "id": wamid, "timestamp": now_secs().to_string(), "type": kind,
    });
    for (k, v) in extra.as_object().unwrap() {
        message[k] = v.clone();
    }
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Rita"}, "wa_id": CUSTOMER}],
        "messages": [message],
    }))
}

async fn bodies(app: &TestApp) -> Vec<Value> {
    app.cloud_api_requests()
        .await
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .collect()
}

/// An agent with an accepted conversation that started with the customer's `first` (wamid).
async fn conversation(app: &TestApp, first: &str) -> (AgentClient, i64) {
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    deliver(
        app,
        &customer_message(first, "text", json!({"text": {"body": "I want 2 tickets"}})),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept_active(id).await;
    (a, id)
}

fn message_id_of(interaction: &Value, text: &str) -> i64 {
    interaction["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == text)
        .unwrap_or_else(|| panic!("no message {text:?} in {interaction}"))["id"]
        .as_i64()
        .unwrap()
}

#[tokio::test]
async fn replies_quote_the_message_both_ways() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT-R1").await;
    let first = new_wamid();
    let (mut a, id) = conversation(&app, &first).await;
    let customer_msg = message_id_of(&app.get_interaction(id).await, "I want 2 tickets");

    // The agent quotes the customer's message: the Cloud API body carries its wamid.
    a.ok(json!({"type": "send", "interaction_id": id, "text": "Two it is", "reply_to": customer_msg}))
        .await;
    let ev = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "Two it is"
        })
        .await;
    assert_eq!(
        ev["message"]["reply_to"],
        json!({"message_id": customer_msg, "text": "I want 2 tickets"})
    );
    let sent = app.wait_cloud_api_requests(1).await;
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(body["context"], json!({"message_id": first}), "{body}");
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;

    // The customer quotes the agent's message.
    deliver(
        &app,
        &customer_message(
            &new_wamid(),
            "text",
            json!({"text": {"body": "thanks"}, "context": {"from": "15550100", "id": "wamid.OUT-R1"}}),
        ),
    )
    .await;
    let ev = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "thanks"
        })
        .await;
    let agent_msg = message_id_of(&app.get_interaction(id).await, "Two it is");
    assert_eq!(
        ev["message"]["reply_to"],
        json!({"message_id": agent_msg, "text": "Two it is"})
    );
    // And the HTTP view keeps the quote.
    let v = app.get_interaction(id).await;
    let thanks = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "thanks")
        .unwrap()
        .clone();
    assert_eq!(thanks["reply_to"]["message_id"], json!(agent_msg));

    // A reply to a message of another conversation, or none, is refused and sends nothing.
    let code = a
        .err(json!({"type": "send", "interaction_id": id, "text": "x", "reply_to": 999_999}))
        .await;
    assert_eq!(code, "invalid_input");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.cloud_api_requests().await.len(), 1);
}

#[tokio::test]
async fn reactions_both_ways_are_not_transcript_messages() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT-X1").await;
    let first = new_wamid();
    let (mut a, id) = conversation(&app, &first).await;
    a.send_message(id, "Here you go").await.expect("send");
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;
    let agent_msg = message_id_of(&app.get_interaction(id).await, "Here you go");

    // The customer reacts to the agent's message.
    deliver(
        &app,
        &customer_message(
            &new_wamid(),
            "reaction",
            json!({"reaction": {"message_id": "wamid.OUT-X1", "emoji": "❤️"}}),
        ),
    )
    .await;
    let ev = a.wait_for("reaction", EVENT_TIMEOUT).await;
    assert_eq!(ev["interaction_id"], json!(id));
    assert_eq!(ev["message_id"], json!(agent_msg));
    assert_eq!(ev["emoji"], "❤️");
    assert_eq!(ev["author"]["kind"], "customer");
    let v = app.get_interaction(id).await;
    assert_eq!(
        v["messages"].as_array().unwrap().len(),
        2,
        "no new message: {v}"
    );
    let m = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(agent_msg))
        .unwrap()
        .clone();
    assert_eq!(m["reactions"][0]["emoji"], "❤️");

    // Taken back: an empty emoji.
    deliver(
        &app,
        &customer_message(
            &new_wamid(),
            "reaction",
            json!({"reaction": {"message_id": "wamid.OUT-X1", "emoji": ""}}),
        ),
    )
    .await;
    let ev = a.wait_for("reaction", EVENT_TIMEOUT).await;
    assert_eq!(ev["emoji"], "");
    let v = app.get_interaction(id).await;
    let m = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(agent_msg))
        .unwrap()
        .clone();
    assert_eq!(m["reactions"], json!([]));

    // The agent reacts to the customer's message: Meta gets a reaction naming its wamid.
    let customer_msg = message_id_of(&v, "I want 2 tickets");
    a.ok(json!({"type": "react", "interaction_id": id, "message_id": customer_msg, "emoji": "👍"}))
        .await;
    let ev = a.wait_for("reaction", EVENT_TIMEOUT).await;
    assert_eq!(ev["author"]["kind"], "agent");
    app.wait_cloud_api_requests(2).await;
    let sent = bodies(&app).await;
    let reaction = sent
        .iter()
        .find(|b| b["type"] == "reaction")
        .expect("a reaction was sent");
    assert_eq!(
        reaction["reaction"],
        json!({"message_id": first, "emoji": "👍"})
    );
    assert_eq!(reaction["to"], format!("+{CUSTOMER}"));
    let v = app.get_interaction(id).await;
    let m = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(customer_msg))
        .unwrap()
        .clone();
    assert_eq!(m["reactions"][0]["emoji"], "👍");
    assert_eq!(v["messages"].as_array().unwrap().len(), 2);

    // A message that is not the conversation's is refused.
    let code = a
        .err(json!({"type": "react", "interaction_id": id, "message_id": 999_999, "emoji": "👍"}))
        .await;
    assert_eq!(code, "invalid_input");
}

#[tokio::test]
async fn a_customers_edit_and_deletion_change_what_agents_see_and_the_call_log_keeps_the_first_text(
) {
    let app = TestApp::spawn().await;
    let first = new_wamid();
    let (mut a, id) = conversation(&app, &first).await;
    deliver(
        &app,
        &customer_message(
            &new_wamid(),
            "edit",
            json!({"edit": {"original_message_id": first, "message": {"type": "text", "text": {"body": "I want 3 tickets"}}}}),
        ),
    )
    .await;
    let ev = a.wait_for("message_changed", EVENT_TIMEOUT).await;
    assert_eq!(ev["message"]["text"], "I want 3 tickets");
    assert_eq!(ev["message"]["edited"], true);

    let second = new_wamid();
    deliver(
        &app,
        &customer_message(
            &second,
            "text",
            json!({"text": {"body": "my card is 4111"}}),
        ),
    )
    .await;
    a.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "my card is 4111"
    })
    .await;
    deliver(
        &app,
        &customer_message(
            &new_wamid(),
            "revoke",
            json!({"revoke": {"original_message_id": second}}),
        ),
    )
    .await;
    let ev = a.wait_for("message_changed", EVENT_TIMEOUT).await;
    assert_eq!(ev["message"]["deleted"], true);
    assert_eq!(ev["message"]["text"], "");
    assert!(
        !ev.to_string().contains("4111"),
        "deleted text not shown: {ev}"
    );

    let v = app.get_interaction(id).await;
    assert_eq!(
        v["messages"].as_array().unwrap().len(),
        2,
        "no new messages: {v}"
    );
    assert_eq!(v["messages"][0]["text"], "I want 3 tickets");
    assert_eq!(v["messages"][1]["deleted"], true);
    assert!(!v.to_string().contains("4111"));

    // The call log keeps the first text and what became of it.
    a.end(id).await;
    a.ok(json!({"type": "wrap_up", "interaction_id": id})).await;
    let logs = app.admin_get("/api/v1/activities").await;
    let items = logs["items"]
        .as_array()
        .cloned()
        .unwrap_or_else(|| logs.as_array().cloned().unwrap_or_default());
    let log = items
        .iter()
        .find(|l| l["interaction_id"] == json!(id))
        .expect("call log")
        .clone();
    let transcript = log["transcript"].to_string();
    assert!(
        transcript.contains("I want 2 tickets [edited: I want 3 tickets]"),
        "{transcript}"
    );
    assert!(
        transcript.contains("[deleted by the customer]"),
        "{transcript}"
    );
}

#[tokio::test]
async fn an_edit_for_a_closed_conversation_opens_nothing() {
    let app = TestApp::spawn().await;
    let first = new_wamid();
    let (mut a, id) = conversation(&app, &first).await;
    a.end(id).await;
    a.ok(json!({"type": "wrap_up", "interaction_id": id})).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    deliver(
        &app,
        &customer_message(
            &new_wamid(),
            "edit",
            json!({"edit": {"original_message_id": first, "message": {"type": "text", "text": {"body": "changed later"}}}}),
        ),
    )
    .await;
    a.expect_no("offer", Duration::from_millis(500)).await;
    assert_eq!(app.list_interactions("").await.len(), 1);
    let v = app.get_interaction(id).await;
    assert_eq!(v["messages"][0]["text"], "changed later");
    assert_eq!(v["messages"][0]["edited"], true);
}

#[tokio::test]
async fn read_is_sent_once_per_message_and_typing_at_most_every_20_seconds() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let first = new_wamid();
    let (mut a, id) = conversation(&app, &first).await;
    a.ok(json!({"type": "read", "interaction_id": id})).await;
    let sent = app.wait_cloud_api_requests(1).await;
    let body: Value = serde_json::from_slice(&sent[0].body).unwrap();
    assert_eq!(
        body,
        json!({"messaging_product": "whatsapp", "status": "read", "message_id": first})
    );
    // Again: the message is read already.
    a.ok(json!({"type": "read", "interaction_id": id})).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.cloud_api_requests().await.len(),
        1,
        "read once per message"
    );

    // A new message, read again.
    let second = new_wamid();
    deliver(
        &app,
        &customer_message(&second, "text", json!({"text": {"body": "hello?"}})),
    )
    .await;
    a.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "hello?"
    })
    .await;
    a.ok(json!({"type": "read", "interaction_id": id})).await;
    app.wait_cloud_api_requests(2).await;
    assert_eq!(bodies(&app).await[1]["message_id"], json!(second));

    // Typing: once, then quiet for 20 s however often the agent types.
    a.ok(json!({"type": "typing", "interaction_id": id})).await;
    a.ok(json!({"type": "typing", "interaction_id": id})).await;
    a.ok(json!({"type": "typing", "interaction_id": id})).await;
    app.wait_cloud_api_requests(3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = bodies(&app).await;
    assert_eq!(all.len(), 3, "{all:?}");
    assert_eq!(all[2]["typing_indicator"], json!({"type": "text"}));
    assert_eq!(all[2]["message_id"], json!(second));
}

#[tokio::test]
async fn pricing_is_stored_and_reported_per_category_and_queue() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT-P1").await;
    let (mut a, id) = conversation(&app, &new_wamid()).await;
    a.send_message(id, "Priced").await.expect("send");
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;
    let mut delivery = status_delivery("wamid.OUT-P1", "delivered", CUSTOMER);
    delivery["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"] = json!({
        "billable": true, "pricing_model": "PMP", "category": "service", "type": "regular"
    });
    deliver(&app, &delivery).await;
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| {
        e["status"] == "delivered"
    })
    .await;
    let c = rusqlite::Connection::open(&app.db_path).unwrap();
    let stored: (bool, String, String) = c
        .query_row(
            "SELECT pricing_billable, pricing_model, pricing_category FROM messages WHERE wamid = 'wamid.OUT-P1'",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    assert_eq!(stored, (true, "PMP".to_string(), "service".to_string()));
    let report = app.admin_get("/api/v1/reports/queues").await;
    assert_eq!(
        report["totals"]["billable_messages"],
        json!({"service": 1}),
        "{report}"
    );
    let q = report["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["offered"] == 1)
        .unwrap()
        .clone();
    assert_eq!(q["billable_messages"]["service"], 1);
}

#[tokio::test]
async fn a_status_that_arrives_before_the_sends_answer_still_moves_the_tick() {
    let app = TestApp::spawn().await;
    // The Cloud API answers slowly: its status webhooks come first.
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT-EARLY"}]}))
                .set_delay(Duration::from_millis(1500)),
        )
        .mount(&app.cloud_api)
        .await;
    let (mut a, id) = conversation(&app, &new_wamid()).await;
    a.send_message(id, "fast network").await.expect("send");
    app.wait_cloud_api_requests(1).await;
    deliver(&app, &status_delivery("wamid.OUT-EARLY", "sent", CUSTOMER)).await;
    deliver(
        &app,
        &status_delivery("wamid.OUT-EARLY", "delivered", CUSTOMER),
    )
    .await;
    let ev = a
        .wait_for_where("message_status", EVENT_TIMEOUT, |e| {
            e["status"] == "delivered"
        })
        .await;
    assert_eq!(ev["interaction_id"], json!(id));
    let v = app.get_interaction(id).await;
    let m = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["text"] == "fast network")
        .unwrap()
        .clone();
    assert_eq!(m["status"], "delivered");
}

#[tokio::test]
async fn a_reaction_to_a_message_not_sent_yet_waits_for_its_wamid() {
    let app = TestApp::spawn().await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.OUT-SLOW"}]}))
                .set_delay(Duration::from_millis(800)),
        )
        .mount(&app.cloud_api)
        .await;
    let (mut a, id) = conversation(&app, &new_wamid()).await;
    a.send_message(id, "on its way").await.expect("send");
    let mine = message_id_of(&app.get_interaction(id).await, "on its way");
    // Reacted to while the send is still waiting for the Cloud API's answer.
    a.ok(json!({"type": "react", "interaction_id": id, "message_id": mine, "emoji": "🚚"}))
        .await;
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let sent = bodies(&app).await;
        if let Some(r) = sent.iter().find(|b| b["type"] == "reaction") {
            assert_eq!(
                r["reaction"],
                json!({"message_id": "wamid.OUT-SLOW", "emoji": "🚚"})
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no reaction sent: {sent:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
