//! The customer simulator (sandbox mode): a customer known by @username (R21) who reacts,
//! quotes and sees the read ticks of their messages (R24), through the real webhook path.

use crate::helpers::*;
use serde_json::{json, Value};

async fn sim(app: &TestApp, path: &str, body: Value) -> Value {
    let resp = app.post(path, None, &body).await;
    let status = resp.status();
    let text = resp.text().await.unwrap_or_default();
    assert_eq!(status, 200, "{path}: {text}");
    serde_json::from_str(&text).unwrap()
}

async fn sim_view(app: &TestApp, from: &str) -> Vec<Value> {
    let resp = app
        .get(
            &format!("/api/v1/simulator/messages?from=%40{}", &from[1..]),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    let v: Value = resp.json().await.unwrap();
    v["messages"].as_array().unwrap().clone()
}

#[tokio::test]
async fn a_username_customer_quotes_reacts_and_sees_read_ticks() {
    let app = TestApp::spawn_with(|c| {
        c.set("whatsapp.sandbox", true);
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let me = "@kim.sim";

    sim(
        &app,
        "/api/v1/simulator/messages",
        json!({"from": me, "name": "Kim", "text": "hello"}),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["username"], "kim.sim");
    assert_eq!(offer["customer"]["phone"], Value::Null);
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept_active(id).await;
    a.send_message(id, "Hi Kim").await.expect("send");

    // The customer sees the reply, and their own message is not read yet.
    let view = sim_view(&app, me).await;
    assert_eq!(view.len(), 2, "{view:?}");
    assert_eq!(view[0]["status"], "delivered");
    let reply_id = view[1]["id"].as_i64().unwrap();
    assert_eq!(view[1]["text"], "Hi Kim");

    // The agent looks: blue ticks on the customer's side.
    a.ok(json!({"type": "read", "interaction_id": id})).await;
    assert_eq!(sim_view(&app, me).await[0]["status"], "read");

    // The reply reaches the phone (the sandbox's send committed its wamid): the customer
    // reacts to it, then quotes it.
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    while sim_view(&app, me).await[1]["status"] != "delivered" {
        assert!(
            std::time::Instant::now() < deadline,
            "the reply was not delivered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    sim(
        &app,
        "/api/v1/simulator/reactions",
        json!({"from": me, "message_id": reply_id, "emoji": "🙏"}),
    )
    .await;
    let ev = a.wait_for("reaction", EVENT_TIMEOUT).await;
    assert_eq!(ev["emoji"], "🙏");
    assert_eq!(ev["author"]["kind"], "customer");
    sim(
        &app,
        "/api/v1/simulator/messages",
        json!({"from": me, "text": "about that", "reply_to": reply_id}),
    )
    .await;
    let ev = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["text"] == "about that"
        })
        .await;
    assert_eq!(ev["message"]["reply_to"]["message_id"], json!(reply_id));
    let view = sim_view(&app, me).await;
    assert_eq!(
        view[1]["reactions"],
        json!([{"emoji": "🙏", "by": "customer"}])
    );
    assert_eq!(
        view[2]["reply_to"],
        json!({"message_id": reply_id, "text": "Hi Kim"})
    );

    // A message that is not theirs cannot be quoted or reacted to.
    let resp = app
        .post(
            "/api/v1/simulator/reactions",
            None,
            &json!({"from": "@someone.else", "message_id": reply_id, "emoji": "👍"}),
        )
        .await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn the_simulated_customer_sends_and_receives_files() {
    let app = TestApp::spawn_with(|c| {
        c.set("whatsapp.sandbox", true);
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let me = "@lou.sim";

    // The customer sends the sample photo: it is fetched (from the sandbox) and ready.
    sim(
        &app,
        "/api/v1/simulator/messages",
        json!({"from": me, "name": "Lou", "kind": "image", "text": "the box"}),
    )
    .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    let active = a.accept_active(id).await;
    let photo = active["messages"][0].clone();
    assert_eq!(photo["kind"], "image");
    let message_id = photo["id"].as_i64().unwrap();
    let ready = app.wait_media_state(id, message_id, "ready").await;
    assert_eq!(ready["media"]["mime_type"], "image/png");
    let url = ready["media"]["url"].as_str().unwrap().to_string();
    let file = app.get(&url, Some(&b.agents[0].token)).await;
    assert_eq!(file.status(), 200);
    let bytes = file.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\x89PNG"), "the sample photo");

    // The agent sends a document: the customer's phone lists it and opens it.
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let resp = app
        .attach(
            &b.agents[0].token,
            id,
            pdf.clone(),
            "terms.pdf",
            "application/pdf",
            Some("our terms"),
        )
        .await;
    assert_eq!(
        resp.status(),
        202,
        "{}",
        resp.text().await.unwrap_or_default()
    );
    let view = sim_view(&app, me).await;
    let doc = view
        .iter()
        .find(|m| m["kind"] == "document")
        .expect("the document")
        .clone();
    assert_eq!(doc["media"]["filename"], "terms.pdf");
    let url = doc["media"]["url"]
        .as_str()
        .expect("a link for the phone")
        .to_string();
    assert!(url.starts_with("/api/v1/simulator/media/"), "{url}");
    let file = app.get(&url, None).await;
    assert_eq!(file.status(), 200);
    assert_eq!(file.bytes().await.unwrap().to_vec(), pdf);
    // Another customer cannot open it.
    let other = url.replace("lou.sim", "someone.else");
    assert_eq!(app.get(&other, None).await.status(), 404);
}

#[tokio::test]
async fn the_customer_sees_templates_and_taps_a_rating_in_the_survey() {
    let app = TestApp::spawn_with(|c| {
        c.set("whatsapp.sandbox", true);
    })
    .await;
    let b = app
        .setup_basic(
            1,
            json!({"csat_enabled": true, "csat_question": "Rate us?"}),
        )
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    // A sandbox channel has the demo templates as soon as it exists.
    let templates_path = format!("/api/v1/channels/{}/templates", b.channel_id);
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    while items_of(app.admin_get(&templates_path).await).len() < 5 {
        assert!(std::time::Instant::now() < deadline, "no demo templates");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let resp = app
        .post(
            "/api/v1/conversations",
            Some(&b.agents[0].token),
            &json!({"channel_id": b.channel_id, "to": "+15550006001", "template": {
                "name": "appointment_reminder", "language": "en_US",
                "parameters": {"body": {"first_name": "Lea", "date": "Monday 10 am"}}}}),
        )
        .await;
    let id = id_of(json_created(resp, "start").await);
    let view = phone_view(&app).await;
    assert_eq!(
        view[0]["template"],
        json!({"name": "appointment_reminder", "language": "en_US"})
    );
    assert_eq!(
        view[0]["text"],
        "Hello Lea, this is a reminder of your appointment on Monday 10 am.\n[Confirm] [Reschedule]"
    );

    sim(
        &app,
        "/api/v1/simulator/messages",
        json!({"from": "+15550006001", "name": "Lea", "text": "Confirmed, thanks"}),
    )
    .await;
    a.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id) && e["message"]["direction"] == "in"
    })
    .await;
    a.end(id).await;
    a.wrap_up(id, None).await.expect("wrap up");

    // The survey shows as a list; the customer taps a rating.
    let deadline = std::time::Instant::now() + EVENT_TIMEOUT;
    let survey = loop {
        let view = phone_view(&app).await;
        if let Some(s) = view.iter().find(|m| m["interactive"].is_object()) {
            break s.clone();
        }
        assert!(std::time::Instant::now() < deadline, "no survey: {view:?}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(survey["interactive"]["body"], "Rate us?");
    assert_eq!(survey["interactive"]["button"], "Rate us");
    assert_eq!(survey["interactive"]["rows"].as_array().unwrap().len(), 5);
    assert!(survey["answered"].is_null());
    let row = format!("csat-{id}-5");
    // Not a row of that list, or not a list: refused.
    let resp = app
        .post(
            "/api/v1/simulator/messages",
            None,
            &json!({"from": "+15550006001", "kind": "list_reply", "reply_to": survey["id"], "choice": "csat-1-9"}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "invalid_input");
    let resp = app
        .post(
            "/api/v1/simulator/messages",
            None,
            &json!({"from": "+15550006001", "kind": "list_reply", "reply_to": view_first_id(&phone_view(&app).await), "choice": row}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "invalid_input");
    sim(
        &app,
        "/api/v1/simulator/messages",
        json!({"from": "+15550006001", "kind": "list_reply", "reply_to": survey["id"], "choice": row}),
    )
    .await;
    let view = phone_view(&app).await;
    let answered = view.iter().find(|m| m["id"] == survey["id"]).unwrap();
    assert_eq!(answered["answered"], json!(row));
    let log = app
        .wait_activity("", |l| {
            l["interaction_id"] == json!(id) && l["csat"]["score"] == 5
        })
        .await;
    assert_eq!(log["kind"], "outbound");
    a.expect_no("offer", std::time::Duration::from_millis(300))
        .await;
}

fn view_first_id(view: &[Value]) -> Value {
    view[0]["id"].clone()
}

/// What the customer +1 555 000 6001's phone shows.
async fn phone_view(app: &TestApp) -> Vec<Value> {
    let resp = app
        .get("/api/v1/simulator/messages?from=%2B15550006001", None)
        .await;
    let v: Value = resp.json().await.unwrap();
    v["messages"].as_array().unwrap().clone()
}
