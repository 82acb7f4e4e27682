//! How the domain's enums are stored: as their snake_case text.

use crate::domain::*;
use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, ValueRef};

macro_rules! stored_as_text {
    ($($name:ident),+ $(,)?) => {$(
        impl ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl FromSql for $name {
            fn column_result(v: ValueRef<'_>) -> FromSqlResult<Self> {
                let s = v.as_str()?;
                $name::parse(s).ok_or_else(|| {
                    FromSqlError::Other(format!("unknown {} `{}`", stringify!($name), s).into())
                })
            }
        }
    )+};
}

stored_as_text!(
    Role,
    AgentStatus,
    InteractionState,
    InteractionKind,
    Strategy,
    OfferKind,
    ConferenceState,
    ParticipantRole,
    RevokeReason,
    Direction,
    AuthorKind,
    MessageKind,
    MessageStatus,
    AlertLevel
);
