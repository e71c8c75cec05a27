//! The invoices function: the overview, one invoice (page, print view, PDF), account statements
//! (page and PDF), and receipts (the list, each payment's itemized receipt as page and PDF, and
//! each year's summary PDF). Only whoever handles the household's billing sees them (`access`).

use lambda_http::http::{header, HeaderValue, Response, StatusCode};
use lambda_http::Body;
use portal_domain::receipts;
use portal_domain::statement::parse_period;
use portal_domain::store::{self, invoice_list, HouseholdRecords};
use portal_domain::{Household, InvoiceId, PaymentId};
use portal_templates::invoice::{self, InvoiceView};
use portal_templates::invoices::{self, Filter};
use portal_templates::layout::Section;
use portal_templates::receipts::Parties;
use portal_templates::routes::{Function, Route};
use portal_web::{html, App, Ctx, PageError, PageResult};

/// Serves one request (see `portal_web::serve`).
pub async fn handle(app: &App, req: portal_web::Request) -> portal_web::Response<portal_web::Body> {
    portal_web::serve(app, req, Function::Invoices, route).await
}

async fn route(app: &App, ctx: &mut Ctx) -> PageResult {
    // Every route of this function answers GET alone (`Route::methods`, checked by the edge).
    match ctx.route.clone() {
        Route::Invoices => overview(app, ctx).await,
        Route::Invoice(id) => detail(app, ctx, &id, false).await,
        Route::InvoicePdf(id) => detail(app, ctx, &id, true).await,
        Route::Statement => statement_page(app, ctx, false).await,
        Route::StatementPdf => statement_page(app, ctx, true).await,
        Route::Receipts => receipts_list(app, ctx).await,
        Route::Receipt(id) => receipt(app, ctx, &id, false).await,
        Route::ReceiptPdf(id) => receipt(app, ctx, &id, true).await,
        Route::YearSummaryPdf(year) => year_summary(app, ctx, year).await,
        _ => Err(PageError::NotFound),
    }
}

/// The household of whoever handles its billing (the owner, or a member the owner shares it
/// with), read in one query; its invoices and payments stay as stored for each page to decode what it shows.
async fn household(app: &App, ctx: &Ctx) -> Result<(HouseholdRecords, Household), PageError> {
    let records = ctx.billing_household_or_404(app).await?;
    let household = records.household.clone().ok_or(PageError::NotFound)?;
    Ok((records, household))
}

/// The list: one read of a fixed size whatever the history (`store::invoice_list`). The first
/// page and the unpaid invoices read the household with its summary of open invoices; an older
/// page, the invoices below its cursor alone (the session's billing role, which a change to the
/// sharing ends, is what lets the member see them).
async fn overview(app: &App, ctx: &mut Ctx) -> PageResult {
    let session = ctx.billing_session()?.clone();
    let filter = Filter::parse(ctx.query("show"));
    let cursor = ctx.query("before").and_then(invoice_list::Cursor::parse);
    let page_number = if cursor.is_some() { invoices::parse_page(ctx.query("page")).max(2) } else { 1 };
    let (table, account) = (app.table.as_ref(), &session.account);
    let mut read = match (filter, &cursor) {
        (Filter::Unpaid, _) => invoice_list::household_and_summary(table, account).await?,
        (_, None) => invoice_list::newest(table, account, invoices::INVOICES_PER_PAGE).await?,
        (_, Some(cursor)) => invoice_list::older(table, account, cursor, invoices::INVOICES_PER_PAGE).await?,
    };
    let reads_household = filter == Filter::Unpaid || cursor.is_none();
    if reads_household {
        match &read.household {
            Some(household) if portal_domain::access::handles_billing_of(household, &session.member) => {}
            _ => return Err(PageError::NotFound),
        }
        if read.summary.is_none() {
            // A household without a summary has had no invoice, or was written before households
            // kept one (`portal migrate` writes it): the page comes from every invoice, as it did then.
            let invoices = store::household(table, account).await?.ledger.invoices()?;
            read.summary = Some(store::summary::Summary::of_invoices(&invoices));
            read.more = invoices.len() > invoices::INVOICES_PER_PAGE;
            read.invoices = invoices.into_iter().take(invoices::INVOICES_PER_PAGE).collect();
        }
    }
    let listing = invoices::listing_of(&read, filter, app.today(), page_number, cursor.as_ref());
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    let name = read.household.as_ref().map(|h| h.name.as_str());
    Ok(html(StatusCode::OK, invoices::overview(&chrome, app.today(), name, &listing, filter)))
}

/// An invoice, its print view or its PDF. Its links carry its issue date (`Route::invoice_link`),
/// so the page reads the invoice, the household's record and the copies of its payments by key in
/// one request (`store::invoice_page`); a link without it, or an invoice written before its
/// payments were copied, reads the household whole.
async fn detail(app: &App, ctx: &mut Ctx, id: &InvoiceId, as_pdf: bool) -> PageResult {
    let issued = portal_templates::routes::linked_date(ctx.query(portal_templates::routes::ISSUED));
    let by_key = match issued {
        Some(issued) => ctx.billing_invoice_or_404(app, id, issued).await?,
        None => None,
    };
    let page = match by_key {
        Some(page) => page,
        None => {
            let (records, household) = household(app, ctx).await?;
            // Only this household's invoices are found: another household's id is as unknown as a made-up one.
            let invoice = records.ledger.invoice(id)?.ok_or(PageError::NotFound)?;
            let payments = records.ledger.payments_for(id)?;
            let names = records.members.iter().map(|m| (m.id.clone(), m.full_name())).collect();
            store::InvoicePage { household, names, invoice, payments }
        }
    };
    let practice = app.practice().await?;
    let invoice = &page.invoice;
    let view = InvoiceView {
        practice: &practice,
        household: &page.household,
        names: &page.names,
        invoice,
        payments: page.payments.iter().map(|p| (p, app.date_of(p.at))).collect(),
        today: app.today(),
    };
    if as_pdf {
        return Ok(pdf_response(invoice::pdf(&view), &format!("invoice-{}.pdf", invoice.number())));
    }
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    let page = if ctx.query("print").is_some() { invoice::print_view(&chrome, &view) } else { invoice::detail(&chrome, &view) };
    Ok(html(StatusCode::OK, page))
}

/// The statement reads its period and the household's figures by month (`store::statement`),
/// not the years before it; a household whose figures do not yet count its history (`portal
/// migrate` counts them) is read whole.
async fn statement_page(app: &App, ctx: &mut Ctx, as_pdf: bool) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    let household = records.household.ok_or(PageError::NotFound)?;
    let (from, to) = (ctx.query("from").unwrap_or("").to_owned(), ctx.query("to").unwrap_or("").to_owned());
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    let (start, end) = match parse_period(Some(&from), Some(&to), app.today()) {
        Ok(period) => period,
        Err(e) => {
            let page = portal_templates::statement::page_for(&chrome, &household.name, &from, &to, Some(&e.to_string()), None);
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    let table = app.table.as_ref();
    let statement = match store::statement(table, &household.id, start, end, app.today(), |at| app.date_of(at)).await? {
        Some(statement) => statement,
        None => store::household(table, &household.id).await?.ledger.statement(start, end, |at| app.date_of(at))?,
    };
    if as_pdf {
        let name = format!("statement-{}-to-{}.pdf", start.format("%Y-%m-%d"), end.format("%Y-%m-%d"));
        return Ok(pdf_response(portal_templates::statement::pdf(&app.config.practice_name, &household.name, &statement), &name));
    }
    let (from, to) = (start.format("%Y-%m-%d").to_string(), end.format("%Y-%m-%d").to_string());
    Ok(html(StatusCode::OK, portal_templates::statement::page_for(&chrome, &household.name, &from, &to, None, Some(&statement))))
}

/// `/receipts`: the chosen year's receipts (`?year=`, else the latest year with a payment). A
/// household that keeps its receipts by year (`store::cleared`) is read by key: the record, the
/// index of years and this year's (or the asked year's) receipts; one written before reads whole.
async fn receipts_list(app: &App, ctx: &mut Ctx) -> PageResult {
    let session = ctx.billing_session()?.clone();
    let asked = ctx.query("year").and_then(|y| y.parse::<i32>().ok());
    let date_of = |at| app.date_of(at);
    let kept = store::cleared::receipts_of(app.table.as_ref(), &session.account, asked, app.today(), date_of).await?;
    let (name, years, year, cleared) = match kept {
        Some(read) => {
            if !portal_domain::access::handles_billing_of(&read.household, &session.member) {
                return Err(PageError::NotFound);
            }
            (read.household.name, read.years, read.year, read.cleared)
        }
        None => {
            let (records, household) = household(app, ctx).await?;
            let cleared = records.ledger.receipts()?;
            let years = receipts::years_paid(&cleared, date_of);
            let year = receipts::year_shown(&years, asked);
            (household.name, years, year, cleared)
        }
    };
    let rows = year.map(|y| receipts::receipts_in(y, &cleared, date_of)).unwrap_or_default();
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    Ok(html(StatusCode::OK, portal_templates::receipts::list_page(&chrome, &name, &years, year, &rows)))
}

/// `/receipts/{id}` and its PDF: the payment with all its parts, itemized. Only a payment that
/// went through has a receipt; any other id is not found. Its links name its invoices
/// (`Route::receipt_link`), so it reads them by key with the copies of their payments
/// (`store::applied::payment_read`); a link without them reads the household whole.
async fn receipt(app: &App, ctx: &mut Ctx, id: &PaymentId, as_pdf: bool) -> PageResult {
    let named = portal_templates::routes::linked_invoices(ctx.query(portal_templates::routes::INVOICES));
    let by_key = if named.is_empty() { None } else { ctx.billing_payment_or_404(app, id, &named).await? };
    let (household, names, payments, invoices, on_invoices) = match by_key {
        Some(read) => {
            let (payments, invoices) = read.parts.into_iter().unzip();
            (read.household, read.names, payments, invoices, read.on_invoices)
        }
        None => {
            let (records, household) = household(app, ctx).await?;
            let payment = records.ledger.payment(id)?.ok_or(PageError::NotFound)?;
            let payments = records.ledger.batch(&payment)?;
            let (mut invoices, mut on_invoices) = (Vec::new(), Vec::new());
            for part in &payments {
                invoices.extend(records.ledger.invoice(&part.invoice)?);
                on_invoices.extend(records.ledger.payments_for(&part.invoice)?);
            }
            let names = records.members.iter().map(|m| (m.id.clone(), m.full_name())).collect();
            (household, names, payments, invoices, on_invoices)
        }
    };
    let first: &portal_domain::Payment = payments.first().ok_or(PageError::NotFound)?;
    let receipt = receipts::receipt(&payments, &invoices, &on_invoices, app.date_of(first.at)).ok_or(PageError::NotFound)?;
    let practice = app.practice().await?;
    let who = Parties { practice: &practice, household: &household, names: &names };
    if as_pdf {
        return Ok(pdf_response(portal_templates::receipts::receipt_pdf(&who, &receipt), &format!("receipt-{}.pdf", receipt.id)));
    }
    let linked: Vec<_> = invoices.iter().map(|i| (i.id(), i.issued())).collect();
    let pdf = Route::ReceiptPdf(receipt.id.clone()).receipt_link(&linked);
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    Ok(html(StatusCode::OK, portal_templates::receipts::receipt_page(&chrome, &who, &receipt, &pdf)))
}

/// `/receipts/years/{year}/pdf`: everything paid that year, by member and month.
/// A household that keeps its receipts by year (`store::cleared`) reads its profile (the
/// members' names, the memberships the HSA note speaks of), the year's receipts, and the invoices
/// they paid with the copies of their payments (`store::applied::invoices_with_payments`): reads
/// that follow the year, not the history. One written before reads whole.
async fn year_summary(app: &App, ctx: &mut Ctx, year: i32) -> PageResult {
    let records = ctx.billing_profile_or_404(app).await?;
    let household = records.household.clone().ok_or(PageError::NotFound)?;
    let (table, account, date_of) = (app.table.as_ref(), &household.id, |at| app.date_of(at));
    let by_key = match store::cleared::receipts_of(table, account, Some(year), app.today(), date_of).await? {
        Some(read) => {
            let cleared = if read.year == Some(year) { read.cleared } else { Vec::new() };
            match receipts::invoice_keys(&cleared) {
                Some(invoices) => store::applied::invoices_with_payments(table, account, &invoices).await?,
                None => None,
            }
        }
        None => None,
    };
    let (invoices, payments) = match by_key {
        Some(read) => read,
        None => {
            let whole = store::household(table, account).await?;
            (whole.ledger.invoices()?, whole.ledger.payments()?)
        }
    };
    let summary = receipts::year_summary(year, &invoices, &payments, date_of);
    let practice = app.practice().await?;
    let hsa = (practice.hsa_note && year >= receipts::HSA_DPC_FROM_YEAR)
        .then(|| receipts::membership_for_year(&records.memberships, year, app.today()))
        .flatten()
        .map(|(membership, on)| receipts::hsa_check(membership, on));
    let names = records.members.iter().map(|m| (m.id.clone(), m.full_name())).collect();
    let who = Parties { practice: &practice, household: &household, names: &names };
    Ok(pdf_response(portal_templates::receipts::year_pdf(&who, &summary, hsa.as_ref()), &format!("payments-{year}.pdf")))
}

/// A PDF download. The file name keeps only characters that are safe in a header and a file system.
fn pdf_response(bytes: Vec<u8>, filename: &str) -> Response<Body> {
    let filename: String = filename.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
    let mut response = Response::new(Body::Binary(bytes));
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/pdf"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\"")) {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}
