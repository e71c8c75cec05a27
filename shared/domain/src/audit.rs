//! The household's activity log: who did what, when, from where. Never the values of secrets.
//!
//! Events live in their own partition (`AUDIT#{account}`), apart from the household's records, so
//! the pages that read the household do not read its history too. Sign-in attempts for an address
//! no member has are written to a partition of their own that expires, so entering a code costs the
//! same table work whether or not the address is known.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::ports::{attr, Condition, Key, Random, Table, Value, Write};
use crate::store::{record_item, record_of};
use crate::{AccountId, MemberId, StoreError};

/// How long attempts at unknown addresses are kept.
const UNKNOWN_KEPT: Duration = Duration::days(30);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub id: String,
    pub account: AccountId,
    /// Who acted (None for someone not signed in).
    pub actor: Option<MemberId>,
    /// Their name as it was when they acted, so the activity page needs no other read.
    #[serde(default)]
    pub actor_name: Option<String>,
    /// What happened, e.g. "contact.updated".
    pub action: String,
    /// The member or record it concerns.
    pub subject: Option<String>,
    /// Which fields changed (names only, never values).
    pub fields: Vec<String>,
    /// A summary a patient recognises, with nothing secret in it: "INV-1008 · $80.00 · Visa •••• 4242".
    #[serde(default)]
    pub detail: Option<String>,
    pub at: DateTime<Utc>,
    pub ip: String,
    /// The approximate device, from the browser's user agent ("Firefox on Windows").
    #[serde(default)]
    pub device: String,
}

pub use crate::keys::audit_pk;

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
            actor_name: None,
            action: action.to_owned(),
            subject: None,
            fields: Vec::new(),
            detail: None,
            at,
            ip: ip.to_owned(),
            device: String::new(),
        }
    }

    pub fn actor_name(mut self, name: impl Into<String>) -> AuditEvent {
        self.actor_name = Some(name.into());
        self
    }

    pub fn subject(mut self, subject: impl Into<String>) -> AuditEvent {
        self.subject = Some(subject.into());
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> AuditEvent {
        self.detail = Some(detail.into());
        self
    }

    pub fn device(mut self, device: impl Into<String>) -> AuditEvent {
        self.device = device.into();
        self
    }

    fn sk(&self) -> String {
        crate::keys::audit_sk(self.at, self.id.as_str())
    }

    pub fn key(&self) -> Key {
        Key::new(audit_pk(&self.account), self.sk())
    }

    /// The write that records the event.
    pub fn write(&self) -> Result<Write, StoreError> {
        Ok(Write::Put { item: record_item(&self.key(), "event", self, 1)?, condition: Some(Condition::NotExists) })
    }

    /// The same write for an attempt no household can be told of (an address no member has):
    /// kept apart, and only for a while.
    pub fn write_unattributed(&self) -> Result<Write, StoreError> {
        let mut item = record_item(&Key::new(crate::keys::AUDIT_UNKNOWN_PK, self.sk()), "event", self, 1)?;
        item.insert(attr::EXPIRES_AT.into(), Value::from((self.at + UNKNOWN_KEPT).timestamp()));
        Ok(Write::Put { item, condition: Some(Condition::NotExists) })
    }
}

/// The household's events, newest first (every one: for tools and tests; pages read [`newest`]).
pub async fn list(table: &dyn Table, account: &AccountId) -> Result<Vec<AuditEvent>, StoreError> {
    let items = table.query(&audit_pk(account), crate::keys::EVENT).await?;
    let mut events = items.iter().map(|i| record_of::<AuditEvent>(i)).collect::<Result<Vec<_>, _>>()?;
    events.reverse();
    Ok(events)
}

/// At most `limit` of the household's events, newest first, all older than the event `before`
/// names (from the newest when `None`), each with the cursor of its place in the log (taken from
/// its stored key): one page of years of history in one request.
pub async fn newest(
    table: &dyn Table,
    account: &AccountId,
    before: Option<&Cursor>,
    limit: usize,
) -> Result<Vec<(Cursor, AuditEvent)>, StoreError> {
    let before = before.map(|c| c.0.as_str()).unwrap_or("");
    let items = table.query_newest(&audit_pk(account), crate::keys::EVENT, before, limit).await?;
    items
        .iter()
        .map(|i| {
            let sk = i.get(attr::SK).and_then(Value::as_str).unwrap_or_default();
            Ok((Cursor(sk.to_owned()), record_of::<AuditEvent>(i)?))
        })
        .collect()
}

/// Where a page of the activity log continues: an event's place in the log, as a link carries it
/// (`{time}~{id}`, with nothing in it a URL must escape).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// From a link's text; `None` unless it names a place as [`Cursor::text`] writes it.
    pub fn parse(text: &str) -> Option<Cursor> {
        let (time, id) = text.split_once('~')?;
        let shaped = time.len() == 27 && crate::store::time_at(time).is_some() && crate::ids::is_id(id);
        shaped.then(|| Cursor(format!("{}{time}#{id}", crate::keys::EVENT)))
    }

    /// As a link carries it.
    pub fn text(&self) -> String {
        self.0.trim_start_matches(crate::keys::EVENT).replacen('#', "~", 1)
    }
}

/// "Chrome on Windows": the browser and system a user agent names, roughly, for patients to
/// recognise their own devices. Nothing more of the user agent is kept.
pub fn device_of(user_agent: &str) -> String {
    let ua = user_agent.to_ascii_lowercase();
    let system = [
        ("iphone", "iPhone"),
        ("ipad", "iPad"),
        ("android", "Android"),
        ("windows", "Windows"),
        ("mac os x", "macOS"),
        ("macintosh", "macOS"),
        ("cros", "ChromeOS"),
        ("linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let browser =
        [("edg/", "Edge"), ("opr/", "Opera"), ("firefox/", "Firefox"), ("chrome/", "Chrome"), ("crios/", "Chrome"), ("safari/", "Safari")]
            .iter()
            .find(|(needle, _)| ua.contains(needle))
            .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        (None, None) => "An unrecognised browser".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_named_roughly() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "Chrome on Windows"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "Safari on iPhone"),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0", "Firefox on Linux"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", "Edge on macOS"),
            ("curl/8.0", "An unrecognised browser"),
            ("", "An unrecognised browser"),
        ];
        for (ua, want) in cases {
            assert_eq!(device_of(ua), want, "{ua}");
        }
    }
}
