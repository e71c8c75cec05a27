//! Fault injection: a table that fails at its Nth request (before or after the write lands, as a
//! timeout does), a mailer and a processor that fail; and the invariants the store must keep
//! whatever failed.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portal_domain::card::NewSource;
use portal_domain::ports::{
    ChargeOutcome, ChargeRequest, GatewayError, Item, Key, MailError, Message, SetupResult, SetupSession, TokenizedSource, Write,
};
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{exchange, feed};
use portal_domain::{AccountId, Mailer, Money, PaymentGateway, PaymentStatus, StoreError, Table};

/// How an injected failure behaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The request fails and changes nothing (a refused connection, a throttle).
    Fail,
    /// The request is carried out, but its answer is lost (a timeout after the write landed).
    AppliedThenLost,
}

/// A table that fails its Nth request from when it is armed.
pub struct FaultyTable {
    inner: Arc<dyn Table>,
    calls: AtomicUsize,
    armed: Mutex<Option<(usize, Fault)>>,
}

impl FaultyTable {
    pub fn new(inner: Arc<dyn Table>) -> FaultyTable {
        FaultyTable { inner, calls: AtomicUsize::new(0), armed: Mutex::new(None) }
    }

    /// Fails the `nth` request from now (1 = the next one).
    pub fn arm(&self, nth: usize, fault: Fault) {
        *self.armed.lock().unwrap() = Some((self.calls.load(Ordering::SeqCst) + nth, fault));
    }

    pub fn disarm(&self) {
        *self.armed.lock().unwrap() = None;
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Whether this request is the one to fail, and how.
    fn fault(&self) -> Option<Fault> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        match *self.armed.lock().unwrap() {
            Some((at, fault)) if at == n => Some(fault),
            _ => None,
        }
    }

    async fn run<T>(&self, call: impl std::future::Future<Output = Result<T, StoreError>>) -> Result<T, StoreError> {
        match self.fault() {
            None => call.await,
            Some(Fault::Fail) => Err(StoreError::Unavailable(anyhow::anyhow!("injected failure"))),
            Some(Fault::AppliedThenLost) => {
                let _ = call.await;
                Err(StoreError::Unavailable(anyhow::anyhow!("injected timeout")))
            }
        }
    }
}

#[async_trait]
impl Table for FaultyTable {
    async fn get(&self, key: &Key) -> Result<Option<Item>, StoreError> {
        self.run(self.inner.get(key)).await
    }
    async fn get_many(&self, keys: &[Key]) -> Result<Vec<Option<Item>>, StoreError> {
        self.run(self.inner.get_many(keys)).await
    }
    async fn query(&self, pk: &str, sk_prefix: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.run(self.inner.query(pk, sk_prefix)).await
    }
    async fn query_range(&self, pk: &str, from: &str, to: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.run(self.inner.query_range(pk, from, to)).await
    }
    async fn query_newest(&self, pk: &str, sk_prefix: &str, before: &str, limit: usize) -> Result<Vec<Arc<Item>>, StoreError> {
        self.run(self.inner.query_newest(pk, sk_prefix, before, limit)).await
    }
    async fn query_index(&self, gsi1pk: &str) -> Result<Vec<Arc<Item>>, StoreError> {
        self.run(self.inner.query_index(gsi1pk)).await
    }
    async fn scan_sort_key(&self, sk: &str, after: Option<Key>) -> Result<(Vec<Arc<Item>>, Option<Key>), StoreError> {
        self.run(self.inner.scan_sort_key(sk, after)).await
    }
    async fn write(&self, write: Write) -> Result<(), StoreError> {
        self.run(self.inner.write(write)).await
    }
    async fn transact(&self, writes: Vec<Write>) -> Result<(), StoreError> {
        self.run(self.inner.transact(writes)).await
    }
    async fn put_batch(&self, items: Vec<Item>) -> Result<(), StoreError> {
        self.run(self.inner.put_batch(items)).await
    }
}

/// A mailer that is down.
pub struct DownMailer;

#[async_trait]
impl Mailer for DownMailer {
    async fn send(&self, _message: Message) -> Result<(), MailError> {
        Err(MailError(anyhow::anyhow!("injected mail outage")))
    }
}

/// A processor whose confirmations fail, before reaching it or after (the answer lost).
pub struct FaultyGateway {
    pub inner: Arc<dyn PaymentGateway>,
    pub fault: Fault,
}

#[async_trait]
impl PaymentGateway for FaultyGateway {
    async fn tokenize(&self, source: &NewSource) -> Result<TokenizedSource, GatewayError> {
        self.inner.tokenize(source).await
    }
    async fn create_customer(&self, account: &str, name: &str) -> Result<String, GatewayError> {
        self.inner.create_customer(account, name).await
    }
    async fn begin_setup(&self, customer: &str) -> Result<SetupSession, GatewayError> {
        self.inner.begin_setup(customer).await
    }
    async fn finish_setup(&self, customer: &str, setup: &str) -> Result<SetupResult, GatewayError> {
        self.inner.finish_setup(customer, setup).await
    }
    async fn prepare(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
        self.inner.prepare(request).await
    }
    async fn confirm(&self, reference: &str, idempotency_key: &str) -> Result<ChargeOutcome, GatewayError> {
        if self.fault == Fault::AppliedThenLost {
            let _ = self.inner.confirm(reference, idempotency_key).await;
        }
        Err(GatewayError(anyhow::anyhow!("injected processor timeout")))
    }
    async fn charge_status(&self, reference: &str) -> Result<ChargeOutcome, GatewayError> {
        self.inner.charge_status(reference).await
    }
    async fn cancel(&self, reference: &str) -> Result<ChargeOutcome, GatewayError> {
        self.inner.cancel(reference).await
    }
    async fn detach(&self, token: &str) -> Result<(), GatewayError> {
        self.inner.detach(token).await
    }
}

/// Everything that must hold of a household whatever failed; the list of what does not.
pub async fn broken_invariants(table: &dyn Table, account: &str) -> Vec<String> {
    let account = AccountId::parse(account).expect("a valid id");
    let records: HouseholdRecords = match store::household(table, &account).await {
        Ok(r) => r,
        Err(e) => return vec![format!("the household cannot be read: {e}")],
    };
    let (invoices, payments) = match (records.ledger.invoices(), records.ledger.payments()) {
        (Ok(i), Ok(p)) => (i, p),
        (Err(e), _) | (_, Err(e)) => return vec![format!("the invoices and payments cannot be read: {e}")],
    };
    let mut broken = Vec::new();
    for invoice in &invoices {
        let of = |status: &dyn Fn(&PaymentStatus) -> bool| {
            payments.iter().filter(|p| p.invoice == *invoice.id() && status(&p.status)).map(|p| p.amount).sum::<Money>()
        };
        let paid = of(&|s| *s == PaymentStatus::Succeeded);
        let pending = of(&|s| *s == PaymentStatus::Pending);
        if invoice.paid() != paid {
            broken.push(format!("{}: paid {} but succeeded payments {}", invoice.id(), invoice.paid(), paid));
        }
        if invoice.pending() != pending {
            broken.push(format!("{}: pending {} but pending payments {}", invoice.id(), invoice.pending(), pending));
        }
        if invoice.paid() + invoice.pending() > invoice.total() {
            broken.push(format!("{}: overpaid", invoice.id()));
        }
    }
    let item = table.get(&store::household_key(&account)).await.ok().flatten();
    let counted = item.as_ref().and_then(|i| i.get(store::SOURCE_COUNT)).and_then(|v| v.as_number());
    if counted != Some(records.sources.len().into()) {
        broken.push(format!("source_count {counted:?} but {} sources", records.sources.len()));
    }
    let defaults = records.sources.iter().filter(|s| s.is_default).count();
    if !records.sources.is_empty() && defaults != 1 {
        broken.push(format!("{defaults} default payment methods"));
    }
    for member in &records.members {
        if let Some(email) = &member.email {
            if table.get(&portal_domain::enrol::email_claim_key(email)).await.ok().flatten().is_none() {
                broken.push(format!("{}'s address has no claim", member.id));
            }
        }
    }
    for ms in &records.memberships {
        if let Some(next) = &ms.renewed_by {
            if !records.memberships.iter().any(|m| &m.id == next && m.renews.as_ref() == Some(&ms.id)) {
                broken.push(format!("{} is renewed by {next}, which does not name it", ms.id));
            }
        }
        for e in &ms.enrollments {
            if records.member(&e.member).is_none() {
                broken.push(format!("{} enrols {}, who is not a member", ms.id, e.member));
            }
        }
    }
    broken.extend(feed_disagreements(table, &account, &records).await);
    broken
}

/// What the household's change feed says that its records do not: an event whose change is not
/// in the store (the converse, a change without its event, is what each use case's own check
/// looks for: exactly one event of its kind).
pub async fn feed_disagreements(table: &dyn Table, account: &AccountId, records: &HouseholdRecords) -> Vec<String> {
    let events = match feed::of_household(table, account).await {
        Ok(events) => events,
        Err(e) => return vec![format!("the feed cannot be read: {e}")],
    };
    let payments = records.ledger.payments().unwrap_or_default();
    let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_owned();
    let mut broken = Vec::new();
    for (n, event) in events.iter().enumerate() {
        let later = &events[n + 1..];
        let holds = match event.kind.as_str() {
            "payment.succeeded" | "payment.failed" => {
                let id = text(&event.data["payment"]["id"]);
                payments.iter().any(|p| {
                    p.id.as_str() == id
                        && (p.status == PaymentStatus::Succeeded) == (event.kind == "payment.succeeded")
                        && p.status != PaymentStatus::Pending
                })
            }
            "payment_method.added" => {
                let id = text(&event.data["payment_method"]["id"]);
                records.sources.iter().any(|s| s.id.as_str() == id)
                    || later.iter().any(|e| e.kind == "payment_method.removed" && text(&e.data["payment_method"]["id"]) == id)
            }
            "payment_method.removed" => !records.sources.iter().any(|s| s.id.as_str() == text(&event.data["payment_method"]["id"])),
            "payment_method.made_default" => {
                let id = text(&event.data["payment_method"]["id"]);
                later.iter().any(|e| e.kind.starts_with("payment_method."))
                    || records.sources.iter().any(|s| s.id.as_str() == id && s.is_default)
            }
            "member.contact_changed" | "member.email_verified" | "member.enrolled" => {
                let id = text(&event.data["member"]["id"]);
                let latest = !later.iter().any(|e| e.kind.starts_with("member.") && text(&e.data["member"]["id"]) == id);
                records.members.iter().any(|m| m.id.as_str() == id && (!latest || exchange::member(m) == event.data["member"]))
            }
            "membership.renewed" => records.memberships.iter().any(|m| m.id.as_str() == text(&event.data["membership"]["id"])),
            "agreement.signed" => {
                records.agreements.iter().any(|a| a.id.as_str() == text(&event.data["document"]) && a.signature.is_some())
            }
            other => {
                broken.push(format!("feed event of an unknown type {other}"));
                true
            }
        };
        if !holds {
            broken.push(format!("feed event {} ({}) reports a change the store does not have", event.id, event.kind));
        }
    }
    broken
}
