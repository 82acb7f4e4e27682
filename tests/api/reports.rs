//! Reports an operator looks at (SPEC section 8.8): the queue's service level threshold, the
//! service level in the reports, conversations per hour (or day) of arrival, and the
//! refusals. The scripted day with every other figure is in `operations.rs`.

use crate::helpers::*;
use chrono::{DateTime, SecondsFormat};
use rusqlite::{params, Connection};
use serde_json::{json, Value};
use std::time::Duration;

/// 2024-03-04T09:00:00Z in ms.
const T0: i64 = 1_709_542_800_000;
const S: i64 = 1000;

fn rfc3339(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .unwrap()
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn find<'a>(list: &'a Value, key: &str, id: i64) -> &'a Value {
    list.as_array()
        .unwrap()
        .iter()
        .find(|r| r[key] == json!(id))
        .unwrap_or_else(|| panic!("no {key} {id} in {list}"))
}

async fn queue_count(app: &TestApp) -> usize {
    items_of(app.admin_get("/api/v1/queues").await).len()
}

#[tokio::test]
async fn service_level_secs_defaults_to_60_and_bad_values_change_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_queue(json!({"name": "Plain"})).await;
    let q = app.admin_get(&format!("/api/v1/queues/{id}")).await;
    assert_eq!(q["service_level_secs"], 60);
    for ok in [1, 86_400] {
        let q = json_created(
            app.post(
                "/api/v1/queues",
                Some(&app.admin_token),
                &json!({"name": format!("Edge {ok}"), "service_level_secs": ok}),
            )
            .await,
            "queue at a bound",
        )
        .await;
        assert_eq!(q["service_level_secs"], ok);
    }

    // Refused on create: nothing stored.
    let before = queue_count(&app).await;
    for bad in [
        json!(0),
        json!(-1),
        json!(86_401),
        json!("30"),
        json!(1.5),
        json!(null),
    ] {
        let resp = app
            .post(
                "/api/v1/queues",
                Some(&app.admin_token),
                &json!({"name": "Refused", "service_level_secs": bad}),
            )
            .await;
        let code = assert_error(resp, 400).await;
        assert!(
            code == "invalid_input" || code == "invalid_json",
            "{bad}: {code}"
        );
    }
    assert_eq!(queue_count(&app).await, before);

    // Changed on its own; a refused change keeps the stored queue whole.
    let q = json_ok(
        app.patch(
            &format!("/api/v1/queues/{id}"),
            Some(&app.admin_token),
            &json!({"service_level_secs": 45}),
        )
        .await,
        "patch service level",
    )
    .await;
    assert_eq!(q["service_level_secs"], 45);
    for bad in [json!(0), json!(86_401), json!("x")] {
        let resp = app
            .patch(
                &format!("/api/v1/queues/{id}"),
                Some(&app.admin_token),
                &json!({"name": "Renamed", "service_level_secs": bad}),
            )
            .await;
        assert_error(resp, 400).await;
    }
    let q = app.admin_get(&format!("/api/v1/queues/{id}")).await;
    assert_eq!(
        (&q["name"], &q["service_level_secs"]),
        (&json!("Plain"), &json!(45))
    );

    // The reports judge the queue against it.
    let report = app.admin_get("/api/v1/reports/queues").await;
    assert_eq!(
        find(&report["queues"], "queue_id", id)["service_level"]["threshold_secs"],
        45
    );
}

/// A conversation as the actors would have written it: `accepted` and `closed` are seconds
/// after `created` (none: never accepted, or still open).
fn insert_conv(
    c: &Connection,
    channel: i64,
    (id, queue, created): (i64, i64, i64),
    accepted: Option<i64>,
    closed: Option<i64>,
    kind: &str,
) {
    let state = match (accepted, closed) {
        (_, Some(_)) => "closed",
        (Some(_), None) => "active",
        (None, None) => "queued",
    };
    c.execute(
        "INSERT INTO interactions (id, channel_id, queue_id, customer_phone, customer_name,
            source_number, state, queue_position, created_at, accepted_at, closed_at,
            ended_at, last_customer_message_at, updated_at, kind)
         VALUES (?1, ?2, ?3, ?4, 'Customer', '+1 555 0100', ?5, ?6, ?6, ?7, ?8, ?8, ?6, ?6, ?9)",
        params![
            id,
            channel,
            queue,
            format!("1555{id}"),
            state,
            created,
            accepted.map(|s| created + s * S),
            closed.map(|s| created + s * S),
            kind,
        ],
    )
    .unwrap();
}

#[tokio::test]
async fn service_level_leaves_out_early_abandons_and_outbound_and_counts_long_waits() {
    let app = TestApp::spawn().await;
    let q = app
        .create_queue(json!({"name": "Returns", "service_level_secs": 20}))
        .await;
    let channel = app.create_channel(q).await;
    let c = Connection::open(&app.db_path).unwrap();
    c.busy_timeout(Duration::from_secs(10)).unwrap();
    // 09:00 accepted after 15 s: within. 09:10 the customer left after 5 s: left out. 09:20
    // never accepted, still waiting: missed. 10:00 the business wrote first: not counted.
    // 10:05 accepted after 25 s: missed. 11:00 the customer left after 21 s: missed.
    insert_conv(&c, channel, (201, q, T0), Some(15), Some(300), "inbound");
    insert_conv(
        &c,
        channel,
        (202, q, T0 + 600 * S),
        None,
        Some(5),
        "inbound",
    );
    insert_conv(&c, channel, (203, q, T0 + 1200 * S), None, None, "inbound");
    insert_conv(
        &c,
        channel,
        (204, q, T0 + 3600 * S),
        Some(0),
        Some(200),
        "outbound",
    );
    insert_conv(
        &c,
        channel,
        (205, q, T0 + 3900 * S),
        Some(25),
        Some(400),
        "inbound",
    );
    insert_conv(
        &c,
        channel,
        (206, q, T0 + 7200 * S),
        None,
        Some(21),
        "inbound",
    );
    drop(c);

    let report = app
        .admin_get("/api/v1/reports/queues?from=2024-03-04")
        .await;
    let returns = find(&report["queues"], "queue_id", q);
    assert_eq!(
        (
            &returns["offered"],
            &returns["accepted"],
            &returns["abandoned"],
            &returns["outbound"]
        ),
        (&json!(5), &json!(2), &json!(2), &json!(1)),
        "{returns}"
    );
    // counted = accepted 2 + abandoned 2 − 1 abandoned within + 1 waiting over = 4.
    let sl = json!({"threshold_secs": 20, "accepted_within": 1, "abandoned_within": 1,
                    "waiting_over": 1, "counted": 4, "percent": 25.0});
    assert_eq!(returns["service_level"], sl);
    let mut totals_sl = sl.clone();
    totals_sl["threshold_secs"] = Value::Null;
    assert_eq!(report["totals"]["service_level"], totals_sl);

    // By the hour: 09:00 has 201 (within), 202 (left out) and 203 (missed).
    let hourly = app
        .admin_get("/api/v1/reports/intervals?from=2024-03-04T08:00:00Z&to=2024-03-04T12:00:00Z")
        .await;
    assert_eq!(
        hourly["starts"],
        json!([
            "2024-03-04T08:00:00.000Z",
            "2024-03-04T09:00:00.000Z",
            "2024-03-04T10:00:00.000Z",
            "2024-03-04T11:00:00.000Z"
        ])
    );
    let all = &hourly["totals"];
    assert_eq!(all["queue_id"], Value::Null);
    assert_eq!(all["offered"], json!([0, 3, 1, 1]));
    assert_eq!(all["accepted"], json!([0, 1, 1, 0]));
    assert_eq!(all["abandoned"], json!([0, 1, 0, 1]));
    assert_eq!(all["outbound"], json!([0, 0, 1, 0]));
    assert_eq!(all["service_level_percent"], json!([null, 50.0, 0.0, 0.0]));
    assert_eq!(
        find(&hourly["queues"], "queue_id", q)["offered"],
        all["offered"]
    );

    // By the day, and as CSV: the totals, then each queue, for each interval.
    let daily = app
        .admin_get("/api/v1/reports/intervals?from=2024-03-04&to=2024-03-06&interval=day")
        .await;
    assert_eq!(daily["interval"], "day");
    assert_eq!(daily["totals"]["offered"], json!([5, 0]));
    assert_eq!(
        daily["totals"]["service_level_percent"],
        json!([25.0, null])
    );
    let resp = app
        .get(
            "/api/v1/reports/intervals?from=2024-03-04T09:00:00Z&to=2024-03-04T10:00:00Z&format=csv",
            Some(&app.admin_token),
        )
        .await;
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("switchboard-intervals-2024-03-04-2024-03-04.csv"));
    let csv = resp.text().await.unwrap();
    let lines: Vec<&str> = csv.split("\r\n").collect();
    assert_eq!(
        lines[..3],
        [
            "interval_start,kind,id,name,offered,accepted,abandoned,outbound,service_level_percent",
            "2024-03-04T09:00:00.000Z,total,,all queues,3,1,1,0,50",
            format!("2024-03-04T09:00:00.000Z,queue,{q},Returns,3,1,1,0,50").as_str(),
        ],
        "{csv}"
    );

    // Refused: an unknown interval or format, too long a range for the interval.
    for bad in [
        "/api/v1/reports/intervals?interval=minute",
        "/api/v1/reports/intervals?format=xml",
        "/api/v1/reports/intervals?from=2024-01-01&to=2024-03-01",
        "/api/v1/reports/intervals?from=2023-01-01&to=2024-03-01&interval=day",
        "/api/v1/reports/intervals?from=2024-03-02&to=2024-03-01",
    ] {
        let code = assert_error(app.get(bad, Some(&app.admin_token)).await, 400).await;
        assert_eq!(code, "invalid_input", "{bad}");
    }
    let agent = app.new_agent(&[q], json!({})).await;
    let resp = app
        .get("/api/v1/reports/intervals", Some(&agent.token))
        .await;
    assert_eq!(assert_error(resp, 403).await, "forbidden");
}

#[tokio::test]
async fn live_conversations_count_in_the_service_level_and_their_hour() {
    let app = TestApp::spawn().await;
    let b = app.setup_basic(1, json!({})).await;
    let mut agent = app.agent_online(&b.agents[0]).await;
    let from = rfc3339(now_ms() - 3_600_000);
    let to = rfc3339(now_ms() + 3_600_000);
    let query = format!("from={from}&to={to}");
    app.deliver_and_accept(&mut agent, "15550001234", "Hello")
        .await;

    // Accepted at once: within the default 60 s.
    let report = app
        .admin_get(&format!("/api/v1/reports/queues?{query}"))
        .await;
    let q = find(&report["queues"], "queue_id", b.queue_id);
    assert_eq!(
        q["service_level"],
        json!({"threshold_secs": 60, "accepted_within": 1, "abandoned_within": 0,
               "waiting_over": 0, "counted": 1, "percent": 100.0}),
        "{q}"
    );

    // A second customer waits while the agent is on a break (the webhook answers once the
    // conversation is committed): not decided yet.
    agent.set_status("on_break").await;
    app.customer_says("15550005678", "Second", "Anyone there?")
        .await;
    let report = app
        .admin_get(&format!("/api/v1/reports/queues?{query}"))
        .await;
    let q = find(&report["queues"], "queue_id", b.queue_id);
    assert_eq!(
        (&q["offered"], &q["service_level"]["counted"]),
        (&json!(2), &json!(1))
    );

    // With a 1 s threshold, once it has waited longer, it has missed it; the first one is
    // judged again too, by its real wait.
    json_ok(
        app.patch(
            &format!("/api/v1/queues/{}", b.queue_id),
            Some(&app.admin_token),
            &json!({"service_level_secs": 1}),
        )
        .await,
        "patch service level",
    )
    .await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let report = app
        .admin_get(&format!("/api/v1/reports/queues?{query}"))
        .await;
    let q = find(&report["queues"], "queue_id", b.queue_id);
    let first_within = q["wait"]["avg_secs"].as_f64().unwrap() <= 1.0;
    let sl = &q["service_level"];
    assert_eq!(
        (&sl["accepted_within"], &sl["waiting_over"], &sl["counted"]),
        (&json!(usize::from(first_within)), &json!(1), &json!(2)),
        "{q}"
    );

    // Both arrived in the second hour of the range; the agent took one.
    let hourly = app
        .admin_get(&format!("/api/v1/reports/intervals?{query}"))
        .await;
    assert_eq!(hourly["starts"].as_array().unwrap().len(), 2);
    assert_eq!(hourly["totals"]["offered"], json!([0, 2]));
    assert_eq!(
        find(&hourly["agents"], "agent_id", b.agents[0].id)["accepted"],
        json!([0, 1])
    );
}
