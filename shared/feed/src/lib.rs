//! portal-feed: how the practice hears of what patients do (`docs/practice-feed.md`).
//!
//! The domain writes each change's event in the change's own transaction (`portal_domain::feed`).
//! This crate takes them from there to the practice: signed webhooks (the Standard Webhooks
//! scheme), the handler of the table's DynamoDB Stream that posts them in order, and the daily
//! digest emailed to the practice's staff.

pub mod digest;
pub mod signature;
pub mod stream;
pub mod webhook;

pub use signature::{Secret, SignatureError};
pub use stream::{BatchResponse, StreamEvent};
pub use webhook::{Delivery, Retry, Webhook};
