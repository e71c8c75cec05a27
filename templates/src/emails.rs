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
    Message { to: to.to_owned(), subject, html, text }
}
