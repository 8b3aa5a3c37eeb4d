//! Building and running the application: used by `main` and by the integration tests alike.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::api::{self, AppState, QuietRootSpan};
use crate::auth::Authenticator;
use crate::config::{Settings, TlsSettings};
use crate::delivery::{PushWorkers, Pusher};
use crate::directory::{self, Directory};
use crate::ingest::Ingestor;
use crate::metrics::Metrics;
use crate::profiles::Catalog;
use crate::store::Store;

/// Installs ring as the process's one rustls crypto provider (server TLS and the HTTP client alike).
pub fn install_crypto_provider() {
    // Err means a provider is installed already, which is what we want.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// A bound, ready-to-run broker.
pub struct Application {
    addr: SocketAddr,
    base_url: String,
    server: Server,
    store: Store,
    demo_tokens: Vec<String>,
    /// Directory refresh, checkpoints, retention: stopped with the server.
    background: Vec<tokio::task::JoinHandle<()>>,
    pushers: Option<PushWorkers>,
}

impl Application {
    /// Opens the store (migrating it), loads the demo directory when asked, loads the profiles and binds
    /// the listener. Port 0 binds any free port; [`Application::port`] tells which.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        install_crypto_provider();
        let store = Store::open_with_ledger(
            &settings.database_url,
            settings.store.max_connections,
            settings.store.max_batch,
            settings.ledger.enabled,
        )
        .await
        .context("opening the database")?;
        if !settings.ledger.enabled {
            tracing::warn!("the ledger is OFF (ledger.enabled = false): a demo broker for measuring its cost only");
        }
        let demo = match settings.demo {
            Some(demo) => demo,
            None => directory::demo_by_default(&store).await?,
        };
        if demo && directory::load_demo_if_empty(&store, &settings.fixtures_dir).await? {
            tracing::info!(fixtures = %settings.fixtures_dir.display(), "loaded the demo directory");
        }
        let patient_keys =
            crate::ledger::patient::PatientKeys::new(patient_secret(&store, &settings, demo).await?.as_bytes());
        let mut dirs = vec![settings.profiles_dir.as_path()];
        dirs.extend(settings.extra_profile_dirs.iter().map(PathBuf::as_path));
        let catalog = Arc::new(Catalog::load_all(&dirs)?);
        for (url, feature) in catalog.not_checked() {
            tracing::warn!(profile = url, feature, "adopted profile: not checked");
        }
        tracing::info!(kinds = catalog.kinds().count(), "loaded handover profiles");

        let listener = TcpListener::bind(settings.listen).with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let base_url = settings.base_url(addr);

        let mut auth = Authenticator::new(store.clone());
        if demo && addr.ip().is_loopback() {
            auth = auth.with_demo_tokens(&store.organizations().await?);
        }
        let mut demo_tokens: Vec<String> = auth.demo_tokens().map(str::to_owned).collect();
        demo_tokens.sort();

        let events: Vec<handover_fhir::SupportedEvent<'_>> =
            catalog.kinds().map(|k| handover_fhir::SupportedEvent { definition_url: &k.definition_url }).collect();
        let metadata = handover_fhir::capability_statement(&handover_fhir::Capability {
            software_version: env!("CARGO_PKG_VERSION"),
            date: crate::time::Millis::now().to_datetime(),
            fhir_base: &format!("{base_url}/fhir"),
            events: &events,
            reliable_cache_minutes: u32::try_from(settings.message_ttl_secs / 60).unwrap_or(u32::MAX),
        })?;

        let directory = Directory::load(store.clone()).await?;
        let mut background =
            vec![directory.spawn_refresh(), crate::retention::spawn(store.clone(), settings.retention.clone())];
        if let Some(dir) = settings.ledger.checkpoint_dir.clone() {
            let every = std::time::Duration::from_secs(settings.ledger.checkpoint_secs.max(1));
            background.push(crate::ledger::spawn_checkpoints(store.clone(), dir, every));
        }
        let signals = crate::mailbox::Signals::default();
        let metrics = Arc::new(Metrics::new());
        let pushers = if settings.delivery.enabled {
            let pusher = Pusher::new(
                store.clone(),
                directory.clone(),
                &settings.delivery,
                settings.message_ttl_secs,
                base_url.clone(),
                signals.clone(),
                metrics.clone(),
            )?;
            Some(pusher.spawn())
        } else {
            None
        };
        let mailbox = crate::mailbox::Mailbox::new(
            crate::delivery::settle::Settler {
                store: store.clone(),
                directory: directory.clone(),
                base_url: base_url.clone(),
                ttl_secs: settings.message_ttl_secs,
                signals: signals.clone(),
            },
            signals.clone(),
        );
        let ingestor = Ingestor::new(
            store.clone(),
            directory.clone(),
            catalog,
            settings.limits.clone(),
            settings.message_ttl_secs,
            base_url.clone(),
            signals.clone(),
            patient_keys.clone(),
        );
        let state = web::Data::new(AppState {
            ingestor,
            auth,
            store: store.clone(),
            metadata: Arc::new(metadata),
            metrics,
            directory,
            mailbox,
            base_url: base_url.clone(),
            patient_keys,
        });
        let server = HttpServer::new(move || {
            App::new().wrap(TracingLogger::<QuietRootSpan>::new()).app_data(state.clone()).configure(api::configure)
        })
        // In-flight requests get this long to finish on SIGTERM/SIGINT; each either commits and is
        // acknowledged, or is not acknowledged at all.
        .shutdown_timeout(30);
        let server = match &settings.tls {
            Some(tls) => server.listen_rustls_0_23(listener, tls_config(tls)?)?,
            None => server.listen(listener)?,
        }
        .run();
        Ok(Self { addr, base_url, server, store, demo_tokens, background, pushers })
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http(s)://host:port` (or the configured public URL).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The demo tokens in force (empty outside demo mode or off loopback).
    pub fn demo_tokens(&self) -> &[String] {
        &self.demo_tokens
    }

    /// The application's store (tests inspect what was committed).
    pub fn store(&self) -> Store {
        self.store.clone()
    }

    /// Stops the server gracefully when told to (tests use this to restart the broker).
    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    /// Serves until stopped (SIGINT/SIGTERM or the handle), then lets the store's writer commit what it
    /// was given before closing the database.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        for task in &self.background {
            task.abort();
        }
        // The push workers settle through the store's writer: stop them before the store closes.
        if let Some(pushers) = self.pushers {
            pushers.stop().await;
        }
        self.store.close().await;
        result
    }
}

/// The secret of the ledger's patient keys: configured, or kept in the database from an earlier start,
/// or (demo mode only) generated now and kept.
async fn patient_secret(store: &Store, settings: &Settings, demo: bool) -> anyhow::Result<String> {
    const KEY: &str = "ledger_patient_secret";
    if let Some(secret) = &settings.ledger.secret {
        anyhow::ensure!(secret.len() >= 32, "ledger.secret must be at least 32 characters");
        return Ok(secret.clone());
    }
    if let Some(secret) = store.state_value(KEY).await? {
        return Ok(secret);
    }
    anyhow::ensure!(
        demo,
        "ledger.secret (HANDOVER_LEDGER__SECRET) is required: the key of the patient keys in the ledger"
    );
    Ok(store.state_value_or_insert(KEY, &crate::ledger::patient::new_secret()).await?)
}

fn tls_config(tls: &TlsSettings) -> anyhow::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading TLS certificates from {}", tls.cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(&tls.key).with_context(|| format!("reading the TLS key {}", tls.key.display()))?;
    Ok(rustls::ServerConfig::builder().with_no_client_auth().with_single_cert(certs, key)?)
}
