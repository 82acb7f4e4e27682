//! R21: customers known by a business-scoped user id (BSUID), a phone number, or both; a
//! username instead of a number; number and BSUID changes.

use crate::helpers::*;
use serde_json::{json, Value};

const BSUID: &str = "US.13491208655302741918";
const PHONE: &str = "15550007001";

async fn deliver(app: &TestApp, delivery: &Value) {
    let resp = app.post_webhook(delivery).await;
    let status = resp.status();
    assert_eq!(status, 200, "{}", resp.text().await.unwrap_or_default());
}

/// The bodies of the sends the Cloud API mock got, in order.
async fn sends(app: &TestApp) -> Vec<Value> {
    app.cloud_api_requests()
        .await
        .iter()
        .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
        .collect()
}

async fn wait_sends(app: &TestApp, n: usize) -> Vec<Value> {
    app.wait_cloud_api_requests(n).await;
    sends(app).await
}

#[tokio::test]
async fn a_customer_known_only_by_bsuid_is_routed_answered_by_recipient_then_gains_a_number() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;

    // No `from`, no `wa_id`: a customer who adopted a username.
    deliver(
        &app,
        &identity_delivery(
            None,
            Some(BSUID),
            Some("ann.b"),
            "Ann",
            &new_wamid(),
            "hello",
        ),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(
        offer["customer"],
        json!({"name": "Ann", "phone": null, "username": "ann.b", "user_id": BSUID})
    );
    let id = offer["interaction_id"].as_i64().unwrap();
    let active = a.accept_active(id).await;
    assert_eq!(active["messages"][0]["text"], "hello");
    assert_eq!(active["messages"][0]["author"]["id"], BSUID);

    // The reply goes to the BSUID: `recipient`, no `to`.
    a.send_message(id, "How can I help?").await.expect("send");
    let sent = wait_sends(&app, 1).await;
    assert_eq!(sent[0]["recipient"], BSUID, "{}", sent[0]);
    assert!(sent[0].get("to").is_none(), "{}", sent[0]);
    assert_eq!(sent[0]["text"]["body"], "How can I help?");

    // The same person, now with a number: the same conversation goes on, and agents see it.
    deliver(
        &app,
        &identity_delivery(
            Some(PHONE),
            Some(BSUID),
            Some("ann.b"),
            "Ann",
            &new_wamid(),
            "my number",
        ),
    )
    .await;
    let msg = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "my number"
        })
        .await;
    assert_eq!(msg["interaction_id"], json!(id), "same conversation");
    let ev = a
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| {
            e["id"] == json!(id) && e["customer"]["phone"].is_string()
        })
        .await;
    assert_eq!(
        ev["customer"],
        json!({"name": "Ann", "phone": format!("+{PHONE}"), "username": "ann.b", "user_id": BSUID})
    );
    a.expect_no("offer", std::time::Duration::from_millis(300))
        .await;

    // Replies now go to the number.
    a.send_message(id, "Thanks").await.expect("send");
    let sent = wait_sends(&app, 2).await;
    assert_eq!(sent[1]["to"], format!("+{PHONE}"), "{}", sent[1]);
    assert!(sent[1].get("recipient").is_none());

    // The HTTP view says the same.
    let v = app.get_interaction(id).await;
    assert_eq!(v["customer"]["phone"], format!("+{PHONE}"));
    assert_eq!(v["customer"]["username"], "ann.b");
    assert_eq!(v["customer"]["user_id"], BSUID);
    assert_eq!(v["messages"].as_array().unwrap().len(), 4);

    // A later delivery with the number alone still finds the conversation.
    app.customer_says(PHONE, "Ann", "number only").await;
    let msg = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "number only"
        })
        .await;
    assert_eq!(msg["interaction_id"], json!(id));
}

#[tokio::test]
async fn a_status_naming_the_customer_by_bsuid_moves_the_tick() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT-BSUID").await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    deliver(
        &app,
        &identity_delivery(None, Some(BSUID), None, "Ann", &new_wamid(), "hi"),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept_active(id).await;
    a.send_message(id, "hello").await.expect("send");
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;
    let mut delivery = status_delivery("wamid.OUT-BSUID", "delivered", "");
    let status = &mut delivery["entry"][0]["changes"][0]["value"]["statuses"][0];
    status.as_object_mut().unwrap().remove("recipient_id");
    status["recipient_user_id"] = json!(BSUID);
    deliver(&app, &delivery).await;
    let ev = a
        .wait_for_where("message_status", EVENT_TIMEOUT, |e| {
            e["status"] == "delivered"
        })
        .await;
    assert_eq!(ev["interaction_id"], json!(id));
}

#[tokio::test]
async fn a_number_change_keeps_the_customer_and_the_conversation() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    deliver(
        &app,
        &identity_delivery(Some(PHONE), Some("US.1001"), None, "Bo", &new_wamid(), "hi"),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept_active(id).await;

    let new_phone = "15550007999";
    deliver(
        &app,
        &identity_change_delivery(
            "user_changed_number",
            (Some(PHONE), None),
            Some(new_phone),
            "US.1002",
            Some("US.1001"),
        ),
    )
    .await;
    let ev = a
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| {
            e["id"] == json!(id) && e["customer"]["phone"] == format!("+{new_phone}")
        })
        .await;
    assert_eq!(ev["customer"]["user_id"], "US.1002");
    // Not a message of the transcript.
    assert_eq!(ev["messages"].as_array().unwrap().len(), 1);

    // The customer writes from the new number: the same conversation.
    deliver(
        &app,
        &identity_delivery(
            Some(new_phone),
            Some("US.1002"),
            None,
            "Bo",
            &new_wamid(),
            "new phone",
        ),
    )
    .await;
    let msg = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "new phone"
        })
        .await;
    assert_eq!(msg["interaction_id"], json!(id));
    a.send_message(id, "noted").await.expect("send");
    let sent = wait_sends(&app, 1).await;
    assert_eq!(sent[0]["to"], format!("+{new_phone}"));
    a.expect_no("offer", std::time::Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn a_bsuid_change_keeps_the_customer_and_the_conversation() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    deliver(
        &app,
        &identity_delivery(None, Some("US.2001"), Some("cy"), "Cy", &new_wamid(), "hi"),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept_active(id).await;
    deliver(
        &app,
        &identity_change_delivery(
            "user_changed_user_id",
            (None, Some("US.2001")),
            None,
            "US.2002",
            Some("US.2001"),
        ),
    )
    .await;
    a.wait_for_where("interaction", EVENT_TIMEOUT, |e| {
        e["id"] == json!(id) && e["customer"]["user_id"] == "US.2002"
    })
    .await;
    deliver(
        &app,
        &identity_delivery(
            None,
            Some("US.2002"),
            Some("cy"),
            "Cy",
            &new_wamid(),
            "still me",
        ),
    )
    .await;
    let msg = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "still me"
        })
        .await;
    assert_eq!(msg["interaction_id"], json!(id));
    a.send_message(id, "yes").await.expect("send");
    let sent = wait_sends(&app, 1).await;
    assert_eq!(sent[0]["recipient"], "US.2002");
}

#[tokio::test]
async fn a_message_naming_nobody_is_kept_and_shown() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    deliver(
        &app,
        &identity_delivery(None, None, None, "", &new_wamid(), "who am I"),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], Value::Null);
    assert_eq!(offer["customer"]["user_id"], Value::Null);
    let id = offer["interaction_id"].as_i64().unwrap();
    let active = a.accept_active(id).await;
    assert_eq!(active["messages"][0]["text"], "who am I");
}

#[tokio::test]
async fn usernames_and_bsuids_are_not_masked() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let resp = app
        .patch(
            "/api/v1/settings",
            Some(&app.admin_token),
            &json!({"masking_enabled": true}),
        )
        .await;
    assert_eq!(resp.status(), 200);
    let mut a = app.agent_online(&b.agents[0]).await;
    deliver(
        &app,
        &identity_delivery(
            Some(PHONE),
            Some(BSUID),
            Some("dee_77"),
            "Dee",
            &new_wamid(),
            "hi",
        ),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["username"], "dee_77");
    assert_eq!(offer["customer"]["user_id"], BSUID);
    assert_ne!(
        offer["customer"]["phone"],
        format!("+{PHONE}"),
        "number masked"
    );
}

#[tokio::test]
async fn two_open_conversations_that_turn_out_to_be_one_person_both_go_on() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_basic(2, json!({"wrap_up_secs": 0})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let mut c = app.agent_online(&b.agents[1]).await;

    // The same person twice: once by number, once by BSUID only.
    app.customer_says(PHONE, "Eve", "by number").await;
    deliver(
        &app,
        &identity_delivery(None, Some(BSUID), None, "Eve", &new_wamid(), "by username"),
    )
    .await;
    let mut ids = Vec::new();
    for agent in [&mut a, &mut c] {
        let offer = agent.wait_for("offer", EVENT_TIMEOUT).await;
        let id = offer["interaction_id"].as_i64().unwrap();
        agent.accept_active(id).await;
        ids.push((id, offer["customer"]["user_id"].is_string()));
    }
    let by_user = ids.iter().find(|(_, u)| *u).unwrap().0;
    let by_number = ids.iter().find(|(_, u)| !*u).unwrap().0;

    // A delivery with both: one customer now; the message goes to the BSUID's conversation.
    deliver(
        &app,
        &identity_delivery(Some(PHONE), Some(BSUID), None, "Eve", &new_wamid(), "both"),
    )
    .await;
    let views = [
        app.get_interaction(by_user).await,
        app.get_interaction(by_number).await,
    ];
    assert!(views[0].to_string().contains("\"both\""), "{}", views[0]);
    // The other conversation is still worked and closed normally.
    let (agent, other) = if ids[0].0 == by_number {
        (&mut a, by_number)
    } else {
        (&mut c, by_number)
    };
    agent.send_message(other, "still here").await.expect("send");
    agent.end(other).await;
    app.wait_interaction(other, "closed", |v| v["state"] == "closed")
        .await;
    let c_db = rusqlite::Connection::open(&app.db_path).unwrap();
    let live: i64 = c_db
        .query_row(
            "SELECT COUNT(*) FROM customers WHERE merged_into IS NULL AND (phone = ?1 OR user_id = ?2)",
            [PHONE, BSUID],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(live, 1, "one customer");
}
