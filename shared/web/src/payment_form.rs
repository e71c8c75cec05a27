//! The new card / bank account fields that the pay form and the new payment method form share.

use chrono::NaiveDate;
use portal_domain::card::{parse_bank, parse_card, NewSource, SourceErrors};
use portal_templates::pay::NewSourceValues;

use crate::form::Form;

/// What may be shown again of the typed fields: never the card number, CVC or account number.
pub fn values(form: &Form) -> NewSourceValues {
    form.decode()
}

/// Whether the form carries new card or bank details typed into the portal's own fields (on
/// Stripe, new details go to Stripe and only when "new" is chosen, so none arrive here).
pub fn typed_new(form: &Form) -> bool {
    ["card_number", "cvc", "routing_number", "account_number"].iter().any(|name| !form.text(name).trim().is_empty())
}

/// The new source the form describes: a card unless `new_kind` is `bank`.
pub fn parse(form: &Form, today: NaiveDate) -> Result<NewSource, SourceErrors> {
    if form.text("new_kind") == "bank" {
        parse_bank(form.text("account_holder"), form.text("routing_number"), form.text("account_number"), form.text("account_type"))
            .map(NewSource::Bank)
    } else {
        parse_card(
            form.text("card_number"),
            form.text("exp_month"),
            form.text("exp_year"),
            form.text("cvc"),
            form.text("postal_code"),
            today,
        )
        .map(NewSource::Card)
    }
}
