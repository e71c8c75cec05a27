//! The authorization matrix: every route of the route table (so a new route cannot be left out) ×
//! every caller {no session, expired session, owner, another member of the household, another
//! household's owner} × ids {the caller's household's, another household's, nonexistent} → the
//! status the portal must answer; and every POST without its CSRF token or from a foreign origin.

use chrono::Duration;
use lambda_http::http::{Method, StatusCode};
use portal_domain::store;
use portal_templates::routes::Route;
use portal_tests::TestApp;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Caller {
    Anonymous,
    Expired,
    Owner,
    Member,
    OtherOwner,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ids {
    /// The caller's own records.
    Own,
    /// Another member's records in the caller's household (only for a non-owner member).
    Household,
    /// Another household's records.
    Other,
    /// Ids no record has.
    Missing,
}

/// Concrete ids for the route's placeholders.
struct IdSet {
    invoice: &'static str,
    payment: &'static str,
    member: &'static str,
    membership: &'static str,
    source: &'static str,
    agreement: &'static str,
    /// A signed agreement (only signed ones have a PDF).
    signed: &'static str,
}

const LOPEZ_OWNER: IdSet = IdSet {
    invoice: "inv-1008",
    payment: "pay-1008",
    member: "maria",
    membership: "ms-lopez-2",
    source: "src-checking",
    agreement: "agr-financial",
    signed: "agr-membership",
};
const LOPEZ_MEMBER: IdSet = IdSet { member: "daniel", agreement: "agr-daniel-communication", signed: "agr-daniel-signed", ..LOPEZ_OWNER };
const TAYLOR: IdSet = IdSet {
    invoice: "inv-2001",
    payment: "pay-taylor",
    member: "sam",
    membership: "ms-taylor-1",
    source: "src-mastercard",
    agreement: "agr-taylor",
    signed: "agr-taylor-signed",
};
const MISSING: IdSet = IdSet {
    invoice: "inv-0",
    payment: "pay-0",
    member: "nobody",
    membership: "ms-0",
    source: "src-0",
    agreement: "agr-0",
    signed: "agr-0",
};

fn ids_for(caller: Caller, ids: Ids) -> &'static IdSet {
    match (caller, ids) {
        (_, Ids::Missing) => &MISSING,
        (Caller::OtherOwner, Ids::Own) => &TAYLOR,
        (Caller::OtherOwner, Ids::Other) => &LOPEZ_OWNER,
        (Caller::Member, Ids::Own) => &LOPEZ_MEMBER,
        (_, Ids::Household) => &LOPEZ_OWNER,
        (_, Ids::Own) => &LOPEZ_OWNER,
        (_, Ids::Other) => &TAYLOR,
    }
}

/// The route with the set's ids in place of the example's.
fn with_ids(route: &Route, ids: &IdSet) -> Route {
    match route {
        Route::Invoice(_) => Route::Invoice(ids.invoice.to_owned().try_into().unwrap()),
        Route::InvoicePdf(_) => Route::InvoicePdf(ids.invoice.to_owned().try_into().unwrap()),
        Route::PayInvoice(_) => Route::PayInvoice(ids.invoice.to_owned().try_into().unwrap()),
        Route::Payment(_) => Route::Payment(ids.payment.to_owned().try_into().unwrap()),
        Route::Receipt(_) => Route::Receipt(ids.payment.to_owned().try_into().unwrap()),
        Route::ReceiptPdf(_) => Route::ReceiptPdf(ids.payment.to_owned().try_into().unwrap()),
        Route::MemberContact(_) => Route::MemberContact(ids.member.to_owned().try_into().unwrap()),
        Route::MemberBilling(_) => Route::MemberBilling(ids.member.to_owned().try_into().unwrap()),
        Route::EmailPreferences(_) => Route::EmailPreferences(ids.member.to_owned().try_into().unwrap()),
        Route::Renew(_) => Route::Renew(ids.membership.to_owned().try_into().unwrap()),
        Route::NewDependent(_) => Route::NewDependent(ids.membership.to_owned().try_into().unwrap()),
        Route::ConfirmDependent(_) => Route::ConfirmDependent(ids.membership.to_owned().try_into().unwrap()),
        Route::Leave(_) => Route::Leave(ids.membership.to_owned().try_into().unwrap()),
        Route::WithdrawLeaving(_) => Route::WithdrawLeaving(ids.membership.to_owned().try_into().unwrap()),
        Route::RemovePaymentMethod(_) => Route::RemovePaymentMethod(ids.source.to_owned().try_into().unwrap()),
        Route::DefaultPaymentMethod(_) => Route::DefaultPaymentMethod(ids.source.to_owned().try_into().unwrap()),
        Route::Agreement(_) => Route::Agreement(ids.agreement.to_owned().try_into().unwrap()),
        Route::SignAgreement(_) => Route::SignAgreement(ids.agreement.to_owned().try_into().unwrap()),
        Route::AgreementPdf(_) => Route::AgreementPdf(ids.signed.to_owned().try_into().unwrap()),
        other => other.clone(),
    }
}

fn has_ids(route: &Route) -> bool {
    with_ids(route, &MISSING) != with_ids(route, &LOPEZ_OWNER)
}

/// The demo plus a payment and an agreement for the Taylor household (so each kind of id exists in both).
async fn app_as(caller: Caller) -> TestApp {
    let mut app = TestApp::memory().await;
    let table = app.app.table.clone();
    let lopez = store::household(table.as_ref(), &"lopez".to_owned().try_into().unwrap()).await.unwrap();
    let mut payment = lopez.ledger.payments().unwrap()[0].clone();
    payment.id = "pay-taylor".to_owned().try_into().unwrap();
    payment.account = "taylor".to_owned().try_into().unwrap();
    payment.invoice = "inv-2001".to_owned().try_into().unwrap();
    table.write(store::put_payment(&payment).unwrap()).await.unwrap();
    let mut agreement = lopez.agreements.iter().find(|a| a.id.as_str() == "agr-financial").unwrap().clone();
    agreement.id = "agr-taylor".to_owned().try_into().unwrap();
    agreement.account = "taylor".to_owned().try_into().unwrap();
    agreement.member = "sam".to_owned().try_into().unwrap();
    table.write(store::put_agreement(&agreement).unwrap()).await.unwrap();
    let signed = lopez.agreements.iter().find(|a| a.signature.is_some()).unwrap();
    for (id, account, member) in [("agr-taylor-signed", "taylor", "sam"), ("agr-daniel-signed", "lopez", "daniel")] {
        let mut copy = signed.clone();
        copy.id = id.to_owned().try_into().unwrap();
        copy.account = account.to_owned().try_into().unwrap();
        copy.member = member.to_owned().try_into().unwrap();
        table.write(store::put_agreement(&copy).unwrap()).await.unwrap();
    }
    match caller {
        Caller::Anonymous => {}
        Caller::Expired => {
            app.sign_in("maria@example.com").await;
            app.clock.advance(Duration::hours(9));
        }
        Caller::Owner => {
            app.sign_in("maria@example.com").await;
        }
        Caller::Member => {
            let sent = app.request_code("daniel@example.com").await;
            assert_eq!(sent.location(), Some("/sign-in/code"));
            let code = app.last_code_to("daniel@example.com").unwrap();
            app.enter_code(&code).await;
        }
        Caller::OtherOwner => {
            app.sign_in("sam@example.com").await;
        }
    }
    app
}

/// What a request must be answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Status(u16),
    /// A redirect to the sign-in page.
    SignIn,
    /// Let through to the handler, which may still refuse the (empty) form: never 403, 404 or 5xx.
    Allowed,
}

/// The household's routes a non-owner member is refused (`portal_domain::access`): they do not
/// exist for them, with the one refusal for "not yours".
fn member_refusal(route: &Route) -> Option<u16> {
    match route {
        Route::Invoices
        | Route::Invoice(_)
        | Route::InvoicePdf(_)
        | Route::Statement
        | Route::StatementPdf
        | Route::Renew(_)
        | Route::NewDependent(_)
        | Route::ConfirmDependent(_)
        | Route::Leave(_)
        | Route::WithdrawLeaving(_)
        | Route::PayInvoice(_)
        | Route::PayDue
        | Route::MemberBilling(_)
        | Route::Payment(_)
        | Route::Receipts
        | Route::Receipt(_)
        | Route::ReceiptPdf(_)
        | Route::YearSummaryPdf(_)
        | Route::PaymentMethods
        | Route::NewPaymentMethod
        | Route::RemovePaymentMethod(_)
        | Route::DefaultPaymentMethod(_)
        | Route::Autopay
        | Route::AutopayOff => Some(404),
        _ => None,
    }
}

fn expected(caller: Caller, ids: Ids, method: &Method, route: &Route) -> Expect {
    let signed_in = !matches!(caller, Caller::Anonymous | Caller::Expired);
    if !route.methods().contains(&method.as_str()) {
        return Expect::Status(405);
    }
    let post = *method == Method::POST;
    if route.is_public() {
        return match (route, post, signed_in) {
            (Route::Stylesheet | Route::Script | Route::Robots, _, _) => Expect::Status(200),
            // Stripe's events go to a portal configured for Stripe; this one runs on the sandbox.
            (Route::StripeWebhook, true, _) => Expect::Status(404),
            // An unsubscribe page opens for anyone; its POST needs a token the portal signed.
            (Route::Unsubscribe(_), false, _) => Expect::Status(200),
            (Route::Unsubscribe(_), true, _) => Expect::Status(404),
            // Home sends everyone where they belong; signed-in visitors skip the sign-in pages.
            (Route::Home, _, _) | (Route::SignInCode, false, _) | (Route::SignIn, false, true) => Expect::Status(303),
            (Route::SignIn, false, false) => Expect::Status(200),
            // An access link no one minted.
            (Route::Access(_), _, true) | (Route::Access(_), false, false) => Expect::Status(404),
            (Route::SignOut, true, _) => Expect::Status(303),
            // Signed in: the sign-in forms are not for them (the empty form is refused or sent on).
            (Route::SignIn | Route::SignInCode, true, true) => Expect::Allowed,
            // Not signed in, no pre-session token: CSRF refuses the form.
            (_, true, false) => Expect::Status(403),
            _ => unreachable!("{route:?}"),
        };
    }
    if !signed_in {
        return if post { Expect::Status(403) } else { Expect::SignIn };
    }
    if caller == Caller::Member {
        if let Some(status) = member_refusal(route) {
            return Expect::Status(status);
        }
    }
    match ids {
        Ids::Own => Expect::Allowed,
        Ids::Household | Ids::Other | Ids::Missing => Expect::Status(404),
    }
}

fn routes_with_ids(caller: Caller, example: &Route) -> Vec<(Ids, Route)> {
    if !has_ids(example) {
        return vec![(Ids::Own, example.clone())];
    }
    let mut sets = vec![Ids::Own, Ids::Other, Ids::Missing];
    if caller == Caller::Member {
        sets.push(Ids::Household);
    }
    let routes: Vec<(Ids, Route)> = sets.into_iter().map(|ids| (ids, with_ids(example, ids_for(caller, ids)))).collect();
    // The household's other member's records differ from the member's own only where a route
    // names a member's record (contact, agreements); elsewhere the records are shared.
    routes.into_iter().filter(|(ids, route)| *ids != Ids::Household || *route != with_ids(example, &LOPEZ_MEMBER)).collect()
}

#[tokio::test]
async fn every_route_for_every_caller() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for caller in [Caller::Anonymous, Caller::Expired, Caller::Owner, Caller::Member, Caller::OtherOwner] {
        for example in Route::examples() {
            for (ids, route) in routes_with_ids(caller, &example) {
                for method in [Method::GET, Method::POST] {
                    let mut app = app_as(caller).await;
                    // A valid CSRF token when there is a session: authorization, not CSRF, decides.
                    let csrf = if matches!(caller, Caller::Anonymous | Caller::Expired) {
                        String::new()
                    } else {
                        app.get("/members").await.csrf_token()
                    };
                    app.counter.reset();
                    let page = if method == Method::GET {
                        app.get(&route.path()).await
                    } else {
                        app.post(&route.path(), &[("csrf_token", &csrf)]).await
                    };
                    let status = page.status.as_u16();
                    let want = expected(caller, ids, &method, &route);
                    let ok = match want {
                        Expect::Status(s) => status == s,
                        Expect::SignIn => status == 303 && page.location() == Some("/sign-in"),
                        Expect::Allowed => ![403, 404, 405].contains(&status) && status < 500 && (method == Method::POST || status == 200),
                    };
                    if !ok {
                        failures.push(format!("{caller:?} {ids:?} {method} {} -> {status}, expected {want:?}", route.path()));
                    }
                    if status == 403 || status == 404 || status == 405 || want == Expect::SignIn {
                        let (_, writes) = app.counter.counts();
                        if writes != 0 {
                            failures.push(format!("{caller:?} {ids:?} {method} {}: refused but wrote {writes} times", route.path()));
                        }
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {checked} cases answered wrongly:\n{}", failures.len(), failures.join("\n"));
    // 30 routes, 5 callers, up to 4 id sets, 2 methods.
    assert!(checked > 400, "{checked} cases");
    println!("authorization matrix: {checked} cases");
}

/// Every POST refuses a form without its token, from another site, or carrying another session's token.
#[tokio::test]
async fn every_post_needs_its_token_and_our_origin() {
    let mut checked = 0;
    let mut failures = Vec::new();
    // Stripe's events carry no CSRF token: their Stripe-Signature is checked instead
    // (tests/tests/payment_events.rs), whoever sends them.
    for route in
        Route::examples().into_iter().filter(|r| r.methods().contains(&"POST") && *r != Route::StripeWebhook && !r.is_token_authorized())
    {
        let route = with_ids(&route, &LOPEZ_OWNER);
        for attack in ["no token", "foreign origin", "cross-site fetch", "another session's token"] {
            let mut app = app_as(Caller::Owner).await;
            let mut token = app.get("/members").await.csrf_token();
            match attack {
                "no token" => token.clear(),
                "foreign origin" => app.origin = Some("https://evil.example".into()),
                "another session's token" => {
                    // Sam signs in on the same portal in another browser; his token is live, but not this session's.
                    let maria = std::mem::take(&mut app.cookies);
                    app.sign_in("sam@example.com").await;
                    token = app.get("/members").await.csrf_token();
                    app.cookies = maria;
                }
                _ => {}
            }
            app.counter.reset();
            let status = if attack == "cross-site fetch" {
                let mut request = app.build_request(Method::POST, &route.path(), Some(&[("csrf_token", &token)]));
                request.headers_mut().insert("sec-fetch-site", "cross-site".parse().unwrap());
                portal_cli::dispatch(&app.app, request).await.status()
            } else {
                app.post(&route.path(), &[("csrf_token", &token)]).await.status
            };
            // Nothing is exempt, not even signing out: another site must not end a patient's session.
            if status != StatusCode::FORBIDDEN {
                failures.push(format!("{attack}: POST {} -> {status}", route.path()));
            }
            if app.counter.counts().1 != 0 {
                failures.push(format!("{attack}: POST {} wrote", route.path()));
            }
            checked += 1;
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("CSRF checks: {checked} cases");
}
