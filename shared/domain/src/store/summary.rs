//! The summary of a household's open invoices: one item (`keys::SUMMARY_SK`) just below the
//! household's record, with each invoice that has a balance as two attributes, `o#{id}` (its
//! issue and due dates, total and number, which never change) and `p#{id}` (what has been paid on
//! it). The invoice list reads it with the household and the newest invoices in one Query, so the
//! total due, what is past due and the unpaid invoices cost the same in a household's first
//! month and in its twentieth year: they follow the open invoices, not the history.
//!
//! Its writers: whatever puts an invoice (the import, the demo) sets or removes the invoice's
//! entry ([`entry`]), in the same transaction; a payment that goes through adds its amount in the
//! transaction that settles it ([`paid`]); and an entry paid in full is removed after
//! ([`prune`]). Reserving and releasing move `pending`, which the balance does not count. The
//! writers call [`entry`] and [`paid`] through `store::count_invoice` and `store::count_paid`,
//! which add the same changes to the household's figures by month (`store::balances`).

use std::collections::BTreeSet;

use chrono::NaiveDate;

use crate::ports::{attr, Condition, Item, Table, Update, Value, Write};
use crate::{AccountId, Invoice, InvoiceFigures, InvoiceId, Money, Payment, PaymentStatus, StoreError};

const OPEN: &str = "o#";
const PAID_ON: &str = "p#";

/// One open invoice as the list shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenInvoice {
    pub id: InvoiceId,
    pub number: String,
    pub issued: NaiveDate,
    pub due: NaiveDate,
    pub total: Money,
    pub paid: Money,
}

impl OpenInvoice {
    /// Its figures (`pending` is not kept: the balance and status do not count it).
    pub fn figures(&self) -> InvoiceFigures {
        InvoiceFigures { total: self.total, paid: self.paid, pending: Money::ZERO, due: self.due, void: false }
    }
}

/// The household's open invoices, newest first (by issue date, then id, as the keys sort).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub open: Vec<OpenInvoice>,
}

impl Summary {
    /// Reads the summary item. Entries paid in full (not yet pruned) and attributes that cannot be
    /// read are left out.
    pub fn of_item(item: &Item) -> Summary {
        let mut open = Vec::new();
        for (name, value) in item {
            let Some(id) = name.strip_prefix(OPEN) else { continue };
            let (Some(text), Ok(id)) = (value.as_str(), InvoiceId::parse(id)) else { continue };
            let mut parts = text.splitn(4, '|');
            let (Some(issued), Some(due), Some(total), Some(number)) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Ok(issued), Ok(due), Ok(total)) = (issued.parse(), due.parse(), Money::parse(total)) else { continue };
            let paid =
                item.get(&format!("{PAID_ON}{id}")).and_then(Value::as_number).and_then(|n| Money::try_from(n).ok()).unwrap_or_default();
            if paid < total {
                open.push(OpenInvoice { id, number: number.to_owned(), issued, due, total, paid });
            }
        }
        open.sort_by(|a, b| (b.issued, b.id.as_str()).cmp(&(a.issued, a.id.as_str())));
        Summary { open }
    }

    /// The summary `invoices` make: each with a balance, newest first (a table written before
    /// the summary existed, and the rule the kept summary must agree with).
    pub fn of_invoices(invoices: &[Invoice]) -> Summary {
        let mut open: Vec<OpenInvoice> = invoices
            .iter()
            .filter(|i| !i.balance().is_zero())
            .map(|i| OpenInvoice {
                id: i.id().clone(),
                number: i.number().to_owned(),
                issued: i.issued(),
                due: i.due(),
                total: i.total(),
                paid: i.paid(),
            })
            .collect();
        open.sort_by(|a, b| (b.issued, b.id.as_str()).cmp(&(a.issued, a.id.as_str())));
        Summary { open }
    }

    /// What the household owes on all its invoices.
    pub fn total_due(&self) -> Money {
        self.open.iter().map(|o| o.figures().balance()).sum()
    }

    /// What it owes on invoices whose due date has passed.
    pub fn past_due(&self, today: NaiveDate) -> Money {
        self.open.iter().filter(|o| today > o.due).map(|o| o.figures().balance()).sum()
    }

    pub fn is_open(&self, id: &InvoiceId) -> bool {
        self.open.iter().any(|o| &o.id == id)
    }
}

/// The write that makes the summary agree with `invoice` as it is put: its entry while it has a
/// balance, none once it is paid in full or void.
pub fn entry(invoice: &Invoice) -> Write {
    let id = invoice.id();
    let update = if invoice.balance().is_zero() {
        Update::default().remove(&format!("{OPEN}{id}")).remove(&format!("{PAID_ON}{id}"))
    } else {
        let text = format!("{}|{}|{}|{}", invoice.issued(), invoice.due(), invoice.total().amount(), invoice.number());
        Update::default().set(&format!("{OPEN}{id}"), text).set(&format!("{PAID_ON}{id}"), invoice.paid().amount())
    };
    Write::Upsert { key: crate::keys::summary_key(invoice.account()), update: update.set(super::TYPE, KIND) }
}

/// The summary's `type`, set by every write so that even a summary with nothing open exists
/// once its household has had an invoice.
const KIND: &str = "summary";

/// For a table written before households kept a summary (`portal migrate`): the writes that
/// make `account`'s summary agree with `invoices` as read, each entry on condition its invoice
/// still has the paid figure read (a payment meanwhile fails it, and the next run writes it).
/// `existing` is the summary item if there is one; entries it already has are left alone.
pub fn backfill(account: &AccountId, invoices: &[Invoice], existing: Option<&Item>) -> Vec<Vec<Write>> {
    let key = crate::keys::summary_key(account);
    let has = |id: &InvoiceId| existing.is_some_and(|item| item.contains_key(&format!("{OPEN}{id}")));
    let mut groups: Vec<Vec<Write>> = invoices
        .iter()
        .filter(|i| !i.balance().is_zero() && !has(i.id()))
        .map(|invoice| {
            let paid_as_read = Condition::Equals(super::PAID.into(), Value::N(invoice.paid().amount()));
            vec![Write::Check { key: crate::keys::invoice_key(invoice), condition: paid_as_read }, entry(invoice)]
        })
        .collect();
    if existing.is_none() && groups.is_empty() {
        groups.push(vec![Write::Upsert { key, update: Update::default().set(super::TYPE, KIND) }]);
    }
    groups
}

/// The write that counts the payments among `settled` that went through (the parts of one
/// charge, each on its own invoice of one household), in the transaction that settles them;
/// `None` when none did.
pub fn paid<'a>(settled: impl IntoIterator<Item = &'a Payment>) -> Option<Write> {
    let mut account = None;
    let mut update = Update::default();
    for payment in settled.into_iter().filter(|p| p.status == PaymentStatus::Succeeded) {
        account = Some(crate::keys::summary_key(&payment.account));
        update = update.add(&format!("{PAID_ON}{}", payment.invoice), payment.amount.amount());
    }
    account.map(|key| Write::Upsert { key, update: update.set(super::TYPE, KIND) })
}

/// After payments went through: [`prune`], a failure logged (the list skips what it would remove).
pub async fn prune_after_paying(table: &dyn Table, account: &AccountId) {
    if let Err(e) = prune(table, account).await {
        tracing::warn!(error = %e, "the summary of open invoices was not pruned");
    }
}

/// Removes the entries of invoices paid in full (and a paid figure left without its invoice),
/// each on condition its paid figure is still the one read. Run after a payment settles; a
/// failure leaves an entry the list already skips.
pub async fn prune(table: &dyn Table, account: &AccountId) -> Result<usize, StoreError> {
    let key = crate::keys::summary_key(account);
    let Some(item) = table.get(&key).await? else { return Ok(0) };
    let still_open = Summary::of_item(&item);
    let closed: BTreeSet<&str> = item
        .keys()
        .filter_map(|name| name.strip_prefix(OPEN).or_else(|| name.strip_prefix(PAID_ON)))
        .filter(|id| !still_open.open.iter().any(|o| o.id.as_str() == *id))
        .collect();
    let mut pruned = 0;
    for id in closed {
        let (open_name, paid_name) = (format!("{OPEN}{id}"), format!("{PAID_ON}{id}"));
        // Both as read: an import that reopened the invoice meanwhile keeps its entry.
        let as_read: Vec<Condition> = [&open_name, &paid_name]
            .iter()
            .filter_map(|name| item.get(*name).map(|v| Condition::Equals((*name).clone(), v.clone())))
            .collect();
        let condition = if as_read.is_empty() { Condition::Exists } else { Condition::All(as_read) };
        let update = Update::default().remove(&open_name).remove(&paid_name);
        match table.write(Write::Update { key: key.clone(), update, condition: Some(condition) }).await {
            Ok(()) => pruned += 1,
            Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(pruned)
}

/// Whether an item is a summary (the partition's other items are told by [`crate::keys::AccountItem`]).
pub fn is_summary(item: &Item) -> bool {
    item.get(attr::SK).and_then(Value::as_str) == Some(crate::keys::SUMMARY_SK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap()
    }

    fn invoice(id: &str, issued: u32, due: u32, cents: i64, paid: i64, void: bool) -> Invoice {
        crate::testing::invoice(id, "lopez", &format!("INV|{id}"), day(issued), day(due), cents, paid, 0, void)
    }

    fn payment(invoice_id: &str, cents: i64, status: PaymentStatus) -> Payment {
        let on = invoice(invoice_id, 1, 10, 10_000, 0, false);
        crate::testing::card_payment(&format!("pay-{invoice_id}"), &on, cents, DateTime::from_timestamp(1_790_000_000, 0).unwrap(), status)
    }

    /// The summary item the writes make, applied in order to nothing.
    fn applied(writes: &[Write]) -> Item {
        let mut item = Item::new();
        for write in writes {
            match write {
                Write::Upsert { update, .. } => update.apply_to(&mut item),
                other => panic!("not an upsert: {other:?}"),
            }
        }
        item
    }

    #[test]
    fn the_kept_summary_is_what_the_invoices_make() {
        let invoices = [
            invoice("a", 1, 10, 10_000, 2_500, false),
            invoice("b", 3, 20, 5_000, 0, false),
            invoice("c", 2, 12, 4_000, 4_000, false),
            invoice("d", 4, 30, 9_000, 0, true),
        ];
        let item = applied(&invoices.iter().map(entry).collect::<Vec<_>>());
        let summary = Summary::of_item(&item);
        assert_eq!(summary, Summary::of_invoices(&invoices));
        // Newest first; paid in full and void are not open; a number may hold the separator.
        assert_eq!(summary.open.iter().map(|o| o.id.as_str()).collect::<Vec<_>>(), ["b", "a"]);
        assert_eq!(summary.open[1].number, "INV|a");
        assert_eq!(summary.total_due(), Money::from_cents(12_500));
        assert_eq!(summary.past_due(day(15)), Money::from_cents(7_500), "only a is past its due date");
        assert_eq!(summary.past_due(day(10)), Money::ZERO, "due today is not past due");
        assert!(item.keys().all(|k| !k.ends_with("#c") && !k.ends_with("#d")));
    }

    #[test]
    fn payments_that_went_through_count_once_in_one_write() {
        let parts = [payment("a", 7_500, PaymentStatus::Succeeded), payment("b", 1_000, PaymentStatus::Succeeded)];
        let Some(Write::Upsert { key, update }) = paid(&parts) else { panic!("one upsert") };
        assert_eq!(key, crate::keys::summary_key(&AccountId::parse("lopez").unwrap()));
        assert_eq!(
            update.add,
            [("p#a".to_owned(), Money::from_cents(7_500).amount()), ("p#b".to_owned(), Money::from_cents(1_000).amount())]
        );
        assert!(paid(&[payment("a", 100, PaymentStatus::Pending), payment("b", 100, PaymentStatus::Declined("no".into()))]).is_none());
        // Paid in full: the summary no longer lists it (and `prune` may take its attributes away).
        let a = invoice("a", 1, 10, 10_000, 2_500, false);
        let item = applied(&[entry(&a), paid(&parts[..1]).unwrap()]);
        assert!(Summary::of_item(&item).open.is_empty());
    }

    #[test]
    fn unreadable_entries_are_left_out() {
        let mut item = applied(&[entry(&invoice("a", 1, 10, 10_000, 0, false))]);
        item.insert("o#bad id".into(), Value::S("2026-11-01|2026-11-10|10.00|X".into()));
        item.insert("o#b".into(), Value::S("not|a|summary".into()));
        item.insert("o#c".into(), Value::N(rust_decimal::Decimal::ONE));
        assert_eq!(Summary::of_item(&item).open.len(), 1);
    }

    #[test]
    fn the_backfill_writes_what_is_missing_on_condition_nothing_was_paid_meanwhile() {
        let account = AccountId::parse("lopez").unwrap();
        let (a, b, paid_up) =
            (invoice("a", 1, 10, 10_000, 0, false), invoice("b", 3, 20, 5_000, 0, false), invoice("c", 2, 12, 4_000, 4_000, false));
        let existing = applied(&[entry(&a)]);
        let groups = backfill(&account, &[a.clone(), b.clone(), paid_up.clone()], Some(&existing));
        assert_eq!(groups.len(), 1, "only b is missing: {groups:?}");
        assert!(
            matches!(&groups[0][0], Write::Check { key, condition: Condition::Equals(name, _) } if *key == crate::keys::invoice_key(&b) && name == super::super::PAID)
        );
        // A household with nothing open still gets its summary, so the list knows it has one.
        let empty = backfill(&account, &[paid_up], None);
        assert!(matches!(&empty[..], [group] if matches!(group[..], [Write::Upsert { .. }])));
        assert!(backfill(&account, &[], Some(&existing)).is_empty());
    }
}
