//! The practice that runs the portal.

use serde::{Deserialize, Serialize};

use crate::{Email, PhoneNumber, UsAddress};

/// The practice's public profile, shown on pages, emails and documents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Practice {
    pub name: String,
    pub phone: PhoneNumber,
    pub email: Email,
    pub address: UsAddress,
    /// The practice's federal tax id (EIN, `12-3456789`), printed on receipts when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id: Option<TaxId>,
    /// The practice's National Provider Identifier, printed on receipts when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub npi: Option<Npi>,
    /// Whether the yearly summary says if the membership fee is within the HSA limit for
    /// direct-primary-care arrangements (the practice chooses; it is not tax advice).
    #[serde(default)]
    pub hsa_note: bool,
    /// How a request to cancel or remove a member is handled: confirmed by the practice, or at once.
    #[serde(default)]
    pub leaving: crate::leaving::LeavingMode,
}

/// An employer identification number: nine digits, written `12-3456789`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TaxId(String);

impl TaxId {
    pub fn parse(text: &str) -> Result<TaxId, &'static str> {
        let text = text.trim();
        let digits: String = text.chars().filter(|c| *c != '-').collect();
        let shaped = digits.len() == 9 && digits.bytes().all(|b| b.is_ascii_digit()) && text.trim().len() <= 10;
        if !shaped {
            return Err("expected a federal tax id (EIN) of 9 digits, like 12-3456789");
        }
        Ok(TaxId(format!("{}-{}", &digits[..2], &digits[2..])))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A National Provider Identifier: ten digits whose last is a Luhn check digit over the
/// number prefixed with 80840, as the NPI standard defines it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Npi(String);

impl Npi {
    pub fn parse(text: &str) -> Result<Npi, &'static str> {
        let text = text.trim();
        if text.len() != 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err("expected a 10-digit NPI");
        }
        let digits = "80840".bytes().chain(text.bytes()).map(|b| u32::from(b - b'0'));
        let sum: u32 = digits
            .collect::<Vec<_>>()
            .iter()
            .rev()
            .enumerate()
            .map(|(i, &d)| {
                if i % 2 == 1 {
                    if d * 2 > 9 {
                        d * 2 - 9
                    } else {
                        d * 2
                    }
                } else {
                    d
                }
            })
            .sum();
        if !sum.is_multiple_of(10) {
            return Err("not a valid NPI (its check digit does not match)");
        }
        Ok(Npi(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! text_forms {
    ($($t:ident),*) => {$(
        impl TryFrom<String> for $t {
            type Error = &'static str;
            fn try_from(text: String) -> Result<Self, &'static str> {
                $t::parse(&text)
            }
        }

        impl From<$t> for String {
            fn from(value: $t) -> String {
                value.0
            }
        }

        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }
    )*};
}

text_forms!(TaxId, Npi);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tax_id_is_nine_digits_written_with_its_dash() {
        assert_eq!(TaxId::parse("123456789").unwrap().as_str(), "12-3456789");
        assert_eq!(TaxId::parse("12-3456789").unwrap().as_str(), "12-3456789");
        assert!(TaxId::parse("12-345678").is_err());
        assert!(TaxId::parse("12-34567890").is_err());
        assert!(TaxId::parse("ab-cdefghi").is_err());
    }

    #[test]
    fn an_npi_carries_its_luhn_check_digit() {
        // The example of the NPI standard: 123456789 with check digit 3.
        assert!(Npi::parse("1234567893").is_ok());
        assert!(Npi::parse("1234567890").is_err());
        assert!(Npi::parse("123456789").is_err());
        assert!(Npi::parse("12345678x3").is_err());
    }
}
