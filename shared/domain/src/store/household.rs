//! Reading a household: one query of its partition, and the practice's records.

use std::sync::Arc;

use super::*;
use crate::keys::AccountItem;
use crate::ports::{attr, Item, Table, Value};
use crate::{AccountId, Agreement, Email, Household, Member, MemberId, Membership, PaymentSource, Plan, Practice, StoreError};

// ---- reads ----

/// Reads the practice profile.
pub async fn practice(table: &dyn Table) -> Result<Option<Practice>, StoreError> {
    table.get(&practice_key()).await?.as_ref().map(record_of).transpose()
}

/// Every plan the practice offers.
pub async fn plans(table: &dyn Table) -> Result<Vec<Plan>, StoreError> {
    table.query(crate::keys::PRACTICE_PK, crate::keys::PLAN).await?.iter().map(|i| record_of(i)).collect()
}

/// The member who signs in with `email`, if any.
pub async fn member_by_email(table: &dyn Table, email: &Email) -> Result<Option<Member>, StoreError> {
    let items = table.query_index(&email_index_pk(email)).await?;
    let mut members: Vec<Member> = items.iter().map(|i| record_of(i)).collect::<Result<_, _>>()?;
    // An address belongs to one member; should two ever share one, neither may sign in with it.
    Ok(if members.len() == 1 { members.pop() } else { None })
}

/// Everything stored for one household, read with a single query of its partition.
#[derive(Debug, Clone, Default)]
pub struct HouseholdRecords {
    pub household: Option<Household>,
    pub members: Vec<Member>,
    pub memberships: Vec<Membership>,
    /// The invoices and payments as stored: each page decodes what it shows.
    pub ledger: Ledger,
    pub sources: Vec<PaymentSource>,
    pub agreements: Vec<Agreement>,
    /// Email changes waiting for their code (`EMAILCHANGE#{member}`), as stored.
    pub email_changes: Vec<Arc<Item>>,
    /// Members' email preferences (a member without one gets reminders).
    pub preferences: Vec<crate::preferences::Preferences>,
    /// Automatic payment, once the owner turned it on (and after, turned off).
    pub autopay: Option<crate::autopay::Autopay>,
    /// The members' names as the household's record keeps them for the invoice page (`applied`).
    pub names: std::collections::BTreeMap<MemberId, String>,
}

impl HouseholdRecords {
    pub fn member(&self, id: &MemberId) -> Option<&Member> {
        self.members.iter().find(|m| &m.id == id)
    }

    /// Autopay, when it is on.
    pub fn autopay_on(&self) -> Option<&crate::autopay::Autopay> {
        self.autopay.as_ref().filter(|a| a.on)
    }

    /// Whether `member` gets reminders (on unless they turned them off).
    pub fn wants_reminders(&self, member: &MemberId) -> bool {
        self.preferences.iter().find(|p| &p.member == member).is_none_or(|p| p.reminders)
    }
}

/// Loads a household's records in one query, its whole history too (its invoices and payments
/// as stored, in `ledger`): for the work that needs all of it (the pages of its billing, the
/// daily reminders run, the import). Pages about the household itself read [`profile`].
pub async fn household(table: &dyn Table, account: &AccountId) -> Result<HouseholdRecords, StoreError> {
    records_of(table.query(&account_pk(account), "").await?)
}

/// Loads a household's profile in one query: its record, members, memberships, sources,
/// agreements, email changes, preferences and automatic payment, and none of its billing history
/// (`ledger` is empty). What it reads grows with the household, not with the years it has paid.
pub async fn profile(table: &dyn Table, account: &AccountId) -> Result<HouseholdRecords, StoreError> {
    let (from, to) = crate::keys::profile_range();
    records_of(table.query_range(&account_pk(account), from, to).await?)
}

/// The household's profile with the invoices issued from `since` on, for the pay form: one
/// Query from those invoices up through the profile (the invoices since then, the summary of
/// open invoices, the profile). The pay links carry the issue date of the oldest invoice they
/// pay. `None` when the household keeps no summary (the caller reads it whole).
pub async fn open_since(table: &dyn Table, account: &AccountId, since: chrono::NaiveDate) -> Result<Option<OpenSince>, StoreError> {
    let (from, _) = crate::keys::invoices_issued(since, since);
    let items = table.query_range(&account_pk(account), &from, crate::keys::profile_range().1).await?;
    let Some(summary) = items.iter().find(|i| super::summary::is_summary(i)).map(|i| super::summary::Summary::of_item(i)) else {
        return Ok(None);
    };
    let every_open_invoice = summary.open.iter().all(|o| o.issued >= since);
    Ok(Some(OpenSince { records: records_of(items)?, every_open_invoice }))
}

/// What [`open_since`] read.
#[derive(Debug, Clone)]
pub struct OpenSince {
    /// The profile, with the invoices from the date on in `ledger` (no payments).
    pub records: HouseholdRecords,
    /// Whether they include every invoice with a balance (none was issued before the date).
    pub every_open_invoice: bool,
}

impl OpenSince {
    /// Whether the read holds what a pay form needs: "Pay total due" (`pays_total_due`) pays every
    /// open invoice, so it needs them all; a form for one invoice needs only that one (which the
    /// form then finds among those read, or not).
    pub fn serves(&self, pays_total_due: bool) -> bool {
        self.every_open_invoice || !pays_total_due
    }
}

/// The household's record, with its version and its customer at the payment processor.
pub(super) fn household_of(item: &Item) -> Result<Household, StoreError> {
    let mut household: Household = record_of(item)?;
    household.version = version_of(item);
    household.processor_customer = item.get(PROCESSOR_CUSTOMER).and_then(Value::as_str).map(str::to_owned);
    Ok(household)
}

fn records_of(items: Vec<Arc<Item>>) -> Result<HouseholdRecords, StoreError> {
    let mut records = HouseholdRecords::default();
    for item in items {
        let sk = item.get(attr::SK).and_then(Value::as_str).unwrap_or("");
        let version = version_of(&item);
        match AccountItem::of_sk(sk) {
            AccountItem::Household => {
                records.household = Some(household_of(&item)?);
                records.names = super::applied::names_of(&item);
            }
            AccountItem::Member => {
                let mut m: Member = record_of(&item)?;
                m.version = version;
                records.members.push(m);
            }
            AccountItem::Membership => {
                let mut ms: Membership = record_of(&item)?;
                ms.version = version;
                records.memberships.push(ms);
            }
            AccountItem::Invoice => records.ledger.invoices.push(item),
            AccountItem::Payment => records.ledger.payments.push(item),
            AccountItem::Source => {
                let mut s: PaymentSource = record_of(&item)?;
                s.version = version;
                records.sources.push(s);
            }
            AccountItem::Agreement => {
                let mut a: Agreement = record_of(&item)?;
                a.record_version = version;
                records.agreements.push(a);
            }
            AccountItem::EmailChange => records.email_changes.push(item),
            AccountItem::Preferences => records.preferences.push(record_of(&item)?),
            AccountItem::Autopay => records.autopay = Some(record_of(&item)?),
            AccountItem::Other => {}
        }
    }
    records.ledger.invoices.reverse();
    records.ledger.payments.reverse();
    // The default source first, as every list and form shows it.
    records.sources.sort_by_key(|s| !s.is_default);
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pay_total_due_needs_every_open_invoice_and_one_invoice_itself() {
        let read = |every_open_invoice| OpenSince { records: HouseholdRecords::default(), every_open_invoice };
        assert!(read(true).serves(true) && read(true).serves(false));
        assert!(!read(false).serves(true), "an open invoice issued before the date: read whole");
        assert!(read(false).serves(false));
    }
}
