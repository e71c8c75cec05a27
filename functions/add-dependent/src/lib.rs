//! The add-dependent function: `/memberships/{id}/dependents/new` (details, then the quote) and
//! `/memberships/{id}/dependents/confirm`. The dependent starts on the next bill date; the same
//! confirmation submitted twice adds one member.

use lambda_http::http::{Method, Response, StatusCode};
use lambda_http::Body;
use portal_domain::contact::{self, EmailChangeRequest};
use portal_domain::enrol::{self, DependentErrors, EnrolOutcome, NewDependent};
use portal_domain::ports::random_token;
use portal_domain::signin::CODE_LIFETIME;
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{Membership, MembershipId};
use portal_templates::done::Done;
use portal_templates::emails;
use portal_templates::layout::Section;
use portal_templates::memberships::{dependent_form, quote_page, DependentValues};
use portal_templates::routes::{Function, Route};
use portal_web::{html, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::AddDependent, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::NewDependent(id), Method::GET) => form(app, ctx, &id).await,
        (Route::NewDependent(id), Method::POST) => quote(app, ctx, &id).await,
        (Route::ConfirmDependent(id), Method::POST) => confirm(app, ctx, &id).await,
        _ => Err(PageError::NotFound),
    }
}

/// The owner's household and an active membership with a next bill date; only the owner adds members.
async fn load(app: &App, ctx: &Ctx, id: &MembershipId) -> Result<(HouseholdRecords, Membership), PageError> {
    let session = ctx.owner_session()?;
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    let ms = records.memberships.iter().find(|m| &m.id == id).cloned().ok_or(PageError::NotFound)?;
    if !ms.accepts_new_members(app.today()) {
        return Err(PageError::Forbidden(Some("New members can be added only to an active membership.")));
    }
    Ok((records, ms))
}

fn parse(v: &DependentValues, app: &App) -> Result<NewDependent, DependentErrors> {
    NewDependent::parse(v.input(), app.today())
}

fn form_page(
    app: &App,
    ctx: &Ctx,
    ms: &Membership,
    v: &DependentValues,
    e: &DependentErrors,
    message: Option<&str>,
    status: StatusCode,
) -> PageResult {
    let csrf = ctx.session()?.csrf_token.clone();
    Ok(html(status, dependent_form(&ctx.chrome(app, Some(Section::Memberships)), &csrf, ms, v, e, message)))
}

async fn form(app: &App, ctx: &mut Ctx, id: &MembershipId) -> PageResult {
    let (_, ms) = load(app, ctx, id).await?;
    form_page(app, ctx, &ms, &DependentValues::default(), &DependentErrors::default(), None, StatusCode::OK)
}

async fn quote(app: &App, ctx: &mut Ctx, id: &MembershipId) -> PageResult {
    let (records, ms) = load(app, ctx, id).await?;
    let v: DependentValues = ctx.form.decode();
    if ctx.form.get("change").is_some() {
        // "Change details" on the price page: the form again, as it was filled in.
        return form_page(app, ctx, &ms, &v, &DependentErrors::default(), None, StatusCode::OK);
    }
    let dependent = match parse(&v, app) {
        Ok(d) => d,
        Err(e) => {
            return form_page(app, ctx, &ms, &v, &e, Some("Please correct the highlighted fields."), StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    if enrol::already_enrolled(&ms, &records.members, &dependent, app.today()) {
        let message = format!("{} {} is already on this membership.", dependent.first_name, dependent.last_name);
        return form_page(app, ctx, &ms, &v, &DependentErrors::default(), Some(&message), StatusCode::CONFLICT);
    }
    let renewed_into = ms.renewed_by.as_ref().and_then(|next| records.memberships.iter().find(|m| &m.id == next));
    let q = enrol::quote(&ms, &records.members, &dependent, renewed_into, app.today())
        .ok_or(PageError::Forbidden(Some("New members can be added only to an active membership.")))?;
    let key = enrol::enrolment_key(&app.config.secret, &ms, &dependent, &random_token(app.random.as_ref(), 16));
    let csrf = ctx.session()?.csrf_token.clone();
    Ok(html(StatusCode::OK, quote_page(&ctx.chrome(app, Some(Section::Memberships)), &csrf, &ms, &v, &q, &key)))
}

async fn confirm(app: &App, ctx: &mut Ctx, id: &MembershipId) -> PageResult {
    let (records, ms) = load(app, ctx, id).await?;
    let v: DependentValues = ctx.form.decode();
    // The hidden fields are parsed again: nothing from the quote page is trusted as is.
    let dependent = match parse(&v, app) {
        Ok(d) => d,
        Err(e) => {
            return form_page(app, ctx, &ms, &v, &e, Some("Please correct the highlighted fields."), StatusCode::UNPROCESSABLE_ENTITY)
        }
    };
    // The new member's id comes from the confirmation the quote page was given, which holds for
    // exactly the details it quoted.
    let member_id = enrol::enrolled_member_id(&app.config.secret, &ms, &dependent, ctx.form.text("enrolment_key"))
        .ok_or(PageError::BadRequest("The confirmation was incomplete. Start again."))?;
    let renewed_into = ms.renewed_by.as_ref().and_then(|next| records.memberships.iter().find(|m| &m.id == next));
    let q = enrol::quote(&ms, &records.members, &dependent, renewed_into, app.today())
        .ok_or(PageError::Forbidden(Some("New members can be added only to an active membership.")))?;
    let address = records.household.as_ref().and_then(|h| h.billing_address.clone());
    match enrol::enrol(app.table.as_ref(), &ms, &dependent, member_id, address, &q, renewed_into, app.now()).await? {
        EnrolOutcome::Enrolled(member) => {
            let event = ctx.event(app, "dependent.added")?.subject(member.id.to_string()).detail(member.full_name());
            ctx.record(app, event).await;
            notify_owner(app, &ctx.public_url, &records, &member.full_name(), &q).await;
            match &dependent.email {
                Some(email) => confirm_address(app, &member, email).await,
                None => Ok(done()),
            }
        }
        EnrolOutcome::AlreadyEnrolled => Ok(done()),
        EnrolOutcome::Changed => form_page(
            app,
            ctx,
            &ms,
            &v,
            &DependentErrors::default(),
            Some("The membership changed in the meantime. Check the details and see the price again."),
            StatusCode::CONFLICT,
        ),
    }
}

/// An address typed for the new member is theirs once the code sent to it is entered on their
/// contact page, as for any new address: whether someone else holds it is never said.
async fn confirm_address(app: &App, member: &portal_domain::Member, email: &portal_domain::Email) -> PageResult {
    // A code goes only to a free address: the answer takes the floor either way.
    let started = tokio::time::Instant::now();
    match contact::request_email_change(app.table.as_ref(), &app.config.secret, app.random.as_ref(), app.now(), member, email).await? {
        EmailChangeRequest::CodeIssued { code, deliver } => {
            let message = emails::email_change_code(email.as_str(), &app.config.practice_name, code.expose(), CODE_LIFETIME.num_minutes());
            if deliver {
                app.mailer.send(message).await?;
            }
        }
        EmailChangeRequest::TooSoon => {}
    }
    app.pace(started).await;
    Ok(portal_web::redirect_done(&Route::MemberContact(member.id.clone()), Done::AddedVerify))
}

fn done() -> Response<Body> {
    portal_web::redirect_done(&Route::Memberships, Done::Added)
}

async fn notify_owner(app: &App, public_url: &str, records: &HouseholdRecords, name: &str, q: &enrol::Quote) {
    let Some(to) = records.household.as_ref().and_then(|h| records.member(&h.owner)).and_then(|m| m.email.clone()) else { return };
    let lines = [
        format!("{name} was added to your membership."),
        format!("They join on {} at {}; your new amount from that date is {}.", q.start.format("%b %-d, %Y"), q.new_rate, q.total_after),
    ];
    let link = format!("{public_url}{}", Route::Memberships.path());
    let message = emails::notice(to.as_str(), &app.config.practice_name, "A new member was added to your membership", &lines, &link);
    if let Err(e) = app.mailer.send(message).await {
        tracing::warn!(error = %e, "dependent email not sent");
    }
}
