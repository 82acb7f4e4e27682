//! The command line: `serve` (the default), `migrate`, `admin create`, `backup`, `restore`,
//! `check-config`. Everything but `serve` runs without the HTTP server or the actors.

use crate::admin::{self, Actors};
use crate::configuration::{MediaStoreKind, Settings};
use crate::domain::Role;
use crate::store::backup::{self as copies, with_suffix};
use crate::store::{users, Store};
use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Switchboard: a self-hosted contact center for WhatsApp conversations.
#[derive(Debug, Parser)]
#[command(name = "switchboard", version, about)]
pub struct Cli {
    /// Configuration file layered over the defaults (also SWITCHBOARD_CONFIG).
    #[arg(long, value_name = "PATH", global = true)]
    pub config: Option<PathBuf>,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the agent desktop, the API and the webhook (what runs with no subcommand).
    Serve,
    /// Create or upgrade the database schema, then exit.
    Migrate,
    /// Manage administrator accounts.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Copy the database to PATH with SQLite's online backup, and the media files it names to
    /// PATH.media/; safe while the server runs.
    Backup {
        /// The backup file to write (replaced if it exists).
        path: PathBuf,
    },
    /// Replace the database with the backup at PATH (and bring back the media files of
    /// PATH.media/). Stop the server first.
    Restore {
        /// A file written by `switchboard backup`.
        path: PathBuf,
    },
    /// Load the configuration, check it, print the settings that matter (secrets hidden).
    CheckConfig,
    /// Upload the media files the database names from media.path to the bucket
    /// (media.store = "s3"), keeping their names: moving an installation to object storage.
    /// Files already there are skipped, so it can run again; safe while the server runs.
    MediaPush,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator. The password is asked for (twice) on a terminal, else read as
    /// the first line of standard input.
    Create {
        /// Login name.
        #[arg(long)]
        username: String,
        /// Name shown to other users (defaults to the username).
        #[arg(long)]
        display_name: Option<String>,
    },
}

/// Runs a subcommand other than `serve`.
pub fn run(command: Command, config: Option<&Path>) -> anyhow::Result<()> {
    let settings = crate::configuration::load(config).context("loading the configuration")?;
    match command {
        Command::Serve => bail!("`serve` runs in main"),
        Command::Migrate => migrate(&settings),
        Command::Admin {
            command:
                AdminCommand::Create {
                    username,
                    display_name,
                },
        } => admin_create(&settings, &username, display_name.as_deref()),
        Command::Backup { path } => {
            let pages = backup(&settings.database.path, &path)?;
            println!(
                "backup of {} written to {} ({pages} pages, integrity ok)",
                settings.database.path.display(),
                path.display()
            );
            backup_media(&settings, &path)
        }
        Command::Restore { path } => restore(&settings, &path),
        Command::CheckConfig => check_config(&settings),
        Command::MediaPush => media_push(&settings),
    }
}

fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    Store::open(
        &settings.database.path,
        1,
        settings.database.max_batch,
        settings.database.synchronous,
        settings.database.wal_autocheckpoint,
    )
    .with_context(|| format!("opening database {}", settings.database.path.display()))
}

fn migrate(settings: &Settings) -> anyhow::Result<()> {
    open_store(settings)?;
    let version = copies::schema_version(&settings.database.path)?;
    println!(
        "database {} is at schema version {version}",
        settings.database.path.display()
    );
    Ok(())
}

fn admin_create(
    settings: &Settings,
    username: &str,
    display_name: Option<&str>,
) -> anyhow::Result<()> {
    let username = username.trim();
    if username.is_empty() || username.chars().count() > 64 {
        bail!("the username must have 1 to 64 characters");
    }
    let password = read_password()?;
    if password.chars().count() < 8 {
        bail!("the password must have at least 8 characters");
    }
    let store = open_store(settings)?;
    let owned = username.to_string();
    let taken = store.read_now(move |db| users::username_taken(db, &owned, 0))?;
    if taken {
        bail!("the username `{username}` is taken");
    }
    let admin = admin::agents::NewAgent {
        username: username.to_string(),
        display_name: Some(display_name.unwrap_or(username).to_string()),
        role: Role::Admin,
        password,
        max_concurrent: 3,
        can_reject: true,
        auto_multi_match_pop: true,
        queues: Vec::new(),
        skills: Vec::new(),
    };
    // The store answers on an async runtime; no actor runs here.
    let id = actix_web::rt::Runtime::new()?
        .block_on(admin::agents::create(&store, Actors::NotStarted, admin))?
        .id;
    println!("administrator `{username}` created (id {id})");
    Ok(())
}

/// From a prompt (asked twice) on a terminal, else the first line of standard input.
fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let again = rpassword::prompt_password("Password again: ")?;
        if first != again {
            bail!("the passwords differ");
        }
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Copies `db` to `target` (see [`copies::backup`]). Returns the pages copied.
pub fn backup(db: &Path, target: &Path) -> anyhow::Result<i32> {
    copies::backup(db, target)
}

/// The folder beside a backup file that holds its media files: `PATH.media`.
pub fn media_folder_of(backup: &Path) -> PathBuf {
    with_suffix(backup, ".media")
}

/// Copies the media files the backup at `target` names into `target.media/` (hard links when
/// on the same filesystem). The database copy came first: every file it names was complete
/// before its row was committed, so it is there (unless retention deleted it since).
fn backup_media(settings: &Settings, target: &Path) -> anyhow::Result<()> {
    if settings.media.store == MediaStoreKind::S3 {
        println!(
            "media: kept in the bucket {} (media.store = \"s3\"), not copied",
            settings.media.s3_bucket
        );
        return Ok(());
    }
    let names = copies::media_files_named(target)?;
    if names.is_empty() {
        return Ok(());
    }
    let folder = media_folder_of(target);
    let done = crate::media_files::copy_named(&names, &settings.media.path, &folder)
        .with_context(|| format!("copying media files to {}", folder.display()))?;
    println!(
        "media: {} files in {} ({} copied, {} already there)",
        done.copied + done.present,
        folder.display(),
        done.copied,
        done.present
    );
    if done.missing > 0 {
        eprintln!(
            "warning: {} media files named by the database were not in {} (deleted since?)",
            done.missing,
            settings.media.path.display()
        );
    }
    Ok(())
}

/// Brings back the media files of `source.media/` that the restored database names into
/// `media.path` (files already there are kept).
fn restore_media(settings: &Settings, source: &Path) -> anyhow::Result<()> {
    if settings.media.store == MediaStoreKind::S3 {
        println!(
            "media: read from the bucket {} (media.store = \"s3\")",
            settings.media.s3_bucket
        );
        return Ok(());
    }
    let names = copies::media_files_named(&settings.database.path)?;
    if names.is_empty() {
        return Ok(());
    }
    let folder = media_folder_of(source);
    if !folder.is_dir() {
        eprintln!(
            "warning: the database names {} media files but {} does not exist",
            names.len(),
            folder.display()
        );
        return Ok(());
    }
    let done = crate::media_files::copy_named(&names, &folder, &settings.media.path).with_context(
        || {
            format!(
                "restoring media files into {}",
                settings.media.path.display()
            )
        },
    )?;
    println!(
        "media: {} files restored into {} ({} already there)",
        done.copied,
        settings.media.path.display(),
        done.present
    );
    if done.missing > 0 {
        eprintln!(
            "warning: {} media files named by the database are not in {}",
            done.missing,
            folder.display()
        );
    }
    Ok(())
}

/// Replaces the configured database with `source` (checked first), keeping the database it
/// replaces beside it as `<name>.before-restore-<time>`, then brings the schema up to date.
fn restore(settings: &Settings, source: &Path) -> anyhow::Result<()> {
    let db = &settings.database.path;
    copies::check_restorable(source)?;
    if db.exists() {
        let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%SZ");
        let keep = with_suffix(db, &format!(".before-restore-{stamp}"));
        backup(db, &keep).context("keeping the current database before the restore")?;
        println!("the current database is kept at {}", keep.display());
    } else if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    copies::restore_into(source, db)?;
    open_store(settings).context("upgrading the restored database")?;
    println!("{} restored from {}", db.display(), source.display());
    restore_media(settings, source)
}

fn media_push(settings: &Settings) -> anyhow::Result<()> {
    if settings.media.store != MediaStoreKind::S3 {
        anyhow::bail!("media.store is not \"s3\": set the bucket first (docs/SCALING.md)");
    }
    let names = copies::media_files_named(&settings.database.path)?;
    let files = crate::media_files::MediaFiles::from_settings(&settings.media)?;
    let done = actix_web::rt::System::new().block_on(async { files.push_local(&names).await })?;
    println!(
        "media: {} files uploaded to the bucket {}, {} already there",
        done.copied, settings.media.s3_bucket, done.present
    );
    if done.missing > 0 {
        eprintln!(
            "warning: {} media files named by the database are not in {}",
            done.missing,
            settings.media.path.display()
        );
    }
    Ok(())
}

fn check_config(s: &Settings) -> anyhow::Result<()> {
    let secret = |v: &Option<String>| match v.as_deref() {
        Some(x) if !x.is_empty() => "set",
        _ => "unset",
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "configuration ok")?;
    writeln!(out, "server.bind = {}", s.server.bind)?;
    writeln!(out, "server.public_url = {}", s.server.public_url)?;
    writeln!(out, "database.path = {}", s.database.path.display())?;
    writeln!(
        out,
        "database.wal_autocheckpoint = {}",
        s.database.wal_autocheckpoint
    )?;
    match s.media.store {
        MediaStoreKind::Local => writeln!(out, "media.store = local ({})", s.media.path.display())?,
        MediaStoreKind::S3 => writeln!(
            out,
            "media.store = s3 (bucket {}, endpoint {}, keys {})",
            s.media.s3_bucket,
            match s.media.s3_endpoint.as_str() {
                "" => "AWS",
                e => e,
            },
            match s.media.s3_access_key_id.is_empty() {
                true => "from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY",
                false => "set",
            }
        )?,
    }
    writeln!(out, "demo.enabled = {}", s.demo.enabled)?;
    writeln!(out, "whatsapp.sandbox = {}", s.whatsapp.sandbox)?;
    writeln!(
        out,
        "whatsapp.app_secret = {}",
        secret(&s.whatsapp.app_secret)
    )?;
    writeln!(
        out,
        "whatsapp.verify_token = {}",
        secret(&s.whatsapp.verify_token)
    )?;
    writeln!(
        out,
        "auth.bootstrap_admin_password = {}",
        secret(&s.auth.bootstrap_admin_password)
    )?;
    writeln!(out, "crm.connector = {}", s.crm.connector)?;
    writeln!(out, "metrics.access = {}", s.metrics.access)?;
    writeln!(
        out,
        "retention.days = {} (0 keeps everything)",
        s.retention.days
    )?;
    for w in warnings(s) {
        writeln!(out, "warning: {w}")?;
    }
    Ok(())
}

/// Settings that work but are unwise on a production server.
pub fn warnings(s: &Settings) -> Vec<&'static str> {
    let mut w = Vec::new();
    if s.demo.enabled {
        w.push("demo.enabled is true: demo agents with known passwords are seeded on an empty database");
    }
    if s.whatsapp.sandbox {
        w.push("whatsapp.sandbox is true: replies go to the built-in simulator, not to WhatsApp");
    }
    if !s.whatsapp.sandbox && s.whatsapp.app_secret.as_deref().is_none_or(str::is_empty) {
        w.push("whatsapp.app_secret is unset: channels need their own app secret for webhooks");
    }
    if s.metrics.access == "open" && !s.server.bind.starts_with("127.0.0.1") {
        w.push("metrics.access is open on a public address: consider \"token\"");
    }
    if s.database.wal_autocheckpoint == 0 {
        w.push("database.wal_autocheckpoint is 0: only Litestream checkpoints the WAL; without it running (switchboard-replicated.service) the WAL grows without end");
        if s.media.store == MediaStoreKind::Local {
            w.push("media.store is local while the database is replicated: media files would not survive the loss of the machine (media.store = \"s3\", docs/SCALING.md)");
        }
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
        let cli = Cli::try_parse_from(["switchboard"]).unwrap();
        assert!(cli.command.is_none());
        let cli =
            Cli::try_parse_from(["switchboard", "backup", "b.db", "--config", "c.toml"]).unwrap();
        assert_eq!(cli.config.as_deref(), Some(Path::new("c.toml")));
        assert!(matches!(cli.command, Some(Command::Backup { .. })));
    }
}
