use clap::Parser;
use switchboard::cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        None | Some(Command::Serve) => serve(cli.config.as_deref()),
        Some(command) => switchboard::cli::run(command, cli.config.as_deref()),
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
