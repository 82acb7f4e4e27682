//! Queues, agents and channels created through the admin API, and the admin's interaction views.

use serde_json::{json, Value};

use super::{
    id_of, items_of, json_created, json_ok, merge, unique, TestApp, ACCESS_TOKEN,
    DISPLAY_PHONE_NUMBER, PHONE_NUMBER_ID,
};

/// What `setup_basic` created.
#[derive(Debug, Clone)]
pub struct Basic {
    pub queue_id: i64,
    pub queue_name: String,
    pub channel_id: i64,
    pub agents: Vec<TestAgent>,
}

/// An agent account, logged in over HTTP.
#[derive(Debug, Clone)]
pub struct TestAgent {
    pub id: i64,
    pub username: String,
    pub password: String,
    pub token: String,
}

impl TestApp {
    /// Creates a queue; `overrides` are merged over a default body.
    pub async fn create_queue(&self, overrides: Value) -> i64 {
        let mut body = json!({
            "name": format!("Queue {}", unique()),
            "offer_timeout_secs": 30,
            "wrap_up_secs": 60,
            "disposition_codes": [
                {"code": "resolved", "label": "Resolved"},
                {"code": "follow_up", "label": "Needs follow-up"}
            ],
        });
        merge(&mut body, overrides);
        let resp = self
            .post("/api/v1/queues", Some(&self.admin_token), &body)
            .await;
        id_of(json_created(resp, "create queue").await)
    }

    /// Creates an agent; `extra` is merged over `{username, password, display_name, role: agent}`.
    pub async fn create_agent(&self, username: &str, password: &str, extra: Value) -> i64 {
        let mut body = json!({
            "username": username,
            "password": password,
            "display_name": display_name_of(username),
            "role": "agent",
        });
        merge(&mut body, extra);
        let resp = self
            .post("/api/v1/agents", Some(&self.admin_token), &body)
            .await;
        id_of(json_created(resp, "create agent").await)
    }

    /// Creates the WhatsApp channel (phone_number_id 1234567890) feeding `queue_id`.
    pub async fn create_channel(&self, queue_id: i64) -> i64 {
        self.create_channel_with(queue_id, json!({})).await
    }

    pub async fn create_channel_with(&self, queue_id: i64, extra: Value) -> i64 {
        let mut body = json!({
            "kind": "whatsapp",
            "name": "Support line",
            "phone_number_id": PHONE_NUMBER_ID,
            "display_phone_number": DISPLAY_PHONE_NUMBER,
            "queue_id": queue_id,
            "access_token": ACCESS_TOKEN,
        });
        merge(&mut body, extra);
        let resp = self
            .post("/api/v1/channels", Some(&self.admin_token), &body)
            .await;
        id_of(json_created(resp, "create channel").await)
    }

    /// Creates and logs in an agent that is a member of `queues`.
    pub async fn new_agent(&self, queues: &[i64], extra: Value) -> TestAgent {
        let username = format!("agent{}", unique());
        let password = format!("pw-{username}-secret");
        let mut body = json!({ "queues": queues });
        merge(&mut body, extra);
        let id = self.create_agent(&username, &password, body).await;
        let login = self.login(&username, &password).await;
        TestAgent {
            id,
            username,
            password,
            token: login["token"].as_str().expect("agent token").to_string(),
        }
    }

    /// A queue (defaults merged with `queue_overrides`), `n_agents` member agents (logged in
    /// over HTTP, not connected) and the channel feeding the queue.
    pub async fn setup_basic(&self, n_agents: usize, queue_overrides: Value) -> Basic {
        self.setup_basic_with(n_agents, queue_overrides, json!({}))
            .await
    }

    /// As `setup_basic`, with `agent_extra` merged into every agent's creation body.
    pub async fn setup_basic_with(
        &self,
        n_agents: usize,
        queue_overrides: Value,
        agent_extra: Value,
    ) -> Basic {
        let queue_name = format!("Support {}", unique());
        let mut q = json!({ "name": queue_name });
        merge(&mut q, queue_overrides);
        let queue_name = q["name"].as_str().unwrap().to_string();
        let queue_id = self.create_queue(q).await;
        let mut agents = Vec::new();
        for _ in 0..n_agents {
            agents.push(self.new_agent(&[queue_id], agent_extra.clone()).await);
        }
        let channel_id = self.create_channel(queue_id).await;
        Basic {
            queue_id,
            queue_name,
            channel_id,
            agents,
        }
    }

    /// `PATCH /api/v1/settings` as the admin (masking and the like); the settings after.
    pub async fn set_settings(&self, body: Value) -> Value {
        let resp = self
            .patch("/api/v1/settings", Some(&self.admin_token), &body)
            .await;
        json_ok(resp, "PATCH /api/v1/settings").await
    }

    /// One queue's row of the live board (`GET /api/v1/stats/realtime`).
    pub async fn board_queue(&self, queue_id: i64) -> Value {
        let board = self.admin_get("/api/v1/stats/realtime").await;
        board["queues"]
            .as_array()
            .expect("board queues")
            .iter()
            .find(|q| q["id"] == json!(queue_id))
            .cloned()
            .unwrap_or_else(|| panic!("queue {queue_id} is not on the board: {board}"))
    }

    pub async fn get_interaction(&self, id: i64) -> Value {
        self.admin_get(&format!("/api/v1/interactions/{id}")).await
    }

    /// Lists interactions (admin); accepts `{"items": [...]}` or a bare array.
    pub async fn list_interactions(&self, query: &str) -> Vec<Value> {
        let v = self
            .admin_get(&format!("/api/v1/interactions{query}"))
            .await;
        items_of(v)
    }
}

pub fn display_name_of(username: &str) -> String {
    format!("Agent {username}")
}
