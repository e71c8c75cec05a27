//! The import file: a practice's data as JSON (documented in `docs/import-format.md`).
//!
//! [`parse`] reads the file's shape with serde (`file`), checks it (`check`) and reports every problem with its path in the file
//! (`households[3].members[1].date_of_birth: not a date`) before anything is written;
//! [`to_json`] writes a dataset back in the same format, which is how the demo data is offered.

mod check;
mod file;

use chrono::NaiveDate;
use portal_domain::exchange;
use portal_domain::*;
use serde_json::{json, Value};

/// The `format` every import file names, so a future change of format is never misread.
pub const FORMAT: &str = "portal-import/1";

/// Everything one file holds, checked and in the portal's own types.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub practice: Practice,
    pub plans: Vec<Plan>,
    pub households: Vec<HouseholdData>,
}

/// One household and everything on it. Invoices' `paid` is the sum of the file's succeeded payments.
#[derive(Debug, Clone, PartialEq)]
pub struct HouseholdData {
    pub household: Household,
    pub members: Vec<Member>,
    pub memberships: Vec<Membership>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub sources: Vec<PaymentSource>,
    pub agreements: Vec<Agreement>,
}

/// Parses and checks a whole import file as of `today` (the practice's date).
pub fn parse(text: &str, today: NaiveDate) -> Result<Dataset, Vec<String>> {
    let root: Value = serde_json::from_str(text).map_err(|e| vec![format!("the file is not JSON: {e}")])?;
    let mut c = check::Check::new(today);
    match check::file(&mut c, root) {
        Some(data) if c.problems.is_empty() => Ok(data),
        _ => Err(c.problems),
    }
}

// ---- writing a dataset in the import format ----

fn label<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// The dataset in the import format (what `portal seed --print` writes).
pub fn to_json(data: &Dataset) -> Value {
    let plans: Vec<Value> = data
        .plans
        .iter()
        .map(|p| {
            let rates: Vec<Value> =
                p.bands().iter().map(|b| json!({ "min_age": b.min_age, "max_age": b.max_age, "amount": b.rate.plain() })).collect();
            let leaving = p.leaving();
            json!({
                "id": p.id(),
                "name": p.name(),
                "period": label(p.period()),
                "contract_months": p.contract_months(),
                "rates": rates,
                "leaving": {
                    "notice_days": leaving.notice_days,
                    "early_termination_fee": leaving.early_termination_fee.map(Money::plain),
                    "refund_unearned": leaving.refund_unearned,
                },
            })
        })
        .collect();
    let households: Vec<Value> = data.households.iter().map(household_json).collect();
    json!({
        "format": FORMAT,
        "practice": {
            "name": data.practice.name,
            "phone": data.practice.phone.to_string(),
            "email": data.practice.email.as_str(),
            "address": exchange::address(&data.practice.address),
            "tax_id": data.practice.tax_id.as_ref().map(TaxId::as_str),
            "npi": data.practice.npi.as_ref().map(Npi::as_str),
            "hsa_note": data.practice.hsa_note,
            "cancellation": label(data.practice.leaving),
        },
        "plans": plans,
        "households": households,
    })
}

fn household_json(h: &HouseholdData) -> Value {
    // A payment still in flight belongs to the portal, not to a practice's records: it is left out.
    let payments: Vec<Value> = h.payments.iter().filter(|p| p.status != PaymentStatus::Pending).map(exchange::payment).collect();
    json!({
        "id": h.household.id,
        "name": h.household.name,
        "owner": h.household.owner,
        "billing_address": h.household.billing_address.as_ref().map(exchange::address),
        "processor_customer": h.household.processor_customer,
        "members": h.members.iter().map(exchange::member).collect::<Vec<_>>(),
        "memberships": h.memberships.iter().map(exchange::membership).collect::<Vec<_>>(),
        "invoices": h.invoices.iter().map(invoice_json).collect::<Vec<_>>(),
        "payments": payments,
        "payment_sources": h.sources.iter().map(exchange::source).collect::<Vec<_>>(),
        "agreements": h.agreements.iter().map(exchange::agreement).collect::<Vec<_>>(),
    })
}

fn invoice_json(i: &Invoice) -> Value {
    let lines: Vec<Value> = i
        .lines()
        .iter()
        .map(|l| {
            json!({
                "member": l.member,
                "description": l.description,
                "period_start": l.period_start.map(|d| d.to_string()),
                "period_end": l.period_end.map(|d| d.to_string()),
                "amount": l.amount.plain(),
            })
        })
        .collect();
    json!({ "id": i.id(), "number": i.number(), "issued": i.issued().to_string(), "due": i.due().to_string(), "void": i.is_void(), "lines": lines })
}

impl Dataset {
    /// The demo practice as a dataset: what `portal seed` stores, in the import's shape.
    pub fn from_demo(demo: &portal_adapters::demo::Demo) -> Dataset {
        let households = demo
            .households
            .iter()
            .map(|h| {
                let mine = |account: &AccountId| account == &h.id;
                HouseholdData {
                    household: h.clone(),
                    members: demo.members.iter().filter(|m| mine(&m.account)).cloned().collect(),
                    memberships: demo.memberships.iter().filter(|m| mine(&m.account)).cloned().collect(),
                    invoices: demo.invoices.iter().filter(|i| mine(i.account())).cloned().collect(),
                    payments: demo.payments.iter().filter(|p| mine(&p.account)).cloned().collect(),
                    sources: demo.sources.iter().filter(|s| mine(&s.account)).cloned().collect(),
                    agreements: demo.agreements.iter().filter(|a| mine(&a.account)).cloned().collect(),
                }
            })
            .collect();
        Dataset { practice: demo.practice.clone(), plans: demo.plans.clone(), households }
    }
}
