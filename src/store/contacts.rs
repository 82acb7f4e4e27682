//! The built-in CRM's contacts (`contacts`, `contact_phones`), found by E.164 number or words.
//! A deleted contact stays, marked deleted: past call logs still name it.

use super::{Db, StoreResult};
pub use crate::domain::contact::{Contact, ContactId, ValidContact};
use crate::domain::time::now_ms;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Most words of a `?q=` search that are used.
const MAX_SEARCH_WORDS: usize = 5;

/// A page of the contact list: filters, and where the previous page ended.
#[derive(Debug, Clone, Default)]
pub struct Search {
    /// E.164: contacts with this number.
    pub phone: Option<String>,
    /// Words, each found in a name, the e-mail, the company or (digits) a number.
    pub text: Option<String>,
    pub limit: i64,
    /// `(updated_at, id)` of the last contact of the previous page.
    pub after: Option<(i64, i64)>,
}

/// Inserts a contact and its numbers; answers its id.
pub fn insert(db: &Db, contact: &ValidContact) -> StoreResult<i64> {
    let c = db.0;
    let now = now_ms();
    c.execute(
        "INSERT INTO contacts (first_name, last_name, email, company, notes, created_at, \
         updated_at, deleted) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, 0)",
        params![
            contact.first_name,
            contact.last_name,
            contact.email,
            contact.company,
            contact.notes,
            now
        ],
    )?;
    let id = c.last_insert_rowid();
    insert_phones(c, id, &contact.phones)?;
    Ok(id)
}

/// Replaces the fields of a live contact, and its numbers when `replace_phones` (else the
/// numbers stay as they were written); false when there is no such contact.
pub fn replace(
    db: &Db,
    id: i64,
    contact: &ValidContact,
    replace_phones: bool,
) -> StoreResult<bool> {
    let c = db.0;
    let changed = c.execute(
        "UPDATE contacts SET first_name = ?2, last_name = ?3, email = ?4, company = ?5, \
         notes = ?6, updated_at = MAX(?7, updated_at + 1) WHERE id = ?1 AND deleted = 0",
        params![
            id,
            contact.first_name,
            contact.last_name,
            contact.email,
            contact.company,
            contact.notes,
            now_ms()
        ],
    )?;
    if changed == 0 {
        return Ok(false);
    }
    if replace_phones {
        c.execute("DELETE FROM contact_phones WHERE contact_id = ?1", [id])?;
        insert_phones(c, id, &contact.phones)?;
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
            Ok(Some(contact))
        }
        None => Ok(None),
    }
}

const COLUMNS: &str = "id, first_name, last_name, email, company, notes, updated_at";

fn from_row(r: &Row<'_>) -> rusqlite::Result<Contact> {
    Ok(Contact {
        id: ContactId::Local(r.get(0)?),
        first_name: r.get(1)?,
        last_name: r.get(2)?,
        phones: Vec::new(),
        email: r.get(3)?,
        company: r.get(4)?,
        notes: r.get(5)?,
        updated_at: r.get(6)?,
    })
}

fn phones(c: &Connection, id: i64) -> rusqlite::Result<Vec<String>> {
    let mut stmt = c.prepare_cached(
        "SELECT e164 FROM contact_phones WHERE contact_id = ?1 ORDER BY position, e164",
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
    if let Some(text) = &search.text {
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
    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(super::escape_like("50%_a\\"), "50\\%\\_a\\\\");
    }
}
