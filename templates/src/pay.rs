//! Paying an invoice: the pay form and the receipt; and the payment methods pages.

use chrono::{Datelike, NaiveDate};
use maud::{html, Markup};
use portal_domain::card::SourceErrors;
use portal_domain::{Invoice, Payment, PaymentSource, PaymentStatus, SourceDetails};

use crate::date;
use crate::layout::{alert, csrf, field, notice, page, Chrome, Field};
use crate::routes::Route;

/// The fields of a new card or bank account that may be shown again (never the numbers).
#[derive(Debug, Default, Clone)]
pub struct NewSourceValues {
    pub kind: String,
    pub exp_month: String,
    pub exp_year: String,
    pub postal_code: String,
    pub account_holder: String,
    pub account_type: String,
}

/// Where new card details are typed.
#[derive(Clone, Copy)]
pub enum CardEntry<'a> {
    /// The sandbox: test numbers typed into the portal's own fields.
    Typed { values: &'a NewSourceValues, errors: &'a SourceErrors },
    /// Stripe: Stripe.js's card Element. The browser confirms the setup with Stripe, then sends
    /// only the setup's id; card numbers never reach the portal.
    Stripe(StripeEntry<'a>),
}

/// What a page needs to run Stripe.js and complete a setup.
#[derive(Clone, Copy)]
pub struct StripeEntry<'a> {
    pub publishable_key: &'a str,
    pub js_url: &'a str,
    pub setup_id: &'a str,
    pub client_secret: &'a str,
    /// Why the last card was not saved (a decline, or a card not entered), shown by the field.
    pub error: Option<&'a str>,
}

/// Stripe's fields: the card Element mounts in `#card-element`, and a US bank account is found
/// through Stripe's bank connection (which shows Stripe's debit mandate). `portal.js` completes
/// the setup with Stripe when the form is sent, then lets the form go with the setup's id alone.
fn stripe_card_field(entry: &StripeEntry<'_>) -> Markup {
    html! {
        script src=(entry.js_url) {}
        input type="hidden" name="setup_intent" value=(entry.setup_id);
        fieldset.kind {
            legend { "Type" }
            label.choice { input type="radio" name="new_kind" value="card" checked; " Card" }
            label.choice { input type="radio" name="new_kind" value="bank"; " US bank account (ACH)" }
        }
        div.field.card-only.invalid[entry.error.is_some()] {
            p.label #card-label { "Card" }
            div #card-element .card-element role="group" aria-labelledby="card-label" aria-describedby="card-hint" {}
            p.hint #card-hint { "Your card details go straight to Stripe, the practice's payment processor. This portal never sees them." }
        }
        div.field.bank-only {
            label for="f-account_holder" { "Name on the bank account" }
            p.hint #bank-hint { "Stripe connects to your bank to find the account and asks you to authorize debits from it. This portal never sees the account number." }
            input #f-account_holder name="account_holder" type="text" autocomplete="name" aria-describedby="bank-hint";
        }
        p.error #card-errors role="alert" { @if let Some(e) = entry.error { (e) } }
        noscript { p.error { "Adding a card or bank account needs JavaScript, so that its details go to Stripe directly. Turn it on, or pay with a saved method." } }
    }
}

/// The attributes `portal.js` looks for on a form that completes a Stripe setup.
fn stripe_form_data(entry: &CardEntry<'_>) -> (Option<String>, Option<String>) {
    match entry {
        CardEntry::Stripe(s) => (Some(s.publishable_key.to_owned()), Some(s.client_secret.to_owned())),
        CardEntry::Typed { .. } => (None, None),
    }
}

/// The pay form as it stands.
pub struct PayForm<'a> {
    pub invoice: &'a Invoice,
    pub sources: &'a [PaymentSource],
    pub csrf_token: &'a str,
    pub idempotency_key: &'a str,
    pub amount: &'a str,
    /// A source id, or `new`.
    pub selected: &'a str,
    pub save: bool,
    pub entry: CardEntry<'a>,
    pub message: Option<&'a str>,
    pub amount_error: Option<&'a str>,
    pub source_error: Option<&'a str>,
    pub today: NaiveDate,
    /// The bank debit authorization's words, when the patient can pay from a bank account.
    pub ach_terms: Option<&'a str>,
    pub ach_checked: bool,
}

/// Whether a card has passed its expiry month.
pub fn is_expired(details: &SourceDetails, today: NaiveDate) -> bool {
    match details {
        SourceDetails::Card { exp_month, exp_year, .. } => (*exp_year, *exp_month) < (today.year(), today.month()),
        SourceDetails::BankAccount { .. } => false,
    }
}

fn source_line(s: &PaymentSource, today: NaiveDate) -> Markup {
    html! {
        (s.details.describe())
        @if let SourceDetails::Card { exp_month, exp_year, .. } = &s.details {
            span.muted { " · expires " (format!("{exp_month:02}/{exp_year}")) }
        }
        @if is_expired(&s.details, today) { " " span.badge.past-due { "Expired" } }
        @if s.is_default { " " span.badge { "Default" } }
    }
}

/// The card and bank account fields, shared by the pay form and the new payment method form.
pub fn new_source_fields(values: &NewSourceValues, errors: &SourceErrors, kind_error: Option<&str>) -> Markup {
    let card = values.kind != "bank";
    html! {
        fieldset.kind {
            legend { "Type" }
            @if let Some(e) = kind_error { p.error { (e) } }
            label.choice { input type="radio" name="new_kind" value="card" checked[card]; " Card" }
            label.choice { input type="radio" name="new_kind" value="bank" checked[!card]; " Bank account (ACH)" }
        }
        fieldset.card-only {
            legend { "Card" }
            (field(&Field { error: errors.card_number, autocomplete: Some("cc-number"), inputmode: Some("numeric"), ..Field::new("card_number", "Card number") }))
            div.inline-fields {
                (field(&Field { value: &values.exp_month, error: errors.expiry, autocomplete: Some("cc-exp-month"), inputmode: Some("numeric"), hint: Some("MM"), ..Field::new("exp_month", "Expiry month") }))
                (field(&Field { value: &values.exp_year, autocomplete: Some("cc-exp-year"), inputmode: Some("numeric"), hint: Some("YYYY"), ..Field::new("exp_year", "Expiry year") }))
                (field(&Field { error: errors.cvc, autocomplete: Some("cc-csc"), inputmode: Some("numeric"), hint: Some("3 or 4 digits"), ..Field::new("cvc", "Security code") }))
            }
            (field(&Field { value: &values.postal_code, error: errors.postal_code, autocomplete: Some("postal-code"), inputmode: Some("numeric"), ..Field::new("postal_code", "Billing ZIP code") }))
        }
        fieldset.bank-only {
            legend { "Bank account" }
            (field(&Field { value: &values.account_holder, error: errors.account_holder, autocomplete: Some("name"), ..Field::new("account_holder", "Name on the account") }))
            (field(&Field { error: errors.routing_number, inputmode: Some("numeric"), hint: Some("9 digits, at the bottom left of a check"), ..Field::new("routing_number", "Routing number") }))
            (field(&Field { error: errors.account_number, inputmode: Some("numeric"), ..Field::new("account_number", "Account number") }))
            div.field {
                label for="f-account_type" { "Account type" }
                select #f-account_type name="account_type" {
                    option value="checking" selected[values.account_type != "savings"] { "Checking" }
                    option value="savings" selected[values.account_type == "savings"] { "Savings" }
                }
            }
        }
    }
}

/// The new source's fields: the portal's own (sandbox) or Stripe's card field.
fn new_source_entry(entry: &CardEntry<'_>) -> Markup {
    match entry {
        CardEntry::Typed { values, errors } => new_source_fields(values, errors, None),
        CardEntry::Stripe(stripe) => stripe_card_field(stripe),
    }
}

/// `/invoices/{id}/pay`.
pub fn pay_page(chrome: &Chrome<'_>, f: &PayForm<'_>) -> Markup {
    let invoice = f.invoice;
    let body = html! {
        p.back { a href=(Route::Invoice(invoice.id().clone()).path()) { "← Invoice " (invoice.number()) } }
        h1 { "Pay invoice " (invoice.number()) }
        @if let Some(m) = f.message { (alert("error", m)) }
        dl.summary-list {
            dt { "Balance due" } dd #balance { (invoice.balance()) }
            @if !invoice.pending().is_zero() { dt { "Being processed" } dd { (invoice.pending()) } }
            dt { "Due" } dd { (date(invoice.due())) }
        }
        @if invoice.payable().is_zero() {
            // Nothing can be paid: no form that would only answer "enter an amount".
            @if invoice.pending().is_zero() {
                p #nothing-due { "This invoice is paid in full. Nothing is due." }
            } @else {
                p #nothing-due { "A payment of " (invoice.pending()) " is being processed. Nothing more can be paid on this invoice until it settles." }
            }
            p { a.button.secondary href=(Route::Invoices.path()) { "Back to invoices" } }
        } @else {
        @let (stripe_key, client_secret) = stripe_form_data(&f.entry);
        @let new_label = "A new card or bank account";
        form.pay method="post" action=(Route::PayInvoice(invoice.id().clone()).path()) novalidate data-stripe-key=[stripe_key] data-client-secret=[client_secret] {
            (csrf(f.csrf_token))
            input type="hidden" name="idempotency_key" value=(f.idempotency_key);
            (field(&Field { value: f.amount, error: f.amount_error, inputmode: Some("decimal"), hint: Some("Pay the whole balance or any part of it."), ..Field::new("amount", "Amount (USD)") }))
            fieldset.sources {
                legend { "Pay with" }
                @if let Some(e) = f.source_error { p.error #source-error { (e) } }
                @for s in f.sources {
                    @let expired = is_expired(&s.details, f.today);
                    label.choice {
                        input type="radio" name="source" value=(s.id) checked[f.selected == s.id.as_str()] disabled[expired];
                        // One flex item, so the name, expiry and badges wrap as one line of text on a phone.
                        span { (source_line(s, f.today)) }
                    }
                }
                label.choice { input type="radio" name="source" value="new" checked[f.selected == "new"]; " " (new_label) }
            }
            @if let Some(terms) = f.ach_terms {
                div.ach {
                    p.small.muted #ach-terms { (terms) }
                    label.choice {
                        input type="checkbox" name="ach_authorize" value="1" checked[f.ach_checked] aria-describedby="ach-terms";
                        " I authorize this bank debit (needed only to pay from a bank account)"
                    }
                }
            }
            details.new-source open[f.selected == "new" || f.sources.is_empty()] {
                summary { "New card or bank account" }
                (new_source_entry(&f.entry))
                label.choice { input type="checkbox" name="save" value="1" checked[f.save]; " Save it for future payments" }
            }
            button.primary type="submit" { "Pay now" }
        }
        }
    };
    page(chrome, &format!("Pay invoice {}", invoice.number()), body)
}

/// The page that runs the patient's 3-D Secure step (their bank's check that it is them) with
/// Stripe.js, then goes on to the receipt, which records the answer.
pub fn confirm_payment_page(chrome: &Chrome<'_>, payment: &Payment, publishable_key: &str, js_url: &str, client_secret: &str) -> Markup {
    let receipt = Route::Payment(payment.id.clone()).path();
    let body = html! {
        h1 { "Confirm the payment with your bank" }
        p { "Your bank asks you to confirm this payment of " strong { (payment.amount) } " with " (payment.source.describe()) ". A window from your bank opens; nothing is charged unless you confirm." }
        script src=(js_url) {}
        div #confirm-payment data-stripe-key=(publishable_key) data-payment-secret=(client_secret) data-next=(receipt) {}
        p.error #card-errors role="alert" {}
        noscript { p.error { "Confirming with your bank needs JavaScript. Nothing was charged: turn it on and open the receipt link below, or pay with another method." } }
        p { a.button.secondary href=(receipt) { "See where the payment stands" } }
    };
    page(chrome, "Confirm the payment", body)
}

fn status_text(payment: &Payment) -> (&'static str, &'static str) {
    match &payment.status {
        PaymentStatus::Succeeded => ("Payment received", "Thank you. Your payment went through."),
        PaymentStatus::Pending if matches!(payment.source, SourceDetails::BankAccount { .. }) && payment.gateway_reference.is_some() => (
            "Bank payment processing",
            "Bank payments take up to four business days to clear. The amount is on hold on the invoice meanwhile; if the bank refuses it, the amount is due again and you will be told.",
        ),
        PaymentStatus::Pending => (
            "Payment processing",
            "We could not confirm this payment with the processor yet. Nothing more will be charged; the practice will confirm it, and the amount is on hold meanwhile.",
        ),
        PaymentStatus::Declined(_) => ("Payment declined", "The payment was declined and nothing was charged."),
        PaymentStatus::Failed(_) => ("Payment failed", "The payment failed and nothing was charged."),
    }
}

/// `/payments/{id}`: the receipt.
pub fn receipt_page(chrome: &Chrome<'_>, payment: &Payment, invoice: &Invoice, paid_on: NaiveDate) -> Markup {
    let (title, text) = status_text(payment);
    let body = html! {
        h1 { (title) }
        @if matches!(payment.status, PaymentStatus::Succeeded) { (notice(text)) } @else { (alert("error", text)) }
        dl.summary-list.receipt {
            dt { "Invoice" } dd { a href=(Route::Invoice(invoice.id().clone()).path()) { (invoice.number()) } }
            dt { "Amount" } dd #receipt-amount { (payment.amount) }
            dt { "Paid with" } dd { (payment.source.describe()) }
            dt { "Date" } dd { (date(paid_on)) }
            dt { "New balance" } dd #receipt-balance { (invoice.balance()) }
            @if !payment.reversals.refunded.is_zero() { dt { "Refunded" } dd #receipt-refunded { (payment.reversals.refunded) } }
            @if payment.reversals.disputed {
                dt { "Dispute" } dd #receipt-disputed { "Your bank opened a dispute about this payment. The practice will be in touch." }
            }
            // The portal's own number for it; the processor's reference stays in the record.
            dt { "Receipt number" } dd { code { (payment.id) } }
        }
        @if let Some(ach) = &payment.ach_authorization {
            section.ach-record aria-labelledby="ach-heading" {
                h2 #ach-heading { "Your bank debit authorization" }
                p { (ach.text) }
                p.small.muted { "Given " (date(paid_on)) " from " (ach.ip) ", " (ach.user_agent) "." }
            }
        }
        p { a.button.secondary href=(Route::Invoices.path()) { "Back to invoices" } }
    };
    page(chrome, title, body)
}

/// `/payment-methods`.
pub fn methods_page(
    chrome: &Chrome<'_>,
    csrf_token: &str,
    sources: &[PaymentSource],
    today: NaiveDate,
    message: Option<&str>,
    info: Option<&str>,
) -> Markup {
    let only_one = sources.len() == 1;
    let body = html! {
        h1 { "Payment methods" }
        @if let Some(m) = message { (alert("error", m)) }
        @if let Some(m) = info { (notice(m)) }
        p { a.button href=(Route::NewPaymentMethod.path()) { "Add a card or bank account" } }
        @if sources.is_empty() { p { "No payment methods on file." } }
        ul.sources {
            @for s in sources {
                li.source data-source=(s.id) {
                    p.source-name { (source_line(s, today)) }
                    div.source-actions {
                        @if !s.is_default {
                            form method="post" action=(Route::DefaultPaymentMethod(s.id.clone()).path()) {
                                (csrf(csrf_token))
                                button.secondary type="submit" { "Make default" }
                            }
                        }
                        @if only_one {
                            p.small.muted { "This is your only payment method, so it cannot be removed. Add another first." }
                        } @else {
                            // Removing asks first (the next page), so one tap never removes a method.
                            a.button.secondary href=(Route::RemovePaymentMethod(s.id.clone()).path()) aria-label=(format!("Remove {}", s.details.describe())) { "Remove" }
                        }
                    }
                }
            }
        }
    };
    page(chrome, "Payment methods", body)
}

/// `/payment-methods/{id}/remove`: which method, and what removing it means, before it is removed.
pub fn remove_method_page(chrome: &Chrome<'_>, csrf_token: &str, source: &PaymentSource, today: NaiveDate) -> Markup {
    let name = source.details.describe();
    let body = html! {
        p.back { a href=(Route::PaymentMethods.path()) { "← Payment methods" } }
        h1 { "Remove " (name) "?" }
        p { (source_line(source, today)) }
        p { "It will no longer be offered when you pay. Payments already made with it are not changed." }
        @if source.is_default { p { "It is your default: another of your payment methods becomes the default." } }
        form method="post" action=(Route::RemovePaymentMethod(source.id.clone()).path()) {
            (csrf(csrf_token))
            div.actions {
                button.primary type="submit" { "Remove " (name) }
                a.button.secondary href=(Route::PaymentMethods.path()) { "Keep it" }
            }
        }
    };
    page(chrome, &format!("Remove {name}"), body)
}

/// `/payment-methods/new`.
pub fn new_method_page(chrome: &Chrome<'_>, csrf_token: &str, entry: &CardEntry<'_>, message: Option<&str>, make_default: bool) -> Markup {
    let (stripe_key, client_secret) = stripe_form_data(entry);
    let body = html! {
        p.back { a href=(Route::PaymentMethods.path()) { "← Payment methods" } }
        h1 { "Add a payment method" }
        @if let Some(m) = message { (alert("error", m)) }
        form method="post" action=(Route::NewPaymentMethod.path()) novalidate data-stripe-key=[stripe_key] data-client-secret=[client_secret] {
            (csrf(csrf_token))
            (new_source_entry(entry))
            label.choice { input type="checkbox" name="make_default" value="1" checked[make_default]; " Make it the default" }
            button.primary type="submit" { "Save" }
        }
    };
    page(chrome, "Add a payment method", body)
}
