//! Conference (R18): invitation, join message, everyone writes and reads, leave, end
//! conference, end with a conference running, the 5-agent limit, declined invitations,
//! inviting a queue, and the errors.

use crate::helpers::*;
use serde_json::{json, Value};
use std::time::Duration;

/// Offer timeout 5 s (the contract's minimum) plus slack.
const TIMEOUT_WAIT: Duration = Duration::from_secs(12);

fn name_of(a: &TestAgent) -> String {
    display_name_of(&a.username)
}

fn conference_agent(id: i64, agent: i64) -> Value {
    json!({"type": "conference", "interaction_id": id, "agent_id": agent})
}

fn conference_queue(id: i64, queue: i64) -> Value {
    json!({"type": "conference", "interaction_id": id, "queue_id": queue})
}

async fn interaction_where(c: &mut AgentClient, id: i64, pred: impl Fn(&Value) -> bool) -> Value {
    c.wait_for_where("interaction", EVENT_TIMEOUT, |e| {
        e["id"] == json!(id) && pred(e)
    })
    .await
}

async fn wait_text(c: &mut AgentClient, id: i64, text: &str) -> Value {
    let text = text.to_string();
    c.wait_for_where("message", EVENT_TIMEOUT, move |e| {
        e["interaction_id"] == json!(id) && e["message"]["text"] == json!(text)
    })
    .await
}

async fn expect_no_text(c: &mut AgentClient, text: &str) {
    let text = text.to_string();
    c.expect_no_where("message", Duration::from_millis(500), move |e| {
        e["message"]["text"] == json!(text)
    })
    .await
}

/// The author id of a message event, as a number (the wire may carry it as a string).
fn author_id(e: &Value) -> i64 {
    let id = &e["message"]["author"]["id"];
    id.as_i64()
        .or_else(|| id.as_str().and_then(|s| s.parse().ok()))
        .unwrap_or_else(|| panic!("no author id in {e}"))
}

fn participant_ids(it: &Value) -> Vec<i64> {
    let mut ids: Vec<i64> = it["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["agent_id"].as_i64().unwrap())
        .collect();
    ids.sort();
    ids
}

/// Ends and wraps up so an agent's part is closed.
async fn wrap(c: &mut AgentClient, id: i64) {
    c.wrap_up(id, Some("resolved")).await.expect("wrap_up");
    c.wait_for_where("wrap_up_done", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id)
    })
    .await;
}

#[tokio::test]
async fn conference_invite_join_and_everyone_writes_and_reads() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.CONF").await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, "15550201001", "I need two of you")
        .await;
    let mut g = app.agent_online(&b.agents[1]).await;

    a.ok(conference_agent(id, b.agents[1].id)).await;
    let req = interaction_where(&mut a, id, |e| e["conference_state"] == "requested").await;
    assert_eq!(req["owner_agent_id"], json!(b.agents[0].id));
    assert_eq!(
        app.get_interaction(id).await["conference_state"],
        "requested"
    );
    let offer = g
        .wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] == json!(id))
        .await;
    assert_eq!(offer["kind"], "conference");
    assert_eq!(offer["from_agent"]["id"], json!(b.agents[0].id));
    assert_eq!(offer["from_agent"]["display_name"], name_of(&b.agents[0]));

    g.accept(id).await;
    let joined = format!("{} joined the chat", name_of(&b.agents[1]));
    let na = wait_note(&mut a, id, &joined).await;
    assert_eq!(na["message"]["author"]["kind"], "system");
    wait_note(&mut g, id, &joined).await;
    let it = interaction_where(&mut g, id, |e| e["conference_state"] == "active").await;
    assert_eq!(it["state"], "active");
    assert_eq!(
        it["owner_agent_id"],
        json!(b.agents[0].id),
        "the owner stays"
    );
    assert_eq!(participant_ids(&it), {
        let mut v = vec![b.agents[0].id, b.agents[1].id];
        v.sort();
        v
    });
    let guest = it["participants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["agent_id"] == json!(b.agents[1].id))
        .unwrap()
        .clone();
    assert_eq!(guest["role"], "conference");
    assert!(
        message_texts(&it).contains(&"I need two of you".to_string()),
        "the guest sees the transcript"
    );

    // Both write; each sees the other's message, authored by the writer.
    a.send_message(id, "owner speaking").await.expect("send");
    g.send_message(id, "guest speaking").await.expect("send");
    let m = wait_text(&mut g, id, "owner speaking").await;
    assert_eq!(author_id(&m), b.agents[0].id);
    assert_eq!(m["message"]["direction"], "out");
    let m = wait_text(&mut a, id, "guest speaking").await;
    assert_eq!(author_id(&m), b.agents[1].id);
    assert_eq!(m["message"]["author"]["name"], name_of(&b.agents[1]));
    // Both go to the customer.
    let reqs = app.wait_cloud_api_requests(2).await;
    let bodies: Vec<String> = reqs
        .iter()
        .map(|r| String::from_utf8_lossy(&r.body).to_string())
        .collect();
    assert!(
        bodies.iter().any(|b| b.contains("guest speaking")),
        "{bodies:?}"
    );
    assert!(
        bodies.iter().any(|b| b.contains("owner speaking")),
        "{bodies:?}"
    );

    // The customer's messages reach both.
    app.customer_says("15550201001", "Customer", "hello both")
        .await;
    wait_text(&mut a, id, "hello both").await;
    wait_text(&mut g, id, "hello both").await;
}

#[tokio::test]
async fn a_conferenced_agent_leaves_and_the_owner_goes_on() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.CONF2").await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201011", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    invite_and_join(&mut a, &mut g, id, &name_of(&b.agents[1])).await;

    g.ok(json!({"type": "leave_conference", "interaction_id": id}))
        .await;
    let w = g
        .wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert!(w["disposition_codes"].is_array());
    wait_note(
        &mut a,
        id,
        &format!("{} left the chat", name_of(&b.agents[1])),
    )
    .await;
    interaction_where(&mut a, id, |e| e["conference_state"] == "none").await;
    a.expect_no("wrap_up_started", Duration::from_millis(300))
        .await;

    // The guest can no longer write; the chat goes on between owner and customer.
    let e = g.send_message(id, "still here?").await.unwrap_err();
    assert_eq!(e["code"], "invalid_state", "{e}");
    a.send_message(id, "just us now").await.expect("send");
    app.customer_says("15550201011", "Customer", "after leave")
        .await;
    wait_text(&mut a, id, "after leave").await;
    expect_no_text(&mut g, "after leave").await;

    // The guest's wrap-up closes only its part.
    wrap(&mut g, id).await;
    let owner_id = b.agents[0].id;
    interaction_where(&mut a, id, move |e| participant_ids(e) == vec![owner_id]).await;
    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert_eq!(v["conference_state"], "none");
    assert_eq!(v["owner_agent_id"], json!(owner_id));
}

#[tokio::test]
async fn the_owner_ends_the_conference_and_every_guest_wraps_up() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts("wamid.CONF3").await;
    let b = app.setup_basic(3, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201021", "hi").await;
    let mut g1 = app.agent_online(&b.agents[1]).await;
    let mut g2 = app.agent_online(&b.agents[2]).await;
    invite_and_join(&mut a, &mut g1, id, &name_of(&b.agents[1])).await;
    invite_and_join(&mut a, &mut g2, id, &name_of(&b.agents[2])).await;

    a.ok(json!({"type": "end_conference", "interaction_id": id}))
        .await;
    for g in [&mut g1, &mut g2] {
        g.wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    }
    wait_note(
        &mut a,
        id,
        &format!("{} left the chat", name_of(&b.agents[1])),
    )
    .await;
    wait_note(
        &mut a,
        id,
        &format!("{} left the chat", name_of(&b.agents[2])),
    )
    .await;
    let it = interaction_where(&mut a, id, |e| e["conference_state"] == "none").await;
    assert_eq!(it["state"], "active");
    a.expect_no("wrap_up_started", Duration::from_millis(300))
        .await;

    // The owner goes on alone; no conference left to end.
    a.send_message(id, "back to just me").await.expect("send");
    assert_eq!(
        a.err(json!({"type": "end_conference", "interaction_id": id}))
            .await,
        "invalid_state"
    );
    app.customer_says("15550201021", "Customer", "only the owner")
        .await;
    wait_text(&mut a, id, "only the owner").await;
    expect_no_text(&mut g1, "only the owner").await;
    expect_no_text(&mut g2, "only the owner").await;
    assert_eq!(app.get_interaction(id).await["conference_state"], "none");
}

#[tokio::test]
async fn end_with_a_conference_running_wraps_up_everyone_separately() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201031", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    invite_and_join(&mut a, &mut g, id, &name_of(&b.agents[1])).await;

    // Only the owner may end.
    assert_eq!(
        g.err(json!({"type": "end", "interaction_id": id})).await,
        "not_owner"
    );
    a.end(id).await;
    a.wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id)
    })
    .await;
    g.wait_for_where("wrap_up_started", EVENT_TIMEOUT, |e| {
        e["interaction_id"] == json!(id)
    })
    .await;
    assert_eq!(app.get_interaction(id).await["state"], "wrap_up");

    // The owner's wrap-up does not close the guest's part.
    wrap(&mut a, id).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.get_interaction(id).await["state"], "wrap_up");
    g.wrap_up(id, Some("follow_up")).await.expect("wrap_up");
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;
    let act = app
        .wait_activity(&format!("?agent_id={}", b.agents[1].id), |x| {
            x["interaction_id"] == json!(id)
        })
        .await;
    let agents: Vec<i64> = act["agents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["agent_id"].as_i64().unwrap())
        .collect();
    assert!(
        agents.contains(&b.agents[0].id) && agents.contains(&b.agents[1].id),
        "{act}"
    );
    assert_eq!(
        act["disposition"], "resolved",
        "the owner's code is the call's"
    );
}

#[tokio::test]
async fn at_most_five_agents_in_one_conversation() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(6, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201041", "crowd").await;
    let mut guests = Vec::new();
    for agent in &b.agents[1..] {
        guests.push(app.agent_online(agent).await);
    }
    for (i, g) in guests.iter_mut().take(4).enumerate() {
        invite_and_join(&mut a, g, id, &name_of(&b.agents[i + 1])).await;
    }
    let v = app.get_interaction(id).await;
    assert_eq!(v["participants"].as_array().unwrap().len(), 5);

    let code = a.err(conference_agent(id, b.agents[5].id)).await;
    assert_eq!(code, "conversation_full");
    let code = a.err(conference_queue(id, b.queue_id)).await;
    assert_eq!(code, "conversation_full");
    guests[4]
        .expect_no("offer", Duration::from_millis(500))
        .await;

    // One leaves: there is room again.
    guests[0]
        .ok(json!({"type": "leave_conference", "interaction_id": id}))
        .await;
    a.ok(conference_agent(id, b.agents[5].id)).await;
    let offer = guests[4]
        .wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] == json!(id))
        .await;
    assert_eq!(offer["kind"], "conference");
}

#[tokio::test]
async fn a_declined_invitation_leaves_the_conversation_as_it_was() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201051", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    a.ok(conference_agent(id, b.agents[1].id)).await;
    g.wait_for("offer", EVENT_TIMEOUT).await;
    g.ok(json!({"type": "reject", "interaction_id": id})).await;
    let r = g.wait_for("offer_revoked", EVENT_TIMEOUT).await;
    assert_eq!(r["reason"], "rejected");
    wait_note(
        &mut a,
        id,
        &format!("{} did not join the chat", name_of(&b.agents[1])),
    )
    .await;
    interaction_where(&mut a, id, |e| e["conference_state"] == "none").await;
    g.wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] == "on_break")
        .await;
    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert_eq!(v["owner_agent_id"], json!(b.agents[0].id));
    assert_eq!(v["conference_state"], "none");
    assert_eq!(participant_ids(&v), vec![b.agents[0].id]);
    a.expect_no("wrap_up_started", Duration::from_millis(200))
        .await;
}

#[tokio::test]
async fn an_invitation_that_times_out_lapses() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 5})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201061", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    a.ok(conference_agent(id, b.agents[1].id)).await;
    g.wait_for("offer", EVENT_TIMEOUT).await;
    let r = g.wait_for("offer_revoked", TIMEOUT_WAIT).await;
    assert_eq!(r["reason"], "timeout");
    wait_note(
        &mut a,
        id,
        &format!("{} did not join the chat", name_of(&b.agents[1])),
    )
    .await;
    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert_eq!(v["conference_state"], "none");
    // The owner may invite again.
    g.set_status("available").await;
    a.ok(conference_agent(id, b.agents[1].id)).await;
    g.wait_for("offer", EVENT_TIMEOUT).await;
}

#[tokio::test]
async fn inviting_a_queue_offers_its_best_agent_not_already_in_the_chat() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let experts = app.create_queue(json!({"name": "Experts"})).await;
    let inside = app.new_agent(&[experts], json!({})).await;
    let outside = app.new_agent(&[experts], json!({})).await;
    let resting = app.new_agent(&[experts], json!({})).await;

    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201071", "hi").await;
    let mut i = app.agent_online(&inside).await;
    invite_and_join(&mut a, &mut i, id, &name_of(&inside)).await;
    let mut r = app.connect(&resting).await;
    r.set_status("on_break").await;
    let mut o = app.agent_online(&outside).await;

    // `inside` is available and below capacity but already in the chat: `outside` is picked.
    a.ok(conference_queue(id, experts)).await;
    let offer = o
        .wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] == json!(id))
        .await;
    assert_eq!(offer["kind"], "conference");
    assert_eq!(offer["from_agent"]["id"], json!(b.agents[0].id));
    i.expect_no("offer", Duration::from_millis(300)).await;
    r.expect_no("offer", Duration::from_millis(100)).await;
    o.accept(id).await;
    wait_note(
        &mut a,
        id,
        &format!("{} joined the chat", name_of(&outside)),
    )
    .await;

    // Nobody eligible left in that queue.
    assert_eq!(
        a.err(conference_queue(id, experts)).await,
        "target_unavailable"
    );
    let v = app.get_interaction(id).await;
    assert_eq!(v["conference_state"], "active");
    assert_eq!(v["participants"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn conference_errors_are_clear_and_change_nothing() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(4, json!({})).await;
    let empty_queue = app.create_queue(json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, "15550201081", "hi").await;
    let mut g = app.agent_online(&b.agents[1]).await;
    let mut stranger = app.agent_online(&b.agents[2]).await;
    let mut brk = app.connect(&b.agents[3]).await;
    brk.set_status("on_break").await;
    let before = app.get_interaction(id).await;

    // Without a conference.
    assert_eq!(
        a.err(json!({"type": "end_conference", "interaction_id": id}))
            .await,
        "invalid_state"
    );
    assert_eq!(
        a.err(json!({"type": "leave_conference", "interaction_id": id}))
            .await,
        "not_conference_participant"
    );
    // Bad targets.
    assert_eq!(
        a.err(conference_agent(id, b.agents[0].id)).await,
        "invalid_target"
    );
    assert_eq!(a.err(conference_agent(id, 987_654)).await, "not_found");
    assert_eq!(a.err(conference_queue(id, 987_654)).await, "not_found");
    assert_eq!(
        a.err(conference_agent(id, b.agents[3].id)).await,
        "target_unavailable"
    );
    assert_eq!(
        a.err(conference_queue(id, empty_queue)).await,
        "target_unavailable"
    );
    assert_eq!(
        a.err(json!({"type": "conference", "interaction_id": id}))
            .await,
        "bad_request"
    );
    // Not in it.
    assert_eq!(
        stranger.err(conference_agent(id, b.agents[1].id)).await,
        "not_participant"
    );
    let after = app.get_interaction(id).await;
    assert_eq!(after["conference_state"], "none");
    assert_eq!(after["state"], "active");
    assert_eq!(message_texts(&after), message_texts(&before));
    g.expect_no("offer", Duration::from_millis(300)).await;
    brk.expect_no("offer", Duration::from_millis(100)).await;

    // While an invitation is pending, a second one is refused.
    a.ok(conference_agent(id, b.agents[1].id)).await;
    g.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(
        a.err(conference_agent(id, b.agents[2].id)).await,
        "invalid_state"
    );
    stranger
        .expect_no("offer", Duration::from_millis(300))
        .await;
    g.accept(id).await;
    wait_note(
        &mut a,
        id,
        &format!("{} joined the chat", name_of(&b.agents[1])),
    )
    .await;

    // The guest is not the owner.
    for cmd in [
        conference_agent(id, b.agents[2].id),
        json!({"type": "end_conference", "interaction_id": id}),
        json!({"type": "transfer", "interaction_id": id, "queue_id": b.queue_id}),
    ] {
        assert_eq!(g.err(cmd.clone()).await, "not_owner", "{cmd}");
    }
    // The owner cannot leave; nor invite someone already in.
    assert_eq!(
        a.err(json!({"type": "leave_conference", "interaction_id": id}))
            .await,
        "not_conference_participant"
    );
    assert_eq!(
        a.err(conference_agent(id, b.agents[1].id)).await,
        "invalid_target"
    );
    // During wrap-up.
    a.end(id).await;
    a.wait_for("wrap_up_started", EVENT_TIMEOUT).await;
    assert_eq!(
        a.err(conference_agent(id, b.agents[2].id)).await,
        "invalid_state"
    );
    assert_eq!(
        g.err(json!({"type": "leave_conference", "interaction_id": id}))
            .await,
        "invalid_state"
    );
    stranger
        .expect_no("offer", Duration::from_millis(300))
        .await;
}
