//! The sandbox payment processor: behaves like a real one for the test numbers, moves no money.
//!
//! Cards: 4242 4242 4242 4242 (and any other valid number) succeed; 4000 0000 0000 0002 is
//! declined; …9995 has insufficient funds; …0069 is expired; …0119 gives no usable answer
//! (the answer is lost: the charge went through, and asking for its status later says so).
//! Bank accounts: 000111111116 has insufficient funds; others succeed.
//! The behaviour travels in the token, so a source saved today charges the same way later.
//!
//! Like a real processor it remembers every charge by its idempotency key, across processes when
//! given a ledger table (deployed functions and `portal reconcile` share the portal's table), so a
//! charge retried by another Lambda container is not a second charge and its status can be looked
//! up later.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portal_domain::card::NewSource;
use portal_domain::ports::{attr, ChargeOutcome, Condition, GatewayError, Item, Key, PaymentGateway, TokenizedSource, Value, Write};
use portal_domain::{Money, Random, SourceDetails, StoreError, Table};

/// How long the sandbox's ledger keeps a charge.
const LEDGER_SECONDS: i64 = 90 * 24 * 60 * 60;

/// One charge the sandbox performed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub token: String,
    pub amount: Money,
    pub idempotency_key: String,
    pub outcome: ChargeOutcome,
}

/// What the sandbox answered for a key, and what really happened.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    answered: ChargeOutcome,
    truth: ChargeOutcome,
}

enum Ledger {
    Memory(Mutex<HashMap<String, Entry>>),
    Table(Arc<dyn Table>),
}

pub struct SandboxGateway {
    random: Box<dyn Random>,
    charges: Mutex<Vec<Charge>>,
    ledger: Ledger,
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

fn encode(outcome: &ChargeOutcome) -> String {
    match outcome {
        ChargeOutcome::Succeeded { reference } => format!("ok:{reference}"),
        ChargeOutcome::Declined { reason } => format!("declined:{reason}"),
        ChargeOutcome::Unknown => "unknown".into(),
    }
}

fn decode(text: &str) -> ChargeOutcome {
    match text.split_once(':') {
        Some(("ok", reference)) => ChargeOutcome::Succeeded { reference: reference.into() },
        Some(("declined", reason)) => ChargeOutcome::Declined { reason: reason.into() },
        _ => ChargeOutcome::Unknown,
    }
}

fn ledger_key(idempotency_key: &str) -> Key {
    Key::new(format!("SANDBOX#{idempotency_key}"), "CHARGE")
}

fn unavailable(e: StoreError) -> GatewayError {
    GatewayError(anyhow::Error::new(e))
}

impl SandboxGateway {
    /// A sandbox that remembers charges in this process only (tests, benchmarks).
    pub fn new(random: Box<dyn Random>) -> SandboxGateway {
        SandboxGateway { random, charges: Mutex::new(Vec::new()), ledger: Ledger::Memory(Mutex::new(HashMap::new())) }
    }

    /// A sandbox that keeps its ledger in `table`, shared by every process using that table.
    pub fn with_ledger(random: Box<dyn Random>, table: Arc<dyn Table>) -> SandboxGateway {
        SandboxGateway { random, charges: Mutex::new(Vec::new()), ledger: Ledger::Table(table) }
    }

    /// Every charge performed by this process, in order (a replayed idempotency key adds none).
    pub fn charges(&self) -> Vec<Charge> {
        self.charges.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn token(&self, behaviour: &str) -> String {
        let mut bytes = [0u8; 12];
        self.random.fill(&mut bytes);
        let id: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        format!("sbx_tok_{behaviour}_{id}")
    }

    fn reference(&self) -> String {
        let mut bytes = [0u8; 8];
        self.random.fill(&mut bytes);
        format!("sbx_ch_{}", bytes.iter().map(|b| format!("{b:02x}")).collect::<String>())
    }

    async fn recorded(&self, idempotency_key: &str) -> Result<Option<Entry>, GatewayError> {
        match &self.ledger {
            Ledger::Memory(map) => Ok(map.lock().unwrap_or_else(|e| e.into_inner()).get(idempotency_key).cloned()),
            Ledger::Table(table) => {
                let item = table.get(&ledger_key(idempotency_key)).await.map_err(unavailable)?;
                Ok(item.map(|item| {
                    let text = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
                    Entry { answered: decode(&text("answered")), truth: decode(&text("truth")) }
                }))
            }
        }
    }

    /// Records a new charge; `Ok(false)` when another attempt with the same key was first.
    async fn record(&self, idempotency_key: &str, entry: &Entry) -> Result<bool, GatewayError> {
        match &self.ledger {
            Ledger::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                if map.contains_key(idempotency_key) {
                    return Ok(false);
                }
                map.insert(idempotency_key.to_owned(), entry.clone());
                Ok(true)
            }
            Ledger::Table(table) => {
                let key = ledger_key(idempotency_key);
                let mut item = Item::new();
                item.insert(attr::PK.into(), Value::S(key.pk));
                item.insert(attr::SK.into(), Value::S(key.sk));
                item.insert("answered".into(), Value::S(encode(&entry.answered)));
                item.insert("truth".into(), Value::S(encode(&entry.truth)));
                let expires = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0)
                    + LEDGER_SECONDS;
                item.insert(attr::EXPIRES_AT.into(), Value::from(expires));
                match table.write(Write::Put { item, condition: Some(Condition::NotExists) }).await {
                    Ok(()) => Ok(true),
                    Err(StoreError::ConditionFailed) => Ok(false),
                    Err(e) => Err(unavailable(e)),
                }
            }
        }
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
        if let Some(first) = self.recorded(idempotency_key).await? {
            return Ok(first.answered);
        }
        let behaviour = token.strip_prefix("sbx_tok_").and_then(|rest| rest.split('_').next()).unwrap_or("ok");
        let answered = match behaviour {
            "declined" => ChargeOutcome::Declined { reason: "Your card was declined. Use another card or call your bank.".into() },
            "insufficient" => ChargeOutcome::Declined { reason: "The payment was declined for insufficient funds.".into() },
            "expired" => ChargeOutcome::Declined { reason: "Your card has expired. Use another card.".into() },
            "unknown" => ChargeOutcome::Unknown,
            _ => ChargeOutcome::Succeeded { reference: self.reference() },
        };
        let truth = match answered {
            ChargeOutcome::Unknown => ChargeOutcome::Succeeded { reference: self.reference() },
            ref known => known.clone(),
        };
        let entry = Entry { answered, truth };
        if !self.record(idempotency_key, &entry).await? {
            // The same key charged at the same moment elsewhere: that one is the charge.
            return Ok(self.recorded(idempotency_key).await?.map_or(ChargeOutcome::Unknown, |e| e.answered));
        }
        self.charges.lock().unwrap_or_else(|e| e.into_inner()).push(Charge {
            token: token.to_owned(),
            amount,
            idempotency_key: idempotency_key.to_owned(),
            outcome: entry.answered.clone(),
        });
        Ok(entry.answered)
    }

    async fn charge_status(&self, idempotency_key: &str) -> Result<Option<ChargeOutcome>, GatewayError> {
        Ok(self.recorded(idempotency_key).await?.map(|e| e.truth))
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
    async fn a_ledger_in_the_table_is_shared_by_every_process() {
        let clock = Arc::new(crate::ManualClock::new(chrono::Utc::now()));
        let table: Arc<dyn Table> = Arc::new(crate::MemoryTable::new(clock));
        let first = SandboxGateway::with_ledger(Box::new(OsRandom), table.clone());
        let lost = first.tokenize(&card("4000000000000119")).await.unwrap();
        assert_eq!(first.charge(&lost.token, Money::from_cents(500), "pay-1").await.unwrap(), ChargeOutcome::Unknown);
        // Another process (another Lambda container, or `portal reconcile`) with the same table:
        let second = SandboxGateway::with_ledger(Box::new(OsRandom), table);
        assert_eq!(second.charge(&lost.token, Money::from_cents(500), "pay-1").await.unwrap(), ChargeOutcome::Unknown, "not charged again");
        assert!(second.charges().is_empty());
        assert!(
            matches!(second.charge_status("pay-1").await.unwrap(), Some(ChargeOutcome::Succeeded { .. })),
            "the lost answer was a charge"
        );
        assert_eq!(second.charge_status("never-charged").await.unwrap(), None);
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
