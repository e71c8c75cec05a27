//! The household's activity log: who did what, when, from where. Never the values of secrets.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::{Condition, Key, Random, Write};
use crate::store::{account_pk, record_item};
use crate::{AccountId, MemberId, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub account: AccountId,
    /// Who acted (None for someone not signed in).
    pub actor: Option<MemberId>,
    /// What happened, e.g. "contact.updated".
    pub action: String,
    /// The member or record it concerns.
    pub subject: Option<String>,
    /// Which fields changed (names only, never values).
    pub fields: Vec<String>,
    pub at: DateTime<Utc>,
    pub ip: String,
}

impl AuditEvent {
    pub fn new(
        random: &dyn Random,
        account: &AccountId,
        actor: Option<&MemberId>,
        action: &str,
        at: DateTime<Utc>,
        ip: &str,
    ) -> AuditEvent {
        AuditEvent {
            id: crate::ports::random_token(random, 9),
            account: account.clone(),
            actor: actor.cloned(),
            action: action.to_owned(),
            subject: None,
            fields: Vec::new(),
            at,
            ip: ip.to_owned(),
        }
    }

    pub fn key(&self) -> Key {
        Key::new(account_pk(&self.account), format!("EVENT#{}#{}", self.at.format("%Y-%m-%dT%H:%M:%S%.6fZ"), self.id))
    }

    /// The write that records the event.
    pub fn write(&self) -> Result<Write, StoreError> {
        Ok(Write::Put { item: record_item(&self.key(), "event", self, 1)?, condition: Some(Condition::NotExists) })
    }
}
