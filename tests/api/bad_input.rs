//! Bad input on the HTTP API, the webhook and the agent WebSocket: oversized bodies and
//! frames, deeply nested JSON, invalid UTF-8, huge numbers, unknown enum values, duplicate
//! keys. Each gets a clear 4xx (or a WebSocket `error`) in the contract's shape, and nothing
//! is stored.

use crate::helpers::*;
use serde_json::{json, Value};

async fn post_raw(app: &TestApp, path: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url(path))
        .bearer_auth(&app.admin_token)
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .expect("POST")
}

async fn counts(app: &TestApp) -> (usize, usize, usize) {
    let contacts = items_of(app.admin_get("/api/v1/contacts").await).len();
    let queues = items_of(app.admin_get("/api/v1/queues").await).len();
    let interactions = app.list_interactions("").await.len();
    (contacts, queues, interactions)
}

#[tokio::test]
async fn bad_http_bodies_get_a_clear_4xx_and_store_nothing() {
    let app = TestApp::spawn().await;
    let before = counts(&app).await;
    let nested = |depth: usize| {
        let mut s = "{\"name\": ".to_string();
        s.push_str(&"[".repeat(depth));
        s.push_str(&"]".repeat(depth));
        s.push('}');
        s.into_bytes()
    };
    let cases: Vec<(&str, &str, Vec<u8>, u16)> = vec![
        (
            "oversized",
            "/api/v1/contacts",
            format!("{{\"first_name\": \"{}\"}}", "a".repeat(2 * 1024 * 1024)).into_bytes(),
            413,
        ),
        ("nested", "/api/v1/queues", nested(100_000), 400),
        ("nested 200", "/api/v1/contacts", nested(200), 400),
        (
            "invalid utf-8",
            "/api/v1/contacts",
            b"{\"first_name\": \"\xff\xfe\xc3\x28\"}".to_vec(),
            400,
        ),
        (
            "huge number",
            "/api/v1/queues",
            br#"{"name": "Big", "offer_timeout_secs": 1e400}"#.to_vec(),
            400,
        ),
        (
            "huge integer",
            "/api/v1/queues",
            br#"{"name": "Big", "wrap_up_secs": 123456789012345678901234567890}"#.to_vec(),
            400,
        ),
        (
            "negative",
            "/api/v1/queues",
            br#"{"name": "Neg", "offer_timeout_secs": -5}"#.to_vec(),
            400,
        ),
        (
            "unknown enum",
            "/api/v1/queues",
            br#"{"name": "Strat", "strategy": "fastest_first"}"#.to_vec(),
            400,
        ),
        (
            "unknown role",
            "/api/v1/agents",
            br#"{"username": "root1", "password": "password-1", "role": "root"}"#.to_vec(),
            400,
        ),
        (
            "duplicate keys",
            "/api/v1/queues",
            br#"{"name": "First", "name": "Second"}"#.to_vec(),
            400,
        ),
        (
            "not an object",
            "/api/v1/contacts",
            b"[1, 2, 3]".to_vec(),
            400,
        ),
        (
            "truncated",
            "/api/v1/contacts",
            b"{\"first_name\": ".to_vec(),
            400,
        ),
        ("empty", "/api/v1/contacts", Vec::new(), 400),
        ("NUL bytes", "/api/v1/contacts", b"\0\0\0\0".to_vec(), 400),
    ];
    let tried = cases.len();
    for (what, path, body, status) in cases {
        let resp = post_raw(&app, path, body).await;
        let got = resp.status().as_u16();
        let text = resp.text().await.unwrap_or_default();
        assert_eq!(got, status, "{what}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap_or_else(|_| panic!("{what}: {text}"));
        assert!(v["error"]["code"].is_string(), "{what}: {text}");
        assert!(v["error"]["message"].is_string(), "{what}: {text}");
    }
    // Path and query: huge and malformed ids.
    for path in [
        "/api/v1/interactions/99999999999999999999999",
        "/api/v1/interactions/-1x",
        "/api/v1/interactions?limit=1e9",
        "/api/v1/interactions?state=exploded",
        "/api/v1/interactions?cursor=%FF%FE",
        "/api/v1/contacts?limit=99999999999999999999",
    ] {
        let resp = app.get(path, Some(&app.admin_token)).await;
        assert_error(resp, 400).await;
    }
    // A wrong content type.
    let resp = app
        .client
        .post(app.url("/api/v1/contacts"))
        .bearer_auth(&app.admin_token)
        .header("Content-Type", "text/plain")
        .body("{\"first_name\": \"x\"}")
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error(resp, 415).await, "unsupported_media_type");
    assert_eq!(
        counts(&app).await,
        before,
        "a refused request stored something"
    );
    assert!(app.get("/healthz", None).await.status().is_success());
    eprintln!(
        "bad_input http: {} bodies, 7 paths and queries refused; nothing stored",
        tried
    );
}

#[tokio::test]
async fn bad_webhook_deliveries_are_refused_and_store_nothing() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let signed = |body: Vec<u8>| {
        let sig = sign(&body, APP_SECRET);
        (body, Some(sig))
    };
    let mut deep = "[".repeat(50_000).into_bytes();
    deep.extend("]".repeat(50_000).into_bytes());
    let cases: Vec<(&str, Vec<u8>, u16)> = vec![
        ("oversized", vec![b' '; 3 * 1024 * 1024 + 10], 413),
        ("deeply nested", deep, 400),
        ("invalid utf-8", b"{\"object\": \"\xff\xfe\"}".to_vec(), 400),
        ("not JSON", b"<xml/>".to_vec(), 400),
        ("a list", b"[]".to_vec(), 400),
    ];
    for (what, body, status) in cases {
        let (body, sig) = signed(body);
        let resp = app.post_webhook_raw(body, sig).await;
        assert_eq!(resp.status().as_u16(), status, "{what}");
    }
    // Odd values inside a well-formed, signed delivery: accepted or refused, never a 5xx, and
    // a message with a huge or negative timestamp is either stored once or not at all.
    let odd = [
        json!("99999999999999999999999"),
        json!("-5"),
        json!(1e300),
        json!(null),
        json!({"nested": [1]}),
    ];
    for (k, ts) in odd.iter().enumerate() {
        let mut d = inbound_delivery(
            PHONE_NUMBER_ID,
            &[("15550007001", "Odd", &format!("wamid.ODD{k}"), "odd", 0)],
        );
        d["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = ts.clone();
        d["entry"][0]["changes"][0]["value"]["messages"][0]["type"] = json!("hologram");
        let resp = app.post_webhook(&d).await;
        assert!(
            resp.status().as_u16() < 500,
            "timestamp {ts}: {}",
            resp.status()
        );
    }
    let stored: usize = app
        .list_interactions("")
        .await
        .iter()
        .map(|i| app.get_interaction(id_of(i.clone())))
        .collect::<futures_util::future::JoinAll<_>>()
        .await
        .iter()
        .map(|i| i["messages"].as_array().unwrap().len())
        .sum();
    assert!(stored <= odd.len(), "at most one row per odd delivery");
}

#[tokio::test]
async fn bad_websocket_frames_get_bad_request_and_the_socket_survives() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.connect(&b.agents[0]).await;
    let frames: Vec<String> = vec![
        "{".into(),
        "[]".into(),
        "null".into(),
        format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)),
        r#"{"type": "accept", "interaction_id": 1e400, "ref": "x"}"#.into(),
        r#"{"type": "accept", "interaction_id": 123456789012345678901234567890}"#.into(),
        r#"{"type": "accept", "interaction_id": "7"}"#.into(),
        r#"{"type": "set_status", "status": "rona"}"#.into(),
        r#"{"type": "set_status", "status": "asleep"}"#.into(),
        r#"{"type": "launch_missiles"}"#.into(),
        r#"{"type": "send", "interaction_id": 1, "interaction_id": 2, "text": "dup"}"#.into(),
        r#"{"type": "stop_new", "enabled": "yes"}"#.into(),
        "\u{0}\u{0}".into(),
    ];
    let n = frames.len();
    for f in frames {
        a.send_text(f.clone()).await;
        let e = a.next_event(EVENT_TIMEOUT).await;
        assert_eq!(e["type"], "error", "frame {f:.60}: {e}");
        let code = e["code"].as_str().unwrap();
        assert!(
            [
                "bad_request",
                "invalid_status",
                "not_found",
                "invalid_input"
            ]
            .contains(&code),
            "frame {f:.60}: {e}"
        );
        assert!(e["message"].is_string());
    }
    // A binary frame is refused the same way.
    a.send_binary(vec![0xff, 0xfe, 0x00]).await;
    assert_eq!(a.next_event(EVENT_TIMEOUT).await["code"], "bad_request");
    // Still usable.
    a.set_status("available").await;

    // A frame over the 64 KiB limit closes the socket (a protocol error); reconnecting works.
    a.send_text(format!(
        "{{\"type\":\"send\",\"text\":\"{}\"}}",
        "x".repeat(70_000)
    ))
    .await;
    assert!(
        a.wait_closed(EVENT_TIMEOUT).await,
        "oversized frame accepted"
    );
    let again = app.connect(&b.agents[0]).await;
    assert_eq!(again.hello["type"], "hello");
    assert!(app.list_interactions("").await.is_empty());
    eprintln!(
        "bad_input ws: {} malformed frames answered bad_request; oversized frame closed the socket",
        n + 1
    );
}
