//! Every parser a request's text reaches, on arbitrary text: no panic, and what is accepted
//! prints back to something the parser accepts again.
#![no_main]

use chrono::NaiveDate;
use libfuzzer_sys::fuzz_target;
use portal_domain::card::{parse_bank, parse_card};
use portal_domain::{Email, Money, PhoneNumber};
use portal_templates::routes::Route;
use portal_web::Form;

fuzz_target!(|input: &[u8]| {
    let _ = Form::parse(input);
    let Ok(text) = std::str::from_utf8(input) else { return };
    let parts: Vec<&str> = text.splitn(6, '\u{1f}').collect();
    let part = |i: usize| parts.get(i).copied().unwrap_or("");
    let today = NaiveDate::from_ymd_opt(2026, 11, 26).expect("a date");
    if let Some(route) = Route::parse(text) {
        assert_eq!(Route::parse(&route.path()), Some(route));
    }
    if let Ok(email) = Email::parse(text) {
        assert!(Email::parse(email.as_str()).is_ok());
    }
    if let Ok(money) = Money::parse(text) {
        assert_eq!(Money::parse(&money.amount().to_string()).ok(), Some(money));
    }
    let _ = Money::parse_payment(text);
    if let Ok(phone) = PhoneNumber::parse(text) {
        assert!(PhoneNumber::parse(&phone.to_string()).is_ok());
    }
    let _ = portal_domain::DateOfBirth::parse(text, today);
    let _ = portal_domain::statement::parse_period(Some(part(0)), Some(part(1)), today);
    let _ = parse_card(part(0), part(1), part(2), part(3), part(4), today);
    let _ = parse_bank(part(0), part(1), part(2), part(3));
    let _ = portal_domain::signin::SigninCode::parse(text);
    let _ = portal_domain::session::Token::parse(text);
});
