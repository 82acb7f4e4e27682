//! Demo data for `cargo run --release` on an empty database: a "Support" queue with
//! disposition codes, an admin, two agents and a sandbox WhatsApp channel.

use crate::auth::create_user_now;
use crate::configuration::Settings;
use crate::domain::time::now_ms;
use crate::domain::Role;
use crate::store::Store;
use rusqlite::params;

pub const DEMO_ADMIN: (&str, &str) = ("admin", "admin-demo-pass");
pub const DEMO_AGENTS: [(&str, &str, &str); 2] = [
    ("alice", "Alice Martin", "alice-demo-pass"),
    ("bob", "Bob Nguyen", "bob-demo-pass"),
];
pub const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";
pub const DEMO_APP_SECRET: &str = "demo-app-secret";

pub fn seed_if_empty(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    let empty: bool = store.read_now_sql(|c| {
        c.query_row(
            "SELECT NOT EXISTS(SELECT 1 FROM queues) AND NOT EXISTS(SELECT 1 FROM channels)
                AND NOT EXISTS(SELECT 1 FROM users WHERE role <> 'admin')",
            [],
            |r| r.get(0),
        )
    })?;
    if !empty {
        return Ok(());
    }
    let has_admin: bool = store.read_now_sql(|c| {
        c.query_row(
            "SELECT EXISTS(SELECT 1 FROM users WHERE role = 'admin' AND deleted = 0)",
            [],
            |r| r.get(0),
        )
    })?;
    if !has_admin {
        create_user_now(
            store,
            DEMO_ADMIN.0,
            "Demo Admin",
            Role::Admin,
            DEMO_ADMIN.1,
            3,
            true,
        )?;
    }
    let mut agent_ids = Vec::new();
    for (username, name, password) in DEMO_AGENTS {
        agent_ids.push(create_user_now(
            store,
            username,
            name,
            Role::Agent,
            password,
            3,
            true,
        )?);
    }
    let codes = serde_json::json!([
        {"code": "resolved", "label": "Resolved"},
        {"code": "follow_up", "label": "Follow-up"},
        {"code": "escalated", "label": "Escalated"},
        {"code": "no_answer", "label": "Customer did not answer"}
    ])
    .to_string();
    let app_secret = settings
        .whatsapp
        .app_secret
        .clone()
        .unwrap_or_else(|| DEMO_APP_SECRET.to_string());
    store.write_now_sql(move |c| {
        let now = now_ms();
        c.execute(
            "INSERT INTO queues (name, offer_timeout_secs, wrap_up_secs, disposition_codes,
                disposition_required, strategy, alert_warn_secs, alert_critical_secs, created_at, updated_at)
             VALUES ('Support', 30, 60, ?1, 0, 'longest_idle', 60, 180, ?2, ?2)",
            params![codes, now],
        )?;
        let queue_id = c.last_insert_rowid();
        for agent_id in &agent_ids {
            c.execute(
                "INSERT INTO queue_members (queue_id, agent_id) VALUES (?1, ?2)",
                params![queue_id, agent_id],
            )?;
        }
        c.execute(
            "INSERT INTO channels (kind, name, phone_number_id, display_phone_number, queue_id,
                access_token, app_secret, verify_token, created_at, updated_at)
             VALUES ('whatsapp', 'Demo WhatsApp (sandbox)', ?1, '+1 555 010 0000', ?2,
                'sandbox-token', ?3, 'demo-verify-token', ?4, ?4)",
            params![DEMO_PHONE_NUMBER_ID, queue_id, app_secret, now],
        )?;
        Ok(())
    })?;
    tracing::info!("demo data created");
    Ok(())
}

/// Printed at start when the demo is on: where to go and who to log in as.
pub fn print_banner(address: &str) {
    println!("Agent desktop:      {address}/");
    println!("Customer simulator: {address}/simulator.html");
    println!("Demo logins (username / password):");
    println!("  admin  {} / {}", DEMO_ADMIN.0, DEMO_ADMIN.1);
    for (username, _, password) in DEMO_AGENTS {
        println!("  agent  {username} / {password}");
    }
}
