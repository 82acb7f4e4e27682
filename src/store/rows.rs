//! The records the actors and the HTTP edge share, re-exported from their table modules
//! ([`super::users`], [`super::queues`], [`super::channels`]), with loaders that take either
//! a [`Db`] or (until the actors' registry moves to [`super::Store::read`]) the raw connection
//! of [`super::Store::read_sql`]. New code calls the table modules.

use super::{channels, queues, users, Db, StoreError};
use rusqlite::Connection;

pub use super::channels::ChannelRecord;
pub use super::queues::QueueRecord;
pub use super::users::AgentRecord;

/// A connection the loaders below accept: a [`Db`], or a raw connection during the move.
pub trait Conn {
    fn db(&self) -> Db<'_>;
}

impl Conn for Connection {
    fn db(&self) -> Db<'_> {
        Db(self)
    }
}

impl Conn for Db<'_> {
    fn db(&self) -> Db<'_> {
        Db(self.0)
    }
}

fn raw(e: StoreError) -> rusqlite::Error {
    match e {
        StoreError::Sqlite(e) => e,
        other => rusqlite::Error::ToSqlConversionFailure(Box::new(other)),
    }
}

/// A live (not deleted) agent with its queue memberships.
pub fn load_agent<C: Conn + ?Sized>(c: &C, id: i64) -> rusqlite::Result<Option<AgentRecord>> {
    users::load_agent(&c.db(), id).map_err(raw)
}

pub fn list_agents<C: Conn + ?Sized>(c: &C) -> rusqlite::Result<Vec<AgentRecord>> {
    users::list_agents(&c.db()).map_err(raw)
}

pub fn load_queue<C: Conn + ?Sized>(c: &C, id: i64) -> rusqlite::Result<Option<QueueRecord>> {
    queues::load_queue(&c.db(), id).map_err(raw)
}

pub fn list_queues<C: Conn + ?Sized>(c: &C) -> rusqlite::Result<Vec<QueueRecord>> {
    queues::list_queues(&c.db()).map_err(raw)
}

pub fn load_channel<C: Conn + ?Sized>(c: &C, id: i64) -> rusqlite::Result<Option<ChannelRecord>> {
    channels::load_channel(&c.db(), id).map_err(raw)
}

pub fn list_channels<C: Conn + ?Sized>(c: &C) -> rusqlite::Result<Vec<ChannelRecord>> {
    channels::list_channels(&c.db()).map_err(raw)
}
