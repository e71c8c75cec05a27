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

/// The HTTPS client every AWS client uses: rustls with ring and the platform's root certificates.
/// (The SDK's default client brings aws-lc, which more than doubles what TLS adds to a function.)
pub fn https_client() -> aws_sdk_dynamodb::config::SharedHttpClient {
    use aws_smithy_http_client::tls::{rustls_provider::CryptoMode, Provider};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The region a function runs in (Lambda sets `AWS_REGION`), or us-east-1 for local runs.
fn region_from_env() -> aws_config::Region {
    let region = std::env::var("AWS_REGION").or_else(|_| std::env::var("AWS_DEFAULT_REGION")).unwrap_or_else(|_| "us-east-1".into());
    aws_config::Region::new(region)
}

/// A deployed function's SDK configuration, from its environment alone: region and credentials
/// are the variables Lambda sets, so none of the SDK's other sources (profiles, SSO, instance
/// metadata, STS) is linked in or probed. With `endpoint`, clients talk to a local emulator
/// (dummy credentials when none are set).
pub fn function_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    use aws_sdk_dynamodb::config::{Credentials, SharedCredentialsProvider};
    let credentials = match endpoint {
        Some(_) if std::env::var_os("AWS_ACCESS_KEY_ID").is_none() => {
            SharedCredentialsProvider::new(Credentials::new("local", "local", None, None, "local-emulator"))
        }
        _ => SharedCredentialsProvider::new(aws_config::environment::EnvironmentVariableCredentialsProvider::new()),
    };
    // Retries, timeouts, the sleep and time sources are the clients' defaults for this behavior version.
    let mut builder = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(region_from_env())
        .credentials_provider(credentials)
        .http_client(https_client());
    if let Some(url) = endpoint {
        builder = builder.endpoint_url(url);
    }
    builder.build()
}

/// Loads the AWS SDK configuration the way the AWS CLI does (environment, profiles, SSO), for the
/// operator's commands and tests. With `endpoint`, clients talk to a local emulator instead; dummy
/// credentials are used if none are set.
pub async fn aws_config(endpoint: Option<&str>) -> aws_config::SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client());
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
