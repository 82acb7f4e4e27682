//! `/settings`: run-time settings an admin can change (they override the configuration).

use super::Data;
use crate::auth::AuthUser;
use crate::domain::{AgentStatus, Role};
use crate::error::ApiError;
use crate::store::rows;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings", web::get().to(get))
        .route("/settings", web::patch().to(update));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Settings {
    /// Mask sensitive data on the agent desktop (R13).
    pub masking_enabled: bool,
    /// Status an agent gets on reject or offer timeout: `on_break` or `rona`.
    pub no_answer_status: AgentStatus,
}

/// Only the fields given change.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct SettingsPatch {
    pub masking_enabled: Option<bool>,
    /// `on_break` or `rona`.
    pub no_answer_status: Option<String>,
}

fn current(state: &Data) -> Settings {
    Settings {
        masking_enabled: state.runtime.masking_enabled(),
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
    get, path = "/api/v1/settings", tag = "settings", security(("bearer" = [])),
    responses(
        (status = 200, body = Settings),
        (status = 401, body = super::openapi::ErrorResponse), (status = 403, body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(user: AuthUser, state: Data) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    Ok(HttpResponse::Ok().json(current(&state)))
}

#[utoipa::path(
    patch, path = "/api/v1/settings", tag = "settings", security(("bearer" = [])),
    request_body = SettingsPatch,
    responses(
        (status = 200, description = "The settings after the change", body = Settings),
        (status = 400, description = "`invalid_input`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    user: AuthUser,
    state: Data,
    body: web::Json<SettingsPatch>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Admin)?;
    let patch = body.into_inner();
    let no_answer = patch
        .no_answer_status
        .as_deref()
        .map(parse_no_answer_status)
        .transpose()?;
    let masking = patch.masking_enabled;
    super::write(&state.store, move |c| {
        if let Some(m) = masking {
            rows::save_setting(c, "masking_enabled", if m { "true" } else { "false" })?;
        }
        if let Some(s) = no_answer {
            rows::save_setting(c, "no_answer_status", s.as_str())?;
        }
        Ok(())
    })
    .await?;
    if let Some(m) = masking {
        state.runtime.set_masking_enabled(m);
    }
    if let Some(s) = no_answer {
        state.runtime.set_no_answer_status(s);
    }
    Ok(HttpResponse::Ok().json(current(&state)))
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
}
