//! Operating Switchboard: /metrics, /readyz, the realtime board and its supervisor feed,
//! reports, the command line (backup, restore, migrate, admin create, check-config) and
//! retention.

use crate::helpers::*;
use futures_util::{SinkExt, StreamExt};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use std::path::Path;
use std::process::Output;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::Message as WsMessage;

// ---- helpers ------------------------------------------------------------------------------

/// The value of one sample (`name{labels}` exactly as exposed), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

async fn scrape(app: &TestApp) -> String {
    let resp = app.get("/metrics", None).await;
    assert_eq!(resp.status(), 200);
    let ct = resp.headers()["content-type"].to_str().unwrap().to_string();
    assert!(ct.starts_with("text/plain"), "{ct}");
    resp.text().await.unwrap()
}

fn db(path: &Path) -> Connection {
    let c = Connection::open(path).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    c
}

/// Runs the binary with `args`, the database at `db`, and `stdin` written to it.
async fn cli(args: &[&str], db: &Path, stdin: Option<&str>) -> Output {
    cli_env(args, db, stdin, &[]).await
}

async fn cli_env(args: &[&str], db: &Path, stdin: Option<&str>, env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
    cmd.args(args)
        .current_dir(dir.path())
        .env_remove("SWITCHBOARD_ENV")
        .env_remove("SWITCHBOARD_CONFIG")
        .env("SWITCHBOARD__DATABASE__PATH", db)
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().expect("running switchboard");
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).await.unwrap();
    }
    drop(input);
    tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("the command finished within 60 s")
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status,
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

// ---- metrics and health ---------------------------------------------------------------------

#[tokio::test]
async fn metrics_are_present_and_move_under_a_conversation() {
    let app = TestApp::spawn().await;
    let basic = app.setup_basic(1, json!({})).await;
    let before = scrape(&app).await;
    for family in [
        "switchboard_webhook_deliveries_total",
        "switchboard_webhook_duration_seconds",
        "switchboard_messages",
        "switchboard_outbox_depth",
        "switchboard_outbox_attempts_total",
        "switchboard_offers_total",
        "switchboard_queue_waiting",
        "switchboard_queue_longest_wait_seconds",
        "switchboard_agents",
        "switchboard_websockets_connected",
        "switchboard_sqlite_commit_duration_seconds",
        "switchboard_sqlite_commit_batch_size",
    ] {
        assert!(
            before.contains(&format!("# TYPE {family} ")),
            "{family} missing:\n{before}"
        );
    }
    for outcome in ["accepted", "rejected", "timeout"] {
        assert!(
            sample(
                &before,
                &format!("switchboard_offers_total{{outcome=\"{outcome}\"}}")
            )
            .is_some(),
            "offers by {outcome} missing"
        );
    }
    let queue = format!(
        "queue_id=\"{}\",queue=\"{}\"",
        basic.queue_id, basic.queue_name
    );

    // A customer waits: the queue shows it.
    app.customer_says("15550001111", "Wanda", "hello?").await;
    let waiting = scrape(&app).await;
    assert_eq!(
        sample(&waiting, &format!("switchboard_queue_waiting{{{queue}}}")),
        Some(1.0),
        "{waiting}"
    );
    assert!(
        sample(
            &waiting,
            &format!("switchboard_queue_longest_wait_seconds{{{queue}}}")
        )
        .is_some(),
        "{waiting}"
    );

    // An agent answers, the Cloud API takes the reply, and a status webhook follows.
    app.cloud_api_accepts("wamid.REPLY1").await;
    let mut agent = app.agent_online(&basic.agents[0]).await;
    let offer = agent.wait_for("offer", EVENT_TIMEOUT).await;
    let id = offer["interaction_id"].as_i64().unwrap();
    agent.accept(id).await;
    agent.send_message(id, "How can I help?").await.unwrap();
    app.wait_cloud_api_requests(1).await;
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let m = scrape(&app).await;
        if sample(
            &m,
            "switchboard_messages{direction=\"out\",status=\"sent\"}",
        ) == Some(1.0)
        {
            break;
        }
        assert!(Instant::now() < deadline, "the reply was never sent:\n{m}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    app.status_update("wamid.REPLY1", "delivered", "15550001111")
        .await;

    let after = scrape(&app).await;
    let delta = |series: &str| {
        sample(&after, series).unwrap_or(0.0) - sample(&before, series).unwrap_or(0.0)
    };
    assert!(
        delta("switchboard_webhook_deliveries_total{status=\"200\"}") >= 2.0,
        "{after}"
    );
    assert!(delta("switchboard_webhook_duration_seconds_count") >= 2.0);
    assert!(delta("switchboard_sqlite_commit_batch_size_count") >= 3.0);
    assert!(delta("switchboard_sqlite_commit_duration_seconds_count") >= 3.0);
    // The WAL file grew with the conversation's commits.
    assert!(delta("switchboard_sqlite_wal_bytes") > 0.0);
    assert!(delta("switchboard_outbox_attempts_total{outcome=\"sent\"}") >= 1.0);
    assert_eq!(
        sample(
            &after,
            "switchboard_messages{direction=\"in\",status=\"none\"}"
        ),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(
            &after,
            "switchboard_messages{direction=\"out\",status=\"delivered\"}"
        ),
        Some(1.0),
        "{after}"
    );
    assert_eq!(sample(&after, "switchboard_outbox_depth"), Some(0.0));
    assert_eq!(
        sample(&after, &format!("switchboard_queue_waiting{{{queue}}}")),
        Some(0.0)
    );
    assert_eq!(
        sample(&after, "switchboard_agents{status=\"available\"}"),
        Some(1.0),
        "{after}"
    );
    assert_eq!(
        sample(&after, "switchboard_interactions{state=\"active\"}"),
        Some(1.0)
    );
}

#[tokio::test]
async fn metrics_access_can_require_a_token_or_be_off() {
    let app = TestApp::spawn_with(|c| {
        c.set("metrics.access", "token")
            .set("metrics.token", "scrape-secret");
    })
    .await;
    assert_eq!(app.get("/metrics", None).await.status(), 401);
    assert_eq!(
        app.get("/metrics", Some("wrong-secret!")).await.status(),
        401
    );
    let ok = app.get("/metrics", Some("scrape-secret")).await;
    assert_eq!(ok.status(), 200);
    assert!(ok.text().await.unwrap().contains("switchboard_up 1"));

    let off = TestApp::spawn_with(|c| {
        c.set("metrics.access", "off");
    })
    .await;
    assert_eq!(off.get("/metrics", None).await.status(), 404);
}

#[tokio::test]
async fn readyz_checks_the_database_and_actors() {
    let app = TestApp::spawn().await;
    app.setup_basic(2, json!({})).await;
    let body = json_ok(app.get("/readyz", None).await, "readyz").await;
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["database"], "ok");
    assert_eq!(body["actors"], "ok");
    assert_eq!(body["queues"], 1);
    assert!(body["agents"].as_u64().unwrap() >= 2, "{body}");
    assert_eq!(app.get("/healthz", None).await.status(), 200);
}

// ---- realtime board -------------------------------------------------------------------------

async fn next_frame(
    ws: &mut tokio_tungstenite::WebSocketStream<
        tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>,
    >,
) -> Value {
    loop {
        let msg = tokio::time::timeout(EVENT_TIMEOUT, ws.next())
            .await
            .expect("a frame within the timeout")
            .expect("the feed is open")
            .unwrap();
        if let WsMessage::Text(t) = msg {
            return serde_json::from_str(t.as_str()).unwrap();
        }
    }
}

#[tokio::test]
async fn realtime_stats_and_the_supervisor_feed_follow_the_queue() {
    let app = TestApp::spawn().await;
    let basic = app.setup_basic(1, json!({})).await;
    app.customer_says("15550002222", "Quinn", "anyone there?")
        .await;

    let stats = json_ok(
        app.get("/api/v1/stats/realtime", Some(&app.admin_token))
            .await,
        "realtime",
    )
    .await;
    let q = stats["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|q| q["id"] == json!(basic.queue_id))
        .unwrap()
        .clone();
    assert_eq!(q["waiting"], 1, "{stats}");
    assert!(stats["agents"]["offline"].as_i64().unwrap() >= 1);
    assert_eq!(stats["agent_list"][0]["id"], json!(basic.agents[0].id));
    assert_eq!(
        app.get("/api/v1/stats/realtime", Some(&basic.agents[0].token))
            .await
            .status(),
        403
    );

    // Agents may not watch the board.
    let agent_url = app.supervisor_url(&basic.agents[0].token);
    assert!(tokio_tungstenite::connect_async(&agent_url).await.is_err());

    let url = app.supervisor_url(&app.admin_token);
    let (mut feed, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let first = next_frame(&mut feed).await;
    assert_eq!(first["type"], "realtime");
    let waiting = |f: &Value| {
        f["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == json!(basic.queue_id))
            .map(|q| {
                (
                    q["waiting"].as_i64().unwrap(),
                    q["active"].as_i64().unwrap(),
                )
            })
            .unwrap()
    };
    assert_eq!(waiting(&first).0, 1, "{first}");

    // The agent takes it: the feed pushes the change.
    let mut agent = app.agent_online(&basic.agents[0]).await;
    let offer = agent.wait_for("offer", EVENT_TIMEOUT).await;
    agent
        .accept(offer["interaction_id"].as_i64().unwrap())
        .await;
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let f = next_frame(&mut feed).await;
        assert_eq!(f["type"], "realtime");
        if waiting(&f) == (0, 1) {
            let me = f["agent_list"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["id"] == json!(basic.agents[0].id))
                .unwrap();
            assert_eq!(me["status"], "available");
            assert_eq!(me["load"], 1);
            break;
        }
        assert!(Instant::now() < deadline, "no frame with the accept");
    }
    let _ = feed.close(None).await;
}

/// The board's feed keeps a client that answers pings and closes one that has gone silent
/// (`limits.ws_client_timeout_secs`), like the agent desktop's socket.
#[tokio::test]
async fn the_supervisor_feed_closes_a_silent_client_and_keeps_a_live_one() {
    let app = TestApp::spawn_with(|c| {
        c.set("limits.ws_client_timeout_secs", 1);
    })
    .await;
    let basic = app.setup_basic(0, json!({})).await;
    let url = app.supervisor_url(&app.admin_token);
    let (mut live, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let (mut silent, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    assert_eq!(next_frame(&mut live).await["type"], "realtime");

    // The live client reads (tungstenite answers the pings) for 2.5 timeouts; the other
    // one does not read at all.
    let until = tokio::time::Instant::now() + Duration::from_millis(2500);
    while let Ok(frame) = tokio::time::timeout_at(until, live.next()).await {
        assert!(
            matches!(frame, Some(Ok(_))),
            "the live feed must stay open: {frame:?}"
        );
    }
    // Reading now drains what was buffered (the board, pings), then must meet the end.
    let mut frames = 0;
    let give_up = tokio::time::Instant::now() + Duration::from_secs(3);
    let ended = loop {
        match tokio::time::timeout_at(give_up, silent.next()).await {
            Ok(Some(Ok(WsMessage::Close(_)))) | Ok(None) | Ok(Some(Err(_))) => break true,
            Ok(Some(Ok(_))) => frames += 1,
            Err(_) => break false,
        }
    };
    assert!(
        ended,
        "the silent feed is closed ({frames} frames were buffered before)"
    );

    // The live one still gets the board's changes.
    app.customer_says("15550009020", "Zoe", "hello").await;
    let deadline = Instant::now() + EVENT_TIMEOUT;
    loop {
        let f = next_frame(&mut live).await;
        let waiting = f["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["id"] == json!(basic.queue_id))
            .map(|q| q["waiting"].as_i64().unwrap());
        if waiting == Some(1) {
            break;
        }
        assert!(Instant::now() < deadline, "no change pushed: {f}");
    }
}

// ---- reports --------------------------------------------------------------------------------

/// 2024-03-04T09:00:00Z in ms.
const T0: i64 = 1_709_542_800_000;
const S: i64 = 1000;

struct Conv<'a> {
    id: i64,
    queue: i64,
    state: &'a str,
    created: i64,
    accepted: Option<i64>,
    ended: Option<i64>,
    closed: Option<i64>,
    owner: Option<i64>,
}

fn insert_conv(c: &Connection, channel: i64, v: &Conv) {
    c.execute(
        "INSERT INTO interactions (id, channel_id, queue_id, customer_phone, customer_name,
            source_number, state, queue_position, owner_agent_id, created_at, accepted_at,
            ended_at, closed_at, last_customer_message_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, 'Customer', '+1 555 0100', ?5, ?6, ?7, ?6, ?8, ?9, ?10, ?6, ?6)",
        params![
            v.id,
            channel,
            v.queue,
            format!("1555{}", v.id),
            v.state,
            v.created,
            v.owner,
            v.accepted,
            v.ended,
            v.closed
        ],
    )
    .unwrap();
    c.execute(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_name, kind, text,
            sent_at, created_at, updated_at)
         VALUES (?1, 'in', 'customer', 'Customer', 'text', 'hi', ?2, ?2, ?2)",
        params![v.id, v.created],
    )
    .unwrap();
}

#[allow(clippy::too_many_arguments)]
fn insert_part(
    c: &Connection,
    interaction: i64,
    agent: i64,
    joined: i64,
    deadline: Option<i64>,
    wrapped: Option<i64>,
    disposition: Option<&str>,
    auto: Option<bool>,
) {
    c.execute(
        "INSERT INTO interaction_participants (interaction_id, agent_id, display_name, role,
            joined_at, wrap_up_deadline, wrapped_up_at, disposition, auto)
         VALUES (?1, ?2, 'Agent', 'owner', ?3, ?4, ?5, ?6, ?7)",
        params![
            interaction,
            agent,
            joined,
            deadline,
            wrapped,
            disposition,
            auto
        ],
    )
    .unwrap();
}

fn insert_reply(c: &Connection, interaction: i64, agent: i64, at: i64) {
    c.execute(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, status, sent_at, created_at, updated_at)
         VALUES (?1, 'out', 'agent', ?2, 'Agent', 'text', 'hello', 'read', ?3, ?3, ?3)",
        params![interaction, agent.to_string(), at],
    )
    .unwrap();
}

fn insert_offer(c: &Connection, interaction: i64, queue: i64, agent: i64, outcome: &str) {
    c.execute(
        "INSERT INTO offer_log (interaction_id, queue_id, agent_id, kind, outcome, ended_at)
         VALUES (?1, ?2, ?3, 'new', ?4, 0)",
        params![interaction, queue, agent, outcome],
    )
    .unwrap();
}

fn durations(v: &Value) -> (u64, f64, f64) {
    (
        v["count"].as_u64().unwrap(),
        v["avg_secs"].as_f64().unwrap_or(-1.0),
        v["p90_secs"].as_f64().unwrap_or(-1.0),
    )
}

#[tokio::test]
async fn reports_match_hand_computed_figures_for_a_scripted_day() {
    let app = TestApp::spawn().await;
    let q = app
        .create_queue(
            json!({"name": "Sales", "wrap_up_secs": 60, "service_level_secs": 30, "disposition_codes": [
            {"code": "sale", "label": "Sale"}, {"code": "callback", "label": "Call back"}]}),
        )
        .await;
    let q2 = app
        .create_queue(
            json!({"name": "Billing", "wrap_up_secs": 30, "disposition_codes": [
            {"code": "sale", "label": "Sale"}]}),
        )
        .await;
    let channel = app.create_channel(q).await;
    let a = app.new_agent(&[q, q2], json!({})).await.id;
    let b = app.new_agent(&[q], json!({})).await.id;

    // The day, as the actors would have written it.
    let c = db(&app.db_path);
    // 1: B lets the offer lapse; A accepts at 10 s, replies at 40 s, ends at 340 s and wraps up
    //    at 360 s with `sale`.
    insert_conv(
        &c,
        channel,
        &Conv {
            id: 101,
            queue: q,
            state: "closed",
            created: T0,
            accepted: Some(T0 + 10 * S),
            ended: Some(T0 + 340 * S),
            closed: Some(T0 + 360 * S),
            owner: Some(a),
        },
    );
    insert_part(
        &c,
        101,
        a,
        T0 + 10 * S,
        Some(T0 + 400 * S),
        Some(T0 + 360 * S),
        Some("sale"),
        Some(false),
    );
    insert_reply(&c, 101, a, T0 + 40 * S);
    insert_offer(&c, 101, q, b, "timeout");
    insert_offer(&c, 101, q, a, "accepted");
    // 2: B accepts at 30 s, replies at 50 s, transfers to A at 200 s (wraps up at 230 s with
    //    `callback`); A joins at 215 s, ends at 515 s; its wrap-up runs out at 575 s.
    let t = T0 + 3600 * S;
    insert_conv(
        &c,
        channel,
        &Conv {
            id: 102,
            queue: q,
            state: "closed",
            created: t,
            accepted: Some(t + 30 * S),
            ended: Some(t + 515 * S),
            closed: Some(t + 575 * S),
            owner: Some(a),
        },
    );
    insert_part(
        &c,
        102,
        b,
        t + 30 * S,
        Some(t + 260 * S),
        Some(t + 230 * S),
        Some("callback"),
        Some(false),
    );
    insert_part(
        &c,
        102,
        a,
        t + 215 * S,
        Some(t + 575 * S),
        Some(t + 575 * S),
        None,
        Some(true),
    );
    insert_reply(&c, 102, b, t + 50 * S);
    insert_reply(&c, 102, a, t + 300 * S);
    // 3: A rejects, then the customer leaves while B is offered it: abandoned.
    let t = T0 + 7200 * S;
    insert_conv(
        &c,
        channel,
        &Conv {
            id: 103,
            queue: q,
            state: "closed",
            created: t,
            accepted: None,
            ended: None,
            closed: Some(t + 120 * S),
            owner: None,
        },
    );
    insert_offer(&c, 103, q, a, "rejected");
    insert_offer(&c, 103, q, b, "customer_left");
    // 4 (Billing, 30 s wrap-up): A accepts at 20 s, replies at 25 s, ends at 100 s, wraps up
    //    at 110 s with `sale`.
    let t = T0 + 3 * 3600 * S;
    insert_conv(
        &c,
        channel,
        &Conv {
            id: 104,
            queue: q2,
            state: "closed",
            created: t,
            accepted: Some(t + 20 * S),
            ended: Some(t + 100 * S),
            closed: Some(t + 110 * S),
            owner: Some(a),
        },
    );
    insert_part(
        &c,
        104,
        a,
        t + 20 * S,
        Some(t + 130 * S),
        Some(t + 110 * S),
        Some("sale"),
        Some(false),
    );
    insert_reply(&c, 104, a, t + 25 * S);
    // 5: the day before: not in the report.
    let t = T0 - 10 * 3600 * S;
    insert_conv(
        &c,
        channel,
        &Conv {
            id: 105,
            queue: q,
            state: "closed",
            created: t,
            accepted: Some(t + 5 * S),
            ended: Some(t + 50 * S),
            closed: Some(t + 60 * S),
            owner: Some(a),
        },
    );
    insert_part(
        &c,
        105,
        a,
        t + 5 * S,
        Some(t + 110 * S),
        Some(t + 60 * S),
        Some("sale"),
        Some(false),
    );
    // 6: B accepts at 60 s and is still talking.
    let t = T0 + 4 * 3600 * S;
    insert_conv(
        &c,
        channel,
        &Conv {
            id: 106,
            queue: q,
            state: "active",
            created: t,
            accepted: Some(t + 60 * S),
            ended: None,
            closed: None,
            owner: Some(b),
        },
    );
    insert_part(&c, 106, b, t + 60 * S, None, None, None, None);
    drop(c);

    let report = json_ok(
        app.get(
            "/api/v1/reports/queues?from=2024-03-04",
            Some(&app.admin_token),
        )
        .await,
        "queue report",
    )
    .await;
    assert_eq!(report["from"], "2024-03-04T00:00:00.000Z");
    assert_eq!(report["to"], "2024-03-05T00:00:00.000Z");
    let queue = |id: i64| {
        report["queues"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["queue_id"] == json!(id))
            .unwrap()
            .clone()
    };
    let sales = queue(q);
    assert_eq!(
        (
            &sales["offered"],
            &sales["accepted"],
            &sales["abandoned"],
            &sales["transferred"]
        ),
        (&json!(4), &json!(3), &json!(1), &json!(1)),
        "{sales}"
    );
    assert_eq!(durations(&sales["wait"]), (3, 33.333, 60.0));
    assert_eq!(durations(&sales["handle"]), (2, 407.5, 485.0));
    assert_eq!(durations(&sales["wrap_up"]), (3, 36.667, 60.0));
    assert_eq!(durations(&sales["first_response"]), (2, 45.0, 50.0));
    assert_eq!(sales["dispositions"], json!({"sale": 1, "callback": 1}));
    assert_eq!(sales["auto_wrap_ups"], 1);

    let billing = queue(q2);
    assert_eq!(
        (
            &billing["offered"],
            &billing["accepted"],
            &billing["abandoned"],
            &billing["transferred"]
        ),
        (&json!(1), &json!(1), &json!(0), &json!(0))
    );
    assert_eq!(durations(&billing["wait"]), (1, 20.0, 20.0));
    assert_eq!(durations(&billing["handle"]), (1, 80.0, 80.0));
    assert_eq!(durations(&billing["wrap_up"]), (1, 10.0, 10.0));
    assert_eq!(durations(&billing["first_response"]), (1, 25.0, 25.0));

    let totals = &report["totals"];
    assert_eq!(
        (&totals["offered"], &totals["accepted"]),
        (&json!(5), &json!(4))
    );
    assert_eq!(durations(&totals["wait"]), (4, 30.0, 60.0));
    assert_eq!(durations(&totals["handle"]), (3, 298.333, 485.0));
    assert_eq!(durations(&totals["wrap_up"]), (4, 30.0, 60.0));
    assert_eq!(durations(&totals["first_response"]), (3, 38.333, 50.0));
    assert_eq!(totals["dispositions"], json!({"sale": 2, "callback": 1}));

    // Service level (Sales: 30 s, Billing: the default 60 s). Sales: 1 (10 s) and 2 (30 s,
    // the threshold itself) are within; 3 (abandoned after 120 s) and 6 (60 s) are not.
    assert_eq!(
        sales["service_level"],
        json!({"threshold_secs": 30, "accepted_within": 2, "abandoned_within": 0,
               "waiting_over": 0, "counted": 4, "percent": 50.0})
    );
    assert_eq!(
        billing["service_level"],
        json!({"threshold_secs": 60, "accepted_within": 1, "abandoned_within": 0,
               "waiting_over": 0, "counted": 1, "percent": 100.0})
    );
    assert_eq!(
        totals["service_level"],
        json!({"threshold_secs": null, "accepted_within": 3, "abandoned_within": 0,
               "waiting_over": 0, "counted": 5, "percent": 60.0})
    );

    // Conversations per hour of arrival: 09:00 (1), 10:00 (2), 11:00 (3), 12:00 (4, Billing),
    // 13:00 (6).
    let hourly = json_ok(
        app.get(
            "/api/v1/reports/intervals?from=2024-03-04",
            Some(&app.admin_token),
        )
        .await,
        "hourly report",
    )
    .await;
    assert_eq!(hourly["interval"], "hour");
    let starts = hourly["starts"].as_array().unwrap();
    assert_eq!(starts.len(), 24);
    assert_eq!(starts[9], "2024-03-04T09:00:00.000Z");
    let at = |hours: &[(usize, u64)]| {
        let mut v = vec![json!(0); 24];
        for (h, n) in hours {
            v[*h] = json!(n);
        }
        Value::Array(v)
    };
    let all = &hourly["totals"];
    assert_eq!(
        all["offered"],
        at(&[(9, 1), (10, 1), (11, 1), (12, 1), (13, 1)])
    );
    assert_eq!(all["accepted"], at(&[(9, 1), (10, 1), (12, 1), (13, 1)]));
    assert_eq!(all["abandoned"], at(&[(11, 1)]));
    assert_eq!(all["outbound"], at(&[]));
    let sl = all["service_level_percent"].as_array().unwrap();
    assert_eq!(
        (&sl[8], &sl[9], &sl[10], &sl[11], &sl[12], &sl[13]),
        (
            &json!(null),
            &json!(100.0),
            &json!(100.0),
            &json!(0.0),
            &json!(100.0),
            &json!(0.0)
        )
    );
    let sales_hourly = hourly["queues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["queue_id"] == json!(q))
        .unwrap();
    assert_eq!(
        sales_hourly["offered"],
        at(&[(9, 1), (10, 1), (11, 1), (13, 1)])
    );
    // Per agent: what each took, by the conversation's hour of arrival (2 was B's, then A's).
    let agent_hourly = |id: i64| {
        hourly["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["agent_id"] == json!(id))
            .unwrap()
            .clone()
    };
    assert_eq!(agent_hourly(a)["accepted"], at(&[(9, 1), (10, 1), (12, 1)]));
    assert_eq!(agent_hourly(b)["accepted"], at(&[(10, 1), (13, 1)]));

    let agents = json_ok(
        app.get(
            "/api/v1/reports/agents?from=2024-03-04T00:00:00Z&to=2024-03-05T00:00:00Z",
            Some(&app.admin_token),
        )
        .await,
        "agent report",
    )
    .await;
    let agent = |id: i64| {
        agents["agents"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["agent_id"] == json!(id))
            .unwrap()
            .clone()
    };
    let ra = agent(a);
    assert_eq!(
        [
            &ra["offered"],
            &ra["accepted"],
            &ra["rejected"],
            &ra["timed_out"],
            &ra["abandoned"],
            &ra["transferred"]
        ],
        [
            &json!(4),
            &json!(3),
            &json!(1),
            &json!(0),
            &json!(0),
            &json!(0)
        ],
        "{ra}"
    );
    assert_eq!(durations(&ra["wait"]), (2, 15.0, 20.0));
    assert_eq!(durations(&ra["handle"]), (3, 236.667, 330.0));
    assert_eq!(durations(&ra["wrap_up"]), (3, 30.0, 60.0));
    assert_eq!(durations(&ra["first_response"]), (2, 32.5, 40.0));
    assert_eq!(ra["dispositions"], json!({"sale": 2}));
    assert_eq!(ra["auto_wrap_ups"], 1);

    let rb = agent(b);
    assert_eq!(
        [
            &rb["offered"],
            &rb["accepted"],
            &rb["rejected"],
            &rb["timed_out"],
            &rb["abandoned"],
            &rb["transferred"]
        ],
        [
            &json!(4),
            &json!(2),
            &json!(0),
            &json!(1),
            &json!(1),
            &json!(1)
        ],
        "{rb}"
    );
    assert_eq!(durations(&rb["wait"]), (2, 45.0, 60.0));
    assert_eq!(durations(&rb["handle"]), (1, 170.0, 170.0));
    assert_eq!(durations(&rb["wrap_up"]), (1, 30.0, 30.0));
    assert_eq!(durations(&rb["first_response"]), (1, 50.0, 50.0));
    assert_eq!(rb["dispositions"], json!({"callback": 1}));

    // CSV for spreadsheets: a header, the totals, then one line per queue.
    let resp = app
        .get(
            "/api/v1/reports/queues?from=2024-03-04&format=csv",
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert!(lines[0]
        .starts_with("queue_id,queue_name,offered,accepted,abandoned,transferred,wait_avg_secs"));
    assert!(lines[1].starts_with(",all queues,5,4,1,1,30,60,"), "{csv}");
    let sales_line = lines.iter().find(|l| l.contains(",Sales,")).unwrap();
    assert!(
        sales_line.starts_with(&format!(
            "{q},Sales,4,3,1,1,33.333,60,407.5,485,36.667,60,45,50,1,"
        )),
        "{sales_line}"
    );
    // Dispositions, billable messages by pricing category (none here), then the outbound
    // conversations and the surveys (R23, R28; none here), then the service level (8.8).
    assert!(
        sales_line.ends_with("callback=1;sale=1,,0,0,0,,30,2,0,0,4,50"),
        "{sales_line}"
    );
    assert!(lines[1].ends_with(",,3,0,0,5,60"), "{csv}");
    assert!(lines[0].ends_with(
        ",dispositions,billable_messages,outbound,csat_sent,csat_answered,csat_average,\
         service_level_secs,service_level_accepted_within,service_level_abandoned_within,\
         service_level_waiting_over,service_level_counted,service_level_percent"
    ));
    let agents_csv = app
        .get(
            "/api/v1/reports/agents?from=2024-03-04&format=csv",
            Some(&app.admin_token),
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(agents_csv.contains(&format!("\r\n{b},")), "{agents_csv}");

    // Agents may not read reports; bad ranges are refused.
    let agent_token = app.new_agent(&[q], json!({})).await.token;
    assert_eq!(
        app.get("/api/v1/reports/queues", Some(&agent_token))
            .await
            .status(),
        403
    );
    let bad = app
        .get(
            "/api/v1/reports/queues?from=2024-03-05&to=2024-03-04",
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(bad.status(), 400);
}

// ---- command line ---------------------------------------------------------------------------

#[tokio::test]
async fn every_subcommand_has_help() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["admin", "--help"],
        vec!["admin", "create", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
        vec!["check-config", "--help"],
    ] {
        let out = cli(&args, &db, None).await;
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("Usage:"),
            "{args:?}: {}",
            text(&out)
        );
    }
    let out = cli(&["--help"], &db, None).await;
    let help = String::from_utf8_lossy(&out.stdout);
    for sub in [
        "serve",
        "migrate",
        "admin",
        "backup",
        "restore",
        "check-config",
        "--config",
    ] {
        assert!(help.contains(sub), "{sub} missing from --help:\n{help}");
    }
    assert!(!db.exists(), "--help must not touch the database");
}

#[tokio::test]
async fn check_config_reports_problems() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("x.db");
    let out = cli(&["check-config"], &db, None).await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("configuration ok"), "{stdout}");
    assert!(stdout.contains("warning: demo.enabled is true"), "{stdout}");

    let out = cli_env(
        &["check-config"],
        &db,
        None,
        &[("SWITCHBOARD__METRICS__ACCESS", "sometimes")],
    )
    .await;
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("metrics.access"),
        "{}",
        text(&out)
    );

    // --config is a global flag: it works after the subcommand too.
    let file = dir.path().join("prod.toml");
    std::fs::write(
        &file,
        "[demo]\nenabled = false\n[whatsapp]\nsandbox = false\napp_secret = \"s\"\n",
    )
    .unwrap();
    let out = cli(
        &["check-config", "--config", file.to_str().unwrap()],
        &db,
        None,
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("demo.enabled = false"), "{stdout}");
    assert!(!stdout.contains("warning: demo"), "{stdout}");
    assert!(stdout.contains("media.store = local"), "{stdout}");
    assert!(!stdout.contains("wal_autocheckpoint is 0"), "{stdout}");

    // Replicated: the database's checkpoints left to Litestream, the media in a bucket.
    let replicated = [
        ("SWITCHBOARD__DATABASE__WAL_AUTOCHECKPOINT", "0"),
        ("SWITCHBOARD__MEDIA__STORE", "s3"),
    ];
    let out = cli_env(&["check-config"], &db, None, &replicated).await;
    assert!(
        !out.status.success(),
        "a bucket store without its bucket is refused"
    );
    assert!(text(&out).contains("media.s3_bucket"), "{}", text(&out));
    let out = cli_env(
        &["check-config"],
        &db,
        None,
        &[
            replicated[0],
            replicated[1],
            ("SWITCHBOARD__MEDIA__S3_BUCKET", "acme"),
        ],
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("media.store = s3 (bucket acme, endpoint AWS"),
        "{stdout}"
    );
    assert!(
        stdout.contains("warning: database.wal_autocheckpoint is 0"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("media files would not survive"),
        "{stdout}"
    );
    let out = cli_env(&["check-config"], &db, None, &[replicated[0]]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("media files would not survive"), "{stdout}");
    // Pushing local media files to a bucket needs a bucket store.
    let out = cli(&["media-push"], &db, None).await;
    assert!(!out.status.success());
    assert!(text(&out).contains("media.store is not"), "{}", text(&out));
}

#[tokio::test]
async fn migrate_then_admin_create_gives_a_working_login() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("data").join("sb.db");
    let out = cli(&["migrate"], &db, None).await;
    assert!(out.status.success(), "{}", text(&out));
    assert!(db.exists());

    // The test server logs in as the usual admin: create it here (the bootstrap is skipped
    // once an admin exists).
    let out = cli(
        &["admin", "create", "--username", ADMIN_USERNAME],
        &db,
        Some(&format!("{ADMIN_PASSWORD}\n")),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let out = cli(
        &["admin", "create", "--username", "boss"],
        &db,
        Some("correct horse battery\n"),
    )
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let again = cli(
        &["admin", "create", "--username", "boss"],
        &db,
        Some("another password\n"),
    )
    .await;
    assert!(!again.status.success(), "a taken username is refused");
    let short = cli(
        &["admin", "create", "--username", "tiny"],
        &db,
        Some("short\n"),
    )
    .await;
    assert!(!short.status.success(), "a short password is refused");

    let db_str = db.display().to_string();
    let app = TestApp::spawn_with(|c| {
        c.set("database.path", &db_str);
    })
    .await;
    let login = app.login("boss", "correct horse battery").await;
    assert_eq!(login["user"]["role"], "admin", "{login}");
}

#[tokio::test]
async fn a_backup_taken_during_writes_restores_to_a_database_the_server_starts_on() {
    let app = TestApp::spawn().await;
    let basic = app.setup_basic(1, json!({})).await;
    let _ = basic;
    // Customers keep writing while the backup runs.
    let writer = {
        let address = app.address.clone();
        tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut n = 0u64;
            let started = Instant::now();
            while started.elapsed() < Duration::from_secs(4) {
                let from = format!("1555300{:04}", n % 50);
                let delivery = inbound_delivery(
                    PHONE_NUMBER_ID,
                    &[(&from, "Writer", &new_wamid(), "busy day", now_secs())],
                );
                let body = serde_json::to_vec(&delivery).unwrap();
                let resp = client
                    .post(format!("{address}/webhooks/whatsapp"))
                    .header("Content-Type", "application/json")
                    .header("X-Hub-Signature-256", sign(&body, APP_SECRET))
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert_eq!(resp.status(), 200);
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("backups").join("sb-backup.db");
    let out = cli(&["backup", backup.to_str().unwrap()], &app.db_path, None).await;
    assert!(out.status.success(), "{}", text(&out));
    let sent = writer.await.unwrap();
    assert!(sent > 10, "only {sent} deliveries during the backup");

    // The copy is one consistent moment: every conversation has its first message, and it is
    // a prefix of what the live database holds.
    let b = db(&backup);
    let check: String = b
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let convs = count(&b, "SELECT COUNT(*) FROM interactions");
    let msgs = count(&b, "SELECT COUNT(*) FROM messages");
    assert!(
        convs >= 1 && msgs >= 1,
        "{convs} conversations, {msgs} messages"
    );
    assert_eq!(
        count(
            &b,
            "SELECT COUNT(*) FROM interactions i WHERE NOT EXISTS \
                   (SELECT 1 FROM messages m WHERE m.interaction_id = i.id)"
        ),
        0
    );
    let live = db(&app.db_path);
    assert!(count(&live, "SELECT COUNT(*) FROM messages") >= msgs);
    drop(b);

    // Restore it elsewhere and serve from it.
    let target = dir.path().join("restored").join("sb.db");
    let out = cli(&["restore", backup.to_str().unwrap()], &target, None).await;
    assert!(out.status.success(), "{}", text(&out));
    let target_str = target.display().to_string();
    let restored = TestApp::spawn_with(|c| {
        c.set("database.path", &target_str);
    })
    .await;
    let queues = items_of(restored.admin_get("/api/v1/queues").await);
    assert_eq!(queues.len(), 1);
    let open = restored.list_interactions("?limit=200").await;
    assert_eq!(open.len() as i64, convs.min(200));
    assert_eq!(
        json_ok(restored.get("/readyz", None).await, "readyz").await["status"],
        "ready"
    );

    // Restoring over an existing database keeps the one it replaces.
    let out = cli(&["restore", backup.to_str().unwrap()], &target, None).await;
    assert!(out.status.success(), "{}", text(&out));
    let kept = std::fs::read_dir(target.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .any(|e| e.file_name().to_string_lossy().contains(".before-restore-"));
    assert!(kept, "the replaced database is kept");

    // Not a database: refused, nothing replaced.
    let junk = dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database at all").unwrap();
    let out = cli(&["restore", junk.to_str().unwrap()], &target, None).await;
    assert!(!out.status.success(), "{}", text(&out));
}

// ---- retention --------------------------------------------------------------------------------

#[tokio::test]
async fn retention_deletes_only_what_is_old() {
    let app = TestApp::spawn_with(|c| {
        c.set("retention.days", 30)
            .set("retention.batch", 2)
            .set("retention.interval_secs", 1);
    })
    .await;
    let q = app.create_queue(json!({})).await;
    let channel = app.create_channel(q).await;
    let agent = app.new_agent(&[q], json!({})).await.id;
    let day = 24 * 3600 * S;
    let now = now_secs() * S;
    let c = db(&app.db_path);
    // Five old closed conversations with call logs, one recent, one old but still open.
    let mut plan: Vec<(i64, &str, i64)> = (0..5)
        .map(|i| (201 + i, "closed", now - 40 * day))
        .collect();
    plan.push((210, "closed", now - 2 * day));
    plan.push((220, "active", now - 40 * day));
    for (id, state, at) in &plan {
        let closed = (*state == "closed").then_some(*at + 60 * S);
        insert_conv(
            &c,
            channel,
            &Conv {
                id: *id,
                queue: q,
                state,
                created: *at,
                accepted: Some(*at + S),
                ended: closed,
                closed,
                owner: Some(agent),
            },
        );
        insert_part(&c, *id, agent, *at + S, closed, closed, None, Some(true));
        insert_offer(&c, *id, q, agent, "accepted");
        if let Some(closed) = closed {
            c.execute(
                "INSERT INTO activities (interaction_id, channel_id, queue_id, customer_name,
                    customer_phone, source_number, agents, initiated_at, wrapped_up_at, transcript,
                    created_at)
                 VALUES (?1, ?2, ?3, 'Customer', '+1555', '+1 555 0100', '[]', ?4, ?5, '[]', ?5)",
                params![id, channel, q, at, closed],
            )
            .unwrap();
            let activity = c.last_insert_rowid();
            c.execute(
                "INSERT INTO activity_agents (activity_id, agent_id) VALUES (?1, ?2)",
                params![activity, agent],
            )
            .unwrap();
        }
    }

    // R21: a customer only old conversations name goes with them; one a recent conversation
    // names stays.
    c.execute_batch(&format!(
        "INSERT INTO customers (id, channel_id, phone, user_id, name, created_at, updated_at)
             VALUES (901, {channel}, '15552010', 'US.901', 'Old', 0, 0),
                    (902, {channel}, '15552020', NULL, 'Kept', 0, 0);
         INSERT INTO customer_user_ids (channel_id, user_id, customer_id) VALUES ({channel}, 'US.901', 901);
         UPDATE interactions SET customer_id = 901 WHERE id IN (201, 202);
         UPDATE interactions SET customer_id = 902 WHERE id IN (205, 210);"
    ))
    .unwrap();

    let deadline = Instant::now() + Duration::from_secs(15);
    while count(
        &c,
        "SELECT COUNT(*) FROM interactions WHERE id BETWEEN 201 AND 205",
    ) > 0
    {
        assert!(
            Instant::now() < deadline,
            "old conversations were not deleted"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM activities WHERE interaction_id BETWEEN 201 AND 205"
        ),
        0
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM messages WHERE interaction_id BETWEEN 201 AND 205"
        ),
        0
    );
    assert_eq!(count(&c, "SELECT COUNT(*) FROM interaction_participants WHERE interaction_id BETWEEN 201 AND 205"), 0);
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM customers WHERE id = 901"),
        0
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM customer_user_ids WHERE customer_id = 901"
        ),
        0
    );
    assert_eq!(
        count(&c, "SELECT COUNT(*) FROM customers WHERE id = 902"),
        1
    );
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM offer_log WHERE interaction_id BETWEEN 201 AND 205"
        ),
        0
    );
    // The recent one and the open one stay, with everything they hold.
    for id in [210, 220] {
        assert_eq!(
            count(
                &c,
                &format!("SELECT COUNT(*) FROM interactions WHERE id = {id}")
            ),
            1
        );
        assert_eq!(
            count(
                &c,
                &format!("SELECT COUNT(*) FROM messages WHERE interaction_id = {id}")
            ),
            1
        );
    }
    assert_eq!(
        count(
            &c,
            "SELECT COUNT(*) FROM activities WHERE interaction_id = 210"
        ),
        1
    );
    let m = scrape(&app).await;
    assert_eq!(
        sample(
            &m,
            "switchboard_retention_deleted_total{kind=\"interactions\"}"
        ),
        Some(5.0),
        "{m}"
    );
    assert_eq!(
        sample(
            &m,
            "switchboard_retention_deleted_total{kind=\"activities\"}"
        ),
        Some(5.0)
    );

    // The supervisor feed's socket is counted while it is open.
    let url = app.supervisor_url(&app.admin_token);
    let (mut feed, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
    let _ = next_frame(&mut feed).await;
    let m = scrape(&app).await;
    assert_eq!(
        sample(&m, "switchboard_websockets_connected{kind=\"supervisor\"}"),
        Some(1.0)
    );
    feed.send(WsMessage::Close(None)).await.unwrap();
}
