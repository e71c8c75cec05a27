//! Members' contact details: parsing the form, saving without losing concurrent edits, and
//! changing the sign-in email only after a code sent to the new address is entered.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::audit::AuditEvent;
use crate::enrol::{claim_email, email_claim_key};
use crate::feed::{self, Change};
use crate::otc::{Check, CodeSlot, Issue, Limits};
use crate::ports::{attr, Condition, Item, Key, Random, Table, Value, Write};
use crate::signin::{HmacKey, SigninCode};
use crate::store::{self, record_item, record_of, version_of};
use crate::{AddressInput, Email, Member, MemberId, PhoneNumber, Phones, StoreError, UsAddress};

/// The raw fields of the contact form.
#[derive(Debug, Default, Clone, Copy)]
pub struct ContactInput<'a> {
    pub email: &'a str,
    pub phone_mobile: &'a str,
    pub phone_home: &'a str,
    pub phone_work: &'a str,
    pub address_line1: &'a str,
    pub address_line2: &'a str,
    pub city: &'a str,
    pub state: &'a str,
    pub postal_code: &'a str,
}

/// Each wrong field of the contact form.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ContactErrors {
    pub email: Option<Box<str>>,
    pub phone_mobile: Option<Box<str>>,
    pub phone_home: Option<Box<str>>,
    pub phone_work: Option<Box<str>>,
    pub address: crate::AddressErrors,
}

impl ContactErrors {
    pub fn is_empty(&self) -> bool {
        *self == ContactErrors::default()
    }
}

/// Contact details as parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub email: Option<Email>,
    pub phones: Phones,
    pub address: Option<UsAddress>,
}

fn phone(text: &str, slot: &mut Option<Box<str>>) -> Option<PhoneNumber> {
    match text.trim() {
        "" => None,
        t => PhoneNumber::parse(t).map_err(|e| *slot = Some(e.to_string().into())).ok(),
    }
}

impl Contact {
    /// Parses the form; an address is optional, but once any line is given it must be whole.
    pub fn parse(input: ContactInput<'_>) -> Result<Contact, ContactErrors> {
        let mut errors = ContactErrors::default();
        let email = match input.email.trim() {
            "" => None,
            t => Email::parse(t).map_err(|e| errors.email = Some(e.to_string().into())).ok(),
        };
        let phones = Phones {
            mobile: phone(input.phone_mobile, &mut errors.phone_mobile),
            home: phone(input.phone_home, &mut errors.phone_home),
            work: phone(input.phone_work, &mut errors.phone_work),
        };
        let lines = [input.address_line1, input.address_line2, input.city, input.state, input.postal_code];
        let address = if lines.iter().all(|l| l.trim().is_empty()) {
            None
        } else {
            UsAddress::parse(&AddressInput {
                line1: input.address_line1,
                line2: input.address_line2,
                city: input.city,
                state: input.state,
                postal_code: input.postal_code,
            })
            .map_err(|e| errors.address = e)
            .ok()
        };
        if errors.is_empty() {
            Ok(Contact { email, phones, address })
        } else {
            Err(errors)
        }
    }
}

/// The names of the fields that differ between a member and new contact details (email aside).
pub fn changed_fields(member: &Member, contact: &Contact) -> Vec<String> {
    let mut fields = Vec::new();
    if member.phones.mobile != contact.phones.mobile {
        fields.push("phone_mobile".into());
    }
    if member.phones.home != contact.phones.home {
        fields.push("phone_home".into());
    }
    if member.phones.work != contact.phones.work {
        fields.push("phone_work".into());
    }
    if member.address != contact.address {
        fields.push("address".into());
    }
    fields
}

/// Whether `actor` may change `member`'s sign-in email: a member's own address is theirs to
/// change (or the practice's); another member (the owner) may only give an address to a member
/// who has none, such as a child. Otherwise whoever could change it could sign in as them.
pub fn may_change_email(actor: &MemberId, member: &Member) -> bool {
    member.email.is_none() || actor == &member.id
}

/// Saves phones and address, on condition the member is still at the version the form was
/// rendered with; the audit event is written in the same transaction.
pub async fn save(
    table: &dyn Table,
    member: &Member,
    form_version: u64,
    contact: &Contact,
    event: &AuditEvent,
) -> Result<Member, StoreError> {
    if member.version != form_version {
        return Err(StoreError::ConditionFailed);
    }
    let updated =
        Member { phones: contact.phones.clone(), address: contact.address.clone(), version: member.version + 1, ..member.clone() };
    let mut writes = vec![replace_member(member, &updated)?, event.write()?];
    writes.extend(feed::writes(&[Change::ContactChanged { member: &updated, fields: &event.fields }], event.at)?);
    table.transact(writes).await?;
    Ok(updated)
}

/// Replaces a member at its stored version (index attributes included), bumping the version.
pub fn replace_member(old: &Member, new: &Member) -> Result<Write, StoreError> {
    let Write::Put { mut item, .. } = store::put_member(&Member { version: old.version + 1, ..new.clone() })? else {
        return Err(StoreError::Malformed("put_member".into()));
    };
    item.insert(attr::VERSION.into(), Value::from(old.version + 1));
    Ok(Write::Put { item, condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(old.version))) })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PendingEmail {
    email: Email,
    #[serde(flatten)]
    slot: CodeSlot,
    /// The address belongs to someone else: no code went to it and none is accepted, but the
    /// member is answered as for any other address, so the answer tells nobody whose it is.
    #[serde(default)]
    taken: bool,
}

fn pending_key(member: &Member) -> Key {
    crate::keys::email_change_key(&member.account, &member.id)
}

fn mac(key: &HmacKey, member: &MemberId, email: &Email, code: &str) -> String {
    key.sign(&[b"email-change", member.as_str().as_bytes(), email.as_str().as_bytes(), code.as_bytes()])
}

const LIMITS: &Limits = &Limits::EMAIL_CHANGE;

/// The address a member is changing to, while a code for it is live.
pub async fn pending_email(table: &dyn Table, member: &Member, now: DateTime<Utc>) -> Result<Option<Email>, StoreError> {
    let Some(item) = table.get(&pending_key(member)).await? else { return Ok(None) };
    live_pending(&item, now)
}

/// Like [`pending_email`], from the household's records (its query returns the pending change too).
pub fn pending_email_in(records: &store::HouseholdRecords, member: &Member, now: DateTime<Utc>) -> Result<Option<Email>, StoreError> {
    let key = pending_key(member);
    match records.email_changes.iter().find(|item| Key::of(item).as_ref() == Some(&key)) {
        Some(item) => live_pending(item, now),
        None => Ok(None),
    }
}

fn live_pending(item: &Item, now: DateTime<Utc>) -> Result<Option<Email>, StoreError> {
    let pending: PendingEmail = record_of(item)?;
    let live = pending.slot.expires.is_some_and(|t| now < t) && pending.slot.wrong_tries < LIMITS.max_wrong_tries;
    Ok(live.then_some(pending.email))
}

#[derive(Debug)]
pub enum EmailChangeRequest {
    /// A code was issued for the new address: mail it when `deliver` (the address is free). A
    /// taken address gets nothing, and the member sees the same answer.
    CodeIssued { code: SigninCode, deliver: bool },
    /// Codes for this change were sent too recently or too often.
    TooSoon,
}

/// Starts an email change: counts the send first (so trying addresses costs the same whoever
/// holds them), then issues a code, which goes out only if the address is free.
pub async fn request_email_change(
    table: &dyn Table,
    key: &HmacKey,
    random: &dyn Random,
    now: DateTime<Utc>,
    member: &Member,
    email: &Email,
) -> Result<EmailChangeRequest, StoreError> {
    let pkey = pending_key(member);
    let existing = table.get(&pkey).await?;
    let mut slot = match &existing {
        Some(item) => record_of::<PendingEmail>(item)?.slot,
        None => CodeSlot::default(),
    };
    let code = match slot.issue(LIMITS, now, random, |code| mac(key, &member.id, email, code)) {
        Issue::Issued(code) => code,
        Issue::TooSoon { .. } | Issue::TooMany { .. } | Issue::Locked { .. } => return Ok(EmailChangeRequest::TooSoon),
    };
    let held_by_other = |id: Option<MemberId>| id.is_some_and(|id| id != member.id);
    let by_index = store::member_by_email(table, email).await?.map(|m| m.id);
    let by_claim = match table.get(&email_claim_key(email)).await? {
        Some(item) => Some(record_of::<MemberId>(&item)?),
        None => None,
    };
    let taken = held_by_other(by_index) || held_by_other(by_claim);
    let pending = PendingEmail { email: email.clone(), slot, taken };
    let version = existing.as_ref().map(version_of);
    let mut item = record_item(&pkey, "email-change", &pending, version.map_or(1, |v| v + 1))?;
    item.insert(attr::EXPIRES_AT.into(), Value::from(pending.slot.keep_until(LIMITS, now).timestamp()));
    let condition = match version {
        Some(v) => Condition::Equals(attr::VERSION.into(), Value::from(v)),
        None => Condition::NotExists,
    };
    match table.write(Write::Put { item, condition: Some(condition) }).await {
        Ok(()) => Ok(EmailChangeRequest::CodeIssued { code, deliver: !taken }),
        Err(StoreError::ConditionFailed) => Ok(EmailChangeRequest::TooSoon),
        Err(e) => Err(e),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub enum EmailChangeOutcome {
    /// The new address is now the member's sign-in email; the old one (if any) gets a notice.
    Changed {
        old: Option<Email>,
        new: Email,
    },
    Wrong {
        tries_left: u32,
    },
    /// No live code: expired, used up, or never requested (or another try at the same moment).
    Expired,
    /// The address was taken by someone else in the meantime.
    Taken,
    /// The member changed since the form was shown.
    Stale,
}

/// Confirms an email change with the code sent to the new address. A wrong try is counted
/// before it is answered: if the count cannot be recorded (another try at the same moment), the
/// answer is "expired", so tries in parallel learn nothing more than tries one after another.
pub async fn confirm_email_change(
    table: &dyn Table,
    key: &HmacKey,
    now: DateTime<Utc>,
    member: &Member,
    code: &SigninCode,
    event: &AuditEvent,
) -> Result<EmailChangeOutcome, StoreError> {
    let pkey = pending_key(member);
    let Some(item) = table.get(&pkey).await? else { return Ok(EmailChangeOutcome::Expired) };
    let version = version_of(&item);
    let mut pending: PendingEmail = record_of(&item)?;
    let before = pending.slot.clone();
    let checked = pending.slot.check(LIMITS, now, &mac(key, &member.id, &pending.email, code.expose()), !pending.taken);
    let counted = |pending: &PendingEmail| -> Result<Write, StoreError> {
        let mut updated = record_item(&pkey, "email-change", pending, version + 1)?;
        if let Some(e) = item.get(attr::EXPIRES_AT) {
            updated.insert(attr::EXPIRES_AT.into(), e.clone());
        }
        Ok(Write::Put { item: updated, condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(version))) })
    };
    let answer = match checked {
        Check::Right => None,
        Check::Wrong { tries_left } => Some(EmailChangeOutcome::Wrong { tries_left }),
        Check::Expired | Check::TooManyTries { .. } | Check::Locked { .. } => Some(EmailChangeOutcome::Expired),
    };
    if let Some(answer) = answer {
        if pending.slot == before {
            return Ok(answer);
        }
        return match table.write(counted(&pending)?).await {
            Ok(()) => Ok(answer),
            Err(StoreError::ConditionFailed) => Ok(EmailChangeOutcome::Expired),
            Err(e) => Err(e),
        };
    }
    let new = pending.email.clone();
    let updated = Member { email: Some(new.clone()), version: member.version + 1, ..member.clone() };
    let mut writes = vec![
        replace_member(member, &updated)?,
        claim_email(&new, member)?,
        Write::Delete { key: pkey, condition: Some(Condition::Equals(attr::VERSION.into(), Value::from(version))) },
        event.write()?,
    ];
    writes.extend(feed::writes(&[Change::EmailVerified { member: &updated, previous: member.email.as_ref() }], now)?);
    if let Some(old) = &member.email {
        writes.push(Write::Delete { key: email_claim_key(old), condition: None });
    }
    match table.transact(writes).await {
        Ok(()) => Ok(EmailChangeOutcome::Changed { old: member.email.clone(), new }),
        Err(StoreError::ConditionFailed) => {
            if table.get(&email_claim_key(&new)).await?.is_some() {
                Ok(EmailChangeOutcome::Taken)
            } else {
                Ok(EmailChangeOutcome::Stale)
            }
        }
        Err(e) => Err(e),
    }
}

/// Removes a member's email (they can no longer sign in). The caller refuses this for the owner.
pub async fn remove_email(table: &dyn Table, member: &Member, event: &AuditEvent) -> Result<(), StoreError> {
    let Some(old) = &member.email else { return Ok(()) };
    let updated = Member { email: None, version: member.version + 1, ..member.clone() };
    let mut writes = vec![replace_member(member, &updated)?, Write::Delete { key: email_claim_key(old), condition: None }, event.write()?];
    writes.extend(feed::writes(&[Change::ContactChanged { member: &updated, fields: &["email".to_owned()] }], event.at)?);
    table.transact(writes).await
}

/// After a member's sign-in address changed or was removed: their other sessions end (`keep`,
/// the session that made the change, stays if it is theirs), and codes sent to the old address
/// no longer work.
pub async fn address_changed(
    table: &dyn Table,
    key: &HmacKey,
    member: &Member,
    keep: Option<&crate::session::Token>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    crate::session::end_member_sessions(table, &member.account, &member.id, keep).await?;
    if let Some(old) = &member.email {
        crate::signin::void_codes(table, key, old, now).await?;
    }
    Ok(())
}

/// A member's contact form, sent.
pub struct UpdateRequest<'a> {
    /// Who sent it (the signed-in member).
    pub editor: &'a MemberId,
    /// The member as stored now.
    pub member: &'a Member,
    /// Whether `member` is the household's owner (who signs in with their address).
    pub member_is_owner: bool,
    /// The version the form was rendered with.
    pub form_version: u64,
    /// What was typed; `email` is `None` when the form had no email field (the address is not
    /// the editor's to change, and the form shows it as text).
    pub input: ContactInput<'a>,
    pub email_sent: bool,
}

/// What saving a contact form did.
#[derive(Debug)]
pub enum Updated {
    /// The details were saved (or nothing had changed); the email is as it was.
    Saved(Member),
    /// The details were saved and the email removed: the member can no longer sign in.
    EmailRemoved(Member),
    /// The details were saved and a new address waits for its code (see [`EmailChangeRequest`]).
    EmailChange { member: Member, email: Email, request: EmailChangeRequest },
    /// What was typed has errors; nothing was saved.
    Invalid(ContactErrors),
    /// The editor tried to change an address that is not theirs to change; nothing was saved.
    EmailNotTheirs,
    /// Someone changed the member since the form was rendered; nothing was saved.
    Stale,
}

/// What the owner is told when removing their own sign-in address.
pub const OWNER_KEEPS_EMAIL: &str = "The account owner signs in with this email, so it cannot be removed. Change it instead.";

/// Saves a member's contact form: the one place its rules are applied. An address the editor may
/// not change stays as it is (and a different one typed is refused); the form must be of the
/// member's current version; every field must parse; the owner keeps an address to sign in with.
/// Phones and address are saved with the audit event `event("contact.updated")`; then the email
/// is removed (`event("email.removed")`) or a change to it is started (a code for the new address).
pub async fn update(
    table: &dyn Table,
    key: &HmacKey,
    random: &dyn Random,
    now: DateTime<Utc>,
    req: UpdateRequest<'_>,
    event: &(dyn Fn(&str) -> AuditEvent + Sync),
) -> Result<Updated, StoreError> {
    let member = req.member;
    let current = member.email.as_ref().map(ToString::to_string).unwrap_or_default();
    let mut input = req.input;
    if !may_change_email(req.editor, member) {
        if req.email_sent && !input.email.trim().eq_ignore_ascii_case(&current) {
            return Ok(Updated::EmailNotTheirs);
        }
        input.email = &current;
    }
    if req.form_version != member.version {
        return Ok(Updated::Stale);
    }
    let contact = match Contact::parse(input) {
        Ok(contact) => contact,
        Err(errors) => return Ok(Updated::Invalid(errors)),
    };
    if contact.email.is_none() && member.email.is_some() && req.member_is_owner {
        return Ok(Updated::Invalid(ContactErrors { email: Some(OWNER_KEEPS_EMAIL.into()), ..Default::default() }));
    }
    let fields = changed_fields(member, &contact);
    let saved = if fields.is_empty() {
        member.clone()
    } else {
        let mut audit = event("contact.updated").subject(member.id.to_string());
        audit.fields = fields;
        match save(table, member, req.form_version, &contact, &audit).await {
            Ok(saved) => saved,
            Err(StoreError::ConditionFailed) => return Ok(Updated::Stale),
            Err(e) => return Err(e),
        }
    };
    match (contact.email, &member.email) {
        (new, old) if new.as_ref() == old.as_ref() => Ok(Updated::Saved(saved)),
        (None, Some(_)) => {
            remove_email(table, &saved, &event("email.removed").subject(member.id.to_string())).await?;
            Ok(Updated::EmailRemoved(saved))
        }
        (Some(email), _) => {
            let request = request_email_change(table, key, random, now, &saved, &email).await?;
            Ok(Updated::EmailChange { member: saved, email, request })
        }
        (None, None) => Ok(Updated::Saved(saved)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn only_a_member_changes_their_own_sign_in_email_and_the_owner_gives_one_to_a_member_without() {
        let member = |id: &str, email: Option<&str>| -> Member {
            serde_json::from_value(serde_json::json!({
                "id": id, "account": "lopez", "first_name": "A", "last_name": "B", "date_of_birth": "1990-01-02",
                "sex": "female", "relationship": "spouse", "email": email, "address": null
            }))
            .unwrap()
        };
        let owner = MemberId::parse("maria").unwrap();
        let daniel = member("daniel", Some("daniel@example.com"));
        assert!(!may_change_email(&owner, &daniel), "the owner cannot take over an adult's sign-in");
        assert!(may_change_email(&daniel.id, &daniel), "their own");
        assert!(may_change_email(&owner, &member("sofia", None)), "a child without an address");
    }

    #[test]
    fn parses_every_field_and_reports_each_error() {
        let ok = Contact::parse(ContactInput {
            email: "New@Example.com",
            phone_mobile: "512 555 0199",
            address_line1: "1 Elm",
            city: "Austin",
            state: "tx",
            postal_code: "78701",
            ..Default::default()
        })
        .unwrap();
        assert_eq!(ok.email.unwrap().as_str(), "new@example.com");
        assert_eq!(ok.phones.mobile.unwrap().e164(), "+15125550199");
        assert_eq!(ok.address.unwrap().state(), "TX");
        let none = Contact::parse(ContactInput::default()).unwrap();
        assert!(none.address.is_none() && none.email.is_none());
        let bad = Contact::parse(ContactInput {
            email: "x",
            phone_home: "1",
            phone_work: "abc",
            address_line1: "1 Elm",
            state: "Texas",
            ..Default::default()
        })
        .unwrap_err();
        assert!(bad.email.is_some() && bad.phone_home.is_some() && bad.phone_work.is_some());
        assert!(bad.address.city.is_some() && bad.address.state.is_some() && bad.address.postal_code.is_some());
        assert!(bad.phone_mobile.is_none());
    }

    struct Ones;
    impl Random for Ones {
        fn fill(&self, bytes: &mut [u8]) {
            bytes.fill(1);
        }
    }

    fn maria(version: u64) -> Member {
        serde_json::from_value(serde_json::json!({
            "id": "maria", "account": "lopez", "first_name": "Maria", "last_name": "Lopez", "date_of_birth": "1985-01-02",
            "sex": "female", "relationship": "self", "email": "maria@example.com", "phones": {}, "address": null, "version": version
        }))
        .unwrap()
    }

    /// Saves Maria's form as Maria (or as `editor`), with `email` typed and a mobile number.
    async fn saved(table: &crate::ports::MockTable, editor: &str, email: Option<&str>, mobile: &str, form_version: u64) -> Updated {
        let member = maria(3);
        let editor = MemberId::parse(editor).unwrap();
        let req = UpdateRequest {
            editor: &editor,
            member: &member,
            member_is_owner: true,
            form_version,
            input: ContactInput { email: email.unwrap_or(""), phone_mobile: mobile, ..Default::default() },
            email_sent: email.is_some(),
        };
        let now = DateTime::from_timestamp(1_790_000_000, 0).unwrap();
        let event = |action: &str| AuditEvent::new(&Ones, &member.account, Some(&editor), action, now, "");
        update(table, &HmacKey::new(vec![7; 32]), &Ones, now, req, &event).await.unwrap()
    }

    #[tokio::test]
    async fn a_contact_form_is_saved_by_its_rules_in_one_place() {
        // Nothing is read or written for a refused form (a mock with no expectations fails on any call).
        let untouched = crate::ports::MockTable::new();
        assert!(matches!(saved(&untouched, "daniel", Some("daniel@example.com"), "", 3).await, Updated::EmailNotTheirs));
        assert!(matches!(saved(&untouched, "maria", Some("maria@example.com"), "", 2).await, Updated::Stale), "an older form");
        let Updated::Invalid(errors) = saved(&untouched, "maria", Some(""), "", 3).await else { panic!("refused") };
        assert_eq!(errors.email.as_deref(), Some(OWNER_KEEPS_EMAIL), "the owner keeps an address to sign in with");
        let Updated::Invalid(errors) = saved(&untouched, "maria", Some("maria@example.com"), "12", 3).await else { panic!("refused") };
        assert!(errors.phone_mobile.is_some());
        assert!(
            matches!(saved(&untouched, "maria", Some("maria@example.com"), "", 3).await, Updated::Saved(m) if m.version == 3),
            "no change, no write"
        );
        // Another member's address is left as it is when their form has no email field.
        assert!(matches!(saved(&untouched, "daniel", None, "", 3).await, Updated::Saved(_)));

        // A new phone: one transaction with the audit event and the practice's change.
        let mut table = crate::ports::MockTable::new();
        table.expect_transact().times(1).withf(|w| w.len() == 3).returning(|_| Ok(()));
        let Updated::Saved(member) = saved(&table, "maria", Some("maria@example.com"), "512 555 0199", 3).await else { panic!("saved") };
        assert_eq!((member.version, member.phones.mobile.as_ref().map(|p| p.e164())), (4, Some("+15125550199")));
        // Someone else saved first: the condition fails and the form is stale, nothing more written.
        let mut raced = crate::ports::MockTable::new();
        raced.expect_transact().times(1).returning(|_| Err(StoreError::ConditionFailed));
        assert!(matches!(saved(&raced, "maria", Some("maria@example.com"), "512 555 0199", 3).await, Updated::Stale));
    }

    proptest! {
        #[test]
        fn parse_never_panics(a in "\\PC{0,40}", b in "\\PC{0,20}", c in "\\PC{0,12}") {
            let _ = Contact::parse(ContactInput { email: &a, phone_mobile: &b, phone_home: &c, phone_work: &a, address_line1: &a, address_line2: &b, city: &b, state: &c, postal_code: &c });
        }
    }
}
