//! R26: canned responses. Supervisors and admins write them; agents read those of their
//! queues and the global ones, and render them into a conversation they are or were in, with
//! the customer's, the agent's and the queue's names filled in.

use crate::helpers::*;
use serde_json::{json, Value};

const PATH: &str = "/api/v1/canned_responses";

async fn create(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post(PATH, Some(token), &body).await;
    assert_eq!(resp.status(), 201, "create {body}");
    json_created(resp, "create canned response").await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Vec<Value> {
    let resp = app.get(&format!("{PATH}{query}"), Some(token)).await;
    items_of(json_ok(resp, "list canned responses").await)
}

fn shortcuts(items: &[Value]) -> Vec<&str> {
    items
        .iter()
        .map(|c| c["shortcut"].as_str().unwrap())
        .collect()
}

async fn render(app: &TestApp, token: &str, id: i64, interaction_id: i64) -> reqwest::Response {
    app.post(
        &format!("{PATH}/{id}/render"),
        Some(token),
        &json!({ "interaction_id": interaction_id }),
    )
    .await
}

async fn rendered(app: &TestApp, token: &str, id: i64, interaction_id: i64) -> String {
    let resp = render(app, token, id, interaction_id).await;
    let v = json_ok(resp, "render").await;
    v["text"].as_str().expect("rendered text").to_string()
}

/// A supervisor who is in no queue.
async fn supervisor(app: &TestApp) -> TestAgent {
    app.new_agent(&[], json!({"role": "supervisor"})).await
}

/// The customer `from` (named `name`) writes; `agent` accepts. Returns the interaction id.
async fn conversation(app: &TestApp, agent: &mut AgentClient, from: &str, name: &str) -> i64 {
    app.customer_says(from, name, "Hello, I need help").await;
    let offer = agent.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().expect("offer id");
    agent.accept_active(id).await;
    id
}

#[tokio::test]
async fn supervisors_create_read_update_search_and_delete() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(0, json!({})).await;
    let sup = supervisor(&app).await;

    let hello = create(
        &app,
        &sup.token,
        json!({"shortcut": "hello", "title": "  Greeting  ",
               "text": "Hi {{customer.first_name}}!\nHow can I help?"}),
    )
    .await;
    assert_eq!(hello["shortcut"], "hello");
    assert_eq!(hello["title"], "Greeting", "the title is trimmed");
    assert_eq!(
        hello["text"],
        "Hi {{customer.first_name}}!\nHow can I help?"
    );
    assert_eq!(hello["queue_id"], Value::Null, "absent: every queue");
    assert_eq!(hello["queue_name"], Value::Null);
    assert_eq!(hello["created_by"], json!(sup.id));
    assert_eq!(hello["updated_by"], json!(sup.id));
    assert_eq!(hello["created_at"], hello["updated_at"]);
    let hello_id = hello["id"].as_i64().unwrap();

    // An admin writes too; a response for one queue names it.
    let refund = create(
        &app,
        &app.admin_token,
        json!({"shortcut": "refund-policy", "title": "Refunds",
               "text": "Refunds take 5 working days.", "queue_id": b.queue_id}),
    )
    .await;
    assert_eq!(refund["queue_id"], json!(b.queue_id));
    assert_eq!(refund["queue_name"], json!(b.queue_name));
    let refund_id = refund["id"].as_i64().unwrap();
    create(
        &app,
        &sup.token,
        json!({"shortcut": "bye_2", "title": "Goodbye", "text": "Have a nice day.", "queue_id": null}),
    )
    .await;

    // The list is by shortcut; one reads the same as in the list.
    let all = list(&app, &sup.token, "").await;
    assert_eq!(shortcuts(&all), ["bye_2", "hello", "refund-policy"]);
    let one = json_ok(
        app.get(&format!("{PATH}/{hello_id}"), Some(&sup.token))
            .await,
        "get",
    )
    .await;
    assert_eq!(one, all[1]);

    // Search: every word, in the shortcut, the title or the text, regardless of case.
    assert_eq!(
        shortcuts(&list(&app, &sup.token, "?q=REFUND").await),
        ["refund-policy"]
    );
    assert_eq!(
        shortcuts(&list(&app, &sup.token, "?q=working%20days").await),
        ["refund-policy"]
    );
    assert_eq!(
        shortcuts(&list(&app, &sup.token, "?q=greeting").await),
        ["hello"]
    );
    assert_eq!(
        shortcuts(&list(&app, &sup.token, "?q=%20%20").await).len(),
        3
    );
    assert!(list(&app, &sup.token, "?q=nothing%20like%20this")
        .await
        .is_empty());
    let resp = app
        .get(&format!("{PATH}?q={}", "x".repeat(201)), Some(&sup.token))
        .await;
    assert_eq!(assert_error(resp, 400).await, "invalid_input");

    // PATCH changes only what it names; `"queue_id": null` makes it global.
    let resp = app
        .patch(
            &format!("{PATH}/{refund_id}"),
            Some(&sup.token),
            &json!({"title": "Refund policy", "queue_id": null}),
        )
        .await;
    let patched = json_ok(resp, "patch").await;
    assert_eq!(patched["title"], "Refund policy");
    assert_eq!(patched["shortcut"], "refund-policy");
    assert_eq!(patched["text"], "Refunds take 5 working days.");
    assert_eq!(patched["queue_id"], Value::Null);
    assert_eq!(
        patched["created_by"],
        json!(1),
        "the bootstrap admin wrote it"
    );
    assert_eq!(patched["updated_by"], json!(sup.id));
    let resp = app
        .patch(
            &format!("{PATH}/{refund_id}"),
            Some(&app.admin_token),
            &json!({"shortcut": "refund", "text": "Refunds take 3 days.", "queue_id": b.queue_id}),
        )
        .await;
    let patched = json_ok(resp, "patch").await;
    assert_eq!(patched["shortcut"], "refund");
    assert_eq!(patched["text"], "Refunds take 3 days.");
    assert_eq!(patched["queue_id"], json!(b.queue_id));
    assert_eq!(patched["title"], "Refund policy");
    // An empty patch changes nothing.
    let resp = app
        .patch(&format!("{PATH}/{refund_id}"), Some(&sup.token), &json!({}))
        .await;
    let same = json_ok(resp, "empty patch").await;
    assert_eq!(same["text"], "Refunds take 3 days.");

    // DELETE: gone from the list and from GET, PATCH, DELETE and render.
    let resp = app
        .delete(&format!("{PATH}/{hello_id}"), Some(&sup.token))
        .await;
    assert_eq!(resp.status(), 204);
    assert_eq!(
        shortcuts(&list(&app, &sup.token, "").await),
        ["bye_2", "refund"]
    );
    for resp in [
        app.get(&format!("{PATH}/{hello_id}"), Some(&sup.token))
            .await,
        app.patch(
            &format!("{PATH}/{hello_id}"),
            Some(&sup.token),
            &json!({"title": "x"}),
        )
        .await,
        app.delete(&format!("{PATH}/{hello_id}"), Some(&sup.token))
            .await,
        render(&app, &sup.token, hello_id, 1).await,
        app.get(&format!("{PATH}/987654"), Some(&sup.token)).await,
    ] {
        assert_eq!(assert_error(resp, 404).await, "not_found");
    }
    let resp = app.get(&format!("{PATH}/abc"), Some(&sup.token)).await;
    assert_eq!(assert_error(resp, 400).await, "invalid_path");

    // The OpenAPI document describes them.
    let doc = json_ok(app.get("/openapi.json", None).await, "openapi").await;
    for p in [
        PATH,
        "/api/v1/canned_responses/{id}",
        "/api/v1/canned_responses/{id}/render",
    ] {
        assert!(doc["paths"][p].is_object(), "openapi.json lacks {p}");
    }
}

#[tokio::test]
async fn agents_read_their_queues_and_the_global_ones_and_never_write() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let other_queue = app.create_queue(json!({"name": "Billing"})).await;
    let agent = &b.agents[0];
    let sup = supervisor(&app).await;
    let global = create(
        &app,
        &sup.token,
        json!({"shortcut": "hello", "title": "Greeting", "text": "Hello!"}),
    )
    .await;
    let mine = create(
        &app,
        &sup.token,
        json!({"shortcut": "support", "title": "Support", "text": "Support here.", "queue_id": b.queue_id}),
    )
    .await;
    let theirs = create(
        &app,
        &sup.token,
        json!({"shortcut": "billing", "title": "Billing", "text": "Billing here.", "queue_id": other_queue}),
    )
    .await;
    let theirs_id = theirs["id"].as_i64().unwrap();

    // The agent reads the global one and its queue's, never the other queue's.
    assert_eq!(
        shortcuts(&list(&app, &agent.token, "").await),
        ["hello", "support"]
    );
    assert!(list(&app, &agent.token, "?q=billing").await.is_empty());
    for c in [&global, &mine] {
        let resp = app
            .get(&format!("{PATH}/{}", c["id"]), Some(&agent.token))
            .await;
        assert_eq!(&json_ok(resp, "agent get").await, c);
    }
    let resp = app
        .get(&format!("{PATH}/{theirs_id}"), Some(&agent.token))
        .await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    // Supervisors read all of them, queue member or not.
    assert_eq!(
        shortcuts(&list(&app, &sup.token, "").await),
        ["billing", "hello", "support"]
    );

    // Agents never write: 403 before the body is even read (a bad one is still 403).
    let before = list(&app, &sup.token, "").await;
    let mine_id = mine["id"].as_i64().unwrap();
    for body in [
        json!({"shortcut": "mine", "title": "Mine", "text": "Mine"}),
        json!({"shortcut": "NOT VALID"}),
    ] {
        let resp = app.post(PATH, Some(&agent.token), &body).await;
        assert_eq!(assert_error(resp, 403).await, "forbidden");
        let resp = app
            .patch(&format!("{PATH}/{mine_id}"), Some(&agent.token), &body)
            .await;
        assert_eq!(assert_error(resp, 403).await, "forbidden");
    }
    let resp = app
        .delete(&format!("{PATH}/{mine_id}"), Some(&agent.token))
        .await;
    assert_eq!(assert_error(resp, 403).await, "forbidden");
    let resp = app
        .delete(&format!("{PATH}/987654"), Some(&agent.token))
        .await;
    assert_eq!(assert_error(resp, 403).await, "forbidden");
    assert_eq!(list(&app, &sup.token, "").await, before);
    // No token: 401.
    let resp = app.get(PATH, None).await;
    assert_eq!(assert_error(resp, 401).await, "unauthenticated");
    let resp = app
        .post(&format!("{PATH}/{mine_id}/render"), None, &json!({}))
        .await;
    assert_eq!(assert_error(resp, 401).await, "unauthenticated");

    // Moved to the agent's queue, it is the agent's; the agent joins the other queue: all.
    let resp = app
        .patch(
            &format!("{PATH}/{theirs_id}"),
            Some(&sup.token),
            &json!({"queue_id": b.queue_id}),
        )
        .await;
    json_ok(resp, "move").await;
    assert_eq!(
        shortcuts(&list(&app, &agent.token, "").await),
        ["billing", "hello", "support"]
    );
    let resp = app
        .patch(
            &format!("{PATH}/{mine_id}"),
            Some(&sup.token),
            &json!({"queue_id": other_queue}),
        )
        .await;
    json_ok(resp, "move").await;
    assert_eq!(
        shortcuts(&list(&app, &agent.token, "").await),
        ["billing", "hello"]
    );
    let resp = app
        .patch(
            &format!("/api/v1/agents/{}", agent.id),
            Some(&app.admin_token),
            &json!({"queues": [b.queue_id, other_queue]}),
        )
        .await;
    json_ok(resp, "agent joins Billing").await;
    assert_eq!(
        shortcuts(&list(&app, &agent.token, "").await),
        ["billing", "hello", "support"]
    );
}

#[tokio::test]
async fn fields_are_checked_shortcuts_are_unique_and_bad_input_changes_nothing() {
    let app = TestApp::spawn_with(|cfg| {
        cfg.set("limits.max_message_chars", 50);
    })
    .await;
    let b = app.setup_basic(0, json!({})).await;
    let sup = supervisor(&app).await;
    let t = sup.token.clone();
    let first = create(
        &app,
        &t,
        json!({"shortcut": "hello", "title": "Greeting", "text": "Hello!", "queue_id": b.queue_id}),
    )
    .await;
    let first_id = first["id"].as_i64().unwrap();
    let other = create(
        &app,
        &t,
        json!({"shortcut": "bye", "title": "Goodbye", "text": "Bye!"}),
    )
    .await;
    let other_id = other["id"].as_i64().unwrap();
    let before = list(&app, &t, "").await;

    let ok = |extra: Value| {
        let mut body = json!({"shortcut": "new-one", "title": "New", "text": "Text"});
        merge(&mut body, extra);
        body
    };
    let too_long_text = "é".repeat(51);
    let refusals: Vec<(Value, u16, &str)> = vec![
        // Shortcut: 1 to 32 of a-z 0-9 _ -.
        (ok(json!({"shortcut": ""})), 400, "invalid_input"),
        (
            ok(json!({"shortcut": "x".repeat(33)})),
            400,
            "invalid_input",
        ),
        (ok(json!({"shortcut": "Hello"})), 400, "invalid_input"),
        (ok(json!({"shortcut": "/hello"})), 400, "invalid_input"),
        (ok(json!({"shortcut": "two words"})), 400, "invalid_input"),
        (ok(json!({"shortcut": "café"})), 400, "invalid_input"),
        (ok(json!({"shortcut": "a.b"})), 400, "invalid_input"),
        (ok(json!({"shortcut": " hello"})), 400, "invalid_input"),
        // Title: 1 to 100 characters, not blank.
        (ok(json!({"title": ""})), 400, "invalid_input"),
        (ok(json!({"title": " \t "})), 400, "invalid_input"),
        (ok(json!({"title": "t".repeat(101)})), 400, "invalid_input"),
        // Text: 1 to limits.max_message_chars (50 here), not blank.
        (ok(json!({"text": ""})), 400, "invalid_input"),
        (ok(json!({"text": " \n "})), 400, "invalid_input"),
        (ok(json!({"text": too_long_text})), 400, "invalid_input"),
        // Queue: null or a queue that exists.
        (ok(json!({"queue_id": 987654})), 400, "unknown_queue"),
        // Shapes.
        (json!({"title": "New", "text": "Text"}), 400, "invalid_json"),
        (ok(json!({"shortcut": 12})), 400, "invalid_json"),
        (ok(json!({"queue_id": "1"})), 400, "invalid_json"),
        (json!([{"shortcut": "x"}]), 400, "invalid_json"),
        // Taken.
        (ok(json!({"shortcut": "hello"})), 409, "shortcut_taken"),
    ];
    for (body, status, code) in &refusals {
        let resp = app.post(PATH, Some(&t), body).await;
        assert_eq!(&assert_error(resp, *status).await, code, "POST {body}");
    }
    assert_eq!(
        list(&app, &t, "").await,
        before,
        "a refused POST stores nothing"
    );

    // The same rules on PATCH, and a taken shortcut; the response stays as it was.
    let patches: Vec<(Value, u16, &str)> = vec![
        (json!({"shortcut": "UPPER"}), 400, "invalid_input"),
        (json!({"shortcut": ""}), 400, "invalid_input"),
        (json!({"title": "  "}), 400, "invalid_input"),
        (json!({"text": "é".repeat(51)}), 400, "invalid_input"),
        (json!({"text": "\n"}), 400, "invalid_input"),
        (json!({"queue_id": 987654}), 400, "unknown_queue"),
        (json!({"queue_id": "x"}), 400, "invalid_json"),
        (json!({"shortcut": "bye"}), 409, "shortcut_taken"),
        // A valid field beside a bad one: nothing changes either.
        (
            json!({"title": "Changed", "shortcut": "bye"}),
            409,
            "shortcut_taken",
        ),
        (
            json!({"title": "Changed", "text": ""}),
            400,
            "invalid_input",
        ),
    ];
    for (body, status, code) in &patches {
        let resp = app
            .patch(&format!("{PATH}/{first_id}"), Some(&t), body)
            .await;
        assert_eq!(&assert_error(resp, *status).await, code, "PATCH {body}");
    }
    assert_eq!(
        list(&app, &t, "").await,
        before,
        "a refused PATCH changes nothing"
    );

    // The limit is characters, not bytes: 50 of them are fine; 32 characters of shortcut too.
    let at_limit = create(
        &app,
        &t,
        json!({"shortcut": "x".repeat(32), "title": "t".repeat(100), "text": "😀".repeat(50)}),
    )
    .await;
    assert_eq!(at_limit["text"].as_str().unwrap().chars().count(), 50);
    // Keeping one's own shortcut is no conflict.
    let resp = app
        .patch(
            &format!("{PATH}/{first_id}"),
            Some(&t),
            &json!({"shortcut": "hello", "title": "Hi"}),
        )
        .await;
    assert_eq!(json_ok(resp, "same shortcut").await["title"], "Hi");

    // A deleted response's shortcut is free again, for a new one and for a PATCH.
    let resp = app.delete(&format!("{PATH}/{other_id}"), Some(&t)).await;
    assert_eq!(resp.status(), 204);
    let again = create(
        &app,
        &t,
        json!({"shortcut": "bye", "title": "Goodbye again", "text": "Bye bye!"}),
    )
    .await;
    assert_ne!(again["id"], other["id"]);
    let resp = app
        .delete(&format!("{PATH}/{}", again["id"]), Some(&t))
        .await;
    assert_eq!(resp.status(), 204);
    let resp = app
        .patch(
            &format!("{PATH}/{first_id}"),
            Some(&t),
            &json!({"shortcut": "bye"}),
        )
        .await;
    assert_eq!(
        json_ok(resp, "take a freed shortcut").await["shortcut"],
        "bye"
    );
    let resp = app
        .post(PATH, Some(&t), &ok(json!({"shortcut": "bye"})))
        .await;
    assert_eq!(assert_error(resp, 409).await, "shortcut_taken");

    // A response of a queue deleted since keeps it; naming that queue again is no change,
    // moving to it from elsewhere is refused.
    let doomed = app.create_queue(json!({"name": "Doomed"})).await;
    let on_doomed = create(
        &app,
        &t,
        json!({"shortcut": "doomed", "title": "Doomed", "text": "Soon gone.", "queue_id": doomed}),
    )
    .await;
    let resp = app
        .delete(&format!("/api/v1/queues/{doomed}"), Some(&app.admin_token))
        .await;
    assert_eq!(resp.status(), 204);
    let resp = app
        .patch(
            &format!("{PATH}/{}", on_doomed["id"]),
            Some(&t),
            &json!({"queue_id": doomed, "title": "Doomed queue"}),
        )
        .await;
    let kept = json_ok(resp, "same deleted queue").await;
    assert_eq!(kept["queue_id"], json!(doomed));
    assert_eq!(kept["queue_name"], "Doomed");
    let resp = app
        .patch(
            &format!("{PATH}/{first_id}"),
            Some(&t),
            &json!({"queue_id": doomed}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "unknown_queue");
    let resp = app
        .post(PATH, Some(&t), &ok(json!({"queue_id": doomed})))
        .await;
    assert_eq!(assert_error(resp, 400).await, "unknown_queue");
}

#[tokio::test]
async fn render_fills_the_placeholders_from_the_conversation() {
    let app = TestApp::spawn().await;
    let b = app
        .setup_basic(1, json!({"name": "Returns & Refunds"}))
        .await;
    let agent = &b.agents[0];
    let sup = supervisor(&app).await;
    let mut desk = app.agent_online(agent).await;
    let id = conversation(&app, &mut desk, "447700900123", "Ana María Costa").await;

    let text = "Hi {{customer.first_name}} ({{ customer.name }}), this is {{agent.name}} \
                ({{AGENT.FIRST_NAME}}) of {{queue.name}}.\nOrder {{order.id}}, {{ ship_date }}, \
                {{customer.phone}} and {{customer.first_name | friend}} stay {{}} as {{written";
    let all = create(
        &app,
        &sup.token,
        json!({"shortcut": "all", "title": "All", "text": text, "queue_id": b.queue_id}),
    )
    .await;
    let all_id = all["id"].as_i64().unwrap();
    let me = display_name_of(&agent.username);
    let first = me.split_whitespace().next().unwrap();
    let expected = format!(
        "Hi Ana (Ana María Costa), this is {me} ({first}) of Returns & Refunds.\nOrder \
         {{{{order.id}}}}, {{{{ ship_date }}}}, {{{{customer.phone}}}} and Ana stay {{{{}}}} as \
         {{{{written"
    );
    assert_eq!(rendered(&app, &agent.token, all_id, id).await, expected);

    // A supervisor renders any conversation, as itself.
    let sup_name = display_name_of(&sup.username);
    let greeting = create(
        &app,
        &sup.token,
        json!({"shortcut": "hello", "title": "Greeting",
               "text": "Hello {{customer.first_name}}, {{agent.name}} here."}),
    )
    .await;
    let greeting_id = greeting["id"].as_i64().unwrap();
    assert_eq!(
        rendered(&app, &sup.token, greeting_id, id).await,
        format!("Hello Ana, {sup_name} here.")
    );
    let admin = app.admin_get("/api/v1/me").await["display_name"]
        .as_str()
        .unwrap()
        .to_string();
    let admin_first = admin.split_whitespace().next().unwrap();
    assert_eq!(
        rendered(&app, &app.admin_token, all_id, id).await,
        expected
            .replace(&me, &admin)
            .replace(&format!("({first})"), &format!("({admin_first})"))
    );

    // Rendering sends nothing: the transcript has the customer's message only.
    let seen = app.get_interaction(id).await;
    assert_eq!(message_texts(&seen), ["Hello, I need help"]);

    // A customer without a name (only a username, then only a number) is greeted as
    // "there", or with the placeholder's own fallback; their number never goes in.
    let nameless = create(
        &app,
        &sup.token,
        json!({"shortcut": "nameless", "title": "Nameless",
               "text": "Hi {{customer.first_name}}! Dear {{customer.name | valued customer}}."}),
    )
    .await;
    let nameless_id = nameless["id"].as_i64().unwrap();
    let resp = app
        .post_webhook(&identity_delivery(
            None,
            Some("US.13491208655302741918"),
            Some("ana.k"),
            "",
            &new_wamid(),
            "no name here",
        ))
        .await;
    assert_eq!(resp.status(), 200);
    let offer = desk.wait_for("offer", EVENT_TIMEOUT).await;
    let by_username = offer["interaction_id"].as_i64().unwrap();
    desk.accept_active(by_username).await;
    assert_eq!(
        rendered(&app, &agent.token, nameless_id, by_username).await,
        "Hi there! Dear valued customer."
    );
    let by_number = conversation(&app, &mut desk, "447700900777", "").await;
    let shown = app.get_interaction(by_number).await;
    assert_eq!(shown["customer"]["name"], "+447700900777");
    assert_eq!(
        rendered(&app, &agent.token, nameless_id, by_number).await,
        "Hi there! Dear valued customer."
    );
}

#[tokio::test]
async fn agents_render_only_in_their_conversations_and_only_their_responses() {
    let app = TestApp::spawn().await;
    app.cloud_api_accepts_all().await;
    let b = app.setup_basic(2, json!({"wrap_up_secs": 0})).await;
    let other_queue = app.create_queue(json!({"name": "Billing"})).await;
    let (owner, outsider) = (&b.agents[0], &b.agents[1]);
    let sup = supervisor(&app).await;
    let mut desk = app.agent_online(owner).await;
    let id = conversation(&app, &mut desk, "447700900124", "Bo Lind").await;

    let hello = create(
        &app,
        &sup.token,
        json!({"shortcut": "hello", "title": "Greeting", "text": "Hi {{customer.first_name}}"}),
    )
    .await;
    let hello_id = hello["id"].as_i64().unwrap();
    let billing = create(
        &app,
        &sup.token,
        json!({"shortcut": "billing", "title": "Billing", "text": "Billing, {{customer.name}}",
               "queue_id": other_queue}),
    )
    .await;
    let billing_id = billing["id"].as_i64().unwrap();

    assert_eq!(rendered(&app, &owner.token, hello_id, id).await, "Hi Bo");
    // Another agent of the same queue was never in it: as if it did not exist.
    let resp = render(&app, &outsider.token, hello_id, id).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    // A response of a queue the agent is not in: 404, even in its own conversation.
    let resp = render(&app, &owner.token, billing_id, id).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    // ... which a supervisor may render there.
    assert_eq!(
        rendered(&app, &sup.token, billing_id, id).await,
        "Billing, Bo Lind"
    );
    // Unknown ids.
    let resp = render(&app, &owner.token, hello_id, 987654).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    let resp = render(&app, &sup.token, hello_id, 987654).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    let resp = render(&app, &owner.token, 987654, id).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    // Bad bodies.
    for body in [json!({}), json!({"interaction_id": "7"}), json!([id])] {
        let resp = app
            .post(
                &format!("{PATH}/{hello_id}/render"),
                Some(&owner.token),
                &body,
            )
            .await;
        assert_eq!(assert_error(resp, 400).await, "invalid_json", "{body}");
    }
    let resp = app
        .post(
            &format!("{PATH}/x/render"),
            Some(&owner.token),
            &json!({"interaction_id": id}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "invalid_path");

    // Once the conversation is over, the agent who was in it still may (it is theirs).
    desk.end(id).await;
    app.wait_interaction(id, "closed", |v| v["state"] == "closed")
        .await;
    assert_eq!(rendered(&app, &owner.token, hello_id, id).await, "Hi Bo");
    let resp = render(&app, &outsider.token, hello_id, id).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
}

#[tokio::test]
async fn with_masking_on_agents_get_the_name_masked_and_admins_reads_are_audited() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let agent = &b.agents[0];
    let mut desk = app.agent_online(agent).await;
    // A profile name with an e-mail address in it: customer data that masking hides.
    let id = conversation(&app, &mut desk, "447700900125", "ana@example.com").await;
    app.set_settings(json!({"masking_enabled": true})).await;
    let c = create(
        &app,
        &app.admin_token,
        json!({"shortcut": "hi", "title": "Hi", "text": "Hi {{customer.name}}"}),
    )
    .await;
    let c_id = c["id"].as_i64().unwrap();
    let other = create(
        &app,
        &app.admin_token,
        json!({"shortcut": "queue", "title": "Queue", "text": "This is {{queue.name}}"}),
    )
    .await;
    let other_id = other["id"].as_i64().unwrap();

    assert_eq!(
        rendered(&app, &agent.token, c_id, id).await,
        "Hi a**@example.com"
    );
    let count = |v: Value| {
        items_of(v)
            .into_iter()
            .filter(|r| {
                r["action"] == "read_unmasked" && r["subject"] == format!("interaction:{id}")
            })
            .count()
    };
    assert_eq!(count(app.admin_get("/api/v1/audit").await), 0);
    // A render without customer data reads none: no audit record.
    assert_eq!(
        rendered(&app, &app.admin_token, other_id, id).await,
        format!("This is {}", b.queue_name)
    );
    assert_eq!(count(app.admin_get("/api/v1/audit").await), 0);
    assert_eq!(
        rendered(&app, &app.admin_token, c_id, id).await,
        "Hi ana@example.com"
    );
    assert_eq!(count(app.admin_get("/api/v1/audit").await), 1);
}
