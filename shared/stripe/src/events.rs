//! Stripe's webhooks: the `Stripe-Signature` check and the events the portal acts on.
//!
//! The signature is checked here rather than with async-stripe-webhook: its only checking entry
//! point also reads the event's object into async-stripe's complete generated types, which refuse
//! the partial objects a local fake (localstripe) and the tests send, and which the portal does
//! not need (it reads an id, a status and an amount).

use hmac::{Hmac, Mac};
use miniserde::Deserialize;
use portal_domain::processor_events::ProcessorEvent;
use portal_domain::Money;
use sha2::Sha256;

use crate::answers::{decline_reason, ApiError};

/// How far an event's signed timestamp may be from now, as Stripe's own libraries allow.
pub const TOLERANCE_SECONDS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no Stripe-Signature header, or one without a timestamp and a v1 signature")]
    Malformed,
    #[error("the signed timestamp is more than five minutes from now")]
    Stale,
    #[error("no v1 signature matches")]
    Mismatch,
}

/// Checks `header` (`t=…,v1=…[,v1=…]`) against the raw `payload` with the endpoint's secret, in
/// constant time; any v1 may match (Stripe sends two while a secret is being rolled).
pub fn verify(payload: &[u8], header: &str, secret: &str, now: i64) -> Result<(), SignatureError> {
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", t)) => timestamp = t.parse::<i64>().ok(),
            Some(("v1", v1)) => signatures.extend(hex::decode(v1).ok()),
            _ => {}
        }
    }
    let Some(timestamp) = timestamp else { return Err(SignatureError::Malformed) };
    if signatures.is_empty() {
        return Err(SignatureError::Malformed);
    }
    if (now - timestamp).abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale);
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).map_err(|_| SignatureError::Mismatch)?;
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    if signatures.iter().any(|s| mac.clone().verify_slice(s).is_ok()) {
        Ok(())
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The header Stripe would send for `payload` at `timestamp` (tests and local fakes sign with it).
pub fn sign(payload: &[u8], secret: &str, timestamp: i64) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(payload);
    format!("t={timestamp},v1={}", hex::encode(mac.finalize().into_bytes()))
}

#[derive(Debug, Deserialize)]
struct Event {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    data: Data,
}

#[derive(Debug, Deserialize)]
struct Data {
    object: Object,
}

/// The fields of a PaymentIntent, Charge or Dispute the portal reads.
#[derive(Debug, Deserialize)]
struct Object {
    id: String,
    payment_intent: Option<String>,
    amount_refunded: Option<i64>,
    last_payment_error: Option<ApiError>,
}

/// A verified event's id and what it means for the portal; `None` for the event types the
/// portal does not act on (they are acknowledged, so Stripe stops sending them).
pub fn parse(payload: &[u8]) -> Result<(String, Option<ProcessorEvent>), miniserde::Error> {
    let text = std::str::from_utf8(payload).map_err(|_| miniserde::Error)?;
    let event: Event = miniserde::json::from_str(text)?;
    let object = event.data.object;
    let intent = || object.payment_intent.clone();
    let meaning = match event.kind.as_str() {
        "payment_intent.succeeded" => Some(ProcessorEvent::Succeeded { reference: object.id.clone() }),
        "payment_intent.payment_failed" => Some(ProcessorEvent::Failed {
            reference: object.id.clone(),
            reason: object
                .last_payment_error
                .as_ref()
                .map_or_else(|| "The payment did not go through. Nothing was charged.".to_owned(), decline_reason),
        }),
        "payment_intent.processing" => Some(ProcessorEvent::Processing { reference: object.id.clone() }),
        "charge.refunded" => intent()
            .zip(object.amount_refunded)
            .map(|(reference, cents)| ProcessorEvent::Refunded { reference, total: Money::from_cents(cents) }),
        "charge.dispute.created" => intent().map(|reference| ProcessorEvent::Disputed { reference }),
        _ => None,
    };
    Ok((event.id, meaning))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "whsec_test";

    #[test]
    fn only_a_fresh_signature_with_the_secret_verifies() {
        let payload = br#"{"id":"evt_1"}"#;
        let header = sign(payload, SECRET, 1_000);
        assert_eq!(verify(payload, &header, SECRET, 1_100), Ok(()));
        assert_eq!(verify(payload, &header, SECRET, 1_301), Err(SignatureError::Stale));
        assert_eq!(verify(payload, &header, "whsec_other", 1_100), Err(SignatureError::Mismatch));
        assert_eq!(verify(br#"{"id":"evt_2"}"#, &header, SECRET, 1_100), Err(SignatureError::Mismatch), "the payload is signed");
        assert_eq!(verify(payload, "", SECRET, 1_100), Err(SignatureError::Malformed));
        assert_eq!(verify(payload, "t=1000", SECRET, 1_100), Err(SignatureError::Malformed));
        // While a secret is rolled Stripe signs with both: either may match.
        let rolled = format!("{},v1={}", sign(payload, "whsec_old", 1_000), header.split("v1=").nth(1).unwrap());
        assert_eq!(verify(payload, &rolled, SECRET, 1_000), Ok(()));
    }

    #[test]
    fn events_are_read_for_what_the_portal_acts_on() {
        let event = |kind: &str, object: &str| format!(r#"{{"id":"evt_9","object":"event","type":"{kind}","data":{{"object":{object}}}}}"#);
        let parsed = |text: String| parse(text.as_bytes()).unwrap();
        assert_eq!(
            parsed(event("payment_intent.succeeded", r#"{"id":"pi_1","status":"succeeded"}"#)),
            ("evt_9".into(), Some(ProcessorEvent::Succeeded { reference: "pi_1".into() }))
        );
        assert_eq!(
            parsed(event("payment_intent.payment_failed", r#"{"id":"pi_1","last_payment_error":{"code":"insufficient_funds"}}"#)).1,
            Some(ProcessorEvent::Failed { reference: "pi_1".into(), reason: "The payment was declined for insufficient funds.".into() })
        );
        assert_eq!(
            parsed(event("charge.refunded", r#"{"id":"ch_1","payment_intent":"pi_1","amount_refunded":1250}"#)).1,
            Some(ProcessorEvent::Refunded { reference: "pi_1".into(), total: Money::from_cents(1250) })
        );
        assert_eq!(
            parsed(event("charge.dispute.created", r#"{"id":"dp_1","charge":"ch_1","payment_intent":"pi_1"}"#)).1,
            Some(ProcessorEvent::Disputed { reference: "pi_1".into() })
        );
        assert_eq!(parsed(event("customer.created", r#"{"id":"cus_1"}"#)).1, None);
        assert!(parse(b"not json").is_err());
    }
}
