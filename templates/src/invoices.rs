//! The invoice overview: the first page after sign-in.

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::{Invoice, InvoiceFigures, InvoiceStatus, Money};

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

    fn keeps(self, invoice: &InvoiceFigures) -> bool {
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

    /// The list's page `page` (1-based) under this filter.
    fn page_href(self, page: usize) -> String {
        let base = self.href();
        if page <= 1 {
            return base;
        }
        let joiner = if base.contains('?') { '&' } else { '?' };
        format!("{base}{joiner}page={page}")
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

/// How many invoices a page of the list shows (keeps the page small for households with years of invoices).
pub const INVOICES_PER_PAGE: usize = 24;

/// From the `page` query parameter: 1 when absent or not a number.
pub fn parse_page(value: Option<&str>) -> usize {
    value.and_then(|v| v.parse::<usize>().ok()).filter(|p| *p >= 1).unwrap_or(1)
}

/// What the overview shows: the totals over every invoice and which invoices make the page.
/// It needs only each invoice's figures, so a household with years of invoices has just the
/// page's few decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listing {
    pub total_due: Money,
    pub past_due: Money,
    /// Whether the household has any invoice at all.
    pub any: bool,
    /// Positions (in the figures given, newest first) of the invoices this page shows.
    pub shown: Vec<usize>,
    pub pages: usize,
    /// The page shown (the one asked for, at most the last).
    pub page_number: usize,
}

/// The listing for page `page_number` of the invoices that `filter` keeps, from every invoice's
/// figures, newest first.
pub fn listing(figures: &[InvoiceFigures], today: NaiveDate, filter: Filter, page_number: usize) -> Listing {
    let total_due: Money = figures.iter().map(InvoiceFigures::balance).sum();
    let past_due: Money = figures.iter().filter(|f| f.status(today) == InvoiceStatus::PastDue).map(InvoiceFigures::balance).sum();
    let matching: Vec<usize> = (0..figures.len()).filter(|&i| filter.keeps(&figures[i])).collect();
    let pages = matching.len().div_ceil(INVOICES_PER_PAGE).max(1);
    let page_number = page_number.clamp(1, pages);
    let shown = matching.into_iter().skip((page_number - 1) * INVOICES_PER_PAGE).take(INVOICES_PER_PAGE).collect();
    Listing { total_due, past_due, any: !figures.is_empty(), shown, pages, page_number }
}

/// The household's invoices, newest first, a page at a time, with the total due, a filter and a
/// statement form: `shown` are the listing's invoices, decoded.
pub fn overview(
    chrome: &Chrome<'_>,
    today: NaiveDate,
    household_name: &str,
    listing: &Listing,
    shown: &[Invoice],
    filter: Filter,
) -> Markup {
    let Listing { total_due, past_due, pages, page_number, .. } = *listing;
    let statement_from = (today - chrono::Months::new(12) + chrono::Days::new(1)).format("%Y-%m-%d").to_string();
    let statement_to = today.format("%Y-%m-%d").to_string();
    let body = html! {
        h1 { "Invoices" }
        p.lede { (household_name) }
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
        @if shown.is_empty() {
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
                        @for invoice in shown {
                            @let status = invoice.status(today);
                            tr.past-due[status == InvoiceStatus::PastDue] data-invoice=(invoice.number()) {
                                th scope="row" data-label="Invoice" { a href=(Route::Invoice(invoice.id().clone()).path()) { (invoice.number()) } }
                                td data-label="Issued" { (date(invoice.issued())) }
                                td data-label="Due" { (date(invoice.due())) }
                                td.num data-label="Total" { (invoice.total()) }
                                td.num data-label="Paid" { (invoice.paid()) }
                                td.num data-label="Balance" { (invoice.balance()) }
                                td data-label="Status" { (status_badge(status)) }
                            }
                        }
                    }
                }
            }
            @if pages > 1 {
                nav.pager aria-label="Invoice pages" {
                    @if page_number > 1 {
                        a href=(filter.page_href(page_number - 1)) rel="prev" { "Newer invoices" }
                    }
                    span { "Page " (page_number) " of " (pages) }
                    @if page_number < pages {
                        a href=(filter.page_href(page_number + 1)) rel="next" { "Older invoices" }
                    }
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
