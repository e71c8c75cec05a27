//! `portal`: run the whole portal locally, seed demo data, mint access links.

use clap::{Parser, Subcommand};

use portal_cli::{local, operator};

#[derive(Parser)]
#[command(name = "portal", about = "The patient portal's command line", version, args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: local::ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Serve every function's pages on 127.0.0.1 with demo data (the default).
    Serve(local::ServeArgs),
    /// Create the table on a DynamoDB endpoint (if missing) and load the demo data into it.
    Seed(local::SeedArgs),
    /// Load a practice's data from an import file (docs/import-format.md); re-importing changes nothing.
    Import(operator::ImportArgs),
    /// Mint a login-less access link for a member, print it, and with --send email it.
    AccessLink(operator::AccessLinkArgs),
    /// Settle or release payments whose processor answer never arrived, by asking the processor.
    Reconcile(operator::ReconcileArgs),
    /// Print the practice change feed after a cursor, as JSON lines (docs/practice-feed.md).
    Export(operator::ExportArgs),
    /// Bring a table written by an earlier version up to date (idempotent, resumable).
    Migrate(operator::MigrateArgs),
    /// Email each household's reminders for a day, each once (what the deployed function does each morning).
    Reminders(operator::RemindersArgs),
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => local::serve(args).await,
        Command::Seed(args) => local::seed(args).await,
        Command::Import(args) => operator::import(args).await,
        Command::AccessLink(args) => operator::access_link(args).await,
        Command::Reconcile(args) => operator::reconcile(args).await,
        Command::Export(args) => operator::export(args).await,
        Command::Migrate(args) => operator::migrate(args).await,
        Command::Reminders(args) => operator::reminders(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
