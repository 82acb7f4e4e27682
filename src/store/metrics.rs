//! What `/metrics` counts in the database at each scrape.

use super::{Db, StoreResult};

pub struct QueueDepth {
    pub id: i64,
    pub name: String,
    pub waiting: i64,
    /// When the longest-waiting conversation came in.
    pub oldest: Option<i64>,
}

pub struct Snapshot {
    /// (state, count)
    pub interactions: Vec<(String, i64)>,
    pub queues: Vec<QueueDepth>,
    /// (status, count) of live users.
    pub agents: Vec<(String, i64)>,
    /// (direction, status or `none`, count)
    pub messages: Vec<(String, String, i64)>,
    pub outbox_depth: i64,
    pub outbox_retrying: i64,
    pub outbox_oldest: Option<i64>,
    pub activities: i64,
}

fn grouped(db: &Db, sql: &str) -> StoreResult<Vec<(String, i64)>> {
    let mut stmt = db.0.prepare(sql)?;
    let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

pub fn snapshot(db: &Db) -> StoreResult<Snapshot> {
    let c = db.0;
    let mut stmt = c.prepare(
        "SELECT q.id, q.name, COUNT(i.id), MIN(i.created_at) FROM queues q \
         LEFT JOIN interactions i ON i.queue_id = q.id AND i.state = 'queued' \
         WHERE q.deleted = 0 GROUP BY q.id ORDER BY q.id",
    )?;
    let queues = stmt
        .query_map([], |r| {
            Ok(QueueDepth {
                id: r.get(0)?,
                name: r.get(1)?,
                waiting: r.get(2)?,
                oldest: r.get(3)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let (outbox_depth, outbox_retrying, outbox_oldest) = c.query_row(
        "SELECT COUNT(*), COUNT(CASE WHEN attempts > 0 THEN 1 END), MIN(m.created_at) \
         FROM outbox o LEFT JOIN messages m ON m.id = o.message_id",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let messages = {
        let mut stmt = c.prepare(
            "SELECT direction, COALESCE(status, 'none'), COUNT(*) FROM messages \
             GROUP BY direction, status ORDER BY direction, status",
        )?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        rows.collect::<Result<_, _>>()?
    };
    Ok(Snapshot {
        interactions: grouped(
            db,
            "SELECT state, COUNT(*) FROM interactions GROUP BY state ORDER BY state",
        )?,
        queues,
        agents: grouped(
            db,
            "SELECT status, COUNT(*) FROM users WHERE deleted = 0 GROUP BY status ORDER BY status",
        )?,
        messages,
        outbox_depth,
        outbox_retrying,
        outbox_oldest,
        activities: c.query_row("SELECT COUNT(*) FROM activities", [], |r| r.get(0))?,
    })
}

/// Bytes SQLite holds in memory (page caches, prepared statements), across connections.
pub fn sqlite_memory_used() -> i64 {
    // SAFETY: sqlite3_memory_used only reads SQLite's allocation counter; it has no
    // preconditions and is thread-safe in the serialized/multi-thread modes rusqlite builds.
    unsafe { rusqlite::ffi::sqlite3_memory_used() }
}
