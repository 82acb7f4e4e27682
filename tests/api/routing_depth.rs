//! Routing depth (R27): skills and levels, priority, sticky agents, business hours with their
//! closed and greeting messages, overflow; durable across a restart.

use crate::helpers::*;
use chrono::{Datelike, Timelike, Utc};
use serde_json::{json, Value};
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(1200);
const OVERFLOW_PNID: &str = "5556667777";

fn id_in(offer: &Value) -> i64 {
    offer["interaction_id"]
        .as_i64()
        .expect("offer interaction_id")
}

/// The phone of each offer, in the order they came.
async fn offered_phones(agent: &mut AgentClient, n: usize) -> Vec<String> {
    let mut phones = Vec::new();
    for _ in 0..n {
        let offer = agent.wait_for("offer", EVENT_TIMEOUT).await;
        phones.push(offer["customer"]["phone"].as_str().unwrap().to_string());
    }
    phones
}

/// The system-authored outbound texts of a conversation (R27's closed and greeting messages).
fn system_texts(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "out" && m["author"]["kind"] == "system")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

/// The transcript's system notes (direction `system`).
fn notes(v: &Value) -> Vec<String> {
    v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "system")
        .map(|m| m["text"].as_str().unwrap().to_string())
        .collect()
}

async fn only_interaction(app: &TestApp) -> Value {
    let list = app.list_interactions("").await;
    assert_eq!(list.len(), 1, "{list:?}");
    app.get_interaction(id_of(list[0].clone())).await
}

/// Polls the interaction until it is in `queue_id` or `timeout` passes; the interaction as
/// last read, and when (ms).
async fn wait_in_queue(app: &TestApp, id: i64, queue_id: i64, timeout: Duration) -> (Value, i64) {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        let v = app.get_interaction(id).await;
        if v["queue"]["id"] == json!(queue_id) || std::time::Instant::now() > deadline {
            return (v, now_ms());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---- skills -------------------------------------------------------------------------------

#[tokio::test]
async fn only_agents_with_every_required_skill_at_its_level_get_offers() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic(
            0,
            json!({"required_skills": [{"name": "Spanish", "min_level": 5}, {"name": "billing", "min_level": 1}]}),
        )
        .await;
    let q = b.queue_id;
    let below = app
        .new_agent(
            &[q],
            json!({"skills": [{"name": "spanish", "level": 4}, {"name": "billing", "level": 9}]}),
        )
        .await;
    let missing = app
        .new_agent(&[q], json!({"skills": [{"name": "spanish", "level": 10}]}))
        .await;
    let exact = app
        .new_agent(
            &[q],
            json!({"skills": [{"name": "SPANISH", "level": 5}, {"name": "Billing", "level": 1}]}),
        )
        .await;
    let mut below = app.agent_online(&below).await;
    let mut missing = app.agent_online(&missing).await;

    app.customer_says("15550170001", "Ana", "hola").await;
    below.expect_no("offer", SHORT).await;
    missing.expect_no("offer", Duration::from_millis(100)).await;
    // The one with both skills, at the level exactly, gets it as soon as it is available.
    let mut exact = app.agent_online(&exact).await;
    let offer = exact.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550170001");
    below.expect_no("offer", Duration::from_millis(300)).await;

    // An agent's skills change: it is a candidate at once.
    let resp = app
        .patch(
            &format!("/api/v1/agents/{}", below.agent_id),
            Some(&app.admin_token),
            &json!({"skills": [{"name": "spanish", "level": 5}, {"name": "billing", "level": 9}]}),
        )
        .await;
    let agent = json_ok(resp, "PATCH skills").await;
    assert_eq!(agent["skills"][0], json!({"name": "spanish", "level": 5}));
    app.customer_says("15550170002", "Ben", "hola otra vez")
        .await;
    let offer = below.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550170002");

    // The queue requires nothing any more: the agent without billing qualifies.
    let resp = app
        .patch(
            &format!("/api/v1/queues/{q}"),
            Some(&app.admin_token),
            &json!({"required_skills": []}),
        )
        .await;
    json_ok(resp, "PATCH required_skills").await;
    app.customer_says("15550170003", "Cy", "hello").await;
    let offer = missing.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550170003");
}

#[tokio::test]
async fn skills_and_routing_settings_are_checked_and_a_refusal_changes_nothing() {
    let app = TestApp::spawn().await;
    let q = app.create_queue(json!({})).await;
    let other = app.create_queue(json!({})).await;
    let bad_queue_bodies = [
        json!({"required_skills": [{"name": "spanish", "min_level": 11}]}),
        json!({"required_skills": [{"name": " ", "min_level": 1}]}),
        json!({"required_skills": [{"name": "a", "min_level": 1}, {"name": "A", "min_level": 2}]}),
        json!({"default_priority": 10}),
        json!({"sticky_agent_secs": -1}),
        json!({"sticky_window_hours": 0}),
        json!({"hours": {"timezone": "Mars/Olympus", "weekly": []}}),
        json!({"hours": {"timezone": "UTC", "weekly": [{"day": "mon", "open": "17:00", "close": "09:00"}]}}),
        json!({"hours": {"timezone": "UTC", "weekly": [], "weekley": []}}),
        json!({"closed_message": "x".repeat(4097)}),
        json!({"max_wait_secs": 60}),
        json!({"overflow_queue_id": other}),
        json!({"max_wait_secs": 0, "overflow_queue_id": other}),
        json!({"max_wait_secs": 60, "overflow_queue_id": q}),
    ];
    let before = app.admin_get(&format!("/api/v1/queues/{q}")).await;
    for body in bad_queue_bodies {
        let resp = app
            .patch(
                &format!("/api/v1/queues/{q}"),
                Some(&app.admin_token),
                &body,
            )
            .await;
        assert_eq!(assert_error(resp, 400).await, "invalid_input");
    }
    let resp = app
        .patch(
            &format!("/api/v1/queues/{q}"),
            Some(&app.admin_token),
            &json!({"max_wait_secs": 60, "overflow_queue_id": 999_999}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "unknown_queue");
    assert_eq!(app.admin_get(&format!("/api/v1/queues/{q}")).await, before);

    let resp = app
        .post(
            "/api/v1/agents",
            Some(&app.admin_token),
            &json!({"username": "skilled", "password": "long enough", "skills": [{"name": "x", "level": 0}]}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "invalid_input");
    let resp = app.try_login("skilled", "long enough").await;
    assert_eq!(resp.status(), 401, "the refused agent was not created");

    // Defaults, and what a queue with every setting reads back as.
    assert_eq!(before["required_skills"], json!([]));
    assert_eq!(before["default_priority"], 0);
    assert_eq!(before["sticky_agent_secs"], 0);
    assert_eq!(before["sticky_window_hours"], 72);
    assert!(before["hours"].is_null() && before["max_wait_secs"].is_null());
    let hours = json!({
        "timezone": "Europe/Madrid",
        "weekly": [
            {"day": "tue", "open": "14:00", "close": "18:00"},
            {"day": "mon", "open": "09:00", "close": "17:00"},
            {"day": "tue", "open": "09:00", "close": "13:00"},
            {"day": "sat", "open": "10:00", "close": "24:00"}
        ],
        "holidays": ["2026-12-25", "2026-01-01"]
    });
    let resp = app
        .patch(
            &format!("/api/v1/queues/{q}"),
            Some(&app.admin_token),
            &json!({"hours": hours, "closed_message": "Closed", "greeting_message": "Hi",
                    "max_wait_secs": 120, "overflow_queue_id": other, "default_priority": 3,
                    "sticky_agent_secs": 30, "sticky_window_hours": 24,
                    "required_skills": [{"name": "french", "min_level": 2}]}),
        )
        .await;
    let v = json_ok(resp, "PATCH every routing setting").await;
    assert_eq!(
        v["hours"],
        json!({
            "timezone": "Europe/Madrid",
            "weekly": [
                {"day": "mon", "open": "09:00", "close": "17:00"},
                {"day": "tue", "open": "09:00", "close": "13:00"},
                {"day": "tue", "open": "14:00", "close": "18:00"},
                {"day": "sat", "open": "10:00", "close": "24:00"}
            ],
            "holidays": ["2026-01-01", "2026-12-25"]
        })
    );
    assert_eq!(v["overflow_queue_id"], json!(other));
    assert_eq!(v["max_wait_secs"], 120);
    assert_eq!(v["default_priority"], 3);
    // null clears, blank is none.
    let resp = app
        .patch(
            &format!("/api/v1/queues/{q}"),
            Some(&app.admin_token),
            &json!({"hours": null, "closed_message": "  ", "max_wait_secs": null, "overflow_queue_id": null}),
        )
        .await;
    let v = json_ok(resp, "PATCH clears").await;
    assert!(v["hours"].is_null() && v["closed_message"].is_null(), "{v}");
    assert!(v["overflow_queue_id"].is_null() && v["max_wait_secs"].is_null());
    assert_eq!(v["greeting_message"], "Hi");

    // A deleted overflow queue leaves the queues that overflowed into it without overflow.
    let resp = app
        .patch(
            &format!("/api/v1/queues/{q}"),
            Some(&app.admin_token),
            &json!({"max_wait_secs": 120, "overflow_queue_id": other}),
        )
        .await;
    json_ok(resp, "PATCH overflow").await;
    let resp = app
        .delete(&format!("/api/v1/queues/{other}"), Some(&app.admin_token))
        .await;
    assert_eq!(resp.status(), 204);
    let v = app.admin_get(&format!("/api/v1/queues/{q}")).await;
    assert!(
        v["overflow_queue_id"].is_null() && v["max_wait_secs"].is_null(),
        "{v}"
    );
}

// ---- priority -----------------------------------------------------------------------------

#[tokio::test]
async fn a_vip_is_served_first_and_a_returned_conversation_at_the_front_of_its_priority() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let resp = app
        .post(
            "/api/v1/contacts",
            Some(&app.admin_token),
            &json!({"first_name": "Vera", "phones": ["+15550171009"], "priority": 9}),
        )
        .await;
    json_created(resp, "VIP contact").await;

    let mut first = app.connect(&b.agents[0]).await;
    first.set_status("on_break").await;
    let mut owner = app.agent_online(&b.agents[1]).await;
    let returning = app
        .deliver_and_accept(&mut owner, "15550171001", "served, then transferred back")
        .await;
    owner.set_status("on_break").await;

    app.customer_says("15550171002", "Old", "waiting first")
        .await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    app.customer_says("15550171009", "Vera", "I am a VIP").await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    app.customer_says("15550171003", "New", "waiting last")
        .await;
    // Back in the queue: at the front of priority 0, behind the VIP.
    owner
        .ok(json!({"type": "transfer", "interaction_id": returning, "queue_id": b.queue_id}))
        .await;

    let queue = app.board_queue(b.queue_id).await;
    assert_eq!(
        queue["waiting_by_priority"],
        json!([{"priority": 9, "waiting": 1}, {"priority": 0, "waiting": 3}]),
        "{queue}"
    );
    assert!(queue["next_overflow_at"].is_null());
    assert_eq!(queue["open"], true);

    first.set_status("available").await;
    let order = offered_phones(&mut first, 3).await;
    assert_eq!(
        order,
        ["+15550171009", "+15550171001", "+15550171002"],
        "VIP, then the returned one, then the oldest"
    );
    let vip = app
        .list_interactions("")
        .await
        .into_iter()
        .find(|i| i["customer"]["phone"] == "+15550171009")
        .unwrap();
    assert_eq!(vip["priority"], 9);
}

#[tokio::test]
async fn a_queue_default_priority_is_raised_by_a_contact_never_lowered() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"default_priority": 4})).await;
    for (phone, priority) in [("+15550172001", 2), ("+15550172002", 7)] {
        let resp = app
            .post(
                "/api/v1/contacts",
                Some(&app.admin_token),
                &json!({"first_name": "C", "phones": [phone], "priority": priority}),
            )
            .await;
        json_created(resp, "contact").await;
    }
    let mut a = app.agent_online(&b.agents[0]).await;
    for (phone, expected) in [("15550172001", 4), ("15550172002", 7), ("15550172003", 4)] {
        app.customer_says(phone, "C", "hi").await;
        let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
        assert_eq!(offer["priority"], expected, "{phone}: {offer}");
        let v = app.get_interaction(id_in(&offer)).await;
        assert_eq!(v["priority"], expected);
    }
}

// ---- sticky agents ------------------------------------------------------------------------

/// Two agents of a queue with `sticky_agent_secs` (one conversation at a time each): the
/// other on break, the last one online.
async fn sticky_pair(app: &TestApp, sticky_agent_secs: u32) -> (Basic, AgentClient, AgentClient) {
    let b = app
        .setup_basic_with(
            2,
            json!({"sticky_agent_secs": sticky_agent_secs}),
            json!({"max_concurrent": 1}),
        )
        .await;
    let mut other = app.connect(&b.agents[1]).await;
    other.set_status("on_break").await;
    let last = app.agent_online(&b.agents[0]).await;
    (b, other, last)
}

/// The customer's first conversation, served and closed by `last`; then `last` takes
/// another customer's and is at capacity.
async fn served_then_busy(app: &TestApp, last: &mut AgentClient, phone: &str, busy: &str) {
    let id = app.deliver_and_accept(last, phone, "first visit").await;
    last.end_and_wrap_up(id).await;
    app.deliver_and_accept(last, busy, "keeps the agent busy")
        .await;
}

#[tokio::test]
async fn a_returning_customer_goes_to_the_last_agent_first_then_to_everyone() {
    let app = TestApp::spawn().await;
    let (_, mut other, mut last) = sticky_pair(&app, 2).await;
    let first = app
        .deliver_and_accept(&mut last, "15550173001", "first visit")
        .await;
    // The other agent is idle from now on: the strategy (longest idle) would pick it.
    other.set_status("available").await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    last.end_and_wrap_up(first).await;

    app.customer_says("15550173001", "Back", "me again").await;
    let offer = last.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(
        offer["customer"]["phone"], "+15550173001",
        "to the last agent"
    );
    other.expect_no("offer", Duration::from_millis(300)).await;
    let second = id_in(&offer);
    last.accept_active(second).await;
    last.end_and_wrap_up(second).await;

    // The last agent is busy (at capacity): the next returning conversation waits for it
    // for sticky_agent_secs, then goes to everyone.
    other.set_status("on_break").await;
    app.deliver_and_accept(&mut last, "15550173002", "keeps the agent busy")
        .await;
    other.set_status("available").await;
    let started = std::time::Instant::now();
    app.customer_says("15550173001", "Back", "third time").await;
    other.expect_no("offer", SHORT).await;
    let offer = other.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550173001");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_millis(4500),
        "offered to everyone after sticky_agent_secs: {waited:?}"
    );
}

#[tokio::test]
async fn a_previous_conversation_older_than_the_window_makes_no_sticky_agent() {
    let app = TestApp::spawn().await;
    let (b, mut other, mut last) = sticky_pair(&app, 60).await;
    let resp = app
        .patch(
            &format!("/api/v1/queues/{}", b.queue_id),
            Some(&app.admin_token),
            &json!({"sticky_window_hours": 1}),
        )
        .await;
    json_ok(resp, "PATCH sticky_window_hours").await;
    let first = app
        .deliver_and_accept(&mut last, "15550174201", "first visit")
        .await;
    last.end_and_wrap_up(first).await;
    // It closed an hour and a minute ago (the clock is moved in the row, as a day would).
    let c = rusqlite::Connection::open(&app.db_path).unwrap();
    let moved = c
        .execute(
            "UPDATE interactions SET closed_at = closed_at - 3660000 WHERE id = ?1",
            [first],
        )
        .unwrap();
    assert_eq!(moved, 1);

    // The last agent is busy: inside the window the customer would wait 60 s for it.
    app.deliver_and_accept(&mut last, "15550174202", "keeps the agent busy")
        .await;
    other.set_status("available").await;
    app.customer_says("15550174201", "Back", "much later").await;
    let offer = other.wait_for("offer", Duration::from_secs(3)).await;
    assert_eq!(offer["customer"]["phone"], "+15550174201");
}

#[tokio::test]
async fn an_offline_last_agent_never_delays_the_customer() {
    let app = TestApp::spawn().await;
    let (_, mut other, mut last) = sticky_pair(&app, 60).await;
    let id = app
        .deliver_and_accept(&mut last, "15550174001", "first visit")
        .await;
    last.end_and_wrap_up(id).await;

    // The last agent logged off: the returning customer goes to the other agent at once.
    last.close().await;
    other.set_status("available").await;
    app.customer_says("15550174001", "Back", "hello again")
        .await;
    let offer = other.wait_for("offer", Duration::from_secs(3)).await;
    assert_eq!(offer["customer"]["phone"], "+15550174001");
}

#[tokio::test]
async fn a_last_agent_who_leaves_releases_the_waiting_customer_at_once() {
    let app = TestApp::spawn().await;
    let (_, mut other, mut last) = sticky_pair(&app, 60).await;
    served_then_busy(&app, &mut last, "15550174101", "15550174102").await;
    other.set_status("available").await;
    // The last agent is busy: the returning customer waits for it...
    app.customer_says("15550174101", "Back", "hello again")
        .await;
    other.expect_no("offer", SHORT).await;
    // ...until it goes on break: then at once, not after 60 s.
    last.set_status("on_break").await;
    let offer = other.wait_for("offer", Duration::from_secs(3)).await;
    assert_eq!(offer["customer"]["phone"], "+15550174101");
}

// ---- business hours -----------------------------------------------------------------------

fn day_name(d: chrono::Weekday) -> &'static str {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][d.num_days_from_monday() as usize]
}

fn all_week_except(skip: Option<chrono::Weekday>) -> Vec<Value> {
    ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .into_iter()
        .filter(|d| skip.is_none_or(|s| day_name(s) != *d))
        .map(|d| json!({"day": d, "open": "00:00", "close": "24:00"}))
        .collect()
}

#[tokio::test]
async fn out_of_hours_three_messages_get_one_closed_message_and_wait() {
    let app = TestApp::spawn().await;
    // Open every day but today (UTC).
    let today = Utc::now().weekday();
    let b = app
        .setup_basic(
            0,
            json!({
                "hours": {"timezone": "UTC", "weekly": all_week_except(Some(today))},
                "closed_message": "We are closed: we answer from 9 tomorrow.",
                "greeting_message": "Hello! An agent will be with you shortly."
            }),
        )
        .await;
    app.cloud_api_accepts_all().await;
    for text in ["hello?", "anyone there?", "please"] {
        app.customer_says("15550175001", "Night Owl", text).await;
    }
    app.wait_cloud_api_requests(1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.cloud_api_texts().await,
        ["We are closed: we answer from 9 tomorrow."],
        "one closed message, no greeting"
    );
    let v = only_interaction(&app).await;
    assert_eq!(v["state"], "queued", "it waits in the queue");
    assert_eq!(
        system_texts(&v),
        ["We are closed: we answer from 9 tomorrow."]
    );
    let q = app.board_queue(b.queue_id).await;
    assert_eq!(q["open"], false, "{q}");
}

#[tokio::test]
async fn a_holiday_closes_the_whole_day() {
    let app = TestApp::spawn().await;
    let today = Utc::now().date_naive().to_string();
    app.setup_basic(
        0,
        json!({
            "hours": {"timezone": "UTC", "weekly": all_week_except(None), "holidays": [today]},
            "closed_message": "Closed for the holiday.",
            "greeting_message": "Hello!"
        }),
    )
    .await;
    app.cloud_api_accepts_all().await;
    app.customer_says("15550176001", "C", "hi").await;
    app.wait_cloud_api_requests(1).await;
    assert_eq!(app.cloud_api_texts().await, ["Closed for the holiday."]);
}

#[tokio::test]
async fn hours_follow_the_queue_time_zone_where_the_day_differs_from_utc() {
    let app = TestApp::spawn().await;
    // A zone whose date differs from UTC's now, well away from its midnight: Kiritimati
    // (UTC+14) after 11:00 UTC, Pago Pago (UTC−11) before.
    let now = Utc::now();
    let (zone, offset_hours) = if now.hour() >= 11 {
        ("Pacific/Kiritimati", 14)
    } else {
        ("Pacific/Pago_Pago", -11)
    };
    let local_day = (now + chrono::Duration::hours(offset_hours)).weekday();
    assert_ne!(
        local_day,
        now.weekday(),
        "the zone's day differs from UTC's"
    );
    app.setup_basic(
        0,
        json!({
            "hours": {"timezone": zone, "weekly": [{"day": day_name(local_day), "open": "00:00", "close": "24:00"}]},
            "closed_message": "closed",
            "greeting_message": "open, in the queue's own time zone"
        }),
    )
    .await;
    app.cloud_api_accepts_all().await;
    app.customer_says("15550177001", "C", "hi").await;
    app.customer_says("15550177001", "C", "again").await;
    app.wait_cloud_api_requests(1).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        app.cloud_api_texts().await,
        ["open, in the queue's own time zone"],
        "the greeting, once"
    );
}

#[tokio::test]
async fn always_open_greets_once_per_conversation_not_per_message() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic(1, json!({"greeting_message": "Welcome!"}))
        .await;
    app.cloud_api_accepts_all().await;
    for text in ["one", "two", "three"] {
        app.customer_says("15550178001", "C", text).await;
    }
    let mut a = app.agent_online(&b.agents[0]).await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = id_in(&offer);
    let v = a.accept_active(id).await;
    let texts: Vec<&str> = v["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["one", "Welcome!", "two", "three"],
        "in the transcript, after the first"
    );
    assert_eq!(app.cloud_api_texts().await, ["Welcome!"]);
    // A new conversation after this one closes is greeted again.
    a.end_and_wrap_up(id).await;
    app.customer_says("15550178001", "C", "back").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_ne!(id_in(&offer), id);
    app.wait_cloud_api_requests(2).await;
    assert_eq!(app.cloud_api_texts().await, ["Welcome!", "Welcome!"]);
}

// ---- overflow -----------------------------------------------------------------------------

/// Queue `main` (the channel's) overflows into `spill` after `max_wait_secs`; `spill` has
/// its own channel and one agent, on break.
async fn overflow_setup(app: &TestApp, max_wait_secs: u32) -> (Basic, i64, AgentClient) {
    let spill = app.create_queue(json!({"name": "Spill"})).await;
    let b = app
        .setup_basic(
            0,
            json!({"name": "Main", "max_wait_secs": max_wait_secs, "overflow_queue_id": spill}),
        )
        .await;
    // Overflowing back would loop: it must not.
    let resp = app
        .patch(
            &format!("/api/v1/queues/{spill}"),
            Some(&app.admin_token),
            &json!({"max_wait_secs": 1, "overflow_queue_id": b.queue_id}),
        )
        .await;
    json_ok(resp, "spill overflows back").await;
    app.create_channel_with(
        spill,
        json!({"name": "Spill line", "phone_number_id": OVERFLOW_PNID, "display_phone_number": "+1 555 0300"}),
    )
    .await;
    let agent = app.new_agent(&[spill], json!({})).await;
    let mut c = app.connect(&agent).await;
    c.set_status("on_break").await;
    (b, spill, c)
}

#[tokio::test]
async fn a_conversation_that_waits_too_long_overflows_once_to_the_front() {
    let app = TestApp::spawn().await;
    let (b, spill, mut spill_agent) = overflow_setup(&app, 1).await;
    // One already waits in the overflow queue.
    customer_says_on(
        &app,
        OVERFLOW_PNID,
        "15550179009",
        "Earlier",
        "waiting in spill",
    )
    .await;
    app.customer_says("15550179001", "Patient", "hello").await;

    let list = app.list_interactions("").await;
    let id = list
        .iter()
        .find(|i| i["customer"]["phone"] == "+15550179001")
        .map(|i| id_of(i.clone()))
        .unwrap();
    let main = app.board_queue(b.queue_id).await;
    assert!(main["next_overflow_at"].is_string(), "{main}");

    // After max_wait_secs it is in the overflow queue, with a system message...
    let (v, _) = wait_in_queue(&app, id, spill, Duration::from_secs(5)).await;
    assert_eq!(v["queue"]["id"], json!(spill), "{v}");
    let overflow_notes = notes(&v);
    assert_eq!(overflow_notes.len(), 1, "{overflow_notes:?}");
    assert!(
        overflow_notes[0].contains("Main") && overflow_notes[0].contains("Spill"),
        "{overflow_notes:?}"
    );
    // ...and stays there: the overflow queue's own overflow does not send it back.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let v = app.get_interaction(id).await;
    assert_eq!(v["queue"]["id"], json!(spill), "no loop back");
    assert_eq!(notes(&v).len(), 1);
    // At the front of the overflow queue: before the one that waited there.
    spill_agent.set_status("available").await;
    let offer = spill_agent.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["interaction_id"], json!(id));
    assert_eq!(offer["queue"]["id"], json!(spill));
}

#[tokio::test]
async fn an_overflow_due_during_a_restart_fires_at_once_after_it() {
    let mut app = TestApp::spawn().await;
    let (_b, spill, spill_agent) = overflow_setup(&app, 3).await;
    drop(spill_agent);
    app.customer_says("15550179101", "Patient", "hello").await;
    let id = id_of(only_interaction(&app).await);
    app.kill9().await;
    tokio::time::sleep(Duration::from_millis(3200)).await;
    app.restart().await;
    let (v, _) = wait_in_queue(&app, id, spill, Duration::from_secs(3)).await;
    assert_eq!(
        v["queue"]["id"],
        json!(spill),
        "overflowed right after the restart: {v}"
    );
    assert_eq!(notes(&v).len(), 1);
}

#[tokio::test]
async fn a_pending_overflow_resumes_after_a_restart() {
    let mut app = TestApp::spawn().await;
    let (_b, spill, spill_agent) = overflow_setup(&app, 6).await;
    drop(spill_agent);
    app.customer_says("15550179201", "Patient", "hello").await;
    let v = only_interaction(&app).await;
    let (id, created) = (
        id_of(v.clone()),
        rfc3339_ms(v["created_at"].as_str().unwrap()),
    );
    app.kill9().await;
    app.restart().await;
    // Not yet: the clock started when it arrived...
    let v = app.get_interaction(id).await;
    assert_ne!(v["queue"]["id"], json!(spill), "{v}");
    let (v, seen_at) = wait_in_queue(&app, id, spill, Duration::from_secs(10)).await;
    assert_eq!(v["queue"]["id"], json!(spill), "{v}");
    // ...and it kept its time: at 6 s after the arrival, not 6 s after the restart.
    assert!(
        seen_at - created < 6_800,
        "overflowed {} ms after the arrival",
        seen_at - created
    );
}

#[tokio::test]
async fn a_sticky_reservation_resumes_after_a_restart() {
    let mut app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.reconnect_grace_secs", 60);
    })
    .await;
    let (b, other, mut last) = sticky_pair(&app, 5).await;
    served_then_busy(&app, &mut last, "15550180001", "15550180002").await;
    // The returning customer waits for the busy last agent...
    let started = std::time::Instant::now();
    app.customer_says("15550180001", "Back", "hello again")
        .await;
    drop(last);
    drop(other);
    app.kill9().await;
    app.restart().await;
    // ...and still does after the restart, though nobody is connected yet.
    let mut other = app.connect(&b.agents[1]).await;
    other.set_status("available").await;
    let left = Duration::from_secs(5).saturating_sub(started.elapsed());
    assert!(
        left > Duration::from_millis(1500),
        "the restart took too long: {left:?} left"
    );
    other
        .expect_no("offer", left - Duration::from_millis(700))
        .await;
    let offer = other.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550180001");
    assert!(
        started.elapsed() < Duration::from_millis(8000),
        "{:?}",
        started.elapsed()
    );
}
