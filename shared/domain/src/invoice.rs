//! Invoices and their derived status.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{AccountId, InvoiceId, MemberId, Money};

/// One charge on an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineItem {
    pub member: Option<MemberId>,
    pub description: String,
    pub period_start: Option<NaiveDate>,
    pub period_end: Option<NaiveDate>,
    pub amount: Money,
}

/// Where an invoice stands; always computed, never stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InvoiceStatus {
    Open,
    PartiallyPaid,
    Paid,
    PastDue,
    Void,
}

impl InvoiceStatus {
    pub fn label(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "Open",
            InvoiceStatus::PartiallyPaid => "Partially paid",
            InvoiceStatus::Paid => "Paid",
            InvoiceStatus::PastDue => "Past due",
            InvoiceStatus::Void => "Void",
        }
    }

    /// A stable name for styling: `open`, `partially-paid`, …
    pub fn slug(self) -> &'static str {
        match self {
            InvoiceStatus::Open => "open",
            InvoiceStatus::PartiallyPaid => "partially-paid",
            InvoiceStatus::Paid => "paid",
            InvoiceStatus::PastDue => "past-due",
            InvoiceStatus::Void => "void",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvoiceError {
    #[error("an invoice needs at least one line")]
    NoLines,
    #[error("the due date is before the issue date")]
    DueBeforeIssued,
    #[error("paid and pending amounts exceed the total")]
    Overpaid,
}

/// An invoice. The total is the sum of its lines; the status follows from amounts and dates.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "InvoiceData", into = "InvoiceData")]
pub struct Invoice {
    data: InvoiceData,
}

/// The stored fields of an invoice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceData {
    pub id: InvoiceId,
    pub account: AccountId,
    pub number: String,
    pub issued: NaiveDate,
    pub due: NaiveDate,
    pub lines: Vec<LineItem>,
    pub paid: Money,
    /// Reserved by payments in flight.
    pub pending: Money,
    pub void: bool,
}

impl TryFrom<InvoiceData> for Invoice {
    type Error = InvoiceError;
    fn try_from(data: InvoiceData) -> Result<Self, InvoiceError> {
        Invoice::new(data)
    }
}

impl From<Invoice> for InvoiceData {
    fn from(invoice: Invoice) -> Self {
        invoice.data
    }
}

impl Invoice {
    pub fn new(data: InvoiceData) -> Result<Invoice, InvoiceError> {
        if data.lines.is_empty() {
            return Err(InvoiceError::NoLines);
        }
        if data.due < data.issued {
            return Err(InvoiceError::DueBeforeIssued);
        }
        let total: Money = data.lines.iter().map(|l| l.amount).sum();
        if data.paid + data.pending > total {
            return Err(InvoiceError::Overpaid);
        }
        Ok(Invoice { data })
    }

    pub fn id(&self) -> &InvoiceId {
        &self.data.id
    }
    pub fn account(&self) -> &AccountId {
        &self.data.account
    }
    pub fn number(&self) -> &str {
        &self.data.number
    }
    pub fn issued(&self) -> NaiveDate {
        self.data.issued
    }
    pub fn due(&self) -> NaiveDate {
        self.data.due
    }
    pub fn lines(&self) -> &[LineItem] {
        &self.data.lines
    }
    pub fn paid(&self) -> Money {
        self.data.paid
    }
    pub fn pending(&self) -> Money {
        self.data.pending
    }
    pub fn is_void(&self) -> bool {
        self.data.void
    }

    pub fn total(&self) -> Money {
        self.data.lines.iter().map(|l| l.amount).sum()
    }

    /// The amounts and dates that decide the balance and status.
    pub fn figures(&self) -> InvoiceFigures {
        InvoiceFigures { total: self.total(), paid: self.data.paid, pending: self.data.pending, due: self.data.due, void: self.data.void }
    }

    /// What is still owed: total − paid.
    pub fn balance(&self) -> Money {
        self.figures().balance()
    }

    /// What a new payment may still take: total − paid − pending.
    pub fn payable(&self) -> Money {
        self.figures().payable()
    }

    pub fn status(&self, today: NaiveDate) -> InvoiceStatus {
        self.figures().status(today)
    }
}

/// What an invoice's balance and status follow from. Lists of years of invoices read these from
/// the stored item's attributes and decode only the invoices they show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvoiceFigures {
    pub total: Money,
    pub paid: Money,
    pub pending: Money,
    pub due: NaiveDate,
    pub void: bool,
}

impl InvoiceFigures {
    /// What is still owed: total − paid (nothing on a void invoice).
    pub fn balance(&self) -> Money {
        if self.void {
            return Money::ZERO;
        }
        self.total - self.paid
    }

    /// What a new payment may still take: total − paid − pending.
    pub fn payable(&self) -> Money {
        self.balance() - self.pending
    }

    pub fn status(&self, today: NaiveDate) -> InvoiceStatus {
        if self.void {
            InvoiceStatus::Void
        } else if self.balance().is_zero() {
            InvoiceStatus::Paid
        } else if today > self.due {
            InvoiceStatus::PastDue
        } else if !self.paid.is_zero() {
            InvoiceStatus::PartiallyPaid
        } else {
            InvoiceStatus::Open
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn invoice(total_cents: i64, paid_cents: i64) -> Result<Invoice, InvoiceError> {
        Invoice::new(InvoiceData {
            id: InvoiceId::parse("i1").unwrap(),
            account: AccountId::parse("a1").unwrap(),
            number: "INV-1".into(),
            issued: d("2026-11-01"),
            due: d("2026-11-15"),
            lines: vec![LineItem {
                member: None,
                description: "Membership".into(),
                period_start: None,
                period_end: None,
                amount: Money::from_cents(total_cents),
            }],
            paid: Money::from_cents(paid_cents),
            pending: Money::ZERO,
            void: false,
        })
    }

    #[test]
    fn status_follows_amounts_and_dates() {
        assert_eq!(invoice(8000, 0).unwrap().status(d("2026-11-10")), InvoiceStatus::Open);
        assert_eq!(invoice(8000, 2000).unwrap().status(d("2026-11-10")), InvoiceStatus::PartiallyPaid);
        assert_eq!(invoice(8000, 2000).unwrap().status(d("2026-11-16")), InvoiceStatus::PastDue);
        assert_eq!(invoice(8000, 8000).unwrap().status(d("2027-01-01")), InvoiceStatus::Paid);
        assert_eq!(invoice(8000, 2000).unwrap().balance().to_string(), "$60.00");
    }

    #[test]
    fn refuses_inconsistent_amounts() {
        assert_eq!(invoice(8000, 8001), Err(InvoiceError::Overpaid));
    }

    proptest! {
        #[test]
        fn balance_plus_paid_is_total(total in 1i64..10_000_000, paid_share in 0i64..=100) {
            let paid = total * paid_share / 100;
            let inv = invoice(total, paid).unwrap();
            prop_assert_eq!(inv.balance() + inv.paid(), inv.total());
            prop_assert_eq!(inv.status(d("2026-11-01")) == InvoiceStatus::Paid, paid == total);
        }
    }
}
