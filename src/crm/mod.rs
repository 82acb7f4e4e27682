//! The CRM: who the customer is (screen pop, R20) and where call logs go (R8).
//!
//! One [`Crm`] per process, with the connector chosen in configuration (`crm.connector`):
//! `builtin` keeps contacts in SQLite; `dynamics365` speaks the Dataverse Web API. The
//! interaction actor uses it through [`Crm::lookup_by_phone`] (or [`Crm::lookup_by_user_id`]
//! for a customer whose number is withheld), [`Crm::get`], [`Crm::create`],
//! [`Crm::add_user_id`] and [`Crm::enqueue_activity`] (in the transaction that closes the
//! interaction; an outbox worker pushes the call log to an external CRM until it is accepted).
//! The contacts API uses [`Crm::search`], [`Crm::get`], [`Crm::create`], [`Crm::update`] and
//! [`Crm::delete`]: contacts live in the configured CRM, whichever it is.
//!
//! A connector failure never blocks a conversation: lookups answer a [`CrmError`] that
//! [`ScreenPop::decide`] turns into a screen pop with an `error` for the agent.
//!
//! The futures of an external connector use `awc`, which is not `Send`: await them in an actix
//! context (a handler, `fut.into_actor(self)`, `actix::spawn`), not in `tokio::spawn`.

pub mod builtin;
pub mod dynamics;
pub mod outbox;

#[cfg(test)]
mod dynamics_mock_tests;

use crate::configuration::Settings;
pub use crate::domain::activity::{ActivityRecord, TranscriptLine};
pub use crate::domain::contact::{is_whatsapp_user_id, Contact, ContactId, ValidContact};
use crate::domain::phone;
use crate::error::ErrorCode;
use crate::store::{Db, Store, StoreError, StoreResult};
use actix::{Actor, Addr};
use serde::{Deserialize, Serialize};
use std::sync::{Arc, OnceLock};
use utoipa::ToSchema;

/// A contact to create (the contacts API's POST body, and `create_contact`'s `contact`).
/// At least one of `first_name`, `last_name` and `phones`.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct NewContact {
    /// Up to 100 characters.
    pub first_name: Option<String>,
    /// Up to 100 characters.
    pub last_name: Option<String>,
    /// Up to 10 numbers, in any common format; stored in E.164. A number without a country
    /// code is read in `crm.default_region`.
    #[serde(default)]
    #[schema(max_items = 10)]
    pub phones: Vec<String>,
    /// Up to 10 WhatsApp business-scoped user ids (BSUIDs): two letters, a dot, up to 128
    /// letters and digits (`US.13491208655302741918`, or `US.ENT.…` for a parent BSUID).
    /// Dynamics 365 keeps one (`crm.dynamics.user_id_field`).
    #[serde(default)]
    #[schema(max_items = 10, example = json!(["US.13491208655302741918"]))]
    pub whatsapp_user_ids: Vec<String>,
    /// Up to 254 characters, `local@domain.tld`.
    pub email: Option<String>,
    /// Up to 200 characters.
    pub company: Option<String>,
    /// Up to 10 000 characters.
    pub notes: Option<String>,
    /// R27: 0 to 9; a conversation from a customer matching this contact gets at least this
    /// priority (higher served first). Null or absent: none. Kept by the built-in CRM only
    /// (Dynamics 365 refuses one with `invalid_input`).
    #[serde(default)]
    #[schema(minimum = 0, maximum = 9)]
    pub priority: Option<i64>,
}

pub const MAX_NAME_CHARS: usize = 100;
pub const MAX_EMAIL_CHARS: usize = 254;
pub const MAX_COMPANY_CHARS: usize = 200;
pub const MAX_NOTES_CHARS: usize = 10_000;
pub const MAX_PHONES: usize = 10;
pub const MAX_USER_IDS: usize = crate::store::contacts::MAX_USER_IDS;
/// A contact's highest priority (R27): 0 to 9.
pub const MAX_PRIORITY: u8 = 9;

impl NewContact {
    /// Checks and normalises. Errors are `invalid_input` or `invalid_phone`, with a message
    /// that names the field.
    pub fn validate(&self, default_region: &str) -> Result<ValidContact, CrmError> {
        let first_name = text("first_name", &self.first_name, MAX_NAME_CHARS)?;
        let last_name = text("last_name", &self.last_name, MAX_NAME_CHARS)?;
        let email = text("email", &self.email, MAX_EMAIL_CHARS)?;
        let company = text("company", &self.company, MAX_COMPANY_CHARS)?;
        let notes = text("notes", &self.notes, MAX_NOTES_CHARS)?;
        if let Some(e) = &email {
            if !email_shaped(e) {
                return Err(CrmError::invalid(format!(
                    "email `{e}` is not an e-mail address (like name@example.com)"
                )));
            }
        }
        if self.phones.len() > MAX_PHONES {
            return Err(CrmError::invalid(format!(
                "a contact has at most {MAX_PHONES} phone numbers"
            )));
        }
        let mut phones: Vec<(String, String)> = Vec::new();
        for raw in &self.phones {
            let e164 = phone::normalise(raw, default_region).ok_or_else(|| CrmError::Invalid {
                code: ErrorCode::InvalidPhone,
                message: format!(
                    "`{raw}` is not a phone number (write it with its country code, like \
                     +1 650 555 1234, or as a number of {default_region})"
                ),
            })?;
            if !phones.iter().any(|(e, _)| *e == e164) {
                phones.push((e164, raw.trim().to_string()));
            }
        }
        if self.whatsapp_user_ids.len() > MAX_USER_IDS {
            return Err(CrmError::invalid(format!(
                "a contact has at most {MAX_USER_IDS} whatsapp_user_ids"
            )));
        }
        let mut whatsapp_user_ids: Vec<String> = Vec::new();
        for raw in &self.whatsapp_user_ids {
            let id = valid_user_id(raw)?;
            if !whatsapp_user_ids.contains(&id) {
                whatsapp_user_ids.push(id);
            }
        }
        let priority = match self.priority {
            None => None,
            Some(p) => Some(
                u8::try_from(p)
                    .ok()
                    .filter(|p| *p <= MAX_PRIORITY)
                    .ok_or_else(|| {
                        CrmError::invalid(format!("priority must be between 0 and {MAX_PRIORITY}"))
                    })?,
            ),
        };
        if first_name.is_none() && last_name.is_none() && phones.is_empty() {
            return Err(CrmError::invalid(
                "a contact needs a first_name, a last_name or a phone number",
            ));
        }
        Ok(ValidContact {
            first_name,
            last_name,
            phones,
            whatsapp_user_ids,
            email,
            company,
            notes,
            priority,
        })
    }
}

/// A trimmed BSUID, or `invalid_input` naming it.
pub fn valid_user_id(raw: &str) -> Result<String, CrmError> {
    let id = raw.trim();
    if is_whatsapp_user_id(id) {
        Ok(id.to_string())
    } else {
        Err(CrmError::invalid(format!(
            "whatsapp_user_ids: `{}` is not a WhatsApp user id (two letters, a dot, up to 128 \
             letters and digits, like US.13491208655302741918)",
            id.chars().take(140).collect::<String>()
        )))
    }
}

/// A change to a contact (the contacts API's PATCH body): only the fields given change;
/// `null` clears a field; `phones` and `whatsapp_user_ids` replace their lists.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
pub struct ContactPatch {
    #[serde(default, deserialize_with = "crate::domain::input::double_option")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::input::double_option")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    #[schema(max_items = 10)]
    pub phones: Option<Vec<String>>,
    #[schema(max_items = 10)]
    pub whatsapp_user_ids: Option<Vec<String>>,
    #[serde(default, deserialize_with = "crate::domain::input::double_option")]
    #[schema(value_type = Option<String>)]
    pub email: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::input::double_option")]
    #[schema(value_type = Option<String>)]
    pub company: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::domain::input::double_option")]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    /// 0 to 9 (R27); `null` clears it.
    #[serde(default, deserialize_with = "crate::domain::input::double_option")]
    #[schema(value_type = Option<i64>, minimum = 0, maximum = 9)]
    pub priority: Option<Option<i64>>,
}

impl ContactPatch {
    /// The contact as it will be: `old` with the given fields changed.
    pub fn applied_to(&self, old: &Contact) -> NewContact {
        let pick = |new: &Option<Option<String>>, old: &Option<String>| match new {
            Some(v) => v.clone(),
            None => old.clone(),
        };
        NewContact {
            first_name: pick(&self.first_name, &old.first_name),
            last_name: pick(&self.last_name, &old.last_name),
            phones: self.phones.clone().unwrap_or_else(|| old.phones.clone()),
            whatsapp_user_ids: self
                .whatsapp_user_ids
                .clone()
                .unwrap_or_else(|| old.whatsapp_user_ids.clone()),
            email: pick(&self.email, &old.email),
            company: pick(&self.company, &old.company),
            notes: pick(&self.notes, &old.notes),
            priority: match self.priority {
                Some(p) => p,
                None => old.priority.map(i64::from),
            },
        }
    }
}

/// The contacts API's list query, checked: what to look for and where the page starts.
#[derive(Debug, Clone, Default)]
pub struct ContactSearch {
    /// E.164: contacts with this number.
    pub phone: Option<String>,
    /// Search words (a whole phone number finds the contacts with it too).
    pub text: Option<String>,
    /// 1 to 200.
    pub limit: i64,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// A page of contacts.
#[derive(Debug, Serialize, ToSchema)]
pub struct ContactPage {
    /// Most recently updated first.
    pub items: Vec<Contact>,
    /// Pass as `cursor` for the next page; null on the last page.
    pub next_cursor: Option<String>,
}

/// Trimmed text, absent when blank, at most `max` characters.
fn text(field: &str, value: &Option<String>, max: usize) -> Result<Option<String>, CrmError> {
    let Some(v) = value.as_deref().map(str::trim).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    if v.chars().count() > max {
        return Err(CrmError::invalid(format!(
            "{field} has at most {max} characters"
        )));
    }
    Ok(Some(v.to_string()))
}

/// `local@domain.tld`, no white space: the shape, not deliverability.
fn email_shaped(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    !local.is_empty()
        && !domain.contains('@')
        && !e.chars().any(|c| c.is_whitespace() || c.is_control())
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains("..")
}

#[derive(Debug, thiserror::Error)]
pub enum CrmError {
    /// Bad input; `code` is `invalid_input` or `invalid_phone`.
    #[error("{message}")]
    Invalid { code: ErrorCode, message: String },
    #[error("contact {0} not found")]
    NotFound(String),
    /// Network error, timeout, 5xx or 429 (after the retries): worth trying again later.
    #[error("the CRM is unavailable: {0}")]
    Unavailable(String),
    /// The CRM refused the request (4xx): trying again will not help.
    #[error("the CRM refused the request: {0}")]
    Rejected(String),
    /// The OAuth token could not be had.
    #[error("could not sign in to the CRM: {0}")]
    Auth(String),
    /// The configured CRM cannot do this (`crm_unsupported`): the message says what and why.
    #[error("{0}")]
    Unsupported(String),
    #[error("the CRM store failed: {0}")]
    Store(#[from] StoreError),
}

impl CrmError {
    pub fn invalid(message: impl Into<String>) -> Self {
        CrmError::Invalid {
            code: ErrorCode::InvalidInput,
            message: message.into(),
        }
    }

    /// A stable snake_case code for the agent desktop and the API.
    pub fn code(&self) -> ErrorCode {
        match self {
            CrmError::Invalid { code, .. } => *code,
            CrmError::NotFound(_) => ErrorCode::NotFound,
            CrmError::Unavailable(_) => ErrorCode::CrmUnavailable,
            CrmError::Rejected(_) => ErrorCode::CrmRejected,
            CrmError::Auth(_) => ErrorCode::CrmAuthFailed,
            CrmError::Unsupported(_) => ErrorCode::CrmUnsupported,
            CrmError::Store(_) => ErrorCode::CrmUnavailable,
        }
    }

    /// Worth retrying later (the outbox keeps the work).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            CrmError::Unavailable(_) | CrmError::Auth(_) | CrmError::Store(_)
        )
    }
}

impl From<CrmError> for crate::error::ApiError {
    fn from(e: CrmError) -> Self {
        use crate::error::ApiError;
        match e {
            CrmError::Invalid { code, message } => ApiError::bad(code, message),
            CrmError::NotFound(_) => ApiError::NotFound("contact"),
            CrmError::Store(s) => s.into(),
            CrmError::Unsupported(message) => {
                ApiError::conflict(ErrorCode::CrmUnsupported, message)
            }
            other => ApiError::Upstream(other.code(), other.to_string()),
        }
    }
}

/// What `screen_pop` shows when the agent accepts (R20).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PopAction {
    /// One contact: show it.
    Pop,
    /// Several and the agent pops none automatically: let the agent pick.
    Select,
    /// None (or the CRM failed): show the new-contact form.
    NewContact,
}

/// The `screen_pop` contents, without the interaction id.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScreenPop {
    pub action: PopAction,
    /// The popped contact, or null.
    pub contact: Option<Contact>,
    /// Every match, most recently updated first.
    pub matches: Vec<Contact>,
    /// Set when the CRM could not be asked: what the agent should know.
    pub error: Option<String>,
}

impl ScreenPop {
    /// R20: no match → `new_contact`; one → `pop`; several → `pop` of the first (most recently
    /// updated) if `auto_multi_match_pop`, else `select`. A failed lookup → `new_contact`
    /// with the error, and the conversation goes on.
    pub fn decide(lookup: Result<Vec<Contact>, CrmError>, auto_multi_match_pop: bool) -> Self {
        match lookup {
            Err(e) => ScreenPop {
                action: PopAction::NewContact,
                contact: None,
                matches: Vec::new(),
                error: Some(format!("CRM lookup failed: {e}")),
            },
            Ok(matches) => {
                let (action, contact) = match matches.len() {
                    0 => (PopAction::NewContact, None),
                    1 => (PopAction::Pop, matches.first().cloned()),
                    _ if auto_multi_match_pop => (PopAction::Pop, matches.first().cloned()),
                    _ => (PopAction::Select, None),
                };
                ScreenPop {
                    action,
                    contact,
                    matches,
                    error: None,
                }
            }
        }
    }

    /// The contact the interaction is linked to: the popped one, or else the first match.
    pub fn linked(&self) -> Option<&Contact> {
        self.contact.as_ref().or(self.matches.first())
    }
}

enum Connector {
    Builtin,
    Dynamics(Box<dynamics::Dynamics>),
}

/// The configured CRM. Shared (`Arc<Crm>`) by handlers and actors.
pub struct Crm {
    connector: Connector,
    store: Store,
    default_region: String,
    /// The outbox worker, once started: woken when a call log was queued.
    outbox: OnceLock<Addr<outbox::CrmOutbox>>,
    retry_base_ms: u64,
    retry_max_ms: u64,
}

impl Crm {
    pub fn from_settings(settings: &Settings, store: Store) -> anyhow::Result<Crm> {
        let crm = &settings.crm;
        let connector = match crm.connector.as_str() {
            "builtin" => Connector::Builtin,
            "dynamics365" => Connector::Dynamics(Box::new(dynamics::Dynamics::new(
                dynamics::DynamicsConfig::from_settings(crm)?,
            ))),
            other => anyhow::bail!("unknown crm.connector `{other}`"),
        };
        Ok(Crm {
            connector,
            store,
            default_region: crm.default_region.clone(),
            outbox: OnceLock::new(),
            retry_base_ms: crm.retry_base_ms.max(1),
            retry_max_ms: crm.outbox_retry_max_ms.max(crm.retry_base_ms.max(1)),
        })
    }

    /// `builtin` or `dynamics365`.
    pub fn name(&self) -> &'static str {
        match self.connector {
            Connector::Builtin => "builtin",
            Connector::Dynamics(_) => "dynamics365",
        }
    }

    pub fn default_region(&self) -> &str {
        &self.default_region
    }

    /// E.164 of a number typed by a person (`crm.default_region` when it has no country code).
    pub fn normalise(&self, raw: &str) -> Option<String> {
        phone::normalise(raw, &self.default_region)
    }

    /// Contacts with this number (E.164, e.g. from [`phone::from_wa_id`]), most recently
    /// updated first: every contact whose number, however it was written, is this one.
    pub async fn lookup_by_phone(&self, e164: &str) -> Result<Vec<Contact>, CrmError> {
        match &self.connector {
            Connector::Builtin => builtin::lookup_by_phone(&self.store, e164).await,
            Connector::Dynamics(d) => d.lookup_by_phone(e164).await,
        }
    }

    /// Contacts with this WhatsApp business-scoped user id (BSUID), most recently updated
    /// first: the screen pop of a customer whose number is withheld (R21). Fails like
    /// [`Crm::lookup_by_phone`] (the same errors, so the same breaker applies); an id that is
    /// not a BSUID finds nothing, and so does Dynamics 365 without `crm.dynamics.user_id_field`.
    pub async fn lookup_by_user_id(&self, user_id: &str) -> Result<Vec<Contact>, CrmError> {
        let user_id = user_id.trim();
        if !is_whatsapp_user_id(user_id) {
            return Ok(Vec::new());
        }
        match &self.connector {
            Connector::Builtin => builtin::lookup_by_user_id(&self.store, user_id).await,
            Connector::Dynamics(d) => d.lookup_by_user_id(user_id).await,
        }
    }

    /// The screen pop lookup (R20, R21): by number when the customer's number is known, else
    /// by BSUID; nothing to look up finds nothing.
    pub async fn lookup_customer(
        &self,
        e164: Option<&str>,
        user_id: Option<&str>,
    ) -> Result<Vec<Contact>, CrmError> {
        match (e164, user_id) {
            (Some(e164), _) => self.lookup_by_phone(e164).await,
            (None, Some(user_id)) => self.lookup_by_user_id(user_id).await,
            (None, None) => Ok(Vec::new()),
        }
    }

    /// Adds a WhatsApp user id (BSUID) to a contact, so that the customer's next conversation
    /// pops it even without a number: for an agent who links or creates a contact from a
    /// conversation whose customer has one. Answers the contact as it is now. The built-in CRM
    /// keeps up to 10 per contact (the oldest goes); Dynamics 365 keeps one, in
    /// `crm.dynamics.user_id_field` (this one replaces it; without the field, `crm_unsupported`).
    /// `invalid_input` for an id that is not a BSUID, `NotFound` for no such contact.
    pub async fn add_user_id(
        &self,
        contact_id: &ContactId,
        user_id: &str,
    ) -> Result<Contact, CrmError> {
        let user_id = valid_user_id(user_id)?;
        match (&self.connector, contact_id) {
            (Connector::Builtin, ContactId::Local(id)) => {
                builtin::add_user_id(&self.store, *id, user_id).await
            }
            (Connector::Dynamics(d), ContactId::External(id)) => d.add_user_id(id, &user_id).await,
            _ => Err(CrmError::NotFound(contact_id.to_string())),
        }
    }

    /// True when contacts keep WhatsApp user ids: always for the built-in CRM, for Dynamics
    /// 365 when `crm.dynamics.user_id_field` names its column.
    pub fn keeps_user_ids(&self) -> bool {
        match &self.connector {
            Connector::Builtin => true,
            Connector::Dynamics(d) => d.config().user_id_field.is_some(),
        }
    }

    /// A contact id as the contacts API's path names it: an integer for the built-in CRM, a
    /// GUID for Dynamics 365. `None` when it cannot be one of this CRM's ids.
    pub fn parse_id(&self, raw: &str) -> Option<ContactId> {
        match &self.connector {
            Connector::Builtin => raw.trim().parse().ok().map(ContactId::Local),
            Connector::Dynamics(_) => dynamics::parse_guid(raw).map(ContactId::External),
        }
    }

    /// What a contact id of this CRM looks like, for error messages.
    pub fn id_shape(&self) -> &'static str {
        match &self.connector {
            Connector::Builtin => "an integer",
            Connector::Dynamics(_) => "a Dynamics 365 contact GUID",
        }
    }

    /// A page of contacts, most recently updated first (the contacts API's list).
    pub async fn search(&self, search: ContactSearch) -> Result<ContactPage, CrmError> {
        match &self.connector {
            Connector::Builtin => builtin::search(&self.store, search, &self.default_region).await,
            Connector::Dynamics(d) => d.search(&search).await,
        }
    }

    /// The contact with this id, if it exists. An id of the other kind finds nothing.
    pub async fn get(&self, id: &ContactId) -> Result<Option<Contact>, CrmError> {
        match (&self.connector, id) {
            (Connector::Builtin, ContactId::Local(id)) => builtin::get(&self.store, *id).await,
            (Connector::Dynamics(d), ContactId::External(id)) => d.get(id).await,
            _ => Ok(None),
        }
    }

    /// Creates a contact (checked first: `CrmError::Invalid` for bad input).
    pub async fn create(&self, new: NewContact) -> Result<Contact, CrmError> {
        let valid = new.validate(&self.default_region)?;
        match &self.connector {
            Connector::Builtin => builtin::create(&self.store, valid).await,
            Connector::Dynamics(d) => d.create(&valid).await,
        }
    }

    /// Changes a contact: the patch applied to it as it is, checked like a new contact.
    /// `NotFound` for no such contact.
    pub async fn update(&self, id: &ContactId, patch: ContactPatch) -> Result<Contact, CrmError> {
        match (&self.connector, id) {
            (Connector::Builtin, ContactId::Local(id)) => {
                builtin::update(&self.store, *id, patch, self.default_region.clone()).await
            }
            (Connector::Dynamics(d), ContactId::External(id)) => {
                let old = d
                    .get(id)
                    .await?
                    .ok_or_else(|| CrmError::NotFound(id.clone()))?;
                let mut new = patch.applied_to(&old);
                if patch.phones.is_none() {
                    // Numbers not named stay as they are written in Dynamics, readable here
                    // or not: only a number given is checked.
                    new.phones.retain(|p| self.normalise(p).is_some());
                }
                let valid = new.validate(&self.default_region)?;
                d.update(id, &old, &valid, &patch).await
            }
            _ => Err(CrmError::NotFound(id.to_string())),
        }
    }

    /// Deletes a contact: it no longer matches and its call logs stay (the built-in CRM marks
    /// it deleted; Dynamics 365 deactivates it). `NotFound` for no such (live) contact.
    pub async fn delete(&self, id: &ContactId) -> Result<(), CrmError> {
        match (&self.connector, id) {
            (Connector::Builtin, ContactId::Local(id)) => builtin::delete(&self.store, *id).await,
            (Connector::Dynamics(d), ContactId::External(id)) => d.deactivate(id).await,
            _ => Err(CrmError::NotFound(id.to_string())),
        }
    }

    /// True when call logs must be pushed to an external CRM (the built-in CRM reads them
    /// from the `activities` table).
    pub fn pushes_activities(&self) -> bool {
        !matches!(self.connector, Connector::Builtin)
    }

    /// Queues a call log for the external CRM, in the caller's transaction (the one that saves
    /// the activity, so neither exists without the other). Nothing to do for `builtin`. Call
    /// [`Crm::activity_enqueued`] after the commit. `activity` is built only when it is pushed.
    pub fn enqueue_activity(
        &self,
        db: &Db,
        activity: impl FnOnce() -> ActivityRecord,
    ) -> StoreResult<()> {
        if !self.pushes_activities() {
            return Ok(());
        }
        outbox::enqueue(db, &activity())
    }

    /// Wakes the outbox worker (after a commit that queued a call log).
    pub fn activity_enqueued(&self) {
        if let Some(worker) = self.outbox.get() {
            worker.do_send(outbox::Kick);
        }
    }

    /// Queues a call log in its own transaction and wakes the worker: for a caller that saved
    /// the activity already. Nothing to do for `builtin`.
    pub async fn save_activity(&self, activity: ActivityRecord) -> Result<(), CrmError> {
        if !self.pushes_activities() {
            return Ok(());
        }
        self.store
            .write(move |db| outbox::enqueue(db, &activity))
            .await?;
        self.activity_enqueued();
        Ok(())
    }

    /// Sends a call log to the external CRM now (the outbox worker's call). `activity_id` is
    /// the GUID the activity gets there, the same for every retry.
    pub async fn push_activity(
        &self,
        activity_id: &str,
        activity: &ActivityRecord,
    ) -> Result<(), CrmError> {
        match &self.connector {
            Connector::Builtin => Ok(()),
            Connector::Dynamics(d) => d.save_activity(activity_id, activity).await,
        }
    }

    /// Starts the outbox worker on the current actix arbiter (no-op for `builtin`).
    pub fn start_outbox(self: &Arc<Self>) {
        if self.pushes_activities() {
            let worker = outbox::CrmOutbox::new(self).start();
            if self.outbox.set(worker).is_err() {
                tracing::warn!("the CRM outbox was started twice");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: i64) -> Contact {
        Contact {
            id: ContactId::Local(id),
            first_name: Some(format!("C{id}")),
            last_name: None,
            phones: vec!["+11234567890".into()],
            whatsapp_user_ids: vec![],
            email: None,
            company: None,
            notes: None,
            priority: None,
            updated_at: 0,
        }
    }

    #[test]
    fn screen_pop_follows_r20() {
        let none = ScreenPop::decide(Ok(vec![]), true);
        assert_eq!(none.action, PopAction::NewContact);
        assert!(none.contact.is_none() && none.linked().is_none());

        let one = ScreenPop::decide(Ok(vec![contact(1)]), false);
        assert_eq!(one.action, PopAction::Pop);
        assert_eq!(one.contact, Some(contact(1)));

        let several = ScreenPop::decide(Ok(vec![contact(2), contact(1)]), true);
        assert_eq!(several.action, PopAction::Pop);
        assert_eq!(several.contact, Some(contact(2)));
        assert_eq!(several.matches.len(), 2);

        let pick = ScreenPop::decide(Ok(vec![contact(2), contact(1)]), false);
        assert_eq!(pick.action, PopAction::Select);
        assert!(pick.contact.is_none());
        assert_eq!(
            pick.linked(),
            Some(&contact(2)),
            "linked to the first match"
        );

        let failed = ScreenPop::decide(Err(CrmError::Unavailable("HTTP 503".into())), true);
        assert_eq!(failed.action, PopAction::NewContact);
        assert!(failed.error.as_deref().unwrap().contains("503"));
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let old = Contact {
            company: Some("Acme".into()),
            email: Some("ann@example.com".into()),
            whatsapp_user_ids: vec!["US.1".into()],
            ..contact(1)
        };
        let patch: ContactPatch =
            serde_json::from_str(r#"{"last_name": null, "company": "Initech"}"#).unwrap();
        let new = patch.applied_to(&old);
        assert_eq!(new.first_name, old.first_name);
        assert_eq!(new.last_name, None);
        assert_eq!(new.company.as_deref(), Some("Initech"));
        assert_eq!(new.phones, old.phones);
        assert_eq!(new.whatsapp_user_ids, old.whatsapp_user_ids);
        assert_eq!(new.email, old.email);
        let patch: ContactPatch = serde_json::from_str(r#"{"whatsapp_user_ids": []}"#).unwrap();
        assert!(patch.applied_to(&old).whatsapp_user_ids.is_empty());
    }

    #[test]
    fn a_priority_is_0_to_9_kept_unless_named_and_cleared_by_null() {
        let named = |priority: Option<i64>| NewContact {
            first_name: Some("Ann".into()),
            priority,
            ..Default::default()
        };
        assert_eq!(named(None).validate("US").unwrap().priority, None);
        for ok in [0, 7, 9] {
            assert_eq!(
                named(Some(ok)).validate("US").unwrap().priority,
                Some(ok as u8)
            );
        }
        for bad in [-1, 10, 256, i64::MAX] {
            let e = named(Some(bad)).validate("US").unwrap_err();
            assert_eq!(e.code().as_str(), "invalid_input", "{bad}");
            assert_eq!(e.to_string(), "priority must be between 0 and 9");
        }
        let body: NewContact = serde_json::from_str(r#"{"first_name": "Ann"}"#).unwrap();
        assert_eq!(body.priority, None, "absent");

        let old = Contact {
            priority: Some(5),
            ..contact(1)
        };
        let patch = |json: &str| serde_json::from_str::<ContactPatch>(json).unwrap();
        assert_eq!(
            patch(r#"{"company": "X"}"#).applied_to(&old).priority,
            Some(5)
        );
        assert_eq!(
            patch(r#"{"priority": null}"#).applied_to(&old).priority,
            None
        );
        assert_eq!(
            patch(r#"{"priority": 8}"#).applied_to(&old).priority,
            Some(8)
        );
        assert_eq!(
            serde_json::to_value(&old).unwrap()["priority"],
            5,
            "shown as `priority`"
        );
    }

    #[test]
    fn whatsapp_user_ids_are_checked_and_kept_once() {
        let ok = NewContact {
            first_name: Some("Ann".into()),
            whatsapp_user_ids: vec![
                " US.13491208655302741918 ".into(),
                "US.13491208655302741918".into(),
                "US.ENT.11815799212886844830".into(),
            ],
            ..Default::default()
        }
        .validate("US")
        .unwrap();
        assert_eq!(
            ok.whatsapp_user_ids,
            vec!["US.13491208655302741918", "US.ENT.11815799212886844830"]
        );
        for bad in [vec!["13491208655302741918".to_string()], vec!["US.".into()]] {
            let e = NewContact {
                first_name: Some("Ann".into()),
                whatsapp_user_ids: bad.clone(),
                ..Default::default()
            }
            .validate("US")
            .unwrap_err();
            assert_eq!(e.code().as_str(), "invalid_input", "{bad:?}");
            assert!(e.to_string().contains("whatsapp_user_ids"), "{e}");
        }
        let e = NewContact {
            first_name: Some("Ann".into()),
            whatsapp_user_ids: (0..11).map(|i| format!("US.{i}")).collect(),
            ..Default::default()
        }
        .validate("US")
        .unwrap_err();
        assert!(e.to_string().contains("at most 10"), "{e}");
        // A BSUID alone does not make a contact: it needs a name or a number too.
        let e = NewContact {
            whatsapp_user_ids: vec!["US.1".into()],
            ..Default::default()
        }
        .validate("US")
        .unwrap_err();
        assert_eq!(e.code().as_str(), "invalid_input");
    }

    #[test]
    fn contact_ids_are_numbers_or_strings_in_json() {
        assert_eq!(serde_json::to_string(&ContactId::Local(7)).unwrap(), "7");
        assert_eq!(
            serde_json::from_str::<ContactId>("\"a-guid\"").unwrap(),
            ContactId::External("a-guid".into())
        );
        assert_eq!(
            serde_json::from_str::<ContactId>("7").unwrap(),
            ContactId::Local(7)
        );
        let json = serde_json::to_value(contact(3)).unwrap();
        assert_eq!(json["id"], 3);
        assert_eq!(json["updated_at"], "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn validation() {
        let ok = NewContact {
            first_name: Some("  Ann ".into()),
            phones: vec!["+1 (123) 456-7890".into(), "11234567890".into()],
            email: Some("ann@example.com".into()),
            notes: Some("   ".into()),
            ..Default::default()
        }
        .validate("US")
        .unwrap();
        assert_eq!(ok.first_name.as_deref(), Some("Ann"));
        assert_eq!(
            ok.e164s(),
            vec!["+11234567890"],
            "one number, written twice"
        );
        assert_eq!(ok.notes, None);

        let code = |n: NewContact| n.validate("US").unwrap_err().code().as_str();
        assert_eq!(code(NewContact::default()), "invalid_input");
        assert_eq!(
            code(NewContact {
                phones: vec!["12".into()],
                ..Default::default()
            }),
            "invalid_phone"
        );
        for bad in [
            "ann",
            "ann@",
            "@x.com",
            "ann@x",
            "a b@x.com",
            "a@x..com",
            "a@b@c.com",
        ] {
            assert_eq!(
                code(NewContact {
                    last_name: Some("B".into()),
                    email: Some(bad.into()),
                    ..Default::default()
                }),
                "invalid_input",
                "{bad}"
            );
        }
        assert_eq!(
            code(NewContact {
                first_name: Some("x".repeat(101)),
                ..Default::default()
            }),
            "invalid_input"
        );
        assert_eq!(
            code(NewContact {
                phones: (0..11).map(|i| format!("+1650555{i:04}")).collect(),
                ..Default::default()
            }),
            "invalid_input"
        );
    }

    #[test]
    fn activity_text() {
        let a = ActivityRecord {
            interaction_id: 1,
            contact_id: None,
            customer_name: "Ann".into(),
            customer_phone: "+11234567890".into(),
            customer_username: None,
            customer_user_id: None,
            source_number: "+15550100".into(),
            queue_name: "Sales".into(),
            agents: vec!["Bob".into()],
            initiated_at: 0,
            accepted_at: Some(1000),
            terminated_at: Some(2000),
            wrapped_up_at: 3000,
            disposition: Some("sale".into()),
            transcript: vec![TranscriptLine {
                sent_at: 0,
                author: "Ann".into(),
                text: "Hello".into(),
            }],
            outbound: false,
        };
        assert_eq!(
            a.subject(),
            "WhatsApp conversation with Ann (+11234567890) [sale]"
        );
        let d = a.description();
        assert!(d.contains("[1970-01-01T00:00:00.000Z] Ann: Hello"), "{d}");
        assert!(d.contains("Agents: Bob") && d.contains("Disposition: sale"));
        assert_eq!(a.ended_at(), 2000);
    }
}
