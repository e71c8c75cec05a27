//! The storage layout: every item's keys and every index partition, in one place. The table is
//! one DynamoDB table with `pk`/`sk` and one index (`gsi1pk`/`gsi1sk`); `docs/architecture.md`
//! lists the same items in a table. Nothing outside this module spells a key prefix.
//!
//! | partition (`pk`)              | sort key (`sk`)                         | item                                   |
//! |-------------------------------|-----------------------------------------|----------------------------------------|
//! | `PRACTICE`                    | `PROFILE`, `PLAN#{plan}`                | the practice and its plans             |
//! | `ACCOUNT#{household}`         | `!CLEARED#`, `!CLEARED#{year}`          | receipts of payments that went through |
//! |                               | `!PAYMENT#{time}#{id}`                  | a payment, by time (pending: indexed)  |
//! |                               | `#APPLIED#{invoice}`                    | copies of the payments on an invoice   |
//! |                               | `#BALANCE#`, `#BALANCE#{year}`, `…TOTAL`| charges and payments by month, in all  |
//! |                               | `#INVOICE#{issued}#{id}`                | an invoice, by issue date              |
//! |                               | `#SUMMARY`                              | its open invoices and their figures    |
//! |                               | `ACCOUNT`                               | the household (indexed: `HOUSEHOLDS`)  |
//! |                               | `MEMBER#{member}`                       | a member (indexed by email)            |
//! |                               | `MEMBERSHIP#{id}`                       | a membership term                      |
//! |                               | `SOURCE#{id}`                           | a saved card or bank account           |
//! |                               | `AGREEMENT#{id}`                        | an agreement and its signature         |
//! |                               | `EMAILCHANGE#{member}`                  | a pending email change and its code    |
//! |                               | `PREFS#{member}`                        | a member's email preferences           |
//! |                               | `AUTOPAY`                               | automatic payment and its authorization|
//! | `AUDIT#{household}`           | `EVENT#{time}#{id}`                     | the activity log                       |
//! | `AUDIT#unknown-address`       | `EVENT#{time}#{id}`                     | attempts at addresses no one holds     |
//! | `FEED#{household}`            | `EVENT#{cursor}`                        | the practice's change feed (by day)    |
//! | `SIGNIN#{signin id}`          | `CODE`                                  | a sign-in code                         |
//! | `SESSION#{token digest}`      | `SESSION`                               | a session (indexed by member)          |
//! | `ACCESS#{token digest}`       | `ACCESS`                                | an access link                         |
//! | `CLAIM#{email}`               | `EMAIL`                                 | who holds an email address             |
//! | `IDEMPOTENCY#{household}#{k}` | `IDEMPOTENCY`                           | a pay form already sent                |
//! | `CHARGE#{reference}`          | `CHARGE`                                | a processor charge's payments          |
//! | `PROCESSOR_EVENT#{id}`        | `EVENT`                                 | a processor event already applied      |
//! | `DIGEST`                      | `DAY#{date}`                            | a staff digest already sent            |
//! | `IMPORT#{household}`          | `LEDGER`                                | what the last import brought           |
//! | `SANDBOX#{reference}`         | `CHARGE`                                | the sandbox processor's own charges    |
//! | `REMINDER#{household}`        | `{kind}#{subject}`                      | a reminder already sent (or seen)      |
//!
//! The billing history sorts before the household's own records (`!` and `#` sort before every
//! letter, payments before invoices), so a page about the household reads its profile, the range
//! from `ACCOUNT` on ([`profile_range`]), without the years of invoices and payments below it.
//! Between the newest invoice and the household's record lies the summary of its open invoices:
//! reading down from the record ([`LEDGER_HEAD_BEFORE`]), the invoice list gets the household,
//! what is due and the newest invoices in one Query of a fixed number of items.
//! Tables written before this layout had `INVOICE#…` and `PAYMENT#…`: readers still know those
//! keys, and `portal migrate` moves them ([`ledger_sk`]).
//!
//! Index partitions (`gsi1pk`): `EMAIL#{address}` (members), `PAYMENTS#pending`, `SESSIONS#…`,
//! `FEED#{date}`, and `HOUSEHOLDS` (every household, by id: what the daily reminders run reads).

use chrono::{DateTime, NaiveDate, Utc};

use crate::ports::Key;
use crate::{AccountId, Agreement, Email, Invoice, MemberId, Membership, Payment, PaymentSource, PlanId};

/// The sort-key prefixes of a household's items (`ACCOUNT#{household}`).
pub const MEMBER: &str = "MEMBER#";
pub const MEMBERSHIP: &str = "MEMBERSHIP#";
pub const INVOICE: &str = "#INVOICE#";
pub const PAYMENT: &str = "!PAYMENT#";
/// The ledger's sort-key prefixes in tables written before the history moved below the profile.
const OLD_INVOICE: &str = "INVOICE#";
const OLD_PAYMENT: &str = "PAYMENT#";
/// Where `portal migrate` looks for what to move ([`ledger_sk`]).
pub const EARLIER_LEDGER_PREFIXES: [&str; 2] = [OLD_INVOICE, OLD_PAYMENT];
pub const SOURCE: &str = "SOURCE#";
pub const AGREEMENT: &str = "AGREEMENT#";
pub const EMAIL_CHANGE: &str = "EMAILCHANGE#";
pub const PREFERENCES: &str = "PREFS#";
const AUTOPAY_SK: &str = "AUTOPAY";
/// The sort-key prefix of an activity event (`AUDIT#…`) and of a change-feed event (`FEED#…`).
pub const EVENT: &str = "EVENT#";
const HOUSEHOLD_SK: &str = "ACCOUNT";
const FEED: &str = "FEED#";

/// What a household item is, from its sort key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountItem {
    Household,
    Member,
    Membership,
    Invoice,
    Payment,
    Source,
    Agreement,
    EmailChange,
    Preferences,
    Autopay,
    Other,
}

impl AccountItem {
    pub fn of_sk(sk: &str) -> AccountItem {
        let starts = |prefix: &str| sk.starts_with(prefix);
        if sk == HOUSEHOLD_SK {
            AccountItem::Household
        } else if starts(MEMBERSHIP) {
            AccountItem::Membership
        } else if starts(MEMBER) {
            AccountItem::Member
        } else if starts(INVOICE) || starts(OLD_INVOICE) {
            AccountItem::Invoice
        } else if starts(PAYMENT) || starts(OLD_PAYMENT) {
            AccountItem::Payment
        } else if starts(SOURCE) {
            AccountItem::Source
        } else if starts(AGREEMENT) {
            AccountItem::Agreement
        } else if starts(EMAIL_CHANGE) {
            AccountItem::EmailChange
        } else if starts(PREFERENCES) {
            AccountItem::Preferences
        } else if sk == AUTOPAY_SK {
            AccountItem::Autopay
        } else {
            AccountItem::Other
        }
    }
}

/// The household's summary of its open invoices (`store::summary`), just below its record.
pub const SUMMARY_SK: &str = "#SUMMARY";

/// The sort-key prefix of the copies of the payments applied to an invoice (`store::applied`),
/// which its page reads by key with the invoice and the household's record. Below the invoices,
/// so the invoice list does not read them.
pub const APPLIED: &str = "#APPLIED#";

pub fn applied_key(account: &AccountId, invoice: &crate::InvoiceId) -> Key {
    Key::new(account_pk(account), format!("{APPLIED}{invoice}"))
}

/// The key of the invoice `id` issued on `issued`.
pub fn invoice_key_of(account: &AccountId, id: &crate::InvoiceId, issued: NaiveDate) -> Key {
    Key::new(account_pk(account), format!("{INVOICE}{issued}#{id}"))
}

/// The sort-key prefix of a household's charges and payments by month (`store::balances`): one
/// item a year, `#BALANCE#{year}`, after the marker `#BALANCE#` that says they count its whole
/// history. Between the payments and the invoices, so neither a list nor the profile reads them.
const BALANCE: &str = "#BALANCE#";

pub fn balance_key(account: &AccountId, year: i32) -> Key {
    Key::new(account_pk(account), format!("{BALANCE}{year:04}"))
}

pub fn balances_kept_key(account: &AccountId) -> Key {
    Key::new(account_pk(account), BALANCE)
}

/// The household's charges and payments of all time (`store::balances`), after every year's item.
const BALANCE_TOTALS: &str = "#BALANCE#TOTAL";

pub fn balance_totals_key(account: &AccountId) -> Key {
    Key::new(account_pk(account), BALANCE_TOTALS)
}

/// The sort keys from `year`'s item through the totals.
pub fn balances_from(year: i32) -> (String, String) {
    (format!("{BALANCE}{year:04}"), BALANCE_TOTALS.to_owned())
}

/// The sort-key prefix of a household's receipts (`store::cleared`): one item a year (by the UTC
/// year of each payment, as its key sorts), `!CLEARED#{year}`, after the index `!CLEARED#` of the
/// years they hold. Before the payments, so no read of the history's newest items reaches them.
const CLEARED: &str = "!CLEARED#";

pub fn cleared_key(account: &AccountId, year: i32) -> Key {
    Key::new(account_pk(account), format!("{CLEARED}{year:04}"))
}

pub fn cleared_index_key(account: &AccountId) -> Key {
    Key::new(account_pk(account), CLEARED)
}

/// The sort keys from the marker through `year`'s item.
pub fn balances_through(year: i32) -> (String, String) {
    (BALANCE.to_owned(), format!("{BALANCE}{year:04}"))
}

/// The year of a balance item's sort key.
pub fn balance_year(sk: &str) -> Option<i32> {
    sk.strip_prefix(BALANCE).filter(|y| y.len() == 4).and_then(|y| y.parse().ok())
}

/// The sort keys of the invoices issued from `from` through `to`.
pub fn invoices_issued(from: NaiveDate, to: NaiveDate) -> (String, String) {
    (format!("{INVOICE}{from}"), format!("{INVOICE}{to}#~"))
}

/// The sort keys of the payments made from `from` through `to`.
pub fn payments_made(from: DateTime<Utc>, to: DateTime<Utc>) -> (String, String) {
    (format!("{PAYMENT}{}", key_time(from)), format!("{PAYMENT}{}#~", key_time(to)))
}

/// A sort key just above the household's record and below every other profile key: reading
/// newest first from below it gives the record, the summary, then the invoices, newest first.
pub const LEDGER_HEAD_BEFORE: &str = "ACCOUNT$";

pub fn summary_key(account: &AccountId) -> Key {
    Key::new(account_pk(account), SUMMARY_SK)
}

pub fn account_pk(account: &AccountId) -> String {
    format!("ACCOUNT#{account}")
}

/// The sort keys of a household's profile (its record, members, memberships, sources, agreements,
/// email changes, preferences and automatic payment): every key from `ACCOUNT` on, none of the
/// billing history. Its size is the household's, not its history's.
pub fn profile_range() -> (&'static str, &'static str) {
    (HOUSEHOLD_SK, "~")
}

/// The sort key an invoice or payment has now, for one written under the earlier layout (`None`
/// when `sk` is not such a key): what `portal migrate` moves it to, and where a charge's record
/// written back then finds it.
pub fn ledger_sk(sk: &str) -> Option<String> {
    if let Some(rest) = sk.strip_prefix(OLD_INVOICE) {
        Some(format!("{INVOICE}{rest}"))
    } else {
        sk.strip_prefix(OLD_PAYMENT).map(|rest| format!("{PAYMENT}{rest}"))
    }
}

/// An invoice's or payment's sort key after its prefix (the earlier layout's too): `{date}#{id}`.
pub fn after_ledger_prefix<'a>(sk: &'a str, prefix: &str) -> Option<&'a str> {
    let old = if prefix == INVOICE { OLD_INVOICE } else { OLD_PAYMENT };
    sk.strip_prefix(prefix).or_else(|| sk.strip_prefix(old))
}

/// The practice's partition: its profile and its plans (`PLAN#{plan}`).
pub const PRACTICE_PK: &str = "PRACTICE";
pub const PLAN: &str = "PLAN#";

pub fn practice_key() -> Key {
    Key::new(PRACTICE_PK, "PROFILE")
}

pub fn plan_key(plan: &PlanId) -> Key {
    Key::new(PRACTICE_PK, format!("{PLAN}{plan}"))
}

/// The index partition listing every household (`gsi1sk` is its id).
pub const HOUSEHOLDS: &str = "HOUSEHOLDS";

/// The sort key of a household's own record (the index's `gsi1sk` is its id).
pub const HOUSEHOLD_RECORD_SK: &str = HOUSEHOLD_SK;

/// A reminder recorded as sent (or, for an agreement, the day it was first seen waiting).
pub fn reminder_key(account: &AccountId, kind: &str, subject: &str) -> Key {
    Key::new(format!("REMINDER#{account}"), format!("{kind}#{subject}"))
}

pub fn autopay_key(account: &AccountId) -> Key {
    Key::new(account_pk(account), AUTOPAY_SK)
}

pub fn preferences_key(account: &AccountId, member: &MemberId) -> Key {
    Key::new(account_pk(account), format!("{PREFERENCES}{member}"))
}

pub fn household_key(account: &AccountId) -> Key {
    Key::new(account_pk(account), HOUSEHOLD_SK)
}

pub fn member_key(account: &AccountId, member: &MemberId) -> Key {
    Key::new(account_pk(account), format!("{MEMBER}{member}"))
}

pub fn membership_key(ms: &Membership) -> Key {
    Key::new(account_pk(&ms.account), format!("{MEMBERSHIP}{}", ms.id))
}

pub fn invoice_key(invoice: &Invoice) -> Key {
    invoice_key_of(invoice.account(), invoice.id(), invoice.issued())
}

pub fn payment_key(payment: &Payment) -> Key {
    Key::new(account_pk(&payment.account), format!("{PAYMENT}{}#{}", key_time(payment.at), payment.id))
}

pub fn source_key(source: &PaymentSource) -> Key {
    Key::new(account_pk(&source.account), format!("{SOURCE}{}", source.id))
}

pub fn agreement_key(agreement: &Agreement) -> Key {
    Key::new(account_pk(&agreement.account), format!("{AGREEMENT}{}", agreement.id))
}

/// A member's pending email change (one at a time).
pub fn email_change_key(account: &AccountId, member: &MemberId) -> Key {
    Key::new(account_pk(account), format!("{EMAIL_CHANGE}{member}"))
}

/// The index partition that finds a member by email, and the member's place in it.
pub fn email_index_pk(email: &Email) -> String {
    format!("EMAIL#{email}")
}

pub fn email_index_sk(member: &MemberId) -> String {
    format!("{MEMBER}{member}")
}

/// The index partition that lists payments awaiting the processor's answer, for `portal reconcile`.
pub const PENDING_PAYMENTS: &str = "PAYMENTS#pending";

/// The item that claims an email address for one member, so no two members can hold it.
pub fn email_claim_key(email: &Email) -> Key {
    Key::new(format!("CLAIM#{email}"), "EMAIL")
}

/// A pay form's idempotency key, remembered for the household.
pub fn idempotency_key(account: &AccountId, key: &str) -> Key {
    Key::new(format!("IDEMPOTENCY#{account}#{key}"), "IDEMPOTENCY")
}

/// The item that finds a payment from its charge at the processor (a Stripe PaymentIntent id):
/// the processor's events name the charge, not the portal's payment.
pub fn charge_key(reference: &str) -> Key {
    Key::new(format!("CHARGE#{reference}"), "CHARGE")
}

/// The marker of a processor event already applied (Stripe sends an event at least once).
pub fn processor_event_key(event_id: &str) -> Key {
    Key::new(format!("PROCESSOR_EVENT#{event_id}"), "EVENT")
}

/// A sign-in code's record, by the HMAC of the address and channel.
pub fn signin_key(signin_id: &str) -> Key {
    Key::new(format!("SIGNIN#{signin_id}"), "CODE")
}

/// A session, by the digest of its token (the token itself is never stored).
pub fn session_key(token_digest: &str) -> Key {
    Key::new(format!("SESSION#{token_digest}"), "SESSION")
}

/// The index partition of a member's sessions ("Signed-in devices"), and a session's place in it.
pub fn member_sessions_pk(account: &AccountId, member: &MemberId) -> String {
    format!("SESSIONS#{account}#{member}")
}

pub fn member_sessions_sk(created_at: DateTime<Utc>) -> String {
    format!("SESSION#{}", key_time(created_at))
}

/// An access link, by the digest of its token.
pub fn access_key(token_digest: &str) -> Key {
    Key::new(format!("ACCESS#{token_digest}"), "ACCESS")
}

/// The partition of a household's activity log.
pub fn audit_pk(account: &AccountId) -> String {
    format!("AUDIT#{account}")
}

/// Where sign-in attempts at addresses that are no one's are recorded (for the practice, not a
/// household's activity page), kept 30 days.
pub const AUDIT_UNKNOWN_PK: &str = "AUDIT#unknown-address";

/// An activity event's sort key: time, then id.
pub fn audit_sk(at: DateTime<Utc>, id: &str) -> String {
    format!("{EVENT}{}#{id}", key_time(at))
}

/// The partition of one household's change-feed events.
pub fn feed_pk(account: &AccountId) -> String {
    format!("{FEED}{account}")
}

/// The index partition of every household's change-feed events of one UTC day.
pub fn feed_day_pk(day: NaiveDate) -> String {
    format!("{FEED}{day}")
}

pub fn feed_event_sk(cursor: &str) -> String {
    format!("{EVENT}{cursor}")
}

/// Whether a key is a change-feed event's (the stream delivers only those to the practice).
pub fn is_feed_event(pk: &str, sk: &str) -> bool {
    pk.starts_with(FEED) && sk.starts_with(EVENT)
}

/// The marker of a day's staff digest, written before it is sent.
pub fn digest_key(day: NaiveDate) -> Key {
    Key::new("DIGEST", format!("DAY#{day}"))
}

/// What the last import brought for a household (so a re-import can tell the practice's records
/// from those patients made in the portal).
pub fn import_ledger_key(account: &AccountId) -> Key {
    Key::new(format!("IMPORT#{account}"), "LEDGER")
}

/// The sandbox processor's record of one of its charges.
pub fn sandbox_charge_key(reference: &str) -> Key {
    Key::new(format!("SANDBOX#{reference}"), "CHARGE")
}

/// An instant as sort keys carry it (`2026-11-27T10:00:00.123456Z`): fixed width, so keys sort by time.
pub fn key_time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_earlier_layout_moves_below_the_profile() {
        assert_eq!(ledger_sk("INVOICE#2026-11-01#inv-1").as_deref(), Some("#INVOICE#2026-11-01#inv-1"));
        assert_eq!(ledger_sk("PAYMENT#2026-11-02T10:00:00.000000Z#p1").as_deref(), Some("!PAYMENT#2026-11-02T10:00:00.000000Z#p1"));
        for current in ["#INVOICE#2026-11-01#inv-1", "!PAYMENT#t#p1", "MEMBER#maria", "ACCOUNT"] {
            assert_eq!(ledger_sk(current), None, "{current}");
        }
        assert_eq!(after_ledger_prefix("#INVOICE#2026-11-01#i", INVOICE), Some("2026-11-01#i"));
        assert_eq!(after_ledger_prefix("INVOICE#2026-11-01#i", INVOICE), Some("2026-11-01#i"));
        assert_eq!(after_ledger_prefix("!PAYMENT#t#p", PAYMENT), Some("t#p"));
        assert_eq!(after_ledger_prefix("MEMBER#m", PAYMENT), None);
        // Payments, then invoices, the summary, and the household's record: the newest invoices lie
        // just below the summary, and nothing of the profile lies between the record and the bound.
        assert!(PAYMENT < INVOICE && INVOICE < SUMMARY_SK && SUMMARY_SK < profile_range().0);
        // The copies of invoices' payments, then the figures by month, lie between the payments and the invoices.
        assert!(format!("{PAYMENT}~").as_str() < APPLIED && format!("{APPLIED}~").as_str() < BALANCE);
        assert!(format!("{BALANCE}9999").as_str() < INVOICE);
        // Receipts lie below every payment: reading down from the record never reaches them.
        assert!(format!("{CLEARED}9999").as_str() < PAYMENT);
        assert_eq!(balance_year("#BALANCE#2026"), Some(2026));
        assert_eq!(balance_year("#BALANCE#"), None);
        assert_eq!(balance_year(BALANCE_TOTALS), None);
        assert!(format!("{BALANCE}9999").as_str() < BALANCE_TOTALS && BALANCE_TOTALS < INVOICE, "the totals after every year");
        assert!(format!("{INVOICE}9999-12-31#~").as_str() < SUMMARY_SK);
        assert!(HOUSEHOLD_SK < LEDGER_HEAD_BEFORE && LEDGER_HEAD_BEFORE < AGREEMENT && LEDGER_HEAD_BEFORE < AUTOPAY_SK);
    }

    #[test]
    fn every_household_item_is_told_by_its_sort_key() {
        let cases = [
            ("ACCOUNT", AccountItem::Household),
            ("MEMBER#maria", AccountItem::Member),
            ("MEMBERSHIP#ms-1", AccountItem::Membership),
            ("#INVOICE#2026-11-01#inv-1", AccountItem::Invoice),
            ("!PAYMENT#2026-11-02T10:00:00.000000Z#p1", AccountItem::Payment),
            ("INVOICE#2026-11-01#inv-1", AccountItem::Invoice),
            ("PAYMENT#2026-11-02T10:00:00.000000Z#p1", AccountItem::Payment),
            ("SOURCE#src-1", AccountItem::Source),
            ("AGREEMENT#agr-1", AccountItem::Agreement),
            ("EMAILCHANGE#maria", AccountItem::EmailChange),
            ("ACCOUNTS", AccountItem::Other),
        ];
        for (sk, kind) in cases {
            assert_eq!(AccountItem::of_sk(sk), kind, "{sk}");
        }
        let (from, to) = profile_range();
        for (sk, kind) in cases {
            let in_profile = from <= sk && sk <= to;
            let ledger = matches!(kind, AccountItem::Invoice | AccountItem::Payment);
            assert!(in_profile != ledger || ledger_sk(sk).is_some(), "{sk}: in the profile range {in_profile}");
        }
        assert!(is_feed_event(&feed_pk(&AccountId::parse("lopez").unwrap()), &feed_event_sk("c1")));
        assert!(!is_feed_event(&audit_pk(&AccountId::parse("lopez").unwrap()), &feed_event_sk("c1")));
    }
}
