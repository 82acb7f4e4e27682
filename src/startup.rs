//! Builds the application (store, actors, HTTP server) and runs it until stopped.

use crate::actors::registry::Registry;
use crate::configuration::Settings;
use crate::domain::AgentStatus;
use crate::error::{json_error_handler, path_error_handler, query_error_handler};
use crate::state::{AppState, RuntimeSettings};
use crate::store::{settings as saved_settings, Store};
use actix_web::{dev::Server, web, App, HttpServer};
use anyhow::Context;
use std::net::TcpListener;
use std::sync::Arc;

pub struct Application {
    port: u16,
    address: String,
    server: Server,
    pub state: AppState,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let settings = Arc::new(settings);
        let store = Store::open(
            &settings.database.path,
            settings.database.read_pool_size,
            settings.database.max_batch,
            settings.database.synchronous,
            settings.database.wal_autocheckpoint,
        )
        .with_context(|| format!("opening database {}", settings.database.path.display()))?;

        let runtime = Arc::new(load_runtime_settings(&store, &settings)?);
        crate::auth::bootstrap_admin(&store, &settings.auth).context("bootstrap admin")?;
        if settings.demo.enabled {
            crate::demo::seed_if_empty(&store, &settings)
                .await
                .context("seeding demo data")?;
        }

        let crm = Arc::new(crate::crm::Crm::from_settings(&settings, store.clone())?);
        crm.start_outbox();

        let registry = Registry::start(
            store.clone(),
            settings.clone(),
            runtime.clone(),
            crm.clone(),
        )
        .await
        .context("starting actors")?;

        crate::retention::start(
            store.clone(),
            settings.retention.clone(),
            registry.files.clone(),
        );

        let board = actix::Actor::start(crate::actors::board::Board::reading(
            store.clone(),
            runtime.clone(),
        ));
        let state = AppState {
            settings: settings.clone(),
            store,
            registry,
            runtime,
            auth: Arc::new(crate::auth::LoginLimiter::new(
                settings.auth.login_attempts_per_minute,
            )),
            crm,
            board,
        };

        let listener = TcpListener::bind(&settings.server.bind)
            .with_context(|| format!("binding {}", settings.server.bind))?;
        let local = listener.local_addr()?;
        let port = local.port();
        let address = format!("http://{local}");

        let data = web::Data::new(state.clone());
        let origins = web::Data::new(crate::http::security::AllowedOrigins::new(
            &settings.server.public_url,
            port,
        ));
        let mut server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .app_data(origins.clone())
                .app_data(
                    web::JsonConfig::default()
                        .limit(1024 * 1024)
                        .error_handler(json_error_handler),
                )
                .app_data(web::QueryConfig::default().error_handler(query_error_handler))
                .app_data(web::PathConfig::default().error_handler(path_error_handler))
                .wrap(actix_web::middleware::from_fn(
                    crate::http::security::authenticate_first,
                ))
                .wrap(actix_web::middleware::from_fn(
                    crate::error::shape_empty_errors,
                ))
                .wrap(crate::http::security::headers())
                .wrap(tracing_actix_logger())
                .configure(crate::http::configure)
                .configure(crate::whatsapp::webhook::configure)
                .configure(crate::ws::configure)
                .configure(crate::http::static_files::configure)
        })
        // Small frames (an offer right after a status) must not wait for the client's delayed
        // ACK (Nagle's algorithm): 40 ms added to every second frame otherwise.
        .tcp_nodelay(true)
        .listen(listener)?;
        if settings.server.workers > 0 {
            server = server.workers(settings.server.workers);
        }
        let server = server.shutdown_timeout(10).run();

        tracing::info!(%address, "switchboard listening");
        // A plain line on stdout too: scripts and tests read the chosen port from it.
        println!("switchboard listening on {address}");
        if settings.demo.enabled {
            crate::demo::print_banner(&address);
        }
        Ok(Application {
            port,
            address,
            server,
            state,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn address(&self) -> &str {
        &self.address
    }

    /// Serves until SIGTERM or Ctrl-C (actix-web stops gracefully on both).
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn tracing_actix_logger() -> actix_web::middleware::Logger {
    // The path only: a query string may carry a token (`/ws/agent?token=`), never logged.
    actix_web::middleware::Logger::new("%{method}xi %U %s %Dms")
        .custom_request_replace("method", |req| req.method().to_string())
        .exclude("/healthz")
        .exclude("/readyz")
}

fn load_runtime_settings(store: &Store, settings: &Settings) -> anyhow::Result<RuntimeSettings> {
    let (masking, no_answer, supervisors_unmasked) = store.read_now(|db| {
        anyhow::Ok((
            saved_settings::load(db, "masking_enabled")?,
            saved_settings::load(db, "no_answer_status")?,
            saved_settings::load(db, "supervisors_see_unmasked")?,
        ))
    })?;
    let masking = masking
        .map(|v| v == "true")
        .unwrap_or(settings.masking.enabled);
    let no_answer = no_answer
        .as_deref()
        .and_then(AgentStatus::parse)
        .or_else(|| AgentStatus::parse(&settings.routing.no_answer_status))
        .unwrap_or(AgentStatus::OnBreak);
    let runtime = RuntimeSettings::new(masking, no_answer);
    runtime.set_supervisors_see_unmasked(supervisors_unmasked.as_deref() == Some("true"));
    Ok(runtime)
}
