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

/// The source a pay form starts with: the default, unless it has expired (then any other that
/// has not); `None` means "a new card or bank account".
pub fn preselected(sources: &[PaymentSource], today: NaiveDate) -> Option<&PaymentSource> {
    sources.iter().filter(|s| !s.is_expired(today)).max_by_key(|s| s.is_default)
}

/// The saved source a form chose, if it is the household's and can be charged.
pub fn saved_source<'a>(sources: &'a [PaymentSource], id: &str, today: NaiveDate) -> Result<&'a PaymentSource, &'static str> {
    match sources.iter().find(|s| s.id.as_str() == id) {
        Some(s) if s.is_expired(today) => Err("That card has expired. Choose another or add a new one."),
        Some(s) => Ok(s),
        None => Err("Choose how to pay."),
    }
}

/// The amount a pay form asks for, checked against what may be paid now on its invoices.
pub fn amount_to_pay(text: &str, invoices: &[Invoice]) -> Result<Money, String> {
    let payable = payable_on(invoices);
    match Money::parse_payment(text) {
        Ok(amount) if amount > payable => Err(over_balance(payable)),
        Ok(amount) => Ok(amount),
        Err(e) => Err(e.to_string()),
    }
}

/// What a patient is told when an amount is more than may be paid now.
pub fn over_balance(payable: Money) -> String {
    if payable.is_zero() {
        "There is nothing left to pay.".into()
    } else {
        format!("That is more than the {payable} that can be paid now.")
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

impl PaySource {
    /// A bank account: paying from it needs the patient's authorization of the debit.
    pub fn is_bank(&self) -> bool {
        match self {
            PaySource::Saved(source) => matches!(source.details, SourceDetails::BankAccount { .. }),
            PaySource::New { source, .. } => source.is_bank(),
            PaySource::SetUp { source, .. } => matches!(source.details, SourceDetails::BankAccount { .. }),
        }
    }

    /// What the review before the charge calls it ("Visa ending 4242").
    pub fn describe(&self) -> String {
        match self {
            PaySource::Saved(source) => source.details.describe(),
            PaySource::New { source, .. } => source.describe(),
            PaySource::SetUp { source, .. } => source.details.describe(),
        }
    }

    /// What is known of the account before it is charged (new typed details are not, until the processor has them).
    pub fn details(&self) -> Option<&SourceDetails> {
        match self {
            PaySource::Saved(source) => Some(&source.details),
            PaySource::New { .. } => None,
            PaySource::SetUp { source, .. } => Some(&source.details),
        }
    }

    pub fn is_new(&self) -> bool {
        !matches!(self, PaySource::Saved(_))
    }

    /// Kept on file after the payment.
    pub fn saves(&self) -> bool {
        match self {
            PaySource::Saved(_) => false,
            PaySource::New { save, .. } | PaySource::SetUp { save, .. } => *save,
        }
    }
}

/// A bank debit is made only with the patient's authorization: asked on the form, refused by
/// [`pay`] without it, and checked before the review so the patient is told at once.
pub fn needs_ach_authorization(source: &PaySource, authorized: bool) -> bool {
    source.is_bank() && !authorized
}

pub struct PayRequest<'a> {
    pub account: &'a AccountId,
    /// The invoices paid, oldest first: the amount is allocated to them in that order (one
    /// invoice, for the pay page of an invoice).
    pub invoices: &'a [Invoice],
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
    /// For automatic payment: the recurring authorization the owner gave, which covers this debit.
    pub standing: Option<&'a AchAuthorization>,
    /// The member paying (signed in), recorded on the payment for its receipt.
    pub payer: Option<&'a crate::MemberId>,
    pub now: DateTime<Utc>,
}

/// At most how many invoices one payment pays: its writes fit one table transaction
/// (three items an invoice when it settles, within DynamoDB's hundred).
pub const MAX_INVOICES_PER_PAYMENT: usize = 20;

/// The invoices "Pay total due" pays, oldest first (by issue date, then number): every one with
/// an amount that can be paid now, at most [`MAX_INVOICES_PER_PAYMENT`] of them.
pub fn due_oldest_first(mut invoices: Vec<Invoice>) -> Vec<Invoice> {
    invoices.retain(|i| !i.is_void() && !i.payable().is_zero());
    invoices.sort_by(|a, b| (a.issued(), a.number()).cmp(&(b.issued(), b.number())));
    invoices.truncate(MAX_INVOICES_PER_PAYMENT);
    invoices
}

/// How a review names the split it showed ("inv-1008=140.00;inv-1009=60.00"): the charge goes
/// ahead only if the split is the same when the patient presses "Pay now" (another payment
/// may have been made meanwhile, by the other adult billing is shared with, say).
pub fn allocation_text(parts: &[(&Invoice, Money)]) -> String {
    parts.iter().map(|(i, m)| format!("{}={}", i.id(), m.plain())).collect::<Vec<_>>().join(";")
}

/// What may be paid now on these invoices in all.
pub fn payable_on(invoices: &[Invoice]) -> Money {
    invoices.iter().map(Invoice::payable).sum()
}

/// How `amount` is spread over `invoices` (oldest first): each in turn takes what can be paid
/// on it until the amount is used up. `None` when the amount is more than can be paid on them
/// all; invoices it does not reach are left out.
pub fn allocate(invoices: &[Invoice], amount: Money) -> Option<Vec<(&Invoice, Money)>> {
    if amount > payable_on(invoices) || amount.is_zero() {
        return None;
    }
    let mut left = amount;
    let mut parts = Vec::new();
    for invoice in invoices {
        if left.is_zero() {
            break;
        }
        let part = left.min(invoice.payable());
        if !part.is_zero() {
            parts.push((invoice, part));
            left = left - part;
        }
    }
    Some(parts)
}

/// A patient checked "I authorize this bank debit" on the pay form.
pub struct AchConsent<'a> {
    pub practice: &'a str,
    /// The practice's date, for the authorization's words.
    pub today: NaiveDate,
    pub ip: &'a str,
    pub user_agent: &'a str,
}

/// "invoice 1001", "invoices 1001 and 1002", "invoices 1001, 1002 and 1003".
pub fn invoices_phrase(numbers: &[&str]) -> String {
    match numbers {
        [] => "invoices".to_owned(),
        [one] => format!("invoice {one}"),
        [rest @ .., last] => format!("invoices {} and {last}", rest.join(", ")),
    }
}

/// The words a patient agrees to before a one-time bank (ACH) debit, as NACHA asks: who debits,
/// how much, from which account, when, what for, and how to revoke. The pay form shows them
/// with "the amount above" and "the bank account you chose"; the payment keeps them filled in.
pub fn ach_authorization_text(
    practice: &str,
    amount: Option<Money>,
    account: Option<&SourceDetails>,
    invoices: &[&str],
    date: NaiveDate,
) -> String {
    let invoices = invoices_phrase(invoices);
    let amount = amount.map_or_else(|| "the amount above".to_owned(), |a| a.to_string());
    let account = account.map_or_else(|| "the bank account I chose".to_owned(), |a| format!("my {}", a.describe()));
    format!(
        "I authorize {practice} to debit {amount} from {account} once, on or after {}, for {invoices}. \
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

use crate::keys::idempotency_key;

/// The payment a form with this idempotency key made, if it was sent before: a resubmitted form
/// answers with the first attempt and starts nothing new (no setup is read, nothing charged).
pub async fn replayed(table: &dyn Table, account: &AccountId, key: &str) -> Result<Option<Payment>, StoreError> {
    let Some(item) = table.get(&idempotency_key(account, key)).await? else { return Ok(None) };
    let record: IdempotencyRecord = record_of(&item)?;
    // A record from before the history moved below the profile names the payment's key then.
    let now = crate::keys::ledger_sk(&record.payment_sk).unwrap_or_else(|| record.payment_sk.clone());
    let stored = match table.get(&Key::new(record.payment_pk.clone(), now)).await? {
        Some(stored) => stored,
        None => match table.get(&Key::new(record.payment_pk, record.payment_sk)).await? {
            Some(stored) => stored,
            None => return Ok(None),
        },
    };
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

/// Pays (part of) an invoice, or several invoices at once: the amount is allocated oldest
/// invoice first, reserved on all of them in one transaction and charged once; each invoice's
/// part is a payment of its own (the first part's id names the batch).
pub async fn pay(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    random: &dyn Random,
    req: PayRequest<'_>,
) -> Result<PayOutcome, PayError> {
    if let Some(first) = replayed(table, req.account, req.idempotency_key).await? {
        return Ok(PayOutcome::Replayed(first));
    }
    // One payment's writes fit one transaction: at most this many invoices, the oldest.
    let invoices = &req.invoices[..req.invoices.len().min(MAX_INVOICES_PER_PAYMENT)];
    let Some(parts) = allocate(invoices, req.amount) else {
        return Ok(PayOutcome::OverBalance { payable: payable_on(invoices) });
    };
    let numbers: Vec<&str> = parts.iter().map(|(i, _)| i.number()).collect();
    if needs_ach_authorization(&req.source, req.ach_consent.is_some() || req.standing.is_some()) {
        return Ok(PayOutcome::NeedsAchAuthorization);
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
        (SourceDetails::BankAccount { .. }, None) if req.standing.is_some() => req.standing.cloned(),
        (SourceDetails::BankAccount { .. }, None) => return Ok(PayOutcome::NeedsAchAuthorization),
        (SourceDetails::BankAccount { .. }, Some(consent)) => Some(AchAuthorization {
            text: ach_authorization_text(consent.practice, Some(req.amount), Some(&details), &numbers, consent.today),
            at: req.now,
            ip: consent.ip.to_owned(),
            user_agent: consent.user_agent.to_owned(),
        }),
        (SourceDetails::Card { .. }, _) => None,
    };
    let mut payments = Vec::with_capacity(parts.len());
    for (invoice, part) in &parts {
        payments.push(Payment {
            id: PaymentId::parse(&random_token(random, 16)).map_err(|_| StoreError::Malformed("payment id".into()))?,
            account: req.account.clone(),
            invoice: invoice.id().clone(),
            amount: *part,
            source: details.clone(),
            status: PaymentStatus::Pending,
            gateway_reference: None,
            idempotency_key: req.idempotency_key.to_owned(),
            at: req.now,
            reversals: Default::default(),
            ach_authorization: ach_authorization.clone(),
            batch: None,
            paid_by: req.payer.cloned(),
            invoice_number: Some(invoice.number().to_owned()),
            invoice_issued: Some(invoice.issued()),
            parts: None,
            version: 1,
        });
    }
    if payments.len() > 1 {
        let first = payments[0].id.clone();
        let parts = u32::try_from(payments.len()).ok();
        payments.iter_mut().for_each(|p| {
            p.batch = Some(first.clone());
            p.parts = parts;
        });
    }
    let invoice_keys: Vec<Key> = parts.iter().map(|(i, _)| store::invoice_key(i)).collect();
    let first_key = store::payment_key(&payments[0]);

    // 1. Reserve the amount on every invoice and record the attempt, or do nothing at all.
    let mut marker = record_item(
        &idempotency_key(req.account, req.idempotency_key),
        "idempotency",
        &IdempotencyRecord { payment_pk: first_key.pk.clone(), payment_sk: first_key.sk.clone() },
        1,
    )?;
    marker.insert(attr::EXPIRES_AT.into(), Value::from((req.now + Duration::days(IDEMPOTENCY_DAYS)).timestamp()));
    let mut reserve = Vec::with_capacity(2 * payments.len() + 1);
    for (payment, key) in payments.iter().zip(&invoice_keys) {
        let amount = payment.amount.amount();
        reserve.push(Write::Update {
            key: key.clone(),
            update: Update::default().add(PENDING, amount).add(AVAILABLE, -amount),
            condition: Some(Condition::AtLeast(AVAILABLE.into(), amount)),
        });
        reserve.extend(store::record_payment(payment, None)?);
    }
    reserve.push(Write::Put { item: marker, condition: Some(Condition::NotExists) });
    match table.transact(reserve).await {
        Ok(()) => {}
        Err(StoreError::ConditionFailed) => {
            if let Some(first) = replayed(table, req.account, req.idempotency_key).await? {
                return Ok(PayOutcome::Replayed(first));
            }
            let mut payable = Money::default();
            for invoice in invoices {
                payable = payable + payable_now(table, invoice).await?;
            }
            return Ok(PayOutcome::OverBalance { payable });
        }
        Err(e) => return Err(e.into()),
    }

    // 2. Create the charge (no money moves) and record which charge these payments are.
    let request = ChargeRequest {
        customer: req.customer.map(str::to_owned),
        token: token.clone(),
        amount: req.amount,
        payment: payments[0].id.to_string(),
        account: req.account.to_string(),
        description: numbers.join(", "),
    };
    let closes = parts.iter().any(|(invoice, part)| invoice.balance() == *part);
    let batch = Batch { keys: invoice_keys, forget: forget.then_some(token.as_str()), at: req.now, closes };
    let reference = match gateway.prepare(&request).await {
        Ok(reference) => reference,
        Err(e) => {
            // Nothing can have been charged: the reservation is released at once.
            tracing::warn!(error = %e, "the processor could not create the charge");
            return finish(table, gateway, payments, 1, batch, &ChargeOutcome::NotCharged, None).await;
        }
    };
    let mut record = Vec::with_capacity(payments.len() + 1);
    for payment in &mut payments {
        payment.gateway_reference = Some(reference.clone());
        record.extend(store::record_payment(payment, Some(1))?);
    }
    let charged: Vec<(&Payment, &Invoice)> = payments.iter().zip(parts.iter().map(|(i, _)| *i)).collect();
    record.push(store::put_charge(&reference, &charged)?);
    if let Err(e) = table.transact(record).await {
        // The charge exists but was never confirmed, so it cannot take money; reconcile releases
        // the reservation of a pending payment that names no charge.
        tracing::error!(error = %e, "recording the charge failed; left pending");
        let mut first = payments.swap_remove(0);
        first.gateway_reference = None;
        return Ok(PayOutcome::Pending(first));
    }

    // 3. Confirm, keyed by the first payment so a retried confirmation is never a second charge.
    let outcome = match gateway.confirm(&reference, payments[0].id.as_str()).await {
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
    let batch = Batch { forget: forget.then_some(token.as_str()), ..batch };
    finish(table, gateway, payments, 2, batch, &outcome, saved).await
}

/// What settling a payment's parts needs besides the answer: each part's invoice (in the parts'
/// order), a source to forget after (one saved for this payment only), and when it is recorded.
struct Batch<'a> {
    keys: Vec<Key>,
    forget: Option<&'a str>,
    at: DateTime<Utc>,
    /// Whether a part pays the rest of its invoice: once it goes through, the household's
    /// summary of open invoices has an entry to prune.
    closes: bool,
}

/// Records what the processor answered for every part of a payment, in one transaction:
/// settles or releases each reservation (or leaves them, while the charge is processing or waits
/// for the patient), saves the source when asked, and forgets a source that was for this
/// payment only. The outcome names the first part.
async fn finish(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    mut payments: Vec<Payment>,
    version: u64,
    batch: Batch<'_>,
    outcome: &ChargeOutcome,
    saved: Option<PaymentSource>,
) -> Result<PayOutcome, PayError> {
    let mut writes = Vec::new();
    if let Some(source) = &saved {
        writes.extend(crate::sources::add_writes(source)?);
    }
    let mut settled = Vec::new();
    for (payment, key) in payments.iter_mut().zip(&batch.keys) {
        if let Some(update) = settlement(payment, outcome) {
            settled.push((Write::Update { key: key.clone(), update, condition: None }, store::record_payment(payment, Some(version))?));
        }
    }
    let decided = !settled.is_empty();
    // The practice hears of the payment once it is decided, and of a source it saved.
    let mut changes: Vec<Change<'_>> = saved.iter().map(Change::SourceAdded).collect();
    if decided {
        changes.extend(payments.iter().filter_map(feed::payment_decided));
    }
    writes.extend(feed::writes(&changes, batch.at)?);
    for (invoice, payment) in settled {
        writes.push(invoice);
        writes.extend(payment);
    }
    let paid_now = if decided { store::count_paid(&payments)? } else { Vec::new() };
    let counted = !paid_now.is_empty();
    writes.extend(paid_now);
    let result = if writes.is_empty() { Ok(()) } else { table.transact(writes).await };
    if counted && batch.closes && result.is_ok() {
        store::summary::prune_after_paying(table, &payments[0].account).await;
    }
    if let Some(token) = batch.forget {
        if let Err(e) = gateway.detach(token).await {
            tracing::warn!(error = %e, "a source used once could not be detached");
        }
    }
    let mut first = payments.swap_remove(0);
    if let Err(e) = result {
        // The processor has answered but the answer could not be recorded: the payment stays
        // pending (and its amount reserved) until it is reconciled. Nothing is charged again.
        tracing::error!(error = %e, "settling a payment failed; left pending");
        first.status = PaymentStatus::Pending;
        return Ok(PayOutcome::Pending(first));
    }
    if decided {
        first.version = version + 1;
    }
    Ok(match outcome {
        ChargeOutcome::Succeeded { .. } => PayOutcome::Succeeded(first),
        ChargeOutcome::Processing => PayOutcome::Processing(first),
        ChargeOutcome::RequiresAction { client_secret } => PayOutcome::NeedsAction { payment: first, client_secret: client_secret.clone() },
        ChargeOutcome::Unknown => PayOutcome::Pending(first),
        ChargeOutcome::Declined { .. } | ChargeOutcome::NotCharged => PayOutcome::Declined(first),
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
    let mut writes = vec![Write::Update { key: invoice_key, update, condition: Some(Condition::Exists) }];
    writes.extend(store::record_payment(&settled, Some(payment.version))?);
    writes.extend(feed::writes(&Vec::from_iter(feed::payment_decided(&settled)), at)?);
    let paid_now = store::count_paid([&settled])?;
    let counted = !paid_now.is_empty();
    writes.extend(paid_now);
    match table.transact(writes).await {
        Ok(()) => {
            if counted {
                store::summary::prune_after_paying(table, &settled.account).await;
            }
            settled.version = payment.version + 1;
            *payment = settled;
            Ok(true)
        }
        Err(StoreError::ConditionFailed) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Brings a pending payment up to date with what the processor says of its charge now (after
/// the patient's 3-D Secure step, or a bank debit that settled), recording it once. `parts` are
/// the payment's parts (one, unless it paid several invoices), each with its invoice's key: the
/// processor is asked once and every pending part is recorded in one transaction. Parts that are
/// decided, or name no charge yet, are left as they are. `Ok(true)` when this call recorded the
/// outcome (so its receipt or notice is sent once).
pub async fn refresh(
    table: &dyn Table,
    gateway: &dyn PaymentGateway,
    parts: &mut [(Payment, Key)],
    now: DateTime<Utc>,
) -> Result<bool, PayError> {
    let pending = |p: &Payment| p.status == PaymentStatus::Pending;
    let Some(reference) = parts.iter().find(|(p, _)| pending(p)).and_then(|(p, _)| p.gateway_reference.clone()) else {
        return Ok(false);
    };
    // Only what the processor decided is recorded here. A charge it says was never confirmed
    // may still be on its way (a confirmation that timed out): `reconcile` cancels it first,
    // after a grace period, and only then releases the amount.
    let outcome = match gateway.charge_status(&reference).await? {
        outcome @ (ChargeOutcome::Succeeded { .. } | ChargeOutcome::Declined { .. }) => outcome,
        _ => return Ok(false),
    };
    let mut writes = Vec::new();
    let mut settled = Vec::new();
    for (index, (payment, key)) in parts.iter().enumerate() {
        if !pending(payment) || payment.gateway_reference.as_deref() != Some(reference.as_str()) {
            continue;
        }
        let mut decided = payment.clone();
        let Some(update) = settlement(&mut decided, &outcome) else { continue };
        writes.push(Write::Update { key: key.clone(), update, condition: Some(Condition::Exists) });
        writes.extend(store::record_payment(&decided, Some(payment.version))?);
        decided.version = payment.version + 1;
        settled.push((index, decided));
    }
    let changes: Vec<Change<'_>> = settled.iter().filter_map(|(_, p)| feed::payment_decided(p)).collect();
    writes.extend(feed::writes(&changes, now)?);
    let paid_now = store::count_paid(settled.iter().map(|(_, p)| p))?;
    let counted = (!paid_now.is_empty()).then(|| settled[0].1.account.clone());
    writes.extend(paid_now);
    match table.transact(writes).await {
        Ok(()) => {
            if let Some(account) = counted {
                store::summary::prune_after_paying(table, &account).await;
            }
        }
        // Recorded by someone else meanwhile (Stripe's event, another page): nothing more to do.
        Err(StoreError::ConditionFailed) => return Ok(false),
        Err(e) => return Err(e.into()),
    }
    for (index, decided) in settled {
        parts[index].0 = decided;
    }
    Ok(true)
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

/// Gives up a charge that waits for the patient (3-D Secure) when no patient is there to answer
/// (automatic payment): cancelled at the processor first, so it can never take money, then its
/// amount released on the invoice. `true` once released (or settled, if it went through meanwhile).
pub async fn abandon(table: &dyn Table, gateway: &dyn PaymentGateway, payment: &Payment, now: DateTime<Utc>) -> Result<bool, PayError> {
    let Some(item) = table.get(&crate::keys::payment_key(payment)).await? else { return Ok(false) };
    let mut stored: Payment = record_of(&item)?;
    stored.version = store::version_of(&item);
    if stored.status != PaymentStatus::Pending {
        return Ok(false);
    }
    let outcome = match stored.gateway_reference.as_deref() {
        None => ChargeOutcome::NotCharged,
        Some(reference) => gateway.cancel(reference).await?,
    };
    let invoice_key = Key::new(store::account_pk(&stored.account), invoice_sk(table, &stored).await?);
    Ok(apply(table, &mut stored, invoice_key, &outcome, now).await?)
}

/// The sort key of a payment's invoice (its issue date is part of it).
async fn invoice_sk(table: &dyn Table, payment: &Payment) -> Result<String, StoreError> {
    let suffix = format!("#{}", payment.invoice);
    let items = table.query(&store::account_pk(&payment.account), crate::keys::INVOICE).await?;
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

    fn source(id: &str, exp_year: i32, is_default: bool) -> PaymentSource {
        PaymentSource {
            id: SourceId::parse(id).unwrap(),
            account: AccountId::parse("lopez").unwrap(),
            details: SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year },
            token: "tok".into(),
            is_default,
            version: 1,
        }
    }

    #[test]
    fn the_form_starts_with_the_default_unless_it_expired_and_refuses_an_expired_or_unknown_choice() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let sources = [source("old", 2025, true), source("spare", 2030, false)];
        assert_eq!(preselected(&sources, today).map(|s| s.id.as_str()), Some("spare"), "the expired default is passed over");
        assert_eq!(preselected(&sources[..1], today), None, "a new card, then");
        assert!(saved_source(&sources, "old", today).unwrap_err().contains("expired"));
        assert_eq!(saved_source(&sources, "nope", today).unwrap_err(), "Choose how to pay.");
        assert_eq!(saved_source(&sources, "spare", today).map(|s| s.id.as_str()), Ok("spare"));
    }

    #[test]
    fn an_amount_is_refused_above_what_can_be_paid_now() {
        assert_eq!(over_balance(Money::ZERO), "There is nothing left to pay.");
        assert_eq!(amount_to_pay("12", &[]), Err("There is nothing left to pay.".to_owned()));
        assert!(amount_to_pay("abc", &[]).is_err());
    }
}

#[cfg(test)]
mod allocation_tests {
    use super::*;
    use crate::{InvoiceData, InvoiceId, LineItem};
    use proptest::prelude::*;

    fn invoice(n: u32, issued: &str, total: i64, paid: i64, pending: i64) -> Invoice {
        let day = NaiveDate::parse_from_str(issued, "%Y-%m-%d").unwrap();
        Invoice::new(InvoiceData {
            id: InvoiceId::parse(&format!("inv-{n}")).unwrap(),
            account: AccountId::parse("lopez").unwrap(),
            number: format!("INV-{n}"),
            issued: day,
            due: day + chrono::Days::new(14),
            lines: vec![LineItem {
                member: None,
                description: "Membership".into(),
                period_start: None,
                period_end: None,
                amount: Money::from_cents(total),
            }],
            paid: Money::from_cents(paid),
            pending: Money::from_cents(pending),
            void: false,
        })
        .unwrap()
    }

    #[test]
    fn total_due_is_every_invoice_with_something_payable_oldest_first() {
        let newest = invoice(3, "2026-11-01", 19000, 0, 0);
        let paid = invoice(1, "2026-09-01", 14000, 14000, 0);
        let oldest = invoice(2, "2026-10-01", 14000, 4000, 2000);
        let due = due_oldest_first(vec![newest, paid, oldest]);
        assert_eq!(due.iter().map(Invoice::number).collect::<Vec<_>>(), ["INV-2", "INV-3"]);
        assert_eq!(payable_on(&due), Money::from_cents(8000 + 19000), "what is being processed is not payable again");
        let many: Vec<Invoice> = (0..30).map(|n| invoice(100 + n, "2026-01-01", 100, 0, 0)).collect();
        assert_eq!(due_oldest_first(many).len(), MAX_INVOICES_PER_PAYMENT, "one payment fits one transaction");
    }

    #[test]
    fn an_amount_goes_to_the_oldest_invoice_first() {
        let due = [invoice(1, "2026-10-01", 14000, 0, 0), invoice(2, "2026-11-01", 19000, 0, 0)];
        let parts =
            |cents| allocate(&due, Money::from_cents(cents)).map(|p| p.iter().map(|(i, m)| (i.number(), m.cents())).collect::<Vec<_>>());
        assert_eq!(parts(33000), Some(vec![("INV-1", 14000), ("INV-2", 19000)]));
        assert_eq!(parts(20000), Some(vec![("INV-1", 14000), ("INV-2", 6000)]));
        assert_eq!(parts(5000), Some(vec![("INV-1", 5000)]), "an invoice the amount does not reach is left out");
        assert_eq!(parts(33001), None, "never more than is due");
        assert_eq!(parts(0), None);
        let split = allocate(&due, Money::from_cents(20000)).unwrap();
        assert_eq!(allocation_text(&split), "inv-1=140.00;inv-2=60.00");
    }

    #[test]
    fn invoices_are_named_in_plain_words() {
        assert_eq!(invoices_phrase(&["INV-1"]), "invoice INV-1");
        assert_eq!(invoices_phrase(&["INV-1", "INV-2"]), "invoices INV-1 and INV-2");
        assert_eq!(invoices_phrase(&["INV-1", "INV-2", "INV-3"]), "invoices INV-1, INV-2 and INV-3");
    }

    proptest! {
        #[test]
        fn allocation_pays_exactly_the_amount_and_never_more_than_an_invoice_can_take(
            balances in proptest::collection::vec(1i64..50_000, 1..6),
            per_mille in 0i64..=1000,
        ) {
            let due: Vec<Invoice> = balances.iter().enumerate().map(|(n, b)| invoice(n as u32, "2026-10-01", *b, 0, 0)).collect();
            let total: i64 = balances.iter().sum();
            let cents = total * per_mille / 1000;
            match allocate(&due, Money::from_cents(cents)) {
                None => prop_assert_eq!(cents, 0),
                Some(parts) => {
                    prop_assert_eq!(parts.iter().map(|(_, m)| m.cents()).sum::<i64>(), cents);
                    for (k, (invoice, part)) in parts.iter().enumerate() {
                        prop_assert!(*part <= invoice.payable() && !part.is_zero());
                        // Every invoice before the last one reached is paid in full.
                        if k + 1 < parts.len() {
                            prop_assert_eq!(*part, invoice.payable());
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod refresh_tests {
    use super::*;
    use crate::ports::{MockPaymentGateway, MockTable};
    use crate::{BankAccountType, InvoiceId};

    fn part(id: &str, invoice: &str, cents: i64) -> (Payment, Key) {
        let payment = Payment {
            id: PaymentId::parse(id).unwrap(),
            account: AccountId::parse("lopez").unwrap(),
            invoice: InvoiceId::parse(invoice).unwrap(),
            amount: Money::from_cents(cents),
            source: SourceDetails::BankAccount { bank_name: "Bank".into(), last4: "6789".into(), account_type: BankAccountType::Checking },
            status: PaymentStatus::Pending,
            gateway_reference: Some("pi_1".into()),
            idempotency_key: "k".into(),
            at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            reversals: Default::default(),
            ach_authorization: None,
            batch: Some(PaymentId::parse("p1").unwrap()),
            paid_by: None,
            invoice_number: None,
            invoice_issued: None,
            parts: None,
            version: 2,
        };
        (payment, Key::new("ACCOUNT#lopez", format!("INVOICE#2026-10-01#{invoice}")))
    }

    #[tokio::test]
    async fn a_payment_of_several_invoices_is_brought_up_to_date_with_one_question_and_one_transaction() {
        let mut gateway = MockPaymentGateway::new();
        gateway.expect_charge_status().times(1).returning(|_| Ok(ChargeOutcome::Succeeded { reference: "pi_1".into() }));
        let mut table = MockTable::new();
        // For each part its invoice, its payment and its copy beside the invoice, and the
        // practice's event, and the household's summary, its figures for the year and their
        // totals, its receipts of the year and their index once each.
        table
            .expect_transact()
            .times(1)
            .withf(|w| w.len() == 13 && w.iter().filter(|w| matches!(w, Write::Upsert { .. })).count() == 7)
            .returning(|_| Ok(()));
        // Then what was paid in full leaves the summary (here there is none to read).
        table.expect_get().times(1).returning(|_| Ok(None));
        let mut parts = [part("p1", "inv-1", 14000), part("p2", "inv-2", 6000)];
        let now = DateTime::from_timestamp(1_790_100_000, 0).unwrap();
        assert!(refresh(&table, &gateway, &mut parts, now).await.unwrap());
        assert!(parts.iter().all(|(p, _)| p.status == PaymentStatus::Succeeded && p.version == 3));
        // Decided already: nothing is asked, nothing written.
        let (quiet_gateway, quiet_table) = (MockPaymentGateway::new(), MockTable::new());
        assert!(!refresh(&quiet_table, &quiet_gateway, &mut parts, now).await.unwrap());
    }
}
