//! Account statements: every charge and payment of a period with a running balance.

use chrono::{Datelike, Months, NaiveDate};

use crate::money::Balance;
use crate::Money;

/// One charge (an invoice) or payment on the account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Activity {
    pub date: NaiveDate,
    pub kind: ActivityKind,
    pub amount: Money,
    /// "Invoice INV-1009", "Payment on INV-1008 — Visa ending 4242".
    pub description: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ActivityKind {
    Charge,
    Payment,
}

/// One line of a statement: the activity and the balance after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub activity: Activity,
    pub balance: Balance,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub opening: Balance,
    pub lines: Vec<Line>,
    pub charges: Money,
    pub payments: Money,
    pub closing: Balance,
}

/// The statement for `from..=to`: activity before `from` makes the opening balance; within the
/// period, charges come before payments on the same day so the balance reads naturally.
pub fn statement(activities: &[Activity], from: NaiveDate, to: NaiveDate) -> Statement {
    let opening = activities.iter().filter(|a| a.date < from).fold(Balance::ZERO, |balance, a| a.apply(balance));
    let within = activities.iter().filter(|a| a.date >= from && a.date <= to).cloned().collect();
    statement_from(opening, within, from, to)
}

/// The statement for `from..=to` from the balance before it and the period's activities (any order).
pub fn statement_from(opening: Balance, mut within: Vec<Activity>, from: NaiveDate, to: NaiveDate) -> Statement {
    within.sort_by(|a, b| (a.date, a.kind, &a.description).cmp(&(b.date, b.kind, &b.description)));
    let mut balance = opening;
    let mut lines = Vec::with_capacity(within.len());
    for activity in within {
        balance = activity.apply(balance);
        lines.push(Line { activity, balance });
    }
    let total = |kind| lines.iter().filter(|l| l.activity.kind == kind).map(|l| l.activity.amount).sum();
    Statement { from, to, opening, charges: total(ActivityKind::Charge), payments: total(ActivityKind::Payment), closing: balance, lines }
}

impl Activity {
    fn apply(&self, balance: Balance) -> Balance {
        match self.kind {
            ActivityKind::Charge => balance.plus(self.amount),
            ActivityKind::Payment => balance.minus(self.amount),
        }
    }
}

/// The longest period a statement covers.
pub const MAX_YEARS: u32 = 10;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    #[error("Enter the start date as YYYY-MM-DD.")]
    BadFrom,
    #[error("Enter the end date as YYYY-MM-DD.")]
    BadTo,
    #[error("The start date must be on or before the end date.")]
    FromAfterTo,
    #[error("Choose a period of at most 10 years.")]
    TooLong,
    #[error("Enter dates between 1900 and 2100.")]
    OutOfRange,
}

/// The years a typed statement date may fall in: far wider than any practice's history, and far
/// inside what date arithmetic can reach.
pub const DATE_YEARS: std::ops::RangeInclusive<i32> = 1900..=2100;

/// The period of a statement from the form's `from` and `to` (each optional; by default the
/// 12 months ending today).
pub fn parse_period(from: Option<&str>, to: Option<&str>, today: NaiveDate) -> Result<(NaiveDate, NaiveDate), PeriodError> {
    let parse = |text: Option<&str>, error: PeriodError| match text.map(str::trim).filter(|t| !t.is_empty()) {
        None => Ok(None),
        Some(t) => match NaiveDate::parse_from_str(t, "%Y-%m-%d") {
            Ok(date) if DATE_YEARS.contains(&date.year()) => Ok(Some(date)),
            Ok(_) => Err(PeriodError::OutOfRange),
            Err(_) => Err(error),
        },
    };
    let to_date = parse(to, PeriodError::BadTo)?.unwrap_or(today);
    let from_date = match parse(from, PeriodError::BadFrom)? {
        Some(date) => date,
        None => to_date
            .checked_sub_months(Months::new(12))
            .and_then(|d| d.succ_opt())
            .filter(|d| DATE_YEARS.contains(&d.year()))
            .ok_or(PeriodError::OutOfRange)?,
    };
    if from_date > to_date {
        return Err(PeriodError::FromAfterTo);
    }
    if from_date.checked_add_months(Months::new(12 * MAX_YEARS)).is_none_or(|limit| limit <= to_date) {
        return Err(PeriodError::TooLong);
    }
    Ok((from_date, to_date))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn act(date: &str, kind: ActivityKind, cents: i64) -> Activity {
        Activity { date: d(date), kind, amount: Money::from_cents(cents), description: format!("{kind:?} {date}") }
    }

    #[test]
    fn runs_the_balance_through_the_period() {
        let all = [
            act("2026-01-01", ActivityKind::Charge, 19000),
            act("2026-01-03", ActivityKind::Payment, 19000),
            act("2026-02-01", ActivityKind::Charge, 19000),
            act("2026-02-05", ActivityKind::Payment, 5000),
            act("2026-03-01", ActivityKind::Charge, 19000),
        ];
        let s = statement(&all, d("2026-02-01"), d("2026-02-28"));
        assert_eq!(s.opening, Balance::ZERO);
        assert_eq!(s.lines.len(), 2);
        assert_eq!(s.lines[0].balance.to_string(), "$190.00");
        assert_eq!(s.lines[1].balance.to_string(), "$140.00");
        assert_eq!(
            (s.charges.to_string(), s.payments.to_string(), s.closing.to_string()),
            ("$190.00".into(), "$50.00".into(), "$140.00".into())
        );
        let later = statement(&all, d("2026-03-01"), d("2026-03-31"));
        assert_eq!(later.opening.to_string(), "$140.00");
        assert_eq!(later.closing.to_string(), "$330.00");
    }

    #[test]
    fn charges_come_before_payments_on_the_same_day() {
        let all = [act("2026-01-01", ActivityKind::Payment, 100), act("2026-01-01", ActivityKind::Charge, 100)];
        let s = statement(&all, d("2026-01-01"), d("2026-01-01"));
        assert_eq!(s.lines[0].activity.kind, ActivityKind::Charge);
        assert_eq!(s.lines[0].balance.to_string(), "$1.00");
    }

    #[test]
    fn an_empty_period_carries_the_balance() {
        let all = [act("2025-01-01", ActivityKind::Charge, 8000)];
        let s = statement(&all, d("2026-01-01"), d("2026-12-31"));
        assert!(s.lines.is_empty());
        assert_eq!(s.opening, s.closing);
        assert_eq!(s.closing.to_string(), "$80.00");
    }

    #[test]
    fn periods_parse_with_defaults_and_limits() {
        let today = d("2026-11-26");
        assert_eq!(parse_period(None, None, today), Ok((d("2025-11-27"), today)));
        assert_eq!(parse_period(Some("2026-01-01"), Some(""), today), Ok((d("2026-01-01"), today)));
        assert_eq!(parse_period(Some("2026-13-01"), None, today), Err(PeriodError::BadFrom));
        assert_eq!(parse_period(None, Some("soon"), today), Err(PeriodError::BadTo));
        assert_eq!(parse_period(Some("2026-02-01"), Some("2026-01-01"), today), Err(PeriodError::FromAfterTo));
        assert_eq!(parse_period(Some("2016-01-01"), Some("2026-01-01"), today), Err(PeriodError::TooLong));
        assert!(parse_period(Some("2016-01-02"), Some("2026-01-01"), today).is_ok());
        // Extreme and signed years are refused with a message, never a panic in date arithmetic.
        for (from, to) in [
            (None, Some("-262143-06-01")),
            (Some("-262143-01-01"), None),
            (Some("1899-12-31"), None),
            (None, Some("2101-01-01")),
            (Some("+262142-12-31"), None),
        ] {
            assert_eq!(parse_period(from, to, today), Err(PeriodError::OutOfRange), "{from:?} {to:?}");
        }
        assert_eq!(parse_period(None, Some("1900-01-01"), today), Err(PeriodError::OutOfRange), "the default start would be before 1900");
        assert!(parse_period(Some("2100-01-01"), Some("2100-12-31"), today).is_ok());
    }

    fn activity() -> impl Strategy<Value = Activity> {
        (0i64..730, prop_oneof![Just(ActivityKind::Charge), Just(ActivityKind::Payment)], 1i64..100_000).prop_map(|(day, kind, cents)| {
            Activity {
                date: d("2025-01-01") + chrono::Days::new(day as u64),
                kind,
                amount: Money::from_cents(cents),
                description: String::new(),
            }
        })
    }

    proptest! {
        #[test]
        fn any_typed_dates_give_a_period_or_a_message(y1 in -300_000i32..300_000, y2 in -300_000i32..300_000, m in 1u32..=12, day in 1u32..=28, blank in 0u8..3) {
            let from = format!("{y1:04}-{m:02}-{day:02}");
            let to = format!("{y2:04}-{m:02}-{day:02}");
            let (from, to) = match blank { 0 => (Some(from.as_str()), Some(to.as_str())), 1 => (None, Some(to.as_str())), _ => (Some(from.as_str()), None) };
            if let Ok((start, end)) = parse_period(from, to, d("2026-11-26")) {
                prop_assert!(start <= end && DATE_YEARS.contains(&start.year()) && DATE_YEARS.contains(&end.year()));
            }
        }

        #[test]
        fn closing_is_opening_plus_charges_minus_payments(all in proptest::collection::vec(activity(), 0..60), a in 0u64..730, len in 0u64..400) {
            let from = d("2025-01-01") + chrono::Days::new(a);
            let s = statement(&all, from, from + chrono::Days::new(len));
            prop_assert_eq!(s.closing, s.opening.plus(s.charges).minus(s.payments));
            prop_assert_eq!(s.lines.last().map_or(s.opening, |l| l.balance), s.closing);
        }

        #[test]
        fn splitting_a_period_chains_the_balances(all in proptest::collection::vec(activity(), 0..60), a in 0u64..700, split in 0u64..100, len in 0u64..200) {
            let from = d("2025-01-01") + chrono::Days::new(a);
            let middle = from + chrono::Days::new(split);
            let to = middle + chrono::Days::new(len + 1);
            let whole = statement(&all, from, to);
            let first = statement(&all, from, middle);
            let second = statement(&all, middle + chrono::Days::new(1), to);
            prop_assert_eq!(first.closing, second.opening);
            prop_assert_eq!(second.closing, whole.closing);
            prop_assert_eq!(first.lines.len() + second.lines.len(), whole.lines.len());
        }

        #[test]
        fn parse_period_never_panics(from in "\\PC{0,12}", to in "\\PC{0,12}") {
            if let Ok((f, t)) = parse_period(Some(&from), Some(&to), d("2026-11-26")) {
                prop_assert!(f <= t);
            }
        }
    }
}
