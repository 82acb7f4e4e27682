//! `GET /openapi.json`: the whole HTTP API, generated from the handlers' annotations.
//! Endpoints served elsewhere (webhook, WebSocket) are described by stubs here.

use super::{
    activities, agents, auth, canned_responses, channels, contacts, conversations, health,
    interactions, media, metrics, queues, reports, settings, simulator, stats, templates,
};
use actix_web::{web, HttpResponse};
use serde::Serialize;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/openapi.json").route(web::get().to(openapi_json)));
}

async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}

/// Every error: `{"error": {"code": "snake_case_code", "message": "human text"}}`.
#[derive(Serialize, ToSchema)]
pub struct ErrorResponse {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, snake_case: `invalid_input`, `unauthenticated`, `forbidden`, `not_found`, ...
    pub code: String,
    pub message: String,
}

/// Meta's verification handshake.
#[utoipa::path(
    get, path = "/webhooks/whatsapp", tag = "whatsapp",
    params(
        ("hub.mode" = String, Query, description = "`subscribe`"),
        ("hub.verify_token" = String, Query, description = "The configured verify token (global or a channel's)"),
        ("hub.challenge" = String, Query, description = "Echoed back"),
    ),
    responses(
        (status = 200, description = "The challenge, as text/plain", body = String, content_type = "text/plain"),
        (status = 403, description = "Wrong verify token", body = ErrorResponse),
    )
)]
#[allow(dead_code)]
fn webhook_verify() {}

/// Signed webhook deliveries from the WhatsApp Business Cloud API (SPEC.md section 6).
#[utoipa::path(
    post, path = "/webhooks/whatsapp", tag = "whatsapp",
    params(("X-Hub-Signature-256" = String, Header, description = "`sha256=<hex HMAC-SHA256 of the raw body>`")),
    request_body(content = Object, description = "`{object: whatsapp_business_account, entry: [...]}`", content_type = "application/json"),
    responses(
        (status = 200, description = "Committed (or ignored: unknown phone_number_id, unknown status ids)"),
        (status = 400, description = "`invalid_json` (malformed JSON)", body = ErrorResponse),
        (status = 401, description = "`invalid_signature` (missing or wrong signature)", body = ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 3 MB)", body = ErrorResponse),
        (status = 503, description = "`unavailable`: not committed, Meta retries", body = ErrorResponse),
    )
)]
#[allow(dead_code)]
fn webhook_deliver() {}

/// The agent desktop's WebSocket (SPEC.md section 5; docs/API.md "Agent WebSocket").
#[utoipa::path(
    get, path = "/ws/agent", tag = "websocket",
    params(("token" = String, Query, description = "A bearer token from /api/v1/auth/login")),
    responses(
        (status = 101, description = "Switching protocols: JSON text frames, each with a `type`"),
        (status = 400, description = "`not_a_websocket` (not a WebSocket upgrade request)", body = ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = ErrorResponse),
        (status = 403, description = "`forbidden` (an `Origin` that is not allowed)", body = ErrorResponse),
    )
)]
#[allow(dead_code)]
fn agent_websocket() {}

/// The live board's feed (docs/API.md "Supervisor feed"): `{"type": "realtime", ...}` frames,
/// the body of `GET /api/v1/stats/realtime`, on connect and on every change. Supervisor and up.
#[utoipa::path(
    get, path = "/ws/supervisor", tag = "websocket",
    params(("token" = String, Query, description = "A supervisor's or admin's bearer token")),
    responses(
        (status = 101, description = "Switching protocols: JSON text frames of type `realtime`"),
        (status = 400, description = "`not_a_websocket` (not a WebSocket upgrade request)", body = ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = ErrorResponse),
        (status = 403, description = "`forbidden` (agents, or an `Origin` that is not allowed)", body = ErrorResponse),
    )
)]
#[allow(dead_code)]
fn supervisor_websocket() {}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Switchboard",
        description = "Self-hosted WhatsApp contact center. Errors: `{\"error\": {\"code\", \"message\"}}`. \
                       Authentication: `Authorization: Bearer TOKEN` from `POST /api/v1/auth/login`."
    ),
    paths(
        auth::login, auth::logout, auth::me, auth::preferences, auth::update_preferences,
        agents::list, agents::create, agents::get, agents::update, agents::delete,
        queues::list, queues::create, queues::get, queues::update, queues::delete,
        channels::list, channels::create, channels::get, channels::update, channels::delete,
        templates::list, templates::sync, conversations::start,
        canned_responses::list, canned_responses::create, canned_responses::get,
        canned_responses::update, canned_responses::delete, canned_responses::render,
        contacts::list, contacts::create, contacts::get, contacts::update, contacts::delete,
        interactions::list, interactions::get,
        media::get, media::attach,
        activities::list, activities::get,
        settings::get, settings::update, settings::audit,
        stats::realtime, reports::queues, reports::agents, reports::intervals,
        health::healthz, health::readyz, metrics::metrics,
        simulator::channels, simulator::conversation, simulator::send, simulator::read, simulator::react, simulator::media_file,
        webhook_verify, webhook_deliver, agent_websocket, supervisor_websocket,
    ),
    components(schemas(
        ErrorResponse, ErrorDetail, crate::auth::AuthUser,
        crate::ws::protocol::Customer, crate::ws::protocol::QueueRef,
        crate::domain::message::Author, crate::domain::message::Message,
        crate::ws::protocol::Participant, crate::ws::protocol::Interaction,
        crate::domain::media::Media, media::AttachmentForm, media::Attached,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "auth"), (name = "agents", description = "Admin only"),
        (name = "queues", description = "Admin only"), (name = "channels", description = "Admin only"),
        (name = "contacts", description = "The CRM, agent and up"),
        (name = "templates", description = "Message templates (R23): listed for everyone, synced by admins"),
        (name = "conversations", description = "Conversations the business starts (R23), agent and up"),
        (name = "canned_responses", description = "Saved replies (R26): agents read their queues' and the global ones and render them; supervisors and admins write"),
        (name = "interactions", description = "Supervisor and up; agents see their own"),
        (name = "media", description = "Files of media messages (R22): agents in the conversation, supervisors, admins"),
        (name = "activities", description = "Call logs, agent and up"),
        (name = "settings", description = "Admin only"), (name = "stats", description = "Supervisor and up"),
        (name = "health"), (name = "whatsapp", description = "Meta's webhook"),
        (name = "websocket", description = "Agent desktop"),
    )
)]
pub struct ApiDoc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describes_every_endpoint() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let paths = doc["paths"].as_object().unwrap();
        for p in [
            "/api/v1/auth/login",
            "/api/v1/agents/{id}",
            "/api/v1/interactions",
            "/api/v1/settings",
            "/api/v1/contacts",
            "/api/v1/contacts/{id}",
            "/api/v1/media/{id}",
            "/api/v1/interactions/{id}/attachments",
            "/api/v1/canned_responses",
            "/api/v1/canned_responses/{id}/render",
            "/webhooks/whatsapp",
            "/ws/agent",
            "/healthz",
        ] {
            assert!(paths.contains_key(p), "{p} missing");
        }
        assert!(doc["components"]["schemas"]["Interaction"].is_object());
        assert!(doc["components"]["schemas"]["Contact"].is_object());
        assert!(doc["components"]["schemas"]["Media"].is_object());
        assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
    }

    /// OpenAPI requires unique operation ids (clients and tools such as schemathesis name
    /// operations by them); utoipa defaults to the handler's name, which repeats (`get`, `list`).
    #[test]
    fn operation_ids_are_unique() {
        let doc = serde_json::to_value(ApiDoc::openapi()).unwrap();
        let mut seen = std::collections::HashSet::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for (method, op) in item.as_object().unwrap() {
                let id = op["operationId"].as_str().unwrap_or_default().to_string();
                assert!(
                    seen.insert(id.clone()),
                    "{method} {path}: operationId `{id}` repeats"
                );
            }
        }
    }
}
