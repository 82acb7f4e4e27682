//! End, wrap-up with disposition codes, the countdown, and the call log (R7, R8).

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const CUSTOMER: &str = "15550006001";

#[tokio::test]
async fn end_starts_wrap_up_and_a_code_closes_it() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"wrap_up_secs": 60})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;

    a.end(id).await;
    let ws = a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    assert_eq!(ws["interaction_id"], json!(id));
    assert_eq!(ws["disposition_required"], false);
    let codes: Vec<&str> = ws["disposition_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["resolved", "follow_up"]);
    assert!(ws["disposition_codes"][0]["label"].is_string());
    let deadline = rfc3339_ms(ws["deadline"].as_str().unwrap());
    let left = deadline - now_ms();
    assert!(
        (50_000..=61_000).contains(&left),
        "deadline ~60 s away: {left} ms"
    );
    assert_eq!(app.get_interaction(id).await["state"], "wrap_up");

    a.wrap_up(id, Some("follow_up")).await.expect("wrap_up ack");
    let done = a.wait_for("wrap_up_done", EVENT_TIMEOUT).await;
    assert_eq!(done["interaction_id"], json!(id));
    assert_eq!(done["disposition"], "follow_up");
    assert_eq!(done["auto"], false);
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;
}

#[tokio::test]
async fn a_required_disposition_must_be_given_and_known() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic(1, json!({"disposition_required": true, "wrap_up_secs": 60}))
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    a.end(id).await;
    let ws = a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    assert_eq!(ws["disposition_required"], true);

    let e = a.wrap_up(id, None).await.expect_err("disposition required");
    assert_eq!(e["code"], "disposition_required");
    let e = a
        .wrap_up(id, Some("made_up"))
        .await
        .expect_err("unknown code");
    assert_eq!(e["code"], "unknown_disposition");
    assert_eq!(app.get_interaction(id).await["state"], "wrap_up");

    a.wrap_up(id, Some("resolved")).await.expect("a known code");
    let done = a.wait_for("wrap_up_done", EVENT_TIMEOUT).await;
    assert_eq!(done["disposition"], "resolved");
}

#[tokio::test]
async fn unknown_codes_are_refused_even_when_optional() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    a.end(id).await;
    let e = a.wrap_up(id, Some("nope")).await.expect_err("unknown code");
    assert_eq!(e["code"], "unknown_disposition");
    a.wrap_up(id, None)
        .await
        .expect("no code is fine when optional");
    let done = a.wait_for("wrap_up_done", EVENT_TIMEOUT).await;
    assert!(done["disposition"].is_null());
    assert_eq!(done["auto"], false);
}

#[tokio::test]
async fn wrap_up_and_end_need_the_right_state() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    let e = a
        .wrap_up(id, Some("resolved"))
        .await
        .expect_err("still active");
    assert_eq!(e["code"], "invalid_state");
    a.end(id).await;
    let code = a.err(json!({"type": "end", "interaction_id": id})).await;
    assert_eq!(code, "invalid_state");
    a.wrap_up(id, Some("resolved")).await.expect("wrap_up");
}

#[tokio::test]
async fn wrap_up_of_a_closed_interaction_is_invalid_state() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    a.end(id).await;
    a.wrap_up(id, Some("resolved")).await.expect("wrap_up");
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;
    // The interaction exists (it is closed), so this is a state error, not an unknown id.
    let e = a
        .wrap_up(id, Some("resolved"))
        .await
        .expect_err("already closed");
    assert_eq!(e["code"], "invalid_state");
    let code = a.err(json!({"type": "end", "interaction_id": id})).await;
    assert_eq!(code, "invalid_state");
}

#[tokio::test]
async fn the_countdown_completes_wrap_up_on_its_own() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(
            1,
            json!({"wrap_up_secs": 1, "disposition_required": true}),
            json!({"max_concurrent": 1}),
        )
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    app.customer_says("15550006002", "Next", "waiting").await;
    a.end(id).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    let done = a.wait_for("wrap_up_done", Duration::from_secs(6)).await;
    assert_eq!(done["interaction_id"], json!(id));
    assert_eq!(done["auto"], true);
    assert!(done["disposition"].is_null());
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;

    // Capacity is free again and the agent stayed available: the waiting customer comes in.
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550006002");
    a.expect_no_where("status", Duration::from_millis(200), |e| {
        e["status"] != "available"
    })
    .await;
}

#[tokio::test]
async fn zero_wrap_up_secs_closes_at_end() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"wrap_up_secs": 0})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    a.end(id).await;
    let done = a.wait_for("wrap_up_done", Duration::from_secs(5)).await;
    assert_eq!(done["interaction_id"], json!(id));
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;
}

#[tokio::test]
async fn closing_saves_an_activity_with_the_transcript() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let b = app.setup_basic(1, json!({})).await;
    let agent_id = b.agents[0].id;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, CUSTOMER, "my parcel is late")
        .await;
    a.send_message(id, "let me check").await.expect("send");
    a.end(id).await;
    a.wrap_up(id, Some("resolved")).await.expect("wrap_up");

    let act = app
        .wait_activity(&format!("?agent_id={agent_id}"), |x| {
            x["interaction_id"] == json!(id)
        })
        .await;
    assert!(act["id"].is_i64());
    assert_eq!(act["disposition"], "resolved");
    assert!(
        act["queue"]["id"] == json!(b.queue_id) || act["queue_id"] == json!(b.queue_id),
        "the queue: {act}"
    );
    let agents = act["agents"].as_array().expect("agents");
    assert!(
        agents.iter().any(|x| *x == json!(agent_id)
            || x["id"] == json!(agent_id)
            || x["agent_id"] == json!(agent_id)),
        "the agent is listed: {act}"
    );
    let t = |k: &str| rfc3339_ms(act[k].as_str().unwrap_or_else(|| panic!("{k} in {act}")));
    assert!(t("initiated_at") <= t("accepted_at"));
    assert!(t("accepted_at") <= t("terminated_at"));
    assert!(t("terminated_at") <= t("wrapped_up_at"));
    let texts: Vec<&str> = act["transcript"]
        .as_array()
        .expect("transcript")
        .iter()
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert!(
        texts.contains(&"my parcel is late") && texts.contains(&"let me check"),
        "{texts:?}"
    );

    // The single-activity view, and the agent may read its own call logs.
    let one = app
        .admin_get(&format!("/api/v1/activities/{}", act["id"]))
        .await;
    assert_eq!(one["interaction_id"], json!(id));
    let mine = json_ok(
        app.get(
            &format!("/api/v1/activities?agent_id={agent_id}"),
            Some(&b.agents[0].token),
        )
        .await,
        "agent activities",
    )
    .await;
    assert!(items_of(mine)
        .iter()
        .any(|x| x["interaction_id"] == json!(id)));
}

#[tokio::test]
async fn no_activity_before_close() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let agent_id = b.agents[0].id;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    a.end(id).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    let list: Value = app
        .admin_get(&format!("/api/v1/activities?agent_id={agent_id}"))
        .await;
    assert!(items_of(list).is_empty(), "wrap-up is not closed yet");
    a.wrap_up(id, None).await.expect("wrap_up");
    app.wait_activity(&format!("?agent_id={agent_id}"), |x| {
        x["interaction_id"] == json!(id)
    })
    .await;
}

#[tokio::test]
async fn interaction_events_follow_the_state() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hi").await;
    a.end(id).await;
    let ev = a
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| {
            e["id"] == json!(id) && e["state"] == "wrap_up"
        })
        .await;
    assert!(ev["ended_at"].is_string(), "ended_at is set: {ev}");
    let me = ev["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["agent_id"] == json!(b.agents[0].id))
        .cloned()
        .expect("the agent is a participant");
    assert!(me["wrap_up_deadline"].is_string(), "{me}");
}
