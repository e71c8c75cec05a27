//! The daily staff digest: what patients changed on one day that the front desk must act on, in
//! plain words. It names patients and amounts, never card or bank numbers, and nothing clinical;
//! a day with no changes sends nothing.

use chrono::NaiveDate;
use portal_domain::feed::FeedEvent;
use portal_domain::ports::Message;
use serde_json::Value as Json;

fn text(v: &Json) -> &str {
    v.as_str().unwrap_or("")
}

fn name(member: &Json) -> String {
    format!("{} {}", text(&member["first_name"]), text(&member["last_name"])).trim().to_owned()
}

fn address(a: &Json) -> String {
    if a.is_null() {
        return "no address".into();
    }
    let line2 = text(&a["line2"]);
    let street = if line2.is_empty() { text(&a["line1"]).to_owned() } else { format!("{}, {line2}", text(&a["line1"])) };
    format!("{street}, {}, {} {}", text(&a["city"]), text(&a["state"]), text(&a["postal_code"]))
}

fn money(v: &Json) -> String {
    format!("${}", text(v))
}

/// One section of the digest: a heading and its lines.
struct Section {
    heading: &'static str,
    lines: Vec<String>,
}

/// The digest of `events` (one day's, in order) for the practice's staff, or `None` when nothing changed.
pub fn compose(events: &[FeedEvent], practice: &str, to: &str, day: NaiveDate) -> Option<Message> {
    if events.is_empty() {
        return None;
    }
    let mut dependents = Section { heading: "New members to bill", lines: Vec::new() };
    let mut renewals = Section { heading: "Memberships renewed", lines: Vec::new() };
    let mut addresses = Section { heading: "New addresses", lines: Vec::new() };
    let mut contacts = Section { heading: "Other contact details changed", lines: Vec::new() };
    let mut failed = Section { heading: "Bank payments that failed", lines: Vec::new() };
    let mut disputes = Section { heading: "Refunds and disputes recorded", lines: Vec::new() };
    let mut signed = Section { heading: "Agreements signed", lines: Vec::new() };
    let mut leaving = Section { heading: "Cancellations and removals", lines: Vec::new() };
    let mut paid = (0usize, rust_decimal::Decimal::ZERO);
    let mut methods = 0usize;
    for e in events {
        let d = &e.data;
        let household = e.household.as_str();
        match e.kind.as_str() {
            "member.enrolled" => dependents.lines.push(format!(
                "{} joined membership {} (plan {}) from {} at {} (household {household})",
                name(&d["member"]),
                text(&d["membership"]["id"]),
                text(&d["plan"]),
                text(&d["start"]),
                money(&d["rate"]),
            )),
            "membership.renewed" => renewals.lines.push(format!(
                "Membership {} renewed as {}: {} to {}, {} a period (household {household})",
                text(&d["previous"]["id"]),
                text(&d["membership"]["id"]),
                text(&d["membership"]["contract_start"]),
                text(&d["membership"]["contract_end"]),
                money(&d["rate"]),
            )),
            "member.contact_changed" | "member.email_verified" => {
                let fields: Vec<&str> = match e.kind.as_str() {
                    "member.email_verified" => vec!["email"],
                    _ => d["fields"].as_array().map(|f| f.iter().map(text).collect()).unwrap_or_default(),
                };
                if fields.contains(&"address") {
                    addresses.lines.push(format!("{}: {}", name(&d["member"]), address(&d["member"]["address"])));
                }
                let others: Vec<&str> = fields.iter().copied().filter(|f| *f != "address").map(label).collect();
                if !others.is_empty() {
                    contacts.lines.push(format!("{}: {}", name(&d["member"]), others.join(", ")));
                }
            }
            "payment.failed" if text(&d["payment"]["source"]["type"]) == "bank_account" => failed.lines.push(format!(
                "{} for invoice {} (household {household}): {}",
                money(&d["payment"]["amount"]),
                text(&d["payment"]["invoice"]),
                text(&d["payment"]["reason"]),
            )),
            "payment.succeeded" => {
                paid.0 += 1;
                paid.1 += text(&d["payment"]["amount"]).parse::<rust_decimal::Decimal>().unwrap_or_default();
            }
            "payment.refunded" => disputes.lines.push(format!(
                "Payment {} (household {household}): {} refunded in all",
                text(&d["payment"]["id"]),
                money(&d["reversals"]["refunded"]),
            )),
            "payment.disputed" => disputes.lines.push(format!(
                "Payment {} of {} (household {household}): the patient's bank opened a dispute",
                text(&d["payment"]["id"]),
                money(&d["payment"]["amount"]),
            )),
            "agreement.signed" => signed.lines.push(format!(
                "{} (version {}) signed by {} (household {household})",
                text(&d["agreement"]["title"]),
                text(&d["version"]),
                text(&d["agreement"]["signature"]["signer_name"]),
            )),
            "member.removal_requested"
            | "member.removed"
            | "membership.cancellation_requested"
            | "membership.cancelled"
            | "membership.leaving_withdrawn" => {
                let what = match e.kind.as_str() {
                    "member.removal_requested" => "Removal requested (to confirm)",
                    "member.removed" => "Member removed",
                    "membership.cancellation_requested" => "Cancellation requested (to confirm)",
                    "membership.cancelled" => "Membership cancelled",
                    _ => "Request withdrawn",
                };
                let who = if d["member"].is_null() { "everyone".to_owned() } else { text(&d["member"]).to_owned() };
                leaving.lines.push(format!(
                    "{what}: {who} on membership {}, covered through {}; reason: {} (household {household})",
                    text(&d["membership"]["id"]),
                    text(&d["effective"]),
                    text(&d["reason"]),
                ));
            }
            kind if kind.starts_with("payment_method.") => methods += 1,
            _ => {}
        }
    }
    let mut summary = Section { heading: "Also", lines: Vec::new() };
    if paid.0 > 0 {
        summary.lines.push(format!("{} payment{} received, ${:.2} in all", paid.0, if paid.0 == 1 { "" } else { "s" }, paid.1));
    }
    if methods > 0 {
        summary.lines.push(format!("{methods} change{} to saved payment methods", if methods == 1 { "" } else { "s" }));
    }
    let sections: Vec<Section> = [leaving, dependents, renewals, addresses, contacts, failed, disputes, signed, summary]
        .into_iter()
        .filter(|s| !s.lines.is_empty())
        .collect();
    let sections: Vec<(&str, Vec<String>)> = sections.into_iter().map(|s| (s.heading, s.lines)).collect();
    Some(portal_templates::emails::staff_digest(to, practice, day, &sections))
}

fn label(field: &str) -> &str {
    match field {
        "email" => "email",
        "phone_mobile" => "mobile phone",
        "phone_home" => "home phone",
        "phone_work" => "work phone",
        other => other,
    }
}

/// What the daily run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// The digest went, listing this many changes.
    Sent(usize),
    /// No patient changed anything that day.
    NothingChanged,
    /// It was sent for that day before (the schedule fired twice, or the run was repeated).
    AlreadySent,
}

fn sent_key(day: NaiveDate) -> portal_domain::ports::Key {
    portal_domain::keys::digest_key(day)
}

/// The events of the practice's calendar day `day` (`date_of` gives an instant's practice date).
pub async fn events_of_day(
    table: &dyn portal_domain::Table,
    day: NaiveDate,
    date_of: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate,
) -> Result<Vec<FeedEvent>, portal_domain::StoreError> {
    let mut events = Vec::new();
    // A practice's day spans two UTC days whichever side of UTC it is.
    for utc_day in [day.pred_opt(), Some(day), day.succ_opt()].into_iter().flatten() {
        events.extend(portal_domain::feed::on_day(table, utc_day).await?.into_iter().filter(|e| date_of(e.at) == day));
    }
    Ok(events)
}

/// Emails the digest of `day` to the staff, once per day: the day is marked sent first, and the
/// mark is taken back if the email cannot go, so a retry sends it.
pub async fn send_daily(
    table: &dyn portal_domain::Table,
    mailer: &dyn portal_domain::Mailer,
    practice: &str,
    to: &str,
    day: NaiveDate,
    date_of: impl Fn(chrono::DateTime<chrono::Utc>) -> NaiveDate,
) -> anyhow::Result<Sent> {
    use portal_domain::ports::{attr, Condition, Value, Write};
    let events = events_of_day(table, day, date_of).await?;
    let Some(message) = compose(&events, practice, to, day) else { return Ok(Sent::NothingChanged) };
    let mut item = portal_domain::store::record_item(&sent_key(day), "digest-sent", &events.len(), 1)?;
    item.insert(attr::EXPIRES_AT.into(), Value::from((chrono::Utc::now() + chrono::Duration::days(90)).timestamp()));
    match table.write(Write::Put { item, condition: Some(Condition::NotExists) }).await {
        Ok(()) => {}
        Err(portal_domain::StoreError::ConditionFailed) => return Ok(Sent::AlreadySent),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) = mailer.send(message).await {
        let _ = table.write(Write::Delete { key: sent_key(day), condition: None }).await;
        return Err(e.into());
    }
    Ok(Sent::Sent(events.len()))
}
