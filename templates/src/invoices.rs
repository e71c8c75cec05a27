//! The invoice overview: the first page after sign-in.

use chrono::NaiveDate;
use maud::{html, Markup};
pub use portal_domain::store::invoice_list::{listing_of, parse_page, Filter, Listing, Row, INVOICES_PER_PAGE};
use portal_domain::InvoiceStatus;

use crate::layout::{page, Chrome};
use crate::routes::Route;
use crate::{date, status_badge};

/// How the overview links and names each filter.
trait FilterLinks {
    fn href(self) -> String;
    fn older_href(self, cursor: &str, page: usize) -> String;
    fn caption(self) -> &'static str;
    fn label(self) -> &'static str;
}

impl FilterLinks for Filter {
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
                @let link = listing.oldest_open.map_or_else(|| Route::PayDue.path(), |since| Route::PayDue.pay_link(since));
                p { a.button #pay-total href=(link) { "Pay total due" } }
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
                                th scope="row" data-label="Invoice" { a href=(Route::Invoice(row.id.clone()).invoice_link(row.issued)) { (row.number) } }
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
