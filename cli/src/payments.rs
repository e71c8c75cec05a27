//! The payment processor of a local run or an operator command: the sandbox by default, or Stripe
//! (test mode, or a local fake such as localstripe) with `--payments stripe` and the variables a
//! deployed function reads (`STRIPE_SECRET_KEY`, `STRIPE_PUBLISHABLE_KEY`, `STRIPE_WEBHOOK_SECRET`,
//! `STRIPE_API_BASE`, `STRIPE_JS_URL`).

use std::sync::Arc;

use portal_adapters::{OsRandom, SandboxGateway};
use portal_domain::{PaymentGateway, Table};
use portal_stripe::{StripeConfig, StripeGateway};
use portal_web::config::{ConfigError, Payments};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Processor {
    /// Test numbers typed into the portal, no money moved.
    Sandbox,
    /// Stripe, with the STRIPE_* variables.
    Stripe,
}

/// A processor as a local run or an operator command uses it.
pub struct Configured {
    pub payments: Payments,
    pub gateway: Arc<dyn PaymentGateway>,
    /// The Stripe adapter itself (to seed the demo's cards), when it is Stripe.
    pub stripe: Option<Arc<StripeGateway>>,
}

/// The configured processor and its adapter. The sandbox keeps its ledger in `table`.
pub fn processor(choice: Processor, table: &Arc<dyn Table>) -> anyhow::Result<Configured> {
    match choice {
        Processor::Sandbox => Ok(Configured {
            payments: Payments::Sandbox,
            gateway: Arc::new(SandboxGateway::with_ledger(Box::new(OsRandom), table.clone())),
            stripe: None,
        }),
        Processor::Stripe => {
            let var = |name: &'static str| match name {
                "PAYMENT_PROCESSOR" => Some("stripe".to_owned()),
                _ => std::env::var(name).ok().filter(|v| !v.trim().is_empty()),
            };
            let payments = Payments::from_vars(true, &var).map_err(|e: ConfigError| anyhow::anyhow!("--payments stripe: {e}"))?;
            let Payments::Stripe(settings) = &payments else { unreachable!("asked for stripe") };
            let stripe =
                Arc::new(StripeGateway::new(StripeConfig { secret_key: settings.secret_key.clone(), api_base: settings.api_base.clone() }));
            Ok(Configured { payments, gateway: stripe.clone(), stripe: Some(stripe) })
        }
    }
}
