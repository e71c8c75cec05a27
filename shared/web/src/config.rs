//! Typed configuration, read once from the environment at start.

use chrono_tz::Tz;
use portal_domain::signin::HmacKey;
use secrecy::SecretString;

/// Everything a function needs to know about where it runs.
#[derive(Debug, Clone)]
pub struct Config {
    pub practice_name: String,
    /// The portal's public origin, e.g. `https://portal.example.com` (no trailing slash); links in
    /// emails use it. Empty when deployed without a custom domain: then each request's
    /// `x-portal-viewer-host`, set by the CloudFront function in front of every function, gives it.
    pub public_url: String,
    pub time_zone: Tz,
    pub secret: HmacKey,
    /// The header value CloudFront adds; `None` only in local mode.
    pub origin_verify: Option<SecretString>,
    /// Local mode: no origin-verify check, plain cookie names over http, dev pages.
    pub local: bool,
    pub table_name: String,
    pub mail_from: String,
    pub dynamodb_endpoint: Option<String>,
    /// Which payment processor takes the money.
    pub payments: Payments,
    /// The least time a request for a sign-in code takes to answer, whether or not the address is a
    /// member's and whether or not mail went out, so its timing tells nothing (`CODE_SEND_FLOOR_MS`,
    /// default 750 ms deployed; none locally).
    pub code_send_floor: std::time::Duration,
}

/// The default of [`Config::code_send_floor`]: more than SES takes to accept a message.
pub const CODE_SEND_FLOOR: std::time::Duration = std::time::Duration::from_millis(750);

/// The payment processor a portal runs on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Payments {
    /// A function that takes no payments (every page but paying, payment methods and Stripe's
    /// events): it is given no processor, and no processor's keys.
    Off,
    /// The sandbox: test numbers typed into the portal's own fields, no money moved. Local runs,
    /// tests, and demo stacks that say so (`ALLOW_SANDBOX_PAYMENTS=1`).
    Sandbox,
    /// Stripe: card details typed into Stripe's fields (Stripe.js), charges made with the keys.
    Stripe(StripeSettings),
}

/// How the portal reaches Stripe. The secret keys never print.
#[derive(Clone)]
pub struct StripeSettings {
    pub secret_key: SecretString,
    /// Verifies the `Stripe-Signature` of Stripe's events (`whsec_…`).
    pub webhook_secret: SecretString,
    /// The key Stripe.js runs with in the browser (`pk_…`): public by design.
    pub publishable_key: String,
    /// Stripe's API origin; a local fake's in tests and local runs.
    pub api_base: String,
    /// Where pages load Stripe.js from; a local fake's in tests and local runs.
    pub js_url: String,
}

impl std::fmt::Debug for StripeSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StripeSettings")
            .field("publishable_key", &self.publishable_key)
            .field("api_base", &self.api_base)
            .field("js_url", &self.js_url)
            .finish_non_exhaustive()
    }
}

impl PartialEq for StripeSettings {
    fn eq(&self, other: &Self) -> bool {
        use secrecy::ExposeSecret;
        self.secret_key.expose_secret() == other.secret_key.expose_secret()
            && self.webhook_secret.expose_secret() == other.webhook_secret.expose_secret()
            && (&self.publishable_key, &self.api_base, &self.js_url) == (&other.publishable_key, &other.api_base, &other.js_url)
    }
}

impl Eq for StripeSettings {}

/// Stripe's own API and script.
pub const STRIPE_API_BASE: &str = "https://api.stripe.com";
pub const STRIPE_JS_URL: &str = "https://js.stripe.com/v3/";

impl StripeSettings {
    /// The origin (scheme and host) pages may load Stripe's script and frames from and send to.
    pub fn script_origin(&self) -> &str {
        Config::origin_of(&self.js_url)
    }

    pub fn api_origin(&self) -> &str {
        Config::origin_of(&self.api_base)
    }
}

impl Payments {
    /// Reads `PAYMENT_PROCESSOR` (`stripe` or `sandbox`; the sandbox by default only in local mode),
    /// `ALLOW_SANDBOX_PAYMENTS`, `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`,
    /// `STRIPE_PUBLISHABLE_KEY`, `STRIPE_API_BASE` and `STRIPE_JS_URL`. A deployed portal refuses
    /// the sandbox unless it is a demo stack that says so: otherwise invoices would be marked paid
    /// while no money moves.
    pub fn from_env(local: bool) -> Result<Payments, ConfigError> {
        Payments::from_vars(local, &var)
    }

    /// The same, from `var` (the environment, or a test's table of variables).
    pub fn from_vars(local: bool, var: &dyn Fn(&'static str) -> Option<String>) -> Result<Payments, ConfigError> {
        let processor = var("PAYMENT_PROCESSOR").unwrap_or_else(|| if local { "sandbox".into() } else { "stripe".into() });
        match processor.as_str() {
            "sandbox" => {
                let allowed = var("ALLOW_SANDBOX_PAYMENTS").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
                if local || allowed {
                    Ok(Payments::Sandbox)
                } else {
                    Err(ConfigError::Invalid(
                        "PAYMENT_PROCESSOR",
                        "the sandbox moves no money: use stripe, or set ALLOW_SANDBOX_PAYMENTS=1 on a demo stack",
                    ))
                }
            }
            "stripe" => Ok(Payments::Stripe(StripeSettings::from_vars(var)?)),
            _ => Err(ConfigError::Invalid("PAYMENT_PROCESSOR", "stripe or sandbox")),
        }
    }
}

impl StripeSettings {
    fn from_vars(var: &dyn Fn(&'static str) -> Option<String>) -> Result<StripeSettings, ConfigError> {
        let required = |name: &'static str| var(name).ok_or(ConfigError::Missing(name));
        let secret_key = required("STRIPE_SECRET_KEY")?;
        if !(secret_key.starts_with("sk_") || secret_key.starts_with("rk_")) {
            return Err(ConfigError::Invalid("STRIPE_SECRET_KEY", "a secret (sk_…) or restricted (rk_…) key"));
        }
        let publishable_key = required("STRIPE_PUBLISHABLE_KEY")?;
        if !publishable_key.starts_with("pk_") {
            return Err(ConfigError::Invalid("STRIPE_PUBLISHABLE_KEY", "a publishable key (pk_…)"));
        }
        let url = |name: &'static str, default: &str| -> Result<String, ConfigError> {
            let value = var(name).unwrap_or_else(|| default.to_owned());
            if value.starts_with("https://") || value.starts_with("http://127.0.0.1") || value.starts_with("http://localhost") {
                Ok(value)
            } else {
                Err(ConfigError::Invalid(name, "an https:// URL (http only on this machine)"))
            }
        };
        Ok(StripeSettings {
            secret_key: SecretString::from(secret_key),
            webhook_secret: SecretString::from(required("STRIPE_WEBHOOK_SECRET")?),
            publishable_key,
            api_base: url("STRIPE_API_BASE", STRIPE_API_BASE)?.trim_end_matches('/').to_owned(),
            js_url: url("STRIPE_JS_URL", STRIPE_JS_URL)?,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{0} is not set")]
    Missing(&'static str),
    #[error("{0}: {1}")]
    Invalid(&'static str, &'static str),
}

/// The header CloudFront adds to every request it forwards.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

fn var(name: &'static str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn required(name: &'static str) -> Result<String, ConfigError> {
    var(name).ok_or(ConfigError::Missing(name))
}

impl Config {
    /// Reads `PRACTICE_NAME`, `PORTAL_PUBLIC_URL`, `PRACTICE_TIME_ZONE`, `PORTAL_SECRET`,
    /// `ORIGIN_VERIFY_SECRET`, `PORTAL_LOCAL`, `TABLE_NAME`, `MAIL_FROM`, `DYNAMODB_ENDPOINT`, and,
    /// for a function that `takes_payments`, the payment processor's settings ([`Payments::from_env`]).
    pub fn from_env(takes_payments: bool) -> Result<Config, ConfigError> {
        let local = var("PORTAL_LOCAL").is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("true"));
        let secret = required("PORTAL_SECRET")?;
        if secret.len() < 32 {
            return Err(ConfigError::Invalid("PORTAL_SECRET", "use at least 32 characters"));
        }
        let origin_verify = match var("ORIGIN_VERIFY_SECRET") {
            Some(v) => Some(SecretString::from(v)),
            None if local => None,
            None => return Err(ConfigError::Missing("ORIGIN_VERIFY_SECRET")),
        };
        let public_url = var("PORTAL_PUBLIC_URL").unwrap_or_default().trim_end_matches('/').to_owned();
        if local && public_url.is_empty() {
            return Err(ConfigError::Missing("PORTAL_PUBLIC_URL"));
        }
        if !(public_url.is_empty() || public_url.starts_with("https://") || (local && public_url.starts_with("http://"))) {
            return Err(ConfigError::Invalid("PORTAL_PUBLIC_URL", "must be an https:// URL"));
        }
        let time_zone = var("PRACTICE_TIME_ZONE")
            .unwrap_or_else(|| "America/Chicago".into())
            .parse::<Tz>()
            .map_err(|_| ConfigError::Invalid("PRACTICE_TIME_ZONE", "not a United States time zone such as America/Chicago"))?;
        Ok(Config {
            practice_name: var("PRACTICE_NAME").unwrap_or_else(|| "Your practice".into()),
            public_url,
            time_zone,
            secret: HmacKey::new(secret.into_bytes()),
            origin_verify,
            local,
            table_name: required("TABLE_NAME")?,
            mail_from: var("MAIL_FROM").unwrap_or_default(),
            dynamodb_endpoint: var("DYNAMODB_ENDPOINT"),
            payments: if takes_payments { Payments::from_env(local)? } else { Payments::Off },
            code_send_floor: match var("CODE_SEND_FLOOR_MS") {
                Some(ms) => std::time::Duration::from_millis(
                    ms.parse().map_err(|_| ConfigError::Invalid("CODE_SEND_FLOOR_MS", "a number of milliseconds"))?,
                ),
                None => CODE_SEND_FLOOR,
            },
        })
    }

    /// The configuration of a local run on `port`, with a secret made for this run.
    pub fn local(port: u16, secret: Vec<u8>) -> Config {
        Config {
            practice_name: "Cedar Valley Direct Primary Care".into(),
            public_url: format!("http://127.0.0.1:{port}"),
            time_zone: chrono_tz::America::Chicago,
            secret: HmacKey::new(secret),
            origin_verify: None,
            local: true,
            table_name: "portal-local".into(),
            mail_from: "portal@cedarvalley.example".into(),
            dynamodb_endpoint: None,
            payments: Payments::Sandbox,
            code_send_floor: std::time::Duration::ZERO,
        }
    }

    /// Whether the portal is served over https (secure, `__Host-` cookies): always when deployed.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://") || (self.public_url.is_empty() && !self.local)
    }

    /// The origin (scheme and host) of a public URL, as browsers send it in `Origin`.
    pub fn origin_of(url: &str) -> &str {
        let after_scheme = url.find("://").map_or(0, |i| i + 3);
        match url[after_scheme..].find('/') {
            Some(i) => &url[..after_scheme + i],
            None => url,
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono_tz::Tz;

    use super::{ConfigError, Payments};

    fn payments(local: bool, vars: &[(&str, &str)]) -> Result<Payments, ConfigError> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Payments::from_vars(local, &|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    const STRIPE: [(&str, &str); 4] = [
        ("PAYMENT_PROCESSOR", "stripe"),
        ("STRIPE_SECRET_KEY", "sk_test_123"),
        ("STRIPE_PUBLISHABLE_KEY", "pk_test_123"),
        ("STRIPE_WEBHOOK_SECRET", "whsec_123"),
    ];

    #[test]
    fn a_deployed_portal_refuses_the_sandbox_unless_it_is_a_demo() {
        assert!(matches!(payments(false, &[]), Err(ConfigError::Missing("STRIPE_SECRET_KEY"))), "deployed, Stripe is the default");
        assert!(matches!(payments(false, &[("PAYMENT_PROCESSOR", "sandbox")]), Err(ConfigError::Invalid("PAYMENT_PROCESSOR", _))));
        assert_eq!(payments(false, &[("PAYMENT_PROCESSOR", "sandbox"), ("ALLOW_SANDBOX_PAYMENTS", "1")]).unwrap(), Payments::Sandbox);
        assert_eq!(payments(true, &[]).unwrap(), Payments::Sandbox, "a local run starts on the sandbox");
        assert!(matches!(payments(true, &[("PAYMENT_PROCESSOR", "paypal")]), Err(ConfigError::Invalid("PAYMENT_PROCESSOR", _))));
    }

    #[test]
    fn stripe_needs_its_keys_and_defaults_to_stripe_itself() {
        let Payments::Stripe(settings) = payments(false, &STRIPE).unwrap() else { panic!("stripe") };
        assert_eq!((settings.api_base.as_str(), settings.js_url.as_str()), ("https://api.stripe.com", "https://js.stripe.com/v3/"));
        assert_eq!((settings.api_origin(), settings.script_origin()), ("https://api.stripe.com", "https://js.stripe.com"));
        assert!(!format!("{settings:?}").contains("sk_test_123") && !format!("{settings:?}").contains("whsec_123"), "secrets never print");
        let mut local = STRIPE.to_vec();
        local.extend([("STRIPE_API_BASE", "http://127.0.0.1:8420/"), ("STRIPE_JS_URL", "http://127.0.0.1:8420/js.stripe.com/v3/")]);
        let Payments::Stripe(settings) = payments(true, &local).unwrap() else { panic!("stripe") };
        assert_eq!((settings.api_base.as_str(), settings.script_origin()), ("http://127.0.0.1:8420", "http://127.0.0.1:8420"));
        for (name, value) in
            [("STRIPE_SECRET_KEY", "pk_test_x"), ("STRIPE_PUBLISHABLE_KEY", "sk_test_x"), ("STRIPE_API_BASE", "http://evil.example")]
        {
            let mut vars = STRIPE.to_vec();
            vars.retain(|(k, _)| *k != name);
            vars.push((name, value));
            assert!(matches!(payments(false, &vars), Err(ConfigError::Invalid(n, _)) if n == name), "{name}={value}");
        }
        assert!(matches!(payments(false, &STRIPE[..3]), Err(ConfigError::Missing("STRIPE_WEBHOOK_SECRET"))));
    }

    /// `.cargo/config.toml` builds in the United States' zones and UTC (tests/tests/routing.rs checks the
    /// template offers only those).
    #[test]
    fn us_time_zones_are_built_in_and_others_are_not() {
        for zone in [
            "America/Chicago",
            "America/New_York",
            "America/Denver",
            "America/Phoenix",
            "America/Los_Angeles",
            "America/Anchorage",
            "America/Indiana/Indianapolis",
            "Pacific/Honolulu",
            "UTC",
        ] {
            assert!(zone.parse::<Tz>().is_ok(), "{zone}");
        }
        assert!("Europe/Paris".parse::<Tz>().is_err(), "zones outside the filter are left out");
    }
}
