//! The sandbox payment processor: behaves like a real one for the test numbers, moves no money.
//!
//! Cards: 4242 4242 4242 4242 (and any other valid number) succeed; 4000 0000 0000 0002 is
//! declined; …9995 has insufficient funds; …0069 is expired; …0119 gives no usable answer
//! (the answer is lost: the charge went through, and asking for its status later says so).
//! Bank accounts: 000111111116 has insufficient funds; others succeed.
//! The behaviour travels in the token, so a source saved today charges the same way later.
//!
//! Like Stripe, a charge is first created (`prepare`) and takes money only when confirmed, once
//! however often it is confirmed. The sandbox remembers every charge by its reference, across
//! processes when given a ledger table (deployed demo functions and `portal reconcile` share the
//! portal's table), so a charge confirmed again by another Lambda container is not a second charge
//! and its status can be looked up later. It has no browser script, so it completes no setups:
//! the sandbox's pages take the test numbers typed into the portal instead.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use portal_domain::card::NewSource;
use portal_domain::ports::{
    attr, ChargeOutcome, ChargeRequest, Condition, GatewayError, Item, Key, PaymentGateway, SetupResult, SetupSession, TokenizedSource,
    Value, Write,
};
use portal_domain::{Money, Random, SourceDetails, StoreError, Table};

/// How long the sandbox's ledger keeps a charge.
const LEDGER_SECONDS: i64 = 90 * 24 * 60 * 60;

/// One charge the sandbox confirmed (took money for, or declined).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Charge {
    pub token: String,
    pub amount: Money,
    pub reference: String,
    pub outcome: ChargeOutcome,
}

/// Where a charge stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Prepared,
    Confirmed,
    Cancelled,
}

impl State {
    fn name(self) -> &'static str {
        match self {
            State::Prepared => "prepared",
            State::Confirmed => "confirmed",
            State::Cancelled => "cancelled",
        }
    }

    fn parse(text: &str) -> State {
        match text {
            "confirmed" => State::Confirmed,
            "cancelled" => State::Cancelled,
            _ => State::Prepared,
        }
    }
}

/// A charge: what it charges, and once confirmed, what the sandbox answered and what really happened.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    token: String,
    amount: Money,
    state: State,
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
        ChargeOutcome::NotCharged => "none".into(),
        _ => "unknown".into(),
    }
}

fn decode(text: &str) -> ChargeOutcome {
    match text.split_once(':') {
        Some(("ok", reference)) => ChargeOutcome::Succeeded { reference: reference.into() },
        Some(("declined", reason)) => ChargeOutcome::Declined { reason: reason.into() },
        _ if text == "none" => ChargeOutcome::NotCharged,
        _ => ChargeOutcome::Unknown,
    }
}

fn ledger_key(reference: &str) -> Key {
    portal_domain::keys::sandbox_charge_key(reference)
}

fn unavailable(e: StoreError) -> GatewayError {
    GatewayError(anyhow::Error::new(e))
}

fn entry_of(item: &Item) -> Entry {
    let text = |name: &str| item.get(name).and_then(Value::as_str).unwrap_or("").to_owned();
    let amount = item.get("amount").and_then(Value::as_number).and_then(|n| Money::try_from(n).ok()).unwrap_or_default();
    Entry {
        token: text("token"),
        amount,
        state: State::parse(&text("state")),
        answered: decode(&text("answered")),
        truth: decode(&text("truth")),
    }
}

fn item_of(reference: &str, entry: &Entry) -> Item {
    let key = ledger_key(reference);
    let mut item = Item::new();
    item.insert(attr::PK.into(), Value::S(key.pk));
    item.insert(attr::SK.into(), Value::S(key.sk));
    item.insert("token".into(), Value::S(entry.token.clone()));
    item.insert("amount".into(), Value::N(entry.amount.amount()));
    item.insert("state".into(), Value::S(entry.state.name().into()));
    item.insert("answered".into(), Value::S(encode(&entry.answered)));
    item.insert("truth".into(), Value::S(encode(&entry.truth)));
    let expires =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_secs() as i64).unwrap_or(0) + LEDGER_SECONDS;
    item.insert(attr::EXPIRES_AT.into(), Value::from(expires));
    item
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

    /// Every charge confirmed by this process, in order (a repeated confirmation adds none).
    pub fn charges(&self) -> Vec<Charge> {
        self.charges.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn hex(&self, bytes: usize) -> String {
        let mut buf = vec![0u8; bytes];
        self.random.fill(&mut buf);
        buf.iter().map(|b| format!("{b:02x}")).collect()
    }

    fn token(&self, behaviour: &str) -> String {
        format!("sbx_tok_{behaviour}_{}", self.hex(12))
    }

    async fn entry(&self, reference: &str) -> Result<Option<Entry>, GatewayError> {
        match &self.ledger {
            Ledger::Memory(map) => Ok(map.lock().unwrap_or_else(|e| e.into_inner()).get(reference).cloned()),
            Ledger::Table(table) => Ok(table.get(&ledger_key(reference)).await.map_err(unavailable)?.as_ref().map(entry_of)),
        }
    }

    /// Stores `entry` if the charge is still `from` (or new, when `from` is `None`); `Ok(false)`
    /// when another process moved it first.
    async fn store(&self, reference: &str, entry: &Entry, from: Option<State>) -> Result<bool, GatewayError> {
        match &self.ledger {
            Ledger::Memory(map) => {
                let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
                if map.get(reference).map(|e| e.state) != from {
                    return Ok(false);
                }
                map.insert(reference.to_owned(), entry.clone());
                Ok(true)
            }
            Ledger::Table(table) => {
                let condition = match from {
                    None => Condition::NotExists,
                    Some(state) => Condition::Equals("state".into(), Value::S(state.name().into())),
                };
                match table.write(Write::Put { item: item_of(reference, entry), condition: Some(condition) }).await {
                    Ok(()) => Ok(true),
                    Err(StoreError::ConditionFailed) => Ok(false),
                    Err(e) => Err(unavailable(e)),
                }
            }
        }
    }

    /// What the charge's state says now: its true outcome once confirmed, nothing taken otherwise.
    fn status_of(entry: Option<&Entry>) -> ChargeOutcome {
        match entry {
            Some(Entry { state: State::Confirmed, truth, .. }) => truth.clone(),
            _ => ChargeOutcome::NotCharged,
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

    async fn create_customer(&self, account: &str, _name: &str) -> Result<String, GatewayError> {
        Ok(format!("sbx_cus_{account}"))
    }

    async fn begin_setup(&self, _customer: &str) -> Result<SetupSession, GatewayError> {
        let id = format!("sbx_seti_{}", self.hex(8));
        Ok(SetupSession { client_secret: format!("{id}_secret_{}", self.hex(8)), id })
    }

    async fn finish_setup(&self, _customer: &str, _setup: &str) -> Result<SetupResult, GatewayError> {
        // No browser script completes a sandbox setup.
        Ok(SetupResult::Unfinished)
    }

    async fn prepare(&self, request: &ChargeRequest) -> Result<String, GatewayError> {
        let reference = format!("sbx_ch_{}", self.hex(8));
        let entry = Entry {
            token: request.token.clone(),
            amount: request.amount,
            state: State::Prepared,
            answered: ChargeOutcome::NotCharged,
            truth: ChargeOutcome::NotCharged,
        };
        self.store(&reference, &entry, None).await?;
        Ok(reference)
    }

    async fn confirm(&self, reference: &str, _idempotency_key: &str) -> Result<ChargeOutcome, GatewayError> {
        let Some(entry) = self.entry(reference).await? else { return Ok(ChargeOutcome::NotCharged) };
        match entry.state {
            State::Confirmed => return Ok(entry.answered),
            State::Cancelled => return Ok(ChargeOutcome::NotCharged),
            State::Prepared => {}
        }
        let behaviour = entry.token.strip_prefix("sbx_tok_").and_then(|rest| rest.split('_').next()).unwrap_or("ok");
        if behaviour == "3ds" {
            // The card's bank wants the patient to confirm (as Stripe answers `requires_action`):
            // nothing is taken, and the charge waits, cancellable. No card number the sandbox
            // tokenizes asks for it (its pages have no 3-D Secure step); a stored token can.
            return Ok(ChargeOutcome::RequiresAction { client_secret: format!("{reference}_secret") });
        }
        let answered = match behaviour {
            "declined" => ChargeOutcome::Declined { reason: "Your card was declined. Use another card or call your bank.".into() },
            "insufficient" => ChargeOutcome::Declined { reason: "The payment was declined for insufficient funds.".into() },
            "expired" => ChargeOutcome::Declined { reason: "Your card has expired. Use another card.".into() },
            "unknown" => ChargeOutcome::Unknown,
            _ => ChargeOutcome::Succeeded { reference: reference.to_owned() },
        };
        let truth = match answered {
            ChargeOutcome::Unknown => ChargeOutcome::Succeeded { reference: reference.to_owned() },
            ref known => known.clone(),
        };
        let confirmed = Entry { state: State::Confirmed, answered, truth, ..entry };
        if !self.store(reference, &confirmed, Some(State::Prepared)).await? {
            // Confirmed (or cancelled) at the same moment elsewhere: that one is the answer.
            let now = self.entry(reference).await?;
            return Ok(match now {
                Some(Entry { state: State::Confirmed, answered, .. }) => answered,
                other => Self::status_of(other.as_ref()),
            });
        }
        self.charges.lock().unwrap_or_else(|e| e.into_inner()).push(Charge {
            token: confirmed.token.clone(),
            amount: confirmed.amount,
            reference: reference.to_owned(),
            outcome: confirmed.answered.clone(),
        });
        Ok(confirmed.answered)
    }

    async fn charge_status(&self, reference: &str) -> Result<ChargeOutcome, GatewayError> {
        Ok(Self::status_of(self.entry(reference).await?.as_ref()))
    }

    async fn cancel(&self, reference: &str) -> Result<ChargeOutcome, GatewayError> {
        if let Some(entry) = self.entry(reference).await? {
            if entry.state == State::Prepared {
                let cancelled = Entry { state: State::Cancelled, ..entry };
                if !self.store(reference, &cancelled, Some(State::Prepared)).await? {
                    return self.charge_status(reference).await;
                }
            }
        }
        self.charge_status(reference).await
    }

    async fn detach(&self, _token: &str) -> Result<(), GatewayError> {
        Ok(())
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

    fn request(token: &str, cents: i64) -> ChargeRequest {
        ChargeRequest {
            customer: None,
            token: token.to_owned(),
            amount: Money::from_cents(cents),
            payment: "p1".into(),
            account: "a1".into(),
            description: "INV-1".into(),
        }
    }

    async fn charge(gateway: &SandboxGateway, token: &str, cents: i64) -> (String, ChargeOutcome) {
        let reference = gateway.prepare(&request(token, cents)).await.unwrap();
        let outcome = gateway.confirm(&reference, "key").await.unwrap();
        (reference, outcome)
    }

    #[tokio::test]
    async fn test_numbers_behave_as_documented_and_confirming_again_charges_once() {
        let gateway = SandboxGateway::new(Box::new(OsRandom));
        let mut outcomes = Vec::new();
        for number in ["4242424242424242", "4000000000000002", "4000000000009995", "4000000000000069", "4000000000000119"] {
            let saved = gateway.tokenize(&card(number)).await.unwrap();
            outcomes.push(charge(&gateway, &saved.token, 1000).await.1);
        }
        assert!(matches!(outcomes[0], ChargeOutcome::Succeeded { .. }));
        assert!(matches!(&outcomes[1], ChargeOutcome::Declined { reason } if reason.contains("declined")));
        assert!(matches!(&outcomes[2], ChargeOutcome::Declined { reason } if reason.contains("insufficient")));
        assert!(matches!(&outcomes[3], ChargeOutcome::Declined { reason } if reason.contains("expired")));
        assert_eq!(outcomes[4], ChargeOutcome::Unknown);
        let saved = gateway.tokenize(&card("4242424242424242")).await.unwrap();
        let (reference, first) = charge(&gateway, &saved.token, 1000).await;
        assert_eq!(gateway.confirm(&reference, "key").await.unwrap(), first);
        assert_eq!(gateway.charges().len(), 6, "a repeated confirmation charges once");
        assert!(!saved.token.contains("4242424242424242"));
    }

    #[tokio::test]
    async fn a_prepared_charge_takes_nothing_until_confirmed_and_a_cancelled_one_never() {
        let gateway = SandboxGateway::new(Box::new(OsRandom));
        let saved = gateway.tokenize(&card("4242424242424242")).await.unwrap();
        let reference = gateway.prepare(&request(&saved.token, 700)).await.unwrap();
        assert_eq!(gateway.charge_status(&reference).await.unwrap(), ChargeOutcome::NotCharged);
        assert_eq!(gateway.cancel(&reference).await.unwrap(), ChargeOutcome::NotCharged);
        assert_eq!(gateway.confirm(&reference, "key").await.unwrap(), ChargeOutcome::NotCharged);
        assert!(gateway.charges().is_empty());
        assert_eq!(gateway.charge_status("sbx_ch_never").await.unwrap(), ChargeOutcome::NotCharged);
    }

    #[tokio::test]
    async fn a_token_that_asks_for_3d_secure_takes_nothing_and_can_be_cancelled() {
        let gateway = SandboxGateway::new(Box::new(OsRandom));
        let reference = gateway.prepare(&request("sbx_tok_3ds_000000000000", 900)).await.unwrap();
        assert!(matches!(gateway.confirm(&reference, "key").await.unwrap(), ChargeOutcome::RequiresAction { .. }));
        assert_eq!(gateway.charge_status(&reference).await.unwrap(), ChargeOutcome::NotCharged);
        assert_eq!(gateway.cancel(&reference).await.unwrap(), ChargeOutcome::NotCharged);
        assert_eq!(gateway.confirm(&reference, "key").await.unwrap(), ChargeOutcome::NotCharged, "cancelled for good");
        assert!(gateway.charges().is_empty());
        // No card number the sandbox tokenizes asks for it.
        for number in ["4000002500003155", "4000002760003184"] {
            assert!(!gateway.tokenize(&card(number)).await.unwrap().token.starts_with("sbx_tok_3ds_"));
        }
    }

    #[tokio::test]
    async fn a_ledger_in_the_table_is_shared_by_every_process() {
        let clock = Arc::new(crate::ManualClock::new(chrono::Utc::now()));
        let table: Arc<dyn Table> = Arc::new(crate::MemoryTable::new(clock));
        let first = SandboxGateway::with_ledger(Box::new(OsRandom), table.clone());
        let lost = first.tokenize(&card("4000000000000119")).await.unwrap();
        let (reference, outcome) = charge(&first, &lost.token, 500).await;
        assert_eq!(outcome, ChargeOutcome::Unknown);
        // Another process (another Lambda container, or `portal reconcile`) with the same table:
        let second = SandboxGateway::with_ledger(Box::new(OsRandom), table);
        assert_eq!(second.confirm(&reference, "key").await.unwrap(), ChargeOutcome::Unknown, "not charged again");
        assert!(second.charges().is_empty());
        assert!(matches!(second.charge_status(&reference).await.unwrap(), ChargeOutcome::Succeeded { .. }), "the lost answer was a charge");
        assert_eq!(second.cancel(&reference).await.unwrap(), second.charge_status(&reference).await.unwrap(), "a taken charge stays taken");
    }

    #[tokio::test]
    async fn bank_accounts_follow_the_test_numbers() {
        let gateway = SandboxGateway::new(Box::new(OsRandom));
        let poor = NewSource::Bank(parse_bank("Maria Lopez", "110000000", "000111111116", "checking").unwrap());
        let fine = NewSource::Bank(parse_bank("Maria Lopez", "110000000", "000123456789", "checking").unwrap());
        let poor = gateway.tokenize(&poor).await.unwrap();
        let fine = gateway.tokenize(&fine).await.unwrap();
        assert!(matches!(charge(&gateway, &poor.token, 100).await.1, ChargeOutcome::Declined { .. }));
        assert!(matches!(charge(&gateway, &fine.token, 100).await.1, ChargeOutcome::Succeeded { .. }));
    }
}
