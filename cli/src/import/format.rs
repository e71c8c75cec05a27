//! The import file: a practice's data as JSON (documented in `docs/import-format.md`).
//!
//! [`parse`] checks the whole file and reports every problem with its path in the file
//! (`households[3].members[1].date_of_birth: not a date`) before anything is written;
//! [`to_json`] writes a dataset back in the same format, which is how the demo data is offered.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, NaiveDate, Utc};
use portal_domain::exchange;
use portal_domain::*;
use serde_json::{json, Map, Value};

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

/// Collects problems while walking the file.
struct Reader {
    problems: Vec<String>,
    today: NaiveDate,
}

type Obj = Map<String, Value>;

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "true/false",
        Value::Number(_) => "a number",
        Value::String(_) => "text",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

impl Reader {
    fn problem(&mut self, path: &str, message: impl std::fmt::Display) {
        self.problems.push(format!("{path}: {message}"));
    }

    /// The object at `path`, reporting any field not in `fields` (a typo would otherwise be ignored).
    fn object<'a>(&mut self, value: &'a Value, path: &str, fields: &[&str]) -> Option<&'a Obj> {
        let Value::Object(map) = value else {
            self.problem(path, format_args!("expected an object, found {}", kind(value)));
            return None;
        };
        for name in map.keys() {
            if !fields.contains(&name.as_str()) {
                self.problem(&format!("{path}.{name}"), "unknown field");
            }
        }
        Some(map)
    }

    /// A required text field.
    fn text(&mut self, obj: &Obj, path: &str, name: &str) -> Option<String> {
        match obj.get(name) {
            None | Some(Value::Null) => {
                self.problem(&format!("{path}.{name}"), "missing");
                None
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.problem(&format!("{path}.{name}"), "empty");
                None
            }
            Some(Value::String(s)) => Some(s.trim().to_owned()),
            Some(other) => {
                self.problem(&format!("{path}.{name}"), format_args!("expected text, found {}", kind(other)));
                None
            }
        }
    }

    /// An optional text field: `Some(None)` when absent, null or empty; `None` when it is not text.
    fn optional_text(&mut self, obj: &Obj, path: &str, name: &str) -> Option<Option<String>> {
        match obj.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::String(s)) => Some(Some(s.trim().to_owned()).filter(|s| !s.is_empty())),
            Some(other) => {
                self.problem(&format!("{path}.{name}"), format_args!("expected text or null, found {}", kind(other)));
                None
            }
        }
    }

    /// A required field parsed from text.
    fn parsed<T, E: std::fmt::Display>(
        &mut self,
        obj: &Obj,
        path: &str,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let text = self.text(obj, path, name)?;
        parse(&text).map_err(|e| self.problem(&format!("{path}.{name}"), e)).ok()
    }

    /// An optional field parsed from text.
    fn optional_parsed<T, E: std::fmt::Display>(
        &mut self,
        obj: &Obj,
        path: &str,
        name: &str,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<Option<T>> {
        match self.optional_text(obj, path, name)? {
            None => Some(None),
            Some(text) => parse(&text).map(Some).map_err(|e| self.problem(&format!("{path}.{name}"), e)).ok(),
        }
    }

    fn date(&mut self, obj: &Obj, path: &str, name: &str) -> Option<NaiveDate> {
        self.parsed(obj, path, name, parse_date)
    }

    fn optional_date(&mut self, obj: &Obj, path: &str, name: &str) -> Option<Option<NaiveDate>> {
        self.optional_parsed(obj, path, name, parse_date)
    }

    fn money(&mut self, obj: &Obj, path: &str, name: &str) -> Option<Money> {
        if let Some(Value::Number(_)) = obj.get(name) {
            self.problem(&format!("{path}.{name}"), "write amounts as text, like \"80.00\", never as JSON numbers");
            return None;
        }
        self.parsed(obj, path, name, Money::parse)
    }

    fn boolean(&mut self, obj: &Obj, path: &str, name: &str, default: bool) -> Option<bool> {
        match obj.get(name) {
            None => Some(default),
            Some(Value::Bool(b)) => Some(*b),
            Some(other) => {
                self.problem(&format!("{path}.{name}"), format_args!("expected true or false, found {}", kind(other)));
                None
            }
        }
    }

    fn number(&mut self, obj: &Obj, path: &str, name: &str, range: std::ops::RangeInclusive<u64>) -> Option<u64> {
        self.optional_number(obj, path, name, range).and_then(|n| {
            if n.is_none() {
                self.problem(&format!("{path}.{name}"), "missing");
            }
            n
        })
    }

    fn optional_number(&mut self, obj: &Obj, path: &str, name: &str, range: std::ops::RangeInclusive<u64>) -> Option<Option<u64>> {
        match obj.get(name) {
            None | Some(Value::Null) => Some(None),
            Some(Value::Number(n)) => match n.as_u64().filter(|n| range.contains(n)) {
                Some(n) => Some(Some(n)),
                None => {
                    self.problem(
                        &format!("{path}.{name}"),
                        format_args!("expected a whole number from {} to {}", range.start(), range.end()),
                    );
                    None
                }
            },
            Some(other) => {
                self.problem(&format!("{path}.{name}"), format_args!("expected a whole number, found {}", kind(other)));
                None
            }
        }
    }

    /// A list field (absent means empty), each element with its path.
    fn list<'a>(&mut self, obj: &'a Obj, path: &str, name: &str) -> Vec<(String, &'a Value)> {
        match obj.get(name) {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items.iter().enumerate().map(|(i, v)| (format!("{path}.{name}[{i}]"), v)).collect(),
            Some(other) => {
                self.problem(&format!("{path}.{name}"), format_args!("expected a list, found {}", kind(other)));
                Vec::new()
            }
        }
    }

    fn id<T: TryFrom<String>>(&mut self, obj: &Obj, path: &str, name: &str) -> Option<T> {
        self.parsed(obj, path, name, |s| T::try_from(s.to_owned()).map_err(|_| "not a valid id: use 1 to 64 of A-Z a-z 0-9 - _"))
    }

    fn optional_id<T: TryFrom<String>>(&mut self, obj: &Obj, path: &str, name: &str) -> Option<Option<T>> {
        self.optional_parsed(obj, path, name, |s| T::try_from(s.to_owned()).map_err(|_| "not a valid id: use 1 to 64 of A-Z a-z 0-9 - _"))
    }

    fn choice<T: Copy>(&mut self, obj: &Obj, path: &str, name: &str, options: &[(&str, T)]) -> Option<T> {
        let text = self.text(obj, path, name)?;
        match options.iter().find(|(label, _)| *label == text) {
            Some((_, value)) => Some(*value),
            None => {
                let labels: Vec<&str> = options.iter().map(|(l, _)| *l).collect();
                self.problem(&format!("{path}.{name}"), format_args!("expected one of {}", labels.join(", ")));
                None
            }
        }
    }

    fn address(&mut self, obj: &Obj, path: &str, name: &str, required: bool) -> Option<Option<UsAddress>> {
        let path = format!("{path}.{name}");
        match obj.get(name) {
            None | Some(Value::Null) if !required => Some(None),
            None | Some(Value::Null) => {
                self.problem(&path, "missing");
                None
            }
            Some(value) => {
                let fields = self.object(value, &path, &["line1", "line2", "city", "state", "postal_code"])?;
                let get = |n: &str| fields.get(n).and_then(Value::as_str).unwrap_or("");
                let input = AddressInput {
                    line1: get("line1"),
                    line2: get("line2"),
                    city: get("city"),
                    state: get("state"),
                    postal_code: get("postal_code"),
                };
                match UsAddress::parse(&input) {
                    Ok(address) => Some(Some(address)),
                    Err(errors) => {
                        for (field, message) in [
                            ("line1", errors.line1),
                            ("line2", errors.line2),
                            ("city", errors.city),
                            ("state", errors.state),
                            ("postal_code", errors.postal_code),
                        ] {
                            if let Some(message) = message {
                                self.problem(&format!("{path}.{field}"), message);
                            }
                        }
                        None
                    }
                }
            }
        }
    }

    fn unique<'a>(&mut self, seen: &mut BTreeSet<String>, path: &str, id: &'a str) -> &'a str {
        if !seen.insert(id.to_owned()) {
            self.problem(&format!("{path}.id"), format_args!("{id} appears more than once"));
        }
        id
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, &'static str> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "not a date (write it as YYYY-MM-DD)")
}

fn parse_time(text: &str) -> Result<DateTime<Utc>, &'static str> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| "not a time (write it as RFC 3339, e.g. 2026-03-01T15:00:00Z)")
}

fn parse_last4(text: &str) -> Result<String, &'static str> {
    if text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit()) {
        Ok(text.to_owned())
    } else {
        Err("expected the last 4 digits")
    }
}

/// Parses and checks a whole import file as of `today` (the practice's date).
pub fn parse(text: &str, today: NaiveDate) -> Result<Dataset, Vec<String>> {
    let root: Value = serde_json::from_str(text).map_err(|e| vec![format!("the file is not JSON: {e}")])?;
    let mut r = Reader { problems: Vec::new(), today };
    let Some(top) = r.object(&root, "file", &["format", "practice", "plans", "households"]) else {
        return Err(r.problems);
    };
    match top.get("format").and_then(Value::as_str) {
        Some(FORMAT) => {}
        _ => r.problem("format", format_args!("expected \"{FORMAT}\"")),
    }
    let practice = match top.get("practice") {
        Some(value) => practice(&mut r, value),
        None => {
            r.problem("practice", "missing");
            None
        }
    };
    let mut plans = BTreeMap::new();
    let mut plans_ok = true;
    for (path, value) in r.list(top, "", "plans").into_iter().map(|(p, v)| (p.trim_start_matches('.').to_owned(), v)) {
        match plan(&mut r, &path, value) {
            Some(p) => {
                if plans.insert(p.id().clone(), p).is_some() {
                    r.problem(&format!("{path}.id"), "appears more than once");
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
    for (path, value) in r.list(top, "", "households").into_iter().map(|(p, v)| (p.trim_start_matches('.').to_owned(), v)) {
        if let Some(h) = household(&mut r, &path, value, plans.as_ref(), &mut emails) {
            r.unique(&mut household_ids, &path, h.household.id.as_str());
            households.push(h);
        }
    }
    match (practice, plans, r.problems.is_empty()) {
        (Some(practice), Some(plans), true) => Ok(Dataset { practice, plans: plans.into_values().collect(), households }),
        _ => Err(r.problems),
    }
}

fn practice(r: &mut Reader, value: &Value) -> Option<Practice> {
    let path = "practice";
    let obj = r.object(value, path, &["name", "phone", "email", "address"])?;
    let name = r.text(obj, path, "name");
    let phone = r.parsed(obj, path, "phone", PhoneNumber::parse);
    let email = r.parsed(obj, path, "email", Email::parse);
    let address = r.address(obj, path, "address", true);
    Some(Practice { name: name?, phone: phone?, email: email?, address: address.flatten()? })
}

fn plan(r: &mut Reader, path: &str, value: &Value) -> Option<Plan> {
    let obj = r.object(value, path, &["id", "name", "period", "contract_months", "rates"])?;
    let id = r.id::<PlanId>(obj, path, "id");
    let name = r.text(obj, path, "name");
    let period = r.choice(obj, path, "period", &[("monthly", BillingPeriod::Monthly), ("annual", BillingPeriod::Annual)]);
    let contract_months = r.number(obj, path, "contract_months", 1..=60);
    let mut bands = Some(Vec::new());
    for (band_path, band) in r.list(obj, path, "rates") {
        let band = r.object(band, &band_path, &["min_age", "max_age", "amount"]).and_then(|b| {
            let min_age = r.number(b, &band_path, "min_age", 0..=130);
            let max_age = r.optional_number(b, &band_path, "max_age", 0..=130);
            let rate = r.money(b, &band_path, "amount");
            Some(AgeBand { min_age: min_age? as u32, max_age: max_age?.map(|m| m as u32), rate: rate? })
        });
        match (band, bands.as_mut()) {
            (Some(band), Some(list)) => list.push(band),
            _ => bands = None,
        }
    }
    let data = PlanData { id: id?, name: name?, period: period?, contract_months: contract_months? as u32, bands: bands? };
    Plan::new(data).map_err(|e| r.problem(&format!("{path}.rates"), e)).ok()
}

/// One household; `emails` holds every sign-in address seen so far in the file, with its path.
fn household(
    r: &mut Reader,
    path: &str,
    value: &Value,
    plans: Option<&BTreeMap<PlanId, Plan>>,
    emails: &mut BTreeMap<Email, String>,
) -> Option<HouseholdData> {
    let obj = r.object(
        value,
        path,
        &[
            "id",
            "name",
            "owner",
            "billing_address",
            "processor_customer",
            "members",
            "memberships",
            "invoices",
            "payments",
            "payment_sources",
            "agreements",
        ],
    )?;
    let account = r.id::<AccountId>(obj, path, "id");
    let name = r.text(obj, path, "name");
    let owner = r.id::<MemberId>(obj, path, "owner");
    let billing_address = r.address(obj, path, "billing_address", false);
    let processor_customer = r.optional_text(obj, path, "processor_customer");
    if let Some(Some(customer)) = &processor_customer {
        if !stripe_id(customer, &["cus"]) {
            r.problem(&format!("{path}.processor_customer"), format_args!("{customer} is not a Stripe customer id (cus_…)"));
        }
    }
    let stripe_customer = matches!(&processor_customer, Some(Some(_)));
    // Records are read even when the household's own fields are wrong, so every problem is reported.
    let account_or_placeholder = account.clone().unwrap_or_else(|| AccountId::try_from("invalid".to_owned()).expect("a valid id"));
    let a = &account_or_placeholder;

    let mut ok = true;
    let mut seen = BTreeSet::new();
    let mut members = Vec::new();
    for (p, v) in r.list(obj, path, "members") {
        match member(r, &p, v, a) {
            Some(m) => {
                r.unique(&mut seen, &p, m.id.as_str());
                if let Some(email) = &m.email {
                    let here = format!("{p}.email");
                    if let Some(first) = emails.insert(email.clone(), here.clone()) {
                        r.problem(&here, format_args!("{email} is also the email of {first}; each member signs in with their own address"));
                    }
                }
                members.push(m);
            }
            None => ok = false,
        }
    }
    let member_ids: BTreeSet<&MemberId> = members.iter().map(|m| &m.id).collect();
    // A reference to a member is checked only when every member was read (else the problem is already reported).
    let members_ok = ok;
    let known_member = |r: &mut Reader, path: &str, id: &MemberId| {
        if members_ok && !member_ids.contains(id) {
            r.problem(path, format_args!("{id} is not a member of this household"));
        }
    };
    if let Some(owner) = &owner {
        known_member(r, &format!("{path}.owner"), owner);
        if let Some(m) = members.iter().find(|m| &m.id == owner) {
            if m.relationship != Relationship::Owner {
                r.problem(&format!("{path}.owner"), "the owner's relationship must be \"self\"");
            }
        }
    }

    let mut memberships = Vec::new();
    let mut seen = BTreeSet::new();
    for (p, v) in r.list(obj, path, "memberships") {
        match membership(r, &p, v, a, plans) {
            Some(ms) => {
                r.unique(&mut seen, &p, ms.id.as_str());
                for (i, e) in ms.enrollments.iter().enumerate() {
                    known_member(r, &format!("{p}.enrollments[{i}].member"), &e.member);
                }
                memberships.push(ms);
            }
            None => ok = false,
        }
    }

    let mut sources = Vec::new();
    let mut seen = BTreeSet::new();
    for (p, v) in r.list(obj, path, "payment_sources") {
        match source(r, &p, v, a) {
            Some(s) => {
                r.unique(&mut seen, &p, s.id.as_str());
                // A household that is a Stripe customer is charged through Stripe: its saved sources
                // must be that customer's PaymentMethods (or the older cards, bank accounts and
                // sources Stripe charges as PaymentMethods).
                if stripe_customer && !stripe_id(&s.token, &["pm", "card", "ba", "src"]) {
                    r.problem(&format!("{p}.token"), format_args!("{} is not a Stripe PaymentMethod id (pm_…)", s.token));
                }
                sources.push(s);
            }
            None => ok = false,
        }
    }
    if sources.iter().filter(|s| s.is_default).count() > 1 {
        r.problem(&format!("{path}.payment_sources"), "at most one source can be the default");
    }
    if !sources.is_empty() && !sources.iter().any(|s| s.is_default) {
        sources[0].is_default = true;
    }

    let mut payments = Vec::new();
    let mut seen = BTreeSet::new();
    let mut payment_paths = Vec::new();
    for (p, v) in r.list(obj, path, "payments") {
        match payment(r, &p, v, a) {
            Some(pay) => {
                r.unique(&mut seen, &p, pay.id.as_str());
                payment_paths.push(p);
                payments.push(pay);
            }
            None => ok = false,
        }
    }

    let mut invoices = Vec::new();
    let mut seen = BTreeSet::new();
    let mut invoices_ok = true;
    for (p, v) in r.list(obj, path, "invoices") {
        let Some(mut data) = invoice(r, &p, v, a) else {
            invoices_ok = false;
            continue;
        };
        r.unique(&mut seen, &p, data.id.as_str());
        for (i, line) in data.lines.iter().enumerate() {
            if let Some(m) = &line.member {
                known_member(r, &format!("{p}.lines[{i}].member"), m);
            }
        }
        data.paid =
            payments.iter().filter(|pay| pay.invoice == data.id && pay.status == PaymentStatus::Succeeded).map(|pay| pay.amount).sum();
        match Invoice::new(data) {
            Ok(invoice) => invoices.push(invoice),
            Err(InvoiceError::Overpaid) => r.problem(&p, "the succeeded payments on this invoice add up to more than its total"),
            Err(e) => r.problem(&p, e),
        }
    }
    for (pay, p) in payments.iter().zip(&payment_paths) {
        if invoices_ok && !seen.contains(pay.invoice.as_str()) {
            r.problem(&format!("{p}.invoice"), format_args!("{} is not an invoice of this household", pay.invoice));
        }
    }

    let mut agreements = Vec::new();
    let mut seen = BTreeSet::new();
    for (p, v) in r.list(obj, path, "agreements") {
        match agreement(r, &p, v, a) {
            Some(ag) => {
                r.unique(&mut seen, &p, ag.id.as_str());
                known_member(r, &format!("{p}.member"), &ag.member);
                if let Some(sig) = &ag.signature {
                    known_member(r, &format!("{p}.signature.signed_by"), &sig.signed_by);
                }
                agreements.push(ag);
            }
            None => ok = false,
        }
    }

    let household = Household {
        id: account?,
        name: name?,
        owner: owner?,
        billing_address: billing_address?,
        processor_customer: processor_customer?,
        billing_shared_with: Vec::new(),
        version: 1,
    };
    (ok && invoices_ok).then_some(HouseholdData { household, members, memberships, invoices, payments, sources, agreements })
}

/// Whether `id` is a Stripe object id with one of these prefixes (`cus_…`, `pm_…`).
fn stripe_id(id: &str, prefixes: &[&str]) -> bool {
    id.split_once('_').is_some_and(|(prefix, rest)| {
        prefixes.contains(&prefix) && !rest.is_empty() && rest.len() <= 250 && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

fn member(r: &mut Reader, path: &str, value: &Value, account: &AccountId) -> Option<Member> {
    let obj =
        r.object(value, path, &["id", "first_name", "last_name", "date_of_birth", "sex", "relationship", "email", "phones", "address"])?;
    let id = r.id::<MemberId>(obj, path, "id");
    let first_name = r.text(obj, path, "first_name");
    let last_name = r.text(obj, path, "last_name");
    let today = r.today;
    let date_of_birth = r.parsed(obj, path, "date_of_birth", |s| {
        let date = parse_date(s).map_err(str::to_owned)?;
        DateOfBirth::new(date, today).map_err(|e| e.to_string())
    });
    let sex = r.choice(obj, path, "sex", &[("female", Sex::Female), ("male", Sex::Male), ("other", Sex::Other), ("unknown", Sex::Unknown)]);
    let relationship = r.choice(
        obj,
        path,
        "relationship",
        &[("self", Relationship::Owner), ("spouse", Relationship::Spouse), ("child", Relationship::Child), ("other", Relationship::Other)],
    );
    let email = r.optional_parsed(obj, path, "email", Email::parse);
    let phones = match obj.get("phones") {
        None | Some(Value::Null) => Some(Phones::default()),
        Some(v) => {
            let p = format!("{path}.phones");
            r.object(v, &p, &["mobile", "home", "work"]).and_then(|ph| {
                let mobile = r.optional_parsed(ph, &p, "mobile", PhoneNumber::parse);
                let home = r.optional_parsed(ph, &p, "home", PhoneNumber::parse);
                let work = r.optional_parsed(ph, &p, "work", PhoneNumber::parse);
                Some(Phones { mobile: mobile?, home: home?, work: work? })
            })
        }
    };
    let address = r.address(obj, path, "address", false);
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
    r: &mut Reader,
    path: &str,
    value: &Value,
    account: &AccountId,
    plans: Option<&BTreeMap<PlanId, Plan>>,
) -> Option<Membership> {
    let obj = r.object(
        value,
        path,
        &["id", "plan", "status", "contract_start", "contract_end", "next_bill_date", "renews", "renewed_by", "enrollments"],
    )?;
    let id = r.id::<MembershipId>(obj, path, "id");
    let plan = r.id::<PlanId>(obj, path, "plan").and_then(|p| match plans.map(|plans| plans.get(&p)) {
        Some(Some(plan)) => Some(plan.clone()),
        None => None,
        Some(None) => {
            r.problem(&format!("{path}.plan"), format_args!("{p} is not one of the file's plans"));
            None
        }
    });
    let status = r.choice(obj, path, "status", &[("active", MembershipStatus::Active), ("ended", MembershipStatus::Ended)]);
    let contract_start = r.date(obj, path, "contract_start");
    let contract_end = r.date(obj, path, "contract_end");
    let next_bill_date = r.optional_date(obj, path, "next_bill_date");
    let renews = r.optional_id::<MembershipId>(obj, path, "renews");
    let renewed_by = r.optional_id::<MembershipId>(obj, path, "renewed_by");
    let mut enrollments = Some(Vec::new());
    for (p, v) in r.list(obj, path, "enrollments") {
        let e = r.object(v, &p, &["member", "start", "end", "rate"]).and_then(|e| {
            let member = r.id::<MemberId>(e, &p, "member");
            let start = r.date(e, &p, "start");
            let end = r.optional_date(e, &p, "end");
            let rate = r.money(e, &p, "rate");
            Some(Enrollment { member: member?, start: start?, end: end?, rate: rate? })
        });
        match (e, enrollments.as_mut()) {
            (Some(e), Some(list)) => list.push(e),
            _ => enrollments = None,
        }
    }
    if let (Some(start), Some(end)) = (contract_start, contract_end) {
        if end < start {
            r.problem(&format!("{path}.contract_end"), "before contract_start");
        }
    }
    if enrollments.as_ref().is_some_and(Vec::is_empty) {
        r.problem(&format!("{path}.enrollments"), "a membership needs at least one enrolled member");
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
        version: 1,
    })
}

fn invoice(r: &mut Reader, path: &str, value: &Value, account: &AccountId) -> Option<InvoiceData> {
    let obj = r.object(value, path, &["id", "number", "issued", "due", "void", "lines"])?;
    let id = r.id::<InvoiceId>(obj, path, "id");
    let number = r.text(obj, path, "number");
    let issued = r.date(obj, path, "issued");
    let due = r.date(obj, path, "due");
    let void = r.boolean(obj, path, "void", false);
    let mut lines = Some(Vec::new());
    for (p, v) in r.list(obj, path, "lines") {
        let line = r.object(v, &p, &["member", "description", "period_start", "period_end", "amount"]).and_then(|l| {
            let member = r.optional_id::<MemberId>(l, &p, "member");
            let description = r.text(l, &p, "description");
            let period_start = r.optional_date(l, &p, "period_start");
            let period_end = r.optional_date(l, &p, "period_end");
            let amount = r.money(l, &p, "amount");
            Some(LineItem {
                member: member?,
                description: description?,
                period_start: period_start?,
                period_end: period_end?,
                amount: amount?,
            })
        });
        match (line, lines.as_mut()) {
            (Some(line), Some(list)) => list.push(line),
            _ => lines = None,
        }
    }
    if lines.as_ref().is_some_and(Vec::is_empty) {
        r.problem(&format!("{path}.lines"), "an invoice needs at least one line");
        return None;
    }
    if let (Some(issued), Some(due)) = (issued, due) {
        if due < issued {
            r.problem(&format!("{path}.due"), "before the issue date");
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

/// The display details of a card or bank account (`type` says which).
fn source_details(r: &mut Reader, obj: &Obj, path: &str) -> Option<SourceDetails> {
    let kind = r.choice(obj, path, "type", &[("card", true), ("bank_account", false)])?;
    let last4 = r.parsed(obj, path, "last4", parse_last4);
    if kind {
        let brand = r.text(obj, path, "brand");
        let exp_month = r.number(obj, path, "exp_month", 1..=12);
        let exp_year = r.number(obj, path, "exp_year", 2000..=2100);
        Some(SourceDetails::Card { brand: brand?, last4: last4?, exp_month: exp_month? as u32, exp_year: exp_year? as i32 })
    } else {
        let bank_name = r.text(obj, path, "bank_name");
        let account_type =
            r.choice(obj, path, "account_type", &[("checking", BankAccountType::Checking), ("savings", BankAccountType::Savings)]);
        Some(SourceDetails::BankAccount { bank_name: bank_name?, last4: last4?, account_type: account_type? })
    }
}

const CARD_FIELDS: [&str; 5] = ["type", "brand", "last4", "exp_month", "exp_year"];
const BANK_FIELDS: [&str; 4] = ["type", "bank_name", "last4", "account_type"];

fn detail_fields(value: &Value) -> Vec<&'static str> {
    match value.get("type").and_then(Value::as_str) {
        Some("bank_account") => BANK_FIELDS.to_vec(),
        _ => CARD_FIELDS.to_vec(),
    }
}

fn source(r: &mut Reader, path: &str, value: &Value, account: &AccountId) -> Option<PaymentSource> {
    let mut fields = detail_fields(value);
    fields.extend(["id", "token", "default"]);
    let obj = r.object(value, path, &fields)?;
    let id = r.id::<SourceId>(obj, path, "id");
    let token = r.text(obj, path, "token");
    let is_default = r.boolean(obj, path, "default", false);
    let details = source_details(r, obj, path);
    Some(PaymentSource { id: id?, account: account.clone(), details: details?, token: token?, is_default: is_default?, version: 1 })
}

fn payment(r: &mut Reader, path: &str, value: &Value, account: &AccountId) -> Option<Payment> {
    let obj = r.object(value, path, &["id", "invoice", "amount", "at", "status", "reason", "reference", "source"])?;
    let id = r.id::<PaymentId>(obj, path, "id");
    let invoice = r.id::<InvoiceId>(obj, path, "invoice");
    let amount = r.money(obj, path, "amount").and_then(|m| {
        if m.is_zero() {
            r.problem(&format!("{path}.amount"), "a payment is more than zero");
            return None;
        }
        Some(m)
    });
    let at = r.parsed(obj, path, "at", parse_time);
    let status = r.choice(obj, path, "status", &[("succeeded", 0), ("declined", 1), ("failed", 2)]);
    let reason = r.optional_text(obj, path, "reason");
    let reference = r.optional_text(obj, path, "reference");
    let source = match obj.get("source") {
        None | Some(Value::Null) => {
            r.problem(&format!("{path}.source"), "missing");
            None
        }
        Some(v) => {
            let p = format!("{path}.source");
            let fields = detail_fields(v);
            r.object(v, &p, &fields).and_then(|s| source_details(r, s, &p))
        }
    };
    let reason = reason?.unwrap_or_else(|| "Not given".into());
    let status = match status? {
        0 => PaymentStatus::Succeeded,
        1 => PaymentStatus::Declined(reason),
        _ => PaymentStatus::Failed(reason),
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
        version: 1,
    })
}

fn agreement(r: &mut Reader, path: &str, value: &Value, account: &AccountId) -> Option<Agreement> {
    let obj = r.object(value, path, &["id", "member", "title", "version", "body", "required", "signature"])?;
    let id = r.id::<AgreementId>(obj, path, "id");
    let member = r.id::<MemberId>(obj, path, "member");
    let title = r.text(obj, path, "title");
    let version = r.text(obj, path, "version");
    let body = match obj.get("body") {
        Some(Value::String(b)) if !b.trim().is_empty() => Some(b.clone()),
        _ => {
            r.problem(&format!("{path}.body"), "missing: the document's text, as Markdown");
            None
        }
    };
    let required = r.boolean(obj, path, "required", true);
    let signature = match obj.get("signature") {
        None | Some(Value::Null) => Some(None),
        Some(v) => {
            let p = format!("{path}.signature");
            r.object(v, &p, &["signer_name", "signed_by", "at", "ip", "user_agent"]).and_then(|s| {
                let signer_name = r.text(s, &p, "signer_name");
                let signed_by = r.id::<MemberId>(s, &p, "signed_by");
                let at = r.parsed(s, &p, "at", parse_time);
                let ip = r.text(s, &p, "ip");
                let user_agent = r.text(s, &p, "user_agent");
                Some(Some((signer_name?, signed_by?, at?, ip?, user_agent?)))
            })
        }
    };
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
            json!({ "id": p.id(), "name": p.name(), "period": label(p.period()), "contract_months": p.contract_months(), "rates": rates })
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
