//! The local all-in-one server and the commands that prepare a table.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use lambda_http::http::{header, HeaderValue, Request, Response, StatusCode};
use lambda_http::Body;
use portal_adapters::{demo, DynamoTable, MemoryTable, OsRandom, OutboxMailer, SystemClock};
use portal_domain::{Clock, Random, Table};
use portal_templates::layout::Chrome;
use portal_web::{App, ClientAddr, Config, Payments};
use tokio::net::TcpListener;

/// The practice's time zone for local runs (`PRACTICE_TIME_ZONE`, default America/Chicago).
pub(crate) fn time_zone() -> anyhow::Result<chrono_tz::Tz> {
    let name = std::env::var("PRACTICE_TIME_ZONE").unwrap_or_else(|_| "America/Chicago".into());
    name.parse().map_err(|_| anyhow::anyhow!("PRACTICE_TIME_ZONE: {name} is not an IANA time zone"))
}

#[derive(Args, Clone)]
pub struct ServeArgs {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, env = "PORT", default_value_t = 3000)]
    port: u16,
    /// Use a DynamoDB-compatible emulator at this URL instead of the in-memory table (seeded when empty).
    #[arg(long)]
    dynamodb_endpoint: Option<String>,
    /// The table to use on the emulator.
    #[arg(long, default_value = "portal-local")]
    table: String,
    /// The payment processor: the sandbox (test numbers typed into the portal), or Stripe in test
    /// mode or a local fake, with STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, STRIPE_WEBHOOK_SECRET
    /// and, for a fake, STRIPE_API_BASE and STRIPE_JS_URL. The demo's saved cards are seeded there.
    #[arg(long, value_enum, default_value = "sandbox")]
    payments: crate::payments::Processor,
    /// Post each practice feed event to this URL, signed as the deployed practice-feed function
    /// signs them (docs/practice-feed.md). Without it the feed is only listed at /_dev/feed.
    #[arg(long, requires = "practice_webhook_secret")]
    practice_webhook: Option<String>,
    /// The webhook's signing secret (`whsec_` and base64, or any text of 24 characters or more).
    #[arg(long, env = "PRACTICE_WEBHOOK_SECRET", hide_env_values = true)]
    practice_webhook_secret: Option<String>,
}

#[derive(Args)]
pub struct TableArgs {
    /// The DynamoDB endpoint (an emulator such as moto); omit to use AWS with the usual settings.
    #[arg(long)]
    pub dynamodb_endpoint: Option<String>,
    /// The table name.
    #[arg(long, env = "TABLE_NAME", default_value = "portal-local")]
    pub table: String,
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr).compact().try_init();
}

/// A DynamoDB table on `endpoint`, created when missing.
pub(crate) async fn dynamo_table(endpoint: Option<&str>, name: &str, clock: Arc<dyn Clock>) -> anyhow::Result<DynamoTable> {
    let sdk = portal_adapters::aws_config(endpoint).await;
    let table = DynamoTable::new(portal_adapters::DynamoClient::new(&sdk), name, clock);
    if !table.exists().await? {
        table.create().await?;
    }
    Ok(table)
}

#[derive(Args)]
pub struct SeedArgs {
    #[command(flatten)]
    table: TableArgs,
    /// Print the demo data in the import format (docs/import-format.md) instead of storing it.
    #[arg(long)]
    print: bool,
    /// With --print: the day the demo's dates are relative to (YYYY-MM-DD; default today).
    #[arg(long, requires = "print")]
    today: Option<chrono::NaiveDate>,
}

pub async fn seed(args: SeedArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let today = match args.today {
        Some(day) => day,
        None => clock.now().with_timezone(&time_zone()?).date_naive(),
    };
    if args.print {
        let data = crate::import::Dataset::from_demo(&demo::Demo::new(today));
        println!("{}", serde_json::to_string_pretty(&crate::import::to_json(&data))?);
        return Ok(());
    }
    let args = args.table;
    let table = dynamo_table(args.dynamodb_endpoint.as_deref(), &args.table, clock.clone()).await?;
    let wrote = crate::import::seed_demo(&table, today).await?;
    println!("{}", if wrote { "Seeded the demo data." } else { "The table already has a practice; left it as it is." });
    Ok(())
}

/// A local Stripe fake (localstripe) is told to send its events to this portal's webhook, signed
/// with STRIPE_WEBHOOK_SECRET, as Stripe's dashboard is told for a deployed portal. Stripe itself
/// cannot reach a local portal: its CLI (`stripe listen --forward-to`) does that.
async fn forward_webhooks(settings: &portal_web::StripeSettings, port: u16) {
    use secrecy::ExposeSecret;
    let target = format!("http://127.0.0.1:{port}/stripe/webhook");
    if !settings.api_base.starts_with("http://127.0.0.1") && !settings.api_base.starts_with("http://localhost") {
        println!("Stripe's events: forward them with `stripe listen --forward-to {target}`");
        return;
    }
    // Every event: the portal acknowledges those it does not act on.
    let body = form_body(&[("url", target.as_str()), ("secret", settings.webhook_secret.expose_secret())]);
    match post_form(&format!("{}/_config/webhooks/portal", settings.api_base), &body).await {
        Ok(()) => println!("Stripe's events: the local fake sends them to {target}"),
        Err(e) => println!("Stripe's events: the local fake did not take the webhook ({e})"),
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={}", percent(v))).collect::<Vec<_>>().join("&")
}

fn percent(value: &str) -> String {
    value
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

/// A form POST to a server on this machine (the local Stripe fake's configuration endpoint).
async fn post_form(url: &str, body: &str) -> anyhow::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").ok_or_else(|| anyhow::anyhow!("not a local http URL"))?;
    let (host, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(h, p)| (h, format!("/{p}")));
    let mut stream = tokio::net::TcpStream::connect(host).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await?;
    anyhow::ensure!(answer.starts_with("HTTP/1.1 200"), "it answered {}", answer.lines().next().unwrap_or(""));
    Ok(())
}

/// Everything the local server holds.
struct Local {
    app: App,
    outbox: Arc<OutboxMailer>,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let listener = TcpListener::bind(("127.0.0.1", args.port)).await.with_context(|| format!("binding 127.0.0.1:{}", args.port))?;
    let port = listener.local_addr()?.port();
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let tz = time_zone()?;
    let today = clock.now().with_timezone(&tz).date_naive();
    let table: Arc<dyn Table> = match &args.dynamodb_endpoint {
        Some(url) => Arc::new(dynamo_table(Some(url), &args.table, clock.clone()).await?),
        None => Arc::new(MemoryTable::new(clock.clone())),
    };
    let seeded = crate::import::seed_demo(table.as_ref(), today).await?;
    let mut secret = vec![0u8; 32];
    OsRandom.fill(&mut secret);
    let mut config = Config::local(port, secret);
    config.time_zone = tz;
    let crate::payments::Configured { payments, gateway, stripe } = crate::payments::processor(args.payments, &table)?;
    if let (Some(stripe), Payments::Stripe(settings)) = (&stripe, &payments) {
        if seeded {
            let accounts = demo::Demo::new(today).households.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
            let cards = stripe.seed_test_cards(table.as_ref(), &accounts, chrono::Utc::now()).await?;
            println!("Stripe: {cards} demo cards saved as Stripe test cards on {}", settings.api_base);
        }
        forward_webhooks(settings, port).await;
    }
    config.payments = payments;
    let outbox = Arc::new(OutboxMailer::new());
    let app = App::new(table, outbox.clone(), clock, Arc::new(OsRandom), gateway, config);
    let link =
        crate::operator::mint_link(app.table.as_ref(), app.random.as_ref(), app.now(), demo::MARIA, 30, &app.config.public_url).await?;
    let url = &app.config.public_url;
    println!("Patient portal: {url}/");
    println!(
        "Demo households: {} (owner, renewable), {} (member of the same household), {} (single member)",
        demo::MARIA,
        demo::DANIEL,
        demo::SAM
    );
    println!("Access link for Maria: {link}");
    println!("Emails (sign-in codes): {url}/_dev/outbox");
    println!("Practice feed: {url}/_dev/feed");
    println!("Reminders: POST {url}/_dev/reminders runs today's (into the outbox)");
    let local = Arc::new(Local { app, outbox });
    if let (Some(target), Some(secret)) = (args.practice_webhook, args.practice_webhook_secret) {
        let webhook = portal_feed::Webhook::new(&target, portal_feed::Secret::parse(&secret)?, portal_feed::Retry::deployed())?;
        println!("Practice feed events are posted to {target}");
        tokio::spawn(deliver_feed(Arc::clone(&local), webhook));
    }
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = tokio::signal::ctrl_c() => return Ok(()),
        };
        let local = Arc::clone(&local);
        tokio::spawn(async move {
            let service = service_fn(move |req| {
                let local = Arc::clone(&local);
                async move { Ok::<_, Infallible>(local.respond(req, peer).await) }
            });
            if let Err(e) = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await {
                tracing::debug!(error = %e, "connection closed");
            }
        });
    }
}

impl Local {
    /// Hands a request to the function that serves its path, as CloudFront would.
    async fn respond(&self, req: Request<Incoming>, peer: SocketAddr) -> Response<Full<Bytes>> {
        // Only the address the server is bound to: a page elsewhere that points its own name at
        // 127.0.0.1 (DNS rebinding) reaches nothing, not the outbox's codes, not a form.
        if !self.own_host(req.headers().get(header::HOST).and_then(|h| h.to_str().ok())) {
            return plain(StatusCode::MISDIRECTED_REQUEST, "this server answers only at its own address, 127.0.0.1 or localhost");
        }
        let (parts, body) = req.into_parts();
        // Read no more than the largest body a function takes (Stripe's events); a form's own limit is the edge's.
        let bytes = match http_body_util::Limited::new(body, LOCAL_BODY_LIMIT).collect().await {
            Ok(collected) => collected.to_bytes(),
            Err(e) if e.is::<http_body_util::LengthLimitError>() => {
                return plain(StatusCode::PAYLOAD_TOO_LARGE, "the request body is too large")
            }
            Err(_) => return plain(StatusCode::BAD_REQUEST, "could not read the request body"),
        };
        let body = if bytes.is_empty() { Body::Empty } else { Body::Binary(bytes.to_vec()) };
        let mut req = lambda_http::Request::from_parts(parts, body);
        req.extensions_mut().insert(ClientAddr(peer.ip().to_string()));
        if req.uri().path() == "/_dev/outbox" {
            return self.outbox_page(&req);
        }
        if req.uri().path() == "/_dev/feed" {
            return self.feed_page(&req).await;
        }
        if req.uri().path() == "/_dev/reminders" && req.method() == lambda_http::http::Method::POST {
            return self.run_reminders().await;
        }
        let (parts, body) = crate::dispatch(&self.app, req).await.into_parts();
        let bytes = match body {
            Body::Text(t) => Bytes::from(t),
            Body::Binary(b) => Bytes::from(b),
            _ => Bytes::new(),
        };
        Response::from_parts(parts, Full::new(bytes))
    }

    /// `POST /_dev/reminders`: today's reminders run, as the deployed schedule starts it each
    /// morning; the emails land in the outbox.
    async fn run_reminders(&self) -> Response<Full<Bytes>> {
        match reminders::run(&self.app, self.app.today(), false).await {
            Ok(report) => {
                let sent: Vec<serde_json::Value> =
                    report.sent.iter().map(|s| serde_json::json!({ "kind": s.kind, "subject": s.subject, "to": s.to })).collect();
                dev_page("application/json", serde_json::json!({ "households": report.households, "sent": sent }).to_string())
            }
            Err(e) => {
                tracing::error!(error = %e, "the reminders run failed");
                plain(StatusCode::SERVICE_UNAVAILABLE, "the reminders run failed")
            }
        }
    }

    /// `/_dev/outbox`: the emails sent so far, as HTML or (with `Accept: application/json`) JSON.
    fn outbox_page(&self, req: &lambda_http::Request) -> Response<Full<Bytes>> {
        let messages = self.outbox.messages();
        let wants_json = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
        let (content_type, body) = if wants_json {
            let list: Vec<serde_json::Value> =
                messages.iter().map(|m| serde_json::json!({ "to": m.to, "subject": m.subject, "text": m.text, "html": m.html })).collect();
            ("application/json", serde_json::Value::Array(list).to_string())
        } else {
            let chrome = Chrome { practice: &self.app.config.practice_name, nav: None };
            ("text/html; charset=utf-8", portal_templates::dev::outbox(&chrome, &messages).into_string())
        };
        dev_page(content_type, body)
    }
}

/// The largest request body the local server reads (as a function URL would refuse a larger one).
const LOCAL_BODY_LIMIT: usize = 256 * 1024;

impl Local {
    /// Whether a Host header names this server: 127.0.0.1 or localhost, at its port.
    fn own_host(&self, host: Option<&str>) -> bool {
        let port = self.app.config.public_url.rsplit(':').next().unwrap_or("");
        host.is_some_and(|h| h == format!("127.0.0.1:{port}") || h == format!("localhost:{port}"))
    }

    /// `/_dev/feed`: the practice change feed, as HTML or (with `Accept: application/json`) JSON.
    async fn feed_page(&self, req: &lambda_http::Request) -> Response<Full<Bytes>> {
        let now = self.app.now();
        let events = match portal_domain::feed::written_by(self.app.table.as_ref(), None, usize::MAX, now, now).await {
            Ok((events, _)) => events,
            Err(e) => {
                tracing::error!(error = %e, "the feed could not be read");
                return plain(StatusCode::SERVICE_UNAVAILABLE, "the feed could not be read");
            }
        };
        let wants_json = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|a| a.contains("application/json"));
        let (content_type, body) = if wants_json {
            ("application/json", serde_json::to_string(&events).unwrap_or_default())
        } else {
            let chrome = Chrome { practice: &self.app.config.practice_name, nav: None };
            ("text/html; charset=utf-8", portal_templates::dev::feed(&chrome, &events).into_string())
        };
        dev_page(content_type, body)
    }
}

/// Posts the local portal's feed events to the practice's endpoint as the deployed function does,
/// in order: it reads the feed after the last event delivered every second, and an event the
/// endpoint does not take is tried again (with what follows it) on the next round.
async fn deliver_feed(local: Arc<Local>, webhook: portal_feed::Webhook) {
    // The local table's writes land as they are made, so a second's margin is enough.
    let margin = chrono::Duration::seconds(1);
    let mut cursor: Option<String> = None;
    loop {
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        let now = local.app.now();
        let events = match portal_domain::feed::written_by(local.app.table.as_ref(), cursor.as_deref(), 100, now - margin, now).await {
            Ok((events, _)) => events,
            Err(e) => {
                tracing::warn!(error = %e, "the feed could not be read");
                continue;
            }
        };
        for event in events {
            match webhook.deliver(&event).await {
                portal_feed::Delivery::Delivered { .. } => cursor = Some(event.cursor.clone()),
                portal_feed::Delivery::Failed { last, .. } => {
                    eprintln!("Practice feed: {} was not taken ({last}); trying again", event.id);
                    break;
                }
            }
        }
    }
}

/// A `/_dev/` page: never cached, under the portal's content security policy.
fn dev_page(content_type: &'static str, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response.headers_mut().insert("content-security-policy", HeaderValue::from_static(portal_web::edge::CONTENT_SECURITY_POLICY));
    response
}

fn plain(status: StatusCode, text: &'static str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *response.status_mut() = status;
    response
}
