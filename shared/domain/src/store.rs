//! Repositories for the portal's records, written once on top of the [`Table`] port.
//!
//! Each record is one item: its keys, a `type`, a `version`, and the record as JSON in `data`.
//! Invoice amounts that money movement changes atomically are also plain number attributes.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::keys::AccountItem;
use crate::ports::{attr, Condition, Item, Key, Table, Update, Value, Write};
use crate::{
    AccountId, Agreement, Email, Household, Invoice, InvoiceData, InvoiceFigures, InvoiceId, Member, MemberId, Membership, Money, Payment,
    PaymentId, PaymentSource, PaymentStatus, Plan, Practice, StoreError,
};

pub const DATA: &str = "data";
pub const TYPE: &str = "type";
/// Invoice amounts kept as numbers so a transaction can reserve and settle them.
pub const PAID: &str = "paid";
pub const PENDING: &str = "pending";
pub const TOTAL: &str = "total";
/// total − paid − pending: what a new payment may still take (a condition checks it).
pub const AVAILABLE: &str = "available";
/// An invoice's due date (`YYYY-MM-DD`) and whether it is void, kept beside its JSON so lists of
/// years of invoices need not decode them (with `total`, `paid` and `pending` they give its status).
pub const DUE: &str = "due";
pub const VOID: &str = "void";
/// A payment's invoice, amount and whether it went through, kept beside its JSON for the same reason.
pub const INVOICE: &str = "invoice";
pub const AMOUNT: &str = "amount";
pub const SUCCEEDED: &str = "succeeded";

// Every key and index partition is defined in `keys`; the store's writers and readers use them.
pub use crate::keys::{
    account_pk, agreement_key, charge_key, email_index_pk, household_key, invoice_key, key_time, member_key, membership_key, payment_key,
    plan_key, practice_key, processor_event_key, source_key, PENDING_PAYMENTS,
};

/// The instant at the start of `text`, as [`key_time`] writes it; read without a format parser
/// (lists read hundreds).
pub fn time_at(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 27 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[26] != b'Z' {
        return None;
    }
    let time = chrono::NaiveTime::from_hms_micro_opt(digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?, digits(&b[20..26])?)?;
    Some(date_at(text)?.and_time(time).and_utc())
}

/// A run of ASCII digits as a number.
fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
}
/// An item holding `record` as JSON under `key`.
pub fn record_item(key: &Key, kind: &str, record: &impl Serialize, version: u64) -> Result<Item, StoreError> {
    let json = serde_json::to_string(record).map_err(|e| StoreError::Malformed(format!("{kind}: {e}")))?;
    let mut item = Item::new();
    item.insert(attr::PK.into(), Value::S(key.pk.clone()));
    item.insert(attr::SK.into(), Value::S(key.sk.clone()));
    item.insert(TYPE.into(), Value::S(kind.into()));
    item.insert(DATA.into(), Value::S(json));
    item.insert(attr::VERSION.into(), Value::from(version));
    Ok(item)
}

/// The record stored as JSON in an item.
pub fn record_of<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let json = item.get(DATA).and_then(Value::as_str).ok_or_else(|| StoreError::Malformed("item without data".into()))?;
    serde_json::from_str(json).map_err(|e| StoreError::Malformed(format!("{}: {e}", kind_of(item))))
}

fn kind_of(item: &Item) -> &str {
    item.get(TYPE).and_then(Value::as_str).unwrap_or("unknown")
}

/// The `version` attribute of an item (0 when absent).
pub fn version_of(item: &Item) -> u64 {
    item.get(attr::VERSION).and_then(Value::as_number).and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

fn money_attr(item: &Item, name: &str) -> Result<Money, StoreError> {
    let n = item.get(name).and_then(Value::as_number).unwrap_or(Decimal::ZERO);
    Money::try_from(n).map_err(|e| StoreError::Malformed(format!("{} {name}: {e}", kind_of(item))))
}

/// Puts a record only if no item has its key yet.
fn put_new(item: Item) -> Write {
    Write::Put { item, condition: Some(Condition::NotExists) }
}

// ---- writes used to create records (seeding, importing, enrolling) ----

pub fn put_practice(practice: &Practice) -> Result<Write, StoreError> {
    Ok(Write::Put { item: record_item(&practice_key(), "practice", practice, 1)?, condition: None })
}

pub fn put_plan(plan: &Plan) -> Result<Write, StoreError> {
    Ok(Write::Put { item: record_item(&plan_key(plan.id()), "plan", plan, 1)?, condition: None })
}

/// How many payment sources the household has, kept on its account item so that removing one
/// can be conditioned on another remaining.
pub const SOURCE_COUNT: &str = "source_count";

/// The household's customer at the payment processor, an attribute of its account item.
pub const PROCESSOR_CUSTOMER: &str = "processor_customer";

pub fn put_household(household: &Household, source_count: usize) -> Result<Write, StoreError> {
    let mut item = record_item(&household_key(&household.id), "household", household, household.version.max(1))?;
    item.insert(SOURCE_COUNT.into(), Value::from(source_count as u64));
    if let Some(customer) = &household.processor_customer {
        item.insert(PROCESSOR_CUSTOMER.into(), Value::S(customer.clone()));
    }
    Ok(put_new(item))
}

/// Records the household's customer at the payment processor.
pub fn set_processor_customer(account: &AccountId, customer: &str) -> Write {
    Write::Update {
        key: household_key(account),
        update: Update::default().set(PROCESSOR_CUSTOMER, customer),
        condition: Some(Condition::Exists),
    }
}

pub fn put_member(member: &Member) -> Result<Write, StoreError> {
    let mut item = record_item(&member_key(&member.account, &member.id), "member", member, member.version.max(1))?;
    if let Some(email) = &member.email {
        item.insert(attr::GSI1PK.into(), Value::S(email_index_pk(email)));
        item.insert(attr::GSI1SK.into(), Value::S(crate::keys::email_index_sk(&member.id)));
    }
    Ok(put_new(item))
}

pub fn put_membership(ms: &Membership) -> Result<Write, StoreError> {
    Ok(put_new(record_item(&membership_key(ms), "membership", ms, ms.version.max(1))?))
}

pub fn put_invoice(invoice: &Invoice) -> Result<Write, StoreError> {
    let mut item = record_item(&invoice_key(invoice), "invoice", invoice, 1)?;
    let total = invoice.total();
    item.insert(TOTAL.into(), Value::N(total.amount()));
    item.insert(PAID.into(), Value::N(invoice.paid().amount()));
    item.insert(PENDING.into(), Value::N(invoice.pending().amount()));
    item.insert(AVAILABLE.into(), Value::N(invoice.payable().amount()));
    item.insert(DUE.into(), Value::S(invoice.due().format("%Y-%m-%d").to_string()));
    item.insert(VOID.into(), Value::Bool(invoice.is_void()));
    Ok(put_new(item))
}

/// A payment's item at `version`, with the attributes lists and statements read.
fn payment_attributes(payment: &Payment, version: u64) -> Result<Item, StoreError> {
    let mut item = record_item(&payment_key(payment), "payment", payment, version)?;
    item.insert(INVOICE.into(), Value::S(payment.invoice.to_string()));
    item.insert(AMOUNT.into(), Value::N(payment.amount.amount()));
    item.insert(SUCCEEDED.into(), Value::Bool(payment.status == PaymentStatus::Succeeded));
    Ok(item)
}

/// A payment's item at `version`; a pending one is listed for `portal reconcile`. Settling or
/// releasing rewrites the item without the listing, which takes it off the list.
fn payment_item(payment: &Payment, version: u64) -> Result<Item, StoreError> {
    let mut item = payment_attributes(payment, version)?;
    if payment.status == PaymentStatus::Pending {
        item.insert(attr::GSI1PK.into(), Value::S(PENDING_PAYMENTS.into()));
        item.insert(attr::GSI1SK.into(), Value::S(payment_key(payment).sk));
    }
    Ok(item)
}

pub fn put_payment(payment: &Payment) -> Result<Write, StoreError> {
    Ok(put_new(payment_item(payment, 1)?))
}

/// Where a charge's payment and invoice are stored, for the processor's events. A charge that
/// paid several invoices at once names its first part here and the others in `more`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChargeRecord {
    pub payment_pk: String,
    pub payment_sk: String,
    pub invoice_sk: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub more: Vec<ChargePart>,
}

/// One more part of a charge that paid several invoices: its payment's and invoice's sort keys.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChargePart {
    pub payment_sk: String,
    pub invoice_sk: String,
}

impl ChargeRecord {
    /// Every part's (payment, invoice) keys, the first part first.
    pub fn parts(&self) -> Vec<(Key, Key)> {
        let pk = &self.payment_pk;
        std::iter::once((self.payment_sk.clone(), self.invoice_sk.clone()))
            .chain(self.more.iter().map(|p| (p.payment_sk.clone(), p.invoice_sk.clone())))
            .map(|(payment, invoice)| (Key::new(pk.clone(), payment), Key::new(pk.clone(), invoice)))
            .collect()
    }
}

/// The item that finds a charge's payments: `parts` are each payment with the invoice it pays,
/// the first part first.
pub fn put_charge(reference: &str, parts: &[(&Payment, &Invoice)]) -> Result<Write, StoreError> {
    let ((first, invoice), rest) = parts.split_first().ok_or_else(|| StoreError::Malformed("a charge pays something".into()))?;
    let record = ChargeRecord {
        payment_pk: account_pk(&first.account),
        payment_sk: payment_key(first).sk,
        invoice_sk: invoice_key(invoice).sk,
        more: rest.iter().map(|(p, i)| ChargePart { payment_sk: payment_key(p).sk, invoice_sk: invoice_key(i).sk }).collect(),
    };
    Ok(put_new(record_item(&charge_key(reference), "charge", &record, 1)?))
}

/// Replaces a payment stored at `version`: recording its charge, settling or releasing it.
pub fn replace_payment(payment: &Payment, version: u64) -> Result<Write, StoreError> {
    let item = payment_item(payment, version + 1)?;
    Ok(Write::Put { item, condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(version))) })
}

/// Replaces a record whose stored version is `version` with `record` at `version + 1`.
pub fn replace_record(key: &Key, kind: &str, record: &impl Serialize, version: u64) -> Result<Write, StoreError> {
    let item = record_item(key, kind, record, version + 1)?;
    Ok(Write::Put { item, condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(version))) })
}

pub fn put_source(source: &PaymentSource) -> Result<Write, StoreError> {
    Ok(put_new(record_item(&source_key(source), "source", source, source.version.max(1))?))
}

pub fn put_agreement(agreement: &Agreement) -> Result<Write, StoreError> {
    Ok(put_new(record_item(&agreement_key(agreement), "agreement", agreement, 1)?))
}

/// Bumps an item's version on condition it is still `version`: the optimistic lock every edit uses.
pub fn versioned_update(key: Key, version: u64, update: Update) -> Write {
    Write::Update {
        key,
        update: update.set(attr::VERSION, version + 1),
        condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(version))),
    }
}

// ---- reads ----

/// Reads the practice profile.
pub async fn practice(table: &dyn Table) -> Result<Option<Practice>, StoreError> {
    table.get(&practice_key()).await?.as_ref().map(record_of).transpose()
}

/// Every plan the practice offers.
pub async fn plans(table: &dyn Table) -> Result<Vec<Plan>, StoreError> {
    table.query(crate::keys::PRACTICE_PK, crate::keys::PLAN).await?.iter().map(|i| record_of(i)).collect()
}

/// The member who signs in with `email`, if any.
pub async fn member_by_email(table: &dyn Table, email: &Email) -> Result<Option<Member>, StoreError> {
    let items = table.query_index(&email_index_pk(email)).await?;
    let mut members: Vec<Member> = items.iter().map(|i| record_of(i)).collect::<Result<_, _>>()?;
    // An address belongs to one member; should two ever share one, neither may sign in with it.
    Ok(if members.len() == 1 { members.pop() } else { None })
}

/// Everything stored for one household, read with a single query of its partition.
#[derive(Debug, Clone, Default)]
pub struct HouseholdRecords {
    pub household: Option<Household>,
    pub members: Vec<Member>,
    pub memberships: Vec<Membership>,
    /// The invoices and payments as stored: each page decodes what it shows.
    pub ledger: Ledger,
    pub sources: Vec<PaymentSource>,
    pub agreements: Vec<Agreement>,
    /// Email changes waiting for their code (`EMAILCHANGE#{member}`), as stored.
    pub email_changes: Vec<Arc<Item>>,
}

impl HouseholdRecords {
    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.iter().find(|m| &m.id == id)
    }
}

fn invoice_of(item: &Item) -> Result<Invoice, StoreError> {
    let mut data: InvoiceData = record_of(item)?;
    data.paid = money_attr(item, PAID)?;
    data.pending = money_attr(item, PENDING)?;
    Invoice::new(data).map_err(|e| StoreError::Malformed(format!("invoice: {e}")))
}

fn payment_of(item: &Item) -> Result<Payment, StoreError> {
    let mut p: Payment = record_of(item)?;
    p.version = version_of(item);
    Ok(p)
}

/// Loads a household's records in one query (its invoices and payments as stored, in `ledger`).
pub async fn household(table: &dyn Table, account: &AccountId) -> Result<HouseholdRecords, StoreError> {
    let items = table.query(&account_pk(account), "").await?;
    let mut records = HouseholdRecords::default();
    for item in items {
        let sk = item.get(attr::SK).and_then(Value::as_str).unwrap_or("");
        let version = version_of(&item);
        match AccountItem::of_sk(sk) {
            AccountItem::Household => {
                let mut h: Household = record_of(&item)?;
                h.version = version;
                h.processor_customer = item.get(PROCESSOR_CUSTOMER).and_then(Value::as_str).map(str::to_owned);
                records.household = Some(h);
            }
            AccountItem::Member => {
                let mut m: Member = record_of(&item)?;
                m.version = version;
                records.members.push(m);
            }
            AccountItem::Membership => {
                let mut ms: Membership = record_of(&item)?;
                ms.version = version;
                records.memberships.push(ms);
            }
            AccountItem::Invoice => records.ledger.invoices.push(item),
            AccountItem::Payment => records.ledger.payments.push(item),
            AccountItem::Source => {
                let mut s: PaymentSource = record_of(&item)?;
                s.version = version;
                records.sources.push(s);
            }
            AccountItem::Agreement => {
                let mut a: Agreement = record_of(&item)?;
                a.record_version = version;
                records.agreements.push(a);
            }
            AccountItem::EmailChange => records.email_changes.push(item),
            AccountItem::Other => {}
        }
    }
    records.ledger.invoices.reverse();
    records.ledger.payments.reverse();
    // The default source first, as every list and form shows it.
    records.sources.sort_by_key(|s| !s.is_default);
    Ok(records)
}

/// A household's invoices and payments as stored, newest first, decoded only as far as a page
/// needs: years of history are hundreds of items, and a page shows a few of them. The sort keys
/// carry each one's date and id; the attributes beside the JSON carry the figures that totals,
/// statuses and balances need. Items written before those attributes existed are decoded instead.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    invoices: Vec<Arc<Item>>,
    payments: Vec<Arc<Item>>,
}

/// One payment's part in a statement, read from its item.
struct PaymentFigures {
    at: DateTime<Utc>,
    amount: Money,
    succeeded: bool,
}

impl Ledger {
    /// Every invoice decoded, newest first (tools and tests; pages decode what they show).
    pub fn invoices(&self) -> Result<Vec<Invoice>, StoreError> {
        self.invoices.iter().map(|i| invoice_of(i)).collect()
    }

    /// Every payment decoded, newest first.
    pub fn payments(&self) -> Result<Vec<Payment>, StoreError> {
        self.payments.iter().map(|i| payment_of(i)).collect()
    }

    /// The invoice with this id (its id ends its sort key), if it is this household's.
    pub fn invoice(&self, id: &InvoiceId) -> Result<Option<Invoice>, StoreError> {
        find_by_id(&self.invoices, id.as_str()).map(invoice_of).transpose()
    }

    /// The payment with this id, if it is this household's.
    pub fn payment(&self, id: &PaymentId) -> Result<Option<Payment>, StoreError> {
        find_by_id(&self.payments, id.as_str()).map(payment_of).transpose()
    }

    /// The invoice at `index` in the order [`Ledger::figures`] lists them (newest first).
    pub fn invoice_at(&self, index: usize) -> Result<Option<Invoice>, StoreError> {
        self.invoices.get(index).map(|i| invoice_of(i)).transpose()
    }

    /// The payments made on one invoice, oldest first.
    pub fn payments_for(&self, invoice: &InvoiceId) -> Result<Vec<Payment>, StoreError> {
        let mut found = Vec::new();
        for item in self.payments.iter().rev() {
            match item.get(INVOICE).and_then(Value::as_str) {
                Some(id) if id != invoice.as_str() => {}
                Some(_) => found.push(payment_of(item)?),
                None => {
                    let payment = payment_of(item)?;
                    if payment.invoice == *invoice {
                        found.push(payment);
                    }
                }
            }
        }
        Ok(found)
    }

    /// The parts of the payment `first` begins, in the order they were allocated (oldest invoice
    /// first); a payment of one invoice is its own only part.
    pub fn batch(&self, first: &Payment) -> Result<Vec<Payment>, StoreError> {
        let Some(batch) = &first.batch else { return Ok(vec![first.clone()]) };
        let mut parts = Vec::new();
        for payment in self.payments()? {
            if payment.batch.as_ref() == Some(batch) {
                let issued = self.invoice(&payment.invoice)?.map(|i| (i.issued(), i.number().to_owned()));
                parts.push((payment.id != *batch, issued, payment));
            }
        }
        parts.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
        Ok(parts.into_iter().map(|(_, _, p)| p).collect())
    }

    /// Every invoice's figures, newest first.
    pub fn figures(&self) -> Result<Vec<InvoiceFigures>, StoreError> {
        self.invoices.iter().map(|i| invoice_figures(i)).collect()
    }

    /// The account statement for `from..=to`. Each invoice that is not void is a charge on its
    /// issue date, each payment that went through a payment on the practice's date of it
    /// (`date_of`). Activity before the period is summed from the figures into the opening balance;
    /// only the period's invoices and payments are decoded.
    pub fn statement(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        date_of: impl Fn(DateTime<Utc>) -> NaiveDate,
    ) -> Result<crate::statement::Statement, StoreError> {
        use crate::statement::{Activity, ActivityKind};
        let mut opening = crate::Balance::ZERO;
        let mut within = Vec::new();
        // Invoice numbers for the period's payments: those of the period's invoices, then any
        // other looked up once by id (a long period has hundreds of payments).
        let mut numbers: HashMap<String, String> = HashMap::new();
        let mut by_id: Option<HashMap<&str, &Item>> = None;
        for item in &self.invoices {
            let issued = match issued_in_key(item) {
                Some(date) => date,
                None => invoice_of(item)?.issued(),
            };
            if issued > to {
                continue;
            }
            if issued < from {
                if let Some(total) = charge_of(item)? {
                    opening = opening.plus(total);
                }
                continue;
            }
            let invoice = invoice_of(item)?;
            numbers.insert(invoice.id().to_string(), invoice.number().to_owned());
            if !invoice.is_void() {
                within.push(Activity {
                    date: issued,
                    kind: ActivityKind::Charge,
                    amount: invoice.total(),
                    description: format!("Invoice {}", invoice.number()),
                });
            }
        }
        for item in &self.payments {
            let figures = payment_figures(item)?;
            if !figures.succeeded {
                continue;
            }
            let date = date_of(figures.at);
            if date > to {
                continue;
            }
            if date < from {
                opening = opening.minus(figures.amount);
                continue;
            }
            let payment = payment_of(item)?;
            let id = payment.invoice.as_str();
            if !numbers.contains_key(id) {
                let index = by_id.get_or_insert_with(|| self.invoices.iter().filter_map(|i| Some((id_in_key(i)?, &**i))).collect());
                let number = index.get(id).map(|i| invoice_of(i)).transpose()?.map_or_else(|| id.to_owned(), |i| i.number().to_owned());
                numbers.insert(id.to_owned(), number);
            }
            let number = &numbers[id];
            within.push(Activity {
                date,
                kind: ActivityKind::Payment,
                amount: payment.amount,
                description: format!("Payment on {number}, {}", payment.source.describe()),
            });
        }
        Ok(crate::statement::statement_from(opening, within, from, to))
    }
}

/// The id that ends an item's sort key (ids never contain `#`).
fn id_in_key(item: &Item) -> Option<&str> {
    item.get(attr::SK).and_then(Value::as_str).and_then(|sk| sk.rsplit_once('#')).map(|(_, id)| id)
}

/// The item whose sort key ends with `#{id}` (ids never contain `#`).
fn find_by_id<'a>(items: &'a [Arc<Item>], id: &str) -> Option<&'a Item> {
    items
        .iter()
        .find(|item| item.get(attr::SK).and_then(Value::as_str).and_then(|sk| sk.strip_suffix(id)).is_some_and(|rest| rest.ends_with('#')))
        .map(|i| &**i)
}

/// `YYYY-MM-DD` at the start of `text`, read without a format parser (lists read hundreds).
fn date_at(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(digits(&b[0..4])?).ok()?, digits(&b[5..7])?, digits(&b[8..10])?)
}

/// The issue date in an invoice's sort key (`INVOICE#{issued}#{id}`).
fn issued_in_key(item: &Item) -> Option<NaiveDate> {
    item.get(attr::SK).and_then(Value::as_str).and_then(|sk| sk.strip_prefix(crate::keys::INVOICE)).and_then(date_at)
}

/// A money attribute, if it is present and a valid amount.
fn money_in(item: &Item, name: &str) -> Option<Money> {
    item.get(name).and_then(Value::as_number).and_then(|n| Money::try_from(n).ok())
}

/// A yes/no attribute, if present.
fn flag_in(item: &Item, name: &str) -> Option<bool> {
    match item.get(name) {
        Some(Value::Bool(v)) => Some(*v),
        _ => None,
    }
}

/// Money attributes the figures need: absent ones count as zero (as on every invoice item), but
/// one that is not a valid amount sends the reader to the JSON.
fn money_or_zero(item: &Item, name: &str) -> Option<Money> {
    match item.get(name) {
        None => Some(Money::ZERO),
        Some(_) => money_in(item, name),
    }
}

fn invoice_figures(item: &Item) -> Result<InvoiceFigures, StoreError> {
    let read = || {
        Some(InvoiceFigures {
            total: money_in(item, TOTAL)?,
            paid: money_or_zero(item, PAID)?,
            pending: money_or_zero(item, PENDING)?,
            due: item.get(DUE).and_then(Value::as_str).filter(|d| d.len() == 10).and_then(date_at)?,
            void: flag_in(item, VOID)?,
        })
    };
    match read() {
        Some(figures) => Ok(figures),
        None => Ok(invoice_of(item)?.figures()),
    }
}

/// What an invoice charges the account: its total, or nothing when it is void.
fn charge_of(item: &Item) -> Result<Option<Money>, StoreError> {
    match (flag_in(item, VOID), money_in(item, TOTAL)) {
        (Some(true), Some(_)) => Ok(None),
        (Some(false), Some(total)) => Ok(Some(total)),
        _ => {
            let invoice = invoice_of(item)?;
            Ok((!invoice.is_void()).then(|| invoice.total()))
        }
    }
}

/// The instant in a payment's sort key (`PAYMENT#{time}#{id}`).
fn paid_at_in_key(item: &Item) -> Option<DateTime<Utc>> {
    time_at(item.get(attr::SK).and_then(Value::as_str)?.strip_prefix(crate::keys::PAYMENT)?)
}

fn payment_figures(item: &Item) -> Result<PaymentFigures, StoreError> {
    match (paid_at_in_key(item), money_in(item, AMOUNT), flag_in(item, SUCCEEDED)) {
        (Some(at), Some(amount), Some(succeeded)) => Ok(PaymentFigures { at, amount, succeeded }),
        _ => {
            let p = payment_of(item)?;
            Ok(PaymentFigures { at: p.at, amount: p.amount, succeeded: p.status == PaymentStatus::Succeeded })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::MockTable;
    use crate::statement::{statement, Activity, ActivityKind};
    use crate::{LineItem, SourceDetails};
    use proptest::prelude::*;

    fn day(n: u64) -> NaiveDate {
        NaiveDate::from_ymd_opt(2024, 1, 1).unwrap() + chrono::Days::new(n)
    }

    /// The item a write puts.
    fn item_of(write: Write) -> Item {
        match write {
            Write::Put { item, .. } => item,
            other => panic!("not a put: {other:?}"),
        }
    }

    /// An invoice issued on day `n`, of `cents`, with `paid` and `pending` cents.
    fn invoice(n: u64, cents: i64, paid: i64, pending: i64, void: bool) -> Invoice {
        Invoice::new(InvoiceData {
            id: InvoiceId::parse(&format!("inv-{n}")).unwrap(),
            account: AccountId::parse("a1").unwrap(),
            number: format!("INV-{n}"),
            issued: day(n),
            due: day(n + 14),
            lines: vec![LineItem {
                member: None,
                description: "Membership".into(),
                period_start: None,
                period_end: None,
                amount: Money::from_cents(cents),
            }],
            paid: Money::from_cents(paid),
            pending: Money::from_cents(pending),
            void,
        })
        .unwrap()
    }

    fn payment(id: &str, on: &Invoice, cents: i64, at: DateTime<Utc>, status: PaymentStatus) -> Payment {
        Payment {
            id: PaymentId::parse(id).unwrap(),
            account: on.account().clone(),
            invoice: on.id().clone(),
            amount: Money::from_cents(cents),
            source: SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year: 2030 },
            status,
            gateway_reference: None,
            idempotency_key: format!("k-{id}"),
            at,
            reversals: Default::default(),
            ach_authorization: None,
            batch: None,
            version: 1,
        }
    }

    /// How an invoice is stored once payments have moved its amounts: `paid` and `pending` are
    /// updated in the attributes only, so the JSON still holds the amounts it was created with.
    fn stored_invoice(invoice: &Invoice) -> Item {
        let created = Invoice::new(InvoiceData { paid: Money::ZERO, pending: Money::ZERO, ..InvoiceData::from(invoice.clone()) }).unwrap();
        let mut item = item_of(put_invoice(&created).unwrap());
        item.insert(PAID.into(), Value::N(invoice.paid().amount()));
        item.insert(PENDING.into(), Value::N(invoice.pending().amount()));
        item.insert(AVAILABLE.into(), Value::N(invoice.payable().amount()));
        item
    }

    /// The ledger `household` makes of these records, read from the store in sort-key order.
    /// Item `i` (invoices, then payments) is stored as before the figures' attributes existed when
    /// bit `i % 64` of `old` is set.
    fn ledger(invoices: &[Invoice], payments: &[Payment], old: u64) -> Ledger {
        let items = invoices.iter().map(stored_invoice).chain(payments.iter().map(|p| item_of(put_payment(p).unwrap())));
        let mut items: Vec<Arc<Item>> = items
            .enumerate()
            .map(|(i, mut item)| {
                if old & (1 << (i % 64)) != 0 {
                    for name in [DUE, VOID, INVOICE, AMOUNT, SUCCEEDED] {
                        item.remove(name);
                    }
                }
                Arc::new(item)
            })
            .collect();
        items.sort_by(|a, b| a.get(attr::SK).and_then(Value::as_str).cmp(&b.get(attr::SK).and_then(Value::as_str)));
        let mut table = MockTable::new();
        table.expect_query().returning(move |_, _| Ok(items.clone()));
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(household(&table, &AccountId::parse("a1").unwrap())).unwrap().ledger
    }

    /// The statement as the whole history decoded makes it: the rule the ledger must keep.
    fn decoded_statement(
        invoices: &[Invoice],
        payments: &[Payment],
        from: NaiveDate,
        to: NaiveDate,
        date_of: impl Fn(DateTime<Utc>) -> NaiveDate,
    ) -> crate::statement::Statement {
        let number = |id: &InvoiceId| invoices.iter().find(|i| i.id() == id).map_or_else(|| id.to_string(), |i| i.number().to_owned());
        let charges = invoices.iter().filter(|i| !i.is_void()).map(|i| Activity {
            date: i.issued(),
            kind: ActivityKind::Charge,
            amount: i.total(),
            description: format!("Invoice {}", i.number()),
        });
        let paid = payments.iter().filter(|p| p.status == PaymentStatus::Succeeded).map(|p| Activity {
            date: date_of(p.at),
            kind: ActivityKind::Payment,
            amount: p.amount,
            description: format!("Payment on {}, {}", number(&p.invoice), p.source.describe()),
        });
        statement(&charges.chain(paid).collect::<Vec<_>>(), from, to)
    }

    /// A practice six hours behind UTC: payments late in the UTC day fall on the day before.
    fn date_of(at: DateTime<Utc>) -> NaiveDate {
        (at - chrono::Duration::hours(6)).date_naive()
    }

    fn status() -> impl Strategy<Value = PaymentStatus> {
        prop_oneof![Just(PaymentStatus::Succeeded), Just(PaymentStatus::Pending), Just(PaymentStatus::Declined("Declined".into()))]
    }

    prop_compose! {
        /// Invoices 9 days apart, newest last, each with up to three payments in the days after it
        /// (at any hour, so some fall on the practice's day before), oldest first.
        fn history()(shape in proptest::collection::vec(
            (1i64..50_000, 0i64..=100, 0i64..=100, any::<bool>(), proptest::collection::vec((0u32..24, status()), 0..3)),
            0..30,
        )) -> (Vec<Invoice>, Vec<Payment>) {
            let mut invoices = Vec::new();
            let mut payments = Vec::new();
            for (n, (cents, paid_share, pending_share, void, paid_by)) in shape.into_iter().enumerate() {
                let n = n as u64 * 9;
                let paid = cents * paid_share / 100;
                let pending = (cents - paid) * pending_share / 100;
                let inv = invoice(n, cents, paid, pending, void);
                for (k, (hour, status)) in paid_by.into_iter().enumerate() {
                    let at = (day(n) + chrono::Days::new(2 * k as u64)).and_hms_micro_opt(hour, 30, 5, 123_456).unwrap().and_utc();
                    payments.push(payment(&format!("pay-{n}-{k}"), &inv, 1 + cents / 3, at, status));
                }
                invoices.push(inv);
            }
            (invoices, payments)
        }
    }

    proptest! {
        /// What the pages read from the attributes and keys is what decoding every record gives,
        /// for items with the attributes, items from before them, and a mix.
        #[test]
        fn the_ledger_reads_what_decoding_reads((invoices, payments) in history(), old in prop_oneof![Just(0u64), Just(u64::MAX), any::<u64>()], near in any::<prop::sample::Index>(), shift in 0u64..3, len in 0u64..400) {
            let ledger = ledger(&invoices, &payments, old);
            let newest_first: Vec<&Invoice> = invoices.iter().rev().collect();
            let figures = ledger.figures().unwrap();
            prop_assert_eq!(figures.len(), invoices.len());
            for (i, (figures, invoice)) in figures.iter().zip(&newest_first).enumerate() {
                prop_assert_eq!(*figures, invoice.figures());
                prop_assert_eq!(ledger.invoice_at(i).unwrap(), Some((*invoice).clone()));
                prop_assert_eq!(ledger.invoice(invoice.id()).unwrap(), Some((*invoice).clone()));
                let on: Vec<Payment> = payments.iter().filter(|p| p.invoice == *invoice.id()).cloned().collect();
                prop_assert_eq!(ledger.payments_for(invoice.id()).unwrap(), on, "oldest first");
            }
            for p in &payments {
                prop_assert_eq!(ledger.payment(&p.id).unwrap(), Some(p.clone()));
            }
            // Periods that start on or around the practice's date of some payment, or anywhere.
            let from = if payments.is_empty() { day(len) } else { date_of(near.get(&payments).at) + chrono::Days::new(shift) - chrono::Days::new(1) };
            // (Periods are never reversed: `parse_period` refuses them.)
            for (from, to) in [(from, from), (from, from + chrono::Days::new(len)), (day(0).min(from), day(0).max(from))] {
                prop_assert_eq!(ledger.statement(from, to, date_of).unwrap(), decoded_statement(&invoices, &payments, from, to, date_of));
            }
        }
    }

    #[test]
    fn a_payment_counts_on_the_practices_date() {
        let inv = invoice(10, 10_000, 10_000, 0, false);
        // 03:00 UTC on day 12 is 21:00 on day 11 for the practice.
        let paid = payment("pay-1", &inv, 10_000, day(12).and_hms_opt(3, 0, 0).unwrap().and_utc(), PaymentStatus::Succeeded);
        for old in [0, u64::MAX] {
            let ledger = ledger(std::slice::from_ref(&inv), std::slice::from_ref(&paid), old);
            let on_11 = ledger.statement(day(11), day(11), date_of).unwrap();
            assert_eq!(
                (on_11.lines.len(), on_11.opening.to_string(), on_11.closing.to_string()),
                (1, "$100.00".into(), "$0.00".into()),
                "old: {old}"
            );
            let on_12 = ledger.statement(day(12), day(12), date_of).unwrap();
            assert_eq!((on_12.lines.len(), on_12.opening.to_string()), (0, "$0.00".into()), "old: {old}");
            let on_10 = ledger.statement(day(10), day(10), date_of).unwrap();
            assert_eq!((on_10.lines.len(), on_10.closing.to_string()), (1, "$100.00".into()), "old: {old}");
        }
    }

    #[test]
    fn attributes_that_cannot_be_read_send_the_reader_to_the_record() {
        let inv = invoice(1, 10_000, 2_500, 0, false);
        let mut item = stored_invoice(&inv);
        item.insert(TOTAL.into(), Value::S("lots".into()));
        item.insert(DUE.into(), Value::S("soon".into()));
        let ledger = Ledger { invoices: vec![Arc::new(item)], payments: vec![] };
        assert_eq!(ledger.figures().unwrap(), vec![inv.figures()]);
        assert_eq!(ledger.statement(day(0), day(5), date_of).unwrap().charges, inv.total());
    }

    #[test]
    fn ids_are_found_whole() {
        let first = invoice(1, 100, 0, 0, false);
        let ledger = ledger(std::slice::from_ref(&first), &[], 0);
        assert_eq!(ledger.invoice(&InvoiceId::parse("inv-1").unwrap()).unwrap(), Some(first));
        for missing in ["nv-1", "1", "inv-11", "xinv-1"] {
            assert_eq!(ledger.invoice(&InvoiceId::parse(missing).unwrap()).unwrap(), None, "{missing}");
        }
    }

    #[test]
    fn keys_are_read_without_a_format_parser() {
        assert_eq!(date_at("2026-02-28#x"), NaiveDate::from_ymd_opt(2026, 2, 28));
        for bad in ["2026-02-30", "2026-2-28", "20260228xx", "2026-02-2", "abcd-ef-gh", ""] {
            assert_eq!(date_at(bad), None, "{bad}");
        }
        let inv = invoice(3, 100, 100, 0, false);
        let p = payment("pay-3", &inv, 100, day(3).and_hms_micro_opt(23, 59, 59, 999_999).unwrap().and_utc(), PaymentStatus::Succeeded);
        let item = item_of(put_payment(&p).unwrap());
        assert_eq!(paid_at_in_key(&item), Some(p.at));
        assert_eq!(issued_in_key(&item_of(put_invoice(&inv).unwrap())), Some(inv.issued()));
    }
}
