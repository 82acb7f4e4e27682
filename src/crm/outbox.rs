//! Call logs on their way to an external CRM (`crm_outbox`). A row is written in the
//! transaction that saves the activity, and leaves when the CRM accepted it. Transient failures
//! (network, 5xx, 429, sign-in) are retried with doubling backoff, for as long as it takes; a
//! refusal (other 4xx) is kept with its error and `given_up_at`, for an operator to see.

use super::{ActivityRecord, Crm, CrmError};
use crate::domain::time::now_ms;
use crate::store::crm_outbox::{self as queued, Pending};
use crate::store::{Db, StoreResult};
use actix::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// How often due rows are looked for without a kick (retries come due this way).
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Rows taken per scan.
const BATCH: i64 = 20;

pub const KIND_ACTIVITY: &str = "activity";

/// What an `activity` row holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct QueuedActivity {
    /// The activity's GUID in the CRM, chosen once so a retry cannot save it twice.
    pub activity_id: String,
    pub record: ActivityRecord,
}

/// Queues a call log in the caller's transaction (the one that saves the activity, so neither
/// exists without the other).
pub fn enqueue(db: &Db, record: &ActivityRecord) -> StoreResult<()> {
    let queued = QueuedActivity {
        activity_id: super::dynamics::new_guid(),
        record: record.clone(),
    };
    queued::enqueue(db, KIND_ACTIVITY, &queued, now_ms())
}

/// New rows were committed: look for work now rather than at the next poll.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick;

/// The worker: pushes due rows one at a time, oldest due first, and looks again at once while
/// it finds work; otherwise at the next poll or [`Kick`]. Runs on the arbiter that started it
/// (the connector's futures are not `Send`).
pub struct CrmOutbox {
    crm: Weak<Crm>,
    running: bool,
    run_again: bool,
}

impl CrmOutbox {
    pub fn new(crm: &Arc<Crm>) -> Self {
        CrmOutbox {
            crm: Arc::downgrade(crm),
            running: false,
            run_again: false,
        }
    }

    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            self.run_again = true;
            return;
        }
        let Some(crm) = self.crm.upgrade() else {
            return ctx.stop(); // the application is gone
        };
        self.running = true;
        let run = async move { run_once(&crm).await };
        ctx.spawn(run.into_actor(self).map(|worked, act, ctx| {
            act.running = false;
            if std::mem::take(&mut act.run_again) || worked {
                act.pump(ctx);
            }
        }));
    }
}

impl Actor for CrmOutbox {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(POLL_EVERY, |act, ctx| act.pump(ctx));
        // Rows left from before a restart are due already.
        self.pump(ctx);
    }
}

impl Handler<Kick> for CrmOutbox {
    type Result = ();
    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        self.pump(ctx);
    }
}

/// Pushes the rows that are due; true when there were any.
pub async fn run_once(crm: &Crm) -> bool {
    let now = now_ms();
    let rows = match crm.store.read(move |db| queued::due(db, now, BATCH)).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::warn!(error = %e, "CRM outbox scan failed");
            return false;
        }
    };
    let worked = !rows.is_empty();
    for row in rows {
        let outcome = push(crm, &row).await;
        let (id, attempts) = (row.id, row.attempts + 1);
        let delay = retry_delay(crm.retry_base_ms, crm.retry_max_ms, attempts);
        let saved = crm
            .store
            .write(move |db| settle(db, id, attempts, outcome, delay))
            .await;
        if let Err(e) = saved {
            tracing::warn!(error = %e, outbox_id = id, "could not record a CRM push");
        }
    }
    worked
}

async fn push(crm: &Crm, row: &Pending) -> Result<(), CrmError> {
    if row.kind != KIND_ACTIVITY {
        return Err(CrmError::Rejected(format!(
            "unknown outbox kind `{}`",
            row.kind
        )));
    }
    let queued: QueuedActivity = serde_json::from_str(&row.payload)
        .map_err(|e| CrmError::Rejected(format!("unreadable outbox payload: {e}")))?;
    crm.push_activity(&queued.activity_id, &queued.record).await
}

fn settle(
    db: &Db,
    id: i64,
    attempts: i64,
    outcome: Result<(), CrmError>,
    delay_ms: i64,
) -> StoreResult<()> {
    let now = now_ms();
    match outcome {
        Ok(()) => queued::remove(db, id),
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, outbox_id = id, attempts, "CRM push failed, will retry");
            queued::retry_later(db, id, attempts, now + delay_ms, &e.to_string())
        }
        Err(e) => {
            tracing::error!(error = %e, outbox_id = id, "the CRM refused a call log; giving up");
            queued::give_up(db, id, attempts, &e.to_string(), now)
        }
    }
}

/// `base`, doubling with each attempt, at most `max` (milliseconds).
fn retry_delay(base_ms: u64, max_ms: u64, attempts: i64) -> i64 {
    let shift = (attempts.max(1) - 1).min(30) as u32;
    base_ms
        .saturating_mul(1u64 << shift)
        .min(max_ms)
        .min(i64::MAX as u64) as i64
}

#[cfg(test)]
mod tests {
    #[test]
    fn backoff_doubles_up_to_the_maximum() {
        assert_eq!(super::retry_delay(250, 10_000, 1), 250);
        assert_eq!(super::retry_delay(250, 10_000, 2), 500);
        assert_eq!(super::retry_delay(250, 10_000, 3), 1000);
        assert_eq!(super::retry_delay(250, 10_000, 60), 10_000);
    }
}
