//! Login phase: a burst of real password logins (argon2id, 19 MiB and tens of milliseconds
//! each), as when a whole shift signs in at nine. Measures their latency and rate, and the
//! server's memory before, at its peak during the burst, and after.

use super::common::{self, Hist};
use futures_util::stream::{self, StreamExt};
use std::time::Instant;

pub struct Logins {
    pub n: usize,
    pub concurrency: usize,
    pub ok: usize,
    pub seconds: f64,
    pub hist: Hist,
    /// (RSS, peak RSS) in MiB before the burst and after it.
    pub before: (f64, f64),
    pub after: (f64, f64),
}

/// `n` logins of the seeded agents (`load{i}`), `concurrency` at a time.
pub async fn run(url: &str, pid: u32, agents: usize, n: usize, concurrency: usize) -> Logins {
    let client = super::sim::client(concurrency);
    let endpoint = format!("{url}/api/v1/auth/login");
    let before = common::rss_mib(pid);
    let started = Instant::now();
    let results: Vec<(bool, u64)> = stream::iter(0..n)
        .map(|i| {
            let (client, endpoint) = (client.clone(), endpoint.clone());
            async move {
                let t = Instant::now();
                let body = serde_json::json!({
                    "username": format!("load{}", i % agents.max(1)),
                    "password": super::sqlite::PASSWORD,
                });
                let ok = match client.post(&endpoint).send_json(&body).await {
                    Ok(mut r) => r.status().is_success() && r.body().await.is_ok(),
                    Err(_) => false,
                };
                (ok, t.elapsed().as_nanos() as u64)
            }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let seconds = started.elapsed().as_secs_f64();
    // Give freed memory a moment to be returned before reading RSS.
    actix_rt::time::sleep(std::time::Duration::from_millis(200)).await;
    let mut hist = common::hist();
    for (_, ns) in &results {
        common::record_ns(&mut hist, *ns);
    }
    Logins {
        n,
        concurrency,
        ok: results.iter().filter(|(ok, _)| *ok).count(),
        seconds,
        hist,
        before,
        after: common::rss_mib(pid),
    }
}

impl Logins {
    pub fn line(&self) -> String {
        let p = common::pcts(&self.hist);
        format!(
            "logins: {}/{} ok, {} at a time, {:.0}/s, p50 {:.0} ms p99 {:.0} ms; RSS {:.0} → {:.0} MiB, peak {:.0} MiB",
            self.ok,
            self.n,
            self.concurrency,
            self.n as f64 / self.seconds,
            p[0],
            p[2],
            self.before.0,
            self.after.0,
            self.after.1
        )
    }
}
