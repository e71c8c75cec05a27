//! Email bodies, each as HTML and plain text.

use maud::html;
use portal_domain::Message;

/// The sign-in code email.
pub fn signin_code(to: &str, practice: &str, code: &str, minutes: i64) -> Message {
    let subject = format!("{code} is your {practice} sign-in code");
    let html = html! {
        p { "Hello," }
        p { "Use this code to sign in to your " (practice) " patient portal:" }
        p style="font-size:28px;font-weight:bold;letter-spacing:4px" { (code) }
        p { "It works once, for " (minutes) " minutes." }
        p { "If you did not ask for it, you can ignore this email: nobody can sign in without the code." }
        p { (practice) }
    }
    .into_string();
    let text = format!(
        "Hello,\n\nUse this code to sign in to your {practice} patient portal:\n\n    {code}\n\nIt works once, for {minutes} minutes.\n\nIf you did not ask for it, you can ignore this email: nobody can sign in without the code.\n\n{practice}\n"
    );
    Message { to: to.to_owned(), subject, html, text, headers: Vec::new() }
}

/// The receipt emailed to the household's owner after a payment goes through.
pub struct ReceiptEmail<'a> {
    pub to: &'a str,
    pub practice: &'a str,
    /// The invoices it paid (one, or several for "Pay total due").
    pub invoice_numbers: &'a [&'a str],
    pub amount: String,
    pub source: String,
    pub new_balance: String,
    /// The portal's receipt number (the payment's id).
    pub reference: &'a str,
    /// When it was paid, in the practice's words ("Nov 30, 2026"), and who the household is.
    pub date: String,
    pub household: &'a str,
    pub receipt_url: String,
}

pub fn receipt(r: &ReceiptEmail<'_>) -> Message {
    let subject = format!("Receipt: {} paid on {}", r.amount, portal_domain::pay::invoices_phrase(r.invoice_numbers));
    let label = if r.invoice_numbers.len() == 1 { "Invoice" } else { "Invoices" };
    let numbers = r.invoice_numbers.join(", ");
    let html = html! {
        p { "Thank you for your payment to " (r.practice) "." }
        table {
            tr { th align="left" { "Date" } td { (r.date) } }
            tr { th align="left" { "Account" } td { (r.household) } }
            tr { th align="left" { (label) } td { (numbers) } }
            tr { th align="left" { "Amount" } td { (r.amount) } }
            tr { th align="left" { "Paid with" } td { (r.source) } }
            tr { th align="left" { "New balance" } td { (r.new_balance) } }
            tr { th align="left" { "Receipt number" } td { (r.reference) } }
        }
        p { a href=(r.receipt_url) { "View the receipt" } }
    }
    .into_string();
    let text = format!(
        "Thank you for your payment to {}.\n\nDate: {}\nAccount: {}\n{label}: {}\nAmount: {}\nPaid with: {}\nNew balance: {}\nReceipt number: {}\n\nView the receipt: {}\n",
        r.practice, r.date, r.household, numbers, r.amount, r.source, r.new_balance, r.reference, r.receipt_url
    );
    Message { to: r.to.to_owned(), subject, html, text, headers: Vec::new() }
}

/// The daily digest for the practice's staff: what patients changed on `day`, by heading.
pub fn staff_digest(to: &str, practice: &str, day: chrono::NaiveDate, sections: &[(&str, Vec<String>)]) -> Message {
    let intro = format!(
        "What patients changed in the portal on {}. Each change was also sent to your practice system's feed.",
        day.format("%A, %B %-d, %Y")
    );
    let html = html! {
        p { (intro) }
        @for (heading, lines) in sections {
            h2 { (heading) }
            ul { @for line in lines { li { (line) } } }
        }
    }
    .into_string();
    let mut text = format!("{intro}\n");
    for (heading, lines) in sections {
        text.push_str(&format!("\n{heading}\n"));
        for line in lines {
            text.push_str(&format!("- {line}\n"));
        }
    }
    Message {
        to: to.to_owned(),
        subject: format!("{practice}: portal changes for {}", day.format("%b %-d, %Y")),
        html,
        text,
        headers: Vec::new(),
    }
}

/// A short notice to the household's owner: a subject, a few lines, and a link.
pub fn notice(to: &str, practice: &str, subject: &str, lines: &[String], link: &str) -> Message {
    let html = html! {
        @for line in lines { p { (line) } }
        p { a href=(link) { "Open your patient portal" } }
        p { (practice) }
    }
    .into_string();
    let text = format!("{}\n\nOpen your patient portal: {link}\n\n{practice}\n", lines.join("\n\n"));
    Message { to: to.to_owned(), subject: subject.to_owned(), html, text, headers: Vec::new() }
}

/// A reminder: what is due, and the recipient's own link to the page in question (it asks for a
/// code sent to this address before showing anything).
/// `unsubscribe` is the one-click address that turns this member's reminders off (RFC 8058: the
/// `List-Unsubscribe` headers, and a link in the text).
pub fn reminder(to: &str, practice: &str, subject: &str, lines: &[String], link: &str, unsubscribe: &str) -> Message {
    let html = html! {
        @for line in lines { p { (line) } }
        p { a href=(link) { "Open it in your patient portal" } }
        p style="color:#555;font-size:13px" { "For your privacy the link asks for a code we email to this address. " (practice) }
        p style="color:#555;font-size:13px" { a href=(unsubscribe) { "Stop these reminders" } " (receipts and sign-in codes still come)." }
    }
    .into_string();
    let text = format!(
        "{}\n\nOpen it in your patient portal: {link}\n\nFor your privacy the link asks for a code we email to this address.\n{practice}\n\nStop these reminders (receipts and sign-in codes still come): {unsubscribe}\n",
        lines.join("\n\n")
    );
    let headers = vec![
        ("List-Unsubscribe".to_owned(), format!("<{unsubscribe}>")),
        ("List-Unsubscribe-Post".to_owned(), "List-Unsubscribe=One-Click".to_owned()),
    ];
    Message { to: to.to_owned(), subject: subject.to_owned(), html, text, headers }
}

/// The code that confirms a new email address.
pub fn email_change_code(to: &str, practice: &str, code: &str, minutes: i64) -> Message {
    let subject = format!("{code} confirms your new email for {practice}");
    let html = html! {
        p { "Use this code to confirm this address for your " (practice) " patient portal:" }
        p style="font-size:28px;font-weight:bold;letter-spacing:4px" { (code) }
        p { "It works once, for " (minutes) " minutes. If you did not ask for this, ignore this email: nothing changes without the code." }
    }
    .into_string();
    let text = format!(
        "Use this code to confirm this address for your {practice} patient portal:\n\n    {code}\n\nIt works once, for {minutes} minutes. If you did not ask for this, ignore this email: nothing changes without the code.\n"
    );
    Message { to: to.to_owned(), subject, html, text, headers: Vec::new() }
}

/// The access link a practice sends a member: one click to the portal's sign-in for their address.
pub fn access_link(to: &str, practice: &str, link: &str, days: i64) -> Message {
    let subject = format!("Your {practice} patient portal");
    let html = html! {
        p { "Hello," }
        p { (practice) " has a patient portal where you can see and pay your invoices, review your membership, keep your contact details up to date and sign documents." }
        p { a href=(link) { "Open your patient portal" } }
        p { "The link works for " (days) " days. It does not sign you in by itself: you will be emailed a one-time code to finish signing in." }
        p { "If you were not expecting this email, you can ignore it." }
        p { (practice) }
    }
    .into_string();
    let text = format!(
        "Hello,\n\n{practice} has a patient portal where you can see and pay your invoices, review your membership, keep your contact details up to date and sign documents.\n\nOpen your patient portal: {link}\n\nThe link works for {days} days. It does not sign you in by itself: you will be emailed a one-time code to finish signing in.\n\nIf you were not expecting this email, you can ignore it.\n\n{practice}\n"
    );
    Message { to: to.to_owned(), subject, html, text, headers: Vec::new() }
}
