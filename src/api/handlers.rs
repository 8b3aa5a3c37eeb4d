//! Request handlers: one stage call each.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::body::{check_media_type, read_limited};
use super::{ApiError, AppState, FHIR_JSON};
use crate::auth::Principal;
use crate::model::Format;
use crate::outcome::{Issue, IssueCode, Severity, Text};

/// The caller and the body of a FHIR post: authenticated first, then media type, then size (at most
/// `limit`, and never more than `limits.max_body_bytes`).
/// A FHIR XML body is read into its JSON here, for flows that take JSON.
pub(super) async fn authorized_body(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    limit: usize,
) -> Result<(Principal, web::Bytes), ApiError> {
    let (caller, body, format) = authorized_raw(req, payload, state, limit).await?;
    match format {
        Format::Json => Ok((caller, body)),
        Format::Xml => match state.xml.read(&body) {
            Ok(json) => Ok((caller, web::Bytes::from(json))),
            Err(e) => Err(ApiError::BadRequest(vec![e.issue()])),
        },
    }
}

/// [`authorized_body`] as received, with the format its `Content-Type` names.
async fn authorized_raw(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    limit: usize,
) -> Result<(Principal, web::Bytes, Format), ApiError> {
    let caller = state.authorize(req).await?;
    let (body, format) = read_raw(req, payload, state, limit).await?;
    Ok((caller, body, format))
}

/// A post's body and the format its `Content-Type` names: media type first, then size (at most
/// `limit`, and never more than `limits.max_body_bytes`).
async fn read_raw(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
    limit: usize,
) -> Result<(web::Bytes, Format), ApiError> {
    let format = check_media_type(req)?;
    let limits = state.ingestor.limits();
    let body = read_limited(req, payload, limits.max_body_bytes.min(limit), limits.body_timeout()).await?;
    Ok((body, format))
}

/// A submission as received (ingest keeps the exact bytes, XML too), up to the body limit: a message
/// post or a document. Once the caller is known, a refusal at the edge (media type, size, time, a
/// broken stream) is ledgered like every refusal after it, so that no refused submission goes
/// unrecorded; a post without valid credentials is not a submission of anyone's.
pub(super) async fn submission(
    req: &HttpRequest,
    payload: web::Payload,
    state: &AppState,
) -> Result<(Principal, web::Bytes, Format), ApiError> {
    let caller = state.authorize(req).await?;
    match read_raw(req, payload, state, usize::MAX).await {
        Ok((body, format)) => Ok((caller, body, format)),
        Err(refused) => {
            state.ingestor.record_refused_unread(&caller, &refused.edge_outcome()).await;
            Err(refused)
        }
    }
}

/// `POST /fhir/$process-message[?async=true]`: submit a handover.
///
/// Always asynchronous in FHIR's sense: the answer is the broker's acknowledgement (202, or 200 for an
/// identical resubmission); delivery follows, and its receipts at `Location`.
pub async fn process_message(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body, format) = submission(&req, payload, &state).await?;
    let accepted = state.ingestor.submit(&caller, body, format).await?;
    let status = if accepted.duplicate { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok(HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .insert_header((header::LOCATION, format!("/fhir/receipts/{}", accepted.tracking_id)))
        .body(accepted.ack))
}

/// `POST /fhir/$validate`: the checks of `$process-message` as a dry run. 200 with an OperationOutcome
/// listing every issue (or one informational issue when there is none); nothing is stored.
pub async fn validate(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body, format) = authorized_raw(&req, payload, &state, usize::MAX).await?;
    let mut issues = state.ingestor.check(&caller, body, format);
    if issues.is_empty() {
        issues.push(
            Issue::says(IssueCode::Informational, Text::new("http-validate-complete")).severity(Severity::Information),
        );
    }
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(super::error::outcome_body(&issues)))
}

/// `GET /fhir/receipts/{tracking-id}`: the sender's view of one message.
pub async fn receipt(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let directory = state.directory.snapshot();
    let body = crate::receipts::receipt(&state.store, &directory, &caller, &path.into_inner()).await?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body))
}

/// `GET /fhir/mailbox?_count=&_cursor=&_since=&event=&_wait=&_total=`: the caller's waiting messages.
pub async fn mailbox_list(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let mut params = crate::mailbox::ListParams::default();
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        let slot = match key.as_ref() {
            "_count" => &mut params.count,
            "_cursor" => &mut params.cursor,
            "_since" => &mut params.since,
            "event" => &mut params.event,
            "_wait" => &mut params.wait,
            "_total" => &mut params.total,
            // Other parameters (e.g. `_format`) do not change the answer.
            _ => continue,
        };
        *slot = Some(value.into_owned());
    }
    let body = state.mailbox.list(&caller, &params, &state.base_url).await?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body))
}

/// `GET /fhir/mailbox/{id}`: one waiting (or acknowledged) message, exactly as accepted.
pub async fn mailbox_read(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let wanted = super::format::wanted_by_receiver(&req, &state, &caller)?;
    let (body, format) = state.mailbox.read_in(&caller, &path.into_inner(), wanted).await?;
    let (body, format) = super::format::body_in(&state, body, format, wanted)?;
    Ok(HttpResponse::Ok().content_type(format.media_type()).body(body))
}

/// `POST /fhir/mailbox/{id}/$acknowledge`: 200 with an OperationOutcome, the first time and every time.
pub async fn mailbox_acknowledge(
    req: HttpRequest,
    path: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let changed = state.mailbox.acknowledge(&caller, &path.into_inner()).await?;
    let text = Text::new(if changed { "mailbox-acknowledged" } else { "mailbox-already-acknowledged" });
    let issues = [Issue::says(IssueCode::Informational, text).severity(Severity::Information)];
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(super::error::outcome_body(&issues)))
}

/// `POST /fhir/mailbox/{id}/$forward` (triage point): pass a request from the mailbox on; the answer is
/// the forwarded message's acknowledgement, as `$process-message` gives it.
pub async fn mailbox_forward(
    req: HttpRequest,
    path: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let id = path.into_inner();
    forward(req, payload, state, crate::forward::Source::Mailbox(&id)).await
}

/// `POST /fhir/$forward` (triage point): the same for a message pushed to it, named by `tracking-id`.
pub async fn message_forward(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    forward(req, payload, state, crate::forward::Source::Message).await
}

async fn forward(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
    source: crate::forward::Source<'_>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body) = authorized_body(&req, payload, &state, usize::MAX).await?;
    let request = crate::forward::Request::from_parameters(&body)?;
    let flow = crate::forward::Flow {
        ingestor: &state.ingestor,
        settler: state.ingestor.settler(),
        directory: &state.directory,
        base_url: &state.base_url,
    };
    let accepted = crate::forward::forward(&flow, &caller, source, &request).await?;
    let mut status = if accepted.duplicate { HttpResponse::Ok() } else { HttpResponse::Accepted() };
    Ok(status
        .content_type(FHIR_JSON)
        .insert_header((header::LOCATION, format!("/fhir/receipts/{}", accepted.tracking_id)))
        .body(accepted.ack))
}

/// The largest capacity report accepted (and never more than `limits.max_body_bytes`): 50 groups of
/// three populations are a few kilobytes.
const MAX_CAPACITY_BODY: usize = 256 * 1024;

/// `POST /fhir/MeasureReport`: a provider reports its bed capacity. 201 with the stored report.
pub async fn capacity_report(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body) = authorized_body(&req, payload, &state, MAX_CAPACITY_BODY).await?;
    let stored = state.capacity.report(&caller, &body).await?;
    Ok(HttpResponse::Created().content_type(FHIR_JSON).body(stored))
}

/// `GET /fhir/MeasureReport?measure=`: the latest bed capacity per organisation the caller may read.
pub async fn capacity_latest(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let body = state.capacity.latest(&caller, &params, &state.base_url).await?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body))
}

/// `GET /fhir/MeasureReport/$region-summary`: the region's bed capacity per care type.
pub async fn capacity_summary(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let body = state.capacity.summary(&caller, &params).await?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body))
}

/// `GET /fhir/Measure/handover-quality/$evaluate-measure`: how handovers went (issue 16).
pub async fn quality_report(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let body = state.quality.evaluate(&caller, &params).await?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body))
}

/// `GET /fhir/AuditEvent`: the ledger, searched by an auditor; or, for a patient portal, one patient's
/// handovers in plain words.
pub async fn audit_events(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    let params: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let snapshot = state.directory.snapshot();
    if caller.role == crate::auth::Role::PatientPortal {
        let accept = req.headers().get(actix_web::http::header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
        let lang = crate::i18n::Language::negotiate(None, accept);
        let words = move |h: &crate::audit::patient::Handover, sender: &str, receiver: &str| {
            crate::audit::patient::in_words(lang, h, sender, receiver)
        };
        let answer =
            crate::audit::patient::search(&state.store, &caller, &params, &snapshot, &state.patient_keys, &words)
                .await?;
        let body = serde_json::to_vec(&answer).map_err(|e| ApiError::Internal(e.into()))?;
        return Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(body));
    }
    let answer =
        crate::audit::search(&state.store, &caller, &params, &snapshot, &state.patient_keys, &state.base_url).await?;
    let json = params.iter().any(|(name, value)| name == "_format" && value == "json");
    let body = serde_json::to_vec(&answer).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().content_type(if json { "application/json" } else { FHIR_JSON }).body(body))
}

/// `GET /ledger/verify` (auditor): the hash chain recomputed.
pub async fn ledger_verify(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    let caller = state.authorize(&req).await?;
    state.record(crate::audit::verify::question(&caller)).await?;
    let verification = crate::audit::verify(&state.store, None).await?;
    let body = serde_json::to_vec(&verification).map_err(|e| ApiError::Internal(e.into()))?;
    Ok(HttpResponse::Ok().content_type("application/json").body(body))
}

/// `GET /fhir/metadata`: the CapabilityStatement.
pub async fn metadata(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.public(&req)?;
    Ok(HttpResponse::Ok().content_type(FHIR_JSON).body(state.metadata.as_ref().clone()))
}

/// `GET /healthz`: the process runs.
pub async fn healthz(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.public(&req)?;
    Ok(HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ok"}"#))
}

/// `GET /readyz`: the database answers.
pub async fn readyz(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.public(&req)?;
    state.store.ping().await?;
    Ok(HttpResponse::Ok().content_type("application/json").body(r#"{"status":"ready"}"#))
}

/// `GET /metrics` (admin): Prometheus text. Queue depths per organisation are the operator's business.
pub async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, ApiError> {
    state.authorize(&req).await?;
    let text = state.metrics.render(&state.store).await?;
    Ok(HttpResponse::Ok().content_type("application/openmetrics-text; version=1.0.0; charset=utf-8").body(text))
}

pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(crate::outcome::Text::new("http-no-such-endpoint")))
}

pub async fn method_not_allowed() -> Result<HttpResponse, ApiError> {
    Err(ApiError::MethodNotAllowed)
}
