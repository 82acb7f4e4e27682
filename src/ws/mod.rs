//! The agent WebSocket: protocol types and the session actor.

pub mod protocol;

pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
