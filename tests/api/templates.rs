//! R23: message templates kept in step with Meta (every page, status webhooks, on demand),
//! and `send_template` after the 24-hour window in Meta's exact body shape, with its refusals.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const CUSTOMER: &str = "15550009001";

async fn list(app: &TestApp, channel_id: i64, token: &str) -> Vec<Value> {
    let resp = app
        .get(
            &format!("/api/v1/channels/{channel_id}/templates"),
            Some(token),
        )
        .await;
    items_of(json_ok(resp, "list templates").await)
}

fn named<'a>(all: &'a [Value], name: &str) -> &'a Value {
    all.iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no template {name} in {all:?}"))
}

fn status_webhook(event: &str, name: &str, reason: &str) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{"id": WABA_ID, "time": now_secs(),
        "changes": [{"field": "message_template_status_update", "value": {
            "event": event, "message_template_id": 1003, "message_template_name": name,
            "message_template_language": "en_US", "reason": reason}}]}]})
}

#[tokio::test]
async fn templates_are_synced_from_every_page_and_follow_status_webhooks() {
    let app = TestApp::spawn().await;
    let b = app.setup_with_templates(1, json!({})).await;
    let agent = &b.agents[0];

    // Agents read the list (they pick from it), sorted, with what a send needs.
    let all = list(&app, b.channel_id, &agent.token).await;
    let names: Vec<&str> = all.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "appointment_reminder",
            "new_policy",
            "order_update",
            "spring_sale",
            "welcome_back"
        ]
    );
    let order = named(&all, "order_update");
    assert_eq!(order["status"], "APPROVED");
    assert_eq!(order["category"], "UTILITY");
    assert_eq!(order["parameter_format"], "POSITIONAL");
    assert_eq!(order["parameters"]["header"][0]["example"], "12345");
    let examples: Vec<&str> = order["parameters"]["body"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["example"].as_str().unwrap())
        .collect();
    assert_eq!(examples, ["Ana", "12345", "Friday"]);
    assert_eq!(
        order["parameters"]["buttons"][0],
        json!({"index": 0, "sub_type": "url", "text": "Track", "example": "https://shop.test/t/12345"})
    );
    assert_eq!(order["preview"]["footer"], "Reply STOP to opt out");
    let reminder = named(&all, "appointment_reminder");
    assert_eq!(reminder["parameters"]["body"][1]["name"], "date");
    assert_eq!(named(&all, "new_policy")["status"], "PENDING");

    let channel = app
        .admin_get(&format!("/api/v1/channels/{}", b.channel_id))
        .await;
    assert_eq!(channel["waba_id"], WABA_ID);
    assert!(channel["templates_synced_at"].is_string(), "{channel}");
    assert!(channel["templates_sync_error"].is_null(), "{channel}");

    // A status webhook rejects one; a forged one changes nothing.
    let forged = serde_json::to_vec(&status_webhook("APPROVED", "spring_sale", "NONE")).unwrap();
    let resp = app
        .post_webhook_raw(forged, Some(format!("sha256={}", "0".repeat(64))))
        .await;
    assert_eq!(resp.status(), 401);
    let resp = app
        .post_webhook(&status_webhook("REJECTED", "spring_sale", "PROMOTIONAL"))
        .await;
    assert_eq!(resp.status(), 200);
    let all = list(&app, b.channel_id, &agent.token).await;
    let sale = named(&all, "spring_sale");
    assert_eq!(sale["status"], "REJECTED");
    assert_eq!(sale["rejected_reason"], "PROMOTIONAL");
    assert_eq!(named(&all, "welcome_back")["status"], "APPROVED");

    // Only admins sync.
    let path = format!("/api/v1/channels/{}/templates/sync", b.channel_id);
    let resp = app.post(&path, Some(&agent.token), &json!({})).await;
    assert_error(resp, 403).await;

    // Meta refuses (an account the mock does not know): 503, the reason kept on the channel,
    // the templates as they were.
    let resp = app
        .patch(
            &format!("/api/v1/channels/{}", b.channel_id),
            Some(&app.admin_token),
            &json!({"waba_id": "999"}),
        )
        .await;
    json_ok(resp, "change waba_id").await;
    let resp = app.post(&path, Some(&app.admin_token), &json!({})).await;
    assert_eq!(assert_error(resp, 503).await, "whatsapp_unavailable");
    let channel = app
        .admin_get(&format!("/api/v1/channels/{}", b.channel_id))
        .await;
    assert!(
        channel["templates_sync_error"]
            .as_str()
            .is_some_and(|e| e.contains("HTTP 404")),
        "{channel}"
    );
    assert_eq!(list(&app, b.channel_id, &agent.token).await.len(), 5);

    // Without an account there is nothing to sync.
    let resp = app
        .patch(
            &format!("/api/v1/channels/{}", b.channel_id),
            Some(&app.admin_token),
            &json!({"waba_id": null}),
        )
        .await;
    json_ok(resp, "clear waba_id").await;
    let resp = app.post(&path, Some(&app.admin_token), &json!({})).await;
    assert_eq!(assert_error(resp, 409).await, "no_waba_id");
    let resp = app
        .patch(
            &format!("/api/v1/channels/{}", b.channel_id),
            Some(&app.admin_token),
            &json!({"waba_id": "12ab"}),
        )
        .await;
    assert_error(resp, 400).await;
    let resp = app
        .get("/api/v1/channels/999/templates", Some(&agent.token))
        .await;
    assert_error(resp, 404).await;
}

/// An agent with an accepted conversation whose customer last wrote 25 hours ago.
async fn closed_window(app: &TestApp) -> (Basic, AgentClient, i64) {
    let b = app.setup_with_templates(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says_at(
        CUSTOMER,
        "Rosa",
        "Where is my parcel?",
        now_secs() - 25 * 3600,
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept_active(id).await;
    (b, a, id)
}

#[tokio::test]
async fn a_template_goes_out_after_the_window_in_meta_shape_and_shows_as_the_customer_sees_it() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let (b, mut a, id) = closed_window(&app).await;

    let refused = a.send_message(id, "Hello again").await.unwrap_err();
    assert_eq!(refused["code"], "window_closed");
    assert!(
        refused["message"].as_str().unwrap().contains("template"),
        "{refused}"
    );

    a.ok(json!({"type": "send_template", "interaction_id": id,
        "name": "order_update", "language": "en_US",
        "parameters": {"header": ["778"], "body": ["Rosa", "778", "Monday"], "buttons": ["778"]}}))
        .await;
    let event = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["kind"] == "template"
        })
        .await;
    let message = &event["message"];
    assert_eq!(
        message["text"],
        "Order 778\nHi Rosa, your order 778 arrives on Monday.\nReply STOP to opt out\n[Track]"
    );
    assert_eq!(
        message["template"],
        json!({"name": "order_update", "language": "en_US"})
    );
    assert_eq!(message["direction"], "out");
    app.wait_cloud_api_requests(1).await;
    let bodies = app.cloud_api_bodies().await;
    assert_eq!(
        bodies[0],
        json!({
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "to": format!("+{CUSTOMER}"), "type": "template",
            "template": {
                "name": "order_update", "language": {"code": "en_US"},
                "components": [
                    {"type": "header", "parameters": [{"type": "text", "text": "778"}]},
                    {"type": "body", "parameters": [
                        {"type": "text", "text": "Rosa"}, {"type": "text", "text": "778"},
                        {"type": "text", "text": "Monday"}]},
                    {"type": "button", "sub_type": "url", "index": "0",
                     "parameters": [{"type": "text", "text": "778"}]}
                ]
            }
        })
    );
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;

    // Named parameters, by name: Meta's parameter_name with each.
    a.ok(json!({"type": "send_template", "interaction_id": id,
        "name": "appointment_reminder", "language": "en_US",
        "parameters": {"body": {"date": "Tuesday", "first_name": "Rosa"}}}))
        .await;
    app.wait_cloud_api_requests(2).await;
    let bodies = app.cloud_api_bodies().await;
    assert_eq!(
        bodies[1]["template"]["components"],
        json!([{"type": "body", "parameters": [
            {"type": "text", "text": "Rosa", "parameter_name": "first_name"},
            {"type": "text", "text": "Tuesday", "parameter_name": "date"}]}])
    );

    // Refusals: nothing stored, nothing sent.
    let send = |name: &str, parameters: Value| {
        json!({"type": "send_template", "interaction_id": id, "name": name,
               "language": "en_US", "parameters": parameters})
    };
    assert_eq!(
        a.err(send("new_policy", json!({"body": ["1 May"]}))).await,
        "template_not_approved"
    );
    for wrong in [
        json!({"header": ["1"], "body": ["Rosa", "1"], "buttons": ["1"]}),
        json!({"header": ["1"], "body": ["Rosa", "1", "2", "3"], "buttons": ["1"]}),
        json!({"body": ["Rosa", "1", "2"], "buttons": ["1"]}),
        json!({"header": ["1"], "body": ["Rosa", "", "2"], "buttons": ["1"]}),
        json!({"header": ["1"], "body": ["Rosa", "line\nbreak", "2"], "buttons": ["1"]}),
    ] {
        assert_eq!(
            a.err(send("order_update", wrong.clone())).await,
            "bad_template_parameters",
            "{wrong}"
        );
    }
    assert_eq!(
        a.err(send(
            "appointment_reminder",
            json!({"body": {"first_name": "R", "city": "X"}})
        ))
        .await,
        "bad_template_parameters"
    );
    assert_eq!(
        a.err(send("no_such_template", json!({}))).await,
        "not_found"
    );
    let mut other_language = send("welcome_back", json!({}));
    other_language["language"] = json!("pt_BR");
    assert_eq!(a.err(other_language).await, "not_found");
    assert_eq!(
        a.err(
            json!({"type": "send_template", "interaction_id": id + 100, "name": "welcome_back",
            "language": "en_US"})
        )
        .await,
        "not_found"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.cloud_api_requests().await.len(), 2);
    let templates: Vec<Value> = app.get_interaction(id).await["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "template")
        .cloned()
        .collect();
    assert_eq!(templates.len(), 2);

    // The call log keeps the text as the customer saw it.
    a.end(id).await;
    a.wrap_up(id, None).await.expect("wrap up");
    let log = app
        .wait_activity(&format!("?agent_id={}", b.agents[0].id), |a| {
            a["interaction_id"] == json!(id)
        })
        .await;
    let texts: Vec<&str> = log["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"Hello Rosa, see you on Tuesday.\n[Confirm]"),
        "{texts:?}"
    );
}

#[tokio::test]
async fn a_template_is_sent_once_through_the_outbox_retried_after_a_refusal_to_answer() {
    let app = TestApp::spawn().await;
    let (_b, mut a, id) = closed_window(&app).await;
    // Meta is down for the first two tries, then accepts.
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .and(wiremock::matchers::path(format!(
            "/{PHONE_NUMBER_ID}/messages"
        )))
        .respond_with(wiremock::ResponseTemplate::new(503))
        .up_to_n_times(2)
        .mount(&app.cloud_api)
        .await;
    app.cloud_api_accepts("wamid.OUT-T1").await;
    a.ok(json!({"type": "send_template", "interaction_id": id,
        "name": "welcome_back", "language": "en_US"}))
        .await;
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;
    let bodies = app.cloud_api_bodies().await;
    assert_eq!(bodies.len(), 3, "two refused tries and one send");
    assert!(bodies.iter().all(|b| b == &bodies[0]));
    assert_eq!(
        bodies[0]["template"],
        json!({"name": "welcome_back", "language": {"code": "en_US"}})
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert_eq!(app.cloud_api_requests().await.len(), 3, "not sent again");
}
