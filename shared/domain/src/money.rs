//! US dollar amounts: exact decimals with two places, never floats.

use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Sub};
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

/// The largest amount the portal accepts anywhere: far above any membership bill.
const MAX_AMOUNT: Decimal = Decimal::from_parts(100_000_000, 0, 0, false, 2); // $1,000,000.00

/// An amount of US dollars with exactly two decimal places.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Money(Decimal);

/// Why a typed amount is not an amount of money.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    #[error("Enter an amount, for example 25.00.")]
    Empty,
    #[error("Enter the amount as a number of dollars and cents, for example 25.00.")]
    NotANumber,
    #[error("The amount cannot be negative.")]
    Negative,
    #[error("Enter an amount greater than zero.")]
    Zero,
    #[error("Use at most two digits for cents.")]
    TooManyDecimals,
    #[error("That amount is too large.")]
    TooLarge,
}

impl Money {
    pub const ZERO: Money = Money(Decimal::from_parts(0, 0, 0, false, 2));

    /// Parses an amount as people type it: `12`, `12.5`, `12.50`, `$1,234.50`. Zero is allowed.
    pub fn parse(input: &str) -> Result<Money, MoneyError> {
        let trimmed = input.trim();
        if trimmed.is_empty() {
            return Err(MoneyError::Empty);
        }
        let (negative, rest) = match trimmed.strip_prefix('-') {
            Some(r) => (true, r.trim_start()),
            None => (false, trimmed),
        };
        let rest = rest.strip_prefix('$').unwrap_or(rest).trim_start();
        let rest = match rest.strip_prefix('-') {
            Some(r) if !negative => return Self::parse_digits(r).and(Err(MoneyError::Negative)),
            Some(_) => return Err(MoneyError::NotANumber),
            None => rest,
        };
        let value = Self::parse_digits(rest)?;
        if negative && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        Ok(value)
    }

    /// Parses an amount that is to be paid: like [`Money::parse`] but zero is refused.
    pub fn parse_payment(input: &str) -> Result<Money, MoneyError> {
        let value = Self::parse(input)?;
        if value.is_zero() {
            return Err(MoneyError::Zero);
        }
        Ok(value)
    }

    fn parse_digits(text: &str) -> Result<Money, MoneyError> {
        if !Self::grouping_is_valid(text) {
            return Err(MoneyError::NotANumber);
        }
        let plain: String = text.chars().filter(|c| *c != ',').collect();
        let (whole, cents) = match plain.split_once('.') {
            Some((w, c)) => (w, Some(c)),
            None => (plain.as_str(), None),
        };
        let whole_ok = !whole.is_empty() && whole.chars().all(|c| c.is_ascii_digit());
        let cents_ok = cents.is_none_or(|c| !c.is_empty() && c.chars().all(|d| d.is_ascii_digit()));
        if !whole_ok || !cents_ok {
            return Err(MoneyError::NotANumber);
        }
        if cents.is_some_and(|c| c.len() > 2) {
            return Err(MoneyError::TooManyDecimals);
        }
        if whole.trim_start_matches('0').len() > 7 {
            return Err(MoneyError::TooLarge);
        }
        let decimal = Decimal::from_str(&plain).map_err(|_| MoneyError::NotANumber)?;
        Money::try_from(decimal)
    }

    /// Thousands separators are optional, but where present they group by three.
    fn grouping_is_valid(text: &str) -> bool {
        let whole = text.split('.').next().unwrap_or("");
        if !whole.contains(',') {
            return !text.split_once('.').is_some_and(|(_, c)| c.contains(','));
        }
        let groups: Vec<&str> = whole.split(',').collect();
        let first_ok = (1..=3).contains(&groups[0].len());
        first_ok && groups[1..].iter().all(|g| g.len() == 3) && !text.split_once('.').is_some_and(|(_, c)| c.contains(','))
    }

    /// Whole cents, for use as an exact integer (e.g. a processor's amount).
    pub fn cents(self) -> i64 {
        (self.0 * Decimal::ONE_HUNDRED).trunc().try_into().unwrap_or(i64::MAX)
    }

    /// An amount from whole cents.
    pub fn from_cents(cents: i64) -> Money {
        Money(Decimal::new(cents, 2))
    }

    /// A whole number of dollars, for constants (a limit, a fee).
    pub const fn dollars(dollars: u32) -> Money {
        Money(Decimal::from_parts(dollars, 0, 0, false, 0))
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// The difference, or zero when `other` is larger (balances never go negative).
    pub fn saturating_sub(self, other: Money) -> Money {
        if other >= self {
            Money::ZERO
        } else {
            Money(self.0 - other.0)
        }
    }

    /// Plain form for form fields: `1234.50`.
    pub fn plain(self) -> String {
        format!("{:.2}", self.0)
    }
}

impl TryFrom<Decimal> for Money {
    type Error = MoneyError;

    fn try_from(value: Decimal) -> Result<Self, Self::Error> {
        if value.is_sign_negative() && !value.is_zero() {
            return Err(MoneyError::Negative);
        }
        if value.normalize().scale() > 2 {
            return Err(MoneyError::TooManyDecimals);
        }
        if value > MAX_AMOUNT {
            return Err(MoneyError::TooLarge);
        }
        let mut exact = value.round_dp_with_strategy(2, RoundingStrategy::ToZero).abs();
        exact.rescale(2);
        Ok(Money(exact))
    }
}

impl From<Money> for Decimal {
    fn from(value: Money) -> Self {
        value.0
    }
}

impl Add for Money {
    type Output = Money;
    fn add(self, rhs: Money) -> Money {
        let mut sum = self.0 + rhs.0;
        sum.rescale(2);
        Money(sum)
    }
}

/// Subtraction that would go below zero yields zero; use [`Money::saturating_sub`] to be explicit.
impl Sub for Money {
    type Output = Money;
    fn sub(self, rhs: Money) -> Money {
        self.saturating_sub(rhs)
    }
}

impl Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, Add::add)
    }
}

impl fmt::Display for Money {
    /// `$1,234.50`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format!("{:.2}", self.0);
        let (whole, cents) = text.split_once('.').unwrap_or((&text, "00"));
        let mut grouped = String::with_capacity(whole.len() + whole.len() / 3);
        for (i, c) in whole.chars().enumerate() {
            if i > 0 && (whole.len() - i) % 3 == 0 {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "${grouped}.{cents}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_the_forms_people_type() {
        assert_eq!(Money::parse("12").unwrap().plain(), "12.00");
        assert_eq!(Money::parse("12.5").unwrap().plain(), "12.50");
        assert_eq!(Money::parse("12.50").unwrap().plain(), "12.50");
        assert_eq!(Money::parse("$1,234.50").unwrap().plain(), "1234.50");
        assert_eq!(Money::parse(" $ 7 ").unwrap().plain(), "7.00");
        assert_eq!(Money::parse("0").unwrap(), Money::ZERO);
    }

    #[test]
    fn refuses_what_is_not_an_amount() {
        assert_eq!(Money::parse(""), Err(MoneyError::Empty));
        assert_eq!(Money::parse("-5"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("$-5"), Err(MoneyError::Negative));
        assert_eq!(Money::parse("1.234"), Err(MoneyError::TooManyDecimals));
        assert_eq!(Money::parse("12,34"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("1e3"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("12."), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse(".5"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("NaN"), Err(MoneyError::NotANumber));
        assert_eq!(Money::parse("99999999999999"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse("1000000.01"), Err(MoneyError::TooLarge));
        assert_eq!(Money::parse_payment("0.00"), Err(MoneyError::Zero));
    }

    #[test]
    fn displays_with_dollar_sign_and_grouping() {
        assert_eq!(Money::parse("1234.5").unwrap().to_string(), "$1,234.50");
        assert_eq!(Money::parse("80").unwrap().to_string(), "$80.00");
        assert_eq!(Money::parse("1000000").unwrap().to_string(), "$1,000,000.00");
        assert_eq!(Money::ZERO.to_string(), "$0.00");
    }

    #[test]
    fn arithmetic_is_exact_and_never_negative() {
        let a = Money::parse("0.10").unwrap();
        let b = Money::parse("0.20").unwrap();
        assert_eq!((a + b).plain(), "0.30");
        assert_eq!(a - b, Money::ZERO);
        assert_eq!([a, b, b].into_iter().sum::<Money>().plain(), "0.50");
        assert_eq!(Money::from_cents(12345).cents(), 12345);
    }

    proptest! {
        #[test]
        fn any_cent_amount_round_trips(cents in 0i64..=100_000_000) {
            let money = Money::from_cents(cents);
            prop_assert_eq!(Money::parse(&money.to_string()).unwrap(), money);
            prop_assert_eq!(Money::parse(&money.plain()).unwrap(), money);
            prop_assert_eq!(money.cents(), cents);
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,24}") {
            let _ = Money::parse(&input);
        }

        #[test]
        fn accepted_amounts_have_two_places_and_are_in_range(input in "[-$0-9,.]{1,14}") {
            if let Ok(money) = Money::parse(&input) {
                prop_assert_eq!(money.amount().scale(), 2);
                prop_assert!(money.amount() >= Decimal::ZERO && money.amount() <= MAX_AMOUNT);
            }
        }
    }
}

/// A running account balance: what is owed (positive) or held as credit (negative).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Balance(Decimal);

impl Balance {
    pub const ZERO: Balance = Balance(Decimal::from_parts(0, 0, 0, false, 2));

    /// A balance of `amount` (a credit when negative), in cents.
    pub fn of(amount: Decimal) -> Balance {
        let mut amount = amount;
        amount.rescale(2);
        Balance(amount)
    }

    pub fn plus(self, amount: Money) -> Balance {
        let mut sum = self.0 + amount.amount();
        sum.rescale(2);
        Balance(sum)
    }

    pub fn minus(self, amount: Money) -> Balance {
        let mut difference = self.0 - amount.amount();
        difference.rescale(2);
        Balance(difference)
    }

    pub fn amount(self) -> Decimal {
        self.0
    }

    pub fn is_credit(self) -> bool {
        self.0.is_sign_negative() && !self.0.is_zero()
    }
}

impl From<Money> for Balance {
    fn from(value: Money) -> Self {
        Balance::ZERO.plus(value)
    }
}

impl fmt::Display for Balance {
    /// `$1,234.50`, or `-$12.00` for a credit.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let magnitude = Money::try_from(self.0.abs()).unwrap_or(Money::ZERO);
        if self.is_credit() {
            write!(f, "-{magnitude}")
        } else {
            write!(f, "{magnitude}")
        }
    }
}
