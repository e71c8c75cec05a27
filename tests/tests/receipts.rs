//! Receipts through the real handlers: every payment's itemized receipt (page and PDF) has what an
//! HSA or FSA administrator asks for, and each year's summary PDF adds up to that year's payments
//! (on the demo and on a household with 500 invoices).

use std::collections::BTreeMap;

use chrono::Datelike;
use lambda_http::http::StatusCode;
use portal_domain::{receipts, store, Money, PaymentStatus};
use portal_tests::{pdf_text, TestApp};

const MARIA: &str = "maria@example.com";

async fn maria() -> TestApp {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    app
}

async fn lopez(app: &TestApp) -> store::HouseholdRecords {
    store::household(app.app.table.as_ref(), &"lopez".to_owned().try_into().unwrap()).await.unwrap()
}

/// Text with runs of spaces made one, so columns laid out by `pdftotext -layout` read as phrases.
/// The href of the first link on `page` with `attribute` (`download`, …), as a path to request.
fn link_of(page: &str, attribute: &str) -> String {
    let tag = page.split("<a ").find(|tag| tag.split('>').next().is_some_and(|open| open.contains(attribute))).expect("the link");
    tag.split(r#"href=""#).nth(1).and_then(|rest| rest.split('"').next()).expect("its href").replace("&amp;", "&")
}

fn squeeze(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The total a summary prints on its "Total paid in YEAR (N payments)" line.
fn summary_total(text: &str, year: i32) -> (usize, String) {
    let text = squeeze(text);
    let start = text.find(&format!("Total paid in {year} (")).unwrap_or_else(|| panic!("no total line in {text}"));
    let rest = &text[start..];
    let count: usize = rest[format!("Total paid in {year} (").len()..].split(' ').next().unwrap().parse().unwrap();
    let amount = rest.split(") ").nth(1).unwrap().split(' ').next().unwrap().to_owned();
    (count, amount)
}

#[tokio::test]
async fn every_payments_receipt_has_what_an_hsa_administrator_asks_for() {
    let mut app = maria().await;
    let records = lopez(&app).await;
    let payments = records.ledger.payments().unwrap();
    assert!(payments.len() >= 5, "the demo has a payment history");
    for payment in payments.iter().filter(|p| p.status == PaymentStatus::Succeeded) {
        let page = app.get(&format!("/receipts/{}", payment.id)).await;
        assert_eq!(page.status, StatusCode::OK, "{}", payment.id);
        let invoice = records.ledger.invoice(&payment.invoice).unwrap().unwrap();
        let paid_on = app.app.date_of(payment.at);
        let pdf = app.get(&format!("/receipts/{}/pdf", payment.id)).await;
        assert_eq!(pdf.status, StatusCode::OK);
        assert_eq!(pdf.headers["content-type"], "application/pdf");
        let text = squeeze(&pdf_text(&pdf.bytes));
        for field in [
            "Cedar Valley Direct Primary Care",
            "400 Main Street",
            "Cedar Valley, TX 78613",
            "(512) 555-0100",
            "Tax ID (EIN) 12-3456789",
            "NPI 1234567893",
            "Received from Lopez household",
            &format!("Paid {}", paid_on.format("%b %-d, %Y")),
            &format!("Paid with {}", payment.source.describe()),
            &format!("Total paid {}", payment.amount),
            &format!("Invoice {}", invoice.number()),
        ] {
            assert!(text.contains(field), "receipt {} lacks {field:?}: {text}", payment.id);
        }
        let shown = squeeze(&page.body);
        for field in
            ["Cedar Valley Direct Primary Care", "400 Main Street", "Tax ID (EIN) 12-3456789", "NPI 1234567893", &payment.source.describe()]
        {
            assert!(shown.contains(field), "the page has {field:?} too");
        }
        assert!(shown.contains(&format!(r#"id="receipt-date"><time datetime="{paid_on}">"#)), "{shown}");
        // Each line it covered: the patient, the description, the service period and the amount.
        let covered = receipts::covered(&invoice, &records.ledger.payments_for(&payment.invoice).unwrap(), payment);
        for (line, paid) in invoice.lines().iter().zip(covered).filter(|(_, paid)| !paid.is_zero()) {
            let member = records.member(line.member.as_ref().unwrap()).unwrap();
            let start = line.period_start.unwrap().format("%b %-d, %Y").to_string();
            for field in [member.full_name(), line.description.clone(), start, paid.to_string()] {
                assert!(text.contains(&field), "receipt {} lacks {field:?}: {text}", payment.id);
            }
        }
    }
}

#[tokio::test]
async fn the_receipts_page_lists_the_years_payments_and_links_each_receipt_and_summary() {
    let mut app = maria().await;
    let page = app.get("/receipts").await;
    assert_eq!(page.status, StatusCode::OK);
    let payments = lopez(&app).await.ledger.payments().unwrap();
    let year = app.app.date_of(payments.iter().map(|p| p.at).max().unwrap()).year();
    assert!(page.body.contains(&format!("Paid in {year}")));
    assert!(page.body.contains(&format!(r#"href="/receipts/years/{year}/pdf""#)));
    for p in payments.iter().filter(|p| app.app.date_of(p.at).year() == year) {
        assert!(page.body.contains(&format!(r#"href="/receipts/{}?invoices="#, p.id)), "{}", p.id);
    }
    assert!(app.get("/invoices").await.body.contains(r#"href="/receipts""#), "the invoices page links the receipts");
    assert!(app.get("/invoices/inv-1008").await.body.contains(r#"href="/receipts/pay-"#), "an invoice links its payments' receipts");
    // A year given by hand that has no payments shows the latest one; nonsense is not an error.
    assert_eq!(app.get("/receipts?year=1990").await.status, StatusCode::OK);
    assert_eq!(app.get("/receipts?year=abc").await.status, StatusCode::OK);
    // Another household's payment and a made-up id have no receipt here.
    assert_eq!(app.get("/receipts/pay-0").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_payment_of_several_invoices_has_one_receipt_listing_each_line() {
    let mut app = maria().await;
    let review = app.review_payment("/pay-due", &[("amount", "330.00"), ("source", "src-visa")]).await;
    let paid = app.confirm_review(review).await;
    let receipt = app.get(paid.location().expect("the payment's page")).await;
    assert_eq!(receipt.status, StatusCode::OK, "{}", receipt.body);
    let link = receipt
        .body
        .split(r#"id="itemized-receipt" href=""#)
        .nth(1)
        .expect("the itemized receipt is linked")
        .split('"')
        .next()
        .unwrap()
        .to_owned();
    let page = app.get(&link).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"id="receipt-total">$330.00"#), "{}", page.body);
    let pdf = link_of(&page.body, r#"download"#);
    assert!(pdf.contains("/pdf?invoices="), "{pdf}");
    let text = squeeze(&pdf_text(&app.get(&pdf).await.bytes));
    assert!(text.contains("Invoice INV-1008") && text.contains("Invoice INV-1009"), "{text}");
    assert!(text.contains("Total paid $330.00"), "{text}");
    // Each part's own id leads to the same receipt.
    let records = lopez(&app).await;
    let parts: Vec<_> = records.ledger.payments().unwrap().into_iter().filter(|p| p.batch.is_some()).collect();
    assert_eq!(parts.len(), 2);
    for part in parts {
        assert!(app.get(&format!("/receipts/{}", part.id)).await.body.contains(r#"id="receipt-total">$330.00"#));
    }
}

#[tokio::test]
async fn a_payment_that_did_not_go_through_has_no_receipt() {
    let mut app = maria().await;
    let records = lopez(&app).await;
    let mut declined = records.ledger.payments().unwrap()[0].clone();
    declined.id = "pay-declined".to_owned().try_into().unwrap();
    declined.status = PaymentStatus::Declined("Your card was declined.".into());
    app.app.table.write(store::put_payment(&declined).unwrap()).await.unwrap();
    assert_eq!(app.get("/receipts/pay-declined").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/receipts/pay-declined/pdf").await.status, StatusCode::NOT_FOUND);
}

/// Each year's summary prints the year's total and count, equal to the sum of that year's
/// payments, with membership fees and other charges adding up to it.
async fn summaries_add_up(app: &mut TestApp) -> usize {
    let payments = lopez(app).await.ledger.payments().unwrap();
    let mut expected: BTreeMap<i32, (usize, Money)> = BTreeMap::new();
    for p in payments.iter().filter(|p| p.status == PaymentStatus::Succeeded) {
        let entry = expected.entry(app.app.date_of(p.at).year()).or_insert((0, Money::ZERO));
        *entry = (entry.0 + 1, entry.1 + p.amount);
    }
    for (year, (count, total)) in &expected {
        let pdf = app.get(&format!("/receipts/years/{year}/pdf")).await;
        assert_eq!(pdf.status, StatusCode::OK);
        let text = pdf_text(&pdf.bytes);
        assert_eq!(summary_total(&text, *year), (*count, total.to_string()), "{year}: {text}");
        let flat = squeeze(&text);
        let amount_after = |label: &str| {
            let text = flat.split(&format!("{label} $")).last().unwrap().split(' ').next().unwrap();
            Money::parse(text).unwrap_or_else(|e| panic!("{label}: {text:?} {e}"))
        };
        assert_eq!(amount_after("Membership fees") + amount_after("Other charges (visits, labs)"), *total, "{year}");
    }
    expected.len()
}

#[tokio::test]
async fn each_years_summary_adds_up_to_that_years_payments_on_the_demo() {
    let mut app = maria().await;
    assert!(summaries_add_up(&mut app).await >= 1);
    let year = app.app.today().year();
    let text = squeeze(&pdf_text(&app.get(&format!("/receipts/years/{year}/pdf")).await.bytes));
    for field in ["Maria Lopez", "Month paid", "Membership fees", "Tax ID (EIN) 12-3456789", "NPI 1234567893"] {
        assert!(text.contains(field), "{field:?}: {text}");
    }
    // The demo practice enables the HSA note: the Lopez membership covers three people.
    assert!(text.contains("a month for 3 people is within the $300.00 a month limit"), "{text}");
    // A year without payments is a summary that says so.
    let empty = squeeze(&pdf_text(&app.get("/receipts/years/2001/pdf").await.bytes));
    assert!(empty.contains("No payments in 2001.") && empty.contains("Total paid in 2001 (0 payments) $0.00"), "{empty}");
}

#[tokio::test]
async fn each_years_summary_adds_up_on_a_household_with_500_invoices() {
    let mut app = maria().await;
    portal_tests::grow_household(app.app.table.as_ref()).await;
    assert!(summaries_add_up(&mut app).await >= 4, "the grown history spans several years");
}
