//! Stripe's events through the real payment-events function, on a portal configured for Stripe
//! (localstripe, which `scripts/test` starts): a bank debit processing for days and then settling
//! or failing, refunds, disputes; each event signed as Stripe signs it, applied once, and refused
//! without a good signature. localstripe has no US bank accounts, so its SEPA debit (which also
//! settles later) stands in for the bank account at Stripe, and the events are built here in
//! Stripe's shape.

use lambda_http::http::{Method, StatusCode};
use lambda_http::{Body, Request};
use portal_domain::sources;
use portal_domain::store;
use portal_domain::{AccountId, BankAccountType, Money, PaymentSource, PaymentStatus, SourceDetails, SourceId};
use portal_tests::stripe::{Browser, WEBHOOK_SECRET};
use portal_tests::TestApp;

const MARIA: &str = "maria@example.com";

fn lopez() -> AccountId {
    AccountId::parse("lopez").unwrap()
}

async fn invoice_state(app: &TestApp) -> (Money, Money) {
    let records = store::household(app.app.table.as_ref(), &lopez()).await.unwrap();
    let invoice = records.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == "inv-1008").unwrap();
    (invoice.paid(), invoice.pending())
}

/// Maria, signed in, with a bank account on file at Stripe: a SEPA debit on localstripe, which
/// stays processing after it is charged (as a US bank debit does for days) for this test IBAN.
async fn maria_with_a_bank_account() -> (TestApp, String) {
    let iban = "DE62370400440532013001";
    let mut app = TestApp::stripe().await;
    app.sign_in(MARIA).await;
    let records = store::household(app.app.table.as_ref(), &lopez()).await.unwrap();
    let customer = records.household.as_ref().unwrap().processor_customer.clone().unwrap();
    let method = Browser::new().bank_debit(&customer, iban).await;
    let source = PaymentSource {
        id: SourceId::parse("src-bank-stripe").unwrap(),
        account: lopez(),
        details: SourceDetails::BankAccount {
            bank_name: "STRIPE TEST BANK".into(),
            last4: "6789".into(),
            account_type: BankAccountType::Checking,
        },
        token: method,
        is_default: false,
        version: 1,
    };
    sources::add(app.app.table.as_ref(), source, &records.sources, false, app.app.now()).await.unwrap();
    (app, customer)
}

/// Pays $20 of INV-1008 with the bank account; the payment's id and its PaymentIntent. From then
/// on Stripe's word comes by its events alone: the receipt page cannot ask localstripe, whose
/// stand-in debit decides on its own clock half a second later.
async fn pay_by_bank(app: &mut TestApp) -> (String, String) {
    let paid = app.pay("inv-1008", &[("amount", "20.00"), ("source", "src-bank-stripe"), ("ach_authorize", "1")]).await;
    app.app.gateway = std::sync::Arc::new(portal_web::lambda::NoPayments);
    let receipt = paid.location().expect("a receipt").to_owned();
    let id = receipt.trim_start_matches("/payments/").split('?').next().unwrap().to_owned();
    let records = store::household(app.app.table.as_ref(), &lopez()).await.unwrap();
    let payment = records.ledger.payments().unwrap().into_iter().find(|p| p.id.as_str() == id).unwrap();
    (id, payment.gateway_reference.expect("the payment names its PaymentIntent"))
}

/// An event as Stripe sends it.
fn event(id: &str, kind: &str, object: serde_json::Value) -> String {
    serde_json::json!({
        "id": id,
        "object": "event",
        "api_version": "2025-09-30.clover",
        "created": 1_796_000_000,
        "livemode": false,
        "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind,
        "data": {"object": object}
    })
    .to_string()
}

fn intent(id: &str, status: &str) -> serde_json::Value {
    serde_json::json!({"id": id, "object": "payment_intent", "amount": 2000, "currency": "usd", "status": status, "payment_method_types": ["us_bank_account"]})
}

/// Posts an event to the webhook, signed with `secret` at the app's now (or `signature` as given).
async fn deliver(app: &TestApp, payload: &str, signature: Option<&str>) -> StatusCode {
    let header = match signature {
        Some(s) => s.to_owned(),
        None => portal_stripe::events::sign(payload.as_bytes(), WEBHOOK_SECRET, app.app.now().timestamp()),
    };
    let request = lambda_http::http::Request::builder()
        .method(Method::POST)
        .uri("/stripe/webhook")
        .header("content-type", "application/json")
        .header("stripe-signature", header)
        .body(Body::Text(payload.to_owned()))
        .unwrap();
    portal_cli::dispatch(&app.app, Request::from(request)).await.status()
}

async fn payment_status(app: &TestApp, id: &str) -> portal_domain::Payment {
    let records = store::household(app.app.table.as_ref(), &lopez()).await.unwrap();
    records.ledger.payments().unwrap().into_iter().find(|p| p.id.as_str() == id).unwrap()
}

#[tokio::test]
async fn a_bank_payment_processes_then_is_paid_on_stripes_event_once() {
    let (mut app, _) = maria_with_a_bank_account().await;
    let (paid_before, _) = invoice_state(&app).await;
    let (id, intent_id) = pay_by_bank(&mut app).await;
    assert_eq!(invoice_state(&app).await, (paid_before, Money::from_cents(2000)), "on hold while the bank debit processes");
    assert_eq!(payment_status(&app, &id).await.status, PaymentStatus::Pending);
    let receipt = app.get(&format!("/payments/{id}")).await;
    assert!(receipt.body.contains("Bank payment processing") && receipt.body.contains("four business days"), "{}", receipt.body);
    let mails = app.outbox.messages().len();

    let processing = event("evt_proc_1", "payment_intent.processing", intent(&intent_id, "processing"));
    assert_eq!(deliver(&app, &processing, None).await, StatusCode::OK);
    let succeeded = event("evt_ok_1", "payment_intent.succeeded", intent(&intent_id, "succeeded"));
    assert_eq!(deliver(&app, &succeeded, None).await, StatusCode::OK);
    assert_eq!(invoice_state(&app).await, (paid_before + Money::from_cents(2000), Money::ZERO), "paid");
    assert_eq!(payment_status(&app, &id).await.status, PaymentStatus::Succeeded);
    assert_eq!(app.outbox.messages().len(), mails + 1, "the receipt is emailed when the bank debit settles");
    assert!(app.outbox.last_to(MARIA).unwrap().subject.contains("$20.00"));

    // Stripe sends an event at least once: the same one again changes nothing and mails nothing.
    assert_eq!(deliver(&app, &succeeded, None).await, StatusCode::OK);
    // An older failure arriving after the success changes nothing either.
    let late = event("evt_fail_late", "payment_intent.payment_failed", intent(&intent_id, "requires_payment_method"));
    assert_eq!(deliver(&app, &late, None).await, StatusCode::OK);
    assert_eq!(invoice_state(&app).await, (paid_before + Money::from_cents(2000), Money::ZERO));
    assert_eq!(payment_status(&app, &id).await.status, PaymentStatus::Succeeded);
    assert_eq!(app.outbox.messages().len(), mails + 1);
    let receipt = app.get(&format!("/payments/{id}")).await;
    assert!(receipt.body.contains("Payment received"));
}

#[tokio::test]
async fn a_bank_payment_that_fails_is_released_with_a_clear_notice() {
    let (mut app, _) = maria_with_a_bank_account().await;
    let (paid_before, _) = invoice_state(&app).await;
    let (id, intent_id) = pay_by_bank(&mut app).await;
    assert_eq!(invoice_state(&app).await.1, Money::from_cents(2000));
    let mut failed = intent(&intent_id, "requires_payment_method");
    failed["last_payment_error"] =
        serde_json::json!({"type": "card_error", "code": "payment_method_provider_decline", "decline_code": "insufficient_funds"});
    let failure = event("evt_fail_1", "payment_intent.payment_failed", failed);
    assert_eq!(deliver(&app, &failure, None).await, StatusCode::OK);
    assert_eq!(invoice_state(&app).await, (paid_before, Money::ZERO), "the amount is due again");
    let payment = payment_status(&app, &id).await;
    assert_eq!(payment.status, PaymentStatus::Declined("The payment was declined for insufficient funds.".into()));
    let notice = app.outbox.last_to(MARIA).unwrap();
    assert!(
        notice.subject.contains("did not go through") && notice.text.contains("insufficient funds") && notice.text.contains("due again"),
        "{notice:?}"
    );
    assert!(notice.text.contains("/invoices/inv-1008/pay"), "the notice links to paying again");
    let mails = app.outbox.messages().len();
    assert_eq!(deliver(&app, &failure, None).await, StatusCode::OK);
    assert_eq!(app.outbox.messages().len(), mails, "a replayed event sends nothing");
    assert_eq!(invoice_state(&app).await, (paid_before, Money::ZERO));
    let receipt = app.get(&format!("/payments/{id}")).await;
    assert!(receipt.body.contains("Payment declined"), "{}", receipt.body);
}

#[tokio::test]
async fn refunds_and_disputes_are_recorded_and_shown() {
    let mut app = TestApp::stripe().await;
    app.sign_in(MARIA).await;
    let source = store::household(app.app.table.as_ref(), &lopez()).await.unwrap().sources.into_iter().find(|s| s.is_default).unwrap();
    let paid = app.pay("inv-1008", &[("amount", "40.00"), ("source", source.id.as_str())]).await;
    let id = paid.location().unwrap().trim_start_matches("/payments/").split('?').next().unwrap().to_owned();
    let intent_id = payment_status(&app, &id).await.gateway_reference.unwrap();
    let (paid_after, _) = invoice_state(&app).await;

    let charge = |refunded: i64| serde_json::json!({"id": "ch_1", "object": "charge", "amount": 4000, "amount_refunded": refunded, "payment_intent": intent_id, "refunded": refunded == 4000});
    assert_eq!(deliver(&app, &event("evt_ref_1", "charge.refunded", charge(1500)), None).await, StatusCode::OK);
    // An older event with a smaller total arrives late: the larger total stands.
    assert_eq!(deliver(&app, &event("evt_ref_2", "charge.refunded", charge(2500)), None).await, StatusCode::OK);
    assert_eq!(deliver(&app, &event("evt_ref_0", "charge.refunded", charge(1000)), None).await, StatusCode::OK);
    let payment = payment_status(&app, &id).await;
    assert_eq!(payment.reversals.refunded, Money::from_cents(2500));
    assert_eq!(invoice_state(&app).await.0, paid_after, "the invoice is the practice's to adjust");
    let dispute = serde_json::json!({"id": "dp_1", "object": "dispute", "amount": 4000, "charge": "ch_1", "payment_intent": intent_id, "reason": "fraudulent", "status": "needs_response"});
    assert_eq!(deliver(&app, &event("evt_dp_1", "charge.dispute.created", dispute), None).await, StatusCode::OK);
    let receipt = app.get(&format!("/payments/{id}")).await;
    assert!(receipt.body.contains(r#"id="receipt-refunded">$25.00"#), "{}", receipt.body);
    assert!(receipt.body.contains("opened a dispute"));
    let invoice = app.get("/invoices/inv-1008").await;
    assert!(invoice.body.contains("$25.00 refunded") && invoice.body.contains("disputed"), "{}", invoice.body);
    // The invoice's page read by key shows the same: the copies followed the refund and the dispute.
    portal_tests::copies_agree(app.app.table.as_ref(), &portal_domain::AccountId::parse("lopez").unwrap()).await;
    let list = app.get("/invoices").await.body;
    let linked = list.split(r#"href="/invoices/inv-1008?"#).nth(1).and_then(|r| r.split('"').next()).expect("a link");
    assert_eq!(app.get(&format!("/invoices/inv-1008?{linked}")).await.body, invoice.body);
}

#[tokio::test]
async fn events_without_a_good_signature_are_refused_and_change_nothing() {
    let (mut app, _) = maria_with_a_bank_account().await;
    let (id, intent_id) = pay_by_bank(&mut app).await;
    let before = invoice_state(&app).await;
    let succeeded = event("evt_forged", "payment_intent.succeeded", intent(&intent_id, "succeeded"));
    let now = app.app.now().timestamp();
    let forged = portal_stripe::events::sign(succeeded.as_bytes(), "whsec_someone_else", now);
    let stale = portal_stripe::events::sign(succeeded.as_bytes(), WEBHOOK_SECRET, now - 3600);
    let other_body = portal_stripe::events::sign(b"{}", WEBHOOK_SECRET, now);
    for signature in ["", "t=1,v1=zz", forged.as_str(), stale.as_str(), other_body.as_str()] {
        assert_eq!(deliver(&app, &succeeded, Some(signature)).await, StatusCode::BAD_REQUEST, "{signature}");
    }
    assert_eq!(invoice_state(&app).await, before);
    assert_eq!(payment_status(&app, &id).await.status, PaymentStatus::Pending);
    // Well signed, but about something the portal does not act on, or a charge not its own: acknowledged.
    assert_eq!(deliver(&app, &event("evt_cus", "customer.created", serde_json::json!({"id": "cus_x"})), None).await, StatusCode::OK);
    assert_eq!(
        deliver(&app, &event("evt_other", "payment_intent.succeeded", intent("pi_not_ours", "succeeded")), None).await,
        StatusCode::OK
    );
    assert_eq!(deliver(&app, "not json", None).await, StatusCode::BAD_REQUEST);
    assert_eq!(invoice_state(&app).await, before);
}
