//! Account security: every sign-in, payment and change shows on "Account activity", and
//! "Signed-in devices" lists the member's sessions and signs the others out.

use chrono::Duration;
use lambda_http::http::StatusCode;
use portal_tests::TestApp;

const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0";
const IPHONE: &str =
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1";

#[tokio::test]
async fn sign_ins_payments_and_changes_show_on_the_activity_page() {
    let mut app = TestApp::memory().await;
    app.user_agent = FIREFOX.into();
    app.request_code("maria@example.com").await;
    let code = app.last_code_to("maria@example.com").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    assert_eq!(app.enter_code(wrong).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    app.clock.advance(Duration::minutes(1));
    assert_eq!(app.enter_code(&code).await.location(), Some("/invoices"));
    app.clock.advance(Duration::minutes(1));
    let paid = app.pay("inv-1008", &[("amount", "20.00"), ("source", "src-visa")]).await;
    assert_eq!(paid.status, StatusCode::SEE_OTHER, "{}", paid.body);
    app.clock.advance(Duration::minutes(1));
    let csrf = app.get("/agreements/agr-financial").await.csrf_token();
    let signed =
        app.post("/agreements/agr-financial/sign", &[("csrf_token", &csrf), ("signer_name", "Maria Lopez"), ("consent", "yes")]).await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);

    app.counter.reset();
    let page = app.get("/activity").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(app.counter.counts(), (2, 0), "the session and the household's events: two reads");
    let body = &page.body;
    for expected in [
        "A wrong sign-in code was entered",
        "Signed in",
        "Payment made",
        "INV-1008 · $20.00 · Visa",
        "Agreement signed",
        "Financial Policy",
        "Firefox on Windows",
        "<td>Maria Lopez</td>",
    ] {
        assert!(body.contains(expected), "the activity page shows {expected:?}");
    }
    // Newest first: the signature before the payment before the sign-in.
    let at = |text: &str| body.find(text).unwrap();
    assert!(at("Agreement signed") < at("Payment made") && at("Payment made") < at("A wrong sign-in code"));
    assert!(!body.contains(&code), "never the code");
}

#[tokio::test]
async fn a_member_sees_only_their_own_activity() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let csrf = app.get("/members").await.csrf_token();
    app.post("/sign-out", &[("csrf_token", &csrf)]).await;
    app.request_code("daniel@example.com").await;
    let code = app.last_code_to("daniel@example.com").unwrap();
    assert_eq!(app.enter_code(&code).await.location(), Some("/members"));
    let page = app.get("/activity").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("<td>Daniel Lopez</td>"), "his own sign-in");
    assert!(!page.body.contains("<td>Maria Lopez</td>"), "Maria's sign-in is the owner's to see");
}

#[tokio::test]
async fn signing_out_everywhere_else_ends_the_other_sessions_only() {
    let mut laptop = TestApp::memory().await;
    laptop.user_agent = FIREFOX.into();
    laptop.sign_in("maria@example.com").await;
    let laptop_cookies = laptop.cookies.clone();
    // The same member on a phone: another browser, another session, on the same portal.
    laptop.cookies.clear();
    laptop.clock.advance(Duration::minutes(2));
    laptop.user_agent = IPHONE.into();
    laptop.sign_in("maria@example.com").await;
    let phone_cookies = std::mem::replace(&mut laptop.cookies, laptop_cookies);
    laptop.user_agent = FIREFOX.into();

    laptop.counter.reset();
    let page = laptop.get("/devices").await;
    assert_eq!(laptop.counter.counts(), (2, 0), "the session and the member's sessions: two reads");
    assert!(page.body.contains("Firefox on Windows") && page.body.contains("Safari on iPhone"));
    assert_eq!(page.body.matches("This device").count(), 1);
    let done = laptop.post("/devices/sign-out-others", &[("csrf_token", &page.csrf_token())]).await;
    assert_eq!(done.location(), Some("/devices?ended=1"));
    let page = laptop.get("/devices?ended=1").await;
    assert!(page.body.contains("Signed out on 1 other device."));
    assert!(!page.body.contains("Safari on iPhone"));
    assert!(page.body.contains("You are not signed in anywhere else."));
    assert_eq!(laptop.get("/invoices").await.status, StatusCode::OK, "this device stays signed in");

    let laptop_cookies = std::mem::replace(&mut laptop.cookies, phone_cookies);
    assert_eq!(laptop.get("/invoices").await.location(), Some("/sign-in"), "the phone is signed out");
    laptop.cookies = laptop_cookies;
    assert!(laptop.get("/activity").await.body.contains("Signed out on every other device"));
}

/// The `event NNN` details of an activity page's rows, in order, and its "Older activity" link.
fn activity_rows(body: &str) -> (Vec<usize>, Option<String>) {
    let rows = body.split("<small>event ").skip(1).filter_map(|rest| rest.split('<').next()?.parse().ok()).collect();
    let older = body
        .split(r#"<a href=""#)
        .skip(1)
        .filter_map(|rest| rest.split_once(r#"" rel="next""#))
        .map(|(href, _)| href.replace("&amp;", "&"))
        .next();
    (rows, older)
}

/// Every page of the activity log, from the newest: the rows it showed (by detail number) and how
/// many pages there were. Each page costs two reads, offers a way back to the newest after the
/// first, and its "Older activity" link names its last row (never a place among events the reader
/// may not see); event `i` happened `i` minutes after `start`. `check` looks at each page too.
async fn walk_activity(
    app: &mut TestApp,
    start: chrono::DateTime<chrono::Utc>,
    check: impl Fn(&str, &portal_tests::Page, &[usize]),
) -> (Vec<usize>, usize) {
    let (mut all, mut pages, mut next) = (Vec::new(), 0, Some("/activity".to_owned()));
    while let Some(path) = next {
        app.counter.reset();
        let page = app.get(&path).await;
        assert_eq!(page.status, StatusCode::OK, "{path}");
        assert_eq!(app.counter.counts(), (2, 0), "{path}: the session and one read of the log");
        assert_eq!(page.body.contains("Newest activity"), pages > 0, "{path}: a way back to the newest");
        let (rows, older) = activity_rows(&page.body);
        assert!(rows.len() <= portal_templates::security::EVENTS_PER_PAGE);
        if let Some(older) = &older {
            let last = start + Duration::minutes(*rows.last().expect("a full page before an older one") as i64);
            assert!(older.starts_with(&format!("/activity?before={}~", portal_domain::store::key_time(last))), "{older}");
        }
        check(&path, &page, &rows);
        all.extend(rows);
        pages += 1;
        next = older;
    }
    (all, pages)
}

async fn years_of_activity_are_read_a_page_at_a_time(mut app: TestApp) {
    app.sign_in("maria@example.com").await;
    let lopez = portal_domain::AccountId::parse("lopez").unwrap();
    let (maria, daniel) = (portal_domain::MemberId::parse("maria").unwrap(), portal_domain::MemberId::parse("daniel").unwrap());
    let start = app.app.now() - Duration::days(30);
    // 450 older events: every third is Daniel's, every seventh (of the others) Maria's about Daniel.
    let mine = |i: usize| i.is_multiple_of(3) || i.is_multiple_of(7);
    let mut events = Vec::new();
    for i in 0..450usize {
        let (who, name) = if i.is_multiple_of(3) { (&daniel, "Daniel Lopez") } else { (&maria, "Maria Lopez") };
        let at = start + Duration::minutes(i as i64);
        let mut event =
            portal_domain::audit::AuditEvent::new(app.app.random.as_ref(), &lopez, Some(who), "contact.updated", at, "203.0.113.9")
                .actor_name(name)
                .detail(format!("event {i}"));
        if !i.is_multiple_of(3) && i.is_multiple_of(7) {
            event = event.subject("daniel");
        }
        events.push(event.write().unwrap());
    }
    for write in events {
        app.app.table.write(write).await.unwrap();
    }

    // The owner: 50 a page, newest first, every event once, each page two reads.
    let (rows, pages) = walk_activity(&mut app, start, |_, _, _| {}).await;
    assert_eq!(rows, (0..450).rev().collect::<Vec<_>>());
    assert_eq!(pages, 10, "451 events (with the sign-in) at 50 a page");
    // A link from before the first event: nothing older, and the way back.
    let past = app.get(&format!("/activity?before={}~x", portal_domain::store::key_time(start - Duration::days(1)))).await;
    assert!(past.body.contains("There is no older activity.") && past.body.contains("Newest activity"), "{}", past.body);
    // A damaged link starts from the newest.
    for damaged in ["garbage", "2020-01-01T00:00:00.000000Z~x%23y", "2020-01-01T00:00:00Z~abc"] {
        let page = app.get(&format!("/activity?before={damaged}")).await;
        assert_eq!(page.status, StatusCode::OK);
        assert_eq!(activity_rows(&page.body).0.first(), Some(&449), "{damaged}");
        assert!(!page.body.contains("Newest activity"), "{damaged}: this is the newest page");
    }

    // Daniel sees what he did and what concerned him, never a place among the others' events.
    let csrf = app.get("/members").await.csrf_token();
    app.post("/sign-out", &[("csrf_token", &csrf)]).await;
    app.request_code("daniel@example.com").await;
    let code = app.last_code_to("daniel@example.com").unwrap();
    assert_eq!(app.enter_code(&code).await.location(), Some("/members"));
    let (rows, pages) = walk_activity(&mut app, start, |path, page, rows| {
        let about_him = rows.iter().filter(|i| !i.is_multiple_of(3)).count();
        assert_eq!(page.body.matches("<td>Maria Lopez</td>").count(), about_him, "{path}: only Maria's events about Daniel");
    })
    .await;
    let expected: Vec<usize> = (0..450).rev().filter(|i| mine(*i)).collect();
    assert_eq!(rows, expected, "his own and those about him, newest first");
    assert_eq!(pages, (expected.len() + 1).div_ceil(50), "50 of his a page (with his sign-in)");
}

#[tokio::test]
async fn years_of_activity_are_read_a_page_at_a_time_in_memory() {
    years_of_activity_are_read_a_page_at_a_time(TestApp::memory().await).await;
}

#[tokio::test]
async fn years_of_activity_are_read_a_page_at_a_time_on_dynamodb() {
    years_of_activity_are_read_a_page_at_a_time(TestApp::dynamo().await).await;
}
