//! The sandbox payment processor: behaves like a real one for the test numbers, moves no money.
//!
//! Cards: 4242 4242 4242 4242 (and any other valid number) succeed; 4000 0000 0000 0002 is
//! declined; …9995 has insufficient funds; …0069 is expired; …0119 gives no usable answer
//! (the answer is lost: the charge went through, and asking for its status later says so).
//! Bank accounts: 000111111116 has insufficient funds; others succeed.
//! The behaviour travels in the token, so a source saved today charges the same way later.

use std::collections::HashMap;
use std::sync::Mutex;

use async_trait::async_trait;
use portal_domain::card::NewSource;
use portal_domain::ports::{ChargeOutcome, GatewayError, PaymentGateway, TokenizedSource};
use portal_domain::{Money, Random, SourceDetails};

/// One charge the sandbox performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub token: String,
    pub amount: Money,
    pub idempotency_key: String,
    pub outcome: ChargeOutcome,
}

pub struct SandboxGateway {
    random: Box<dyn Random>,
    charges: Mutex<Vec<Charge>>,
    by_key: Mutex<HashMap<String, ChargeOutcome>>,
    /// What really happened to each charge, as a status lookup reports it.
    truth: Mutex<HashMap<String, ChargeOutcome>>,
}

fn behaviour_of_card(number: &str) -> &'static str {
    match number {
        "4000000000000002" => "declined",
        "4000000000009995" => "insufficient",
        "4000000000000069" => "expired",
        "4000000000000119" => "unknown",
        _ => "ok",
    }
}

impl SandboxGateway {
    pub fn new(random: Box<dyn Random>) -> SandboxGateway {
        SandboxGateway { random, charges: Mutex::new(Vec::new()), by_key: Mutex::new(HashMap::new()), truth: Mutex::new(HashMap::new()) }
    }

    /// Every charge performed, in order (a replayed idempotency key adds none).
    pub fn charges(&self) -> Vec<Charge> {
        self.charges.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn token(&self, behaviour: &str) -> String {
        let mut bytes = [0u8; 12];
        self.random.fill(&mut bytes);
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("sbx_tok_{behaviour}_{id}")
    }
}

#[async_trait]
impl PaymentGateway for SandboxGateway {
    async fn tokenize(&self, source: &NewSource) -> Result<TokenizedSource, GatewayError> {
        Ok(match source {
            NewSource::Card(card) => TokenizedSource {
                token: self.token(behaviour_of_card(card.number.expose())),
                details: SourceDetails::Card {
                    brand: card.number.brand().to_owned(),
                    last4: card.number.last4(),
                    exp_month: card.exp_month,
                    exp_year: card.exp_year,
                },
            },
            NewSource::Bank(bank) => TokenizedSource {
                token: self.token(if bank.account.expose() == "000111111116" { "insufficient" } else { "ok" }),
                details: SourceDetails::BankAccount {
                    bank_name: "Bank".into(),
                    last4: bank.account.last4(),
                    account_type: bank.account_type,
                },
            },
        })
    }

    async fn charge(&self, token: &str, amount: Money, idempotency_key: &str) -> Result<ChargeOutcome, GatewayError> {
        let mut by_key = self.by_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(first) = by_key.get(idempotency_key) {
            return Ok(first.clone());
        }
        let behaviour = token.strip_prefix("sbx_tok_").and_then(|rest| rest.split('_').next()).unwrap_or("ok");
        let reference = || {
            let mut bytes = [0u8; 8];
            self.random.fill(&mut bytes);
            format!("sbx_ch_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
        };
        let outcome = match behaviour {
            "declined" => ChargeOutcome::Declined { reason: "Your card was declined. Use another card or call your bank.".into() },
            "insufficient" => ChargeOutcome::Declined { reason: "The payment was declined for insufficient funds.".into() },
            "expired" => ChargeOutcome::Declined { reason: "Your card has expired. Use another card.".into() },
            "unknown" => ChargeOutcome::Unknown,
            _ => ChargeOutcome::Succeeded { reference: reference() },
        };
        let truth = match outcome {
            ChargeOutcome::Unknown => ChargeOutcome::Succeeded { reference: reference() },
            ref known => known.clone(),
        };
        self.truth.lock().unwrap_or_else(|e| e.into_inner()).insert(idempotency_key.to_owned(), truth);
        by_key.insert(idempotency_key.to_owned(), outcome.clone());
        self.charges.lock().unwrap_or_else(|e| e.into_inner()).push(Charge {
            token: token.to_owned(),
            amount,
            idempotency_key: idempotency_key.to_owned(),
            outcome: outcome.clone(),
        });
        Ok(outcome)
    }

    async fn charge_status(&self, idempotency_key: &str) -> Result<Option<ChargeOutcome>, GatewayError> {
        Ok(self.truth.lock().unwrap_or_else(|e| e.into_inner()).get(idempotency_key).cloned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::OsRandom;
    use portal_domain::card::{parse_bank, parse_card};

    fn card(number: &str) -> NewSource {
        NewSource::Card(parse_card(number, "12", "2030", "123", "78701", chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap()).unwrap())
    }

    #[tokio::test]
    async fn test_numbers_behave_as_documented_and_keys_are_idempotent() {
        let gateway = SandboxGateway::new(Box::new(OsRandom));
        let amount = Money::from_cents(1000);
        let mut outcomes = Vec::new();
        for (i, number) in
            ["4242424242424242", "4000000000000002", "4000000000009995", "4000000000000069", "4000000000000119"].iter().enumerate()
        {
            let saved = gateway.tokenize(&card(number)).await.unwrap();
            outcomes.push(gateway.charge(&saved.token, amount, &format!("k{i}")).await.unwrap());
        }
        assert!(matches!(outcomes[0], ChargeOutcome::Succeeded { .. }));
        assert!(matches!(&outcomes[1], ChargeOutcome::Declined { reason } if reason.contains("declined")));
        assert!(matches!(&outcomes[2], ChargeOutcome::Declined { reason } if reason.contains("insufficient")));
        assert!(matches!(&outcomes[3], ChargeOutcome::Declined { reason } if reason.contains("expired")));
        assert_eq!(outcomes[4], ChargeOutcome::Unknown);
        let saved = gateway.tokenize(&card("4242424242424242")).await.unwrap();
        let first = gateway.charge(&saved.token, amount, "same").await.unwrap();
        assert_eq!(gateway.charge(&saved.token, amount, "same").await.unwrap(), first);
        assert_eq!(gateway.charges().len(), 6, "a repeated key charges once");
        assert!(!saved.token.contains("4242424242424242"));
    }

    #[tokio::test]
    async fn bank_accounts_follow_the_test_numbers() {
        let gateway = SandboxGateway::new(Box::new(OsRandom));
        let poor = NewSource::Bank(parse_bank("Maria Lopez", "110000000", "000111111116", "checking").unwrap());
        let fine = NewSource::Bank(parse_bank("Maria Lopez", "110000000", "000123456789", "checking").unwrap());
        let poor = gateway.tokenize(&poor).await.unwrap();
        let fine = gateway.tokenize(&fine).await.unwrap();
        assert!(matches!(gateway.charge(&poor.token, Money::from_cents(100), "a").await.unwrap(), ChargeOutcome::Declined { .. }));
        assert!(matches!(gateway.charge(&fine.token, Money::from_cents(100), "b").await.unwrap(), ChargeOutcome::Succeeded { .. }));
    }
}
