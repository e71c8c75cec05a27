//! Mailers: SES v2 for deployments, an outbox for local runs and tests.

use std::sync::Mutex;

use async_trait::async_trait;
use aws_sdk_sesv2::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message as SesMessage, MessageHeader};
use portal_domain::ports::{MailError, Mailer, Message};

/// Sends through Amazon SES v2 from the practice's verified address.
pub struct SesMailer {
    client: aws_sdk_sesv2::Client,
    from: String,
}

impl SesMailer {
    pub fn new(client: aws_sdk_sesv2::Client, from: impl Into<String>) -> SesMailer {
        SesMailer { client, from: from.into() }
    }
}

/// What an SES error may say in a log: its kind and error code, never its message or the
/// request (SES's messages quote addresses: "the following identities failed the check: …").
fn redacted<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> String {
    let kind = match e {
        SdkError::ConstructionFailure(_) => "the request could not be built",
        SdkError::TimeoutError(_) => "timed out",
        SdkError::DispatchFailure(_) => "not sent (connection)",
        SdkError::ResponseError(_) => "an unreadable answer",
        SdkError::ServiceError(_) => "refused",
        _ => "failed",
    };
    match e.code() {
        Some(code) => format!("{kind} ({code})"),
        None => kind.to_owned(),
    }
}

fn content(text: &str) -> Result<Content, MailError> {
    Content::builder().data(text).charset("UTF-8").build().map_err(|e| MailError(anyhow::Error::new(e)))
}

#[async_trait]
impl Mailer for SesMailer {
    #[tracing::instrument(skip_all)]
    async fn send(&self, message: Message) -> Result<(), MailError> {
        let body = Body::builder().html(content(&message.html)?).text(content(&message.text)?).build();
        let mut email = SesMessage::builder().subject(content(&message.subject)?).body(body);
        for (name, value) in &message.headers {
            email = email.headers(MessageHeader::builder().name(name).value(value).build().map_err(|e| MailError(anyhow::Error::new(e)))?);
        }
        let email = email.build();
        self.client
            .send_email()
            .from_email_address(&self.from)
            .destination(Destination::builder().to_addresses(message.to).build())
            .content(EmailContent::builder().simple(email).build())
            .send()
            .await
            .map_err(|e| MailError(anyhow::anyhow!("SES SendEmail failed: {}", redacted(&e))))?;
        Ok(())
    }
}

/// Keeps every message instead of sending it; `/_dev/outbox` shows them in local runs.
#[derive(Default)]
pub struct OutboxMailer {
    sent: Mutex<Vec<Message>>,
}

impl OutboxMailer {
    pub fn new() -> OutboxMailer {
        OutboxMailer::default()
    }

    /// Every message so far, oldest first.
    pub fn messages(&self) -> Vec<Message> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The newest message to `to`.
    pub fn last_to(&self, to: &str) -> Option<Message> {
        self.messages().into_iter().rev().find(|m| m.to.eq_ignore_ascii_case(to))
    }
}

#[async_trait]
impl Mailer for OutboxMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).push(message);
        Ok(())
    }
}
