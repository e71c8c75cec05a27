//! What the benchmarks measure: every signed-in page of the demo, as Maria (the owner) sees it,
//! and a household grown to 500 invoices and 200 payments.

use lambda_http::http::Method;
use portal_tests::TestApp;
pub use portal_tests::{grow_household, grow_household_by};

pub const MARIA: &str = "maria@example.com";

/// Every page a signed-in owner can open (GET), by route, with the demo's ids.
pub const PAGES: &[(&str, &str)] = &[
    ("invoices", "/invoices"),
    ("unpaid invoices", "/invoices?show=unpaid"),
    ("paid invoices", "/invoices?show=paid"),
    ("older invoices", "/invoices?before=2026-06-01.inv-1003&page=2"),
    ("invoice", "/invoices/inv-1008"),
    ("invoice print view", "/invoices/inv-1008?print=1"),
    ("invoice PDF", "/invoices/inv-1008/pdf"),
    ("statement", "/statement"),
    ("statement PDF", "/statement/pdf"),
    ("pay form", "/invoices/inv-1008/pay"),
    ("payment receipt", "/payments/pay-1008"),
    ("members", "/members"),
    ("contact form", "/members/maria/contact"),
    ("memberships", "/memberships"),
    ("renew", "/memberships/ms-lopez-2/renew"),
    ("add dependent", "/memberships/ms-lopez-2/dependents/new"),
    ("payment methods", "/payment-methods"),
    ("new payment method", "/payment-methods/new"),
    ("agreements", "/agreements"),
    ("agreement", "/agreements/agr-financial"),
    ("signed agreement PDF", "/agreements/agr-membership/pdf"),
    ("receipts", "/receipts"),
    ("itemized receipt", "/receipts/pay-1008"),
    ("email preferences", "/members/maria/email"),
    ("leave", "/memberships/ms-lopez-2/leave"),
    ("automatic payment", "/payment-methods/autopay"),
    ("activity", "/activity"),
];

/// The statement of every year of the grown household's history (2010–2019: 500 invoices, 200 payments).
pub const LONG_STATEMENT: &str = "/statement?from=2010-01-01&to=2019-12-31";

/// The households every page is measured for besides the demo: the demo (with its few open
/// invoices) grown by this many invoices of years past, each paid by card: 10 to 5,000 invoices.
/// (The 500-invoice household of the handler-time budget leaves 300 unpaid: the invoice list's
/// cost follows the open invoices, and that one shows what 300 cost.)
pub const GROWN_BY: &[u32] = &[10, 100, 1_000, 5_000];

/// How many invoices and payments the demo household has once grown.
pub async fn history_of(table: &dyn portal_domain::Table) -> (usize, usize) {
    let lopez = portal_domain::AccountId::parse("lopez").expect("valid");
    let records = portal_domain::store::household(table, &lopez).await.expect("the household");
    (records.ledger.invoices().expect("invoices").len(), records.ledger.payments().expect("payments").len())
}

/// Pages before sign-in.
pub const PUBLIC_PAGES: &[(&str, &str)] = &[("sign-in", "/sign-in"), ("home", "/")];

/// The demo in memory with Maria signed in.
pub async fn signed_in() -> TestApp {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    app
}

/// The path as a patient reaches the page: a pay form through the Pay link of its invoice's page,
/// which names the invoice's issue date (`Route::pay_link`); a payment's receipt through the
/// receipts list, whose links name its invoices (`Route::receipt_link`, as the pay form's
/// redirect and the receipt email do); any other path as it is.
pub async fn as_linked(app: &TestApp, path: &str) -> String {
    if let Some(id) = path.strip_prefix("/payments/").or_else(|| path.strip_prefix("/receipts/")).filter(|id| !id.contains('/')) {
        let (list, _) = app.send(Method::GET, "/receipts", None).await;
        let marker = format!(r#"href="/receipts/{id}?"#);
        return match list.body.split_once(&marker).and_then(|(_, rest)| rest.split_once('"')) {
            Some((query, _)) => format!("{path}?{}", query.replace("&amp;", "&")),
            None => path.to_owned(),
        };
    }
    let Some(invoice) = path.strip_suffix("/pay") else { return invoice_as_linked(app, path).await };
    let (page, _) = app.send(Method::GET, invoice, None).await;
    let marker = format!(r#"href="{path}?"#);
    match page.body.split_once(&marker).and_then(|(_, rest)| rest.split_once('"')) {
        Some((query, _)) => format!("{path}?{query}"),
        None => path.to_owned(),
    }
}

/// An invoice's page, print view or PDF as the invoice list links it, with its issue date
/// (`Route::invoice_link`); any other path as it is.
async fn invoice_as_linked(app: &TestApp, path: &str) -> String {
    let (route, query) = path.split_once('?').unwrap_or((path, ""));
    let Some(id) = route.strip_prefix("/invoices/").map(|rest| rest.trim_end_matches("/pdf")).filter(|id| !id.contains('/')) else {
        return path.to_owned();
    };
    let (list, _) = app.send(Method::GET, "/invoices", None).await;
    let marker = format!(r#"href="/invoices/{id}?"#);
    let Some((issued, _)) = list.body.split_once(&marker).and_then(|(_, rest)| rest.split_once('"')) else { return path.to_owned() };
    if query.is_empty() {
        format!("{route}?{issued}")
    } else {
        format!("{route}?{issued}&{query}")
    }
}

/// GETs a page and returns its status code and body bytes.
pub async fn open(app: &TestApp, path: &str) -> (u16, Vec<u8>) {
    let (page, _) = app.send(Method::GET, path, None).await;
    (page.status.as_u16(), page.bytes)
}
