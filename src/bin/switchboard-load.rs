//! Load generator, first version: starts a Switchboard (the binary next to this one, a fresh
//! database, demo data, sandbox on) and posts signed WhatsApp webhook deliveries with an
//! open-loop schedule at a target rate, measuring acknowledgement latency from the intended
//! send time (so a slow server cannot hide its latency: no coordinated omission).
//!
//!     cargo build --release
//!     target/release/switchboard-load --rate 5000 --seconds 10 --customers 2000

use clap::Parser;
use hdrhistogram::Histogram;
use std::cell::RefCell;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(about = "Webhook load generator for Switchboard")]
struct Args {
    /// Target deliveries per second (open loop).
    #[arg(long, default_value_t = 2000)]
    rate: u64,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Distinct customers (each a conversation).
    #[arg(long, default_value_t = 1000)]
    customers: u64,
    /// Most requests in flight at once.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// The server binary (default: `switchboard` beside this program).
    #[arg(long)]
    server: Option<std::path::PathBuf>,
}

const SECRET: &str = "load-app-secret";
const PHONE_NUMBER_ID: &str = "100000000000001";

fn delivery(from: &str, wamid: &str, ts: u64) -> Vec<u8> {
    serde_json::json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100000", "phone_number_id": PHONE_NUMBER_ID},
            "contacts": [{"profile": {"name": "Load Customer"}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": ts.to_string(), "type": "text",
                          "text": {"body": "Hello, where is my order 12345?"}}]
        }}]}]
    })
    .to_string()
    .into_bytes()
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let server = args.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("current exe")
            .with_file_name("switchboard")
    });
    let dir = std::env::temp_dir().join(format!("switchboard-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let mut child = Command::new(&server)
        .env("SWITCHBOARD__SERVER__BIND", "127.0.0.1:0")
        .env("SWITCHBOARD__DATABASE__PATH", dir.join("load.db"))
        .env("SWITCHBOARD__WHATSAPP__APP_SECRET", SECRET)
        .env("SWITCHBOARD__LOG__LEVEL", "warn")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .ok_or_else(|| anyhow::anyhow!("server exited"))??;
        if let Some(rest) = line.strip_prefix("switchboard listening on ") {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    println!(
        "server {url} (pid {}), sending {}/s for {} s",
        child.id(),
        args.rate,
        args.seconds
    );

    let result = actix_rt::System::new().block_on(run(url, &args));
    let _ = child.kill();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

#[derive(Default)]
struct Tally {
    ok: u64,
    failed: u64,
    in_flight: usize,
    dropped: u64,
}

async fn run(url: String, args: &Args) -> anyhow::Result<()> {
    let connector = awc::Connector::new().limit(args.max_in_flight);
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(30))
        .connector(connector)
        .finish();
    let hist = Rc::new(RefCell::new(Histogram::<u64>::new_with_bounds(
        1, 60_000_000, 3,
    )?));
    let tally = Rc::new(RefCell::new(Tally::default()));
    let total = args.rate * args.seconds;
    let interval = Duration::from_nanos(1_000_000_000 / args.rate.max(1));
    let ts = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let start = Instant::now();
    let endpoint = format!("{url}/webhooks/whatsapp");
    for i in 0..total {
        let intended = start + interval * i as u32;
        let now = Instant::now();
        if intended > now {
            actix_rt::time::sleep(intended - now).await;
        }
        if tally.borrow().in_flight >= args.max_in_flight {
            tally.borrow_mut().dropped += 1;
            continue;
        }
        let from = format!("1555{:07}", i % args.customers);
        let body = delivery(&from, &format!("wamid.load.{i}"), ts);
        let signature = switchboard::whatsapp::signature::sign(SECRET, &body);
        let req = client
            .post(&endpoint)
            .insert_header(("X-Hub-Signature-256", signature))
            .insert_header(("Content-Type", "application/json"));
        let (hist, tally) = (hist.clone(), tally.clone());
        tally.borrow_mut().in_flight += 1;
        actix_rt::spawn(async move {
            let ok = matches!(req.send_body(body).await, Ok(r) if r.status().is_success());
            let micros = intended.elapsed().as_micros() as u64;
            let mut t = tally.borrow_mut();
            t.in_flight -= 1;
            if ok {
                t.ok += 1;
                let _ = hist.borrow_mut().record(micros.max(1));
            } else {
                t.failed += 1;
            }
        });
    }
    while tally.borrow().in_flight > 0 {
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let t = tally.borrow();
    let h = hist.borrow();
    println!(
        "sent {total} in {elapsed:.2} s: {} ok ({:.0}/s), {} failed, {} not sent (over {} in flight)",
        t.ok,
        t.ok as f64 / elapsed,
        t.failed,
        t.dropped,
        args.max_in_flight
    );
    println!(
        "ack latency from intended send time (ms): p50 {:.2}  p90 {:.2}  p99 {:.2}  p99.9 {:.2}  max {:.2}",
        h.value_at_quantile(0.50) as f64 / 1000.0,
        h.value_at_quantile(0.90) as f64 / 1000.0,
        h.value_at_quantile(0.99) as f64 / 1000.0,
        h.value_at_quantile(0.999) as f64 / 1000.0,
        h.max() as f64 / 1000.0
    );
    Ok(())
}
