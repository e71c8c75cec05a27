//! Email addresses: the sign-in identity of a member.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A syntactically valid email address, trimmed and lower-cased so one mailbox has one form.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter your email address.")]
    Empty,
    #[error("Enter an email address like name@example.com.")]
    Invalid,
    #[error("That email address is too long.")]
    TooLong,
}

impl Email {
    pub fn parse(input: &str) -> Result<Email, EmailError> {
        let value = input.trim().to_lowercase();
        if value.is_empty() {
            return Err(EmailError::Empty);
        }
        if value.len() > 254 {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = value.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let labels: Vec<&str> = domain.split('.').collect();
        let domain_ok = labels.len() >= 2
            && labels.iter().all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && !l.starts_with('-')
                    && !l.ends_with('-')
                    && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            })
            && labels.last().is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()));
        if local_ok && domain_ok {
            Ok(Email(value))
        } else {
            Err(EmailError::Invalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as shown to someone who has not proven they own it: `m•••@example.com`.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first = local.chars().next().unwrap_or('•');
        format!("{first}•••@{domain}")
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for Email {
    type Error = EmailError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Email::parse(&value)
    }
}

impl From<Email> for String {
    fn from(value: Email) -> Self {
        value.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn normalizes_case_and_space() {
        assert_eq!(Email::parse("  Maria@Example.COM ").unwrap().as_str(), "maria@example.com");
        assert!(Email::parse("first.last+tag@mail.example.org").is_ok());
    }

    #[test]
    fn refuses_malformed_addresses() {
        for bad in [
            "",
            "maria",
            "maria@",
            "@example.com",
            "maria@example",
            "ma ria@example.com",
            "a..b@example.com",
            "maria@-x.com",
            "maria@example.c0m",
            "<script>@x.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} should be refused");
        }
        assert_eq!(Email::parse(""), Err(EmailError::Empty));
        assert_eq!(Email::parse(&format!("{}@example.com", "a".repeat(250))), Err(EmailError::TooLong));
    }

    #[test]
    fn masks_all_but_the_first_letter() {
        assert_eq!(Email::parse("maria@example.com").unwrap().masked(), "m•••@example.com");
    }

    proptest! {
        #[test]
        fn valid_addresses_round_trip(local in "[a-z0-9]{1,20}(\\.[a-z0-9]{1,8})?", domain in "[a-z0-9]{1,20}\\.[a-z]{2,6}") {
            let text = format!("{local}@{domain}");
            let email = Email::parse(&text.to_uppercase()).unwrap();
            prop_assert_eq!(email.as_str(), text.as_str());
            prop_assert_eq!(Email::parse(email.as_str()).unwrap(), email);
        }

        #[test]
        fn parse_never_panics_and_accepts_no_spaces(input in "\\PC{0,80}") {
            if let Ok(email) = Email::parse(&input) {
                prop_assert!(!email.as_str().contains(char::is_whitespace));
                prop_assert!(email.as_str().contains('@'));
            }
        }
    }
}
