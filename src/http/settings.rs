//! `/settings`: run-time settings an admin can change (they override the configuration).
//! `/audit`: who read customer data unmasked, and who changed masking (R13).

use super::roles::Admin;
use super::Data;
use crate::auth::AuthUser;
use crate::domain::time::now_ms;
use crate::domain::{time::rfc3339, AgentStatus, Role};
use crate::error::ApiError;
use crate::state::RuntimeSettings;
use crate::store::{audit, settings as saved};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/settings")
            .route(web::get().to(get))
            .route(web::patch().to(update)),
    )
    .service(web::resource("/audit").route(web::get().to(audit)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// Mask sensitive data on the agent desktop (R13).
    pub masking_enabled: bool,
    /// While masking is on, supervisors read transcripts unmasked over HTTP (audited), as
    /// admins do. Default false.
    pub supervisors_see_unmasked: bool,
    /// Status an agent gets on reject or offer timeout: `on_break` or `rona`.
    pub no_answer_status: AgentStatus,
}

/// Only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SettingsPatch {
    pub masking_enabled: Option<bool>,
    pub supervisors_see_unmasked: Option<bool>,
    /// `on_break` or `rona`.
    #[schema(pattern = "^(on_break|rona)$")]
    pub no_answer_status: Option<String>,
}

fn current(state: &Data) -> Settings {
    Settings {
        masking_enabled: state.runtime.masking_enabled(),
        supervisors_see_unmasked: state.runtime.supervisors_see_unmasked(),
        no_answer_status: state.runtime.no_answer_status(),
    }
}

pub(crate) fn parse_no_answer_status(s: &str) -> Result<AgentStatus, ApiError> {
    match AgentStatus::parse(s) {
        Some(st @ (AgentStatus::OnBreak | AgentStatus::Rona)) => Ok(st),
        _ => Err(ApiError::invalid(
            "no_answer_status must be `on_break` or `rona`",
        )),
    }
}

#[utoipa::path(
    get, path = "/api/v1/settings", operation_id = "get_settings", tag = "settings", security(("bearer" = [])),
    responses(
        (status = 200, body = Settings),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(_admin: Admin, state: Data) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(current(&state)))
}

#[utoipa::path(
    patch, path = "/api/v1/settings", operation_id = "update_settings", tag = "settings", security(("bearer" = [])),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "The settings after the change", body = Settings),
        (status = 400, description = "`invalid_input`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    user: Admin,
    state: Data,
    body: super::Json<SettingsPatch>,
) -> Result<HttpResponse, ApiError> {
    let patch = body.into_inner();
    let no_answer = patch
        .no_answer_status
        .as_deref()
        .map(parse_no_answer_status)
        .transpose()?;
    let masking = patch.masking_enabled;
    let supervisors = patch.supervisors_see_unmasked;
    // Each change to who sees what is audited, in the same transaction as the change.
    let changes: Vec<(&'static str, bool, bool)> = [
        ("masking_enabled", state.runtime.masking_enabled(), masking),
        (
            "supervisors_see_unmasked",
            state.runtime.supervisors_see_unmasked(),
            supervisors,
        ),
    ]
    .into_iter()
    .filter_map(|(key, was, now)| now.map(|now| (key, was, now)))
    .collect();
    let admin = user.id;
    state
        .store
        .write(move |db| {
            for (key, was, now) in &changes {
                saved::save(db, key, if *now { "true" } else { "false" })?;
                let detail = serde_json::json!({"from": was, "to": now}).to_string();
                audit::record(db, now_ms(), Some(admin), "setting_changed", key, &detail)?;
            }
            if let Some(s) = no_answer {
                saved::save(db, "no_answer_status", s.as_str())?;
            }
            Ok::<_, ApiError>(())
        })
        .await?;
    // Sessions read the flag at every event: their next payloads follow it.
    if let Some(m) = masking {
        state.runtime.set_masking_enabled(m);
    }
    if let Some(on) = supervisors {
        state.runtime.set_supervisors_see_unmasked(on);
    }
    if let Some(s) = no_answer {
        state.runtime.set_no_answer_status(s);
    }
    Ok(HttpResponse::Ok().json(current(&state)))
}

pub(crate) use crate::domain::masking::CustomerDataView;

pub(crate) fn customer_data_view(role: Role, runtime: &RuntimeSettings) -> CustomerDataView {
    CustomerDataView::of(
        role,
        runtime.masking_enabled(),
        runtime.supervisors_see_unmasked(),
    )
}

/// Records an unmasked read of transcripts (`subject`: `interaction:7`, `activities`, ...)
/// before the data is answered: no unaudited unmasked read.
pub(crate) async fn audit_unmasked_read(
    state: &Data,
    user: &AuthUser,
    subject: String,
    ids: Vec<i64>,
) -> Result<(), ApiError> {
    let user_id = user.id;
    let detail = serde_json::json!({"ids": ids, "role": user.role}).to_string();
    state
        .store
        .write(move |db| {
            audit::record(
                db,
                now_ms(),
                Some(user_id),
                "read_unmasked",
                &subject,
                &detail,
            )
        })
        .await?;
    Ok(())
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditRecord {
    pub id: i64,
    /// RFC 3339.
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub at: i64,
    /// Who did it (null for the system).
    pub user_id: Option<i64>,
    /// `read_unmasked` or `setting_changed`.
    pub action: String,
    /// `interaction:7`, `interactions`, `activity:3`, `activities`, or the setting's name.
    pub subject: String,
    /// JSON: the ids read and the reader's role, or the setting's `from` and `to`.
    pub detail: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub items: Vec<AuditRecord>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/audit", tag = "settings", security(("bearer" = [])),
    params(AuditQuery),
    responses(
        (status = 200, description = "Audit records, newest first", body = AuditPage),
        (status = 400, description = "`invalid_input`, `invalid_cursor`, `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not an admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn audit(
    state: Data,
    query: web::Query<AuditQuery>,
    // Last: extracted after the query, so a malformed query answers 400 before the role 403,
    // as it did when the role was checked in the body (`/audit` has no role in the middleware).
    _admin: Admin,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (limit, cursor) = super::interactions::page_params(q.limit, q.cursor.as_deref())?;
    let mut items: Vec<AuditRecord> = state
        .store
        .read(move |db| audit::page(db, cursor, limit + 1))
        .await?
        .into_iter()
        .map(|a| AuditRecord {
            id: a.id,
            at: a.at,
            user_id: a.user_id,
            action: a.action,
            subject: a.subject,
            detail: a.detail,
        })
        .collect();
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().map(|a| a.id.to_string())
    } else {
        None
    };
    Ok(HttpResponse::Ok().json(AuditPage { items, next_cursor }))
}

#[cfg(test)]
mod tests {
    #[test]
    fn no_answer_status_is_on_break_or_rona() {
        use super::*;
        assert_eq!(parse_no_answer_status("rona").unwrap(), AgentStatus::Rona);
        assert_eq!(
            parse_no_answer_status("on_break").unwrap(),
            AgentStatus::OnBreak
        );
        assert!(parse_no_answer_status("available").is_err());
        assert!(parse_no_answer_status("x").is_err());
    }

    #[test]
    fn who_sees_customer_data_unmasked() {
        use super::*;
        use CustomerDataView::*;
        let runtime = RuntimeSettings::new(false, AgentStatus::OnBreak);
        for role in Role::ALL {
            assert_eq!(customer_data_view(*role, &runtime), Plain);
        }
        runtime.set_masking_enabled(true);
        assert_eq!(customer_data_view(Role::Agent, &runtime), Masked);
        assert_eq!(customer_data_view(Role::Supervisor, &runtime), Masked);
        assert_eq!(customer_data_view(Role::Admin, &runtime), Audited);
        runtime.set_supervisors_see_unmasked(true);
        assert_eq!(customer_data_view(Role::Supervisor, &runtime), Audited);
        assert_eq!(customer_data_view(Role::Agent, &runtime), Masked);
    }
}
