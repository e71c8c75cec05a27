//! The route table: every path of the portal is built and parsed here, and nowhere else.

use portal_domain::{AgreementId, InvoiceId, MemberId, MembershipId, PaymentId, SourceId};

/// The Lambda function that serves a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Function {
    SignIn,
    Invoices,
    PayInvoice,
    ContactInfo,
    Memberships,
    RenewMembership,
    AddDependent,
    PaymentOptions,
    Agreements,
    PaymentEvents,
}

impl Function {
    pub const ALL: [Function; 10] = [
        Function::SignIn,
        Function::Invoices,
        Function::PayInvoice,
        Function::ContactInfo,
        Function::Memberships,
        Function::RenewMembership,
        Function::AddDependent,
        Function::PaymentOptions,
        Function::Agreements,
        Function::PaymentEvents,
    ];

    /// The function's crate and binary name under `functions/`.
    pub fn name(self) -> &'static str {
        match self {
            Function::SignIn => "sign-in",
            Function::Invoices => "invoices",
            Function::PayInvoice => "pay-invoice",
            Function::ContactInfo => "contact-info",
            Function::Memberships => "memberships",
            Function::RenewMembership => "renew-membership",
            Function::AddDependent => "add-dependent",
            Function::PaymentOptions => "payment-options",
            Function::Agreements => "agreements",
            Function::PaymentEvents => "payment-events",
        }
    }
}

/// Every page and action of the portal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    Home,
    SignIn,
    SignInCode,
    /// A login-less access link; the token is a secret and is never logged.
    Access(String),
    SignOut,
    Invoices,
    Invoice(InvoiceId),
    InvoicePdf(InvoiceId),
    Statement,
    StatementPdf,
    PayInvoice(InvoiceId),
    /// "Pay total due": every invoice with a balance, oldest first, in one payment.
    PayDue,
    Payment(PaymentId),
    /// Every payment's receipt, by year, with each year's summary for HSA/FSA and taxes.
    Receipts,
    /// One payment's itemized receipt (all parts of a "Pay total due" payment together).
    Receipt(PaymentId),
    ReceiptPdf(PaymentId),
    /// Everything paid in one calendar year, itemized by member and month.
    YearSummaryPdf(i32),
    Members,
    MemberContact(MemberId),
    /// The owner shares the household's billing with this member, or stops sharing it.
    MemberBilling(MemberId),
    /// A member's email preferences (reminders on or off).
    EmailPreferences(MemberId),
    /// One-click unsubscribe from reminders (RFC 8058): no session; the signed token says whose.
    Unsubscribe(String),
    Memberships,
    Renew(MembershipId),
    NewDependent(MembershipId),
    ConfirmDependent(MembershipId),
    /// The owner cancels the membership or removes a member: the form, then a review, then confirm.
    Leave(MembershipId),
    /// The owner withdraws a request to leave that the practice has not acted on.
    WithdrawLeaving(MembershipId),
    PaymentMethods,
    NewPaymentMethod,
    RemovePaymentMethod(SourceId),
    DefaultPaymentMethod(SourceId),
    /// The owner turns on automatic payment after reading its authorization.
    Autopay,
    /// One click turns automatic payment off.
    AutopayOff,
    Agreements,
    Agreement(AgreementId),
    SignAgreement(AgreementId),
    AgreementPdf(AgreementId),
    /// The household's activity: sign-ins, payments, changes, signatures.
    Activity,
    /// The member's signed-in devices.
    Devices,
    /// Ends the member's sessions on every other device.
    SignOutOthers,
    /// The one stylesheet, served by every function.
    Stylesheet,
    /// The one script (progressive enhancement only: every page works without it).
    Script,
    /// `robots.txt`: crawlers are asked to index nothing.
    Robots,
    /// Stripe's events about payments (webhooks): no session, a `Stripe-Signature` instead.
    StripeWebhook,
}

/// The path of the stylesheet; versioned by content so browsers may cache it.
pub const STYLESHEET_PATH: &str = "/assets/portal.css";
pub const SCRIPT_PATH: &str = "/assets/portal.js";

/// A calendar year in a path: four digits, 2000 to 2100.
fn parse_year(text: &str) -> Option<i32> {
    let year: i32 = text.parse().ok().filter(|_| text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()))?;
    (2000..=2100).contains(&year).then_some(year)
}

fn access_token_ok(token: &str) -> bool {
    (32..=64).contains(&token.len()) && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The query parameter of a pay link that names the oldest invoice it pays ([`Route::pay_link`]).
pub const SINCE: &str = "since";

/// The query parameter of an invoice's links that names its issue date ([`Route::invoice_link`]).
pub const ISSUED: &str = "issued";

/// The date a link names (`?since=` of [`Route::pay_link`], `?issued=` of [`Route::invoice_link`]),
/// if it names a valid one.
pub fn linked_date(value: Option<&str>) -> Option<chrono::NaiveDate> {
    value.and_then(|d| d.parse().ok())
}

/// The query parameter of a receipt's links that names its invoices with their issue dates
/// ([`Route::receipt_link`]).
pub const INVOICES: &str = "invoices";

/// The invoices a receipt's link names (`?invoices={issued}.{id},…`), or none if it names none
/// or any of them badly (then the receipt reads the household whole).
pub fn linked_invoices(value: Option<&str>) -> Vec<(InvoiceId, chrono::NaiveDate)> {
    let parse = |one: &str| {
        let (issued, id) = one.split_once('.')?;
        Some((InvoiceId::parse(id).ok()?, issued.parse().ok()?))
    };
    value.and_then(|v| v.split(',').map(parse).collect::<Option<Vec<_>>>()).unwrap_or_default()
}

impl Route {
    /// A receipt's link (the payment's page, `/payments/{id}`, or its itemized receipt), with its
    /// parts' invoices and their issue dates (`?invoices=`): the page reads them by key with the
    /// copies of their payments (`store::applied::payment_read`). Without them (a payment of more
    /// invoices than a link names) it still works, reading the household whole.
    pub fn receipt_link(&self, invoices: &[(&InvoiceId, chrono::NaiveDate)]) -> String {
        if invoices.is_empty() || invoices.len() > portal_domain::store::applied::LINKED_INVOICES_AT_MOST {
            return self.path();
        }
        let named: Vec<String> = invoices.iter().map(|(id, issued)| format!("{issued}.{id}")).collect();
        format!("{}?{}={}", self.path(), INVOICES, named.join(","))
    }

    /// A pay route's link, with the issue date of the oldest invoice it pays (`?since=`): the pay
    /// form reads the invoices from that date up, not the household's whole history
    /// (`store::open_since`). A link without it still works, reading the household whole.
    pub fn pay_link(&self, since: chrono::NaiveDate) -> String {
        format!("{}?{}={since}", self.path(), SINCE)
    }

    /// An invoice's link (its page, print view or PDF), with its issue date (`?issued=`): the page
    /// reads the invoice by key with the household's record and its payments' copies
    /// (`store::invoice_page`). A link without it still works, reading the household whole.
    pub fn invoice_link(&self, issued: chrono::NaiveDate) -> String {
        format!("{}?{}={issued}", self.path(), ISSUED)
    }

    pub fn path(&self) -> String {
        match self {
            Route::Home => "/".into(),
            Route::SignIn => "/sign-in".into(),
            Route::SignInCode => "/sign-in/code".into(),
            Route::Access(token) => format!("/access/{token}"),
            Route::SignOut => "/sign-out".into(),
            Route::Invoices => "/invoices".into(),
            Route::Invoice(id) => format!("/invoices/{id}"),
            Route::InvoicePdf(id) => format!("/invoices/{id}/pdf"),
            Route::Statement => "/statement".into(),
            Route::StatementPdf => "/statement/pdf".into(),
            Route::PayInvoice(id) => format!("/invoices/{id}/pay"),
            Route::PayDue => "/pay-due".into(),
            Route::Payment(id) => format!("/payments/{id}"),
            Route::Receipts => "/receipts".into(),
            Route::Receipt(id) => format!("/receipts/{id}"),
            Route::ReceiptPdf(id) => format!("/receipts/{id}/pdf"),
            Route::YearSummaryPdf(year) => format!("/receipts/years/{year}/pdf"),
            Route::Members => "/members".into(),
            Route::MemberContact(id) => format!("/members/{id}/contact"),
            Route::MemberBilling(id) => format!("/members/{id}/billing"),
            Route::EmailPreferences(id) => format!("/members/{id}/email"),
            Route::Unsubscribe(token) => format!("/unsubscribe/{token}"),
            Route::Memberships => "/memberships".into(),
            Route::Renew(id) => format!("/memberships/{id}/renew"),
            Route::NewDependent(id) => format!("/memberships/{id}/dependents/new"),
            Route::ConfirmDependent(id) => format!("/memberships/{id}/dependents/confirm"),
            Route::Leave(id) => format!("/memberships/{id}/leave"),
            Route::WithdrawLeaving(id) => format!("/memberships/{id}/leave/withdraw"),
            Route::PaymentMethods => "/payment-methods".into(),
            Route::NewPaymentMethod => "/payment-methods/new".into(),
            Route::RemovePaymentMethod(id) => format!("/payment-methods/{id}/remove"),
            Route::DefaultPaymentMethod(id) => format!("/payment-methods/{id}/default"),
            Route::Autopay => "/payment-methods/autopay".into(),
            Route::AutopayOff => "/payment-methods/autopay/off".into(),
            Route::Agreements => "/agreements".into(),
            Route::Agreement(id) => format!("/agreements/{id}"),
            Route::SignAgreement(id) => format!("/agreements/{id}/sign"),
            Route::AgreementPdf(id) => format!("/agreements/{id}/pdf"),
            Route::Activity => "/activity".into(),
            Route::Devices => "/devices".into(),
            Route::SignOutOthers => "/devices/sign-out-others".into(),
            Route::Stylesheet => STYLESHEET_PATH.into(),
            Route::Script => SCRIPT_PATH.into(),
            Route::Robots => "/robots.txt".into(),
            Route::StripeWebhook => "/stripe/webhook".into(),
        }
    }

    /// The route a path names, if any. A trailing slash is not the same path.
    pub fn parse(path: &str) -> Option<Route> {
        let rest = path.strip_prefix('/')?;
        let parts: Vec<&str> = if rest.is_empty() { Vec::new() } else { rest.split('/').collect() };
        let route = match parts.as_slice() {
            [] => Route::Home,
            ["sign-in"] => Route::SignIn,
            ["sign-in", "code"] => Route::SignInCode,
            ["access", token] if access_token_ok(token) => Route::Access((*token).to_owned()),
            ["sign-out"] => Route::SignOut,
            ["invoices"] => Route::Invoices,
            ["invoices", id] => Route::Invoice(InvoiceId::parse(id).ok()?),
            ["invoices", id, "pdf"] => Route::InvoicePdf(InvoiceId::parse(id).ok()?),
            ["invoices", id, "pay"] => Route::PayInvoice(InvoiceId::parse(id).ok()?),
            ["statement"] => Route::Statement,
            ["statement", "pdf"] => Route::StatementPdf,
            ["pay-due"] => Route::PayDue,
            ["payments", id] => Route::Payment(PaymentId::parse(id).ok()?),
            ["receipts"] => Route::Receipts,
            ["receipts", id] => Route::Receipt(PaymentId::parse(id).ok()?),
            ["receipts", id, "pdf"] => Route::ReceiptPdf(PaymentId::parse(id).ok()?),
            ["receipts", "years", year, "pdf"] => Route::YearSummaryPdf(parse_year(year)?),
            ["members"] => Route::Members,
            ["members", id, "contact"] => Route::MemberContact(MemberId::parse(id).ok()?),
            ["members", id, "billing"] => Route::MemberBilling(MemberId::parse(id).ok()?),
            ["members", id, "email"] => Route::EmailPreferences(MemberId::parse(id).ok()?),
            ["unsubscribe", token] if portal_domain::preferences::is_token_shaped(token) => Route::Unsubscribe((*token).to_owned()),
            ["memberships"] => Route::Memberships,
            ["memberships", id, "renew"] => Route::Renew(MembershipId::parse(id).ok()?),
            ["memberships", id, "dependents", "new"] => Route::NewDependent(MembershipId::parse(id).ok()?),
            ["memberships", id, "dependents", "confirm"] => Route::ConfirmDependent(MembershipId::parse(id).ok()?),
            ["memberships", id, "leave"] => Route::Leave(MembershipId::parse(id).ok()?),
            ["memberships", id, "leave", "withdraw"] => Route::WithdrawLeaving(MembershipId::parse(id).ok()?),
            ["payment-methods"] => Route::PaymentMethods,
            ["payment-methods", "new"] => Route::NewPaymentMethod,
            ["payment-methods", "autopay"] => Route::Autopay,
            ["payment-methods", "autopay", "off"] => Route::AutopayOff,
            ["payment-methods", id, "remove"] => Route::RemovePaymentMethod(SourceId::parse(id).ok()?),
            ["payment-methods", id, "default"] => Route::DefaultPaymentMethod(SourceId::parse(id).ok()?),
            ["agreements"] => Route::Agreements,
            ["agreements", id] => Route::Agreement(AgreementId::parse(id).ok()?),
            ["agreements", id, "sign"] => Route::SignAgreement(AgreementId::parse(id).ok()?),
            ["agreements", id, "pdf"] => Route::AgreementPdf(AgreementId::parse(id).ok()?),
            ["activity"] => Route::Activity,
            ["devices"] => Route::Devices,
            ["devices", "sign-out-others"] => Route::SignOutOthers,
            ["assets", "portal.css"] => Route::Stylesheet,
            ["assets", "portal.js"] => Route::Script,
            ["robots.txt"] => Route::Robots,
            ["stripe", "webhook"] => Route::StripeWebhook,
            _ => return None,
        };
        Some(route)
    }

    /// The function that serves this route (the assets are served by every function; sign-in owns them).
    pub fn function(&self) -> Function {
        match self {
            Route::Home
            | Route::SignIn
            | Route::SignInCode
            | Route::Access(_)
            | Route::SignOut
            | Route::Activity
            | Route::Devices
            | Route::SignOutOthers
            | Route::Stylesheet
            | Route::Script
            | Route::Robots => Function::SignIn,
            Route::Invoices
            | Route::Invoice(_)
            | Route::InvoicePdf(_)
            | Route::Statement
            | Route::StatementPdf
            | Route::Receipts
            | Route::Receipt(_)
            | Route::ReceiptPdf(_)
            | Route::YearSummaryPdf(_) => Function::Invoices,
            Route::PayInvoice(_) | Route::PayDue | Route::Payment(_) => Function::PayInvoice,
            Route::Members | Route::MemberContact(_) | Route::MemberBilling(_) | Route::EmailPreferences(_) | Route::Unsubscribe(_) => {
                Function::ContactInfo
            }
            Route::Memberships | Route::Leave(_) | Route::WithdrawLeaving(_) => Function::Memberships,
            Route::Renew(_) => Function::RenewMembership,
            Route::NewDependent(_) | Route::ConfirmDependent(_) => Function::AddDependent,
            Route::PaymentMethods
            | Route::NewPaymentMethod
            | Route::RemovePaymentMethod(_)
            | Route::DefaultPaymentMethod(_)
            | Route::Autopay
            | Route::AutopayOff => Function::PaymentOptions,
            Route::Agreements | Route::Agreement(_) | Route::SignAgreement(_) | Route::AgreementPdf(_) => Function::Agreements,
            Route::StripeWebhook => Function::PaymentEvents,
        }
    }

    /// The methods the route answers; any other is refused with 405 before anything else happens.
    pub fn methods(&self) -> &'static [&'static str] {
        const GET: &[&str] = &["GET"];
        const POST: &[&str] = &["POST"];
        const BOTH: &[&str] = &["GET", "POST"];
        match self {
            Route::SignIn
            | Route::SignInCode
            | Route::Access(_)
            | Route::PayInvoice(_)
            | Route::PayDue
            | Route::MemberContact(_)
            | Route::EmailPreferences(_)
            | Route::Unsubscribe(_)
            | Route::Renew(_)
            | Route::NewDependent(_)
            | Route::Leave(_)
            | Route::NewPaymentMethod
            | Route::Autopay
            | Route::RemovePaymentMethod(_) => BOTH,
            Route::SignOut
            | Route::SignOutOthers
            | Route::MemberBilling(_)
            | Route::ConfirmDependent(_)
            | Route::WithdrawLeaving(_)
            | Route::DefaultPaymentMethod(_)
            | Route::AutopayOff
            | Route::SignAgreement(_)
            | Route::StripeWebhook => POST,
            Route::Home
            | Route::Invoices
            | Route::Invoice(_)
            | Route::InvoicePdf(_)
            | Route::Statement
            | Route::StatementPdf
            | Route::Payment(_)
            | Route::Receipts
            | Route::Receipt(_)
            | Route::ReceiptPdf(_)
            | Route::YearSummaryPdf(_)
            | Route::Members
            | Route::Memberships
            | Route::PaymentMethods
            | Route::Agreements
            | Route::Agreement(_)
            | Route::AgreementPdf(_)
            | Route::Activity
            | Route::Devices
            | Route::Stylesheet
            | Route::Script
            | Route::Robots => GET,
        }
    }

    /// A page a reminder's link may land on after sign-in: a page of the route table that is read
    /// with GET and needs a session. Anything else (a form's action, a public page, a file) is not.
    pub fn landing_from(path: &str) -> Option<Route> {
        let route = Route::parse(path)?;
        (route.methods().contains(&"GET") && !route.is_public() && !route.is_asset()).then_some(route)
    }

    /// Routes that work without a session (sign-in and the assets).
    pub fn is_asset(&self) -> bool {
        matches!(self, Route::Stylesheet | Route::Script | Route::Robots)
    }

    pub fn is_public(&self) -> bool {
        matches!(
            self,
            Route::Home
                | Route::SignIn
                | Route::SignInCode
                | Route::Access(_)
                | Route::SignOut
                | Route::Stylesheet
                | Route::Script
                | Route::Robots
                | Route::StripeWebhook
                | Route::Unsubscribe(_)
        )
    }

    /// A POST that a signed token in the path authorizes instead of a form token: a mail
    /// provider's one-click unsubscribe comes without the portal's cookies or pages (RFC 8058).
    pub fn is_token_authorized(&self) -> bool {
        matches!(self, Route::Unsubscribe(_))
    }

    /// A name for logs and metrics that never contains an id or a token.
    pub fn name(&self) -> &'static str {
        match self {
            Route::Home => "home",
            Route::SignIn => "sign-in",
            Route::SignInCode => "sign-in-code",
            Route::Access(_) => "access",
            Route::SignOut => "sign-out",
            Route::Invoices => "invoices",
            Route::Invoice(_) => "invoice",
            Route::InvoicePdf(_) => "invoice-pdf",
            Route::Statement => "statement",
            Route::StatementPdf => "statement-pdf",
            Route::PayInvoice(_) => "pay-invoice",
            Route::PayDue => "pay-due",
            Route::Payment(_) => "payment",
            Route::Receipts => "receipts",
            Route::Receipt(_) => "receipt",
            Route::ReceiptPdf(_) => "receipt-pdf",
            Route::YearSummaryPdf(_) => "year-summary-pdf",
            Route::Members => "members",
            Route::MemberContact(_) => "member-contact",
            Route::MemberBilling(_) => "member-billing",
            Route::EmailPreferences(_) => "email-preferences",
            Route::Unsubscribe(_) => "unsubscribe",
            Route::Memberships => "memberships",
            Route::Renew(_) => "renew",
            Route::NewDependent(_) => "new-dependent",
            Route::ConfirmDependent(_) => "confirm-dependent",
            Route::Leave(_) => "leave",
            Route::WithdrawLeaving(_) => "withdraw-leaving",
            Route::PaymentMethods => "payment-methods",
            Route::NewPaymentMethod => "new-payment-method",
            Route::RemovePaymentMethod(_) => "remove-payment-method",
            Route::DefaultPaymentMethod(_) => "default-payment-method",
            Route::Autopay => "autopay",
            Route::AutopayOff => "autopay-off",
            Route::Agreements => "agreements",
            Route::Agreement(_) => "agreement",
            Route::SignAgreement(_) => "sign-agreement",
            Route::AgreementPdf(_) => "agreement-pdf",
            Route::Activity => "activity",
            Route::Devices => "devices",
            Route::SignOutOthers => "sign-out-others",
            Route::Stylesheet => "stylesheet",
            Route::Script => "script",
            Route::Robots => "robots",
            Route::StripeWebhook => "stripe-webhook",
        }
    }

    /// One example of every route, for tests that must cover them all.
    pub fn examples() -> Vec<Route> {
        let inv = InvoiceId::parse("x1").expect("valid");
        let ms = MembershipId::parse("x1").expect("valid");
        let src = SourceId::parse("x1").expect("valid");
        let agr = AgreementId::parse("x1").expect("valid");
        vec![
            Route::Home,
            Route::SignIn,
            Route::SignInCode,
            Route::Access("a".repeat(43)),
            Route::SignOut,
            Route::Invoices,
            Route::Invoice(inv.clone()),
            Route::InvoicePdf(inv.clone()),
            Route::Statement,
            Route::StatementPdf,
            Route::PayInvoice(inv),
            Route::PayDue,
            Route::Payment(PaymentId::parse("x1").expect("valid")),
            Route::Receipts,
            Route::Receipt(PaymentId::parse("x1").expect("valid")),
            Route::ReceiptPdf(PaymentId::parse("x1").expect("valid")),
            Route::YearSummaryPdf(2026),
            Route::Members,
            Route::MemberContact(MemberId::parse("x1").expect("valid")),
            Route::MemberBilling(MemberId::parse("x1").expect("valid")),
            Route::EmailPreferences(MemberId::parse("x1").expect("valid")),
            Route::Unsubscribe("lopez.x1.0000".into()),
            Route::Memberships,
            Route::Renew(ms.clone()),
            Route::NewDependent(ms.clone()),
            Route::ConfirmDependent(ms.clone()),
            Route::Leave(ms.clone()),
            Route::WithdrawLeaving(ms),
            Route::PaymentMethods,
            Route::NewPaymentMethod,
            Route::RemovePaymentMethod(src.clone()),
            Route::DefaultPaymentMethod(src),
            Route::Autopay,
            Route::AutopayOff,
            Route::Agreements,
            Route::Agreement(agr.clone()),
            Route::SignAgreement(agr.clone()),
            Route::AgreementPdf(agr),
            Route::Activity,
            Route::Devices,
            Route::SignOutOthers,
            Route::Stylesheet,
            Route::Script,
            Route::Robots,
            Route::StripeWebhook,
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_receipt_link_names_its_invoices_and_parses_back() {
        let (a, b) = (InvoiceId::parse("inv-1").unwrap(), InvoiceId::parse("inv_2").unwrap());
        let (d1, d2) = ("2026-03-01".parse().unwrap(), "2026-04-01".parse().unwrap());
        let route = Route::Payment(PaymentId::parse("p1").unwrap());
        let link = route.receipt_link(&[(&a, d1), (&b, d2)]);
        assert_eq!(link, "/payments/p1?invoices=2026-03-01.inv-1,2026-04-01.inv_2");
        assert_eq!(linked_invoices(link.split("invoices=").nth(1)), vec![(a.clone(), d1), (b, d2)]);
        assert_eq!(route.receipt_link(&[]), "/payments/p1", "none named: the plain path");
        let many: Vec<_> = (0..=portal_domain::store::applied::LINKED_INVOICES_AT_MOST).map(|_| (&a, d1)).collect();
        assert_eq!(route.receipt_link(&many), "/payments/p1", "more than a link names: the plain path");
        for bad in [None, Some(""), Some("2026-03-01"), Some("2026-13-01.inv-1"), Some("2026-03-01.inv 1"), Some("2026-03-01.inv-1,")] {
            assert!(linked_invoices(bad).is_empty(), "{bad:?}");
        }
    }

    #[test]
    fn every_route_parses_back_from_its_path() {
        for route in Route::examples() {
            assert_eq!(Route::parse(&route.path()), Some(route.clone()), "{}", route.path());
        }
    }

    #[test]
    fn unknown_and_tricky_paths_are_not_routes() {
        for path in [
            "",
            "/nope",
            "/invoices/",
            "/invoices/../x",
            "/invoices/a%2Fb",
            "//invoices",
            "/access/short",
            "/members/x1",
            "/receipts/years/1999/pdf",
            "/receipts/years/+2026/pdf",
            "/receipts/years/20260/pdf",
        ] {
            assert_eq!(Route::parse(path), None, "{path}");
        }
    }

    #[test]
    fn memberships_and_pay_go_to_their_own_functions() {
        assert_eq!(Route::parse("/memberships").unwrap().function(), Function::Memberships);
        assert_eq!(Route::parse("/members").unwrap().function(), Function::ContactInfo);
        assert_eq!(Route::parse("/invoices/x/pay").unwrap().function(), Function::PayInvoice);
        assert_eq!(Route::parse("/invoices/x").unwrap().function(), Function::Invoices);
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_round_trips(path in "/[a-z0-9/_-]{0,60}") {
            if let Some(route) = Route::parse(&path) {
                prop_assert_eq!(route.path(), path);
            }
        }
    }
}
