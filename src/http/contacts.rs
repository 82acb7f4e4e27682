//! `/contacts`: the built-in CRM (numbers in E.164, several per contact). Agent and up.
//! A contact's call logs are `GET /activities?contact_id=`.

use super::roles::AnyUser;
use super::{check_len, double_option, Data};
use crate::auth::AuthUser;
use crate::crm::builtin::Search;
use crate::crm::{Contact, NewContact};
use crate::error::{ApiError, ErrorCode};
use crate::store::contacts;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

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
    /// Words, each found in a name, the e-mail, the company or (3+ digits) a number.
    pub q: Option<String>,
    /// 1 to 200, default 50.
    #[param(minimum = 1, maximum = 200)]
    pub limit: Option<i64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPage {
    /// Most recently updated first.
    pub items: Vec<Contact>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Only the fields given change; `null` clears a field. `phones` replaces the list.
#[derive(Debug, Default, Deserialize, ToSchema)]
pub struct ContactPatch {
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    #[schema(max_items = 10)]
    pub phones: Option<Vec<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
}

impl ContactPatch {
    /// The contact as it will be: `old` with the given fields changed.
    fn applied_to(&self, old: &Contact) -> NewContact {
        let pick = |new: &Option<Option<String>>, old: &Option<String>| match new {
            Some(v) => v.clone(),
            None => old.clone(),
        };
        NewContact {
            first_name: pick(&self.first_name, &old.first_name),
            last_name: pick(&self.last_name, &old.last_name),
            phones: self.phones.clone().unwrap_or_else(|| old.phones.clone()),
            email: pick(&self.email, &old.email),
            company: pick(&self.company, &old.company),
            notes: pick(&self.notes, &old.notes),
        }
    }
}

/// `updated_at.id` of the last contact of a page.
fn cursor_of(c: &Contact) -> Option<String> {
    c.id.local().map(|id| format!("{}.{id}", c.updated_at))
}

fn parse_cursor(cursor: Option<&str>) -> Result<Option<(i64, i64)>, ApiError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    cursor
        .split_once('.')
        .and_then(|(u, id)| Some((u.parse().ok()?, id.parse().ok()?)))
        .map(Some)
        .ok_or_else(|| ApiError::bad(ErrorCode::InvalidCursor, "cursor is not one we gave"))
}

#[utoipa::path(
    get, path = "/api/v1/contacts", operation_id = "list_contacts", tag = "contacts", security(("bearer" = [])),
    params(ContactQuery),
    responses(
        (status = 200, description = "A page of contacts, most recently updated first", body = ContactPage),
        (status = 400, description = "`invalid_phone`, `invalid_input`, `invalid_cursor`, `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
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
    let after = parse_cursor(q.cursor.as_deref())?;
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
    let search = Search {
        phone,
        text,
        limit: limit + 1,
        after,
    };
    let mut items = state
        .store
        .read(move |db| contacts::search(db, &search))
        .await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit as usize);
    let next_cursor = if more {
        items.last().and_then(cursor_of)
    } else {
        None
    };
    mask_for(&user, &state, items.iter_mut());
    Ok(HttpResponse::Ok().json(ContactPage { items, next_cursor }))
}

#[utoipa::path(
    get, path = "/api/v1/contacts/{id}", operation_id = "get_contact", tag = "contacts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact id")),
    responses(
        (status = 200, body = Contact),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn get(user: AnyUser, state: Data, id: web::Path<i64>) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let contact = state
        .store
        .read(move |db| contacts::load(db, id))
        .await?
        .ok_or(ApiError::NotFound("contact"))?;
    let mut contact = contact;
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
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn create(
    _user: AnyUser,
    state: Data,
    body: super::Json<NewContact>,
) -> Result<HttpResponse, ApiError> {
    let valid = body.validate(state.crm.default_region())?;
    let contact = state
        .store
        .write(move |db| {
            let id = contacts::insert(db, &valid)?;
            contacts::load(db, id)
        })
        .await?
        .ok_or(ApiError::NotFound("contact"))?;
    Ok(HttpResponse::Created().json(contact))
}

#[utoipa::path(
    patch, path = "/api/v1/contacts/{id}", operation_id = "update_contact", tag = "contacts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact id")),
    request_body = ContactPatch,
    responses(
        (status = 200, description = "Updated", body = Contact),
        (status = 400, description = "`invalid_input`, `invalid_phone`, `invalid_path`, `invalid_json`", body = super::openapi::ErrorResponse),
        (status = 415, description = "`unsupported_media_type` (not `application/json`)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
        (status = 413, description = "`payload_too_large` (body over 1 MB)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn update(
    _user: AnyUser,
    state: Data,
    id: web::Path<i64>,
    body: super::Json<ContactPatch>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let patch = body.into_inner();
    let region = state.crm.default_region().to_string();
    let contact = state
        .store
        .write(move |db| {
            let old = contacts::load(db, id)?.ok_or(ApiError::NotFound("contact"))?;
            let valid = patch.applied_to(&old).validate(&region)?;
            contacts::replace(db, id, &valid, patch.phones.is_some())?;
            Ok::<_, ApiError>(contacts::load(db, id)?)
        })
        .await?
        .ok_or(ApiError::NotFound("contact"))?;
    Ok(HttpResponse::Ok().json(contact))
}

#[utoipa::path(
    delete, path = "/api/v1/contacts/{id}", operation_id = "delete_contact", tag = "contacts", security(("bearer" = [])),
    params(("id" = i64, Path, description = "Contact id")),
    responses(
        (status = 204, description = "Deleted (its call logs stay)"),
        (status = 400, description = "`invalid_path` (the id is not an integer)", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 404, description = "`not_found`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn delete(
    _user: AnyUser,
    state: Data,
    id: web::Path<i64>,
) -> Result<HttpResponse, ApiError> {
    let id = id.into_inner();
    let deleted = state
        .store
        .write(move |db| contacts::soft_delete(db, id))
        .await?;
    if !deleted {
        return Err(ApiError::NotFound("contact"));
    }
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::ContactId;

    #[test]
    fn cursors_round_trip() {
        let c = Contact {
            id: ContactId::Local(7),
            first_name: None,
            last_name: Some("X".into()),
            phones: vec![],
            email: None,
            company: None,
            notes: None,
            updated_at: 1_700_000_000_000,
        };
        let cursor = cursor_of(&c).unwrap();
        assert_eq!(
            parse_cursor(Some(&cursor)).unwrap(),
            Some((1_700_000_000_000, 7))
        );
        assert!(parse_cursor(Some("nope")).is_err());
        assert!(parse_cursor(Some("1.x")).is_err());
        assert_eq!(parse_cursor(Some("")).unwrap(), None);
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let old = Contact {
            id: ContactId::Local(1),
            first_name: Some("Ann".into()),
            last_name: Some("Lee".into()),
            phones: vec!["+11234567890".into()],
            email: Some("ann@example.com".into()),
            company: Some("Acme".into()),
            notes: None,
            updated_at: 0,
        };
        let patch: ContactPatch =
            serde_json::from_str(r#"{"last_name": null, "company": "Initech"}"#).unwrap();
        let new = patch.applied_to(&old);
        assert_eq!(new.first_name.as_deref(), Some("Ann"));
        assert_eq!(new.last_name, None);
        assert_eq!(new.company.as_deref(), Some("Initech"));
        assert_eq!(new.phones, old.phones);
        assert_eq!(new.email, old.email);
    }
}
