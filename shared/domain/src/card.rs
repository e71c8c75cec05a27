//! New payment sources as typed into a form. Card and account numbers live only in these types,
//! which never print them, for the length of the request that sends them to the processor.

use chrono::{Datelike, NaiveDate};
use secrecy::{ExposeSecret, SecretString};

use crate::BankAccountType;

/// A card number that passed the Luhn check. It does not print itself.
pub struct CardNumber(SecretString);

/// A card's security code. It does not print itself.
pub struct Cvc(SecretString);

/// A bank account number. It does not print itself.
pub struct AccountNumber(SecretString);

/// A US bank routing number that passed the ABA checksum.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoutingNumber(String);

fn digits_of(input: &str) -> Option<String> {
    let cleaned: String = input.chars().filter(|c| !c.is_whitespace() && *c != '-').collect();
    cleaned.chars().all(|c| c.is_ascii_digit()).then_some(cleaned)
}

/// The Luhn checksum every card number carries.
pub fn luhn_ok(digits: &str) -> bool {
    let mut sum = 0;
    for (i, c) in digits.chars().rev().enumerate() {
        let Some(mut d) = c.to_digit(10) else { return false };
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    !digits.is_empty() && sum.is_multiple_of(10)
}

/// The ABA checksum of a 9-digit routing number: 3·(d1+d4+d7) + 7·(d2+d5+d8) + (d3+d6+d9) ≡ 0 (mod 10).
pub fn aba_ok(digits: &str) -> bool {
    let d: Vec<u32> = digits.chars().filter_map(|c| c.to_digit(10)).collect();
    d.len() == 9 && digits.len() == 9 && (3 * (d[0] + d[3] + d[6]) + 7 * (d[1] + d[4] + d[7]) + (d[2] + d[5] + d[8])).is_multiple_of(10)
}

impl CardNumber {
    pub fn parse(input: &str) -> Result<CardNumber, &'static str> {
        let digits = digits_of(input).filter(|d| !d.is_empty()).ok_or("Enter the card number using digits only.")?;
        if !(12..=19).contains(&digits.len()) {
            return Err("A card number has 12 to 19 digits.");
        }
        if !luhn_ok(&digits) {
            return Err("That card number is not valid. Check the digits and try again.");
        }
        Ok(CardNumber(SecretString::from(digits)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn last4(&self) -> String {
        let d = self.expose();
        d[d.len() - 4..].to_owned()
    }

    /// The network, from the number's prefix.
    pub fn brand(&self) -> &'static str {
        let d = self.expose();
        let two: u32 = d[..2].parse().unwrap_or(0);
        let four: u32 = d[..4].parse().unwrap_or(0);
        match () {
            _ if d.starts_with('4') => "Visa",
            _ if (51..=55).contains(&two) || (2221..=2720).contains(&four) => "Mastercard",
            _ if two == 34 || two == 37 => "American Express",
            _ if d.starts_with("6011") || d.starts_with("65") => "Discover",
            _ => "Card",
        }
    }
}

impl Cvc {
    pub fn parse(input: &str) -> Result<Cvc, &'static str> {
        let digits = digits_of(input).ok_or("Enter the 3 or 4 digit security code.")?;
        if !(3..=4).contains(&digits.len()) {
            return Err("Enter the 3 or 4 digit security code.");
        }
        Ok(Cvc(SecretString::from(digits)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl AccountNumber {
    pub fn parse(input: &str) -> Result<AccountNumber, &'static str> {
        let digits = digits_of(input).ok_or("Enter the account number using digits only.")?;
        if !(4..=17).contains(&digits.len()) {
            return Err("An account number has 4 to 17 digits.");
        }
        Ok(AccountNumber(SecretString::from(digits)))
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    pub fn last4(&self) -> String {
        let d = self.expose();
        d[d.len() - 4..].to_owned()
    }
}

impl RoutingNumber {
    pub fn parse(input: &str) -> Result<RoutingNumber, &'static str> {
        let digits = digits_of(input).ok_or("Enter the 9-digit routing number.")?;
        if digits.len() != 9 {
            return Err("Enter the 9-digit routing number.");
        }
        if !aba_ok(&digits) {
            return Err("That routing number is not valid. Check it on a check or with your bank.");
        }
        Ok(RoutingNumber(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl std::fmt::Debug for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(concat!(stringify!($t), "([redacted])"))
            }
        }
    )*};
}
redacted_debug!(CardNumber, Cvc, AccountNumber);

/// A card as typed into the form.
#[derive(Debug)]
pub struct NewCard {
    pub number: CardNumber,
    pub exp_month: u32,
    pub exp_year: i32,
    pub cvc: Cvc,
    pub postal_code: String,
}

/// A bank account as typed into the form.
#[derive(Debug)]
pub struct NewBankAccount {
    pub holder: String,
    pub routing: RoutingNumber,
    pub account: AccountNumber,
    pub account_type: BankAccountType,
}

#[derive(Debug)]
pub enum NewSource {
    Card(NewCard),
    Bank(NewBankAccount),
}

impl NewSource {
    /// How the review before a payment names it: "Visa ending 4242", "Checking account ending 6789".
    pub fn describe(&self) -> String {
        match self {
            NewSource::Card(card) => format!("{} ending {}", card.number.brand(), card.number.last4()),
            NewSource::Bank(bank) => {
                let kind = match bank.account_type {
                    BankAccountType::Checking => "Checking",
                    BankAccountType::Savings => "Savings",
                };
                format!("{kind} account ending {}", bank.account.last4())
            }
        }
    }

    pub fn is_bank(&self) -> bool {
        matches!(self, NewSource::Bank(_))
    }
}

/// The form's fields for a new card, by name, and what is wrong with each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SourceErrors {
    pub card_number: Option<&'static str>,
    pub expiry: Option<&'static str>,
    pub cvc: Option<&'static str>,
    pub postal_code: Option<&'static str>,
    pub account_holder: Option<&'static str>,
    pub routing_number: Option<&'static str>,
    pub account_number: Option<&'static str>,
}

impl SourceErrors {
    pub fn is_empty(&self) -> bool {
        *self == SourceErrors::default()
    }
}

/// Parses a new card's fields; a card past its expiry month is refused.
pub fn parse_card(number: &str, month: &str, year: &str, cvc: &str, postal: &str, today: NaiveDate) -> Result<NewCard, SourceErrors> {
    let mut errors = SourceErrors::default();
    let number = CardNumber::parse(number).map_err(|e| errors.card_number = Some(e)).ok();
    let month: Option<u32> = month.trim().parse().ok().filter(|m| (1..=12).contains(m));
    let year: Option<i32> = year.trim().parse().ok().map(|y: i32| if y < 100 { 2000 + y } else { y });
    let expiry = match (month, year) {
        (Some(m), Some(y)) if (y, m) < (today.year(), today.month()) => {
            errors.expiry = Some("This card has expired. Use another card.");
            None
        }
        (Some(m), Some(y)) if y > today.year() + 20 => {
            let _ = m;
            errors.expiry = Some("Check the expiry year.");
            None
        }
        (Some(m), Some(y)) => Some((m, y)),
        _ => {
            errors.expiry = Some("Enter the expiry month (1–12) and year.");
            None
        }
    };
    let cvc = Cvc::parse(cvc).map_err(|e| errors.cvc = Some(e)).ok();
    let postal = crate::address::parse_postal_code(postal).map_err(|e| errors.postal_code = Some(e)).ok();
    match (number, expiry, cvc, postal) {
        (Some(number), Some((exp_month, exp_year)), Some(cvc), Some(postal_code)) => {
            Ok(NewCard { number, exp_month, exp_year, cvc, postal_code })
        }
        _ => Err(errors),
    }
}

/// Parses a new bank account's fields.
pub fn parse_bank(holder: &str, routing: &str, account: &str, account_type: &str) -> Result<NewBankAccount, SourceErrors> {
    let mut errors = SourceErrors::default();
    let holder = holder.split_whitespace().collect::<Vec<_>>().join(" ");
    if holder.is_empty() || holder.chars().count() > 100 {
        errors.account_holder = Some("Enter the name on the account.");
    }
    let routing = RoutingNumber::parse(routing).map_err(|e| errors.routing_number = Some(e)).ok();
    let account = AccountNumber::parse(account).map_err(|e| errors.account_number = Some(e)).ok();
    let account_type = if account_type == "savings" { BankAccountType::Savings } else { BankAccountType::Checking };
    match (routing, account) {
        (Some(routing), Some(account)) if errors.is_empty() => Ok(NewBankAccount { holder, routing, account, account_type }),
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()
    }

    #[test]
    fn card_numbers_need_the_luhn_check() {
        assert_eq!(CardNumber::parse("4242 4242 4242 4242").unwrap().last4(), "4242");
        assert_eq!(CardNumber::parse("4242-4242-4242-4242").unwrap().brand(), "Visa");
        assert_eq!(CardNumber::parse("5555555555554444").unwrap().brand(), "Mastercard");
        assert!(CardNumber::parse("4242 4242 4242 4241").is_err());
        assert!(CardNumber::parse("4242abcd").is_err());
        assert!(CardNumber::parse("").is_err());
    }

    #[test]
    fn routing_numbers_need_the_aba_check() {
        assert!(RoutingNumber::parse("110000000").is_ok());
        assert!(RoutingNumber::parse("021000021").is_ok());
        assert!(RoutingNumber::parse("021000022").is_err());
        assert!(RoutingNumber::parse("12345").is_err());
    }

    #[test]
    fn expired_cards_are_refused_and_secrets_never_print() {
        let errors = parse_card("4242424242424242", "10", "2026", "123", "78701", today()).unwrap_err();
        assert!(errors.expiry.is_some());
        let card = parse_card("4242424242424242", "11", "26", "123", "78701", today()).unwrap();
        assert_eq!((card.exp_month, card.exp_year), (11, 2026));
        let printed = format!("{card:?}");
        assert!(!printed.contains("4242424242424242") && !printed.contains("123"));
    }

    #[test]
    fn bank_accounts_report_each_wrong_field() {
        let errors = parse_bank("", "123456789", "12", "checking").unwrap_err();
        assert!(errors.account_holder.is_some() && errors.routing_number.is_some() && errors.account_number.is_some());
        let ok = parse_bank(" Maria  Lopez ", "110000000", "000123456789", "savings").unwrap();
        assert_eq!((ok.holder.as_str(), ok.account.last4().as_str(), ok.account_type), ("Maria Lopez", "6789", BankAccountType::Savings));
    }

    proptest! {
        #[test]
        fn a_luhn_check_digit_always_fixes_a_number(body in "[0-9]{15}") {
            let check = (0..10).find(|d| luhn_ok(&format!("{body}{d}"))).unwrap();
            let right = format!("{body}{check}");
            prop_assert!(CardNumber::parse(&right).is_ok());
            let wrong = format!("{body}{}", (check + 1) % 10);
            prop_assert!(CardNumber::parse(&wrong).is_err());
        }

        #[test]
        fn parsers_never_panic(a in "\\PC{0,24}", b in "\\PC{0,4}", c in "\\PC{0,6}") {
            let _ = CardNumber::parse(&a);
            let _ = RoutingNumber::parse(&a);
            let _ = AccountNumber::parse(&a);
            let _ = parse_card(&a, &b, &c, &b, &c, today());
            let _ = parse_bank(&a, &a, &a, &b);
        }
    }
}
