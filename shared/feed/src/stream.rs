//! The `practice-feed` function's stream handler: a batch of the table's DynamoDB Stream records,
//! as Lambda delivers it (`{"Records": [{"eventName": "INSERT", "dynamodb": {"NewImage": …,
//! "SequenceNumber": …}}]}`), filtered to new feed events by the event source mapping (and again
//! here). Records come in stream order, which keeps each household's events in their order: they
//! are posted one after another, and at the first that cannot be delivered the batch stops and
//! reports it (`batchItemFailures`), so Lambda retries from there and nothing after it goes
//! first. A record retried past the mapping's limits goes to its dead-letter queue, and the
//! household's later events flow again.

use std::collections::HashMap;

use portal_domain::feed::FeedEvent;
use portal_domain::ports::{Item, Value};
use portal_domain::store;
use serde::{Deserialize, Serialize};

use crate::webhook::{Delivery, Webhook};

/// One batch of stream records.
#[derive(Debug, Clone, Deserialize)]
pub struct StreamEvent {
    #[serde(rename = "Records", default)]
    pub records: Vec<StreamRecord>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamRecord {
    #[serde(rename = "eventName", default)]
    pub event_name: String,
    pub dynamodb: StreamData,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StreamData {
    #[serde(rename = "SequenceNumber")]
    pub sequence_number: String,
    #[serde(rename = "NewImage", default)]
    pub new_image: Option<HashMap<String, HashMap<String, serde_json::Value>>>,
}

/// What the handler tells Lambda: the record to retry from (none when all went).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BatchResponse {
    #[serde(rename = "batchItemFailures")]
    pub failures: Vec<ItemFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
}

impl StreamRecord {
    /// The feed event a record carries: only a new item of the feed (not a change or an
    /// expiry, nor any other item of the table).
    pub fn feed_event(&self) -> Option<Result<FeedEvent, String>> {
        if self.event_name != "INSERT" {
            return None;
        }
        let image = self.dynamodb.new_image.as_ref()?;
        let text = |name: &str| image.get(name).and_then(|v| v.get("S")).and_then(|s| s.as_str());
        if !FeedEvent::is_feed_item(text("pk")?, text("sk")?) {
            return None;
        }
        let mut item = Item::new();
        item.insert(store::DATA.into(), Value::S(text(store::DATA).unwrap_or_default().to_owned()));
        Some(FeedEvent::of(&item).map_err(|e| e.to_string()))
    }
}

/// What a batch did, for the log.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handled {
    pub delivered: usize,
    pub skipped: usize,
    pub unreadable: usize,
}

/// Posts the batch's feed events in order; stops at the first the endpoint does not take, and
/// before an event whose delivery might not finish by `deadline` (the invocation's), which is
/// reported for the stream to retry, so a slow endpoint never turns into a timed-out batch.
pub async fn handle(batch: &StreamEvent, webhook: &Webhook, deadline: Option<std::time::Instant>) -> (BatchResponse, Handled) {
    let mut handled = Handled::default();
    for record in &batch.records {
        let retry_later = || BatchResponse { failures: vec![ItemFailure { item_identifier: record.dynamodb.sequence_number.clone() }] };
        if deadline.is_some_and(|d| std::time::Instant::now() + webhook.retry.worst_case() + std::time::Duration::from_secs(2) > d) {
            tracing::warn!(delivered = handled.delivered, "the invocation's time is running out; the stream retries the rest");
            return (retry_later(), handled);
        }
        let event = match record.feed_event() {
            None => {
                handled.skipped += 1;
                continue;
            }
            Some(Err(why)) => {
                // Written by this portal, so never expected; retrying cannot make it readable.
                tracing::error!(sequence = %record.dynamodb.sequence_number, why = %why, "an unreadable feed event was passed over");
                handled.unreadable += 1;
                continue;
            }
            Some(Ok(event)) => event,
        };
        match webhook.deliver(&event).await {
            Delivery::Delivered { .. } => handled.delivered += 1,
            Delivery::Failed { attempts, last } => {
                tracing::error!(event = %event.id, attempts, last = %last, "the practice's endpoint did not take a feed event; the stream retries it");
                return (retry_later(), handled);
            }
        }
    }
    (BatchResponse::default(), handled)
}

/// A stored item as a stream record carries it in `NewImage` (DynamoDB's JSON): what tests
/// and the local portal build their batches from.
pub fn new_image(item: &Item) -> serde_json::Value {
    let attributes: serde_json::Map<String, serde_json::Value> = item
        .iter()
        .map(|(name, value)| {
            let typed = match value {
                Value::S(s) => serde_json::json!({ "S": s }),
                Value::N(n) => serde_json::json!({ "N": n.to_string() }),
                Value::Bool(b) => serde_json::json!({ "BOOL": b }),
            };
            (name.clone(), typed)
        })
        .collect();
    serde_json::Value::Object(attributes)
}
