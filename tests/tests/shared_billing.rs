//! Issue 25, item 10: the owner shares the household's billing with another adult (a spouse who
//! pays the bills), as part of the one access policy: they see and pay invoices and manage payment
//! methods, but not the others' contact details; the owner can take it back at once.

use lambda_http::http::StatusCode;
use portal_tests::TestApp;

const MARIA: &str = "maria@example.com";
const DANIEL: &str = "daniel@example.com";

/// Signs in as `email` in a fresh cookie jar (another browser) and returns the jar it leaves.
async fn browser_of(app: &mut TestApp, email: &str) -> Vec<(String, String)> {
    // A while later (a code is not sent again to the same address at once).
    app.clock.advance(chrono::Duration::minutes(5));
    app.cookies.clear();
    app.request_code(email).await;
    let code = app.last_code_to(email).expect("a code");
    let landed = app.enter_code(&code).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "signing in as {email}");
    std::mem::take(&mut app.cookies)
}

/// The owner's form on the members page for Daniel: `share` is "1" or "0".
async fn set_sharing(app: &mut TestApp, share: &str) -> portal_tests::Page {
    let members = app.get("/members").await;
    let csrf = members.csrf_token();
    app.post("/members/daniel/billing", &[("csrf_token", &csrf), ("share", share)]).await
}

#[tokio::test]
async fn a_spouse_billing_is_shared_with_pays_and_loses_it_when_the_owner_stops() {
    let mut app = TestApp::memory().await;
    let daniel_before = browser_of(&mut app, DANIEL).await;
    let maria = browser_of(&mut app, MARIA).await;

    // Before: Daniel has no billing.
    app.cookies = daniel_before.clone();
    assert_eq!(app.get("/invoices").await.status, StatusCode::NOT_FOUND);

    // Maria shares it from Members: offered for Daniel, not for Sofia (a child).
    app.cookies = maria.clone();
    let members = app.get("/members").await;
    assert!(members.body.contains("Share billing with Daniel"), "{}", members.body);
    assert!(!members.body.contains("Share billing with Sofia"));
    let shared = set_sharing(&mut app, "1").await;
    assert_eq!(shared.location(), Some("/members?done=billing-shared"));
    assert!(app.get("/members").await.body.contains("Stop sharing billing with Daniel"));
    let activity = app.get("/activity").await;
    assert!(activity.body.contains("Billing shared"), "recorded in the activity log: {}", activity.body);
    let maria = std::mem::take(&mut app.cookies);

    // Daniel's old session ended with the change; signed in again, he handles billing.
    app.cookies = daniel_before;
    assert_eq!(app.get("/invoices").await.status, StatusCode::SEE_OTHER, "the session from before the change is gone");
    let daniel = browser_of(&mut app, DANIEL).await;
    app.cookies = daniel;
    let overview = app.get("/invoices").await;
    assert_eq!(overview.status, StatusCode::OK);
    assert!(overview.body.contains("INV-1008") && overview.body.contains(r#"href="/payment-methods""#));
    assert_eq!(app.get("/statement").await.status, StatusCode::OK);
    assert_eq!(app.get("/payment-methods").await.status, StatusCode::OK);
    let paid = app.pay("inv-1008", &[("amount", "40.00"), ("source", "src-visa")]).await;
    assert!(paid.location().is_some_and(|l| l.starts_with("/payments/")), "{}", paid.body);
    assert_eq!(app.gateway.charges().len(), 1);
    let records =
        portal_domain::store::household(app.app.table.as_ref(), &portal_domain::AccountId::parse("lopez").unwrap()).await.unwrap();
    let id = paid.location().unwrap().trim_start_matches("/payments/").split('?').next().unwrap();
    let payment = records.ledger.payment(&portal_domain::PaymentId::parse(id).unwrap()).unwrap().unwrap();
    assert_eq!(payment.paid_by.as_ref().map(|m| m.as_str()), Some("daniel"), "who paid is kept with the payment");
    for to in [MARIA, DANIEL] {
        let receipt = app.outbox.last_to(to).unwrap_or_else(|| panic!("no email to {to}"));
        assert!(
            receipt.subject.starts_with("Receipt: $40.00"),
            "the receipt goes to the owner and to the spouse who paid: {}",
            receipt.subject
        );
    }
    // Not the others' contact details, not the household's management.
    assert_eq!(app.get("/members/maria/contact").await.status, StatusCode::NOT_FOUND);
    let own = app.get("/members").await;
    assert!(!own.body.contains("maria@example.com") && own.body.contains("Shared with you"));
    assert_eq!(app.get("/memberships/ms-lopez-2/renew").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/memberships/ms-lopez-2/dependents/new").await.status, StatusCode::NOT_FOUND);
    let csrf = own.csrf_token();
    let not_his = app.post("/members/daniel/billing", &[("csrf_token", &csrf), ("share", "0")]).await;
    assert_eq!(not_his.status, StatusCode::NOT_FOUND, "only the owner decides who handles billing");
    let daniel = std::mem::take(&mut app.cookies);

    // Maria stops sharing: Daniel is signed out, and signed in again has no billing.
    app.cookies = maria;
    assert_eq!(set_sharing(&mut app, "0").await.location(), Some("/members?done=billing-stopped"));
    assert!(app.get("/activity").await.body.contains("Billing no longer shared"));
    app.cookies = daniel;
    assert_eq!(app.get("/invoices").await.status, StatusCode::SEE_OTHER, "signed out at once");
    app.cookies = browser_of(&mut app, DANIEL).await;
    assert_eq!(app.get("/invoices").await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/payment-methods").await.status, StatusCode::NOT_FOUND);
    assert!(!app.get("/members").await.body.contains(r#"href="/invoices""#), "no Invoices in the navigation");
}

#[tokio::test]
async fn billing_is_not_shared_with_a_child_or_by_a_crafted_form() {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    let members = app.get("/members").await;
    let csrf = members.csrf_token();
    let refused = app.post("/members/sofia/billing", &[("csrf_token", &csrf), ("share", "1")]).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("only with an adult"), "said on the page it came from: {}", refused.body);
    let garbled = app.post("/members/daniel/billing", &[("csrf_token", &csrf), ("share", "yes")]).await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    assert!(!app.get("/members").await.body.contains("Stop sharing"), "nothing changed");
}

/// A session that outlived the sharing (ending it failed after the household changed, or it was
/// started at that very moment) still loses billing: pages ask the household as read.
#[tokio::test]
async fn a_sharing_taken_back_counts_even_for_a_session_that_outlived_it() {
    use portal_domain::ports::{Update, Write};
    use portal_domain::store;
    let mut app = TestApp::memory().await;
    app.cookies = browser_of(&mut app, MARIA).await;
    assert_eq!(set_sharing(&mut app, "1").await.status, StatusCode::SEE_OTHER);
    app.cookies = browser_of(&mut app, DANIEL).await;
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK);
    // The household changes back behind the session's back.
    let account = portal_domain::AccountId::parse("lopez").unwrap();
    let item = app.app.table.get(&store::household_key(&account)).await.unwrap().unwrap();
    let mut household: portal_domain::Household = store::record_of(&item).unwrap();
    household.billing_shared_with.clear();
    let update = Update::default().set(store::DATA, serde_json::to_string(&household).unwrap());
    app.app.table.write(Write::Update { key: store::household_key(&account), update, condition: None }).await.unwrap();
    for path in ["/invoices", "/statement", "/invoices/inv-1008/pay", "/pay-due", "/payment-methods"] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
}
