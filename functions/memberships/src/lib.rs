//! The memberships function: `/memberships`, every term of the household with its members,
//! dates, amounts and next bill date. Members who are not the owner see it read-only.

use lambda_http::http::{Method, StatusCode};
use portal_domain::store;
use portal_templates::layout::Section;
use portal_templates::memberships::list_page;
use portal_templates::routes::{Function, Route};
use portal_web::{html, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::Memberships, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::Memberships, Method::GET) => list(app, ctx).await,
        _ => Err(PageError::NotFound),
    }
}

async fn list(app: &App, ctx: &mut Ctx) -> PageResult {
    let session = ctx.session()?.clone();
    let records = store::household(app.table.as_ref(), &session.account).await?;
    let info = portal_templates::done::Done::on(&ctx.route, ctx.query("done")).map(|d| d.message());
    // A member who is not the owner sees their own enrolment, not the household's.
    let viewer = portal_domain::access::Viewer::of(&session);
    let visible = viewer.memberships(&records.memberships);
    let manages = viewer.manages_household();
    let page = list_page(&ctx.chrome(app, Some(Section::Memberships)), &visible, &records.members, app.today(), manages, info);
    Ok(html(StatusCode::OK, page))
}
