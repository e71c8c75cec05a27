//! What every function's `main` needs: JSON logs and the app built from the environment.

use std::sync::Arc;

use tracing::Level;
use tracing_subscriber::filter::Targets;

use portal_adapters::{DeferredClients, DeferredMailer, DeferredTable, OsRandom, SandboxGateway, SystemClock};

use portal_domain::card::NewSource;
use portal_domain::ports::{ChargeOutcome, ChargeRequest, GatewayError, PaymentGateway, SetupResult, SetupSession, TokenizedSource};

use crate::app::App;
use secrecy::SecretString;

use crate::config::{Config, Payments};

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

/// Builds the app for a deployed function that takes no payments: DynamoDB, SES v2, the system
/// clock and the OS's CSPRNG. See [`app_with_payments`].
pub fn app_from_env() -> anyhow::Result<App> {
    app_built(false, |_, _| Arc::new(NoPayments))
}

/// Builds the app for a deployed function: DynamoDB, SES v2, the system clock, the OS's CSPRNG
/// and the payment processor the configuration names: Stripe through `stripe` (only the functions
/// that take payments link its client), or the sandbox on a demo stack (its ledger in the
/// portal's table). The AWS and Stripe clients are built when a request first needs them (see
/// `portal_adapters::deferred`), so init returns at once and no network call is made. A
/// configuration the function must not run with (the sandbox on a stack that does not allow it,
/// a missing key) is logged and refused.
/// `stripe` makes the Stripe adapter from the secret key and the API's origin.
pub fn app_with_payments(stripe: impl FnOnce(SecretString, String) -> Arc<dyn PaymentGateway>) -> anyhow::Result<App> {
    app_built(true, stripe)
}

fn app_built(takes_payments: bool, stripe: impl FnOnce(SecretString, String) -> Arc<dyn PaymentGateway>) -> anyhow::Result<App> {
    let config = Config::from_env(takes_payments)
        .inspect_err(|e| tracing::error!(error = %e, "refusing to start: the configuration is not usable"))?;
    let clients = DeferredClients::start(config.dynamodb_endpoint.clone());
    let clock = Arc::new(SystemClock);
    let table: Arc<dyn portal_domain::Table> = Arc::new(DeferredTable::new(clients.clone(), config.table_name.clone(), clock.clone()));
    let mailer = DeferredMailer::new(clients, config.mail_from.clone());
    let gateway: Arc<dyn PaymentGateway> = match &config.payments {
        Payments::Off => Arc::new(NoPayments),
        Payments::Sandbox => {
            tracing::warn!("payments go to the sandbox: no money moves");
            Arc::new(SandboxGateway::with_ledger(Box::new(OsRandom), table.clone()))
        }
        Payments::Stripe(settings) => stripe(settings.secret_key.clone(), settings.api_base.clone()),
    };
    Ok(App::new(table, Arc::new(mailer), clock, Arc::new(OsRandom), gateway, config))
}

/// The processor of a function that takes no payments: every call is refused (as an unreachable
/// processor would answer).
pub struct NoPayments;

fn refused() -> GatewayError {
    GatewayError(anyhow::anyhow!("this function takes no payments"))
}

#[async_trait::async_trait]
impl PaymentGateway for NoPayments {
    async fn tokenize(&self, _: &NewSource) -> Result<TokenizedSource, GatewayError> {
        Err(refused())
    }
    async fn create_customer(&self, _: &str, _: &str) -> Result<String, GatewayError> {
        Err(refused())
    }
    async fn begin_setup(&self, _: &str) -> Result<SetupSession, GatewayError> {
        Err(refused())
    }
    async fn finish_setup(&self, _: &str, _: &str) -> Result<SetupResult, GatewayError> {
        Err(refused())
    }
    async fn prepare(&self, _: &ChargeRequest) -> Result<String, GatewayError> {
        Err(refused())
    }
    async fn confirm(&self, _: &str, _: &str) -> Result<ChargeOutcome, GatewayError> {
        Err(refused())
    }
    async fn charge_status(&self, _: &str) -> Result<ChargeOutcome, GatewayError> {
        Err(refused())
    }
    async fn cancel(&self, _: &str) -> Result<ChargeOutcome, GatewayError> {
        Err(refused())
    }
    async fn detach(&self, _: &str) -> Result<(), GatewayError> {
        Err(refused())
    }
}
