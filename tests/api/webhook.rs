//! The WhatsApp webhook: verification, signatures, limits, idempotency (SPEC section 6, R1, R12).

use crate::helpers::*;
use serde_json::{json, Value};

fn messages_of(v: &Value) -> Vec<Value> {
    v["messages"].as_array().cloned().unwrap_or_default()
}

#[tokio::test]
async fn verification_echoes_the_challenge() {
    let app = TestApp::spawn().await;
    let resp = app
        .get(
            &format!("/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=1158201444"),
            None,
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "1158201444");
}

#[tokio::test]
async fn verification_with_a_wrong_token_is_forbidden() {
    let app = TestApp::spawn().await;
    let resp = app
        .get(
            "/webhooks/whatsapp?hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1158201444",
            None,
        )
        .await;
    assert_eq!(resp.status(), 403);
    assert_ne!(resp.text().await.unwrap(), "1158201444");
}

#[tokio::test]
async fn missing_or_wrong_signature_is_unauthorized() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let body = serde_json::to_vec(&inbound_delivery(
        PHONE_NUMBER_ID,
        &[("15550003001", "Eve", &new_wamid(), "hi", now_secs())],
    ))
    .unwrap();
    let resp = app.post_webhook_raw(body.clone(), None).await;
    assert_eq!(resp.status(), 401);
    let resp = app
        .post_webhook_raw(body.clone(), Some(sign(&body, "some-other-secret")))
        .await;
    assert_eq!(resp.status(), 401);
    let resp = app
        .post_webhook_raw(body.clone(), Some("sha256=nothex".into()))
        .await;
    assert_eq!(resp.status(), 401);
    // A signature of a different body does not do either.
    let resp = app
        .post_webhook_raw(body, Some(sign(b"{}", APP_SECRET)))
        .await;
    assert_eq!(resp.status(), 401);
    assert!(
        app.list_interactions("").await.is_empty(),
        "nothing may be created"
    );
}

#[tokio::test]
async fn malformed_json_is_bad_request() {
    let app = TestApp::spawn().await;
    let body = b"{\"object\": \"whatsapp_business_account\", \"entry\": [".to_vec();
    let sig = sign(&body, APP_SECRET);
    let resp = app.post_webhook_raw(body, Some(sig)).await;
    assert_eq!(resp.status(), 400);
}

#[tokio::test]
async fn body_over_three_megabytes_is_too_large() {
    let app = TestApp::spawn().await;
    let mut body = b"{\"object\":\"whatsapp_business_account\",\"pad\":\"".to_vec();
    body.extend(std::iter::repeat_n(b'x', 3 * 1024 * 1024 + 10));
    body.extend(b"\",\"entry\":[]}");
    let sig = sign(&body, APP_SECRET);
    let resp = app.post_webhook_raw(body, Some(sig)).await;
    assert_eq!(resp.status(), 413);
}

#[tokio::test]
async fn unknown_phone_number_id_is_acknowledged_and_ignored() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let delivery = inbound_delivery(
        "999999",
        &[("15550003002", "Zed", &new_wamid(), "hello?", now_secs())],
    );
    let resp = app.post_webhook(&delivery).await;
    assert_eq!(resp.status(), 200);
    assert!(app.list_interactions("").await.is_empty());
}

#[tokio::test]
async fn inbound_message_creates_a_queued_interaction() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(0, json!({})).await;
    let wamid = app
        .customer_says("15550003003", "Maria Lopez", "Where is my order?")
        .await;
    let list = app.list_interactions("").await;
    assert_eq!(list.len(), 1, "{list:?}");
    let v = app.get_interaction(id_of(list[0].clone())).await;
    assert_eq!(v["state"], "queued");
    assert_eq!(v["customer"]["name"], "Maria Lopez");
    assert_eq!(v["customer"]["phone"], "+15550003003");
    assert_eq!(v["source_number"], DISPLAY_PHONE_NUMBER);
    assert_eq!(v["queue"]["id"], json!(b.queue_id));
    assert_eq!(v["queue"]["name"], json!(b.queue_name));
    assert!(v["owner_agent_id"].is_null());
    let msgs = messages_of(&v);
    assert_eq!(msgs.len(), 1);
    assert_eq!(msgs[0]["direction"], "in");
    assert_eq!(msgs[0]["author"]["kind"], "customer");
    assert_eq!(msgs[0]["kind"], "text");
    assert_eq!(msgs[0]["text"], "Where is my order?");
    let _ = wamid;
}

#[tokio::test]
async fn duplicate_delivery_adds_nothing() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let wamid = new_wamid();
    let delivery = inbound_delivery(
        PHONE_NUMBER_ID,
        &[("15550003004", "Dup", &wamid, "once", now_secs())],
    );
    for _ in 0..3 {
        assert_eq!(app.post_webhook(&delivery).await.status(), 200);
    }
    let list = app.list_interactions("").await;
    assert_eq!(list.len(), 1);
    let v = app.get_interaction(id_of(list[0].clone())).await;
    assert_eq!(
        messages_of(&v).len(),
        1,
        "a repeated wamid must add nothing: {v}"
    );
}

#[tokio::test]
async fn one_delivery_with_several_messages_processes_all_in_order() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let ts = now_secs();
    let (w1, w2, w3) = (new_wamid(), new_wamid(), new_wamid());
    let delivery = inbound_delivery(
        PHONE_NUMBER_ID,
        &[
            ("15550003005", "Ann", &w1, "ann one", ts),
            ("15550003006", "Bob", &w2, "bob one", ts),
            ("15550003005", "Ann", &w3, "ann two", ts),
        ],
    );
    assert_eq!(app.post_webhook(&delivery).await.status(), 200);
    let list = app.list_interactions("").await;
    assert_eq!(list.len(), 2, "two customers, two interactions: {list:?}");
    let mut by_phone = std::collections::HashMap::new();
    for i in list {
        let v = app.get_interaction(id_of(i)).await;
        by_phone.insert(v["customer"]["phone"].as_str().unwrap().to_string(), v);
    }
    let ann: Vec<String> = messages_of(&by_phone["+15550003005"])
        .iter()
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ann, ["ann one", "ann two"]);
    assert_eq!(messages_of(&by_phone["+15550003006"]).len(), 1);
}

#[tokio::test]
async fn several_entries_and_changes_are_all_processed() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let a = inbound_delivery(
        PHONE_NUMBER_ID,
        &[("15550003007", "A", &new_wamid(), "a", now_secs())],
    );
    let b = inbound_delivery(
        PHONE_NUMBER_ID,
        &[("15550003008", "B", &new_wamid(), "b", now_secs())],
    );
    let c = inbound_delivery(
        PHONE_NUMBER_ID,
        &[("15550003009", "C", &new_wamid(), "c", now_secs())],
    );
    let mut entry = a["entry"][0].clone();
    entry["changes"]
        .as_array_mut()
        .unwrap()
        .push(b["entry"][0]["changes"][0].clone());
    let delivery = json!({
        "object": "whatsapp_business_account",
        "entry": [entry, c["entry"][0].clone()],
    });
    assert_eq!(app.post_webhook(&delivery).await.status(), 200);
    assert_eq!(app.list_interactions("").await.len(), 3);
}

#[tokio::test]
async fn a_channel_may_override_the_app_secret() {
    let app = TestApp::spawn().await;
    let q = app.create_queue(json!({})).await;
    app.create_channel_with(q, json!({"app_secret": "channel-secret"}))
        .await;
    let body = serde_json::to_vec(&inbound_delivery(
        PHONE_NUMBER_ID,
        &[("15550003010", "Cy", &new_wamid(), "hi", now_secs())],
    ))
    .unwrap();
    let resp = app
        .post_webhook_raw(body.clone(), Some(sign(&body, "channel-secret")))
        .await;
    assert_eq!(resp.status(), 200);
    assert_eq!(app.list_interactions("").await.len(), 1);
}

#[tokio::test]
async fn status_for_an_unknown_message_is_ignored() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let resp = app
        .post_webhook(&status_delivery(
            "wamid.DOESNOTEXIST",
            "delivered",
            "15550003011",
        ))
        .await;
    assert_eq!(resp.status(), 200);
    assert!(app.list_interactions("").await.is_empty());
}

#[tokio::test]
async fn non_text_messages_are_kept_with_their_kind() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let delivery = envelope(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": PHONE_NUMBER_ID},
        "contacts": [{"profile": {"name": "Pix"}, "wa_id": "15550003012"}],
        "messages": [{
            "from": "15550003012", "id": new_wamid(), "timestamp": now_secs().to_string(),
            "type": "image", "image": {"id": "MEDIA1", "mime_type": "image/jpeg", "caption": "my receipt"}
        }]
    }));
    assert_eq!(app.post_webhook(&delivery).await.status(), 200);
    let list = app.list_interactions("").await;
    assert_eq!(list.len(), 1);
    let v = app.get_interaction(id_of(list[0].clone())).await;
    assert_eq!(v["messages"][0]["kind"], "image");
}

#[tokio::test]
async fn concurrent_deliveries_for_a_new_customer_make_one_interaction() {
    let app = TestApp::spawn().await;
    app.setup_basic(0, json!({})).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let delivery = inbound_delivery(
            PHONE_NUMBER_ID,
            &[(
                "15550003013",
                "Rush",
                &new_wamid(),
                &format!("msg {i}"),
                now_secs(),
            )],
        );
        let body = serde_json::to_vec(&delivery).unwrap();
        let sig = sign(&body, APP_SECRET);
        let req = app
            .client
            .post(app.url("/webhooks/whatsapp"))
            .header("Content-Type", "application/json")
            .header("X-Hub-Signature-256", sig)
            .body(body);
        tasks.push(tokio::spawn(async move {
            req.send().await.unwrap().status().as_u16()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 200);
    }
    let list = app.list_interactions("").await;
    assert_eq!(
        list.len(),
        1,
        "one open interaction per customer (R1): {list:?}"
    );
    let v = app.get_interaction(id_of(list[0].clone())).await;
    assert_eq!(messages_of(&v).len(), 10);
}
