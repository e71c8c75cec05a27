//! Log hygiene: the whole demo journey runs with every log line the functions would print
//! captured (at the most verbose level), and no code, token, card or bank number, CVC, email
//! address or email body may appear in any of them.

use std::io::Write as _;

use chrono::Duration;
use lambda_http::http::{header, Method, StatusCode};
use portal_domain::session;
use portal_tests::TestApp;

const CARD: &str = "4242424242424242";
const DECLINED_CARD: &str = "4000000000000002";
const UNKNOWN_CARD: &str = "4000000000000119";
const CVC: &str = "739";
const ROUTING: &str = "110000000";
const ACCOUNT: &str = "000123456789";

fn card(number: &str) -> Vec<(&str, &str)> {
    vec![("new_kind", "card"), ("card_number", number), ("exp_month", "12"), ("exp_year", "2030"), ("cvc", CVC), ("postal_code", "78613")]
}

/// Every string in a JSON value.
fn strings(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        serde_json::Value::Object(map) => map.iter().for_each(|(k, v)| {
            out.push(k.clone());
            strings(v, out)
        }),
        _ => {}
    }
}

/// Whether `text` holds `needle` not as part of a longer run of letters and digits.
fn contains_token(text: &str, needle: &str) -> bool {
    text.match_indices(needle).any(|(i, _)| {
        let before = text[..i].chars().next_back().is_none_or(|c| !c.is_ascii_alphanumeric());
        let after = text[i + needle.len()..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric());
        before && after
    })
}

#[tokio::test]
async fn the_demo_journey_logs_no_secret_and_no_personal_data() {
    let capture = portal_tests::LogCapture::default();
    portal_web::lambda::init_logging_to("trace".parse().unwrap(), capture.clone());
    let mut app = TestApp::memory().await;

    // Sign-in: an unknown address, a wrong code, the right code, and an access link.
    app.request_code("stranger@example.com").await;
    app.clock.advance(Duration::minutes(2));
    app.request_code("maria@example.com").await;
    let code = app.last_code_to("maria@example.com").unwrap();
    app.enter_code(if code == "000000" { "111111" } else { "000000" }).await;
    assert_eq!(app.enter_code(&code).await.location(), Some("/invoices"));
    let mut secrets: Vec<String> = vec![code];
    let link = session::mint_access_link(
        app.app.table.as_ref(),
        app.app.random.as_ref(),
        app.app.now(),
        "lopez".to_owned().try_into().unwrap(),
        "daniel".to_owned().try_into().unwrap(),
        portal_domain::Email::parse("daniel@example.com").unwrap(),
        7,
    )
    .await
    .unwrap();
    secrets.push(link.expose().to_owned());
    let access = format!("/access/{}", link.expose());
    let page = app.get(&access).await;
    assert_eq!(page.status, StatusCode::OK, "the access link opens");
    app.clock.advance(Duration::minutes(2));
    app.post(&access, &[("csrf_token", &page.csrf_token())]).await;

    // Every page, paying with new cards (saved, declined, unknown outcome) and a bank account.
    for path in [
        "/invoices",
        "/invoices/inv-1008",
        "/statement",
        "/members",
        "/memberships",
        "/payment-methods",
        "/agreements",
        "/activity",
        "/devices",
    ] {
        assert_eq!(app.get(path).await.status, StatusCode::OK, "{path}");
    }
    let mut saved = card(CARD);
    saved.extend([("source", "new"), ("amount", "10.00"), ("save", "yes")]);
    let paid = app.pay("inv-1008", &saved).await;
    assert!(paid.location().is_some_and(|l| l.starts_with("/payments/")), "the saved card paid: {}", paid.body);
    for (number, paid) in [(DECLINED_CARD, false), (UNKNOWN_CARD, true)] {
        let mut fields = card(number);
        fields.extend([("source", "new"), ("amount", "5.00")]);
        let page = app.pay("inv-1008", &fields).await;
        if paid {
            assert!(page.location().is_some_and(|l| l.starts_with("/payments/")), "the unknown outcome is held: {}", page.body);
        } else {
            assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY, "the declined card is said so on the form");
        }
    }
    let bank = [
        ("source", "new"),
        ("amount", "5.00"),
        ("new_kind", "bank"),
        ("account_holder", "Maria Lopez"),
        ("routing_number", ROUTING),
        ("account_number", ACCOUNT),
        ("account_type", "checking"),
        ("ach_authorize", "1"),
    ];
    let debited = app.pay("inv-1008", &bank).await;
    assert!(debited.location().is_some_and(|l| l.starts_with("/payments/")), "the bank debit was made: {}", debited.body);

    // Changes: contact details and a new address (with its confirmation code), a dependent, a signature.
    app.submit_contact("maria", &[("phone_mobile", "512-555-0199"), ("email", "maria.new@example.com")]).await;
    let code = app.last_code_to("maria.new@example.com").expect("the new address was sent a code");
    secrets.push(code.clone());
    let page = app.get("/members/maria/contact").await;
    let csrf = page.csrf_token();
    app.post("/members/maria/contact", &[("csrf_token", &csrf), ("code", &code)]).await;
    let dependent = [
        ("first_name", "Lucas"),
        ("last_name", "Lopez"),
        ("date_of_birth", "2022-08-01"),
        ("sex", "male"),
        ("relationship", "child"),
        ("email", "lucas.lopez@example.com"),
    ];
    let quote = app.quote_dependent(&dependent).await;
    assert_eq!(quote.status, StatusCode::OK, "the dependent is priced");
    app.confirm_dependent(&quote).await;
    let page = app.get("/agreements/agr-financial").await;
    app.post("/agreements/agr-financial/sign", &[("csrf_token", &page.csrf_token()), ("signer_name", "Maria Lopez"), ("consent", "yes")])
        .await;

    // Odd requests: a damaged cookie, a page that does not exist.
    let mut request = app.build_request(Method::GET, "/invoices", None);
    request.headers_mut().insert(header::COOKIE, "portal_session=not-a-token!".parse().unwrap());
    portal_cli::dispatch(&app.app, request).await;
    app.get("/nothing-here").await;
    for (name, value) in &app.cookies {
        secrets.push(value.clone());
        assert!(!name.is_empty());
    }
    secrets.push(app.get("/members").await.csrf_token());
    let csrf = app.get("/members").await.csrf_token();
    app.post("/sign-out", &[("csrf_token", &csrf)]).await;

    std::io::stdout().flush().unwrap();
    let text = capture.text();
    let lines: Vec<serde_json::Value> = text.lines().map(|l| serde_json::from_str(l).expect("every log line is JSON")).collect();
    assert!(lines.len() >= 30, "the journey was logged: {} lines", lines.len());
    let mut logged = Vec::new();
    lines.iter().for_each(|l| strings(l, &mut logged));
    let bodies: Vec<String> = app
        .outbox
        .messages()
        .iter()
        .flat_map(|m| m.text.lines().map(str::trim).filter(|l| l.len() >= 24).map(str::to_owned).collect::<Vec<_>>())
        .collect();
    assert!(!bodies.is_empty(), "emails were sent");
    let mut found = Vec::new();
    for s in &logged {
        for secret in secrets.iter().filter(|v| !v.is_empty()) {
            if s.contains(secret.as_str()) {
                found.push(format!("a code or token in {s:?}"));
            }
        }
        for number in [CARD, DECLINED_CARD, UNKNOWN_CARD, ROUTING, ACCOUNT] {
            if s.contains(number) {
                found.push(format!("a card or bank number in {s:?}"));
            }
        }
        if contains_token(s, CVC) {
            found.push(format!("the CVC in {s:?}"));
        }
        if s.contains('@') {
            found.push(format!("an email address in {s:?}"));
        }
        if bodies.iter().any(|b| s.contains(b.as_str())) {
            found.push(format!("an email's text in {s:?}"));
        }
    }
    assert!(found.is_empty(), "{} of {} logged strings leak:\n{}", found.len(), logged.len(), found.join("\n"));
    println!("log hygiene: {} log lines, {} strings checked against {} secrets", lines.len(), logged.len(), secrets.len() + 6);
}
