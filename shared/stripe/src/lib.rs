//! portal-stripe: the payment processor port on Stripe.
//!
//! A household is a Stripe Customer; its saved sources are PaymentMethods the browser saved
//! through a SetupIntent (Stripe.js Elements), so card and account numbers go from the browser
//! to Stripe and never through the portal. A payment is a PaymentIntent: created unconfirmed
//! (no money moves), recorded on the portal's payment, then confirmed with the payment's id as
//! its `Idempotency-Key`. Its metadata names the portal's payment and household, which is how
//! Stripe's events and the practice's dashboard are matched to the portal.
//!
//! Requests go through the small client in `http` (see there why not async-stripe's); answers are
//! read into the small types in `answers`, which name only what the portal uses (a fake Stripe
//! such as localstripe answers with fewer fields than the real one).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use portal_domain::card::NewSource;
use portal_domain::ports::{ChargeOutcome, ChargeRequest, GatewayError, PaymentGateway, SetupResult, SetupSession, TokenizedSource};
use portal_domain::{store, AccountId, BankAccountType, PaymentSource, SourceDetails, Table};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

mod answers;
pub mod events;
pub mod http;

pub use answers::{decline_reason, Intent};
use answers::{Customer, Method, Setup};
use http::{Failure, Http};

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
    client: OnceCell<Arc<Http>>,
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

    async fn http(&self) -> Result<&Http, GatewayError> {
        self.client
            .get_or_try_init(|| async { Http::new(&self.config.secret_key, &self.config.api_base, REQUEST_TIMEOUT).map(Arc::new) })
            .await
            .map(|http| http.as_ref())
            .map_err(unavailable)
    }

    async fn get<T: miniserde::Deserialize>(&self, path: &str) -> Result<T, Failure> {
        match self.http().await {
            Ok(http) => http.get(path).await,
            Err(e) => Err(Failure::Lost(e.to_string())),
        }
    }

    async fn post<T: miniserde::Deserialize>(&self, path: &str, form: &[(&str, &str)], key: Option<&str>) -> Result<T, Failure> {
        match self.http().await {
            Ok(http) => http.post(path, form, key).await,
            Err(e) => Err(Failure::Lost(e.to_string())),
        }
    }

    async fn intent(&self, reference: &str) -> Result<Intent, GatewayError> {
        self.get(&format!("payment_intents/{}", path_id(reference)?)).await.map_err(unavailable)
    }

    async fn method(&self, id: &str) -> Result<Method, GatewayError> {
        self.get(&format!("payment_methods/{}", path_id(id)?)).await.map_err(unavailable)
    }
}

/// An id as it may stand in a request's path: Stripe's ids are letters, digits and `_`. An id
/// from a form is checked before it reaches a URL.
fn path_id(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty() && id.len() <= 255 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(GatewayError(anyhow::anyhow!("not a Stripe id")))
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
    pub async fn seed_test_cards(
        &self,
        table: &dyn Table,
        accounts: &[AccountId],
        at: portal_domain::feed::Instant,
    ) -> anyhow::Result<usize> {
        anyhow::ensure!(self.is_test_mode(), "seeding Stripe takes a test-mode key (sk_test_…): a live key is refused");
        let mut seeded = 0;
        for account in accounts {
            let records = store::profile(table, account).await?;
            let Some(household) = records.household.as_ref() else { continue };
            let customer = portal_domain::sources::customer(table, self, household).await?;
            let mut kept = Vec::new();
            for source in records.sources.iter().filter(|s| matches!(s.details, SourceDetails::Card { .. })) {
                let method: Method =
                    self.post("payment_methods/pm_card_visa/attach", &[("customer", &customer)], None).await.map_err(unavailable)?;
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
                    portal_domain::sources::remove(table, account, &current, records.autopay_on(), &source.id, at).await?;
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

#[async_trait]
impl PaymentGateway for StripeGateway {
    async fn tokenize(&self, _source: &NewSource) -> Result<TokenizedSource, GatewayError> {
        // Numbers typed into the portal are never sent on: with Stripe, pages collect them in
        // Stripe's own fields. The handlers refuse such forms before this is reached.
        Err(GatewayError(anyhow::anyhow!("card and account numbers are taken by Stripe.js, not by the portal")))
    }

    async fn create_customer(&self, account: &str, name: &str) -> Result<String, GatewayError> {
        let form = [("name", name), ("metadata[portal_account]", account)];
        let customer: Customer = self.post("customers", &form, Some(&format!("customer-{account}"))).await.map_err(unavailable)?;
        Ok(customer.id)
    }

    async fn begin_setup(&self, customer: &str) -> Result<SetupSession, GatewayError> {
        let setup: Setup = self.post("setup_intents", &[("customer", customer)], None).await.map_err(unavailable)?;
        let client_secret = setup.client_secret.ok_or_else(|| unavailable("a SetupIntent without a client secret"))?;
        Ok(SetupSession { id: setup.id, client_secret })
    }

    async fn finish_setup(&self, customer: &str, setup: &str) -> Result<SetupResult, GatewayError> {
        // A made-up or foreign id: nothing to save.
        let Ok(id) = path_id(setup) else { return Ok(SetupResult::Unfinished) };
        let setup: Setup = match self.get(&format!("setup_intents/{id}")).await {
            Ok(setup) => setup,
            Err(Failure::Api { status: 400 | 404, .. }) => return Ok(SetupResult::Unfinished),
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
            match self.post::<Method>(&format!("payment_methods/{}/attach", path_id(&id)?), &[("customer", customer)], None).await {
                Ok(_) => {}
                Err(Failure::Api { status: 402, error }) => return Ok(SetupResult::Declined { reason: decline_reason(&error) }),
                Err(e) => return Err(unavailable(e)),
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
        let cents = request.amount.cents().to_string();
        let mut form = vec![
            ("amount", cents.as_str()),
            ("currency", "usd"),
            ("payment_method", request.token.as_str()),
            ("metadata[portal_payment]", request.payment.as_str()),
            ("metadata[portal_account]", request.account.as_str()),
            ("metadata[invoice]", request.description.as_str()),
        ];
        if let Some(customer) = &request.customer {
            form.push(("customer", customer.as_str()));
        }
        let intent: Intent =
            self.post("payment_intents", &form, Some(&format!("prepare-{}", request.payment))).await.map_err(unavailable)?;
        Ok(intent.id)
    }

    async fn confirm(&self, reference: &str, idempotency_key: &str) -> Result<ChargeOutcome, GatewayError> {
        let path = format!("payment_intents/{}/confirm", path_id(reference)?);
        match self.post::<Intent>(&path, &[], Some(idempotency_key)).await {
            Ok(intent) => Ok(intent.outcome()),
            // Stripe refused the confirmation (a decline answers 402), or it was confirmed before
            // (a fake that ignores idempotency keys refuses the second one): the intent says which.
            Err(Failure::Api { .. }) => {
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
        match self.post::<Intent>(&format!("payment_intents/{}/cancel", path_id(reference)?), &[], None).await {
            Ok(intent) => Ok(intent.outcome()),
            // Not cancellable (it succeeded or is processing meanwhile): say what it is.
            Err(Failure::Api { .. }) => self.charge_status(reference).await,
            Err(e) => Err(unavailable(e)),
        }
    }

    async fn detach(&self, token: &str) -> Result<(), GatewayError> {
        let Ok(id) = path_id(token) else { return Ok(()) };
        match self.post::<Method>(&format!("payment_methods/{id}/detach"), &[], None).await {
            // Already detached, or unknown to Stripe: nothing is left to forget.
            Ok(_) | Err(Failure::Api { status: 400 | 404, .. }) => Ok(()),
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
