//! Times: integer milliseconds in the database, RFC 3339 UTC on the wire.

use chrono::{DateTime, SecondsFormat, TimeZone, Utc};

pub type Millis = i64;

pub fn now_ms() -> Millis {
    Utc::now().timestamp_millis()
}

pub fn to_rfc3339(ms: Millis) -> String {
    Utc.timestamp_millis_opt(ms)
        .single()
        .unwrap_or_else(|| DateTime::<Utc>::from_timestamp(0, 0).expect("epoch"))
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Serde helpers: `#[serde(with = "crate::domain::time::rfc3339")]` on a `Millis` field.
pub mod rfc3339 {
    use serde::Serializer;
    pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_rfc3339(*ms))
    }
}

/// Same for `Option<Millis>` (null when absent).
pub mod rfc3339_opt {
    use serde::Serializer;
    pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => s.serialize_str(&super::to_rfc3339(*ms)),
            None => s.serialize_none(),
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn formats_utc_with_millis() {
        assert_eq!(
            super::to_rfc3339(1_700_000_000_123),
            "2023-11-14T22:13:20.123Z"
        );
    }
}
