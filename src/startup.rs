//! Building and running the application: used by `main` and by the integration tests alike.

use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tracing_actix_web::TracingLogger;

use crate::api::{self, AppState, QuietRootSpan};
use crate::auth::certificate::{ClientCertificates, PeerCertificate};
use crate::auth::Authenticator;
use crate::config::{Settings, TlsSettings};
use crate::delivery::settle::Settler;
use crate::delivery::{PushWorkers, Pusher};
use crate::directory::{self, Directory};
use crate::fhirxml::{Converter, XmlLimits};
use crate::forward::Escalator;
use crate::ingest::Ingestor;
use crate::ledger::patient::PatientKeys;
use crate::mailbox::Mailbox;
use crate::metrics::Metrics;
use crate::overdue::OverdueSweep;
use crate::profiles::Catalog;
use crate::signals::Signals;
use crate::store::Store;

/// A bound, ready-to-run broker.
pub struct Application {
    addr: SocketAddr,
    base_url: String,
    server: Server,
    store: Store,
    demo_tokens: Vec<String>,
    /// Directory refresh, checkpoints, retention, the overdue sweep: stopped with the server.
    background: Vec<tokio::task::JoinHandle<()>>,
    /// The push workers (`delivery.enabled`), and their loop unless `delivery.background` is off.
    pusher: Option<Arc<Pusher>>,
    pushers: Option<PushWorkers>,
    /// The overdue sweep; its loop runs among `background` unless `overdue.background` is off.
    overdue: OverdueSweep,
    /// The escalation pass, run after each sweep.
    escalator: Escalator,
}

impl Application {
    /// Opens the store (migrating it), loads the demo directory when asked, loads the profiles and binds
    /// the listener. Port 0 binds any free port; [`Application::port`] tells which.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        // However the settings were made (file, environment, a test), they pass the same checks.
        settings.check()?;
        crate::crypto::install_provider();
        let store = open_store(&settings).await?;
        let demo = settings.demo;
        if demo {
            tracing::warn!(
                "demo mode: the demo directory's organisations accept their well-known demo tokens on loopback"
            );
            if directory::load_demo_if_empty(&store, &settings.fixtures_dir).await? {
                tracing::info!(fixtures = %settings.fixtures_dir.display(), "loaded the demo directory");
            }
        }
        if settings.allow_plain_http && !settings.listen.ip().is_loopback() {
            tracing::warn!(listen = %settings.listen, "plain HTTP off loopback (allow_plain_http): only behind a TLS-terminating proxy");
        }
        let patient_keys = PatientKeys::new(patient_secret(&store, &settings, demo).await?.as_bytes());
        let catalog = Arc::new(load_catalog(&settings)?);
        let xml = Arc::new(Converter::new(catalog.shared_base(), XmlLimits::of(&settings.limits))?);

        let listener = TcpListener::bind(settings.listen).with_context(|| format!("binding {}", settings.listen))?;
        let addr = listener.local_addr()?;
        let base_url = settings.base_url(addr);

        let mut auth = Authenticator::new(store.clone());
        if demo && addr.ip().is_loopback() {
            auth = auth.with_demo_tokens(&demo_organizations(&store, &settings).await?);
        }
        let mut demo_tokens: Vec<String> = auth.demo_tokens().map(str::to_owned).collect();
        demo_tokens.sort();
        let metadata = capability_statement(&catalog, &base_url, settings.message_ttl_secs)?;

        let directory = Directory::load(store.clone()).await?;
        let mut background = spawn_background(&settings, &store, &directory);
        // One settler for the whole broker: pushes, mailbox acknowledgements and business responses
        // settle deliveries the same way, and wake the same signals.
        let settler = Settler::new(
            store.clone(),
            directory.clone(),
            base_url.clone(),
            settings.message_ttl_secs,
            Signals::default(),
        );
        let overdue = OverdueSweep::new(
            store.clone(),
            directory.clone(),
            base_url.clone(),
            settings.message_ttl_secs,
            settler.signals().clone(),
        );
        let metrics = Arc::new(Metrics::new());
        let pusher = if settings.delivery.enabled {
            Some(Arc::new(Pusher::new(
                settler.clone(),
                directory.clone(),
                &settings.delivery,
                settings.targets(),
                metrics.clone(),
                xml.clone(),
            )?))
        } else {
            None
        };
        let pushers = pusher.as_ref().filter(|_| settings.delivery.background).map(Pusher::spawn);
        let capacity = crate::capacity::Capacity::new(
            store.clone(),
            directory.clone(),
            catalog.measure_groups(crate::capacity::BED_CAPACITY_MEASURE).unwrap_or_default().to_vec(),
            settings.capacity.stale_after_secs,
        );
        let ingestor = Ingestor::new(
            settler.clone(),
            directory.clone(),
            catalog,
            patient_keys.clone(),
            settings.limits.clone(),
            settings.message_ttl_secs,
            base_url.clone(),
            xml.clone(),
        );
        let escalator = Escalator::new(ingestor.clone(), directory.clone(), base_url.clone());
        if settings.overdue.background {
            let every = std::time::Duration::from_secs(settings.overdue.sweep_secs);
            background.push(spawn_overdue(overdue.clone(), escalator.clone(), every));
        }
        let state_directory = directory.clone();
        let state = web::Data::new(AppState {
            ingestor,
            auth,
            smart: crate::auth::smart::Smart::new(store.clone(), directory.clone(), &base_url, &settings.smart),
            store: store.clone(),
            metadata: Arc::new(metadata),
            metrics,
            tasks: crate::notified::Tasks::new(settler.clone(), directory.clone()),
            directory,
            mailbox: Mailbox::new(settler, settings.limits.max_long_polls),
            base_url: base_url.clone(),
            patient_keys,
            targets: settings.targets(),
            throttle: crate::api::throttle::Throttle::new(&settings.limits),
            capacity,
            quality: crate::quality::Quality::new(store.clone(), state_directory),
            xml,
        });
        let server = serve(state, listener, settings.tls.as_ref())?;
        Ok(Self { addr, base_url, server, store, demo_tokens, background, pusher, pushers, overdue, escalator })
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

    /// The push workers, when `delivery.enabled`: with `delivery.background = false` nothing is pushed
    /// until [`Pusher::deliver_pending`] is called (tests step delivery this way).
    pub fn pusher(&self) -> Option<Arc<Pusher>> {
        self.pusher.clone()
    }

    /// The overdue sweep: with `overdue.background = false` nothing is reported overdue until
    /// [`OverdueSweep::sweep`] is called (tests step it this way).
    pub fn overdue(&self) -> OverdueSweep {
        self.overdue.clone()
    }

    /// The escalation pass (run by the overdue loop after each sweep), for tests that step it.
    pub fn escalator(&self) -> Escalator {
        self.escalator.clone()
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

/// The store, migrated; with the ledger off only where the configuration allowed it (demo mode).
async fn open_store(settings: &Settings) -> anyhow::Result<Store> {
    let recording =
        crate::store::Recording { ledger: settings.ledger.enabled, quality_counters: settings.ledger.quality_counters };
    let store = Store::open_recording(
        &settings.database_url,
        settings.store.max_connections,
        settings.store.max_batch,
        recording,
    )
    .await
    .context("opening the database")?;
    if !settings.ledger.enabled {
        tracing::warn!("the ledger is OFF (ledger.enabled = false): a demo broker for measuring its cost only");
    }
    if !settings.ledger.quality_counters {
        tracing::warn!("quality counters are OFF (ledger.quality_counters = false): for measuring their cost only");
    }
    Ok(store)
}

/// The handover kinds, from `profiles_dir` and the extra profile folders.
fn load_catalog(settings: &Settings) -> anyhow::Result<Catalog> {
    let mut dirs = vec![settings.profiles_dir.as_path()];
    dirs.extend(settings.extra_profile_dirs.iter().map(PathBuf::as_path));
    let catalog = Catalog::load_all(&dirs)?.with_attachment_limit(settings.limits.max_attachment_bytes);
    for (url, feature) in catalog.not_checked() {
        tracing::warn!(profile = url, feature, "adopted profile: not checked");
    }
    tracing::info!(kinds = catalog.kinds().count(), "loaded handover profiles");
    Ok(catalog)
}

/// The CapabilityStatement, built once: the profiles do not change while the broker runs.
fn capability_statement(catalog: &Catalog, base_url: &str, ttl_secs: u64) -> anyhow::Result<Vec<u8>> {
    let events: Vec<handover_fhir::SupportedEvent<'_>> =
        catalog.kinds().map(|k| handover_fhir::SupportedEvent { definition_url: &k.definition_url }).collect();
    Ok(handover_fhir::capability_statement(&handover_fhir::Capability {
        software_version: env!("CARGO_PKG_VERSION"),
        date: crate::time::Millis::now().to_datetime(),
        fhir_base: &format!("{base_url}/fhir"),
        events: &events,
        reliable_cache_minutes: u32::try_from(ttl_secs / 60).unwrap_or(u32::MAX),
    })?)
}

/// The tasks that run beside the server: directory refresh, retention, and checkpoints when asked.
fn spawn_background(settings: &Settings, store: &Store, directory: &Directory) -> Vec<tokio::task::JoinHandle<()>> {
    let mut background =
        vec![directory.spawn_refresh(), crate::retention::spawn(store.clone(), settings.retention.clone())];
    if let Some(dir) = settings.ledger.checkpoint_dir.clone() {
        let every = std::time::Duration::from_secs(settings.ledger.checkpoint_secs.max(1));
        background.push(crate::audit::spawn_checkpoints(store.clone(), dir, every));
    }
    background
}

/// The HTTP server on `listener`, over TLS when configured; with `tls.client_ca`, each connection's
/// client certificate is checked once when it starts and kept in its data for the requests on it.
fn serve(state: web::Data<AppState>, listener: TcpListener, tls: Option<&TlsSettings>) -> anyhow::Result<Server> {
    let clients = tls.map(ClientCertificates::load).transpose()?.flatten();
    let server = HttpServer::new(move || {
        App::new()
            // Inner first: the words are translated, then the answer is written in its format.
            .wrap(actix_web::middleware::from_fn(api::language::localize))
            .wrap(actix_web::middleware::from_fn(api::format::negotiate))
            .wrap(TracingLogger::<QuietRootSpan>::new())
            .app_data(state.clone())
            .configure(api::configure)
    })
    // In-flight requests get this long to finish on SIGTERM/SIGINT; each either commits and is
    // acknowledged, or is not acknowledged at all.
    .shutdown_timeout(30);
    let server = match clients.clone() {
        Some(clients) => server.on_connect(move |connection, data| {
            if let Some(peer) = peer_certificate(&clients, connection) {
                data.insert(peer);
            }
        }),
        None => server,
    };
    let server = match tls {
        Some(tls) => server.listen_rustls_0_23(listener, tls_config(tls, clients.as_ref())?)?,
        None => server.listen(listener)?,
    };
    Ok(server.run())
}

/// The client certificate of a TLS connection, checked: `None` when the client presented none (or the
/// connection is not the rustls listener's).
fn peer_certificate(clients: &ClientCertificates, connection: &dyn std::any::Any) -> Option<PeerCertificate> {
    let tls = connection.downcast_ref::<actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>>()?;
    clients.check(tls.get_ref().1.peer_certificates()?)
}

/// The organisations that get demo tokens: those of the demo directory file that the store holds,
/// never another organisation in the store (one imported later must not answer to a well-known
/// secret because a demo runs on the same database).
async fn demo_organizations(store: &Store, settings: &Settings) -> anyhow::Result<Vec<crate::model::Organization>> {
    let demo = directory::read_bundle_file(&settings.fixtures_dir.join("demo-directory.json"))?;
    let demo_ids: Vec<&crate::model::OrgId> = demo.iter().map(|org| &org.id).collect();
    Ok(store.organizations().await?.into_iter().filter(|org| demo_ids.contains(&&org.id)).collect())
}

/// The secret of the ledger's patient keys: configured; in demo mode only, kept in the database from
/// an earlier start or generated now and kept. Outside demo mode the broker does not start without a
/// configured one: a secret in the database would sit beside the keys it protects.
async fn patient_secret(store: &Store, settings: &Settings, demo: bool) -> anyhow::Result<String> {
    const KEY: &str = "ledger_patient_secret";
    if let Some(secret) = &settings.ledger.secret {
        anyhow::ensure!(secret.len() >= 32, "ledger.secret must be at least 32 characters");
        return Ok(secret.clone());
    }
    anyhow::ensure!(
        demo,
        "ledger.secret (HANDOVER_LEDGER__SECRET) is required outside demo mode: the key of the patient keys \
         in the ledger"
    );
    if let Some(secret) = store.state_value(KEY).await? {
        return Ok(secret);
    }
    Ok(store.state_value_or_insert(KEY, &crate::ledger::patient::new_secret()).await?)
}

/// The listener's TLS: its certificate chain and key, and the client certificate verifier when
/// `tls.client_ca` is set.
fn tls_config(tls: &TlsSettings, clients: Option<&ClientCertificates>) -> anyhow::Result<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(&tls.cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("reading TLS certificates from {}", tls.cert.display()))?;
    let key =
        PrivateKeyDer::from_pem_file(&tls.key).with_context(|| format!("reading the TLS key {}", tls.key.display()))?;
    let builder = rustls::ServerConfig::builder();
    let builder = match clients {
        Some(clients) => builder.with_client_cert_verifier(clients.handshake_verifier()),
        None => builder.with_no_client_auth(),
    };
    Ok(builder.with_single_cert(certs, key)?)
}

/// The overdue loop: every `every`, report what became overdue, then escalate what is overdue and has
/// an escalation organisation (also what an earlier round reported but could not escalate, e.g. before
/// a crash). Failures are logged; the next round tries again.
fn spawn_overdue(sweep: OverdueSweep, escalator: Escalator, every: std::time::Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            if let Err(e) = sweep.sweep().await {
                tracing::warn!(stage = "overdue", error = %e, "overdue sweep failed; retrying next round");
            }
            if let Err(e) = escalator.run().await {
                tracing::warn!(stage = "escalation", error = %e, "escalation pass failed; retrying next round");
            }
        }
    })
}
