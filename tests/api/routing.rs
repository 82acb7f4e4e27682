//! Routing: offers, eligibility, timeouts, rejects, capacity, stop-new, strategies (R2–R4).

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

const SHORT: Duration = Duration::from_millis(1500);
/// Offer timeout 5 s (the contract's minimum) plus slack.
const TIMEOUT_WAIT: Duration = Duration::from_secs(12);

async fn accept_offer(agent: &mut AgentClient, offer: &serde_json::Value) -> i64 {
    let id = offer["interaction_id"].as_i64().unwrap();
    agent.accept(id).await;
    id
}

#[tokio::test]
async fn offer_reaches_an_available_member_with_its_details() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"offer_timeout_secs": 30})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says("15550004001", "Maria Lopez", "Hello there")
        .await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert!(offer["interaction_id"].is_i64(), "{offer}");
    assert_eq!(offer["kind"], "new");
    assert_eq!(offer["customer"]["name"], "Maria Lopez");
    assert_eq!(offer["customer"]["phone"], "+15550004001");
    assert_eq!(offer["source_number"], DISPLAY_PHONE_NUMBER);
    assert_eq!(offer["queue"]["id"], json!(b.queue_id));
    assert_eq!(offer["queue"]["name"], json!(b.queue_name));
    assert_eq!(offer["can_reject"], true);
    assert!(offer["contact_matches"].is_u64());
    assert!(offer["from_agent"].is_null());
    let received = rfc3339_ms(offer["received_at"].as_str().unwrap());
    let expires = rfc3339_ms(offer["expires_at"].as_str().unwrap());
    let lasting = expires - received;
    assert!(
        (25_000..=35_000).contains(&lasting),
        "the offer lasts the queue's offer_timeout_secs: {lasting} ms"
    );
    let v = app
        .get_interaction(offer["interaction_id"].as_i64().unwrap())
        .await;
    assert_eq!(v["state"], "offered");
}

#[tokio::test]
async fn only_eligible_agents_get_offers() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let other_queue = app.create_queue(json!({})).await;
    let outsider = app.new_agent(&[other_queue], json!({})).await;

    let mut member = app.connect(&b.agents[0]).await;
    member.set_status("on_break").await;
    let mut stranger = app.agent_online(&outsider).await;

    app.customer_says("15550004002", "Queued", "anyone?").await;
    member.expect_no("offer", SHORT).await;
    stranger
        .expect_no("offer", Duration::from_millis(200))
        .await;

    // The waiting interaction is served as soon as a member becomes available.
    member.set_status("available").await;
    let offer = member.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550004002");
    stranger
        .expect_no("offer", Duration::from_millis(300))
        .await;
}

#[tokio::test]
async fn disconnected_members_get_nothing() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let mut online = app.agent_online(&b.agents[0]).await;
    // The second member is available but not connected.
    let mut c = app.agent_online(&b.agents[1]).await;
    c.set_status("available").await;
    c.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for i in 0..2 {
        app.customer_says(&format!("1555000410{i}"), "C", "hi")
            .await;
        let offer = online.wait_for("offer", EVENT_TIMEOUT).await;
        accept_offer(&mut online, &offer).await;
    }
}

#[tokio::test]
async fn one_agent_at_a_time() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(3, json!({})).await;
    let mut c0 = app.agent_online(&b.agents[0]).await;
    let mut c1 = app.agent_online(&b.agents[1]).await;
    let mut c2 = app.agent_online(&b.agents[2]).await;
    app.customer_says("15550004003", "Solo", "one conversation")
        .await;
    let (who, _) = wait_offer_any(&mut [&mut c0, &mut c1, &mut c2], EVENT_TIMEOUT).await;
    let mut others: Vec<&mut AgentClient> = vec![&mut c0, &mut c1, &mut c2];
    others.remove(who);
    for o in others {
        o.expect_no("offer", Duration::from_millis(700)).await;
    }
}

#[tokio::test]
async fn oldest_waiting_is_served_first() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(1, json!({}), json!({"max_concurrent": 1}))
        .await;
    app.customer_says("15550004004", "First", "1").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.customer_says("15550004005", "Second", "2").await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    app.customer_says("15550004006", "Third", "3").await;

    let mut a = app.agent_online(&b.agents[0]).await;
    for phone in ["+15550004004", "+15550004005", "+15550004006"] {
        let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
        assert_eq!(offer["customer"]["phone"], phone);
        let id = accept_offer(&mut a, &offer).await;
        a.end_and_wrap_up(id).await;
    }
}

#[tokio::test]
async fn offer_timeout_revokes_puts_agent_on_break_and_offers_the_next() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({"offer_timeout_secs": 5})).await;
    let mut c0 = app.agent_online(&b.agents[0]).await;
    let mut c1 = app.agent_online(&b.agents[1]).await;
    app.customer_says("15550004007", "Waiting", "hello?").await;
    let (who, offer) = wait_offer_any(&mut [&mut c0, &mut c1], EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].clone();
    let (first, second) = if who == 0 {
        (&mut c0, &mut c1)
    } else {
        (&mut c1, &mut c0)
    };

    let revoked = first
        .wait_for_where("offer_revoked", TIMEOUT_WAIT, |e| e["interaction_id"] == id)
        .await;
    assert_eq!(revoked["reason"], "timeout");
    first
        .wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] == "on_break")
        .await;
    let next = second.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(next["interaction_id"], id);
    second.accept(id.as_i64().unwrap()).await;
}

#[tokio::test]
async fn timed_out_agent_stays_in_rona_until_it_acts() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("routing.no_answer_status", "rona");
    })
    .await;
    let b = app.setup_basic(1, json!({"offer_timeout_secs": 5})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says("15550004008", "Waiting", "hello?").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let revoked = a.wait_for("offer_revoked", TIMEOUT_WAIT).await;
    assert_eq!(revoked["interaction_id"], offer["interaction_id"]);
    assert_eq!(revoked["reason"], "timeout");
    let st = a
        .wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] != "available")
        .await;
    assert_eq!(st["status"], "rona");
    a.expect_no("offer", SHORT).await;
    let v = app
        .get_interaction(offer["interaction_id"].as_i64().unwrap())
        .await;
    assert_eq!(v["state"], "queued", "back in the queue, not dropped");

    a.set_status("available").await;
    let again = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(again["interaction_id"], offer["interaction_id"]);
}

#[tokio::test]
async fn reject_revokes_and_offers_the_next_agent() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let mut c0 = app.agent_online(&b.agents[0]).await;
    let mut c1 = app.agent_online(&b.agents[1]).await;
    app.customer_says("15550004009", "Picky", "hi").await;
    let (who, offer) = wait_offer_any(&mut [&mut c0, &mut c1], EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].clone();
    let (first, second) = if who == 0 {
        (&mut c0, &mut c1)
    } else {
        (&mut c1, &mut c0)
    };

    first
        .ok(json!({"type": "reject", "interaction_id": id}))
        .await;
    let revoked = first.wait_for("offer_revoked", EVENT_TIMEOUT).await;
    assert_eq!(revoked["interaction_id"], id);
    assert_eq!(revoked["reason"], "rejected");
    first
        .wait_for_where("status", EVENT_TIMEOUT, |e| e["status"] == "on_break")
        .await;
    let next = second.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(next["interaction_id"], id);
    // The rejecting agent cannot take it back any more.
    let code = first
        .err(json!({"type": "accept", "interaction_id": id}))
        .await;
    assert_eq!(code, "not_offered");
}

#[tokio::test]
async fn reject_needs_can_reject() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(1, json!({}), json!({"can_reject": false}))
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    assert_eq!(a.hello["agent"]["can_reject"], false);
    app.customer_says("15550004010", "Must", "serve me").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["can_reject"], false);
    let id = offer["interaction_id"].as_i64().unwrap();
    let code = a.err(json!({"type": "reject", "interaction_id": id})).await;
    assert_eq!(code, "reject_not_permitted");
    // The offer still stands.
    a.accept(id).await;
    let v = app.get_interaction(id).await;
    assert_eq!(v["state"], "active");
    assert_eq!(v["owner_agent_id"], json!(b.agents[0].id));
}

#[tokio::test]
async fn accepting_what_was_not_offered_fails() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let mut c0 = app.agent_online(&b.agents[0]).await;
    let mut c1 = app.agent_online(&b.agents[1]).await;
    let code = c0
        .err(json!({"type": "accept", "interaction_id": 987654}))
        .await;
    assert_eq!(code, "not_found");

    app.customer_says("15550004011", "X", "hi").await;
    let (who, offer) = wait_offer_any(&mut [&mut c0, &mut c1], EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].clone();
    let (holder, other) = if who == 0 {
        (&mut c0, &mut c1)
    } else {
        (&mut c1, &mut c0)
    };
    assert_eq!(
        other
            .err(json!({"type": "accept", "interaction_id": id}))
            .await,
        "not_offered"
    );
    assert_eq!(
        other
            .err(json!({"type": "reject", "interaction_id": id}))
            .await,
        "not_offered"
    );
    holder.accept(id.as_i64().unwrap()).await;
}

#[tokio::test]
async fn load_never_exceeds_max_concurrent() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(1, json!({}), json!({"max_concurrent": 1}))
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    app.customer_says("15550004012", "One", "first").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    // A pending offer counts towards the load.
    app.customer_says("15550004013", "Two", "second").await;
    a.expect_no("offer", SHORT).await;
    let id = accept_offer(&mut a, &offer).await;
    a.expect_no("offer", SHORT).await;
    a.end(id).await;
    // Wrap-up still holds capacity.
    a.expect_no("offer", Duration::from_millis(800)).await;
    a.wrap_up(id, None).await.expect("wrap_up");
    let next = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(next["customer"]["phone"], "+15550004013");
}

#[tokio::test]
async fn stop_new_holds_offers_without_changing_status() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    a.ok(json!({"type": "stop_new", "enabled": true})).await;
    let st = a
        .wait_for_where("status", EVENT_TIMEOUT, |e| e["stop_new"] == true)
        .await;
    assert_eq!(
        st["status"], "available",
        "stop_new does not change the status"
    );

    app.customer_says("15550004014", "Later", "hi").await;
    a.expect_no("offer", SHORT).await;

    a.ok(json!({"type": "stop_new", "enabled": false})).await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550004014");
}

#[tokio::test]
async fn least_busy_prefers_the_agent_with_the_lowest_load() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(
            2,
            json!({"strategy": "least_busy"}),
            json!({"max_concurrent": 5}),
        )
        .await;
    let mut busy = app.agent_online(&b.agents[0]).await;
    app.deliver_and_accept(&mut busy, "15550004015", "1").await;
    app.deliver_and_accept(&mut busy, "15550004016", "2").await;

    let mut fresh = app.agent_online(&b.agents[1]).await;
    app.deliver_and_accept(&mut fresh, "15550004017", "3").await;
    // busy holds 2, fresh holds 1 (and accepted last): least_busy picks fresh.
    app.customer_says("15550004018", "Four", "4").await;
    let offer = fresh.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["customer"]["phone"], "+15550004018");
    busy.expect_no("offer", Duration::from_millis(500)).await;
}

#[tokio::test]
async fn round_robin_takes_turns_regardless_of_load() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(
            2,
            json!({"strategy": "round_robin"}),
            json!({"max_concurrent": 5}),
        )
        .await;
    let mut c0 = app.agent_online(&b.agents[0]).await;
    let mut c1 = app.agent_online(&b.agents[1]).await;

    app.customer_says("15550004019", "A", "1").await;
    let (x, o1) = wait_offer_any(&mut [&mut c0, &mut c1], EVENT_TIMEOUT).await;
    {
        let cx = if x == 0 { &mut c0 } else { &mut c1 };
        accept_offer(cx, &o1).await;
    }
    app.customer_says("15550004020", "B", "2").await;
    let (y, o2) = wait_offer_any(&mut [&mut c0, &mut c1], EVENT_TIMEOUT).await;
    assert_ne!(x, y, "round robin alternates");
    let id2 = {
        let cy = if y == 0 { &mut c0 } else { &mut c1 };
        let id2 = accept_offer(cy, &o2).await;
        cy.end_and_wrap_up(id2).await;
        id2
    };
    let _ = id2;
    // Now x holds 1 and y holds 0; round robin still goes to x (least_busy would pick y).
    app.customer_says("15550004021", "C", "3").await;
    let (z, _) = wait_offer_any(&mut [&mut c0, &mut c1], EVENT_TIMEOUT).await;
    assert_eq!(z, x, "the turn is x's even though y is less busy");
}

#[tokio::test]
async fn longest_idle_prefers_the_agent_idle_longest() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(2, json!({})).await;
    let mut early = app.agent_online(&b.agents[0]).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let mut late = app.agent_online(&b.agents[1]).await;

    app.customer_says("15550004022", "A", "1").await;
    let offer = early.wait_for("offer", EVENT_TIMEOUT).await;
    late.expect_no("offer", Duration::from_millis(300)).await;
    let id = accept_offer(&mut early, &offer).await;
    early.end_and_wrap_up(id).await;

    // early just finished a conversation; late has been idle longer now.
    app.customer_says("15550004023", "B", "2").await;
    late.wait_for("offer", EVENT_TIMEOUT).await;
    early.expect_no("offer", Duration::from_millis(300)).await;
}
