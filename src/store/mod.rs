//! SQLite, the source of truth. One writer thread commits many changes per transaction
//! (group commit); reads go to a small pool of read connections (WAL lets them run beside it).
//! Every caller of [`Store::write`] is answered only after its change is committed.

use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::Connection;
use rusqlite_migration::{Migrations, M};
use std::path::Path;
use std::sync::mpsc;
use std::time::Instant;
use tokio::sync::oneshot;

pub mod activities;
pub mod agent_state;
pub mod audit;
pub mod backup;
pub mod canned;
pub mod channels;
mod codec;
pub mod contacts;
pub mod crm_outbox;
pub mod csat;
pub mod customers;
pub mod deliveries;
pub mod health;
pub mod history;
pub mod interactions;
pub mod media;
pub mod media_downloads;
pub mod messages;
pub mod metrics;
pub mod offer_log;
pub mod outbox;
pub mod queue_members;
pub mod queues;
pub mod reports;
pub mod retention;
pub mod sessions;
pub mod settings;
pub mod signals;
pub mod stats;
pub mod templates;
pub mod users;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    Sqlite(rusqlite::Error),
    #[error("database pool: {0}")]
    Pool(#[from] r2d2::Error),
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("migration: {0}")]
    Migration(#[from] rusqlite_migration::Error),
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        failed(e)
    }
}

/// A connection lent to the store's own functions for one read or one write transaction.
/// Its SQLite connection is private to `store`: code outside can only hand it to the typed
/// functions of a `store` module, so every statement lives here.
pub struct Db<'a>(&'a Connection);

/// A failed change: the disk's or the database file's fault (full, read-only, I/O error,
/// locked) is `Unavailable`, worth a retry later (HTTP 503, so Meta redelivers); anything
/// else is the statement's own error.
fn failed(e: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode as C;
    match e.sqlite_error_code() {
        Some(
            C::DiskFull
            | C::ReadOnly
            | C::SystemIoFailure
            | C::CannotOpen
            | C::DatabaseBusy
            | C::DatabaseLocked,
        ) => StoreError::Unavailable(e.to_string()),
        _ => StoreError::Sqlite(e),
    }
}

/// A change to run in the batch: says whether it succeeded, and how to answer its caller.
type Job = Box<dyn FnOnce(&Connection) -> (bool, Completion) + Send>;
/// Runs once the batch is committed (or failed): answers the waiting caller.
type Completion = Box<dyn FnOnce(Option<&str>) + Send>;

#[derive(Clone)]
pub struct Store {
    writer: mpsc::Sender<Job>,
    pool: r2d2::Pool<SqliteConnectionManager>,
}

fn migrations() -> Migrations<'static> {
    Migrations::new(vec![
        M::up(include_str!("../../migrations/0001_core.sql")),
        M::up(include_str!("../../migrations/0002_audit.sql")),
        M::up(include_str!("../../migrations/0003_crm.sql")),
        M::up(include_str!(
            "../../migrations/0004_participant_wrap_up.sql"
        )),
        M::up(include_str!("../../migrations/0008_offer_log.sql")),
        M::up(include_str!("../../migrations/0009_customers.sql")),
        M::up(include_str!("../../migrations/0010_media.sql")),
        M::up(include_str!("../../migrations/0011_contact_user_ids.sql")),
        M::up(include_str!("../../migrations/0012_replies_reactions.sql")),
        M::up(include_str!("../../migrations/0013_templates_csat.sql")),
        M::up(include_str!("../../migrations/0014_canned_responses.sql")),
        M::up(include_str!("../../migrations/0015_service_level.sql")),
        M::up(include_str!("../../migrations/0016_internal_notes.sql")),
        M::up(include_str!("../../migrations/0017_routing.sql")),
    ])
}

/// How far a commit is pushed to the disk before it is acknowledged (`database.synchronous`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Synchronous {
    /// Every commit is on the disk (fsync of the WAL) before anyone is answered: an
    /// acknowledged message survives a crash of the machine, a power cut or a disk that turns
    /// read-only. Group commit makes this one fsync per batch, not per message.
    #[default]
    Full,
    /// Commits reach the OS but are synced only at checkpoints: safe when the process dies,
    /// not when the machine or the disk does (the last commits can be lost). Faster on slow disks.
    Normal,
}

impl Synchronous {
    fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// The writer's connection, as Litestream's tips ask of an application it replicates: WAL
/// mode, a busy timeout of 5 s (Litestream takes short write locks to checkpoint), and, when
/// `wal_autocheckpoint` is 0, no checkpoints of the application's own: Litestream runs them
/// after it has copied the WAL, so a high write load never races it.
fn configure(
    conn: &Connection,
    synchronous: Synchronous,
    wal_autocheckpoint: u32,
) -> rusqlite::Result<()> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", synchronous.pragma())?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.pragma_update(None, "wal_autocheckpoint", wal_autocheckpoint)?;
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(())
}

impl Store {
    /// Opens (creating the file and its folder), migrates, and starts the writer thread.
    pub fn open(
        path: &Path,
        read_pool_size: u32,
        max_batch: usize,
        synchronous: Synchronous,
        wal_autocheckpoint: u32,
    ) -> StoreResult<Store> {
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() {
                std::fs::create_dir_all(dir)
                    .map_err(|e| StoreError::Unavailable(format!("{}: {e}", dir.display())))?;
            }
        }
        let mut conn = Connection::open(path)?;
        configure(&conn, synchronous, wal_autocheckpoint)?;
        migrations().to_latest(&mut conn)?;

        // Readers never write, so they never checkpoint either (they need no setting for it).
        let manager = SqliteConnectionManager::file(path).with_init(|c| {
            c.pragma_update(None, "foreign_keys", "ON")?;
            c.busy_timeout(std::time::Duration::from_secs(5))
        });
        let pool = r2d2::Pool::builder()
            .max_size(read_pool_size)
            .build(manager)?;

        let (tx, rx) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(conn, rx, max_batch))
            .map_err(|e| StoreError::Unavailable(e.to_string()))?;
        Ok(Store { writer: tx, pool })
    }

    /// Runs `f` in the next group-commit transaction and answers after the commit.
    /// An `Err` from `f` (a store error or the caller's own refusal) rolls its changes back
    /// alone (savepoint) and is answered as it is; the others in the batch still commit.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let (done_tx, done_rx) = oneshot::channel::<Result<T, E>>();
        self.submit(f, move |answer| {
            let _ = done_tx.send(answer);
        })?;
        done_rx
            .await
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    /// Blocking [`Store::write`], for start-up code (seeding, bootstrap) outside the runtime.
    pub fn write_now<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Result<T, E>>();
        self.submit(f, move |answer| {
            let _ = done_tx.send(answer);
        })?;
        done_rx
            .recv()
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))?
    }

    /// Hands `f` to the writer thread; `answer` gets its result once the batch is committed.
    fn submit<T, E, F>(
        &self,
        f: F,
        answer: impl FnOnce(Result<T, E>) + Send + 'static,
    ) -> StoreResult<()>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let job: Job = Box::new(move |conn: &Connection| {
            let result = f(&Db(conn));
            let ok = result.is_ok();
            let completion: Completion = Box::new(move |commit_error: Option<&str>| {
                answer(match (result, commit_error) {
                    (Ok(_), Some(e)) => Err(StoreError::Unavailable(e.to_string()).into()),
                    (result, _) => result,
                })
            });
            (ok, completion)
        });
        self.writer
            .send(job)
            .map_err(|_| StoreError::Unavailable("writer stopped".into()))
    }

    /// Reads on a pooled connection, off the async threads.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&Db<'_>) -> Result<T, E> + Send + 'static,
    {
        let pool = self.pool.clone();
        tokio::task::spawn_blocking(move || {
            let conn = pool.get().map_err(StoreError::from)?;
            f(&Db(&conn))
        })
        .await
        .map_err(|e| StoreError::Unavailable(e.to_string()))?
    }

    /// Blocking read, for start-up code that runs before the actors.
    pub fn read_now<T, E>(&self, f: impl FnOnce(&Db<'_>) -> Result<T, E>) -> Result<T, E>
    where
        E: From<StoreError>,
    {
        let conn = self.pool.get().map_err(StoreError::from)?;
        f(&Db(&conn))
    }
}

fn writer_loop(mut conn: Connection, rx: mpsc::Receiver<Job>, max_batch: usize) {
    let mut batch: Vec<Job> = Vec::with_capacity(max_batch);
    while let Ok(first) = rx.recv() {
        batch.push(first);
        while batch.len() < max_batch {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let started = Instant::now();
        let size = batch.len();
        let mut completions: Vec<Completion> = Vec::with_capacity(size);
        let outcome = (|| -> rusqlite::Result<()> {
            // IMMEDIATE: the write lock is taken (waiting up to the busy timeout) before the
            // batch reads anything. A deferred transaction that read first and then found that
            // another process had written (Litestream, which writes to the file to checkpoint
            // and to mark its position) would fail at once with SQLITE_BUSY, busy timeout or
            // not: its snapshot is stale.
            let tx = conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            for job in batch.drain(..) {
                // A failed job is rolled back alone; the rest of the batch still commits.
                // (Prepared once and cached: parsing a SAVEPOINT per change cost more than
                // some of the changes.)
                tx.prepare_cached("SAVEPOINT job")?.execute([])?;
                let (ok, completion) = job(&tx);
                if !ok {
                    tx.prepare_cached("ROLLBACK TO job")?.execute([])?;
                }
                tx.prepare_cached("RELEASE job")?.execute([])?;
                completions.push(completion);
            }
            tx.commit()
        })();
        let error = outcome.err().map(|e| e.to_string());
        if let Some(e) = &error {
            tracing::error!(error = %e, batch = size, "commit failed");
        }
        crate::metrics::sqlite_commit(started.elapsed(), size, error.is_none());
        for completion in completions.drain(..) {
            completion(error.as_deref());
        }
        batch.clear();
        tracing::trace!(
            batch = size,
            micros = started.elapsed().as_micros() as u64,
            "committed"
        );
    }
}

/// An in-memory database with the whole schema, for the store's unit tests.
#[cfg(test)]
pub(crate) fn test_connection() -> Connection {
    let mut conn = Connection::open_in_memory().expect("in-memory database");
    conn.pragma_update(None, "foreign_keys", "ON")
        .expect("pragma");
    migrations().to_latest(&mut conn).expect("migrations");
    conn
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::ffi;

    fn sqlite(code: i32) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn existing_conversations_become_customers_known_by_their_number() {
        let mut c = Connection::open_in_memory().unwrap();
        // The schema before customers (migrations 0001 to 0008).
        migrations().to_version(&mut c, 5).unwrap();
        c.execute_batch(
            "INSERT INTO queues(id, name, offer_timeout_secs, wrap_up_secs, created_at, updated_at)
                 VALUES (1, 'Support', 30, 60, 0, 0);
             INSERT INTO channels(id, name, phone_number_id, display_phone_number, queue_id, access_token, created_at, updated_at)
                 VALUES (1, 'WA', 'PN1', '15550001111', 1, 't', 0, 0);
             INSERT INTO interactions(id, channel_id, queue_id, customer_wa_id, customer_name, source_number,
                                      state, queue_position, created_at, updated_at)
                 VALUES (1, 1, 1, '447700900001', 'Old name', '1555', 'closed', 0, 10, 10),
                        (2, 1, 1, '447700900001', 'New name', '1555', 'active', 0, 20, 20),
                        (3, 1, 1, '16505551234', 'Bob', '1555', 'active', 0, 30, 30);",
        )
        .unwrap();
        migrations().to_latest(&mut c).unwrap();
        let customers: Vec<(i64, String, String)> = c
            .prepare("SELECT id, phone, name FROM customers ORDER BY phone")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(customers.len(), 2);
        assert_eq!(customers[1].1, "447700900001");
        assert_eq!(customers[1].2, "New name");
        let linked: Vec<(i64, String, i64)> = c
            .prepare("SELECT id, customer_phone, customer_id FROM interactions ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(linked[0].2, customers[1].0);
        assert_eq!(linked[1].2, customers[1].0);
        assert_eq!(linked[2], (3, "16505551234".to_string(), customers[0].0));
    }

    #[test]
    fn disk_faults_are_unavailable_and_statement_errors_are_not() {
        for code in [
            ffi::SQLITE_FULL,
            ffi::SQLITE_READONLY,
            ffi::SQLITE_IOERR,
            ffi::SQLITE_CANTOPEN,
            ffi::SQLITE_BUSY,
        ] {
            assert!(
                matches!(failed(sqlite(code)), StoreError::Unavailable(_)),
                "{code}"
            );
        }
        assert!(matches!(
            failed(sqlite(ffi::SQLITE_CONSTRAINT)),
            StoreError::Sqlite(_)
        ));
        assert!(matches!(
            failed(rusqlite::Error::QueryReturnedNoRows),
            StoreError::Sqlite(_)
        ));
    }

    /// `wal_autocheckpoint = 0` (Litestream checkpoints): the application's commits never fold
    /// the WAL back, so it grows past SQLite's 1,000 pages; with 1,000 they do and it does not.
    #[test]
    fn with_autocheckpoint_off_the_commits_never_checkpoint() {
        fn wal_pages_after_writes(autocheckpoint: u32) -> u64 {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("t.db");
            let store = Store::open(&path, 1, 16, Synchronous::Normal, autocheckpoint).unwrap();
            store
                .write_now(|db| -> StoreResult<()> {
                    db.0.execute_batch("CREATE TABLE filler (b BLOB)")?;
                    Ok(())
                })
                .unwrap();
            // 3,000 pages in 150 commits of 20 pages each.
            for _ in 0..150 {
                store
                    .write_now(|db| -> StoreResult<()> {
                        db.0.execute("INSERT INTO filler VALUES (zeroblob(80000))", [])?;
                        Ok(())
                    })
                    .unwrap();
            }
            let wal = std::fs::metadata(dir.path().join("t.db-wal"))
                .unwrap()
                .len();
            wal / 4096
        }
        let off = wal_pages_after_writes(0);
        let on = wal_pages_after_writes(1000);
        assert!(
            off > 2_500,
            "the WAL kept {off} pages with autocheckpoint off"
        );
        assert!(
            on < 1_200,
            "the WAL grew to {on} pages with autocheckpoint on"
        );
    }
}
