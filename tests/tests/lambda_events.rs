//! Real function-URL events through the Lambda adapter the functions run under: base64 form
//! bodies, the `cookies` array, the request context, and `Set-Cookie` coming back in `cookies`.

use std::sync::Arc;

use base64::Engine;
use lambda_http::request::LambdaRequest;
use lambda_http::tower::ServiceExt;
use lambda_http::{service_fn, Adapter, Context, Error, LambdaEvent, Request};
use portal_adapters::{ManualClock, MemoryTable, OsRandom, OutboxMailer, SandboxGateway};
use portal_domain::{Clock, Table};
use portal_tests::{encode_form, test_now};
use portal_web::{App, Config};
use secrecy::SecretString;
use serde_json::Value;

const GET: &str = include_str!("../fixtures/function-url-get.json");
const POST: &str = include_str!("../fixtures/function-url-post-form.json");

struct Deployed {
    app: Arc<App>,
    outbox: Arc<OutboxMailer>,
}

/// The app as deployed: https, `__Host-` cookies, the origin-verify check on.
async fn deployed() -> Deployed {
    let clock = Arc::new(ManualClock::new(test_now()));
    let table = Arc::new(MemoryTable::new(clock.clone()));
    let mut config = Config::local(443, b"a deployed secret of at least 32 bytes".to_vec());
    config.local = false;
    config.public_url = "https://portal.cedarvalley.example".into();
    config.origin_verify = Some(SecretString::from("origin-verify-secret-for-tests"));
    portal_cli::import::seed_demo(table.as_ref() as &dyn Table, clock.now().with_timezone(&config.time_zone).date_naive()).await.unwrap();
    let outbox = Arc::new(OutboxMailer::new());
    let gateway = Arc::new(SandboxGateway::new(Box::new(OsRandom)));
    let app = App::new(table, outbox.clone(), clock, Arc::new(OsRandom), gateway, config);
    Deployed { app: Arc::new(app), outbox }
}

/// Invokes a function with an event as Lambda would and returns the response event as JSON.
async fn invoke(app: &Arc<App>, invoices: bool, event: Value) -> Value {
    let request: LambdaRequest = serde_json::from_value(event).expect("a function URL event");
    let app = Arc::clone(app);
    let service = service_fn(move |req: Request| {
        let app = Arc::clone(&app);
        async move {
            let response = if invoices { ::invoices::handle(&app, req).await } else { ::sign_in::handle(&app, req).await };
            Ok::<_, Error>(response)
        }
    });
    let response = Adapter::from(service).oneshot(LambdaEvent::new(request, Context::default())).await.expect("the handler never fails");
    serde_json::to_value(response).expect("a response event")
}

fn event(fixture: &str, method: &str, path: &str, cookies: &[String], form: Option<&[(&str, &str)]>) -> Value {
    let mut event: Value = serde_json::from_str(fixture).unwrap();
    event["rawPath"] = Value::from(path);
    event["requestContext"]["http"]["path"] = Value::from(path);
    event["requestContext"]["http"]["method"] = Value::from(method);
    event["cookies"] = Value::from(cookies.to_vec());
    if let Some(fields) = form {
        event["body"] = Value::from(base64::engine::general_purpose::STANDARD.encode(encode_form(fields)));
    }
    event
}

/// `name=value` of the cookie the response sets under `name`.
fn cookie(response: &Value, name: &str) -> Option<String> {
    response["cookies"]
        .as_array()?
        .iter()
        .filter_map(Value::as_str)
        .find(|c| c.starts_with(&format!("{name}=")))
        .map(|c| c.split(';').next().unwrap().to_owned())
}

fn csrf(response: &Value) -> String {
    let body = response["body"].as_str().unwrap();
    let marker = r#"name="csrf_token" value=""#;
    let start = body.find(marker).unwrap() + marker.len();
    body[start..start + body[start..].find('"').unwrap()].to_owned()
}

#[tokio::test]
async fn a_patient_signs_in_through_function_url_events() {
    let d = deployed().await;

    let form = invoke(&d.app, false, event(GET, "GET", "/sign-in", &[], None)).await;
    assert_eq!(form["statusCode"], 200);
    let pre = cookie(&form, "__Host-portal_pre").expect("the pre-session cookie comes back in `cookies`");
    assert!(form["headers"].get("set-cookie").is_none(), "not in headers");
    assert_eq!(form["headers"]["strict-transport-security"], "max-age=63072000; includeSubDomains");
    let set = form["cookies"][0].as_str().unwrap();
    assert!(set.contains("Secure") && set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));

    let token = csrf(&form);
    let sent = invoke(
        &d.app,
        false,
        event(
            POST,
            "POST",
            "/sign-in",
            &[pre.clone(), "_ga=GA1.1".into()],
            Some(&[("csrf_token", &token), ("email", "maria@example.com")]),
        ),
    )
    .await;
    assert_eq!(sent["statusCode"], 303, "{sent}");
    assert_eq!(sent["headers"]["location"], "/sign-in/code");
    let pre = cookie(&sent, "__Host-portal_pre").unwrap();

    let code = d
        .outbox
        .last_to("maria@example.com")
        .unwrap()
        .text
        .split_whitespace()
        .find(|w| w.len() == 6 && w.parse::<u32>().is_ok())
        .unwrap()
        .to_owned();
    let signed_in =
        invoke(&d.app, false, event(POST, "POST", "/sign-in/code", &[pre], Some(&[("csrf_token", &token), ("code", &code)]))).await;
    assert_eq!(signed_in["statusCode"], 303);
    assert_eq!(signed_in["headers"]["location"], "/invoices");
    let session = cookie(&signed_in, "__Host-portal_session").expect("the session cookie comes back in `cookies`");

    let overview = invoke(&d.app, true, event(GET, "GET", "/invoices", &[session], None)).await;
    assert_eq!(overview["statusCode"], 200);
    assert!(overview["body"].as_str().unwrap().contains(r#"id="total-due">$330.00"#));
    assert_eq!(overview["headers"]["cache-control"], "no-store");
}

#[tokio::test]
async fn requests_that_did_not_come_through_cloudfront_are_refused() {
    let d = deployed().await;
    let mut direct = event(GET, "GET", "/sign-in", &[], None);
    direct["headers"].as_object_mut().unwrap().remove("x-origin-verify");
    assert_eq!(invoke(&d.app, false, direct).await["statusCode"], 403);
    let mut wrong = event(GET, "GET", "/sign-in", &[], None);
    wrong["headers"]["x-origin-verify"] = Value::from("guess");
    assert_eq!(invoke(&d.app, false, wrong).await["statusCode"], 403);
}

#[tokio::test]
async fn a_function_answers_only_its_own_routes() {
    let d = deployed().await;
    assert_eq!(invoke(&d.app, true, event(GET, "GET", "/sign-in", &[], None)).await["statusCode"], 404);
    assert_eq!(invoke(&d.app, false, event(GET, "GET", "/invoices", &[], None)).await["statusCode"], 404);
}

#[tokio::test]
async fn oversized_and_odd_bodies_are_answered_400_or_413() {
    let d = deployed().await;
    let form = invoke(&d.app, false, event(GET, "GET", "/sign-in", &[], None)).await;
    let pre = cookie(&form, "__Host-portal_pre").unwrap();
    let big = "x".repeat(20_000);
    let response = invoke(
        &d.app,
        false,
        event(POST, "POST", "/sign-in", std::slice::from_ref(&pre), Some(&[("csrf_token", &csrf(&form)), ("email", &big)])),
    )
    .await;
    assert_eq!(response["statusCode"], 413);
    let mut invalid = event(POST, "POST", "/sign-in", &[pre], None);
    invalid["body"] = Value::from(base64::engine::general_purpose::STANDARD.encode([0x65, 0x3d, 0xff, 0xfe]));
    assert_eq!(invoke(&d.app, false, invalid).await["statusCode"], 400);
    assert!(d.outbox.messages().is_empty());
}
