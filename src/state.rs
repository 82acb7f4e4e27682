//! What every handler and actor can reach: settings, the store, the actor registry.

use crate::actors::registry::Registry;
pub use crate::configuration::RuntimeSettings;
use crate::configuration::Settings;
use crate::store::Store;
use std::sync::Arc;

#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Store,
    pub registry: Arc<Registry>,
    pub runtime: Arc<RuntimeSettings>,
    pub auth: Arc<crate::auth::LoginLimiter>,
    /// The configured CRM (`crm.connector`): screen pop lookups, contacts, call logs.
    pub crm: Arc<crate::crm::Crm>,
    /// The live board the supervisor feeds share: read once a tick, pushed to all.
    pub board: actix::Addr<crate::actors::board::Board>,
}
