//! Finds (and starts, and restores after a restart) the agent, queue and interaction actors.

use crate::configuration::Settings;
use crate::state::RuntimeSettings;
use crate::store::Store;
use std::sync::Arc;

pub struct Registry {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub runtime: Arc<RuntimeSettings>,
}

impl Registry {
    pub async fn start(
        store: Store,
        settings: Arc<Settings>,
        runtime: Arc<RuntimeSettings>,
    ) -> anyhow::Result<Arc<Registry>> {
        Ok(Arc::new(Registry {
            store,
            settings,
            runtime,
        }))
    }

    /// After an admin created or changed an agent (settings, queues): reload it from the store.
    pub async fn agent_changed(&self, _agent_id: i64) {}
    /// After an admin deleted an agent: end its sessions, interrupt its interactions (R15).
    pub async fn agent_deleted(&self, _agent_id: i64) {}
    /// After an admin created or changed a queue (settings, members).
    pub async fn queue_changed(&self, _queue_id: i64) {}
    /// After an admin deleted a queue (R15).
    pub async fn queue_deleted(&self, _queue_id: i64) {}
    /// After an admin created or changed a channel.
    pub async fn channel_changed(&self, _channel_id: i64) {}
    /// After an admin deleted a channel (R15).
    pub async fn channel_deleted(&self, _channel_id: i64) {}
}
