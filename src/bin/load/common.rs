//! Shared helpers: one clock for every thread, histograms, webhook bodies, process statistics.

use hdrhistogram::Histogram;
use std::sync::OnceLock;
use std::time::Instant;

/// The one clock: customer messages and agent replies carry nanoseconds since this instant, so
/// the agent side and the mock Cloud API (another thread) measure against the same origin.
pub fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

pub fn now_ns() -> u64 {
    epoch().elapsed().as_nanos() as u64
}

pub fn at_ns(t: Instant) -> u64 {
    t.saturating_duration_since(epoch()).as_nanos() as u64
}

/// Latencies in microseconds, 1 µs to 10 minutes, 3 significant digits.
pub type Hist = Histogram<u64>;

pub fn hist() -> Hist {
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("histogram bounds")
}

pub fn record_ns(h: &mut Hist, ns: u64) {
    let _ = h.record((ns / 1000).max(1));
}

/// p50, p90, p99, p99.9 and max, in milliseconds.
pub fn pcts(h: &Hist) -> [f64; 5] {
    if h.is_empty() {
        return [f64::NAN; 5];
    }
    let q = |p: f64| h.value_at_quantile(p) as f64 / 1000.0;
    [q(0.50), q(0.90), q(0.99), q(0.999), h.max() as f64 / 1000.0]
}

pub const SECRET: &str = "load-app-secret";
pub const PHONE_NUMBER_ID: &str = "100000000000001";

/// The WhatsApp id of simulated customer `i`.
pub fn wa_id(i: usize) -> String {
    format!("1555{i:07}")
}

/// The customer index back from `+1555nnnnnnn` or `1555nnnnnnn`.
pub fn customer_of(phone: &str) -> Option<usize> {
    phone
        .trim_start_matches('+')
        .strip_prefix("1555")?
        .parse()
        .ok()
}

/// A Meta-shaped delivery with one text message.
pub fn delivery(from: &str, wamid: &str, ts: u64, text: &str) -> Vec<u8> {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Load Customer"}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": ts.to_string(), "type": "text",
                          "text": {"body": text}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

/// A delivery with status updates for outbound messages (what Meta sends after a send).
pub fn status_delivery(pnid: &str, updates: &[(&str, &str, &str)], ts: u64) -> Vec<u8> {
    let statuses: Vec<_> = updates
        .iter()
        .map(|(wamid, status, to)| {
            serde_json::json!({"id": wamid, "status": status, "timestamp": ts.to_string(),
                               "recipient_id": to})
        })
        .collect();
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": pnid},
            "statuses": statuses
        }}]}]
    })
    .to_string()
    .into_bytes()
}

pub fn unix_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// CPU time (user + system) of a process, in seconds, from /proc.
pub fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after the name.
    (ticks(11) + ticks(12)) / clock_ticks()
}

fn clock_ticks() -> f64 {
    // USER_HZ is 100 on every Linux the project targets.
    100.0
}

/// (current RSS, peak RSS) in MiB, from /proc.
pub fn rss_mib(pid: u32) -> (f64, f64) {
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return (f64::NAN, f64::NAN);
    };
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .map(|v| v / 1024.0)
            .unwrap_or(f64::NAN)
    };
    (kb("VmRSS:"), kb("VmHWM:"))
}

/// Cores and memory of this machine, for the report.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(0);
    let mem = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            m.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
        })
        .map(|kb| kb / 1024.0 / 1024.0)
        .unwrap_or(0.0);
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!("{cores} cores ({model}), {mem:.1} GiB memory")
}

pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// The CPUs this thread may run on (its affinity mask), in order.
pub fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data (a bit array) for which all zeroes is a valid, empty
    // set; sched_getaffinity writes at most size_of::<cpu_set_t>() bytes into it, and
    // CPU_ISSET reads within it for cpu < CPU_SETSIZE.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Vec::new();
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Pins the calling thread to one CPU. Threads it spawns afterwards inherit the pinning, and
/// so does a process it forks. Async-signal-safe (no allocation): usable in `pre_exec`.
pub fn pin_current_thread(cpu: usize) -> std::io::Result<()> {
    if cpu >= libc::CPU_SETSIZE as usize {
        return Err(std::io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: as in allowed_cpus; CPU_SET writes within the set since cpu < CPU_SETSIZE, and
    // sched_setaffinity only reads size_of::<cpu_set_t>() bytes of it.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Makes a command's process start pinned to `cpu` (when `cpu` is given).
pub fn pin_command(cmd: &mut std::process::Command, cpu: Option<usize>) {
    use std::os::unix::process::CommandExt;
    if let Some(cpu) = cpu {
        // SAFETY: the closure runs in the forked child before exec; pin_current_thread only
        // builds a set on the stack and makes one system call (async-signal-safe, no
        // allocation, no lock).
        unsafe {
            cmd.pre_exec(move || pin_current_thread(cpu));
        }
    }
}
