//! The renew-membership function: `/memberships/{id}/renew`. Offered only while the contract
//! ends within 90 days and has not been renewed; renewing twice renews once.

use lambda_http::http::{Method, StatusCode};
use portal_domain::enrol::{self, RenewOutcome};
use portal_domain::ports::random_token;
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{Membership, MembershipId};
use portal_templates::emails;
use portal_templates::layout::Section;
use portal_templates::memberships::renew_page;
use portal_templates::routes::{Function, Route};
use portal_web::{html, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::RenewMembership, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::Renew(id), Method::GET) => show(app, ctx, &id, None, StatusCode::OK).await,
        (Route::Renew(id), Method::POST) => renew(app, ctx, &id).await,
        _ => Err(PageError::NotFound),
    }
}

/// The owner's household and the membership; only the owner renews.
async fn load(app: &App, ctx: &Ctx, id: &MembershipId) -> Result<(HouseholdRecords, Membership), PageError> {
    let session = ctx.owner_session()?;
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    let ms = records.memberships.iter().find(|m| &m.id == id).cloned().ok_or(PageError::NotFound)?;
    Ok((records, ms))
}

async fn show(app: &App, ctx: &mut Ctx, id: &MembershipId, message: Option<&str>, status: StatusCode) -> PageResult {
    let (records, ms) = load(app, ctx, id).await?;
    let today = app.today();
    let next = ms.is_renewable(today).then(|| enrol::next_term(&ms, &records.members, ms.id.clone()));
    let csrf = ctx.session()?.csrf_token.clone();
    let page = renew_page(&ctx.chrome(app, Some(Section::Memberships)), &csrf, &ms, next.as_ref(), &records.members, today, message);
    Ok(html(status, page))
}

async fn renew(app: &App, ctx: &mut Ctx, id: &MembershipId) -> PageResult {
    let (records, ms) = load(app, ctx, id).await?;
    let new_id = MembershipId::parse(&random_token(app.random.as_ref(), 12))
        .map_err(|_| PageError::Unavailable(anyhow::anyhow!("membership id")))?;
    match enrol::renew(app.table.as_ref(), &ms, &records.members, app.today(), new_id, app.now()).await? {
        RenewOutcome::Renewed(next) => {
            let detail = format!("{} to {}", next.contract_start.format("%b %-d, %Y"), next.contract_end.format("%b %-d, %Y"));
            let event = ctx.event(app, "membership.renewed")?.subject(next.id.to_string()).detail(detail);
            ctx.record(app, event).await;
            notify_owner(app, &ctx.public_url, &records, &next).await;
            Ok(portal_web::redirect_done(&Route::Memberships, portal_templates::done::Done::Renewed))
        }
        RenewOutcome::NotRenewable => {
            show(app, ctx, id, Some("This membership cannot be renewed now, so nothing was changed."), StatusCode::CONFLICT).await
        }
    }
}

/// Emails the owner; a mail failure does not undo the renewal.
async fn notify_owner(app: &App, public_url: &str, records: &HouseholdRecords, next: &Membership) {
    let Some(to) = records.household.as_ref().and_then(|h| records.member(&h.owner)).and_then(|m| m.email.clone()) else { return };
    let lines = [
        format!("Your {} is renewed.", next.plan.name()),
        format!(
            "The new term runs from {} to {}, at {} per {}.",
            next.contract_start.format("%b %-d, %Y"),
            next.contract_end.format("%b %-d, %Y"),
            next.amount(),
            next.plan.period().noun()
        ),
    ];
    let link = format!("{public_url}{}", Route::Memberships.path());
    let message = emails::notice(to.as_str(), &app.config.practice_name, "Your membership is renewed", &lines, &link);
    if let Err(e) = app.mailer.send(message).await {
        tracing::warn!(error = %e, "renewal email not sent");
    }
}
