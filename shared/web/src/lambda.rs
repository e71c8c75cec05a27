//! What every function's `main` needs: JSON logs and the app built from the environment.

use std::sync::Arc;

use tracing::Level;
use tracing_subscriber::filter::Targets;

use portal_adapters::{DeferredClients, DeferredMailer, DeferredTable, OsRandom, SandboxGateway, SystemClock};

use crate::app::App;
use crate::config::Config;

/// Structured JSON logs on stdout (CloudWatch), level from `RUST_LOG` (default info). `RUST_LOG`
/// takes levels and `target=level` pairs (`info,portal_web=debug`); filtering by span or field is
/// left out, which keeps a regular-expression engine out of every function.
pub fn init_logging() {
    let filter =
        std::env::var("RUST_LOG").ok().and_then(|v| v.parse::<Targets>().ok()).unwrap_or_else(|| Targets::new().with_default(Level::INFO));
    init_logging_to(filter, std::io::stdout);
}

/// The functions' log format, written to `writer` (the log-hygiene test reads what it would print).
pub fn init_logging_to<W>(filter: Targets, writer: W)
where
    W: for<'w> tracing_subscriber::fmt::MakeWriter<'w> + Send + Sync + 'static,
{
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;
    let format = tracing_subscriber::fmt::layer().json().with_current_span(false).with_target(false).without_time().with_writer(writer);
    let _ = tracing_subscriber::registry().with(format).with(filter).try_init();
}

/// Builds the app for a deployed function: DynamoDB, SES v2, the system clock, the OS's CSPRNG
/// and the sandbox payment processor. The AWS clients are built when a request first needs them
/// (see `portal_adapters::deferred`), so init returns at once and no network call is made.
pub fn app_from_env() -> anyhow::Result<App> {
    let config = Config::from_env()?;
    let clients = DeferredClients::start(config.dynamodb_endpoint.clone());
    let clock = Arc::new(SystemClock);
    let table: Arc<dyn portal_domain::Table> = Arc::new(DeferredTable::new(clients.clone(), config.table_name.clone(), clock.clone()));
    let mailer = DeferredMailer::new(clients, config.mail_from.clone());
    // The sandbox is the only processor wired in so far (its ledger in the portal's table); a real
    // one implements the same port.
    let gateway = Arc::new(SandboxGateway::with_ledger(Box::new(OsRandom), table.clone()));
    Ok(App::new(table, Arc::new(mailer), clock, Arc::new(OsRandom), gateway, config))
}
