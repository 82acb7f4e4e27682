//! Integration tests: the real `switchboard` binary driven over HTTP and WebSocket, as a client
//! would. One test binary (`cargo test --test api`); each test starts its own server process.

mod admin_api;
mod alerts;
mod auth;
mod authz;
mod bad_input;
mod canned;
mod client_faults;
mod conference;
mod contacts;
mod conversation;
mod csat;
mod disk_faults;
mod faults;
mod health_config;
mod helpers;
mod identity;
mod interruption;
mod masking;
mod media;
mod operations;
mod outbound;
mod recovery;
mod replies;
mod reports;
mod routing;
mod routing_depth;
mod screen_pop;
mod session;
mod simulator;
mod soak;
mod supervision;
mod templates;
mod transfer;
mod webhook;
mod wrap_up;
