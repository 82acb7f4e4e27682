//! The agent WebSocket (`GET /ws/agent?token=TOKEN`): protocol types and the session actor.

pub mod masking;
pub mod protocol;
pub mod session;
pub mod supervisor;

use crate::auth::AuthUser;
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/agent").route(web::get().to(agent_socket)));
    supervisor::configure(cfg);
}

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    token: Option<String>,
}

/// Who opens a socket: its Origin checked, then its session token, from the query (browsers
/// cannot set headers on a WebSocket) or the `Authorization` header. Answers the user and the
/// token.
pub(crate) async fn authenticate(
    req: &HttpRequest,
    query: &TokenQuery,
    state: &AppState,
) -> Result<(AuthUser, String), ApiError> {
    crate::http::security::check_origin(req)?;
    let token = query
        .token
        .clone()
        .or_else(|| crate::auth::bearer_token(req).map(str::to_string))
        .ok_or(ApiError::Unauthenticated)?;
    let user = crate::auth::authenticate_token(&state.store, &token).await?;
    Ok((user, token))
}

/// 400 `not_a_websocket` in the contract's error shape (actix would answer an empty 400) when
/// the request is not a WebSocket upgrade. Checked after the token and the role.
pub(crate) fn require_upgrade(req: &HttpRequest) -> Result<(), ApiError> {
    actix_web_actors::ws::handshake(req)
        .map(|_| ())
        .map_err(|e| {
            ApiError::bad(
                ErrorCode::NotAWebsocket,
                format!("not a WebSocket upgrade: {e}"),
            )
        })
}

async fn agent_socket(
    req: HttpRequest,
    stream: web::Payload,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let (user, _) = authenticate(&req, &query, &state).await?;
    let agent = state
        .registry
        .agent(user.id)
        .ok_or(ApiError::NotFound("agent"))?;
    require_upgrade(&req)?;
    let session = session::AgentSession::new(user.id, user.role, agent, state.registry.clone());
    actix_web_actors::ws::WsResponseBuilder::new(session, &req, stream)
        .frame_size(session::MAX_FRAME_BYTES)
        .start()
}
