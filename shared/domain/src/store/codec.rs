//! How a record is an item: its keys, `type`, `version` and JSON `data`, and the encodings of
//! times and dates in sort keys.

use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::*;
use crate::ports::{attr, Condition, Item, Key, Value, Write};
use crate::{Invoice, InvoiceData, Money, Payment, StoreError};

/// The instant at the start of `text`, as [`key_time`] writes it; read without a format parser
/// (lists read hundreds).
pub fn time_at(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 27 || b[10] != b'T' || b[13] != b':' || b[16] != b':' || b[19] != b'.' || b[26] != b'Z' {
        return None;
    }
    let time = chrono::NaiveTime::from_hms_micro_opt(digits(&b[11..13])?, digits(&b[14..16])?, digits(&b[17..19])?, digits(&b[20..26])?)?;
    Some(date_at(text)?.and_time(time).and_utc())
}

/// A run of ASCII digits as a number.
pub(crate) fn digits(bytes: &[u8]) -> Option<u32> {
    bytes.iter().try_fold(0u32, |n, &d| d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0')))
}
/// An item holding `record` as JSON under `key`.
pub fn record_item(key: &Key, kind: &str, record: &impl Serialize, version: u64) -> Result<Item, StoreError> {
    let json = serde_json::to_string(record).map_err(|e| StoreError::Malformed(format!("{kind}: {e}")))?;
    let mut item = Item::new();
    item.insert(attr::PK.into(), Value::S(key.pk.clone()));
    item.insert(attr::SK.into(), Value::S(key.sk.clone()));
    item.insert(TYPE.into(), Value::S(kind.into()));
    item.insert(DATA.into(), Value::S(json));
    item.insert(attr::VERSION.into(), Value::from(version));
    Ok(item)
}

/// The record stored as JSON in an item.
pub fn record_of<T: DeserializeOwned>(item: &Item) -> Result<T, StoreError> {
    let json = item.get(DATA).and_then(Value::as_str).ok_or_else(|| StoreError::Malformed("item without data".into()))?;
    serde_json::from_str(json).map_err(|e| StoreError::Malformed(format!("{}: {e}", kind_of(item))))
}

pub(crate) fn kind_of(item: &Item) -> &str {
    item.get(TYPE).and_then(Value::as_str).unwrap_or("unknown")
}

/// The `version` attribute of an item (0 when absent).
pub fn version_of(item: &Item) -> u64 {
    item.get(attr::VERSION).and_then(Value::as_number).and_then(|n| u64::try_from(n).ok()).unwrap_or(0)
}

pub(crate) fn money_attr(item: &Item, name: &str) -> Result<Money, StoreError> {
    let n = item.get(name).and_then(Value::as_number).unwrap_or(Decimal::ZERO);
    Money::try_from(n).map_err(|e| StoreError::Malformed(format!("{} {name}: {e}", kind_of(item))))
}

/// Puts a record only if no item has its key yet.
pub(crate) fn put_new(item: Item) -> Write {
    Write::Put { item, condition: Some(Condition::NotExists) }
}

pub(crate) fn invoice_of(item: &Item) -> Result<Invoice, StoreError> {
    let mut data: InvoiceData = record_of(item)?;
    data.paid = money_attr(item, PAID)?;
    data.pending = money_attr(item, PENDING)?;
    Invoice::new(data).map_err(|e| StoreError::Malformed(format!("invoice: {e}")))
}

pub(crate) fn payment_of(item: &Item) -> Result<Payment, StoreError> {
    let mut p: Payment = record_of(item)?;
    p.version = version_of(item);
    Ok(p)
}

/// `YYYY-MM-DD` at the start of `text`, read without a format parser (lists read hundreds).
pub(crate) fn date_at(text: &str) -> Option<NaiveDate> {
    let b = text.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::try_from(digits(&b[0..4])?).ok()?, digits(&b[5..7])?, digits(&b[8..10])?)
}
