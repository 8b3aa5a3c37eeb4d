//! One typed `Settings`: built-in defaults, then an optional TOML file, then `HANDOVER_<KEY>` environment
//! variables (nested keys with `__`, e.g. `HANDOVER_LIMITS__MAX_BODY_BYTES`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The default of `limits.max_attachment_bytes`: 8 MiB decoded, a long PDF letter with scans.
pub const DEFAULT_MAX_ATTACHMENT_BYTES: usize = 8 * 1024 * 1024;

/// Why the configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration: `{key}` {problem}")]
    Invalid { key: &'static str, problem: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// Address and port to listen on; port 0 picks a free port.
    pub listen: SocketAddr,
    /// `sqlite://PATH` (created when missing) or `postgres://...`.
    pub database_url: String,
    /// Conformance resources (MessageDefinitions, StructureDefinitions, ...) to load.
    pub profiles_dir: PathBuf,
    /// Further folders of conformance resources, e.g. a published implementation guide's profiles
    /// (adopted profiles: their unsupported features are logged as not checked at start).
    #[serde(default)]
    pub extra_profile_dirs: Vec<PathBuf>,
    /// Demo directory and example handovers.
    pub fixtures_dir: PathBuf,
    /// Demo mode, only when asked (`demo = true`, or `serve --demo`), never inferred: loads the demo
    /// directory into an empty database, accepts `demo-<id>` tokens for the demo directory's
    /// organisations while listening on loopback, and may generate the ledger's secret.
    #[serde(default)]
    pub demo: bool,
    /// Serve plain HTTP on an address other than loopback. Only for a TLS-terminating proxy in front
    /// of the broker (the broker warns at every start); otherwise the broker refuses to start.
    #[serde(default)]
    pub allow_plain_http: bool,
    /// Public base URL used in `Location` headers and `MessageHeader.source.endpoint`; defaults to
    /// `http(s)://{listen}`.
    pub public_base_url: Option<String>,
    /// Time to live of a delivery, in seconds (MESH's 5 days by default).
    pub message_ttl_secs: u64,
    pub limits: Limits,
    pub tls: Option<TlsSettings>,
    pub log_format: LogFormat,
    pub store: StoreSettings,
    pub delivery: DeliverySettings,
    #[serde(default)]
    pub ledger: LedgerSettings,
    pub retention: RetentionSettings,
    /// Static bearer tokens: `tokens.default_lifetime_secs`, the life of a token issued without
    /// `--expires-in` (90 days by default).
    #[serde(default)]
    pub tokens: TokenSettings,
    /// SMART Backend Services access tokens (`POST /oauth/token`).
    #[serde(default)]
    pub smart: SmartSettings,
    /// Bed capacity reports (`POST /fhir/MeasureReport`).
    #[serde(default)]
    pub capacity: CapacitySettings,
    /// The overdue sweep (requests not answered within the receiver's response time).
    #[serde(default)]
    pub overdue: OverdueSettings,
}

/// The overdue sweep: deliveries of requests with a priority that the receiver has not answered within
/// its response time for that priority (counted in its opening hours) are reported to their sender.
///
/// `sweep_secs` (`HANDOVER_OVERDUE__SWEEP_SECS`): how often the sweep looks, in seconds: 60 by
/// default, 1 to 3600. A request is reported at most this long after its deadline.
/// `background` (`HANDOVER_OVERDUE__BACKGROUND`): run the sweep on its own (default); `false` leaves
/// it to whoever calls `OverdueSweep::sweep` (tests step it).
#[derive(Debug, Clone, Deserialize)]
pub struct OverdueSettings {
    #[serde(default = "default_overdue_sweep_secs")]
    pub sweep_secs: u64,
    #[serde(default = "default_true")]
    pub background: bool,
}

fn default_overdue_sweep_secs() -> u64 {
    60
}

impl Default for OverdueSettings {
    fn default() -> Self {
        Self { sweep_secs: default_overdue_sweep_secs(), background: true }
    }
}

/// The longest `capacity.stale_after_secs`: a week.
pub const MAX_CAPACITY_STALE_AFTER_SECS: u64 = 7 * 24 * 3600;

/// Bed capacity (`POST /fhir/MeasureReport`, the region's reads).
///
/// `stale_after_secs` (`HANDOVER_CAPACITY__STALE_AFTER_SECS`): counts whose time (the report's
/// `period.end`) is older than this are shown as stale, never dropped: 3600 (an hour) by default, 1 to
/// 604800 (a week).
#[derive(Debug, Clone, Deserialize)]
pub struct CapacitySettings {
    #[serde(default = "default_capacity_stale_after_secs")]
    pub stale_after_secs: u64,
}

fn default_capacity_stale_after_secs() -> u64 {
    3600
}

impl Default for CapacitySettings {
    fn default() -> Self {
        Self { stale_after_secs: default_capacity_stale_after_secs() }
    }
}

/// The longest life of a SMART access token: 15 minutes.
pub const MAX_SMART_TOKEN_LIFETIME_SECS: u64 = 900;

/// SMART Backend Services (`POST /oauth/token`).
///
/// `access_token_lifetime_secs` (`HANDOVER_SMART__ACCESS_TOKEN_LIFETIME_SECS`): how long an access token
/// lives, in seconds: 300 by default (SMART's recommendation), 1 to 900. Clients ask for a new one
/// with a new assertion; there are no refresh tokens.
#[derive(Debug, Clone, Deserialize)]
pub struct SmartSettings {
    #[serde(default = "default_smart_token_lifetime_secs")]
    pub access_token_lifetime_secs: u64,
}

fn default_smart_token_lifetime_secs() -> u64 {
    300
}

impl Default for SmartSettings {
    fn default() -> Self {
        Self { access_token_lifetime_secs: default_smart_token_lifetime_secs() }
    }
}

/// The default lifetime of a token, 90 days: `tokens.default_lifetime_secs`.
pub const DEFAULT_TOKEN_LIFETIME_SECS: u64 = 90 * 24 * 3600;

/// Static bearer tokens (`token issue`).
///
/// `default_lifetime_secs` (`HANDOVER_TOKENS__DEFAULT_LIFETIME_SECS`): how long a token issued without
/// `--expires-in` stays valid, in seconds; 90 days (7,776,000) by default, at least 1. After it a request
/// with the token is answered 401 ("the token has expired"); issue a new one before, and revoke the old.
#[derive(Debug, Clone, Deserialize)]
pub struct TokenSettings {
    #[serde(default = "default_token_lifetime_secs")]
    pub default_lifetime_secs: u64,
}

fn default_token_lifetime_secs() -> u64 {
    DEFAULT_TOKEN_LIFETIME_SECS
}

impl Default for TokenSettings {
    fn default() -> Self {
        Self { default_lifetime_secs: DEFAULT_TOKEN_LIFETIME_SECS }
    }
}

impl Limits {
    pub fn body_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.body_timeout_ms)
    }
}

/// How long the broker keeps what it carried (DESIGN.md section 6).
#[derive(Debug, Clone, Deserialize)]
pub struct RetentionSettings {
    /// A message's payload is purged this long after its last delivery reached a final state
    /// (delivered, answered, failed or expired); its ledger entries stay. 30 days by default.
    pub payload_secs: u64,
    /// How often the purge looks for payloads due.
    pub sweep_secs: u64,
}

/// The ledger's settings.
#[derive(Clone, Deserialize)]
pub struct LedgerSettings {
    /// Keep the ledger. `false` is allowed only with `demo = true`, to measure what ledgering costs
    /// (README, benchmarks); a broker that carries real handovers always keeps it.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Keep the handover quality counters (issue 16) with the entries they count. `false` is allowed
    /// only with `demo = true`, to measure what they cost.
    #[serde(default = "default_true")]
    pub quality_counters: bool,
    /// The secret of the patient keys (HMAC-SHA-256 of each patient identifier). Required outside demo
    /// mode unless one was generated before; demo mode generates one on first start and keeps it in the
    /// database. Changing it makes earlier entries unfindable by patient.
    pub secret: Option<String>,
    /// Write a checkpoint of the chain's head into this folder every `checkpoint_secs` (off when unset).
    pub checkpoint_dir: Option<PathBuf>,
    #[serde(default = "default_checkpoint_secs")]
    pub checkpoint_secs: u64,
}

fn default_checkpoint_secs() -> u64 {
    3600
}

fn default_true() -> bool {
    true
}

impl Default for LedgerSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            quality_counters: true,
            secret: None,
            checkpoint_dir: None,
            checkpoint_secs: default_checkpoint_secs(),
        }
    }
}

impl std::fmt::Debug for LedgerSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LedgerSettings")
            .field("enabled", &self.enabled)
            .field("quality_counters", &self.quality_counters)
            .field("secret", &self.secret.as_ref().map(|_| "(set)"))
            .field("checkpoint_dir", &self.checkpoint_dir)
            .field("checkpoint_secs", &self.checkpoint_secs)
            .finish()
    }
}

/// Limits on what a client may send. Each one is enforced before anything is stored.
#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Largest decoded content of one attachment (an Attachment's `data`, a Binary's `data`); a larger
    /// one is refused as too costly before it is decoded. At most `max_body_bytes`.
    pub max_attachment_bytes: usize,
    /// Deepest accepted JSON nesting (objects and arrays); serde_json's own limit of 128 is the backstop.
    pub max_json_depth: usize,
    /// Most entries in one message Bundle.
    pub max_entries: usize,
    /// Most `MessageHeader.destination`s (receivers) in one message.
    pub max_destinations: usize,
    /// The whole request body must arrive within this (408 otherwise): a client that trickles its body
    /// holds a connection and a worker.
    pub body_timeout_ms: u64,
    /// Requests one organisation may make per second, sustained (429 with `Retry-After` beyond), and
    /// how many it may make at once above that rate (the burst).
    pub requests_per_second: u32,
    pub request_burst: u32,
    /// Mailbox long-polls (`_wait`) one organisation may hold open at once (429 beyond).
    pub max_long_polls: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM bundle of the CA certificates that issue client certificates (mTLS): with it the listener asks
    /// every client for a certificate and verifies what it presents against these CAs. Off when unset.
    #[serde(default)]
    pub client_ca: Option<PathBuf>,
    /// Whether a client must present a certificate (`required`) or may come without one and use a
    /// bearer token (`optional`, the default when `client_ca` is set). Needs `client_ca`.
    #[serde(default)]
    pub client_auth: Option<ClientAuth>,
    /// Certificate revocation lists (PEM, one or more per file, or one DER CRL per file): a client
    /// certificate they list is refused. One path or a list of paths; read at start. Needs `client_ca`.
    #[serde(default, deserialize_with = "one_or_more_paths")]
    pub crl: Vec<PathBuf>,
}

impl TlsSettings {
    /// A server certificate chain and key, without client certificates.
    pub fn new(cert: PathBuf, key: PathBuf) -> Self {
        Self { cert, key, client_ca: None, client_auth: None, crl: Vec::new() }
    }

    /// How client certificates are asked for: `None` without `client_ca`.
    pub fn client_auth(&self) -> Option<ClientAuth> {
        self.client_ca.as_ref().map(|_| self.client_auth.unwrap_or_default())
    }
}

/// Whether the HTTPS listener requires a client certificate (`tls.client_auth`).
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ClientAuth {
    /// Asked for; a client without one may still use a bearer token. A certificate presented that does
    /// not verify is refused at the first request (401, with the reason).
    #[default]
    Optional,
    /// Asked for and required: the TLS handshake fails without a valid certificate.
    Required,
}

/// `crl = "a.pem"` or `crl = ["a.pem", "b.crl"]` (an environment variable gives one path).
fn one_or_more_paths<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Vec<PathBuf>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMore {
        One(PathBuf),
        More(Vec<PathBuf>),
    }
    Ok(match OneOrMore::deserialize(deserializer)? {
        OneOrMore::One(path) => vec![path],
        OneOrMore::More(paths) => paths,
    })
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct StoreSettings {
    /// Most submissions committed in one transaction by the writer (group commit).
    pub max_batch: usize,
    /// Connections in the pool (readers; SQLite has one writer besides).
    pub max_connections: u32,
}

/// How the push workers deliver (DESIGN.md section 3).
#[derive(Debug, Clone, Deserialize)]
pub struct DeliverySettings {
    /// Run the push workers in this process (every broker node may; leases keep them apart).
    pub enabled: bool,
    /// Run the push workers' dispatcher loop in the background (the default). `false` builds the push
    /// workers (with `enabled`) without starting their loop: nothing is pushed or expired until
    /// `Application::pusher()`'s `deliver_pending` is called, one pass at a time. For tests that step
    /// delivery themselves; a broker that carries handovers leaves it on.
    #[serde(default = "default_true")]
    pub background: bool,
    /// Most pushes in flight at once, over all receivers.
    pub max_in_flight: usize,
    /// Most pushes in flight to one receiver: a slow receiver gets no more, and never all workers.
    pub per_receiver: usize,
    pub connect_timeout_ms: u64,
    /// Whole request, from connecting to the end of the receiver's answer.
    pub timeout_ms: u64,
    /// How long a claimed delivery is reserved for its worker; renewed every third of it while the
    /// worker holds the row, so after a crash the row is retried within one lease, and a push may
    /// take longer than a lease.
    pub lease_ms: u64,
    /// First retry delay; it doubles per attempt (with full jitter) up to `max_backoff_ms`.
    pub initial_backoff_ms: u64,
    pub max_backoff_ms: u64,
    /// How often the queue is looked at when nothing wakes the workers.
    pub poll_ms: u64,
    /// Extra trust roots (PEM) for every push endpoint, besides the system's (webpki) roots.
    pub ca_file: Option<PathBuf>,
    /// The broker's client certificate (PEM chain) and key, presented to endpoints that ask for mTLS.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
    /// Allow push addresses on loopback, private, link-local and other non-public addresses (on
    /// premises receivers; tests). Off by default: the directory must not make the broker reach inward
    /// (see `address`). Demo mode allows them, for its local receivers.
    #[serde(default)]
    pub allow_private_targets: bool,
}

impl Settings {
    /// Loads defaults, then `file` (when given), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder()
            .set_default("listen", "127.0.0.1:8080")?
            .set_default("database_url", "sqlite://data/broker.db")?
            .set_default("profiles_dir", "profiles")?
            .set_default("fixtures_dir", "fixtures")?
            .set_default("message_ttl_secs", 5 * 24 * 3600)?
            .set_default("limits.max_body_bytes", 10 * 1024 * 1024)?
            .set_default("limits.max_attachment_bytes", DEFAULT_MAX_ATTACHMENT_BYTES as u64)?
            .set_default("limits.max_json_depth", 64)?
            .set_default("limits.max_entries", 5_000)?
            .set_default("limits.max_destinations", 50)?
            .set_default("limits.body_timeout_ms", 30_000)?
            .set_default("limits.requests_per_second", 1_000)?
            .set_default("limits.request_burst", 2_000)?
            .set_default("limits.max_long_polls", 8)?
            .set_default("log_format", "pretty")?
            .set_default("store.max_batch", 128)?
            .set_default("store.max_connections", 8)?
            .set_default("delivery.enabled", true)?
            .set_default("delivery.background", true)?
            .set_default("delivery.max_in_flight", 64)?
            .set_default("delivery.per_receiver", 8)?
            .set_default("delivery.connect_timeout_ms", 5_000)?
            .set_default("delivery.timeout_ms", 30_000)?
            .set_default("delivery.lease_ms", 10_000)?
            .set_default("delivery.initial_backoff_ms", 1_000)?
            .set_default("delivery.max_backoff_ms", 3_600_000)?
            .set_default("delivery.poll_ms", 500)?
            .set_default("retention.payload_secs", 30 * 24 * 3600)?
            .set_default("retention.sweep_secs", 60)?
            .set_default("tokens.default_lifetime_secs", DEFAULT_TOKEN_LIFETIME_SECS)?;
        if let Some(file) = file {
            builder = builder.add_source(config::File::from(file).format(config::FileFormat::Toml));
        }
        let settings: Settings = builder
            .add_source(
                config::Environment::with_prefix("HANDOVER").prefix_separator("_").separator("__").try_parsing(true),
            )
            .build()?
            .try_deserialize()?;
        settings.check()?;
        Ok(settings)
    }

    /// Where pushes may go: public addresses only, unless private targets are allowed or this is a demo.
    pub fn targets(&self) -> crate::address::TargetPolicy {
        crate::address::TargetPolicy::new(self.delivery.allow_private_targets || self.demo)
    }

    /// Refuses settings that are inconsistent or unsafe; run by [`Settings::load`], and again by the
    /// caller after changing them (e.g. `serve --demo`).
    pub fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| Err(ConfigError::Invalid { key, problem: problem.to_owned() });
        if !(1..=120).contains(&self.limits.max_json_depth) {
            return invalid("limits.max_json_depth", "must be between 1 and 120");
        }
        if self.limits.max_body_bytes < 1024 {
            return invalid("limits.max_body_bytes", "must be at least 1024");
        }
        let l = &self.limits;
        if l.max_attachment_bytes == 0 || l.max_attachment_bytes > l.max_body_bytes {
            return invalid(
                "limits.max_attachment_bytes",
                &format!(
                    "must be between 1 and limits.max_body_bytes ({}): an attachment travels inside a request body",
                    l.max_body_bytes
                ),
            );
        }
        if l.body_timeout_ms == 0 || l.requests_per_second == 0 || l.request_burst == 0 || l.max_long_polls == 0 {
            return invalid(
                "limits",
                "body_timeout_ms, requests_per_second, request_burst and max_long_polls must be at least 1",
            );
        }
        if self.limits.max_entries == 0 || self.limits.max_destinations == 0 {
            return invalid("limits", "entry and destination limits must be at least 1");
        }
        if self.store.max_batch == 0 || self.store.max_connections == 0 {
            return invalid("store", "max_batch and max_connections must be at least 1");
        }
        if self.message_ttl_secs == 0 {
            return invalid("message_ttl_secs", "must be at least 1");
        }
        let d = &self.delivery;
        if d.max_in_flight == 0 || d.per_receiver == 0 {
            return invalid("delivery", "max_in_flight and per_receiver must be at least 1");
        }
        // Renewed every third of it while held: a lease shorter than this would be renewed in a loop.
        if d.lease_ms < 300 {
            return invalid("delivery.lease_ms", "must be at least 300 (it is renewed every third of it)");
        }
        // No backoff would retry a failing receiver in a tight loop; only a dispatcher that is stepped by
        // hand (`background = false`, for tests) may retry at once.
        if (d.initial_backoff_ms == 0 && d.background) || d.max_backoff_ms < d.initial_backoff_ms {
            return invalid("delivery", "initial_backoff_ms must be at least 1 and at most max_backoff_ms");
        }
        if d.client_cert.is_some() != d.client_key.is_some() {
            return invalid("delivery", "client_cert and client_key go together");
        }
        if !self.listen.ip().is_loopback() && self.tls.is_none() && !self.allow_plain_http {
            return invalid(
                "listen",
                "is not a loopback address and no [tls] is configured: bearer tokens and patient data would cross \
                 the network in clear; configure tls, or set allow_plain_http = true behind a TLS-terminating proxy",
            );
        }
        if let Some(tls) = self.tls.as_ref().filter(|tls| tls.client_ca.is_none()) {
            if tls.client_auth.is_some() || !tls.crl.is_empty() {
                return invalid(
                    "tls.client_ca",
                    "is needed for tls.client_auth and tls.crl (the CAs of client certificates)",
                );
            }
        }
        if !self.ledger.quality_counters && !self.demo {
            return invalid(
                "ledger.quality_counters",
                "may be false only with demo = true (to measure what the counters cost)",
            );
        }
        if !self.ledger.enabled && !self.demo {
            return invalid("ledger.enabled", "may be false only with demo = true (to measure what the ledger costs)");
        }
        if self.retention.sweep_secs == 0 {
            return invalid("retention.sweep_secs", "must be at least 1");
        }
        if self.tokens.default_lifetime_secs == 0 {
            return invalid("tokens.default_lifetime_secs", "must be at least 1");
        }
        if !(1..=MAX_SMART_TOKEN_LIFETIME_SECS).contains(&self.smart.access_token_lifetime_secs) {
            return invalid("smart.access_token_lifetime_secs", "must be between 1 and 900 (15 minutes)");
        }
        if !(1..=MAX_CAPACITY_STALE_AFTER_SECS).contains(&self.capacity.stale_after_secs) {
            return invalid("capacity.stale_after_secs", "must be between 1 and 604800 (a week)");
        }
        if !(1..=3600).contains(&self.overdue.sweep_secs) {
            return invalid("overdue.sweep_secs", "must be between 1 and 3600 (an hour)");
        }
        Ok(())
    }

    /// The base URL clients use to reach this broker, without a trailing slash.
    pub fn base_url(&self, bound: SocketAddr) -> String {
        match &self.public_base_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => {
                let scheme = if self.tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{bound}")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{ConfigError, Settings};

    fn load(toml: &str) -> Result<Settings, ConfigError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("broker.toml");
        std::fs::write(&file, toml).expect("written");
        Settings::load(Some(&file))
    }

    #[test]
    fn the_ledger_can_be_off_only_on_a_demo_broker() {
        assert!(load("").expect("defaults load").ledger.enabled);
        let refused = load("[ledger]\nenabled = false\n");
        assert!(matches!(refused, Err(ConfigError::Invalid { key: "ledger.enabled", .. })), "{refused:?}");
        assert!(!load("demo = true\n[ledger]\nenabled = false\n").expect("allowed in demo mode").ledger.enabled);
    }

    #[test]
    fn demo_mode_is_off_unless_asked_for() {
        assert!(!load("").expect("defaults load").demo);
        assert!(load("demo = true\n").expect("demo loads").demo);
    }

    #[test]
    fn plain_http_off_loopback_needs_a_tls_terminating_proxy_said_out_loud() {
        assert!(load("listen = \"127.0.0.1:8080\"\n").is_ok());
        assert!(load("listen = \"[::1]:8080\"\n").is_ok());
        let refused = load("listen = \"0.0.0.0:8080\"\n");
        assert!(matches!(refused, Err(ConfigError::Invalid { key: "listen", .. })), "{refused:?}");
        assert!(load("listen = \"0.0.0.0:8080\"\nallow_plain_http = true\n").is_ok());
    }

    #[test]
    fn client_certificates_are_optional_by_default_and_need_a_client_ca() {
        use super::ClientAuth;
        let tls = "[tls]\ncert = \"b.pem\"\nkey = \"b.key\"\n";
        assert_eq!(load(tls).expect("loads").tls.expect("tls").client_auth(), None);
        let optional = load(&format!("{tls}client_ca = \"ca.pem\"\n")).expect("loads").tls.expect("tls");
        assert_eq!(optional.client_auth(), Some(ClientAuth::Optional));
        assert!(optional.crl.is_empty());
        let required = load(&format!("{tls}client_ca = \"ca.pem\"\nclient_auth = \"required\"\ncrl = \"a.crl\"\n"))
            .expect("loads")
            .tls
            .expect("tls");
        assert_eq!(required.client_auth(), Some(ClientAuth::Required));
        assert_eq!(required.crl, [std::path::PathBuf::from("a.crl")]);
        let two = load(&format!("{tls}client_ca = \"ca.pem\"\ncrl = [\"a.crl\", \"b.pem\"]\n")).expect("loads");
        assert_eq!(two.tls.expect("tls").crl.len(), 2);
        assert!(load(&format!("{tls}client_ca = \"ca.pem\"\nclient_auth = \"sometimes\"\n")).is_err());
        for without_ca in ["client_auth = \"required\"\n", "crl = \"a.crl\"\n"] {
            let refused = load(&format!("{tls}{without_ca}"));
            assert!(matches!(refused, Err(ConfigError::Invalid { key: "tls.client_ca", .. })), "{refused:?}");
        }
    }

    #[test]
    fn attachments_are_limited_to_8_mib_by_default_and_never_beyond_the_body_limit() {
        let defaults = load("").expect("defaults load").limits;
        assert_eq!(defaults.max_attachment_bytes, 8 * 1024 * 1024);
        assert!(defaults.max_attachment_bytes <= defaults.max_body_bytes);
        assert_eq!(load("[limits]\nmax_attachment_bytes = 1024\n").expect("loads").limits.max_attachment_bytes, 1024);
        for refused in ["[limits]\nmax_attachment_bytes = 0\n", "[limits]\nmax_body_bytes = 4096\n"] {
            let loaded = load(refused);
            let key = "limits.max_attachment_bytes";
            assert!(matches!(&loaded, Err(ConfigError::Invalid { key: k, .. }) if *k == key), "{refused}: {loaded:?}");
        }
        let message = load("[limits]\nmax_attachment_bytes = 20000000\n").unwrap_err().to_string();
        assert!(message.contains("limits.max_body_bytes (10485760)"), "{message}");
    }

    #[test]
    fn the_push_workers_run_in_the_background_unless_told_not_to() {
        assert!(load("").expect("defaults load").delivery.background);
        assert!(!load("[delivery]\nbackground = false\n").expect("loads").delivery.background);
    }

    #[test]
    fn smart_access_tokens_live_5_minutes_by_default_and_15_at_most() {
        assert_eq!(load("").expect("defaults load").smart.access_token_lifetime_secs, 300);
        assert_eq!(
            load("[smart]\naccess_token_lifetime_secs = 900\n").expect("loads").smart.access_token_lifetime_secs,
            900
        );
        for refused in ["0", "901"] {
            let loaded = load(&format!("[smart]\naccess_token_lifetime_secs = {refused}\n"));
            let key = "smart.access_token_lifetime_secs";
            assert!(matches!(loaded, Err(ConfigError::Invalid { key: k, .. }) if k == key), "{refused}: {loaded:?}");
        }
    }

    #[test]
    fn tokens_live_90_days_by_default_and_the_lifetime_can_be_configured() {
        assert_eq!(load("").expect("defaults load").tokens.default_lifetime_secs, 90 * 24 * 3600);
        assert_eq!(load("[tokens]\ndefault_lifetime_secs = 3600\n").expect("loads").tokens.default_lifetime_secs, 3600);
        let refused = load("[tokens]\ndefault_lifetime_secs = 0\n");
        assert!(
            matches!(refused, Err(ConfigError::Invalid { key: "tokens.default_lifetime_secs", .. })),
            "{refused:?}"
        );
    }

    #[test]
    fn capacity_is_stale_after_an_hour_by_default_and_a_week_at_most() {
        assert_eq!(load("").expect("defaults load").capacity.stale_after_secs, 3600);
        assert_eq!(load("[capacity]\nstale_after_secs = 60\n").expect("loads").capacity.stale_after_secs, 60);
        for refused in ["0", "604801"] {
            let loaded = load(&format!("[capacity]\nstale_after_secs = {refused}\n"));
            let key = "capacity.stale_after_secs";
            assert!(matches!(loaded, Err(ConfigError::Invalid { key: k, .. }) if k == key), "{refused}: {loaded:?}");
        }
    }

    #[test]
    fn the_overdue_sweep_runs_every_minute_by_default() {
        let defaults = load("").expect("defaults load").overdue;
        assert_eq!((defaults.sweep_secs, defaults.background), (60, true));
        let loaded = load("[overdue]\nsweep_secs = 5\nbackground = false\n").expect("loads").overdue;
        assert_eq!((loaded.sweep_secs, loaded.background), (5, false));
        for refused in ["0", "3601"] {
            let loaded = load(&format!("[overdue]\nsweep_secs = {refused}\n"));
            assert!(
                matches!(loaded, Err(ConfigError::Invalid { key: "overdue.sweep_secs", .. })),
                "{refused}: {loaded:?}"
            );
        }
    }
}
