//! What an invoice's page reads, by key, in one request: the household's record (who handles its
//! billing, the bill-to name and address, and its members' names, `n#{member}`), the invoice
//! (`#INVOICE#{issued}#{id}`: its links carry the issue date, `?issued=`), and the copies of the
//! payments applied to it (`#APPLIED#{invoice}`, one attribute `y#{payment}` each, the payment as
//! stored). So the page costs the same whatever the years of history beside it.
//!
//! Every write of a payment writes its copy in the same transaction ([`record_payment`]). The
//! copies say they are complete (`complete`) once every payment on the invoice was copied: the
//! import writes that with the invoice and all its payments ([`copies`]), and `portal migrate`
//! for invoices written before ([`backfill`]). Without it, or without a name the page needs, the
//! page reads the household whole as before.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::*;
use crate::ports::{attr, Condition, Item, Table, Update, Value, Write};
use crate::{AccountId, Household, Invoice, InvoiceId, Member, MemberId, Payment, StoreError};

/// On an invoice's copies: every payment on it is copied.
pub const COMPLETE: &str = "complete";
const COPY: &str = "y#";
const KIND: &str = "applied";
/// On the household's record: a member's full name (`n#{member}`).
const NAME: &str = "n#";

fn copy_attr(payment: &Payment) -> String {
    format!("{COPY}{}", payment.id)
}

/// The write that copies `payments` beside `invoice`, all of its own; `complete` when they are
/// every payment on it (then written even for none). `None` when there is nothing to write.
pub fn copies(account: &AccountId, invoice: &InvoiceId, payments: &[&Payment], complete: bool) -> Result<Option<Write>, StoreError> {
    if payments.is_empty() && !complete {
        return Ok(None);
    }
    let mut update = Update::default().set(super::TYPE, KIND);
    for payment in payments {
        let json = serde_json::to_string(payment).map_err(|e| StoreError::Malformed(format!("payment copy: {e}")))?;
        update = update.set(&copy_attr(payment), json);
    }
    if complete {
        update = update.set(COMPLETE, true);
    }
    Ok(Some(Write::Upsert { key: crate::keys::applied_key(account, invoice), update }))
}

/// The copies of `payments` (new ones, of one invoice) without saying anything of the others.
pub fn more_copies(payments: &[&Payment]) -> Result<Option<Write>, StoreError> {
    match payments.first() {
        Some(first) => copies(&first.account, &first.invoice, payments, false),
        None => Ok(None),
    }
}

/// A payment written, new (`version: None`) or replacing the one stored at `version`, with its
/// copy beside its invoice: every change of a payment in the portal goes through here.
pub fn record_payment(payment: &Payment, version: Option<u64>) -> Result<[Write; 2], StoreError> {
    let write = match version {
        None => put_payment(payment)?,
        Some(version) => replace_payment(payment, version)?,
    };
    let copy = more_copies(&[payment])?.ok_or_else(|| StoreError::Malformed("a payment's copy".into()))?;
    Ok([write, copy])
}

/// The update of the household's record that names `members` (their full names as the invoice
/// page shows them).
pub fn name_members<'a>(update: Update, members: impl IntoIterator<Item = &'a Member>) -> Update {
    members.into_iter().fold(update, |update, m| update.set(&format!("{NAME}{}", m.id), m.full_name()))
}

/// The members' names on a household's record.
pub fn names_of(item: &Item) -> BTreeMap<MemberId, String> {
    item.iter().filter_map(|(name, value)| Some((MemberId::parse(name.strip_prefix(NAME)?).ok()?, value.as_str()?.to_owned()))).collect()
}

/// One invoice with what its page shows.
#[derive(Debug, Clone)]
pub struct InvoicePage {
    pub household: Household,
    /// The full names of the household's members, by id.
    pub names: BTreeMap<MemberId, String>,
    pub invoice: Invoice,
    /// The payments applied to it, oldest first.
    pub payments: Vec<Payment>,
}

/// The invoice `id` issued on `issued`, with the household's record and its payments, in one
/// request. `None` when any of them is not there or not complete (an invoice written before its
/// payments were copied, a name the page needs missing): the caller reads the household whole.
pub async fn invoice_page(
    table: &dyn Table,
    account: &AccountId,
    id: &InvoiceId,
    issued: NaiveDate,
) -> Result<Option<InvoicePage>, StoreError> {
    let keys = [household_key(account), crate::keys::invoice_key_of(account, id, issued), crate::keys::applied_key(account, id)];
    let mut found = table.get_many(&keys).await?.into_iter();
    let (Some(Some(household_item)), Some(Some(invoice_item)), Some(Some(applied))) = (found.next(), found.next(), found.next()) else {
        return Ok(None);
    };
    if !is_complete(&applied) {
        return Ok(None);
    }
    let household = super::household::household_of(&household_item)?;
    let names = names_of(&household_item);
    let invoice = invoice_of(&invoice_item)?;
    if !names_everyone(&household, &names, [&invoice]) {
        return Ok(None);
    }
    let mut payments = copies_in(&applied)?;
    payments.sort_by(|a, b| (a.at, a.id.as_str()).cmp(&(b.at, b.id.as_str())));
    Ok(Some(InvoicePage { household, names, invoice, payments }))
}

/// A payment with its parts, their invoices and every payment on those invoices (what a receipt
/// itemizes), read by key.
#[derive(Debug, Clone)]
pub struct PaymentRead {
    pub household: Household,
    /// The full names of the household's members, by id.
    pub names: BTreeMap<MemberId, String>,
    /// The parts, the batch's first part first, each with its invoice as it stands.
    pub parts: Vec<(Payment, Invoice)>,
    /// Every payment on the parts' invoices, oldest first.
    pub on_invoices: Vec<Payment>,
}

/// How many invoices a receipt's link names at most (`Route::receipt_link`); a payment of more
/// links without them, and its receipt reads the household whole.
pub const LINKED_INVOICES_AT_MOST: usize = 20;

/// The payment `id` (any of its parts) with all its parts, read by key in one request: the
/// household's record, and each of `invoices` (the parts' invoices, with their issue dates, as
/// the receipt's links name them) with the copies of its payments. `None` when anything is
/// missing or not complete (an invoice not named, copies written before they were complete, a
/// batch recorded before its parts were counted): the caller reads the household whole.
pub async fn payment_read(
    table: &dyn Table,
    account: &AccountId,
    id: &crate::PaymentId,
    invoices: &[(InvoiceId, NaiveDate)],
) -> Result<Option<PaymentRead>, StoreError> {
    if invoices.is_empty() || invoices.len() > LINKED_INVOICES_AT_MOST {
        return Ok(None);
    }
    let mut keys = vec![household_key(account)];
    for (invoice, issued) in invoices {
        keys.push(crate::keys::invoice_key_of(account, invoice, *issued));
        keys.push(crate::keys::applied_key(account, invoice));
    }
    let found = table.get_many(&keys).await?;
    let Some(Some(household_item)) = found.first() else { return Ok(None) };
    let Some((read_invoices, mut on_invoices)) = with_copies(&found[1..])? else { return Ok(None) };
    let Some(asked) = on_invoices.iter().find(|p| &p.id == id) else { return Ok(None) };
    let first = asked.batch.clone().unwrap_or_else(|| asked.id.clone());
    let expected = match (&asked.batch, asked.parts) {
        (None, _) => 1,
        (Some(_), Some(parts)) => parts as usize,
        (Some(_), None) => return Ok(None),
    };
    let mut parts: Vec<(Payment, Invoice)> = Vec::new();
    for payment in on_invoices.iter().filter(|p| p.id == first || p.batch.as_ref() == Some(&first)) {
        let Some(invoice) = read_invoices.iter().find(|i| i.id() == &payment.invoice) else { return Ok(None) };
        parts.push((payment.clone(), invoice.clone()));
    }
    if parts.len() != expected {
        return Ok(None);
    }
    parts.sort_by(|(a, ai), (b, bi)| (a.id != first, ai.issued(), ai.number()).cmp(&(b.id != first, bi.issued(), bi.number())));
    on_invoices.sort_by(|a, b| (a.at, a.id.as_str()).cmp(&(b.at, b.id.as_str())));
    let household = super::household::household_of(household_item)?;
    let names = names_of(household_item);
    if !names_everyone(&household, &names, parts.iter().map(|(_, i)| i)) {
        return Ok(None);
    }
    Ok(Some(PaymentRead { household, names, parts, on_invoices }))
}

/// The invoices `invoices` names (with their issue dates) and every payment on them, from their
/// copies, by key (BatchGetItem, 50 invoices a request): what a year's summary of receipts reads.
/// `None` when any is missing or its copies are not complete (the caller reads the household whole).
pub async fn invoices_with_payments(
    table: &dyn Table,
    account: &AccountId,
    invoices: &[(InvoiceId, NaiveDate)],
) -> Result<Option<WithPayments>, StoreError> {
    let keys: Vec<_> = invoices
        .iter()
        .flat_map(|(invoice, issued)| [crate::keys::invoice_key_of(account, invoice, *issued), crate::keys::applied_key(account, invoice)])
        .collect();
    with_copies(&table.get_many(&keys).await?)
}

/// Invoices and every payment on them, from their copies.
pub type WithPayments = (Vec<Invoice>, Vec<Payment>);

/// Invoices and the payments copied beside them, from items read in pairs (an invoice, then its
/// copies); `None` when any is missing or its copies are not complete.
fn with_copies(pairs: &[Option<Item>]) -> Result<Option<WithPayments>, StoreError> {
    let (mut invoices, mut payments) = (Vec::new(), Vec::new());
    for pair in pairs.chunks(2) {
        let [Some(invoice_item), Some(applied)] = pair else { return Ok(None) };
        if !is_complete(applied) {
            return Ok(None);
        }
        invoices.push(invoice_of(invoice_item)?);
        payments.extend(copies_in(applied)?);
    }
    Ok(Some((invoices, payments)))
}

/// Whether `names` has everyone a page about `invoices` names: the owner (the bill-to) and each
/// line's patient. A page by key without one reads the household whole.
fn names_everyone<'a>(household: &Household, names: &BTreeMap<MemberId, String>, invoices: impl IntoIterator<Item = &'a Invoice>) -> bool {
    let mut needed =
        std::iter::once(&household.owner).chain(invoices.into_iter().flat_map(|i| i.lines().iter().filter_map(|l| l.member.as_ref())));
    needed.all(|m| names.contains_key(m))
}

/// The payments copied in an invoice's copies item.
fn copies_in(applied: &Item) -> Result<Vec<Payment>, StoreError> {
    let mut payments = Vec::new();
    for (name, value) in applied {
        if let (Some(_), Some(json)) = (name.strip_prefix(COPY), value.as_str()) {
            payments.push(serde_json::from_str(json).map_err(|e| StoreError::Malformed(format!("payment copy: {e}")))?);
        }
    }
    Ok(payments)
}

fn is_complete(item: &Item) -> bool {
    matches!(item.get(COMPLETE), Some(Value::Bool(true)))
}

/// The invoices of `account` whose copies are complete (`portal migrate` leaves them alone).
pub async fn complete_invoices(table: &dyn Table, account: &AccountId) -> Result<std::collections::BTreeSet<String>, StoreError> {
    let items = table.query(&account_pk(account), crate::keys::APPLIED).await?;
    Ok(items
        .iter()
        .filter(|i| is_complete(i))
        .filter_map(|i| i.get(attr::SK).and_then(Value::as_str).and_then(|sk| sk.strip_prefix(crate::keys::APPLIED)).map(str::to_owned))
        .collect())
}

/// Payments of one invoice `portal migrate` and the import copy in one transaction with their
/// checks; an invoice with more keeps no complete copies (its page reads the household whole).
pub const COPIED_AT_ONCE: usize = 40;

/// For a table written before invoices kept copies of their payments (`portal migrate`): for each
/// invoice whose copies are not complete (`complete` from [`complete_invoices`]), a transaction
/// that copies its payments as read and says they are complete, on condition that none of them
/// changed since (a payment made meanwhile writes its own copy, and fails this; the next run
/// copies it as it is then).
pub fn backfill(ledger: &Ledger, complete: &std::collections::BTreeSet<String>) -> Result<Vec<Vec<Write>>, StoreError> {
    let mut groups = Vec::new();
    for item in &ledger.invoices {
        let Some(key) = crate::ports::Key::of(item) else { continue };
        if crate::keys::ledger_sk(&key.sk).is_some() {
            // Not moved yet (the migration moves it first).
            continue;
        }
        let invoice = invoice_of(item)?;
        if complete.contains(invoice.id().as_str()) {
            continue;
        }
        let payments = ledger.payments_for(invoice.id())?;
        if payments.len() > COPIED_AT_ONCE {
            continue;
        }
        let mut group: Vec<Write> = payments
            .iter()
            .map(|p| Write::Check {
                key: crate::keys::payment_key(p),
                condition: Condition::Equals(attr::VERSION.into(), Value::from(p.version)),
            })
            .collect();
        group.extend(copies(invoice.account(), invoice.id(), &payments.iter().collect::<Vec<_>>(), true)?);
        groups.push(group);
    }
    Ok(groups)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::card_payment;
    use crate::PaymentStatus;

    fn invoice() -> Invoice {
        let day = "2026-03-05".parse().unwrap();
        crate::testing::invoice("i1", "h1", "N-1", day, day, 8000, 0, 0, false)
    }

    #[test]
    fn a_payment_is_written_with_its_copy_beside_its_invoice() {
        let inv = invoice();
        let at = chrono::Utc::now();
        let p = card_payment("p1", &inv, 3000, at, PaymentStatus::Succeeded);
        let [write, copy] = record_payment(&p, Some(2)).unwrap();
        assert!(matches!(write, Write::Put { condition: Some(_), .. }), "replaces the version read");
        let Write::Upsert { key, update } = copy else { panic!("an upsert") };
        assert_eq!(key, crate::keys::applied_key(inv.account(), inv.id()));
        let mut item = Item::new();
        update.apply_to(&mut item);
        let copied: Payment = serde_json::from_str(item["y#p1"].as_str().unwrap()).unwrap();
        assert_eq!(copied, p);
        assert!(more_copies(&[]).unwrap().is_none());
        let Some(Write::Upsert { update, .. }) = copies(inv.account(), inv.id(), &[], true).unwrap() else { panic!("complete, with none") };
        let mut item = Item::new();
        update.apply_to(&mut item);
        assert!(is_complete(&item) && !item.keys().any(|k| k.starts_with("y#")));
    }

    #[test]
    fn members_are_named_on_the_household_record() {
        let mut item = Item::new();
        let member: Member = serde_json::from_value(serde_json::json!({
            "id": "maria", "account": "h1", "first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1985-09-14",
            "sex": "female", "relationship": "self", "email": null, "phones": {}, "address": null
        }))
        .unwrap();
        name_members(Update::default(), [&member]).apply_to(&mut item);
        item.insert("notes".into(), Value::S("not a name".into()));
        assert_eq!(names_of(&item), BTreeMap::from([(MemberId::parse("maria").unwrap(), "Maria Lopez".to_owned())]));
    }
}
