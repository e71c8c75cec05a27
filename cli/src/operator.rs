//! The operator's commands: importing a practice's data, minting (and sending) access links, and
//! reconciling payments whose processor answer never arrived.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context as _;
use chrono::NaiveDate;
use clap::Args;
use portal_adapters::{OsRandom, SesClient, SesMailer, SystemClock};
use portal_domain::{session, store, Clock, Email, Mailer, Random, Table};
use portal_templates::routes::Route;

use crate::import;
use crate::local::{dynamo_table, time_zone, TableArgs};

#[derive(Args)]
pub struct ImportArgs {
    /// The import file (JSON, see docs/import-format.md).
    file: std::path::PathBuf,
    #[command(flatten)]
    table: TableArgs,
    /// Check the file and report its problems without writing anything.
    #[arg(long)]
    check: bool,
}

/// Checks the whole file first; writes only when it has no problem at all.
pub async fn import(args: ImportArgs) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(&args.file).with_context(|| format!("reading {}", args.file.display()))?;
    let today = SystemClock.now().with_timezone(&time_zone()?).date_naive();
    let data = match import::parse(&text, today) {
        Ok(data) => data,
        Err(problems) => {
            eprintln!("{}: {} problem(s); nothing was written:", args.file.display(), problems.len());
            for problem in &problems {
                eprintln!("  {problem}");
            }
            anyhow::bail!("the file has problems");
        }
    };
    let records: usize = data
        .households
        .iter()
        .map(|h| 1 + h.members.len() + h.memberships.len() + h.invoices.len() + h.payments.len() + h.sources.len() + h.agreements.len())
        .sum();
    println!("{}: {} households, {} records, no problems.", args.file.display(), data.households.len(), records);
    if args.check {
        return Ok(());
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = dynamo_table(args.table.dynamodb_endpoint.as_deref(), &args.table.table, clock).await?;
    let started = Instant::now();
    // Progress for large files: a line at every tenth of the households.
    let step = (data.households.len() / 10).max(100);
    let progress = |done: usize, total: usize| {
        if done.is_multiple_of(step) || (done == total && total >= step) {
            eprintln!("  {done}/{total} households ({:.1} s)", started.elapsed().as_secs_f64());
            let _ = std::io::stderr().flush();
        }
    };
    let report = import::import(&table, &data, &progress).await?;
    println!(
        "Imported {} households in {:.1} s: {} records created, {} updated, {} unchanged.",
        report.households,
        started.elapsed().as_secs_f64(),
        report.created,
        report.updated,
        report.unchanged
    );
    if !report.kept.is_empty() {
        println!("Kept as changed in the portal ({}):", report.kept.len());
        for line in &report.kept {
            println!("  {line}");
        }
    }
    if !report.conflicts.is_empty() {
        eprintln!("Not imported as the file has them ({}):", report.conflicts.len());
        for line in &report.conflicts {
            eprintln!("  {line}");
        }
        anyhow::bail!("{} record(s) could not be imported as the file has them", report.conflicts.len());
    }
    Ok(())
}

#[derive(Args)]
pub struct AccessLinkArgs {
    #[command(flatten)]
    table: TableArgs,
    /// The member's email address.
    #[arg(long)]
    email: String,
    /// How many days the link works.
    #[arg(long, default_value_t = 30)]
    days: i64,
    /// The portal's public URL the link starts with.
    #[arg(long, env = "PORTAL_PUBLIC_URL", default_value = "http://127.0.0.1:3000")]
    base_url: String,
    /// Also email the link to the member through SES (from --from).
    #[arg(long)]
    send: bool,
    /// The verified address the email is sent from.
    #[arg(long, env = "MAIL_FROM", required_if_eq("send", "true"))]
    from: Option<String>,
    /// The SES endpoint (an emulator such as moto); defaults to --dynamodb-endpoint, else AWS.
    #[arg(long)]
    ses_endpoint: Option<String>,
}

/// Mints an access link for the member with `email`; returns the URL.
pub(crate) async fn mint_link(
    table: &dyn Table,
    random: &dyn Random,
    now: chrono::DateTime<chrono::Utc>,
    email: &str,
    days: i64,
    base_url: &str,
) -> anyhow::Result<String> {
    let email = Email::parse(email).map_err(|e| anyhow::anyhow!("{email}: {e}"))?;
    let member = store::member_by_email(table, &email).await?.with_context(|| format!("no member signs in with {email}"))?;
    let token = session::mint_access_link(table, random, now, member.account, member.id, email, days).await?;
    Ok(format!("{}{}", base_url.trim_end_matches('/'), Route::Access(token.expose().to_owned()).path()))
}

/// Emails an access link with the practice's name from its profile.
pub async fn send_link(table: &dyn Table, mailer: &dyn Mailer, to: &str, link: &str, days: i64) -> anyhow::Result<()> {
    let practice = store::practice(table).await?.map(|p| p.name).unwrap_or_else(|| "Your practice".into());
    let message = portal_templates::emails::access_link(to, &practice, link, days);
    mailer.send(message).await.context("sending the access link")?;
    Ok(())
}

pub async fn access_link(args: AccessLinkArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1..=365).contains(&args.days), "--days must be between 1 and 365");
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = dynamo_table(args.table.dynamodb_endpoint.as_deref(), &args.table.table, clock.clone()).await?;
    let link = mint_link(&table, &OsRandom, clock.now(), &args.email, args.days, &args.base_url).await?;
    println!("{link}");
    if args.send {
        let from = args.from.context("--send needs --from (or MAIL_FROM): the verified address to send from")?;
        let endpoint = args.ses_endpoint.or(args.table.dynamodb_endpoint);
        let sdk = portal_adapters::aws_config(endpoint.as_deref()).await;
        let mailer = SesMailer::new(SesClient::new(&sdk), from);
        send_link(&table, &mailer, &args.email, &link, args.days).await?;
        eprintln!("Sent to {}.", args.email);
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ReconcileArgs {
    #[command(flatten)]
    table: TableArgs,
    /// Leave alone payments younger than this (a charge may still be in flight); at least 1.
    #[arg(long, default_value_t = 15)]
    older_than_minutes: i64,
    /// The payment processor to ask: the sandbox, or Stripe (with the STRIPE_* variables).
    #[arg(long, value_enum, default_value = "sandbox")]
    payments: crate::payments::Processor,
}

/// Asks the processor what became of every payment still pending after the grace period, and
/// settles (paid) or releases (payable again) each one. Safe to run at any time, and again.
pub async fn reconcile(args: ReconcileArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table: Arc<dyn Table> = Arc::new(dynamo_table(args.table.dynamodb_endpoint.as_deref(), &args.table.table, clock.clone()).await?);
    let gateway = crate::payments::processor(args.payments, &table)?.gateway;
    // A function gives up on a charge within its 10-second timeout, so a payment pending longer than
    // a minute is not in flight; the default leaves a wide margin.
    let grace = chrono::Duration::minutes(args.older_than_minutes.max(1));
    let done = portal_domain::pay::reconcile(table.as_ref(), gateway.as_ref(), clock.as_ref(), grace).await?;
    println!("Settled {}, released {}, left pending {}.", done.settled, done.released, done.unresolved);
    if done.unresolved > 0 {
        anyhow::bail!("{} payment(s) could not be settled yet: run this again later", done.unresolved);
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct ExportArgs {
    #[command(flatten)]
    table: TableArgs,
    /// The cursor the last export ended with; omit to start from the oldest event kept (90 days).
    #[arg(long)]
    since: Option<String>,
    /// At most this many events (1 to 10000).
    #[arg(long, default_value_t = 1000)]
    limit: usize,
}

/// Prints the practice change feed after a cursor: one JSON event per line, oldest first, then a
/// last line `{"next_cursor": "…"}` to pass as `--since` next time (docs/practice-feed.md).
pub async fn export(args: ExportArgs) -> anyhow::Result<()> {
    anyhow::ensure!((1..=10_000).contains(&args.limit), "--limit must be between 1 and 10000");
    if let Some(since) = &args.since {
        anyhow::ensure!(portal_domain::feed::is_cursor(since), "--since {since}: not a cursor (copy the next_cursor of the last export)");
    }
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = dynamo_table(args.table.dynamodb_endpoint.as_deref(), &args.table.table, clock.clone()).await?;
    write_export(&table, args.since.as_deref(), args.limit, clock.now(), &mut std::io::stdout().lock()).await
}

/// What `portal export` prints, written to `out`.
pub async fn write_export(
    table: &dyn Table,
    since: Option<&str>,
    limit: usize,
    now: chrono::DateTime<chrono::Utc>,
    out: &mut impl std::io::Write,
) -> anyhow::Result<()> {
    let (events, next) = portal_domain::feed::after(table, since, limit, now).await?;
    for event in &events {
        writeln!(out, "{}", event.to_json())?;
    }
    writeln!(out, "{}", serde_json::json!({ "next_cursor": next }))?;
    Ok(())
}

#[derive(clap::Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    table: TableArgs,
    /// Continue a migration that stopped: the key it printed last (`pk|sk`).
    #[arg(long)]
    resume_after: Option<String>,
}

/// What a migration did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Migrated {
    pub households: usize,
    pub indexed: usize,
    /// Invoices and payments moved below the household's profile.
    pub moved: usize,
    /// Open invoices entered in their household's summary.
    pub summarized: usize,
    /// Payments given their invoice's number.
    pub named: usize,
    /// Invoices whose payments were copied beside them, for their page (`store::applied`).
    pub copied: usize,
    /// Households whose charges and payments by month were counted (`store::balances`).
    pub balanced: usize,
    /// Households whose figures' totals were checked against their months (`store::balances`).
    pub totalled: usize,
    /// Households whose receipts were kept by year (`store::cleared`).
    pub receipts: usize,
    /// Those that changed while being moved or summarized (or whose new key was taken): the next
    /// run does them.
    pub left: usize,
}

/// Brings a table written by an earlier version up to date, page by page. Every household joins
/// the `HOUSEHOLDS` index (which the daily reminders run reads), and its invoices and payments
/// move below its profile (`keys::profile_range`), so the pages about the household read it
/// without its history. Idempotent (what is already done is left alone) and resumable
/// (`progress` is told each page's last key).
pub async fn migrate_table(
    table: &dyn Table,
    mut after: Option<portal_domain::ports::Key>,
    progress: &mut dyn FnMut(&portal_domain::ports::Key),
) -> anyhow::Result<Migrated> {
    let mut done = Migrated::default();
    loop {
        let (items, next) = table.scan_sort_key(portal_domain::keys::HOUSEHOLD_RECORD_SK, after.take()).await?;
        for item in &items {
            done.households += 1;
            if let Some(write) = store::index_household(item)? {
                match table.write(write).await {
                    Ok(()) => done.indexed += 1,
                    // Deleted since the scan read it: nothing to index.
                    Err(portal_domain::StoreError::ConditionFailed) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            let Some(pk) = item.get(portal_domain::ports::attr::PK).and_then(portal_domain::ports::Value::as_str) else { continue };
            let account = store::record_of::<portal_domain::Household>(item)?.id;
            let left_before = done.left;
            for prefix in portal_domain::keys::EARLIER_LEDGER_PREFIXES {
                for old in table.query(pk, prefix).await? {
                    let Some(writes) = store::move_ledger_item(&old) else { continue };
                    match table.transact(writes).await {
                        Ok(()) => done.moved += 1,
                        Err(portal_domain::StoreError::ConditionFailed) => done.left += 1,
                        Err(e) => return Err(e.into()),
                    }
                }
            }
            // The summary of open invoices the invoice list reads (written by every payment and
            // import since; here for what came before).
            let invoices = store::household(table, &account).await?.ledger.invoices()?;
            let existing = table.get(&portal_domain::keys::summary_key(&account)).await?;
            for group in store::summary::backfill(&account, &invoices, existing.as_ref()) {
                let entries = group.iter().filter(|w| matches!(w, portal_domain::ports::Write::Check { .. })).count();
                let result = match <[_; 1]>::try_from(group) {
                    Ok([write]) => table.write(write).await,
                    Err(group) => table.transact(group).await,
                };
                match result {
                    Ok(()) => done.summarized += entries,
                    Err(portal_domain::StoreError::ConditionFailed) => done.left += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            // Payments name their invoice's number, so a statement need not read the invoice.
            for writes in store::household(table, &account).await?.ledger.name_payments()? {
                match table.transact(writes).await {
                    Ok(()) => done.named += 1,
                    Err(portal_domain::StoreError::ConditionFailed) => done.left += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            // What an invoice's page reads by key: the members named on the household's record,
            // and each invoice's payments copied beside it.
            let records = store::household(table, &account).await?;
            if records.members.iter().any(|m| records.names.get(&m.id) != Some(&m.full_name())) {
                let update = store::applied::name_members(portal_domain::ports::Update::default(), &records.members);
                let key = store::household_key(&account);
                table
                    .write(portal_domain::ports::Write::Update { key, update, condition: Some(portal_domain::ports::Condition::Exists) })
                    .await?;
            }
            if done.left > left_before {
                // Something of this household's history changed while it was moved or named: the
                // next run finishes it before anything says its copies or figures are complete.
                continue;
            }
            let complete = store::applied::complete_invoices(table, &account).await?;
            for group in store::applied::backfill(&records.ledger, &complete)? {
                match table.transact(group).await {
                    Ok(()) => done.copied += 1,
                    Err(portal_domain::StoreError::ConditionFailed) => done.left += 1,
                    Err(e) => return Err(e.into()),
                }
            }
            // The figures by month statements read (counted by every import and payment since).
            let counted = match store::balances::backfill(table, &account).await? {
                store::balances::Backfill::AlreadyKept => true,
                store::balances::Backfill::Counted => {
                    done.balanced += 1;
                    true
                }
                store::balances::Backfill::StillChanging => {
                    done.left += 1;
                    false
                }
            };
            // Their totals, which a recent statement's opening balance comes from, once the months count the history.
            if counted {
                match store::balances::backfill_totals(table, &account).await? {
                    store::balances::Backfill::AlreadyKept => {}
                    store::balances::Backfill::Counted => done.totalled += 1,
                    store::balances::Backfill::StillChanging => done.left += 1,
                }
            }
            // The receipts the receipts list reads a year of (kept by every import and payment since).
            if !store::cleared::complete(table, &account).await? {
                for group in store::cleared::backfill(&account, &records.ledger)? {
                    match <[_; 1]>::try_from(group) {
                        Ok([write]) => table.write(write).await?,
                        Err(group) => table.transact(group).await?,
                    }
                }
                done.receipts += 1;
            }
        }
        match next {
            Some(key) => {
                progress(&key);
                after = Some(key);
            }
            None => return Ok(done),
        }
    }
}

pub async fn migrate(args: MigrateArgs) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let table = dynamo_table(args.table.dynamodb_endpoint.as_deref(), &args.table.table, clock).await?;
    let after = match &args.resume_after {
        Some(text) => {
            let (pk, sk) = text.split_once('|').context("--resume-after takes the key a migration printed, pk|sk")?;
            Some(portal_domain::ports::Key::new(pk, sk))
        }
        None => None,
    };
    let done = migrate_table(&table, after, &mut |key| eprintln!("  through {}|{}", key.pk, key.sk)).await?;
    println!(
        "Migrated: {} households read, {} added to the households index, {} invoices and payments moved below their household's profile, {} open invoices summarized, {} payments named by their invoice's number, {} invoices given copies of their payments, {} households' statements counted by month, {} households' totals checked, {} households' receipts kept by year.",
        done.households, done.indexed, done.moved, done.summarized, done.named, done.copied, done.balanced, done.totalled, done.receipts
    );
    if done.left > 0 {
        println!("{} changed while being migrated: run portal migrate again to finish them.", done.left);
    }
    Ok(())
}

#[derive(clap::Args)]
pub struct RemindersArgs {
    #[command(flatten)]
    table: TableArgs,
    /// The practice's date to run for (YYYY-MM-DD); defaults to today in PRACTICE_TIME_ZONE.
    #[arg(long)]
    today: Option<NaiveDate>,
    /// List what would be sent, claiming and sending nothing.
    #[arg(long)]
    dry_run: bool,
    /// The portal's public URL the links start with (needed to send: a link must reach the portal).
    #[arg(long, env = "PORTAL_PUBLIC_URL")]
    base_url: Option<String>,
    /// The verified address the emails are sent from (not needed for --dry-run).
    #[arg(long, env = "MAIL_FROM")]
    from: Option<String>,
    /// The SES endpoint (an emulator such as moto); defaults to --dynamodb-endpoint, else AWS.
    #[arg(long)]
    ses_endpoint: Option<String>,
    /// The processor automatic payments are charged through: with the sandbox (the default) they
    /// are not charged at all, only the reminders go; Stripe with the STRIPE_* variables.
    #[arg(long, value_enum, default_value = "sandbox")]
    payments: crate::payments::Processor,
}

/// The daily reminders run, as the deployed function does it each morning (`reminders::run`).
pub async fn reminders(args: RemindersArgs) -> anyhow::Result<()> {
    let zone = time_zone()?;
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let today = args.today.unwrap_or_else(|| clock.now().with_timezone(&zone).date_naive());
    let table: Arc<dyn Table> = Arc::new(dynamo_table(args.table.dynamodb_endpoint.as_deref(), &args.table.table, clock.clone()).await?);
    let mailer: Arc<dyn Mailer> = if args.dry_run {
        Arc::new(portal_adapters::OutboxMailer::default())
    } else {
        let from = args.from.context("sending reminders needs --from (or MAIL_FROM): the verified address to send from")?;
        let endpoint = args.ses_endpoint.or(args.table.dynamodb_endpoint.clone());
        let sdk = portal_adapters::aws_config(endpoint.as_deref()).await;
        Arc::new(SesMailer::new(SesClient::new(&sdk), from))
    };
    // The portal's secret, as its functions have it (from the environment only): it signs each
    // email's unsubscribe link, which the portal must be able to check.
    let secret = std::env::var("PORTAL_SECRET").ok();
    let (base_url, secret) = match (args.base_url, secret) {
        (Some(url), Some(secret)) if secret.len() >= 32 => (url, secret),
        (url, _) if args.dry_run => (url.unwrap_or_else(|| "http://127.0.0.1:3000".into()), "dry run: nothing is signed".repeat(2)),
        _ => anyhow::bail!(
            "sending reminders needs PORTAL_PUBLIC_URL (or --base-url) and PORTAL_SECRET (32 characters or more) as the portal has them"
        ),
    };
    let mut config = portal_web::config::Config::local(0, secret.into_bytes());
    config.public_url = base_url.trim_end_matches('/').to_owned();
    config.time_zone = zone;
    config.practice_name = store::practice(table.as_ref()).await?.map(|p| p.name).unwrap_or(config.practice_name);
    let charge = args.payments == crate::payments::Processor::Stripe;
    let gateway = crate::payments::processor(args.payments, &table)?.gateway;
    let app = portal_web::App::new(table, mailer, clock, Arc::new(OsRandom), gateway, config);
    if !charge {
        eprintln!("Automatic payments are not charged without --payments stripe; only reminders go.");
    }
    let report = reminders::run_with(&app, today, args.dry_run, charge).await?;
    for sent in &report.sent {
        println!("{}\t{}\t{}\t{}", sent.household, sent.kind, sent.subject, sent.to);
    }
    let verb = if args.dry_run { "would send" } else { "sent" };
    println!("{today}: {} households, {verb} {} reminder(s), {} failed.", report.households, report.sent.len(), report.failed);
    anyhow::ensure!(report.failed == 0, "{} reminder(s) could not be sent: run this again to retry them", report.failed);
    Ok(())
}
