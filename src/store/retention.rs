//! Deleting old conversations and call logs (retention), a batch at a time.

use super::{Db, StoreResult};
use rusqlite::params;

/// Deletes up to `batch` call logs wrapped up before `cutoff`, with their agent links.
pub fn delete_activities(db: &Db, cutoff: i64, batch: u32) -> StoreResult<u64> {
    let ids = ids(
        db,
        "SELECT id FROM activities WHERE wrapped_up_at < ?1 ORDER BY id LIMIT ?2",
        cutoff,
        batch,
    )?;
    for id in &ids {
        db.0.prepare_cached("DELETE FROM activity_agents WHERE activity_id = ?1")?
            .execute([id])?;
        db.0.prepare_cached("DELETE FROM activities WHERE id = ?1")?
            .execute([id])?;
    }
    Ok(ids.len() as u64)
}

/// Deletes up to `batch` conversations closed before `cutoff` whose call log is gone, with
/// their transcript, media rows (R22), participants, outbox rows and offer log. Returns how
/// many, and the media files their rows named: the caller deletes those once this commits.
pub fn delete_interactions(db: &Db, cutoff: i64, batch: u32) -> StoreResult<(u64, Vec<String>)> {
    let ids = ids(
        db,
        "SELECT i.id FROM interactions i
         WHERE i.state = 'closed' AND COALESCE(i.closed_at, i.updated_at) < ?1
           AND NOT EXISTS (SELECT 1 FROM activities a WHERE a.interaction_id = i.id)
         ORDER BY i.id LIMIT ?2",
        cutoff,
        batch,
    )?;
    let mut files = Vec::new();
    for id in &ids {
        let customer: Option<i64> =
            db.0.prepare_cached("SELECT customer_id FROM interactions WHERE id = ?1")?
                .query_row([id], |r| r.get(0))?;
        files.extend(super::media::delete_for_interaction(db, *id)?);
        for sql in [
            "DELETE FROM outbox WHERE interaction_id = ?1",
            "DELETE FROM offer_log WHERE interaction_id = ?1",
            "DELETE FROM signals WHERE interaction_id = ?1",
            "DELETE FROM message_reactions
              WHERE message_id IN (SELECT id FROM messages WHERE interaction_id = ?1)",
            "DELETE FROM messages WHERE interaction_id = ?1",
            "DELETE FROM interaction_participants WHERE interaction_id = ?1",
            "DELETE FROM interactions WHERE id = ?1",
        ] {
            db.0.prepare_cached(sql)?.execute([id])?;
        }
        // A customer no conversation names any more is forgotten too (R21).
        if let Some(customer) = customer {
            super::customers::delete_if_unreferenced(db, customer)?;
        }
    }
    Ok((ids.len() as u64, files))
}

fn ids(db: &Db, sql: &str, cutoff: i64, batch: u32) -> StoreResult<Vec<i64>> {
    let mut stmt = db.0.prepare_cached(sql)?;
    let rows = stmt.query_map(params![cutoff, batch], |r| r.get(0))?;
    Ok(rows.collect::<Result<_, _>>()?)
}
