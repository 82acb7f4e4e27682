//! Demo data for `cargo run --release` on an empty database.

use crate::configuration::Settings;
use crate::store::Store;

pub fn seed_if_empty(_store: &Store, _settings: &Settings) -> anyhow::Result<()> {
    Ok(())
}
