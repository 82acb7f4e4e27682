//! A call log (R8) as it leaves Switchboard for a CRM: who, when, how it ended, the transcript.

use super::contact::ContactId;
use super::customer::CustomerIdentity;
use super::message::Message;
use serde::{Deserialize, Serialize};

/// A call log (R8) as an external CRM receives it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActivityRecord {
    pub interaction_id: i64,
    /// The contact the interaction was linked to.
    pub contact_id: Option<ContactId>,
    pub customer_name: String,
    /// E.164, or empty when the customer's number is withheld (R21).
    pub customer_phone: String,
    /// The customer's WhatsApp username (no `@`), when known.
    #[serde(default)]
    pub customer_username: Option<String>,
    /// The customer's business-scoped user id, when known.
    #[serde(default)]
    pub customer_user_id: Option<String>,
    /// The business number the customer wrote to.
    pub source_number: String,
    pub queue_name: String,
    /// Display names of the agents that handled it.
    pub agents: Vec<String>,
    /// Milliseconds since the epoch, like the rest of the store.
    pub initiated_at: i64,
    pub accepted_at: Option<i64>,
    pub terminated_at: Option<i64>,
    pub wrapped_up_at: i64,
    pub disposition: Option<String>,
    /// Oldest first.
    pub transcript: Vec<TranscriptLine>,
    /// The business started the conversation (an outgoing call log); else the customer did.
    #[serde(default)]
    pub outbound: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TranscriptLine {
    pub sent_at: i64,
    /// Who wrote it: the customer's or the agent's name, or `System`.
    pub author: String,
    pub text: String,
}

impl From<&Message> for TranscriptLine {
    fn from(m: &Message) -> Self {
        TranscriptLine {
            sent_at: m.sent_at,
            author: m.author.name.clone(),
            // The first text, with what the customer did to it (edited, deleted: R24); an
            // internal note says so (R25).
            text: if m.direction == super::Direction::Internal {
                format!("[internal note] {}", m.record_text())
            } else {
                m.record_text()
            },
        }
    }
}

impl ActivityRecord {
    /// One line, for a CRM's subject field.
    pub fn subject(&self) -> String {
        let mut s = format!(
            "WhatsApp conversation with {} ({})",
            self.customer_name,
            self.customer_label()
        );
        if let Some(d) = &self.disposition {
            s.push_str(&format!(" [{d}]"));
        }
        s.chars().take(200).collect()
    }

    /// The number, else `@username`, else the BSUID.
    pub fn customer_label(&self) -> String {
        CustomerIdentity {
            phone: Some(self.customer_phone.trim_start_matches('+').to_string())
                .filter(|p| !p.is_empty()),
            user_id: self.customer_user_id.clone(),
            username: self.customer_username.clone(),
        }
        .label()
    }

    /// The whole transcript as text, one message a line, with who and when.
    pub fn description(&self) -> String {
        let mut out = format!(
            "Queue: {}\nAgents: {}\nBusiness number: {}\n",
            self.queue_name,
            self.agents.join(", "),
            self.source_number
        );
        if let Some(d) = &self.disposition {
            out.push_str(&format!("Disposition: {d}\n"));
        }
        out.push('\n');
        for line in &self.transcript {
            out.push_str(&format!(
                "[{}] {}: {}\n",
                super::time::to_rfc3339(line.sent_at),
                line.author,
                line.text
            ));
        }
        out
    }

    /// When the conversation ended for the customer (or was wrapped up, if it never ended).
    pub fn ended_at(&self) -> i64 {
        self.terminated_at.unwrap_or(self.wrapped_up_at)
    }
}
