//! The readiness probe's write.

use super::{Db, StoreResult};

/// Changes a page (a settings row only the probe uses), so the commit that follows really
/// reaches the WAL: a statement that changes nothing commits nothing and would pass on a dead disk.
pub fn probe_write(db: &Db, now: i64) -> StoreResult<()> {
    db.0.prepare_cached(
        "INSERT INTO settings (key, value) VALUES ('__readyz__', ?1)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )?
    .execute([now.to_string()])?;
    Ok(())
}
