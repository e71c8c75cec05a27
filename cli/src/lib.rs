//! The `portal` command's library: the local server, the dispatch that stands in for CloudFront,
//! and the operator's commands (import, access links).

pub mod import;
pub mod local;
pub mod operator;
pub mod payments;

use lambda_http::{Body, Request, Response};
use portal_templates::routes::{Function, Route};
use portal_web::App;

/// Hands a request to the function that serves its path, as CloudFront's path behaviours do.
pub async fn dispatch(app: &App, req: Request) -> Response<Body> {
    let function = Route::parse(req.uri().path()).map_or(Function::SignIn, |r| r.function());
    match function {
        Function::Invoices => invoices::handle(app, req).await,
        Function::PayInvoice => pay_invoice::handle(app, req).await,
        Function::PaymentOptions => payment_options::handle(app, req).await,
        Function::Agreements => agreements::handle(app, req).await,
        Function::Memberships => memberships::handle(app, req).await,
        Function::RenewMembership => renew_membership::handle(app, req).await,
        Function::AddDependent => add_dependent::handle(app, req).await,
        // Sign-in is the default behaviour: it also answers paths no function serves, with a 404 page.
        Function::ContactInfo => contact_info::handle(app, req).await,
        Function::SignIn => sign_in::handle(app, req).await,
        Function::PaymentEvents => payment_events::handle(app, req).await,
    }
}
