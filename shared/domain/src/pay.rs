//! Paying an invoice, so that nothing is ever overpaid or charged twice:
//! 1. one transaction reserves the amount on the invoice (on condition that it is still
//!    payable) and records the payment as pending under the form's idempotency key;
//! 2. the processor creates the charge without taking money, and its reference is recorded on
//!    the payment: from then on the portal knows which charge a payment is, whatever happens;
//! 3. the charge is confirmed (money moves), with the payment's id as its idempotency key;
//! 4. a second transaction settles (pending → paid) or releases the reservation.
//!
//! An unknown outcome leaves the payment pending, to be reconciled by asking the processor about
//! that reference, and charges nothing more. A bank debit stays pending ("processing") until the
//! processor says it settled or failed; a card that needs 3-D Secure waits for the patient's step.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::card::NewSource;
use crate::feed::{self, Change};
use crate::ports::{
    attr, random_token, ChargeOutcome, ChargeRequest, Condition, Key, PaymentGateway, Random, Table, TokenizedSource, Update, Value, Write,
};
use crate::store::{self, record_item, record_of, AVAILABLE, PAID, PENDING};
use crate::{
    AccountId, AchAuthorization, GatewayError, Invoice, Money, Payment, PaymentId, PaymentSource, PaymentStatus, SourceDetails, SourceId,
    StoreError,
};

/// How long a form's idempotency key is remembered.
pub const IDEMPOTENCY_DAYS: i64 = 7;

/// What the patient chose to pay with, as the pay form says it: a saved source (its id), or new
/// details. A saved source chosen while new details were typed too is neither: which one they
/// meant is asked, and nothing is charged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice<'a> {
    Saved(&'a str),
    New,
    Ambiguous,
}

/// The choice a form makes: `selected` is the chosen radio (`new` or a source id), `typed_new`
/// whether any new card, bank or processor-setup details came with it.
pub fn choice(selected: &str, typed_new: bool) -> Choice<'_> {
    match selected {
        "new" => Choice::New,
        _ if typed_new => Choice::Ambiguous,
        saved => Choice::Saved(saved),
    }
}

pub const AMBIGUOUS_CHOICE: &str =
    "You chose a saved payment method and also entered new card or bank details. Nothing was charged: choose which one to pay with.";

/// Where the money comes from.
pub enum PaySource {
    Saved(PaymentSource),
    /// Details typed into the portal: the sandbox processor only.
    New {
        source: NewSource,
        save: bool,
    },
    /// A source the browser saved with the processor through a setup (Stripe Elements): the
    /// portal never saw its details. Kept on file when `save`, forgotten after the charge otherwise.
    SetUp {
        source: TokenizedSource,
        save: bool,
    },
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
    /// The household's customer at the processor, if it has one.
    pub customer: Option<&'a str>,
    /// The patient's authorization of a bank debit (the box they checked), when they gave it.
    pub ach_consent: Option<AchConsent<'a>>,
    pub now: DateTime<Utc>,
}

/// A patient checked "I authorize this bank debit" on the pay form.
pub struct AchConsent<'a> {
    pub practice: &'a str,
    /// The practice's date, for the authorization's words.
    pub today: NaiveDate,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// The words a patient agrees to before a one-time bank (ACH) debit, as NACHA asks: who debits,
/// how much, from which account, when, what for, and how to revoke. The pay form shows them
/// with "the amount above" and "the bank account you chose"; the payment keeps them filled in.
pub fn ach_authorization_text(
    practice: &str,
    amount: Option<Money>,
    account: Option<&SourceDetails>,
    invoice: &str,
    date: NaiveDate,
) -> String {
    let amount = amount.map_or_else(|| "the amount above".to_owned(), |a| a.to_string());
    let account = account.map_or_else(|| "the bank account I chose".to_owned(), |a| format!("my {}", a.describe()));
    format!(
        "I authorize {practice} to debit {amount} from {account} once, on or after {}, for invoice {invoice}. \
         If the bank returns the debit, the amount is due again. I can revoke this authorization by contacting {practice} before the debit is made.",
        date.format("%b %-d, %Y")
    )
}

#[derive(Debug)]
pub enum PayOutcome {
    Succeeded(Payment),
    Declined(Payment),
    /// The processor's answer is unknown: nothing more is charged; the practice reconciles it.
    Pending(Payment),
    /// Accepted and settling (a bank debit): the amount stays reserved until the processor says.
    Processing(Payment),
    /// The patient's bank asks them to confirm (3-D Secure) in the browser, with this secret.
    NeedsAction {
        payment: Payment,
        client_secret: String,
    },
    /// This form was submitted before: the first attempt's payment, as it stands.
    Replayed(Payment),
    /// The amount is more than may still be paid on the invoice.
    OverBalance {
        payable: Money,
    },
    /// A bank debit needs the patient's authorization first; nothing was charged.
    NeedsAchAuthorization,
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

/// The payment a form with this idempotency key made, if it was sent before: a resubmitted form
/// answers with the first attempt and starts nothing new (no setup is read, nothing charged).
pub async fn replayed(table: &dyn Table, account: &AccountId, key: &str) -> Result<Option<Payment>, StoreError> {
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
    // `forget`: a source saved with the processor only for this payment, detached after it.
    let (token, details, save, forget) = match req.source {
        PaySource::Saved(source) => (source.token, source.details, false, false),
        PaySource::New { source, save } => {
            let tokenized = gateway.tokenize(&source).await?;
            (tokenized.token, tokenized.details, save, false)
        }
        PaySource::SetUp { source, save } => (source.token, source.details, save, !save),
    };
    let ach_authorization = match (&details, &req.ach_consent) {
        (SourceDetails::BankAccount { .. }, None) => return Ok(PayOutcome::NeedsAchAuthorization),
        (SourceDetails::BankAccount { .. }, Some(consent)) => Some(AchAuthorization {
            text: ach_authorization_text(consent.practice, Some(req.amount), Some(&details), req.invoice.number(), consent.today),
            at: req.now,
            ip: consent.ip.to_owned(),
            user_agent: consent.user_agent.to_owned(),
        }),
        (SourceDetails::Card { .. }, _) => None,
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
        reversals: Default::default(),
        ach_authorization,
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

    // 2. Create the charge (no money moves) and record which charge this payment is.
    let request = ChargeRequest {
        customer: req.customer.map(str::to_owned),
        token: token.clone(),
        amount: req.amount,
        payment: payment.id.to_string(),
        account: req.account.to_string(),
        description: req.invoice.number().to_owned(),
    };
    let reference = match gateway.prepare(&request).await {
        Ok(reference) => reference,
        Err(e) => {
            // Nothing can have been charged: the reservation is released at once.
            tracing::warn!(error = %e, "the processor could not create the charge");
            let outcome = ChargeOutcome::NotCharged;
            return finish(table, gateway, payment, 1, invoice_key, &outcome, None, forget.then_some(token.as_str()), req.now).await;
        }
    };
    payment.gateway_reference = Some(reference.clone());
    let record = vec![store::replace_payment(&payment, 1)?, store::put_charge(&reference, &payment, req.invoice)?];
    if let Err(e) = table.transact(record).await {
        // The charge exists but was never confirmed, so it cannot take money; reconcile releases
        // the reservation of a pending payment that names no charge.
        tracing::error!(error = %e, "recording the charge failed; left pending");
        payment.gateway_reference = None;
        return Ok(PayOutcome::Pending(payment));
    }
    payment.version = 2;

    // 3. Confirm, keyed by the payment so a retried confirmation is never a second charge.
    let outcome = match gateway.confirm(&reference, payment.id.as_str()).await {
        Ok(outcome) => outcome,
        Err(e) => {
            tracing::warn!(error = %e, "charge outcome unknown");
            ChargeOutcome::Unknown
        }
    };

    // 4. Settle or release, saving the source when asked and the charge went through.
    let saved = match (&outcome, save) {
        (ChargeOutcome::Succeeded { .. } | ChargeOutcome::Processing | ChargeOutcome::RequiresAction { .. }, true) => Some(PaymentSource {
            id: SourceId::parse(&random_token(random, 12)).map_err(|_| StoreError::Malformed("source id".into()))?,
            account: req.account.clone(),
            details,
            token: token.clone(),
            is_default: req.existing_sources == 0,
            version: 1,
        }),
        _ => None,
    };
    let forget = (forget || (save && saved.is_none())) && !matches!(outcome, ChargeOutcome::Unknown);
    finish(table, gateway, payment, 2, invoice_key, &outcome, saved, forget.then_some(token.as_str()), req.now).await
}

/// Records what the processor answered: settles or releases the reservation (or leaves it, while
/// the charge is processing or waits for the patient), saves the source when asked, and forgets
/// a source that was for this payment only.
#[allow(clippy::too_many_arguments)]
async fn finish(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    mut payment: Payment,
    version: u64,
    invoice_key: Key,
    outcome: &ChargeOutcome,
    saved: Option<PaymentSource>,
    forget: Option<&str>,
    at: DateTime<Utc>,
) -> Result<PayOutcome, PayError> {
    let mut writes = Vec::new();
    if let Some(source) = &saved {
        writes.extend(crate::sources::add_writes(source)?);
    }
    let settled = settlement(&mut payment, outcome);
    // The practice hears of the payment once it is decided, and of a source it saved.
    let mut changes: Vec<Change<'_>> = saved.iter().map(Change::SourceAdded).collect();
    changes.extend(settled.as_ref().and_then(|_| feed::payment_decided(&payment)));
    writes.extend(feed::writes(&changes, at)?);
    let result = match settled {
        Some(update) => {
            writes.push(Write::Update { key: invoice_key, update, condition: None });
            writes.push(store::replace_payment(&payment, version)?);
            table.transact(writes).await.map(|()| payment.version = version + 1)
        }
        None if writes.is_empty() => Ok(()),
        None => table.transact(writes).await,
    };
    if let Some(token) = forget {
        if let Err(e) = gateway.detach(token).await {
            tracing::warn!(error = %e, "a source used once could not be detached");
        }
    }
    if let Err(e) = result {
        // The processor has answered but the answer could not be recorded: the payment stays
        // pending (and its amount reserved) until it is reconciled. Nothing is charged again.
        tracing::error!(error = %e, "settling a payment failed; left pending");
        payment.status = PaymentStatus::Pending;
        return Ok(PayOutcome::Pending(payment));
    }
    Ok(match outcome {
        ChargeOutcome::Succeeded { .. } => PayOutcome::Succeeded(payment),
        ChargeOutcome::Processing => PayOutcome::Processing(payment),
        ChargeOutcome::RequiresAction { client_secret } => PayOutcome::NeedsAction { payment, client_secret: client_secret.clone() },
        ChargeOutcome::Unknown => PayOutcome::Pending(payment),
        ChargeOutcome::Declined { .. } | ChargeOutcome::NotCharged => PayOutcome::Declined(payment),
    })
}

/// The invoice update an answer calls for, with the payment's new status set; `None` while the
/// charge is still undecided (processing, waiting for the patient, or unknown).
pub fn settlement(payment: &mut Payment, outcome: &ChargeOutcome) -> Option<Update> {
    let amount = payment.amount.amount();
    match outcome {
        ChargeOutcome::Succeeded { reference } => {
            payment.status = PaymentStatus::Succeeded;
            payment.gateway_reference = Some(reference.clone());
            Some(paid(amount))
        }
        ChargeOutcome::Declined { reason } => {
            payment.status = PaymentStatus::Declined(reason.clone());
            Some(released(amount))
        }
        ChargeOutcome::NotCharged => {
            payment.status = PaymentStatus::Failed("The payment did not reach the processor. Nothing was charged.".into());
            Some(released(amount))
        }
        ChargeOutcome::Processing | ChargeOutcome::RequiresAction { .. } | ChargeOutcome::Unknown => None,
    }
}

/// Records a decided outcome of a pending payment stored at `payment.version`: settles or
/// releases its reservation on the invoice at `invoice_key`, once. `Ok(false)` when there is
/// nothing to record (the outcome is undecided) or the payment changed meanwhile (someone else
/// recorded it first); the payment is left as it was then.
pub async fn apply(
    table: &dyn Table,
    payment: &mut Payment,
    invoice_key: Key,
    outcome: &ChargeOutcome,
    at: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let mut settled = payment.clone();
    let Some(update) = settlement(&mut settled, outcome) else { return Ok(false) };
    let mut writes = vec![
        Write::Update { key: invoice_key, update, condition: Some(Condition::Exists) },
        store::replace_payment(&settled, payment.version)?,
    ];
    writes.extend(feed::writes(&Vec::from_iter(feed::payment_decided(&settled)), at)?);
    match table.transact(writes).await {
        Ok(()) => {
            settled.version = payment.version + 1;
            *payment = settled;
            Ok(true)
        }
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Brings a pending payment up to date with what the processor says of its charge now (after
/// the patient's 3-D Secure step, or a bank debit that settled), recording it once. A payment
/// that is decided, or names no charge yet, is left as it is. `Ok(true)` when this call recorded
/// the outcome (so its receipt or notice is sent once).
pub async fn refresh(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    payment: &mut Payment,
    invoice_key: Key,
    now: DateTime<Utc>,
) -> Result<bool, PayError> {
    let Some(reference) = payment.gateway_reference.clone() else { return Ok(false) };
    if payment.status != PaymentStatus::Pending {
        return Ok(false);
    }
    match gateway.charge_status(&reference).await? {
        // Only what the processor decided is recorded here. A charge it says was never confirmed
        // may still be on its way (a confirmation that timed out): `reconcile` cancels it first,
        // after a grace period, and only then releases the amount.
        outcome @ (ChargeOutcome::Succeeded { .. } | ChargeOutcome::Declined { .. }) => {
            Ok(apply(table, payment, invoice_key, &outcome, now).await?)
        }
        _ => Ok(false),
    }
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
/// flight is younger than that), by asking the processor what became of each charge. A charge
/// still waiting for the patient's 3-D Secure step after `grace` was abandoned: it is cancelled
/// and its amount released. A bank debit still processing is left for a later run. Each outcome
/// is recorded at the time it is learned (`clock`), so the practice's feed never receives an
/// event dated before a run that took minutes.
pub async fn reconcile(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    clock: &dyn crate::Clock,
    grace: Duration,
) -> Result<Reconciled, StoreError> {
    let now = clock.now();
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
        let answer = match payment.gateway_reference.as_deref() {
            // The charge was never recorded, so it was never confirmed: nothing was taken.
            None => Ok(ChargeOutcome::NotCharged),
            // Abandoned at the 3-D Secure step, or never confirmed: cancelled first, so that it can
            // never take money after its amount is released.
            Some(reference) => match gateway.charge_status(reference).await {
                Ok(ChargeOutcome::RequiresAction { .. } | ChargeOutcome::NotCharged) => gateway.cancel(reference).await,
                answer => answer,
            },
        };
        let outcome = match answer {
            Ok(outcome) => outcome,
            Err(_) => {
                report.unresolved += 1;
                continue;
            }
        };
        if settlement(&mut payment.clone(), &outcome).is_none() {
            report.unresolved += 1;
            continue;
        }
        let Ok(invoice_sk) = invoice_sk(table, &payment).await else {
            report.unresolved += 1;
            continue;
        };
        payment.version = version;
        let invoice_key = Key::new(store::account_pk(&payment.account), invoice_sk);
        match apply(table, &mut payment, invoice_key, &outcome, clock.now()).await {
            Ok(true) if payment.status == PaymentStatus::Succeeded => report.settled += 1,
            Ok(true) => report.released += 1,
            // Settled by someone else meanwhile, or the store failed: the next run looks again.
            Ok(false) | Err(_) => report.unresolved += 1,
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

#[cfg(test)]
mod choice_tests {
    use super::*;

    #[test]
    fn a_saved_method_chosen_with_new_details_typed_is_neither() {
        assert_eq!(choice("src-visa", false), Choice::Saved("src-visa"));
        assert_eq!(choice("new", true), Choice::New);
        assert_eq!(choice("new", false), Choice::New, "new, with nothing typed: the form's own checks answer");
        assert_eq!(choice("src-visa", true), Choice::Ambiguous);
    }
}
