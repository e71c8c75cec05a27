//! AWS clients built in the background from the moment a function starts.
//!
//! Building them loads and parses the platform's TLS root certificates, several milliseconds that a
//! cold start would otherwise spend before asking the runtime for its first event. Started at init
//! and awaited only by the first request that calls AWS, that work overlaps the runtime's first poll,
//! and requests that never touch AWS (sign-in page, redirects, assets) never wait for it. No network
//! call is made here: clients connect on first use.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portal_domain::ports::{Item, Key, MailError, Mailer, Message, Table, Write};
use portal_domain::{Clock, StoreError};
use tokio::sync::OnceCell;
use tokio::task::JoinHandle;

use crate::{DynamoTable, SesMailer};

/// The DynamoDB and SES v2 clients, as one unit of deferred work.
#[derive(Clone)]
pub struct AwsClients {
    pub dynamodb: aws_sdk_dynamodb::Client,
    pub ses: aws_sdk_sesv2::Client,
}

async fn build(endpoint: Option<String>) -> AwsClients {
    let sdk = crate::function_config(endpoint.as_deref());
    AwsClients { dynamodb: aws_sdk_dynamodb::Client::new(&sdk), ses: aws_sdk_sesv2::Client::new(&sdk) }
}

/// The clients, being built on a background task.
pub struct DeferredClients {
    cell: OnceCell<AwsClients>,
    task: Mutex<Option<JoinHandle<AwsClients>>>,
    endpoint: Option<String>,
}

impl DeferredClients {
    /// Starts building the clients (needs a Tokio runtime).
    pub fn start(endpoint: Option<String>) -> Arc<DeferredClients> {
        let task = tokio::spawn(build(endpoint.clone()));
        Arc::new(DeferredClients { cell: OnceCell::new(), task: Mutex::new(Some(task)), endpoint })
    }

    /// The clients, waiting for the background build if it has not finished.
    pub async fn get(&self) -> &AwsClients {
        self.cell
            .get_or_init(|| async {
                let task = self.task.lock().map(|mut t| t.take()).unwrap_or(None);
                match task {
                    Some(task) => match task.await {
                        Ok(clients) => clients,
                        Err(_) => build(self.endpoint.clone()).await,
                    },
                    None => build(self.endpoint.clone()).await,
                }
            })
            .await
    }
}

/// The portal's DynamoDB table on clients that may still be being built.
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
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Item>, StoreError> {
        self.table().await.query(pk, sk_prefix).await
    }
    async fn query_index(&self, gsi1pk: &str) -> Result<Vec<Item>, StoreError> {
        self.table().await.query_index(gsi1pk).await
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

/// SES v2 on clients that may still be being built.
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
