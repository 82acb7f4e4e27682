//! Screen pop (R20): the match count on the offer, `screen_pop` on accept by the number of
//! matches and the agent's `auto_multi_match_pop`, linking, creating a contact from the
//! conversation, and the call log saved against the linked contact (R8).

use crate::helpers::*;
use serde_json::{json, Value};

async fn contact(app: &TestApp, body: Value) -> i64 {
    let resp = app
        .post("/api/v1/contacts", Some(&app.admin_token), &body)
        .await;
    id_of(json_created(resp, "create contact").await)
}

async fn offer_and_accept(app: &TestApp, a: &mut AgentClient, from: &str) -> (i64, Value, Value) {
    app.customer_says(from, "Carla Gomez", "hello").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept(id).await;
    let pop = a
        .wait_for_where("screen_pop", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    (id, offer, pop)
}

#[tokio::test]
async fn no_match_pops_the_new_contact_form_and_create_contact_links_it() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"wrap_up_secs": 60})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let (id, offer, pop) = offer_and_accept(&app, &mut a, "16505550101").await;
    assert_eq!(offer["contact_matches"], 0);
    assert_eq!(pop["action"], "new_contact");
    assert_eq!(pop["contact"], Value::Null);
    assert_eq!(pop["matches"], json!([]));

    // Created from the conversation: the customer's number and profile name are defaults.
    a.ok(json!({"type": "create_contact", "interaction_id": id,
                "contact": {"email": "carla@example.com"}}))
        .await;
    let pop = a.wait_for("screen_pop", EVENT_TIMEOUT).await;
    assert_eq!(pop["action"], "pop");
    let created = &pop["contact"];
    assert_eq!(created["phones"], json!(["+16505550101"]));
    assert_eq!(created["first_name"], "Carla Gomez");
    assert_eq!(created["email"], "carla@example.com");
    let contact_id = created["id"].as_i64().expect("built-in ids are numbers");
    assert_eq!(
        app.get_interaction(id).await["contact_id"],
        json!(contact_id)
    );

    // The call log is saved against the linked contact.
    a.end(id).await;
    a.wrap_up(id, Some("resolved")).await.expect("wrap-up");
    let activity = app
        .wait_activity(&format!("?contact_id={contact_id}"), |v| {
            v["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(activity["contact_id"], json!(contact_id));
    assert_eq!(activity["disposition"], "resolved");
}

#[tokio::test]
async fn one_match_pops_it_whatever_the_number_format() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let cid = contact(
        &app,
        json!({"first_name": "Ann", "last_name": "Lee", "phones": ["+1 (650) 555-0102"]}),
    )
    .await;
    let _other = contact(
        &app,
        json!({"first_name": "Bo", "phones": ["+1 650 555 0199"]}),
    )
    .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let (id, offer, pop) = offer_and_accept(&app, &mut a, "16505550102").await;
    assert_eq!(offer["contact_matches"], 1);
    assert_eq!(pop["action"], "pop");
    assert_eq!(pop["contact"]["id"], json!(cid));
    assert_eq!(pop["matches"].as_array().unwrap().len(), 1);
    assert_eq!(app.get_interaction(id).await["contact_id"], json!(cid));
}

#[tokio::test]
async fn several_matches_pop_the_most_recent_when_auto_multi_match_pop_is_on() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let older = contact(
        &app,
        json!({"first_name": "Old", "phones": ["16505550103"]}),
    )
    .await;
    let newer = contact(
        &app,
        json!({"first_name": "New", "phones": ["+16505550103"]}),
    )
    .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let (id, offer, pop) = offer_and_accept(&app, &mut a, "16505550103").await;
    assert_eq!(offer["contact_matches"], 2);
    assert_eq!(pop["action"], "pop");
    assert_eq!(
        pop["contact"]["id"],
        json!(newer),
        "most recently updated first"
    );
    let ids: Vec<i64> = pop["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, vec![newer, older]);
    assert_eq!(app.get_interaction(id).await["contact_id"], json!(newer));
}

#[tokio::test]
async fn several_matches_ask_to_select_when_auto_multi_match_pop_is_off_and_link_contact_picks() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic_with(1, json!({}), json!({"auto_multi_match_pop": false}))
        .await;
    let older = contact(
        &app,
        json!({"first_name": "Old", "phones": ["16505550104"]}),
    )
    .await;
    let newer = contact(
        &app,
        json!({"first_name": "New", "phones": ["16505550104"]}),
    )
    .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    assert_eq!(a.hello["agent"]["auto_multi_match_pop"], false);
    let (id, _offer, pop) = offer_and_accept(&app, &mut a, "16505550104").await;
    assert_eq!(pop["action"], "select");
    assert_eq!(pop["contact"], Value::Null);
    assert_eq!(pop["matches"].as_array().unwrap().len(), 2);
    // Until the agent picks, the interaction is linked to the first match (R20).
    assert_eq!(app.get_interaction(id).await["contact_id"], json!(newer));

    a.ok(json!({"type": "link_contact", "interaction_id": id, "contact_id": older}))
        .await;
    let pop = a.wait_for("screen_pop", EVENT_TIMEOUT).await;
    assert_eq!(pop["action"], "pop");
    assert_eq!(pop["contact"]["id"], json!(older));
    assert_eq!(app.get_interaction(id).await["contact_id"], json!(older));

    let code = a
        .err(json!({"type": "link_contact", "interaction_id": id, "contact_id": 999999}))
        .await;
    assert_eq!(code, "not_found");
    assert_eq!(
        app.get_interaction(id).await["contact_id"],
        json!(older),
        "unchanged"
    );
}

#[tokio::test]
async fn the_screen_pop_lists_the_contacts_past_call_logs() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"wrap_up_secs": 60})).await;
    let cid = contact(
        &app,
        json!({"first_name": "Repeat", "phones": ["16505550105"]}),
    )
    .await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let (first, _, pop) = offer_and_accept(&app, &mut a, "16505550105").await;
    assert_eq!(pop["activities"], json!([]), "no history yet");
    a.end(first).await;
    a.wrap_up(first, Some("follow_up")).await.expect("wrap-up");
    app.wait_activity(&format!("?contact_id={cid}"), |v| {
        v["interaction_id"] == json!(first)
    })
    .await;

    let (second, _, pop) = offer_and_accept(&app, &mut a, "16505550105").await;
    assert_ne!(second, first);
    let history = pop["activities"].as_array().expect("activities");
    assert_eq!(history.len(), 1);
    assert_eq!(history[0]["interaction_id"], json!(first));
    assert_eq!(history[0]["disposition"], "follow_up");
}

#[tokio::test]
async fn create_contact_with_bad_input_changes_nothing() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let (id, _, _) = offer_and_accept(&app, &mut a, "16505550106").await;
    let code = a
        .err(json!({"type": "create_contact", "interaction_id": id,
                    "contact": {"email": "not-an-email"}}))
        .await;
    assert_eq!(code, "invalid_input");
    assert_eq!(app.get_interaction(id).await["contact_id"], Value::Null);
    let other = app.new_agent(&[], json!({})).await;
    let mut o = app.connect(&other).await;
    let code = o
        .err(json!({"type": "create_contact", "interaction_id": id, "contact": {}}))
        .await;
    assert_eq!(code, "not_participant");
}

#[tokio::test]
async fn an_agent_turns_auto_multi_match_pop_off_for_itself() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let agent = &b.agents[0];
    let url = "/api/v1/me/preferences";
    let got = json_ok(app.get(url, Some(&agent.token)).await, "preferences").await;
    assert_eq!(got["auto_multi_match_pop"], true);
    let resp = app
        .patch(
            url,
            Some(&agent.token),
            &json!({"auto_multi_match_pop": false}),
        )
        .await;
    assert_eq!(
        json_ok(resp, "patch preferences").await["auto_multi_match_pop"],
        false
    );
    let a = app.connect(agent).await;
    assert_eq!(a.hello["agent"]["auto_multi_match_pop"], false);
    let admin_view = app.admin_get(&format!("/api/v1/agents/{}", agent.id)).await;
    assert_eq!(admin_view["auto_multi_match_pop"], false);
}

/// A CRM that does not answer: the lookup runs beside the conversation, so the customer's
/// next message is stored at once while the offer waits for the lookup (at most 3 s); once
/// the lookup has failed the outage is remembered, and the next conversation's offer goes
/// out at once instead of asking the CRM again.
#[tokio::test]
async fn a_crm_that_hangs_holds_neither_the_conversation_nor_the_next_offer() {
    use std::time::{Duration, Instant};
    use wiremock::{matchers::any, Mock, ResponseTemplate};

    let crm = wiremock::MockServer::start().await;
    Mock::given(any())
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(30)))
        .mount(&crm)
        .await;
    let app = TestApp::spawn_with(|c| {
        c.set("crm.connector", "dynamics365")
            .set("crm.dynamics.base_url", crm.uri())
            .set("crm.dynamics.token_url", format!("{}/token", crm.uri()))
            .set("crm.dynamics.client_id", "client")
            .set("crm.dynamics.client_secret", "secret")
            .set("crm.request_timeout_ms", 30000)
            .set("crm.retry_attempts", 1);
    })
    .await;
    let basic = app
        .setup_basic_with(1, json!({}), json!({"max_concurrent": 2}))
        .await;
    let mut a = app.agent_online(&basic.agents[0]).await;

    app.customer_says("447700900001", "Carla Gomez", "hello")
        .await;
    // By now the queue has reserved the agent and the offer waits for the lookup.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = Instant::now();
    app.customer_says("447700900001", "Carla Gomez", "anyone there?")
        .await;
    // Stored and answered while the lookup still runs: the offer comes only after it.
    a.expect_no("offer", Duration::from_millis(100)).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the customer's message waited {:?} for the CRM",
        started.elapsed()
    );
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert_eq!(offer["contact_matches"], 0);
    let id = offer["interaction_id"].as_i64().unwrap();
    a.accept(id).await;
    let pop = a
        .wait_for_where("screen_pop", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(id)
        })
        .await;
    assert_eq!(pop["action"], "new_contact");

    // The outage is remembered: the next conversation is offered without asking the CRM.
    let asked = crm.received_requests().await.unwrap_or_default().len();
    let started = Instant::now();
    app.customer_says("447700900002", "Dana Fox", "hello").await;
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    assert!(
        started.elapsed() < Duration::from_millis(2500),
        "the offer waited {:?} for a CRM known to be down",
        started.elapsed()
    );
    assert_eq!(offer["contact_matches"], 0);
    assert_eq!(
        crm.received_requests().await.unwrap_or_default().len(),
        asked
    );
}

/// R8 with an external CRM: the call log saved at the last wrap-up is queued in the same
/// commit and pushed to Dynamics 365 as an activity with the transcript.
#[tokio::test]
async fn a_wrapped_up_conversation_is_pushed_to_dynamics_as_a_call_log() {
    use std::time::Duration;
    use wiremock::matchers::{method, path, path_regex};
    use wiremock::{Mock, ResponseTemplate};

    let crm = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "tok"
        })))
        .mount(&crm)
        .await;
    Mock::given(method("GET"))
        .and(path_regex("/contacts$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": []})))
        .mount(&crm)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/data/v9.2/phonecalls"))
        .respond_with(ResponseTemplate::new(204).insert_header(
            "OData-EntityId",
            "https://org.crm.dynamics.com/api/data/v9.2/phonecalls(11111111-0000-4000-8000-000000000001)",
        ))
        .mount(&crm)
        .await;
    let app = TestApp::spawn_with(|c| {
        c.set("crm.connector", "dynamics365")
            .set("crm.dynamics.base_url", crm.uri())
            .set("crm.dynamics.token_url", format!("{}/token", crm.uri()))
            .set("crm.dynamics.client_id", "client")
            .set("crm.dynamics.client_secret", "secret");
    })
    .await;
    let basic = app.setup_basic(1, json!({})).await;
    let mut a = app.agent_online(&basic.agents[0]).await;
    let id = app
        .deliver_and_accept(&mut a, "447700900001", "my parcel never came")
        .await;
    a.end(id).await;
    a.wrap_up(id, None).await.expect("wrap-up");

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let pushed = loop {
        let requests = crm.received_requests().await.unwrap_or_default();
        if let Some(r) = requests
            .iter()
            .find(|r| r.method.as_str() == "POST" && r.url.path() == "/api/data/v9.2/phonecalls")
        {
            break r.body_json::<Value>().unwrap();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no call log reached the CRM"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let description = pushed["description"].as_str().unwrap();
    assert!(
        description.contains("my parcel never came"),
        "{description}"
    );
    assert!(pushed["subject"]
        .as_str()
        .unwrap()
        .contains("+447700900001"));
}

/// R21: a customer with no number is a BSUID: the screen pop finds contacts by it, and a
/// contact created or linked from such a conversation learns it.
#[tokio::test]
async fn a_customer_without_a_number_is_popped_by_bsuid_and_contacts_learn_it() {
    const BSUID: &str = "GB.77001122334455";
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({"wrap_up_secs": 0})).await;
    let mut a = app.agent_online(&b.agents[0]).await;
    let username_says = |text: &'static str| {
        identity_delivery(None, Some(BSUID), Some("kay"), "Kay", &new_wamid(), text)
    };

    // No contact knows the BSUID yet: new contact, created with it.
    assert_eq!(app.post_webhook(&username_says("hi")).await.status(), 200);
    let offer = a.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    assert_eq!(offer["contact_matches"], 0);
    a.accept(id).await;
    let pop = a.wait_for("screen_pop", EVENT_TIMEOUT).await;
    assert_eq!(pop["action"], "new_contact");
    a.ok(json!({"type": "create_contact", "interaction_id": id,
                "contact": {"first_name": "Kay", "last_name": "Lee"}}))
        .await;
    let pop = a.wait_for("screen_pop", EVENT_TIMEOUT).await;
    assert_eq!(pop["action"], "pop");
    assert_eq!(pop["contact"]["whatsapp_user_ids"], json!([BSUID]));
    assert_eq!(pop["contact"]["phones"], json!([]));
    assert_eq!(pop["matches"].as_array().unwrap().len(), 1);
    a.end(id).await;
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;

    // The next conversation from the same customer pops that contact by BSUID.
    assert_eq!(
        app.post_webhook(&username_says("again")).await.status(),
        200
    );
    let offer = a
        .wait_for_where("offer", EVENT_TIMEOUT, |e| e["interaction_id"] != json!(id))
        .await;
    assert_eq!(offer["contact_matches"], 1, "{offer}");
    let second = offer["interaction_id"].as_i64().unwrap();
    a.accept(second).await;
    let pop = a
        .wait_for_where("screen_pop", EVENT_TIMEOUT, |e| {
            e["interaction_id"] == json!(second)
        })
        .await;
    assert_eq!(pop["action"], "pop");
    assert_eq!(pop["contact"]["first_name"], "Kay");

    // Linking an existing contact from a BSUID conversation adds the BSUID to it.
    let other = contact(
        &app,
        json!({"first_name": "Old", "phones": ["+16505550999"]}),
    )
    .await;
    a.ok(json!({"type": "link_contact", "interaction_id": second, "contact_id": other}))
        .await;
    let linked = app.admin_get(&format!("/api/v1/contacts/{other}")).await;
    assert_eq!(linked["whatsapp_user_ids"], json!([BSUID]), "{linked}");
}
