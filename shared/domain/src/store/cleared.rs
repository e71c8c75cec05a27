//! A household's receipts, so the receipts list reads one year of them and not the household's
//! history. Each payment that went through keeps an entry (`r#{payment}`: what the list shows of
//! it, [`Cleared`]) in the item of the UTC year of the instant it was made, `!CLEARED#{year}`, as
//! its key sorts. An index, `!CLEARED#`, says which of those items hold what: a flag `y{year}`
//! for an item holding payments of that calendar year wherever the practice is, and an entry
//! `e#{instant}` for each payment made within twelve hours of New Year in UTC (whose calendar year
//! depends on the practice's time zone, which the writers do not know). The reader turns both
//! into the practice's years, and the items that hold each.
//!
//! Its writers are the summary's (`store::count_paid`, `store::count_invoice`,
//! `store::count_recorded`): every transaction that records a payment going through writes its
//! entry. Entries never change: a payment that went through stays so, and its refunds show on
//! its receipt, not in the list.
//!
//! The entries are complete from a household's first import on, or once `portal migrate` has
//! written the entries of the history before ([`backfill`], then [`kept`]): the index then says
//! `complete`. Without it the list reads the household whole, as before.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};

use super::*;
use crate::ports::{Item, Table, Update, Value, Write};
use crate::receipts::Cleared;
use crate::{AccountId, Household, StoreError};

const ENTRY: &str = "r#";
const YEAR: &str = "y";
const EDGE: &str = "e#";
const COMPLETE: &str = "complete";
const KIND: &str = "cleared";
/// The `type` of the index, which also says when the entries are complete: a new household's
/// first import writes it after everything else (`import`).
pub const INDEX_KIND: &str = "cleared-index";

/// Within this many hours of New Year in UTC, an instant's calendar year depends on the time zone
/// (the practice's is within twelve hours of UTC).
const EDGE_HOURS: i64 = 12;

fn new_year(year: i32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Whether `at`'s calendar year may differ from its UTC year somewhere the practice may be.
fn near_new_year(at: DateTime<Utc>) -> bool {
    let hours = chrono::Duration::hours(EDGE_HOURS);
    at - new_year(at.year()) < hours || new_year(at.year() + 1) - at <= hours
}

/// The writes that keep `cleared` (entries of one household): one upsert of each year's item they
/// fall in and one of the index (a transaction writes an item once). Empty for none.
pub fn writes(account: &AccountId, cleared: &[Cleared]) -> Result<Vec<Write>, StoreError> {
    if cleared.is_empty() {
        return Ok(Vec::new());
    }
    let mut by_year: BTreeMap<i32, Update> = BTreeMap::new();
    // Each attribute once: an update may not name one twice.
    let mut index: BTreeMap<String, Value> = BTreeMap::new();
    for entry in cleared {
        let year = entry.at.year();
        let json = serde_json::to_string(entry).map_err(|e| StoreError::Malformed(format!("receipt entry: {e}")))?;
        let update = by_year.remove(&year).unwrap_or_else(|| Update::default().set(super::TYPE, KIND));
        by_year.insert(year, update.set(&format!("{ENTRY}{}", entry.id), json));
        if near_new_year(entry.at) {
            index.insert(format!("{EDGE}{}", key_time(entry.at)), Value::from(i64::from(year)));
        } else {
            index.insert(format!("{YEAR}{year:04}"), Value::Bool(true));
        }
    }
    let mut writes: Vec<Write> =
        by_year.into_iter().map(|(year, update)| Write::Upsert { key: crate::keys::cleared_key(account, year), update }).collect();
    let index = index.into_iter().fold(Update::default().set(super::TYPE, INDEX_KIND), |update, (name, value)| update.set(&name, value));
    writes.push(Write::Upsert { key: crate::keys::cleared_index_key(account), update: index });
    Ok(writes)
}

/// Says the household's entries count its whole history (written after them).
pub fn kept(account: &AccountId) -> Write {
    Write::Upsert {
        key: crate::keys::cleared_index_key(account),
        update: Update::default().set(super::TYPE, INDEX_KIND).set(COMPLETE, true),
    }
}

/// At most this many entries in one write of `portal migrate`'s, well inside what one update
/// expression may hold.
const ENTRIES_AT_ONCE: usize = 50;

/// For a household written before it kept its receipts (`portal migrate`): the writes that keep
/// the entry of every payment of `ledger` that went through (named by its invoice where the
/// payment did not keep its number or date), in groups of their own, then the marker. Entries
/// are the same however often they are written, and a payment that goes through meanwhile
/// writes its own, so nothing needs to be read again.
pub fn backfill(account: &AccountId, ledger: &Ledger) -> Result<Vec<Vec<Write>>, StoreError> {
    let cleared = ledger.receipts()?;
    let mut groups: Vec<Vec<Write>> = cleared.chunks(ENTRIES_AT_ONCE).map(|chunk| writes(account, chunk)).collect::<Result<_, _>>()?;
    groups.push(vec![kept(account)]);
    Ok(groups)
}

/// A household's index of its receipts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Index {
    /// UTC years whose item holds payments of that calendar year.
    years: BTreeSet<i32>,
    /// Payments made near New Year, with the UTC year whose item holds them.
    edges: Vec<(DateTime<Utc>, i32)>,
    pub complete: bool,
}

impl Index {
    pub fn of_item(item: &Item) -> Index {
        let mut index = Index { complete: matches!(item.get(COMPLETE), Some(Value::Bool(true))), ..Index::default() };
        for (name, value) in item {
            if let Some(at) = name.strip_prefix(EDGE) {
                let (Ok(at), Some(year)) = (DateTime::parse_from_rfc3339(at), value.as_number()) else { continue };
                let Some(year) = rust_decimal::prelude::ToPrimitive::to_i32(&year) else { continue };
                index.edges.push((at.with_timezone(&Utc), year));
            } else if let Some(year) = name.strip_prefix(YEAR).filter(|y| y.len() == 4).and_then(|y| y.parse().ok()) {
                index.years.insert(year);
            }
        }
        index
    }

    /// The practice's calendar years with a payment, newest first.
    pub fn years(&self, date_of: impl Fn(DateTime<Utc>) -> NaiveDate) -> Vec<i32> {
        let mut years: BTreeSet<i32> = self.years.clone();
        years.extend(self.edges.iter().map(|(at, _)| date_of(*at).year()));
        years.into_iter().rev().collect()
    }

    /// The items that hold the payments of the practice's calendar year `year`.
    pub fn items_for(&self, year: i32, date_of: impl Fn(DateTime<Utc>) -> NaiveDate) -> BTreeSet<i32> {
        let mut items: BTreeSet<i32> = self.years.iter().copied().filter(|y| *y == year).collect();
        items.extend(self.edges.iter().filter(|(at, _)| date_of(*at).year() == year).map(|(_, item)| *item));
        items
    }
}

/// What the receipts list shows: the household, the years with a payment (newest first), the
/// year shown (the one asked if it has any, else the latest) and its payments' entries.
#[derive(Debug, Clone)]
pub struct ReceiptsRead {
    pub household: Household,
    pub years: Vec<i32>,
    pub year: Option<i32>,
    pub cleared: Vec<Cleared>,
}

/// The receipts of the year `asked` (else the latest), with the household's record, by key: one
/// request when the year is `asked`, or `today`'s with none asked (then it is read with the
/// household's record and the index, before the index says which years there are), and one more
/// for a year whose payments lie in other items. `None` when the household keeps no complete
/// receipts (or is not there): the caller reads it whole.
pub async fn receipts_of(
    table: &dyn Table,
    account: &AccountId,
    asked: Option<i32>,
    today: NaiveDate,
    date_of: impl Fn(DateTime<Utc>) -> NaiveDate,
) -> Result<Option<ReceiptsRead>, StoreError> {
    let first = asked.unwrap_or(today.year());
    let keys = [household_key(account), crate::keys::cleared_index_key(account), crate::keys::cleared_key(account, first)];
    let mut found = table.get_many(&keys).await?.into_iter();
    let (Some(Some(household_item)), Some(Some(index_item)), Some(first_item)) = (found.next(), found.next(), found.next()) else {
        return Ok(None);
    };
    let index = Index::of_item(&index_item);
    if !index.complete {
        return Ok(None);
    }
    let household = super::household::household_of(&household_item)?;
    let years = index.years(&date_of);
    let year = crate::receipts::year_shown(&years, asked);
    let mut items = Vec::new();
    if let Some(year) = year {
        let wanted = index.items_for(year, &date_of);
        if wanted.contains(&first) {
            items.extend(first_item);
        }
        let rest: Vec<_> = wanted.iter().filter(|y| **y != first).map(|y| crate::keys::cleared_key(account, *y)).collect();
        if !rest.is_empty() {
            items.extend(table.get_many(&rest).await?.into_iter().flatten());
        }
    }
    let mut cleared = Vec::new();
    for item in &items {
        for (name, value) in item {
            if let (Some(_), Some(json)) = (name.strip_prefix(ENTRY), value.as_str()) {
                let entry: Cleared = serde_json::from_str(json).map_err(|e| StoreError::Malformed(format!("receipt entry: {e}")))?;
                if Some(date_of(entry.at).year()) == year {
                    cleared.push(entry);
                }
            }
        }
    }
    Ok(Some(ReceiptsRead { household, years, year, cleared }))
}

/// Whether `account`'s receipts are complete (`portal migrate` leaves such a household alone).
pub async fn complete(table: &dyn Table, account: &AccountId) -> Result<bool, StoreError> {
    Ok(table.get(&crate::keys::cleared_index_key(account)).await?.is_some_and(|item| Index::of_item(&item).complete))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::card_payment;
    use crate::PaymentStatus;

    fn at(text: &str) -> DateTime<Utc> {
        text.parse().unwrap()
    }

    fn index_of(writes: &[Write]) -> Index {
        let mut item = Item::new();
        for write in writes {
            if let Write::Upsert { key, update } = write {
                if key.sk == "!CLEARED#" {
                    update.apply_to(&mut item);
                }
            }
        }
        Index::of_item(&item)
    }

    #[test]
    fn payments_near_new_year_count_in_the_practices_year() {
        let day = "2025-12-01".parse().unwrap();
        let inv = crate::testing::invoice("i1", "h1", "N-1", day, day, 8000, 0, 0, false);
        // 02:00 UTC on New Year's Day is still the old year in Chicago; 13:00 UTC is not near it.
        let payments = [
            card_payment("p1", &inv, 1000, at("2026-01-01T02:00:00Z"), PaymentStatus::Succeeded),
            card_payment("p2", &inv, 1000, at("2026-03-01T13:00:00Z"), PaymentStatus::Succeeded),
            card_payment("p3", &inv, 1000, at("2025-06-01T13:00:00Z"), PaymentStatus::Succeeded),
        ];
        let cleared: Vec<Cleared> = payments.iter().filter_map(Cleared::of).collect();
        let writes = writes(inv.account(), &cleared).unwrap();
        assert_eq!(writes.len(), 3, "one write of each year's item and one of the index");
        let index = index_of(&writes);
        assert!(!index.complete, "only the marker says complete");
        let chicago = |t: DateTime<Utc>| (t - chrono::Duration::hours(6)).date_naive();
        let utc = |t: DateTime<Utc>| t.date_naive();
        assert_eq!(index.years(chicago), [2026, 2025]);
        assert_eq!(index.items_for(2025, chicago), BTreeSet::from([2025, 2026]));
        assert_eq!(index.items_for(2026, chicago), BTreeSet::from([2026]));
        assert_eq!(index.years(utc), [2026, 2025]);
        assert_eq!(index.items_for(2025, utc), BTreeSet::from([2025]));
        assert!(near_new_year(at("2025-12-31T12:00:00Z")) && !near_new_year(at("2025-12-31T11:59:59Z")));
        assert!(near_new_year(at("2026-01-01T11:59:59Z")) && !near_new_year(at("2026-01-01T12:00:00Z")));
        // Only the edge payment in 2026's item: Chicago's 2026 is the March one alone.
        let mut index = index_of(&writes[..0]);
        index.edges.push((at("2026-01-01T02:00:00Z"), 2026));
        assert_eq!(index.years(chicago), [2025]);
        assert!(index.items_for(2026, chicago).is_empty());
        assert!(self::writes(inv.account(), &[]).unwrap().is_empty());
    }

    #[test]
    fn the_marker_says_complete() {
        let account = AccountId::parse("h1").unwrap();
        assert!(index_of(&[kept(&account)]).complete);
    }
}
