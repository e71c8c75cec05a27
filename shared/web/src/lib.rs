//! portal-web: the HTTP edge shared by every portal function.

pub mod app;
pub mod config;
pub mod cookies;
pub mod edge;
pub mod form;
pub mod lambda;
pub mod notices;
pub mod payment_form;

pub use app::App;
pub use config::{Config, Payments, StripeSettings};
pub use edge::{
    asset, body_bytes, html, landing, public_url, redirect, redirect_with_query, stripe_html, through_cloudfront, ClientAddr, Ctx,
    PageError, PageResult,
};
pub use form::Form;
pub use lambda_http::{Body, Request, Response};

/// Defines a function crate's `handle`: the shared edge around the crate's own `route`.
///
/// `handler!(Function::Invoices, route)` expands to `pub async fn handle(app, req) -> Response`,
/// which checks the request ([`Ctx::begin`]), runs `route(app, &mut ctx)`, and turns its outcome
/// into the response ([`Ctx::finish`]).
#[macro_export]
macro_rules! handler {
    ($function:expr, $route:ident) => {
        /// Serves one request.
        pub async fn handle(app: &$crate::App, req: $crate::Request) -> $crate::Response<$crate::Body> {
            let mut ctx = match $crate::Ctx::begin(app, req, $function).await {
                Ok(ctx) => ctx,
                Err(done) => return done,
            };
            let result = $route(app, &mut ctx).await;
            ctx.finish(app, result)
        }
    };
}
