//! Sign-in pages: email, access link and code.

use maud::{html, Markup};

use crate::layout::{alert, csrf, field, notice, page, Chrome, Field};
use crate::routes::Route;

/// The email form at `/sign-in`.
pub fn email_page(chrome: &Chrome<'_>, csrf_token: &str, email: &str, error: Option<&str>, info: Option<&str>) -> Markup {
    let body = html! {
        div.narrow {
            h1 { "Sign in to your patient portal" }
            p { "Enter the email address the practice has on file. We will email you a 6-digit code." }
            @if let Some(info) = info { (notice(info)) }
            form method="post" action=(Route::SignIn.path()) novalidate {
                (csrf(csrf_token))
                (field(&Field { kind: "email", value: email, error, autocomplete: Some("email"), ..Field::new("email", "Email address") }))
                button.primary type="submit" { "Email me a code" }
            }
        }
    };
    page(chrome, "Sign in", body)
}

/// The page a login-less access link opens: the practice, the masked address and one button.
pub fn access_page(
    chrome: &Chrome<'_>,
    csrf_token: &str,
    token: &str,
    landing: Option<&str>,
    masked_email: &str,
    error: Option<&str>,
) -> Markup {
    let body = html! {
        div.narrow {
            h1 { "Welcome to your patient portal" }
            @if let Some(error) = error { (alert("error", error)) }
            p { "To keep your records private, we will email a 6-digit code to " strong { (masked_email) } "." }
            form method="post" action=(Route::Access(token.to_owned()).path()) {
                (csrf(csrf_token))
                @if let Some(to) = landing { input type="hidden" name="to" value=(to); }
                button.primary type="submit" { "Email me a code" }
            }
            p.small { "Not your address? " a href=(Route::SignIn.path()) { "Sign in with another email" } "." }
        }
    };
    page(chrome, "Welcome", body)
}

/// An access link that is unknown or expired.
pub fn access_invalid_page(chrome: &Chrome<'_>) -> Markup {
    let body = html! {
        div.narrow {
            h1 { "This link has expired" }
            p { "Access links work for a limited time. You can still sign in with your email address." }
            p { a.button href=(Route::SignIn.path()) { "Sign in with email" } }
        }
    };
    page(chrome, "Link expired", body)
}

/// The code form at `/sign-in/code`.
pub fn code_page(chrome: &Chrome<'_>, csrf_token: &str, masked_email: &str, error: Option<&str>, info: Option<&str>) -> Markup {
    let body = html! {
        div.narrow {
            h1 { "Check your email" }
            @if let Some(info) = info { (notice(info)) }
            p { "If " strong { (masked_email) } " is on file with the practice, a 6-digit code is on its way. It works for 10 minutes." }
            form method="post" action=(Route::SignInCode.path()) novalidate {
                (csrf(csrf_token))
                (field(&Field { value: "", error, autocomplete: Some("one-time-code"), inputmode: Some("numeric"), ..Field::new("code", "6-digit code") }))
                button.primary type="submit" { "Sign in" }
            }
            p.small { "No email after a few minutes? Check your spam folder, or " a href=(Route::SignIn.path()) { "request a new code" } "." }
        }
    };
    page(chrome, "Enter your code", body)
}
