//! AWS clients built when a request first needs them, not at init.
//!
//! Building them loads and parses the platform's TLS root certificates, milliseconds that a cold
//! start would otherwise spend before answering its first event. Requests that never touch AWS
//! (the sign-in page, redirects, assets) never pay for it; the first one that does builds them once
//! for the container. No network call is made here: clients connect on first use.

use std::sync::Arc;

use async_trait::async_trait;
use portal_domain::ports::{Item, Key, MailError, Mailer, Message, Table, Write};
use portal_domain::{Clock, StoreError};
use tokio::sync::OnceCell;

use crate::{DynamoTable, SesMailer};

/// The DynamoDB and SES v2 clients, as one unit of deferred work.
#[derive(Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
}

fn build(endpoint: Option<&str>) -> AwsClients {
    let sdk = crate::function_config(endpoint);
    AwsClients { dynamodb: aws_sdk_dynamodb::Client::new(&sdk), ses: aws_sdk_sesv2::Client::new(&sdk) }
}

/// The clients, built on first use.
pub struct DeferredClients {
    cell: OnceCell<AwsClients>,
    endpoint: Option<String>,
}

impl DeferredClients {
    /// Clients for `endpoint` (or AWS), not built yet.
    pub fn start(endpoint: Option<String>) -> Arc<DeferredClients> {
        Arc::new(DeferredClients { cell: OnceCell::new(), endpoint })
    }

    /// The clients, built now if this is the first call.
    pub async fn get(&self) -> &AwsClients {
        self.cell.get_or_init(|| async { build(self.endpoint.as_deref()) }).await
    }
}

/// The portal's DynamoDB table on clients built on first use.
pub struct DeferredTable {
    clients: Arc<DeferredClients>,
    name: String,
    clock: Arc<dyn Clock>,
    table: OnceCell<DynamoTable>,
}

impl DeferredTable {
    pub fn new(clients: Arc<DeferredClients>, name: impl Into<String>, clock: Arc<dyn Clock>) -> DeferredTable {
        DeferredTable { clients, name: name.into(), clock, table: OnceCell::new() }
    }

    async fn table(&self) -> &DynamoTable {
        self.table
            .get_or_init(|| async { DynamoTable::new(self.clients.get().await.dynamodb.clone(), self.name.clone(), self.clock.clone()) })
            .await
    }
}

#[async_trait]
impl Table for DeferredTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.table().await.get(key).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.table().await.get_many(keys).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.table().await.query(pk, sk_prefix).await
    }
    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.table().await.query_range(pk, from, to).await
    }
    async fn query_newest(&self, pk: &str, sk_prefix: &str, before: &str, limit: usize) -> Result<Vec<Arc<Item>>, StoreError> {
        self.table().await.query_newest(pk, sk_prefix, before, limit).await
    }
    async fn query_index(&self, gsi1pk: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.table().await.query_index(gsi1pk).await
    }
    async fn scan_sort_key(&self, sk: &str, after: Option<Key>) -> Result<(Vec<Arc<Item>>, Option<Key>), StoreError> {
        self.table().await.scan_sort_key(sk, after).await
    }
    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.table().await.write(write).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.table().await.transact(writes).await
    }
    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.table().await.put_batch(items).await
    }
}

/// SES v2 on clients built on first use.
pub struct DeferredMailer {
    clients: Arc<DeferredClients>,
    from: String,
    mailer: OnceCell<SesMailer>,
}

impl DeferredMailer {
    pub fn new(clients: Arc<DeferredClients>, from: impl Into<String>) -> DeferredMailer {
        DeferredMailer { clients, from: from.into(), mailer: OnceCell::new() }
    }
}

#[async_trait]
impl Mailer for DeferredMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        let mailer = self.mailer.get_or_init(|| async { SesMailer::new(self.clients.get().await.ses.clone(), self.from.clone()) }).await;
        mailer.send(message).await
    }
}
