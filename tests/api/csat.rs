//! R28: the satisfaction survey. Sent once when a conversation of a queue that asks for it
//! closes inside the 24-hour window, never outside it; the answer lands on the call log and
//! opens nothing; anything else the customer writes opens a conversation as usual (R1); a
//! crash between the close and the send still sends it, once.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const CUSTOMER: &str = "15550007001";

fn survey_queue() -> Value {
    json!({"csat_enabled": true, "csat_question": "How did we do today?", "wrap_up_secs": 30})
}

/// The customer picks row `row_id` of the list `survey_wamid`, in Meta's shape.
fn list_reply(from: &str, survey_wamid: &str, row_id: &str, title: &str) -> Value {
    inbound_value(
        json!({
            "from": from, "id": new_wamid(), "timestamp": now_secs().to_string(),
            "type": "interactive",
            "context": {"from": "15550100", "id": survey_wamid},
            "interactive": {"type": "list_reply", "list_reply": {"id": row_id, "title": title}}
        }),
        from,
    )
}

fn inbound_value(message: Value, from: &str) -> Value {
    envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Dora"}, "wa_id": from}],
        "messages": [message],
    }))
}

async fn surveys(app: &TestApp) -> Vec<Value> {
    app.cloud_api_bodies()
        .await
        .into_iter()
        .filter(|b| b["type"] == "interactive")
        .collect()
}

async fn wait_surveys(app: &TestApp, n: usize) -> Vec<Value> {
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let found = surveys(app).await;
        if found.len() >= n {
            return found;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{} surveys sent, {n} expected",
            found.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A conversation accepted by `a` and closed by it (end, wrap-up); returns its id.
async fn handled(app: &TestApp, a: &mut AgentClient, from: &str) -> i64 {
    let id = app.deliver_and_accept(a, from, "My order is late").await;
    a.end(id).await;
    a.wrap_up(id, None).await.expect("wrap up");
    id
}

async fn call_log(app: &TestApp, id: i64) -> Value {
    app.wait_activity("", |l| l["interaction_id"] == json!(id))
        .await
}

/// The survey's wamid, once the answer to its send is committed.
async fn survey_wamid(app: &TestApp, interaction_id: i64) -> String {
    let c = rusqlite::Connection::open(&app.db_path).unwrap();
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let wamid: Option<String> = c
            .query_row(
                "SELECT m.wamid FROM csat_surveys s JOIN messages m ON m.id = s.message_id
                  WHERE s.interaction_id = ?1",
                [interaction_id],
                |r| r.get(0),
            )
            .unwrap_or(None);
        if let Some(w) = wamid {
            return w;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the survey has no wamid"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_survey_goes_once_after_the_close_and_its_answer_opens_nothing() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_basic(2, survey_queue()).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = handled(&app, &mut a, CUSTOMER).await;
    let mut other = app.agent_online(&b.agents[1]).await;

    let sent = wait_surveys(&app, 1).await;
    let rows: Vec<Value> = [
        (5, "5 - Excellent"),
        (4, "4 - Good"),
        (3, "3 - Okay"),
        (2, "2 - Poor"),
        (1, "1 - Very poor"),
    ]
    .iter()
    .map(|(s, t)| json!({"id": format!("csat-{id}-{s}"), "title": t}))
    .collect();
    assert_eq!(
        sent[0],
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "to": format!("+{CUSTOMER}"), "type": "interactive",
            "interactive": {"type": "list", "body": {"text": "How did we do today?"},
                "action": {"button": "Rate us", "sections": [{"title": "Your rating", "rows": rows}]}}
        })
    );
    let log = call_log(&app, id).await;
    assert!(log["csat_sent_at"].is_string(), "{log}");
    assert!(log["csat"].is_null(), "{log}");

    // Meta charges for it: a billable message of the queue.
    let survey = survey_wamid(&app, id).await;
    let mut status = status_delivery(&survey, "delivered", CUSTOMER);
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["pricing"] =
        json!({"billable": true, "pricing_model": "PMP", "category": "service", "type": "regular"});
    assert_eq!(app.post_webhook(&status).await.status(), 200);

    // The answer: stored, no conversation, no offer.
    let resp = app
        .post_webhook(&list_reply(
            CUSTOMER,
            &survey,
            &format!("csat-{id}-4"),
            "4 - Good",
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let log = app
        .wait_activity("", |l| {
            l["interaction_id"] == json!(id) && l["csat"]["score"] == 4
        })
        .await;
    assert!(log["csat"]["answered_at"].is_string(), "{log}");
    // Picking again keeps the first answer.
    let resp = app
        .post_webhook(&list_reply(
            CUSTOMER,
            &survey,
            &format!("csat-{id}-1"),
            "1 - Very poor",
        ))
        .await;
    assert_eq!(resp.status(), 200);
    other.expect_no("offer", Duration::from_millis(500)).await;
    a.expect_no("offer", Duration::from_millis(50)).await;
    assert_eq!(app.list_interactions("").await.len(), 1);
    assert_eq!(call_log(&app, id).await["csat"]["score"], 4);

    // Another customer "answering" this survey is just writing: a conversation opens (R1).
    let resp = app
        .post_webhook(&list_reply(
            "15550007999",
            &survey,
            &format!("csat-{id}-1"),
            "1 - Very poor",
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let offer = wait_offer_any(&mut [&mut a, &mut other], EVENT_TIMEOUT).await;
    assert_eq!(offer.1["customer"]["phone"], "+15550007999");
    assert_eq!(call_log(&app, id).await["csat"]["score"], 4);

    // Anything else the customer writes opens a conversation as usual.
    app.customer_says(CUSTOMER, "Dora", "One more question")
        .await;
    let offer = wait_offer_any(&mut [&mut a, &mut other], EVENT_TIMEOUT).await;
    assert_eq!(offer.1["customer"]["phone"], format!("+{CUSTOMER}"));

    // One survey, ever, for that conversation; the reports count it per queue and agent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(surveys(&app).await.len(), 1);
    let report = app.admin_get("/api/v1/reports/queues").await;
    let q = row_with(&report["queues"], "queue_id", b.queue_id);
    assert_eq!(
        q["csat"],
        json!({"sent": 1, "answered": 1, "average": 4.0, "scores": {"4": 1}}),
        "{q}"
    );
    assert_eq!(q["billable_messages"], json!({"service": 1}), "{q}");
    let agents = app.admin_get("/api/v1/reports/agents").await;
    let mine = row_with(&agents["agents"], "agent_id", b.agents[0].id);
    assert_eq!(mine["csat"]["average"], 4.0, "{mine}");
}

#[tokio::test]
async fn no_survey_outside_the_window_without_the_setting_and_no_late_answer() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_basic(1, survey_queue()).await;
    let mut a = app.agent_online(&b.agents[0]).await;

    // The customer last wrote 25 hours ago: WhatsApp would refuse the survey.
    app.customer_says_at(CUSTOMER, "Dora", "Old message", now_secs() - 25 * 3600)
        .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let late = offer["interaction_id"].as_i64().unwrap();
    a.accept_active(late).await;
    a.end(late).await;
    a.wrap_up(late, None).await.expect("wrap up");
    assert!(call_log(&app, late).await["csat_sent_at"].is_null());

    // The queue stops asking.
    let resp = app
        .patch(
            &format!("/api/v1/queues/{}", b.queue_id),
            Some(&app.admin_token),
            &json!({"csat_enabled": false}),
        )
        .await;
    let queue = json_ok(resp, "turn the survey off").await;
    assert_eq!(queue["csat_question"], "How did we do today?");
    let off = handled(&app, &mut a, "15550007002").await;
    assert!(call_log(&app, off).await["csat_sent_at"].is_null());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(surveys(&app).await.is_empty());

    // Bad settings are refused and change nothing.
    for bad in [
        json!({"csat_timeout_hours": 0}),
        json!({"csat_timeout_hours": 169}),
        json!({"csat_question": "  "}),
        json!({"csat_question": "x".repeat(1025)}),
    ] {
        let resp = app
            .patch(
                &format!("/api/v1/queues/{}", b.queue_id),
                Some(&app.admin_token),
                &bad,
            )
            .await;
        assert_eq!(assert_error(resp, 400).await, "invalid_input", "{bad}");
    }

    // On again; an answer after `csat_timeout_hours` is an ordinary message.
    let resp = app
        .patch(
            &format!("/api/v1/queues/{}", b.queue_id),
            Some(&app.admin_token),
            &json!({"csat_enabled": true, "csat_timeout_hours": 1}),
        )
        .await;
    assert_eq!(json_ok(resp, "on").await["csat_timeout_hours"], 1);
    let id = handled(&app, &mut a, "15550007003").await;
    wait_surveys(&app, 1).await;
    let wamid = survey_wamid(&app, id).await;
    let c = rusqlite::Connection::open(&app.db_path).unwrap();
    // Two hours have passed (the answer's time is the customer's, to the second).
    c.execute(
        "UPDATE csat_surveys SET expires_at = expires_at - 7200000 WHERE interaction_id = ?1",
        [id],
    )
    .unwrap();
    let resp = app
        .post_webhook(&list_reply(
            "15550007003",
            &wamid,
            &format!("csat-{id}-5"),
            "5 - Excellent",
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550007003");
    assert!(call_log(&app, id).await["csat"].is_null());
}

#[tokio::test]
async fn a_crash_between_the_close_and_the_survey_still_sends_it_once() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, survey_queue()).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    // Meta is unreachable as the conversation closes: the survey waits in the outbox.
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .mount(&app.cloud_api)
        .await;
    let id = handled(&app, &mut a, CUSTOMER).await;
    wait_surveys(&app, 1).await;
    let mut app = app;
    app.kill9().await;
    app.cloud_api.reset().await;
    app.cloud_api_accepts("wamid.OUT-CSAT").await;
    app.restart().await;

    let sent = wait_surveys(&app, 1).await;
    assert_eq!(sent[0]["interactive"]["type"], "list");
    let c = rusqlite::Connection::open(&app.db_path).unwrap();
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    loop {
        let status: String = c
            .query_row(
                "SELECT m.status FROM csat_surveys s JOIN messages m ON m.id = s.message_id
                  WHERE s.interaction_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap();
        if status == "sent" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "survey {status}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(surveys(&app).await.len(), 1, "sent once after the restart");
    let count: i64 = c
        .query_row(
            "SELECT COUNT(*) FROM csat_surveys WHERE interaction_id = ?1",
            [id],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(count, 1);
}
