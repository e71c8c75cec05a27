//! The DynamoDB table, through aws-sdk-dynamodb.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::Arc;

use anyhow::Context as _;
use async_trait::async_trait;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, ConditionCheck, Delete, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    KeysAndAttributes, Projection, ProjectionType, Put, PutRequest, ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
    Update as DynamoUpdate, WriteRequest,
};
use aws_sdk_dynamodb::Client;
use portal_domain::ports::{attr, Condition, Item, Key, Table, Update, Value, Write};
use portal_domain::{Clock, StoreError};
use rust_decimal::Decimal;

use crate::memory::is_live;

/// The name of the one global secondary index.
pub const GSI1: &str = "gsi1";

/// The portal's single DynamoDB table.
#[derive(Clone)]
pub struct DynamoTable {
    client: Client,
    table: String,
    clock: Arc<dyn Clock>,
}

fn to_attr(value: &Value) -> AttributeValue {
    match value {
        Value::S(s) => AttributeValue::S(s.clone()),
        Value::N(n) => AttributeValue::N(n.normalize().to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
    }
}

fn from_attr(value: &AttributeValue) -> Option<Value> {
    match value {
        AttributeValue::S(s) => Some(Value::S(s.clone())),
        AttributeValue::N(n) => Decimal::from_str(n).or_else(|_| Decimal::from_scientific(n)).ok().map(Value::N),
        AttributeValue::Bool(b) => Some(Value::Bool(*b)),
        _ => None,
    }
}

fn to_map(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect()
}

/// Before asking a batch operation again for what it left unprocessed (DynamoDB throttled part of
/// it): nothing before the first attempt, then a growing pause, and an error after eight.
async fn unprocessed_backoff(attempt: u32, operation: &str) -> Result<(), StoreError> {
    if attempt == 0 {
        return Ok(());
    }
    if attempt > 8 {
        return Err(StoreError::Unavailable(anyhow::anyhow!("{operation}: items stayed unprocessed")));
    }
    tokio::time::sleep(std::time::Duration::from_millis(25 << attempt.min(6))).await;
    Ok(())
}

fn from_map(map: &HashMap<String, AttributeValue>) -> Item {
    map.iter().filter_map(|(k, v)| Some((k.clone(), from_attr(v)?))).collect()
}

fn key_map(key: &Key) -> HashMap<String, AttributeValue> {
    HashMap::from([(attr::PK.to_owned(), AttributeValue::S(key.pk.clone())), (attr::SK.to_owned(), AttributeValue::S(key.sk.clone()))])
}

/// An expression with its placeholder names and values.
#[derive(Default)]
struct Expr {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expr {
    fn name(&mut self, name: &str) -> String {
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), name.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    /// The item exists and has not expired (expired items linger until TTL deletes them).
    fn live(&mut self, now: i64) -> String {
        let pk = self.name(attr::PK);
        let exp = self.name(attr::EXPIRES_AT);
        let now = self.value(AttributeValue::N(now.to_string()));
        format!("(attribute_exists({pk}) AND (attribute_not_exists({exp}) OR {exp} > {now}))")
    }

    fn condition(&mut self, condition: &Condition, now: i64) -> String {
        match condition {
            Condition::Exists => self.live(now),
            Condition::NotExists => {
                let pk = self.name(attr::PK);
                let exp = self.name(attr::EXPIRES_AT);
                let now = self.value(AttributeValue::N(now.to_string()));
                format!("(attribute_not_exists({pk}) OR {exp} <= {now})")
            }
            Condition::Equals(name, value) => {
                let live = self.live(now);
                let n = self.name(name);
                let v = self.value(to_attr(value));
                format!("({live} AND {n} = {v})")
            }
            Condition::AtLeast(name, min) => {
                let live = self.live(now);
                let n = self.name(name);
                let v = self.value(AttributeValue::N(min.normalize().to_string()));
                format!("({live} AND {n} >= {v})")
            }
            Condition::All(all) if all.is_empty() => self.live(now),
            Condition::All(all) => all.iter().map(|c| self.condition(c, now)).collect::<Vec<_>>().join(" AND "),
        }
    }

    fn update(&mut self, update: &Update) -> String {
        let mut clauses = Vec::new();
        if !update.set.is_empty() {
            let parts: Vec<String> = update.set.iter().map(|(n, v)| format!("{} = {}", self.name(n), self.value(to_attr(v)))).collect();
            clauses.push(format!("SET {}", parts.join(", ")));
        }
        if !update.add.is_empty() {
            let parts: Vec<String> = update
                .add
                .iter()
                .map(|(n, a)| format!("{} {}", self.name(n), self.value(AttributeValue::N(a.normalize().to_string()))))
                .collect();
            clauses.push(format!("ADD {}", parts.join(", ")));
        }
        if !update.remove.is_empty() {
            let parts: Vec<String> = update.remove.iter().map(|n| self.name(n)).collect();
            clauses.push(format!("REMOVE {}", parts.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn unavailable<E: std::error::Error + Send + Sync + 'static>(e: E, what: &'static str) -> StoreError {
    StoreError::Unavailable(anyhow::Error::new(e).context(what))
}

/// Maps an SDK error, turning a failed condition into [`StoreError::ConditionFailed`].
fn write_error<E, R>(e: SdkError<E, R>, what: &'static str, is_condition: impl Fn(&E) -> bool) -> StoreError
where
    E: std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    if e.as_service_error().is_some_and(is_condition) {
        StoreError::ConditionFailed
    } else {
        unavailable(e, what)
    }
}

impl DynamoTable {
    pub fn new(client: Client, table: impl Into<String>, clock: Arc<dyn Clock>) -> DynamoTable {
        DynamoTable { client, table: table.into(), clock }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    pub fn table_name(&self) -> &str {
        &self.table
    }

    fn now(&self) -> i64 {
        self.clock.now().timestamp()
    }

    /// Creates the table as the SAM template does (keys, GSI, on-demand, TTL), for local emulators and tests.
    pub async fn create(&self) -> anyhow::Result<()> {
        let s = |name: &str| AttributeDefinition::builder().attribute_name(name).attribute_type(ScalarAttributeType::S).build();
        let k = |name: &str, kind: KeyType| KeySchemaElement::builder().attribute_name(name).key_type(kind).build();
        let gsi = GlobalSecondaryIndex::builder()
            .index_name(GSI1)
            .key_schema(k(attr::GSI1PK, KeyType::Hash)?)
            .key_schema(k(attr::GSI1SK, KeyType::Range)?)
            .projection(Projection::builder().projection_type(ProjectionType::All).build())
            .build()?;
        self.client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .attribute_definitions(s(attr::PK)?)
            .attribute_definitions(s(attr::SK)?)
            .attribute_definitions(s(attr::GSI1PK)?)
            .attribute_definitions(s(attr::GSI1SK)?)
            .key_schema(k(attr::PK, KeyType::Hash)?)
            .key_schema(k(attr::SK, KeyType::Range)?)
            .global_secondary_indexes(gsi)
            .send()
            .await
            .context("creating the table")?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(TimeToLiveSpecification::builder().enabled(true).attribute_name(attr::EXPIRES_AT).build()?)
            .send()
            .await
            .context("enabling TTL")?;
        Ok(())
    }

    /// Whether the table exists.
    pub async fn exists(&self) -> anyhow::Result<bool> {
        match self.client.describe_table().table_name(&self.table).send().await {
            Ok(_) => Ok(true),
            Err(e) if e.as_service_error().is_some_and(|s| s.is_resource_not_found_exception()) => Ok(false),
            Err(e) => Err(anyhow::Error::new(e).context("describing the table")),
        }
    }

    fn transact_item(&self, write: &Write, now: i64) -> Result<TransactWriteItem, StoreError> {
        let built =
            |e: aws_sdk_dynamodb::error::BuildError| StoreError::Unavailable(anyhow::Error::new(e).context("building a transaction"));
        let mut expr = Expr::default();
        let item = match write {
            Write::Put { item, condition } => {
                let cond = condition.as_ref().map(|c| expr.condition(c, now));
                TransactWriteItem::builder()
                    .put(
                        Put::builder()
                            .table_name(&self.table)
                            .set_item(Some(to_map(item)))
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(expr.names())
                            .set_expression_attribute_values(expr.values())
                            .build()
                            .map_err(built)?,
                    )
                    .build()
            }
            Write::Update { key, update, .. } | Write::Upsert { key, update } => {
                let update_expr = expr.update(update);
                let cond = self.update_condition_of(&mut expr, write, now);
                TransactWriteItem::builder()
                    .update(
                        DynamoUpdate::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_map(key)))
                            .update_expression(update_expr)
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(expr.names())
                            .set_expression_attribute_values(expr.values())
                            .build()
                            .map_err(built)?,
                    )
                    .build()
            }
            Write::Delete { key, condition } => {
                let cond = condition.as_ref().map(|c| expr.condition(c, now));
                TransactWriteItem::builder()
                    .delete(
                        Delete::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_map(key)))
                            .set_condition_expression(cond)
                            .set_expression_attribute_names(expr.names())
                            .set_expression_attribute_values(expr.values())
                            .build()
                            .map_err(built)?,
                    )
                    .build()
            }
            Write::Check { key, condition } => {
                let cond = expr.condition(condition, now);
                TransactWriteItem::builder()
                    .condition_check(
                        ConditionCheck::builder()
                            .table_name(&self.table)
                            .set_key(Some(key_map(key)))
                            .condition_expression(cond)
                            .set_expression_attribute_names(expr.names())
                            .set_expression_attribute_values(expr.values())
                            .build()
                            .map_err(built)?,
                    )
                    .build()
            }
        };
        Ok(item)
    }

    /// An update's condition: the item is live (an update never creates one) and the write's
    /// own condition holds; an upsert has none.
    fn update_condition_of(&self, expr: &mut Expr, write: &Write, now: i64) -> Option<String> {
        match write {
            Write::Update { condition, .. } => Some(self.update_condition(expr, condition.as_ref(), now)),
            _ => None,
        }
    }

    /// An update never creates an item: it always requires a live one, plus its own condition.
    fn update_condition(&self, expr: &mut Expr, condition: Option<&Condition>, now: i64) -> String {
        let live = expr.live(now);
        match condition {
            Some(c) => format!("{live} AND {}", expr.condition(c, now)),
            None => live,
        }
    }
}

impl DynamoTable {
    /// Every live item a consistent Query of partition `pk` finds, page after page; `condition`
    /// adds the sort-key condition (`what` names the request in errors).
    async fn query_all(
        &self,
        pk: &str,
        what: &'static str,
        condition: impl Fn(QueryFluentBuilder) -> QueryFluentBuilder,
    ) -> Result<Vec<Arc<Item>>, StoreError> {
        let now = Decimal::from(self.now());
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = condition(self.partition_query(pk, start.take())).send().await.map_err(|e| unavailable(e, what))?;
            found.extend(out.items().iter().map(from_map).filter(|i| is_live(i, now)).map(Arc::new));
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(found)
    }

    /// A consistent Query of partition `pk` (`#pk = :pk`), from `start` when continuing.
    fn partition_query(&self, pk: &str, start: Option<HashMap<String, AttributeValue>>) -> QueryFluentBuilder {
        self.client
            .query()
            .table_name(&self.table)
            .consistent_read(true)
            .expression_attribute_names("#pk", attr::PK)
            .expression_attribute_values(":pk", AttributeValue::S(pk.to_owned()))
            .set_exclusive_start_key(start)
    }
}

#[async_trait]
impl Table for DynamoTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key_map(key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| unavailable(e, "GetItem"))?;
        let now = Decimal::from(self.now());
        Ok(out.item().map(from_map).filter(|i| is_live(i, now)))
    }

    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        // BatchGetItem takes 100 keys a request and may leave some unprocessed (answered again).
        const BATCH: usize = 100;
        let now = Decimal::from(self.now());
        let mut found: HashMap<Key, Item> = HashMap::new();
        // A request may not name a key twice.
        let unique: Vec<&Key> = keys.iter().collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        for chunk in unique.chunks(BATCH) {
            let mut wanted: Vec<HashMap<String, AttributeValue>> = chunk.iter().map(|k| key_map(k)).collect();
            let mut attempt = 0u32;
            while !wanted.is_empty() {
                unprocessed_backoff(attempt, "BatchGetItem").await?;
                attempt += 1;
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut wanted)))
                    .consistent_read(true)
                    .build()
                    .map_err(|e| StoreError::Malformed(format!("BatchGetItem: {e}")))?;
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request)
                    .send()
                    .await
                    .map_err(|e| unavailable(e, "BatchGetItem"))?;
                for map in out.responses().and_then(|r| r.get(&self.table)).map(Vec::as_slice).unwrap_or_default() {
                    let item = from_map(map);
                    if let Some(key) = Key::of(&item).filter(|_| is_live(&item, now)) {
                        found.insert(key, item);
                    }
                }
                if let Some(left) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                    wanted = left.keys().to_vec();
                }
            }
        }
        Ok(keys.iter().map(|key| found.get(key).cloned()).collect())
    }

    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.query_all(pk, "Query", |request| {
            if sk_prefix.is_empty() {
                request.key_condition_expression("#pk = :pk")
            } else {
                request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", attr::SK)
                    .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_owned()))
            }
        })
        .await
    }

    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        // DynamoDB refuses a BETWEEN whose bounds are reversed, and takes no empty string in a key condition.
        if to < from || to.is_empty() {
            return Ok(Vec::new());
        }
        self.query_all(pk, "Query range", |request| {
            let request =
                request.expression_attribute_names("#sk", attr::SK).expression_attribute_values(":to", AttributeValue::S(to.to_owned()));
            if from.is_empty() {
                request.key_condition_expression("#pk = :pk AND #sk <= :to")
            } else {
                request
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :from AND :to")
                    .expression_attribute_values(":from", AttributeValue::S(from.to_owned()))
            }
        })
        .await
    }

    async fn query_newest(&self, pk: &str, sk_prefix: &str, before: &str, limit: usize) -> Result<Vec<Arc<Item>>, StoreError> {
        let now = Decimal::from(self.now());
        if limit == 0 || (!before.is_empty() && before <= sk_prefix) {
            return Ok(Vec::new());
        }
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let mut request = self
                .partition_query(pk, start.take())
                .scan_index_forward(false)
                // The BETWEEN form includes `before` itself, which is left out below: one more to read.
                .limit(
                    i32::try_from((limit - found.len()).saturating_add(usize::from(!before.is_empty() && !sk_prefix.is_empty())))
                        .unwrap_or(i32::MAX),
                );
            // DynamoDB takes no empty string in a key condition: no prefix is no condition on it.
            request = if sk_prefix.is_empty() && before.is_empty() {
                request.key_condition_expression("#pk = :pk")
            } else if sk_prefix.is_empty() {
                request
                    .key_condition_expression("#pk = :pk AND #sk < :before")
                    .expression_attribute_names("#sk", attr::SK)
                    .expression_attribute_values(":before", AttributeValue::S(before.to_owned()))
            } else if before.is_empty() {
                request
                    .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
                    .expression_attribute_names("#sk", attr::SK)
                    .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_owned()))
            } else {
                // Every key from the prefix up to `before` starts with the prefix when `before` does;
                // `before` itself is left out below.
                request
                    .key_condition_expression("#pk = :pk AND #sk BETWEEN :prefix AND :before")
                    .expression_attribute_names("#sk", attr::SK)
                    .expression_attribute_values(":prefix", AttributeValue::S(sk_prefix.to_owned()))
                    .expression_attribute_values(":before", AttributeValue::S(before.to_owned()))
            };
            let out = request.send().await.map_err(|e| unavailable(e, "Query newest"))?;
            let page = out.items().iter().map(from_map);
            found.extend(
                page.filter(|i| {
                    let sk = i.get(attr::SK).and_then(Value::as_str).unwrap_or("");
                    sk.starts_with(sk_prefix) && sk != before && is_live(i, now)
                })
                .map(Arc::new),
            );
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() && found.len() < limit => start = Some(key.clone()),
                _ => break,
            }
        }
        found.truncate(limit);
        Ok(found)
    }

    async fn scan_sort_key(&self, sk: &str, after: Option<Key>) -> Result<(Vec<Arc<Item>>, Option<Key>), StoreError> {
        let now = Decimal::from(self.now());
        let out = self
            .client
            .scan()
            .table_name(&self.table)
            .filter_expression("#sk = :sk")
            .expression_attribute_names("#sk", attr::SK)
            .expression_attribute_values(":sk", AttributeValue::S(sk.to_owned()))
            .set_exclusive_start_key(after.as_ref().map(key_map))
            .send()
            .await
            .map_err(|e| unavailable(e, "Scan"))?;
        let found = out.items().iter().map(from_map).filter(|i| is_live(i, now)).map(Arc::new).collect();
        let next = out.last_evaluated_key().filter(|k| !k.is_empty()).map(from_map).and_then(|item| Key::of(&item));
        Ok((found, next))
    }

    async fn query_index(&self, gsi1pk: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        let now = Decimal::from(self.now());
        let mut found = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .index_name(GSI1)
                .key_condition_expression("#g = :g")
                .expression_attribute_names("#g", attr::GSI1PK)
                .expression_attribute_values(":g", AttributeValue::S(gsi1pk.to_owned()))
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| unavailable(e, "Query gsi1"))?;
            found.extend(out.items().iter().map(from_map).filter(|i| is_live(i, now)).map(Arc::new));
            match out.last_evaluated_key() {
                Some(key) if !key.is_empty() => start = Some(key.clone()),
                _ => break,
            }
        }
        Ok(found)
    }

    async fn write(&self, write: Write) -> Result<(), StoreError> {
        let now = self.now();
        let mut expr = Expr::default();
        match &write {
            Write::Put { item, condition } => {
                let cond = condition.as_ref().map(|c| expr.condition(c, now));
                self.client
                    .put_item()
                    .table_name(&self.table)
                    .set_item(Some(to_map(item)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map_err(|e| write_error(e, "PutItem", |s| s.is_conditional_check_failed_exception()))?;
            }
            Write::Update { key, update, .. } | Write::Upsert { key, update } => {
                let update_expr = expr.update(update);
                let cond = self.update_condition_of(&mut expr, &write, now);
                self.client
                    .update_item()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .update_expression(update_expr)
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map_err(|e| write_error(e, "UpdateItem", |s| s.is_conditional_check_failed_exception()))?;
            }
            Write::Delete { key, condition } => {
                let cond = condition.as_ref().map(|c| expr.condition(c, now));
                self.client
                    .delete_item()
                    .table_name(&self.table)
                    .set_key(Some(key_map(key)))
                    .set_condition_expression(cond)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map_err(|e| write_error(e, "DeleteItem", |s| s.is_conditional_check_failed_exception()))?;
            }
            Write::Check { .. } => return self.transact(vec![write]).await,
        }
        Ok(())
    }

    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
        let now = self.now();
        let items = writes.iter().map(|w| self.transact_item(w, now)).collect::<Result<Vec<_>, _>>()?;
        let mut attempt = 0;
        loop {
            let result = self.client.transact_write_items().set_transact_items(Some(items.clone())).send().await;
            let Err(e) = result else { return Ok(()) };
            let reasons: Vec<String> = match e.as_service_error() {
                Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                    c.cancellation_reasons().iter().filter_map(|r| r.code()).map(str::to_owned).collect()
                }
                _ => Vec::new(),
            };
            let conflict = e.as_service_error().is_some_and(|s| matches!(s, TransactWriteItemsError::TransactionInProgressException(_)))
                || (reasons.iter().any(|r| r == "TransactionConflict") && !reasons.iter().any(|r| r == "ConditionalCheckFailed"));
            // Another transaction held one of the items for a moment: DynamoDB asks to try again.
            if conflict && attempt < 6 {
                attempt += 1;
                tokio::time::sleep(std::time::Duration::from_millis(10 << attempt)).await;
                continue;
            }
            return Err(write_error(e, "TransactWriteItems", |s| match s {
                TransactWriteItemsError::TransactionCanceledException(c) => {
                    let reasons = c.cancellation_reasons();
                    reasons.is_empty() || reasons.iter().any(|r| r.code() == Some("ConditionalCheckFailed"))
                }
                _ => false,
            }));
        }
    }

    /// BatchWriteItem, 25 items a request; items DynamoDB leaves unprocessed (throttling) are sent
    /// again with exponential backoff.
    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        for chunk in items.chunks(25) {
            let mut requests: Vec<WriteRequest> = chunk
                .iter()
                .map(|item| {
                    let put = PutRequest::builder().set_item(Some(to_map(item))).build().map_err(|e| unavailable(e, "PutRequest"))?;
                    Ok(WriteRequest::builder().put_request(put).build())
                })
                .collect::<Result<_, StoreError>>()?;
            let mut attempt = 0u32;
            while !requests.is_empty() {
                unprocessed_backoff(attempt, "BatchWriteItem").await?;
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, requests)
                    .send()
                    .await
                    .map_err(|e| unavailable(e, "BatchWriteItem"))?;
                requests = out.unprocessed_items().and_then(|u| u.get(&self.table)).cloned().unwrap_or_default();
                attempt += 1;
            }
        }
        Ok(())
    }
}
