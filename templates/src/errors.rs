//! Error pages: what went wrong in words a patient understands, never internal details.

use maud::{html, Markup};

use crate::layout::{page, Chrome};
use crate::routes::Route;

/// The page for an HTTP error status. `request_id` lets the practice find the log line.
pub fn error_page(chrome: &Chrome<'_>, status: u16, message: Option<&str>, request_id: &str) -> Markup {
    let (title, default_message) = match status {
        400 => ("Something in that request was not right", "Please go back and try again."),
        403 => ("That action was not allowed", "The form may have expired. Go back, reload the page and try again."),
        404 => ("Page not found", "There is nothing here, or it is not part of your account."),
        409 => ("That changed in the meantime", "Someone else changed this at the same time. Reload to see the latest and try again."),
        413 => ("That was too large", "Please send less and try again."),
        429 => ("Too many tries", "Please wait a little and try again."),
        503 => ("The portal is busy", "We could not finish that just now. Nothing was changed. Please try again in a minute."),
        _ => ("Something went wrong", "We could not finish that. Please try again."),
    };
    let body = html! {
        div.narrow {
            h1 { (title) }
            p { (message.unwrap_or(default_message)) }
            p { a href=(Route::Home.path()) { "Go to your portal" } }
            p.small.muted { "Reference: " code { (request_id) } }
        }
    };
    page(chrome, title, body)
}
