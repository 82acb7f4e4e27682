//! Dynamics 365 through the Dataverse Web API (OData v4, `{base_url}/api/data/v9.2/`).
//!
//! Sign-in is OAuth 2.0 client credentials; the token is kept until a minute before it
//! expires, and a 401 drops it and tries once more with a new one. Network errors, 5xx and 429
//! are tried `crm.retry_attempts` times with doubling backoff; any other 4xx is an error at once,
//! with the Web API's own message (`{"error": {"code", "message"}}`).

use super::{
    ActivityRecord, Contact, ContactId, ContactPage, ContactPatch, ContactSearch, CrmError,
    ValidContact,
};
use crate::configuration::CrmSettings;
use crate::domain::error_code::ErrorCode;
use crate::domain::phone;
use crate::domain::time::now_ms;
use awc::http::Method;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::cell::OnceCell;
use std::time::{Duration, Instant};

/// The Web API's path under the organisation's URL.
pub const API_PATH: &str = "/api/data/v9.2";
/// A token is renewed this long before it expires.
const TOKEN_MARGIN: Duration = Duration::from_secs(60);
/// Most contacts one lookup answers (before the numbers are confirmed here).
const LOOKUP_TOP: usize = 50;
/// The contact's phone columns, in the order numbers are written to them.
const PHONE_FIELDS: [&str; 3] = ["telephone1", "mobilephone", "telephone2"];
/// Most words of a `?q=` search that are used (as in the built-in CRM).
const MAX_SEARCH_WORDS: usize = 5;
/// A contact's `statecode`: 0 active, 1 inactive (a deleted contact is deactivated).
const CONTACT_ACTIVE: i64 = 0;
const CONTACT_INACTIVE: i64 = 1;
/// The inactive contact's `statuscode`.
const CONTACT_STATUS_INACTIVE: i64 = 2;
/// A phone call's `statecode` Completed, and its `statuscode` Made (outgoing) or Received
/// (incoming): a call log is a call that happened, not one to make.
const ACTIVITY_COMPLETED: i64 = 1;
const PHONECALL_MADE: i64 = 2;
const PHONECALL_RECEIVED: i64 = 4;
/// `participationtypemask` of an activity party: the call's sender, or its recipient.
const PARTY_SENDER: i64 = 1;
const PARTY_TO_RECIPIENT: i64 = 2;
/// Largest answer read.
const MAX_ANSWER_BYTES: usize = 4 * 1024 * 1024;
/// Longest `Retry-After` honoured within one call (the outbox retries later anyway).
const MAX_RETRY_AFTER: Duration = Duration::from_secs(10);
/// The contact columns read (and `crm.dynamics.user_id_field` when it is set).
const CONTACT_SELECT: &str = "contactid,firstname,lastname,emailaddress1,telephone1,mobilephone,\
                              telephone2,description,modifiedon,statecode,_parentcustomerid_value";
/// A company the contact was created with, kept at the head of its description (a contact's
/// company in Dataverse is a link to an account).
const COMPANY_LINE: &str = "Company: ";
/// Formatted values carry the parent account's name (the contact's company).
const PREFER_FORMATTED: &str =
    "odata.include-annotations=\"OData.Community.Display.V1.FormattedValue\"";

#[derive(Debug, Clone)]
pub struct DynamicsConfig {
    /// `{base_url}/api/data/v9.2`, no trailing slash.
    pub api_url: String,
    pub token_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub scope: String,
    /// Entity set of the call log (`phonecalls`).
    pub activity_entity: String,
    /// Its logical name (`phonecall`).
    pub activity_logical_name: String,
    /// To read numbers stored without a country code.
    pub default_region: String,
    /// The contact column that keeps the customer's WhatsApp user id (BSUID), when there is
    /// one (`crm.dynamics.user_id_field`).
    pub user_id_field: Option<String>,
    pub timeout: Duration,
    pub attempts: u32,
    pub retry_base: Duration,
}

impl DynamicsConfig {
    pub fn from_settings(crm: &CrmSettings) -> anyhow::Result<Self> {
        let d = &crm.dynamics;
        let need = |key: &str, v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .map(str::to_string)
                .ok_or_else(|| anyhow::anyhow!("crm.dynamics.{key} is required for dynamics365"))
        };
        let base = need("base_url", &d.base_url)?;
        let base = base.trim_end_matches('/');
        let scope = d
            .scope
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .map(str::to_string)
            .unwrap_or_else(|| format!("{base}/.default"));
        Ok(DynamicsConfig {
            api_url: format!("{base}{API_PATH}"),
            token_url: need("token_url", &d.token_url)?,
            client_id: need("client_id", &d.client_id)?,
            client_secret: need("client_secret", &d.client_secret)?,
            scope,
            activity_entity: d.activity_entity.trim().to_string(),
            activity_logical_name: d.activity_logical_name.trim().to_string(),
            default_region: crm.default_region.clone(),
            user_id_field: d
                .user_id_field
                .as_deref()
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .map(str::to_string),
            timeout: Duration::from_millis(crm.request_timeout_ms),
            attempts: crm.retry_attempts.max(1),
            retry_base: Duration::from_millis(crm.retry_base_ms),
        })
    }
}

struct Token {
    value: String,
    renew_at: Instant,
}

pub struct Dynamics {
    config: DynamicsConfig,
    /// `$select` of a contact.
    select: String,
    /// Held while a token is fetched, so concurrent calls wait for one sign-in.
    token: tokio::sync::Mutex<Option<Token>>,
}

/// A request to the Web API (path under `api_url`, with its query).
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    prefer: Option<String>,
    /// `If-Match: *`: a PATCH changes the record if it exists, and never creates one (an
    /// upsert would).
    existing_only: bool,
}

impl Call {
    fn get(path: String) -> Self {
        Call {
            method: Method::GET,
            path,
            body: None,
            prefer: Some(PREFER_FORMATTED.to_string()),
            existing_only: false,
        }
    }

    /// A PATCH of an existing record that answers the record as it is after the change.
    fn update(path: String, body: Value) -> Self {
        Call {
            method: Method::PATCH,
            path,
            body: Some(body),
            prefer: Some(format!("return=representation,{PREFER_FORMATTED}")),
            existing_only: true,
        }
    }
}

/// A successful answer.
struct Answer {
    entity_id: Option<String>,
    body: Vec<u8>,
}

/// What one try came to.
enum Try {
    Done(Answer),
    Unauthorized,
    /// Worth another try after `wait` (or the usual backoff).
    Again(String, Option<Duration>),
    Failed(CrmError),
}

thread_local! {
    // awc's client lives on one thread (it is not `Send`): one per arbiter thread.
    static CLIENT: OnceCell<awc::Client> = const { OnceCell::new() };
}

fn client() -> awc::Client {
    CLIENT.with(|c| {
        c.get_or_init(|| {
            // rustls needs a process-wide crypto provider; losing a race to another installer is fine.
            let _ = rustls::crypto::ring::default_provider().install_default();
            awc::Client::builder().finish()
        })
        .clone()
    })
}

impl Dynamics {
    pub fn new(config: DynamicsConfig) -> Self {
        let select = match &config.user_id_field {
            Some(field) => format!("{CONTACT_SELECT},{field}"),
            None => CONTACT_SELECT.to_string(),
        };
        Dynamics {
            config,
            select,
            token: tokio::sync::Mutex::new(None),
        }
    }

    pub fn config(&self) -> &DynamicsConfig {
        &self.config
    }

    /// Active contacts whose `telephone1`, `mobilephone` or `telephone2` holds this number
    /// in any common writing, most recently modified first. One request of at most
    /// [`LOOKUP_TOP`] candidates ([`phone_filter`]); each is confirmed here by reading its
    /// numbers ([`phone::normalise_stored`] in `default_region`), so a number that only ends like
    /// this one is dropped.
    pub async fn lookup_by_phone(&self, e164: &str) -> Result<Vec<Contact>, CrmError> {
        let Some(numbers) = phone_filter(e164, &self.config.default_region) else {
            return Ok(Vec::new());
        };
        let filter = format!("statecode eq {CONTACT_ACTIVE} and ({numbers})");
        let found = self.query(&filter, LOOKUP_TOP).await?;
        Ok(found
            .into_iter()
            .filter(|c| c.phones.iter().any(|p| p == e164))
            .collect())
    }

    /// Active contacts whose `user_id_field` is this BSUID, most recently modified first.
    /// Nothing without the field.
    pub async fn lookup_by_user_id(&self, user_id: &str) -> Result<Vec<Contact>, CrmError> {
        let Some(field) = &self.config.user_id_field else {
            return Ok(Vec::new());
        };
        let filter = format!(
            "statecode eq {CONTACT_ACTIVE} and {field} eq {}",
            odata_string(user_id)
        );
        let found = self.query(&filter, LOOKUP_TOP).await?;
        // Dataverse compares text without case; a BSUID is matched exactly.
        Ok(found
            .into_iter()
            .filter(|c| c.whatsapp_user_ids.iter().any(|u| u == user_id))
            .collect())
    }

    /// Contacts matching `filter`, most recently modified first, at most `top` of them.
    async fn query(&self, filter: &str, top: usize) -> Result<Vec<Contact>, CrmError> {
        let path = format!(
            "/contacts?$select={}&$filter={}&$orderby={}&$top={top}",
            self.select,
            encode(filter),
            encode("modifiedon desc")
        );
        let answer = self.call(Call::get(path)).await?;
        let list: Collection = parse(&answer.body)?;
        Ok(list
            .value
            .iter()
            .filter_map(|v| self.contact_from(v))
            .collect())
    }

    /// A page of active contacts for the contacts API, most recently modified first, paged
    /// the Web API's way (`Prefer: odata.maxpagesize`, then its `@odata.nextLink`, which the
    /// cursor carries). `phone` is [`phone_filter`] with the numbers confirmed as in a lookup;
    /// each word of `text` is found in the first or last name, the e-mail or (a word with 3
    /// or more digits) a number, and a text that is a whole number finds its contacts too.
    pub async fn search(&self, search: &ContactSearch) -> Result<ContactPage, CrmError> {
        let path = match search.cursor.as_deref().filter(|c| !c.is_empty()) {
            Some(cursor) => cursor_path(cursor).ok_or_else(|| CrmError::Invalid {
                code: ErrorCode::InvalidCursor,
                message: "cursor is not one we gave".into(),
            })?,
            None => {
                let filter = self.search_filter(search);
                format!(
                    "/contacts?$select={}&$filter={}&$orderby={}",
                    self.select,
                    encode(&filter),
                    encode("modifiedon desc,contactid desc")
                )
            }
        };
        let mut call = Call::get(path);
        call.prefer = Some(format!(
            "odata.maxpagesize={},{PREFER_FORMATTED}",
            search.limit.max(1)
        ));
        let answer = self.call(call).await?;
        let page: Collection = parse(&answer.body)?;
        let mut items: Vec<Contact> = page
            .value
            .iter()
            .filter_map(|v| self.contact_from(v))
            .collect();
        if let Some(e164) = &search.phone {
            items.retain(|c| c.phones.contains(e164));
        }
        let next_cursor = page
            .next_link
            .as_deref()
            .and_then(|link| self.link_path(link))
            .map(|path| hex::encode(path.as_bytes()));
        Ok(ContactPage { items, next_cursor })
    }

    fn search_filter(&self, search: &ContactSearch) -> String {
        let mut all = vec![format!("statecode eq {CONTACT_ACTIVE}")];
        if let Some(numbers) = search
            .phone
            .as_deref()
            .and_then(|e164| phone_filter(e164, &self.config.default_region))
        {
            all.push(format!("({numbers})"));
        }
        if let Some(text) = search.text.as_deref().filter(|t| !t.trim().is_empty()) {
            let words: Vec<String> = text
                .split_whitespace()
                .take(MAX_SEARCH_WORDS)
                .map(word_filter)
                .collect();
            let mut any = words.join(" and ");
            if let Some(numbers) = phone::normalise(text, &self.config.default_region)
                .and_then(|e164| phone_filter(&e164, &self.config.default_region))
            {
                any = format!("({any}) or {numbers}");
            }
            all.push(format!("({any})"));
        }
        all.join(" and ")
    }

    /// The path under `api_url` of an `@odata.nextLink`, if it is a page of contacts.
    fn link_path(&self, link: &str) -> Option<String> {
        let path = link
            .strip_prefix(&self.config.api_url)
            .or_else(|| link.find(API_PATH).map(|i| &link[i + API_PATH.len()..]))?;
        path.starts_with("/contacts?").then(|| path.to_string())
    }

    /// The contact with this GUID, if there is an active one.
    pub async fn get(&self, id: &str) -> Result<Option<Contact>, CrmError> {
        let Some(id) = parse_guid(id) else {
            return Ok(None);
        };
        let path = format!("/contacts({id})?$select={}", self.select);
        match self.call(Call::get(path)).await {
            Ok(answer) => {
                let v = parse::<Value>(&answer.body)?;
                if v["statecode"].as_i64() == Some(CONTACT_INACTIVE) {
                    return Ok(None);
                }
                Ok(self.contact_from(&v))
            }
            Err(CrmError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// What Dataverse cannot keep of a contact: a priority (R27: no such column; refused as
    /// `invalid_input`), more than three numbers (it has three phone columns), more than one
    /// WhatsApp user id, or any without `user_id_field`.
    fn check_fits(&self, contact: &ValidContact) -> Result<(), CrmError> {
        if contact.priority.is_some() {
            return Err(CrmError::invalid(
                "priority is kept by the built-in CRM only",
            ));
        }
        if contact.phones.len() > PHONE_FIELDS.len() {
            return Err(CrmError::Unsupported(format!(
                "contacts live in Dynamics 365, which keeps at most {} numbers per contact \
                 (telephone1, mobilephone, telephone2); this one has {}",
                PHONE_FIELDS.len(),
                contact.phones.len()
            )));
        }
        match (&self.config.user_id_field, contact.whatsapp_user_ids.len()) {
            (_, 0) => Ok(()),
            (None, _) => Err(CrmError::Unsupported(
                "contacts live in Dynamics 365, where WhatsApp user ids are kept only when \
                 crm.dynamics.user_id_field names the contact column for them"
                    .into(),
            )),
            (Some(_), 1) => Ok(()),
            (Some(field), n) => Err(CrmError::Unsupported(format!(
                "contacts live in Dynamics 365, which keeps one WhatsApp user id per contact \
                 (in {field}); this one has {n}"
            ))),
        }
    }

    /// Creates a contact: numbers go to `telephone1`, `mobilephone`, `telephone2` (in that
    /// order), the notes to `description`, the WhatsApp user id to `user_id_field`. A company
    /// name heads the description (the contact's company is a link to an account in
    /// Dataverse). More than Dataverse can keep is refused (`crm_unsupported`).
    pub async fn create(&self, contact: &ValidContact) -> Result<Contact, CrmError> {
        self.check_fits(contact)?;
        let mut body = Map::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                body.insert(k.to_string(), Value::String(v.clone()));
            }
        };
        put("firstname", &contact.first_name);
        put("lastname", &contact.last_name);
        put("emailaddress1", &contact.email);
        put(
            "description",
            &description(contact.company.as_deref(), contact.notes.as_deref()),
        );
        for ((e164, _), field) in contact.phones.iter().zip(PHONE_FIELDS) {
            body.insert(field.to_string(), Value::String(e164.clone()));
        }
        if let (Some(field), Some(user_id)) = (
            &self.config.user_id_field,
            contact.whatsapp_user_ids.first(),
        ) {
            body.insert(field.clone(), Value::String(user_id.clone()));
        }
        let answer = self
            .call(Call {
                method: Method::POST,
                path: "/contacts".into(),
                body: Some(Value::Object(body)),
                prefer: None,
                existing_only: false,
            })
            .await?;
        let id = answer
            .entity_id
            .as_deref()
            .and_then(id_from_entity_url)
            .or_else(|| {
                // `Prefer: return=representation` (a proxy may add it) answers the record.
                serde_json::from_slice::<Value>(&answer.body)
                    .ok()
                    .and_then(|v| v["contactid"].as_str().map(str::to_string))
            })
            .ok_or_else(|| {
                CrmError::Rejected("the contact was created but no OData-EntityId came back".into())
            })?;
        Ok(Contact {
            id: ContactId::External(id),
            first_name: contact.first_name.clone(),
            last_name: contact.last_name.clone(),
            phones: contact.e164s(),
            whatsapp_user_ids: contact.whatsapp_user_ids.clone(),
            email: contact.email.clone(),
            company: contact.company.clone(),
            notes: contact.notes.clone(),
            priority: None,
            updated_at: now_ms(),
        })
    }

    /// Changes the columns of the fields `patch` names to `contact`'s values (the patch
    /// applied and checked): numbers not named stay as they are written in Dynamics.
    pub async fn update(
        &self,
        id: &str,
        old: &Contact,
        contact: &ValidContact,
        patch: &ContactPatch,
    ) -> Result<Contact, CrmError> {
        self.check_fits(contact)?;
        let mut body = Map::new();
        let text = |v: &Option<String>| v.clone().map_or(Value::Null, Value::String);
        if patch.first_name.is_some() {
            body.insert("firstname".into(), text(&contact.first_name));
        }
        if patch.last_name.is_some() {
            body.insert("lastname".into(), text(&contact.last_name));
        }
        if patch.email.is_some() {
            body.insert("emailaddress1".into(), text(&contact.email));
        }
        if patch.company.is_some() || patch.notes.is_some() {
            body.insert(
                "description".into(),
                text(&description(
                    contact.company.as_deref(),
                    contact.notes.as_deref(),
                )),
            );
        }
        if patch.phones.is_some() {
            for (i, field) in PHONE_FIELDS.iter().enumerate() {
                let number = contact.phones.get(i).map(|(e164, _)| e164.clone());
                body.insert(field.to_string(), text(&number));
            }
        }
        if patch.whatsapp_user_ids.is_some() {
            if let Some(field) = &self.config.user_id_field {
                body.insert(
                    field.clone(),
                    text(&contact.whatsapp_user_ids.first().cloned()),
                );
            }
        }
        if body.is_empty() {
            return Ok(old.clone());
        }
        self.patch_contact(id, Value::Object(body)).await
    }

    /// Keeps the customer's WhatsApp user id on the contact (`user_id_field` holds one: this
    /// one replaces an older one).
    pub async fn add_user_id(&self, id: &str, user_id: &str) -> Result<Contact, CrmError> {
        let Some(field) = &self.config.user_id_field else {
            return Err(CrmError::Unsupported(
                "contacts live in Dynamics 365, where WhatsApp user ids are kept only when \
                 crm.dynamics.user_id_field names the contact column for them"
                    .into(),
            ));
        };
        let id = parse_guid(id).ok_or_else(|| CrmError::NotFound(id.to_string()))?;
        self.patch_contact(&id, json!({ field.as_str(): user_id }))
            .await
    }

    /// Deletes a contact the way Dynamics keeps history: it is deactivated (its activities
    /// stay, and lookups no longer find it). `NotFound` when there is no active one.
    pub async fn deactivate(&self, id: &str) -> Result<(), CrmError> {
        if self.get(id).await?.is_none() {
            return Err(CrmError::NotFound(id.to_string()));
        }
        let id = parse_guid(id).ok_or_else(|| CrmError::NotFound(id.to_string()))?;
        let mut call = Call::update(
            format!("/contacts({id})"),
            json!({"statecode": CONTACT_INACTIVE, "statuscode": CONTACT_STATUS_INACTIVE}),
        );
        call.prefer = None;
        self.call(call).await?;
        Ok(())
    }

    /// PATCHes an existing contact and reads it back.
    async fn patch_contact(&self, id: &str, body: Value) -> Result<Contact, CrmError> {
        let path = format!("/contacts({id})?$select={}", self.select);
        let answer = self.call(Call::update(path, body)).await?;
        let read = serde_json::from_slice::<Value>(&answer.body)
            .ok()
            .and_then(|v| self.contact_from(&v));
        match read {
            Some(contact) => Ok(contact),
            // No representation (the answer was a bare 204): read it.
            None => self
                .get(id)
                .await?
                .ok_or_else(|| CrmError::NotFound(id.to_string())),
        }
    }

    /// Saves a call log as an activity (`activity_entity`) regarding the contact. `activity_id`
    /// is the activity's own GUID, chosen once by the outbox, so a retry after a lost answer
    /// finds the first one there instead of saving it twice.
    pub async fn save_activity(
        &self,
        activity_id: &str,
        activity: &ActivityRecord,
    ) -> Result<(), CrmError> {
        let body = self.activity_body(activity_id, activity);
        let result = self
            .call(Call {
                method: Method::POST,
                path: format!("/{}", self.config.activity_entity),
                body: Some(body),
                prefer: None,
                existing_only: false,
            })
            .await;
        match result {
            Ok(_) => Ok(()),
            Err(CrmError::Rejected(m)) if is_duplicate_key(&m) => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn activity_body(&self, activity_id: &str, a: &ActivityRecord) -> Value {
        let logical = &self.config.activity_logical_name;
        let ended = a.ended_at();
        let minutes = ((ended - a.initiated_at).max(0) + 59_999) / 60_000;
        let mut body = json!({
            "activityid": activity_id,
            "subject": a.subject(),
            "description": a.description(),
            "actualstart": odata_time(a.initiated_at),
            "actualend": odata_time(ended),
            "actualdurationminutes": minutes,
        });
        let contact = a.contact_id.as_ref().and_then(ContactId::external);
        if let Some(guid) = contact.filter(|g| is_guid(g)) {
            body[format!("regardingobjectid_contact_{logical}@odata.bind")] =
                json!(format!("/contacts({guid})"));
        }
        // A call log is saved once the conversation is over: a completed activity.
        body["statecode"] = json!(ACTIVITY_COMPLETED);
        if logical == "phonecall" {
            body["phonenumber"] = json!(a.customer_phone);
            // Outgoing when the business started the conversation, else the customer wrote in.
            body["directioncode"] = json!(a.outbound);
            body["statuscode"] = json!(if a.outbound {
                PHONECALL_MADE
            } else {
                PHONECALL_RECEIVED
            });
            if let Some(guid) = contact.filter(|g| is_guid(g)) {
                body["phonecall_activity_parties"] = json!([{
                    "partyid_contact@odata.bind": format!("/contacts({guid})"),
                    // The contact is the call's "from", or its "to" for a call the business made.
                    "participationtypemask": if a.outbound { PARTY_TO_RECIPIENT } else { PARTY_SENDER }
                }]);
            }
        }
        body
    }

    fn contact_from(&self, v: &Value) -> Option<Contact> {
        let text = |k: &str| {
            v[k].as_str()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let id = text("contactid")?;
        let mut phones: Vec<String> = Vec::new();
        for field in PHONE_FIELDS {
            if let Some(raw) = text(field) {
                // A number the CRM keeps in a form we cannot read is shown as it is.
                let n = phone::normalise_stored(&raw, &self.config.default_region).unwrap_or(raw);
                if !phones.contains(&n) {
                    phones.push(n);
                }
            }
        }
        let updated_at = text("modifiedon")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        let whatsapp_user_ids = self
            .config
            .user_id_field
            .as_deref()
            .and_then(text)
            .into_iter()
            .collect();
        let (written_company, notes) = split_description(text("description"));
        let account = text("_parentcustomerid_value@OData.Community.Display.V1.FormattedValue");
        Some(Contact {
            id: ContactId::External(id.to_ascii_lowercase()),
            first_name: text("firstname"),
            last_name: text("lastname"),
            phones,
            whatsapp_user_ids,
            email: text("emailaddress1"),
            company: account.or(written_company),
            notes,
            // R27: Dataverse has no such column.
            priority: None,
            updated_at,
        })
    }

    /// Sends `call`, signing in as needed, with the retries described at the top.
    async fn call(&self, call: Call) -> Result<Answer, CrmError> {
        let mut refreshed = false;
        let mut attempt = 0;
        loop {
            let token = self.token().await?;
            match self.try_once(&call, &token).await {
                Try::Done(answer) => return Ok(answer),
                Try::Unauthorized if !refreshed => {
                    // Revoked or expired early: sign in again, once.
                    refreshed = true;
                    self.drop_token(&token).await;
                }
                Try::Unauthorized => {
                    return Err(CrmError::Auth(
                        "the Web API refused a fresh token (401): check the application user's \
                         security roles"
                            .into(),
                    ))
                }
                Try::Again(why, wait) => {
                    attempt += 1;
                    if attempt >= self.config.attempts {
                        return Err(CrmError::Unavailable(format!(
                            "{why} (after {attempt} tries)"
                        )));
                    }
                    tracing::warn!(error = %why, attempt, "Dynamics 365 request failed, retrying");
                    tokio::time::sleep(wait.unwrap_or_else(|| self.backoff(attempt))).await;
                }
                Try::Failed(e) => return Err(e),
            }
        }
    }

    async fn try_once(&self, call: &Call, token: &str) -> Try {
        let url = format!("{}{}", self.config.api_url, call.path);
        let mut request = client()
            .request(call.method.clone(), &url)
            .bearer_auth(token)
            .timeout(self.config.timeout)
            .insert_header(("Accept", "application/json"))
            .insert_header(("OData-MaxVersion", "4.0"))
            .insert_header(("OData-Version", "4.0"));
        if let Some(prefer) = &call.prefer {
            request = request.insert_header(("Prefer", prefer.as_str()));
        }
        if call.existing_only {
            request = request.insert_header(("If-Match", "*"));
        }
        let sent = match &call.body {
            Some(body) => {
                request
                    .insert_header(("Content-Type", "application/json; charset=utf-8"))
                    .send_body(body.to_string())
                    .await
            }
            None => request.send().await,
        };
        let mut response = match sent {
            Ok(r) => r,
            Err(e) => return Try::Again(format!("{} {}: {e}", call.method, call.path), None),
        };
        let status = response.status();
        let entity_id = response
            .headers()
            .get("OData-EntityId")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = response
            .headers()
            .get("Retry-After")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(|s| Duration::from_secs(s).min(MAX_RETRY_AFTER));
        let body = match response.body().limit(MAX_ANSWER_BYTES).await {
            Ok(b) => b.to_vec(),
            Err(e) if status.is_success() => {
                return Try::Again(format!("reading the answer: {e}"), None)
            }
            Err(_) => Vec::new(),
        };
        if status.is_success() {
            return Try::Done(Answer { entity_id, body });
        }
        let message = format!("HTTP {}: {}", status.as_u16(), error_message(&body));
        match status.as_u16() {
            401 => Try::Unauthorized,
            404 => Try::Failed(CrmError::NotFound(message)),
            429 => Try::Again(message, retry_after),
            500..=599 => Try::Again(message, retry_after),
            _ => Try::Failed(CrmError::Rejected(message)),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        self.config
            .retry_base
            .saturating_mul(1u32 << attempt.saturating_sub(1).min(10))
    }

    /// The cached token, or a new one.
    async fn token(&self) -> Result<String, CrmError> {
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref().filter(|t| Instant::now() < t.renew_at) {
            return Ok(t.value.clone());
        }
        let token = self.fetch_token().await?;
        let value = token.value.clone();
        *cached = Some(token);
        Ok(value)
    }

    /// Forgets `used` (unless another call renewed it already).
    async fn drop_token(&self, used: &str) {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_some_and(|t| t.value == used) {
            *cached = None;
        }
    }

    async fn fetch_token(&self) -> Result<Token, CrmError> {
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.config.client_id.as_str()),
            ("client_secret", self.config.client_secret.as_str()),
            ("scope", self.config.scope.as_str()),
        ];
        let mut attempt = 0;
        loop {
            attempt += 1;
            let sent = client()
                .post(&self.config.token_url)
                .timeout(self.config.timeout)
                .insert_header(("Accept", "application/json"))
                .send_form(&form)
                .await;
            let why = match sent {
                Err(e) => format!("token endpoint: {e}"),
                Ok(mut response) => {
                    let status = response.status();
                    let body = response
                        .body()
                        .limit(MAX_ANSWER_BYTES)
                        .await
                        .map(|b| b.to_vec())
                        .unwrap_or_default();
                    if status.is_success() {
                        let answer: TokenAnswer = serde_json::from_slice(&body)
                            .map_err(|e| CrmError::Auth(format!("unreadable token answer: {e}")))?;
                        let lifetime = Duration::from_secs(answer.expires_in.seconds());
                        let now = Instant::now();
                        return Ok(Token {
                            value: answer.access_token,
                            renew_at: now + lifetime.saturating_sub(TOKEN_MARGIN),
                        });
                    }
                    let why = format!(
                        "token endpoint HTTP {}: {}",
                        status.as_u16(),
                        error_message(&body)
                    );
                    if !(status.is_server_error() || status.as_u16() == 429) {
                        return Err(CrmError::Auth(why));
                    }
                    why
                }
            };
            if attempt >= self.config.attempts {
                return Err(CrmError::Auth(format!("{why} (after {attempt} tries)")));
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
    }
}

#[derive(Deserialize)]
struct Collection {
    value: Vec<Value>,
    /// The next page, when the answer was paged (`Prefer: odata.maxpagesize`).
    #[serde(rename = "@odata.nextLink")]
    next_link: Option<String>,
}

/// The `$filter` clause that finds a number kept as free text (SPEC 8.1): each phone column
/// equal to one of the number's [`phone::written_forms`] that do not end with its national
/// significant number, or ending with that number (which finds every unspaced writing,
/// whatever comes before it: `+447700900123`, `00447700900123`, `07700900123`,
/// `+44(0)7700900123`). Candidates are confirmed by the caller. `None` for a value that is
/// not E.164.
pub fn phone_filter(e164: &str, default_region: &str) -> Option<String> {
    let (_, national) = phone::split_e164(e164)?;
    let forms = phone::written_forms(e164, default_region);
    let mut clauses = Vec::new();
    for field in PHONE_FIELDS {
        for form in forms.iter().filter(|f| !f.ends_with(national)) {
            clauses.push(format!("{field} eq {}", odata_string(form)));
        }
        clauses.push(format!("endswith({field},{})", odata_string(national)));
    }
    Some(clauses.join(" or "))
}

/// One search word: in the first or last name or the e-mail, or (3 or more digits) a number.
fn word_filter(word: &str) -> String {
    let w = odata_string(word);
    let mut fields = vec!["firstname", "lastname", "emailaddress1"];
    if word.chars().filter(char::is_ascii_digit).count() >= 3 {
        fields.extend(PHONE_FIELDS);
    }
    let any: Vec<String> = fields
        .iter()
        .map(|f| format!("contains({f},{w})"))
        .collect();
    format!("({})", any.join(" or "))
}

/// The description a contact is written with: its company on the first line, then its notes.
fn description(company: Option<&str>, notes: Option<&str>) -> Option<String> {
    match (company, notes) {
        (Some(c), Some(n)) => Some(format!("{COMPANY_LINE}{c}\n{n}")),
        (Some(c), None) => Some(format!("{COMPANY_LINE}{c}")),
        (None, n) => n.map(str::to_string),
    }
}

/// [`description`] read back: `(company, notes)`.
fn split_description(description: Option<String>) -> (Option<String>, Option<String>) {
    let Some(d) = description else {
        return (None, None);
    };
    let Some(rest) = d.strip_prefix(COMPANY_LINE) else {
        return (None, Some(d));
    };
    let (company, notes) = rest.split_once('\n').unwrap_or((rest, ""));
    let some = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    (some(company), some(notes))
}

/// The path a contacts page cursor carries ([`Dynamics::search`]), if it is one.
fn cursor_path(cursor: &str) -> Option<String> {
    let path = String::from_utf8(hex::decode(cursor).ok()?).ok()?;
    (path.starts_with("/contacts?") && !path.contains(['#', '\r', '\n'])).then_some(path)
}

/// A contact GUID as the Web API takes it (lower case), if `raw` is one.
pub fn parse_guid(raw: &str) -> Option<String> {
    let id = raw.trim();
    is_guid(id).then(|| id.to_ascii_lowercase())
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: String,
    #[serde(default)]
    expires_in: Seconds,
}

/// `expires_in`: a number, or a string holding one (older endpoints).
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

impl Default for Seconds {
    fn default() -> Self {
        Seconds::Number(3600)
    }
}

impl Seconds {
    fn seconds(&self) -> u64 {
        match self {
            Seconds::Number(n) => *n,
            Seconds::Text(t) => t.trim().parse().unwrap_or(3600),
        }
    }
}

fn parse<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, CrmError> {
    serde_json::from_slice(body)
        .map_err(|e| CrmError::Unavailable(format!("unreadable Web API answer: {e}")))
}

/// The message of a Web API error (`{"error": {"code", "message"}}`) or an OAuth one
/// (`{"error", "error_description"}`), else the start of the body.
fn error_message(body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    if let Some(message) = v["error"]["message"].as_str() {
        return match v["error"]["code"].as_str() {
            Some(code) => format!("{message} ({code})"),
            None => message.to_string(),
        };
    }
    if let Some(description) = v["error_description"].as_str() {
        return description.to_string();
    }
    if let Some(error) = v["error"].as_str() {
        return error.to_string();
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "no details".into()
    } else {
        text.chars().take(300).collect()
    }
}

/// Dataverse's "a record with these key values already exists" (the activity was saved).
fn is_duplicate_key(message: &str) -> bool {
    message.starts_with("HTTP 412")
        || message.contains("0x80040237")
        || message.contains("0x80060892")
}

/// `…/contacts(00000000-0000-0000-0000-000000000001)` → the GUID.
fn id_from_entity_url(url: &str) -> Option<String> {
    let open = url.rfind('(')?;
    let close = url[open..].find(')')? + open;
    let id = &url[open + 1..close];
    is_guid(id).then(|| id.to_ascii_lowercase())
}

fn is_guid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => c == '-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// A random (version 4) GUID.
pub fn new_guid() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// An OData string literal: single quotes doubled.
fn odata_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Edm.DateTimeOffset, UTC.
fn odata_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// Percent-encodes a query value (everything but RFC 3986's unreserved characters).
fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 3);
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_phone_filter_looks_for_spaced_forms_and_the_national_number_at_the_end() {
        let filter = phone_filter("+447700900123", "GB").unwrap();
        for clause in [
            "telephone1 eq '07700 900123'",
            "mobilephone eq '0044 7700 900123'",
            "telephone2 eq '+44 7700 900123'",
            "endswith(telephone1,'7700900123')",
            "endswith(mobilephone,'7700900123')",
            "endswith(telephone2,'7700900123')",
        ] {
            assert!(filter.contains(clause), "{clause} in {filter}");
        }
        // Unspaced forms end with the national number: `endswith` finds them.
        assert!(!filter.contains("eq '07700900123'"), "{filter}");
        assert!(!filter.contains("eq '+447700900123'"), "{filter}");
        assert_eq!(filter.matches(" or ").count() + 1, 3 * 6, "{filter}");
        assert_eq!(phone_filter("07700 900123", "GB"), None, "not E.164");
    }

    #[test]
    fn every_writing_the_filter_finds_is_confirmed_and_no_other() {
        let e164 = "+447700900123";
        let filter = phone_filter(e164, "GB").unwrap();
        let found_by_filter = |raw: &str| {
            filter.contains(&format!("eq {}", odata_string(raw))) || raw.ends_with("7700900123")
        };
        for raw in [
            "+44 7700 900123",
            "0044 7700 900123",
            "07700 900123",
            "07700900123",
            "+447700900123",
            "447700900123",
        ] {
            assert!(found_by_filter(raw), "{raw} is asked for");
            assert!(phone::is_same_number(raw, e164, "GB"), "{raw} is confirmed");
        }
        for other in ["+17700900123", "17700900123", "+4417700900123"] {
            assert!(found_by_filter(other), "{other} is a candidate");
            assert!(
                !phone::is_same_number(other, e164, "GB"),
                "{other} is dropped"
            );
        }
    }

    #[test]
    fn a_company_line_heads_the_description_and_reads_back() {
        assert_eq!(
            description(Some("Contoso"), Some("VIP")).as_deref(),
            Some("Company: Contoso\nVIP")
        );
        assert_eq!(description(None, Some("VIP")).as_deref(), Some("VIP"));
        assert_eq!(description(None, None), None);
        for (company, notes) in [
            (Some("Contoso"), Some("VIP\nsecond line")),
            (Some("Contoso"), None),
            (None, Some("VIP")),
            (None, None),
        ] {
            let read = split_description(description(company, notes));
            assert_eq!(read, (company.map(Into::into), notes.map(Into::into)));
        }
    }

    #[test]
    fn search_words_are_quoted_for_odata() {
        assert_eq!(
            word_filter("O'Neil"),
            "(contains(firstname,'O''Neil') or contains(lastname,'O''Neil') or \
             contains(emailaddress1,'O''Neil'))"
        );
        assert!(word_filter("555-0100").contains("contains(telephone2,'555-0100')"));
        assert!(!word_filter("a12").contains("telephone1"));
    }

    #[test]
    fn cursors_carry_only_a_page_of_contacts() {
        let path = "/contacts?$select=contactid&$skiptoken=x";
        assert_eq!(cursor_path(&hex::encode(path)).as_deref(), Some(path));
        assert_eq!(cursor_path(&hex::encode("/systemusers?$top=1")), None);
        assert_eq!(cursor_path(&hex::encode("/contacts?x\r\nHost: evil")), None);
        assert_eq!(cursor_path("not hex"), None);
    }

    #[test]
    fn helpers() {
        assert_eq!(
            id_from_entity_url(
                "https://org.crm.dynamics.com/api/data/v9.2/contacts(0000000A-0000-0000-0000-000000000001)"
            )
            .as_deref(),
            Some("0000000a-0000-0000-0000-000000000001")
        );
        assert_eq!(id_from_entity_url("https://x/contacts(nope)"), None);
        assert!(is_guid(&new_guid()));
        assert_ne!(new_guid(), new_guid());
        assert!(!is_guid("00000000-0000-0000-0000-00000000000g"));
        assert_eq!(odata_string("O'Neil"), "'O''Neil'");
        assert_eq!(encode("a eq '+1'"), "a%20eq%20%27%2B1%27");
        assert_eq!(odata_time(1_700_000_000_123), "2023-11-14T22:13:20Z");
        assert_eq!(
            error_message(br#"{"error":{"code":"0x80040217","message":"Not there"}}"#),
            "Not there (0x80040217)"
        );
        assert_eq!(
            error_message(
                br#"{"error":"invalid_client","error_description":"AADSTS7000215: bad secret"}"#
            ),
            "AADSTS7000215: bad secret"
        );
        assert_eq!(error_message(b""), "no details");
    }
}
