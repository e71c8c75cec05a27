//! Members and contact details through the real handlers: visibility, validation, conflicts,
//! and the email change confirmed by a code.

use chrono::Duration;
use lambda_http::http::StatusCode;
use portal_domain::store;
use portal_domain::{AccountId, Member};
use portal_tests::{Page, TestApp};

const MARIA: &str = "maria@example.com";

async fn signed_in(email: &str) -> TestApp {
    let mut app = TestApp::memory().await;
    app.request_code(email).await;
    let code = app.last_code_to(email).unwrap();
    app.enter_code(&code).await;
    app
}

async fn member(app: &TestApp, id: &str) -> Member {
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    records.members.into_iter().find(|m| m.id.as_str() == id).unwrap()
}

async fn submit(app: &mut TestApp, id: &str, changes: &[(&str, &str)]) -> Page {
    app.submit_contact(id, changes).await
}

#[tokio::test]
async fn the_owner_sees_everyone_and_a_member_only_themselves() {
    let mut maria = signed_in(MARIA).await;
    let page = maria.get("/members").await;
    for name in ["Maria Lopez", "Daniel Lopez", "Sofia Lopez"] {
        assert!(page.body.contains(name), "{name}");
    }
    assert!(page.body.contains("(512) 555-0143") && page.body.contains("1208 Pecan Street"));
    let mut daniel = signed_in("daniel@example.com").await;
    let own = daniel.get("/members").await;
    assert!(own.body.contains("Daniel Lopez") && !own.body.contains("Sofia Lopez") && !own.body.contains("Maria Lopez</h2>"));
    assert_eq!(daniel.get("/members/maria/contact").await.status, StatusCode::NOT_FOUND);
    assert_eq!(daniel.get("/members/daniel/contact").await.status, StatusCode::OK);
    let mut sam = signed_in("sam@example.com").await;
    assert_eq!(sam.get("/members/maria/contact").await.status, StatusCode::NOT_FOUND, "another household's member");
}

#[tokio::test]
async fn maria_edits_daniels_mobile_and_her_own_address() {
    let mut app = signed_in(MARIA).await;
    let form = app.get("/members/daniel/contact").await;
    assert!(form.body.contains("To change a name or date of birth, contact the practice at (512) 555-0100"));
    assert!(!form.body.contains(r#"name="first_name""#), "the name is not editable");
    assert_eq!(
        submit(&mut app, "daniel", &[("phone_mobile", "512.555.0177")]).await.location(),
        Some("/members/daniel/contact?done=saved")
    );
    assert_eq!(member(&app, "daniel").await.phones.mobile.unwrap().e164(), "+15125550177");
    let saved =
        submit(&mut app, "maria", &[("address_line1", "9 Live Oak Lane"), ("address_line2", "Unit 2"), ("postal_code", "78613-1234")])
            .await;
    assert_eq!(saved.location(), Some("/members/maria/contact?done=saved"));
    let maria = member(&app, "maria").await;
    assert_eq!(maria.address.as_ref().unwrap().line1(), "9 Live Oak Lane");
    assert_eq!(maria.address.as_ref().unwrap().postal_code(), "78613-1234");
    let events = portal_domain::audit::list(app.app.table.as_ref(), &"lopez".to_owned().try_into().unwrap()).await.unwrap();
    let events: Vec<_> = events.into_iter().filter(|e| e.action == "contact.updated").collect();
    assert_eq!(events.len(), 2, "one audit event per change");
    let logged = format!("{events:?}");
    assert!(logged.contains("contact.updated") && logged.contains("address") && logged.contains("phone_mobile"));
    assert!(!logged.contains("Live Oak") && !logged.contains("5550177"), "names of fields, never values");
}

#[tokio::test]
async fn every_field_is_validated_and_the_input_kept() {
    let mut app = signed_in(MARIA).await;
    let before = member(&app, "maria").await;
    let page = submit(
        &mut app,
        "maria",
        &[
            ("email", "not-an-email"),
            ("phone_mobile", "555-0100"),
            ("phone_home", "012-555-0100"),
            ("phone_work", "call me"),
            ("address_line1", ""),
            ("city", ""),
            ("state", "Texas"),
            ("postal_code", "7861"),
        ],
    )
    .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    for message in
        ["name@example.com", "10-digit US phone number", "Enter the street address.", "Enter the city.", "2-letter code", "5-digit ZIP"]
    {
        assert!(page.body.contains(message), "{message}");
    }
    assert_eq!(page.body.matches("10-digit US phone number").count(), 3, "each phone has its message");
    assert!(page.body.contains(r#"value="call me""#) && page.body.contains(r#"value="Texas""#), "input kept");
    assert!(page.body.contains(r#"aria-describedby="f-state-hint f-state-error""#));
    assert_eq!(member(&app, "maria").await, before, "nothing saved");
    let owner = submit(&mut app, "maria", &[("email", "")]).await;
    assert_eq!(owner.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(owner.body.contains("cannot be removed"));
}

#[tokio::test]
async fn a_stale_edit_is_refused_with_the_current_values() {
    let mut app = signed_in(MARIA).await;
    let old_form = app.get("/members/daniel/contact").await;
    let stale_version = TestApp::hidden(&old_form, "version");
    submit(&mut app, "daniel", &[("phone_home", "(512) 555-0111")]).await;
    let csrf = old_form.csrf_token();
    let stale = app
        .post(
            "/members/daniel/contact",
            &[("csrf_token", &csrf), ("version", &stale_version), ("email", "daniel@example.com"), ("phone_work", "(512) 555-0999")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("Someone changed these details"));
    assert!(stale.body.contains("(512) 555-0111"), "the current values are shown");
    let daniel = member(&app, "daniel").await;
    assert_eq!(daniel.phones.home.unwrap().e164(), "+15125550111");
    assert!(daniel.phones.work.is_none(), "the stale edit changed nothing");
}

#[tokio::test]
async fn maria_changes_her_email_with_a_code_and_then_signs_in_with_it_only() {
    let mut app = signed_in(MARIA).await;
    // Another member's address gets the answer any address gets, and no code: the portal does
    // not say whose an address is.
    let taken = submit(&mut app, "maria", &[("email", "daniel@example.com")]).await;
    assert_eq!(taken.location(), Some("/members/maria/contact?done=verify"));
    assert!(app.last_code_to("daniel@example.com").is_none(), "no code to the holder");
    app.clock.advance(Duration::seconds(61));

    let asked = submit(&mut app, "maria", &[("email", "maria.lopez@example.org")]).await;
    assert_eq!(asked.location(), Some("/members/maria/contact?done=verify"));
    assert_eq!(member(&app, "maria").await.email.unwrap().as_str(), MARIA, "not changed before the code");
    let page = app.get("/members/maria/contact?done=verify").await;
    assert!(page.body.contains("Confirm the new email address") && page.body.contains("maria.lopez@example.org"));
    let code = app.last_code_to("maria.lopez@example.org").expect("a code to the new address");
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let csrf = page.csrf_token();
    let version = TestApp::hidden(&page, "version");
    let bad = app.post("/members/maria/contact", &[("csrf_token", &csrf), ("version", &version), ("code", wrong)]).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(bad.body.contains("4 more tries"));
    let ok = app.post("/members/maria/contact", &[("csrf_token", &csrf), ("version", &version), ("code", &code)]).await;
    assert_eq!(ok.location(), Some("/members/maria/contact?done=email-changed"));
    assert_eq!(member(&app, "maria").await.email.unwrap().as_str(), "maria.lopez@example.org");
    let notice = app.outbox.last_to(MARIA).unwrap();
    assert_eq!(notice.subject, "Your sign-in email was changed");
    assert!(!notice.text.contains(&code), "no code in the notice");

    let mut fresh = TestApp { cookies: Vec::new(), ..app };
    fresh.request_code(MARIA).await;
    assert!(
        fresh.outbox.messages().iter().filter(|m| m.to == MARIA && m.subject.contains("sign-in code")).count() == 1,
        "the old address gets no new code"
    );
    fresh.clock.advance(Duration::seconds(61));
    let landed = fresh.sign_in("maria.lopez@example.org").await;
    assert!(landed.body.contains("Lopez household"));
}

#[tokio::test]
async fn an_expired_email_change_code_does_nothing() {
    let mut app = signed_in(MARIA).await;
    submit(&mut app, "maria", &[("email", "new@example.com")]).await;
    let code = app.last_code_to("new@example.com").unwrap();
    app.clock.advance(Duration::minutes(10));
    let page = app.get("/members/maria/contact").await;
    assert!(!page.body.contains("We emailed a 6-digit code"), "the pending change has lapsed");
    let csrf = page.csrf_token();
    let version = TestApp::hidden(&page, "version");
    let late = app.post("/members/maria/contact", &[("csrf_token", &csrf), ("version", &version), ("code", &code)]).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(late.body.contains("expired"));
    assert_eq!(member(&app, "maria").await.email.unwrap().as_str(), MARIA);
}

#[tokio::test]
async fn a_member_may_remove_their_own_email_but_the_owner_may_not() {
    let mut app = signed_in(MARIA).await;
    let form = app.get("/members/daniel/contact").await;
    assert!(!form.body.contains(r#"name="email""#), "Daniel's sign-in address is shown, not offered");
    let refused = app
        .post(
            "/members/daniel/contact",
            &[("csrf_token", &form.csrf_token()), ("version", &TestApp::hidden(&form, "version")), ("email", "")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(refused.body.contains("Only the member can change the address they sign in with"));
    assert_eq!(member(&app, "daniel").await.email.unwrap().as_str(), "daniel@example.com");

    let mut daniel = signed_in("daniel@example.com").await;
    assert_eq!(submit(&mut daniel, "daniel", &[("email", "")]).await.location(), Some("/members/daniel/contact?done=saved"));
    assert!(member(&daniel, "daniel").await.email.is_none());
    assert!(store::member_by_email(daniel.app.table.as_ref(), &portal_domain::Email::parse("daniel@example.com").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_contact_form_costs_two_table_requests_even_with_an_email_change_pending() {
    let mut app = signed_in("maria@example.com").await;
    let started = submit(&mut app, "maria", &[("email", "maria.lopez@example.com")]).await;
    assert_eq!(started.location(), Some("/members/maria/contact?done=verify"));
    app.get("/members/maria/contact").await;
    app.counter.reset();
    let form = app.get("/members/maria/contact").await;
    assert!(form.body.contains("maria.lopez@example.com"), "the pending address is shown");
    assert_eq!(app.counter.counts(), (2, 0), "session and household: the pending change comes with the household");
}

/// The owner is listed first, and an empty field reads "Not given" in plain weight (issue 25, item 7).
#[tokio::test]
async fn the_owner_comes_first_and_empty_fields_say_not_given() {
    let mut app = signed_in("maria@example.com").await;
    let page = app.get("/members").await;
    let maria = page.body.find("Maria Lopez").unwrap();
    assert!(maria < page.body.find("Daniel Lopez").unwrap() && maria < page.body.find("Sofia Lopez").unwrap(), "the owner first");
    assert!(page.body.contains(r#"<span class="muted none">Not given</span>"#));
    assert!(!page.body.contains(">None<"));
}

/// The owner's form for another adult shows their sign-in address as text (not a field): after
/// an error, it is shown again as it is, not left blank.
#[tokio::test]
async fn an_error_on_another_adults_form_still_shows_their_address() {
    let mut app = signed_in("maria@example.com").await;
    let page = submit(&mut app, "daniel", &[("phone_mobile", "12")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("daniel@example.com"), "{}", page.body);
}
