//! R23: conversations the business starts. The interaction is the caller's, active, `kind:
//! outbound`, its first message the template; the customer's reply lands in it; a second
//! start for the same customer is refused; reports count them apart.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

fn order_update(to: &str, channel_id: i64) -> Value {
    json!({"channel_id": channel_id, "to": to, "template": {
        "name": "order_update", "language": "en_US",
        "parameters": {"header": ["41"], "body": ["Ines", "41", "Friday"], "buttons": ["41"]}}})
}

async fn start(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.post("/api/v1/conversations", Some(token), body).await
}

#[tokio::test]
async fn the_business_starts_a_conversation_and_the_customer_reply_lands_in_it() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_with_templates(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let mut other = app.agent_online(&b.agents[1]).await;

    let resp = start(
        &app,
        &b.agents[0].token,
        &order_update("+44 7700 900123", b.channel_id),
    )
    .await;
    assert_eq!(resp.status(), 201);
    let started: Value = resp.json().await.unwrap();
    let id = started["id"].as_i64().unwrap();
    assert_eq!(started["kind"], "outbound");
    assert_eq!(started["state"], "active");
    assert_eq!(started["owner_agent_id"], json!(b.agents[0].id));
    assert_eq!(started["customer"]["phone"], "+447700900123");
    assert!(started["window_expires_at"].is_null(), "{started}");
    assert_eq!(started["messages"][0]["kind"], "template");
    assert_eq!(
        started["messages"][0]["text"],
        "Order 41\nHi Ines, your order 41 arrives on Friday.\nReply STOP to opt out\n[Track]"
    );

    // The starting agent's desk has it, and it counts against the agent's capacity.
    a.wait_for_where("interaction", EVENT_TIMEOUT, |e| {
        e["id"] == json!(id) && e["kind"] == "outbound"
    })
    .await;
    a.wait_for_where("status", EVENT_TIMEOUT, |e| e["load"] == 1)
        .await;
    app.wait_cloud_api_requests(1).await;
    let body = &app.cloud_api_bodies().await[0];
    assert_eq!(body["to"], "+447700900123");
    assert_eq!(body["type"], "template");
    assert_eq!(body["template"]["name"], "order_update");

    // Until the customer answers, only templates.
    let refused = a.send_message(id, "Are you there?").await.unwrap_err();
    assert_eq!(refused["code"], "window_closed");

    // A second start for the same customer is refused, whoever asks.
    let resp = start(
        &app,
        &b.agents[1].token,
        &order_update("+447700900123", b.channel_id),
    )
    .await;
    assert_eq!(assert_error(resp, 409).await, "conversation_open");

    // The reply lands in the conversation: no offer to anyone.
    app.customer_says("447700900123", "Ines", "Thanks! Can I change the address?")
        .await;
    let event = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id) && e["message"]["direction"] == "in"
        })
        .await;
    assert_eq!(
        event["message"]["text"],
        "Thanks! Can I change the address?"
    );
    other.expect_no("offer", Duration::from_millis(500)).await;
    a.expect_no("offer", Duration::from_millis(100)).await;
    a.send_message(id, "Of course, which address?")
        .await
        .expect("the window is open now");

    a.end(id).await;
    a.wrap_up(id, None).await.expect("wrap up");
    let log = app
        .wait_activity(&format!("?agent_id={}", b.agents[0].id), |l| {
            l["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(log["kind"], "outbound");

    // An inbound conversation for the reports' comparison.
    let inbound = app
        .deliver_and_accept(&mut other, "15550001234", "Hello")
        .await;
    other.end(inbound).await;
    other.wrap_up(inbound, None).await.expect("wrap up");

    let report = app.admin_get("/api/v1/reports/queues").await;
    let q = row_with(&report["queues"], "queue_id", b.queue_id);
    assert_eq!(
        (q["offered"].clone(), q["outbound"].clone()),
        (json!(1), json!(1)),
        "{q}"
    );
    assert_eq!(q["accepted"], 1, "{q}");
    assert_eq!(q["wait"]["count"], 1, "only the inbound one waited: {q}");
    assert_eq!(q["handle"]["count"], 2, "{q}");
    let agents = app.admin_get("/api/v1/reports/agents").await;
    let mine = row_with(&agents["agents"], "agent_id", b.agents[0].id);
    assert_eq!(
        (mine["outbound"].clone(), mine["offered"].clone()),
        (json!(1), json!(0)),
        "{mine}"
    );
    let resp = app
        .get("/api/v1/reports/queues?format=csv", Some(&app.admin_token))
        .await;
    let csv = resp.text().await.unwrap();
    assert!(
        csv.lines()
            .next()
            .unwrap()
            .contains(",billable_messages,outbound,csat_sent,csat_answered,csat_average,"),
        "{csv}"
    );
    let line = csv
        .lines()
        .find(|l| l.starts_with(&format!("{},", b.queue_id)))
        .unwrap();
    // One outbound, no survey; the service level counts only the inbound conversation.
    assert!(
        line.ends_with(",1,0,0,,60,1,0,0,1,100"),
        "one outbound, no survey: {line}"
    );
}

#[tokio::test]
async fn a_conversation_started_from_a_contact_is_linked_and_bad_starts_change_nothing() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_with_templates(2, json!({})).await;
    let token = b.agents[0].token.clone();
    let mut a = app.agent_online(&b.agents[0]).await;
    let mut other = app.agent_online(&b.agents[1]).await;
    let resp = app
        .post(
            "/api/v1/contacts",
            Some(&token),
            &json!({"first_name": "Nadia", "last_name": "Haddad", "phones": ["+44 7700 900124"]}),
        )
        .await;
    let contact_id = id_of(json_created(resp, "contact").await);

    // Refusals first: none of them leaves an interaction behind, or sends anything.
    let with = |patch: Value| {
        let mut body = order_update("+44 7700 900125", b.channel_id);
        merge(&mut body, patch);
        body
    };
    let cases: Vec<(Value, u16, &str)> = vec![
        (
            with(json!({"contact_id": contact_id})),
            400,
            "invalid_input",
        ),
        (
            json!({"channel_id": b.channel_id, "template": {"name": "welcome_back", "language": "en_US"}}),
            400,
            "invalid_input",
        ),
        (with(json!({"to": "12ab"})), 400, "invalid_phone"),
        (with(json!({"channel_id": 999})), 404, "not_found"),
        (
            json!({"channel_id": b.channel_id, "contact_id": 99999,
                   "template": {"name": "welcome_back", "language": "en_US"}}),
            404,
            "not_found",
        ),
        (
            with(
                json!({"template": {"name": "new_policy", "language": "en_US",
                                     "parameters": {"body": ["1 May"]}}}),
            ),
            409,
            "template_not_approved",
        ),
        (
            with(
                json!({"template": {"name": "order_update", "language": "en_US",
                                     "parameters": {"body": ["only one"]}}}),
            ),
            400,
            "bad_template_parameters",
        ),
        (
            with(json!({"template": {"name": "missing", "language": "en_US"}})),
            404,
            "not_found",
        ),
        (
            with(json!({"template": {"name": " ", "language": "en_US"}})),
            400,
            "invalid_input",
        ),
    ];
    for (body, status, code) in cases {
        let resp = start(&app, &token, &body).await;
        assert_eq!(assert_error(resp, status).await, code, "{body}");
    }
    let resp = app
        .post("/api/v1/conversations", None, &with(json!({})))
        .await;
    assert_eq!(assert_error(resp, 401).await, "unauthenticated");
    assert!(app.list_interactions("").await.is_empty());
    assert!(app.cloud_api_requests().await.is_empty());

    // The refused number can be started now, and a customer who wrote first cannot.
    let resp = start(&app, &token, &with(json!({}))).await;
    assert_eq!(resp.status(), 201);
    app.customer_says("15550004444", "Walk-in", "Hi there")
        .await;
    other.wait_for("offer", EVENT_TIMEOUT).await;
    let resp = start(&app, &token, &order_update("+1 555 000 4444", b.channel_id)).await;
    assert_eq!(assert_error(resp, 409).await, "conversation_open");

    // From a contact: its number, its name, linked, and its screen pops.
    let body = json!({"channel_id": b.channel_id, "contact_id": contact_id,
        "template": {"name": "appointment_reminder", "language": "en_US",
                     "parameters": {"body": {"first_name": "Nadia", "date": "Monday"}}}});
    let resp = start(&app, &token, &body).await;
    let started = json_created(resp, "start from a contact").await;
    let id = started["id"].as_i64().unwrap();
    assert_eq!(started["contact_id"], json!(contact_id));
    assert_eq!(started["customer"]["name"], "Nadia Haddad");
    assert_eq!(started["customer"]["phone"], "+447700900124");
    let pop = a
        .wait_for_where("screen_pop", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(pop["contact"]["id"], json!(contact_id), "{pop}");
    let sent = app.wait_cloud_api_requests(2).await;
    let last: Value = serde_json::from_slice(&sent[sent.len() - 1].body).unwrap();
    assert_eq!(last["to"], "+447700900124");
}
