//! A household's charges and payments by month, so that a statement reads its period and not the
//! years before it. One item per year (`keys::balance_key`) holds each month's charges (`c01` …
//! `c12`: invoices by issue date, void ones not counted) and payments (`p01` … `p12`: payments that
//! went through, by the month of the instant they were made, in UTC as their keys sort). The
//! opening balance of a statement from `from` is then the charges of the months before `from`'s
//! and the payments of the months before the one before it, plus what the period's own reads find
//! between those bounds and `from` (`store::statement`).
//!
//! Its writers are the summary's (`store::summary`): whatever puts an invoice adds the change in
//! its charge, in the same transaction ([`invoice_put`]); a payment that goes through adds its
//! amount in the transaction that settles it ([`paid`]). Refunds and disputes do not change what
//! a statement counts, so they do not touch it.
//!
//! The figures are complete only from a household's first import on, or once `portal migrate` has
//! counted the history before (it writes them, checks them against a fresh read, and then
//! writes the marker [`kept`]). Without the marker a statement reads the whole history as before.
//!
//! After the year items, the totals of every month (`#BALANCE#TOTAL`: `c` and `p`) take each
//! change with them, in the same write. A recent statement's opening balance is then the totals
//! less the months from its own on ([`Recent`]): it reads the items from the year of the month
//! before its first (at most two years back, [`RECENT_YEARS`]) and the totals, however many
//! years lie before; the totals count their writes (`n`), so a read that a write came between is
//! read again. The totals say they count the whole history
//! (`kept`) from a household's first import on, or once `portal migrate` has checked them against
//! the months ([`backfill_totals`]).

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::ports::{attr, Condition, Item, Table, Update, Value, Write};
use crate::{AccountId, Balance, Invoice, Payment, PaymentStatus, StoreError};

const CHARGES: &str = "c";
const PAYMENTS: &str = "p";
const KIND: &str = "balances";
/// The `type` of the marker that says a household's figures count its whole history.
pub const KEPT_KIND: &str = "balances-kept";
/// The `type` of the totals, which also say when they count the whole history (`TOTALS_KEPT`).
pub const TOTALS_KIND: &str = "balances-totals";
const TOTALS_KEPT: &str = "kept";
/// On the totals: how many writes changed them, so a reader knows whether one came between its
/// reads (a Query sees a transaction committed while it runs in part).
const TOTALS_WRITES: &str = "n";

/// A calendar month, `(year, month)`.
pub type Month = (i32, u32);

fn month_of(day: NaiveDate) -> Month {
    (day.year(), day.month())
}

/// The month before `month`.
pub fn month_before((year, month): Month) -> Month {
    if month == 1 {
        (year - 1, 12)
    } else {
        (year, month - 1)
    }
}

/// The first day of `month`.
pub fn first_day((year, month): Month) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or(NaiveDate::MIN)
}

/// A change to one month's figures.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta {
    pub month: Month,
    pub charges: Decimal,
    pub payments: Decimal,
}

/// What putting `new` where `old` was changes: its charge (its total, unless void) leaves the
/// month it was issued in and comes back at its new figure (the practice may correct either).
pub fn invoice_put(old: Option<&Invoice>, new: &Invoice) -> Vec<Delta> {
    let charge = |i: &Invoice| if i.is_void() { Decimal::ZERO } else { i.total().amount() };
    let mut deltas = Vec::new();
    if let Some(old) = old {
        deltas.push(Delta { month: month_of(old.issued()), charges: -charge(old), payments: Decimal::ZERO });
    }
    deltas.push(Delta { month: month_of(new.issued()), charges: charge(new), payments: Decimal::ZERO });
    deltas
}

/// What payments that went through now add (any other status adds nothing).
pub fn paid<'a>(settled: impl IntoIterator<Item = &'a Payment>) -> Vec<Delta> {
    settled
        .into_iter()
        .filter(|p| p.status == PaymentStatus::Succeeded)
        .map(|p| Delta { month: utc_month(p.at), charges: Decimal::ZERO, payments: p.amount.amount() })
        .collect()
}

fn utc_month(at: DateTime<Utc>) -> Month {
    month_of(at.date_naive())
}

fn charges_attr(month: u32) -> String {
    format!("{CHARGES}{month:02}")
}

fn payments_attr(month: u32) -> String {
    format!("{PAYMENTS}{month:02}")
}

/// The writes that add `deltas` to `account`'s figures: one per year touched (a transaction
/// writes an item once), none for changes that cancel out.
pub fn writes(account: &AccountId, deltas: &[Delta]) -> Vec<Write> {
    let mut by_month: BTreeMap<Month, (Decimal, Decimal)> = BTreeMap::new();
    for d in deltas {
        let entry = by_month.entry(d.month).or_default();
        entry.0 += d.charges;
        entry.1 += d.payments;
    }
    let mut by_year: BTreeMap<i32, Update> = BTreeMap::new();
    let (mut all_charges, mut all_payments) = (Decimal::ZERO, Decimal::ZERO);
    for ((year, month), (charges, payments)) in by_month {
        if charges.is_zero() && payments.is_zero() {
            continue;
        }
        all_charges += charges;
        all_payments += payments;
        let mut update = by_year.remove(&year).unwrap_or_default();
        if !charges.is_zero() {
            update = update.add(&charges_attr(month), charges);
        }
        if !payments.is_zero() {
            update = update.add(&payments_attr(month), payments);
        }
        by_year.insert(year, update);
    }
    if by_year.is_empty() {
        return Vec::new();
    }
    let mut totals = Update::default().set(super::TYPE, TOTALS_KIND).add(TOTALS_WRITES, Decimal::ONE);
    for (name, amount) in [(CHARGES, all_charges), (PAYMENTS, all_payments)] {
        if !amount.is_zero() {
            totals = totals.add(name, amount);
        }
    }
    let mut writes: Vec<Write> = by_year
        .into_iter()
        .map(|(year, update)| Write::Upsert { key: crate::keys::balance_key(account, year), update: update.set(super::TYPE, KIND) })
        .collect();
    writes.push(Write::Upsert { key: crate::keys::balance_totals_key(account), update: totals });
    writes
}

/// Says `account`'s totals count its whole history (written after everything they count).
pub fn totals_kept(account: &AccountId) -> Write {
    let update = Update::default().set(super::TYPE, TOTALS_KIND).set(TOTALS_KEPT, true);
    Write::Upsert { key: crate::keys::balance_totals_key(account), update }
}

/// The figures from one year on, with the totals of every month: what a recent statement's
/// opening balance comes from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    from_year: i32,
    months: Balances,
    charges: Decimal,
    payments: Decimal,
}

impl Recent {
    /// As [`Balances::opening`]: the totals less the months from `charges_before` (charges) and
    /// from `payments_before` (payments) on. `None` when a month is before the year read from.
    pub fn opening(&self, charges_before: Month, payments_before: Month) -> Option<Balance> {
        if charges_before.0 < self.from_year || payments_before.0 < self.from_year {
            return None;
        }
        let charges: Decimal = self.months.months.range(charges_before..).map(|(_, (c, _))| *c).sum();
        let payments: Decimal = self.months.months.range(payments_before..).map(|(_, (_, p))| *p).sum();
        Some(Balance::of((self.charges - charges) - (self.payments - payments)))
    }
}

/// How many calendar years back a statement's first month may lie and still take its opening
/// balance from the totals ([`Recent`]): the years after it are then at most this many and this
/// year, while the years before it may be any number. Older statements add up the years before.
pub const RECENT_YEARS: i32 = 2;

/// Whether a statement whose opening balance needs the months before `payments_before` (the
/// earlier of its two bounds) takes it from the totals, on `today`.
pub fn reads_recent(payments_before: Month, today: NaiveDate) -> bool {
    payments_before.0 >= today.year() - RECENT_YEARS
}

/// How many times a reader reads again when a write came between its reads.
const READS: usize = 3;

/// The totals as read: their figures and how many writes changed them.
fn totals_of(item: &Item) -> (Decimal, Decimal, Option<Decimal>) {
    let figure = |name: &str| item.get(name).and_then(Value::as_number);
    (figure(CHARGES).unwrap_or_default(), figure(PAYMENTS).unwrap_or_default(), figure(TOTALS_WRITES))
}

fn is_totals(item: &Item) -> bool {
    item.get(super::TYPE).and_then(Value::as_str) == Some(TOTALS_KIND)
}

/// The year items from `year` on and the totals, if the totals count the whole history, as of one
/// moment: the totals are read first on their own (a GetItem sees a transaction whole), then with
/// the years in one Query; when a write came between (their count differs), read again.
pub async fn recent(table: &dyn Table, account: &AccountId, year: i32) -> Result<Option<Recent>, StoreError> {
    let (from, to) = crate::keys::balances_from(year);
    let pk = crate::keys::account_pk(account);
    for _ in 0..READS {
        let Some(first) = table.get(&crate::keys::balance_totals_key(account)).await? else { return Ok(None) };
        if !matches!(first.get(TOTALS_KEPT), Some(Value::Bool(true))) {
            return Ok(None);
        }
        let items = table.query_range(&pk, &from, &to).await?;
        let Some(totals) = items.iter().find(|i| is_totals(i)) else { return Ok(None) };
        let (charges, payments, writes) = totals_of(totals);
        if writes != totals_of(&first).2 {
            continue;
        }
        return Ok(Some(Recent { from_year: year, months: Balances::of_items(items.iter().map(|i| &**i)), charges, payments }));
    }
    Ok(None)
}

/// For a household whose totals do not yet count its whole history (`portal migrate`, once its
/// months do): adds what the months hold and the totals lack, reads both again, and says the
/// totals are kept once they agree, on condition no write came since. Every write of the months
/// adds the same to the totals, so a payment made meanwhile leaves the difference as it was.
pub async fn backfill_totals(table: &dyn Table, account: &AccountId) -> Result<Backfill, StoreError> {
    const ROUNDS: usize = 4;
    let pk = crate::keys::account_pk(account);
    let key = crate::keys::balance_totals_key(account);
    let (from, _) = crate::keys::balances_through(0);
    let (_, to) = crate::keys::balances_from(0);
    for _ in 0..ROUNDS {
        let first = table.get(&key).await?;
        if first.as_ref().is_some_and(|t| matches!(t.get(TOTALS_KEPT), Some(Value::Bool(true)))) {
            return Ok(Backfill::AlreadyKept);
        }
        let items = table.query_range(&pk, &from, &to).await?;
        if !items.iter().any(|i| i.get(super::TYPE).and_then(Value::as_str) == Some(KEPT_KIND)) {
            // The months do not count the history yet: nothing to check the totals against.
            return Ok(Backfill::StillChanging);
        }
        let totals = items.iter().find(|i| is_totals(i)).map(|t| totals_of(t));
        let writes = totals.and_then(|t| t.2);
        if writes != first.as_ref().and_then(|t| totals_of(t).2) {
            // A write came between the two reads: read again.
            continue;
        }
        let (charges, payments, _) = totals.unwrap_or_default();
        let months = Balances::of_items(items.iter().map(|i| &**i));
        let want_charges: Decimal = months.months.values().map(|(c, _)| *c).sum();
        let want_payments: Decimal = months.months.values().map(|(_, p)| *p).sum();
        let (lack_charges, lack_payments) = (want_charges - charges, want_payments - payments);
        match writes {
            Some(n) if lack_charges.is_zero() && lack_payments.is_zero() => {
                let kept = Update::default().set(TOTALS_KEPT, true);
                let condition = Some(Condition::Equals(TOTALS_WRITES.into(), Value::N(n)));
                match table.write(Write::Update { key: key.clone(), update: kept, condition }).await {
                    Ok(()) => return Ok(Backfill::Counted),
                    Err(StoreError::ConditionFailed) => continue,
                    Err(e) => return Err(e),
                }
            }
            _ => {
                let update = Update::default()
                    .set(super::TYPE, TOTALS_KIND)
                    .add(CHARGES, lack_charges)
                    .add(PAYMENTS, lack_payments)
                    .add(TOTALS_WRITES, Decimal::ONE);
                table.write(Write::Upsert { key: key.clone(), update }).await?;
            }
        }
    }
    Ok(Backfill::StillChanging)
}

/// The marker that says `account`'s figures count its whole history.
pub fn kept(account: &AccountId) -> Write {
    let mut item = Item::new();
    let key = crate::keys::balances_kept_key(account);
    item.insert(attr::PK.into(), Value::S(key.pk));
    item.insert(attr::SK.into(), Value::S(key.sk));
    item.insert(super::TYPE.into(), Value::S(KEPT_KIND.into()));
    Write::Put { item, condition: None }
}

/// A household's figures by month.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Balances {
    months: BTreeMap<Month, (Decimal, Decimal)>,
}

impl Balances {
    /// The figures `invoices` and `payments` make (what `portal migrate` writes, and the rule the
    /// kept figures must agree with).
    pub fn of_ledger(invoices: &[Invoice], payments: &[Payment]) -> Balances {
        let mut deltas: Vec<Delta> = invoices.iter().flat_map(|i| invoice_put(None, i)).collect();
        deltas.extend(paid(payments));
        let mut balances = Balances::default();
        for d in deltas {
            let entry = balances.months.entry(d.month).or_default();
            entry.0 += d.charges;
            entry.1 += d.payments;
        }
        balances.months.retain(|_, (c, p)| !(c.is_zero() && p.is_zero()));
        balances
    }

    /// The figures in year items as read (other items are left out).
    fn of_items<'a>(items: impl IntoIterator<Item = &'a Item>) -> Balances {
        let mut balances = Balances::default();
        for item in items {
            let Some(year) = item.get(attr::SK).and_then(Value::as_str).and_then(crate::keys::balance_year) else { continue };
            for month in 1..=12 {
                let figure = |name: String| item.get(&name).and_then(Value::as_number).unwrap_or_default();
                let (c, p) = (figure(charges_attr(month)), figure(payments_attr(month)));
                if !(c.is_zero() && p.is_zero()) {
                    balances.months.insert((year, month), (c, p));
                }
            }
        }
        balances
    }

    /// Charges of the months before `charges_before`, less payments of the months before
    /// `payments_before`.
    pub fn opening(&self, charges_before: Month, payments_before: Month) -> Balance {
        let charges: Decimal = self.months.range(..charges_before).map(|(_, (c, _))| *c).sum();
        let payments: Decimal = self.months.range(..payments_before).map(|(_, (_, p))| *p).sum();
        Balance::of(charges - payments)
    }

    /// The years these figures have an item for.
    #[cfg(test)]
    fn years(&self) -> Vec<i32> {
        let mut years: Vec<i32> = self.months.keys().map(|(y, _)| *y).collect();
        years.dedup();
        years
    }

    /// The changes that make the figures `stored` into these (`portal migrate`).
    pub fn corrections(&self, stored: &Balances) -> Vec<Delta> {
        let mut deltas = Vec::new();
        let months: std::collections::BTreeSet<&Month> = self.months.keys().chain(stored.months.keys()).collect();
        for month in months {
            let want = self.months.get(month).copied().unwrap_or_default();
            let have = stored.months.get(month).copied().unwrap_or_default();
            if want != have {
                deltas.push(Delta { month: *month, charges: want.0 - have.0, payments: want.1 - have.1 });
            }
        }
        deltas
    }
}

/// What a statement from `from` reads of the figures: the marker and the years through `from`'s.
/// `None` when the household's figures do not yet count its whole history.
pub async fn through(table: &dyn Table, account: &AccountId, year: i32) -> Result<Option<Balances>, StoreError> {
    let (from, to) = crate::keys::balances_through(year);
    let items = table.query_range(&crate::keys::account_pk(account), &from, &to).await?;
    let kept = items.iter().any(|i| i.get(super::TYPE).and_then(Value::as_str) == Some(KEPT_KIND));
    Ok(kept.then(|| Balances::of_items(items.iter().map(|i| &**i))))
}

/// Every year's figures as stored, and whether the marker is there (`portal migrate`).
pub async fn stored(table: &dyn Table, account: &AccountId) -> Result<(Balances, bool), StoreError> {
    let (from, to) = crate::keys::balances_through(9999);
    let items = table.query_range(&crate::keys::account_pk(account), &from, &to).await?;
    let kept = items.iter().any(|i| i.get(super::TYPE).and_then(Value::as_str) == Some(KEPT_KIND));
    Ok((Balances::of_items(items.iter().map(|i| &**i)), kept))
}

/// For a household whose figures do not yet count its history (written before households kept
/// them: `portal migrate`): adds what the history as read makes and the figures lack, reads both
/// again, and writes the marker once they agree. Payments that go through meanwhile add to the
/// figures as they always do; a difference they leave is corrected on the next round.
pub async fn backfill(table: &dyn Table, account: &AccountId) -> Result<Backfill, StoreError> {
    const ROUNDS: usize = 3;
    for _ in 0..ROUNDS {
        let (stored, kept) = self::stored(table, account).await?;
        if kept {
            return Ok(Backfill::AlreadyKept);
        }
        let want = of_history(table, account).await?;
        for write in writes(account, &want.corrections(&stored)) {
            table.write(write).await?;
        }
        let (stored, _) = self::stored(table, account).await?;
        if of_history(table, account).await? == stored {
            table.write(self::kept(account)).await?;
            return Ok(Backfill::Counted);
        }
    }
    Ok(Backfill::StillChanging)
}

/// What [`backfill`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backfill {
    AlreadyKept,
    Counted,
    /// The history kept changing while it was counted: the next run finishes it.
    StillChanging,
}

/// The figures the household's whole history makes, read now.
async fn of_history(table: &dyn Table, account: &AccountId) -> Result<Balances, StoreError> {
    let ledger = super::household(table, account).await?.ledger;
    Ok(Balances::of_ledger(&ledger.invoices()?, &ledger.payments()?))
}

/// The opening balance of a statement from `from`: the charges of the months before `from`'s,
/// and the payments of the months before the one before it (a payment's month is its UTC one;
/// the practice's day of it may be a day earlier or later). The statement reads invoices from the
/// first of `from`'s month and payments from the first of the month before, and counts what it
/// finds before `from` into the opening balance too.
pub fn reads_from(from: NaiveDate) -> (Month, Month) {
    let month = month_of(from);
    (month, month_before(month))
}

/// The first instant a statement from `from` reads payments from.
pub fn payments_read_from(from: NaiveDate) -> DateTime<Utc> {
    let (_, payments) = reads_from(from);
    first_day(payments).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

/// The last instant a statement to `to` reads payments through: the end of the day after it, for
/// the same reason.
pub fn payments_read_to(to: NaiveDate) -> DateTime<Utc> {
    (to + chrono::Days::new(2)).and_hms_opt(0, 0, 0).unwrap_or_default().and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::card_payment;
    use crate::Money;

    fn day(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    fn invoice(id: &str, issued: &str, cents: i64, paid: i64) -> Invoice {
        crate::testing::invoice(id, "h1", &format!("N-{id}"), day(issued), day(issued), cents, paid, 0, false)
    }

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        NaiveDate::from_ymd_opt(y, m, d).unwrap().and_hms_opt(h, 0, 0).unwrap().and_utc()
    }

    #[test]
    fn an_invoice_counts_in_its_issue_month_and_moves_when_corrected() {
        let first = invoice("i1", "2026-03-05", 8000, 0);
        assert_eq!(invoice_put(None, &first), vec![Delta { month: (2026, 3), charges: Decimal::new(80, 0), payments: Decimal::ZERO }]);
        let corrected = invoice("i1", "2026-04-01", 9000, 0);
        let deltas = invoice_put(Some(&first), &corrected);
        let account = first.account().clone();
        let writes = writes(&account, &deltas);
        assert_eq!(writes.len(), 2, "one year, one item, and the totals: {writes:?}");
        let Write::Upsert { update, .. } = &writes[0] else { panic!("an upsert") };
        let mut item = Item::new();
        update.apply_to(&mut item);
        assert_eq!(item.get("c03").and_then(Value::as_number), Some(Decimal::new(-80, 0)));
        assert_eq!(item.get("c04").and_then(Value::as_number), Some(Decimal::new(90, 0)));
        let Write::Upsert { key, update } = &writes[1] else { panic!("an upsert") };
        assert_eq!(key, &crate::keys::balance_totals_key(&account));
        let mut totals = Item::new();
        update.apply_to(&mut totals);
        assert_eq!(totals.get("c").and_then(Value::as_number), Some(Decimal::new(10, 0)), "the change, in all");
        assert_eq!(totals.get("p"), None, "no payment, no change");
    }

    #[test]
    fn a_void_invoice_charges_nothing_and_an_unchanged_one_writes_nothing() {
        let live = invoice("i1", "2026-03-05", 8000, 0);
        let mut data = crate::InvoiceData::from(live.clone());
        data.void = true;
        let void = Invoice::new(data).unwrap();
        let deltas = invoice_put(Some(&live), &void);
        assert_eq!(deltas.iter().map(|d| d.charges).sum::<Decimal>(), Decimal::new(-80, 0));
        assert!(writes(live.account(), &invoice_put(Some(&live), &live)).is_empty());
    }

    #[test]
    fn only_payments_that_went_through_count_in_their_utc_month() {
        let inv = invoice("i1", "2026-03-05", 8000, 0);
        let ok = card_payment("p1", &inv, 3000, at(2026, 4, 1, 2), PaymentStatus::Succeeded);
        let declined = card_payment("p2", &inv, 3000, at(2026, 4, 1, 2), PaymentStatus::Declined("no".into()));
        assert_eq!(paid([&ok, &declined]), vec![Delta { month: (2026, 4), charges: Decimal::ZERO, payments: Decimal::new(30, 0) }]);
    }

    #[test]
    fn the_opening_balance_counts_charges_and_payments_before_their_bounds() {
        let a = invoice("i1", "2025-12-10", 8000, 0);
        let b = invoice("i2", "2026-02-10", 5000, 0);
        let paid_jan = card_payment("p1", &a, 8000, at(2026, 1, 3, 12), PaymentStatus::Succeeded);
        let paid_mar = card_payment("p2", &b, 2000, at(2026, 3, 1, 1), PaymentStatus::Succeeded);
        let balances = Balances::of_ledger(&[a, b], &[paid_jan, paid_mar]);
        assert_eq!(balances.years(), vec![2025, 2026]);
        let money = |cents| Balance::ZERO.plus(Money::from_cents(cents));
        // Charges before March (130), payments before February (80).
        assert_eq!(balances.opening((2026, 3), (2026, 2)), money(5000));
        // Charges before January (80), payments before December (none).
        assert_eq!(balances.opening((2026, 1), (2025, 12)), money(8000));
        assert_eq!(balances.opening((2030, 1), (2030, 1)), money(3000));
        // The same from the totals less the months since, for any bounds from the year read on.
        let (charges, payments) = balances.months.values().fold((Decimal::ZERO, Decimal::ZERO), |(c, p), (mc, mp)| (c + mc, p + mp));
        for from_year in [2025, 2026] {
            let mut months = balances.clone();
            months.months.retain(|(y, _), _| *y >= from_year);
            let recent = Recent { from_year, months, charges, payments };
            for bounds in [((2026, 3), (2026, 2)), ((2026, 1), (2025, 12)), ((2030, 1), (2030, 1)), ((2026, 2), (2026, 1))] {
                let want = (bounds.1 .0 >= from_year).then(|| balances.opening(bounds.0, bounds.1));
                assert_eq!(recent.opening(bounds.0, bounds.1), want, "{from_year} {bounds:?}");
            }
        }
    }

    /// A write that commits while the years and totals are read (the Query sees it in part) is
    /// noticed by the count of writes on the totals, and the figures are read again.
    #[tokio::test]
    async fn the_totals_are_read_again_when_a_write_came_between() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        use std::sync::Arc;
        let account = AccountId::parse("h1").unwrap();
        let totals = |n: i64, charges: i64| {
            let key = crate::keys::balance_totals_key(&account);
            Item::from([
                (attr::PK.to_owned(), Value::S(key.pk)),
                (attr::SK.to_owned(), Value::S(key.sk)),
                (super::super::TYPE.to_owned(), Value::S(TOTALS_KIND.into())),
                (TOTALS_KEPT.to_owned(), Value::Bool(true)),
                (TOTALS_WRITES.to_owned(), Value::from(n)),
                (CHARGES.to_owned(), Value::from(charges)),
            ])
        };
        let mut table = crate::ports::MockTable::new();
        let gets = Arc::new(AtomicUsize::new(0));
        let seen = Arc::clone(&gets);
        // The first GetItem sees 1 write; the Query, a second one; then both agree on 2.
        let (first, second) = (totals(1, 80), totals(2, 130));
        table
            .expect_get()
            .times(2)
            .returning(move |_| Ok(Some(if seen.fetch_add(1, Ordering::SeqCst) == 0 { first.clone() } else { second.clone() })));
        let later = totals(2, 130);
        table.expect_query_range().times(2).returning(move |_, _, _| Ok(vec![Arc::new(later.clone())]));
        let recent = recent(&table, &account, 2026).await.unwrap().expect("read again, and agreed");
        assert_eq!(gets.load(Ordering::SeqCst), 2);
        assert_eq!(recent.charges, Decimal::new(130, 0));
    }

    #[test]
    fn a_statement_of_the_last_two_years_takes_its_opening_balance_from_the_totals() {
        let today = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        assert!(reads_recent((2025, 12), today) && reads_recent((2024, 1), today));
        assert!(!reads_recent((2023, 12), today), "older: the years before it");
    }

    #[test]
    fn corrections_turn_what_is_stored_into_what_the_history_makes() {
        let a = invoice("i1", "2025-12-10", 8000, 0);
        let want = Balances::of_ledger(std::slice::from_ref(&a), &[]);
        let stored = Balances::of_ledger(&[], &[card_payment("p9", &a, 100, at(2025, 11, 2, 0), PaymentStatus::Succeeded)]);
        let deltas = want.corrections(&stored);
        let mut fixed = stored.clone();
        for d in &deltas {
            let e = fixed.months.entry(d.month).or_default();
            e.0 += d.charges;
            e.1 += d.payments;
        }
        fixed.months.retain(|_, (c, p)| !(c.is_zero() && p.is_zero()));
        assert_eq!(fixed, want);
    }

    #[test]
    fn payments_are_read_from_the_first_of_the_month_before() {
        let from = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
        assert_eq!(reads_from(from), ((2026, 1), (2025, 12)));
        assert_eq!(payments_read_from(from), at(2025, 12, 1, 0));
        assert_eq!(payments_read_to(NaiveDate::from_ymd_opt(2026, 1, 31).unwrap()), at(2026, 2, 2, 0));
    }
}
