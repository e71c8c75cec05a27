//! The reminders function: once a day (EventBridge Scheduler, `{"reminders": "today"}`; locally
//! `portal reminders --today YYYY-MM-DD`) it reads every household (the `HOUSEHOLDS` index) and
//! emails what `domain::reminders` says is due, each reminder once per recipient. Each email's
//! link is a single-purpose access link for its recipient that lands, after the emailed code, on
//! the page in question; it carries amounts and names only.

use anyhow::Context as _;
use chrono::NaiveDate;
use portal_domain::reminders::{self, Due, Landing, Reminder};
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{session, Member, Message};
use portal_templates::emails;
use portal_templates::routes::Route;
use portal_web::App;
use serde_json::{json, Value};

/// How long a reminder's link works.
pub const LINK_DAYS: i64 = 14;

/// One email of a run (sent, or in a dry run, that would be).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    pub household: String,
    pub kind: String,
    pub subject: String,
    pub to: String,
}

/// What a run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub households: usize,
    pub sent: Vec<Sent>,
    /// Emails the mail service refused: their claims were given back for the next run.
    pub failed: usize,
}

/// Handles one scheduled invocation.
pub async fn handle(app: &App, event: Value) -> anyhow::Result<Value> {
    anyhow::ensure!(event.get("reminders").is_some(), "an invocation that is not the reminders schedule");
    let report = run(app, app.today(), false).await?;
    tracing::info!(households = report.households, sent = report.sent.len(), failed = report.failed, "reminders");
    Ok(json!({ "households": report.households, "sent": report.sent.len(), "failed": report.failed }))
}

/// The run for `today`: every household, every reminder due, each recipient once. A dry run
/// claims and sends nothing, and lists what a run would send.
pub async fn run(app: &App, today: NaiveDate, dry_run: bool) -> anyhow::Result<Report> {
    anyhow::ensure!(!app.config.public_url.is_empty(), "PORTAL_PUBLIC_URL is needed for the links in reminders");
    let mut report = Report::default();
    for account in store::household_ids(app.table.as_ref()).await? {
        let records = store::household(app.table.as_ref(), &account).await?;
        report.households += 1;
        let seen = if dry_run { Default::default() } else { reminders::note_waiting(app.table.as_ref(), &records, today).await? };
        for due in reminders::due(&records, today, |at| app.date_of(at), &seen)? {
            for member in due.to.iter().filter_map(|id| records.member(id)) {
                let Some(email) = member.email.clone() else { continue };
                let sent = Sent {
                    household: account.to_string(),
                    kind: due.reminder.kind(),
                    subject: due.reminder.subject(),
                    to: email.to_string(),
                };
                if dry_run {
                    report.sent.push(sent);
                    continue;
                }
                if !reminders::claim(app.table.as_ref(), &account, &due.reminder, &member.id, app.now()).await? {
                    continue;
                }
                let message = compose(app, &records, &due, member).await.context("composing a reminder")?;
                let subject_line = message.subject.clone();
                match app.mailer.send(message).await {
                    Ok(()) => {
                        record_sent(app, &account, member, &due.reminder, &subject_line).await;
                        report.sent.push(sent);
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, kind = %sent.kind, "a reminder could not be sent; the next run tries again");
                        reminders::release(app.table.as_ref(), &account, &due.reminder, &member.id).await?;
                        report.failed += 1;
                    }
                }
            }
        }
    }
    Ok(report)
}

/// The activity log and the practice's change feed are told of a reminder sent; a failure to
/// record it is logged (the email went, and its claim keeps it from going again).
async fn record_sent(app: &App, account: &portal_domain::AccountId, member: &Member, reminder: &Reminder, subject_line: &str) {
    let (kind, about) = (reminder.kind(), reminder.subject());
    let audit = portal_domain::audit::AuditEvent::new(app.random.as_ref(), account, None, "reminder.sent", app.now(), "")
        .subject(member.id.to_string())
        .detail(format!("{subject_line} (to {})", member.full_name()));
    let change = portal_domain::feed::Change::ReminderSent { account, member: &member.id, kind: &kind, about: &about };
    let writes =
        audit.write().and_then(|a| Ok(std::iter::once(a).chain(portal_domain::feed::writes(&[change], app.now())?).collect::<Vec<_>>()));
    let written = match writes {
        Ok(writes) => app.table.transact(writes).await,
        Err(e) => Err(e),
    };
    if let Err(e) = written {
        tracing::warn!(error = %e, kind = %kind, "a reminder sent could not be recorded");
    }
}

/// The page a reminder's link lands on.
pub fn landing_route(landing: &Landing) -> Route {
    match landing {
        Landing::PayInvoice(id) => Route::PayInvoice(id.clone()),
        Landing::PaymentMethods => Route::PaymentMethods,
        Landing::Agreement(id) => Route::Agreement(id.clone()),
    }
}

/// The email: a subject and lines with amounts and names only, and the recipient's own link.
async fn compose(app: &App, records: &HouseholdRecords, due: &Due, member: &Member) -> anyhow::Result<Message> {
    let email = member.email.clone().context("a recipient has an address")?;
    let landing = landing_route(&due.reminder.landing()).path();
    let link = session::AccessLink {
        account: member.account.clone(),
        member: member.id.clone(),
        email: email.clone(),
        expires: app.now() + chrono::Duration::days(LINK_DAYS),
        landing: Some(landing.clone()),
    };
    let token = session::mint_link(app.table.as_ref(), app.random.as_ref(), link).await?;
    let link = format!("{}{}?to={landing}", app.config.public_url, Route::Access(token.expose().to_owned()).path());
    let day = |d: NaiveDate| d.format("%b %-d, %Y").to_string();
    let (subject, lines): (String, Vec<String>) = match &due.reminder {
        Reminder::NewInvoice { number, amount, due, .. } => (
            format!("New invoice {number}: {amount} due {}", day(*due)),
            vec![format!("Invoice {number} for {amount} is due on {}.", day(*due))],
        ),
        Reminder::DueSoon { number, amount, due, .. } => (
            format!("Invoice {number} is due on {}", day(*due)),
            vec![format!("A reminder that {amount} on invoice {number} is due on {}.", day(*due))],
        ),
        Reminder::PastDue { days, number, amount, due, .. } => (
            format!("Invoice {number} is past due"),
            vec![format!(
                "{amount} on invoice {number} was due on {}, {days} day{} ago. You can pay it online in a minute.",
                day(*due),
                if *days == 1 { "" } else { "s" }
            )],
        ),
        Reminder::BankPaymentFailed { number, amount, .. } => (
            "A bank payment did not go through".to_owned(),
            vec![format!("Your bank payment of {amount} on invoice {number} did not go through. Please pay it another way, or try again.")],
        ),
        Reminder::CardExpiring { brand, year, month, .. } => (
            format!("Your {brand} card on file expires soon"),
            vec![format!(
                "The {brand} card saved for your payments expires at the end of {}. Please add a new card.",
                month_name(*year, *month)
            )],
        ),
        Reminder::CardExpired { brand, .. } => (
            format!("Your {brand} card on file has expired"),
            vec![format!("The {brand} card saved for your payments has expired and can no longer be charged. Please add a new card.")],
        ),
        Reminder::AgreementWaiting { title, signer, .. } => {
            let name = records.member(signer).map(Member::full_name).unwrap_or_default();
            (
                format!("{title} is waiting for your signature"),
                vec![format!("{title} is waiting for {name}'s signature in the patient portal.")],
            )
        }
    };
    let token = portal_domain::preferences::unsubscribe_token(&app.config.secret, &member.account, &member.id);
    let unsubscribe = format!("{}{}", app.config.public_url, Route::Unsubscribe(token).path());
    Ok(emails::reminder(email.as_str(), &app.config.practice_name, &subject, &lines, &link, &unsubscribe))
}

fn month_name(year: i32, month: u32) -> String {
    NaiveDate::from_ymd_opt(year, month, 1).map_or_else(String::new, |d| d.format("%B %Y").to_string())
}
