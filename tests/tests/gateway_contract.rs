//! One contract for every payment processor the portal can use: the sandbox, and Stripe's
//! adapter against localstripe (`scripts/test` starts it). Each case runs on both, through the
//! `PaymentGateway` port only; what a processor offers that the other lacks is said per case.

use std::sync::Arc;

use portal_adapters::{OsRandom, SandboxGateway};
use portal_domain::card::{parse_card, NewSource};
use portal_domain::ports::{ChargeOutcome, ChargeRequest, PaymentGateway, SetupResult};
use portal_domain::{Money, SourceDetails};
use portal_tests::faults::{Fault, FaultyGateway};
use portal_tests::stripe::{self, Browser};

/// The behaviours a test card can have.
#[derive(Clone, Copy)]
enum Card {
    Succeeds,
    Declined,
}

/// A processor and how to give it a saved source for a household.
struct Backend {
    name: &'static str,
    gateway: Arc<dyn PaymentGateway>,
    kind: Kind,
}

enum Kind {
    Sandbox(Arc<SandboxGateway>),
    Stripe(Box<Browser>),
}

impl Backend {
    fn sandbox() -> Backend {
        let sandbox = Arc::new(SandboxGateway::new(Box::new(OsRandom)));
        Backend { name: "sandbox", gateway: sandbox.clone(), kind: Kind::Sandbox(sandbox) }
    }

    fn stripe() -> Backend {
        Backend { name: "localstripe", gateway: stripe::gateway(), kind: Kind::Stripe(Box::new(Browser::new())) }
    }

    fn both() -> [Backend; 2] {
        [Backend::sandbox(), Backend::stripe()]
    }

    /// A new household's customer at the processor.
    async fn customer(&self) -> String {
        let account = format!("acct-{}", std::process::id());
        self.gateway.create_customer(&account, "Maria Lopez").await.expect("a customer")
    }

    /// A source saved on `customer` that charges as `card` says.
    async fn source(&self, customer: &str, card: Card) -> String {
        match &self.kind {
            Kind::Sandbox(_) => {
                let number = match card {
                    Card::Succeeds => "4242424242424242",
                    Card::Declined => "4000000000000002",
                };
                let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
                let typed = NewSource::Card(parse_card(number, "12", "2030", "123", "78701", today).unwrap());
                self.gateway.tokenize(&typed).await.unwrap().token
            }
            Kind::Stripe(browser) => {
                // localstripe declines 4000 0000 0000 0341 when charged (it attaches fine).
                let number = match card {
                    Card::Succeeds => "4242424242424242",
                    Card::Declined => "4000000000000341",
                };
                browser.saved_card(customer, number).await
            }
        }
    }

    /// How many charges the processor made for `customer`.
    async fn charges(&self, customer: &str) -> usize {
        match &self.kind {
            Kind::Sandbox(sandbox) => sandbox.charges().len(),
            Kind::Stripe(browser) => browser.charges(customer).await,
        }
    }

    fn request(&self, customer: &str, token: &str, cents: i64) -> ChargeRequest {
        ChargeRequest {
            customer: Some(customer.to_owned()),
            token: token.to_owned(),
            amount: Money::from_cents(cents),
            payment: format!("pay-{cents}"),
            account: "lopez".into(),
            description: "INV-1008".into(),
        }
    }
}

#[tokio::test]
async fn a_good_card_is_charged_once_however_often_the_charge_is_confirmed() {
    for backend in Backend::both() {
        let customer = backend.customer().await;
        let token = backend.source(&customer, Card::Succeeds).await;
        let reference = backend.gateway.prepare(&backend.request(&customer, &token, 5000)).await.unwrap();
        assert_eq!(
            backend.gateway.charge_status(&reference).await.unwrap(),
            ChargeOutcome::NotCharged,
            "{}: created is not charged",
            backend.name
        );
        assert_eq!(backend.charges(&customer).await, 0, "{}", backend.name);
        let first = backend.gateway.confirm(&reference, "pay-5000").await.unwrap();
        assert!(matches!(&first, ChargeOutcome::Succeeded { reference: r } if *r == reference), "{}: {first:?}", backend.name);
        let again = backend.gateway.confirm(&reference, "pay-5000").await.unwrap();
        assert_eq!(again, first, "{}: confirming again answers the first outcome", backend.name);
        assert_eq!(backend.charges(&customer).await, 1, "{}: one charge", backend.name);
        assert_eq!(backend.gateway.charge_status(&reference).await.unwrap(), first, "{}", backend.name);
        assert_eq!(backend.gateway.cancel(&reference).await.unwrap(), first, "{}: a charge that took money stays taken", backend.name);
    }
}

#[tokio::test]
async fn a_declined_card_is_declined_with_a_reason_for_the_patient() {
    for backend in Backend::both() {
        let customer = backend.customer().await;
        let token = backend.source(&customer, Card::Declined).await;
        let reference = backend.gateway.prepare(&backend.request(&customer, &token, 2500)).await.unwrap();
        let outcome = backend.gateway.confirm(&reference, "pay-2500").await.unwrap();
        assert!(matches!(&outcome, ChargeOutcome::Declined { reason } if reason.contains("declined")), "{}: {outcome:?}", backend.name);
        assert_eq!(
            backend.gateway.charge_status(&reference).await.unwrap(),
            outcome,
            "{}: the decline is what the processor remembers",
            backend.name
        );
        assert_eq!(
            backend.gateway.confirm(&reference, "pay-2500").await.unwrap(),
            outcome,
            "{}: confirming again takes nothing",
            backend.name
        );
    }
}

#[tokio::test]
async fn a_lost_answer_is_found_by_its_reference_and_not_charged_again() {
    for backend in Backend::both() {
        let customer = backend.customer().await;
        let token = backend.source(&customer, Card::Succeeds).await;
        let lossy = FaultyGateway { inner: backend.gateway.clone(), fault: Fault::AppliedThenLost };
        let reference = lossy.prepare(&backend.request(&customer, &token, 1200)).await.unwrap();
        assert!(lossy.confirm(&reference, "pay-1200").await.is_err(), "{}: the answer is lost", backend.name);
        let status = backend.gateway.charge_status(&reference).await.unwrap();
        assert!(matches!(status, ChargeOutcome::Succeeded { .. }), "{}: it was charged: {status:?}", backend.name);
        assert_eq!(backend.gateway.confirm(&reference, "pay-1200").await.unwrap(), status, "{}", backend.name);
        assert_eq!(backend.charges(&customer).await, 1, "{}: charged once", backend.name);
    }
}

#[tokio::test]
async fn a_charge_cancelled_before_it_is_confirmed_never_takes_money() {
    for backend in Backend::both() {
        let customer = backend.customer().await;
        let token = backend.source(&customer, Card::Succeeds).await;
        let reference = backend.gateway.prepare(&backend.request(&customer, &token, 900)).await.unwrap();
        assert_eq!(backend.gateway.cancel(&reference).await.unwrap(), ChargeOutcome::NotCharged, "{}", backend.name);
        assert_eq!(backend.gateway.confirm(&reference, "pay-900").await.unwrap(), ChargeOutcome::NotCharged, "{}", backend.name);
        assert_eq!(backend.charges(&customer).await, 0, "{}: nothing charged", backend.name);
    }
}

#[tokio::test]
async fn insufficient_funds_and_expired_cards_say_so_on_the_sandbox() {
    // localstripe declines every failing card alike; Stripe's own decline codes are read by
    // `portal_stripe::decline_reason` (unit-tested in that crate).
    let backend = Backend::sandbox();
    let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 26).unwrap();
    for (number, says) in [("4000000000009995", "insufficient funds"), ("4000000000000069", "expired")] {
        let typed = NewSource::Card(parse_card(number, "12", "2030", "123", "78701", today).unwrap());
        let token = backend.gateway.tokenize(&typed).await.unwrap().token;
        let reference = backend.gateway.prepare(&backend.request("sbx_cus_lopez", &token, 100)).await.unwrap();
        let outcome = backend.gateway.confirm(&reference, "k").await.unwrap();
        assert!(matches!(&outcome, ChargeOutcome::Declined { reason } if reason.contains(says)), "{outcome:?}");
    }
}

#[tokio::test]
async fn stripe_saves_a_card_the_browser_set_up_for_that_household_only() {
    let backend = Backend::stripe();
    let Kind::Stripe(browser) = &backend.kind else { unreachable!() };
    let customer = backend.customer().await;
    let setup = backend.gateway.begin_setup(&customer).await.unwrap();
    assert_eq!(backend.gateway.finish_setup(&customer, &setup.id).await.unwrap(), SetupResult::Unfinished, "not confirmed yet");
    browser.confirm_setup(&setup.id, &setup.client_secret, "4242424242424242").await.unwrap();
    let other = backend.customer().await;
    assert_eq!(
        backend.gateway.finish_setup(&other, &setup.id).await.unwrap(),
        SetupResult::Unfinished,
        "another household's setup saves nothing"
    );
    let SetupResult::Saved(saved) = backend.gateway.finish_setup(&customer, &setup.id).await.unwrap() else { panic!("the card is saved") };
    assert_eq!(saved.details, SourceDetails::Card { brand: "Visa".into(), last4: "4242".into(), exp_month: 12, exp_year: 2030 });
    assert!(saved.token.starts_with("pm_"));
    // The saved card charges on the household's customer.
    let reference = backend.gateway.prepare(&backend.request(&customer, &saved.token, 3000)).await.unwrap();
    assert!(matches!(backend.gateway.confirm(&reference, "k").await.unwrap(), ChargeOutcome::Succeeded { .. }));
    assert_eq!(backend.gateway.finish_setup(&customer, "seti_madeup").await.unwrap(), SetupResult::Unfinished);

    let declined = backend.gateway.begin_setup(&customer).await.unwrap();
    assert!(browser.confirm_setup(&declined.id, &declined.client_secret, "4000000000000002").await.is_err(), "Stripe.js shows the decline");
    assert!(
        !matches!(backend.gateway.finish_setup(&customer, &declined.id).await.unwrap(), SetupResult::Saved(_)),
        "a declined card is not saved"
    );

    backend.gateway.detach(&saved.token).await.unwrap();
    backend.gateway.detach(&saved.token).await.unwrap();
}

#[tokio::test]
async fn stripe_3d_secure_waits_for_the_patient_and_then_decides() {
    let backend = Backend::stripe();
    let Kind::Stripe(browser) = &backend.kind else { unreachable!() };
    let customer = backend.customer().await;
    for (passes, cents) in [(true, 4100), (false, 4200)] {
        // localstripe asks for 3-D Secure on 4000 0025 0000 3155.
        let token = browser.saved_card(&customer, "4000002500003155").await;
        let reference = backend.gateway.prepare(&backend.request(&customer, &token, cents)).await.unwrap();
        let ChargeOutcome::RequiresAction { client_secret } = backend.gateway.confirm(&reference, "k").await.unwrap() else {
            panic!("the bank asks the patient")
        };
        assert!(matches!(backend.gateway.charge_status(&reference).await.unwrap(), ChargeOutcome::RequiresAction { .. }));
        browser.authenticate(&reference, &client_secret, passes).await;
        let outcome = backend.gateway.charge_status(&reference).await.unwrap();
        if passes {
            assert!(matches!(outcome, ChargeOutcome::Succeeded { .. }), "{outcome:?}");
        } else {
            assert!(matches!(&outcome, ChargeOutcome::Declined { reason } if reason.contains("bank did not confirm")), "{outcome:?}");
        }
    }
    // Abandoned at the step: cancelling it means it can never take money.
    let token = browser.saved_card(&customer, "4000002500003155").await;
    let reference = backend.gateway.prepare(&backend.request(&customer, &token, 4300)).await.unwrap();
    assert!(matches!(backend.gateway.confirm(&reference, "k").await.unwrap(), ChargeOutcome::RequiresAction { .. }));
    assert_eq!(backend.gateway.cancel(&reference).await.unwrap(), ChargeOutcome::NotCharged);
}
