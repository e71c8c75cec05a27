//! Reminders: what the daily run emails a household, each at most once.
//!
//! The rules, in one place: a new invoice (issued in the last week, with a balance); an invoice
//! due in 3 days; an invoice past due by 1 day and by 10 days; a bank payment that failed; a saved
//! card that expires next month, or has expired; an agreement waiting for a signature for 7 days.
//! Each is sent from its day for [`CATCH_UP_DAYS`] more (so a run missed by an outage still
//! sends it), and never for something older. Billing reminders go to whoever handles the
//! household's billing (the owner, and members it is shared with); an agreement's to the member
//! who signs it (the owner, if they have no address). Emails carry amounts and names only.
//!
//! "At most once" is a claim written before the email is sent ([`claim`]): a conditional put
//! per reminder and recipient, so a second run, or two runs at once, send nothing new; a send
//! that fails gives its claim back ([`release`]) so the next run tries again.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc};

use crate::ports::{attr, Condition, Item, Table, Value, Write};
use crate::store::HouseholdRecords;
use crate::{AccountId, AgreementId, InvoiceId, MemberId, Money, PaymentStatus, SourceDetails, SourceId, StoreError};

/// Days before the due date the "due soon" reminder goes.
pub const DUE_SOON_DAYS: i64 = 3;
/// Days after the due date the past-due reminders go.
pub const PAST_DUE_DAYS: [i64; 2] = [1, 10];
/// Days an agreement waits for a signature before its reminder.
pub const AGREEMENT_WAIT_DAYS: i64 = 7;
/// How many days after its day a reminder is still sent.
pub const CATCH_UP_DAYS: i64 = 6;
/// A bank returns a debit days after it was made: its reminder is sent for this long after the debit.
pub const BANK_RETURN_DAYS: i64 = 14;

/// One reminder, with what its email says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reminder {
    NewInvoice {
        invoice: InvoiceId,
        number: String,
        amount: Money,
        due: NaiveDate,
    },
    DueSoon {
        invoice: InvoiceId,
        number: String,
        amount: Money,
        due: NaiveDate,
    },
    PastDue {
        days: i64,
        invoice: InvoiceId,
        number: String,
        amount: Money,
        due: NaiveDate,
    },
    BankPaymentFailed {
        invoice: InvoiceId,
        number: String,
        amount: Money,
        day: NaiveDate,
    },
    /// A card that expires at the end of next month (`year`, `month`).
    CardExpiring {
        source: SourceId,
        brand: String,
        year: i32,
        month: u32,
    },
    CardExpired {
        source: SourceId,
        brand: String,
        year: i32,
        month: u32,
    },
    AgreementWaiting {
        agreement: AgreementId,
        title: String,
        signer: MemberId,
    },
}

/// Where a reminder's link lands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Landing {
    PayInvoice(InvoiceId),
    PaymentMethods,
    Agreement(AgreementId),
}

impl Reminder {
    /// The kind, as claims and logs name it.
    pub fn kind(&self) -> String {
        match self {
            Reminder::NewInvoice { .. } => "invoice-new".into(),
            Reminder::DueSoon { .. } => "invoice-due-soon".into(),
            Reminder::PastDue { days, .. } => format!("invoice-past-due-{days}"),
            Reminder::BankPaymentFailed { .. } => "bank-payment-failed".into(),
            Reminder::CardExpiring { .. } => "card-expiring".into(),
            Reminder::CardExpired { .. } => "card-expired".into(),
            Reminder::AgreementWaiting { .. } => "agreement-waiting".into(),
        }
    }

    /// What it is about: the record (and, for a card, its expiry, so a renewed card is told again).
    pub fn subject(&self) -> String {
        match self {
            Reminder::NewInvoice { invoice, .. } | Reminder::DueSoon { invoice, .. } | Reminder::PastDue { invoice, .. } => {
                invoice.to_string()
            }
            Reminder::BankPaymentFailed { invoice, day, .. } => format!("{invoice}@{day}"),
            Reminder::CardExpiring { source, year, month, .. } | Reminder::CardExpired { source, year, month, .. } => {
                format!("{source}@{year}-{month:02}")
            }
            Reminder::AgreementWaiting { agreement, .. } => agreement.to_string(),
        }
    }

    pub fn landing(&self) -> Landing {
        match self {
            Reminder::NewInvoice { invoice, .. }
            | Reminder::DueSoon { invoice, .. }
            | Reminder::PastDue { invoice, .. }
            | Reminder::BankPaymentFailed { invoice, .. } => Landing::PayInvoice(invoice.clone()),
            Reminder::CardExpiring { .. } | Reminder::CardExpired { .. } => Landing::PaymentMethods,
            Reminder::AgreementWaiting { agreement, .. } => Landing::Agreement(agreement.clone()),
        }
    }
}

/// A reminder and whom it goes to (members with an address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    pub reminder: Reminder,
    pub to: Vec<MemberId>,
}

/// Whether `day` is within the catch-up window that starts on `from`.
fn in_window(day: NaiveDate, from: NaiveDate) -> bool {
    day >= from && (day - from).num_days() <= CATCH_UP_DAYS
}

/// What is due for the household on `today`. `date_of` gives the practice's date of an instant;
/// `seen` the day each unsigned agreement was first seen waiting (see [`note_waiting`]).
pub fn due(
    records: &HouseholdRecords,
    today: NaiveDate,
    date_of: impl Fn(DateTime<Utc>) -> NaiveDate,
    seen: &BTreeMap<AgreementId, NaiveDate>,
) -> Result<Vec<Due>, StoreError> {
    let Some(household) = &records.household else { return Ok(Vec::new()) };
    // A member with an address who has not turned reminders off.
    let with_address = |id: &MemberId| records.member(id).is_some_and(|m| m.email.is_some()) && records.wants_reminders(id);
    let mut billing: Vec<MemberId> = std::iter::once(&household.owner).chain(&household.billing_shared_with).cloned().collect();
    billing.retain(|m| with_address(m));
    billing.sort();
    billing.dedup();
    let mut found = Vec::new();
    for invoice in records.ledger.invoices()? {
        let figures = invoice.figures();
        // What can still be paid: a payment in flight (a bank debit settling) is not asked for again.
        let balance = figures.payable();
        if figures.void || balance.is_zero() {
            continue;
        }
        let (id, number, due) = (invoice.id().clone(), invoice.number().to_owned(), invoice.due());
        let new = in_window(today, invoice.issued());
        if new {
            found.push(Reminder::NewInvoice { invoice: id.clone(), number: number.clone(), amount: balance, due });
        }
        // A new invoice's email already gives its due date: no second email about it that day.
        if !new && today < due && (due - today).num_days() <= DUE_SOON_DAYS && in_window(today, due - Days::new(DUE_SOON_DAYS as u64)) {
            found.push(Reminder::DueSoon { invoice: id.clone(), number: number.clone(), amount: balance, due });
        }
        for days in PAST_DUE_DAYS {
            if in_window(today, due + Days::new(days as u64)) {
                found.push(Reminder::PastDue { days, invoice: id.clone(), number: number.clone(), amount: balance, due });
            }
        }
    }
    for payment in records.ledger.payments()? {
        let day = date_of(payment.at);
        let bank = matches!(payment.source, SourceDetails::BankAccount { .. });
        // A bank return is recorded as declined (the processor's answer), a debit that never
        // reached it as failed; either way the amount is due again.
        let failed = matches!(payment.status, PaymentStatus::Declined(_) | PaymentStatus::Failed(_));
        if bank && failed && day <= today && (today - day).num_days() <= BANK_RETURN_DAYS {
            let number = records.ledger.invoice(&payment.invoice)?.map_or_else(|| payment.invoice.to_string(), |i| i.number().to_owned());
            found.push(Reminder::BankPaymentFailed { invoice: payment.invoice.clone(), number, amount: payment.amount, day });
        }
    }
    let this_month = today.with_day(1).unwrap_or(today);
    for source in &records.sources {
        let SourceDetails::Card { brand, exp_month, exp_year, .. } = &source.details else { continue };
        let Some(expiry) = NaiveDate::from_ymd_opt(*exp_year, *exp_month, 1) else { continue };
        let (source_id, brand, year, month) = (source.id.clone(), brand.clone(), *exp_year, *exp_month);
        // Told once in the month before it expires, and once in the month after.
        if expiry == this_month + Months::new(1) {
            found.push(Reminder::CardExpiring { source: source_id, brand, year, month });
        } else if expiry + Months::new(1) == this_month {
            found.push(Reminder::CardExpired { source: source_id, brand, year, month });
        }
    }
    let mut dues: Vec<Due> = found.into_iter().map(|reminder| Due { reminder, to: billing.clone() }).collect();
    for agreement in records.agreements.iter().filter(|a| a.required && a.signature.is_none()) {
        let Some(first_seen) = seen.get(&agreement.id) else { continue };
        if in_window(today, *first_seen + Days::new(AGREEMENT_WAIT_DAYS as u64)) {
            // The member who signs it, or the owner for someone without an address (a child).
            let has_address = records.member(&agreement.member).is_some_and(|m| m.email.is_some());
            let signer = if has_address { agreement.member.clone() } else { household.owner.clone() };
            let reminder =
                Reminder::AgreementWaiting { agreement: agreement.id.clone(), title: agreement.title.clone(), signer: signer.clone() };
            dues.push(Due { reminder, to: vec![signer].into_iter().filter(|m| with_address(m)).collect() });
        }
    }
    dues.retain(|d| !d.to.is_empty());
    Ok(dues)
}

/// The claim of one reminder for one recipient.
fn claim_key(account: &AccountId, reminder: &Reminder, to: &MemberId) -> crate::ports::Key {
    crate::keys::reminder_key(account, &reminder.kind(), &format!("{}#{to}", reminder.subject()))
}

/// How long a claim and a first-seen day are kept: a year and more, well past any window in which
/// the same reminder could be due again.
const KEPT_DAYS: i64 = 400;

/// Claims the right to send `reminder` to `to`: `true` once, `false` if it was claimed already.
pub async fn claim(
    table: &dyn Table,
    account: &AccountId,
    reminder: &Reminder,
    to: &MemberId,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let key = claim_key(account, reminder, to);
    let mut item = Item::new();
    item.insert(attr::PK.into(), Value::S(key.pk.clone()));
    item.insert(attr::SK.into(), Value::S(key.sk.clone()));
    item.insert("sent_at".into(), Value::S(at.to_rfc3339()));
    item.insert(attr::EXPIRES_AT.into(), Value::from((at + chrono::Duration::days(KEPT_DAYS)).timestamp()));
    match table.write(Write::Put { item, condition: Some(Condition::NotExists) }).await {
        Ok(()) => Ok(true),
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives a claim back after its email could not be sent, so the next run tries again.
pub async fn release(table: &dyn Table, account: &AccountId, reminder: &Reminder, to: &MemberId) -> Result<(), StoreError> {
    table.write(Write::Delete { key: claim_key(account, reminder, to), condition: None }).await
}

/// Records the day each unsigned, required agreement was first seen waiting (once), and returns
/// every such day: the agreement reminder counts its 7 days from it.
pub async fn note_waiting(
    table: &dyn Table,
    records: &HouseholdRecords,
    today: NaiveDate,
) -> Result<BTreeMap<AgreementId, NaiveDate>, StoreError> {
    let Some(household) = &records.household else { return Ok(BTreeMap::new()) };
    let mut seen = BTreeMap::new();
    for agreement in records.agreements.iter().filter(|a| a.required && a.signature.is_none()) {
        let key = crate::keys::reminder_key(&household.id, "agreement-seen", agreement.id.as_str());
        let day = match table.get(&key).await? {
            Some(item) => item.get("day").and_then(Value::as_str).and_then(|d| d.parse().ok()).unwrap_or(today),
            None => {
                let mut item = Item::new();
                item.insert(attr::PK.into(), Value::S(key.pk.clone()));
                item.insert(attr::SK.into(), Value::S(key.sk.clone()));
                item.insert("day".into(), Value::S(today.to_string()));
                let kept = today.and_hms_opt(0, 0, 0).map(|t| t.and_utc() + chrono::Duration::days(KEPT_DAYS));
                if let Some(kept) = kept {
                    item.insert(attr::EXPIRES_AT.into(), Value::from(kept.timestamp()));
                }
                match table.write(Write::Put { item, condition: Some(Condition::NotExists) }).await {
                    Ok(()) | Err(StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e),
                }
                today
            }
        };
        seen.insert(agreement.id.clone(), day);
    }
    Ok(seen)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn a_reminder_is_sent_from_its_day_for_a_week_and_never_for_older_ones() {
        assert!(in_window(d("2026-12-05"), d("2026-12-05")));
        assert!(in_window(d("2026-12-11"), d("2026-12-05")));
        assert!(!in_window(d("2026-12-12"), d("2026-12-05")), "too old to be worth sending");
        assert!(!in_window(d("2026-12-04"), d("2026-12-05")), "not yet");
    }

    #[test]
    fn kinds_and_subjects_name_each_reminder_once() {
        let id = InvoiceId::parse("inv-1").unwrap();
        let due = Reminder::PastDue { days: 10, invoice: id.clone(), number: "INV-1".into(), amount: Money::ZERO, due: d("2026-12-01") };
        assert_eq!((due.kind(), due.subject()), ("invoice-past-due-10".to_owned(), "inv-1".to_owned()));
        assert_eq!(due.landing(), Landing::PayInvoice(id));
        let card = Reminder::CardExpiring { source: SourceId::parse("src-visa").unwrap(), brand: "Visa".into(), year: 2027, month: 1 };
        assert_eq!(card.subject(), "src-visa@2027-01", "a renewed card with a new expiry is told again");
        assert_eq!(card.landing(), Landing::PaymentMethods);
    }
}
