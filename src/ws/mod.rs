//! The agent WebSocket (`GET /ws/agent?token=TOKEN`): protocol types and the session actor.

pub mod masking;
pub mod protocol;
pub mod session;

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/ws/agent", web::get().to(agent_socket));
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

async fn agent_socket(
    req: HttpRequest,
    stream: web::Payload,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    crate::http::security::check_origin(&req)?;
    // Browsers cannot set headers on a WebSocket: the token comes in the query (or the header).
    let token = query
        .token
        .clone()
        .or_else(|| crate::auth::bearer_token(&req).map(str::to_string))
        .ok_or(ApiError::Unauthenticated)?;
    let user = crate::auth::authenticate_token(&state.store, &token).await?;
    let agent = state
        .registry
        .agent(user.id)
        .ok_or(ApiError::NotFound("agent"))?;
    let session = session::AgentSession::new(user.id, agent, state.registry.clone());
    actix_web_actors::ws::WsResponseBuilder::new(session, &req, stream)
        .frame_size(session::MAX_FRAME_BYTES)
        .start()
}
