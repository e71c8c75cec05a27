//! The ports the domain talks through: storage, mail, time and randomness.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// An attribute value as the single table stores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    S(String),
    N(Decimal),
    Bool(bool),
}

impl Value {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<Decimal> {
        match self {
            Value::N(n) => Some(*n),
            _ => None,
        }
    }
}

impl From<&str> for Value {
    fn from(value: &str) -> Self {
        Value::S(value.to_owned())
    }
}
impl From<String> for Value {
    fn from(value: String) -> Self {
        Value::S(value)
    }
}
impl From<Decimal> for Value {
    fn from(value: Decimal) -> Self {
        Value::N(value)
    }
}
impl From<i64> for Value {
    fn from(value: i64) -> Self {
        Value::N(Decimal::from(value))
    }
}
impl From<u64> for Value {
    fn from(value: u64) -> Self {
        Value::N(Decimal::from(value))
    }
}
impl From<bool> for Value {
    fn from(value: bool) -> Self {
        Value::Bool(value)
    }
}

/// One item: attribute name to value. Always holds `pk` and `sk`.
pub type Item = BTreeMap<String, Value>;

/// The attribute names the table's keys, index and expiry use.
pub mod attr {
    pub const PK: &str = "pk";
    pub const SK: &str = "sk";
    pub const GSI1PK: &str = "gsi1pk";
    pub const GSI1SK: &str = "gsi1sk";
    pub const EXPIRES_AT: &str = "expires_at";
    pub const VERSION: &str = "version";
}

/// The primary key of an item.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key {
    pub pk: String,
    pub sk: String,
}

impl Key {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Key {
        Key { pk: pk.into(), sk: sk.into() }
    }

    /// The key of a stored item, if it has one.
    pub fn of(item: &Item) -> Option<Key> {
        Some(Key::new(item.get(attr::PK)?.as_str()?, item.get(attr::SK)?.as_str()?))
    }
}

/// A condition a write depends on; both tables implement each kind exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The item exists.
    Exists,
    /// No item has this key.
    NotExists,
    /// The item exists and the attribute equals the value.
    Equals(String, Value),
    /// The item exists and the numeric attribute is at least the value.
    AtLeast(String, Decimal),
    /// Every condition holds.
    All(Vec<Condition>),
}

/// Changes to an existing item's attributes.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Update {
    pub set: Vec<(String, Value)>,
    /// Added to numeric attributes (a missing attribute counts as zero); negative subtracts.
    pub add: Vec<(String, Decimal)>,
    pub remove: Vec<String>,
}

impl Update {
    pub fn set(mut self, name: &str, value: impl Into<Value>) -> Self {
        self.set.push((name.to_owned(), value.into()));
        self
    }
    pub fn add(mut self, name: &str, amount: Decimal) -> Self {
        self.add.push((name.to_owned(), amount));
        self
    }
    pub fn remove(mut self, name: &str) -> Self {
        self.remove.push(name.to_owned());
        self
    }

    /// Applies the update to an item as the table does: sets, then adds (to zero when absent),
    /// then removes.
    pub fn apply_to(&self, item: &mut Item) {
        for (name, value) in &self.set {
            item.insert(name.clone(), value.clone());
        }
        for (name, amount) in &self.add {
            let current = item.get(name).and_then(Value::as_number).unwrap_or(Decimal::ZERO);
            item.insert(name.clone(), Value::N(current + amount));
        }
        for name in &self.remove {
            item.remove(name);
        }
    }
}

/// One write, alone or in a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Write {
    Put {
        item: Item,
        condition: Option<Condition>,
    },
    /// Updates an existing item; never creates one.
    Update {
        key: Key,
        update: Update,
        condition: Option<Condition>,
    },
    /// Updates an item, creating it (with its key alone) when there is none: for an item that
    /// gathers figures of many others (a household's open invoices), which no writer may fail on.
    Upsert {
        key: Key,
        update: Update,
    },
    Delete {
        key: Key,
        condition: Option<Condition>,
    },
    /// Writes nothing; makes the transaction depend on another item.
    Check {
        key: Key,
        condition: Condition,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A write's condition did not hold; nothing was written.
    #[error("the record changed or does not exist")]
    ConditionFailed,
    /// The store could not be reached or refused the request.
    #[error("the store is unavailable")]
    Unavailable(#[source] anyhow::Error),
    /// An item in the store does not have the shape its type needs.
    #[error("a stored record is malformed: {0}")]
    Malformed(String),
}

/// An item's size as DynamoDB counts it for read and write units: each attribute's name and
/// value in bytes; a number takes one byte per two significant digits, plus one.
pub fn item_size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    Value::S(s) => s.len(),
                    Value::Bool(_) => 1,
                    Value::N(n) => {
                        let digits = n.normalize().abs().to_string().chars().filter(char::is_ascii_digit).count();
                        digits.div_ceil(2) + 1
                    }
                }
        })
        .sum()
}

/// The single table as the domain needs it. Reads never return items whose
/// `expires_at` (epoch seconds) has passed.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Table: Send + Sync {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError>;
    /// Several items by key in one request (DynamoDB's BatchGetItem, strongly consistent), each
    /// in the order asked, `None` for one that is not there.
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError>;
    /// Every item of the partition whose sort key starts with `sk_prefix` (all when empty), in sort-key order.
    /// Items come shared: a household's partition holds years of invoices that most pages pass over
    /// without copying or decoding them.
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Arc<Item>>, StoreError>;
    /// One page of a long partition, newest first: at most `limit` items whose sort key starts
    /// with `sk_prefix` and sorts before `before` (from the newest when `before` is empty). A page
    /// of a history costs one request however long the history is.
    async fn query_newest(&self, pk: &str, sk_prefix: &str, before: &str, limit: usize) -> Result<Vec<Arc<Item>>, StoreError>;
    /// Every item of the partition whose sort key lies in `from..=to`, in sort-key order: a part
    /// of a partition whose keys share no prefix (a household's profile, `keys::profile_range`).
    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Arc<Item>>, StoreError>;
    /// Every item whose `gsi1pk` is the value, in `gsi1sk` order.
    async fn query_index(&self, gsi1pk: &str) -> Result<Vec<Arc<Item>>, StoreError>;
    /// One page of a whole-table scan for the items whose sort key is `sk` (maintenance only:
    /// `portal migrate`), starting after `after`; the key to continue from, or `None` at the end.
    async fn scan_sort_key(&self, sk: &str, after: Option<Key>) -> Result<(Vec<Arc<Item>>, Option<Key>), StoreError>;
    async fn write(&self, write: Write) -> Result<(), StoreError>;
    /// All the writes happen, or (when any condition fails) none does.
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError>;
    /// Stores many new items without conditions, in as few requests as the store allows (bulk loads:
    /// importing a practice's households). Not atomic: a failure may leave some items written.
    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError>;
}

/// One email message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub to: String,
    pub subject: String,
    pub html: String,
    pub text: String,
    /// Extra headers (a reminder's `List-Unsubscribe` and `List-Unsubscribe-Post`).
    pub headers: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
#[error("the mail service is unavailable")]
pub struct MailError(#[source] pub anyhow::Error);

#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait Mailer: Send + Sync {
    async fn send(&self, message: Message) -> Result<(), MailError>;
}

/// The current instant; "today" is derived from it in the practice's time zone.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// Random bytes from a cryptographically secure generator.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
pub trait Random: Send + Sync {
    fn fill(&self, bytes: &mut [u8]);
}

/// A random number in `0..bound`, without modulo bias.
pub fn random_below(random: &dyn Random, bound: u32) -> u32 {
    let zone = u32::MAX - (u32::MAX % bound);
    loop {
        let mut buf = [0u8; 4];
        random.fill(&mut buf);
        let n = u32::from_le_bytes(buf);
        if n < zone {
            return n % bound;
        }
    }
}

/// A random token of `bytes` bytes, URL-safe base64 without padding.
pub fn random_token(random: &dyn Random, bytes: usize) -> String {
    use base64::Engine;
    let mut buf = vec![0u8; bytes];
    random.fill(&mut buf);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(buf)
}

/// A source the processor has stored: its opaque token and what may be shown of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenizedSource {
    pub token: String,
    pub details: crate::SourceDetails,
}

/// What a charge led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChargeOutcome {
    Succeeded {
        reference: String,
    },
    /// Accepted, and settling: a bank debit takes days. The amount stays reserved until the
    /// processor says it settled or failed.
    Processing,
    /// The patient's bank wants them to confirm it is them (3-D Secure). The processor's script
    /// runs that step in the browser with `client_secret`; the charge is decided after it.
    RequiresAction {
        client_secret: String,
    },
    /// The processor refused it; the reason is written for the patient.
    Declined {
        reason: String,
    },
    /// No answer we can trust (a timeout, a processing error): the charge may or may not have happened.
    Unknown,
    /// The charge was never confirmed, or was cancelled: nothing was or will be taken.
    NotCharged,
}

/// A charge about to be made: who pays, with what, how much, and the portal's payment it is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// The household's customer at the processor, when it has one (a saved source belongs to it).
    pub customer: Option<String>,
    /// The source's token.
    pub token: String,
    pub amount: crate::Money,
    /// The portal's payment id: carried with the charge (Stripe metadata) so the processor's
    /// events and the practice can be matched to it.
    pub payment: String,
    pub account: String,
    /// What the processor's dashboard and the patient's statement call it (an invoice number).
    pub description: String,
}

/// A setup the browser completes with the processor's script: card or bank details go from the
/// browser to the processor, never through the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupSession {
    pub id: String,
    pub client_secret: String,
}

/// What became of a setup the browser says it finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SetupResult {
    /// The source is saved on the household's customer.
    Saved(TokenizedSource),
    /// The processor refused the source; the reason is written for the patient.
    Declined { reason: String },
    /// Not finished, or not this household's setup: nothing to save.
    Unfinished,
}

#[derive(Debug, thiserror::Error)]
#[error("the payment processor is unavailable")]
pub struct GatewayError(#[source] pub anyhow::Error);

/// The payment processor, shaped after Stripe: customers, sources saved through setups the
/// browser completes, and charges created before they are confirmed, so the portal records
/// which charge a payment is before any money can move.
#[cfg_attr(any(test, feature = "mocks"), mockall::automock)]
#[async_trait]
pub trait PaymentGateway: Send + Sync {
    /// Stores a card or bank account typed into the portal. Only the sandbox takes these: a real
    /// processor answers an error, and its pages collect details in the processor's own fields.
    async fn tokenize(&self, source: &crate::card::NewSource) -> Result<TokenizedSource, GatewayError>;
    /// Creates the household's customer at the processor and returns its id.
    async fn create_customer(&self, account: &str, name: &str) -> Result<String, GatewayError>;
    /// Starts saving a new source for `customer`; the browser completes it.
    async fn begin_setup(&self, customer: &str) -> Result<SetupSession, GatewayError>;
    /// The source a completed setup saved, when the setup is `customer`'s and succeeded.
    async fn finish_setup(&self, customer: &str, setup: &str) -> Result<SetupResult, GatewayError>;
    /// Creates a charge without taking money yet, and returns its reference. Creating it twice
    /// for the same payment creates nothing that can take money twice: only a confirmed charge does.
    async fn prepare(&self, request: &ChargeRequest) -> Result<String, GatewayError>;
    /// Confirms the charge `reference`: this is when money moves. Repeating it never charges again.
    async fn confirm(&self, reference: &str, idempotency_key: &str) -> Result<ChargeOutcome, GatewayError>;
    /// What became of the charge `reference`, as the processor knows it now.
    async fn charge_status(&self, reference: &str) -> Result<ChargeOutcome, GatewayError>;
    /// Cancels a charge that has not taken money (abandoned at its 3-D Secure step, or never
    /// confirmed); `NotCharged` afterwards. A charge that already succeeded is left as it is.
    async fn cancel(&self, reference: &str) -> Result<ChargeOutcome, GatewayError>;
    /// Forgets a saved source at the processor (a removed payment method, a card used once).
    async fn detach(&self, token: &str) -> Result<(), GatewayError>;
}
