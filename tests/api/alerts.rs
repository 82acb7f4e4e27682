//! Reply-time alerts (R16): warn and critical when the customer's last message waits
//! unanswered, cleared by an agent reply, and back after a restart.

use crate::helpers::*;
use serde_json::json;
use std::time::Duration;

const CUSTOMER: &str = "15550007001";

fn alert_of(v: &serde_json::Value) -> &str {
    v["level"].as_str().unwrap_or("")
}

#[tokio::test]
async fn unanswered_message_raises_warn_then_critical_and_a_reply_clears_it() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic(1, json!({"alert_warn_secs": 1, "alert_critical_secs": 2}))
        .await;
    app.cloud_api_accepts("wamid.ALERT-OUT").await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, CUSTOMER, "anyone there?")
        .await;

    let warn = a.wait_for("alert", Duration::from_secs(4)).await;
    assert_eq!(warn["interaction_id"], json!(id));
    assert_eq!(alert_of(&warn), "warn");
    let critical = a.wait_for("alert", Duration::from_secs(4)).await;
    assert_eq!(alert_of(&critical), "critical");

    a.send_message(id, "Yes, here!").await.expect("send ack");
    let cleared = a.wait_for("alert", EVENT_TIMEOUT).await;
    assert_eq!(alert_of(&cleared), "none");
    // Answered: no alert comes back while the customer is silent.
    a.expect_no("alert", Duration::from_millis(2500)).await;

    // A new customer message starts the clock again.
    app.customer_says(CUSTOMER, "Carla", "one more thing").await;
    let warn = a.wait_for("alert", Duration::from_secs(4)).await;
    assert_eq!(alert_of(&warn), "warn");
}

#[tokio::test]
async fn no_alert_before_the_threshold() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic(1, json!({"alert_warn_secs": 30, "alert_critical_secs": 60}))
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "hello").await;
    a.expect_no("alert", Duration::from_millis(1500)).await;
    let i = app.get_interaction(id).await;
    assert_eq!(i["state"], "active");
}

#[tokio::test]
async fn the_alert_is_in_hello_after_a_restart() {
    let mut app = TestApp::spawn().await;
    let b = app
        .setup_basic(1, json!({"alert_warn_secs": 1, "alert_critical_secs": 600}))
        .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let id = app.deliver_and_accept(&mut a, CUSTOMER, "waiting").await;
    let warn = a.wait_for("alert", Duration::from_secs(4)).await;
    assert_eq!(alert_of(&warn), "warn");

    app.kill9().await;
    app.restart().await;
    let a2 = app.connect(&b.agents[0]).await;
    let interactions = a2.hello["interactions"].as_array().expect("interactions");
    let i = interactions
        .iter()
        .find(|i| i["id"] == json!(id))
        .expect("the conversation is back");
    assert_eq!(i["alert"], "warn");
}
