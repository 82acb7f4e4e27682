//! Dynamics 365 through the Dataverse Web API (OData v4, `{base_url}/api/data/v9.2/`).
//!
//! Sign-in is OAuth 2.0 client credentials; the token is kept until a minute before it
//! expires, and a 401 drops it and tries once more with a new one. Network errors, 5xx and 429
//! are tried `crm.retry_attempts` times with doubling backoff; any other 4xx is an error at once,
//! with the Web API's own message (`{"error": {"code", "message"}}`).

use super::{ActivityRecord, Contact, ContactId, CrmError, ValidContact};
use crate::configuration::CrmSettings;
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
/// Most contacts one lookup answers.
const LOOKUP_TOP: usize = 50;
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
/// The contact columns read.
const CONTACT_SELECT: &str = "contactid,firstname,lastname,emailaddress1,telephone1,mobilephone,\
                              telephone2,description,modifiedon,_parentcustomerid_value";
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
    /// Held while a token is fetched, so concurrent calls wait for one sign-in.
    token: tokio::sync::Mutex<Option<Token>>,
}

/// A request to the Web API (path under `api_url`, with its query).
struct Call {
    method: Method,
    path: String,
    body: Option<Value>,
    prefer: Option<&'static str>,
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
        Dynamics {
            config,
            token: tokio::sync::Mutex::new(None),
        }
    }

    pub fn config(&self) -> &DynamicsConfig {
        &self.config
    }

    /// Contacts whose `telephone1`, `mobilephone` or `telephone2` is this number (as E.164, or
    /// as its digits alone), most recently modified first.
    pub async fn lookup_by_phone(&self, e164: &str) -> Result<Vec<Contact>, CrmError> {
        let digits = e164.trim_start_matches('+');
        let mut clauses = Vec::new();
        for value in [e164, digits] {
            for field in ["telephone1", "mobilephone", "telephone2"] {
                clauses.push(format!("{field} eq {}", odata_string(value)));
            }
        }
        let path = format!(
            "/contacts?$select={}&$filter={}&$orderby={}&$top={LOOKUP_TOP}",
            CONTACT_SELECT,
            encode(&clauses.join(" or ")),
            encode("modifiedon desc")
        );
        let answer = self
            .call(Call {
                method: Method::GET,
                path,
                body: None,
                prefer: Some(PREFER_FORMATTED),
            })
            .await?;
        let list: Collection = parse(&answer.body)?;
        Ok(list
            .value
            .iter()
            .filter_map(|v| self.contact_from(v))
            .collect())
    }

    /// The contact with this GUID, if there is one.
    pub async fn get(&self, id: &str) -> Result<Option<Contact>, CrmError> {
        if !is_guid(id) {
            return Ok(None);
        }
        let path = format!("/contacts({id})?$select={CONTACT_SELECT}");
        match self
            .call(Call {
                method: Method::GET,
                path,
                body: None,
                prefer: Some(PREFER_FORMATTED),
            })
            .await
        {
            Ok(answer) => Ok(self.contact_from(&parse::<Value>(&answer.body)?)),
            Err(CrmError::NotFound(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Creates a contact: numbers go to `telephone1`, `mobilephone`, `telephone2` (in that
    /// order; more are not kept), the notes to `description`. A company name is added to the
    /// description (the contact's company is a link to an account in Dataverse).
    pub async fn create(&self, contact: &ValidContact) -> Result<Contact, CrmError> {
        let mut body = Map::new();
        let mut put = |k: &str, v: &Option<String>| {
            if let Some(v) = v {
                body.insert(k.to_string(), Value::String(v.clone()));
            }
        };
        put("firstname", &contact.first_name);
        put("lastname", &contact.last_name);
        put("emailaddress1", &contact.email);
        let description = match (&contact.company, &contact.notes) {
            (Some(c), Some(n)) => Some(format!("Company: {c}\n{n}")),
            (Some(c), None) => Some(format!("Company: {c}")),
            (None, n) => n.clone(),
        };
        put("description", &description);
        for ((e164, _), field) in
            contact
                .phones
                .iter()
                .zip(["telephone1", "mobilephone", "telephone2"])
        {
            body.insert(field.to_string(), Value::String(e164.clone()));
        }
        let answer = self
            .call(Call {
                method: Method::POST,
                path: "/contacts".into(),
                body: Some(Value::Object(body)),
                prefer: None,
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
            phones: contact.e164s().into_iter().take(3).collect(),
            email: contact.email.clone(),
            company: contact.company.clone(),
            notes: contact.notes.clone(),
            updated_at: now_ms(),
        })
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
        for field in ["telephone1", "mobilephone", "telephone2"] {
            if let Some(raw) = text(field) {
                // A number the CRM keeps in a form we cannot read is shown as it is.
                let n = phone::normalise(&raw, &self.config.default_region).unwrap_or(raw);
                if !phones.contains(&n) {
                    phones.push(n);
                }
            }
        }
        let updated_at = text("modifiedon")
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok())
            .map(|t| t.timestamp_millis())
            .unwrap_or(0);
        Some(Contact {
            id: ContactId::External(id),
            first_name: text("firstname"),
            last_name: text("lastname"),
            phones,
            email: text("emailaddress1"),
            company: text("_parentcustomerid_value@OData.Community.Display.V1.FormattedValue"),
            notes: text("description"),
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
        if let Some(prefer) = call.prefer {
            request = request.insert_header(("Prefer", prefer));
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
