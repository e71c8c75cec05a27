//! What the payment processor tells the portal after the fact (Stripe's webhooks): a bank debit
//! that settled or failed days later, a refund, a dispute. Each event is applied exactly once
//! (its id is recorded in the same transaction as its change), and an event older than what is
//! recorded (a failure after the success, a smaller refund total) changes nothing.

use chrono::{DateTime, Duration, Utc};

use crate::feed::{self, Change};
use crate::pay::settlement;
use crate::ports::{attr, ChargeOutcome, Condition, Item, Table, Value, Write};
use crate::store::{self, record_item, record_of, ChargeRecord};
use crate::{Money, Payment, PaymentStatus, StoreError};

/// How long an applied event's id is remembered: Stripe retries an event for three days.
pub const EVENT_DAYS: i64 = 30;

/// One event, in the portal's terms; `reference` is the charge (a PaymentIntent id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProcessorEvent {
    /// The charge took the money (a card at once, a bank debit days later).
    Succeeded { reference: String },
    /// The charge failed (a bank debit refused days later); the reason is for the patient.
    Failed { reference: String, reason: String },
    /// The charge is on its way (a bank debit): nothing to record, the amount is already on hold.
    Processing { reference: String },
    /// The practice refunded some or all of it; `total` is everything refunded so far.
    Refunded { reference: String, total: Money },
    /// The patient's bank opened a dispute.
    Disputed { reference: String },
}

impl ProcessorEvent {
    pub fn reference(&self) -> &str {
        match self {
            ProcessorEvent::Succeeded { reference }
            | ProcessorEvent::Failed { reference, .. }
            | ProcessorEvent::Processing { reference }
            | ProcessorEvent::Refunded { reference, .. }
            | ProcessorEvent::Disputed { reference } => reference,
        }
    }
}

/// What applying an event did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    /// The payment changed from `before` (its status then) to `payment`.
    Recorded { before: PaymentStatus, payment: Box<Payment> },
    /// This event was applied before (Stripe sent it again).
    Replayed,
    /// Nothing to change: the payment already says as much or more (an older event), or it is
    /// still processing.
    Unchanged,
    /// No payment of the portal's has this charge (another system's charge on the same account).
    NotOurs,
}

fn event_marker(event_id: &str, now: DateTime<Utc>) -> Result<Write, StoreError> {
    let mut item: Item = record_item(&store::processor_event_key(event_id), "processor_event", &event_id, 1)?;
    item.insert(attr::EXPIRES_AT.into(), Value::from((now + Duration::days(EVENT_DAYS)).timestamp()));
    Ok(Write::Put { item, condition: Some(Condition::NotExists) })
}

/// Applies `event` (Stripe's event `event_id`) once. A refused condition (the same event applied
/// at the same moment elsewhere, or the payment changed meanwhile) is an error the processor's
/// retry resolves: the next attempt sees it applied, or applies it to the payment as it is then.
pub async fn apply(table: &dyn Table, event_id: &str, event: &ProcessorEvent, now: DateTime<Utc>) -> Result<Applied, StoreError> {
    if table.get(&store::processor_event_key(event_id)).await?.is_some() {
        return Ok(Applied::Replayed);
    }
    let Some(charge) = table.get(&store::charge_key(event.reference())).await? else { return Ok(Applied::NotOurs) };
    let charge: ChargeRecord = record_of(&charge)?;
    // A charge that paid several invoices has one payment for each: the event is about them all.
    let mut parts = Vec::new();
    for ((payment_key, invoice_key), (written_payment, _)) in charge.parts().into_iter().zip(charge.parts_as_written()) {
        let Some(item) = table.get(&payment_key).await? else {
            // A household `portal migrate` has not reached yet keeps its payments at the keys the
            // record names: the event waits for it (an error, so the processor sends it again).
            if written_payment != payment_key && table.get(&written_payment).await?.is_some() {
                return Err(StoreError::Unavailable(anyhow::anyhow!("the payment's household is not migrated yet (portal migrate)")));
            }
            return Ok(Applied::NotOurs);
        };
        let mut payment: Payment = record_of(&item)?;
        payment.version = store::version_of(&item);
        parts.push((payment, invoice_key));
    }
    // A refund total is spread over the parts in order: each takes back at most what it paid.
    let mut refund_left = match event {
        ProcessorEvent::Refunded { total, .. } => *total,
        _ => Money::default(),
    };
    let mut writes = vec![event_marker(event_id, now)?];
    let mut changed_parts = Vec::new();
    for (payment, invoice_key) in &parts {
        let mut changed = payment.clone();
        let invoice_update = match event {
            ProcessorEvent::Succeeded { .. } | ProcessorEvent::Failed { .. } if payment.status != PaymentStatus::Pending => continue,
            ProcessorEvent::Succeeded { reference } => settlement(&mut changed, &ChargeOutcome::Succeeded { reference: reference.clone() }),
            ProcessorEvent::Failed { reason, .. } => settlement(&mut changed, &ChargeOutcome::Declined { reason: reason.clone() }),
            ProcessorEvent::Processing { .. } => continue,
            ProcessorEvent::Refunded { .. } => {
                let share = refund_left.min(payment.amount);
                refund_left = refund_left - share;
                if payment.status != PaymentStatus::Succeeded || share <= payment.reversals.refunded {
                    continue;
                }
                changed.reversals.refunded = share;
                None
            }
            ProcessorEvent::Disputed { .. } => {
                if payment.reversals.disputed {
                    continue;
                }
                changed.reversals.disputed = true;
                None
            }
        };
        writes.extend(store::record_payment(&changed, Some(payment.version))?);
        if let Some(update) = invoice_update {
            writes.push(Write::Update { key: invoice_key.clone(), update, condition: Some(Condition::Exists) });
        }
        changed_parts.push((payment.status.clone(), changed));
    }
    if changed_parts.is_empty() {
        return Ok(Applied::Unchanged);
    }
    let changes: Vec<Change<'_>> = changed_parts
        .iter()
        .filter_map(|(_, changed)| match event {
            ProcessorEvent::Refunded { .. } => Some(Change::PaymentRefunded(changed)),
            ProcessorEvent::Disputed { .. } => Some(Change::PaymentDisputed(changed)),
            _ => feed::payment_decided(changed),
        })
        .collect();
    writes.extend(feed::writes(&changes, now)?);
    // What went through now (not a refund of what went through before) counts in the summary and the figures by month.
    let paid_now = store::count_paid(changed_parts.iter().filter(|(was, _)| *was == PaymentStatus::Pending).map(|(_, p)| p))?;
    let counted = (!paid_now.is_empty()).then(|| changed_parts[0].1.account.clone());
    writes.extend(paid_now);
    table.transact(writes).await?;
    if let Some(account) = counted {
        store::summary::prune_after_paying(table, &account).await;
    }
    // The first part changed names the payment (the first part of a batch, whose receipt lists all).
    let (before, mut payment) = changed_parts.swap_remove(0);
    payment.version += 1;
    Ok(Applied::Recorded { before, payment: Box::new(payment) })
}

/// Whether an applied event is the one that decided a payment (its receipt or failure notice is
/// then due, once).
pub fn decided(before: &PaymentStatus, after: &Payment) -> bool {
    *before == PaymentStatus::Pending && after.status != PaymentStatus::Pending
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{Key, MockTable};
    use crate::{AccountId, InvoiceId, PaymentId, Reversals, SourceDetails};
    use std::sync::{Arc, Mutex};

    fn payment(status: PaymentStatus, reversals: Reversals) -> Payment {
        Payment {
            id: PaymentId::parse("p1").unwrap(),
            account: AccountId::parse("lopez").unwrap(),
            invoice: InvoiceId::parse("inv-1").unwrap(),
            amount: Money::from_cents(5000),
            source: SourceDetails::BankAccount {
                bank_name: "Bank".into(),
                last4: "6789".into(),
                account_type: crate::BankAccountType::Checking,
            },
            status,
            gateway_reference: Some("pi_1".into()),
            idempotency_key: "k".into(),
            at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            reversals,
            ach_authorization: None,
            batch: None,
            paid_by: None,
            invoice_number: None,
            invoice_issued: None,
            parts: None,
            version: 3,
        }
    }

    /// A table holding one payment (and its charge record) that records the transaction it is sent.
    fn table(stored: Payment, seen: bool) -> (MockTable, Arc<Mutex<Vec<Write>>>) {
        let mut table = MockTable::new();
        let written = Arc::new(Mutex::new(Vec::new()));
        let key = store::payment_key(&stored);
        table.expect_get().returning(move |k| {
            Ok(if k.pk.starts_with("PROCESSOR_EVENT#") {
                seen.then(Item::new)
            } else if k.pk.starts_with("CHARGE#") {
                let record = ChargeRecord {
                    payment_pk: key.pk.clone(),
                    payment_sk: key.sk.clone(),
                    invoice_sk: "INVOICE#2026-11-01#inv-1".into(),
                    more: vec![],
                };
                Some(record_item(&store::charge_key("pi_1"), "charge", &record, 1).unwrap())
            } else {
                let mut item = record_item(&key, "payment", &stored, stored.version).unwrap();
                item.insert(attr::VERSION.into(), Value::from(stored.version));
                Some(item)
            })
        });
        let sink = written.clone();
        table.expect_transact().returning(move |writes| {
            sink.lock().unwrap().extend(writes);
            Ok(())
        });
        (table, written)
    }

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_100_000, 0).unwrap()
    }

    #[tokio::test]
    async fn a_bank_debit_that_settles_is_paid_once() {
        let (table, written) = table(payment(PaymentStatus::Pending, Reversals::default()), false);
        let event = ProcessorEvent::Succeeded { reference: "pi_1".into() };
        let Applied::Recorded { payment: paid, .. } = apply(&table, "evt_1", &event, now()).await.unwrap() else { panic!("recorded") };
        assert_eq!((paid.status, paid.version), (PaymentStatus::Succeeded, 4));
        let writes = written.lock().unwrap();
        assert_eq!(
            writes.len(),
            10,
            "the payment and its copy beside the invoice, the event's marker, the invoice, the practice's event, the household's summary, its figures for the year and their totals, its receipts of the year and their index, in one transaction"
        );
        assert!(writes.iter().any(
            |w| matches!(w, Write::Upsert { key, update } if *key == crate::keys::summary_key(&paid.account) && update.add == [("p#inv-1".to_owned(), Money::from_cents(5000).amount())])
        ));
        assert_eq!(crate::feed::kinds_in(&writes), ["payment.succeeded"]);
        assert!(writes.iter().any(|w| matches!(w, Write::Put { item, .. } if Key::of(item) == Some(store::processor_event_key("evt_1")))));
    }

    #[tokio::test]
    async fn an_event_for_a_household_not_yet_migrated_waits_for_it() {
        let stored = payment(PaymentStatus::Pending, Reversals::default());
        let now_key = store::payment_key(&stored);
        let old_sk = now_key.sk.replacen(crate::keys::PAYMENT, "PAYMENT#", 1);
        let mut table = MockTable::new();
        table.expect_get().returning(move |k| {
            Ok(if k.pk.starts_with("PROCESSOR_EVENT#") || k.sk == crate::keys::SUMMARY_SK || *k == now_key {
                None
            } else if k.pk.starts_with("CHARGE#") {
                let record = ChargeRecord {
                    payment_pk: "ACCOUNT#lopez".into(),
                    payment_sk: old_sk.clone(),
                    invoice_sk: "INVOICE#2026-11-01#inv-1".into(),
                    more: vec![],
                };
                Some(record_item(&store::charge_key("pi_1"), "charge", &record, 1).unwrap())
            } else {
                assert_eq!(k.sk, old_sk, "read where the household keeps it");
                Some(record_item(k, "payment", &stored, stored.version).unwrap())
            })
        });
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = written.clone();
        table.expect_transact().returning(move |writes| {
            sink.lock().unwrap().extend(writes);
            Ok(())
        });
        let event = ProcessorEvent::Succeeded { reference: "pi_1".into() };
        // Not dropped as someone else's: an error, so the processor sends it again after `portal migrate`.
        assert!(matches!(apply(&table, "evt_1", &event, now()).await, Err(StoreError::Unavailable(_))));
        assert!(written.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn a_replayed_or_older_event_changes_nothing() {
        let (table, written) = table(payment(PaymentStatus::Pending, Reversals::default()), true);
        assert_eq!(
            apply(&table, "evt_1", &ProcessorEvent::Succeeded { reference: "pi_1".into() }, now()).await.unwrap(),
            Applied::Replayed
        );
        let (table, _) = table_for_succeeded();
        let failed = ProcessorEvent::Failed { reference: "pi_1".into(), reason: "Insufficient funds.".into() };
        assert_eq!(apply(&table, "evt_2", &failed, now()).await.unwrap(), Applied::Unchanged, "a failure after the success");
        let (refunded, _) =
            self::table(payment(PaymentStatus::Succeeded, Reversals { refunded: Money::from_cents(2000), disputed: false }), false);
        let older = ProcessorEvent::Refunded { reference: "pi_1".into(), total: Money::from_cents(1000) };
        assert_eq!(apply(&refunded, "evt_3", &older, now()).await.unwrap(), Applied::Unchanged, "a smaller refund total is an older event");
        assert!(written.lock().unwrap().is_empty());
    }

    fn table_for_succeeded() -> (MockTable, Arc<Mutex<Vec<Write>>>) {
        table(payment(PaymentStatus::Succeeded, Reversals::default()), false)
    }

    #[tokio::test]
    async fn refunds_and_disputes_are_recorded_without_touching_the_invoice() {
        let (table, written) = table_for_succeeded();
        let refund = ProcessorEvent::Refunded { reference: "pi_1".into(), total: Money::from_cents(9000) };
        let Applied::Recorded { payment: refunded, .. } = apply(&table, "evt_4", &refund, now()).await.unwrap() else { panic!("recorded") };
        assert_eq!(refunded.reversals.refunded, Money::from_cents(5000), "never more than was paid");
        let writes = written.lock().unwrap().clone();
        assert_eq!(
            writes.len(),
            4,
            "the payment and its copy, the marker and the practice's event; the invoice is the practice's to adjust"
        );
        assert!(
            !writes.iter().any(|w| matches!(w, Write::Update { key, .. } if key.sk.contains("INVOICE#"))),
            "the invoice is not touched"
        );
        assert_eq!(crate::feed::kinds_in(&writes), ["payment.refunded"]);
        let (table, written) = table_for_succeeded();
        let Applied::Recorded { payment: disputed, .. } =
            apply(&table, "evt_5", &ProcessorEvent::Disputed { reference: "pi_1".into() }, now()).await.unwrap()
        else {
            panic!("recorded")
        };
        assert!(disputed.reversals.disputed);
        assert_eq!(crate::feed::kinds_in(&written.lock().unwrap()), ["payment.disputed"]);
    }

    #[tokio::test]
    async fn a_failed_bank_debit_releases_the_amount() {
        let (table, written) = table(payment(PaymentStatus::Pending, Reversals::default()), false);
        let failed = ProcessorEvent::Failed { reference: "pi_1".into(), reason: "The bank refused the debit.".into() };
        let Applied::Recorded { before, payment: released } = apply(&table, "evt_6", &failed, now()).await.unwrap() else {
            panic!("recorded")
        };
        assert_eq!(released.status, PaymentStatus::Declined("The bank refused the debit.".into()));
        assert!(decided(&before, &released));
        assert_eq!(crate::pay::decline_reason(&released), Some("The bank refused the debit."));
        let writes = written.lock().unwrap();
        assert_eq!(writes.len(), 5, "the payment and its copy, the marker, the invoice and the practice's event");
        assert_eq!(crate::feed::kinds_in(&writes), ["payment.failed"]);
    }

    /// A charge that paid two invoices ("Pay total due"): $50.00 on inv-1 and $30.00 on inv-2.
    fn batch_table(status: PaymentStatus) -> (MockTable, Arc<Mutex<Vec<Write>>>) {
        let first = Payment { batch: Some(PaymentId::parse("p1").unwrap()), ..payment(status.clone(), Reversals::default()) };
        let second = Payment {
            id: PaymentId::parse("p2").unwrap(),
            invoice: InvoiceId::parse("inv-2").unwrap(),
            amount: Money::from_cents(3000),
            ..first.clone()
        };
        let (first_key, second_key) = (store::payment_key(&first), store::payment_key(&second));
        let record = ChargeRecord {
            payment_pk: first_key.pk.clone(),
            payment_sk: first_key.sk.clone(),
            invoice_sk: "INVOICE#2026-10-01#inv-1".into(),
            more: vec![store::ChargePart { payment_sk: second_key.sk.clone(), invoice_sk: "INVOICE#2026-11-01#inv-2".into() }],
        };
        let mut table = MockTable::new();
        table.expect_get().returning(move |k| {
            Ok(if k.pk.starts_with("PROCESSOR_EVENT#") {
                None
            } else if k.pk.starts_with("CHARGE#") {
                Some(record_item(&store::charge_key("pi_1"), "charge", &record, 1).unwrap())
            } else {
                let stored = if *k == first_key { &first } else { &second };
                Some(record_item(k, "payment", stored, stored.version).unwrap())
            })
        });
        let written = Arc::new(Mutex::new(Vec::new()));
        let sink = written.clone();
        table.expect_transact().returning(move |writes| {
            sink.lock().unwrap().extend(writes);
            Ok(())
        });
        (table, written)
    }

    #[tokio::test]
    async fn an_event_about_a_charge_that_paid_several_invoices_is_applied_to_each() {
        let (table, written) = batch_table(PaymentStatus::Pending);
        let settled = ProcessorEvent::Succeeded { reference: "pi_1".into() };
        let Applied::Recorded { payment, .. } = apply(&table, "evt_1", &settled, now()).await.unwrap() else { panic!("recorded") };
        assert_eq!((payment.id.as_str(), payment.status), ("p1", PaymentStatus::Succeeded), "told of as its first part");
        let writes = written.lock().unwrap().clone();
        assert_eq!(
            writes.len(),
            14,
            "the marker, for each part its payment and its copy, its invoice and the practice's event, and the summary, the year's figures and their totals, the year's receipts and their index once: one transaction"
        );
        let summary: Vec<&Write> =
            writes.iter().filter(|w| matches!(w, Write::Upsert { key, .. } if key.sk == crate::keys::SUMMARY_SK)).collect();
        assert!(matches!(summary[..], [Write::Upsert { update, .. }] if update.add.len() == 2), "{summary:?}");
        assert_eq!(crate::feed::kinds_in(&writes), ["payment.succeeded", "payment.succeeded"]);

        // A refund of $60.00 of the $80.00: the first part gives back all it paid, the second the rest.
        let (table, written) = batch_table(PaymentStatus::Succeeded);
        let refund = ProcessorEvent::Refunded { reference: "pi_1".into(), total: Money::from_cents(6000) };
        apply(&table, "evt_2", &refund, now()).await.unwrap();
        let refunded: Vec<Money> = written
            .lock()
            .unwrap()
            .iter()
            .filter_map(|w| match w {
                Write::Put { item, .. } if item.get(store::TYPE).and_then(Value::as_str) == Some("payment") => {
                    record_of::<Payment>(item).ok().map(|p| p.reversals.refunded)
                }
                _ => None,
            })
            .collect();
        assert_eq!(refunded, [Money::from_cents(5000), Money::from_cents(1000)]);
    }
}
