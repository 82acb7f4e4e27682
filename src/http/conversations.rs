//! `POST /conversations` (R23): the business starts a conversation with a template. The
//! interaction is the caller's (agent and up), active at once; the customer's reply lands in
//! it.

use super::roles::AnyUser;
use super::Data;
use crate::actors::interaction::{StartOutbound, TemplateSend};
use crate::crm::ContactId;
use crate::domain::customer::CustomerIdentity;
use crate::domain::template::TemplateValues;
use crate::error::{ApiError, ErrorCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/conversations").route(web::post().to(start)));
}

/// The template a conversation starts with.
#[derive(Debug, Deserialize, ToSchema)]
pub struct TemplateRequest {
    #[schema(min_length = 1, max_length = 512, pattern = "\\S")]
    pub name: String,
    /// Meta's language code, e.g. `en_US`.
    #[schema(min_length = 1, max_length = 15, pattern = "\\S")]
    pub language: String,
    /// `{"header": [..], "body": [..] or {"name": value}, "buttons": [..]}`, as many as the
    /// template's `parameters` say.
    #[serde(default)]
    pub parameters: TemplateValues,
}

#[derive(Debug, Deserialize, ToSchema)]
pub struct NewConversation {
    pub channel_id: i64,
    /// The customer's phone number (any common format; the CRM's default region applies to
    /// numbers without a country code). Give this or `contact_id`.
    #[serde(default)]
    #[schema(min_length = 1, max_length = 64)]
    pub to: Option<String>,
    /// A contact of the CRM (a number for the built-in CRM, a string for Dynamics 365): its
    /// first number (and WhatsApp user id) is used, and the conversation is linked to it.
    #[serde(default)]
    #[schema(value_type = Option<i64>)]
    pub contact_id: Option<ContactId>,
    pub template: TemplateRequest,
}

fn check_len(field: &str, s: &str, max: usize) -> Result<(), ApiError> {
    if s.trim().is_empty() || s.chars().count() > max {
        return Err(ApiError::invalid(format!(
            "{field} must be 1 to {max} characters, not blank"
        )));
    }
    Ok(())
}

#[utoipa::path(
    post, path = "/api/v1/conversations", operation_id = "start_conversation", tag = "conversations", security(("bearer" = [])),
    request_body = NewConversation,
    responses(
        (status = 201, description = "Started: the interaction (active, `kind: outbound`, the caller's), its first message the template", body = crate::ws::protocol::Interaction),
        (status = 400, description = "`invalid_input` (neither or both of `to` and `contact_id`, a contact with no number), `invalid_phone`, `bad_template_parameters`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`: no such channel, contact or template", body = super::openapi::ErrorResponse),
        (status = 409, description = "`conversation_open` (the customer has an open interaction on the channel), `template_not_approved`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 503, description = "`crm_unavailable` and the like: the contact could not be read", body = super::openapi::ErrorResponse),
    )
)]
pub async fn start(
    user: AnyUser,
    state: Data,
    body: super::Json<NewConversation>,
) -> Result<HttpResponse, ApiError> {
    let body = body.into_inner();
    check_len("template.name", &body.template.name, 512)?;
    check_len("template.language", &body.template.language, 15)?;
    let channel = state
        .registry
        .channels()
        .into_iter()
        .find(|c| c.id == body.channel_id)
        .ok_or(ApiError::NotFound("channel"))?;
    let (customer, contact) = match (body.to.as_deref(), body.contact_id) {
        (Some(to), None) => {
            let e164 = state.crm.normalise(to).ok_or_else(|| {
                ApiError::bad(
                    ErrorCode::InvalidPhone,
                    format!("to is not a phone number: {to}"),
                )
            })?;
            (CustomerIdentity::new(Some(&e164), None, None), None)
        }
        (None, Some(id)) => {
            let contact = state
                .crm
                .get(&id)
                .await?
                .ok_or(ApiError::NotFound("contact"))?;
            let customer = CustomerIdentity::new(
                contact.phones.first().map(String::as_str),
                contact.whatsapp_user_ids.first().map(String::as_str),
                None,
            );
            if customer.is_empty() {
                return Err(ApiError::invalid(
                    "the contact has no phone number or WhatsApp user id to write to",
                ));
            }
            (customer, Some(contact))
        }
        _ => return Err(ApiError::invalid("give exactly one of to and contact_id")),
    };
    let start = StartOutbound {
        agent_id: user.id,
        template: TemplateSend {
            name: body.template.name,
            language: body.template.language,
            values: body.template.parameters,
        },
        contact,
    };
    let started = state
        .registry
        .start_outbound(&channel, &customer, start)
        .await?;
    tracing::info!(
        interaction = started.id,
        agent = user.id,
        channel = channel.id,
        "conversation started by the business"
    );
    let shown = super::interactions::shown(&user, &state, started.id).await?;
    Ok(HttpResponse::Created().json(shown))
}
