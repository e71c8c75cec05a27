//! Renewing a membership and adding a dependent: pricing by age, and the writes that make them
//! happen once.

use chrono::{DateTime, NaiveDate, Utc};

use crate::feed::{self, Change};
use crate::ports::{Condition, Table, Write};
use crate::store::{self, record_item};
use subtle::ConstantTimeEq;

use crate::signin::HmacKey;
use crate::{
    DateOfBirth, Email, Enrollment, Member, MemberId, Membership, MembershipId, MembershipStatus, Money, PhoneNumber, Phones, Relationship,
    Sex, StoreError, UsAddress,
};

/// Each member's rate on `on`, by their age that day, and the total per period.
pub fn price<'a>(ms: &Membership, members: impl IntoIterator<Item = &'a Member>, on: NaiveDate) -> (Vec<(&'a Member, Money)>, Money) {
    let rates: Vec<(&Member, Money)> = members.into_iter().map(|m| (m, ms.plan.rate_for(m.date_of_birth, on))).collect();
    let total = rates.iter().map(|(_, r)| *r).sum();
    (rates, total)
}

/// The members enrolled on the last day of a term, who carry over into the next one.
pub fn carried_over<'a>(ms: &Membership, members: &'a [Member]) -> Vec<&'a Member> {
    ms.enrollments
        .iter()
        // Whoever covers the whole term goes on, unless the owner asked to remove them.
        .filter(|e| e.end.is_none_or(|end| end > ms.contract_end) && !ms.is_leaving(&e.member))
        .filter_map(|e| members.iter().find(|m| m.id == e.member))
        .collect()
}

/// The next term of `ms`, priced by each member's age at its start.
pub fn next_term(ms: &Membership, members: &[Member], id: MembershipId) -> Membership {
    let (start, end) = ms.next_term();
    let enrollments = carried_over(ms, members)
        .into_iter()
        .map(|m| Enrollment { member: m.id.clone(), start, end: None, rate: ms.plan.rate_for(m.date_of_birth, start) })
        .collect();
    Membership {
        id,
        account: ms.account.clone(),
        plan: ms.plan.clone(),
        status: MembershipStatus::Active,
        enrollments,
        contract_start: start,
        contract_end: end,
        next_bill_date: Some(start),
        renews: Some(ms.id.clone()),
        renewed_by: None,
        leaving: None,
        version: 1,
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum RenewOutcome {
    Renewed(Box<Membership>),
    /// Not renewable today (outside the window, ended, or renewed already).
    NotRenewable,
}

/// Renews `ms` once: the new term is written together with the old term's `renewed_by`, on
/// condition the old term is unchanged since it was read, so a second submit cannot renew twice.
pub async fn renew(
    table: &dyn Table,
    ms: &Membership,
    members: &[Member],
    today: NaiveDate,
    id: MembershipId,
    at: DateTime<Utc>,
) -> Result<RenewOutcome, StoreError> {
    if !ms.is_renewable(today) {
        return Ok(RenewOutcome::NotRenewable);
    }
    let next = next_term(ms, members, id);
    let renewed = Membership { renewed_by: Some(next.id.clone()), ..ms.clone() };
    let mut writes =
        vec![store::put_membership(&next)?, store::replace_record(&store::membership_key(ms), "membership", &renewed, ms.version)?];
    writes.extend(feed::writes(&[Change::MembershipRenewed { next: &next, previous: &renewed }], at)?);
    match table.transact(writes).await {
        Ok(()) => Ok(RenewOutcome::Renewed(Box::new(next))),
        Err(StoreError::ConditionFailed) => Ok(RenewOutcome::NotRenewable),
        Err(e) => Err(e),
    }
}

/// A dependent as entered, every field parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDependent {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: DateOfBirth,
    pub sex: Sex,
    pub relationship: Relationship,
    pub email: Option<Email>,
    pub mobile: Option<PhoneNumber>,
}

/// The fields of the dependent form, by name, and what is wrong with each.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DependentErrors {
    pub first_name: Option<Box<str>>,
    pub last_name: Option<Box<str>>,
    pub date_of_birth: Option<Box<str>>,
    pub sex: Option<Box<str>>,
    pub relationship: Option<Box<str>>,
    pub email: Option<Box<str>>,
    pub phone_mobile: Option<Box<str>>,
}

impl DependentErrors {
    pub fn is_empty(&self) -> bool {
        *self == DependentErrors::default()
    }
}

/// The raw fields of the dependent form.
#[derive(Debug, Default, Clone, Copy)]
pub struct DependentInput<'a> {
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub date_of_birth: &'a str,
    pub sex: &'a str,
    pub relationship: &'a str,
    pub email: &'a str,
    pub phone_mobile: &'a str,
}

fn name(input: &str, what: &str) -> Result<String, String> {
    let value = input.split_whitespace().collect::<Vec<_>>().join(" ");
    if value.is_empty() {
        return Err(format!("Enter the {what}."));
    }
    if value.chars().count() > 60 || value.chars().any(|c| c.is_control() || "<>{}[]\\/@#$%^*=_|~`".contains(c) || c.is_ascii_digit()) {
        return Err(format!("Enter the {what} using letters, spaces, hyphens and apostrophes."));
    }
    Ok(value)
}

impl NewDependent {
    /// Parses every field, reporting each one that is wrong.
    pub fn parse(input: DependentInput<'_>, today: NaiveDate) -> Result<NewDependent, DependentErrors> {
        let mut errors = DependentErrors::default();
        let first_name = name(input.first_name, "first name").map_err(|e| errors.first_name = Some(e.into())).ok();
        let last_name = name(input.last_name, "last name").map_err(|e| errors.last_name = Some(e.into())).ok();
        let date_of_birth =
            DateOfBirth::parse(input.date_of_birth, today).map_err(|e| errors.date_of_birth = Some(e.to_string().into())).ok();
        let sex = match input.sex {
            "female" => Some(Sex::Female),
            "male" => Some(Sex::Male),
            "other" => Some(Sex::Other),
            "unknown" => Some(Sex::Unknown),
            _ => {
                errors.sex = Some("Choose the sex recorded for care.".into());
                None
            }
        };
        let relationship = match input.relationship {
            "spouse" => Some(Relationship::Spouse),
            "child" => Some(Relationship::Child),
            "other" => Some(Relationship::Other),
            _ => {
                errors.relationship = Some("Choose how they are related to you.".into());
                None
            }
        };
        let email = match input.email.trim() {
            "" => None,
            text => Email::parse(text).map_err(|e| errors.email = Some(e.to_string().into())).ok(),
        };
        let mobile = match input.phone_mobile.trim() {
            "" => None,
            text => PhoneNumber::parse(text).map_err(|e| errors.phone_mobile = Some(e.to_string().into())).ok(),
        };
        match (first_name, last_name, date_of_birth, sex, relationship) {
            (Some(first_name), Some(last_name), Some(date_of_birth), Some(sex), Some(relationship)) if errors.is_empty() => {
                Ok(NewDependent { first_name, last_name, date_of_birth, sex, relationship, email, mobile })
            }
            _ => Err(errors),
        }
    }
}

/// What adding a dependent costs: everyone's rate from the start date, and the new total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Quote {
    pub start: NaiveDate,
    /// The current members and their rates from the start date.
    pub current: Vec<(MemberId, String, Money)>,
    pub new_rate: Money,
    pub total_before: Money,
    pub total_after: Money,
    /// When the membership was already renewed: the renewed term's start and the dependent's rate
    /// in it (their age then), since they join that term too (see [`carried_into`]).
    pub next_term: Option<(NaiveDate, Money)>,
}

/// Quotes a dependent for an active membership: they start on its next bill date, and join the
/// term it was renewed into (`renewed_into`), if it was, at the rate for their age on its start.
/// `None` when the membership does not take new members today (see `Membership::accepts_new_members`).
pub fn quote(
    ms: &Membership,
    members: &[Member],
    dependent: &NewDependent,
    renewed_into: Option<&Membership>,
    today: NaiveDate,
) -> Option<Quote> {
    if !ms.accepts_new_members(today) {
        return None;
    }
    let start = ms.next_bill_date?;
    let current: Vec<(MemberId, String, Money)> = ms
        .enrollments
        .iter()
        .filter(|e| e.end.is_none_or(|end| end >= start))
        .filter_map(|e| members.iter().find(|m| m.id == e.member).map(|m| (m.id.clone(), m.full_name(), e.rate)))
        .collect();
    let total_before: Money = current.iter().map(|(_, _, r)| *r).sum();
    let new_rate = ms.plan.rate_for(dependent.date_of_birth, start);
    let next_term = renewed_into
        .filter(|next| ms.renewed_by.as_ref() == Some(&next.id))
        .map(|next| (next.contract_start, next.plan.rate_for(dependent.date_of_birth, next.contract_start)));
    Some(Quote { start, current, new_rate, total_before, total_after: total_before + new_rate, next_term })
}

/// Whether the dependent is already on the membership: someone with the same name (in any case)
/// and date of birth whose enrolment has not ended. Most often the same form sent again after an
/// error page whose first attempt had landed; someone whose enrolment ended may be added again.
pub fn already_enrolled(ms: &Membership, members: &[Member], dependent: &NewDependent, today: NaiveDate) -> bool {
    members.iter().any(|m| {
        m.first_name.eq_ignore_ascii_case(&dependent.first_name)
            && m.last_name.eq_ignore_ascii_case(&dependent.last_name)
            && m.date_of_birth == dependent.date_of_birth
            && ms.enrollments.iter().any(|e| e.member == m.id && e.end.is_none_or(|end| end >= today))
    })
}

/// The key that claims an email address for one member, so no two members can hold it.
pub use crate::keys::email_claim_key;

/// The write that claims `email` for `member` (fails if anyone holds it).
pub fn claim_email(email: &Email, member: &Member) -> Result<Write, StoreError> {
    let item = record_item(&email_claim_key(email), "email-claim", &member.id, 1)?;
    Ok(Write::Put { item, condition: Some(Condition::NotExists) })
}

/// The confirmation a quote page carries: a random nonce and an HMAC binding it to the household,
/// the membership and every field of the dependent the price was quoted for. The new member's id
/// is derived from it on the server, so a browser can neither choose the id nor confirm details
/// other than those it was quoted; the same confirmation sent twice gives the same id (one member).
pub fn enrolment_key(key: &HmacKey, ms: &Membership, dependent: &NewDependent, nonce: &str) -> String {
    format!("{nonce}.{}", enrolment_mac(key, ms, dependent, nonce))
}

fn enrolment_mac(key: &HmacKey, ms: &Membership, dependent: &NewDependent, nonce: &str) -> String {
    let dob = dependent.date_of_birth.date().to_string();
    let email = dependent.email.as_ref().map_or("", Email::as_str);
    let mobile = dependent.mobile.as_ref().map(PhoneNumber::e164).unwrap_or_default();
    let sex = serde_json::to_string(&dependent.sex).unwrap_or_default();
    let relationship = serde_json::to_string(&dependent.relationship).unwrap_or_default();
    // The renewal too: a confirmation quoted before the membership was renewed does not add anyone
    // to a term whose price was never shown.
    let renewed_by = ms.renewed_by.as_ref().map_or("", |id| id.as_str());
    key.sign(&[
        b"enrolment",
        ms.account.as_str().as_bytes(),
        ms.id.as_str().as_bytes(),
        renewed_by.as_bytes(),
        nonce.as_bytes(),
        dependent.first_name.as_bytes(),
        dependent.last_name.as_bytes(),
        dob.as_bytes(),
        sex.as_bytes(),
        relationship.as_bytes(),
        email.as_bytes(),
        mobile.as_bytes(),
    ])
}

/// The new member's id for a confirmation, when it is one this portal issued for exactly these
/// details on this membership; `None` otherwise (tampered, or for other details).
pub fn enrolled_member_id(key: &HmacKey, ms: &Membership, dependent: &NewDependent, enrolment_key: &str) -> Option<MemberId> {
    let (nonce, mac) = enrolment_key.split_once('.')?;
    if nonce.is_empty() || nonce.len() > 64 || !bool::from(enrolment_mac(key, ms, dependent, nonce).as_bytes().ct_eq(mac.as_bytes())) {
        return None;
    }
    MemberId::parse(&key.sign(&[b"enrolled-member", ms.account.as_str().as_bytes(), nonce.as_bytes()])[..22]).ok()
}

#[derive(Debug, PartialEq, Eq)]
pub enum EnrolOutcome {
    Enrolled(Box<Member>),
    /// The same confirmation was submitted before; the dependent exists already.
    AlreadyEnrolled,
    /// The membership changed since the quote (renewed, ended, or edited): quote again.
    Changed,
}

/// The next term of `ms` with `member` added, when `ms` was already renewed into `next`: a member
/// who joins during a term carries into the renewed term, at the rate for their age on its start.
pub fn carried_into(next: &Membership, member: &Member) -> Membership {
    let mut carried = next.clone();
    if !carried.enrollments.iter().any(|e| e.member == member.id) {
        let start = next.contract_start;
        carried.enrollments.push(Enrollment {
            member: member.id.clone(),
            start,
            end: None,
            rate: next.plan.rate_for(member.date_of_birth, start),
        });
    }
    carried
}

/// Enrols a dependent from the membership's next bill date. `member_id` comes from the quote, so
/// submitting the same confirmation twice adds one member. The dependent joins without a sign-in
/// address: an address typed for them is confirmed with a code sent to it (`contact`), as any
/// new address is, so adding a dependent never tells whose an address is.
#[allow(clippy::too_many_arguments)] // each is a distinct fact of the enrolment; a struct would only rename them
pub async fn enrol(
    table: &dyn Table,
    ms: &Membership,
    dependent: &NewDependent,
    member_id: MemberId,
    address: Option<UsAddress>,
    quote: &Quote,
    renewed_into: Option<&Membership>,
    at: DateTime<Utc>,
) -> Result<EnrolOutcome, StoreError> {
    if table.get(&store::member_key(&ms.account, &member_id)).await?.is_some() {
        return Ok(EnrolOutcome::AlreadyEnrolled);
    }
    let member = Member {
        id: member_id,
        account: ms.account.clone(),
        first_name: dependent.first_name.clone(),
        last_name: dependent.last_name.clone(),
        date_of_birth: dependent.date_of_birth,
        sex: dependent.sex,
        relationship: dependent.relationship,
        email: None,
        phones: Phones { mobile: dependent.mobile.clone(), home: None, work: None },
        address,
        version: 1,
    };
    let mut updated = ms.clone();
    updated.enrollments.push(Enrollment { member: member.id.clone(), start: quote.start, end: None, rate: quote.new_rate });
    let mut writes =
        vec![store::put_member(&member)?, store::replace_record(&store::membership_key(ms), "membership", &updated, ms.version)?];
    // The household's record names its members for the invoice page (`store::applied`).
    let named = store::applied::name_members(crate::ports::Update::default(), [&member]);
    writes.push(crate::ports::Write::Update {
        key: store::household_key(&ms.account),
        update: named,
        condition: Some(crate::ports::Condition::Exists),
    });
    // Already renewed: the new member is on the next term too (conditioned on it, as on this one).
    let next = renewed_into.filter(|next| ms.renewed_by.as_ref() == Some(&next.id)).map(|next| carried_into(next, &member));
    if let (Some(next), Some(stored)) = (&next, renewed_into) {
        writes.push(store::replace_record(&store::membership_key(stored), "membership", next, stored.version)?);
    }
    writes.extend(feed::writes(&[Change::DependentEnrolled { member: &member, membership: &updated, next_term: next.as_ref() }], at)?);
    match table.transact(writes).await {
        Ok(()) => Ok(EnrolOutcome::Enrolled(Box::new(member))),
        Err(StoreError::ConditionFailed) => {
            if table.get(&store::member_key(&ms.account, &member.id)).await?.is_some() {
                Ok(EnrolOutcome::AlreadyEnrolled)
            } else {
                Ok(EnrolOutcome::Changed)
            }
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::tests::standard;
    use crate::AccountId;
    use proptest::prelude::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn person(id: &str, born: &str) -> Member {
        Member {
            id: MemberId::parse(id).unwrap(),
            account: AccountId::parse("a").unwrap(),
            first_name: id.into(),
            last_name: "X".into(),
            date_of_birth: DateOfBirth::new(d(born), d(born)).unwrap(),
            sex: Sex::Unknown,
            relationship: Relationship::Child,
            email: None,
            phones: Phones::default(),
            address: None,
            version: 1,
        }
    }

    fn membership(start: &str, end: &str, members: &[&Member]) -> Membership {
        let plan = standard();
        Membership {
            id: MembershipId::parse("ms").unwrap(),
            account: AccountId::parse("a").unwrap(),
            enrollments: members
                .iter()
                .map(|m| Enrollment { member: m.id.clone(), start: d(start), end: None, rate: plan.rate_for(m.date_of_birth, d(start)) })
                .collect(),
            plan,
            status: MembershipStatus::Active,
            contract_start: d(start),
            contract_end: d(end),
            next_bill_date: Some(d("2026-12-01")),
            renews: None,
            renewed_by: None,
            leaving: None,
            version: 1,
        }
    }

    #[test]
    fn a_member_added_during_a_renewed_term_joins_the_next_term_at_the_rate_for_their_age_then() {
        let parent = person("p", "1980-01-01");
        let current = membership("2026-01-01", "2026-12-31", &[&parent]);
        let next = next_term(&current, std::slice::from_ref(&parent), MembershipId::parse("ms-2").unwrap());
        // Seventeen now, eighteen when the next term starts on 2027-01-01: the adult rate there.
        let teen = person("t", "2009-01-01");
        let carried = carried_into(&next, &teen);
        let joined = carried.enrollments.iter().find(|e| e.member == teen.id).expect("carried into the renewed term");
        assert_eq!((joined.start, joined.rate), (d("2027-01-01"), Money::parse("80").unwrap()));
        assert_eq!(carried.amount(), Money::parse("160").unwrap());
        assert_eq!(carried_into(&carried, &teen), carried, "once");
        // And a renewal after the addition includes them (enrolled to the end of the term).
        let mut with_teen = current.clone();
        with_teen.enrollments.push(Enrollment {
            member: teen.id.clone(),
            start: d("2026-12-01"),
            end: None,
            rate: Money::parse("30").unwrap(),
        });
        let renewed = next_term(&with_teen, &[parent, teen.clone()], MembershipId::parse("ms-3").unwrap());
        assert!(renewed.enrollments.iter().any(|e| e.member == teen.id && e.rate == Money::parse("80").unwrap()));
    }

    #[test]
    fn rates_change_on_the_birthday_itself() {
        let ms = membership("2026-01-01", "2026-12-31", &[]);
        let turning_18 = person("a", "2009-01-01");
        let turning_65 = person("b", "1962-01-01");
        let (before, _) = price(&ms, [&turning_18, &turning_65], d("2026-12-31"));
        let (after, total) = price(&ms, [&turning_18, &turning_65], d("2027-01-01"));
        assert_eq!((before[0].1.to_string(), before[1].1.to_string()), ("$30.00".into(), "$80.00".into()));
        assert_eq!((after[0].1.to_string(), after[1].1.to_string()), ("$80.00".into(), "$100.00".into()));
        assert_eq!(total.to_string(), "$180.00");
    }

    #[test]
    fn a_leap_day_birthday_counts_from_march_first_in_other_years() {
        let ms = membership("2026-01-01", "2026-12-31", &[]);
        let leap = person("l", "2008-02-29");
        assert_eq!(price(&ms, [&leap], d("2026-02-28")).1.to_string(), "$30.00");
        assert_eq!(price(&ms, [&leap], d("2026-03-01")).1.to_string(), "$80.00");
    }

    #[test]
    fn renewal_prices_each_member_at_the_new_start() {
        let child = person("c", "2009-01-01");
        let ms = membership("2026-01-01", "2026-12-31", &[&child]);
        let next = next_term(&ms, std::slice::from_ref(&child), MembershipId::parse("ms2").unwrap());
        assert_eq!((next.contract_start, next.contract_end), (d("2027-01-01"), d("2027-12-31")));
        assert_eq!(next.enrollments[0].rate.to_string(), "$80.00", "18 on the new start date");
        assert_eq!(next.renews.as_ref().unwrap().as_str(), "ms");
    }

    /// A girl born 2022-06-01, as the form gives her.
    fn child(first_name: &str, last_name: &str) -> NewDependent {
        let input = DependentInput {
            first_name,
            last_name,
            date_of_birth: "2022-06-01",
            sex: "female",
            relationship: "child",
            email: "",
            phone_mobile: "",
        };
        NewDependent::parse(input, d("2026-11-26")).unwrap()
    }

    #[test]
    fn a_dependent_starts_on_the_next_bill_date_at_their_age_then() {
        let adult = person("p", "1980-05-05");
        let ms = membership("2026-01-01", "2026-12-31", &[&adult]);
        let dep = child("Ana", "Lopez");
        let q = quote(&ms, std::slice::from_ref(&adult), &dep, None, d("2026-11-26")).unwrap();
        assert_eq!(q.start, d("2026-12-01"));
        assert_eq!(
            (q.new_rate.to_string(), q.total_before.to_string(), q.total_after.to_string()),
            ("$30.00".into(), "$80.00".into(), "$110.00".into())
        );
        // The one rule for "may a member be added": active, a bill date to start on, not ended.
        assert!(ms.accepts_new_members(d("2026-12-31")));
        assert!(!ms.accepts_new_members(d("2027-01-01")), "a term that has ended takes no one");
        assert!(quote(&ms, std::slice::from_ref(&adult), &dep, None, d("2027-01-01")).is_none());
        let billless = Membership { next_bill_date: None, ..ms.clone() };
        assert!(!billless.accepts_new_members(d("2026-11-26")), "nowhere to start them");
        let ended = Membership { status: MembershipStatus::Ended, ..ms.clone() };
        assert!(!ended.accepts_new_members(d("2026-11-26")));
    }

    #[test]
    fn the_same_person_is_not_added_twice_while_enrolled_but_may_come_back_after() {
        let ana = Member { first_name: "Ana".into(), ..person("ana", "2022-06-01") };
        let mut ms = membership("2026-01-01", "2026-12-31", &[&ana]);
        let again = child("ANA", &ana.last_name);
        let today = d("2026-11-26");
        assert!(already_enrolled(&ms, std::slice::from_ref(&ana), &again, today), "the same name in any case and birth date");
        ms.enrollments[0].end = Some(d("2026-10-31"));
        assert!(!already_enrolled(&ms, std::slice::from_ref(&ana), &again, today), "an enrolment that ended");
    }

    #[test]
    fn dependent_fields_are_each_checked() {
        let errors = NewDependent::parse(
            DependentInput {
                first_name: "",
                last_name: "<b>",
                date_of_birth: "2030-01-01",
                sex: "x",
                relationship: "",
                email: "nope",
                phone_mobile: "123",
            },
            d("2026-11-26"),
        )
        .unwrap_err();
        assert!(errors.first_name.is_some() && errors.last_name.is_some() && errors.date_of_birth.is_some());
        assert!(errors.sex.is_some() && errors.relationship.is_some() && errors.email.is_some() && errors.phone_mobile.is_some());
    }

    proptest! {
        #[test]
        fn the_renewal_window_is_exactly_ninety_days(days_left in -10i64..200) {
            let today = d("2026-11-26");
            let end = today + chrono::Duration::days(days_left);
            let ms = membership("2026-01-01", &end.format("%Y-%m-%d").to_string(), &[]);
            prop_assert_eq!(ms.is_renewable(today), (0..=90).contains(&days_left));
        }

        #[test]
        fn every_rate_comes_from_the_age_band_of_the_pricing_date(days_old in 0i64..40_000, on_offset in 0i64..800) {
            let on = d("2026-01-01") + chrono::Duration::days(on_offset);
            let born = on - chrono::Duration::days(days_old);
            let member = person("m", &born.format("%Y-%m-%d").to_string());
            let ms = membership("2026-01-01", "2026-12-31", &[]);
            let age = member.age_on(on);
            let expected = if age <= 17 { "$30.00" } else if age <= 64 { "$80.00" } else { "$100.00" };
            prop_assert_eq!(price(&ms, [&member], on).1.to_string(), expected);
        }
    }
}
