//! Agreements members sign, and the durable record of a signature.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::{AccountId, AgreementId, MemberId};

/// Who signed, when, from where, and exactly what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub signer_name: String,
    pub signed_by: MemberId,
    pub at: DateTime<Utc>,
    pub ip: String,
    pub user_agent: String,
    /// SHA-256 of the body that was shown and signed, in hex.
    pub body_sha256: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agreement {
    pub id: AgreementId,
    pub account: AccountId,
    /// The member the agreement is for.
    pub member: MemberId,
    pub title: String,
    pub version: String,
    /// The document, as Markdown.
    pub body: String,
    pub required: bool,
    pub signature: Option<Signature>,
    /// The stored record's version (the document's own version is `version`).
    #[serde(default)]
    pub record_version: u64,
}

impl Agreement {
    /// SHA-256 of the body, in hex.
    pub fn body_sha256(&self) -> String {
        hex::encode(Sha256::digest(self.body.as_bytes()))
    }

    pub fn is_signed(&self) -> bool {
        self.signature.is_some()
    }
}

/// A typed name matches a member's name ignoring case and extra spaces.
pub fn name_matches(typed: &str, member: &crate::Member) -> bool {
    let normalize = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    !typed.trim().is_empty() && normalize(typed) == normalize(&member.full_name())
}

/// Who may sign an agreement for `subject`: the adult themselves, or for a minor the
/// household's owner. The owner also signs their own.
pub fn may_sign(signer: &crate::Member, signer_is_owner: bool, subject: &crate::Member, today: chrono::NaiveDate) -> bool {
    if signer.id == subject.id {
        return subject.age_on(today) >= 18;
    }
    signer_is_owner && subject.age_on(today) < 18
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignError {
    #[error("Type your full name exactly as it is shown above the field.")]
    NameMismatch,
    #[error("Tick the box to confirm you agree.")]
    NoConsent,
}

/// Checks a signing form: the typed name must be the signer's, and consent must be given.
pub fn check_signature(typed: &str, consent: bool, signer: &crate::Member) -> Result<(), Vec<SignError>> {
    let mut errors = Vec::new();
    if !name_matches(typed, signer) {
        errors.push(SignError::NameMismatch);
    }
    if !consent {
        errors.push(SignError::NoConsent);
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

/// Records a signature once: the write is conditioned on the unsigned version it was read at,
/// so a second or concurrent submit can never sign twice or change a signature.
pub async fn sign(table: &dyn crate::Table, agreement: &Agreement, signature: Signature) -> Result<Agreement, crate::StoreError> {
    if agreement.is_signed() {
        return Err(crate::StoreError::ConditionFailed);
    }
    let at = signature.at;
    let signed = Agreement { signature: Some(signature), record_version: agreement.record_version + 1, ..agreement.clone() };
    let mut writes =
        vec![crate::store::replace_record(&crate::store::agreement_key(agreement), "agreement", &signed, agreement.record_version)?];
    // The practice is told in the same transaction.
    writes.extend(crate::feed::writes(&[crate::feed::Change::AgreementSigned(&signed)], at)?);
    table.transact(writes).await?;
    Ok(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::*;
    use chrono::NaiveDate;

    fn member(id: &str, first: &str, born: &str) -> Member {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        Member {
            id: MemberId::parse(id).unwrap(),
            account: AccountId::parse("a").unwrap(),
            first_name: first.into(),
            last_name: "Lopez".into(),
            date_of_birth: DateOfBirth::parse(born, today).unwrap(),
            sex: Sex::Female,
            relationship: Relationship::Child,
            email: None,
            phones: Phones::default(),
            address: None,
            version: 1,
        }
    }

    #[test]
    fn names_match_ignoring_case_and_spaces() {
        let maria = member("m", "Maria", "1985-01-01");
        assert!(name_matches("  maria   LOPEZ ", &maria));
        assert!(!name_matches("Maria Lopes", &maria));
        assert!(!name_matches("", &maria));
    }

    #[test]
    fn owners_sign_for_minors_and_adults_for_themselves() {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
        let maria = member("m", "Maria", "1985-01-01");
        let daniel = member("d", "Daniel", "1983-01-01");
        let sofia = member("s", "Sofia", "2018-06-01");
        let turning_18_today = member("t", "Teo", "2008-11-26");
        assert!(may_sign(&maria, true, &maria, today));
        assert!(may_sign(&maria, true, &sofia, today));
        assert!(!may_sign(&maria, true, &daniel, today), "an adult signs their own");
        assert!(may_sign(&daniel, false, &daniel, today));
        assert!(!may_sign(&daniel, false, &sofia, today), "only the owner signs for a minor");
        assert!(!may_sign(&sofia, false, &sofia, today));
        assert!(may_sign(&turning_18_today, false, &turning_18_today, today));
        assert!(!may_sign(&maria, true, &turning_18_today, today));
    }

    #[test]
    fn a_signing_form_needs_the_name_and_consent() {
        let maria = member("m", "Maria", "1985-01-01");
        assert_eq!(check_signature("Maria Lopez", false, &maria), Err(vec![SignError::NoConsent]));
        assert_eq!(check_signature("Mary", true, &maria), Err(vec![SignError::NameMismatch]));
        assert_eq!(check_signature("maria lopez", true, &maria), Ok(()));
    }
}
