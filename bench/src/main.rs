//! `portal-bench`: per route, the table requests and read units a warm page uses against DynamoDB
//! (the emulator at `PORTAL_TEST_DYNAMODB_ENDPOINT`) and the page's weight, for the demo and for
//! households of growing history; printed as JSON for `scripts/bench`.

use lambda_http::http::Method;
use portal_bench::{grow_household_by, history_of, open, GROWN_BY, MARIA, PAGES, PUBLIC_PAGES};
use portal_tests::TestApp;
use serde_json::{json, Value};

/// Absolute `src`/`href` references in a page: anything loaded from elsewhere.
fn third_party(html: &str) -> usize {
    ["src=\"http", "href=\"http", "src=\"//", "href=\"//", "url(http", "url(//"].iter().map(|p| html.matches(p).count()).sum()
}

async fn measure(app: &TestApp, pages: &[(&str, &str)], css_bytes: usize) -> Vec<Value> {
    let mut rows = Vec::new();
    for (name, path) in pages {
        let path = &portal_bench::as_linked(app, path).await;
        // Warm the container first (the practice profile is cached for five minutes), as a page seen by a patient.
        open(app, path).await;
        app.counter.reset();
        let (page, _) = app.send(Method::GET, path, None).await;
        let (reads, writes) = app.counter.counts();
        let content_type = page.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
        let html = content_type.starts_with("text/html");
        rows.push(json!({
            "route": name,
            "path": path,
            "status": page.status.as_u16(),
            "content_type": content_type,
            "reads": reads,
            "read_units": app.counter.units(),
            "writes": writes,
            "bytes": page.bytes.len(),
            "html_css_bytes": if html { page.bytes.len() + css_bytes } else { 0 },
            "third_party": if html { third_party(&page.body) } else { 0 },
        }));
    }
    rows
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut app = TestApp::dynamo().await;
    let (_, css) = open(&app, portal_templates::routes::STYLESHEET_PATH).await;
    let public = measure(&app, PUBLIC_PAGES, css.len()).await;
    app.sign_in(MARIA).await;
    let demo = measure(&app, PAGES, css.len()).await;
    let mut grown = Vec::new();
    for by in GROWN_BY {
        let mut app = TestApp::dynamo().await;
        app.sign_in(MARIA).await;
        grow_household_by(app.app.table.as_ref(), *by, *by).await;
        let (invoices, payments) = history_of(app.app.table.as_ref()).await;
        let pages = measure(&app, PAGES, css.len()).await;
        grown.push(json!({ "grown_by": by, "invoices": invoices, "payments": payments, "pages": pages }));
    }
    let report = json!({ "css_bytes": css.len(), "public": public, "demo": demo, "grown": grown });
    println!("{}", serde_json::to_string_pretty(&report)?);
    Ok(())
}
