//! The practice change feed end to end: the demo journeys of two households, their events
//! delivered by the practice-feed function's stream handler (in batches shaped as Lambda
//! delivers the table's DynamoDB Stream) to a webhook receiver on 127.0.0.1 that checks every
//! signature and is down for the first attempts; and the staff digest.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::Duration as Span;
use lambda_http::http::StatusCode;
use portal_domain::feed::{self, FeedEvent};
use portal_domain::ports::Item;
use portal_domain::AccountId;
use portal_feed::{stream, Retry, Secret, Webhook};
use portal_tests::receiver::Receiver;
use portal_tests::TestApp;
use practice_feed::FeedSettings;
use serde_json::{json, Value};

const SECRET: &str = "whsec_cHJhY3RpY2UtZmVlZC10ZXN0LXNlY3JldC0zMg==";

fn quick() -> Retry {
    Retry { waits: vec![Duration::from_millis(5); 3], timeout: Duration::from_secs(5) }
}

fn fixture() -> Value {
    serde_json::from_str(include_str!("../fixtures/stream/batch.json")).unwrap()
}

#[tokio::test]
async fn a_stream_batch_posts_only_new_feed_events_signed() {
    let receiver = Receiver::start(Secret::parse(SECRET).unwrap(), 0).await;
    let app = TestApp::memory().await;
    let settings =
        FeedSettings { webhook: Some(Webhook::new(&receiver.url, Secret::parse(SECRET).unwrap(), quick()).unwrap()), staff_email: None };
    let answer = practice_feed::handle(&app.app, &settings, fixture(), None).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [] }));
    let seen = receiver.seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "the invoice's change, the expired event and the audit item are not posted: {seen:?}");
    assert!(seen[0].signature_ok);
    assert_eq!(seen[0].id, "evt_3f1c2a9b8d7e6f5a4b3c2d1e");
    assert_eq!(seen[0].body["type"], "payment.succeeded");
    assert_eq!(seen[0].body["data"]["payment"]["invoice"], "inv-1008");
}

/// An invocation whose time is running out stops before an event it might not finish, and
/// reports it, rather than timing out with the batch half posted.
#[tokio::test]
async fn a_batch_stops_before_the_invocations_deadline() {
    let receiver = Receiver::start(Secret::parse(SECRET).unwrap(), 0).await;
    let app = TestApp::memory().await;
    let settings =
        FeedSettings { webhook: Some(Webhook::new(&receiver.url, Secret::parse(SECRET).unwrap(), quick()).unwrap()), staff_email: None };
    let soon = Some(std::time::Instant::now() + Duration::from_secs(1));
    let answer = practice_feed::handle(&app.app, &settings, fixture(), soon).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": "111100000000001" }] }));
    assert!(receiver.seen.lock().unwrap().is_empty(), "nothing was posted");
    assert!(Retry::deployed().worst_case() < Duration::from_secs(50), "one event fits in the function's 60 seconds");
}

#[tokio::test]
async fn an_endpoint_that_stays_down_makes_lambda_retry_from_that_record() {
    let receiver = Receiver::start(Secret::parse(SECRET).unwrap(), usize::MAX).await;
    let app = TestApp::memory().await;
    let settings =
        FeedSettings { webhook: Some(Webhook::new(&receiver.url, Secret::parse(SECRET).unwrap(), quick()).unwrap()), staff_email: None };
    let answer = practice_feed::handle(&app.app, &settings, fixture(), None).await.unwrap();
    assert_eq!(answer, json!({ "batchItemFailures": [{ "itemIdentifier": "111100000000001" }] }));
    assert_eq!(receiver.seen.lock().unwrap().len(), 4, "four attempts (three waits) before handing back to the stream");
    // Neither an unknown invocation nor a batch that is not one is taken silently.
    assert!(practice_feed::handle(&app.app, &settings, json!({ "hello": 1 }), None).await.is_err());
    assert!(practice_feed::handle(&app.app, &settings, json!({ "Records": 3 }), None).await.is_err());
}

/// Every feed item of the households, as the table's stream would carry them: each a record
/// with its sequence number, in the order written (cursor order), with other items' changes between.
async fn stream_records(app: &TestApp, households: &[&str]) -> Vec<Value> {
    let mut items: Vec<Item> = Vec::new();
    for h in households {
        let account = AccountId::parse(h).unwrap();
        items.extend(app.app.table.query(&feed::feed_pk(&account), "EVENT#").await.unwrap().iter().map(|i| (**i).clone()));
    }
    items.sort_by_key(|i| i["gsi1sk"].as_str().unwrap().to_owned());
    let mut records = Vec::new();
    for (n, item) in items.iter().enumerate() {
        let record = |name: &str, image: Value, seq: usize| {
            json!({
                "eventID": format!("e{seq}"), "eventName": name, "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                "dynamodb": { "NewImage": image, "SequenceNumber": format!("{:021}", seq), "StreamViewType": "NEW_IMAGE" },
            })
        };
        // Another item's change between two events (the mapping's filter would drop it; the handler does too).
        records.push(record("MODIFY", json!({ "pk": { "S": "ACCOUNT#x" }, "sk": { "S": "ACCOUNT" } }), 2 * n));
        records.push(record("INSERT", stream::new_image(item), 2 * n + 1));
    }
    records
}

/// Runs the records through the handler as Lambda does: batches of `size`, and after a batch
/// reports a failure, the next batch starts at the failed record.
async fn run_stream(app: &TestApp, settings: &FeedSettings, records: &[Value], size: usize) -> usize {
    let mut at = 0;
    let mut invocations = 0;
    while at < records.len() {
        invocations += 1;
        assert!(invocations < 100, "the stream does not advance");
        let batch: Vec<Value> = records[at..(at + size).min(records.len())].to_vec();
        let answer = practice_feed::handle(&app.app, settings, json!({ "Records": batch }), None).await.unwrap();
        match answer["batchItemFailures"].as_array().and_then(|f| f.first()) {
            None => at += batch.len(),
            Some(failure) => {
                let seq = failure["itemIdentifier"].as_str().unwrap();
                at = records.iter().position(|r| r["dynamodb"]["SequenceNumber"] == seq).unwrap();
            }
        }
    }
    invocations
}

/// One portal, two browsers: Maria signed in with the app's cookie jar, Sam with the jar returned
/// (swapped in for his steps).
async fn two_browsers(maria: &mut TestApp) -> Vec<(String, String)> {
    maria.sign_in("maria@example.com").await;
    let mut sams_jar = Vec::new();
    std::mem::swap(&mut maria.cookies, &mut sams_jar);
    maria.sign_in("sam@example.com").await;
    std::mem::swap(&mut maria.cookies, &mut sams_jar);
    sams_jar
}

/// Maria's household's journeys through the portal, with Sam's (his cookie jar swapped in) between.
async fn journey(maria: &mut TestApp, sams_jar: &mut Vec<(String, String)>) {
    let step = |app: &TestApp| app.clock.advance(Span::seconds(1));
    assert_eq!(maria.pay("inv-1008", &[("amount", "20.00"), ("source", "src-visa")]).await.status, StatusCode::SEE_OTHER);
    step(maria);
    std::mem::swap(&mut maria.cookies, sams_jar);
    assert_eq!(maria.pay("inv-2001", &[("amount", "10.00"), ("source", "src-mastercard")]).await.status, StatusCode::SEE_OTHER);
    std::mem::swap(&mut maria.cookies, sams_jar);
    step(maria);
    assert_eq!(maria.add_card("5555555555554444").await.status, StatusCode::SEE_OTHER);
    step(maria);
    let methods = maria.get("/payment-methods").await;
    assert_eq!(
        maria.post("/payment-methods/src-checking/default", &[("csrf_token", &methods.csrf_token())]).await.status,
        StatusCode::SEE_OTHER
    );
    step(maria);
    let methods = maria.get("/payment-methods").await;
    assert_eq!(
        maria.post("/payment-methods/src-visa/remove", &[("csrf_token", &methods.csrf_token())]).await.status,
        StatusCode::SEE_OTHER
    );
    step(maria);
    assert_eq!(maria.submit_contact("maria", &[("phone_mobile", "512-555-0199")]).await.status, StatusCode::SEE_OTHER);
    step(maria);
    std::mem::swap(&mut maria.cookies, sams_jar);
    let moved = [("address_line1", "9 Pecan St"), ("city", "Austin"), ("state", "TX"), ("postal_code", "78701")];
    assert_eq!(maria.submit_contact("sam", &moved).await.status, StatusCode::SEE_OTHER);
    std::mem::swap(&mut maria.cookies, sams_jar);
    step(maria);
    assert_eq!(maria.submit_contact("maria", &[("email", "maria.lopez@example.org")]).await.status, StatusCode::SEE_OTHER);
    let page = maria.get("/members/maria/contact?done=verify").await;
    let code = maria.last_code_to("maria.lopez@example.org").unwrap();
    let confirm = [("csrf_token", page.csrf_token()), ("version", TestApp::hidden(&page, "version")), ("code", code)];
    let confirm: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(maria.post("/members/maria/contact", &confirm).await.status, StatusCode::SEE_OTHER);
    step(maria);
    let renew = maria.get("/memberships/ms-lopez-2/renew").await;
    assert_eq!(maria.post("/memberships/ms-lopez-2/renew", &[("csrf_token", &renew.csrf_token())]).await.status, StatusCode::SEE_OTHER);
    step(maria);
    let quote = maria.quote_dependent(&portal_tests::LUCAS).await;
    assert_eq!(maria.confirm_dependent(&quote).await.status, StatusCode::SEE_OTHER);
    step(maria);
    let agreement = maria.get("/agreements/agr-financial").await;
    let sign = [("csrf_token", agreement.csrf_token()), ("signer_name", "Maria Lopez".into()), ("consent", "yes".into())];
    let sign: Vec<(&str, &str)> = sign.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(maria.post("/agreements/agr-financial/sign", &sign).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn the_practice_sees_every_event_of_the_demo_journeys_once_in_order_through_an_outage() {
    let mut maria = TestApp::memory().await;
    let mut sams_jar = two_browsers(&mut maria).await;

    journey(&mut maria, &mut sams_jar).await;

    let lopez: Vec<FeedEvent> = feed::of_household(maria.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    let kinds: Vec<&str> = lopez.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "payment.succeeded",
            "payment_method.added",
            "payment_method.made_default",
            "payment_method.removed",
            "member.contact_changed",
            "member.email_verified",
            "membership.renewed",
            "member.enrolled",
            "agreement.signed",
        ]
    );
    // The practice's own ids, and the records in the import's shapes.
    assert!(lopez.iter().all(|e| e.household.as_str() == "lopez"));
    assert_eq!(lopez[0].data["payment"]["invoice"], "inv-1008");
    assert_eq!(lopez[4].data["member"]["phones"]["mobile"], "(512) 555-0199");
    assert_eq!(lopez[5].data["email"], "maria.lopez@example.org");
    assert_eq!(lopez[6].data["previous"]["id"], "ms-lopez-2");
    assert_eq!(lopez[7].data["membership"]["id"], "ms-lopez-2");
    assert_eq!(lopez[7].data["member"]["first_name"], "Lucas");
    assert_eq!(lopez[8].data["document"], "agr-financial");
    assert!(lopez.windows(2).all(|w| w[0].cursor < w[1].cursor));

    // The practice's endpoint is down for the first six attempts.
    let receiver = Receiver::start(Secret::parse(SECRET).unwrap(), 6).await;
    let settings =
        FeedSettings { webhook: Some(Webhook::new(&receiver.url, Secret::parse(SECRET).unwrap(), quick()).unwrap()), staff_email: None };
    let records = stream_records(&maria, &["lopez", "taylor"]).await;
    let invocations = run_stream(&maria, &settings, &records, 5).await;
    assert!(invocations > records.len() / 5, "the outage made the stream retry");

    let seen = receiver.seen.lock().unwrap().clone();
    assert!(seen.iter().all(|r| r.signature_ok), "every request is signed with the practice's secret");
    assert_eq!(seen.iter().filter(|r| r.status == 503).count(), 6);
    let taken = receiver.taken();
    let mut by_household: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &taken {
        by_household.entry(r.body["household"].as_str().unwrap().to_owned()).or_default().push(r.id.clone());
    }
    let ids = |events: &[FeedEvent]| events.iter().map(|e| e.id.clone()).collect::<Vec<_>>();
    assert_eq!(by_household["lopez"], ids(&lopez), "each of Maria's events once, in order");
    let taylor = feed::of_household(maria.app.table.as_ref(), &AccountId::parse("taylor").unwrap()).await.unwrap();
    assert_eq!(taylor.iter().map(|e| e.kind.as_str()).collect::<Vec<_>>(), ["payment.succeeded", "member.contact_changed"]);
    assert_eq!(by_household["taylor"], ids(&taylor), "each of Sam's events once, in order");
    assert_eq!(taken.len(), lopez.len() + taylor.len(), "nothing else, nothing twice");
}

#[tokio::test]
async fn the_staff_digest_lists_what_to_act_on_once_and_nothing_on_a_quiet_day() {
    let mut maria = TestApp::memory().await;
    maria.sign_in("maria@example.com").await;
    let quote = maria.quote_dependent(&portal_tests::LUCAS).await;
    assert_eq!(maria.confirm_dependent(&quote).await.status, StatusCode::SEE_OTHER);
    assert_eq!(
        maria
            .submit_contact("maria", &[("address_line1", "12 Oak Ln"), ("city", "Austin"), ("state", "TX"), ("postal_code", "78702")])
            .await
            .status,
        StatusCode::SEE_OTHER
    );
    assert_eq!(maria.pay("inv-1008", &[("amount", "20.00"), ("source", "src-visa")]).await.status, StatusCode::SEE_OTHER);
    let settings = FeedSettings { webhook: None, staff_email: Some("frontdesk@cedarvalley.example".into()) };
    let schedule = json!({ "digest": "yesterday" });

    // The morning after.
    maria.clock.advance(Span::days(1));
    let answer = practice_feed::handle(&maria.app, &settings, schedule.clone(), None).await.unwrap();
    assert_eq!(answer, json!({ "digest": "Sent(3)" }));
    let digest = maria.outbox.last_to("frontdesk@cedarvalley.example").expect("the digest");
    assert!(digest.subject.contains("portal changes"), "{}", digest.subject);
    assert!(
        digest.text.contains("New members to bill") && digest.text.contains("Lucas Lopez joined membership ms-lopez-2"),
        "{}",
        digest.text
    );
    assert!(digest.text.contains("New addresses") && digest.text.contains("Maria Lopez: 12 Oak Ln, Austin, TX 78702"), "{}", digest.text);
    assert!(digest.text.contains("1 payment received, $20.00 in all"), "{}", digest.text);
    assert!(!digest.text.contains("4242") && !digest.html.contains("4242"), "no card numbers, not even the last four");

    // Run again (the schedule fired twice): not sent again. A quiet day: nothing sent.
    let sent = maria.outbox.messages().len();
    assert_eq!(practice_feed::handle(&maria.app, &settings, schedule.clone(), None).await.unwrap(), json!({ "digest": "AlreadySent" }));
    maria.clock.advance(Span::days(1));
    assert_eq!(practice_feed::handle(&maria.app, &settings, schedule, None).await.unwrap(), json!({ "digest": "NothingChanged" }));
    assert_eq!(maria.outbox.messages().len(), sent);
}

/// The small script a practice would write: applies exported feed events to its import file
/// (records replaced by id, added, or removed), as its own system applies them.
fn apply_to_file(file: &mut Value, events: &[Value]) {
    fn replace(list: &mut Value, record: &Value) {
        let list = list.as_array_mut().expect("a list");
        match list.iter_mut().find(|r| r["id"] == record["id"]) {
            Some(old) => *old = record.clone(),
            None => list.push(record.clone()),
        }
    }
    for event in events {
        let households = file["households"].as_array_mut().unwrap();
        let household = households.iter_mut().find(|h| h["id"] == event["household"]).expect("the practice's household id");
        let data = &event["data"];
        match event["type"].as_str().unwrap() {
            "payment.succeeded" | "payment.failed" | "payment.refunded" | "payment.disputed" => {
                replace(&mut household["payments"], &data["payment"])
            }
            "payment_method.added" => {
                if data["payment_method"]["default"] == true {
                    household["payment_sources"].as_array_mut().unwrap().iter_mut().for_each(|s| s["default"] = json!(false));
                }
                replace(&mut household["payment_sources"], &data["payment_method"]);
            }
            "payment_method.removed" => {
                household["payment_sources"].as_array_mut().unwrap().retain(|s| s["id"] != data["payment_method"]["id"])
            }
            "payment_method.made_default" => household["payment_sources"]
                .as_array_mut()
                .unwrap()
                .iter_mut()
                .for_each(|s| s["default"] = json!(s["id"] == data["payment_method"]["id"])),
            "member.contact_changed" | "member.email_verified" => replace(&mut household["members"], &data["member"]),
            "member.enrolled" => {
                replace(&mut household["members"], &data["member"]);
                replace(&mut household["memberships"], &data["membership"]);
                if !data["next_term"].is_null() {
                    replace(&mut household["memberships"], &data["next_term"]);
                }
            }
            "membership.renewed" => {
                replace(&mut household["memberships"], &data["previous"]);
                replace(&mut household["memberships"], &data["membership"]);
            }
            "agreement.signed" => replace(&mut household["agreements"], &data["agreement"]),
            other => panic!("an event type the practice's script does not know: {other}"),
        }
    }
}

#[tokio::test]
async fn exported_events_applied_to_the_import_file_leave_nothing_kept_as_changed_on_reimport() {
    use portal_cli::import::{self, Dataset};
    let today = portal_tests::test_now().with_timezone(&chrono_tz::America::Chicago).date_naive();
    let mut file = import::to_json(&Dataset::from_demo(&portal_adapters::demo::Demo::new(today)));
    let clock = std::sync::Arc::new(portal_adapters::ManualClock::new(portal_tests::test_now()));
    let table: std::sync::Arc<dyn portal_domain::Table> = std::sync::Arc::new(portal_adapters::MemoryTable::new(clock.clone()));
    let parse = |file: &Value| import::parse(&file.to_string(), today).unwrap_or_else(|p| panic!("{p:#?}"));
    let first = import::import(table.as_ref(), &parse(&file), &|_, _| {}).await.unwrap();
    assert!(first.kept.is_empty() && first.conflicts.is_empty());

    // Patients change things in the portal.
    let outbox = std::sync::Arc::new(portal_adapters::OutboxMailer::new());
    let mut maria = TestApp::build(table.clone(), clock, outbox.clone(), outbox).await;
    maria.client_ip = Some("203.0.113.7".into());
    let mut sams_jar = two_browsers(&mut maria).await;
    journey(&mut maria, &mut sams_jar).await;

    // Without the events applied, the next import keeps what the portal changed, and says so.
    let unapplied = import::import(table.as_ref(), &parse(&file), &|_, _| {}).await.unwrap();
    assert!(!unapplied.kept.is_empty(), "the portal's changes are kept and listed");

    // `portal export`, in two pulls (a limit, then from the cursor it printed).
    let later = maria.app.now() + Span::minutes(1);
    let mut lines = Vec::new();
    let mut since: Option<String> = None;
    for _ in 0..2 {
        let mut out = Vec::new();
        portal_cli::operator::write_export(table.as_ref(), since.as_deref(), 6, later, &mut out).await.unwrap();
        let mut printed: Vec<Value> = String::from_utf8(out).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let last = printed.pop().unwrap();
        since = last["next_cursor"].as_str().map(str::to_owned);
        lines.extend(printed);
    }
    assert_eq!(lines.len(), 11, "Maria's nine events and Sam's two, each once: {lines:#?}");
    let mut out = Vec::new();
    portal_cli::operator::write_export(table.as_ref(), since.as_deref(), 6, later, &mut out).await.unwrap();
    assert_eq!(String::from_utf8(out).unwrap().trim(), json!({ "next_cursor": since }).to_string(), "nothing new: the same cursor");

    apply_to_file(&mut file, &lines);
    let report = import::import(table.as_ref(), &parse(&file), &|_, _| {}).await.unwrap();
    assert_eq!(report.kept, Vec::<String>::new(), "the file reflects every change");
    assert_eq!(report.conflicts, Vec::<String>::new());
}
