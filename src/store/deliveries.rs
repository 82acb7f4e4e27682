//! Delivery statuses of outbound messages (`messages.status`, `wamid`, `error`): the one place
//! a status moves (R6): only forward (read after delivered after sent), and `failed` is final.
//! The outbox (the Cloud API's answer) and the status webhook both go through [`advance`].

use super::{Db, StoreResult};
use crate::domain::message::Pricing;
use crate::domain::MessageStatus;
use rusqlite::{params, OptionalExtension};

/// A message's delivery status, as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery {
    pub message_id: i64,
    pub interaction_id: i64,
    pub status: MessageStatus,
}

/// A status that moved one of our messages forward.
#[derive(Debug, Clone, PartialEq)]
pub struct StatusChange {
    pub interaction_id: i64,
    pub message_id: i64,
    pub status: MessageStatus,
    pub error: Option<String>,
}

fn from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Delivery> {
    let status: Option<String> = r.get(2)?;
    Ok(Delivery {
        message_id: r.get(0)?,
        interaction_id: r.get(1)?,
        // An unreadable status is the first one: any real status moves it on.
        status: status
            .as_deref()
            .and_then(MessageStatus::parse)
            .unwrap_or(MessageStatus::Queued),
    })
}

/// The message with this id, whatever its direction.
pub fn by_id(db: &Db, message_id: i64) -> StoreResult<Option<Delivery>> {
    Ok(db
        .0
        .prepare_cached("SELECT id, interaction_id, status FROM messages WHERE id = ?1")?
        .query_row([message_id], from_row)
        .optional()?)
}

/// The outbound message the Cloud API named `wamid` (inbound messages have wamids too).
pub fn outbound_by_wamid(db: &Db, wamid: &str) -> StoreResult<Option<Delivery>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT id, interaction_id, status FROM messages WHERE wamid = ?1 AND direction = 'out'",
        )?
        .query_row([wamid], from_row)
        .optional()?)
}

/// Moves `delivery` to `next` if that is forward (R6); an `error` is kept, a missing one
/// leaves the stored one. True when it moved.
pub fn advance(
    db: &Db,
    delivery: &mut Delivery,
    next: MessageStatus,
    error: Option<&str>,
    now: i64,
) -> StoreResult<bool> {
    if !delivery.status.can_become(next) {
        return Ok(false);
    }
    db.0.prepare_cached(
        "UPDATE messages SET status = ?1, error = COALESCE(?2, error), updated_at = ?3 WHERE id = ?4",
    )?
    .execute(params![next, error, now, delivery.message_id])?;
    delivery.status = next;
    Ok(true)
}

/// Applies a status webhook's report for `wamid`; unknown wamids are ignored (R12).
pub fn apply_status(
    db: &Db,
    wamid: &str,
    status: MessageStatus,
    error: Option<String>,
    now: i64,
) -> StoreResult<Option<StatusChange>> {
    let Some(mut delivery) = outbound_by_wamid(db, wamid)? else {
        tracing::debug!(%wamid, "status for an unknown message ignored");
        return Ok(None);
    };
    if !advance(db, &mut delivery, status, error.as_deref(), now)? {
        return Ok(None);
    }
    Ok(Some(StatusChange {
        interaction_id: delivery.interaction_id,
        message_id: delivery.message_id,
        status,
        error,
    }))
}

/// How long a status for a wamid not known yet is kept, waiting for the send's answer.
pub const EARLY_STATUS_TTL_MS: i64 = 10 * 60 * 1000;
/// At most this many such statuses are kept (the oldest go first).
pub const EARLY_STATUS_MAX: i64 = 10_000;

/// Stores what Meta charges for one of our messages (R24).
pub fn record_pricing(db: &Db, message_id: i64, p: &Pricing) -> StoreResult<()> {
    db.0.prepare_cached(
        "UPDATE messages SET pricing_billable = COALESCE(?2, pricing_billable),
                pricing_model = COALESCE(?3, pricing_model),
                pricing_category = COALESCE(?4, pricing_category),
                pricing_type = COALESCE(?5, pricing_type)
          WHERE id = ?1",
    )?
    .execute(params![
        message_id,
        p.billable,
        p.pricing_model,
        p.category,
        p.kind
    ])?;
    Ok(())
}

/// A status for a wamid that is not ours yet: the webhook outran the send's answer. Kept for
/// [`EARLY_STATUS_TTL_MS`], at most [`EARLY_STATUS_MAX`] of them (one INSERT; the old ones
/// are swept every [`EARLY_STATUS_SWEEP`] inserts, so a busy webhook pays little for it).
pub fn keep_early(
    db: &Db,
    wamid: &str,
    status: MessageStatus,
    error: Option<&str>,
    pricing: Option<&Pricing>,
    now: i64,
) -> StoreResult<bool> {
    let c = db.0;
    c.prepare_cached(
        "INSERT INTO early_statuses (wamid, status, error, pricing_billable, pricing_model,
            pricing_category, pricing_type, received_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        wamid,
        status,
        error,
        pricing.and_then(|p| p.billable),
        pricing.and_then(|p| p.pricing_model.clone()),
        pricing.and_then(|p| p.category.clone()),
        pricing.and_then(|p| p.kind.clone()),
        now
    ])?;
    if c.last_insert_rowid() % EARLY_STATUS_SWEEP == 0 {
        c.prepare_cached("DELETE FROM early_statuses WHERE received_at < ?1")?
            .execute([now - EARLY_STATUS_TTL_MS])?;
        c.prepare_cached(
            "DELETE FROM early_statuses WHERE id <= (SELECT MAX(id) FROM early_statuses) - ?1",
        )?
        .execute([EARLY_STATUS_MAX])?;
    }
    Ok(true)
}

/// How many early statuses are kept between two sweeps of the expired ones.
pub const EARLY_STATUS_SWEEP: i64 = 256;

/// The statuses that came for `wamid` before it was known, oldest first, removed from the
/// waiting list; expired ones are not returned.
pub fn take_early(
    db: &Db,
    wamid: &str,
    now: i64,
) -> StoreResult<Vec<(MessageStatus, Option<String>, Pricing)>> {
    let c = db.0;
    let rows = c
        .prepare_cached(
            "SELECT status, error, pricing_billable, pricing_model, pricing_category, pricing_type
               FROM early_statuses WHERE wamid = ?1 AND received_at >= ?2 ORDER BY id",
        )?
        .query_map(params![wamid, now - EARLY_STATUS_TTL_MS], |r| {
            let status: String = r.get(0)?;
            Ok((
                MessageStatus::parse(&status),
                r.get::<_, Option<String>>(1)?,
                Pricing {
                    billable: r.get(2)?,
                    pricing_model: r.get(3)?,
                    category: r.get(4)?,
                    kind: r.get(5)?,
                },
            ))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    if !rows.is_empty() {
        c.prepare_cached("DELETE FROM early_statuses WHERE wamid = ?1")?
            .execute([wamid])?;
    }
    Ok(rows
        .into_iter()
        .filter_map(|(s, e, p)| Some((s?, e, p)))
        .collect())
}

/// Records the id the Cloud API gave a sent message. A wamid already used (a misbehaving API
/// or mock) is not recorded, so it cannot wedge the outbox; false then.
pub fn record_wamid(db: &Db, message_id: i64, wamid: &str) -> StoreResult<bool> {
    let set =
        db.0.prepare_cached(
            "UPDATE messages SET wamid = ?1 WHERE id = ?2 AND wamid IS NULL
               AND NOT EXISTS (SELECT 1 FROM messages WHERE wamid = ?1)",
        )?
        .execute(params![wamid, message_id])?;
    Ok(set > 0)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use rusqlite::Connection;

    /// An in-memory database with the schema, one channel, one interaction and outbound messages.
    pub(crate) fn db_with_outbound(messages: &[(&str, &str)]) -> Connection {
        let conn = crate::store::test_connection();
        conn.execute_batch(
            "INSERT INTO queues(id, name, offer_timeout_secs, wrap_up_secs, created_at, updated_at)
                 VALUES (1, 'Support', 30, 60, 0, 0);
             INSERT INTO channels(id, name, phone_number_id, display_phone_number, queue_id, access_token, created_at, updated_at)
                 VALUES (1, 'WA', 'PN1', '15550001111', 1, 'token', 0, 0);
             INSERT INTO interactions(id, channel_id, queue_id, customer_phone, customer_name, source_number,
                                      state, queue_position, created_at, updated_at)
                 VALUES (7, 1, 1, '447700900001', 'Ann', '15550001111', 'active', 0, 0, 0);",
        )
        .unwrap();
        for (wamid, status) in messages {
            conn.execute(
                "INSERT INTO messages(interaction_id, direction, author_kind, author_name, kind, text, wamid,
                                      status, sent_at, created_at, updated_at)
                 VALUES (7, 'out', 'agent', 'Agent', 'text', 'hello', ?1, ?2, 0, 0, 0)",
                params![wamid, status],
            )
            .unwrap();
        }
        conn
    }

    /// `(wamid, status, error)` reports, applied in order as one webhook delivery would.
    fn apply_all(
        db: &Db,
        reports: &[(&str, MessageStatus, Option<&str>)],
        now: i64,
    ) -> Vec<StatusChange> {
        reports
            .iter()
            .filter_map(|(wamid, status, error)| {
                apply_status(db, wamid, *status, error.map(String::from), now).unwrap()
            })
            .collect()
    }

    fn status_of(conn: &Connection, wamid: &str) -> (String, Option<String>) {
        conn.query_row(
            "SELECT status, error FROM messages WHERE wamid = ?1",
            [wamid],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap()
    }

    #[test]
    fn statuses_only_move_forward_and_failed_is_final() {
        let conn = db_with_outbound(&[("w1", "sent"), ("w2", "sent")]);
        let changes = apply_all(
            &Db(&conn),
            &[
                ("w1", MessageStatus::Read, None),
                ("w1", MessageStatus::Delivered, None),
                ("unknown", MessageStatus::Read, None),
                ("w2", MessageStatus::Failed, Some("Re-engagement message")),
                ("w2", MessageStatus::Read, None),
            ],
            5,
        );
        assert_eq!(
            changes,
            vec![
                StatusChange {
                    interaction_id: 7,
                    message_id: 1,
                    status: MessageStatus::Read,
                    error: None
                },
                StatusChange {
                    interaction_id: 7,
                    message_id: 2,
                    status: MessageStatus::Failed,
                    error: Some("Re-engagement message".into())
                },
            ]
        );
        assert_eq!(status_of(&conn, "w1"), ("read".into(), None));
        assert_eq!(
            status_of(&conn, "w2"),
            ("failed".into(), Some("Re-engagement message".into()))
        );
    }

    #[test]
    fn inbound_messages_are_not_touched_by_statuses() {
        let conn = db_with_outbound(&[]);
        conn.execute(
            "INSERT INTO messages(interaction_id, direction, author_kind, author_name, kind, text, wamid,
                                  sent_at, created_at, updated_at)
             VALUES (7, 'in', 'customer', 'Ann', 'text', 'hi', 'w-in', 0, 0, 0)",
            [],
        )
        .unwrap();
        let changes = apply_all(&Db(&conn), &[("w-in", MessageStatus::Read, None)], 5);
        assert!(changes.is_empty());
    }
}
