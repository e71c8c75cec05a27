//! Identifiers of the portal's records.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier")]
pub struct IdError;

/// Whether `value` is shaped as every id is: 1 to 64 of `A-Z a-z 0-9 - _`.
pub(crate) fn is_id(value: &str) -> bool {
    !value.is_empty() && value.len() <= 64 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Checks an id taken from a path or a form.
fn check(value: &str) -> Result<(), IdError> {
    if is_id(value) {
        Ok(())
    } else {
        Err(IdError)
    }
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub struct $name(String);

        impl $name {
            pub fn parse(value: &str) -> Result<Self, IdError> {
                check(value)?;
                Ok(Self(value.to_owned()))
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(value: String) -> Result<Self, IdError> {
                check(&value)?;
                Ok(Self(value))
            }
        }

        impl From<$name> for String {
            fn from(value: $name) -> String {
                value.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(/// A household account.
    AccountId);
id_type!(/// A person on a household's membership.
    MemberId);
id_type!(/// One contract term of a membership.
    MembershipId);
id_type!(/// A membership plan offered by the practice.
    PlanId);
id_type!(/// An invoice.
    InvoiceId);
id_type!(/// A payment against an invoice.
    PaymentId);
id_type!(/// A saved payment source (card or bank account).
    SourceId);
id_type!(/// An agreement a member signs.
    AgreementId);

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn refuses_path_tricks() {
        for bad in ["", "../x", "a/b", "a b", "%2e", "<x>", &"a".repeat(65)] {
            assert!(InvoiceId::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(InvoiceId::parse("inv-2026_01").unwrap().as_str(), "inv-2026_01");
    }

    proptest! {
        #[test]
        fn accepted_ids_are_safe_in_keys_and_paths(input in "\\PC{0,70}") {
            if let Ok(id) = MemberId::parse(&input) {
                prop_assert!(!id.as_str().contains('#') && !id.as_str().contains('/'));
                prop_assert_eq!(id.as_str(), input.as_str());
            }
        }
    }
}
