//! The media files themselves (R22): written to `{media.path}/tmp/` while they arrive (hashed
//! and counted on the way), then kept under `YYYY/MM/<random>`, a name that never changes and
//! is never reused. The database row that names a file is committed only once the file is kept
//! whole, so a row never names a file that is not complete.
//!
//! Two stores keep finished files (`media.store`): the local folder `media.path` (synced, then
//! renamed into place), or a bucket of S3-compatible object storage through `object_store`
//! (uploaded from the temporary file, which then goes), so that the files outlive the machine
//! as the replicated database does. The local store is not `object_store`'s `LocalFileSystem`:
//! that one does not fsync a file before it is named, and backups hard-link these files.

use actix_web::web::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};
use object_store::path::Path as ObjectPath;
use object_store::{ObjectStore, ObjectStoreExt};
use sha2::{Digest, Sha256};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncWriteExt;

use crate::configuration::{MediaSettings, MediaStoreKind};

/// The first bytes of a file kept for sniffing its type.
pub const HEAD_BYTES: usize = 64 * 1024;

/// The media files: the local folder (files arriving, and finished ones with the local store)
/// and, with `media.store = "s3"`, the bucket that keeps finished files.
#[derive(Debug, Clone)]
pub struct MediaFiles {
    root: PathBuf,
    remote: Option<Remote>,
}

/// A bucket and the key prefix under which the files' relative names go.
#[derive(Clone)]
struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: String,
}

/// The store's name and the prefix only: the client's own `Debug` would print its keys.
impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Remote({}, {:?})", self.store, self.prefix)
    }
}

impl Remote {
    fn key(&self, relative: &str) -> ObjectPath {
        ObjectPath::from(format!("{}{relative}", self.prefix))
    }
}

/// A stored file opened for reading: its length and its bytes, in chunks.
pub struct Opened {
    pub len: u64,
    pub chunks: BoxStream<'static, io::Result<Bytes>>,
}

impl MediaFiles {
    /// The local store alone, under `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MediaFiles {
            root: root.into(),
            remote: None,
        }
    }

    /// The store `media.*` describes. Nothing is contacted yet: a bucket that cannot be
    /// reached shows in `/readyz` and in each file's retries, not as a failed start.
    pub fn from_settings(settings: &MediaSettings) -> anyhow::Result<Self> {
        let mut files = MediaFiles::new(&settings.path);
        if settings.store == MediaStoreKind::S3 {
            use object_store::aws::AmazonS3Builder;
            let mut builder = AmazonS3Builder::from_env()
                .with_bucket_name(&settings.s3_bucket)
                .with_region(&settings.s3_region)
                .with_allow_http(settings.s3_allow_http)
                // A few quick tries: a file that still fails is retried by its own job (and
                // `/readyz` says so), not held for object_store's default three minutes.
                .with_retry(object_store::RetryConfig {
                    max_retries: 3,
                    retry_timeout: std::time::Duration::from_secs(15),
                    ..Default::default()
                });
            if !settings.s3_endpoint.is_empty() {
                builder = builder.with_endpoint(&settings.s3_endpoint);
            }
            if !settings.s3_access_key_id.is_empty() {
                builder = builder
                    .with_access_key_id(&settings.s3_access_key_id)
                    .with_secret_access_key(&settings.s3_secret_access_key);
            }
            // reqwest's rustls without a provider of its own: ring, as for every outbound call.
            let _ = rustls::crypto::ring::default_provider().install_default();
            let store = builder
                .build()
                .map_err(|e| anyhow::anyhow!("media.store = \"s3\": {e}"))?;
            let prefix = settings.s3_prefix.trim_matches('/');
            files.remote = Some(Remote {
                store: Arc::new(store),
                prefix: match prefix.is_empty() {
                    true => String::new(),
                    false => format!("{prefix}/"),
                },
            });
        }
        Ok(files)
    }

    /// An object store in place of the bucket (tests).
    pub fn with_object_store(root: impl Into<PathBuf>, store: Arc<dyn ObjectStore>) -> Self {
        MediaFiles {
            root: root.into(),
            remote: Some(Remote {
                store,
                prefix: "media/".into(),
            }),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The absolute place of a stored file, from the relative name a row keeps; `None` for a
    /// name that would leave the folder.
    pub fn resolve(&self, relative: &str) -> Option<PathBuf> {
        let rel = Path::new(relative);
        let plain =
            !relative.is_empty() && rel.components().all(|c| matches!(c, Component::Normal(_)));
        plain.then(|| self.root.join(rel))
    }

    /// Starts a new file in `tmp/`.
    pub async fn incoming(&self) -> io::Result<Incoming> {
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await?;
        let tmp = tmp_dir.join(format!("{:032x}.part", rand::random::<u128>()));
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .await?;
        Ok(Incoming {
            root: self.root.clone(),
            remote: self.remote.clone(),
            tmp,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
        })
    }

    /// Opens a stored file; `None` when the name leaves the folder or no such file is kept.
    pub async fn open(&self, relative: &str) -> io::Result<Option<Opened>> {
        let Some(path) = self.resolve(relative) else {
            return Ok(None);
        };
        if let Some(remote) = &self.remote {
            return match remote.store.get(&remote.key(relative)).await {
                Ok(got) => Ok(Some(Opened {
                    len: got.meta.size,
                    chunks: got.into_stream().map_err(io::Error::other).boxed(),
                })),
                Err(object_store::Error::NotFound { .. }) => Ok(None),
                Err(e) => Err(io::Error::other(e)),
            };
        }
        let file = match tokio::fs::File::open(&path).await {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let len = file.metadata().await?.len();
        let chunks = futures_util::stream::unfold(Some(file), |file| async move {
            use tokio::io::AsyncReadExt;
            let mut file = file?;
            let mut buf = vec![0u8; 64 * 1024];
            match file.read(&mut buf).await {
                Ok(0) => None,
                Ok(n) => {
                    buf.truncate(n);
                    Some((Ok(Bytes::from(buf)), Some(file)))
                }
                Err(e) => Some((Err(e), None)),
            }
        });
        Ok(Some(Opened {
            len,
            chunks: chunks.boxed(),
        }))
    }

    /// Deletes a stored file; one already gone is fine.
    pub async fn remove(&self, relative: &str) -> io::Result<()> {
        let Some(path) = self.resolve(relative) else {
            return Ok(());
        };
        if let Some(remote) = &self.remote {
            return match remote.store.delete(&remote.key(relative)).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
                Err(e) => Err(io::Error::other(e)),
            };
        }
        match tokio::fs::remove_file(path).await {
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            other => other,
        }
    }

    /// Removes what a crash left in `tmp/` (files not touched for an hour).
    pub fn clean_tmp(&self) {
        let Ok(entries) = std::fs::read_dir(self.root.join("tmp")) else {
            return;
        };
        let hour = std::time::Duration::from_secs(3600);
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > hour);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Can files be stored? A small synced write in the folder (files arrive there with
    /// either store), then removed; with a bucket, also a small object written over the last.
    pub async fn probe(&self) -> io::Result<()> {
        let root = self.root.clone();
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            std::fs::create_dir_all(&root)?;
            let path = root.join(".readyz");
            let mut f = std::fs::File::create(&path)?;
            f.write_all(crate::domain::time::now_ms().to_string().as_bytes())?;
            f.sync_all()?;
            std::fs::remove_file(path)
        })
        .await
        .map_err(io::Error::other)??;
        if let Some(remote) = &self.remote {
            let now = crate::domain::time::now_ms().to_string();
            remote
                .store
                .put(&remote.key(".readyz"), now.into_bytes().into())
                .await
                .map_err(|e| io::Error::other(format!("the bucket: {e}")))?;
        }
        Ok(())
    }
}

impl MediaFiles {
    /// Uploads the named files (relative names) from the local folder to the bucket, keeping
    /// their names; those already there with the same size are skipped. Moving an
    /// installation to `media.store = "s3"`: the rows keep naming the same files.
    pub async fn push_local(&self, names: &[String]) -> io::Result<Copied> {
        let remote = self
            .remote
            .as_ref()
            .ok_or_else(|| io::Error::other("media.store is not \"s3\": no bucket to push to"))?;
        let mut done = Copied::default();
        for name in names {
            let Some(path) = self.resolve(name) else {
                continue;
            };
            let Ok(local) = tokio::fs::metadata(&path).await else {
                done.missing += 1;
                continue;
            };
            match remote.store.head(&remote.key(name)).await {
                Ok(there) if there.size == local.len() => {
                    done.present += 1;
                    continue;
                }
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(io::Error::other(format!("the bucket: {e}"))),
            }
            upload(remote, &path, name).await?;
            done.copied += 1;
        }
        Ok(done)
    }
}

/// A file being written: hashed, counted, its head kept. Dropped unfinished, it is deleted.
pub struct Incoming {
    root: PathBuf,
    remote: Option<Remote>,
    tmp: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: Sha256,
    size: u64,
    head: Vec<u8>,
}

/// A file stored under its final name.
#[derive(Debug, Clone)]
pub struct Stored {
    /// Relative to `media.path`.
    pub file: String,
    pub size: u64,
    pub sha256: [u8; 32],
}

impl Incoming {
    pub async fn write(&mut self, chunk: &[u8]) -> io::Result<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| io::Error::other("file already closed"))?;
        file.write_all(chunk).await?;
        self.hasher.update(chunk);
        self.size += chunk.len() as u64;
        if self.head.len() < HEAD_BYTES {
            let take = (HEAD_BYTES - self.head.len()).min(chunk.len());
            self.head.extend_from_slice(&chunk[..take]);
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// The first [`HEAD_BYTES`] written.
    pub fn head(&self) -> &[u8] {
        &self.head
    }

    /// The sha256 of everything written so far.
    pub fn digest(&self) -> [u8; 32] {
        self.hasher.clone().finalize().into()
    }

    /// Keeps the file under its final name: synced and renamed in the folder, or uploaded to
    /// the bucket (then the temporary file goes). Only then may a row name it.
    pub async fn finish(mut self, now_ms: i64) -> io::Result<Stored> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("file already closed"))?;
        file.flush().await?;
        let when = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let relative = format!("{}/{:032x}", when.format("%Y/%m"), rand::random::<u128>());
        if let Some(remote) = self.remote.clone() {
            drop(file);
            upload(&remote, &self.tmp, &relative).await?;
            let _ = tokio::fs::remove_file(&self.tmp).await;
            let stored = Stored {
                file: relative,
                size: self.size,
                sha256: self.digest(),
            };
            self.tmp = PathBuf::new();
            return Ok(stored);
        }
        file.sync_all().await?;
        drop(file);
        let target = self.root.join(&relative);
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        tokio::fs::rename(&self.tmp, &target).await?;
        // The rename itself reaches the disk with the folder's sync.
        if let Some(dir) = target.parent() {
            if let Ok(d) = tokio::fs::File::open(dir).await {
                let _ = d.sync_all().await;
            }
        }
        let stored = Stored {
            file: relative,
            size: self.size,
            sha256: self.digest(),
        };
        self.tmp = PathBuf::new();
        Ok(stored)
    }
}

/// Streams the file at `tmp` to the bucket under `relative`: one PUT for a small file, a
/// multipart upload for a large one (object_store's buffered writer), aborted on error.
async fn upload(remote: &Remote, tmp: &Path, relative: &str) -> io::Result<()> {
    use object_store::buffered::BufWriter;
    let mut source = tokio::fs::File::open(tmp).await?;
    let mut sink = BufWriter::new(remote.store.clone(), remote.key(relative));
    let failed = |e: io::Error| io::Error::other(format!("uploading to the bucket: {e}"));
    if let Err(e) = tokio::io::copy(&mut source, &mut sink).await {
        // The parts already sent go (a multipart upload left open is billed).
        let _ = sink.abort().await;
        return Err(failed(e));
    }
    // Not aborted after this: the writer cleans up a failed completion itself, and `abort`
    // panics once `shutdown` has begun.
    sink.shutdown().await.map_err(failed)
}

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// What [`copy_named`] or [`MediaFiles::push_local`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Hard links made (same filesystem: no space used), files copied, or files uploaded.
    pub copied: u64,
    /// Already there with the same size (an earlier run).
    pub present: u64,
    /// Named by the database but not in the folder they are copied from.
    pub missing: u64,
}

/// Copies the files named (relative paths) from the folder `from` to the folder `to`, keeping
/// their names: a hard link where both are on one filesystem (the files never change), else a
/// copy, synced. A name that would leave the folder is skipped.
pub fn copy_named(names: &[String], from: &Path, to: &Path) -> io::Result<Copied> {
    let (source, target) = (MediaFiles::new(from), MediaFiles::new(to));
    let mut done = Copied::default();
    for name in names {
        let (Some(src), Some(dst)) = (source.resolve(name), target.resolve(name)) else {
            continue;
        };
        let Ok(meta) = std::fs::metadata(&src) else {
            done.missing += 1;
            continue;
        };
        if std::fs::metadata(&dst).is_ok_and(|d| d.len() == meta.len()) {
            done.present += 1;
            continue;
        }
        if let Some(dir) = dst.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let _ = std::fs::remove_file(&dst);
        if std::fs::hard_link(&src, &dst).is_err() {
            let partial = dst.with_extension("partial");
            std::fs::copy(&src, &partial)?;
            std::fs::File::open(&partial)?.sync_all()?;
            std::fs::rename(&partial, &dst)?;
        }
        done.copied += 1;
    }
    Ok(done)
}

/// Whether media files can be stored now, as the fetcher last found (for `/readyz`).
#[derive(Debug, Default)]
pub struct MediaHealth(Mutex<Option<String>>);

impl MediaHealth {
    /// A file could not be stored: `/readyz` says why until one is.
    pub fn storage_failed(&self, reason: &str) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason.to_string());
    }

    pub fn storage_ok(&self) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }

    pub fn problem(&self) -> Option<String> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_names_stay_inside_the_folder() {
        let files = MediaFiles::new("/srv/media");
        assert_eq!(
            files.resolve("2026/11/abc"),
            Some(PathBuf::from("/srv/media/2026/11/abc"))
        );
        for bad in ["", "/etc/passwd", "../x", "2026/../../x", "./x"] {
            assert_eq!(files.resolve(bad), None, "{bad}");
        }
    }

    #[actix_web::test]
    async fn a_file_is_hashed_counted_and_named_once_finished() {
        let dir = tempfile::tempdir().unwrap();
        let files = MediaFiles::new(dir.path());
        let mut f = files.incoming().await.unwrap();
        f.write(b"hello ").await.unwrap();
        f.write(b"world").await.unwrap();
        assert_eq!(f.size(), 11);
        assert_eq!(f.head(), b"hello world");
        let stored = f.finish(1_764_000_000_000).await.unwrap();
        assert!(stored.file.starts_with("2025/11/"), "{}", stored.file);
        assert_eq!(
            hex::encode(stored.sha256),
            hex::encode(Sha256::digest(b"hello world"))
        );
        let path = files.resolve(&stored.file).unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello world");
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        // An unfinished file leaves nothing behind.
        let mut g = files.incoming().await.unwrap();
        g.write(b"partial").await.unwrap();
        drop(g);
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        files.remove(&stored.file).await.unwrap();
        files.remove(&stored.file).await.unwrap();
        assert!(!path.exists());
        files.probe().await.unwrap();
    }

    async fn read_all(files: &MediaFiles, name: &str) -> Option<Vec<u8>> {
        let opened = files.open(name).await.unwrap()?;
        let chunks: Vec<Bytes> = opened.chunks.try_collect().await.unwrap();
        let body = chunks.concat();
        assert_eq!(body.len() as u64, opened.len);
        Some(body)
    }

    #[actix_web::test]
    async fn with_a_bucket_a_finished_file_is_an_object_and_nothing_stays_in_the_folder() {
        let dir = tempfile::tempdir().unwrap();
        let bucket = Arc::new(object_store::memory::InMemory::new());
        let files = MediaFiles::with_object_store(dir.path(), bucket.clone());
        // Larger than the buffered writer's first chunk: a multipart upload.
        let big: Vec<u8> = (0..12 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
        let mut f = files.incoming().await.unwrap();
        for part in big.chunks(300_000) {
            f.write(part).await.unwrap();
        }
        let stored = f.finish(1_764_000_000_000).await.unwrap();
        assert_eq!(stored.size, big.len() as u64);
        let key = ObjectPath::from(format!("media/{}", stored.file));
        assert_eq!(bucket.head(&key).await.unwrap().size, big.len() as u64);
        assert!(read_all(&files, &stored.file).await.unwrap() == big);
        // The folder keeps nothing: no temporary file, no copy.
        assert!(!dir.path().join(&stored.file).exists());
        assert_eq!(
            std::fs::read_dir(dir.path().join("tmp")).unwrap().count(),
            0
        );
        assert!(read_all(&files, "2025/11/none").await.is_none());
        assert!(read_all(&files, "../x").await.is_none());
        files.probe().await.unwrap();
        files.remove(&stored.file).await.unwrap();
        files.remove(&stored.file).await.unwrap();
        assert!(read_all(&files, &stored.file).await.is_none());
        // The local store reads the same way.
        let local = MediaFiles::new(dir.path());
        let mut g = local.incoming().await.unwrap();
        g.write(b"local bytes").await.unwrap();
        let kept = g.finish(1_764_000_000_000).await.unwrap();
        assert_eq!(read_all(&local, &kept.file).await.unwrap(), b"local bytes");
    }

    #[actix_web::test]
    async fn local_files_are_pushed_to_the_bucket_once_under_their_names() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("2026/01")).unwrap();
        std::fs::write(dir.path().join("2026/01/a"), b"aaa").unwrap();
        let names = vec![
            "2026/01/a".to_string(),
            "2026/01/gone".into(),
            "../x".into(),
        ];
        assert!(MediaFiles::new(dir.path())
            .push_local(&names)
            .await
            .is_err());
        let bucket = Arc::new(object_store::memory::InMemory::new());
        let files = MediaFiles::with_object_store(dir.path(), bucket);
        let first = files.push_local(&names).await.unwrap();
        assert_eq!((first.copied, first.present, first.missing), (1, 0, 1));
        assert_eq!(read_all(&files, "2026/01/a").await.unwrap(), b"aaa");
        let again = files.push_local(&names).await.unwrap();
        assert_eq!((again.copied, again.present), (0, 1));
    }

    #[test]
    fn named_files_are_copied_once_and_missing_ones_counted() {
        let from = tempfile::tempdir().unwrap();
        let to = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(from.path().join("2026/01")).unwrap();
        std::fs::write(from.path().join("2026/01/a"), b"aaa").unwrap();
        let names = vec![
            "2026/01/a".to_string(),
            "2026/01/gone".into(),
            "../x".into(),
        ];
        let first = copy_named(&names, from.path(), to.path()).unwrap();
        assert_eq!((first.copied, first.present, first.missing), (1, 0, 1));
        assert_eq!(std::fs::read(to.path().join("2026/01/a")).unwrap(), b"aaa");
        let again = copy_named(&names, from.path(), to.path()).unwrap();
        assert_eq!((again.copied, again.present), (0, 1));
    }
}
