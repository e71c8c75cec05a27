//! The invoice list's reads, each one Query of a fixed number of items whatever the history:
//! the first page (the household, its summary and the newest invoices, reading down from the
//! household's record), an older page (the invoices below a cursor), and the unpaid invoices (the
//! household and its summary).

use chrono::NaiveDate;

use super::summary::{is_summary, OpenInvoice, Summary};
use super::*;
use crate::keys::{AccountItem, HOUSEHOLD_RECORD_SK, INVOICE, LEDGER_HEAD_BEFORE, SUMMARY_SK};
use crate::ports::{attr, Table, Value};
use crate::{AccountId, Household, Invoice, InvoiceFigures, InvoiceId, Money, StoreError};

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
            AccountItem::Household => list.household = Some(super::household::household_of(&item)?),
            AccountItem::Invoice if list.invoices.len() < count => list.invoices.push(invoice_of(&item)?),
            AccountItem::Invoice => list.more = true,
            _ => {}
        }
    }
    Ok(list)
}

/// Which invoices the list shows (`?show=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    All,
    Unpaid,
    Paid,
}

impl Filter {
    /// From the `show` query parameter; anything unknown shows all.
    pub fn parse(value: Option<&str>) -> Filter {
        match value {
            Some("unpaid") => Filter::Unpaid,
            Some("paid") => Filter::Paid,
            _ => Filter::All,
        }
    }

    /// Whether a page of this filter shows an invoice with these figures.
    pub fn keeps(self, invoice: &InvoiceFigures) -> bool {
        match self {
            Filter::All => true,
            Filter::Unpaid => !invoice.balance().is_zero(),
            Filter::Paid => invoice.balance().is_zero() && !invoice.void,
        }
    }
}

/// How many invoices a page of the list shows: a year of monthly invoices, and few enough that
/// the first page (the household, its summary and one invoice more than it shows) is one Query
/// of at most 12 KB, three read units, for invoices of a few lines.
pub const INVOICES_PER_PAGE: usize = 15;

/// The highest page number a link may show (only a label: a damaged link cannot overflow it).
const MAX_PAGE_NUMBER: usize = 1_000_000;

/// From the `page` query parameter (the number an older page shows): 1 when absent or not a number.
pub fn parse_page(value: Option<&str>) -> usize {
    value.and_then(|v| v.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1).min(MAX_PAGE_NUMBER)
}

/// One row of the list: an invoice's number, issue date and figures (from the invoice, or from
/// the household's summary of its open invoices).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub id: InvoiceId,
    pub number: String,
    pub issued: NaiveDate,
    pub figures: InvoiceFigures,
}

impl Row {
    pub fn of_invoice(invoice: &Invoice) -> Row {
        Row { id: invoice.id().clone(), number: invoice.number().to_owned(), issued: invoice.issued(), figures: invoice.figures() }
    }

    pub fn of_open(open: &OpenInvoice) -> Row {
        Row { id: open.id.clone(), number: open.number.clone(), issued: open.issued, figures: open.figures() }
    }
}

/// What a page of the list shows. Each page is one read of a fixed size: the first has the
/// household's totals from its summary of open invoices; an older page is the invoices below a
/// cursor, and has no totals (they are the first page's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    /// Total due and past due, on the first page and the unpaid invoices.
    pub totals: Option<(Money, Money)>,
    /// The issue date of the oldest invoice with a balance, when the summary was read (what the
    /// "Pay total due" link carries).
    pub oldest_open: Option<NaiveDate>,
    /// Whether the household has any invoice at all (as far as this page can tell).
    pub any: bool,
    pub rows: Vec<Row>,
    /// The number this page shows ("Page 3"), and where the next older page starts, if any.
    pub page_number: usize,
    pub older: Option<String>,
}

/// The listing one read makes for `filter`. The unpaid invoices come from the summary (newest
/// first, a page below `cursor`); all and paid invoices from the invoices read, paid ones being
/// those of the page's stretch of the history that are paid (a page of them may show fewer).
pub fn listing_of(read: &ListRead, filter: Filter, today: NaiveDate, page_number: usize, cursor: Option<&Cursor>) -> Listing {
    let totals = read.summary.as_ref().map(|s| (s.total_due(), s.past_due(today)));
    let oldest_open = read.summary.as_ref().and_then(|s| s.open.iter().map(|o| o.issued).min());
    if filter == Filter::Unpaid {
        let open = read.summary.as_ref().map(|s| s.open.as_slice()).unwrap_or_default();
        let below = |o: &&OpenInvoice| cursor.is_none_or(|c| (o.issued, o.id.as_str()) < (c.issued, c.id.as_str()));
        let stretch: Vec<&OpenInvoice> = open.iter().filter(below).take(INVOICES_PER_PAGE + 1).collect();
        let older = (stretch.len() > INVOICES_PER_PAGE)
            .then(|| Cursor { issued: stretch[INVOICES_PER_PAGE - 1].issued, id: stretch[INVOICES_PER_PAGE - 1].id.clone() }.text());
        let rows = stretch.iter().take(INVOICES_PER_PAGE).map(|o| Row::of_open(o)).collect();
        return Listing { totals, oldest_open, any: true, rows, page_number, older };
    }
    let rows = read.invoices.iter().filter(|i| filter.keeps(&i.figures())).map(Row::of_invoice).collect();
    let older = read.invoices.last().filter(|_| read.more).map(|last| Cursor::of(last).text());
    Listing { totals, oldest_open, any: !read.invoices.is_empty() || cursor.is_some(), rows, page_number, older }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_keep_what_they_name_and_page_numbers_are_bounded() {
        let figures = |total: i64, paid: i64, void: bool| InvoiceFigures {
            total: Money::from_cents(total),
            paid: Money::from_cents(paid),
            pending: Money::ZERO,
            due: NaiveDate::from_ymd_opt(2026, 11, 1).unwrap(),
            void,
        };
        let (open, paid, void) = (figures(100, 40, false), figures(100, 100, false), figures(100, 0, true));
        assert_eq!([open, paid, void].map(|f| Filter::Unpaid.keeps(&f)), [true, false, false]);
        assert_eq!([open, paid, void].map(|f| Filter::Paid.keeps(&f)), [false, true, false]);
        assert!([open, paid, void].iter().all(|f| Filter::All.keeps(f)));
        assert_eq!(
            (Filter::parse(Some("paid")), Filter::parse(Some("nonsense")), Filter::parse(None)),
            (Filter::Paid, Filter::All, Filter::All)
        );
        assert_eq!(parse_page(Some("3")), 3);
        for bad in [None, Some("0"), Some("-1"), Some("x")] {
            assert_eq!(parse_page(bad), 1, "{bad:?}");
        }
        assert_eq!(parse_page(Some("18446744073709551615")), MAX_PAGE_NUMBER, "a label, never overflowing");
    }

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
