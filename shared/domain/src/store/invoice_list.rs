//! The invoice list's reads, each one Query of a fixed number of items whatever the history:
//! the first page (the household, its summary and the newest invoices, reading down from the
//! household's record), an older page (the invoices below a cursor), and the unpaid invoices (the
//! household and its summary).

use chrono::NaiveDate;

use super::summary::{is_summary, Summary};
use super::*;
use crate::keys::{AccountItem, HOUSEHOLD_RECORD_SK, INVOICE, LEDGER_HEAD_BEFORE, SUMMARY_SK};
use crate::ports::{attr, Table, Value};
use crate::{AccountId, Household, Invoice, InvoiceId, StoreError};

/// Where an older page of the list starts: below the invoice issued on `issued` with `id` (the
/// last one the page before showed or passed over). In links as `{issued}.{id}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub issued: NaiveDate,
    pub id: InvoiceId,
}

impl Cursor {
    pub fn of(invoice: &Invoice) -> Cursor {
        Cursor { issued: invoice.issued(), id: invoice.id().clone() }
    }

    /// From a link; anything else is `None` (the list starts from the newest).
    pub fn parse(text: &str) -> Option<Cursor> {
        let (issued, id) = text.split_once('.')?;
        Some(Cursor { issued: date_at(issued).filter(|_| issued.len() == 10)?, id: InvoiceId::parse(id).ok()? })
    }

    pub fn text(&self) -> String {
        format!("{}.{}", self.issued.format("%Y-%m-%d"), self.id)
    }

    fn sort_key(&self) -> String {
        format!("{INVOICE}{}#{}", self.issued.format("%Y-%m-%d"), self.id)
    }
}

/// What one read of the list gives.
#[derive(Debug, Clone, Default)]
pub struct ListRead {
    /// The household and its summary, on the reads that include them (the first page, the unpaid).
    pub household: Option<Household>,
    pub summary: Option<Summary>,
    /// Invoices, newest first, at most the number asked for.
    pub invoices: Vec<Invoice>,
    /// Whether older invoices lie below the last of them.
    pub more: bool,
}

/// The first page: the household, its summary and its newest `count` invoices, in one Query of
/// `count + 3` items (one more invoice tells whether there are older ones).
pub async fn newest(table: &dyn Table, account: &AccountId, count: usize) -> Result<ListRead, StoreError> {
    let items = table.query_newest(&account_pk(account), "", LEDGER_HEAD_BEFORE, count + 3).await?;
    read(items, count)
}

/// An older page: the `count` invoices below `cursor`, in one Query of `count + 1` items.
pub async fn older(table: &dyn Table, account: &AccountId, cursor: &Cursor, count: usize) -> Result<ListRead, StoreError> {
    let items = table.query_newest(&account_pk(account), INVOICE, &cursor.sort_key(), count + 1).await?;
    read(items, count)
}

/// The household and its summary alone (what the unpaid invoices are), in one Query of two items.
pub async fn household_and_summary(table: &dyn Table, account: &AccountId) -> Result<ListRead, StoreError> {
    let items = table.query_range(&account_pk(account), SUMMARY_SK, HOUSEHOLD_RECORD_SK).await?;
    read(items, 0)
}

fn read(items: Vec<std::sync::Arc<crate::ports::Item>>, count: usize) -> Result<ListRead, StoreError> {
    let mut list = ListRead::default();
    for item in items {
        let sk = item.get(attr::SK).and_then(Value::as_str).unwrap_or("");
        if is_summary(&item) {
            list.summary = Some(Summary::of_item(&item));
            continue;
        }
        match AccountItem::of_sk(sk) {
            AccountItem::Household => {
                let mut household: Household = record_of(&item)?;
                household.version = version_of(&item);
                list.household = Some(household);
            }
            AccountItem::Invoice if list.invoices.len() < count => list.invoices.push(invoice_of(&item)?),
            AccountItem::Invoice => list.more = true,
            _ => {}
        }
    }
    Ok(list)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_is_an_issue_date_and_an_id() {
        let cursor = Cursor::parse("2026-06-01.inv-1003").unwrap();
        assert_eq!((cursor.issued, cursor.id.as_str()), (NaiveDate::from_ymd_opt(2026, 6, 1).unwrap(), "inv-1003"));
        assert_eq!(cursor.text(), "2026-06-01.inv-1003");
        assert_eq!(cursor.sort_key(), "#INVOICE#2026-06-01#inv-1003");
        for bad in ["", "2026-06-01", "2026-06-01.", "2026-6-1.inv", "yesterday.inv", "2026-06-01.a#b", "2026-06-01x.inv", "2026-02-30.inv"]
        {
            assert_eq!(Cursor::parse(bad), None, "{bad}");
        }
    }
}
