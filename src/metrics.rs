//! Process-wide counters and histograms for `/metrics` (Prometheus text format).
//!
//! Events are counted where they happen, with one call each: `metrics::offer_outcome("accepted")`,
//! `metrics::socket_connected()`, ... Values that are state rather than events (queue depth,
//! agents by status, messages by status) are read from the database at scrape time by
//! `http::metrics`, so they are right after a restart too.

use prometheus::{
    Encoder, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use std::sync::LazyLock;
use std::time::Duration;

/// Outcomes of an offer (`accepted`, or a `RevokeReason`), each present (at 0) from the start
/// so dashboards see every series.
pub const OFFER_OUTCOMES: [&str; 7] = [
    "accepted",
    "rejected",
    "timeout",
    "taken",
    "customer_left",
    "resource_deleted",
    "disconnected",
];
/// How an attempt to send an outbound message ended.
pub const OUTBOX_OUTCOMES: [&str; 4] = ["sent", "retry", "failed", "dropped"];
/// WebSocket kinds: the agent desktop and the supervisor's live board.
pub const SOCKET_KINDS: [&str; 2] = ["agent", "supervisor"];
pub const ACTOR_KINDS: [&str; 3] = ["agent", "queue", "interaction"];

struct Metrics {
    registry: Registry,
    webhook_deliveries: IntCounterVec,
    webhook_seconds: Histogram,
    outbox_attempts: IntCounterVec,
    offers: IntCounterVec,
    sockets: IntGaugeVec,
    actors: IntGaugeVec,
    commit_seconds: Histogram,
    commit_batch: Histogram,
    commit_failures: IntCounter,
    retention_deleted: IntCounterVec,
}

fn build() -> prometheus::Result<Metrics> {
    let registry = Registry::new_custom(Some("switchboard".into()), None)?;
    let webhook_deliveries = IntCounterVec::new(
        Opts::new(
            "webhook_deliveries_total",
            "WhatsApp webhook deliveries, by HTTP status answered.",
        ),
        &["status"],
    )?;
    let webhook_seconds = Histogram::with_opts(
        HistogramOpts::new(
            "webhook_duration_seconds",
            "Time to answer a webhook delivery (verification, commit of its messages).",
        )
        .buckets(vec![
            0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ]),
    )?;
    let outbox_attempts = IntCounterVec::new(
        Opts::new(
            "outbox_attempts_total",
            "Attempts to send an outbound message, by outcome (retry: will be tried again).",
        ),
        &["outcome"],
    )?;
    let offers = IntCounterVec::new(
        Opts::new(
            "offers_total",
            "Offers to agents, by outcome (revoked: taken back for another reason).",
        ),
        &["outcome"],
    )?;
    let sockets = IntGaugeVec::new(
        Opts::new(
            "websockets_connected",
            "Open WebSocket connections, by kind.",
        ),
        &["kind"],
    )?;
    let actors = IntGaugeVec::new(
        Opts::new(
            "actors_alive",
            "Actors in memory, by kind (interaction: one per open conversation).",
        ),
        &["kind"],
    )?;
    let commit_seconds = Histogram::with_opts(
        HistogramOpts::new(
            "sqlite_commit_duration_seconds",
            "Time to run and commit one group-commit batch.",
        )
        .buckets(vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
        ]),
    )?;
    let commit_batch = Histogram::with_opts(
        HistogramOpts::new(
            "sqlite_commit_batch_size",
            "Changes committed together in one transaction.",
        )
        .buckets(vec![
            1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0,
        ]),
    )?;
    let commit_failures = IntCounter::new(
        "sqlite_commit_failures_total",
        "Batches whose commit failed (their callers got an error).",
    )?;
    let retention_deleted = IntCounterVec::new(
        Opts::new(
            "retention_deleted_total",
            "Rows deleted by the retention sweep, by kind.",
        ),
        &["kind"],
    )?;
    registry.register(Box::new(webhook_deliveries.clone()))?;
    registry.register(Box::new(webhook_seconds.clone()))?;
    registry.register(Box::new(outbox_attempts.clone()))?;
    registry.register(Box::new(offers.clone()))?;
    registry.register(Box::new(sockets.clone()))?;
    registry.register(Box::new(actors.clone()))?;
    registry.register(Box::new(commit_seconds.clone()))?;
    registry.register(Box::new(commit_batch.clone()))?;
    registry.register(Box::new(commit_failures.clone()))?;
    registry.register(Box::new(retention_deleted.clone()))?;
    // process_resident_memory_bytes, process_open_fds, process_cpu_seconds_total, ...
    #[cfg(target_os = "linux")]
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    for o in OFFER_OUTCOMES {
        offers.with_label_values(&[o]);
    }
    for o in OUTBOX_OUTCOMES {
        outbox_attempts.with_label_values(&[o]);
    }
    for k in SOCKET_KINDS {
        sockets.with_label_values(&[k]);
    }
    for k in ACTOR_KINDS {
        actors.with_label_values(&[k]);
    }
    webhook_deliveries.with_label_values(&["200"]);
    for k in ["interactions", "activities"] {
        retention_deleted.with_label_values(&[k]);
    }
    Ok(Metrics {
        registry,
        webhook_deliveries,
        webhook_seconds,
        outbox_attempts,
        offers,
        sockets,
        actors,
        commit_seconds,
        commit_batch,
        commit_failures,
        retention_deleted,
    })
}

static METRICS: LazyLock<Metrics> =
    LazyLock::new(|| build().expect("metric names and labels are valid"));

/// A webhook delivery was answered with `status` after `took`.
pub fn webhook_delivery(status: u16, took: Duration) {
    let m = &*METRICS;
    m.webhook_deliveries
        .with_label_values(&[status.to_string().as_str()])
        .inc();
    m.webhook_seconds.observe(took.as_secs_f64());
}

/// An attempt to send an outbound message ended: one of [`OUTBOX_OUTCOMES`].
pub fn outbox_attempt(outcome: &str) {
    METRICS.outbox_attempts.with_label_values(&[outcome]).inc();
}

/// An offer ended: one of [`OFFER_OUTCOMES`] (`accepted`, `rejected`, `timeout`, ...).
pub fn offer_outcome(outcome: &str) {
    let outcome = if OFFER_OUTCOMES.contains(&outcome) {
        outcome
    } else {
        "other"
    };
    METRICS.offers.with_label_values(&[outcome]).inc();
}

/// An agent desktop WebSocket opened.
/// Counts an actor of `kind` in `actors_alive` while it exists (a field of the actor: it is
/// dropped with the actor's state, so a leaked actor stays counted).
#[derive(Debug)]
pub struct Alive(&'static str);

impl Alive {
    pub fn new(kind: &'static str) -> Alive {
        METRICS.actors.with_label_values(&[kind]).inc();
        Alive(kind)
    }
}

impl Drop for Alive {
    fn drop(&mut self) {
        METRICS.actors.with_label_values(&[self.0]).dec();
    }
}

pub fn socket_connected() {
    METRICS.sockets.with_label_values(&["agent"]).inc();
}

/// An agent desktop WebSocket closed.
pub fn socket_disconnected() {
    METRICS.sockets.with_label_values(&["agent"]).dec();
}

/// A supervisor live-board WebSocket opened (`true`) or closed (`false`).
pub fn supervisor_socket(open: bool) {
    let g = METRICS.sockets.with_label_values(&["supervisor"]);
    if open {
        g.inc()
    } else {
        g.dec()
    }
}

/// The SQLite writer committed (or failed to commit) a batch of `size` changes.
pub fn sqlite_commit(took: Duration, size: usize, ok: bool) {
    let m = &*METRICS;
    m.commit_seconds.observe(took.as_secs_f64());
    m.commit_batch.observe(size as f64);
    if !ok {
        m.commit_failures.inc();
    }
}

/// The retention sweep deleted `n` rows of `kind` (`interactions` or `activities`).
pub fn retention_deleted(kind: &str, n: u64) {
    METRICS
        .retention_deleted
        .with_label_values(&[kind])
        .inc_by(n);
}

/// Everything counted in this process, in the Prometheus text format.
pub fn render() -> String {
    let mut buf = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&METRICS.registry.gather(), &mut buf) {
        tracing::error!(error = %e, "encoding metrics");
    }
    String::from_utf8(buf).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_rendered_with_its_fixed_labels() {
        offer_outcome("accepted");
        sqlite_commit(Duration::from_millis(2), 3, true);
        webhook_delivery(200, Duration::from_millis(5));
        let text = render();
        for needle in [
            "switchboard_offers_total{outcome=\"accepted\"}",
            "switchboard_offers_total{outcome=\"timeout\"}",
            "switchboard_outbox_attempts_total{outcome=\"retry\"}",
            "switchboard_websockets_connected{kind=\"agent\"}",
            "switchboard_sqlite_commit_duration_seconds_bucket",
            "switchboard_sqlite_commit_batch_size_sum",
            "switchboard_webhook_deliveries_total{status=\"200\"}",
            "switchboard_webhook_duration_seconds_count",
        ] {
            assert!(text.contains(needle), "{needle} missing from:\n{text}");
        }
    }
}
