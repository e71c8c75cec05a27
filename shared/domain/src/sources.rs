//! Saved payment sources: adding, choosing the default, and removing all but the last.

use chrono::{DateTime, Utc};

use crate::feed::{self, Change};
use crate::ports::{Condition, Table, Write};
use crate::store::{self};
use crate::{AccountId, PaymentSource, SourceId, StoreError};

/// Rewrites a source with its default flag set or cleared, on condition it is unchanged.
fn with_default(source: &PaymentSource, is_default: bool) -> Result<Write, StoreError> {
    store::replace_record(&store::source_key(source), "source", &PaymentSource { is_default, ..source.clone() }, source.version)
}

/// The writes that add a source: the source itself and the household's count of sources.
pub fn add_writes(source: &PaymentSource) -> Result<Vec<Write>, StoreError> {
    Ok(vec![store::put_source(source)?, store::sources_added(&source.account, 1)])
}

/// Adds a source. When `make_default`, the household's current default stops being it. The
/// practice is told in the same transaction.
pub async fn add(
    table: &dyn Table,
    mut source: PaymentSource,
    current: &[PaymentSource],
    make_default: bool,
    at: DateTime<Utc>,
) -> Result<PaymentSource, StoreError> {
    source.is_default = make_default || current.is_empty();
    let mut writes = add_writes(&source)?;
    writes.extend(feed::writes(&[Change::SourceAdded(&source)], at)?);
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
    /// Automatic payment pays with it (turn autopay off, or on again with another default, first).
    UsedByAutopay,
    NotFound,
}

/// Removes a source unless it is the last one or automatic payment (`autopay`, the household's
/// as read) pays with it. The household's count of sources is decremented on condition it stays
/// at least one, so two removals at once can never leave none. Removing the default makes another
/// source the default.
pub async fn remove(
    table: &dyn Table,
    account: &AccountId,
    current: &[PaymentSource],
    autopay: Option<&crate::autopay::Autopay>,
    id: &SourceId,
    at: DateTime<Utc>,
) -> Result<RemoveOutcome, StoreError> {
    let Some(source) = current.iter().find(|s| &s.id == id) else { return Ok(RemoveOutcome::NotFound) };
    if current.len() < 2 {
        return Ok(RemoveOutcome::LastSource);
    }
    if crate::autopay::blocks_removal(autopay, id) {
        return Ok(RemoveOutcome::UsedByAutopay);
    }
    let mut writes = vec![
        Write::Delete {
            key: store::source_key(source),
            condition: Some(Condition::Equals(crate::ports::attr::VERSION.into(), source.version.into())),
        },
        store::source_removed(account),
    ];
    let next_default = source.is_default.then(|| current.iter().find(|s| &s.id != id)).flatten();
    let promoted = next_default.map(|next| PaymentSource { is_default: true, version: next.version + 1, ..next.clone() });
    let mut changes = vec![Change::SourceRemoved(source)];
    if let Some(next) = next_default {
        writes.push(with_default(next, true)?);
    }
    if let Some(promoted) = &promoted {
        changes.push(Change::SourceMadeDefault(promoted));
    }
    writes.extend(feed::writes(&changes, at)?);
    match table.transact(writes).await {
        Ok(()) => Ok(RemoveOutcome::Removed),
        Err(StoreError::ConditionFailed) => {
            let now = store::profile(table, account).await?.sources;
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
pub async fn set_default(table: &dyn Table, current: &[PaymentSource], id: &SourceId, at: DateTime<Utc>) -> Result<bool, StoreError> {
    let Some(chosen) = current.iter().find(|s| &s.id == id) else { return Ok(false) };
    if chosen.is_default {
        return Ok(true);
    }
    let mut writes = vec![with_default(chosen, true)?];
    for old in current.iter().filter(|s| s.is_default) {
        writes.push(with_default(old, false)?);
    }
    let made = PaymentSource { is_default: true, version: chosen.version + 1, ..chosen.clone() };
    writes.extend(feed::writes(&[Change::SourceMadeDefault(&made)], at)?);
    table.transact(writes).await?;
    Ok(true)
}

#[derive(Debug, thiserror::Error)]
pub enum CustomerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Gateway(#[from] crate::GatewayError),
}

/// The household's customer at the payment processor, created (and recorded on the household)
/// the first time a source is saved. Saved sources belong to it, so they can be charged later.
pub async fn customer(
    table: &dyn Table,
    gateway: &dyn crate::PaymentGateway,
    household: &crate::Household,
) -> Result<String, CustomerError> {
    if let Some(customer) = &household.processor_customer {
        return Ok(customer.clone());
    }
    let customer = gateway.create_customer(household.id.as_str(), &household.name).await?;
    table.write(store::set_processor_customer(&household.id, &customer)).await?;
    Ok(customer)
}

/// The source a setup the browser completed saved for this household: nothing when the
/// household has no customer at the processor yet (no setup of its can exist), or the setup is
/// not its own.
pub async fn finish_setup(
    gateway: &dyn crate::PaymentGateway,
    household: Option<&crate::Household>,
    setup: &str,
) -> Result<crate::SetupResult, crate::GatewayError> {
    match household.and_then(|h| h.processor_customer.as_deref()) {
        Some(customer) => gateway.finish_setup(customer, setup).await,
        None => Ok(crate::SetupResult::Unfinished),
    }
}

/// What the patient is told when the form came back without a finished setup.
pub const SETUP_UNFINISHED: &str =
    "Enter the card's number, expiry and security code in the card field, or connect the bank account, then send the form again.";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ports::{MockPaymentGateway, MockTable};
    use crate::{AccountId, Household, MemberId};

    fn household(customer: Option<&str>) -> Household {
        Household {
            id: AccountId::parse("lopez").unwrap(),
            name: "Lopez household".into(),
            owner: MemberId::parse("maria").unwrap(),
            billing_address: None,
            processor_customer: customer.map(str::to_owned),
            billing_shared_with: Vec::new(),
            version: 1,
        }
    }

    #[tokio::test]
    async fn a_household_gets_one_customer_at_the_processor_and_keeps_it() {
        let mut gateway = MockPaymentGateway::new();
        gateway
            .expect_create_customer()
            .withf(|account, name| account == "lopez" && name == "Lopez household")
            .times(1)
            .returning(|_, _| Ok("cus_1".into()));
        let mut table = MockTable::new();
        table
            .expect_write()
            .withf(|w| *w == store::set_processor_customer(&AccountId::parse("lopez").unwrap(), "cus_1"))
            .times(1)
            .returning(|_| Ok(()));
        assert_eq!(customer(&table, &gateway, &household(None)).await.unwrap(), "cus_1");
        // Once recorded, the processor is not asked again.
        let (table, gateway) = (MockTable::new(), MockPaymentGateway::new());
        assert_eq!(customer(&table, &gateway, &household(Some("cus_1"))).await.unwrap(), "cus_1");
    }

    #[tokio::test]
    async fn a_setup_is_read_only_for_a_household_with_a_customer() {
        // No customer: no setup of the household's can exist, and the processor is not asked.
        let gateway = MockPaymentGateway::new();
        assert_eq!(finish_setup(&gateway, Some(&household(None)), "seti_1").await.unwrap(), crate::SetupResult::Unfinished);
        assert_eq!(finish_setup(&gateway, None, "seti_1").await.unwrap(), crate::SetupResult::Unfinished);
        let mut gateway = MockPaymentGateway::new();
        gateway
            .expect_finish_setup()
            .withf(|customer, setup| customer == "cus_1" && setup == "seti_1")
            .times(1)
            .returning(|_, _| Ok(crate::SetupResult::Declined { reason: "declined".into() }));
        let answer = finish_setup(&gateway, Some(&household(Some("cus_1"))), "seti_1").await.unwrap();
        assert_eq!(answer, crate::SetupResult::Declined { reason: "declined".into() });
    }
}
