//! Channels: WhatsApp Business numbers and the queue each routes to.

use super::queues::refuse_unknown_queue;
use super::Actors;
use crate::domain::input::{
    parse_channel_kind, DisplayPhoneNumber, Name, PhoneNumberId, Secret, WabaId,
};
use crate::domain::time::now_ms;
use crate::error::{ApiError, ErrorCode};
use crate::store::channels::{self, ChannelRecord, ChannelSettings};
use crate::store::{Db, Store};

/// A channel to create; unchecked.
#[derive(Debug, Clone)]
pub struct NewChannel {
    pub kind: String,
    pub name: String,
    pub phone_number_id: String,
    pub display_phone_number: String,
    pub queue_id: i64,
    pub access_token: String,
    pub app_secret: Option<String>,
    pub verify_token: Option<String>,
    pub waba_id: Option<String>,
}

/// The fields to change (`None`: kept; `Some(None)` clears an optional secret); unchecked.
#[derive(Debug, Clone, Default)]
pub struct ChannelPatch {
    pub kind: Option<String>,
    pub name: Option<String>,
    pub phone_number_id: Option<String>,
    pub display_phone_number: Option<String>,
    pub queue_id: Option<i64>,
    pub access_token: Option<String>,
    pub app_secret: Option<Option<String>>,
    pub verify_token: Option<Option<String>>,
    pub waba_id: Option<Option<String>>,
}

/// 409 `phone_number_id_taken` if another live channel has it.
fn refuse_taken(db: &Db, phone_number_id: &str, except: i64) -> Result<(), ApiError> {
    if channels::phone_number_id_taken(db, phone_number_id, except)? {
        return Err(ApiError::conflict(
            ErrorCode::PhoneNumberIdTaken,
            format!("another channel has phone_number_id {phone_number_id}"),
        ));
    }
    Ok(())
}

fn loaded(db: &Db, id: i64) -> Result<ChannelRecord, ApiError> {
    channels::load_channel(db, id)?.ok_or(ApiError::NotFound("channel"))
}

fn optional_secret(field: &str, v: Option<&str>) -> Result<Option<String>, ApiError> {
    Ok(v.map(|s| Secret::parse(field, s))
        .transpose()?
        .map(Secret::into_inner))
}

/// Creates a channel; tells the registry.
pub async fn create(
    store: &Store,
    actors: Actors<'_>,
    new: NewChannel,
) -> Result<ChannelRecord, ApiError> {
    parse_channel_kind(&new.kind)?;
    let settings = ChannelSettings {
        name: Name::parse(&new.name)?.into_inner(),
        phone_number_id: PhoneNumberId::parse(&new.phone_number_id)?.into_inner(),
        display_phone_number: DisplayPhoneNumber::parse(&new.display_phone_number)?.into_inner(),
        access_token: Secret::parse("access_token", &new.access_token)?.into_inner(),
        app_secret: optional_secret("app_secret", new.app_secret.as_deref())?,
        verify_token: optional_secret("verify_token", new.verify_token.as_deref())?,
        waba_id: new
            .waba_id
            .as_deref()
            .map(WabaId::parse)
            .transpose()?
            .map(WabaId::into_inner),
        kind: new.kind,
        queue_id: new.queue_id,
    };

    let channel = store
        .write(move |db| {
            refuse_unknown_queue(db, settings.queue_id)?;
            refuse_taken(db, &settings.phone_number_id, 0)?;
            let id = channels::insert(db, &settings, now_ms())?;
            loaded(db, id)
        })
        .await?;

    actors.channel_changed(channel.id).await;
    Ok(channel)
}

/// Changes a channel; tells the registry.
pub async fn update(
    store: &Store,
    actors: Actors<'_>,
    id: i64,
    p: ChannelPatch,
) -> Result<ChannelRecord, ApiError> {
    if let Some(k) = &p.kind {
        parse_channel_kind(k)?;
    }
    let name = p.name.as_deref().map(Name::parse).transpose()?;
    let phone_number_id = p
        .phone_number_id
        .as_deref()
        .map(PhoneNumberId::parse)
        .transpose()?;
    let display_phone_number = p
        .display_phone_number
        .as_deref()
        .map(DisplayPhoneNumber::parse)
        .transpose()?;
    let access_token = p
        .access_token
        .as_deref()
        .map(|t| Secret::parse("access_token", t))
        .transpose()?;
    let app_secret = p
        .app_secret
        .map(|s| optional_secret("app_secret", s.as_deref()))
        .transpose()?;
    let verify_token = p
        .verify_token
        .map(|t| optional_secret("verify_token", t.as_deref()))
        .transpose()?;
    let waba_id = p
        .waba_id
        .map(|w| {
            w.as_deref()
                .map(WabaId::parse)
                .transpose()
                .map(|w| w.map(WabaId::into_inner))
        })
        .transpose()?;

    let channel = store
        .write(move |db| {
            let old = loaded(db, id)?;
            if let Some(q) = p.queue_id {
                refuse_unknown_queue(db, q)?;
            }
            if let Some(n) = &phone_number_id {
                refuse_taken(db, n.as_str(), id)?;
            }
            let settings = ChannelSettings {
                kind: old.kind,
                name: name.map_or(old.name, Name::into_inner),
                phone_number_id: phone_number_id
                    .map_or(old.phone_number_id, PhoneNumberId::into_inner),
                display_phone_number: display_phone_number
                    .map_or(old.display_phone_number, DisplayPhoneNumber::into_inner),
                queue_id: p.queue_id.unwrap_or(old.queue_id),
                access_token: access_token.map_or(old.access_token, Secret::into_inner),
                app_secret: app_secret.unwrap_or(old.app_secret),
                verify_token: verify_token.unwrap_or(old.verify_token),
                waba_id: waba_id.unwrap_or(old.waba_id),
            };
            channels::update(db, id, &settings, now_ms())?;
            loaded(db, id)
        })
        .await?;

    actors.channel_changed(id).await;
    Ok(channel)
}

/// Deletes a channel (soft); tells the registry.
pub async fn delete(store: &Store, actors: Actors<'_>, id: i64) -> Result<(), ApiError> {
    store
        .write(move |db| {
            loaded(db, id)?;
            channels::soft_delete(db, id, now_ms())?;
            Ok::<_, ApiError>(())
        })
        .await?;
    actors.channel_deleted(id).await;
    Ok(())
}
