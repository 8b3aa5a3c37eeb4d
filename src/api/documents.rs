//! `POST /fhir/Bundle`: a FHIR document Bundle with its receivers in the query (issue 15), handed to the
//! `document` flow. Answered as `$process-message` is: 202 with the broker's acknowledgement and the
//! receipt's `Location`, 200 for an identical resend.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::handlers::authorized_body;
use super::{ApiError, AppState, FHIR_JSON};

/// `POST /fhir/Bundle?receiver=system|value[&receiver=...][&event=]`: send a document.
pub async fn create_bundle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body) = authorized_body(&req, payload, &state, usize::MAX).await?;
    let query: Vec<(String, String)> =
        url::form_urlencoded::parse(req.query_string().as_bytes()).into_owned().collect();
    let flow =
        crate::document::Flow { ingestor: &state.ingestor, directory: &state.directory, base_url: &state.base_url };
    let accepted = crate::document::submit(&flow, &caller, &query, body).await?;
    let status = if accepted.duplicate { StatusCode::OK } else { StatusCode::ACCEPTED };
    Ok(HttpResponse::build(status)
        .content_type(FHIR_JSON)
        .insert_header((header::LOCATION, format!("/fhir/receipts/{}", accepted.tracking_id)))
        .body(accepted.ack))
}
