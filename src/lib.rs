//! Switchboard: a self-hosted contact center for WhatsApp conversations.
//!
//! The folders tell the architecture: `domain` (pure rules), `actors` (agent, queue,
//! interaction, registry), `store` (SQLite), `whatsapp` (webhook, signature, Cloud API
//! client), `http` and `ws` (the edges). Data flows edge → actor → store; events flow back
//! out to the agents' sessions.

pub mod actors;
pub mod admin;
pub mod auth;
pub mod cli;
pub mod configuration;
pub mod crm;
pub mod demo;
pub mod domain;
pub mod error;
pub mod http;
pub mod media_files;
pub mod metrics;
pub mod retention;
pub mod startup;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod whatsapp;
pub mod ws;
