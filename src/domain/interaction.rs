//! An interaction's record (one row of `interactions` plus its participants) and its
//! transitions as pure functions: what a command or a timer changes, or why it is refused.

use super::{ConferenceState, DispositionCode, InteractionState, OfferKind, ParticipantRole};
use crate::crm::ContactId;

/// The persisted state of an interaction.
#[derive(Debug, Clone)]
pub struct InteractionRecord {
    pub id: i64,
    pub channel_id: i64,
    pub queue_id: i64,
    pub customer_wa_id: String,
    pub customer_name: String,
    pub source_number: String,
    pub state: InteractionState,
    pub position: i64,
    pub owner: Option<i64>,
    pub offer: Option<PendingOffer>,
    pub conference_state: ConferenceState,
    pub contact_id: Option<ContactId>,
    pub interrupted: Option<String>,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub last_customer_message_at: Option<i64>,
    pub participants: Vec<ParticipantRecord>,
}

/// An offer waiting for the agent's accept (R2), transfer (R17) or conference (R18).
#[derive(Debug, Clone)]
pub struct PendingOffer {
    pub agent_id: i64,
    pub kind: OfferKind,
    pub expires_at: i64,
    pub from_agent_id: Option<i64>,
    pub can_reject: bool,
}

/// An agent who took part in the conversation.
#[derive(Debug, Clone)]
pub struct ParticipantRecord {
    pub agent_id: i64,
    pub display_name: String,
    pub role: ParticipantRole,
    pub joined_at: i64,
    /// Left without wrap-up (reconnect grace ran out).
    pub left_at: Option<i64>,
    pub wrap_up_deadline: Option<i64>,
    pub wrapped_up_at: Option<i64>,
    pub disposition: Option<String>,
    pub auto: Option<bool>,
    /// The disposition codes of the queue the agent worked the conversation in, fixed when
    /// its wrap-up starts (a transfer or a deleted queue does not change them).
    pub wrap_up_codes: Option<Vec<DispositionCode>>,
    pub wrap_up_required: Option<bool>,
}

/// The disposition codes to choose from and whether one is required.
pub type WrapUpTerms = (Vec<DispositionCode>, bool);

impl ParticipantRecord {
    pub fn start_wrap_up(&mut self, deadline: i64, terms: &WrapUpTerms) {
        self.wrap_up_deadline = Some(deadline);
        self.wrap_up_codes = Some(terms.0.clone());
        self.wrap_up_required = Some(terms.1);
    }

    pub fn wrap_up_terms(&self) -> WrapUpTerms {
        (
            self.wrap_up_codes.clone().unwrap_or_default(),
            self.wrap_up_required.unwrap_or(false),
        )
    }

    /// In the conversation: may read and write.
    pub fn active(&self) -> bool {
        self.left_at.is_none() && self.wrap_up_deadline.is_none()
    }
    pub fn wrapping_up(&self) -> bool {
        self.left_at.is_none() && self.wrap_up_deadline.is_some() && self.wrapped_up_at.is_none()
    }
    pub fn done(&self) -> bool {
        self.left_at.is_some() || self.wrapped_up_at.is_some()
    }
}
