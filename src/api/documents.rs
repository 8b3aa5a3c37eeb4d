//! `POST /fhir/Bundle`: a FHIR document Bundle with its receivers in the query (issue 15), handed to the
//! `document` flow. Answered as `$process-message` is: 202 with the broker's acknowledgement and the
//! receipt's `Location`, 200 for an identical resend.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};

use super::handlers::submission;
use super::{ApiError, AppState, FHIR_JSON};
use crate::model::Format;

/// `POST /fhir/Bundle?receiver=system|value[&receiver=...][&event=]`: send a document.
pub async fn create_bundle(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, ApiError> {
    let (caller, body, format) = submission(&req, payload, &state).await?;
    // The document flow takes JSON: FHIR XML is read into it here; what cannot be read is refused
    // (and ledgered) as the flow's own refusals are.
    let body = match format {
        Format::Json => body,
        Format::Xml => match state.xml.read(&body) {
            Ok(json) => web::Bytes::from(json),
            Err(e) => {
                let received = crate::model::PayloadHash::of(&body);
                state.ingestor.record_refused(&caller, received, (None, None), "400 unreadable-xml").await;
                return Err(ApiError::BadRequest(vec![e.issue()]));
            }
        },
    };
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
