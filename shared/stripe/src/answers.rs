//! Stripe's answers as the portal reads them: only the fields it uses, so that an answer with
//! more (Stripe) or fewer (a local fake) fields reads the same. Unknown fields are passed over.

use miniserde::Deserialize;
use portal_domain::ports::ChargeOutcome;

#[derive(Debug, Deserialize)]
pub(crate) struct Customer {
    pub id: String,
}

/// A PaymentIntent: the portal's charge.
#[derive(Debug, Deserialize)]
pub struct Intent {
    pub id: String,
    pub status: String,
    pub client_secret: Option<String>,
    pub last_payment_error: Option<ApiError>,
}

/// A SetupIntent: a source the browser is saving.
#[derive(Debug, Deserialize)]
pub(crate) struct Setup {
    pub id: String,
    pub status: String,
    pub client_secret: Option<String>,
    pub customer: Option<String>,
    pub payment_method: Option<String>,
    pub last_setup_error: Option<ApiError>,
}

/// A PaymentMethod: a card or a US bank account.
#[derive(Debug, Deserialize)]
pub(crate) struct Method {
    pub id: String,
    pub customer: Option<String>,
    pub card: Option<Card>,
    pub us_bank_account: Option<BankAccount>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct Card {
    pub brand: String,
    pub last4: String,
    pub exp_month: i64,
    pub exp_year: i64,
}

#[derive(Debug, Deserialize)]
pub(crate) struct BankAccount {
    pub bank_name: Option<String>,
    pub last4: Option<String>,
    pub account_type: Option<String>,
}

/// The error Stripe attaches to a failed attempt.
#[derive(Debug, Deserialize)]
pub struct ApiError {
    pub code: Option<String>,
    pub decline_code: Option<String>,
}

impl Intent {
    /// What the intent's status means for the payment.
    pub fn outcome(&self) -> ChargeOutcome {
        match self.status.as_str() {
            "succeeded" => ChargeOutcome::Succeeded { reference: self.id.clone() },
            // Automatic capture completes on its own; until then it is as good as processing.
            "processing" | "requires_capture" => ChargeOutcome::Processing,
            "requires_action" => match &self.client_secret {
                Some(secret) => ChargeOutcome::RequiresAction { client_secret: secret.clone() },
                None => ChargeOutcome::Unknown,
            },
            // An attempt failed (declined, or 3-D Secure not passed): the intent wants another method.
            "requires_payment_method" => match &self.last_payment_error {
                Some(error) => ChargeOutcome::Declined { reason: decline_reason(error) },
                None => ChargeOutcome::NotCharged,
            },
            "requires_confirmation" | "canceled" => ChargeOutcome::NotCharged,
            _ => ChargeOutcome::Unknown,
        }
    }
}

/// A decline written for the patient, from Stripe's codes (never its free text, which may name
/// details the patient did not give us).
pub fn decline_reason(error: &ApiError) -> String {
    let code = error.decline_code.as_deref().or(error.code.as_deref()).unwrap_or("");
    match code {
        "insufficient_funds" => "The payment was declined for insufficient funds.",
        "expired_card" => "Your card has expired. Use another card.",
        "incorrect_cvc" | "invalid_cvc" => "The card's security code was not accepted. Check it and try again.",
        "payment_intent_authentication_failure" | "authentication_required" | "setup_intent_authentication_failure" => {
            "Your bank did not confirm the payment. Try again, or use another card."
        }
        "processing_error" => "The card could not be charged just now. Try again in a few minutes.",
        _ => "Your card was declined. Use another card or call your bank.",
    }
    .to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn intent(json: &str) -> Intent {
        miniserde::json::from_str(json).expect("an intent")
    }

    #[test]
    fn each_status_means_one_outcome() {
        let succeeded = intent(r#"{"id":"pi_1","status":"succeeded","amount":100,"latest_charge":{"id":"ch_1"}}"#);
        assert_eq!(succeeded.outcome(), ChargeOutcome::Succeeded { reference: "pi_1".into() });
        assert_eq!(intent(r#"{"id":"pi_1","status":"processing"}"#).outcome(), ChargeOutcome::Processing);
        assert_eq!(
            intent(r#"{"id":"pi_1","status":"requires_action","client_secret":"pi_1_secret_x"}"#).outcome(),
            ChargeOutcome::RequiresAction { client_secret: "pi_1_secret_x".into() }
        );
        assert_eq!(
            intent(r#"{"id":"pi_1","status":"requires_payment_method","last_payment_error":{"code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}"#).outcome(),
            ChargeOutcome::Declined { reason: "The payment was declined for insufficient funds.".into() }
        );
        assert_eq!(
            intent(r#"{"id":"pi_1","status":"requires_payment_method","last_payment_error":null}"#).outcome(),
            ChargeOutcome::NotCharged
        );
        assert_eq!(intent(r#"{"id":"pi_1","status":"requires_confirmation"}"#).outcome(), ChargeOutcome::NotCharged);
        assert_eq!(intent(r#"{"id":"pi_1","status":"canceled"}"#).outcome(), ChargeOutcome::NotCharged);
        assert_eq!(intent(r#"{"id":"pi_1","status":"something_new"}"#).outcome(), ChargeOutcome::Unknown);
    }
}
