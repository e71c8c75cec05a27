//! Every write use case with a failure injected at every table request it makes, both before
//! the request takes effect and after (a lost answer): the patient gets a page (a 503 with a
//! reference when the change could not be made), the household's invariants hold after every
//! attempt, and doing it again completes it exactly once. The processor's failures and lost
//! answers are settled by `reconcile`.

use chrono::Duration;
use lambda_http::http::StatusCode;
use portal_adapters::{ManualClock, MemoryTable, OutboxMailer};
use portal_domain::{feed, pay, session, store, AccountId, Money, PaymentStatus};
use portal_tests::faults::{broken_invariants, Fault, FaultyGateway, FaultyTable};
use portal_tests::{test_now, Page, TestApp};
use std::sync::Arc;

#[derive(Debug, Clone, Copy)]
enum Case {
    SignIn,
    SignOut,
    Pay,
    AddCard,
    RemoveSource,
    MakeDefault,
    SaveContact,
    Renew,
    AddDependent,
    SignAgreement,
    SignOutOthers,
    VerifyEmail,
}

const CASES: [Case; 12] = [
    Case::SignIn,
    Case::SignOut,
    Case::Pay,
    Case::AddCard,
    Case::RemoveSource,
    Case::MakeDefault,
    Case::SaveContact,
    Case::Renew,
    Case::AddDependent,
    Case::SignAgreement,
    Case::SignOutOthers,
    Case::VerifyEmail,
];

/// A signed-in demo portal whose table can be made to fail.
async fn portal(signed_in: bool) -> (TestApp, Arc<FaultyTable>) {
    let clock = Arc::new(ManualClock::new(test_now()));
    let table = Arc::new(FaultyTable::new(Arc::new(MemoryTable::new(clock.clone()))));
    let outbox = Arc::new(OutboxMailer::new());
    let mut app = TestApp::build(table.clone(), clock, outbox.clone(), outbox).await;
    if signed_in {
        app.sign_in("maria@example.com").await;
        // Maria is also signed in on another device (for "sign out everywhere else").
        let here = std::mem::take(&mut app.cookies);
        app.clock.advance(Duration::minutes(2));
        app.sign_in("maria@example.com").await;
        app.cookies = here;
    }
    (app, table)
}

/// Does the use case as a patient would, from opening its page; returns the last answer.
async fn act(app: &mut TestApp, case: Case) -> Page {
    match case {
        Case::SignIn => {
            let sent = app.request_code("maria@example.com").await;
            if sent.location() != Some("/sign-in/code") {
                return sent;
            }
            let Some(code) = app.last_code_to("maria@example.com") else { return sent };
            app.enter_code(&code).await
        }
        Case::SignOut => {
            let csrf = app.get("/members").await;
            if csrf.status != StatusCode::OK {
                return csrf;
            }
            app.post("/sign-out", &[("csrf_token", &csrf.csrf_token())]).await
        }
        Case::Pay => app.pay("inv-1008", &[("amount", "20.00"), ("source", "src-visa")]).await,
        Case::AddCard => app.add_card("5555555555554444").await,
        Case::RemoveSource | Case::MakeDefault | Case::SignOutOthers => {
            let page = app.get(if matches!(case, Case::SignOutOthers) { "/devices" } else { "/payment-methods" }).await;
            if page.status != StatusCode::OK {
                return page;
            }
            let path = match case {
                Case::RemoveSource => "/payment-methods/src-checking/remove",
                Case::MakeDefault => "/payment-methods/src-checking/default",
                _ => "/devices/sign-out-others",
            };
            app.post(path, &[("csrf_token", &page.csrf_token())]).await
        }
        Case::SaveContact => app.submit_contact("maria", &[("phone_mobile", "512-555-0199")]).await,
        Case::VerifyEmail => {
            let asked = app.submit_contact("maria", &[("email", NEW_EMAIL)]).await;
            if asked.location() != Some("/members/maria/contact?done=verify") {
                return asked;
            }
            let page = app.get("/members/maria/contact?done=verify").await;
            let Some(code) = app.last_code_to(NEW_EMAIL) else { return page };
            if page.status != StatusCode::OK {
                return page;
            }
            let fields = [("csrf_token", page.csrf_token()), ("version", TestApp::hidden(&page, "version")), ("code", code)];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post("/members/maria/contact", &fields).await
        }
        Case::Renew => {
            let page = app.get("/memberships/ms-lopez-2/renew").await;
            if page.status != StatusCode::OK {
                return page;
            }
            app.post("/memberships/ms-lopez-2/renew", &[("csrf_token", &page.csrf_token())]).await
        }
        Case::AddDependent => {
            let fields = [
                ("first_name", "Lucas"),
                ("last_name", "Lopez"),
                ("date_of_birth", "2022-08-01"),
                ("sex", "male"),
                ("relationship", "child"),
            ];
            let quote = app.quote_dependent(&fields).await;
            if quote.status != StatusCode::OK {
                return quote;
            }
            app.confirm_dependent(&quote).await
        }
        Case::SignAgreement => {
            let page = app.get("/agreements/agr-financial").await;
            if page.status != StatusCode::OK {
                return page;
            }
            let fields = [("csrf_token", page.csrf_token()), ("signer_name", "Maria Lopez".into()), ("consent", "yes".into())];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            app.post("/agreements/agr-financial/sign", &fields).await
        }
    }
}

const NEW_EMAIL: &str = "maria.lopez@example.org";

fn lopez_id() -> AccountId {
    AccountId::parse("lopez").unwrap()
}

/// Whether the use case's change is in the store exactly once.
async fn done(app: &mut TestApp, case: Case) -> Result<(), String> {
    let lopez = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.map_err(|e| e.to_string())?;
    let source = |id: &str| lopez.sources.iter().find(|s| s.id.as_str() == id).cloned();
    let ok = match case {
        Case::SignIn => app.get("/invoices").await.status == StatusCode::OK,
        Case::SignOut => app.get("/invoices").await.location() == Some("/sign-in"),
        Case::Pay => {
            let invoice = lopez.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == "inv-1008").unwrap();
            let paid_now: Vec<_> = lopez
                .ledger
                .payments()
                .unwrap()
                .into_iter()
                .filter(|p| p.invoice == *invoice.id() && p.status == PaymentStatus::Succeeded && p.at >= test_now())
                .collect();
            paid_now.len() == 1 && paid_now[0].amount == Money::from_cents(2000) && invoice.pending() == Money::ZERO
        }
        Case::AddCard => lopez.sources.iter().filter(|s| s.details.describe().contains("4444")).count() == 1,
        Case::RemoveSource => source("src-checking").is_none() && lopez.sources.len() == 1,
        Case::MakeDefault => source("src-checking").is_some_and(|s| s.is_default),
        Case::SaveContact => lopez
            .member(&"maria".to_owned().try_into().unwrap())
            .and_then(|m| m.phones.mobile.clone())
            .is_some_and(|p| p.e164() == "+15125550199"),
        Case::Renew => {
            lopez.memberships.iter().find(|m| m.id.as_str() == "ms-lopez-2").is_some_and(|m| m.renewed_by.is_some())
                && lopez.memberships.len() == 3
        }
        Case::AddDependent => lopez.members.iter().filter(|m| m.first_name == "Lucas").count() == 1,
        Case::VerifyEmail => {
            lopez.member(&"maria".to_owned().try_into().unwrap()).and_then(|m| m.email.clone()).is_some_and(|e| e.as_str() == NEW_EMAIL)
        }
        Case::SignAgreement => lopez.agreements.iter().find(|a| a.id.as_str() == "agr-financial").is_some_and(|a| a.signature.is_some()),
        Case::SignOutOthers => {
            let token = app.cookie("portal_session").and_then(|t| session::Token::parse(&t)).ok_or("no session cookie")?;
            let maria = portal_domain::MemberId::parse("maria").unwrap();
            let devices =
                session::devices(app.app.table.as_ref(), app.app.now(), &token, &lopez_id(), &maria).await.map_err(|e| e.to_string())?;
            devices.len() == 1 && devices[0].current && app.get("/invoices").await.status == StatusCode::OK
        }
    };
    if !ok {
        return Err(format!("{case:?} is not done exactly once"));
    }
    // The practice is told of it exactly once (and of nothing else).
    let expected: &[&str] = match case {
        Case::SignIn | Case::SignOut | Case::SignOutOthers => &[],
        Case::Pay => &["payment.succeeded"],
        Case::AddCard => &["payment_method.added"],
        Case::RemoveSource => &["payment_method.removed"],
        Case::MakeDefault => &["payment_method.made_default"],
        Case::SaveContact => &["member.contact_changed"],
        Case::Renew => &["membership.renewed"],
        Case::AddDependent => &["member.enrolled"],
        Case::SignAgreement => &["agreement.signed"],
        Case::VerifyEmail => &["member.email_verified"],
    };
    let mut kinds: Vec<String> =
        feed::of_household(app.app.table.as_ref(), &lopez_id()).await.map_err(|e| e.to_string())?.into_iter().map(|e| e.kind).collect();
    if matches!(case, Case::Pay) {
        // An attempt that failed (nothing reached the processor) is a failed payment the practice
        // hears of too; `broken_invariants` checks each such event names a failed payment.
        kinds.retain(|k| k != "payment.failed");
    }
    if kinds != expected {
        return Err(format!("{case:?}: the practice's feed has {kinds:?}, not {expected:?}"));
    }
    Ok(())
}

/// Settles what the processor answered and what it never received, as the operator's
/// `portal reconcile` does after its grace period.
async fn reconcile(app: &TestApp) {
    app.clock.advance(Duration::minutes(20));
    let report =
        pay::reconcile(app.app.table.as_ref(), app.app.gateway.as_ref(), app.app.clock.as_ref(), Duration::minutes(15)).await.unwrap();
    assert_eq!(report.unresolved, 0, "{report:?}");
}

#[tokio::test]
async fn a_failure_at_every_table_request_of_every_use_case() {
    let mut injected = 0;
    let mut failures = Vec::new();
    for case in CASES {
        let signed_in = !matches!(case, Case::SignIn);
        // How many table requests the use case makes when nothing fails.
        let (mut app, table) = portal(signed_in).await;
        let before = table.calls();
        act(&mut app, case).await;
        let requests = table.calls() - before;
        done(&mut app, case).await.unwrap_or_else(|e| panic!("without faults: {e}"));
        assert!(requests >= 2, "{case:?} makes {requests} requests");
        for nth in 1..=requests {
            for fault in [Fault::Fail, Fault::AppliedThenLost] {
                injected += 1;
                let what = format!("{case:?}, request {nth} of {requests}, {fault:?}");
                let (mut app, table) = portal(signed_in).await;
                table.arm(nth, fault);
                let page = act(&mut app, case).await;
                table.disarm();
                let friendly = page.status == StatusCode::SERVICE_UNAVAILABLE
                    && page.body.contains("Reference:")
                    && page.headers.contains_key("x-request-id");
                if page.status.is_server_error() && !friendly {
                    failures.push(format!("{what}: answered {} without a reference", page.status));
                }
                let broken = broken_invariants(app.app.table.as_ref(), "lopez").await;
                if !broken.is_empty() {
                    failures.push(format!("{what}: {broken:?}"));
                }
                // The operator's reconcile settles whatever payment was left pending. After an error
                // page, or a payment that did not go through, the patient does it again.
                reconcile(&app).await;
                if page.status.is_server_error() || done(&mut app, case).await.is_err() {
                    if matches!(case, Case::SignIn | Case::VerifyEmail) {
                        // A code sent or used by the failed attempt: they ask for a new one after a minute.
                        app.clock.advance(Duration::seconds(61));
                    }
                    act(&mut app, case).await;
                    reconcile(&app).await;
                }
                if let Err(e) = done(&mut app, case).await {
                    failures.push(format!("{what}: after trying again, {e}"));
                }
                let broken = broken_invariants(app.app.table.as_ref(), "lopez").await;
                if !broken.is_empty() {
                    failures.push(format!("{what}, after trying again: {broken:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} of {injected} injected faults went wrong:\n{}", failures.len(), failures.join("\n"));
    println!("fault injection: {injected} faults injected across {} use cases", CASES.len());
}

#[tokio::test]
async fn a_processor_that_fails_or_loses_its_answer_is_reconciled() {
    for fault in [Fault::Fail, Fault::AppliedThenLost] {
        let (mut app, _) = portal(true).await;
        let sandbox = app.app.gateway.clone();
        app.app.gateway = Arc::new(FaultyGateway { inner: sandbox.clone(), fault });
        let page = app.pay("inv-1008", &[("amount", "20.00"), ("source", "src-visa")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{fault:?}: the payment page, pending");
        let receipt = app.get(page.location().unwrap()).await;
        match fault {
            // Nothing reached the processor: pending until reconcile, after its grace period, cancels
            // the charge and releases the amount (a confirmation that timed out may still arrive).
            Fault::Fail => assert!(receipt.body.contains("processing"), "{fault:?}: says it is pending"),
            // The processor took it: the receipt asks, and records what it says at once.
            Fault::AppliedThenLost => assert!(receipt.body.contains("Payment received"), "{fault:?}: {}", receipt.body),
        }
        assert!(broken_invariants(app.app.table.as_ref(), "lopez").await.is_empty());
        app.app.gateway = sandbox;
        reconcile(&app).await;
        let lopez = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
        let invoice = lopez.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == "inv-1008").unwrap();
        assert_eq!(invoice.pending(), Money::ZERO, "{fault:?}: nothing left pending");
        match fault {
            // The charge never reached the processor: released, and paying again works.
            Fault::Fail => {
                assert!(done(&mut app, Case::Pay).await.is_err());
                app.pay("inv-1008", &[("amount", "20.00"), ("source", "src-visa")]).await;
            }
            // The processor took it: settled as paid, and the patient is not asked again.
            Fault::AppliedThenLost => {}
        }
        done(&mut app, Case::Pay).await.unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert!(broken_invariants(app.app.table.as_ref(), "lopez").await.is_empty());
        let again =
            pay::reconcile(app.app.table.as_ref(), app.app.gateway.as_ref(), app.app.clock.as_ref(), Duration::zero()).await.unwrap();
        assert_eq!(again, pay::Reconciled::default(), "a second run finds nothing to do");
    }
}

#[tokio::test]
async fn a_mail_outage_during_an_email_change_leaves_nothing_half_done() {
    let (mut app, _) = portal(true).await;
    let outbox = app.app.mailer.clone();
    app.app.mailer = Arc::new(portal_tests::faults::DownMailer);
    let page = app.submit_contact("maria", &[("email", "maria.new@example.com")]).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE, "the patient is told the code could not be sent");
    assert!(page.body.contains("Reference:"));
    assert!(broken_invariants(app.app.table.as_ref(), "lopez").await.is_empty());
    // The mail service is back: asking again sends the code, and the code changes the address once.
    app.app.mailer = outbox;
    app.clock.advance(Duration::minutes(2));
    let page = app.submit_contact("maria", &[("email", "maria.new@example.com")]).await;
    assert!(page.status.is_redirection() || page.status == StatusCode::OK, "{}", page.status);
    let code = app.last_code_to("maria.new@example.com").expect("a code to the new address");
    let csrf = app.get("/members/maria/contact").await.csrf_token();
    app.post("/members/maria/contact", &[("csrf_token", &csrf), ("code", &code)]).await;
    let lopez = store::household(app.app.table.as_ref(), &lopez_id()).await.unwrap();
    let maria = lopez.member(&"maria".to_owned().try_into().unwrap()).unwrap();
    assert_eq!(maria.email.as_ref().map(|e| e.as_str()), Some("maria.new@example.com"));
    assert!(broken_invariants(app.app.table.as_ref(), "lopez").await.is_empty());
}
