//! The `message_templates` table (R23): each channel's templates as Meta last described
//! them, replaced whole by a sync and changed one by one by status webhooks.

use super::{Db, StoreResult};
use crate::domain::template::Template;
use rusqlite::{params, OptionalExtension};

const COLUMNS: &str =
    "name, language, meta_id, category, status, parameter_format, components, rejected_reason";

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Template> {
    let components: String = r.get(6)?;
    Ok(Template {
        name: r.get(0)?,
        language: r.get(1)?,
        meta_id: r.get(2)?,
        category: r.get(3)?,
        status: r.get(4)?,
        parameter_format: r.get(5)?,
        components: serde_json::from_str(&components)
            .unwrap_or(serde_json::Value::Array(Vec::new())),
        rejected_reason: r.get(7)?,
    })
}

/// The channel's templates, by name then language.
pub fn list(db: &Db, channel_id: i64) -> StoreResult<Vec<Template>> {
    let mut stmt = db.0.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM message_templates WHERE channel_id = ?1 ORDER BY name, language"
    ))?;
    let rows = stmt.query_map([channel_id], from_row)?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// One template of the channel.
pub fn get(db: &Db, channel_id: i64, name: &str, language: &str) -> StoreResult<Option<Template>> {
    Ok(db
        .0
        .prepare_cached(&format!(
            "SELECT {COLUMNS} FROM message_templates
              WHERE channel_id = ?1 AND name = ?2 AND language = ?3"
        ))?
        .query_row(params![channel_id, name, language], from_row)
        .optional()?)
}

/// A sync's result: the channel has exactly these templates now; the sync time is kept and
/// the last sync error cleared.
pub fn replace_all(db: &Db, channel_id: i64, all: &[Template], now: i64) -> StoreResult<()> {
    db.0.prepare_cached("DELETE FROM message_templates WHERE channel_id = ?1")?
        .execute([channel_id])?;
    let mut insert = db.0.prepare_cached(
        "INSERT OR REPLACE INTO message_templates (channel_id, name, language, meta_id, category,
            status, parameter_format, components, rejected_reason, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for t in all {
        insert.execute(params![
            channel_id,
            t.name,
            t.language,
            t.meta_id,
            t.category,
            t.status,
            t.parameter_format,
            t.components.to_string(),
            t.rejected_reason,
            now,
        ])?;
    }
    db.0.prepare_cached(
        "UPDATE channels SET templates_synced_at = ?2, templates_sync_error = NULL WHERE id = ?1",
    )?
    .execute(params![channel_id, now])?;
    Ok(())
}

/// A sync that failed: the templates stay as they were, the reason is kept for the admin.
pub fn sync_failed(db: &Db, channel_id: i64, error: &str) -> StoreResult<()> {
    db.0.prepare_cached("UPDATE channels SET templates_sync_error = ?2 WHERE id = ?1")?
        .execute(params![channel_id, error])?;
    Ok(())
}

/// A `message_template_status_update` webhook: the template of the WhatsApp Business Account
/// `waba_id` named so, on every channel of that account, takes the new status. Returns how
/// many rows changed (none when the template is not known yet: the next sync brings it).
pub fn set_status(
    db: &Db,
    waba_id: &str,
    name: &str,
    language: &str,
    status: &str,
    reason: Option<&str>,
    now: i64,
) -> StoreResult<usize> {
    Ok(db
        .0
        .prepare_cached(
            "UPDATE message_templates SET status = ?4, rejected_reason = ?5, updated_at = ?6
              WHERE name = ?2 AND language = ?3
                AND channel_id IN (SELECT id FROM channels WHERE waba_id = ?1 AND deleted = 0)",
        )?
        .execute(params![waba_id, name, language, status, reason, now])?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_sync_replaces_and_a_status_update_changes_one() {
        let conn = crate::store::test_connection();
        let db = Db(&conn);
        conn.execute_batch(
            "INSERT INTO queues (id, name, offer_timeout_secs, wrap_up_secs, created_at, updated_at)
               VALUES (1, 'q', 30, 60, 0, 0);
             INSERT INTO channels (id, name, phone_number_id, display_phone_number, queue_id,
               access_token, created_at, updated_at, waba_id)
               VALUES (1, 'c', '111', '+1', 1, 't', 0, 0, '900');",
        )
        .unwrap();
        let t = |name: &str, status: &str| {
            Template::from_meta(&json!({"name": name, "language": "en", "status": status})).unwrap()
        };
        replace_all(&db, 1, &[t("a", "APPROVED"), t("b", "PENDING")], 5).unwrap();
        replace_all(&db, 1, &[t("b", "PENDING"), t("c", "APPROVED")], 6).unwrap();
        let names: Vec<String> = list(&db, 1).unwrap().into_iter().map(|t| t.name).collect();
        assert_eq!(names, ["b", "c"]);
        assert_eq!(
            set_status(&db, "900", "b", "en", "REJECTED", Some("SPAM"), 7).unwrap(),
            1
        );
        let b = get(&db, 1, "b", "en").unwrap().unwrap();
        assert_eq!(
            (b.status.as_str(), b.rejected_reason.as_deref()),
            ("REJECTED", Some("SPAM"))
        );
        // Another account's webhook changes nothing.
        assert_eq!(
            set_status(&db, "901", "c", "en", "PAUSED", None, 8).unwrap(),
            0
        );
        sync_failed(&db, 1, "boom").unwrap();
        let (at, error): (Option<i64>, Option<String>) = conn
            .query_row(
                "SELECT templates_synced_at, templates_sync_error FROM channels WHERE id = 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap();
        assert_eq!((at, error.as_deref()), (Some(6), Some("boom")));
    }
}
