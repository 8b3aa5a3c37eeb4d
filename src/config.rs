//! One typed `Settings`: built-in defaults, then an optional TOML file, then `HANDOVER_<KEY>` environment
//! variables (nested keys with `__`, e.g. `HANDOVER_LIMITS__MAX_BODY_BYTES`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use serde::Deserialize;

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
    /// Load the demo directory when the directory is empty, and accept the demo tokens on loopback.
    /// Unset means: demo when the directory is empty at start.
    pub demo: Option<bool>,
    /// Public base URL used in `Location` headers and `MessageHeader.source.endpoint`; defaults to
    /// `http(s)://{listen}`.
    pub public_base_url: Option<String>,
    /// Time to live of a delivery, in seconds (MESH's 5 days by default).
    pub message_ttl_secs: u64,
    pub limits: Limits,
    pub tls: Option<TlsSettings>,
    pub log_format: LogFormat,
    pub store: StoreSettings,
}

/// Limits on what a client may send. Each one is enforced before anything is stored.
#[derive(Debug, Clone, Deserialize)]
pub struct Limits {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Deepest accepted JSON nesting (objects and arrays); serde_json's own limit of 128 is the backstop.
    pub max_json_depth: usize,
    /// Most entries in one message Bundle.
    pub max_entries: usize,
    /// Most `MessageHeader.destination`s (receivers) in one message.
    pub max_destinations: usize,
}

#[derive(Debug, Clone, Deserialize)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
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
            .set_default("limits.max_json_depth", 64)?
            .set_default("limits.max_entries", 5_000)?
            .set_default("limits.max_destinations", 50)?
            .set_default("log_format", "pretty")?
            .set_default("store.max_batch", 128)?
            .set_default("store.max_connections", 8)?;
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

    fn check(&self) -> Result<(), ConfigError> {
        let invalid = |key, problem: &str| Err(ConfigError::Invalid { key, problem: problem.to_owned() });
        if !(1..=120).contains(&self.limits.max_json_depth) {
            return invalid("limits.max_json_depth", "must be between 1 and 120");
        }
        if self.limits.max_body_bytes < 1024 {
            return invalid("limits.max_body_bytes", "must be at least 1024");
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
