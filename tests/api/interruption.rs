//! Interruption (R15, R9): an admin deletes a channel, queue or agent that an open
//! conversation uses. Its agents get `interrupted`, can no longer write (nor transfer or
//! conference), can only end and wrap up; pending offers are revoked with `resource_deleted`;
//! a conversation with no agent left is closed at once with its call log.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

fn name_of(a: &TestAgent) -> String {
    display_name_of(&a.username)
}

async fn admin_delete(app: &TestApp, path: &str) {
    let resp = app.delete(path, Some(&app.admin_token)).await;
    let status = resp.status().as_u16();
    let body = resp.text().await.unwrap_or_default();
    assert!(
        status == 204 || status == 200,
        "DELETE {path}: HTTP {status}: {body}"
    );
}

async fn wait_interrupted(c: &mut AgentClient, id: i64) -> Value {
    let e = c
        .wait_for_where("interrupted", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert!(
        e["reason"].as_str().is_some_and(|r| !r.is_empty()),
        "an interrupted event says why: {e}"
    );
    e
}

/// Everything but end and wrap-up is refused with `interrupted`.
async fn assert_only_end_and_wrap_up(c: &mut AgentClient, id: i64, other_agent: i64, queue: i64) {
    let e = c.send_message(id, "can I still write?").await.unwrap_err();
    assert_eq!(e["code"], "interrupted", "{e}");
    for cmd in [
        json!({"type": "transfer", "interaction_id": id, "agent_id": other_agent}),
        json!({"type": "transfer", "interaction_id": id, "queue_id": queue}),
        json!({"type": "conference", "interaction_id": id, "agent_id": other_agent}),
    ] {
        let code = c.err(cmd.clone()).await;
        assert!(
            code == "interrupted" || code == "not_owner",
            "{cmd} must be refused: {code}"
        );
    }
}

async fn end_and_wrap(c: &mut AgentClient, id: i64, disposition: Option<&str>) {
    c.end(id).await;
    c.wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id)
    })
    .await;
    c.wrap_up(id, disposition).await.expect("wrap_up");
    c.wait_for_where("wrap_up_done", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id)
    })
    .await;
}

async fn wait_closed_with_activity(app: &TestApp, id: i64) -> Value {
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;
    app.wait_activity("", |a| a["interaction_id"] == json!(id))
        .await
}

/// A second queue with no channel, fed by a transfer from `owner`'s conversation.
async fn transfer_into(owner: &mut AgentClient, id: i64, queue: i64) {
    owner
        .ok(json!({"type": "transfer", "interaction_id": id, "queue_id": queue}))
        .await;
    owner
        .wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
}

// ---------------------------------------------------------------------------------------------
// Channel deletion
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_the_channel_interrupts_an_active_conversation() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.INT1").await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550301001", "hello").await;
    a.send_message(id, "before the deletion")
        .await
        .expect("send works before");

    admin_delete(&app, &format!("/api/v1/channels/{}", b.channel_id)).await;
    wait_interrupted(&mut a, id).await;
    let v = app.get_interaction(id).await;
    assert_eq!(
        v["state"], "active",
        "interrupted, not closed: an agent is in it"
    );
    assert!(!v["interrupted"].is_null(), "{v}");

    assert_only_end_and_wrap_up(&mut a, id, b.agents[1].id, b.queue_id).await;
    end_and_wrap(&mut a, id, Some("resolved")).await;
    let act = wait_closed_with_activity(&app, id).await;
    assert_eq!(act["disposition"], "resolved");
    let transcript: Vec<String> = act["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["text"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(transcript.contains(&"before the deletion".to_string()));
    assert!(
        !transcript.contains(&"can I still write?".to_string()),
        "the refused message was not stored"
    );
}

#[tokio::test]
async fn deleting_the_channel_closes_a_waiting_conversation_at_once() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    app.customer_says("15550301011", "Waiting", "anyone there?")
        .await;
    let id = id_of(app.list_interactions("").await[0].clone());
    assert_eq!(app.get_interaction(id).await["state"], "queued");

    admin_delete(&app, &format!("/api/v1/channels/{}", b.channel_id)).await;
    let act = wait_closed_with_activity(&app, id).await;
    assert_eq!(act["customer"]["phone"], "+15550301011");
    assert_eq!(act["transcript"][0]["text"], "anyone there?");

    // Nobody is offered it afterwards.
    let mut a = app.agent_online(&b.agents[0]).await;
    a.expect_no("offer", Duration::from_millis(1000)).await;
}

#[tokio::test]
async fn deleting_the_channel_revokes_a_pending_offer() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"offer_timeout_secs": 60})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says("15550301021", "Offered", "hi").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();

    admin_delete(&app, &format!("/api/v1/channels/{}", b.channel_id)).await;
    let r = a
        .wait_for_where("offer_revoked", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(r["reason"], "resource_deleted");
    wait_closed_with_activity(&app, id).await;
    // No penalty: the agent is still available, and its capacity is free.
    a.expect_no_where("status", Duration::from_millis(500), |e| {
        e["status"] != "available"
    })
    .await;
    let code = a.err(json!({"type": "accept", "interaction_id": id})).await;
    assert!(
        code == "invalid_state" || code == "not_offered" || code == "not_found",
        "{code}"
    );
}

#[tokio::test]
async fn deleting_the_channel_revokes_a_pending_conference_invitation() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 60})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550301031", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    a.ok(json!({"type": "conference", "interaction_id": id, "agent_id": b.agents[1].id}))
        .await;
    g.wait_for("offer", EVENT_TIMEOUT).await;

    admin_delete(&app, &format!("/api/v1/channels/{}", b.channel_id)).await;
    let r = g.wait_for("offer_revoked", EVENT_TIMEOUT).await;
    assert_eq!(r["interaction_id"], json!(id));
    assert_eq!(r["reason"], "resource_deleted");
    wait_interrupted(&mut a, id).await;
    let v = app.get_interaction(id).await;
    assert_eq!(v["conference_state"], "none", "{v}");
    // The invited agent can no longer join.
    let code = g.err(json!({"type": "accept", "interaction_id": id})).await;
    assert_eq!(code, "not_offered");
    end_and_wrap(&mut a, id, None).await;
    wait_closed_with_activity(&app, id).await;
}

#[tokio::test]
async fn deleting_the_channel_during_a_pending_transfer_revokes_it() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 60})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550301051", "hi").await;
    let mut t = app.agent_online(&b.agents[1]).await;
    a.ok(json!({"type": "transfer", "interaction_id": id, "agent_id": b.agents[1].id}))
        .await;
    t.wait_for("offer", EVENT_TIMEOUT).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;

    admin_delete(&app, &format!("/api/v1/channels/{}", b.channel_id)).await;
    let r = t.wait_for("offer_revoked", EVENT_TIMEOUT).await;
    assert_eq!(r["interaction_id"], json!(id));
    assert_eq!(r["reason"], "resource_deleted");
    assert_eq!(
        t.err(json!({"type": "accept", "interaction_id": id})).await,
        "not_offered"
    );
    // The transferring agent finishes its wrap-up: nobody is left, so the call is logged.
    a.wrap_up(id, Some("resolved")).await.expect("wrap_up");
    wait_closed_with_activity(&app, id).await;
}

#[tokio::test]
async fn deleting_an_unrelated_resource_interrupts_nothing() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.INT2").await;
    let b = app.setup_basic(1, json!({})).await;
    let other_queue = app.create_queue(json!({})).await;
    let other_channel = app
        .create_channel_with(
            other_queue,
            json!({"phone_number_id": "2223334447", "display_phone_number": "+1 555 0400"}),
        )
        .await;
    let bystander = app.new_agent(&[other_queue], json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550301041", "hi").await;

    admin_delete(&app, &format!("/api/v1/channels/{other_channel}")).await;
    admin_delete(&app, &format!("/api/v1/queues/{other_queue}")).await;
    admin_delete(&app, &format!("/api/v1/agents/{}", bystander.id)).await;
    a.expect_no("interrupted", Duration::from_millis(800)).await;
    a.send_message(id, "still fine").await.expect("send");
    assert!(app.get_interaction(id).await["interrupted"].is_null());
}

// ---------------------------------------------------------------------------------------------
// Queue deletion (only possible once no channel routes to it)
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_a_queue_interrupts_the_conversation_in_it() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let second = app.create_queue(json!({"name": "Second line"})).await;
    let member = app.new_agent(&[second], json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550302001", "hi").await;
    let mut x = app.agent_online(&member).await;
    transfer_into(&mut a, id, second).await;
    a.wrap_up(id, None).await.expect("wrap_up");
    x.wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] == json!(id))
        .await;
    x.accept(id).await;

    admin_delete(&app, &format!("/api/v1/queues/{second}")).await;
    wait_interrupted(&mut x, id).await;
    assert_only_end_and_wrap_up(&mut x, id, b.agents[0].id, b.queue_id).await;
    end_and_wrap(&mut x, id, None).await;
    let act = wait_closed_with_activity(&app, id).await;
    assert_eq!(act["queue"]["id"], json!(second));
}

#[tokio::test]
async fn deleting_a_queue_closes_a_conversation_waiting_in_it() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let second = app.create_queue(json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550302011", "hi").await;
    transfer_into(&mut a, id, second).await;
    a.wrap_up(id, Some("resolved")).await.expect("wrap_up");
    assert_eq!(app.get_interaction(id).await["state"], "queued");

    admin_delete(&app, &format!("/api/v1/queues/{second}")).await;
    let act = wait_closed_with_activity(&app, id).await;
    assert_eq!(act["transcript"][0]["text"], "hi");
}

#[tokio::test]
async fn a_conversation_waiting_in_a_deleted_queue_closes_once_the_last_agent_wraps_up() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let second = app.create_queue(json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550302021", "hi").await;
    transfer_into(&mut a, id, second).await;
    // The queue goes while the transferring agent is still wrapping up.
    admin_delete(&app, &format!("/api/v1/queues/{second}")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    a.wrap_up(id, None).await.expect("wrap_up");
    // Nobody can ever take it: it must not stay open forever.
    wait_closed_with_activity(&app, id).await;
}

#[tokio::test]
async fn deleting_a_queue_revokes_an_offer_from_it() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let second = app.create_queue(json!({"offer_timeout_secs": 60})).await;
    let member = app.new_agent(&[second], json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550302031", "hi").await;
    let mut x = app.connect(&member).await;
    x.set_status("on_break").await;
    transfer_into(&mut a, id, second).await;
    a.wrap_up(id, None).await.expect("wrap_up");
    x.set_status("available").await;
    x.wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] == json!(id))
        .await;

    admin_delete(&app, &format!("/api/v1/queues/{second}")).await;
    let r = x
        .wait_for_where("offer_revoked", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(r["reason"], "resource_deleted");
    wait_closed_with_activity(&app, id).await;
}

// ---------------------------------------------------------------------------------------------
// Agent deletion
// ---------------------------------------------------------------------------------------------

#[tokio::test]
async fn deleting_the_only_agent_closes_its_socket_and_its_conversation() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550303001", "hello").await;

    admin_delete(&app, &format!("/api/v1/agents/{}", b.agents[0].id)).await;
    assert!(
        a.wait_closed(EVENT_TIMEOUT).await,
        "the deleted agent's WebSocket is closed"
    );
    let act = wait_closed_with_activity(&app, id).await;
    assert_eq!(act["transcript"][0]["text"], "hello");
    let agents = act["agents"].as_array().unwrap();
    assert!(agents
        .iter()
        .any(|p| p["agent_id"] == json!(b.agents[0].id)));
}

#[tokio::test]
async fn deleting_an_agent_reroutes_its_pending_offer() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 60})).await;
    let mut c0 = app.agent_online(&b.agents[0]).await;
    let mut c1 = app.connect(&b.agents[1]).await;
    c1.set_status("on_break").await;
    app.customer_says("15550303011", "Rerouted", "hi").await;
    let offer = c0.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    c1.set_status("available").await;

    admin_delete(&app, &format!("/api/v1/agents/{}", b.agents[0].id)).await;
    assert!(c0.wait_closed(EVENT_TIMEOUT).await);
    let again = c1
        .wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] == json!(id))
        .await;
    assert_eq!(again["customer"]["phone"], "+15550303011");
    c1.accept(id).await;
    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert!(
        v["interrupted"].is_null(),
        "a rerouted offer is not interrupted"
    );
}

#[tokio::test]
async fn deleting_a_conferenced_agent_interrupts_the_conversation_for_the_owner() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(3, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550303021", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    invite_and_join(&mut a, &mut g, id, &name_of(&b.agents[1])).await;

    admin_delete(&app, &format!("/api/v1/agents/{}", b.agents[1].id)).await;
    assert!(g.wait_closed(EVENT_TIMEOUT).await);
    wait_interrupted(&mut a, id).await;
    assert_only_end_and_wrap_up(&mut a, id, b.agents[2].id, b.queue_id).await;
    end_and_wrap(&mut a, id, Some("resolved")).await;
    let act = wait_closed_with_activity(&app, id).await;
    let ids: Vec<i64> = act["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["agent_id"].as_i64().unwrap())
        .collect();
    assert!(
        ids.contains(&b.agents[0].id) && ids.contains(&b.agents[1].id),
        "{act}"
    );
}

#[tokio::test]
async fn deleting_the_owner_lets_the_remaining_agent_end_the_conversation() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(3, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550303031", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    invite_and_join(&mut a, &mut g, id, &name_of(&b.agents[1])).await;

    admin_delete(&app, &format!("/api/v1/agents/{}", b.agents[0].id)).await;
    assert!(a.wait_closed(EVENT_TIMEOUT).await);
    wait_interrupted(&mut g, id).await;
    let e = g.send_message(id, "hello?").await.unwrap_err();
    assert_eq!(e["code"], "interrupted");
    // Not the owner, but the conversation is interrupted: it may end it.
    end_and_wrap(&mut g, id, None).await;
    wait_closed_with_activity(&app, id).await;
}
