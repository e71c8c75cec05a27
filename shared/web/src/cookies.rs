//! Cookies: the session cookie and the signed pre-session cookie that carries sign-in state.

use base64::Engine;
use portal_domain::signin::HmacKey;
use serde::{Deserialize, Serialize};

/// Cookie names over https use the `__Host-` prefix: secure, host-only, path `/`.
pub fn session_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-portal_session"
    } else {
        "portal_session"
    }
}

pub fn pre_cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-portal_pre"
    } else {
        "portal_pre"
    }
}

/// How long a pre-session (an unsigned-in visitor's CSRF and sign-in progress) lasts.
pub const PRE_SESSION_SECONDS: i64 = 2 * 60 * 60;
pub const SESSION_COOKIE_SECONDS: i64 = 8 * 60 * 60;

/// A `Set-Cookie` value with the portal's attributes.
pub fn set_cookie(name: &str, value: &str, max_age: i64, https: bool) -> String {
    let secure = if https { "; Secure" } else { "" };
    format!("{name}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

/// Every `name=value` pair of the request's `Cookie` headers.
pub fn parse_cookie_header<'a>(headers: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    headers
        .flat_map(|h| h.split(';'))
        .filter_map(|pair| {
            let (name, value) = pair.trim().split_once('=')?;
            Some((name.trim().to_owned(), value.trim().trim_matches('"').to_owned()))
        })
        .collect()
}

/// The state of a visitor who has not signed in: their CSRF nonce and, once they asked for a
/// code, which sign-in record it is and the masked address to show.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreSession {
    pub nonce: String,
    pub signin_id: Option<String>,
    pub masked_email: Option<String>,
    pub issued: i64,
    /// The page a reminder's link lands on once the code is entered (checked against the link).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub landing: Option<String>,
}

impl PreSession {
    /// The cookie value: base64url(JSON) "." HMAC.
    pub fn encode(&self, key: &HmacKey) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(json);
        let mac = key.sign(&[b"pre-session", payload.as_bytes()]);
        format!("{payload}.{mac}")
    }

    /// Whether a value has the shape `encode` gives (base64url payload "." hex MAC), whatever its MAC.
    pub fn well_formed(value: &str) -> bool {
        value.split_once('.').is_some_and(|(payload, mac)| {
            (1..=2048).contains(&payload.len())
                && payload.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
                && !mac.is_empty()
                && mac.len() <= 128
                && mac.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    }

    /// The pre-session in a cookie value, if its MAC is ours and it has not expired.
    pub fn decode(value: &str, key: &HmacKey, now: i64) -> Option<PreSession> {
        let (payload, mac) = value.split_once('.')?;
        if payload.len() > 2048 || !key.verify(&[b"pre-session", payload.as_bytes()], mac) {
            return None;
        }
        let json = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).ok()?;
        let pre: PreSession = serde_json::from_slice(&json).ok()?;
        (now - pre.issued < PRE_SESSION_SECONDS && pre.issued <= now + 60).then_some(pre)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> HmacKey {
        HmacKey::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn pre_session_round_trips_and_refuses_tampering() {
        let pre = PreSession {
            nonce: "n".into(),
            signin_id: Some("abc".into()),
            masked_email: Some("m•••@example.com".into()),
            issued: 1000,
            landing: None,
        };
        let value = pre.encode(&key());
        assert_eq!(PreSession::decode(&value, &key(), 1001), Some(pre.clone()));
        assert_eq!(PreSession::decode(&value, &key(), 1000 + PRE_SESSION_SECONDS), None, "expired");
        let other = HmacKey::new(b"another key that is long enough!!".to_vec());
        assert_eq!(PreSession::decode(&value, &other, 1001), None, "foreign key");
        let forged = PreSession { signin_id: Some("victim".into()), ..pre }.encode(&other);
        assert_eq!(PreSession::decode(&forged, &key(), 1001), None);
        assert!(PreSession::well_formed(&value) && PreSession::well_formed(&forged));
        for damaged in ["", "nodot", ".mac", "payload.", "pay load.mac", "payload.m%ac", &format!("{}.mac", "a".repeat(3000))] {
            assert!(!PreSession::well_formed(damaged), "{damaged}");
        }
    }

    #[test]
    fn parses_cookie_headers() {
        let cookies = parse_cookie_header(["a=1; portal_session=xyz", "b=\"2\""].into_iter());
        assert_eq!(cookies, vec![("a".into(), "1".into()), ("portal_session".into(), "xyz".into()), ("b".into(), "2".into())]);
    }

    proptest! {
        #[test]
        fn malformed_cookies_never_panic(value in "\\PC{0,200}") {
            let _ = PreSession::decode(&value, &key(), 0);
            let _ = parse_cookie_header(std::iter::once(value.as_str()));
        }
    }
}
