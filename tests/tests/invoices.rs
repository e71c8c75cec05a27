//! The invoices function through the real handlers: overview, detail, print, PDF, statements.

use chrono::Datelike;
use lambda_http::http::StatusCode;
use portal_adapters::demo::Demo;
use portal_domain::Money;
use portal_tests::{pdf_text, TestApp};

const MARIA: &str = "maria@example.com";

async fn maria() -> TestApp {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    app
}

fn demo(app: &TestApp) -> Demo {
    Demo::new(app.app.today())
}

#[tokio::test]
async fn every_demo_invoice_shows_its_numbers() {
    let mut app = maria().await;
    let mut sam = TestApp::memory().await;
    sam.sign_in("sam@example.com").await;
    for invoice in demo(&app).invoices {
        let who = if invoice.account().as_str() == "lopez" { &mut app } else { &mut sam };
        let page = who.get(&format!("/invoices/{}", invoice.id())).await;
        assert_eq!(page.status, StatusCode::OK, "{}", invoice.number());
        assert!(page.body.contains(&format!("<h1>Invoice {}</h1>", invoice.number())));
        assert!(page.body.contains(&format!(r#"id="invoice-total">{}"#, invoice.total())));
        assert!(page.body.contains(&format!(r#"id="invoice-paid">{}"#, invoice.paid())));
        assert!(page.body.contains(&format!(r#"id="invoice-balance">{}"#, invoice.balance())));
        for line in invoice.lines() {
            assert!(page.body.contains(&line.description), "{}", line.description);
        }
        let pay_link = format!(r#"/invoices/{}/pay?since={}""#, invoice.id(), invoice.issued());
        assert_eq!(page.body.contains(&pay_link), !invoice.balance().is_zero(), "a Pay action only when a balance is due");
        assert!(page.body.contains("Cedar Valley Direct Primary Care") && page.body.contains("(512) 555-0100"), "the practice's contact");
    }
}

#[tokio::test]
async fn the_past_due_invoice_shows_its_partial_payment() {
    let mut app = maria().await;
    let page = app.get("/invoices/inv-1008").await;
    assert!(page.body.contains("Past due"));
    assert!(page.body.contains("Hill Country Bank checking ending 6789"));
    assert!(page.body.contains(r#"id="invoice-balance">$140.00"#));
    assert!(page.body.contains("1208 Pecan Street"), "the billing address");
}

#[tokio::test]
async fn another_households_invoice_is_not_found() {
    let mut app = maria().await;
    assert_eq!(app.get("/invoices/inv-2001").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/invoices/inv-2001/pdf").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/invoices/does-not-exist").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn overview_rows_link_to_details_and_filter() {
    let mut app = maria().await;
    let all = app.get("/invoices").await;
    // Each row links its invoice with its issue date, which the page reads it by.
    assert!(all.body.contains(r#"href="/invoices/inv-1009?issued="#));
    let unpaid = app.get("/invoices?show=unpaid").await;
    assert!(unpaid.body.contains("INV-1009") && unpaid.body.contains("INV-1008") && !unpaid.body.contains(">INV-1007<"));
    let paid = app.get("/invoices?show=paid").await;
    assert!(!paid.body.contains(">INV-1009<") && paid.body.contains(">INV-1007<"));
    assert!(paid.body.contains(r#"id="total-due">$330.00"#), "the total due counts every invoice");
}

#[tokio::test]
async fn the_print_view_is_the_document_alone() {
    let mut app = maria().await;
    let page = app.get("/invoices/inv-1009?print=1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("INV-1009") && page.body.contains("Balance due"));
    assert!(!page.body.contains("Sign out") && !page.body.contains("<nav"), "no navigation");
    assert!(app.get("/invoices/inv-1009").await.body.contains(r#"id="print""#), "a visible Print action");
}

#[tokio::test]
async fn the_invoice_pdf_reads_like_the_page() {
    let mut app = maria().await;
    let page = app.get("/invoices/inv-1008/pdf").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "application/pdf");
    assert_eq!(page.headers["content-disposition"], r#"attachment; filename="invoice-INV-1008.pdf""#);
    let text = pdf_text(&page.bytes);
    for expected in [
        "INV-1008",
        "Standard Membership — Maria Lopez",
        "Sofia Lopez",
        "$190.00",
        "$50.00",
        "$140.00",
        "Balance due",
        "Past due",
        "Lopez household",
        "Cedar Valley Direct Primary Care",
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
}

#[tokio::test]
async fn the_default_statement_closes_at_the_sum_of_open_balances() {
    let mut app = maria().await;
    let page = app.get("/statement").await;
    assert_eq!(page.status, StatusCode::OK);
    let open: Money = demo(&app).invoices.iter().filter(|i| i.account().as_str() == "lopez").map(|i| i.balance()).sum();
    assert_eq!(open.to_string(), "$330.00");
    assert!(page.body.contains(&format!(r#"id="closing-balance">{open}"#)), "{}", page.body);
    assert!(page.body.contains(r#"id="opening-balance">$0.00"#));
    assert!(page.body.contains(r#"id="total-charges">$2,090.00"#), "eleven invoices of $190");
    assert!(page.body.contains(r#"id="total-payments">$1,760.00"#), "nine in full and $50");
    let pdf = app
        .get(&format!("/statement/pdf?from={}&to={}", app.app.today().with_day(1).unwrap() - chrono::Months::new(11), app.app.today()))
        .await;
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    let text = pdf_text(&pdf.bytes);
    assert!(text.contains("Closing balance") && text.contains("$330.00") && text.contains("Opening balance"), "{text}");
    assert!(text.contains("Payment on INV-1008"));
}

#[tokio::test]
async fn statement_periods_carry_balances_and_handle_quiet_times() {
    let mut app = maria().await;
    let today = app.app.today();
    // Before any activity: nothing at all.
    let empty = app.get("/statement?from=2020-01-01&to=2020-12-31").await;
    assert!(empty.body.contains("No charges or payments in this period."));
    assert!(empty.body.contains(r#"id="closing-balance">$0.00"#));
    // The few days after the last past-due invoice's partial payment and before the open one: only a payment.
    let demo = demo(&app);
    let payment = demo.payments.iter().find(|p| p.invoice.as_str() == "inv-1008").unwrap();
    let day = app.app.date_of(payment.at);
    let only_payment = app.get(&format!("/statement?from={day}&to={day}")).await;
    assert!(only_payment.body.contains("Payment on INV-1008") && !only_payment.body.contains("Invoice INV-"), "{}", only_payment.body);
    assert!(only_payment.body.contains(r#"id="opening-balance">$190.00"#));
    assert!(only_payment.body.contains(r#"id="closing-balance">$140.00"#));
    assert!(only_payment.body.contains(r#"id="total-charges">$0.00"#));
    let future = app.get(&format!("/statement?from={}&to={}", today + chrono::Days::new(1), today + chrono::Days::new(30))).await;
    assert!(future.body.contains(r#"id="opening-balance">$330.00"#));
}

#[tokio::test]
async fn bad_periods_re_render_the_form_with_a_message() {
    let mut app = maria().await;
    for (query, message) in [
        ("from=2026-02-30", "Enter the start date as YYYY-MM-DD."),
        ("to=tomorrow", "Enter the end date as YYYY-MM-DD."),
        ("from=2026-05-01&to=2026-04-01", "The start date must be on or before the end date."),
        ("from=2000-01-01&to=2026-01-01", "Choose a period of at most 10 years."),
        // Years date arithmetic cannot reach used to end the function (a panic, then a 502).
        ("to=-262143-06-01", "Enter dates between 1900 and 2100."),
        ("from=%2B262142-12-31", "Enter dates between 1900 and 2100."),
        ("from=1776-07-04&to=1776-07-05", "Enter dates between 1900 and 2100."),
    ] {
        let page = app.get(&format!("/statement?{query}")).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert!(page.body.contains(message), "{query}");
        assert!(!page.body.contains("closing-balance"));
        assert_eq!(app.get(&format!("/statement/pdf?{query}")).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
}

#[tokio::test]
async fn billing_is_for_the_owner_only() {
    let mut app = TestApp::memory().await;
    app.request_code("daniel@example.com").await;
    let code = app.last_code_to("daniel@example.com").unwrap();
    app.enter_code(&code).await;
    for path in ["/invoices/inv-1009", "/invoices/inv-1009/pdf", "/statement", "/statement/pdf"] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}: the household's billing is not Daniel's");
    }
    let mut anonymous = TestApp::memory().await;
    assert_eq!(anonymous.get("/invoices/inv-1009").await.location(), Some("/sign-in"));
}

#[tokio::test]
async fn a_warm_invoice_page_costs_two_table_requests() {
    let mut app = maria().await;
    app.get("/invoices/inv-1009").await;
    app.counter.reset();
    assert_eq!(app.get("/invoices/inv-1009").await.status, StatusCode::OK);
    assert_eq!(app.counter.counts(), (2, 0), "session and household; the practice profile is cached");
}

#[tokio::test]
async fn years_of_invoices_are_listed_a_page_at_a_time() {
    let mut app = TestApp::memory().await;
    portal_tests::grow_household(app.app.table.as_ref()).await;
    app.sign_in("maria@example.com").await;
    let first = app.get("/invoices").await;
    assert!(first.body.contains("Page 1<") && first.body.contains("rel=\"next\""), "{}", first.body);
    assert_eq!(first.body.matches("data-invoice=").count(), PER_PAGE);
    assert!(first.bytes.len() < 20_000, "a page stays small: {} bytes", first.bytes.len());
    // Newest first: page 1 opens with the newest invoice; following "Older invoices" to the end
    // lists every invoice once, the last page ending with the oldest.
    let newest =
        demo(&app).invoices.iter().filter(|i| i.account().as_str() == "lopez").max_by_key(|i| i.issued()).unwrap().number().to_owned();
    assert_eq!(rows(&first.body).first(), Some(&newest));
    let mut all = rows(&first.body);
    let mut page = first;
    let mut pages = 1;
    while let Some(next) = older_link(&page.body) {
        pages += 1;
        page = app.get(&next).await;
        assert_eq!(page.status, StatusCode::OK, "{next}");
        assert!(page.body.contains(&format!("Page {pages}<")) && page.body.contains(r#"href="/invoices">Newest invoices"#), "{next}");
        assert!(!page.body.contains("id=\"total-due\""), "an older page reads the history alone");
        all.extend(rows(&page.body));
    }
    assert_eq!(pages, 511usize.div_ceil(PER_PAGE));
    assert_eq!(rows(&page.body).len(), 511 - (pages - 1) * PER_PAGE);
    assert_eq!(rows(&page.body).last().map(String::as_str), Some("OLD-0"));
    let old: Vec<usize> = all.iter().filter_map(|n| n.strip_prefix("OLD-")?.parse().ok()).collect();
    assert_eq!(old, (0..500).rev().collect::<Vec<_>>(), "every old invoice once, newest first");
    assert_eq!(all.len(), 511);
    // A damaged cursor starts from the newest; one past the oldest lists nothing.
    assert_eq!(rows(&app.get("/invoices?before=yesterday&page=9").await.body).first(), Some(&newest));
    assert!(rows(&app.get("/invoices?before=2000-01-01.x&page=2").await.body).is_empty());
    // The unpaid invoices (300 old ones and the demo's) page through the summary, the filter kept.
    let unpaid = app.get("/invoices?show=unpaid").await;
    let next = older_link(&unpaid.body).expect("more than a page of unpaid invoices");
    assert!(next.starts_with("/invoices?show=unpaid&before="), "the filter is kept across pages: {next}");
    let second = app.get(&next).await;
    assert_eq!(rows(&second.body).len(), PER_PAGE);
    assert!(rows(&second.body).iter().all(|n| !rows(&unpaid.body).contains(n)));
    // Paid invoices: those of each page's stretch of the history.
    let paid = app.get("/invoices?show=paid").await;
    let mut paid_pages = 1;
    let mut paid_all = rows(&paid.body);
    let mut page = paid;
    while let Some(next) = older_link(&page.body) {
        paid_pages += 1;
        page = app.get(&next).await;
        paid_all.extend(rows(&page.body));
    }
    assert_eq!(paid_pages, 511usize.div_ceil(PER_PAGE));
    let old_paid = paid_all.iter().filter(|n| n.starts_with("OLD-")).count();
    assert_eq!(old_paid, 200, "every paid old invoice once");
}

const PER_PAGE: usize = portal_templates::invoices::INVOICES_PER_PAGE;

/// The "Older invoices" link of a list page, if any.
fn older_link(body: &str) -> Option<String> {
    let before = body.split(r#"rel="next""#).next()?;
    let href = before.rsplit("href=\"").next()?.split('"').next()?;
    body.contains(r#"rel="next""#).then(|| href.replace("&amp;", "&"))
}

/// The invoice numbers of a list page's rows, in order.
fn rows(body: &str) -> Vec<String> {
    body.split(r#"data-invoice=""#).skip(1).filter_map(|rest| rest.split('"').next()).map(str::to_owned).collect()
}

/// Invoices and payments stored before their figures were kept in attributes (`due`, `void`;
/// `invoice`, `amount`, `succeeded`) read the same on every billing page, including an invoice
/// whose JSON amounts a payment has since left behind.
#[tokio::test]
async fn records_stored_before_the_figures_attributes_read_the_same() {
    let mut app = maria().await;
    portal_tests::grow_household(app.app.table.as_ref()).await;
    let paid = app.pay("inv-1009", &[("amount", "20.00"), ("source", "src-visa")]).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER);
    let receipt = paid.location().unwrap().to_owned();
    let pages = [
        "/invoices".to_owned(),
        "/invoices?before=2015-01-01.old-200&page=3".into(),
        "/invoices?show=unpaid".into(),
        "/invoices?show=paid&before=2018-01-01.old-400&page=2".into(),
        "/invoices/inv-1009".into(),
        "/invoices/inv-1008?print=1".into(),
        "/invoices/old-7".into(),
        "/statement".into(),
        "/statement?from=2010-01-01&to=2019-12-31".into(),
        "/statement?from=2016-11-27&to=2026-11-26".into(),
        receipt.clone(),
        "/payments/old-pay-3".into(),
    ];
    let mut before = Vec::new();
    for path in &pages {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        before.push(page.body);
    }
    let table = app.app.table.clone();
    let mut stripped = Vec::new();
    for prefix in [portal_domain::keys::INVOICE, portal_domain::keys::PAYMENT] {
        for item in table.query("ACCOUNT#lopez", prefix).await.unwrap() {
            let mut item = (*item).clone();
            for name in ["due", "void", "invoice", "amount", "succeeded"] {
                item.remove(name);
            }
            stripped.push(item);
        }
    }
    assert!(stripped.len() > 700, "{} items", stripped.len());
    table.put_batch(stripped).await.unwrap();
    for (path, before) in pages.iter().zip(before) {
        assert_eq!(app.get(path).await.body, before, "{path}");
    }
}

/// The table's caption names the filter shown (issue 25, item 7).
#[tokio::test]
async fn the_invoice_list_caption_names_the_filter() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    assert!(app.get("/invoices").await.body.contains("All invoices, newest first"));
    let unpaid = app.get("/invoices?show=unpaid").await;
    assert!(unpaid.body.contains("Unpaid invoices, newest first") && !unpaid.body.contains("All invoices, newest first"));
    assert!(app.get("/invoices?show=paid").await.body.contains("Paid invoices, newest first"));
}
