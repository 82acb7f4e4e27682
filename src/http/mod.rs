//! The HTTP API (SPEC.md section 4): one module per resource, each with its `configure`.

pub mod activities;
pub mod agents;
pub mod auth;
pub mod canned_responses;
pub mod channels;
pub mod contacts;
pub mod conversations;
pub mod health;
pub mod interactions;
pub mod media;
pub mod metrics;
pub mod openapi;
pub mod queues;
pub mod reports;
pub mod roles;
pub mod security;
pub mod settings;
pub mod simulator;
pub mod static_files;
pub mod stats;
pub mod templates;

use crate::error::ApiError;
use crate::state::AppState;
use actix_web::web;
use serde::{Deserialize, Deserializer};

pub type Data = web::Data<AppState>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    health::configure(cfg);
    metrics::configure(cfg);
    openapi::configure(cfg);
    cfg.service(
        web::scope("/api/v1")
            .configure(auth::configure)
            .configure(agents::configure)
            .configure(queues::configure)
            .configure(channels::configure)
            .configure(templates::configure)
            .configure(canned_responses::configure)
            .configure(conversations::configure)
            .configure(contacts::configure)
            .configure(settings::configure)
            .configure(interactions::configure)
            .configure(media::configure)
            .configure(activities::configure)
            .configure(stats::configure)
            .configure(reports::configure)
            .configure(simulator::configure),
    );
}

/// A JSON request body: `web::Json` (same limit, parser and errors), but only a JSON object is
/// read as a struct. (serde would also take an array, field by field: `[true]`, `[]`.)
pub struct Json<T>(pub T);

impl<T> Json<T> {
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for Json<T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T: serde::de::DeserializeOwned + 'static> actix_web::FromRequest for Json<T> {
    type Error = actix_web::Error;
    type Future = futures_util::future::LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(
        req: &actix_web::HttpRequest,
        payload: &mut actix_web::dev::Payload,
    ) -> Self::Future {
        let body = web::Json::<ObjectOnly<T>>::from_request(req, payload);
        Box::pin(async move { Ok(Json(body.await?.into_inner().0)) })
    }
}

/// `T` read from a JSON object only.
struct ObjectOnly<T>(T);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for ObjectOnly<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::deserialize(MapOnly(d)).map(ObjectOnly)
    }
}

/// For a list of objects inside a body (`deserialize_with`): each item a JSON object too.
pub(crate) fn objects<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Vec<T>, D::Error> {
    Vec::<ObjectOnly<T>>::deserialize(d).map(|v| v.into_iter().map(|o| o.0).collect())
}

/// [`objects`] for an optional list (`null` or absent is `None`).
pub(crate) fn optional_objects<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Option::<Vec<ObjectOnly<T>>>::deserialize(d)
        .map(|v| v.map(|v| v.into_iter().map(|o| o.0).collect()))
}

/// Gives a struct's visitor a map, never a sequence.
struct MapOnly<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for MapOnly<D> {
    type Error = D::Error;

    fn deserialize_any<V: serde::de::Visitor<'de>>(self, v: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(v)
    }

    fn deserialize_struct<V: serde::de::Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        v: V,
    ) -> Result<V::Value, D::Error> {
        self.0.deserialize_map(v)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
        ignored_any
    }
}

pub(crate) use crate::domain::input::double_option;

/// Checks a text field's length in characters: `min..=max`.
pub(crate) fn check_len(field: &str, value: &str, min: usize, max: usize) -> Result<(), ApiError> {
    Ok(crate::domain::input::check_len(field, value, min, max)?)
}

/// Checks a number is within `min..=max`.
pub(crate) fn check_range(field: &str, value: i64, min: i64, max: i64) -> Result<(), ApiError> {
    Ok(crate::domain::input::check_range(field, value, min, max)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bodies_are_objects() {
        #[derive(Deserialize)]
        struct Item {
            code: String,
        }
        #[derive(Deserialize)]
        struct Body {
            flag: Option<bool>,
            #[serde(default, deserialize_with = "objects")]
            items: Vec<Item>,
        }
        // What serde's derive alone accepts: a struct written as an array.
        assert!(serde_json::from_str::<Body>(r#"[true, [{"code": "a"}]]"#).is_ok());

        let ok: ObjectOnly<Body> =
            serde_json::from_str(r#"{"flag": true, "items": [{"code": "a"}]}"#).unwrap();
        assert_eq!(ok.0.flag, Some(true));
        assert_eq!(ok.0.items[0].code, "a");
        for bad in ["[]", "[true]", "null", r#"{"items": [["a"]]}"#] {
            assert!(
                serde_json::from_str::<ObjectOnly<Body>>(bad).is_err(),
                "{bad}"
            );
        }
    }
}
