//! Signed-in sessions and login-less access links.
//!
//! A session token is 256 random bits, held by the browser and stored only as its SHA-256.
//! Sessions end after 30 idle minutes or 8 hours, whichever comes first.

use chrono::{DateTime, Duration, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ports::{attr, random_token, Condition, Key, Random, Table, Update, Value, Write};
use crate::store::{record_item, record_of, version_of, DATA};
use crate::{AccountId, Email, MemberId, StoreError};

pub const IDLE_TIMEOUT: Duration = Duration::minutes(30);
pub const ABSOLUTE_TIMEOUT: Duration = Duration::hours(8);
/// How stale `last_seen` may get before a request refreshes it; saves a write on most pages.
pub const TOUCH_AFTER: Duration = Duration::minutes(5);

/// A bearer token (session or access link). It does not print itself.
pub struct Token(SecretString);

impl Token {
    /// 32 random bytes, URL-safe base64.
    pub fn generate(random: &dyn Random) -> Token {
        Token(SecretString::from(random_token(random, 32)))
    }

    /// A token as the browser or a link presents it; anything not shaped like one is refused.
    pub fn parse(input: &str) -> Option<Token> {
        let ok = (32..=64).contains(&input.len()) && input.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        ok.then(|| Token(SecretString::from(input.to_owned())))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// SHA-256 of the token in hex: the only form that is stored.
    pub fn digest(&self) -> String {
        hex::encode(Sha256::digest(self.expose().as_bytes()))
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token([redacted])")
    }
}

/// Who is signed in, and the CSRF token their forms carry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub account: AccountId,
    pub member: MemberId,
    pub is_owner: bool,
    /// The owner, or an adult the owner shares billing with (`access`); a change to the sharing
    /// ends the member's sessions, so a session never carries a role it no longer has.
    #[serde(default)]
    pub handles_billing: bool,
    /// The member's name as the page header shows it.
    pub display_name: String,
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    /// The approximate device it was started on ("Firefox on Windows") and from which address.
    #[serde(default)]
    pub device: String,
    #[serde(default)]
    pub ip: String,
}

impl Session {
    /// When the session ends if nothing else happens.
    pub fn expires_at(&self) -> DateTime<Utc> {
        (self.last_seen + IDLE_TIMEOUT).min(self.created_at + ABSOLUTE_TIMEOUT)
    }

    pub fn is_live(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at()
    }
}

/// Who a new session is for.
pub struct SessionFor {
    pub account: AccountId,
    pub member: MemberId,
    pub is_owner: bool,
    pub handles_billing: bool,
    pub display_name: String,
    pub device: String,
    pub ip: String,
}

fn session_key(token: &Token) -> Key {
    crate::keys::session_key(&token.digest())
}

/// Starts a session for a member who just proved their address.
pub async fn start(table: &dyn Table, random: &dyn Random, now: DateTime<Utc>, who: SessionFor) -> Result<(Token, Session), StoreError> {
    let token = Token::generate(random);
    let session = Session {
        account: who.account,
        member: who.member,
        is_owner: who.is_owner,
        handles_billing: who.handles_billing,
        display_name: who.display_name,
        csrf_token: random_token(random, 32),
        created_at: now,
        last_seen: now,
        device: who.device,
        ip: who.ip,
    };
    let mut item = record_item(&session_key(&token), "session", &session, 1)?;
    item.insert(attr::EXPIRES_AT.into(), Value::from(session.expires_at().timestamp()));
    // Indexed by member, so "Signed-in devices" can list them and end the others.
    item.insert(attr::GSI1PK.into(), Value::S(member_sessions_pk(&session.account, &session.member)));
    item.insert(attr::GSI1SK.into(), Value::S(crate::keys::member_sessions_sk(session.created_at)));
    table.write(Write::Put { item, condition: Some(Condition::NotExists) }).await?;
    Ok((token, session))
}

/// The live session for a token, refreshing its idle timer now and then.
pub async fn load(table: &dyn Table, now: DateTime<Utc>, token: &Token) -> Result<Option<Session>, StoreError> {
    let key = session_key(token);
    let Some(item) = table.get(&key).await? else {
        return Ok(None);
    };
    let mut session: Session = record_of(&item)?;
    if !session.is_live(now) {
        return Ok(None);
    }
    if now - session.last_seen >= TOUCH_AFTER {
        let version = version_of(&item);
        session.last_seen = now;
        let data = serde_json::to_string(&session).map_err(|e| StoreError::Malformed(e.to_string()))?;
        let update =
            Update::default().set(DATA, data).set(attr::EXPIRES_AT, session.expires_at().timestamp()).set(attr::VERSION, version + 1);
        let condition = Some(Condition::Equals(attr::VERSION.into(), Value::from(version)));
        match table.write(Write::Update { key, update, condition }).await {
            // A parallel request refreshed it first, which is just as good.
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Some(session))
}

use crate::keys::member_sessions_pk;

/// One of a member's live sessions, as "Signed-in devices" lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub session: Session,
    /// Whether it is the browser asking.
    pub current: bool,
    key: Key,
}

/// The member's live sessions, newest first.
pub async fn devices(
    table: &dyn Table,
    now: DateTime<Utc>,
    current: &Token,
    account: &AccountId,
    member: &MemberId,
) -> Result<Vec<Device>, StoreError> {
    let current_key = session_key(current);
    let mut devices = Vec::new();
    for item in table.query_index(&member_sessions_pk(account, member)).await? {
        let Some(key) = Key::of(&item) else { continue };
        let session: Session = record_of(&item)?;
        if session.is_live(now) && session.account == *account && session.member == *member {
            devices.push(Device { current: key == current_key, session, key });
        }
    }
    devices.reverse();
    Ok(devices)
}

/// Ends every session of the member but `current`; returns how many ended.
pub async fn end_others(
    table: &dyn Table,
    now: DateTime<Utc>,
    current: &Token,
    account: &AccountId,
    member: &MemberId,
) -> Result<usize, StoreError> {
    let mut ended = 0;
    for device in devices(table, now, current, account, member).await?.into_iter().filter(|d| !d.current) {
        table.write(Write::Delete { key: device.key, condition: None }).await?;
        ended += 1;
    }
    Ok(ended)
}

/// Ends every session of the member but `keep` (all of them without it): what changing or removing
/// their sign-in address does, so a session started with the old address does not outlive it.
/// Returns how many ended.
pub async fn end_member_sessions(
    table: &dyn Table,
    account: &AccountId,
    member: &MemberId,
    keep: Option<&Token>,
) -> Result<usize, StoreError> {
    let keep = keep.map(session_key);
    let mut ended = 0;
    for item in table.query_index(&member_sessions_pk(account, member)).await? {
        let Some(key) = Key::of(&item) else { continue };
        if Some(&key) != keep.as_ref() {
            table.write(Write::Delete { key, condition: None }).await?;
            ended += 1;
        }
    }
    Ok(ended)
}

/// Ends a session; the token is dead from now on.
pub async fn end(table: &dyn Table, token: &Token) -> Result<(), StoreError> {
    table.write(Write::Delete { key: session_key(token), condition: None }).await
}

/// A login-less link a practice sends a member: it names who may ask for a code, nothing more.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessLink {
    pub account: AccountId,
    pub member: MemberId,
    pub email: Email,
    pub expires: DateTime<Utc>,
    /// For a link in a reminder: the page it lands on after the code (a path of the route table).
    /// The link's URL repeats it as `?to=`; a URL whose `to` differs lands on the overview.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing: Option<String>,
}

fn access_key(token: &Token) -> Key {
    crate::keys::access_key(&token.digest())
}

/// Mints an access link valid for `days`; returns the token for the URL.
pub async fn mint_access_link(
    table: &dyn Table,
    random: &dyn Random,
    now: DateTime<Utc>,
    account: AccountId,
    member: MemberId,
    email: Email,
    days: i64,
) -> Result<Token, StoreError> {
    mint_link(table, random, AccessLink { account, member, email, expires: now + Duration::days(days), landing: None }).await
}

/// Mints `link` (a reminder's names its `landing`: it signs in only with a code sent to its
/// address, then lands on that page); returns the token for the URL.
pub async fn mint_link(table: &dyn Table, random: &dyn Random, link: AccessLink) -> Result<Token, StoreError> {
    let token = Token::generate(random);
    let mut item = record_item(&access_key(&token), "access", &link, 1)?;
    item.insert(attr::EXPIRES_AT.into(), Value::from(link.expires.timestamp()));
    table.write(Write::Put { item, condition: Some(Condition::NotExists) }).await?;
    Ok(token)
}

/// The live access link for a token.
pub async fn access_link(table: &dyn Table, now: DateTime<Utc>, token: &Token) -> Result<Option<AccessLink>, StoreError> {
    let Some(item) = table.get(&access_key(token)).await? else {
        return Ok(None);
    };
    let link: AccessLink = record_of(&item)?;
    Ok((now < link.expires).then_some(link))
}
