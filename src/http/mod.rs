//! The HTTP API (SPEC.md section 4): one module per resource, each with its `configure`.

pub mod activities;
pub mod agents;
pub mod auth;
pub mod channels;
pub mod contacts;
pub mod health;
pub mod interactions;
pub mod metrics;
pub mod openapi;
pub mod queues;
pub mod reports;
pub mod security;
pub mod settings;
pub mod simulator;
pub mod static_files;
pub mod stats;
pub mod supervisor_feed;

use crate::error::ApiError;
use crate::state::AppState;
use crate::store::{Store, StoreError};
use actix_web::web;
use rusqlite::Connection;
use serde::{Deserialize, Deserializer};

pub type Data = web::Data<AppState>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    metrics::configure(cfg);
    openapi::configure(cfg);
    supervisor_feed::configure(cfg);
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(agents::configure)
            .configure(queues::configure)
            .configure(channels::configure)
            .configure(contacts::configure)
            .configure(settings::configure)
            .configure(interactions::configure)
            .configure(activities::configure)
            .configure(stats::configure)
            .configure(reports::configure)
            .configure(simulator::configure),
    );
}

/// Aborts a write transaction with a client error: the change is rolled back and
/// [`write`] answers with `e`.
pub(crate) fn reject(e: ApiError) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(e))
}

fn store_error(e: StoreError) -> ApiError {
    match e {
        StoreError::Sqlite(rusqlite::Error::ToSqlConversionFailure(inner)) => {
            match inner.downcast::<ApiError>() {
                Ok(api) => *api,
                Err(other) => ApiError::Internal(anyhow::anyhow!("{other}")),
            }
        }
        other => other.into(),
    }
}

/// Runs `f` in a write transaction and answers after the commit. A `reject`ed change
/// leaves nothing behind.
pub(crate) async fn write<T, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    store.write(f).await.map_err(store_error)
}

/// Reads on a pooled connection.
pub(crate) async fn read<T, F>(store: &Store, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
{
    store.read(f).await.map_err(store_error)
}

/// For PATCH bodies: tells "absent" (`None`) from "null" (`Some(None)`).
pub(crate) fn double_option<'de, T, D>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// Checks a text field's length in characters: `min..=max`.
pub(crate) fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::invalid(format!(
            "{field} must have {min} to {max} characters"
        )));
    }
    Ok(())
}

/// Checks a number is within `min..=max`.
pub(crate) fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<(), ApiError> {
    if value < min || value > max {
        return Err(ApiError::invalid(format!(
            "{field} must be between {min} and {max}"
        )));
    }
    Ok(())
}

/// Sorted, de-duplicated ids.
pub(crate) fn unique_ids(ids: &[i64]) -> Vec<i64> {
    let mut v = ids.to_vec();
    v.sort_unstable();
    v.dedup();
    v
}

/// Ids in `a` and not in `b`, plus ids in `b` and not in `a` (both sorted, unique).
/// Makes `agent_id` a member of `queue_id` or not (idempotent), from either side's update.
pub(crate) fn set_member(
    c: &rusqlite::Connection,
    queue_id: i64,
    agent_id: i64,
    member: bool,
) -> rusqlite::Result<()> {
    let sql = if member {
        "INSERT OR IGNORE INTO queue_members(queue_id, agent_id) VALUES (?1, ?2)"
    } else {
        "DELETE FROM queue_members WHERE queue_id = ?1 AND agent_id = ?2"
    };
    c.execute(sql, rusqlite::params![queue_id, agent_id])?;
    Ok(())
}

pub(crate) fn changed_ids(a: &[i64], b: &[i64]) -> Vec<i64> {
    let mut out: Vec<i64> = a
        .iter()
        .filter(|x| !b.contains(x))
        .chain(b.iter().filter(|x| !a.contains(x)))
        .copied()
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_count_characters() {
        assert!(check_len("name", "é", 1, 1).is_ok());
        assert!(check_len("name", "", 1, 10).is_err());
        assert!(check_len("name", "abc", 1, 2).is_err());
    }

    #[test]
    fn changed_ids_is_the_symmetric_difference() {
        assert_eq!(changed_ids(&[1, 2, 3], &[2, 3, 4]), vec![1, 4]);
        assert!(changed_ids(&[1], &[1]).is_empty());
        assert_eq!(unique_ids(&[3, 1, 3]), vec![1, 3]);
    }

    #[test]
    fn rejected_writes_keep_their_error() {
        let e = store_error(StoreError::Sqlite(reject(ApiError::conflict(
            "username_taken",
            "taken",
        ))));
        assert_eq!(e.code(), "username_taken");
    }
}
