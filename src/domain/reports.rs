//! The historical reports (section 8.8): what happened over a range of time, per queue and
//! per agent, computed from the facts `store::reports` reads for that range. Pure: the same
//! facts (and the same `now`) always give the same figures.
//!
//! A conversation counts in the range it *arrived* in (`created_at` in `[from, to)`), and in
//! the queue it is in at the end (after a transfer to a queue, the target). Times are seconds:
//! wait = first accept − arrival; handle = end − accept (per agent: its part, from joining to
//! its wrap-up or leaving); wrap-up = wrap-up done − wrap-up start; first response = the first
//! agent message − arrival (credited to its author). p90 is the nearest-rank 90th percentile.
//!
//! Service level: the share of the customers' conversations accepted within the queue's
//! `service_level_secs` of arrival, out of those accepted, abandoned after the threshold or
//! still waiting past it. Conversations abandoned within the threshold are left out (the
//! customer left before the promise was due), as are those the business started (nobody
//! waited for them).

use super::input::{check_range, InvalidInput};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use utoipa::ToSchema;

/// A queue's service level threshold when none is set, and the range allowed.
pub const DEFAULT_SERVICE_LEVEL_SECS: u32 = 60;
pub const MAX_SERVICE_LEVEL_SECS: u32 = 86_400;

/// `service_level_secs` as stored: 1 to 86,400 seconds.
pub fn check_service_level_secs(v: i64) -> Result<u32, InvalidInput> {
    check_range(
        "service_level_secs",
        v,
        1,
        i64::from(MAX_SERVICE_LEVEL_SECS),
    )?;
    Ok(v as u32)
}

// ---- the facts ------------------------------------------------------------------------------

/// One conversation that arrived in the range.
#[derive(Debug, Clone, Default)]
pub struct Conv {
    pub id: i64,
    pub queue_id: i64,
    pub state: String,
    pub created_at: i64,
    pub accepted_at: Option<i64>,
    pub ended_at: Option<i64>,
    /// When it closed (for one never accepted: when the customer was given up on).
    pub closed_at: Option<i64>,
    pub owner: Option<i64>,
    /// The first agent message: its author (if known) and when it was sent.
    pub first_reply: Option<(Option<i64>, i64)>,
    /// The business started it (R23).
    pub outbound: bool,
}

/// A satisfaction survey sent (R28): its queue, the agent it is about, the score if any.
#[derive(Debug, Clone, Default)]
pub struct Survey {
    pub queue_id: i64,
    pub agent_id: Option<i64>,
    pub score: Option<u8>,
}

/// An agent's part in a conversation.
#[derive(Debug, Clone, Default)]
pub struct Part {
    pub interaction_id: i64,
    pub agent_id: i64,
    pub role: String,
    pub joined_at: i64,
    pub left_at: Option<i64>,
    pub wrap_up_deadline: Option<i64>,
    pub wrapped_up_at: Option<i64>,
    pub disposition: Option<String>,
    pub auto: Option<bool>,
}

/// What the reports need of a queue.
#[derive(Debug, Clone)]
pub struct QueueFacts {
    pub name: String,
    pub wrap_up_secs: i64,
    pub service_level_secs: i64,
    pub deleted: bool,
}

/// What the reports need of a user.
#[derive(Debug, Clone)]
pub struct UserFacts {
    pub display_name: String,
    pub role: String,
    pub deleted: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub convs: Vec<Conv>,
    pub parts: Vec<Part>,
    /// Offers that did not end in an accept: (agent, outcome).
    pub lapsed: Vec<(i64, String)>,
    pub queues: BTreeMap<i64, QueueFacts>,
    pub users: BTreeMap<i64, UserFacts>,
    /// Billable outbound messages (R24 pricing): (interaction, category, count).
    pub billable: Vec<(i64, String, usize)>,
    /// Surveys of the conversations in the range.
    pub surveys: Vec<Survey>,
}

impl Facts {
    fn wrap_up_secs(&self, queue_id: i64) -> i64 {
        self.queues.get(&queue_id).map_or(0, |q| q.wrap_up_secs)
    }

    fn service_level_secs(&self, queue_id: i64) -> i64 {
        self.queues
            .get(&queue_id)
            .map_or(i64::from(DEFAULT_SERVICE_LEVEL_SECS), |q| {
                q.service_level_secs
            })
    }

    fn queue_name(&self, id: i64) -> String {
        self.queues
            .get(&id)
            .map(|q| q.name.clone())
            .unwrap_or_else(|| format!("queue {id}"))
    }

    fn display_name(&self, id: i64) -> String {
        self.users
            .get(&id)
            .map(|u| u.display_name.clone())
            .unwrap_or_else(|| format!("agent {id}"))
    }

    /// Every queue that is not deleted, and every queue with a conversation or a survey in
    /// the range.
    fn queue_ids(&self) -> BTreeSet<i64> {
        let mut ids: BTreeSet<i64> = self
            .queues
            .iter()
            .filter(|(_, q)| !q.deleted)
            .map(|(id, _)| *id)
            .collect();
        ids.extend(self.convs.iter().map(|c| c.queue_id));
        ids.extend(self.surveys.iter().map(|s| s.queue_id));
        ids
    }

    /// Every agent and supervisor (not deleted), and whoever appears in the range: in a
    /// conversation, in the offer log, in a survey, as the author of a first response.
    fn agent_ids(&self) -> BTreeSet<i64> {
        let mut ids: BTreeSet<i64> = self
            .users
            .iter()
            .filter(|(_, u)| !u.deleted && u.role != "admin")
            .map(|(id, _)| *id)
            .collect();
        let in_range: BTreeSet<i64> = self.convs.iter().map(|c| c.id).collect();
        ids.extend(
            self.parts
                .iter()
                .filter(|p| in_range.contains(&p.interaction_id))
                .map(|p| p.agent_id),
        );
        ids.extend(self.lapsed.iter().map(|(a, _)| *a));
        ids.extend(self.surveys.iter().filter_map(|s| s.agent_id));
        ids.extend(
            self.convs
                .iter()
                .filter(|c| !c.outbound)
                .filter_map(|c| c.first_reply.and_then(|(author, _)| author)),
        );
        ids
    }
}

// ---- the figures ----------------------------------------------------------------------------

/// Count, average and 90th percentile of durations, in seconds (null when there are none).
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct Durations {
    pub count: usize,
    pub avg_secs: Option<f64>,
    pub p90_secs: Option<f64>,
}

impl Durations {
    /// From durations in milliseconds (negative ones, from clock skew, are left out).
    pub fn of(mut ms: Vec<i64>) -> Durations {
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

/// The service level of a queue (or of all: each conversation against its own queue's
/// threshold): `percent` = 100 × `accepted_within` / `counted`, where `counted` = accepted +
/// abandoned − `abandoned_within` + `waiting_over`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct ServiceLevel {
    /// The queue's `service_level_secs`; null in the totals (each queue's own applies).
    pub threshold_secs: Option<i64>,
    /// Accepted within the threshold of arrival (at it included).
    pub accepted_within: usize,
    /// Abandoned within the threshold: not counted either way.
    pub abandoned_within: usize,
    /// Not accepted yet and waiting longer than the threshold when the report was made:
    /// counted, as missed.
    pub waiting_over: usize,
    /// The conversations the share is of.
    pub counted: usize,
    /// 0 to 100; null when nothing is counted.
    pub percent: Option<f64>,
}

/// How a customer's conversation stands against its queue's service level threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlOutcome {
    /// Accepted within the threshold.
    Met,
    /// Accepted late, abandoned late, or still waiting past the threshold.
    Missed { waiting: bool },
    /// Abandoned within the threshold: left out.
    AbandonedWithin,
    /// Still waiting, within the threshold: not decided yet, left out.
    Pending,
}

/// Where `conv` stands against a threshold of `threshold_secs`, at `now`; `None` for a
/// conversation the business started.
pub fn service_level_outcome(conv: &Conv, threshold_secs: i64, now: i64) -> Option<SlOutcome> {
    if conv.outbound {
        return None;
    }
    let limit = conv.created_at + threshold_secs * 1000;
    Some(match conv.accepted_at {
        Some(at) if at <= limit => SlOutcome::Met,
        Some(_) => SlOutcome::Missed { waiting: false },
        None if conv.state == "closed" => match conv.closed_at {
            Some(at) if at <= limit => SlOutcome::AbandonedWithin,
            _ => SlOutcome::Missed { waiting: false },
        },
        None if now > limit => SlOutcome::Missed { waiting: true },
        None => SlOutcome::Pending,
    })
}

impl ServiceLevel {
    fn add(&mut self, outcome: Option<SlOutcome>) {
        match outcome {
            Some(SlOutcome::Met) => {
                self.accepted_within += 1;
                self.counted += 1;
            }
            Some(SlOutcome::Missed { waiting }) => {
                self.waiting_over += usize::from(waiting);
                self.counted += 1;
            }
            Some(SlOutcome::AbandonedWithin) => self.abandoned_within += 1,
            Some(SlOutcome::Pending) | None => {}
        }
    }

    fn finished(mut self) -> Self {
        self.percent = percent(self.accepted_within, self.counted);
        self
    }
}

fn percent(part: usize, whole: usize) -> Option<f64> {
    (whole > 0).then(|| round3(100.0 * part as f64 / whole as f64))
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
    /// Accepted within the queue's `service_level_secs` (section 8.8).
    pub service_level: ServiceLevel,
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

    /// The agent started this conversation itself (R23): not offered, not accepted.
    fn started(&self, conv: &Conv) -> bool {
        conv.outbound && self.role == "owner" && self.joined_at == conv.created_at
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

/// Per queue (by id) and for all queues; `now` decides which waiting conversations have
/// already missed their service level.
pub fn queue_reports(f: &Facts, now: i64) -> (Vec<QueueReport>, QueueReport) {
    let mut reports: BTreeMap<i64, (QueueReport, Acc)> = f
        .queue_ids()
        .into_iter()
        .map(|id| (id, Default::default()))
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
    let mut parts_of: HashMap<i64, Vec<&Part>> = HashMap::new();
    for p in &f.parts {
        parts_of.entry(p.interaction_id).or_default().push(p);
    }
    for conv in &f.convs {
        let parts = parts_of.get(&conv.id).map(Vec::as_slice).unwrap_or(&[]);
        let sl = service_level_outcome(conv, f.service_level_secs(conv.queue_id), now);
        let entry = reports.entry(conv.queue_id).or_default();
        for (r, acc) in [(&mut entry.0, &mut entry.1), (&mut totals.0, &mut totals.1)] {
            r.service_level.add(sl);
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
            for p in parts {
                if let (Some(done), Some(start)) = (
                    p.wrapped_up_at,
                    p.wrap_start(conv, f.wrap_up_secs(conv.queue_id)),
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
        r.service_level = r.service_level.finished();
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
            entry.0.queue_name = f.queue_name(id);
            entry.0.service_level.threshold_secs = Some(f.service_level_secs(id));
            finish(entry)
        })
        .collect();
    let mut totals = finish(totals);
    totals.queue_name = "all queues".into();
    (queues, totals)
}

/// Per agent (by id): every agent and supervisor not deleted, and whoever appears in the range.
pub fn agent_reports(f: &Facts) -> Vec<AgentReport> {
    let conv_by_id: HashMap<i64, &Conv> = f.convs.iter().map(|c| (c.id, c)).collect();
    let mut reports: BTreeMap<i64, (AgentReport, Acc)> = f
        .agent_ids()
        .into_iter()
        .map(|id| (id, Default::default()))
        .collect();
    for p in &f.parts {
        let Some(conv) = conv_by_id.get(&p.interaction_id) else {
            continue;
        };
        let (r, acc) = reports.entry(p.agent_id).or_default();
        let started_it = p.started(conv);
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
        let wrap_start = p.wrap_start(conv, f.wrap_up_secs(conv.queue_id));
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
            r.display_name = f.display_name(id);
            r.wait = Durations::of(acc.waits);
            r.handle = Durations::of(acc.handles);
            r.wrap_up = Durations::of(acc.wraps);
            r.first_response = Durations::of(acc.firsts);
            r.csat = r.csat.rounded();
            r
        })
        .collect()
}

// ---- per interval (conversations per hour, for the charts) ----------------------------------

/// The length of one interval of `GET /reports/intervals`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Interval {
    Hour,
    Day,
}

impl Interval {
    pub fn parse(s: &str) -> Option<Interval> {
        match s {
            "hour" => Some(Interval::Hour),
            "day" => Some(Interval::Day),
            _ => None,
        }
    }

    pub fn ms(self) -> i64 {
        match self {
            Interval::Hour => 3_600_000,
            Interval::Day => 86_400_000,
        }
    }

    /// The longest range a report by this interval covers, in days.
    pub fn max_range_days(self) -> i64 {
        match self {
            Interval::Hour => 31,
            Interval::Day => 366,
        }
    }
}

/// The range `[from, to)` cut into intervals from `from`: interval `k` is
/// `[from + k × step, from + (k + 1) × step)`, the last one cut short at `to`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Buckets {
    pub from: i64,
    pub to: i64,
    pub step_ms: i64,
}

impl Buckets {
    pub fn new(from: i64, to: i64, step_ms: i64) -> Buckets {
        Buckets {
            from,
            to,
            step_ms: step_ms.max(1),
        }
    }

    pub fn len(&self) -> usize {
        let span = u64::try_from(self.to - self.from).unwrap_or(0);
        let step = u64::try_from(self.step_ms).unwrap_or(1);
        usize::try_from(span.div_ceil(step)).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The interval `t` falls in, if it is in the range.
    pub fn index(&self, t: i64) -> Option<usize> {
        if t < self.from || t >= self.to {
            return None;
        }
        usize::try_from((t - self.from) / self.step_ms).ok()
    }

    /// When each interval starts.
    pub fn starts(&self) -> Vec<i64> {
        (0..self.len() as i64)
            .map(|k| self.from + k * self.step_ms)
            .collect()
    }
}

/// A queue's (or all queues') conversations by interval of arrival; `[k]` is interval `k`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct QueueSeries {
    pub queue_id: Option<i64>,
    pub queue_name: String,
    pub offered: Vec<usize>,
    pub accepted: Vec<usize>,
    pub abandoned: Vec<usize>,
    pub outbound: Vec<usize>,
    /// The service level of the conversations that arrived in the interval (null when none
    /// is counted).
    pub service_level_percent: Vec<Option<f64>>,
}

/// A series being counted: the counts, and the service level's parts by interval.
struct SeriesAcc {
    series: QueueSeries,
    met: Vec<usize>,
    counted: Vec<usize>,
}

impl SeriesAcc {
    fn new(n: usize) -> Self {
        SeriesAcc {
            series: QueueSeries {
                offered: vec![0; n],
                accepted: vec![0; n],
                abandoned: vec![0; n],
                outbound: vec![0; n],
                ..Default::default()
            },
            met: vec![0; n],
            counted: vec![0; n],
        }
    }

    fn add(&mut self, k: usize, conv: &Conv, sl: Option<SlOutcome>) {
        let s = &mut self.series;
        if conv.outbound {
            s.outbound[k] += 1;
        } else {
            s.offered[k] += 1;
            if conv.accepted_at.is_some() {
                s.accepted[k] += 1;
            } else if conv.state == "closed" {
                s.abandoned[k] += 1;
            }
        }
        match sl {
            Some(SlOutcome::Met) => {
                self.met[k] += 1;
                self.counted[k] += 1;
            }
            Some(SlOutcome::Missed { .. }) => self.counted[k] += 1,
            _ => {}
        }
    }

    fn finished(self, queue_id: Option<i64>, queue_name: String) -> QueueSeries {
        let percents = self
            .met
            .iter()
            .zip(&self.counted)
            .map(|(m, c)| percent(*m, *c))
            .collect();
        QueueSeries {
            queue_id,
            queue_name,
            service_level_percent: percents,
            ..self.series
        }
    }
}

/// An agent's conversations by interval of arrival: those it took (accepted, transfers and
/// conferences included) and those it started.
#[derive(Debug, Clone, Default, PartialEq, Serialize, ToSchema)]
pub struct AgentSeries {
    pub agent_id: i64,
    pub display_name: String,
    pub accepted: Vec<usize>,
    pub outbound: Vec<usize>,
}

/// Per queue, for all queues, and per agent: the counts of each interval. Each series adds
/// up to the matching figure of [`queue_reports`] and [`agent_reports`] over the same range.
pub fn interval_series(
    f: &Facts,
    buckets: &Buckets,
    now: i64,
) -> (Vec<QueueSeries>, QueueSeries, Vec<AgentSeries>) {
    let n = buckets.len();
    let mut queues: BTreeMap<i64, SeriesAcc> = f
        .queue_ids()
        .into_iter()
        .map(|id| (id, SeriesAcc::new(n)))
        .collect();
    let mut totals = SeriesAcc::new(n);
    let mut bucket_of: HashMap<i64, usize> = HashMap::new();
    let mut conv_by_id: HashMap<i64, &Conv> = HashMap::new();
    for conv in &f.convs {
        let Some(k) = buckets.index(conv.created_at) else {
            continue;
        };
        bucket_of.insert(conv.id, k);
        conv_by_id.insert(conv.id, conv);
        let sl = service_level_outcome(conv, f.service_level_secs(conv.queue_id), now);
        queues
            .entry(conv.queue_id)
            .or_insert_with(|| SeriesAcc::new(n))
            .add(k, conv, sl);
        totals.add(k, conv, sl);
    }
    let mut agents: BTreeMap<i64, AgentSeries> = f
        .agent_ids()
        .into_iter()
        .map(|id| {
            let series = AgentSeries {
                agent_id: id,
                display_name: f.display_name(id),
                accepted: vec![0; n],
                outbound: vec![0; n],
            };
            (id, series)
        })
        .collect();
    for p in &f.parts {
        let (Some(k), Some(conv)) = (
            bucket_of.get(&p.interaction_id),
            conv_by_id.get(&p.interaction_id),
        ) else {
            continue;
        };
        let Some(a) = agents.get_mut(&p.agent_id) else {
            continue;
        };
        if p.started(conv) {
            a.outbound[*k] += 1;
        } else {
            a.accepted[*k] += 1;
        }
    }
    let queues = queues
        .into_iter()
        .map(|(id, s)| s.finished(Some(id), f.queue_name(id)))
        .collect();
    let totals = totals.finished(None, "all queues".into());
    (queues, totals, agents.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1000;
    const T0: i64 = 1_709_542_800_000; // 2024-03-04T09:00:00Z

    fn queue(name: &str, service_level_secs: i64) -> QueueFacts {
        QueueFacts {
            name: name.into(),
            wrap_up_secs: 60,
            service_level_secs,
            deleted: false,
        }
    }

    fn user(name: &str, role: &str) -> UserFacts {
        UserFacts {
            display_name: name.into(),
            role: role.into(),
            deleted: false,
        }
    }

    /// A customer's conversation: accepted after `wait` seconds, or closed unaccepted after
    /// `gone` seconds, or still waiting.
    fn conv(id: i64, queue_id: i64, created: i64, wait: Option<i64>, gone: Option<i64>) -> Conv {
        Conv {
            id,
            queue_id,
            state: if wait.is_some() || gone.is_some() {
                "closed".into()
            } else {
                "queued".into()
            },
            created_at: created,
            accepted_at: wait.map(|w| created + w * S),
            ended_at: wait.map(|w| created + (w + 100) * S),
            closed_at: wait
                .map(|w| created + (w + 110) * S)
                .or(gone.map(|g| created + g * S)),
            owner: wait.map(|_| 7),
            ..Default::default()
        }
    }

    fn owner(interaction_id: i64, agent_id: i64, joined_at: i64) -> Part {
        Part {
            interaction_id,
            agent_id,
            role: "owner".into(),
            joined_at,
            ..Default::default()
        }
    }

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
        assert_eq!(
            Durations::of(vec![-5]),
            Durations::default(),
            "skew left out"
        );
    }

    #[test]
    fn service_level_secs_are_1_to_86400() {
        assert_eq!(check_service_level_secs(1).unwrap(), 1);
        assert_eq!(check_service_level_secs(86_400).unwrap(), 86_400);
        for bad in [0, -1, 86_401, i64::MAX] {
            assert!(check_service_level_secs(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn each_conversation_meets_misses_or_is_left_out() {
        let now = T0 + 3600 * S;
        let at = |c: &Conv| service_level_outcome(c, 60, now);
        assert_eq!(
            at(&conv(1, 1, T0, Some(60), None)),
            Some(SlOutcome::Met),
            "at the threshold"
        );
        assert_eq!(
            at(&conv(1, 1, T0, Some(61), None)),
            Some(SlOutcome::Missed { waiting: false })
        );
        assert_eq!(
            at(&conv(1, 1, T0, None, Some(60))),
            Some(SlOutcome::AbandonedWithin)
        );
        assert_eq!(
            at(&conv(1, 1, T0, None, Some(61))),
            Some(SlOutcome::Missed { waiting: false })
        );
        // Still waiting: missed once past the threshold, undecided before.
        assert_eq!(
            at(&conv(1, 1, now - 61 * S, None, None)),
            Some(SlOutcome::Missed { waiting: true })
        );
        assert_eq!(
            at(&conv(1, 1, now - 60 * S, None, None)),
            Some(SlOutcome::Pending)
        );
        // The business started it: nobody waited.
        let mut out = conv(1, 1, T0, Some(0), None);
        out.outbound = true;
        assert_eq!(at(&out), None);
        // Closed without a close time: it waited past anything we can tell.
        let mut odd = conv(1, 1, T0, None, Some(1));
        odd.closed_at = None;
        assert_eq!(at(&odd), Some(SlOutcome::Missed { waiting: false }));
    }

    fn day() -> Facts {
        let mut f = Facts::default();
        f.queues.insert(1, queue("Sales", 30));
        f.queues.insert(2, queue("Billing", 120));
        f.users.insert(7, user("Ann", "agent"));
        f.users.insert(8, user("Ben", "agent"));
        f.users.insert(9, user("Root", "admin"));
        f.convs = vec![
            conv(1, 1, T0, Some(20), None),             // Sales, met (20 ≤ 30)
            conv(2, 1, T0 + 600 * S, Some(45), None),   // Sales, missed (45 > 30)
            conv(3, 1, T0 + 3600 * S, None, Some(10)),  // Sales, abandoned within: left out
            conv(4, 1, T0 + 3700 * S, None, Some(300)), // Sales, abandoned late: missed
            conv(5, 2, T0 + 7200 * S, Some(100), None), // Billing, met (100 ≤ 120)
            conv(6, 2, T0 + 7300 * S, None, None),      // Billing, waiting since: see `now`
        ];
        let mut started = conv(7, 2, T0 + 7400 * S, Some(0), None);
        started.outbound = true;
        f.convs.push(started);
        f.parts = vec![
            owner(1, 7, T0 + 20 * S),
            owner(2, 8, T0 + 645 * S),
            owner(5, 7, T0 + 7300 * S),
            owner(7, 8, T0 + 7400 * S),
        ];
        f
    }

    #[test]
    fn service_level_per_queue_and_for_all_queues() {
        let f = day();
        // Conversation 6 has waited 1000 s: past Billing's 120 s.
        let now = T0 + 8300 * S;
        let (queues, totals) = queue_reports(&f, now);
        let sales = &queues[0].service_level;
        assert_eq!(
            (
                sales.threshold_secs,
                sales.accepted_within,
                sales.abandoned_within
            ),
            (Some(30), 1, 1)
        );
        assert_eq!(
            (sales.waiting_over, sales.counted, sales.percent),
            (0, 3, Some(33.333))
        );
        let billing = &queues[1].service_level;
        assert_eq!(
            (
                billing.accepted_within,
                billing.waiting_over,
                billing.counted,
                billing.percent
            ),
            (1, 1, 2, Some(50.0))
        );
        let all = &totals.service_level;
        assert_eq!(all.threshold_secs, None);
        assert_eq!(
            (
                all.accepted_within,
                all.abandoned_within,
                all.waiting_over,
                all.counted
            ),
            (2, 1, 1, 5)
        );
        assert_eq!(all.percent, Some(40.0));
        // counted = accepted + abandoned − abandoned within + waiting over.
        assert_eq!(
            all.counted,
            totals.accepted + totals.abandoned - all.abandoned_within + all.waiting_over
        );
        assert_eq!(totals.outbound, 1);

        // Earlier, conversation 6 had waited only 100 s: not decided yet.
        let (queues, _) = queue_reports(&f, T0 + 7400 * S);
        let billing = &queues[1].service_level;
        assert_eq!((billing.counted, billing.percent), (1, Some(100.0)));
        // A queue with no conversation has no service level.
        let mut quiet = f.clone();
        quiet.queues.insert(3, queue("Quiet", 60));
        let (queues, _) = queue_reports(&quiet, now);
        assert_eq!(queues[2].service_level.percent, None);
        assert_eq!(queues[2].service_level.threshold_secs, Some(60));
    }

    #[test]
    fn buckets_cut_the_range_from_its_start() {
        let b = Buckets::new(T0, T0 + 3 * 3600 * S, 3600 * S);
        assert_eq!(b.len(), 3);
        assert_eq!(b.index(T0), Some(0));
        assert_eq!(b.index(T0 + 3600 * S - 1), Some(0));
        assert_eq!(b.index(T0 + 3600 * S), Some(1));
        assert_eq!(b.index(T0 + 3 * 3600 * S), None, "`to` is excluded");
        assert_eq!(b.index(T0 - 1), None);
        assert_eq!(b.starts(), vec![T0, T0 + 3600 * S, T0 + 7200 * S]);
        // A range that is not a whole number of hours ends with a short interval.
        let b = Buckets::new(T0, T0 + 90 * 60 * S, 3600 * S);
        assert_eq!(b.len(), 2);
        assert_eq!(b.index(T0 + 89 * 60 * S), Some(1));
        assert!(Buckets::new(T0, T0, 3600 * S).is_empty());
    }

    #[test]
    fn intervals_add_up_to_the_reports() {
        let f = day();
        let now = T0 + 8300 * S;
        let b = Buckets::new(T0, T0 + 3 * 3600 * S, 3600 * S);
        let (queues, totals, agents) = interval_series(&f, &b, now);
        let sum = |v: &[usize]| v.iter().sum::<usize>();
        assert_eq!(totals.offered, vec![2, 2, 2]);
        assert_eq!(totals.accepted, vec![2, 0, 1]);
        assert_eq!(totals.abandoned, vec![0, 2, 0]);
        assert_eq!(totals.outbound, vec![0, 0, 1]);
        assert_eq!(
            totals.service_level_percent,
            vec![Some(50.0), Some(0.0), Some(50.0)]
        );
        let (qr, tr) = queue_reports(&f, now);
        for (s, r) in queues.iter().zip(&qr).chain([(&totals, &tr)]) {
            assert_eq!(s.queue_id, r.queue_id);
            assert_eq!(sum(&s.offered), r.offered);
            assert_eq!(sum(&s.accepted), r.accepted);
            assert_eq!(sum(&s.abandoned), r.abandoned);
            assert_eq!(sum(&s.outbound), r.outbound);
        }
        assert_eq!(
            queues[1].service_level_percent,
            vec![None, None, Some(50.0)]
        );
        // Agents: every agent, admins aside; what each took and started.
        let ar = agent_reports(&f);
        assert_eq!(
            agents.iter().map(|a| a.agent_id).collect::<Vec<_>>(),
            ar.iter().map(|a| a.agent_id).collect::<Vec<_>>()
        );
        assert_eq!(agents[0].display_name, "Ann");
        assert_eq!(agents[0].accepted, vec![1, 0, 1]);
        assert_eq!(agents[1].accepted, vec![1, 0, 0]);
        assert_eq!(agents[1].outbound, vec![0, 0, 1]);
        for (s, r) in agents.iter().zip(&ar) {
            assert_eq!(
                (sum(&s.accepted), sum(&s.outbound)),
                (r.accepted, r.outbound)
            );
        }
        // Conversations outside the intervals are not counted.
        let short = Buckets::new(T0 + 3600 * S, T0 + 2 * 3600 * S, 3600 * S);
        let (_, totals, _) = interval_series(&f, &short, now);
        assert_eq!(totals.offered, vec![2]);
    }

    #[test]
    fn csat_averages_the_answers_only() {
        let mut f = day();
        f.surveys = vec![
            Survey {
                queue_id: 1,
                agent_id: Some(7),
                score: Some(5),
            },
            Survey {
                queue_id: 1,
                agent_id: Some(7),
                score: Some(4),
            },
            Survey {
                queue_id: 1,
                agent_id: Some(8),
                score: None,
            },
        ];
        let (queues, totals) = queue_reports(&f, T0);
        assert_eq!(totals.csat, queues[0].csat);
        assert_eq!(
            (totals.csat.sent, totals.csat.answered, totals.csat.average),
            (3, 2, Some(4.5))
        );
        let agents = agent_reports(&f);
        assert_eq!(agents[1].csat.sent, 1);
        assert_eq!(agents[1].csat.average, None);
    }
}
