//! Paying and managing payment methods through the real handlers on a portal configured for
//! Stripe, against localstripe (`scripts/test` starts it). What Stripe.js does in the browser
//! (typing a card into Stripe's field, the bank's 3-D Secure window) is done by `Browser`
//! directly against the fake: the portal only ever receives Stripe's ids.

use lambda_http::http::StatusCode;
use portal_domain::store;
use portal_domain::{AccountId, Money, PaymentStatus};
use portal_tests::stripe::Browser;
use portal_tests::TestApp;

const MARIA: &str = "maria@example.com";

async fn maria() -> TestApp {
    let mut app = TestApp::stripe().await;
    app.sign_in(MARIA).await;
    app
}

async fn invoice_state(app: &TestApp, id: &str) -> (Money, Money, Money) {
    let records = store::household(app.app.table.as_ref(), &lopez()).await.unwrap();
    let invoice = records.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == id).unwrap();
    (invoice.paid(), invoice.pending(), invoice.balance())
}

fn lopez() -> AccountId {
    AccountId::parse("lopez").unwrap()
}

async fn household(app: &TestApp) -> store::HouseholdRecords {
    store::household(app.app.table.as_ref(), &lopez()).await.unwrap()
}

async fn customer(app: &TestApp) -> String {
    household(app).await.household.unwrap().processor_customer.expect("the household is a Stripe customer")
}

/// The setup a Stripe page carries: its id and the client secret Stripe.js confirms it with.
fn setup_of(page: &portal_tests::Page) -> (String, String) {
    let id = TestApp::hidden(page, "setup_intent");
    let marker = "data-client-secret=\"";
    let start = page.body.find(marker).expect("the form carries the setup's client secret") + marker.len();
    let secret = page.body[start..][..page.body[start..].find('"').unwrap()].to_owned();
    assert!(id.starts_with("seti_") && secret.starts_with(&id), "{id} {secret}");
    (id, secret)
}

#[tokio::test]
async fn maria_pays_part_of_an_invoice_with_her_saved_card_on_stripe() {
    let mut app = maria().await;
    let browser = Browser::new();
    let records = household(&app).await;
    let visa = records.sources.iter().find(|s| s.is_default).unwrap().clone();
    assert!(visa.token.starts_with("pm_"), "the demo's Visa is a Stripe PaymentMethod: {}", visa.token);

    let form = app.get("/invoices/inv-1008/pay").await;
    assert_eq!(form.status, StatusCode::OK);
    let csp = form.headers.get("content-security-policy").unwrap().to_str().unwrap().to_owned();
    let origin = portal_tests::stripe::localstripe_url();
    assert!(csp.contains(&format!("script-src 'self' {origin}")) && csp.contains(&format!("connect-src {origin}")), "{csp}");
    assert!(form.body.contains(&format!(r#"src="{origin}/js.stripe.com/v3/""#)), "the page loads Stripe.js");
    assert!(!form.body.contains(r#"name="card_number""#), "no card number field of the portal's own");

    let paid = app.pay("inv-1008", &[("amount", "50.00"), ("source", visa.id.as_str())]).await;
    let receipt_path = paid.location().expect("a receipt").to_owned();
    let receipt = app.get(&receipt_path).await;
    assert!(receipt.body.contains("Payment received"), "{}", receipt.body);
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(10000), Money::ZERO, Money::from_cents(9000)));

    let payment = household(&app)
        .await
        .ledger
        .payments()
        .unwrap()
        .into_iter()
        .find(|p| p.status == PaymentStatus::Succeeded && p.gateway_reference.as_deref().is_some_and(|r| r.starts_with("pi_")))
        .expect("a Stripe payment");
    let reference = payment.gateway_reference.clone().unwrap();
    assert_eq!(
        browser.intent(&reference).await,
        ("succeeded".to_owned(), Some(payment.id.to_string())),
        "Stripe has it, named by the portal's payment"
    );
    assert_eq!(browser.charges(&customer(&app).await).await, 1);
    assert!(receipt_path.starts_with(&format!("/payments/{}?invoices=", payment.id)), "{receipt_path}");
    // The plain form works without JavaScript: the page is a form post with a saved card's id.
    assert!(app.outbox.last_to(MARIA).unwrap().subject.contains("$50.00"));
}

#[tokio::test]
async fn maria_adds_a_card_through_stripes_field_and_removes_it() {
    let mut app = maria().await;
    let browser = Browser::new();
    let before = household(&app).await.sources.len();
    let form = app.get("/payment-methods/new").await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.headers.get("content-security-policy").unwrap().to_str().unwrap().contains("frame-src"));
    let (setup, secret) = setup_of(&form);

    // Sent before the card was entered (no JavaScript, or the patient skipped the field): nothing saved.
    let early = app.post("/payment-methods/new", &[("csrf_token", &form.csrf_token()), ("setup_intent", &setup)]).await;
    assert_eq!(early.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(early.body.contains("Enter the card"), "{}", early.body);
    assert_eq!(household(&app).await.sources.len(), before);

    // A Visa debit card (the demo's Visa 4242 is on file already).
    browser.confirm_setup(&setup, &secret, "4000056655665556").await.unwrap();
    let added = app.post("/payment-methods/new", &[("csrf_token", &form.csrf_token()), ("setup_intent", &setup)]).await;
    assert_eq!(added.location(), Some("/payment-methods?done=added"), "{}", added.body);
    let records = household(&app).await;
    assert_eq!(records.sources.len(), before + 1);
    let new = records.sources.iter().find(|s| !s.is_default && s.token.starts_with("pm_")).unwrap().clone();
    let customer = records.household.unwrap().processor_customer.unwrap();
    assert_eq!(browser.owner_of(&new.token).await, Some(customer.clone()), "Stripe keeps it on the household's customer");

    // The same setup sent again (a double click): kept once.
    let again = app.post("/payment-methods/new", &[("csrf_token", &form.csrf_token()), ("setup_intent", &setup)]).await;
    assert!(again.location().is_some_and(|l| l.contains("done=")), "{}", again.body);
    assert_eq!(household(&app).await.sources.len(), before + 1);

    let page = app.get("/payment-methods").await;
    let removed = app.post(&format!("/payment-methods/{}/remove", new.id), &[("csrf_token", &page.csrf_token())]).await;
    assert!(removed.location().is_some_and(|l| l.starts_with("/payment-methods?done=removed")), "{:?}", removed.location());
    assert_eq!(household(&app).await.sources.len(), before);
    assert_eq!(browser.owner_of(&new.token).await, None, "Stripe forgets it too");
}

#[tokio::test]
async fn a_new_card_pays_once_and_is_kept_only_when_asked() {
    let mut app = maria().await;
    let browser = Browser::new();
    for (save, cents) in [(true, "20.00"), (false, "30.00")] {
        let before = household(&app).await.sources.len();
        let form = app.get("/invoices/inv-1008/pay").await;
        let (setup, secret) = setup_of(&form);
        browser.confirm_setup(&setup, &secret, "5555555555554444").await.unwrap();
        let key = TestApp::hidden(&form, "idempotency_key");
        let mut fields = vec![
            ("csrf_token", form.csrf_token()),
            ("idempotency_key", key),
            ("amount", cents.to_owned()),
            ("source", "new".to_owned()),
            ("setup_intent", setup.clone()),
            ("confirm", "1".to_owned()),
            ("allocation", format!("inv-1008={cents}")),
        ];
        if save {
            fields.push(("save", "1".to_owned()));
        }
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let paid = app.post("/invoices/inv-1008/pay", &fields).await;
        assert!(paid.location().is_some_and(|l| l.starts_with("/payments/")), "{}", paid.body);
        let records = household(&app).await;
        let payment = records.ledger.payments().unwrap().into_iter().find(|p| p.amount == Money::parse(cents).unwrap()).unwrap();
        assert_eq!(payment.status, PaymentStatus::Succeeded);
        // The same form sent again: the first payment's receipt, no second charge.
        let replay = app.post("/invoices/inv-1008/pay", &fields).await;
        assert_eq!(replay.location(), paid.location());
        if save {
            assert_eq!(records.sources.len(), before + 1, "saved for later");
            let saved = records.sources.iter().find(|s| s.details.describe().ends_with("4444")).expect("the new card is on file");
            assert_eq!(browser.owner_of(&saved.token).await, Some(customer(&app).await));
        } else {
            assert_eq!(records.sources.len(), before, "used once");
            let method = browser.setup_method(&setup).await.expect("the setup saved a card");
            assert_eq!(browser.owner_of(&method).await, None, "Stripe forgets a card used once");
        }
    }
    assert_eq!(invoice_state(&app, "inv-1008").await.0, Money::from_cents(10000), "$50 paid before, $50 now");
    assert_eq!(browser.charges(&customer(&app).await).await, 2, "one charge each");
}

#[tokio::test]
async fn card_numbers_posted_to_the_portal_are_refused_and_nothing_is_charged_or_saved() {
    let mut app = maria().await;
    let before_sources = household(&app).await.sources.len();
    let before = invoice_state(&app, "inv-1008").await;
    let form = app.get("/payment-methods/new").await;
    let refused = app
        .post(
            "/payment-methods/new",
            &[
                ("csrf_token", &form.csrf_token()),
                ("card_number", "4242 4242 4242 4242"),
                ("exp_month", "12"),
                ("exp_year", "2030"),
                ("cvc", "123"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert!(refused.body.contains("never sent to the portal"), "{}", refused.body);
    let paid = app.pay("inv-1008", &[("amount", "10"), ("source", "new"), ("card_number", "4242424242424242"), ("cvc", "123")]).await;
    assert_eq!(paid.status, StatusCode::BAD_REQUEST);
    let bank = app
        .pay("inv-1008", &[("amount", "10"), ("source", "new"), ("routing_number", "110000000"), ("account_number", "000123456789")])
        .await;
    assert_eq!(bank.status, StatusCode::BAD_REQUEST);
    assert_eq!(household(&app).await.sources.len(), before_sources);
    assert_eq!(invoice_state(&app, "inv-1008").await, before);
    assert_eq!(Browser::new().charges(&customer(&app).await).await, 0);
}

#[tokio::test]
async fn a_card_that_asks_for_3d_secure_is_paid_after_the_patients_step_or_released() {
    let mut app = maria().await;
    let browser = Browser::new();
    for passes in [true, false] {
        let form = app.get("/invoices/inv-1008/pay").await;
        let (setup, secret) = setup_of(&form);
        // localstripe asks for 3-D Secure on 4000 0025 0000 3155, at setup and at payment.
        browser.confirm_setup(&setup, &secret, "4000002500003155").await.unwrap();
        let key = TestApp::hidden(&form, "idempotency_key");
        let fields = [
            ("csrf_token", form.csrf_token()),
            ("idempotency_key", key),
            ("amount", "25.00".to_owned()),
            ("source", "new".to_owned()),
            ("setup_intent", setup),
            ("confirm", "1".to_owned()),
            ("allocation", "inv-1008=25.00".to_owned()),
        ];
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let step = app.post("/invoices/inv-1008/pay", &fields).await;
        assert_eq!(step.status, StatusCode::OK, "{}", step.body);
        assert!(step.body.contains("Confirm the payment with your bank"));
        assert_eq!(invoice_state(&app, "inv-1008").await.1, Money::from_cents(2500), "reserved while the bank asks");
        let marker = "data-payment-secret=\"";
        let start = step.body.find(marker).unwrap() + marker.len();
        let payment_secret = step.body[start..][..step.body[start..].find('"').unwrap()].to_owned();
        let intent = payment_secret.split("_secret_").next().unwrap().to_owned();
        browser.authenticate(&intent, &payment_secret, passes).await;
        let next = "data-next=\"";
        let start = step.body.find(next).unwrap() + next.len();
        let receipt_path = step.body[start..][..step.body[start..].find('"').unwrap()].to_owned();
        let receipt = app.get(&receipt_path).await;
        let (paid, pending, _) = invoice_state(&app, "inv-1008").await;
        assert_eq!(pending, Money::ZERO, "decided either way");
        if passes {
            assert!(receipt.body.contains("Payment received"), "{}", receipt.body);
            assert_eq!(paid, Money::from_cents(7500));
            assert!(app.outbox.last_to(MARIA).unwrap().subject.contains("$25.00"), "the receipt is emailed once decided");
        } else {
            assert!(receipt.body.contains("Payment declined") && receipt.body.contains("nothing was charged"), "{}", receipt.body);
            assert_eq!(paid, Money::from_cents(7500), "nothing more was paid");
        }
    }
}
