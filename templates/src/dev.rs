//! Pages that exist only in local runs.

use maud::{html, Markup};
use portal_domain::Message;

use crate::layout::{page, Chrome};

/// `/_dev/outbox`: every message the local portal "sent", newest first.
pub fn outbox(chrome: &Chrome<'_>, messages: &[Message]) -> Markup {
    let body = html! {
        h1 { "Outbox" }
        p { "Emails the local portal would have sent. Newest first." }
        @if messages.is_empty() { p { "Nothing sent yet." } }
        @for (i, m) in messages.iter().enumerate().rev() {
            article.message id=(format!("message-{i}")) {
                h2 { (m.subject) }
                p.small { "To: " (m.to) }
                pre { (m.text) }
            }
        }
    };
    page(chrome, "Outbox", body)
}
