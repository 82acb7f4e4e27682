//! Retention: closed conversations (with their transcripts) and call logs older than
//! `retention.days` are deleted in the background, a small batch per transaction so the
//! writer is never held for long. Open conversations are never touched.

use crate::configuration::RetentionSettings;
use crate::domain::time::now_ms;
use crate::store::{Store, StoreResult};
use rusqlite::{params, Connection};
use std::time::Duration;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Pause between two batches of one sweep, so live traffic goes first.
const BATCH_PAUSE: Duration = Duration::from_millis(50);

/// What one sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Swept {
    pub activities: u64,
    pub interactions: u64,
}

/// Starts the periodic sweep (nothing when `days` is 0). Needs a running actix/tokio runtime.
pub fn start(store: Store, settings: RetentionSettings) {
    if settings.days == 0 {
        return;
    }
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(settings.interval_secs));
        loop {
            tick.tick().await;
            let cutoff = now_ms() - i64::from(settings.days) * DAY_MS;
            match sweep(&store, cutoff, settings.batch).await {
                Ok(s) if s != Swept::default() => tracing::info!(
                    activities = s.activities,
                    interactions = s.interactions,
                    days = settings.days,
                    "retention: old conversations deleted"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "retention sweep failed"),
            }
        }
    });
}

/// Deletes everything older than `cutoff` (ms since the epoch), `batch` rows at a time.
pub async fn sweep(store: &Store, cutoff: i64, batch: u32) -> StoreResult<Swept> {
    let mut total = Swept::default();
    loop {
        let n = store
            .write_sql(move |c| delete_activities(c, cutoff, batch))
            .await?;
        total.activities += n;
        crate::metrics::retention_deleted("activities", n);
        if n < u64::from(batch) {
            break;
        }
        tokio::time::sleep(BATCH_PAUSE).await;
    }
    loop {
        let n = store
            .write_sql(move |c| delete_interactions(c, cutoff, batch))
            .await?;
        total.interactions += n;
        crate::metrics::retention_deleted("interactions", n);
        if n < u64::from(batch) {
            break;
        }
        tokio::time::sleep(BATCH_PAUSE).await;
    }
    Ok(total)
}

/// Call logs wrapped up before `cutoff`, with their agent links.
fn delete_activities(c: &Connection, cutoff: i64, batch: u32) -> rusqlite::Result<u64> {
    let ids = ids(
        c,
        "SELECT id FROM activities WHERE wrapped_up_at < ?1 ORDER BY id LIMIT ?2",
        cutoff,
        batch,
    )?;
    for id in &ids {
        c.execute("DELETE FROM activity_agents WHERE activity_id = ?1", [id])?;
        c.execute("DELETE FROM activities WHERE id = ?1", [id])?;
    }
    Ok(ids.len() as u64)
}

/// Conversations closed before `cutoff` whose call log is gone, with transcript and
/// participants.
fn delete_interactions(c: &Connection, cutoff: i64, batch: u32) -> rusqlite::Result<u64> {
    let ids = ids(
        c,
        "SELECT i.id FROM interactions i
         WHERE i.state = 'closed' AND COALESCE(i.closed_at, i.updated_at) < ?1
           AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.interaction_id = i.id)
         ORDER BY i.id LIMIT ?2",
        cutoff,
        batch,
    )?;
    for id in &ids {
        c.execute("DELETE FROM outbox WHERE interaction_id = ?1", [id])?;
        c.execute("DELETE FROM offer_log WHERE interaction_id = ?1", [id])?;
        c.execute("DELETE FROM messages WHERE interaction_id = ?1", [id])?;
        c.execute(
            "DELETE FROM interaction_participants WHERE interaction_id = ?1",
            [id],
        )?;
        c.execute("DELETE FROM interactions WHERE id = ?1", [id])?;
    }
    Ok(ids.len() as u64)
}

fn ids(c: &Connection, sql: &str, cutoff: i64, batch: u32) -> rusqlite::Result<Vec<i64>> {
    let mut stmt = c.prepare_cached(sql)?;
    let rows = stmt.query_map(params![cutoff, batch], |r| r.get(0))?;
    rows.collect()
}
