//! The media files themselves (R22), under `media.path`: written to `tmp/` while they arrive
//! (hashed and counted on the way), synced, then renamed to `YYYY/MM/<random>`, a name that
//! never changes and is never reused. The database row that names a file is committed only
//! after the rename, so a row never names a file that is not complete.

use sha2::{Digest, Sha256};
use std::io;
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;
use tokio::io::AsyncWriteExt;

/// The first bytes of a file kept for sniffing its type.
pub const HEAD_BYTES: usize = 64 * 1024;

/// The folder of the media files.
#[derive(Debug, Clone)]
pub struct MediaFiles {
    root: PathBuf,
}

impl MediaFiles {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        MediaFiles { root: root.into() }
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
            tmp,
            file: Some(file),
            hasher: Sha256::new(),
            size: 0,
            head: Vec::new(),
        })
    }

    /// Deletes a stored file; one already gone is fine.
    pub fn remove(&self, relative: &str) -> io::Result<()> {
        let Some(path) = self.resolve(relative) else {
            return Ok(());
        };
        match std::fs::remove_file(path) {
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

    /// Writes and syncs a small file in the folder, then removes it: can files be stored?
    pub fn probe(&self) -> io::Result<()> {
        use std::io::Write;
        std::fs::create_dir_all(&self.root)?;
        let path = self.root.join(".readyz");
        let mut f = std::fs::File::create(&path)?;
        f.write_all(crate::domain::time::now_ms().to_string().as_bytes())?;
        f.sync_all()?;
        std::fs::remove_file(path)
    }
}

/// A file being written: hashed, counted, its head kept. Dropped unfinished, it is deleted.
pub struct Incoming {
    root: PathBuf,
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

    /// Syncs the file and gives it its final name.
    pub async fn finish(mut self, now_ms: i64) -> io::Result<Stored> {
        let mut file = self
            .file
            .take()
            .ok_or_else(|| io::Error::other("file already closed"))?;
        file.flush().await?;
        file.sync_all().await?;
        drop(file);
        let when = chrono::DateTime::from_timestamp_millis(now_ms).unwrap_or_default();
        let relative = format!("{}/{:032x}", when.format("%Y/%m"), rand::random::<u128>());
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

impl Drop for Incoming {
    fn drop(&mut self) {
        if !self.tmp.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// What [`copy_named`] did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Copied {
    /// Hard links made (same filesystem: no space used) or files copied.
    pub copied: u64,
    /// Already there with the same size (an earlier run).
    pub present: u64,
    /// Named by the database but not in `from`.
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
        files.remove(&stored.file).unwrap();
        files.remove(&stored.file).unwrap();
        assert!(!path.exists());
        files.probe().unwrap();
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
