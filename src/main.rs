use clap::Parser;
use std::path::PathBuf;

/// Switchboard: a self-hosted contact center for WhatsApp conversations.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Configuration file layered over the defaults (also SWITCHBOARD_CONFIG).
    #[arg(long, value_name = "PATH")]
    config: Option<PathBuf>,
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = switchboard::configuration::load(cli.config.as_deref())?;
    switchboard::telemetry::init(&settings.log);
    let app = switchboard::startup::Application::build(settings).await?;
    app.run_until_stopped().await?;
    Ok(())
}
