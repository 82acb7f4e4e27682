//! The built-in CRM: contacts in SQLite (`contacts`, `contact_phones`), looked up by E.164.
//! Its call logs are the `activities` rows themselves: nothing to push.

use super::{Contact, ContactId, CrmError, ValidContact};
use crate::domain::time::now_ms;
use crate::store::Store;
use rusqlite::types::Value;
use rusqlite::{params, Connection, OptionalExtension, Row};

/// Most words of a `?q=` search that are used.
const MAX_SEARCH_WORDS: usize = 5;

pub async fn lookup_by_phone(store: &Store, e164: &str) -> Result<Vec<Contact>, CrmError> {
    let e164 = e164.to_string();
    let search = Search {
        phone: Some(e164),
        limit: 50,
        ..Search::default()
    };
    Ok(store.read_sql(move |c| search_contacts(c, &search)).await?)
}

pub async fn get(store: &Store, id: i64) -> Result<Option<Contact>, CrmError> {
    Ok(store.read_sql(move |c| load(c, id)).await?)
}

pub async fn create(store: &Store, contact: ValidContact) -> Result<Contact, CrmError> {
    let created = store
        .write_sql(move |c| {
            let id = insert(c, &contact)?;
            load(c, id)
        })
        .await?;
    created.ok_or_else(|| CrmError::NotFound("just created".into()))
}

/// Inserts a contact and its numbers; answers its id.
pub fn insert(c: &Connection, contact: &ValidContact) -> rusqlite::Result<i64> {
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
    c: &Connection,
    id: i64,
    contact: &ValidContact,
    replace_phones: bool,
) -> rusqlite::Result<bool> {
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

/// Deletes a contact (kept, marked deleted: past call logs still name it); false when there
/// is no live one.
pub fn soft_delete(c: &Connection, id: i64) -> rusqlite::Result<bool> {
    let changed = c.execute(
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
pub fn load(c: &Connection, id: i64) -> rusqlite::Result<Option<Contact>> {
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

/// Live contacts matching `search`, most recently updated first (`limit` of them).
pub fn search_contacts(c: &Connection, search: &Search) -> rusqlite::Result<Vec<Contact>> {
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
    use super::*;
    use crate::crm::NewContact;

    fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), 2, 16, Default::default()).unwrap();
        (store, dir)
    }

    fn new(first: &str, phones: &[&str]) -> ValidContact {
        NewContact {
            first_name: Some(first.into()),
            phones: phones.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
        .validate("US")
        .unwrap()
    }

    #[tokio::test]
    async fn lookup_finds_zero_one_or_several_newest_first() {
        let (store, _dir) = store();
        let none = lookup_by_phone(&store, "+11234567890").await.unwrap();
        assert!(none.is_empty());

        let ann = create(&store, new("Ann", &["+1 (123) 456-7890"]))
            .await
            .unwrap();
        let one = lookup_by_phone(&store, "+11234567890").await.unwrap();
        assert_eq!(one, vec![ann.clone()]);

        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        let bob = create(&store, new("Bob", &["11234567890", "+44 7966 197542"]))
            .await
            .unwrap();
        let several = lookup_by_phone(&store, "+11234567890").await.unwrap();
        assert_eq!(several.len(), 2);
        assert_eq!(several[0].id, bob.id, "most recently updated first");
        assert_eq!(several[1].id, ann.id);
        assert_eq!(bob.phones, vec!["+11234567890", "+447966197542"]);

        let other = lookup_by_phone(&store, "+11234567891").await.unwrap();
        assert!(other.is_empty());

        let ContactId::Local(bob_id) = bob.id else {
            panic!("local id")
        };
        assert!(store
            .write_sql(move |c| soft_delete(c, bob_id))
            .await
            .unwrap());
        assert_eq!(
            lookup_by_phone(&store, "+11234567890").await.unwrap().len(),
            1
        );
        assert_eq!(get(&store, bob_id).await.unwrap(), None);
    }

    #[test]
    fn like_wildcards_are_literal() {
        assert_eq!(escape_like("50%_a\\"), "50\\%\\_a\\\\");
    }
}
