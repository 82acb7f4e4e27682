//! The Dynamics 365 connector against a mock server that answers like the Dataverse Web API
//! and the Microsoft identity platform do.

use super::dynamics::{Dynamics, DynamicsConfig, API_PATH};
use super::{outbox, ActivityRecord, ContactId, Crm, CrmError, NewContact, TranscriptLine};
use crate::store::{crm_outbox, Store};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use wiremock::matchers::{bearer_token, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const TOKEN_PATH: &str = "/tenant/oauth2/v2.0/token";
const GUID_A: &str = "0a1b2c3d-0000-4000-8000-00000000000a";
const GUID_B: &str = "0a1b2c3d-0000-4000-8000-00000000000b";

fn config(server: &MockServer) -> DynamicsConfig {
    DynamicsConfig {
        api_url: format!("{}{API_PATH}", server.uri()),
        token_url: format!("{}{TOKEN_PATH}", server.uri()),
        client_id: "client-id".into(),
        client_secret: "client-secret".into(),
        scope: "https://org.crm.dynamics.com/.default".into(),
        activity_entity: "phonecalls".into(),
        activity_logical_name: "phonecall".into(),
        default_region: "US".into(),
        user_id_field: None,
        timeout: Duration::from_secs(5),
        attempts: 3,
        retry_base: Duration::from_millis(10),
    }
}

fn token(value: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": value
    }))
}

async fn token_endpoint(server: &MockServer, value: &str) {
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token(value))
        .mount(server)
        .await;
}

fn contacts_path() -> String {
    format!("{API_PATH}/contacts")
}

fn contact_json(id: &str, first: &str, phone: &str, modified: &str) -> Value {
    json!({
        "@odata.etag": "W/\"4242\"",
        "contactid": id,
        "firstname": first,
        "lastname": "Nelson",
        "emailaddress1": format!("{}@example.com", first.to_lowercase()),
        "telephone1": phone,
        "mobilephone": null,
        "telephone2": null,
        "description": "VIP",
        "modifiedon": modified,
        "_parentcustomerid_value": GUID_B,
        "_parentcustomerid_value@OData.Community.Display.V1.FormattedValue": "Contoso",
        "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account"
    })
}

fn collection(items: Vec<Value>) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "@odata.context": "https://org.crm.dynamics.com/api/data/v9.2/$metadata#contacts",
        "value": items
    }))
}

fn odata_error(status: u16, code: &str, message: &str) -> ResponseTemplate {
    ResponseTemplate::new(status)
        .set_body_json(json!({"error": {"code": code, "message": message}}))
}

async fn requests_to(server: &MockServer, p: &str) -> Vec<Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path() == p)
        .collect()
}

fn activity(contact: Option<ContactId>) -> ActivityRecord {
    ActivityRecord {
        interaction_id: 42,
        contact_id: contact,
        customer_name: "Sheena Nelson".into(),
        customer_phone: "+16505551234".into(),
        customer_username: None,
        customer_user_id: None,
        source_number: "+15550100".into(),
        queue_name: "Sales".into(),
        agents: vec!["Alice Agent".into()],
        initiated_at: 1_700_000_000_000,
        accepted_at: Some(1_700_000_010_000),
        terminated_at: Some(1_700_000_130_000),
        wrapped_up_at: 1_700_000_150_000,
        disposition: Some("sale".into()),
        transcript: vec![
            TranscriptLine {
                sent_at: 1_700_000_000_000,
                author: "Sheena Nelson".into(),
                text: "Hi, my order is late".into(),
            },
            TranscriptLine {
                sent_at: 1_700_000_020_000,
                author: "Alice Agent".into(),
                text: "Let me check".into(),
            },
        ],
        outbound: false,
    }
}

/// The lookup filter for a number: each phone column equal to one of `spaced` (the written
/// forms that do not end with the national number) or ending with `national`.
fn expected_filter(spaced: &[&str], national: &str) -> String {
    let mut clauses = Vec::new();
    for field in ["telephone1", "mobilephone", "telephone2"] {
        for form in spaced {
            clauses.push(format!("{field} eq '{form}'"));
        }
        clauses.push(format!("endswith({field},'{national}')"));
    }
    format!("statecode eq 0 and ({})", clauses.join(" or "))
}

#[actix_web::test]
async fn lookup_sends_the_odata_query_and_reads_the_matches() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok-1").await;
    let filter = expected_filter(
        &[
            "+1 650-555-1234",
            "650-555-1234",
            "0111 650-555-1234",
            "011 1 650-555-1234",
            "(650) 555-1234",
        ],
        "6505551234",
    );
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(query_param("$filter", filter.as_str()))
        .and(query_param("$orderby", "modifiedon desc"))
        .and(query_param("$top", "50"))
        .and(bearer_token("tok-1"))
        .and(header("OData-Version", "4.0"))
        .and(header("OData-MaxVersion", "4.0"))
        .respond_with(collection(vec![
            contact_json(
                GUID_A,
                "Sheena",
                "+1 (650) 555-1234",
                "2024-05-02T10:00:00Z",
            ),
            contact_json(GUID_B, "Shawn", "16505551234", "2024-05-01T10:00:00Z"),
        ]))
        .expect(1)
        .mount(&server)
        .await;

    let crm = Dynamics::new(config(&server));
    let found = crm.lookup_by_phone("+16505551234").await.unwrap();
    assert_eq!(found.len(), 2);
    let first = &found[0];
    assert_eq!(first.id, ContactId::External(GUID_A.into()));
    assert_eq!(first.first_name.as_deref(), Some("Sheena"));
    assert_eq!(
        first.phones,
        vec!["+16505551234"],
        "stored formats read as E.164"
    );
    assert_eq!(first.email.as_deref(), Some("sheena@example.com"));
    assert_eq!(first.company.as_deref(), Some("Contoso"));
    assert_eq!(first.notes.as_deref(), Some("VIP"));
    assert_eq!(first.updated_at, 1_714_644_000_000);
    assert_eq!(found[1].id, ContactId::External(GUID_B.into()));

    let select = requests_to(&server, &contacts_path()).await[0]
        .url
        .query_pairs()
        .find(|(k, _)| k == "$select")
        .map(|(_, v)| v.to_string())
        .unwrap();
    for column in [
        "contactid",
        "telephone1",
        "mobilephone",
        "telephone2",
        "modifiedon",
        "statecode",
    ] {
        assert!(select.contains(column), "{select}");
    }
}

fn dynamics_in(server: &MockServer, region: &str, user_id_field: Option<&str>) -> Dynamics {
    let mut cfg = config(server);
    cfg.default_region = region.into();
    cfg.user_id_field = user_id_field.map(str::to_string);
    Dynamics::new(cfg)
}

fn with_phones(id: &str, first: &str, phones: [Option<&str>; 3]) -> Value {
    let mut c = contact_json(id, first, "", "2024-05-02T10:00:00Z");
    for (field, value) in ["telephone1", "mobilephone", "telephone2"]
        .iter()
        .zip(phones)
    {
        c[*field] = json!(value);
    }
    c
}

const GUID_C: &str = "0a1b2c3d-0000-4000-8000-00000000000c";
const GUID_D: &str = "0a1b2c3d-0000-4000-8000-00000000000d";

/// SPEC 8.1 against free text: one request, at most 50 candidates, and a candidate whose
/// number only ends like the customer's is dropped here.
#[actix_web::test]
async fn a_number_typed_any_common_way_is_found_in_one_bounded_request() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let filter = expected_filter(
        &[
            "+44 7700 900123",
            "7700 900123",
            "0044 7700 900123",
            "00 44 7700 900123",
            "07700 900123",
        ],
        "7700900123",
    );
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(query_param("$filter", filter.as_str()))
        .and(query_param("$top", "50"))
        .respond_with(collection(vec![
            with_phones(GUID_A, "Typed", [Some("07700 900123"), None, None]),
            with_phones(GUID_B, "Abroad", [None, Some("0044 7700 900123"), None]),
            with_phones(
                GUID_C,
                "Plus",
                [Some("+1 650 555 1234"), None, Some("+44 7700 900123")],
            ),
            // Ends like the customer's number, is another one (+1 770-090-0123).
            with_phones(GUID_D, "Other", [Some("+17700900123"), None, None]),
        ]))
        .expect(1)
        .mount(&server)
        .await;
    let crm = dynamics_in(&server, "GB", None);
    let found = crm.lookup_by_phone("+447700900123").await.unwrap();
    let ids: Vec<ContactId> = found.iter().map(|c| c.id.clone()).collect();
    assert_eq!(
        ids,
        [GUID_A, GUID_B, GUID_C].map(|g| ContactId::External(g.into())),
        "the false positive is dropped, the order kept"
    );
    assert_eq!(found[2].phones, vec!["+16505551234", "+447700900123"]);
    server.verify().await;
    assert_eq!(requests_to(&server, &contacts_path()).await.len(), 1);

    // Not a number: nothing to ask.
    assert!(crm.lookup_by_phone("7700900123").await.unwrap().is_empty());
    assert_eq!(requests_to(&server, &contacts_path()).await.len(), 1);
}

#[actix_web::test]
async fn no_match_and_one_match() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(query_param("$orderby", "modifiedon desc"))
        .respond_with(collection(vec![]))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    assert!(crm
        .lookup_by_phone("+16505551234")
        .await
        .unwrap()
        .is_empty());

    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(collection(vec![contact_json(
            GUID_A,
            "Sheena",
            "+16505551234",
            "2024-05-02T10:00:00Z",
        )]))
        .mount(&server)
        .await;
    assert_eq!(crm.lookup_by_phone("+16505551234").await.unwrap().len(), 1);
}

#[actix_web::test]
async fn the_token_is_cached_until_it_expires() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains("client_id=client-id"))
        .and(body_string_contains("client_secret=client-secret"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Forg.crm.dynamics.com%2F.default",
        ))
        .respond_with(token("tok-1"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(bearer_token("tok-1"))
        .respond_with(collection(vec![]))
        .expect(3)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    for _ in 0..3 {
        crm.lookup_by_phone("+16505551234").await.unwrap();
    }
    server.verify().await;

    // A token that is about to expire (within the renewal margin) is renewed.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"token_type": "Bearer", "expires_in": "30", "access_token": "short"}),
        ))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(collection(vec![]))
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    crm.lookup_by_phone("+16505551234").await.unwrap();
    crm.lookup_by_phone("+16505551234").await.unwrap();
    server.verify().await;
}

#[actix_web::test]
async fn a_401_renews_the_token_and_tries_again_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token("old"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(token("new"))
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(bearer_token("old"))
        .respond_with(odata_error(
            401,
            "0x80072560",
            "The user is not a member of the organization.",
        ))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(bearer_token("new"))
        .respond_with(collection(vec![contact_json(
            GUID_A,
            "Sheena",
            "+16505551234",
            "2024-05-02T10:00:00Z",
        )]))
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let found = crm.lookup_by_phone("+16505551234").await.unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(requests_to(&server, TOKEN_PATH).await.len(), 2);

    // A 401 with a fresh token too is a sign-in error, after one renewal.
    let server = MockServer::start().await;
    token_endpoint(&server, "any").await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(odata_error(401, "0x80072560", "not a member"))
        .expect(2)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let e = crm.lookup_by_phone("+16505551234").await.unwrap_err();
    assert!(matches!(e, CrmError::Auth(_)), "{e:?}");
    assert_eq!(e.code().as_str(), "crm_auth_failed");
}

#[actix_web::test]
async fn server_errors_and_throttling_are_retried() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(odata_error(503, "0x80040216", "Service unavailable"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(
            odata_error(429, "0x80072322", "Number of requests exceeded the limit")
                .insert_header("Retry-After", "0"),
        )
        .up_to_n_times(1)
        .with_priority(2)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(collection(vec![]))
        .with_priority(3)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    assert!(crm
        .lookup_by_phone("+16505551234")
        .await
        .unwrap()
        .is_empty());
    assert_eq!(requests_to(&server, &contacts_path()).await.len(), 3);
}

#[actix_web::test]
async fn failures_are_surfaced_with_the_web_api_message() {
    // 5xx every time: unavailable after `attempts` tries.
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(odata_error(
            500,
            "0x80040216",
            "An unexpected error occurred.",
        ))
        .expect(3)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let e = crm.lookup_by_phone("+16505551234").await.unwrap_err();
    assert!(
        matches!(e, CrmError::Unavailable(_)) && e.is_transient(),
        "{e:?}"
    );
    let text = e.to_string();
    assert!(
        text.contains("HTTP 500") && text.contains("An unexpected error occurred."),
        "{text}"
    );
    server.verify().await;

    // Another 4xx: refused at once, not retried.
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(odata_error(
            400,
            "0x0",
            "Could not find a property named 'telephone9' on type 'Microsoft.Dynamics.CRM.contact'.",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let e = crm.lookup_by_phone("+16505551234").await.unwrap_err();
    assert!(
        matches!(e, CrmError::Rejected(_)) && !e.is_transient(),
        "{e:?}"
    );
    assert!(e.to_string().contains("telephone9"));
    server.verify().await;

    // The token endpoint refuses the client: a sign-in error with its description.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(TOKEN_PATH))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided."
        })))
        .expect(1)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let e = crm.lookup_by_phone("+16505551234").await.unwrap_err();
    assert!(matches!(e, CrmError::Auth(_)), "{e:?}");
    assert!(e.to_string().contains("AADSTS7000215"), "{e}");
    server.verify().await;

    // Nobody listening: unavailable, and the screen pop says so.
    let dead = {
        let s = MockServer::start().await;
        config(&s)
    };
    let e = Dynamics::new(dead)
        .lookup_by_phone("+16505551234")
        .await
        .unwrap_err();
    assert!(e.is_transient(), "{e:?}");
    let pop = super::ScreenPop::decide(Err(e), true);
    assert_eq!(pop.action, super::PopAction::NewContact);
    assert!(pop.error.unwrap().starts_with("CRM lookup failed"));
}

#[actix_web::test]
async fn get_reads_one_contact_or_none() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("GET"))
        .and(path(format!("{API_PATH}/contacts({GUID_A})")))
        .respond_with(ResponseTemplate::new(200).set_body_json(contact_json(
            GUID_A,
            "Sheena",
            "+16505551234",
            "2024-05-02T10:00:00Z",
        )))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API_PATH}/contacts({GUID_B})")))
        .respond_with(odata_error(
            404,
            "0x80040217",
            "Entity 'contact' With Id = 0a1b2c3d-0000-4000-8000-00000000000b Does Not Exist",
        ))
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let a = crm.get(GUID_A).await.unwrap().unwrap();
    assert_eq!(a.first_name.as_deref(), Some("Sheena"));
    assert_eq!(crm.get(GUID_B).await.unwrap(), None);
    assert_eq!(crm.get("not-a-guid').delete").await.unwrap(), None);
}

#[actix_web::test]
async fn create_posts_the_contact_and_reads_the_entity_id() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("POST"))
        .and(path(contacts_path()))
        .and(header("Content-Type", "application/json; charset=utf-8"))
        .respond_with(ResponseTemplate::new(204).insert_header(
            "OData-EntityId",
            format!("https://org.crm.dynamics.com/api/data/v9.2/contacts({GUID_A})").as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let valid = NewContact {
        first_name: Some("Sheena".into()),
        last_name: Some("Nelson".into()),
        phones: vec!["+1 (650) 555-1234".into(), "+44 7966 197542".into()],
        whatsapp_user_ids: vec![],
        email: Some("sheena@example.com".into()),
        company: Some("Contoso".into()),
        notes: Some("Prefers WhatsApp".into()),
        priority: None,
    }
    .validate("US")
    .unwrap();
    let created = crm.create(&valid).await.unwrap();
    assert_eq!(created.id, ContactId::External(GUID_A.into()));
    assert_eq!(created.phones, vec!["+16505551234", "+447966197542"]);

    let sent: Value = requests_to(&server, &contacts_path()).await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent,
        json!({
            "firstname": "Sheena",
            "lastname": "Nelson",
            "emailaddress1": "sheena@example.com",
            "telephone1": "+16505551234",
            "mobilephone": "+447966197542",
            "description": "Company: Contoso\nPrefers WhatsApp"
        })
    );
    server.verify().await;

    // Without the header there is no id to link to: a clear error.
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("POST"))
        .and(path(contacts_path()))
        .respond_with(ResponseTemplate::new(204))
        .mount(&server)
        .await;
    let e = Dynamics::new(config(&server))
        .create(&valid)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("OData-EntityId"), "{e}");
}

#[actix_web::test]
async fn the_call_log_is_a_phonecall_regarding_the_contact() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let activities = format!("{API_PATH}/phonecalls");
    Mock::given(method("POST"))
        .and(path(activities.clone()))
        .respond_with(ResponseTemplate::new(204).insert_header(
            "OData-EntityId",
            "https://org.crm.dynamics.com/api/data/v9.2/phonecalls(11111111-0000-4000-8000-000000000001)",
        ))
        .expect(1)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let activity_id = "11111111-0000-4000-8000-000000000001";
    crm.save_activity(
        activity_id,
        &activity(Some(ContactId::External(GUID_A.into()))),
    )
    .await
    .unwrap();

    let sent: Value = requests_to(&server, &activities).await[0]
        .body_json()
        .unwrap();
    assert_eq!(sent["activityid"], activity_id);
    assert_eq!(
        sent["subject"],
        "WhatsApp conversation with Sheena Nelson (+16505551234) [sale]"
    );
    let description = sent["description"].as_str().unwrap();
    assert!(
        description.contains("Sheena Nelson: Hi, my order is late"),
        "{description}"
    );
    assert!(
        description.contains("Alice Agent: Let me check"),
        "{description}"
    );
    assert_eq!(sent["actualstart"], "2023-11-14T22:13:20Z");
    assert_eq!(sent["actualend"], "2023-11-14T22:15:30Z");
    assert_eq!(sent["actualdurationminutes"], 3);
    assert_eq!(sent["phonenumber"], "+16505551234");
    // A call that happened: Completed (1), Received (4), incoming.
    assert_eq!(sent["statecode"], 1);
    assert_eq!(sent["statuscode"], 4);
    assert_eq!(sent["directioncode"], false);
    assert_eq!(
        sent["regardingobjectid_contact_phonecall@odata.bind"],
        format!("/contacts({GUID_A})")
    );
    assert_eq!(
        sent["phonecall_activity_parties"],
        json!([{
            "partyid_contact@odata.bind": format!("/contacts({GUID_A})"),
            "participationtypemask": 1
        }])
    );
}

#[actix_web::test]
async fn a_conversation_the_business_started_is_a_completed_outgoing_call() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let activities = format!("{API_PATH}/phonecalls");
    Mock::given(method("POST"))
        .and(path(activities.clone()))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let crm = Dynamics::new(config(&server));
    let mut outbound = activity(Some(ContactId::External(GUID_A.into())));
    outbound.outbound = true;
    crm.save_activity("11111111-0000-4000-8000-000000000003", &outbound)
        .await
        .unwrap();
    let sent: Value = requests_to(&server, &activities).await[0]
        .body_json()
        .unwrap();
    // Completed (1), Made (2), outgoing; the contact is the one called.
    assert_eq!(sent["statecode"], 1);
    assert_eq!(sent["statuscode"], 2);
    assert_eq!(sent["directioncode"], true);
    assert_eq!(
        sent["phonecall_activity_parties"][0]["participationtypemask"],
        2
    );
}

#[actix_web::test]
async fn a_custom_activity_entity_and_a_repeated_save() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let activities = format!("{API_PATH}/new_whatsappchats");
    Mock::given(method("POST"))
        .and(path(activities.clone()))
        .respond_with(odata_error(
            412,
            "0x80040237",
            "A record with matching key values already exists.",
        ))
        .mount(&server)
        .await;
    let mut cfg = config(&server);
    cfg.activity_entity = "new_whatsappchats".into();
    cfg.activity_logical_name = "new_whatsappchat".into();
    let crm = Dynamics::new(cfg);
    // Saved before (the first answer was lost): that is success.
    crm.save_activity(
        "11111111-0000-4000-8000-000000000002",
        &activity(Some(ContactId::External(GUID_A.into()))),
    )
    .await
    .unwrap();
    let sent: Value = requests_to(&server, &activities).await[0]
        .body_json()
        .unwrap();
    assert_eq!(
        sent["regardingobjectid_contact_new_whatsappchat@odata.bind"],
        format!("/contacts({GUID_A})")
    );
    assert!(sent.get("phonenumber").is_none() && sent.get("directioncode").is_none());
    // Completed; the status reason is the custom activity's own default for it.
    assert_eq!(sent["statecode"], 1);
    assert!(sent.get("statuscode").is_none());
}

fn dynamics_crm(server: &MockServer, store: Store) -> Arc<Crm> {
    let mut settings = crate::configuration::load(None).expect("defaults");
    settings.crm.connector = "dynamics365".into();
    settings.crm.retry_base_ms = 10;
    settings.crm.dynamics.base_url = Some(server.uri());
    settings.crm.dynamics.token_url = Some(format!("{}{TOKEN_PATH}", server.uri()));
    settings.crm.dynamics.client_id = Some("client-id".into());
    settings.crm.dynamics.client_secret = Some("client-secret".into());
    Arc::new(Crm::from_settings(&settings, store).unwrap())
}

fn temp_store() -> (Store, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&dir.path().join("crm.db"), 2, 16, Default::default(), 1000).unwrap();
    (store, dir)
}

#[actix_web::test]
async fn the_outbox_retries_until_the_crm_accepts() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let activities = format!("{API_PATH}/phonecalls");
    Mock::given(method("POST"))
        .and(path(activities.clone()))
        .respond_with(odata_error(503, "0x80040216", "Service unavailable"))
        .up_to_n_times(3)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(activities.clone()))
        .respond_with(ResponseTemplate::new(204))
        .with_priority(2)
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm(&server, store.clone());
    assert!(crm.pushes_activities());
    crm.save_activity(activity(Some(ContactId::External(GUID_A.into()))))
        .await
        .unwrap();

    // One scan: three tries within the call, all 503: kept for later, with the error.
    assert!(outbox::run_once(&crm).await);
    let rows = store.read(crm_outbox::pending).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].attempts, 1);
    assert!(rows[0].last_error.as_deref().unwrap().contains("503"));
    assert!(rows[0].given_up_at.is_none());

    // Due again after the backoff: accepted, and the row leaves.
    tokio::time::sleep(Duration::from_millis(30)).await;
    assert!(outbox::run_once(&crm).await);
    assert!(store.read(crm_outbox::pending).await.unwrap().is_empty());
    let posts = requests_to(&server, &activities).await;
    assert_eq!(posts.len(), 4);
    let ids: Vec<Value> = posts
        .iter()
        .map(|r| r.body_json::<Value>().unwrap()["activityid"].clone())
        .collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one GUID for every try");
}

#[actix_web::test]
async fn the_outbox_gives_up_on_a_refusal_and_the_worker_runs_by_itself() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("POST"))
        .and(path(format!("{API_PATH}/phonecalls")))
        .respond_with(odata_error(400, "0x80048d19", "Invalid property 'subject'"))
        .expect(1)
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm(&server, store.clone());
    crm.start_outbox();
    let record = activity(None);
    let crm2 = crm.clone();
    store
        .write(move |db| crm2.enqueue_activity(db, || record))
        .await
        .unwrap();
    crm.activity_enqueued();

    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let rows = store.read(crm_outbox::pending).await.unwrap();
        if rows.first().is_some_and(|r| r.given_up_at.is_some()) {
            assert!(rows[0]
                .last_error
                .as_deref()
                .unwrap()
                .contains("Invalid property"));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "worker did not run");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.verify().await;
}

#[actix_web::test]
async fn the_builtin_connector_pushes_nothing() {
    let (store, _dir) = temp_store();
    let settings = crate::configuration::load(None).expect("defaults");
    let crm = Crm::from_settings(&settings, store.clone()).unwrap();
    assert_eq!(crm.name(), "builtin");
    assert!(!crm.pushes_activities());
    crm.save_activity(activity(None)).await.unwrap();
    assert!(store.read(crm_outbox::pending).await.unwrap().is_empty());

    let created = crm
        .create(NewContact {
            first_name: Some("Ann".into()),
            phones: vec!["(650) 555-1234".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        crm.lookup_by_phone("+16505551234").await.unwrap(),
        vec![created.clone()]
    );
    assert_eq!(crm.get(&created.id).await.unwrap(), Some(created.clone()));
    assert_eq!(
        crm.get(&ContactId::External(GUID_A.into())).await.unwrap(),
        None
    );
    let e = crm.create(NewContact::default()).await.unwrap_err();
    assert_eq!(e.code().as_str(), "invalid_input");

    // The screen pop asks by number when there is one, by BSUID only without one.
    assert!(crm.keeps_user_ids());
    let by_id = crm
        .create(NewContact {
            first_name: Some("Bo".into()),
            whatsapp_user_ids: vec![BSUID.into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        crm.lookup_customer(Some("+16505551234"), Some(BSUID))
            .await
            .unwrap(),
        vec![created.clone()]
    );
    assert_eq!(
        crm.lookup_customer(None, Some(BSUID)).await.unwrap(),
        vec![by_id]
    );
    assert!(crm.lookup_customer(None, None).await.unwrap().is_empty());
    let linked = crm.add_user_id(&created.id, "GB.42").await.unwrap();
    assert_eq!(linked.whatsapp_user_ids, vec!["GB.42"]);
    assert_eq!(crm.lookup_by_user_id("GB.42").await.unwrap(), vec![linked]);
}

const USER_ID_FIELD: &str = "new_whatsappuserid";
const BSUID: &str = "US.13491208655302741918";

fn dynamics_crm_with(server: &MockServer, store: Store, user_id_field: Option<&str>) -> Arc<Crm> {
    let mut settings = crate::configuration::load(None).expect("defaults");
    settings.crm.connector = "dynamics365".into();
    settings.crm.retry_base_ms = 10;
    settings.crm.dynamics.base_url = Some(server.uri());
    settings.crm.dynamics.token_url = Some(format!("{}{TOKEN_PATH}", server.uri()));
    settings.crm.dynamics.client_id = Some("client-id".into());
    settings.crm.dynamics.client_secret = Some("client-secret".into());
    settings.crm.dynamics.user_id_field = user_id_field.map(str::to_string);
    Arc::new(Crm::from_settings(&settings, store).unwrap())
}

/// R21 screen pop: a customer without a number is looked up by BSUID in the configured column.
#[actix_web::test]
async fn a_bsuid_is_looked_up_in_the_configured_column() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let mut ann = contact_json(GUID_A, "Ann", "+16505551234", "2024-05-02T10:00:00Z");
    ann[USER_ID_FIELD] = json!(BSUID);
    let mut other_case = contact_json(GUID_B, "Bob", "+16505550000", "2024-05-01T10:00:00Z");
    other_case[USER_ID_FIELD] = json!(BSUID.to_lowercase());
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(query_param(
            "$filter",
            format!("statecode eq 0 and {USER_ID_FIELD} eq '{BSUID}'").as_str(),
        ))
        .and(query_param("$top", "50"))
        .respond_with(collection(vec![ann, other_case]))
        .expect(2)
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, Some(USER_ID_FIELD));
    assert!(crm.keeps_user_ids());
    let found = crm.lookup_by_user_id(BSUID).await.unwrap();
    assert_eq!(found.len(), 1, "a BSUID is matched exactly: {found:?}");
    assert_eq!(found[0].id, ContactId::External(GUID_A.into()));
    assert_eq!(found[0].whatsapp_user_ids, vec![BSUID]);
    // With no number the screen pop asks by BSUID; with one, by number only.
    let found = crm.lookup_customer(None, Some(BSUID)).await.unwrap();
    assert_eq!(found.len(), 1);
    // Not a BSUID: nothing to ask.
    assert!(crm
        .lookup_by_user_id("16505551234")
        .await
        .unwrap()
        .is_empty());
    server.verify().await;
    let select = requests_to(&server, &contacts_path()).await[0]
        .url
        .query_pairs()
        .find(|(k, _)| k == "$select")
        .map(|(_, v)| v.to_string())
        .unwrap();
    assert!(select.ends_with(&format!(",{USER_ID_FIELD}")), "{select}");
}

/// Failing lookups by BSUID fail like lookups by number, so the screen pop's breaker and its
/// error for the agent apply alike.
#[actix_web::test]
async fn a_failing_bsuid_lookup_fails_like_a_number_lookup() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .respond_with(odata_error(503, "0x80040216", "Service unavailable"))
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, Some(USER_ID_FIELD));
    let by_id = crm.lookup_by_user_id(BSUID).await.unwrap_err();
    let by_phone = crm.lookup_by_phone("+16505551234").await.unwrap_err();
    assert_eq!(by_id.code(), by_phone.code());
    assert!(by_id.is_transient() && by_phone.is_transient());
}

#[actix_web::test]
async fn without_a_user_id_column_bsuids_are_neither_asked_for_nor_written() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, None);
    assert!(!crm.keeps_user_ids());
    assert!(crm.lookup_by_user_id(BSUID).await.unwrap().is_empty());
    let e = crm
        .add_user_id(&ContactId::External(GUID_A.into()), BSUID)
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "crm_unsupported");
    assert!(e.to_string().contains("crm.dynamics.user_id_field"), "{e}");
    let e = crm
        .create(NewContact {
            first_name: Some("Ann".into()),
            whatsapp_user_ids: vec![BSUID.into()],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "crm_unsupported");
    assert!(requests_to(&server, &contacts_path()).await.is_empty());
}

/// Linking a conversation whose customer has a BSUID keeps it on the contact: a PATCH of the
/// existing record only (`If-Match: *`: never an upsert), answered with the record.
#[actix_web::test]
async fn add_user_id_writes_the_column_of_an_existing_contact() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let one = format!("{API_PATH}/contacts({GUID_A})");
    let mut after = contact_json(GUID_A, "Ann", "+16505551234", "2024-05-03T10:00:00Z");
    after[USER_ID_FIELD] = json!(BSUID);
    Mock::given(method("PATCH"))
        .and(path(one.clone()))
        .and(header("If-Match", "*"))
        .respond_with(ResponseTemplate::new(200).set_body_json(after))
        .expect(1)
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, Some(USER_ID_FIELD));
    let contact = crm
        .add_user_id(&ContactId::External(GUID_A.into()), BSUID)
        .await
        .unwrap();
    assert_eq!(contact.whatsapp_user_ids, vec![BSUID]);
    let request = &requests_to(&server, &one).await[0];
    assert_eq!(
        request.body_json::<Value>().unwrap(),
        json!({USER_ID_FIELD: BSUID})
    );
    let prefer = request.headers.get("Prefer").unwrap().to_str().unwrap();
    assert!(prefer.contains("return=representation"), "{prefer}");
    server.verify().await;

    let e = crm
        .add_user_id(&ContactId::External(GUID_A.into()), "not a bsuid")
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "invalid_input");
}

#[actix_web::test]
async fn create_writes_the_bsuid_and_refuses_what_dataverse_cannot_keep() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    Mock::given(method("POST"))
        .and(path(contacts_path()))
        .respond_with(ResponseTemplate::new(204).insert_header(
            "OData-EntityId",
            format!("https://org.crm.dynamics.com/api/data/v9.2/contacts({GUID_A})").as_str(),
        ))
        .expect(1)
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, Some(USER_ID_FIELD));
    let created = crm
        .create(NewContact {
            first_name: Some("Ann".into()),
            whatsapp_user_ids: vec![BSUID.into()],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(created.whatsapp_user_ids, vec![BSUID]);
    let sent: Value = requests_to(&server, &contacts_path()).await[0]
        .body_json()
        .unwrap();
    assert_eq!(sent, json!({"firstname": "Ann", USER_ID_FIELD: BSUID}));

    for (new, says) in [
        (
            NewContact {
                first_name: Some("Ann".into()),
                phones: (1..=4).map(|i| format!("+1650555000{i}")).collect(),
                ..Default::default()
            },
            "at most 3 numbers",
        ),
        (
            NewContact {
                first_name: Some("Ann".into()),
                whatsapp_user_ids: vec![BSUID.into(), "US.2".into()],
                ..Default::default()
            },
            "one WhatsApp user id",
        ),
    ] {
        let e = crm.create(new).await.unwrap_err();
        assert_eq!(e.code().as_str(), "crm_unsupported");
        assert!(e.to_string().contains(says), "{e}");
        assert!(e.to_string().contains("Dynamics 365"), "{e}");
    }
    server.verify().await;
}

/// The contacts API's list against Dynamics: active contacts, paged the Web API's way, the
/// next page asked with the link Dynamics gave.
#[actix_web::test]
async fn contacts_are_listed_and_paged_in_dynamics() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let next = format!(
        "{}{API_PATH}/contacts?$select=contactid&$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E",
        server.uri()
    );
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(query_param("$skiptoken", "<cookie pagenumber=\"2\" />"))
        .respond_with(collection(vec![contact_json(
            GUID_C,
            "Cy",
            "+16505550003",
            "2024-05-01T10:00:00Z",
        )]))
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(contacts_path()))
        .and(query_param("$orderby", "modifiedon desc,contactid desc"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [
                contact_json(GUID_A, "Ann", "+16505550001", "2024-05-03T10:00:00Z"),
                contact_json(GUID_B, "Bob", "+16505550002", "2024-05-02T10:00:00Z"),
            ],
            "@odata.nextLink": next
        })))
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, None);
    let first = crm
        .search(super::ContactSearch {
            text: Some("ann smith".into()),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(first.items.len(), 2);
    let cursor = first.next_cursor.clone().expect("a next page");
    let second = crm
        .search(super::ContactSearch {
            text: Some("ann smith".into()),
            limit: 2,
            cursor: Some(cursor),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(second.items[0].id, ContactId::External(GUID_C.into()));
    assert_eq!(second.next_cursor, None);
    server.verify().await;

    let asked = requests_to(&server, &contacts_path()).await;
    for request in &asked {
        let prefer = request.headers.get("Prefer").unwrap().to_str().unwrap();
        assert!(prefer.starts_with("odata.maxpagesize=2,"), "{prefer}");
    }
    let filter = asked[0]
        .url
        .query_pairs()
        .find(|(k, _)| k == "$filter")
        .map(|(_, v)| v.to_string())
        .unwrap();
    assert_eq!(
        filter,
        "statecode eq 0 and ((contains(firstname,'ann') or contains(lastname,'ann') or \
         contains(emailaddress1,'ann')) and (contains(firstname,'smith') or \
         contains(lastname,'smith') or contains(emailaddress1,'smith')))"
    );

    // A cursor we did not give is refused before anything is asked.
    let asked = requests_to(&server, &contacts_path()).await.len();
    for bad in ["zz", &hex::encode("/systemusers?$select=fullname")] {
        let e = crm
            .search(super::ContactSearch {
                limit: 2,
                cursor: Some(bad.to_string()),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(e.code().as_str(), "invalid_cursor", "{bad}");
    }
    assert_eq!(requests_to(&server, &contacts_path()).await.len(), asked);
}

/// A change touches only the columns of the fields named (numbers not named stay as they are
/// written in Dynamics), and only an existing contact; a delete deactivates.
#[actix_web::test]
async fn contacts_are_changed_and_deactivated_in_dynamics() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let one = format!("{API_PATH}/contacts({GUID_A})");
    let mut stored = contact_json(GUID_A, "Ann", "07700 900123", "2024-05-02T10:00:00Z");
    stored["description"] = json!("Company: Initech\nVIP");
    Mock::given(method("GET"))
        .and(path(one.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored.clone()))
        .mount(&server)
        .await;
    let mut changed = stored.clone();
    changed["emailaddress1"] = json!("ann@initech.example");
    Mock::given(method("PATCH"))
        .and(path(one.clone()))
        .and(header("If-Match", "*"))
        .respond_with(ResponseTemplate::new(200).set_body_json(changed))
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, None);
    let id = crm.parse_id(&GUID_A.to_uppercase()).expect("a GUID");
    assert_eq!(id, ContactId::External(GUID_A.into()));
    assert_eq!(crm.parse_id("42"), None, "not an id of this CRM");

    let got = crm.get(&id).await.unwrap().unwrap();
    assert_eq!(got.company.as_deref(), Some("Contoso"), "the account first");
    assert_eq!(
        got.notes.as_deref(),
        Some("VIP"),
        "the company line is not a note"
    );

    let patch: super::ContactPatch =
        serde_json::from_value(json!({"email": "ann@initech.example"})).unwrap();
    let after = crm.update(&id, patch).await.unwrap();
    assert_eq!(after.email.as_deref(), Some("ann@initech.example"));
    let patches: Vec<Request> = requests_to(&server, &one)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    assert_eq!(
        patches[0].body_json::<Value>().unwrap(),
        json!({"emailaddress1": "ann@initech.example"}),
        "only the field named: the numbers stay as written"
    );

    let patch: super::ContactPatch =
        serde_json::from_value(json!({"phones": ["+1 650 555 1234"], "notes": null})).unwrap();
    crm.update(&id, patch).await.unwrap();
    let patches: Vec<Request> = requests_to(&server, &one)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    assert_eq!(
        patches[1].body_json::<Value>().unwrap(),
        json!({
            "telephone1": "+16505551234", "mobilephone": null, "telephone2": null,
            "description": "Company: Contoso"
        })
    );

    let patch: super::ContactPatch = serde_json::from_value(json!({
        "phones": ["+16505550001", "+16505550002", "+16505550003", "+16505550004"]
    }))
    .unwrap();
    let e = crm.update(&id, patch).await.unwrap_err();
    assert_eq!(e.code().as_str(), "crm_unsupported");

    crm.delete(&id).await.unwrap();
    let patches: Vec<Request> = requests_to(&server, &one)
        .await
        .into_iter()
        .filter(|r| r.method.as_str() == "PATCH")
        .collect();
    assert_eq!(patches.len(), 3, "the refused change sent nothing");
    assert_eq!(
        patches[2].body_json::<Value>().unwrap(),
        json!({"statecode": 1, "statuscode": 2})
    );
    assert_eq!(patches[2].headers.get("If-Match").unwrap(), "*");
}

#[actix_web::test]
async fn a_deactivated_or_missing_contact_is_not_found() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let mut inactive = contact_json(GUID_A, "Ann", "+16505551234", "2024-05-02T10:00:00Z");
    inactive["statecode"] = json!(1);
    Mock::given(method("GET"))
        .and(path(format!("{API_PATH}/contacts({GUID_A})")))
        .respond_with(ResponseTemplate::new(200).set_body_json(inactive))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("{API_PATH}/contacts({GUID_B})")))
        .respond_with(odata_error(404, "0x80040217", "Does Not Exist"))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, None);
    for guid in [GUID_A, GUID_B] {
        let id = ContactId::External(guid.into());
        assert_eq!(crm.get(&id).await.unwrap(), None, "{guid}");
        assert!(matches!(crm.delete(&id).await, Err(CrmError::NotFound(_))));
        let patch: super::ContactPatch =
            serde_json::from_value(json!({"first_name": "X"})).unwrap();
        assert!(matches!(
            crm.update(&id, patch).await,
            Err(CrmError::NotFound(_))
        ));
    }
    server.verify().await;
}

/// R27: Dataverse has no priority column: its contacts have none, and a create or a change
/// that sets one is refused before anything is sent; clearing one that is not there is fine.
#[actix_web::test]
async fn a_priority_is_refused_by_dynamics() {
    let server = MockServer::start().await;
    token_endpoint(&server, "tok").await;
    let one = format!("{API_PATH}/contacts({GUID_A})");
    let stored = contact_json(GUID_A, "Ann", "+16505551234", "2024-05-02T10:00:00Z");
    Mock::given(method("GET"))
        .and(path(one.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored.clone()))
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(one.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(stored))
        .mount(&server)
        .await;
    let (store, _dir) = temp_store();
    let crm = dynamics_crm_with(&server, store, None);
    let id = ContactId::External(GUID_A.into());
    assert_eq!(crm.get(&id).await.unwrap().unwrap().priority, None);

    let e = crm
        .create(NewContact {
            first_name: Some("Ann".into()),
            priority: Some(7),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(e.code().as_str(), "invalid_input");
    assert_eq!(e.to_string(), "priority is kept by the built-in CRM only");

    let patch: super::ContactPatch =
        serde_json::from_value(json!({"priority": 3, "first_name": "Bo"})).unwrap();
    let e = crm.update(&id, patch).await.unwrap_err();
    assert_eq!(e.code().as_str(), "invalid_input");
    assert_eq!(e.to_string(), "priority is kept by the built-in CRM only");
    assert!(
        requests_to(&server, &contacts_path()).await.is_empty(),
        "no create was sent"
    );
    let patches = |reqs: Vec<Request>| {
        reqs.into_iter()
            .filter(|r| r.method.as_str() == "PATCH")
            .count()
    };
    assert_eq!(
        patches(requests_to(&server, &one).await),
        0,
        "no change sent"
    );

    let patch: super::ContactPatch =
        serde_json::from_value(json!({"priority": null, "first_name": "Bo"})).unwrap();
    let after = crm.update(&id, patch).await.unwrap();
    assert_eq!(after.priority, None);
    assert_eq!(patches(requests_to(&server, &one).await), 1);
}
