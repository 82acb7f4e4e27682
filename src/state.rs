//! What every handler and actor can reach: settings, the store, the actor registry.

use crate::actors::registry::Registry;
use crate::configuration::Settings;
use crate::domain::AgentStatus;
use crate::store::Store;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

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
    pub board: actix::Addr<crate::ws::supervisor::Board>,
}
