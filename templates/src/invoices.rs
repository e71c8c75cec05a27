//! The invoice overview: the first page after sign-in.

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::{Invoice, InvoiceStatus, Money};

use crate::layout::{page, Chrome};
use crate::{date, status_badge};

/// Every invoice of the household, newest first, with the total due.
pub fn overview(chrome: &Chrome<'_>, today: NaiveDate, household_name: &str, invoices: &[Invoice]) -> Markup {
    let total_due: Money = invoices.iter().map(Invoice::balance).sum();
    let past_due: Money = invoices.iter().filter(|i| i.status(today) == InvoiceStatus::PastDue).map(Invoice::balance).sum();
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
        @if invoices.is_empty() {
            p { "You have no invoices yet." }
        } @else {
            div.table-wrap {
                table.invoices {
                    caption.visually-hidden { "All invoices, newest first" }
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
                        @for invoice in invoices {
                            @let status = invoice.status(today);
                            tr.past-due[status == InvoiceStatus::PastDue] data-invoice=(invoice.number()) {
                                th scope="row" data-label="Invoice" { (invoice.number()) }
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
        }
    };
    page(chrome, "Invoices", body)
}
