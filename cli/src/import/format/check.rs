//! The checks of an import file, once serde has read its shape ([`super::file`]): each record
//! becomes the portal's own type, and every problem is reported with its path in the file
//! (`households[3].members[1].date_of_birth: not a date`). References between records (an
//! enrolment's member, a payment's invoice) are checked once the records they name were read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Display;

use chrono::NaiveDate;
use portal_domain::*;
use serde_json::Value;

use super::file::{self, Field, List, Outcome, Record, SourceKind, Whole, Wire};
use super::{Dataset, HouseholdData, FORMAT};

/// The problems found so far.
pub struct Check {
    pub problems: Vec<String>,
    today: NaiveDate,
}

/// The path of a record's field (`households[0].owner`; top-level fields have no prefix).
fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// A required field of a record: `need!(c, path, record.field)`.
macro_rules! need {
    ($c:expr, $path:expr, $record:ident . $field:ident) => {
        $c.need(&join($path, stringify!($field)), $record.$field)
    };
}

/// An optional field of a record: `Some(None)` when left out, `None` when wrong.
macro_rules! maybe {
    ($c:expr, $path:expr, $record:ident . $field:ident) => {
        $c.maybe(&join($path, stringify!($field)), $record.$field)
    };
}

/// A list field of a record, each element with its path.
macro_rules! list {
    ($c:expr, $path:expr, $record:ident . $field:ident) => {
        $c.list(&join($path, stringify!($field)), $record.$field)
    };
}

impl Check {
    pub fn new(today: NaiveDate) -> Check {
        Check { problems: Vec::new(), today }
    }

    fn problem(&mut self, path: &str, message: impl Display) {
        self.problems.push(format!("{path}: {message}"));
    }

    fn need<T>(&mut self, path: &str, field: Field<T>) -> Option<T> {
        match field {
            Field::Given(value) => return Some(value),
            Field::Absent => self.problem(path, "missing"),
            Field::Blank => self.problem(path, "empty"),
            Field::Wrong(why) => self.problem(path, why),
        }
        None
    }

    fn maybe<T>(&mut self, path: &str, field: Field<T>) -> Option<Option<T>> {
        match field {
            Field::Absent | Field::Blank => Some(None),
            field => self.need(path, field).map(Some),
        }
    }

    fn list<T>(&mut self, path: &str, field: Field<List<T>>) -> Vec<(String, Field<T>)> {
        let items = self.maybe(path, field).flatten().unwrap_or_default();
        items.into_iter().enumerate().map(|(i, item)| (format!("{path}[{i}]"), item)).collect()
    }

    /// A record at `path`, with any field the format does not have reported.
    fn record<T: Record>(&mut self, path: &str, field: Field<T>) -> Option<T> {
        let record = self.need(path, field)?;
        for name in record.unknown().keys() {
            self.problem(&join(path, name), "unknown field");
        }
        Some(record)
    }

    fn unique(&mut self, seen: &mut BTreeSet<String>, path: &str, id: &str) {
        if !seen.insert(id.to_owned()) {
            self.problem(&join(path, "id"), format_args!("{id} appears more than once"));
        }
    }

    fn address(&mut self, path: &str, field: Field<file::Address>) -> Option<Option<UsAddress>> {
        let Some(a) = self.maybe(path, field)? else { return Some(None) };
        for name in a.unknown.keys() {
            self.problem(&join(path, name), "unknown field");
        }
        let mut text = |name: &str, field: Field<String>| self.maybe(&join(path, name), field).map(Option::unwrap_or_default);
        let (line1, line2, city, state, postal_code) = (
            text("line1", a.line1),
            text("line2", a.line2),
            text("city", a.city),
            text("state", a.state),
            text("postal_code", a.postal_code),
        );
        let (line1, line2, city, state, postal_code) = (line1?, line2?, city?, state?, postal_code?);
        let input = AddressInput { line1: &line1, line2: &line2, city: &city, state: &state, postal_code: &postal_code };
        match UsAddress::parse(&input) {
            Ok(address) => Some(Some(address)),
            Err(errors) => {
                for (name, message) in [
                    ("line1", errors.line1),
                    ("line2", errors.line2),
                    ("city", errors.city),
                    ("state", errors.state),
                    ("postal_code", errors.postal_code),
                ] {
                    if let Some(message) = message {
                        self.problem(&join(path, name), message);
                    }
                }
                None
            }
        }
    }
}

/// Every element of a list that reads; `None` when any does not (its problems are reported).
fn all<T, R>(
    c: &mut Check,
    items: Vec<(String, Field<T>)>,
    mut read: impl FnMut(&mut Check, &str, Field<T>) -> Option<R>,
) -> Option<Vec<R>> {
    let mut ok = true;
    let mut out = Vec::new();
    for (path, item) in items {
        match read(c, &path, item) {
            Some(value) => out.push(value),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

/// Checks the whole file.
pub fn file(c: &mut Check, root: Value) -> Option<Dataset> {
    let f = c.record("file", Field::<file::File>::of(root))?;
    if !matches!(&f.format, Field::Given(format) if format == FORMAT) {
        c.problem("format", format_args!("expected \"{FORMAT}\""));
    }
    let practice = c.record("practice", f.practice).and_then(|p| practice(c, p));
    let mut plans = BTreeMap::new();
    let mut plans_ok = true;
    for (path, item) in list!(c, "", f.plans) {
        match plan(c, &path, item) {
            Some(p) => {
                if plans.insert(p.id().clone(), p).is_some() {
                    c.problem(&join(&path, "id"), "appears more than once");
                }
            }
            None => plans_ok = false,
        }
    }
    // With a plan in error, references to plans are not checked (its problem is reported already).
    let plans = plans_ok.then_some(plans);
    let mut households = Vec::new();
    let mut household_ids = BTreeSet::new();
    let mut emails: BTreeMap<Email, String> = BTreeMap::new();
    for (path, item) in list!(c, "", f.households) {
        if let Some(h) = household(c, &path, item, plans.as_ref(), &mut emails) {
            c.unique(&mut household_ids, &path, h.household.id.as_str());
            households.push(h);
        }
    }
    Some(Dataset { practice: practice?, plans: plans?.into_values().collect(), households })
}

fn practice(c: &mut Check, p: file::Practice) -> Option<Practice> {
    let path = "practice";
    let name = need!(c, path, p.name);
    let phone = need!(c, path, p.phone);
    let email = need!(c, path, p.email);
    let address_path = join(path, "address");
    let address = match c.address(&address_path, p.address) {
        Some(None) => c.need(&address_path, Field::Absent),
        address => address.flatten(),
    };
    let tax_id = maybe!(c, path, p.tax_id);
    let npi = maybe!(c, path, p.npi);
    let hsa_note = maybe!(c, path, p.hsa_note).map(|n| n.unwrap_or(false));
    let leaving = maybe!(c, path, p.cancellation).map(Option::unwrap_or_default);
    Some(Practice {
        name: name?,
        phone: phone?,
        email: email?,
        address: address?,
        tax_id: tax_id?,
        npi: npi?,
        hsa_note: hsa_note?,
        leaving: leaving?,
    })
}

fn plan(c: &mut Check, path: &str, item: Field<file::Plan>) -> Option<Plan> {
    let p = c.record(path, item)?;
    let id = need!(c, path, p.id);
    let name = need!(c, path, p.name);
    let period = need!(c, path, p.period);
    let contract_months = need!(c, path, p.contract_months);
    let items = list!(c, path, p.rates);
    let bands = all(c, items, |c, path, item| {
        let b = c.record(path, item)?;
        let min_age = need!(c, path, b.min_age);
        let max_age = maybe!(c, path, b.max_age);
        let rate = need!(c, path, b.amount);
        Some(AgeBand { min_age: min_age?.0 as u32, max_age: max_age?.map(|Whole(m)| m as u32), rate: rate? })
    });
    let leaving_path = join(path, "leaving");
    let leaving = c.maybe(&leaving_path, p.leaving).and_then(|terms| {
        let Some(t) = terms else { return Some(leaving::LeavingTerms::default()) };
        let t = c.record(&leaving_path, Field::Given(t))?;
        let notice_days = need!(c, &leaving_path, t.notice_days);
        let fee = maybe!(c, &leaving_path, t.early_termination_fee);
        let refund_unearned = need!(c, &leaving_path, t.refund_unearned);
        Some(leaving::LeavingTerms { notice_days: notice_days?.0 as u32, early_termination_fee: fee?, refund_unearned: refund_unearned? })
    });
    let data =
        PlanData { id: id?, name: name?, period: period?, contract_months: contract_months?.0 as u32, bands: bands?, leaving: leaving? };
    Plan::new(data).map_err(|e| c.problem(&join(path, "rates"), e)).ok()
}

/// Whether `id` is a Stripe object id with one of these prefixes (`cus_…`, `pm_…`).
fn stripe_id(id: &str, prefixes: &[&str]) -> bool {
    id.split_once('_').is_some_and(|(prefix, rest)| {
        prefixes.contains(&prefix) && !rest.is_empty() && rest.len() <= 250 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// One household; `emails` holds every sign-in address seen so far in the file, with its path.
fn household(
    c: &mut Check,
    path: &str,
    item: Field<file::Household>,
    plans: Option<&BTreeMap<PlanId, Plan>>,
    emails: &mut BTreeMap<Email, String>,
) -> Option<HouseholdData> {
    let h = c.record(path, item)?;
    let account = need!(c, path, h.id);
    let name = need!(c, path, h.name);
    let owner = need!(c, path, h.owner);
    let billing_address = c.address(&join(path, "billing_address"), h.billing_address);
    let processor_customer = maybe!(c, path, h.processor_customer);
    if let Some(Some(customer)) = &processor_customer {
        if !stripe_id(customer, &["cus"]) {
            c.problem(&join(path, "processor_customer"), format_args!("{customer} is not a Stripe customer id (cus_…)"));
        }
    }
    let stripe_customer = matches!(&processor_customer, Some(Some(_)));
    // Records are read even when the household's own fields are wrong, so every problem is reported.
    let a = &account.clone().unwrap_or_else(|| AccountId::try_from("invalid".to_owned()).expect("a valid id"));

    let mut seen = BTreeSet::new();
    let items = list!(c, path, h.members);
    let members = all(c, items, |c, p, item| {
        let m = member(c, p, item, a)?;
        c.unique(&mut seen, p, m.id.as_str());
        if let Some(email) = &m.email {
            let here = join(p, "email");
            if let Some(first) = emails.insert(email.clone(), here.clone()) {
                c.problem(&here, format_args!("{email} is also the email of {first}; each member signs in with their own address"));
            }
        }
        Some(m)
    });
    // A reference to a member is checked only when every member was read (else the problem is already reported).
    let member_ids: Option<BTreeSet<MemberId>> = members.as_ref().map(|ms| ms.iter().map(|m| m.id.clone()).collect());
    let known_member = |c: &mut Check, path: &str, id: &MemberId| {
        if member_ids.as_ref().is_some_and(|ids| !ids.contains(id)) {
            c.problem(path, format_args!("{id} is not a member of this household"));
        }
    };
    if let Some(owner) = &owner {
        known_member(c, &join(path, "owner"), owner);
        if members.iter().flatten().any(|m| &m.id == owner && m.relationship != Relationship::Owner) {
            c.problem(&join(path, "owner"), "the owner's relationship must be \"self\"");
        }
    }

    let mut seen = BTreeSet::new();
    let items = list!(c, path, h.memberships);
    let memberships = all(c, items, |c, p, item| {
        let ms = membership(c, p, item, a, plans)?;
        c.unique(&mut seen, p, ms.id.as_str());
        for (i, e) in ms.enrollments.iter().enumerate() {
            known_member(c, &format!("{p}.enrollments[{i}].member"), &e.member);
        }
        Some(ms)
    });

    let mut seen = BTreeSet::new();
    let items = list!(c, path, h.payment_sources);
    let sources = all(c, items, |c, p, item| {
        let s = source(c, p, item, a)?;
        c.unique(&mut seen, p, s.id.as_str());
        // A household that is a Stripe customer is charged through Stripe: its saved sources
        // must be that customer's PaymentMethods (or the older cards, bank accounts and
        // sources Stripe charges as PaymentMethods).
        if stripe_customer && !stripe_id(&s.token, &["pm", "card", "ba", "src"]) {
            c.problem(&join(p, "token"), format_args!("{} is not a Stripe PaymentMethod id (pm_…)", s.token));
        }
        Some(s)
    });
    let mut sources = sources;
    if let Some(sources) = sources.as_mut() {
        if sources.iter().filter(|s| s.is_default).count() > 1 {
            c.problem(&join(path, "payment_sources"), "at most one source can be the default");
        }
        if !sources.is_empty() && !sources.iter().any(|s| s.is_default) {
            sources[0].is_default = true;
        }
    }

    let mut seen = BTreeSet::new();
    let items = list!(c, path, h.payments);
    let payments = all(c, items, |c, p, item| {
        let pay = payment(c, p, item, a)?;
        c.unique(&mut seen, p, pay.id.as_str());
        Some((p.to_owned(), pay))
    });

    let mut seen = BTreeSet::new();
    let items = list!(c, path, h.invoices);
    let invoices = all(c, items, |c, p, item| {
        let mut data = invoice(c, p, item, a)?;
        c.unique(&mut seen, p, data.id.as_str());
        for (i, line) in data.lines.iter().enumerate() {
            if let Some(m) = &line.member {
                known_member(c, &format!("{p}.lines[{i}].member"), m);
            }
        }
        data.paid = payments
            .iter()
            .flatten()
            .filter(|(_, pay)| pay.invoice == data.id && pay.status == PaymentStatus::Succeeded)
            .map(|(_, pay)| pay.amount)
            .sum();
        match Invoice::new(data) {
            Ok(invoice) => Some(invoice),
            Err(InvoiceError::Overpaid) => {
                c.problem(p, "the succeeded payments on this invoice add up to more than its total");
                None
            }
            Err(e) => {
                c.problem(p, e);
                None
            }
        }
    });
    if invoices.is_some() {
        for (p, pay) in payments.iter().flatten() {
            if !seen.contains(pay.invoice.as_str()) {
                c.problem(&join(p, "invoice"), format_args!("{} is not an invoice of this household", pay.invoice));
            }
        }
    }

    let mut seen = BTreeSet::new();
    let items = list!(c, path, h.agreements);
    let agreements = all(c, items, |c, p, item| {
        let ag = agreement(c, p, item, a)?;
        c.unique(&mut seen, p, ag.id.as_str());
        known_member(c, &join(p, "member"), &ag.member);
        if let Some(sig) = &ag.signature {
            known_member(c, &join(p, "signature.signed_by"), &sig.signed_by);
        }
        Some(ag)
    });

    let household = Household {
        id: account?,
        name: name?,
        owner: owner?,
        billing_address: billing_address?,
        processor_customer: processor_customer?,
        billing_shared_with: Vec::new(),
        version: 1,
    };
    Some(HouseholdData {
        household,
        members: members?,
        memberships: memberships?,
        invoices: invoices?,
        payments: payments?.into_iter().map(|(_, pay)| pay).collect(),
        sources: sources?,
        agreements: agreements?,
    })
}

fn member(c: &mut Check, path: &str, item: Field<file::Member>, account: &AccountId) -> Option<Member> {
    let m = c.record(path, item)?;
    let id = need!(c, path, m.id);
    let first_name = need!(c, path, m.first_name);
    let last_name = need!(c, path, m.last_name);
    let today = c.today;
    let date_of_birth = need!(c, path, m.date_of_birth)
        .and_then(|date| DateOfBirth::new(date, today).map_err(|e| c.problem(&join(path, "date_of_birth"), e)).ok());
    let sex = need!(c, path, m.sex);
    let relationship = need!(c, path, m.relationship);
    let email = maybe!(c, path, m.email);
    let phones_path = join(path, "phones");
    let phones = c.maybe(&phones_path, m.phones).and_then(|phones| {
        let Some(ph) = phones else { return Some(Phones::default()) };
        let ph = c.record(&phones_path, Field::Given(ph))?;
        let mobile = maybe!(c, &phones_path, ph.mobile);
        let home = maybe!(c, &phones_path, ph.home);
        let work = maybe!(c, &phones_path, ph.work);
        Some(Phones { mobile: mobile?, home: home?, work: work? })
    });
    let address = c.address(&join(path, "address"), m.address);
    Some(Member {
        id: id?,
        account: account.clone(),
        first_name: first_name?,
        last_name: last_name?,
        date_of_birth: date_of_birth?,
        sex: sex?,
        relationship: relationship?,
        email: email?,
        phones: phones?,
        address: address?,
        version: 1,
    })
}

fn membership(
    c: &mut Check,
    path: &str,
    item: Field<file::Membership>,
    account: &AccountId,
    plans: Option<&BTreeMap<PlanId, Plan>>,
) -> Option<Membership> {
    let m = c.record(path, item)?;
    let id = need!(c, path, m.id);
    let plan = need!(c, path, m.plan).and_then(|p| match plans.map(|plans| plans.get(&p)) {
        Some(Some(plan)) => Some(plan.clone()),
        None => None,
        Some(None) => {
            c.problem(&join(path, "plan"), format_args!("{p} is not one of the file's plans"));
            None
        }
    });
    let status = need!(c, path, m.status);
    let contract_start = need!(c, path, m.contract_start);
    let contract_end = need!(c, path, m.contract_end);
    let next_bill_date = maybe!(c, path, m.next_bill_date);
    let renews = maybe!(c, path, m.renews);
    let renewed_by = maybe!(c, path, m.renewed_by);
    let items = list!(c, path, m.enrollments);
    let enrollments = all(c, items, |c, p, item| {
        let e = c.record(p, item)?;
        let member = need!(c, p, e.member);
        let start = need!(c, p, e.start);
        let end = maybe!(c, p, e.end);
        let rate = need!(c, p, e.rate);
        Some(Enrollment { member: member?, start: start?, end: end?, rate: rate? })
    });
    if let (Some(start), Some(end)) = (contract_start, contract_end) {
        if end < start {
            c.problem(&join(path, "contract_end"), "before contract_start");
        }
    }
    if enrollments.as_ref().is_some_and(Vec::is_empty) {
        c.problem(&join(path, "enrollments"), "a membership needs at least one enrolled member");
    }
    Some(Membership {
        id: id?,
        account: account.clone(),
        plan: plan?,
        status: status?,
        enrollments: enrollments?,
        contract_start: contract_start?,
        contract_end: contract_end?,
        next_bill_date: next_bill_date?,
        renews: renews?,
        renewed_by: renewed_by?,
        leaving: None,
        version: 1,
    })
}

fn invoice(c: &mut Check, path: &str, item: Field<file::Invoice>, account: &AccountId) -> Option<InvoiceData> {
    let i = c.record(path, item)?;
    let id = need!(c, path, i.id);
    let number = need!(c, path, i.number);
    let issued = need!(c, path, i.issued);
    let due = need!(c, path, i.due);
    let void = maybe!(c, path, i.void).map(|v| v.unwrap_or(false));
    let items = list!(c, path, i.lines);
    let lines = all(c, items, |c, p, item| {
        let l = c.record(p, item)?;
        let member = maybe!(c, p, l.member);
        let description = need!(c, p, l.description);
        let period_start = maybe!(c, p, l.period_start);
        let period_end = maybe!(c, p, l.period_end);
        let amount = need!(c, p, l.amount);
        Some(LineItem { member: member?, description: description?, period_start: period_start?, period_end: period_end?, amount: amount? })
    });
    if lines.as_ref().is_some_and(Vec::is_empty) {
        c.problem(&join(path, "lines"), "an invoice needs at least one line");
        return None;
    }
    if let (Some(issued), Some(due)) = (issued, due) {
        if due < issued {
            c.problem(&join(path, "due"), "before the issue date");
            return None;
        }
    }
    Some(InvoiceData {
        id: id?,
        account: account.clone(),
        number: number?,
        issued: issued?,
        due: due?,
        lines: lines?,
        paid: Money::ZERO,
        pending: Money::ZERO,
        void: void?,
    })
}

/// The display details of a card or bank account (`type` says which); a field of the other
/// kind is as unknown as a misspelt one.
fn details(c: &mut Check, path: &str, d: file::Details) -> Option<SourceDetails> {
    for name in d.unknown.keys() {
        c.problem(&join(path, name), "unknown field");
    }
    let kind = c.need(&join(path, "type"), d.r#type)?;
    let last4 = need!(c, path, d.last4).map(|file::Last4(digits)| digits);
    let other_kind: &[(&str, bool)] = match kind {
        SourceKind::Card => &[("bank_name", d.bank_name.is_given()), ("account_type", d.account_type.is_given())],
        SourceKind::BankAccount => {
            &[("brand", d.brand.is_given()), ("exp_month", d.exp_month.is_given()), ("exp_year", d.exp_year.is_given())]
        }
    };
    for (name, _) in other_kind.iter().filter(|(_, given)| *given) {
        c.problem(&join(path, name), "unknown field");
    }
    match kind {
        SourceKind::Card => {
            let brand = need!(c, path, d.brand);
            let exp_month = need!(c, path, d.exp_month);
            let exp_year = need!(c, path, d.exp_year);
            Some(SourceDetails::Card { brand: brand?, last4: last4?, exp_month: exp_month?.0 as u32, exp_year: exp_year?.0 as i32 })
        }
        SourceKind::BankAccount => {
            let bank_name = need!(c, path, d.bank_name);
            let account_type = need!(c, path, d.account_type);
            Some(SourceDetails::BankAccount { bank_name: bank_name?, last4: last4?, account_type: account_type? })
        }
    }
}

fn source(c: &mut Check, path: &str, item: Field<file::Source>, account: &AccountId) -> Option<PaymentSource> {
    // The source's fields beyond its own are the card's or account's details.
    let s = c.need(path, item)?;
    let id = need!(c, path, s.id);
    let token = need!(c, path, s.token);
    let is_default = c.maybe(&join(path, "default"), s.default).map(|d| d.unwrap_or(false));
    let details = match file::Details::read(Value::Object(s.unknown)) {
        Ok(d) => details(c, path, d),
        Err(why) => {
            c.problem(path, why);
            None
        }
    };
    Some(PaymentSource { id: id?, account: account.clone(), details: details?, token: token?, is_default: is_default?, version: 1 })
}

fn payment(c: &mut Check, path: &str, item: Field<file::Payment>, account: &AccountId) -> Option<Payment> {
    let p = c.record(path, item)?;
    let id = need!(c, path, p.id);
    let invoice = need!(c, path, p.invoice);
    let amount = need!(c, path, p.amount).and_then(|m| {
        if m.is_zero() {
            c.problem(&join(path, "amount"), "a payment is more than zero");
            return None;
        }
        Some(m)
    });
    let at = need!(c, path, p.at);
    let status = need!(c, path, p.status);
    let reason = maybe!(c, path, p.reason);
    let reference = maybe!(c, path, p.reference);
    let source_path = join(path, "source");
    let source = c.need(&source_path, p.source).and_then(|d| details(c, &source_path, d));
    let reason = reason?.unwrap_or_else(|| "Not given".into());
    let status = match status? {
        Outcome::Succeeded => PaymentStatus::Succeeded,
        Outcome::Declined => PaymentStatus::Declined(reason),
        Outcome::Failed => PaymentStatus::Failed(reason),
    };
    let id = id?;
    Some(Payment {
        idempotency_key: format!("import-{id}"),
        id,
        account: account.clone(),
        invoice: invoice?,
        amount: amount?,
        source: source?,
        status,
        gateway_reference: reference?,
        at: at?,
        reversals: Default::default(),
        ach_authorization: None,
        batch: None,
        paid_by: None,
        invoice_number: None,
        invoice_issued: None,
        parts: None,
        version: 1,
    })
}

fn agreement(c: &mut Check, path: &str, item: Field<file::Agreement>, account: &AccountId) -> Option<Agreement> {
    let a = c.record(path, item)?;
    let id = need!(c, path, a.id);
    let member = need!(c, path, a.member);
    let title = need!(c, path, a.title);
    let version = need!(c, path, a.version);
    let body = match a.body {
        Field::Given(file::Body(body)) => Some(body),
        _ => {
            c.problem(&join(path, "body"), "missing: the document's text, as Markdown");
            None
        }
    };
    let required = maybe!(c, path, a.required).map(|r| r.unwrap_or(true));
    let signature_path = join(path, "signature");
    let signature = c.maybe(&signature_path, a.signature).and_then(|signature| {
        let Some(s) = signature else { return Some(None) };
        let p = &signature_path;
        let s = c.record(p, Field::Given(s))?;
        let signer_name = need!(c, p, s.signer_name);
        let signed_by = need!(c, p, s.signed_by);
        let at = need!(c, p, s.at);
        let ip = need!(c, p, s.ip);
        let user_agent = need!(c, p, s.user_agent);
        Some(Some((signer_name?, signed_by?, at?, ip?, user_agent?)))
    });
    let mut agreement = Agreement {
        id: id?,
        account: account.clone(),
        member: member?,
        title: title?,
        version: version?,
        body: body?,
        required: required?,
        signature: None,
        record_version: 1,
    };
    if let Some((signer_name, signed_by, at, ip, user_agent)) = signature? {
        let body_sha256 = agreement.body_sha256();
        agreement.signature = Some(Signature { signer_name, signed_by, at, ip, user_agent, body_sha256 });
    }
    Some(agreement)
}
