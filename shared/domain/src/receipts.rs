//! Itemized receipts and the yearly summary: what each payment paid, line by line, in the form
//! HSA and FSA administrators accept (provider, patient, service period, description, amount,
//! date paid), and a calendar year of payments by member and month.
//!
//! The one rule that makes a payment itemizable: **payments on an invoice pay its lines in the
//! order they are listed, each payment after those before it** (oldest first). A payment of part
//! of an invoice therefore covers the first lines not yet paid, and the lines covered by all of
//! an invoice's payments add up to exactly what was paid on it.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, NaiveDate, Utc};

use crate::{BillingPeriod, Invoice, InvoiceId, LineItem, MemberId, Membership, Money, Payment, PaymentId, PaymentStatus};

/// The most a direct-primary-care membership may cost a month and still be paid from an HSA
/// without ending HSA eligibility (US law from 2026): for one person, and for more than one.
pub const HSA_DPC_LIMIT_ONE: Money = Money::dollars(150);
pub const HSA_DPC_LIMIT_FAMILY: Money = Money::dollars(300);

/// Whether an invoice line is a membership fee (a charge for a service period) rather than
/// another charge (a visit, a lab), which an HSA treats differently.
pub fn is_membership_fee(line: &LineItem) -> bool {
    line.period_start.is_some()
}

/// What `payment` paid of each of `invoice`'s lines, in line order. `on_invoice` is every
/// payment of the invoice; those that went through and those still in flight (which hold their
/// part of the invoice) count, ordered by time then id, so a later payment's receipt never claims
/// lines an earlier one will pay when it settles.
pub fn covered(invoice: &Invoice, on_invoice: &[Payment], payment: &Payment) -> Vec<Money> {
    let holds = |p: &&Payment| matches!(p.status, PaymentStatus::Succeeded | PaymentStatus::Pending);
    let mut earlier: Vec<&Payment> = on_invoice.iter().filter(holds).collect();
    earlier.sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    let before: Money = earlier.iter().take_while(|p| p.id != payment.id).map(|p| p.amount).sum();
    let (from, to) = (before.cents(), before.cents() + payment.amount.cents());
    let mut start = 0;
    invoice
        .lines()
        .iter()
        .map(|line| {
            let end = start + line.amount.cents();
            let paid = (to.min(end) - from.max(start)).max(0);
            start = end;
            Money::from_cents(paid)
        })
        .collect()
}

/// One line a payment covered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptLine {
    pub invoice_number: String,
    pub member: Option<MemberId>,
    pub description: String,
    pub period: Option<(NaiveDate, Option<NaiveDate>)>,
    /// The line's amount on the invoice.
    pub charged: Money,
    /// What this payment paid of it.
    pub paid: Money,
    pub membership_fee: bool,
}

/// An itemized receipt: one payment (all parts of a "Pay total due" payment together).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    /// The id the receipt is found by: the payment's, or its first part's.
    pub id: PaymentId,
    pub paid_on: NaiveDate,
    /// "Visa ending 4242": never more than the last 4 digits.
    pub method: String,
    pub total: Money,
    /// Refunded since, in all.
    pub refunded: Money,
    pub lines: Vec<ReceiptLine>,
}

/// The receipt of a payment whose parts are `parts` (one, unless it paid several invoices).
/// `invoices` holds at least the invoices the parts paid, `payments` every payment of those
/// invoices. `None` unless every part went through.
pub fn receipt(parts: &[Payment], invoices: &[Invoice], payments: &[Payment], paid_on: NaiveDate) -> Option<Receipt> {
    let first = parts.first()?;
    if parts.iter().any(|p| p.status != PaymentStatus::Succeeded) {
        return None;
    }
    let mut lines = Vec::new();
    for part in parts {
        // An invoice the portal no longer holds: the payment's total stands, without its lines.
        let Some(invoice) = invoices.iter().find(|i| i.id() == &part.invoice) else { continue };
        let on_invoice: Vec<Payment> = payments.iter().filter(|p| p.invoice == part.invoice).cloned().collect();
        for (line, paid) in invoice.lines().iter().zip(covered(invoice, &on_invoice, part)) {
            if !paid.is_zero() {
                lines.push(ReceiptLine {
                    invoice_number: invoice.number().to_owned(),
                    member: line.member.clone(),
                    description: line.description.clone(),
                    period: line.period_start.map(|start| (start, line.period_end)),
                    charged: line.amount,
                    paid,
                    membership_fee: is_membership_fee(line),
                });
            }
        }
    }
    Some(Receipt {
        id: first.batch.clone().unwrap_or_else(|| first.id.clone()),
        paid_on,
        method: first.source.describe(),
        total: parts.iter().map(|p| p.amount).sum(),
        refunded: parts.iter().map(|p| p.reversals.refunded).sum(),
        lines,
    })
}

/// What the receipts list knows of one payment (one part of a batch) that went through: kept
/// for each such payment beside its household's other receipts (`store::cleared`), so the list
/// reads one year of them, not the household's history.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Cleared {
    /// The payment (the part).
    pub id: PaymentId,
    /// The receipt it belongs to: its batch's first part, or itself.
    pub receipt: PaymentId,
    pub at: DateTime<Utc>,
    pub amount: Money,
    /// "Visa ending 4242": never more than the last 4 digits.
    pub method: String,
    pub invoice: InvoiceId,
    /// Its invoice's number and issue date, where the payment kept them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issued: Option<NaiveDate>,
}

impl Cleared {
    /// The entry of `payment`, if it went through (only those have receipts).
    pub fn of(payment: &Payment) -> Option<Cleared> {
        (payment.status == PaymentStatus::Succeeded).then(|| Cleared {
            id: payment.id.clone(),
            receipt: payment.batch.clone().unwrap_or_else(|| payment.id.clone()),
            at: payment.at,
            amount: payment.amount,
            method: payment.source.describe(),
            invoice: payment.invoice.clone(),
            number: payment.invoice_number.clone(),
            issued: payment.invoice_issued,
        })
    }
}

/// One receipt of the list: a payment that went through, with its parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptGroup {
    /// The receipt's id: the payment's, or its first part's.
    pub id: PaymentId,
    pub paid_on: NaiveDate,
    pub parts: Vec<Cleared>,
}

impl ReceiptGroup {
    pub fn total(&self) -> Money {
        self.parts.iter().map(|p| p.amount).sum()
    }

    /// Its invoices' numbers (an invoice's id where its number is not kept), in part order.
    pub fn invoices(&self) -> String {
        self.parts.iter().map(|p| p.number.clone().unwrap_or_else(|| p.invoice.to_string())).collect::<Vec<_>>().join(", ")
    }

    /// Each part's invoice with its issue date, for the receipt's link; `None` when a part's date
    /// is not kept (the link then goes without, and the receipt reads the household whole).
    pub fn invoice_keys(&self) -> Option<Vec<(InvoiceId, NaiveDate)>> {
        invoice_keys(&self.parts)
    }
}

/// The invoices `cleared` paid, each once with its issue date, in the order first paid; `None`
/// when an entry's date is not kept.
pub fn invoice_keys(cleared: &[Cleared]) -> Option<Vec<(InvoiceId, NaiveDate)>> {
    let mut keys: Vec<(InvoiceId, NaiveDate)> = Vec::new();
    for entry in cleared {
        let key = (entry.invoice.clone(), entry.issued?);
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Some(keys)
}

/// The receipts of `year`, newest first: each payment that went through, the parts of one
/// "Pay total due" payment together (its first part first).
pub fn receipts_in(year: i32, cleared: &[Cleared], date_of: impl Fn(DateTime<Utc>) -> NaiveDate) -> Vec<ReceiptGroup> {
    let mut groups: BTreeMap<PaymentId, ReceiptGroup> = BTreeMap::new();
    for p in cleared {
        let paid_on = date_of(p.at);
        if paid_on.year() != year {
            continue;
        }
        let id = p.receipt.clone();
        groups.entry(id.clone()).or_insert_with(|| ReceiptGroup { id, paid_on, parts: Vec::new() }).parts.push(p.clone());
    }
    let mut list: Vec<ReceiptGroup> = groups.into_values().collect();
    for group in &mut list {
        group.parts.sort_by(|a, b| (a.id != group.id, a.issued, &a.invoice).cmp(&(b.id != group.id, b.issued, &b.invoice)));
    }
    list.sort_by(|a, b| (b.paid_on, &b.parts[0].at, &b.id).cmp(&(a.paid_on, &a.parts[0].at, &a.id)));
    list
}

/// The membership the yearly summary's HSA note speaks of, with the day its fee is taken: the
/// latest term that ran during `year`, on today or its last day in the year, whichever is earlier.
pub fn membership_for_year(memberships: &[Membership], year: i32, today: NaiveDate) -> Option<(&Membership, NaiveDate)> {
    let (first, last) = (NaiveDate::from_ymd_opt(year, 1, 1)?, NaiveDate::from_ymd_opt(year, 12, 31)?);
    let term = memberships.iter().filter(|m| m.contract_start <= last && m.contract_end >= first).max_by_key(|m| m.contract_start)?;
    let on = today.min(last).min(term.contract_end).max(term.contract_start).max(first);
    Some((term, on))
}

/// What one member's lines were paid in one month of the year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthPaid {
    pub membership: Money,
    pub other: Money,
}

/// One member's year (or the household's charges for no one member, `member: None`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberYear {
    pub member: Option<MemberId>,
    /// Months 1 to 12 in which something was paid for this member.
    pub months: BTreeMap<u32, MonthPaid>,
    pub membership: Money,
    pub other: Money,
}

/// Everything paid in one calendar year (by the practice's date of each payment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearSummary {
    pub year: i32,
    pub members: Vec<MemberYear>,
    pub membership: Money,
    pub other: Money,
    /// Everything paid: `membership + other`, and the sum of the year's payments.
    pub total: Money,
    pub refunded: Money,
    /// Payments (receipts): the parts of one "Pay total due" payment count once.
    pub payments: usize,
}

/// The year the receipts list shows: the one asked for if anything was paid in it, else the
/// latest with a payment (`years` newest first); none when nothing was ever paid.
pub fn year_shown(years: &[i32], asked: Option<i32>) -> Option<i32> {
    asked.filter(|y| years.contains(y)).or(years.first().copied())
}

/// The years in which the household paid anything, newest first.
pub fn years_paid(cleared: &[Cleared], date_of: impl Fn(DateTime<Utc>) -> NaiveDate) -> Vec<i32> {
    let mut years: Vec<i32> = cleared.iter().map(|p| date_of(p.at).year()).collect();
    years.sort_unstable_by(|a, b| b.cmp(a));
    years.dedup();
    years
}

/// The summary of `year`: each payment that went through that year, its lines by member and month.
pub fn year_summary(year: i32, invoices: &[Invoice], payments: &[Payment], date_of: impl Fn(DateTime<Utc>) -> NaiveDate) -> YearSummary {
    let mut by_invoice: BTreeMap<&str, Vec<&Payment>> = BTreeMap::new();
    for p in payments {
        by_invoice.entry(p.invoice.as_str()).or_default().push(p);
    }
    let invoices: BTreeMap<&str, &Invoice> = invoices.iter().map(|i| (i.id().as_str(), i)).collect();
    let mut members: BTreeMap<Option<MemberId>, MemberYear> = BTreeMap::new();
    let mut summary = YearSummary {
        year,
        members: Vec::new(),
        membership: Money::ZERO,
        other: Money::ZERO,
        total: Money::ZERO,
        refunded: Money::ZERO,
        payments: 0,
    };
    let mut receipts = std::collections::BTreeSet::new();
    for p in payments.iter().filter(|p| p.status == PaymentStatus::Succeeded) {
        let day = date_of(p.at);
        if day.year() != year {
            continue;
        }
        receipts.insert(p.batch.as_ref().unwrap_or(&p.id).clone());
        summary.total = summary.total + p.amount;
        summary.refunded = summary.refunded + p.reversals.refunded;
        let Some(invoice) = invoices.get(p.invoice.as_str()) else {
            // A payment of an invoice the portal does not hold: counted, as another charge.
            let row = members.entry(None).or_insert_with(|| MemberYear::new(None));
            row.add(day.month(), false, p.amount);
            continue;
        };
        let on_invoice: Vec<Payment> = by_invoice.get(p.invoice.as_str()).into_iter().flatten().map(|p| (*p).clone()).collect();
        for (line, paid) in invoice.lines().iter().zip(covered(invoice, &on_invoice, p)) {
            if !paid.is_zero() {
                let row = members.entry(line.member.clone()).or_insert_with(|| MemberYear::new(line.member.clone()));
                row.add(day.month(), is_membership_fee(line), paid);
            }
        }
    }
    for row in members.values() {
        summary.membership = summary.membership + row.membership;
        summary.other = summary.other + row.other;
    }
    summary.members = members.into_values().collect();
    summary.payments = receipts.len();
    summary
}

/// The first year the HSA limit for direct-primary-care arrangements applies (US law).
pub const HSA_DPC_FROM_YEAR: i32 = 2026;

impl MemberYear {
    fn new(member: Option<MemberId>) -> MemberYear {
        MemberYear { member, months: BTreeMap::new(), membership: Money::ZERO, other: Money::ZERO }
    }

    fn add(&mut self, month: u32, membership_fee: bool, amount: Money) {
        let cell = self.months.entry(month).or_default();
        if membership_fee {
            cell.membership = cell.membership + amount;
            self.membership = self.membership + amount;
        } else {
            cell.other = cell.other + amount;
            self.other = self.other + amount;
        }
    }
}

/// Whether a membership's fee is within the HSA limit for direct-primary-care arrangements.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HsaCheck {
    /// The fee a month (an annual plan's fee divided by 12, rounded up to the cent).
    pub monthly_fee: Money,
    /// How many people the membership covers on the day checked.
    pub people: usize,
    pub limit: Money,
    pub within: bool,
}

/// The HSA check of `membership` on `on`: $150 a month for one person, $300 for more than one.
pub fn hsa_check(membership: &Membership, on: NaiveDate) -> HsaCheck {
    let fee = membership.amount_on(on);
    let people = membership.enrollments.iter().filter(|e| e.start <= on && e.end.is_none_or(|end| end >= on)).count().max(1);
    let limit = if people > 1 { HSA_DPC_LIMIT_FAMILY } else { HSA_DPC_LIMIT_ONE };
    let (monthly_fee, within) = match membership.plan.period() {
        BillingPeriod::Monthly => (fee, fee <= limit),
        BillingPeriod::Annual => (Money::from_cents((fee.cents() + 11) / 12), fee.cents() <= limit.cents() * 12),
    };
    HsaCheck { monthly_fee, people, limit, within }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, InvoiceData, SourceDetails};
    use proptest::prelude::*;

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 3, d).unwrap()
    }

    fn line(member: &str, amount: &str, fee: bool) -> LineItem {
        LineItem {
            member: Some(MemberId::parse(member).unwrap()),
            description: format!("{member} {amount}"),
            period_start: fee.then(|| day(1)),
            period_end: fee.then(|| day(31)),
            amount: m(amount),
        }
    }

    fn invoice(id: &str, lines: Vec<LineItem>) -> Invoice {
        Invoice::new(InvoiceData {
            id: id.to_owned().try_into().unwrap(),
            account: AccountId::parse("a1").unwrap(),
            number: format!("N-{id}"),
            issued: day(1),
            due: day(15),
            lines,
            paid: Money::ZERO,
            pending: Money::ZERO,
            void: false,
        })
        .unwrap()
    }

    fn payment(id: &str, invoice: &str, amount: &str, at_day: u32) -> Payment {
        Payment {
            id: id.to_owned().try_into().unwrap(),
            account: AccountId::parse("a1").unwrap(),
            invoice: invoice.to_owned().try_into().unwrap(),
            amount: m(amount),
            source: SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 8, exp_year: 2030 },
            status: PaymentStatus::Succeeded,
            gateway_reference: None,
            idempotency_key: id.to_owned(),
            at: day(at_day).and_hms_opt(15, 0, 0).unwrap().and_utc(),
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

    #[test]
    fn payments_cover_lines_in_order_each_after_the_ones_before() {
        let inv = invoice("i1", vec![line("maria", "80", true), line("sofia", "30", true), line("maria", "45", false)]);
        let first = payment("p1", "i1", "100", 2);
        let second = payment("p2", "i1", "55", 9);
        let all = [second.clone(), first.clone()];
        assert_eq!(covered(&inv, &all, &first), [m("80"), m("20"), m("0")]);
        assert_eq!(covered(&inv, &all, &second), [m("0"), m("10"), m("45")]);
        // A payment that did not go through covers nothing before the next one.
        let mut declined = payment("p0", "i1", "80", 1);
        declined.status = PaymentStatus::Declined("no".into());
        assert_eq!(covered(&inv, &[declined, first.clone()], &first), [m("80"), m("20"), m("0")]);
    }

    #[test]
    fn a_receipt_lists_each_line_a_payment_covered_with_what_it_paid() {
        let inv = invoice("i1", vec![line("maria", "80", true), line("sofia", "30", true)]);
        let part = payment("p1", "i1", "90", 2);
        let r = receipt(std::slice::from_ref(&part), &[inv], std::slice::from_ref(&part), day(2)).unwrap();
        assert_eq!(r.total, m("90"));
        assert_eq!(r.method, "Visa ending 4242");
        assert_eq!(
            r.lines.iter().map(|l| (l.description.as_str(), l.paid)).collect::<Vec<_>>(),
            [("maria 80", m("80")), ("sofia 30", m("10"))]
        );
        let mut pending = part.clone();
        pending.status = PaymentStatus::Pending;
        assert!(receipt(&[pending], &[], &[], day(2)).is_none(), "only a payment that went through has a receipt");
    }

    #[test]
    fn the_year_summary_splits_membership_fees_from_other_charges_by_member_and_month() {
        let invoices =
            [invoice("i1", vec![line("maria", "80", true), line("maria", "45", false)]), invoice("i2", vec![line("sofia", "30", true)])];
        let mut last_year = payment("p0", "i2", "5", 3);
        last_year.at = NaiveDate::from_ymd_opt(2025, 12, 31).unwrap().and_hms_opt(12, 0, 0).unwrap().and_utc();
        let payments = [payment("p1", "i1", "125", 2), last_year, payment("p2", "i2", "25", 20)];
        let s = year_summary(2026, &invoices, &payments, |at| at.date_naive());
        assert_eq!((s.payments, s.total, s.membership, s.other), (2, m("150"), m("105"), m("45")));
        let maria = &s.members[0];
        assert_eq!((maria.membership, maria.other), (m("80"), m("45")));
        assert_eq!(s.members[1].months[&3], MonthPaid { membership: m("25"), other: Money::ZERO });
        let cleared: Vec<Cleared> = payments.iter().filter_map(Cleared::of).collect();
        assert_eq!(years_paid(&cleared, |at| at.date_naive()), [2026, 2025]);
        // The list shows the year asked for if anything was paid in it, else the latest.
        assert_eq!(year_shown(&[2026, 2025], Some(2025)), Some(2025));
        assert_eq!(year_shown(&[2026, 2025], Some(2019)), Some(2026));
        assert_eq!(year_shown(&[2026, 2025], None), Some(2026));
        assert_eq!(year_shown(&[], Some(2026)), None);
    }

    #[test]
    fn the_hsa_limit_is_150_a_month_for_one_and_300_for_more() {
        use crate::{Enrollment, MembershipId, MembershipStatus};
        let plan = crate::plan::tests::standard();
        let enrol = |id: &str, rate: &str| Enrollment { member: MemberId::parse(id).unwrap(), start: day(1), end: None, rate: m(rate) };
        let mut ms = Membership {
            id: MembershipId::parse("ms").unwrap(),
            account: AccountId::parse("a1").unwrap(),
            plan,
            status: MembershipStatus::Active,
            enrollments: vec![enrol("maria", "150")],
            contract_start: day(1),
            contract_end: day(31),
            next_bill_date: None,
            renews: None,
            renewed_by: None,
            leaving: None,
            version: 1,
        };
        assert_eq!(hsa_check(&ms, day(2)), HsaCheck { monthly_fee: m("150"), people: 1, limit: m("150"), within: true });
        ms.enrollments[0].rate = m("150.01");
        assert!(!hsa_check(&ms, day(2)).within);
        ms.enrollments.push(enrol("sofia", "149.99"));
        assert_eq!(hsa_check(&ms, day(2)), HsaCheck { monthly_fee: m("300"), people: 2, limit: m("300"), within: true });
    }

    #[test]
    fn receipts_of_a_year_group_the_parts_of_one_payment_newest_first() {
        let mut a = payment("p1", "i1", "10", 2);
        let mut b = payment("p2", "i2", "20", 2);
        a.batch = Some(a.id.clone());
        b.batch = Some(a.id.clone());
        let later = payment("p3", "i1", "5", 9);
        let mut declined = payment("p4", "i1", "5", 10);
        declined.status = PaymentStatus::Declined("no".into());
        b.invoice_number = Some("N-2".into());
        b.invoice_issued = Some(day(1));
        a.invoice_issued = Some(day(1));
        let cleared: Vec<Cleared> = [b, later, a, declined].iter().filter_map(Cleared::of).collect();
        assert_eq!(cleared.len(), 3, "a payment that did not go through has no receipt");
        let list = receipts_in(2026, &cleared, |at| at.date_naive());
        assert_eq!(list.iter().map(|g| (g.id.as_str(), g.total())).collect::<Vec<_>>(), [("p3", m("5")), ("p1", m("30"))]);
        // The batch's first part first; an invoice without a kept number is named by its id.
        assert_eq!(list[1].invoices(), "i1, N-2");
        let keys = list[1].invoice_keys().unwrap();
        assert_eq!(keys.iter().map(|(i, d)| (i.as_str(), *d)).collect::<Vec<_>>(), [("i1", day(1)), ("i2", day(1))]);
        assert_eq!(list[0].invoice_keys(), None, "a part without its invoice's date links without");
        assert!(receipts_in(2025, &list[0].parts, |at| at.date_naive()).is_empty());
    }

    proptest! {
        /// Whatever the lines and however an invoice was paid in parts, the parts' covered lines
        /// add up to each part, and no line is paid more than its amount.
        #[test]
        fn covered_lines_add_up_to_each_payment(lines in prop::collection::vec(1i64..50_000, 1..6), cuts in prop::collection::vec(1i64..100, 1..5)) {
            let items: Vec<LineItem> = lines.iter().map(|c| LineItem { amount: Money::from_cents(*c), ..line("maria", "1", true) }).collect();
            let inv = invoice("i1", items);
            let total: i64 = lines.iter().sum();
            let weight: i64 = cuts.iter().sum();
            let mut parts = Vec::new();
            let mut left = total;
            for (n, w) in cuts.iter().enumerate() {
                let amount = if n + 1 == cuts.len() { left } else { (total * w / weight).min(left) };
                if amount > 0 {
                    parts.push(Payment { amount: Money::from_cents(amount), ..payment(&format!("p{n}"), "i1", "1", 1 + n as u32) });
                    left -= amount;
                }
            }
            let mut per_line = vec![0i64; lines.len()];
            for p in &parts {
                let c = covered(&inv, &parts, p);
                prop_assert_eq!(c.iter().map(|m| m.cents()).sum::<i64>(), p.amount.cents());
                for (i, m) in c.iter().enumerate() { per_line[i] += m.cents(); }
            }
            prop_assert_eq!(per_line, lines);
        }
    }
}
