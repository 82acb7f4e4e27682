//! `GET/POST /webhooks/whatsapp`: Meta's verification handshake and signed deliveries.
//! A delivery is answered 200 only after everything in it is committed (R10); a store failure
//! answers 503 so Meta retries, which is safe because inbound messages are idempotent by wamid.

use crate::domain::{time::now_ms, MessageStatus};
use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;
use crate::store::channels::ChannelRecord;
pub use crate::store::deliveries::StatusChange;
use crate::store::{deliveries, templates};
use crate::store::{Db, StoreResult};
use crate::whatsapp::payload::{self, ChannelEvents, Envelope, StatusUpdate};
use crate::whatsapp::signature;
use actix_web::{http::header, web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use std::collections::HashMap;

/// Largest delivery accepted (SPEC section 6).
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;
/// An oversized body is read and dropped up to this much, so the client sees the 413 rather
/// than a reset connection; beyond it the connection is simply answered and closed.
const DRAIN_LIMIT_BYTES: usize = 32 * 1024 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/webhooks/whatsapp")
            .route(web::get().to(verify_subscription))
            .route(web::post().to(receive)),
    );
}

/// Meta's subscription check: echo `hub.challenge` when the verify token is one we know.
async fn verify_subscription(
    state: web::Data<AppState>,
    req: HttpRequest,
) -> Result<HttpResponse, ApiError> {
    let query = web::Query::<HashMap<String, String>>::from_query(req.query_string())
        .map(web::Query::into_inner)
        .unwrap_or_default();
    let mode = query.get("hub.mode").map(String::as_str);
    let token = query
        .get("hub.verify_token")
        .map(String::as_str)
        .unwrap_or("");
    let challenge = query.get("hub.challenge").cloned().unwrap_or_default();

    let known = !token.is_empty()
        && (state.settings.whatsapp.verify_token.as_deref() == Some(token)
            || state
                .registry
                .channels()
                .iter()
                .any(|c| c.verify_token.as_deref() == Some(token)));
    if mode != Some("subscribe") || !known {
        tracing::warn!(?mode, "webhook verification refused");
        return Err(ApiError::Forbidden);
    }
    Ok(HttpResponse::Ok()
        .content_type("text/plain; charset=utf-8")
        .body(challenge))
}

fn invalid_signature(message: impl Into<String>) -> ApiError {
    ApiError::Unauthorized(ErrorCode::InvalidSignature, message.into())
}

fn unavailable(e: crate::store::StoreError) -> ApiError {
    tracing::error!(error = %e, "webhook delivery not stored; Meta will retry");
    ApiError::Unavailable(e.to_string())
}

async fn receive(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let started = std::time::Instant::now();
    let answer = receive_delivery(state, req, payload).await;
    let status = match &answer {
        Ok(r) => r.status(),
        Err(e) => actix_web::ResponseError::status_code(e),
    };
    crate::metrics::webhook_delivery(status.as_u16(), started.elapsed());
    answer
}

async fn receive_delivery(
    state: web::Data<AppState>,
    req: HttpRequest,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let body = read_body(&req, payload).await?;

    let digest = req
        .headers()
        .get(signature::HEADER)
        .ok_or_else(|| invalid_signature("missing X-Hub-Signature-256 header"))?
        .to_str()
        .map_err(|_| invalid_signature("ill-formed X-Hub-Signature-256 header"))
        .and_then(|h| signature::parse_header(h).map_err(|e| invalid_signature(e.to_string())))?;

    let envelope: Envelope =
        payload::parse(&body).map_err(|message| ApiError::bad(ErrorCode::InvalidJson, message))?;

    let mut known: Vec<(ChannelRecord, ChannelEvents)> = Vec::new();
    for events in payload::events(&envelope, now_ms()) {
        match state
            .registry
            .channel_by_phone_number_id(&events.phone_number_id)
        {
            Some(channel) => known.push((channel, events)),
            None => tracing::warn!(
                phone_number_id = %events.phone_number_id,
                messages = events.messages.len(),
                statuses = events.statuses.len(),
                "webhook for an unknown phone_number_id ignored"
            ),
        }
    }

    // R23: template status changes, for the channels of the accounts they name.
    let template_statuses = payload::template_statuses(&envelope);
    let mut accounts: Vec<ChannelRecord> = Vec::new();
    if !template_statuses.is_empty() {
        accounts = state
            .registry
            .channels()
            .into_iter()
            .filter(|c| {
                template_statuses
                    .iter()
                    .any(|t| c.waba_id.as_deref() == Some(t.waba_id.as_str()))
            })
            .collect();
    }

    // The delivery must be signed with the secret of every channel it names.
    let default_secret = state
        .settings
        .whatsapp
        .app_secret
        .as_deref()
        .filter(|s| !s.is_empty());
    if known.is_empty() && accounts.is_empty() {
        if let Some(secret) = default_secret {
            signature::verify_digest(secret, &body, &digest)
                .map_err(|e| invalid_signature(e.to_string()))?;
        }
        return Ok(ok());
    }
    let mut checked: Vec<&str> = Vec::new();
    for channel in known.iter().map(|(c, _)| c).chain(accounts.iter()) {
        let secret = channel
            .app_secret
            .as_deref()
            .filter(|s| !s.is_empty())
            .or(default_secret)
            .ok_or_else(|| {
                tracing::error!(
                    channel_id = channel.id,
                    "no app secret to check the webhook signature"
                );
                invalid_signature(format!(
                    "no app secret configured for phone number id {}",
                    channel.phone_number_id
                ))
            })?;
        if !checked.contains(&secret) {
            signature::verify_digest(secret, &body, &digest)
                .map_err(|e| invalid_signature(e.to_string()))?;
            checked.push(secret);
        }
    }

    if !accounts.is_empty() {
        let changed = state
            .store
            .write(move |db| -> StoreResult<usize> {
                let now = now_ms();
                let mut changed = 0;
                for t in &template_statuses {
                    changed += templates::set_status(
                        db,
                        &t.waba_id,
                        &t.name,
                        &t.language,
                        &t.status,
                        t.reason.as_deref(),
                        now,
                    )?;
                }
                Ok(changed)
            })
            .await
            .map_err(unavailable)?;
        tracing::info!(changed, "template status update");
    }

    for (channel, events) in known {
        for change in events.identity_changes {
            let wamid = change.wamid.clone();
            state
                .registry
                .identity_changed(&channel, change)
                .await
                .map_err(unavailable)?;
            tracing::info!(channel_id = channel.id, %wamid, "customer changed number or user id");
        }
        for message in events.messages {
            let wamid = message.wamid.clone();
            let delivery = state
                .registry
                .deliver_inbound(&channel, message)
                .await
                .map_err(unavailable)?;
            tracing::debug!(channel_id = channel.id, %wamid, ?delivery, "inbound message");
        }
        for update in events.updates {
            let wamid = update.wamid.clone();
            state
                .registry
                .deliver_update(&channel, update)
                .await
                .map_err(unavailable)?;
            tracing::debug!(channel_id = channel.id, %wamid, "reaction, edit or deletion");
        }
        if events.statuses.is_empty() {
            continue;
        }
        let statuses = events.statuses;
        let changes = state
            .store
            .write(move |db| apply_statuses(db, &statuses, now_ms()))
            .await
            .map_err(unavailable)?;
        for change in changes {
            state.registry.message_status_changed(
                change.interaction_id,
                change.message_id,
                change.status,
                change.error,
            );
        }
    }
    Ok(ok())
}

fn ok() -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({"status": "ok"}))
}

/// The raw body (the signature covers its exact bytes), at most [`MAX_BODY_BYTES`].
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<web::Bytes, ApiError> {
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<usize>().ok());
    let mut body = web::BytesMut::with_capacity(announced.unwrap_or(0).min(MAX_BODY_BYTES));
    let mut too_large = announced.is_some_and(|n| n > MAX_BODY_BYTES);
    let mut seen = 0usize;
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| ApiError::bad(ErrorCode::InvalidBody, e.to_string()))?;
        seen += chunk.len();
        if seen > MAX_BODY_BYTES {
            too_large = true;
        }
        if too_large {
            if seen > DRAIN_LIMIT_BYTES {
                break;
            }
            continue;
        }
        body.extend_from_slice(&chunk);
    }
    if too_large {
        tracing::warn!(bytes = seen, "webhook delivery over 3 MB refused");
        return Err(ApiError::PayloadTooLarge);
    }
    Ok(body.freeze())
}

/// Applies delivery statuses to outbound messages: only forward (R6), `failed` is final,
/// unknown wamids are ignored (R12). Returns what changed, in order.
pub fn apply_statuses(
    db: &Db,
    updates: &[StatusUpdate],
    now: i64,
) -> StoreResult<Vec<StatusChange>> {
    let mut changes = Vec::new();
    for update in updates {
        let error = match update.status {
            MessageStatus::Failed => Some(update.error.clone().unwrap_or_else(|| "failed".into())),
            _ => None,
        };
        let Some(mut delivery) = deliveries::outbound_by_wamid(db, &update.wamid)? else {
            // The send's answer naming this wamid may not be processed yet: kept a while.
            if deliveries::keep_early(
                db,
                &update.wamid,
                update.status,
                error.as_deref(),
                update.pricing.as_ref(),
                now,
            )? {
                tracing::debug!(wamid = %update.wamid, "status for a wamid not known yet kept");
            }
            continue;
        };
        if let Some(pricing) = &update.pricing {
            deliveries::record_pricing(db, delivery.message_id, pricing)?;
        }
        if deliveries::advance(db, &mut delivery, update.status, error.as_deref(), now)? {
            changes.push(StatusChange {
                interaction_id: delivery.interaction_id,
                message_id: delivery.message_id,
                status: update.status,
                error,
            });
        }
    }
    Ok(changes)
}
