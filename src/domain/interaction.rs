//! An interaction's record (one row of `interactions` plus its participants) and its
//! transitions as pure functions: what a command or a timer changes, or why it is refused.

use super::{
    ConferenceState, DispositionCode, InteractionKind, InteractionState, OfferKind, ParticipantRole,
};
use crate::domain::contact::ContactId;
use crate::domain::customer::CustomerIdentity;
use crate::domain::error_code::ErrorCode;
use crate::domain::sticky::Sticky;

/// The persisted state of an interaction.
#[derive(Debug, Clone)]
pub struct InteractionRecord {
    pub id: i64,
    pub channel_id: i64,
    pub queue_id: i64,
    /// Who started it: the customer, or the business with a template (R23).
    pub kind: InteractionKind,
    /// Who the customer is (R21): number, BSUID, username, as far as known.
    pub customer: CustomerIdentity,
    /// The `customers` row, once the first message is committed.
    pub customer_id: Option<i64>,
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
    /// Priority, overflow and sticky agent (R27).
    pub routing: InteractionRouting,
}

/// Where an interaction stands in R27's routing.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InteractionRouting {
    /// 0 to 9, higher served first.
    pub priority: u8,
    /// When it last came into its queue to wait (created, transferred, back from an agent):
    /// the overflow clock. An offer that comes back does not restart it.
    pub queued_at: i64,
    /// The queue it overflowed from: it never overflows again.
    pub overflowed_from: Option<i64>,
    /// Offered only to this agent for now (sticky routing); gone with the first offer.
    pub sticky: Option<Sticky>,
}

impl InteractionRouting {
    /// It comes into a queue whose default priority is `queue_default`, to wait from `now`.
    pub fn entering(&mut self, queue_default: u8, now: i64) {
        self.priority = super::priority::entering(self.priority, queue_default);
        self.queued_at = now;
        self.sticky = None;
    }
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
    /// An agent who joins the conversation now, in `role`.
    pub fn joining(agent_id: i64, display_name: &str, role: ParticipantRole, now: i64) -> Self {
        ParticipantRecord {
            agent_id,
            display_name: display_name.to_string(),
            role,
            joined_at: now,
            left_at: None,
            wrap_up_deadline: None,
            wrapped_up_at: None,
            disposition: None,
            auto: None,
            wrap_up_codes: None,
            wrap_up_required: None,
        }
    }

    pub fn start_wrap_up(&mut self, deadline: i64, terms: &WrapUpTerms) {
        self.wrap_up_deadline = Some(deadline);
        self.wrap_up_codes = Some(terms.0.clone());
        self.wrap_up_required = Some(terms.1);
    }

    /// An agent goes to wrap-up; a supervisor who barged in (R25) has none to do and leaves.
    pub fn start_wrap_up_or_leave(&mut self, deadline: i64, terms: &WrapUpTerms, now: i64) {
        if self.role == ParticipantRole::Supervisor {
            self.left_at = Some(now);
        } else {
            self.start_wrap_up(deadline, terms);
        }
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

/// At most this many agents in one conversation (R18).
pub const MAX_AGENTS: usize = 5;

pub use super::error_code::Refusal;

/// Where a transfer or conference invitation goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Queue(i64),
    Agent(i64),
}

impl Target {
    pub fn from_ids(queue_id: Option<i64>, agent_id: Option<i64>) -> Result<Target, Refusal> {
        match (queue_id, agent_id) {
            (Some(q), None) => Ok(Target::Queue(q)),
            (None, Some(a)) => Ok(Target::Agent(a)),
            _ => Err(Refusal::new(
                ErrorCode::BadRequest,
                "give exactly one of queue_id and agent_id",
            )),
        }
    }
}

/// A pending offer taken back (R3 timeout, R4 reject, R11 disconnect, R9 revoke).
#[derive(Debug, Clone)]
pub struct Revoked {
    pub next: InteractionRecord,
    pub offer: PendingOffer,
    /// System notes for the transcript.
    pub notes: Vec<String>,
}

/// End (R7): who starts wrap-up, and the invitation it withdraws.
#[derive(Debug, Clone)]
pub struct Ended {
    pub next: InteractionRecord,
    pub withdrawn: Option<PendingOffer>,
    pub wrapping: Vec<i64>,
}

/// An agent's wrap-up done (R7); `closing` when it was the last (R8: save the call log).
#[derive(Debug, Clone)]
pub struct WrappedUp {
    pub next: InteractionRecord,
    pub closing: bool,
}

/// An interruption (R15).
#[derive(Debug, Clone)]
pub struct Interrupted {
    pub next: InteractionRecord,
    pub revoked: Option<PendingOffer>,
    pub closing: bool,
}

/// Agents removed from a conference into wrap-up (R18).
#[derive(Debug, Clone)]
pub struct Removed {
    pub next: InteractionRecord,
    pub cancelled: Option<PendingOffer>,
}

impl InteractionRecord {
    pub fn participant(&self, agent_id: i64) -> Option<&ParticipantRecord> {
        self.participants.iter().find(|p| p.agent_id == agent_id)
    }

    fn participant_mut(&mut self, agent_id: i64) -> Option<&mut ParticipantRecord> {
        self.participants
            .iter_mut()
            .find(|p| p.agent_id == agent_id)
    }

    /// Agents who read and write in the conversation.
    pub fn active_agents(&self) -> Vec<i64> {
        self.participants
            .iter()
            .filter(|p| p.active())
            .map(|p| p.agent_id)
            .collect()
    }

    fn conference_guests(&self) -> Vec<i64> {
        self.participants
            .iter()
            .filter(|p| {
                p.active()
                    && matches!(
                        p.role,
                        ParticipantRole::Conference | ParticipantRole::Supervisor
                    )
            })
            .map(|p| p.agent_id)
            .collect()
    }

    /// The pending offer, if it is this agent's.
    pub fn offered_to(&self, agent_id: i64) -> Result<&PendingOffer, Refusal> {
        match &self.offer {
            Some(o) if o.agent_id == agent_id => Ok(o),
            _ => Err(Refusal::new(
                ErrorCode::NotOffered,
                "this conversation is not offered to you",
            )),
        }
    }

    /// The agent is in the active conversation (not wrapping up, not gone).
    pub fn check_active_participant(&self, agent_id: i64) -> Result<(), Refusal> {
        match self.participant(agent_id) {
            Some(p) if p.active() => {}
            Some(p) if p.wrapping_up() => {
                return Err(Refusal::new(
                    ErrorCode::InvalidState,
                    "you are wrapping up this conversation",
                ))
            }
            _ => {
                return Err(Refusal::new(
                    ErrorCode::NotParticipant,
                    "you are not in this conversation",
                ))
            }
        }
        self.check_active()
    }

    /// The conversation is active (not queued, offered, in wrap-up or closed).
    fn check_active(&self) -> Result<(), Refusal> {
        if self.state != InteractionState::Active {
            return Err(Refusal::new(
                ErrorCode::InvalidState,
                format!("the conversation is {}", self.state),
            ));
        }
        Ok(())
    }

    /// R15: nothing more happens in a conversation that was cut short.
    fn check_not_interrupted(&self) -> Result<(), Refusal> {
        if let Some(reason) = &self.interrupted {
            return Err(Refusal::new(
                ErrorCode::Interrupted,
                format!("the conversation was interrupted: {reason}"),
            ));
        }
        Ok(())
    }

    /// R18: a conversation has room for one more agent (at most five).
    fn check_room(in_it: &[i64]) -> Result<(), Refusal> {
        if in_it.len() >= MAX_AGENTS {
            return Err(Refusal::new(
                ErrorCode::ConversationFull,
                format!("at most {MAX_AGENTS} agents can be in one conversation"),
            ));
        }
        Ok(())
    }

    /// Transfer and conference are the owner's, on an active, uninterrupted conversation
    /// with no invitation pending (R17, R18).
    pub fn check_owner_may_route(&self, agent_id: i64) -> Result<(), Refusal> {
        self.check_active_participant(agent_id)?;
        if self.owner != Some(agent_id) {
            return Err(Refusal::new(
                ErrorCode::NotOwner,
                "only the owner can do this",
            ));
        }
        self.check_not_interrupted()?;
        if self.offer.is_some() {
            return Err(Refusal::new(
                ErrorCode::InvalidState,
                "an invitation for this conversation is pending",
            ));
        }
        Ok(())
    }

    /// R3, R4, R9, R11: the pending offer is taken back. A new conversation waits in its queue
    /// again, a transferred one at the front (R17); a conference invitation lapses and the
    /// conversation goes on. `agent_name` is the offered agent's, for the notes.
    pub fn revoke_offer(&self, agent_name: &str, now: i64) -> Option<Revoked> {
        let offer = self.offer.clone()?;
        let mut next = self.clone();
        next.offer = None;
        let mut notes = Vec::new();
        match offer.kind {
            OfferKind::New => {
                if next.state == InteractionState::Offered {
                    next.state = InteractionState::Queued;
                }
            }
            OfferKind::Transfer => {
                next.state = InteractionState::Queued;
                next.position = -now;
                next.routing.queued_at = now;
                notes.push(format!(
                    "{agent_name} did not take the transfer; the conversation is back in the queue"
                ));
            }
            OfferKind::Conference => {
                if next.conference_guests().is_empty() {
                    next.conference_state = ConferenceState::None;
                }
                notes.push(format!("{agent_name} did not join the chat"));
            }
        }
        Some(Revoked { next, offer, notes })
    }

    /// R6, R14: may this agent send this text now? Only in the active, uninterrupted
    /// conversation (R15), 1 to `max_chars` characters, not blank, and within 24 hours of
    /// the customer's last message (WhatsApp's customer service window).
    pub fn check_send(
        &self,
        agent_id: i64,
        text: &str,
        max_chars: usize,
        now: i64,
    ) -> Result<(), Refusal> {
        self.check_can_send(agent_id, Some((text, max_chars)), now)
    }

    /// R22: may `agent_id` send an attachment now (with `caption`, when it has one)? The same
    /// refusals as a text (R6, R14, R15); a caption is optional, at most
    /// [`super::media::MAX_CAPTION_CHARS`] (or `max_chars`, if less).
    pub fn check_send_attachment(
        &self,
        agent_id: i64,
        caption: Option<&str>,
        max_chars: usize,
        now: i64,
    ) -> Result<(), Refusal> {
        let max = max_chars.min(super::media::MAX_CAPTION_CHARS);
        self.check_can_send(agent_id, caption.map(|c| (c, max)), now)
    }

    /// Participant, not interrupted, the text (if any) valid, the window open: in this order.
    fn check_can_send(
        &self,
        agent_id: i64,
        text: Option<(&str, usize)>,
        now: i64,
    ) -> Result<(), Refusal> {
        self.check_send_template(agent_id)?;
        if let Some((text, max_chars)) = text {
            super::validate_message_text(text, max_chars)
                .map_err(|(code, message)| Refusal::new(code, message))?;
        }
        let window_open = self
            .last_customer_message_at
            .is_some_and(|t| now - t <= super::CUSTOMER_WINDOW_MS);
        if !window_open {
            return Err(Refusal::new(
                ErrorCode::WindowClosed,
                "more than 24 hours have passed since the customer's last message: send an approved template to write again",
            ));
        }
        Ok(())
    }

    /// R25: a supervisor barges in: a participant (role `supervisor`, may send), counted
    /// toward the five; "<name> joined the chat". Refused when the conversation is not
    /// active, was interrupted, is full, or has them in it already.
    pub fn barge_in(
        &self,
        agent_id: i64,
        display_name: &str,
        now: i64,
    ) -> Result<(InteractionRecord, Vec<String>), Refusal> {
        self.check_active()?;
        self.check_not_interrupted()?;
        let in_it = self.active_agents();
        if in_it.contains(&agent_id) {
            return Err(Refusal::new(
                ErrorCode::InvalidState,
                "you are in this conversation already",
            ));
        }
        Self::check_room(&in_it)?;
        let mut next = self.clone();
        next.conference_state = ConferenceState::Active;
        next.participants.retain(|p| p.agent_id != agent_id);
        next.participants.push(ParticipantRecord::joining(
            agent_id,
            display_name,
            ParticipantRole::Supervisor,
            now,
        ));
        Ok((next, vec![format!("{display_name} joined the chat")]))
    }

    /// R25: may `agent_id` add an internal note? Anyone in the conversation or watching it,
    /// while it is not closed; the text as for a message.
    pub fn check_note(
        &self,
        agent_id: i64,
        watching: bool,
        text: &str,
        max_chars: usize,
    ) -> Result<(), Refusal> {
        let in_it = self.participant(agent_id).is_some_and(|p| !p.done());
        if !in_it && !watching {
            return Err(Refusal::new(
                ErrorCode::NotParticipant,
                "you are not in this conversation and not watching it",
            ));
        }
        if self.state == InteractionState::Closed {
            return Err(Refusal::new(
                ErrorCode::InvalidState,
                "the conversation is closed",
            ));
        }
        super::validate_message_text(text, max_chars)
            .map_err(|(code, message)| Refusal::new(code, message))
    }

    /// R23: may `agent_id` send a template now? As for a message (an active participant of
    /// a conversation that was not interrupted), except that the 24-hour window does not
    /// matter: a template is how a business writes after it.
    pub fn check_send_template(&self, agent_id: i64) -> Result<(), Refusal> {
        self.check_active_participant(agent_id)?;
        self.check_not_interrupted()
    }

    /// R23: a conversation the business starts: active at once, owned by the agent who
    /// started it, its window closed until the customer writes.
    pub fn start_outbound(&self, agent_id: i64, display_name: &str, now: i64) -> InteractionRecord {
        let mut next = self.clone();
        next.kind = InteractionKind::Outbound;
        next.state = InteractionState::Active;
        next.owner = Some(agent_id);
        next.created_at = now;
        next.position = now;
        next.accepted_at = Some(now);
        next.participants = vec![ParticipantRecord::joining(
            agent_id,
            display_name,
            ParticipantRole::Owner,
            now,
        )];
        next
    }

    /// R24: may the agent react to a message? As for a message: an active participant of a
    /// conversation that is not interrupted, inside the 24-hour window (a reaction is a
    /// message to WhatsApp).
    pub fn check_react(&self, agent_id: i64, emoji: &str, now: i64) -> Result<(), Refusal> {
        if emoji.chars().count() > 10 || emoji.chars().any(|c| c.is_whitespace()) {
            return Err(Refusal::new(
                ErrorCode::InvalidInput,
                "emoji must be one emoji (or empty to take the reaction back)",
            ));
        }
        self.check_send(agent_id, "\u{1F44D}", usize::MAX, now)
    }

    /// R5: the offered agent accepts. A new or transferred conversation becomes active with
    /// it as owner; a conference invitation makes it a guest ("<name> joined the chat", R18).
    pub fn accept(
        &self,
        agent_id: i64,
        display_name: &str,
        now: i64,
    ) -> Result<(InteractionRecord, Vec<String>), Refusal> {
        let offer = self.offered_to(agent_id)?;
        let mut next = self.clone();
        next.offer = None;
        let mut notes = Vec::new();
        let role = match offer.kind {
            OfferKind::New | OfferKind::Transfer => {
                next.state = InteractionState::Active;
                next.owner = Some(agent_id);
                next.accepted_at.get_or_insert(now);
                ParticipantRole::Owner
            }
            OfferKind::Conference => {
                next.conference_state = ConferenceState::Active;
                notes.push(format!("{display_name} joined the chat"));
                ParticipantRole::Conference
            }
        };
        next.participants.retain(|p| p.agent_id != agent_id);
        next.participants.push(ParticipantRecord::joining(
            agent_id,
            display_name,
            role,
            now,
        ));
        Ok((next, notes))
    }

    /// R4: reject is the offered agent's, and only with `can_reject`; its consequences are
    /// a timeout's.
    pub fn reject(&self, agent_id: i64, agent_name: &str, now: i64) -> Result<Revoked, Refusal> {
        let offer = self.offered_to(agent_id)?;
        if !offer.can_reject {
            return Err(Refusal::new(
                ErrorCode::RejectNotPermitted,
                "your administrator does not allow you to reject conversations",
            ));
        }
        Ok(self
            .revoke_offer(agent_name, now)
            .expect("an offer is pending"))
    }

    /// R7: the owner (or anyone in an interrupted conversation, R15) ends it; every agent
    /// in it starts wrap-up with `deadline`, and a pending invitation is withdrawn.
    pub fn end(
        &self,
        by: i64,
        deadline: i64,
        terms: &WrapUpTerms,
        now: i64,
    ) -> Result<Ended, Refusal> {
        self.check_active_participant(by)?;
        if self.owner != Some(by) && self.interrupted.is_none() {
            return Err(Refusal::new(
                ErrorCode::NotOwner,
                "only the owner can end the conversation",
            ));
        }
        let mut next = self.clone();
        next.state = InteractionState::WrapUp;
        next.ended_at = Some(now);
        let withdrawn = next.offer.take();
        if withdrawn.is_some() {
            next.conference_state = ConferenceState::None;
        }
        let mut wrapping = Vec::new();
        for p in next.participants.iter_mut().filter(|p| p.active()) {
            p.start_wrap_up_or_leave(deadline, terms, now);
            wrapping.push(p.agent_id);
        }
        Ok(Ended {
            next,
            withdrawn,
            wrapping,
        })
    }

    /// R7: checks an agent's `wrap_up` command; the disposition to record (blank is none).
    pub fn check_wrap_up(
        &self,
        agent_id: i64,
        disposition: Option<String>,
    ) -> Result<Option<String>, Refusal> {
        let (codes, required) = match self.participant(agent_id) {
            Some(p) if p.wrapping_up() => p.wrap_up_terms(),
            Some(_) => {
                return Err(Refusal::new(
                    ErrorCode::InvalidState,
                    "you are not wrapping up this conversation",
                ))
            }
            None => {
                return Err(Refusal::new(
                    ErrorCode::NotParticipant,
                    "you are not in this conversation",
                ))
            }
        };
        let disposition = disposition.filter(|d| !d.is_empty());
        match &disposition {
            Some(code) if !codes.iter().any(|c| &c.code == code) => Err(Refusal::new(
                ErrorCode::UnknownDisposition,
                format!("`{code}` is not a disposition code of this queue"),
            )),
            None if required => Err(Refusal::new(
                ErrorCode::DispositionRequired,
                "this queue requires a disposition code",
            )),
            _ => Ok(disposition),
        }
    }

    /// R7: one agent's wrap-up is done (by command, or `auto` when the countdown ran out).
    /// The last one closes an ended conversation, and an interrupted one no agent holds any
    /// more (R15: it cannot be routed again).
    pub fn complete_wrap_up(
        &self,
        agent_id: i64,
        disposition: Option<String>,
        auto: bool,
        now: i64,
    ) -> WrappedUp {
        let mut next = self.clone();
        if let Some(p) = next.participant_mut(agent_id) {
            p.wrapped_up_at = Some(now);
            p.disposition = disposition;
            p.auto = Some(auto);
        }
        let closing = (next.state == InteractionState::WrapUp || next.interrupted.is_some())
            && next.participants.iter().all(|p| p.done())
            && next.offer.is_none();
        if closing {
            next.state = InteractionState::Closed;
            next.closed_at = Some(now);
            next.ended_at.get_or_insert(now);
        }
        WrappedUp { next, closing }
    }

    /// R11: the reconnect grace ran out. The agent leaves; if it owned the conversation,
    /// the conversation goes back to the front of its queue. True when it was the owner.
    pub fn drop_absent_agent(&self, agent_id: i64, now: i64) -> (InteractionRecord, bool) {
        let mut next = self.clone();
        if let Some(p) = next.participant_mut(agent_id) {
            p.left_at = Some(now);
        }
        let was_owner = next.owner == Some(agent_id);
        if was_owner {
            next.owner = None;
            next.state = InteractionState::Queued;
            next.position = -now;
            next.routing.queued_at = now;
        }
        (next, was_owner)
    }

    /// R15: a resource the conversation uses was deleted. A pending offer is revoked; an
    /// agent that is gone leaves; with no agent left the conversation closes at once.
    pub fn interrupt(&self, reason: &str, gone_agent: Option<i64>, now: i64) -> Interrupted {
        let mut next = self.clone();
        next.interrupted = Some(reason.to_string());
        let revoked = next.offer.take();
        if next.state == InteractionState::Offered {
            next.state = InteractionState::Queued;
        }
        if let Some(o) = &revoked {
            if o.kind == OfferKind::Conference
                && next.conference_state == ConferenceState::Requested
            {
                next.conference_state = ConferenceState::None;
            }
        }
        if let Some(gone) = gone_agent {
            if let Some(p) = next
                .participants
                .iter_mut()
                .find(|p| p.agent_id == gone && !p.done())
            {
                p.left_at = Some(now);
            }
        }
        let closing = next.participants.iter().all(|p| p.done());
        if closing {
            if next.ended_at.is_none() {
                next.ended_at = Some(now);
            }
            next.state = InteractionState::Closed;
            next.closed_at = Some(now);
        }
        Interrupted {
            next,
            revoked,
            closing,
        }
    }

    /// R17: the owner transfers the conversation; it leaves the owner (who starts wrap-up at
    /// once) for the front of a queue, or for an offer to an agent (the caller reserves the
    /// agent and adds the offer).
    pub fn transfer(
        &self,
        by: i64,
        target: Target,
        deadline: i64,
        terms: &WrapUpTerms,
        now: i64,
    ) -> Result<InteractionRecord, Refusal> {
        self.check_owner_may_route(by)?;
        if !self.conference_guests().is_empty() {
            return Err(Refusal::new(
                ErrorCode::InvalidState,
                "end the conference before transferring",
            ));
        }
        if target == Target::Agent(by) {
            return Err(Refusal::new(
                ErrorCode::InvalidTarget,
                "you cannot transfer to yourself",
            ));
        }
        let mut next = self.clone();
        next.owner = None;
        next.position = -now;
        next.routing.queued_at = now;
        if let Some(p) = next.participant_mut(by) {
            p.start_wrap_up(deadline, terms);
        }
        match target {
            Target::Queue(queue_id) => {
                next.state = InteractionState::Queued;
                next.queue_id = queue_id;
            }
            Target::Agent(_) => next.state = InteractionState::Offered,
        }
        Ok(next)
    }

    /// R18: the owner invites an agent or a queue (at most [`MAX_AGENTS`] agents in it).
    pub fn invite_to_conference(
        &self,
        by: i64,
        target: Target,
    ) -> Result<InteractionRecord, Refusal> {
        self.check_owner_may_route(by)?;
        let in_it = self.active_agents();
        Self::check_room(&in_it)?;
        if let Target::Agent(agent) = target {
            if in_it.contains(&agent) {
                return Err(Refusal::new(
                    ErrorCode::InvalidTarget,
                    "that agent is already in the conversation",
                ));
            }
        }
        let mut next = self.clone();
        if next.conference_state == ConferenceState::None {
            next.conference_state = ConferenceState::Requested;
        }
        Ok(next)
    }

    /// R18: the offer of an invitation (transfer or conference) to a reserved agent.
    pub fn with_invitation(
        mut self,
        kind: OfferKind,
        from: i64,
        target: i64,
        expires_at: i64,
        can_reject: bool,
    ) -> InteractionRecord {
        self.offer = Some(PendingOffer {
            agent_id: target,
            kind,
            expires_at,
            from_agent_id: Some(from),
            can_reject,
        });
        self
    }

    /// R18: the owner ends the conference: the invited agents in it, to remove.
    pub fn end_conference(&self, by: i64) -> Result<Vec<i64>, Refusal> {
        self.check_active_participant(by)?;
        if self.owner != Some(by) {
            return Err(Refusal::new(
                ErrorCode::NotOwner,
                "only the owner can end the conference",
            ));
        }
        if self.conference_state == ConferenceState::None {
            return Err(Refusal::new(
                ErrorCode::InvalidState,
                "there is no conference",
            ));
        }
        Ok(self.conference_guests())
    }

    /// R18: only an invited agent leaves a conference (R25: and a supervisor who barged in).
    pub fn check_leave_conference(&self, by: i64) -> Result<(), Refusal> {
        self.check_active_participant(by)?;
        if !matches!(
            self.participant(by).map(|p| p.role),
            Some(ParticipantRole::Conference | ParticipantRole::Supervisor)
        ) {
            return Err(Refusal::new(
                ErrorCode::NotConferenceParticipant,
                "only an invited agent can leave a conference",
            ));
        }
        Ok(())
    }

    /// R18: the given agents go to wrap-up and the conversation goes on without them; with
    /// `cancel_invitation` a pending conference invitation is withdrawn too.
    pub fn remove_agents(
        &self,
        agents: &[i64],
        cancel_invitation: bool,
        deadline: i64,
        terms: &WrapUpTerms,
        now: i64,
    ) -> Removed {
        let mut next = self.clone();
        for p in next
            .participants
            .iter_mut()
            .filter(|p| agents.contains(&p.agent_id))
        {
            p.start_wrap_up_or_leave(deadline, terms, now);
        }
        let cancelled = if cancel_invitation {
            next.offer.take_if(|o| o.kind == OfferKind::Conference)
        } else {
            None
        };
        if next.conference_guests().is_empty() && next.offer.is_none() {
            next.conference_state = ConferenceState::None;
        }
        Removed { next, cancelled }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OWNER: i64 = 1;
    const GUEST: i64 = 2;
    const OTHER: i64 = 3;
    const NOW: i64 = 1_000_000;
    const DEADLINE: i64 = NOW + 60_000;

    fn terms() -> WrapUpTerms {
        (
            vec![DispositionCode {
                code: "sold".into(),
                label: "Sold".into(),
            }],
            false,
        )
    }

    fn required_terms() -> WrapUpTerms {
        (terms().0, true)
    }

    fn participant(agent_id: i64, role: ParticipantRole) -> ParticipantRecord {
        ParticipantRecord {
            agent_id,
            display_name: format!("agent {agent_id}"),
            role,
            joined_at: NOW - 10_000,
            left_at: None,
            wrap_up_deadline: None,
            wrapped_up_at: None,
            disposition: None,
            auto: None,
            wrap_up_codes: None,
            wrap_up_required: None,
        }
    }

    fn queued() -> InteractionRecord {
        InteractionRecord {
            id: 7,
            channel_id: 1,
            queue_id: 10,
            kind: InteractionKind::Inbound,
            customer: CustomerIdentity::new(Some("447700900001"), None, None),
            customer_id: None,
            customer_name: "Carla".into(),
            source_number: "+15550000000".into(),
            state: InteractionState::Queued,
            position: NOW - 20_000,
            owner: None,
            offer: None,
            conference_state: ConferenceState::None,
            contact_id: None,
            interrupted: None,
            created_at: NOW - 20_000,
            accepted_at: None,
            ended_at: None,
            closed_at: None,
            last_customer_message_at: Some(NOW - 20_000),
            participants: Vec::new(),
            routing: InteractionRouting {
                queued_at: NOW - 20_000,
                ..Default::default()
            },
        }
    }

    fn offer(agent_id: i64, kind: OfferKind, can_reject: bool) -> PendingOffer {
        PendingOffer {
            agent_id,
            kind,
            expires_at: NOW + 30_000,
            from_agent_id: (kind != OfferKind::New).then_some(OWNER),
            can_reject,
        }
    }

    fn offered(can_reject: bool) -> InteractionRecord {
        let mut r = queued();
        r.state = InteractionState::Offered;
        r.offer = Some(offer(OWNER, OfferKind::New, can_reject));
        r
    }

    fn active() -> InteractionRecord {
        let mut r = queued();
        r.state = InteractionState::Active;
        r.owner = Some(OWNER);
        r.accepted_at = Some(NOW - 5_000);
        r.participants
            .push(participant(OWNER, ParticipantRole::Owner));
        r
    }

    fn in_conference() -> InteractionRecord {
        let mut r = active();
        r.conference_state = ConferenceState::Active;
        r.participants
            .push(participant(GUEST, ParticipantRole::Conference));
        r
    }

    fn code(r: Result<impl std::fmt::Debug, Refusal>) -> &'static str {
        r.expect_err("refused").code.as_str()
    }

    // R3: a lapsed offer.

    #[test]
    fn a_lapsed_new_offer_puts_the_conversation_back_in_its_queue_at_its_place() {
        let r = offered(true);
        let revoked = r.revoke_offer("agent 1", NOW).unwrap();
        assert_eq!(revoked.next.state, InteractionState::Queued);
        assert!(revoked.next.offer.is_none());
        assert_eq!(revoked.next.position, r.position);
        assert_eq!(revoked.offer.agent_id, OWNER);
        assert!(revoked.notes.is_empty());
    }

    #[test]
    fn a_lapsed_transfer_goes_to_the_front_of_the_queue_with_a_note() {
        let mut r = active();
        r.owner = None;
        r.state = InteractionState::Offered;
        r.offer = Some(offer(OTHER, OfferKind::Transfer, true));
        let revoked = r.revoke_offer("Bob", NOW).unwrap();
        assert_eq!(revoked.next.state, InteractionState::Queued);
        assert_eq!(revoked.next.position, -NOW);
        assert_eq!(
            revoked.notes,
            vec!["Bob did not take the transfer; the conversation is back in the queue"]
        );
    }

    #[test]
    fn a_lapsed_conference_invitation_leaves_the_conversation_active() {
        let mut r = active();
        r.conference_state = ConferenceState::Requested;
        r.offer = Some(offer(GUEST, OfferKind::Conference, true));
        let revoked = r.revoke_offer("Bob", NOW).unwrap();
        assert_eq!(revoked.next.state, InteractionState::Active);
        assert_eq!(revoked.next.conference_state, ConferenceState::None);
        assert_eq!(revoked.notes, vec!["Bob did not join the chat"]);

        // With a guest still in it, the conference goes on.
        let mut r = in_conference();
        r.offer = Some(offer(OTHER, OfferKind::Conference, true));
        let revoked = r.revoke_offer("Carol", NOW).unwrap();
        assert_eq!(revoked.next.conference_state, ConferenceState::Active);
    }

    #[test]
    fn nothing_to_revoke_without_an_offer() {
        assert!(active().revoke_offer("Bob", NOW).is_none());
    }

    // R6, R14: send.

    #[test]
    fn an_agent_sends_in_the_window_a_text_that_is_not_blank_nor_too_long() {
        let r = active();
        assert_eq!(r.check_send(OWNER, "hello", 10, NOW), Ok(()));
        assert_eq!(code(r.check_send(OWNER, "  ", 10, NOW)), "empty_message");
        assert!(r.check_send(OWNER, "eleven char", 10, NOW).is_err());
        assert_eq!(
            code(r.check_send(OTHER, "hello", 10, NOW)),
            "not_participant"
        );
        let late = r.last_customer_message_at.unwrap() + crate::domain::CUSTOMER_WINDOW_MS + 1;
        assert_eq!(
            code(r.check_send(OWNER, "hello", 10, late)),
            "window_closed"
        );
        let mut interrupted = r.clone();
        interrupted.interrupted = Some("the channel was deleted".into());
        assert_eq!(
            code(interrupted.check_send(OWNER, "hello", 10, NOW)),
            "interrupted"
        );
    }

    // R22: an attachment is refused as a text would be; its caption is optional.

    #[test]
    fn an_attachment_is_refused_like_a_text_and_its_caption_is_optional() {
        let r = active();
        assert_eq!(r.check_send_attachment(OWNER, None, 4096, NOW), Ok(()));
        assert_eq!(
            r.check_send_attachment(OWNER, Some("box"), 4096, NOW),
            Ok(())
        );
        assert_eq!(
            code(r.check_send_attachment(OWNER, Some(&"x".repeat(1025)), 4096, NOW)),
            "message_too_long"
        );
        assert_eq!(
            code(r.check_send_attachment(OWNER, Some(" "), 4096, NOW)),
            "empty_message"
        );
        assert_eq!(
            code(r.check_send_attachment(OTHER, None, 4096, NOW)),
            "not_participant"
        );
        let late = r.last_customer_message_at.unwrap() + crate::domain::CUSTOMER_WINDOW_MS + 1;
        assert_eq!(
            code(r.check_send_attachment(OWNER, None, 4096, late)),
            "window_closed"
        );
        let mut interrupted = r.clone();
        interrupted.interrupted = Some("the queue was deleted".into());
        assert_eq!(
            code(interrupted.check_send_attachment(OWNER, None, 4096, NOW)),
            "interrupted"
        );
    }

    // R5: accept.

    #[test]
    fn accepting_a_new_offer_makes_the_agent_owner_of_the_active_conversation() {
        let (next, notes) = offered(true).accept(OWNER, "Alice", NOW).unwrap();
        assert_eq!(next.state, InteractionState::Active);
        assert_eq!(next.owner, Some(OWNER));
        assert_eq!(next.accepted_at, Some(NOW));
        assert!(next.offer.is_none());
        assert!(notes.is_empty());
        let p = next.participant(OWNER).unwrap();
        assert_eq!(
            (p.role, p.display_name.as_str()),
            (ParticipantRole::Owner, "Alice")
        );
        assert_eq!(code(offered(true).accept(OTHER, "Eve", NOW)), "not_offered");
    }

    #[test]
    fn accepting_a_conference_invitation_joins_as_guest() {
        let mut r = active();
        r.conference_state = ConferenceState::Requested;
        r.offer = Some(offer(GUEST, OfferKind::Conference, true));
        let (next, notes) = r.accept(GUEST, "Bob", NOW).unwrap();
        assert_eq!(next.conference_state, ConferenceState::Active);
        assert_eq!(next.owner, Some(OWNER));
        assert_eq!(notes, vec!["Bob joined the chat"]);
        assert_eq!(next.active_agents(), vec![OWNER, GUEST]);
    }

    // R4: reject.

    #[test]
    fn reject_has_the_consequences_of_a_timeout() {
        let r = offered(true);
        let revoked = r.reject(OWNER, "agent 1", NOW).unwrap();
        assert_eq!(revoked.next.state, InteractionState::Queued);
        assert!(revoked.next.offer.is_none());
    }

    #[test]
    fn reject_is_refused_without_can_reject_and_to_other_agents() {
        assert_eq!(
            code(offered(false).reject(OWNER, "agent 1", NOW)),
            "reject_not_permitted"
        );
        assert_eq!(code(offered(true).reject(OTHER, "x", NOW)), "not_offered");
        assert_eq!(code(queued().reject(OWNER, "x", NOW)), "not_offered");
    }

    // R7: end and wrap-up.

    #[test]
    fn end_sends_everyone_in_the_conversation_to_wrap_up() {
        let mut r = in_conference();
        r.offer = Some(offer(OTHER, OfferKind::Conference, true));
        let ended = r.end(OWNER, DEADLINE, &terms(), NOW).unwrap();
        assert_eq!(ended.next.state, InteractionState::WrapUp);
        assert_eq!(ended.next.ended_at, Some(NOW));
        assert_eq!(ended.wrapping, vec![OWNER, GUEST]);
        assert_eq!(ended.withdrawn.map(|o| o.agent_id), Some(OTHER));
        assert_eq!(ended.next.conference_state, ConferenceState::None);
        for p in &ended.next.participants {
            assert!(p.wrapping_up());
            assert_eq!(p.wrap_up_deadline, Some(DEADLINE));
            assert_eq!(p.wrap_up_terms(), terms());
        }
    }

    #[test]
    fn only_the_owner_ends_unless_the_conversation_was_interrupted() {
        let r = in_conference();
        assert_eq!(code(r.end(GUEST, DEADLINE, &terms(), NOW)), "not_owner");
        assert_eq!(
            code(r.end(OTHER, DEADLINE, &terms(), NOW)),
            "not_participant"
        );
        let mut interrupted = r.clone();
        interrupted.interrupted = Some("the queue was deleted".into());
        assert!(interrupted.end(GUEST, DEADLINE, &terms(), NOW).is_ok());
        // Not twice: a wrapping-up agent cannot end again.
        let ended = r.end(OWNER, DEADLINE, &terms(), NOW).unwrap().next;
        assert_eq!(
            code(ended.end(OWNER, DEADLINE, &terms(), NOW)),
            "invalid_state"
        );
    }

    #[test]
    fn wrap_up_checks_the_disposition_against_the_queue_terms() {
        let ended = active().end(OWNER, DEADLINE, &terms(), NOW).unwrap().next;
        assert_eq!(
            ended.check_wrap_up(OWNER, Some("sold".into())),
            Ok(Some("sold".into()))
        );
        assert_eq!(ended.check_wrap_up(OWNER, Some(String::new())), Ok(None));
        assert_eq!(
            code(ended.check_wrap_up(OWNER, Some("lost".into()))),
            "unknown_disposition"
        );
        assert_eq!(code(ended.check_wrap_up(OTHER, None)), "not_participant");
        assert_eq!(code(active().check_wrap_up(OWNER, None)), "invalid_state");
        let strict = active()
            .end(OWNER, DEADLINE, &required_terms(), NOW)
            .unwrap()
            .next;
        assert_eq!(
            code(strict.check_wrap_up(OWNER, None)),
            "disposition_required"
        );
    }

    #[test]
    fn the_last_wrap_up_closes_the_conversation() {
        let ended = in_conference()
            .end(OWNER, DEADLINE, &terms(), NOW)
            .unwrap()
            .next;
        let first = ended.complete_wrap_up(GUEST, None, true, NOW + 1);
        assert!(!first.closing);
        assert_eq!(first.next.state, InteractionState::WrapUp);
        let guest = first.next.participant(GUEST).unwrap();
        assert_eq!(
            (guest.auto, guest.wrapped_up_at),
            (Some(true), Some(NOW + 1))
        );
        assert!(guest.done());

        let last = first
            .next
            .complete_wrap_up(OWNER, Some("sold".into()), false, NOW + 2);
        assert!(last.closing);
        assert_eq!(last.next.state, InteractionState::Closed);
        assert_eq!(last.next.closed_at, Some(NOW + 2));
        assert_eq!(
            last.next.participant(OWNER).unwrap().disposition.as_deref(),
            Some("sold")
        );
    }

    #[test]
    fn a_wrap_up_after_a_transfer_leaves_the_conversation_open() {
        let moved = active()
            .transfer(OWNER, Target::Queue(11), DEADLINE, &terms(), NOW)
            .unwrap();
        let done = moved.complete_wrap_up(OWNER, None, true, NOW + 1);
        assert!(!done.closing);
        assert_eq!(done.next.state, InteractionState::Queued);
    }

    // R11: the reconnect grace ran out.

    #[test]
    fn an_absent_owner_leaves_and_the_conversation_goes_to_the_front_of_its_queue() {
        let (next, was_owner) = active().drop_absent_agent(OWNER, NOW);
        assert!(was_owner);
        assert_eq!(next.state, InteractionState::Queued);
        assert_eq!(next.owner, None);
        assert_eq!(next.position, -NOW);
        assert_eq!(next.participant(OWNER).unwrap().left_at, Some(NOW));
    }

    #[test]
    fn an_absent_guest_leaves_and_the_conversation_stays_with_its_owner() {
        let (next, was_owner) = in_conference().drop_absent_agent(GUEST, NOW);
        assert!(!was_owner);
        assert_eq!(next.state, InteractionState::Active);
        assert_eq!(next.owner, Some(OWNER));
        assert!(next.participant(GUEST).unwrap().done());
    }

    // R15: interruption.

    #[test]
    fn an_interruption_revokes_the_offer_and_keeps_the_agents_in_it() {
        let mut r = active();
        r.conference_state = ConferenceState::Requested;
        r.offer = Some(offer(GUEST, OfferKind::Conference, true));
        let i = r.interrupt("the queue was deleted", None, NOW);
        assert!(!i.closing);
        assert_eq!(i.next.interrupted.as_deref(), Some("the queue was deleted"));
        assert_eq!(i.revoked.map(|o| o.agent_id), Some(GUEST));
        assert_eq!(i.next.conference_state, ConferenceState::None);
        assert_eq!(i.next.state, InteractionState::Active);
    }

    #[test]
    fn an_interruption_closes_a_conversation_nobody_holds() {
        let i = offered(true).interrupt("the channel was deleted", None, NOW);
        assert!(i.closing);
        assert_eq!(i.next.state, InteractionState::Closed);
        assert_eq!((i.next.ended_at, i.next.closed_at), (Some(NOW), Some(NOW)));

        let i = active().interrupt("the agent was deleted", Some(OWNER), NOW);
        assert!(i.closing);
        assert_eq!(i.next.participant(OWNER).unwrap().left_at, Some(NOW));
    }

    #[test]
    fn an_interrupted_conversation_cannot_be_transferred_or_conferenced() {
        let mut r = active();
        r.interrupted = Some("the queue was deleted".into());
        assert_eq!(
            code(r.transfer(OWNER, Target::Queue(11), DEADLINE, &terms(), NOW)),
            "interrupted"
        );
        assert_eq!(
            code(r.invite_to_conference(OWNER, Target::Agent(GUEST))),
            "interrupted"
        );
        // Its last wrap-up closes it even though it never ended normally.
        let ended = r.end(OWNER, DEADLINE, &terms(), NOW).unwrap().next;
        assert!(ended.complete_wrap_up(OWNER, None, false, NOW).closing);
    }

    // R17: transfer.

    #[test]
    fn a_transfer_to_a_queue_puts_it_at_the_front_and_the_owner_in_wrap_up() {
        let next = active()
            .transfer(OWNER, Target::Queue(11), DEADLINE, &terms(), NOW)
            .unwrap();
        assert_eq!(next.state, InteractionState::Queued);
        assert_eq!(next.queue_id, 11);
        assert_eq!(next.owner, None);
        assert_eq!(next.position, -NOW);
        let owner = next.participant(OWNER).unwrap();
        assert!(owner.wrapping_up());
        assert_eq!(owner.wrap_up_deadline, Some(DEADLINE));
    }

    #[test]
    fn a_transfer_to_an_agent_offers_it_and_keeps_the_queue() {
        let next = active()
            .transfer(OWNER, Target::Agent(OTHER), DEADLINE, &terms(), NOW)
            .unwrap()
            .with_invitation(OfferKind::Transfer, OWNER, OTHER, NOW + 30_000, false);
        assert_eq!(next.state, InteractionState::Offered);
        assert_eq!(next.queue_id, 10);
        let offer = next.offer.unwrap();
        assert_eq!(
            (
                offer.agent_id,
                offer.kind,
                offer.from_agent_id,
                offer.can_reject
            ),
            (OTHER, OfferKind::Transfer, Some(OWNER), false)
        );
    }

    #[test]
    fn transfer_refusals() {
        let t = |r: &InteractionRecord, by, target| {
            code(r.transfer(by, target, DEADLINE, &terms(), NOW))
        };
        assert_eq!(t(&in_conference(), GUEST, Target::Queue(11)), "not_owner");
        assert_eq!(t(&active(), OTHER, Target::Queue(11)), "not_participant");
        assert_eq!(t(&active(), OWNER, Target::Agent(OWNER)), "invalid_target");
        assert_eq!(
            t(&in_conference(), OWNER, Target::Queue(11)),
            "invalid_state"
        );
        let mut pending = active();
        pending.offer = Some(offer(GUEST, OfferKind::Conference, true));
        assert_eq!(t(&pending, OWNER, Target::Queue(11)), "invalid_state");
        assert_eq!(
            Target::from_ids(Some(1), Some(2))
                .unwrap_err()
                .code
                .as_str(),
            "bad_request"
        );
        assert_eq!(Target::from_ids(None, Some(2)), Ok(Target::Agent(2)));
    }

    // R18: conference.

    #[test]
    fn an_invitation_requests_a_conference() {
        let next = active()
            .invite_to_conference(OWNER, Target::Agent(GUEST))
            .unwrap();
        assert_eq!(next.conference_state, ConferenceState::Requested);
        let next = in_conference()
            .invite_to_conference(OWNER, Target::Queue(11))
            .unwrap();
        assert_eq!(next.conference_state, ConferenceState::Active);
    }

    #[test]
    fn at_most_five_agents_and_no_one_twice() {
        let mut r = in_conference();
        assert_eq!(
            code(r.invite_to_conference(OWNER, Target::Agent(GUEST))),
            "invalid_target"
        );
        assert_eq!(
            code(r.invite_to_conference(GUEST, Target::Agent(OTHER))),
            "not_owner"
        );
        for agent_id in 10..13 {
            r.participants
                .push(participant(agent_id, ParticipantRole::Conference));
        }
        assert_eq!(r.active_agents().len(), MAX_AGENTS);
        assert_eq!(
            code(r.invite_to_conference(OWNER, Target::Agent(OTHER))),
            "conversation_full"
        );
    }

    #[test]
    fn ending_the_conference_sends_the_guests_to_wrap_up() {
        let mut r = in_conference();
        r.offer = Some(offer(OTHER, OfferKind::Conference, true));
        let guests = r.end_conference(OWNER).unwrap();
        assert_eq!(guests, vec![GUEST]);
        let removed = r.remove_agents(&guests, true, DEADLINE, &terms(), NOW);
        assert_eq!(removed.cancelled.map(|o| o.agent_id), Some(OTHER));
        assert_eq!(removed.next.conference_state, ConferenceState::None);
        assert!(removed.next.participant(GUEST).unwrap().wrapping_up());
        assert!(removed.next.participant(OWNER).unwrap().active());
        assert_eq!(removed.next.state, InteractionState::Active);

        assert_eq!(code(r.end_conference(GUEST)), "not_owner");
        assert_eq!(code(active().end_conference(OWNER)), "invalid_state");
    }

    #[test]
    fn a_guest_leaves_and_the_chat_goes_on_between_owner_and_customer() {
        let r = in_conference();
        assert_eq!(r.check_leave_conference(GUEST), Ok(()));
        assert_eq!(
            code(r.check_leave_conference(OWNER)),
            "not_conference_participant"
        );
        let removed = r.remove_agents(&[GUEST], false, DEADLINE, &terms(), NOW);
        assert!(removed.cancelled.is_none());
        assert_eq!(removed.next.conference_state, ConferenceState::None);
        assert_eq!(removed.next.active_agents(), vec![OWNER]);
    }

    #[test]
    fn an_outbound_conversation_is_active_and_its_window_closed_yet_a_template_may_go() {
        let mut fresh = queued();
        fresh.last_customer_message_at = None;
        let o = fresh.start_outbound(3, "Alice", NOW);
        assert_eq!(o.kind, InteractionKind::Outbound);
        assert_eq!(o.state, InteractionState::Active);
        assert_eq!(o.owner, Some(3));
        assert_eq!(o.active_agents(), vec![3]);
        assert_eq!(o.accepted_at, Some(NOW));
        assert_eq!(
            o.check_send(3, "hello", 4096, NOW).unwrap_err().code,
            ErrorCode::WindowClosed
        );
        assert!(o.check_send_template(3).is_ok());
        assert_eq!(
            o.check_send_template(4).unwrap_err().code,
            ErrorCode::NotParticipant
        );
        let mut cut = o.clone();
        cut.interrupted = Some("queue deleted".into());
        assert_eq!(
            cut.check_send_template(3).unwrap_err().code,
            ErrorCode::Interrupted
        );
    }

    #[test]
    fn a_supervisor_barges_in_counts_toward_five_and_leaves_like_a_guest() {
        let mut active = queued();
        active.state = InteractionState::Active;
        active.owner = Some(1);
        active.participants = vec![participant(1, ParticipantRole::Owner)];
        let (next, notes) = active.barge_in(9, "Sam", NOW).unwrap();
        assert_eq!(notes, ["Sam joined the chat"]);
        assert_eq!(
            next.participant(9).unwrap().role,
            ParticipantRole::Supervisor
        );
        assert_eq!(next.conference_state, ConferenceState::Active);
        assert!(next.check_send(9, "hello", 4096, NOW).is_ok());
        assert!(next.check_leave_conference(9).is_ok());
        assert_eq!(next.end_conference(1).unwrap(), vec![9]);
        // No wrap-up for a supervisor: leaving is leaving.
        let left = next
            .remove_agents(&[9], false, NOW + 60_000, &terms(), NOW)
            .next;
        assert_eq!(left.participant(9).unwrap().left_at, Some(NOW));
        assert_eq!(left.participant(9).unwrap().wrap_up_deadline, None);
        assert_eq!(left.conference_state, ConferenceState::None);
        let ended = next.end(1, NOW + 60_000, &terms(), NOW).unwrap().next;
        assert_eq!(ended.participant(9).unwrap().left_at, Some(NOW));
        assert!(ended.participant(1).unwrap().wrapping_up());
        assert_eq!(
            next.barge_in(9, "Sam", NOW).unwrap_err().code,
            ErrorCode::InvalidState
        );
        let mut full = active.clone();
        for id in 2..=5 {
            full.participants
                .push(participant(id, ParticipantRole::Conference));
        }
        assert_eq!(
            full.barge_in(9, "Sam", NOW).unwrap_err().code,
            ErrorCode::ConversationFull
        );
        assert_eq!(
            queued().barge_in(9, "Sam", NOW).unwrap_err().code,
            ErrorCode::InvalidState
        );
    }

    #[test]
    fn notes_are_for_those_in_it_or_watching_it() {
        let mut active = queued();
        active.state = InteractionState::Active;
        active.participants = vec![participant(1, ParticipantRole::Owner)];
        assert!(active
            .check_note(1, false, "check the refund", 4096,)
            .is_ok());
        assert!(active.check_note(9, true, "offer 10%", 4096).is_ok());
        assert_eq!(
            active.check_note(9, false, "x", 4096).unwrap_err().code,
            ErrorCode::NotParticipant
        );
        assert_eq!(
            active.check_note(1, false, "  ", 4096).unwrap_err().code,
            ErrorCode::EmptyMessage
        );
        let mut closed = active.clone();
        closed.state = InteractionState::Closed;
        assert_eq!(
            closed.check_note(1, true, "late", 4096).unwrap_err().code,
            ErrorCode::InvalidState
        );
    }
}
