//! Saved payment sources: adding, choosing the default, and removing all but the last.

use crate::ports::{Condition, Table, Update, Write};
use crate::store::{self, household_key, SOURCE_COUNT};
use crate::{AccountId, PaymentSource, SourceId, StoreError};
use rust_decimal::Decimal;

/// Rewrites a source with its default flag set or cleared, on condition it is unchanged.
fn with_default(source: &PaymentSource, is_default: bool) -> Result<Write, StoreError> {
    store::replace_record(&store::source_key(source), "source", &PaymentSource { is_default, ..source.clone() }, source.version)
}

/// The writes that add a source: the source itself and the household's count of sources.
pub fn add_writes(source: &PaymentSource) -> Result<Vec<Write>, StoreError> {
    Ok(vec![
        store::put_source(source)?,
        Write::Update {
            key: household_key(&source.account),
            update: Update::default().add(SOURCE_COUNT, Decimal::ONE),
            condition: Some(Condition::Exists),
        },
    ])
}

/// Adds a source. When `make_default`, the household's current default stops being it.
pub async fn add(
    table: &dyn Table,
    mut source: PaymentSource,
    current: &[PaymentSource],
    make_default: bool,
) -> Result<PaymentSource, StoreError> {
    source.is_default = make_default || current.is_empty();
    let mut writes = add_writes(&source)?;
    if source.is_default {
        for old in current.iter().filter(|s| s.is_default) {
            writes.push(with_default(old, false)?);
        }
    }
    table.transact(writes).await?;
    Ok(source)
}

#[derive(Debug, PartialEq, Eq)]
pub enum RemoveOutcome {
    Removed,
    /// It is the only source on file.
    LastSource,
    NotFound,
}

/// Removes a source unless it is the last one. The household's count of sources is decremented
/// on condition it stays at least one, so two removals at once can never leave none. Removing
/// the default makes another source the default.
pub async fn remove(table: &dyn Table, account: &AccountId, current: &[PaymentSource], id: &SourceId) -> Result<RemoveOutcome, StoreError> {
    let Some(source) = current.iter().find(|s| &s.id == id) else { return Ok(RemoveOutcome::NotFound) };
    if current.len() < 2 {
        return Ok(RemoveOutcome::LastSource);
    }
    let mut writes = vec![
        Write::Delete {
            key: store::source_key(source),
            condition: Some(Condition::Equals(crate::ports::attr::VERSION.into(), source.version.into())),
        },
        Write::Update {
            key: household_key(account),
            update: Update::default().add(SOURCE_COUNT, -Decimal::ONE),
            condition: Some(Condition::AtLeast(SOURCE_COUNT.into(), Decimal::TWO)),
        },
    ];
    if source.is_default {
        if let Some(next) = current.iter().find(|s| &s.id != id) {
            writes.push(with_default(next, true)?);
        }
    }
    match table.transact(writes).await {
        Ok(()) => Ok(RemoveOutcome::Removed),
        Err(StoreError::ConditionFailed) => {
            let now = store::household(table, account).await?.sources;
            if now.len() < 2 {
                Ok(RemoveOutcome::LastSource)
            } else if !now.iter().any(|s| &s.id == id) {
                Ok(RemoveOutcome::NotFound)
            } else {
                Err(StoreError::ConditionFailed)
            }
        }
        Err(e) => Err(e),
    }
}

/// Makes a source the default.
pub async fn set_default(table: &dyn Table, current: &[PaymentSource], id: &SourceId) -> Result<bool, StoreError> {
    let Some(chosen) = current.iter().find(|s| &s.id == id) else { return Ok(false) };
    if chosen.is_default {
        return Ok(true);
    }
    let mut writes = vec![with_default(chosen, true)?];
    for old in current.iter().filter(|s| s.is_default) {
        writes.push(with_default(old, false)?);
    }
    table.transact(writes).await?;
    Ok(true)
}
