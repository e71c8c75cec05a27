//! When the store or the mail service fails, patients get a friendly page and nothing half-done;
//! and the SES adapter against the emulator.

use std::sync::Arc;

use lambda_http::http::StatusCode;
use portal_adapters::{ManualClock, MemoryTable, OutboxMailer, SesMailer};
use portal_domain::ports::{MailError, Mailer, Message, MockMailer, MockTable};
use portal_domain::StoreError;
use portal_tests::{dynamodb_endpoint, test_now, TestApp};

#[tokio::test]
async fn a_mail_outage_shows_a_friendly_503_with_a_reference() {
    let mut app = TestApp::memory().await;
    app.sign_in("maria@example.com").await;
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(1).returning(|_| Err(MailError(anyhow::anyhow!("SES throttled: internal detail"))));
    app.app.mailer = Arc::new(mailer);
    let page = app.submit_contact("maria", &[("email", "maria.new@example.org")]).await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("Reference:"));
    assert!(page.body.contains(page.headers["x-request-id"].to_str().unwrap()));
    assert!(!page.body.contains("internal detail") && !page.body.contains("SES"), "no internals on the page");
}

/// A sign-in code the mail service refused gets the answer a sent code gets (an error page there
/// would say the address is a member's), and the send does not count: asking again sends a code.
#[tokio::test]
async fn a_mail_outage_at_sign_in_answers_as_a_sent_code_and_the_send_does_not_count() {
    let clock = Arc::new(ManualClock::new(test_now()));
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(1).returning(|_| Err(MailError(anyhow::anyhow!("SES throttled: internal detail"))));
    let mut app = TestApp::build(Arc::new(MemoryTable::new(clock.clone())), clock, Arc::new(OutboxMailer::new()), Arc::new(mailer)).await;
    let known = app.request_code("maria@example.com").await;
    let mut stranger = TestApp { cookies: Vec::new(), ..app };
    let unknown = stranger.request_code("stranger@example.com").await;
    assert_eq!((known.status, known.location()), (unknown.status, unknown.location()));
    assert_eq!(known.location(), Some("/sign-in/code"));
    let mut app = stranger;
    app.app.mailer = app.outbox.clone();
    assert_eq!(app.request_code("maria@example.com").await.location(), Some("/sign-in/code"));
    assert_eq!(app.outbox.messages().len(), 1, "asking again at once sends the code");
}

#[tokio::test]
async fn an_unknown_address_never_reaches_the_mailer() {
    let clock = Arc::new(ManualClock::new(test_now()));
    let mut mailer = MockMailer::new();
    mailer.expect_send().times(0);
    let mut app = TestApp::build(Arc::new(MemoryTable::new(clock.clone())), clock, Arc::new(OutboxMailer::new()), Arc::new(mailer)).await;
    assert_eq!(app.request_code("stranger@example.com").await.location(), Some("/sign-in/code"));
}

#[tokio::test]
async fn a_store_outage_shows_a_friendly_503() {
    let clock = Arc::new(ManualClock::new(test_now()));
    let mut table = MockTable::new();
    // Seeding finds a practice already there, so nothing else is written.
    table.expect_get().returning(|key| {
        if key.pk == "PRACTICE" {
            let item = portal_domain::store::record_item(key, "practice", &portal_adapters::demo::practice(), 1).unwrap();
            Ok(Some(item))
        } else {
            Err(StoreError::Unavailable(anyhow::anyhow!("connection reset")))
        }
    });
    table.expect_query_index().returning(|_| Err(StoreError::Unavailable(anyhow::anyhow!("connection reset"))));
    table.expect_write().times(0);
    let mut app = TestApp::build(Arc::new(table), clock, Arc::new(OutboxMailer::new()), Arc::new(OutboxMailer::new())).await;
    let page = app.request_code("maria@example.com").await;
    assert_eq!(page.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(page.body.contains("Nothing was changed"));
    app.cookies.push(("portal_session".into(), "A".repeat(43)));
    assert_eq!(app.get("/invoices").await.status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn ses_sends_from_a_verified_identity_and_refuses_others() {
    let sdk = portal_adapters::aws_config(Some(&dynamodb_endpoint())).await;
    let client = portal_adapters::SesClient::new(&sdk);
    let message = || Message {
        to: "maria@example.com".into(),
        subject: "Code".into(),
        html: "<p>123456</p>".into(),
        text: "123456".into(),
        headers: Vec::new(),
    };
    let unverified = SesMailer::new(client.clone(), "nobody-verified-this@cedarvalley.example");
    let refused = unverified.send(message()).await.expect_err("SES refuses an unverified sender");
    // Logged as a kind and a code: SES's own message quotes the addresses involved.
    let logged = format!("{refused:?} {refused:#} {:?}", std::error::Error::source(&refused));
    assert!(!logged.contains("nobody-verified-this") && !logged.contains("maria@example.com"), "{logged}");
    assert!(logged.contains("SES SendEmail failed: refused"), "{logged}");
    client.create_email_identity().email_identity("portal@cedarvalley.example").send().await.expect("creating the identity");
    let mailer = SesMailer::new(client, "portal@cedarvalley.example");
    mailer.send(message()).await.expect("sent through SES v2");
}

#[tokio::test]
async fn a_functions_clients_from_its_environment_reach_dynamodb_and_ses() {
    use portal_adapters::{DeferredClients, DeferredMailer, DeferredTable};
    use portal_domain::ports::{Key, Value, Write};
    use portal_domain::Table;
    let clock = Arc::new(ManualClock::new(test_now()));
    let name = format!("portal-function-config-{}", std::process::id());
    let sdk = portal_adapters::aws_config(Some(&dynamodb_endpoint())).await;
    portal_adapters::DynamoTable::new(portal_adapters::DynamoClient::new(&sdk), name.clone(), clock.clone()).create().await.unwrap();
    // What a deployed function builds: environment-only configuration, rustls with ring.
    let clients = DeferredClients::start(Some(dynamodb_endpoint()));
    let table = DeferredTable::new(clients.clone(), name, clock);
    let mut item = portal_domain::ports::Item::new();
    item.insert("pk".into(), Value::S("CHECK".into()));
    item.insert("sk".into(), Value::S("ONE".into()));
    table.write(Write::Put { item: item.clone(), condition: None }).await.expect("written through the function's client");
    assert_eq!(table.get(&Key::new("CHECK", "ONE")).await.unwrap(), Some(item));
    let ses = portal_adapters::SesClient::new(&sdk);
    ses.create_email_identity().email_identity("functions@cedarvalley.example").send().await.unwrap();
    let mailer = DeferredMailer::new(clients, "functions@cedarvalley.example");
    let message =
        Message { to: "maria@example.com".into(), subject: "Code".into(), html: "<p>1</p>".into(), text: "1".into(), headers: Vec::new() };
    mailer.send(message).await.expect("sent through the function's SES client");
}
