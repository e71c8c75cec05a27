//! The demo practice and households, with dates relative to today so every rule can be tried any day.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc};
use portal_domain::ports::{Table, Write};
use portal_domain::store;
use portal_domain::*;

pub const MARIA: &str = "maria@example.com";
pub const DANIEL: &str = "daniel@example.com";
pub const SAM: &str = "sam@example.com";

fn id<T: TryFrom<String>>(value: &str) -> T
where
    T::Error: std::fmt::Debug,
{
    T::try_from(value.to_owned()).expect("demo ids are valid")
}

fn money(text: &str) -> Money {
    Money::parse(text).expect("demo amounts are valid")
}

fn address(line1: &str, city: &str, state: &str, zip: &str) -> UsAddress {
    UsAddress::parse(&AddressInput { line1, line2: "", city, state, postal_code: zip }).expect("demo addresses are valid")
}

fn phone(text: &str) -> PhoneNumber {
    PhoneNumber::parse(text).expect("demo phones are valid")
}

fn years_ago(today: NaiveDate, years: u32, days: u64) -> DateOfBirth {
    let date = today - Months::new(years * 12) - Days::new(days);
    DateOfBirth::new(date, today).expect("demo birthdays are in range")
}

pub fn practice() -> Practice {
    Practice {
        name: "Cedar Valley Direct Primary Care".into(),
        phone: phone("(512) 555-0100"),
        email: Email::parse("care@cedarvalley.example").expect("valid"),
        address: address("400 Main Street", "Cedar Valley", "TX", "78613"),
    }
}

pub fn standard_plan() -> Plan {
    Plan::new(PlanData {
        id: id("standard"),
        name: "Standard Membership".into(),
        period: BillingPeriod::Monthly,
        contract_months: 12,
        bands: vec![
            AgeBand { min_age: 0, max_age: Some(17), rate: money("30") },
            AgeBand { min_age: 18, max_age: Some(64), rate: money("80") },
            AgeBand { min_age: 65, max_age: None, rate: money("100") },
        ],
    })
    .expect("the demo plan is valid")
}

/// Every record of the demo, as writes that create them.
pub struct Demo {
    pub practice: Practice,
    pub plans: Vec<Plan>,
    pub households: Vec<Household>,
    pub members: Vec<Member>,
    pub memberships: Vec<Membership>,
    pub invoices: Vec<Invoice>,
    pub payments: Vec<Payment>,
    pub sources: Vec<PaymentSource>,
    pub agreements: Vec<Agreement>,
}

#[allow(clippy::too_many_arguments)]
fn member(
    account: &str,
    mid: &str,
    first: &str,
    last: &str,
    dob: DateOfBirth,
    sex: Sex,
    rel: Relationship,
    email: Option<&str>,
    mobile: Option<&str>,
    home: &UsAddress,
) -> Member {
    Member {
        id: id(mid),
        account: id(account),
        first_name: first.into(),
        last_name: last.into(),
        date_of_birth: dob,
        sex,
        relationship: rel,
        email: email.map(|e| Email::parse(e).expect("valid")),
        phones: Phones { mobile: mobile.map(phone), home: None, work: None },
        address: Some(home.clone()),
        version: 1,
    }
}

fn at(date: NaiveDate, hour: u32) -> DateTime<Utc> {
    date.and_time(NaiveTime::from_hms_opt(hour, 0, 0).expect("valid hour")).and_utc()
}

fn term(account: &str, msid: &str, plan: &Plan, members: &[&Member], start: NaiveDate, end: NaiveDate, today: NaiveDate) -> Membership {
    let enrollments = members
        .iter()
        .map(|m| Enrollment { member: m.id.clone(), start, end: (end < today).then_some(end), rate: plan.rate_for(m.date_of_birth, start) })
        .collect();
    let next_bill = (0..).map(|k| start + Months::new(k)).take_while(|d| *d <= end).find(|d| *d > today);
    Membership {
        id: id(msid),
        account: id(account),
        plan: plan.clone(),
        status: if end < today { MembershipStatus::Ended } else { MembershipStatus::Active },
        enrollments,
        contract_start: start,
        contract_end: end,
        next_bill_date: if end < today { None } else { next_bill },
        renews: None,
        renewed_by: None,
        version: 1,
    }
}

struct InvoiceSpec<'a> {
    account: &'a str,
    number: u32,
    issued: NaiveDate,
    due: NaiveDate,
    members: &'a [&'a Member],
    plan: &'a Plan,
    paid: Money,
}

fn invoice(spec: InvoiceSpec<'_>) -> Invoice {
    let period_end = spec.issued + Months::new(1) - Days::new(1);
    let lines = spec
        .members
        .iter()
        .map(|m| LineItem {
            member: Some(m.id.clone()),
            description: format!("{} — {}", spec.plan.name(), m.full_name()),
            period_start: Some(spec.issued),
            period_end: Some(period_end),
            amount: spec.plan.rate_for(m.date_of_birth, spec.issued),
        })
        .collect();
    Invoice::new(InvoiceData {
        id: id(&format!("inv-{}", spec.number)),
        account: id(spec.account),
        number: format!("INV-{}", spec.number),
        issued: spec.issued,
        due: spec.due,
        lines,
        paid: spec.paid,
        pending: Money::ZERO,
        void: false,
    })
    .expect("demo invoices are consistent")
}

fn payment(n: u32, invoice: &Invoice, amount: Money, source: &PaymentSource, at_time: DateTime<Utc>) -> Payment {
    Payment {
        id: id(&format!("pay-{n}")),
        account: invoice.account().clone(),
        invoice: invoice.id().clone(),
        amount,
        source: source.details.clone(),
        status: PaymentStatus::Succeeded,
        gateway_reference: Some(format!("sbx_ch_demo{n:04}")),
        // Recorded by the practice, as an import records them.
        idempotency_key: format!("import-pay-{n}"),
        at: at_time,
        reversals: Default::default(),
        ach_authorization: None,
        batch: None,
        version: 1,
    }
}

impl Demo {
    /// Builds the demo as of `today` (in the practice's time zone).
    pub fn new(today: NaiveDate) -> Demo {
        let plan = standard_plan();
        let lopez_home = address("1208 Pecan Street", "Cedar Valley", "TX", "78613");
        let maria = member(
            "lopez",
            "maria",
            "Maria",
            "Lopez",
            years_ago(today, 41, 73),
            Sex::Female,
            Relationship::Owner,
            Some(MARIA),
            Some("(512) 555-0142"),
            &lopez_home,
        );
        let daniel = member(
            "lopez",
            "daniel",
            "Daniel",
            "Lopez",
            years_ago(today, 43, 20),
            Sex::Male,
            Relationship::Spouse,
            Some(DANIEL),
            Some("(512) 555-0143"),
            &lopez_home,
        );
        let sofia =
            member("lopez", "sofia", "Sofia", "Lopez", years_ago(today, 8, 150), Sex::Female, Relationship::Child, None, None, &lopez_home);
        let taylor_home = address("77 Ridge Road", "Round Rock", "TX", "78664");
        let sam = member(
            "taylor",
            "sam",
            "Sam",
            "Taylor",
            years_ago(today, 52, 10),
            Sex::Other,
            Relationship::Owner,
            Some(SAM),
            Some("(512) 555-0177"),
            &taylor_home,
        );

        // Lopez: the current term ends in 45 days (renewable); the one before it has ended.
        let current_end = today + Days::new(45);
        let current_start = current_end - Months::new(12) + Days::new(1);
        let previous_end = current_start - Days::new(1);
        let previous_start = current_start - Months::new(12);
        let mut previous = term("lopez", "ms-lopez-1", &plan, &[&maria, &daniel], previous_start, previous_end, today);
        let mut current = term("lopez", "ms-lopez-2", &plan, &[&maria, &daniel, &sofia], current_start, current_end, today);
        previous.renewed_by = Some(current.id.clone());
        current.renews = Some(previous.id.clone());

        // Sam: the term ends in 200 days, so renewal is not offered yet.
        let sam_end = today + Days::new(200);
        let sam_term = term("taylor", "ms-taylor-1", &plan, &[&sam], sam_end - Months::new(12) + Days::new(1), sam_end, today);

        let visa = PaymentSource {
            id: id("src-visa"),
            account: id("lopez"),
            details: SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year: today.year() + 3 },
            token: "sbx_tok_visa4242".into(),
            is_default: true,
            version: 1,
        };
        let checking = PaymentSource {
            id: id("src-checking"),
            account: id("lopez"),
            details: SourceDetails::BankAccount {
                bank_name: "Hill Country Bank".into(),
                last4: "6789".into(),
                account_type: BankAccountType::Checking,
            },
            token: "sbx_tok_bank6789".into(),
            is_default: false,
            version: 1,
        };
        let mastercard = PaymentSource {
            id: id("src-mastercard"),
            account: id("taylor"),
            details: SourceDetails::Card { brand: "Mastercard".into(), last4: "4444".into(), exp_month: 3, exp_year: today.year() + 2 },
            token: "sbx_tok_mc4444".into(),
            is_default: true,
            version: 1,
        };

        let lopez_members = [&maria, &daniel, &sofia];
        let mut invoices = Vec::new();
        let mut payments = Vec::new();
        // Seven paid months, oldest first, then a past-due one with a partial payment, then an open one.
        let mut number = 1001;
        for months_back in (2..=8).rev() {
            let issued = today - Days::new(30 * months_back + 5);
            let mut inv = invoice(InvoiceSpec {
                account: "lopez",
                number,
                issued,
                due: issued + Days::new(14),
                members: &lopez_members,
                plan: &plan,
                paid: Money::ZERO,
            });
            let total = inv.total();
            payments.push(payment(number, &inv, total, &visa, at(issued + Days::new(2), 15)));
            inv = invoice(InvoiceSpec {
                account: "lopez",
                number,
                issued,
                due: issued + Days::new(14),
                members: &lopez_members,
                plan: &plan,
                paid: total,
            });
            invoices.push(inv);
            number += 1;
        }
        let past_due_issued = today - Days::new(35);
        let partial = money("50");
        let past_due = invoice(InvoiceSpec {
            account: "lopez",
            number,
            issued: past_due_issued,
            due: past_due_issued + Days::new(14),
            members: &lopez_members,
            plan: &plan,
            paid: partial,
        });
        payments.push(payment(number, &past_due, partial, &checking, at(past_due_issued + Days::new(3), 16)));
        invoices.push(past_due);
        number += 1;
        let open_issued = today - Days::new(5);
        invoices.push(invoice(InvoiceSpec {
            account: "lopez",
            number,
            issued: open_issued,
            due: open_issued + Days::new(14),
            members: &lopez_members,
            plan: &plan,
            paid: Money::ZERO,
        }));
        let sam_issued = today - Days::new(3);
        invoices.push(invoice(InvoiceSpec {
            account: "taylor",
            number: 2001,
            issued: sam_issued,
            due: sam_issued + Days::new(14),
            members: &[&sam],
            plan: &plan,
            paid: Money::ZERO,
        }));

        let membership_agreement =
            "# Membership Agreement\n\nThis agreement is between Cedar Valley Direct Primary Care and the member.\n\n\
            1. **Services.** Unlimited office visits, same- or next-day appointments, and direct messaging with your physician.\n\
            2. **Fees.** The monthly fee for each member is set by age as shown on your membership.\n\
            3. **Term.** The membership lasts twelve months and may be renewed.\n\
            4. **Not insurance.** Direct primary care is not health insurance.\n";
        let financial_policy = "# Financial Policy\n\nMembership fees are billed monthly on your bill date and are due within 14 days.\n\n\
            - A card or bank account on file is charged only when you pay an invoice or set up automatic payment.\n\
            - Invoices unpaid 30 days after the due date may pause scheduling of non-urgent visits.\n\
            - Questions about a bill? Call the practice before the due date.\n";
        let signed_at = at(previous_start, 17);
        let mut agreement = Agreement {
            id: id("agr-membership"),
            account: id("lopez"),
            member: maria.id.clone(),
            title: "Membership Agreement".into(),
            version: "2025-01".into(),
            body: membership_agreement.into(),
            required: true,
            signature: None,
            record_version: 1,
        };
        agreement.signature = Some(Signature {
            signer_name: maria.full_name(),
            signed_by: maria.id.clone(),
            at: signed_at,
            ip: "203.0.113.24".into(),
            user_agent: "Enrollment kiosk".into(),
            body_sha256: agreement.body_sha256(),
        });
        let pending = Agreement {
            id: id("agr-financial"),
            account: id("lopez"),
            member: maria.id.clone(),
            title: "Financial Policy".into(),
            version: "2026-06".into(),
            body: financial_policy.into(),
            required: true,
            signature: None,
            record_version: 1,
        };

        let minor_consent = Agreement {
            id: id("agr-sofia-consent"),
            account: id("lopez"),
            member: sofia.id.clone(),
            title: "Consent to Treat a Minor".into(),
            version: "2026-01".into(),
            body:
                "# Consent to Treat a Minor\n\nAs parent or guardian, I consent to routine care of my child by the practice's physicians.\n"
                    .into(),
            required: true,
            signature: None,
            record_version: 1,
        };
        let communication = Agreement {
            id: id("agr-daniel-communication"),
            account: id("lopez"),
            member: daniel.id.clone(),
            title: "Communication Preferences".into(),
            version: "2026-03".into(),
            body: "# Communication Preferences\n\nThe practice may contact me by text message and email about appointments and results.\n"
                .into(),
            required: false,
            signature: None,
            record_version: 1,
        };

        Demo {
            practice: practice(),
            plans: vec![plan],
            households: vec![
                Household {
                    id: id("lopez"),
                    name: "Lopez household".into(),
                    owner: maria.id.clone(),
                    billing_address: Some(lopez_home),
                    processor_customer: None,
                    billing_shared_with: Vec::new(),
                    version: 1,
                },
                Household {
                    id: id("taylor"),
                    name: "Taylor household".into(),
                    owner: sam.id.clone(),
                    billing_address: Some(taylor_home),
                    processor_customer: None,
                    billing_shared_with: Vec::new(),
                    version: 1,
                },
            ],
            members: vec![maria, daniel, sofia, sam],
            memberships: vec![previous, current, sam_term],
            invoices,
            payments,
            sources: vec![visa, checking, mastercard],
            agreements: vec![agreement, pending, minor_consent, communication],
        }
    }

    /// The writes that store the whole demo; each creates one record.
    pub fn writes(&self) -> Result<Vec<Write>, StoreError> {
        let mut writes = vec![store::put_practice(&self.practice)?];
        for p in &self.plans {
            writes.push(store::put_plan(p)?);
        }
        for h in &self.households {
            let sources = self.sources.iter().filter(|s| s.account == h.id).count();
            writes.push(store::put_household(h, sources)?);
        }
        for m in &self.members {
            writes.push(store::put_member(m)?);
            if let Some(email) = &m.email {
                writes.push(portal_domain::enrol::claim_email(email, m)?);
            }
        }
        for ms in &self.memberships {
            writes.push(store::put_membership(ms)?);
        }
        for i in &self.invoices {
            writes.push(store::put_invoice(i)?);
        }
        for p in &self.payments {
            writes.push(store::put_payment(p)?);
        }
        for s in &self.sources {
            writes.push(store::put_source(s)?);
        }
        for a in &self.agreements {
            writes.push(store::put_agreement(a)?);
        }
        Ok(writes)
    }
}

/// Seeds the demo unless the table already has a practice; returns whether it wrote anything.
pub async fn seed_if_empty(table: &dyn Table, today: NaiveDate) -> Result<bool, StoreError> {
    if store::practice(table).await?.is_some() {
        return Ok(false);
    }
    for write in Demo::new(today).writes()? {
        match table.write(write).await {
            Ok(()) | Err(StoreError::ConditionFailed) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}
