//! The payment-events function: `POST /stripe/webhook`, Stripe's events about the portal's
//! payments. Not a page: no session and no CSRF token, but Stripe's `Stripe-Signature` over the
//! raw body, checked with the endpoint's secret before anything is read. Each event is applied
//! once (`portal_domain::processor_events`); the answer tells Stripe whether to send it again:
//! 2xx applied or nothing to do, 400 a bad signature or body (Stripe does not retry those
//! usefully, and an attacker learns nothing), 503 the table could not be reached (Stripe retries).

use lambda_http::http::{header, HeaderValue, Method, StatusCode};
use lambda_http::{Body, Request, Response};
use portal_domain::processor_events::{self, Applied, ProcessorEvent};
use portal_domain::store;
use portal_domain::{Money, PaymentStatus};
use portal_stripe::events;
use portal_templates::routes::Route;
use portal_web::{body_bytes, public_url, through_cloudfront, App, Payments};
use secrecy::ExposeSecret;

/// Stripe's events are at most a few tens of kilobytes.
pub const MAX_EVENT_BYTES: usize = 256 * 1024;

fn answer(status: StatusCode, text: &'static str) -> Response<Body> {
    let mut response = Response::new(Body::Text(text.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Serves one request.
pub async fn handle(app: &App, req: Request) -> Response<Body> {
    let response = serve(app, &req).await;
    tracing::info!(route = "stripe-webhook", status = response.status().as_u16(), "request");
    response
}

async fn serve(app: &App, req: &Request) -> Response<Body> {
    if !through_cloudfront(app, req) {
        return answer(StatusCode::FORBIDDEN, "forbidden");
    }
    if Route::parse(req.uri().path()) != Some(Route::StripeWebhook) {
        return answer(StatusCode::NOT_FOUND, "not found");
    }
    if req.method() != Method::POST {
        let mut response = answer(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
        response.headers_mut().insert(header::ALLOW, HeaderValue::from_static("POST"));
        return response;
    }
    let Payments::Stripe(stripe) = &app.config.payments else {
        // The sandbox sends no events.
        return answer(StatusCode::NOT_FOUND, "not found");
    };
    let payload = body_bytes(req.body());
    if payload.len() > MAX_EVENT_BYTES {
        return answer(StatusCode::PAYLOAD_TOO_LARGE, "too large");
    }
    let signature = req.headers().get("stripe-signature").and_then(|v| v.to_str().ok()).unwrap_or("");
    if let Err(e) = events::verify(payload, signature, stripe.webhook_secret.expose_secret(), app.now().timestamp()) {
        tracing::warn!(error = %e, "a Stripe event was refused");
        return answer(StatusCode::BAD_REQUEST, "bad signature");
    }
    let (event_id, event) = match events::parse(payload) {
        Ok(parsed) => parsed,
        Err(_) => return answer(StatusCode::BAD_REQUEST, "unreadable event"),
    };
    let Some(event) = event else { return answer(StatusCode::OK, "ignored") };
    match apply(app, req, &event_id, &event).await {
        Ok(()) => answer(StatusCode::OK, "ok"),
        Err(e) => {
            tracing::error!(error = %e, "a Stripe event could not be applied; Stripe will send it again");
            answer(StatusCode::SERVICE_UNAVAILABLE, "try again")
        }
    }
}

/// Applies the event, then tells the owner what it decided (once: only the call that recorded it).
async fn apply(app: &App, req: &Request, event_id: &str, event: &ProcessorEvent) -> Result<(), portal_domain::StoreError> {
    let applied = processor_events::apply(app.table.as_ref(), event_id, event, app.now()).await?;
    let Applied::Recorded { before, payment } = applied else { return Ok(()) };
    tracing::info!(kind = kind(event), "a Stripe event was recorded");
    if !processor_events::decided(&before, &payment) {
        return Ok(());
    }
    let records = store::household(app.table.as_ref(), &payment.account).await?;
    // A charge that paid several invoices at once is told of as one payment, with each invoice.
    let mut parts = Vec::new();
    for part in records.ledger.batch(&payment)? {
        let Some(invoice) = records.ledger.invoice(&part.invoice)? else { return Ok(()) };
        parts.push((part, invoice));
    }
    let Some((first, first_invoice)) = parts.first() else { return Ok(()) };
    let url = public_url(app, req);
    let numbers: Vec<&str> = parts.iter().map(|(_, i)| i.number()).collect();
    let total: Money = parts.iter().map(|(p, _)| p.amount).sum();
    if payment.status == PaymentStatus::Succeeded {
        let new_balance = parts.iter().map(|(_, i)| i.balance()).sum();
        let invoices: Vec<&portal_domain::Invoice> = parts.iter().map(|(_, i)| i).collect();
        let receipt = portal_web::notices::Receipt { first, invoices: &invoices, total, new_balance, payer: first.paid_by.as_ref() };
        portal_web::notices::receipt(app, &url, &records, &receipt).await;
    } else if let Some(reason) = portal_domain::pay::decline_reason(&payment) {
        portal_web::notices::payment_failed(app, &url, &records, first_invoice, first, total, &numbers, reason).await;
    }
    Ok(())
}

fn kind(event: &ProcessorEvent) -> &'static str {
    match event {
        ProcessorEvent::Succeeded { .. } => "succeeded",
        ProcessorEvent::Failed { .. } => "failed",
        ProcessorEvent::Processing { .. } => "processing",
        ProcessorEvent::Refunded { .. } => "refunded",
        ProcessorEvent::Disputed { .. } => "disputed",
    }
}
