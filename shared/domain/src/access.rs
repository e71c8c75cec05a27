//! Who sees and manages what: the portal's one access policy, used by every page.
//!
//! The household's owner sees and manages the whole household: its billing, payment methods,
//! memberships, members, agreements and activity. Any other member of the household sees only
//! their own: their enrolment (not the others' or their rates), their contact details, their
//! agreements and their own activity. Whatever is not theirs does not exist for them: pages
//! answer "not found", the one refusal for "not yours" (a page that exists but does not let them
//! do something, such as signing a minor's consent, says why instead).

use crate::audit::AuditEvent;
use crate::session::Session;
use crate::{Agreement, MemberId, Membership};

/// The signed-in member, as the policy sees them.
#[derive(Debug, Clone, Copy)]
pub struct Viewer<'a> {
    pub member: &'a MemberId,
    pub is_owner: bool,
}

impl<'a> Viewer<'a> {
    pub fn of(session: &'a Session) -> Viewer<'a> {
        Viewer { member: &session.member, is_owner: session.is_owner }
    }

    /// The household's billing (invoices, statements, payments), its payment methods, renewals and
    /// new members: the owner's alone.
    pub fn manages_household(&self) -> bool {
        self.is_owner
    }

    /// A member's record and contact details.
    pub fn sees_member(&self, member: &MemberId) -> bool {
        self.is_owner || member == self.member
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
        let owner = Viewer { member: &maria, is_owner: true };
        let member = Viewer { member: &daniel, is_owner: false };
        assert!(owner.manages_household() && !member.manages_household());
        assert!(owner.sees_member(&daniel) && member.sees_member(&daniel) && !member.sees_member(&maria));
        let all = [membership()];
        assert_eq!(owner.memberships(&all)[0].enrollments.len(), 3);
        let own = member.memberships(&all);
        assert_eq!(own[0].enrollments.len(), 1, "Daniel sees his own enrolment only");
        assert_eq!(own[0].amount(), Money::from_cents(8000), "and so his own rate, not the household's");
        let sam = id("sam");
        assert!(Viewer { member: &sam, is_owner: false }.memberships(&all).is_empty(), "a membership that does not enrol them");
        let event = AuditEvent::new(&Fixed, &AccountId::parse("lopez").unwrap(), Some(&maria), "x", chrono::Utc::now(), "");
        assert!(owner.sees_event(&event) && !member.sees_event(&event));
        assert!(member.sees_event(&event.clone().subject("daniel")));
    }

    struct Fixed;
    impl crate::Random for Fixed {
        fn fill(&self, bytes: &mut [u8]) {
            bytes.fill(1);
        }
    }
}
