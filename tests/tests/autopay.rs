//! Automatic payment: the owner turns it on after reading the authorization (recorded, emailed,
//! told to the practice); the daily run charges each invoice on its due date once (a re-run, or
//! two runs at once on DynamoDB, charge nothing more); a declined card gets the update-your-card
//! email and the retries after 1, 3 and 7 days; off means never charged; and the method it pays
//! with cannot be removed while it is on.

use chrono::{Days, NaiveDate};
use lambda_http::http::StatusCode;
use portal_domain::autopay::{self, Autopay};
use portal_domain::{feed, store, AccountId, AchAuthorization, Invoice};
use portal_tests::TestApp;

const MARIA: &str = "maria@example.com";

fn lopez() -> AccountId {
    AccountId::parse("lopez").unwrap()
}

async fn records(app: &TestApp) -> store::HouseholdRecords {
    store::household(app.app.table.as_ref(), &lopez()).await.unwrap()
}

async fn invoice(app: &TestApp, id: &str) -> Invoice {
    records(app).await.ledger.invoice(&id.to_owned().try_into().unwrap()).unwrap().unwrap()
}

/// Autopay on for the Lopez household with its default method, as the owner's form records it.
async fn turn_on(app: &TestApp) {
    let r = records(app).await;
    let source = r.sources.iter().find(|s| s.is_default).unwrap();
    let on = Autopay {
        on: true,
        source: source.id.clone(),
        authorization: AchAuthorization {
            text: autopay::authorization_text("Cedar Valley", source),
            at: app.app.now(),
            ip: "203.0.113.7".into(),
            user_agent: "test".into(),
        },
        by: "maria".to_owned().try_into().unwrap(),
        turned_off_at: None,
    };
    autopay::set(app.app.table.as_ref(), &lopez(), &on, app.app.now()).await.unwrap();
}

/// The default card on file now answers as the sandbox's `token` does (declines, asks for 3-D Secure).
async fn card_answers(app: &TestApp, token: &str) {
    let r = records(app).await;
    let mut source = r.sources.iter().find(|s| s.is_default).unwrap().clone();
    source.token = token.into();
    let write = store::replace_record(&portal_domain::keys::source_key(&source), "source", &source, source.version).unwrap();
    app.app.table.write(write).await.unwrap();
}

async fn run(app: &TestApp, day: NaiveDate) -> reminders::Report {
    reminders::run(&app.app, day, false).await.unwrap()
}

#[tokio::test]
async fn the_owner_turns_it_on_after_reading_the_authorization_and_off_with_one_click() {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    let list = app.get("/payment-methods").await;
    assert!(list.body.contains("Set up automatic payment"), "{}", list.body);
    let form = app.get("/payment-methods/autopay").await;
    assert!(form.body.contains(r#"id="autopay-authorization">I authorize"#), "{}", form.body);
    let csrf = form.csrf_token();
    let source = TestApp::hidden(&form, "source");
    let refused = app.post("/payment-methods/autopay", &[("csrf_token", &csrf), ("source", &source)]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "the authorization must be accepted");
    let stale = app.post("/payment-methods/autopay", &[("csrf_token", &csrf), ("source", "src-checking"), ("authorize", "1")]).await;
    assert_eq!(stale.status, StatusCode::CONFLICT, "an authorization read for another method turns nothing on");
    assert!(records(&app).await.autopay.is_none());

    let on = app.post("/payment-methods/autopay", &[("csrf_token", &csrf), ("source", &source), ("authorize", "1")]).await;
    assert_eq!(on.location(), Some("/payment-methods?done=autopay-on"));
    let stored = records(&app).await.autopay.unwrap();
    assert!(stored.on && stored.authorization.text.starts_with("I authorize Cedar Valley"), "{stored:?}");
    assert_eq!(stored.authorization.user_agent, "portal-tests");
    let copy = app.outbox.last_to(MARIA).unwrap();
    assert_eq!(copy.subject, "Automatic payment is on");
    assert!(copy.text.contains(&stored.authorization.text), "a copy of the authorization");
    let page = app.get("/payment-methods?done=autopay-on").await;
    assert!(page.body.contains(r#"id="autopay-status">On: each invoice is paid on its due date"#));
    assert!(page.body.contains("Automatic payment uses this method"), "its method cannot be removed while it is on");
    let csrf = page.csrf_token();
    let remove = app.post(&format!("/payment-methods/{}/remove", stored.source), &[("csrf_token", &csrf)]).await;
    assert_eq!(remove.status, StatusCode::CONFLICT);
    assert!(records(&app).await.sources.iter().any(|s| s.id == stored.source));

    let off = app.post("/payment-methods/autopay/off", &[("csrf_token", &csrf)]).await;
    assert_eq!(off.location(), Some("/payment-methods?done=autopay-off"));
    let stored = records(&app).await.autopay.unwrap();
    assert!(!stored.on && stored.turned_off_at.is_some());
    let kinds: Vec<String> = feed::of_household(app.app.table.as_ref(), &lopez()).await.unwrap().into_iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&"autopay.on".to_owned()) && kinds.contains(&"autopay.off".to_owned()), "{kinds:?}");
    let activity = app.get("/activity").await.body;
    assert!(activity.contains("Automatic payment turned on") && activity.contains("Automatic payment turned off"));
}

#[tokio::test]
async fn an_invoice_is_paid_on_its_due_date_once_and_the_owner_gets_the_receipt() {
    let app = TestApp::memory().await;
    turn_on(&app).await;
    let due = invoice(&app, "inv-1009").await.due();
    assert!(run(&app, due - Days::new(1)).await.charged.is_empty(), "nothing before the due date");
    let report = run(&app, due).await;
    assert_eq!(report.charged, ["INV-1009 $190.00"]);
    assert_eq!(app.gateway.charges().len(), 1);
    assert!(invoice(&app, "inv-1009").await.balance().is_zero());
    assert!(app.outbox.last_to(MARIA).unwrap().subject.contains("$190.00"), "the receipt");
    // The same day again, and the days after: nothing more is charged.
    for day in [due, due + Days::new(1), due + Days::new(3)] {
        assert!(run(&app, day).await.charged.is_empty());
    }
    assert_eq!(app.gateway.charges().len(), 1);
    // The invoice that was already past due when autopay came on is not charged behind the owner's back.
    assert!(!invoice(&app, "inv-1008").await.balance().is_zero());
}

#[tokio::test]
async fn two_runs_at_once_on_dynamodb_charge_once() {
    let app = TestApp::dynamo().await;
    turn_on(&app).await;
    let due = invoice(&app, "inv-1009").await.due();
    let (a, b) = tokio::join!(reminders::run(&app.app, due, false), reminders::run(&app.app, due, false));
    let charged = a.unwrap().charged.len() + b.unwrap().charged.len();
    assert_eq!(charged, 1, "one of the runs charged it");
    assert_eq!(app.gateway.charges().len(), 1, "one charge at the processor");
    assert!(invoice(&app, "inv-1009").await.balance().is_zero());
}

#[tokio::test]
async fn a_declined_card_is_told_and_retried_after_1_3_and_7_days() {
    let app = TestApp::memory().await;
    turn_on(&app).await;
    // The card on file now declines.
    card_answers(&app, "sbx_tok_declined_000000000000").await;
    let due = invoice(&app, "inv-1009").await.due();
    let mut tried = Vec::new();
    for n in 0..10 {
        let day = due + Days::new(n);
        if !run(&app, day).await.declined.is_empty() {
            tried.push(n);
        }
    }
    assert_eq!(tried, [0, 1, 3, 7]);
    assert_eq!(app.gateway.charges().len(), 4, "one attempt on each of those days");
    let declined: Vec<_> = app.outbox.messages().into_iter().filter(|m| m.subject == "Your automatic payment did not go through").collect();
    assert_eq!(declined.len(), 4);
    assert!(declined[0].text.contains("was declined") && declined[0].text.contains("It will be tried again on"), "{}", declined[0].text);
    assert!(declined[0].text.contains("?to=/payment-methods"), "a link to change the card: {}", declined[0].text);
    assert!(declined[3].text.contains("It will not be tried again automatically"));
    assert!(declined[3].text.contains("?to=/invoices/inv-1009/pay"), "the last one links the invoice: {}", declined[3].text);
}

/// A card whose bank asks the patient to confirm the charge (3-D Secure) cannot be charged with
/// no one there: the charge is cancelled and nothing taken, the owner is asked to pay in the
/// portal, and it is not tried again on the card's retry days.
#[tokio::test]
async fn a_card_that_asks_for_3d_secure_is_cancelled_told_and_not_retried() {
    let app = TestApp::memory().await;
    turn_on(&app).await;
    card_answers(&app, "sbx_tok_3ds_000000000000").await;
    let before = invoice(&app, "inv-1009").await;
    let due = before.due();
    let first = run(&app, due).await;
    assert_eq!(first.declined.len(), 1, "{first:?}");
    assert!(first.charged.is_empty());
    let after = invoice(&app, "inv-1009").await;
    assert_eq!((after.balance(), after.pending()), (before.balance(), portal_domain::Money::ZERO), "nothing taken, nothing held");
    assert!(app.gateway.charges().is_empty(), "no money moved at the processor");
    let told: Vec<_> = app.outbox.messages().into_iter().filter(|m| m.subject == "Your automatic payment did not go through").collect();
    assert_eq!(told.len(), 1);
    assert!(told[0].text.contains("needs your bank's confirmation"), "{}", told[0].text);
    assert!(told[0].text.contains("will not be tried again automatically"), "{}", told[0].text);
    assert!(told[0].text.contains("?to=/invoices/inv-1009/pay"), "a link to pay it: {}", told[0].text);
    for n in [1, 3, 7] {
        let later = run(&app, due + Days::new(n)).await;
        assert!(later.declined.is_empty() && later.charged.is_empty(), "day {n}: {later:?}");
    }
}

#[tokio::test]
async fn a_household_that_turned_it_off_is_never_charged() {
    let app = TestApp::memory().await;
    turn_on(&app).await;
    let mut off = records(&app).await.autopay.unwrap();
    off.on = false;
    off.turned_off_at = Some(app.app.now());
    autopay::set(app.app.table.as_ref(), &lopez(), &off, app.app.now()).await.unwrap();
    let due = invoice(&app, "inv-1009").await.due();
    for n in 0..10 {
        assert!(run(&app, due + Days::new(n)).await.charged.is_empty());
    }
    assert!(app.gateway.charges().is_empty());
}

#[tokio::test]
async fn a_bank_account_is_debited_under_the_recurring_authorization_and_not_retried() {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    let csrf = app.get("/payment-methods").await.csrf_token();
    app.post("/payment-methods/src-checking/default", &[("csrf_token", &csrf)]).await;
    let form = app.get("/payment-methods/autopay").await;
    assert!(
        form.body.contains("by ACH, on each invoice&#39;s due date") || form.body.contains("by ACH, on each invoice's due date"),
        "{}",
        form.body
    );
    let csrf = form.csrf_token();
    let source = TestApp::hidden(&form, "source");
    assert_eq!(source, "src-checking");
    app.post("/payment-methods/autopay", &[("csrf_token", &csrf), ("source", &source), ("authorize", "1")]).await;
    let due = invoice(&app, "inv-1009").await.due();
    let report = run(&app, due).await;
    assert_eq!(report.charged, ["INV-1009 $190.00"], "{report:?}");
    let payment = records(&app).await.ledger.payments_for(&"inv-1009".to_owned().try_into().unwrap()).unwrap().pop().unwrap();
    let authorization = payment.ach_authorization.expect("the debit carries the owner's recurring authorization");
    assert!(authorization.text.contains("until I revoke this authorization"), "{}", authorization.text);
    for n in [1, 3, 7] {
        assert!(run(&app, due + Days::new(n)).await.charged.is_empty(), "a bank debit is tried on its due date only");
    }
}

#[tokio::test]
async fn an_invoice_already_due_when_autopay_came_on_is_left_to_the_owner() {
    let app = TestApp::memory().await;
    let due = invoice(&app, "inv-1009").await.due();
    // Turned on the day after the due date: that invoice is not charged, then or on a retry day.
    app.clock.set((due + Days::new(1)).and_hms_opt(18, 0, 0).unwrap().and_utc());
    turn_on(&app).await;
    for n in [1, 3, 7] {
        assert!(run(&app, due + Days::new(n)).await.charged.is_empty());
    }
    assert!(app.gateway.charges().is_empty());
}
