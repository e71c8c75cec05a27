//! Paying an invoice, so that nothing is ever overpaid or charged twice:
//! 1. one transaction reserves the amount on the invoice (on condition that it is still
//!    payable) and records the payment as pending under the form's idempotency key;
//! 2. the processor is charged with the payment's id as its idempotency key;
//! 3. a second transaction settles (pending → paid) or releases the reservation.
//!
//! An unknown outcome leaves the payment pending, to be reconciled, and charges nothing more.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::card::NewSource;
use crate::ports::{attr, random_token, ChargeOutcome, Condition, Key, PaymentGateway, Random, Table, Update, Value, Write};
use crate::store::{self, record_item, record_of, AVAILABLE, PAID, PENDING};
use crate::{
    AccountId, GatewayError, Invoice, Money, Payment, PaymentId, PaymentSource, PaymentStatus, SourceDetails, SourceId, StoreError,
};

/// How long a form's idempotency key is remembered.
pub const IDEMPOTENCY_DAYS: i64 = 7;

/// Where the money comes from.
pub enum PaySource {
    Saved(PaymentSource),
    New { source: NewSource, save: bool },
}

pub struct PayRequest<'a> {
    pub account: &'a AccountId,
    pub invoice: &'a Invoice,
    pub amount: Money,
    pub source: PaySource,
    /// The key the pay form was rendered with: a resubmitted form carries the same one.
    pub idempotency_key: &'a str,
    /// How many sources the household has now (a first saved source becomes the default).
    pub existing_sources: usize,
    pub now: DateTime<Utc>,
}

#[derive(Debug)]
pub enum PayOutcome {
    Succeeded(Payment),
    Declined(Payment),
    /// The processor's answer is unknown: nothing more is charged; the practice reconciles it.
    Pending(Payment),
    /// This form was submitted before: the first attempt's payment, as it stands.
    Replayed(Payment),
    /// The amount is more than may still be paid on the invoice.
    OverBalance {
        payable: Money,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum PayError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gateway(#[from] GatewayError),
}

#[derive(Debug, Serialize, Deserialize)]
struct IdempotencyRecord {
    payment_pk: String,
    payment_sk: String,
}

fn idempotency_key(account: &AccountId, key: &str) -> Key {
    Key::new(format!("IDEMPOTENCY#{account}#{key}"), "IDEMPOTENCY")
}

async fn replayed(table: &dyn Table, account: &AccountId, key: &str) -> Result<Option<Payment>, StoreError> {
    let Some(item) = table.get(&idempotency_key(account, key)).await? else { return Ok(None) };
    let record: IdempotencyRecord = record_of(&item)?;
    let Some(stored) = table.get(&Key::new(record.payment_pk, record.payment_sk)).await? else { return Ok(None) };
    let mut payment: Payment = record_of(&stored)?;
    payment.version = store::version_of(&stored);
    Ok(Some(payment))
}

/// What the invoice item says may still be paid.
async fn payable_now(table: &dyn Table, invoice: &Invoice) -> Result<Money, StoreError> {
    let item = table.get(&store::invoice_key(invoice)).await?;
    let available = item.as_ref().and_then(|i| i.get(AVAILABLE)).and_then(Value::as_number).unwrap_or_default();
    Money::try_from(available).map_err(|e| StoreError::Malformed(format!("invoice available: {e}")))
}

/// The invoice update when a reserved amount was charged: pending becomes paid.
fn paid(amount: rust_decimal::Decimal) -> Update {
    Update::default().add(PENDING, -amount).add(PAID, amount)
}

/// The invoice update when a reserved amount was not charged: pending becomes payable again.
fn released(amount: rust_decimal::Decimal) -> Update {
    Update::default().add(PENDING, -amount).add(AVAILABLE, amount)
}

/// Pays (part of) an invoice.
pub async fn pay(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    random: &dyn Random,
    req: PayRequest<'_>,
) -> Result<PayOutcome, PayError> {
    if let Some(first) = replayed(table, req.account, req.idempotency_key).await? {
        return Ok(PayOutcome::Replayed(first));
    }
    if req.amount > req.invoice.payable() {
        return Ok(PayOutcome::OverBalance { payable: req.invoice.payable() });
    }
    let (token, details, save) = match req.source {
        PaySource::Saved(source) => (source.token, source.details, false),
        PaySource::New { source, save } => {
            let tokenized = gateway.tokenize(&source).await?;
            (tokenized.token, tokenized.details, save)
        }
    };
    let mut payment = Payment {
        id: PaymentId::parse(&random_token(random, 16)).map_err(|_| StoreError::Malformed("payment id".into()))?,
        account: req.account.clone(),
        invoice: req.invoice.id().clone(),
        amount: req.amount,
        source: details.clone(),
        status: PaymentStatus::Pending,
        gateway_reference: None,
        idempotency_key: req.idempotency_key.to_owned(),
        at: req.now,
        version: 1,
    };
    let payment_key = store::payment_key(&payment);
    let invoice_key = store::invoice_key(req.invoice);
    let amount = req.amount.amount();

    // 1. Reserve the amount and record the attempt, or do nothing at all.
    let mut marker = record_item(
        &idempotency_key(req.account, req.idempotency_key),
        "idempotency",
        &IdempotencyRecord { payment_pk: payment_key.pk.clone(), payment_sk: payment_key.sk.clone() },
        1,
    )?;
    marker.insert(attr::EXPIRES_AT.into(), Value::from((req.now + Duration::days(IDEMPOTENCY_DAYS)).timestamp()));
    let reserve = vec![
        Write::Update {
            key: invoice_key.clone(),
            update: Update::default().add(PENDING, amount).add(AVAILABLE, -amount),
            condition: Some(Condition::AtLeast(AVAILABLE.into(), amount)),
        },
        store::put_payment(&payment)?,
        Write::Put { item: marker, condition: Some(Condition::NotExists) },
    ];
    match table.transact(reserve).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => {
            if let Some(first) = replayed(table, req.account, req.idempotency_key).await? {
                return Ok(PayOutcome::Replayed(first));
            }
            return Ok(PayOutcome::OverBalance { payable: payable_now(table, req.invoice).await? });
        }
        Err(e) => return Err(e.into()),
    }

    // 2. Charge, keyed by the payment so a retried charge is never a second charge.
    let outcome = match gateway.charge(&token, req.amount, payment.id.as_str()).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(error = %e, "charge outcome unknown");
            ChargeOutcome::Unknown
        }
    };

    // 3. Settle or release.
    let mut settle = Vec::new();
    match &outcome {
        ChargeOutcome::Succeeded { reference } => {
            payment.status = PaymentStatus::Succeeded;
            payment.gateway_reference = Some(reference.clone());
            settle.push(Write::Update { key: invoice_key, update: paid(amount), condition: None });
            if save {
                let source = PaymentSource {
                    id: SourceId::parse(&random_token(random, 12)).map_err(|_| StoreError::Malformed("source id".into()))?,
                    account: req.account.clone(),
                    details,
                    token,
                    is_default: req.existing_sources == 0,
                    version: 1,
                };
                settle.extend(crate::sources::add_writes(&source)?);
            }
        }
        ChargeOutcome::Declined { reason } => {
            payment.status = PaymentStatus::Declined(reason.clone());
            settle.push(Write::Update { key: invoice_key, update: released(amount), condition: None });
        }
        ChargeOutcome::Unknown => return Ok(PayOutcome::Pending(payment)),
    }
    settle.push(store::replace_payment(&payment, 1)?);
    if let Err(e) = table.transact(settle).await {
        // The processor has answered but the answer could not be recorded: the payment stays
        // pending (and its amount reserved) until it is reconciled. Nothing is charged again.
        tracing::error!(error = %e, "settling a payment failed; left pending");
        payment.status = PaymentStatus::Pending;
        payment.gateway_reference = None;
        return Ok(PayOutcome::Pending(payment));
    }
    payment.version = 2;
    Ok(match outcome {
        ChargeOutcome::Succeeded { .. } => PayOutcome::Succeeded(payment),
        _ => PayOutcome::Declined(payment),
    })
}

/// What `reconcile` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Reconciled {
    /// The processor took the money: the payment is recorded as paid.
    pub settled: usize,
    /// The processor declined it, or never received it: the reserved amount is payable again.
    pub released: usize,
    /// The processor still cannot say, or the store could not be reached: left pending.
    pub unresolved: usize,
}

/// Settles or releases every payment left pending for longer than `grace` (a charge still in
/// flight is younger than that), by asking the processor what became of each charge.
pub async fn reconcile(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    now: DateTime<Utc>,
    grace: Duration,
) -> Result<Reconciled, StoreError> {
    let mut report = Reconciled::default();
    for item in table.query_index(store::PENDING_PAYMENTS).await? {
        // One payment that cannot be read or settled now is left for the next run, not the end of this one.
        let Ok(mut payment) = record_of::<Payment>(&item) else {
            report.unresolved += 1;
            continue;
        };
        let version = store::version_of(&item);
        if payment.status != PaymentStatus::Pending || now - payment.at < grace {
            continue;
        }
        let outcome = match gateway.charge_status(payment.id.as_str()).await {
            Ok(Some(ChargeOutcome::Unknown)) | Err(_) => {
                report.unresolved += 1;
                continue;
            }
            Ok(outcome) => outcome,
        };
        let amount = payment.amount.amount();
        let Ok(invoice_sk) = invoice_sk(table, &payment).await else {
            report.unresolved += 1;
            continue;
        };
        let invoice_key = Key::new(store::account_pk(&payment.account), invoice_sk);
        let update = match &outcome {
            Some(ChargeOutcome::Succeeded { reference }) => {
                payment.status = PaymentStatus::Succeeded;
                payment.gateway_reference = Some(reference.clone());
                paid(amount)
            }
            Some(ChargeOutcome::Declined { reason }) => {
                payment.status = PaymentStatus::Declined(reason.clone());
                released(amount)
            }
            _ => {
                payment.status = PaymentStatus::Failed("The payment did not reach the processor. Nothing was charged.".into());
                released(amount)
            }
        };
        let Ok(settle) = store::replace_payment(&payment, version) else {
            report.unresolved += 1;
            continue;
        };
        let writes = vec![Write::Update { key: invoice_key, update, condition: Some(Condition::Exists) }, settle];
        match table.transact(writes).await {
            Ok(()) if payment.status == PaymentStatus::Succeeded => report.settled += 1,
            Ok(()) => report.released += 1,
            // Settled by someone else meanwhile, or the store failed: the next run looks again.
            Err(_) => report.unresolved += 1,
        }
    }
    Ok(report)
}

/// The sort key of a payment's invoice (its issue date is part of it).
async fn invoice_sk(table: &dyn Table, payment: &Payment) -> Result<String, StoreError> {
    let suffix = format!("#{}", payment.invoice);
    let items = table.query(&store::account_pk(&payment.account), "INVOICE#").await?;
    items
        .iter()
        .filter_map(|i| i.get(crate::ports::attr::SK).and_then(Value::as_str))
        .find(|sk| sk.ends_with(&suffix))
        .map(str::to_owned)
        .ok_or_else(|| StoreError::Malformed(format!("payment {} names no invoice", payment.id)))
}

/// The description of a declined or failed payment, for the patient.
pub fn decline_reason(payment: &Payment) -> Option<&str> {
    match &payment.status {
        PaymentStatus::Declined(reason) | PaymentStatus::Failed(reason) => Some(reason),
        _ => None,
    }
}

/// What a receipt shows of the source.
pub fn source_label(details: &SourceDetails) -> String {
    details.describe()
}
