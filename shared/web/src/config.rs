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
    /// `ORIGIN_VERIFY_SECRET`, `PORTAL_LOCAL`, `TABLE_NAME`, `MAIL_FROM`, `DYNAMODB_ENDPOINT`.
    pub fn from_env() -> Result<Config, ConfigError> {
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
