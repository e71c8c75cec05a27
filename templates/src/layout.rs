//! The page frame shared by every page, and small components.

use maud::{html, Markup, DOCTYPE};

use crate::routes::{Route, SCRIPT_PATH, STYLESHEET_PATH};

/// The sections of a signed-in household, in navigation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Invoices,
    PaymentMethods,
    Members,
    Memberships,
    Agreements,
    Activity,
}

impl Section {
    /// The sections that exist; later sections join this list as their functions are built.
    pub const ALL: [Section; 6] =
        [Section::Invoices, Section::Members, Section::Memberships, Section::PaymentMethods, Section::Agreements, Section::Activity];

    pub fn label(self) -> &'static str {
        match self {
            Section::Invoices => "Invoices",
            Section::PaymentMethods => "Payment methods",
            Section::Agreements => "Agreements",
            Section::Memberships => "Memberships",
            Section::Members => "Members",
            Section::Activity => "Activity",
        }
    }

    pub fn route(self) -> Route {
        match self {
            Section::Invoices => Route::Invoices,
            Section::PaymentMethods => Route::PaymentMethods,
            Section::Agreements => Route::Agreements,
            Section::Memberships => Route::Memberships,
            Section::Members => Route::Members,
            Section::Activity => Route::Activity,
        }
    }

    /// Whether a member who is not the household's owner may open the section.
    pub fn for_members(self) -> bool {
        match self {
            Section::Invoices | Section::PaymentMethods => false,
            Section::Agreements | Section::Memberships | Section::Members | Section::Activity => true,
        }
    }
}

/// The signed-in part of the frame: navigation and sign-out.
pub struct Nav<'a> {
    pub current: Option<Section>,
    pub csrf_token: &'a str,
    pub is_owner: bool,
    /// The owner, or a member the owner shares billing with: Invoices and Payment methods show.
    pub handles_billing: bool,
    pub member_name: &'a str,
}

/// What every page needs to know about where it stands.
pub struct Chrome<'a> {
    pub practice: &'a str,
    pub nav: Option<Nav<'a>>,
}

/// The `<head>` every page shares: the one place it is written.
fn head(chrome: &Chrome<'_>, title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            meta name="referrer" content="no-referrer";
            title { (title) " · " (chrome.practice) }
            link rel="icon" href="data:,";
            link rel="stylesheet" href=(STYLESHEET_PATH);
            script src=(SCRIPT_PATH) defer {}
        }
    }
}

/// The whole document: the one place the doctype is written.
pub fn page(chrome: &Chrome<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(chrome, title))
            body {
                a.skip href="#main" { "Skip to content" }
                header.site {
                    div.wrap {
                        p.brand { (chrome.practice) }
                        @if let Some(nav) = &chrome.nav {
                            nav aria-label="Portal sections" {
                                ul {
                                    @for section in Section::ALL.iter().filter(|s| nav.is_owner || s.for_members() || nav.handles_billing) {
                                        li {
                                            @if nav.current == Some(*section) {
                                                a href=(section.route().path()) aria-current="page" { (section.label()) }
                                            } @else {
                                                a href=(section.route().path()) { (section.label()) }
                                            }
                                        }
                                    }
                                }
                            }
                            form.signout method="post" action=(Route::SignOut.path()) {
                                input type="hidden" name="csrf_token" value=(nav.csrf_token);
                                span.who { (nav.member_name) }
                                button.link type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main #main .wrap { (body) }
                footer.site { div.wrap { p { (chrome.practice) " · Patient portal" } } }
            }
        }
    }
}

/// A page for printing: the document alone, without navigation.
pub fn print_page(chrome: &Chrome<'_>, title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            (head(chrome, title))
            body.print-view { main #main .wrap { (body) } }
        }
    }
}

/// A labelled text input with its hint and error tied to it for screen readers.
pub struct Field<'a> {
    pub name: &'a str,
    pub label: &'a str,
    pub kind: &'a str,
    pub value: &'a str,
    pub error: Option<&'a str>,
    pub hint: Option<&'a str>,
    pub autocomplete: Option<&'a str>,
    pub inputmode: Option<&'a str>,
}

impl<'a> Field<'a> {
    pub fn new(name: &'a str, label: &'a str) -> Field<'a> {
        Field { name, label, kind: "text", value: "", error: None, hint: None, autocomplete: None, inputmode: None }
    }
}

pub fn field(f: &Field<'_>) -> Markup {
    let id = format!("f-{}", f.name);
    let hint_id = format!("{id}-hint");
    let error_id = format!("{id}-error");
    let described: Vec<&str> = [f.hint.map(|_| hint_id.as_str()), f.error.map(|_| error_id.as_str())].into_iter().flatten().collect();
    let described = (!described.is_empty()).then(|| described.join(" "));
    html! {
        div.field.invalid[f.error.is_some()] {
            label for=(id) { (f.label) }
            @if let Some(hint) = f.hint { p.hint id=(hint_id) { (hint) } }
            @if let Some(error) = f.error { p.error id=(error_id) { (error) } }
            input id=(id) name=(f.name) type=(f.kind) value=(f.value)
                autocomplete=[f.autocomplete] inputmode=[f.inputmode]
                aria-invalid=[f.error.map(|_| "true")] aria-describedby=[described];
        }
    }
}

/// A hidden CSRF field; every POST form carries one.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf_token" value=(token); }
}

/// A message that concerns the whole form, announced to screen readers.
pub fn alert(kind: &str, message: &str) -> Markup {
    html! { div.alert.(kind) role="alert" { p { (message) } } }
}

/// A notice that is not an error.
pub fn notice(message: &str) -> Markup {
    html! { div.notice role="status" { p { (message) } } }
}
