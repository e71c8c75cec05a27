//! The request edge every function shares: checks, session, CSRF, forms, and the one place
//! where outcomes and errors become responses with the portal's headers.

use std::time::Instant;

use lambda_http::http::{header, HeaderMap, HeaderValue, Method, Response, StatusCode};
use lambda_http::{Body, Request, RequestExt};
use maud::Markup;
use portal_domain::access::Viewer;
use portal_domain::audit::{self, AuditEvent};
use portal_domain::ports::random_token;
use portal_domain::session::{self, Session, Token};
use portal_domain::{MailError, StoreError};
use portal_templates::errors::error_page;
use portal_templates::layout::{Chrome, Nav, Section};
use portal_templates::routes::{Function, Route};
use secrecy::ExposeSecret;
use subtle::ConstantTimeEq;

use crate::app::App;
use crate::config::{Config, Payments, StripeSettings, ORIGIN_VERIFY_HEADER};
use crate::cookies::{
    parse_cookie_header, pre_cookie_name, session_cookie_name, set_cookie, PreSession, PRE_SESSION_SECONDS, SESSION_COOKIE_SECONDS,
};
use crate::form::Form;

/// The largest request body accepted; every portal form is far smaller.
pub const MAX_BODY_BYTES: usize = 16 * 1024;

pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// The fields that would carry card or bank account numbers, which only the sandbox takes.
const CARD_FIELDS: [&str; 4] = ["card_number", "cvc", "account_number", "routing_number"];

/// The policy of a page that runs Stripe.js: the portal's own policy, widened only for Stripe's
/// script, its frames (the card field, the bank's 3-D Secure window) and its API.
pub fn stripe_content_security_policy(stripe: &StripeSettings) -> String {
    let script = stripe.script_origin();
    let api = stripe.api_origin();
    // Stripe.js itself loads from js.stripe.com and its subdomains and opens 3-D Secure in hooks.stripe.com.
    let (scripts, frames) = if script == "https://js.stripe.com" {
        ("https://js.stripe.com https://*.js.stripe.com", "https://js.stripe.com https://*.js.stripe.com https://hooks.stripe.com")
    } else {
        (script, script)
    };
    format!(
        "default-src 'none'; script-src 'self' {scripts}; frame-src {frames}; connect-src {api} {script}; style-src 'self'; \
         img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    )
}

/// An HTML page that runs Stripe.js, with the policy that lets it.
pub fn stripe_html(status: StatusCode, markup: Markup, stripe: &StripeSettings) -> Response<Body> {
    let mut response = html(status, markup);
    if let Ok(v) = HeaderValue::from_str(&stripe_content_security_policy(stripe)) {
        response.headers_mut().insert("content-security-policy", v);
    }
    response
}

/// The peer address of a request served by the local server (Lambda requests carry it in their context).
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

/// Why a request did not end in the page it asked for.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("sign-in required")]
    SignInRequired,
    #[error("not found")]
    NotFound,
    #[error("forbidden")]
    Forbidden(Option<&'static str>),
    #[error("bad request")]
    BadRequest(&'static str),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("payload too large")]
    TooLarge,
    #[error("conflict")]
    Conflict,
    #[error("unavailable")]
    Unavailable(#[source] anyhow::Error),
}

impl From<StoreError> for PageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::ConditionFailed => PageError::Conflict,
            other => PageError::Unavailable(anyhow::Error::new(other)),
        }
    }
}

impl From<MailError> for PageError {
    fn from(e: MailError) -> Self {
        PageError::Unavailable(anyhow::Error::new(e))
    }
}

pub type PageResult = Result<Response<Body>, PageError>;

/// One request on its way through a function.
pub struct Ctx {
    /// The route asked for (`Home` until the path is parsed; see `route_known`).
    pub route: Route,
    route_known: bool,
    pub method: Method,
    pub request_id: String,
    pub client_ip: String,
    pub user_agent: String,
    /// The portal's public URL for links in emails (from config, or the viewer's host).
    pub public_url: String,
    pub query: Vec<(String, String)>,
    pub form: Form,
    /// The signed-in session, if the cookie names a live one.
    pub session: Option<(Token, Session)>,
    /// A valid pre-session cookie, for visitors who have not signed in.
    pub pre: Option<PreSession>,
    set_cookies: Vec<String>,
    started: Instant,
}

fn request_id(req: &Request, app: &App) -> String {
    req.lambda_context_ref().map(|c| c.request_id.clone()).filter(|id| !id.is_empty()).unwrap_or_else(|| {
        let mut bytes = [0u8; 12];
        app.random.fill(&mut bytes);
        hex::encode(bytes)
    })
}

fn client_ip(req: &Request) -> String {
    // CloudFront's viewer address ("ip:port"); the origin-verify check makes sure CloudFront set it.
    if let Some(addr) = req.headers().get("cloudfront-viewer-address").and_then(|v| v.to_str().ok()) {
        if let Some((ip, _port)) = addr.rsplit_once(':') {
            return ip.to_owned();
        }
    }
    if let Some(ClientAddr(ip)) = req.extensions().get::<ClientAddr>() {
        return ip.clone();
    }
    match req.request_context_ref() {
        Some(lambda_http::request::RequestContext::ApiGatewayV2(ctx)) => ctx.http.source_ip.clone().unwrap_or_default(),
        _ => String::new(),
    }
}

/// A host name as a Host header carries it: letters, digits, dots, hyphens, and a port.
fn valid_host(host: &str) -> bool {
    !host.is_empty() && host.len() <= 253 && host.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-' || b == b':')
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// The portal's public origin for links in emails: the configured one, or (deployed without a
/// custom domain) the host the viewer used, which only CloudFront's viewer-request function sets.
pub fn public_url(app: &App, req: &Request) -> String {
    if app.config.public_url.is_empty() {
        if let Some(host) = header_str(req.headers(), "x-portal-viewer-host").filter(|h| valid_host(h)) {
            return format!("https://{host}");
        }
    }
    app.config.public_url.clone()
}

/// Whether a request came through the portal's CloudFront distribution, which adds the secret
/// origin-verify header (always, for a local run, which has none).
pub fn through_cloudfront(app: &App, req: &Request) -> bool {
    match &app.config.origin_verify {
        Some(expected) => {
            let given = header_str(req.headers(), ORIGIN_VERIFY_HEADER).unwrap_or("");
            bool::from(given.as_bytes().ct_eq(expected.expose_secret().as_bytes()))
        }
        None => true,
    }
}

/// A request's body as bytes.
pub fn body_bytes(body: &Body) -> &[u8] {
    match body {
        Body::Empty => &[],
        Body::Text(t) => t.as_bytes(),
        Body::Binary(b) => b,
        _ => &[],
    }
}

impl Ctx {
    /// Checks a request and gathers what handlers need. An `Err` is the finished response.
    pub async fn begin(app: &App, req: Request, function: Function) -> Result<Ctx, Response<Body>> {
        let started = Instant::now();
        let mut ctx = Ctx {
            route: Route::Home,
            route_known: false,
            method: req.method().clone(),
            request_id: request_id(&req, app),
            client_ip: client_ip(&req),
            user_agent: header_str(req.headers(), "user-agent").unwrap_or("").chars().take(256).collect(),
            public_url: app.config.public_url.clone(),
            query: Vec::new(),
            form: Form::default(),
            session: None,
            pre: None,
            set_cookies: Vec::new(),
            started,
        };
        match ctx.check(app, &req, function).await {
            Ok(()) => Ok(ctx),
            Err(e) => Err(ctx.finish(app, Err(e))),
        }
    }

    async fn check(&mut self, app: &App, req: &Request, function: Function) -> Result<(), PageError> {
        if !through_cloudfront(app, req) {
            return Err(PageError::Forbidden(None));
        }
        self.public_url = public_url(app, req);
        self.route = Route::parse(req.uri().path()).ok_or(PageError::NotFound)?;
        self.route_known = true;
        if self.route.function() != function && !self.route.is_asset() {
            return Err(PageError::NotFound);
        }
        if !self.route.methods().contains(&self.method.as_str()) {
            return Err(PageError::MethodNotAllowed);
        }
        if let Some(query) = req.uri().query() {
            self.query = serde_urlencoded::from_str(query).map_err(|_| PageError::BadRequest("The address has a malformed query."))?;
        }
        let https = app.config.is_https();
        // Read leniently: another site of the practice's domain may set cookies that are not ASCII,
        // and they are not ours to refuse. Ours must be exactly as we set them (checked below).
        let headers: Vec<String> =
            req.headers().get_all(header::COOKIE).iter().map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned()).collect();
        let cookies = parse_cookie_header(headers.iter().map(String::as_str));
        let cookie = |name: &str| cookies.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str()).filter(|v| !v.is_empty());
        // A cookie of ours that is not shaped as we set it was damaged or made up: say so and
        // clear it, rather than guess. (A well-formed but dead one just means signed out.)
        let session_value = cookie(session_cookie_name(https));
        let pre_value = cookie(pre_cookie_name(https));
        if session_value.is_some_and(|v| Token::parse(v).is_none()) || pre_value.is_some_and(|v| !PreSession::well_formed(v)) {
            return Err(self.damaged_cookies(app));
        }
        if let Some(token) = session_value.and_then(Token::parse) {
            if let Some(session) = session::load(app.table.as_ref(), app.now(), &token).await? {
                self.session = Some((token, session));
            }
        }
        self.pre = pre_value.and_then(|v| PreSession::decode(v, &app.config.secret, app.now().timestamp()));
        // A token-authorized POST (one-click unsubscribe) reads no body: mail programs send it as
        // `multipart/form-data` or as a form, and the token in the path is all it needs.
        if self.method == Method::POST && !self.route.is_token_authorized() {
            let body = body_bytes(req.body());
            if body.len() > MAX_BODY_BYTES {
                return Err(PageError::TooLarge);
            }
            let content_type = header_str(req.headers(), "content-type").unwrap_or("");
            if !content_type.trim_start().to_ascii_lowercase().starts_with("application/x-www-form-urlencoded") {
                return Err(PageError::BadRequest("Send the form as the page does."));
            }
            self.form = Form::parse(body).ok_or(PageError::BadRequest("The form could not be read."))?;
            self.check_csrf(app, req)?;
            self.refuse_card_numbers(app)?;
        }
        Ok(())
    }

    /// Every POST must come from our own pages: same origin, and a token bound to this browser.
    fn check_csrf(&self, app: &App, req: &Request) -> Result<(), PageError> {
        // Browsers mark requests another site started; a form of ours is same-origin (or typed in: none).
        if let Some(site) = header_str(req.headers(), "sec-fetch-site") {
            if site == "cross-site" || site == "same-site" {
                return Err(PageError::Forbidden(None));
            }
        }
        // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` even for our own forms,
        // and any page can make them do so: "null" proves nothing either way, so only a real
        // foreign origin is refused here and the token below decides.
        if let Some(origin) = header_str(req.headers(), "origin").filter(|o| *o != "null") {
            // Locally, the server's own address under either name; never whatever Host says.
            let local_alias = app.config.local.then(|| Config::origin_of(&app.config.public_url).replace("127.0.0.1", "localhost"));
            let same = (!self.public_url.is_empty() && origin == Config::origin_of(&self.public_url))
                || local_alias.is_some_and(|alias| origin == alias);
            if !same {
                return Err(PageError::Forbidden(None));
            }
        }
        if self.route == Route::SignOut && self.session.is_none() {
            // Nothing to protect: signing out a browser that is not signed in changes nothing.
            return Ok(());
        }
        let given = self.form.get("csrf_token").unwrap_or("");
        let session_ok = self.session.as_ref().is_some_and(|(_, s)| bool::from(given.as_bytes().ct_eq(s.csrf_token.as_bytes())));
        let pre_ok = self.route.is_public() && self.pre.as_ref().is_some_and(|p| bool::from(given.as_bytes().ct_eq(p.nonce.as_bytes())));
        if given.is_empty() || !(session_ok || pre_ok) {
            return Err(PageError::Forbidden(None));
        }
        Ok(())
    }

    /// With Stripe, card and account numbers are typed into Stripe's own fields and go to Stripe
    /// only: a form that carries one anyway (a stale page, a script, an attacker probing) is refused
    /// before anything reads it, and nothing is charged or stored.
    fn refuse_card_numbers(&self, app: &App) -> Result<(), PageError> {
        if matches!(app.config.payments, Payments::Stripe(_))
            && CARD_FIELDS.iter().any(|name| self.form.get(name).is_some_and(|v| !v.trim().is_empty()))
        {
            return Err(PageError::BadRequest(
                "Card and bank account numbers are entered in Stripe's secure card field and never sent to the portal. \
                 Nothing was charged or saved: open the page again and use that field.",
            ));
        }
        Ok(())
    }

    /// The answer to cookies the portal cannot have set: 400, and both of its cookies cleared.
    fn damaged_cookies(&mut self, app: &App) -> PageError {
        let https = app.config.is_https();
        self.set_cookies.push(set_cookie(session_cookie_name(https), "", 0, https));
        self.set_cookies.push(set_cookie(pre_cookie_name(https), "", 0, https));
        PageError::BadRequest("Your browser sent a damaged portal cookie. It has been cleared: sign in again.")
    }

    /// The signed-in session, or a redirect to sign in.
    pub fn session(&self) -> Result<&Session, PageError> {
        self.session.as_ref().map(|(_, s)| s).ok_or(PageError::SignInRequired)
    }

    /// An audit event by the signed-in member, from this request's address and device.
    pub fn event(&self, app: &App, action: &str) -> Result<AuditEvent, PageError> {
        Ok(self.event_by(app, self.session()?, action))
    }

    /// An audit event by `session`'s member (one just started), from this request's address and device.
    pub fn event_by(&self, app: &App, session: &Session, action: &str) -> AuditEvent {
        AuditEvent::new(app.random.as_ref(), &session.account, Some(&session.member), action, app.now(), &self.client_ip)
            .device(audit::device_of(&self.user_agent))
            .actor_name(session.display_name.clone())
    }

    /// Records an event for a change already made. The change stands if this write fails: the
    /// failure is logged (without the event's details) for the practice to look into.
    pub async fn record(&self, app: &App, event: AuditEvent) {
        self.record_write(app, &event.action, event.write()).await;
    }

    /// Writes an audit event's item (see [`Ctx::record`]); a failure is logged, never shown.
    pub async fn record_write(&self, app: &App, action: &str, write: Result<portal_domain::ports::Write, StoreError>) {
        let written = match write {
            Ok(write) => app.table.write(write).await,
            Err(e) => Err(e),
        };
        if let Err(e) = written {
            tracing::error!(request_id = %self.request_id, action, error = %e, "audit event not recorded");
        }
    }

    /// The signed-in session of the household's owner. The household's billing and management are
    /// not another member's (`portal_domain::access`): for them these pages do not exist.
    pub fn owner_session(&self) -> Result<&Session, PageError> {
        self.session_that(|v| v.manages_household())
    }

    /// The session when the access policy lets its member do `what`; else "not found", the one
    /// refusal for "not yours".
    fn session_that(&self, what: fn(&Viewer<'_>) -> bool) -> Result<&Session, PageError> {
        let session = self.session()?;
        if what(&Viewer::of(session)) {
            Ok(session)
        } else {
            Err(PageError::NotFound)
        }
    }

    /// The session of the owner or a member the owner shares billing with; for anyone else the
    /// household's billing does not exist (404).
    pub fn billing_session(&self) -> Result<&Session, PageError> {
        self.session_that(|v| v.handles_billing())
    }

    /// The household, read in one query, for a page of its billing (see `billing_session`); the
    /// household as read must still say the member handles its billing (a sharing taken back
    /// counts at once, whatever became of the member's sessions).
    pub async fn billing_household_or_404(&self, app: &App) -> Result<portal_domain::store::HouseholdRecords, PageError> {
        let session = self.billing_session()?;
        let records = portal_domain::store::household(app.table.as_ref(), &session.account).await?;
        Self::handles_billing(records, session)
    }

    /// As [`Ctx::billing_household_or_404`], for a page that shows none of the billing history:
    /// the household's profile alone (`store::profile`), whatever the years of invoices behind it.
    pub async fn billing_profile_or_404(&self, app: &App) -> Result<portal_domain::store::HouseholdRecords, PageError> {
        let session = self.billing_session()?;
        let records = portal_domain::store::profile(app.table.as_ref(), &session.account).await?;
        Self::handles_billing(records, session)
    }

    /// As [`Ctx::billing_household_or_404`], for the pay form reached by a link that names the
    /// oldest invoice it pays (`Route::pay_link`): the profile and the invoices from that date up
    /// (`store::open_since`), or `None` when the household keeps no summary of them.
    pub async fn billing_open_since_or_404(
        &self,
        app: &App,
        since: chrono::NaiveDate,
    ) -> Result<Option<portal_domain::store::OpenSince>, PageError> {
        let session = self.billing_session()?;
        match portal_domain::store::open_since(app.table.as_ref(), &session.account, since).await? {
            Some(read) => {
                let every_open_invoice = read.every_open_invoice;
                let records = Self::handles_billing(read.records, session)?;
                Ok(Some(portal_domain::store::OpenSince { records, every_open_invoice }))
            }
            None => Ok(None),
        }
    }

    /// An invoice's page read by key (`store::invoice_page`), for whoever handles the household's
    /// billing as its record says now; `None` when the page must read the household whole (an
    /// invoice written before its payments were copied, or not there: the whole read says 404).
    pub async fn billing_invoice_or_404(
        &self,
        app: &App,
        id: &portal_domain::InvoiceId,
        issued: chrono::NaiveDate,
    ) -> Result<Option<portal_domain::store::InvoicePage>, PageError> {
        let session = self.billing_session()?;
        match portal_domain::store::invoice_page(app.table.as_ref(), &session.account, id, issued).await? {
            Some(page) if portal_domain::access::handles_billing_of(&page.household, &session.member) => Ok(Some(page)),
            Some(_) => Err(PageError::NotFound),
            None => Ok(None),
        }
    }

    /// A payment with its parts read by key (`store::applied::payment_read`), for whoever handles
    /// the household's billing as its record says now; `None` when the page must read the
    /// household whole (a link without its invoices, copies not complete, or not there).
    pub async fn billing_payment_or_404(
        &self,
        app: &App,
        id: &portal_domain::PaymentId,
        invoices: &[(portal_domain::InvoiceId, chrono::NaiveDate)],
    ) -> Result<Option<portal_domain::store::applied::PaymentRead>, PageError> {
        let session = self.billing_session()?;
        match portal_domain::store::applied::payment_read(app.table.as_ref(), &session.account, id, invoices).await? {
            Some(read) if portal_domain::access::handles_billing_of(&read.household, &session.member) => Ok(Some(read)),
            Some(_) => Err(PageError::NotFound),
            None => Ok(None),
        }
    }

    fn handles_billing(
        records: portal_domain::store::HouseholdRecords,
        session: &Session,
    ) -> Result<portal_domain::store::HouseholdRecords, PageError> {
        match &records.household {
            Some(household) if portal_domain::access::handles_billing_of(household, &session.member) => Ok(records),
            _ => Err(PageError::NotFound),
        }
    }

    /// The CSRF token forms on this page must carry, creating a pre-session if there is none.
    pub fn csrf_token(&mut self, app: &App) -> String {
        if let Some((_, s)) = &self.session {
            return s.csrf_token.clone();
        }
        if self.pre.is_none() {
            let pre = PreSession {
                nonce: random_token(app.random.as_ref(), 24),
                signin_id: None,
                masked_email: None,
                issued: app.now().timestamp(),
                landing: None,
            };
            self.set_pre(app, pre);
        }
        self.pre.as_ref().map(|p| p.nonce.clone()).unwrap_or_default()
    }

    /// Stores the pre-session in its cookie.
    pub fn set_pre(&mut self, app: &App, pre: PreSession) {
        let https = app.config.is_https();
        self.set_cookies.push(set_cookie(pre_cookie_name(https), &pre.encode(&app.config.secret), PRE_SESSION_SECONDS, https));
        self.pre = Some(pre);
    }

    /// Signs the browser in: a new session cookie, and the pre-session is gone.
    pub fn set_session(&mut self, app: &App, token: &Token) {
        let https = app.config.is_https();
        self.set_cookies.push(set_cookie(session_cookie_name(https), token.expose(), SESSION_COOKIE_SECONDS, https));
        self.set_cookies.push(set_cookie(pre_cookie_name(https), "", 0, https));
        self.pre = None;
    }

    /// Removes the session cookie.
    pub fn clear_session(&mut self, app: &App) {
        let https = app.config.is_https();
        self.set_cookies.push(set_cookie(session_cookie_name(https), "", 0, https));
        self.session = None;
    }

    /// The page frame for this request.
    pub fn chrome<'a>(&'a self, app: &'a App, current: Option<Section>) -> Chrome<'a> {
        Chrome {
            practice: &app.config.practice_name,
            nav: self.session.as_ref().map(|(_, s)| Nav {
                current,
                csrf_token: &s.csrf_token,
                is_owner: s.is_owner,
                handles_billing: s.is_owner || s.handles_billing,
                member_name: &s.display_name,
            }),
        }
    }

    /// A query parameter.
    pub fn query(&self, name: &str) -> Option<&str> {
        self.query.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Turns the outcome into the response: error pages, cookies, security headers, one log line.
    pub fn finish(self, app: &App, result: PageResult) -> Response<Body> {
        let mut response = match result {
            Ok(r) => r,
            Err(e) => self.error_response(app, e),
        };
        let headers = response.headers_mut();
        for cookie in &self.set_cookies {
            if let Ok(v) = HeaderValue::from_str(cookie) {
                headers.append(header::SET_COOKIE, v);
            }
        }
        // A page that runs Stripe.js brings its own, wider policy (`stripe_html`); every other keeps this one.
        if !headers.contains_key("content-security-policy") {
            headers.insert("content-security-policy", HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        }
        headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
        headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
        headers.insert("x-frame-options", HeaderValue::from_static("DENY"));
        // A private portal: no page of it (an access link, a sign-in page) belongs in a search index.
        headers.insert("x-robots-tag", HeaderValue::from_static("noindex, nofollow"));
        if app.config.is_https() {
            headers.insert("strict-transport-security", HeaderValue::from_static("max-age=63072000; includeSubDomains"));
        }
        if !headers.contains_key(header::CACHE_CONTROL) {
            headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        if let Ok(v) = HeaderValue::from_str(&self.request_id) {
            headers.insert("x-request-id", v);
        }
        tracing::info!(
            request_id = %self.request_id,
            route = if self.route_known { self.route.name() } else { "unknown" },
            method = %self.method,
            status = response.status().as_u16(),
            duration_us = self.started.elapsed().as_micros() as u64,
            signed_in = self.session.is_some(),
            "request"
        );
        response
    }

    fn error_response(&self, app: &App, error: PageError) -> Response<Body> {
        let (status, message) = match &error {
            PageError::SignInRequired => return redirect(&Route::SignIn),
            PageError::NotFound => (StatusCode::NOT_FOUND, None),
            PageError::Forbidden(m) => (StatusCode::FORBIDDEN, *m),
            PageError::BadRequest(m) => (StatusCode::BAD_REQUEST, Some(*m)),
            PageError::MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, None),
            PageError::TooLarge => (StatusCode::PAYLOAD_TOO_LARGE, None),
            PageError::Conflict => (StatusCode::CONFLICT, None),
            PageError::Unavailable(cause) => {
                tracing::error!(request_id = %self.request_id, route = self.route.name(), error = ?cause, "unavailable");
                (StatusCode::SERVICE_UNAVAILABLE, None)
            }
        };
        let markup = error_page(&self.chrome(app, None), status.as_u16(), message, &self.request_id);
        let mut response = html(status, markup);
        if status == StatusCode::METHOD_NOT_ALLOWED {
            if let Ok(allow) = HeaderValue::from_str(&self.route.methods().join(", ")) {
                response.headers_mut().insert(header::ALLOW, allow);
            }
        }
        response
    }
}

/// Where a signed-in member starts: whoever handles billing on the invoices, anyone else on what they may see.
pub fn landing(session: &Session) -> Route {
    if session.is_owner || session.handles_billing {
        Route::Invoices
    } else {
        Route::Members
    }
}

/// An HTML page.
pub fn html(status: StatusCode, markup: Markup) -> Response<Body> {
    let mut response = Response::new(Body::Text(markup.into_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    response
}

/// A 303 redirect to a route (after a POST, or to where a visitor belongs).
pub fn redirect(to: &Route) -> Response<Body> {
    see_other(&to.path())
}

/// A 303 redirect to a link a route made (a path with its query, e.g. `Route::receipt_link`).
pub fn see_other(link: &str) -> Response<Body> {
    let mut response = Response::new(Body::Empty);
    *response.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(link) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// A 303 redirect to a route whose page tells what was done (see `portal_templates::done`).
pub fn redirect_done(to: &Route, done: portal_templates::done::Done) -> Response<Body> {
    redirect_with_query(to, &done.query())
}

/// A 303 redirect to a route with a query string, e.g. `?done=saved` for the notice on arrival.
pub fn redirect_with_query(to: &Route, query: &str) -> Response<Body> {
    let mut response = redirect(to);
    if let Ok(v) = HeaderValue::from_str(&format!("{}?{query}", to.path())) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    response
}

/// The stylesheet or the script, cacheable for an hour.
/// `robots.txt`: nothing of a patient portal is for crawlers.
pub const ROBOTS: &str = "User-agent: *\nDisallow: /\n";

pub fn asset(route: &Route) -> Response<Body> {
    let (body, content_type) = match route {
        Route::Script => (portal_templates::SCRIPT, "text/javascript; charset=utf-8"),
        Route::Robots => (ROBOTS, "text/plain; charset=utf-8"),
        _ => (portal_templates::STYLESHEET, "text/css; charset=utf-8"),
    };
    let mut response = Response::new(Body::Text(body.to_owned()));
    response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    response
}
