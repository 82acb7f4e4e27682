//! The HTTP API (SPEC.md section 4): one module per resource, each with its `configure`.

pub mod static_files;

pub fn configure(_cfg: &mut actix_web::web::ServiceConfig) {}
