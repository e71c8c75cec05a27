//! The daily reminders run over the demo: which emails go on which day, each once (a second run,
//! or two runs at once, send nothing new), with amounts and names only and a link that lands on
//! the page in question after the emailed code; and `portal migrate` indexing the households of a
//! table written before the index existed.

use std::sync::Arc;

use chrono::{Datelike, Days, NaiveDate};
use lambda_http::http::StatusCode;
use portal_domain::ports::{attr, Item, Table};
use portal_domain::{store, AccountId, PaymentStatus, SourceDetails};
use portal_tests::TestApp;

async fn run_on(app: &TestApp, day: NaiveDate) -> Vec<String> {
    let report = reminders::run(&app.app, day, false).await.unwrap();
    assert_eq!(report.failed, 0);
    let mut sent: Vec<String> = report.sent.iter().map(|s| format!("{} {} {}", s.kind, s.subject, s.to)).collect();
    sent.sort();
    sent
}

/// The demo, with Maria's Visa expiring at the end of next month and a bank payment of Sam's
/// that failed two days ago (so every kind of reminder has a case).
async fn demo() -> TestApp {
    with_demo_changes(TestApp::memory().await).await
}

async fn with_demo_changes(app: TestApp) -> TestApp {
    let table = app.app.table.clone();
    let today = app.app.today();
    let lopez = store::household(table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    let mut visa = lopez.sources.iter().find(|s| s.id.as_str() == "src-visa").unwrap().clone();
    let next_month = today.with_day(1).unwrap() + chrono::Months::new(1);
    visa.details =
        SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: next_month.month(), exp_year: next_month.year() };
    table.write(store::replace_record(&portal_domain::keys::source_key(&visa), "source", &visa, visa.version).unwrap()).await.unwrap();
    let mut failed = lopez.ledger.payments().unwrap()[0].clone();
    failed.id = "pay-failed".to_owned().try_into().unwrap();
    failed.account = "taylor".to_owned().try_into().unwrap();
    failed.invoice = "inv-2001".to_owned().try_into().unwrap();
    failed.source = SourceDetails::BankAccount {
        bank_name: "Hill Country Bank".into(),
        last4: "6789".into(),
        account_type: portal_domain::BankAccountType::Checking,
    };
    failed.status = PaymentStatus::Failed("The bank returned the debit (insufficient funds).".into());
    failed.at = app.app.now() - chrono::Duration::days(2);
    table.write(store::put_payment(&failed).unwrap()).await.unwrap();
    app
}

#[tokio::test]
async fn each_day_sends_exactly_its_reminders_and_a_second_run_sends_none() {
    let app = demo().await;
    let today = app.app.today();
    let on = |days: u64| today + Days::new(days);
    // Day → the emails of that day's run (kind, subject, recipient), in the order sorted.
    let table: [(NaiveDate, Vec<&str>); 9] = [
        (
            on(0),
            vec![
                "bank-payment-failed inv-2001@{failed} sam@example.com",
                "invoice-new inv-1009 maria@example.com",
                "invoice-new inv-2001 sam@example.com",
            ],
        ),
        (on(3), vec![]),
        (on(6), vec!["invoice-due-soon inv-1009 maria@example.com"]),
        (on(7), vec!["agreement-waiting agr-financial maria@example.com", "agreement-waiting agr-sofia-consent maria@example.com"]),
        (on(9), vec!["invoice-due-soon inv-2001 sam@example.com"]),
        (on(10), vec!["invoice-past-due-1 inv-1009 maria@example.com"]),
        (on(12), vec!["invoice-past-due-1 inv-2001 sam@example.com"]),
        (on(19), vec!["invoice-past-due-10 inv-1009 maria@example.com"]),
        (on(21), vec!["invoice-past-due-10 inv-2001 sam@example.com"]),
    ];
    let failed_day = app.app.date_of(app.app.now() - chrono::Duration::days(2));
    let mut card_sent = false;
    for (day, expected) in &table {
        let mut expected: Vec<String> = expected.iter().map(|e| e.replace("{failed}", &failed_day.to_string())).collect();
        // The card reminder goes on the first run in the month before it expires.
        let expiring_month = today.with_day(1).unwrap();
        if !card_sent && day.with_day(1).unwrap() == expiring_month {
            let next = expiring_month + chrono::Months::new(1);
            expected.push(format!("card-expiring src-visa@{}-{:02} maria@example.com", next.year(), next.month()));
            card_sent = true;
        }
        expected.sort();
        assert_eq!(run_on(&app, *day).await, expected, "the run of {day}");
        assert!(run_on(&app, *day).await.is_empty(), "a second run of {day} sends nothing");
    }
    // What the emails say: amounts and names, never a card or account number; each its own link.
    for message in app.outbox.messages() {
        for number in ["4242", "6789", "4444"] {
            assert!(!message.text.contains(number) && !message.html.contains(number), "{}: {}", message.subject, message.text);
        }
    }
    let due_soon = app.outbox.messages().into_iter().find(|m| m.subject.starts_with("Invoice INV-1009 is due on")).unwrap();
    assert!(due_soon.text.contains("$190.00 on invoice INV-1009 is due on"), "{}", due_soon.text);
    assert!(due_soon.text.contains("?to=/invoices/inv-1009/pay"), "{}", due_soon.text);
}

#[tokio::test]
async fn two_runs_at_once_send_each_reminder_once() {
    // On the DynamoDB emulator: the claims are conditional writes racing for real.
    let app = with_demo_changes(TestApp::dynamo().await).await;
    let today = app.app.today();
    let (a, b) = tokio::join!(reminders::run(&app.app, today, false), reminders::run(&app.app, today, false));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent.len() + b.sent.len(), 4, "{a:?} {b:?}");
    assert_eq!(app.outbox.messages().len(), 4);
}

#[tokio::test]
async fn a_dry_run_lists_what_would_go_and_changes_nothing() {
    let app = demo().await;
    let today = app.app.today();
    let dry = reminders::run(&app.app, today, true).await.unwrap();
    assert_eq!(dry.sent.len(), 4);
    assert!(app.outbox.messages().is_empty());
    assert_eq!(run_on(&app, today).await.len(), 4, "the real run still sends them");
}

/// The link of the last email to `to`.
fn link_in(app: &TestApp, to: &str) -> String {
    let text = app.outbox.last_to(to).unwrap_or_else(|| panic!("an email to {to} in {:?}", app.outbox.messages())).text;
    let start = text.find("/access/").unwrap_or_else(|| panic!("a link in {text}"));
    text[start..].split_whitespace().next().unwrap().to_owned()
}

/// Opens a reminder's link, asks for the code, and enters it: where the member lands.
async fn follow(app: &mut TestApp, link: &str, to: &str) -> String {
    let page = app.get(link).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let csrf = page.csrf_token();
    let action = link.split('?').next().unwrap().to_owned();
    let landing = page.body.split(r#"name="to" value=""#).nth(1).map(|rest| rest.split('"').next().unwrap().to_owned());
    let mut fields = vec![("csrf_token", csrf.as_str())];
    if let Some(landing) = &landing {
        fields.push(("to", landing.as_str()));
    }
    let sent = app.post(&action, &fields).await;
    assert_eq!(sent.location(), Some("/sign-in/code"));
    let code = app.last_code_to(to).unwrap();
    let landed = app.enter_code(&code).await;
    landed.location().unwrap_or_else(|| panic!("signed in: {} {}", landed.status, landed.body)).to_owned()
}

#[tokio::test]
async fn a_reminders_link_lands_on_its_page_after_the_code_and_a_tampered_one_on_the_overview() {
    let mut app = demo().await;
    let today = app.app.today();
    run_on(&app, today + Days::new(6)).await;
    let link = link_in(&app, "maria@example.com");
    assert!(link.ends_with("?to=/invoices/inv-1009/pay"), "{link}");
    assert_eq!(follow(&mut app, &link, "maria@example.com").await, "/invoices/inv-1009/pay");
    let pay = app.get("/invoices/inv-1009/pay").await;
    assert_eq!(pay.status, StatusCode::OK);

    // The same link with another page (or somewhere else entirely) in `to`: the usual start.
    for tampered in ["/invoices/inv-1008/pay", "https://evil.example/", "//evil.example", "/sign-out", "/assets/portal.css"] {
        // A new code for the address (its send limits are an hour's).
        app.clock.advance(chrono::Duration::minutes(61));
        let mut fresh = TestApp::build(app.app.table.clone(), app.clock.clone(), app.outbox.clone(), app.outbox.clone()).await;
        let tampered_link = format!("{}?to={tampered}", link.split('?').next().unwrap());
        assert_eq!(follow(&mut fresh, &tampered_link, "maria@example.com").await, "/invoices", "{tampered}");
    }
}

#[tokio::test]
async fn migrate_indexes_the_households_of_an_older_table_once() {
    let app = TestApp::memory().await;
    let table: Arc<dyn Table> = app.app.table.clone();
    // As an earlier version wrote them: household records outside the index.
    for account in ["lopez", "taylor"] {
        let key = portal_domain::keys::household_key(&AccountId::parse(account).unwrap());
        let mut item: Item = table.get(&key).await.unwrap().unwrap();
        item.remove(attr::GSI1PK);
        item.remove(attr::GSI1SK);
        table.put_batch(vec![item]).await.unwrap();
    }
    assert!(store::household_ids(table.as_ref()).await.unwrap().is_empty());
    let done = portal_cli::operator::migrate_table(table.as_ref(), None, &mut |_| {}).await.unwrap();
    assert_eq!((done.households, done.indexed), (2, 2));
    let ids: Vec<String> = store::household_ids(table.as_ref()).await.unwrap().iter().map(|a| a.to_string()).collect();
    assert_eq!(ids, ["lopez", "taylor"]);
    let again = portal_cli::operator::migrate_table(table.as_ref(), None, &mut |_| {}).await.unwrap();
    assert_eq!((again.households, again.indexed), (2, 0), "idempotent");
}

#[tokio::test]
async fn a_member_who_turned_reminders_off_gets_none_and_others_still_get_theirs() {
    let mut app = demo().await;
    app.sign_in("maria@example.com").await;
    let page = app.get("/members/maria/email").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"value="on" checked"#), "on unless turned off: {}", page.body);
    let csrf = page.csrf_token();
    let saved = app.post("/members/maria/email", &[("csrf_token", &csrf), ("reminders", "off")]).await;
    assert!(saved.body.contains("Saved: no reminders"), "{}", saved.body);
    assert!(saved.body.contains(r#"value="off" checked"#));
    assert_eq!(app.post("/members/maria/email", &[("csrf_token", &csrf), ("reminders", "maybe")]).await.status, StatusCode::BAD_REQUEST);
    let sent = run_on(&app, app.app.today()).await;
    assert!(sent.iter().all(|s| !s.ends_with("maria@example.com")), "{sent:?}");
    assert!(sent.iter().any(|s| s.ends_with("sam@example.com")), "others still get theirs: {sent:?}");
    assert!(app.get("/activity").await.body.contains("Reminders turned off"));
    // Each member's inbox is theirs: another member's preferences (even in the household) are not found.
    assert_eq!(app.get("/members/sam/email").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/members/daniel/email").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn one_click_unsubscribe_works_without_signing_in_and_changes_only_that_preference() {
    let mut app = demo().await;
    run_on(&app, app.app.today()).await;
    let message = app.outbox.last_to("maria@example.com").unwrap();
    let header = |name: &str| message.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
    assert_eq!(header("List-Unsubscribe-Post"), "List-Unsubscribe=One-Click");
    let url = header("List-Unsubscribe").trim_start_matches('<').trim_end_matches('>').to_owned();
    let path = &url[url.find("/unsubscribe/").unwrap()..];
    assert!(message.text.contains(&url), "the text carries the same link");

    // As a mail program sends it (RFC 8058): a POST with no cookie and no form token.
    let done = app.post(path, &[("List-Unsubscribe", "One-Click")]).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(done.body.contains("Reminders are off"));
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    assert!(!records.wants_reminders(&"maria".to_owned().try_into().unwrap()));
    assert!(records.wants_reminders(&"daniel".to_owned().try_into().unwrap()), "only that member's");
    let tomorrow = app.app.today() + Days::new(6);
    assert!(run_on(&app, tomorrow).await.iter().all(|s| !s.ends_with("maria@example.com")));

    // As a mail program may send it instead (RFC 8058 recommends multipart): the body is not read.
    app.app
        .table
        .write(
            portal_domain::preferences::set_reminders(&AccountId::parse("lopez").unwrap(), &"maria".to_owned().try_into().unwrap(), true)
                .unwrap(),
        )
        .await
        .unwrap();
    let mut request = app.build_request(lambda_http::http::Method::POST, path, None);
    request.headers_mut().insert("content-type", "multipart/form-data; boundary=b".parse().unwrap());
    *request.body_mut() =
        lambda_http::Body::Text("--b\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n\r\nOne-Click\r\n--b--\r\n".into());
    let multipart = portal_cli::dispatch(&app.app, request).await;
    assert_eq!(multipart.status(), StatusCode::OK);
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    assert!(!records.wants_reminders(&"maria".to_owned().try_into().unwrap()), "multipart one-click turns them off too");

    // A token for someone else made by hand is not the portal's: nothing changes.
    let forged = path.replace("maria", "daniel");
    assert_eq!(app.post(&forged, &[("List-Unsubscribe", "One-Click")]).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get(path).await.status, StatusCode::OK, "the page opens for anyone with the link");
}
