// Progressive enhancement only: every page works without this file.
// "Print" opens the browser's print dialog instead of the print view.
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("#print") : null;
  if (link && window.print) {
    event.preventDefault();
    window.print();
  }
});

// On the pay form, opening "New card or bank account" or typing into its fields chooses it, so the
// patient pays with what they just typed, not with the saved method still selected above. (The
// server also refuses a form that names a saved method and carries new details.)
(function () {
  var details = document.querySelector("form.pay details.new-source");
  var choice = document.querySelector("form.pay input[name=source][value=new]");
  if (!details || !choice) return;
  var choose = function () { choice.checked = true; };
  details.addEventListener("toggle", function () { if (details.open) choose(); });
  details.addEventListener("input", choose);
  details.addEventListener("focusin", function (event) { if (event.target.tagName !== "SUMMARY") choose(); });
})();

// Stripe's fields, on pages that carry a setup for them (the pay form and "Add a payment method"
// when the practice takes payments through Stripe). A card's number, expiry and code are typed
// into Stripe's card field; a US bank account is found through Stripe's bank connection, which
// also shows Stripe's debit mandate. Either way the details go to Stripe only: when the form is
// sent, the setup is completed with Stripe first, and the form then carries the setup's id alone.
(function () {
  var form = document.querySelector("form[data-stripe-key]");
  var mount = document.getElementById("card-element");
  if (!form || !mount || !window.Stripe) return;
  var stripe = window.Stripe(form.getAttribute("data-stripe-key"));
  var card = stripe.elements().create("card", { hidePostalCode: false });
  card.mount(mount);
  var errors = document.getElementById("card-errors");
  var secret = form.getAttribute("data-client-secret");
  var confirmed = false;

  function setUpBank(name) {
    if (!name) return Promise.resolve({ error: { message: "Enter the name on the bank account." } });
    if (typeof stripe.collectBankAccountForSetup !== "function") {
      return Promise.resolve({ error: { message: "Bank accounts cannot be added here right now. Use a card." } });
    }
    var params = { payment_method_type: "us_bank_account", payment_method_data: { billing_details: { name: name } } };
    return stripe.collectBankAccountForSetup({ clientSecret: secret, params: params }).then(function (found) {
      if (found.error) return found;
      if (found.setupIntent.status !== "requires_confirmation") {
        return { error: { message: "The bank account was not connected. Try again, or use a card." } };
      }
      return stripe.confirmUsBankAccountSetup(secret).then(function (done) {
        if (done.error || done.setupIntent.status === "succeeded") return done;
        return { error: { message: "Your bank account must first be verified with two small deposits: Stripe will email you how. Add it again once it is verified." } };
      });
    });
  }

  form.addEventListener("submit", function (event) {
    var choice = form.querySelector("input[name=source]:checked");
    if (confirmed || (choice && choice.value !== "new")) return; // a saved method needs no Stripe step
    event.preventDefault();
    var kind = form.querySelector("input[name=new_kind]:checked");
    var holder = form.querySelector("input[name=account_holder]");
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    if (errors) errors.textContent = "Checking with Stripe…";
    var step = kind && kind.value === "bank"
      ? setUpBank(holder ? holder.value.trim() : "")
      : stripe.confirmCardSetup(secret, { payment_method: { card: card } });
    step.then(function (result) {
      if (result.error) {
        if (errors) errors.textContent = result.error.message || "That was not accepted. Check it and try again.";
        if (button) button.disabled = false;
        return;
      }
      confirmed = true;
      if (errors) errors.textContent = "";
      form.submit();
    });
  });
})();

// The bank's 3-D Secure step for a payment that needs it: Stripe.js opens it, then the receipt
// (which asks Stripe what became of the payment) follows, whatever the answer.
(function () {
  var step = document.getElementById("confirm-payment");
  if (!step || !window.Stripe) return;
  var stripe = window.Stripe(step.getAttribute("data-stripe-key"));
  stripe.confirmCardPayment(step.getAttribute("data-payment-secret")).then(function () {
    window.location.assign(step.getAttribute("data-next"));
  });
})();
