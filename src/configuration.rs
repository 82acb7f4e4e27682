//! Typed settings, layered with the `config` crate: compiled-in defaults, then
//! `config/$SWITCHBOARD_ENV.toml`, then an explicit file, then `SWITCHBOARD__*` variables.

use crate::domain::AgentStatus;
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::RwLock;

const DEFAULTS: &str = include_str!("../config/default.toml");

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    pub server: ServerSettings,
    pub database: DatabaseSettings,
    pub auth: AuthSettings,
    pub log: LogSettings,
    pub demo: DemoSettings,
    pub whatsapp: WhatsAppSettings,
    pub routing: RoutingSettings,
    pub masking: MaskingSettings,
    pub limits: LimitSettings,
    pub crm: CrmSettings,
    pub metrics: MetricsSettings,
    pub retention: RetentionSettings,
    pub media: MediaSettings,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ServerSettings {
    pub bind: String,
    pub public_url: String,
    pub workers: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DatabaseSettings {
    pub path: PathBuf,
    pub read_pool_size: u32,
    pub max_batch: usize,
    pub synchronous: crate::store::Synchronous,
    /// WAL pages after which a commit checkpoints (SQLite's `wal_autocheckpoint`); 0 leaves
    /// checkpoints to Litestream, as its tips advise under a high write load.
    pub wal_autocheckpoint: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct AuthSettings {
    pub bootstrap_admin_username: Option<String>,
    pub bootstrap_admin_password: Option<String>,
    pub token_ttl_secs: i64,
    pub login_attempts_per_minute: u32,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LogSettings {
    pub format: String,
    pub level: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct DemoSettings {
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct WhatsAppSettings {
    pub graph_base_url: String,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub sandbox: bool,
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    pub max_in_flight: usize,
    pub request_timeout_ms: u64,
    /// Seconds between syncs of every channel's message templates with Meta (R23); 0 syncs
    /// only at start and on demand.
    #[serde(default = "default_template_sync_secs")]
    pub template_sync_secs: u64,
}

fn default_template_sync_secs() -> u64 {
    3600
}

#[derive(Debug, Clone, Deserialize)]
pub struct RoutingSettings {
    pub no_answer_status: String,
    pub reconnect_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct MaskingSettings {
    pub enabled: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct LimitSettings {
    pub max_message_chars: usize,
    /// Events waiting for an agent socket that does not drain; past this the socket is
    /// closed (the client resyncs with `hello`) instead of buffering without bound.
    #[serde(default = "default_ws_max_pending_events")]
    pub ws_max_pending_events: usize,
    /// A WebSocket client (agent desktop, supervisor board) that has sent nothing, not even
    /// a pong, for this long is disconnected (SPEC section 5: 30 s). The server pings three
    /// times in that span, so a live client always answers in time.
    #[serde(default = "default_ws_client_timeout_secs")]
    pub ws_client_timeout_secs: u64,
    /// Largest inbound media file fetched from WhatsApp (R22); a larger one fails.
    #[serde(default = "default_max_media_bytes")]
    pub max_media_bytes: u64,
}

fn default_max_media_bytes() -> u64 {
    100 * 1024 * 1024
}

fn default_ws_max_pending_events() -> usize {
    256
}

fn default_ws_client_timeout_secs() -> u64 {
    30
}

impl LimitSettings {
    /// (how often the server pings, how long a silent client is kept).
    pub fn ws_heartbeat(&self) -> (std::time::Duration, std::time::Duration) {
        let timeout = std::time::Duration::from_secs(self.ws_client_timeout_secs.max(1));
        (timeout / 3, timeout)
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct CrmSettings {
    /// `builtin` (contacts in SQLite) or `dynamics365`.
    pub connector: String,
    /// ISO 3166 region for numbers written without a country code (`US`, `GB`, ...).
    pub default_region: String,
    /// Per request to an external CRM.
    pub request_timeout_ms: u64,
    /// Tries of one request to an external CRM (network errors, 5xx, 429), with backoff.
    pub retry_attempts: u32,
    pub retry_base_ms: u64,
    /// Call logs waiting in the outbox are retried with backoff, doubling up to this.
    pub outbox_retry_max_ms: u64,
    pub dynamics: DynamicsSettings,
}

/// Dynamics 365 (Dataverse Web API). Required when `crm.connector = "dynamics365"`.
#[derive(Debug, Clone, Deserialize)]
pub struct DynamicsSettings {
    /// The organisation, e.g. `https://contoso.crm.dynamics.com` (`/api/data/v9.2/` is added).
    pub base_url: Option<String>,
    /// OAuth 2.0 token endpoint, e.g.
    /// `https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`.
    pub token_url: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    /// Defaults to `{base_url}/.default`.
    pub scope: Option<String>,
    /// Entity set of the call log: `phonecalls`, or a custom activity's set name.
    pub activity_entity: String,
    /// Logical name of that entity (`phonecall`): names the `regardingobjectid_contact_*` link.
    pub activity_logical_name: String,
    /// Logical name of the contact's text column that keeps the customer's WhatsApp user id
    /// (BSUID), e.g. `new_whatsappuserid`; unset or empty: BSUIDs are not kept in Dynamics.
    #[serde(default)]
    pub user_id_field: Option<String>,
}

/// Who may read `/metrics`.
#[derive(Debug, Clone, Deserialize)]
pub struct MetricsSettings {
    /// `open` (anyone), `token` (`Authorization: Bearer {token}`) or `off` (404).
    pub access: String,
    pub token: Option<String>,
}

/// Deletion of old conversations (transcripts) and call logs, in the background.
#[derive(Debug, Clone, Deserialize)]
pub struct RetentionSettings {
    /// Closed conversations and call logs older than this many days are deleted; 0 keeps all.
    pub days: u32,
    /// Rows deleted per transaction, so the writer is never held for long.
    pub batch: u32,
    /// Seconds between sweeps.
    pub interval_secs: u64,
}

/// Media files of messages (R22): where they are kept and how fetching them is retried.
#[derive(Debug, Clone, Deserialize)]
pub struct MediaSettings {
    /// Folder of the files (created with its parents); relative to the working directory.
    pub path: PathBuf,
    /// Backoff of a failed fetch of inbound media: first delay, doubling up to the maximum.
    pub retry_base_ms: u64,
    pub retry_max_ms: u64,
    /// Tries of one inbound file before it is marked failed. A full disk does not count.
    pub max_attempts: u32,
    /// Inbound files fetched at once.
    pub max_in_flight: usize,
    /// Where finished files are kept: `local` (under `path`) or `s3` (a bucket of any
    /// S3-compatible object storage; `path` still holds the files while they arrive).
    pub store: MediaStoreKind,
    /// `store = "s3"`: the bucket, the key prefix of the files, the endpoint (empty: AWS), the
    /// region, and the keys (empty: `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` from the
    /// environment, as Litestream reads them). `s3_allow_http` permits a plain-HTTP endpoint.
    pub s3_bucket: String,
    pub s3_prefix: String,
    pub s3_endpoint: String,
    pub s3_region: String,
    pub s3_access_key_id: String,
    pub s3_secret_access_key: String,
    pub s3_allow_http: bool,
}

/// Where finished media files are kept (`media.store`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaStoreKind {
    Local,
    S3,
}

/// Loads the layered settings. `explicit` is `--config PATH` (or `SWITCHBOARD_CONFIG`).
pub fn load(explicit: Option<&Path>) -> Result<Settings, config::ConfigError> {
    let mut builder = config::Config::builder()
        .add_source(config::File::from_str(DEFAULTS, config::FileFormat::Toml));
    if let Ok(env) = std::env::var("SWITCHBOARD_ENV") {
        builder =
            builder.add_source(config::File::with_name(&format!("config/{env}")).required(false));
    }
    let explicit = explicit
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("SWITCHBOARD_CONFIG").map(PathBuf::from));
    if let Some(path) = explicit {
        builder = builder.add_source(config::File::from(path).required(true));
    }
    builder = builder.add_source(
        config::Environment::with_prefix("SWITCHBOARD")
            .prefix_separator("__")
            .separator("__")
            .try_parsing(true),
    );
    let settings: Settings = builder.build()?.try_deserialize()?;
    settings.validate()?;
    Ok(settings)
}

impl Settings {
    fn validate(&self) -> Result<(), config::ConfigError> {
        let bad = |m: &str| Err(config::ConfigError::Message(m.to_string()));
        if !matches!(self.routing.no_answer_status.as_str(), "on_break" | "rona") {
            return bad("routing.no_answer_status must be `on_break` or `rona`");
        }
        if !matches!(self.log.format.as_str(), "text" | "json") {
            return bad("log.format must be `text` or `json`");
        }
        if self.limits.max_message_chars == 0 {
            return bad("limits.max_message_chars must be at least 1");
        }
        if self.limits.ws_client_timeout_secs == 0 {
            return bad("limits.ws_client_timeout_secs must be at least 1");
        }
        if self.database.read_pool_size == 0 || self.database.max_batch == 0 {
            return bad("database.read_pool_size and database.max_batch must be at least 1");
        }
        self.crm.validate()?;
        match self.metrics.access.as_str() {
            "open" | "off" => {}
            "token" if self.metrics.token.as_deref().is_some_and(|t| !t.is_empty()) => {}
            "token" => return bad("metrics.access = \"token\" needs metrics.token"),
            _ => return bad("metrics.access must be `open`, `token` or `off`"),
        }
        if self.media.max_attempts == 0 || self.media.max_in_flight == 0 {
            return bad("media.max_attempts and media.max_in_flight must be at least 1");
        }
        if self.media.path.as_os_str().is_empty() {
            return bad("media.path cannot be empty");
        }
        if self.media.store == MediaStoreKind::S3 && self.media.s3_bucket.trim().is_empty() {
            return bad("media.store = \"s3\" needs media.s3_bucket");
        }
        if self.retention.batch == 0 || self.retention.interval_secs == 0 {
            return bad("retention.batch and retention.interval_secs must be at least 1");
        }
        Ok(())
    }
}

impl CrmSettings {
    fn validate(&self) -> Result<(), config::ConfigError> {
        let bad = |m: String| Err(config::ConfigError::Message(m));
        if !crate::domain::phone::is_known_region(&self.default_region) {
            return bad(format!(
                "crm.default_region `{}` is not a known ISO 3166 region (like `US` or `GB`)",
                self.default_region
            ));
        }
        if self.retry_attempts == 0 || self.request_timeout_ms == 0 {
            return bad("crm.retry_attempts and crm.request_timeout_ms must be at least 1".into());
        }
        match self.connector.as_str() {
            "builtin" => Ok(()),
            "dynamics365" => {
                let d = &self.dynamics;
                let missing: Vec<&str> = [
                    ("base_url", &d.base_url),
                    ("token_url", &d.token_url),
                    ("client_id", &d.client_id),
                    ("client_secret", &d.client_secret),
                ]
                .into_iter()
                .filter(|(_, v)| v.as_deref().is_none_or(|v| v.trim().is_empty()))
                .map(|(k, _)| k)
                .collect();
                if !missing.is_empty() {
                    return bad(format!(
                        "crm.connector = \"dynamics365\" needs crm.dynamics.{}",
                        missing.join(", crm.dynamics.")
                    ));
                }
                for (key, url) in [("base_url", &d.base_url), ("token_url", &d.token_url)] {
                    let url = url.as_deref().unwrap_or_default();
                    if !(url.starts_with("https://") || url.starts_with("http://")) {
                        return bad(format!("crm.dynamics.{key} must be an http(s) URL"));
                    }
                }
                if let Some(field) = d.user_id_field.as_deref().map(str::trim) {
                    if !field.is_empty() && !is_logical_name(field) {
                        return bad(format!(
                            "crm.dynamics.user_id_field `{field}` is not a column's logical name \
                             (lower-case letters, digits and `_`, like new_whatsappuserid)"
                        ));
                    }
                }
                if d.activity_entity.trim().is_empty() || d.activity_logical_name.trim().is_empty()
                {
                    return bad(
                        "crm.dynamics.activity_entity and activity_logical_name cannot be empty"
                            .into(),
                    );
                }
                Ok(())
            }
            other => bad(format!(
                "crm.connector must be `builtin` or `dynamics365`, not `{other}`"
            )),
        }
    }
}

/// A Dataverse logical name: it goes into OData queries as it is.
fn is_logical_name(name: &str) -> bool {
    (1..=100).contains(&name.len())
        && name.starts_with(|c: char| c.is_ascii_lowercase())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Settings an admin can change while the service runs (`/api/v1/settings`).
#[derive(Debug)]
pub struct RuntimeSettings {
    masking_enabled: AtomicBool,
    /// Supervisors read unmasked transcripts over HTTP (audited), like admins (R13).
    supervisors_see_unmasked: AtomicBool,
    no_answer_status: RwLock<AgentStatus>,
}

impl RuntimeSettings {
    pub fn new(masking_enabled: bool, no_answer_status: AgentStatus) -> Self {
        RuntimeSettings {
            masking_enabled: AtomicBool::new(masking_enabled),
            supervisors_see_unmasked: AtomicBool::new(false),
            no_answer_status: RwLock::new(no_answer_status),
        }
    }
    pub fn masking_enabled(&self) -> bool {
        self.masking_enabled.load(Ordering::Relaxed)
    }
    pub fn set_masking_enabled(&self, on: bool) {
        self.masking_enabled.store(on, Ordering::Relaxed)
    }
    pub fn supervisors_see_unmasked(&self) -> bool {
        self.supervisors_see_unmasked.load(Ordering::Relaxed)
    }
    pub fn set_supervisors_see_unmasked(&self, on: bool) {
        self.supervisors_see_unmasked.store(on, Ordering::Relaxed)
    }
    pub fn no_answer_status(&self) -> AgentStatus {
        *self
            .no_answer_status
            .read()
            .unwrap_or_else(|e| e.into_inner())
    }
    pub fn set_no_answer_status(&self, status: AgentStatus) {
        *self
            .no_answer_status
            .write()
            .unwrap_or_else(|e| e.into_inner()) = status;
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn embedded_defaults_deserialise() {
        let s = super::load(None).expect("defaults load");
        assert_eq!(s.server.bind, "127.0.0.1:8080");
        assert_eq!(s.routing.no_answer_status, "on_break");
        assert_eq!(s.limits.max_message_chars, 4096);
        assert!(s.demo.enabled && s.whatsapp.sandbox && !s.masking.enabled);
        assert_eq!(s.crm.connector, "builtin");
        assert_eq!(s.crm.default_region, "US");
        assert_eq!(s.crm.dynamics.activity_entity, "phonecalls");
        assert_eq!(s.media.path, std::path::Path::new("data/media"));
        assert_eq!(s.limits.max_media_bytes, 100 * 1024 * 1024);
        // SPEC section 5: pings every 10 s, a client silent for 30 s is disconnected.
        let (every, timeout) = s.limits.ws_heartbeat();
        assert_eq!((every.as_secs(), timeout.as_secs()), (10, 30));
    }

    #[test]
    fn a_zero_websocket_timeout_is_refused() {
        let mut s = super::load(None).expect("defaults load");
        assert!(s.validate().is_ok());
        s.limits.ws_client_timeout_secs = 0;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("limits.ws_client_timeout_secs"), "{e}");
    }

    #[test]
    fn a_bucket_store_needs_its_bucket() {
        let mut s = super::load(None).expect("defaults load");
        assert_eq!(s.media.store, super::MediaStoreKind::Local);
        assert_eq!(s.database.wal_autocheckpoint, 1000);
        s.media.store = super::MediaStoreKind::S3;
        let e = s.validate().unwrap_err().to_string();
        assert!(e.contains("media.s3_bucket"), "{e}");
        s.media.s3_bucket = "switchboard-acme".into();
        assert!(s.validate().is_ok());
    }

    #[test]
    fn crm_settings_are_checked() {
        let mut crm = super::load(None).expect("defaults load").crm;
        assert!(crm.validate().is_ok());
        crm.default_region = "XX".into();
        assert!(crm.validate().is_err());
        crm.default_region = "GB".into();
        crm.connector = "salesforce".into();
        assert!(crm.validate().is_err());
        crm.connector = "dynamics365".into();
        let e = crm.validate().unwrap_err().to_string();
        assert!(
            e.contains("crm.dynamics.base_url") && e.contains("client_secret"),
            "{e}"
        );
        crm.dynamics.base_url = Some("https://org.crm.dynamics.com".into());
        crm.dynamics.token_url = Some("https://login.example/token".into());
        crm.dynamics.client_id = Some("id".into());
        crm.dynamics.client_secret = Some("secret".into());
        assert!(crm.validate().is_ok());
        crm.dynamics.user_id_field = Some("new_whatsappuserid".into());
        assert!(crm.validate().is_ok());
        crm.dynamics.user_id_field = Some("".into());
        assert!(crm.validate().is_ok(), "empty: not kept");
        for bad in ["new whatsapp", "new_id eq 'x' or 1", "New_Id", "_id", "9id"] {
            crm.dynamics.user_id_field = Some(bad.into());
            assert!(crm.validate().is_err(), "{bad}");
        }
        crm.dynamics.user_id_field = None;
        crm.dynamics.base_url = Some("org.crm.dynamics.com".into());
        assert!(crm.validate().is_err());
    }
}
