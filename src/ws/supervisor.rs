//! `GET /ws/supervisor?token=TOKEN`: the live board's feed. Supervisor and up. Sends
//! `{"type": "realtime", ...}` (the body of `GET /api/v1/stats/realtime`) at once, then again
//! whenever queues or agents change (checked every second). Client frames are ignored.
//!
//! Each [`SupervisorFeed`] session joins the application's [`Board`] (`actors::board`), which
//! reads the board once a tick and pushes each change to every session.

use crate::actors::board::{Board, BoardFrame, Join, Leave};
use crate::auth::AuthUser;
use crate::domain::Role;
use crate::state::AppState;
use crate::store::Store;
use actix::prelude::*;
use actix_web::{web, HttpRequest, HttpResponse};
use actix_web_actors::ws;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The token is checked again this often: a logout or expiry ends the feed.
const REAUTH: Duration = Duration::from_secs(60);

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/ws/supervisor").route(web::get().to(supervisor_socket)));
}

async fn supervisor_socket(
    req: HttpRequest,
    stream: web::Payload,
    query: web::Query<super::TokenQuery>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, actix_web::Error> {
    let (user, token) = super::authenticate(&req, &query, &state).await?;
    user.require(Role::Supervisor)?;
    super::require_upgrade(&req)?;
    let session = SupervisorFeed {
        id: NEXT_SESSION.fetch_add(1, Ordering::Relaxed),
        user,
        token,
        store: state.store.clone(),
        board: state.board.clone(),
        heartbeat: Instant::now(),
        keepalive: state.settings.limits.ws_heartbeat(),
    };
    ws::start(session, &req, stream)
}

static NEXT_SESSION: AtomicU64 = AtomicU64::new(1);

// ---- a supervisor's session -----------------------------------------------------------------

pub struct SupervisorFeed {
    id: u64,
    user: AuthUser,
    token: String,
    store: Store,
    board: Addr<Board>,
    heartbeat: Instant,
    /// (ping interval, client timeout): `limits.ws_client_timeout_secs`.
    keepalive: (Duration, Duration),
}

impl SupervisorFeed {
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
        self.board.do_send(Join {
            id: self.id,
            session: ctx.address().recipient(),
        });
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
        self.board.do_send(Leave { id: self.id });
        crate::metrics::supervisor_socket(false);
    }
}

impl Handler<BoardFrame> for SupervisorFeed {
    type Result = ();

    fn handle(&mut self, frame: BoardFrame, ctx: &mut Self::Context) {
        ctx.text(frame.0.to_string());
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
