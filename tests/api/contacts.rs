//! The contacts API: the built-in CRM (issue 4; SPEC section 4, R20's numbers in E.164).

use crate::helpers::*;
use serde_json::{json, Value};

async fn create_contact(app: &TestApp, token: &str, body: Value) -> Value {
    let resp = app.post("/api/v1/contacts", Some(token), &body).await;
    assert_eq!(resp.status().as_u16(), 201, "create contact {body}");
    json_created(resp, "create contact").await
}

async fn list(app: &TestApp, token: &str, query: &str) -> Value {
    let resp = app
        .get(&format!("/api/v1/contacts{query}"), Some(token))
        .await;
    json_ok(resp, &format!("GET /api/v1/contacts{query}")).await
}

fn ids(page: &Value) -> Vec<i64> {
    page["items"]
        .as_array()
        .unwrap_or_else(|| panic!("a page has items: {page}"))
        .iter()
        .map(|c| c["id"].as_i64().expect("numeric id"))
        .collect()
}

#[tokio::test]
async fn an_agent_creates_reads_changes_and_deletes_a_contact() {
    let app = TestApp::spawn().await;
    let agent = app.new_agent(&[], json!({})).await;
    let t = agent.token.as_str();

    let c = create_contact(
        &app,
        t,
        json!({
            "first_name": " Sheena ",
            "last_name": "Nelson",
            "phones": ["+1 (650) 555-1234", "16505551234", "+44 7966 197542"],
            "email": "sheena@example.com",
            "company": "Contoso",
            "notes": "Prefers WhatsApp"
        }),
    )
    .await;
    let id = c["id"].as_i64().expect("numeric id");
    assert_eq!(c["first_name"], "Sheena", "trimmed");
    assert_eq!(c["last_name"], "Nelson");
    assert_eq!(
        c["phones"],
        json!(["+16505551234", "+447966197542"]),
        "E.164, one number written twice kept once"
    );
    assert_eq!(c["email"], "sheena@example.com");
    assert_eq!(c["company"], "Contoso");
    assert_eq!(c["notes"], "Prefers WhatsApp");
    let created_at = rfc3339_ms(c["updated_at"].as_str().unwrap());

    let got = json_ok(
        app.get(&format!("/api/v1/contacts/{id}"), Some(t)).await,
        "get contact",
    )
    .await;
    assert_eq!(got, c);

    let resp = app
        .patch(
            &format!("/api/v1/contacts/{id}"),
            Some(t),
            &json!({"company": null, "email": "s.nelson@example.org", "phones": ["(650) 555-9999"]}),
        )
        .await;
    let patched = json_ok(resp, "patch contact").await;
    assert_eq!(patched["company"], Value::Null);
    assert_eq!(patched["email"], "s.nelson@example.org");
    assert_eq!(patched["phones"], json!(["+16505559999"]));
    assert_eq!(patched["first_name"], "Sheena", "untouched");
    assert_eq!(patched["notes"], "Prefers WhatsApp", "untouched");
    assert!(rfc3339_ms(patched["updated_at"].as_str().unwrap()) > created_at);

    // The old numbers no longer find it; the new one does.
    assert!(ids(&list(&app, t, "?phone=%2B16505551234").await).is_empty());
    assert_eq!(ids(&list(&app, t, "?phone=6505559999").await), vec![id]);

    let resp = app.delete(&format!("/api/v1/contacts/{id}"), Some(t)).await;
    assert_eq!(resp.status().as_u16(), 204);
    let resp = app.get(&format!("/api/v1/contacts/{id}"), Some(t)).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    let resp = app.delete(&format!("/api/v1/contacts/{id}"), Some(t)).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    let resp = app
        .patch(
            &format!("/api/v1/contacts/{id}"),
            Some(t),
            &json!({"notes": "x"}),
        )
        .await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
    assert!(ids(&list(&app, t, "?phone=6505559999").await).is_empty());
}

#[tokio::test]
async fn phone_lookup_matches_every_format_of_the_number_and_nothing_else() {
    let app = TestApp::spawn().await;
    let t = app.admin_token.clone();
    let none = list(&app, &t, "?phone=%2B11234567890").await;
    assert!(ids(&none).is_empty(), "no match");
    assert_eq!(none["next_cursor"], Value::Null);

    let a = create_contact(
        &app,
        &t,
        json!({"first_name": "Ann", "phones": ["+1 (123) 456-7890"]}),
    )
    .await;
    let only_a = list(&app, &t, "?phone=11234567890").await;
    assert_eq!(ids(&only_a), vec![a["id"].as_i64().unwrap()], "one match");

    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    let b = create_contact(
        &app,
        &t,
        json!({"first_name": "Bob", "phones": ["11234567890"]}),
    )
    .await;
    let c = create_contact(
        &app,
        &t,
        json!({"first_name": "Cy", "phones": ["+1 123 456 7891"]}),
    )
    .await;
    let (a, b, c) = (
        a["id"].as_i64().unwrap(),
        b["id"].as_i64().unwrap(),
        c["id"].as_i64().unwrap(),
    );

    // `+` is `%2B` in a query string.
    for format in [
        "%2B1%20(123)%20456-7890",
        "11234567890",
        "%2B11234567890",
        "(123)%20456-7890",
        "123.456.7890",
    ] {
        let page = list(&app, &t, &format!("?phone={format}")).await;
        assert_eq!(ids(&page), vec![b, a], "{format}: several, newest first");
    }
    for other in ["%2B11234567891", "1234567891"] {
        assert_eq!(
            ids(&list(&app, &t, &format!("?phone={other}")).await),
            vec![c]
        );
    }
    for no_match in ["%2B441234567890", "%2B11234567809", "%2B16505551234"] {
        assert!(
            ids(&list(&app, &t, &format!("?phone={no_match}")).await).is_empty(),
            "{no_match}"
        );
    }
    for not_a_number in ["12345", "abc", "%2B1%20800%20FLOWERS"] {
        let resp = app
            .get(&format!("/api/v1/contacts?phone={not_a_number}"), Some(&t))
            .await;
        assert_eq!(
            assert_error(resp, 400).await,
            "invalid_phone",
            "{not_a_number}"
        );
    }
}

#[tokio::test]
async fn numbers_without_a_country_code_use_the_configured_region() {
    let app = TestApp::spawn_with(|c| {
        c.set("crm.default_region", "GB");
    })
    .await;
    let t = app.admin_token.clone();
    let c = create_contact(
        &app,
        &t,
        json!({"last_name": "Smith", "phones": ["07966 197542"]}),
    )
    .await;
    assert_eq!(c["phones"], json!(["+447966197542"]));
    let id = c["id"].as_i64().unwrap();
    assert_eq!(
        ids(&list(&app, &t, "?phone=%2B447966197542").await),
        vec![id]
    );
    assert_eq!(ids(&list(&app, &t, "?phone=447966197542").await), vec![id]);
    // A number with its country code is read as written, whatever the region.
    let us = create_contact(
        &app,
        &t,
        json!({"last_name": "Jones", "phones": ["+1 650 555 1234"]}),
    )
    .await;
    assert_eq!(us["phones"], json!(["+16505551234"]));
}

#[tokio::test]
async fn text_search_and_pagination() {
    let app = TestApp::spawn().await;
    let t = app.admin_token.clone();
    let mut acme = Vec::new();
    for i in 0..5 {
        let c = create_contact(
            &app,
            &t,
            json!({"first_name": format!("Person{i}"), "last_name": "Lee", "company": "ACME Corp"}),
        )
        .await;
        acme.push(c["id"].as_i64().unwrap());
    }
    let ann = create_contact(
        &app,
        &t,
        json!({"first_name": "Ann", "last_name": "Lee", "email": "ann.lee@initech.example", "phones": ["+16505550100"]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let percent = create_contact(&app, &t, json!({"first_name": "100% Real"})).await["id"]
        .as_i64()
        .unwrap();

    let mut newest_first = acme.clone();
    newest_first.reverse();
    assert_eq!(
        ids(&list(&app, &t, "?q=acme").await),
        newest_first,
        "case-insensitive"
    );
    assert_eq!(
        ids(&list(&app, &t, "?q=ann%20lee").await),
        vec![ann],
        "every word"
    );
    assert_eq!(
        ids(&list(&app, &t, "?q=initech").await),
        vec![ann],
        "e-mail"
    );
    assert_eq!(
        ids(&list(&app, &t, "?q=555-0100").await),
        vec![ann],
        "digits of a number"
    );
    assert_eq!(
        ids(&list(&app, &t, "?q=%25").await),
        vec![percent],
        "% is literal"
    );
    assert!(ids(&list(&app, &t, "?q=nobody").await).is_empty());
    let both = list(&app, &t, "?q=lee&phone=%2B16505550100").await;
    assert_eq!(ids(&both), vec![ann], "filters combine");

    // Pages of 2 over everything: each contact once, newest first, then no cursor.
    let mut seen = Vec::new();
    let mut query = "?limit=2".to_string();
    for _ in 0..10 {
        let page = list(&app, &t, &query).await;
        let page_ids = ids(&page);
        assert!(page_ids.len() <= 2);
        seen.extend(page_ids);
        match page["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=2&cursor={cursor}"),
            None => break,
        }
    }
    let mut all = acme.clone();
    all.extend([ann, percent]);
    all.reverse();
    assert_eq!(seen, all);

    let resp = app.get("/api/v1/contacts?cursor=garbage", Some(&t)).await;
    assert_eq!(assert_error(resp, 400).await, "invalid_cursor");
    for bad_limit in ["0", "201"] {
        let resp = app
            .get(&format!("/api/v1/contacts?limit={bad_limit}"), Some(&t))
            .await;
        assert_eq!(assert_error(resp, 400).await, "invalid_input");
    }
    let resp = app.get("/api/v1/contacts?limit=ten", Some(&t)).await;
    assert_eq!(assert_error(resp, 400).await, "invalid_query");
}

#[tokio::test]
async fn bad_input_is_refused_with_a_clear_message() {
    let app = TestApp::spawn().await;
    let agent = app.new_agent(&[], json!({})).await;
    let t = agent.token.as_str();

    let cases = [
        (json!({}), "invalid_input", "first_name"),
        (
            json!({"notes": "no name, no number"}),
            "invalid_input",
            "first_name",
        ),
        (json!({"first_name": "   "}), "invalid_input", "first_name"),
        (
            json!({"first_name": "A", "phones": ["12"]}),
            "invalid_phone",
            "`12`",
        ),
        (
            json!({"first_name": "A", "phones": ["call me"]}),
            "invalid_phone",
            "call me",
        ),
        (
            json!({"first_name": "A", "email": "not-an-email"}),
            "invalid_input",
            "email",
        ),
        (
            json!({"first_name": "A", "email": "a@b"}),
            "invalid_input",
            "email",
        ),
        (
            json!({"first_name": "x".repeat(101)}),
            "invalid_input",
            "first_name",
        ),
        (
            json!({"first_name": "A", "company": "c".repeat(201)}),
            "invalid_input",
            "company",
        ),
        (
            json!({"first_name": "A", "notes": "n".repeat(10_001)}),
            "invalid_input",
            "notes",
        ),
        (
            json!({"first_name": "A", "phones": (0..11).map(|i| format!("+1650555{i:04}")).collect::<Vec<_>>()}),
            "invalid_input",
            "at most 10",
        ),
        (
            json!({"first_name": "A", "phones": "+16505551234"}),
            "invalid_json",
            "",
        ),
        (json!({"first_name": 7}), "invalid_json", ""),
    ];
    for (body, code, mentions) in cases {
        let resp = app.post("/api/v1/contacts", Some(t), &body).await;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{body}: {v}");
        assert_eq!(v["error"]["code"], code, "{body}: {v}");
        let message = v["error"]["message"].as_str().unwrap();
        assert!(message.contains(mentions), "{body}: {message}");
    }
    assert!(
        ids(&list(&app, t, "").await).is_empty(),
        "nothing was created"
    );

    let id = create_contact(&app, t, json!({"first_name": "Ann"})).await["id"]
        .as_i64()
        .unwrap();
    let path = format!("/api/v1/contacts/{id}");
    for (patch, code) in [
        (json!({"first_name": null}), "invalid_input"),
        (json!({"phones": ["+1 456"]}), "invalid_phone"),
        (json!({"email": "ann at example.com"}), "invalid_input"),
    ] {
        let resp = app.patch(&path, Some(t), &patch).await;
        assert_eq!(assert_error(resp, 400).await, code, "{patch}");
    }
    let unchanged = json_ok(app.get(&path, Some(t)).await, "get").await;
    assert_eq!(
        unchanged["first_name"], "Ann",
        "a refused patch changes nothing"
    );
    let resp = app.get("/api/v1/contacts/abc", Some(t)).await;
    assert_eq!(assert_error(resp, 400).await, "invalid_path");
    let resp = app.get("/api/v1/contacts/999999", Some(t)).await;
    assert_eq!(assert_error(resp, 404).await, "not_found");
}

#[tokio::test]
async fn contacts_need_a_login() {
    let app = TestApp::spawn().await;
    let resp = app.get("/api/v1/contacts", None).await;
    assert_eq!(assert_error(resp, 401).await, "unauthenticated");
    let resp = app
        .post("/api/v1/contacts", None, &json!({"first_name": "A"}))
        .await;
    assert_eq!(assert_error(resp, 401).await, "unauthenticated");
    let resp = app.get("/api/v1/contacts/1", Some(&"0".repeat(64))).await;
    assert_eq!(assert_error(resp, 401).await, "unauthenticated");
    let resp = app.delete("/api/v1/contacts/1", None).await;
    assert_eq!(assert_error(resp, 401).await, "unauthenticated");

    // Every role may use them.
    let supervisor = app.new_agent(&[], json!({"role": "supervisor"})).await;
    create_contact(&app, &supervisor.token, json!({"first_name": "S"})).await;
    let doc = app.admin_get("/openapi.json").await;
    assert!(doc["paths"]["/api/v1/contacts"]["get"].is_object());
    assert!(doc["components"]["schemas"]["Contact"].is_object());
}

/// SPEC 8.1: a contact stored the way people type numbers matches the customer's E.164
/// number, by `?phone=` and by a search for the number as typed.
#[tokio::test]
async fn numbers_typed_every_common_way_match_the_customer() {
    let app = TestApp::spawn_with(|c| {
        c.set("crm.default_region", "GB");
    })
    .await;
    let t = app.admin_token.clone();
    let mut uk = Vec::new();
    for typed in ["+44 7700 900123", "0044 7700 900123", "07700 900123"] {
        let c = create_contact(&app, &t, json!({"last_name": typed, "phones": [typed]})).await;
        assert_eq!(c["phones"], json!(["+447700900123"]), "{typed}");
        uk.push(c["id"].as_i64().unwrap());
    }
    let us = create_contact(
        &app,
        &t,
        json!({"last_name": "Us", "phones": ["+1 (650) 555-1234"]}),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    uk.reverse();
    for query in [
        "?phone=%2B447700900123",
        "?phone=07700900123",
        "?q=07700%20900123",
        "?q=%2B44%207700%20900123",
    ] {
        assert_eq!(ids(&list(&app, &t, query).await), uk, "{query}");
    }
    assert_eq!(
        ids(&list(&app, &t, "?phone=%2B16505551234").await),
        vec![us]
    );
}

#[tokio::test]
async fn contacts_keep_whatsapp_user_ids() {
    let app = TestApp::spawn().await;
    let agent = app.new_agent(&[], json!({})).await;
    let t = agent.token.as_str();
    let c = create_contact(
        &app,
        t,
        json!({"first_name": "Ann", "whatsapp_user_ids": ["US.13491208655302741918"]}),
    )
    .await;
    assert_eq!(c["whatsapp_user_ids"], json!(["US.13491208655302741918"]));
    let path = format!("/api/v1/contacts/{}", c["id"]);
    let got = json_ok(app.get(&path, Some(t)).await, "get").await;
    assert_eq!(got["whatsapp_user_ids"], json!(["US.13491208655302741918"]));

    let resp = app
        .patch(&path, Some(t), &json!({"notes": "Has a username"}))
        .await;
    let kept = json_ok(resp, "patch notes").await;
    assert_eq!(
        kept["whatsapp_user_ids"],
        json!(["US.13491208655302741918"]),
        "not named: kept"
    );
    let resp = app
        .patch(
            &path,
            Some(t),
            &json!({"whatsapp_user_ids": ["US.ENT.11815799212886844830"]}),
        )
        .await;
    let replaced = json_ok(resp, "patch ids").await;
    assert_eq!(
        replaced["whatsapp_user_ids"],
        json!(["US.ENT.11815799212886844830"])
    );

    for bad in [json!(["+16505551234"]), json!(["US"]), json!("US.1")] {
        let resp = app
            .patch(&path, Some(t), &json!({"whatsapp_user_ids": bad}))
            .await;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{bad}: {v}");
        assert!(
            ["invalid_input", "invalid_json"].contains(&v["error"]["code"].as_str().unwrap()),
            "{v}"
        );
    }
    let doc = app.admin_get("/openapi.json").await;
    assert!(doc["components"]["schemas"]["Contact"]["properties"]["whatsapp_user_ids"].is_object());
}

/// R27: a contact's `priority` (0 to 9, or null) is kept, changed and cleared like its other
/// fields; anything else is refused with a clear message and changes nothing.
#[tokio::test]
async fn contacts_have_a_priority() {
    let app = TestApp::spawn().await;
    let agent = app.new_agent(&[], json!({})).await;
    let t = agent.token.as_str();

    let vip = create_contact(&app, t, json!({"first_name": "Ann", "priority": 7})).await;
    assert_eq!(vip["priority"], 7);
    let path = format!("/api/v1/contacts/{}", vip["id"]);
    let got = json_ok(app.get(&path, Some(t)).await, "get").await;
    assert_eq!(got["priority"], 7);
    assert_eq!(got, vip);

    let plain = create_contact(&app, t, json!({"first_name": "Bob"})).await;
    assert_eq!(plain["priority"], Value::Null, "absent: none");
    assert!(plain.as_object().unwrap().contains_key("priority"));
    let page = list(&app, t, "").await;
    assert_eq!(page["items"][0]["priority"], Value::Null);
    assert_eq!(page["items"][1]["priority"], 7, "listed too");

    let resp = app.patch(&path, Some(t), &json!({"notes": "VIP"})).await;
    assert_eq!(
        json_ok(resp, "patch notes").await["priority"],
        7,
        "not named: kept"
    );
    let resp = app.patch(&path, Some(t), &json!({"priority": 9})).await;
    assert_eq!(json_ok(resp, "patch 9").await["priority"], 9);
    let resp = app.patch(&path, Some(t), &json!({"priority": null})).await;
    let cleared = json_ok(resp, "patch null").await;
    assert_eq!(cleared["priority"], Value::Null, "null clears it");
    assert_eq!(cleared["notes"], "VIP");
    let resp = app.patch(&path, Some(t), &json!({"priority": 0})).await;
    assert_eq!(json_ok(resp, "patch 0").await["priority"], 0);
    let before = json_ok(app.get(&path, Some(t)).await, "get").await;

    for bad in [10, -1, 1000] {
        let resp = app
            .patch(
                &path,
                Some(t),
                &json!({"priority": bad, "first_name": "Zed"}),
            )
            .await;
        let status = resp.status().as_u16();
        let v: Value = resp.json().await.unwrap();
        assert_eq!(status, 400, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "invalid_input", "{bad}: {v}");
        assert_eq!(v["error"]["message"], "priority must be between 0 and 9");
    }
    let after = json_ok(app.get(&path, Some(t)).await, "get").await;
    assert_eq!(after, before, "a refused priority changes nothing");

    let resp = app
        .post(
            "/api/v1/contacts",
            Some(t),
            &json!({"first_name": "C", "priority": 10}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "invalid_input");
    let resp = app
        .post(
            "/api/v1/contacts",
            Some(t),
            &json!({"first_name": "C", "priority": "7"}),
        )
        .await;
    assert_eq!(assert_error(resp, 400).await, "invalid_json");
    assert_eq!(ids(&list(&app, t, "").await).len(), 2, "nothing created");

    let doc = app.admin_get("/openapi.json").await;
    let schema = &doc["components"]["schemas"]["Contact"]["properties"]["priority"];
    assert!(schema.is_object(), "{schema}");
    assert_eq!(schema["maximum"], 9, "{schema}");
}

const GUID_A: &str = "0a1b2c3d-0000-4000-8000-00000000000a";

fn dynamics_contact(first: &str, phone: &str) -> Value {
    json!({
        "contactid": GUID_A, "firstname": first, "lastname": "Nelson",
        "emailaddress1": null, "telephone1": phone, "mobilephone": null, "telephone2": null,
        "description": null, "modifiedon": "2024-05-02T10:00:00Z", "statecode": 0,
        "new_whatsappuserid": "US.13491208655302741918"
    })
}

async fn dynamics_app(crm: &wiremock::MockServer) -> TestApp {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": 3599, "access_token": "tok"
        })))
        .mount(crm)
        .await;
    let uri = crm.uri();
    TestApp::spawn_with(move |c| {
        c.set("crm.connector", "dynamics365")
            .set("crm.dynamics.base_url", uri.clone())
            .set("crm.dynamics.token_url", format!("{uri}/token"))
            .set("crm.dynamics.client_id", "client")
            .set("crm.dynamics.client_secret", "secret")
            .set("crm.dynamics.user_id_field", "new_whatsappuserid")
            .set("crm.retry_attempts", 1);
    })
    .await
}

/// With Dynamics 365 configured, the contacts API (and the admin page on it) lists, creates,
/// reads, changes and deletes Dynamics contacts, never the built-in store's.
#[tokio::test]
async fn with_dynamics_the_contacts_api_works_on_dynamics_contacts() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let crm = wiremock::MockServer::start().await;
    let contacts = "/api/data/v9.2/contacts";
    let one = format!("{contacts}({GUID_A})");
    Mock::given(method("GET"))
        .and(path(contacts))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [dynamics_contact("Sheena", "(650) 555-1234")]
        })))
        .mount(&crm)
        .await;
    Mock::given(method("POST"))
        .and(path(contacts))
        .respond_with(ResponseTemplate::new(204).insert_header(
            "OData-EntityId",
            format!("https://org.crm.dynamics.com{one}").as_str(),
        ))
        .mount(&crm)
        .await;
    Mock::given(method("GET"))
        .and(path(one.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(dynamics_contact("Sheena", "(650) 555-1234")),
        )
        .mount(&crm)
        .await;
    Mock::given(method("PATCH"))
        .and(path(one.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(dynamics_contact("Shona", "(650) 555-1234")),
        )
        .mount(&crm)
        .await;
    let app = dynamics_app(&crm).await;
    let agent = app.new_agent(&[], json!({})).await;
    let t = agent.token.as_str();

    let page = list(&app, t, "?q=sheena").await;
    assert_eq!(page["items"][0]["id"], GUID_A, "a Dynamics GUID");
    assert_eq!(page["items"][0]["phones"], json!(["+16505551234"]));
    assert_eq!(
        page["items"][0]["whatsapp_user_ids"],
        json!(["US.13491208655302741918"])
    );

    let created = create_contact(
        &app,
        t,
        json!({"first_name": "Sheena", "phones": ["(650) 555-1234"],
               "whatsapp_user_ids": ["US.13491208655302741918"]}),
    )
    .await;
    assert_eq!(created["id"], GUID_A);
    let path_one = format!("/api/v1/contacts/{GUID_A}");
    let got = json_ok(app.get(&path_one, Some(t)).await, "get").await;
    assert_eq!(got["first_name"], "Sheena");
    assert_eq!(got["priority"], Value::Null, "Dynamics keeps no priority");
    let resp = app
        .patch(&path_one, Some(t), &json!({"first_name": "Shona"}))
        .await;
    assert_eq!(json_ok(resp, "patch").await["first_name"], "Shona");
    let resp = app.delete(&path_one, Some(t)).await;
    assert_eq!(resp.status().as_u16(), 204);

    let requests = crm.received_requests().await.unwrap_or_default();
    let body_of = |m: &str, p: &str| -> Vec<Value> {
        requests
            .iter()
            .filter(|r| r.method.as_str() == m && r.url.path() == p)
            .map(|r| r.body_json::<Value>().unwrap())
            .collect()
    };
    assert_eq!(
        body_of("POST", contacts),
        vec![json!({"firstname": "Sheena", "telephone1": "+16505551234",
                    "new_whatsappuserid": "US.13491208655302741918"})]
    );
    assert_eq!(
        body_of("PATCH", &one),
        vec![
            json!({"firstname": "Shona"}),
            json!({"statecode": 1, "statuscode": 2}),
        ],
        "the change, then the delete (a deactivation)"
    );

    // What Dynamics cannot do is said plainly.
    let resp = app
        .post(
            "/api/v1/contacts",
            Some(t),
            &json!({"first_name": "A", "phones": ["+16505550001", "+16505550002",
                                                  "+16505550003", "+16505550004"]}),
        )
        .await;
    assert_eq!(assert_error(resp, 409).await, "crm_unsupported");
    let resp = app
        .post(
            "/api/v1/contacts",
            Some(t),
            &json!({"first_name": "A", "priority": 5}),
        )
        .await;
    let v: Value = resp.json().await.unwrap();
    assert_eq!(v["error"]["code"], "invalid_input", "{v}");
    assert_eq!(
        v["error"]["message"],
        "priority is kept by the built-in CRM only"
    );
    let resp = app.patch(&path_one, Some(t), &json!({"priority": 5})).await;
    assert_eq!(assert_error(resp, 400).await, "invalid_input");
    assert_eq!(
        crm.received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .filter(|r| r.method.as_str() != "GET" && r.url.path() != "/token")
            .count(),
        3,
        "a priority sent nothing to Dynamics (the create, the change, the delete before)"
    );
    let resp = app.get("/api/v1/contacts/42", Some(t)).await;
    assert_eq!(assert_error(resp, 400).await, "invalid_path");
}

#[tokio::test]
async fn with_dynamics_down_the_contacts_api_says_the_crm_is_unavailable() {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let crm = wiremock::MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/data/v9.2/contacts"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&crm)
        .await;
    let app = dynamics_app(&crm).await;
    let t = app.admin_token.clone();
    let resp = app.get("/api/v1/contacts", Some(&t)).await;
    assert_eq!(assert_error(resp, 503).await, "crm_unavailable");
}
