//! The contact-info function: `/members`, `/members/{id}/contact` and `/members/{id}/email` (email
//! preferences), and the one-click unsubscribe of reminders. The owner sees and edits everyone;
//! another member only themselves. Edits never overwrite a concurrent edit, and a new
//! email takes effect only once a code sent to it is entered.

use lambda_http::http::{Method, Response, StatusCode};
use lambda_http::Body;
use portal_domain::access::{self, Shared};
use portal_domain::contact::{self, ContactErrors, EmailChangeOutcome, EmailChangeRequest, UpdateRequest, Updated};
use portal_domain::session::Session;
use portal_domain::signin::{SigninCode, CODE_LIFETIME};
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{Member, MemberId};
use portal_templates::done::Done;
use portal_templates::emails;
use portal_templates::layout::Section;
use portal_templates::members::{contact_page, list_page, preferences_page, unsubscribe_page, BillingSharing, ContactPage, ContactValues};
use portal_templates::routes::{Function, Route};
use portal_web::{html, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::ContactInfo, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::Members, Method::GET) => list(app, ctx).await,
        (Route::MemberContact(id), Method::GET) => show(app, ctx, &id).await,
        (Route::MemberContact(id), Method::POST) if ctx.form.get("code").is_some() => confirm_email(app, ctx, &id).await,
        (Route::MemberContact(id), Method::POST) => save(app, ctx, &id).await,
        (Route::MemberBilling(id), Method::POST) => share_billing(app, ctx, &id).await,
        (Route::EmailPreferences(id), Method::GET) => preferences(app, ctx, &id, None).await,
        (Route::EmailPreferences(id), Method::POST) => save_preferences(app, ctx, &id).await,
        (Route::Unsubscribe(token), Method::GET) => Ok(html(StatusCode::OK, unsubscribe_page(&ctx.chrome(app, None), &token, false))),
        (Route::Unsubscribe(token), Method::POST) => unsubscribe(app, ctx, &token).await,
        _ => Err(PageError::NotFound),
    }
}

/// The members this session may see: everyone for the owner, else only themselves.
fn visible<'a>(session: &Session, records: &'a HouseholdRecords) -> Vec<&'a Member> {
    let viewer = portal_domain::access::Viewer::of(session);
    records.members.iter().filter(|m| viewer.sees_member(&m.id)).collect()
}

async fn load(app: &App, ctx: &Ctx, id: &MemberId) -> Result<(Session, HouseholdRecords, Member), PageError> {
    let session = ctx.session()?.clone();
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    let member = visible(&session, &records).into_iter().find(|m| &m.id == id).cloned().ok_or(PageError::NotFound)?;
    Ok((session, records, member))
}

async fn list(app: &App, ctx: &mut Ctx) -> PageResult {
    let session = ctx.session()?.clone();
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    let info = Done::on(&ctx.route, ctx.query("done")).map(Done::message);
    Ok(members_page(app, ctx, &session, &records, info, None, StatusCode::OK))
}

/// The members this session may see, the owner first, with who handles billing.
fn members_page(
    app: &App,
    ctx: &Ctx,
    session: &Session,
    records: &HouseholdRecords,
    info: Option<&str>,
    message: Option<&str>,
    status: StatusCode,
) -> Response<Body> {
    let mut members: Vec<Member> = visible(session, records).into_iter().cloned().collect();
    // The owner first, then the others as the practice lists them.
    let owner = records.household.as_ref().map(|h| h.owner.clone());
    members.sort_by_key(|m| Some(&m.id) != owner.as_ref());
    let billing = records.household.as_ref().map(|household| BillingSharing {
        household,
        csrf_token: access::Viewer::of(session).manages_household().then_some(session.csrf_token.as_str()),
        today: app.today(),
    });
    html(status, list_page(&ctx.chrome(app, Some(Section::Members)), &members, &session.member, info, message, billing.as_ref()))
}

/// The owner shares the household's billing with another adult member (`share=1`), or stops
/// (`share=0`); recorded in the activity log. For anyone else the route does not exist.
async fn share_billing(app: &App, ctx: &mut Ctx, id: &MemberId) -> PageResult {
    let session = ctx.owner_session()?.clone();
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    let household = records.household.as_ref().ok_or(PageError::NotFound)?;
    let member = records.member(id).ok_or(PageError::NotFound)?;
    let share = match ctx.form.text("share") {
        "1" => true,
        "0" => false,
        _ => return Err(PageError::BadRequest("The form was incomplete. Open the members page again and retry.")),
    };
    match access::share_billing(app.table.as_ref(), household, member, share, app.today()).await? {
        Ok(Shared::Changed) => {
            let action = if share { "billing.shared" } else { "billing.unshared" };
            let event = ctx.event(app, action)?.subject(member.id.to_string()).detail(member.full_name());
            ctx.record(app, event).await;
        }
        Ok(Shared::Unchanged) => {}
        Err(why) => return Ok(members_page(app, ctx, &session, &records, None, Some(why), StatusCode::UNPROCESSABLE_ENTITY)),
    }
    Ok(portal_web::redirect_done(&Route::Members, if share { Done::BillingShared } else { Done::BillingStopped }))
}

struct View<'a> {
    values: ContactValues,
    errors: ContactErrors,
    message: Option<&'a str>,
    info: Option<&'a str>,
    code_error: Option<String>,
}

/// Renders the contact form. With the household's records at hand (the GET), the pending email change
/// comes from the same query, keeping the page at two table requests.
async fn render(
    app: &App,
    ctx: &Ctx,
    records: Option<&HouseholdRecords>,
    member: &Member,
    view: View<'_>,
    status: StatusCode,
) -> PageResult {
    let practice = app.practice().await?;
    let pending = match records {
        Some(records) => contact::pending_email_in(records, member, app.now())?,
        None => contact::pending_email(app.table.as_ref(), member, app.now()).await?,
    };
    let csrf = ctx.session()?.csrf_token.clone();
    let page = ContactPage {
        member,
        practice: &practice,
        csrf_token: &csrf,
        version: member.version,
        values: &view.values,
        errors: &view.errors,
        message: view.message,
        info: view.info,
        pending_email: pending.as_ref(),
        code_error: view.code_error.as_deref(),
        email_editable: contact::may_change_email(&ctx.session()?.member, member),
    };
    Ok(html(status, contact_page(&ctx.chrome(app, Some(Section::Members)), &page)))
}

fn done(id: &MemberId, what: Done) -> Response<Body> {
    portal_web::redirect_done(&Route::MemberContact(id.clone()), what)
}

async fn show(app: &App, ctx: &mut Ctx, id: &MemberId) -> PageResult {
    let (_, records, member) = load(app, ctx, id).await?;
    let info = Done::on(&ctx.route, ctx.query("done")).map(Done::message);
    let view = View { values: ContactValues::of(&member), errors: ContactErrors::default(), message: None, info, code_error: None };
    render(app, ctx, Some(&records), &member, view, StatusCode::OK).await
}

const ONLY_THEY_CHANGE_EMAIL: &str = "Only the member can change the address they sign in with, signed in as themselves, or the practice.";

const STALE: &str = "Someone changed these details while you were editing. The current details are shown: make your changes again.";

async fn save(app: &App, ctx: &mut Ctx, id: &MemberId) -> PageResult {
    let (session, records, member) = load(app, ctx, id).await?;
    let typed: ContactValues = ctx.form.decode();
    let form_version: u64 =
        ctx.form.text("version").parse().map_err(|_| PageError::BadRequest("The form was incomplete. Open it again."))?;
    let request = UpdateRequest {
        editor: &session.member,
        member: &member,
        member_is_owner: records.household.as_ref().is_some_and(|h| h.owner == member.id),
        form_version,
        input: typed.input(),
        email_sent: ctx.form.get("email").is_some(),
    };
    let event = |action: &str| ctx.event_by(app, &session, action);
    // A code goes only to a free address: the answer takes the floor either way.
    let started = tokio::time::Instant::now();
    let updated = contact::update(app.table.as_ref(), &app.config.secret, app.random.as_ref(), app.now(), request, &event).await?;
    let view = |values, errors, message| View { values, errors, message: Some(message), info: None, code_error: None };
    match updated {
        Updated::Saved(_) => Ok(done(id, Done::Saved)),
        Updated::EmailRemoved(_) => {
            address_changed(app, ctx, &member).await?;
            Ok(done(id, Done::Saved))
        }
        Updated::EmailChange { email, request, .. } => {
            if let EmailChangeRequest::CodeIssued { code, deliver: true } = request {
                // An address another member holds gets no code, and the answer is the same:
                // the portal does not say whose an address is.
                let message =
                    emails::email_change_code(email.as_str(), &app.config.practice_name, code.expose(), CODE_LIFETIME.num_minutes());
                app.mailer.send(message).await?;
            }
            app.pace(started).await;
            Ok(done(id, Done::Verify))
        }
        Updated::Invalid(errors) => {
            // What was typed, but an address the form shows as text (not a field) as it is.
            let mut shown = typed.clone();
            if !contact::may_change_email(&session.member, &member) {
                shown.email = member.email.as_ref().map(ToString::to_string).unwrap_or_default();
            }
            let message = if errors.email.as_deref() == Some(contact::OWNER_KEEPS_EMAIL) {
                "Nothing was saved."
            } else {
                "Please correct the highlighted fields. Nothing was saved."
            };
            render(app, ctx, None, &member, view(shown, errors, message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Updated::EmailNotTheirs => {
            let errors = ContactErrors { email: Some(ONLY_THEY_CHANGE_EMAIL.into()), ..Default::default() };
            render(app, ctx, None, &member, view(ContactValues::of(&member), errors, "Nothing was saved."), StatusCode::FORBIDDEN).await
        }
        Updated::Stale => {
            let fresh = load(app, ctx, id).await?.2;
            render(app, ctx, None, &fresh, view(ContactValues::of(&fresh), ContactErrors::default(), STALE), StatusCode::CONFLICT).await
        }
    }
}

/// After a member's sign-in address changed or was removed (see `contact::address_changed`):
/// this session stays if it is theirs.
async fn address_changed(app: &App, ctx: &Ctx, member: &Member) -> Result<(), PageError> {
    let keep = ctx.session.as_ref().filter(|(_, s)| s.member == member.id).map(|(token, _)| token);
    Ok(contact::address_changed(app.table.as_ref(), &app.config.secret, member, keep, app.now()).await?)
}

async fn confirm_email(app: &App, ctx: &mut Ctx, id: &MemberId) -> PageResult {
    let (session, _, member) = load(app, ctx, id).await?;
    // Checked again: the member may have been given an address since the change was asked for.
    if !contact::may_change_email(&session.member, &member) {
        let errors = ContactErrors { email: Some(ONLY_THEY_CHANGE_EMAIL.into()), ..Default::default() };
        let view = View { values: ContactValues::of(&member), errors, message: Some("Nothing was changed."), info: None, code_error: None };
        return render(app, ctx, None, &member, view, StatusCode::FORBIDDEN).await;
    }
    let view = |code_error: String| View {
        values: ContactValues::of(&member),
        errors: ContactErrors::default(),
        message: None,
        info: None,
        code_error: Some(code_error),
    };
    let code = match SigninCode::parse(ctx.form.text("code")) {
        Ok(c) => c,
        Err(e) => return render(app, ctx, None, &member, view(e.to_string()), StatusCode::UNPROCESSABLE_ENTITY).await,
    };
    let mut event = ctx.event(app, "email.changed")?;
    event.subject = Some(member.id.to_string());
    event.fields = vec!["email".into()];
    match contact::confirm_email_change(app.table.as_ref(), &app.config.secret, app.now(), &member, &code, &event).await? {
        EmailChangeOutcome::Changed { old, new } => {
            address_changed(app, ctx, &member).await?;
            if let Some(old) = old {
                let lines = [
                    format!(
                        "The sign-in email for {} at {} was changed to {}.",
                        member.full_name(),
                        app.config.practice_name,
                        new.masked()
                    ),
                    "If you did not make this change, call the practice right away.".to_owned(),
                ];
                let link = format!("{}{}", ctx.public_url, Route::SignIn.path());
                let notice = emails::notice(old.as_str(), &app.config.practice_name, "Your sign-in email was changed", &lines, &link);
                if let Err(e) = app.mailer.send(notice).await {
                    tracing::warn!(error = %e, "email change notice not sent");
                }
            }
            Ok(done(id, Done::EmailChanged))
        }
        EmailChangeOutcome::Wrong { tries_left } => {
            let message = format!("That code is not right. You have {tries_left} more tr{}.", if tries_left == 1 { "y" } else { "ies" });
            render(app, ctx, None, &member, view(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        EmailChangeOutcome::Expired => {
            let message = "That code has expired or was used up. Save the new email again to get a new code.".to_owned();
            render(app, ctx, None, &member, view(message), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        EmailChangeOutcome::Taken => {
            render(app, ctx, None, &member, view("That address was taken by another member meanwhile.".into()), StatusCode::CONFLICT).await
        }
        EmailChangeOutcome::Stale => render(app, ctx, None, &member, view(STALE.into()), StatusCode::CONFLICT).await,
    }
}

/// A member's email preferences: their own inbox, so only they set them (as only they change
/// their sign-in address); for anyone else the page does not exist.
async fn own_preferences(app: &App, ctx: &Ctx, id: &MemberId) -> Result<(Session, HouseholdRecords, Member), PageError> {
    let (session, records, member) = load(app, ctx, id).await?;
    if !access::Viewer::of(&session).sets_preferences_of(id) {
        return Err(PageError::NotFound);
    }
    Ok((session, records, member))
}

async fn preferences(app: &App, ctx: &mut Ctx, id: &MemberId, info: Option<&str>) -> PageResult {
    let (session, records, member) = own_preferences(app, ctx, id).await?;
    let page = preferences_page(&ctx.chrome(app, Some(Section::Members)), &session.csrf_token, &member, records.wants_reminders(id), info);
    Ok(html(StatusCode::OK, page))
}

async fn save_preferences(app: &App, ctx: &mut Ctx, id: &MemberId) -> PageResult {
    let (session, _, member) = own_preferences(app, ctx, id).await?;
    let on = match ctx.form.text("reminders") {
        "on" => true,
        "off" => false,
        _ => return Err(PageError::BadRequest("Choose whether to get reminders.")),
    };
    app.table.write(portal_domain::preferences::set_reminders(&session.account, &member.id, on)?).await?;
    let action = if on { "reminders.on" } else { "reminders.off" };
    let event = ctx.event(app, action)?.subject(member.id.to_string()).detail(member.full_name());
    ctx.record(app, event).await;
    let info =
        if on { "Saved: reminders are on." } else { "Saved: no reminders. Receipts, security notices and sign-in codes still come." };
    preferences(app, ctx, id, Some(info)).await
}

/// The one-click unsubscribe (RFC 8058): the signed token says whose reminders stop; nothing
/// else changes. A token the portal did not sign is not found.
async fn unsubscribe(app: &App, ctx: &mut Ctx, token: &str) -> PageResult {
    let (account, member) = portal_domain::preferences::read_unsubscribe_token(&app.config.secret, token).ok_or(PageError::NotFound)?;
    let stored = app.table.get(&store::member_key(&account, &member)).await?;
    if stored.is_none() {
        return Err(PageError::NotFound);
    }
    app.table.write(portal_domain::preferences::set_reminders(&account, &member, false)?).await?;
    let event =
        portal_domain::audit::AuditEvent::new(app.random.as_ref(), &account, None, "reminders.unsubscribed", app.now(), &ctx.client_ip)
            .subject(member.to_string());
    ctx.record(app, event).await;
    Ok(html(StatusCode::OK, unsubscribe_page(&ctx.chrome(app, None), token, true)))
}
