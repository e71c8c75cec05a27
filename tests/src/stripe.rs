//! localstripe (the fake Stripe `scripts/test` starts) as the tests use it: the portal's Stripe
//! adapter pointed at it, and what Stripe.js would do in a patient's browser (create a
//! PaymentMethod from typed card numbers, confirm a SetupIntent, pass a 3-D Secure step), done
//! directly against the fake, so the portal itself never sees a card number.

use std::sync::Arc;

use miniserde::Deserialize;
use portal_stripe::http::{Failure, Http};
use portal_stripe::{StripeConfig, StripeGateway};

/// localstripe's URL; `scripts/test` starts it and sets `PORTAL_TEST_STRIPE_URL`. Tests fail without it.
pub fn localstripe_url() -> String {
    std::env::var("PORTAL_TEST_STRIPE_URL").expect("PORTAL_TEST_STRIPE_URL is not set: run scripts/test, which starts localstripe")
}

/// A test-mode key: localstripe accepts any.
pub const TEST_SECRET_KEY: &str = "sk_test_portal";

/// The portal's Stripe adapter on localstripe.
pub fn gateway() -> Arc<StripeGateway> {
    Arc::new(StripeGateway::new(StripeConfig { secret_key: TEST_SECRET_KEY.into(), api_base: localstripe_url() }))
}

/// The settings a portal configured for Stripe on localstripe runs with.
pub fn settings() -> portal_web::StripeSettings {
    let url = localstripe_url();
    portal_web::StripeSettings {
        secret_key: TEST_SECRET_KEY.into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        publishable_key: "pk_test_portal".into(),
        js_url: format!("{url}/js.stripe.com/v3/"),
        api_base: url,
    }
}

/// The secret Stripe signs its events with, in tests.
pub const WEBHOOK_SECRET: &str = "whsec_portal_test";

#[derive(Debug, Deserialize)]
struct Object {
    id: String,
}

#[derive(Debug, Deserialize)]
struct Confirmed {
    status: String,
}

#[derive(Debug, Deserialize)]
struct Charges {
    data: Vec<Object>,
}

/// What the browser does with Stripe.js, against localstripe.
pub struct Browser {
    http: Http,
}

impl Default for Browser {
    fn default() -> Self {
        Browser::new()
    }
}

impl Browser {
    pub fn new() -> Browser {
        let http =
            Http::new(&TEST_SECRET_KEY.into(), &localstripe_url(), std::time::Duration::from_secs(10)).expect("a client for localstripe");
        Browser { http }
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Result<String, Failure> {
        let object: Object = self.http.post(path, form, None).await?;
        Ok(object.id)
    }

    /// A PaymentMethod for a test card number (Stripe.js's card Element does this in the browser).
    pub async fn card(&self, number: &str) -> String {
        let form =
            [("type", "card"), ("card[number]", number), ("card[exp_month]", "12"), ("card[exp_year]", "2030"), ("card[cvc]", "123")];
        self.post("payment_methods", &form).await.expect("localstripe creates the PaymentMethod")
    }

    /// Confirms a SetupIntent with a test card, as `stripe.confirmCardSetup` does (passing the
    /// bank's 3-D Secure step when the card asks for one); `Err` when the card is declined.
    pub async fn confirm_setup(&self, setup: &str, client_secret: &str, number: &str) -> Result<(), Failure> {
        let method = self.card(number).await;
        let path = format!("setup_intents/{setup}/confirm");
        let first: Confirmed = self.http.post(&path, &[("payment_method", &method), ("client_secret", client_secret)], None).await?;
        if first.status == "requires_action" {
            self.post(&path, &[("client_secret", client_secret)]).await?;
        }
        Ok(())
    }

    /// A bank debit attached to `customer`, which settles (or, for localstripe's failing test IBAN,
    /// fails) half a second after it is charged, as a bank debit does days later.
    pub async fn bank_debit(&self, customer: &str, iban: &str) -> String {
        let method = self
            .post("payment_methods", &[("type", "sepa_debit"), ("sepa_debit[iban]", iban)])
            .await
            .expect("localstripe creates the debit");
        self.post(&format!("payment_methods/{method}/attach"), &[("customer", customer)]).await.expect("localstripe attaches the debit");
        method
    }

    /// A PaymentMethod attached to `customer`, as a source saved earlier (or imported) would be.
    pub async fn saved_card(&self, customer: &str, number: &str) -> String {
        let method = self.card(number).await;
        self.post(&format!("payment_methods/{method}/attach"), &[("customer", customer)]).await.expect("localstripe attaches the card");
        method
    }

    /// The patient passes (or fails) the 3-D Secure step of a PaymentIntent.
    pub async fn authenticate(&self, intent: &str, client_secret: &str, success: bool) {
        let form = [("client_secret", client_secret), ("success", if success { "true" } else { "false" })];
        self.post(&format!("payment_intents/{intent}/_authenticate"), &form).await.expect("localstripe takes the 3-D Secure answer");
    }

    /// The customer a PaymentMethod is attached to, if any.
    pub async fn owner_of(&self, method: &str) -> Option<String> {
        #[derive(Debug, Deserialize)]
        struct Attached {
            customer: Option<String>,
        }
        let attached: Attached = self.http.get(&format!("payment_methods/{method}")).await.expect("localstripe has the PaymentMethod");
        attached.customer
    }

    /// The PaymentMethod a SetupIntent saved.
    pub async fn setup_method(&self, setup: &str) -> Option<String> {
        #[derive(Debug, Deserialize)]
        struct Setup {
            payment_method: Option<String>,
        }
        let setup: Setup = self.http.get(&format!("setup_intents/{setup}")).await.expect("the setup");
        setup.payment_method
    }

    /// A PaymentIntent's status and the portal payment its metadata names.
    pub async fn intent(&self, id: &str) -> (String, Option<String>) {
        #[derive(Debug, Deserialize)]
        struct Metadata {
            portal_payment: Option<String>,
        }
        #[derive(Debug, Deserialize)]
        struct Intent {
            status: String,
            metadata: Metadata,
        }
        let intent: Intent = self.http.get(&format!("payment_intents/{id}")).await.expect("the intent");
        (intent.status, intent.metadata.portal_payment)
    }

    /// The charges Stripe made for `customer` (one per confirmed PaymentIntent that took money or was declined).
    pub async fn charges(&self, customer: &str) -> usize {
        let list: Charges = self.http.get(&format!("charges?customer={customer}&limit=100")).await.expect("localstripe lists charges");
        list.data.len()
    }
}
