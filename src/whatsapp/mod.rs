//! The WhatsApp Business Cloud API channel: webhook, signatures, outbound client.

pub mod webhook;
