//! What a page reads. The pages about a household (its members, memberships, payment methods and
//! agreements) read its profile alone: the same requests and read units for a household in its
//! first month and in its twentieth year. And `portal migrate` moving the billing history of a
//! table written before it lay below the profile, once, with every page showing what it showed.

use chrono::Datelike;
use lambda_http::http::StatusCode;
use portal_domain::ports::{attr, Item, Key, Table, Value, Write};
use portal_domain::{keys, store, AccountId};
use portal_tests::{grow_household, TestApp};

/// Every page about the household rather than its billing history, with the demo's ids.
const PROFILE_PAGES: &[&str] = &[
    "/members",
    "/members/maria/contact",
    "/members/maria/email",
    "/memberships",
    "/memberships/ms-lopez-2/renew",
    "/memberships/ms-lopez-2/dependents/new",
    "/memberships/ms-lopez-2/leave",
    "/payment-methods",
    "/payment-methods/new",
    "/payment-methods/autopay",
    "/agreements",
    "/agreements/agr-financial",
];

/// (table requests, read units) of a GET, the page warm (the practice's profile is cached).
async fn cost(app: &mut TestApp, path: &str) -> (usize, usize) {
    app.get(path).await;
    app.counter.reset();
    let page = app.get(path).await;
    assert_eq!(page.status, StatusCode::OK, "{path}");
    (app.counter.counts().0, app.counter.units())
}

#[tokio::test]
async fn pages_about_the_household_read_the_same_whatever_its_history() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let mut first_month = Vec::new();
    for path in PROFILE_PAGES {
        first_month.push(cost(&mut app, path).await);
    }
    grow_household(app.app.table.as_ref()).await;
    for (path, then) in PROFILE_PAGES.iter().zip(first_month) {
        let now = cost(&mut app, path).await;
        assert_eq!(now, then, "{path}: (requests, read units) grew with the history");
        assert!(now.0 <= 2 && now.1 <= 4, "{path}: {now:?} is over the budget of 2 requests and 4 read units");
    }
}

/// The invoice list's pages, in a household whose years of history are paid: the first page, an
/// older one, and each filter read the same requests and read units at any length of history.
#[tokio::test]
async fn the_invoice_list_reads_the_same_whatever_the_history() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let older = "/invoices?before=2026-06-01.inv-1003&page=2";
    let pages = ["/invoices", "/invoices?show=unpaid", "/invoices?show=paid", older];
    let mut first_month = Vec::new();
    for path in pages {
        first_month.push(cost(&mut app, path).await);
    }
    portal_tests::grow_household_by(app.app.table.as_ref(), 2_000, 2_000).await;
    for (path, then) in pages.iter().zip(first_month) {
        let now = cost(&mut app, path).await;
        // An older page of the demo alone is short; grown, it is a whole page (more units, the same for every size).
        if *path != older {
            assert_eq!(now, then, "{path}: (requests, read units) grew with the history");
        }
        assert!(now.0 <= 2 && now.1 <= 4, "{path}: {now:?} is over the budget of 2 requests and 4 read units");
    }
}

/// The summary the list reads agrees with the invoices after every kind of payment: part of an
/// invoice, the rest of it (its entry then removed), and several invoices at once.
#[tokio::test]
async fn the_summary_agrees_with_the_invoices_after_payments() {
    summary_agrees_after_payments(TestApp::memory().await).await;
}

#[tokio::test]
async fn the_summary_agrees_with_the_invoices_after_payments_on_dynamodb() {
    summary_agrees_after_payments(TestApp::dynamo().await).await;
}

async fn summary_agrees_after_payments(mut app: TestApp) {
    use portal_domain::store::summary::Summary;
    app.sign_in("maria@example.com").await;
    let table = app.app.table.clone();
    let lopez = AccountId::parse("lopez").unwrap();
    let agrees = |table: std::sync::Arc<dyn Table>| {
        let lopez = lopez.clone();
        async move {
            let item = table.get(&keys::summary_key(&lopez)).await.unwrap().expect("a summary");
            let invoices = store::household(table.as_ref(), &lopez).await.unwrap().ledger.invoices().unwrap();
            assert_eq!(Summary::of_item(&item), Summary::of_invoices(&invoices));
            // Nothing paid in full is left in it.
            let open = Summary::of_item(&item).open.len();
            assert_eq!(item.keys().filter(|k| k.starts_with("o#")).count(), open, "{item:?}");
            figures_agree(table.as_ref(), &lopez).await;
            portal_tests::copies_agree(table.as_ref(), &lopez).await;
            open
        }
    };
    let before = agrees(table.clone()).await;
    assert!(before >= 2);
    let part = app.pay("inv-1009", &[("amount", "20.00"), ("source", "src-visa")]).await;
    assert_eq!(part.status, StatusCode::SEE_OTHER);
    assert_eq!(agrees(table.clone()).await, before);
    let balance = store::household(table.as_ref(), &lopez)
        .await
        .unwrap()
        .ledger
        .invoice(&portal_domain::InvoiceId::parse("inv-1009").unwrap())
        .unwrap()
        .unwrap()
        .balance();
    let rest = app.pay("inv-1009", &[("amount", &balance.amount().to_string()), ("source", "src-visa")]).await;
    assert_eq!(rest.status, StatusCode::SEE_OTHER);
    assert_eq!(agrees(table.clone()).await, before - 1, "paid in full: its entry is gone");
    let due = app.get("/invoices").await;
    let total = due.body.split(r#"id="total-due">$"#).nth(1).unwrap().split('<').next().unwrap().replace(',', "");
    let review = app.review_payment("/pay-due", &[("amount", &total), ("source", "src-visa")]).await;
    let all = app.confirm_review(review).await;
    assert_eq!(all.status, StatusCode::SEE_OTHER, "{}", all.body);
    assert_eq!(agrees(table.clone()).await, 0);
    assert!(app.get("/invoices").await.body.contains(r#"id="total-due">$0.00"#));
}

/// The household's figures by month are kept, and are what its whole history makes.
async fn figures_agree(table: &dyn Table, account: &AccountId) {
    use portal_domain::store::balances::{self, Balances};
    let (stored, kept) = balances::stored(table, account).await.unwrap();
    assert!(kept, "the figures count the whole history");
    let ledger = store::household(table, account).await.unwrap().ledger;
    assert_eq!(stored, Balances::of_ledger(&ledger.invoices().unwrap(), &ledger.payments().unwrap()));
    // The totals count every month, and say so.
    let totals = table.get(&keys::balance_totals_key(account)).await.unwrap().expect("the totals");
    assert_eq!(totals.get("kept"), Some(&Value::Bool(true)));
    let years = table.query(&keys::account_pk(account), "#BALANCE#2").await.unwrap();
    for kind in ["c", "p"] {
        let months: rust_decimal::Decimal =
            years.iter().flat_map(|item| (1..=12).filter_map(move |m| item.get(&format!("{kind}{m:02}")).and_then(Value::as_number))).sum();
        assert_eq!(totals.get(kind).and_then(Value::as_number).unwrap_or_default(), months, "{kind}");
    }
}

/// The household's invoices and payments back at the keys the earlier layout gave them.
async fn as_written_before(table: &dyn Table, account: &AccountId) -> usize {
    let pk = keys::account_pk(account);
    let mut moved = 0;
    for item in table.query(&pk, "").await.unwrap() {
        let sk = item[attr::SK].as_str().unwrap().to_owned();
        let old = if let Some(rest) = sk.strip_prefix(keys::INVOICE) {
            format!("INVOICE#{rest}")
        } else if let Some(rest) = sk.strip_prefix(keys::PAYMENT) {
            format!("PAYMENT#{rest}")
        } else {
            continue;
        };
        let mut earlier = Item::clone(&item);
        earlier.insert(attr::SK.into(), Value::S(old.clone()));
        if earlier.get(attr::GSI1PK).and_then(Value::as_str) == Some(keys::PENDING_PAYMENTS) {
            earlier.insert(attr::GSI1SK.into(), Value::S(old));
        }
        let writes = vec![Write::Put { item: earlier, condition: None }, Write::Delete { key: Key::new(pk.clone(), sk), condition: None }];
        table.transact(writes).await.unwrap();
        moved += 1;
    }
    // Nor did households keep a summary of their open invoices then, figures by month, or
    // payments that named their invoice's number.
    table.write(Write::Delete { key: keys::summary_key(account), condition: None }).await.unwrap();
    for prefix in ["#BALANCE#", "#APPLIED#", "!CLEARED#"] {
        for item in table.query(&pk, prefix).await.unwrap() {
            table.write(Write::Delete { key: Key::of(&item).unwrap(), condition: None }).await.unwrap();
        }
    }
    // Nor did households keep their members' names.
    let household = table.get(&keys::household_key(account)).await.unwrap().unwrap();
    let mut earlier = household.clone();
    earlier.retain(|name, _| !name.starts_with("n#"));
    table.write(Write::Put { item: earlier, condition: None }).await.unwrap();
    for item in table.query(&pk, "PAYMENT#").await.unwrap() {
        let mut earlier = Item::clone(&item);
        let mut data: serde_json::Value = serde_json::from_str(earlier[store::DATA].as_str().unwrap()).unwrap();
        for kept_since in ["invoice_number", "invoice_issued", "parts"] {
            data.as_object_mut().unwrap().remove(kept_since);
        }
        earlier.insert(store::DATA.into(), Value::S(data.to_string()));
        table.write(Write::Put { item: earlier, condition: None }).await.unwrap();
    }
    moved
}

#[tokio::test]
async fn migrate_moves_the_history_of_an_earlier_table_below_the_profile_once() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let table = app.app.table.clone();
    let linked = link_after(&app.get("/invoices").await.body, r#"href="/invoices/inv-1008?"#).to_owned();
    let linked = format!("/invoices/inv-1008?{linked}");
    let pages = ["/invoices", "/invoices/inv-1008", linked.as_str(), "/statement", "/payments/pay-1008", "/receipts", "/memberships"];
    let mut shown = Vec::new();
    for path in pages {
        let page = app.get(path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        shown.push(page.body);
    }
    let lopez = AccountId::parse("lopez").unwrap();
    let mut written_before = 0;
    for account in store::household_ids(table.as_ref()).await.unwrap() {
        written_before += as_written_before(table.as_ref(), &account).await;
    }
    assert!(written_before > 10, "the demo has a history to move: {written_before}");
    assert!(
        !store::profile(table.as_ref(), &lopez).await.unwrap().ledger.invoices().unwrap().is_empty(),
        "the history lies among the profile"
    );
    let pending_before = table.query_index(keys::PENDING_PAYMENTS).await.unwrap().len();

    // Before the migration the list reads every invoice to find what is due, and shows the same.
    assert_eq!(app.get("/invoices").await.body, shown[0]);
    let done = portal_cli::operator::migrate_table(table.as_ref(), None, &mut |_| {}).await.unwrap();
    assert_eq!((done.moved, done.left), (written_before, 0));
    assert!(done.summarized >= 2, "the demo's open invoices: {}", done.summarized);
    assert!(done.named >= 10, "the demo's payments are named by their invoices' numbers: {}", done.named);
    assert_eq!(done.balanced, store::household_ids(table.as_ref()).await.unwrap().len(), "every household's figures are counted");
    assert_eq!(done.totalled, done.balanced, "and their totals");
    figures_agree(table.as_ref(), &lopez).await;
    assert!(store::household(table.as_ref(), &lopez).await.unwrap().ledger.payments().unwrap().iter().all(|p| p.invoice_number.is_some()));
    assert!(done.copied >= 10, "every invoice's payments are copied beside it: {}", done.copied);
    assert_eq!(done.receipts, store::household_ids(table.as_ref()).await.unwrap().len(), "every household's receipts are kept");
    receipts_agree(&app, &lopez).await;
    let issued = chrono::NaiveDate::parse_from_str(linked.rsplit('=').next().unwrap(), "%Y-%m-%d").unwrap();
    let inv_1008 = portal_domain::InvoiceId::parse("inv-1008").unwrap();
    assert!(store::invoice_page(table.as_ref(), &lopez, &inv_1008, issued).await.unwrap().is_some(), "the page reads it by key");
    let item = table.get(&keys::summary_key(&lopez)).await.unwrap().expect("a summary");
    let invoices = store::household(table.as_ref(), &lopez).await.unwrap().ledger.invoices().unwrap();
    assert_eq!(store::summary::Summary::of_item(&item), store::summary::Summary::of_invoices(&invoices));
    assert!(store::profile(table.as_ref(), &lopez).await.unwrap().ledger.invoices().unwrap().is_empty(), "the profile reads no history");
    let whole = store::household(table.as_ref(), &lopez).await.unwrap();
    assert!(!whole.ledger.invoices().unwrap().is_empty() && !whole.ledger.payments().unwrap().is_empty());
    // Payments waiting for the processor are still listed for `portal reconcile`, under their new keys.
    let pending = table.query_index(keys::PENDING_PAYMENTS).await.unwrap();
    assert_eq!(pending.len(), pending_before);
    for item in &pending {
        assert_eq!(item[attr::GSI1SK], item[attr::SK]);
        assert!(item[attr::SK].as_str().unwrap().starts_with(keys::PAYMENT));
    }
    for (path, before) in pages.iter().zip(&shown) {
        let page = app.get(path).await;
        assert_eq!(&page.body, before, "{path} shows what it showed before the move");
    }

    let again = portal_cli::operator::migrate_table(table.as_ref(), None, &mut |_| {}).await.unwrap();
    assert_eq!(
        (again.moved, again.summarized, again.named, again.copied, again.balanced, again.totalled, again.receipts, again.left),
        (0, 0, 0, 0, 0, 0, 0, 0),
        "idempotent"
    );
}

#[tokio::test]
async fn a_payment_changed_while_it_is_moved_is_left_for_the_next_run() {
    let app = TestApp::memory().await;
    let table = app.app.table.clone();
    let lopez = AccountId::parse("lopez").unwrap();
    as_written_before(table.as_ref(), &lopez).await;
    let items = table.query(&keys::account_pk(&lopez), "INVOICE#").await.unwrap();
    let open = items.iter().find(|i| i[store::AVAILABLE].as_number().unwrap() >= rust_decimal::Decimal::TEN).expect("an open invoice");
    let read = Item::clone(open);
    // A payment reserves part of the invoice after the migration read it (as a reservation does:
    // the money figures move, the version does not).
    let key = Key::of(&read).unwrap();
    let reserve = portal_domain::ports::Update::default()
        .add(store::PENDING, rust_decimal::Decimal::TEN)
        .add(store::AVAILABLE, -rust_decimal::Decimal::TEN);
    table.write(Write::Update { key, update: reserve, condition: None }).await.unwrap();
    let writes = store::move_ledger_item(&read).unwrap();
    assert!(matches!(table.transact(writes).await, Err(portal_domain::StoreError::ConditionFailed)));
    let done = portal_cli::operator::migrate_table(table.as_ref(), None, &mut |_| {}).await.unwrap();
    assert_eq!(done.left, 0, "the next run moves it as it is now");
    assert!(table.query(&keys::account_pk(&lopez), "INVOICE#").await.unwrap().is_empty());
    let moved_key = Key::new(keys::account_pk(&lopez), keys::ledger_sk(read[attr::SK].as_str().unwrap()).unwrap());
    let moved = table.get(&moved_key).await.unwrap().unwrap();
    let pending = |item: &Item| item[store::PENDING].as_number().unwrap();
    assert_eq!(pending(&moved), pending(&read) + rust_decimal::Decimal::TEN, "the reservation made meanwhile is kept");
}

/// A statement reads its period and the figures by month: the same requests and read units for a
/// month whatever the years before it, and what it shows is what the whole history
/// makes, for periods anywhere in the history and at month and year ends.
#[tokio::test]
async fn a_statement_reads_its_period_whatever_the_history() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let today = app.app.today();
    let month_start = today.with_day(1).unwrap();
    let this_month = format!("/statement?from={month_start}&to={today}");
    let pdf = format!("/statement/pdf?from={month_start}&to={today}");
    let before = (cost(&mut app, &this_month).await, cost(&mut app, &pdf).await);
    portal_tests::grow_household_by(app.app.table.as_ref(), 2_000, 2_000).await;
    assert_eq!((cost(&mut app, &this_month).await, cost(&mut app, &pdf).await), before, "the statement grew with the history");

    let table = app.app.table.clone();
    let lopez = AccountId::parse("lopez").unwrap();
    figures_agree(table.as_ref(), &lopez).await;
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    let date_of = |at| app.app.date_of(at);
    let whole = store::household(table.as_ref(), &lopez).await.unwrap().ledger;
    let periods = [
        (day("2009-01-01"), day("2009-12-31")),
        (day("2010-01-01"), day("2010-01-31")),
        (day("2012-02-15"), day("2012-03-14")),
        (day("2015-12-31"), day("2016-01-01")),
        (day("2020-06-01"), day("2021-05-31")),
        (day("2010-01-01"), today),
        (month_start, today),
        // Recent periods take their opening balance from the totals, January ones too.
        (day("2024-03-01"), day("2024-03-31")),
        (day("2025-01-01"), day("2025-01-31")),
        (day("2025-12-15"), day("2026-02-10")),
        (day("2026-01-01"), day("2026-01-31")),
        (month_start, month_start + chrono::Days::new(40)),
    ];
    for (from, to) in periods {
        let read =
            store::statement(table.as_ref(), &lopez, from, to, app.app.today(), date_of).await.unwrap().expect("the figures are kept");
        assert_eq!(read, whole.statement(from, to, date_of).unwrap(), "{from} to {to}");
    }
    // A longer period reads more; an earlier one of the same length, no more than a recent one.
    let units = |from: chrono::NaiveDate, to: chrono::NaiveDate| {
        let (table, counter, lopez) = (table.clone(), app.counter.clone(), lopez.clone());
        async move {
            counter.reset();
            store::statement(table.as_ref(), &lopez, from, to, today, date_of).await.unwrap();
            counter.units()
        }
    };
    let early = units(day("2011-03-01"), day("2011-03-31")).await;
    // (The grown history runs from 2010 to 2020, an invoice and a payment every other day.)
    let late = units(day("2019-03-01"), day("2019-03-31")).await;
    assert_eq!(early, late, "a month of 2011 and one of 2019 read the same");
    assert!(units(day("2011-01-01"), day("2012-12-31")).await > early, "two years read more than a month");
}

/// Payments at the edges of months in UTC (the practice's day of them is the day before) fall in
/// the practice's statement period, both in the opening balance and in the period.
#[tokio::test]
async fn payments_at_a_month_edge_fall_on_the_practices_day() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let table = app.app.table.clone();
    let lopez = AccountId::parse("lopez").unwrap();
    portal_tests::grow_household_by(table.as_ref(), 300, 0).await;
    let whole_invoices = store::household(table.as_ref(), &lopez).await.unwrap().ledger.invoices().unwrap();
    let first = whole_invoices.last().unwrap().clone();
    let edges = ["2011-03-01T02:00:00Z", "2011-04-01T00:30:00Z", "2012-01-01T03:00:00Z", "2011-12-31T23:30:00Z"];
    for (n, at) in edges.iter().enumerate() {
        let payment = portal_domain::Payment {
            id: format!("edge-{n}").try_into().unwrap(),
            account: lopez.clone(),
            invoice: first.id().clone(),
            amount: portal_domain::Money::parse("5").unwrap(),
            source: portal_domain::SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year: 2030 },
            status: portal_domain::PaymentStatus::Succeeded,
            gateway_reference: Some(format!("edge_{n}")),
            idempotency_key: format!("edge-{n}"),
            at: at.parse().unwrap(),
            reversals: Default::default(),
            ach_authorization: None,
            batch: None,
            paid_by: None,
            invoice_number: Some(first.number().to_owned()),
            invoice_issued: Some(first.issued()),
            parts: None,
            version: 1,
        };
        let mut writes = vec![store::put_payment(&payment).unwrap()];
        writes.extend(store::balances::writes(&lopez, &store::balances::paid([&payment])));
        table.transact(writes).await.unwrap();
    }
    let date_of = |at| app.app.date_of(at);
    assert_ne!(date_of("2011-03-01T02:00:00Z".parse().unwrap()).to_string(), "2011-03-01", "the practice is behind UTC");
    let whole = store::household(table.as_ref(), &lopez).await.unwrap().ledger;
    let day = |text: &str| chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap();
    for (from, to) in [
        (day("2011-02-01"), day("2011-02-28")),
        (day("2011-03-01"), day("2011-03-31")),
        (day("2011-04-01"), day("2011-04-30")),
        (day("2011-12-31"), day("2011-12-31")),
        (day("2012-01-01"), day("2012-01-31")),
        (day("2011-02-28"), day("2012-01-01")),
    ] {
        let read = store::statement(table.as_ref(), &lopez, from, to, app.app.today(), date_of).await.unwrap().unwrap();
        let want = whole.statement(from, to, date_of).unwrap();
        assert_eq!(read, want, "{from} to {to}");
    }
    // A payment on an invoice issued before the period is named by its invoice's number, which it keeps.
    let february =
        store::statement(table.as_ref(), &lopez, day("2011-02-01"), day("2011-02-28"), app.app.today(), date_of).await.unwrap().unwrap();
    assert!(february.lines.iter().any(|l| l.activity.description.contains(first.number())), "{:?}", february.lines);
}

/// A household whose figures by month do not yet count its history (written before the figures
/// existed) has its statement read whole, and the same.
#[tokio::test]
async fn a_statement_before_the_migration_reads_the_history_whole() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let shown = app.get("/statement?from=2020-01-01").await;
    assert_eq!(shown.status, StatusCode::OK);
    let lopez = AccountId::parse("lopez").unwrap();
    let table = app.app.table.clone();
    let recent = app.get("/statement").await;
    for key in [keys::balances_kept_key(&lopez), keys::balance_totals_key(&lopez)] {
        table.write(Write::Delete { key, condition: None }).await.unwrap();
    }
    assert!(store::statement(table.as_ref(), &lopez, app.app.today(), app.app.today(), app.app.today(), |at| app.app.date_of(at))
        .await
        .unwrap()
        .is_none());
    assert_eq!(app.get("/statement?from=2020-01-01").await.body, shown.body);
    assert_eq!(app.get("/statement").await.body, recent.body);
    assert_eq!(store::balances::backfill(table.as_ref(), &lopez).await.unwrap(), store::balances::Backfill::Counted);
    assert_eq!(app.get("/statement?from=2020-01-01").await.body, shown.body);
    // The months are kept; the totals only hold what was written since the upgrade (here a part
    // of them), and do not say they are kept: a recent statement adds up the months before it.
    let since = portal_domain::ports::Update::default()
        .set(store::TYPE, store::balances::TOTALS_KIND)
        .add("c", rust_decimal::Decimal::new(80, 0))
        .add("n", rust_decimal::Decimal::ONE);
    table.write(Write::Upsert { key: keys::balance_totals_key(&lopez), update: since }).await.unwrap();
    assert_eq!(app.get("/statement").await.body, recent.body);
    // The totals, checked against the months (as `portal migrate` does next), then give a recent
    // statement its opening balance.
    assert_eq!(store::balances::backfill_totals(table.as_ref(), &lopez).await.unwrap(), store::balances::Backfill::Counted);
    assert_eq!(store::balances::backfill_totals(table.as_ref(), &lopez).await.unwrap(), store::balances::Backfill::AlreadyKept);
    figures_agree(table.as_ref(), &lopez).await;
    assert_eq!(app.get("/statement").await.body, recent.body);
}

/// The href of the link `marker` begins (`id="pay-total" href="`, …) on `page`.
fn link_after<'a>(page: &'a str, marker: &str) -> &'a str {
    page.split(marker).nth(1).and_then(|rest| rest.split('"').next()).unwrap_or_else(|| panic!("{marker} in the page"))
}

/// The page with its fresh idempotency key left out (each rendered form has its own).
fn without_key(body: &str) -> String {
    let mut out = String::new();
    let mut rest = body;
    while let Some(at) = rest.find(r#"name="idempotency_key" value=""#) {
        let (head, tail) = rest.split_at(at + r#"name="idempotency_key" value=""#.len());
        out.push_str(head);
        rest = &tail[tail.find('"').unwrap()..];
    }
    out.push_str(rest);
    out
}

/// The pay form, reached by the links the portal shows (which name the oldest invoice paid),
/// reads the profile and the invoices from that one up: the same requests and read units
/// whatever the years of paid history, and the same form as a read of the whole household.
#[tokio::test]
async fn the_pay_form_reads_the_open_invoices_whatever_the_history() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let one = link_after(&app.get("/invoices/inv-1009").await.body, r#"<a class="button" href=""#).to_owned();
    let due = link_after(&app.get("/invoices").await.body, r#"id="pay-total" href=""#).to_owned();
    assert!(one.starts_with("/invoices/inv-1009/pay?since=") && due.starts_with("/pay-due?since="), "{one} {due}");
    let before = (cost(&mut app, &one).await, cost(&mut app, &due).await);
    portal_tests::grow_household_by(app.app.table.as_ref(), 2_000, 2_000).await;
    let after = (cost(&mut app, &one).await, cost(&mut app, &due).await);
    assert_eq!(after, before, "the pay form grew with the history");
    for (requests, units) in [after.0, after.1] {
        assert!(requests <= 2 && units <= 4, "({requests}, {units}) is over the budget of 2 requests and 4 read units");
    }
    for (link, whole) in [(&one, "/invoices/inv-1009/pay"), (&due, "/pay-due")] {
        assert_eq!(without_key(&app.get(link).await.body), without_key(&app.get(whole).await.body), "{link}");
    }
    // A date past an invoice it pays (a link kept from before an older invoice was issued) reads
    // the household whole and shows the same form.
    let today = app.app.today();
    let late = format!("/pay-due?since={today}");
    assert_eq!(without_key(&app.get(&late).await.body), without_key(&app.get("/pay-due").await.body));
    let late_one = format!("/invoices/inv-1008/pay?since={today}");
    assert_eq!(without_key(&app.get(&late_one).await.body), without_key(&app.get("/invoices/inv-1008/pay").await.body));
    // Nor does a date reach another household's invoice.
    assert_eq!(app.get("/invoices/inv-2001/pay?since=2000-01-01").await.status, StatusCode::NOT_FOUND);
}

/// An invoice's page, reached by its link (which names its issue date), reads the invoice, the
/// household's record and the copies of its payments by key in one request: the same whatever
/// the history, and the same page as a read of the whole household, before and after payments.
#[tokio::test]
async fn an_invoice_page_reads_by_key_whatever_the_history() {
    invoice_page_by_key(TestApp::memory().await, 2_000).await;
}

/// BatchGetItem on DynamoDB (a shorter history: the memory test shows the cost stays flat).
#[tokio::test]
async fn an_invoice_page_reads_by_key_on_dynamodb() {
    invoice_page_by_key(TestApp::dynamo().await, 30).await;
}

async fn invoice_page_by_key(mut app: TestApp, grow_by: u32) {
    app.sign_in("maria@example.com").await;
    let list = app.get("/invoices").await.body;
    let page = format!("/invoices/inv-1009?{}", link_after(&list, r#"href="/invoices/inv-1009?"#));
    assert!(page.contains("?issued="), "{page}");
    let detail = app.get(&page).await.body;
    let print = link_after(&detail, r#"id="print" href=""#).replace("&amp;", "&");
    let pdf = link_after(&detail, r#"href="/invoices/inv-1009/pdf"#);
    let pdf = format!("/invoices/inv-1009/pdf{pdf}");
    let before = (cost(&mut app, &page).await, cost(&mut app, &print).await, cost(&mut app, &pdf).await);
    portal_tests::grow_household_by(app.app.table.as_ref(), grow_by, grow_by).await;
    let after = (cost(&mut app, &page).await, cost(&mut app, &print).await, cost(&mut app, &pdf).await);
    assert_eq!(after, before, "the invoice grew with the history");
    for (requests, units) in [after.0, after.1] {
        assert!(requests <= 2 && units <= 4, "({requests}, {units}) is over the budget of 2 requests and 4 read units");
    }
    let whole = |path: &str| path.replace(&format!("?{}", page.split('?').nth(1).unwrap()), "");
    assert_eq!(app.get(&page).await.body, app.get(&whole(&page)).await.body);
    // After part of it is paid, and the rest: the payments the page lists are those stored.
    for amount in ["20.00", "15.00"] {
        let paid = app.pay("inv-1009", &[("amount", amount), ("source", "src-visa")]).await;
        assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
        let by_key = app.get(&page).await.body;
        assert!(by_key.contains(&format!("${amount}")), "the payment is listed");
        assert_eq!(by_key, app.get("/invoices/inv-1009").await.body);
        assert!(cost(&mut app, &page).await.0 <= 2, "still read by key");
        portal_tests::copies_agree(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await;
    }
    // A date that is not the invoice's, or another household's invoice: read whole, and the same answer.
    assert_eq!(app.get("/invoices/inv-1009?issued=2001-01-01").await.body, app.get("/invoices/inv-1009").await.body);
    assert_eq!(app.get("/invoices/inv-2001?issued=2001-01-01").await.status, StatusCode::NOT_FOUND);
}

/// The receipts a household keeps by year (`store::cleared`) are complete and are what its whole
/// history makes, for every year it paid in.
async fn receipts_agree(app: &TestApp, account: &AccountId) {
    use portal_domain::receipts::{self, Cleared};
    let table = app.app.table.as_ref();
    let date_of = |at| app.app.date_of(at);
    let ledger = store::household(table, account).await.unwrap().ledger;
    let whole: Vec<Cleared> = ledger.payments().unwrap().iter().filter_map(Cleared::of).collect();
    let years = receipts::years_paid(&whole, date_of);
    assert!(!years.is_empty());
    for year in &years {
        let kept = store::cleared::receipts_of(table, account, Some(*year), app.app.today(), date_of).await.unwrap().expect("kept");
        assert_eq!(kept.years, years);
        assert_eq!(kept.year, Some(*year));
        assert_eq!(receipts::receipts_in(*year, &kept.cleared, date_of), receipts::receipts_in(*year, &whole, date_of), "{year}");
        // Each names its invoice and the date it was issued, for its link.
        assert!(kept.cleared.iter().all(|c| c.number.is_some() && c.issued.is_some()), "{year}");
    }
}

/// The receipts list, a payment's page and its itemized receipt, reached by their links (which
/// name the payment's invoices), read by key: the same requests and read units whatever the years
/// of history, and the same pages as a read of the whole household, before and after payments of
/// one invoice and of several.
#[tokio::test]
async fn receipts_read_by_key_whatever_the_history() {
    receipts_by_key(TestApp::memory().await, 2_000).await;
}

#[tokio::test]
async fn receipts_read_by_key_on_dynamodb() {
    receipts_by_key(TestApp::dynamo().await, 30).await;
}

/// The page at `link` and at its path without the query that names its invoices: the same.
async fn same_as_whole(app: &mut TestApp, link: &str) {
    assert!(link.contains("?invoices="), "{link}");
    let by_key = app.get(link).await;
    assert_eq!(by_key.status, StatusCode::OK, "{link}");
    let whole = app.get(link.split('?').next().unwrap()).await;
    assert_eq!(by_key.body, whole.body, "{link}");
}

async fn receipts_by_key(mut app: TestApp, grow_by: u32) {
    app.sign_in("maria@example.com").await;
    let lopez = AccountId::parse("lopez").unwrap();
    receipts_agree(&app, &lopez).await;
    let detail = app.get("/invoices/inv-1008").await.body;
    let itemized = link_after(&detail, r#"href="/receipts/pay-1008?"#).replace("&amp;", "&");
    let itemized = format!("/receipts/pay-1008?{itemized}");
    let payment = itemized.replace("/receipts/", "/payments/");
    let list = app.get("/receipts").await.body;
    assert!(list.contains(&format!(r#"href="{}""#, itemized)), "the list links the receipt with its invoices: {itemized}");
    let pages = ["/receipts", itemized.as_str(), payment.as_str()];
    let mut before = Vec::new();
    for path in pages {
        before.push(cost(&mut app, path).await);
    }
    // The year's summary (a PDF) reads the profile, the year's receipts and the invoices they paid.
    let year_pdf = format!("/receipts/years/{}/pdf", app.app.today().year());
    let year_pdf_before = cost(&mut app, &year_pdf).await;
    portal_tests::grow_household_by(app.app.table.as_ref(), grow_by, grow_by).await;
    receipts_agree(&app, &lopez).await;
    for (path, then) in pages.iter().zip(before) {
        let now = cost(&mut app, path).await;
        assert_eq!(now, then, "{path}: (requests, read units) grew with the history");
        assert!(now.0 <= 2 && now.1 <= 4, "{path}: {now:?} is over the budget of 2 requests and 4 read units");
    }
    assert_eq!(cost(&mut app, &year_pdf).await, year_pdf_before, "the year's summary grew with the history");
    assert!(year_pdf_before.0 <= 4, "{year_pdf_before:?}");
    same_as_whole(&mut app, &itemized).await;
    same_as_whole(&mut app, &payment).await;
    // The list as the whole history makes it: the same, with the index gone (as before `portal migrate`).
    let kept_list = app.get("/receipts").await.body;
    let older_pdf = format!("/receipts/years/{}/pdf", app.app.today().year() - 10);
    let kept_pdfs = [app.get(&year_pdf).await.bytes, app.get(&older_pdf).await.bytes];
    let index = Key::new(keys::account_pk(&lopez), "!CLEARED#");
    let saved = table_get(&app, &index).await;
    app.app.table.write(Write::Delete { key: index.clone(), condition: None }).await.unwrap();
    assert_eq!(app.get("/receipts").await.body, kept_list);
    assert_eq!([app.get(&year_pdf).await.bytes, app.get(&older_pdf).await.bytes], kept_pdfs, "each year's summary, kept and whole");
    let older = format!("/receipts?year={}", app.app.today().year() - 10);
    let whole_older = app.get(&older).await.body;
    app.app.table.write(Write::Put { item: saved, condition: None }).await.unwrap();
    assert_eq!(app.get(&older).await.body, whole_older, "an earlier year, kept and whole");

    // A payment of one invoice: its page, reached by the pay form's redirect, by key.
    let paid = app.pay("inv-1009", &[("amount", "20.00"), ("source", "src-visa")]).await;
    let receipt = paid.location().expect("to the receipt").to_owned();
    assert!(receipt.starts_with("/payments/") && receipt.contains("?invoices="), "{receipt}");
    assert!(cost(&mut app, &receipt).await.0 <= 2, "read by key");
    same_as_whole(&mut app, &receipt).await;
    // A payment of every open invoice: its parts are counted, so its pages read them by key too.
    let due = app.get("/invoices").await;
    let total = due.body.split(r#"id="total-due">$"#).nth(1).unwrap().split('<').next().unwrap().replace(',', "");
    let review = app.review_payment("/pay-due", &[("amount", &total), ("source", "src-visa")]).await;
    let all = app.confirm_review(review).await;
    let receipt = all.location().expect("to the receipt").to_owned();
    assert!(receipt.matches(',').count() >= 1, "names each invoice it paid: {receipt}");
    let (requests, units) = cost(&mut app, &receipt).await;
    assert!(requests <= 2, "read by key: {requests}, {units}: {receipt}");
    same_as_whole(&mut app, &receipt).await;
    let page = app.get(&receipt).await.body;
    let itemized_all = link_after(&page, r#"id="itemized-receipt" href=""#).replace("&amp;", "&");
    assert!(cost(&mut app, &itemized_all).await.0 <= 2, "read by key: {itemized_all}");
    same_as_whole(&mut app, &itemized_all).await;
    receipts_agree(&app, &lopez).await;
    let list = app.get("/receipts").await.body;
    assert!(list.contains(&format!(r#"href="{}""#, itemized_all.replace('&', "&amp;"))), "listed with its link");

    // A link naming another household's invoice, or not all of a payment's: read whole, the same answer.
    let first = receipt.trim_start_matches("/payments/").split('?').next().unwrap().to_owned();
    let short = format!("/payments/{first}?invoices={}", receipt.split("invoices=").nth(1).unwrap().split(',').next().unwrap());
    assert_eq!(app.get(&short).await.body, app.get(&format!("/payments/{first}")).await.body);
    let issued = itemized.split("invoices=").nth(1).unwrap().split('.').next().unwrap().to_owned();
    let elsewhere = format!("/receipts/pay-1008?invoices={issued}.inv-2001");
    assert_eq!(app.get(&elsewhere).await.body, app.get("/receipts/pay-1008").await.body);
    assert_eq!(app.get("/receipts/pay-1008?invoices=x,y").await.body, app.get("/receipts/pay-1008").await.body);
}

async fn table_get(app: &TestApp, key: &Key) -> Item {
    app.app.table.get(key).await.unwrap().expect("the item")
}
