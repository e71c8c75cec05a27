//! Memberships, renewal and dependents through the real handlers, on both tables.

use std::sync::Arc;

use chrono::{Datelike, Days, Months};
use lambda_http::http::{Method, StatusCode};
use portal_domain::store;
use portal_domain::{AccountId, Money};
use portal_tests::TestApp;
use tokio::task::JoinSet;

const MARIA: &str = "maria@example.com";

async fn signed_in(mut app: TestApp, email: &str) -> TestApp {
    app.sign_in(email).await;
    app
}

async fn lopez(app: &TestApp) -> store::HouseholdRecords {
    store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap()
}

async fn memberships_page_shows_terms(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let page = app.get("/memberships").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains(r#"<span class="badge current">Current</span>"#)
            && page.body.contains(r#"<span class="badge previous">Previous</span>"#)
    );
    assert!(page.body.contains("$190.00 per month") && page.body.contains("$160.00 per month"));
    assert!(page.body.contains("Next bill date") && page.body.contains("Sofia Lopez"));
    assert!(page.body.contains("/memberships/ms-lopez-2/renew"), "renewal offered within 90 days");
    assert!(!page.body.contains("/memberships/ms-lopez-1/renew"), "not for the ended term");
}

async fn maria_renews_once(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let offer = app.get("/memberships/ms-lopez-2/renew").await;
    let current = lopez(&app).await.memberships.into_iter().find(|m| m.id.as_str() == "ms-lopez-2").unwrap();
    let start = current.contract_end + Days::new(1);
    assert!(
        offer.body.contains(&format!("datetime=\"{}\"", start.format("%Y-%m-%d"))),
        "the new term starts the day after the current end"
    );
    assert!(offer.body.contains(r#"id="new-amount">$190.00 per month"#));
    let csrf = offer.csrf_token();
    let done = app.post("/memberships/ms-lopez-2/renew", &[("csrf_token", &csrf)]).await;
    assert_eq!(done.location(), Some("/memberships?done=renewed"));
    let page = app.get("/memberships?done=renewed").await;
    assert!(page.body.contains(r#"<span class="badge upcoming">Upcoming</span>"#));
    assert!(!page.body.contains("/memberships/ms-lopez-2/renew\""), "the offer is gone");
    let again = app.post("/memberships/ms-lopez-2/renew", &[("csrf_token", &csrf)]).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert!(again.body.contains("has been renewed"));
    let records = lopez(&app).await;
    assert_eq!(records.memberships.len(), 3, "renewed once");
    let next = records.memberships.iter().find(|m| m.renews.as_ref().is_some_and(|r| r.as_str() == "ms-lopez-2")).unwrap();
    assert_eq!(next.contract_start, start);
    assert_eq!(next.contract_end, start + Months::new(12) - Days::new(1));
    let email = app.outbox.last_to(MARIA).unwrap();
    assert_eq!(email.subject, "Your membership is renewed");
}

async fn sam_is_not_offered_renewal_and_a_post_changes_nothing(app: TestApp) {
    let mut app = signed_in(app, "sam@example.com").await;
    let page = app.get("/memberships").await;
    assert!(!page.body.contains("/renew\""));
    assert!(page.body.contains("Renewal opens on"));
    let renew = app.get("/memberships/ms-taylor-1/renew").await;
    assert!(renew.body.contains(r#"id="renewal-opens""#));
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("taylor").unwrap()).await.unwrap();
    let opens = records.memberships[0].contract_end - Days::new(90);
    assert!(renew.body.contains(&opens.format("%Y-%m-%d").to_string()));
    let before = store::household(app.app.table.as_ref(), &AccountId::parse("taylor").unwrap()).await.unwrap().memberships;
    let post = app.post("/memberships/ms-taylor-1/renew", &[("csrf_token", &renew.csrf_token())]).await;
    assert_eq!(post.status, StatusCode::CONFLICT);
    assert_eq!(store::household(app.app.table.as_ref(), &AccountId::parse("taylor").unwrap()).await.unwrap().memberships, before);
    assert_eq!(app.get("/memberships/ms-lopez-2/renew").await.status, StatusCode::NOT_FOUND, "another household's");
}

async fn two_renew_submits_at_once_renew_once(app: TestApp) {
    let app = Arc::new(signed_in(app, MARIA).await);
    let (offer, _) = app.send(Method::GET, "/memberships/ms-lopez-2/renew", None).await;
    let csrf = offer.csrf_token();
    let mut set = JoinSet::new();
    for _ in 0..2 {
        let (app, csrf) = (Arc::clone(&app), csrf.clone());
        set.spawn(
            async move { app.send(Method::POST, "/memberships/ms-lopez-2/renew", Some(&[("csrf_token", csrf.as_str())])).await.0.status },
        );
    }
    let mut statuses = set.join_all().await;
    statuses.sort();
    assert_eq!(statuses, vec![StatusCode::SEE_OTHER, StatusCode::CONFLICT]);
    assert_eq!(lopez(&app).await.memberships.len(), 3);
}

async fn maria_adds_a_four_year_old_at_thirty_dollars(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let today = app.app.today();
    let born = (today - Months::new(4 * 12 + 3)).format("%Y-%m-%d").to_string();
    let page = app
        .quote_dependent(&[
            ("first_name", "Lucas"),
            ("last_name", "Lopez"),
            ("date_of_birth", &born),
            ("sex", "male"),
            ("relationship", "child"),
        ])
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let ms = lopez(&app).await.memberships.into_iter().find(|m| m.id.as_str() == "ms-lopez-2").unwrap();
    let next_bill = ms.next_bill_date.unwrap();
    assert!(next_bill > today && next_bill.day() == ms.contract_start.day());
    assert!(page.body.contains(&format!(r#"id="start-date"><time datetime="{}""#, next_bill.format("%Y-%m-%d"))));
    assert!(page.body.contains(r#"id="new-rate">$30.00"#) && page.body.contains(r#"id="new-total">$220.00"#));
    assert!(page.body.contains("Maria Lopez") && page.body.contains("Daniel Lopez") && page.body.contains("Sofia Lopez"));
    let done = app.confirm_dependent(&page).await;
    assert_eq!(done.location(), Some("/memberships?done=added"));
    let again = app.confirm_dependent(&page).await;
    assert_eq!(again.location(), Some("/memberships?done=added"), "a double submit shows the same result");
    // The same child asked for again (a new form after an error page, say) is not priced twice.
    let fields =
        [("first_name", "Lucas"), ("last_name", "Lopez"), ("date_of_birth", born.as_str()), ("sex", "male"), ("relationship", "child")];
    let twice = app.quote_dependent(&fields).await;
    assert_eq!(twice.status, StatusCode::CONFLICT);
    assert!(twice.body.contains("Lucas Lopez is already on this membership."));
    let records = lopez(&app).await;
    assert_eq!(records.members.iter().filter(|m| m.first_name == "Lucas").count(), 1, "added once");
    let ms = records.memberships.iter().find(|m| m.id.as_str() == "ms-lopez-2").unwrap();
    let lucas = records.members.iter().find(|m| m.first_name == "Lucas").unwrap();
    let enrolment = ms.enrollments.iter().find(|e| e.member == lucas.id).unwrap();
    assert_eq!((enrolment.start, enrolment.rate), (next_bill, Money::from_cents(3000)));
    assert_eq!(ms.amount_on(next_bill), Money::from_cents(22000), "the new amount applies from the next bill date");
    assert_eq!(ms.amount_on(next_bill - Days::new(1)), Money::from_cents(19000), "not before");
    assert_eq!(lucas.address.as_ref().map(|a| a.line1()), Some("1208 Pecan Street"), "the household's address");
    assert!(app.outbox.last_to(MARIA).unwrap().text.contains("Lucas Lopez was added"));
}

async fn dependent_input_is_validated_and_an_address_is_confirmed_by_code(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let bad = app
        .quote_dependent(&[
            ("first_name", ""),
            ("last_name", "L<script>"),
            ("date_of_birth", "2099-01-01"),
            ("sex", ""),
            ("relationship", "cousin"),
            ("email", "x@"),
            ("phone_mobile", "12"),
        ])
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in [
        "Enter the first name.",
        "letters, spaces",
        "cannot be in the future",
        "Choose the sex",
        "Choose how they are related",
        "name@example.com",
        "10-digit US phone",
    ] {
        assert!(bad.body.contains(message), "{message}");
    }
    assert!(!bad.body.contains("L<script>"), "escaped");
    let taken = app
        .quote_dependent(&[
            ("first_name", "Ana"),
            ("last_name", "Lopez"),
            ("date_of_birth", "2015-01-01"),
            ("sex", "female"),
            ("relationship", "child"),
            ("email", "Daniel@Example.com"),
        ])
        .await;
    // Another member's address is quoted like any other (nothing says whose it is); the new member
    // is added without it, and the address waits for a code that only a free address gets.
    assert_eq!(taken.status, StatusCode::OK);
    let added = app.confirm_dependent(&taken).await;
    let ana = lopez(&app).await.members.into_iter().find(|m| m.first_name == "Ana").expect("Ana was added");
    assert_eq!(added.location(), Some(format!("/members/{}/contact?done=added-verify", ana.id).as_str()));
    assert!(ana.email.is_none());
    assert!(app.last_code_to("daniel@example.com").is_none(), "no code to the holder");
    assert_eq!(
        lopez(&app).await.member(&"daniel".to_owned().try_into().unwrap()).unwrap().email.as_ref().unwrap().as_str(),
        "daniel@example.com"
    );
}

async fn members_see_memberships_read_only(app: TestApp) {
    let mut app = app;
    app.request_code("daniel@example.com").await;
    let code = app.last_code_to("daniel@example.com").unwrap();
    app.enter_code(&code).await;
    let page = app.get("/memberships").await;
    assert_eq!(page.status, StatusCode::OK);
    // Daniel's own enrolment and rate, not the household's (issue 20, item 3).
    assert!(page.body.contains("Daniel Lopez") && page.body.contains("$80.00 per month"), "{}", page.body);
    assert!(!page.body.contains("Sofia Lopez") && !page.body.contains("Maria Lopez"), "not the others' enrolments");
    assert!(!page.body.contains("$190.00") && !page.body.contains("$30.00"), "not the household's amount or the others' rates");
    assert!(!page.body.contains("/renew\"") && !page.body.contains("/dependents/new\""));
    assert_eq!(app.get("/memberships/ms-lopez-2/renew").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/memberships/ms-lopez-2/dependents/new").await.status, StatusCode::NOT_FOUND);
}

/// The confirmation is the server's: a browser can neither choose the new member's id (here another
/// household's member's) nor confirm details other than those it was quoted.
async fn a_dependent_confirmation_cannot_choose_the_id_or_change_the_details(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let fields = portal_tests::LUCAS;
    let quote = app.quote_dependent(&fields).await;
    assert_eq!(quote.status, StatusCode::OK);
    let names = ["csrf_token", "enrolment_key", "first_name", "last_name", "date_of_birth", "sex", "relationship", "email", "phone_mobile"];
    let confirm = |changes: &[(&str, &str)]| {
        let mut form: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), TestApp::hidden(&quote, n))).collect();
        for (name, value) in changes {
            form.retain(|(n, _)| n != name);
            form.push((name.to_string(), value.to_string()));
        }
        form
    };
    let chosen_id = confirm(&[("enrolment_key", "sam")]);
    let chosen_id: Vec<(&str, &str)> = chosen_id.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let answer = app.post("/memberships/ms-lopez-2/dependents/confirm", &chosen_id).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "an id the browser chose");
    let other_details = confirm(&[("date_of_birth", "1990-08-01")]);
    let other_details: Vec<(&str, &str)> = other_details.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let answer = app.post("/memberships/ms-lopez-2/dependents/confirm", &other_details).await;
    assert_eq!(answer.status, StatusCode::BAD_REQUEST, "an adult at a child's quoted price");
    let members = lopez(&app).await.members;
    assert!(!members.iter().any(|m| m.first_name == "Lucas" || m.id.as_str() == "sam"), "nothing was added");
    // The confirmation as quoted adds Lucas once, under an id the server chose.
    assert_eq!(app.confirm_dependent(&quote).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.confirm_dependent(&quote).await.status, StatusCode::SEE_OTHER);
    let lucas: Vec<_> = lopez(&app).await.members.into_iter().filter(|m| m.first_name == "Lucas").collect();
    assert_eq!(lucas.len(), 1);
    assert_ne!(lucas[0].id.as_str(), TestApp::hidden(&quote, "enrolment_key"));
}

/// A member added after renewing is on the renewed term too, so they do not drop off when it starts
/// (issue 25, item 3).
async fn a_dependent_added_after_renewing_joins_the_renewed_term(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let offer = app.get("/memberships/ms-lopez-2/renew").await;
    assert_eq!(app.post("/memberships/ms-lopez-2/renew", &[("csrf_token", &offer.csrf_token())]).await.status, StatusCode::SEE_OTHER);
    let fields = portal_tests::LUCAS;
    let quote = app.quote_dependent(&fields).await;
    // The price page says so, with the renewed term's rate, before anything is confirmed.
    assert!(
        quote.body.contains("Your membership is already renewed from")
            && quote.body.contains("joins that term too, at <strong>$30.00</strong>"),
        "{}",
        quote.body
    );
    assert_eq!(app.confirm_dependent(&quote).await.status, StatusCode::SEE_OTHER);
    let records = lopez(&app).await;
    let lucas = records.members.iter().find(|m| m.first_name == "Lucas").unwrap();
    let current = records.memberships.iter().find(|m| m.id.as_str() == "ms-lopez-2").unwrap();
    let next = records.memberships.iter().find(|m| Some(&m.id) == current.renewed_by.as_ref()).expect("the renewed term");
    let on_next = next.enrollments.iter().find(|e| e.member == lucas.id).expect("Lucas is on the renewed term");
    assert_eq!((on_next.start, on_next.rate), (next.contract_start, Money::parse("30").unwrap()));
    assert_eq!(next.amount(), Money::parse("220").unwrap(), "$190 and Lucas's $30");
    assert!(current.enrollments.iter().any(|e| e.member == lucas.id), "and on this term from the next bill date");
}

/// "Change details" on the price page brings back the form as it was filled in (issue 25, item 7).
async fn change_details_keeps_what_was_typed(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let quote = app.quote_dependent(&portal_tests::LUCAS).await;
    let names = ["csrf_token", "first_name", "last_name", "date_of_birth", "sex", "relationship", "email", "phone_mobile"];
    let mut form: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), TestApp::hidden(&quote, n))).collect();
    form.push(("change".into(), "1".into()));
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let back = app.post("/memberships/ms-lopez-2/dependents/new", &form).await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.body.contains(r#"value="Lucas""#) && back.body.contains(r#"value="2022-08-01""#), "the form as it was filled in");
    assert!(back.body.contains("See the new price"));
    assert!(!lopez(&app).await.members.iter().any(|m| m.first_name == "Lucas"), "nothing added");
}

/// A price quoted before the membership was renewed confirms nothing after it: the renewed term's
/// price was never shown (the confirmation is bound to the renewal).
async fn a_quote_from_before_a_renewal_does_not_confirm_after_it(app: TestApp) {
    let mut app = signed_in(app, MARIA).await;
    let fields = portal_tests::LUCAS;
    let quote = app.quote_dependent(&fields).await;
    assert!(!quote.body.contains("already renewed"));
    let offer = app.get("/memberships/ms-lopez-2/renew").await;
    assert_eq!(app.post("/memberships/ms-lopez-2/renew", &[("csrf_token", &offer.csrf_token())]).await.status, StatusCode::SEE_OTHER);
    assert_eq!(app.confirm_dependent(&quote).await.status, StatusCode::BAD_REQUEST);
    assert!(!lopez(&app).await.members.iter().any(|m| m.first_name == "Lucas"), "nothing added");
}

macro_rules! on_both_tables {
    ($($name:ident),* $(,)?) => {
        mod in_memory {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(portal_tests::TestApp::memory().await).await } )*
        }
        mod on_dynamodb {
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { super::$name(portal_tests::TestApp::dynamo().await).await } )*
        }
    };
}

on_both_tables!(
    memberships_page_shows_terms,
    maria_renews_once,
    sam_is_not_offered_renewal_and_a_post_changes_nothing,
    two_renew_submits_at_once_renew_once,
    maria_adds_a_four_year_old_at_thirty_dollars,
    a_dependent_confirmation_cannot_choose_the_id_or_change_the_details,
    a_dependent_added_after_renewing_joins_the_renewed_term,
    change_details_keeps_what_was_typed,
    a_quote_from_before_a_renewal_does_not_confirm_after_it,
    dependent_input_is_validated_and_an_address_is_confirmed_by_code,
    members_see_memberships_read_only,
);
