//! Members: everyone on the household, and editing a member's contact details.

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::access;
use portal_domain::contact::ContactErrors;
use portal_domain::{Email, Household, Member, Practice, UsAddress};

use crate::date;
use crate::layout::{alert, csrf, field, notice, page, Chrome, Field};
use crate::routes::Route;

fn address_lines(a: &UsAddress) -> Markup {
    html! { (a.line1()) @if let Some(l2) = a.line2() { br; (l2) } br; (a.city_line()) }
}

/// Who handles the household's billing, as the members page shows it: the owner's buttons to
/// share it with another adult or stop, or a member's own "shared with you".
pub struct BillingSharing<'a> {
    pub household: &'a Household,
    /// Present for the owner: their forms carry it.
    pub csrf_token: Option<&'a str>,
    pub today: NaiveDate,
}

fn billing_row(b: &BillingSharing<'_>, m: &Member) -> Markup {
    let shared = b.household.billing_shared_with.contains(&m.id);
    let name = &m.first_name;
    html! {
        @if m.id == b.household.owner {
            dt { "Billing" } dd { "Account owner: invoices, payments and payment methods" }
        } @else if let Some(token) = b.csrf_token {
            @if shared || access::is_adult(m, b.today) {
                dt { "Billing" }
                dd.billing {
                    @if shared {
                        p { "Shared: " (name) " can see and pay invoices and manage payment methods." }
                        form method="post" action=(Route::MemberBilling(m.id.clone()).path()) {
                            (csrf(token))
                            input type="hidden" name="share" value="0";
                            button.secondary type="submit" { "Stop sharing billing with " (name) }
                        }
                    } @else {
                        @match access::may_share_billing(b.household, m, b.today) {
                            Ok(()) => {
                                p { "Not shared." }
                                form method="post" action=(Route::MemberBilling(m.id.clone()).path()) {
                                    (csrf(token))
                                    input type="hidden" name="share" value="1";
                                    button.secondary type="submit" { "Share billing with " (name) }
                                }
                            },
                            Err(why) => p.muted { "Not shared. " (why) },
                        }
                    }
                }
            }
        } @else if shared {
            dt { "Billing" } dd { "Shared with you: you can see and pay the household's invoices." }
        }
    }
}

/// `/members`.
/// `viewer` is the signed-in member: their own card links their email preferences.
pub fn list_page(
    chrome: &Chrome<'_>,
    members: &[Member],
    viewer: &portal_domain::MemberId,
    info: Option<&str>,
    message: Option<&str>,
    billing: Option<&BillingSharing<'_>>,
) -> Markup {
    let body = html! {
        h1 { "Members" }
        @if let Some(i) = info { (notice(i)) }
        @if let Some(m) = message { (alert("error", m)) }
        @for m in members {
            section.member-card aria-labelledby=(format!("member-{}", m.id)) {
                div.member-head {
                    h2 id=(format!("member-{}", m.id)) { (m.full_name()) }
                    a.button.secondary href=(Route::MemberContact(m.id.clone()).path()) aria-label=(format!("Edit contact details of {}", m.full_name())) { "Edit contact details" }
                }
                dl.summary-list {
                    dt { "Relationship" } dd { (m.relationship.label()) }
                    dt { "Date of birth" } dd { (date(m.date_of_birth.date())) }
                    dt { "Email" } dd { @if let Some(e) = &m.email { (e) } @else { span.muted.none { "Not given" } } }
                    dt { "Mobile" } dd { @if let Some(p) = &m.phones.mobile { (p) } @else { span.muted.none { "Not given" } } }
                    dt { "Home" } dd { @if let Some(p) = &m.phones.home { (p) } @else { span.muted.none { "Not given" } } }
                    dt { "Work" } dd { @if let Some(p) = &m.phones.work { (p) } @else { span.muted.none { "Not given" } } }
                    dt { "Address" } dd { @if let Some(a) = &m.address { (address_lines(a)) } @else { span.muted.none { "Not given" } } }
                    @if m.email.is_some() && &m.id == viewer {
                        dt { "Emails" } dd { a href=(Route::EmailPreferences(m.id.clone()).path()) aria-label=(format!("Email preferences of {}", m.full_name())) { "Email preferences" } }
                    }
                    @if let Some(b) = billing { (billing_row(b, m)) }
                }
            }
        }
    };
    page(chrome, "Members", body)
}

/// The contact form: the fields as the page names them, read from a sent form (`Form::decode`)
/// and shown again; one struct for the handler and the page.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct ContactValues {
    pub email: String,
    pub phone_mobile: String,
    pub phone_home: String,
    pub phone_work: String,
    pub address_line1: String,
    pub address_line2: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
}

impl ContactValues {
    /// The fields as the domain parses them.
    pub fn input(&self) -> portal_domain::contact::ContactInput<'_> {
        portal_domain::contact::ContactInput {
            email: &self.email,
            phone_mobile: &self.phone_mobile,
            phone_home: &self.phone_home,
            phone_work: &self.phone_work,
            address_line1: &self.address_line1,
            address_line2: &self.address_line2,
            city: &self.city,
            state: &self.state,
            postal_code: &self.postal_code,
        }
    }

    /// The member's current details, as the form shows them.
    pub fn of(m: &Member) -> ContactValues {
        let phone = |p: &Option<portal_domain::PhoneNumber>| p.as_ref().map(ToString::to_string).unwrap_or_default();
        let a = m.address.as_ref();
        ContactValues {
            email: m.email.as_ref().map(|e| e.to_string()).unwrap_or_default(),
            phone_mobile: phone(&m.phones.mobile),
            phone_home: phone(&m.phones.home),
            phone_work: phone(&m.phones.work),
            address_line1: a.map(|a| a.line1().to_owned()).unwrap_or_default(),
            address_line2: a.and_then(|a| a.line2()).unwrap_or_default().to_owned(),
            city: a.map(|a| a.city().to_owned()).unwrap_or_default(),
            state: a.map(|a| a.state().to_owned()).unwrap_or_default(),
            postal_code: a.map(|a| a.postal_code().to_owned()).unwrap_or_default(),
        }
    }
}

/// The state of the contact page.
pub struct ContactPage<'a> {
    pub member: &'a Member,
    pub practice: &'a Practice,
    pub csrf_token: &'a str,
    pub version: u64,
    pub values: &'a ContactValues,
    pub errors: &'a ContactErrors,
    pub message: Option<&'a str>,
    pub info: Option<&'a str>,
    /// An email change waiting for its code.
    pub pending_email: Option<&'a Email>,
    pub code_error: Option<&'a str>,
    /// Whether the signed-in member may change this member's sign-in email (their own, or one a
    /// member without an address is given); otherwise it is shown, not offered.
    pub email_editable: bool,
}

/// `/members/{id}/contact`.
pub fn contact_page(chrome: &Chrome<'_>, p: &ContactPage<'_>) -> Markup {
    let m = p.member;
    let v = p.values;
    let e = p.errors;
    let action = Route::MemberContact(m.id.clone()).path();
    let body = html! {
        p.back { a href=(Route::Members.path()) { "← Members" } }
        h1 { "Contact details of " (m.full_name()) }
        @if let Some(msg) = p.message { (alert("error", msg)) }
        @if let Some(i) = p.info { (notice(i)) }
        @if p.pending_email.is_some() || p.code_error.is_some() {
            section.verify aria-labelledby="verify-heading" {
                h2 #verify-heading { "Confirm the new email address" }
                @if let Some(pending) = p.pending_email {
                    p { "We emailed a 6-digit code to " strong { (pending) } ". The change takes effect once you enter it; until then, sign in with the current address." }
                }
                form method="post" action=(action) novalidate {
                    (csrf(p.csrf_token))
                    input type="hidden" name="version" value=(p.version);
                    (field(&Field { error: p.code_error, autocomplete: Some("one-time-code"), inputmode: Some("numeric"), ..Field::new("code", "6-digit code") }))
                    button.primary type="submit" { "Confirm email" }
                }
            }
        }
        section.readonly aria-labelledby="fixed-heading" {
            h2 #fixed-heading { "Name and date of birth" }
            dl.summary-list {
                dt { "Name" } dd { (m.full_name()) }
                dt { "Date of birth" } dd { (date(m.date_of_birth.date())) }
            }
            p.small.muted {
                "To change a name or date of birth, contact the practice at " (p.practice.phone) " or " (p.practice.email)
                ": pricing depends on age and clinical records depend on both."
            }
        }
        form.narrow-form method="post" action=(action) novalidate {
            (csrf(p.csrf_token))
            input type="hidden" name="version" value=(p.version);
            fieldset {
                legend { "Email" }
                @if p.email_editable {
                    (field(&Field { kind: "email", value: &v.email, error: e.email.as_deref(), autocomplete: Some("email"), hint: Some("Used to sign in. A new address is confirmed with a code sent to it."), ..Field::new("email", "Email") }))
                } @else {
                    p.fixed-email { (v.email) }
                    @if let Some(error) = e.email.as_deref() { p.field-error { (error) } }
                    p.small.muted { (m.first_name) " signs in with this address, so only " (m.first_name) " can change it, signed in as themselves, or the practice." }
                }
            }
            fieldset {
                legend { "Phones" }
                (field(&Field { kind: "tel", value: &v.phone_mobile, error: e.phone_mobile.as_deref(), autocomplete: Some("tel"), ..Field::new("phone_mobile", "Mobile") }))
                (field(&Field { kind: "tel", value: &v.phone_home, error: e.phone_home.as_deref(), ..Field::new("phone_home", "Home") }))
                (field(&Field { kind: "tel", value: &v.phone_work, error: e.phone_work.as_deref(), ..Field::new("phone_work", "Work") }))
            }
            fieldset {
                legend { "Address" }
                (field(&Field { value: &v.address_line1, error: e.address.line1, autocomplete: Some("address-line1"), ..Field::new("address_line1", "Street address") }))
                (field(&Field { value: &v.address_line2, error: e.address.line2, autocomplete: Some("address-line2"), hint: Some("Optional: apartment, suite, unit."), ..Field::new("address_line2", "Address line 2") }))
                (field(&Field { value: &v.city, error: e.address.city, autocomplete: Some("address-level2"), ..Field::new("city", "City") }))
                div.inline-fields {
                    (field(&Field { value: &v.state, error: e.address.state, autocomplete: Some("address-level1"), hint: Some("2 letters, e.g. TX"), ..Field::new("state", "State") }))
                    (field(&Field { value: &v.postal_code, error: e.address.postal_code, autocomplete: Some("postal-code"), inputmode: Some("numeric"), ..Field::new("postal_code", "ZIP code") }))
                }
            }
            button.primary type="submit" { "Save changes" }
        }
    };
    page(chrome, &format!("Contact details of {}", m.full_name()), body)
}

/// `/members/{id}/email`: whether this member gets reminders.
pub fn preferences_page(chrome: &Chrome<'_>, csrf_token: &str, m: &Member, reminders: bool, info: Option<&str>) -> Markup {
    let body = html! {
        p.back { a href=(Route::Members.path()) { "← Members" } }
        h1 { "Email preferences of " (m.full_name()) }
        @if let Some(i) = info { (notice(i)) }
        p { "Receipts, security notices and sign-in codes always go to " @if let Some(e) = &m.email { strong { (e) } } @else { "this member's address" } "." }
        form method="post" action=(Route::EmailPreferences(m.id.clone()).path()) {
            (csrf(csrf_token))
            fieldset {
                legend { "Reminders" }
                p.hint #reminders-hint { "New invoices, due dates and past-due invoices, cards about to expire, and agreements waiting for a signature." }
                label.choice { input type="radio" name="reminders" value="on" checked[reminders] aria-describedby="reminders-hint"; " Email me reminders" }
                label.choice { input type="radio" name="reminders" value="off" checked[!reminders]; " No reminders" }
            }
            button.primary type="submit" { "Save preferences" }
        }
    };
    page(chrome, "Email preferences", body)
}

/// `/unsubscribe/{token}`: the page a reminder's "Stop these reminders" opens (no sign-in); the
/// button is the same one-click POST a mail program sends.
pub fn unsubscribe_page(chrome: &Chrome<'_>, token: &str, done: bool) -> Markup {
    let body = html! {
        div.narrow {
            @if done {
                h1 { "Reminders are off" }
                p #unsubscribed { "This address will get no more reminders. Receipts, security notices and sign-in codes still come." }
                p { "To turn reminders back on, sign in and open Members, then Email preferences." }
            } @else {
                h1 { "Stop email reminders?" }
                p { "Reminders about invoices, cards and agreements stop for this address. Receipts, security notices and sign-in codes still come." }
                form method="post" action=(Route::Unsubscribe(token.to_owned()).path()) {
                    input type="hidden" name="List-Unsubscribe" value="One-Click";
                    button.primary type="submit" { "Stop reminders" }
                }
            }
            p { a href=(Route::SignIn.path()) { "Sign in to the portal" } }
        }
    };
    page(chrome, "Email reminders", body)
}
