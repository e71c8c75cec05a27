//! portal-templates: the portal's pages, components and emails (maud), and the route table.

pub mod agreements;
pub mod dev;
pub mod done;
pub mod emails;
pub mod errors;
pub mod invoice;
pub mod invoices;
pub mod layout;
pub mod members;
pub mod memberships;
pub mod pay;
pub mod pdf;
pub mod receipts;
pub mod routes;
pub mod security;
pub mod signin;
pub mod statement;

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::InvoiceStatus;

/// The stylesheet served at [`routes::STYLESHEET_PATH`].
pub const STYLESHEET: &str = include_str!("portal.css");

/// The script served at [`routes::SCRIPT_PATH`]: only enhancements, such as opening the print dialog.
pub const SCRIPT: &str = include_str!("portal.js");

/// A date as patients read it: `Nov 26, 2026`, in a `<time>` element.
pub fn date(d: NaiveDate) -> Markup {
    html! { time datetime=(d.format("%Y-%m-%d").to_string()) { (d.format("%b %-d, %Y").to_string()) } }
}

/// An invoice status as a coloured badge.
pub fn status_badge(status: InvoiceStatus) -> Markup {
    html! { span.badge.(status.slug()) { (status.label()) } }
}

#[cfg(test)]
mod tests;
