//! Agreements members sign, and the durable record of a signature.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{AccountId, AgreementId, MemberId};

/// Who signed, when, from where, and exactly what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub signer_name: String,
    pub signed_by: MemberId,
    pub at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
    /// SHA-256 of the body that was shown and signed, in hex.
    pub body_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: AgreementId,
    pub account: AccountId,
    /// The member the agreement is for.
    pub member: MemberId,
    pub title: String,
    pub version: String,
    /// The document, as Markdown.
    pub body: String,
    pub required: bool,
    pub signature: Option<Signature>,
}

impl Agreement {
    /// SHA-256 of the body, in hex.
    pub fn body_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.body.as_bytes()))
    }

    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }
}
