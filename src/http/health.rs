//! `GET /healthz` (liveness: the process answers) and `GET /readyz` (readiness: the database
//! takes writes and the actors run), for load balancers, systemd and scripts.

use super::Data;
use actix_web::{web, HttpResponse};
use serde::Serialize;
use std::time::Duration;
use utoipa::ToSchema;

/// A readiness check that takes longer than this fails.
const READY_TIMEOUT: Duration = Duration::from_secs(5);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/healthz").route(web::get().to(healthz)));
    cfg.service(web::resource("/readyz").route(web::get().to(readyz)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
}

#[utoipa::path(
    get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The service is up", body = Health))
)]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Readiness {
    /// `ready` or `not_ready`.
    pub status: &'static str,
    /// `ok`, or why the database cannot take a write.
    pub database: String,
    /// `ok` once the agent, queue and interaction actors run.
    pub actors: String,
    /// `ok`, or why media files cannot be stored under `media.path` (a full or read-only
    /// disk): customers' files then wait, and are fetched once it can take them again (R22).
    pub media: String,
    /// Customers' media files waiting to be fetched.
    pub media_waiting: i64,
    pub agents: usize,
    pub queues: usize,
}

#[utoipa::path(
    get, path = "/readyz", tag = "health",
    responses(
        (status = 200, description = "Ready: the database takes writes, the actors run", body = Readiness),
        (status = 503, description = "Not ready (see the failing check)", body = Readiness),
    )
)]
pub async fn readyz(state: Data) -> HttpResponse {
    // A real write through the group-commit writer: it takes SQLite's write lock, changes a
    // page and commits it to the WAL, so a stuck writer, a locked database, a read-only or a
    // full disk all show here. (A statement that changes nothing commits nothing and would
    // pass on a dead disk.)
    let now = crate::domain::time::now_ms();
    let write = state
        .store
        .write(move |db| crate::store::health::probe_write(db, now));
    let database = match tokio::time::timeout(READY_TIMEOUT, write).await {
        Ok(Ok(_)) => "ok".to_string(),
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no commit within {} s", READY_TIMEOUT.as_secs()),
    };
    // The registry exists only once every actor was started and open work restored.
    let (agents, queues) = (state.registry.agents().len(), state.registry.queues().len());
    let actors = "ok".to_string();
    let media = media_check(&state).await;
    let media_waiting = state
        .store
        .read(move |db| crate::store::media_downloads::backlog(db, now))
        .await
        .map(|(n, _)| n)
        .unwrap_or(0);
    let ready = database == "ok" && actors == "ok" && media == "ok";
    let body = Readiness {
        status: if ready { "ready" } else { "not_ready" },
        database,
        actors,
        media,
        media_waiting,
        agents,
        queues,
    };
    if ready {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Can a media file be written now? A small synced write under `media.path`, and the media
/// fetcher's last word (a file it could not store because the disk is full says so until one
/// is stored).
async fn media_check(state: &Data) -> String {
    match tokio::time::timeout(READY_TIMEOUT, state.registry.files.probe()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return format!("media files cannot be written: {e}"),
        Err(_) => return format!("no media write within {} s", READY_TIMEOUT.as_secs()),
    }
    match state.registry.media_health.problem() {
        Some(reason) => format!("a media file could not be stored: {reason}"),
        None => "ok".to_string(),
    }
}
