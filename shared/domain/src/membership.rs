//! Memberships: one contract term of a plan for a household.

use chrono::{Days, Months, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::{AccountId, MemberId, MembershipId, Money, Plan};

/// How many days before the contract ends renewal is offered.
pub const RENEWAL_WINDOW_DAYS: u64 = 90;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MembershipStatus {
    Active,
    Ended,
}

/// A member's place on a membership, with the dates they are covered and their rate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Enrollment {
    pub member: MemberId,
    pub start: NaiveDate,
    pub end: Option<NaiveDate>,
    pub rate: Money,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    pub id: MembershipId,
    pub account: AccountId,
    /// The plan as it was when this term was priced.
    pub plan: Plan,
    pub status: MembershipStatus,
    pub enrollments: Vec<Enrollment>,
    pub contract_start: NaiveDate,
    pub contract_end: NaiveDate,
    pub next_bill_date: Option<NaiveDate>,
    pub renews: Option<MembershipId>,
    pub renewed_by: Option<MembershipId>,
    /// The owner's request to cancel it or remove a member, once confirmed (`domain::leaving`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaving: Option<crate::leaving::Leaving>,
    #[serde(default)]
    pub version: u64,
}

impl Membership {
    /// The amount billed each period: the sum of the rates of the members enrolled on `on`.
    pub fn amount_on(&self, on: NaiveDate) -> Money {
        self.enrollments
            .iter()
            .filter(|e| e.start <= on.max(self.contract_start) && e.end.is_none_or(|end| end >= on))
            .map(|e| e.rate)
            .sum()
    }

    /// The amount per period now: at the next bill date, or at the contract start for a past term.
    pub fn amount(&self) -> Money {
        self.amount_on(self.next_bill_date.unwrap_or(self.contract_start))
    }

    /// Renewable exactly when active, ending within the next 90 days, and not renewed already.
    pub fn is_renewable(&self, today: NaiveDate) -> bool {
        self.status == MembershipStatus::Active
            && self.renewed_by.is_none()
            && !self.is_being_cancelled()
            && self.contract_end >= today
            && self.contract_end <= today + Days::new(RENEWAL_WINDOW_DAYS)
    }

    /// Whether new members can join it today: an active term, not ended, with a bill date to
    /// start them on. The one rule the memberships page, the add-member pages and the quote ask.
    pub fn accepts_new_members(&self, today: NaiveDate) -> bool {
        self.status == MembershipStatus::Active && self.next_bill_date.is_some() && self.contract_end >= today && !self.is_being_cancelled()
    }

    /// Whether the owner asked to remove `member` (requested or scheduled): they are not carried
    /// into a renewed term.
    pub fn is_leaving(&self, member: &crate::MemberId) -> bool {
        self.leaving.as_ref().is_some_and(|l| l.member.as_ref() == Some(member))
    }

    /// Whether the owner asked to cancel the whole membership (requested or scheduled): it is
    /// then neither renewed nor joined.
    pub fn is_being_cancelled(&self) -> bool {
        self.leaving.as_ref().is_some_and(|l| l.member.is_none())
    }

    /// The first day renewal is offered.
    pub fn renewal_opens(&self) -> NaiveDate {
        self.contract_end - Days::new(RENEWAL_WINDOW_DAYS)
    }

    /// The first and last day of the term that would follow this one.
    pub fn next_term(&self) -> (NaiveDate, NaiveDate) {
        let start = self.contract_end + Days::new(1);
        let end = start + Months::new(self.plan.contract_months()) - Days::new(1);
        (start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::standard;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn membership(end: &str) -> Membership {
        let m = |s: &str| Money::parse(s).unwrap();
        Membership {
            id: MembershipId::parse("ms1").unwrap(),
            account: AccountId::parse("a1").unwrap(),
            plan: standard(),
            status: MembershipStatus::Active,
            enrollments: vec![
                Enrollment { member: MemberId::parse("m1").unwrap(), start: d("2026-01-01"), end: None, rate: m("80") },
                Enrollment { member: MemberId::parse("m2").unwrap(), start: d("2026-12-01"), end: None, rate: m("30") },
            ],
            contract_start: d("2026-01-01"),
            contract_end: d(end),
            next_bill_date: Some(d("2026-12-01")),
            renews: None,
            renewed_by: None,
            leaving: None,
            version: 1,
        }
    }

    #[test]
    fn renewable_only_in_the_last_90_days() {
        let today = d("2026-11-26");
        assert!(membership("2027-02-24").is_renewable(today)); // 90 days
        assert!(!membership("2027-02-25").is_renewable(today)); // 91 days
        assert!(membership("2026-11-26").is_renewable(today));
        assert!(!membership("2026-11-25").is_renewable(today));
        let mut renewed = membership("2027-01-01");
        renewed.renewed_by = Some(MembershipId::parse("ms2").unwrap());
        assert!(!renewed.is_renewable(today));
        let mut ended = membership("2027-01-01");
        ended.status = MembershipStatus::Ended;
        assert!(!ended.is_renewable(today));
    }

    #[test]
    fn amount_counts_members_enrolled_on_the_date() {
        let ms = membership("2026-12-31");
        assert_eq!(ms.amount_on(d("2026-11-01")).to_string(), "$80.00");
        assert_eq!(ms.amount().to_string(), "$110.00");
    }

    #[test]
    fn next_term_follows_the_current_one() {
        assert_eq!(membership("2026-12-31").next_term(), (d("2027-01-01"), d("2027-12-31")));
    }
}
