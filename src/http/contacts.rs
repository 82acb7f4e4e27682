//! `/contacts`: the configured CRM's contacts (the built-in CRM, or Dynamics 365 through its
//! connector), numbers in E.164. Agent and up. A contact's call logs are
//! `GET /activities?contact_id=`.

use super::roles::AnyUser;
use super::{check_len, Data};
use crate::auth::AuthUser;
use crate::crm::{Contact, ContactId, ContactSearch, NewContact};
pub use crate::crm::{ContactPage, ContactPatch};
use crate::error::{ApiError, ErrorCode};
use actix_web::{web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/contacts")
            .route(web::get().to(list))
            .route(web::post().to(create)),
    )
    .service(
        web::resource("/contacts/{id}")
            .route(web::get().to(get))
            .route(web::patch().to(update))
            .route(web::delete().to(delete)),
    );
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactQuery {
    /// Contacts with this number, in any common format (`+1 (650) 555-1234`, `16505551234`);
    /// a number without a country code is read in `crm.default_region`.
    pub phone: Option<String>,
    /// Words, each found in a name, the e-mail, the company or (3+ digits) a number; a `q`
    /// that is a whole phone number (`07700 900123`) also finds the contacts with that number.
    /// (Dynamics 365: names, e-mail and numbers.)
    pub q: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[utoipa::path(
    get, path = "/api/v1/contacts", operation_id = "list_contacts", tag = "contacts", security(("bearer" = [])),
    params(ContactQuery),
    responses(
        (status = 200, description = "A page of contacts, most recently updated first", body = ContactPage),
        (status = 400, description = "`invalid_phone`, `invalid_input`, `invalid_cursor`, `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 503, description = "`crm_unavailable`, `crm_rejected`, `crm_auth_failed` (Dynamics 365)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn list(
    user: AnyUser,
    state: Data,
    query: web::Query<ContactQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = query.into_inner();
    let limit = q.limit.unwrap_or(50);
    super::check_range("limit", limit, 1, 200)?;
    let phone = match q.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        Some(raw) => Some(state.crm.normalise(raw).ok_or_else(|| {
            ApiError::bad(
                ErrorCode::InvalidPhone,
                format!("`{raw}` is not a phone number"),
            )
        })?),
        None => None,
    };
    let text =
        q.q.as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string);
    if let Some(t) = &text {
        check_len("q", t, 1, 200)?;
    }
    let mut page = state
        .crm
        .search(ContactSearch {
            phone,
            text,
            limit,
            cursor: q.cursor.filter(|c| !c.is_empty()),
        })
        .await?;
    mask_for(&user, &state, page.items.iter_mut());
    Ok(HttpResponse::Ok().json(page))
}

/// The path's contact id, as the configured CRM names its contacts.
fn contact_id(state: &Data, raw: &str) -> Result<ContactId, ApiError> {
    state.crm.parse_id(raw).ok_or_else(|| {
        ApiError::bad(
            ErrorCode::InvalidPath,
            format!("a contact id is {} here", state.crm.id_shape()),
        )
    })
}

/// An integer for the built-in CRM, a GUID with Dynamics 365.
const ID_PARAM: &str = "Contact id: an integer (built-in CRM) or a GUID (Dynamics 365)";

#[utoipa::path(
    get, path = "/api/v1/contacts/{id}", operation_id = "get_contact", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = ID_PARAM)),
    responses(
        (status = 200, body = Contact),
        (status = 400, description = "`invalid_path` (not an id of the configured CRM)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 503, description = "`crm_unavailable`, `crm_rejected`, `crm_auth_failed` (Dynamics 365)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(
    user: AnyUser,
    state: Data,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = contact_id(&state, &id)?;
    let mut contact = state
        .crm
        .get(&id)
        .await?
        .ok_or(ApiError::NotFound("contact"))?;
    mask_for(&user, &state, std::iter::once(&mut contact));
    Ok(HttpResponse::Ok().json(contact))
}

/// R13: with masking on, agents (and supervisors unless allowed) see contacts' numbers,
/// e-mails and notes masked, as on the desktop.
fn mask_for<'a>(user: &AuthUser, state: &Data, contacts: impl Iterator<Item = &'a mut Contact>) {
    use super::settings::{customer_data_view, CustomerDataView};
    if customer_data_view(user.role, &state.runtime) == CustomerDataView::Masked {
        contacts.for_each(crate::ws::masking::mask_contact);
    }
}

#[utoipa::path(
    post, path = "/api/v1/contacts", operation_id = "create_contact", tag = "contacts", security(("bearer" = [])),
    request_body = NewContact,
    responses(
        (status = 201, description = "Created; `phones` in E.164", body = Contact),
        (status = 400, description = "`invalid_input`, `invalid_phone`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`crm_unsupported`: more than Dynamics 365 keeps (3 numbers, 1 WhatsApp user id)", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 503, description = "`crm_unavailable`, `crm_rejected`, `crm_auth_failed` (Dynamics 365)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    _user: AnyUser,
    state: Data,
    body: super::Json<NewContact>,
) -> Result<HttpResponse, ApiError> {
    let contact = state.crm.create(body.into_inner()).await?;
    Ok(HttpResponse::Created().json(contact))
}

#[utoipa::path(
    patch, path = "/api/v1/contacts/{id}", operation_id = "update_contact", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = ID_PARAM)),
    request_body = ContactPatch,
    responses(
        (status = 200, description = "Updated", body = Contact),
        (status = 400, description = "`invalid_input`, `invalid_phone`, `invalid_path`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 409, description = "`crm_unsupported`: more than Dynamics 365 keeps (3 numbers, 1 WhatsApp user id)", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
        (status = 503, description = "`crm_unavailable`, `crm_rejected`, `crm_auth_failed` (Dynamics 365)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    _user: AnyUser,
    state: Data,
    id: web::Path<String>,
    body: super::Json<ContactPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = contact_id(&state, &id)?;
    let contact = state.crm.update(&id, body.into_inner()).await?;
    Ok(HttpResponse::Ok().json(contact))
}

#[utoipa::path(
    delete, path = "/api/v1/contacts/{id}", operation_id = "delete_contact", tag = "contacts", security(("bearer" = [])),
    params(("id" = String, Path, description = ID_PARAM)),
    responses(
        (status = 204, description = "Deleted: no longer found, its call logs stay (Dynamics 365: deactivated)"),
        (status = 400, description = "`invalid_path` (not an id of the configured CRM)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 503, description = "`crm_unavailable`, `crm_rejected`, `crm_auth_failed` (Dynamics 365)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn delete(
    _user: AnyUser,
    state: Data,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = contact_id(&state, &id)?;
    state.crm.delete(&id).await?;
    Ok(HttpResponse::NoContent().finish())
}
