//! The `queue_members` table: which agents take conversations from which queue. Every
//! change to a membership goes through here, from either side (an agent's or a queue's).

use super::{Db, StoreResult};
use rusqlite::params;

/// The live queues `agent_id` is a member of, by id.
pub fn of_agent(db: &Db, agent_id: i64) -> StoreResult<Vec<i64>> {
    let mut stmt = db.0.prepare_cached(
        "SELECT m.queue_id FROM queue_members m JOIN queues q ON q.id = m.queue_id \
         WHERE m.agent_id = ?1 AND q.deleted = 0 ORDER BY m.queue_id",
    )?;
    let rows = stmt.query_map([agent_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// The live members of `queue_id`, by id.
pub fn of_queue(db: &Db, queue_id: i64) -> StoreResult<Vec<i64>> {
    let mut stmt = db.0.prepare_cached(
        "SELECT m.agent_id FROM queue_members m JOIN users u ON u.id = m.agent_id \
         WHERE m.queue_id = ?1 AND u.deleted = 0 ORDER BY m.agent_id",
    )?;
    let rows = stmt.query_map([queue_id], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Makes `agent_id` a member of `queue_id` or not (idempotent).
pub fn set(db: &Db, queue_id: i64, agent_id: i64, member: bool) -> StoreResult<()> {
    let sql = if member {
        "INSERT OR IGNORE INTO queue_members(queue_id, agent_id) VALUES (?1, ?2)"
    } else {
        "DELETE FROM queue_members WHERE queue_id = ?1 AND agent_id = ?2"
    };
    db.0.prepare_cached(sql)?
        .execute(params![queue_id, agent_id])?;
    Ok(())
}

/// A deleted agent leaves every queue.
pub fn remove_agent(db: &Db, agent_id: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM queue_members WHERE agent_id = ?1")?
        .execute([agent_id])?;
    Ok(())
}

/// A deleted queue loses every member.
pub fn remove_queue(db: &Db, queue_id: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM queue_members WHERE queue_id = ?1")?
        .execute([queue_id])?;
    Ok(())
}
