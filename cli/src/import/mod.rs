//! `portal import`: loads a practice's data into the table, keyed by the practice system's ids.
//!
//! Importing is idempotent: every record is compared with what is stored and only differences are
//! written, so re-importing a file writes nothing. What a patient did in the portal is never undone:
//! - payments made in the portal stay, and an invoice's `paid` is always the sum of its succeeded
//!   payments (the file's and the portal's), its `pending` what the portal has in flight;
//! - a signed agreement is never changed;
//! - contact details, memberships (renewals, dependents) and payment sources the portal changed since
//!   the last import keep the portal's version; sources a patient removed are not brought back.
//!
//! To know what the portal changed, each household has an import ledger (`IMPORT#{id}` / `LEDGER`,
//! outside the household's partition so pages never read it): for every record the patient can change,
//! a hash of that part as last imported. If the stored part still has that hash, the file may update it.
//!
//! A household new to the table is bulk-loaded (BatchWriteItem, 25 items a request) after its members'
//! email claims are taken one by one on condition nobody holds them. An existing household is written
//! in small atomic groups (an invoice with its new payments, a member with their email claims), each
//! conditioned on the records being as read; when a patient acts between the read and the write, the
//! household is read and planned again. Throttling and other transient failures are retried with backoff.

pub mod format;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::stream::{self, StreamExt};
use portal_domain::contact::replace_member;
use portal_domain::enrol::{claim_email, email_claim_key};
use portal_domain::ports::{attr, Condition, Item, Key, Table, Update, Value, Write};
use portal_domain::store::{self, record_item, record_of, version_of, PAID, PENDING};
use portal_domain::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use format::{parse, to_json, Dataset, HouseholdData, FORMAT};

/// How many households are imported at once.
const CONCURRENCY: usize = 8;
/// DynamoDB's limit on the writes of one transaction (a group is larger only when members swap addresses).
const MAX_TRANSACTION: usize = 100;
/// New payments of one invoice written in one transaction, with the invoice, its summary entry
/// and its figures by month (a year each) filling the rest.
const PAYMENTS_PER_GROUP: usize = 40;

/// What an import did, record by record.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub households: usize,
    pub created: usize,
    pub updated: usize,
    pub unchanged: usize,
    /// Records the portal changed since the last import, kept as the portal has them.
    pub kept: Vec<String>,
    /// Records that could not be imported as the file has them, and why.
    pub conflicts: Vec<String>,
}

impl Report {
    fn merge(&mut self, other: Report) {
        self.households += other.households;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        self.kept.extend(other.kept);
        self.conflicts.extend(other.conflicts);
    }
}

/// Seeds the demo unless the table already has a practice; returns whether it wrote anything.
/// The demo is a dataset in the import format, written by the import like any practice's file:
/// one writer of new households, whether they come from the demo or from a practice.
pub async fn seed_demo(table: &dyn Table, today: chrono::NaiveDate) -> Result<bool, StoreError> {
    if store::practice(table).await?.is_some() {
        return Ok(false);
    }
    let data = Dataset::from_demo(&portal_adapters::demo::Demo::new(today));
    import(table, &data, &|_, _| {}).await?;
    Ok(true)
}

/// Imports a checked dataset. `progress(done, total)` is called after each household.
pub async fn import(table: &dyn Table, data: &Dataset, progress: &(dyn Fn(usize, usize) + Sync)) -> Result<Report, StoreError> {
    let mut report = Report::default();
    import_practice(table, data, &mut report).await?;
    let total = data.households.len();
    let done = AtomicUsize::new(0);
    let results: Vec<(usize, Result<Option<Report>, StoreError>)> = stream::iter(data.households.iter().enumerate())
        .map(|(i, h)| {
            let done = &done;
            async move {
                let result = import_household(table, h, false).await;
                if !matches!(result, Ok(None)) {
                    progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
                }
                (i, result)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    // Households that would take an address another member holds wait until every other household is
    // written: the file may move that address away from its holder (households run concurrently).
    let mut deferred = Vec::new();
    for (i, result) in results {
        match result? {
            Some(r) => report.merge(r),
            None => deferred.push(i),
        }
    }
    deferred.sort_unstable();
    for i in deferred {
        let r = import_household(table, &data.households[i], true).await?.expect("the final pass always imports");
        report.merge(r);
        progress(done.fetch_add(1, Ordering::Relaxed) + 1, total);
    }
    report.conflicts.sort();
    report.kept.sort();
    Ok(report)
}

/// The practice profile and plans belong to the practice system: they are written whenever they differ.
async fn import_practice(table: &dyn Table, data: &Dataset, report: &mut Report) -> Result<(), StoreError> {
    let mut writes = vec![store::put_practice(&data.practice)?];
    for plan in &data.plans {
        writes.push(store::put_plan(plan)?);
    }
    for write in writes {
        let Write::Put { item, .. } = &write else { continue };
        let key = Key::of(item).ok_or_else(|| StoreError::Malformed("a record without a key".into()))?;
        let stored = table.get(&key).await?;
        if stored.as_ref() == Some(item) {
            report.unchanged += 1;
            continue;
        }
        with_retries(|| table.write(write.clone())).await?;
        if stored.is_none() {
            report.created += 1;
        } else {
            report.updated += 1;
        }
    }
    Ok(())
}

/// Retries a store call that failed for a transient reason (throttling, a dropped connection) with
/// exponential backoff; a failed condition is an answer, not a fault, and is returned at once.
async fn with_retries<F, Fut>(mut call: F) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let mut delay = Duration::from_millis(100);
    for _ in 0..5 {
        match call().await {
            Err(StoreError::Unavailable(e)) => {
                tracing::warn!(error = %e, "the store refused a write; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            other => return other,
        }
    }
    call().await
}

/// Imports one household; `None` when it was deferred (see [`import`]) and nothing was written.
async fn import_household(table: &dyn Table, h: &HouseholdData, final_pass: bool) -> Result<Option<Report>, StoreError> {
    let mut attempt = 0;
    loop {
        let Some(plan) = plan_household(table, h, final_pass).await? else {
            return Ok(None);
        };
        match execute(table, &plan).await {
            Ok(()) => {
                for member in &plan.signed_out {
                    with_retries(|| async {
                        portal_domain::session::end_member_sessions(table, &h.household.id, member, None).await.map(drop)
                    })
                    .await?;
                }
                return Ok(Some(plan.report));
            }
            // A patient acted between our read and our write: read again and plan again.
            Err(StoreError::ConditionFailed) if attempt < 4 => attempt += 1,
            Err(StoreError::ConditionFailed) => {
                let mut report = Report { households: 1, ..Report::default() };
                report.conflicts.push(format!("household {}: kept changing while it was imported; run the import again", h.household.id));
                return Ok(Some(report));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Writes a household's plan. A household new to the table is bulk-loaded (its email claims first,
/// each on condition nobody holds it); an existing one is written group by group, each group atomic.
async fn execute(table: &dyn Table, plan: &HouseholdPlan) -> Result<(), StoreError> {
    if plan.fresh {
        let mut items = Vec::new();
        let mut gathered: BTreeMap<Key, Item> = BTreeMap::new();
        for write in plan.groups.iter().flatten() {
            match write {
                Write::Put { item, .. } if item.get(store::TYPE).and_then(Value::as_str) == Some("email-claim") => {
                    with_retries(|| table.write(write.clone())).await?;
                }
                Write::Put { item, .. } => items.push(item.clone()),
                // Items gathered from many writes (the summary of open invoices, the figures by
                // month and their totals, the copies of payments, the receipts) are put whole.
                Write::Upsert { key, update } => {
                    let item = gathered.entry(key.clone()).or_insert_with(|| {
                        Item::from([(attr::PK.to_owned(), Value::S(key.pk.clone())), (attr::SK.to_owned(), Value::S(key.sk.clone()))])
                    });
                    update.apply_to(item);
                }
                other => return Err(StoreError::Malformed(format!("a new household's plan holds {other:?}"))),
            }
        }
        // A run that stopped after putting these left them alone in the partition (nothing else
        // of the household was stored, or this run would not be fresh): what this plan does not
        // put again goes, so figures from a file since changed are not counted with these.
        for left in table.query(&plan.pk, "").await? {
            let Some(key) = Key::of(&left) else { continue };
            if !gathered.contains_key(&key) {
                with_retries(|| table.write(Write::Delete { key: key.clone(), condition: None })).await?;
            }
        }
        // Those first, before the household's record: no payment can be made before it is there,
        // so none adds to an item that a whole put then replaces.
        with_retries(|| table.put_batch(gathered.values().cloned().collect())).await?;
        with_retries(|| table.put_batch(items.clone())).await?;
    } else {
        for group in &plan.groups {
            for chunk in group.chunks(MAX_TRANSACTION) {
                match chunk {
                    [] => {}
                    [write] => with_retries(|| table.write(write.clone())).await?,
                    _ => with_retries(|| table.transact(chunk.to_vec())).await?,
                }
            }
        }
    }
    // What says the figures, their totals and the receipts are complete goes last, each write on
    // its own: a run that stops midway leaves the household's statements and receipts reading its
    // history whole until the import or `portal migrate` completes them.
    for marker in &plan.markers {
        with_retries(|| table.write(marker.clone())).await?;
    }
    Ok(())
}

/// The import ledger of a household: record → hash of its patient-changeable part as last imported.
fn ledger_key(account: &AccountId) -> Key {
    portal_domain::keys::import_ledger_key(account)
}

fn fingerprint(value: &impl Serialize) -> String {
    let json = serde_json::to_vec(value).unwrap_or_default();
    hex::encode(&Sha256::digest(&json)[..12])
}

/// The parts of each record a patient can change in the portal.
fn member_contact(m: &Member) -> impl Serialize + '_ {
    (&m.email, &m.phones, &m.address)
}
fn source_part(s: &PaymentSource) -> impl Serialize + '_ {
    (&s.token, &s.details)
}
/// A membership as the file and the portal share it: a request to leave is the portal's until
/// the practice carries it out (its file then shows the end date).
fn membership_part(ms: &Membership) -> Membership {
    Membership { version: 0, leaving: None, ..ms.clone() }
}

struct HouseholdPlan {
    /// The household's partition.
    pk: String,
    groups: Vec<Vec<Write>>,
    /// What says a new household's figures, totals and receipts count its whole history: written
    /// after everything else, each on its own (never a whole item over what a payment added).
    markers: Vec<Write>,
    /// Members whose sign-in address or ownership of the household the file changes: their
    /// sessions end once it is written, so none outlives the address or role it began with.
    signed_out: Vec<MemberId>,
    /// Nothing of the household is stored yet.
    fresh: bool,
    report: Report,
}

/// What is stored for a household, by record id, as the portal's own household query reads it.
struct Stored {
    account: Option<Household>,
    members: BTreeMap<MemberId, Member>,
    memberships: BTreeMap<MembershipId, Membership>,
    invoices: BTreeMap<InvoiceId, (Invoice, Key)>,
    payments: BTreeMap<PaymentId, Payment>,
    sources: BTreeMap<SourceId, PaymentSource>,
    agreements: BTreeMap<AgreementId, Agreement>,
    /// The members' names on the household's record (what an invoice's page shows).
    names: BTreeMap<MemberId, String>,
}

impl Stored {
    fn of(records: store::HouseholdRecords) -> Result<Stored, StoreError> {
        Ok(Stored {
            account: records.household,
            members: records.members.into_iter().map(|m| (m.id.clone(), m)).collect(),
            memberships: records.memberships.into_iter().map(|ms| (ms.id.clone(), ms)).collect(),
            invoices: records.ledger.invoices()?.into_iter().map(|i| (i.id().clone(), (i.clone(), store::invoice_key(&i)))).collect(),
            payments: records.ledger.payments()?.into_iter().map(|p| (p.id.clone(), p)).collect(),
            sources: records.sources.into_iter().map(|s| (s.id.clone(), s)).collect(),
            agreements: records.agreements.into_iter().map(|a| (a.id.clone(), a)).collect(),
            names: records.names,
        })
    }

    fn is_empty(&self) -> bool {
        self.account.is_none()
            && self.members.is_empty()
            && self.memberships.is_empty()
            && self.invoices.is_empty()
            && self.payments.is_empty()
            && self.sources.is_empty()
            && self.agreements.is_empty()
    }
}

/// Sets a write's condition.
fn conditioned(write: Write, condition: Condition) -> Write {
    match write {
        Write::Put { item, .. } => Write::Put { item, condition: Some(condition) },
        other => other,
    }
}

/// A record the portal changed keeps the portal's version only when the ledger says the file's
/// part was applied before and the stored part differs from it; with no ledger entry, the stored
/// record is the portal's own.
fn untouched(old_ledger: &BTreeMap<String, String>, name: &str, stored_hash: String) -> bool {
    old_ledger.get(name) == Some(&stored_hash)
}

/// Works out one household's writes, one kind of record at a time: the stored records and the
/// import ledger are read once; each planner adds its writes (`groups`) and what it did (`report`).
struct Planner<'a> {
    table: &'a dyn Table,
    h: &'a HouseholdData,
    stored: Stored,
    old_ledger: BTreeMap<String, String>,
    ledger: BTreeMap<String, String>,
    report: Report,
    groups: Vec<Vec<Write>>,
    signed_out: Vec<MemberId>,
    final_pass: bool,
}

impl Planner<'_> {
    /// Members, with the email claims that keep addresses unique. `Ok(false)` before the final
    /// pass when a member would take an address another member holds.
    async fn members(&mut self) -> Result<bool, StoreError> {
        let Planner { table, h, stored, old_ledger, ledger, report, groups, signed_out, final_pass } = self;
        let (table, h, final_pass): (&dyn Table, &HouseholdData, bool) = (*table, *h, *final_pass);
        let untouched = |name: &str, stored_hash: String| untouched(old_ledger, name, stored_hash);
        // Members, with the email claims that keep addresses unique.
        for m in &h.members {
            let name = format!("member:{}", m.id);
            let file_hash = fingerprint(&member_contact(m));
            match stored.members.get(&m.id) {
                None => {
                    let mut m = m.clone();
                    let mut group = vec![store::put_member(&m)?];
                    if let Some(email) = m.email.clone() {
                        match claim_holder(table, &email).await? {
                            Some(holder) if holder != m.id && !final_pass => return Ok(false),
                            Some(holder) if holder != m.id => {
                                report
                                    .conflicts
                                    .push(format!("member {}: {email} is the sign-in email of another member; imported without it", m.id));
                                m.email = None;
                                group = vec![store::put_member(&m)?];
                            }
                            Some(_) => {}
                            None => group.push(claim_email(&email, &m)?),
                        }
                    }
                    ledger.insert(name, fingerprint(&member_contact(&m)));
                    groups.push(group);
                    report.created += 1;
                }
                Some(old) => {
                    let stored_hash = fingerprint(&member_contact(old));
                    let take_file = stored_hash == file_hash || untouched(&name, stored_hash);
                    let mut new = Member { version: old.version, ..m.clone() };
                    if !take_file {
                        new.email = old.email.clone();
                        new.phones = old.phones.clone();
                        new.address = old.address.clone();
                        report.kept.push(format!("member {}: contact details changed in the portal", m.id));
                    }
                    let mut group = Vec::new();
                    if new.email != old.email {
                        if let Some(email) = &new.email {
                            match claim_holder(table, email).await? {
                                Some(holder) if holder != m.id && !final_pass => return Ok(false),
                                Some(holder) if holder != m.id => {
                                    report.conflicts.push(format!(
                                        "member {}: {email} is the sign-in email of another member; kept {}",
                                        m.id,
                                        old.email.as_ref().map_or("no email".into(), |e| e.to_string())
                                    ));
                                    new.email = old.email.clone();
                                }
                                Some(_) => {}
                                None => group.push(claim_email(email, &new)?),
                            }
                        }
                        if let (Some(previous), true) = (&old.email, new.email != old.email) {
                            group.push(Write::Delete { key: email_claim_key(previous), condition: None });
                        }
                    }
                    if take_file && new.email == m.email {
                        ledger.insert(name, file_hash);
                    }
                    if new.email != old.email {
                        signed_out.push(m.id.clone());
                    }
                    if &new == old {
                        report.unchanged += 1;
                    } else {
                        group.insert(0, replace_member(old, &new)?);
                        groups.push(group);
                        report.updated += 1;
                    }
                }
            }
        }
        Ok(true)
    }

    /// Payment sources; returns how many are new (for the household's count).
    fn sources(&mut self) -> Result<usize, StoreError> {
        let Planner { h, stored, old_ledger, ledger, report, groups, .. } = self;
        let untouched = |name: &str, stored_hash: String| untouched(old_ledger, name, stored_hash);
        // Payment sources: new ones are added (the default only if the household has none), changed ones
        // updated unless the portal changed them, and ones a patient removed stay removed.
        let stored_default = stored.sources.values().any(|s| s.is_default);
        let mut added_sources = 0usize;
        for s in &h.sources {
            let name = format!("source:{}", s.id);
            let file_hash = fingerprint(&source_part(s));
            match stored.sources.get(&s.id) {
                None if old_ledger.contains_key(&name) => report.kept.push(format!("source {}: removed in the portal", s.id)),
                None => {
                    let source = PaymentSource { is_default: s.is_default && !stored_default, ..s.clone() };
                    groups.push(vec![store::put_source(&source)?]);
                    ledger.insert(name, file_hash);
                    added_sources += 1;
                    report.created += 1;
                }
                Some(old) => {
                    let stored_hash = fingerprint(&source_part(old));
                    if stored_hash == file_hash {
                        ledger.insert(name, file_hash);
                        report.unchanged += 1;
                    } else if untouched(&name, stored_hash) {
                        let new = PaymentSource { is_default: old.is_default, version: old.version + 1, ..s.clone() };
                        groups.push(vec![store::replace_record(&store::source_key(old), "source", &new, old.version)?]);
                        ledger.insert(name, file_hash);
                        report.updated += 1;
                    } else {
                        report.kept.push(format!("source {}: changed in the portal", s.id));
                    }
                }
            }
        }
        Ok(added_sources)
    }

    /// The household's own record, and its count of sources (one write to the account item).
    fn household_record(&mut self, added_sources: usize) -> Result<(), StoreError> {
        let Planner { h, stored, report, groups, signed_out, .. } = self;
        let account = &h.household.id;
        // The household's own record, and its count of sources (one write to the account item).
        match &stored.account {
            None => groups.insert(0, vec![store::put_household(&h.household, added_sources, &h.members)?]),
            Some(old) => {
                let version = old.version;
                // The household's customer at the processor stands unless the file names one.
                let customer = h.household.processor_customer.clone().or_else(|| old.processor_customer.clone());
                // Billing shared with another adult is the owner's choice in the portal: it stands
                // while the owner does, and ends (with those members' sessions) when the owner changes.
                let shared = if h.household.owner == old.owner { old.billing_shared_with.clone() } else { Vec::new() };
                if h.household.owner != old.owner {
                    signed_out.extend(old.billing_shared_with.iter().cloned());
                }
                let incoming = Household { processor_customer: customer, billing_shared_with: shared, ..h.household.clone() };
                let changed = Household { version: 0, ..incoming.clone() } != Household { version: 0, ..old.clone() };
                if incoming.owner != old.owner {
                    signed_out.extend([old.owner.clone(), incoming.owner.clone()]);
                }
                let mut update = Update::default();
                if changed {
                    let json = serde_json::to_string(&Household { version: version + 1, ..incoming.clone() })
                        .map_err(|e| StoreError::Malformed(format!("household: {e}")))?;
                    update = update.set(store::DATA, json).set(attr::VERSION, version + 1);
                    if let Some(customer) =
                        incoming.processor_customer.as_deref().filter(|_| incoming.processor_customer != old.processor_customer)
                    {
                        update = update.set(store::PROCESSOR_CUSTOMER, customer);
                    }
                }
                if added_sources > 0 {
                    update = store::count_sources(update, added_sources);
                }
                // The record names the file's members as they are now (a name is the practice's to change).
                let renamed = h.members.iter().any(|m| stored.names.get(&m.id) != Some(&m.full_name()));
                if renamed {
                    update = store::applied::name_members(update, &h.members);
                }
                if changed || added_sources > 0 || renamed {
                    let condition = if changed { Condition::Equals(attr::VERSION.into(), Value::from(version)) } else { Condition::Exists };
                    groups.insert(0, vec![Write::Update { key: store::household_key(account), update, condition: Some(condition) }]);
                }
                if changed {
                    report.updated += 1;
                } else {
                    report.unchanged += 1;
                }
            }
        }
        if stored.account.is_none() {
            report.created += 1;
        }
        Ok(())
    }

    fn memberships(&mut self) -> Result<(), StoreError> {
        let Planner { h, stored, old_ledger, ledger, report, groups, .. } = self;
        let untouched = |name: &str, stored_hash: String| untouched(old_ledger, name, stored_hash);
        // Memberships: the portal renews them and adds dependents; what it changed stays.
        for ms in &h.memberships {
            let name = format!("membership:{}", ms.id);
            let file_hash = fingerprint(&membership_part(ms));
            match stored.memberships.get(&ms.id) {
                None => {
                    groups.push(vec![store::put_membership(ms)?]);
                    ledger.insert(name, file_hash);
                    report.created += 1;
                }
                Some(old) => {
                    let stored_hash = fingerprint(&membership_part(old));
                    if stored_hash == file_hash {
                        ledger.insert(name, file_hash);
                        report.unchanged += 1;
                    } else if untouched(&name, stored_hash) {
                        // A request the file does not carry out yet stays; one it carries out is done.
                        let leaving = old.leaving.clone().filter(|l| !l.carried_out_in(ms));
                        let new = Membership { version: old.version + 1, leaving, ..ms.clone() };
                        groups.push(vec![store::replace_record(&store::membership_key(old), "membership", &new, old.version)?]);
                        ledger.insert(name, file_hash);
                        report.updated += 1;
                    } else {
                        report.kept.push(format!("membership {}: changed in the portal", ms.id));
                    }
                }
            }
        }
        Ok(())
    }

    /// Payments, then invoices with their new payments.
    fn billing(&mut self) -> Result<(), StoreError> {
        let Planner { h, stored, report, groups, .. } = self;
        // Payments: the file's new ones are added; a recorded payment is never rewritten.
        let mut final_payments: BTreeMap<&PaymentId, &Payment> = stored.payments.iter().collect();
        let mut new_payments: BTreeMap<&InvoiceId, Vec<&Payment>> = BTreeMap::new();
        for p in &h.payments {
            match stored.payments.get(&p.id) {
                // Compared as the file writes payments: what the portal keeps beside them (its idempotency
                // key, a bank debit's authorization, refunds it was told of) is not the file's to match.
                Some(old) if portal_domain::exchange::payment(old) != portal_domain::exchange::payment(p) => {
                    report.kept.push(format!("payment {}: already recorded; a recorded payment is not changed by an import", p.id));
                }
                Some(_) => report.unchanged += 1,
                None => {
                    final_payments.insert(&p.id, p);
                    new_payments.entry(&p.invoice).or_default().push(p);
                }
            }
        }

        // Invoices: the practice's fields from the file; `paid` the sum of every succeeded payment, `pending`
        // what the portal has in flight. Each goes in one transaction with its new payments.
        for invoice in &h.invoices {
            let paid: Money = final_payments
                .values()
                .filter(|p| &p.invoice == invoice.id() && p.status == PaymentStatus::Succeeded)
                .map(|p| p.amount)
                .sum();
            let old = stored.invoices.get(invoice.id());
            let pending = old.map_or(Money::ZERO, |(i, _)| i.pending());
            let mut data = InvoiceData::from(invoice.clone());
            data.paid = paid;
            data.pending = pending;
            let new = match Invoice::new(data) {
                Ok(new) => new,
                Err(_) => {
                    report.conflicts.push(format!(
                        "invoice {}: its payments ({paid} paid, {pending} in flight) exceed its new total {}; left as it is",
                        invoice.id(),
                        invoice.total()
                    ));
                    continue;
                }
            };
            // Named by its invoice's number, as a statement or receipt shows it.
            let payments: Vec<Payment> = new_payments
                .remove(invoice.id())
                .unwrap_or_default()
                .into_iter()
                .map(|p| Payment { invoice_number: Some(new.number().to_owned()), invoice_issued: Some(new.issued()), ..p.clone() })
                .collect();
            report.created += payments.len();
            // Payments beyond what one transaction takes go in groups of their own, each counting its own.
            let mut chunks = payments.chunks(PAYMENTS_PER_GROUP);
            let first = chunks.next().unwrap_or_default();
            let mut group = Vec::new();
            for p in first {
                group.push(store::put_payment(p)?);
            }
            let stored_on_it: Vec<&Payment> = stored.payments.values().filter(|p| &p.invoice == invoice.id()).collect();
            // The household's summary of open invoices, its figures by month and its receipts follow
            // the invoice and its payments as put.
            let counted = store::count_invoice(old.map(|(i, _)| i), &new, first, &stored_on_it)?;
            // The invoice is put with a copy of every payment on it (`store::applied`): those
            // stored, each on condition it is still as read, and the new ones. An invoice with more
            // stored payments than a transaction takes is put with copies of the new ones alone
            // (its copies are then as complete as they were: its page may read the household whole).
            let (put, copied) = if stored_on_it.len() <= store::applied::COPIED_AT_ONCE {
                let unchanged = stored_on_it.iter().map(|p| Write::Check {
                    key: store::payment_key(p),
                    condition: Condition::Equals(attr::VERSION.into(), Value::from(p.version)),
                });
                let every: Vec<&Payment> = stored_on_it.iter().copied().chain(first).collect();
                let mut writes = store::put_invoice_with(&new, &every)?;
                let put = writes.remove(0);
                writes.extend(unchanged);
                (put, writes)
            } else {
                (store::put_invoice(&new)?, store::applied::more_copies(&first.iter().collect::<Vec<_>>())?.into_iter().collect())
            };
            match old {
                None => {
                    // Right after the invoice, so both are in the same transaction however many payments follow.
                    group.insert(0, put);
                    group.splice(1..1, counted);
                    group.extend(copied);
                    report.created += 1;
                }
                Some((old, _)) if *old == new => {
                    // Its paid figure is the one stored: a payment recorded now did not go through,
                    // or an earlier run put the invoice and stopped before this payment's group.
                    // Either way it is copied beside the invoice, and counted by its month if it
                    // went through (the summary took it with the invoice).
                    group.extend(store::applied::more_copies(&first.iter().collect::<Vec<_>>())?);
                    group.extend(store::count_recorded(new.account(), first)?);
                    report.unchanged += 1
                }
                Some((old, key)) => {
                    // Conditioned on the amounts read, so a payment made meanwhile makes us plan again.
                    let same_amounts = Condition::All(vec![
                        Condition::Equals(PAID.into(), Value::N(old.paid().amount())),
                        Condition::Equals(PENDING.into(), Value::N(old.pending().amount())),
                    ]);
                    group.extend(copied);
                    if store::invoice_key(&new) == *key {
                        group.insert(0, conditioned(put, same_amounts));
                        group.splice(1..1, counted);
                    } else {
                        // The issue date is part of the key: move the invoice.
                        group.insert(0, Write::Delete { key: key.clone(), condition: Some(same_amounts) });
                        group.insert(1, put);
                        group.splice(2..2, counted);
                    }
                    report.updated += 1;
                }
            }
            if !group.is_empty() {
                groups.push(group);
            }
            for chunk in chunks {
                // The summary took every payment with the invoice (its paid figure); the figures
                // by month and the copies take each chunk's own.
                let mut group = chunk.iter().map(store::put_payment).collect::<Result<Vec<_>, _>>()?;
                group.extend(store::count_recorded(new.account(), chunk)?);
                group.extend(store::applied::more_copies(&chunk.iter().collect::<Vec<_>>())?);
                groups.push(group);
            }
        }
        for (invoice, payments) in new_payments {
            for p in payments {
                report.conflicts.push(format!("payment {}: its invoice {invoice} was not imported", p.id));
            }
        }
        Ok(())
    }

    fn agreements(&mut self) -> Result<(), StoreError> {
        let Planner { h, stored, report, groups, .. } = self;
        // Agreements: a signed one is the member's record of what they agreed to and is never changed.
        for a in &h.agreements {
            match stored.agreements.get(&a.id) {
                None => {
                    groups.push(vec![store::put_agreement(a)?]);
                    report.created += 1;
                }
                Some(old) if Agreement { record_version: 0, ..old.clone() } == Agreement { record_version: 0, ..a.clone() } => {
                    report.unchanged += 1
                }
                Some(old) if old.is_signed() => report.kept.push(format!("agreement {}: signed in the portal", a.id)),
                Some(old) => {
                    let new = Agreement { record_version: old.record_version + 1, ..a.clone() };
                    groups.push(vec![store::replace_record(&store::agreement_key(old), "agreement", &new, old.record_version)?]);
                    report.updated += 1;
                }
            }
        }
        Ok(())
    }
}

/// Reads what is stored for the household and works out the writes that bring it in line with the file.
/// Before the final pass, `None` when a member would take an address another member holds.
async fn plan_household(table: &dyn Table, h: &HouseholdData, final_pass: bool) -> Result<Option<HouseholdPlan>, StoreError> {
    let account = &h.household.id;
    let stored = Stored::of(store::household(table, account).await?)?;
    let ledger_item = table.get(&ledger_key(account)).await?;
    let old_ledger: BTreeMap<String, String> = ledger_item.as_ref().map(record_of).transpose()?.unwrap_or_default();
    let ledger = old_ledger.clone();
    let report = Report { households: 1, ..Report::default() };
    let mut plan = Planner { table, h, stored, old_ledger, ledger, report, groups: Vec::new(), signed_out: Vec::new(), final_pass };
    if !plan.members().await? {
        return Ok(None);
    }
    let added_sources = plan.sources()?;
    plan.household_record(added_sources)?;
    plan.memberships()?;
    plan.billing()?;
    plan.agreements()?;
    let Planner { stored, old_ledger, ledger, report, mut groups, signed_out, .. } = plan;
    if ledger != old_ledger {
        let version = ledger_item.as_ref().map_or(0, version_of);
        let item = record_item(&ledger_key(account), "import-ledger", &ledger, version + 1)?;
        let condition =
            if ledger_item.is_some() { Condition::Equals(attr::VERSION.into(), Value::from(version)) } else { Condition::NotExists };
        groups.push(vec![Write::Put { item, condition: Some(condition) }]);
    }
    // A new household's figures by month, their totals and its receipts count its history from
    // its first invoice on: said once everything else is written, so a run that stops midway does not say it.
    let markers = if stored.is_empty() {
        vec![store::balances::kept(account), store::balances::totals_kept(account), store::cleared::kept(account)]
    } else {
        Vec::new()
    };
    let fresh = stored.is_empty() && ledger_item.is_none();
    Ok(Some(HouseholdPlan { pk: store::account_pk(account), groups: merge_claims(groups), markers, signed_out, fresh, report }))
}

/// The member who holds an email claim, if anyone does.
async fn claim_holder(table: &dyn Table, email: &Email) -> Result<Option<MemberId>, StoreError> {
    table.get(&email_claim_key(email)).await?.as_ref().map(record_of).transpose()
}

/// A transaction may touch an item once. When two members of a household swap addresses, one claim
/// is both released and taken: the take (a put of the new holder) is kept, without its condition.
fn merge_claims(groups: Vec<Vec<Write>>) -> Vec<Vec<Write>> {
    let taken: BTreeSet<Key> = groups
        .iter()
        .flatten()
        .filter_map(|w| match w {
            Write::Put { item, .. } if item.get(store::TYPE).and_then(Value::as_str) == Some("email-claim") => Key::of(item),
            _ => None,
        })
        .collect();
    let released: BTreeSet<Key> = groups
        .iter()
        .flatten()
        .filter_map(|w| match w {
            Write::Delete { key, .. } if key.sk == "EMAIL" => Some(key.clone()),
            _ => None,
        })
        .collect();
    let swapped: BTreeSet<&Key> = taken.intersection(&released).collect();
    if swapped.is_empty() {
        return groups;
    }
    let touches_swap = |group: &Vec<Write>| {
        group.iter().any(|w| match w {
            Write::Put { item, .. } => Key::of(item).is_some_and(|k| swapped.contains(&k)),
            Write::Delete { key, .. } => swapped.contains(key),
            _ => false,
        })
    };
    // The groups of the members involved become one, so the swap stays atomic.
    let (involved, mut rest): (Vec<Vec<Write>>, Vec<Vec<Write>>) = groups.into_iter().partition(touches_swap);
    let merged: Vec<Write> = involved
        .into_iter()
        .flatten()
        .filter(|w| !matches!(w, Write::Delete { key, .. } if swapped.contains(key)))
        .map(|w| match w {
            Write::Put { item, condition } => {
                let swap = Key::of(&item).is_some_and(|k| swapped.contains(&k));
                Write::Put { item, condition: if swap { None } else { condition } }
            }
            other => other,
        })
        .collect();
    rest.push(merged);
    rest
}
