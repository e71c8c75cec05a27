//! Account security: the household's activity, and the member's signed-in devices.

use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use maud::{html, Markup};
use portal_domain::audit::AuditEvent;
use portal_domain::session::Device;

use crate::layout::{csrf, notice, page, Chrome};
use crate::routes::Route;

/// How many events a page of activity shows.
pub const EVENTS_PER_PAGE: usize = 50;

/// What an action is called on the activity page.
pub fn action_label(action: &str) -> &'static str {
    match action {
        "signin.succeeded" => "Signed in",
        "signin.failed" => "A wrong sign-in code was entered",
        "signin.locked" => "Sign-in code locked after too many wrong tries",
        "signout" => "Signed out",
        "sessions.ended-others" => "Signed out on every other device",
        "contact.updated" => "Contact details changed",
        "email.changed" => "Email address changed",
        "email.removed" => "Email address removed",
        "payment.succeeded" => "Payment made",
        "payment.declined" => "Payment declined",
        "payment.pending" => "Payment awaiting the processor's answer",
        "source.added" => "Payment method added",
        "source.removed" => "Payment method removed",
        "source.default" => "Default payment method changed",
        "membership.renewed" => "Membership renewed",
        "dependent.added" => "Dependent added",
        "agreement.signed" => "Agreement signed",
        "billing.shared" => "Billing shared",
        "billing.unshared" => "Billing no longer shared",
        "member.removal_requested" => "Removal of a member requested",
        "member.removed" => "Member removed from the membership",
        "member.removal_withdrawn" => "Removal request withdrawn",
        "membership.cancellation_requested" => "Cancellation requested",
        "membership.cancelled" => "Membership cancelled",
        "membership.cancellation_withdrawn" => "Cancellation request withdrawn",
        "reminder.sent" => "Reminder emailed",
        "autopay.on" => "Automatic payment turned on",
        "autopay.off" => "Automatic payment turned off",
        "reminders.on" => "Reminders turned on",
        "reminders.off" => "Reminders turned off",
        "reminders.unsubscribed" => "Reminders stopped from an email's link",
        _ => "Account change",
    }
}

fn when(at: DateTime<Utc>, tz: Tz) -> Markup {
    let local = at.with_timezone(&tz);
    // HTML takes at most milliseconds in a time: to the second is what the page shows anyway.
    html! { time datetime=(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)) { (local.format("%b %-d, %Y, %-I:%M %p").to_string()) } }
}

/// One event as the page shows it: who is named by the caller (ids are not names).
pub struct EventRow<'a> {
    pub event: &'a AuditEvent,
    pub who: String,
}

/// One page of the activity log: `newest` when it starts from the latest event; `older` is where
/// the next page continues, when there may be more.
pub fn activity_page(chrome: &Chrome<'_>, tz: Tz, rows: &[EventRow<'_>], newest: bool, older: Option<&str>, is_owner: bool) -> Markup {
    let body = html! {
        h1 { "Account activity" }
        p.lede {
            @if is_owner { "Sign-ins, payments and changes on your household's account, newest first. " }
            @else { "Your sign-ins and changes, newest first. " }
            "If you see something you did not do, "
            a href=(Route::Devices.path()) { "sign out your other devices" }
            " and call the practice."
        }
        @if rows.is_empty() {
            p {
                @if !newest { "There is no older activity." }
                @else if is_owner { "Nothing has happened on the account yet." }
                @else { "You have no activity on the account yet." }
            }
        } @else {
            div.table-wrap tabindex="0" role="region" aria-label="Account activity" {
                table.activity {
                    thead { tr { th scope="col" { "When" } th scope="col" { "What" } th scope="col" { "Who" } th scope="col" { "From" } } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { (when(row.event.at, tz)) }
                                td {
                                    (action_label(&row.event.action))
                                    @if let Some(detail) = &row.event.detail { br; small { (detail) } }
                                }
                                td { (row.who) }
                                td {
                                    @if row.event.device.is_empty() { "—" } @else { (row.event.device) }
                                    @if !row.event.ip.is_empty() { br; small { (row.event.ip) } }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if !newest || older.is_some() {
            nav.pager aria-label="Activity pages" {
                @if !newest { a href=(Route::Activity.path()) { "Newest activity" } }
                @if let Some(cursor) = older { a href={ (Route::Activity.path()) "?before=" (cursor) } rel="next" { "Older activity" } }
            }
        }
    };
    page(chrome, "Account activity", body)
}

pub fn devices_page(chrome: &Chrome<'_>, tz: Tz, csrf_token: &str, devices: &[Device], ended: Option<usize>) -> Markup {
    let others = devices.iter().filter(|d| !d.current).count();
    let body = html! {
        h1 { "Signed-in devices" }
        @if let Some(n) = ended {
            (notice(&match n { 0 => "No other device was signed in.".to_owned(), 1 => "Signed out on 1 other device.".to_owned(), n => format!("Signed out on {n} other devices.") }))
        }
        p.lede { "Where you are signed in to the portal now. A session ends after 30 minutes without use, and after 8 hours at most." }
        ul.devices {
            @for device in devices {
                li {
                    strong { (if device.session.device.is_empty() { "An unrecognised browser" } else { device.session.device.as_str() }) }
                    @if device.current { " " span.badge.current { "This device" } }
                    br;
                    small {
                        "Signed in " (when(device.session.created_at, tz))
                        " · last active " (when(device.session.last_seen, tz))
                        @if !device.session.ip.is_empty() { " · from " (device.session.ip) }
                    }
                }
            }
        }
        @if others > 0 {
            form method="post" action=(Route::SignOutOthers.path()) {
                (csrf(csrf_token))
                button.secondary type="submit" { "Sign out everywhere else" }
            }
        } @else {
            p { "You are not signed in anywhere else." }
        }
        p { a href=(Route::Activity.path()) { "See your account activity" } }
    };
    page(chrome, "Signed-in devices", body)
}
