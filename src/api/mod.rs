//! The HTTP edge: authenticates, reads bodies within limits, calls the stages and writes FHIR JSON.
//!
//! Architecture invariant: `api` holds no SQL and no business rules. It maps each request to one stage
//! call and each error to one answer (see [`error`]). Stages never import `api`.

mod admin;
pub mod authz;
mod body;
mod documents;
pub mod error;
pub mod format;
mod handlers;
pub mod language;
mod oauth;
pub mod pages;
mod tasks;
mod telemetry;
pub mod throttle;

use std::sync::Arc;

use actix_web::web;

pub use error::{outcome_body, outcome_body_in, ApiError, Given, FHIR_JSON};
pub use telemetry::QuietRootSpan;

use crate::auth::{Authenticator, Principal, Role};
use crate::ingest::Ingestor;
use crate::store::Store;

/// Everything handlers need; shared by all workers.
pub struct AppState {
    pub ingestor: Ingestor,
    pub auth: Authenticator,
    /// SMART Backend Services: the token endpoint's checks and issuance.
    pub smart: crate::auth::smart::Smart,
    pub store: Store,
    /// The CapabilityStatement, built once at start (profiles do not change while running).
    pub metadata: Arc<Vec<u8>>,
    pub metrics: Arc<crate::metrics::Metrics>,
    /// The routing snapshot of this process, refreshed at once after an admin change.
    pub directory: crate::directory::Directory,
    pub mailbox: crate::mailbox::Mailbox,
    /// `http(s)://host:port` as clients reach it, for links.
    pub base_url: String,
    /// Turns auditors' patient identifiers into the ledger's patient keys.
    pub patient_keys: crate::ledger::patient::PatientKeys,
    /// Where pushes may go: checked on every directory import.
    pub targets: crate::address::TargetPolicy,
    /// Requests per organisation.
    pub throttle: throttle::Throttle,
    /// Bed capacity reports and the region's reads.
    pub capacity: crate::capacity::Capacity,
    /// FHIR XML for answers in XML (content negotiation, [`format`]).
    pub xml: Arc<crate::fhirxml::Converter>,
    /// Notified Pull receivers: their Tasks, documents and Task updates.
    pub tasks: crate::notified::Tasks,
    /// Handover quality reports.
    pub quality: crate::quality::Quality,
}

impl AppState {
    /// Appends a ledger entry of a privileged action before it is answered: an action that cannot be
    /// recorded is not done (503).
    pub(crate) async fn record(&self, entry: crate::ledger::LedgerRecord) -> Result<(), ApiError> {
        Ok(self.store.writer().append_ledger(vec![entry]).await?)
    }

    /// The authenticated caller of a route that needs a role, by the authorization table.
    pub(crate) async fn authorize(&self, req: &actix_web::HttpRequest) -> Result<Principal, ApiError> {
        match who(req) {
            Some(authz::Who::Role(role)) => self.caller(req, std::slice::from_ref(&role)).await,
            Some(authz::Who::AnyRole(roles)) => self.caller(req, roles).await,
            // A public route has no caller to give; a route missing from the table is refused.
            Some(authz::Who::Anyone) | None => {
                tracing::error!(route = %route(req), "route without a role rule in the authorization table");
                Err(ApiError::Internal(anyhow::anyhow!("route missing from the authorization table")))
            }
        }
    }

    /// Checks that a route the handler serves without credentials is public in the table.
    pub(crate) fn public(&self, req: &actix_web::HttpRequest) -> Result<(), ApiError> {
        match who(req) {
            Some(authz::Who::Anyone) => Ok(()),
            _ => Err(ApiError::Internal(anyhow::anyhow!("route is not public in the authorization table"))),
        }
    }

    /// The caller, who must hold one of `roles`.
    async fn caller(&self, req: &actix_web::HttpRequest, roles: &[Role]) -> Result<Principal, ApiError> {
        let header = req.headers().get(actix_web::http::header::AUTHORIZATION);
        let header =
            header.map(|h| h.to_str().map_err(|_| ApiError::Unauthorized(crate::outcome::Text::new("auth-not-ascii"))));
        // A page (issue 16) also takes the session cookie that `/login` set; the API never does.
        let session = match header {
            None => pages::session_token(req).map(|token| format!("Bearer {token}")),
            Some(_) => None,
        };
        let header = header.or_else(|| session.as_deref().map(Ok));
        // The client certificate that the listener verified for this connection (mTLS), if any.
        let certificate = req.conn_data::<crate::auth::certificate::PeerCertificate>();
        let principal = self.auth.authenticate_caller(header.transpose()?, certificate).await?;
        if let Err(wait) = self.throttle.check(&principal.org) {
            return Err(ApiError::TooManyRequests {
                why: crate::outcome::Text::new("http-over-rate"),
                retry_after_secs: wait.as_secs_f64().ceil() as u64,
            });
        }
        if !roles.contains(&principal.role) {
            let role = roles.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(" or ");
            // Refused access is an event of the ledger too, with who tried and the route's pattern: never
            // the path or query the caller wrote, which would let any token holder write into the ledger.
            let denied = crate::ledger::LedgerRecord::denied(
                &principal.org,
                format!("403 {} {} needs role {role}", req.method(), route(req)),
            );
            if let Err(e) = self.store.writer().append_ledger(vec![denied]).await {
                tracing::error!(error = ?e, "cannot write the ledger entry of a refused request");
            }
            return Err(ApiError::Forbidden(vec![crate::outcome::Issue::says(
                crate::outcome::IssueCode::Forbidden,
                wrong_role(roles, principal.role),
            )]));
        }
        Ok(principal)
    }
}

/// The refusal of a token whose role does not fit: the roles that would (a route names at most three;
/// more are joined in English in the third), and the token's.
fn wrong_role(roles: &[Role], has: Role) -> crate::outcome::Text {
    let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
    crate::outcome::Text::new("http-wrong-role")
        .num("count", names.len())
        .arg("first", names.first().copied().unwrap_or_default())
        .arg("second", names.get(1).copied().unwrap_or_default())
        .arg("third", names.get(2..).map(|rest| rest.join(" or ")).unwrap_or_default())
        .arg("has", has)
}

/// The pattern of the route a request matched (`/admin/organizations/{id}`), never its path: the
/// broker's own text, safe to log and to ledger.
pub(crate) fn route(req: &actix_web::HttpRequest) -> String {
    req.match_pattern().unwrap_or_else(|| "(no route)".to_owned())
}

/// Who may call the route a request matched, by the authorization table (`None`: not in it).
fn who(req: &actix_web::HttpRequest) -> Option<authz::Who> {
    authz::rule_for(req.method().as_str(), &route(req)).map(|rule| rule.who)
}

/// Registers every route.
pub fn configure(cfg: &mut web::ServiceConfig) {
    use handlers::*;
    let not_allowed = || web::to(method_not_allowed);
    cfg.service(web::resource("/fhir/metadata").route(web::get().to(metadata)).default_service(not_allowed()))
        .service(
            web::resource("/fhir/$process-message")
                .route(web::post().to(process_message))
                .default_service(not_allowed()),
        )
        .service(web::resource("/fhir/$validate").route(web::post().to(validate)).default_service(not_allowed()))
        .service(
            web::resource("/fhir/receipts/{tracking_id}").route(web::get().to(receipt)).default_service(not_allowed()),
        )
        .service(web::resource("/healthz").route(web::get().to(healthz)).default_service(not_allowed()))
        .service(web::resource("/readyz").route(web::get().to(readyz)).default_service(not_allowed()))
        .service(web::resource("/fhir/mailbox").route(web::get().to(mailbox_list)).default_service(not_allowed()))
        .service(web::resource("/fhir/$forward").route(web::post().to(message_forward)).default_service(not_allowed()))
        .service(
            web::resource("/fhir/mailbox/{id}/$forward")
                .route(web::post().to(mailbox_forward))
                .default_service(not_allowed()),
        )
        .service(
            web::resource("/fhir/mailbox/{id}/$acknowledge")
                .route(web::post().to(mailbox_acknowledge))
                .default_service(not_allowed()),
        )
        .service(web::resource("/fhir/mailbox/{id}").route(web::get().to(mailbox_read)).default_service(not_allowed()))
        .service(
            web::resource("/fhir/MeasureReport")
                .route(web::post().to(capacity_report))
                .route(web::get().to(capacity_latest))
                .default_service(not_allowed()),
        )
        .service(
            web::resource("/fhir/MeasureReport/$region-summary")
                .route(web::get().to(capacity_summary))
                .default_service(not_allowed()),
        )
        .service(
            web::resource("/fhir/Measure/handover-quality/$evaluate-measure")
                .route(web::get().to(handlers::quality_report))
                .default_service(not_allowed()),
        )
        .service(web::resource("/fhir/AuditEvent").route(web::get().to(audit_events)).default_service(not_allowed()))
        .service(web::resource("/ledger/verify").route(web::get().to(ledger_verify)).default_service(not_allowed()))
        .service(web::resource("/metrics").route(web::get().to(metrics)).default_service(not_allowed()))
        .service(
            web::resource("/fhir/Bundle")
                .route(web::post().to(documents::create_bundle))
                .default_service(not_allowed()),
        )
        .configure(admin::configure)
        .configure(oauth::configure)
        .configure(tasks::configure)
        .configure(pages::configure)
        .default_service(web::to(not_found));
}
