//! `GET /metrics`: Prometheus text format. Events counted in this process (webhooks, offers,
//! sends, commits) come from [`crate::metrics`]; state (queues, agents, messages, outbox) is
//! read from the database at scrape time, so it is right after a restart too.
//! Access is `metrics.access`: `open`, `token` (`Authorization: Bearer {metrics.token}`) or `off`.

use super::Data;
use crate::domain::time::now_ms;
use crate::domain::AgentStatus;
use crate::error::ApiError;
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

fn grouped(c: &rusqlite::Connection, sql: &str, key: &str) -> rusqlite::Result<Vec<(String, i64)>> {
    let mut stmt = c.prepare(sql)?;
    let rows = stmt.query_map([], |r| {
        let k: String = r.get(0)?;
        Ok((format!("{key}=\"{}\"", label(&k)), r.get(1)?))
    })?;
    rows.collect()
}

struct QueueRow {
    id: i64,
    name: String,
    waiting: i64,
    oldest: Option<i64>,
}

struct Snapshot {
    interactions: Vec<(String, i64)>,
    queues: Vec<QueueRow>,
    agents: Vec<(String, i64)>,
    messages: Vec<(String, i64)>,
    outbox_depth: i64,
    outbox_retrying: i64,
    outbox_oldest: Option<i64>,
    activities: i64,
}

fn snapshot(c: &rusqlite::Connection) -> rusqlite::Result<Snapshot> {
    let mut stmt = c.prepare(
        "SELECT q.id, q.name, COUNT(i.id), MIN(i.created_at) FROM queues q \
         LEFT JOIN interactions i ON i.queue_id = q.id AND i.state = 'queued' \
         WHERE q.deleted = 0 GROUP BY q.id ORDER BY q.id",
    )?;
    let queues = stmt
        .query_map([], |r| {
            Ok(QueueRow {
                id: r.get(0)?,
                name: r.get(1)?,
                waiting: r.get(2)?,
                oldest: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let (outbox_depth, outbox_retrying, outbox_oldest) = c.query_row(
        "SELECT COUNT(*), COUNT(CASE WHEN attempts > 0 THEN 1 END), MIN(m.created_at) \
         FROM outbox o LEFT JOIN messages m ON m.id = o.message_id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    Ok(Snapshot {
        interactions: grouped(
            c,
            "SELECT state, COUNT(*) FROM interactions GROUP BY state ORDER BY state",
            "state",
        )?,
        queues,
        agents: grouped(
            c,
            "SELECT status, COUNT(*) FROM users WHERE deleted = 0 GROUP BY status ORDER BY status",
            "status",
        )?,
        messages: {
            let mut stmt = c.prepare(
                "SELECT direction, COALESCE(status, 'none'), COUNT(*) FROM messages \
                 GROUP BY direction, status ORDER BY direction, status",
            )?;
            let rows = stmt.query_map([], |r| {
                let (d, s): (String, String) = (r.get(0)?, r.get(1)?);
                Ok((
                    format!("direction=\"{}\",status=\"{}\"", label(&d), label(&s)),
                    r.get(2)?,
                ))
            })?;
            rows.collect::<Result<_, _>>()?
        },
        outbox_depth,
        outbox_retrying,
        outbox_oldest,
        activities: c.query_row("SELECT COUNT(*) FROM activities", [], |r| r.get(0))?,
    })
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
    let snap = super::read(&state.store, snapshot).await?;
    let now = now_ms();

    let mut out = crate::metrics::render();
    family(
        &mut out,
        "switchboard_up",
        "gauge",
        "1 while the service answers.",
        &[(String::new(), 1)],
    );
    family(
        &mut out,
        "switchboard_interactions",
        "gauge",
        "Interactions by state (closed ones included).",
        &snap.interactions,
    );
    let queue_label = |q: &QueueRow| format!("queue_id=\"{}\",queue=\"{}\"", q.id, label(&q.name));
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
                .filter(|(k, _)| *k == key)
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
        &snap.messages,
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
    // SAFETY: sqlite3_memory_used only reads SQLite's allocation counter; it has no
    // preconditions and is thread-safe in the serialized/multi-thread modes rusqlite builds.
    let sqlite_heap = unsafe { rusqlite::ffi::sqlite3_memory_used() };
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
