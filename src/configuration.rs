//! Typed settings, layered with the `config` crate: compiled-in defaults, then
//! `config/$SWITCHBOARD_ENV.toml`, then an explicit file, then `SWITCHBOARD__*` variables.

use serde::Deserialize;
use std::path::{Path, PathBuf};

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
        if self.database.read_pool_size == 0 || self.database.max_batch == 0 {
            return bad("database.read_pool_size and database.max_batch must be at least 1");
        }
        Ok(())
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
    }
}
