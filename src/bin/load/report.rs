//! The run's results: a Markdown report (docs/BENCHMARKS.md reproduces it), a CSV with one row
//! per phase, and a plot of latency percentiles against offered load.

use super::common::{self, Hist};
use super::sim::{Counters, Hists};
use super::sqlite::SqliteBaseline;
use std::fmt::Write as _;
use std::path::Path;

pub struct Phase {
    pub name: String,
    pub offered: Option<f64>,
    pub seconds: f64,
    pub c: Counters,
    pub h: Hists,
    pub send_api: Hist,
    pub cpu_cores: f64,
    pub rss: (f64, f64),
}

impl Phase {
    pub fn acked_per_sec(&self) -> f64 {
        self.c.acked as f64 / self.seconds
    }
    pub fn frames_per_sec(&self) -> f64 {
        self.c.frames as f64 / self.seconds
    }
    pub fn line(&self) -> String {
        let a = common::pcts(&self.h.ack);
        let f = common::pcts(&self.h.frame);
        let o = common::pcts(&self.h.offer);
        let s = common::pcts(&self.send_api);
        format!(
            "{:<26} {:>7.0} acks/s {:>7.0} frames/s | ack p50 {:.2} p99 {:.2} | frame p99 {:.2} | offer p99 {:.2} | send→API p99 {:.2} ms | cpu {:.2} | failed {} dropped {} starved {}",
            self.name,
            self.acked_per_sec(),
            self.frames_per_sec(),
            a[0],
            a[2],
            f[2],
            o[2],
            s[2],
            self.cpu_cores,
            self.c.failed,
            self.c.dropped,
            self.c.starved
        )
    }
}

pub struct Scale {
    pub agents: usize,
    pub open: usize,
    pub accepted: usize,
    pub rss: (f64, f64),
}

pub struct Restart {
    pub listening: f64,
    pub agents_back: f64,
    pub routable: f64,
    pub held_before: usize,
    pub back: usize,
    pub failed_agents: usize,
    pub probes: usize,
    pub probes_delivered: usize,
    pub rss_after: (f64, f64),
}

pub struct Report {
    pub date: String,
    pub command: String,
    pub machine: String,
    pub load_before: String,
    pub load_after: String,
    pub agents: usize,
    pub max_concurrent: u32,
    pub connections: usize,
    pub open_conversations: usize,
    pub smoke: bool,
    /// `--pin`: the generator on CPU 0, the server on CPU 1.
    pub pinned: bool,
    pub sqlite: Option<SqliteBaseline>,
    pub bare: Option<(f64, Hist)>,
    pub logins: Option<super::logins::Logins>,
    pub connect_secs: f64,
    pub sweep: Vec<Phase>,
    pub headline: Option<Phase>,
    pub throughput: Option<Phase>,
    pub open_phase: Option<Phase>,
    pub open_secs: f64,
    pub scale: Option<Scale>,
    pub restart: Option<Restart>,
    pub mock_requests: u64,
    pub mock_errors: u64,
    pub mock_retries: u64,
    pub mock_statuses: u64,
    pub notes: Vec<String>,
}

fn ms(v: f64) -> String {
    if v.is_nan() {
        "–".into()
    } else if v < 10.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.1}")
    }
}

pub(super) fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "**missed**"
    }
}

impl Report {
    pub fn new(args: &super::Args, command: &str) -> Report {
        Report {
            date: chrono::Utc::now().format("%Y-%m-%d %H:%M UTC").to_string(),
            command: command.to_string(),
            machine: common::machine(),
            load_before: common::load_average(),
            load_after: String::new(),
            agents: args.agents,
            max_concurrent: args.max_concurrent,
            connections: args.connections,
            open_conversations: args.open_conversations,
            smoke: args.smoke,
            pinned: args.pin,
            sqlite: None,
            bare: None,
            logins: None,
            connect_secs: 0.0,
            sweep: Vec::new(),
            headline: None,
            throughput: None,
            open_phase: None,
            open_secs: 0.0,
            scale: None,
            restart: None,
            mock_requests: 0,
            mock_errors: 0,
            mock_retries: 0,
            mock_statuses: 0,
            notes: Vec::new(),
        }
    }

    fn phases(&self) -> impl Iterator<Item = &Phase> {
        self.sweep
            .iter()
            .chain(self.headline.iter())
            .chain(self.throughput.iter())
            .chain(self.open_phase.iter())
    }

    pub fn markdown(&self) -> String {
        let mut m = String::new();
        let _ = writeln!(
            m,
            "Run of {}{}.\n",
            self.date,
            if self.smoke {
                " (smoke scale: not a measurement)"
            } else {
                ""
            }
        );
        let _ = writeln!(m, "- Command: `{}`", self.command);
        let _ = writeln!(
            m,
            "- Machine: {}; the load generator, the mock Cloud API and the server share it.",
            self.machine
        );
        let _ = writeln!(
            m,
            "- Load average (1, 5, 15 min) before: {}; after: {}.",
            self.load_before, self.load_after
        );
        if self.pinned {
            let _ = writeln!(
                m,
                "- pinned: generator on CPU 0, server on CPU 1 (the mock Cloud API with the generator; the bare handler and the raw SQLite baseline with the server)."
            );
        }
        let _ = writeln!(
            m,
            "- {} agents (max_concurrent {}), connected in {:.2} s.\n",
            self.agents, self.max_concurrent, self.connect_secs
        );

        let _ = writeln!(m, "**The limits, measured in this run**\n");
        let _ = writeln!(m, "| limit | rate |");
        let _ = writeln!(m, "|---|---:|");
        if let Some((rate, h)) = &self.bare {
            let p = common::pcts(h);
            let _ = writeln!(m, "| bare actix-web handler, same signed POST, same client, {} connections (p50 {} ms, p99 {} ms) | {:.0}/s |", self.connections, ms(p[0]), ms(p[2]), rate);
        }
        if let Some(s) = &self.sqlite {
            let _ = writeln!(
                m,
                "| raw SQLite, the rows of one inbound message, one commit each | {:.0}/s |",
                s.single_row_commits
            );
            let _ = writeln!(
                m,
                "| raw SQLite, batches of 100 per commit | {:.0}/s |",
                s.batches_of_100
            );
            let _ = writeln!(
                m,
                "| raw SQLite, the store's batching ({} per commit, a savepoint each) | {:.0}/s |",
                s.max_batch, s.project_batching
            );
        }

        let _ = writeln!(
            m,
            "\n**Switchboard** (latency in ms, from each message's scheduled send time)\n"
        );
        let _ = writeln!(m, "| phase | offered/s | acked/s | to sockets/s | ack p50 | ack p99 | ack p99.9 | msg→frame p50 | msg→frame p99 | new conv→offer p50 | new conv→offer p99 | send→Cloud API p99 | server CPU (cores) | failed / dropped / starved |");
        let _ = writeln!(
            m,
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for p in self.phases() {
            let a = common::pcts(&p.h.ack);
            let f = common::pcts(&p.h.frame);
            let o = common::pcts(&p.h.offer);
            let s = common::pcts(&p.send_api);
            let _ = writeln!(
                m,
                "| {} | {} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {} / {} / {} |",
                p.name,
                p.offered.map_or("closed loop".into(), |r| format!("{r:.0}")),
                p.acked_per_sec(),
                p.frames_per_sec(),
                ms(a[0]), ms(a[2]), ms(a[3]), ms(f[0]), ms(f[2]), ms(o[0]), ms(o[2]), ms(s[2]),
                p.cpu_cores, p.c.failed, p.c.dropped, p.c.starved
            );
        }
        let _ = writeln!(m, "\nMock Cloud API: {} send requests ({} answered 500 on purpose; {} retries of those by Switchboard, not counted in send→Cloud API latency, which is the first attempt's), {} status webhooks (delivered, read) posted back.", self.mock_requests, self.mock_errors, self.mock_retries, self.mock_statuses);

        if let Some(l) = &self.logins {
            let p = common::pcts(&l.hist);
            let _ = writeln!(m, "\n**Logins** (argon2id, 19 MiB each), before anything else: {}/{} password logins succeeded, {} in flight at a time: {:.0}/s, latency p50 {} ms, p99 {} ms. Server RSS {:.1} MiB before, {:.1} MiB after; peak {:.1} MiB (it was {:.1} MiB before the burst).", l.ok, l.n, l.concurrency, l.n as f64 / l.seconds, ms(p[0]), ms(p[2]), l.before.0, l.after.0, l.after.1, l.before.1);
        }
        if let Some(s) = &self.scale {
            let _ = writeln!(m, "\n**Scale**: {} agents connected, {} open conversations held by agents ({} accepted, opened in {:.1} s); server RSS {:.0} MiB, peak {:.0} MiB over the whole run.", s.agents, s.open, s.accepted, self.open_secs, s.rss.0, s.rss.1);
        }
        if let Some(r) = &self.restart {
            let _ = writeln!(m, "\n**Restart** (`kill -9`, then the same database): listening after {:.2} s (every open conversation is restored before the server listens); all {} agents reconnected with {} of {} conversations back (in their `hello`, or offered again if an offer was pending) after {:.2} s; {}/{} probe messages to open conversations delivered to agents' sockets after {:.2} s. RSS after: {:.0} MiB.", r.listening, self.agents - r.failed_agents, r.back, r.held_before, r.agents_back, r.probes_delivered, r.probes, r.routable, r.rss_after.0);
        }

        let _ = writeln!(m, "\n**Targets**\n");
        let _ = writeln!(m, "| target | measured | |");
        let _ = writeln!(m, "|---|---|---|");
        if let Some(t) = &self.throughput {
            let rate = t.acked_per_sec().min(t.frames_per_sec());
            let _ = writeln!(m, "| ≥ 10,000 customer messages/s acknowledged and delivered to agents' sockets | {:.0}/s acked, {:.0}/s to sockets | {} |", t.acked_per_sec(), t.frames_per_sec(), verdict(rate >= 10_000.0));
            if let Some((bare, _)) = &self.bare {
                let _ = writeln!(
                    m,
                    "| ≥ 0.3 × the bare handler | {:.2} × ({:.0} / {:.0}) | {} |",
                    rate / bare,
                    rate,
                    bare,
                    verdict(rate >= 0.3 * bare)
                );
            }
        }
        if let Some(p) = &self.headline {
            let a = common::pcts(&p.h.ack)[2];
            let f = common::pcts(&p.h.frame)[2];
            let o = common::pcts(&p.h.offer)[2];
            let _ = writeln!(
                m,
                "| at {:.0}/s: webhook ack p99 < 10 ms | {} ms | {} |",
                p.offered.unwrap_or(0.0),
                ms(a),
                verdict(a < 10.0)
            );
            let _ = writeln!(
                m,
                "| at {:.0}/s: message → agent frame p99 < 15 ms | {} ms | {} |",
                p.offered.unwrap_or(0.0),
                ms(f),
                verdict(f < 15.0)
            );
            let _ = writeln!(m, "| at {:.0}/s: new conversation → offer p99 < 10 ms, {} agents connected | {} ms | {} |", p.offered.unwrap_or(0.0), self.agents, ms(o), verdict(o < 10.0));
        }
        if let Some(s) = &self.scale {
            let _ = writeln!(
                m,
                "| {} agents and {} open conversations in < 1 GiB RSS | peak {:.0} MiB | {} |",
                s.agents,
                s.open,
                s.rss.1,
                verdict(s.rss.1 < 1024.0)
            );
        }
        if let Some(r) = &self.restart {
            let all = r.back >= r.held_before && r.probes_delivered == r.probes;
            let _ = writeln!(m, "| restart with {} open conversations: all back and routable < 3 s | {:.2} s ({} back, {}/{} probes) | {} |", r.held_before, r.routable, r.back, r.probes_delivered, r.probes, verdict(all && r.routable < 3.0));
        }
        m.push_str(&super::figures::markdown(self));
        for n in &self.notes {
            let _ = writeln!(m, "\n{n}");
        }
        m
    }

    pub fn csv(&self) -> String {
        let mut c = String::from("phase,offered_per_s,seconds,acked_per_s,frames_per_s,ack_p50_ms,ack_p90_ms,ack_p99_ms,ack_p999_ms,ack_max_ms,frame_p50_ms,frame_p99_ms,frame_p999_ms,offer_p50_ms,offer_p99_ms,send_api_p50_ms,send_api_p99_ms,server_cpu_cores,server_rss_mib,failed,dropped,starved,offers,replies,ws_errors\n");
        for p in self.phases() {
            let a = common::pcts(&p.h.ack);
            let f = common::pcts(&p.h.frame);
            let o = common::pcts(&p.h.offer);
            let s = common::pcts(&p.send_api);
            let _ = writeln!(
                c,
                "{},{},{:.2},{:.1},{:.1},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.3},{:.2},{:.0},{},{},{},{},{},{}",
                p.name, p.offered.map_or(String::new(), |r| format!("{r:.0}")), p.seconds,
                p.acked_per_sec(), p.frames_per_sec(), a[0], a[1], a[2], a[3], a[4], f[0], f[2], f[3], o[0], o[2], s[0], s[2],
                p.cpu_cores, p.rss.0, p.c.failed, p.c.dropped, p.c.starved, p.c.offers, p.c.replies, p.c.ws_errors
            );
        }
        c
    }

    pub fn write(&self, dir: &Path) -> anyhow::Result<()> {
        std::fs::write(dir.join("report.md"), self.markdown())?;
        std::fs::write(dir.join("report.csv"), self.csv())?;
        std::fs::write(
            dir.join("figures.json"),
            super::figures::Figures::of(self).json(),
        )?;
        if let Err(e) = self.plot(&dir.join("latency-vs-load.png")) {
            eprintln!("no plot: {e}");
        }
        Ok(())
    }

    /// p50 and p99 of the three latencies against offered load (the sweep and the headline).
    fn plot(&self, path: &Path) -> anyhow::Result<()> {
        use plotters::prelude::*;
        let mut points: Vec<&Phase> = self
            .sweep
            .iter()
            .chain(self.headline.iter())
            .filter(|p| p.offered.is_some())
            .collect();
        points.sort_by(|a, b| {
            a.offered
                .partial_cmp(&b.offered)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        anyhow::ensure!(points.len() >= 2, "not enough sweep points");
        register_font()?;
        let x_max = points.iter().filter_map(|p| p.offered).fold(0.0, f64::max) * 1.05;
        let series: [Series; 4] = [
            ("webhook ack", |p| &p.h.ack, 2, RGBColor(31, 119, 180)),
            (
                "message → agent frame",
                |p| &p.h.frame,
                2,
                RGBColor(214, 39, 40),
            ),
            (
                "new conversation → offer",
                |p| &p.h.offer,
                2,
                RGBColor(44, 160, 44),
            ),
            (
                "agent send → Cloud API",
                |p| &p.send_api,
                2,
                RGBColor(148, 103, 189),
            ),
        ];
        let y_max = points
            .iter()
            .flat_map(|p| series.iter().map(move |s| common::pcts((s.1)(p))[2]))
            .filter(|v| v.is_finite())
            .fold(1.0, f64::max)
            * 1.5;
        let root = BitMapBackend::new(path, (1000, 600)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "Switchboard latency against offered load ({})",
                    self.machine_short()
                ),
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d(0f64..x_max, (0.1f64..y_max).log_scale())?;
        chart
            .configure_mesh()
            .x_desc("offered load, customer messages per second (open loop)")
            .y_desc("latency, ms (log scale)")
            .label_style(("sans-serif", 14))
            .draw()?;
        for (name, get, _, color) in series {
            for (q, dashed) in [(0usize, true), (2usize, false)] {
                let data: Vec<(f64, f64)> = points
                    .iter()
                    .filter_map(|p| {
                        let v = common::pcts(get(p))[q];
                        v.is_finite()
                            .then(|| (p.offered.unwrap_or(0.0), v.max(0.1)))
                    })
                    .collect();
                let label = format!("{name} {}", if q == 0 { "p50" } else { "p99" });
                let style = if dashed {
                    color.mix(0.5).stroke_width(1)
                } else {
                    color.stroke_width(2)
                };
                chart
                    .draw_series(LineSeries::new(data.clone(), style))?
                    .label(label)
                    .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
                chart.draw_series(
                    data.iter()
                        .map(|&(x, y)| Circle::new((x, y), 3, color.filled())),
                )?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font(("sans-serif", 13))
            .draw()?;
        root.present()?;
        Ok(())
    }

    /// At smoke scale the figures mean nothing, but every path must have worked.
    pub fn smoke_check(&self) -> anyhow::Result<()> {
        let l = self
            .logins
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no login phase"))?;
        anyhow::ensure!(l.ok == l.n, "{} of {} logins failed", l.n - l.ok, l.n);
        let h = self
            .headline
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no headline phase"))?;
        anyhow::ensure!(
            h.c.acked > 0 && h.c.failed == 0,
            "webhook deliveries failed"
        );
        anyhow::ensure!(h.c.frames > 0, "no customer message reached an agent");
        anyhow::ensure!(h.c.offers > 0, "no offer reached an agent");
        anyhow::ensure!(
            self.mock_requests > 0,
            "no agent reply reached the Cloud API"
        );
        let r = self
            .restart
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no restart phase"))?;
        anyhow::ensure!(
            r.back >= r.held_before && r.probes_delivered == r.probes,
            "after the restart {} of {} conversations came back, {}/{} probes delivered",
            r.back,
            r.held_before,
            r.probes_delivered,
            r.probes
        );
        Ok(())
    }

    fn machine_short(&self) -> String {
        self.machine.split(" (").next().unwrap_or("").to_string()
    }
}

/// A plotted latency: its name, where it is in a phase, a spare field, its colour.
type Series = (
    &'static str,
    fn(&Phase) -> &Hist,
    usize,
    plotters::style::RGBColor,
);

/// plotters draws text with a font it is given: DejaVu Sans from the system.
fn register_font() -> anyhow::Result<()> {
    let candidates = [
        "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
        "/usr/share/fonts/TTF/DejaVuSans.ttf",
        "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    ];
    let bytes = candidates
        .iter()
        .find_map(|p| std::fs::read(p).ok())
        .ok_or_else(|| anyhow::anyhow!("no TrueType font found (install fonts-dejavu-core)"))?;
    let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
    plotters::style::register_font("sans-serif", plotters::style::FontStyle::Normal, bytes)
        .map_err(|_| anyhow::anyhow!("font not usable"))?;
    Ok(())
}
