//! Arbitrary requests through every function: any method, path, cookie, content type and body
//! is answered with a page (never a 5xx or a blank page); damaged cookies, bodies that are not
//! forms, invalid UTF-8 and oversized bodies get a 4xx and change nothing.

use lambda_http::http::{header, Method, StatusCode};
use lambda_http::Body;
use portal_tests::fuzz::{encode, Harness, FIELDS, FORM_CONTENT_TYPE, ROUTE_TEMPLATE, SESSION_COOKIE};
use portal_tests::TestApp;
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};

/// A form body: known fields with arbitrary values, usually with the session's CSRF token.
fn form_body() -> impl Strategy<Value = Vec<u8>> {
    (proptest::collection::vec((0..FIELDS.len(), "\\PC{0,24}"), 0..8), any::<bool>()).prop_map(|(fields, csrf)| {
        let mut pairs: Vec<String> = fields.iter().map(|(f, v)| format!("{}={}", FIELDS[*f], urlencode(v))).collect();
        if csrf {
            pairs.insert(0, "csrf_token=CSRF".into());
        }
        pairs.join("&").into_bytes()
    })
}

fn urlencode(text: &str) -> String {
    text.bytes().map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

fn input() -> impl Strategy<Value = Vec<u8>> {
    let path = prop_oneof![
        6 => (any::<u8>(), "(\\?[a-z_]{1,8}=[a-zA-Z0-9%-]{0,12}(&[a-z_]{1,8}=[0-9-]{0,10})?)?").prop_map(|(pick, q)| {
            let mut p = vec![pick];
            p.extend(q.into_bytes());
            (ROUTE_TEMPLATE, p)
        }),
        1 => "[a-z0-9/._%-]{0,40}".prop_map(|p| (0, p.into_bytes())),
        1 => proptest::collection::vec(any::<u8>(), 0..40).prop_map(|p| (0, p)),
    ];
    let cookie = prop_oneof![
        Just(Vec::new()),
        "portal_session=[A-Za-z0-9_-]{0,70}".prop_map(String::into_bytes),
        "portal_pre=[A-Za-z0-9_.-]{0,90}".prop_map(String::into_bytes),
        proptest::collection::vec(any::<u8>(), 0..40),
    ];
    let content_type = prop_oneof![
        Just(Vec::new()),
        Just(b"application/json".to_vec()),
        Just(b"multipart/form-data; boundary=x".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..20),
    ];
    let body = prop_oneof![
        4 => form_body(),
        1 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => Just(vec![b'a'; 17 * 1024]),
    ];
    let method = prop_oneof![4 => 0..4u8, 1 => 0..9u8];
    (method, any::<u8>(), path, cookie, content_type, body).prop_map(|(method, flags, (path_flag, path), cookie, ct, body)| {
        // Most inputs come from the signed-in browser with a form, to reach the handlers.
        let flags = (flags & !ROUTE_TEMPLATE) | path_flag | if flags & 0x30 != 0 { SESSION_COOKIE | FORM_CONTENT_TYPE } else { 0 };
        encode(method, flags, &path, &cookie, &ct, &body)
    })
}

#[test]
fn arbitrary_requests_are_answered_with_pages() {
    let cases = std::env::var("PORTAL_FUZZ_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(5000);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let harness = runtime.block_on(Harness::new());
    let mut runner = TestRunner::new(Config { cases, failure_persistence: None, ..Config::default() });
    let statuses = std::cell::RefCell::new(std::collections::BTreeMap::new());
    runner
        .run(&input(), |input| {
            if let Some(status) = runtime.block_on(harness.check(&input)) {
                *statuses.borrow_mut().entry(status.as_u16()).or_insert(0u32) += 1;
            }
            Ok(())
        })
        .unwrap();
    let statuses = statuses.into_inner();
    println!("{cases} inputs, answered: {statuses:?}");
    // The inputs reach past the edge: pages rendered and forms refused by the handlers, not only 4xx at the door.
    for reached in [200, 303, 422] {
        assert!(statuses.get(&reached).copied().unwrap_or(0) > 0, "no {reached} among {statuses:?}");
    }
}

async fn signed_in() -> (TestApp, String) {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let csrf = app.get("/members").await.csrf_token();
    app.counter.reset();
    (app, csrf)
}

#[tokio::test]
async fn damaged_cookies_are_refused_and_cleared() {
    for cookie in ["portal_session=not a token", "portal_session=short", "portal_pre=garbage", "portal_pre=a.b c"] {
        let (app, _) = signed_in().await;
        let mut request = app.build_request(Method::GET, "/invoices", None);
        request.headers_mut().insert(header::COOKIE, cookie.parse().unwrap());
        let response = portal_cli::dispatch(&app.app, request).await;
        assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{cookie}");
        let cleared: Vec<&str> = response.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).collect();
        assert!(cleared.iter().any(|c| c.starts_with("portal_session=;") && c.contains("Max-Age=0")), "{cleared:?}");
        let Body::Text(body) = response.body() else { panic!("an HTML page") };
        assert!(body.contains("damaged portal cookie"));
    }
    let (app, _) = signed_in().await;
    let mut request = app.build_request(Method::GET, "/invoices", None);
    request.headers_mut().insert(header::COOKIE, lambda_http::http::HeaderValue::from_bytes(b"portal_session=\xff\xfe").unwrap());
    assert_eq!(portal_cli::dispatch(&app.app, request).await.status(), StatusCode::BAD_REQUEST, "our cookie, not text");
    // Another site's cookie that is not ASCII is not ours to refuse.
    let mut request = app.build_request(Method::GET, "/invoices", None);
    let jar = format!("theme=\u{e9}t\u{e9}; portal_session={}", app.cookie("portal_session").unwrap());
    request.headers_mut().insert(header::COOKIE, lambda_http::http::HeaderValue::from_bytes(jar.as_bytes()).unwrap());
    assert_eq!(portal_cli::dispatch(&app.app, request).await.status(), StatusCode::OK, "a foreign cookie in UTF-8");
    // Someone else's cookies for other sites, and a dead session of the right shape, are not damage.
    let (mut app, _) = signed_in().await;
    app.cookies.push(("theme".into(), "dark mode!".into()));
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK);
    app.cookies.retain(|(n, _)| n != "portal_session");
    app.cookies.push(("portal_session".into(), "A".repeat(43)));
    assert_eq!(app.get("/invoices").await.location(), Some("/sign-in"));
}

#[tokio::test]
async fn bodies_that_are_not_our_forms_change_nothing() {
    let cases: [(&str, Vec<u8>, StatusCode); 5] = [
        ("application/x-www-form-urlencoded", b"csrf_token=CSRF&email=\xff\xfe".to_vec(), StatusCode::BAD_REQUEST),
        ("application/json", br#"{"csrf_token":"CSRF","email":"a@b.c"}"#.to_vec(), StatusCode::BAD_REQUEST),
        ("multipart/form-data; boundary=x", b"--x\r\n".to_vec(), StatusCode::BAD_REQUEST),
        ("text/plain", b"csrf_token=CSRF".to_vec(), StatusCode::BAD_REQUEST),
        (
            "application/x-www-form-urlencoded",
            [b"csrf_token=CSRF&email=".as_slice(), &[b'a'; 17 * 1024]].concat(),
            StatusCode::PAYLOAD_TOO_LARGE,
        ),
    ];
    for (content_type, body, want) in cases {
        let (app, csrf) = signed_in().await;
        let body = String::from_utf8_lossy(&body).replace("CSRF", &csrf).into_bytes();
        let body = if content_type.contains("urlencoded") && want == StatusCode::BAD_REQUEST {
            [b"csrf_token=".as_slice(), csrf.as_bytes(), b"&email=\xff\xfe"].concat()
        } else {
            body
        };
        let mut request = app.build_request(Method::POST, "/members/maria/contact", None);
        request.headers_mut().insert(header::CONTENT_TYPE, content_type.parse().unwrap());
        *request.body_mut() = Body::Binary(body);
        let response = portal_cli::dispatch(&app.app, request).await;
        assert_eq!(response.status(), want, "{content_type}");
        assert_eq!(app.counter.counts().1, 0, "{content_type}: nothing written");
    }
}
