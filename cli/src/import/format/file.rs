//! The import file's shape, as serde reads it.
//!
//! Every field is a [`Field`], which never fails to deserialize: it keeps what the file gave
//! (left out, blank, a value of the right kind, or the reason it is not one), so one read of the
//! file collects every problem instead of stopping at the first. Unknown fields are kept in
//! `unknown` (a misspelt field would otherwise be silently ignored). The checks that need more
//! than one field, or the rest of the file, are in `check`.

use chrono::{DateTime, NaiveDate, Utc};
use portal_domain::*;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// One field as the file gives it.
#[derive(Debug, Default)]
pub enum Field<T> {
    /// Left out, or `null`.
    #[default]
    Absent,
    /// Text with nothing but spaces.
    Blank,
    Given(T),
    /// Present but not a `T`: why, in the words the problem list uses.
    Wrong(String),
}

impl<T> Field<T> {
    /// Whether the file gave a value (right or wrong).
    pub fn is_given(&self) -> bool {
        !matches!(self, Field::Absent)
    }
}

impl<T: Wire> Field<T> {
    pub fn of(value: Value) -> Field<T> {
        match value {
            Value::Null => Field::Absent,
            Value::String(s) if s.trim().is_empty() => Field::Blank,
            value => T::read(value).map_or_else(Field::Wrong, Field::Given),
        }
    }
}

impl<'de, T: Wire> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Value::deserialize(d).map(Field::of)
    }
}

/// How one kind of value is read from JSON, with the reason when it is not one.
pub trait Wire: Sized {
    fn read(value: Value) -> Result<Self, String>;
}

/// What a JSON value is, for "expected …, found …".
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// A list: each element is read on its own, so one bad element does not hide the others.
pub type List<T> = Vec<Field<T>>;

impl<T: Wire> Wire for Vec<Field<T>> {
    fn read(value: Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => Ok(items.into_iter().map(Field::of).collect()),
            other => Err(format!("expected a list, found {}", kind(&other))),
        }
    }
}

impl Wire for String {
    fn read(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s.trim().to_owned()),
            other => Err(format!("expected text, found {}", kind(&other))),
        }
    }
}

impl Wire for bool {
    fn read(value: Value) -> Result<Self, String> {
        match value {
            Value::Bool(b) => Ok(b),
            other => Err(format!("expected true or false, found {}", kind(&other))),
        }
    }
}

/// A whole number from `MIN` to `MAX`.
#[derive(Debug, Clone, Copy)]
pub struct Whole<const MIN: u64, const MAX: u64>(pub u64);

impl<const MIN: u64, const MAX: u64> Wire for Whole<MIN, MAX> {
    fn read(value: Value) -> Result<Self, String> {
        match value {
            Value::Number(n) => n
                .as_u64()
                .filter(|n| (MIN..=MAX).contains(n))
                .map(Whole)
                .ok_or_else(|| format!("expected a whole number from {MIN} to {MAX}")),
            other => Err(format!("expected a whole number, found {}", kind(&other))),
        }
    }
}

impl Wire for Money {
    fn read(value: Value) -> Result<Self, String> {
        match value {
            Value::Number(_) => Err("write amounts as text, like \"80.00\", never as JSON numbers".into()),
            other => Money::parse(&String::read(other)?).map_err(|e| e.to_string()),
        }
    }
}

/// A document's text, kept exactly as written (its signature covers every character).
#[derive(Debug)]
pub struct Body(pub String);

impl Wire for Body {
    fn read(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(Body(s)),
            other => Err(format!("expected text, found {}", kind(&other))),
        }
    }
}

/// The last 4 digits of a card or account number.
#[derive(Debug)]
pub struct Last4(pub String);

/// Values written as text in a form the portal parses.
macro_rules! parsed {
    ($($t:ty => $parse:expr;)*) => {$(
        impl Wire for $t {
            fn read(value: Value) -> Result<Self, String> {
                let text = String::read(value)?;
                ($parse)(text.as_str()).map_err(|e| e.to_string())
            }
        }
    )*};
}

parsed! {
    NaiveDate => |s| NaiveDate::parse_from_str(s, "%Y-%m-%d").map_err(|_| "not a date (write it as YYYY-MM-DD)");
    DateTime<Utc> => |s| DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "not a time (write it as RFC 3339, e.g. 2026-03-01T15:00:00Z)");
    Email => Email::parse;
    TaxId => TaxId::parse;
    Npi => Npi::parse;
    PhoneNumber => PhoneNumber::parse;
    Last4 => |s: &str| match s.len() == 4 && s.bytes().all(|b| b.is_ascii_digit()) {
        true => Ok(Last4(s.to_owned())),
        false => Err("expected the last 4 digits"),
    };
}

/// The practice system's ids: 1 to 64 of `A-Z a-z 0-9 - _`.
macro_rules! ids {
    ($($t:ty),*) => {
        parsed! {$($t => |s: &str| <$t>::try_from(s.to_owned()).map_err(|_| "not a valid id: use 1 to 64 of A-Z a-z 0-9 - _");)*}
    };
}

ids!(AccountId, MemberId, MembershipId, PlanId, InvoiceId, PaymentId, SourceId, AgreementId);

/// Words from a fixed list; the problem names the list.
macro_rules! choices {
    ($($t:ty { $($label:literal => $value:expr),* $(,)? })*) => {$(
        impl Wire for $t {
            fn read(value: Value) -> Result<Self, String> {
                match String::read(value)?.as_str() {
                    $($label => Ok($value),)*
                    _ => Err(concat!("expected one of ", choices!(@list $($label),*)).to_owned()),
                }
            }
        }
    )*};
    (@list $first:literal $(, $rest:literal)*) => { concat!($first $(, ", ", $rest)*) };
}

/// A payment's outcome as the practice recorded it (the reason is a field of its own).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Declined,
    Failed,
}

/// Which kind of payment source the details describe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Card,
    BankAccount,
}

choices! {
    Sex { "female" => Sex::Female, "male" => Sex::Male, "other" => Sex::Other, "unknown" => Sex::Unknown }
    Relationship {
        "self" => Relationship::Owner, "spouse" => Relationship::Spouse,
        "child" => Relationship::Child, "other" => Relationship::Other,
    }
    BillingPeriod { "monthly" => BillingPeriod::Monthly, "annual" => BillingPeriod::Annual }
    MembershipStatus { "active" => MembershipStatus::Active, "ended" => MembershipStatus::Ended }
    BankAccountType { "checking" => BankAccountType::Checking, "savings" => BankAccountType::Savings }
    Outcome { "succeeded" => Outcome::Succeeded, "declined" => Outcome::Declined, "failed" => Outcome::Failed }
    SourceKind { "card" => SourceKind::Card, "bank_account" => SourceKind::BankAccount }
    leaving::LeavingMode { "request" => leaving::LeavingMode::Request, "immediate" => leaving::LeavingMode::Immediate }
}

/// A record of the file, with the fields the format does not have.
pub trait Record {
    fn unknown(&self) -> &Map<String, Value>;
}

/// The file's records: each is an object whose fields are read one by one.
macro_rules! records {
    ($($(#[$doc:meta])* $name:ident { $($field:ident: $t:ty,)* })*) => {$(
        $(#[$doc])*
        #[derive(Debug, Default, Deserialize)]
        #[serde(default)]
        pub struct $name {
            $(pub $field: Field<$t>,)*
            /// Fields the format does not have.
            #[serde(flatten)]
            pub unknown: Map<String, Value>,
        }

        impl Record for $name {
            fn unknown(&self) -> &Map<String, Value> {
                &self.unknown
            }
        }

        impl Wire for $name {
            fn read(value: Value) -> Result<Self, String> {
                match value {
                    value @ Value::Object(_) => serde_json::from_value(value).map_err(|e| e.to_string()),
                    other => Err(format!("expected an object, found {}", kind(&other))),
                }
            }
        }
    )*};
}

records! {
    /// The whole file.
    File { format: String, practice: Practice, plans: List<Plan>, households: List<Household>, }
    Practice {
        name: String,
        phone: PhoneNumber,
        email: Email,
        address: Address,
        tax_id: TaxId,
        npi: Npi,
        hsa_note: bool,
        cancellation: leaving::LeavingMode,
    }
    Address { line1: String, line2: String, city: String, state: String, postal_code: String, }
    Plan { id: PlanId, name: String, period: BillingPeriod, contract_months: Whole<1, 60>, rates: List<Rate>, leaving: Leaving, }
    /// What the plan's contract says about leaving it.
    Leaving { notice_days: Whole<0, 365>, early_termination_fee: Money, refund_unearned: bool, }
    Rate { min_age: Whole<0, 130>, max_age: Whole<0, 130>, amount: Money, }
    Household {
        id: AccountId,
        name: String,
        owner: MemberId,
        billing_address: Address,
        processor_customer: String,
        members: List<Member>,
        memberships: List<Membership>,
        invoices: List<Invoice>,
        payments: List<Payment>,
        payment_sources: List<Source>,
        agreements: List<Agreement>,
    }
    Member {
        id: MemberId,
        first_name: String,
        last_name: String,
        date_of_birth: NaiveDate,
        sex: Sex,
        relationship: Relationship,
        email: Email,
        phones: Phones,
        address: Address,
    }
    Phones { mobile: PhoneNumber, home: PhoneNumber, work: PhoneNumber, }
    Membership {
        id: MembershipId,
        plan: PlanId,
        status: MembershipStatus,
        contract_start: NaiveDate,
        contract_end: NaiveDate,
        next_bill_date: NaiveDate,
        renews: MembershipId,
        renewed_by: MembershipId,
        enrollments: List<Enrollment>,
    }
    Enrollment { member: MemberId, start: NaiveDate, end: NaiveDate, rate: Money, }
    Invoice { id: InvoiceId, number: String, issued: NaiveDate, due: NaiveDate, void: bool, lines: List<Line>, }
    Line { member: MemberId, description: String, period_start: NaiveDate, period_end: NaiveDate, amount: Money, }
    /// A saved source: its own fields and the details of the card or account.
    Source { id: SourceId, token: String, default: bool, }
    /// A card (`brand`, `exp_month`, `exp_year`) or a bank account (`bank_name`, `account_type`).
    Details {
        r#type: SourceKind,
        last4: Last4,
        brand: String,
        exp_month: Whole<1, 12>,
        exp_year: Whole<2000, 2100>,
        bank_name: String,
        account_type: BankAccountType,
    }
    Payment {
        id: PaymentId,
        invoice: InvoiceId,
        amount: Money,
        at: DateTime<Utc>,
        status: Outcome,
        reason: String,
        reference: String,
        source: Details,
    }
    Agreement {
        id: AgreementId,
        member: MemberId,
        title: String,
        version: String,
        body: Body,
        required: bool,
        signature: Signature,
    }
    Signature { signer_name: String, signed_by: MemberId, at: DateTime<Utc>, ip: String, user_agent: String, }
}
