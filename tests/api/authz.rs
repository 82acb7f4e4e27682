//! Intruders: every endpoint against every role, bad tokens, another agent's conversation,
//! login brute force, secrets in the logs, webhook signatures, browser protections.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Who may call an endpoint.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
enum Min {
    Anyone,
    Agent,
    Supervisor,
    Admin,
}

fn rank(role: &str) -> Min {
    match role {
        "agent" => Min::Agent,
        "supervisor" => Min::Supervisor,
        "admin" => Min::Admin,
        _ => Min::Anyone,
    }
}

async fn call(app: &TestApp, method: &str, path: &str, token: Option<&str>) -> reqwest::Response {
    let body = json!({});
    match method {
        "GET" => app.get(path, token).await,
        "POST" => app.post(path, token, &body).await,
        "PATCH" => app.patch(path, token, &body).await,
        "DELETE" => app.delete(path, token).await,
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn every_endpoint_against_every_role_and_bad_tokens() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("auth.login_attempts_per_minute", 1000);
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    let sup = app.new_agent(&[], json!({"role": "supervisor"})).await;
    let agent = &b.agents[0];
    let missing = 987654;
    let matrix: Vec<(&str, String, Min)> = vec![
        ("GET", "/api/v1/me".into(), Min::Agent),
        ("GET", "/api/v1/agents".into(), Min::Admin),
        ("POST", "/api/v1/agents".into(), Min::Admin),
        ("GET", format!("/api/v1/agents/{missing}"), Min::Admin),
        ("PATCH", format!("/api/v1/agents/{missing}"), Min::Admin),
        ("DELETE", format!("/api/v1/agents/{missing}"), Min::Admin),
        ("GET", "/api/v1/queues".into(), Min::Admin),
        ("POST", "/api/v1/queues".into(), Min::Admin),
        ("GET", format!("/api/v1/queues/{}", b.queue_id), Min::Admin),
        ("PATCH", format!("/api/v1/queues/{missing}"), Min::Admin),
        ("DELETE", format!("/api/v1/queues/{missing}"), Min::Admin),
        ("GET", "/api/v1/channels".into(), Min::Admin),
        ("POST", "/api/v1/channels".into(), Min::Admin),
        (
            "GET",
            format!("/api/v1/channels/{}", b.channel_id),
            Min::Admin,
        ),
        ("PATCH", format!("/api/v1/channels/{missing}"), Min::Admin),
        ("DELETE", format!("/api/v1/channels/{missing}"), Min::Admin),
        ("GET", "/api/v1/contacts".into(), Min::Agent),
        ("POST", "/api/v1/contacts".into(), Min::Agent),
        ("GET", format!("/api/v1/contacts/{missing}"), Min::Agent),
        ("PATCH", format!("/api/v1/contacts/{missing}"), Min::Agent),
        ("DELETE", format!("/api/v1/contacts/{missing}"), Min::Agent),
        ("GET", "/api/v1/activities".into(), Min::Agent),
        ("GET", format!("/api/v1/activities/{missing}"), Min::Agent),
        ("GET", "/api/v1/settings".into(), Min::Admin),
        ("PATCH", "/api/v1/settings".into(), Min::Admin),
        ("GET", "/api/v1/stats/realtime".into(), Min::Supervisor),
        ("GET", "/api/v1/reports/queues".into(), Min::Supervisor),
        ("GET", "/api/v1/reports/agents".into(), Min::Supervisor),
        ("GET", "/api/v1/reports/intervals".into(), Min::Supervisor),
        ("GET", "/healthz".into(), Min::Anyone),
        ("GET", "/openapi.json".into(), Min::Anyone),
    ];
    let users = [
        ("agent", agent.token.clone()),
        ("supervisor", sup.token.clone()),
        ("admin", app.admin_token.clone()),
    ];
    let bad_tokens = [
        "".to_string(),
        "abc".to_string(),
        "g".repeat(64),
        "a".repeat(64),
        "a".repeat(65),
        {
            let last = if agent.token.ends_with('0') { "1" } else { "0" };
            format!("{}{last}", &agent.token[..63])
        },
        agent.token.to_uppercase().replace(char::is_numeric, "0"),
    ];
    let mut checked = 0;
    for (method, path, min) in &matrix {
        // Without a token, or with a bad one: 401 unless public.
        let resp = call(&app, method, path, None).await;
        if *min == Min::Anyone {
            assert!(resp.status().is_success(), "{method} {path}");
            continue;
        }
        assert_eq!(
            assert_error(resp, 401).await,
            "unauthenticated",
            "{method} {path}"
        );
        for t in &bad_tokens {
            let resp = call(&app, method, path, Some(t)).await;
            assert_eq!(resp.status(), 401, "{method} {path} with token {t:?}");
            checked += 1;
        }
        for (role, token) in &users {
            let resp = call(&app, method, path, Some(token)).await;
            let status = resp.status().as_u16();
            if rank(role) >= *min {
                assert!(
                    status != 401 && status != 403,
                    "{role} refused {method} {path}: {status}"
                );
                assert!(status < 500, "{role} {method} {path}: {status}");
            } else {
                assert_eq!(status, 403, "{role} allowed {method} {path}");
            }
            checked += 1;
        }
    }
    // Interactions: supervisors and up see all; an agent sees only its own.
    let resp = app.get("/api/v1/stats/realtime", Some(&agent.token)).await;
    assert_eq!(resp.status(), 403);

    // Revoked and deleted: the token stops working.
    let other = app.new_agent(&[], json!({})).await;
    let resp = app
        .post("/api/v1/auth/logout", Some(&other.token), &json!({}))
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        app.get("/api/v1/me", Some(&other.token)).await.status(),
        401
    );
    let gone = app.new_agent(&[], json!({})).await;
    app.delete(
        &format!("/api/v1/agents/{}", gone.id),
        Some(&app.admin_token),
    )
    .await;
    assert_eq!(app.get("/api/v1/me", Some(&gone.token)).await.status(), 401);
    // WebSockets: agent socket with bad tokens, supervisor feed below supervisor.
    for t in ["", "abc", &"a".repeat(64), &other.token] {
        let url = format!("ws://127.0.0.1:{}/ws/agent?token={t}", app.port);
        assert!(
            tokio_tungstenite::connect_async(&url).await.is_err(),
            "ws with {t:?}"
        );
    }
    let url = app.supervisor_url(&agent.token);
    assert!(tokio_tungstenite::connect_async(&url).await.is_err());
    let url = app.supervisor_url(&sup.token);
    assert!(tokio_tungstenite::connect_async(&url).await.is_ok());
    eprintln!(
        "authz: {} endpoints x (no token, {} bad tokens, 3 roles): {checked} calls checked",
        matrix.len(),
        bad_tokens.len()
    );
}

#[tokio::test]
async fn tokens_expire() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("auth.token_ttl_secs", 1);
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    // The agent's token was issued during setup; wait it out.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(
        app.get("/api/v1/me", Some(&b.agents[0].token))
            .await
            .status(),
        401
    );
    let url = app.ws_url(&b.agents[0].token);
    assert!(tokio_tungstenite::connect_async(&url).await.is_err());
}

#[tokio::test]
async fn another_agents_conversation_is_out_of_reach() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.AUTHZ").await;
    let b = app.setup_basic(2, json!({})).await;
    let mut owner = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut owner, "15550006001", "private")
        .await;
    let mut intruder = app.agent_online(&b.agents[1]).await;
    let target = b.agents[1].id;
    let commands = [
        json!({"type": "accept", "interaction_id": id}),
        json!({"type": "reject", "interaction_id": id}),
        json!({"type": "send", "interaction_id": id, "text": "intruder"}),
        json!({"type": "end", "interaction_id": id}),
        json!({"type": "wrap_up", "interaction_id": id, "disposition": "resolved"}),
        json!({"type": "transfer", "interaction_id": id, "agent_id": target}),
        json!({"type": "transfer", "interaction_id": id, "queue_id": b.queue_id}),
        json!({"type": "conference", "interaction_id": id, "agent_id": target}),
        json!({"type": "end_conference", "interaction_id": id}),
        json!({"type": "leave_conference", "interaction_id": id}),
        json!({"type": "link_contact", "interaction_id": id, "contact_id": 1}),
        json!({"type": "create_contact", "interaction_id": id, "contact": {"first_name": "X"}}),
    ];
    for c in &commands {
        let code = intruder.err(c.clone()).await;
        assert!(!code.is_empty(), "{c}");
    }
    // Over HTTP too: 404 for the other agent.
    let resp = app
        .get(
            &format!("/api/v1/interactions/{id}"),
            Some(&b.agents[1].token),
        )
        .await;
    assert_eq!(resp.status(), 404);
    let list = json_ok(
        app.get("/api/v1/interactions", Some(&b.agents[1].token))
            .await,
        "list",
    )
    .await;
    assert!(items_of(list).is_empty(), "the intruder lists nothing");
    // Nothing changed.
    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert_eq!(v["owner_agent_id"], json!(b.agents[0].id));
    assert_eq!(message_texts(&v), ["private"]);
    assert!(v["contact_id"].is_null());
    owner
        .expect_no("wrap_up_started", Duration::from_millis(200))
        .await;
    eprintln!(
        "authz ws: {} commands on another agent's conversation refused",
        commands.len()
    );
}

#[tokio::test]
async fn login_brute_force_is_throttled_and_secrets_never_logged() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.env("RUST_LOG", "debug");
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    let agent = &b.agents[0];
    let mut throttled = 0;
    for k in 0..15 {
        let resp = app
            .try_login(&agent.username, &format!("guess-number-{k}"))
            .await;
        match resp.status().as_u16() {
            401 => {}
            429 => throttled += 1,
            s => panic!("login attempt answered {s}"),
        }
    }
    assert!(throttled >= 4, "only {throttled} of 15 guesses throttled");
    // Some traffic that carries the token in the query and the header.
    let c = app.connect(agent).await;
    drop(c);
    app.get("/api/v1/me", Some(&agent.token)).await;
    let log = app.full_log();
    assert!(log.len() > 1000, "the debug log was captured");
    for secret in [
        agent.password.as_str(),
        agent.token.as_str(),
        app.admin_token.as_str(),
        ADMIN_PASSWORD,
        APP_SECRET,
        ACCESS_TOKEN,
        "guess-number-3",
    ] {
        assert!(
            !log.contains(secret),
            "a secret is in the server log: {secret}"
        );
    }
    eprintln!(
        "authz logs: {} bytes of debug log checked for 7 secrets; {throttled}/15 guesses throttled",
        log.len()
    );
}

#[tokio::test]
async fn webhook_signatures_are_required_and_checked() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let wamid = new_wamid();
    let delivery = inbound_delivery(
        PHONE_NUMBER_ID,
        &[("15550006101", "Sig", &wamid, "signed", now_secs())],
    );
    let body = serde_json::to_vec(&delivery).unwrap();
    let good = sign(&body, APP_SECRET);
    let mut tampered = body.clone();
    let pos = tampered.windows(6).position(|w| w == b"signed").unwrap();
    tampered[pos] = b'S';
    let wrong_secret = sign(&body, "not-the-secret");
    let refused: Vec<(&str, Vec<u8>, Option<String>)> = vec![
        ("missing", body.clone(), None),
        ("empty", body.clone(), Some(String::new())),
        (
            "no prefix",
            body.clone(),
            Some(good.trim_start_matches("sha256=").into()),
        ),
        ("sha1", body.clone(), Some(good.replace("sha256=", "sha1="))),
        ("wrong secret", body.clone(), Some(wrong_secret)),
        ("tampered body", tampered, Some(good.clone())),
        (
            "truncated digest",
            body.clone(),
            Some(good[..good.len() - 2].into()),
        ),
        (
            "not hex",
            body.clone(),
            Some(format!("sha256={}", "z".repeat(64))),
        ),
        ("upper-cased", body.clone(), Some(good.to_uppercase())),
    ];
    let n = refused.len();
    for (what, body, sig) in refused {
        let resp = app.post_webhook_raw(body, sig).await;
        if what == "upper-cased" && resp.status() == 200 {
            continue; // hex digits in either case are the same digest
        }
        assert_eq!(assert_error(resp, 401).await, "invalid_signature", "{what}");
    }
    assert!(
        app.list_interactions("").await.is_empty(),
        "a refused delivery stored something"
    );
    // The genuine delivery, then its replay: one message.
    for _ in 0..3 {
        let resp = app.post_webhook_raw(body.clone(), Some(good.clone())).await;
        assert_eq!(resp.status(), 200);
    }
    let list = app.list_interactions("").await;
    assert_eq!(list.len(), 1);
    assert_eq!(
        message_texts(&app.get_interaction(id_of(list[0].clone())).await),
        ["signed"]
    );
    eprintln!("authz webhook: {n} forged deliveries refused, 2 replays ignored");
}

#[tokio::test]
async fn browser_protections_headers_and_websocket_origin() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("server.public_url", "https://cc.example.com");
    })
    .await;
    let b = app.setup_basic(1, json!({})).await;
    for path in [
        "/",
        "/index.html",
        "/admin.html",
        "/simulator.html",
        "/app.js",
        "/healthz",
        "/api/v1/me",
        "/nope.html",
    ] {
        let resp = app.get(path, None).await;
        let h = resp.headers();
        let csp = h
            .get("content-security-policy")
            .unwrap_or_else(|| panic!("{path}: no CSP"))
            .to_str()
            .unwrap();
        assert!(
            csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"),
            "{csp}"
        );
        assert!(csp.contains("frame-ancestors 'none'"));
        assert_eq!(h["x-frame-options"], "DENY", "{path}");
        assert_eq!(h["x-content-type-options"], "nosniff", "{path}");
        assert_eq!(h["referrer-policy"], "no-referrer", "{path}");
        assert!(h.get("set-cookie").is_none(), "{path} sets a cookie");
    }
    // The pages load their scripts from files, never inline.
    for page in ["/", "/admin.html", "/simulator.html"] {
        let html = app.get(page, None).await.text().await.unwrap();
        for (i, _) in html.match_indices("<script") {
            let tag = &html[i..html[i..].find('>').map(|e| i + e).unwrap()];
            assert!(tag.contains("src="), "{page}: inline script {tag}");
        }
        assert!(
            !html.contains(" on") || !html.contains("onclick="),
            "{page}: inline handler"
        );
    }

    // WebSocket Origin: foreign origins refused; ours and none accepted.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let agent = &b.agents[0];
    let with_origin = |origin: &str| {
        let mut req = app.ws_url(&agent.token).into_client_request().unwrap();
        req.headers_mut().insert("Origin", origin.parse().unwrap());
        req
    };
    for evil in [
        "https://evil.example",
        "null",
        "http://cc.example.com",
        "https://cc.example.com.evil.example",
    ] {
        let res = tokio_tungstenite::connect_async(with_origin(evil)).await;
        assert!(res.is_err(), "origin {evil} accepted");
        let mut sup = app
            .supervisor_url(&app.admin_token)
            .into_client_request()
            .unwrap();
        sup.headers_mut().insert("Origin", evil.parse().unwrap());
        assert!(tokio_tungstenite::connect_async(sup).await.is_err());
    }
    for good in [
        "https://cc.example.com".to_string(),
        format!("http://127.0.0.1:{}", app.port),
        format!("http://localhost:{}", app.port),
    ] {
        let (ws, _) = tokio_tungstenite::connect_async(with_origin(&good))
            .await
            .unwrap_or_else(|e| panic!("origin {good} refused: {e}"));
        drop(ws);
    }
    let none: Value = json!(app.connect(agent).await.hello["type"]);
    assert_eq!(none, "hello");
}
