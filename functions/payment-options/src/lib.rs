//! The payment-options function: `/payment-methods` (list, add, remove, make default) and
//! automatic payment (`/payment-methods/autopay`: the owner turns it on after reading its
//! authorization; one click turns it off).
//! Only whoever handles the household's billing (`access`) manages sources; for anyone else these pages do not exist (404).

use lambda_http::http::{Method, Response, StatusCode};
use lambda_http::Body;
use portal_domain::card::SourceErrors;
use portal_domain::ports::{random_token, SetupResult};
use portal_domain::sources::{self, RemoveOutcome};
use portal_domain::store::HouseholdRecords;
use portal_domain::{PaymentSource, SourceId};
use portal_templates::done::Done;
use portal_templates::layout::Section;
use portal_templates::pay::{
    autopay_page, methods_page, new_method_page, remove_method_page, AutopayView, CardEntry, NewSourceValues, StripeEntry,
};
use portal_templates::routes::{Function, Route};
use portal_web::{html, payment_form, stripe_html, App, Ctx, PageError, PageResult, Payments};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::PaymentOptions, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::PaymentMethods, Method::GET) => list(app, ctx, None, StatusCode::OK).await,
        (Route::NewPaymentMethod, Method::GET) => new_form(app, ctx).await,
        (Route::NewPaymentMethod, Method::POST) => add(app, ctx).await,
        (Route::RemovePaymentMethod(id), Method::GET) => confirm_remove(app, ctx, &id).await,
        (Route::RemovePaymentMethod(id), Method::POST) => remove(app, ctx, &id).await,
        (Route::DefaultPaymentMethod(id), Method::POST) => make_default(app, ctx, &id).await,
        (Route::Autopay, Method::GET) => autopay_form(app, ctx, None, StatusCode::OK).await,
        (Route::Autopay, Method::POST) => autopay_on(app, ctx).await,
        (Route::AutopayOff, Method::POST) => autopay_off(app, ctx).await,
        _ => Err(PageError::NotFound),
    }
}

/// The list, with a notice from the action that led here (`?done=`).
async fn list(app: &App, ctx: &mut Ctx, message: Option<&str>, status: StatusCode) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    let removed = removed_method(app, ctx);
    let info = match Done::on(&ctx.route, ctx.query("done")) {
        // The removed method is named when the link's check says the portal named it.
        Some(Done::MethodRemoved) => Some(removed.as_deref().unwrap_or(Done::MethodRemoved.message())),
        done => done.map(Done::message),
    };
    let session = ctx.session()?.clone();
    let autopay = AutopayView { on: records.autopay_on(), owner: session.is_owner };
    let chrome = ctx.chrome(app, Some(Section::PaymentMethods));
    let page = methods_page(&chrome, &session.csrf_token, &records.sources, app.today(), message, info, &autopay);
    Ok(html(status, page))
}

/// The notice naming a removed method ("Removed Visa ending 4242."), carried through the redirect
/// with an HMAC so no link can make the page say anything else.
fn removed_query(app: &App, ctx: &Ctx, described: &str) -> String {
    let mac = removed_mac(app, ctx, described);
    serde_urlencoded::to_string([("done", Done::MethodRemoved.slug()), ("method", described), ("check", mac.as_str())])
        .unwrap_or_else(|_| Done::MethodRemoved.query())
}

fn removed_mac(app: &App, ctx: &Ctx, described: &str) -> String {
    let account = ctx.session.as_ref().map(|(_, s)| s.account.to_string()).unwrap_or_default();
    app.config.secret.sign(&[b"removed-method", account.as_bytes(), described.as_bytes()])[..32].to_owned()
}

fn removed_method(app: &App, ctx: &Ctx) -> Option<String> {
    let described = ctx.query("method")?;
    let check = ctx.query("check")?;
    (removed_mac(app, ctx, described) == check).then(|| format!("Removed {described}."))
}

async fn confirm_remove(app: &App, ctx: &mut Ctx, id: &SourceId) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    let source = records.sources.iter().find(|s| &s.id == id).ok_or(PageError::NotFound)?;
    if records.sources.len() < 2 {
        let message = "This is your only payment method, so it cannot be removed. Add another first.";
        return list(app, ctx, Some(message), StatusCode::OK).await;
    }
    let csrf = ctx.session()?.csrf_token.clone();
    Ok(html(StatusCode::OK, remove_method_page(&ctx.chrome(app, Some(Section::PaymentMethods)), &csrf, source, app.today())))
}

fn done(what: Done) -> Response<Body> {
    portal_web::redirect_done(&Route::PaymentMethods, what)
}

async fn new_form(app: &App, ctx: &mut Ctx) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    let typed = Typed { values: NewSourceValues::default(), errors: SourceErrors::default() };
    new_page(app, ctx, &records, Page { typed: &typed, message: None, card_error: None, make_default: false }, StatusCode::OK).await
}

/// What the new payment method form shows again after a refusal.
struct Page<'a> {
    /// The sandbox's typed fields (never the numbers) and what is wrong with them.
    typed: &'a Typed,
    message: Option<&'a str>,
    /// Why Stripe did not save the card.
    card_error: Option<&'a str>,
    make_default: bool,
}

struct Typed {
    values: NewSourceValues,
    errors: SourceErrors,
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> PageError {
    PageError::Unavailable(anyhow::Error::new(e))
}

/// The new payment method form: the sandbox's own fields, or Stripe's card field with a fresh
/// setup for the household's customer at Stripe.
async fn new_page(app: &App, ctx: &mut Ctx, records: &HouseholdRecords, page: Page<'_>, status: StatusCode) -> PageResult {
    let csrf = ctx.session()?.csrf_token.clone();
    let chrome = ctx.chrome(app, Some(Section::PaymentMethods));
    match &app.config.payments {
        Payments::Sandbox | Payments::Off => {
            let entry = CardEntry::Typed { values: &page.typed.values, errors: &page.typed.errors };
            Ok(html(status, new_method_page(&chrome, &csrf, &entry, page.message, page.make_default)))
        }
        Payments::Stripe(stripe) => {
            let household = records.household.as_ref().ok_or(PageError::NotFound)?;
            let customer = sources::customer(app.table.as_ref(), app.gateway.as_ref(), household).await.map_err(unavailable)?;
            let setup = app.gateway.begin_setup(&customer).await.map_err(unavailable)?;
            let entry = CardEntry::Stripe(StripeEntry {
                publishable_key: &stripe.publishable_key,
                js_url: &stripe.js_url,
                setup_id: &setup.id,
                client_secret: &setup.client_secret,
                error: page.card_error,
            });
            Ok(stripe_html(status, new_method_page(&chrome, &csrf, &entry, page.message, page.make_default), stripe))
        }
    }
}

async fn add(app: &App, ctx: &mut Ctx) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    let form = ctx.form.clone();
    let make_default = form.get("make_default").is_some();
    let no_typed = Typed { values: NewSourceValues::default(), errors: SourceErrors::default() };
    let tokenized = match &app.config.payments {
        Payments::Sandbox | Payments::Off => match payment_form::parse(&form, app.today()) {
            Ok(new) => app.gateway.tokenize(&new).await.map_err(unavailable)?,
            Err(errors) => {
                let typed = Typed { values: payment_form::values(&form), errors };
                let page = Page { typed: &typed, message: Some("Please correct the highlighted fields."), card_error: None, make_default };
                return new_page(app, ctx, &records, page, StatusCode::UNPROCESSABLE_ENTITY).await;
            }
        },
        Payments::Stripe(_) => {
            let setup = form.text("setup_intent");
            match sources::finish_setup(app.gateway.as_ref(), records.household.as_ref(), setup).await.map_err(unavailable)? {
                SetupResult::Saved(tokenized) => tokenized,
                SetupResult::Declined { reason } => {
                    let page = Page { typed: &no_typed, message: Some("The card was not saved."), card_error: Some(&reason), make_default };
                    return new_page(app, ctx, &records, page, StatusCode::UNPROCESSABLE_ENTITY).await;
                }
                SetupResult::Unfinished => {
                    let page = Page {
                        typed: &no_typed,
                        message: Some("The card was not saved."),
                        card_error: Some(sources::SETUP_UNFINISHED),
                        make_default,
                    };
                    return new_page(app, ctx, &records, page, StatusCode::UNPROCESSABLE_ENTITY).await;
                }
            }
        }
    };
    if let Some(existing) = records.sources.iter().find(|s| s.details == tokenized.details) {
        // Already on file (same brand, last four digits and expiry): most often the same form sent
        // again after an error page whose first attempt had in fact been saved. Kept once, and said so;
        // the processor forgets the second copy.
        if existing.token != tokenized.token {
            if let Err(e) = app.gateway.detach(&tokenized.token).await {
                tracing::warn!(error = %e, "a duplicate source could not be detached");
            }
        }
        if make_default {
            sources::set_default(app.table.as_ref(), &records.sources, &existing.id, app.now()).await?;
        }
        return Ok(done(Done::MethodExists));
    }
    let session = ctx.session()?;
    let source = PaymentSource {
        id: SourceId::parse(&random_token(app.random.as_ref(), 12)).map_err(|_| PageError::Unavailable(anyhow::anyhow!("source id")))?,
        account: session.account.clone(),
        details: tokenized.details,
        token: tokenized.token,
        is_default: false,
        version: 1,
    };
    let detail = source.details.describe();
    sources::add(app.table.as_ref(), source, &records.sources, make_default, app.now()).await?;
    let event = ctx.event(app, "source.added")?.detail(detail);
    ctx.record(app, event).await;
    Ok(done(Done::MethodAdded))
}

async fn remove(app: &App, ctx: &mut Ctx, id: &SourceId) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    let session = ctx.session()?.clone();
    match sources::remove(app.table.as_ref(), &session.account, &records.sources, records.autopay_on(), id, app.now()).await? {
        RemoveOutcome::Removed => {
            // The processor forgets it too; the portal no longer lists it whatever the answer.
            if let Some(source) = records.sources.iter().find(|s| &s.id == id) {
                if let Err(e) = app.gateway.detach(&source.token).await {
                    tracing::warn!(error = %e, "a removed source could not be detached");
                }
            }
            let described = described(&records, id);
            let query = removed_query(app, ctx, &described);
            let event = ctx.event(app, "source.removed")?.detail(described);
            ctx.record(app, event).await;
            Ok(portal_web::redirect_with_query(&Route::PaymentMethods, &query))
        }
        RemoveOutcome::NotFound => Err(PageError::NotFound),
        RemoveOutcome::LastSource => {
            let message = "This is your only payment method, so it cannot be removed. Add another first.";
            list(app, ctx, Some(message), StatusCode::CONFLICT).await
        }
        RemoveOutcome::UsedByAutopay => {
            let message =
                "Automatic payment uses this method. Turn automatic payment off first (you can turn it on again with another default).";
            list(app, ctx, Some(message), StatusCode::CONFLICT).await
        }
    }
}

/// How the activity page names a source ("Visa •••• 4242").
fn described(records: &portal_domain::store::HouseholdRecords, id: &SourceId) -> String {
    records.sources.iter().find(|s| &s.id == id).map(|s| s.details.describe()).unwrap_or_default()
}

async fn make_default(app: &App, ctx: &mut Ctx, id: &SourceId) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    if sources::set_default(app.table.as_ref(), &records.sources, id, app.now()).await? {
        let described = described(&records, id);
        let event = ctx.event(app, "source.default")?.detail(described);
        ctx.record(app, event).await;
        Ok(done(Done::MethodDefault))
    } else {
        Err(PageError::NotFound)
    }
}

/// The owner's household (autopay is the owner's choice; for anyone else these pages do not exist).
async fn owner_household(app: &App, ctx: &Ctx) -> Result<portal_domain::store::HouseholdRecords, PageError> {
    let session = ctx.owner_session()?;
    Ok(portal_domain::store::profile(app.table.as_ref(), &session.account).await?)
}

async fn autopay_form(app: &App, ctx: &mut Ctx, error: Option<&str>, status: StatusCode) -> PageResult {
    let records = owner_household(app, ctx).await?;
    let default = records.sources.iter().find(|s| s.is_default);
    let text = default.map(|s| portal_domain::autopay::authorization_text(&app.config.practice_name, s)).unwrap_or_default();
    let csrf = ctx.session()?.csrf_token.clone();
    Ok(html(status, autopay_page(&ctx.chrome(app, Some(Section::PaymentMethods)), &csrf, default, &text, error)))
}

/// Records the authorization (its words, time, address and browser), tells the practice, and
/// emails the owner a copy.
async fn autopay_on(app: &App, ctx: &mut Ctx) -> PageResult {
    let records = owner_household(app, ctx).await?;
    let Some(default) = records.sources.iter().find(|s| s.is_default).cloned() else {
        return autopay_form(app, ctx, Some("Add a payment method and make it the default first."), StatusCode::CONFLICT).await;
    };
    if ctx.form.text("source") != default.id.as_str() {
        let message = "Your default payment method changed since this page was opened. Read the authorization for it below.";
        return autopay_form(app, ctx, Some(message), StatusCode::CONFLICT).await;
    }
    if ctx.form.text("authorize") != "1" {
        return autopay_form(
            app,
            ctx,
            Some("Check the box to agree to the authorization, or go back to leave automatic payment off."),
            StatusCode::UNPROCESSABLE_ENTITY,
        )
        .await;
    }
    let session = ctx.session()?.clone();
    let text = portal_domain::autopay::authorization_text(&app.config.practice_name, &default);
    let autopay = portal_domain::autopay::Autopay {
        on: true,
        source: default.id.clone(),
        authorization: portal_domain::AchAuthorization {
            text: text.clone(),
            at: app.now(),
            ip: ctx.client_ip.clone(),
            user_agent: ctx.user_agent.clone(),
        },
        by: session.member.clone(),
        turned_off_at: None,
    };
    portal_domain::autopay::set(app.table.as_ref(), &session.account, &autopay, app.now()).await?;
    let event = ctx.event(app, "autopay.on")?.detail(default.details.describe());
    ctx.record(app, event).await;
    if let Some(to) = records.member(&session.member).and_then(|m| m.email.clone()) {
        let lines = vec![
            format!("Automatic payment is on: each invoice is paid on its due date with {}.", default.details.describe()),
            format!("The authorization you gave on {}:", app.today().format("%b %-d, %Y")),
            text,
        ];
        let link = format!("{}{}", ctx.public_url, Route::PaymentMethods.path());
        let message = portal_templates::emails::notice(to.as_str(), &app.config.practice_name, "Automatic payment is on", &lines, &link);
        if let Err(e) = app.mailer.send(message).await {
            tracing::warn!(error = %e, "the autopay authorization copy was not sent");
        }
    }
    Ok(done(Done::AutopayOn))
}

/// One click: off at once, recorded, and the practice told.
async fn autopay_off(app: &App, ctx: &mut Ctx) -> PageResult {
    let records = owner_household(app, ctx).await?;
    let Some(current) = records.autopay_on().cloned() else { return Ok(done(Done::AutopayOff)) };
    let session = ctx.session()?.clone();
    let off = portal_domain::autopay::Autopay { on: false, turned_off_at: Some(app.now()), ..current };
    portal_domain::autopay::set(app.table.as_ref(), &session.account, &off, app.now()).await?;
    let event = ctx.event(app, "autopay.off")?;
    ctx.record(app, event).await;
    Ok(done(Done::AutopayOff))
}
