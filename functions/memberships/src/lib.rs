//! The memberships function: `/memberships`, every term of the household with its members,
//! dates, amounts and next bill date (members who are not the owner see it read-only); and the
//! owner's cancelling or removing a member (`/memberships/{id}/leave`: form, review, confirm) and
//! withdrawing such a request. The rules are `domain::leaving`'s.

use lambda_http::http::{Method, StatusCode};
use portal_domain::leaving::{self, Leaving, LeavingStatus, Outcome, Reason};
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{MemberId, Membership, MembershipId};
use portal_templates::done::Done;
use portal_templates::emails;
use portal_templates::layout::Section;
use portal_templates::memberships::{leave_form, leave_review, list_page, LeaveErrors, LeaveValues};
use portal_templates::routes::{Function, Route};
use portal_web::{html, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::Memberships, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::Memberships, Method::GET) => list(app, ctx).await,
        (Route::Leave(id), Method::GET) => leave_page(app, ctx, &id).await,
        (Route::Leave(id), Method::POST) => leave(app, ctx, &id).await,
        (Route::WithdrawLeaving(id), Method::POST) => withdraw(app, ctx, &id).await,
        _ => Err(PageError::NotFound),
    }
}

async fn list(app: &App, ctx: &mut Ctx) -> PageResult {
    let session = ctx.session()?.clone();
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    let info = Done::on(&ctx.route, ctx.query("done")).map(|d| d.message());
    // A member who is not the owner sees their own enrolment, not the household's.
    let viewer = portal_domain::access::Viewer::of(&session);
    let visible = viewer.memberships(&records.memberships);
    let token = viewer.manages_household().then_some(session.csrf_token.as_str());
    let page = list_page(&ctx.chrome(app, Some(Section::Memberships)), &visible, &records.members, app.today(), token, info);
    Ok(html(StatusCode::OK, page))
}

/// The owner's household and the membership; only the owner cancels or removes anyone.
async fn load(app: &App, ctx: &Ctx, id: &MembershipId) -> Result<(HouseholdRecords, Membership), PageError> {
    let session = ctx.owner_session()?;
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    let ms = records.memberships.iter().find(|m| &m.id == id).cloned().ok_or(PageError::NotFound)?;
    Ok((records, ms))
}

async fn form(app: &App, ctx: &mut Ctx, id: &MembershipId, v: &LeaveValues, errors: &LeaveErrors, status: StatusCode) -> PageResult {
    let (records, ms) = load(app, ctx, id).await?;
    form_of(app, ctx, (&records, &ms), v, errors, status)
}

/// The leave form for the household and membership already read.
fn form_of(
    app: &App,
    ctx: &mut Ctx,
    (records, ms): (&HouseholdRecords, &Membership),
    v: &LeaveValues,
    errors: &LeaveErrors,
    status: StatusCode,
) -> PageResult {
    let refusal = leaving::quote(ms, None, app.today()).err().map(|r| r.to_string());
    let status = if refusal.is_some() && status == StatusCode::OK { StatusCode::CONFLICT } else { status };
    let csrf = ctx.session()?.csrf_token.clone();
    let chrome = ctx.chrome(app, Some(Section::Memberships));
    let removable = leaving::removable(ms, app.today());
    let offer = refusal.as_deref().map_or(Ok(removable.as_slice()), Err);
    Ok(html(status, leave_form(&chrome, &csrf, ms, &records.members, v, errors, offer)))
}

async fn leave_page(app: &App, ctx: &mut Ctx, id: &MembershipId) -> PageResult {
    form(app, ctx, id, &LeaveValues::default(), &LeaveErrors::default(), StatusCode::OK).await
}

async fn leave(app: &App, ctx: &mut Ctx, id: &MembershipId) -> PageResult {
    let v: LeaveValues = ctx.form.decode();
    if v.edit == "1" {
        return form(app, ctx, id, &v, &LeaveErrors::default(), StatusCode::OK).await;
    }
    let (records, ms) = load(app, ctx, id).await?;
    let today = app.today();
    let mut errors = LeaveErrors::default();
    let who: Option<MemberId> = match v.who.as_str() {
        "membership" => None,
        other => match MemberId::parse(other) {
            Ok(member) if ms.enrollments.iter().any(|e| e.member == member) => Some(member),
            _ => {
                errors.who = Some("Choose whether to cancel the membership or whom to remove.".into());
                None
            }
        },
    };
    let reason = Reason::parse(&v.reason);
    if reason.is_none() {
        errors.reason = Some("Choose a reason.".into());
    }
    errors.note = leaving::note_error(&v.note);
    if !errors.is_empty() {
        return form_of(app, ctx, (&records, &ms), &v, &errors, StatusCode::UNPROCESSABLE_ENTITY);
    }
    let quote = match leaving::quote(&ms, who.as_ref(), today) {
        Ok(q) => q,
        // Refusals about the whole membership end the form; those about one member are the form's error.
        Err(refusal) if refusal.is_about_member() => {
            let errors = LeaveErrors { who: Some(refusal.to_string()), ..LeaveErrors::default() };
            return form_of(app, ctx, (&records, &ms), &v, &errors, StatusCode::UNPROCESSABLE_ENTITY);
        }
        Err(_) => return form_of(app, ctx, (&records, &ms), &v, &LeaveErrors::default(), StatusCode::CONFLICT),
    };
    let practice = app.practice().await?;
    let csrf = ctx.session()?.csrf_token.clone();
    let review = |ctx: &Ctx, message: Option<&str>| {
        let mut carried = v.clone();
        carried.confirm = quote.seen(practice.leaving);
        leave_review(
            &ctx.chrome(app, Some(Section::Memberships)),
            &csrf,
            &ms,
            &records.members,
            &quote,
            &carried,
            practice.leaving,
            message,
        )
    };
    if v.confirm.is_empty() {
        return Ok(html(StatusCode::OK, review(ctx, None)));
    }
    if v.confirm != quote.seen(practice.leaving) {
        let message = "The figures changed since you reviewed them, so nothing was changed. Please check them again.";
        return Ok(html(StatusCode::CONFLICT, review(ctx, Some(message))));
    }
    let by = ctx.owner_session()?.member.clone();
    let reason = reason.unwrap_or(Reason::Other);
    match leaving::leave(app.table.as_ref(), &ms, &quote, reason, &v.note, practice.leaving, &by, app.now()).await? {
        Outcome::Done(next) => {
            let Some(l) = next.leaving.clone() else { return Err(PageError::NotFound) };
            let event = ctx.event(app, l.action(false))?.subject(ms.id.to_string()).detail(describe(&l, &records));
            ctx.record(app, event).await;
            notify_owner(app, &ctx.public_url, &records, &l, false).await;
            let done = if l.status == LeavingStatus::Requested { Done::LeavingRequested } else { Done::LeavingScheduled };
            Ok(portal_web::redirect_done(&Route::Memberships, done))
        }
        Outcome::Changed => {
            let message = "The membership changed while you were reviewing, so nothing was changed. Please check it again.";
            Ok(html(StatusCode::CONFLICT, review(ctx, Some(message))))
        }
    }
}

async fn withdraw(app: &App, ctx: &mut Ctx, id: &MembershipId) -> PageResult {
    let (records, ms) = load(app, ctx, id).await?;
    // Nothing waiting (withdrawn already, in another tab): the page shows where it stands.
    let Some(l) = ms.leaving.clone() else { return Ok(portal_web::redirect(&Route::Memberships)) };
    match leaving::withdraw(app.table.as_ref(), &ms, app.now()).await? {
        Outcome::Done(_) => {
            let event = ctx.event(app, l.action(true))?.subject(ms.id.to_string()).detail(describe(&l, &records));
            ctx.record(app, event).await;
            notify_owner(app, &ctx.public_url, &records, &l, true).await;
            Ok(portal_web::redirect_done(&Route::Memberships, Done::LeavingWithdrawn))
        }
        // Already confirmed by the practice (or withdrawn in another tab): the page shows where it stands.
        Outcome::Changed => Err(PageError::Conflict),
    }
}

/// "Sofia Lopez, covered through Dec 26, 2026 (Moving away)", for the log and the email.
fn describe(l: &Leaving, records: &HouseholdRecords) -> String {
    let who = match &l.member {
        Some(id) => records.member(id).map(|m| m.full_name()).unwrap_or_else(|| id.to_string()),
        None => "The membership".to_owned(),
    };
    format!("{who}, covered through {} ({})", l.effective.format("%b %-d, %Y"), l.reason.label())
}

/// Emails the owner a record of the step; a mail failure does not undo it.
async fn notify_owner(app: &App, public_url: &str, records: &HouseholdRecords, l: &Leaving, withdrawn: bool) {
    let Some(to) = records.household.as_ref().and_then(|h| records.member(&h.owner)).and_then(|m| m.email.clone()) else { return };
    let what = if l.member.is_some() { "removal" } else { "cancellation" };
    let (subject, first) = match (withdrawn, l.status) {
        (true, _) => (format!("Your {what} request was withdrawn"), format!("You withdrew your {what} request. Nothing changes.")),
        (false, LeavingStatus::Requested) => {
            (format!("Your {what} request was sent"), format!("The practice received your {what} request and will confirm it."))
        }
        (false, LeavingStatus::Scheduled) => (format!("Your {what} is confirmed"), format!("Your {what} is confirmed.")),
    };
    let mut lines = vec![first, describe(l, records)];
    if !withdrawn {
        lines.push(format!("No longer billed after that: {} per period.", l.stops));
        if !l.fee.is_zero() {
            lines.push(format!("Early-termination fee under your plan's terms: {}.", l.fee));
        }
        if !l.refund.is_zero() {
            lines.push(format!("Refund of fees paid for days after it: up to {}.", l.refund));
        }
    }
    let link = format!("{public_url}{}", Route::Memberships.path());
    let message = emails::notice(to.as_str(), &app.config.practice_name, &subject, &lines, &link);
    if let Err(e) = app.mailer.send(message).await {
        tracing::warn!(error = %e, "leaving email not sent");
    }
}
