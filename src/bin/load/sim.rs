//! The simulation, on one single-threaded actix System: customers (signed webhook deliveries,
//! open loop or closed loop) and agents (WebSocket clients that accept, reply after a think
//! time, end and wrap up).
//!
//! A customer's conversation: message 0 opens it (its send time is the start of the
//! new conversation → offer latency); the customer waits until an agent has accepted, then
//! sends messages 1.. one at a time (the next only after the previous one's webhook answer, as a
//! phone does); the agent replies to some, and after the last one replies, ends and wraps up,
//! and the customer is free to start a new conversation. Every customer message carries its
//! intended send time, so the agent side measures message → frame latency from the schedule.

use super::common::{self, Hist};
use awc::ws;
use futures_util::{SinkExt, StreamExt};
use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};
use std::rc::Rc;
use std::time::{Duration, Instant};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum CState {
    /// No open conversation: the next message opens one.
    Idle,
    /// Message 0 sent; waiting for an agent to accept.
    Waiting,
    /// Accepted: sends its next message when scheduled.
    Talking,
    /// Sent its last message; waiting for the agent to wrap up.
    Ending,
    /// Scale phase: one message, then the conversation stays open.
    Parked,
    /// Parked and accepted by an agent.
    ParkedActive,
}

pub struct Customer {
    pub state: CState,
    sent: u32,
    t0_ns: u64,
}

#[derive(Default, Clone, Debug)]
pub struct Counters {
    pub sent: u64,
    pub acked: u64,
    pub failed: u64,
    pub dropped: u64,
    pub starved: u64,
    pub frames: u64,
    pub offers: u64,
    pub accepted: u64,
    pub wrapped: u64,
    pub replies: u64,
    pub ws_errors: u64,
    pub parked_accepted: u64,
    pub probe_frames: u64,
}

pub struct Hists {
    pub ack: Hist,
    pub frame: Hist,
    pub offer: Hist,
    pub probe: Hist,
}

impl Hists {
    fn new() -> Self {
        Hists {
            ack: common::hist(),
            frame: common::hist(),
            offer: common::hist(),
            probe: common::hist(),
        }
    }
}

enum Out {
    Text(String),
    Pong(actix_web::web::Bytes),
}

pub struct Agent {
    pub index: usize,
    id: i64,
    tx: Option<tokio::sync::mpsc::UnboundedSender<Out>>,
    /// Interactions this agent holds: id → customer.
    convs: HashMap<i64, usize>,
    /// Conversations this agent is ending (end sent or about to be).
    ending: std::collections::HashSet<i64>,
    pub hello_interactions: usize,
}

impl Agent {
    fn send(&self, v: serde_json::Value) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Out::Text(v.to_string()));
        }
    }
    pub fn connected(&self) -> bool {
        self.tx.as_ref().is_some_and(|t| !t.is_closed())
    }
}

pub struct Sim {
    pub conv_messages: u32,
    pub think: Duration,
    pub reply_every: u32,
    pub customers: Vec<Customer>,
    ready: VecDeque<usize>,
    pub c: Counters,
    pub h: Hists,
    pub in_flight: usize,
    pub endpoint: String,
    ts: u64,
    seq: u64,
    pub agents: Vec<Rc<RefCell<Agent>>>,
    /// Restart phase: parked customers whose probe message is on its way.
    pub probes: HashMap<usize, u64>,
    pub scheduling: bool,
    /// Parked customers whose opening message was refused: sent again.
    pub parked_retry: Vec<usize>,
}

pub type Shared = Rc<RefCell<Sim>>;

/// One webhook delivery ready to post.
pub struct Job {
    customer: usize,
    index: u32,
    body: Vec<u8>,
    signature: String,
}

impl Sim {
    pub fn new(
        customers: usize,
        parked: usize,
        agents: usize,
        conv_messages: u32,
        think: Duration,
        reply_every: u32,
    ) -> Shared {
        let mut all = Vec::with_capacity(customers + parked);
        for i in 0..customers + parked {
            all.push(Customer {
                state: if i < customers {
                    CState::Idle
                } else {
                    CState::Parked
                },
                sent: 0,
                t0_ns: 0,
            });
        }
        Rc::new(RefCell::new(Sim {
            conv_messages: conv_messages.max(2),
            think,
            reply_every,
            customers: all,
            ready: (0..customers).collect(),
            c: Counters::default(),
            h: Hists::new(),
            in_flight: 0,
            endpoint: String::new(),
            ts: common::unix_secs(),
            seq: 0,
            agents: (0..agents)
                .map(|index| {
                    Rc::new(RefCell::new(Agent {
                        index,
                        id: 0,
                        tx: None,
                        convs: HashMap::new(),
                        ending: Default::default(),
                        hello_interactions: 0,
                    }))
                })
                .collect(),
            probes: HashMap::new(),
            scheduling: true,
            parked_retry: Vec::new(),
        }))
    }

    /// Starts a measurement phase: counters and histograms from zero.
    pub fn reset(&mut self) -> (Counters, Hists) {
        (
            std::mem::take(&mut self.c),
            std::mem::replace(&mut self.h, Hists::new()),
        )
    }

    fn job(&mut self, customer: usize, index: u32, intended_ns: u64) -> Job {
        self.seq += 1;
        let text = format!("lg {customer} {index} {intended_ns}");
        let body = common::delivery(
            &common::wa_id(customer),
            &format!("wamid.load.{}.{}", std::process::id(), self.seq),
            self.ts,
            &text,
        );
        let signature = switchboard::whatsapp::signature::sign(common::SECRET, &body);
        self.c.sent += 1;
        Job {
            customer,
            index,
            body,
            signature,
        }
    }

    /// The next customer message due, or none if every customer waits on an agent.
    fn take_next(&mut self, intended_ns: u64) -> Option<Job> {
        while let Some(i) = self.ready.pop_front() {
            let cust = &mut self.customers[i];
            let index = match cust.state {
                CState::Idle => {
                    cust.state = CState::Waiting;
                    cust.t0_ns = intended_ns;
                    cust.sent = 1;
                    0
                }
                CState::Talking if cust.sent < self.conv_messages => {
                    cust.sent += 1;
                    if cust.sent == self.conv_messages {
                        cust.state = CState::Ending;
                    }
                    cust.sent - 1
                }
                _ => continue,
            };
            return Some(self.job(i, index, intended_ns));
        }
        self.c.starved += 1;
        None
    }

    fn take_parked(&mut self, i: usize, intended_ns: u64) -> Job {
        self.customers[i].t0_ns = intended_ns;
        self.job(i, 0, intended_ns)
    }

    fn answered(&mut self, job: &Job, ok: bool, intended: Instant) {
        self.in_flight -= 1;
        let cust = &mut self.customers[job.customer];
        if !ok {
            self.c.failed += 1;
            // The message was refused: send it again later.
            match cust.state {
                CState::Waiting if job.index == 0 => {
                    cust.state = CState::Idle;
                    self.ready.push_back(job.customer);
                }
                CState::Parked => self.parked_retry.push(job.customer),
                CState::Talking | CState::Ending if job.index > 0 => {
                    cust.state = CState::Talking;
                    cust.sent -= 1;
                    self.ready.push_back(job.customer);
                }
                _ => {}
            }
            return;
        }
        self.c.acked += 1;
        common::record_ns(&mut self.h.ack, intended.elapsed().as_nanos() as u64);
        if job.index > 0 && cust.state == CState::Talking && self.scheduling {
            self.ready.push_back(job.customer);
        }
    }

    fn accepted(&mut self, customer: usize) -> bool {
        self.c.accepted += 1;
        let cust = &mut self.customers[customer];
        match cust.state {
            CState::Waiting => {
                cust.state = CState::Talking;
                if self.scheduling {
                    self.ready.push_back(customer);
                }
                true
            }
            CState::Parked => {
                cust.state = CState::ParkedActive;
                self.c.parked_accepted += 1;
                false
            }
            _ => false,
        }
    }

    fn wrapped(&mut self, customer: usize) {
        self.c.wrapped += 1;
        let cust = &mut self.customers[customer];
        if matches!(
            cust.state,
            CState::Talking | CState::Ending | CState::Waiting
        ) {
            cust.state = CState::Idle;
            cust.sent = 0;
            if self.scheduling {
                self.ready.push_back(customer);
            }
        }
    }

    /// Customers in a conversation an agent holds (not parked).
    pub fn open_conversations(&self) -> usize {
        self.customers
            .iter()
            .filter(|c| matches!(c.state, CState::Waiting | CState::Talking | CState::Ending))
            .count()
    }

    pub fn held(&self) -> usize {
        self.agents.iter().map(|a| a.borrow().convs.len()).sum()
    }

    /// Stops scheduling and makes every agent end and wrap up the conversations it holds
    /// (parked ones excepted).
    pub fn drain(&mut self) {
        self.scheduling = false;
        self.ready.clear();
        for agent in &self.agents {
            let mut a = agent.borrow_mut();
            let convs: Vec<(i64, usize)> = a.convs.iter().map(|(&i, &c)| (i, c)).collect();
            for (iid, cust) in convs {
                if matches!(self.customers[cust].state, CState::Talking | CState::Ending)
                    && a.ending.insert(iid)
                {
                    self.customers[cust].state = CState::Ending;
                    a.send(serde_json::json!({"type": "end", "interaction_id": iid,
                                              "ref": format!("e{iid}")}));
                }
            }
        }
    }

    /// Scheduling on again, every idle customer ready.
    pub fn resume(&mut self) {
        self.scheduling = true;
        self.ready = self
            .customers
            .iter()
            .enumerate()
            .filter(|(_, c)| matches!(c.state, CState::Idle | CState::Talking))
            .map(|(i, _)| i)
            .collect();
    }
}

pub fn client(connections: usize) -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .connector(awc::Connector::new().limit(connections))
        .finish()
}

async fn post(sim: Shared, client: awc::Client, job: Job, intended: Instant) {
    let endpoint = sim.borrow().endpoint.clone();
    let answer = client
        .post(&endpoint)
        .insert_header(("X-Hub-Signature-256", job.signature.clone()))
        .insert_header(("Content-Type", "application/json"))
        .send_body(job.body.clone())
        .await;
    let (ok, why) = match answer {
        Ok(mut r) => {
            let status = r.status();
            let body = r.body().await.unwrap_or_default();
            (
                status.is_success(),
                format!("HTTP {status}: {}", String::from_utf8_lossy(&body)),
            )
        }
        Err(e) => (false, e.to_string()),
    };
    let mut s = sim.borrow_mut();
    if !ok && s.c.failed < 3 {
        eprintln!("webhook delivery failed: {why}");
    }
    s.answered(&job, ok, intended);
}

async fn sleep_until(t: Instant) {
    let now = Instant::now();
    if t > now {
        actix_rt::time::sleep(t - now).await;
    }
}

/// Open loop: message `i` is due at `start + i / rate` whatever happened before (no
/// coordinated omission); latency is measured from that due time.
pub async fn open_loop(sim: Shared, client: awc::Client, rate: f64, seconds: f64, cap: usize) {
    let total = (rate * seconds).round() as u64;
    let interval = 1e9 / rate.max(0.001);
    let start = Instant::now();
    for i in 0..total {
        let intended = start + Duration::from_nanos((i as f64 * interval) as u64);
        sleep_until(intended).await;
        let job = {
            let mut s = sim.borrow_mut();
            if s.in_flight >= cap {
                s.c.dropped += 1;
                continue;
            }
            let Some(job) = s.take_next(common::at_ns(intended)) else {
                continue;
            };
            s.in_flight += 1;
            job
        };
        actix_rt::spawn(post(sim.clone(), client.clone(), job, intended));
    }
    wait_answers(&sim, Duration::from_secs(30)).await;
}

pub async fn wait_answers(sim: &Shared, max: Duration) {
    let until = Instant::now() + max;
    while sim.borrow().in_flight > 0 && Instant::now() < until {
        actix_rt::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Closed loop: `connections` senders, each posting its next message as soon as the last one
/// is answered, for `seconds`: the most the server accepts.
pub async fn closed_loop(sim: Shared, client: awc::Client, connections: usize, seconds: f64) {
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut senders = Vec::new();
    for _ in 0..connections {
        let (sim, client) = (sim.clone(), client.clone());
        senders.push(actix_rt::spawn(async move {
            while Instant::now() < deadline {
                let now = Instant::now();
                let job = {
                    let mut s = sim.borrow_mut();
                    let job = s.take_next(common::at_ns(now));
                    if job.is_some() {
                        s.in_flight += 1;
                    }
                    job
                };
                match job {
                    Some(job) => post(sim.clone(), client.clone(), job, now).await,
                    None => actix_rt::time::sleep(Duration::from_millis(1)).await,
                }
            }
        }));
    }
    for s in senders {
        let _ = s.await;
    }
}

/// Closed loop against the bare handler: same bodies, same client, nothing behind it.
pub async fn closed_loop_bare(
    url: String,
    client: awc::Client,
    connections: usize,
    seconds: f64,
) -> (u64, Hist) {
    let bodies: Rc<Vec<(Vec<u8>, String)>> = Rc::new(
        (0..1024)
            .map(|i| {
                let body = common::delivery(
                    &common::wa_id(i),
                    &format!("wamid.bare.{i}"),
                    common::unix_secs(),
                    &format!("lg {i} 1 {}", common::now_ns()),
                );
                let sig = switchboard::whatsapp::signature::sign(common::SECRET, &body);
                (body, sig)
            })
            .collect(),
    );
    let endpoint = format!("{url}/webhooks/whatsapp");
    let done = Rc::new(RefCell::new((0u64, common::hist())));
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let mut senders = Vec::new();
    for k in 0..connections {
        let (client, bodies, endpoint, done) = (
            client.clone(),
            bodies.clone(),
            endpoint.clone(),
            done.clone(),
        );
        senders.push(actix_rt::spawn(async move {
            let mut n = k;
            while Instant::now() < deadline {
                let (body, sig) = &bodies[n % bodies.len()];
                n += connections;
                let t = Instant::now();
                let answer = client
                    .post(&endpoint)
                    .insert_header(("X-Hub-Signature-256", sig.clone()))
                    .insert_header(("Content-Type", "application/json"))
                    .send_body(body.clone())
                    .await;
                if let Ok(mut r) = answer {
                    let ok = r.status().is_success();
                    let _ = r.body().await;
                    if ok {
                        let mut d = done.borrow_mut();
                        d.0 += 1;
                        common::record_ns(&mut d.1, t.elapsed().as_nanos() as u64);
                    }
                }
            }
        }));
    }
    for s in senders {
        let _ = s.await;
    }
    let d = done.borrow();
    (d.0, d.1.clone())
}

/// Scale phase: opens one conversation for each parked customer in `range`, open loop.
pub async fn open_parked(
    sim: Shared,
    client: awc::Client,
    range: std::ops::Range<usize>,
    rate: f64,
    cap: usize,
) {
    let interval = 1e9 / rate.max(0.001);
    let start = Instant::now();
    for (k, i) in range.enumerate() {
        let intended = start + Duration::from_nanos((k as f64 * interval) as u64);
        sleep_until(intended).await;
        while sim.borrow().in_flight >= cap {
            actix_rt::time::sleep(Duration::from_millis(1)).await;
        }
        let job = {
            let mut s = sim.borrow_mut();
            s.in_flight += 1;
            s.take_parked(i, common::at_ns(intended))
        };
        actix_rt::spawn(post(sim.clone(), client.clone(), job, intended));
    }
    wait_answers(&sim, Duration::from_secs(60)).await;
    for _ in 0..5 {
        let retry = std::mem::take(&mut sim.borrow_mut().parked_retry);
        if retry.is_empty() {
            break;
        }
        for i in retry {
            let now = Instant::now();
            let job = {
                let mut s = sim.borrow_mut();
                s.in_flight += 1;
                s.take_parked(i, common::at_ns(now))
            };
            actix_rt::spawn(post(sim.clone(), client.clone(), job, now));
        }
        wait_answers(&sim, Duration::from_secs(60)).await;
    }
}

/// Restart phase: one message from each of these parked customers; the agents measure when
/// it reaches them.
pub async fn probe(sim: Shared, client: awc::Client, customers: Vec<usize>) {
    for i in customers {
        let now = Instant::now();
        let job = {
            let mut s = sim.borrow_mut();
            s.in_flight += 1;
            s.probes.insert(i, common::at_ns(now));
            s.job(i, 1, common::at_ns(now))
        };
        actix_rt::spawn(post(sim.clone(), client.clone(), job, now));
    }
}

/// Connects every agent (at most `parallel` handshakes at once); answers when each has its
/// `hello`, with the number that failed.
pub async fn connect_all(sim: &Shared, ws_base: &str, parallel: usize) -> usize {
    let agents = sim.borrow().agents.clone();
    let mut failed = 0;
    for chunk in agents.chunks(parallel.max(1)) {
        let tries = chunk.iter().map(|a| {
            let token = super::sqlite::token(a.borrow().index);
            connect(sim.clone(), a.clone(), ws_base.to_string(), token)
        });
        for r in futures_util::future::join_all(tries).await {
            if let Err(e) = r {
                if failed < 3 {
                    eprintln!("agent connection failed: {e}");
                }
                failed += 1;
            }
        }
    }
    failed
}

async fn connect(
    sim: Shared,
    agent: Rc<RefCell<Agent>>,
    ws_base: String,
    token: String,
) -> anyhow::Result<()> {
    let client = awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish();
    let (_answer, framed) = client
        .ws(format!("{ws_base}/ws/agent?token={token}"))
        .max_frame_size(256 << 20)
        .connect()
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let (mut sink, mut stream) = framed.split();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Out>();
    {
        let mut a = agent.borrow_mut();
        a.tx = Some(tx.clone());
        a.convs.clear();
        a.ending.clear();
        a.hello_interactions = 0;
    }
    actix_rt::spawn(async move {
        while let Some(out) = rx.recv().await {
            let frame = match out {
                Out::Text(s) => ws::Message::Text(s.into()),
                Out::Pong(p) => ws::Message::Pong(p),
            };
            if sink.send(frame).await.is_err() {
                break;
            }
        }
    });
    let (hello_tx, hello_rx) = tokio::sync::oneshot::channel::<()>();
    actix_rt::spawn(async move {
        let mut hello_tx = Some(hello_tx);
        while let Some(frame) = stream.next().await {
            match frame {
                Ok(ws::Frame::Text(bytes)) => {
                    let hello = on_frame(&sim, &agent, &bytes);
                    if hello {
                        if let Some(h) = hello_tx.take() {
                            let _ = h.send(());
                        }
                    }
                }
                Ok(ws::Frame::Ping(p)) => {
                    let _ = tx.send(Out::Pong(p));
                }
                Ok(ws::Frame::Close(_)) | Err(_) => break,
                Ok(_) => {}
            }
        }
        agent.borrow_mut().tx = None;
    });
    tokio::time::timeout(Duration::from_secs(120), hello_rx)
        .await
        .map_err(|_| anyhow::anyhow!("no hello within 120 s"))?
        .map_err(|_| anyhow::anyhow!("closed before hello"))?;
    Ok(())
}

fn text_fields(text: &str) -> Option<(usize, u32, u64)> {
    let mut it = text.strip_prefix("lg ")?.split_whitespace();
    Some((
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
        it.next()?.parse().ok()?,
    ))
}

fn reply(agent: &Agent, iid: i64, r: String) {
    agent.send(serde_json::json!({"type": "send", "interaction_id": iid,
                                  "text": format!("re {}", common::now_ns()), "ref": r}));
}

/// After the think time: reply (and, for the last message, end and wrap up on the acks).
fn reply_later(sim: &Shared, agent: &Rc<RefCell<Agent>>, iid: i64, last: bool) {
    let (sim, agent) = (sim.clone(), agent.clone());
    let think = sim.borrow().think;
    actix_rt::spawn(async move {
        if !think.is_zero() {
            actix_rt::time::sleep(think).await;
        }
        let mut a = agent.borrow_mut();
        if a.convs.contains_key(&iid) && !a.ending.contains(&iid) {
            if last {
                a.ending.insert(iid);
            }
            reply(&a, iid, if last { format!("f{iid}") } else { "s".into() });
            sim.borrow_mut().c.replies += 1;
        }
    });
}

/// Handles one server frame; answers whether it was `hello`.
fn on_frame(sim: &Shared, agent: &Rc<RefCell<Agent>>, bytes: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(bytes) else {
        return false;
    };
    let now = common::now_ns();
    match v["type"].as_str().unwrap_or("") {
        "hello" => {
            let mut a = agent.borrow_mut();
            a.id = v["agent"]["id"].as_i64().unwrap_or(0);
            let list = v["interactions"].as_array().cloned().unwrap_or_default();
            a.hello_interactions = list.len();
            for i in &list {
                let iid = i["id"].as_i64().unwrap_or(0);
                if let Some(c) = i["customer"]["phone"]
                    .as_str()
                    .and_then(common::customer_of)
                {
                    a.convs.insert(iid, c);
                }
            }
            a.send(serde_json::json!({"type": "set_status", "status": "available"}));
            return true;
        }
        "offer" => {
            let iid = v["interaction_id"].as_i64().unwrap_or(0);
            let cust = v["customer"]["phone"]
                .as_str()
                .and_then(common::customer_of);
            let mut s = sim.borrow_mut();
            s.c.offers += 1;
            if let Some(c) = cust {
                if c < s.customers.len() {
                    let t0 = s.customers[c].t0_ns;
                    if t0 > 0 && matches!(s.customers[c].state, CState::Waiting | CState::Parked) {
                        common::record_ns(&mut s.h.offer, now.saturating_sub(t0));
                        s.customers[c].t0_ns = 0;
                    }
                    agent.borrow_mut().convs.insert(iid, c);
                }
            }
            agent
                .borrow()
                .send(serde_json::json!({"type": "accept", "interaction_id": iid,
                                                   "ref": format!("a{iid}")}));
        }
        "message" => {
            let m = &v["message"];
            if m["direction"].as_str() != Some("in") {
                return false;
            }
            let iid = v["interaction_id"].as_i64().unwrap_or(0);
            let Some((cust, index, sent)) = m["text"].as_str().and_then(text_fields) else {
                return false;
            };
            let (last, reply_now) = {
                let mut s = sim.borrow_mut();
                s.c.frames += 1;
                common::record_ns(&mut s.h.frame, now.saturating_sub(sent));
                if let Some(t) = s.probes.remove(&cust) {
                    s.c.probe_frames += 1;
                    common::record_ns(&mut s.h.probe, now.saturating_sub(t));
                }
                let parked = matches!(
                    s.customers.get(cust).map(|c| c.state),
                    Some(CState::Parked | CState::ParkedActive)
                );
                let last = !parked && index + 1 >= s.conv_messages;
                let every = s.reply_every;
                (last, !parked && !last && every > 0 && index % every == 0)
            };
            if last || reply_now {
                reply_later(sim, agent, iid, last);
            }
        }
        "ack" => {
            let r = v["ref"].as_str().unwrap_or("");
            let (kind, id) = r.split_at(r.len().min(1));
            let Ok(iid) = id.parse::<i64>() else {
                return false;
            };
            match kind {
                "a" => {
                    let cust = agent.borrow().convs.get(&iid).copied();
                    if let Some(c) = cust {
                        let talking = sim.borrow_mut().accepted(c);
                        if talking {
                            // A greeting, after the think time.
                            reply_later(sim, agent, iid, false);
                        }
                    }
                }
                "f" => agent.borrow().send(serde_json::json!({"type": "end",
                    "interaction_id": iid, "ref": format!("e{iid}")})),
                "e" => agent.borrow().send(serde_json::json!({"type": "wrap_up",
                    "interaction_id": iid, "disposition": "resolved", "ref": format!("w{iid}")})),
                "w" => {
                    let cust = {
                        let mut a = agent.borrow_mut();
                        a.ending.remove(&iid);
                        a.convs.remove(&iid)
                    };
                    if let Some(c) = cust {
                        sim.borrow_mut().wrapped(c);
                    }
                }
                _ => {}
            }
        }
        "interaction" => {
            // A conversation restored after this agent's `hello` (restart) arrives this way.
            let mut a = agent.borrow_mut();
            let iid = v["id"].as_i64().unwrap_or(0);
            let mine = v["owner_agent_id"].as_i64() == Some(a.id);
            let open = !matches!(v["state"].as_str(), Some("closed") | Some("wrap_up"));
            if mine && open {
                if let Some(c) = v["customer"]["phone"]
                    .as_str()
                    .and_then(common::customer_of)
                {
                    a.convs.insert(iid, c);
                }
            }
        }
        "offer_revoked" => {
            let iid = v["interaction_id"].as_i64().unwrap_or(0);
            agent.borrow_mut().convs.remove(&iid);
        }
        "error" => {
            let mut s = sim.borrow_mut();
            s.c.ws_errors += 1;
            if s.c.ws_errors <= 5 {
                eprintln!("agent {}: {v}", agent.borrow().index);
            }
        }
        _ => {}
    }
    false
}
