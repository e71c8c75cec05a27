//! Receipts: the list by year, one payment's itemized receipt (page and PDF), and the yearly
//! summary PDF for HSA/FSA claims and taxes.

use maud::{html, Markup};
use portal_domain::receipts::{HsaCheck, Receipt, ReceiptLine, YearSummary};
use std::collections::BTreeMap;

use portal_domain::receipts::ReceiptGroup;
use portal_domain::{Household, MemberId, Practice};

use crate::date;
use crate::layout::{page, Chrome};
use crate::pdf::{Doc, MARGIN, RIGHT};
use crate::routes::Route;

/// Whom a receipt is for and who gave it.
pub struct Parties<'a> {
    pub practice: &'a Practice,
    pub household: &'a Household,
    /// The members' full names, by id.
    pub names: &'a BTreeMap<MemberId, String>,
}

impl Parties<'_> {
    /// A line's patient; a charge for no one member is the household's.
    fn patient(&self, id: Option<&MemberId>) -> String {
        id.and_then(|id| self.names.get(id)).cloned().unwrap_or_else(|| self.household.name.clone())
    }

    /// The provider's lines, as receipts print them: address, phone, and the ids an administrator asks for.
    fn provider_lines(&self) -> Vec<String> {
        let p = self.practice;
        let mut lines = vec![p.address.line1().to_owned()];
        lines.extend(p.address.line2().map(str::to_owned));
        lines.push(p.address.city_line());
        lines.push(format!("{} · {}", p.phone, p.email));
        if let Some(tax_id) = &p.tax_id {
            lines.push(format!("Tax ID (EIN) {tax_id}"));
        }
        if let Some(npi) = &p.npi {
            lines.push(format!("NPI {npi}"));
        }
        lines
    }
}

/// "Mar 1 – Mar 31, 2026", "from Mar 1, 2026", or the empty text.
fn period(line: &ReceiptLine) -> String {
    match line.period {
        Some((start, Some(end))) => format!("{} – {}", start.format("%b %-d, %Y"), end.format("%b %-d, %Y")),
        Some((start, None)) => format!("from {}", start.format("%b %-d, %Y")),
        None => String::new(),
    }
}

/// A receipt's link (its page or PDF), naming its invoices where the receipts list knows them.
pub fn link_of(route: Route, group: &ReceiptGroup) -> String {
    let named = group.invoice_keys().unwrap_or_default();
    route.receipt_link(&named.iter().map(|(id, issued)| (id, *issued)).collect::<Vec<_>>())
}

/// `/receipts`: the year's receipts, a link to each year's summary, and the other years.
pub fn list_page(chrome: &Chrome<'_>, household: &str, years: &[i32], year: Option<i32>, rows: &[ReceiptGroup]) -> Markup {
    let body = html! {
        p.back { a href=(Route::Invoices.path()) { "← All invoices" } }
        h1 { "Receipts" }
        p.lede { (household) }
        p { "An itemized receipt for every payment, and a yearly summary of everything paid, for your HSA or FSA and for taxes." }
        @match year {
            None => p #no-receipts { "No payments yet: receipts appear here once a payment goes through." },
            Some(year) => {
                @if years.len() > 1 {
                    nav.filters aria-label="Years" {
                        ul {
                            @for y in years {
                                li { a href={ (Route::Receipts.path()) "?year=" (y) } aria-current=[(*y == year).then_some("page")] { (y) } }
                            }
                        }
                    }
                }
                h2 #year-heading { "Paid in " (year) }
                div.actions { a.button.secondary #year-summary href=(Route::YearSummaryPdf(year).path()) download { (year) " summary (PDF)" } }
                div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                    table.receipts.stack aria-labelledby="year-heading" {
                        thead { tr { th scope="col" { "Date" } th scope="col" { "Invoices" } th scope="col" { "Paid with" } th scope="col" .num { "Amount" } } }
                        tbody {
                            @for row in rows {
                                tr {
                                    td data-label="Date" { a href=(link_of(Route::Receipt(row.id.clone()), row)) { (date(row.paid_on)) } }
                                    td data-label="Invoices" { (row.invoices()) }
                                    td data-label="Paid with" { (row.parts[0].method) }
                                    td.num data-label="Amount" { (row.total()) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(chrome, "Receipts", body)
}

/// `/receipts/{id}`: one payment, itemized.
/// `pdf` is its PDF's link (`Route::receipt_link`).
pub fn receipt_page(chrome: &Chrome<'_>, who: &Parties<'_>, r: &Receipt, pdf: &str) -> Markup {
    let body = html! {
        p.back { a href=(Route::Receipts.path()) { "← All receipts" } }
        h1 { "Receipt" }
        div.actions { a.button.secondary href=(pdf) download { "Download PDF" } }
        article.document {
            div.doc-head {
                div {
                    p.doc-practice { (who.practice.name) }
                    p.small { @for (i, line) in who.provider_lines().iter().enumerate() { @if i > 0 { br; } (line) } }
                }
                dl.doc-meta {
                    dt { "Receipt" } dd { (r.id) }
                    dt { "Paid" } dd #receipt-date { (date(r.paid_on)) }
                    dt { "Paid with" } dd { (r.method) }
                    dt { "Amount" } dd #receipt-total { (r.total) }
                }
            }
            p { "Received from " (who.household.name) "." }
            div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                table.lines.stack {
                    caption.visually-hidden { "What this payment paid, line by line" }
                    thead { tr { th scope="col" { "Patient" } th scope="col" { "Description" } th scope="col" { "Service period" } th scope="col" .num { "Paid" } } }
                    tbody {
                        @for line in &r.lines {
                            tr {
                                td data-label="Patient" { (who.patient(line.member.as_ref())) }
                                td data-label="Description" {
                                    // One box, so a stacked row on a phone keeps the two lines together.
                                    span {
                                        (line.description) br;
                                        span.small.muted { "Invoice " (line.invoice_number) @if line.paid != line.charged { ", " (line.charged) " charged" } }
                                    }
                                }
                                td data-label="Service period" { (period(line)) }
                                td.num data-label="Paid" { (line.paid) }
                            }
                        }
                    }
                    tfoot {
                        tr.due { th scope="row" colspan="3" { "Total paid" } td.num { (r.total) } }
                        @if !r.refunded.is_zero() { tr { th scope="row" colspan="3" { "Refunded since" } td.num #receipt-refunded { (r.refunded) } } }
                    }
                }
            }
        }
    };
    page(chrome, "Receipt", body)
}

/// The itemized receipt as a PDF: the same content as the page.
pub fn receipt_pdf(who: &Parties<'_>, r: &Receipt) -> Vec<u8> {
    let mut doc = Doc::new(&format!("Receipt {}", r.id), &format!("{} · Receipt {}", who.practice.name, r.id));
    doc.text(MARGIN, 16.0, true, &who.practice.name);
    doc.text_right(RIGHT, 16.0, true, "RECEIPT");
    doc.down(18.0);
    let meta = [
        format!("Receipt {}", r.id),
        format!("Paid {}", r.paid_on.format("%b %-d, %Y")),
        format!("Paid with {}", r.method),
        format!("Amount {}", r.total),
    ];
    let provider = who.provider_lines();
    for i in 0..provider.len().max(meta.len()) {
        if let Some(line) = provider.get(i) {
            doc.text(MARGIN, 9.0, false, line);
        }
        if let Some(line) = meta.get(i) {
            doc.text_right(RIGHT, 10.0, false, line);
        }
        doc.down(12.0);
    }
    doc.down(12.0);
    doc.text(MARGIN, 10.0, false, &format!("Received from {}", who.household.name));
    doc.down(24.0);
    let (patient_x, description_x, period_x) = (MARGIN, MARGIN + 110.0, MARGIN + 300.0);
    doc.text(patient_x, 9.0, true, "Patient");
    doc.text(description_x, 9.0, true, "Description");
    doc.text(period_x, 9.0, true, "Service period");
    doc.text_right(RIGHT, 9.0, true, "Paid");
    doc.down(6.0);
    doc.rule();
    doc.down(14.0);
    for line in &r.lines {
        doc.need(40.0);
        doc.text(patient_x, 10.0, false, &who.patient(line.member.as_ref()));
        doc.text(period_x, 10.0, false, &period(line));
        doc.text_right(RIGHT, 10.0, false, &line.paid.to_string());
        doc.paragraph(description_x, period_x - 8.0, 10.0, false, &line.description);
        let of = if line.paid == line.charged { String::new() } else { format!(", {} charged", line.charged) };
        doc.text(description_x, 8.0, false, &format!("Invoice {}{of}", line.invoice_number));
        doc.down(16.0);
    }
    doc.rule();
    doc.down(16.0);
    doc.text_right(RIGHT - 100.0, 10.0, true, "Total paid");
    doc.text_right(RIGHT, 10.0, true, &r.total.to_string());
    doc.down(15.0);
    if !r.refunded.is_zero() {
        doc.text_right(RIGHT - 100.0, 10.0, false, "Refunded since");
        doc.text_right(RIGHT, 10.0, false, &r.refunded.to_string());
        doc.down(15.0);
    }
    doc.finish()
}

const MONTHS: [&str; 12] =
    ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];

/// The yearly summary as a PDF: by member and month, membership fees apart from other charges,
/// with the totals, and (where the practice enables it) the HSA note.
pub fn year_pdf(who: &Parties<'_>, s: &YearSummary, hsa: Option<&HsaCheck>) -> Vec<u8> {
    let title = format!("{} payments summary", s.year);
    let mut doc = Doc::new(&title, &format!("{} · {} · {}", who.practice.name, who.household.name, title));
    doc.text(MARGIN, 16.0, true, &who.practice.name);
    doc.text_right(RIGHT, 16.0, true, &format!("{} SUMMARY", s.year));
    doc.down(18.0);
    for line in who.provider_lines() {
        doc.text(MARGIN, 9.0, false, &line);
        doc.down(12.0);
    }
    doc.down(8.0);
    doc.text(
        MARGIN,
        10.0,
        false,
        &format!("Everything {} paid from January 1 to December 31, {}, by the date of each payment.", who.household.name, s.year),
    );
    doc.down(24.0);
    if s.payments == 0 {
        doc.text(MARGIN, 10.0, false, &format!("No payments in {}.", s.year));
        doc.down(14.0);
    }
    let (month_x, membership_right, other_right) = (MARGIN + 20.0, RIGHT - 150.0, RIGHT - 75.0);
    for member in &s.members {
        doc.need(70.0);
        doc.text(MARGIN, 11.0, true, &who.patient(member.member.as_ref()));
        doc.down(16.0);
        doc.text(month_x, 9.0, true, "Month paid");
        doc.text_right(membership_right, 9.0, true, "Membership fees");
        doc.text_right(other_right, 9.0, true, "Other charges");
        doc.text_right(RIGHT, 9.0, true, "Total");
        doc.down(6.0);
        doc.rule();
        doc.down(14.0);
        for (month, paid) in &member.months {
            doc.need(14.0);
            doc.text(month_x, 10.0, false, MONTHS[*month as usize - 1]);
            doc.text_right(membership_right, 10.0, false, &paid.membership.to_string());
            doc.text_right(other_right, 10.0, false, &paid.other.to_string());
            doc.text_right(RIGHT, 10.0, false, &(paid.membership + paid.other).to_string());
            doc.down(14.0);
        }
        doc.text(month_x, 10.0, true, "Total");
        doc.text_right(membership_right, 10.0, true, &member.membership.to_string());
        doc.text_right(other_right, 10.0, true, &member.other.to_string());
        doc.text_right(RIGHT, 10.0, true, &(member.membership + member.other).to_string());
        doc.down(24.0);
    }
    doc.need(90.0);
    doc.rule();
    doc.down(16.0);
    let totals = [
        ("Membership fees", s.membership, false),
        ("Other charges (visits, labs)", s.other, false),
        (&*format!("Total paid in {} ({} payments)", s.year, s.payments), s.total, true),
    ];
    for (label, amount, bold) in totals {
        doc.text_right(RIGHT - 100.0, 10.0, bold, label);
        doc.text_right(RIGHT, 10.0, bold, &amount.to_string());
        doc.down(15.0);
    }
    if !s.refunded.is_zero() {
        doc.text_right(RIGHT - 100.0, 10.0, false, "Refunded since");
        doc.text_right(RIGHT, 10.0, false, &s.refunded.to_string());
        doc.down(15.0);
        doc.text_right(RIGHT - 100.0, 10.0, true, "Net paid");
        doc.text_right(RIGHT, 10.0, true, &s.total.saturating_sub(s.refunded).to_string());
        doc.down(15.0);
    }
    if let Some(hsa) = hsa {
        doc.down(12.0);
        doc.need(60.0);
        doc.text(MARGIN, 10.0, true, "Health savings account (HSA)");
        doc.down(14.0);
        doc.paragraph(MARGIN, RIGHT, 9.0, false, &hsa_note(hsa));
    }
    doc.finish()
}

/// The plain note on the HSA limit for direct-primary-care arrangements.
pub fn hsa_note(hsa: &HsaCheck) -> String {
    let people = if hsa.people == 1 { "one person".to_owned() } else { format!("{} people", hsa.people) };
    let verdict = if hsa.within { "is within" } else { "is above" };
    format!(
        "The membership fee of {} a month for {people} {verdict} the {} a month limit for a direct primary care arrangement \
         that may be paid from an HSA without affecting HSA eligibility (US law from 2026: {} a month for one person, {} for \
         more than one). Membership fees are listed apart from other charges, which an HSA treats differently. This is not \
         tax advice; your HSA or FSA administrator decides what it reimburses.",
        hsa.monthly_fee,
        hsa.limit,
        portal_domain::receipts::HSA_DPC_LIMIT_ONE,
        portal_domain::receipts::HSA_DPC_LIMIT_FAMILY,
    )
}
