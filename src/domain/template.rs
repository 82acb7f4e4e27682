//! R23: message templates as Meta describes them (`GET /{waba_id}/message_templates`), the
//! values a send needs (with Meta's examples), the text the customer sees, and the
//! `components` of the send, in Meta's exact shape. Pure: no store, no HTTP.

use super::error_code::{ErrorCode, Refusal};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// Only an approved template can be sent.
pub const APPROVED: &str = "APPROVED";
/// Meta refuses a parameter with a new line, a tab or more than four spaces in a row
/// (error 132018); so does this, before the send.
const MAX_SPACES_IN_A_ROW: usize = 4;
/// Longest parameter value taken (Meta's body is 1,024 characters at most).
pub const MAX_PARAMETER_CHARS: usize = 1024;

/// A template of a channel, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub name: String,
    pub language: String,
    pub meta_id: Option<String>,
    pub category: String,
    /// `APPROVED`, `PENDING`, `REJECTED`, `PAUSED`, `DISABLED`, ...
    pub status: String,
    /// `POSITIONAL` (`{{1}}`) or `NAMED` (`{{first_name}}`).
    pub parameter_format: String,
    /// Meta's `components` array.
    pub components: Value,
    /// Why Meta rejected, paused or disabled it, when it said.
    pub rejected_reason: Option<String>,
}

/// One value a send needs: its name (named templates) and Meta's example.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Slot {
    pub name: Option<String>,
    pub example: Option<String>,
    /// Header only: `text`, `image`, `video` or `document` (a link or media id for the last
    /// three).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
}

/// A button that takes a value: a URL button with a variable, or a copy-code button.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ButtonSlot {
    /// The button's position in the template (Meta's `index`).
    pub index: usize,
    /// `url` or `copy_code`.
    pub sub_type: String,
    pub text: String,
    pub example: Option<String>,
}

/// The values a send of the template needs, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Slots {
    pub header: Vec<Slot>,
    pub body: Vec<Slot>,
    pub buttons: Vec<ButtonSlot>,
}

/// What the customer sees, with the placeholders as they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Preview {
    pub header: Option<String>,
    pub body: String,
    pub footer: Option<String>,
    pub buttons: Vec<String>,
}

/// The body values of a send: in order, or by name for a named template.
#[derive(Debug, Clone, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum BodyValues {
    List(Vec<String>),
    Named(BTreeMap<String, String>),
}

impl Default for BodyValues {
    fn default() -> Self {
        BodyValues::List(Vec::new())
    }
}

/// `parameters` of `send_template` and of `POST /conversations`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
pub struct TemplateValues {
    #[serde(default)]
    pub header: Vec<String>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub body: BodyValues,
    #[serde(default)]
    pub buttons: Vec<String>,
}

/// A send ready to be stored: the transcript's text and the Cloud API's message object.
#[derive(Debug, Clone, PartialEq)]
pub struct Prepared {
    pub text: String,
    /// `{"type": "template", "template": {"name", "language": {"code"}, "components"}}`.
    pub payload: Value,
}

fn bad(message: impl Into<String>) -> Refusal {
    Refusal::new(ErrorCode::BadTemplateParameters, message)
}

fn text_of(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The distinct placeholders of a text, `{{1}}` or `{{name}}`, in order of appearance.
pub fn placeholders(text: &str) -> Vec<String> {
    let mut found: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else { break };
        let name = after[..end].trim();
        if !name.is_empty() && !name.contains('{') && !found.iter().any(|f| f == name) {
            found.push(name.to_string());
        }
        rest = &after[end + 2..];
    }
    found
}

/// `text` with each `{{name}}` replaced by its value.
fn fill(text: &str, values: &[(String, String)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return out;
        };
        let name = after[..end].trim();
        match values.iter().find(|(n, _)| n == name) {
            Some((_, v)) => out.push_str(v),
            None => out.push_str(&rest[start..start + 2 + end + 2]),
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    out
}

impl Template {
    /// A template from one item of Meta's `message_templates` answer; None without a name,
    /// a language or a status.
    pub fn from_meta(v: &Value) -> Option<Template> {
        let name = text_of(v, "name").filter(|s| !s.trim().is_empty())?;
        let language = text_of(v, "language").filter(|s| !s.trim().is_empty())?;
        let status = text_of(v, "status").filter(|s| !s.trim().is_empty())?;
        let components = match v.get("components") {
            Some(Value::Array(a)) => Value::Array(a.clone()),
            _ => Value::Array(Vec::new()),
        };
        let reason = text_of(v, "rejected_reason").filter(|r| !r.is_empty() && r != "NONE");
        Some(Template {
            name,
            language,
            meta_id: text_of(v, "id"),
            category: text_of(v, "category").unwrap_or_default(),
            status: status.to_ascii_uppercase(),
            parameter_format: text_of(v, "parameter_format")
                .map(|f| f.to_ascii_uppercase())
                .unwrap_or_else(|| "POSITIONAL".into()),
            components,
            rejected_reason: reason,
        })
    }

    pub fn is_approved(&self) -> bool {
        self.status == APPROVED
    }

    fn named(&self) -> bool {
        self.parameter_format == "NAMED"
    }

    /// The component of this type (`HEADER`, `BODY`, `FOOTER`, `BUTTONS`), any case.
    fn component(&self, kind: &str) -> Option<&Value> {
        self.components.as_array()?.iter().find(|c| {
            c.get("type")
                .and_then(Value::as_str)
                .is_some_and(|t| t.eq_ignore_ascii_case(kind))
        })
    }

    fn header_format(&self) -> Option<String> {
        let header = self.component("HEADER")?;
        Some(
            header
                .get("format")
                .and_then(Value::as_str)
                .unwrap_or("TEXT")
                .to_ascii_lowercase(),
        )
    }

    fn buttons(&self) -> Vec<&Value> {
        self.component("BUTTONS")
            .and_then(|b| b.get("buttons"))
            .and_then(Value::as_array)
            .map(|a| a.iter().collect())
            .unwrap_or_default()
    }

    /// The placeholders of a text component, with their examples.
    fn text_slots(&self, kind: &str) -> Vec<Slot> {
        let Some(c) = self.component(kind) else {
            return Vec::new();
        };
        let text = c.get("text").and_then(Value::as_str).unwrap_or("");
        let mut names = placeholders(text);
        if !self.named() {
            // Positional: {{1}}, {{2}}, ... in number order, whatever order the text uses.
            names.sort_by_key(|n| n.parse::<u32>().unwrap_or(u32::MAX));
        }
        let example = c.get("example");
        let lower = kind.to_ascii_lowercase();
        let positional: Vec<String> = example
            .and_then(|e| e.get(format!("{lower}_text")))
            .map(|e| match e {
                // body_text is a list of lists; header_text a list.
                Value::Array(a) => match a.first() {
                    Some(Value::Array(inner)) => inner.iter().filter_map(value_text).collect(),
                    _ => a.iter().filter_map(value_text).collect(),
                },
                _ => Vec::new(),
            })
            .unwrap_or_default();
        let named: Vec<(String, String)> = example
            .and_then(|e| e.get(format!("{lower}_text_named_params")))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| Some((text_of(p, "param_name")?, text_of(p, "example")?)))
                    .collect()
            })
            .unwrap_or_default();
        names
            .iter()
            .enumerate()
            .map(|(i, n)| Slot {
                name: self.named().then(|| n.clone()),
                example: if self.named() {
                    named.iter().find(|(p, _)| p == n).map(|(_, e)| e.clone())
                } else {
                    positional.get(i).cloned()
                },
                format: (kind == "HEADER").then(|| "text".to_string()),
            })
            .collect()
    }

    /// The values a send needs, in order, with Meta's examples.
    pub fn slots(&self) -> Slots {
        let header = match self.header_format().as_deref() {
            Some("image" | "video" | "document") => {
                let example = self
                    .component("HEADER")
                    .and_then(|h| h.get("example"))
                    .and_then(|e| e.get("header_handle"))
                    .and_then(Value::as_array)
                    .and_then(|a| a.first())
                    .and_then(value_text);
                vec![Slot {
                    name: None,
                    example,
                    format: self.header_format(),
                }]
            }
            Some("text") => self.text_slots("HEADER"),
            _ => Vec::new(),
        };
        let buttons = self
            .buttons()
            .into_iter()
            .enumerate()
            .filter_map(|(index, b)| {
                let kind = text_of(b, "type")?.to_ascii_uppercase();
                let example = match b.get("example") {
                    Some(Value::Array(a)) => a.first().and_then(value_text),
                    Some(v) => value_text(v),
                    None => None,
                };
                let text = text_of(b, "text").unwrap_or_default();
                match kind.as_str() {
                    "URL" if text_of(b, "url").is_some_and(|u| u.contains("{{")) => {
                        Some(ButtonSlot {
                            index,
                            sub_type: "url".into(),
                            text,
                            example,
                        })
                    }
                    "COPY_CODE" => Some(ButtonSlot {
                        index,
                        sub_type: "copy_code".into(),
                        text,
                        example,
                    }),
                    _ => None,
                }
            })
            .collect();
        Slots {
            header,
            body: self.text_slots("BODY"),
            buttons,
        }
    }

    /// What the customer sees, placeholders kept.
    pub fn preview(&self) -> Preview {
        let text = |kind: &str| {
            self.component(kind)
                .and_then(|c| c.get("text"))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        let header = match self.header_format().as_deref() {
            Some("text") => text("HEADER"),
            Some(other) => Some(format!("[{other}]")),
            None => None,
        };
        Preview {
            header,
            body: text("BODY").unwrap_or_default(),
            footer: text("FOOTER"),
            buttons: self
                .buttons()
                .into_iter()
                .filter_map(|b| text_of(b, "text"))
                .collect(),
        }
    }

    /// Checks the values against the template and builds the send: refused with
    /// `template_not_approved` unless APPROVED, `bad_template_parameters` when the values do
    /// not fit.
    pub fn prepare(&self, values: &TemplateValues) -> Result<Prepared, Refusal> {
        if !self.is_approved() {
            let why = self
                .rejected_reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            return Err(Refusal::new(
                ErrorCode::TemplateNotApproved,
                format!(
                    "template {} ({}) is {}{why}, not APPROVED: only approved templates can be sent",
                    self.name, self.language, self.status
                ),
            ));
        }
        let slots = self.slots();
        check_count("header", slots.header.len(), values.header.len())?;
        check_count("buttons", slots.buttons.len(), values.buttons.len())?;
        let body: Vec<String> = match &values.body {
            BodyValues::List(list) => {
                check_count("body", slots.body.len(), list.len())?;
                list.clone()
            }
            BodyValues::Named(map) => {
                for key in map.keys() {
                    if !slots.body.iter().any(|s| s.name.as_deref() == Some(key)) {
                        return Err(bad(format!("the body has no parameter {key}")));
                    }
                }
                slots
                    .body
                    .iter()
                    .enumerate()
                    .map(|(i, s)| {
                        let key = s.name.clone().unwrap_or_else(|| (i + 1).to_string());
                        map.get(&key)
                            .cloned()
                            .ok_or_else(|| bad(format!("body parameter {key} is missing")))
                    })
                    .collect::<Result<_, _>>()?
            }
        };
        for (part, list) in [
            ("header", &values.header),
            ("body", &body),
            ("buttons", &values.buttons),
        ] {
            for (i, v) in list.iter().enumerate() {
                check_value(part, i, v)?;
            }
        }

        let mut components = Vec::new();
        let header_format = self.header_format();
        if let (Some(slot), Some(value)) = (slots.header.first(), values.header.first()) {
            let parameter = match header_format.as_deref() {
                Some(kind @ ("image" | "video" | "document")) => {
                    let source = if value.starts_with("http://") || value.starts_with("https://") {
                        json!({ "link": value })
                    } else {
                        json!({ "id": value })
                    };
                    json!({ "type": kind, kind: source })
                }
                _ => self.text_parameter(slot, value),
            };
            components.push(json!({"type": "header", "parameters": [parameter]}));
        }
        if !body.is_empty() {
            let parameters: Vec<Value> = slots
                .body
                .iter()
                .zip(&body)
                .map(|(slot, value)| self.text_parameter(slot, value))
                .collect();
            components.push(json!({"type": "body", "parameters": parameters}));
        }
        for (slot, value) in slots.buttons.iter().zip(&values.buttons) {
            let parameter = if slot.sub_type == "copy_code" {
                json!({"type": "coupon_code", "coupon_code": value})
            } else {
                json!({"type": "text", "text": value})
            };
            components.push(json!({
                "type": "button",
                "sub_type": slot.sub_type,
                "index": slot.index.to_string(),
                "parameters": [parameter],
            }));
        }

        let named = |slots: &[Slot], values: &[String]| -> Vec<(String, String)> {
            slots
                .iter()
                .enumerate()
                .zip(values)
                .map(|((i, s), v)| {
                    (
                        s.name.clone().unwrap_or_else(|| (i + 1).to_string()),
                        v.clone(),
                    )
                })
                .collect()
        };
        let preview = self.preview();
        let mut lines = Vec::new();
        if let Some(h) = &preview.header {
            let header_values = if header_format.as_deref() == Some("text") {
                // A text header's one placeholder is {{1}} (or its name).
                named(&slots.header, &values.header)
            } else {
                Vec::new()
            };
            lines.push(fill(h, &header_values));
        }
        lines.push(fill(&preview.body, &named(&slots.body, &body)));
        if let Some(f) = preview.footer {
            lines.push(f);
        }
        if !preview.buttons.is_empty() {
            lines.push(
                preview
                    .buttons
                    .iter()
                    .map(|b| format!("[{b}]"))
                    .collect::<Vec<_>>()
                    .join(" "),
            );
        }
        let mut template = json!({
            "name": self.name,
            "language": {"code": self.language},
        });
        if !components.is_empty() {
            template["components"] = Value::Array(components);
        }
        Ok(Prepared {
            text: lines.join("\n"),
            payload: json!({"type": "template", "template": template}),
        })
    }

    fn text_parameter(&self, slot: &Slot, value: &str) -> Value {
        let mut p = json!({"type": "text", "text": value});
        if let (true, Some(name)) = (self.named(), slot.name.as_ref()) {
            p["parameter_name"] = json!(name);
        }
        p
    }
}

fn value_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn check_count(part: &str, expected: usize, given: usize) -> Result<(), Refusal> {
    if expected == given {
        return Ok(());
    }
    Err(bad(format!(
        "{part} takes {expected} parameter{}, {given} given",
        if expected == 1 { "" } else { "s" }
    )))
}

fn check_value(part: &str, i: usize, v: &str) -> Result<(), Refusal> {
    let which = format!("{part} parameter {}", i + 1);
    if v.trim().is_empty() {
        return Err(bad(format!("{which} is empty")));
    }
    if v.chars().count() > MAX_PARAMETER_CHARS {
        return Err(bad(format!(
            "{which} is longer than {MAX_PARAMETER_CHARS} characters"
        )));
    }
    if v.contains(['\n', '\r', '\t']) || v.contains(&" ".repeat(MAX_SPACES_IN_A_ROW + 1)) {
        return Err(bad(format!(
            "{which} has a new line, a tab or more than {MAX_SPACES_IN_A_ROW} spaces in a row, which WhatsApp refuses"
        )));
    }
    Ok(())
}

/// The channel's templates as Meta lists them now: items that are not templates are left out.
pub fn from_meta_page(data: &Value) -> Vec<Template> {
    data.as_array()
        .map(|a| a.iter().filter_map(Template::from_meta).collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_update() -> Template {
        Template::from_meta(&json!({
            "id": "1001", "name": "order_update", "language": "en_US", "status": "APPROVED",
            "category": "UTILITY", "parameter_format": "POSITIONAL",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}",
                 "example": {"header_text": ["12345"]}},
                {"type": "BODY", "text": "Hi {{1}}, order {{2}} arrives {{3}}.",
                 "example": {"body_text": [["Ana", "12345", "Friday"]]}},
                {"type": "FOOTER", "text": "Reply STOP to opt out"},
                {"type": "BUTTONS", "buttons": [
                    {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550001"},
                    {"type": "URL", "text": "Track", "url": "https://x.test/t/{{1}}",
                     "example": ["https://x.test/t/ABC"]}
                ]}
            ]
        }))
        .unwrap()
    }

    fn reminder() -> Template {
        Template::from_meta(&json!({
            "name": "appointment_reminder", "language": "en_US", "status": "APPROVED",
            "parameter_format": "NAMED",
            "components": [
                {"type": "BODY", "text": "Hello {{first_name}}, see you {{date}}.",
                 "example": {"body_text_named_params": [
                    {"param_name": "first_name", "example": "Ana"},
                    {"param_name": "date", "example": "Friday"}]}},
                {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Confirm"}]}
            ]
        }))
        .unwrap()
    }

    fn values(header: &[&str], body: &[&str], buttons: &[&str]) -> TemplateValues {
        let own = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        TemplateValues {
            header: own(header),
            body: BodyValues::List(own(body)),
            buttons: own(buttons),
        }
    }

    #[test]
    fn slots_come_with_meta_examples() {
        let s = order_update().slots();
        assert_eq!(s.header.len(), 1);
        assert_eq!(s.header[0].example.as_deref(), Some("12345"));
        assert_eq!(
            s.body
                .iter()
                .map(|b| b.example.clone().unwrap())
                .collect::<Vec<_>>(),
            ["Ana", "12345", "Friday"]
        );
        // The phone button takes nothing; the URL button is the second (index 1).
        assert_eq!(s.buttons.len(), 1);
        assert_eq!(s.buttons[0].index, 1);
        assert_eq!(s.buttons[0].sub_type, "url");
        let named = reminder().slots();
        assert_eq!(named.body[1].name.as_deref(), Some("date"));
        assert_eq!(named.body[1].example.as_deref(), Some("Friday"));
        assert!(named.buttons.is_empty());
    }

    #[test]
    fn a_send_has_meta_shape_and_the_customer_text() {
        let p = order_update()
            .prepare(&values(&["778"], &["Ana", "778", "Monday"], &["778-X"]))
            .unwrap();
        assert_eq!(
            p.payload,
            json!({"type": "template", "template": {
            "name": "order_update", "language": {"code": "en_US"},
            "components": [
                {"type": "header", "parameters": [{"type": "text", "text": "778"}]},
                {"type": "body", "parameters": [
                    {"type": "text", "text": "Ana"}, {"type": "text", "text": "778"},
                    {"type": "text", "text": "Monday"}]},
                {"type": "button", "sub_type": "url", "index": "1",
                 "parameters": [{"type": "text", "text": "778-X"}]}
            ]}})
        );
        assert_eq!(
            p.text,
            "Order 778\nHi Ana, order 778 arrives Monday.\nReply STOP to opt out\n[Call us] [Track]"
        );
    }

    #[test]
    fn named_values_by_name_or_in_order() {
        let t = reminder();
        let by_name = TemplateValues {
            body: BodyValues::Named(BTreeMap::from([
                ("date".to_string(), "Tuesday".to_string()),
                ("first_name".to_string(), "Bo".to_string()),
            ])),
            ..Default::default()
        };
        let p = t.prepare(&by_name).unwrap();
        assert_eq!(
            p.payload["template"]["components"][0]["parameters"][0],
            json!({"type": "text", "text": "Bo", "parameter_name": "first_name"})
        );
        assert_eq!(p.text, "Hello Bo, see you Tuesday.\n[Confirm]");
        assert_eq!(t.prepare(&values(&[], &["Bo", "Tuesday"], &[])).unwrap(), p);
    }

    #[test]
    fn wrong_values_are_refused_with_the_reason() {
        let t = order_update();
        let refuse = |v: TemplateValues| t.prepare(&v).unwrap_err();
        let r = refuse(values(&["1"], &["Ana", "1"], &["x"]));
        assert_eq!(r.code, ErrorCode::BadTemplateParameters);
        assert!(
            r.message.contains("body takes 3 parameters, 2 given"),
            "{}",
            r.message
        );
        let r = refuse(values(&[], &["Ana", "1", "2"], &["x"]));
        assert!(r.message.contains("header takes 1 parameter, 0 given"));
        let r = refuse(values(&["1"], &["Ana", "1", "2"], &[]));
        assert!(r.message.contains("buttons"));
        let r = refuse(values(&["1"], &["Ana", " ", "2"], &["x"]));
        assert!(r.message.contains("body parameter 2 is empty"));
        let r = refuse(values(&["1"], &["Ana\nB", "1", "2"], &["x"]));
        assert!(r.message.contains("new line"));
        let extra = TemplateValues {
            body: BodyValues::Named(BTreeMap::from([
                ("first_name".to_string(), "Bo".to_string()),
                ("date".to_string(), "x".to_string()),
                ("city".to_string(), "y".to_string()),
            ])),
            ..Default::default()
        };
        assert!(reminder()
            .prepare(&extra)
            .unwrap_err()
            .message
            .contains("no parameter city"));
    }

    #[test]
    fn only_approved_templates_are_sent() {
        let mut t = reminder();
        t.status = "REJECTED".into();
        t.rejected_reason = Some("PROMOTIONAL".into());
        let r = t.prepare(&values(&[], &["a", "b"], &[])).unwrap_err();
        assert_eq!(r.code, ErrorCode::TemplateNotApproved);
        assert!(r.message.contains("REJECTED (PROMOTIONAL)"));
    }

    #[test]
    fn media_headers_take_a_link_or_a_media_id() {
        let t = Template::from_meta(&json!({
            "name": "promo", "language": "en", "status": "APPROVED",
            "components": [
                {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["https://e/x.png"]}},
                {"type": "BODY", "text": "New in store"},
                {"type": "BUTTONS", "buttons": [{"type": "COPY_CODE", "example": "SAVE10"}]}
            ]
        }))
        .unwrap();
        let s = t.slots();
        assert_eq!(s.header[0].format.as_deref(), Some("image"));
        assert_eq!(s.buttons[0].example.as_deref(), Some("SAVE10"));
        let p = t
            .prepare(&values(&["https://cdn.test/p.png"], &[], &["SAVE20"]))
            .unwrap();
        let c = &p.payload["template"]["components"];
        assert_eq!(
            c[0],
            json!({"type": "header", "parameters": [{"type": "image", "image": {"link": "https://cdn.test/p.png"}}]})
        );
        assert_eq!(
            c[1]["parameters"][0],
            json!({"type": "coupon_code", "coupon_code": "SAVE20"})
        );
        let by_id = t.prepare(&values(&["4490"], &[], &["S"])).unwrap();
        assert_eq!(
            by_id.payload["template"]["components"][0]["parameters"][0]["image"],
            json!({"id": "4490"})
        );
        assert_eq!(by_id.text, "[image]\nNew in store");
    }

    #[test]
    fn a_template_without_parameters_sends_no_components() {
        let t = Template::from_meta(&json!({
            "name": "hello", "language": "en", "status": "approved",
            "components": [{"type": "BODY", "text": "Hello!"}]
        }))
        .unwrap();
        let p = t.prepare(&TemplateValues::default()).unwrap();
        assert_eq!(
            p.payload,
            json!({"type": "template", "template": {"name": "hello", "language": {"code": "en"}}})
        );
        assert_eq!(p.text, "Hello!");
    }

    #[test]
    fn meta_items_without_name_language_or_status_are_left_out() {
        let list = json!([
            {"name": "a", "language": "en", "status": "APPROVED"},
            {"name": "b", "status": "APPROVED"},
            {"language": "en", "status": "APPROVED"},
            "junk",
            {"name": "c", "language": "en", "status": "PENDING", "rejected_reason": "NONE"}
        ]);
        let all = from_meta_page(&list);
        assert_eq!(all.len(), 2);
        assert_eq!(all[1].rejected_reason, None);
    }

    #[test]
    fn placeholders_are_read_leniently() {
        assert_eq!(placeholders("{{1}} {{ 2 }} {{1}} {{}} {{x"), ["1", "2"]);
        assert_eq!(
            fill(
                "a {{1}} b {{2}} {{3}}",
                &[("1".into(), "X".into()), ("2".into(), "Y".into())]
            ),
            "a X b Y {{3}}"
        );
    }
}
