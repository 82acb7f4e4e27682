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

#[cfg(test)]
mod tests {
    use super::agents::{self, AgentPatch, NewAgent};
    use super::channels::{self, NewChannel};
    use super::queues::{self, QueueFields};
    use super::Actors;
    use crate::domain::{Role, Strategy};
    use crate::store::{users, Store, Synchronous};

    fn store(dir: &tempfile::TempDir) -> Store {
        Store::open(&dir.path().join("t.db"), 2, 16, Synchronous::Normal, 1000).unwrap()
    }

    fn agent(username: &str, queues: Vec<i64>) -> NewAgent {
        NewAgent {
            username: username.into(),
            display_name: None,
            role: Role::Agent,
            password: "long enough".into(),
            max_concurrent: 3,
            can_reject: true,
            auto_multi_match_pop: true,
            queues,
            skills: Vec::new(),
        }
    }

    fn queue(name: &str) -> QueueFields {
        QueueFields {
            name: name.into(),
            offer_timeout_secs: 30,
            wrap_up_secs: 60,
            disposition_codes: vec![],
            disposition_required: false,
            strategy: Strategy::LongestIdle,
            alert_warn_secs: 60,
            alert_critical_secs: 180,
            csat_enabled: false,
            csat_question: "How did we do?".into(),
            csat_timeout_hours: 24,
            service_level_secs: 60,
            routing: Default::default(),
        }
    }

    #[actix_web::test]
    async fn refusals_leave_nothing_behind_and_memberships_follow_both_sides() {
        let dir = tempfile::tempdir().unwrap();
        let store = store(&dir);
        let none = Actors::NotStarted;

        let refused = agents::create(&store, none, agent("ann", vec![99])).await;
        assert_eq!(refused.unwrap_err().code().as_str(), "unknown_queue");
        assert!(!store
            .read_now(|db| users::username_taken(db, "ann", 0))
            .unwrap());

        let q = queues::create(&store, none, queue("Support"), &[])
            .await
            .unwrap();
        let ann = agents::create(&store, none, agent("ann", vec![q.id, q.id]))
            .await
            .unwrap();
        assert_eq!(ann.display_name, "ann");
        assert_eq!(ann.queues, vec![q.id]);
        let taken = agents::create(&store, none, agent("ann", vec![])).await;
        assert_eq!(taken.unwrap_err().code().as_str(), "username_taken");

        // The queue's side sees the membership the agent's side made, and can undo it.
        let patch = queues::QueuePatch {
            members: Some(vec![]),
            ..Default::default()
        };
        let q = queues::update(&store, none, q.id, patch).await.unwrap();
        assert!(q.members.is_empty());
        let patch = AgentPatch {
            queues: Some(vec![q.id]),
            ..Default::default()
        };
        let ann = agents::update(&store, none, 0, ann.id, patch)
            .await
            .unwrap();
        assert_eq!(ann.queues, vec![q.id]);

        let sandbox = NewChannel {
            kind: "whatsapp".into(),
            name: "WA".into(),
            phone_number_id: "1".into(),
            display_phone_number: "+1 555".into(),
            queue_id: q.id,
            access_token: "t".into(),
            app_secret: None,
            verify_token: None,
            waba_id: None,
        };
        let channel = channels::create(&store, none, sandbox).await.unwrap();
        let in_use = queues::delete(&store, none, q.id).await;
        assert_eq!(in_use.unwrap_err().code().as_str(), "queue_in_use");
        channels::delete(&store, none, channel.id).await.unwrap();
        queues::delete(&store, none, q.id).await.unwrap();

        let self_delete = agents::delete(&store, none, ann.id, ann.id).await;
        assert_eq!(
            self_delete.unwrap_err().code().as_str(),
            "cannot_delete_self"
        );
        agents::delete(&store, none, 0, ann.id).await.unwrap();
        assert!(
            !store
                .read_now(|db| users::username_taken(db, "ann", 0))
                .unwrap(),
            "a deleted agent's username is free again"
        );
    }
}
