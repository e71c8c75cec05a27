//! `portal import`: the file format's checks, and importing into the in-memory table and DynamoDB (moto):
//! the demo file stores exactly what `portal seed` does, re-importing writes nothing, an updated file
//! updates in place, and nothing a patient did in the portal is undone.

use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use lambda_http::http::StatusCode;
use portal_adapters::demo::{self, Demo};
use portal_adapters::{ManualClock, MemoryTable};
use portal_cli::import::{self, Dataset, Report};
use portal_domain::enrol::email_claim_key;
use portal_domain::ports::{Item, Table};
use portal_domain::{store, AccountId, Email, Money, PaymentStatus};
use portal_tests::{fresh_dynamo_table, test_now, CountingTable, TestApp};
use serde_json::{json, Value};

fn today() -> NaiveDate {
    test_now().with_timezone(&chrono_tz::America::Chicago).date_naive()
}

/// The demo as an import file.
fn demo_file() -> Value {
    import::to_json(&Dataset::from_demo(&Demo::new(today())))
}

fn parse(file: &Value) -> Dataset {
    import::parse(&file.to_string(), today()).unwrap_or_else(|problems| panic!("the file has problems: {problems:#?}"))
}

async fn run(table: &dyn Table, file: &Value) -> Report {
    import::import(table, &parse(file), &|_, _| {}).await.expect("the import runs")
}

fn memory() -> Arc<dyn Table> {
    Arc::new(MemoryTable::new(Arc::new(ManualClock::new(test_now()))))
}

async fn dynamo() -> Arc<dyn Table> {
    Arc::new(fresh_dynamo_table(Arc::new(ManualClock::new(test_now()))).await)
}

/// Every item the dataset's practice and households own, read the way the portal reads them.
async fn snapshot(table: &dyn Table, data: &Dataset) -> Vec<Item> {
    let mut items = Vec::new();
    items.extend(table.get(&store::practice_key()).await.unwrap());
    items.extend(table.query("PRACTICE", "PLAN#").await.unwrap().into_iter().map(Arc::unwrap_or_clone));
    for h in &data.households {
        items.extend(table.query(&store::account_pk(&h.household.id), "").await.unwrap().into_iter().map(Arc::unwrap_or_clone));
        for email in h.members.iter().filter_map(|m| m.email.as_ref()) {
            items.extend(table.get(&email_claim_key(email)).await.unwrap());
        }
    }
    items
}

async fn stored_household(table: &dyn Table, id: &str) -> store::HouseholdRecords {
    store::household(table, &AccountId::parse(id).unwrap()).await.unwrap()
}

#[test]
fn the_demo_file_reads_back_as_the_demo() {
    let demo = Dataset::from_demo(&Demo::new(today()));
    assert_eq!(parse(&import::to_json(&demo)), demo);
}

#[test]
fn the_documented_example_is_the_demo_and_passes_the_checks() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/import-format.md")).expect("docs/import-format.md");
    let start = doc.find("```json\n").expect("the example's code block") + "```json\n".len();
    let end = doc[start..].find("```").expect("the end of the example") + start;
    let example: Value = serde_json::from_str(&doc[start..end]).expect("the example is JSON");
    let day = NaiveDate::from_ymd_opt(2026, 1, 15).unwrap();
    let demo = import::to_json(&Dataset::from_demo(&Demo::new(day)));
    assert_eq!(example, demo, "the example is `portal seed --print --today 2026-01-15`; regenerate it with that command");
    assert!(import::parse(&doc[start..end], day).is_ok());
}

#[test]
fn a_file_with_errors_lists_every_problem_with_its_path() {
    let mut file = demo_file();
    let lopez = &mut file["households"][0];
    lopez["members"][1]["date_of_birth"] = json!("1990-02-30");
    lopez["members"][2]["email"] = json!("maria@example.com");
    lopez["members"][1]["sex"] = json!("f");
    lopez["invoices"][0]["lines"][0]["amount"] = json!(80);
    lopez["invoices"][1]["due"] = json!("2020-01-01");
    lopez["payments"][0]["invoice"] = json!("inv-0000");
    lopez["agreements"][0]["member"] = json!("nobody");
    lopez["payment_sources"][1]["last4"] = json!("12");
    lopez["nickname"] = json!("the Lopezes");
    file["households"][1]["owner"] = json!("maria");
    file["practice"]["email"] = json!("not an address");

    let problems = import::parse(&file.to_string(), today()).expect_err("the file has problems");
    let expected = [
        "practice.email: Enter an email address like name@example.com.",
        "households[0].nickname: unknown field",
        "households[0].members[1].date_of_birth: not a date (write it as YYYY-MM-DD)",
        "households[0].members[1].sex: expected one of female, male, other, unknown",
        "households[0].members[2].email: maria@example.com is also the email of households[0].members[0].email; each member signs in with their own address",
        "households[0].invoices[0].lines[0].amount: write amounts as text, like \"80.00\", never as JSON numbers",
        "households[0].invoices[1].due: before the issue date",
        "households[0].payment_sources[1].last4: expected the last 4 digits",
        "households[1].owner: maria is not a member of this household",
    ];
    for line in expected {
        assert!(problems.iter().any(|p| p == line), "missing problem {line:?} in {problems:#?}");
    }
    assert_eq!(problems.len(), expected.len(), "only these problems: {problems:#?}");

    // With the members and invoices right, references to them are checked too.
    let mut file = demo_file();
    file["households"][0]["payments"][0]["invoice"] = json!("inv-0000");
    file["households"][0]["agreements"][0]["member"] = json!("nobody");
    file["households"][0]["memberships"][0]["plan"] = json!("gold");
    let problems = import::parse(&file.to_string(), today()).expect_err("the file has problems");
    assert_eq!(
        problems,
        [
            "households[0].memberships[0].plan: gold is not one of the file's plans",
            "households[0].payments[0].invoice: inv-0000 is not an invoice of this household",
            "households[0].agreements[0].member: nobody is not a member of this household",
        ]
    );
    assert_eq!(import::parse("{ not json", today()).unwrap_err().len(), 1);
    assert_eq!(
        import::parse(r#"{"format": "other/9"}"#, today()).unwrap_err(),
        ["format: expected \"portal-import/1\"", "practice: missing"]
    );
}

#[test]
fn a_value_of_the_wrong_kind_is_reported_where_it_is_and_the_rest_still_checked() {
    let mut file = demo_file();
    file["plans"][0]["contract_months"] = json!(61);
    file["plans"][0]["rates"][0]["max_age"] = json!("18");
    let lopez = &mut file["households"][0];
    lopez["members"][0]["phones"]["fax"] = json!("512-555-0100");
    lopez["members"][1] = json!("Sofia");
    lopez["invoices"][0]["void"] = json!("no");
    lopez["payment_sources"][0]["type"] = json!("bank_account");
    lopez["agreements"] = json!({ "id": "a-1" });
    file["households"][1]["billing_address"]["state"] = json!("Texas");
    file["households"][0]["payments"][0]["source"]["exp_year"] = json!(1999);

    let problems = import::parse(&file.to_string(), today()).expect_err("the file has problems");
    assert_eq!(
        problems,
        [
            "plans[0].contract_months: expected a whole number from 1 to 60",
            "plans[0].rates[0].max_age: expected a whole number, found text",
            "households[0].members[0].phones.fax: unknown field",
            "households[0].members[1]: expected an object, found text",
            "households[0].payment_sources[0].brand: unknown field",
            "households[0].payment_sources[0].exp_month: unknown field",
            "households[0].payment_sources[0].exp_year: unknown field",
            "households[0].payment_sources[0].bank_name: missing",
            "households[0].payment_sources[0].account_type: missing",
            "households[0].payments[0].source.exp_year: expected a whole number from 2000 to 2100",
            "households[0].invoices[0].void: expected true or false, found text",
            "households[0].agreements: expected a list, found an object",
            "households[1].billing_address.state: Choose a state by its 2-letter code, for example TX.",
        ]
    );
}

#[test]
fn stripe_references_are_checked_for_their_shape_and_kept() {
    let mut file = demo_file();
    file["households"][0]["processor_customer"] = json!("cus_Lopez123");
    for source in file["households"][0]["payment_sources"].as_array_mut().unwrap() {
        source["token"] = json!(format!("pm_{}", source["id"].as_str().unwrap().replace('-', "")));
    }
    let data = import::parse(&file.to_string(), today()).expect("Stripe ids of the right shape pass");
    assert_eq!(data.households[0].household.processor_customer.as_deref(), Some("cus_Lopez123"));
    assert!(data.households[0].sources.iter().all(|s| s.token.starts_with("pm_")));

    file["households"][0]["processor_customer"] = json!("cust-42");
    file["households"][0]["payment_sources"][0]["token"] = json!("4242424242424242");
    let problems = import::parse(&file.to_string(), today()).expect_err("ids of the wrong shape are refused");
    assert!(
        problems.contains(&"households[0].processor_customer: cust-42 is not a Stripe customer id (cus_…)".to_owned()),
        "{problems:#?}"
    );
    file["households"][0]["processor_customer"] = json!("cus_Lopez123");
    let problems = import::parse(&file.to_string(), today()).expect_err("a card number is never a token");
    assert_eq!(problems, ["households[0].payment_sources[0].token: 4242424242424242 is not a Stripe PaymentMethod id (pm_…)"]);
}

#[tokio::test]
async fn an_imported_stripe_customer_is_stored_and_the_portals_own_is_kept_on_reimport() {
    let table = memory();
    let mut file = demo_file();
    file["households"][0]["processor_customer"] = json!("cus_Lopez123");
    for source in file["households"][0]["payment_sources"].as_array_mut().unwrap() {
        source["token"] = json!(format!("pm_{}", source["id"].as_str().unwrap().replace('-', "")));
    }
    run(table.as_ref(), &file).await;
    assert_eq!(stored_household(table.as_ref(), "lopez").await.household.unwrap().processor_customer.as_deref(), Some("cus_Lopez123"));
    // Taylor became a Stripe customer in the portal; the practice's next file does not know it yet.
    table.write(store::set_processor_customer(&"taylor".to_owned().try_into().unwrap(), "cus_Taylor9")).await.unwrap();
    let again = run(table.as_ref(), &file).await;
    assert_eq!(stored_household(table.as_ref(), "taylor").await.household.unwrap().processor_customer.as_deref(), Some("cus_Taylor9"));
    assert_eq!(again.updated, 0, "nothing changed: {again:?}");
}

/// The demo file, printed and read back, imported into an empty table stores item for item what
/// `portal seed` stores (which imports the demo's dataset without the file in between).
async fn demo_import_matches_seed(seeded: Arc<dyn Table>, imported: Arc<dyn Table>) {
    assert!(import::seed_demo(seeded.as_ref(), today()).await.unwrap());
    assert!(!import::seed_demo(seeded.as_ref(), today()).await.unwrap(), "seeded once");
    let report = run(imported.as_ref(), &demo_file()).await;
    let data = parse(&demo_file());
    assert_eq!(report.households, 2);
    assert_eq!(report.created, 2 + 38, "the practice, its plan and 38 records");
    assert!(report.conflicts.is_empty() && report.kept.is_empty(), "{report:?}");
    assert_eq!(snapshot(imported.as_ref(), &data).await, snapshot(seeded.as_ref(), &data).await);
}

#[tokio::test]
async fn the_demo_file_stores_what_seed_stores_in_memory() {
    demo_import_matches_seed(memory(), memory()).await;
}

#[tokio::test]
async fn the_demo_file_stores_what_seed_stores_in_dynamodb() {
    demo_import_matches_seed(dynamo().await, dynamo().await).await;
}

async fn reimport_writes_nothing(table: Arc<dyn Table>) {
    run(table.as_ref(), &demo_file()).await;
    let counter = CountingTable::new(table.clone());
    let report = run(&counter, &demo_file()).await;
    assert_eq!((report.created, report.updated, report.unchanged), (0, 0, 40), "{report:?}");
    assert_eq!(counter.counts().1, 0, "a re-import writes nothing");
}

#[tokio::test]
async fn reimporting_the_same_file_writes_nothing_in_memory() {
    reimport_writes_nothing(memory()).await;
}

#[tokio::test]
async fn reimporting_the_same_file_writes_nothing_in_dynamodb() {
    reimport_writes_nothing(dynamo().await).await;
}

async fn updated_file_updates(table: Arc<dyn Table>) {
    run(table.as_ref(), &demo_file()).await;
    let mut file = demo_file();
    file["practice"]["phone"] = json!("(512) 555-0199");
    let lopez = &mut file["households"][0];
    lopez["members"][1]["last_name"] = json!("López");
    lopez["members"][1]["phones"]["home"] = json!("512-555-0150");
    lopez["members"][1]["email"] = json!("daniel.lopez@example.com");
    // The open invoice gains a line; a new invoice is issued with a payment on it.
    let open = lopez["invoices"].as_array().unwrap().len() - 1;
    let mut extra = lopez["invoices"][open]["lines"][0].clone();
    extra["description"] = json!("Lab work");
    extra["amount"] = json!("25.00");
    lopez["invoices"][open]["lines"].as_array_mut().unwrap().push(extra);
    let mut new_invoice = lopez["invoices"][open].clone();
    new_invoice["id"] = json!("inv-labs");
    new_invoice["number"] = json!("INV-LABS");
    lopez["invoices"].as_array_mut().unwrap().push(new_invoice);
    let mut new_payment = lopez["payments"][0].clone();
    new_payment["id"] = json!("pay-labs");
    new_payment["invoice"] = json!("inv-labs");
    new_payment["amount"] = json!("25.00");
    lopez["payments"].as_array_mut().unwrap().push(new_payment);
    // A new household.
    let mut newcomer = file["households"][1].clone();
    newcomer["id"] = json!("nguyen");
    newcomer["name"] = json!("Nguyen household");
    newcomer["members"][0]["email"] = json!("an@example.com");
    newcomer["members"][0]["first_name"] = json!("An");
    newcomer["members"][0]["last_name"] = json!("Nguyen");
    file["households"].as_array_mut().unwrap().push(newcomer);

    let report = run(table.as_ref(), &file).await;
    assert!(report.conflicts.is_empty() && report.kept.is_empty(), "{report:?}");
    assert_eq!(report.updated, 3, "the practice, Daniel and the open invoice: {report:?}");
    assert_eq!(report.created, 2 + 5, "the new invoice and payment, and the new household's five records: {report:?}");

    assert_eq!(store::practice(table.as_ref()).await.unwrap().unwrap().phone.to_string(), "(512) 555-0199");
    let lopez = stored_household(table.as_ref(), "lopez").await;
    let daniel = lopez.members.iter().find(|m| m.id.as_str() == "daniel").unwrap();
    assert_eq!((daniel.last_name.as_str(), daniel.phones.home.as_ref().map(ToString::to_string)), ("López", Some("(512) 555-0150".into())));
    assert_eq!(daniel.version, 2);
    // Daniel signs in with his new address only.
    let new_address = Email::parse("daniel.lopez@example.com").unwrap();
    assert_eq!(store::member_by_email(table.as_ref(), &new_address).await.unwrap().map(|m| m.id.to_string()), Some("daniel".into()));
    assert!(store::member_by_email(table.as_ref(), &Email::parse(demo::DANIEL).unwrap()).await.unwrap().is_none());
    assert!(table.get(&email_claim_key(&Email::parse(demo::DANIEL).unwrap())).await.unwrap().is_none(), "the old claim is released");
    let open = lopez.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == "inv-1009").unwrap();
    assert_eq!(open.total(), Money::parse("215.00").unwrap());
    let labs = lopez.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == "inv-labs").unwrap();
    assert_eq!(labs.paid(), Money::parse("25.00").unwrap(), "paid is the sum of the new payment");
    assert!(stored_household(table.as_ref(), "nguyen").await.household.is_some());

    // And that file, imported again, writes nothing.
    let counter = CountingTable::new(table.clone());
    let again = run(&counter, &file).await;
    assert_eq!((again.created, again.updated), (0, 0), "{again:?}");
    assert_eq!(counter.counts().1, 0);
}

#[tokio::test]
async fn an_updated_file_updates_in_place_in_memory() {
    updated_file_updates(memory()).await;
}

#[tokio::test]
async fn an_updated_file_updates_in_place_in_dynamodb() {
    updated_file_updates(dynamo().await).await;
}

/// Maria pays, signs, edits her phone and removes a source in the portal; the practice then re-imports
/// its (older) view of the household with changes of its own.
async fn portal_actions_survive(mut app: TestApp) {
    let table = app.app.table.clone();
    let first = run(table.as_ref(), &demo_file()).await;
    assert_eq!((first.created, first.updated), (0, 0), "the seeded demo is what the file holds: {first:?}");

    app.sign_in(demo::MARIA).await;
    let paid = app.pay("inv-1008", &[("amount", "20.00"), ("source", "src-visa")]).await;
    assert!(paid.location().is_some_and(|l| l.starts_with("/payments/")), "paid in the portal");
    let page = app.get("/agreements/agr-financial").await;
    let signed = app
        .post("/agreements/agr-financial/sign", &[("csrf_token", &page.csrf_token()), ("signer_name", "Maria Lopez"), ("consent", "yes")])
        .await;
    assert_eq!(signed.status, StatusCode::SEE_OTHER);
    let saved = app.submit_contact("maria", &[("phone_mobile", "512-555-0111")]).await;
    assert_eq!(saved.location(), Some("/members/maria/contact?done=saved"));
    let list = app.get("/payment-methods").await;
    let removed = app.post("/payment-methods/src-checking/remove", &[("csrf_token", &list.csrf_token())]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    let before = stored_household(table.as_ref(), "lopez").await;

    // The practice's file: Maria's mobile as it was, a new home phone for her, the policy reworded.
    let mut file = demo_file();
    let lopez = &mut file["households"][0];
    lopez["members"][0]["phones"]["home"] = json!("512-555-0190");
    lopez["members"][1]["phones"]["home"] = json!("512-555-0191");
    lopez["agreements"][1]["body"] = json!("# Financial Policy\n\nReworded.\n");
    let report = run(table.as_ref(), &file).await;
    assert!(report.conflicts.is_empty(), "{report:?}");
    assert_eq!(
        report.kept,
        [
            "agreement agr-financial: signed in the portal",
            "member maria: contact details changed in the portal",
            "source src-checking: removed in the portal",
        ]
    );

    let after = stored_household(table.as_ref(), "lopez").await;
    let invoice =
        |records: &store::HouseholdRecords| records.ledger.invoices().unwrap().into_iter().find(|i| i.id().as_str() == "inv-1008").unwrap();
    assert_eq!(invoice(&after).paid(), Money::parse("70.00").unwrap(), "the $50 from the file plus the $20 paid in the portal");
    assert_eq!(invoice(&after), invoice(&before));
    assert_eq!(after.ledger.payments().unwrap().len(), before.ledger.payments().unwrap().len());
    assert!(after
        .ledger
        .payments()
        .unwrap()
        .into_iter()
        .any(|p| p.amount == Money::parse("20.00").unwrap() && p.status == PaymentStatus::Succeeded));
    let agreement = after.agreements.iter().find(|a| a.id.as_str() == "agr-financial").unwrap();
    assert!(agreement.is_signed() && agreement.body.contains("billed monthly"), "the signed text is kept");
    let maria = after.members.iter().find(|m| m.id.as_str() == "maria").unwrap();
    assert_eq!(maria.phones.mobile.as_ref().map(ToString::to_string), Some("(512) 555-0111".into()), "the portal edit is kept");
    assert!(maria.phones.home.is_none(), "and the file's contact details wait until the practice has the portal's");
    let daniel = after.members.iter().find(|m| m.id.as_str() == "daniel").unwrap();
    assert_eq!(daniel.phones.home.as_ref().map(ToString::to_string), Some("(512) 555-0191".into()), "untouched records follow the file");
    assert_eq!(after.sources.len(), 1, "the removed source stays removed");
    let account = table.get(&store::household_key(&AccountId::parse("lopez").unwrap())).await.unwrap().unwrap();
    assert_eq!(account.get(store::SOURCE_COUNT).and_then(|v| v.as_number()), Some(1.into()));
}

#[tokio::test]
async fn what_patients_did_in_the_portal_survives_a_reimport_in_memory() {
    portal_actions_survive(TestApp::memory().await).await;
}

#[tokio::test]
async fn what_patients_did_in_the_portal_survives_a_reimport_in_dynamodb() {
    portal_actions_survive(TestApp::dynamo().await).await;
}

#[tokio::test]
async fn an_email_held_by_another_household_is_not_taken() {
    let table = memory();
    run(table.as_ref(), &demo_file()).await;
    let mut file = demo_file();
    file["households"][1]["members"][0]["email"] = json!("daniel@example.com");
    file["households"][0]["members"][1]["email"] = json!(null);
    // Within one file the address moves from Daniel to Sam: allowed, in one import.
    let report = run(table.as_ref(), &file).await;
    assert!(report.conflicts.is_empty(), "{report:?}");
    let holder = store::member_by_email(table.as_ref(), &Email::parse(demo::DANIEL).unwrap()).await.unwrap();
    assert_eq!(holder.map(|m| m.id.to_string()), Some("sam".into()));

    // A second practice file that gives Maria's address to a new household is refused for that member.
    let mut other = demo_file();
    let mut newcomer = other["households"][1].clone();
    rename(&mut newcomer, "-new");
    newcomer["members"][0]["email"] = json!(demo::MARIA);
    other["households"] = json!([newcomer]);
    let report = run(table.as_ref(), &other).await;
    assert_eq!(report.conflicts, ["member sam-new: maria@example.com is the sign-in email of another member; imported without it"]);
    let maria = store::member_by_email(table.as_ref(), &Email::parse(demo::MARIA).unwrap()).await.unwrap();
    assert_eq!(maria.map(|m| m.id.to_string()), Some("maria".into()));
}

/// Gives a household copied from the demo its own ids and addresses by appending `suffix`.
fn rename(value: &mut Value, suffix: &str) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match (key.as_str(), v) {
                    ("id" | "owner" | "member" | "invoice" | "signed_by" | "renews" | "renewed_by", Value::String(s)) => s.push_str(suffix),
                    ("email", Value::String(s)) => *s = s.replace('@', &format!("{suffix}@")),
                    (_, v) => rename(v, suffix),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| rename(v, suffix)),
        _ => {}
    }
}

/// A practice-sized file: `n` households shaped like the Lopez household, each with its own ids and addresses.
fn generated_file(n: usize) -> Value {
    let mut file = demo_file();
    let lopez = file["households"][0].clone();
    let households: Vec<Value> = (0..n)
        .map(|i| {
            let mut h = lopez.clone();
            rename(&mut h, &format!("-{i}"));
            h
        })
        .collect();
    file["households"] = Value::Array(households);
    file
}

#[tokio::test]
async fn a_thousand_households_import_into_dynamodb_and_reimport_as_a_no_op() {
    let file = generated_file(1000);
    let started = Instant::now();
    let data = parse(&file);
    let parsed = started.elapsed();
    let table = dynamo().await;
    let started = Instant::now();
    let report = import::import(table.as_ref(), &data, &|_, _| {}).await.unwrap();
    let first = started.elapsed();
    assert_eq!(report.households, 1000);
    assert_eq!(report.created, 2 + 1000 * 33, "{report:?}");
    assert!(report.conflicts.is_empty());
    let counter = CountingTable::new(table.clone());
    let started = Instant::now();
    let again = import::import(&counter, &data, &|_, _| {}).await.unwrap();
    let second = started.elapsed();
    assert_eq!((again.created, again.updated, counter.counts().1), (0, 0, 0));
    let sample = stored_household(table.as_ref(), "lopez-999").await;
    assert_eq!((sample.members.len(), sample.ledger.invoices().unwrap().len(), sample.ledger.payments().unwrap().len()), (3, 11, 10));
    let maria = store::member_by_email(table.as_ref(), &Email::parse("maria-500@example.com").unwrap()).await.unwrap();
    assert_eq!(maria.map(|m| m.account.to_string()), Some("lopez-500".into()));
    eprintln!(
        "1000 households (29,000 records, {} KB): checked in {:.2} s, imported into DynamoDB (moto) in {:.1} s, re-imported (no writes) in {:.1} s",
        file.to_string().len() / 1024,
        parsed.as_secs_f64(),
        first.as_secs_f64(),
        second.as_secs_f64()
    );
}

/// An invoice with more payments than one transaction takes, imported into a household already
/// stored and into a new one: its summary entry, the household's figures by month and the copies
/// beside the invoice each count every payment once.
async fn many_payments_count_once(table: Arc<dyn Table>, fresh: bool) {
    if !fresh {
        run(table.as_ref(), &demo_file()).await;
    }
    let mut file = demo_file();
    let lopez = &mut file["households"][0];
    let template = lopez["payments"][0].clone();
    let open = lopez["invoices"].as_array().unwrap().iter().position(|i| i["id"] == json!("inv-1009")).unwrap();
    let issued = lopez["invoices"][open]["issued"].as_str().unwrap().to_owned();
    for n in 0..45 {
        let mut p = template.clone();
        p["id"] = json!(format!("pay-many-{n:02}"));
        p["invoice"] = json!("inv-1009");
        p["amount"] = json!("1.00");
        p["at"] = json!(format!("{issued}T{:02}:{:02}:00Z", 16 + n / 60, n % 60));
        p["reference"] = json!(format!("sbx_ch_many{n:02}"));
        lopez["payments"].as_array_mut().unwrap().push(p);
    }
    let report = run(table.as_ref(), &file).await;
    assert!(report.conflicts.is_empty(), "{report:?}");
    let lopez_id = AccountId::parse("lopez").unwrap();
    let records = stored_household(table.as_ref(), "lopez").await;
    let inv = records.ledger.invoice(&"inv-1009".to_owned().try_into().unwrap()).unwrap().unwrap();
    assert_eq!(inv.paid(), Money::parse("45").unwrap());
    let summary = table.get(&portal_domain::keys::summary_key(&lopez_id)).await.unwrap().unwrap();
    assert_eq!(store::summary::Summary::of_item(&summary), store::summary::Summary::of_invoices(&records.ledger.invoices().unwrap()));
    let (figures, kept) = store::balances::stored(table.as_ref(), &lopez_id).await.unwrap();
    assert!(kept);
    assert_eq!(figures, store::balances::Balances::of_ledger(&records.ledger.invoices().unwrap(), &records.ledger.payments().unwrap()));
    let page = store::invoice_page(table.as_ref(), &lopez_id, inv.id(), inv.issued()).await.unwrap().expect("read by key");
    assert_eq!(page.payments.len(), 45);
    portal_tests::copies_agree(table.as_ref(), &lopez_id).await;
    // Importing it again changes nothing.
    let again = run(table.as_ref(), &file).await;
    assert_eq!((again.created, again.updated), (0, 0), "{again:?}");
}

#[tokio::test]
async fn an_invoice_with_many_payments_counts_each_once_on_reimport() {
    many_payments_count_once(memory(), false).await;
}

#[tokio::test]
async fn an_invoice_with_many_payments_counts_each_once_in_a_new_household() {
    many_payments_count_once(memory(), true).await;
}

/// An invoice the practice's file dates anew moves to its new key; the receipts of the payments on
/// it name the new date, so their links still read them by key.
#[tokio::test]
async fn receipts_follow_an_invoice_dated_anew() {
    let mut app = TestApp::memory().await;
    let table = app.app.table.clone();
    app.sign_in(demo::MARIA).await;
    let mut file = demo_file();
    let invoices = file["households"][0]["invoices"].as_array_mut().unwrap();
    let inv = invoices.iter_mut().find(|i| i["id"] == json!("inv-1008")).expect("inv-1008 in the file");
    let issued: NaiveDate = inv["issued"].as_str().unwrap().parse().unwrap();
    let earlier = issued - chrono::Days::new(1);
    inv["issued"] = json!(earlier.to_string());
    let report = run(table.as_ref(), &file).await;
    assert!(report.conflicts.is_empty() && report.updated >= 1, "{report:?}");
    let list = app.get("/receipts").await.body;
    let link = list.split(r#"href="/receipts/pay-1008?"#).nth(1).and_then(|rest| rest.split('"').next()).expect("the receipt's link");
    assert_eq!(link, format!("invoices={earlier}.inv-1008"), "named by the invoice's new date");
    let path = format!("/receipts/pay-1008?{link}");
    app.get(&path).await;
    app.counter.reset();
    let page = app.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(app.counter.counts().0 <= 2, "read by key");
    assert_eq!(page.body, app.get("/receipts/pay-1008").await.body, "as the whole history shows it");
}

/// A first import that stopped after putting the items it gathers (the figures by month, their
/// totals, the summary, the copies and receipts) left them alone in the partition; the next run,
/// of a file since changed, puts what it makes in their place and nothing of the old is counted.
#[tokio::test]
async fn a_first_import_that_stopped_leaves_nothing_the_next_run_counts() {
    use portal_domain::ports::{Key, Update, Write};
    let table = memory();
    let lopez = AccountId::parse("lopez").unwrap();
    let pk = store::account_pk(&lopez);
    let left = |sk: &str, kind: &str, figure: &str| Write::Upsert {
        key: Key::new(pk.clone(), sk),
        update: Update::default().set(store::TYPE, kind).add(figure, rust_decimal::Decimal::new(999, 0)),
    };
    for write in
        [left("#BALANCE#2019", "balances", "c01"), left("#BALANCE#TOTAL", "balances-totals", "c"), left("#SUMMARY", "summary", "p#gone")]
    {
        table.write(write).await.unwrap();
    }
    run(table.as_ref(), &demo_file()).await;
    assert!(table.get(&Key::new(pk.clone(), "#BALANCE#2019")).await.unwrap().is_none(), "the old year's figures are gone");
    let summary = table.get(&Key::new(pk.clone(), "#SUMMARY")).await.unwrap().unwrap();
    assert!(!summary.contains_key("p#gone"), "the summary is this run's");
    // The totals are the months' sums, and say so.
    let totals = table.get(&Key::new(pk.clone(), "#BALANCE#TOTAL")).await.unwrap().unwrap();
    assert_eq!(totals.get("kept"), Some(&portal_domain::ports::Value::Bool(true)));
    let years = table.query(&pk, "#BALANCE#2").await.unwrap();
    let months: rust_decimal::Decimal =
        years.iter().flat_map(|item| (1..=12).filter_map(move |m| item.get(&format!("c{m:02}")).and_then(|v| v.as_number()))).sum();
    assert_eq!(totals.get("c").and_then(|v| v.as_number()), Some(months));
}
