//! R23: each channel's message templates kept in step with Meta: every page of
//! `GET {graph_base_url}/{waba_id}/message_templates`, at start, every
//! `whatsapp.template_sync_secs`, and on demand (`POST /channels/{id}/templates/sync`).
//! Status webhooks change single templates in between (see `webhook.rs`). In sandbox mode
//! every channel has the demo templates instead.

use crate::configuration::Settings;
use crate::domain::template::{self, Template};
use crate::domain::time::now_ms;
use crate::store::channels::{self, ChannelRecord};
use crate::store::{templates, Store, StoreError};
use crate::whatsapp::payload::ApiErrorDetail;
use actix::prelude::*;
use serde::Deserialize;
use std::sync::Arc;
use std::time::Duration;

/// The demo templates of sandbox mode, as Meta would list them.
const SANDBOX_TEMPLATES: &str = include_str!("sandbox_templates.json");
/// Templates asked for per page (Meta's largest page).
const PAGE_SIZE: u32 = 100;
/// A business has at most 250 templates (6,000 with a verified business): pages beyond
/// this are a paging loop, not templates.
const MAX_PAGES: usize = 100;
/// Largest answer read for one page.
const MAX_PAGE_BYTES: usize = 8 * 1024 * 1024;
const FIELDS: &str = "id,name,language,status,category,parameter_format,components,rejected_reason";

/// Why a sync did not happen.
#[derive(Debug)]
pub enum SyncError {
    /// The channel has no WhatsApp Business Account id.
    NoWabaId,
    /// Meta could not be asked, or refused: the reason.
    Meta(String),
    Store(StoreError),
}

impl From<StoreError> for SyncError {
    fn from(e: StoreError) -> Self {
        SyncError::Store(e)
    }
}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SyncError::NoWabaId => f.write_str("the channel has no waba_id"),
            SyncError::Meta(reason) => f.write_str(reason),
            SyncError::Store(e) => write!(f, "{e}"),
        }
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    data: serde_json::Value,
    #[serde(default)]
    paging: Option<Paging>,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(default)]
    cursors: Option<Cursors>,
    #[serde(default)]
    next: Option<String>,
}

#[derive(Deserialize)]
struct Cursors {
    #[serde(default)]
    after: Option<String>,
}

/// Every template of the account, all pages (followed by their `after` cursor, so the
/// access token only ever goes to `graph_base_url`).
async fn fetch_all(
    client: &awc::Client,
    settings: &Settings,
    waba_id: &str,
    token: &str,
) -> Result<Vec<Template>, String> {
    let base = settings.whatsapp.graph_base_url.trim_end_matches('/');
    let timeout = Duration::from_millis(settings.whatsapp.request_timeout_ms);
    let mut all = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut request = client
            .get(format!("{base}/{waba_id}/message_templates"))
            .bearer_auth(token)
            .timeout(timeout);
        request = match &after {
            Some(cursor) => request.query(&[
                ("fields", FIELDS),
                ("limit", &PAGE_SIZE.to_string()),
                ("after", cursor),
            ]),
            None => request.query(&[("fields", FIELDS), ("limit", &PAGE_SIZE.to_string())]),
        }
        .map_err(|e| format!("the request could not be made: {e}"))?;
        let mut answer = request
            .send()
            .await
            .map_err(|e| format!("Meta could not be reached: {e}"))?;
        let status = answer.status().as_u16();
        let body = answer
            .body()
            .limit(MAX_PAGE_BYTES)
            .await
            .map_err(|e| format!("Meta's answer (HTTP {status}) could not be read: {e}"))?;
        if !(200..300).contains(&status) {
            #[derive(Deserialize)]
            struct Refusal {
                error: ApiErrorDetail,
            }
            let why = serde_json::from_slice::<Refusal>(&body)
                .map(|r| r.error.describe())
                .unwrap_or_else(|_| "no reason given".into());
            return Err(format!("Meta refused (HTTP {status}): {why}"));
        }
        let page: Page = serde_json::from_slice(&body)
            .map_err(|e| format!("Meta's answer is not a template list: {e}"))?;
        all.extend(template::from_meta_page(&page.data));
        let next = page.paging.and_then(|p| {
            p.next.as_ref()?;
            p.cursors?.after.filter(|a| !a.is_empty())
        });
        match next {
            Some(cursor) if after.as_deref() != Some(cursor.as_str()) => after = Some(cursor),
            _ => return Ok(all),
        }
    }
    Err(format!("more than {MAX_PAGES} pages of templates"))
}

/// The demo templates every sandbox channel has.
fn sandbox_templates() -> Vec<Template> {
    serde_json::from_str(SANDBOX_TEMPLATES)
        .map(|v: serde_json::Value| template::from_meta_page(&v))
        .unwrap_or_default()
}

/// Brings the channel's templates in step with Meta and answers them. A failure keeps the
/// templates there were and records why on the channel.
pub async fn sync_channel(
    store: &Store,
    settings: &Settings,
    client: &awc::Client,
    channel: &ChannelRecord,
) -> Result<Vec<Template>, SyncError> {
    let channel_id = channel.id;
    let fetched = if settings.whatsapp.sandbox {
        Ok(sandbox_templates())
    } else {
        let Some(waba_id) = channel.waba_id.as_deref() else {
            return Err(SyncError::NoWabaId);
        };
        fetch_all(client, settings, waba_id, &channel.access_token).await
    };
    match fetched {
        Ok(all) => {
            let count = all.len();
            let stored = all.clone();
            store
                .write(move |db| templates::replace_all(db, channel_id, &stored, now_ms()))
                .await?;
            tracing::info!(channel_id, templates = count, "message templates synced");
            Ok(all)
        }
        Err(reason) => {
            tracing::warn!(channel_id, %reason, "message template sync failed");
            let kept = reason.clone();
            store
                .write(move |db| templates::sync_failed(db, channel_id, &kept))
                .await?;
            Err(SyncError::Meta(reason))
        }
    }
}

/// Syncs every channel that can be synced, at start and every `template_sync_secs`.
pub struct TemplateSync {
    store: Store,
    settings: Arc<Settings>,
    running: bool,
}

impl TemplateSync {
    pub fn new(store: Store, settings: Arc<Settings>) -> Self {
        TemplateSync {
            store,
            settings,
            running: false,
        }
    }

    fn sync_all(&mut self, ctx: &mut Context<Self>) {
        if self.running {
            return;
        }
        self.running = true;
        let (store, settings) = (self.store.clone(), self.settings.clone());
        let run = async move {
            let all = match store.read(channels::list_channels).await {
                Ok(all) => all,
                Err(e) => return tracing::warn!(error = %e, "template sync: channels unreadable"),
            };
            let client = crate::whatsapp::outbox::build_client(&settings);
            for channel in all {
                if channel.waba_id.is_none() && !settings.whatsapp.sandbox {
                    continue;
                }
                // Failures are recorded on the channel and logged; the others go on.
                let _ = sync_channel(&store, &settings, &client, &channel).await;
            }
        };
        ctx.spawn(run.into_actor(self).map(|_, act, _| act.running = false));
    }
}

impl Actor for TemplateSync {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.sync_all(ctx);
        let every = self.settings.whatsapp.template_sync_secs;
        if every > 0 {
            ctx.run_interval(Duration::from_secs(every), |act, ctx| act.sync_all(ctx));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_has_approved_and_refused_demo_templates() {
        let all = sandbox_templates();
        assert_eq!(all.len(), 5);
        let approved = all.iter().filter(|t| t.is_approved()).count();
        assert_eq!(approved, 3);
        let named = all
            .iter()
            .find(|t| t.name == "appointment_reminder")
            .unwrap();
        assert_eq!(named.slots().body.len(), 2);
        assert_eq!(
            all.iter()
                .find(|t| t.name == "spring_sale")
                .unwrap()
                .rejected_reason
                .as_deref(),
            Some("PROMOTIONAL")
        );
    }
}
