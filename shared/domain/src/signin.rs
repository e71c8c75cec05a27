//! Sign-in by one-time code: issuing, rate limiting and checking codes.
//!
//! A code is 6 digits from a CSPRNG, stored only as an HMAC, valid for 10 minutes, single use,
//! and dies after 5 wrong tries. At most one code is sent a minute and five an hour per address.
//! Unknown addresses go through exactly the same steps, except that nothing is mailed.

use chrono::{DateTime, Duration, Utc};
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice, SecretString};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::ports::{attr, random_below, Condition, Key, Random, Table, Value, Write};
use crate::store::{self, record_item, record_of, version_of};
use crate::{AccountId, Email, Member, MemberId, StoreError};

pub const CODE_LIFETIME: Duration = Duration::minutes(10);
pub const MAX_WRONG_TRIES: u32 = 5;
pub const MIN_SEND_INTERVAL: Duration = Duration::minutes(1);
pub const MAX_SENDS_PER_HOUR: usize = 5;

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

/// The opaque id of an address's sign-in record: HMAC of the address, so the table holds no emails here.
pub fn signin_id(key: &HmacKey, email: &Email) -> String {
    key.sign(&[b"signin-email", email.as_str().as_bytes()])
}

fn record_key(signin_id: &str) -> Key {
    Key::new(format!("SIGNIN#{signin_id}"), "CODE")
}

fn code_mac(key: &HmacKey, signin_id: &str, code: &str) -> String {
    key.sign(&[b"signin-code", signin_id.as_bytes(), code.as_bytes()])
}

#[derive(Debug, Clone, Serialize, Deserialize, Default)]
struct CodeRecord {
    /// HMAC of the current code; empty once used or replaced by nothing.
    code_mac: String,
    code_expires: Option<DateTime<Utc>>,
    wrong_tries: u32,
    /// When codes were sent in the last hour.
    sends: Vec<DateTime<Utc>>,
    account: Option<AccountId>,
    member: Option<MemberId>,
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
}

/// Issues a new code for `email`, replacing any earlier one, within the send limits.
pub async fn request_code(
    table: &dyn Table,
    key: &HmacKey,
    random: &dyn Random,
    now: DateTime<Utc>,
    email: &Email,
) -> Result<CodeRequest, StoreError> {
    let signin_id = signin_id(key, email);
    let member = store::member_by_email(table, email).await?;
    let rkey = record_key(&signin_id);
    let existing = table.get(&rkey).await?;
    let (mut record, version) = match &existing {
        Some(item) => (record_of::<CodeRecord>(item)?, Some(version_of(item))),
        None => (CodeRecord::default(), None),
    };
    record.sends.retain(|t| now - *t < Duration::hours(1));
    if let Some(last) = record.sends.iter().max() {
        if now - *last < MIN_SEND_INTERVAL {
            return Ok(CodeRequest::TooSoon { signin_id, retry_after: MIN_SEND_INTERVAL - (now - *last) });
        }
    }
    if record.sends.len() >= MAX_SENDS_PER_HOUR {
        let oldest = record.sends.iter().min().copied().unwrap_or(now);
        return Ok(CodeRequest::TooMany { signin_id, retry_after: Duration::hours(1) - (now - oldest) });
    }
    let code = SigninCode::generate(random);
    record.code_mac = code_mac(key, &signin_id, code.expose());
    record.code_expires = Some(now + CODE_LIFETIME);
    record.wrong_tries = 0;
    record.sends.push(now);
    record.account = member.as_ref().map(|m| m.account.clone());
    record.member = member.as_ref().map(|m| m.id.clone());
    let next_version = version.map_or(1, |v| v + 1);
    let mut item = record_item(&rkey, "signin", &record, next_version)?;
    // Kept an hour past the last send, so the hourly limit outlives the code.
    item.insert(attr::EXPIRES_AT.into(), Value::from((now + Duration::hours(1)).timestamp()));
    let condition = match version {
        Some(v) => Condition::Equals(attr::VERSION.into(), Value::from(v)),
        None => Condition::NotExists,
    };
    match table.write(Write::Put { item, condition: Some(condition) }).await {
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
}

/// Checks a code for the sign-in record `signin_id`; a right code is used up, a wrong one counted.
pub async fn check_code(
    table: &dyn Table,
    key: &HmacKey,
    now: DateTime<Utc>,
    signin_id: &str,
    code: &SigninCode,
) -> Result<CodeCheck, StoreError> {
    let rkey = record_key(signin_id);
    let Some(item) = table.get(&rkey).await? else {
        return Ok(CodeCheck::Expired);
    };
    let version = version_of(&item);
    let mut record: CodeRecord = record_of(&item)?;
    let holder = record.account.clone().zip(record.member.clone());
    if record.wrong_tries >= MAX_WRONG_TRIES {
        return Ok(CodeCheck::TooManyTries { holder, just_now: false });
    }
    if record.code_mac.is_empty() || record.code_expires.is_none_or(|t| now >= t) {
        return Ok(CodeCheck::Expired);
    }
    let given = code_mac(key, signin_id, code.expose());
    let matches: bool = given.as_bytes().ct_eq(record.code_mac.as_bytes()).into();
    let outcome = match (matches, &record.account, &record.member) {
        (true, Some(account), Some(member)) => {
            record.code_mac.clear();
            record.code_expires = None;
            CodeCheck::SignedIn { account: account.clone(), member: member.clone() }
        }
        _ => {
            record.wrong_tries += 1;
            if record.wrong_tries >= MAX_WRONG_TRIES {
                record.code_mac.clear();
                CodeCheck::TooManyTries { holder, just_now: true }
            } else {
                CodeCheck::Wrong { tries_left: MAX_WRONG_TRIES - record.wrong_tries, holder }
            }
        }
    };
    let mut updated = record_item(&rkey, "signin", &record, version + 1)?;
    if let Some(expires) = item.get(attr::EXPIRES_AT) {
        updated.insert(attr::EXPIRES_AT.into(), expires.clone());
    }
    let condition = Condition::Equals(attr::VERSION.into(), Value::from(version));
    match table.write(Write::Put { item: updated, condition: Some(condition) }).await {
        Ok(()) => Ok(outcome),
        // Someone else used or tried the code at the same moment: a code works once.
        Err(StoreError::ConditionFailed) => Ok(CodeCheck::Expired),
        Err(e) => Err(e),
    }
}

/// Takes back a send that never reached the member (the mail service failed), so the code is
/// dead and they may ask again at once instead of waiting out the limits.
pub async fn cancel_send(table: &dyn Table, signin_id: &str, sent_at: DateTime<Utc>) -> Result<(), StoreError> {
    let rkey = record_key(signin_id);
    let Some(item) = table.get(&rkey).await? else { return Ok(()) };
    let version = version_of(&item);
    let mut record: CodeRecord = record_of(&item)?;
    record.sends.retain(|t| *t != sent_at);
    record.code_mac.clear();
    record.code_expires = None;
    let mut updated = record_item(&rkey, "signin", &record, version + 1)?;
    if let Some(expires) = item.get(attr::EXPIRES_AT) {
        updated.insert(attr::EXPIRES_AT.into(), expires.clone());
    }
    let condition = Condition::Equals(attr::VERSION.into(), Value::from(version));
    match table.write(Write::Put { item: updated, condition: Some(condition) }).await {
        Ok(()) | Err(StoreError::ConditionFailed) => Ok(()),
        Err(e) => Err(e),
    }
}
