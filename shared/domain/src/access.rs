//! Who sees and manages what: the portal's one access policy, used by every page.
//!
//! The household's owner sees and manages the whole household: its billing, payment methods,
//! memberships, members, agreements and activity. The owner may share the billing (invoices,
//! statements, paying, payment methods) with another adult member with an email address, a
//! spouse who pays the bills, and take it back at any time: that member handles billing but
//! still sees only their own record, contact details, agreements and activity. Any other member
//! of the household sees only their own: their enrolment (not the others' or their rates), their
//! contact details, their agreements and their own activity. Whatever is not theirs does not exist for them: pages
//! answer "not found", the one refusal for "not yours" (a page that exists but does not let them
//! do something, such as signing a minor's consent, says why instead).

use chrono::NaiveDate;

use crate::audit::AuditEvent;
use crate::ports::{attr, Condition, Table, Update, Value, Write};
use crate::session::Session;
use crate::{store, Agreement, Household, Member, MemberId, Membership, StoreError};

/// The signed-in member, as the policy sees them.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub member: &'a MemberId,
    pub is_owner: bool,
    /// The owner, or a member the owner shares billing with.
    pub handles_billing: bool,
}

impl<'a> Viewer<'a> {
    pub fn of(session: &'a Session) -> Viewer<'a> {
        Viewer { member: &session.member, is_owner: session.is_owner, handles_billing: session.is_owner || session.handles_billing }
    }

    /// Renewals, new members, and whom billing is shared with: the owner's alone.
    pub fn manages_household(&self) -> bool {
        self.is_owner
    }

    /// The household's billing: invoices, statements, paying them, and its payment methods.
    pub fn handles_billing(&self) -> bool {
        self.is_owner || self.handles_billing
    }

    /// A member's record and contact details.
    pub fn sees_member(&self, member: &MemberId) -> bool {
        self.is_owner || member == self.member
    }

    /// A member's email preferences: their own inbox, so theirs alone to set (as their sign-in address is).
    pub fn sets_preferences_of(&self, member: &MemberId) -> bool {
        member == self.member
    }

    pub fn sees_agreement(&self, agreement: &Agreement) -> bool {
        self.sees_member(&agreement.member)
    }

    /// An activity entry: the owner sees the household's; a member what they did or what was done to them.
    pub fn sees_event(&self, event: &AuditEvent) -> bool {
        self.is_owner || event.actor.as_ref() == Some(self.member) || event.subject.as_deref() == Some(self.member.as_str())
    }

    /// The memberships as this viewer may see them: all of them, whole, for the owner; for a member,
    /// those that enrol them, each showing only their own enrolment (and so their own rate).
    pub fn memberships(&self, all: &[Membership]) -> Vec<Membership> {
        if self.is_owner {
            return all.to_vec();
        }
        all.iter()
            .filter(|ms| ms.enrollments.iter().any(|e| &e.member == self.member))
            .map(|ms| Membership {
                enrollments: ms.enrollments.iter().filter(|e| &e.member == self.member).cloned().collect(),
                ..ms.clone()
            })
            .collect()
    }
}

/// Whether `member` handles `household`'s billing as the household stands now: its owner, or a
/// member it is shared with. Billing pages ask this of the household they read, besides the
/// session's flag, so a sharing taken back is taken back at once whatever became of sessions.
pub fn handles_billing_of(household: &Household, member: &MemberId) -> bool {
    household.owner == *member || household.billing_shared_with.contains(member)
}

/// Whether the owner may share the household's billing with `member`: another adult (18 or
/// older today) of the household, with an email address to sign in with.
pub fn may_share_billing(household: &Household, member: &Member, today: NaiveDate) -> Result<(), &'static str> {
    if member.account != household.id || member.id == household.owner {
        return Err("Billing can be shared only with another member of the household.");
    }
    if !is_adult(member, today) {
        return Err("Billing can be shared only with an adult.");
    }
    if member.email.is_none() {
        return Err("Add an email address for them first: they sign in with it.");
    }
    Ok(())
}

/// 18 or older today: who billing may be shared with (the members page offers it to them).
pub fn is_adult(member: &Member, today: NaiveDate) -> bool {
    member.age_on(today) >= 18
}

/// What sharing billing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// The sharing changed; the member's sessions were ended, so their next sign-in carries it.
    Changed,
    /// It already was as asked.
    Unchanged,
}

/// Shares the household's billing with `member` (`share`), or stops sharing it. The household
/// record changes on condition that it is as read, and the member's sessions end, so a session
/// never keeps billing it was refused (nor lacks billing it was given).
pub async fn share_billing(
    table: &dyn Table,
    household: &Household,
    member: &Member,
    share: bool,
    today: NaiveDate,
) -> Result<Result<Shared, &'static str>, StoreError> {
    let already = household.billing_shared_with.contains(&member.id);
    if already == share {
        if !share && member.account == household.id && member.id != household.owner {
            // Taken back before, perhaps with sessions left over (a failure after the household
            // changed): they end now, so asking again always finishes the job. Never the owner's.
            crate::session::end_member_sessions(table, &household.id, &member.id, None).await?;
        }
        return Ok(Ok(Shared::Unchanged));
    }
    if share {
        if let Err(why) = may_share_billing(household, member, today) {
            return Ok(Err(why));
        }
    }
    let mut changed = household.clone();
    changed.billing_shared_with.retain(|m| m != &member.id);
    if share {
        changed.billing_shared_with.push(member.id.clone());
    }
    changed.version = household.version + 1;
    let json = serde_json::to_string(&changed).map_err(|e| StoreError::Malformed(format!("household: {e}")))?;
    table
        .write(Write::Update {
            key: store::household_key(&household.id),
            update: Update::default().set(store::DATA, json).set(attr::VERSION, changed.version),
            condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(household.version))),
        })
        .await?;
    crate::session::end_member_sessions(table, &household.id, &member.id, None).await?;
    Ok(Ok(Shared::Changed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccountId, Enrollment, Money};
    use chrono::NaiveDate;

    fn id(s: &str) -> MemberId {
        MemberId::parse(s).unwrap()
    }

    fn membership() -> Membership {
        let enrol = |m: &str, cents| Enrollment {
            member: id(m),
            start: NaiveDate::from_ymd_opt(2026, 1, 1).unwrap(),
            end: None,
            rate: Money::from_cents(cents),
        };
        serde_json::from_value::<Membership>(serde_json::json!({
            "id": "ms-1", "account": "lopez",
            "plan": { "id": "standard", "name": "Standard", "period": "monthly", "contract_months": 12,
                      "bands": [{ "min_age": 0, "max_age": null, "rate": "80.00" }] },
            "status": "active", "enrollments": [], "contract_start": "2026-01-01", "contract_end": "2026-12-31",
            "next_bill_date": "2026-12-01", "renews": null, "renewed_by": null
        }))
        .map(|ms| Membership { enrollments: vec![enrol("maria", 8000), enrol("daniel", 8000), enrol("sofia", 3000)], ..ms })
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn the_owner_sees_the_household_and_a_member_only_their_own() {
        let (maria, daniel) = (id("maria"), id("daniel"));
        let owner = Viewer { member: &maria, is_owner: true, handles_billing: true };
        let member = Viewer { member: &daniel, is_owner: false, handles_billing: false };
        assert!(owner.manages_household() && !member.manages_household());
        assert!(owner.sees_member(&daniel) && member.sees_member(&daniel) && !member.sees_member(&maria));
        let all = [membership()];
        assert_eq!(owner.memberships(&all)[0].enrollments.len(), 3);
        let own = member.memberships(&all);
        assert_eq!(own[0].enrollments.len(), 1, "Daniel sees his own enrolment only");
        assert_eq!(own[0].amount(), Money::from_cents(8000), "and so his own rate, not the household's");
        let sam = id("sam");
        assert!(
            Viewer { member: &sam, is_owner: false, handles_billing: false }.memberships(&all).is_empty(),
            "a membership that does not enrol them"
        );
        let event = AuditEvent::new(&Fixed, &AccountId::parse("lopez").unwrap(), Some(&maria), "x", chrono::Utc::now(), "");
        assert!(owner.sees_event(&event) && !member.sees_event(&event));
        assert!(member.sees_event(&event.clone().subject("daniel")));
    }

    fn person(member: &str, born: &str, email: Option<&str>) -> Member {
        serde_json::from_value(serde_json::json!({
            "id": member, "account": "lopez", "first_name": member, "last_name": "Lopez", "date_of_birth": born,
            "sex": "female", "relationship": "spouse", "email": email, "phones": {}, "address": null
        }))
        .unwrap_or_else(|e| panic!("{e}"))
    }

    fn lopez() -> Household {
        Household {
            id: AccountId::parse("lopez").unwrap(),
            name: "Lopez household".into(),
            owner: id("maria"),
            billing_address: None,
            processor_customer: None,
            billing_shared_with: Vec::new(),
            version: 4,
        }
    }

    #[test]
    fn billing_is_shared_only_with_another_adult_who_can_sign_in() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let daniel = person("daniel", "1984-06-02", Some("daniel@example.com"));
        assert_eq!(may_share_billing(&lopez(), &daniel, today), Ok(()));
        assert!(may_share_billing(&lopez(), &person("sofia", "2015-03-09", Some("s@example.com")), today).is_err(), "a child");
        assert!(may_share_billing(&lopez(), &person("daniel", "1984-06-02", None), today).is_err(), "no address to sign in with");
        assert!(may_share_billing(&lopez(), &person("maria", "1986-01-01", Some("m@example.com")), today).is_err(), "the owner");
        let turns_18_tomorrow = person("teen", "2008-12-01", Some("t@example.com"));
        assert!(may_share_billing(&lopez(), &turns_18_tomorrow, today).is_err());
    }

    #[test]
    fn a_member_billing_is_shared_with_handles_billing_but_sees_only_their_own() {
        let daniel = id("daniel");
        let spouse = Viewer { member: &daniel, is_owner: false, handles_billing: true };
        assert!(spouse.handles_billing() && !spouse.manages_household());
        assert!(!spouse.sees_member(&id("maria")), "not the others' contact details");
        assert_eq!(spouse.memberships(&[membership()])[0].enrollments.len(), 1);
    }

    #[tokio::test]
    async fn sharing_changes_the_household_as_read_and_ends_the_members_sessions() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 30).unwrap();
        let daniel = person("daniel", "1984-06-02", Some("daniel@example.com"));
        let mut table = crate::ports::MockTable::new();
        table
            .expect_write()
            .withf(|w| {
                matches!(w, Write::Update { update, condition: Some(Condition::Equals(_, v)), .. }
                    if *v == Value::from(4u64) && format!("{update:?}").contains("billing_shared_with"))
            })
            .times(1)
            .returning(|_| Ok(()));
        table.expect_query_index().times(1).returning(|_| Ok(Vec::new()));
        assert_eq!(share_billing(&table, &lopez(), &daniel, true, today).await.unwrap(), Ok(Shared::Changed));

        let shared = Household { billing_shared_with: vec![id("daniel")], ..lopez() };
        assert!(handles_billing_of(&shared, &id("daniel")) && handles_billing_of(&shared, &id("maria")));
        assert!(!handles_billing_of(&lopez(), &id("daniel")), "the household decides, whatever a session says");
        let untouched = crate::ports::MockTable::new();
        assert_eq!(share_billing(&untouched, &shared, &daniel, true, today).await.unwrap(), Ok(Shared::Unchanged), "nothing written");
        // Taking back what was never shared ends no one's sessions, the owner's least of all.
        let owner = Member { relationship: crate::Relationship::Owner, ..person("maria", "1986-01-01", Some("m@example.com")) };
        assert_eq!(share_billing(&untouched, &lopez(), &owner, false, today).await.unwrap(), Ok(Shared::Unchanged));
        let child = person("sofia", "2015-03-09", Some("s@example.com"));
        assert!(share_billing(&untouched, &lopez(), &child, true, today).await.unwrap().is_err());
    }

    struct Fixed;
    impl crate::Random for Fixed {
        fn fill(&self, bytes: &mut [u8]) {
            bytes.fill(1);
        }
    }
}
