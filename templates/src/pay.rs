//! Paying an invoice: the pay form and the receipt; and the payment methods pages.

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::card::SourceErrors;
use portal_domain::{Invoice, Money, Payment, PaymentSource, PaymentStatus, SourceDetails};

use crate::date;
use crate::layout::{alert, csrf, field, notice, page, Chrome, Field};
use crate::routes::Route;

/// The fields of a new card or bank account that may be shown again (never the numbers): read
/// from a sent form (`Form::decode`, which leaves the numbers out, having no field for them).
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct NewSourceValues {
    #[serde(rename = "new_kind")]
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

/// What a pay form pays: one invoice (its pay page), or every invoice with something due
/// ("Pay total due"), oldest first.
#[derive(Clone, Copy)]
pub enum PayTarget<'a> {
    Invoice(&'a Invoice),
    Due(&'a [Invoice]),
}

impl<'a> PayTarget<'a> {
    pub fn invoices(&self) -> &'a [Invoice] {
        match self {
            PayTarget::Invoice(invoice) => std::slice::from_ref(*invoice),
            PayTarget::Due(invoices) => invoices,
        }
    }

    /// Where its form posts.
    pub fn route(&self) -> Route {
        match self {
            PayTarget::Invoice(invoice) => Route::PayInvoice(invoice.id().clone()),
            PayTarget::Due(_) => Route::PayDue,
        }
    }

    fn title(&self) -> String {
        match self {
            PayTarget::Invoice(invoice) => format!("Pay invoice {}", invoice.number()),
            PayTarget::Due(_) => "Pay total due".to_owned(),
        }
    }

    fn back(&self) -> Markup {
        match self {
            PayTarget::Invoice(invoice) => {
                html! { a href=(Route::Invoice(invoice.id().clone()).invoice_link(invoice.issued())) { "← Invoice " (invoice.number()) } }
            }
            PayTarget::Due(_) => html! { a href=(Route::Invoices.path()) { "← Invoices" } },
        }
    }
}

/// The pay form as it stands.
pub struct PayForm<'a> {
    pub target: PayTarget<'a>,
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

fn source_line(s: &PaymentSource, today: NaiveDate) -> Markup {
    html! {
        (s.details.describe())
        @if let SourceDetails::Card { exp_month, exp_year, .. } = &s.details {
            span.muted { " · expires " (format!("{exp_month:02}/{exp_year}")) }
        }
        @if s.is_expired(today) { " " span.badge.past-due { "Expired" } }
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

/// What is due on one invoice, above its pay form.
fn invoice_summary(invoice: &Invoice) -> Markup {
    html! {
        dl.summary-list {
            dt { "Balance due" } dd #balance { (invoice.balance()) }
            @if !invoice.pending().is_zero() { dt { "Being processed" } dd { (invoice.pending()) } }
            dt { "Due" } dd { (date(invoice.due())) }
        }
    }
}

/// What is due on every invoice "Pay total due" pays, oldest first, with the total.
fn due_summary(invoices: &[Invoice]) -> Markup {
    let total: Money = invoices.iter().map(Invoice::payable).sum();
    html! {
        h2 #due-heading { "Invoices with a balance due, oldest first" }
        div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
            table.due-invoices.stack aria-labelledby="due-heading" {
                thead { tr { th scope="col" { "Invoice" } th scope="col" { "Due" } th scope="col" .num { "Can be paid now" } } }
                tbody {
                    @for i in invoices {
                        tr {
                            td data-label="Invoice" { a href=(Route::Invoice(i.id().clone()).invoice_link(i.issued())) { (i.number()) } }
                            td data-label="Due" { (date(i.due())) }
                            td.num data-label="Can be paid now" { (i.payable()) }
                        }
                    }
                }
                tfoot { tr.due { th scope="row" colspan="2" { "Total due" } td.num #balance { (total) } } }
            }
        }
        @if invoices.len() == portal_domain::pay::MAX_INVOICES_PER_PAYMENT {
            p.small.muted { "One payment pays at most " (invoices.len()) " invoices, the oldest first. Pay again for the rest." }
        }
    }
}

/// `/invoices/{id}/pay` and `/pay-due`: the amount and how to pay it; sending it shows the
/// review, and nothing is charged before the patient confirms there.
pub fn pay_page(chrome: &Chrome<'_>, f: &PayForm<'_>) -> Markup {
    let target = f.target;
    let payable: Money = target.invoices().iter().map(Invoice::payable).sum();
    let body = html! {
        p.back { (target.back()) }
        h1 { (target.title()) }
        @if let Some(m) = f.message { (alert("error", m)) }
        @match target {
            PayTarget::Invoice(invoice) => (invoice_summary(invoice)),
            PayTarget::Due(invoices) => @if !invoices.is_empty() { (due_summary(invoices)) },
        }
        @if payable.is_zero() {
            // Nothing can be paid: no form that would only answer "enter an amount".
            @match target {
                PayTarget::Invoice(invoice) => @if invoice.pending().is_zero() {
                    p #nothing-due { "This invoice is paid in full. Nothing is due." }
                } @else {
                    p #nothing-due { "A payment of " (invoice.pending()) " is being processed. Nothing more can be paid on this invoice until it settles." }
                },
                PayTarget::Due(_) => p #nothing-due { "Nothing is due now. Payments being processed are not counted again." },
            }
            p { a.button.secondary href=(Route::Invoices.path()) { "Back to invoices" } }
        } @else {
        @let (stripe_key, client_secret) = stripe_form_data(&f.entry);
        @let new_label = "A new card or bank account";
        @let hint = match target {
            PayTarget::Invoice(_) => "Pay the whole balance or any part of it.",
            PayTarget::Due(_) => "Pay the total or any part of it: it goes to the oldest invoice first.",
        };
        form.pay method="post" action=(target.route().path()) novalidate data-stripe-key=[stripe_key] data-client-secret=[client_secret] {
            (csrf(f.csrf_token))
            input type="hidden" name="idempotency_key" value=(f.idempotency_key);
            (field(&Field { value: f.amount, error: f.amount_error, inputmode: Some("decimal"), hint: Some(hint), ..Field::new("amount", "Amount (USD)") }))
            fieldset.sources {
                legend { "Pay with" }
                @if let Some(e) = f.source_error { p.error #source-error { (e) } }
                @for s in f.sources {
                    @let expired = s.is_expired(f.today);
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
            p.small.muted { "You can check the payment on the next page before anything is charged." }
            button.primary type="submit" { "Review payment" }
        }
        }
    };
    page(chrome, &target.title(), body)
}

/// The review before a charge: what will be paid, on which invoices, with what.
pub struct PayReview<'a> {
    pub target: PayTarget<'a>,
    pub csrf_token: &'a str,
    pub amount: Money,
    /// Each invoice the amount reaches and its part, oldest first.
    pub parts: &'a [(&'a Invoice, Money)],
    /// "Visa ending 4242"; for new details, what can be told of them.
    pub source: &'a str,
    pub new_source: bool,
    pub save: bool,
    /// For a bank debit: the authorization the patient gives, in full.
    pub ach_text: Option<&'a str>,
    /// The form's fields, sent on unchanged with the answer.
    pub carried: &'a [(&'a str, &'a str)],
}

/// The review page: "Pay $140.00 with Visa ending 4242", each invoice's part, and two buttons:
/// pay now, or go back to the form with everything as typed. Works without JavaScript.
pub fn review_page(chrome: &Chrome<'_>, r: &PayReview<'_>) -> Markup {
    let action = r.target.route().path();
    let carried = html! {
        (csrf(r.csrf_token))
        @for (name, value) in r.carried { input type="hidden" name=(name) value=(value); }
    };
    let body = html! {
        p.back { (r.target.back()) }
        h1 { "Review your payment" }
        p.review-line #review-line {
            "Pay " strong { (r.amount) } " with " strong { @if r.new_source { "a new " } (r.source) }
            @if r.new_source { @if r.save { ", saved for future payments" } @else { ", used for this payment only" } }
            "."
        }
        h2 #review-heading { "What this payment pays" }
        div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
            table.review.stack aria-labelledby="review-heading" {
                thead { tr { th scope="col" { "Invoice" } th scope="col" .num { "Balance now" } th scope="col" .num { "Paid now" } th scope="col" .num { "Balance after" } } }
                tbody {
                    @for (invoice, part) in r.parts {
                        tr {
                            td data-label="Invoice" { (invoice.number()) }
                            td.num data-label="Balance now" { (invoice.balance()) }
                            td.num data-label="Paid now" { (part) }
                            td.num data-label="Balance after" { (invoice.balance() - *part) }
                        }
                    }
                }
                tfoot { tr.due { th scope="row" colspan="2" { "Total" } td.num #review-total { (r.amount) } td {} } }
            }
        }
        @if let Some(text) = r.ach_text {
            section.ach-record aria-labelledby="ach-heading" {
                h2 #ach-heading { "Your bank debit authorization" }
                p #ach-text { (text) }
            }
        }
        p { "Nothing has been charged yet." }
        div.actions {
            form method="post" action=(action) {
                (carried)
                input type="hidden" name="confirm" value="1";
                button.primary type="submit" { "Pay now" }
            }
            form method="post" action=(action) {
                (carried)
                input type="hidden" name="edit" value="1";
                button.secondary type="submit" { "Change" }
            }
        }
    };
    page(chrome, "Review your payment", body)
}

/// The page that runs the patient's 3-D Secure step (their bank's check that it is them) with
/// Stripe.js, then goes on to the receipt, which records the answer.
/// `total` is the whole payment (several invoices' parts, for "Pay total due").
pub fn confirm_payment_page(
    chrome: &Chrome<'_>,
    payment: &Payment,
    total: Money,
    receipt: &str,
    publishable_key: &str,
    js_url: &str,
    client_secret: &str,
) -> Markup {
    let body = html! {
        h1 { "Confirm the payment with your bank" }
        p { "Your bank asks you to confirm this payment of " strong { (total) } " with " (payment.source.describe()) ". A window from your bank opens; nothing is charged unless you confirm." }
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

/// `/payments/{id}`: the receipt. `parts` are what the payment paid, each with its invoice as
/// it stands now: one for a payment of one invoice, one an invoice for "Pay total due".
pub fn receipt_page(chrome: &Chrome<'_>, payment: &Payment, parts: &[(Payment, Invoice)], paid_on: NaiveDate) -> Markup {
    let (title, text) = status_text(payment);
    let total: Money = parts.iter().map(|(p, _)| p.amount).sum();
    let refunded: Money = parts.iter().map(|(p, _)| p.reversals.refunded).sum();
    let disputed = parts.iter().any(|(p, _)| p.reversals.disputed);
    let body = html! {
        h1 { (title) }
        @if matches!(payment.status, PaymentStatus::Succeeded) { (notice(text)) } @else { (alert("error", text)) }
        dl.summary-list.receipt {
            @if let [(_, invoice)] = parts {
                dt { "Invoice" } dd { a href=(Route::Invoice(invoice.id().clone()).invoice_link(invoice.issued())) { (invoice.number()) } }
            }
            dt { "Amount" } dd #receipt-amount { (total) }
            dt { "Paid with" } dd { (payment.source.describe()) }
            dt { "Date" } dd { (date(paid_on)) }
            @if let [(_, invoice)] = parts {
                dt { "New balance" } dd #receipt-balance { (invoice.balance()) }
            }
            @if !refunded.is_zero() { dt { "Refunded" } dd #receipt-refunded { (refunded) } }
            @if disputed {
                dt { "Dispute" } dd #receipt-disputed { "Your bank opened a dispute about this payment. The practice will be in touch." }
            }
            // The portal's own number for it; the processor's reference stays in the record.
            dt { "Receipt number" } dd { code { (payment.id) } }
        }
        @if parts.len() > 1 {
            h2 #parts-heading { "Invoices this payment paid" }
            div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                table.receipt-parts.stack aria-labelledby="parts-heading" {
                    thead { tr { th scope="col" { "Invoice" } th scope="col" .num { "Paid" } th scope="col" .num { "New balance" } } }
                    tbody {
                        @for (part, invoice) in parts {
                            tr {
                                td data-label="Invoice" { a href=(Route::Invoice(invoice.id().clone()).invoice_link(invoice.issued())) { (invoice.number()) } }
                                td.num data-label="Paid" { (part.amount) }
                                td.num data-label="New balance" { (invoice.balance()) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(ach) = &payment.ach_authorization {
            section.ach-record aria-labelledby="ach-heading" {
                h2 #ach-heading { "Your bank debit authorization" }
                p { (ach.text) }
                p.small.muted { "Given " (date(paid_on)) " from " (ach.ip) ", " (ach.user_agent) "." }
            }
        }
        div.actions {
            @if matches!(payment.status, PaymentStatus::Succeeded) {
                a.button #itemized-receipt href=(Route::Receipt(payment.id.clone()).receipt_link(&parts.iter().map(|(_, i)| (i.id(), i.issued())).collect::<Vec<_>>())) { "Itemized receipt" }
            }
            a.button.secondary href=(Route::Invoices.path()) { "Back to invoices" }
        }
    };
    page(chrome, title, body)
}

/// `/payment-methods`.
/// Automatic payment as the methods page shows it: `owner` may turn it on or off.
pub struct AutopayView<'a> {
    pub on: Option<&'a portal_domain::autopay::Autopay>,
    pub owner: bool,
}

pub fn methods_page(
    chrome: &Chrome<'_>,
    csrf_token: &str,
    sources: &[PaymentSource],
    today: NaiveDate,
    message: Option<&str>,
    info: Option<&str>,
    autopay: &AutopayView<'_>,
) -> Markup {
    let only_one = sources.len() == 1;
    let autopay_method = autopay.on.and_then(|a| sources.iter().find(|s| s.id == a.source)).map(|s| s.details.describe());
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
                        } @else if portal_domain::autopay::blocks_removal(autopay.on, &s.id) {
                            p.small.muted { "Automatic payment uses this method. Turn it off to remove this method." }
                        } @else {
                            // Removing asks first (the next page), so one tap never removes a method.
                            a.button.secondary href=(Route::RemovePaymentMethod(s.id.clone()).path()) aria-label=(format!("Remove {}", s.details.describe())) { "Remove" }
                        }
                    }
                }
            }
        }
        section.autopay aria-labelledby="autopay-heading" {
            h2 #autopay-heading { "Automatic payment" }
            @match (&autopay_method, autopay.owner) {
                (Some(method), true) => {
                    p #autopay-status { "On: each invoice is paid on its due date with " strong { (method) } "." }
                    form method="post" action=(Route::AutopayOff.path()) {
                        (csrf(csrf_token))
                        button.secondary type="submit" { "Turn off automatic payment" }
                    }
                }
                (Some(method), false) => p #autopay-status { "On: each invoice is paid on its due date with " strong { (method) } ". The account owner can turn it off." },
                (None, true) => {
                    p { "Have each invoice paid on its due date with your default method, without signing in." }
                    a.button.secondary href=(Route::Autopay.path()) { "Set up automatic payment" }
                }
                (None, false) => p { "Off. The account owner can turn it on." },
            }
        }
    };
    page(chrome, "Payment methods", body)
}

/// `/payment-methods/autopay`: the authorization the owner reads and accepts before autopay is on.
pub fn autopay_page(chrome: &Chrome<'_>, csrf_token: &str, default: Option<&PaymentSource>, text: &str, error: Option<&str>) -> Markup {
    let body = html! {
        p.back { a href=(Route::PaymentMethods.path()) { "← Payment methods" } }
        h1 { "Automatic payment" }
        @if let Some(e) = error { (alert("error", e)) }
        @match default {
            None => p { "Add a payment method and make it the default first." },
            Some(source) => {
                p { "Each invoice will be paid on its due date with " strong { (source.details.describe()) } ", your default method. You can turn it off at any time on Payment methods." }
                h2 #authorization-heading { "Authorization" }
                p #autopay-authorization { (text) }
                form method="post" action=(Route::Autopay.path()) {
                    (csrf(csrf_token))
                    // The method this authorization names: if the default changes meanwhile, nothing is turned on.
                    input type="hidden" name="source" value=(source.id);
                    div.field.invalid[error.is_some()] {
                        label.choice { input type="checkbox" name="authorize" value="1" aria-invalid=[error.map(|_| "true")]; " I have read this authorization and agree to it" }
                    }
                    button.primary type="submit" { "Turn on automatic payment" }
                }
            }
        }
    };
    page(chrome, "Automatic payment", body)
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
