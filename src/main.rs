//! The `handover-broker` command: serve, and the operator's verbs around it.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};

use handover_broker::api::outcome_body_in;
use handover_broker::auth::{self, Role, Scope, TokenRequest};
use handover_broker::config::Settings;
use handover_broker::directory;
use handover_broker::fhirxml::{Converter, XmlLimits};
use handover_broker::i18n::Language;
use handover_broker::message;
use handover_broker::model::{OrgIdentifier, Organization};
use handover_broker::outcome::{Issue, IssueCode};
use handover_broker::profiles::structure::Profile;
use handover_broker::profiles::{validate, Catalog};
use handover_broker::startup::Application;
use handover_broker::store::Store;
use handover_broker::telemetry::{get_subscriber, init_subscriber};
use handover_broker::time::Millis;

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
    Serve {
        /// Demo mode (as `demo = true`): the demo directory and its well-known tokens, on loopback only.
        #[arg(long)]
        demo: bool,
    },
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
    /// Validate message Bundles offline against the profiles (exit 1 when any has an error).
    Validate {
        /// Check each file (a resource, or the first resource of the profile's type in a Bundle)
        /// against this profile instead of as a message.
        #[arg(long)]
        profile: Option<String>,
        /// Extra folders of conformance resources to load besides `profiles_dir`.
        #[arg(long = "profiles")]
        profiles: Vec<PathBuf>,
        /// Print each file's OperationOutcome as one JSON line.
        #[arg(long)]
        json: bool,
        /// The language of the summary and the issues' texts: nl, fr or en (default: from LC_ALL,
        /// LC_MESSAGES or LANG, else English).
        #[arg(long, value_name = "LANGUAGE")]
        lang: Option<String>,
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Post unique message Bundles as fast as possible and report throughput and latency.
    Loadgen(Box<handover_broker::loadgen::LoadgenArgs>),
    /// The reference client of the pull mailbox.
    #[command(subcommand)]
    Mailbox(MailboxCommand),
    /// The tamper-evident ledger.
    #[command(subcommand)]
    Ledger(LedgerCommand),
}

#[derive(Subcommand)]
enum LedgerCommand {
    /// Recompute the hash chain; with --checkpoint, also check it against a saved checkpoint (which
    /// finds removed newest entries). Prints the result as JSON; exit 1 when broken.
    Verify {
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Print the head of the chain (sequence and hash) as JSON: keep it somewhere else, and verify
    /// against it later.
    Checkpoint,
    /// For benchmarks: append synthetic handovers (six entries each) for patients `urn:seed|0..N`.
    Seed {
        #[arg(long)]
        messages: u64,
        #[arg(long, default_value_t = 100_000)]
        patients: u64,
    },
    /// For benchmarks: time patient queries on a seeded ledger and one full verification.
    Bench {
        #[arg(long, default_value_t = 100_000)]
        patients: u64,
        #[arg(long, default_value_t = 1_000)]
        queries: u64,
    },
    /// Print the entries recorded in a time window as NDJSON of FHIR AuditEvents, oldest first.
    Export {
        /// From this instant or date on (inclusive).
        #[arg(long)]
        since: Option<String>,
        /// Up to this instant or date (inclusive).
        #[arg(long)]
        until: Option<String>,
    },
}

#[derive(Subcommand)]
enum MailboxCommand {
    /// Save every waiting message as a file in --out (and with --ack acknowledge each once on disk).
    Pull(handover_broker::mailbox::pull::PullArgs),
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token; prints the token alone on stdout (its id, role, scope and expiry go to stderr).
    Issue {
        /// The organisation, by one of its identifiers: SYSTEM|VALUE.
        #[arg(long, value_name = "SYSTEM|VALUE")]
        org: String,
        /// sender, auditor or admin.
        #[arg(long, default_value = "sender")]
        role: String,
        /// How long the token is valid, e.g. 30d, 12h, 90m, 3600s (default: the configuration's
        /// tokens.default_lifetime_secs, 90 days).
        #[arg(long, value_name = "DURATION", value_parser = auth::parse_lifetime)]
        expires_in: Option<std::time::Duration>,
        /// An auditor token that reads the whole region's ledger, not only its own organisation's
        /// (auditors only).
        #[arg(long)]
        regional: bool,
    },
    /// List the tokens: id, organisation, role, scope, issued, expiry, revoked or not (never the token).
    List {
        /// One JSON object a line.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token, by its id or by the token itself; or, with --org, every live token of an
    /// organisation (prints how many on stderr).
    Revoke {
        /// A token id (as `token list` shows it) or the token itself.
        #[arg(required_unless_present = "org", conflicts_with = "org")]
        token_or_id: Option<String>,
        /// The organisation, by one of its identifiers: SYSTEM|VALUE.
        #[arg(long, value_name = "SYSTEM|VALUE")]
        org: Option<String>,
    },
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Import (insert or replace) Organizations + Endpoints from a FHIR Bundle.
    Import { file: PathBuf },
    /// Print the directory as a FHIR Bundle (the inverse of import) on stdout.
    Export,
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

/// The language of `validate`'s words: `--lang` when given (one the broker writes, else an error),
/// else the POSIX locale variables in their order of precedence, else English.
fn cli_language(asked: Option<&str>) -> anyhow::Result<Language> {
    if let Some(asked) = asked {
        return Language::of(asked).with_context(|| format!("--lang {asked}: the broker writes nl, fr and en"));
    }
    let from_env = ["LC_ALL", "LC_MESSAGES", "LANG"]
        .iter()
        .filter_map(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
        .next()
        .and_then(|tag| Language::of(&tag));
    Ok(from_env.unwrap_or(Language::En))
}

fn print_summary(file: &std::path::Path, issues: &[Issue], lang: Language) {
    use handover_broker::i18n::render;
    use handover_broker::i18n::Arg::{Number, Word};
    let errors = issues.iter().filter(|i| i.is_error()).count();
    let warnings = issues.len() - errors;
    let file_arg = ("file", Word(file.display().to_string()));
    let count = |n: usize| Number(i64::try_from(n).unwrap_or(i64::MAX));
    if issues.is_empty() {
        println!("{}", render(lang, "cli-complete", &[file_arg]));
    } else {
        let args = [file_arg, ("errors", count(errors)), ("warnings", count(warnings))];
        println!("{}", render(lang, "cli-counts", &args));
    }
    let (error, warning) = (render(lang, "cli-error", &[]), render(lang, "cli-warning", &[]));
    // The severity column as wide as its longest word in this language.
    let width = error.chars().count().max(warning.chars().count());
    for issue in issues {
        let severity = if issue.is_error() { &error } else { &warning };
        println!("  {severity:<width$} {:<13} {}", issue.code.as_str(), issue.expression.as_deref().unwrap_or("-"));
        println!("  {:width$} {}", "", issue.text_in(lang));
    }
}

async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    Store::open(&settings.database_url, settings.store.max_connections, settings.store.max_batch)
        .await
        .context("opening the database")
}

/// Dispatches a command to the function that carries it out.
async fn run(command: Command, settings: Settings) -> anyhow::Result<()> {
    match command {
        Command::Serve { demo } => {
            let mut settings = settings;
            if demo {
                settings.demo = true;
                settings.check()?;
            }
            serve(settings).await
        }
        Command::Migrate => migrate(&settings).await,
        Command::Token { command: TokenCommand::Issue { org, role, expires_in, regional } } => {
            token_issue(&settings, &org, &role, expires_in, regional).await
        }
        Command::Token { command: TokenCommand::List { json } } => token_list(&settings, json).await,
        Command::Token { command: TokenCommand::Revoke { token_or_id, org } } => {
            token_revoke(&settings, token_or_id.as_deref(), org.as_deref()).await
        }
        Command::Directory { command: DirectoryCommand::Import { file } } => directory_import(&settings, &file).await,
        Command::Directory { command: DirectoryCommand::Export } => directory_export(&settings).await,
        Command::Directory { command: DirectoryCommand::List { json } } => directory_list(&settings, json).await,
        Command::Loadgen(args) => handover_broker::loadgen::run(*args).await,
        Command::Mailbox(MailboxCommand::Pull(args)) => handover_broker::mailbox::pull::run(args).await,
        Command::Ledger(LedgerCommand::Checkpoint) => ledger_checkpoint(&settings).await,
        Command::Ledger(LedgerCommand::Seed { messages, patients }) => ledger_seed(&settings, messages, patients).await,
        Command::Ledger(LedgerCommand::Bench { patients, queries }) => ledger_bench(&settings, patients, queries).await,
        Command::Ledger(LedgerCommand::Export { since, until }) => ledger_export(&settings, since, until).await,
        Command::Ledger(LedgerCommand::Verify { checkpoint }) => ledger_verify(&settings, checkpoint).await,
        Command::Validate { profile, profiles, json, lang, files } => {
            let lang = cli_language(lang.as_deref())?;
            validate_files(&settings, profile.as_deref(), &profiles, (json, lang), &files)
        }
    }
}

/// `serve`: runs the broker until it is stopped.
async fn serve(settings: Settings) -> anyhow::Result<()> {
    let app = Application::build(settings).await?;
    for token in app.demo_tokens() {
        tracing::info!(token = %token, "demo token (loopback only)");
    }
    println!("listening on {}", app.base_url());
    app.run_until_stopped().await?;
    Ok(())
}

/// `migrate`: opening the store applies the migrations.
async fn migrate(settings: &Settings) -> anyhow::Result<()> {
    open_store(settings).await?.close().await;
    eprintln!("migrations applied");
    Ok(())
}

/// `token issue`: prints the new token alone on stdout, its id, role, scope and expiry on stderr.
async fn token_issue(
    settings: &Settings,
    org: &str,
    role: &str,
    expires_in: Option<std::time::Duration>,
    regional: bool,
) -> anyhow::Result<()> {
    let identifier = OrgIdentifier::parse_token(org).context("--org takes SYSTEM|VALUE")?;
    let role: Role = role.parse().map_err(anyhow::Error::msg)?;
    if regional && role != Role::Auditor {
        anyhow::bail!("--regional is only for auditor tokens (--role auditor), not for role {role}");
    }
    let lifetime = expires_in.unwrap_or_else(|| std::time::Duration::from_secs(settings.tokens.default_lifetime_secs));
    let scope = if regional { Scope::Regional } else { Scope::Organization };
    let request = TokenRequest::new(role).scope(scope).lifetime(lifetime);
    let store = open_store(settings).await?;
    let issued = auth::issue(&store, &identifier, &request).await;
    store.close().await;
    let issued = issued?;
    eprintln!(
        "token id {} for organisation {} (role {role}, scope {scope}, expires {})",
        issued.token_id,
        issued.org,
        issued.expires_at.to_rfc3339_secs()
    );
    println!("{}", issued.token);
    Ok(())
}

/// `token list`: one token a line, as a table row or as JSON; never the token or its hash.
async fn token_list(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let tokens = store.tokens().await;
    store.close().await;
    let now = Millis::now();
    if !json {
        println!(
            "{:<36}  {:<24} {:<8} {:<12} {:<20} {:<20} STATE",
            "TOKEN ID", "ORGANISATION", "ROLE", "SCOPE", "ISSUED", "EXPIRES"
        );
    }
    for token in &tokens? {
        if json {
            println!("{}", auth::token_json(token, now));
        } else {
            let state = if token.revoked_at.is_some() {
                "revoked"
            } else if token.is_live(now) {
                "live"
            } else {
                "expired"
            };
            println!(
                "{:<36}  {:<24} {:<8} {:<12} {:<20} {:<20} {state}",
                token.token_id,
                token.org_id.as_str(),
                token.role,
                token.scope,
                token.created_at.to_rfc3339_secs(),
                token.expires_at.map_or_else(|| "never".to_owned(), Millis::to_rfc3339_secs),
            );
        }
    }
    Ok(())
}

/// `token revoke`: one token by its id or the token itself (stored only as its hash), or every live
/// token of an organisation.
async fn token_revoke(settings: &Settings, token_or_id: Option<&str>, org: Option<&str>) -> anyhow::Result<()> {
    let identifier = org.map(|org| OrgIdentifier::parse_token(org).context("--org takes SYSTEM|VALUE")).transpose()?;
    let store = open_store(settings).await?;
    let result = match (&identifier, token_or_id) {
        (Some(identifier), _) => {
            auth::revoke_organization(&store, identifier).await.map(|(org, revoked)| (Some(org), revoked))
        }
        (None, Some(token_or_id)) => auth::revoke(&store, token_or_id).await.map(|revoked| (None, revoked)),
        (None, None) => Ok((None, Vec::new())),
    };
    store.close().await;
    let (org, revoked) = result?;
    match org {
        Some(org) => eprintln!("revoked {} token(s) of organisation {org}", revoked.len()),
        None => {
            anyhow::ensure!(!revoked.is_empty(), "no live token with that id");
            eprintln!("revoked");
        }
    }
    Ok(())
}

/// `directory import`: inserts or replaces the organisations of a Bundle file.
async fn directory_import(settings: &Settings, file: &std::path::Path) -> anyhow::Result<()> {
    let organizations = directory::read_bundle_file(file)?;
    let store = open_store(settings).await?;
    let n = directory::import(&store, &organizations, None, settings.targets()).await?;
    store.close().await;
    eprintln!("imported {n} organisations");
    Ok(())
}

/// `directory export`: prints the directory as a Bundle.
async fn directory_export(settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let bundle = directory::export(&store).await;
    store.close().await;
    println!("{}", serde_json::to_string_pretty(&bundle?)?);
    Ok(())
}

/// `directory list`: one organisation a line, as JSON or as a table row.
async fn directory_list(settings: &Settings, json: bool) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let organizations = store.organizations().await?;
    store.close().await;
    for org in &organizations {
        if json {
            println!("{}", directory::json_view(org));
        } else {
            println!("{}", organization_row(org));
        }
    }
    Ok(())
}

/// An organisation as the table row of `directory list`.
fn organization_row(org: &Organization) -> String {
    let identifiers: Vec<String> = org.identifiers.iter().map(ToString::to_string).collect();
    let mut tls = Vec::new();
    if org.ca_pem.is_some() {
        tls.push("own-ca");
    }
    if org.client_certificate {
        tls.push("mtls");
    }
    format!(
        "{:<20} {:<8} {:<45} {}  [{}]  {}  receipts={}{}",
        org.id.as_str(),
        org.delivery.as_str(),
        org.name,
        identifiers.join(" "),
        org.events.iter().map(|e| e.as_str()).collect::<Vec<_>>().join(","),
        org.address,
        org.receipts.as_str(),
        if tls.is_empty() { String::new() } else { format!(" tls={}", tls.join(",")) },
    )
}

/// `ledger checkpoint`: prints the head of the chain as JSON.
async fn ledger_checkpoint(settings: &Settings) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let checkpoint = handover_broker::audit::checkpoint(&store).await?;
    store.close().await;
    println!("{}", serde_json::to_string(&checkpoint)?);
    Ok(())
}

/// `ledger seed`: appends synthetic handovers for benchmarks.
async fn ledger_seed(settings: &Settings, messages: u64, patients: u64) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    // The synthetic messages are from and to the demo organisations.
    handover_broker::directory::load_demo_if_empty(&store, &settings.fixtures_dir).await?;
    let keys = ledger_keys(&store, settings).await?;
    let written = handover_broker::audit::bench::seed(&store, &keys, messages, patients).await?;
    store.close().await;
    eprintln!("{written} entries appended");
    Ok(())
}

/// `ledger bench`: times patient queries and a full verification; prints the report as JSON.
async fn ledger_bench(settings: &Settings, patients: u64, queries: u64) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    let keys = ledger_keys(&store, settings).await?;
    let report = handover_broker::audit::bench::bench(&store, &keys, patients, queries).await?;
    store.close().await;
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// `ledger export`: prints the entries of a time window as NDJSON AuditEvents.
async fn ledger_export(settings: &Settings, since: Option<String>, until: Option<String>) -> anyhow::Result<()> {
    let store = open_store(settings).await?;
    // The window as the AuditEvent search's `date` parameters.
    let mut params = Vec::new();
    if let Some(since) = since {
        params.push(("date".to_owned(), format!("ge{since}")));
    }
    if let Some(until) = until {
        params.push(("date".to_owned(), format!("le{until}")));
    }
    let exported = handover_broker::audit::export(&store, &params, &mut std::io::stdout().lock()).await;
    store.close().await;
    eprintln!("{} entries exported", exported?);
    Ok(())
}

/// `ledger verify`: prints the verification as JSON and exits 1 when the chain is broken.
async fn ledger_verify(settings: &Settings, checkpoint: Option<PathBuf>) -> anyhow::Result<()> {
    let checkpoint = match checkpoint {
        Some(path) => {
            let text = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            Some(serde_json::from_slice(&text).context("not a checkpoint of this broker")?)
        }
        None => None,
    };
    let store = open_store(settings).await?;
    let verification = handover_broker::audit::verify(&store, checkpoint.as_ref()).await?;
    store.close().await;
    println!("{}", serde_json::to_string(&verification)?);
    if !verification.ok {
        std::process::exit(1);
    }
    Ok(())
}

/// `validate`: checks each file, prints its issues, and exits 1 when any file has an error.
fn validate_files(
    settings: &Settings,
    profile: Option<&str>,
    profiles: &[PathBuf],
    (json, lang): (bool, Language),
    files: &[PathBuf],
) -> anyhow::Result<()> {
    let catalog = load_catalog(settings, profiles)?;
    let profile = match profile {
        Some(url) => Some(catalog.profile(url).with_context(|| format!("profile {url} is not loaded"))?),
        None => None,
    };
    let xml = Converter::new(catalog.shared_base(), XmlLimits::of(&settings.limits))?;
    let mut failed = false;
    for file in files {
        let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
        let issues = check_file(&catalog, profile, bytes, settings, &xml);
        failed |= issues.iter().any(Issue::is_error);
        if json {
            println!("{}", String::from_utf8_lossy(&outcome_body_in(&issues, lang)));
        } else {
            print_summary(file, &issues, lang);
        }
    }
    if failed {
        std::process::exit(1);
    }
    Ok(())
}

/// The profiles of `profiles_dir` and of the extra folders; says on stderr what they hold that is not checked.
fn load_catalog(settings: &Settings, profiles: &[PathBuf]) -> anyhow::Result<Catalog> {
    let mut dirs = vec![settings.profiles_dir.as_path()];
    dirs.extend(profiles.iter().map(PathBuf::as_path));
    let catalog = Catalog::load_all(&dirs)?.with_attachment_limit(settings.limits.max_attachment_bytes);
    for (url, feature) in catalog.not_checked() {
        eprintln!("not checked: {url}: {feature}");
    }
    Ok(catalog)
}

/// The issues of one file: against `profile` when given, else as a message Bundle (envelope, then profiles).
/// A file whose first character is `<` is read as FHIR XML, as the broker reads an XML body.
fn check_file(
    catalog: &Catalog,
    profile: Option<&Profile>,
    bytes: Vec<u8>,
    settings: &Settings,
    xml: &Converter,
) -> Vec<Issue> {
    let is_xml = bytes.trim_ascii_start().starts_with(b"<");
    match (profile, is_xml) {
        (Some(profile), false) => match serde_json::from_slice::<handover_broker::json::Json>(&bytes) {
            Ok(document) => validate::against_profile(catalog, &document, profile),
            Err(e) => vec![Issue::error(IssueCode::Structure, format!("not JSON: {e}"))],
        },
        (Some(profile), true) => match xml.read_tree(&bytes) {
            Ok((document, _)) => validate::against_profile(catalog, &document, profile),
            Err(e) => vec![e.issue()],
        },
        (None, false) => match message::parse(bytes.into(), &settings.limits) {
            Ok(submission) => catalog.validate(&submission),
            Err(e) => e.issues,
        },
        (None, true) => match xml.read_message(bytes.into(), &settings.limits) {
            Ok(submission) => catalog.validate(&submission),
            Err(e) => e.issues,
        },
    }
}

/// The patient keys of the broker whose database `store` is (its configured or stored secret).
async fn ledger_keys(
    store: &handover_broker::store::Store,
    settings: &Settings,
) -> anyhow::Result<handover_broker::ledger::patient::PatientKeys> {
    let secret = match &settings.ledger.secret {
        Some(secret) => secret.clone(),
        None => store.state_value("ledger_patient_secret").await?.unwrap_or_default(),
    };
    Ok(handover_broker::ledger::patient::PatientKeys::new(secret.as_bytes()))
}
