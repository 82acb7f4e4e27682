//! R21: `customers` (one person per channel) and `customer_user_ids` (every BSUID a customer
//! was named by). A delivery is matched by its BSUID first, then by its number; when the two
//! name different customers they are merged: one person, one customer.

use super::{Db, StoreResult};
use crate::domain::customer::CustomerIdentity;
use rusqlite::{params, OptionalExtension};

/// The customer a delivery names, created or completed with what it says. Answers the
/// customer's id. `previous_user_id` is the BSUID a BSUID-change notice replaces.
pub fn resolve(
    db: &Db,
    channel_id: i64,
    who: &CustomerIdentity,
    name: Option<&str>,
    now: i64,
) -> StoreResult<i64> {
    let by_user = match &who.user_id {
        Some(u) => by_user_id(db, channel_id, u)?,
        None => None,
    };
    let by_phone = match &who.phone {
        Some(p) => by_phone(db, channel_id, p)?,
        None => None,
    };
    let name = name.filter(|n| !n.trim().is_empty());
    match (by_user, by_phone) {
        // A new customer: one row (and its BSUID), nothing else to look at.
        (None, None) => insert(db, channel_id, who, name, now),
        (Some(a), Some(b)) if a != b => {
            let id = merge(db, a, b, now)?;
            update(db, id, channel_id, who, name, now)?;
            Ok(id)
        }
        (Some(id), _) | (None, Some(id)) => {
            if learns(db, id, who, name)? {
                update(db, id, channel_id, who, name, now)?;
            }
            Ok(id)
        }
    }
}

fn insert(
    db: &Db,
    channel_id: i64,
    who: &CustomerIdentity,
    name: Option<&str>,
    now: i64,
) -> StoreResult<i64> {
    db.0.prepare_cached(
        "INSERT INTO customers (channel_id, phone, user_id, username, name, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, COALESCE(?5, ''), ?6, ?6)",
    )?
    .execute(params![
        channel_id,
        who.phone,
        who.user_id,
        who.username,
        name,
        now
    ])?;
    let id = db.0.last_insert_rowid();
    if let Some(u) = &who.user_id {
        db.0.prepare_cached(
            "INSERT INTO customer_user_ids (channel_id, user_id, customer_id) VALUES (?1, ?2, ?3)
             ON CONFLICT(channel_id, user_id) DO UPDATE SET customer_id = excluded.customer_id",
        )?
        .execute(params![channel_id, u, id])?;
    }
    Ok(id)
}

/// True when the delivery says something the customer's row does not hold yet.
fn learns(db: &Db, id: i64, who: &CustomerIdentity, name: Option<&str>) -> StoreResult<bool> {
    let (phone, user_id, username, stored_name): (
        Option<String>,
        Option<String>,
        Option<String>,
        String,
    ) =
        db.0.prepare_cached("SELECT phone, user_id, username, name FROM customers WHERE id = ?1")?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?;
    let new = |theirs: &Option<String>, mine: &Option<String>| theirs.is_some() && theirs != mine;
    Ok(new(&who.phone, &phone)
        || new(&who.user_id, &user_id)
        || new(&who.username, &username)
        || name.is_some_and(|n| n != stored_name))
}

/// A BSUID-change notice (`user_changed_user_id`, `user_changed_number`): the customer known
/// by `previous` (a BSUID) or by `old_phone` is now known by `now_known`. Answers the customer,
/// or None when no customer matches (nothing to change: the next delivery creates one).
pub fn rename(
    db: &Db,
    channel_id: i64,
    previous_user_id: Option<&str>,
    old_phone: Option<&str>,
    now_known: &CustomerIdentity,
    now: i64,
) -> StoreResult<Option<i64>> {
    let mut found = None;
    if let Some(u) = previous_user_id {
        found = by_user_id(db, channel_id, u)?;
    }
    if found.is_none() {
        if let Some(p) = old_phone {
            found = by_phone(db, channel_id, p)?;
        }
    }
    let Some(id) = found else {
        return Ok(None);
    };
    // The new number may already belong to another customer row (an earlier delivery from
    // it): that is the same person now, so the two become one.
    let id = match &now_known.phone {
        Some(p) => match by_phone(db, channel_id, p)? {
            Some(other) if other != id => merge(db, id, other, now)?,
            _ => id,
        },
        None => id,
    };
    update(db, id, channel_id, now_known, None, now)?;
    Ok(Some(id))
}

fn by_user_id(db: &Db, channel_id: i64, user_id: &str) -> StoreResult<Option<i64>> {
    Ok(db
        .0
        .prepare_cached(
            "SELECT customer_id FROM customer_user_ids WHERE channel_id = ?1 AND user_id = ?2",
        )?
        .query_row(params![channel_id, user_id], |r| r.get(0))
        .optional()?)
}

fn by_phone(db: &Db, channel_id: i64, phone: &str) -> StoreResult<Option<i64>> {
    Ok(db
        .0
        .prepare_cached("SELECT id FROM customers WHERE channel_id = ?1 AND phone = ?2")?
        .query_row(params![channel_id, phone], |r| r.get(0))
        .optional()?)
}

/// Writes what is known now; keeps what the delivery leaves out.
fn update(
    db: &Db,
    id: i64,
    channel_id: i64,
    who: &CustomerIdentity,
    name: Option<&str>,
    now: i64,
) -> StoreResult<()> {
    if let Some(p) = &who.phone {
        // The number moved to this person (number recycled by the carrier, or a change
        // reported late): the other row forgets it.
        db.0.prepare_cached(
            "UPDATE customers SET phone = NULL, updated_at = ?3
              WHERE channel_id = ?1 AND phone = ?2 AND id <> ?4",
        )?
        .execute(params![channel_id, p, now, id])?;
    }
    db.0.prepare_cached(
        "UPDATE customers SET phone = COALESCE(?2, phone), user_id = COALESCE(?3, user_id),
                username = COALESCE(?4, username), name = COALESCE(?5, name), updated_at = ?6
          WHERE id = ?1",
    )?
    .execute(params![
        id,
        who.phone,
        who.user_id,
        who.username,
        name.filter(|n| !n.trim().is_empty()),
        now
    ])?;
    if let Some(u) = &who.user_id {
        db.0.prepare_cached(
            "INSERT INTO customer_user_ids (channel_id, user_id, customer_id) VALUES (?1, ?2, ?3)
             ON CONFLICT(channel_id, user_id) DO UPDATE SET customer_id = excluded.customer_id",
        )?
        .execute(params![channel_id, u, id])?;
    }
    Ok(())
}

/// `gone` is the same person as `kept`: its conversations and BSUIDs move over, and its
/// number too when `kept` has none. `gone` stays as a marker (`merged_into`), so that a
/// conversation actor still holding its id keeps a valid reference. Answers `kept`.
fn merge(db: &Db, kept: i64, gone: i64, now: i64) -> StoreResult<i64> {
    let c = db.0;
    let phone: Option<String> = c
        .prepare_cached("SELECT phone FROM customers WHERE id = ?1")?
        .query_row([gone], |r| r.get(0))
        .optional()?
        .flatten();
    c.prepare_cached("UPDATE interactions SET customer_id = ?1 WHERE customer_id = ?2")?
        .execute(params![kept, gone])?;
    c.prepare_cached("UPDATE customer_user_ids SET customer_id = ?1 WHERE customer_id = ?2")?
        .execute(params![kept, gone])?;
    c.prepare_cached(
        "UPDATE customers SET phone = NULL, user_id = NULL, merged_into = ?2, updated_at = ?3
          WHERE id = ?1",
    )?
    .execute(params![gone, kept, now])?;
    c.prepare_cached(
        "UPDATE customers SET phone = COALESCE(phone, ?2), updated_at = ?3 WHERE id = ?1",
    )?
    .execute(params![kept, phone, now])?;
    Ok(kept)
}

/// A customer as stored, for tests and the reports.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerRecord {
    pub id: i64,
    pub channel_id: i64,
    pub identity: CustomerIdentity,
    pub name: String,
    pub user_ids: Vec<String>,
}

pub fn load(db: &Db, id: i64) -> StoreResult<Option<CustomerRecord>> {
    let c = db.0;
    let Some((channel_id, phone, user_id, username, name)) = c
        .prepare_cached(
            "SELECT channel_id, phone, user_id, username, name FROM customers WHERE id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .optional()?
    else {
        return Ok(None);
    };
    let user_ids = c
        .prepare_cached(
            "SELECT user_id FROM customer_user_ids WHERE customer_id = ?1 ORDER BY user_id",
        )?
        .query_map([id], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(Some(CustomerRecord {
        id,
        channel_id,
        identity: CustomerIdentity {
            phone,
            user_id,
            username,
        },
        name,
        user_ids,
    }))
}

/// Deletes the customer (and the BSUIDs it was known by) when no conversation names it any
/// more: the retention sweep deleted them all. True when it was deleted.
pub fn delete_if_unreferenced(db: &Db, id: i64) -> StoreResult<bool> {
    let c = db.0;
    let referenced: bool = c
        .prepare_cached("SELECT EXISTS(SELECT 1 FROM interactions WHERE customer_id = ?1)")?
        .query_row([id], |r| r.get(0))?;
    if referenced {
        return Ok(false);
    }
    c.prepare_cached("DELETE FROM customer_user_ids WHERE customer_id = ?1")?
        .execute([id])?;
    Ok(c.prepare_cached("DELETE FROM customers WHERE id = ?1")?
        .execute([id])?
        > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_connection;

    fn who(phone: Option<&str>, user_id: Option<&str>) -> CustomerIdentity {
        CustomerIdentity::new(phone, user_id, None)
    }

    fn channel(c: &rusqlite::Connection) {
        c.execute_batch(
            "INSERT INTO queues(id, name, offer_timeout_secs, wrap_up_secs, created_at, updated_at)
                 VALUES (1, 'Support', 30, 60, 0, 0);
             INSERT INTO channels(id, name, phone_number_id, display_phone_number, queue_id, access_token, created_at, updated_at)
                 VALUES (1, 'WA', 'PN1', '15550001111', 1, 't', 0, 0);",
        )
        .unwrap();
    }

    #[test]
    fn a_bsuid_then_both_is_one_customer() {
        let c = test_connection();
        channel(&c);
        let db = Db(&c);
        let a = resolve(&db, 1, &who(None, Some("US.1")), Some("Ann"), 1).unwrap();
        let b = resolve(&db, 1, &who(Some("1650"), Some("US.1")), None, 2).unwrap();
        assert_eq!(a, b);
        let rec = load(&db, a).unwrap().unwrap();
        assert_eq!(rec.identity, who(Some("1650"), Some("US.1")));
        assert_eq!(rec.name, "Ann");
        // The number alone finds the same customer now.
        assert_eq!(
            resolve(&db, 1, &who(Some("1650"), None), None, 3).unwrap(),
            a
        );
    }

    #[test]
    fn two_rows_that_turn_out_to_be_one_person_are_merged() {
        let c = test_connection();
        channel(&c);
        let db = Db(&c);
        let by_phone = resolve(&db, 1, &who(Some("1650"), None), None, 1).unwrap();
        let by_user = resolve(&db, 1, &who(None, Some("US.1")), None, 1).unwrap();
        assert_ne!(by_phone, by_user);
        c.execute_batch(&format!(
            "INSERT INTO interactions(id, channel_id, queue_id, customer_phone, customer_name, source_number,
                                      state, queue_position, created_at, updated_at, customer_id)
                 VALUES (7, 1, 1, '1650', 'A', '1555', 'closed', 0, 0, 0, {by_phone});"
        ))
        .unwrap();
        let merged = resolve(&db, 1, &who(Some("1650"), Some("US.1")), None, 2).unwrap();
        assert_eq!(merged, by_user, "the BSUID's customer is kept");
        let gone = load(&db, by_phone).unwrap().unwrap();
        assert_eq!(
            gone.identity,
            who(None, None),
            "the merged row keeps no key"
        );
        assert!(gone.user_ids.is_empty());
        let moved: i64 = c
            .query_row(
                "SELECT customer_id FROM interactions WHERE id = 7",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(moved, merged, "the older conversation follows the customer");
    }

    #[test]
    fn a_new_bsuid_or_number_keeps_the_customer() {
        let c = test_connection();
        channel(&c);
        let db = Db(&c);
        let id = resolve(&db, 1, &who(Some("1650"), Some("US.1")), None, 1).unwrap();
        let renamed = rename(&db, 1, Some("US.1"), None, &who(None, Some("US.2")), 2).unwrap();
        assert_eq!(renamed, Some(id));
        let renamed = rename(
            &db,
            1,
            Some("US.2"),
            Some("1650"),
            &who(Some("1777"), Some("US.3")),
            3,
        )
        .unwrap();
        assert_eq!(renamed, Some(id));
        let rec = load(&db, id).unwrap().unwrap();
        assert_eq!(rec.identity, who(Some("1777"), Some("US.3")));
        assert_eq!(rec.user_ids, vec!["US.1", "US.2", "US.3"]);
        // A late delivery naming the first BSUID still finds the customer.
        assert_eq!(
            resolve(&db, 1, &who(None, Some("US.1")), None, 4).unwrap(),
            id
        );
        // Nobody known: nothing to rename.
        assert_eq!(
            rename(&db, 1, Some("US.9"), None, &who(None, Some("US.10")), 5).unwrap(),
            None
        );
    }

    #[test]
    fn customers_are_per_channel() {
        let c = test_connection();
        channel(&c);
        c.execute_batch(
            "INSERT INTO channels(id, name, phone_number_id, display_phone_number, queue_id, access_token, created_at, updated_at)
                 VALUES (2, 'WA2', 'PN2', '15550002222', 1, 't', 0, 0);",
        )
        .unwrap();
        let db = Db(&c);
        let a = resolve(&db, 1, &who(Some("1650"), None), None, 1).unwrap();
        let b = resolve(&db, 2, &who(Some("1650"), None), None, 1).unwrap();
        assert_ne!(a, b);
    }
}
