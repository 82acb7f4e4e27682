//! The media fetcher (R22): customers' files wait in `media_downloads` until they are stored.
//! Each try asks Meta for a fresh URL (`GET {graph_base_url}/{media_id}`, the URL lives five
//! minutes), downloads it with the channel's token, checks its size and sha256 (hex or base64)
//! and stores it under `media.path`; then the message's media is `ready` and its agents get
//! `message_media`. Failed tries are retried with backoff up to `media.max_attempts` (a disk
//! that cannot take the file does not use up a try); then the media is `failed` with the
//! reason. The jobs are rows, so a restart (even `kill -9`) picks them up again.

use crate::configuration::Settings;
use crate::domain::media::{sha256_matches, Media};
use crate::domain::time::now_ms;
use crate::media_files::{MediaFiles, MediaHealth};
use crate::store::media_downloads::{self as downloads, DueDownload, Fetched};
use crate::store::Store;
use crate::whatsapp::outbox::backoff_ms;
use crate::whatsapp::payload::ApiErrorDetail;
use actix::prelude::*;
use futures_util::StreamExt;
use serde::{Deserialize, Deserializer};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

/// How often due jobs are looked for without a [`Kick`].
const POLL_EVERY: Duration = Duration::from_secs(1);
const STORE_RETRY: Duration = Duration::from_secs(1);
/// Largest answer read from the media endpoint (the JSON, not the file).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

/// Told when a message's media became `ready` or `failed`: (interaction, message, media).
pub type MediaNotify = Arc<dyn Fn(i64, i64, Media) + Send + Sync>;

/// New download jobs were committed: look now rather than at the next poll.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Kick;

pub struct MediaFetcher {
    store: Store,
    settings: Arc<Settings>,
    files: MediaFiles,
    health: Arc<MediaHealth>,
    notify: MediaNotify,
    client: Option<awc::Client>,
    /// Jobs being fetched or settled.
    busy: HashSet<i64>,
    scanning: bool,
    rescan: bool,
}

/// How one try went, before the rules on tries decide what it means.
#[derive(Debug)]
enum Try {
    Stored {
        file: String,
        size: u64,
        sha256_hex: String,
        mime_type: Option<String>,
    },
    /// Worth another try (network, 5xx, an expired URL, a damaged file).
    Again(String),
    /// The file could not be written here (full or read-only disk): try later, no try used.
    Storage(String),
    /// Never (too large, unknown media id, channel gone).
    Never(String),
}

impl MediaFetcher {
    pub fn new(
        store: Store,
        settings: Arc<Settings>,
        files: MediaFiles,
        health: Arc<MediaHealth>,
        notify: MediaNotify,
    ) -> Self {
        MediaFetcher {
            files,
            store,
            settings,
            health,
            notify,
            client: None,
            busy: HashSet::new(),
            scanning: false,
            rescan: false,
        }
    }

    fn max_in_flight(&self) -> usize {
        self.settings.media.max_in_flight.max(1)
    }

    fn pump(&mut self, ctx: &mut Context<Self>) {
        if self.scanning {
            self.rescan = true;
            return;
        }
        if self.busy.len() >= self.max_in_flight() {
            return;
        }
        self.scanning = true;
        let limit = (self.max_in_flight() + self.busy.len()) as i64;
        let store = self.store.clone();
        let now = now_ms();
        let read = async move { store.read(move |db| downloads::due(db, now, limit)).await };
        ctx.spawn(read.into_actor(self).map(|result, act, ctx| {
            act.scanning = false;
            match result {
                Ok(jobs) => {
                    for job in jobs {
                        if act.busy.len() >= act.max_in_flight() {
                            break;
                        }
                        if act.busy.insert(job.media_id) {
                            act.start(job, ctx);
                        }
                    }
                }
                Err(e) => tracing::warn!(error = %e, "media download scan failed"),
            }
            if std::mem::take(&mut act.rescan) {
                act.pump(ctx);
            }
        }));
    }

    fn start(&mut self, job: DueDownload, ctx: &mut Context<Self>) {
        if self.settings.whatsapp.sandbox {
            // Nothing leaves the machine: the simulator staged the customer's file.
            let files = self.files.clone();
            let max_bytes = self.settings.limits.max_media_bytes;
            let job_for_fetch = job.clone();
            ctx.spawn(
                async move { from_sandbox(&files, max_bytes, &job_for_fetch).await }
                    .into_actor(self)
                    .map(move |outcome, act, ctx| act.settle(job, outcome, ctx)),
            );
            return;
        }
        let Some(token) = job.access_token.clone() else {
            return self.settle(job, Try::Never("the channel is deleted".into()), ctx);
        };
        if job.wa_media_id.is_empty() {
            return self.settle(job, Try::Never("the message named no media id".into()), ctx);
        }
        let client = self
            .client
            .get_or_insert_with(|| super::outbox::build_client(&self.settings))
            .clone();
        let fetch = Fetch {
            client,
            base: self.settings.whatsapp.graph_base_url.clone(),
            token,
            files: self.files.clone(),
            max_bytes: self.settings.limits.max_media_bytes,
            timeout: Duration::from_millis(self.settings.whatsapp.request_timeout_ms.max(1)),
        };
        let job_for_fetch = job.clone();
        ctx.spawn(
            async move { fetch.run(&job_for_fetch).await }
                .into_actor(self)
                .map(move |outcome, act, ctx| act.settle(job, outcome, ctx)),
        );
    }

    /// Commits a try's outcome, then announces a `ready` or `failed` media and frees the job.
    fn settle(&mut self, job: DueDownload, outcome: Try, ctx: &mut Context<Self>) {
        let now = now_ms();
        let m = &self.settings.media;
        let tries = job.attempts + 1;
        let fetched = match &outcome {
            Try::Stored {
                file,
                size,
                sha256_hex,
                mime_type,
            } => {
                self.health.storage_ok();
                Fetched::Stored {
                    file: file.clone(),
                    size: *size as i64,
                    sha256_hex: sha256_hex.clone(),
                    mime_type: mime_type.clone(),
                }
            }
            Try::Never(reason) => Fetched::Failed(reason.clone()),
            Try::Again(reason) if tries >= m.max_attempts => {
                Fetched::Failed(format!("{reason} (gave up after {tries} tries)"))
            }
            Try::Again(reason) => Fetched::Retry {
                reason: reason.clone(),
                counts: true,
                retry_at: now + self.backoff(job.attempts) as i64,
            },
            Try::Storage(reason) => {
                self.health.storage_failed(reason);
                Fetched::Retry {
                    reason: format!("the file could not be stored here: {reason}"),
                    counts: false,
                    retry_at: now + self.backoff(job.attempts.max(3)) as i64,
                }
            }
        };
        match &fetched {
            Fetched::Retry { reason, .. } => tracing::warn!(
                media_id = job.media_id, tries, %reason, "media download will be retried"
            ),
            Fetched::Failed(reason) => {
                tracing::warn!(media_id = job.media_id, %reason, "media download failed")
            }
            Fetched::Stored { .. } => {}
        }
        let store = self.store.clone();
        let (media_id, f) = (job.media_id, fetched.clone());
        let write = async move {
            store
                .write(move |db| downloads::settle(db, media_id, &f, now))
                .await
        };
        ctx.spawn(write.into_actor(self).map(move |result, act, ctx| match result {
            Ok(changed) => {
                if let Some(media) = changed {
                    (act.notify)(job.interaction_id, job.message_id, media);
                }
                act.busy.remove(&job.media_id);
                if let Fetched::Retry { retry_at, .. } = fetched {
                    let wait = (retry_at - now_ms()).max(0) as u64;
                    ctx.run_later(Duration::from_millis(wait), |act, ctx| act.pump(ctx));
                }
                act.pump(ctx);
            }
            Err(e) => {
                tracing::error!(error = %e, media_id = job.media_id, "media bookkeeping failed; retrying");
                ctx.run_later(STORE_RETRY, move |act, ctx| act.settle(job, outcome, ctx));
            }
        }));
    }

    fn backoff(&self, attempts: u32) -> u64 {
        let m = &self.settings.media;
        backoff_ms(
            attempts,
            m.retry_base_ms,
            m.retry_max_ms,
            rand::random::<f64>(),
        )
    }
}

impl Actor for MediaFetcher {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.files.clean_tmp();
        ctx.run_interval(POLL_EVERY, |act, ctx| act.pump(ctx));
        // Jobs left from before a restart are due already.
        self.pump(ctx);
    }
}

impl Handler<Kick> for MediaFetcher {
    type Result = ();
    fn handle(&mut self, _: Kick, ctx: &mut Self::Context) {
        self.pump(ctx);
    }
}

/// Sandbox mode: the customer simulator's file, staged under `{media.path}/sandbox/{id}`,
/// stored and checked like a download (size, sha256).
async fn from_sandbox(files: &MediaFiles, max_bytes: u64, job: &DueDownload) -> Try {
    let id = &job.wa_media_id;
    let staged = id.starts_with("sim-")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
    if !staged {
        return Try::Never("sandbox mode: media files are not fetched from WhatsApp".into());
    }
    let path = files.root().join("sandbox").join(id);
    let bytes = match tokio::fs::read(&path).await {
        Ok(b) => b,
        Err(e) => return Try::Never(format!("sandbox mode: the sample file is gone ({e})")),
    };
    if bytes.len() as u64 > max_bytes {
        return Try::Never(format!(
            "the file has {} bytes, more than limits.max_media_bytes ({max_bytes})",
            bytes.len()
        ));
    }
    let mut file = match files.incoming().await {
        Ok(f) => f,
        Err(e) => return Try::Storage(e.to_string()),
    };
    if let Err(e) = file.write(&bytes).await {
        return Try::Storage(e.to_string());
    }
    let digest = file.digest();
    if let Some(declared) = job.sha256.as_deref() {
        if !sha256_matches(declared, &digest) {
            return Try::Never(format!("sha256 mismatch: WhatsApp declared {declared}"));
        }
    }
    let size = file.size();
    match file.finish(now_ms()).await {
        Ok(s) => {
            let _ = tokio::fs::remove_file(&path).await;
            Try::Stored {
                file: s.file,
                size,
                sha256_hex: hex::encode(s.sha256),
                mime_type: job.mime_type.clone(),
            }
        }
        Err(e) => Try::Storage(e.to_string()),
    }
}

/// What the media endpoint answers: `{url, mime_type, sha256, file_size, id}`.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct MediaInfo {
    url: Option<String>,
    mime_type: Option<String>,
    sha256: Option<String>,
    #[serde(deserialize_with = "number_or_string")]
    file_size: Option<u64>,
}

/// Meta writes `file_size` as a number or as a string of digits.
fn number_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_u64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// One try at one file.
struct Fetch {
    client: awc::Client,
    base: String,
    token: String,
    files: MediaFiles,
    max_bytes: u64,
    /// For the lookup, for the download's answer, and for each piece of the file.
    timeout: Duration,
}

impl Fetch {
    async fn run(&self, job: &DueDownload) -> Try {
        let info = match self.look_up(&job.wa_media_id).await {
            Ok(info) => info,
            Err(t) => return t,
        };
        let Some(url) = info.url.as_deref().filter(|u| !u.trim().is_empty()) else {
            return Try::Again("the media endpoint gave no URL".into());
        };
        if let Some(size) = info.file_size.filter(|s| *s > self.max_bytes) {
            return Try::Never(self.too_large(size));
        }
        let stored = match self.download(url).await {
            Ok(file) => file,
            Err(t) => return t,
        };
        let digest = stored.digest();
        for declared in [info.sha256.as_deref(), job.sha256.as_deref()]
            .into_iter()
            .flatten()
        {
            if !sha256_matches(declared, &digest) {
                return Try::Again(format!(
                    "sha256 mismatch: the file's is {}, WhatsApp declared {declared}",
                    hex::encode(digest)
                ));
            }
        }
        let size = stored.size();
        match stored.finish(now_ms()).await {
            Ok(s) => Try::Stored {
                file: s.file,
                size,
                sha256_hex: hex::encode(s.sha256),
                mime_type: info.mime_type.or_else(|| job.mime_type.clone()),
            },
            Err(e) => Try::Storage(e.to_string()),
        }
    }

    fn too_large(&self, size: u64) -> String {
        format!(
            "the file has {size} bytes, more than limits.max_media_bytes ({})",
            self.max_bytes
        )
    }

    /// A fresh download URL and the file's declared type, size and sha256.
    async fn look_up(&self, media_id: &str) -> Result<MediaInfo, Try> {
        let url = format!("{}/{}", self.base.trim_end_matches('/'), media_id);
        let mut answer = self
            .client
            .get(url)
            .bearer_auth(&self.token)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| Try::Again(format!("media lookup failed: {e}")))?;
        let status = answer.status().as_u16();
        let body = answer
            .body()
            .limit(MAX_ANSWER_BYTES)
            .await
            .map_err(|e| Try::Again(format!("media lookup: HTTP {status}, unreadable: {e}")))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body)
                .map_err(|e| Try::Again(format!("media lookup: unreadable answer: {e}")));
        }
        #[derive(Deserialize)]
        struct Failure {
            error: Option<ApiErrorDetail>,
        }
        let text = serde_json::from_slice::<Failure>(&body)
            .ok()
            .and_then(|f| f.error)
            .map(|e| e.describe())
            .unwrap_or_else(|| format!("HTTP {status}"));
        // An unknown or expired media id (400, 404) never comes back; the rest may pass.
        Err(match status {
            400 | 404 | 410 => Try::Never(format!("WhatsApp does not have this media: {text}")),
            _ => Try::Again(format!("media lookup: HTTP {status}: {text}")),
        })
    }

    /// Downloads `url` into a new file, counted and hashed; not yet given its final name.
    async fn download(&self, url: &str) -> Result<crate::media_files::Incoming, Try> {
        let mut answer = self
            .client
            .get(url)
            .bearer_auth(&self.token)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| Try::Again(format!("download failed: {e}")))?;
        let status = answer.status().as_u16();
        if !(200..300).contains(&status) {
            // 401/403/404 here is an expired URL: the next try asks for a fresh one.
            return Err(Try::Again(format!("download: HTTP {status}")));
        }
        let announced = answer
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if let Some(size) = announced.filter(|s| *s > self.max_bytes) {
            return Err(Try::Never(self.too_large(size)));
        }
        let mut file = self
            .files
            .incoming()
            .await
            .map_err(|e| Try::Storage(e.to_string()))?;
        loop {
            let chunk = match tokio::time::timeout(self.timeout, answer.next()).await {
                Err(_) => return Err(Try::Again("download stalled".into())),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(Try::Again(format!("download broke off: {e}"))),
                Ok(Some(Ok(chunk))) => chunk,
            };
            if file.size() + chunk.len() as u64 > self.max_bytes {
                return Err(Try::Never(self.too_large(file.size() + chunk.len() as u64)));
            }
            file.write(&chunk)
                .await
                .map_err(|e| Try::Storage(e.to_string()))?;
        }
        Ok(file)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_media_endpoints_answer_is_read_with_either_size_shape() {
        let a: MediaInfo = serde_json::from_str(
            r#"{"messaging_product":"whatsapp","url":"https://lookaside.example/x","mime_type":"image/jpeg",
                "sha256":"81d3bd8a8db4868c9520ed47186e8b7c5789e61ff79f7f834be6950b808a90d3","file_size":"303833","id":"1"}"#,
        )
        .unwrap();
        assert_eq!(a.file_size, Some(303_833));
        assert_eq!(a.mime_type.as_deref(), Some("image/jpeg"));
        let b: MediaInfo = serde_json::from_str(r#"{"url":"u","file_size":12}"#).unwrap();
        assert_eq!(b.file_size, Some(12));
        let c: MediaInfo = serde_json::from_str(r#"{"file_size":null}"#).unwrap();
        assert_eq!((c.file_size, c.url), (None, None));
    }
}
