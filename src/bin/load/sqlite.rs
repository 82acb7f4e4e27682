//! SQLite: seeding the load database before Switchboard starts, and the raw-insert baseline
//! (the same rows an inbound message writes, with the same pragmas, without the server).

use rusqlite::{params, Connection};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Creates the schema with the server's own `migrate` command (so it is exactly the server's),
/// on CPU `pin` if given (the server's CPU under `--pin`).
pub fn migrate(server: &Path, db: &Path, pin: Option<usize>) -> anyhow::Result<()> {
    let mut cmd = Command::new(server);
    super::common::pin_command(&mut cmd, pin);
    let out = cmd
        .arg("migrate")
        .env("SWITCHBOARD__DATABASE__PATH", db)
        .env("SWITCHBOARD__DEMO__ENABLED", "false")
        .env("RUST_LOG", "warn")
        .output()?;
    anyhow::ensure!(
        out.status.success(),
        "switchboard migrate failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(())
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // The pragmas of src/store/mod.rs (with the default `database.synchronous = "full"`).
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}

/// Every seeded agent's password (the login phase uses it).
pub const PASSWORD: &str = "load-agent-pass";

pub fn token(agent: usize) -> String {
    format!("{:064x}", 0x5eed_0000_0000u64 + agent as u64)
}

/// One queue, one channel (app secret from the configuration), `agents` agents in the queue
/// with `max_concurrent`, and a session token for each (no argon2 work: one pre-computed
/// password hash is shared, and agents connect with tokens, not logins).
pub fn seed(db: &Path, agents: usize, max_concurrent: u32) -> anyhow::Result<()> {
    let mut conn = Connection::open(db)?;
    configure(&conn)?;
    let hash = switchboard::auth::hash_password(PASSWORD)?;
    let now = switchboard::domain::time::now_ms();
    let tx = conn.transaction()?;
    tx.execute(
        "INSERT INTO queues (id, name, offer_timeout_secs, wrap_up_secs, disposition_codes,
            disposition_required, strategy, alert_warn_secs, alert_critical_secs, created_at, updated_at)
         VALUES (1, 'Load', 30, 60, '[{\"code\":\"resolved\",\"label\":\"Resolved\"}]', 0,
                 'longest_idle', 600, 1200, ?1, ?1)",
        [now],
    )?;
    tx.execute(
        "INSERT INTO channels (id, kind, name, phone_number_id, display_phone_number, queue_id,
            access_token, app_secret, verify_token, created_at, updated_at)
         VALUES (1, 'whatsapp', 'Load number', ?1, '+1 555 010 0000', 1, 'load-token', NULL,
                 'load-verify', ?2, ?2)",
        params![super::common::PHONE_NUMBER_ID, now],
    )?;
    {
        let mut user = tx.prepare(
            "INSERT INTO users (id, username, display_name, role, password_hash, max_concurrent,
                can_reject, auto_multi_match_pop, status, status_since, created_at, updated_at)
             VALUES (?1, ?2, ?3, 'agent', ?4, ?5, 1, 1, 'offline', ?6, ?6, ?6)",
        )?;
        let mut member =
            tx.prepare("INSERT INTO queue_members (queue_id, agent_id) VALUES (1, ?1)")?;
        let mut session = tx.prepare(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for i in 0..agents {
            let id = (i + 1) as i64;
            user.execute(params![
                id,
                format!("load{i}"),
                format!("Load Agent {i}"),
                hash,
                max_concurrent,
                now
            ])?;
            member.execute([id])?;
            session.execute(params![
                switchboard::auth::token_hash(&token(i)),
                id,
                now,
                now + 7 * 24 * 3600 * 1000
            ])?;
        }
    }
    tx.commit()?;
    Ok(())
}

/// The column of the customer's number: `customer_phone` since customers gained business-scoped
/// user ids (migration 0009), `customer_wa_id` before; the baseline runs against either
/// server, so that builds from before and after can be compared with one generator.
fn customer_column(c: &Connection) -> rusqlite::Result<&'static str> {
    let has_phone: bool = c
        .prepare_cached(
            "SELECT EXISTS(SELECT 1 FROM pragma_table_info('interactions') WHERE name = 'customer_phone')",
        )?
        .query_row([], |r| r.get(0))?;
    Ok(if has_phone {
        "customer_phone"
    } else {
        "customer_wa_id"
    })
}

/// Rows per second for the three ways of committing the rows of one inbound message.
pub struct SqliteBaseline {
    pub single_row_commits: f64,
    pub batches_of_100: f64,
    pub project_batching: f64,
    pub max_batch: usize,
}

/// The rows one inbound message writes (src/actors/interaction.rs, `Inbound`): the idempotency
/// check by wamid, the interaction row (upsert), the message row.
fn write_message(
    c: &Connection,
    customer_col: &str,
    n: i64,
    interaction: i64,
    now: i64,
) -> rusqlite::Result<()> {
    let wamid = format!("wamid.raw.{n}");
    let exists: bool = c
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM messages WHERE wamid = ?1)")?
        .query_row([&wamid], |r| r.get(0))?;
    if exists {
        return Ok(());
    }
    c.prepare_cached(&format!(
        "INSERT INTO interactions (id, channel_id, queue_id, {}, customer_name, source_number,
            state, queue_position, created_at, last_customer_message_at, updated_at)
         VALUES (?1, 1, 1, ?2, 'Load Customer', '+1 555 010 0000', 'active', ?3, ?3, ?3, ?3)
         ON CONFLICT(id) DO UPDATE SET customer_name = excluded.customer_name, state = excluded.state,
            last_customer_message_at = excluded.last_customer_message_at, updated_at = excluded.updated_at",
        customer_col
    ))?
    .execute(params![interaction, super::common::wa_id(interaction as usize), now])?;
    c.prepare_cached(
        "INSERT INTO messages (interaction_id, direction, author_kind, author_id, author_name,
            kind, text, media_id, wamid, status, error, sent_at, created_at, updated_at)
         VALUES (?1, 'in', 'customer', ?2, 'Load Customer', 'text', ?3, NULL, ?4, NULL, NULL, ?5, ?5, ?5)",
    )?
    .execute(params![
        interaction,
        super::common::wa_id(interaction as usize),
        "lg 1 2 123456789012",
        wamid,
        now
    ])?;
    Ok(())
}

/// Runs on the calling thread; under `--pin` the caller runs it on a thread pinned to the
/// server's CPU (`pin`, which the `migrate` subprocess gets too).
pub fn baseline(
    server: &Path,
    dir: &Path,
    seconds: f64,
    max_batch: usize,
    pin: Option<usize>,
) -> anyhow::Result<SqliteBaseline> {
    let db = dir.join("raw-sqlite.db");
    migrate(server, &db, pin)?;
    seed(&db, 1, 1)?;
    let conn = Connection::open(&db)?;
    configure(&conn)?;
    let customer_col = customer_column(&conn)?;
    let now = switchboard::domain::time::now_ms();
    let mut n: i64 = 0;
    let run = |batch: usize, savepoints: bool, n: &mut i64| -> anyhow::Result<f64> {
        let started = Instant::now();
        let mut rows = 0u64;
        while started.elapsed().as_secs_f64() < seconds {
            if batch == 1 {
                *n += 1;
                // Autocommit: one transaction (and one WAL append) per message.
                conn.execute_batch("BEGIN")?;
                write_message(&conn, customer_col, *n, 1 + *n % 1000, now)?;
                conn.execute_batch("COMMIT")?;
                rows += 1;
                continue;
            }
            conn.execute_batch("BEGIN")?;
            for _ in 0..batch {
                *n += 1;
                if savepoints {
                    // As the store's writer: a savepoint per change, so one failure rolls
                    // back alone.
                    conn.prepare_cached("SAVEPOINT job")?.execute([])?;
                    write_message(&conn, customer_col, *n, 1 + *n % 1000, now)?;
                    conn.prepare_cached("RELEASE job")?.execute([])?;
                } else {
                    write_message(&conn, customer_col, *n, 1 + *n % 1000, now)?;
                }
            }
            conn.execute_batch("COMMIT")?;
            rows += batch as u64;
        }
        Ok(rows as f64 / started.elapsed().as_secs_f64())
    };
    let single_row_commits = run(1, false, &mut n)?;
    let batches_of_100 = run(100, false, &mut n)?;
    let project_batching = run(max_batch, true, &mut n)?;
    Ok(SqliteBaseline {
        single_row_commits,
        batches_of_100,
        project_batching,
        max_batch,
    })
}
