//! `/activities`: call logs, one per closed interaction (R8). Agent and up. With masking on
//! (R13) agents, and supervisors unless allowed, get them masked; an unmasked read is audited.

use super::interactions::page_params;
use super::roles::AnyUser;
use super::settings::{audit_unmasked_read, customer_data_view, CustomerDataView};
use super::Data;
use crate::domain::csat::CsatAnswer;
use crate::domain::masking::mask_phone;
use crate::domain::time::{rfc3339, rfc3339_opt};
use crate::domain::InteractionKind;
use crate::error::ApiError;
use crate::store::history::{self, ActivityFilter, ActivityRecord};
use crate::ws::masking::{mask_customer, mask_transcript_json};
use crate::ws::protocol::{Customer, QueueRef};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/activities").route(web::get().to(list)))
        .service(web::resource("/activities/{id}").route(web::get().to(get)));
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Activity {
    pub id: i64,
    pub interaction_id: i64,
    pub channel_id: i64,
    pub queue: QueueRef,
    pub contact_id: Option<i64>,
    pub customer: Customer,
    pub source_number: String,
    /// The agents that handled it, as saved with the call log.
    #[schema(value_type = Vec<Object>)]
    pub agents: serde_json::Value,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub initiated_at: i64,
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub accepted_at: Option<i64>,
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub terminated_at: Option<i64>,
    #[serde(with = "rfc3339")]
    #[schema(value_type = String)]
    pub wrapped_up_at: i64,
    pub disposition: Option<String>,
    /// The messages, as in an interaction.
    #[schema(value_type = Vec<crate::domain::message::Message>)]
    pub transcript: serde_json::Value,
    /// `inbound` or `outbound` (the business started it, R23).
    pub kind: InteractionKind,
    /// When the satisfaction survey went to the customer (R28); null when none did.
    #[serde(with = "rfc3339_opt")]
    #[schema(value_type = Option<String>)]
    pub csat_sent_at: Option<i64>,
    /// The customer's answer; null until they answer.
    pub csat: Option<CsatAnswer>,
}

impl From<ActivityRecord> for Activity {
    fn from(a: ActivityRecord) -> Self {
        Activity {
            id: a.id,
            interaction_id: a.interaction_id,
            channel_id: a.channel_id,
            queue: QueueRef {
                id: a.queue_id,
                name: a.queue_name,
            },
            contact_id: a.contact_id,
            customer: a.customer.view(&a.customer_name),
            source_number: a.source_number,
            agents: a.agents,
            initiated_at: a.initiated_at,
            accepted_at: a.accepted_at,
            terminated_at: a.terminated_at,
            wrapped_up_at: a.wrapped_up_at,
            disposition: a.disposition,
            transcript: a.transcript,
            kind: a.kind,
            csat_sent_at: a.csat_sent_at,
            csat: a.csat,
        }
    }
}

/// R13 on a call log: the customer, the business number, the transcript.
fn mask_activity(activity: &mut Activity) {
    mask_customer(&mut activity.customer);
    activity.source_number = mask_phone(&activity.source_number);
    mask_transcript_json(&mut activity.transcript);
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActivityQuery {
    /// Call logs saved against this CRM contact.
    pub contact_id: Option<i64>,
    /// Call logs this agent took part in.
    pub agent_id: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityPage {
    /// Newest first.
    pub items: Vec<Activity>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/activities", operation_id = "list_activities", tag = "activities", security(("bearer" = [])),
    params(ActivityQuery),
    responses(
        (status = 200, description = "A page of call logs, newest first", body = ActivityPage),
        (status = 400, description = "`invalid_input`, `invalid_cursor`, `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(
    user: AnyUser,
    state: Data,
    query: web::Query<ActivityQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let (limit, cursor) = page_params(q.limit, q.cursor.as_deref())?;

    let filter = ActivityFilter {
        contact_id: q.contact_id,
        agent_id: q.agent_id,
        before: cursor,
    };
    let (items, more) = state
        .store
        .read(move |db| history::activity_page(db, &filter, limit))
        .await?;
    let mut items: Vec<Activity> = items.into_iter().map(Activity::from).collect();
    let next_cursor = if more {
        items.last().map(|a| a.id.to_string())
    } else {
        None
    };
    match customer_data_view(user.role, &state.runtime) {
        CustomerDataView::Plain => {}
        CustomerDataView::Masked => items.iter_mut().for_each(mask_activity),
        CustomerDataView::Audited if items.is_empty() => {}
        CustomerDataView::Audited => {
            let ids = items.iter().map(|a| a.id).collect();
            audit_unmasked_read(&state, &user, "activities".into(), ids).await?;
        }
    }
    Ok(HttpResponse::Ok().json(ActivityPage { items, next_cursor }))
}

#[utoipa::path(
    get, path = "/api/v1/activities/{id}", operation_id = "get_activity", tag = "activities", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Activity id")),
    responses(
        (status = 200, body = Activity),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(user: AnyUser, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let mut activity = state
        .store
        .read(move |db| history::load_activity(db, id))
        .await?
        .map(Activity::from)
        .ok_or(ApiError::NotFound("activity"))?;
    match customer_data_view(user.role, &state.runtime) {
        CustomerDataView::Plain => {}
        CustomerDataView::Masked => mask_activity(&mut activity),
        CustomerDataView::Audited => {
            let subject = format!("activity:{id}");
            audit_unmasked_read(&state, &user, subject, vec![id]).await?;
        }
    }
    Ok(HttpResponse::Ok().json(activity))
}
