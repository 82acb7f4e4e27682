//! The actors: one per agent, queue and open interaction, and the registry that finds them.

pub mod registry;
