//! The emails a payment's outcome sends the household's owner (and a receipt to the member who
//! paid, when billing is shared with them), whichever function learns of it
//! (the pay form, the receipt page after a 3-D Secure step, or Stripe's event days later).

use portal_domain::store::HouseholdRecords;
use portal_domain::{Invoice, Money, Payment};
use portal_templates::emails::{self, ReceiptEmail};
use portal_templates::routes::Route;

use crate::App;

fn owner_email(records: &HouseholdRecords) -> Option<String> {
    let owner = records.household.as_ref().and_then(|h| records.member(&h.owner))?;
    owner.email.as_ref().map(|e| e.as_str().to_owned())
}

/// The household as a receipt names it: its name and its owner ("Lopez household · Maria Lopez").
fn household_name(records: &HouseholdRecords) -> String {
    let Some(household) = &records.household else { return String::new() };
    match records.member(&household.owner) {
        Some(owner) => format!("{} · {}", household.name, owner.full_name()),
        None => household.name.clone(),
    }
}

/// What a receipt email tells of a payment: its first part (whose receipt page lists them all),
/// the invoices it paid, the amount in all, and the balance left on those invoices after it.
pub struct Receipt<'a> {
    pub first: &'a Payment,
    /// The invoices it paid (one, unless it paid several at once).
    pub invoices: &'a [&'a portal_domain::Invoice],
    pub total: Money,
    pub new_balance: Money,
    /// Who paid, when it is known (the signed-in member): a member billing is shared with gets
    /// the receipt too, beside the owner.
    pub payer: Option<&'a portal_domain::MemberId>,
}

/// Emails a receipt to the owner, and to the member who paid if that is someone else. A mail
/// failure does not undo the payment: it is logged.
pub async fn receipt(app: &App, public_url: &str, records: &HouseholdRecords, r: &Receipt<'_>) {
    let payer = r.payer.filter(|p| records.household.as_ref().is_some_and(|h| &h.owner != *p)).and_then(|p| records.member(p));
    let recipients = owner_email(records).into_iter().chain(payer.and_then(|m| m.email.as_ref()).map(|e| e.as_str().to_owned()));
    for to in recipients {
        send_receipt(app, public_url, records, r, &to).await;
    }
}

async fn send_receipt(app: &App, public_url: &str, records: &HouseholdRecords, r: &Receipt<'_>, to: &str) {
    let practice = app.config.practice_name.clone();
    let numbers: Vec<&str> = r.invoices.iter().map(|i| i.number()).collect();
    let linked: Vec<_> = r.invoices.iter().map(|i| (i.id(), i.issued())).collect();
    let message = emails::receipt(&ReceiptEmail {
        to,
        practice: &practice,
        invoice_numbers: &numbers,
        amount: r.total.to_string(),
        source: r.first.source.describe(),
        new_balance: r.new_balance.to_string(),
        reference: r.first.id.as_str(),
        date: app.date_of(r.first.at).format("%b %-d, %Y").to_string(),
        household: &household_name(records),
        receipt_url: format!("{public_url}{}", Route::Payment(r.first.id.clone()).receipt_link(&linked)),
    });
    if let Err(e) = app.mailer.send(message).await {
        tracing::warn!(error = %e, "receipt email not sent");
    }
}

/// Tells the owner a payment that was processing (a bank debit) did not go through, and that
/// the amount is due again. `total` and `numbers` are the whole payment's (several invoices, for
/// "Pay total due"); the link goes to the first invoice's pay page.
#[allow(clippy::too_many_arguments)]
pub async fn payment_failed(
    app: &App,
    public_url: &str,
    records: &HouseholdRecords,
    invoice: &Invoice,
    payment: &Payment,
    total: Money,
    numbers: &[&str],
    reason: &str,
) {
    let Some(to) = owner_email(records) else { return };
    let on = portal_domain::pay::invoices_phrase(numbers);
    let subject = format!("Your payment of {total} on {on} did not go through");
    let lines = vec![
        format!("Your payment of {total} with {} on {on} did not go through.", payment.source.describe()),
        reason.to_owned(),
        "Nothing was taken, and the amount is due again. You can pay it with another method in the portal.".to_owned(),
    ];
    let pay_again =
        if numbers.len() > 1 { Route::PayDue.path() } else { Route::PayInvoice(invoice.id().clone()).pay_link(invoice.issued()) };
    let link = format!("{public_url}{pay_again}");
    let message = emails::notice(&to, &app.config.practice_name, &subject, &lines, &link);
    if let Err(e) = app.mailer.send(message).await {
        tracing::warn!(error = %e, "payment failure email not sent");
    }
}
