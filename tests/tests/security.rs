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
