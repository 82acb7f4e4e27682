//! `/activities`: call logs, one per closed interaction (R8). Agent and up. With masking on
//! (R13) agents, and supervisors unless allowed, get them masked; an unmasked read is audited.

use super::interactions::page_params;
use super::settings::{audit_unmasked_read, customer_data_view, CustomerDataView};
use super::Data;
use crate::auth::AuthUser;
use crate::domain::masking::mask_phone;
use crate::domain::time::{rfc3339, rfc3339_opt};
use crate::domain::Role;
use crate::error::ApiError;
use crate::ws::masking::{mask_customer, mask_transcript_json};
use crate::ws::protocol::{Customer, QueueRef};
use actix_web::{web, HttpResponse};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row};
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
    #[schema(value_type = super::openapi::QueueRefDoc)]
    pub queue: QueueRef,
    pub contact_id: Option<i64>,
    #[schema(value_type = super::openapi::CustomerDoc)]
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
    #[schema(value_type = Vec<super::openapi::MessageDoc>)]
    pub transcript: serde_json::Value,
}

const COLUMNS: &str = "a.id, a.interaction_id, a.channel_id, a.queue_id, COALESCE(q.name, ''), \
     a.contact_id, a.customer_name, a.customer_phone, a.source_number, a.agents, \
     a.initiated_at, a.accepted_at, a.terminated_at, a.wrapped_up_at, a.disposition, a.transcript";

fn json_column(r: &Row<'_>, i: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = r.get(i)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn activity_from_row(r: &Row<'_>) -> rusqlite::Result<Activity> {
    Ok(Activity {
        id: r.get(0)?,
        interaction_id: r.get(1)?,
        channel_id: r.get(2)?,
        queue: QueueRef {
            id: r.get(3)?,
            name: r.get(4)?,
        },
        contact_id: r.get(5)?,
        customer: Customer {
            name: r.get(6)?,
            phone: r.get(7)?,
        },
        source_number: r.get(8)?,
        agents: json_column(r, 9)?,
        initiated_at: r.get(10)?,
        accepted_at: r.get(11)?,
        terminated_at: r.get(12)?,
        wrapped_up_at: r.get(13)?,
        disposition: r.get(14)?,
        transcript: json_column(r, 15)?,
    })
}

/// R13 on a call log: the customer, the business number, the transcript.
fn mask_activity(activity: &mut Activity) {
    mask_customer(&mut activity.customer);
    activity.source_number = mask_phone(&activity.source_number);
    mask_transcript_json(&mut activity.transcript);
}

pub fn load_activity(c: &Connection, id: i64) -> rusqlite::Result<Option<Activity>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM activities a LEFT JOIN queues q ON q.id = a.queue_id WHERE a.id = ?1"
    );
    c.query_row(&sql, [id], activity_from_row).optional()
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
    user: AuthUser,
    state: Data,
    query: web::Query<ActivityQuery>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Agent)?;
    let q = query.into_inner();
    let (limit, cursor) = page_params(q.limit, q.cursor.as_deref())?;

    let mut sql = format!(
        "SELECT {COLUMNS} FROM activities a LEFT JOIN queues q ON q.id = a.queue_id WHERE 1 = 1"
    );
    let mut args: Vec<Value> = Vec::new();
    if let Some(contact) = q.contact_id {
        args.push(Value::Integer(contact));
        sql.push_str(&format!(" AND a.contact_id = ?{}", args.len()));
    }
    if let Some(agent) = q.agent_id {
        args.push(Value::Integer(agent));
        sql.push_str(&format!(
            " AND EXISTS(SELECT 1 FROM activity_agents g WHERE g.activity_id = a.id AND g.agent_id = ?{})",
            args.len()
        ));
    }
    if let Some(before) = cursor {
        args.push(Value::Integer(before));
        sql.push_str(&format!(" AND a.id < ?{}", args.len()));
    }
    args.push(Value::Integer(limit + 1));
    sql.push_str(&format!(" ORDER BY a.id DESC LIMIT ?{}", args.len()));

    let mut items = super::read(&state.store, move |c| {
        let mut stmt = c.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args), activity_from_row)?;
        rows.collect::<Result<Vec<_>, _>>()
    })
    .await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
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
pub async fn get(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    user.require(Role::Agent)?;
    let id = id.into_inner();
    let mut activity = super::read(&state.store, move |c| load_activity(c, id))
        .await?
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
