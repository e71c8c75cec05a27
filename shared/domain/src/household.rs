//! Households and the people on them.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::{AccountId, DateOfBirth, Email, MemberId, PhoneNumber, UsAddress};

/// A household account: who pays and who owns the membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Household {
    pub id: AccountId,
    /// The display name, e.g. "Lopez household".
    pub name: String,
    pub owner: MemberId,
    pub billing_address: Option<UsAddress>,
    /// The household's customer at the payment processor (a Stripe `cus_…` id), which its saved
    /// sources belong to; none until the household first saves a source (or the import brings
    /// one). Stored as its own attribute of the household's item (`store::PROCESSOR_CUSTOMER`),
    /// so it is set without rewriting the record.
    #[serde(skip)]
    pub processor_customer: Option<String>,
    /// Adult members the owner shares the household's billing with (invoices, statements,
    /// paying, payment methods), by the owner's choice in the portal: see `access`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billing_shared_with: Vec<MemberId>,
    #[serde(default)]
    pub version: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Female,
    Male,
    Other,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relationship {
    #[serde(rename = "self")]
    Owner,
    Spouse,
    Child,
    Other,
}

impl Relationship {
    pub fn label(self) -> &'static str {
        match self {
            Relationship::Owner => "Account owner",
            Relationship::Spouse => "Spouse",
            Relationship::Child => "Child",
            Relationship::Other => "Other dependent",
        }
    }
}

/// The ways to reach a member.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Phones {
    pub mobile: Option<PhoneNumber>,
    pub home: Option<PhoneNumber>,
    pub work: Option<PhoneNumber>,
}

/// A person on a household's membership.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub account: AccountId,
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: DateOfBirth,
    pub sex: Sex,
    pub relationship: Relationship,
    pub email: Option<Email>,
    #[serde(default)]
    pub phones: Phones,
    pub address: Option<UsAddress>,
    #[serde(default)]
    pub version: u64,
}

impl Member {
    pub fn full_name(&self) -> String {
        format!("{} {}", self.first_name, self.last_name)
    }

    pub fn age_on(&self, date: NaiveDate) -> u32 {
        self.date_of_birth.age_on(date)
    }
}
