//! The invoice overview: the first page after sign-in.

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::store::invoice_list::{Cursor, ListRead};
use portal_domain::store::summary::OpenInvoice;
use portal_domain::{Invoice, InvoiceFigures, InvoiceId, InvoiceStatus, Money};

use crate::layout::{page, Chrome};
use crate::routes::Route;
use crate::{date, status_badge};

/// Which invoices the overview lists.
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

    fn href(self) -> String {
        match self {
            Filter::All => Route::Invoices.path(),
            Filter::Unpaid => format!("{}?show=unpaid", Route::Invoices.path()),
            Filter::Paid => format!("{}?show=paid", Route::Invoices.path()),
        }
    }

    /// The older page `page` (2 or more) under this filter, starting below `cursor`.
    fn older_href(self, cursor: &str, page: usize) -> String {
        let base = self.href();
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}before={cursor}&page={page}")
    }

    /// What the table holds, for screen readers.
    fn caption(self) -> &'static str {
        match self {
            Filter::All => "All invoices, newest first",
            Filter::Unpaid => "Unpaid invoices, newest first",
            Filter::Paid => "Paid invoices, newest first",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Filter::All => "All",
            Filter::Unpaid => "Unpaid",
            Filter::Paid => "Paid",
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
    if filter == Filter::Unpaid {
        let open = read.summary.as_ref().map(|s| s.open.as_slice()).unwrap_or_default();
        let below = |o: &&OpenInvoice| cursor.is_none_or(|c| (o.issued, o.id.as_str()) < (c.issued, c.id.as_str()));
        let stretch: Vec<&OpenInvoice> = open.iter().filter(below).take(INVOICES_PER_PAGE + 1).collect();
        let older = (stretch.len() > INVOICES_PER_PAGE)
            .then(|| Cursor { issued: stretch[INVOICES_PER_PAGE - 1].issued, id: stretch[INVOICES_PER_PAGE - 1].id.clone() }.text());
        let rows = stretch.iter().take(INVOICES_PER_PAGE).map(|o| Row::of_open(o)).collect();
        return Listing { totals, any: true, rows, page_number, older };
    }
    let rows = read.invoices.iter().filter(|i| filter.keeps(&i.figures())).map(Row::of_invoice).collect();
    let older = read.invoices.last().filter(|_| read.more).map(|last| Cursor::of(last).text());
    Listing { totals, any: !read.invoices.is_empty() || cursor.is_some(), rows, page_number, older }
}

/// The household's invoices, newest first, a page at a time, with the total due, a filter and a
/// statement form: `shown` are the listing's invoices, decoded.
pub fn overview(chrome: &Chrome<'_>, today: NaiveDate, household_name: Option<&str>, listing: &Listing, filter: Filter) -> Markup {
    let page_number = listing.page_number;
    let statement_from = (today - chrono::Months::new(12) + chrono::Days::new(1)).format("%Y-%m-%d").to_string();
    let statement_to = today.format("%Y-%m-%d").to_string();
    let body = html! {
        h1 { "Invoices" }
        @if let Some(name) = household_name {
            p.lede { (name) }
        }
        @if let Some((total_due, past_due)) = listing.totals {
            section.summary aria-label="Balance" {
                div.figure {
                    p.label { "Total due" }
                    p.amount #total-due { (total_due) }
                }
                @if !past_due.is_zero() {
                    div.figure.warn {
                        p.label { "Past due" }
                        p.amount #past-due { (past_due) }
                    }
                }
            }
            @if !total_due.is_zero() {
                // One payment for every invoice with a balance, oldest first (a review comes before any charge).
                p { a.button #pay-total href=(Route::PayDue.path()) { "Pay total due" } }
            }
        }
        nav.filters aria-label="Show invoices" {
            ul {
                @for f in [Filter::All, Filter::Unpaid, Filter::Paid] {
                    li {
                        @if f == filter {
                            a href=(f.href()) aria-current="true" { (f.label()) }
                        } @else {
                            a href=(f.href()) { (f.label()) }
                        }
                    }
                }
            }
        }
        @if listing.rows.is_empty() {
            p { @if !listing.any { "You have no invoices yet." } @else { "No invoices match." } }
        } @else {
            div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                table.invoices.stack {
                    caption.visually-hidden { (filter.caption()) }
                    thead {
                        tr {
                            th scope="col" { "Invoice" }
                            th scope="col" { "Issued" }
                            th scope="col" { "Due" }
                            th scope="col" .num { "Total" }
                            th scope="col" .num { "Paid" }
                            th scope="col" .num { "Balance" }
                            th scope="col" { "Status" }
                        }
                    }
                    tbody {
                        @for row in &listing.rows {
                            @let status = row.figures.status(today);
                            tr.past-due[status == InvoiceStatus::PastDue] data-invoice=(row.number) {
                                th scope="row" data-label="Invoice" { a href=(Route::Invoice(row.id.clone()).path()) { (row.number) } }
                                td data-label="Issued" { (date(row.issued)) }
                                td data-label="Due" { (date(row.figures.due)) }
                                td.num data-label="Total" { (row.figures.total) }
                                td.num data-label="Paid" { (row.figures.paid) }
                                td.num data-label="Balance" { (row.figures.balance()) }
                                td data-label="Status" { (status_badge(status)) }
                            }
                        }
                    }
                }
            }
        }
        // A stretch of the history may hold no invoice of the filter: the way on is still shown.
        @if page_number > 1 || listing.older.is_some() {
            nav.pager aria-label="Invoice pages" {
                @if page_number > 1 {
                    a href=(filter.href()) { "Newest invoices" }
                }
                span { "Page " (page_number) }
                @if let Some(cursor) = &listing.older {
                    a href=(filter.older_href(cursor, page_number + 1)) rel="next" { "Older invoices" }
                }
            }
        }
        section.statement-box aria-labelledby="statement-heading" {
            h2 #statement-heading { "Account statement" }
            p { "A summary of charges and payments for any period." }
            (crate::statement::period_form(&statement_from, &statement_to, None))
        }
        section.statement-box aria-labelledby="receipts-heading" {
            h2 #receipts-heading { "Receipts" }
            p { "An itemized receipt for every payment, and a yearly summary for your HSA or FSA and for taxes." }
            p { a #receipts-link href=(Route::Receipts.path()) { "Receipts and yearly summaries" } }
        }
    };
    page(chrome, "Invoices", body)
}
