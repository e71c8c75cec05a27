//! The reminders function: once a day (EventBridge Scheduler, `{"reminders": "today"}`; locally
//! `portal reminders --today YYYY-MM-DD`) it reads every household (the `HOUSEHOLDS` index),
//! pays the invoices due of households with automatic payment on (`domain::autopay`, through the
//! same reserve → charge → settle path as a patient's payment, `pay::pay`, keyed so a re-run or an
//! overlapping run charges once), and emails what `domain::reminders` says is due, each reminder
//! once per recipient. Each email's
//! link is a single-purpose access link for its recipient that lands, after the emailed code, on
//! the page in question; it carries amounts and names only.

use anyhow::Context as _;
use chrono::NaiveDate;
use portal_domain::autopay;
use portal_domain::pay::{self, PayOutcome, PayRequest, PaySource};
use portal_domain::reminders::{self, Due, Landing, Reminder};
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{session, Member, Message};
use portal_templates::emails;
use portal_templates::routes::Route;
use portal_web::{notices, App};
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
    /// Autopay charges made (invoice number and amount), and those declined.
    pub charged: Vec<String>,
    pub declined: Vec<String>,
    /// Households the run could not finish (logged; the others were done).
    pub households_failed: usize,
}

/// Handles one scheduled invocation.
pub async fn handle(app: &App, event: Value) -> anyhow::Result<Value> {
    anyhow::ensure!(event.get("reminders").is_some(), "an invocation that is not the reminders schedule");
    let report = run(app, app.today(), false).await?;
    tracing::info!(
        households = report.households,
        sent = report.sent.len(),
        failed = report.failed,
        households_failed = report.households_failed,
        charged = report.charged.len(),
        declined = report.declined.len(),
        "reminders"
    );
    // An error makes the function's alarm fire; what was done stays done (claims and idempotency keys).
    anyhow::ensure!(
        report.failed == 0 && report.households_failed == 0,
        "{} reminder(s) not sent and {} household(s) not finished: the next run tries them again",
        report.failed,
        report.households_failed
    );
    Ok(
        json!({ "households": report.households, "sent": report.sent.len(), "charged": report.charged.len(), "declined": report.declined.len() }),
    )
}

/// The run for `today`: every household, every reminder due, each recipient once. A dry run
/// claims and sends nothing, and lists what a run would send.
pub async fn run(app: &App, today: NaiveDate, dry_run: bool) -> anyhow::Result<Report> {
    run_with(app, today, dry_run, true).await
}

/// As [`run`]; with `charge` false, automatic payments are left for a run that can take them
/// (the command line against a real table without the real processor).
pub async fn run_with(app: &App, today: NaiveDate, dry_run: bool, charge: bool) -> anyhow::Result<Report> {
    anyhow::ensure!(!app.config.public_url.is_empty(), "PORTAL_PUBLIC_URL is needed for the links in reminders");
    let mut report = Report::default();
    for account in store::household_ids(app.table.as_ref()).await? {
        report.households += 1;
        // One household's trouble (a record that cannot be read, the table busy) does not stop the others.
        if let Err(e) = household(app, &account, today, dry_run, charge, &mut report).await {
            tracing::error!(error = %e, "a household's reminders could not be finished");
            report.households_failed += 1;
        }
    }
    Ok(report)
}

/// One household: autopay's charges, then its reminders.
async fn household(
    app: &App,
    account: &portal_domain::AccountId,
    today: NaiveDate,
    dry_run: bool,
    charge: bool,
    report: &mut Report,
) -> anyhow::Result<()> {
    let mut records = store::household(app.table.as_ref(), account).await?;
    if !dry_run && charge && autopay(app, &records, today, report).await? {
        // What autopay paid is no longer due: the reminders read the household as it now is.
        records = store::household(app.table.as_ref(), account).await?;
    }
    let seen = if dry_run { Default::default() } else { reminders::note_waiting(app.table.as_ref(), &records, today).await? };
    for due in reminders::due(&records, today, |at| app.date_of(at), &seen)? {
        for member in due.to.iter().filter_map(|id| records.member(id)) {
            let Some(email) = member.email.clone() else { continue };
            let sent =
                Sent { household: account.to_string(), kind: due.reminder.kind(), subject: due.reminder.subject(), to: email.to_string() };
            if dry_run {
                report.sent.push(sent);
                continue;
            }
            // The email is made first (its link minted), so a claim is only taken for an email ready to go.
            let message = compose(app, &records, &due, member).await.context("composing a reminder")?;
            if !reminders::claim(app.table.as_ref(), account, &due.reminder, &member.id, app.now()).await? {
                continue;
            }
            let subject_line = message.subject.clone();
            match app.mailer.send(message).await {
                Ok(()) => {
                    record_sent(app, account, member, &due.reminder, &subject_line).await;
                    report.sent.push(sent);
                }
                Err(e) => {
                    tracing::warn!(error = %e, kind = %sent.kind, "a reminder could not be sent; the next run tries again");
                    report.failed += 1;
                    if let Err(e) = reminders::release(app.table.as_ref(), account, &due.reminder, &member.id).await {
                        tracing::error!(error = %e, "a reminder's claim could not be given back: it will not be sent again");
                    }
                }
            }
        }
    }
    Ok(())
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

/// Pays each invoice autopay pays today (`autopay::due_today`); whether it charged anything.
async fn autopay(app: &App, records: &HouseholdRecords, today: NaiveDate, report: &mut Report) -> anyhow::Result<bool> {
    let Some(auto) = records.autopay_on() else { return Ok(false) };
    let Some(household) = &records.household else { return Ok(false) };
    let Some(source) = records.sources.iter().find(|s| s.id == auto.source) else {
        tracing::warn!("autopay's payment method is gone; nothing is charged");
        return Ok(false);
    };
    let invoices = records.ledger.invoices()?;
    let payments = records.ledger.payments()?;
    let since = app.date_of(auto.authorization.at);
    let mut charged = false;
    for (invoice, attempt) in autopay::due_today(&invoices, &payments, source, since, today) {
        let key = autopay::attempt_key(invoice, attempt);
        let bank = matches!(source.details, portal_domain::SourceDetails::BankAccount { .. });
        let request = PayRequest {
            account: &household.id,
            invoices: std::slice::from_ref(invoice),
            amount: invoice.payable(),
            source: PaySource::Saved(source.clone()),
            idempotency_key: &key,
            existing_sources: records.sources.len(),
            customer: household.processor_customer.as_deref(),
            ach_consent: None,
            standing: bank.then_some(&auto.authorization),
            payer: Some(&auto.by),
            now: app.now(),
        };
        let line = format!("{} {}", invoice.number(), invoice.payable());
        match pay::pay(app.table.as_ref(), app.gateway.as_ref(), app.random.as_ref(), request).await {
            Ok(PayOutcome::Succeeded(payment)) => {
                charged = true;
                report.charged.push(line);
                let receipt = notices::Receipt {
                    first: &payment,
                    invoices: &[invoice],
                    total: payment.amount,
                    new_balance: invoice.balance().saturating_sub(payment.amount),
                    payer: None,
                };
                notices::receipt(app, &app.config.public_url, records, &receipt).await;
            }
            Ok(PayOutcome::Processing(_)) => {
                // A bank debit settles in days; the payment events say how it ended (a failure is emailed then).
                charged = true;
                report.charged.push(line);
            }
            Ok(PayOutcome::Declined(payment)) => {
                report.declined.push(line);
                declined_email(app, records, invoice, &payment, attempt, false).await;
            }
            Ok(PayOutcome::NeedsAction { payment, .. }) => {
                // The card's bank wants the patient present, and no one is: the charge is cancelled
                // and its amount released, and the owner asked to pay it in the portal.
                if let Err(e) = pay::abandon(app.table.as_ref(), app.gateway.as_ref(), &payment, app.now()).await {
                    anyhow::bail!("an autopay charge waiting for 3-D Secure could not be cancelled: {e}");
                }
                report.declined.push(line);
                declined_email(app, records, invoice, &payment, attempt, true).await;
            }
            // Already attempted today (a re-run, or an overlapping run): charged once.
            Ok(PayOutcome::Replayed(_)) => {}
            Ok(PayOutcome::Pending(_)) => tracing::warn!("an autopay charge's answer is unknown; reconcile settles it"),
            Ok(PayOutcome::OverBalance { .. } | PayOutcome::NeedsAchAuthorization) => {
                tracing::warn!("an autopay charge was refused before charging")
            }
            // The processor or the table failed: the household counts as not finished (the alarm fires).
            Err(e) => anyhow::bail!("an autopay charge could not be made: {e}"),
        }
    }
    Ok(charged)
}

/// Tells the owner an automatic payment did not go through and what happens next: a declined
/// card is tried again (the link goes to Payment methods, to change the card autopay uses); a
/// bank debit, or a charge the card's bank wanted confirmed (`confirm`), is not, and the link goes
/// to the invoice's pay page. Each link is single-purpose.
async fn declined_email(
    app: &App,
    records: &HouseholdRecords,
    invoice: &portal_domain::Invoice,
    payment: &portal_domain::Payment,
    attempt: i64,
    confirm: bool,
) {
    let Some(owner) = records.household.as_ref().and_then(|h| records.member(&h.owner)) else { return };
    let Some(email) = owner.email.clone() else { return };
    let next = autopay::next_attempt(invoice, &payment.source, attempt, confirm);
    let (what, then, route) = match (confirm, next) {
        (true, _) => (
            "needs your bank's confirmation, which only you can give",
            "It was not taken and will not be tried again automatically. Please pay the invoice in the portal.".to_owned(),
            Route::PayInvoice(invoice.id().clone()),
        ),
        (false, Some(day)) => (
            "was declined",
            format!(
                "It will be tried again on {}. To use another card, add it, then turn automatic payment off and on again with it as your default.",
                day.format("%b %-d, %Y")
            ),
            Route::PaymentMethods,
        ),
        (false, None) => (
            "was declined",
            "It will not be tried again automatically. Please pay the invoice in the portal.".to_owned(),
            Route::PayInvoice(invoice.id().clone()),
        ),
    };
    let lines = vec![format!("The automatic payment of {} on invoice {} {what}.", payment.amount, invoice.number()), then];
    let link = match landing_link(app, owner, &email, &route).await {
        Ok(link) => link,
        Err(e) => {
            tracing::warn!(error = %e, "the declined autopay email's link could not be made");
            return;
        }
    };
    let message = emails::notice(email.as_str(), &app.config.practice_name, "Your automatic payment did not go through", &lines, &link);
    if let Err(e) = app.mailer.send(message).await {
        tracing::warn!(error = %e, "the declined autopay email was not sent");
    }
}

/// A single-purpose access link for `member` that lands on `route` after the emailed code.
async fn landing_link(app: &App, member: &Member, email: &portal_domain::Email, route: &Route) -> anyhow::Result<String> {
    let landing = route.path();
    let link = session::AccessLink {
        account: member.account.clone(),
        member: member.id.clone(),
        email: email.clone(),
        expires: app.now() + chrono::Duration::days(LINK_DAYS),
        landing: Some(landing.clone()),
    };
    let token = session::mint_link(app.table.as_ref(), app.random.as_ref(), link).await?;
    Ok(format!("{}{}?to={landing}", app.config.public_url, Route::Access(token.expose().to_owned()).path()))
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
    let link = landing_link(app, member, &email, &landing_route(&due.reminder.landing())).await?;
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
