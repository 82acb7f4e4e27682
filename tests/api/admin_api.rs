//! The admin HTTP API: agents, queues, channels, interactions (SPEC section 4).

use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn queue_defaults_and_round_trip() {
    let app = TestApp::spawn().await;
    let resp = app
        .post(
            "/api/v1/queues",
            Some(&app.admin_token),
            &json!({"name": "Billing"}),
        )
        .await;
    let q = json_created(resp, "create queue").await;
    let id = id_of(q.clone());
    assert_eq!(q["name"], "Billing");
    assert_eq!(q["offer_timeout_secs"], 30);
    assert_eq!(q["wrap_up_secs"], 60);
    assert_eq!(q["disposition_required"], false);
    assert_eq!(q["strategy"], "longest_idle");
    assert_eq!(q["alert_warn_secs"], 60);
    assert_eq!(q["alert_critical_secs"], 180);
    assert_eq!(q["disposition_codes"], json!([]));
    assert_eq!(q["members"], json!([]));

    let got = app.admin_get(&format!("/api/v1/queues/{id}")).await;
    assert_eq!(got["name"], "Billing");
    let list = items_of(app.admin_get("/api/v1/queues").await);
    assert!(list.iter().any(|x| x["id"] == json!(id)));
}

#[tokio::test]
async fn queue_limits_are_validated() {
    let app = TestApp::spawn().await;
    for bad in [
        json!({"name": "Q", "offer_timeout_secs": 4}),
        json!({"name": "Q", "offer_timeout_secs": 601}),
        json!({"name": "Q", "wrap_up_secs": 3601}),
        json!({"name": "Q", "wrap_up_secs": -1}),
        json!({"name": "Q", "strategy": "random"}),
    ] {
        let resp = app
            .post("/api/v1/queues", Some(&app.admin_token), &bad)
            .await;
        assert_error(resp, 400).await;
    }
    // The bounds themselves are fine.
    app.create_queue(json!({"offer_timeout_secs": 5, "wrap_up_secs": 0}))
        .await;
    app.create_queue(json!({"offer_timeout_secs": 600, "wrap_up_secs": 3600}))
        .await;
}

#[tokio::test]
async fn queue_patch_and_delete() {
    let app = TestApp::spawn().await;
    let id = app.create_queue(json!({"name": "Old"})).await;
    let resp = app
        .patch(
            &format!("/api/v1/queues/{id}"),
            Some(&app.admin_token),
            &json!({"name": "New", "disposition_required": true, "strategy": "round_robin"}),
        )
        .await;
    let q = json_ok(resp, "patch queue").await;
    assert_eq!(q["name"], "New");
    assert_eq!(q["disposition_required"], true);
    assert_eq!(q["strategy"], "round_robin");
    // Untouched fields keep their value.
    assert_eq!(q["offer_timeout_secs"], 30);

    let resp = app
        .delete(&format!("/api/v1/queues/{id}"), Some(&app.admin_token))
        .await;
    assert!(resp.status().is_success(), "delete: {}", resp.status());
    let resp = app
        .get(&format!("/api/v1/queues/{id}"), Some(&app.admin_token))
        .await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
}

#[tokio::test]
async fn agent_defaults_membership_and_write_only_password() {
    let app = TestApp::spawn().await;
    let q = app.create_queue(json!({})).await;
    let resp = app
        .post(
            "/api/v1/agents",
            Some(&app.admin_token),
            &json!({"username": "mia", "password": "mia-password-1", "display_name": "Mia", "queues": [q]}),
        )
        .await;
    let a = json_created(resp, "create agent").await;
    let id = id_of(a.clone());
    assert_eq!(a["role"], "agent");
    assert_eq!(a["max_concurrent"], 3);
    assert_eq!(a["can_reject"], true);
    assert_eq!(a["auto_multi_match_pop"], true);
    assert_eq!(a["queues"], json!([q]));
    assert!(
        a.get("password").is_none() && a.get("password_hash").is_none(),
        "{a}"
    );

    let queue = app.admin_get(&format!("/api/v1/queues/{q}")).await;
    assert_eq!(queue["members"], json!([id]), "the queue lists its members");

    let fetched = app.admin_get(&format!("/api/v1/agents/{id}")).await;
    assert!(fetched.get("password").is_none());
    // The password works.
    let login = app.login("mia", "mia-password-1").await;
    assert_eq!(login["user"]["id"], json!(id));
}

#[tokio::test]
async fn agent_validation_and_duplicate_username() {
    let app = TestApp::spawn().await;
    for bad in [
        json!({"username": "x1", "password": "pw-long-enough", "display_name": "X", "max_concurrent": 0}),
        json!({"username": "x2", "password": "pw-long-enough", "display_name": "X", "max_concurrent": 51}),
        json!({"username": "x3", "password": "pw-long-enough", "display_name": "X", "role": "overlord"}),
    ] {
        let resp = app
            .post("/api/v1/agents", Some(&app.admin_token), &bad)
            .await;
        assert_error(resp, 400).await;
    }
    app.create_agent("dup", "pw-long-enough", json!({})).await;
    let resp = app
        .post(
            "/api/v1/agents",
            Some(&app.admin_token),
            &json!({"username": "dup", "password": "pw-long-enough", "display_name": "Dup"}),
        )
        .await;
    let status = resp.status().as_u16();
    assert!(
        status == 400 || status == 409,
        "duplicate username: {status}"
    );
    assert_error(resp, status).await;
}

#[tokio::test]
async fn agent_patch_changes_settings_and_queues() {
    let app = TestApp::spawn().await;
    let q1 = app.create_queue(json!({})).await;
    let q2 = app.create_queue(json!({})).await;
    let id = app
        .create_agent("lee", "lee-password-1", json!({"queues": [q1]}))
        .await;
    let resp = app
        .patch(
            &format!("/api/v1/agents/{id}"),
            Some(&app.admin_token),
            &json!({"max_concurrent": 7, "can_reject": false, "queues": [q2]}),
        )
        .await;
    let a = json_ok(resp, "patch agent").await;
    assert_eq!(a["max_concurrent"], 7);
    assert_eq!(a["can_reject"], false);
    assert_eq!(a["queues"], json!([q2]));
    let queue1 = app.admin_get(&format!("/api/v1/queues/{q1}")).await;
    assert_eq!(queue1["members"], json!([]));
}

#[tokio::test]
async fn channel_round_trip_hides_secrets() {
    let app = TestApp::spawn().await;
    let q = app.create_queue(json!({})).await;
    let id = app
        .create_channel_with(q, json!({"app_secret": "s3cret", "verify_token": "vt"}))
        .await;
    let c = app.admin_get(&format!("/api/v1/channels/{id}")).await;
    assert_eq!(c["kind"], "whatsapp");
    assert_eq!(c["phone_number_id"], PHONE_NUMBER_ID);
    assert_eq!(c["display_phone_number"], DISPLAY_PHONE_NUMBER);
    assert_eq!(c["queue_id"], json!(q));
    assert!(
        c.get("access_token").is_none(),
        "access_token is write only: {c}"
    );
    assert!(
        c.get("app_secret").is_none(),
        "app_secret is write only: {c}"
    );
    let list = items_of(app.admin_get("/api/v1/channels").await);
    assert_eq!(list.len(), 1);
    assert!(list[0].get("access_token").is_none());
}

#[tokio::test]
async fn channel_needs_an_existing_queue() {
    let app = TestApp::spawn().await;
    let resp = app
        .post(
            "/api/v1/channels",
            Some(&app.admin_token),
            &json!({"kind": "whatsapp", "name": "X", "phone_number_id": "999", "display_phone_number": "+1 555 0199",
                    "queue_id": 424242, "access_token": "t"}),
        )
        .await;
    let status = resp.status().as_u16();
    assert!(status == 400 || status == 404, "unknown queue_id: {status}");
    assert_error(resp, status).await;
}

#[tokio::test]
async fn unknown_resources_are_404_with_the_error_shape() {
    let app = TestApp::spawn().await;
    for p in [
        "/api/v1/agents/9999",
        "/api/v1/queues/9999",
        "/api/v1/channels/9999",
        "/api/v1/interactions/9999",
    ] {
        let code = assert_error(app.get(p, Some(&app.admin_token)).await, 404).await;
        assert_eq!(code, "not_found", "{p}");
    }
}

#[tokio::test]
async fn interactions_api_lists_and_shows_transcripts() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(0, json!({})).await;
    app.customer_says("15550002001", "Ana", "first").await;
    app.customer_says("15550002001", "Ana", "second").await;
    let list = app.list_interactions("?state=queued").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let id = id_of(list[0].clone());
    let v: Value = app.get_interaction(id).await;
    assert_eq!(v["state"], "queued");
    assert_eq!(v["queue"]["id"], json!(b.queue_id));
    assert_eq!(v["channel_id"], json!(b.channel_id));
    let texts: Vec<&str> = v["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(texts, ["first", "second"]);
    assert!(app.list_interactions("?state=active").await.is_empty());
}

#[tokio::test]
async fn agents_see_only_their_own_interactions() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550002002", "mine").await;

    let own = json_ok(
        app.get(
            &format!("/api/v1/interactions/{id}"),
            Some(&b.agents[0].token),
        )
        .await,
        "own interaction",
    )
    .await;
    assert_eq!(own["messages"][0]["text"], "mine");
    let resp = app
        .get(
            &format!("/api/v1/interactions/{id}"),
            Some(&b.agents[1].token),
        )
        .await;
    let status = resp.status().as_u16();
    assert!(
        status == 403 || status == 404,
        "another agent's interaction: {status}"
    );
    assert_error(resp, status).await;
}

#[tokio::test]
async fn settings_change_the_no_answer_status_at_run_time() {
    let app = TestApp::spawn().await;
    let s = app.admin_get("/api/v1/settings").await;
    assert_eq!(s["no_answer_status"], "on_break");
    assert_eq!(s["masking_enabled"], false);
    let resp = app
        .patch(
            "/api/v1/settings",
            Some(&app.admin_token),
            &json!({"no_answer_status": "sleeping"}),
        )
        .await;
    assert_error(resp, 400).await;
    let resp = app
        .patch(
            "/api/v1/settings",
            Some(&app.admin_token),
            &json!({"no_answer_status": "rona"}),
        )
        .await;
    assert_eq!(
        json_ok(resp, "patch settings").await["no_answer_status"],
        "rona"
    );

    // A reject has the consequences of a no-answer: now `rona`.
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says("15550002003", "C", "hi").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    a.ok(json!({"type": "reject", "interaction_id": offer["interaction_id"]}))
        .await;
    let st = a
        .wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] != "available")
        .await;
    assert_eq!(st["status"], "rona");
}

#[tokio::test]
async fn metrics_are_served_as_prometheus_text() {
    let app = TestApp::spawn().await;
    let resp = app.get("/metrics", None).await;
    assert_eq!(resp.status(), 200);
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    assert!(ct.starts_with("text/plain"), "content-type {ct}");
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("# TYPE "),
        "Prometheus exposition format: {body}"
    );
}
