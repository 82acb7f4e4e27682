//! "Commit, then tell the actors", once per resource: agents, queues and channels are
//! checked, written in one transaction, and only then announced to the actors that hold them
//! in memory. The HTTP API, the command line and the demo seed all change them through here,
//! so none can forget the last step.

pub mod agents;
pub mod channels;
pub mod queues;

use crate::actors::registry::Registry;

/// Who hears of a committed change.
#[derive(Clone, Copy)]
pub enum Actors<'a> {
    /// The running service: the registry reloads the record and tells the actors.
    Running(&'a Registry),
    /// No actor runs yet (the command line, the demo seed at start-up): they will read the
    /// store when they start.
    NotStarted,
}

impl Actors<'_> {
    async fn agent_changed(self, id: i64) {
        if let Actors::Running(r) = self {
            r.agent_changed(id).await;
        }
    }
    async fn agent_deleted(self, id: i64) {
        if let Actors::Running(r) = self {
            r.agent_deleted(id).await;
        }
    }
    async fn queue_changed(self, id: i64) {
        if let Actors::Running(r) = self {
            r.queue_changed(id).await;
        }
    }
    async fn queue_deleted(self, id: i64) {
        if let Actors::Running(r) = self {
            r.queue_deleted(id).await;
        }
    }
    async fn channel_changed(self, id: i64) {
        if let Actors::Running(r) = self {
            r.channel_changed(id).await;
        }
    }
    async fn channel_deleted(self, id: i64) {
        if let Actors::Running(r) = self {
            r.channel_deleted(id).await;
        }
    }
}
