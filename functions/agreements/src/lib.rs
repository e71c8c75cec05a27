//! The agreements function: `/agreements`, `/agreements/{id}`, signing, and the signed PDF.
//! The owner sees every member's agreements; another member sees only their own.

use lambda_http::http::{header, HeaderValue, Method, Response, StatusCode};
use lambda_http::Body;
use portal_domain::agreement::{self, SignError};
use portal_domain::session::Session;
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{Agreement, AgreementId, Member, Signature};
use portal_templates::agreements::{agreement_page, list_page, pdf, Listed, SignForm};
use portal_templates::layout::Section;
use portal_templates::routes::{Function, Route};
use portal_web::{html, redirect, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::Agreements, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (Route::Agreements, Method::GET) => list(app, ctx).await,
        (Route::Agreement(id), Method::GET) => show(app, ctx, &id).await,
        (Route::SignAgreement(id), Method::POST) => sign(app, ctx, &id).await,
        (Route::AgreementPdf(id), Method::GET) => download(app, ctx, &id).await,
        _ => Err(PageError::NotFound),
    }
}

/// The agreements this session may see: all of the household's for the owner, else their own.
fn visible<'a>(session: &Session, records: &'a HouseholdRecords) -> Vec<&'a Agreement> {
    let viewer = portal_domain::access::Viewer::of(session);
    records.agreements.iter().filter(|a| viewer.sees_agreement(a)).collect()
}

async fn load(app: &App, ctx: &Ctx) -> Result<(Session, HouseholdRecords), PageError> {
    let session = ctx.session()?.clone();
    let records = store::profile(app.table.as_ref(), &session.account).await?;
    Ok((session, records))
}

fn find<'a>(session: &Session, records: &'a HouseholdRecords, id: &AgreementId) -> Result<&'a Agreement, PageError> {
    visible(session, records).into_iter().find(|a| &a.id == id).ok_or(PageError::NotFound)
}

async fn list(app: &App, ctx: &mut Ctx) -> PageResult {
    let (session, records) = load(app, ctx).await?;
    let items: Vec<Listed> =
        visible(&session, &records).into_iter().map(|a| Listed { agreement: a, member: records.member(&a.member) }).collect();
    Ok(html(StatusCode::OK, list_page(&ctx.chrome(app, Some(Section::Agreements)), &items, |at| app.date_of(at))))
}

/// Why this session may not sign, if it may not.
fn cannot_sign(app: &App, session: &Session, records: &HouseholdRecords, agreement: &Agreement) -> Option<String> {
    let signer = records.member(&session.member)?;
    let subject = records.member(&agreement.member)?;
    if agreement::may_sign(signer, session.is_owner, subject, app.today()) {
        None
    } else if signer.id == subject.id {
        Some("The account owner signs this for you.".into())
    } else {
        Some(format!("{} signs this agreement themselves, from their own sign-in.", subject.full_name()))
    }
}

struct Shown<'a> {
    signer_name: &'a str,
    errors: &'a [SignError],
}

fn render(
    app: &App,
    ctx: &Ctx,
    session: &Session,
    records: &HouseholdRecords,
    agreement: &Agreement,
    shown: Shown<'_>,
    status: StatusCode,
) -> PageResult {
    let reason = cannot_sign(app, session, records, agreement);
    let name_error = shown.errors.contains(&SignError::NameMismatch).then(|| SignError::NameMismatch.to_string());
    let consent_error = shown.errors.contains(&SignError::NoConsent).then(|| SignError::NoConsent.to_string());
    let signer = records.member(&session.member).map(|m| m.full_name()).unwrap_or_default();
    let on_behalf_of = (agreement.member != session.member).then(|| records.member(&agreement.member).map(|m| m.full_name())).flatten();
    let form = SignForm {
        csrf_token: &session.csrf_token,
        signer: &signer,
        on_behalf_of: on_behalf_of.as_deref(),
        signer_name: shown.signer_name,
        name_error: name_error.as_deref(),
        consent_error: consent_error.as_deref(),
    };
    let sign = reason.is_none().then_some(&form);
    let page = agreement_page(
        &ctx.chrome(app, Some(Section::Agreements)),
        agreement,
        records.member(&agreement.member),
        sign,
        reason.as_deref(),
        app.config.time_zone,
    );
    Ok(html(status, page))
}

async fn show(app: &App, ctx: &mut Ctx, id: &AgreementId) -> PageResult {
    let (session, records) = load(app, ctx).await?;
    let agreement = find(&session, &records, id)?;
    render(app, ctx, &session, &records, agreement, Shown { signer_name: "", errors: &[] }, StatusCode::OK)
}

async fn sign(app: &App, ctx: &mut Ctx, id: &AgreementId) -> PageResult {
    let (session, records) = load(app, ctx).await?;
    let agreement = find(&session, &records, id)?;
    if agreement.is_signed() {
        // A second submit: the agreement is signed already, so show the signed copy.
        return Ok(redirect(&Route::Agreement(id.clone())));
    }
    if cannot_sign(app, &session, &records, agreement).is_some() {
        return Err(PageError::Forbidden(Some("You cannot sign this agreement.")));
    }
    let signer: &Member = records.member(&session.member).ok_or(PageError::NotFound)?;
    let typed = ctx.form.text("signer_name").to_owned();
    let consent = ctx.form.get("consent").is_some();
    if let Err(errors) = agreement::check_signature(&typed, consent, signer) {
        return render(
            app,
            ctx,
            &session,
            &records,
            agreement,
            Shown { signer_name: &typed, errors: &errors },
            StatusCode::UNPROCESSABLE_ENTITY,
        );
    }
    let signature = Signature {
        signer_name: typed.split_whitespace().collect::<Vec<_>>().join(" "),
        signed_by: signer.id.clone(),
        at: app.now(),
        ip: ctx.client_ip.clone(),
        user_agent: ctx.user_agent.clone(),
        body_sha256: agreement.body_sha256(),
    };
    match agreement::sign(app.table.as_ref(), agreement, signature).await {
        Ok(_) => {
            let event = ctx.event(app, "agreement.signed")?.subject(id.to_string()).detail(agreement.title.clone());
            ctx.record(app, event).await;
            Ok(redirect(&Route::Agreement(id.clone())))
        }
        // Signed by a submit that won the race: either way it is signed once (and recorded by that one).
        Err(portal_domain::StoreError::ConditionFailed) => Ok(redirect(&Route::Agreement(id.clone()))),
        Err(e) => Err(e.into()),
    }
}

async fn download(app: &App, ctx: &mut Ctx, id: &AgreementId) -> PageResult {
    let (session, records) = load(app, ctx).await?;
    let agreement = find(&session, &records, id)?;
    if !agreement.is_signed() {
        return Err(PageError::NotFound);
    }
    let bytes = pdf(&app.config.practice_name, agreement, records.member(&agreement.member), app.config.time_zone);
    let mut response = Response::new(Body::Binary(bytes));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    let name: String = agreement.title.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{}-signed.pdf\"", name.trim_matches('-'))) {
        response.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}
