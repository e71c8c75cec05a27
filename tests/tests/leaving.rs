//! Cancelling a membership and removing a member, through the real handlers: the review shows
//! the plan's terms before anything changes, request mode waits for the practice (and can be
//! withdrawn), immediate mode sets the end date so nothing after it is billed, the practice is
//! told, and only the owner may do any of it.

use chrono::Duration;
use lambda_http::http::StatusCode;
use portal_domain::leaving::{LeavingMode, LeavingStatus};
use portal_domain::{feed, store, AccountId, Membership, Money};
use portal_tests::TestApp;

const MARIA: &str = "maria@example.com";

async fn app_with(mode: LeavingMode) -> TestApp {
    let app = TestApp::memory().await;
    let table = app.app.table.clone();
    let mut practice = store::practice(table.as_ref()).await.unwrap().unwrap();
    practice.leaving = mode;
    table.write(store::put_practice(&practice).unwrap()).await.unwrap();
    app
}

async fn membership(app: &TestApp, account: &str, id: &str) -> Membership {
    let records = store::household(app.app.table.as_ref(), &AccountId::parse(account).unwrap()).await.unwrap();
    records.memberships.into_iter().find(|m| m.id.as_str() == id).unwrap()
}

async fn feed_kinds(app: &TestApp, account: &str) -> Vec<String> {
    feed::of_household(app.app.table.as_ref(), &AccountId::parse(account).unwrap()).await.unwrap().into_iter().map(|e| e.kind).collect()
}

/// Sends the leave form, then presses the review's "Confirm" (its first form, with every hidden field).
async fn review(app: &mut TestApp, ms: &str, who: &str, reason: &str) -> portal_tests::Page {
    let form = app.get(&format!("/memberships/{ms}/leave")).await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
    let csrf = form.csrf_token();
    app.post(
        &format!("/memberships/{ms}/leave"),
        &[("csrf_token", &csrf), ("who", who), ("reason", reason), ("note", "We are moving to Ohio.")],
    )
    .await
}

/// The value of the review's "Confirm" button: the figures it showed.
async fn confirm(app: &mut TestApp, ms: &str, who: &str, reason: &str, review: &portal_tests::Page) -> portal_tests::Page {
    let csrf = review.csrf_token();
    let seen = TestApp::hidden(review, "confirm");
    let note = "We are moving to Ohio.";
    app.post(
        &format!("/memberships/{ms}/leave"),
        &[("csrf_token", &csrf), ("who", who), ("reason", reason), ("note", note), ("confirm", &seen)],
    )
    .await
}

#[tokio::test]
async fn maria_requests_sofias_removal_sees_it_requested_and_withdraws_it() {
    let mut app = app_with(LeavingMode::Request).await;
    app.sign_in(MARIA).await;
    let before = membership(&app, "lopez", "ms-lopez-2").await;
    let list = app.get("/memberships").await;
    assert!(list.body.contains(r#"href="/memberships/ms-lopez-2/leave""#), "the current membership offers it");

    let page = review(&mut app, "ms-lopez-2", "sofia", "moving").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let today = app.app.today();
    let effective = (today + Duration::days(30)).min(before.contract_end);
    assert!(page.body.contains("Review: Remove Sofia Lopez"), "{}", page.body);
    assert!(page.body.contains(&format!(r#"id="leave-effective">Covered through <time datetime="{effective}">"#)), "{}", page.body);
    assert!(page.body.contains("$30.00 per month from"), "what is no longer billed: {}", page.body);
    assert!(page.body.contains("None for removing a member"));
    assert!(page.body.contains("The practice confirms your request"));
    assert_eq!(membership(&app, "lopez", "ms-lopez-2").await, before, "the review changes nothing");

    let done = confirm(&mut app, "ms-lopez-2", "sofia", "moving", &page).await;
    assert_eq!(done.location(), Some("/memberships?done=leaving-requested"), "{}", done.body);
    let requested = membership(&app, "lopez", "ms-lopez-2").await;
    let leaving = requested.leaving.clone().expect("recorded");
    assert_eq!((leaving.status, leaving.effective, leaving.stops), (LeavingStatus::Requested, effective, Money::from_cents(3000)));
    assert_eq!(requested.enrollments, before.enrollments, "nothing ends before the practice confirms");
    let list = app.get("/memberships?done=leaving-requested").await;
    assert!(list.body.contains("Removal requested"), "{}", list.body);
    assert!(!list.body.contains(r#"href="/memberships/ms-lopez-2/leave""#), "one request at a time");
    assert!(feed_kinds(&app, "lopez").await.contains(&"member.removal_requested".to_owned()), "the practice is told");
    let events = feed::of_household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    let digest = portal_feed::digest::compose(&events, "Cedar Valley", "frontdesk@example.com", today).expect("a digest");
    assert!(
        digest.text.contains(&format!(
            "Removal requested (to confirm): sofia on membership ms-lopez-2, covered through {effective}; reason: moving"
        )),
        "the staff digest lists it to act on: {}",
        digest.text
    );
    let email = app.outbox.last_to(MARIA).expect("an email to the owner");
    assert!(email.subject.contains("removal request was sent"), "{}", email.subject);
    let activity = app.get("/activity").await;
    assert!(
        activity.body.contains("Removal of a member requested") && activity.body.contains("Sofia Lopez, covered through"),
        "the activity log has it"
    );

    let csrf = list.csrf_token();
    let withdrawn = app.post("/memberships/ms-lopez-2/leave/withdraw", &[("csrf_token", &csrf)]).await;
    assert_eq!(withdrawn.location(), Some("/memberships?done=leaving-withdrawn"));
    let after = membership(&app, "lopez", "ms-lopez-2").await;
    assert_eq!(Membership { version: before.version, ..after }, before, "withdrawing restores the previous state");
    assert!(!app.get("/memberships").await.body.contains("Removal requested"));
    assert!(feed_kinds(&app, "lopez").await.contains(&"membership.leaving_withdrawn".to_owned()));
}

#[tokio::test]
async fn in_immediate_mode_the_end_date_is_set_and_no_later_bill_carries_her_rate() {
    let mut app = app_with(LeavingMode::Immediate).await;
    app.sign_in(MARIA).await;
    let before = membership(&app, "lopez", "ms-lopez-2").await;
    let page = review(&mut app, "ms-lopez-2", "sofia", "cost").await;
    assert!(page.body.contains("This takes effect when you confirm"), "{}", page.body);
    let done = confirm(&mut app, "ms-lopez-2", "sofia", "cost", &page).await;
    assert_eq!(done.location(), Some("/memberships?done=leaving-scheduled"), "{}", done.body);
    let after = membership(&app, "lopez", "ms-lopez-2").await;
    let effective = after.leaving.as_ref().unwrap().effective;
    let sofia = after.enrollments.iter().find(|e| e.member.as_str() == "sofia").unwrap();
    assert_eq!(sofia.end, Some(effective));
    assert!(feed_kinds(&app, "lopez").await.contains(&"member.removed".to_owned()));
    let list = app.get("/memberships").await;
    assert!(list.body.contains("Removed"), "{}", list.body);
    assert!(list.body.contains(&format!(r#"<time datetime="{effective}">"#)), "her end date is shown");

    // The clock moves past the end date: every bill date after it is billed without her rate.
    app.clock.advance(Duration::days((effective - app.app.today()).num_days() + 1));
    let mut bill = before.next_bill_date.unwrap();
    while bill <= after.contract_end {
        let expected = if bill > effective { before.amount_on(bill).saturating_sub(sofia.rate) } else { before.amount_on(bill) };
        assert_eq!(after.amount_on(bill), expected, "the bill of {bill}");
        bill = bill + chrono::Months::new(1);
    }
    app.sign_in(MARIA).await;
    let list = app.get("/memberships").await;
    let later = after.amount_on(app.app.today() + Duration::days(40));
    assert_eq!(later, Money::from_cents(16000), "Maria and Daniel");
    assert!(list.body.contains("$160.00 per month"), "the amount shown no longer counts her: {}", list.body);
}

#[tokio::test]
async fn sam_sees_his_plans_early_termination_terms_before_cancelling() {
    let mut app = app_with(LeavingMode::Request).await;
    app.sign_in("sam@example.com").await;
    let before = membership(&app, "taylor", "ms-taylor-1").await;
    let form = app.get("/memberships/ms-taylor-1/leave").await;
    assert!(form.body.contains("30 days' notice; a $100.00 fee for cancelling before the contract ends"), "{}", form.body);
    assert!(!form.body.contains("Remove Sam"), "the only member is not removed: that is cancelling");
    let page = review(&mut app, "ms-taylor-1", "membership", "cost").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("Review: Cancel the membership"));
    assert!(page.body.contains(r#"id="leave-fee">$100.00, as your plan sets for cancelling before the contract ends"#), "{}", page.body);
    assert!(page.body.contains("Confirm cancellation"));
    assert_eq!(membership(&app, "taylor", "ms-taylor-1").await, before, "nothing changes before confirming");

    // Removing the last member is refused with why; a confirm whose figures changed does nothing.
    let csrf = page.csrf_token();
    let last = app.post("/memberships/ms-taylor-1/leave", &[("csrf_token", &csrf), ("who", "sam"), ("reason", "cost")]).await;
    assert_eq!(last.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(last.body.contains("cancel the membership instead"), "{}", last.body);
    let stale = app
        .post(
            "/memberships/ms-taylor-1/leave",
            &[("csrf_token", &csrf), ("who", "membership"), ("reason", "cost"), ("confirm", "2020-01-01|1|1|1")],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert_eq!(membership(&app, "taylor", "ms-taylor-1").await, before);

    let done = confirm(&mut app, "ms-taylor-1", "membership", "cost", &page).await;
    assert_eq!(done.location(), Some("/memberships?done=leaving-requested"));
    let list = app.get("/memberships").await;
    assert!(list.body.contains("Cancellation requested"), "{}", list.body);
    assert!(
        !list.body.contains("Renew membership") && !list.body.contains("+ Add new member"),
        "a membership being cancelled is neither renewed nor joined"
    );
    assert!(feed_kinds(&app, "taylor").await.contains(&"membership.cancellation_requested".to_owned()));
}

#[tokio::test]
async fn bad_input_is_answered_on_the_form_and_changes_nothing() {
    let mut app = app_with(LeavingMode::Immediate).await;
    app.sign_in(MARIA).await;
    let before = membership(&app, "lopez", "ms-lopez-2").await;
    let form = app.get("/memberships/ms-lopez-2/leave").await;
    let csrf = form.csrf_token();
    let long = "x".repeat(501);
    for fields in [
        vec![("who", ""), ("reason", "moving")],
        vec![("who", "sofia"), ("reason", "")],
        vec![("who", "nobody"), ("reason", "moving")],
        vec![("who", "sofia"), ("reason", "moving"), ("note", long.as_str())],
    ] {
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend(fields.iter().copied());
        let page = app.post("/memberships/ms-lopez-2/leave", &all).await;
        assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
        assert!(page.body.contains("Please correct the fields marked below."), "{fields:?}");
    }
    // "Change" brings the form back as sent.
    let back =
        app.post("/memberships/ms-lopez-2/leave", &[("csrf_token", &csrf), ("who", "sofia"), ("reason", "moving"), ("edit", "1")]).await;
    assert_eq!(back.status, StatusCode::OK);
    assert!(back.body.contains(r#"value="sofia" checked"#), "{}", back.body);
    assert_eq!(membership(&app, "lopez", "ms-lopez-2").await, before);
    // A previous term has nothing to cancel.
    let ended = app.get("/memberships/ms-lopez-1/leave").await;
    assert_eq!(ended.status, StatusCode::CONFLICT);
    assert!(ended.body.contains("This membership has ended"), "{}", ended.body);
}

#[tokio::test]
async fn a_member_who_is_not_the_owner_cannot_cancel_or_remove_anyone() {
    let mut app = app_with(LeavingMode::Immediate).await;
    app.request_code("daniel@example.com").await;
    let code = app.last_code_to("daniel@example.com").unwrap();
    app.enter_code(&code).await;
    assert_eq!(app.get("/memberships/ms-lopez-2/leave").await.status, StatusCode::NOT_FOUND);
    let csrf = app.get("/memberships").await.csrf_token();
    let post =
        app.post("/memberships/ms-lopez-2/leave", &[("csrf_token", &csrf), ("who", "sofia"), ("reason", "moving"), ("confirm", "x")]).await;
    assert_eq!(post.status, StatusCode::NOT_FOUND);
    assert!(!app.get("/memberships").await.body.contains("/leave"), "no such action is offered");
    assert!(membership(&app, "lopez", "ms-lopez-2").await.leaving.is_none());
}

#[tokio::test]
async fn a_request_survives_a_reimport_until_the_practices_file_carries_it_out() {
    use portal_adapters::demo::Demo;
    use portal_cli::import::{self, Dataset};
    let mut app = app_with(LeavingMode::Request).await;
    app.sign_in(MARIA).await;
    let page = review(&mut app, "ms-lopez-2", "sofia", "moving").await;
    confirm(&mut app, "ms-lopez-2", "sofia", "moving", &page).await;
    let effective = membership(&app, "lopez", "ms-lopez-2").await.leaving.unwrap().effective;
    let table = app.app.table.clone();
    let mut data = Dataset::from_demo(&Demo::new(app.app.today()));
    data.practice.leaving = LeavingMode::Request;
    import::import(table.as_ref(), &data, &|_, _| {}).await.unwrap();
    assert!(membership(&app, "lopez", "ms-lopez-2").await.leaving.is_some(), "the practice's file does not know it yet: it stays");

    // The practice confirms it in its own system: its next file ends her enrolment.
    let lopez = data.households.iter_mut().find(|h| h.household.id.as_str() == "lopez").unwrap();
    let ms = lopez.memberships.iter_mut().find(|m| m.id.as_str() == "ms-lopez-2").unwrap();
    ms.enrollments.iter_mut().find(|e| e.member.as_str() == "sofia").unwrap().end = Some(effective);
    import::import(table.as_ref(), &data, &|_, _| {}).await.unwrap();
    let after = membership(&app, "lopez", "ms-lopez-2").await;
    assert!(after.leaving.is_none(), "carried out, the request is done");
    assert_eq!(after.enrollments.iter().find(|e| e.member.as_str() == "sofia").unwrap().end, Some(effective));
    assert!(!app.get("/memberships").await.body.contains("Removal requested"));
}
