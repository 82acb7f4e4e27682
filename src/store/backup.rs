//! Whole-database copies for the command line: backup, restore, the schema version.

use anyhow::{bail, Context};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The schema version of the database at `path` (its migrations applied).
pub fn schema_version(path: &Path) -> anyhow::Result<i64> {
    Ok(Connection::open(path)?.query_row("PRAGMA user_version", [], |r| r.get(0))?)
}

/// Copies `db` to `target` with the online backup API, in one step: a single read
/// transaction, so the copy is one consistent moment even while the server writes (WAL lets
/// the writer go on meanwhile). Written beside the target and renamed, so a file at `target`
/// is always a complete backup. Returns the pages copied.
pub fn backup(db: &Path, target: &Path) -> anyhow::Result<i32> {
    if !db.exists() {
        bail!("no database at {}", db.display());
    }
    if let Some(dir) = target.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let partial = with_suffix(target, ".partial");
    let _ = std::fs::remove_file(&partial);
    // Read-write open (reads only): a read-only one cannot use a WAL database whose server
    // is stopped.
    let src = Connection::open(db).with_context(|| format!("opening {}", db.display()))?;
    src.busy_timeout(Duration::from_secs(10))?;
    let pages = {
        let mut dst = Connection::open(&partial)
            .with_context(|| format!("creating {}", partial.display()))?;
        let pages = copy_all(&src, &mut dst).context("copying the database")?;
        // One self-contained file: no -wal beside it.
        dst.pragma_update(None, "journal_mode", "DELETE")?;
        check_integrity(&dst)?;
        pages
    };
    std::fs::rename(&partial, target)
        .with_context(|| format!("moving the backup to {}", target.display()))?;
    Ok(pages)
}

/// The media files (relative to `media.path`) that the database at `db` names (R22): what a
/// backup of it must carry beside it.
pub fn media_files_named(db: &Path) -> anyhow::Result<Vec<String>> {
    let c = Connection::open_with_flags(db, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", db.display()))?;
    let has_media: bool = c.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'message_media')",
        [],
        |r| r.get(0),
    )?;
    if !has_media {
        return Ok(Vec::new());
    }
    let mut stmt =
        c.prepare("SELECT file FROM message_media WHERE file IS NOT NULL ORDER BY id")?;
    let files = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<Vec<String>, _>>()?;
    Ok(files)
}

/// Checks that `source` is an intact Switchboard database, before a restore.
pub fn check_restorable(source: &Path) -> anyhow::Result<()> {
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)
        .with_context(|| format!("opening {}", source.display()))?;
    check_integrity(&src).with_context(|| format!("{} is not usable", source.display()))?;
    let has_users: bool = src.query_row(
        "SELECT EXISTS(SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'users')",
        [],
        |r| r.get(0),
    )?;
    if !has_users {
        bail!("{} is not a Switchboard database", source.display());
    }
    Ok(())
}

/// Copies `source` over the database at `db`.
pub fn restore_into(source: &Path, db: &Path) -> anyhow::Result<()> {
    let src = Connection::open_with_flags(source, OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    let mut dst = Connection::open(db)?;
    dst.busy_timeout(Duration::from_secs(10))?;
    // Through SQLite, not a file copy: the target's WAL stays consistent.
    copy_all(&src, &mut dst).context("restoring the database")?;
    dst.pragma_update(None, "journal_mode", "WAL")?;
    check_integrity(&dst)?;
    Ok(())
}

/// Copies every page in one backup step (one read transaction: a consistent snapshot),
/// retrying while the source or target is busy. Returns the pages copied.
fn copy_all(src: &Connection, dst: &mut Connection) -> anyhow::Result<i32> {
    use rusqlite::backup::{Backup, StepResult};
    let copy = Backup::new(src, dst)?;
    for _ in 0..1000 {
        match copy.step(-1)? {
            StepResult::Done => return Ok(copy.progress().pagecount),
            // Busy or locked: a writer holds the lock for a moment.
            _ => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    bail!("the database stayed busy for 10 s")
}

fn check_integrity(c: &Connection) -> anyhow::Result<()> {
    let verdict: String = c.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    if verdict != "ok" {
        bail!("integrity check failed: {verdict}");
    }
    Ok(())
}

/// `path` with `suffix` appended to its file name.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut s = path.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backup_is_a_consistent_single_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("a.db");
        let c = Connection::open(&db).unwrap();
        c.pragma_update(None, "journal_mode", "WAL").unwrap();
        c.execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1), (2);")
            .unwrap();
        let target = dir.path().join("nested/b.db");
        backup(&db, &target).unwrap();
        let b = Connection::open(&target).unwrap();
        let n: i64 = b
            .query_row("SELECT COUNT(*) FROM t", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n, 2);
        let mode: String = b
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "delete");
        assert!(!with_suffix(&target, ".partial").exists());
    }
}
