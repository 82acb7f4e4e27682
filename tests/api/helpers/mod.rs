//! Drives the real `switchboard` binary as a client would: a child process per test with its own
//! SQLite file, a wiremock server standing in for the WhatsApp Cloud API, HTTP helpers for the
//! admin API and webhooks, and a WebSocket client for the agent desktop protocol.
//!
//! - `app`: the server process under test (`TestApp`), its configuration, plain HTTP and login
//! - `admin`: queues, agents and channels set up through the admin API; interaction views
//! - `whatsapp`: signed webhook deliveries and the Cloud API mock
//! - `media`: the Cloud API's media endpoints (lookup, download, upload) and attachments
//! - `agent`: the agent desktop's WebSocket client (`AgentClient`)
//! - `assertions`: answer checks and waits on the admin views and on agent events
//! - `templates`: a channel whose message templates the Cloud API mock lists (R23)
//! - `json`, `clock`, `process`: small JSON, time and /proc helpers
#![allow(dead_code)]

mod admin;
mod agent;
mod app;
mod assertions;
mod clock;
mod json;
mod media;
mod process;
mod templates;
mod whatsapp;

pub use admin::*;
pub use agent::*;
pub use app::*;
pub use assertions::*;
pub use clock::*;
pub use json::*;
pub use media::*;
pub use process::*;
pub use templates::*;
pub use whatsapp::*;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

// The fixture every test shares: the spawned server's secrets and admin, and the channel
// `setup_basic` creates.
pub const APP_SECRET: &str = "test-app-secret";
pub const VERIFY_TOKEN: &str = "test-verify-token";
pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PHONE_NUMBER_ID: &str = "1234567890";
pub const DISPLAY_PHONE_NUMBER: &str = "+1 555 0100";
pub const ACCESS_TOKEN: &str = "test-access-token";

/// How long we wait for an event the server should send promptly.
pub const EVENT_TIMEOUT: Duration = Duration::from_secs(10);

static UNIQUE: AtomicU64 = AtomicU64::new(1);

/// A process-wide unique number (wamids, refs, names).
pub fn unique() -> u64 {
    UNIQUE.fetch_add(1, Ordering::Relaxed)
}
