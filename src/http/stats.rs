//! `GET /stats/realtime`: the live board (queues and agents now). Supervisor and up.

use super::Data;
use crate::auth::AuthUser;
use crate::domain::time::now_ms;
use crate::domain::Role;
use crate::error::ApiError;
pub use crate::store::stats::{AgentNow, QueueStats, RealtimeStats};
use crate::store::{stats, Store};
use actix_web::{web, HttpResponse};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/stats/realtime").route(web::get().to(realtime)));
}

#[utoipa::path(
    get, path = "/api/v1/stats/realtime", tag = "stats", security(("bearer" = [])),
    responses(
        (status = 200, body = RealtimeStats),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not a supervisor or admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn realtime(user: AuthUser, state: Data) -> Result<HttpResponse, ApiError> {
    user.require(Role::Supervisor)?;
    let board = snapshot(&state.store).await?;
    Ok(HttpResponse::Ok().json(board.masked(state.runtime.masking_enabled())))
}

/// Queues and agents now (the supervisor feed pushes the same board: `ws::supervisor`).
pub async fn snapshot(store: &Store) -> Result<RealtimeStats, ApiError> {
    let now = now_ms();
    Ok(store.read(move |db| stats::realtime(db, now)).await?)
}
