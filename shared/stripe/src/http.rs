//! Stripe's HTTP API as the portal calls it: a form-encoded request with the secret key, an
//! `Idempotency-Key` where a retry must not act twice, and a JSON answer read into the portal's
//! own small types. Over the HTTPS stack every function already carries for AWS (hyper and
//! rustls with ring, the system's root certificates), HTTP/1.1 only.
//!
//! Why not async-stripe's client (measured, docs/benchmarks.md): with its request builders for
//! the four resources the portal uses, the pay-invoice bootstrap grew from 5.5 MB to 10.6 MB,
//! against a 6 MB budget; these few requests are a page of code.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderValue, AUTHORIZATION, CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};

use crate::answers::ApiError;

/// The API version the portal's requests and answers are written for.
pub const STRIPE_VERSION: &str = "2025-09-30.clover";

/// Why a request did not give an answer the portal can read.
#[derive(Debug)]
pub enum Failure {
    /// Stripe answered with an error (a decline is 402).
    Api { status: u16, error: ApiError },
    /// No answer, or one that could not be read: the request may or may not have been acted on.
    Lost(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Api { status, error } => write!(f, "Stripe answered {status} ({})", error.code.as_deref().unwrap_or("no code")),
            Failure::Lost(why) => write!(f, "no usable answer from Stripe: {why}"),
        }
    }
}

#[derive(Debug, miniserde::Deserialize)]
struct ErrorBody {
    error: ApiError,
}

/// A client for one Stripe account (its secret key) at one API origin.
pub struct Http {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    base: String,
    authorization: HeaderValue,
    timeout: Duration,
}

impl Http {
    /// Loads the system's root certificates: done on the first request, not at a function's start.
    pub fn new(secret_key: &SecretString, base: &str, timeout: Duration) -> Result<Http, Failure> {
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| Failure::Lost(format!("no root certificates: {e}")))?
            .https_or_http()
            .enable_http1()
            .build();
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", secret_key.expose_secret()))
            .map_err(|_| Failure::Lost("the secret key is not a header value".into()))?;
        authorization.set_sensitive(true);
        Ok(Http {
            client: Client::builder(TokioExecutor::new()).build(connector),
            base: base.trim_end_matches('/').to_owned(),
            authorization,
            timeout,
        })
    }

    /// `GET /v1/{path}`.
    pub async fn get<T: miniserde::Deserialize>(&self, path: &str) -> Result<T, Failure> {
        self.call(Method::GET, path, &[], None).await
    }

    /// `POST /v1/{path}` with `form`, once per `idempotency_key` at Stripe.
    pub async fn post<T: miniserde::Deserialize>(
        &self,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<T, Failure> {
        self.call(Method::POST, path, form, idempotency_key).await
    }

    async fn call<T: miniserde::Deserialize>(
        &self,
        method: Method,
        path: &str,
        form: &[(&str, &str)],
        idempotency_key: Option<&str>,
    ) -> Result<T, Failure> {
        let body = encode(form);
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}/v1/{}", self.base, path.trim_start_matches('/')))
            .header(AUTHORIZATION, self.authorization.clone())
            .header(USER_AGENT, "patient-portal")
            .header("stripe-version", STRIPE_VERSION)
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(key) = idempotency_key {
            request = request.header("idempotency-key", key);
        }
        let request = request.body(Full::new(Bytes::from(body))).map_err(|e| Failure::Lost(e.to_string()))?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| Failure::Lost(e.to_string()))?;
            let status = response.status().as_u16();
            let bytes = response.into_body().collect().await.map_err(|e| Failure::Lost(e.to_string()))?.to_bytes();
            Ok::<_, Failure>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange).await.map_err(|_| Failure::Lost("timed out".into()))??;
        let text = std::str::from_utf8(&bytes).map_err(|_| Failure::Lost("an answer that is not UTF-8".into()))?;
        if (200..300).contains(&status) {
            miniserde::json::from_str(text).map_err(|_| Failure::Lost(format!("an unreadable answer to {path}")))
        } else {
            match miniserde::json::from_str::<ErrorBody>(text) {
                Ok(body) => Err(Failure::Api { status, error: body.error }),
                Err(_) => Err(Failure::Lost(format!("status {status} without Stripe's error"))),
            }
        }
    }
}

/// A form body as Stripe reads it: `key=value&metadata[key]=value`, percent-encoded.
pub fn encode(form: &[(&str, &str)]) -> String {
    let escape = |text: &str| -> String {
        text.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'[' | b']' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    form.iter().map(|(k, v)| format!("{}={}", escape(k), escape(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_are_encoded_as_stripe_reads_them() {
        assert_eq!(
            encode(&[("amount", "2500"), ("metadata[invoice]", "INV 1008/2"), ("customer", "cus_1")]),
            "amount=2500&metadata[invoice]=INV%201008%2F2&customer=cus_1"
        );
        assert_eq!(encode(&[]), "");
    }
}
