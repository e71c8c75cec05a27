//! The sign-in function: `/`, `/sign-in`, `/sign-in/code`, `/access/{token}`, `/sign-out`, and the
//! account's security pages: `/activity`, `/devices`, `/devices/sign-out-others`.
//!
//! Known and unknown addresses take the same path and get the same answer; only a known
//! address is mailed its code.

use lambda_http::http::{Method, StatusCode};
use portal_domain::audit::{self, AuditEvent};
use portal_domain::session::{self, SessionFor, Token};
use portal_domain::signin::{self, Channel, CodeCheck, CodeRequest, SigninCode, CODE_LIFETIME};
use portal_domain::{store, AccountId, Email, MemberId};
use portal_templates::layout::Section;
use portal_templates::routes::{Function, Route};
use portal_templates::security::{self, EventRow, EVENTS_PER_PAGE};
use portal_templates::{emails, signin as pages};
use portal_web::cookies::PreSession;
use portal_web::{html, landing, redirect, redirect_with_query, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::SignIn, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::Home, Method::GET) => Ok(redirect(&ctx.session.as_ref().map_or(Route::SignIn, |(_, s)| landing(s)))),
        (Route::SignIn, Method::GET) => sign_in_form(app, ctx),
        (Route::SignIn, Method::POST) => sign_in_submit(app, ctx).await,
        (Route::Access(token), Method::GET) => access_page(app, ctx, &token).await,
        (Route::Access(token), Method::POST) => access_submit(app, ctx, &token).await,
        (Route::SignInCode, Method::GET) => code_form(app, ctx),
        (Route::SignInCode, Method::POST) => code_submit(app, ctx).await,
        (Route::SignOut, Method::POST) => sign_out(app, ctx).await,
        (Route::Activity, Method::GET) => activity(app, ctx).await,
        (Route::Devices, Method::GET) => devices(app, ctx).await,
        (Route::SignOutOthers, Method::POST) => sign_out_others(app, ctx).await,
        _ => Err(PageError::NotFound),
    }
}

fn sign_in_form(app: &App, ctx: &mut Ctx) -> PageResult {
    if let Some((_, session)) = &ctx.session {
        return Ok(redirect(&landing(session)));
    }
    let csrf = ctx.csrf_token(app);
    Ok(html(StatusCode::OK, pages::email_page(&ctx.chrome(app, None), &csrf, "", None, None)))
}

async fn sign_in_submit(app: &App, ctx: &mut Ctx) -> PageResult {
    let typed = ctx.form.text("email").to_owned();
    let email = match Email::parse(&typed) {
        Ok(email) => email,
        Err(e) => {
            let csrf = ctx.csrf_token(app);
            let page = pages::email_page(&ctx.chrome(app, None), &csrf, &typed, Some(&e.to_string()), None);
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    match send_code(app, ctx, &email, Channel::Typed, None).await? {
        Sent::Yes | Sent::TooSoon => Ok(redirect(&Route::SignInCode)),
        Sent::Refused(message) => {
            let csrf = ctx.csrf_token(app);
            let page = pages::email_page(&ctx.chrome(app, None), &csrf, &typed, Some(&message), None);
            Ok(html(StatusCode::TOO_MANY_REQUESTS, page))
        }
    }
}

enum Sent {
    Yes,
    TooSoon,
    /// Too many codes asked for, or too many wrong ones entered: why, for the page.
    Refused(String),
}

/// Issues a code and mails it to a known address; remembers in the pre-session which address it
/// was. Known and unknown addresses, and a send the mail service refused, get the same answer in
/// the same time: it takes at least `code_send_floor`, which is more than a send takes.
async fn send_code(app: &App, ctx: &mut Ctx, email: &Email, channel: Channel, landing: Option<String>) -> Result<Sent, PageError> {
    let started = tokio::time::Instant::now();
    let sent = issue_and_send(app, ctx, email, channel, landing).await;
    app.pace(started).await;
    sent
}

async fn issue_and_send(app: &App, ctx: &mut Ctx, email: &Email, channel: Channel, landing: Option<String>) -> Result<Sent, PageError> {
    let now = app.now();
    let outcome = signin::request_code(app.table.as_ref(), &app.config.secret, app.random.as_ref(), now, email, channel).await?;
    let (sent, signin_id) = match outcome {
        CodeRequest::Issued { code, member, signin_id } => {
            // The message is rendered either way so both paths do the same work; only a member gets it.
            let message = emails::signin_code(email.as_str(), &app.config.practice_name, code.expose(), CODE_LIFETIME.num_minutes());
            if member.is_some() {
                if let Err(e) = app.mailer.send(message).await {
                    // The same answer as a sent code (an error page would say the address is known):
                    // the send is taken back, so "send a new code" works at once.
                    tracing::error!(error = %e, request_id = %ctx.request_id, "a sign-in code could not be mailed");
                    signin::cancel_send(app.table.as_ref(), &signin_id, now, now).await?;
                }
            }
            (Sent::Yes, signin_id)
        }
        CodeRequest::TooSoon { signin_id, .. } => (Sent::TooSoon, signin_id),
        CodeRequest::TooMany { signin_id, retry_after } => {
            let minutes = (retry_after.num_seconds() + 59) / 60;
            let message = format!(
                "Too many codes were requested for this address. Try again in {minutes} minute{}.",
                if minutes == 1 { "" } else { "s" }
            );
            (Sent::Refused(message), signin_id)
        }
        CodeRequest::Locked { signin_id, until } => (Sent::Refused(locked_message(app, until)), signin_id),
    };
    let nonce = ctx.csrf_token(app);
    let pre = PreSession { nonce, signin_id: Some(signin_id), masked_email: Some(email.masked()), issued: now.timestamp(), landing };
    ctx.set_pre(app, pre);
    Ok(sent)
}

/// The page a reminder's link lands on: the link's own landing, when the URL names that same
/// page of the route table. Any other `to` (tampered with, or an outside address) lands nowhere
/// special: the member starts on their usual page.
fn link_landing(link: &session::AccessLink, to: Option<&str>) -> Option<String> {
    let to = to?;
    (link.landing.as_deref() == Some(to) && Route::landing_from(to).is_some()).then(|| to.to_owned())
}

async fn access_page(app: &App, ctx: &mut Ctx, token: &str) -> PageResult {
    let Some(link) = live_link(app, token).await? else {
        return Ok(html(StatusCode::NOT_FOUND, pages::access_invalid_page(&ctx.chrome(app, None))));
    };
    let landing = link_landing(&link, ctx.query("to"));
    let csrf = ctx.csrf_token(app);
    Ok(html(StatusCode::OK, pages::access_page(&ctx.chrome(app, None), &csrf, token, landing.as_deref(), &link.email.masked(), None)))
}

async fn access_submit(app: &App, ctx: &mut Ctx, token: &str) -> PageResult {
    let Some(link) = live_link(app, token).await? else {
        return Ok(html(StatusCode::NOT_FOUND, pages::access_invalid_page(&ctx.chrome(app, None))));
    };
    let landing = link_landing(&link, Some(ctx.form.text("to")).filter(|t| !t.is_empty()));
    match send_code(app, ctx, &link.email, Channel::AccessLink, landing.clone()).await? {
        Sent::Yes | Sent::TooSoon => Ok(redirect(&Route::SignInCode)),
        Sent::Refused(message) => {
            let csrf = ctx.csrf_token(app);
            let page = pages::access_page(&ctx.chrome(app, None), &csrf, token, landing.as_deref(), &link.email.masked(), Some(&message));
            Ok(html(StatusCode::TOO_MANY_REQUESTS, page))
        }
    }
}

async fn live_link(app: &App, token: &str) -> Result<Option<session::AccessLink>, PageError> {
    let Some(token) = Token::parse(token) else {
        return Ok(None);
    };
    Ok(session::access_link(app.table.as_ref(), app.now(), &token).await?)
}

/// The pre-session of a visitor who asked for a code: its sign-in record and masked address.
fn pending_signin(ctx: &Ctx) -> Option<(String, String)> {
    let pre = ctx.pre.as_ref()?;
    Some((pre.signin_id.clone()?, pre.masked_email.clone()?))
}

fn code_form(app: &App, ctx: &mut Ctx) -> PageResult {
    if let Some((_, session)) = &ctx.session {
        return Ok(redirect(&landing(session)));
    }
    let Some((_, masked)) = pending_signin(ctx) else {
        return Ok(redirect(&Route::SignIn));
    };
    let csrf = ctx.csrf_token(app);
    Ok(html(StatusCode::OK, pages::code_page(&ctx.chrome(app, None), &csrf, &masked, None, None)))
}

async fn code_submit(app: &App, ctx: &mut Ctx) -> PageResult {
    let Some((signin_id, masked)) = pending_signin(ctx) else {
        return Ok(redirect(&Route::SignIn));
    };
    let error = match SigninCode::parse(ctx.form.text("code")) {
        Err(e) => e.to_string(),
        Ok(code) => match signin::check_code(app.table.as_ref(), &app.config.secret, app.now(), &signin_id, &code).await? {
            CodeCheck::SignedIn { account, member } => match start_session(app, ctx, account, member, &signin_id).await? {
                Some(page) => return Ok(page),
                // The address is no longer the member's (changed since the code was sent).
                None => "That code has expired or was already used. Request a new code.".to_owned(),
            },
            CodeCheck::Wrong { tries_left, holder } => {
                failed_attempt(app, ctx, "signin.failed", holder).await;
                format!("That code is not right. You have {tries_left} more tr{}.", if tries_left == 1 { "y" } else { "ies" })
            }
            CodeCheck::Expired => "That code has expired or was already used. Request a new code.".to_owned(),
            CodeCheck::TooManyTries { holder, just_now } => {
                // Recorded once, when the code locks: tries after that cannot fill the activity page.
                if just_now {
                    failed_attempt(app, ctx, "signin.locked", holder).await;
                }
                "Too many wrong codes. This code no longer works: request a new code.".to_owned()
            }
            CodeCheck::Locked { holder, until, just_now } => {
                if just_now {
                    // Only a member is warned (a read and a send): the answer takes the floor either way.
                    let started = tokio::time::Instant::now();
                    failed_attempt(app, ctx, "signin.paused", holder.clone()).await;
                    warn_member(app, ctx, holder, until).await;
                    app.pace(started).await;
                }
                locked_message(app, until)
            }
        },
    };
    let csrf = ctx.csrf_token(app);
    Ok(html(StatusCode::UNPROCESSABLE_ENTITY, pages::code_page(&ctx.chrome(app, None), &csrf, &masked, Some(&error), None)))
}

/// A new session at every sign-in; any session this browser had before ends.
/// Starts a session for the member a code was for, if the address the code went to is still
/// theirs: a code sent to an address that has since changed (in the portal or by an import) signs
/// no one in. `None` when it is not.
async fn start_session(
    app: &App,
    ctx: &mut Ctx,
    account: portal_domain::AccountId,
    member: portal_domain::MemberId,
    signin_id: &str,
) -> Result<Option<lambda_http::Response<lambda_http::Body>>, PageError> {
    let person = app.table.get(&store::member_key(&account, &member)).await?;
    let person: Option<portal_domain::Member> = person.as_ref().map(store::record_of).transpose()?;
    let Some(person) = person else {
        return Err(PageError::NotFound);
    };
    let still_theirs = person.email.as_ref().is_some_and(|email| {
        [Channel::Typed, Channel::AccessLink].iter().any(|c| signin::signin_id(&app.config.secret, email, *c) == signin_id)
    });
    if !still_theirs {
        return Ok(None);
    }
    if let Some((old, _)) = ctx.session.take() {
        session::end(app.table.as_ref(), &old).await?;
    }
    let household = app.table.get(&store::household_key(&account)).await?;
    let household: Option<portal_domain::Household> = household.as_ref().map(store::record_of).transpose()?;
    let Some(household) = household else {
        return Err(PageError::NotFound);
    };
    let who = SessionFor {
        is_owner: household.owner == member,
        handles_billing: household.owner == member || household.billing_shared_with.contains(&member),
        display_name: person.full_name(),
        account,
        member,
        device: audit::device_of(&ctx.user_agent),
        ip: ctx.client_ip.clone(),
    };
    let (token, session) = session::start(app.table.as_ref(), app.random.as_ref(), app.now(), who).await?;
    ctx.record(app, ctx.event_by(app, &session, "signin.succeeded")).await;
    // A reminder's link lands on its page; checked again here, as the pre-session carried it.
    let to = ctx.pre.as_ref().and_then(|p| p.landing.as_deref()).and_then(Route::landing_from);
    ctx.set_session(app, &token);
    Ok(Some(redirect(&to.unwrap_or_else(|| landing(&session)))))
}

/// A wrong code, or the try that locked it: recorded on the household whose code it was, as done
/// by someone not signed in, about the member the code was for. For an address no member has the
/// same write goes to a partition of its own, so the answer takes the same work either way. The
/// patient's answer does not depend on it: a failed write is logged.
async fn failed_attempt(app: &App, ctx: &Ctx, action: &str, holder: Option<(AccountId, MemberId)>) {
    let account = holder.as_ref().map_or_else(|| AccountId::parse("unknown").expect("a valid id"), |(a, _)| a.clone());
    let mut event =
        AuditEvent::new(app.random.as_ref(), &account, None, action, app.now(), &ctx.client_ip).device(audit::device_of(&ctx.user_agent));
    if let Some((_, member)) = &holder {
        event = event.subject(member.to_string());
    }
    let write = if holder.is_some() { event.write() } else { event.write_unattributed() };
    ctx.record_write(app, action, write).await;
}

/// Why codes are no longer sent to a typed address: the same words whether or not it is a member's.
fn locked_message(app: &App, until: chrono::DateTime<chrono::Utc>) -> String {
    let at = until.with_timezone(&app.config.time_zone).format("%b %-d at %-I:%M %p");
    format!(
        "Too many wrong codes were entered for this address, so sign-in by typing it is paused until {at}. \
         The sign-in link your practice emailed you still works, or call the practice."
    )
}

/// Tells the member, once, that someone spent their address's wrong-code budget.
async fn warn_member(app: &App, ctx: &Ctx, holder: Option<(AccountId, MemberId)>, until: chrono::DateTime<chrono::Utc>) {
    let Some((account, member)) = holder else { return };
    let person = match app.table.get(&store::member_key(&account, &member)).await {
        Ok(Some(item)) => store::record_of::<portal_domain::Member>(&item).ok(),
        _ => None,
    };
    let Some(to) = person.and_then(|p| p.email) else { return };
    let at = until.with_timezone(&app.config.time_zone).format("%b %-d at %-I:%M %p");
    let lines = [
        format!("Someone entered too many wrong sign-in codes for your address at {}.", app.config.practice_name),
        format!("Signing in by typing your email is paused until {at}. The sign-in link the practice sent you still works."),
        "If this was not you, nothing is needed: no one signed in. If it keeps happening, call the practice.".to_owned(),
    ];
    let link = format!("{}{}", ctx.public_url, Route::SignIn.path());
    let notice = emails::notice(to.as_str(), &app.config.practice_name, "Too many wrong sign-in codes", &lines, &link);
    if let Err(e) = app.mailer.send(notice).await {
        tracing::warn!(error = %e, "the wrong-code notice was not sent");
    }
}

async fn sign_out(app: &App, ctx: &mut Ctx) -> PageResult {
    if ctx.session.is_some() {
        let event = ctx.event(app, "signout")?;
        ctx.record(app, event).await;
    }
    if let Some((token, _)) = ctx.session.take() {
        session::end(app.table.as_ref(), &token).await?;
    }
    ctx.clear_session(app);
    Ok(redirect(&Route::SignIn))
}

/// The household's activity for the owner; a member sees what they did themselves.
async fn activity(app: &App, ctx: &mut Ctx) -> PageResult {
    let session = ctx.session()?.clone();
    // A link from an older page (a damaged one starts from the newest).
    let before = ctx.query("before").and_then(audit::Cursor::parse);
    // The owner sees every event: a page and one more (to know there are older ones) is one
    // stretch of the log, however long the history. Another member sees what they did and what
    // concerned them, so their page reads on until it has a page of those (and a link only ever
    // names one of their own events, never a place among events they may not see).
    let stretch = if session.is_owner { EVENTS_PER_PAGE + 1 } else { usize::MAX };
    let events = audit::newest(app.table.as_ref(), &session.account, before.as_ref(), stretch).await?;
    let viewer = portal_domain::access::Viewer::of(&session);
    let visible: Vec<&(audit::Cursor, AuditEvent)> =
        events.iter().filter(|(_, e)| viewer.sees_event(e)).take(EVENTS_PER_PAGE + 1).collect();
    let older = (visible.len() > EVENTS_PER_PAGE).then(|| visible[EVENTS_PER_PAGE - 1].0.text());
    let shown: Vec<&AuditEvent> = visible.iter().take(EVENTS_PER_PAGE).map(|(_, e)| e).collect();
    let rows: Vec<EventRow<'_>> = shown
        .iter()
        .map(|event| EventRow {
            event,
            who: match (&event.actor, &event.actor_name) {
                (Some(_), Some(name)) => name.clone(),
                (Some(_), None) => "A member of the household".to_owned(),
                (None, _) => "Someone not signed in".to_owned(),
            },
        })
        .collect();
    let markup = security::activity_page(
        &ctx.chrome(app, Some(Section::Activity)),
        app.config.time_zone,
        &rows,
        before.is_none(),
        older.as_deref(),
        session.is_owner,
    );
    Ok(html(StatusCode::OK, markup))
}

async fn devices(app: &App, ctx: &mut Ctx) -> PageResult {
    let Some((token, session)) = &ctx.session else { return Err(PageError::SignInRequired) };
    let devices = session::devices(app.table.as_ref(), app.now(), token, &session.account, &session.member).await?;
    let ended = ctx.query("ended").and_then(|n| n.parse().ok());
    let markup =
        security::devices_page(&ctx.chrome(app, Some(Section::Activity)), app.config.time_zone, &session.csrf_token, &devices, ended);
    Ok(html(StatusCode::OK, markup))
}

async fn sign_out_others(app: &App, ctx: &mut Ctx) -> PageResult {
    let Some((token, session)) = &ctx.session else { return Err(PageError::SignInRequired) };
    let ended = session::end_others(app.table.as_ref(), app.now(), token, &session.account, &session.member).await?;
    let event = ctx.event(app, "sessions.ended-others")?.detail(format!("{ended} other device{}", if ended == 1 { "" } else { "s" }));
    ctx.record(app, event).await;
    Ok(redirect_with_query(&Route::Devices, &format!("ended={ended}")))
}
