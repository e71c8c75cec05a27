//! Dates of birth and ages.

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// A date of birth that is not in the future and no more than 120 years ago.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DateOfBirth(NaiveDate);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DateOfBirthError {
    #[error("Enter the date of birth as YYYY-MM-DD.")]
    NotADate,
    #[error("The date of birth cannot be in the future.")]
    InFuture,
    #[error("Check the year of birth: that is more than 120 years ago.")]
    TooOld,
}

/// Whole years between `born` and `on`.
pub fn age_between(born: NaiveDate, on: NaiveDate) -> u32 {
    let mut years = on.year() - born.year();
    if (on.month(), on.day()) < (born.month(), born.day()) {
        years -= 1;
    }
    years.max(0) as u32
}

impl DateOfBirth {
    /// Parses `YYYY-MM-DD` (as an HTML date input sends it) against today's date.
    pub fn parse(input: &str, today: NaiveDate) -> Result<DateOfBirth, DateOfBirthError> {
        let date = NaiveDate::parse_from_str(input.trim(), "%Y-%m-%d").map_err(|_| DateOfBirthError::NotADate)?;
        DateOfBirth::new(date, today)
    }

    pub fn new(date: NaiveDate, today: NaiveDate) -> Result<DateOfBirth, DateOfBirthError> {
        if date > today {
            return Err(DateOfBirthError::InFuture);
        }
        if age_between(date, today) > 120 {
            return Err(DateOfBirthError::TooOld);
        }
        Ok(DateOfBirth(date))
    }

    pub fn date(self) -> NaiveDate {
        self.0
    }

    /// Age in whole years on `date`.
    pub fn age_on(self, date: NaiveDate) -> u32 {
        age_between(self.0, date)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn ages_turn_on_the_birthday() {
        let dob = DateOfBirth::parse("2000-03-15", d("2026-11-26")).unwrap();
        assert_eq!(dob.age_on(d("2026-03-14")), 25);
        assert_eq!(dob.age_on(d("2026-03-15")), 26);
        let leap = DateOfBirth::parse("2004-02-29", d("2026-11-26")).unwrap();
        assert_eq!(leap.age_on(d("2025-02-28")), 20);
        assert_eq!(leap.age_on(d("2025-03-01")), 21);
    }

    #[test]
    fn refuses_future_and_implausible_dates() {
        let today = d("2026-11-26");
        assert_eq!(DateOfBirth::parse("2026-11-27", today), Err(DateOfBirthError::InFuture));
        assert_eq!(DateOfBirth::parse("1900-01-01", today), Err(DateOfBirthError::TooOld));
        assert_eq!(DateOfBirth::parse("11/26/2000", today), Err(DateOfBirthError::NotADate));
        assert_eq!(DateOfBirth::parse("2000-02-30", today), Err(DateOfBirthError::NotADate));
        assert!(DateOfBirth::parse("2026-11-26", today).is_ok());
    }

    proptest! {
        #[test]
        fn accepted_dates_are_in_range(days_ago in -1000i64..50_000) {
            let today = d("2026-11-26");
            let date = today - chrono::Duration::days(days_ago);
            match DateOfBirth::parse(&date.format("%Y-%m-%d").to_string(), today) {
                Ok(dob) => { prop_assert!(dob.date() <= today); prop_assert!(dob.age_on(today) <= 120); }
                Err(_) => prop_assert!(days_ago < 0 || age_between(date, today) > 120),
            }
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,16}") {
            let _ = DateOfBirth::parse(&input, d("2026-11-26"));
        }
    }
}
