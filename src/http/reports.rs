//! `GET /reports/queues`, `GET /reports/agents` and `GET /reports/intervals`: what happened
//! over a time range, per queue and per agent (and per hour or day of it), as JSON or CSV
//! (`?format=csv`). Supervisor and up. The figures and what they mean are in
//! `domain::reports`; this module reads the range, has the store read the facts, and writes
//! the answer.

use super::roles::Supervisor;
use super::Data;
use crate::domain::reports::{
    agent_reports, interval_series, queue_reports, AgentReport, AgentSeries, Buckets, Csat,
    Durations, Interval, QueueReport, QueueSeries, ServiceLevel,
};
use crate::domain::time::{now_ms, to_rfc3339};
use crate::error::ApiError;
use crate::store::reports as facts;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::{IntoParams, ToSchema};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Longest range one report covers.
const MAX_RANGE_DAYS: i64 = 366;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports/queues").route(web::get().to(queues)));
    cfg.service(web::resource("/reports/agents").route(web::get().to(agents)));
    cfg.service(web::resource("/reports/intervals").route(web::get().to(intervals)));
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct RangeQuery {
    /// RFC 3339, or a date (`2024-03-04`, midnight UTC). Default: today, midnight UTC.
    pub from: Option<String>,
    /// RFC 3339 or a date, excluded. Default: now (or a day after a date given as `from`).
    pub to: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct IntervalsQuery {
    /// RFC 3339, or a date (`2024-03-04`, midnight UTC). Default: today, midnight UTC.
    /// The intervals are counted from it.
    pub from: Option<String>,
    /// RFC 3339 or a date, excluded. Default: now (or a day after a date given as `from`).
    pub to: Option<String>,
    /// `hour` (default; ranges of at most 31 days) or `day` (at most 366 days).
    pub interval: Option<String>,
    /// `json` (default) or `csv`.
    pub format: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct QueuesReport {
    pub from: String,
    pub to: String,
    pub queues: Vec<QueueReport>,
    pub totals: QueueReport,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AgentsReport {
    pub from: String,
    pub to: String,
    pub agents: Vec<AgentReport>,
}

/// Conversations by interval of arrival: every array of `queues`, `totals` and `agents` has
/// one entry per interval, `[k]` for the interval that starts at `starts[k]`.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntervalsReport {
    pub from: String,
    pub to: String,
    pub interval: Interval,
    /// When each interval starts: `from`, `from` + 1 hour (or day), ...; the last one ends
    /// at `to`.
    pub starts: Vec<String>,
    pub queues: Vec<QueueSeries>,
    pub totals: QueueSeries,
    pub agents: Vec<AgentSeries>,
}

// ---- HTTP -----------------------------------------------------------------------------------

/// Parses `2024-03-04T09:00:00Z` or `2024-03-04` (midnight UTC) to ms.
fn parse_time(field: &str, v: &str) -> Result<(i64, bool), ApiError> {
    if let Ok(t) = DateTime::parse_from_rfc3339(v) {
        return Ok((t.timestamp_millis(), false));
    }
    NaiveDate::parse_from_str(v, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| (d.and_utc().timestamp_millis(), true))
        .ok_or_else(|| ApiError::invalid(format!("{field} must be RFC 3339 or YYYY-MM-DD")))
}

fn range(q: &RangeQuery) -> Result<(i64, i64), ApiError> {
    range_of(q.from.as_deref(), q.to.as_deref(), MAX_RANGE_DAYS)
}

/// `[from, to)` in ms, at most `max_days` long.
fn range_of(from: Option<&str>, to: Option<&str>, max_days: i64) -> Result<(i64, i64), ApiError> {
    let now = now_ms();
    let (from, from_is_date) = match from {
        Some(v) => parse_time("from", v)?,
        None => (now - now.rem_euclid(DAY_MS), false),
    };
    let to = match to {
        Some(v) => parse_time("to", v)?.0,
        None if from_is_date => from + DAY_MS,
        None => now,
    };
    if to <= from {
        return Err(ApiError::invalid("to must be after from"));
    }
    if to - from > max_days * DAY_MS {
        return Err(ApiError::invalid(format!(
            "a report covers at most {max_days} days"
        )));
    }
    Ok((from, to))
}

fn wants_csv(format: Option<&str>) -> Result<bool, ApiError> {
    match format {
        None | Some("json") => Ok(false),
        Some("csv") => Ok(true),
        Some(_) => Err(ApiError::invalid("format must be `json` or `csv`")),
    }
}

#[utoipa::path(
    get, path = "/api/v1/reports/queues", tag = "stats", security(("bearer" = [])),
    params(RangeQuery),
    responses(
        (status = 200, description = "JSON, or CSV with `format=csv`", content((QueuesReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_input` (a bad or too long range, an unknown format), `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not a supervisor or admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn queues(
    _supervisor: Supervisor,
    state: Data,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = range(&query)?;
    let csv = wants_csv(query.format.as_deref())?;
    let facts = state
        .store
        .read(move |db| facts::load(db, from, to))
        .await?;
    let (queues, totals) = queue_reports(&facts, now_ms());
    if csv {
        let mut rows = vec![totals];
        rows.extend(queues);
        return Ok(csv_response("queues", from, to, queue_csv(&rows)));
    }
    Ok(HttpResponse::Ok().json(QueuesReport {
        from: to_rfc3339(from),
        to: to_rfc3339(to),
        queues,
        totals,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/reports/agents", tag = "stats", security(("bearer" = [])),
    params(RangeQuery),
    responses(
        (status = 200, description = "JSON, or CSV with `format=csv`", content((AgentsReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_input` (a bad or too long range, an unknown format), `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not a supervisor or admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn agents(
    _supervisor: Supervisor,
    state: Data,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, ApiError> {
    let (from, to) = range(&query)?;
    let csv = wants_csv(query.format.as_deref())?;
    let facts = state
        .store
        .read(move |db| facts::load(db, from, to))
        .await?;
    let agents = agent_reports(&facts);
    if csv {
        return Ok(csv_response("agents", from, to, agent_csv(&agents)));
    }
    Ok(HttpResponse::Ok().json(AgentsReport {
        from: to_rfc3339(from),
        to: to_rfc3339(to),
        agents,
    }))
}

#[utoipa::path(
    get, path = "/api/v1/reports/intervals", tag = "stats", security(("bearer" = [])),
    params(IntervalsQuery),
    responses(
        (status = 200, description = "Conversations per hour (or day) of arrival: JSON, or CSV with `format=csv`", content((IntervalsReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "`invalid_input` (a bad or too long range, an unknown interval or format), `invalid_query`", body = super::openapi::ErrorResponse),
        (status = 401, description = "`unauthenticated`", body = super::openapi::ErrorResponse),
        (status = 403, description = "`forbidden` (not a supervisor or admin)", body = super::openapi::ErrorResponse),
    )
)]
pub async fn intervals(
    _supervisor: Supervisor,
    state: Data,
    query: web::Query<IntervalsQuery>,
) -> Result<HttpResponse, ApiError> {
    let interval = match query.interval.as_deref() {
        None => Interval::Hour,
        Some(v) => Interval::parse(v)
            .ok_or_else(|| ApiError::invalid("interval must be `hour` or `day`"))?,
    };
    let (from, to) = range_of(
        query.from.as_deref(),
        query.to.as_deref(),
        interval.max_range_days(),
    )?;
    let csv = wants_csv(query.format.as_deref())?;
    let facts = state
        .store
        .read(move |db| facts::load(db, from, to))
        .await?;
    let buckets = Buckets::new(from, to, interval.ms());
    let (queues, totals, agents) = interval_series(&facts, &buckets, now_ms());
    let report = IntervalsReport {
        from: to_rfc3339(from),
        to: to_rfc3339(to),
        interval,
        starts: buckets.starts().into_iter().map(to_rfc3339).collect(),
        queues,
        totals,
        agents,
    };
    if csv {
        return Ok(csv_response("intervals", from, to, intervals_csv(&report)));
    }
    Ok(HttpResponse::Ok().json(report))
}

// ---- CSV --------------------------------------------------------------------------------------

fn csv_response(what: &str, from: i64, to: i64, body: String) -> HttpResponse {
    let day = |t: i64| to_rfc3339(t).chars().take(10).collect::<String>();
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            format!(
                "attachment; filename=\"switchboard-{what}-{}-{}.csv\"",
                day(from),
                day(to)
            ),
        ))
        .body(body)
}

/// A CSV field: quoted when it holds a comma, quote or line break; a leading `=`, `+`, `-` or
/// `@` is prefixed with `'` so a spreadsheet does not run it as a formula.
fn field(v: &str) -> String {
    let v = if v.starts_with(['=', '+', '-', '@']) {
        format!("'{v}")
    } else {
        v.to_string()
    };
    if v.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", v.replace('"', "\"\""))
    } else {
        v
    }
}

fn secs(v: Option<f64>) -> String {
    v.map(|s| s.to_string()).unwrap_or_default()
}

fn durations(d: &Durations) -> [String; 2] {
    [secs(d.avg_secs), secs(d.p90_secs)]
}

fn dispositions(d: &BTreeMap<String, usize>) -> String {
    d.iter()
        .map(|(k, n)| format!("{k}={n}"))
        .collect::<Vec<_>>()
        .join(";")
}

const TIME_COLUMNS: &str = "wait_avg_secs,wait_p90_secs,handle_avg_secs,handle_p90_secs,\
wrap_up_avg_secs,wrap_up_p90_secs,first_response_avg_secs,first_response_p90_secs";

fn queue_csv(rows: &[QueueReport]) -> String {
    let mut out = format!(
        "queue_id,queue_name,offered,accepted,abandoned,transferred,{TIME_COLUMNS},auto_wrap_ups,dispositions,billable_messages,{R23_R28_COLUMNS},{SERVICE_LEVEL_COLUMNS}\r\n"
    );
    for r in rows {
        let mut cells = vec![
            r.queue_id.map(|i| i.to_string()).unwrap_or_default(),
            field(&r.queue_name),
            r.offered.to_string(),
            r.accepted.to_string(),
            r.abandoned.to_string(),
            r.transferred.to_string(),
        ];
        for d in [&r.wait, &r.handle, &r.wrap_up, &r.first_response] {
            cells.extend(durations(d));
        }
        cells.push(r.auto_wrap_ups.to_string());
        cells.push(field(&dispositions(&r.dispositions)));
        cells.push(field(&dispositions(&r.billable_messages)));
        cells.push(r.outbound.to_string());
        cells.extend(csat_cells(&r.csat));
        cells.extend(service_level_cells(&r.service_level));
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

fn agent_csv(rows: &[AgentReport]) -> String {
    let mut out = format!(
        "agent_id,display_name,offered,accepted,rejected,timed_out,abandoned,transferred,{TIME_COLUMNS},auto_wrap_ups,dispositions,{R23_R28_COLUMNS}\r\n"
    );
    for r in rows {
        let mut cells = vec![
            r.agent_id.to_string(),
            field(&r.display_name),
            r.offered.to_string(),
            r.accepted.to_string(),
            r.rejected.to_string(),
            r.timed_out.to_string(),
            r.abandoned.to_string(),
            r.transferred.to_string(),
        ];
        for d in [&r.wait, &r.handle, &r.wrap_up, &r.first_response] {
            cells.extend(durations(d));
        }
        cells.push(r.auto_wrap_ups.to_string());
        cells.push(field(&dispositions(&r.dispositions)));
        cells.push(r.outbound.to_string());
        cells.extend(csat_cells(&r.csat));
        out.push_str(&cells.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Added at the end, so the columns before keep their places in existing spreadsheets.
const R23_R28_COLUMNS: &str = "outbound,csat_sent,csat_answered,csat_average";

fn csat_cells(c: &Csat) -> [String; 3] {
    [
        c.sent.to_string(),
        c.answered.to_string(),
        c.average.map(|a| a.to_string()).unwrap_or_default(),
    ]
}

/// Section 8.8, added after R23 and R28's columns for the same reason.
const SERVICE_LEVEL_COLUMNS: &str = "service_level_secs,service_level_accepted_within,\
service_level_abandoned_within,service_level_waiting_over,service_level_counted,service_level_percent";

fn service_level_cells(s: &ServiceLevel) -> [String; 6] {
    [
        s.threshold_secs.map(|t| t.to_string()).unwrap_or_default(),
        s.accepted_within.to_string(),
        s.abandoned_within.to_string(),
        s.waiting_over.to_string(),
        s.counted.to_string(),
        secs(s.percent),
    ]
}

/// One line per interval and queue (the totals first), then per interval and agent: a long
/// table, ready for a spreadsheet's pivot table.
fn intervals_csv(r: &IntervalsReport) -> String {
    let mut out = String::from(
        "interval_start,kind,id,name,offered,accepted,abandoned,outbound,service_level_percent\r\n",
    );
    let count = |v: &[usize], k: usize| v.get(k).map(usize::to_string).unwrap_or_default();
    for (k, start) in r.starts.iter().enumerate() {
        let queues =
            std::iter::once(("total", &r.totals)).chain(r.queues.iter().map(|q| ("queue", q)));
        for (kind, q) in queues {
            let cells = [
                start.clone(),
                kind.to_string(),
                q.queue_id.map(|i| i.to_string()).unwrap_or_default(),
                field(&q.queue_name),
                count(&q.offered, k),
                count(&q.accepted, k),
                count(&q.abandoned, k),
                count(&q.outbound, k),
                secs(q.service_level_percent.get(k).copied().flatten()),
            ];
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
        for a in &r.agents {
            let cells = [
                start.clone(),
                "agent".to_string(),
                a.agent_id.to_string(),
                field(&a.display_name),
                String::new(),
                count(&a.accepted, k),
                String::new(),
                count(&a.outbound, k),
                String::new(),
            ];
            out.push_str(&cells.join(","));
            out.push_str("\r\n");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(field("plain"), "plain");
        assert_eq!(field("a,b"), "\"a,b\"");
        assert_eq!(field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(field("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn ranges_take_dates_and_times() {
        let q = |from: Option<&str>, to: Option<&str>| RangeQuery {
            from: from.map(String::from),
            to: to.map(String::from),
            format: None,
        };
        let (f, t) = range(&q(Some("2024-03-04"), None)).unwrap();
        assert_eq!(to_rfc3339(f), "2024-03-04T00:00:00.000Z");
        assert_eq!(t - f, DAY_MS);
        assert!(range(&q(
            Some("2024-03-04T10:00:00Z"),
            Some("2024-03-04T09:00:00Z")
        ))
        .is_err());
        assert!(range(&q(Some("yesterday"), None)).is_err());
        assert!(range(&q(Some("2020-01-01"), Some("2024-01-01"))).is_err());
        // By the hour, a month at most.
        let hourly = |to| {
            range_of(
                Some("2024-03-01"),
                Some(to),
                Interval::Hour.max_range_days(),
            )
        };
        assert!(hourly("2024-04-01").is_ok());
        assert!(hourly("2024-04-02").is_err());
    }

    #[test]
    fn intervals_csv_has_a_line_per_interval_and_queue_then_agent() {
        let series = |id: Option<i64>, name: &str| QueueSeries {
            queue_id: id,
            queue_name: name.into(),
            offered: vec![2, 0],
            accepted: vec![1, 0],
            abandoned: vec![1, 0],
            outbound: vec![0, 1],
            service_level_percent: vec![Some(50.0), None],
        };
        let report = IntervalsReport {
            from: "2024-03-04T09:00:00.000Z".into(),
            to: "2024-03-04T11:00:00.000Z".into(),
            interval: Interval::Hour,
            starts: vec![
                "2024-03-04T09:00:00.000Z".into(),
                "2024-03-04T10:00:00.000Z".into(),
            ],
            queues: vec![series(Some(3), "Sales, EU")],
            totals: series(None, "all queues"),
            agents: vec![AgentSeries {
                agent_id: 7,
                display_name: "Ann".into(),
                accepted: vec![1, 0],
                outbound: vec![0, 1],
            }],
        };
        let csv = intervals_csv(&report);
        let lines: Vec<&str> = csv.split("\r\n").collect();
        assert_eq!(
            lines[..7],
            [
                "interval_start,kind,id,name,offered,accepted,abandoned,outbound,service_level_percent",
                "2024-03-04T09:00:00.000Z,total,,all queues,2,1,1,0,50",
                "2024-03-04T09:00:00.000Z,queue,3,\"Sales, EU\",2,1,1,0,50",
                "2024-03-04T09:00:00.000Z,agent,7,Ann,,1,,0,",
                "2024-03-04T10:00:00.000Z,total,,all queues,0,0,0,1,",
                "2024-03-04T10:00:00.000Z,queue,3,\"Sales, EU\",0,0,0,1,",
                "2024-03-04T10:00:00.000Z,agent,7,Ann,,0,,1,",
            ]
        );
    }
}
