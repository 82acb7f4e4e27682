//! `/interactions`: conversations with their transcript. Supervisors and admins see all;
//! an agent sees those it takes or took part in. With masking on (R13) agents, and
//! supervisors unless allowed, get them masked; an unmasked read is audited.

use super::roles::AnyUser;
use super::settings::{audit_unmasked_read, customer_data_view, CustomerDataView};
use super::Data;
use crate::domain::{AlertLevel, InteractionState, Role, CUSTOMER_WINDOW_MS};
use crate::error::{ApiError, ErrorCode};
use crate::store::history::{self, InteractionFilter, InteractionRecord, ParticipantRecord};
use crate::ws::masking::mask_interaction;
use crate::ws::protocol::{Interaction, Participant, QueueRef};
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interactions").route(web::get().to(list)))
        .service(web::resource("/interactions/{id}").route(web::get().to(get)));
}

fn participant(p: ParticipantRecord) -> Participant {
    Participant {
        agent_id: p.agent_id,
        display_name: p.display_name,
        role: p.role,
        joined_at: p.joined_at,
        wrap_up_deadline: p.wrap_up_deadline,
        disposition_codes: None,
        disposition_required: None,
    }
}

/// A stored interaction as the agent desktop sees it (unmasked).
pub fn interaction(i: InteractionRecord) -> Interaction {
    Interaction {
        id: i.id,
        state: i.state,
        kind: i.kind,
        channel_id: i.channel_id,
        customer: i.customer.view(&i.customer_name),
        source_number: i.source_number,
        queue: QueueRef {
            id: i.queue_id,
            name: i.queue_name,
        },
        owner_agent_id: i.owner_agent_id,
        participants: i.participants.into_iter().map(participant).collect(),
        conference_state: i.conference_state,
        created_at: i.created_at,
        accepted_at: i.accepted_at,
        ended_at: i.ended_at,
        contact_id: i.contact_id.map(crate::crm::ContactId::Local),
        last_customer_message_at: i.last_customer_message_at,
        window_expires_at: i.last_customer_message_at.map(|t| t + CUSTOMER_WINDOW_MS),
        alert: AlertLevel::None,
        interrupted: i.interrupted,
        priority: i.priority,
        messages: i.messages,
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct InteractionQuery {
    /// `queued`, `offered`, `active`, `wrap_up` or `closed`.
    pub state: Option<String>,
    pub queue_id: Option<i64>,
    /// Interactions this agent is or was in.
    pub agent_id: Option<i64>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct InteractionPage {
    /// Newest first (by id).
    pub items: Vec<Interaction>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Checks `limit` (1..=200, default 50) and decodes `cursor` (the last id seen).
pub(crate) fn page_params(
    limit: Option<i64>,
    cursor: Option<&str>,
) -> Result<(i64, Option<i64>), ApiError> {
    let limit = limit.unwrap_or(50);
    super::check_range("limit", limit, 1, 200)?;
    let cursor =
        match cursor.filter(|c| !c.is_empty()) {
            Some(c) => Some(c.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
                ApiError::bad(ErrorCode::InvalidCursor, "cursor is not one we gave")
            })?),
            None => None,
        };
    Ok((limit, cursor))
}

#[utoipa::path(
    get, path = "/api/v1/interactions", operation_id = "list_interactions", tag = "interactions", security(("bearer" = [])),
    params(InteractionQuery),
    responses(
        (status = 200, description = "A page of interactions, newest first", body = InteractionPage),
        (status = 400, description = "`invalid_input`, `invalid_cursor`, `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(
    user: AnyUser,
    state: Data,
    query: web::Query<InteractionQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let wanted_state = match q.state.as_deref().filter(|s| !s.is_empty()) {
        Some(s) => Some(InteractionState::parse(s).ok_or_else(|| {
            ApiError::invalid("state must be queued, offered, active, wrap_up or closed")
        })?),
        None => None,
    };
    let (limit, cursor) = page_params(q.limit, q.cursor.as_deref())?;
    // An agent sees only its own interactions.
    let viewer = (!user.role.at_least(Role::Supervisor)).then_some(user.id);

    let filter = InteractionFilter {
        state: wanted_state,
        queue_id: q.queue_id,
        agent_id: q.agent_id,
        viewer,
        before: cursor,
    };
    let (items, more) = state
        .store
        .read(move |db| history::interaction_page(db, &filter, limit))
        .await?;
    let items: Vec<Interaction> = items.into_iter().map(interaction).collect();
    let next_cursor = if more {
        items.last().map(|i| i.id.to_string())
    } else {
        None
    };
    let mut items = items;
    match customer_data_view(user.role, &state.runtime) {
        CustomerDataView::Plain => {}
        CustomerDataView::Masked => items.iter_mut().for_each(mask_interaction),
        CustomerDataView::Audited if items.is_empty() => {}
        CustomerDataView::Audited => {
            let ids = items.iter().map(|i| i.id).collect();
            audit_unmasked_read(&state, &user, "interactions".into(), ids).await?;
        }
    }
    Ok(HttpResponse::Ok().json(InteractionPage { items, next_cursor }))
}

#[utoipa::path(
    get, path = "/api/v1/interactions/{id}", operation_id = "get_interaction", tag = "interactions", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Interaction id")),
    responses(
        (status = 200, description = "The interaction with its full transcript", body = Interaction),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found` (also for an agent that was not in it)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(user: AnyUser, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    Ok(HttpResponse::Ok().json(shown(&user, &state, id.into_inner()).await?))
}

/// The interaction as `user` may see it: agents only one they took part in, masked (or the
/// read audited) as the masking settings say.
pub(super) async fn shown(
    user: &crate::auth::AuthUser,
    state: &Data,
    id: i64,
) -> Result<Interaction, ApiError> {
    let viewer = (!user.role.at_least(Role::Supervisor)).then_some(user.id);
    let found = state
        .store
        .read(move |db| {
            if let Some(me) = viewer {
                if !history::took_part(db, id, me)? {
                    return Ok(None);
                }
            }
            history::load_interaction(db, id)
        })
        .await?;
    let mut interaction = found
        .map(interaction)
        .ok_or(ApiError::NotFound("interaction"))?;
    match customer_data_view(user.role, &state.runtime) {
        CustomerDataView::Plain => {}
        CustomerDataView::Masked => mask_interaction(&mut interaction),
        CustomerDataView::Audited => {
            let subject = format!("interaction:{id}");
            audit_unmasked_read(state, user, subject, vec![id]).await?;
        }
    }
    Ok(interaction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_parameters() {
        assert_eq!(page_params(None, None).unwrap(), (50, None));
        assert_eq!(page_params(Some(200), Some("17")).unwrap(), (200, Some(17)));
        assert!(page_params(Some(0), None).is_err());
        assert!(page_params(Some(201), None).is_err());
        assert_eq!(
            page_params(None, Some("x")).unwrap_err().code().as_str(),
            "invalid_cursor"
        );
    }
}
