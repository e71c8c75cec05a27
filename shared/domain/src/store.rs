//! Repositories for the portal's records, written once on top of the [`Table`] port.
//!
//! Each record is one item: its keys, a `type`, a `version`, and the record as JSON in `data`.
//! Invoice amounts that money movement changes atomically are also plain number attributes.

use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::ports::{attr, Condition, Item, Key, Table, Update, Value, Write};
use crate::{
    AccountId, Agreement, Email, Household, Invoice, InvoiceData, Member, MemberId, Membership, Money, Payment, PaymentSource, Plan,
    PlanId, Practice, StoreError,
};

pub const DATA: &str = "data";
pub const TYPE: &str = "type";
/// Invoice amounts kept as numbers so a transaction can reserve and settle them.
pub const PAID: &str = "paid";
pub const PENDING: &str = "pending";
pub const TOTAL: &str = "total";
/// total − paid − pending: what a new payment may still take (a condition checks it).
pub const AVAILABLE: &str = "available";

pub fn account_pk(account: &AccountId) -> String {
    format!("ACCOUNT#{account}")
}

pub fn practice_key() -> Key {
    Key::new("PRACTICE", "PROFILE")
}
pub fn plan_key(plan: &PlanId) -> Key {
    Key::new("PRACTICE", format!("PLAN#{plan}"))
}
pub fn household_key(account: &AccountId) -> Key {
    Key::new(account_pk(account), "ACCOUNT")
}
pub fn member_key(account: &AccountId, member: &MemberId) -> Key {
    Key::new(account_pk(account), format!("MEMBER#{member}"))
}
pub fn membership_key(ms: &Membership) -> Key {
    Key::new(account_pk(&ms.account), format!("MEMBERSHIP#{}", ms.id))
}
pub fn invoice_key(invoice: &Invoice) -> Key {
    Key::new(account_pk(invoice.account()), format!("INVOICE#{}#{}", invoice.issued(), invoice.id()))
}
pub fn payment_key(payment: &Payment) -> Key {
    Key::new(account_pk(&payment.account), format!("PAYMENT#{}#{}", payment.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), payment.id))
}
pub fn source_key(source: &PaymentSource) -> Key {
    Key::new(account_pk(&source.account), format!("SOURCE#{}", source.id))
}
pub fn agreement_key(agreement: &Agreement) -> Key {
    Key::new(account_pk(&agreement.account), format!("AGREEMENT#{}", agreement.id))
}
pub fn email_index_pk(email: &Email) -> String {
    format!("EMAIL#{email}")
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
    Money::try_from(n).map_err(|e| StoreError::Malformed(format!("invoice {name}: {e}")))
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

pub fn put_household(household: &Household, source_count: usize) -> Result<Write, StoreError> {
    let mut item = record_item(&household_key(&household.id), "household", household, household.version.max(1))?;
    item.insert(SOURCE_COUNT.into(), Value::from(source_count as u64));
    Ok(put_new(item))
}

pub fn put_member(member: &Member) -> Result<Write, StoreError> {
    let mut item = record_item(&member_key(&member.account, &member.id), "member", member, member.version.max(1))?;
    if let Some(email) = &member.email {
        item.insert(attr::GSI1PK.into(), Value::S(email_index_pk(email)));
        item.insert(attr::GSI1SK.into(), Value::S(format!("MEMBER#{}", member.id)));
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
    Ok(put_new(item))
}

/// The index partition that lists payments awaiting the processor's answer, for `portal reconcile`.
pub const PENDING_PAYMENTS: &str = "PAYMENTS#pending";

pub fn put_payment(payment: &Payment) -> Result<Write, StoreError> {
    let mut item = record_item(&payment_key(payment), "payment", payment, 1)?;
    if payment.status == crate::PaymentStatus::Pending {
        // Settling or releasing rewrites the item without these, which takes it off the list.
        item.insert(attr::GSI1PK.into(), Value::S(PENDING_PAYMENTS.into()));
        item.insert(attr::GSI1SK.into(), Value::S(payment_key(payment).sk));
    }
    Ok(put_new(item))
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
    table.query("PRACTICE", "PLAN#").await?.iter().map(record_of).collect()
}

/// The member who signs in with `email`, if any.
pub async fn member_by_email(table: &dyn Table, email: &Email) -> Result<Option<Member>, StoreError> {
    let items = table.query_index(&email_index_pk(email)).await?;
    let mut members: Vec<Member> = items.iter().map(record_of).collect::<Result<_, _>>()?;
    // An address belongs to one member; should two ever share one, neither may sign in with it.
    Ok(if members.len() == 1 { members.pop() } else { None })
}

/// Everything stored for one household, read with a single query of its partition.
#[derive(Debug, Clone, Default)]
pub struct HouseholdRecords {
    pub household: Option<Household>,
    pub members: Vec<Member>,
    pub memberships: Vec<Membership>,
    /// Newest first.
    pub invoices: Vec<Invoice>,
    /// Newest first.
    pub payments: Vec<Payment>,
    pub sources: Vec<PaymentSource>,
    pub agreements: Vec<Agreement>,
    /// Email changes waiting for their code (`EMAILCHANGE#{member}`), as stored.
    pub email_changes: Vec<Item>,
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

/// Whether a page needs the household's invoices and payments decoded (years of them are most of
/// a partition; the pages about members, memberships, agreements and sources do not show them).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Billing {
    Include,
    /// `invoices` and `payments` stay empty.
    Skip,
}

/// Loads a household's records in one query.
pub async fn household(table: &dyn Table, account: &AccountId) -> Result<HouseholdRecords, StoreError> {
    household_with(table, account, Billing::Include).await
}

/// Loads a household's records in one query, decoding invoices and payments only if asked to.
pub async fn household_with(table: &dyn Table, account: &AccountId, billing: Billing) -> Result<HouseholdRecords, StoreError> {
    let items = table.query(&account_pk(account), "").await?;
    let mut records = HouseholdRecords::default();
    for item in &items {
        let sk = item.get(attr::SK).and_then(Value::as_str).unwrap_or("");
        let version = version_of(item);
        match sk.split('#').next().unwrap_or("") {
            "ACCOUNT" => {
                let mut h: Household = record_of(item)?;
                h.version = version;
                records.household = Some(h);
            }
            "MEMBER" => {
                let mut m: Member = record_of(item)?;
                m.version = version;
                records.members.push(m);
            }
            "MEMBERSHIP" => {
                let mut ms: Membership = record_of(item)?;
                ms.version = version;
                records.memberships.push(ms);
            }
            "INVOICE" | "PAYMENT" if billing == Billing::Skip => {}
            "INVOICE" => records.invoices.push(invoice_of(item)?),
            "PAYMENT" => {
                let mut p: Payment = record_of(item)?;
                p.version = version;
                records.payments.push(p);
            }
            "SOURCE" => {
                let mut s: PaymentSource = record_of(item)?;
                s.version = version;
                records.sources.push(s);
            }
            "AGREEMENT" => {
                let mut a: Agreement = record_of(item)?;
                a.record_version = version;
                records.agreements.push(a);
            }
            "EMAILCHANGE" => records.email_changes.push(item.clone()),
            _ => {}
        }
    }
    records.invoices.reverse();
    records.payments.reverse();
    // The default source first, as every list and form shows it.
    records.sources.sort_by_key(|s| !s.is_default);
    Ok(records)
}
