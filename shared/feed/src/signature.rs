//! Standard Webhooks signatures (<https://www.standardwebhooks.com/>): the signed content is
//! `{webhook-id}.{webhook-timestamp}.{body}`, signed with HMAC-SHA256 and sent base64-encoded as
//! `webhook-signature: v1,{signature}`. A receiver checks any of the space-separated signatures
//! and refuses a timestamp more than five minutes from its clock.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretSlice};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// How far a signature's timestamp may be from the receiver's clock.
pub const TOLERANCE_SECONDS: i64 = 300;

/// The shared secret, read as Standard Webhooks libraries read it: base64 of the key's bytes, with
/// or without a `whsec_` prefix (the stack's generated secret is such base64: give it to the
/// practice as `whsec_` and the secret). Text that is not base64, of at least 24 characters (a
/// local run's), is used as it is.
#[derive(Clone)]
pub struct Secret(SecretSlice<u8>);

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the webhook secret is not usable (whsec_ and base64, or at least 24 characters)")]
    Secret,
    #[error("webhook-id, webhook-timestamp or webhook-signature is missing or malformed")]
    Headers,
    #[error("the webhook's timestamp is more than five minutes from now")]
    Stale,
    #[error("no webhook signature matches")]
    Mismatch,
}

impl Secret {
    pub fn parse(text: &str) -> Result<Secret, SignatureError> {
        let bytes = match text.strip_prefix("whsec_") {
            Some(encoded) => STANDARD.decode(encoded).map_err(|_| SignatureError::Secret)?,
            None => match STANDARD.decode(text) {
                Ok(bytes) => bytes,
                Err(_) if text.len() >= 24 => text.as_bytes().to_vec(),
                Err(_) => return Err(SignatureError::Secret),
            },
        };
        if bytes.len() < 16 {
            return Err(SignatureError::Secret);
        }
        Ok(Secret(SecretSlice::from(bytes)))
    }

    fn mac(&self, id: &str, timestamp: i64, body: &[u8]) -> [u8; 32] {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.0.expose_secret()).expect("HMAC takes a key of any length");
        mac.update(id.as_bytes());
        mac.update(b".");
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The `webhook-signature` header's value for a message.
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> String {
        format!("v1,{}", STANDARD.encode(self.mac(id, timestamp, body)))
    }

    /// Checks a message as a receiver does: the timestamp within five minutes of `now` (epoch
    /// seconds), and any `v1` signature in the header matching, compared in constant time.
    pub fn verify(&self, id: &str, timestamp: &str, signatures: &str, body: &[u8], now: i64) -> Result<(), SignatureError> {
        let at: i64 = timestamp.parse().map_err(|_| SignatureError::Headers)?;
        if id.is_empty() || signatures.is_empty() {
            return Err(SignatureError::Headers);
        }
        if (now - at).abs() > TOLERANCE_SECONDS {
            return Err(SignatureError::Stale);
        }
        let expected = self.mac(id, at, body);
        let matches = signatures
            .split(' ')
            .filter_map(|s| s.strip_prefix("v1,"))
            .filter_map(|s| STANDARD.decode(s).ok())
            .any(|given| bool::from(given.as_slice().ct_eq(&expected)));
        if matches {
            Ok(())
        } else {
            Err(SignatureError::Mismatch)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The example of the Standard Webhooks specification (its reference libraries' test vector).
    const SPEC_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    const SPEC_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
    const SPEC_TIMESTAMP: i64 = 1614265330;
    const SPEC_BODY: &str = r#"{"test": 2432232314}"#;
    const SPEC_SIGNATURE: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

    #[test]
    fn signs_as_the_specification_does() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        assert_eq!(secret.sign(SPEC_ID, SPEC_TIMESTAMP, SPEC_BODY.as_bytes()), SPEC_SIGNATURE);
    }

    #[test]
    fn verifies_any_matching_signature_within_five_minutes() {
        let secret = Secret::parse(SPEC_SECRET).unwrap();
        let body = SPEC_BODY.as_bytes();
        let both = format!("v1,bm9wZQ== {SPEC_SIGNATURE}");
        assert_eq!(secret.verify(SPEC_ID, "1614265330", &both, body, SPEC_TIMESTAMP + 299), Ok(()));
        assert_eq!(secret.verify(SPEC_ID, "1614265330", SPEC_SIGNATURE, body, SPEC_TIMESTAMP + 301), Err(SignatureError::Stale));
        assert_eq!(secret.verify(SPEC_ID, "1614265330", SPEC_SIGNATURE, b"{}", SPEC_TIMESTAMP), Err(SignatureError::Mismatch));
        assert_eq!(secret.verify("msg_other", "1614265330", SPEC_SIGNATURE, body, SPEC_TIMESTAMP), Err(SignatureError::Mismatch));
        assert_eq!(secret.verify(SPEC_ID, "soon", SPEC_SIGNATURE, body, SPEC_TIMESTAMP), Err(SignatureError::Headers));
        let other = Secret::parse("a-practice-secret-of-some-length").unwrap();
        assert_eq!(other.verify(SPEC_ID, "1614265330", SPEC_SIGNATURE, body, SPEC_TIMESTAMP), Err(SignatureError::Mismatch));
    }

    #[test]
    fn a_generated_secret_is_base64_with_or_without_its_prefix_as_the_libraries_read_it() {
        // What the stack's Secrets Manager secret looks like: 48 letters and digits.
        let generated = "Q2VkYXJWYWxsZXlQcmFjdGljZUZlZWRTaWduaW5nS2V5MDE";
        let generated = &format!("{generated}x");
        assert_eq!(generated.len(), 48);
        let bare = Secret::parse(generated).unwrap();
        let prefixed = Secret::parse(&format!("whsec_{generated}")).unwrap();
        assert_eq!(bare.sign("msg_1", 1, b"{}"), prefixed.sign("msg_1", 1, b"{}"));
        let raw = Secret::parse("a-local-practice-webhook-secret").unwrap();
        assert_ne!(raw.sign("msg_1", 1, b"{}"), bare.sign("msg_1", 1, b"{}"));
    }

    #[test]
    fn refuses_a_secret_too_short_or_not_base64() {
        assert!(Secret::parse("short").is_err());
        assert!(Secret::parse("whsec_not base64!").is_err());
        assert!(Secret::parse("whsec_AAAA").is_err(), "three bytes");
    }
}
