//! `portal`: run the whole portal locally, seed demo data, mint access links.

use clap::{Parser, Subcommand};

use portal_cli::local;

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
    Seed(local::TableArgs),
    /// Mint a login-less access link for a member and print it.
    AccessLink(local::AccessLinkArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => local::serve(args).await,
        Command::Seed(args) => local::seed(args).await,
        Command::AccessLink(args) => local::access_link(args).await,
    }
}
