//! R28: the customer satisfaction survey. When a conversation of a queue with `csat_enabled`
//! closes inside the 24-hour window, the customer gets an interactive list with the ratings 1
//! to 5; the row they pick comes back as `interactive.list_reply` with the row's id, which
//! names the conversation and the score.

use super::CUSTOMER_WINDOW_MS;
use serde_json::{json, Value};

/// The default question of a queue's survey.
pub const DEFAULT_QUESTION: &str = "How would you rate your conversation with us?";
/// Longest question taken (an interactive message's body is 1,024 characters at most here).
pub const MAX_QUESTION_CHARS: usize = 1024;
/// How long an answer is taken by default, and at most.
pub const DEFAULT_TIMEOUT_HOURS: u32 = 24;
pub const MAX_TIMEOUT_HOURS: u32 = 168;

/// A queue's survey settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CsatSettings {
    pub enabled: bool,
    pub question: String,
    /// How long after the survey an answer is taken.
    pub timeout_hours: u32,
}

impl Default for CsatSettings {
    fn default() -> Self {
        CsatSettings {
            enabled: false,
            question: DEFAULT_QUESTION.into(),
            timeout_hours: DEFAULT_TIMEOUT_HOURS,
        }
    }
}

impl CsatSettings {
    /// The settings to store, or why not: a question of 1 to 1,024 characters, not blank;
    /// 1 to 168 hours.
    pub fn checked(
        enabled: bool,
        question: &str,
        timeout_hours: i64,
    ) -> Result<CsatSettings, super::input::InvalidInput> {
        let chars = question.chars().count();
        if question.trim().is_empty() || chars > MAX_QUESTION_CHARS {
            return Err(super::input::InvalidInput(format!(
                "csat_question must be 1 to {MAX_QUESTION_CHARS} characters, not blank"
            )));
        }
        if !(1..=i64::from(MAX_TIMEOUT_HOURS)).contains(&timeout_hours) {
            return Err(super::input::InvalidInput(format!(
                "csat_timeout_hours must be 1 to {MAX_TIMEOUT_HOURS}"
            )));
        }
        Ok(CsatSettings {
            enabled,
            question: question.to_string(),
            timeout_hours: timeout_hours as u32,
        })
    }
}

/// A customer's answer (R28), as call logs show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct CsatAnswer {
    /// 1 (very poor) to 5 (excellent).
    pub score: u8,
    #[serde(with = "super::time::rfc3339")]
    #[schema(value_type = String)]
    pub answered_at: i64,
}

impl CsatAnswer {
    /// From the stored score and time, when both are there.
    pub fn of(score: Option<u8>, answered_at: Option<i64>) -> Option<CsatAnswer> {
        Some(CsatAnswer {
            score: score?,
            answered_at: answered_at?,
        })
    }
}

/// The rows of the list, best first: (score, title). Titles fit Meta's 24 characters.
pub const RATINGS: [(u8, &str); 5] = [
    (5, "5 - Excellent"),
    (4, "4 - Good"),
    (3, "3 - Okay"),
    (2, "2 - Poor"),
    (1, "1 - Very poor"),
];

/// The list's button (Meta: 20 characters at most) and section title (24).
const BUTTON: &str = "Rate us";
const SECTION: &str = "Your rating";
const ROW_PREFIX: &str = "csat-";

/// Whether a conversation that just closed gets a survey: the queue asks for one, the
/// customer wrote within the last 24 hours (else WhatsApp would refuse a free-form message),
/// there is someone to send it to, and the conversation was not cut short (R15).
pub fn due(
    enabled: bool,
    last_customer_message_at: Option<i64>,
    has_recipient: bool,
    interrupted: bool,
    now: i64,
) -> bool {
    enabled
        && has_recipient
        && !interrupted
        && last_customer_message_at.is_some_and(|t| now - t <= CUSTOMER_WINDOW_MS)
}

/// The id of the row for `score` of the survey of `interaction_id`.
pub fn row_id(interaction_id: i64, score: u8) -> String {
    format!("{ROW_PREFIX}{interaction_id}-{score}")
}

/// The survey (interaction, score) a `list_reply` row id names, if it names one.
pub fn parse_answer(row_id: &str) -> Option<(i64, u8)> {
    let rest = row_id.strip_prefix(ROW_PREFIX)?;
    let (interaction, score) = rest.rsplit_once('-')?;
    let score: u8 = score.parse().ok()?;
    let interaction: i64 = interaction.parse().ok()?;
    ((1..=5).contains(&score) && interaction > 0).then_some((interaction, score))
}

/// The Cloud API's interactive list message for the survey of `interaction_id`.
pub fn survey_payload(interaction_id: i64, question: &str) -> Value {
    let rows: Vec<Value> = RATINGS
        .iter()
        .map(|(score, title)| json!({"id": row_id(interaction_id, *score), "title": title}))
        .collect();
    json!({
        "type": "interactive",
        "interactive": {
            "type": "list",
            "body": {"text": question},
            "action": {
                "button": BUTTON,
                "sections": [{"title": SECTION, "rows": rows}]
            }
        }
    })
}

/// The survey as the transcript shows it.
pub fn survey_text(question: &str) -> String {
    let titles: Vec<&str> = RATINGS.iter().map(|(_, t)| *t).collect();
    format!("{question}\n[{}]", titles.join(" | "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_row_id_names_the_conversation_and_the_score() {
        for score in 1..=5 {
            assert_eq!(parse_answer(&row_id(417, score)), Some((417, score)));
        }
        for odd in [
            "csat-417-6",
            "csat-417-0",
            "csat--3",
            "csat-x-3",
            "csat-0-3",
            "r1",
            "",
            "csat-12",
            "CSAT-1-1",
        ] {
            assert_eq!(parse_answer(odd), None, "{odd}");
        }
    }

    #[test]
    fn the_survey_is_a_list_within_meta_limits() {
        let p = survey_payload(9, "How did we do?");
        let list = &p["interactive"];
        assert_eq!(list["type"], "list");
        assert_eq!(list["body"]["text"], "How did we do?");
        assert!(list["action"]["button"].as_str().unwrap().chars().count() <= 20);
        let rows = list["action"]["sections"][0]["rows"].as_array().unwrap();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[0]["id"], "csat-9-5");
        assert!(rows
            .iter()
            .all(|r| r["title"].as_str().unwrap().chars().count() <= 24));
        assert!(survey_text("Q?").starts_with("Q?\n[5 - Excellent"));
    }

    #[test]
    fn sent_only_inside_the_window_to_someone_when_asked_for() {
        let now = 100 * CUSTOMER_WINDOW_MS;
        let recent = Some(now - 1000);
        assert!(due(true, recent, true, false, now));
        assert!(!due(false, recent, true, false, now));
        assert!(!due(true, recent, false, false, now));
        assert!(!due(true, recent, true, true, now));
        assert!(!due(true, None, true, false, now));
        assert!(!due(
            true,
            Some(now - CUSTOMER_WINDOW_MS - 1),
            true,
            false,
            now
        ));
        assert!(due(true, Some(now - CUSTOMER_WINDOW_MS), true, false, now));
    }
}
