//! Paying invoices and managing payment sources through the real handlers, with the sandbox
//! processor: partial and full payments, errors that change nothing, idempotency, concurrency.

use std::sync::Arc;

use lambda_http::http::{Method, StatusCode};
use portal_domain::store;
use portal_domain::{AccountId, ChargeOutcome, Money, PaymentStatus};
use portal_tests::TestApp;
use tokio::task::JoinSet;

const MARIA: &str = "maria@example.com";

async fn signed_in(mut app: TestApp, email: &str) -> TestApp {
    app.sign_in(email).await;
    app
}

async fn invoice_state(app: &TestApp, id: &str) -> (Money, Money, Money) {
    let account = AccountId::parse(if id == "inv-2001" { "taylor" } else { "lopez" }).unwrap();
    let records = store::household(app.app.table.as_ref(), &account).await.unwrap();
    let invoice = records.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == id).unwrap();
    (invoice.paid(), invoice.pending(), invoice.balance())
}

/// Opens a pay form and sends it with the review's answer already given ("Pay now"), as a
/// browser would after the review; for tests that send many at once. `allocation` is the split
/// the review showed ("inv-1008=10.00").
async fn paid_at_once(app: &TestApp, path: &str, amount: &str, allocation: &str) -> portal_tests::Page {
    let (form, _) = app.send(Method::GET, path, None).await;
    let (csrf, key) = (form.csrf_token(), TestApp::hidden(&form, "idempotency_key"));
    let fields = [
        ("csrf_token", csrf.as_str()),
        ("idempotency_key", key.as_str()),
        ("amount", amount),
        ("source", "src-visa"),
        ("confirm", "1"),
        ("allocation", allocation),
    ];
    app.send(Method::POST, path, Some(&fields)).await.0
}

fn new_card<'a>(number: &'a str, cvc: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("source", "new"),
        ("new_kind", "card"),
        ("card_number", number),
        ("exp_month", "12"),
        ("exp_year", "2030"),
        ("cvc", cvc),
        ("postal_code", "78613"),
    ]
}

#[tokio::test]
async fn maria_pays_part_with_her_visa_then_the_rest_with_a_new_saved_card() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let form = app.get("/invoices/inv-1008/pay").await;
    assert!(form.body.contains(r#"value="140.00""#), "the amount is prefilled with the balance");
    assert!(form.body.contains(r#"value="src-visa" checked"#), "the default source is preselected");

    let paid = app.pay("inv-1008", &[("amount", "40"), ("source", "src-visa")]).await;
    let receipt_path = paid.location().expect("a receipt").to_owned();
    assert!(receipt_path.starts_with("/payments/"));
    let receipt = app.get(&receipt_path).await;
    assert!(receipt.body.contains("Payment received"));
    assert!(receipt.body.contains(r#"id="receipt-amount">$40.00"#) && receipt.body.contains(r#"id="receipt-balance">$100.00"#));
    assert!(receipt.body.contains("Visa ending 4242"));
    // The portal's receipt number, not the processor's internal reference (issue 25, item 7).
    assert!(!receipt.body.contains("sbx_ch_") && receipt.body.contains("Receipt number"));
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(9000), Money::ZERO, Money::from_cents(10000)));
    let email = app.outbox.last_to(MARIA).unwrap();
    assert!(email.subject.contains("$40.00") && email.text.contains("INV-1008") && email.text.contains("$100.00"));
    let today = app.app.today().format("%b %-d, %Y").to_string();
    assert!(
        email.text.contains(&format!("Date: {today}")) && email.text.contains("Account: Lopez household · Maria Lopez"),
        "{}",
        email.text
    );
    assert!(!email.text.contains("sbx_ch_"));

    let mut fields = new_card("4242 4242 4242 4242", "123");
    fields.extend([("amount", "100.00"), ("save", "1")]);
    let rest = app.pay("inv-1008", &fields).await;
    assert!(rest.location().unwrap().starts_with("/payments/"));
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(19000), Money::ZERO, Money::ZERO));
    let detail = app.get("/invoices/inv-1008").await;
    assert!(detail.body.contains(r#"<span class="badge paid">Paid</span>"#));
    assert!(!detail.body.contains("/pay\""), "nothing left to pay");
    // The paid invoice's pay page says so, with no form to fill in (issue 25, item 4).
    let paid_page = app.get("/invoices/inv-1008/pay").await;
    assert_eq!(paid_page.status, StatusCode::OK);
    assert!(paid_page.body.contains("This invoice is paid in full. Nothing is due."));
    assert!(!paid_page.body.contains(r#"name="amount""#) && !paid_page.body.contains("Enter an amount"));
    let methods = app.get("/payment-methods").await;
    assert_eq!(methods.body.matches("<li class=\"source\"").count(), 3, "the new card was saved");
    assert_eq!(app.gateway.charges().len(), 2);
}

#[tokio::test]
async fn bad_input_and_declines_re_render_the_form_and_change_nothing() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let before = invoice_state(&app, "inv-1008").await;
    let cases: Vec<(Vec<(&str, &str)>, &str)> = vec![
        (vec![("amount", "140.01"), ("source", "src-visa")], "more than the $140.00"),
        (vec![("amount", "0"), ("source", "src-visa")], "greater than zero"),
        (vec![("amount", "10.005"), ("source", "src-visa")], "two digits for cents"),
        (vec![("amount", "ten"), ("source", "src-visa")], "dollars and cents"),
        (vec![("amount", "10"), ("source", "src-nope")], "Choose how to pay."),
        ([new_card("4242 4242 4242 4241", "123"), vec![("amount", "10")]].concat(), "card number is not valid"),
        ([new_card("4000 0000 0000 0002", "123"), vec![("amount", "10")]].concat(), "Your card was declined"),
        ([new_card("4000 0000 0000 9995", "123"), vec![("amount", "10")]].concat(), "insufficient funds"),
        ([new_card("4000 0000 0000 0069", "123"), vec![("amount", "10")]].concat(), "Your card has expired"),
    ];
    for (fields, message) in cases {
        let page = app.pay("inv-1008", &fields).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{message}");
        assert!(page.body.contains(message), "{message} in {}", page.body);
        assert!(!page.body.contains("4242 4242 4242 4241") && !page.body.contains("4000 0000"), "the card number is never shown again");
        assert_eq!(invoice_state(&app, "inv-1008").await, before, "{message}: nothing changed");
    }
    let charges = app.gateway.charges();
    assert_eq!(charges.len(), 3, "only the three declined cards reached the processor");
    assert!(charges.iter().all(|c| matches!(c.outcome, ChargeOutcome::Declined { .. })));
    assert_eq!(app.outbox.messages().len(), 1, "only the sign-in code; no receipt");
}

#[tokio::test]
async fn a_bank_account_with_insufficient_funds_is_declined() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let fields = [
        ("amount", "20"),
        ("source", "new"),
        ("new_kind", "bank"),
        ("account_holder", "Maria Lopez"),
        ("routing_number", "110000000"),
        ("account_number", "000111111116"),
        ("ach_authorize", "1"),
    ];
    let page = app.pay("inv-1008", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("insufficient funds"));
    let bad_routing = app
        .pay(
            "inv-1008",
            &[
                ("amount", "20"),
                ("source", "new"),
                ("new_kind", "bank"),
                ("account_holder", "M"),
                ("routing_number", "123456789"),
                ("account_number", "000123456789"),
            ],
        )
        .await;
    assert!(bad_routing.body.contains("routing number is not valid"));
    let ok = app
        .pay(
            "inv-1008",
            &[
                ("amount", "20"),
                ("source", "new"),
                ("new_kind", "bank"),
                ("account_holder", "Maria Lopez"),
                ("routing_number", "110000000"),
                ("account_number", "000123456789"),
                ("ach_authorize", "1"),
            ],
        )
        .await;
    assert!(ok.location().unwrap().starts_with("/payments/"));
}

#[tokio::test]
async fn a_bank_debit_needs_the_patients_authorization_which_the_receipt_keeps() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let form = app.get("/invoices/inv-1008/pay").await;
    assert!(
        form.body.contains("I authorize Cedar Valley Direct Primary Care to debit the amount above from the bank account I chose once"),
        "the form shows the words first"
    );
    let before = invoice_state(&app, "inv-1008").await;
    let refused = app.pay("inv-1008", &[("amount", "20"), ("source", "src-checking")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("check the box that authorizes the debit") && refused.body.contains("Nothing was charged"));
    assert_eq!(invoice_state(&app, "inv-1008").await, before);
    assert!(app.gateway.charges().is_empty());
    let paid = app.pay("inv-1008", &[("amount", "20"), ("source", "src-checking"), ("ach_authorize", "1")]).await;
    let receipt = app.get(paid.location().expect("a receipt")).await;
    assert!(receipt.body.contains("Your bank debit authorization"), "{}", receipt.body);
    assert!(
        receipt.body.contains(
            "to debit $20.00 from my Hill Country Bank checking ending 6789 once, on or after Nov 26, 2026, for invoice INV-1008"
        ),
        "{}",
        receipt.body
    );
    assert!(receipt.body.contains("portal-tests"), "the browser it was given from is kept");
    // A card needs no such box.
    let card = app.pay("inv-1008", &[("amount", "10"), ("source", "src-visa")]).await;
    assert!(card.location().is_some_and(|l| l.starts_with("/payments/")));
}

#[tokio::test]
async fn an_unknown_outcome_holds_the_amount_and_says_so() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let page = app.pay("inv-1008", &[new_card("4000 0000 0000 0119", "123"), vec![("amount", "30")]].concat()).await;
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(5000), Money::from_cents(3000), Money::from_cents(14000)));
    let form = app.get("/invoices/inv-1008/pay").await;
    assert!(form.body.contains(r#"value="110.00""#), "only the rest can be paid meanwhile");
    // While the processor cannot say either, the receipt says the amount is on hold.
    let sandbox = app.app.gateway.clone();
    app.app.gateway = Arc::new(portal_web::lambda::NoPayments);
    let receipt = app.get(page.location().unwrap()).await;
    assert!(receipt.body.contains("Payment processing") && receipt.body.contains("Nothing more will be charged"), "{}", receipt.body);
    assert_eq!(invoice_state(&app, "inv-1008").await.1, Money::from_cents(3000));
    // Once it can: the receipt asks what became of the charge (it went through) and records it.
    app.app.gateway = sandbox;
    let receipt = app.get(page.location().unwrap()).await;
    assert!(receipt.body.contains("Payment received"), "{}", receipt.body);
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(8000), Money::ZERO, Money::from_cents(11000)));
}

#[tokio::test]
async fn a_resubmitted_form_shows_the_first_result_and_charges_once() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let form = app.get("/invoices/inv-1008/pay").await;
    let fields = [
        ("csrf_token", form.csrf_token()),
        ("idempotency_key", TestApp::hidden(&form, "idempotency_key")),
        ("amount", "25".into()),
        ("source", "src-visa".into()),
        ("confirm", "1".into()),
        ("allocation", "inv-1008=25.00".into()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let first = app.post("/invoices/inv-1008/pay", &fields).await;
    let again = app.post("/invoices/inv-1008/pay", &fields).await;
    assert_eq!(first.location(), again.location(), "the same receipt");
    assert_eq!(app.gateway.charges().len(), 1);
    assert_eq!(invoice_state(&app, "inv-1008").await.0, Money::from_cents(7500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_form_submitted_ten_times_at_once_charges_once() {
    let app = signed_in(TestApp::dynamo().await, MARIA).await;
    let (form, _) = app.send(Method::GET, "/invoices/inv-1008/pay", None).await;
    let csrf = form.csrf_token();
    let key = TestApp::hidden(&form, "idempotency_key");
    let app = Arc::new(app);
    let mut set = JoinSet::new();
    for _ in 0..10 {
        let (app, csrf, key) = (Arc::clone(&app), csrf.clone(), key.clone());
        set.spawn(async move {
            let fields = [
                ("csrf_token", csrf.as_str()),
                ("idempotency_key", key.as_str()),
                ("amount", "60"),
                ("source", "src-visa"),
                ("confirm", "1"),
                ("allocation", "inv-1008=60.00"),
            ];
            app.send(Method::POST, "/invoices/inv-1008/pay", Some(&fields)).await.0
        });
    }
    let pages = set.join_all().await;
    assert_eq!(app.gateway.charges().len(), 1, "one charge");
    let receipts: Vec<&str> = pages.iter().filter_map(|p| p.location()).collect();
    assert_eq!(receipts.len(), 10, "every submit ends on the receipt: {:?}", pages.iter().map(|p| p.status).collect::<Vec<_>>());
    assert!(receipts.iter().all(|r| *r == receipts[0]), "the same receipt every time");
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(11000), Money::ZERO, Money::from_cents(8000)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_partial_payments_never_overpay() {
    let app = Arc::new(signed_in(TestApp::dynamo().await, MARIA).await);
    let mut set = JoinSet::new();
    for _ in 0..20 {
        let app = Arc::clone(&app);
        set.spawn(async move { paid_at_once(&app, "/invoices/inv-1008/pay", "10", "inv-1008=10.00").await });
    }
    let pages = set.join_all().await;
    let accepted = pages.iter().filter(|p| p.status == StatusCode::SEE_OTHER).count();
    let refused = pages.iter().filter(|p| p.status == StatusCode::UNPROCESSABLE_ENTITY).count();
    assert_eq!(accepted, 14, "$140 left: fourteen payments of $10 fit");
    assert_eq!(refused, 6);
    let (paid, pending, balance) = invoice_state(&app, "inv-1008").await;
    assert_eq!((paid, pending, balance), (Money::from_cents(19000), Money::ZERO, Money::ZERO), "paid never exceeds the total");
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    let succeeded: Vec<_> = records
        .ledger
        .payments()
        .unwrap()
        .into_iter()
        .filter(|p| p.invoice.as_str() == "inv-1008" && p.status == PaymentStatus::Succeeded && !p.idempotency_key.starts_with("import-"))
        .collect();
    assert_eq!(succeeded.len(), 14);
    let charges = app.gateway.charges();
    assert_eq!(charges.len(), 14, "every succeeded payment charged exactly once");
    for payment in succeeded {
        let reference = payment.gateway_reference.as_deref().expect("a succeeded payment names its charge");
        assert_eq!(charges.iter().filter(|c| c.reference == reference).count(), 1);
    }
}

#[tokio::test]
async fn a_declined_card_leaves_balance_and_pending_unchanged_on_dynamodb() {
    let mut app = signed_in(TestApp::dynamo().await, MARIA).await;
    let before = invoice_state(&app, "inv-1008").await;
    let page = app.pay("inv-1008", &[new_card("4000 0000 0000 0002", "123"), vec![("amount", "140")]].concat()).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invoice_state(&app, "inv-1008").await, before);
}

#[tokio::test]
async fn sam_cannot_remove_his_only_card() {
    let mut app = signed_in(TestApp::memory().await, "sam@example.com").await;
    let list = app.get("/payment-methods").await;
    assert!(list.body.contains("Mastercard ending 4444"));
    assert!(list.body.contains("cannot be removed"));
    assert!(!list.body.contains("/remove"), "no Remove button for the last source");
    let refused = app.post("/payment-methods/src-mastercard/remove", &[("csrf_token", &list.csrf_token())]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert!(refused.body.contains("only payment method"));
    assert!(app.get("/payment-methods").await.body.contains("Mastercard ending 4444"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_removals_at_once_leave_one_source() {
    let app = Arc::new(signed_in(TestApp::dynamo().await, MARIA).await);
    let (list, _) = app.send(Method::GET, "/payment-methods", None).await;
    let csrf = list.csrf_token();
    let mut set = JoinSet::new();
    for id in ["src-visa", "src-checking"] {
        let (app, csrf) = (Arc::clone(&app), csrf.clone());
        set.spawn(async move {
            app.send(Method::POST, &format!("/payment-methods/{id}/remove"), Some(&[("csrf_token", csrf.as_str())])).await.0.status
        });
    }
    let mut statuses = set.join_all().await;
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::SEE_OTHER, StatusCode::CONFLICT]);
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    assert_eq!(records.sources.len(), 1);
    assert!(records.sources[0].is_default, "the one left is the default");
}

#[tokio::test]
async fn maria_adds_a_bank_account_makes_it_default_and_removes_the_visa() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let form = app.get("/payment-methods/new").await;
    let csrf = form.csrf_token();
    let bad = app
        .post(
            "/payment-methods/new",
            &[("csrf_token", &csrf), ("new_kind", "bank"), ("account_holder", ""), ("routing_number", "1"), ("account_number", "x")],
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("Enter the name on the account") && bad.body.contains("9-digit routing number"));
    let added = app
        .post(
            "/payment-methods/new",
            &[
                ("csrf_token", &csrf),
                ("new_kind", "bank"),
                ("account_holder", "Maria Lopez"),
                ("routing_number", "021000021"),
                ("account_number", "55554444"),
                ("account_type", "savings"),
                ("make_default", "1"),
            ],
        )
        .await;
    assert_eq!(added.location(), Some("/payment-methods?done=added"));
    let list = app.get("/payment-methods?done=added").await;
    assert!(list.body.contains("The payment method was added."));
    assert!(list.body.contains("savings ending 4444"));
    assert_eq!(list.body.matches(r#"<span class="badge">Default</span>"#).count(), 1);
    // Removing asks first, naming the method (issue 25, item 5); nothing is removed by asking.
    assert!(list.body.contains(r#"href="/payment-methods/src-visa/remove""#), "Remove is a link to the question, not a form");
    let asked = app.get("/payment-methods/src-visa/remove").await;
    assert_eq!(asked.status, StatusCode::OK);
    assert!(asked.body.contains("Remove Visa ending 4242?"));
    assert!(app.get("/payment-methods").await.body.contains("Visa ending 4242"), "still there");
    let removed = app.post("/payment-methods/src-visa/remove", &[("csrf_token", &csrf)]).await;
    let to = removed.location().unwrap().to_owned();
    assert!(to.starts_with("/payment-methods?done=removed"), "{to}");
    let list = app.get(&to).await;
    assert!(list.body.contains("Removed Visa ending 4242."), "the notice says which");
    assert!(!list.body.contains("Visa ending 4242 ·") && !list.body.contains("data-source=\"src-visa\""));
    let forged = app.get("/payment-methods?done=removed&method=Call+us+at+555&check=0").await;
    assert!(
        !forged.body.contains("Call us") && forged.body.contains("The payment method was removed."),
        "a link cannot make it say anything else"
    );
    let default = app.post("/payment-methods/src-checking/default", &[("csrf_token", &csrf)]).await;
    assert_eq!(default.location(), Some("/payment-methods?done=default"));
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    assert_eq!(records.sources.iter().filter(|s| s.is_default).map(|s| s.id.as_str()).collect::<Vec<_>>(), ["src-checking"]);
}

#[tokio::test]
async fn other_members_and_households_find_nothing_here() {
    let mut daniel = TestApp::memory().await;
    daniel.request_code("daniel@example.com").await;
    let code = daniel.last_code_to("daniel@example.com").unwrap();
    daniel.enter_code(&code).await;
    for path in ["/invoices/inv-1008/pay", "/payment-methods", "/payment-methods/new"] {
        assert_eq!(daniel.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let mut sam = signed_in(TestApp::memory().await, "sam@example.com").await;
    assert_eq!(sam.get("/invoices/inv-1008/pay").await.status, StatusCode::NOT_FOUND);
    let csrf = sam.get("/payment-methods").await.csrf_token();
    assert_eq!(sam.post("/payment-methods/src-visa/remove", &[("csrf_token", &csrf)]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(sam.post("/payment-methods/src-visa/default", &[("csrf_token", &csrf)]).await.status, StatusCode::NOT_FOUND);
    let mut shared = signed_in(TestApp::memory().await, MARIA).await;
    let paid = shared.pay("inv-1008", &[("amount", "5"), ("source", "src-visa")]).await;
    let receipt = paid.location().unwrap().to_owned();
    assert_eq!(shared.get(&receipt).await.status, StatusCode::OK);
    shared.cookies.clear();
    shared.sign_in("sam@example.com").await;
    assert_eq!(shared.get(&receipt).await.status, StatusCode::NOT_FOUND, "another household's receipt");
}

#[tokio::test]
async fn card_numbers_and_security_codes_are_never_stored_or_logged() {
    let captured = portal_tests::LogCapture::default();
    let subscriber = tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(captured.clone()).finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let clock = Arc::new(portal_adapters::ManualClock::new(portal_tests::test_now()));
    let table = Arc::new(portal_adapters::MemoryTable::new(clock.clone()));
    let outbox = Arc::new(portal_adapters::OutboxMailer::new());
    let mut app = signed_in(TestApp::build(table.clone(), clock, outbox.clone(), outbox).await, MARIA).await;
    let mut fields = new_card("4242 4242 4242 4242", "7319");
    fields.extend([("amount", "40"), ("save", "1")]);
    let paid = app.pay("inv-1008", &fields).await;
    assert!(paid.location().unwrap().starts_with("/payments/"));
    let mut bank = app
        .pay(
            "inv-1008",
            &[
                ("amount", "5"),
                ("source", "new"),
                ("new_kind", "bank"),
                ("account_holder", "M L"),
                ("routing_number", "110000000"),
                ("account_number", "000987654321"),
                ("save", "1"),
                ("ach_authorize", "1"),
            ],
        )
        .await;
    assert!(bank.location().is_some(), "{}", std::mem::take(&mut bank.body));

    let stored: String = table.items().iter().map(|item| format!("{item:?}")).collect();
    let logged = captured.text();
    assert!(logged.contains("\"route\":\"pay-invoice\""), "the requests were logged");
    for (what, text) in [("stored items", &stored), ("logs", &logged)] {
        assert!(!text.contains("4242424242424242") && !text.contains("4242 4242 4242 4242"), "card number in {what}");
        assert!(!text.contains("000987654321"), "account number in {what}");
        let digit_runs: Vec<&str> = text.split(|c: char| !c.is_ascii_digit()).collect();
        assert!(!digit_runs.contains(&"7319"), "security code in {what}");
    }
    // The last four digits are kept for display: the new card's beside the demo's Visa (also 4242),
    // and the bank account's, which nothing else in the demo has.
    let sources = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap().sources;
    let last4s: Vec<String> = sources
        .into_iter()
        .map(|s| match s.details {
            portal_domain::SourceDetails::Card { last4, .. } | portal_domain::SourceDetails::BankAccount { last4, .. } => last4,
        })
        .collect();
    assert_eq!(last4s.iter().filter(|l| *l == "4242").count(), 2, "the new card is kept by its last four: {last4s:?}");
    assert!(last4s.iter().any(|l| l == "4321"), "the bank account is kept by its last four: {last4s:?}");
}

#[tokio::test]
async fn a_card_already_on_file_is_kept_once_and_said_so() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let add = |csrf: String, make_default: bool| {
        let mut fields: Vec<(&'static str, String)> =
            new_card("5555 5555 5555 4444", "321").into_iter().map(|(k, v)| (k, v.to_owned())).collect();
        fields.push(("csrf_token", csrf));
        if make_default {
            fields.push(("make_default", "yes".into()));
        }
        fields
    };
    let csrf = app.get("/payment-methods/new").await.csrf_token();
    let fields = add(csrf.clone(), false);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.post("/payment-methods/new", &fields).await.location(), Some("/payment-methods?done=added"));
    let fields = add(csrf, true);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.post("/payment-methods/new", &fields).await.location(), Some("/payment-methods?done=exists"));
    assert!(app.get("/payment-methods?done=exists").await.body.contains("That payment method is already on file."));
    let lopez = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    let cards: Vec<_> = lopez.sources.iter().filter(|s| s.details.describe().contains("4444")).collect();
    assert_eq!(cards.len(), 1, "kept once");
    assert!(cards[0].is_default, "asking for it as the default still makes it the default");
}

async fn lopez_payments(app: &TestApp) -> usize {
    store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap().ledger.payments().unwrap().len()
}

/// A saved card chosen while a new card was typed: which one is meant is asked, and nothing is
/// charged (the patient saw the new card they typed; the radio still named the Visa).
#[tokio::test]
async fn a_saved_method_chosen_with_a_new_card_typed_is_asked_about_and_not_charged() {
    let mut app = signed_in(TestApp::memory().await, "maria@example.com").await;
    let before = invoice_state(&app, "inv-1008").await;
    let payments_before = lopez_payments(&app).await;
    let mut fields = vec![("amount", "20.00"), ("source", "src-visa")];
    fields.extend(new_card("5555555555554444", "321").into_iter().filter(|(name, _)| *name != "source"));
    let page = app.pay("inv-1008", &fields).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("choose which one to pay with"), "{}", page.body);
    assert!(page.body.contains("Nothing was charged"));
    assert_eq!(invoice_state(&app, "inv-1008").await, before);
    let after = lopez_payments(&app).await;
    assert_eq!(after, payments_before, "no payment was attempted");
}

// Issue 25, item 4: a review before any charge, which works without JavaScript (plain forms).
#[tokio::test]
async fn nothing_is_charged_until_the_review_is_confirmed_and_change_keeps_what_was_typed() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let review = app.review_payment("/invoices/inv-1008/pay", &[("amount", "40"), ("source", "src-visa")]).await;
    assert_eq!(review.status, StatusCode::OK, "{}", review.body);
    assert!(review.body.contains("Pay <strong>$40.00</strong> with <strong>Visa ending 4242</strong>"), "{}", review.body);
    assert!(review.body.contains("Nothing has been charged yet"));
    assert!(app.gateway.charges().is_empty(), "the review charges nothing");
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(5000), Money::ZERO, Money::from_cents(14000)));

    // "Change": the form again, as it was typed, still charging nothing.
    let fields = TestApp::review_fields(&review, "edit").expect("a Change button");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let form = app.post("/invoices/inv-1008/pay", &fields).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains(r#"value="40""#), "the amount as typed: {}", form.body);
    assert!(form.body.contains(r#"value="src-visa" checked"#));
    assert!(app.gateway.charges().is_empty());

    // "Pay now" charges once, and pressing it again (a double click) changes nothing.
    let paid = app.confirm_review(review.clone()).await;
    assert!(paid.location().is_some_and(|l| l.starts_with("/payments/")), "{}", paid.body);
    let again = app.confirm_review(review).await;
    assert_eq!(again.location(), paid.location());
    assert_eq!(app.gateway.charges().len(), 1);
    assert_eq!(invoice_state(&app, "inv-1008").await.2, Money::from_cents(10000));
}

#[tokio::test]
async fn a_bank_debit_review_shows_the_whole_authorization_with_amount_and_account() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let review =
        app.review_payment("/invoices/inv-1008/pay", &[("amount", "25.00"), ("source", "src-checking"), ("ach_authorize", "1")]).await;
    assert!(review.body.contains("Your bank debit authorization"), "{}", review.body);
    assert!(review.body.contains("to debit $25.00 from my"), "{}", review.body);
    assert!(app.gateway.charges().is_empty());
    // Without the box checked, the form says so before any review.
    let form = app.review_payment("/invoices/inv-1008/pay", &[("amount", "25.00"), ("source", "src-checking")]).await;
    assert_eq!(form.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(form.body.contains("check the box that authorizes the debit"));
}

/// Maria's invoices with something due: INV-1008 ($140.00 left, past due) and INV-1009 ($190.00).
#[tokio::test]
async fn pay_total_due_pays_every_invoice_oldest_first_in_one_charge_with_one_receipt() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let overview = app.get("/invoices").await;
    // The link names the oldest invoice it pays, so the form reads from there up.
    let link = overview.body.split(r#"id="pay-total" href=""#).nth(1).and_then(|r| r.split('"').next()).expect("the overview offers it");
    assert!(link.starts_with("/pay-due?since="), "{link}");
    let form = app.get(link).await;
    assert!(form.body.contains(r#"value="330.00""#), "the total is prefilled");
    let inv_1008 = form.body.find("INV-1008").unwrap();
    assert!(inv_1008 < form.body.find("INV-1009").unwrap(), "oldest first");

    let review = app.review_payment("/pay-due", &[("amount", "330.00"), ("source", "src-visa")]).await;
    assert!(review.body.contains("Pay <strong>$330.00</strong>"), "{}", review.body);
    assert!(review.body.contains("INV-1008") && review.body.contains("INV-1009"));
    let paid = app.confirm_review(review).await;
    let receipt_path = paid.location().expect("a receipt").to_owned();
    let charges = app.gateway.charges();
    assert_eq!(charges.len(), 1, "one charge for both");
    assert_eq!(charges[0].amount, Money::from_cents(33000));
    assert_eq!(invoice_state(&app, "inv-1008").await, (Money::from_cents(19000), Money::ZERO, Money::ZERO));
    assert_eq!(invoice_state(&app, "inv-1009").await, (Money::from_cents(19000), Money::ZERO, Money::ZERO));

    let receipt = app.get(&receipt_path).await;
    assert!(receipt.body.contains(r#"id="receipt-amount">$330.00"#), "{}", receipt.body);
    assert!(receipt.body.contains("Invoices this payment paid"));
    let part_1008 = receipt.body.find(">INV-1008<").expect("INV-1008 listed");
    assert!(part_1008 < receipt.body.find(">INV-1009<").expect("INV-1009 listed"));
    let email = app.outbox.last_to(MARIA).expect("a receipt email");
    assert!(email.subject.contains("$330.00 paid on invoices INV-1008 and INV-1009"), "{}", email.subject);
    // Each invoice shows its own part, and the statement lists each.
    let invoice = app.get("/invoices/inv-1008").await;
    assert!(invoice.body.contains(r#"id="invoice-balance">$0.00"#));
    let statement = app.get("/statement").await;
    assert!(statement.body.contains("Payment on INV-1008") && statement.body.contains("Payment on INV-1009"));
    let nothing = app.get("/pay-due").await;
    assert!(nothing.body.contains("Nothing is due now"));
}

#[tokio::test]
async fn part_of_the_total_goes_to_the_oldest_invoice_first() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let review = app.review_payment("/pay-due", &[("amount", "200"), ("source", "src-visa")]).await;
    let paid = app.confirm_review(review).await;
    assert!(paid.location().is_some());
    assert_eq!(invoice_state(&app, "inv-1008").await.2, Money::ZERO, "the oldest is paid in full");
    assert_eq!(invoice_state(&app, "inv-1009").await.2, Money::from_cents(13000), "the rest goes to the next");
    let over = app.review_payment("/pay-due", &[("amount", "130.01"), ("source", "src-visa")]).await;
    assert_eq!(over.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(over.body.contains("more than the $130.00 that can be paid now"), "{}", over.body);
}

/// Several "Pay total due" and single payments at once, on DynamoDB: each invoice is reserved in
/// the same transaction, so nothing is ever overpaid and every charge is one that was accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_total_and_single_payments_never_overpay() {
    let app = Arc::new(signed_in(TestApp::dynamo().await, MARIA).await);
    let mut set = JoinSet::new();
    for n in 0..8 {
        let app = Arc::clone(&app);
        set.spawn(async move {
            let (path, amount, split) = if n % 2 == 0 {
                ("/pay-due", "330.00", "inv-1008=140.00;inv-1009=190.00")
            } else {
                ("/invoices/inv-1009/pay", "100.00", "inv-1009=100.00")
            };
            paid_at_once(&app, path, amount, split).await
        });
    }
    let pages = set.join_all().await;
    let accepted = pages.iter().filter(|p| p.status == StatusCode::SEE_OTHER).count();
    assert!(accepted >= 1);
    assert_eq!(app.gateway.charges().len(), accepted, "a charge for each accepted payment and no other");
    let (paid_1008, pending_1008, _) = invoice_state(&app, "inv-1008").await;
    let (paid_1009, pending_1009, _) = invoice_state(&app, "inv-1009").await;
    assert!(paid_1008 + pending_1008 <= Money::from_cents(19000), "INV-1008 overpaid");
    assert!(paid_1009 + pending_1009 <= Money::from_cents(19000), "INV-1009 overpaid");
    let charged: Money = app.gateway.charges().iter().map(|c| c.amount).sum();
    assert_eq!(charged, paid_1008 + paid_1009 - Money::from_cents(5000), "what was charged is what the invoices record");
}

/// What the review showed is what is charged: when another payment lands between the review and
/// "Pay now" (the other adult billing is shared with, say), the patient is asked to review again.
#[tokio::test]
async fn a_review_whose_split_changed_meanwhile_charges_nothing() {
    let mut app = signed_in(TestApp::memory().await, MARIA).await;
    let review = app.review_payment("/pay-due", &[("amount", "150.00"), ("source", "src-visa")]).await;
    assert!(review.body.contains("INV-1008"));
    let meanwhile = app.pay("inv-1008", &[("amount", "140.00"), ("source", "src-visa")]).await;
    assert!(meanwhile.location().is_some());
    let stale = app.confirm_review(review).await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("The amounts due changed since you reviewed this payment"), "{}", stale.body);
    assert_eq!(app.gateway.charges().len(), 1, "only the payment made meanwhile");
    assert_eq!(invoice_state(&app, "inv-1009").await.2, Money::from_cents(19000));
}

/// The most invoices one payment pays (`pay::MAX_INVOICES_PER_PAYMENT`) fit one DynamoDB
/// transaction with everything a payment writes beside them (each part, its copy, its invoice and
/// the practice's event; the summary, the figures by month and their totals, the receipts and
/// their index), and a new card saved with it: the payment goes through, not left pending.
#[tokio::test]
async fn the_most_invoices_one_payment_pays_fit_one_transaction_on_dynamodb() {
    let mut app = signed_in(TestApp::dynamo().await, "maria@example.com").await;
    let most = portal_domain::pay::MAX_INVOICES_PER_PAYMENT;
    portal_tests::grow_household_by(app.app.table.as_ref(), u32::try_from(most).unwrap() + 2, 0).await;
    let amount = Money::parse("80").unwrap().amount() * rust_decimal::Decimal::from(most);
    let lopez = AccountId::parse("lopez").unwrap();
    let sources_before = store::household(app.app.table.as_ref(), &lopez).await.unwrap().sources.len();
    let amount = amount.to_string();
    let mut fields = new_card("4242424242424242", "123");
    fields.extend([("amount", amount.as_str()), ("save", "1")]);
    let review = app.review_payment("/pay-due", &fields).await;
    let paid = app.confirm_review(review).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    // As stored, before the receipt's page (which asks the processor about a pending one) is opened.
    let records = store::household(app.app.table.as_ref(), &lopez).await.unwrap();
    let parts: Vec<_> = records.ledger.payments().unwrap().into_iter().filter(|p| p.batch.is_some()).collect();
    assert_eq!(parts.len(), most, "one part an invoice");
    assert_eq!(records.sources.len(), sources_before + 1, "the new card saved with it");
    assert!(parts.iter().all(|p| p.status == PaymentStatus::Succeeded), "settled in one transaction, not left pending");
    assert!(app.get(paid.location().unwrap()).await.body.contains("Payment received"));
}
