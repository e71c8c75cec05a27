//! What every function's `main` needs: JSON logs and the app built from the environment.

use std::sync::Arc;

use portal_adapters::{DeferredClients, DeferredMailer, DeferredTable, OsRandom, SandboxGateway, SystemClock};

use crate::app::App;
use crate::config::Config;

/// Structured JSON logs on stdout (CloudWatch), level from `RUST_LOG` (default info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    init_logging_to(filter, std::io::stdout);
}

/// The functions' log format, written to `writer` (the log-hygiene test reads what it would print).
pub fn init_logging_to<W>(filter: tracing_subscriber::EnvFilter, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(filter)
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .with_writer(writer)
        .try_init();
}

/// Builds the app for a deployed function: DynamoDB, SES v2, the system clock, the OS's CSPRNG
/// and the sandbox payment processor. The AWS clients are built on a background task (see
/// `portal_adapters::deferred`), so init returns at once and no network call is made.
pub fn app_from_env() -> anyhow::Result<App> {
    let config = Config::from_env()?;
    let clients = DeferredClients::start(config.dynamodb_endpoint.clone());
    let clock = Arc::new(SystemClock);
    let table = DeferredTable::new(clients.clone(), config.table_name.clone(), clock.clone());
    let mailer = DeferredMailer::new(clients, config.mail_from.clone());
    // The sandbox is the only processor wired in so far; a real one implements the same port.
    let gateway = Arc::new(SandboxGateway::new(Box::new(OsRandom)));
    Ok(App::new(Arc::new(table), Arc::new(mailer), clock, Arc::new(OsRandom), gateway, config))
}
