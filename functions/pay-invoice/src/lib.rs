//! The pay-invoice function: `/invoices/{id}/pay` and the receipt at `/payments/{id}`.
//! Only the household's owner pays; for anyone else these pages do not exist (404).

use lambda_http::http::{Method, StatusCode};
use portal_domain::card::SourceErrors;
use portal_domain::pay::{self, AchConsent, PayOutcome, PayRequest, PaySource};
use portal_domain::ports::random_token;
use portal_domain::ports::SetupResult;
use portal_domain::sources;
use portal_domain::store::{self, HouseholdRecords};
use portal_domain::{Invoice, InvoiceId, Money, PaymentId, PaymentStatus};
use portal_templates::layout::Section;
use portal_templates::pay::{confirm_payment_page, is_expired, pay_page, receipt_page, CardEntry, NewSourceValues, PayForm, StripeEntry};
use portal_templates::routes::{Function, Route};
use portal_web::{asset, html, payment_form, redirect, stripe_html, App, Ctx, PageError, PageResult, Payments};

portal_web::handler!(Function::PayInvoice, route);

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    match (ctx.route.clone(), ctx.method.clone()) {
        (r, Method::GET) if r.is_asset() => Ok(asset(&r)),
        (Route::PayInvoice(id), Method::GET) => pay_form(app, ctx, &id).await,
        (Route::PayInvoice(id), Method::POST) => pay_submit(app, ctx, &id).await,
        (Route::Payment(id), Method::GET) => receipt(app, ctx, &id).await,
        (Route::PayInvoice(_) | Route::Payment(_), _) => Err(PageError::MethodNotAllowed),
        _ => Err(PageError::NotFound),
    }
}

/// This household's invoice (another household's id is as unknown as a made-up one).
fn find_invoice(records: &HouseholdRecords, id: &InvoiceId) -> Result<Invoice, PageError> {
    records.ledger.invoice(id)?.ok_or(PageError::NotFound)
}

/// A fresh idempotency key for a newly rendered form.
fn new_key(app: &App) -> String {
    random_token(app.random.as_ref(), 24)
}

/// The default source, if it can be used.
fn preselected(app: &App, records: &HouseholdRecords) -> String {
    records
        .sources
        .iter()
        .filter(|s| !is_expired(&s.details, app.today()))
        .max_by_key(|s| s.is_default)
        .map_or_else(|| "new".to_owned(), |s| s.id.to_string())
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

/// The pay form; with Stripe, a fresh setup lets the patient enter a new card or bank account in Stripe's fields.
async fn render(app: &App, ctx: &Ctx, records: &HouseholdRecords, invoice: &Invoice, r: Rendered<'_>, status: StatusCode) -> PageResult {
    let csrf = ctx.session()?.csrf_token.clone();
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    // Any household may pay from a bank account (one on file, or a new one), once it authorizes the debit.
    let ach_terms = pay::ach_authorization_text(&app.config.practice_name, None, None, invoice.number(), app.today());
    let mut form = PayForm {
        invoice,
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

async fn pay_form(app: &App, ctx: &mut Ctx, id: &InvoiceId) -> PageResult {
    let records = ctx.owner_household_or_404(app).await?;
    let invoice = &find_invoice(&records, id)?;
    let payable = invoice.payable();
    // A paid invoice's page says so itself (the template shows no form then).
    let message = None;
    let amount = payable.plain();
    let selected = preselected(app, &records);
    let rendered = Rendered {
        amount: &amount,
        selected: &selected,
        save: false,
        values: NewSourceValues::default(),
        message,
        amount_error: None,
        source_error: None,
        errors: SourceErrors::default(),
        card_error: None,
        ach_checked: false,
        key: new_key(app),
    };
    render(app, ctx, &records, invoice, rendered, StatusCode::OK).await
}

/// A key as the form carries it: what `random_token` makes, nothing else.
fn valid_key(key: &str) -> bool {
    (16..=64).contains(&key.len()) && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn pay_submit(app: &App, ctx: &mut Ctx, id: &InvoiceId) -> PageResult {
    let records = ctx.owner_household_or_404(app).await?;
    let invoice = &find_invoice(&records, id)?;
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
        return answer(app, ctx, &records, invoice, rendered, PayOutcome::Replayed(first)).await;
    }
    let amount = match Money::parse_payment(amount_text) {
        Ok(a) if a > invoice.payable() => {
            rendered.amount_error = Some(over_balance(invoice.payable()));
            None
        }
        Ok(a) => Some(a),
        Err(e) => {
            rendered.amount_error = Some(e.to_string());
            None
        }
    };
    let source = match pay::choice(selected, payment_form::typed_new(&form)) {
        pay::Choice::Ambiguous => {
            rendered.source_error = Some(pay::AMBIGUOUS_CHOICE);
            None
        }
        pay::Choice::New => match &app.config.payments {
            Payments::Sandbox | Payments::Off => match payment_form::parse(&form, app.today()) {
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
        pay::Choice::Saved(selected) => match records.sources.iter().find(|s| s.id.as_str() == selected) {
            Some(s) if is_expired(&s.details, app.today()) => {
                rendered.source_error = Some("That card has expired. Choose another or add a new one.");
                None
            }
            Some(s) => Some(PaySource::Saved(s.clone())),
            None => {
                rendered.source_error = Some("Choose how to pay.");
                None
            }
        },
    };
    let (Some(amount), Some(source)) = (amount, source) else {
        rendered.message = Some("Please correct the highlighted fields. Nothing was charged.".into());
        return render(app, ctx, &records, invoice, rendered, StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    let session = ctx.session()?.clone();
    let request = PayRequest {
        account: &session.account,
        invoice,
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
        let detail = format!("{} · {} · {}", invoice.number(), payment.amount, pay::source_label(&payment.source));
        let event = ctx.event(app, action)?.subject(payment.id.to_string()).detail(detail);
        ctx.record(app, event).await;
    }
    answer(app, ctx, &records, invoice, rendered, outcome).await
}

/// The page or redirect a payment attempt's outcome calls for.
async fn answer(
    app: &App,
    ctx: &mut Ctx,
    records: &HouseholdRecords,
    invoice: &Invoice,
    mut rendered: Rendered<'_>,
    outcome: PayOutcome,
) -> PageResult {
    match outcome {
        PayOutcome::Succeeded(payment) => {
            portal_web::notices::receipt(app, &ctx.public_url, records, invoice, invoice.balance() - payment.amount, &payment).await;
            Ok(redirect(&Route::Payment(payment.id)))
        }
        // Not decided yet: the receipt says it is processing; the processor's event or
        // `portal reconcile` settles it.
        PayOutcome::Pending(payment) | PayOutcome::Processing(payment) => Ok(redirect(&Route::Payment(payment.id))),
        // The patient's bank wants them to confirm: Stripe.js runs that step, then the receipt records it.
        PayOutcome::NeedsAction { payment, client_secret } => match &app.config.payments {
            Payments::Stripe(stripe) => {
                let chrome = ctx.chrome(app, Some(Section::Invoices));
                let page = confirm_payment_page(&chrome, &payment, &stripe.publishable_key, &stripe.js_url, &client_secret);
                Ok(stripe_html(StatusCode::OK, page, stripe))
            }
            Payments::Sandbox | Payments::Off => Ok(redirect(&Route::Payment(payment.id))),
        },
        PayOutcome::Declined(payment) | PayOutcome::Replayed(payment) if pay::decline_reason(&payment).is_some() => {
            rendered.message = pay::decline_reason(&payment).map(|r| format!("{r} Nothing was charged."));
            rendered.key = new_key(app);
            render(app, ctx, records, invoice, rendered, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        PayOutcome::Declined(payment) | PayOutcome::Replayed(payment) => Ok(redirect(&Route::Payment(payment.id))),
        PayOutcome::NeedsAchAuthorization => {
            rendered.source_error = Some("To pay from a bank account, check the box that authorizes the debit.");
            rendered.message = Some("Nothing was charged.".into());
            render(app, ctx, records, invoice, rendered, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        PayOutcome::OverBalance { payable } => {
            rendered.amount_error = Some(over_balance(payable));
            rendered.message = Some("Nothing was charged.".into());
            render(app, ctx, records, invoice, rendered, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

fn over_balance(payable: Money) -> String {
    if payable.is_zero() {
        "There is nothing left to pay on this invoice.".into()
    } else {
        format!("That is more than the {payable} that can be paid on this invoice.")
    }
}

async fn receipt(app: &App, ctx: &mut Ctx, id: &PaymentId) -> PageResult {
    let records = ctx.owner_household_or_404(app).await?;
    let mut payment = records.ledger.payment(id)?.ok_or(PageError::NotFound)?;
    let mut invoice = find_invoice(&records, &payment.invoice)?;
    if payment.status == PaymentStatus::Pending {
        // Back from the bank's 3-D Secure step, or waiting for a bank debit: ask the processor
        // now, so the patient sees what became of it rather than "processing".
        match pay::refresh(app.table.as_ref(), app.gateway.as_ref(), &mut payment, store::invoice_key(&invoice), app.now()).await {
            Ok(true) => {
                let action = if payment.status == PaymentStatus::Succeeded { "payment.succeeded" } else { "payment.declined" };
                let detail = format!("{} · {} · {}", invoice.number(), payment.amount, pay::source_label(&payment.source));
                let event = ctx.event(app, action)?.subject(payment.id.to_string()).detail(detail);
                ctx.record(app, event).await;
                if payment.status == PaymentStatus::Succeeded {
                    // The receipt's new balance is the invoice's before this payment, less it.
                    portal_web::notices::receipt(app, &ctx.public_url, &records, &invoice, invoice.balance() - payment.amount, &payment)
                        .await;
                }
                invoice = find_invoice(&store::household(app.table.as_ref(), &payment.account).await?, &payment.invoice)?;
            }
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "the processor could not say what became of a pending payment"),
        }
    }
    let page = receipt_page(&ctx.chrome(app, Some(Section::Invoices)), &payment, &invoice, app.date_of(payment.at));
    Ok(html(StatusCode::OK, page))
}
