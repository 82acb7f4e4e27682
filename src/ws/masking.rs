//! R13 on the agent's payloads: every server → agent event, and the interactions and call
//! logs the HTTP API shows agents, pass through here when masking is on. The `match` on
//! [`ServerEvent`] has no catch-all arm, so a new event type does not compile until someone
//! decides what in it is customer data.

use super::protocol::{Author, Customer, Interaction, Message, Offer, ServerEvent, StatusInfo};
use crate::domain::contact::is_whatsapp_user_id;
use crate::domain::masking::{mask_email, mask_name, mask_phone, mask_text};
use crate::domain::media::Media;
use crate::domain::AuthorKind;

/// Masks, in place, everything in `event` that can hold a customer's data.
pub fn mask_event(event: &mut ServerEvent) {
    match event {
        ServerEvent::Hello {
            agent: _,
            status,
            interactions,
            offers,
            server_time: _,
        } => {
            mask_status(status);
            interactions.iter_mut().for_each(mask_interaction);
            offers.iter_mut().for_each(mask_offer);
        }
        ServerEvent::Status(status) => mask_status(status),
        ServerEvent::Offer(offer) => mask_offer(offer),
        ServerEvent::Interaction(interaction) => mask_interaction(interaction),
        ServerEvent::Message {
            interaction_id: _,
            message,
        } => mask_message(message),
        ServerEvent::MessageChanged { message, .. } => mask_message(message),
        ServerEvent::Reaction { author, .. } => mask_author(author),
        ServerEvent::MessageStatus { error, .. } => mask_opt(error),
        ServerEvent::MessageMedia { media, .. } => mask_media(media),
        ServerEvent::Interrupted { reason, .. } => mask_in_place(reason),
        ServerEvent::ScreenPop {
            contact,
            matches,
            error,
            ..
        } => {
            contact.iter_mut().for_each(mask_contact);
            matches.iter_mut().for_each(mask_contact);
            mask_opt(error);
        }
        ServerEvent::Error { message, .. } => mask_in_place(message),
        // Queue and agent names, disposition codes, ids, times and levels: no customer data.
        ServerEvent::OfferRevoked { .. }
        | ServerEvent::WrapUpStarted { .. }
        | ServerEvent::WrapUpDone { .. }
        | ServerEvent::Alert { .. }
        | ServerEvent::TransferTargets { .. }
        | ServerEvent::Replaced
        | ServerEvent::Ack { .. }
        | ServerEvent::Pong => {}
    }
}

/// A CRM contact shown to an agent: its numbers, e-mail and notes.
pub fn mask_contact(contact: &mut crate::crm::Contact) {
    contact.phones.iter_mut().for_each(|p| *p = mask_phone(p));
    if let Some(email) = contact.email.as_mut() {
        *email = mask_email(email);
    }
    mask_opt(&mut contact.notes);
    mask_opt(&mut contact.company);
    if let Some(name) = contact.first_name.as_mut() {
        *name = mask_name(name);
    }
    if let Some(name) = contact.last_name.as_mut() {
        *name = mask_name(name);
    }
}

/// The customer's name and number, the business number, the transcript.
pub fn mask_interaction(interaction: &mut Interaction) {
    mask_customer(&mut interaction.customer);
    interaction.source_number = mask_phone(&interaction.source_number);
    mask_opt(&mut interaction.interrupted);
    interaction.messages.iter_mut().for_each(mask_message);
}

pub fn mask_offer(offer: &mut Offer) {
    mask_customer(&mut offer.customer);
    offer.source_number = mask_phone(&offer.source_number);
}

pub fn mask_customer(customer: &mut Customer) {
    customer.name = mask_name(&customer.name);
    // Usernames and BSUIDs are left as they are (R21): they are not phone numbers.
    if let Some(phone) = customer.phone.as_mut() {
        *phone = mask_phone(phone);
    }
}

/// The text, the error, the media's caption and name, and a customer author's name and
/// WhatsApp id (their number).
pub fn mask_message(message: &mut Message) {
    mask_in_place(&mut message.text);
    mask_opt(&mut message.error);
    mask_author(&mut message.author);
    if let Some(quoted) = message.reply_to.as_mut() {
        mask_in_place(&mut quoted.text);
    }
    for reaction in &mut message.reactions {
        mask_author(&mut reaction.author);
    }
    if let Some(media) = message.media.as_mut() {
        mask_media(media);
    }
}

/// A media file's caption, file name and error: free text like a message's (R13, R22).
pub fn mask_media(media: &mut Media) {
    mask_opt(&mut media.caption);
    mask_opt(&mut media.filename);
    mask_opt(&mut media.error);
}

fn mask_author(author: &mut Author) {
    match author.kind {
        AuthorKind::Customer => {
            author.name = mask_name(&author.name);
            if let Some(id) = author.id.as_mut().filter(|id| !is_whatsapp_user_id(id)) {
                *id = mask_phone(id);
            }
        }
        AuthorKind::Agent | AuthorKind::System => {}
    }
}

fn mask_status(status: &mut StatusInfo) {
    mask_opt(&mut status.reason);
}

/// A transcript saved as JSON (call logs): the same rules as [`mask_message`], on the JSON.
pub fn mask_transcript_json(transcript: &mut serde_json::Value) {
    let Some(messages) = transcript.as_array_mut() else {
        return;
    };
    for m in messages {
        for key in ["text", "error"] {
            if let Some(serde_json::Value::String(s)) = m.get_mut(key) {
                mask_in_place(s);
            }
        }
        if let Some(media) = m.get_mut("media") {
            for key in ["caption", "filename", "error"] {
                if let Some(serde_json::Value::String(s)) = media.get_mut(key) {
                    mask_in_place(s);
                }
            }
        }
        if let Some(serde_json::Value::String(s)) =
            m.get_mut("reply_to").and_then(|q| q.get_mut("text"))
        {
            mask_in_place(s);
        }
        if let Some(reactions) = m.get_mut("reactions").and_then(|r| r.as_array_mut()) {
            for r in reactions {
                if let Some(author) = r.get_mut("author") {
                    mask_author_json(author);
                }
            }
        }
        if let Some(author) = m.get_mut("author") {
            mask_author_json(author);
        }
    }
}

/// [`mask_author`] on an author saved as JSON.
fn mask_author_json(author: &mut serde_json::Value) {
    if author.get("kind").and_then(|k| k.as_str()) != Some(AuthorKind::Customer.as_str()) {
        return;
    }
    if let Some(serde_json::Value::String(name)) = author.get_mut("name") {
        *name = mask_name(name);
    }
    if let Some(serde_json::Value::String(id)) = author.get_mut("id") {
        if !is_whatsapp_user_id(id) {
            *id = mask_phone(id);
        }
    }
}

fn mask_in_place(text: &mut String) {
    if let std::borrow::Cow::Owned(masked) = mask_text(text) {
        *text = masked;
    }
}

fn mask_opt(text: &mut Option<String>) {
    if let Some(t) = text.as_mut() {
        mask_in_place(t);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        AgentStatus, AlertLevel, ConferenceState, Direction, DispositionCode, InteractionState,
        MessageKind, MessageStatus, OfferKind, ParticipantRole, RevokeReason, Role,
    };
    use crate::ws::protocol::{
        ActivitySummary, AgentInfo, AgentRef, AgentTarget, Participant, QueueRef, QueueTarget,
    };

    const CARD: &str = "4111 1111 1111 1111";
    const PHONE: &str = "+447966197542";
    const EMAIL: &str = "melissa@gmail.com";
    const IBAN: &str = "GB82 WEST 1234 5698 7654 32";
    const SSN: &str = "123-45-6789";

    /// Every sensitive value, in one piece of free text.
    fn everything() -> String {
        format!("card {CARD}, phone {PHONE}, mail {EMAIL}, iban {IBAN}, ssn {SSN}")
    }

    /// What must not appear anywhere in a masked payload.
    const LEAKS: &[&str] = &[
        CARD,
        "4111111111111111",
        PHONE,
        "447966197542",
        "7966197542",
        "7966 197542",
        EMAIL,
        "melissa",
        IBAN,
        "GB82",
        "1234 5698",
        SSN,
        "123-45",
        "555 2671",
    ];

    fn customer() -> Customer {
        Customer {
            name: PHONE.into(),
            phone: Some(PHONE.into()),
            username: None,
            user_id: None,
        }
    }

    fn message(kind: AuthorKind) -> Message {
        Message {
            id: 1,
            direction: Direction::In,
            author: match kind {
                AuthorKind::Customer => Author {
                    kind,
                    id: Some("447966197542".into()),
                    name: EMAIL.into(),
                },
                AuthorKind::Agent | AuthorKind::System => Author {
                    kind,
                    id: Some("2".into()),
                    name: "Ann".into(),
                },
            },
            text: everything(),
            kind: MessageKind::Document,
            media_id: None,
            sent_at: 0,
            status: Some(MessageStatus::Failed),
            error: Some(everything()),
            reply_to: Some(Box::new(crate::domain::message::ReplyTo {
                message_id: Some(1),
                text: everything(),
            })),
            template: None,
            reactions: vec![crate::domain::message::Reaction {
                emoji: "👍".into(),
                author: Author {
                    kind: AuthorKind::Customer,
                    id: Some("447966197542".into()),
                    name: EMAIL.into(),
                },
            }],
            edited: false,
            deleted: false,
            original_text: None,
            media: Some(Box::new(media())),
        }
    }

    fn media() -> Media {
        Media {
            id: 1,
            mime_type: Some("application/pdf".into()),
            size: Some(10),
            filename: Some(format!("{EMAIL} {PHONE}.pdf")),
            caption: Some(everything()),
            sha256: None,
            state: crate::domain::MediaState::Failed,
            url: None,
            error: Some(everything()),
        }
    }

    fn offer() -> Offer {
        Offer {
            interaction_id: 1,
            kind: OfferKind::Transfer,
            customer: customer(),
            source_number: PHONE.into(),
            queue: QueueRef {
                id: 1,
                name: "Support".into(),
            },
            received_at: 0,
            expires_at: 0,
            can_reject: true,
            contact_matches: 0,
            from_agent: Some(AgentRef {
                id: 2,
                display_name: "Ann".into(),
            }),
            priority: 0,
        }
    }

    fn interaction() -> Interaction {
        Interaction {
            id: 1,
            state: InteractionState::Active,
            kind: crate::domain::InteractionKind::Inbound,
            channel_id: 1,
            customer: Customer {
                name: format!("Melissa {EMAIL}"),
                phone: Some(PHONE.into()),
                username: Some("mk_1987".into()),
                user_id: Some("US.13491208655302741918".into()),
            },
            source_number: "+1 555 0100 7890".into(),
            queue: QueueRef {
                id: 1,
                name: "Support".into(),
            },
            owner_agent_id: Some(2),
            participants: vec![Participant {
                agent_id: 2,
                display_name: "Ann".into(),
                role: ParticipantRole::Owner,
                joined_at: 0,
                wrap_up_deadline: None,
                disposition_codes: None,
                disposition_required: None,
            }],
            conference_state: ConferenceState::None,
            created_at: 0,
            accepted_at: None,
            ended_at: None,
            contact_id: None,
            last_customer_message_at: None,
            window_expires_at: None,
            alert: AlertLevel::None,
            interrupted: Some(everything()),
            priority: 0,
            messages: vec![message(AuthorKind::Customer), message(AuthorKind::Agent)],
        }
    }

    fn status() -> StatusInfo {
        StatusInfo {
            status: AgentStatus::Available,
            since: 0,
            stop_new: false,
            reason: Some(everything()),
            load: 0,
            max_concurrent: 3,
        }
    }

    /// One of each server → agent event, filled with sensitive values wherever text goes.
    /// Adding a variant to `ServerEvent` breaks `mask_event`'s match: add it here too.
    fn every_event() -> Vec<ServerEvent> {
        vec![
            ServerEvent::Hello {
                agent: AgentInfo {
                    id: 2,
                    display_name: "Ann".into(),
                    role: Role::Agent,
                    can_reject: true,
                    max_concurrent: 3,
                    auto_multi_match_pop: true,
                },
                status: status(),
                interactions: vec![interaction()],
                offers: vec![offer()],
                server_time: 0,
            },
            ServerEvent::Status(status()),
            ServerEvent::Offer(offer()),
            ServerEvent::OfferRevoked {
                interaction_id: 1,
                reason: RevokeReason::Taken,
            },
            ServerEvent::Interaction(Box::new(interaction())),
            ServerEvent::Message {
                interaction_id: 1,
                message: message(AuthorKind::Customer),
            },
            ServerEvent::MessageStatus {
                interaction_id: 1,
                message_id: 1,
                status: MessageStatus::Failed,
                error: Some(everything()),
            },
            ServerEvent::MessageChanged {
                interaction_id: 1,
                message: message(AuthorKind::Customer),
            },
            ServerEvent::Reaction {
                interaction_id: 1,
                message_id: 1,
                emoji: "👍".into(),
                author: message(AuthorKind::Customer).author,
            },
            ServerEvent::MessageMedia {
                interaction_id: 1,
                message_id: 1,
                media: media(),
            },
            ServerEvent::WrapUpStarted {
                interaction_id: 1,
                deadline: 0,
                disposition_codes: vec![DispositionCode {
                    code: "resolved".into(),
                    label: "Resolved".into(),
                }],
                disposition_required: false,
            },
            ServerEvent::WrapUpDone {
                interaction_id: 1,
                disposition: Some("resolved".into()),
                auto: false,
            },
            ServerEvent::Interrupted {
                interaction_id: 1,
                reason: everything(),
            },
            ServerEvent::ScreenPop {
                interaction_id: 1,
                action: crate::crm::PopAction::Select,
                contact: Some(contact()),
                matches: vec![contact(), contact()],
                error: Some(everything()),
                activities: vec![ActivitySummary {
                    id: 1,
                    interaction_id: 1,
                    queue_name: "Support".into(),
                    agents: vec!["Ann".into()],
                    initiated_at: 0,
                    wrapped_up_at: 0,
                    disposition: Some("resolved".into()),
                    csat: None,
                }],
            },
            ServerEvent::Alert {
                interaction_id: 1,
                level: AlertLevel::Warn,
            },
            ServerEvent::TransferTargets {
                reference: None,
                queues: vec![QueueTarget {
                    id: 1,
                    name: "Support".into(),
                    waiting: 0,
                }],
                agents: vec![AgentTarget {
                    id: 3,
                    display_name: "Bob".into(),
                    load: 0,
                    max_concurrent: 3,
                }],
            },
            ServerEvent::Replaced,
            ServerEvent::Ack { reference: None },
            ServerEvent::Error {
                reference: None,
                code: "bad_request".into(),
                message: everything(),
            },
            ServerEvent::Pong,
        ]
    }

    fn contact() -> crate::crm::Contact {
        crate::crm::Contact {
            id: crate::crm::ContactId::Local(1),
            first_name: Some(PHONE.into()),
            last_name: Some(format!("Jones {EMAIL}")),
            phones: vec![PHONE.into(), "+1 415 555 2671".into()],
            whatsapp_user_ids: vec![],
            email: Some(EMAIL.into()),
            company: Some(format!("Acme, iban {IBAN}")),
            notes: Some(everything()),
            priority: None,
            updated_at: 0,
        }
    }

    /// Does not compile when `ServerEvent` gains a variant: add the new one to
    /// `every_event` (and decide in `mask_event` what in it is customer data).
    #[allow(dead_code)]
    fn every_variant_is_in_the_fixture(event: &ServerEvent) {
        match event {
            ServerEvent::Hello { .. }
            | ServerEvent::Status(_)
            | ServerEvent::Offer(_)
            | ServerEvent::OfferRevoked { .. }
            | ServerEvent::Interaction(_)
            | ServerEvent::Message { .. }
            | ServerEvent::MessageStatus { .. }
            | ServerEvent::Reaction { .. }
            | ServerEvent::MessageChanged { .. }
            | ServerEvent::MessageMedia { .. }
            | ServerEvent::WrapUpStarted { .. }
            | ServerEvent::WrapUpDone { .. }
            | ServerEvent::Interrupted { .. }
            | ServerEvent::ScreenPop { .. }
            | ServerEvent::Alert { .. }
            | ServerEvent::TransferTargets { .. }
            | ServerEvent::Replaced
            | ServerEvent::Ack { .. }
            | ServerEvent::Error { .. }
            | ServerEvent::Pong => {}
        }
    }

    #[test]
    fn no_event_leaks_an_unmasked_value() {
        let events = every_event();
        // The fixture really covers every type the server sends.
        let types: std::collections::BTreeSet<String> = events
            .iter()
            .map(|e| {
                serde_json::to_value(e).unwrap()["type"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(types.len(), events.len(), "one event per type");
        assert_eq!(
            types.len(),
            20,
            "every type (see every_variant_is_in_the_fixture)"
        );
        for mut event in events {
            let before = serde_json::to_string(&event).unwrap();
            mask_event(&mut event);
            let after = serde_json::to_string(&event).unwrap();
            for leak in LEAKS {
                assert!(!after.contains(leak), "{leak:?} leaked in {after}");
            }
            // The last four digits are still there to tell values apart.
            if before.contains(PHONE) {
                assert!(after.contains("*********7542"), "{after}");
            }
        }
    }

    #[test]
    fn agent_and_queue_names_stay() {
        let mut event = ServerEvent::Interaction(Box::new(interaction()));
        mask_event(&mut event);
        let ServerEvent::Interaction(i) = event else {
            unreachable!()
        };
        assert_eq!(i.customer.name, "Melissa m******@gmail.com");
        assert_eq!(i.customer.phone.as_deref(), Some("*********7542"));
        // Usernames and BSUIDs are not phone numbers: left as they are (R21).
        assert_eq!(i.customer.username.as_deref(), Some("mk_1987"));
        assert_eq!(
            i.customer.user_id.as_deref(),
            Some("US.13491208655302741918")
        );
        assert_eq!(i.source_number, "*********7890");
        assert_eq!(i.queue.name, "Support");
        assert_eq!(i.participants[0].display_name, "Ann");
        // An agent's own name is not customer data; a customer's is.
        assert_eq!(i.messages[1].author.name, "Ann");
        assert_eq!(i.messages[0].author.name, "m******@gmail.com");
        assert_eq!(i.messages[0].author.id.as_deref(), Some("********7542"));
    }

    #[test]
    fn transcripts_saved_as_json_are_masked_too() {
        let mut transcript = serde_json::to_value(vec![
            message(AuthorKind::Customer),
            message(AuthorKind::Agent),
        ])
        .unwrap();
        mask_transcript_json(&mut transcript);
        let text = transcript.to_string();
        for leak in LEAKS {
            assert!(!text.contains(leak), "{leak:?} leaked in {text}");
        }
        assert_eq!(transcript[0]["author"]["name"], "m******@gmail.com");
        assert_eq!(transcript[0]["author"]["id"], "********7542");
        assert_eq!(transcript[1]["author"]["name"], "Ann");
    }
}
