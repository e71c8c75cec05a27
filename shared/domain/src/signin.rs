//! Sign-in by one-time code: issuing, rate limiting and checking codes.
//!
//! Codes are the one-time codes of [`crate::otc`]: 6 digits, kept as an HMAC, 10 minutes, single
//! use, 5 wrong tries, one send a minute and five an hour per address and channel, and ten wrong
//! codes a day per typed address before sign-in by typing it pauses for the day. Unknown
//! addresses go through exactly the same steps, except that nothing is mailed.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::otc::{Check, CodeSlot, Issue, Limits};
use crate::ports::{attr, random_below, Condition, Item, Key, Random, Table, Value, Write};
use crate::store::{self, record_item, record_of, version_of};
use crate::{AccountId, Email, Member, MemberId, StoreError};

pub use crate::otc::{CODE_LIFETIME, MAX_SENDS_PER_HOUR, MAX_WRONG_TRIES, MIN_SEND_INTERVAL};

/// The server-side secret that keys every HMAC (config `PORTAL_SECRET`).
#[derive(Clone)]
pub struct HmacKey(SecretSlice<u8>);

impl HmacKey {
    pub fn new(bytes: Vec<u8>) -> HmacKey {
        HmacKey(SecretSlice::from(bytes))
    }

    /// HMAC-SHA256 of the parts (each length-prefixed, so parts cannot run together), in hex.
    pub fn sign(&self, parts: &[&[u8]]) -> String {
        hex::encode(self.mac(parts).finalize().into_bytes())
    }

    /// Checks a hex MAC in constant time.
    pub fn verify(&self, parts: &[&[u8]], mac_hex: &str) -> bool {
        let Ok(given) = hex::decode(mac_hex) else {
            return false;
        };
        self.mac(parts).verify_slice(&given).is_ok()
    }

    fn mac(&self, parts: &[&[u8]]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(self.0.expose_secret()).expect("HMAC takes keys of any length");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }
}

impl std::fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HmacKey([redacted])")
    }
}

/// A 6-digit sign-in code. It does not print itself.
pub struct SigninCode(SecretString);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodeError {
    #[error("Enter the 6-digit code from the email.")]
    Invalid,
}

impl SigninCode {
    pub fn generate(random: &dyn Random) -> SigninCode {
        SigninCode(SecretString::from(format!("{:06}", random_below(random, 1_000_000))))
    }

    /// Accepts the code as typed or pasted, ignoring spaces and dashes.
    pub fn parse(input: &str) -> Result<SigninCode, CodeError> {
        let digits: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
        if digits.len() == 6 && digits.chars().all(|c| c.is_ascii_digit()) {
            Ok(SigninCode(SecretString::from(digits)))
        } else {
            Err(CodeError::Invalid)
        }
    }

    /// The digits, for the email that carries them and nothing else.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for SigninCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigninCode([redacted])")
    }
}

/// Which way a code is asked for: by typing an address, or through the member's own access link.
/// Each has its own record, so codes others ask for by typing an address can neither use up nor
/// replace the codes its member asks for through their link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Typed,
    AccessLink,
}

impl Channel {
    pub fn limits(self) -> &'static Limits {
        match self {
            Channel::Typed => &Limits::TYPED,
            Channel::AccessLink => &Limits::ACCESS_LINK,
        }
    }
}

/// The opaque id of an address's sign-in record for a channel: an HMAC of the address, so the
/// table holds no emails here.
pub fn signin_id(key: &HmacKey, email: &Email, channel: Channel) -> String {
    match channel {
        Channel::Typed => key.sign(&[b"signin-email", email.as_str().as_bytes()]),
        Channel::AccessLink => key.sign(&[b"signin-link", email.as_str().as_bytes()]),
    }
}

fn record_key(signin_id: &str) -> Key {
    crate::keys::signin_key(signin_id)
}

fn code_mac(key: &HmacKey, signin_id: &str, code: &str) -> String {
    key.sign(&[b"signin-code", signin_id.as_bytes(), code.as_bytes()])
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct CodeRecord {
    #[serde(flatten)]
    slot: CodeSlot,
    #[serde(default)]
    access_link: bool,
    account: Option<AccountId>,
    member: Option<MemberId>,
}

impl CodeRecord {
    fn limits(&self) -> &'static Limits {
        if self.access_link {
            Channel::AccessLink.limits()
        } else {
            Channel::Typed.limits()
        }
    }
}

/// What asking for a code led to.
#[derive(Debug)]
pub enum CodeRequest {
    /// A code was issued; `member` is who it is for, `None` for an unknown address (send nothing).
    Issued { code: SigninCode, member: Option<Box<Member>>, signin_id: String },
    /// The last code went out less than a minute ago.
    TooSoon { signin_id: String, retry_after: Duration },
    /// Five codes went out in the last hour.
    TooMany { signin_id: String, retry_after: Duration },
    /// Too many wrong codes were entered for this address in the last day: sign-in by typing it
    /// is paused until `until` (the member's access link still works).
    Locked { signin_id: String, until: DateTime<Utc> },
}

/// The stored record of a sign-in id, with its version (`None` when there is none yet).
async fn read(table: &dyn Table, signin_id: &str) -> Result<(CodeRecord, Option<u64>, Option<Item>), StoreError> {
    Ok(match table.get(&record_key(signin_id)).await? {
        Some(item) => (record_of::<CodeRecord>(&item)?, Some(version_of(&item)), Some(item)),
        None => (CodeRecord::default(), None, None),
    })
}

/// Writes a record back on condition it is unchanged since it was read.
async fn write_back(
    table: &dyn Table,
    signin_id: &str,
    record: &CodeRecord,
    version: Option<u64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut item = record_item(&record_key(signin_id), "signin", record, version.map_or(1, |v| v + 1))?;
    item.insert(attr::EXPIRES_AT.into(), Value::from(record.slot.keep_until(record.limits(), now).timestamp()));
    let condition = match version {
        Some(v) => Condition::Equals(attr::VERSION.into(), Value::from(v)),
        None => Condition::NotExists,
    };
    table.write(Write::Put { item, condition: Some(condition) }).await
}

/// Issues a new code for `email` on `channel`, replacing any earlier one, within the limits.
/// Unknown addresses go through the same steps (nothing is mailed to them).
pub async fn request_code(
    table: &dyn Table,
    key: &HmacKey,
    random: &dyn Random,
    now: DateTime<Utc>,
    email: &Email,
    channel: Channel,
) -> Result<CodeRequest, StoreError> {
    let signin_id = signin_id(key, email, channel);
    let member = store::member_by_email(table, email).await?;
    let (mut record, version, _) = read(table, &signin_id).await?;
    record.access_link = channel == Channel::AccessLink;
    let issued = record.slot.issue(channel.limits(), now, random, |code| code_mac(key, &signin_id, code));
    let code = match issued {
        Issue::Issued(code) => code,
        Issue::TooSoon { retry_after } => return Ok(CodeRequest::TooSoon { signin_id, retry_after }),
        Issue::TooMany { retry_after } => return Ok(CodeRequest::TooMany { signin_id, retry_after }),
        Issue::Locked { until } => return Ok(CodeRequest::Locked { signin_id, until }),
    };
    record.account = member.as_ref().map(|m| m.account.clone());
    record.member = member.as_ref().map(|m| m.id.clone());
    match write_back(table, &signin_id, &record, version, now).await {
        Ok(()) => Ok(CodeRequest::Issued { code, member: member.map(Box::new), signin_id }),
        // Another request for the same address won the race: that one counts as this minute's send.
        Err(StoreError::ConditionFailed) => Ok(CodeRequest::TooSoon { signin_id, retry_after: MIN_SEND_INTERVAL }),
        Err(e) => Err(e),
    }
}

/// What entering a code led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeCheck {
    SignedIn {
        account: AccountId,
        member: MemberId,
    },
    Wrong {
        tries_left: u32,
        /// Whose code it was (None for an address no member has), for the household's activity.
        holder: Option<(AccountId, MemberId)>,
    },
    /// No live code: expired, used, or never issued.
    Expired,
    /// The fifth wrong try ended the code (`just_now` on that try; later tries only hear so).
    TooManyTries {
        holder: Option<(AccountId, MemberId)>,
        just_now: bool,
    },
    /// The address's failure budget is spent (`just_now` on the try that spent it: the member is
    /// told once).
    Locked {
        holder: Option<(AccountId, MemberId)>,
        until: DateTime<Utc>,
        just_now: bool,
    },
}

/// Checks a code for the sign-in record `signin_id`; a right code is used up, a wrong one counted.
/// The outcome stands only once it is recorded: a try at the same moment as another is answered
/// as expired.
pub async fn check_code(
    table: &dyn Table,
    key: &HmacKey,
    now: DateTime<Utc>,
    signin_id: &str,
    code: &SigninCode,
) -> Result<CodeCheck, StoreError> {
    let (mut record, Some(version), Some(_)) = read(table, signin_id).await? else {
        return Ok(CodeCheck::Expired);
    };
    let holder = record.account.clone().zip(record.member.clone());
    let limits = record.limits();
    let before = record.slot.clone();
    let checked = record.slot.check(limits, now, &code_mac(key, signin_id, code.expose()), holder.is_some());
    let outcome = match checked {
        Check::Right => match &holder {
            Some((account, member)) => CodeCheck::SignedIn { account: account.clone(), member: member.clone() },
            None => CodeCheck::Expired,
        },
        Check::Wrong { tries_left } => CodeCheck::Wrong { tries_left, holder },
        Check::Expired => CodeCheck::Expired,
        Check::TooManyTries { just_now } => CodeCheck::TooManyTries { holder, just_now },
        Check::Locked { until, just_now } => CodeCheck::Locked { holder, until, just_now },
    };
    if record.slot == before {
        return Ok(outcome);
    }
    match write_back(table, signin_id, &record, Some(version), now).await {
        Ok(()) => Ok(outcome),
        // Someone else used or tried the code at the same moment: a code works once.
        Err(StoreError::ConditionFailed) => Ok(CodeCheck::Expired),
        Err(e) => Err(e),
    }
}

/// Takes back a send that never reached the member (the mail service failed), so the code is
/// dead and they may ask again at once instead of waiting out the limits.
pub async fn cancel_send(table: &dyn Table, signin_id: &str, sent_at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), StoreError> {
    let (mut record, Some(version), Some(_)) = read(table, signin_id).await? else { return Ok(()) };
    record.slot.cancel(sent_at);
    match write_back(table, signin_id, &record, Some(version), now).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Ends every code sent to `email` (its address changed or was removed): a code in flight to the
/// old address can no longer sign anyone in. The failure budget is kept.
pub async fn void_codes(table: &dyn Table, key: &HmacKey, email: &Email, now: DateTime<Utc>) -> Result<(), StoreError> {
    for channel in [Channel::Typed, Channel::AccessLink] {
        let signin_id = signin_id(key, email, channel);
        let (mut record, Some(version), Some(_)) = read(table, &signin_id).await? else { continue };
        record.slot.used();
        record.account = None;
        record.member = None;
        match write_back(table, &signin_id, &record, Some(version), now).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
