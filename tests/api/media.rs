//! R22, media both ways: a customer's file is committed first and fetched after, as a durable
//! job (retried, checked, independent of the wamid deduplication, surviving `kill -9`);
//! `GET /api/v1/media/{id}` serves it to those who may see the conversation, never an active
//! type inline; an agent's attachment is judged by its bytes, uploaded once and sent in order
//! with the texts.

use crate::helpers::*;
use serde_json::{json, Value};
use std::path::Path;
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, ResponseTemplate};

const CUSTOMER: &str = "447700900123";

/// A conversation accepted by one agent: (app's basic setup, the agent's socket, interaction).
async fn accepted(app: &TestApp) -> (Basic, AgentClient, i64) {
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hello").await;
    (b, a, id)
}

/// The `message` event of the customer's media message, with its media `pending`.
async fn media_message(a: &mut AgentClient, id: i64, kind: &str) -> Value {
    let kind = kind.to_string();
    let e = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id) && e["message"]["kind"] == json!(kind)
        })
        .await;
    e["message"].clone()
}

async fn media_event(a: &mut AgentClient, message_id: i64) -> Value {
    a.wait_for_where("message_media", EVENT_TIMEOUT, |e| {
        e["message_id"] == json!(message_id)
    })
    .await
}

#[tokio::test]
async fn a_customer_image_is_committed_pending_then_fetched_checked_and_shown() {
    let app = TestApp::spawn().await;
    let (b, mut a, id) = accepted(&app).await;
    let image = jpeg_bytes(40_000);
    let lookups = app.cloud_media("MEDIA1", &image, "image/jpeg").await;
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "MEDIA1", "mime_type": "image/jpeg", "sha256": sha256_base64(&image),
               "caption": "Broken box"}),
    )
    .await;
    let message = media_message(&mut a, id, "image").await;
    assert_eq!(message["text"], "Broken box");
    assert_eq!(message["media"]["state"], "pending", "{message}");
    assert_eq!(message["media"]["caption"], "Broken box");
    assert!(message["media"]["url"].is_null());
    let message_id = message["id"].as_i64().unwrap();

    let ready = media_event(&mut a, message_id).await;
    assert_eq!(ready["interaction_id"], json!(id));
    let media = &ready["media"];
    assert_eq!(media["state"], "ready", "{ready}");
    assert_eq!(media["size"], json!(image.len()));
    assert_eq!(media["sha256"], json!(sha256_hex(&image)));
    assert_eq!(media["mime_type"], "image/jpeg");
    let url = media["url"].as_str().unwrap().to_string();
    assert_eq!(url, format!("/api/v1/media/{}", media["id"]));
    assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 1);

    // The file is served to the agent, and shown in the transcript and in a new hello.
    let resp = app.get(&url, Some(&b.agents[0].token)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), image);
    let m = app.wait_media_state(id, message_id, "ready").await;
    assert_eq!(m["media"]["url"], json!(url));
    let again = app.connect(&b.agents[0]).await;
    let hello_media = again.hello["interactions"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(message_id))
        .unwrap()["media"]
        .clone();
    assert_eq!(hello_media["state"], "ready");
    // Kept under media.path.
    assert_eq!(files_under(&app.media_path).len(), 1);
}

/// The regular files under `dir` (not `tmp/`).
fn files_under(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                if p.file_name().is_some_and(|n| n != "tmp") {
                    stack.push(p);
                }
            } else if p.file_name().is_some_and(|n| n != ".readyz") {
                out.push(p);
            }
        }
    }
    out
}

#[tokio::test]
async fn sha256_in_hex_or_base64_is_accepted_from_either_side() {
    let app = TestApp::spawn().await;
    let (_b, mut a, id) = accepted(&app).await;
    let one = pdf_bytes();
    let two = jpeg_bytes(3_000);
    // The webhook in base64, the media endpoint in hex (as Meta writes them)...
    app.cloud_media_declaring("DOC1", &one, "application/pdf", &sha256_hex(&one))
        .await;
    // ...and the other way round.
    app.cloud_media_declaring("IMG2", &two, "image/jpeg", &sha256_base64(&two))
        .await;
    app.customer_sends_media(
        CUSTOMER,
        "document",
        json!({"id": "DOC1", "mime_type": "application/pdf", "filename": "invoice.pdf",
               "sha256": sha256_base64(&one)}),
    )
    .await;
    let doc = media_message(&mut a, id, "document").await;
    assert_eq!(doc["text"], "[document: invoice.pdf]");
    assert_eq!(doc["media"]["filename"], "invoice.pdf");
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "IMG2", "mime_type": "image/jpeg", "sha256": sha256_hex(&two)}),
    )
    .await;
    let img = media_message(&mut a, id, "image").await;
    for m in [doc, img] {
        let e = media_event(&mut a, m["id"].as_i64().unwrap()).await;
        assert_eq!(e["media"]["state"], "ready", "{e}");
    }
}

#[tokio::test]
async fn a_download_that_fails_once_is_retried_and_becomes_ready() {
    let app = TestApp::spawn().await;
    let (_b, mut a, id) = accepted(&app).await;
    let image = jpeg_bytes(2_000);
    Mock::given(method("GET"))
        .and(path_regex("^/download/FLAKY/[0-9]+$"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.cloud_api)
        .await;
    app.cloud_media("FLAKY", &image, "image/jpeg").await;
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "FLAKY", "mime_type": "image/jpeg"}),
    )
    .await;
    let m = media_message(&mut a, id, "image").await;
    let e = media_event(&mut a, m["id"].as_i64().unwrap()).await;
    assert_eq!(e["media"]["state"], "ready", "{e}");
    assert_eq!(app.media_downloads("FLAKY").await.len(), 2);
}

#[tokio::test]
async fn an_expired_download_url_is_replaced_by_a_fresh_one_on_the_next_try() {
    let app = TestApp::spawn().await;
    let (_b, mut a, id) = accepted(&app).await;
    let video = mp4_bytes();
    // The first URL has expired by the time it is used (Meta's last five minutes).
    Mock::given(method("GET"))
        .and(path("/download/OLDURL/1"))
        .respond_with(ResponseTemplate::new(403))
        .with_priority(1)
        .mount(&app.cloud_api)
        .await;
    let lookups = app.cloud_media("OLDURL", &video, "video/mp4").await;
    app.customer_sends_media(
        CUSTOMER,
        "video",
        json!({"id": "OLDURL", "mime_type": "video/mp4"}),
    )
    .await;
    let m = media_message(&mut a, id, "video").await;
    let e = media_event(&mut a, m["id"].as_i64().unwrap()).await;
    assert_eq!(e["media"]["state"], "ready", "{e}");
    assert_eq!(
        lookups.load(std::sync::atomic::Ordering::SeqCst),
        2,
        "a fresh URL was asked for"
    );
    assert_eq!(
        app.media_downloads("OLDURL").await,
        vec![
            "/download/OLDURL/1".to_string(),
            "/download/OLDURL/2".into()
        ]
    );
}

#[tokio::test]
async fn a_sha256_mismatch_fails_after_the_tries_with_the_reason_shown() {
    let app = TestApp::spawn_with(|c| {
        c.set("media.max_attempts", 3);
    })
    .await;
    let (b, mut a, id) = accepted(&app).await;
    let image = jpeg_bytes(1_000);
    let lookups = app
        .cloud_media_declaring("BAD", &image, "image/jpeg", &sha256_hex(b"another file"))
        .await;
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "BAD", "mime_type": "image/jpeg"}),
    )
    .await;
    let m = media_message(&mut a, id, "image").await;
    let message_id = m["id"].as_i64().unwrap();
    let e = media_event(&mut a, message_id).await;
    let media = &e["media"];
    assert_eq!(media["state"], "failed", "{e}");
    let error = media["error"].as_str().unwrap();
    assert!(error.contains("sha256 mismatch"), "{error}");
    assert!(error.contains("gave up after 3 tries"), "{error}");
    assert_eq!(lookups.load(std::sync::atomic::Ordering::SeqCst), 3);
    assert!(media["url"].is_null());
    // Nothing was kept, and asking for the file says why.
    assert!(files_under(&app.media_path).is_empty());
    let shown = app.wait_media_state(id, message_id, "failed").await;
    let resp = app
        .get(
            &format!("/api/v1/media/{}", shown["media"]["id"]),
            Some(&b.agents[0].token),
        )
        .await;
    assert_eq!(assert_error(resp, 409).await, "media_not_ready");
}

#[tokio::test]
async fn a_repeated_delivery_while_the_download_is_pending_neither_blocks_nor_duplicates_it() {
    let app = TestApp::spawn().await;
    let (_b, mut a, id) = accepted(&app).await;
    let image = jpeg_bytes(5_000);
    // A slow download: the redelivery comes while it is under way.
    Mock::given(method("GET"))
        .and(path_regex("^/download/SLOW/[0-9]+$"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_bytes(image.clone())
                .set_delay(Duration::from_millis(1500)),
        )
        .with_priority(1)
        .mount(&app.cloud_api)
        .await;
    let lookups = app.cloud_media("SLOW", &image, "image/jpeg").await;
    let wamid = new_wamid();
    let delivery = media_delivery(
        CUSTOMER,
        &wamid,
        "image",
        json!({"id": "SLOW", "mime_type": "image/jpeg", "sha256": sha256_base64(&image)}),
    );
    assert_eq!(app.post_webhook(&delivery).await.status(), 200);
    let m = media_message(&mut a, id, "image").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Meta delivers it again while the download runs: answered at once, nothing added.
    let started = std::time::Instant::now();
    assert_eq!(app.post_webhook(&delivery).await.status(), 200);
    assert!(
        started.elapsed() < Duration::from_millis(1000),
        "the redelivery waited"
    );
    let e = media_event(&mut a, m["id"].as_i64().unwrap()).await;
    assert_eq!(e["media"]["state"], "ready");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let i = app.get_interaction(id).await;
    let images: Vec<&Value> = i["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "image")
        .collect();
    assert_eq!(images.len(), 1, "one message");
    assert_eq!(
        lookups.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "one download job"
    );
    assert_eq!(app.media_downloads("SLOW").await.len(), 1);
    a.expect_no("message", Duration::from_millis(200)).await;
}

#[tokio::test]
async fn a_download_pending_at_kill_9_finishes_after_the_restart() {
    let mut app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let _ = b;
    // Meta is down: the file stays pending, its job waiting for another try.
    Mock::given(method("GET"))
        .and(path("/LATER"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&app.cloud_api)
        .await;
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "LATER", "mime_type": "image/jpeg"}),
    )
    .await;
    let id = app.list_interactions("").await[0]["id"].as_i64().unwrap();
    let i = app.get_interaction(id).await;
    let message_id = i["messages"][0]["id"].as_i64().unwrap();
    assert_eq!(i["messages"][0]["media"]["state"], "pending");
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.kill9().await;

    app.cloud_api.reset().await;
    let image = jpeg_bytes(3_000);
    app.cloud_media("LATER", &image, "image/jpeg").await;
    app.restart().await;
    let m = app.wait_media_state(id, message_id, "ready").await;
    let resp = app
        .get(m["media"]["url"].as_str().unwrap(), Some(&app.admin_token))
        .await;
    assert_eq!(resp.bytes().await.unwrap().to_vec(), image);
}

#[tokio::test]
async fn media_is_served_to_participants_supervisors_and_admins_only_and_safely() {
    let app = TestApp::spawn().await;
    let (b, mut a, id) = accepted(&app).await;
    let image = jpeg_bytes(1_500);
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>".to_vec();
    let pdf = pdf_bytes();
    app.cloud_media("PIC", &image, "image/jpeg").await;
    app.cloud_media("PAGE", &html, "text/html").await;
    app.cloud_media("PDF", &pdf, "application/pdf").await;
    let mut urls = Vec::new();
    for (kind, media) in [
        ("image", json!({"id": "PIC", "mime_type": "image/jpeg"})),
        (
            "document",
            json!({"id": "PAGE", "mime_type": "text/html", "filename": "page.html"}),
        ),
        (
            "document",
            json!({"id": "PDF", "mime_type": "application/pdf", "filename": "facture déc.pdf"}),
        ),
    ] {
        app.customer_sends_media(CUSTOMER, kind, media).await;
        let m = media_message(&mut a, id, kind).await;
        let e = media_event(&mut a, m["id"].as_i64().unwrap()).await;
        assert_eq!(e["media"]["state"], "ready", "{e}");
        urls.push(e["media"]["url"].as_str().unwrap().to_string());
    }
    let supervisor = {
        let id = app
            .create_agent("sup1", "supervisor-pass-1", json!({"role": "supervisor"}))
            .await;
        let _ = id;
        app.login("sup1", "supervisor-pass-1").await["token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let outsider = &b.agents[1].token;
    for url in &urls {
        assert_eq!(
            app.get(url, Some(&b.agents[0].token)).await.status(),
            200,
            "{url}"
        );
        assert_eq!(app.get(url, Some(&supervisor)).await.status(), 200, "{url}");
        assert_eq!(
            app.get(url, Some(&app.admin_token)).await.status(),
            200,
            "{url}"
        );
        assert_eq!(
            assert_error(app.get(url, Some(outsider)).await, 403).await,
            "forbidden"
        );
        assert_eq!(
            assert_error(app.get(url, None).await, 401).await,
            "unauthenticated"
        );
    }
    assert_eq!(
        assert_error(
            app.get("/api/v1/media/999999", Some(&app.admin_token))
                .await,
            404
        )
        .await,
        "not_found"
    );

    let headers = |r: &reqwest::Response, name: &str| {
        r.headers()
            .get(name)
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default()
    };
    // An image: inline, its own type.
    let r = app.get(&urls[0], Some(&b.agents[0].token)).await;
    assert_eq!(headers(&r, "content-type"), "image/jpeg");
    assert!(
        headers(&r, "content-disposition").starts_with("inline"),
        "{:?}",
        r.headers()
    );
    assert_eq!(headers(&r, "x-content-type-options"), "nosniff");
    // HTML from a customer: never as HTML, never inline.
    let r = app.get(&urls[1], Some(&b.agents[0].token)).await;
    assert_eq!(headers(&r, "content-type"), "application/octet-stream");
    assert_eq!(
        headers(&r, "content-disposition"),
        "attachment; filename=\"page.html\""
    );
    assert_eq!(headers(&r, "x-content-type-options"), "nosniff");
    assert!(headers(&r, "content-security-policy").contains("sandbox"));
    assert_eq!(r.bytes().await.unwrap().to_vec(), html);
    // A document: an attachment, its UTF-8 name kept beside an ASCII one.
    let r = app.get(&urls[2], Some(&b.agents[0].token)).await;
    assert_eq!(headers(&r, "content-type"), "application/pdf");
    let d = headers(&r, "content-disposition");
    assert!(
        d.starts_with("attachment; filename=\"facture d_c.pdf\"; filename*=UTF-8''"),
        "{d}"
    );
}

/// (interaction, agent token, agent socket) with uploads and sends accepted by the mock.
async fn ready_to_attach(app: &TestApp) -> (i64, String, AgentClient, Basic) {
    app.cloud_api_accepts_all().await;
    app.cloud_api_accepts_uploads().await;
    let (b, a, id) = accepted(app).await;
    (id, b.agents[0].token.clone(), a, b)
}

/// The message bodies the mock received, in order.
async fn sent_bodies(app: &TestApp) -> Vec<Value> {
    app.cloud_api_requests()
        .await
        .iter()
        .map(|r| serde_json::from_slice(&r.body).unwrap())
        .collect()
}

/// An attachment sent: (bytes, file name, client's type, caption, kind, type Meta gets).
type Case = (
    Vec<u8>,
    &'static str,
    &'static str,
    Option<&'static str>,
    &'static str,
    &'static str,
);

#[tokio::test]
async fn an_agent_sends_each_kind_of_attachment() {
    let app = TestApp::spawn().await;
    let (id, token, mut a, _b) = ready_to_attach(&app).await;
    let cases: Vec<Case> = vec![
        (
            jpeg_bytes(10_000),
            "photo.jpg",
            "image/jpeg",
            Some("Your parcel"),
            "image",
            "image/jpeg",
        ),
        (
            pdf_bytes(),
            "invoice.pdf",
            "application/pdf",
            Some("Your invoice"),
            "document",
            "application/pdf",
        ),
        (
            mp3_bytes(),
            "note.mp3",
            "audio/mpeg",
            None,
            "audio",
            "audio/mpeg",
        ),
        (
            mp4_bytes(),
            "clip.mp4",
            "video/mp4",
            Some("How to open it"),
            "video",
            "video/mp4",
        ),
        // The client's type is not trusted: the bytes say WebP.
        (
            webp_bytes(),
            "smile.webp",
            "application/octet-stream",
            None,
            "sticker",
            "image/webp",
        ),
    ];
    for (i, (bytes, name, ct, caption, kind, mime)) in cases.iter().enumerate() {
        let resp = app
            .attach(&token, id, bytes.clone(), name, ct, *caption)
            .await;
        assert_eq!(
            resp.status(),
            202,
            "{name}: {}",
            resp.text().await.unwrap_or_default()
        );
        let body: Value = resp.json().await.unwrap();
        let m = &body["message"];
        assert_eq!(body["interaction_id"], json!(id));
        assert_eq!(
            (m["kind"].as_str(), m["status"].as_str()),
            (Some(*kind), Some("queued")),
            "{m}"
        );
        assert_eq!(m["direction"], "out");
        assert_eq!(m["media"]["state"], "ready");
        assert_eq!(m["media"]["mime_type"], json!(mime));
        assert_eq!(m["media"]["size"], json!(bytes.len()));
        // The agent's desktop gets the message too.
        let e = a
            .wait_for_where("message", EVENT_TIMEOUT, |e| e["message"]["id"] == m["id"])
            .await;
        assert_eq!(e["message"]["kind"], json!(kind));
        let requests = app.wait_cloud_api_requests(i + 1).await;
        let sent: Value = serde_json::from_slice(&requests[i].body).unwrap();
        assert_eq!(sent["type"], json!(kind), "{sent}");
        assert_eq!(sent["to"], json!(format!("+{CUSTOMER}")));
        let media = &sent[*kind];
        assert_eq!(media["id"], json!(format!("uploaded-{}", i + 1)), "{sent}");
        match *kind {
            "document" => {
                assert_eq!(media["caption"], "Your invoice");
                assert_eq!(media["filename"], "invoice.pdf");
            }
            "image" | "video" => assert_eq!(media["caption"], json!(caption.unwrap())),
            _ => assert!(media.get("caption").is_none(), "{sent}"),
        }
        // The file the agent sent is served back as it was.
        let url = m["media"]["url"].as_str().unwrap();
        let got = app
            .get(url, Some(&token))
            .await
            .bytes()
            .await
            .unwrap()
            .to_vec();
        assert_eq!(&got, bytes);
    }
    let uploads = app.cloud_api_uploads().await;
    assert_eq!(uploads.len(), 5);
    for (upload, (bytes, _, _, _, _, mime)) in uploads.iter().zip(&cases) {
        assert_eq!(
            upload
                .headers
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap(),
            format!("Bearer {ACCESS_TOKEN}")
        );
        let fields = multipart_fields(upload);
        assert!(
            fields.contains(&("messaging_product".into(), "whatsapp".into())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("type".into(), mime.to_string())),
            "{fields:?}"
        );
        assert!(
            fields.contains(&("file".into(), format!("{} bytes", bytes.len()))),
            "{fields:?}"
        );
    }
    // Each was sent once and went `sent`.
    for m in app.get_interaction(id).await["messages"]
        .as_array()
        .unwrap()
    {
        if m["direction"] == "out" {
            let mid = m["id"].as_i64().unwrap();
            a.wait_for_where("message_status", EVENT_TIMEOUT, |e| {
                e["message_id"] == json!(mid) && e["status"] == "sent"
            })
            .await;
        }
    }
    assert_eq!(app.cloud_api_requests().await.len(), 5);
}

#[tokio::test]
async fn attachments_of_other_types_too_large_or_out_of_turn_are_refused() {
    let app = TestApp::spawn().await;
    let (id, token, _a, b) = ready_to_attach(&app).await;
    // HTML, even named and typed as an image.
    let page = b"<!DOCTYPE html><html><script>alert(1)</script></html>".to_vec();
    let r = app
        .attach(&token, id, page, "photo.jpg", "image/jpeg", None)
        .await;
    assert_eq!(assert_error(r, 415).await, "unsupported_media_type");
    let gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00".to_vec();
    let r = app
        .attach(&token, id, gif, "a.gif", "image/gif", None)
        .await;
    assert_eq!(assert_error(r, 415).await, "unsupported_media_type");
    // Over the image limit (5 MiB).
    let big = jpeg_bytes(5 * 1024 * 1024 + 1);
    let r = app
        .attach(&token, id, big, "big.jpg", "image/jpeg", None)
        .await;
    assert_eq!(assert_error(r, 413).await, "payload_too_large");
    // Not a form.
    let r = app
        .post(
            &format!("/api/v1/interactions/{id}/attachments"),
            Some(&token),
            &json!({"file": "x"}),
        )
        .await;
    assert_eq!(assert_error(r, 415).await, "unsupported_media_type");
    // No file, a caption too long.
    let form = reqwest::multipart::Form::new().text("caption", "only words");
    let r = app
        .client
        .post(app.url(&format!("/api/v1/interactions/{id}/attachments")))
        .bearer_auth(&token)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(assert_error(r, 400).await, "invalid_input");
    let long = "x".repeat(1025);
    let r = app
        .attach(
            &token,
            id,
            pdf_bytes(),
            "a.pdf",
            "application/pdf",
            Some(&long),
        )
        .await;
    assert_eq!(assert_error(r, 400).await, "message_too_long");
    // Another agent, no token, an unknown conversation.
    let r = app
        .attach(
            &b.agents[1].token,
            id,
            pdf_bytes(),
            "a.pdf",
            "application/pdf",
            None,
        )
        .await;
    assert_eq!(assert_error(r, 403).await, "not_participant");
    let r = app
        .attach("nope", id, pdf_bytes(), "a.pdf", "application/pdf", None)
        .await;
    assert_eq!(assert_error(r, 401).await, "unauthenticated");
    let r = app
        .attach(
            &token,
            999_999,
            pdf_bytes(),
            "a.pdf",
            "application/pdf",
            None,
        )
        .await;
    assert_eq!(assert_error(r, 404).await, "not_found");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(app.cloud_api_uploads().await.is_empty());
    assert!(app.cloud_api_requests().await.is_empty());
    assert!(
        files_under(&app.media_path).is_empty(),
        "a refused file is not kept"
    );
}

#[tokio::test]
async fn an_attachment_after_the_24h_window_is_refused_with_window_closed() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_uploads().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says_at(CUSTOMER, "Old", "from yesterday", now_secs() - 25 * 3600)
        .await;
    let id = a.wait_for("offer", EVENT_TIMEOUT).await["interaction_id"]
        .as_i64()
        .unwrap();
    a.accept(id).await;
    let r = app
        .attach(
            &b.agents[0].token,
            id,
            jpeg_bytes(500),
            "a.jpg",
            "image/jpeg",
            None,
        )
        .await;
    assert_eq!(assert_error(r, 409).await, "window_closed");
    assert!(app.cloud_api_uploads().await.is_empty());
}

#[tokio::test]
async fn an_attachment_keeps_its_place_among_the_texts() {
    let app = TestApp::spawn().await;
    let (id, token, mut a, _b) = ready_to_attach(&app).await;
    a.send_message(id, "Here is the label:").await.unwrap();
    let r = app
        .attach(
            &token,
            id,
            pdf_bytes(),
            "label.pdf",
            "application/pdf",
            None,
        )
        .await;
    assert_eq!(r.status(), 202);
    a.send_message(id, "Print it and stick it on the box.")
        .await
        .unwrap();
    let requests = app.wait_cloud_api_requests(3).await;
    let kinds: Vec<String> = requests
        .iter()
        .map(|r| {
            serde_json::from_slice::<Value>(&r.body).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(kinds, ["text", "document", "text"]);
    let bodies = sent_bodies(&app).await;
    assert_eq!(bodies[0]["text"]["body"], "Here is the label:");
    assert_eq!(
        bodies[2]["text"]["body"],
        "Print it and stick it on the box."
    );
}

#[tokio::test]
async fn an_upload_that_fails_is_retried_and_the_message_is_sent_once() {
    let app = TestApp::spawn().await;
    // The first upload meets a 5xx; the first send after a good upload too.
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/media")))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.cloud_api)
        .await;
    Mock::given(method("POST"))
        .and(path(format!("/{PHONE_NUMBER_ID}/messages")))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&app.cloud_api)
        .await;
    let (id, token, mut a, _b) = ready_to_attach(&app).await;
    let r = app
        .attach(
            &token,
            id,
            jpeg_bytes(4_000),
            "a.jpg",
            "image/jpeg",
            Some("Look"),
        )
        .await;
    assert_eq!(r.status(), 202);
    let mid = r.json::<Value>().await.unwrap()["message"]["id"]
        .as_i64()
        .unwrap();
    a.wait_for_where("message_status", EVENT_TIMEOUT, |e| {
        e["message_id"] == json!(mid) && e["status"] == "sent"
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Two uploads (one failed), two sends (one failed, after the one good upload): the kept
    // id was used again, and the customer got the image once.
    assert_eq!(app.cloud_api_uploads().await.len(), 2);
    let bodies = sent_bodies(&app).await;
    assert_eq!(bodies.len(), 2);
    for body in &bodies {
        assert_eq!(body["image"]["id"], "uploaded-1", "{body}");
    }
    let i = app.get_interaction(id).await;
    let m = i["messages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["id"] == json!(mid))
        .unwrap()
        .clone();
    assert_eq!(m["status"], "sent");
}

#[tokio::test]
async fn retention_deletes_the_media_files_with_their_conversation() {
    let app = TestApp::spawn_with(|c| {
        c.set("retention.days", 30)
            .set("retention.interval_secs", 1);
    })
    .await;
    let (b, mut a, id) = accepted(&app).await;
    let _ = b;
    let image = jpeg_bytes(2_000);
    app.cloud_media("OLD", &image, "image/jpeg").await;
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "OLD", "mime_type": "image/jpeg"}),
    )
    .await;
    let m = media_message(&mut a, id, "image").await;
    media_event(&mut a, m["id"].as_i64().unwrap()).await;
    let files = files_under(&app.media_path);
    assert_eq!(files.len(), 1);
    a.end(id).await;
    a.wrap_up(id, Some("resolved")).await.unwrap();
    app.wait_interaction(id, "closed", |i| i["state"] == "closed")
        .await;
    // Forty days later (as the database sees it).
    let old = now_ms() - 40 * 24 * 3600 * 1000;
    let c = rusqlite::Connection::open(&app.db_path).unwrap();
    c.busy_timeout(Duration::from_secs(5)).unwrap();
    c.execute(
        "UPDATE interactions SET closed_at = ?1, updated_at = ?1 WHERE id = ?2",
        rusqlite::params![old, id],
    )
    .unwrap();
    c.execute(
        "UPDATE activities SET wrapped_up_at = ?1 WHERE interaction_id = ?2",
        rusqlite::params![old, id],
    )
    .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while files[0].exists() {
        assert!(
            std::time::Instant::now() < deadline,
            "the media file was not deleted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let rows: i64 = c
        .query_row("SELECT COUNT(*) FROM message_media", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 0);
}

async fn cli(args: &[&str], db: &Path, media: &Path) -> std::process::Output {
    let dir = tempfile::tempdir().unwrap();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
        .args(args)
        .current_dir(dir.path())
        .env_remove("SWITCHBOARD_ENV")
        .env_remove("SWITCHBOARD_CONFIG")
        .env("SWITCHBOARD__DATABASE__PATH", db)
        .env("SWITCHBOARD__MEDIA__PATH", media)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .output();
    tokio::time::timeout(Duration::from_secs(60), out)
        .await
        .expect("the command finished within 60 s")
        .unwrap()
}

#[tokio::test]
async fn a_backup_carries_the_media_files_and_a_restore_brings_them_back() {
    let app = TestApp::spawn().await;
    let (_b, mut a, id) = accepted(&app).await;
    let image = jpeg_bytes(6_000);
    app.cloud_media("KEEP", &image, "image/jpeg").await;
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "KEEP", "mime_type": "image/jpeg"}),
    )
    .await;
    let m = media_message(&mut a, id, "image").await;
    let url = media_event(&mut a, m["id"].as_i64().unwrap()).await["media"]["url"]
        .as_str()
        .unwrap()
        .to_string();

    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backups/sb.db");
    let out = cli(
        &["backup", backup.to_str().unwrap()],
        &app.db_path,
        &app.media_path,
    )
    .await;
    let said = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.status.success(),
        "{said}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(said.contains("media: 1 files"), "{said}");
    let copies = files_under(&dir.path().join("backups/sb.db.media"));
    assert_eq!(copies.len(), 1);
    assert_eq!(std::fs::read(&copies[0]).unwrap(), image);

    // Restored on another machine (an empty media folder): the file is back where the
    // database expects it, and served.
    let target = dir.path().join("restored/sb.db");
    let media = dir.path().join("restored/media");
    let out = cli(&["restore", backup.to_str().unwrap()], &target, &media).await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(files_under(&media).len(), 1);
    let (t, m) = (target.display().to_string(), media.display().to_string());
    let restored = TestApp::spawn_with(|c| {
        c.set("database.path", &t).set("media.path", &m);
    })
    .await;
    let resp = restored.get(&url, Some(&restored.admin_token)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.bytes().await.unwrap().to_vec(), image);
}

#[tokio::test]
async fn captions_and_file_names_are_masked_for_agents_but_sent_as_written() {
    let app = TestApp::spawn_with(|c| {
        c.set("masking.enabled", true);
    })
    .await;
    let (id, token, mut a, _b) = ready_to_attach(&app).await;
    let pdf = pdf_bytes();
    app.cloud_media("MASKED", &pdf, "application/pdf").await;
    app.customer_sends_media(
        CUSTOMER,
        "document",
        json!({"id": "MASKED", "mime_type": "application/pdf",
               "caption": "my card 4111 1111 1111 1111", "filename": "melissa@gmail.com.pdf"}),
    )
    .await;
    let m = media_message(&mut a, id, "document").await;
    let shown = m.to_string();
    for leak in ["4111 1111 1111 1111", "melissa"] {
        assert!(!shown.contains(leak), "{leak} shown to the agent: {shown}");
    }
    assert!(
        m["media"]["caption"].as_str().unwrap().ends_with("1111"),
        "{m}"
    );
    let e = media_event(&mut a, m["id"].as_i64().unwrap()).await;
    assert_eq!(e["media"]["state"], "ready");
    assert!(!e.to_string().contains("melissa"), "{e}");

    // The agent's own caption: masked in what the agent reads back, sent as written.
    let r = app
        .attach(
            &token,
            id,
            jpeg_bytes(800),
            "a.jpg",
            "image/jpeg",
            Some("call +447966197542"),
        )
        .await;
    assert_eq!(r.status(), 202);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["message"]["media"]["caption"], "call *********7542");
    assert_eq!(body["message"]["text"], "call *********7542");
    let requests = app.wait_cloud_api_requests(1).await;
    let sent: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(sent["image"]["caption"], "call +447966197542");
}

#[tokio::test]
async fn a_file_over_the_size_limit_fails_at_once_with_the_reason() {
    let app = TestApp::spawn_with(|c| {
        c.set("limits.max_media_bytes", 1000);
    })
    .await;
    let (_b, mut a, id) = accepted(&app).await;
    let image = jpeg_bytes(5_000);
    let lookups = app.cloud_media("HUGE", &image, "image/jpeg").await;
    app.customer_sends_media(
        CUSTOMER,
        "image",
        json!({"id": "HUGE", "mime_type": "image/jpeg"}),
    )
    .await;
    let m = media_message(&mut a, id, "image").await;
    let e = media_event(&mut a, m["id"].as_i64().unwrap()).await;
    assert_eq!(e["media"]["state"], "failed", "{e}");
    let error = e["media"]["error"].as_str().unwrap();
    assert!(error.contains("limits.max_media_bytes"), "{error}");
    assert_eq!(
        lookups.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "no retry"
    );
    assert!(
        app.media_downloads("HUGE").await.is_empty(),
        "not downloaded"
    );
}
