//! What an invoice's page reads, by key, in one request: the household's record (who handles its
//! billing, the bill-to name and address, and its members' names, `n#{member}`), the invoice
//! (`#INVOICE#{issued}#{id}`: its links carry the issue date, `?issued=`), and the copies of the
//! payments applied to it (`#APPLIED#{invoice}`, one attribute `y#{payment}` each, the payment as
//! stored). So the page costs the same whatever the years of history beside it.
//!
//! Every write of a payment writes its copy in the same transaction ([`record_payment`], and the
//! import's [`copies`]); the invoice item says its copies are complete (`applied`), which the
//! import sets when it puts the invoice with them and `portal migrate` sets for invoices written
//! before ([`backfill`]). Without it, or without a name the page needs, the page reads the
//! household whole as before.

use std::collections::BTreeMap;

use chrono::NaiveDate;

use super::*;
use crate::ports::{attr, Condition, Item, Table, Update, Value, Write};
use crate::{AccountId, Household, Invoice, InvoiceId, Member, MemberId, Payment, StoreError};

/// On an invoice item: the copies of its payments are complete.
pub const APPLIED: &str = "applied";
const COPY: &str = "y#";
const KIND: &str = "applied";
/// On the household's record: a member's full name (`n#{member}`).
const NAME: &str = "n#";

fn copy_attr(payment: &Payment) -> String {
    format!("{COPY}{}", payment.id)
}

/// The write that copies `payments`, all of one invoice, beside it (`None` for none).
pub fn copies(payments: &[&Payment]) -> Result<Option<Write>, StoreError> {
    let Some(first) = payments.first() else { return Ok(None) };
    let mut update = Update::default().set(super::TYPE, KIND);
    for payment in payments {
        let json = serde_json::to_string(payment).map_err(|e| StoreError::Malformed(format!("payment copy: {e}")))?;
        update = update.set(&copy_attr(payment), json);
    }
    Ok(Some(Write::Upsert { key: crate::keys::applied_key(&first.account, &first.invoice), update }))
}

/// A payment written, new (`version: None`) or replacing the one stored at `version`, with its
/// copy beside its invoice: every change of a payment in the portal goes through here.
pub fn record_payment(payment: &Payment, version: Option<u64>) -> Result<[Write; 2], StoreError> {
    let write = match version {
        None => put_payment(payment)?,
        Some(version) => replace_payment(payment, version)?,
    };
    let copy = copies(&[payment])?.ok_or_else(|| StoreError::Malformed("a payment's copy".into()))?;
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
    let (Some(Some(household_item)), Some(Some(invoice_item)), Some(applied)) = (found.next(), found.next(), found.next()) else {
        return Ok(None);
    };
    if !matches!(invoice_item.get(APPLIED), Some(Value::Bool(true))) {
        return Ok(None);
    }
    let household = super::household::household_of(&household_item)?;
    let names = names_of(&household_item);
    let invoice = invoice_of(&invoice_item)?;
    let needed = std::iter::once(&household.owner).chain(invoice.lines().iter().filter_map(|l| l.member.as_ref()));
    if needed.into_iter().any(|m| !names.contains_key(m)) {
        return Ok(None);
    }
    let mut payments = Vec::new();
    for (name, value) in applied.iter().flatten() {
        if let (Some(_), Some(json)) = (name.strip_prefix(COPY), value.as_str()) {
            let payment: Payment = serde_json::from_str(json).map_err(|e| StoreError::Malformed(format!("payment copy: {e}")))?;
            payments.push(payment);
        }
    }
    payments.sort_by(|a, b| (a.at, a.id.as_str()).cmp(&(b.at, b.id.as_str())));
    Ok(Some(InvoicePage { household, names, invoice, payments }))
}

/// For a table written before invoices kept copies of their payments (`portal migrate`): for each
/// invoice without them, a transaction that copies its payments as read and marks it, on
/// condition that neither the invoice's money figures nor any of those payments changed since
/// (a payment made meanwhile fails it, and the next run copies it as it is then).
pub fn backfill(ledger: &Ledger) -> Result<Vec<Vec<Write>>, StoreError> {
    let mut groups = Vec::new();
    for item in &ledger.invoices {
        if matches!(item.get(APPLIED), Some(Value::Bool(true))) {
            continue;
        }
        let Some(key) = crate::ports::Key::of(item) else { continue };
        if crate::keys::ledger_sk(&key.sk).is_some() {
            // Not moved yet (the migration moves it first).
            continue;
        }
        let invoice = invoice_of(item)?;
        let payments = ledger.payments_for(invoice.id())?;
        let mut group: Vec<Write> = payments
            .iter()
            .map(|p| Write::Check {
                key: crate::keys::payment_key(p),
                condition: Condition::Equals(attr::VERSION.into(), Value::from(p.version)),
            })
            .collect();
        group.extend(copies(&payments.iter().collect::<Vec<_>>())?);
        let as_read = Condition::All(vec![
            Condition::Equals(PAID.into(), Value::N(invoice.paid().amount())),
            Condition::Equals(PENDING.into(), Value::N(invoice.pending().amount())),
        ]);
        group.push(Write::Update { key, update: Update::default().set(APPLIED, true), condition: Some(as_read) });
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
        assert!(copies(&[]).unwrap().is_none());
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
