//! `handover-broker mailbox pull`: the reference client of the pull mailbox, as a GP integration would
//! do it. Each waiting message is saved as `{out}/{id}.json` (written to a temporary file, fsynced,
//! renamed, the folder fsynced) and only then acknowledged, so a crash at any point loses nothing: a
//! message saved but not acknowledged is fetched again and found on disk; one acknowledged is on disk.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;

#[derive(Debug, clap::Args)]
pub struct PullArgs {
    /// Base URL of the broker, e.g. https://broker.example.
    #[arg(long)]
    pub url: String,
    /// Bearer token of the pulling organisation.
    #[arg(long)]
    pub token: String,
    /// Folder for the messages (created when missing).
    #[arg(long)]
    pub out: PathBuf,
    /// Acknowledge each message once it is safely on disk.
    #[arg(long)]
    pub ack: bool,
    /// Messages per page.
    #[arg(long, default_value_t = 50)]
    pub count: usize,
    /// Keep going across outages of the broker for this many seconds (retrying with backoff).
    #[arg(long, default_value_t = 60)]
    pub retry_for: u64,
    /// Extra CA certificate (PEM) to trust, for a broker with a private CA.
    #[arg(long)]
    pub ca: Option<PathBuf>,
}

/// What a pull did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PullReport {
    pub saved: u64,
    pub acknowledged: u64,
}

struct Client {
    http: reqwest::Client,
    url: String,
    auth: String,
    retry_for: Duration,
}

impl Client {
    /// Sends until an answer that is not a transient failure, retrying with backoff for `retry_for`.
    async fn send(&self, make: impl Fn() -> reqwest::RequestBuilder) -> anyhow::Result<reqwest::Response> {
        let started = Instant::now();
        let mut wait = Duration::from_millis(100);
        loop {
            let result = make().header("Authorization", &self.auth).send().await;
            let transient = match &result {
                Ok(response) => response.status().is_server_error() || response.status().as_u16() == 429,
                Err(e) => e.is_connect() || e.is_timeout() || e.is_request(),
            };
            if !transient || started.elapsed() > self.retry_for {
                let response = result.context("the broker cannot be reached")?;
                anyhow::ensure!(response.status().is_success(), "the broker answered {}", response.status());
                return Ok(response);
            }
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(5));
        }
    }
}

/// Writes `bytes` to `dir/name` so that it is either wholly there after a crash or not at all.
fn save(dir: &Path, name: &str, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = dir.join(format!(".{name}.tmp"));
    let mut file = std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    std::fs::rename(&tmp, dir.join(name))?;
    std::fs::File::open(dir)?.sync_all()?;
    Ok(())
}

/// Pulls every waiting message (and, with `ack`, acknowledges it).
pub async fn pull(args: &PullArgs) -> anyhow::Result<PullReport> {
    crate::crypto::install_provider();
    std::fs::create_dir_all(&args.out).with_context(|| format!("creating {}", args.out.display()))?;
    let mut http = reqwest::Client::builder().timeout(Duration::from_secs(120));
    if let Some(ca) = &args.ca {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        http = http.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
    }
    let client = Client {
        http: http.build()?,
        url: args.url.trim_end_matches('/').to_owned(),
        auth: format!("Bearer {}", args.token),
        retry_for: Duration::from_secs(args.retry_for),
    };
    let mut report = PullReport::default();
    let first = format!("{}/fhir/mailbox?_count={}", client.url, args.count.clamp(1, super::MAX_COUNT));
    let mut page_url = first.clone();
    loop {
        let body = client.send(|| client.http.get(&page_url)).await?.bytes().await?;
        let page: serde_json::Value = serde_json::from_slice(&body).context("the mailbox page is not JSON")?;
        let entries = page["entry"].as_array().cloned().unwrap_or_default();
        for entry in &entries {
            let Some(id) = entry["fullUrl"].as_str().and_then(|u| u.rsplit('/').next()) else { continue };
            anyhow::ensure!(uuid::Uuid::parse_str(id).is_ok(), "unexpected mailbox id {id:?}");
            let name = format!("{id}.json");
            if !args.out.join(&name).exists() {
                // The exact bytes, from the message's own URL (the listing holds them too, but re-encoded
                // by a generic JSON reader they would no longer be byte-identical).
                let item_url = format!("{}/fhir/mailbox/{id}", client.url);
                let bytes = client.send(|| client.http.get(&item_url)).await?.bytes().await?;
                save(&args.out, &name, &bytes)?;
                report.saved += 1;
            }
            if args.ack {
                let ack_url = format!("{}/fhir/mailbox/{id}/$acknowledge", client.url);
                client.send(|| client.http.post(&ack_url)).await?;
                report.acknowledged += 1;
            }
        }
        let next = page["link"]
            .as_array()
            .and_then(|links| links.iter().find(|l| l["relation"] == "next"))
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
        page_url = match (next, args.ack) {
            // Acknowledged messages leave the mailbox: start again from the top until it is empty.
            (_, true) if !entries.is_empty() => first.clone(),
            (Some(next), false) => next,
            _ => break,
        };
    }
    Ok(report)
}

/// The CLI verb.
pub async fn run(args: PullArgs) -> anyhow::Result<()> {
    let report = pull(&args).await?;
    println!("saved {} message(s), acknowledged {}", report.saved, report.acknowledged);
    Ok(())
}
