//! Account statements: the page and the PDF.

use maud::{html, Markup};
use portal_domain::statement::{ActivityKind, Statement};

use crate::date;
use crate::layout::{field, page, Chrome, Field};
use crate::pdf::{Doc, MARGIN, RIGHT};
use crate::routes::Route;

/// The period form, on the statement page and the invoice overview.
pub fn period_form(from: &str, to: &str, error: Option<&str>) -> Markup {
    html! {
        form.period method="get" action=(Route::Statement.path()) aria-labelledby="statement-heading" {
            @if let Some(error) = error { p.error #period-error role="alert" { (error) } }
            div.inline-fields {
                (field(&Field { kind: "date", value: from, ..Field::new("from", "From") }))
                (field(&Field { kind: "date", value: to, ..Field::new("to", "To") }))
                button.primary type="submit" { "Show statement" }
            }
        }
    }
}

fn pdf_link(s: &Statement) -> String {
    format!("{}?from={}&to={}", Route::StatementPdf.path(), s.from.format("%Y-%m-%d"), s.to.format("%Y-%m-%d"))
}

/// `/statement`: the period form and, when the period is valid, the statement.
pub fn page_for(chrome: &Chrome<'_>, household: &str, from: &str, to: &str, error: Option<&str>, statement: Option<&Statement>) -> Markup {
    let body = html! {
        p.back { a href=(Route::Invoices.path()) { "← All invoices" } }
        h1 #statement-heading { "Account statement" }
        p.lede { (household) }
        (period_form(from, to, error))
        @if let Some(s) = statement {
            div.actions { a.button.secondary href=(pdf_link(s)) download { "Download PDF" } }
            h2 { (date(s.from)) " to " (date(s.to)) }
            div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                table.statement.stack {
                    caption.visually-hidden { "Charges and payments in date order, with the running balance" }
                    thead { tr { th scope="col" { "Date" } th scope="col" { "Description" } th scope="col" .num { "Charges" } th scope="col" .num { "Payments" } th scope="col" .num { "Balance" } } }
                    tbody {
                        tr.opening { td data-label="Date" { (date(s.from)) } th scope="row" data-label="Description" { "Opening balance" } td.num {} td.num {} td.num data-label="Balance" { span #opening-balance { (s.opening) } } }
                        @if s.lines.is_empty() {
                            tr { td colspan="5" { "No charges or payments in this period." } }
                        }
                        @for line in &s.lines {
                            tr {
                                td data-label="Date" { (date(line.activity.date)) }
                                td data-label="Description" { (line.activity.description) }
                                @match line.activity.kind {
                                    ActivityKind::Charge => { td.num data-label="Charges" { (line.activity.amount) } td.num {} }
                                    ActivityKind::Payment => { td.num {} td.num data-label="Payments" { (line.activity.amount) } }
                                }
                                td.num data-label="Balance" { (line.balance) }
                            }
                        }
                    }
                    tfoot {
                        tr { th scope="row" colspan="2" { "Totals" } td.num data-label="Charges" { span #total-charges { (s.charges) } } td.num data-label="Payments" { span #total-payments { (s.payments) } } td.num {} }
                        tr.due { th scope="row" colspan="4" { "Closing balance" } td.num { span #closing-balance { (s.closing) } } }
                    }
                }
            }
        }
    };
    page(chrome, "Account statement", body)
}

/// The statement as a PDF.
pub fn pdf(practice: &str, household: &str, s: &Statement) -> Vec<u8> {
    let period = format!("{} to {}", s.from.format("%b %-d, %Y"), s.to.format("%b %-d, %Y"));
    let mut doc = Doc::new(&format!("Account statement {period}"), &format!("{practice} · Statement {period}"));
    doc.text(MARGIN, 16.0, true, practice);
    doc.text_right(RIGHT, 16.0, true, "STATEMENT");
    doc.down(20.0);
    doc.text(MARGIN, 10.0, false, household);
    doc.text_right(RIGHT, 10.0, false, &period);
    doc.down(28.0);
    let (date_x, description_x, charges_right, payments_right) = (MARGIN, MARGIN + 80.0, RIGHT - 150.0, RIGHT - 75.0);
    doc.text(date_x, 9.0, true, "Date");
    doc.text(description_x, 9.0, true, "Description");
    doc.text_right(charges_right, 9.0, true, "Charges");
    doc.text_right(payments_right, 9.0, true, "Payments");
    doc.text_right(RIGHT, 9.0, true, "Balance");
    doc.down(6.0);
    doc.rule();
    doc.down(14.0);
    doc.text(date_x, 10.0, false, &s.from.format("%b %-d, %Y").to_string());
    doc.text(description_x, 10.0, true, "Opening balance");
    doc.text_right(RIGHT, 10.0, false, &s.opening.to_string());
    doc.down(14.0);
    if s.lines.is_empty() {
        doc.text(description_x, 10.0, false, "No charges or payments in this period.");
        doc.down(14.0);
    }
    for line in &s.lines {
        doc.need(14.0);
        doc.text(date_x, 10.0, false, &line.activity.date.format("%b %-d, %Y").to_string());
        let amount = line.activity.amount.to_string();
        match line.activity.kind {
            ActivityKind::Charge => doc.text_right(charges_right, 10.0, false, &amount),
            ActivityKind::Payment => doc.text_right(payments_right, 10.0, false, &amount),
        }
        doc.text_right(RIGHT, 10.0, false, &line.balance.to_string());
        doc.paragraph(description_x, charges_right - 70.0, 10.0, false, &line.activity.description);
    }
    doc.rule();
    doc.down(16.0);
    doc.need(40.0);
    doc.text(description_x, 10.0, true, "Totals");
    doc.text_right(charges_right, 10.0, true, &s.charges.to_string());
    doc.text_right(payments_right, 10.0, true, &s.payments.to_string());
    doc.down(16.0);
    doc.text(description_x, 11.0, true, "Closing balance");
    doc.text_right(RIGHT, 11.0, true, &s.closing.to_string());
    doc.finish()
}
