//! One invoice: the detail page, its print view, and its PDF.

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::{Household, Invoice, InvoiceStatus, Payment, PaymentStatus, Practice};

use crate::layout::{page, Chrome};
use crate::pdf::{Doc, MARGIN, RIGHT};
use crate::routes::Route;
use crate::{date, status_badge};

/// Everything an invoice shows.
pub struct InvoiceView<'a> {
    pub practice: &'a Practice,
    pub household: &'a Household,
    /// The household's members' full names, by id.
    pub names: &'a std::collections::BTreeMap<portal_domain::MemberId, String>,
    pub invoice: &'a Invoice,
    /// The payments applied to it, each with the practice's date it was made.
    pub payments: Vec<(&'a Payment, NaiveDate)>,
    pub today: NaiveDate,
}

impl InvoiceView<'_> {
    fn member_name(&self, id: Option<&portal_domain::MemberId>) -> String {
        id.and_then(|id| self.names.get(id)).cloned().unwrap_or_default()
    }

    fn owner_name(&self) -> String {
        self.member_name(Some(&self.household.owner))
    }

    fn period(line: &portal_domain::LineItem) -> String {
        match (line.period_start, line.period_end) {
            (Some(s), Some(e)) => format!("{} – {}", s.format("%b %-d, %Y"), e.format("%b %-d, %Y")),
            (Some(s), None) => format!("from {}", s.format("%b %-d, %Y")),
            _ => String::new(),
        }
    }
}

/// A payment's status as the invoice lists it, with what came back after it went through.
fn payment_status(payment: &Payment) -> String {
    let status = match payment.status {
        PaymentStatus::Pending => "Processing",
        PaymentStatus::Succeeded => "Paid",
        PaymentStatus::Declined(_) => "Declined",
        PaymentStatus::Failed(_) => "Failed",
    };
    let mut text = status.to_owned();
    if !payment.reversals.refunded.is_zero() {
        text.push_str(&format!(" · {} refunded", payment.reversals.refunded));
    }
    if payment.reversals.disputed {
        text.push_str(" · disputed");
    }
    text
}

/// The invoice as a document: shared by the page and the print view.
fn document(v: &InvoiceView<'_>) -> Markup {
    let invoice = v.invoice;
    html! {
        article.document {
            div.doc-head {
                div {
                    p.doc-practice { (v.practice.name) }
                    p.small {
                        (v.practice.address.line1()) br;
                        @if let Some(l2) = v.practice.address.line2() { (l2) br; }
                        (v.practice.address.city_line()) br;
                        (v.practice.phone) " · " (v.practice.email)
                    }
                }
                dl.doc-meta {
                    dt { "Invoice" } dd { (invoice.number()) }
                    dt { "Issued" } dd { (date(invoice.issued())) }
                    dt { "Due" } dd { (date(invoice.due())) }
                    dt { "Status" } dd { (status_badge(invoice.status(v.today))) }
                }
            }
            section.bill-to aria-labelledby="bill-to" {
                h2 #bill-to { "Bill to" }
                p {
                    (v.household.name) br;
                    (v.owner_name())
                    @if let Some(a) = &v.household.billing_address {
                        br; (a.line1())
                        @if let Some(l2) = a.line2() { br; (l2) }
                        br; (a.city_line())
                    }
                }
            }
            div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                table.lines.stack {
                    caption.visually-hidden { "Charges on this invoice" }
                    thead { tr { th scope="col" { "Member" } th scope="col" { "Description" } th scope="col" { "Service period" } th scope="col" .num { "Amount" } } }
                    tbody {
                        @for line in invoice.lines() {
                            tr {
                                td data-label="Member" { (v.member_name(line.member.as_ref())) }
                                td data-label="Description" { (line.description) }
                                td data-label="Service period" { (InvoiceView::period(line)) }
                                td.num data-label="Amount" { (line.amount) }
                            }
                        }
                    }
                    tfoot {
                        tr { th scope="row" colspan="3" { "Total" } td.num #invoice-total { (invoice.total()) } }
                        tr { th scope="row" colspan="3" { "Paid" } td.num #invoice-paid { (invoice.paid()) } }
                        tr.due { th scope="row" colspan="3" { "Balance due" } td.num #invoice-balance { (invoice.balance()) } }
                    }
                }
            }
            section aria-labelledby="payments-heading" {
                h2 #payments-heading { "Payments" }
                @if v.payments.is_empty() {
                    p { "No payments yet." }
                } @else {
                    div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                        table.payments.stack {
                            thead { tr { th scope="col" { "Date" } th scope="col" { "Paid with" } th scope="col" { "Status" } th scope="col" .num { "Amount" } } }
                            tbody {
                                @for (p, day) in &v.payments {
                                    tr {
                                        td data-label="Date" { (date(*day)) }
                                        td data-label="Paid with" { (p.source.describe()) }
                                        td data-label="Status" {
                                            (payment_status(p))
                                            @if p.status == PaymentStatus::Succeeded {
                                                " · " a href=(receipt_of(p, v.invoice)) { "Receipt" }
                                            }
                                        }
                                        td.num data-label="Amount" { (p.amount) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `/invoices/{id}`: the invoice with its actions.
pub fn detail(chrome: &Chrome<'_>, v: &InvoiceView<'_>) -> Markup {
    let invoice = v.invoice;
    let body = html! {
        p.back { a href=(Route::Invoices.path()) { "← All invoices" } }
        h1 { "Invoice " (invoice.number()) }
        div.actions {
            @if !invoice.payable().is_zero() && invoice.status(v.today) != InvoiceStatus::Void {
                a.button href=(Route::PayInvoice(invoice.id().clone()).pay_link(invoice.issued())) { "Pay " (invoice.payable()) }
            }
            a.button.secondary #print href={ (Route::Invoice(invoice.id().clone()).invoice_link(invoice.issued())) "&print=1" } { "Print" }
            a.button.secondary href=(Route::InvoicePdf(invoice.id().clone()).invoice_link(invoice.issued())) download { "Download PDF" }
        }
        (document(v))
    };
    page(chrome, &format!("Invoice {}", invoice.number()), body)
}

/// The print view: the document alone, which prints on one page.
pub fn print_view(chrome: &Chrome<'_>, v: &InvoiceView<'_>) -> Markup {
    let body = html! {
        p.print-hint { "Use your browser's Print command to print this invoice. " a href=(Route::Invoice(v.invoice.id().clone()).invoice_link(v.invoice.issued())) { "Back to the invoice" } }
        (document(v))
    };
    crate::layout::print_page(chrome, &format!("Invoice {}", v.invoice.number()), body)
}

/// The invoice as a PDF, with the same content as the page.
pub fn pdf(v: &InvoiceView<'_>) -> Vec<u8> {
    let invoice = v.invoice;
    let mut doc = Doc::new(&format!("Invoice {}", invoice.number()), &format!("{} · Invoice {}", v.practice.name, invoice.number()));
    doc.text(MARGIN, 16.0, true, &v.practice.name);
    doc.text_right(RIGHT, 16.0, true, "INVOICE");
    doc.down(18.0);
    doc.text(MARGIN, 9.0, false, v.practice.address.line1());
    doc.text_right(RIGHT, 10.0, false, &format!("Invoice {}", invoice.number()));
    doc.down(12.0);
    doc.text(MARGIN, 9.0, false, &v.practice.address.city_line());
    doc.text_right(RIGHT, 10.0, false, &format!("Issued {}", invoice.issued().format("%b %-d, %Y")));
    doc.down(12.0);
    doc.text(MARGIN, 9.0, false, &format!("{} · {}", v.practice.phone, v.practice.email));
    doc.text_right(RIGHT, 10.0, false, &format!("Due {}", invoice.due().format("%b %-d, %Y")));
    doc.down(12.0);
    doc.text_right(RIGHT, 10.0, true, &format!("Status: {}", invoice.status(v.today).label()));
    doc.down(24.0);
    doc.text(MARGIN, 10.0, true, "Bill to");
    doc.down(13.0);
    let mut bill_to = vec![v.household.name.clone(), v.owner_name()];
    if let Some(a) = &v.household.billing_address {
        bill_to.push(a.line1().to_owned());
        bill_to.extend(a.line2().map(str::to_owned));
        bill_to.push(a.city_line());
    }
    for line in bill_to {
        doc.text(MARGIN, 10.0, false, &line);
        doc.down(13.0);
    }
    doc.down(12.0);
    let (member_x, description_x, period_x) = (MARGIN, MARGIN + 110.0, MARGIN + 300.0);
    doc.text(member_x, 9.0, true, "Member");
    doc.text(description_x, 9.0, true, "Description");
    doc.text(period_x, 9.0, true, "Service period");
    doc.text_right(RIGHT, 9.0, true, "Amount");
    doc.down(6.0);
    doc.rule();
    doc.down(14.0);
    for line in invoice.lines() {
        doc.need(28.0);
        doc.text(member_x, 10.0, false, &v.member_name(line.member.as_ref()));
        doc.text(period_x, 10.0, false, &InvoiceView::period(line));
        doc.text_right(RIGHT, 10.0, false, &line.amount.to_string());
        doc.paragraph(description_x, period_x - 8.0, 10.0, false, &line.description);
        doc.down(4.0);
    }
    doc.rule();
    doc.down(16.0);
    for (label, amount, bold) in
        [("Total", invoice.total(), false), ("Paid", invoice.paid(), false), ("Balance due", invoice.balance(), true)]
    {
        doc.text_right(RIGHT - 100.0, 10.0, bold, label);
        doc.text_right(RIGHT, 10.0, bold, &amount.to_string());
        doc.down(15.0);
    }
    doc.down(12.0);
    doc.need(40.0);
    doc.text(MARGIN, 11.0, true, "Payments");
    doc.down(16.0);
    if v.payments.is_empty() {
        doc.text(MARGIN, 10.0, false, "No payments yet.");
        doc.down(14.0);
    }
    for (p, day) in &v.payments {
        doc.need(14.0);
        doc.text(MARGIN, 10.0, false, &day.format("%b %-d, %Y").to_string());
        doc.text(MARGIN + 110.0, 10.0, false, &p.source.describe());
        doc.text(MARGIN + 300.0, 10.0, false, &payment_status(p));
        doc.text_right(RIGHT, 10.0, false, &p.amount.to_string());
        doc.down(14.0);
    }
    doc.finish()
}

/// The link of the receipt of `p`, a payment on `invoice`: one of this invoice alone names it
/// (`Route::receipt_link`); a part of a payment of several invoices links without.
fn receipt_of(p: &portal_domain::Payment, invoice: &portal_domain::Invoice) -> String {
    match &p.batch {
        None => Route::Receipt(p.id.clone()).receipt_link(&[(invoice.id(), invoice.issued())]),
        Some(first) => Route::Receipt(first.clone()).path(),
    }
}
