//! `--flamegraph`: a `perf` profile of the server during the closed-loop throughput phase,
//! rendered with inferno (flamegraph.svg), with the share of samples per thread and the top
//! self frames (profile-threads.md).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const TOOLS: [(&str, &str); 3] = [
    (
        "perf",
        "apt-get install linux-perf (Debian; linux-tools-common on Ubuntu)",
    ),
    ("inferno-collapse-perf", "cargo install inferno"),
    ("inferno-flamegraph", "cargo install inferno"),
];

fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// Fails with how to install them when a tool is not on PATH.
pub fn check_tools() -> anyhow::Result<()> {
    let missing: Vec<String> = TOOLS
        .iter()
        .filter(|(name, _)| on_path(name).is_none())
        .map(|(name, how)| format!("`{name}` ({how})"))
        .collect();
    anyhow::ensure!(
        missing.is_empty(),
        "--flamegraph needs {} on PATH",
        missing.join(" and ")
    );
    Ok(())
}

/// Starts `perf record` on the server for `seconds`; its output goes to `out`/perf.log.
pub fn record(pid: u32, seconds: f64, out: &Path) -> anyhow::Result<Child> {
    let log = std::fs::File::create(out.join("perf.log"))?;
    let child = Command::new("perf")
        .args(["record", "-e", "cpu-clock", "-F", "499", "--call-graph"])
        .arg("dwarf,32768")
        .arg("-p")
        .arg(pid.to_string())
        .arg("-o")
        .arg(out.join("perf.data"))
        .args(["--", "sleep"])
        .arg(format!("{seconds:.3}"))
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .spawn()
        .map_err(|e| anyhow::anyhow!("perf record: {e}"))?;
    Ok(child)
}

/// Waits for `perf record` without blocking the simulation's event loop.
pub async fn wait(mut child: Child, max: Duration) -> anyhow::Result<()> {
    let until = Instant::now() + max;
    loop {
        if let Some(status) = child.try_wait()? {
            anyhow::ensure!(
                status.success(),
                "perf record failed ({status}): see perf.log"
            );
            return Ok(());
        }
        if Instant::now() > until {
            let _ = child.kill();
            let _ = child.wait();
            anyhow::bail!("perf record did not finish in {} s", max.as_secs());
        }
        actix_rt::time::sleep(Duration::from_millis(20)).await;
    }
}

/// perf.data → collapsed.txt → flamegraph.svg, and profile-threads.md.
pub fn render(out: &Path, keep_perf_data: bool) -> anyhow::Result<()> {
    let data = out.join("perf.data");
    anyhow::ensure!(data.exists(), "no {}", data.display());
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(out.join("perf.log"))?;
    let collapsed = out.join("collapsed.txt");
    let mut script = Command::new("perf")
        .arg("script")
        .arg("-i")
        .arg(&data)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log.try_clone()?)
        .spawn()
        .map_err(|e| anyhow::anyhow!("perf script: {e}"))?;
    let script_out = script.stdout.take().expect("piped stdout");
    let collapse = Command::new("inferno-collapse-perf")
        .args(["--tid", "--all"])
        .stdin(script_out)
        .stdout(std::fs::File::create(&collapsed)?)
        .stderr(log.try_clone()?)
        .status()
        .map_err(|e| anyhow::anyhow!("inferno-collapse-perf: {e}"))?;
    let script_status = script.wait()?;
    anyhow::ensure!(
        script_status.success(),
        "perf script failed ({script_status}): see perf.log"
    );
    anyhow::ensure!(
        collapse.success(),
        "inferno-collapse-perf failed ({collapse}): see perf.log"
    );
    let svg = out.join("flamegraph.svg");
    let flame = Command::new("inferno-flamegraph")
        .arg("--title")
        .arg("Switchboard, closed-loop throughput phase (perf cpu-clock, 499 Hz)")
        .stdin(std::fs::File::open(&collapsed)?)
        .stdout(std::fs::File::create(&svg)?)
        .stderr(log)
        .status()
        .map_err(|e| anyhow::anyhow!("inferno-flamegraph: {e}"))?;
    anyhow::ensure!(
        flame.success(),
        "inferno-flamegraph failed ({flame}): see perf.log"
    );
    let text = std::fs::read_to_string(&collapsed)?;
    let samples = std::fs::read_to_string(out.join("perf.log"))
        .ok()
        .and_then(|l| recorded_samples(&l));
    std::fs::write(
        out.join("profile-threads.md"),
        threads_markdown(&text, samples),
    )?;
    if !keep_perf_data {
        std::fs::remove_file(&data)?;
    }
    Ok(())
}

/// The sample count from perf record's `[ perf record: Captured and wrote ... (N samples) ]`.
fn recorded_samples(log: &str) -> Option<u64> {
    let line = log.lines().find(|l| l.contains("perf record: Captured"))?;
    let (_, rest) = line.rsplit_once('(')?;
    rest.split_whitespace().next()?.parse().ok()
}

/// One collapsed line: (the thread's comm, its tid, the last frame, samples).
fn parse_line(line: &str) -> Option<(&str, &str, &str, u64)> {
    let (stack, count) = line.trim_end().rsplit_once(' ')?;
    let count = count.parse().ok()?;
    let first = stack.split(';').next()?;
    let last = stack.rsplit(';').next()?;
    // `comm-pid/tid` (pid `?` when perf script does not print it).
    let (left, tid) = first.rsplit_once('/')?;
    let comm = left.rsplit_once('-').map_or(left, |(c, _)| c);
    Some((comm, tid, last, count))
}

/// Share of samples per thread and the top 40 self frames, from collapsed stacks.
pub fn threads_markdown(collapsed: &str, samples: Option<u64>) -> String {
    let mut threads: HashMap<(&str, &str), u64> = HashMap::new();
    let mut frames: HashMap<&str, u64> = HashMap::new();
    let mut total = 0u64;
    for (comm, tid, last, count) in collapsed.lines().filter_map(parse_line) {
        *threads.entry((tid, comm)).or_default() += count;
        *frames.entry(last).or_default() += count;
        total += count;
    }
    let pct = |n: u64| 100.0 * n as f64 / total.max(1) as f64;
    let mut m = String::new();
    let samples = samples.map_or(String::new(), |n| format!("{n} samples, "));
    let _ = writeln!(
        m,
        "# Server profile, closed-loop throughput phase\n\n{samples}perf cpu-clock at 499 Hz, every thread of the server. Weights are the samples' periods as perf reports them (for cpu-clock, nanoseconds of CPU time); total {total}.\n"
    );
    let _ = writeln!(m, "## Samples per thread\n");
    let _ = writeln!(m, "| thread | tid | weight | share |");
    let _ = writeln!(m, "|---|---:|---:|---:|");
    let mut threads: Vec<_> = threads.into_iter().collect();
    threads.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    for ((tid, comm), n) in &threads {
        let comm = comm.replace('|', "\\|");
        let _ = writeln!(m, "| {comm} | {tid} | {n} | {:.1} % |", pct(*n));
    }
    let _ = writeln!(m, "\n## Top 40 self frames\n");
    let _ = writeln!(m, "| frame | weight | share |");
    let _ = writeln!(m, "|---|---:|---:|");
    let mut frames: Vec<_> = frames.into_iter().collect();
    frames.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    for (frame, n) in frames.iter().take(40) {
        let frame = frame.replace('|', "\\|");
        let _ = writeln!(m, "| `{frame}` | {n} | {:.1} % |", pct(*n));
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn threads_and_self_frames_from_collapsed_stacks() {
        let c = "actix-rt|system:0|arbiter:0-?/101;main;a;b 30\n\
                 actix-rt|system:0|arbiter:0-?/101;main;c 10\n\
                 sqlite-writer-?/102;run;b 60\n";
        let m = threads_markdown(c, Some(3));
        assert!(m.contains("3 samples,"), "{m}");
        assert!(m.contains("total 100."), "{m}");
        assert!(m.contains("| sqlite-writer | 102 | 60 | 60.0 % |"), "{m}");
        assert!(
            m.contains("| actix-rt\\|system:0\\|arbiter:0 | 101 | 40 | 40.0 % |"),
            "{m}"
        );
        assert!(m.contains("| `b` | 90 | 90.0 % |"), "{m}");
        let log = "[ perf record: Woken up 51 times to write data ]\n\
                   [ perf record: Captured and wrote 12.909 MB perf.data (408 samples) ]\n";
        assert_eq!(recorded_samples(log), Some(408));
    }
}
