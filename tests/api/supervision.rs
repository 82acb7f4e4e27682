//! R25: supervisors watch a conversation (agents are not told), whisper with internal notes
//! (never sent to WhatsApp, kept in the call log marked internal) and barge in as a
//! participant; watching ends with `unmonitor` or the desktop; masking applies to watchers.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

const CUSTOMER: &str = "15550005001";

fn monitor(id: i64) -> Value {
    json!({"type": "monitor", "interaction_id": id})
}

fn note(id: i64, text: &str) -> Value {
    json!({"type": "note", "interaction_id": id, "text": text})
}

/// An agent with an accepted conversation, and a connected supervisor (no queue).
async fn watched(app: &TestApp) -> (Basic, AgentClient, TestAgent, AgentClient, i64) {
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, CUSTOMER, "My parcel is lost")
        .await;
    let supervisor = app.new_agent(&[], json!({"role": "supervisor"})).await;
    let s = app.connect(&supervisor).await;
    (b, a, supervisor, s, id)
}

#[tokio::test]
async fn a_supervisor_watches_whispers_and_barges_in() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let (b, mut a, supervisor, mut s, id) = watched(&app).await;

    // Agents cannot watch or barge in.
    assert_eq!(a.err(monitor(id)).await, "forbidden");
    assert_eq!(
        a.err(json!({"type": "barge_in", "interaction_id": id}))
            .await,
        "forbidden"
    );

    // The supervisor gets the conversation, then its events; the agent is not told.
    s.ok(monitor(id)).await;
    let shown = s
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| e["id"] == json!(id))
        .await;
    assert_eq!(shown["messages"][0]["text"], "My parcel is lost");
    app.customer_says(CUSTOMER, "Carla", "Any news?").await;
    s.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "Any news?"
    })
    .await;
    a.send_message(id, "Looking into it").await.expect("send");
    s.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "Looking into it"
    })
    .await;
    s.wait_for_where("message_status", EVENT_TIMEOUT, |e| e["status"] == "sent")
        .await;

    // A whisper: both see it as internal; it never reaches WhatsApp.
    s.ok(note(id, "Offer a refund, it is the second time"))
        .await;
    let whisper = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["direction"] == "internal"
        })
        .await;
    assert_eq!(
        whisper["message"]["text"],
        "Offer a refund, it is the second time"
    );
    assert_eq!(
        whisper["message"]["author"]["name"],
        display_name_of(&supervisor.username)
    );
    a.ok(note(id, "Will do")).await;
    s.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "Will do" && e["message"]["direction"] == "internal"
    })
    .await;
    assert_eq!(a.err(note(id, "   ")).await, "empty_message");

    // The live board lists it, with its agent.
    let board = json_ok(
        app.get("/api/v1/stats/realtime", Some(&supervisor.token))
            .await,
        "board",
    )
    .await;
    let listed = board["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(id))
        .unwrap_or_else(|| panic!("not on the board: {board}"))
        .clone();
    assert_eq!(listed["agent_id"], json!(b.agents[0].id));
    assert_eq!(listed["state"], "active");
    assert_eq!(listed["alert"], "none");

    // Unmonitor: no more events.
    s.ok(json!({"type": "unmonitor", "interaction_id": id}))
        .await;
    app.customer_says(CUSTOMER, "Carla", "Hello?").await;
    a.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "Hello?"
    })
    .await;
    s.expect_no_where("message", Duration::from_millis(400), |e| {
        e["message"]["text"] == "Hello?"
    })
    .await;
    // Not watching and not in it: no note.
    assert_eq!(s.err(note(id, "psst")).await, "not_participant");

    // Barge in: a participant who writes to the customer, then leaves like a guest.
    s.ok(json!({"type": "barge_in", "interaction_id": id}))
        .await;
    let joined = a
        .wait_for_where("message", EVENT_TIMEOUT, |e| {
            e["message"]["direction"] == "system"
                && e["message"]["text"]
                    .as_str()
                    .is_some_and(|t| t.ends_with("joined the chat"))
        })
        .await;
    assert!(joined["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with(&display_name_of(&supervisor.username)));
    let state = a
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| {
            e["participants"]
                .as_array()
                .is_some_and(|p| p.iter().any(|p| p["role"] == "supervisor"))
        })
        .await;
    assert_eq!(state["id"], json!(id));
    s.send_message(
        id,
        "Hi Carla, I am the team lead: we will refund you today.",
    )
    .await
    .expect("a supervisor in it may write");
    s.ok(json!({"type": "leave_conference", "interaction_id": id}))
        .await;

    a.end(id).await;
    a.wrap_up(id, None).await.expect("wrap up");
    let log = app
        .wait_activity("", |l| l["interaction_id"] == json!(id))
        .await;
    let notes: Vec<&str> = log["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["direction"] == "internal")
        .filter_map(|m| m["text"].as_str())
        .collect();
    assert_eq!(notes, ["Offer a refund, it is the second time", "Will do"]);

    let sent: Vec<String> = app
        .cloud_api_bodies()
        .await
        .iter()
        .map(|b| b.to_string())
        .collect();
    assert!(sent.iter().any(|b| b.contains("team lead")), "{sent:?}");
    assert!(
        !sent
            .iter()
            .any(|b| b.contains("refund, it is") || b.contains("Will do")),
        "a note reached WhatsApp: {sent:?}"
    );
}

#[tokio::test]
async fn watching_ends_with_the_desktop_and_a_role_change_closes_the_socket() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let (_b, mut a, supervisor, mut s, id) = watched(&app).await;
    s.ok(monitor(id)).await;
    s.wait_for_where("interaction", EVENT_TIMEOUT, |e| e["id"] == json!(id))
        .await;
    s.close().await;
    let mut s = app.connect(&supervisor).await;
    app.customer_says(CUSTOMER, "Carla", "Still there?").await;
    a.wait_for_where("message", EVENT_TIMEOUT, |e| {
        e["message"]["text"] == "Still there?"
    })
    .await;
    s.expect_no("message", Duration::from_millis(400)).await;
    assert_eq!(s.err(monitor(id + 1000)).await, "not_found");

    // An admin demotes the supervisor: the socket closes (what it may see changed).
    let resp = app
        .patch(
            &format!("/api/v1/agents/{}", supervisor.id),
            Some(&app.admin_token),
            &json!({"role": "agent"}),
        )
        .await;
    json_ok(resp, "demote").await;
    assert!(s.wait_closed(EVENT_TIMEOUT).await, "the socket stayed open");
    let mut again = app.connect(&supervisor).await;
    assert_eq!(again.err(monitor(id)).await, "forbidden");
}

#[tokio::test]
async fn a_watcher_is_masked_as_an_agent_unless_supervisors_may_see_and_that_is_audited() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let (_b, _a, _supervisor, mut s, id) = watched(&app).await;
    app.set_settings(json!({"masking_enabled": true})).await;
    s.ok(monitor(id)).await;
    let shown = s
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| e["id"] == json!(id))
        .await;
    assert_ne!(
        shown["customer"]["phone"],
        format!("+{CUSTOMER}"),
        "{shown}"
    );
    // The board names customers masked too (a customer WhatsApp gave no name is a number).
    app.customer_says("15550005002", "+1 555 000 5002", "Hi")
        .await;
    let board = app.admin_get("/api/v1/stats/realtime").await;
    let listed: Vec<&str> = board["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["customer"].as_str())
        .collect();
    assert_eq!(listed.len(), 2, "{board}");
    assert!(
        listed
            .iter()
            .all(|c| !c.contains("5550005002") && !c.contains("555 000 5002")),
        "{listed:?}"
    );

    app.set_settings(json!({"supervisors_see_unmasked": true}))
        .await;
    s.ok(monitor(id)).await;
    let shown = s
        .wait_for_where("interaction", EVENT_TIMEOUT, |e| {
            e["id"] == json!(id) && e["customer"]["phone"] == format!("+{CUSTOMER}")
        })
        .await;
    assert_eq!(shown["messages"][0]["text"], "My parcel is lost");
    let audit = items_of(app.admin_get("/api/v1/audit").await);
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "read_unmasked" && r["subject"] == format!("interaction:{id}")),
        "{audit:?}"
    );
}
