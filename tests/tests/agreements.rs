//! Agreements through the real handlers: listing, signing rules, the signed copy and its PDF.

use lambda_http::http::StatusCode;
use portal_domain::store;
use portal_domain::AccountId;
use portal_tests::{pdf_text, TestApp};

const MARIA: &str = "maria@example.com";

async fn signed_in(email: &str) -> TestApp {
    let mut app = TestApp::memory().await;
    app.request_code(email).await;
    let code = app.last_code_to(email).unwrap();
    app.enter_code(&code).await;
    app
}

async fn agreement(app: &TestApp, id: &str) -> portal_domain::Agreement {
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    records.agreements.into_iter().find(|a| a.id.as_str() == id).unwrap()
}

async fn sign(app: &mut TestApp, id: &str, name: &str, consent: bool) -> portal_tests::Page {
    let page = app.get(&format!("/agreements/{id}")).await;
    let csrf = page.csrf_token();
    let mut fields = vec![("csrf_token", csrf.as_str()), ("signer_name", name)];
    if consent {
        fields.push(("consent", "yes"));
    }
    app.post(&format!("/agreements/{id}/sign"), &fields).await
}

#[tokio::test]
async fn maria_sees_pending_first_and_the_enrollment_signature() {
    let mut app = signed_in(MARIA).await;
    let list = app.get("/agreements").await;
    assert_eq!(list.status, StatusCode::OK);
    let pending = list.body.find("Waiting for a signature").unwrap();
    let signed = list.body.find("<h2 id=\"signed\">").unwrap();
    let financial = list.body.find("Financial Policy").unwrap();
    let membership = list.body.find("Membership Agreement").unwrap();
    assert!(pending < financial && financial < signed && signed < membership);
    assert!(list.body.contains("signed by Maria Lopez"));
    assert!(
        list.body.contains("Consent to Treat a Minor") && list.body.contains("Communication Preferences"),
        "the owner sees every member's"
    );
    let signed_page = app.get("/agreements/agr-membership").await;
    assert!(signed_page.body.contains(r#"id="signed-by">Maria Lopez"#) && signed_page.body.contains("203.0.113.24"));
}

#[tokio::test]
async fn maria_signs_the_financial_policy_and_downloads_the_signed_copy() {
    let mut app = signed_in(MARIA).await;
    let done = sign(&mut app, "agr-financial", "  maria   LOPEZ ", true).await;
    assert_eq!(done.location(), Some("/agreements/agr-financial"));
    let stored = agreement(&app, "agr-financial").await;
    let sig = stored.signature.as_ref().unwrap();
    assert_eq!(sig.signer_name, "maria LOPEZ");
    assert_eq!(sig.body_sha256, stored.body_sha256());
    assert_eq!(sig.user_agent, "portal-tests");
    let page = app.get("/agreements/agr-financial").await;
    assert!(page.body.contains(&sig.body_sha256), "kept, in the audit record");
    assert!(page.body.contains("Audit record"));
    assert!(!page.body.contains("name=\"signer_name\""), "no form once signed");
    // One time, the same on the page and in the PDF: the practice's, to the second (issue 25, item 6).
    let when = portal_templates::agreements::signed_at(sig.at, chrono_tz::America::Chicago);
    assert!(page.body.contains(&format!(r#"<dd id="signed-at">{when}</dd>"#)), "{when}");
    let pdf = app.get("/agreements/agr-financial/pdf").await;
    assert_eq!(pdf.headers["content-type"], "application/pdf");
    assert_eq!(pdf.headers["content-disposition"], r#"attachment; filename="financial-policy-signed.pdf""#);
    let text = pdf_text(&pdf.bytes);
    for expected in [
        "Financial Policy",
        "Membership fees are billed monthly",
        "Signed by: maria LOPEZ",
        &format!("Signed on: {when}"),
        "Audit record",
        "Fingerprint of the text signed (SHA-256)",
        &sig.body_sha256[..20],
    ] {
        assert!(text.contains(expected), "{expected} in\n{text}");
    }
}

#[tokio::test]
async fn the_name_must_match_and_consent_is_needed() {
    let mut app = signed_in(MARIA).await;
    let wrong = sign(&mut app, "agr-financial", "Mary Lopez", true).await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(wrong.body.contains("Type your full name exactly"));
    assert!(wrong.body.contains(r#"value="Mary Lopez""#), "the input is kept");
    let no_consent = sign(&mut app, "agr-financial", "Maria Lopez", false).await;
    assert_eq!(no_consent.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(no_consent.body.contains("Tick the box"));
    assert!(agreement(&app, "agr-financial").await.signature.is_none(), "nothing was signed");
}

#[tokio::test]
async fn the_owner_signs_for_a_minor_but_not_for_another_adult() {
    let mut app = signed_in(MARIA).await;
    let form = app.get("/agreements/agr-sofia-consent").await;
    assert!(
        form.body.contains("You sign as <strong>Maria Lopez</strong>, parent or guardian of <strong>Sofia Lopez</strong>."),
        "the parent signs, and the page says so"
    );
    let own = app.get("/agreements/agr-financial").await;
    assert!(own.body.contains("You sign as <strong>Maria Lopez</strong>."));
    assert_eq!(sign(&mut app, "agr-sofia-consent", "Maria Lopez", true).await.location(), Some("/agreements/agr-sofia-consent"));
    let sig = agreement(&app, "agr-sofia-consent").await.signature.unwrap();
    assert_eq!(sig.signed_by.as_str(), "maria");
    let daniels = app.get("/agreements/agr-daniel-communication").await;
    assert!(daniels.body.contains("Daniel Lopez signs this agreement themselves"));
    assert!(!daniels.body.contains("name=\"signer_name\""));
    let refused = app
        .post(
            "/agreements/agr-daniel-communication/sign",
            &[("csrf_token", &daniels.csrf_token()), ("signer_name", "Maria Lopez"), ("consent", "yes")],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(agreement(&app, "agr-daniel-communication").await.signature.is_none());
}

#[tokio::test]
async fn an_adult_member_sees_and_signs_only_their_own() {
    let mut app = signed_in("daniel@example.com").await;
    let list = app.get("/agreements").await;
    assert!(list.body.contains("Communication Preferences"));
    assert!(!list.body.contains("Financial Policy") && !list.body.contains("Consent to Treat a Minor"));
    assert_eq!(app.get("/agreements/agr-financial").await.status, StatusCode::NOT_FOUND, "another member's");
    assert_eq!(
        sign(&mut app, "agr-daniel-communication", "Daniel Lopez", true).await.location(),
        Some("/agreements/agr-daniel-communication")
    );
    assert_eq!(agreement(&app, "agr-daniel-communication").await.signature.unwrap().signed_by.as_str(), "daniel");
}

#[tokio::test]
async fn another_households_agreement_is_not_found() {
    let mut app = signed_in("sam@example.com").await;
    for path in ["/agreements/agr-financial", "/agreements/agr-membership/pdf"] {
        assert_eq!(app.get(path).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let csrf = app.get("/agreements").await.csrf_token();
    assert_eq!(
        app.post("/agreements/agr-financial/sign", &[("csrf_token", &csrf), ("signer_name", "Sam Taylor"), ("consent", "yes")])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn a_double_submit_signs_once_and_never_changes_the_signature() {
    let mut app = signed_in(MARIA).await;
    let page = app.get("/agreements/agr-financial").await;
    let csrf = page.csrf_token();
    let form = [("csrf_token", csrf.as_str()), ("signer_name", "Maria Lopez"), ("consent", "yes")];
    assert_eq!(app.post("/agreements/agr-financial/sign", &form).await.location(), Some("/agreements/agr-financial"));
    let first = agreement(&app, "agr-financial").await.signature.unwrap();
    app.clock.advance(chrono::Duration::minutes(1));
    let again = app
        .post("/agreements/agr-financial/sign", &[("csrf_token", csrf.as_str()), ("signer_name", "maria lopez"), ("consent", "yes")])
        .await;
    assert_eq!(again.location(), Some("/agreements/agr-financial"), "shows the signed copy");
    assert_eq!(agreement(&app, "agr-financial").await.signature.unwrap(), first, "unchanged");
    // Even a write racing the first one cannot sign again: it is conditioned on the unsigned version.
    let stale = portal_domain::Agreement { signature: None, record_version: 1, ..agreement(&app, "agr-financial").await };
    let sig = portal_domain::Signature { signer_name: "X".into(), ..first.clone() };
    assert!(portal_domain::agreement::sign(app.app.table.as_ref(), &stale, sig).await.is_err());
}

#[tokio::test]
async fn hostile_markdown_stays_text() {
    let mut app = signed_in(MARIA).await;
    let mut hostile = agreement(&app, "agr-financial").await;
    hostile.id = portal_domain::AgreementId::parse("agr-hostile").unwrap();
    hostile.body = "# Terms\n\n<script>alert('x')</script>\n\n<img src=x onerror=alert(1)>\n\n[link](javascript:alert(1))\n".into();
    app.app.table.write(store::put_agreement(&hostile).unwrap()).await.unwrap();
    let page = app.get("/agreements/agr-hostile").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("<script>alert") && page.body.contains("&lt;script&gt;alert"));
    assert!(!page.body.contains("<img") && !page.body.contains("javascript:"));
}
