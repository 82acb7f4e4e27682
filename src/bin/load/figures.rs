//! The figures of issue 18, taken from one run: the table in report.md, figures.json beside it,
//! and the median of several runs' figures.json (`--median-of`).

use super::common;
use super::report::{Phase, Report};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Ack p99 past which the mixed load is past its knee, ms.
pub const KNEE_P99_MS: f64 = 50.0;
/// The sweep step whose ack p99 is a figure.
pub const MIXED_RATE: f64 = 2000.0;

/// A target: how it reads, and whether a value meets it.
type Target = (&'static str, fn(f64) -> bool);

/// The targets of issue 18, for the report's table and for `--median-of`.
const RATIO: Target = ("≥ 0.30 ×", |v| v >= 0.30);
const CPU_US: Target = ("≤ 60 µs", |v| v <= 60.0);
const MIXED_P99: Target = ("< 10 ms", |v| v < 10.0);
const KNEE_RATE: f64 = 5000.0;
const KNEE: Target = ("≥ 5,000/s", |v| v >= KNEE_RATE);
const OFFER_P99: Target = ("< 10 ms", |v| v < 10.0);
const RESTART: Target = ("< 2 s", |v| v < 2.0);
const RSS: Target = ("< 400 MiB", |v| v < 400.0);
/// figures.json: flat, one number (or null: not measured) per figure.
#[derive(Serialize, Debug, Default)]
pub struct Figures {
    pub closed_loop_acked_per_sec: Option<f64>,
    pub closed_loop_to_sockets_per_sec: Option<f64>,
    pub bare_per_sec: Option<f64>,
    pub ratio_to_bare: Option<f64>,
    pub cpu_us_per_msg_closed_loop: Option<f64>,
    pub cpu_us_per_msg_1000: Option<f64>,
    pub mixed_2000_ack_p99_ms: Option<f64>,
    pub knee_per_sec: Option<f64>,
    pub offer_p99_ms_1000: Option<f64>,
    pub ack_p99_ms_1000: Option<f64>,
    pub frame_p99_ms_1000: Option<f64>,
    pub restart_listening_s: Option<f64>,
    pub restart_agents_back_s: Option<f64>,
    pub restart_routable_s: Option<f64>,
    pub peak_rss_mib: Option<f64>,
    pub pinned: bool,
    // Context, not figures.
    /// When no knee was found: "> 8000" (no step passed) or "< 500" (the first one did).
    pub knee_bound: Option<String>,
    /// Every open conversation back and every probe delivered after the restart.
    pub restart_all_back: Option<bool>,
    /// The headline phase's offered rate (1,000/s unless `--rate` says otherwise).
    pub headline_per_sec: Option<f64>,
    pub agents: usize,
    pub open_conversations: usize,
    pub smoke: bool,
}

/// Where the mixed load's ack p99 first passes [`KNEE_P99_MS`] in the sweep.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Knee {
    /// Interpolated between the last step under and the first over: (knee, (rate, p99) of
    /// the step under, (rate, p99) of the step over).
    At(f64, (f64, f64), (f64, f64)),
    /// No step passed it; the highest offered rate.
    Above(f64),
    /// The first step already passed it; its offered rate.
    Below(f64),
    /// No sweep step measured an ack.
    NotMeasured,
}

/// `steps`: (offered rate, ack p99 in ms); sorted here by rate, steps without a p99 skipped.
pub fn knee(steps: &[(f64, f64)]) -> Knee {
    let mut s: Vec<(f64, f64)> = steps.iter().copied().filter(|s| s.1.is_finite()).collect();
    s.sort_by(|a, b| a.0.total_cmp(&b.0));
    let Some(first_over) = s.iter().position(|&(_, p99)| p99 > KNEE_P99_MS) else {
        return s.last().map_or(Knee::NotMeasured, |&(r, _)| Knee::Above(r));
    };
    if first_over == 0 {
        return Knee::Below(s[0].0);
    }
    let (under, over) = (s[first_over - 1], s[first_over]);
    let (r1, p1, r2, p2) = (under.0, under.1, over.0, over.1);
    let k = r1 + (KNEE_P99_MS - p1) * (r2 - r1) / (p2 - p1);
    Knee::At(k, under, over)
}

fn fin(v: f64) -> Option<f64> {
    v.is_finite().then_some(v)
}

fn p99(h: &common::Hist) -> Option<f64> {
    fin(common::pcts(h)[2])
}

/// Server CPU per acknowledged inbound message in a phase, µs.
pub fn cpu_us_per_msg(p: &Phase) -> Option<f64> {
    let rate = p.acked_per_sec();
    (rate > 0.0).then(|| p.cpu_cores / rate * 1e6).and_then(fin)
}

fn mixed_step(r: &Report) -> Option<&Phase> {
    r.sweep
        .iter()
        .find(|p| p.offered.is_some_and(|o| (o - MIXED_RATE).abs() < 0.5))
}

fn sweep_knee(r: &Report) -> Knee {
    let steps: Vec<(f64, f64)> = r
        .sweep
        .iter()
        .filter_map(|p| Some((p.offered?, common::pcts(&p.h.ack)[2])))
        .collect();
    knee(&steps)
}

impl Figures {
    pub fn of(r: &Report) -> Figures {
        let mut f = Figures {
            pinned: r.pinned,
            agents: r.agents,
            open_conversations: r.open_conversations,
            smoke: r.smoke,
            ..Default::default()
        };
        let bare = r.bare.as_ref().and_then(|b| fin(b.0));
        f.bare_per_sec = bare;
        if let Some(t) = &r.throughput {
            f.closed_loop_acked_per_sec = fin(t.acked_per_sec());
            f.closed_loop_to_sockets_per_sec = fin(t.frames_per_sec());
            f.ratio_to_bare = bare
                .filter(|b| *b > 0.0)
                .and_then(|b| fin(t.frames_per_sec() / b));
            f.cpu_us_per_msg_closed_loop = cpu_us_per_msg(t);
        }
        if let Some(h) = &r.headline {
            f.headline_per_sec = h.offered;
            f.cpu_us_per_msg_1000 = cpu_us_per_msg(h);
            f.offer_p99_ms_1000 = p99(&h.h.offer);
            f.ack_p99_ms_1000 = p99(&h.h.ack);
            f.frame_p99_ms_1000 = p99(&h.h.frame);
        }
        f.mixed_2000_ack_p99_ms = mixed_step(r).and_then(|p| p99(&p.h.ack));
        match sweep_knee(r) {
            Knee::At(k, _, _) => f.knee_per_sec = fin(k),
            Knee::Above(max) => f.knee_bound = Some(format!("> {max:.0}")),
            Knee::Below(first) => f.knee_bound = Some(format!("< {first:.0}")),
            Knee::NotMeasured => {}
        }
        if let Some(x) = &r.restart {
            f.restart_listening_s = fin(x.listening);
            f.restart_agents_back_s = fin(x.agents_back);
            f.restart_routable_s = fin(x.routable);
            f.restart_all_back = Some(x.back >= x.held_before && x.probes_delivered == x.probes);
        }
        f.peak_rss_mib = r.scale.as_ref().and_then(|s| fin(s.rss.1));
        f
    }

    pub fn json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|_| "{}".into())
    }
}

fn verdict(ok: Option<bool>) -> &'static str {
    ok.map_or("unknown", super::report::verdict)
}

fn num(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

fn or_not_measured(v: Option<f64>, unit: &str) -> String {
    v.map_or("not measured".into(), |v| format!("{}{unit}", num(v)))
}

/// The "Issue 18 figures" section of report.md.
pub fn markdown(r: &Report) -> String {
    let f = Figures::of(r);
    let mut m = String::new();
    let _ = writeln!(m, "\n**Issue 18 figures**\n");
    let _ = writeln!(m, "| figure | measured | target | |");
    let _ = writeln!(m, "|---|---|---|---|");

    let (measured, ok) = match (&r.throughput, f.ratio_to_bare) {
        (Some(t), Some(ratio)) => (
            format!(
                "{:.0}/s = {:.2} × the bare handler ({:.0}/s in the same run)",
                t.frames_per_sec(),
                ratio,
                f.bare_per_sec.unwrap_or(f64::NAN)
            ),
            Some((RATIO.1)(ratio)),
        ),
        _ => ("not measured".into(), None),
    };
    let _ = writeln!(
        m,
        "| inbound path, closed loop, delivered to agents' sockets | {measured} | {} | {} |",
        RATIO.0,
        verdict(ok)
    );

    let (measured, ok) = match (&r.throughput, f.cpu_us_per_msg_closed_loop) {
        (Some(t), Some(us)) => (
            format!(
                "{} µs ({:.2} cores / {:.0} acked/s)",
                num(us),
                t.cpu_cores,
                t.acked_per_sec()
            ),
            Some((CPU_US.1)(us)),
        ),
        _ => ("not measured".into(), None),
    };
    let _ = writeln!(
        m,
        "| server CPU per inbound message, closed-loop phase | {measured} | {} | {} |",
        CPU_US.0,
        verdict(ok)
    );

    let ok = f.mixed_2000_ack_p99_ms.map(MIXED_P99.1);
    let _ = writeln!(
        m,
        "| mixed load at 2,000 messages/s: webhook ack p99 | {} | {} | {} |",
        or_not_measured(f.mixed_2000_ack_p99_ms, " ms"),
        MIXED_P99.0,
        verdict(ok)
    );

    let (measured, ok) = match sweep_knee(r) {
        Knee::At(k, (r1, p1), (r2, p2)) => (
            format!(
                "{k:.0}/s (ack p99 {} ms at {r1:.0}/s, {} ms at {r2:.0}/s)",
                num(p1),
                num(p2)
            ),
            Some((KNEE.1)(k)),
        ),
        Knee::Above(max) => (
            format!("> max swept ({max:.0}/s)"),
            (KNEE.1)(max).then_some(true),
        ),
        Knee::Below(first) => (
            format!("< first step ({first:.0}/s)"),
            (first <= KNEE_RATE).then_some(false),
        ),
        Knee::NotMeasured => ("not measured".into(), None),
    };
    let _ = writeln!(
        m,
        "| mixed load: the knee (offered rate where ack p99 first passes {KNEE_P99_MS:.0} ms, sweep) | {measured} | {} | {} |",
        KNEE.0,
        verdict(ok)
    );

    let rate = f.headline_per_sec.unwrap_or(f64::NAN);
    let ok = f.offer_p99_ms_1000.map(OFFER_P99.1);
    let _ = writeln!(
        m,
        "| at {rate:.0}/s with {} agents: new conversation → offer p99 | {} | {} | {} |",
        r.agents,
        or_not_measured(f.offer_p99_ms_1000, " ms"),
        OFFER_P99.0,
        verdict(ok)
    );

    let (measured, ok) = match &r.restart {
        Some(x) => {
            let all = f.restart_all_back == Some(true);
            (
                format!(
                    "{:.2} s ({} of {} back, {}/{} probes)",
                    x.routable, x.back, x.held_before, x.probes_delivered, x.probes
                ),
                Some(all && (RESTART.1)(x.routable)),
            )
        }
        None => ("not measured".into(), None),
    };
    let _ = writeln!(
        m,
        "| restart with {} open conversations, all back and routable | {measured} | {} | {} |",
        r.open_conversations,
        RESTART.0,
        verdict(ok)
    );

    let ok = f.peak_rss_mib.map(RSS.1);
    let _ = writeln!(
        m,
        "| peak RSS with {} agents + {} open conversations | {} | {} | {} |",
        r.agents,
        r.open_conversations,
        or_not_measured(f.peak_rss_mib, " MiB"),
        RSS.0,
        verdict(ok)
    );

    if let Some(h) = &r.headline {
        let _ = writeln!(
            m,
            "\nFor information: server CPU per inbound message in the headline phase ({:.0}/s, mixed load): {} ({:.2} cores / {:.0} acked/s).",
            h.offered.unwrap_or(f64::NAN),
            or_not_measured(f.cpu_us_per_msg_1000, " µs"),
            h.cpu_cores,
            h.acked_per_sec()
        );
    }
    if let Some(t) = r
        .throughput
        .as_ref()
        .filter(|t| r.pinned && t.cpu_cores < 0.9)
    {
        let _ = writeln!(
            m,
            "\nPinned, the server used {:.2} of its core in the closed-loop phase, so it was not saturated: the limit there was more likely the generator's core.",
            t.cpu_cores
        );
    }
    m
}

/// A figure of `--median-of`: its key in figures.json, its label, its target.
struct Row {
    key: &'static str,
    label: &'static str,
    target: Option<Target>,
}

const ROWS: &[Row] = &[
    Row {
        key: "closed_loop_acked_per_sec",
        label: "closed loop: acked/s",
        target: None,
    },
    Row {
        key: "closed_loop_to_sockets_per_sec",
        label: "closed loop: delivered to agents' sockets/s",
        target: None,
    },
    Row {
        key: "bare_per_sec",
        label: "bare handler/s",
        target: None,
    },
    Row {
        key: "ratio_to_bare",
        label: "closed loop to sockets ÷ bare handler",
        target: Some(RATIO),
    },
    Row {
        key: "cpu_us_per_msg_closed_loop",
        label: "server CPU per inbound message, closed loop, µs",
        target: Some(CPU_US),
    },
    Row {
        key: "cpu_us_per_msg_1000",
        label: "server CPU per inbound message, headline (1,000/s), µs",
        target: None,
    },
    Row {
        key: "mixed_2000_ack_p99_ms",
        label: "mixed load at 2,000/s: webhook ack p99, ms",
        target: Some(MIXED_P99),
    },
    Row {
        key: "knee_per_sec",
        label: "mixed load: knee (ack p99 past 50 ms), /s",
        target: Some(KNEE),
    },
    Row {
        key: "offer_p99_ms_1000",
        label: "headline: new conversation → offer p99, ms",
        target: Some(OFFER_P99),
    },
    Row {
        key: "ack_p99_ms_1000",
        label: "headline: webhook ack p99, ms",
        target: None,
    },
    Row {
        key: "frame_p99_ms_1000",
        label: "headline: message → agent frame p99, ms",
        target: None,
    },
    Row {
        key: "restart_listening_s",
        label: "restart: listening, s",
        target: None,
    },
    Row {
        key: "restart_agents_back_s",
        label: "restart: agents back, s",
        target: None,
    },
    Row {
        key: "restart_routable_s",
        label: "restart: all back and routable, s",
        target: Some(RESTART),
    },
    Row {
        key: "peak_rss_mib",
        label: "peak RSS, MiB",
        target: Some(RSS),
    },
];

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// `--median-of`: reads each DIR/figures.json and tabulates the median of every figure.
pub fn median_of(dirs: &[PathBuf]) -> anyhow::Result<String> {
    anyhow::ensure!(!dirs.is_empty(), "--median-of needs at least one directory");
    let mut runs = Vec::new();
    for d in dirs {
        let path = d.join("figures.json");
        let text = std::fs::read_to_string(&path)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        anyhow::ensure!(v.is_object(), "{}: not a JSON object", path.display());
        runs.push(v);
    }
    let n = runs.len();
    let mut m = String::new();
    let _ = writeln!(m, "**Median of {n} runs**\n");
    let _ = write!(m, "| figure | median | min–max |");
    for i in 1..=n {
        let _ = write!(m, " run {i} |");
    }
    let _ = writeln!(m, " target | |");
    let _ = write!(m, "|---|---:|---:|");
    for _ in 0..n {
        let _ = write!(m, "---:|");
    }
    let _ = writeln!(m, "---|---|");
    for row in ROWS {
        let values: Vec<Option<f64>> = runs.iter().map(|r| r[row.key].as_f64()).collect();
        let mut have: Vec<f64> = values.iter().flatten().copied().collect();
        have.sort_by(f64::total_cmp);
        let (med, spread, ok) = if have.is_empty() {
            ("not measured".to_string(), "–".to_string(), None)
        } else {
            let med = median(&have);
            let count = if have.len() < n {
                format!(" ({} of {n} runs)", have.len())
            } else {
                String::new()
            };
            (
                format!("{}{count}", num(med)),
                format!("{}–{}", num(have[0]), num(have[have.len() - 1])),
                row.target.map(|(_, f)| f(med)),
            )
        };
        let _ = write!(m, "| {} | {med} | {spread} |", row.label);
        for (v, run) in values.iter().zip(&runs) {
            let cell = match v {
                Some(v) => num(*v),
                None if row.key == "knee_per_sec" => run["knee_bound"]
                    .as_str()
                    .map_or("–".into(), |b| b.to_string()),
                None => "–".into(),
            };
            let _ = write!(m, " {cell} |");
        }
        let (target, met) = match row.target {
            Some((t, _)) => (t, verdict(ok)),
            None => ("–", ""),
        };
        let _ = writeln!(m, " {target} | {met} |");
    }
    let _ = writeln!(m);
    for (i, (d, r)) in dirs.iter().zip(&runs).enumerate() {
        let mut notes = Vec::new();
        if r["pinned"].as_bool() == Some(true) {
            notes.push("pinned");
        }
        if r["smoke"].as_bool() == Some(true) {
            notes.push("smoke scale");
        }
        if r["restart_all_back"].as_bool() == Some(false) {
            notes.push("not all back after the restart");
        }
        let notes = if notes.is_empty() {
            String::new()
        } else {
            format!(" ({})", notes.join(", "))
        };
        let _ = writeln!(m, "- run {}: `{}`{notes}", i + 1, d.display());
    }
    let pinned: Vec<bool> = runs
        .iter()
        .map(|r| r["pinned"].as_bool().unwrap_or(false))
        .collect();
    if pinned.iter().any(|&p| p) && !pinned.iter().all(|&p| p) {
        let _ = writeln!(
            m,
            "\nThe runs mix pinned and unpinned ones: their figures are not comparable."
        );
    }
    let _ = writeln!(
        m,
        "\nMedian of the runs that measured the figure (null values ignored); met or missed is the median's. A knee shown as \"> N\" or \"< N\" was not found in that run's sweep."
    );
    Ok(m)
}

pub fn write_median(dirs: &[PathBuf], out: &Path) -> anyhow::Result<()> {
    let m = median_of(dirs)?;
    std::fs::create_dir_all(out)?;
    let path = out.join("median.md");
    std::fs::write(&path, &m)?;
    println!("{m}");
    println!("wrote {}", path.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knee_interpolates_between_the_last_step_under_and_the_first_over() {
        let k = knee(&[
            (1000.0, 5.0),
            (2000.0, 30.0),
            (4000.0, 130.0),
            (3000.0, 40.0),
        ]);
        // 3000/s: 40 ms, 4000/s: 130 ms: 50 ms at 3000 + 10/90 × 1000.
        let Knee::At(v, under, over) = k else {
            panic!("{k:?}")
        };
        assert!((v - 3111.1).abs() < 0.1, "{v}");
        assert_eq!((under, over), ((3000.0, 40.0), (4000.0, 130.0)));
        assert_eq!(knee(&[(500.0, 1.0), (8000.0, 49.0)]), Knee::Above(8000.0));
        assert_eq!(knee(&[(500.0, 60.0), (8000.0, 400.0)]), Knee::Below(500.0));
        assert_eq!(knee(&[]), Knee::NotMeasured);
        assert_eq!(knee(&[(500.0, f64::NAN)]), Knee::NotMeasured);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[1.0, 2.0, 9.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), 3.0);
    }
}
