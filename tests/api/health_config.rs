//! Health, OpenAPI, and configuration layering (SPEC section 2).

use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn healthz_answers_ok() {
    let app = TestApp::spawn().await;
    let resp = app.get("/healthz", None).await;
    assert_eq!(resp.status(), 200);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body, json!({"status": "ok"}));
}

#[tokio::test]
async fn openapi_describes_the_http_api() {
    let app = TestApp::spawn().await;
    let doc = json_ok(app.get("/openapi.json", None).await, "openapi").await;
    let paths = doc["paths"].as_object().expect("openapi paths");
    for p in [
        "/api/v1/auth/login",
        "/api/v1/agents",
        "/api/v1/queues",
        "/api/v1/channels",
    ] {
        assert!(paths.contains_key(p), "openapi.json lacks {p}");
    }
}

#[tokio::test]
async fn port_zero_picks_a_free_port_that_serves() {
    let app = TestApp::spawn().await;
    assert_ne!(app.port, 0);
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

#[tokio::test]
async fn database_file_is_created_with_its_folder() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir
        .path()
        .join("nested")
        .join("deeper")
        .join("switchboard.db");
    let db_str = db.display().to_string();
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("database.path", &db_str);
    })
    .await;
    assert_eq!(app.get("/healthz", None).await.status(), 200);
    assert!(db.exists(), "the database file {db_str} was not created");
}

#[tokio::test]
async fn demo_disabled_seeds_nothing() {
    let app = TestApp::spawn().await;
    let queues = items_of(app.admin_get("/api/v1/queues").await);
    assert!(
        queues.is_empty(),
        "demo.enabled=false must not seed: {queues:?}"
    );
    let channels = items_of(app.admin_get("/api/v1/channels").await);
    assert!(channels.is_empty());
}

#[tokio::test]
async fn demo_enabled_seeds_a_queue_agents_and_a_channel() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("demo.enabled", true).set("whatsapp.sandbox", true);
    })
    .await;
    let queues = items_of(app.admin_get("/api/v1/queues").await);
    assert!(!queues.is_empty(), "the demo seeds a queue");
    let channels = items_of(app.admin_get("/api/v1/channels").await);
    assert!(!channels.is_empty(), "the demo seeds a channel");
    let agents = items_of(app.admin_get("/api/v1/agents").await);
    assert!(
        agents.iter().filter(|a| a["role"] == "agent").count() >= 1,
        "the demo seeds agents: {agents:?}"
    );
}

#[tokio::test]
async fn environment_overrides_the_message_limit() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("limits.max_message_chars", 10);
    })
    .await;
    app.cloud_api_accepts("wamid.OUT1").await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550001001", "hi").await;
    let code = a
        .err(json!({"type": "send", "interaction_id": id, "text": "12345678901"}))
        .await;
    assert_eq!(code, "message_too_long");
    a.ok(json!({"type": "send", "interaction_id": id, "text": "1234567890"}))
        .await;
}

#[tokio::test]
async fn invalid_configuration_refuses_to_start() {
    // routing.no_answer_status accepts only on_break or rona: the binary must exit, not serve.
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .current_dir(dir.path())
        .env("SWITCHBOARD__SERVER__BIND", "127.0.0.1:0")
        .env("SWITCHBOARD__DATABASE__PATH", dir.path().join("x.db"))
        .env("SWITCHBOARD__DEMO__ENABLED", "false")
        .env("SWITCHBOARD__ROUTING__NO_ANSWER_STATUS", "sleeping")
        .env("RUST_LOG", "off")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_secs(20), out)
        .await
        .expect("the binary should exit on a bad configuration")
        .unwrap();
    assert!(!out.status.success());
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
}

#[tokio::test]
async fn a_media_bucket_that_cannot_be_reached_makes_the_server_not_ready() {
    // Nothing listens on the endpoint's port: the start succeeds (the bucket is not needed to
    // serve), `/readyz` says why files cannot be stored, and an agent's attachment is refused
    // with the contract's error rather than acknowledged and lost.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("media.store", "s3")
            .set("media.s3_bucket", "unreachable")
            .set("media.s3_endpoint", &endpoint)
            .set("media.s3_allow_http", true)
            .set("media.s3_access_key_id", "k")
            .set("media.s3_secret_access_key", "s");
    })
    .await;
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status(), 503);
    let body: Value = ready.json().await.unwrap();
    let media = body["media"].as_str().unwrap_or_default();
    assert!(media.contains("the bucket"), "{body}");

    let b = app.setup_basic(1, json!({})).await;
    let mut agent = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut agent, "15550177001", "send me the form")
        .await;
    let resp = app
        .attach(
            &b.agents[0].token,
            id,
            jpeg_bytes(2_000),
            "form.jpg",
            "image/jpeg",
            None,
        )
        .await;
    assert_eq!(resp.status(), 503);
    let error: Value = resp.json().await.unwrap();
    assert_eq!(error["error"]["code"], "unavailable", "{error}");
    // Nothing was sent and nothing stays in the temporary folder.
    let v = app.get_interaction(id).await;
    assert_eq!(v["messages"].as_array().unwrap().len(), 1, "{v}");
    let tmp = app.media_path.join("tmp");
    assert_eq!(std::fs::read_dir(&tmp).map(|d| d.count()).unwrap_or(0), 0);
}
