//! Payments and payment sources.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{AccountId, InvoiceId, Money, PaymentId, SourceId};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BankAccountType {
    Checking,
    Savings,
}

/// What a patient sees of a payment source; never a full number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceDetails {
    Card { brand: String, last4: String, exp_month: u32, exp_year: i32 },
    BankAccount { bank_name: String, last4: String, account_type: BankAccountType },
}

impl SourceDetails {
    /// A card past its expiry month cannot be charged; a bank account does not expire.
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        match self {
            SourceDetails::Card { exp_month, exp_year, .. } => (*exp_year, *exp_month) < (today.year(), today.month()),
            SourceDetails::BankAccount { .. } => false,
        }
    }

    /// "Visa ending 4242", "Checking account ending 6789".
    pub fn describe(&self) -> String {
        match self {
            SourceDetails::Card { brand, last4, .. } => format!("{brand} ending {last4}"),
            SourceDetails::BankAccount { bank_name, last4, account_type } => {
                let kind = match account_type {
                    BankAccountType::Checking => "checking",
                    BankAccountType::Savings => "savings",
                };
                format!("{bank_name} {kind} ending {last4}")
            }
        }
    }
}

/// A saved card or bank account: the processor's token and what can be shown of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PaymentSource {
    pub id: SourceId,
    pub account: AccountId,
    pub details: SourceDetails,
    /// The processor's opaque token; the only way to charge the source.
    pub token: String,
    pub is_default: bool,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", content = "reason", rename_all = "snake_case")]
pub enum PaymentStatus {
    Pending,
    Succeeded,
    Declined(String),
    Failed(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Payment {
    pub id: PaymentId,
    pub account: AccountId,
    pub invoice: InvoiceId,
    pub amount: Money,
    /// The source as it was when charged, so the receipt never changes.
    pub source: SourceDetails,
    pub status: PaymentStatus,
    pub gateway_reference: Option<String>,
    pub idempotency_key: String,
    pub at: DateTime<Utc>,
    /// Money that came back after the payment went through (refunds, bank disputes).
    #[serde(default, skip_serializing_if = "Reversals::is_none")]
    pub reversals: Reversals,
    /// For a bank debit: the patient's authorization of it, as NACHA requires it to be kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ach_authorization: Option<AchAuthorization>,
    /// For one payment of several invoices at once ("Pay total due"): the id of its first part,
    /// whose receipt lists them all. Each part is a payment of its own invoice; the processor
    /// charged them as one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<PaymentId>,
    /// The member who paid in the portal (the owner, or a member billing is shared with), so
    /// the receipt reaches them whoever later looks at it; none for the practice's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paid_by: Option<crate::MemberId>,
    /// Its invoice's number as issued, so a statement or receipt names the invoice without
    /// reading it (none on payments recorded before payments kept it: `portal migrate` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_number: Option<String>,
    /// Its invoice's issue date, so a receipt links the invoice by key (`Route::invoice_link`);
    /// none on payments recorded before payments kept it (`portal migrate` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoice_issued: Option<chrono::NaiveDate>,
    /// For a part of a batch: how many parts the batch has, so its receipt knows it found them
    /// all (none for a payment of one invoice, and on batches recorded before: `portal migrate` adds it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parts: Option<u32>,
    #[serde(default)]
    pub version: u64,
}

/// A patient's authorization of a one-time bank (ACH) debit: the words they agreed to, and when,
/// from where and with what browser they agreed, kept with the payment and shown on its receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AchAuthorization {
    pub text: String,
    pub at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
}

/// What the processor reported after a payment went through: the practice refunded some or all
/// of it, or the patient's bank disputed it. Recorded and shown; the invoice itself is left to the
/// practice, which decides whether a refunded amount is owed again.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reversals {
    /// How much has been refunded in all (Stripe's `amount_refunded`: a total, not an increment).
    #[serde(default)]
    pub refunded: Money,
    /// The patient's bank opened a dispute (a chargeback).
    #[serde(default)]
    pub disputed: bool,
}

impl Reversals {
    pub fn is_none(&self) -> bool {
        *self == Reversals::default()
    }
}

impl PaymentSource {
    pub fn is_expired(&self, today: NaiveDate) -> bool {
        self.details.is_expired(today)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_card_expires_after_its_expiry_month_and_a_bank_account_never() {
        let card = |month, year| SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: month, exp_year: year };
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        assert!(!card(11, 2026).is_expired(day(2026, 11, 30)), "usable through its expiry month");
        assert!(card(11, 2026).is_expired(day(2026, 12, 1)));
        assert!(card(12, 2025).is_expired(day(2026, 1, 1)));
        let bank = SourceDetails::BankAccount { bank_name: "Bank".into(), last4: "6789".into(), account_type: BankAccountType::Checking };
        assert!(!bank.is_expired(day(2099, 1, 1)));
    }
}
