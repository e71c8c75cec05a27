//! US postal addresses.

use serde::{Deserialize, Serialize};

const STATES: [&str; 56] = [
    "AL", "AK", "AZ", "AR", "CA", "CO", "CT", "DE", "DC", "FL", "GA", "HI", "ID", "IL", "IN", "IA", "KS", "KY", "LA", "ME", "MD", "MA",
    "MI", "MN", "MS", "MO", "MT", "NE", "NV", "NH", "NJ", "NM", "NY", "NC", "ND", "OH", "OK", "OR", "PA", "RI", "SC", "SD", "TN", "TX",
    "UT", "VT", "VA", "WA", "WV", "WI", "WY", "PR", "VI", "GU", "AS", "MP",
];

/// A US mailing address with a 2-letter state and a ZIP or ZIP+4 code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UsAddress {
    line1: String,
    line2: Option<String>,
    city: String,
    state: String,
    postal_code: String,
}

/// The raw fields of an address form.
#[derive(Debug, Clone, Default)]
pub struct AddressInput<'a> {
    pub line1: &'a str,
    pub line2: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub postal_code: &'a str,
}

/// Each field that is wrong, with what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressErrors {
    pub line1: Option<&'static str>,
    pub line2: Option<&'static str>,
    pub city: Option<&'static str>,
    pub state: Option<&'static str>,
    pub postal_code: Option<&'static str>,
}

impl AddressErrors {
    pub fn is_empty(&self) -> bool {
        *self == AddressErrors::default()
    }
}

fn clean_line(input: &str, max: usize) -> Result<String, &'static str> {
    let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.chars().count() > max {
        return Err("This is too long.");
    }
    if value.chars().any(char::is_control) {
        return Err("Remove the special characters.");
    }
    Ok(value)
}

/// A ZIP (`78701`) or ZIP+4 (`78701-1234`) code.
pub fn parse_postal_code(input: &str) -> Result<String, &'static str> {
    let value = input.trim();
    let digits = |s: &str, n: usize| s.len() == n && s.chars().all(|c| c.is_ascii_digit());
    match value.split_once('-') {
        None if digits(value, 5) => Ok(value.to_owned()),
        None if digits(value, 9) => Ok(format!("{}-{}", &value[..5], &value[5..])),
        Some((zip, plus4)) if digits(zip, 5) && digits(plus4, 4) => Ok(value.to_owned()),
        _ => Err("Enter a 5-digit ZIP code or ZIP+4, for example 78701 or 78701-1234."),
    }
}

impl UsAddress {
    /// Parses every field, reporting each one that is wrong.
    pub fn parse(input: &AddressInput<'_>) -> Result<UsAddress, AddressErrors> {
        let mut errors = AddressErrors::default();
        let line1 = clean_line(input.line1, 100).map_err(|e| errors.line1 = Some(e)).ok();
        if line1.as_deref() == Some("") {
            errors.line1 = Some("Enter the street address.");
        }
        let line2 = clean_line(input.line2, 100).map_err(|e| errors.line2 = Some(e)).ok();
        let city = clean_line(input.city, 60).map_err(|e| errors.city = Some(e)).ok();
        if city.as_deref() == Some("") {
            errors.city = Some("Enter the city.");
        }
        let state = input.state.trim().to_uppercase();
        if !STATES.contains(&state.as_str()) {
            errors.state = Some("Choose a state by its 2-letter code, for example TX.");
        }
        let postal_code = parse_postal_code(input.postal_code).map_err(|e| errors.postal_code = Some(e)).ok();
        match (line1, line2, city, postal_code) {
            (Some(line1), Some(line2), Some(city), Some(postal_code)) if errors.is_empty() => {
                Ok(UsAddress { line1, line2: Some(line2).filter(|l| !l.is_empty()), city, state, postal_code })
            }
            _ => Err(errors),
        }
    }

    pub fn line1(&self) -> &str {
        &self.line1
    }
    pub fn line2(&self) -> Option<&str> {
        self.line2.as_deref()
    }
    pub fn city(&self) -> &str {
        &self.city
    }
    pub fn state(&self) -> &str {
        &self.state
    }
    pub fn postal_code(&self) -> &str {
        &self.postal_code
    }

    /// The last line as printed on an envelope: `Austin, TX 78701`.
    pub fn city_line(&self) -> String {
        format!("{}, {} {}", self.city, self.state, self.postal_code)
    }

    /// The valid 2-letter state codes, for a select box.
    pub fn states() -> &'static [&'static str] {
        &STATES
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input<'a>(state: &'a str, zip: &'a str) -> AddressInput<'a> {
        AddressInput { line1: " 12  Oak St ", line2: "", city: "Austin", state, postal_code: zip }
    }

    #[test]
    fn parses_a_valid_address() {
        let address = UsAddress::parse(&input("tx", "78701-1234")).unwrap();
        assert_eq!(address.line1(), "12 Oak St");
        assert_eq!(address.line2(), None);
        assert_eq!(address.city_line(), "Austin, TX 78701-1234");
        assert_eq!(UsAddress::parse(&input("TX", "787011234")).unwrap().postal_code(), "78701-1234");
    }

    #[test]
    fn reports_every_wrong_field() {
        let errors = UsAddress::parse(&AddressInput { line1: "", line2: "", city: "", state: "Texas", postal_code: "7870" }).unwrap_err();
        assert!(errors.line1.is_some() && errors.city.is_some() && errors.state.is_some() && errors.postal_code.is_some());
        assert!(errors.line2.is_none());
    }

    proptest! {
        #[test]
        fn any_five_digit_zip_is_accepted(zip in "[0-9]{5}", plus in proptest::option::of("[0-9]{4}")) {
            let text = match &plus { Some(p) => format!("{zip}-{p}"), None => zip.clone() };
            prop_assert_eq!(parse_postal_code(&text).unwrap(), text);
        }

        #[test]
        fn parse_never_panics(line in "\\PC{0,120}", state in "\\PC{0,3}", zip in "\\PC{0,12}") {
            let _ = UsAddress::parse(&AddressInput { line1: &line, line2: &line, city: &line, state: &state, postal_code: &zip });
        }
    }
}
