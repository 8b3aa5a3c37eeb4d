//! `spawn_app()` and the `TestApp` client: one method per endpoint.

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use handover_broker::config::Settings;
use handover_broker::model::TrackingId;
use handover_broker::startup::Application;
use handover_broker::store::Store;
use handover_broker::telemetry::{get_subscriber, init_subscriber};
use serde_json::{json, Value};

pub const HOSPITAL: &str = "demo-zzl-hospital";
pub const GP_HEERLEN: &str = "demo-gp-heerlen";
pub const HOME_CARE: &str = "demo-thuiszorg-parkstad";
pub const URA: &str = "http://fhir.nl/fhir/NamingSystem/ura";
pub const NIHDI: &str = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi-organization";
pub const FHIR_JSON: &str = "application/fhir+json";

/// Logs go to a sink unless TEST_LOG is set.
static TRACING: LazyLock<()> = LazyLock::new(|| {
    let format = handover_broker::config::LogFormat::Pretty;
    if std::env::var("TEST_LOG").is_ok() {
        let _ = init_subscriber(get_subscriber("debug", format, std::io::stdout));
    } else {
        let _ = init_subscriber(get_subscriber("debug", format, std::io::sink));
    }
});

pub fn project_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The shared corpus next to the project, if present.
pub fn shared_corpus() -> Option<PathBuf> {
    let dir = project_dir().join("../shared/corpus");
    dir.is_dir().then_some(dir)
}

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub db_dir: std::sync::Arc<tempfile::TempDir>,
    pub database_url: String,
    /// The push workers (with `delivery.enabled`); see [`TestApp::deliver_pending`].
    pusher: Option<std::sync::Arc<handover_broker::delivery::Pusher>>,
    /// The overdue sweep; see [`TestApp::sweep_overdue`].
    pub overdue: handover_broker::overdue::OverdueSweep,
    /// The escalation pass; see [`TestApp::escalate_overdue`].
    pub escalator: handover_broker::forward::Escalator,
    handle: actix_web::dev::ServerHandle,
    join: tokio::task::JoinHandle<std::io::Result<()>>,
}

/// Settings for a broker on a random loopback port with a fresh database: an SQLite file in `db_dir`,
/// or, when `HANDOVER_TEST_POSTGRES` names a server (`postgres://user:pass@host:port`), a new database on
/// it, so that the same suite runs against both backends.
pub async fn test_settings(db_dir: &Path) -> Settings {
    let mut settings = Settings::load(None).expect("default settings load");
    settings.listen = "127.0.0.1:0".parse().expect("address");
    settings.database_url = match std::env::var("HANDOVER_TEST_POSTGRES") {
        Ok(server) => fresh_postgres_database(&server).await,
        Err(_) => format!("sqlite://{}/broker.db", db_dir.display()),
    };
    settings.profiles_dir = project_dir().join("profiles");
    settings.fixtures_dir = project_dir().join("fixtures");
    settings.demo = true;
    // The demo directory's push endpoints are not running in tests; tests of delivery turn it on with
    // their own receivers (tests/api/delivery.rs).
    settings.delivery.enabled = false;
    // Outside demo mode the patient-key secret must be configured; tests that leave demo mode have one.
    settings.ledger.secret = Some("test-secret-of-the-ledger-patient-keys".to_owned());
    settings
}

/// A new database on the PostgreSQL `server`, dropped when the test that made it is done.
pub async fn fresh_postgres_database(server: &str) -> String {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let name = format!("hb_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::AnyConnection::connect(&format!("{server}/postgres")).await.expect("PostgreSQL reachable");
    sqlx::query(&format!("CREATE DATABASE {name}")).execute(&mut admin).await.expect("test database created");
    CREATED_DATABASES.with(|created| created.borrow_mut().0.push((server.to_owned(), name.clone())));
    format!("{server}/{name}")
}

thread_local! {
    /// The PostgreSQL databases made by the test running on this thread. libtest runs every test on a
    /// thread of its own and joins it, so they are dropped when the test is done, passed or failed, and
    /// after its runtime has stopped every broker and pool of the test. A test may use its database from
    /// several `TestApp`s in turn (a restart) or at once, so no single `TestApp` owns it.
    static CREATED_DATABASES: std::cell::RefCell<CreatedDatabases> = Default::default();
}

/// (server, database name) pairs.
#[derive(Default)]
struct CreatedDatabases(Vec<(String, String)>);

impl Drop for CreatedDatabases {
    fn drop(&mut self) {
        let databases = std::mem::take(&mut self.0);
        if databases.is_empty() {
            return;
        }
        // This thread is ending and its tokio context may be gone already: a thread of its own with its
        // own runtime drops them. A panic there (printed) must not become one here, in a thread-local's
        // destructor, which would abort the test binary.
        let _ = std::thread::spawn(move || {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime")
                .block_on(drop_databases(databases))
        })
        .join();
    }
}

async fn drop_databases(databases: Vec<(String, String)>) {
    use sqlx::Connection;
    for (server, name) in databases {
        let mut admin =
            sqlx::AnyConnection::connect(&format!("{server}/postgres")).await.expect("PostgreSQL reachable");
        // FORCE: a server process of the test's connections that has not ended yet does not keep it.
        sqlx::query(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut admin)
            .await
            .expect("test database dropped");
        admin.close().await.expect("connection closed");
    }
}

/// The real broker binary, ready to `serve` an SQLite database in `dir` on a random loopback port, logs
/// off, the first line of stdout being `listening on ...` (see [`listening_base`]).
pub fn broker_command(dir: &Path) -> std::process::Command {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_handover-broker"));
    command
        .arg("serve")
        .env("HANDOVER_LISTEN", "127.0.0.1:0")
        .env("HANDOVER_DATABASE_URL", format!("sqlite://{}/broker.db", dir.display()))
        .env("HANDOVER_PROFILES_DIR", project_dir().join("profiles"))
        .env("HANDOVER_FIXTURES_DIR", project_dir().join("fixtures"))
        .env("HANDOVER_DEMO", "true")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
    command
}

/// Reads the started broker's `listening on URL` line; returns the URL.
pub fn listening_base(child: &mut std::process::Child) -> String {
    use std::io::BufRead;
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("piped stdout")).read_line(&mut line).expect("a line");
    line.trim().strip_prefix("listening on ").expect("the listening line").to_owned()
}

pub fn uses_sqlite(app: &TestApp) -> bool {
    app.database_url.starts_with("sqlite:")
}

/// A broker like [`spawn_app`]'s, with its settings changed by `tweak` first.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let mut settings = test_settings(dir.path()).await;
    tweak(&mut settings);
    spawn_with(settings, dir).await
}

pub async fn spawn_app() -> TestApp {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    spawn_with(test_settings(dir.path()).await, dir).await
}

pub async fn spawn_with(settings: Settings, db_dir: std::sync::Arc<tempfile::TempDir>) -> TestApp {
    LazyLock::force(&TRACING);
    let database_url = settings.database_url.clone();
    let app = Application::build(settings).await.expect("the broker builds");
    let base = app.base_url().to_owned();
    let store = app.store();
    let pusher = app.pusher();
    let overdue = app.overdue();
    let escalator = app.escalator();
    let handle = app.handle();
    let join = tokio::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();
    TestApp { base, client, store, db_dir, database_url, pusher, overdue, escalator, handle, join }
}

impl TestApp {
    /// Runs the push dispatcher once, to completion: expires what is due, pushes every row due now and
    /// returns when each push is settled. For a broker built with `delivery.background = false`
    /// (`stepped` in tests/api/delivery.rs), where nothing else pushes: the test decides when each
    /// attempt happens instead of waiting for the clock.
    pub async fn deliver_pending(&self) -> handover_broker::delivery::DispatchReport {
        let pusher = self.pusher.as_ref().expect("a broker with delivery.enabled");
        pusher.deliver_pending().await.expect("the pass settles every push")
    }

    /// Runs the overdue sweep once, now: the deliveries it reported (for a broker built with
    /// `overdue.background = false`, where nothing else sweeps).
    pub async fn sweep_overdue(&self) -> Vec<handover_broker::overdue::Overdue> {
        self.overdue.sweep().await.expect("the sweep commits")
    }

    /// Runs the escalation pass once: the tracking ids of the messages it forwarded.
    pub async fn escalate_overdue(&self) -> Vec<TrackingId> {
        self.escalator.run().await.expect("the escalation pass runs")
    }

    /// Stops the broker gracefully and waits until its writer has closed the database.
    pub async fn stop(self) -> std::sync::Arc<tempfile::TempDir> {
        self.handle.stop(true).await;
        self.join.await.expect("server task").expect("server ran");
        self.db_dir
    }

    pub async fn post_raw(&self, token: Option<&str>, content_type: Option<&str>, body: Vec<u8>) -> reqwest::Response {
        let mut request = self.client.post(format!("{}/fhir/$process-message", self.base)).body(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(content_type) = content_type {
            request = request.header("Content-Type", content_type);
        }
        request.send().await.expect("request sent")
    }

    pub async fn post_message(&self, token: &str, bundle: &Value) -> reqwest::Response {
        self.post_raw(Some(token), Some(FHIR_JSON), serde_json::to_vec(bundle).expect("json")).await
    }

    pub async fn get(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }

    pub async fn receipt(&self, token: &str, tracking_id: &str) -> reqwest::Response {
        self.get(Some(token), &format!("/fhir/receipts/{tracking_id}")).await
    }
}

pub fn fixture(name: &str) -> Value {
    let path = project_dir().join("fixtures/handovers").join(name);
    serde_json::from_slice(&std::fs::read(&path).expect("fixture readable")).expect("fixture is JSON")
}

/// The discharge fixture with fresh MessageHeader.id and Bundle.id: a new, valid message.
pub fn discharge() -> Value {
    fresh(fixture("discharge-summary-nl.json"))
}

pub fn fresh(mut bundle: Value) -> Value {
    bundle["id"] = json!(uuid::Uuid::new_v4().to_string());
    bundle["entry"][0]["resource"]["id"] = json!(uuid::Uuid::new_v4().to_string());
    bundle
}

/// Position of the first entry holding a resource of this type.
pub fn entry_of(bundle: &Value, resource_type: &str) -> usize {
    bundle["entry"]
        .as_array()
        .and_then(|entries| entries.iter().position(|e| e["resource"]["resourceType"] == resource_type))
        .unwrap_or_else(|| panic!("the bundle has a {resource_type}"))
}

pub fn header(bundle: &mut Value) -> &mut Value {
    &mut bundle["entry"][0]["resource"]
}

pub fn identifier_ref(system: &str, value: &str) -> Value {
    json!({ "identifier": { "system": system, "value": value } })
}

/// A `MessageHeader.destination` (R4 requires its endpoint).
pub fn destination(system: &str, value: &str, endpoint: &str) -> Value {
    json!({ "endpoint": endpoint, "receiver": identifier_ref(system, value) })
}

pub const GP_HEERLEN_MAILBOX: &str = "https://fhir.handover-broker.eu/mailbox/gp-heerlen";

/// Asserts the response is an OperationOutcome with this status, and returns it.
pub async fn outcome(response: reqwest::Response, status: u16) -> Value {
    assert_eq!(response.status().as_u16(), status, "unexpected status");
    let content_type = response.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert!(content_type.starts_with(FHIR_JSON), "content type {content_type}");
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(body["resourceType"], "OperationOutcome", "body: {body}");
    assert!(!body["issue"].as_array().expect("issues").is_empty());
    body
}

/// All issue diagnostics and expressions, for assertions.
pub fn issues_text(outcome: &Value) -> String {
    outcome["issue"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|i| format!("{} {} {}", i["code"], i["diagnostics"], i["expression"]))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The tracking id in an acknowledgement.
pub fn tracking_id(ack: &Value) -> TrackingId {
    let text = ack["entry"][0]["resource"]["extension"][0]["valueId"].as_str().expect("tracking id extension");
    TrackingId::parse(text).expect("a tracking id is a UUID")
}

/// A token for the hospital with `role`, issued through the store as `token issue --role ROLE` does.
pub async fn token_with_role(app: &TestApp, role: handover_broker::auth::Role) -> String {
    let hospital = handover_broker::model::OrgIdentifier::new(URA, "90000011").expect("identifier");
    handover_broker::auth::issue_token(&app.store, &hospital, role).await.expect("token issued").token
}

/// An `admin` token (the hospital's).
pub async fn admin_token(app: &TestApp) -> String {
    token_with_role(app, handover_broker::auth::Role::Admin).await
}

impl TestApp {
    /// POSTs `body` as FHIR JSON to `path`.
    pub async fn post_json(&self, token: Option<&str>, path: &str, body: &Value) -> reqwest::Response {
        self.post_fhir_bytes(token, path, serde_json::to_vec(body).expect("json")).await
    }

    /// POSTs `body` to `path` labelled as FHIR JSON, whatever the bytes are (hostile-input tests).
    pub async fn post_fhir_bytes(
        &self,
        token: Option<&str>,
        path: &str,
        body: impl Into<reqwest::Body>,
    ) -> reqwest::Response {
        let mut request = self.client.post(format!("{}{path}", self.base)).header("Content-Type", FHIR_JSON);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.body(body).send().await.expect("request sent")
    }

    pub async fn delete(&self, token: Option<&str>, path: &str) -> reqwest::Response {
        let mut request = self.client.delete(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.send().await.expect("request sent")
    }
}

/// The organisations of the demo directory file.
pub fn demo_organizations() -> Vec<handover_broker::model::Organization> {
    handover_broker::directory::read_bundle_file(&project_dir().join("fixtures/demo-directory.json"))
        .expect("the demo directory reads")
}

/// Imports `organizations` as the operator's command line does (no actor), local addresses allowed.
pub async fn import_directory(app: &TestApp, organizations: &[handover_broker::model::Organization]) {
    let local = handover_broker::address::TargetPolicy::new(true);
    handover_broker::directory::import(&app.store, organizations, None, local).await.expect("imported");
}

/// The broker over real TLS (rustls) with a certificate from a CA made here, and a client that trusts
/// that CA and nothing else.
pub async fn spawn_https_app() -> TestApp {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let ca_key = rcgen::KeyPair::generate().expect("CA key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("CA params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).expect("CA certificate");
    let key = rcgen::KeyPair::generate().expect("broker key");
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).expect("params");
    let cert = params.signed_by(&key, &ca, &ca_key).expect("broker certificate");
    let (cert_path, key_path) = (dir.path().join("broker.pem"), dir.path().join("broker.key"));
    std::fs::write(&cert_path, cert.pem()).expect("written");
    std::fs::write(&key_path, key.serialize_pem()).expect("written");
    let mut settings = test_settings(dir.path()).await;
    settings.tls = Some(handover_broker::config::TlsSettings::new(cert_path, key_path));
    let mut app = spawn_with(settings, dir).await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    app.client = reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).expect("CA PEM"))
        .build()
        .expect("client");
    app
}
