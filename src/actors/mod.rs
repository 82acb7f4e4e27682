//! The actors: one per agent, queue and open interaction, and the registry that finds them.

pub mod agent;
pub mod board;
pub mod interaction;
pub mod queue;
pub mod registry;
pub mod transfer_targets;
