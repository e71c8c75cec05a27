//! The pay-invoice function: `/invoices/{id}/pay`, "Pay total due" at `/pay-due`, and the
//! receipt at `/payments/{id}`. Sending a pay form shows a review ("Pay $140.00 with Visa ending
//! 4242"); only its "Pay now" charges. Only whoever handles the household's billing pays (the
//! owner, or a member the owner shares it with); for anyone else these pages do not exist (404).

use lambda_http::http::{Method, StatusCode};
use portal_domain::card::SourceErrors;
use portal_domain::pay::{self, AchConsent, PayOutcome, PayRequest, PaySource};
use portal_domain::ports::random_token;
use portal_domain::ports::SetupResult;
use portal_domain::sources;
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{Invoice, InvoiceId, Money, Payment, PaymentId, PaymentStatus};
use portal_templates::layout::Section;
use portal_templates::pay::{
    confirm_payment_page, pay_page, receipt_page, review_page, CardEntry, NewSourceValues, PayForm, PayReview, PayTarget, StripeEntry,
};
use portal_templates::routes::{Function, Route};
use portal_web::form::Form;
use portal_web::{html, payment_form, see_other, stripe_html, App, Ctx, PageError, PageResult, Payments};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::PayInvoice, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (r @ (Route::PayInvoice(_) | Route::PayDue), Method::GET) => pay_form(app, ctx, &r).await,
        (r @ (Route::PayInvoice(_) | Route::PayDue), Method::POST) => pay_submit(app, ctx, &r).await,
        (Route::Payment(id), Method::GET) => receipt(app, ctx, &id).await,
        _ => Err(PageError::NotFound),
    }
}

/// What a pay route pays: one of this household's invoices (another household's id is as
/// unknown as a made-up one), or every invoice with something due, oldest first.
enum Target {
    One(Invoice),
    Due(Vec<Invoice>),
}

impl Target {
    fn of(records: &HouseholdRecords, route: &Route) -> Result<Target, PageError> {
        match route {
            Route::PayInvoice(id) => Ok(Target::One(find_invoice(records, id)?)),
            _ => Ok(Target::Due(pay::due_oldest_first(records.ledger.invoices()?))),
        }
    }

    fn view(&self) -> PayTarget<'_> {
        match self {
            Target::One(invoice) => PayTarget::Invoice(invoice),
            Target::Due(invoices) => PayTarget::Due(invoices),
        }
    }

    fn invoices(&self) -> &[Invoice] {
        self.view().invoices()
    }
}

/// This household's invoice.
fn find_invoice(records: &HouseholdRecords, id: &InvoiceId) -> Result<Invoice, PageError> {
    records.ledger.invoice(id)?.ok_or(PageError::NotFound)
}

/// A fresh idempotency key for a newly rendered form.
fn new_key(app: &App) -> String {
    random_token(app.random.as_ref(), 24)
}

/// The source the form starts with (see `pay::preselected`), or `new`.
fn preselected(app: &App, records: &HouseholdRecords) -> String {
    pay::preselected(&records.sources, app.today()).map_or_else(|| "new".to_owned(), |s| s.id.to_string())
}

struct Rendered<'a> {
    amount: &'a str,
    selected: &'a str,
    save: bool,
    values: NewSourceValues,
    message: Option<String>,
    amount_error: Option<String>,
    source_error: Option<&'static str>,
    errors: SourceErrors,
    /// Why Stripe did not take the new card.
    card_error: Option<String>,
    /// The bank debit authorization box was checked.
    ach_checked: bool,
    key: String,
}

fn unavailable(e: impl std::error::Error + Send + Sync + 'static) -> PageError {
    PageError::Unavailable(anyhow::Error::new(e))
}

/// The invoice numbers a target's payment is for, as the bank debit authorization names them.
fn numbers(invoices: &[Invoice]) -> Vec<&str> {
    invoices.iter().map(Invoice::number).collect()
}

/// The pay form; with Stripe, a fresh setup lets the patient enter a new card or bank account in Stripe's fields.
async fn render(app: &App, ctx: &Ctx, records: &HouseholdRecords, target: &Target, r: Rendered<'_>, status: StatusCode) -> PageResult {
    let csrf = ctx.session()?.csrf_token.clone();
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    // Any household may pay from a bank account (one on file, or a new one), once it authorizes the debit.
    let ach_terms = pay::ach_authorization_text(&app.config.practice_name, None, None, &numbers(target.invoices()), app.today());
    let mut form = PayForm {
        target: target.view(),
        sources: &records.sources,
        csrf_token: &csrf,
        idempotency_key: &r.key,
        amount: r.amount,
        selected: r.selected,
        save: r.save,
        entry: CardEntry::Typed { values: &r.values, errors: &r.errors },
        message: r.message.as_deref(),
        amount_error: r.amount_error.as_deref(),
        source_error: r.source_error,
        today: app.today(),
        ach_terms: Some(&ach_terms),
        ach_checked: r.ach_checked,
    };
    match &app.config.payments {
        Payments::Sandbox | Payments::Off => Ok(html(status, pay_page(&chrome, &form))),
        Payments::Stripe(stripe) => {
            let household = records.household.as_ref().ok_or(PageError::NotFound)?;
            let customer = sources::customer(app.table.as_ref(), app.gateway.as_ref(), household).await.map_err(unavailable)?;
            let setup = app.gateway.begin_setup(&customer).await.map_err(unavailable)?;
            form.entry = CardEntry::Stripe(StripeEntry {
                publishable_key: &stripe.publishable_key,
                js_url: &stripe.js_url,
                setup_id: &setup.id,
                client_secret: &setup.client_secret,
                error: r.card_error.as_deref(),
            });
            Ok(stripe_html(status, pay_page(&chrome, &form), stripe))
        }
    }
}

/// The pay form. A link that names the oldest invoice it pays (`Route::pay_link`) has it read
/// the invoices from that date up with the profile; any other, or one whose date misses an
/// invoice it pays, reads the household whole.
async fn pay_form(app: &App, ctx: &mut Ctx, route: &Route) -> PageResult {
    let since = portal_templates::routes::linked_date(ctx.query(portal_templates::routes::SINCE));
    let bounded = match since {
        Some(since) => ctx.billing_open_since_or_404(app, since).await?,
        None => None,
    };
    let found = bounded
        .filter(|read| read.serves(!matches!(route, Route::PayInvoice(_))))
        .and_then(|read| Target::of(&read.records, route).ok().map(|target| (read.records, target)));
    let (records, target) = match found {
        Some(found) => found,
        // Not all among the invoices read (one issued before `since`, or none of this household's).
        None => {
            let records = ctx.billing_household_or_404(app).await?;
            let target = Target::of(&records, route)?;
            (records, target)
        }
    };
    // A paid invoice's page says so itself (the template shows no form then).
    let amount = pay::payable_on(target.invoices()).plain();
    let selected = preselected(app, &records);
    let rendered = Rendered {
        amount: &amount,
        selected: &selected,
        save: false,
        values: NewSourceValues::default(),
        message: None,
        amount_error: None,
        source_error: None,
        errors: SourceErrors::default(),
        card_error: None,
        ach_checked: false,
        key: new_key(app),
    };
    render(app, ctx, &records, &target, rendered, StatusCode::OK).await
}

/// A key as the form carries it: what `random_token` makes, nothing else.
fn valid_key(key: &str) -> bool {
    (16..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The pay form's fields that the review sends on unchanged (its own CSRF token aside).
const CARRIED: [&str; 16] = [
    "idempotency_key",
    "amount",
    "source",
    "save",
    "ach_authorize",
    "new_kind",
    "card_number",
    "exp_month",
    "exp_year",
    "cvc",
    "postal_code",
    "account_holder",
    "routing_number",
    "account_number",
    "account_type",
    "setup_intent",
];

const ACH_NEEDED: &str = "To pay from a bank account, check the box that authorizes the debit.";

/// A sent pay form: answered with the form and what to correct, the review, or (once the review's
/// "Pay now" is pressed) the payment. `edit` (the review's "Change") brings the form back as typed.
async fn pay_submit(app: &App, ctx: &mut Ctx, route: &Route) -> PageResult {
    let records = ctx.billing_household_or_404(app).await?;
    let target = Target::of(&records, route)?;
    let form = ctx.form.clone();
    let key = form.text("idempotency_key").to_owned();
    if !valid_key(&key) {
        return Err(PageError::BadRequest("The payment form was incomplete. Open it again and retry."));
    }
    let amount_text = form.text("amount");
    let selected = form.text("source");
    let save = form.get("save").is_some();
    let mut rendered = Rendered {
        amount: amount_text,
        selected,
        save,
        values: payment_form::values(&form),
        message: None,
        amount_error: None,
        source_error: None,
        errors: SourceErrors::default(),
        card_error: None,
        ach_checked: form.get("ach_authorize").is_some(),
        key: key.clone(),
    };
    let account = ctx.session()?.account.clone();
    if let Some(first) = pay::replayed(app.table.as_ref(), &account, &key).await? {
        // The same form again (a double click, a reload): the first attempt's answer.
        return answer(app, ctx, &records, &target, rendered, PayOutcome::Replayed(first)).await;
    }
    if form.get("edit").is_some() {
        forget_setup(app, &records, &form).await;
        return render(app, ctx, &records, &target, rendered, StatusCode::OK).await;
    }
    let amount = match pay::amount_to_pay(amount_text, target.invoices()) {
        Ok(amount) => Some(amount),
        Err(e) => {
            rendered.amount_error = Some(e);
            None
        }
    };
    let source = chosen_source(app, &records, &form, &mut rendered).await?;
    let (Some(amount), Some(source)) = (amount, source) else {
        rendered.message = Some("Please correct the highlighted fields. Nothing was charged.".into());
        return render(app, ctx, &records, &target, rendered, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    if pay::needs_ach_authorization(&source, rendered.ach_checked) {
        rendered.source_error = Some(ACH_NEEDED);
        rendered.message = Some("Nothing was charged.".into());
        return render(app, ctx, &records, &target, rendered, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if form.get("confirm").is_none() {
        return review(app, ctx, &target, amount, &source, &form);
    }
    let split = pay::allocate(target.invoices(), amount).map(|parts| pay::allocation_text(&parts));
    if split.as_deref() != Some(form.text("allocation")) {
        // Paid meanwhile (by the other adult billing is shared with, say): what the review showed
        // is no longer what would be charged.
        forget_setup(app, &records, &form).await;
        rendered.message =
            Some("The amounts due changed since you reviewed this payment. Nothing was charged: check it and review it again.".into());
        rendered.key = new_key(app);
        return render(app, ctx, &records, &target, rendered, StatusCode::CONFLICT).await;
    }
    let session = ctx.session()?.clone();
    let request = PayRequest {
        account: &session.account,
        invoices: target.invoices(),
        amount,
        source,
        idempotency_key: &key,
        existing_sources: records.sources.len(),
        customer: records.household.as_ref().and_then(|h| h.processor_customer.as_deref()),
        ach_consent: rendered.ach_checked.then_some(AchConsent {
            practice: &app.config.practice_name,
            today: app.today(),
            ip: &ctx.client_ip,
            user_agent: &ctx.user_agent,
        }),
        standing: None,
        payer: Some(&session.member),
        now: app.now(),
    };
    let outcome = pay::pay(app.table.as_ref(), app.gateway.as_ref(), app.random.as_ref(), request).await.map_err(|e| match e {
        pay::PayError::Store(s) => PageError::from(s),
        pay::PayError::Gateway(g) => PageError::Unavailable(anyhow::Error::new(g)),
    })?;
    if let PayOutcome::Succeeded(payment)
    | PayOutcome::Declined(payment)
    | PayOutcome::Pending(payment)
    | PayOutcome::Processing(payment)
    | PayOutcome::NeedsAction { payment, .. } = &outcome
    {
        let action = match payment.status {
            PaymentStatus::Succeeded => "payment.succeeded",
            PaymentStatus::Pending => "payment.pending",
            _ => "payment.declined",
        };
        let paid = pay::allocate(target.invoices(), amount).unwrap_or_default();
        let numbers: Vec<&str> = paid.iter().map(|(i, _)| i.number()).collect();
        let detail = format!("{} · {} · {}", numbers.join(", "), amount, pay::source_label(&payment.source));
        let event = ctx.event(app, action)?.subject(payment.id.to_string()).detail(detail);
        ctx.record(app, event).await;
    }
    answer(app, ctx, &records, &target, rendered, outcome).await
}

/// The source the form chose, or why it cannot be used (noted in `rendered`).
async fn chosen_source(
    app: &App,
    records: &HouseholdRecords,
    form: &Form,
    rendered: &mut Rendered<'_>,
) -> Result<Option<PaySource>, PageError> {
    let save = rendered.save;
    Ok(match pay::choice(form.text("source"), payment_form::typed_new(form)) {
        pay::Choice::Ambiguous => {
            rendered.source_error = Some(pay::AMBIGUOUS_CHOICE);
            None
        }
        pay::Choice::New => match &app.config.payments {
            Payments::Sandbox | Payments::Off => match payment_form::parse(form, app.today()) {
                Ok(source) => Some(PaySource::New { source, save }),
                Err(errors) => {
                    rendered.errors = errors;
                    None
                }
            },
            Payments::Stripe(_) => {
                let setup = form.text("setup_intent");
                match sources::finish_setup(app.gateway.as_ref(), records.household.as_ref(), setup).await.map_err(unavailable)? {
                    SetupResult::Saved(source) => Some(PaySource::SetUp { source, save }),
                    SetupResult::Declined { reason } => {
                        rendered.card_error = Some(reason);
                        None
                    }
                    SetupResult::Unfinished => {
                        rendered.card_error = Some(sources::SETUP_UNFINISHED.into());
                        None
                    }
                }
            }
        },
        pay::Choice::Saved(selected) => match pay::saved_source(&records.sources, selected, app.today()) {
            Ok(source) => Some(PaySource::Saved(source.clone())),
            Err(why) => {
                rendered.source_error = Some(why);
                None
            }
        },
    })
}

/// Back from the review to the form: a card or bank account set up with Stripe for this payment
/// only is detached at once (the form sets up a fresh one), so none is left on file unseen.
async fn forget_setup(app: &App, records: &HouseholdRecords, form: &Form) {
    let Payments::Stripe(_) = &app.config.payments else { return };
    if form.text("source") != "new" || form.get("save").is_some() {
        return;
    }
    if let Ok(SetupResult::Saved(source)) =
        sources::finish_setup(app.gateway.as_ref(), records.household.as_ref(), form.text("setup_intent")).await
    {
        if let Err(e) = app.gateway.detach(&source.token).await {
            tracing::warn!(error = %e, "a source set up for one payment could not be detached");
        }
    }
}

/// "Pay $140.00 with Visa ending 4242": what the payment will do, before anything is charged.
fn review(app: &App, ctx: &Ctx, target: &Target, amount: Money, source: &PaySource, form: &Form) -> PageResult {
    let parts = pay::allocate(target.invoices(), amount).ok_or(PageError::BadRequest("Nothing can be paid on these invoices."))?;
    let paid: Vec<&str> = parts.iter().map(|(i, _)| i.number()).collect();
    let ach_text = source
        .is_bank()
        .then(|| pay::ach_authorization_text(&app.config.practice_name, Some(amount), source.details(), &paid, app.today()));
    let split = pay::allocation_text(&parts);
    let mut carried: Vec<(&str, &str)> = CARRIED.iter().filter_map(|n| form.get(n).filter(|v| !v.is_empty()).map(|v| (*n, v))).collect();
    carried.push(("allocation", &split));
    let csrf = ctx.session()?.csrf_token.clone();
    let label = source.describe();
    let page = review_page(
        &ctx.chrome(app, Some(Section::Invoices)),
        &PayReview {
            target: target.view(),
            csrf_token: &csrf,
            amount,
            parts: &parts,
            source: &label,
            new_source: source.is_new(),
            save: source.saves(),
            ach_text: ach_text.as_deref(),
            carried: &carried,
        },
    );
    Ok(html(StatusCode::OK, page))
}

/// The page or redirect a payment attempt's outcome calls for.
async fn answer(
    app: &App,
    ctx: &mut Ctx,
    records: &HouseholdRecords,
    target: &Target,
    mut rendered: Rendered<'_>,
    outcome: PayOutcome,
) -> PageResult {
    match outcome {
        PayOutcome::Succeeded(payment) => {
            // The receipt's balances are the invoices' before this payment, less what it paid.
            let total = Money::parse_payment(rendered.amount).unwrap_or(payment.amount);
            let parts = pay::allocate(target.invoices(), total).unwrap_or_default();
            let invoices: Vec<&Invoice> = parts.iter().map(|(i, _)| *i).collect();
            let new_balance = parts.iter().map(|(i, part)| i.balance() - *part).sum();
            let payer = payment.paid_by.as_ref();
            let receipt = portal_web::notices::Receipt { first: &payment, invoices: &invoices, total, new_balance, payer };
            portal_web::notices::receipt(app, &ctx.public_url, records, &receipt).await;
            Ok(see_other(&receipt_link(&payment, target)))
        }
        // Not decided yet: the receipt says it is processing; the processor's event or
        // `portal reconcile` settles it.
        PayOutcome::Pending(payment) | PayOutcome::Processing(payment) => Ok(see_other(&receipt_link(&payment, target))),
        // The patient's bank wants them to confirm: Stripe.js runs that step, then the receipt records it.
        PayOutcome::NeedsAction { payment, client_secret } => match &app.config.payments {
            Payments::Stripe(stripe) => {
                let chrome = ctx.chrome(app, Some(Section::Invoices));
                let total = Money::parse_payment(rendered.amount).unwrap_or(payment.amount);
                let next = receipt_link(&payment, target);
                let page = confirm_payment_page(&chrome, &payment, total, &next, &stripe.publishable_key, &stripe.js_url, &client_secret);
                Ok(stripe_html(StatusCode::OK, page, stripe))
            }
            Payments::Sandbox | Payments::Off => Ok(see_other(&receipt_link(&payment, target))),
        },
        PayOutcome::Declined(payment) | PayOutcome::Replayed(payment) if pay::decline_reason(&payment).is_some() => {
            rendered.message = pay::decline_reason(&payment).map(|r| format!("{r} Nothing was charged."));
            rendered.key = new_key(app);
            render(app, ctx, records, target, rendered, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        PayOutcome::Declined(payment) | PayOutcome::Replayed(payment) => Ok(see_other(&receipt_link(&payment, target))),
        PayOutcome::NeedsAchAuthorization => {
            rendered.source_error = Some(ACH_NEEDED);
            rendered.message = Some("Nothing was charged.".into());
            render(app, ctx, records, target, rendered, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        PayOutcome::OverBalance { payable } => {
            rendered.amount_error = Some(pay::over_balance(payable));
            rendered.message = Some("Nothing was charged.".into());
            render(app, ctx, records, target, rendered, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// The link of the receipt of `payment` (its first part), naming the invoices of what the form
/// paid (`Route::receipt_link`). Should those not be the payment's parts (a form sent again after
/// the invoices changed), the receipt finds that out and reads the household whole.
fn receipt_link(payment: &Payment, target: &Target) -> String {
    let named: Vec<_> = match (&payment.batch, payment.invoice_issued) {
        (None, Some(issued)) => vec![(&payment.invoice, issued)],
        _ => target.invoices().iter().map(|i| (i.id(), i.issued())).collect(),
    };
    Route::Payment(payment.id.clone()).receipt_link(&named)
}

/// A payment's parts with their invoices as they stand (one part, unless it paid several invoices).
fn parts_of(records: &HouseholdRecords, first: &Payment) -> Result<Vec<(Payment, Invoice)>, PageError> {
    records.ledger.batch(first)?.into_iter().map(|p| Ok((find_invoice(records, &p.invoice)?, p))).map(|r| r.map(|(i, p)| (p, i))).collect()
}

/// `/payments/{id}`: what became of a payment. Its links name its invoices
/// (`Route::receipt_link`), so a decided payment's page reads them by key with the copies of
/// their payments (`store::applied::payment_read`); one still pending, or a link without them,
/// reads the household whole (a pending payment is asked about at the processor first).
async fn receipt(app: &App, ctx: &mut Ctx, id: &PaymentId) -> PageResult {
    let named = portal_templates::routes::linked_invoices(ctx.query(portal_templates::routes::INVOICES));
    if !named.is_empty() {
        if let Some(read) = ctx.billing_payment_or_404(app, id, &named).await? {
            if read.parts.iter().all(|(p, _)| p.status != PaymentStatus::Pending) {
                let first = &read.parts[0].0;
                let page = receipt_page(&ctx.chrome(app, Some(Section::Invoices)), first, &read.parts, app.date_of(first.at));
                return Ok(html(StatusCode::OK, page));
            }
        }
    }
    let mut records = ctx.billing_household_or_404(app).await?;
    let payment = records.ledger.payment(id)?.ok_or(PageError::NotFound)?;
    let mut parts = parts_of(&records, &payment)?;
    if parts.iter().any(|(p, _)| p.status == PaymentStatus::Pending) {
        // Back from the bank's 3-D Secure step, or waiting for a bank debit: ask the processor
        // now, so the patient sees what became of it rather than "processing".
        let before: Money = parts.iter().map(|(_, i)| i.balance()).sum();
        let mut keyed: Vec<(Payment, portal_domain::ports::Key)> = parts.iter().map(|(p, i)| (p.clone(), store::invoice_key(i))).collect();
        match pay::refresh(app.table.as_ref(), app.gateway.as_ref(), &mut keyed, app.now()).await {
            Ok(true) => {
                let first = &keyed[0].0;
                let action = if first.status == PaymentStatus::Succeeded { "payment.succeeded" } else { "payment.declined" };
                let invoices: Vec<&Invoice> = parts.iter().map(|(_, i)| i).collect();
                let numbers: Vec<&str> = invoices.iter().map(|i| i.number()).collect();
                let total: Money = keyed.iter().map(|(p, _)| p.amount).sum();
                let detail = format!("{} · {} · {}", numbers.join(", "), total, pay::source_label(&first.source));
                let event = ctx.event(app, action)?.subject(first.id.to_string()).detail(detail);
                ctx.record(app, event).await;
                if first.status == PaymentStatus::Succeeded {
                    // The balance the invoices had, less what this payment took.
                    // To whoever paid, whoever opened the page.
                    let payer = first.paid_by.as_ref();
                    let receipt = portal_web::notices::Receipt { first, invoices: &invoices, total, new_balance: before - total, payer };
                    portal_web::notices::receipt(app, &ctx.public_url, &records, &receipt).await;
                }
                records = store::household(app.table.as_ref(), &payment.account).await?;
                let payment = records.ledger.payment(id)?.ok_or(PageError::NotFound)?;
                parts = parts_of(&records, &payment)?;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "the processor could not say what became of a pending payment"),
        }
    }
    let first = parts.first().map_or(payment.clone(), |(p, _)| p.clone());
    let page = receipt_page(&ctx.chrome(app, Some(Section::Invoices)), &first, &parts, app.date_of(first.at));
    Ok(html(StatusCode::OK, page))
}
