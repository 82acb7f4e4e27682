//! `GET /reports/queues` and `GET /reports/agents`: what happened over a time range, per queue
//! and per agent, as JSON or CSV (`?format=csv`). Supervisor and up.
//!
//! A conversation counts in the range it *arrived* in (`created_at` in `[from, to)`), and in
//! the queue it is in at the end (after a transfer to a queue, the target). Times are seconds:
//! wait = first accept − arrival; handle = end − accept (per agent: its part, from joining to
//! its wrap-up or leaving); wrap-up = wrap-up done − wrap-up start; first response = the first
//! agent message − arrival (credited to its author). p90 is the nearest-rank 90th percentile.

use super::roles::Supervisor;
use super::Data;
use crate::domain::time::{now_ms, to_rfc3339};
use crate::error::ApiError;
use crate::store::reports::{self as facts, Conv, Facts, Part};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDate};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use utoipa::{IntoParams, ToSchema};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// Longest range one report covers.
const MAX_RANGE_DAYS: i64 = 366;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.service(web::resource("/reports/queues").route(web::get().to(queues)));
    cfg.service(web::resource("/reports/agents").route(web::get().to(agents)));
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

/// Count, average and 90th percentile of durations, in seconds (null when there are none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    pub count: usize,
    pub avg_secs: Option<f64>,
    pub p90_secs: Option<f64>,
}

impl Durations {
    fn of(mut ms: Vec<i64>) -> Durations {
        ms.retain(|v| *v >= 0);
        if ms.is_empty() {
            return Durations::default();
        }
        ms.sort_unstable();
        let n = ms.len();
        let sum: i64 = ms.iter().sum();
        // Nearest rank: the smallest value with at least 90% of the values at or below it.
        let rank = (n * 9).div_ceil(10).max(1);
        Durations {
            count: n,
            avg_secs: Some(round3(sum as f64 / n as f64 / 1000.0)),
            p90_secs: Some(round3(ms[rank - 1] as f64 / 1000.0)),
        }
    }
}

/// Customer satisfaction (R28): surveys sent, answered, the average score and how many
/// gave each score.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Csat {
    pub sent: usize,
    pub answered: usize,
    /// 1 to 5; null when nobody answered.
    pub average: Option<f64>,
    /// Answers by score, `"1"` to `"5"`.
    pub scores: BTreeMap<String, usize>,
}

impl Csat {
    fn add(&mut self, score: Option<u8>) {
        self.sent += 1;
        if let Some(s) = score {
            let total = self.average.unwrap_or(0.0) * self.answered as f64 + f64::from(s);
            self.answered += 1;
            self.average = Some(total / self.answered as f64);
            *self.scores.entry(s.to_string()).or_default() += 1;
        }
    }

    fn rounded(mut self) -> Self {
        self.average = self.average.map(round3);
        self
    }
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// The figures of one queue (or of all: `totals`).
#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct QueueReport {
    pub queue_id: Option<i64>,
    pub queue_name: String,
    /// Conversations the customers started that arrived (what the other figures but handle
    /// and wrap-up times are about).
    pub offered: usize,
    /// Conversations the business started (R23), counted apart: not offered, not waited for.
    pub outbound: usize,
    /// Accepted by an agent.
    pub accepted: usize,
    /// Closed without ever being accepted (the customer left first).
    pub abandoned: usize,
    /// Transferred by an agent at least once.
    pub transferred: usize,
    pub wait: Durations,
    pub handle: Durations,
    pub wrap_up: Durations,
    pub first_response: Durations,
    /// Wrap-ups by disposition code (each agent's wrap-up counts).
    pub dispositions: BTreeMap<String, usize>,
    /// Wrap-ups completed by the countdown, without a disposition.
    pub auto_wrap_ups: usize,
    /// Messages Meta charges for (`pricing.billable` of the status webhooks), by pricing
    /// category (`service`, `marketing`, `utility`, `authentication`, ...).
    pub billable_messages: BTreeMap<String, usize>,
    pub csat: Csat,
}

#[derive(Debug, Clone, Default, Serialize, ToSchema)]
pub struct AgentReport {
    pub agent_id: i64,
    pub display_name: String,
    /// Offers made to the agent (conversations, transfers, conference invitations).
    pub offered: usize,
    /// Conversations this agent started (R23).
    pub outbound: usize,
    pub accepted: usize,
    pub rejected: usize,
    /// Offers that lapsed (no answer).
    pub timed_out: usize,
    /// Offers taken back because the customer left.
    pub abandoned: usize,
    /// Conversations this agent transferred away.
    pub transferred: usize,
    /// Wait of the conversations this agent was the first to accept.
    pub wait: Durations,
    pub handle: Durations,
    pub wrap_up: Durations,
    /// First responses written by this agent.
    pub first_response: Durations,
    pub dispositions: BTreeMap<String, usize>,
    pub auto_wrap_ups: usize,
    /// Surveys of the conversations this agent owned last.
    pub csat: Csat,
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

// ---- the figures ----------------------------------------------------------------------------

impl Part {
    /// The agent went to wrap-up while the conversation went on without it: it transferred.
    fn transferred_away(&self, conv: &Conv) -> bool {
        self.role == "owner" && self.wrap_up_deadline.is_some() && conv.owner != Some(self.agent_id)
    }

    /// When this agent's wrap-up began: the end of the conversation, or (transfer, leaving a
    /// conference) its deadline less the queue's wrap-up time.
    fn wrap_start(&self, conv: &Conv, wrap_up_secs: i64) -> Option<i64> {
        let from_deadline = self.wrap_up_deadline? - wrap_up_secs * 1000;
        Some(match conv.ended_at {
            Some(end) => end.min(from_deadline),
            None => from_deadline,
        })
    }
}

#[derive(Default)]
struct Acc {
    waits: Vec<i64>,
    handles: Vec<i64>,
    wraps: Vec<i64>,
    firsts: Vec<i64>,
}

fn count_wrap_up(p: &Part, dispositions: &mut BTreeMap<String, usize>, auto: &mut usize) {
    if p.wrapped_up_at.is_none() {
        return;
    }
    match &p.disposition {
        Some(d) => *dispositions.entry(d.clone()).or_default() += 1,
        None if p.auto == Some(true) => *auto += 1,
        None => {}
    }
}

fn queue_reports(f: &Facts) -> (Vec<QueueReport>, QueueReport) {
    let wrap_secs = |q: i64| f.queues.get(&q).map(|q| q.1).unwrap_or(0);
    let mut reports: BTreeMap<i64, (QueueReport, Acc)> = f
        .queues
        .iter()
        .filter(|(_, q)| !q.2)
        .map(|(id, _)| (*id, Default::default()))
        .collect();
    let mut totals = (QueueReport::default(), Acc::default());
    let queue_of: HashMap<i64, i64> = f.convs.iter().map(|c| (c.id, c.queue_id)).collect();
    for (interaction_id, category, n) in &f.billable {
        let Some(queue_id) = queue_of.get(interaction_id) else {
            continue;
        };
        let entry = reports.entry(*queue_id).or_default();
        for r in [&mut entry.0, &mut totals.0] {
            *r.billable_messages.entry(category.clone()).or_default() += n;
        }
    }
    for conv in &f.convs {
        let parts: Vec<&Part> = f
            .parts
            .iter()
            .filter(|p| p.interaction_id == conv.id)
            .collect();
        let entry = reports.entry(conv.queue_id).or_default();
        for (r, acc) in [(&mut entry.0, &mut entry.1), (&mut totals.0, &mut totals.1)] {
            if conv.outbound {
                r.outbound += 1;
                if let (Some(start), Some(end)) = (conv.accepted_at, conv.ended_at) {
                    acc.handles.push(end - start);
                }
            } else {
                r.offered += 1;
            }
            if conv.outbound {
                // Not offered, not waited for: only the agent's work counts below.
            } else if let Some(acc_at) = conv.accepted_at {
                r.accepted += 1;
                acc.waits.push(acc_at - conv.created_at);
                if let Some(end) = conv.ended_at {
                    acc.handles.push(end - acc_at);
                }
            } else if conv.state == "closed" {
                r.abandoned += 1;
            }
            if parts.iter().any(|p| p.transferred_away(conv)) {
                r.transferred += 1;
            }
            if let Some((_, at)) = conv.first_reply.filter(|_| !conv.outbound) {
                acc.firsts.push(at - conv.created_at);
            }
            for p in &parts {
                if let (Some(done), Some(start)) = (
                    p.wrapped_up_at,
                    p.wrap_start(conv, wrap_secs(conv.queue_id)),
                ) {
                    acc.wraps.push(done - start);
                }
                count_wrap_up(p, &mut r.dispositions, &mut r.auto_wrap_ups);
            }
        }
    }
    for s in &f.surveys {
        let entry = reports.entry(s.queue_id).or_default();
        entry.0.csat.add(s.score);
        totals.0.csat.add(s.score);
    }
    let finish = |(mut r, acc): (QueueReport, Acc)| {
        r.csat = r.csat.rounded();
        r.wait = Durations::of(acc.waits);
        r.handle = Durations::of(acc.handles);
        r.wrap_up = Durations::of(acc.wraps);
        r.first_response = Durations::of(acc.firsts);
        r
    };
    let queues = reports
        .into_iter()
        .map(|(id, mut entry)| {
            entry.0.queue_id = Some(id);
            entry.0.queue_name = f
                .queues
                .get(&id)
                .map(|q| q.0.clone())
                .unwrap_or_else(|| format!("queue {id}"));
            finish(entry)
        })
        .collect();
    let mut totals = finish(totals);
    totals.queue_name = "all queues".into();
    (queues, totals)
}

fn agent_reports(f: &Facts) -> Vec<AgentReport> {
    let conv_by_id: HashMap<i64, &Conv> = f.convs.iter().map(|c| (c.id, c)).collect();
    let wrap_secs = |q: i64| f.queues.get(&q).map(|q| q.1).unwrap_or(0);
    // Every agent and supervisor (not deleted), and whoever appears in the range.
    let mut reports: BTreeMap<i64, (AgentReport, Acc)> = f
        .users
        .iter()
        .filter(|(_, u)| !u.2 && u.1 != "admin")
        .map(|(id, _)| (*id, Default::default()))
        .collect();
    for p in &f.parts {
        let Some(conv) = conv_by_id.get(&p.interaction_id) else {
            continue;
        };
        let (r, acc) = reports.entry(p.agent_id).or_default();
        let started_it = conv.outbound && p.role == "owner" && p.joined_at == conv.created_at;
        if started_it {
            r.outbound += 1;
        } else {
            r.offered += 1;
            r.accepted += 1;
        }
        if p.transferred_away(conv) {
            r.transferred += 1;
        }
        if !started_it && p.role == "owner" && conv.accepted_at == Some(p.joined_at) {
            acc.waits.push(p.joined_at - conv.created_at);
        }
        let wrap_start = p.wrap_start(conv, wrap_secs(conv.queue_id));
        if let Some(end) = wrap_start.or(p.left_at) {
            acc.handles.push(end - p.joined_at);
        }
        if let (Some(done), Some(start)) = (p.wrapped_up_at, wrap_start) {
            acc.wraps.push(done - start);
        }
        count_wrap_up(p, &mut r.dispositions, &mut r.auto_wrap_ups);
    }
    for (agent_id, outcome) in &f.lapsed {
        let (r, _) = reports.entry(*agent_id).or_default();
        r.offered += 1;
        match outcome.as_str() {
            "rejected" => r.rejected += 1,
            "timeout" => r.timed_out += 1,
            "customer_left" => r.abandoned += 1,
            _ => {}
        }
    }
    for s in &f.surveys {
        if let Some(agent_id) = s.agent_id {
            reports.entry(agent_id).or_default().0.csat.add(s.score);
        }
    }
    for conv in f.convs.iter().filter(|c| !c.outbound) {
        if let Some((Some(author), at)) = conv.first_reply {
            let (_, acc) = reports.entry(author).or_default();
            acc.firsts.push(at - conv.created_at);
        }
    }
    reports
        .into_iter()
        .map(|(id, (mut r, acc))| {
            r.agent_id = id;
            r.display_name = f
                .users
                .get(&id)
                .map(|u| u.0.clone())
                .unwrap_or_else(|| format!("agent {id}"));
            r.wait = Durations::of(acc.waits);
            r.handle = Durations::of(acc.handles);
            r.wrap_up = Durations::of(acc.wraps);
            r.first_response = Durations::of(acc.firsts);
            r.csat = r.csat.rounded();
            r
        })
        .collect()
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
    let now = now_ms();
    let (from, from_is_date) = match &q.from {
        Some(v) => parse_time("from", v)?,
        None => (now - now.rem_euclid(DAY_MS), false),
    };
    let to = match &q.to {
        Some(v) => parse_time("to", v)?.0,
        None if from_is_date => from + DAY_MS,
        None => now,
    };
    if to <= from {
        return Err(ApiError::invalid("to must be after from"));
    }
    if to - from > MAX_RANGE_DAYS * DAY_MS {
        return Err(ApiError::invalid(format!(
            "a report covers at most {MAX_RANGE_DAYS} days"
        )));
    }
    Ok((from, to))
}

fn wants_csv(q: &RangeQuery) -> Result<bool, ApiError> {
    match q.format.as_deref() {
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
    let csv = wants_csv(&query)?;
    let facts = state
        .store
        .read(move |db| facts::load(db, from, to))
        .await?;
    let (queues, totals) = queue_reports(&facts);
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
    let csv = wants_csv(&query)?;
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
        "queue_id,queue_name,offered,accepted,abandoned,transferred,{TIME_COLUMNS},auto_wrap_ups,dispositions,billable_messages,{R23_R28_COLUMNS}\r\n"
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let d = Durations::of((1..=10).map(|s| s * 1000).collect());
        assert_eq!(
            (d.count, d.avg_secs, d.p90_secs),
            (10, Some(5.5), Some(9.0))
        );
        let d = Durations::of(vec![4000]);
        assert_eq!((d.avg_secs, d.p90_secs), (Some(4.0), Some(4.0)));
        assert_eq!(Durations::of(vec![]), Durations::default());
        let d = Durations::of(vec![1000, 2000, 30000]);
        assert_eq!(d.p90_secs, Some(30.0));
    }

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
    }
}
