//! Automatic payment, the owner's choice: each invoice is paid on its due date with the payment
//! method that was the default when autopay was turned on (the authorization names it).
//!
//! The rules, here: what the owner authorizes (for a bank account, the recurring debit
//! authorization NACHA requires: amounts, timing, how to revoke); when the daily run charges (the
//! due date, then for a declined card after 1, 3 and 7 days; a failed bank debit is not retried
//! automatically); and the idempotency key of each attempt, so a re-run or two overlapping runs
//! charge once (`pay::pay` records the key with the reservation).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::feed::{self, Change};
use crate::ports::{Table, Write};
use crate::store::record_item;
use crate::{AccountId, Invoice, MemberId, PaymentSource, SourceDetails, SourceId, StoreError};

/// Days after the due date a declined card is tried again.
pub const CARD_RETRY_DAYS: [i64; 3] = [1, 3, 7];

/// Autopay as the owner set it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Autopay {
    pub on: bool,
    /// The method it pays with (the default when it was turned on).
    pub source: SourceId,
    /// The words the owner agreed to, and when, from where and with what browser.
    pub authorization: crate::AchAuthorization,
    pub by: MemberId,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turned_off_at: Option<DateTime<Utc>>,
}

/// The authorization the owner reads before turning autopay on for `source`.
pub fn authorization_text(practice: &str, source: &PaymentSource) -> String {
    let method = source.details.describe();
    match source.details {
        SourceDetails::BankAccount { .. } => format!(
            "I authorize {practice} to debit my {method} by ACH, on each invoice's due date, for the balance of each invoice \
             {practice} issues for my household's membership and care, until I revoke this authorization. The amount of each \
             debit is the invoice's balance on its due date, shown on the invoice and in the patient portal before it is \
             debited. If a debit is returned, the amount is due again and it is not tried again automatically. I can revoke \
             this authorization at any time by turning automatic payment off in the patient portal or by contacting {practice}; \
             revoking takes effect at once for debits not yet made."
        ),
        SourceDetails::Card { .. } => format!(
            "I authorize {practice} to charge my {method} on each invoice's due date for the balance of each invoice \
             {practice} issues for my household's membership and care, until I turn automatic payment off. If a charge is \
             declined it is tried again 1, 3 and 7 days later. I can turn automatic payment off at any time in the patient \
             portal; it takes effect at once."
        ),
    }
}

/// Which attempt at paying `invoice` today is (0 on the due date, then the day of each card
/// retry), if today is one. A bank account is tried on the due date only.
pub fn attempt_today(invoice: &Invoice, source: &PaymentSource, today: NaiveDate) -> Option<i64> {
    let days = (today - invoice.due()).num_days();
    let retries: &[i64] = match source.details {
        SourceDetails::Card { .. } => &CARD_RETRY_DAYS,
        SourceDetails::BankAccount { .. } => &[],
    };
    (days == 0 || retries.contains(&days)).then_some(days)
}

/// The day automatic payment next tries `invoice` after attempt `attempt` did not go through:
/// a declined card on the next retry day, if one is left. Nothing more is tried for a bank
/// debit, nor for a charge the card's bank wanted the patient to confirm (`needs_patient`).
pub fn next_attempt(invoice: &Invoice, source: &SourceDetails, attempt: i64, needs_patient: bool) -> Option<NaiveDate> {
    let retries: &[i64] = match source {
        SourceDetails::Card { .. } if !needs_patient => &CARD_RETRY_DAYS,
        _ => &[],
    };
    retries.iter().find(|d| **d > attempt).and_then(|d| invoice.due().checked_add_days(chrono::Days::new(d.unsigned_abs())))
}

/// The idempotency key of one attempt: the same on every run of the day, another on the next attempt's day.
pub fn attempt_key(invoice: &Invoice, attempt: i64) -> String {
    format!("{}{attempt}", attempt_prefix(invoice))
}

/// What every attempt's key on `invoice` (for its due date) starts with.
fn attempt_prefix(invoice: &Invoice) -> String {
    format!("autopay-{}-{}-", invoice.id(), invoice.due())
}

/// Invoices autopay pays today: not void, with something payable and nothing in flight, due on
/// or after the day autopay was turned on (`since`: an invoice already due then is the owner's to
/// pay), and today its due date, or a retry day after an autopay attempt on it was declined. An
/// expired card is not charged (the reminders tell the owner to add a new one).
pub fn due_today<'a>(
    invoices: &'a [Invoice],
    payments: &[crate::Payment],
    source: &PaymentSource,
    since: NaiveDate,
    today: NaiveDate,
) -> Vec<(&'a Invoice, i64)> {
    if source.is_expired(today) {
        return Vec::new();
    }
    let declined_before = |invoice: &Invoice| {
        let prefix = attempt_prefix(invoice);
        payments.iter().any(|p| {
            &p.invoice == invoice.id() && p.idempotency_key.starts_with(&prefix) && matches!(p.status, crate::PaymentStatus::Declined(_))
        })
    };
    invoices
        .iter()
        .filter(|i| !i.is_void() && !i.payable().is_zero() && i.pending().is_zero() && i.due() >= since)
        .filter_map(|i| attempt_today(i, source, today).map(|attempt| (i, attempt)))
        .filter(|(i, attempt)| *attempt == 0 || declined_before(i))
        .collect()
}

/// Whether removing `source` must wait: autopay pays with it (turn autopay off, or on again with
/// another default, first).
pub fn blocks_removal(autopay: Option<&Autopay>, source: &SourceId) -> bool {
    autopay.is_some_and(|a| a.on && &a.source == source)
}

/// Turns autopay on (with the authorization given) or off; the activity log is the caller's,
/// the practice is told here, in the same transaction.
pub async fn set(table: &dyn Table, account: &AccountId, autopay: &Autopay, at: DateTime<Utc>) -> Result<(), StoreError> {
    let item = record_item(&crate::keys::autopay_key(account), "autopay", autopay, 1)?;
    let mut writes = vec![Write::Put { item, condition: None }];
    writes.extend(feed::writes(&[Change::Autopay { account, autopay }], at)?);
    table.transact(writes).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{BankAccountType, InvoiceData, LineItem, Money};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn invoice(due: &str) -> Invoice {
        Invoice::new(InvoiceData {
            id: "inv-1".to_owned().try_into().unwrap(),
            account: AccountId::parse("a1").unwrap(),
            number: "INV-1".into(),
            issued: d("2026-11-20"),
            due: d(due),
            lines: vec![LineItem {
                member: None,
                description: "Membership".into(),
                period_start: None,
                period_end: None,
                amount: Money::from_cents(8000),
            }],
            paid: Money::ZERO,
            pending: Money::ZERO,
            void: false,
        })
        .unwrap()
    }

    fn source(card: bool) -> PaymentSource {
        let details = if card {
            SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year: 2030 }
        } else {
            SourceDetails::BankAccount { bank_name: "Bank".into(), last4: "6789".into(), account_type: BankAccountType::Checking }
        };
        PaymentSource {
            id: "src-1".to_owned().try_into().unwrap(),
            account: AccountId::parse("a1").unwrap(),
            details,
            token: "t".into(),
            is_default: true,
            version: 1,
        }
    }

    #[test]
    fn a_card_is_charged_on_the_due_date_then_retried_after_1_3_and_7_days_and_a_bank_account_once() {
        let inv = invoice("2026-12-05");
        let days = |card: bool| -> Vec<i64> {
            (0..10).filter_map(|n| attempt_today(&inv, &source(card), d("2026-12-05") + chrono::Days::new(n))).collect()
        };
        assert_eq!(days(true), [0, 1, 3, 7]);
        assert_eq!(days(false), [0]);
        assert_eq!(attempt_today(&inv, &source(true), d("2026-12-04")), None, "never before it is due");
        assert_eq!(attempt_key(&inv, 3), "autopay-inv-1-2026-12-05-3");
    }

    #[test]
    fn after_a_declined_attempt_a_card_is_tried_on_the_next_retry_day_and_nothing_else_is() {
        let inv = invoice("2026-12-05");
        let card = source(true).details;
        let next = |attempt| next_attempt(&inv, &card, attempt, false);
        assert_eq!([next(0), next(1), next(3), next(7)], [Some(d("2026-12-06")), Some(d("2026-12-08")), Some(d("2026-12-12")), None]);
        assert_eq!(next_attempt(&inv, &card, 0, true), None, "a charge the patient must confirm is not tried again");
        assert_eq!(next_attempt(&inv, &source(false).details, 0, false), None, "a bank debit is tried once");
        // Each retry day is one `attempt_today` finds.
        for attempt in [0, 1, 3] {
            let day = next(attempt).unwrap();
            assert!(attempt_today(&inv, &source(true), day).is_some_and(|a| a > attempt));
        }
    }

    #[test]
    fn only_what_can_be_paid_now_is_charged() {
        let due = invoice("2026-12-05");
        let mut paid: InvoiceData = due.clone().into();
        paid.paid = Money::from_cents(8000);
        let mut pending: InvoiceData = due.clone().into();
        pending.pending = Money::from_cents(1000);
        let invoices = [due, Invoice::new(paid).unwrap(), Invoice::new(pending).unwrap()];
        assert_eq!(due_today(&invoices, &[], &source(true), d("2026-12-01"), d("2026-12-05")).len(), 1);
        assert!(due_today(&invoices, &[], &source(true), d("2026-12-06"), d("2026-12-05")).is_empty(), "due before autopay was on");
        assert!(
            due_today(&invoices, &[], &source(true), d("2026-12-01"), d("2026-12-06")).is_empty(),
            "no retry without a declined attempt"
        );
    }

    #[test]
    fn the_bank_authorization_says_amounts_timing_and_how_to_revoke() {
        let text = authorization_text("Cedar Valley", &source(false));
        for words in [
            "debit my Bank checking ending 6789 by ACH",
            "on each invoice's due date",
            "balance",
            "revoke",
            "turning automatic payment off",
        ] {
            assert!(text.contains(words), "{words}: {text}");
        }
        assert!(authorization_text("Cedar Valley", &source(true)).contains("tried again 1, 3 and 7 days later"));
    }
}
