//! Lambda entry of the reminders function.

use std::sync::Arc;

use lambda_http::lambda_runtime::{self, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    portal_web::lambda::init_logging();
    // It charges automatic payments: the processor's settings, as the payment functions have them.
    let app = Arc::new(portal_web::lambda::app_with_payments(portal_stripe::gateway)?);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| {
        let app = Arc::clone(&app);
        async move { reminders::handle(&app, event.payload).await.map_err(Error::from) }
    }))
    .await
}
