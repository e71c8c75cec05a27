//! The second security review's findings (issue 20), each reproduced through the real handlers:
//! address oracles, account takeover by the owner, code guessing without an overall budget,
//! lock-out by sends, parallel guessing of an email-change code, and timing.

use std::sync::Arc;
use std::time::{Duration as Wall, Instant};

use chrono::Duration;
use lambda_http::http::{Method, StatusCode};
use portal_domain::ports::{MailError, Mailer, Message};
use portal_domain::{store, AccountId, Member};
use portal_tests::TestApp;
use tokio::task::JoinSet;

const MARIA: &str = "maria@example.com";
const DANIEL: &str = "daniel@example.com";
const SAM: &str = "sam@example.com";

async fn member(app: &TestApp, id: &str) -> Member {
    let records = store::household(app.app.table.as_ref(), &AccountId::parse("lopez").unwrap()).await.unwrap();
    records.members.into_iter().find(|m| m.id.as_str() == id).unwrap()
}

async fn access_link(app: &TestApp, email: &str) -> String {
    format!("/access/{}", app.access_link(email).await.expose())
}

/// A page with what differs between any two answers taken out: the typed address, the form's
/// token, and the time of day the pause ends.
fn normalised(body: &str, address: &str) -> String {
    let mut text = body.replace(address, "ADDRESS");
    for (start, end) in [("name=\"csrf_token\" value=\"", "\""), ("paused until ", ". ")] {
        if let Some(i) = text.find(start) {
            let from = i + start.len();
            if let Some(j) = text[from..].find(end) {
                text.replace_range(from..from + j, "…");
            }
        }
    }
    text
}

/// Signs in through `/sign-in` as a member who is not the owner (who lands elsewhere than invoices).
async fn sign_in_member(app: &mut TestApp, email: &str) {
    app.request_code(email).await;
    let code = app.last_code_to(email).unwrap();
    let landed = app.enter_code(&code).await;
    assert_eq!(landed.status, StatusCode::SEE_OTHER, "signing in as {email}");
}

/// Asks for a code through an access link, as its holder does.
async fn request_by_link(app: &mut TestApp, link: &str) -> portal_tests::Page {
    let page = app.get(link).await;
    let csrf = page.csrf_token();
    app.post(link, &[("csrf_token", &csrf)]).await
}

/// Item 2: changing one's email to another patient's address answers as for a free address, and
/// the holder gets no code.
#[tokio::test]
async fn an_email_change_does_not_say_whether_an_address_is_a_patients() {
    let mut app = TestApp::memory().await;
    app.sign_in(MARIA).await;
    let taken = app.submit_contact("maria", &[("email", SAM)]).await;
    app.clock.advance(Duration::seconds(61));
    let free = app.submit_contact("maria", &[("email", "someone.new@example.org")]).await;
    assert_eq!((taken.status, taken.location()), (free.status, free.location()));
    assert_eq!(taken.location(), Some("/members/maria/contact?done=verify"));
    assert!(app.last_code_to(SAM).is_none(), "the holder of a taken address gets no code");
    assert!(app.last_code_to("someone.new@example.org").is_some());
    // The code-less change cannot be completed by guessing either: a right code would not be accepted.
    assert_eq!(member(&app, "maria").await.email.unwrap().as_str(), MARIA);
}

/// Item 4: the owner cannot take over an adult member's sign-in by changing their address; she may
/// give one to a member who has none. A member's own change ends their other sessions and voids
/// codes sent to the old address.
#[tokio::test]
async fn the_owner_cannot_change_an_adults_sign_in_address_and_a_change_ends_other_sessions() {
    let mut maria = TestApp::memory().await;
    maria.sign_in(MARIA).await;
    let form = maria.get("/members/daniel/contact").await;
    assert!(!form.body.contains(r#"name="email""#), "the form offers no field for Daniel's address");
    let forged = maria
        .post(
            "/members/daniel/contact",
            &[("csrf_token", &form.csrf_token()), ("version", &TestApp::hidden(&form, "version")), ("email", "taken.over@example.org")],
        )
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(maria.last_code_to("taken.over@example.org").is_none());
    assert_eq!(member(&maria, "daniel").await.email.unwrap().as_str(), DANIEL);
    // Sofia (a child) has no address: the owner may give her one, confirmed by its code.
    let given = maria.submit_contact("sofia", &[("email", "sofia.lopez@example.org")]).await;
    assert_eq!(given.location(), Some("/members/sofia/contact?done=verify"));
    assert!(maria.last_code_to("sofia.lopez@example.org").is_some());

    // Daniel signs in on two devices; a code for his old address is on its way to a third.
    let jar = std::mem::take(&mut maria.cookies);
    sign_in_member(&mut maria, DANIEL).await;
    let other_device = std::mem::take(&mut maria.cookies);
    maria.clock.advance(Duration::minutes(2));
    sign_in_member(&mut maria, DANIEL).await;
    let here = std::mem::take(&mut maria.cookies);
    maria.clock.advance(Duration::minutes(2));
    assert_eq!(maria.request_code(DANIEL).await.location(), Some("/sign-in/code"));
    let old_code = maria.last_code_to(DANIEL).unwrap();
    let pending_old = std::mem::take(&mut maria.cookies);
    maria.cookies = here;
    assert_eq!(
        maria.submit_contact("daniel", &[("email", "daniel.lopez@example.org")]).await.location(),
        Some("/members/daniel/contact?done=verify")
    );
    let page = maria.get("/members/daniel/contact?done=verify").await;
    let code = maria.last_code_to("daniel.lopez@example.org").unwrap();
    let confirm = [("csrf_token", page.csrf_token()), ("version", TestApp::hidden(&page, "version")), ("code", code)];
    let confirm: Vec<(&str, &str)> = confirm.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(maria.post("/members/daniel/contact", &confirm).await.location(), Some("/members/daniel/contact?done=email-changed"));
    assert_eq!(maria.get("/members").await.status, StatusCode::OK, "this session goes on");
    maria.cookies = other_device;
    assert_eq!(maria.get("/members").await.location(), Some("/sign-in"), "the other device's session ended");
    maria.cookies = pending_old;
    let late = maria.enter_code(&old_code).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY, "the code sent to the old address no longer works");
    maria.cookies = jar;
}

/// Items 5 and 6: wrong codes count against a daily budget that new codes do not reset; once it
/// is spent, codes for the typed address stop, for a patient's address and a stranger's alike,
/// the member is told once, and their access link still works. Sends others ask for by typing the
/// address do not use up the link's.
#[tokio::test]
async fn wrong_codes_have_a_daily_budget_and_the_access_link_still_works() {
    let mut app = TestApp::memory().await;
    let link = access_link(&app, SAM).await;
    let mut answers = Vec::new();
    for address in [SAM, "stranger@example.com"] {
        let mut attacker = TestApp { cookies: Vec::new(), ..app };
        let mut last = None;
        // Two wrong codes per code, a new code every two minutes: no one code ever dies of wrong tries.
        for _ in 0..5 {
            assert_eq!(attacker.request_code(address).await.location(), Some("/sign-in/code"));
            for _ in 0..2 {
                last = Some(attacker.enter_code("000000").await);
            }
            attacker.clock.advance(Duration::minutes(2));
        }
        let last = last.unwrap();
        assert_eq!(last.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert!(last.body.contains("sign-in by typing it is paused"), "{}", last.body);
        let refused = attacker.request_code(address).await;
        assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS);
        answers.push(normalised(&refused.body, address));
        app = attacker;
    }
    assert_eq!(answers[0], answers[1], "the same answer whether or not the address is a patient's");
    let warnings: Vec<Message> =
        app.outbox.messages().into_iter().filter(|m| m.to == SAM && m.subject == "Too many wrong sign-in codes").collect();
    assert_eq!(warnings.len(), 1, "Sam is told once");
    // An hour later (typed sends also exhausted), Sam's own link still brings a code that signs him in.
    app.clock.advance(Duration::hours(1));
    let mut sam = TestApp { cookies: Vec::new(), ..app };
    assert_eq!(request_by_link(&mut sam, &link).await.location(), Some("/sign-in/code"));
    let code = sam.last_code_to(SAM).unwrap();
    assert_eq!(sam.enter_code(&code).await.location(), Some("/invoices"));
    // A day after the last wrong code, typing the address works again.
    sam.clock.advance(Duration::hours(24));
    let mut later = TestApp { cookies: Vec::new(), ..sam };
    assert_eq!(later.request_code(SAM).await.location(), Some("/sign-in/code"));
}

#[tokio::test]
async fn sends_asked_for_by_typing_an_address_do_not_lock_its_member_out_of_their_link() {
    let mut app = TestApp::memory().await;
    let link = access_link(&app, SAM).await;
    for _ in 0..5 {
        assert_eq!(app.request_code(SAM).await.location(), Some("/sign-in/code"));
        app.clock.advance(Duration::seconds(61));
    }
    assert_eq!(app.request_code(SAM).await.status, StatusCode::TOO_MANY_REQUESTS, "the typed address's hour is used up");
    let mut sam = TestApp { cookies: Vec::new(), ..app };
    assert_eq!(request_by_link(&mut sam, &link).await.location(), Some("/sign-in/code"), "the link still sends a code");
    let code = sam.last_code_to(SAM).unwrap();
    assert_eq!(sam.enter_code(&code).await.location(), Some("/invoices"));
}

/// Item 7: wrong guesses at an email-change code sent at the same moment are each counted, or
/// answered as expired: no guess is answered "wrong" without being counted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn email_change_codes_guessed_in_parallel_are_all_counted() {
    let mut app = TestApp::dynamo().await;
    app.sign_in(MARIA).await;
    assert_eq!(
        app.submit_contact("maria", &[("email", "maria.new@example.org")]).await.location(),
        Some("/members/maria/contact?done=verify")
    );
    let code = app.last_code_to("maria.new@example.org").unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let page = app.get("/members/maria/contact?done=verify").await;
    let (csrf, version) = (page.csrf_token(), TestApp::hidden(&page, "version"));
    let app = Arc::new(app);
    let mut guesses = JoinSet::new();
    for _ in 0..3 {
        let (app, csrf, version) = (app.clone(), csrf.clone(), version.clone());
        guesses.spawn(async move {
            let form = [("csrf_token", csrf.as_str()), ("version", version.as_str()), ("code", wrong)];
            app.send(Method::POST, "/members/maria/contact", Some(&form)).await.0.body
        });
    }
    let mut answered_wrong = 0;
    while let Some(body) = guesses.join_next().await {
        if body.unwrap().contains("That code is not right") {
            answered_wrong += 1;
        }
    }
    // The next guess says how many tries are left: 5 less those counted, less this one.
    let form = [("csrf_token", csrf.as_str()), ("version", version.as_str()), ("code", wrong)];
    let next = app.send(Method::POST, "/members/maria/contact", Some(&form)).await.0.body;
    let left: u32 = next.split("You have ").nth(1).and_then(|t| t.split(' ').next()).and_then(|n| n.parse().ok()).expect("tries left");
    let counted = 4 - left;
    assert_eq!(answered_wrong, counted, "every \"wrong\" answer was a counted try");
}

/// A mailer that takes a while, as SES does.
struct SlowMailer(Arc<portal_adapters::OutboxMailer>, Wall);

#[async_trait::async_trait]
impl Mailer for SlowMailer {
    async fn send(&self, message: Message) -> Result<(), MailError> {
        tokio::time::sleep(self.1).await;
        self.0.send(message).await
    }
}

/// Item 9: asking for a code takes as long for an address no member has as for a member's, whose
/// code is mailed (at least the configured floor, which is more than a send takes).
#[tokio::test]
async fn asking_for_a_code_takes_the_same_time_for_any_address() {
    let mut app = TestApp::memory().await;
    app.app.mailer = Arc::new(SlowMailer(app.outbox.clone(), Wall::from_millis(150)));
    app.app.config.code_send_floor = Wall::from_millis(400);
    let (known, known_to, app) = timed(MARIA, app).await;
    let (unknown, unknown_to, app) = timed("nobody@example.com", app).await;
    assert_eq!(known_to, unknown_to);
    assert!(known >= Wall::from_millis(400) && unknown >= Wall::from_millis(400), "{known:?} {unknown:?}");
    let gap = known.abs_diff(unknown);
    assert!(gap < Wall::from_millis(120), "known {known:?}, unknown {unknown:?}");
    assert_eq!(app.outbox.messages().iter().filter(|m| m.to == MARIA).count(), 1);

    // An email change likewise: a code is mailed only to a free address, in the same time.
    let mut maria = TestApp { cookies: Vec::new(), ..app };
    maria.app.mailer = maria.outbox.clone();
    maria.sign_in(MARIA).await;
    maria.app.mailer = Arc::new(SlowMailer(maria.outbox.clone(), Wall::from_millis(150)));
    let started = Instant::now();
    maria.submit_contact("maria", &[("email", SAM)]).await;
    let taken = started.elapsed();
    maria.clock.advance(Duration::seconds(61));
    let started = Instant::now();
    maria.submit_contact("maria", &[("email", "free.address@example.org")]).await;
    let free = started.elapsed();
    assert!(taken >= Wall::from_millis(400) && free >= Wall::from_millis(400), "{taken:?} {free:?}");
    assert!(taken.abs_diff(free) < Wall::from_millis(120), "taken {taken:?}, free {free:?}");
}

/// Asks for a code for `email` in a fresh browser; how long the answer took, and where it sends.
async fn timed(email: &'static str, app: TestApp) -> (Wall, Option<String>, TestApp) {
    let mut app = TestApp { cookies: Vec::new(), ..app };
    let form = app.get("/sign-in").await;
    let csrf = form.csrf_token();
    let started = Instant::now();
    let page = app.post("/sign-in", &[("csrf_token", &csrf), ("email", email)]).await;
    (started.elapsed(), page.location().map(str::to_owned), app)
}

/// Item 11: a practice import that changes a member's address ends their sessions; so does one
/// that makes someone else the household's owner.
#[tokio::test]
async fn an_import_that_changes_an_address_or_the_owner_ends_those_sessions() {
    use portal_cli::import::{self, Dataset};
    let today = portal_tests::test_now().with_timezone(&chrono_tz::America::Chicago).date_naive();
    let mut file = import::to_json(&Dataset::from_demo(&portal_adapters::demo::Demo::new(today)));
    let clock = Arc::new(portal_adapters::ManualClock::new(portal_tests::test_now()));
    let table: Arc<dyn portal_domain::Table> = Arc::new(portal_adapters::MemoryTable::new(clock.clone()));
    let parse = |file: &serde_json::Value| import::parse(&file.to_string(), today).unwrap();
    import::import(table.as_ref(), &parse(&file), &|_, _| {}).await.unwrap();
    let outbox = Arc::new(portal_adapters::OutboxMailer::new());
    let mut app = TestApp::build(table.clone(), clock, outbox.clone(), outbox).await;
    sign_in_member(&mut app, DANIEL).await;
    let daniel = std::mem::take(&mut app.cookies);
    app.sign_in(SAM).await;
    let sam = std::mem::take(&mut app.cookies);
    app.sign_in(MARIA).await;
    let maria = std::mem::take(&mut app.cookies);
    // A code for Daniel's old address is on its way when the practice changes it.
    let jar = std::mem::take(&mut app.cookies);
    assert_eq!(app.request_code(DANIEL).await.location(), Some("/sign-in/code"));
    let old_code = app.last_code_to(DANIEL).unwrap();
    let pending_old = std::mem::replace(&mut app.cookies, jar);
    // The practice changes Daniel's address.
    let lopez = file["households"].as_array_mut().unwrap().iter_mut().find(|h| h["id"] == "lopez").unwrap();
    lopez["members"].as_array_mut().unwrap().iter_mut().find(|m| m["id"] == "daniel").unwrap()["email"] =
        serde_json::json!("daniel.l@example.org");
    import::import(table.as_ref(), &parse(&file), &|_, _| {}).await.unwrap();
    app.cookies = daniel;
    assert_eq!(app.get("/members").await.location(), Some("/sign-in"), "Daniel's session ended with his old address");
    app.cookies = pending_old;
    let late = app.enter_code(&old_code).await;
    assert_eq!(late.status, StatusCode::UNPROCESSABLE_ENTITY, "a code sent to the old address signs no one in");
    assert!(app.cookie("portal_session").is_none());
    app.cookies = maria.clone();
    assert_eq!(app.get("/members").await.status, StatusCode::OK, "Maria's goes on");
    app.cookies = sam.clone();
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK);
    // The practice makes Daniel the owner: Maria's session (an owner's) ends.
    let lopez = file["households"].as_array_mut().unwrap().iter_mut().find(|h| h["id"] == "lopez").unwrap();
    lopez["owner"] = serde_json::json!("daniel");
    for m in lopez["members"].as_array_mut().unwrap() {
        let relationship = match m["id"].as_str() {
            Some("daniel") => "self",
            Some("maria") => "spouse",
            _ => continue,
        };
        m["relationship"] = serde_json::json!(relationship);
    }
    import::import(table.as_ref(), &parse(&file), &|_, _| {}).await.unwrap();
    app.cookies = maria;
    assert_eq!(app.get("/members").await.location(), Some("/sign-in"), "Maria's owner session ended");
    app.cookies = sam;
    assert_eq!(app.get("/invoices").await.status, StatusCode::OK, "another household is untouched");
}

/// Item 11: a local portal's forms trust no Host header: a page at another name pointed at
/// 127.0.0.1 (DNS rebinding), whose requests say that name in both Host and Origin, is refused.
#[tokio::test]
async fn a_local_form_posted_from_a_rebound_name_is_refused() {
    let mut app = TestApp::memory().await;
    let form = app.get("/sign-in").await;
    let csrf = form.csrf_token();
    let post = |host: &'static str| {
        let mut req = app.build_request(Method::POST, "/sign-in", Some(&[("csrf_token", csrf.as_str()), ("email", MARIA)]));
        req.headers_mut().insert("host", host.parse().unwrap());
        req.headers_mut().insert("origin", format!("http://{host}").parse().unwrap());
        req
    };
    let rebound = portal_cli::dispatch(&app.app, post("rebound.example:3000")).await;
    assert_eq!(rebound.status(), StatusCode::FORBIDDEN);
    assert!(app.last_code_to(MARIA).is_none());
    let own = portal_cli::dispatch(&app.app, post("localhost:3000")).await;
    assert_eq!(own.status(), StatusCode::SEE_OTHER, "the server's own address under its other name");
}
