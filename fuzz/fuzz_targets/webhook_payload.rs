//! A WhatsApp webhook delivery body, as `POST /webhooks/whatsapp` reads it: parsed, split into
//! per-channel events, and the customer data in them handled as the actors do (the sender's
//! WhatsApp id read as a phone number, texts and names masked, a media file's declared sha256
//! read as hex or base64 and its name cleaned, R22).
#![no_main]

use libfuzzer_sys::fuzz_target;
use switchboard::domain::{masking, media, phone};
use switchboard::whatsapp::payload;

fuzz_target!(|body: &[u8]| {
    let Ok(envelope) = payload::parse(body) else {
        return;
    };
    let now_ms = 1_700_000_000_000;
    let groups = payload::events(&envelope, now_ms);
    for (i, group) in groups.iter().enumerate() {
        // One group per business number, in order of first appearance.
        assert!(!group.phone_number_id.is_empty());
        assert!(groups[..i]
            .iter()
            .all(|g| g.phone_number_id != group.phone_number_id));
        for m in &group.messages {
            assert!(!m.wamid.trim().is_empty(), "{m:?}");
            // A sender may be known by number, by business-scoped user id, both or neither
            // (R21): whatever is there is non-empty, and the message is kept either way.
            assert!(m.customer.phone.as_ref().is_none_or(|p| !p.is_empty()), "{m:?}");
            assert!(m.customer.user_id.as_ref().is_none_or(|u| !u.is_empty()), "{m:?}");
            if let Some(p) = &m.customer.phone {
                let _ = phone::from_wa_id(p);
            }
            let _ = m.customer.label();
            let _ = m.customer.recipient();
            let _ = masking::mask_text(&m.text);
            if let Some(file) = &m.media {
                assert!(!file.id.trim().is_empty(), "{m:?}");
                assert!(media::is_media_kind(m.kind), "{m:?}");
                if let Some(sha) = &file.sha256 {
                    let _ = media::decode_sha256(sha);
                }
                if let Some(name) = file.filename.as_deref().and_then(media::clean_filename) {
                    assert!(!name.contains('/') && !name.contains('\\'), "{name:?}");
                    let _ = masking::mask_text(&name);
                }
                if let Some(caption) = &file.caption {
                    let _ = masking::mask_text(caption);
                }
            }
            if let Some(name) = &m.profile_name {
                assert!(!name.trim().is_empty());
                let _ = masking::mask_name(name);
            }
        }
        // Reactions, edits and deletions name the message they change (R24).
        for u in &group.updates {
            assert!(!u.target.trim().is_empty(), "{u:?}");
        }
        for c in &group.identity_changes {
            let _ = c.after.keys();
        }
        for s in &group.statuses {
            assert!(!s.wamid.trim().is_empty(), "{s:?}");
            if let Some(error) = &s.error {
                let _ = masking::mask_text(error);
            }
        }
    }
});
