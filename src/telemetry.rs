//! Tracing: readable lines by default, JSON when `log.format = "json"`; RUST_LOG wins over `log.level`.

use crate::configuration::LogSettings;
use tracing_subscriber::{fmt, EnvFilter};

pub fn init(settings: &LogSettings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.level));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    // A second init (tests) is harmless: keep the first subscriber.
    let _ = if settings.format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
