//! `GET /metrics`: Prometheus text format. Events counted in this process (webhooks, offers,
//! sends, commits) come from [`crate::metrics`]; state (queues, agents, messages, outbox) is
//! read from the database at scrape time, so it is right after a restart too.
//! Access is `metrics.access`: `open`, `token` (`Authorization: Bearer {metrics.token}`) or `off`.

use super::Data;
use crate::domain::time::now_ms;
use crate::domain::AgentStatus;
use crate::error::ApiError;
use crate::store::{self, metrics::QueueDepth};
use actix_web::{web, HttpRequest, HttpResponse};
use std::fmt::Write;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/metrics").route(web::get().to(metrics)));
}

/// One metric family: its help and type lines, then `(labels, value)` samples.
fn family<V: std::fmt::Display>(
    out: &mut String,
    name: &str,
    kind: &str,
    help: &str,
    samples: &[(String, V)],
) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
    for (labels, value) in samples {
        if labels.is_empty() {
            let _ = writeln!(out, "{name} {value}");
        } else {
            let _ = writeln!(out, "{name}{{{labels}}} {value}");
        }
    }
}

/// A label value with `\`, `"` and newlines escaped.
fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// `(value, count)` pairs as `key="value"` labels.
fn grouped(rows: &[(String, i64)], key: &str) -> Vec<(String, i64)> {
    rows.iter()
        .map(|(k, n)| (format!("{key}=\"{}\"", label(k)), *n))
        .collect()
}

/// Whether this request may read the metrics (`metrics.access`).
fn allowed(state: &Data, req: &HttpRequest) -> Result<(), ApiError> {
    let m = &state.settings.metrics;
    match m.access.as_str() {
        "open" => Ok(()),
        "token" => {
            let expected = m.token.as_deref().unwrap_or_default();
            let given = crate::auth::bearer_token(req).unwrap_or_default();
            let same = !expected.is_empty()
                && given.len() == expected.len()
                && given
                    .bytes()
                    .zip(expected.bytes())
                    .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                    == 0;
            if same {
                Ok(())
            } else {
                Err(ApiError::Unauthenticated)
            }
        }
        _ => Err(ApiError::NotFound("metrics")),
    }
}

#[utoipa::path(
    get, path = "/metrics", tag = "health",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain"),
        (status = 401, description = "`metrics.access = \"token\"` and no or a wrong bearer token", body = super::openapi::ErrorResponse),
        (status = 404, description = "`metrics.access = \"off\"`", body = super::openapi::ErrorResponse),
    )
)]
pub async fn metrics(state: Data, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    allowed(&state, &req)?;
    let snap = state.store.read(store::metrics::snapshot).await?;
    let now = now_ms();

    let mut out = crate::metrics::render();
    family(
        &mut out,
        "switchboard_up",
        "gauge",
        "1 while the service answers.",
        &[(String::new(), 1)],
    );
    // With `database.wal_autocheckpoint = 0`, Litestream checkpoints: a WAL that keeps growing
    // says it no longer runs (docs/SCALING.md has the alert).
    let mut wal = state.settings.database.path.clone().into_os_string();
    wal.push("-wal");
    let wal_bytes = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    family(
        &mut out,
        "switchboard_sqlite_wal_bytes",
        "gauge",
        "Size of the write-ahead log file: it stays near its usual size while checkpoints run, and grows without end when they stop (wal_autocheckpoint = 0 and Litestream not running).",
        &[(String::new(), wal_bytes)],
    );
    family(
        &mut out,
        "switchboard_interactions",
        "gauge",
        "Interactions by state (closed ones included).",
        &grouped(&snap.interactions, "state"),
    );
    let queue_label =
        |q: &QueueDepth| format!("queue_id=\"{}\",queue=\"{}\"", q.id, label(&q.name));
    let waiting: Vec<(String, i64)> = snap
        .queues
        .iter()
        .map(|q| (queue_label(q), q.waiting))
        .collect();
    family(
        &mut out,
        "switchboard_queue_waiting",
        "gauge",
        "Interactions waiting in each queue.",
        &waiting,
    );
    let longest: Vec<(String, f64)> = snap
        .queues
        .iter()
        .map(|q| {
            let secs = q.oldest.map(|t| (now - t).max(0) as f64 / 1000.0);
            (queue_label(q), secs.unwrap_or(0.0))
        })
        .collect();
    family(
        &mut out,
        "switchboard_queue_longest_wait_seconds",
        "gauge",
        "How long the oldest waiting interaction of each queue has waited (0 when none waits).",
        &longest,
    );
    // Every status present, at 0 when no one has it.
    let agents: Vec<(String, i64)> = AgentStatus::ALL
        .iter()
        .map(|s| {
            let key = format!("status=\"{}\"", s.as_str());
            let n = snap
                .agents
                .iter()
                .filter(|(k, _)| k == s.as_str())
                .map(|(_, n)| n)
                .sum();
            (key, n)
        })
        .collect();
    family(
        &mut out,
        "switchboard_agents",
        "gauge",
        "Users by status.",
        &agents,
    );
    family(
        &mut out,
        "switchboard_messages",
        "gauge",
        "Messages stored, by direction (in, out, system) and status (outbound: queued, sent, delivered, read, failed).",
        &snap
            .messages
            .iter()
            .map(|(d, s, n)| {
                (
                    format!("direction=\"{}\",status=\"{}\"", label(d), label(s)),
                    *n,
                )
            })
            .collect::<Vec<_>>(),
    );
    family(
        &mut out,
        "switchboard_outbox_depth",
        "gauge",
        "Outbound messages waiting for the Cloud API.",
        &[(String::new(), snap.outbox_depth)],
    );
    family(
        &mut out,
        "switchboard_outbox_retrying",
        "gauge",
        "Outbound messages waiting after at least one failed attempt.",
        &[(String::new(), snap.outbox_retrying)],
    );
    let oldest = snap
        .outbox_oldest
        .map(|t| (now - t).max(0) as f64 / 1000.0)
        .unwrap_or(0.0);
    family(
        &mut out,
        "switchboard_outbox_oldest_seconds",
        "gauge",
        "Age of the oldest outbound message still waiting (0 when none).",
        &[(String::new(), oldest)],
    );
    // SQLite's own heap (page caches of the writer and the read pool, statements): bounded by
    // the caches' size, and the part of the resident memory that grows with the database.
    let sqlite_heap = store::metrics::sqlite_memory_used();
    family(
        &mut out,
        "switchboard_sqlite_memory_bytes",
        "gauge",
        "Memory SQLite holds (page caches, prepared statements).",
        &[(String::new(), sqlite_heap)],
    );
    family(
        &mut out,
        "switchboard_activities",
        "gauge",
        "Call logs stored.",
        &[(String::new(), snap.activities)],
    );
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(out))
}

#[cfg(test)]
mod tests {
    #[test]
    fn exposition_format() {
        let mut out = String::new();
        super::family(
            &mut out,
            "m",
            "gauge",
            "help",
            &[("a=\"x\"".into(), 2), (String::new(), 1)],
        );
        assert_eq!(out, "# HELP m help\n# TYPE m gauge\nm{a=\"x\"} 2\nm 1\n");
        assert_eq!(super::label("a\"b\\"), "a\\\"b\\\\");
    }
}
