//! Repositories for the portal's records, written once on top of the [`crate::ports::Table`] port.
//!
//! Each record is one item: its keys (`crate::keys`), a `type`, a `version`, and the record as
//! JSON in `data` (`codec`). Invoice amounts that money movement changes atomically are also
//! plain number attributes. This module writes records; `household` reads a household's
//! partition, and `ledger` reads its invoices and payments as far as a page needs.

use serde::Serialize;

use crate::ports::{attr, Condition, Item, Key, Update, Value, Write};
use crate::{
    AccountId, Agreement, Household, Invoice, Member, Membership, Payment, PaymentSource, PaymentStatus, Plan, Practice, StoreError,
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

pub mod applied;
pub mod balances;
pub mod cleared;
mod codec;
mod household;
pub mod invoice_list;
mod ledger;
pub mod summary;

pub use applied::{invoice_page, record_payment, InvoicePage};
pub use codec::*;
pub use household::*;
pub use ledger::*;

/// The writes that count payments that went through now, in the transaction that settles them:
/// what is paid on each open invoice (`summary`), the payments of their month (`balances`) and
/// their receipts (`cleared`). Empty when none of them went through.
pub fn count_paid<'a>(settled: impl IntoIterator<Item = &'a Payment>) -> Result<Vec<Write>, StoreError> {
    let settled: Vec<&Payment> = settled.into_iter().filter(|p| p.status == PaymentStatus::Succeeded).collect();
    let Some(first) = settled.first() else { return Ok(Vec::new()) };
    let mut writes: Vec<Write> = summary::paid(settled.iter().copied()).into_iter().collect();
    writes.extend(balances::writes(&first.account, &balances::paid(settled.iter().copied())));
    writes.extend(receipts_of(&first.account, settled.iter().copied())?);
    Ok(writes)
}

fn receipts_of<'a>(account: &AccountId, payments: impl IntoIterator<Item = &'a Payment>) -> Result<Vec<Write>, StoreError> {
    let entries: Vec<crate::receipts::Cleared> = payments.into_iter().filter_map(crate::receipts::Cleared::of).collect();
    cleared::writes(account, &entries)
}

/// The writes that follow an invoice put where `old` was (none for a new one), with `payments`
/// recorded in the same transaction: its entry in the summary of open invoices (which takes its
/// paid figure from the invoice), its charge and those payments in the figures by month, and
/// the receipts of those that went through. `stored` are the payments on it already stored: when
/// its issue date or number changes, their receipts name the new ones (their links find the
/// invoice by its date).
pub fn count_invoice(old: Option<&Invoice>, new: &Invoice, payments: &[Payment], stored: &[&Payment]) -> Result<Vec<Write>, StoreError> {
    let mut deltas = balances::invoice_put(old, new);
    deltas.extend(balances::paid(payments));
    let mut writes = vec![summary::entry(new)];
    writes.extend(balances::writes(new.account(), &deltas));
    let redated: Vec<Payment> = match old {
        Some(old) if old.issued() != new.issued() || old.number() != new.number() => stored
            .iter()
            .map(|p| Payment { invoice_issued: Some(new.issued()), invoice_number: Some(new.number().to_owned()), ..Payment::clone(p) })
            .collect(),
        _ => Vec::new(),
    };
    writes.extend(receipts_of(new.account(), payments.iter().chain(&redated))?);
    Ok(writes)
}

/// The writes that count `payments` of `account` recorded (by an import) beside an invoice whose
/// summary entry already has them: their month's figures and the receipts of those that went through.
pub fn count_recorded(account: &AccountId, payments: &[Payment]) -> Result<Vec<Write>, StoreError> {
    let mut writes = balances::writes(account, &balances::paid(payments));
    writes.extend(receipts_of(account, payments)?);
    Ok(writes)
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

/// The household's count of sources grows by `added` (a new source, an import's new sources).
/// With [`source_removed`], the only writers of the count besides a new household's.
pub fn sources_added(account: &AccountId, added: usize) -> Write {
    Write::Update { key: household_key(account), update: count_sources(Update::default(), added), condition: Some(Condition::Exists) }
}

/// `update` to the household's item, also counting `added` new sources.
pub fn count_sources(update: Update, added: usize) -> Update {
    update.add(SOURCE_COUNT, rust_decimal::Decimal::from(added))
}

/// The household's count of sources shrinks by one, on condition another remains: the last
/// source is never removed.
pub fn source_removed(account: &AccountId) -> Write {
    Write::Update {
        key: household_key(account),
        update: Update::default().add(SOURCE_COUNT, -rust_decimal::Decimal::ONE),
        condition: Some(Condition::AtLeast(SOURCE_COUNT.into(), rust_decimal::Decimal::TWO)),
    }
}

/// A new household's record, naming `members` (what an invoice's page shows, `applied`).
pub fn put_household(household: &Household, source_count: usize, members: &[Member]) -> Result<Write, StoreError> {
    let mut item = record_item(&household_key(&household.id), "household", household, household.version.max(1))?;
    applied::name_members(Update::default(), members).apply_to(&mut item);
    item.insert(SOURCE_COUNT.into(), Value::from(source_count as u64));
    item.insert(attr::GSI1PK.into(), Value::S(crate::keys::HOUSEHOLDS.into()));
    item.insert(attr::GSI1SK.into(), Value::S(household.id.to_string()));
    if let Some(customer) = &household.processor_customer {
        item.insert(PROCESSOR_CUSTOMER.into(), Value::S(customer.clone()));
    }
    Ok(put_new(item))
}

/// Every household's id, from the `HOUSEHOLDS` index (one query, in id order).
pub async fn household_ids(table: &dyn crate::Table) -> Result<Vec<AccountId>, StoreError> {
    let items = table.query_index(crate::keys::HOUSEHOLDS).await?;
    items.iter().map(|i| record_of::<Household>(i).map(|h| h.id)).collect()
}

/// For a table written before households were indexed (`portal migrate`): the write that adds a
/// household record to the `HOUSEHOLDS` index, if `item` is one that is not in it yet.
pub fn index_household(item: &Item) -> Result<Option<Write>, StoreError> {
    let (Some(pk), Some(sk)) = (item.get(attr::PK).and_then(Value::as_str), item.get(attr::SK).and_then(Value::as_str)) else {
        return Ok(None);
    };
    if sk != crate::keys::HOUSEHOLD_RECORD_SK || item.contains_key(attr::GSI1PK) {
        return Ok(None);
    }
    let household: Household = record_of(item)?;
    Ok(Some(Write::Update {
        key: Key::new(pk, sk),
        update: Update::default().set(attr::GSI1PK, crate::keys::HOUSEHOLDS).set(attr::GSI1SK, household.id.to_string()),
        condition: Some(Condition::Exists),
    }))
}

/// For a table written before the billing history moved below the profile (`portal migrate`):
/// the transaction that moves an invoice or payment `item` to its key now, or `None` when it is
/// not such an item. The item is put at its new key on condition nothing is there, and deleted
/// from the old on condition it is still as read (its version, and an invoice's money figures,
/// which payments change without a version), so a payment that changed it meanwhile is never
/// lost: the transaction fails and the next run moves it.
pub fn move_ledger_item(item: &Item) -> Option<Vec<Write>> {
    let old = Key::of(item)?;
    let sk = crate::keys::ledger_sk(&old.sk)?;
    let mut moved = item.clone();
    moved.insert(attr::SK.into(), Value::S(sk.clone()));
    // A pending payment is listed for `portal reconcile` under its sort key.
    if moved.get(attr::GSI1PK).and_then(Value::as_str) == Some(PENDING_PAYMENTS) {
        moved.insert(attr::GSI1SK.into(), Value::S(sk));
    }
    let unchanged: Vec<Condition> = [attr::VERSION, PAID, PENDING, AVAILABLE]
        .iter()
        .filter_map(|name| item.get(*name).map(|value| Condition::Equals((*name).into(), value.clone())))
        .collect();
    let unchanged = if unchanged.is_empty() { Condition::Exists } else { Condition::All(unchanged) };
    Some(vec![Write::Put { item: moved, condition: Some(Condition::NotExists) }, Write::Delete { key: old, condition: Some(unchanged) }])
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

/// An invoice with every payment applied to it, copied beside it and said complete (`applied`):
/// what the import puts.
pub fn put_invoice_with(invoice: &Invoice, payments: &[&Payment]) -> Result<Vec<Write>, StoreError> {
    let mut writes = vec![put_invoice(invoice)?];
    writes.extend(applied::copies(invoice.account(), invoice.id(), payments, true)?);
    Ok(writes)
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
    /// Every part's (payment, invoice) keys, the first part first. A record written before the
    /// billing history moved below the profile names the keys it had then; they are read as now.
    pub fn parts(&self) -> Vec<(Key, Key)> {
        let now = |sk: &String| crate::keys::ledger_sk(sk).unwrap_or_else(|| sk.clone());
        self.keys(now)
    }

    /// The keys as the record names them: where a household not yet migrated still keeps them.
    pub fn parts_as_written(&self) -> Vec<(Key, Key)> {
        self.keys(String::clone)
    }

    fn keys(&self, sk: impl Fn(&String) -> String) -> Vec<(Key, Key)> {
        let pk = &self.payment_pk;
        std::iter::once((&self.payment_sk, &self.invoice_sk))
            .chain(self.more.iter().map(|p| (&p.payment_sk, &p.invoice_sk)))
            .map(|(payment, invoice)| (Key::new(pk.clone(), sk(payment)), Key::new(pk.clone(), sk(invoice))))
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
