//! The `portal` binary's operator commands, run as an operator runs them, against the DynamoDB/SES
//! emulator (`scripts/test` starts moto and sets `PORTAL_TEST_DYNAMODB_ENDPOINT`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};

fn endpoint() -> String {
    std::env::var("PORTAL_TEST_DYNAMODB_ENDPOINT")
        .expect("PORTAL_TEST_DYNAMODB_ENDPOINT is not set: run scripts/test, which starts the DynamoDB emulator")
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{prefix}-{}-{nanos}", std::process::id())
}

fn portal(args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_portal"));
    command.args(args);
    for name in ["PORTAL_PUBLIC_URL", "MAIL_FROM", "TABLE_NAME", "RUST_BACKTRACE", "RUST_LOG"] {
        command.env_remove(name);
    }
    command.env("AWS_REGION", "us-east-1").env("AWS_ACCESS_KEY_ID", "local").env("AWS_SECRET_ACCESS_KEY", "local");
    command
}

fn run(args: &[&str]) -> Output {
    portal(args).output().expect("running portal")
}

/// A runtime and a handle on the emulator's table `name`, to act on it as a function would.
fn emulator_table(name: &str) -> (tokio::runtime::Runtime, std::sync::Arc<dyn portal_domain::Table>) {
    use std::sync::Arc;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let table: Arc<dyn portal_domain::Table> = runtime.block_on(async {
        let sdk = portal_adapters::aws_config(Some(&endpoint())).await;
        let clock: Arc<dyn portal_domain::Clock> = Arc::new(portal_adapters::SystemClock);
        Arc::new(portal_adapters::DynamoTable::new(portal_adapters::DynamoClient::new(&sdk), name.to_owned(), clock))
    });
    (runtime, table)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A plain HTTP GET on 127.0.0.1, returning the status line and the body.
fn get(url: &str) -> (String, String) {
    let rest = url.strip_prefix("http://").expect("an http URL");
    let (host, path) = rest.split_once('/').map(|(h, p)| (h, format!("/{p}"))).unwrap_or((rest, "/".into()));
    let mut stream = TcpStream::connect(host).expect("connecting");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).expect("reading the response");
    let (head, body) = response.split_once("\r\n\r\n").unwrap_or((&response, ""));
    (head.lines().next().unwrap_or("").to_owned(), body.to_owned())
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `portal serve` on a free port, on the given table; returns it with its URL.
fn serve(table: &str) -> (Server, String) {
    let mut child = portal(&["serve", "--port", "0", "--dynamodb-endpoint", &endpoint(), "--table", table])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting portal serve");
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    for line in lines.by_ref() {
        let line = line.expect("a line");
        if let Some(url) = line.strip_prefix("Patient portal: ") {
            // Keep reading what the server prints next: closing the pipe would end it at its next line.
            std::thread::spawn(move || lines.for_each(drop));
            return (server, url.trim_end_matches('/').to_owned());
        }
    }
    panic!("portal serve did not print its URL");
}

#[test]
fn a_file_with_problems_is_refused_with_every_problem_and_nothing_is_written() {
    let demo = run(&["seed", "--print"]);
    assert!(demo.status.success());
    let mut file: serde_json::Value = serde_json::from_slice(&demo.stdout).unwrap();
    file["households"][0]["members"][1]["date_of_birth"] = "yesterday".into();
    file["households"][1]["invoices"][0]["lines"][0]["amount"] = 80.into();
    let path = std::env::temp_dir().join(format!("{}.json", unique("bad-import")));
    std::fs::write(&path, file.to_string()).unwrap();
    let table = unique("import-bad");

    let out = run(&["import", path.to_str().unwrap(), "--dynamodb-endpoint", &endpoint(), "--table", &table]);
    let stderr = text(&out.stderr);
    assert!(!out.status.success(), "a file with problems fails the command");
    assert!(stderr.contains("2 problem(s); nothing was written"), "{stderr}");
    assert!(stderr.contains("households[0].members[1].date_of_birth: not a date (write it as YYYY-MM-DD)"), "{stderr}");
    assert!(stderr.contains("households[1].invoices[0].lines[0].amount: write amounts as text"), "{stderr}");

    // Nothing was written: the table was not even created.
    let access = run(&["access-link", "--email", "maria@example.com", "--dynamodb-endpoint", &endpoint(), "--table", &table]);
    assert!(!access.status.success());
    assert!(text(&access.stderr).contains("no member signs in with maria@example.com"), "{}", text(&access.stderr));
    std::fs::remove_file(path).ok();
}

#[test]
fn an_imported_practice_gets_an_access_link_by_email_that_opens_its_access_page() {
    let file = std::env::temp_dir().join(format!("{}.json", unique("demo-import")));
    std::fs::write(&file, run(&["seed", "--print"]).stdout).unwrap();
    let file = file.to_str().unwrap();
    let table = unique("import");
    let first = run(&["import", file, "--dynamodb-endpoint", &endpoint(), "--table", &table]);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let summary = text(&first.stdout);
    assert!(summary.contains("2 households, 38 records, no problems."), "{summary}");
    assert!(summary.contains(": 40 records created, 0 updated, 0 unchanged."), "{summary}");
    let again = run(&["import", file, "--dynamodb-endpoint", &endpoint(), "--table", &table]);
    assert!(text(&again.stdout).contains(": 0 records created, 0 updated, 40 unchanged."), "{}", text(&again.stdout));

    // The portal serves the imported table; the operator mints a link for Maria and emails it.
    let (_server, url) = serve(&table);
    let sender = "care@cedarvalley.example";
    verify_sender(sender);
    let out = run(&[
        "access-link",
        "--email",
        "maria@example.com",
        "--days",
        "7",
        "--send",
        "--from",
        sender,
        "--base-url",
        &url,
        "--dynamodb-endpoint",
        &endpoint(),
        "--table",
        &table,
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let link = text(&out.stdout).trim().to_owned();
    assert!(link.starts_with(&format!("{url}/access/")), "{link}");
    assert!(text(&out.stderr).contains("Sent to maria@example.com."));

    let (status, body) = get(&link);
    assert!(status.contains(" 200 "), "{status}");
    assert!(body.contains("Welcome to your patient portal") && body.contains("m•••@example.com"), "{body}");
    let (_, unknown) = get(&format!("{url}/access/{}", "x".repeat(43)));
    assert!(unknown.contains("This link has expired"), "a link that was never minted opens nothing");

    // SES (the emulator) accepted the email, with the link in it.
    let (_, sent) = get(&format!("{}/moto-api/data.json", endpoint()));
    assert!(sent.contains("Your Cedar Valley Direct Primary Care patient portal"), "the access-link email was sent");
    assert!(sent.contains(&link), "the email holds the link");
    std::fs::remove_file(file).ok();
}

/// Verifies the sender on the emulator's SES, as the SAM template's identity does in AWS.
fn verify_sender(address: &str) {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let sdk = portal_adapters::aws_config(Some(&endpoint())).await;
        let client = portal_adapters::SesClient::new(&sdk);
        let _ = client.create_email_identity().email_identity(address).send().await;
    });
}

/// Two payments whose processor answer was lost, one 30 minutes ago and one a minute ago, on the
/// seeded demo's open invoice: `portal reconcile` asks the processor about the old one only.
#[test]
fn reconcile_settles_a_payment_whose_answer_was_lost_once_it_is_old_enough() {
    use chrono::Datelike;
    use portal_domain::pay::{self, PayOutcome, PayRequest, PaySource};
    use portal_domain::{store, AccountId, Money, PaymentStatus};

    let table_name = unique("reconcile");
    let seeded = run(&["seed", "--dynamodb-endpoint", &endpoint(), "--table", &table_name]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let (runtime, table) = emulator_table(&table_name);
    let lopez = AccountId::parse("lopez").unwrap();
    let household = || runtime.block_on(store::household(table.as_ref(), &lopez)).unwrap();
    let open = household().ledger.invoices().unwrap().into_iter().find(|i| !i.payable().is_zero()).expect("an open invoice");
    let gateway = portal_adapters::SandboxGateway::with_ledger(Box::new(portal_adapters::OsRandom), table.clone());
    let now = chrono::Utc::now();
    for (minutes_ago, key) in [(30, "lost-answer-old-0000"), (1, "lost-answer-young-000")] {
        // 4000 0000 0000 0119: the sandbox charges the card and the answer never arrives.
        let expires = (now.date_naive().year() + 3).to_string();
        let card = portal_domain::card::parse_card("4000000000000119", "12", &expires, "123", "78701", now.date_naive()).unwrap();
        let request = PayRequest {
            account: &lopez,
            invoices: &[household().ledger.invoices().unwrap().into_iter().find(|i| i.id() == open.id()).unwrap()],
            amount: Money::parse("10.00").unwrap(),
            source: PaySource::New { source: portal_domain::card::NewSource::Card(card), save: false },
            idempotency_key: key,
            existing_sources: 1,
            customer: None,
            ach_consent: None,
            standing: None,
            payer: None,
            now: now - chrono::Duration::minutes(minutes_ago),
        };
        let outcome = runtime.block_on(pay::pay(table.as_ref(), &gateway, &portal_adapters::OsRandom, request)).unwrap();
        assert!(matches!(outcome, PayOutcome::Pending(_)), "{outcome:?}");
    }

    let args = ["reconcile", "--dynamodb-endpoint", &endpoint(), "--table", &table_name];
    let first = run(&args);
    assert!(first.status.success(), "{}", text(&first.stderr));
    assert_eq!(text(&first.stdout).trim(), "Settled 1, released 0, left pending 0.");
    let after = household();
    let invoice = after.ledger.invoices().unwrap().into_iter().find(|i| i.id() == open.id()).unwrap();
    assert_eq!((invoice.paid(), invoice.pending()), (open.paid() + Money::parse("10.00").unwrap(), Money::parse("10.00").unwrap()));
    let statuses: Vec<_> =
        after.ledger.payments().unwrap().into_iter().filter(|p| p.invoice == *open.id()).map(|p| (p.idempotency_key, p.status)).collect();
    assert!(statuses.contains(&("lost-answer-old-0000".to_owned(), PaymentStatus::Succeeded)), "{statuses:?}");
    assert!(
        statuses.contains(&("lost-answer-young-000".to_owned(), PaymentStatus::Pending)),
        "a charge that may be in flight is left: {statuses:?}"
    );

    let again = run(&args);
    assert!(again.status.success(), "{}", text(&again.stderr));
    assert_eq!(text(&again.stdout).trim(), "Settled 0, released 0, left pending 0.", "a second run finds nothing to do");
}

/// A practice's endpoint on 127.0.0.1 for one request: answers 204 and hands over its headers and body.
fn one_webhook() -> (String, std::sync::mpsc::Receiver<(String, String)>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/portal-events", listener.local_addr().unwrap());
    let (send, receive) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else { return };
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut headers = String::new();
        let mut length = 0;
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            if let Some((name, value)) = line.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    length = value.trim().parse().unwrap_or(0);
                }
            }
            headers.push_str(&line);
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body).unwrap();
        let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        let _ = send.send((headers, String::from_utf8_lossy(&body).into_owned()));
    });
    (url, receive)
}

#[test]
fn the_practice_feed_is_exported_after_a_cursor_and_posted_signed_by_the_local_portal() {
    use chrono::Datelike;
    use portal_domain::pay::{self, PayOutcome, PayRequest, PaySource};
    use portal_domain::{store, AccountId, Money};

    let table_name = unique("feed");
    let seeded = run(&["seed", "--dynamodb-endpoint", &endpoint(), "--table", &table_name]);
    assert!(seeded.status.success(), "{}", text(&seeded.stderr));
    let ep = endpoint();
    let export = |since: Option<&str>| {
        let mut args = vec!["export", "--dynamodb-endpoint", ep.as_str(), "--table", &table_name];
        let owned;
        if let Some(since) = since {
            owned = since.to_owned();
            args.extend(["--since", owned.as_str()]);
        }
        run(&args)
    };
    let nothing = export(None);
    assert!(nothing.status.success(), "{}", text(&nothing.stderr));
    assert_eq!(text(&nothing.stdout).trim(), r#"{"next_cursor":null}"#, "no changes yet");

    // A patient pays a minute ago (the library, as the pay-invoice function does).
    let (runtime, table) = emulator_table(&table_name);
    let lopez = AccountId::parse("lopez").unwrap();
    let records = runtime.block_on(store::household(table.as_ref(), &lopez)).unwrap();
    let open = records.ledger.invoices().unwrap().into_iter().find(|i| !i.payable().is_zero()).expect("an open invoice");
    let now = chrono::Utc::now();
    let card =
        portal_domain::card::parse_card("4242424242424242", "12", &(now.year() + 3).to_string(), "123", "78701", now.date_naive()).unwrap();
    let request = PayRequest {
        account: &lopez,
        invoices: std::slice::from_ref(&open),
        amount: Money::parse("10.00").unwrap(),
        source: PaySource::New { source: portal_domain::card::NewSource::Card(card), save: false },
        idempotency_key: "feed-export-0000000001",
        existing_sources: 1,
        customer: None,
        ach_consent: None,
        standing: None,
        payer: None,
        now: now - chrono::Duration::minutes(1),
    };
    let gateway = portal_adapters::SandboxGateway::with_ledger(Box::new(portal_adapters::OsRandom), table.clone());
    let outcome = runtime.block_on(pay::pay(table.as_ref(), &gateway, &portal_adapters::OsRandom, request)).unwrap();
    assert!(matches!(outcome, PayOutcome::Succeeded(_)), "{outcome:?}");

    let first = export(None);
    assert!(first.status.success(), "{}", text(&first.stderr));
    let lines: Vec<serde_json::Value> = text(&first.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "the event, then the next cursor: {lines:?}");
    assert_eq!(lines[0]["type"], "payment.succeeded");
    assert_eq!(lines[0]["household"], "lopez");
    assert_eq!(lines[0]["data"]["payment"]["invoice"], open.id().as_str());
    assert_eq!(lines[1]["next_cursor"], lines[0]["cursor"]);
    let cursor = lines[0]["cursor"].as_str().unwrap().to_owned();
    let again = export(Some(&cursor));
    assert_eq!(text(&again.stdout).trim(), serde_json::json!({ "next_cursor": cursor }).to_string(), "nothing after it");
    let bad = export(Some("yesterday"));
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("not a cursor"), "{}", text(&bad.stderr));

    // The local portal posts it to the practice's endpoint, signed, and lists it at /_dev/feed.
    let (url, received) = one_webhook();
    let secret = "a-local-practice-webhook-secret";
    let mut child = portal(&[
        "serve",
        "--port",
        "0",
        "--dynamodb-endpoint",
        &endpoint(),
        "--table",
        &table_name,
        "--practice-webhook",
        &url,
        "--practice-webhook-secret",
        secret,
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::null())
    .spawn()
    .expect("starting portal serve");
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut out = BufReader::new(stdout).lines();
    let base =
        out.by_ref().map_while(Result::ok).find_map(|l| l.strip_prefix("Patient portal: ").map(|u| u.trim_end_matches('/').to_owned()));
    std::thread::spawn(move || out.for_each(drop));
    let (headers, body) = received.recv_timeout(std::time::Duration::from_secs(20)).expect("the event posted within 20 seconds");
    let header = |name: &str| {
        headers
            .lines()
            .find_map(|l| l.split_once(':').filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.trim().to_owned()))
            .unwrap()
    };
    let posted: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(posted["id"], lines[0]["id"]);
    assert_eq!(header("webhook-id"), lines[0]["id"].as_str().unwrap());
    let checked = portal_feed::Secret::parse(secret).unwrap().verify(
        &header("webhook-id"),
        &header("webhook-timestamp"),
        &header("webhook-signature"),
        body.as_bytes(),
        chrono::Utc::now().timestamp(),
    );
    assert_eq!(checked, Ok(()));
    let (status, page) = get(&format!("{}/_dev/feed", base.expect("the server's URL")));
    assert!(status.contains("200"), "{status}");
    assert!(page.contains("payment.succeeded") && page.contains(lines[0]["id"].as_str().unwrap()));
    drop(server);
}

/// A raw request to the local server: the status line of its answer.
fn raw(url: &str, request: &[u8]) -> String {
    let host = url.strip_prefix("http://").unwrap();
    let mut stream = TcpStream::connect(host).unwrap();
    let _ = stream.write_all(request);
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or("").to_owned()
}

/// The local server answers only at its own address (a page that points its own name at
/// 127.0.0.1 reaches nothing: not the outbox's codes, not a form) and stops reading a body at
/// its size limit.
#[test]
fn the_local_server_answers_only_its_own_host_and_refuses_a_body_over_the_limit() {
    let (_server, url) = serve(&unique("local-host"));
    let port = url.rsplit(':').next().unwrap().to_owned();
    let get = |host: &str, path: &str| raw(&url, format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").as_bytes());
    assert!(get(&format!("127.0.0.1:{port}"), "/_dev/outbox").contains("200"));
    assert!(get(&format!("localhost:{port}"), "/sign-in").contains("200"));
    assert!(get(&format!("rebound.example:{port}"), "/_dev/outbox").contains("421"), "a foreign Host reads no codes");
    assert!(get(&format!("rebound.example:{port}"), "/sign-in").contains("421"));
    assert!(get("127.0.0.1:1", "/sign-in").contains("421"), "another port is another origin");
    let body = vec![b'a'; 1024 * 1024];
    let mut request =
        format!("POST /sign-in HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len())
            .into_bytes();
    request.extend_from_slice(&body);
    assert!(raw(&url, &request).contains("413"), "a megabyte is not read");
}
