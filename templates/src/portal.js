// Progressive enhancement only: every page works without this file.
// "Print" opens the browser's print dialog instead of the print view.
document.addEventListener("click", function (event) {
  var link = event.target.closest ? event.target.closest("#print") : null;
  if (link && window.print) {
    event.preventDefault();
    window.print();
  }
});

// Stripe's card field, on pages that carry a setup for it (the pay form and "Add a payment
// method" when the practice takes payments through Stripe). The card number, expiry and code are
// typed into Stripe's field and sent by Stripe.js to Stripe only; when the form is sent, the
// setup is confirmed with Stripe first, and the form then carries the setup's id alone.
(function () {
  var form = document.querySelector("form[data-stripe-key]");
  var mount = document.getElementById("card-element");
  if (!form || !mount || !window.Stripe) return;
  var stripe = window.Stripe(form.getAttribute("data-stripe-key"));
  var card = stripe.elements().create("card", { hidePostalCode: false });
  card.mount(mount);
  var errors = document.getElementById("card-errors");
  var confirmed = false;
  form.addEventListener("submit", function (event) {
    var choice = form.querySelector("input[name=source]:checked");
    if (confirmed || (choice && choice.value !== "new")) return; // a saved method needs no card field
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    if (button) button.disabled = true;
    if (errors) errors.textContent = "Checking the card with Stripe…";
    stripe.confirmCardSetup(form.getAttribute("data-client-secret"), { payment_method: { card: card } }).then(function (result) {
      if (result.error) {
        if (errors) errors.textContent = result.error.message || "The card was not accepted. Check it and try again.";
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
