//! What every function's `main` needs: JSON logs and the app built from the environment.

use std::sync::Arc;

use portal_adapters::{DynamoTable, OsRandom, SandboxGateway, SesMailer, SystemClock};

use crate::app::App;
use crate::config::Config;

/// Structured JSON logs on stdout (CloudWatch), level from `RUST_LOG` (default info).
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt().json().with_env_filter(filter).with_current_span(false).with_target(false).without_time().try_init();
}

/// Builds the app for a deployed function: DynamoDB, SES v2, the system clock, the OS's CSPRNG
/// and the sandbox payment processor.
/// Makes no network call: AWS clients connect on first use.
pub async fn app_from_env() -> anyhow::Result<App> {
    let config = Config::from_env()?;
    let sdk = portal_adapters::aws_config(config.dynamodb_endpoint.as_deref()).await;
    let clock = Arc::new(SystemClock);
    let table = DynamoTable::new(aws_sdk_dynamodb_client(&sdk), config.table_name.clone(), clock.clone());
    let mailer = SesMailer::new(aws_sdk_sesv2_client(&sdk), config.mail_from.clone());
    // The sandbox is the only processor wired in so far; a real one implements the same port.
    let gateway = Arc::new(SandboxGateway::new(Box::new(OsRandom)));
    Ok(App::new(Arc::new(table), Arc::new(mailer), clock, Arc::new(OsRandom), gateway, config))
}

fn aws_sdk_dynamodb_client(sdk: &portal_adapters::SdkConfig) -> portal_adapters::DynamoClient {
    portal_adapters::DynamoClient::new(sdk)
}

fn aws_sdk_sesv2_client(sdk: &portal_adapters::SdkConfig) -> portal_adapters::SesClient {
    portal_adapters::SesClient::new(sdk)
}
