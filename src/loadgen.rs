//! `handover-broker loadgen`: a load generator for `$process-message`.
//!
//! It posts unique messages (fresh `MessageHeader.id` and `Bundle.id` per request) built from one
//! template Bundle, from `--concurrency` clients for `--duration` seconds, and reports accepted/s and
//! latency percentiles. Each body is the template's bytes with the two ids overwritten in place, so the
//! generator spends almost no CPU of its own on the machine it measures.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

/// Placeholders of the same length as a UUID, overwritten per request.
const HEADER_ID_SLOT: &str = "00000000-0000-4000-8000-00000000aaaa";
const BUNDLE_ID_SLOT: &str = "00000000-0000-4000-8000-00000000bbbb";

#[derive(Debug, clap::Args)]
pub struct LoadgenArgs {
    /// Base URL of the broker, e.g. http://127.0.0.1:8080.
    #[arg(long)]
    pub url: String,
    /// Further nodes of the same broker (sharing its database): the clients are spread over `--url`
    /// and these in turn, so that one run loads every node and its receivers see every delivery.
    #[arg(long = "also-url")]
    pub also_url: Vec<String>,
    /// Bearer token of the sending organisation (none: the client certificate of `--identity` says who
    /// sends).
    #[arg(long, required_unless_present = "identity")]
    pub token: Option<String>,
    /// Client certificate and its private key (one PEM file) for an https broker that takes
    /// organisations' certificates (mTLS).
    #[arg(long)]
    pub identity: Option<PathBuf>,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    pub concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10)]
    pub duration: u64,
    /// Stop after this many requests in all (whichever comes first).
    #[arg(long)]
    pub max_requests: Option<u64>,
    /// Send this many requests per second in all, evenly spaced (default: as fast as the clients go).
    /// Latency is then measured from each request's scheduled time, so a slow broker cannot hide
    /// its queueing by slowing the generator down.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Template message Bundle.
    #[arg(long, default_value = "fixtures/handovers/discharge-summary-nl.json")]
    pub bundle: PathBuf,
    /// Replace MessageHeader.sender by this identifier (SYSTEM|VALUE).
    #[arg(long)]
    pub sender: Option<String>,
    /// Replace the destinations by one receiver with this identifier (SYSTEM|VALUE)...
    #[arg(long, requires = "receiver_endpoint")]
    pub receiver: Option<String>,
    /// ...and its registered endpoint (MessageHeader.destination.endpoint).
    #[arg(long, requires = "receiver")]
    pub receiver_endpoint: Option<String>,
    /// Replace MessageHeader.eventCoding by this event (SYSTEM|CODE).
    #[arg(long)]
    pub event: Option<String>,
    /// Send compact JSON (default: pretty-printed, as the template is on disk).
    #[arg(long)]
    pub compact: bool,
    /// Extra CA certificate (PEM) to trust, for an https broker with a private CA.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Also act as the receiver(s): serve push endpoints on these addresses (those the directory
    /// registers, e.g. 127.0.0.1:9103 for the demo home-care organisation and 127.0.0.1:9101 for the
    /// hospital's receipts) and report delivered messages/s and accept-to-deliver latency.
    #[arg(long)]
    pub receiver_listen: Vec<std::net::SocketAddr>,
    /// With `--receiver-listen`: the receivers answer 503 for this many seconds from the start (an
    /// outage), then 200; the report then shows, apart, how fast messages sent after the outage were
    /// delivered while the backlog it left drained.
    #[arg(long, requires = "receiver_listen")]
    pub receiver_down: Option<u64>,
    /// Instead of posting: list the token's mailbox (`_count=50`, first page) this many times, one
    /// request at a time, and report the latency.
    #[arg(long)]
    pub list_mailbox: Option<u64>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    pub requests: u64,
    pub accepted: u64,
    pub errors: u64,
    pub seconds: f64,
    pub body_bytes: usize,
    pub concurrency: usize,
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub first_error: Option<String>,
    /// With `--receiver-listen`: what the receivers saw.
    pub delivery: Option<DeliveryReport>,
}

/// End-to-end figures measured by the built-in receivers.
#[derive(Debug, Clone)]
pub struct DeliveryReport {
    /// Accepted messages that reached a receiver.
    pub delivered: u64,
    /// From the first request to the last delivery.
    pub seconds: f64,
    /// Other posts the receivers got (receipts for the sender).
    pub other_posts: u64,
    /// From the broker's 202 reaching the client to the message reaching the receiver (0 when the
    /// push arrived first).
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// With `--receiver-down`: the messages accepted after the outage, while the backlog drained.
    pub after_outage: Option<AfterOutage>,
}

/// Messages sent after a receivers' outage: accept-to-deliver latency, and when the backlog the
/// outage left was delivered.
#[derive(Debug, Clone)]
pub struct AfterOutage {
    /// Messages accepted during the outage (the backlog) and after it.
    pub backlog: u64,
    pub new: u64,
    /// Seconds from the end of the outage to the last backlog message delivered.
    pub backlog_drained_secs: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl DeliveryReport {
    pub fn delivered_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.delivered as f64 / self.seconds
        } else {
            0.0
        }
    }
}

impl Report {
    pub fn accepted_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.accepted as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "requests": self.requests, "accepted": self.accepted, "errors": self.errors,
            "seconds": self.seconds, "accepted_per_sec": self.accepted_per_sec(),
            "body_bytes": self.body_bytes, "concurrency": self.concurrency,
            "latency_ms": {"p50": self.p50_ms, "p90": self.p90_ms, "p99": self.p99_ms, "max": self.max_ms},
            "first_error": self.first_error,
            "delivery": self.delivery.as_ref().map(|d| json!({
                "delivered": d.delivered, "seconds": d.seconds, "delivered_per_sec": d.delivered_per_sec(),
                "other_posts": d.other_posts,
                "accept_to_deliver_ms": {"p50": d.p50_ms, "p99": d.p99_ms, "max": d.max_ms},
                "after_outage": d.after_outage.as_ref().map(|a| json!({
                    "backlog": a.backlog, "new": a.new, "backlog_drained_secs": a.backlog_drained_secs,
                    "new_accept_to_deliver_ms": {"p50": a.p50_ms, "p99": a.p99_ms, "max": a.max_ms},
                })),
            })),
        })
    }

    pub fn to_table(&self) -> String {
        let delivery = match &self.delivery {
            Some(d) => format!(
                "\n\ndelivered  seconds  delivered/s  deliver_p50_ms  deliver_p99_ms  deliver_max_ms  other_posts\n\
                 {:>9}  {:>7.1}  {:>11.1}  {:>14.2}  {:>14.2}  {:>14.2}  {:>11}",
                d.delivered,
                d.seconds,
                d.delivered_per_sec(),
                d.p50_ms,
                d.p99_ms,
                d.max_ms,
                d.other_posts
            ) + &match &d.after_outage {
                Some(a) => format!(
                    "\n\nafter the outage: backlog  drained_after_s  new  new_deliver_p50_ms  new_deliver_p99_ms  new_deliver_max_ms\n\
                     {:>24}  {:>15.1}  {:>3}  {:>18.2}  {:>18.2}  {:>18.2}",
                    a.backlog, a.backlog_drained_secs, a.new, a.p50_ms, a.p99_ms, a.max_ms
                ),
                None => String::new(),
            },
            None => String::new(),
        };
        let ingest = format!(
            "body_bytes  concurrency  requests  accepted  errors  seconds  accepted/s  p50_ms  p90_ms  p99_ms  max_ms\n\
             {:>10}  {:>11}  {:>8}  {:>8}  {:>6}  {:>7.1}  {:>10.1}  {:>6.2}  {:>6.2}  {:>6.2}  {:>6.2}",
            self.body_bytes,
            self.concurrency,
            self.requests,
            self.accepted,
            self.errors,
            self.seconds,
            self.accepted_per_sec(),
            self.p50_ms,
            self.p90_ms,
            self.p99_ms,
            self.max_ms
        );
        ingest + &delivery
    }
}

fn identifier(token: &str) -> anyhow::Result<Value> {
    let (system, value) = token.rsplit_once('|').context("identifiers are given as SYSTEM|VALUE")?;
    Ok(json!({ "identifier": { "system": system, "value": value } }))
}

/// Replacements in the template's MessageHeader, each `SYSTEM|VALUE`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides<'a> {
    pub sender: Option<&'a str>,
    pub receiver: Option<&'a str>,
    pub receiver_endpoint: Option<&'a str>,
    pub event: Option<&'a str>,
    pub compact: bool,
}

/// The template's bytes and the offsets of the two id slots in them.
pub struct Template {
    bytes: Vec<u8>,
    header_at: usize,
    bundle_at: usize,
}

impl Template {
    pub fn new(bundle: &[u8], overrides: Overrides<'_>) -> anyhow::Result<Self> {
        let mut doc: Value = serde_json::from_slice(bundle).context("the template is not JSON")?;
        doc["id"] = json!(BUNDLE_ID_SLOT);
        let header = doc
            .get_mut("entry")
            .and_then(|e| e.get_mut(0))
            .and_then(|e| e.get_mut("resource"))
            .context("the template has no first entry with a resource")?;
        header["id"] = json!(HEADER_ID_SLOT);
        if let Some(sender) = overrides.sender {
            header["sender"] = identifier(sender)?;
        }
        if let Some(receiver) = overrides.receiver {
            let endpoint = overrides.receiver_endpoint.context("a replaced receiver needs its endpoint")?;
            header["destination"] = json!([{ "endpoint": endpoint, "receiver": identifier(receiver)? }]);
        }
        if let Some(event) = overrides.event {
            let (system, code) = event.rsplit_once('|').context("events are given as SYSTEM|CODE")?;
            header["eventCoding"] = json!({ "system": system, "code": code });
        }
        let bytes = if overrides.compact { serde_json::to_vec(&doc)? } else { serde_json::to_vec_pretty(&doc)? };
        let find = |slot: &str| {
            bytes.windows(slot.len()).position(|w| w == slot.as_bytes()).context("id slot not found in the template")
        };
        let (header_at, bundle_at) = (find(HEADER_ID_SLOT)?, find(BUNDLE_ID_SLOT)?);
        Ok(Self { bytes, header_at, bundle_at })
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// A copy of the template with fresh ids, and its `MessageHeader.id`.
    pub fn render(&self) -> (Vec<u8>, String) {
        let mut body = self.bytes.clone();
        let header_id = uuid::Uuid::new_v4().hyphenated().to_string();
        body[self.header_at..self.header_at + header_id.len()].copy_from_slice(header_id.as_bytes());
        let bundle_id = uuid::Uuid::new_v4().hyphenated().to_string();
        body[self.bundle_at..self.bundle_at + bundle_id.len()].copy_from_slice(bundle_id.as_bytes());
        (body, header_id)
    }
}

/// Runs the load and returns what it measured.
pub async fn measure(args: &LoadgenArgs) -> anyhow::Result<Report> {
    crate::crypto::install_provider();
    let template = Arc::new(template(args)?);
    let receivers = match args.receiver_listen.is_empty() {
        true => None,
        false => Some(Receivers::start(
            &args.receiver_listen,
            args.receiver_down.map(|secs| Instant::now() + Duration::from_secs(secs)),
        )?),
    };
    let load = Load::new(args, template.clone())?;
    let nodes: Vec<String> = std::iter::once(&args.url).chain(&args.also_url).map(|url| submit_url(url)).collect();
    let mut tasks = Vec::with_capacity(args.concurrency);
    for n in 0..args.concurrency.max(1) {
        let client = Load { url: nodes[n % nodes.len()].clone(), ..load.clone() };
        tasks.push(tokio::spawn(client.client()));
    }
    let mut tally = Tally::new()?;
    for task in tasks {
        tally.merge(task.await??)?;
    }
    report(args, &template, load.started, tally, receivers).await
}

/// Where a node takes messages.
fn submit_url(base: &str) -> String {
    format!("{}/fhir/$process-message", base.trim_end_matches('/'))
}

/// The template of `--bundle` with the MessageHeader overrides of the arguments.
fn template(args: &LoadgenArgs) -> anyhow::Result<Template> {
    let raw = std::fs::read(&args.bundle).with_context(|| format!("reading {}", args.bundle.display()))?;
    let overrides = Overrides {
        sender: args.sender.as_deref(),
        receiver: args.receiver.as_deref(),
        receiver_endpoint: args.receiver_endpoint.as_deref(),
        event: args.event.as_deref(),
        compact: args.compact,
    };
    Template::new(&raw, overrides)
}

/// The HTTP client the load is sent with: a connection per client kept alive, `--ca` trusted.
fn http_client(args: &LoadgenArgs) -> anyhow::Result<reqwest::Client> {
    let mut client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.concurrency)
        .tcp_nodelay(true)
        .timeout(Duration::from_secs(60));
    if let Some(ca) = &args.ca {
        let pem = std::fs::read(ca).with_context(|| format!("reading {}", ca.display()))?;
        client = client.add_root_certificate(reqwest::Certificate::from_pem(&pem)?);
    }
    if let Some(identity) = &args.identity {
        let pem = std::fs::read(identity).with_context(|| format!("reading {}", identity.display()))?;
        client = client.identity(reqwest::Identity::from_pem(&pem)?);
    }
    Ok(client.build()?)
}

/// What the clients share: where to post, the request budget and the schedule. Cheap to clone.
#[derive(Clone)]
struct Load {
    client: reqwest::Client,
    url: String,
    /// The `Authorization` header, when a token is given.
    auth: Option<String>,
    template: Arc<Template>,
    /// Requests still allowed in all (`--max-requests`).
    budget: Arc<AtomicU64>,
    /// With `--rate`: requests scheduled so far in all.
    scheduled: Arc<AtomicU64>,
    started: Instant,
    deadline: Instant,
    /// With `--rate`: the time between two requests.
    interval: Option<Duration>,
}

impl Load {
    /// Everything the clients share; the run's clock starts here.
    fn new(args: &LoadgenArgs, template: Arc<Template>) -> anyhow::Result<Self> {
        let client = http_client(args)?;
        let started = Instant::now();
        Ok(Self {
            client,
            url: submit_url(&args.url),
            auth: args.token.as_ref().map(|token| format!("Bearer {token}")),
            template,
            budget: Arc::new(AtomicU64::new(args.max_requests.unwrap_or(u64::MAX))),
            scheduled: Arc::new(AtomicU64::new(0)),
            started,
            deadline: started + Duration::from_secs(args.duration),
            interval: args.rate.filter(|r| *r > 0.0).map(|r| Duration::from_secs_f64(1.0 / r)),
        })
    }

    /// One client: posts one message after the other until the deadline, the budget or the schedule ends.
    async fn client(self) -> anyhow::Result<Tally> {
        let mut tally = Tally::new()?;
        while Instant::now() < self.deadline {
            if self.budget.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1)).is_err() {
                break;
            }
            let (body, header_id) = self.template.render();
            let Some(sent) = self.send_time().await else { break };
            let outcome = self.post(body).await;
            tally.requests += 1;
            let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX).max(1);
            tally.histogram.saturating_record(micros);
            match outcome {
                Ok(()) => {
                    tally.accepted += 1;
                    tally.acks.push((header_id, Instant::now()));
                }
                Err(e) => {
                    tally.first_error.get_or_insert(e);
                }
            }
        }
        Ok(tally)
    }

    /// When a request counts as sent: now, or its `--rate` slot once reached (so latency counts queueing).
    async fn send_time(&self) -> Option<Instant> {
        let Some(interval) = self.interval else { return Some(Instant::now()) };
        let n = self.scheduled.fetch_add(1, Ordering::Relaxed);
        let at = self.started + interval.mul_f64(n as f64);
        if at >= self.deadline {
            // The schedule ends before this slot: the client is done.
            return None;
        }
        tokio::time::sleep_until(at.into()).await;
        Some(at)
    }

    /// Posts one message and reads the answer; anything but a 202 is an error, described.
    async fn post(&self, body: Vec<u8>) -> Result<(), String> {
        let mut request = self.client.post(&self.url);
        if let Some(auth) = &self.auth {
            request = request.header("Authorization", auth);
        }
        let result = request.header("Content-Type", "application/fhir+json").body(body).send().await;
        match result {
            Ok(response) => {
                let status = response.status();
                let text = response.bytes().await.map(|b| b.len()).unwrap_or(0);
                if status.as_u16() == 202 {
                    Ok(())
                } else {
                    Err(format!("HTTP {status} ({text} bytes)"))
                }
            }
            Err(e) => Err(e.to_string()),
        }
    }
}

/// What one client measured, or (merged) all of them.
struct Tally {
    /// Latencies in microseconds.
    histogram: Histogram<u64>,
    requests: u64,
    accepted: u64,
    first_error: Option<String>,
    /// The `MessageHeader.id` of each accepted message and when its 202 arrived.
    acks: Vec<(String, Instant)>,
}

impl Tally {
    /// An empty tally: nothing measured yet.
    fn new() -> anyhow::Result<Self> {
        let histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
        Ok(Self { histogram, requests: 0, accepted: 0, first_error: None, acks: Vec::new() })
    }

    /// Adds another client's figures; the first error kept is the earliest client's.
    fn merge(&mut self, mut other: Tally) -> anyhow::Result<()> {
        self.acks.append(&mut other.acks);
        self.histogram.add(other.histogram)?;
        self.requests += other.requests;
        self.accepted += other.accepted;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        Ok(())
    }
}

/// The run's report; with receivers, once they saw every accepted message (or gave up waiting).
async fn report(
    args: &LoadgenArgs,
    template: &Template,
    started: Instant,
    tally: Tally,
    receivers: Option<Receivers>,
) -> anyhow::Result<Report> {
    let Tally { histogram, requests, accepted, first_error, acks } = tally;
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Ok(Report {
        requests,
        accepted,
        errors: requests - accepted,
        seconds: started.elapsed().as_secs_f64(),
        body_bytes: template.len(),
        concurrency: args.concurrency,
        p50_ms: ms(0.50),
        p90_ms: ms(0.90),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1000.0,
        first_error,
        delivery: match receivers {
            Some(receivers) => Some(receivers.report(started, &acks).await?),
            None => None,
        },
    })
}

/// Push endpoints served by the load generator itself: they answer 200 at once and note when each
/// message (by `X-Message-Id`) arrived; 503 until `down_until`, when given.
struct Receivers {
    arrivals: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>>,
    handles: Vec<actix_web::dev::ServerHandle>,
    down_until: Option<Instant>,
}

impl Receivers {
    fn start(addresses: &[std::net::SocketAddr], down_until: Option<Instant>) -> anyhow::Result<Self> {
        use actix_web::{web, App, HttpRequest, HttpResponse, HttpServer};
        let arrivals: std::sync::Arc<std::sync::Mutex<std::collections::HashMap<String, Instant>>> =
            std::sync::Arc::default();
        let mut handles = Vec::new();
        for address in addresses {
            let arrivals = arrivals.clone();
            let server = HttpServer::new(move || {
                let arrivals = arrivals.clone();
                App::new().app_data(web::PayloadConfig::new(64 << 20)).default_service(web::to(
                    move |req: HttpRequest, _body: web::Bytes| {
                        let arrivals = arrivals.clone();
                        async move {
                            if down_until.is_some_and(|until| Instant::now() < until) {
                                return HttpResponse::ServiceUnavailable().finish();
                            }
                            let id = req.headers().get("X-Message-Id").and_then(|v| v.to_str().ok());
                            if let (Some(id), Ok(mut arrivals)) = (id, arrivals.lock()) {
                                arrivals.entry(id.to_owned()).or_insert_with(Instant::now);
                            }
                            HttpResponse::Ok().content_type("application/fhir+json").body("{}")
                        }
                    },
                ))
            })
            .workers(1)
            .bind(address)
            .with_context(|| format!("binding the receiver on {address}"))?
            .run();
            handles.push(server.handle());
            tokio::spawn(server);
        }
        Ok(Self { arrivals, handles, down_until })
    }

    /// Waits (up to 60 s, or 5 minutes after an outage) for every accepted message to arrive, then
    /// reports.
    async fn report(self, started: Instant, acks: &[(String, Instant)]) -> anyhow::Result<DeliveryReport> {
        let wait = if self.down_until.is_some() { 300 } else { 60 };
        let wait_until = Instant::now() + Duration::from_secs(wait);
        loop {
            let arrived = {
                let arrivals = self.arrivals.lock().map_err(|_| anyhow::anyhow!("receiver state poisoned"))?;
                acks.iter().filter(|(id, _)| arrivals.contains_key(id)).count()
            };
            if arrived == acks.len() || Instant::now() > wait_until {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let arrivals = self.arrivals.lock().map_err(|_| anyhow::anyhow!("receiver state poisoned"))?.clone();
        let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
        let (mut delivered, mut last) = (0u64, started);
        for (id, acked) in acks {
            if let Some(&at) = arrivals.get(id) {
                delivered += 1;
                last = last.max(at);
                let micros = u64::try_from(at.saturating_duration_since(*acked).as_micros()).unwrap_or(u64::MAX);
                histogram.saturating_record(micros.max(1));
            }
        }
        let after_outage = match self.down_until {
            Some(up) => Some(after_outage(up, acks, &arrivals)?),
            None => None,
        };
        for handle in self.handles {
            handle.stop(false).await;
        }
        let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
        Ok(DeliveryReport {
            after_outage,
            delivered,
            seconds: last.duration_since(started).as_secs_f64(),
            other_posts: (arrivals.len() as u64).saturating_sub(delivered),
            p50_ms: ms(0.50),
            p99_ms: ms(0.99),
            max_ms: histogram.max() as f64 / 1000.0,
        })
    }
}

/// The messages accepted after the receivers came back (`up`): their accept-to-deliver latency, and
/// when the last one accepted before delivered.
fn after_outage(
    up: Instant,
    acks: &[(String, Instant)],
    arrivals: &std::collections::HashMap<String, Instant>,
) -> anyhow::Result<AfterOutage> {
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let (mut backlog, mut new, mut drained) = (0u64, 0u64, up);
    for (id, acked) in acks {
        let arrived = arrivals.get(id);
        if *acked < up {
            backlog += 1;
            if let Some(&at) = arrived {
                drained = drained.max(at);
            }
        } else {
            new += 1;
            if let Some(&at) = arrived {
                let micros = u64::try_from(at.saturating_duration_since(*acked).as_micros()).unwrap_or(u64::MAX);
                histogram.saturating_record(micros.max(1));
            }
        }
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    Ok(AfterOutage {
        backlog,
        new,
        backlog_drained_secs: drained.duration_since(up).as_secs_f64(),
        p50_ms: ms(0.50),
        p99_ms: ms(0.99),
        max_ms: histogram.max() as f64 / 1000.0,
    })
}

/// Lists the mailbox `n` times in a row; prints the latency.
async fn measure_listing(args: &LoadgenArgs, n: u64) -> anyhow::Result<()> {
    let client = http_client(args)?;
    // Counted exactly while at most 1,000 wait, as a listing without `_total` is.
    let url = format!("{}/fhir/mailbox?_count=50", args.url.trim_end_matches('/'));
    let mut histogram = Histogram::<u64>::new_with_bounds(1, 600_000_000, 3)?;
    let (mut total, started) = (Value::Null, Instant::now());
    for _ in 0..n {
        let sent = Instant::now();
        let mut request = client.get(&url);
        if let Some(token) = &args.token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await?;
        anyhow::ensure!(response.status().is_success(), "the broker answered {}", response.status());
        let body = response.bytes().await?;
        // The broker's time is up to the last byte; reading the page is the client's.
        histogram.saturating_record(u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX).max(1));
        let page: Value = serde_json::from_slice(&body)?;
        total = page["total"].clone();
    }
    let ms = |q: f64| histogram.value_at_quantile(q) as f64 / 1000.0;
    let report = json!({
        "listings": n, "page": 50, "waiting": total, "seconds": started.elapsed().as_secs_f64(),
        "latency_ms": {"p50": ms(0.5), "p99": ms(0.99), "max": histogram.max() as f64 / 1000.0},
    });
    if args.json {
        println!("{report}");
    } else {
        println!(
            "listings  waiting  p50_ms  p99_ms  max_ms\n{:>8}  {:>7}  {:>6.2}  {:>6.2}  {:>6.2}",
            n,
            total,
            ms(0.5),
            ms(0.99),
            histogram.max() as f64 / 1000.0
        );
    }
    Ok(())
}

/// The CLI verb: measure, then print.
pub async fn run(args: LoadgenArgs) -> anyhow::Result<()> {
    if let Some(n) = args.list_mailbox {
        return measure_listing(&args, n).await;
    }
    let report = measure(&args).await?;
    if args.json {
        println!("{}", report.to_json());
    } else {
        println!("{}", report.to_table());
        if let Some(e) = &report.first_error {
            println!("first error: {e}");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{Overrides, Template};

    #[test]
    fn rendered_bodies_differ_only_in_fresh_ids() {
        let bundle = br#"{"resourceType":"Bundle","id":"x","type":"message","entry":[{"resource":{"resourceType":"MessageHeader","id":"y"}}]}"#;
        let overrides = Overrides {
            sender: Some("urn:s|1"),
            receiver: Some("urn:r|2"),
            receiver_endpoint: Some("https://r.example/fhir"),
            event: Some("urn:e|go"),
            compact: true,
        };
        let template = Template::new(bundle, overrides).unwrap();
        let ((a, a_id), (b, _)) = (template.render(), template.render());
        assert_ne!(a, b);
        assert_eq!(a.len(), b.len());
        let doc: serde_json::Value = serde_json::from_slice(&a).unwrap();
        let header = &doc["entry"][0]["resource"];
        assert!(uuid::Uuid::parse_str(header["id"].as_str().unwrap()).is_ok());
        assert_eq!(header["id"], a_id.as_str());
        assert_ne!(header["id"], doc["id"]);
        assert_eq!(header["sender"]["identifier"]["value"], "1");
        assert_eq!(header["destination"][0]["receiver"]["identifier"]["system"], "urn:r");
    }
}
