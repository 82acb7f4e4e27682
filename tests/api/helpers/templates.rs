//! R23's fixture: a channel with a WhatsApp Business Account id whose templates the Cloud API
//! mock lists on two pages, synced through the API.

use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param, query_param_is_missing};
use wiremock::{Mock, ResponseTemplate};

use super::{json_ok, Basic, TestApp, ACCESS_TOKEN};

pub const WABA_ID: &str = "5550001112223";

/// Meta's items for the first page: a positional template with a header, a body, a footer
/// and a URL button with a variable; a named template with quick replies.
pub fn page_one() -> Value {
    json!([
        {"id": "1001", "name": "order_update", "language": "en_US", "status": "APPROVED",
         "category": "UTILITY", "parameter_format": "POSITIONAL",
         "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
             "example": {"header_text": ["12345"]}},
            {"type": "BODY", "text": "Hi {{1}}, your order {{2}} arrives on {{3}}.",
             "example": {"body_text": [["Ana", "12345", "Friday"]]}},
            {"type": "FOOTER", "text": "Reply STOP to opt out"},
            {"type": "BUTTONS", "buttons": [
                {"type": "URL", "text": "Track", "url": "https://shop.test/t/{{1}}",
                 "example": ["https://shop.test/t/12345"]}]}
         ]},
        {"id": "1002", "name": "appointment_reminder", "language": "en_US", "status": "APPROVED",
         "category": "UTILITY", "parameter_format": "NAMED",
         "components": [
            {"type": "BODY", "text": "Hello {{first_name}}, see you on {{date}}.",
             "example": {"body_text_named_params": [
                {"param_name": "first_name", "example": "Ana"},
                {"param_name": "date", "example": "Friday"}]}},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Confirm"}]}
         ]}
    ])
}

/// The second page: one that a status webhook will reject, one without parameters, one pending.
pub fn page_two() -> Value {
    json!([
        {"id": "1003", "name": "spring_sale", "language": "en_US", "status": "APPROVED",
         "category": "MARKETING", "components": [{"type": "BODY", "text": "Spring sale!"}]},
        {"id": "1004", "name": "welcome_back", "language": "en_US", "status": "APPROVED",
         "category": "MARKETING", "components": [{"type": "BODY", "text": "Welcome back!"}]},
        {"id": "1005", "name": "new_policy", "language": "en_US", "status": "PENDING",
         "category": "UTILITY", "components": [{"type": "BODY", "text": "New terms on {{1}}."}]}
    ])
}

impl TestApp {
    /// The Cloud API lists the account's templates on two pages (the second asked for with
    /// the first's `after` cursor), only with the channel's access token.
    pub async fn cloud_api_lists_templates(&self) {
        let url = format!("/{WABA_ID}/message_templates");
        let auth = format!("Bearer {ACCESS_TOKEN}");
        Mock::given(method("GET"))
            .and(path(url.clone()))
            .and(wiremock::matchers::header("authorization", auth.as_str()))
            .and(query_param_is_missing("after"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": page_one(),
                "paging": {"cursors": {"before": "P0", "after": "P1"},
                           "next": format!("https://graph.facebook.com/v21.0{url}?after=P1")}
            })))
            .mount(&self.cloud_api)
            .await;
        Mock::given(method("GET"))
            .and(path(url))
            .and(wiremock::matchers::header("authorization", auth.as_str()))
            .and(query_param("after", "P1"))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({
                "data": page_two(),
                "paging": {"cursors": {"before": "P1", "after": "P2"}}
            })))
            .mount(&self.cloud_api)
            .await;
    }

    /// `setup_basic` with the channel's WhatsApp Business Account set and its templates synced.
    pub async fn setup_with_templates(&self, n_agents: usize, queue_overrides: Value) -> Basic {
        let b = self.setup_basic(n_agents, queue_overrides).await;
        self.cloud_api_lists_templates().await;
        let resp = self
            .patch(
                &format!("/api/v1/channels/{}", b.channel_id),
                Some(&self.admin_token),
                &json!({"waba_id": WABA_ID}),
            )
            .await;
        json_ok(resp, "set waba_id").await;
        // Setting the account syncs in the background; then the admin's own sync.
        let deadline = std::time::Instant::now() + super::EVENT_TIMEOUT;
        loop {
            let channel = self
                .admin_get(&format!("/api/v1/channels/{}", b.channel_id))
                .await;
            if channel["templates_synced_at"].is_string() {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no background sync: {channel}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        let resp = self
            .post(
                &format!("/api/v1/channels/{}/templates/sync", b.channel_id),
                Some(&self.admin_token),
                &json!({}),
            )
            .await;
        let synced = json_ok(resp, "sync templates").await;
        assert_eq!(
            synced["items"].as_array().map(Vec::len),
            Some(5),
            "{synced}"
        );
        b
    }

    /// The bodies the Cloud API mock received on the messages endpoint, in order.
    pub async fn cloud_api_bodies(&self) -> Vec<Value> {
        self.cloud_api_requests()
            .await
            .iter()
            .filter_map(|r| serde_json::from_slice::<Value>(&r.body).ok())
            .collect()
    }
}
