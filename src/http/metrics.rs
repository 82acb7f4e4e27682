//! `GET /metrics`: Prometheus text format, read from the database at scrape time.

use super::Data;
use crate::error::ApiError;
use actix_web::{web, HttpResponse};
use std::fmt::Write;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/metrics", web::get().to(metrics));
}

/// One metric family: its help and type lines, then `(labels, value)` samples.
fn family(out: &mut String, name: &str, kind: &str, help: &str, samples: &[(String, i64)]) {
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

struct Snapshot {
    interactions: Vec<(String, i64)>,
    waiting: Vec<(String, i64)>,
    agents: Vec<(String, i64)>,
    messages: Vec<(String, i64)>,
    outbox: i64,
    activities: i64,
}

#[utoipa::path(
    get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus text format (no authentication)", body = String, content_type = "text/plain"))
)]
pub async fn metrics(state: Data) -> Result<HttpResponse, ApiError> {
    let snap = super::read(&state.store, |c| {
        Ok(Snapshot {
            interactions: grouped(
                c,
                "SELECT state, COUNT(*) FROM interactions GROUP BY state ORDER BY state",
                "state",
            )?,
            waiting: grouped(
                c,
                "SELECT CAST(q.id AS TEXT), COUNT(i.id) FROM queues q \
                 LEFT JOIN interactions i ON i.queue_id = q.id AND i.state = 'queued' \
                 WHERE q.deleted = 0 GROUP BY q.id ORDER BY q.id",
                "queue_id",
            )?,
            agents: grouped(
                c,
                "SELECT status, COUNT(*) FROM users WHERE deleted = 0 GROUP BY status ORDER BY status",
                "status",
            )?,
            messages: grouped(
                c,
                "SELECT direction, COUNT(*) FROM messages GROUP BY direction ORDER BY direction",
                "direction",
            )?,
            outbox: c.query_row("SELECT COUNT(*) FROM outbox", [], |r| r.get(0))?,
            activities: c.query_row("SELECT COUNT(*) FROM activities", [], |r| r.get(0))?,
        })
    })
    .await?;

    let mut out = String::new();
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
    family(
        &mut out,
        "switchboard_queue_waiting",
        "gauge",
        "Interactions waiting in each queue.",
        &snap.waiting,
    );
    family(
        &mut out,
        "switchboard_agents",
        "gauge",
        "Users by status.",
        &snap.agents,
    );
    family(
        &mut out,
        "switchboard_messages_total",
        "counter",
        "Messages stored, by direction.",
        &snap.messages,
    );
    family(
        &mut out,
        "switchboard_outbox_pending",
        "gauge",
        "Outbound messages waiting for the Cloud API.",
        &[(String::new(), snap.outbox)],
    );
    family(
        &mut out,
        "switchboard_activities_total",
        "counter",
        "Call logs saved.",
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
