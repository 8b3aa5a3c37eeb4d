//! SMART Backend Services at the edge: `GET /.well-known/smart-configuration` (discovery) and
//! `POST /oauth/token` (client credentials with a JWT client assertion), both public in the
//! authorization table: the assertion is the credential. The checks are `auth::smart`'s; this reads the
//! form within its limits, counts the request against the organisation the assertion names (rate
//! limit, before the signature is checked), and answers in OAuth 2.0's JSON (RFC 6749 sections 5.1 and
//! 5.2), never an OperationOutcome: token clients read `error`.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};

use super::body::read_limited;
use super::{ApiError, AppState};
use crate::auth::smart::{SmartError, TokenForm};

/// The largest token request body: an assertion signed with an 8192-bit key and a few scopes fit.
pub const MAX_FORM_BYTES: usize = 8 * 1024;

pub fn configure(cfg: &mut web::ServiceConfig) {
    let not_allowed = || web::to(super::handlers::method_not_allowed);
    cfg.service(
        web::resource("/.well-known/smart-configuration")
            .route(web::get().to(smart_configuration))
            .default_service(not_allowed()),
    )
    .service(web::resource("/oauth/token").route(web::post().to(token)).default_service(not_allowed()));
}

/// `GET /.well-known/smart-configuration`: what a SMART client needs to find the token endpoint.
async fn smart_configuration(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.public(&req)?;
    let body = serde_json::to_vec(&state.smart.configuration()).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

/// `POST /oauth/token`: an access token for a client that proves it holds a registered key.
async fn token(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    state.public(&req)?;
    check_form_type(&req)?;
    let body = read_limited(&req, payload, MAX_FORM_BYTES, state.ingestor.limits().body_timeout()).await?;
    let result = async {
        let claimant = state.smart.claimant(TokenForm::parse(&body)?)?;
        if let Err(wait) = state.throttle.check(&claimant.org) {
            return Err(OAuthError::Api(ApiError::TooManyRequests {
                why: crate::outcome::Text::new("http-over-rate"),
                retry_after_secs: wait.as_secs_f64().ceil() as u64,
            }));
        }
        Ok(state.smart.grant(claimant).await?)
    }
    .await;
    let grant = match result {
        Ok(grant) => grant,
        Err(OAuthError::Smart(e)) => {
            refused(&req, &state, &e).await;
            return Err(OAuthError::Smart(e));
        }
        Err(other) => return Err(other),
    };
    tracing::info!(org = %grant.org, role = %grant.role, "SMART access token issued");
    let body = serde_json::json!({
        "access_token": grant.access_token,
        "token_type": "bearer",
        "expires_in": grant.expires_in,
        "scope": grant.scope,
    });
    Ok(HttpResponse::Ok()
        .content_type("application/json")
        // RFC 6749 section 5.1: a token response is never cached.
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .insert_header((header::PRAGMA, "no-cache"))
        .body(body.to_string()))
}

/// Ledgers (or, when it names no registered client, logs) a refused token request.
async fn refused(req: &HttpRequest, state: &AppState, error: &SmartError) {
    let route = super::route(req);
    match error.denied_entry(req.method().as_str(), &route) {
        Some(entry) => {
            if let Err(e) = state.store.writer().append_ledger(vec![entry]).await {
                tracing::error!(error = ?e, "cannot write the ledger entry of a refused token request");
            }
        }
        None => tracing::warn!(route = %route, refusal = %error, "token request refused"),
    }
}

/// `Content-Type` must be `application/x-www-form-urlencoded` (RFC 6749 section 4.4.2), optionally
/// with a charset parameter.
fn check_form_type(req: &HttpRequest) -> Result<(), OAuthError> {
    let essence = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|v| v.trim().to_ascii_lowercase());
    if essence.as_deref() != Some("application/x-www-form-urlencoded") {
        return Err(SmartError::InvalidRequest("the body must be application/x-www-form-urlencoded").into());
    }
    Ok(())
}

/// A token endpoint error, answered as OAuth 2.0 error JSON.
#[derive(Debug, thiserror::Error)]
enum OAuthError {
    #[error(transparent)]
    Smart(#[from] SmartError),
    /// A failure of the edge itself (body limits, rate, a misconfigured route).
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl OAuthError {
    /// Status, `error` and `error_description`.
    fn answer(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::Smart(e) => {
                let status = match e {
                    SmartError::InvalidClient { .. } => StatusCode::UNAUTHORIZED,
                    SmartError::Store(_) => StatusCode::SERVICE_UNAVAILABLE,
                    SmartError::Issue(_) => StatusCode::INTERNAL_SERVER_ERROR,
                    _ => StatusCode::BAD_REQUEST,
                };
                (status, e.code(), e.description())
            }
            Self::Api(ApiError::PayloadTooLarge(limit)) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "invalid_request",
                format!("the request body is larger than the limit of {limit} bytes"),
            ),
            Self::Api(ApiError::RequestTimeout) => (
                StatusCode::REQUEST_TIMEOUT,
                "invalid_request",
                "the request body did not arrive within the time allowed".to_owned(),
            ),
            Self::Api(ApiError::TooManyRequests { why, .. }) => {
                (StatusCode::TOO_MANY_REQUESTS, "temporarily_unavailable", why.to_string())
            }
            Self::Api(ApiError::BadRequest(_)) => {
                (StatusCode::BAD_REQUEST, "invalid_request", "the request body could not be read".to_owned())
            }
            Self::Api(ApiError::Unavailable(_)) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "temporarily_unavailable",
                "the broker cannot reach its database; retry later".to_owned(),
            ),
            Self::Api(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "server_error",
                "internal error; the broker's log has the details".to_owned(),
            ),
        }
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.answer().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, error, description) = self.answer();
        if status.is_server_error() {
            tracing::error!(error = ?self, status = status.as_u16(), "token request failed");
        }
        let mut response = HttpResponse::build(status);
        response.content_type("application/json").insert_header((header::CACHE_CONTROL, "no-store"));
        match self {
            Self::Api(ApiError::TooManyRequests { retry_after_secs, .. }) => {
                response.insert_header((header::RETRY_AFTER, (*retry_after_secs).max(1).to_string()));
            }
            Self::Smart(SmartError::Store(_)) | Self::Api(ApiError::Unavailable(_)) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response.body(serde_json::json!({ "error": error, "error_description": description }).to_string())
    }
}
