//! portal-stripe: the payment processor port on Stripe.
//!
//! A household is a Stripe Customer; its saved sources are PaymentMethods the browser saved
//! through a SetupIntent (Stripe.js Elements), so card and account numbers go from the browser
//! to Stripe and never through the portal. A payment is a PaymentIntent: created unconfirmed
//! (no money moves), recorded on the portal's payment, then confirmed with the payment's id as
//! its `Idempotency-Key`. Its metadata names the portal's payment and household, which is how
//! Stripe's events and the practice's dashboard are matched to the portal.
//!
//! Requests are built with async-stripe's builders and sent by its client; answers are read into
//! the small types below, which name only what the portal uses (a fake Stripe such as localstripe
//! answers with fewer fields than the real one).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portal_domain::card::NewSource;
use portal_domain::ports::{ChargeOutcome, ChargeRequest, GatewayError, PaymentGateway, SetupResult, SetupSession, TokenizedSource};
use portal_domain::{store, AccountId, BankAccountType, PaymentSource, SourceDetails, Table};
use secrecy::{ExposeSecret, SecretString};
use stripe::{Client, ClientBuilder, StripeError};
use stripe_client_core::{IdempotencyKey, RequestStrategy, StripeRequest};
use tokio::sync::OnceCell;

mod answers;
pub mod events;
pub use answers::{decline_reason, Intent};
use answers::{Customer, Method, Setup};

/// Stripe's own API origin.
pub const STRIPE_API: &str = "https://api.stripe.com";

/// How long one request to Stripe may take before its answer counts as lost.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// Where to reach Stripe and with which key.
#[derive(Clone)]
pub struct StripeConfig {
    pub secret_key: SecretString,
    /// `https://api.stripe.com` in production; a local fake's origin in tests and local runs.
    pub api_base: String,
}

impl std::fmt::Debug for StripeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeConfig").field("secret_key", &"[redacted]").field("api_base", &self.api_base).finish()
    }
}

/// The Stripe adapter. Its HTTPS client (and the system's root certificates) is made on the
/// first request, so a function's cold start does not pay for it.
pub struct StripeGateway {
    config: StripeConfig,
    client: OnceCell<Arc<Client>>,
}

fn unavailable(e: impl std::fmt::Display) -> GatewayError {
    // Stripe's errors carry no card or account numbers; the request's parameters are not logged.
    GatewayError(anyhow::anyhow!("stripe: {e}"))
}

/// The Stripe adapter as the port, for a function's `main`: `app_with_payments(portal_stripe::gateway)`.
pub fn gateway(secret_key: SecretString, api_base: String) -> Arc<dyn PaymentGateway> {
    Arc::new(StripeGateway::new(StripeConfig { secret_key, api_base }))
}

impl StripeGateway {
    pub fn new(config: StripeConfig) -> StripeGateway {
        StripeGateway { config, client: OnceCell::new() }
    }

    async fn client(&self) -> Result<Arc<Client>, GatewayError> {
        self.client
            .get_or_try_init(|| async {
                ClientBuilder::new(self.config.secret_key.expose_secret())
                    .url(self.config.api_base.clone())
                    .timeout(REQUEST_TIMEOUT)
                    .app_info("patient-portal", None, None)
                    .build()
                    .map(Arc::new)
                    .map_err(unavailable)
            })
            .await
            .cloned()
    }

    /// Sends a request built by async-stripe and reads the answer into the portal's type `T`.
    async fn send<T: miniserde::Deserialize>(&self, request: &impl StripeRequest, key: Option<String>) -> Result<T, StripeError> {
        let client = self.client().await.map_err(|e| StripeError::ClientError(e.to_string()))?;
        let mut customized = request.build().customize::<T>();
        if let Some(key) = key {
            let key = IdempotencyKey::new(key).map_err(|e| StripeError::ConfigError(e.to_string()))?;
            customized = customized.request_strategy(RequestStrategy::Idempotent(key));
        }
        customized.send(client.as_ref()).await
    }

    async fn intent(&self, reference: &str) -> Result<Intent, GatewayError> {
        self.send(&stripe_core::payment_intent::RetrievePaymentIntent::new(reference), None).await.map_err(unavailable)
    }

    async fn method(&self, id: &str) -> Result<Method, GatewayError> {
        self.send(&stripe_payment::payment_method::RetrievePaymentMethod::new(id), None).await.map_err(unavailable)
    }
}

impl StripeGateway {
    /// Whether the key is a test-mode key: only those may seed.
    pub fn is_test_mode(&self) -> bool {
        let key = self.config.secret_key.expose_secret();
        key.starts_with("sk_test_") || key.starts_with("rk_test_")
    }

    /// Gives each household a customer in Stripe's test mode and replaces its saved cards by
    /// Stripe's test Visa (`pm_card_visa`, attached anew), so a demo or test table pays through
    /// Stripe. Refused with a live key: it would create real customers.
    pub async fn seed_test_cards(&self, table: &dyn Table, accounts: &[AccountId]) -> anyhow::Result<usize> {
        anyhow::ensure!(self.is_test_mode(), "seeding Stripe takes a test-mode key (sk_test_…): a live key is refused");
        let mut seeded = 0;
        for account in accounts {
            let records = store::household(table, account).await?;
            let Some(household) = records.household.as_ref() else { continue };
            let customer = portal_domain::sources::customer(table, self, household).await?;
            let mut kept = Vec::new();
            for source in records.sources.iter().filter(|s| matches!(s.details, SourceDetails::Card { .. })) {
                let attach = stripe_payment::payment_method::AttachPaymentMethod::new("pm_card_visa").customer(customer.as_str());
                let method: Method = self.send(&attach, None).await.map_err(unavailable)?;
                let details = details_of(&method).ok_or_else(|| anyhow::anyhow!("Stripe's test Visa has no card details"))?;
                let replaced = PaymentSource { token: method.id, details, ..source.clone() };
                table.write(store::replace_record(&store::source_key(source), "source", &replaced, source.version)?).await?;
                kept.push(PaymentSource { version: source.version + 1, ..replaced });
                seeded += 1;
            }
            // A bank account is saved at Stripe only by its owner in the browser (Stripe's bank
            // connection and mandate): the demo's sandbox accounts are taken off, when a card stays.
            if !kept.is_empty() {
                for source in records.sources.iter().filter(|s| matches!(s.details, SourceDetails::BankAccount { .. })) {
                    let mut current = kept.clone();
                    current.push(source.clone());
                    portal_domain::sources::remove(table, account, &current, &source.id).await?;
                }
            }
        }
        Ok(seeded)
    }
}

/// What may be kept of a PaymentMethod: brand or bank, last four, expiry.
fn details_of(method: &Method) -> Option<SourceDetails> {
    if let Some(card) = &method.card {
        return Some(SourceDetails::Card {
            brand: brand_name(&card.brand),
            last4: card.last4.clone(),
            exp_month: u32::try_from(card.exp_month).ok()?,
            exp_year: i32::try_from(card.exp_year).ok()?,
        });
    }
    let bank = method.us_bank_account.as_ref()?;
    Some(SourceDetails::BankAccount {
        bank_name: bank.bank_name.clone().unwrap_or_else(|| "Bank".into()),
        last4: bank.last4.clone().unwrap_or_default(),
        account_type: if bank.account_type.as_deref() == Some("savings") { BankAccountType::Savings } else { BankAccountType::Checking },
    })
}

/// Stripe's card brand ids as patients know them.
fn brand_name(brand: &str) -> String {
    match brand {
        "visa" => "Visa".into(),
        "mastercard" => "Mastercard".into(),
        "amex" => "American Express".into(),
        "discover" => "Discover".into(),
        "diners" => "Diners Club".into(),
        "jcb" => "JCB".into(),
        "unionpay" => "UnionPay".into(),
        _ => "Card".into(),
    }
}

fn metadata(request: &ChargeRequest) -> std::collections::HashMap<String, String> {
    std::collections::HashMap::from([
        ("portal_payment".into(), request.payment.clone()),
        ("portal_account".into(), request.account.clone()),
        ("invoice".into(), request.description.clone()),
    ])
}

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn tokenize(&self, _source: &NewSource) -> Result<TokenizedSource, GatewayError> {
        // Numbers typed into the portal are never sent on: with Stripe, pages collect them in
        // Stripe's own fields. The handlers refuse such forms before this is reached.
        Err(GatewayError(anyhow::anyhow!("card and account numbers are taken by Stripe.js, not by the portal")))
    }

    async fn create_customer(&self, account: &str, name: &str) -> Result<String, GatewayError> {
        let request = stripe_core::customer::CreateCustomer::new().name(name).metadata([("portal_account".to_owned(), account.to_owned())]);
        let customer: Customer = self.send(&request, Some(format!("customer-{account}"))).await.map_err(unavailable)?;
        Ok(customer.id)
    }

    async fn begin_setup(&self, customer: &str) -> Result<SetupSession, GatewayError> {
        let request = stripe_core::setup_intent::CreateSetupIntent::new().customer(customer);
        let setup: Setup = self.send(&request, None).await.map_err(unavailable)?;
        let client_secret = setup.client_secret.ok_or_else(|| unavailable("a SetupIntent without a client secret"))?;
        Ok(SetupSession { id: setup.id, client_secret })
    }

    async fn finish_setup(&self, customer: &str, setup: &str) -> Result<SetupResult, GatewayError> {
        let request = stripe_core::setup_intent::RetrieveSetupIntent::new(setup);
        let setup: Setup = match self.send(&request, None).await {
            Ok(setup) => setup,
            // A made-up or foreign id: nothing to save.
            Err(StripeError::Stripe(_, 404)) => return Ok(SetupResult::Unfinished),
            Err(e) => return Err(unavailable(e)),
        };
        if setup.customer.as_deref() != Some(customer) {
            return Ok(SetupResult::Unfinished);
        }
        if setup.status != "succeeded" {
            return Ok(match setup.last_setup_error {
                Some(error) => SetupResult::Declined { reason: decline_reason(&error) },
                None => SetupResult::Unfinished,
            });
        }
        let Some(id) = setup.payment_method else { return Ok(SetupResult::Unfinished) };
        let method = self.method(&id).await?;
        if method.customer.is_none() {
            // Stripe attaches a SetupIntent's PaymentMethod to its customer; a fake may not.
            let attach = stripe_payment::payment_method::AttachPaymentMethod::new(id.as_str()).customer(customer);
            if let Err(e) = self.send::<Method>(&attach, None).await {
                return match e {
                    StripeError::Stripe(error, 402) => Ok(SetupResult::Declined { reason: answers::reason_of(&error) }),
                    e => Err(unavailable(e)),
                };
            }
        } else if method.customer.as_deref() != Some(customer) {
            return Ok(SetupResult::Unfinished);
        }
        match details_of(&method) {
            Some(details) => Ok(SetupResult::Saved(TokenizedSource { token: method.id, details })),
            None => Ok(SetupResult::Declined {
                reason: "That kind of payment method is not accepted here. Use a card or a US bank account.".into(),
            }),
        }
    }

    async fn prepare(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
        let cents = request.amount.cents();
        let mut create = stripe_core::payment_intent::CreatePaymentIntent::new(cents, stripe_types::Currency::USD)
            .payment_method(request.token.as_str())
            .metadata(metadata(request));
        if let Some(customer) = &request.customer {
            create = create.customer(customer.as_str());
        }
        let intent: Intent = self.send(&create, Some(format!("prepare-{}", request.payment))).await.map_err(unavailable)?;
        Ok(intent.id)
    }

    async fn confirm(&self, reference: &str, idempotency_key: &str) -> Result<ChargeOutcome, GatewayError> {
        let confirm = stripe_core::payment_intent::ConfirmPaymentIntent::new(reference);
        match self.send::<Intent>(&confirm, Some(idempotency_key.to_owned())).await {
            Ok(intent) => Ok(intent.outcome()),
            // Stripe refused the confirmation (a decline answers 402), or it was confirmed before
            // (a fake that ignores idempotency keys refuses the second one): the intent says which.
            Err(StripeError::Stripe(..)) => {
                let intent = self.intent(reference).await?;
                match intent.outcome() {
                    // Refused before any attempt: make sure it can never be confirmed later.
                    ChargeOutcome::NotCharged => self.cancel(reference).await,
                    outcome => Ok(outcome),
                }
            }
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn charge_status(&self, reference: &str) -> Result<ChargeOutcome, GatewayError> {
        Ok(self.intent(reference).await?.outcome())
    }

    async fn cancel(&self, reference: &str) -> Result<ChargeOutcome, GatewayError> {
        let cancel = stripe_core::payment_intent::CancelPaymentIntent::new(reference);
        match self.send::<Intent>(&cancel, None).await {
            Ok(intent) => Ok(intent.outcome()),
            // Not cancellable (it succeeded or is processing meanwhile): say what it is.
            Err(StripeError::Stripe(..)) => self.charge_status(reference).await,
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn detach(&self, token: &str) -> Result<(), GatewayError> {
        let detach = stripe_payment::payment_method::DetachPaymentMethod::new(token);
        match self.send::<Method>(&detach, None).await {
            // Already detached, or unknown to Stripe: nothing is left to forget.
            Ok(_) | Err(StripeError::Stripe(_, 400 | 404)) => Ok(()),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cards_and_bank_accounts_keep_only_what_may_be_shown() {
        let card: Method = miniserde::json::from_str(
            r#"{"id":"pm_1","customer":null,"card":{"brand":"visa","last4":"4242","exp_month":12,"exp_year":2030,"fingerprint":"x"}}"#,
        )
        .unwrap();
        assert_eq!(
            details_of(&card),
            Some(SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 12, exp_year: 2030 })
        );
        let bank: Method = miniserde::json::from_str(
            r#"{"id":"pm_2","customer":"cus_1","us_bank_account":{"bank_name":"STRIPE TEST BANK","last4":"6789","account_type":"savings","routing_number":"110000000"}}"#,
        )
        .unwrap();
        assert_eq!(
            details_of(&bank),
            Some(SourceDetails::BankAccount {
                bank_name: "STRIPE TEST BANK".into(),
                last4: "6789".into(),
                account_type: BankAccountType::Savings
            })
        );
        let other: Method = miniserde::json::from_str(r#"{"id":"pm_3","customer":null}"#).unwrap();
        assert_eq!(details_of(&other), None);
    }

    #[test]
    fn the_secret_key_never_prints() {
        let config = StripeConfig { secret_key: SecretString::from("sk_test_secret"), api_base: STRIPE_API.into() };
        assert!(!format!("{config:?}").contains("sk_test_secret"));
    }
}
