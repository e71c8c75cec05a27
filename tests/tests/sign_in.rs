//! The sign-in journey through the real handlers: codes, limits, sessions, CSRF.

use chrono::Duration;
use lambda_http::http::StatusCode;
use portal_tests::TestApp;

const MARIA: &str = "maria@example.com";
const SESSION: &str = "portal_session";

#[tokio::test]
async fn maria_signs_in_by_email_and_lands_on_her_invoices() {
    let mut app = TestApp::memory().await;
    let page = app.sign_in(MARIA).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("Lopez household"));
    assert!(page.body.contains(r#"id="total-due">$330.00"#), "open $190 + past-due $140");
    assert!(page.body.contains(r#"id="past-due">$140.00"#));
    assert_eq!(page.body.matches(r#"<span class="badge paid">Paid</span>"#).count(), 9);
    assert_eq!(page.body.matches(r#"<span class="badge past-due">Past due</span>"#).count(), 1);
    assert_eq!(page.body.matches(r#"<span class="badge open">Open</span>"#).count(), 1);
    assert!(!page.body.contains("INV-2001"), "Sam's invoice is not Maria's");
}

#[tokio::test]
async fn sam_sees_only_his_invoice() {
    let mut app = TestApp::memory().await;
    let page = app.sign_in("sam@example.com").await;
    assert!(page.body.contains("INV-2001"));
    assert!(page.body.contains(r#"id="total-due">$80.00"#));
    assert!(!page.body.contains("INV-100"), "none of the Lopez invoices");
}

#[tokio::test]
async fn maria_signs_in_through_an_access_link() {
    let mut app = TestApp::memory().await;
    let token = app.access_link(MARIA).await;
    let path = format!("/access/{}", token.expose());
    let landing = app.get(&path).await;
    assert_eq!(landing.status, StatusCode::OK);
    assert!(landing.body.contains("m•••@example.com"), "the address is masked");
    assert!(!landing.body.contains(MARIA));
    let csrf = landing.csrf_token();
    let sent = app.post(&path, &[("csrf_token", &csrf)]).await;
    assert_eq!(sent.location(), Some("/sign-in/code"));
    let code = app.last_code_to(MARIA).unwrap();
    assert_eq!(app.enter_code(&code).await.location(), Some("/invoices"));
    assert!(app.get("/invoices").await.body.contains(r#"id="total-due">$330.00"#));
}

#[tokio::test]
async fn an_unknown_or_expired_access_link_offers_email_sign_in() {
    let mut app = TestApp::memory().await;
    let page = app.get(&format!("/access/{}", "x".repeat(43))).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Sign in with email"));
}

#[tokio::test]
async fn an_unknown_address_gets_the_same_answer_does_the_same_work_and_no_email() {
    let mut known = TestApp::memory().await;
    let mut unknown = TestApp::memory().await;
    let a = known.request_code(MARIA).await;
    let (known_reads, known_writes) = known.counter.counts();
    let b = unknown.request_code("nobody@example.com").await;
    let (unknown_reads, unknown_writes) = unknown.counter.counts();
    assert_eq!((a.status, a.location()), (b.status, b.location()));
    let code_a = known.get("/sign-in/code").await;
    let code_b = unknown.get("/sign-in/code").await;
    assert_eq!(code_a.status, code_b.status);
    assert_eq!(code_a.body.replace(&code_a.csrf_token(), ""), code_b.body.replace(&code_b.csrf_token(), "").replace("n•••@", "m•••@"));
    assert_eq!((known_reads, known_writes), (unknown_reads, unknown_writes), "the same table requests either way");
    assert_eq!(known.outbox.messages().len(), 1);
    assert!(unknown.outbox.messages().is_empty(), "nothing is mailed to an unknown address");
    // Whatever is typed, an unknown address never signs in.
    let tried = unknown.enter_code("123456").await;
    assert_eq!(tried.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_code_expires_after_ten_minutes() {
    let mut app = TestApp::memory().await;
    app.request_code(MARIA).await;
    let code = app.last_code_to(MARIA).unwrap();
    app.clock.advance(Duration::minutes(10));
    let page = app.enter_code(&code).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("expired"));
    assert_eq!(app.cookie(SESSION), None);
}

#[tokio::test]
async fn a_code_works_once() {
    let mut app = TestApp::memory().await;
    app.request_code(MARIA).await;
    let code = app.last_code_to(MARIA).unwrap();
    // Keep the pre-session, as an attacker replaying the same form would.
    let pre = app.cookies.clone();
    assert_eq!(app.enter_code(&code).await.location(), Some("/invoices"));
    app.cookies = pre;
    let again = app.enter_code(&code).await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(again.body.contains("already used"));
}

#[tokio::test]
async fn five_wrong_tries_end_the_code() {
    let mut app = TestApp::memory().await;
    app.request_code(MARIA).await;
    let code = app.last_code_to(MARIA).unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    for left in (1..=4).rev() {
        let page = app.enter_code(wrong).await;
        assert!(page.body.contains(&format!("{left} more tr")), "{left} tries left");
    }
    assert!(app.enter_code(wrong).await.body.contains("Too many wrong codes"));
    let right = app.enter_code(&code).await;
    assert_eq!(right.status, StatusCode::UNPROCESSABLE_ENTITY, "the right code no longer works");
    assert_eq!(app.cookie(SESSION), None);
}

#[tokio::test]
async fn a_new_code_replaces_the_old_one() {
    let mut app = TestApp::memory().await;
    app.request_code(MARIA).await;
    let first = app.last_code_to(MARIA).unwrap();
    app.clock.advance(Duration::seconds(61));
    app.request_code(MARIA).await;
    let second = app.last_code_to(MARIA).unwrap();
    if first != second {
        assert_eq!(app.enter_code(&first).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    }
    assert_eq!(app.enter_code(&second).await.location(), Some("/invoices"));
}

#[tokio::test]
async fn sends_are_limited_to_one_a_minute_and_five_an_hour() {
    let mut app = TestApp::memory().await;
    app.request_code(MARIA).await;
    app.request_code(MARIA).await;
    assert_eq!(app.outbox.messages().len(), 1, "a second send within the minute sends nothing");
    for _ in 0..4 {
        app.clock.advance(Duration::seconds(61));
        app.request_code(MARIA).await;
    }
    assert_eq!(app.outbox.messages().len(), 5);
    app.clock.advance(Duration::seconds(61));
    let sixth = app.request_code(MARIA).await;
    assert_eq!(sixth.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(sixth.body.contains("Too many codes were requested"), "{}", sixth.body);
    assert_eq!(app.outbox.messages().len(), 5, "the sixth is not sent");
    app.clock.advance(Duration::minutes(60));
    assert_eq!(app.request_code(MARIA).await.location(), Some("/sign-in/code"), "the window moves on");
    assert_eq!(app.outbox.messages().len(), 6);
}

#[tokio::test]
async fn the_old_session_is_dead_after_sign_out() {
    let mut app = TestApp::memory().await;
    let page = app.sign_in(MARIA).await;
    let old = app.cookie(SESSION).unwrap();
    let out = app.post("/sign-out", &[("csrf_token", &page.csrf_token())]).await;
    assert_eq!(out.location(), Some("/sign-in"));
    assert_eq!(app.cookie(SESSION), None, "the cookie is cleared");
    app.cookies.push((SESSION.into(), old));
    assert_eq!(app.get("/invoices").await.location(), Some("/sign-in"), "the old token no longer works");
}

#[tokio::test]
async fn each_sign_in_gets_a_new_session_token_and_ends_the_old_one() {
    let mut app = TestApp::memory().await;
    let page = app.sign_in(MARIA).await;
    let first = app.cookie(SESSION).unwrap();
    // Signed in already, Maria follows her access link and enters a fresh code.
    let token = app.access_link(MARIA).await;
    app.clock.advance(Duration::seconds(61));
    let csrf = page.csrf_token();
    assert_eq!(app.post(&format!("/access/{}", token.expose()), &[("csrf_token", &csrf)]).await.location(), Some("/sign-in/code"));
    let code = app.last_code_to(MARIA).unwrap();
    assert_eq!(app.post("/sign-in/code", &[("csrf_token", &csrf), ("code", &code)]).await.location(), Some("/invoices"));
    let second = app.cookie(SESSION).unwrap();
    assert_ne!(first, second, "a new token at every sign-in");
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK);
    app.cookies.retain(|(n, _)| n != SESSION);
    app.cookies.push((SESSION.into(), first));
    assert_eq!(app.get("/invoices").await.location(), Some("/sign-in"), "the previous session ended");
}

#[tokio::test]
async fn sessions_time_out_when_idle_and_after_eight_hours() {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK, "activity keeps it alive");
    app.clock.advance(Duration::minutes(29));
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK);
    app.clock.advance(Duration::minutes(31));
    assert_eq!(app.get("/invoices").await.location(), Some("/sign-in"), "30 idle minutes end it");

    let mut busy = TestApp::memory().await;
    busy.sign_in(MARIA).await;
    for _ in 0..(8 * 60 / 20 - 1) {
        busy.clock.advance(Duration::minutes(20));
        assert_eq!(busy.get("/invoices").await.status, StatusCode::OK);
    }
    busy.clock.advance(Duration::minutes(20));
    assert_eq!(busy.get("/invoices").await.location(), Some("/sign-in"), "8 hours end it however busy");
}

#[tokio::test]
async fn a_post_without_a_valid_csrf_token_is_refused_and_changes_nothing() {
    let mut app = TestApp::memory().await;
    app.get("/sign-in").await;
    for token in ["", "forged"] {
        let page = app.post("/sign-in", &[("csrf_token", token), ("email", MARIA)]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
    }
    assert!(app.outbox.messages().is_empty());
    assert_eq!(app.counter.counts().1, 0, "no writes");
    let page = app.sign_in(MARIA).await;
    let before = app.counter.counts().1;
    let forged = app.post("/sign-out", &[("csrf_token", "forged")]).await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert_eq!(app.counter.counts().1, before);
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK, "still signed in");
    // A token from this very page, but sent from another site, is refused too.
    app.origin = Some("https://evil.example".into());
    assert_eq!(app.post("/sign-out", &[("csrf_token", &page.csrf_token())]).await.status, StatusCode::FORBIDDEN);
    // Our own pages are served with `Referrer-Policy: no-referrer`, so browsers send `Origin: null`.
    app.origin = Some("null".into());
    assert_eq!(app.post("/sign-out", &[("csrf_token", &page.csrf_token())]).await.location(), Some("/sign-in"));
}

#[tokio::test]
async fn bad_input_re_renders_the_form_with_a_message() {
    let mut app = TestApp::memory().await;
    let form = app.get("/sign-in").await;
    let page = app.post("/sign-in", &[("csrf_token", &form.csrf_token()), ("email", "not an email <script>")]).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("Enter an email address like name@example.com."));
    assert!(page.body.contains("not an email &lt;script&gt;"), "the input is kept, escaped");
    app.request_code(MARIA).await;
    let code = app.enter_code("12ab").await;
    assert_eq!(code.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(code.body.contains("Enter the 6-digit code"));
}

#[tokio::test]
async fn pages_need_a_session_and_carry_security_headers() {
    let mut app = TestApp::memory().await;
    assert_eq!(app.get("/").await.location(), Some("/sign-in"));
    let page = app.get("/invoices").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/sign-in"));
    app.sign_in(MARIA).await;
    assert_eq!(app.get("/").await.location(), Some("/invoices"));
    let page = app.get("/invoices").await;
    assert_eq!(page.headers["content-security-policy"], portal_web::edge::CONTENT_SECURITY_POLICY);
    assert_eq!(page.headers["referrer-policy"], "no-referrer");
    assert_eq!(page.headers["x-content-type-options"], "nosniff");
    assert_eq!(page.headers["cache-control"], "no-store");
    let scripts = page.body.matches("<script").count();
    assert_eq!(scripts, page.body.matches(r#"<script src="/assets/portal.js" defer></script>"#).count(), "no inline script");
}

#[tokio::test]
async fn a_member_who_is_not_the_owner_cannot_see_the_invoices() {
    let mut app = TestApp::memory().await;
    app.request_code("daniel@example.com").await;
    let code = app.last_code_to("daniel@example.com").unwrap();
    assert_eq!(app.enter_code(&code).await.location(), Some("/members"), "a member starts where they may look");
    let page = app.get("/invoices").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND, "the household's billing does not exist for a member");
    assert!(!page.body.contains("INV-1009"));
}

#[tokio::test]
async fn unknown_paths_and_methods_get_friendly_pages() {
    let mut app = TestApp::memory().await;
    let page = app.get("/nothing-here").await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert!(page.body.contains("Page not found"));
    assert!(page.body.contains("Reference:"));
    let form = app.get("/sign-in").await;
    let pre_token = [("csrf_token", form.csrf_token())];
    let pre_token: Vec<(&str, &str)> = pre_token.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(app.post("/members/maria/contact", &pre_token).await.status, StatusCode::FORBIDDEN, "no session token");
    let put = app.request(lambda_http::http::Method::PUT, "/sign-in", None).await;
    assert_eq!(put.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(put.headers["allow"], "GET, POST");
    let post = app.post("/invoices", &pre_token).await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED, "a page that takes no form");
    assert_eq!(post.headers["allow"], "GET");
}

#[tokio::test]
async fn a_signed_in_page_costs_one_session_read_and_one_query() {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    app.counter.reset();
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK);
    assert_eq!(app.counter.counts(), (2, 0));
}

#[tokio::test]
async fn the_whole_journey_works_on_dynamodb() {
    let mut app = TestApp::dynamo().await;
    let page = app.sign_in(MARIA).await;
    assert!(page.body.contains(r#"id="total-due">$330.00"#));
    app.clock.advance(Duration::seconds(61));
    let mut other = TestApp { cookies: Vec::new(), ..app };
    let sam = other.sign_in("sam@example.com").await;
    assert!(sam.body.contains("INV-2001") && !sam.body.contains("INV-1009"));
}

/// A private portal stays out of search indexes: `robots.txt` disallows everything, and every
/// answer says `noindex` (issue 25, item 8).
#[tokio::test]
async fn crawlers_are_asked_to_index_nothing() {
    let mut app = TestApp::memory().await;
    let robots = app.get("/robots.txt").await;
    assert_eq!(robots.status, StatusCode::OK);
    assert_eq!(robots.body, "User-agent: *\nDisallow: /\n");
    assert!(robots.headers["content-type"].to_str().unwrap().starts_with("text/plain"));
    for path in ["/sign-in", "/access/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "/no-such-page"] {
        let page = app.get(path).await;
        assert_eq!(page.headers.get("x-robots-tag").map(|v| v.to_str().unwrap()), Some("noindex, nofollow"), "{path}");
    }
    app.sign_in(MARIA).await;
    assert_eq!(app.get("/invoices").await.headers["x-robots-tag"], "noindex, nofollow");
}
