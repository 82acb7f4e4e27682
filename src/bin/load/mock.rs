//! Two in-process HTTP servers, each on its own thread with its own actix System:
//! - a mock WhatsApp Cloud API that answers like Meta (a wamid per message, configurable
//!   latency and error rate), measures agent send → Cloud API request latency, and posts the
//!   `delivered` and `read` status webhooks back to Switchboard;
//! - a bare actix-web handler that answers the webhook POST without doing anything, the
//!   ceiling Switchboard's webhook is compared with.

use super::common::{self, Hist};
use actix_web::{web, App, HttpResponse, HttpServer};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub struct MockStats {
    /// Agent `send` frame → request at the Cloud API, in µs.
    pub send_to_api: Mutex<Hist>,
    pub requests: AtomicU64,
    /// Requests for a message already seen (Switchboard's retries after an injected error).
    pub retries: AtomicU64,
    pub errors_injected: AtomicU64,
    pub statuses_posted: AtomicU64,
    pub statuses_failed: AtomicU64,
}

pub struct Mock {
    pub url: String,
    pub stats: Arc<MockStats>,
    /// Where status webhooks go (changes when Switchboard restarts on another port).
    pub webhook: Arc<Mutex<String>>,
}

#[derive(Clone)]
struct MockCfg {
    latency: Duration,
    error_rate: f64,
    statuses: bool,
    stats: Arc<MockStats>,
    webhook: Arc<Mutex<String>>,
    next: Arc<AtomicU64>,
    seen: Arc<Mutex<std::collections::HashSet<u64>>>,
}

pub fn start_mock(latency_ms: u64, error_rate: f64, statuses: bool) -> anyhow::Result<Mock> {
    let stats = Arc::new(MockStats {
        send_to_api: Mutex::new(common::hist()),
        requests: AtomicU64::new(0),
        retries: AtomicU64::new(0),
        errors_injected: AtomicU64::new(0),
        statuses_posted: AtomicU64::new(0),
        statuses_failed: AtomicU64::new(0),
    });
    let webhook = Arc::new(Mutex::new(String::new()));
    let cfg = MockCfg {
        latency: Duration::from_millis(latency_ms),
        error_rate,
        statuses,
        stats: stats.clone(),
        webhook: webhook.clone(),
        next: Arc::new(AtomicU64::new(1)),
        seen: Arc::new(Mutex::new(Default::default())),
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("mock-cloud-api".into())
        .spawn(move || {
            actix_rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(cfg.clone()))
                        .route("/{pnid}/messages", web::post().to(cloud_api_send))
                })
                .workers(1)
                .tcp_nodelay(true)
                .disable_signals()
                .bind("127.0.0.1:0");
                let server = match server {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(e.to_string()));
                        return;
                    }
                };
                let addr = server.addrs()[0];
                let _ = tx.send(Ok(format!("http://{addr}")));
                let _ = server.run().await;
            })
        })?;
    let url = rx.recv()?.map_err(|e| anyhow::anyhow!(e))?;
    Ok(Mock {
        url,
        stats,
        webhook,
    })
}

async fn cloud_api_send(
    cfg: web::Data<MockCfg>,
    path: web::Path<String>,
    body: web::Bytes,
) -> HttpResponse {
    let arrived = common::now_ns();
    cfg.stats.requests.fetch_add(1, Ordering::Relaxed);
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let text = v["text"]["body"].as_str().unwrap_or("");
    let to = v["to"].as_str().unwrap_or("").to_string();
    if let Some(sent) = text
        .strip_prefix("re ")
        .and_then(|t| t.split_whitespace().next())
        .and_then(|t| t.parse::<u64>().ok())
    {
        // First attempts only: a retry's delay is Switchboard's backoff, reported apart.
        let first = cfg.seen.lock().map(|mut s| s.insert(sent)).unwrap_or(true);
        if first {
            if let Ok(mut h) = cfg.stats.send_to_api.lock() {
                common::record_ns(&mut h, arrived.saturating_sub(sent));
            }
        } else {
            cfg.stats.retries.fetch_add(1, Ordering::Relaxed);
        }
    }
    if !cfg.latency.is_zero() {
        actix_rt::time::sleep(cfg.latency).await;
    }
    if cfg.error_rate > 0.0 && rand::random::<f64>() < cfg.error_rate {
        cfg.stats.errors_injected.fetch_add(1, Ordering::Relaxed);
        return HttpResponse::InternalServerError().json(serde_json::json!({
            "error": {"message": "(mock) temporary failure", "type": "OAuthException",
                      "code": 2, "fbtrace_id": "mock"}}));
    }
    let n = cfg.next.fetch_add(1, Ordering::Relaxed);
    let wamid = format!("wamid.mock.{n}");
    if cfg.statuses {
        let cfg = cfg.clone();
        let (pnid, wamid, to) = (path.into_inner(), wamid.clone(), to.clone());
        actix_rt::spawn(async move {
            // Meta reports delivery a little after the send; give Switchboard time to
            // commit the wamid it got from this answer.
            actix_rt::time::sleep(Duration::from_millis(50)).await;
            let url = cfg.webhook.lock().map(|u| u.clone()).unwrap_or_default();
            let to = to.trim_start_matches('+');
            let body = common::status_delivery(
                &pnid,
                &[(&wamid, "delivered", to), (&wamid, "read", to)],
                common::unix_secs(),
            );
            let sig = switchboard::whatsapp::signature::sign(common::SECRET, &body);
            let ok = awc::Client::default()
                .post(format!("{url}/webhooks/whatsapp"))
                .insert_header(("X-Hub-Signature-256", sig))
                .insert_header(("Content-Type", "application/json"))
                .send_body(body)
                .await
                .is_ok_and(|r| r.status().is_success());
            let counter = if ok {
                &cfg.stats.statuses_posted
            } else {
                &cfg.stats.statuses_failed
            };
            counter.fetch_add(1, Ordering::Relaxed);
        });
    }
    HttpResponse::Ok().json(serde_json::json!({
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": to.trim_start_matches('+')}],
        "messages": [{"id": wamid}]
    }))
}

/// A bare actix-web server answering `POST /webhooks/whatsapp` with Switchboard's answer and
/// nothing else: reads the body, answers `{"status":"ok"}`. Same worker count as the server.
pub struct Bare {
    pub url: String,
    handle: actix_web::dev::ServerHandle,
}

impl Bare {
    /// `pin`: the CPU of the bare handler's threads (the server's CPU under `--pin`): its own
    /// thread is pinned first, so the acceptor and worker threads it spawns inherit the CPU,
    /// and each worker pins itself again when it builds its App.
    pub fn start(workers: usize, pin: Option<usize>) -> anyhow::Result<Bare> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("bare-handler".into())
            .spawn(move || {
                if let Some(cpu) = pin {
                    if let Err(e) = common::pin_current_thread(cpu) {
                        let _ = tx.send(Err(format!("pinning the bare handler to CPU {cpu}: {e}")));
                        return;
                    }
                }
                actix_rt::System::new().block_on(async move {
                    let server = HttpServer::new(move || {
                        if let Some(cpu) = pin {
                            // The factory runs on each worker thread.
                            let _ = common::pin_current_thread(cpu);
                        }
                        App::new().route(
                            "/webhooks/whatsapp",
                            web::post().to(|_body: web::Bytes| async {
                                HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
                            }),
                        )
                    })
                    .workers(workers)
                    .tcp_nodelay(true)
                    .disable_signals()
                    .bind("127.0.0.1:0");
                    let server = match server {
                        Ok(s) => s,
                        Err(e) => {
                            let _ = tx.send(Err(e.to_string()));
                            return;
                        }
                    };
                    let addr = server.addrs()[0];
                    let running = server.run();
                    let _ = tx.send(Ok((format!("http://{addr}"), running.handle())));
                    let _ = running.await;
                })
            })?;
        let (url, handle) = rx.recv()?.map_err(|e| anyhow::anyhow!(e))?;
        Ok(Bare { url, handle })
    }

    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}
