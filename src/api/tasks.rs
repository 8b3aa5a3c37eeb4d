//! The Notified Pull routes (issue 15): a receiver's workflow Tasks, its handovers as documents and
//! messages, and its Task updates. One `notified::Tasks` call each.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};

use super::body::read_limited;
use super::{ApiError, AppState, FHIR_JSON};
use crate::notified::{Body, Form, SearchParams, TaskAnswer, MAX_UPDATE_BYTES};

/// The media type of a JSON Patch (RFC 6902).
const JSON_PATCH: &str = "application/json-patch+json";

pub(super) fn configure(cfg: &mut web::ServiceConfig) {
    let not_allowed = || web::to(super::handlers::method_not_allowed);
    cfg.service(web::resource("/fhir/Task").route(web::get().to(search)).default_service(not_allowed()))
        .service(
            web::resource("/fhir/Task/{id}")
                .route(web::get().to(read))
                .route(web::put().to(put))
                .route(web::patch().to(patch))
                .default_service(not_allowed()),
        )
        .service(
            web::resource("/fhir/Composition/{id}/$document")
                .route(web::get().to(document))
                .default_service(not_allowed()),
        )
        .service(web::resource("/fhir/Bundle/{id}").route(web::get().to(message)).default_service(not_allowed()));
}

/// A Task with its version as `ETag` (and `Last-Modified` is in `meta`).
fn task_response(task: TaskAnswer) -> HttpResponse {
    HttpResponse::Ok()
        .content_type(FHIR_JSON)
        .insert_header((header::ETAG, format!("W/\"{}\"", task.version)))
        .body(task.body)
}

/// `GET /fhir/Task/{id}`: the caller's workflow Task.
pub async fn read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    Ok(task_response(state.tasks.read(&caller, &path.into_inner()).await?))
}

/// `GET /fhir/Task?status=&_lastUpdated=&_count=`: the caller's Tasks.
pub async fn search(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let mut params = SearchParams::default();
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        match key.as_ref() {
            "status" => params.status.push(value.into_owned()),
            "_lastUpdated" => params.last_updated.push(value.into_owned()),
            "_count" => params.count = Some(value.into_owned()),
            // Other parameters (e.g. `_format`) do not change the answer.
            _ => {}
        }
    }
    let body = state.tasks.search(&caller, &params).await?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body))
}

/// `GET /fhir/Composition/{tracking-id}/$document`: the handover as a FHIR document.
pub async fn document(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    handover(req, path, state, Form::Document).await
}

/// `GET /fhir/Bundle/{tracking-id}`: the message exactly as accepted.
pub async fn message(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    handover(req, path, state, Form::Message).await
}

/// A handover in `form`, in the format the receiver wants.
async fn handover(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
    form: Form,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let wanted = super::format::wanted_by_receiver(&req, &state, &caller)?;
    let (body, format) = state.tasks.handover(&caller, &path.into_inner(), form, wanted).await?;
    let (body, format) = super::format::body_in(&state, body, format, wanted)?;
    Ok(HttpResponse::Ok().content_type(format.media_type()).body(body))
}

fn if_match(req: &HttpRequest) -> Result<Option<String>, ApiError> {
    req.headers()
        .get(header::IF_MATCH)
        .map(|v| {
            v.to_str().map(str::to_owned).map_err(|_| {
                ApiError::BadRequest(vec![crate::outcome::Issue::says(
                    crate::outcome::IssueCode::Value,
                    crate::outcome::Text::new("task-if-match-not-ascii"),
                )])
            })
        })
        .transpose()
}

/// `PUT /fhir/Task/{id}`: the whole Task, only its status, businessStatus and statusReason changed.
pub async fn put(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body) = super::handlers::authorized_body(&req, payload, &state, MAX_UPDATE_BYTES).await?;
    let tag = if_match(&req)?;
    let task = state.tasks.update(&caller, &path.into_inner(), Body::Put(&body), tag.as_deref()).await?;
    Ok(task_response(task))
}

/// `PATCH /fhir/Task/{id}`: a JSON Patch (`application/json-patch+json`) of `/status`,
/// `/businessStatus` and `/statusReason`.
pub async fn patch(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let essence = content_type.unwrap_or_default().split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if essence != JSON_PATCH {
        let found = content_type.map_or(super::Given::Nothing, |t| super::Given::Value(t.chars().take(80).collect()));
        return Err(ApiError::UnsupportedMediaType(found));
    }
    let limits = state.ingestor.limits();
    let body = read_limited(&req, payload, limits.max_body_bytes.min(MAX_UPDATE_BYTES), limits.body_timeout()).await?;
    let tag = if_match(&req)?;
    let task = state.tasks.update(&caller, &path.into_inner(), Body::Patch(&body), tag.as_deref()).await?;
    Ok(task_response(task))
}
