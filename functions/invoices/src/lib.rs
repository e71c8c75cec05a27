//! The invoices function: `/invoices` (the first page after sign-in).

use lambda_http::http::{Method, Response, StatusCode};
use lambda_http::{Body, Request};
use portal_domain::store;
use portal_templates::invoices;
use portal_templates::layout::Section;
use portal_templates::routes::{Function, Route};
use portal_web::{html, stylesheet, App, Ctx, PageError, PageResult};

/// Serves one request.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let mut ctx = match Ctx::begin(app, req, Function::Invoices).await {
        Ok(ctx) => ctx,
        Err(done) => return done,
    };
    let result = route(app, &mut ctx).await;
    ctx.finish(app, result)
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::Stylesheet, Method::GET) => Ok(stylesheet()),
        (Route::Invoices, Method::GET) => overview(app, ctx).await,
        (Route::Invoices, _) => Err(PageError::MethodNotAllowed),
        // Detail, PDFs and statements are not served yet.
        _ => Err(PageError::NotFound),
    }
}

async fn overview(app: &App, ctx: &mut Ctx) -> PageResult {
    let session = ctx.owner_session()?;
    let records = store::household(app.table.as_ref(), &session.account).await?;
    let name = records.household.as_ref().map(|h| h.name.as_str()).unwrap_or("");
    let page = invoices::overview(&ctx.chrome(app, Some(Section::Invoices)), app.today(), name, &records.invoices);
    Ok(html(StatusCode::OK, page))
}
