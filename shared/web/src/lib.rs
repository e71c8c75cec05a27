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
    asset, body_bytes, html, landing, public_url, redirect, redirect_done, redirect_with_query, see_other, stripe_html, through_cloudfront,
    ClientAddr, Ctx, PageError, PageResult,
};
pub use form::Form;
pub use lambda_http::{Body, Request, Response};

/// Serves one request for `function`: the shared edge around the function's own `route`. It
/// checks the request ([`Ctx::begin`]: the route is the function's, the method one the route
/// answers, the session and CSRF token), serves the assets every function serves, runs
/// `route(app, &mut ctx)` for the function's own routes, and turns the outcome into the response
/// ([`Ctx::finish`]). A function's `route` so maps only (its route, an allowed method) to a handler.
pub async fn serve(
    app: &App,
    req: Request,
    function: portal_templates::routes::Function,
    route: impl for<'c> AsyncFnOnce(&'c App, &'c mut Ctx) -> PageResult,
) -> Response<Body> {
    let mut ctx = match Ctx::begin(app, req, function).await {
        Ok(ctx) => ctx,
        Err(done) => return done,
    };
    let result = if ctx.route.is_asset() { Ok(asset(&ctx.route)) } else { route(app, &mut ctx).await };
    ctx.finish(app, result)
}
