//! The practice-feed function. Two sources invoke it:
//! - the table's DynamoDB Stream (filtered to new feed events), whose batches it posts to the
//!   practice's endpoint (`PRACTICE_WEBHOOK_URL`, signed with `PRACTICE_WEBHOOK_SECRET`);
//! - EventBridge Scheduler each morning (`{"digest": "yesterday"}`), when it emails the staff
//!   (`PRACTICE_STAFF_EMAIL`) what patients changed the day before.

use anyhow::Context as _;
use portal_feed::{digest, stream, Retry, Secret, StreamEvent, Webhook};
use portal_web::App;
use serde_json::{json, Value};

/// Where the feed goes, from the environment.
pub struct FeedSettings {
    pub webhook: Option<Webhook>,
    pub staff_email: Option<String>,
}

impl FeedSettings {
    /// `PRACTICE_WEBHOOK_URL` (optional; with it `PRACTICE_WEBHOOK_SECRET` is required) and
    /// `PRACTICE_STAFF_EMAIL` (optional).
    pub fn from_env() -> anyhow::Result<FeedSettings> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let webhook = match var("PRACTICE_WEBHOOK_URL") {
            Some(url) => {
                let secret = var("PRACTICE_WEBHOOK_SECRET").context("PRACTICE_WEBHOOK_SECRET is required with PRACTICE_WEBHOOK_URL")?;
                Some(Webhook::new(&url, Secret::parse(&secret)?, Retry::deployed())?)
            }
            None => None,
        };
        Ok(FeedSettings { webhook, staff_email: var("PRACTICE_STAFF_EMAIL") })
    }
}

/// Handles one invocation: a stream batch (answering which record to retry from) or the daily
/// digest. `deadline` is when the invocation times out, if it does.
pub async fn handle(app: &App, settings: &FeedSettings, event: Value, deadline: Option<std::time::Instant>) -> anyhow::Result<Value> {
    if event.get("Records").is_some() {
        let batch: StreamEvent = serde_json::from_value(event).context("not a DynamoDB Stream batch")?;
        let Some(webhook) = &settings.webhook else {
            tracing::warn!(records = batch.records.len(), "no practice webhook is configured; the batch is passed over");
            return Ok(json!({ "batchItemFailures": [] }));
        };
        let (response, handled) = stream::handle(&batch, webhook, deadline).await;
        tracing::info!(
            delivered = handled.delivered,
            skipped = handled.skipped,
            unreadable = handled.unreadable,
            retry = !response.failures.is_empty(),
            "feed batch"
        );
        return Ok(serde_json::to_value(response)?);
    }
    if event.get("digest").is_some() {
        let Some(to) = &settings.staff_email else {
            tracing::warn!("no staff email is configured; no digest");
            return Ok(json!({ "digest": "not configured" }));
        };
        let day = app.today().pred_opt().context("no yesterday")?;
        let sent =
            digest::send_daily(app.table.as_ref(), app.mailer.as_ref(), &app.config.practice_name, to, day, |at| app.date_of(at)).await?;
        tracing::info!(day = %day, outcome = ?sent, "staff digest");
        return Ok(json!({ "digest": format!("{sent:?}") }));
    }
    anyhow::bail!("an invocation that is neither a stream batch nor the digest schedule")
}
