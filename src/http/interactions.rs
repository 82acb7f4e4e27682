//! `/interactions`: conversations with their transcript. Supervisors and admins see all;
//! an agent sees those it takes or took part in. With masking on (R13) agents, and
//! supervisors unless allowed, get them masked; an unmasked read is audited.

use super::settings::{audit_unmasked_read, customer_data_view, CustomerDataView};
use super::Data;
use crate::auth::AuthUser;
use crate::domain::{
    AlertLevel, AuthorKind, ConferenceState, Direction, InteractionState, MessageKind,
    MessageStatus, ParticipantRole, Role, CUSTOMER_WINDOW_MS,
};
use crate::error::ApiError;
use crate::ws::masking::mask_interaction;
use crate::ws::protocol::{Author, Customer, Interaction, Message, Participant, QueueRef};
use actix_web::{web, HttpResponse};
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/interactions").route(web::get().to(list)))
        .service(web::resource("/interactions/{id}").route(web::get().to(get)));
}

/// A customer's number as shown: WhatsApp ids are E.164 digits without the `+`.
pub fn customer_phone(wa_id: &str) -> String {
    if wa_id.starts_with('+') {
        wa_id.to_string()
    } else {
        format!("+{wa_id}")
    }
}

fn parse_or<T: Copy>(s: &str, parse: fn(&str) -> Option<T>, fallback: T) -> T {
    parse(s).unwrap_or(fallback)
}

/// The transcript of an interaction, oldest first.
pub fn load_messages(c: &Connection, interaction_id: i64) -> rusqlite::Result<Vec<Message>> {
    let mut stmt = c.prepare_cached(
        "SELECT id, direction, author_kind, author_id, author_name, text, kind, media_id, \
         sent_at, status, error FROM messages WHERE interaction_id = ?1 ORDER BY id",
    )?;
    let rows = stmt.query_map([interaction_id], |r| {
        let direction: String = r.get(1)?;
        let author_kind: String = r.get(2)?;
        let kind: String = r.get(6)?;
        let status: Option<String> = r.get(9)?;
        Ok(Message {
            id: r.get(0)?,
            direction: parse_or(&direction, Direction::parse, Direction::System),
            author: Author {
                kind: parse_or(&author_kind, AuthorKind::parse, AuthorKind::System),
                id: r.get(3)?,
                name: r.get(4)?,
            },
            text: r.get(5)?,
            kind: parse_or(&kind, MessageKind::parse, MessageKind::Unsupported),
            media_id: r.get(7)?,
            sent_at: r.get(8)?,
            status: status.as_deref().and_then(MessageStatus::parse),
            error: r.get(10)?,
        })
    })?;
    rows.collect()
}

/// The agents in an interaction now (they have not left).
fn load_participants(c: &Connection, interaction_id: i64) -> rusqlite::Result<Vec<Participant>> {
    let mut stmt = c.prepare_cached(
        "SELECT agent_id, display_name, role, joined_at, wrap_up_deadline \
         FROM interaction_participants \
         WHERE interaction_id = ?1 AND left_at IS NULL AND wrapped_up_at IS NULL \
         ORDER BY joined_at, agent_id",
    )?;
    let rows = stmt.query_map([interaction_id], |r| {
        let role: String = r.get(2)?;
        Ok(Participant {
            agent_id: r.get(0)?,
            display_name: r.get(1)?,
            role: parse_or(&role, ParticipantRole::parse, ParticipantRole::Conference),
            joined_at: r.get(3)?,
            wrap_up_deadline: r.get(4)?,
            disposition_codes: None,
            disposition_required: None,
        })
    })?;
    rows.collect()
}

/// One interaction as the agent desktop sees it (the stored data, unmasked).
pub fn load_interaction(c: &Connection, id: i64) -> rusqlite::Result<Option<Interaction>> {
    let found = c
        .query_row(
            "SELECT i.id, i.state, i.channel_id, i.customer_name, i.customer_wa_id, \
             i.source_number, i.queue_id, COALESCE(q.name, ''), i.owner_agent_id, \
             i.conference_state, i.created_at, i.accepted_at, i.ended_at, i.contact_id, \
             i.last_customer_message_at, i.interrupted \
             FROM interactions i LEFT JOIN queues q ON q.id = i.queue_id WHERE i.id = ?1",
            [id],
            |r| {
                let state: String = r.get(1)?;
                let wa_id: String = r.get(4)?;
                let conference: String = r.get(9)?;
                let last_customer: Option<i64> = r.get(14)?;
                Ok(Interaction {
                    id: r.get(0)?,
                    state: parse_or(&state, InteractionState::parse, InteractionState::Closed),
                    channel_id: r.get(2)?,
                    customer: Customer {
                        name: r.get(3)?,
                        phone: customer_phone(&wa_id),
                    },
                    source_number: r.get(5)?,
                    queue: QueueRef {
                        id: r.get(6)?,
                        name: r.get(7)?,
                    },
                    owner_agent_id: r.get(8)?,
                    participants: Vec::new(),
                    conference_state: parse_or(
                        &conference,
                        ConferenceState::parse,
                        ConferenceState::None,
                    ),
                    created_at: r.get(10)?,
                    accepted_at: r.get(11)?,
                    ended_at: r.get(12)?,
                    contact_id: r
                        .get::<_, Option<i64>>(13)?
                        .map(crate::crm::ContactId::Local),
                    last_customer_message_at: last_customer,
                    window_expires_at: last_customer.map(|t| t + CUSTOMER_WINDOW_MS),
                    alert: AlertLevel::None,
                    interrupted: r.get(15)?,
                    messages: Vec::new(),
                })
            },
        )
        .optional()?;
    let Some(mut interaction) = found else {
        return Ok(None);
    };
    interaction.participants = load_participants(c, id)?;
    interaction.messages = load_messages(c, id)?;
    Ok(Some(interaction))
}

/// Whether `agent_id` is or was in the interaction (owner or participant).
fn took_part(c: &Connection, interaction_id: i64, agent_id: i64) -> rusqlite::Result<bool> {
    c.query_row(
        "SELECT EXISTS(SELECT 1 FROM interaction_participants \
           WHERE interaction_id = ?1 AND agent_id = ?2) \
         OR EXISTS(SELECT 1 FROM interactions WHERE id = ?1 AND owner_agent_id = ?2)",
        params![interaction_id, agent_id],
        |r| r.get(0),
    )
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
    #[schema(value_type = Vec<super::openapi::InteractionDoc>)]
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
    let cursor = match cursor.filter(|c| !c.is_empty()) {
        Some(c) => Some(
            c.parse::<i64>()
                .ok()
                .filter(|id| *id > 0)
                .ok_or_else(|| ApiError::bad("invalid_cursor", "cursor is not one we gave"))?,
        ),
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
    user: AuthUser,
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

    let mut sql = String::from("SELECT i.id FROM interactions i WHERE 1 = 1");
    let mut args: Vec<Value> = Vec::new();
    let took_part = |n: usize| {
        format!(
            " AND (EXISTS(SELECT 1 FROM interaction_participants p \
               WHERE p.interaction_id = i.id AND p.agent_id = ?{n}) OR i.owner_agent_id = ?{n})"
        )
    };
    if let Some(s) = wanted_state {
        args.push(Value::Text(s.as_str().into()));
        sql.push_str(&format!(" AND i.state = ?{}", args.len()));
    }
    if let Some(queue) = q.queue_id {
        args.push(Value::Integer(queue));
        sql.push_str(&format!(" AND i.queue_id = ?{}", args.len()));
    }
    if let Some(agent) = q.agent_id {
        args.push(Value::Integer(agent));
        sql.push_str(&took_part(args.len()));
    }
    if let Some(me) = viewer {
        args.push(Value::Integer(me));
        sql.push_str(&took_part(args.len()));
    }
    if let Some(after) = cursor {
        args.push(Value::Integer(after));
        sql.push_str(&format!(" AND i.id < ?{}", args.len()));
    }
    args.push(Value::Integer(limit + 1));
    sql.push_str(&format!(" ORDER BY i.id DESC LIMIT ?{}", args.len()));

    let (items, more) = super::read(&state.store, move |c| {
        let mut stmt = c.prepare(&sql)?;
        let mut ids = stmt
            .query_map(rusqlite::params_from_iter(args), |r| r.get::<_, i64>(0))?
            .collect::<Result<Vec<_>, _>>()?;
        let more = ids.len() as i64 > limit;
        ids.truncate(limit as usize);
        let mut items = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(i) = load_interaction(c, id)? {
                items.push(i);
            }
        }
        Ok((items, more))
    })
    .await?;
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
        (status = 200, description = "The interaction with its full transcript", body = super::openapi::InteractionDoc),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found` (also for an agent that was not in it)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(
    user: AuthUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let viewer = (!user.role.at_least(Role::Supervisor)).then_some(user.id);
    let found = super::read(&state.store, move |c| {
        if let Some(me) = viewer {
            if !took_part(c, id, me)? {
                return Ok(None);
            }
        }
        load_interaction(c, id)
    })
    .await?;
    let mut interaction = found.ok_or(ApiError::NotFound("interaction"))?;
    match customer_data_view(user.role, &state.runtime) {
        CustomerDataView::Plain => {}
        CustomerDataView::Masked => mask_interaction(&mut interaction),
        CustomerDataView::Audited => {
            let subject = format!("interaction:{id}");
            audit_unmasked_read(&state, &user, subject, vec![id]).await?;
        }
    }
    Ok(HttpResponse::Ok().json(interaction))
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
            page_params(None, Some("x")).unwrap_err().code(),
            "invalid_cursor"
        );
    }

    #[test]
    fn loads_an_interaction_with_its_transcript() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch(include_str!("../../migrations/0001_core.sql"))
            .unwrap();
        c.execute_batch(
            "INSERT INTO users(id, username, display_name, role, password_hash, status_since, created_at, updated_at)
                 VALUES (5, 'ann', 'Ann', 'agent', 'x', 0, 0, 0);
             INSERT INTO queues(id, name, offer_timeout_secs, wrap_up_secs, created_at, updated_at)
                 VALUES (1, 'Support', 30, 60, 0, 0);
             INSERT INTO channels(id, name, phone_number_id, display_phone_number, queue_id, access_token, created_at, updated_at)
                 VALUES (1, 'WA', '1', '15550001111', 1, 't', 0, 0);
             INSERT INTO interactions(id, channel_id, queue_id, customer_wa_id, customer_name, source_number,
                                      state, queue_position, owner_agent_id, created_at, last_customer_message_at, updated_at)
                 VALUES (7, 1, 1, '447700900001', 'Bob', '15550001111', 'active', 0, 5, 1000, 2000, 0);
             INSERT INTO interaction_participants(interaction_id, agent_id, display_name, role, joined_at)
                 VALUES (7, 5, 'Ann', 'owner', 1500);
             INSERT INTO messages(interaction_id, direction, author_kind, author_name, kind, text, sent_at, created_at, updated_at)
                 VALUES (7, 'in', 'customer', 'Bob', 'text', 'hi', 2000, 0, 0);",
        )
        .unwrap();
        let i = load_interaction(&c, 7).unwrap().unwrap();
        assert_eq!(i.customer.phone, "+447700900001");
        assert_eq!(i.queue.name, "Support");
        assert_eq!(i.participants.len(), 1);
        assert_eq!(i.messages.len(), 1);
        assert_eq!(i.window_expires_at, Some(2000 + CUSTOMER_WINDOW_MS));
        assert!(took_part(&c, 7, 5).unwrap());
        assert!(!took_part(&c, 7, 6).unwrap());
        assert!(load_interaction(&c, 8).unwrap().is_none());
    }
}
