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
}
