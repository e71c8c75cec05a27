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

/// `/_dev/feed`: the practice change feed the local portal has written, newest first (what the
/// practice's system would be sent).
pub fn feed(chrome: &Chrome<'_>, events: &[portal_domain::feed::FeedEvent]) -> Markup {
    let body = html! {
        h1 { "Practice feed" }
        p { "Every change patients made, as the practice's system is told of it (docs/practice-feed.md). Newest first." }
        @if events.is_empty() { p { "No changes yet." } }
        @for e in events.iter().rev() {
            article.message id=(e.id) {
                h2 { (e.kind) }
                p.small { "Household " (e.household) " · " (e.at.format("%Y-%m-%d %H:%M:%S UTC")) " · cursor " code { (e.cursor) } }
                pre { (serde_json::to_string_pretty(&e.data).unwrap_or_default()) }
            }
        }
    };
    page(chrome, "Practice feed", body)
}
