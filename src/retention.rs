//! Retention: closed conversations (with their transcripts and media files) and call logs
//! older than `retention.days` are deleted in the background, a small batch per transaction so
//! the writer is never held for long. Open conversations are never touched.

use crate::configuration::RetentionSettings;
use crate::domain::time::now_ms;
use crate::media_files::MediaFiles;
use crate::store::{retention, Store, StoreResult};
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
pub fn start(store: Store, settings: RetentionSettings, files: MediaFiles) {
    if settings.days == 0 {
        return;
    }
    actix_web::rt::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(settings.interval_secs));
        loop {
            tick.tick().await;
            let cutoff = now_ms() - i64::from(settings.days) * DAY_MS;
            match sweep(&store, cutoff, settings.batch, &files).await {
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

/// Deletes everything older than `cutoff` (ms since the epoch), `batch` rows at a time; the
/// media files of a deleted conversation go once its deletion is committed.
pub async fn sweep(
    store: &Store,
    cutoff: i64,
    batch: u32,
    files: &MediaFiles,
) -> StoreResult<Swept> {
    let mut total = Swept::default();
    loop {
        let n = store
            .write(move |db| retention::delete_activities(db, cutoff, batch))
            .await?;
        total.activities += n;
        crate::metrics::retention_deleted("activities", n);
        if n < u64::from(batch) {
            break;
        }
        tokio::time::sleep(BATCH_PAUSE).await;
    }
    loop {
        let (n, gone) = store
            .write(move |db| retention::delete_interactions(db, cutoff, batch))
            .await?;
        for file in gone {
            if let Err(e) = files.remove(&file).await {
                tracing::warn!(%file, error = %e, "retention: a media file could not be deleted");
            }
        }
        total.interactions += n;
        crate::metrics::retention_deleted("interactions", n);
        if n < u64::from(batch) {
            break;
        }
        tokio::time::sleep(BATCH_PAUSE).await;
    }
    Ok(total)
}
