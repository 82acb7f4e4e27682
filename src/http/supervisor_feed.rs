//! `GET /ws/supervisor?token=TOKEN`: the live board's feed. Supervisor and up. Sends
//! `{"type": "realtime", ...}` (the body of `GET /api/v1/stats/realtime`) at once, then again
//! whenever queues or agents change (checked every second). Client frames are ignored.

use super::stats::{snapshot, RealtimeStats};
use crate::auth::AuthUser;
use crate::domain::Role;
use crate::error::ApiError;
use crate::state::AppState;
use crate::store::Store;
use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// How often the board is read (a push follows only when it changed).
const POLL: Duration = Duration::from_secs(1);
/// The token is checked again this often: a logout or expiry ends the feed.
const REAUTH: Duration = Duration::from_secs(60);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/supervisor").route(web::get().to(supervisor_socket)));
}

#[derive(Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// One pushed frame.
#[derive(Serialize)]
struct Frame<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    stats: &'a RealtimeStats,
}

async fn supervisor_socket(
    req: HttpRequest,
    stream: web::Payload,
    query: web::Query<TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    super::security::check_origin(&req)?;
    // Browsers cannot set headers on a WebSocket: the token comes in the query (or the header).
    let token = query
        .token
        .clone()
        .or_else(|| crate::auth::bearer_token(&req).map(str::to_string))
        .ok_or(ApiError::Unauthenticated)?;
    let user = crate::auth::authenticate_token(&state.store, &token).await?;
    user.require(Role::Supervisor)?;
    crate::ws::require_upgrade(&req)?;
    let session = SupervisorFeed {
        user,
        token,
        store: state.store.clone(),
        last: None,
        heartbeat: Instant::now(),
        keepalive: state.settings.limits.ws_heartbeat(),
        reading: false,
    };
    ws::start(session, &req, stream)
}

pub struct SupervisorFeed {
    user: AuthUser,
    token: String,
    store: Store,
    /// The last board sent, without its time, to push only changes.
    last: Option<String>,
    heartbeat: Instant,
    /// (ping interval, client timeout): `limits.ws_client_timeout_secs`.
    keepalive: (Duration, Duration),
    /// A read is under way: the next tick waits for it.
    reading: bool,
}

impl SupervisorFeed {
    fn poll(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        if self.reading {
            return;
        }
        self.reading = true;
        let store = self.store.clone();
        let read = async move { snapshot(&store).await };
        ctx.spawn(read.into_actor(self).map(|res, act, ctx| {
            act.reading = false;
            match res {
                Ok(stats) => act.push(&stats, ctx),
                Err(e) => tracing::warn!(error = %e, "supervisor feed: reading the board"),
            }
        }));
    }

    fn push(&mut self, stats: &RealtimeStats, ctx: &mut ws::WebsocketContext<Self>) {
        let mut unchanged = stats.clone();
        unchanged.generated_at = String::new();
        let key = serde_json::to_string(&unchanged).unwrap_or_default();
        if self.last.as_deref() == Some(key.as_str()) {
            return;
        }
        self.last = Some(key);
        let frame = Frame {
            kind: "realtime",
            stats,
        };
        if let Ok(text) = serde_json::to_string(&frame) {
            ctx.text(text);
        }
    }

    fn reauthenticate(&mut self, ctx: &mut ws::WebsocketContext<Self>) {
        let (store, token) = (self.store.clone(), self.token.clone());
        let check = async move { crate::auth::authenticate_token(&store, &token).await };
        ctx.spawn(check.into_actor(self).map(|res, act, ctx| {
            if res.is_err() {
                tracing::info!(user = act.user.id, "supervisor feed: session ended");
                ctx.close(Some(ws::CloseCode::Policy.into()));
                ctx.stop();
            }
        }));
    }
}

impl Actor for SupervisorFeed {
    type Context = ws::WebsocketContext<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        crate::metrics::supervisor_socket(true);
        self.poll(ctx);
        ctx.run_interval(POLL, |act, ctx| act.poll(ctx));
        ctx.run_interval(REAUTH, |act, ctx| act.reauthenticate(ctx));
        let (every, timeout) = self.keepalive;
        ctx.run_interval(every, move |act, ctx| {
            if Instant::now().duration_since(act.heartbeat) > timeout {
                ctx.stop();
            } else {
                ctx.ping(b"");
            }
        });
    }

    fn stopped(&mut self, _ctx: &mut Self::Context) {
        crate::metrics::supervisor_socket(false);
    }
}

impl StreamHandler<Result<ws::Message, ws::ProtocolError>> for SupervisorFeed {
    fn handle(&mut self, msg: Result<ws::Message, ws::ProtocolError>, ctx: &mut Self::Context) {
        self.heartbeat = Instant::now();
        match msg {
            Ok(ws::Message::Ping(p)) => ctx.pong(&p),
            Ok(ws::Message::Close(reason)) => {
                ctx.close(reason);
                ctx.stop();
            }
            Err(_) => ctx.stop(),
            // Pongs, and anything the board sends: nothing to do.
            Ok(_) => {}
        }
    }
}
