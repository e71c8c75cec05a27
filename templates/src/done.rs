//! What an action did, told on the page its redirect lands on (`?done=…`). One list, so the
//! action that sets a notice and the page that shows it cannot drift apart, and a link can only
//! make a page say one of these sentences.

use crate::routes::Route;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Done {
    /// Contact details saved.
    Saved,
    /// Saved, and a code went to the new address.
    Verify,
    EmailChanged,
    /// A dependent was added with an address that waits for its code.
    AddedVerify,
    /// A dependent was added.
    Added,
    Renewed,
    BillingShared,
    BillingStopped,
    MethodAdded,
    MethodExists,
    MethodRemoved,
    MethodDefault,
    /// A request to leave went to the practice.
    LeavingRequested,
    /// Leaving was scheduled at once.
    LeavingScheduled,
    LeavingWithdrawn,
    AutopayOn,
    AutopayOff,
}

impl Done {
    const ALL: [Done; 17] = [
        Done::Saved,
        Done::Verify,
        Done::EmailChanged,
        Done::AddedVerify,
        Done::Added,
        Done::Renewed,
        Done::BillingShared,
        Done::BillingStopped,
        Done::MethodAdded,
        Done::MethodExists,
        Done::MethodRemoved,
        Done::MethodDefault,
        Done::LeavingRequested,
        Done::LeavingScheduled,
        Done::LeavingWithdrawn,
        Done::AutopayOn,
        Done::AutopayOff,
    ];

    /// As the query carries it.
    pub fn slug(self) -> &'static str {
        match self {
            Done::Saved => "saved",
            Done::Verify => "verify",
            Done::EmailChanged => "email-changed",
            Done::AddedVerify => "added-verify",
            Done::Added => "added",
            Done::Renewed => "renewed",
            Done::BillingShared => "billing-shared",
            Done::BillingStopped => "billing-stopped",
            Done::MethodAdded => "added",
            Done::MethodExists => "exists",
            Done::MethodRemoved => "removed",
            Done::MethodDefault => "default",
            Done::LeavingRequested => "leaving-requested",
            Done::LeavingScheduled => "leaving-scheduled",
            Done::LeavingWithdrawn => "leaving-withdrawn",
            Done::AutopayOn => "autopay-on",
            Done::AutopayOff => "autopay-off",
        }
    }

    /// The notice `route`'s page shows for its `done` query, if it is one of that page's.
    pub fn on(route: &Route, query: Option<&str>) -> Option<Done> {
        Done::ALL.into_iter().find(|d| Some(d.slug()) == query && d.page_matches(route))
    }

    /// The page whose redirect carries it.
    fn page_matches(self, route: &Route) -> bool {
        match self {
            Done::Saved | Done::Verify | Done::EmailChanged | Done::AddedVerify => matches!(route, Route::MemberContact(_)),
            Done::Added | Done::Renewed | Done::LeavingRequested | Done::LeavingScheduled | Done::LeavingWithdrawn => {
                *route == Route::Memberships
            }
            Done::BillingShared | Done::BillingStopped => *route == Route::Members,
            Done::MethodAdded | Done::MethodExists | Done::MethodRemoved | Done::MethodDefault | Done::AutopayOn | Done::AutopayOff => {
                *route == Route::PaymentMethods
            }
        }
    }

    /// What the page says.
    pub fn message(self) -> &'static str {
        match self {
            Done::Saved => "Your changes were saved.",
            Done::Verify => "Your changes were saved. Enter the code we emailed to the new address to finish changing the email.",
            Done::EmailChanged => "The email address was changed. Use it to sign in from now on.",
            Done::AddedVerify => {
                "They were added to the membership. To finish adding their email, enter the code we emailed to that address (ask them for it)."
            }
            Done::Added => "The new member was added. They join on the next bill date.",
            Done::Renewed => "Your membership was renewed. The new term is below.",
            Done::BillingShared => "Billing is shared. They see it the next time they sign in.",
            Done::BillingStopped => "Billing is no longer shared. They were signed out of the portal.",
            Done::MethodAdded => "The payment method was added.",
            Done::MethodExists => "That payment method is already on file.",
            Done::MethodRemoved => "The payment method was removed.",
            Done::MethodDefault => "The default payment method was changed.",
            Done::LeavingRequested => "Your request was sent to the practice. It shows below until the practice confirms it; you can withdraw it until then.",
            Done::LeavingScheduled => "Done: the end date is set below, and nothing after it will be billed.",
            Done::LeavingWithdrawn => "Your request was withdrawn. Nothing changes.",
            Done::AutopayOn => "Automatic payment is on. A copy of the authorization was emailed to you.",
            Done::AutopayOff => "Automatic payment is off. Nothing more will be charged automatically.",
        }
    }

    /// The redirect's query.
    pub fn query(self) -> String {
        format!("done={}", self.slug())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portal_domain::MemberId;

    #[test]
    fn each_notice_reads_back_on_its_own_page_only() {
        let contact = Route::MemberContact(MemberId::parse("maria").unwrap());
        for done in Done::ALL {
            let pages = [&contact, &Route::Members, &Route::Memberships, &Route::PaymentMethods];
            let shown: Vec<_> = pages.iter().filter(|r| Done::on(r, Some(done.slug())) == Some(done)).collect();
            assert_eq!(shown.len(), 1, "{done:?} is shown on exactly one page");
        }
        assert_eq!(Done::on(&Route::Memberships, Some("saved")), None, "another page's notice");
        assert_eq!(Done::on(&Route::Memberships, Some("<script>")), None);
        assert_eq!(Done::on(&Route::Memberships, None), None);
    }
}
