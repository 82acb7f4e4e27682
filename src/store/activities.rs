//! The `activities` table: the call log saved when an interaction closes (R8), and the
//! contact's recent call logs that the screen pop lists (R20).

use super::{Db, StoreResult};
use crate::domain::activity::{ActivityRecord, TranscriptLine};
use crate::domain::contact::ContactId;
use crate::domain::csat::CsatAnswer;
use crate::domain::customer::CustomerIdentity;
use crate::domain::message::Message;
use crate::domain::time::rfc3339;
use crate::domain::InteractionKind;
use rusqlite::params;
use serde::Serialize;

/// A call log to save, written in the same transaction that closes the interaction.
#[derive(Debug, Clone)]
pub struct NewActivity {
    pub interaction_id: i64,
    /// Who started the conversation (R23).
    pub kind: InteractionKind,
    pub channel_id: i64,
    pub queue_id: i64,
    pub queue_name: String,
    pub contact_id: Option<ContactId>,
    pub customer_name: String,
    pub customer: CustomerIdentity,
    pub source_number: String,
    /// The participants as JSON (id, name, role, times, disposition).
    pub agents: String,
    pub agent_ids: Vec<i64>,
    pub agent_names: Vec<String>,
    pub initiated_at: i64,
    pub accepted_at: Option<i64>,
    pub terminated_at: Option<i64>,
    pub wrapped_up_at: i64,
    pub disposition: Option<String>,
    pub transcript: Vec<Message>,
}

impl NewActivity {
    /// The call log as an external CRM receives it.
    pub fn crm_record(&self) -> ActivityRecord {
        ActivityRecord {
            interaction_id: self.interaction_id,
            contact_id: self.contact_id.clone(),
            customer_name: self.customer_name.clone(),
            customer_phone: self.customer.e164().unwrap_or_default(),
            customer_username: self.customer.username.clone(),
            customer_user_id: self.customer.user_id.clone(),
            source_number: self.source_number.clone(),
            queue_name: self.queue_name.clone(),
            agents: self.agent_names.clone(),
            initiated_at: self.initiated_at,
            accepted_at: self.accepted_at,
            terminated_at: self.terminated_at,
            wrapped_up_at: self.wrapped_up_at,
            disposition: self.disposition.clone(),
            transcript: self.transcript.iter().map(TranscriptLine::from).collect(),
            outbound: self.kind == InteractionKind::Outbound,
        }
    }
}

/// The transcript as the call log keeps it: an edited or deleted message with its first text
/// and what the customer did to it (R24).
fn record_transcript(messages: &[Message]) -> Vec<Message> {
    messages
        .iter()
        .map(|m| {
            let mut m = m.clone();
            if m.original_text.is_some() {
                m.text = m.record_text();
            }
            m
        })
        .collect()
}

/// Saves a call log.
pub fn insert(db: &Db, a: &NewActivity) -> StoreResult<i64> {
    let c = db.0;
    c.prepare_cached(
        "INSERT INTO activities (interaction_id, channel_id, queue_id, contact_id, customer_name,
            customer_phone, source_number, agents, initiated_at, accepted_at, terminated_at,
            wrapped_up_at, disposition, transcript, created_at, crm_contact_id, customer_user_id,
            customer_username, kind)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)",
    )?
    .execute(params![
        a.interaction_id,
        a.channel_id,
        a.queue_id,
        a.contact_id.as_ref().and_then(ContactId::local),
        a.customer_name,
        a.customer.e164().unwrap_or_default(),
        a.source_number,
        a.agents,
        a.initiated_at,
        a.accepted_at,
        a.terminated_at,
        a.wrapped_up_at,
        a.disposition,
        serde_json::to_string(&record_transcript(&a.transcript)).unwrap_or_else(|_| "[]".into()),
        a.wrapped_up_at,
        a.contact_id.as_ref().and_then(ContactId::external),
        a.customer.user_id,
        a.customer.username,
        a.kind,
    ])?;
    let activity_id = c.last_insert_rowid();
    let mut stmt = c.prepare_cached(
        "INSERT OR IGNORE INTO activity_agents (activity_id, agent_id) VALUES (?1, ?2)",
    )?;
    for agent_id in &a.agent_ids {
        stmt.execute(params![activity_id, agent_id])?;
    }
    Ok(activity_id)
}

/// A past call log, as the screen pop lists it.
#[derive(Debug, Clone, Serialize)]
pub struct ActivitySummary {
    pub id: i64,
    pub interaction_id: i64,
    pub queue_name: String,
    pub agents: Vec<String>,
    #[serde(with = "rfc3339")]
    pub initiated_at: i64,
    #[serde(with = "rfc3339")]
    pub wrapped_up_at: i64,
    pub disposition: Option<String>,
    /// The customer's satisfaction answer (R28), if they gave one.
    pub csat: Option<CsatAnswer>,
}

/// The contact's ten most recent call logs (built-in or external contact id).
pub fn recent_for_contact(db: &Db, id: &ContactId) -> StoreResult<Vec<ActivitySummary>> {
    let mut stmt = db.0.prepare_cached(
        "SELECT a.id, a.interaction_id, COALESCE(q.name, ''), a.agents, a.initiated_at,
                a.wrapped_up_at, a.disposition, s.score, s.answered_at
         FROM activities a LEFT JOIN queues q ON q.id = a.queue_id
         LEFT JOIN csat_surveys s ON s.interaction_id = a.interaction_id
         WHERE (?1 IS NOT NULL AND a.contact_id = ?1) OR (?2 IS NOT NULL AND a.crm_contact_id = ?2)
         ORDER BY a.id DESC LIMIT 10",
    )?;
    let rows = stmt.query_map(params![id.local(), id.external()], |r| {
        let agents: String = r.get(3)?;
        let agents = serde_json::from_str::<Vec<serde_json::Value>>(&agents)
            .unwrap_or_default()
            .iter()
            .filter_map(|a| a["display_name"].as_str().map(str::to_string))
            .collect();
        Ok(ActivitySummary {
            id: r.get(0)?,
            interaction_id: r.get(1)?,
            queue_name: r.get(2)?,
            agents,
            initiated_at: r.get(4)?,
            wrapped_up_at: r.get(5)?,
            disposition: r.get(6)?,
            csat: CsatAnswer::of(r.get(7)?, r.get(8)?),
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}
