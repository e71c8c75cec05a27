//! Posting feed events to the practice's endpoint: one JSON event per request, signed (see
//! [`crate::signature`]), retried with backoff. A 2xx answer is a delivery; anything else, or no
//! answer, is tried again. Over the HTTPS stack every function already carries (hyper and rustls
//! with ring, the system's root certificates).

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{CONTENT_TYPE, USER_AGENT};
use hyper::{Method, Request};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use portal_domain::feed::FeedEvent;

use crate::signature::Secret;

/// How a delivery is tried: the waits between attempts (so attempts = waits + 1), and how long
/// one attempt may take.
#[derive(Debug, Clone)]
pub struct Retry {
    pub waits: Vec<Duration>,
    pub timeout: Duration,
}

impl Retry {
    /// As the deployed function tries: five attempts 1, 2, 4 and 8 seconds apart, each given 5
    /// seconds (40 s at worst, inside the function's 60 s); then the stream's own retries take over.
    pub fn deployed() -> Retry {
        Retry { waits: [1, 2, 4, 8].map(Duration::from_secs).to_vec(), timeout: Duration::from_secs(5) }
    }

    /// The longest one event's delivery can take.
    pub fn worst_case(&self) -> Duration {
        self.waits.iter().sum::<Duration>() + self.timeout * (self.waits.len() as u32 + 1)
    }
}

/// What became of one event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// The endpoint answered 2xx.
    Delivered { attempts: usize },
    /// Every attempt failed; the last answer (a status, or why there was none).
    Failed { attempts: usize, last: String },
}

/// The practice's endpoint and the secret its events are signed with.
pub struct Webhook {
    client: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
    url: String,
    secret: Secret,
    pub retry: Retry,
}

impl Webhook {
    /// `url` is http(s); the system's root certificates are loaded here, once per function.
    pub fn new(url: &str, secret: Secret, retry: Retry) -> anyhow::Result<Webhook> {
        anyhow::ensure!(url.starts_with("https://") || url.starts_with("http://"), "the practice's webhook URL must be http(s)");
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| anyhow::anyhow!("no root certificates: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Webhook { client: Client::builder(TokioExecutor::new()).build(connector), url: url.to_owned(), secret, retry })
    }

    /// Posts `event` until the endpoint takes it or the attempts run out. Each attempt is signed
    /// afresh (its timestamp is its own); the `webhook-id` is the event's id on every attempt, so
    /// the receiver can tell a repeat.
    pub async fn deliver(&self, event: &FeedEvent) -> Delivery {
        let body = Bytes::from(event.to_json());
        let mut last = String::new();
        for attempt in 1..=self.retry.waits.len() + 1 {
            match self.attempt(event, body.clone()).await {
                Ok(()) => return Delivery::Delivered { attempts: attempt },
                Err(why) => {
                    tracing::warn!(event = %event.id, attempt, why = %why, "the practice's endpoint did not take a feed event");
                    last = why;
                }
            }
            if let Some(wait) = self.retry.waits.get(attempt - 1) {
                tokio::time::sleep(*wait).await;
            }
        }
        Delivery::Failed { attempts: self.retry.waits.len() + 1, last }
    }

    async fn attempt(&self, event: &FeedEvent, body: Bytes) -> Result<(), String> {
        let timestamp = chrono::Utc::now().timestamp();
        let request = Request::builder()
            .method(Method::POST)
            .uri(&self.url)
            .header(CONTENT_TYPE, "application/json")
            .header(USER_AGENT, "patient-portal-feed")
            .header("webhook-id", &event.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", self.secret.sign(&event.id, timestamp, &body))
            .body(Full::new(body))
            .map_err(|e| e.to_string())?;
        let exchange = async {
            let response = self.client.request(request).await.map_err(|e| format!("no answer: {e}"))?;
            let status = response.status();
            // Read (and drop) the answer so the connection can be used again.
            let _ = response.into_body().collect().await;
            if status.is_success() {
                Ok(())
            } else {
                Err(format!("answered {}", status.as_u16()))
            }
        };
        tokio::time::timeout(self.retry.timeout, exchange).await.map_err(|_| "timed out".to_owned())?
    }
}
