//! The `handover-broker` command: serve, and the operator's verbs around it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use handover_broker::auth::{self, Role};
use handover_broker::config::Settings;
use handover_broker::directory::{self, OrgIdentifier};
use handover_broker::startup::Application;
use handover_broker::store::Store;
use handover_broker::telemetry::{get_subscriber, init_subscriber};

// Parsing a 100 KB bundle allocates and frees tens of thousands of small JSON nodes. Under the loadgen,
// glibc's malloc and free were about 13% of the broker's CPU in the profile; mimalloc's about 8%.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "handover-broker", version, about = "FHIR R4 message broker for patient handovers")]
struct Cli {
    /// Configuration file (TOML); every key can be overridden by HANDOVER_<KEY>.
    #[arg(long, global = true, env = "HANDOVER_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the broker.
    Serve,
    /// Apply database migrations and exit.
    Migrate,
    /// Manage bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// Manage the directory of organisations.
    Directory {
        #[command(subcommand)]
        command: DirectoryCommand,
    },
    /// Post unique message Bundles as fast as possible and report throughput and latency.
    Loadgen(handover_broker::loadgen::LoadgenArgs),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token; prints the token alone on stdout (its id goes to stderr).
    Issue {
        /// The organisation, by one of its identifiers: SYSTEM|VALUE.
        #[arg(long)]
        org: String,
        /// sender, auditor or admin.
        #[arg(long, default_value = "sender")]
        role: String,
    },
    /// Revoke a token, by its id or by the token itself.
    Revoke { token_or_id: String },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Import (insert or replace) Organizations + Endpoints from a FHIR Bundle.
    Import { file: PathBuf },
    /// List the organisations.
    List {
        #[arg(long)]
        json: bool,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let settings = Settings::load(cli.config.as_deref())?;
    // Logs go to stderr, so that stdout carries only what scripts read (the listening line, a token).
    init_subscriber(get_subscriber("info", settings.log_format, std::io::stderr))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run(cli.command, settings))
}

async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    Store::open(&settings.database_url, settings.store.max_connections, settings.store.max_batch)
        .await
        .context("opening the database")
}

async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve => {
            let app = Application::build(settings).await?;
            for token in app.demo_tokens() {
                tracing::info!(token = %token, "demo token (loopback only)");
            }
            println!("listening on {}", app.base_url());
            app.run_until_stopped().await?;
        }
        Command::Migrate => {
            open_store(&settings).await?.close().await;
            eprintln!("migrations applied");
        }
        Command::Token { command: TokenCommand::Issue { org, role } } => {
            let identifier = OrgIdentifier::parse_token(&org).context("--org takes SYSTEM|VALUE")?;
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let store = open_store(&settings).await?;
            let issued = auth::issue_token(&store, &identifier, role).await?;
            store.close().await;
            eprintln!("token id {} for organisation {} (role {role})", issued.token_id, issued.org);
            println!("{}", issued.token);
        }
        Command::Token { command: TokenCommand::Revoke { token_or_id } } => {
            let store = open_store(&settings).await?;
            let revoked =
                store.revoke_token(&token_or_id).await? || store.revoke_token(&auth::hash_token(&token_or_id)).await?;
            store.close().await;
            anyhow::ensure!(revoked, "no live token with that id");
            eprintln!("revoked");
        }
        Command::Directory { command: DirectoryCommand::Import { file } } => {
            let organizations = directory::read_bundle_file(&file)?;
            let store = open_store(&settings).await?;
            let n = directory::import(&store, &organizations).await?;
            store.close().await;
            eprintln!("imported {n} organisations");
        }
        Command::Directory { command: DirectoryCommand::List { json } } => {
            let store = open_store(&settings).await?;
            let organizations = store.organizations().await?;
            store.close().await;
            for org in &organizations {
                let identifiers: Vec<String> = org.identifiers.iter().map(ToString::to_string).collect();
                if json {
                    let line = serde_json::json!({
                        "id": org.id.as_str(), "name": org.name, "identifiers": identifiers,
                        "events": org.events, "delivery": org.delivery.as_str(), "address": org.address,
                    });
                    println!("{line}");
                } else {
                    println!(
                        "{:<20} {:<8} {:<45} {}  [{}]",
                        org.id.as_str(),
                        org.delivery.as_str(),
                        org.name,
                        identifiers.join(" "),
                        org.events.join(",")
                    );
                }
            }
        }
        Command::Loadgen(args) => handover_broker::loadgen::run(args).await?,
    }
    Ok(())
}
