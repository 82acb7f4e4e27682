//! Demo data for `cargo run --release` on an empty database: a "Support" queue with
//! disposition codes, an admin, two agents, a sandbox WhatsApp channel and a few canned
//! responses.

use crate::admin::agents::{self, NewAgent};
use crate::admin::channels::{self, NewChannel};
use crate::admin::queues::{self, QueueFields};
use crate::admin::Actors;
use crate::configuration::Settings;
use crate::domain::{DispositionCode, Role, Strategy};
use crate::store::canned::{self, CannedFields};
use crate::store::{users, Store, StoreError};

pub const DEMO_ADMIN: (&str, &str) = ("admin", "admin-demo-pass");
pub const DEMO_AGENTS: [(&str, &str, &str); 2] = [
    ("alice", "Alice Martin", "alice-demo-pass"),
    ("bob", "Bob Nguyen", "bob-demo-pass"),
];
pub const DEMO_PHONE_NUMBER_ID: &str = "100000000000001";
pub const DEMO_APP_SECRET: &str = "demo-app-secret";
pub const DEMO_WABA_ID: &str = "100000000000002";

/// Seeds the demo data when the database has nothing but admins. No actor runs yet: they
/// find the seeded records when they start.
pub async fn seed_if_empty(store: &Store, settings: &Settings) -> anyhow::Result<()> {
    if !store.read_now(users::only_admins_exist)? {
        return Ok(());
    }
    let user = |username: &str, name: &str, role: Role, password: &str| NewAgent {
        username: username.into(),
        display_name: Some(name.into()),
        role,
        password: password.into(),
        max_concurrent: 3,
        can_reject: true,
        auto_multi_match_pop: true,
        queues: Vec::new(),
        skills: Vec::new(),
    };
    if !store.read_now(users::any_admin)? {
        let admin = user(DEMO_ADMIN.0, "Demo Admin", Role::Admin, DEMO_ADMIN.1);
        agents::create(store, Actors::NotStarted, admin).await?;
    }
    let mut agent_ids = Vec::new();
    for (username, name, password) in DEMO_AGENTS {
        let agent = user(username, name, Role::Agent, password);
        agent_ids.push(agents::create(store, Actors::NotStarted, agent).await?.id);
    }
    let code = |code: &str, label: &str| DispositionCode {
        code: code.into(),
        label: label.into(),
    };
    let support = QueueFields {
        name: "Support".into(),
        offer_timeout_secs: 30,
        wrap_up_secs: 60,
        disposition_codes: vec![
            code("resolved", "Resolved"),
            code("follow_up", "Follow-up"),
            code("escalated", "Escalated"),
            code("no_answer", "Customer did not answer"),
        ],
        disposition_required: false,
        strategy: Strategy::LongestIdle,
        alert_warn_secs: 60,
        alert_critical_secs: 180,
        csat_enabled: true,
        csat_question: crate::domain::csat::DEFAULT_QUESTION.into(),
        csat_timeout_hours: 24,
        service_level_secs: i64::from(crate::domain::reports::DEFAULT_SERVICE_LEVEL_SECS),
        routing: Default::default(),
    };
    let queue = queues::create(store, Actors::NotStarted, support, &agent_ids).await?;
    let app_secret = settings
        .whatsapp
        .app_secret
        .clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEMO_APP_SECRET.to_string());
    let sandbox = NewChannel {
        kind: "whatsapp".into(),
        name: "Demo WhatsApp (sandbox)".into(),
        phone_number_id: DEMO_PHONE_NUMBER_ID.into(),
        display_phone_number: "+1 555 010 0000".into(),
        queue_id: queue.id,
        access_token: "sandbox-token".into(),
        app_secret: Some(app_secret),
        verify_token: Some("demo-verify-token".into()),
        waba_id: Some(DEMO_WABA_ID.into()),
    };
    channels::create(store, Actors::NotStarted, sandbox).await?;
    seed_canned_responses(store, queue.id).await?;
    tracing::info!("demo data created");
    Ok(())
}

/// Saved replies agents pick with `/` in the composer (R26): two for every queue, one for
/// Support.
async fn seed_canned_responses(store: &Store, support: i64) -> anyhow::Result<()> {
    let replies = [
        (
            "hello",
            "Greeting",
            "Hi {{customer.first_name}}, this is {{agent.first_name}} from {{queue.name}}. \
             How can I help you today?",
            None,
        ),
        (
            "thanks",
            "Thanks and goodbye",
            "Thank you for writing to us, {{customer.first_name}}! If anything else comes up, \
             just message us here. Have a great day.",
            None,
        ),
        (
            "order-status",
            "Ask for the order number",
            "Could you send me your order number, {{customer.first_name}}? I will check where \
             your parcel is right away.",
            Some(support),
        ),
    ];
    let now = crate::domain::time::now_ms();
    store
        .write(move |db| {
            for (shortcut, title, text, queue_id) in replies {
                let fields = CannedFields {
                    shortcut: shortcut.into(),
                    title: title.into(),
                    text: text.into(),
                    queue_id,
                };
                canned::insert(db, &fields, None, now)?;
            }
            Ok::<_, StoreError>(())
        })
        .await?;
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
