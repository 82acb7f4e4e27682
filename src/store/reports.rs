//! What the queue and agent reports count, read for a range of time (the figures are
//! computed from these facts by `domain::reports`).

use super::{Db, StoreResult};
use crate::domain::reports::{Conv, Facts, Part, QueueFacts, Survey, UserFacts};
use std::collections::BTreeMap;

/// Everything the reports count for conversations created in `from..to`.
pub fn load(db: &Db, from: i64, to: i64) -> StoreResult<Facts> {
    let c = db.0;
    let mut stmt = c.prepare(
        "SELECT i.id, i.queue_id, i.state, i.created_at, i.accepted_at, i.ended_at, i.owner_agent_id,
                (SELECT m.author_id FROM messages m WHERE m.interaction_id = i.id
                   AND m.direction = 'out' AND m.author_kind = 'agent' ORDER BY m.id LIMIT 1),
                (SELECT m.sent_at FROM messages m WHERE m.interaction_id = i.id
                   AND m.direction = 'out' AND m.author_kind = 'agent' ORDER BY m.id LIMIT 1),
                i.kind = 'outbound', i.closed_at
         FROM interactions i WHERE i.created_at >= ?1 AND i.created_at < ?2 ORDER BY i.id",
    )?;
    let convs = stmt
        .query_map([from, to], |r| {
            let author: Option<String> = r.get(7)?;
            let at: Option<i64> = r.get(8)?;
            Ok(Conv {
                id: r.get(0)?,
                queue_id: r.get(1)?,
                state: r.get(2)?,
                created_at: r.get(3)?,
                accepted_at: r.get(4)?,
                ended_at: r.get(5)?,
                owner: r.get(6)?,
                first_reply: at.map(|t| (author.and_then(|a| a.parse().ok()), t)),
                outbound: r.get(9)?,
                closed_at: r.get(10)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = c.prepare(
        "SELECT p.interaction_id, p.agent_id, p.role, p.joined_at, p.left_at, p.wrap_up_deadline,
                p.wrapped_up_at, p.disposition, p.auto
         FROM interaction_participants p JOIN interactions i ON i.id = p.interaction_id
         WHERE i.created_at >= ?1 AND i.created_at < ?2 ORDER BY p.interaction_id, p.joined_at",
    )?;
    let parts = stmt
        .query_map([from, to], |r| {
            Ok(Part {
                interaction_id: r.get(0)?,
                agent_id: r.get(1)?,
                role: r.get(2)?,
                joined_at: r.get(3)?,
                left_at: r.get(4)?,
                wrap_up_deadline: r.get(5)?,
                wrapped_up_at: r.get(6)?,
                disposition: r.get(7)?,
                auto: r.get(8)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt = c.prepare(
        "SELECT o.agent_id, o.outcome FROM offer_log o JOIN interactions i ON i.id = o.interaction_id
         WHERE i.created_at >= ?1 AND i.created_at < ?2 AND o.outcome <> 'accepted'",
    )?;
    let lapsed = stmt
        .query_map([from, to], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    let mut stmt =
        c.prepare("SELECT id, name, wrap_up_secs, service_level_secs, deleted FROM queues")?;
    let queues = stmt
        .query_map([], |r| {
            let queue = QueueFacts {
                name: r.get(1)?,
                wrap_up_secs: r.get(2)?,
                service_level_secs: r.get(3)?,
                deleted: r.get(4)?,
            };
            Ok((r.get::<_, i64>(0)?, queue))
        })?
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let mut stmt = c.prepare("SELECT id, display_name, role, deleted FROM users")?;
    let users = stmt
        .query_map([], |r| {
            let user = UserFacts {
                display_name: r.get(1)?,
                role: r.get(2)?,
                deleted: r.get(3)?,
            };
            Ok((r.get::<_, i64>(0)?, user))
        })?
        .collect::<Result<BTreeMap<_, _>, _>>()?;
    let billable = c
        .prepare(
            "SELECT m.interaction_id, COALESCE(m.pricing_category, 'unknown'), COUNT(*)
               FROM messages m JOIN interactions i ON i.id = m.interaction_id
              WHERE i.created_at >= ?1 AND i.created_at < ?2 AND m.pricing_billable = 1
              GROUP BY m.interaction_id, m.pricing_category",
        )?
        .query_map([from, to], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)?.max(0) as usize))
        })?
        .collect::<Result<Vec<_>, _>>()?;
    let surveys = c
        .prepare(
            "SELECT s.queue_id, s.agent_id, s.score
               FROM csat_surveys s JOIN interactions i ON i.id = s.interaction_id
              WHERE i.created_at >= ?1 AND i.created_at < ?2",
        )?
        .query_map([from, to], |r| {
            Ok(Survey {
                queue_id: r.get(0)?,
                agent_id: r.get(1)?,
                score: r.get(2)?,
            })
        })?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Facts {
        surveys,
        convs,
        parts,
        lapsed,
        queues,
        users,
        billable,
    })
}
