//! The built-in CRM: contacts in SQLite (`store::contacts`), looked up by E.164 or by BSUID.
//! Its call logs are the `activities` rows themselves: nothing to push.

use super::{Contact, ContactPage, ContactPatch, ContactSearch, CrmError, ValidContact};
use crate::domain::error_code::ErrorCode;
use crate::domain::phone;
use crate::store::contacts::{self, Lists};
use crate::store::Store;

pub use crate::store::contacts::Search;

/// Most contacts a screen pop lookup answers.
const LOOKUP_LIMIT: i64 = 50;

pub async fn lookup_by_phone(store: &Store, e164: &str) -> Result<Vec<Contact>, CrmError> {
    let search = Search {
        phone: Some(e164.to_string()),
        limit: LOOKUP_LIMIT,
        ..Search::default()
    };
    store
        .read(move |db| Ok(contacts::search(db, &search)?))
        .await
}

pub async fn lookup_by_user_id(store: &Store, user_id: &str) -> Result<Vec<Contact>, CrmError> {
    let search = Search {
        user_id: Some(user_id.to_string()),
        limit: LOOKUP_LIMIT,
        ..Search::default()
    };
    store
        .read(move |db| Ok(contacts::search(db, &search)?))
        .await
}

/// A page of the contact list. The cursor is `updated_at.id` of the previous page's last one.
pub async fn search(
    store: &Store,
    search: ContactSearch,
    default_region: &str,
) -> Result<ContactPage, CrmError> {
    let after = parse_cursor(search.cursor.as_deref())?;
    let text_phone = search
        .text
        .as_deref()
        .and_then(|t| phone::normalise(t, default_region));
    let limit = search.limit;
    let query = Search {
        phone: search.phone,
        user_id: None,
        text: search.text,
        text_phone,
        limit: limit + 1,
        after,
    };
    let mut items = store
        .read(move |db| Ok::<_, CrmError>(contacts::search(db, &query)?))
        .await?;
    let more = items.len() as i64 > limit;
    items.truncate(limit.max(0) as usize);
    let next_cursor = if more {
        items.last().and_then(cursor_of)
    } else {
        None
    };
    Ok(ContactPage { items, next_cursor })
}

/// `updated_at.id` of the last contact of a page.
fn cursor_of(c: &Contact) -> Option<String> {
    c.id.local().map(|id| format!("{}.{id}", c.updated_at))
}

fn parse_cursor(cursor: Option<&str>) -> Result<Option<(i64, i64)>, CrmError> {
    let Some(cursor) = cursor.filter(|c| !c.is_empty()) else {
        return Ok(None);
    };
    cursor
        .split_once('.')
        .and_then(|(u, id)| Some((u.parse().ok()?, id.parse().ok()?)))
        .map(Some)
        .ok_or_else(|| CrmError::Invalid {
            code: ErrorCode::InvalidCursor,
            message: "cursor is not one we gave".into(),
        })
}

pub async fn get(store: &Store, id: i64) -> Result<Option<Contact>, CrmError> {
    store.read(move |db| Ok(contacts::load(db, id)?)).await
}

pub async fn create(store: &Store, contact: ValidContact) -> Result<Contact, CrmError> {
    let created = store
        .write(move |db| {
            let id = contacts::insert(db, &contact)?;
            Ok::<_, CrmError>(contacts::load(db, id)?)
        })
        .await?;
    created.ok_or_else(|| CrmError::NotFound("just created".into()))
}

/// Reads, changes and checks the contact in one transaction (a refused patch changes nothing).
pub async fn update(
    store: &Store,
    id: i64,
    patch: ContactPatch,
    default_region: String,
) -> Result<Contact, CrmError> {
    store
        .write(move |db| {
            let old = contacts::load(db, id)?.ok_or_else(|| CrmError::NotFound(id.to_string()))?;
            let valid = patch.applied_to(&old).validate(&default_region)?;
            let lists = Lists {
                phones: patch.phones.is_some(),
                user_ids: patch.whatsapp_user_ids.is_some(),
            };
            contacts::replace(db, id, &valid, lists)?;
            contacts::load(db, id)?.ok_or_else(|| CrmError::NotFound(id.to_string()))
        })
        .await
}

pub async fn delete(store: &Store, id: i64) -> Result<(), CrmError> {
    let deleted = store
        .write(move |db| Ok::<_, CrmError>(contacts::soft_delete(db, id)?))
        .await?;
    if deleted {
        Ok(())
    } else {
        Err(CrmError::NotFound(id.to_string()))
    }
}

pub async fn add_user_id(store: &Store, id: i64, user_id: String) -> Result<Contact, CrmError> {
    store
        .write(move |db| {
            if !contacts::add_user_id(db, id, &user_id)? {
                return Err(CrmError::NotFound(id.to_string()));
            }
            contacts::load(db, id)?.ok_or_else(|| CrmError::NotFound(id.to_string()))
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::{ContactId, NewContact};

    fn store() -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("t.db"), 2, 16, Default::default(), 1000).unwrap();
        (store, dir)
    }

    fn new(first: &str, phones: &[&str]) -> ValidContact {
        new_in(first, phones, "US")
    }

    fn new_in(first: &str, phones: &[&str], region: &str) -> ValidContact {
        NewContact {
            first_name: Some(first.into()),
            phones: phones.iter().map(|p| p.to_string()).collect(),
            ..Default::default()
        }
        .validate(region)
        .unwrap()
    }

    fn local(c: &Contact) -> i64 {
        c.id.local().expect("a local id")
    }

    #[test]
    fn cursors_round_trip() {
        let c = Contact {
            id: ContactId::Local(7),
            first_name: None,
            last_name: Some("X".into()),
            phones: vec![],
            whatsapp_user_ids: vec![],
            email: None,
            company: None,
            notes: None,
            priority: None,
            updated_at: 1_700_000_000_000,
        };
        let cursor = cursor_of(&c).unwrap();
        assert_eq!(
            parse_cursor(Some(&cursor)).unwrap(),
            Some((1_700_000_000_000, 7))
        );
        for bad in ["nope", "1.x"] {
            let e = parse_cursor(Some(bad)).unwrap_err();
            assert_eq!(e.code().as_str(), "invalid_cursor", "{bad}");
        }
        assert_eq!(parse_cursor(Some("")).unwrap(), None);
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
            .write(move |db| contacts::soft_delete(db, bob_id))
            .await
            .unwrap());
        assert_eq!(
            lookup_by_phone(&store, "+11234567890").await.unwrap().len(),
            1
        );
        assert_eq!(get(&store, bob_id).await.unwrap(), None);
    }

    /// SPEC 8.1: the ways people type a number all find the customer's E.164 number.
    #[tokio::test]
    async fn numbers_as_people_type_them_find_the_customer() {
        let (store, _dir) = store();
        let mut uk = Vec::new();
        for typed in ["+44 7700 900123", "0044 7700 900123", "07700 900123"] {
            uk.push(local(
                &create(&store, new_in("Uk", &[typed], "GB")).await.unwrap(),
            ));
        }
        let us = create(&store, new_in("Us", &["(650) 555-1234"], "US"))
            .await
            .unwrap();
        let mut found: Vec<i64> = lookup_by_phone(&store, "+447700900123")
            .await
            .unwrap()
            .iter()
            .map(local)
            .collect();
        found.sort();
        assert_eq!(found, uk);
        assert_eq!(
            lookup_by_phone(&store, "+16505551234").await.unwrap(),
            vec![us]
        );
    }

    #[tokio::test]
    async fn a_contact_is_found_by_its_whatsapp_user_id() {
        let (store, _dir) = store();
        let mut with_id = new("Ann", &[]);
        with_id.whatsapp_user_ids = vec!["US.13491208655302741918".into()];
        let ann = create(&store, with_id).await.unwrap();
        assert_eq!(ann.whatsapp_user_ids, vec!["US.13491208655302741918"]);
        let bob = create(&store, new("Bob", &["+16505551234"])).await.unwrap();
        assert_eq!(
            lookup_by_user_id(&store, "US.13491208655302741918")
                .await
                .unwrap(),
            vec![ann.clone()]
        );
        assert!(lookup_by_user_id(&store, "US.1").await.unwrap().is_empty());

        // Linking a conversation adds the customer's BSUID; once is enough.
        let linked = add_user_id(&store, local(&bob), "US.ENT.99".into())
            .await
            .unwrap();
        assert_eq!(linked.whatsapp_user_ids, vec!["US.ENT.99"]);
        assert!(linked.updated_at > bob.updated_at);
        let again = add_user_id(&store, local(&bob), "US.ENT.99".into())
            .await
            .unwrap();
        assert_eq!(again.whatsapp_user_ids, vec!["US.ENT.99"]);
        let found = lookup_by_user_id(&store, "US.ENT.99").await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].id, bob.id);

        let e = add_user_id(&store, 999, "US.1".into()).await.unwrap_err();
        assert!(matches!(e, CrmError::NotFound(_)), "{e:?}");
        delete(&store, local(&ann)).await.unwrap();
        assert!(lookup_by_user_id(&store, "US.13491208655302741918")
            .await
            .unwrap()
            .is_empty());
        let e = add_user_id(&store, local(&ann), "US.2".into())
            .await
            .unwrap_err();
        assert!(
            matches!(e, CrmError::NotFound(_)),
            "a deleted contact: {e:?}"
        );
    }

    #[tokio::test]
    async fn a_contact_keeps_its_newest_user_ids() {
        let (store, _dir) = store();
        let c = create(&store, new("Ann", &[])).await.unwrap();
        for i in 0..=contacts::MAX_USER_IDS {
            add_user_id(&store, local(&c), format!("US.{i}"))
                .await
                .unwrap();
        }
        let now = get(&store, local(&c)).await.unwrap().unwrap();
        assert_eq!(now.whatsapp_user_ids.len(), contacts::MAX_USER_IDS);
        assert!(!now.whatsapp_user_ids.contains(&"US.0".to_string()));
        assert_eq!(now.whatsapp_user_ids.last().unwrap(), "US.10");
    }

    #[tokio::test]
    async fn a_whole_number_in_the_search_words_finds_its_contacts() {
        let (store, _dir) = store();
        let uk = create(&store, new_in("Nigel", &["+44 7700 900123"], "GB"))
            .await
            .unwrap();
        let page = |text: &str| ContactSearch {
            text: Some(text.into()),
            limit: 10,
            ..ContactSearch::default()
        };
        let found = search(&store, page("07700 900123"), "GB").await.unwrap();
        assert_eq!(found.items, vec![uk.clone()]);
        let found = search(&store, page("nigel"), "GB").await.unwrap();
        assert_eq!(found.items, vec![uk]);
        assert!(search(&store, page("07700 900124"), "GB")
            .await
            .unwrap()
            .items
            .is_empty());
    }

    #[tokio::test]
    async fn a_refused_update_changes_nothing() {
        let (store, _dir) = store();
        let c = create(&store, new("Ann", &["+16505551234"])).await.unwrap();
        let patch: ContactPatch = serde_json::from_value(
            serde_json::json!({"whatsapp_user_ids": ["nope"], "first_name": "Bo"}),
        )
        .unwrap();
        let e = update(&store, local(&c), patch, "US".into())
            .await
            .unwrap_err();
        assert_eq!(e.code().as_str(), "invalid_input");
        assert_eq!(get(&store, local(&c)).await.unwrap(), Some(c.clone()));
        let patch: ContactPatch =
            serde_json::from_value(serde_json::json!({"whatsapp_user_ids": ["GB.42"]})).unwrap();
        let changed = update(&store, local(&c), patch, "US".into()).await.unwrap();
        assert_eq!(changed.whatsapp_user_ids, vec!["GB.42"]);
        assert_eq!(changed.phones, c.phones, "numbers not named stay");
    }
}
