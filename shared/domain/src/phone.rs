//! US phone numbers, stored in E.164 form.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A North American number: stored as `+15125550123`, shown as `(512) 555-0123`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PhoneNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    #[error("Enter a 10-digit US phone number, for example (512) 555-0123.")]
    Invalid,
}

impl PhoneNumber {
    /// Accepts the usual ways of writing a US number: `512-555-0123`, `(512) 555 0123`,
    /// `+1 512.555.0123`, `15125550123`.
    pub fn parse(input: &str) -> Result<PhoneNumber, PhoneError> {
        let trimmed = input.trim();
        if !trimmed.chars().all(|c| c.is_ascii_digit() || " ()-.+".contains(c)) {
            return Err(PhoneError::Invalid);
        }
        if trimmed.chars().skip(1).any(|c| c == '+') {
            return Err(PhoneError::Invalid);
        }
        let digits: String = trimmed.chars().filter(char::is_ascii_digit).collect();
        let national = match digits.len() {
            10 => digits.as_str(),
            11 if digits.starts_with('1') => &digits[1..],
            _ => return Err(PhoneError::Invalid),
        };
        let bytes = national.as_bytes();
        // NANP: neither the area code nor the exchange may start with 0 or 1.
        if bytes[0] < b'2' || bytes[3] < b'2' {
            return Err(PhoneError::Invalid);
        }
        Ok(PhoneNumber(format!("+1{national}")))
    }

    pub fn e164(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PhoneNumber {
    type Error = PhoneError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        PhoneNumber::parse(&value)
    }
}

impl From<PhoneNumber> for String {
    fn from(value: PhoneNumber) -> Self {
        value.0
    }
}

impl fmt::Display for PhoneNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = &self.0[2..];
        write!(f, "({}) {}-{}", &n[0..3], &n[3..6], &n[6..10])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn accepts_common_forms() {
        for ok in ["512-555-0123", "(512) 555 0123", "+1 512.555.0123", "15125550123", "5125550123"] {
            assert_eq!(PhoneNumber::parse(ok).unwrap().e164(), "+15125550123", "{ok}");
        }
        assert_eq!(PhoneNumber::parse("5125550123").unwrap().to_string(), "(512) 555-0123");
    }

    #[test]
    fn refuses_what_is_not_a_us_number() {
        for bad in ["", "555-0123", "012-555-0123", "512-155-0123", "25125550123", "512-555-0123 x12", "+44 20 7946 0958", "512+5550123"] {
            assert!(PhoneNumber::parse(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn valid_numbers_round_trip(area in 200u32..1000, exchange in 200u32..1000, line in 0u32..10000) {
            let text = format!("({area}) {exchange}-{line:04}");
            let phone = PhoneNumber::parse(&text).unwrap();
            prop_assert_eq!(phone.to_string(), text);
            prop_assert_eq!(PhoneNumber::parse(phone.e164()).unwrap(), phone);
        }

        #[test]
        fn parse_never_panics(input in "\\PC{0,30}") {
            if let Ok(phone) = PhoneNumber::parse(&input) {
                prop_assert_eq!(phone.e164().len(), 12);
            }
        }
    }
}
