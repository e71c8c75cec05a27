//! Records the domain's unit tests build: an invoice of one line, and a payment by card.

use chrono::{DateTime, NaiveDate, Utc};

use crate::{AccountId, Invoice, InvoiceData, InvoiceId, LineItem, Money, Payment, PaymentId, PaymentStatus, SourceDetails};

/// An invoice of one membership line of `cents`, with `paid` and `pending` cents.
#[allow(clippy::too_many_arguments)]
pub(crate) fn invoice(
    id: &str,
    account: &str,
    number: &str,
    issued: NaiveDate,
    due: NaiveDate,
    cents: i64,
    paid: i64,
    pending: i64,
    void: bool,
) -> Invoice {
    Invoice::new(InvoiceData {
        id: InvoiceId::parse(id).unwrap(),
        account: AccountId::parse(account).unwrap(),
        number: number.to_owned(),
        issued,
        due,
        lines: vec![LineItem {
            member: None,
            description: "Membership".into(),
            period_start: None,
            period_end: None,
            amount: Money::from_cents(cents),
        }],
        paid: Money::from_cents(paid),
        pending: Money::from_cents(pending),
        void,
    })
    .unwrap()
}

/// A payment of `cents` on `on` by the household's Visa, at `at`.
pub(crate) fn card_payment(id: &str, on: &Invoice, cents: i64, at: DateTime<Utc>, status: PaymentStatus) -> Payment {
    Payment {
        id: PaymentId::parse(id).unwrap(),
        account: on.account().clone(),
        invoice: on.id().clone(),
        amount: Money::from_cents(cents),
        source: SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year: 2030 },
        status,
        gateway_reference: None,
        idempotency_key: format!("k-{id}"),
        at,
        reversals: Default::default(),
        ach_authorization: None,
        batch: None,
        paid_by: None,
        invoice_number: Some(on.number().to_owned()),
        invoice_issued: Some(on.issued()),
        parts: None,
        version: 1,
    }
}
