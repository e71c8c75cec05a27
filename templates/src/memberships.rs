//! Memberships: current, upcoming and previous terms; renewal; adding a dependent.

use chrono::NaiveDate;
use maud::{html, Markup};
use portal_domain::enrol::{DependentErrors, Quote};
use portal_domain::leaving::{self, Leaving, LeavingMode, LeavingStatus, Reason};
use portal_domain::{Member, MemberId, Membership, MembershipStatus};

use crate::date;
use crate::layout::{alert, csrf, field, notice, page, Chrome, Field};
use crate::routes::Route;

/// How a term stands today.
fn stage(ms: &Membership, today: NaiveDate) -> &'static str {
    if ms.status == MembershipStatus::Ended || ms.contract_end < today {
        "Previous"
    } else if ms.contract_start > today {
        "Upcoming"
    } else {
        "Current"
    }
}

/// Where a request to leave stands, as Memberships shows it; the owner may withdraw one the
/// practice has not acted on.
fn leaving_status(ms: &Membership, l: &Leaving, name: &dyn Fn(&MemberId) -> String, csrf_token: Option<&str>) -> Markup {
    let who = l.member.as_ref().map(name);
    html! {
        div.notice.leaving role="status" {
            @match (l.status, &who) {
                (LeavingStatus::Requested, Some(who)) => p { strong { "Removal requested" } ": " (who) ", from " (date(l.effective + chrono::Days::new(1))) ". The practice will confirm it." },
                (LeavingStatus::Requested, None) => p { strong { "Cancellation requested" } ": the membership would end on " (date(l.effective)) ". The practice will confirm it." },
                (LeavingStatus::Scheduled, Some(who)) => p { strong { "Removed" } ": " (who) " is covered until " (date(l.effective)) " and not billed after it." },
                (LeavingStatus::Scheduled, None) => p { strong { "Cancelled" } ": the membership ends on " (date(l.effective)) " and nothing after it is billed." },
            }
            @if let (LeavingStatus::Requested, Some(token)) = (l.status, csrf_token) {
                form method="post" action=(Route::WithdrawLeaving(ms.id.clone()).path()) {
                    (csrf(token))
                    button.secondary type="submit" { "Withdraw request" }
                }
            }
        }
    }
}

fn term(ms: &Membership, members: &[Member], today: NaiveDate, csrf_token: Option<&str>) -> Markup {
    let owner = csrf_token.is_some();
    let stage = stage(ms, today);
    let name = |id: &portal_domain::MemberId| {
        members.iter().find(|m| &m.id == id).map(Member::full_name).unwrap_or_else(|| "Former member".into())
    };
    html! {
        section.membership data-membership=(ms.id) aria-labelledby=(format!("ms-{}", ms.id)) {
            h2 id=(format!("ms-{}", ms.id)) { (ms.plan.name()) " " span.badge.(stage.to_lowercase()) { (stage) } }
            dl.summary-list {
                dt { "Contract" } dd { (date(ms.contract_start)) " – " (date(ms.contract_end)) }
                dt { "Amount" } dd.amount { (ms.amount()) " per " (ms.plan.period().noun()) }
                @if stage != "Previous" {
                    @if let Some(next) = ms.next_bill_date { dt { "Next bill date" } dd.next-bill { (date(next)) } }
                }
            }
            div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                table.enrolled {
                    caption.visually-hidden { "Members on this membership" }
                    thead { tr { th scope="col" { "Member" } th scope="col" { "Start" } th scope="col" { "End" } th scope="col" .num { "Rate" } } }
                    tbody {
                        @for e in &ms.enrollments {
                            tr {
                                th scope="row" data-label="Member" { (name(&e.member)) }
                                td data-label="Start" { (date(e.start)) }
                                td data-label="End" { @if let Some(end) = e.end { (date(end)) } @else { "—" } }
                                td.num data-label="Rate" { (e.rate) }
                            }
                        }
                    }
                }
            }
            @if let Some(l) = &ms.leaving { (leaving_status(ms, l, &name, csrf_token)) }
            @if owner && stage != "Previous" {
                div.actions {
                    @if ms.is_renewable(today) {
                        a.button href=(Route::Renew(ms.id.clone()).path()) { "Renew membership" }
                    }
                    @if stage == "Current" && ms.accepts_new_members(today) {
                        a.button.secondary href=(Route::NewDependent(ms.id.clone()).path()) { "+ Add new member" }
                    }
                    @if stage == "Current" && leaving::quote(ms, None, today).is_ok() {
                        a.button.secondary href=(Route::Leave(ms.id.clone()).path()) { "Cancel or remove a member" }
                    }
                }
                @if !ms.is_renewable(today) && ms.renewed_by.is_none() && stage == "Current" {
                    p.small.muted { "Renewal opens on " (date(ms.renewal_opens())) ", 90 days before the contract ends." }
                }
            }
        }
    }
}

/// `/memberships`.
pub fn list_page(
    chrome: &Chrome<'_>,
    memberships: &[Membership],
    members: &[Member],
    today: NaiveDate,
    // The owner's form token: the owner manages the memberships; others see them read-only.
    csrf_token: Option<&str>,
    info: Option<&str>,
) -> Markup {
    let mut ordered: Vec<&Membership> = memberships.iter().collect();
    ordered.sort_by_key(|m| std::cmp::Reverse(m.contract_start));
    let body = html! {
        h1 { "Memberships" }
        @if let Some(i) = info { (notice(i)) }
        @if ordered.is_empty() { p { "No memberships yet." } }
        @for ms in ordered { (term(ms, members, today, csrf_token)) }
    };
    page(chrome, "Memberships", body)
}

/// `/memberships/{id}/renew`: the new term and its price, or why renewal is not offered.
pub fn renew_page(
    chrome: &Chrome<'_>,
    csrf_token: &str,
    ms: &Membership,
    next: Option<&Membership>,
    members: &[Member],
    today: NaiveDate,
    message: Option<&str>,
) -> Markup {
    let name = |id: &portal_domain::MemberId| members.iter().find(|m| &m.id == id).map(Member::full_name).unwrap_or_default();
    let body = html! {
        p.back { a href=(Route::Memberships.path()) { "← Memberships" } }
        h1 { "Renew " (ms.plan.name()) }
        @if let Some(m) = message { (alert("error", m)) }
        @match next {
            Some(next) => {
                p { "Your contract ends on " (date(ms.contract_end)) ". Renewing starts a new " (ms.plan.contract_months()) "-month term:" }
                dl.summary-list {
                    dt { "New term" } dd #new-term { (date(next.contract_start)) " – " (date(next.contract_end)) }
                    dt { "Amount" } dd #new-amount { (next.amount()) " per " (next.plan.period().noun()) }
                }
                div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
                    table {
                        caption { "Rates by each member's age on " (date(next.contract_start)) }
                        thead { tr { th scope="col" { "Member" } th scope="col" .num { "Rate" } } }
                        tbody { @for e in &next.enrollments { tr { th scope="row" { (name(&e.member)) } td.num { (e.rate) } } } }
                    }
                }
                form method="post" action=(Route::Renew(ms.id.clone()).path()) {
                    (csrf(csrf_token))
                    button.primary type="submit" { "Confirm renewal" }
                }
            }
            None => {
                @if ms.renewed_by.is_some() {
                    p { "This membership has been renewed. The new term is on your memberships page." }
                } @else if ms.status == MembershipStatus::Ended || ms.contract_end < today {
                    p { "This membership has ended and can no longer be renewed. Call the practice to join again." }
                } @else {
                    p #renewal-opens { "Renewal opens on " (date(ms.renewal_opens())) ", 90 days before your contract ends on " (date(ms.contract_end)) "." }
                }
                p { a href=(Route::Memberships.path()) { "Back to memberships" } }
            }
        }
    };
    page(chrome, "Renew membership", body)
}

/// The dependent form: the fields as the page names them, read from a sent form
/// (`Form::decode`) and shown again (the price page carries them on); one struct for the handler
/// and the pages.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct DependentValues {
    pub first_name: String,
    pub last_name: String,
    pub date_of_birth: String,
    pub sex: String,
    pub relationship: String,
    pub email: String,
    pub phone_mobile: String,
}

impl DependentValues {
    /// The fields as the domain parses them.
    pub fn input(&self) -> portal_domain::enrol::DependentInput<'_> {
        portal_domain::enrol::DependentInput {
            first_name: &self.first_name,
            last_name: &self.last_name,
            date_of_birth: &self.date_of_birth,
            sex: &self.sex,
            relationship: &self.relationship,
            email: &self.email,
            phone_mobile: &self.phone_mobile,
        }
    }
}

fn select(name: &str, label: &str, value: &str, options: &[(&str, &str)], error: Option<&str>) -> Markup {
    let id = format!("f-{name}");
    let error_id = format!("{id}-error");
    html! {
        div.field.invalid[error.is_some()] {
            label for=(id) { (label) }
            @if let Some(e) = error { p.error id=(error_id) { (e) } }
            select id=(id) name=(name) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| error_id.as_str())] {
                option value="" selected[value.is_empty()] { "Choose…" }
                @for (v, text) in options { option value=(v) selected[value == *v] { (text) } }
            }
        }
    }
}

fn dependent_fields(v: &DependentValues, e: &DependentErrors) -> Markup {
    html! {
        (field(&Field { value: &v.first_name, error: e.first_name.as_deref(), autocomplete: Some("off"), ..Field::new("first_name", "First name") }))
        (field(&Field { value: &v.last_name, error: e.last_name.as_deref(), autocomplete: Some("off"), ..Field::new("last_name", "Last name") }))
        (field(&Field { kind: "date", value: &v.date_of_birth, error: e.date_of_birth.as_deref(), ..Field::new("date_of_birth", "Date of birth") }))
        (select("sex", "Sex", &v.sex, &[("female", "Female"), ("male", "Male"), ("other", "Other"), ("unknown", "Prefer not to say")], e.sex.as_deref()))
        (select("relationship", "Relationship to you", &v.relationship, &[("child", "Child"), ("spouse", "Spouse or partner"), ("other", "Other dependent")], e.relationship.as_deref()))
        (field(&Field { kind: "email", value: &v.email, error: e.email.as_deref(), hint: Some("Optional. Lets them sign in to see their own details."), autocomplete: Some("off"), ..Field::new("email", "Email") }))
        (field(&Field { kind: "tel", value: &v.phone_mobile, error: e.phone_mobile.as_deref(), hint: Some("Optional."), autocomplete: Some("off"), ..Field::new("phone_mobile", "Mobile phone") }))
    }
}

/// `/memberships/{id}/dependents/new`: the dependent's details.
pub fn dependent_form(
    chrome: &Chrome<'_>,
    csrf_token: &str,
    ms: &Membership,
    v: &DependentValues,
    e: &DependentErrors,
    message: Option<&str>,
) -> Markup {
    let body = html! {
        p.back { a href=(Route::Memberships.path()) { "← Memberships" } }
        h1 { "Add a new member" }
        @if let Some(m) = message { (alert("error", m)) }
        p { "They join " (ms.plan.name()) " on the next bill date. You will see the new price before anything changes." }
        form.narrow-form method="post" action=(Route::NewDependent(ms.id.clone()).path()) novalidate {
            (csrf(csrf_token))
            (dependent_fields(v, e))
            button.primary type="submit" { "See the new price" }
        }
    };
    page(chrome, "Add a new member", body)
}

/// The quote, with every value carried in hidden fields to confirm.
pub fn quote_page(chrome: &Chrome<'_>, csrf_token: &str, ms: &Membership, v: &DependentValues, q: &Quote, key: &str) -> Markup {
    let body = html! {
        p.back { a href=(Route::Memberships.path()) { "← Memberships" } }
        h1 { "New price with " (v.first_name) " " (v.last_name) }
        p { (v.first_name) " joins on " strong #start-date { (date(q.start)) } ", your next bill date." }
        @if let Some((renewed_start, renewed_rate)) = q.next_term {
            p #renewed-term {
                "Your membership is already renewed from " (date(renewed_start)) ": " (v.first_name) " joins that term too, at "
                strong { (renewed_rate) } " per " (ms.plan.period().noun()) "."
            }
        }
        div.table-wrap tabindex="0" role="region" aria-label="Scrollable table" {
            table.quote {
                thead { tr { th scope="col" { "Member" } th scope="col" .num { "Rate per " (ms.plan.period().noun()) } } }
                tbody {
                    @for (_, name, rate) in &q.current { tr { th scope="row" { (name) } td.num { (rate) } } }
                    tr.new-member { th scope="row" { (v.first_name) " " (v.last_name) " (new)" } td.num #new-rate { (q.new_rate) } }
                }
                tfoot {
                    tr { th scope="row" { "Now" } td.num { (q.total_before) } }
                    tr.due { th scope="row" { "From " (date(q.start)) } td.num #new-total { (q.total_after) } }
                }
            }
        }
        form method="post" action=(Route::ConfirmDependent(ms.id.clone()).path()) {
            (csrf(csrf_token))
            input type="hidden" name="enrolment_key" value=(key);
            @for (name, value) in [("first_name", &v.first_name), ("last_name", &v.last_name), ("date_of_birth", &v.date_of_birth), ("sex", &v.sex), ("relationship", &v.relationship), ("email", &v.email), ("phone_mobile", &v.phone_mobile)] {
                input type="hidden" name=(name) value=(value);
            }
            div.actions {
                button.primary type="submit" { "Confirm and add" }
                // Back to the form with what was typed (a POST, so the details stay out of the address bar).
                button.secondary type="submit" formaction=(Route::NewDependent(ms.id.clone()).path()) name="change" value="1" { "Change details" }
            }
        }
    };
    page(chrome, "Confirm the new price", body)
}

/// The leave form: who leaves (the whole membership, or one member), why, and a note. Read from a
/// sent form (`Form::decode`) and carried through the review.
#[derive(Debug, Default, Clone, serde::Deserialize)]
#[serde(default)]
pub struct LeaveValues {
    /// `membership`, or a member's id.
    pub who: String,
    pub reason: String,
    pub note: String,
    /// Sent by the review's "Confirm" button.
    pub confirm: String,
    /// Sent by the review's "Change" button.
    pub edit: String,
}

/// What is wrong with a sent leave form.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LeaveErrors {
    pub who: Option<String>,
    pub reason: Option<String>,
    pub note: Option<String>,
}

impl LeaveErrors {
    pub fn is_empty(&self) -> bool {
        *self == LeaveErrors::default()
    }
}

/// `/memberships/{id}/leave`: who leaves, and why. `offer` is the members who may be removed
/// (`leaving::removable`), or why leaving is not offered.
pub fn leave_form(
    chrome: &Chrome<'_>,
    csrf_token: &str,
    ms: &Membership,
    members: &[Member],
    v: &LeaveValues,
    errors: &LeaveErrors,
    offer: Result<&[&MemberId], &str>,
) -> Markup {
    let name = |id: &MemberId| members.iter().find(|m| &m.id == id).map(Member::full_name).unwrap_or_default();
    let terms = ms.plan.leaving();
    let body = html! {
        p.back { a href=(Route::Memberships.path()) { "← Memberships" } }
        h1 { "Cancel or remove a member" }
        p.lede { (ms.plan.name()) ", " (date(ms.contract_start)) " – " (date(ms.contract_end)) }
        @match offer {
        Err(r) => {
            (alert("error", r))
            p { a href=(Route::Memberships.path()) { "Back to memberships" } }
        }
        Ok(removable) => {
            @if !errors.is_empty() { (alert("error", "Please correct the fields marked below.")) }
            p { "Nothing changes until you confirm on the next page, which shows the date it takes effect, what will no longer be billed, and any fee or refund." }
            p.small.muted {
                "Your plan's terms: " (terms.notice_days) " days' notice; "
                @match terms.early_termination_fee { Some(fee) => { "a " (fee) " fee for cancelling before the contract ends; " } None => { "no fee for cancelling early; " } }
                @if terms.refund_unearned { "fees paid for days after you leave are refunded." } @else { "fees already paid are not refunded." }
            }
            form method="post" action=(Route::Leave(ms.id.clone()).path()) novalidate {
                (csrf(csrf_token))
                fieldset.field.invalid[errors.who.is_some()] aria-describedby=[errors.who.as_ref().map(|_| "who-error")] {
                    legend { "What would you like to do?" }
                    @if let Some(e) = &errors.who { p.error #who-error { (e) } }
                    label.choice { input type="radio" name="who" value="membership" checked[v.who == "membership"]; " Cancel the membership for everyone" }
                    @for id in removable {
                        label.choice { input type="radio" name="who" value=(id) checked[v.who == id.as_str()]; " Remove " (name(id)) " from the membership" }
                    }
                }
                (reason_select(&v.reason, errors.reason.as_deref()))
                div.field.invalid[errors.note.is_some()] {
                    label for="f-note" { "Anything you would like the practice to know" }
                    p.hint #f-note-hint { "Optional, up to " (portal_domain::leaving::NOTE_LIMIT) " characters." }
                    @if let Some(e) = &errors.note { p.error #f-note-error { (e) } }
                    textarea #f-note name="note" rows="3" maxlength=(portal_domain::leaving::NOTE_LIMIT) aria-invalid=[errors.note.as_ref().map(|_| "true")]
                        aria-describedby=(if errors.note.is_some() { "f-note-hint f-note-error" } else { "f-note-hint" }) { (v.note) }
                }
                button.primary type="submit" { "Review" }
            }
        }
        }
    };
    page(chrome, "Cancel or remove a member", body)
}

fn reason_select(value: &str, error: Option<&str>) -> Markup {
    let options: Vec<(&str, &str)> = Reason::ALL.iter().map(|r| (r.slug(), r.label())).collect();
    select("reason", "Reason", value, &options, error)
}

/// The review before anything changes: what leaving means under the plan's terms.
#[allow(clippy::too_many_arguments)]
pub fn leave_review(
    chrome: &Chrome<'_>,
    csrf_token: &str,
    ms: &Membership,
    members: &[Member],
    q: &leaving::Quote,
    v: &LeaveValues,
    mode: LeavingMode,
    message: Option<&str>,
) -> Markup {
    let who = q.member.as_ref().map(|id| members.iter().find(|m| &m.id == id).map(Member::full_name).unwrap_or_default());
    let noun = ms.plan.period().noun();
    let title = match &who {
        Some(name) => format!("Remove {name}"),
        None => "Cancel the membership".to_owned(),
    };
    let reason = Reason::parse(&v.reason).map(Reason::label).unwrap_or_default();
    let hidden = html! {
        (csrf(csrf_token))
        input type="hidden" name="who" value=(v.who);
        input type="hidden" name="reason" value=(v.reason);
        input type="hidden" name="note" value=(v.note);
    };
    let body = html! {
        p.back { a href=(Route::Memberships.path()) { "← Memberships" } }
        h1 { "Review: " (title) }
        @if let Some(m) = message { (alert("error", m)) }
        dl.summary-list #leave-summary {
            dt { "Membership" } dd { (ms.plan.name()) }
            dt { "Takes effect" } dd #leave-effective { "Covered through " (date(q.effective)) }
            dt { "No longer billed" } dd #leave-stops {
                (q.stops) " per " (noun) " from " (date(q.effective + chrono::Days::new(1)))
                @if who.is_some() { " (the membership goes on at " (q.remains) " per " (noun) ")" }
            }
            dt { "Early-termination fee" } dd #leave-fee {
                @if q.fee.is_zero() {
                    @if who.is_none() && q.within_term { "None: your plan has no fee for leaving early" }
                    @else if who.is_none() { "None: the membership ends with its contract term" }
                    @else { "None for removing a member" }
                } @else {
                    (q.fee) ", as your plan sets for cancelling before the contract ends on " (date(ms.contract_end))
                }
            }
            dt { "Refund" } dd #leave-refund {
                @if q.refund.is_zero() {
                    @if q.terms.refund_unearned { "Nothing paid in advance for days after it" } @else { "Your plan does not refund fees already paid" }
                } @else {
                    "Up to " (q.refund) ": what was paid for days after " (date(q.effective)) ", refunded by the practice"
                }
            }
            dt { "Reason" } dd { (reason) @if !v.note.trim().is_empty() { br; span.small.muted { (v.note.trim()) } } }
        }
        p.small.muted {
            "Your plan's terms: " (q.terms.notice_days) " days' notice"
            @if let Some(fee) = q.terms.early_termination_fee { "; a " (fee) " fee for cancelling before the contract ends" }
            "."
        }
        @match mode {
            LeavingMode::Request => p { "The practice confirms your request. Until it does, you can withdraw it from your memberships page." },
            LeavingMode::Immediate => p { "This takes effect when you confirm: the end date is set and nothing after it is billed." },
        }
        div.actions {
            form method="post" action=(Route::Leave(ms.id.clone()).path()) {
                (hidden)
                // Carries the figures shown, so a confirm after they changed does nothing.
                button.primary type="submit" name="confirm" value=(v.confirm) { @if who.is_some() { "Confirm removal" } @else { "Confirm cancellation" } }
            }
            form method="post" action=(Route::Leave(ms.id.clone()).path()) {
                (hidden)
                button.secondary type="submit" name="edit" value="1" { "Change" }
            }
        }
    };
    page(chrome, &format!("Review: {title}"), body)
}
