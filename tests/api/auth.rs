//! Login, tokens and roles (SPEC section 4).

use crate::helpers::*;
use serde_json::{json, Value};

#[tokio::test]
async fn login_returns_a_token_and_the_user() {
    let app = TestApp::spawn().await;
    let v = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    assert!(v["token"].as_str().is_some_and(|t| t.len() >= 16), "{v}");
    let expires = rfc3339_ms(v["expires_at"].as_str().expect("expires_at"));
    assert!(expires > now_ms(), "expires_at must be in the future: {v}");
    assert!(v["user"]["id"].is_i64());
    assert_eq!(v["user"]["username"], ADMIN_USERNAME);
    assert_eq!(v["user"]["role"], "admin");
    assert!(v["user"]["display_name"].is_string());
    assert!(v["user"].get("password").is_none() && v["user"].get("password_hash").is_none());
}

#[tokio::test]
async fn wrong_password_is_invalid_credentials() {
    let app = TestApp::spawn().await;
    let resp = app.try_login(ADMIN_USERNAME, "not-the-password").await;
    assert_eq!(assert_error(resp, 401).await, "invalid_credentials");
    let resp = app.try_login("nobody", "whatever-password").await;
    assert_eq!(assert_error(resp, 401).await, "invalid_credentials");
}

#[tokio::test]
async fn me_requires_a_valid_token() {
    let app = TestApp::spawn().await;
    let me = json_ok(app.get("/api/v1/me", Some(&app.admin_token)).await, "me").await;
    assert_eq!(me["username"], ADMIN_USERNAME);
    assert_eq!(me["role"], "admin");

    assert_error(app.get("/api/v1/me", None).await, 401).await;
    assert_error(app.get("/api/v1/me", Some("not-a-real-token")).await, 401).await;
}

#[tokio::test]
async fn logout_revokes_the_token() {
    let app = TestApp::spawn().await;
    let v = app.login(ADMIN_USERNAME, ADMIN_PASSWORD).await;
    let token = v["token"].as_str().unwrap().to_string();
    assert_eq!(app.get("/api/v1/me", Some(&token)).await.status(), 200);
    let resp = app
        .post("/api/v1/auth/logout", Some(&token), &json!({}))
        .await;
    assert_eq!(resp.status(), 204);
    assert_error(app.get("/api/v1/me", Some(&token)).await, 401).await;
    // Other sessions are untouched.
    assert_eq!(
        app.get("/api/v1/me", Some(&app.admin_token)).await.status(),
        200
    );
}

#[tokio::test]
async fn agents_cannot_use_the_admin_api() {
    let app = TestApp::spawn().await;
    let q = app.create_queue(json!({})).await;
    let agent = app.new_agent(&[q], json!({})).await;

    let me: Value = json_ok(app.get("/api/v1/me", Some(&agent.token)).await, "me").await;
    assert_eq!(me["role"], "agent");
    assert_eq!(me["id"], json!(agent.id));

    assert_eq!(
        assert_error(app.get("/api/v1/agents", Some(&agent.token)).await, 403).await,
        "forbidden"
    );
    let resp = app
        .post(
            "/api/v1/queues",
            Some(&agent.token),
            &json!({"name": "Sneaky"}),
        )
        .await;
    assert_error(resp, 403).await;
    assert_error(app.get("/api/v1/agents", None).await, 401).await;
}

#[tokio::test]
async fn websocket_refuses_a_bad_token() {
    let app = TestApp::spawn().await;
    let res = tokio_tungstenite::connect_async(app.ws_url("not-a-token")).await;
    match res {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status().as_u16(), 401)
        }
        Err(e) => panic!("expected an HTTP 401 refusal, got {e}"),
        Ok(_) => panic!("a WebSocket with a bad token must be refused"),
    }
}
