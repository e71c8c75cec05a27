//! Email preferences: each member may turn reminders off (receipts, security notices and codes
//! always go). Every reminder carries a one-click unsubscribe (RFC 8058) whose token names the
//! household and member and is signed with the portal's key, so it works without signing in and
//! changes only that member's reminders.

use serde::{Deserialize, Serialize};

use crate::ports::Write;
use crate::signin::HmacKey;
use crate::store::record_item;
use crate::{AccountId, MemberId, StoreError};

/// One member's choices.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Preferences {
    pub member: MemberId,
    /// Reminders (new invoices, due dates, cards, agreements): on unless turned off.
    pub reminders: bool,
}

/// The write that records `member`'s choice (the latest choice wins; nothing else depends on it).
pub fn set_reminders(account: &AccountId, member: &MemberId, on: bool) -> Result<Write, StoreError> {
    let prefs = Preferences { member: member.clone(), reminders: on };
    Ok(Write::Put { item: record_item(&crate::keys::preferences_key(account, member), "preferences", &prefs, 1)?, condition: None })
}

/// The unsubscribe token of a member's reminders: `{household}.{member}.{mac}`.
pub fn unsubscribe_token(key: &HmacKey, account: &AccountId, member: &MemberId) -> String {
    let mac = key.sign(&[b"unsubscribe", account.as_str().as_bytes(), member.as_str().as_bytes()]);
    format!("{account}.{member}.{mac}")
}

/// Whose reminders a token turns off, if it is one the portal signed.
pub fn read_unsubscribe_token(key: &HmacKey, token: &str) -> Option<(AccountId, MemberId)> {
    let mut parts = token.splitn(3, '.');
    let (account, member, mac) = (parts.next()?, parts.next()?, parts.next()?);
    let (account, member) = (AccountId::parse(account).ok()?, MemberId::parse(member).ok()?);
    key.verify(&[b"unsubscribe", account.as_str().as_bytes(), member.as_str().as_bytes()], mac).then_some((account, member))
}

/// Whether a token has the shape [`unsubscribe_token`] gives (checked before any lookup).
pub fn is_token_shaped(token: &str) -> bool {
    (5..=300).contains(&token.len())
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && token.matches('.').count() == 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_names_one_member_and_cannot_be_altered() {
        let key = HmacKey::new(b"a key of thirty-two bytes or more!!".to_vec());
        let (account, member) = (AccountId::parse("lopez").unwrap(), MemberId::parse("maria").unwrap());
        let token = unsubscribe_token(&key, &account, &member);
        assert!(is_token_shaped(&token));
        assert_eq!(read_unsubscribe_token(&key, &token), Some((account.clone(), member.clone())));
        let other = token.replacen("maria", "daniel", 1);
        assert_eq!(read_unsubscribe_token(&key, &other), None, "another member's name with this signature");
        let other_key = HmacKey::new(b"another key of thirty-two bytes!!!".to_vec());
        assert_eq!(read_unsubscribe_token(&other_key, &token), None);
        assert_eq!(read_unsubscribe_token(&key, "lopez.maria"), None);
    }
}
