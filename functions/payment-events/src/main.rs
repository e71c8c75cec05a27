//! Lambda entry of the payment-events function.

use std::sync::Arc;

use lambda_http::{service_fn, Error, Request};

#[tokio::main]
async fn main() -> Result<(), Error> {
    portal_web::lambda::init_logging();
    let app = Arc::new(portal_web::lambda::app_with_payments(portal_stripe::gateway)?);
    lambda_http::run(service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move { Ok::<_, Error>(payment_events::handle(&app, req).await) }
    }))
    .await
}
