//! Test helpers: a portal app per test with a recording mailer, a clock that stands still,
//! a cookie jar, and typed steps such as `app.sign_in("maria@example.com")`.

pub mod faults;
pub mod fuzz;
pub mod receiver;
pub mod stripe;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use lambda_http::http::{header, Method, StatusCode};
use lambda_http::{Body, Request};
use portal_adapters::{DynamoTable, ManualClock, MemoryTable, OsRandom, OutboxMailer, SandboxGateway};
use portal_domain::ports::{Item, Key, Write};
use portal_domain::{Clock, Mailer, StoreError, Table};
use portal_web::{App, Config};

/// A fixed "now" for tests: noon in Chicago on a weekday.
/// A four-year-old dependent, as the add-dependent form is filled in for him.
pub const LUCAS: [(&str, &str); 5] =
    [("first_name", "Lucas"), ("last_name", "Lopez"), ("date_of_birth", "2022-08-01"), ("sex", "male"), ("relationship", "child")];

pub fn test_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 26, 18, 0, 0).single().expect("valid instant")
}

/// The DynamoDB emulator's URL; `scripts/test` starts moto and sets it. Tests fail without it.
pub fn dynamodb_endpoint() -> String {
    std::env::var("PORTAL_TEST_DYNAMODB_ENDPOINT")
        .expect("PORTAL_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test, which starts the DynamoDB emulator")
}

static TABLES: AtomicUsize = AtomicUsize::new(0);

/// A fresh table with a unique name on the emulator.
pub async fn fresh_dynamo_table(clock: Arc<dyn Clock>) -> DynamoTable {
    let n = TABLES.fetch_add(1, Ordering::SeqCst);
    let name = format!("portal-test-{}-{n}-{}", std::process::id(), Utc::now().timestamp_nanos_opt().unwrap_or(0));
    let sdk = portal_adapters::aws_config(Some(&dynamodb_endpoint())).await;
    let table = DynamoTable::new(portal_adapters::DynamoClient::new(&sdk), name, clock);
    table.create().await.expect("creating a table on the emulator");
    table
}

/// Counts the requests a table receives, to compare work and budget page costs.
pub struct CountingTable {
    inner: Arc<dyn Table>,
    pub reads: AtomicUsize,
    pub writes: AtomicUsize,
    /// Read capacity units, as DynamoDB counts strongly consistent reads (the portal's): a
    /// GetItem is its item's size in 4 KB units (at least one), a Query the sum of its items'
    /// sizes in 4 KB units, per response of at most 1 MB.
    pub read_units: AtomicUsize,
}

/// DynamoDB's unit of read capacity, and the most one Query response holds.
const READ_UNIT_BYTES: usize = 4096;
const RESPONSE_BYTES: usize = 1 << 20;

impl CountingTable {
    pub fn new(inner: Arc<dyn Table>) -> CountingTable {
        CountingTable { inner, reads: AtomicUsize::new(0), writes: AtomicUsize::new(0), read_units: AtomicUsize::new(0) }
    }

    /// (reads, writes) so far.
    pub fn counts(&self) -> (usize, usize) {
        (self.reads.load(Ordering::SeqCst), self.writes.load(Ordering::SeqCst))
    }

    /// Read units so far.
    pub fn units(&self) -> usize {
        self.read_units.load(Ordering::SeqCst)
    }

    pub fn reset(&self) {
        self.reads.store(0, Ordering::SeqCst);
        self.writes.store(0, Ordering::SeqCst);
        self.read_units.store(0, Ordering::SeqCst);
    }

    /// Counts a Query (or Scan page) that read `items`: one request per megabyte read, and its units.
    fn counted(&self, items: Result<Vec<Arc<Item>>, StoreError>) -> Result<Vec<Arc<Item>>, StoreError> {
        let bytes: usize = items.as_ref().map(|found| found.iter().map(|i| portal_domain::ports::item_size(i)).sum()).unwrap_or(0);
        self.reads.fetch_add(bytes.div_ceil(RESPONSE_BYTES).max(1), Ordering::SeqCst);
        self.read_units.fetch_add(bytes.div_ceil(READ_UNIT_BYTES).max(1), Ordering::SeqCst);
        items
    }
}

#[async_trait]
impl Table for CountingTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let item = self.inner.get(key).await;
        let bytes = item.as_ref().ok().and_then(Option::as_ref).map_or(0, portal_domain::ports::item_size);
        self.read_units.fetch_add(bytes.div_ceil(READ_UNIT_BYTES).max(1), Ordering::SeqCst);
        item
    }
    /// One request; each item's units counted on their own, as BatchGetItem consumes them.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        let items = self.inner.get_many(keys).await;
        if let Ok(found) = &items {
            let units: usize =
                found.iter().map(|i| i.as_ref().map_or(0, portal_domain::ports::item_size).div_ceil(READ_UNIT_BYTES).max(1)).sum();
            self.read_units.fetch_add(units, Ordering::SeqCst);
        }
        items
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.counted(self.inner.query(pk, sk_prefix).await)
    }
    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.counted(self.inner.query_range(pk, from, to).await)
    }
    async fn query_newest(&self, pk: &str, sk_prefix: &str, before: &str, limit: usize) -> Result<Vec<Arc<Item>>, StoreError> {
        self.counted(self.inner.query_newest(pk, sk_prefix, before, limit).await)
    }
    async fn query_index(&self, gsi1pk: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.counted(self.inner.query_index(gsi1pk).await)
    }
    async fn scan_sort_key(&self, sk: &str, after: Option<Key>) -> Result<(Vec<Arc<Item>>, Option<Key>), StoreError> {
        self.reads.fetch_add(1, Ordering::SeqCst);
        self.inner.scan_sort_key(sk, after).await
    }
    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.write(write).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.writes.fetch_add(1, Ordering::SeqCst);
        self.inner.transact(writes).await
    }
    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.writes.fetch_add(items.len().div_ceil(25), Ordering::SeqCst);
        self.inner.put_batch(items).await
    }
}

/// The demo household grown by 500 invoices and 200 payments (the statement and lists show them
/// all), 300 of them left unpaid.
pub async fn grow_household(table: &dyn Table) {
    grow_household_by(table, 500, 200).await
}

/// The demo household grown by `count` invoices of $80 from 2010 on (a week apart, or closer when
/// that would reach past 2025), the oldest `paid_count` of them paid by card.
pub async fn grow_household_by(table: &dyn Table, count: u32, paid_count: u32) {
    let account = portal_domain::AccountId::parse("lopez").expect("valid");
    let start = chrono::NaiveDate::from_ymd_opt(2010, 1, 1).expect("valid");
    let spacing = if count * 7 <= 5_800 { 7 } else { (5_800 / count).max(1) };
    for n in 0..count {
        let issued = start + chrono::Days::new(u64::from(n * spacing));
        let paid = if n < paid_count { portal_domain::Money::parse("80").expect("valid") } else { portal_domain::Money::ZERO };
        let invoice = portal_domain::Invoice::new(portal_domain::InvoiceData {
            id: format!("old-{n}").try_into().expect("valid"),
            account: account.clone(),
            number: format!("OLD-{n}"),
            issued,
            due: issued + chrono::Days::new(14),
            lines: vec![portal_domain::LineItem {
                member: None,
                description: "Standard Membership — Maria Lopez".into(),
                period_start: Some(issued),
                period_end: Some(issued + chrono::Days::new(30)),
                amount: portal_domain::Money::parse("80").expect("valid"),
            }],
            paid,
            pending: portal_domain::Money::ZERO,
            void: false,
        })
        .expect("a valid invoice");
        let mut payments = Vec::new();
        if n < paid_count {
            let payment = portal_domain::Payment {
                id: format!("old-pay-{n}").try_into().expect("valid"),
                account: account.clone(),
                invoice: invoice.id().clone(),
                amount: paid,
                source: portal_domain::SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year: 2030 },
                status: portal_domain::PaymentStatus::Succeeded,
                gateway_reference: Some(format!("sbx_old_{n}")),
                idempotency_key: format!("old-{n}"),
                at: (issued + chrono::Days::new(2)).and_hms_opt(15, 0, 0).expect("valid").and_utc(),
                reversals: Default::default(),
                ach_authorization: None,
                batch: None,
                paid_by: None,
                invoice_number: Some(invoice.number().to_owned()),
                invoice_issued: Some(invoice.issued()),
                parts: None,
                version: 1,
            };
            table.write(portal_domain::store::put_payment(&payment).expect("an item")).await.expect("stored");
            payments.push(payment);
        }
        // What the import writes with them: the invoice with copies of its payments, the summary
        // of open invoices and the figures by month.
        let copied: Vec<&portal_domain::Payment> = payments.iter().collect();
        let put = portal_domain::store::put_invoice_with(&invoice, &copied).expect("an item");
        for write in put.into_iter().chain(portal_domain::store::count_invoice(None, &invoice, &payments, &[]).expect("writes")) {
            table.write(write).await.expect("stored");
        }
    }
}

/// Every invoice whose copies of its payments are complete (`store::applied`) has a copy of each
/// payment as stored, and its page by key shows them; at least one invoice is read that way.
pub async fn copies_agree(table: &dyn Table, account: &portal_domain::AccountId) {
    let records = portal_domain::store::household(table, account).await.expect("the household");
    let mut checked = 0;
    for invoice in records.ledger.invoices().expect("invoices") {
        let page = portal_domain::store::invoice_page(table, account, invoice.id(), invoice.issued()).await.expect("read");
        let Some(page) = page else { continue };
        checked += 1;
        let unversioned = |mut p: portal_domain::Payment| {
            p.version = 0;
            p
        };
        let stored: Vec<_> = records.ledger.payments_for(invoice.id()).expect("payments").into_iter().map(unversioned).collect();
        let copies: Vec<_> = page.payments.into_iter().map(unversioned).collect();
        assert_eq!(copies, stored, "the copies of {}'s payments", invoice.id());
    }
    assert!(checked > 0, "no invoice of {account} is read by key");
}

/// Collects what a tracing subscriber writes, for tests that read the logs.
#[derive(Clone, Default)]
pub struct LogCapture(Arc<std::sync::Mutex<Vec<u8>>>);

impl LogCapture {
    /// Everything written so far.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
}

impl std::io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> LogCapture {
        self.clone()
    }
}

/// A response with its body as text.
#[derive(Clone)]
pub struct Page {
    pub status: StatusCode,
    pub headers: lambda_http::http::HeaderMap,
    pub body: String,
    /// The body as sent, for downloads such as PDFs.
    pub bytes: Vec<u8>,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok())
    }

    /// The value of the first hidden `csrf_token` field.
    pub fn csrf_token(&self) -> String {
        let marker = r#"name="csrf_token" value=""#;
        let start = self.body.find(marker).map(|i| i + marker.len()).expect("the page has a csrf_token field");
        let end = self.body[start..].find('"').expect("closing quote") + start;
        self.body[start..end].to_owned()
    }
}

/// One portal app with its own table, outbox and clock, and a browser's cookie jar.
pub struct TestApp {
    pub app: App,
    pub outbox: Arc<OutboxMailer>,
    pub clock: Arc<ManualClock>,
    pub counter: Arc<CountingTable>,
    /// The sandbox processor, to count charges.
    pub gateway: Arc<SandboxGateway>,
    pub cookies: Vec<(String, String)>,
    pub origin: Option<String>,
    /// The browser's User-Agent header.
    pub user_agent: String,
    /// The browser's address, as CloudFront or the local server passes it (none unless set).
    pub client_ip: Option<String>,
}

impl TestApp {
    /// The demo data in the in-memory table.
    pub async fn memory() -> TestApp {
        let clock = Arc::new(ManualClock::new(test_now()));
        let table = Arc::new(MemoryTable::new(clock.clone()));
        TestApp::with_table(table, clock).await
    }

    /// The demo data in a fresh table on the DynamoDB emulator.
    pub async fn dynamo() -> TestApp {
        let clock = Arc::new(ManualClock::new(test_now()));
        let table = Arc::new(fresh_dynamo_table(clock.clone()).await);
        TestApp::with_table(table, clock).await
    }

    async fn with_table(table: Arc<dyn Table>, clock: Arc<ManualClock>) -> TestApp {
        let outbox = Arc::new(OutboxMailer::new());
        TestApp::build(table, clock, outbox.clone(), outbox).await
    }

    /// The demo data in the in-memory table, with payments through Stripe's adapter on localstripe:
    /// the households are Stripe customers and their saved cards Stripe test cards.
    pub async fn stripe() -> TestApp {
        let mut test = TestApp::memory().await;
        let gateway = stripe::gateway();
        let accounts = [portal_domain::AccountId::parse("lopez").expect("id"), portal_domain::AccountId::parse("taylor").expect("id")];
        gateway.seed_test_cards(test.app.table.as_ref(), &accounts, test.app.now()).await.expect("seeding localstripe");
        test.counter.reset();
        test.app.gateway = gateway;
        test.app.config.payments = portal_web::Payments::Stripe(stripe::settings());
        test
    }

    /// An app with a mailer of the test's choosing (e.g. a mock that fails); `outbox` stays empty then.
    pub async fn build(table: Arc<dyn Table>, clock: Arc<ManualClock>, outbox: Arc<OutboxMailer>, mailer: Arc<dyn Mailer>) -> TestApp {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ =
                tracing_subscriber::fmt().with_test_writer().with_env_filter("debug,aws=info,hyper=info,h2=info,rustls=info").try_init();
        }
        let counter = Arc::new(CountingTable::new(table));
        let config = Config::local(3000, b"test secret that is at least 32 bytes".to_vec());
        let today = clock.now().with_timezone(&config.time_zone).date_naive();
        portal_cli::import::seed_demo(counter.as_ref(), today).await.expect("seeding the demo");
        counter.reset();
        // The sandbox keeps its ledger in the table, as deployed: its requests are counted and can fail too.
        let gateway = Arc::new(SandboxGateway::with_ledger(Box::new(OsRandom), counter.clone()));
        let app = App::new(counter.clone(), mailer, clock.clone(), Arc::new(OsRandom), gateway.clone(), config);
        TestApp {
            app,
            outbox,
            clock,
            counter,
            gateway,
            cookies: Vec::new(),
            origin: None,
            user_agent: "portal-tests".into(),
            client_ip: None,
        }
    }

    /// Submits a member's contact form as a patient would: the form's current values, with `changes`
    /// (or the form's own answer when it does not open).
    pub async fn submit_contact(&mut self, id: &str, changes: &[(&str, &str)]) -> Page {
        let form = self.get(&format!("/members/{id}/contact")).await;
        if form.status != StatusCode::OK {
            return form;
        }
        let mut fields: Vec<(String, String)> =
            ["csrf_token", "version"].iter().map(|n| (n.to_string(), TestApp::hidden(&form, n))).collect();
        for name in ["email", "phone_mobile", "phone_home", "phone_work", "address_line1", "address_line2", "city", "state", "postal_code"]
        {
            let marker = format!(r#"name="{name}" type="#);
            let value = form.body.find(&marker).map(|i| {
                let rest = &form.body[i..];
                let v = rest.find("value=\"").map(|j| &rest[j + 7..]).unwrap_or("");
                v[..v.find('"').unwrap_or(0)].to_owned()
            });
            // A field the form does not offer (another adult's sign-in email) is not sent.
            if let Some(value) = value {
                fields.push((name.to_owned(), value));
            }
        }
        for (name, value) in changes {
            fields.retain(|(n, _)| n != name);
            fields.push((name.to_string(), value.to_string()));
        }
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post(&format!("/members/{id}/contact"), &fields).await
    }

    /// Opens an invoice's pay form, submits it with `fields` (plus its CSRF token and idempotency
    /// key) and, when the review comes back, presses its "Pay now"; otherwise the form's own
    /// answer (what to correct), or the page when the form does not open.
    pub async fn pay(&mut self, invoice: &str, fields: &[(&str, &str)]) -> Page {
        let review = self.review_payment(&format!("/invoices/{invoice}/pay"), fields).await;
        self.confirm_review(review).await
    }

    /// Opens a pay form (`path`: an invoice's, or `/pay-due`) and submits it with `fields`: the
    /// review when they are valid, the form with what to correct otherwise.
    pub async fn review_payment(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let form = self.get(path).await;
        if form.status != StatusCode::OK {
            return form;
        }
        let csrf = form.csrf_token();
        let key = TestApp::hidden(&form, "idempotency_key");
        let mut all = vec![("csrf_token", csrf.as_str()), ("idempotency_key", key.as_str())];
        all.extend_from_slice(fields);
        self.post(path, &all).await
    }

    /// Presses the review's "Pay now" (its first form, with every hidden field it carries); any
    /// other page is returned as it is.
    pub async fn confirm_review(&mut self, review: Page) -> Page {
        let Some(fields) = TestApp::review_fields(&review, "confirm") else { return review };
        let action = TestApp::review_action(&review);
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post(&action, &fields).await
    }

    /// The hidden fields of the review's form that carries `button` (`confirm` or `edit`), when the page is a review.
    pub fn review_fields(review: &Page, button: &str) -> Option<Vec<(String, String)>> {
        if review.status != StatusCode::OK || !review.body.contains("Review your payment") {
            return None;
        }
        let marker = format!(r#"name="{button}""#);
        let end = review.body.find(&marker)?;
        let start = review.body[..end].rfind("<form")?;
        let mut fields = Vec::new();
        let mut rest = &review.body[start..end + marker.len() + 20];
        while let Some(i) = rest.find(r#"type="hidden" name=""#) {
            rest = &rest[i + 20..];
            let name_end = rest.find('"')?;
            let name = rest[..name_end].to_owned();
            let value_start = rest.find(r#"value=""#)? + 7;
            let value_end = rest[value_start..].find('"')? + value_start;
            let value = rest[value_start..value_end]
                .replace("&quot;", "\"")
                .replace("&lt;", "<")
                .replace("&gt;", ">")
                .replace("&#39;", "'")
                .replace("&amp;", "&");
            fields.push((name, value));
            rest = &rest[value_end..];
        }
        Some(fields)
    }

    /// Where the review's forms post (the form that carries "Pay now").
    pub fn review_action(review: &Page) -> String {
        let confirm = review.body.find(r#"name="confirm""#).expect("a review");
        let form = review.body[..confirm].rfind("<form").expect("a form");
        let start = review.body[form..].find(r#"action=""#).expect("an action") + form + 8;
        let end = review.body[start..].find('"').expect("closing quote") + start;
        review.body[start..end].to_owned()
    }

    /// Opens Maria's membership's "add a dependent" form and submits `fields` for a price (or the
    /// form's own answer when it does not open).
    pub async fn quote_dependent(&mut self, fields: &[(&str, &str)]) -> Page {
        let form = self.get("/memberships/ms-lopez-2/dependents/new").await;
        if form.status != StatusCode::OK {
            return form;
        }
        let csrf = form.csrf_token();
        let mut all = vec![("csrf_token", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post("/memberships/ms-lopez-2/dependents/new", &all).await
    }

    /// Confirms the dependent a price page shows, as its "Confirm and add" button does.
    pub async fn confirm_dependent(&mut self, quote: &Page) -> Page {
        let names =
            ["csrf_token", "enrolment_key", "first_name", "last_name", "date_of_birth", "sex", "relationship", "email", "phone_mobile"];
        let fields: Vec<(String, String)> = names.iter().map(|n| (n.to_string(), TestApp::hidden(quote, n))).collect();
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        self.post("/memberships/ms-lopez-2/dependents/confirm", &fields).await
    }

    /// Sends a request as a browser would: with the jar's cookies, keeping the cookies it sets.
    pub async fn request(&mut self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Page {
        let (page, response_cookies) = self.send(method, path, form).await;
        self.keep_cookies(&response_cookies);
        page
    }

    /// Sends a request with the jar's cookies without changing the jar (for requests made at once).
    pub async fn send(&self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> (Page, Vec<String>) {
        let response = portal_cli::dispatch(&self.app, self.build_request(method, path, form)).await;
        let set_cookies =
            response.headers().get_all(header::SET_COOKIE).iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect();
        let (parts, body) = response.into_parts();
        let bytes = match body {
            Body::Text(t) => t.into_bytes(),
            Body::Binary(b) => b,
            _ => Vec::new(),
        };
        (Page { status: parts.status, headers: parts.headers, body: String::from_utf8_lossy(&bytes).into_owned(), bytes }, set_cookies)
    }

    /// The request a browser with this jar sends (benchmarks hand it to the functions themselves).
    pub fn build_request(&self, method: Method, path: &str, form: Option<&[(&str, &str)]>) -> Request {
        let mut builder = lambda_http::http::Request::builder()
            .method(method)
            .uri(path)
            .header("host", "127.0.0.1:3000")
            .header("user-agent", self.user_agent.as_str());
        if !self.cookies.is_empty() {
            let jar: Vec<String> = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
            builder = builder.header(header::COOKIE, jar.join("; "));
        }
        if let Some(origin) = &self.origin {
            builder = builder.header("origin", origin);
        }
        let body = match form {
            Some(fields) => {
                builder = builder.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
                Body::Text(encode_form(fields))
            }
            None => Body::Empty,
        };
        let mut request = builder.body(body).expect("valid request");
        if let Some(ip) = &self.client_ip {
            request.extensions_mut().insert(portal_web::ClientAddr(ip.clone()));
        }
        request
    }

    fn keep_cookies(&mut self, set_cookies: &[String]) {
        for text in set_cookies {
            let pair = text.split(';').next().unwrap_or("");
            let Some((name, value)) = pair.split_once('=') else { continue };
            self.cookies.retain(|(n, _)| n != name);
            let expired = text.contains("Max-Age=0");
            if !expired {
                self.cookies.push((name.to_owned(), value.to_owned()));
            }
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        self.request(Method::GET, path, None).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        self.request(Method::POST, path, Some(form)).await
    }

    /// The value of a cookie in the jar.
    pub fn cookie(&self, name: &str) -> Option<String> {
        self.cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone())
    }

    /// Mints a 30-day access link for the member who signs in with `email`, as the practice would.
    pub async fn access_link(&self, email: &str) -> portal_domain::session::Token {
        let table = self.app.table.as_ref();
        let member = portal_domain::store::member_by_email(table, &portal_domain::Email::parse(email).expect("an address"))
            .await
            .expect("the store")
            .expect("a member with that address");
        let address = member.email.expect("a sign-in address");
        portal_domain::session::mint_access_link(table, self.app.random.as_ref(), self.app.now(), member.account, member.id, address, 30)
            .await
            .expect("minting the link")
    }

    /// Opens "Add a payment method" and saves a card with `number` (the form's own answer when it
    /// does not open).
    pub async fn add_card(&mut self, number: &str) -> Page {
        let form = self.get("/payment-methods/new").await;
        if form.status != StatusCode::OK {
            return form;
        }
        let csrf = form.csrf_token();
        let fields = [
            ("csrf_token", csrf.as_str()),
            ("new_kind", "card"),
            ("card_number", number),
            ("exp_month", "10"),
            ("exp_year", "2031"),
            ("cvc", "321"),
            ("postal_code", "78613"),
        ];
        self.post("/payment-methods/new", &fields).await
    }

    /// Opens `/sign-in` and submits `email`.
    pub async fn request_code(&mut self, email: &str) -> Page {
        let form = self.get("/sign-in").await;
        let csrf = form.csrf_token();
        self.post("/sign-in", &[("csrf_token", &csrf), ("email", email)]).await
    }

    /// Submits a code on `/sign-in/code`.
    pub async fn enter_code(&mut self, code: &str) -> Page {
        let form = self.get("/sign-in/code").await;
        let csrf = form.csrf_token();
        self.post("/sign-in/code", &[("csrf_token", &csrf), ("code", code)]).await
    }

    /// The hidden field `name` of a page's form.
    pub fn hidden(page: &Page, name: &str) -> String {
        let marker = format!(r#"name="{name}" value=""#);
        let start = page.body.find(&marker).map(|i| i + marker.len()).unwrap_or_else(|| panic!("no {name} field"));
        let end = page.body[start..].find('"').expect("closing quote") + start;
        page.body[start..end].to_owned()
    }

    /// The 6-digit code in the newest email to `to`.
    pub fn last_code_to(&self, to: &str) -> Option<String> {
        let message = self.outbox.last_to(to)?;
        message.text.split_whitespace().find(|w| w.len() == 6 && w.chars().all(|c| c.is_ascii_digit())).map(str::to_owned)
    }

    /// Signs in through `/sign-in` with the emailed code; returns the page it lands on.
    pub async fn sign_in(&mut self, email: &str) -> Page {
        let sent = self.request_code(email).await;
        assert_eq!(sent.location(), Some("/sign-in/code"), "asking for a code for {email}");
        let code = self.last_code_to(email).expect("a code was emailed");
        let landed = self.enter_code(&code).await;
        assert_eq!(landed.location(), Some("/invoices"), "signing in as {email}: {}", landed.body);
        self.get("/invoices").await
    }
}

/// `application/x-www-form-urlencoded`, as browsers send it.
pub fn encode_form(fields: &[(&str, &str)]) -> String {
    fields.iter().map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v))).collect::<Vec<_>>().join("&")
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => (b as char).to_string(),
            b' ' => "+".to_owned(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The text of a PDF as `pdftotext -layout` extracts it (poppler-utils; `scripts/test` installs it).
pub fn pdf_text(pdf: &[u8]) -> String {
    let n = TABLES.fetch_add(1, Ordering::SeqCst);
    let path = std::env::temp_dir().join(format!("portal-test-{}-{n}.pdf", std::process::id()));
    std::fs::write(&path, pdf).expect("writing the PDF");
    let output = std::process::Command::new("pdftotext")
        .arg("-layout")
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext is not installed: run scripts/test, which installs poppler-utils");
    let _ = std::fs::remove_file(&path);
    assert!(output.status.success(), "pdftotext could not read the PDF: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("pdftotext prints UTF-8")
}
