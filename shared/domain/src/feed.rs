//! The practice change feed: every change a patient makes in the portal, as an event the
//! practice's own system can apply (`docs/practice-feed.md`).
//!
//! An event is written in the same table transaction as the change it reports, so there is
//! never a change without its event or an event without its change. Events speak the import
//! format's vocabulary (`exchange`): the practice's own ids for households, members, plans,
//! invoices and memberships, and records in the shapes `portal import` reads.
//!
//! Each event is an item in its household's feed partition (`FEED#{account}`, which the table's
//! stream delivers in order to the `practice-feed` function) and in the index partition of its
//! day (`FEED#{date}`, which `portal export` and the staff digest read). Its cursor is its time
//! (to the microsecond) followed by its id: cursors sort in the order events happened, and no two
//! are equal. Events of one transaction are a microsecond apart, in the order they are listed.
//!
//! An event's id is derived from what it reports (a payment's success, a member's contact
//! details at a version), so the same change can never be reported twice.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};
use sha2::{Digest, Sha256};

use crate::ports::{attr, Condition, Item, Table, Value, Write};
use crate::store::{self, key_time, record_item, record_of};
use crate::{exchange, AccountId, Agreement, Email, Member, Membership, Money, Payment, PaymentSource, PaymentStatus, StoreError};

/// An instant, as events carry it.
pub type Instant = DateTime<Utc>;

/// How long events are kept for systems that pull them (`portal export`).
pub const KEPT_DAYS: i64 = 90;

/// Events younger than this may still be joined by one with an earlier time: a function that
/// chose its time before a slower write lands within its 10-second timeout. Pulls return only
/// events older than this, so a cursor never passes an event that has yet to land.
pub const SETTLE: Duration = Duration::seconds(15);

/// The partition of one household's events, and the index partition of one day's (UTC).
pub use crate::keys::{feed_day_pk as day_pk, feed_pk};

/// One change, as the practice is told of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedEvent {
    /// Unique, and the same for every delivery of the event (a receiver's duplicate check).
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Strictly increasing: what `portal export --since` takes.
    pub cursor: String,
    pub at: DateTime<Utc>,
    /// The practice's id of the household.
    pub household: AccountId,
    pub data: Json,
}

/// What changed. Each names the records as they are after the change.
#[derive(Debug, Clone, Copy)]
pub enum Change<'a> {
    /// A payment took the money (a card at once, a bank debit when it settled).
    PaymentSucceeded(&'a Payment),
    /// A payment was declined, failed to reach the processor, or (a bank debit) failed later.
    PaymentFailed(&'a Payment),
    /// The practice refunded some or all of a payment at the processor (`reversals.refunded` is the total).
    PaymentRefunded(&'a Payment),
    /// The patient's bank opened a dispute.
    PaymentDisputed(&'a Payment),
    /// A payment method was saved (`default` says whether it became the default).
    SourceAdded(&'a PaymentSource),
    SourceRemoved(&'a PaymentSource),
    /// The method became the household's default (the previous default no longer is).
    SourceMadeDefault(&'a PaymentSource),
    /// Phones, address or email changed; `fields` names which.
    ContactChanged {
        member: &'a Member,
        fields: &'a [String],
    },
    /// A member proved a new sign-in address with the code sent to it.
    EmailVerified {
        member: &'a Member,
        previous: Option<&'a Email>,
    },
    /// A dependent joined a membership: the new member, the membership with their enrolment, and
    /// the already-renewed next term they also joined (if the membership was renewed).
    DependentEnrolled {
        member: &'a Member,
        membership: &'a Membership,
        next_term: Option<&'a Membership>,
    },
    /// A membership was renewed: the new term, and the term it follows (now naming it).
    MembershipRenewed {
        next: &'a Membership,
        previous: &'a Membership,
    },
    AgreementSigned(&'a Agreement),
    /// The owner turned automatic payment on (with the authorization they gave) or off.
    Autopay {
        account: &'a AccountId,
        autopay: &'a crate::autopay::Autopay,
    },
    /// A reminder was emailed to a member (its kind, and the record it is about).
    ReminderSent {
        account: &'a AccountId,
        member: &'a crate::MemberId,
        kind: &'a str,
        about: &'a str,
    },
    /// The owner asked to cancel the membership or remove a member (`leaving` says which and how
    /// it stands: requested, or scheduled with the end set), or withdrew that request.
    Leaving {
        membership: &'a Membership,
        withdrawn: bool,
    },
}

impl Change<'_> {
    /// The event type, as receivers switch on it.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::PaymentSucceeded(_) => "payment.succeeded",
            Change::PaymentFailed(_) => "payment.failed",
            Change::PaymentRefunded(_) => "payment.refunded",
            Change::PaymentDisputed(_) => "payment.disputed",
            Change::SourceAdded(_) => "payment_method.added",
            Change::SourceRemoved(_) => "payment_method.removed",
            Change::SourceMadeDefault(_) => "payment_method.made_default",
            Change::ContactChanged { .. } => "member.contact_changed",
            Change::EmailVerified { .. } => "member.email_verified",
            Change::DependentEnrolled { .. } => "member.enrolled",
            Change::MembershipRenewed { .. } => "membership.renewed",
            Change::AgreementSigned(_) => "agreement.signed",
            Change::ReminderSent { .. } => "reminder.sent",
            Change::Autopay { autopay, .. } => match autopay.on {
                true => "autopay.on",
                false => "autopay.off",
            },
            Change::Leaving { membership, withdrawn } => {
                match (withdrawn, membership.leaving.as_ref().map(|l| (l.member.is_some(), l.status))) {
                    (true, _) => "membership.leaving_withdrawn",
                    (false, Some((true, crate::leaving::LeavingStatus::Requested))) => "member.removal_requested",
                    (false, Some((true, _))) => "member.removed",
                    (false, Some((false, crate::leaving::LeavingStatus::Requested))) => "membership.cancellation_requested",
                    (false, _) => "membership.cancelled",
                }
            }
        }
    }

    fn household(&self) -> &AccountId {
        match self {
            Change::PaymentSucceeded(p) | Change::PaymentFailed(p) | Change::PaymentRefunded(p) | Change::PaymentDisputed(p) => &p.account,
            Change::SourceAdded(s) | Change::SourceRemoved(s) | Change::SourceMadeDefault(s) => &s.account,
            Change::ContactChanged { member, .. } | Change::EmailVerified { member, .. } | Change::DependentEnrolled { member, .. } => {
                &member.account
            }
            Change::MembershipRenewed { next, .. } | Change::Leaving { membership: next, .. } => &next.account,
            Change::AgreementSigned(a) => &a.account,
            Change::ReminderSent { account, .. } | Change::Autopay { account, .. } => account,
        }
    }

    /// What makes this change one of a kind: the event id is derived from it.
    fn subject(&self) -> String {
        match self {
            Change::PaymentSucceeded(p) | Change::PaymentFailed(p) | Change::PaymentDisputed(p) => p.id.to_string(),
            Change::PaymentRefunded(p) => format!("{}:{}", p.id, p.reversals.refunded.plain()),
            Change::SourceAdded(s) | Change::SourceRemoved(s) => s.id.to_string(),
            Change::SourceMadeDefault(s) => format!("{}:{}", s.id, s.version),
            Change::ContactChanged { member, .. } | Change::EmailVerified { member, .. } => format!("{}:{}", member.id, member.version),
            Change::DependentEnrolled { member, .. } => member.id.to_string(),
            Change::MembershipRenewed { next, .. } => next.id.to_string(),
            Change::AgreementSigned(a) => a.id.to_string(),
            Change::Leaving { membership, .. } => format!("{}:{}", membership.id, membership.version),
            Change::ReminderSent { member, kind, about, .. } => format!("{kind}:{about}:{member}"),
            Change::Autopay { autopay, .. } => format!("{}:{}", autopay.source, autopay.turned_off_at.unwrap_or(autopay.authorization.at)),
        }
    }

    fn data(&self) -> Json {
        let payment = |p: &Payment| {
            json!({
                "payment": exchange::payment(p),
                "reversals": { "refunded": p.reversals.refunded.plain(), "disputed": p.reversals.disputed },
            })
        };
        match self {
            Change::PaymentSucceeded(p) | Change::PaymentFailed(p) | Change::PaymentRefunded(p) | Change::PaymentDisputed(p) => payment(p),
            Change::SourceAdded(s) => json!({ "payment_method": exchange::source(s) }),
            Change::SourceRemoved(s) | Change::SourceMadeDefault(s) => {
                json!({ "payment_method": { "id": s.id, "description": s.details.describe() } })
            }
            Change::ContactChanged { member, fields } => json!({ "member": exchange::member(member), "fields": fields }),
            Change::EmailVerified { member, previous } => json!({
                "member": exchange::member(member),
                "email": member.email.as_ref().map(Email::as_str),
                "previous_email": previous.map(Email::as_str),
            }),
            Change::DependentEnrolled { member, membership, next_term } => {
                let enrolment = membership.enrollments.iter().find(|e| e.member == member.id);
                json!({
                    "member": exchange::member(member),
                    "membership": exchange::membership(membership),
                    "next_term": next_term.map(exchange::membership),
                    "plan": membership.plan.id(),
                    "rate": enrolment.map(|e| e.rate.plain()),
                    "start": enrolment.map(|e| e.start.to_string()),
                })
            }
            Change::MembershipRenewed { next, previous } => {
                let rate: Money = next.enrollments.iter().map(|e| e.rate).sum();
                json!({
                    "membership": exchange::membership(next),
                    "previous": exchange::membership(previous),
                    "plan": next.plan.id(),
                    "rate": rate.plain(),
                })
            }
            Change::ReminderSent { member, kind, about, .. } => json!({ "member": member, "reminder": kind, "about": about }),
            Change::Autopay { autopay, .. } => json!({
                "payment_method": autopay.source,
                "by": autopay.by,
                "authorization": { "text": autopay.authorization.text, "at": exchange::instant(autopay.authorization.at) },
                "turned_off_at": autopay.turned_off_at.map(exchange::instant),
            }),
            Change::Leaving { membership, .. } => {
                let leaving = membership.leaving.as_ref();
                json!({
                    "membership": exchange::membership(membership),
                    "member": leaving.and_then(|l| l.member.as_ref()),
                    "reason": leaving.map(|l| l.reason.slug()),
                    "note": leaving.map(|l| l.note.as_str()),
                    "effective": leaving.map(|l| l.effective.to_string()),
                    "stops": leaving.map(|l| l.stops.plain()),
                    "fee": leaving.map(|l| l.fee.plain()),
                    "refund": leaving.map(|l| l.refund.plain()),
                    "requested_by": leaving.map(|l| &l.requested_by),
                })
            }
            Change::AgreementSigned(a) => json!({
                "agreement": exchange::agreement(a),
                "document": a.id,
                "version": a.version,
                "body_sha256": a.signature.as_ref().map(|s| s.body_sha256.as_str()),
            }),
        }
    }
}

/// The feed change a payment's status calls for, if any (a payment still pending is not one).
pub fn payment_decided(payment: &Payment) -> Option<Change<'_>> {
    match payment.status {
        PaymentStatus::Succeeded => Some(Change::PaymentSucceeded(payment)),
        PaymentStatus::Declined(_) | PaymentStatus::Failed(_) => Some(Change::PaymentFailed(payment)),
        PaymentStatus::Pending => None,
    }
}

/// The event reporting `change`, at `at`.
pub fn event(change: &Change<'_>, at: DateTime<Utc>) -> FeedEvent {
    let digest = Sha256::digest(format!("{}\n{}\n{}", change.household(), change.kind(), change.subject()));
    let id = format!("evt_{}", &hex::encode(digest)[..24]);
    FeedEvent {
        cursor: format!("{}-{id}", key_time(at)),
        id,
        kind: change.kind().to_owned(),
        at,
        household: change.household().clone(),
        data: change.data(),
    }
}

/// The writes that append `changes` to the feed, a microsecond apart from `at`: put in the same
/// transaction as the changes themselves.
pub fn writes(changes: &[Change<'_>], at: DateTime<Utc>) -> Result<Vec<Write>, StoreError> {
    changes.iter().zip(0..).map(|(change, n)| event(change, at + Duration::microseconds(n)).write()).collect()
}

impl FeedEvent {
    /// The write that appends the event, once: a second write of the same event fails its condition.
    pub fn write(&self) -> Result<Write, StoreError> {
        let key = crate::ports::Key::new(feed_pk(&self.household), crate::keys::feed_event_sk(&self.cursor));
        let mut item = record_item(&key, "feed-event", self, 1)?;
        item.insert(attr::GSI1PK.into(), Value::S(day_pk(self.at.date_naive())));
        item.insert(attr::GSI1SK.into(), Value::S(self.cursor.clone()));
        item.insert(attr::EXPIRES_AT.into(), Value::from((self.at + Duration::days(KEPT_DAYS)).timestamp()));
        Ok(Write::Put { item, condition: Some(Condition::NotExists) })
    }

    /// The event an item of the feed holds (as the table stores it, or as its stream delivers it).
    pub fn of(item: &Item) -> Result<FeedEvent, StoreError> {
        record_of(item)
    }

    /// Whether a stored item is a feed event (the stream carries every item of the table).
    pub fn is_feed_item(pk: &str, sk: &str) -> bool {
        crate::keys::is_feed_event(pk, sk)
    }

    /// The event as one JSON line (what webhooks post and `portal export` prints).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// The types of the feed events among `writes` (what a transaction tells the practice).
pub fn kinds_in(writes: &[Write]) -> Vec<String> {
    writes
        .iter()
        .filter_map(|w| match w {
            Write::Put { item, .. } if item.get(store::TYPE).and_then(Value::as_str) == Some("feed-event") => {
                FeedEvent::of(item).ok().map(|e| e.kind)
            }
            _ => None,
        })
        .collect()
}

/// Every event of a household, oldest first (for tests and tools; the stream delivers them).
pub async fn of_household(table: &dyn Table, account: &AccountId) -> Result<Vec<FeedEvent>, StoreError> {
    table.query(&feed_pk(account), crate::keys::EVENT).await?.iter().map(|item| FeedEvent::of(item)).collect()
}

/// The events of one UTC day, oldest first.
pub async fn on_day(table: &dyn Table, day: NaiveDate) -> Result<Vec<FeedEvent>, StoreError> {
    table.query_index(&day_pk(day)).await?.iter().map(|item| FeedEvent::of(item)).collect()
}

/// Whether `text` has a cursor's shape (a time as keys carry it, a dash, an event id).
pub fn is_cursor(text: &str) -> bool {
    store::time_at(text).is_some() && text.get(27..32) == Some("-evt_") && text.len() == 56 && text.is_ascii()
}

/// Up to `limit` events after `since` (from the oldest kept when `None`), oldest first, settled
/// by `now` (see [`SETTLE`]). With the events comes the cursor to ask from next time: the last
/// event's, or `since` when there is nothing new.
pub async fn after(
    table: &dyn Table,
    since: Option<&str>,
    limit: usize,
    now: DateTime<Utc>,
) -> Result<(Vec<FeedEvent>, Option<String>), StoreError> {
    written_by(table, since, limit, now - SETTLE, now).await
}

/// Like [`after`], but every event written by `until` (a reader that knows no write is still
/// in flight: the local portal, whose writes land as they are made).
pub async fn written_by(
    table: &dyn Table,
    since: Option<&str>,
    limit: usize,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(Vec<FeedEvent>, Option<String>), StoreError> {
    let oldest = (now - Duration::days(KEPT_DAYS)).date_naive();
    let mut day = since.and_then(store::time_at).map_or(oldest, |t| t.date_naive().max(oldest));
    let mut events = Vec::new();
    while day <= until.date_naive() && events.len() < limit {
        for event in on_day(table, day).await? {
            if events.len() == limit {
                break;
            }
            if since.is_none_or(|s| event.cursor.as_str() > s) && event.at <= until {
                events.push(event);
            }
        }
        let Some(next) = day.succ_opt() else { break };
        day = next;
    }
    let next = events.last().map(|e| e.cursor.clone()).or_else(|| since.map(str::to_owned));
    Ok((events, next))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{InvoiceId, MemberId, PaymentId, SourceDetails};

    fn payment(status: PaymentStatus) -> Payment {
        Payment {
            id: PaymentId::parse("pay-1").unwrap(),
            account: AccountId::parse("lopez").unwrap(),
            invoice: InvoiceId::parse("inv-1").unwrap(),
            amount: Money::from_cents(5000),
            source: SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 1, exp_year: 2030 },
            status,
            gateway_reference: Some("pi_1".into()),
            idempotency_key: "k".into(),
            at: DateTime::from_timestamp(1_790_000_000, 0).unwrap(),
            reversals: Default::default(),
            ach_authorization: None,
            batch: None,
            paid_by: None,
            invoice_number: None,
            invoice_issued: None,
            parts: None,
            version: 2,
        }
    }

    fn at() -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000, 123_456_000).unwrap()
    }

    #[test]
    fn an_event_speaks_the_import_format_and_has_a_stable_id_and_a_cursor() {
        let paid = payment(PaymentStatus::Succeeded);
        let event = event(&payment_decided(&paid).unwrap(), at());
        assert_eq!(event.kind, "payment.succeeded");
        assert_eq!(event.household.as_str(), "lopez");
        assert_eq!(event.data["payment"]["id"], "pay-1");
        assert_eq!(event.data["payment"]["invoice"], "inv-1");
        assert_eq!(event.data["payment"]["amount"], "50.00");
        assert_eq!(event.data["payment"]["status"], "succeeded");
        assert!(event.cursor.starts_with("2026-09-21T"), "{}", event.cursor);
        assert!(is_cursor(&event.cursor), "{}", event.cursor);
        assert!(!is_cursor("2026-09-21"));
        // The same change always has the same id; another change another.
        let again = super::event(&Change::PaymentSucceeded(&paid), at() + Duration::seconds(5));
        assert_eq!(again.id, event.id);
        let failed = payment(PaymentStatus::Declined("no".into()));
        assert_ne!(super::event(&Change::PaymentFailed(&failed), at()).id, event.id);
        assert!(payment_decided(&payment(PaymentStatus::Pending)).is_none());
    }

    #[test]
    fn events_of_one_transaction_are_in_the_order_listed() {
        let a = payment(PaymentStatus::Succeeded);
        let mut b = payment(PaymentStatus::Succeeded);
        b.id = PaymentId::parse("pay-0").unwrap();
        let cursors: Vec<String> = writes(&[Change::PaymentSucceeded(&a), Change::PaymentSucceeded(&b)], at())
            .unwrap()
            .into_iter()
            .map(|w| match w {
                Write::Put { item, .. } => item[attr::GSI1SK].as_str().unwrap().to_owned(),
                _ => panic!("a put"),
            })
            .collect();
        assert!(cursors[0] < cursors[1], "{cursors:?}");
    }

    #[test]
    fn a_refund_is_a_new_event_for_each_new_total() {
        let mut p = payment(PaymentStatus::Succeeded);
        p.reversals.refunded = Money::from_cents(1000);
        let first = event(&Change::PaymentRefunded(&p), at());
        p.reversals.refunded = Money::from_cents(5000);
        let second = event(&Change::PaymentRefunded(&p), at());
        assert_ne!(first.id, second.id);
        assert_eq!(second.data["reversals"]["refunded"], "50.00");
    }

    #[test]
    fn contact_changes_name_the_fields_and_carry_the_new_values() {
        let member: Member = serde_json::from_value(json!({
            "id": "m1", "account": "lopez", "first_name": "Ana", "last_name": "Lopez", "date_of_birth": "1990-01-02",
            "sex": "female", "relationship": "self", "email": "ana@example.com", "address": null, "version": 4
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        let fields = vec!["phone_mobile".to_owned()];
        let event = event(&Change::ContactChanged { member: &member, fields: &fields }, at());
        assert_eq!(event.kind, "member.contact_changed");
        assert_eq!(event.data["fields"], json!(["phone_mobile"]));
        assert_eq!(event.data["member"]["id"], "m1");
        assert_eq!(event.data["member"]["email"], "ana@example.com");
        let _ = MemberId::parse("m1");
    }

    #[tokio::test]
    async fn a_pull_returns_settled_events_after_the_cursor_in_order_and_the_next_cursor() {
        use crate::ports::MockTable;
        use std::sync::Arc;
        let a = payment(PaymentStatus::Succeeded);
        let mut b = payment(PaymentStatus::Succeeded);
        b.id = crate::PaymentId::parse("pay-2").unwrap();
        let first = event(&Change::PaymentSucceeded(&a), at());
        let second = event(&Change::PaymentSucceeded(&b), at() + Duration::seconds(10));
        let items: Vec<Arc<Item>> = [&first, &second]
            .iter()
            .map(|e| match e.write().unwrap() {
                Write::Put { item, .. } => Arc::new(item),
                _ => unreachable!(),
            })
            .collect();
        let mut table = MockTable::new();
        let day = day_pk(at().date_naive());
        table.expect_query_index().returning(move |pk| Ok(if pk == day { items.clone() } else { Vec::new() }));
        // Both settled: both, in order, and the last one's cursor.
        let (events, next) = after(&table, None, 10, at() + Duration::minutes(1)).await.unwrap();
        assert_eq!(events.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), [first.id.clone(), second.id.clone()]);
        assert_eq!(next.as_deref(), Some(second.cursor.as_str()));
        // After the first one's cursor: only the second.
        let (events, _) = after(&table, Some(&first.cursor), 10, at() + Duration::minutes(1)).await.unwrap();
        assert_eq!(events, std::slice::from_ref(&second));
        // The second is not settled yet five seconds after it: not returned, and the cursor stays.
        let (events, next) = after(&table, Some(&first.cursor), 10, second.at + Duration::seconds(5)).await.unwrap();
        assert!(events.is_empty());
        assert_eq!(next.as_deref(), Some(first.cursor.as_str()));
        // A limit of one.
        let (events, next) = after(&table, None, 1, at() + Duration::minutes(1)).await.unwrap();
        assert_eq!((events.len(), next), (1, Some(first.cursor.clone())));
    }
}
