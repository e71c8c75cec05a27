//! The practice's records in the import format's vocabulary (`docs/import-format.md`): the
//! shapes `portal import` reads, written from the portal's own types. The import's writer
//! (`portal seed --print`) and the practice change feed (`feed`) both speak it, so a practice
//! applies a feed event to its own file with no translation table.

use serde_json::{json, Map, Value};

use crate::{
    Agreement, BankAccountType, Email, Member, Membership, Payment, PaymentSource, PaymentStatus, PhoneNumber, SourceDetails, UsAddress,
};

fn label<T: serde::Serialize>(value: T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

/// An instant as the import format writes it (UTC, with a fraction of a second only when it has one).
pub fn instant(at: chrono::DateTime<chrono::Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

pub fn address(address: &UsAddress) -> Value {
    json!({
        "line1": address.line1(),
        "line2": address.line2(),
        "city": address.city(),
        "state": address.state(),
        "postal_code": address.postal_code(),
    })
}

/// A source's kind and what identifies it to a person (never a full number: the import has none).
fn details_into(details: &SourceDetails, into: &mut Map<String, Value>) {
    match details {
        SourceDetails::Card { brand, last4, exp_month, exp_year } => {
            into.insert("type".into(), json!("card"));
            into.insert("brand".into(), json!(brand));
            into.insert("last4".into(), json!(last4));
            into.insert("exp_month".into(), json!(exp_month));
            into.insert("exp_year".into(), json!(exp_year));
        }
        SourceDetails::BankAccount { bank_name, last4, account_type } => {
            into.insert("type".into(), json!("bank_account"));
            into.insert("bank_name".into(), json!(bank_name));
            into.insert("last4".into(), json!(last4));
            let kind = match account_type {
                BankAccountType::Checking => "checking",
                BankAccountType::Savings => "savings",
            };
            into.insert("account_type".into(), json!(kind));
        }
    }
}

/// `fields` with the source's details added.
pub fn with_details(details: &SourceDetails, fields: Value) -> Value {
    let mut obj = match fields {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    details_into(details, &mut obj);
    Value::Object(obj)
}

pub fn member(m: &Member) -> Value {
    let phone = |p: &Option<PhoneNumber>| p.as_ref().map(ToString::to_string);
    json!({
        "id": m.id,
        "first_name": m.first_name,
        "last_name": m.last_name,
        "date_of_birth": m.date_of_birth.date().to_string(),
        "sex": label(m.sex),
        "relationship": label(m.relationship),
        "email": m.email.as_ref().map(Email::as_str),
        "phones": { "mobile": phone(&m.phones.mobile), "home": phone(&m.phones.home), "work": phone(&m.phones.work) },
        "address": m.address.as_ref().map(address),
    })
}

pub fn membership(ms: &Membership) -> Value {
    let enrollments: Vec<Value> = ms
        .enrollments
        .iter()
        .map(|e| json!({ "member": e.member, "start": e.start.to_string(), "end": e.end.map(|d| d.to_string()), "rate": e.rate.plain() }))
        .collect();
    json!({
        "id": ms.id,
        "plan": ms.plan.id(),
        "status": label(ms.status),
        "contract_start": ms.contract_start.to_string(),
        "contract_end": ms.contract_end.to_string(),
        "next_bill_date": ms.next_bill_date.map(|d| d.to_string()),
        "renews": ms.renews,
        "renewed_by": ms.renewed_by,
        "enrollments": enrollments,
    })
}

/// A decided payment (one still in flight is the portal's, not a practice's record).
pub fn payment(p: &Payment) -> Value {
    let (status, reason) = match &p.status {
        PaymentStatus::Succeeded | PaymentStatus::Pending => ("succeeded", None),
        PaymentStatus::Declined(r) => ("declined", Some(r)),
        PaymentStatus::Failed(r) => ("failed", Some(r)),
    };
    let mut obj = json!({
        "id": p.id,
        "invoice": p.invoice,
        "amount": p.amount.plain(),
        "at": instant(p.at),
        "status": status,
        "reference": p.gateway_reference,
        "source": with_details(&p.source, json!({})),
    });
    if let (Some(reason), Value::Object(map)) = (reason, &mut obj) {
        map.insert("reason".into(), json!(reason));
    }
    obj
}

pub fn source(s: &PaymentSource) -> Value {
    with_details(&s.details, json!({ "id": s.id, "token": s.token, "default": s.is_default }))
}

pub fn agreement(a: &Agreement) -> Value {
    let signature = a.signature.as_ref().map(|s| {
        json!({
            "signer_name": s.signer_name,
            "signed_by": s.signed_by,
            "at": instant(s.at),
            "ip": s.ip,
            "user_agent": s.user_agent,
        })
    });
    json!({ "id": a.id, "member": a.member, "title": a.title, "version": a.version, "body": a.body, "required": a.required, "signature": signature })
}
