//! `/admin/...`: directory management for tokens with role `admin` (DESIGN.md section 4).
//!
//! | method and path                   | answer                                                     |
//! |-----------------------------------|------------------------------------------------------------|
//! | `GET /admin/organizations`        | JSON array of organisations                                |
//! | `GET /admin/organizations/{id}`   | one organisation (404 when unknown)                        |
//! | `DELETE /admin/organizations/{id}`| 204; 409 while messages or deliveries refer to it          |
//! | `GET /admin/directory`            | the directory as a FHIR `Bundle` (type `collection`)       |
//! | `POST /admin/directory`           | import a directory `Bundle`: `{"imported": N}`; 422 if invalid |
//!
//! A change applies to routing at once. Errors are `OperationOutcome`s like everywhere else.

use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::{json, Value};

use super::{ApiError, AppState, FHIR_JSON};
use crate::auth::Principal;
use crate::directory::{self, DirectoryError};
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::OrgId;
use crate::outcome::{Issue, IssueCode, Text};
use crate::time::Millis;

/// Registers the admin routes.
pub fn configure(cfg: &mut web::ServiceConfig) {
    let not_allowed = || web::to(super::handlers::method_not_allowed);
    cfg.service(web::resource("/admin/organizations").route(web::get().to(list)).default_service(not_allowed()))
        .service(
            web::resource("/admin/organizations/{id}")
                .route(web::get().to(get))
                .route(web::delete().to(delete))
                .default_service(not_allowed()),
        )
        .service(
            web::resource("/admin/directory")
                .route(web::get().to(export))
                .route(web::post().to(import))
                .default_service(not_allowed()),
        );
}

// Kept beside its only callers; the statuses follow the table in `error.rs` (422 invalid input,
// 404 unknown, 409 conflict, 503 store).
impl From<DirectoryError> for ApiError {
    fn from(e: DirectoryError) -> Self {
        match e {
            DirectoryError::NotJson(why) => Self::BadRequest(vec![Issue::says(
                IssueCode::Structure,
                Text::new("http-body-not-json").arg("detail", why),
            )]),
            DirectoryError::Invalid { expression, problem } => {
                Self::Unprocessable(vec![Issue::error(IssueCode::Invalid, problem).at(expression)])
            }
            DirectoryError::DuplicateIdentifier(identifier) => Self::Unprocessable(vec![Issue::says(
                IssueCode::Duplicate,
                Text::new("http-directory-duplicate-identifier").arg("identifier", identifier),
            )]),
            DirectoryError::DuplicateClientId(client) => Self::Unprocessable(vec![Issue::says(
                IssueCode::Duplicate,
                Text::new("http-directory-duplicate-client-id").arg("client", client),
            )]),
            DirectoryError::NotFound(id) => Self::NotFound(Text::new("directory-not-found").arg("id", id)),
            DirectoryError::InUse(id) => {
                Self::Conflict(Issue::says(IssueCode::Conflict, Text::new("directory-in-use").arg("id", id)))
            }
            DirectoryError::Store(e) => Self::from(e),
            e @ DirectoryError::Read { .. } => Self::Internal(e.into()),
        }
    }
}

/// The ledger entry of an administrator's read: the route, and the organisation read if one.
fn admin_read(caller: &Principal, req: &HttpRequest, org: Option<&OrgId>) -> LedgerRecord {
    LedgerRecord::new(LedgerEvent::AdminRead, Millis::now())
        .actor(caller.org.clone())
        .receiver(org.cloned())
        .outcome(format!("{} {}", req.method(), super::route(req)))
}

fn json_response(body: &Value) -> HttpResponse {
    HttpResponse::Ok().content_type("application/json").body(body.to_string())
}

/// `GET /admin/organizations`.
#[tracing::instrument(skip_all, fields(stage = "admin"))]
pub async fn list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    state.record(admin_read(&caller, &req, None)).await?;
    let organizations = state.store.organizations().await?;
    Ok(json_response(&Value::Array(organizations.iter().map(directory::json_view).collect())))
}

/// `GET /admin/organizations/{id}`.
#[tracing::instrument(skip_all, fields(stage = "admin"))]
pub async fn get(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let org = directory::organization(&state.store, &path.into_inner()).await?;
    state.record(admin_read(&caller, &req, Some(&org.id))).await?;
    Ok(json_response(&directory::json_view(&org)))
}

/// `DELETE /admin/organizations/{id}`: 204, or 409 while messages or deliveries refer to it.
#[tracing::instrument(skip_all, fields(stage = "admin", org))]
pub async fn delete(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let id = path.into_inner();
    directory::remove(&state.store, &id, Some(&caller.org)).await?;
    state.directory.refresh().await?;
    tracing::Span::current().record("org", id.as_str());
    tracing::info!(by = %caller.org, "organisation removed from the directory");
    Ok(HttpResponse::NoContent().finish())
}

/// `GET /admin/directory`: the FHIR export.
#[tracing::instrument(skip_all, fields(stage = "admin"))]
pub async fn export(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    state.record(admin_read(&caller, &req, None)).await?;
    let bundle = directory::export(&state.store).await?;
    let body = serde_json::to_vec(&bundle).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body))
}

/// `POST /admin/directory`: imports (inserts or replaces by id) the organisations of a directory Bundle,
/// all or none.
#[tracing::instrument(skip_all, fields(stage = "admin", imported))]
pub async fn import(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body) = super::handlers::authorized_body(&req, payload, &state, usize::MAX).await?;
    let organizations = directory::organizations_from_bundle(&body)?;
    let imported = directory::import(&state.store, &organizations, Some(&caller.org), state.targets).await?;
    state.directory.refresh().await?;
    tracing::Span::current().record("imported", imported);
    tracing::info!(by = %caller.org, "directory imported");
    Ok(json_response(&json!({ "imported": imported })))
}
