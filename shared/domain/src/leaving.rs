//! Leaving: the owner cancels a membership or removes a member from it, with a reason.
//!
//! What leaving costs and when it takes effect come from the plan's terms ([`LeavingTerms`], set
//! by the practice in the import file); how a request is handled comes from the practice
//! ([`LeavingMode`]): `request` (the practice confirms; until then the owner may withdraw it) or
//! `immediate` (scheduled at once: the end date is set and nothing after it is billed).
//!
//! The rules, each in one place here: who can leave ([`quote`]'s refusals), the effective date
//! (the plan's notice from today, never past the contract's end), the early-termination fee
//! (cancelling during the contract term, when the plan sets one; removing a member while the
//! membership goes on has none), the refund of prepaid unearned fees (the part of the current
//! billing period after the effective date, when the plan refunds them), and what is no longer
//! billed.

use chrono::{DateTime, Days, Months, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::feed::{self, Change};
use crate::ports::Table;
use crate::{store, BillingPeriod, MemberId, Membership, MembershipStatus, Money, StoreError};

/// What the plan's contract says about leaving it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeavingTerms {
    /// Days of written notice before leaving takes effect.
    pub notice_days: u32,
    /// The fee for cancelling before the contract term ends, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub early_termination_fee: Option<Money>,
    /// Whether fees paid for days after leaving are refunded (as state direct-primary-care laws require).
    pub refund_unearned: bool,
}

impl Default for LeavingTerms {
    /// Without terms from the practice: 30 days' notice, no fee, unearned fees refunded.
    fn default() -> Self {
        LeavingTerms { notice_days: 30, early_termination_fee: None, refund_unearned: true }
    }
}

/// How the practice handles a request to leave.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeavingMode {
    /// The practice confirms it; until then the patient may withdraw it.
    #[default]
    Request,
    /// Scheduled at once.
    Immediate,
}

/// Why the patient leaves: a short list, and free text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    Moving,
    Cost,
    Insurance,
    NotUsing,
    Unhappy,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 6] = [Reason::Moving, Reason::Cost, Reason::Insurance, Reason::NotUsing, Reason::Unhappy, Reason::Other];

    pub fn label(self) -> &'static str {
        match self {
            Reason::Moving => "Moving away",
            Reason::Cost => "The cost",
            Reason::Insurance => "Changing insurance or employer plan",
            Reason::NotUsing => "Not using the membership enough",
            Reason::Unhappy => "Not satisfied with the care or service",
            Reason::Other => "Another reason",
        }
    }

    pub fn slug(self) -> &'static str {
        match self {
            Reason::Moving => "moving",
            Reason::Cost => "cost",
            Reason::Insurance => "insurance",
            Reason::NotUsing => "not_using",
            Reason::Unhappy => "unhappy",
            Reason::Other => "other",
        }
    }

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.slug() == text)
    }
}

/// Where a request stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeavingStatus {
    /// Waiting for the practice; the owner may withdraw it.
    Requested,
    /// The end date is set.
    Scheduled,
}

/// A request to cancel the membership (`member: None`) or remove one member from it, as the
/// owner saw it before confirming.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Leaving {
    pub member: Option<MemberId>,
    pub reason: Reason,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
    /// The last day covered.
    pub effective: NaiveDate,
    /// What is no longer billed each period after it.
    pub stops: Money,
    pub fee: Money,
    pub refund: Money,
    pub status: LeavingStatus,
    pub requested_at: DateTime<Utc>,
    pub requested_by: MemberId,
    /// The end the membership (or the member's enrolment) had when it was asked: a practice's
    /// file that changes it has carried the request out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_before: Option<NaiveDate>,
}

/// The longest note an owner may leave with a request, in characters.
pub const NOTE_LIMIT: usize = 500;

/// Why a note cannot be sent as it is, if it cannot.
pub fn note_error(note: &str) -> Option<String> {
    (note.chars().count() > NOTE_LIMIT).then(|| format!("Keep the note to {NOTE_LIMIT} characters."))
}

impl Leaving {
    /// The request as confirmed from `quote` (the note trimmed to [`NOTE_LIMIT`] characters).
    pub fn from_quote(quote: &Quote, reason: Reason, note: &str, status: LeavingStatus, by: &MemberId, at: DateTime<Utc>) -> Leaving {
        Leaving {
            end_before: quote.end_before,
            member: quote.member.clone(),
            reason,
            note: note.trim().chars().take(NOTE_LIMIT).collect(),
            effective: quote.effective,
            stops: quote.stops,
            fee: quote.fee,
            refund: quote.refund,
            status,
            requested_at: at,
            requested_by: by.clone(),
        }
    }

    /// Whether a membership as the practice's file has it carries this out (the practice acted
    /// on it in its own system): the membership ended, or the end it had when asked changed
    /// (to any date: the practice may end it later than asked), or the member is no longer on it.
    pub fn carried_out_in(&self, ms: &Membership) -> bool {
        match &self.member {
            None => ms.status == MembershipStatus::Ended || Some(ms.contract_end) != self.end_before,
            Some(id) => ms.enrollments.iter().find(|e| &e.member == id).is_none_or(|e| e.end != self.end_before),
        }
    }

    /// The activity log's name for this step, or for its withdrawal.
    pub fn action(&self, withdrawn: bool) -> &'static str {
        match (withdrawn, self.member.is_some(), self.status) {
            (true, true, _) => "member.removal_withdrawn",
            (true, false, _) => "membership.cancellation_withdrawn",
            (false, true, LeavingStatus::Requested) => "member.removal_requested",
            (false, true, LeavingStatus::Scheduled) => "member.removed",
            (false, false, LeavingStatus::Requested) => "membership.cancellation_requested",
            (false, false, LeavingStatus::Scheduled) => "membership.cancelled",
        }
    }

    /// Whether it still waits: a request the practice has not acted on, or a cancellation of the
    /// whole membership (which nothing follows). A member's scheduled removal is done.
    pub fn is_open(&self) -> bool {
        self.status == LeavingStatus::Requested || self.member.is_none()
    }
}

/// What leaving would mean, shown before the owner confirms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub member: Option<MemberId>,
    /// The last day covered.
    pub effective: NaiveDate,
    /// Whether it ends before the contract term does.
    pub within_term: bool,
    /// No longer billed each period after the effective date, and the amount that stays.
    pub stops: Money,
    pub remains: Money,
    pub fee: Money,
    pub refund: Money,
    pub terms: LeavingTerms,
    /// The end the membership or the member's enrolment has now.
    pub end_before: Option<NaiveDate>,
}

impl Quote {
    /// What the review showed, as its "Confirm" carries it: the same person, mode and figures
    /// must still hold when it is sent, or nothing is done.
    pub fn seen(&self, mode: LeavingMode) -> String {
        let who = self.member.as_ref().map_or("membership", |m| m.as_str());
        let mode = if mode == LeavingMode::Immediate { "immediate" } else { "request" };
        format!(
            "{who}|{mode}|{}|{}|{}|{}|{}",
            self.effective,
            self.stops.plain(),
            self.remains.plain(),
            self.fee.plain(),
            self.refund.plain()
        )
    }
}

/// Why leaving is not offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("This membership has ended, so there is nothing to cancel.")]
    NotActive,
    #[error("This membership term has not started yet. Please contact the practice to change it.")]
    NotStarted,
    #[error("This membership has already been renewed. Please contact the practice to cancel it or to remove a member.")]
    Renewed,
    #[error("A request to leave this membership is already waiting. Withdraw it first to make another.")]
    Pending,
    #[error("That person is not on this membership.")]
    NotEnrolled,
    #[error("That person's membership already has an end date.")]
    AlreadyEnding,
    #[error("They are the only member left: removing them would end the membership, so cancel the membership instead.")]
    LastMember,
}

impl Refusal {
    /// Whether it is about the one member chosen (the form asks again) rather than the membership.
    pub fn is_about_member(self) -> bool {
        matches!(self, Refusal::NotEnrolled | Refusal::AlreadyEnding | Refusal::LastMember)
    }
}

fn period_months(ms: &Membership) -> u32 {
    match ms.plan.period() {
        BillingPeriod::Monthly => 1,
        BillingPeriod::Annual => 12,
    }
}

/// The members the owner may remove from `ms` on `today`: each one [`quote`] accepts (none when
/// removing them would leave no one covered: that is cancelling).
pub fn removable(ms: &Membership, today: NaiveDate) -> Vec<&MemberId> {
    let mut members: Vec<&MemberId> = Vec::new();
    for e in &ms.enrollments {
        if !members.contains(&&e.member) && quote(ms, Some(&e.member), today).is_ok() {
            members.push(&e.member);
        }
    }
    members
}

/// What cancelling `ms` (`who: None`) or removing `who` from it would mean, asked on `today`.
pub fn quote(ms: &Membership, who: Option<&MemberId>, today: NaiveDate) -> Result<Quote, Refusal> {
    if ms.status != MembershipStatus::Active || ms.contract_end < today {
        return Err(Refusal::NotActive);
    }
    if ms.contract_start > today {
        return Err(Refusal::NotStarted);
    }
    if ms.renewed_by.is_some() {
        return Err(Refusal::Renewed);
    }
    if ms.leaving.as_ref().is_some_and(Leaving::is_open) {
        return Err(Refusal::Pending);
    }
    let terms = ms.plan.leaving().clone();
    let notice_end = today + Days::new(u64::from(terms.notice_days));
    let effective = notice_end.min(ms.contract_end);
    let end_before = match who {
        Some(id) => {
            let enrolment = ms.enrollments.iter().find(|e| &e.member == id).ok_or(Refusal::NotEnrolled)?;
            if enrolment.end.is_some() {
                return Err(Refusal::AlreadyEnding);
            }
            // Someone must still be covered after they leave: else it is cancelling.
            if !ms.enrollments.iter().any(|e| &e.member != id && e.end.is_none_or(|end| end > effective)) {
                return Err(Refusal::LastMember);
            }
            None
        }
        None => Some(ms.contract_end),
    };
    let within_term = effective < ms.contract_end;
    let billed_after = effective + Days::new(1);
    let rate_of = |id: &MemberId| ms.enrollments.iter().filter(|e| &e.member == id).map(|e| e.rate).sum::<Money>();
    let stops = match who {
        Some(id) => rate_of(id),
        None => ms.amount_on(billed_after.max(ms.contract_start)),
    };
    let remains = match who {
        Some(_) => ms.amount_on(billed_after).saturating_sub(stops),
        None => Money::ZERO,
    };
    let fee = match (who, within_term) {
        (None, true) => terms.early_termination_fee.unwrap_or(Money::ZERO),
        _ => Money::ZERO,
    };
    let refund = if terms.refund_unearned { unearned(ms, stops, effective) } else { Money::ZERO };
    Ok(Quote { member: who.cloned(), effective, within_term, stops, remains, fee, refund, terms, end_before })
}

/// The part of the billing period holding `effective` that comes after it, at `rate` a period:
/// what is paid in advance (each period is billed at its start) for days no longer covered.
/// Periods run from the contract's start, a month or a year each, every boundary counted from
/// the start itself (so a term starting on the 31st keeps its days). Rounded down to the cent.
fn unearned(ms: &Membership, rate: Money, effective: NaiveDate) -> Money {
    let step = period_months(ms);
    let boundary = |k: u32| ms.contract_start.checked_add_months(Months::new(k * step));
    let mut k = 0;
    while boundary(k + 1).is_some_and(|next| next <= effective) {
        k += 1;
    }
    let (Some(start), Some(end)) = (boundary(k), boundary(k + 1)) else { return Money::ZERO };
    if effective < start || effective >= end {
        return Money::ZERO;
    }
    let period_days = (end - start).num_days();
    let unused_days = (end - effective).num_days() - 1;
    Money::from_cents(rate.cents() * unused_days / period_days.max(1))
}

/// What confirming did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded; the membership as it now is.
    Done(Box<Membership>),
    /// The membership changed since the quote (or another request came first): nothing was changed.
    Changed,
}

/// The membership once `leaving` is carried out: the member's coverage or the contract ends on
/// the effective date, and no bill after it.
pub fn carried_out(ms: &Membership, leaving: &Leaving) -> Membership {
    let mut next = ms.clone();
    match &leaving.member {
        Some(id) => {
            for e in next.enrollments.iter_mut().filter(|e| &e.member == id) {
                e.end = Some(leaving.effective);
            }
        }
        None => {
            next.contract_end = leaving.effective;
            next.next_bill_date = next.next_bill_date.filter(|d| *d <= leaving.effective);
            for e in next.enrollments.iter_mut() {
                e.end = Some(e.end.map_or(leaving.effective, |end| end.min(leaving.effective)));
            }
        }
    }
    next
}

/// Records the owner's confirmed request, as the practice's mode says: requested, or scheduled
/// at once. One transaction writes the membership (conditioned on the version quoted) and tells
/// the practice.
#[allow(clippy::too_many_arguments)]
pub async fn leave(
    table: &dyn Table,
    ms: &Membership,
    quote: &Quote,
    reason: Reason,
    note: &str,
    mode: LeavingMode,
    by: &MemberId,
    at: DateTime<Utc>,
) -> Result<Outcome, StoreError> {
    let status = match mode {
        LeavingMode::Request => LeavingStatus::Requested,
        LeavingMode::Immediate => LeavingStatus::Scheduled,
    };
    let leaving = Leaving::from_quote(quote, reason, note, status, by, at);
    // A member's removal already carried out stays on their enrolment; the new request replaces it.
    let mut next = match status {
        LeavingStatus::Requested => ms.clone(),
        LeavingStatus::Scheduled => carried_out(ms, &leaving),
    };
    next.leaving = Some(leaving);
    next.version = ms.version + 1;
    let mut writes = vec![store::replace_record(&store::membership_key(ms), "membership", &next, ms.version)?];
    writes.extend(feed::writes(&[Change::Leaving { membership: &next, withdrawn: false }], at)?);
    match table.transact(writes).await {
        Ok(()) => Ok(Outcome::Done(Box::new(next))),
        Err(StoreError::ConditionFailed) => Ok(Outcome::Changed),
        Err(e) => Err(e),
    }
}

/// Withdraws a request the practice has not acted on; a scheduled one stays (the practice undoes it).
pub async fn withdraw(table: &dyn Table, ms: &Membership, at: DateTime<Utc>) -> Result<Outcome, StoreError> {
    if !ms.leaving.as_ref().is_some_and(|l| l.status == LeavingStatus::Requested) {
        return Ok(Outcome::Changed);
    }
    let next = Membership { leaving: None, version: ms.version + 1, ..ms.clone() };
    let mut writes = vec![store::replace_record(&store::membership_key(ms), "membership", &next, ms.version)?];
    writes.extend(feed::writes(&[Change::Leaving { membership: ms, withdrawn: true }], at)?);
    match table.transact(writes).await {
        Ok(()) => Ok(Outcome::Done(Box::new(next))),
        Err(StoreError::ConditionFailed) => Ok(Outcome::Changed),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, Enrollment, MembershipId, Plan, PlanData};

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn m(s: &str) -> Money {
        Money::parse(s).unwrap()
    }

    fn id(s: &str) -> MemberId {
        MemberId::parse(s).unwrap()
    }

    fn membership(terms: LeavingTerms) -> Membership {
        let mut plan: PlanData = crate::plan::tests::standard().into();
        plan.leaving = terms;
        let enrol = |who: &str, rate: &str| Enrollment { member: id(who), start: d("2026-01-01"), end: None, rate: m(rate) };
        Membership {
            id: MembershipId::parse("ms1").unwrap(),
            account: AccountId::parse("a1").unwrap(),
            plan: Plan::new(plan).unwrap(),
            status: MembershipStatus::Active,
            enrollments: vec![enrol("maria", "80"), enrol("sofia", "30")],
            contract_start: d("2026-01-01"),
            contract_end: d("2026-12-31"),
            next_bill_date: Some(d("2026-12-01")),
            renews: None,
            renewed_by: None,
            leaving: None,
            version: 3,
        }
    }

    fn terms(notice_days: u32, fee: Option<&str>, refund_unearned: bool) -> LeavingTerms {
        LeavingTerms { notice_days, early_termination_fee: fee.map(m), refund_unearned }
    }

    #[test]
    fn removing_a_member_takes_effect_after_the_notice_with_no_fee_and_stops_their_rate() {
        let ms = membership(terms(10, Some("100"), true));
        let q = quote(&ms, Some(&id("sofia")), d("2026-11-10")).unwrap();
        assert_eq!((q.effective, q.within_term), (d("2026-11-20"), true));
        assert_eq!((q.stops, q.remains, q.fee), (m("30"), m("80"), Money::ZERO), "no fee for removing a member");
        // Billed Nov 1 for November: Nov 21 to 30 (10 of 30 days) were paid in advance.
        assert_eq!(q.refund, m("10"));
    }

    #[test]
    fn cancelling_during_the_term_costs_the_plans_fee_and_at_its_end_nothing() {
        let ms = membership(terms(30, Some("100"), false));
        let q = quote(&ms, None, d("2026-11-10")).unwrap();
        assert_eq!((q.effective, q.fee, q.stops, q.refund), (d("2026-12-10"), m("100"), m("110"), Money::ZERO));
        let refunded = quote(&membership(terms(30, None, true)), None, d("2026-11-10")).unwrap();
        // Leaving on Dec 10: the December bill (Dec 1) paid for Dec 11 to 31, 21 of 31 days of $110.
        assert_eq!(refunded.refund, Money::from_cents(11000 * 21 / 31));
        let late = quote(&ms, None, d("2026-12-15")).unwrap();
        assert_eq!(
            (late.effective, late.within_term, late.fee),
            (d("2026-12-31"), false, Money::ZERO),
            "the notice stops at the contract's end"
        );
    }

    #[test]
    fn what_cannot_be_left_is_refused_with_its_reason() {
        let ms = membership(LeavingTerms::default());
        let today = d("2026-11-10");
        assert_eq!(quote(&ms, Some(&id("nobody")), today), Err(Refusal::NotEnrolled));
        let mut alone = ms.clone();
        alone.enrollments.truncate(1);
        assert_eq!(
            quote(&alone, Some(&id("maria")), today),
            Err(Refusal::LastMember),
            "the last member is not removed: that is cancelling"
        );
        let mut ended = ms.clone();
        ended.status = MembershipStatus::Ended;
        assert_eq!(quote(&ended, None, today), Err(Refusal::NotActive));
        assert_eq!(quote(&ms, None, d("2027-01-01")), Err(Refusal::NotActive));
        let mut renewed = ms.clone();
        renewed.renewed_by = Some(MembershipId::parse("ms2").unwrap());
        assert_eq!(quote(&renewed, None, today), Err(Refusal::Renewed));
        let q = quote(&ms, Some(&id("sofia")), today).unwrap();
        let leaving = Leaving::from_quote(&q, Reason::Moving, "", LeavingStatus::Scheduled, &id("maria"), Utc::now());
        let requested = Membership { leaving: Some(Leaving { status: LeavingStatus::Requested, ..leaving.clone() }), ..ms.clone() };
        assert_eq!(quote(&requested, None, today), Err(Refusal::Pending));
        let done = Membership { leaving: Some(leaving.clone()), ..carried_out(&ms, &leaving) };
        let cleared = Membership { leaving: None, ..done.clone() };
        assert_eq!(quote(&cleared, Some(&id("sofia")), today), Err(Refusal::AlreadyEnding));
    }

    #[test]
    fn carried_out_ends_the_coverage_and_nothing_after_it_is_billed() {
        let ms = membership(terms(10, None, true));
        let q = quote(&ms, Some(&id("sofia")), d("2026-11-10")).unwrap();
        let leaving = Leaving::from_quote(&q, Reason::Cost, "", LeavingStatus::Scheduled, &id("maria"), Utc::now());
        let after = carried_out(&ms, &leaving);
        assert_eq!(after.amount_on(d("2026-12-01")), m("80"), "the next bill is without her rate");
        assert_eq!(after.amount_on(d("2026-11-15")), m("110"), "covered until the effective date");
        assert!(leaving.carried_out_in(&after));
        assert!(!leaving.carried_out_in(&ms));
        let whole = Leaving { member: None, effective: d("2026-11-20"), ..leaving };
        let cancelled = carried_out(&ms, &whole);
        assert_eq!((cancelled.contract_end, cancelled.next_bill_date), (d("2026-11-20"), None));
        assert_eq!(cancelled.amount_on(d("2026-12-01")), Money::ZERO);
    }

    #[test]
    fn the_refund_counts_periods_from_the_contract_start_even_in_the_last_period() {
        // A term from Jan 31: the periods start Jan 31, Feb 28, Mar 31, … (each from the start).
        let mut ms = membership(terms(0, None, true));
        ms.contract_start = d("2026-01-31");
        ms.contract_end = d("2027-01-30");
        ms.next_bill_date = None;
        let q = quote(&ms, None, d("2026-03-29")).unwrap();
        // Mar 29 is in the period Feb 28 – Mar 30 (31 days): Mar 30 alone was paid and not used.
        assert_eq!(q.refund, Money::from_cents(11000 / 31));
        let last = quote(&ms, Some(&id("sofia")), d("2027-01-10")).unwrap();
        assert!(!last.refund.is_zero(), "the last period refunds too, with no next bill date");
    }

    #[test]
    fn an_upcoming_term_and_a_membership_left_with_no_one_are_refused() {
        let mut ms = membership(LeavingTerms::default());
        assert_eq!(quote(&ms, None, d("2025-12-31")), Err(Refusal::NotStarted));
        ms.enrollments[1].end = Some(d("2026-11-20"));
        assert_eq!(quote(&ms, Some(&id("maria")), d("2026-11-10")), Err(Refusal::LastMember), "Sofia is leaving already");
    }

    #[test]
    fn a_practice_that_changes_the_end_carries_the_request_out_whatever_the_date() {
        let ms = membership(terms(30, None, true));
        let q = quote(&ms, Some(&id("sofia")), d("2026-11-10")).unwrap();
        let l = Leaving::from_quote(&q, Reason::Moving, "", LeavingStatus::Requested, &id("maria"), Utc::now());
        assert!(!l.carried_out_in(&ms), "the file as it was");
        let mut later = ms.clone();
        later.enrollments[1].end = Some(d("2026-12-31"));
        assert!(l.carried_out_in(&later), "ended later than asked is still the practice acting on it");
        let whole = quote(&ms, None, d("2026-12-15")).unwrap();
        let w = Leaving::from_quote(&whole, Reason::Cost, "", LeavingStatus::Requested, &id("maria"), Utc::now());
        assert_eq!(whole.effective, ms.contract_end);
        assert!(!w.carried_out_in(&Membership { next_bill_date: None, ..ms.clone() }), "another change is not carrying it out");
        assert!(w.carried_out_in(&Membership { status: MembershipStatus::Ended, ..ms.clone() }));
    }

    #[test]
    fn a_members_scheduled_removal_does_not_block_the_next_request_and_is_not_renewed() {
        let ms = membership(LeavingTerms::default());
        let q = quote(&ms, Some(&id("sofia")), d("2026-11-10")).unwrap();
        let l = Leaving::from_quote(&q, Reason::Moving, "", LeavingStatus::Scheduled, &id("maria"), Utc::now());
        let done = Membership {
            leaving: Some(l),
            ..carried_out(&ms, &Leaving::from_quote(&q, Reason::Moving, "", LeavingStatus::Scheduled, &id("maria"), Utc::now()))
        };
        assert!(quote(&done, None, d("2026-11-10")).is_ok(), "the owner may still cancel");
        assert!(done.is_leaving(&id("sofia")));
        let requested =
            Membership { leaving: Some(Leaving { status: LeavingStatus::Requested, ..done.leaving.clone().unwrap() }), ..ms.clone() };
        let carried: Vec<_> =
            requested.enrollments.iter().filter(|e| !requested.is_leaving(&e.member)).map(|e| e.member.as_str()).collect();
        assert_eq!(carried, ["maria"], "a member being removed is not carried into a renewal");
    }

    #[test]
    fn whoever_quote_accepts_may_be_removed_and_the_last_one_covered_may_not() {
        let ms = membership(terms(30, None, true));
        let today = d("2026-06-01");
        assert_eq!(removable(&ms, today), [&id("maria"), &id("sofia")]);
        // Sofia's coverage ends within the notice: Maria would be left alone, so only cancelling is offered.
        let mut ending = ms.clone();
        ending.enrollments[1].end = Some(d("2026-06-10"));
        assert!(removable(&ending, today).is_empty(), "{:?}", removable(&ending, today));
        let mut renewed = ms.clone();
        renewed.renewed_by = Some(MembershipId::parse("ms2").unwrap());
        assert!(removable(&renewed, today).is_empty());
    }

    #[test]
    fn what_the_review_showed_names_the_person_the_mode_and_every_figure() {
        let ms = membership(terms(30, Some("100"), true));
        let today = d("2026-06-01");
        let everyone = quote(&ms, None, today).unwrap();
        let sofia = quote(&ms, Some(&id("sofia")), today).unwrap();
        assert_ne!(everyone.seen(LeavingMode::Request), sofia.seen(LeavingMode::Request));
        assert_ne!(sofia.seen(LeavingMode::Request), sofia.seen(LeavingMode::Immediate));
        let mut later = sofia.clone();
        later.refund = later.refund + m("1");
        assert_ne!(later.seen(LeavingMode::Request), sofia.seen(LeavingMode::Request), "a changed figure is seen");
        assert_eq!(note_error(&"a".repeat(NOTE_LIMIT)), None);
        assert!(note_error(&"a".repeat(NOTE_LIMIT + 1)).is_some());
        let l = Leaving::from_quote(&sofia, Reason::Other, &"b".repeat(NOTE_LIMIT + 9), LeavingStatus::Requested, &id("maria"), Utc::now());
        assert_eq!(
            (l.note.chars().count(), l.action(false), l.action(true)),
            (NOTE_LIMIT, "member.removal_requested", "member.removal_withdrawn")
        );
    }

    #[test]
    fn reasons_read_back_from_their_slugs() {
        for r in Reason::ALL {
            assert_eq!(Reason::parse(r.slug()), Some(r));
        }
        assert_eq!(Reason::parse("bogus"), None);
    }
}
