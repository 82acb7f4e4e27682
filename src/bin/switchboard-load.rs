//! Load generator and benchmark: how fast and how big, against the physical limit, in one run.
//!
//! It measures, on this machine and in this run, the limits to compare with (a bare actix-web
//! handler answering the same webhook POST; raw SQLite inserts of the same rows with the same
//! pragmas), then starts Switchboard (the binary beside this one, a fresh database, sandbox
//! off) against an in-process mock Cloud API, connects N agent WebSockets and plays M
//! customers, and reports latency (HDR histograms, open loop: measured from each message's
//! scheduled time, so a slow server cannot hide its latency), throughput, the server's CPU and
//! memory, and the time to restart with every open conversation back.
//!
//!     cargo build --release
//!     target/release/switchboard-load                 # the full run of docs/BENCHMARKS.md
//!     target/release/switchboard-load --smoke         # seconds, tiny scale (CI)
//!
//! It writes report.md, report.csv, figures.json and latency-vs-load.png into --out.
//!
//!     target/release/switchboard-load --pin           # generator on CPU 0, server on CPU 1
//!     target/release/switchboard-load --flamegraph    # perf profile of the closed-loop phase
//!     target/release/switchboard-load --median-of a,b,c --out m   # median of runs' figures

#[path = "load/common.rs"]
mod common;
#[path = "load/figures.rs"]
mod figures;
#[path = "load/logins.rs"]
mod logins;
#[path = "load/mock.rs"]
mod mock;
#[path = "load/profile.rs"]
mod profile;
#[path = "load/report.rs"]
mod report;
#[path = "load/sim.rs"]
mod sim;
#[path = "load/sqlite.rs"]
mod sqlite;

use clap::Parser;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[derive(Parser, Debug, Clone)]
#[command(about = "Load generator and benchmark for Switchboard")]
pub struct Args {
    /// Tiny scale, a few seconds: checks that the tool works (CI).
    #[arg(long)]
    smoke: bool,
    /// Password logins in the login phase (argon2id each), before anything else runs.
    #[arg(long, default_value_t = 256)]
    logins: usize,
    /// Logins in flight at once.
    #[arg(long, default_value_t = 32)]
    login_concurrency: usize,
    /// Agent WebSocket clients.
    #[arg(long, default_value_t = 5000)]
    agents: usize,
    /// Each agent's max_concurrent (1..=50).
    #[arg(long, default_value_t = 12)]
    max_concurrent: u32,
    /// Customers taking part in the latency and throughput phases.
    #[arg(long, default_value_t = 2000)]
    customers: usize,
    /// Messages a customer sends in one conversation (the first opens it).
    #[arg(long, default_value_t = 4)]
    conv_messages: u32,
    /// Messages per conversation in the closed-loop throughput phase: long conversations, so
    /// that it measures the inbound path (webhook → commit → agent's socket) rather than the
    /// routing of new conversations, which the other phases cover.
    #[arg(long, default_value_t = 50)]
    throughput_conv_messages: u32,
    /// Agent think time before each reply, ms.
    #[arg(long, default_value_t = 200)]
    think_ms: u64,
    /// Agents also reply to every k-th customer message (0: only a greeting and a last reply).
    #[arg(long, default_value_t = 0)]
    reply_every: u32,
    /// Offered load of the headline latency phase, messages per second.
    #[arg(long, default_value_t = 1000.0)]
    rate: f64,
    /// Length of the headline latency phase, seconds.
    #[arg(long, default_value_t = 20.0)]
    seconds: f64,
    /// Offered loads of the sweep (the plot, the 2,000/s figure and the knee), messages per
    /// second.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "500,1000,2000,3000,4000,5000,6000,8000"
    )]
    sweep: Vec<f64>,
    /// Length of each sweep step, seconds.
    #[arg(long, default_value_t = 6.0)]
    sweep_seconds: f64,
    /// Length of the closed-loop throughput phases (Switchboard and the bare handler), seconds.
    #[arg(long, default_value_t = 10.0)]
    throughput_seconds: f64,
    /// Concurrent senders in the closed-loop phases.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Most webhook requests in flight in the open-loop phases (beyond: counted as dropped).
    #[arg(long, default_value_t = 4096)]
    max_in_flight: usize,
    /// Conversations opened and kept open for the memory and restart phases.
    #[arg(long, default_value_t = 50_000)]
    open_conversations: usize,
    /// Rate at which those are opened, per second.
    #[arg(long, default_value_t = 4000.0)]
    open_rate: f64,
    /// Mock Cloud API: answer latency, ms.
    #[arg(long, default_value_t = 20)]
    mock_latency_ms: u64,
    /// Mock Cloud API: share of sends answered 500 (Switchboard retries them).
    #[arg(long, default_value_t = 0.01)]
    mock_error_rate: f64,
    /// Raw SQLite baseline: seconds per mode.
    #[arg(long, default_value_t = 3.0)]
    baseline_seconds: f64,
    /// HTTP workers of Switchboard and of the bare handler (0: one per core; under --pin, one).
    #[arg(long, default_value_t = 0)]
    workers: usize,
    /// Where report.md, report.csv, figures.json and the plot go (and median.md with
    /// --median-of, the profile with --flamegraph).
    #[arg(long, default_value = "target/load-report")]
    out: PathBuf,
    /// The server binary (default: `switchboard` beside this program).
    #[arg(long)]
    server: Option<PathBuf>,
    /// The server's own ceiling: this process (the generator, the mock Cloud API) on CPU 0,
    /// the server on CPU 1, and with it the bare handler's threads, the raw SQLite baseline
    /// and `switchboard migrate`. Needs CPUs 0 and 1. Worker counts left at 0 then follow
    /// the one CPU each side has.
    #[arg(long)]
    pin: bool,
    /// Profiles the server during the closed-loop throughput phase (perf record, cpu-clock
    /// at 499 Hz, DWARF call graphs) and writes flamegraph.svg, collapsed.txt,
    /// profile-threads.md (samples per thread, top 40 self frames) and perf.log into --out.
    /// Needs `perf` (Debian: linux-perf) and inferno (`cargo install inferno`) on PATH.
    #[arg(long)]
    flamegraph: bool,
    /// With --flamegraph: keep perf.data (deleted by default).
    #[arg(long, requires = "flamegraph")]
    keep_perf_data: bool,
    /// No load run: reads DIR/figures.json of each run's output directory and prints (and
    /// writes to --out/median.md) the median, spread and per-run value of every figure.
    #[arg(long, value_delimiter = ',', value_name = "DIR1,DIR2,...")]
    median_of: Vec<PathBuf>,
}

/// Under `--pin`: where the generator runs, and where the server (and what stands for it) runs.
const GENERATOR_CPU: usize = 0;
const SERVER_CPU: usize = 1;

impl Args {
    fn apply_smoke(&mut self) {
        if !self.smoke {
            return;
        }
        self.agents = self.agents.min(8);
        self.logins = 8;
        self.login_concurrency = 4;
        self.max_concurrent = 5;
        self.customers = 20;
        self.rate = 50.0;
        self.seconds = 1.0;
        self.sweep = vec![25.0, 50.0];
        self.sweep_seconds = 0.5;
        self.throughput_seconds = 1.0;
        self.connections = 4;
        self.open_conversations = 20;
        self.open_rate = 200.0;
        self.think_ms = 10;
        self.baseline_seconds = 0.2;
        self.mock_latency_ms = 1;
    }

    /// The CPU the server side is pinned to, under `--pin`.
    fn server_cpu(&self) -> Option<usize> {
        self.pin.then_some(SERVER_CPU)
    }

    fn workers(&self) -> usize {
        if self.workers > 0 {
            self.workers
        } else {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        }
    }
}

struct Server {
    child: Child,
    url: String,
    pid: u32,
}

fn spawn_server(
    bin: &Path,
    db: &Path,
    log: &Path,
    mock: &str,
    workers: usize,
    pin: Option<usize>,
) -> anyhow::Result<Server> {
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let mut cmd = Command::new(bin);
    common::pin_command(&mut cmd, pin);
    let mut child = cmd
        .env("SWITCHBOARD__SERVER__BIND", "127.0.0.1:0")
        .env("SWITCHBOARD__SERVER__WORKERS", workers.to_string())
        .env("SWITCHBOARD__DATABASE__PATH", db)
        .env("SWITCHBOARD__DEMO__ENABLED", "false")
        // The login phase signs the whole shift in from one address.
        .env("SWITCHBOARD__AUTH__LOGIN_ATTEMPTS_PER_MINUTE", "1000000")
        .env("SWITCHBOARD__WHATSAPP__SANDBOX", "false")
        .env("SWITCHBOARD__WHATSAPP__GRAPH_BASE_URL", mock)
        .env("SWITCHBOARD__WHATSAPP__APP_SECRET", common::SECRET)
        .env("SWITCHBOARD__LOG__LEVEL", "warn")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::from(log))
        .spawn()?;
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = BufReader::new(stdout).lines();
    let url = loop {
        let line = lines
            .next()
            .ok_or_else(|| anyhow::anyhow!("server exited before listening"))??;
        if let Some(rest) = line.strip_prefix("switchboard listening on ") {
            break rest.trim().to_string();
        }
    };
    std::thread::spawn(move || for _ in lines {});
    let pid = child.id();
    Ok(Server { child, url, pid })
}

/// `--pin`: this thread (and so every thread spawned after it) on the generator's CPU.
fn pin_generator() -> anyhow::Result<()> {
    let cpus = common::allowed_cpus();
    anyhow::ensure!(
        [GENERATOR_CPU, SERVER_CPU].iter().all(|c| cpus.contains(c)),
        "--pin needs at least 2 CPUs (CPU {GENERATOR_CPU} for the generator, CPU {SERVER_CPU} for the server); this process may use {}",
        if cpus.is_empty() {
            "none it can tell".to_string()
        } else {
            let list: Vec<String> = cpus.iter().map(|c| c.to_string()).collect();
            format!("only CPU {}", list.join(", "))
        }
    );
    common::pin_current_thread(GENERATOR_CPU)
        .map_err(|e| anyhow::anyhow!("pinning the generator to CPU {GENERATOR_CPU}: {e}"))
}

fn main() -> anyhow::Result<()> {
    let mut args = Args::parse();
    if !args.median_of.is_empty() {
        return figures::write_median(&args.median_of, &args.out);
    }
    // Before any thread is spawned: threads inherit the affinity of the thread that spawns
    // them.
    if args.pin {
        pin_generator()?;
    }
    if args.flamegraph {
        profile::check_tools()?;
    }
    args.apply_smoke();
    common::epoch();
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let server_bin = args.server.clone().unwrap_or_else(|| {
        std::env::current_exe()
            .expect("current exe")
            .with_file_name("switchboard")
    });
    anyhow::ensure!(
        server_bin.exists(),
        "{} not found: build it first (cargo build --release)",
        server_bin.display()
    );
    let dir = std::env::temp_dir().join(format!("switchboard-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    std::fs::create_dir_all(&args.out)?;
    if args.flamegraph {
        // A profile left by an earlier run must not pass for this one's.
        for f in [
            "perf.data",
            "collapsed.txt",
            "flamegraph.svg",
            "profile-threads.md",
        ] {
            let _ = std::fs::remove_file(args.out.join(f));
        }
    }
    let mut rep = report::Report::new(&args, &command);
    println!(
        "switchboard-load: {} (load average {})",
        rep.machine, rep.load_before
    );

    let result = run(&args, &server_bin, &dir, &mut rep);
    if let Err(e) = &result {
        eprintln!("run failed: {e:#}");
        rep.notes.push(format!("The run stopped early: {e:#}"));
    }
    if args.flamegraph && args.out.join("perf.data").exists() {
        // perf script resolves inlined frames with addr2line: this can take minutes.
        println!("rendering the flame graph (perf script, inferno) ...");
        match profile::render(&args.out, args.keep_perf_data) {
            Ok(()) => rep.notes.push(
                "Profile of the server in the closed-loop throughput phase: flamegraph.svg, profile-threads.md (samples per thread, top self frames), collapsed.txt.".into(),
            ),
            Err(e) => {
                eprintln!("no flame graph: {e:#}");
                rep.notes.push(format!("No flame graph: {e:#}"));
            }
        }
    }
    rep.load_after = common::load_average();
    let result = result.and_then(|()| {
        if args.smoke {
            rep.smoke_check()
        } else {
            Ok(())
        }
    });
    rep.write(&args.out)?;
    println!("\n{}", rep.markdown());
    println!("wrote {}", args.out.display());
    if !args.smoke || result.is_ok() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    result
}

fn run(args: &Args, server_bin: &Path, dir: &Path, rep: &mut report::Report) -> anyhow::Result<()> {
    // 1. The limits, measured first, on an otherwise idle server side.
    println!("raw SQLite baseline ...");
    let max_batch = 512;
    let pin = args.server_cpu();
    // Under --pin it is a limit of the server's side: on the server's CPU.
    rep.sqlite = Some(std::thread::scope(|s| {
        s.spawn(|| {
            if let Some(cpu) = pin {
                common::pin_current_thread(cpu).map_err(|e| {
                    anyhow::anyhow!("pinning the SQLite baseline to CPU {cpu}: {e}")
                })?;
            }
            sqlite::baseline(server_bin, dir, args.baseline_seconds, max_batch, pin)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the SQLite baseline panicked"))?
    })?);

    // 2. The load database: schema by the server's own migrate, then queue, channel, agents.
    let db = dir.join("load.db");
    sqlite::migrate(server_bin, &db, pin)?;
    let seeded = Instant::now();
    sqlite::seed(&db, args.agents, args.max_concurrent)?;
    println!(
        "seeded {} agents in {:.2} s",
        args.agents,
        seeded.elapsed().as_secs_f64()
    );

    let mock = mock::start_mock(args.mock_latency_ms, args.mock_error_rate, true)?;
    let log = dir.join("server.log");

    actix_rt::System::new().block_on(async {
        // Bare handler first, alone on the machine beside the generator.
        println!(
            "bare actix-web handler, {} connections ...",
            args.connections
        );
        let bare = mock::Bare::start(args.workers(), pin)?;
        let client = sim::client(args.connections);
        // Warm up connections, then measure.
        let _ =
            sim::closed_loop_bare(bare.url.clone(), client.clone(), args.connections, 0.5).await;
        let (n, h) = sim::closed_loop_bare(
            bare.url.clone(),
            client.clone(),
            args.connections,
            args.throughput_seconds,
        )
        .await;
        bare.stop().await;
        rep.bare = Some((n as f64 / args.throughput_seconds, h));

        let mut server = spawn_server(server_bin, &db, &log, &mock.url, args.workers, pin)?;
        println!("server {} (pid {})", server.url, server.pid);
        let result = drive(args, &mock, &mut server, server_bin, &db, &log, rep).await;
        let _ = server.child.kill();
        let _ = server.child.wait();
        result
    })
}

async fn drive(
    args: &Args,
    mock: &mock::Mock,
    server: &mut Server,
    server_bin: &Path,
    db: &Path,
    log: &Path,
    rep: &mut report::Report,
) -> anyhow::Result<()> {
    *mock.webhook.lock().unwrap() = server.url.clone();
    let sim = sim::Sim::new(
        args.customers,
        args.open_conversations,
        args.agents,
        args.conv_messages,
        Duration::from_millis(args.think_ms),
        args.reply_every,
    );
    sim.borrow_mut().endpoint = format!("{}/webhooks/whatsapp", server.url);
    let ws_base = server.url.replacen("http://", "ws://", 1);

    // 2b. Logins first, on a fresh server: the peak RSS after them is theirs.
    let l = logins::run(
        &server.url,
        server.pid,
        args.agents,
        args.logins,
        args.login_concurrency,
    )
    .await;
    println!("{}", l.line());
    rep.logins = Some(l);

    let t = Instant::now();
    let failed = sim::connect_all(&sim, &ws_base, 200).await;
    anyhow::ensure!(failed == 0, "{failed} agents could not connect");
    rep.connect_secs = t.elapsed().as_secs_f64();
    println!(
        "{} agents connected in {:.2} s",
        args.agents, rep.connect_secs
    );
    actix_rt::time::sleep(Duration::from_millis(500)).await;

    let client = sim::client(args.max_in_flight.min(1024));
    let pid = server.pid;

    // Warm-up (not reported).
    sim::open_loop(
        sim.clone(),
        client.clone(),
        args.rate.min(500.0),
        1.0,
        args.max_in_flight,
    )
    .await;

    // 3. The headline: the target rate, longer, first (before any overload step leaves a
    // backlog behind).
    let p = phase(
        &sim,
        mock,
        pid,
        &format!("latency at {:.0}/s", args.rate),
        Some(args.rate),
        async {
            sim::open_loop(
                sim.clone(),
                client.clone(),
                args.rate,
                args.seconds,
                args.max_in_flight,
            )
            .await
        },
    )
    .await;
    println!("{}", p.line());
    rep.headline = Some(p);
    settle(&sim).await;

    // 4. The sweep: latency against offered load (the plot), lightest first; a pause after
    // each step lets a backlog clear.
    for &rate in &args.sweep {
        let p = phase(
            &sim,
            mock,
            pid,
            &format!("sweep {rate:.0}/s"),
            Some(rate),
            async {
                sim::open_loop(
                    sim.clone(),
                    client.clone(),
                    rate,
                    args.sweep_seconds,
                    args.max_in_flight,
                )
                .await
            },
        )
        .await;
        println!("{}", p.line());
        rep.sweep.push(p);
        settle(&sim).await;
    }

    // 5. Throughput: closed loop, as many as the server takes.
    let tclient = sim::client(args.connections);
    sim.borrow_mut().conv_messages = args.throughput_conv_messages.max(2);
    // --flamegraph: perf records the server for the length of this phase, from its start.
    let perf = if args.flamegraph {
        Some(profile::record(pid, args.throughput_seconds, &args.out)?)
    } else {
        None
    };
    let p = phase(&sim, mock, pid, "throughput (closed loop)", None, async {
        sim::closed_loop(
            sim.clone(),
            tclient.clone(),
            args.connections,
            args.throughput_seconds,
        )
        .await
    })
    .await;
    println!("{}", p.line());
    if let Some(perf) = perf {
        if let Err(e) = profile::wait(perf, Duration::from_secs(120)).await {
            eprintln!("{e:#}");
            rep.notes.push(format!("No profile: {e:#}"));
        }
    }
    rep.throughput = Some(p);
    sim.borrow_mut().conv_messages = args.conv_messages.max(2);

    // 6. Scale: every agent connected, open conversations held, memory.
    drain(&sim).await;
    let first = args.customers;
    let range = first..first + args.open_conversations;
    let t = Instant::now();
    let p = phase(
        &sim,
        mock,
        pid,
        "open conversations",
        Some(args.open_rate),
        async {
            sim::open_parked(
                sim.clone(),
                client.clone(),
                range.clone(),
                args.open_rate,
                args.max_in_flight,
            )
            .await;
            let until = Instant::now() + Duration::from_secs(120);
            while (sim.borrow().c.parked_accepted as usize) < args.open_conversations
                && Instant::now() < until
            {
                actix_rt::time::sleep(Duration::from_millis(20)).await;
            }
        },
    )
    .await;
    println!("{}", p.line());
    let accepted = p.c.parked_accepted as usize;
    rep.open_secs = t.elapsed().as_secs_f64();
    rep.open_phase = Some(p);
    actix_rt::time::sleep(Duration::from_millis(500)).await;
    let held = sim.borrow().held();
    rep.scale = Some(report::Scale {
        agents: sim
            .borrow()
            .agents
            .iter()
            .filter(|a| a.borrow().connected())
            .count(),
        open: held,
        accepted,
        rss: common::rss_mib(pid),
    });
    println!(
        "{} agents connected, {held} conversations held; server RSS {:.0} MiB (peak {:.0} MiB)",
        args.agents,
        common::rss_mib(pid).0,
        common::rss_mib(pid).1
    );

    // 7. Restart: kill -9, start again on the same database, everything back.
    server.child.kill()?;
    server.child.wait()?;
    let t0 = Instant::now();
    *server = spawn_server(
        server_bin,
        db,
        log,
        &mock.url,
        args.workers,
        args.server_cpu(),
    )?;
    let listening = t0.elapsed().as_secs_f64();
    *mock.webhook.lock().unwrap() = server.url.clone();
    sim.borrow_mut().endpoint = format!("{}/webhooks/whatsapp", server.url);
    let ws_base = server.url.replacen("http://", "ws://", 1);
    // The agents' sockets died with the old process: wait until each task noticed.
    let until = Instant::now() + Duration::from_secs(10);
    while sim.borrow().agents.iter().any(|a| a.borrow().connected()) && Instant::now() < until {
        actix_rt::time::sleep(Duration::from_millis(5)).await;
    }
    let failed = sim::connect_all(&sim, &ws_base, 200).await;
    let agents_back = t0.elapsed().as_secs_f64();
    let back: usize = sim
        .borrow()
        .agents
        .iter()
        .map(|a| a.borrow().hello_interactions)
        .sum();
    // Routable: a message from customers spread over the open conversations reaches its agent.
    let probes: Vec<usize> = (0..args.open_conversations.min(200))
        .map(|k| first + k * args.open_conversations / args.open_conversations.clamp(1, 200))
        .collect();
    let n_probes = probes.len();
    sim.borrow_mut().reset();
    sim::probe(sim.clone(), client.clone(), probes).await;
    let until = Instant::now() + Duration::from_secs(30);
    while (sim.borrow().c.probe_frames as usize) < n_probes && Instant::now() < until {
        actix_rt::time::sleep(Duration::from_millis(2)).await;
    }
    let routable = t0.elapsed().as_secs_f64();
    let probed = sim.borrow().c.probe_frames as usize;
    // Offers pending at the kill come back as offers (R11), not in `hello`: wait until the
    // agents hold every open conversation again.
    let until = Instant::now() + Duration::from_secs(30);
    while sim.borrow().held() < held && Instant::now() < until {
        actix_rt::time::sleep(Duration::from_millis(2)).await;
    }
    let back = back.max(sim.borrow().held());
    let routable = routable.max(t0.elapsed().as_secs_f64());
    rep.restart = Some(report::Restart {
        listening,
        agents_back,
        routable,
        held_before: held,
        back,
        failed_agents: failed,
        probes: n_probes,
        probes_delivered: probed,
        rss_after: common::rss_mib(server.pid),
    });
    println!(
        "restart: listening after {listening:.2} s, {back} of {held} conversations back in agents' hello after {agents_back:.2} s, {probed}/{n_probes} probes delivered after {routable:.2} s"
    );
    rep.mock_requests = mock
        .stats
        .requests
        .load(std::sync::atomic::Ordering::Relaxed);
    rep.mock_errors = mock
        .stats
        .errors_injected
        .load(std::sync::atomic::Ordering::Relaxed);
    rep.mock_retries = mock
        .stats
        .retries
        .load(std::sync::atomic::Ordering::Relaxed);
    rep.mock_statuses = mock
        .stats
        .statuses_posted
        .load(std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Between phases: no new messages for a moment, so that queues (outbox, offers) empty.
async fn settle(sim: &sim::Shared) {
    sim.borrow_mut().scheduling = false;
    actix_rt::time::sleep(Duration::from_secs(2)).await;
}

/// Ends every open (non-parked) conversation and waits until they are wrapped up.
async fn drain(sim: &sim::Shared) {
    let until = Instant::now() + Duration::from_secs(60);
    loop {
        sim.borrow_mut().drain();
        actix_rt::time::sleep(Duration::from_millis(200)).await;
        if sim.borrow().open_conversations() == 0 || Instant::now() > until {
            break;
        }
    }
    sim.borrow_mut().reset();
}

/// Runs one measured phase: counters from zero, the server's CPU over the phase.
async fn phase(
    sim: &sim::Shared,
    mock: &mock::Mock,
    pid: u32,
    name: &str,
    offered: Option<f64>,
    work: impl std::future::Future<Output = ()>,
) -> report::Phase {
    sim.borrow_mut().resume();
    sim.borrow_mut().reset();
    if let Ok(mut h) = mock.stats.send_to_api.lock() {
        h.reset();
    }
    let cpu0 = common::cpu_secs(pid);
    let t = Instant::now();
    work.await;
    let seconds = t.elapsed().as_secs_f64();
    let cpu = (common::cpu_secs(pid) - cpu0) / seconds;
    // Frames and sends already on their way belong to this phase.
    actix_rt::time::sleep(Duration::from_millis(300)).await;
    let (c, h) = sim.borrow_mut().reset();
    let send_api = mock
        .stats
        .send_to_api
        .lock()
        .map(|h| h.clone())
        .unwrap_or_else(|_| common::hist());
    report::Phase {
        name: name.to_string(),
        offered,
        seconds,
        c,
        h,
        send_api,
        cpu_cores: cpu,
        rss: common::rss_mib(pid),
    }
}
