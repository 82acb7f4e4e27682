use clap::Parser;
use switchboard::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    return_big_blocks_to_the_system();
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => serve(cli.config.as_deref()),
        Some(command) => switchboard::cli::run(command, cli.config.as_deref()),
    }
}

/// glibc serves blocks above a threshold with their own mmap, returned to the system when
/// freed; but after the first such free it raises the threshold to that block's size, so
/// every later argon2 hash (19 MiB per login) comes from the heap arenas, which keep it: a
/// server reached 3.9 GB of RSS after 256 logins. Fixed thresholds (4 MiB for mmap, and 8 MiB
/// for trimming, as glibc's own rule would set them) send argon2's blocks back to the system
/// and leave smaller ones in the arenas (docs/BENCHMARKS.md, "Logins").
fn return_big_blocks_to_the_system() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only sets an allocator parameter; called first thing in main, before
    // any other thread exists.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 4 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 8 << 20);
    }
}

/// Actor-based WebSockets need an actix System (not a bare tokio runtime).
fn serve(config: Option<&std::path::Path>) -> anyhow::Result<()> {
    let settings = switchboard::configuration::load(config)?;
    switchboard::telemetry::init(&settings.log);
    actix_web::rt::System::new().block_on(async move {
        let app = switchboard::startup::Application::build(settings).await?;
        app.run_until_stopped().await?;
        Ok(())
    })
}
