//! The request-to-response path under arbitrary input, shared by the proptest run in
//! `tests/tests/fuzz.rs` and the cargo-fuzz target in `fuzz/`.
//!
//! An input is bytes: a method byte, a flags byte, then up to four parts separated by a 0 byte
//! (path, cookie header, content type, body). Flags let the fuzzer use the signed-in browser's
//! real cookie, start from a real route (with the demo owner's ids), or come from another site;
//! `CSRF` in a body becomes the session's token, so the fuzzer reaches the handlers behind it.

use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request};
use portal_templates::routes::Route;

use crate::TestApp;

/// Form field names the portal's handlers read, for structured inputs.
pub const FIELDS: &[&str] = &[
    "csrf_token",
    "email",
    "code",
    "amount",
    "source",
    "save",
    "make_default",
    "card_number",
    "exp_month",
    "exp_year",
    "cvc",
    "postal_code",
    "account_holder",
    "routing_number",
    "account_number",
    "account_type",
    "new_kind",
    "idempotency_key",
    "confirm",
    "edit",
    "version",
    "phone_mobile",
    "phone_home",
    "phone_work",
    "address_line1",
    "address_line2",
    "city",
    "state",
    "first_name",
    "last_name",
    "date_of_birth",
    "sex",
    "relationship",
    "enrolment_key",
    "consent",
    "signer_name",
];

const METHODS: [&str; 9] = ["GET", "POST", "GET", "POST", "PUT", "DELETE", "HEAD", "OPTIONS", "PATCH"];

pub const SESSION_COOKIE: u8 = 1;
pub const ROUTE_TEMPLATE: u8 = 2;
pub const FOREIGN_ORIGIN: u8 = 4;
pub const FORM_CONTENT_TYPE: u8 = 8;

/// Every route with the demo owner's (Maria Lopez's) ids, but signing out (which would end the
/// fuzzed session for every input after it).
pub fn owner_routes() -> Vec<String> {
    Route::examples()
        .iter()
        .filter(|r| **r != Route::SignOut)
        .map(|r| {
            r.path()
                .replace("/invoices/x1", "/invoices/inv-1008")
                .replace("/payments/x1", "/payments/pay-1008")
                .replace("/members/x1", "/members/maria")
                .replace("/memberships/x1", "/memberships/ms-lopez-2")
                .replace("/payment-methods/x1", "/payment-methods/src-checking")
                .replace("/agreements/x1", "/agreements/agr-financial")
        })
        .collect()
}

/// Bytes in the input format from structured parts (what the proptest run generates).
pub fn encode(method: u8, flags: u8, path: &[u8], cookie: &[u8], content_type: &[u8], body: &[u8]) -> Vec<u8> {
    let mut input = vec![method, flags];
    for (i, part) in [path, cookie, content_type, body].iter().enumerate() {
        if i > 0 {
            input.push(0);
        }
        input.extend(part.iter().filter(|b| **b != 0 || i == 3));
    }
    input
}

/// A signed-in demo portal that answers fuzz inputs.
pub struct Harness {
    pub app: TestApp,
    csrf: String,
    routes: Vec<String>,
}

impl Harness {
    pub async fn new() -> Harness {
        let mut app = TestApp::memory().await;
        app.sign_in("maria@example.com").await;
        let csrf = app.get("/members").await.csrf_token();
        Harness { app, csrf, routes: owner_routes() }
    }

    /// The request an input describes, if it is one `http` can represent.
    pub fn request(&self, input: &[u8]) -> Option<Request> {
        let (&method, rest) = input.split_first()?;
        let (&flags, rest) = rest.split_first().unwrap_or((&0, &[]));
        let mut parts = rest.splitn(4, |b| *b == 0);
        let (path, cookie, content_type, body) =
            (parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]));
        let path = if flags & ROUTE_TEMPLATE != 0 {
            let (&pick, suffix) = path.split_first().unwrap_or((&0, &[]));
            format!("{}{}", self.routes[usize::from(pick) % self.routes.len()], String::from_utf8_lossy(suffix))
        } else {
            format!("/{}", String::from_utf8_lossy(path))
        };
        let mut builder = lambda_http::http::Request::builder()
            .method(Method::from_bytes(METHODS[usize::from(method) % METHODS.len()].as_bytes()).ok()?)
            .uri(path)
            .header("host", "127.0.0.1:3000")
            .header("user-agent", "portal-fuzz");
        let mut jar = Vec::new();
        if flags & SESSION_COOKIE != 0 {
            jar.extend(self.app.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ").into_bytes());
            if !cookie.is_empty() {
                jar.extend_from_slice(b"; ");
            }
        }
        jar.extend_from_slice(cookie);
        if !jar.is_empty() {
            builder = builder.header(header::COOKIE, lambda_http::http::HeaderValue::from_bytes(&jar).ok()?);
        }
        if flags & FORM_CONTENT_TYPE != 0 {
            builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        } else if !content_type.is_empty() {
            builder = builder.header(header::CONTENT_TYPE, lambda_http::http::HeaderValue::from_bytes(content_type).ok()?);
        }
        if flags & FOREIGN_ORIGIN != 0 {
            builder = builder.header("origin", "https://evil.example");
        }
        let body = replace(body, b"CSRF", self.csrf.as_bytes());
        builder.body(if body.is_empty() { Body::Empty } else { Body::Binary(body) }).ok()
    }

    /// Answers one input and checks the answer is a page, never a failure: no 5xx, no blank page.
    /// Returns the status, or `None` when the input is not a representable request.
    pub async fn check(&self, input: &[u8]) -> Option<StatusCode> {
        let request = self.request(input)?;
        let described = format!("{} {}", request.method(), request.uri());
        let response = portal_cli::dispatch(&self.app.app, request).await;
        let status = response.status();
        assert!(!status.is_server_error(), "{described} -> {status}");
        let empty = match response.body() {
            Body::Empty => true,
            Body::Text(t) => t.is_empty(),
            Body::Binary(b) => b.is_empty(),
            _ => true,
        };
        assert!(status.is_redirection() || !empty, "{described} -> {status} with an empty body");
        Some(status)
    }
}

fn replace(haystack: &[u8], needle: &[u8], with: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(haystack.len());
    let mut i = 0;
    while i < haystack.len() {
        if haystack[i..].starts_with(needle) {
            out.extend_from_slice(with);
            i += needle.len();
        } else {
            out.push(haystack[i]);
            i += 1;
        }
    }
    out
}
