//! A household's invoices and payments as stored: figures, lists and statements, decoded only as
//! far as a page needs.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, Utc};

use super::*;
use crate::ports::{attr, Item, Value};
use crate::{Invoice, InvoiceFigures, InvoiceId, Money, Payment, PaymentId, PaymentStatus, StoreError};

/// A household's invoices and payments as stored, newest first, decoded only as far as a page
/// needs: years of history are hundreds of items, and a page shows a few of them. The sort keys
/// carry each one's date and id; the attributes beside the JSON carry the figures that totals,
/// statuses and balances need. Items written before those attributes existed are decoded instead.
#[derive(Debug, Clone, Default)]
pub struct Ledger {
    pub(super) invoices: Vec<Arc<Item>>,
    pub(super) payments: Vec<Arc<Item>>,
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
        self.statement_after(crate::Balance::ZERO, from, to, date_of)
    }

    /// As [`Ledger::statement`], for a ledger that holds only the items from some point on:
    /// `before` is the balance of everything before them (`store::statement`).
    pub fn statement_after(
        &self,
        before: crate::Balance,
        from: NaiveDate,
        to: NaiveDate,
        date_of: impl Fn(DateTime<Utc>) -> NaiveDate,
    ) -> Result<crate::statement::Statement, StoreError> {
        use crate::statement::{Activity, ActivityKind};
        let mut opening = before;
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
            if let (false, Some(number)) = (numbers.contains_key(id), &payment.invoice_number) {
                numbers.insert(id.to_owned(), number.clone());
            }
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

impl Ledger {
    /// The receipt entries of every payment that went through, each naming its invoice's number
    /// and issue date (from the invoice, for a payment recorded before payments kept them).
    pub fn receipts(&self) -> Result<Vec<crate::receipts::Cleared>, StoreError> {
        let mut cleared = Vec::new();
        for payment in self.payments()? {
            let Some(mut entry) = crate::receipts::Cleared::of(&payment) else { continue };
            if entry.number.is_none() || entry.issued.is_none() {
                if let Some(invoice) = self.invoice(&payment.invoice)? {
                    entry.number = Some(invoice.number().to_owned());
                    entry.issued = Some(invoice.issued());
                }
            }
            cleared.push(entry);
        }
        Ok(cleared)
    }

    /// For payments recorded before payments kept their invoice's number and issue date, and a
    /// batch's parts their count (`portal migrate`): each such payment rewritten with them (and
    /// its copy beside the invoice), on condition it is still the version read.
    pub fn name_payments(&self) -> Result<Vec<Vec<Write>>, StoreError> {
        let payments = self.payments()?;
        let mut writes = Vec::new();
        for payment in payments.iter().cloned() {
            let parts = match &payment.batch {
                Some(batch) => u32::try_from(payments.iter().filter(|p| p.batch.as_ref() == Some(batch)).count()).ok(),
                None => None,
            };
            if payment.invoice_number.is_some() && payment.invoice_issued.is_some() && payment.parts == parts {
                continue;
            }
            let Some(invoice) = self.invoice(&payment.invoice)? else { continue };
            let version = payment.version;
            let named =
                Payment { invoice_number: Some(invoice.number().to_owned()), invoice_issued: Some(invoice.issued()), parts, ..payment };
            writes.push(super::record_payment(&named, Some(version))?.to_vec());
        }
        Ok(writes)
    }
}

/// The account statement for `from..=to` on `today`, reading its period alone: for a recent
/// period the household's totals and its figures by month from the year of the month before its
/// first on, for an
/// older one its figures by month through `from`'s year (`balances`), the invoices issued from the first of `from`'s month
/// through `to`, and the payments made from the first of the month before through two days after
/// `to` (a payment's key is its UTC instant, its statement date the practice's day). `None` when
/// the figures do not yet count the household's whole history: the caller reads it whole.
pub async fn statement(
    table: &dyn crate::Table,
    account: &crate::AccountId,
    from: NaiveDate,
    to: NaiveDate,
    today: NaiveDate,
    date_of: impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Result<Option<crate::statement::Statement>, StoreError> {
    use chrono::Datelike;
    let (charges_before, payments_before) = super::balances::reads_from(from);
    // A recent period: the totals less the months since (a few small items, however long the
    // history); an older one, the months before it.
    let recent = if super::balances::reads_recent(payments_before, today) {
        super::balances::recent(table, account, payments_before.0).await?.and_then(|r| r.opening(charges_before, payments_before))
    } else {
        None
    };
    let before = match recent {
        Some(before) => before,
        None => match super::balances::through(table, account, from.year()).await? {
            Some(figures) => figures.opening(charges_before, payments_before),
            None => return Ok(None),
        },
    };
    let pk = account_pk(account);
    let (first, last) = crate::keys::invoices_issued(super::balances::first_day(charges_before), to);
    let invoices = table.query_range(&pk, &first, &last).await?;
    let (first, last) = crate::keys::payments_made(super::balances::payments_read_from(from), super::balances::payments_read_to(to));
    let payments = table.query_range(&pk, &first, &last).await?;
    Ledger { invoices, payments }.statement_after(before, from, to, date_of).map(Some)
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

/// The issue date in an invoice's sort key (`#INVOICE#{issued}#{id}`, or the earlier `INVOICE#…`).
fn issued_in_key(item: &Item) -> Option<NaiveDate> {
    item.get(attr::SK).and_then(Value::as_str).and_then(|sk| crate::keys::after_ledger_prefix(sk, crate::keys::INVOICE)).and_then(date_at)
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

/// The instant in a payment's sort key (`!PAYMENT#{time}#{id}`, or the earlier `PAYMENT#…`).
fn paid_at_in_key(item: &Item) -> Option<DateTime<Utc>> {
    time_at(crate::keys::after_ledger_prefix(item.get(attr::SK).and_then(Value::as_str)?, crate::keys::PAYMENT)?)
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
    use crate::ports::{MockTable, Write};
    use crate::statement::{statement, Activity, ActivityKind};
    use crate::InvoiceData;
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
        crate::testing::invoice(&format!("inv-{n}"), "a1", &format!("INV-{n}"), day(n), day(n + 14), cents, paid, pending, void)
    }

    fn payment(id: &str, on: &Invoice, cents: i64, at: DateTime<Utc>, status: PaymentStatus) -> Payment {
        crate::testing::card_payment(id, on, cents, at, status)
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
