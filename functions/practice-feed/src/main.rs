//! Lambda entry of the practice-feed function.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    portal_web::lambda::init_logging();
    let app = Arc::new(portal_web::lambda::app_from_env()?);
    let settings = Arc::new(
        practice_feed::FeedSettings::from_env()
            .inspect_err(|e| tracing::error!(error = %e, "refusing to start: the feed's configuration is not usable"))?,
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let (app, settings) = (Arc::clone(&app), Arc::clone(&settings));
        // The invocation's deadline (epoch ms), as time left from now.
        let left = std::time::UNIX_EPOCH
            .checked_add(std::time::Duration::from_millis(event.context.deadline))
            .and_then(|at| at.duration_since(std::time::SystemTime::now()).ok());
        let deadline = left.map(|left| std::time::Instant::now() + left);
        async move { practice_feed::handle(&app, &settings, event.payload, deadline).await.map_err(Error::from) }
    }))
    .await
}
