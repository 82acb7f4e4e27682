//! The built-in CRM's contacts (`contacts`, `contact_phones`, `contact_user_ids`), found by
//! E.164 number, WhatsApp user id (BSUID) or words. A deleted contact stays, marked deleted:
//! past call logs still name it.

use super::{Db, StoreResult};
pub use crate::domain::contact::{Contact, ContactId, ValidContact};
use crate::domain::time::now_ms;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Most words of a `?q=` search that are used.
const MAX_SEARCH_WORDS: usize = 5;
/// Most WhatsApp user ids kept per contact: adding one more forgets the oldest.
pub const MAX_USER_IDS: usize = 10;

/// A page of the contact list: filters, and where the previous page ended.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// E.164: contacts with this number.
    pub phone: Option<String>,
    /// A BSUID: contacts with this WhatsApp user id.
    pub user_id: Option<String>,
    /// Words, each found in a name, the e-mail, the company or (digits) a number.
    pub text: Option<String>,
    /// E.164 of `text` when the whole text is a phone number (`07700 900123`): contacts with
    /// this number match the text too.
    pub text_phone: Option<String>,
    pub limit: i64,
    /// `(updated_at, id)` of the last contact of the previous page.
    pub after: Option<(i64, i64)>,
}

/// Inserts a contact and its numbers; answers its id.
pub fn insert(db: &Db, contact: &ValidContact) -> StoreResult<i64> {
    let c = db.0;
    let now = now_ms();
    c.execute(
        "INSERT INTO contacts (first_name, last_name, email, company, notes, priority, \
         created_at, updated_at, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, 0)",
        params![
            contact.first_name,
            contact.last_name,
            contact.email,
            contact.company,
            contact.notes,
            contact.priority,
            now
        ],
    )?;
    let id = c.last_insert_rowid();
    insert_phones(c, id, &contact.phones)?;
    insert_user_ids(c, id, &contact.whatsapp_user_ids)?;
    Ok(id)
}

/// Which lists [`replace`] replaces (a list not named stays as it was written).
#[derive(Debug, Clone, Copy, Default)]
pub struct Lists {
    pub phones: bool,
    pub user_ids: bool,
}

/// Replaces the fields of a live contact, and its numbers and user ids when `lists` names
/// them; false when there is no such contact.
pub fn replace(db: &Db, id: i64, contact: &ValidContact, lists: Lists) -> StoreResult<bool> {
    let c = db.0;
    let changed = c.execute(
        "UPDATE contacts SET first_name = ?2, last_name = ?3, email = ?4, company = ?5, \
         notes = ?6, priority = ?7, updated_at = MAX(?8, updated_at + 1) \
         WHERE id = ?1 AND deleted = 0",
        params![
            id,
            contact.first_name,
            contact.last_name,
            contact.email,
            contact.company,
            contact.notes,
            contact.priority,
            now_ms()
        ],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    if lists.phones {
        c.execute("DELETE FROM contact_phones WHERE contact_id = ?1", [id])?;
        insert_phones(c, id, &contact.phones)?;
    }
    if lists.user_ids {
        c.execute("DELETE FROM contact_user_ids WHERE contact_id = ?1", [id])?;
        insert_user_ids(c, id, &contact.whatsapp_user_ids)?;
    }
    Ok(true)
}

/// Adds a WhatsApp user id to a live contact (nothing when it has it already), keeping its
/// newest [`MAX_USER_IDS`]; false when there is no such contact.
pub fn add_user_id(db: &Db, id: i64, user_id: &str) -> StoreResult<bool> {
    let c = db.0;
    let live: Option<i64> = c
        .query_row(
            "SELECT id FROM contacts WHERE id = ?1 AND deleted = 0",
            [id],
            |r| r.get(0),
        )
        .optional()?;
    if live.is_none() {
        return Ok(false);
    }
    let added = c.execute(
        "INSERT OR IGNORE INTO contact_user_ids (contact_id, user_id, position) \
         SELECT ?1, ?2, COALESCE(MAX(position) + 1, 0) FROM contact_user_ids WHERE contact_id = ?1",
        params![id, user_id],
    )?;
    if added > 0 {
        c.execute(
            "DELETE FROM contact_user_ids WHERE contact_id = ?1 AND user_id NOT IN \
             (SELECT user_id FROM contact_user_ids WHERE contact_id = ?1 \
              ORDER BY position DESC LIMIT ?2)",
            params![id, MAX_USER_IDS as i64],
        )?;
        c.execute(
            "UPDATE contacts SET updated_at = MAX(?2, updated_at + 1) WHERE id = ?1",
            params![id, now_ms()],
        )?;
    }
    Ok(true)
}

/// Deletes a contact (kept, marked deleted); false when there is no live one.
pub fn soft_delete(db: &Db, id: i64) -> StoreResult<bool> {
    let changed = db.0.execute(
        "UPDATE contacts SET deleted = 1, updated_at = ?2 WHERE id = ?1 AND deleted = 0",
        params![id, now_ms()],
    )?;
    Ok(changed > 0)
}

fn insert_phones(c: &Connection, id: i64, phones: &[(String, String)]) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT OR IGNORE INTO contact_phones (contact_id, e164, raw, position) \
         VALUES (?1, ?2, ?3, ?4)",
    )?;
    for (position, (e164, raw)) in phones.iter().enumerate() {
        stmt.execute(params![id, e164, raw, position as i64])?;
    }
    Ok(())
}

fn insert_user_ids(c: &Connection, id: i64, user_ids: &[String]) -> rusqlite::Result<()> {
    let mut stmt = c.prepare_cached(
        "INSERT OR IGNORE INTO contact_user_ids (contact_id, user_id, position) \
         VALUES (?1, ?2, ?3)",
    )?;
    for (position, user_id) in user_ids.iter().enumerate() {
        stmt.execute(params![id, user_id, position as i64])?;
    }
    Ok(())
}

/// A live contact (not deleted).
pub fn load(db: &Db, id: i64) -> StoreResult<Option<Contact>> {
    let c = db.0;
    let contact = c
        .query_row(
            &format!("SELECT {COLUMNS} FROM contacts WHERE id = ?1 AND deleted = 0"),
            [id],
            from_row,
        )
        .optional()?;
    match contact {
        Some(mut contact) => {
            contact.phones = phones(c, id)?;
            contact.whatsapp_user_ids = user_ids(c, id)?;
            Ok(Some(contact))
        }
        None => Ok(None),
    }
}

const COLUMNS: &str = "id, first_name, last_name, email, company, notes, priority, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        id: ContactId::Local(r.get(0)?),
        first_name: r.get(1)?,
        last_name: r.get(2)?,
        phones: Vec::new(),
        whatsapp_user_ids: Vec::new(),
        email: r.get(3)?,
        company: r.get(4)?,
        notes: r.get(5)?,
        priority: r.get(6)?,
        updated_at: r.get(7)?,
    })
}

/// The contacts with the number `?1` (E.164) or the BSUID `?2`, found on their indexes.
const PRIORITY_OF_CUSTOMER: &str = "SELECT MAX(priority) FROM contacts \
     WHERE deleted = 0 AND priority IS NOT NULL AND id IN \
     (SELECT contact_id FROM contact_phones WHERE e164 = ?1 \
      UNION SELECT contact_id FROM contact_user_ids WHERE user_id = ?2)";

/// R27: the highest priority among the live contacts with this phone number (E.164 digits
/// with or without '+') or this WhatsApp user id (BSUID); None when no such contact has one.
pub fn priority_of_customer(
    db: &Db,
    phone: Option<&str>,
    user_id: Option<&str>,
) -> StoreResult<Option<u8>> {
    // Meta's `wa_id` (`15551234567`) in E.164 (`+15551234567`), as the screen pop reads it.
    let e164 = phone.and_then(crate::domain::phone::from_wa_id);
    let user_id = user_id.map(str::trim).filter(|u| !u.is_empty());
    if e164.is_none() && user_id.is_none() {
        return Ok(None);
    }
    let priority: Option<i64> =
        db.0.prepare_cached(PRIORITY_OF_CUSTOMER)?
            .query_row(params![e164, user_id], |r| r.get(0))?;
    // Only 0 to 9 is ever written (`crm::NewContact::validate`).
    Ok(priority.map(|p| p.clamp(0, 9) as u8))
}

fn phones(c: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT e164 FROM contact_phones WHERE contact_id = ?1 ORDER BY position, e164",
    )?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    rows.collect()
}

fn user_ids(c: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT user_id FROM contact_user_ids WHERE contact_id = ?1 ORDER BY position, user_id",
    )?;
    let rows = stmt.query_map([id], |r| r.get(0))?;
    rows.collect()
}

/// Live contacts matching `search`, most recently updated first (`limit` of them).
pub fn search(db: &Db, search: &Search) -> StoreResult<Vec<Contact>> {
    let c = db.0;
    let mut sql = format!("SELECT {COLUMNS} FROM contacts WHERE deleted = 0");
    let mut args: Vec<Value> = Vec::new();
    let arg = |args: &mut Vec<Value>, v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    if let Some(phone) = &search.phone {
        let p = arg(&mut args, Value::Text(phone.clone()));
        sql.push_str(&format!(
            " AND id IN (SELECT contact_id FROM contact_phones WHERE e164 = {p})"
        ));
    }
    if let Some(user_id) = &search.user_id {
        let u = arg(&mut args, Value::Text(user_id.clone()));
        sql.push_str(&format!(
            " AND id IN (SELECT contact_id FROM contact_user_ids WHERE user_id = {u})"
        ));
    }
    if let Some(text) = &search.text {
        let mut words = Vec::new();
        for word in text.split_whitespace().take(MAX_SEARCH_WORDS) {
            let like = arg(&mut args, Value::Text(format!("%{}%", escape_like(word))));
            let mut any = format!(
                "first_name LIKE {like} ESCAPE '\\' OR last_name LIKE {like} ESCAPE '\\' \
                 OR email LIKE {like} ESCAPE '\\' OR company LIKE {like} ESCAPE '\\'"
            );
            let digits: String = word.chars().filter(char::is_ascii_digit).collect();
            if digits.len() >= 3 {
                let d = arg(&mut args, Value::Text(format!("%{digits}%")));
                any.push_str(&format!(
                    " OR id IN (SELECT contact_id FROM contact_phones WHERE e164 LIKE {d})"
                ));
            }
            words.push(format!("({any})"));
        }
        let mut any = words.join(" AND ");
        if let Some(e164) = &search.text_phone {
            let p = arg(&mut args, Value::Text(e164.clone()));
            any = format!(
                "({any}) OR id IN (SELECT contact_id FROM contact_phones WHERE e164 = {p})"
            );
        }
        if !any.is_empty() {
            sql.push_str(&format!(" AND ({any})"));
        }
    }
    if let Some((updated_at, id)) = search.after {
        let u = arg(&mut args, Value::Integer(updated_at));
        let i = arg(&mut args, Value::Integer(id));
        sql.push_str(&format!(
            " AND (updated_at < {u} OR (updated_at = {u} AND id < {i}))"
        ));
    }
    let l = arg(&mut args, Value::Integer(search.limit));
    sql.push_str(&format!(" ORDER BY updated_at DESC, id DESC LIMIT {l}"));

    let mut stmt = c.prepare(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), from_row)?;
    let mut contacts = rows.collect::<Result<Vec<_>, _>>()?;
    for contact in &mut contacts {
        if let ContactId::Local(id) = contact.id {
            contact.phones = phones(c, id)?;
            contact.whatsapp_user_ids = user_ids(c, id)?;
        }
    }
    Ok(contacts)
}

/// `%`, `_` and `\` match themselves.
fn escape_like(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    for ch in word.chars() {
        if matches!(ch, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_connection;

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(super::escape_like("50%_a\\"), "50\\%\\_a\\\\");
    }

    fn contact(phones: &[&str], user_ids: &[&str], priority: Option<u8>) -> ValidContact {
        ValidContact {
            first_name: Some("Ann".into()),
            last_name: None,
            phones: phones
                .iter()
                .map(|p| (p.to_string(), p.to_string()))
                .collect(),
            whatsapp_user_ids: user_ids.iter().map(|u| u.to_string()).collect(),
            email: None,
            company: None,
            notes: None,
            priority,
        }
    }

    /// R27: a customer (Meta's `wa_id`, or a BSUID) gets the highest priority of the live
    /// contacts that match it.
    #[test]
    fn a_customer_gets_the_highest_priority_of_its_live_contacts() {
        let c = test_connection();
        let db = Db(&c);
        let of = |phone: Option<&str>, user_id: Option<&str>| {
            priority_of_customer(&db, phone, user_id).unwrap()
        };
        assert_eq!(of(Some("16505551234"), Some("US.1")), None, "no contact");
        assert_eq!(of(None, None), None);

        insert(&db, &contact(&["+16505551234"], &[], Some(3))).unwrap();
        assert_eq!(of(Some("16505551234"), None), Some(3), "a wa_id");
        assert_eq!(of(Some("+16505551234"), None), Some(3), "E.164");
        assert_eq!(of(Some("16505551235"), None), None, "another number");
        assert_eq!(of(Some("not a number"), None), None);

        insert(&db, &contact(&[], &["US.13491208655302741918"], Some(6))).unwrap();
        assert_eq!(
            of(None, Some("US.13491208655302741918")),
            Some(6),
            "a BSUID"
        );
        assert_eq!(
            of(Some("447700900123"), Some("US.13491208655302741918")),
            Some(6)
        );

        // The number matches one contact, the BSUID another: the higher wins.
        assert_eq!(
            of(Some("16505551234"), Some("US.13491208655302741918")),
            Some(6)
        );
        // Two contacts with the same number: the higher wins.
        let vip = insert(&db, &contact(&["+16505551234"], &[], Some(9))).unwrap();
        assert_eq!(of(Some("16505551234"), None), Some(9));

        // A deleted contact no longer counts.
        assert!(soft_delete(&db, vip).unwrap());
        assert_eq!(of(Some("16505551234"), None), Some(3));

        // A contact without a priority neither counts nor lowers another's.
        insert(&db, &contact(&["+447700900123"], &[], None)).unwrap();
        assert_eq!(of(Some("447700900123"), None), None);
        insert(
            &db,
            &contact(&["+16505551234"], &["US.13491208655302741918"], None),
        )
        .unwrap();
        assert_eq!(
            of(Some("16505551234"), Some("US.13491208655302741918")),
            Some(6)
        );
    }

    #[test]
    fn a_priority_is_kept_changed_and_cleared() {
        let c = test_connection();
        let db = Db(&c);
        let id = insert(&db, &contact(&["+16505551234"], &[], Some(7))).unwrap();
        assert_eq!(load(&db, id).unwrap().unwrap().priority, Some(7));
        let all = Search {
            limit: 10,
            ..Search::default()
        };
        assert_eq!(
            search(&db, &all).unwrap()[0].priority,
            Some(7),
            "listed too"
        );
        replace(&db, id, &contact(&[], &[], Some(2)), Lists::default()).unwrap();
        let now = load(&db, id).unwrap().unwrap();
        assert_eq!(now.priority, Some(2));
        assert_eq!(now.phones, vec!["+16505551234"], "lists not named stay");
        replace(&db, id, &contact(&[], &[], None), Lists::default()).unwrap();
        assert_eq!(load(&db, id).unwrap().unwrap().priority, None);
    }

    /// One query, on the indexes of numbers and user ids (no scan of the contacts).
    #[test]
    fn the_priority_lookup_uses_the_indexes() {
        let c = test_connection();
        let plan: Vec<String> = c
            .prepare(&format!("EXPLAIN QUERY PLAN {PRIORITY_OF_CUSTOMER}"))
            .unwrap()
            .query_map(params!["+16505551234", "US.1"], |r| r.get(3))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let plan = plan.join("\n");
        assert!(plan.contains("contact_phones_e164"), "{plan}");
        assert!(plan.contains("contact_user_ids_user_id"), "{plan}");
        assert!(!plan.contains("SCAN contacts"), "{plan}");
    }
}
