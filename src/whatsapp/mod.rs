//! The WhatsApp Business Cloud API channel: webhook, signatures, outbound client.

pub mod media;
pub mod outbox;
pub mod payload;
pub mod signals;
pub mod signature;
pub mod templates;
pub mod webhook;
