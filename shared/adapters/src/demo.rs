//! The demo practice and households, with dates relative to today so every rule can be tried any day.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, NaiveTime, Utc};
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
        tax_id: Some(TaxId::parse("12-3456789").expect("valid")),
        npi: Some(Npi::parse("1234567893").expect("valid")),
        hsa_note: true,
        leaving: leaving::LeavingMode::Request,
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
        leaving: leaving::LeavingTerms { notice_days: 30, early_termination_fee: Some(money("100")), refund_unearned: true },
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
        leaving: None,
        version: 1,
    }
}

struct InvoiceSpec<'a> {
    account: &'a str,
    number: u32,
    /// The term's `bill`th bill date (from 0): the invoice is issued on it, covers the month
    /// to the next one and is due 14 days later, as the financial policy says.
    bill: u32,
    /// Bill dates count from it, and rates are the term's, set when it began.
    term_start: NaiveDate,
    members: &'a [&'a Member],
    plan: &'a Plan,
    paid: Money,
}

fn invoice(spec: InvoiceSpec<'_>) -> Invoice {
    let issued = spec.term_start + Months::new(spec.bill);
    let period_end = spec.term_start + Months::new(spec.bill + 1) - Days::new(1);
    let lines = spec
        .members
        .iter()
        .map(|m| LineItem {
            member: Some(m.id.clone()),
            description: format!("{} — {}", spec.plan.name(), m.full_name()),
            period_start: Some(issued),
            period_end: Some(period_end),
            amount: spec.plan.rate_for(m.date_of_birth, spec.term_start),
        })
        .collect();
    Invoice::new(InvoiceData {
        id: id(&format!("inv-{}", spec.number)),
        account: id(spec.account),
        number: format!("INV-{}", spec.number),
        issued,
        due: issued + Days::new(14),
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
        paid_by: None,
        invoice_number: None,
        invoice_issued: None,
        parts: None,
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

        // Every invoice is issued on a bill date of its term and covers the month from it, so the
        // invoices of a term tile it from its first day. The Lopez term started ten months before
        // its latest bill date, five days ago: it ends in about eight weeks (renewable), its latest
        // invoice is open and the one before it past due. The term before it has ended.
        let latest_bill = today - Days::new(5);
        let current_start = latest_bill - Months::new(10);
        let current_end = current_start + Months::new(12) - Days::new(1);
        let previous_end = current_start - Days::new(1);
        let previous_start = current_start - Months::new(12);
        let mut previous = term("lopez", "ms-lopez-1", &plan, &[&maria, &daniel], previous_start, previous_end, today);
        let mut current = term("lopez", "ms-lopez-2", &plan, &[&maria, &daniel, &sofia], current_start, current_end, today);
        previous.renewed_by = Some(current.id.clone());
        current.renews = Some(previous.id.clone());

        // Sam joined three days ago: one invoice, for his first month; renewal is months away.
        let sam_start = today - Days::new(3);
        let sam_term = term("taylor", "ms-taylor-1", &plan, &[&sam], sam_start, sam_start + Months::new(12) - Days::new(1), today);

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
        // The term's eleven bill dates so far: nine paid in full two days after issue (INV-999 to
        // INV-1007), then one past due with a partial payment (INV-1008), then the open one (INV-1009).
        let mut number = 999;
        for bill in 0..9 {
            let spec = |paid| InvoiceSpec {
                account: "lopez",
                number,
                bill,
                term_start: current_start,
                members: &lopez_members,
                plan: &plan,
                paid,
            };
            let total = invoice(spec(Money::ZERO)).total();
            let inv = invoice(spec(total));
            payments.push(payment(number, &inv, total, &visa, at(inv.issued() + Days::new(2), 15)));
            invoices.push(inv);
            number += 1;
        }
        let partial = money("50");
        let past_due = invoice(InvoiceSpec {
            account: "lopez",
            number,
            bill: 9,
            term_start: current_start,
            members: &lopez_members,
            plan: &plan,
            paid: partial,
        });
        payments.push(payment(number, &past_due, partial, &checking, at(past_due.issued() + Days::new(3), 16)));
        invoices.push(past_due);
        number += 1;
        invoices.push(invoice(InvoiceSpec {
            account: "lopez",
            number,
            bill: 10,
            term_start: current_start,
            members: &lopez_members,
            plan: &plan,
            paid: Money::ZERO,
        }));
        invoices.push(invoice(InvoiceSpec {
            account: "taylor",
            number: 2001,
            bill: 0,
            term_start: sam_start,
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use portal_domain::InvoiceStatus;

    /// The demo's billing agrees with itself whatever day it is built on: each active term's
    /// invoices are issued on its bill dates from its first day, their service periods follow one
    /// another without gap or overlap, the next bill date is the one after the latest invoice,
    /// the rates are the term's, and payments come after the invoices they pay.
    #[test]
    fn the_demo_is_a_coherent_billing_history_on_any_day() {
        let first = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for offset in (0..400).step_by(3).chain([58, 59, 60, 365]) {
            let today = first + Days::new(offset);
            let demo = Demo::new(today);
            for ms in demo.memberships.iter().filter(|m| m.status == MembershipStatus::Active) {
                let mut invoices: Vec<&Invoice> = demo.invoices.iter().filter(|i| i.account() == &ms.account).collect();
                invoices.sort_by_key(|i| i.issued());
                assert_eq!(invoices[0].issued(), ms.contract_start, "{today}: the first invoice is the term's first day");
                for (k, invoice) in invoices.iter().enumerate() {
                    let bill = ms.contract_start + Months::new(k as u32);
                    assert_eq!(invoice.issued(), bill, "{today}: {} is issued on a bill date", invoice.number());
                    assert_eq!(invoice.due(), bill + Days::new(14), "due within 14 days, as the financial policy says");
                    let next_bill = ms.contract_start + Months::new(k as u32 + 1);
                    for line in invoice.lines() {
                        assert_eq!(line.period_start, Some(bill));
                        assert_eq!(line.period_end, Some(next_bill - Days::new(1)), "{today}: periods tile the term");
                        let enrolled = ms.enrollments.iter().find(|e| Some(&e.member) == line.member.as_ref()).expect("enrolled");
                        assert_eq!(line.amount, enrolled.rate, "the term's rate");
                    }
                }
                let latest = invoices.last().unwrap().issued();
                assert_eq!(ms.next_bill_date, Some(latest + Months::new(1)), "{today}: the next bill date follows the latest invoice");
                assert!(latest <= today && latest + Months::new(1) > today, "{today}: no bill date is left without its invoice");
            }
            for p in &demo.payments {
                let invoice = demo.invoices.iter().find(|i| i.id() == &p.invoice).unwrap();
                assert!(p.at.date_naive() > invoice.issued(), "{today}: paid after it was issued");
            }
            let lopez: Vec<&Invoice> = demo.invoices.iter().filter(|i| i.account().as_str() == "lopez").collect();
            let status = |n: &str| lopez.iter().find(|i| i.number() == n).unwrap().status(today);
            assert_eq!((status("INV-1008"), status("INV-1009")), (InvoiceStatus::PastDue, InvoiceStatus::Open), "{today}");
            let current = demo.memberships.iter().find(|m| m.id.as_str() == "ms-lopez-2").unwrap();
            assert!(current.contract_end - today <= chrono::Duration::days(90), "{today}: the Lopez term is renewable");
        }
    }
}
