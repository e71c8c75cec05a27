//! The invoices function: the overview, one invoice (page, print view, PDF), and account
//! statements (page and PDF). Only whoever handles the household's billing sees them (`access`).

use lambda_http::http::{header, HeaderValue, Response, StatusCode};
use lambda_http::Body;
use portal_domain::statement::parse_period;
use portal_domain::store::HouseholdRecords;
use portal_domain::{Household, InvoiceId};
use portal_templates::invoice::{self, InvoiceView};
use portal_templates::invoices::{self, Filter};
use portal_templates::layout::Section;
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

async fn overview(app: &App, ctx: &mut Ctx) -> PageResult {
    let (records, household) = household(app, ctx).await?;
    let filter = Filter::parse(ctx.query("show"));
    let number = invoices::parse_page(ctx.query("page"));
    let listing = invoices::listing(&records.ledger.figures()?, app.today(), filter, number);
    let shown = listing.shown.iter().filter_map(|&i| records.ledger.invoice_at(i).transpose()).collect::<Result<Vec<_>, _>>()?;
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    let page = invoices::overview(&chrome, app.today(), &household.name, &listing, &shown, filter);
    Ok(html(StatusCode::OK, page))
}

async fn detail(app: &App, ctx: &mut Ctx, id: &InvoiceId, as_pdf: bool) -> PageResult {
    let (records, household) = household(app, ctx).await?;
    // Only this household's invoices are found: another household's id is as unknown as a made-up one.
    let invoice = records.ledger.invoice(id)?.ok_or(PageError::NotFound)?;
    let practice = app.practice().await?;
    let paid = records.ledger.payments_for(id)?;
    let payments = paid.iter().map(|p| (p, app.date_of(p.at))).collect();
    let view = InvoiceView {
        practice: &practice,
        household: &household,
        members: &records.members,
        invoice: &invoice,
        payments,
        today: app.today(),
    };
    if as_pdf {
        return Ok(pdf_response(invoice::pdf(&view), &format!("invoice-{}.pdf", invoice.number())));
    }
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    let page = if ctx.query("print").is_some() { invoice::print_view(&chrome, &view) } else { invoice::detail(&chrome, &view) };
    Ok(html(StatusCode::OK, page))
}

async fn statement_page(app: &App, ctx: &mut Ctx, as_pdf: bool) -> PageResult {
    let (records, household) = household(app, ctx).await?;
    let (from, to) = (ctx.query("from").unwrap_or("").to_owned(), ctx.query("to").unwrap_or("").to_owned());
    let chrome = ctx.chrome(app, Some(Section::Invoices));
    let (start, end) = match parse_period(Some(&from), Some(&to), app.today()) {
        Ok(period) => period,
        Err(e) => {
            let page = portal_templates::statement::page_for(&chrome, &household.name, &from, &to, Some(&e.to_string()), None);
            return Ok(html(StatusCode::UNPROCESSABLE_ENTITY, page));
        }
    };
    let statement = records.ledger.statement(start, end, |at| app.date_of(at))?;
    if as_pdf {
        let name = format!("statement-{}-to-{}.pdf", start.format("%Y-%m-%d"), end.format("%Y-%m-%d"));
        return Ok(pdf_response(portal_templates::statement::pdf(&app.config.practice_name, &household.name, &statement), &name));
    }
    let (from, to) = (start.format("%Y-%m-%d").to_string(), end.format("%Y-%m-%d").to_string());
    Ok(html(StatusCode::OK, portal_templates::statement::page_for(&chrome, &household.name, &from, &to, None, Some(&statement))))
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
