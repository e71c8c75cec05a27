//! portal-adapters: the outside world behind portal-domain's ports. The only crate that uses the AWS SDK.

pub mod deferred;
pub mod demo;
pub mod dynamo;
pub mod mail;
pub mod memory;
pub mod sandbox;
pub mod system;

pub use deferred::{DeferredClients, DeferredMailer, DeferredTable};
pub use dynamo::DynamoTable;
pub use mail::{OutboxMailer, SesMailer};
pub use memory::MemoryTable;
pub use sandbox::SandboxGateway;
pub use system::{ManualClock, OsRandom, SystemClock};

pub use aws_config::SdkConfig;
pub use aws_sdk_dynamodb::Client as DynamoClient;
pub use aws_sdk_sesv2::Client as SesClient;

/// Loads the AWS SDK configuration (region and credentials from the usual AWS settings).
/// With `endpoint`, clients talk to a local emulator instead; dummy credentials are used if none are set.
pub async fn aws_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest());
    if let Some(url) = endpoint {
        loader = loader.endpoint_url(url);
        if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() {
            loader =
                loader.credentials_provider(aws_sdk_dynamodb::config::Credentials::new("local", "local", None, None, "local-emulator"));
        }
    }
    if std::env::var_os("AWS_REGION").is_none() && std::env::var_os("AWS_DEFAULT_REGION").is_none() {
        loader = loader.region(aws_config::Region::new("us-east-1"));
    }
    loader.load().await
}
