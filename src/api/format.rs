//! Content negotiation: FHIR JSON or FHIR XML for every answer.
//!
//! Handlers write FHIR JSON. [`negotiate`] (wrapped around every route) writes an
//! `application/fhir+json` answer as `application/fhir+xml` when the client asked for XML, so that
//! OperationOutcomes, acknowledgements, receipts, searchsets, AuditEvents and the CapabilityStatement
//! all follow one rule. What the client asked: `_format` first (FHIR's override for clients that cannot
//! set headers), then `Accept` (by quality), then, for a request with a FHIR body, the body's format;
//! otherwise JSON. A `_format` or an `Accept` naming neither format (and no wildcard) is 406.

use actix_web::body::{self, BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{web, HttpRequest, ResponseError};

use super::{ApiError, AppState, Given};
use crate::model::Format;

/// The format the client named (`_format`, then `Accept`); `None` when it named none (no header, or
/// only wildcards).
pub fn explicit(req: &HttpRequest) -> Result<Option<Format>, ApiError> {
    for (key, value) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        if key == "_format" {
            let shown = || Given::Value(value.chars().take(80).collect());
            return Format::from_format_parameter(&value).map(Some).ok_or_else(|| ApiError::NotAcceptable(shown()));
        }
    }
    let Some(accept) = req.headers().get(header::ACCEPT) else { return Ok(None) };
    let accept = accept.to_str().map_err(|_| ApiError::NotAcceptable(Given::NotAscii))?;
    from_accept(accept).map_err(|()| ApiError::NotAcceptable(Given::Value(accept.chars().take(80).collect())))
}

/// The answer's format: [`explicit`], else the format of the request's FHIR body, else JSON.
pub fn wanted(req: &HttpRequest) -> Result<Format, ApiError> {
    Ok(explicit(req)?.unwrap_or_else(|| body_format(req).unwrap_or_default()))
}

/// The format the request's `Content-Type` names, if any.
fn body_format(req: &HttpRequest) -> Option<Format> {
    req.headers().get(header::CONTENT_TYPE)?.to_str().ok().and_then(Format::from_media_type)
}

/// The best format of an `Accept` header: the supported media type of highest quality (the first
/// of equals); `Ok(None)` for wildcards only; `Err` when it accepts neither format.
fn from_accept(accept: &str) -> Result<Option<Format>, ()> {
    let mut best: Option<(f32, Option<Format>)> = None;
    for range in accept.split(',').map(str::trim).filter(|r| !r.is_empty()) {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let quality = parts
            .filter_map(|p| p.split_once('='))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("q"))
            .and_then(|(_, q)| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if quality <= 0.0 {
            continue;
        }
        let format = match media.as_str() {
            "*/*" | "application/*" => None,
            other => match Format::from_media_type(other) {
                Some(format) => Some(format),
                None => continue,
            },
        };
        if best.is_none_or(|(q, _)| quality > q) {
            best = Some((quality, format));
        }
    }
    best.map(|(_, format)| format).ok_or(())
}

/// The middleware: answers in the format [`wanted`]. Only `application/fhir+json` answers are
/// converted; others (NDJSON exports, metrics, OAuth's JSON, an answer a handler already wrote as
/// XML) pass as they are.
pub async fn negotiate(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let wanted = match wanted(req.request()) {
        Ok(format) => format,
        Err(e) => {
            let response = refusal_in_callers_language(req.request(), &e).await;
            return Ok(req.into_response(response));
        }
    };
    let converter = req.app_data::<web::Data<AppState>>().map(|state| state.xml.clone());
    let response = next.call(req).await?.map_into_boxed_body();
    let is_fhir_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(';').next().unwrap_or_default().trim() == Format::Json.media_type());
    let (Format::Xml, true, Some(converter)) = (wanted, is_fhir_json, converter) else {
        return Ok(response);
    };
    let (request, response) = response.into_parts();
    let (mut head, body) = response.into_parts();
    let json = body::to_bytes(body).await.map_err(|_| ApiError::Internal(anyhow::anyhow!("unreadable answer body")))?;
    match converter.write(&json) {
        Ok(xml) => {
            head.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(Format::Xml.media_type()));
            head.headers_mut().insert(header::VARY, HeaderValue::from_static("Accept"));
            Ok(ServiceResponse::new(request, head.set_body(BoxBody::new(xml))))
        }
        Err(e) => {
            // The broker's own JSON that its model cannot write: a defect, logged; the client still
            // gets the answer, in JSON (its Content-Type says so).
            tracing::error!(error = %e, "cannot write an answer as FHIR XML");
            Ok(ServiceResponse::new(request, head.set_body(BoxBody::new(json))))
        }
    }
}

/// `error`'s answer, its words in the caller's `Accept-Language`. A refusal of the format is written
/// here, outside the language middleware (which runs inside this one), so it is put in the caller's
/// language here, as that middleware would: `Content-Language` when the answer has words in it.
async fn refusal_in_callers_language(req: &HttpRequest, error: &ApiError) -> actix_web::HttpResponse {
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
    let lang = crate::i18n::Language::negotiate(None, accept);
    let (mut response, used) = crate::i18n::answering_in(lang, async { error.error_response() }).await;
    if accept.is_some() {
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Language"));
        if used {
            headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
        }
    }
    response
}

/// The format of a handover a receiver downloads: the one it asked for, else the one it registered in
/// the directory (`Endpoint.payloadMimeType`).
pub fn wanted_by_receiver(
    req: &HttpRequest,
    state: &AppState,
    caller: &crate::auth::Principal,
) -> Result<Format, ApiError> {
    let registered =
        || state.directory.snapshot().organizations().iter().find(|o| o.id == caller.org).map(|o| o.format);
    Ok(explicit(req)?.or_else(registered).unwrap_or_default())
}

/// `bytes` as the answer's body in `format`: JSON written as XML when XML is wanted. For handlers
/// that choose the format themselves (a mailbox download in the receiver's registered format).
pub fn body_in(
    state: &AppState,
    bytes: Vec<u8>,
    format: Format,
    wanted: Format,
) -> Result<(Vec<u8>, Format), ApiError> {
    if format == wanted || wanted == Format::Json {
        return Ok((bytes, format));
    }
    let xml = state.xml.write(&bytes).map_err(|e| ApiError::Internal(anyhow::anyhow!("cannot write as XML: {e}")))?;
    Ok((xml.into_bytes(), Format::Xml))
}

#[cfg(test)]
mod tests {
    use super::{from_accept, Format};

    #[test]
    fn accept_picks_the_supported_type_of_highest_quality() {
        assert_eq!(from_accept("application/fhir+xml"), Ok(Some(Format::Xml)));
        assert_eq!(from_accept("application/fhir+json;q=0.5, application/fhir+xml;q=0.9"), Ok(Some(Format::Xml)));
        assert_eq!(
            from_accept("text/html, application/xhtml+xml, application/xml;q=0.9, */*;q=0.8"),
            Ok(Some(Format::Xml))
        );
        assert_eq!(from_accept("*/*"), Ok(None));
        assert_eq!(from_accept("application/fhir+xml;q=0, application/json"), Ok(Some(Format::Json)));
        assert_eq!(from_accept("text/html"), Err(()));
        assert_eq!(from_accept("application/fhir+xml;q=0"), Err(()));
    }
}
