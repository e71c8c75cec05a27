//! Rendering tests, including hostile input.

use chrono::NaiveDate;
use portal_domain::*;

use crate::layout::{Chrome, Nav};

const HOSTILE: &str = "<script>alert(1)</script>\"'&";

fn chrome<'a>(nav: Option<Nav<'a>>) -> Chrome<'a> {
    Chrome { practice: HOSTILE, nav }
}

fn invoice(number: &str, cents: i64, paid: i64, issued: &str, due: &str) -> Invoice {
    let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
    Invoice::new(InvoiceData {
        id: InvoiceId::parse("i1").unwrap(),
        account: AccountId::parse("a1").unwrap(),
        number: number.into(),
        issued: d(issued),
        due: d(due),
        lines: vec![LineItem {
            member: None,
            description: HOSTILE.into(),
            period_start: None,
            period_end: None,
            amount: Money::from_cents(cents),
        }],
        paid: Money::from_cents(paid),
        pending: Money::ZERO,
        void: false,
    })
    .unwrap()
}

/// The overview's first page of all invoices, as the invoices function renders it.
fn overview(chrome: &crate::layout::Chrome<'_>, today: NaiveDate, name: &str, invoices: &[Invoice]) -> String {
    use crate::invoices::{listing_of, Filter};
    use portal_domain::store::{invoice_list::ListRead, summary::Summary};
    let read = ListRead { household: None, summary: Some(Summary::of_invoices(invoices)), invoices: invoices.to_vec(), more: false };
    let listing = listing_of(&read, Filter::All, today, 1, None);
    crate::invoices::overview(chrome, today, Some(name), &listing, Filter::All).into_string()
}

#[test]
fn hostile_text_is_escaped_everywhere() {
    let nav = Nav { current: None, csrf_token: HOSTILE, is_owner: true, handles_billing: true, member_name: HOSTILE };
    let pages = [
        crate::signin::email_page(&chrome(None), HOSTILE, HOSTILE, Some(HOSTILE), Some(HOSTILE)).into_string(),
        crate::signin::code_page(&chrome(None), HOSTILE, HOSTILE, Some(HOSTILE), None).into_string(),
        overview(
            &chrome(Some(nav)),
            NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
            HOSTILE,
            &[invoice(HOSTILE, 100, 0, "2026-11-01", "2026-11-15")],
        ),
        crate::errors::error_page(&chrome(None), 404, Some(HOSTILE), HOSTILE).into_string(),
    ];
    for html in pages {
        assert!(!html.contains("<script>"), "unescaped script in {html}");
        assert!(html.contains("&lt;script&gt;"));
    }
}

#[test]
fn overview_shows_balances_and_flags_past_due() {
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let invoices = [invoice("INV-2", 19000, 0, "2026-11-21", "2026-12-05"), invoice("INV-1", 19000, 5000, "2026-10-22", "2026-11-05")];
    let html = overview(&chrome(None), today, "Lopez household", &invoices);
    assert!(html.contains("$330.00"), "total due");
    assert!(html.contains(r#"id="past-due">$140.00"#), "past due");
    assert!(html.contains(r#"<span class="badge past-due">Past due</span>"#));
    assert!(html.contains(r#"<span class="badge open">Open</span>"#));
    assert!(html.find("INV-2").unwrap() < html.find("INV-1").unwrap(), "newest first");
}

#[test]
fn fields_tie_errors_to_inputs() {
    let html = crate::signin::email_page(&chrome(None), "t", "x", Some("Enter an email address."), None).into_string();
    assert!(html.contains(r#"aria-describedby="f-email-error""#));
    assert!(html.contains(r#"id="f-email-error""#));
    assert!(html.contains(r#"aria-invalid="true""#));
}

#[test]
fn code_email_has_both_parts_and_names_the_practice() {
    let m = crate::emails::signin_code("maria@example.com", "Cedar Valley", "123456", 10);
    assert!(m.subject.contains("123456") && m.subject.contains("Cedar Valley"));
    assert!(m.html.contains("123456") && m.text.contains("123456"));
    assert!(m.text.contains("10 minutes"));
}

#[test]
fn stylesheet_is_small() {
    assert!(crate::STYLESHEET.len() < 12_000);
}

fn practice() -> Practice {
    Practice {
        name: HOSTILE.into(),
        phone: PhoneNumber::parse("512-555-0100").unwrap(),
        email: Email::parse("care@example.com").unwrap(),
        address: UsAddress::parse(&AddressInput { line1: HOSTILE, line2: "", city: "Austin", state: "TX", postal_code: "78701" }).unwrap(),
        tax_id: None,
        npi: None,
        hsa_note: false,
        leaving: Default::default(),
    }
}

fn household() -> Household {
    Household {
        id: AccountId::parse("a1").unwrap(),
        name: HOSTILE.into(),
        owner: MemberId::parse("m1").unwrap(),
        billing_address: None,
        processor_customer: None,
        billing_shared_with: Vec::new(),
        version: 1,
    }
}

#[test]
fn invoice_detail_and_statement_escape_hostile_text() {
    let practice = practice();
    let household = household();
    let inv = invoice("INV-9", 12345, 0, "2026-11-01", "2026-11-15");
    let view = crate::invoice::InvoiceView {
        practice: &practice,
        household: &household,
        names: &Default::default(),
        invoice: &inv,
        payments: vec![],
        today: NaiveDate::from_ymd_opt(2026, 11, 26).unwrap(),
    };
    let detail = crate::invoice::detail(&chrome(None), &view).into_string();
    let print = crate::invoice::print_view(&chrome(None), &view).into_string();
    let from = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
    let activity = portal_domain::statement::Activity {
        date: from,
        kind: portal_domain::statement::ActivityKind::Charge,
        amount: Money::from_cents(100),
        description: HOSTILE.into(),
    };
    let s = portal_domain::statement::statement(&[activity], from, from);
    let statement = crate::statement::page_for(&chrome(None), HOSTILE, HOSTILE, HOSTILE, Some(HOSTILE), Some(&s)).into_string();
    for html in [detail, print, statement] {
        assert!(!html.contains("<script>"));
        assert!(html.contains("&lt;script&gt;"));
    }
}

#[test]
fn invoice_detail_offers_pay_only_with_a_balance() {
    let practice = practice();
    let household = household();
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    let open = invoice("INV-1", 19000, 5000, "2026-11-01", "2026-11-15");
    let paid = invoice("INV-2", 19000, 19000, "2026-10-01", "2026-10-15");
    let names = std::collections::BTreeMap::new();
    let view = |inv| crate::invoice::InvoiceView {
        practice: &practice,
        household: &household,
        names: &names,
        invoice: inv,
        payments: vec![],
        today,
    };
    let html = crate::invoice::detail(&chrome(None), &view(&open)).into_string();
    assert!(html.contains("/invoices/i1/pay") && html.contains("Pay $140.00"));
    assert!(html.contains(r#"id="invoice-balance">$140.00"#));
    let html = crate::invoice::detail(&chrome(None), &view(&paid)).into_string();
    assert!(!html.contains("/pay"));
}
