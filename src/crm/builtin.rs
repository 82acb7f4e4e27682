//! The built-in CRM: contacts in SQLite (`store::contacts`), looked up by E.164.
//! Its call logs are the `activities` rows themselves: nothing to push.

use super::{Contact, CrmError, ValidContact};
use crate::store::contacts;
use crate::store::Store;

pub use crate::store::contacts::Search;

pub async fn lookup_by_phone(store: &Store, e164: &str) -> Result<Vec<Contact>, CrmError> {
    let search = Search {
        phone: Some(e164.to_string()),
        limit: 50,
        ..Search::default()
    };
    store
        .read(move |db| Ok(contacts::search(db, &search)?))
        .await
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crm::{ContactId, NewContact};

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
            .write(move |db| contacts::soft_delete(db, bob_id))
            .await
            .unwrap());
        assert_eq!(
            lookup_by_phone(&store, "+11234567890").await.unwrap().len(),
            1
        );
        assert_eq!(get(&store, bob_id).await.unwrap(), None);
    }
}
