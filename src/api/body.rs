//! Reading a FHIR JSON request body: media type first, then size, without buffering past the limit.

use actix_web::http::header;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::HttpRequest;
use futures_util::StreamExt;

use super::{ApiError, Given};
use crate::model::Format;

/// How much of an oversized body is read and discarded so that the client, still sending, gets to read
/// the 413 instead of a connection reset. Past this the connection is simply closed.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

/// Checks `Content-Type` and returns the format it names: `application/fhir+json` or
/// `application/json`, `application/fhir+xml`, `application/xml` or `text/xml`, optionally
/// `charset=utf-8`.
pub fn check_media_type(req: &HttpRequest) -> Result<Format, ApiError> {
    let Some(value) = req.headers().get(header::CONTENT_TYPE) else {
        return Err(ApiError::UnsupportedMediaType(Given::Nothing));
    };
    let value = value.to_str().map_err(|_| ApiError::UnsupportedMediaType(Given::NotAscii))?;
    let shown = || Given::Value(value.chars().take(80).collect());
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
    let Some(format) = Format::from_media_type(&essence) else {
        return Err(ApiError::UnsupportedMediaType(shown()));
    };
    for param in parts {
        let (name, val) = param.split_once('=').unwrap_or((param, ""));
        let (name, val) = (name.trim().to_ascii_lowercase(), val.trim().trim_matches('"').to_ascii_lowercase());
        let ok = match name.as_str() {
            "charset" => val == "utf-8" || val == "utf8",
            // `fhirVersion` is the FHIR mime-type parameter; this broker speaks R4 only.
            "fhirversion" => val == "4.0" || val == "4.0.1",
            "" => true,
            _ => false,
        };
        if !ok {
            return Err(ApiError::UnsupportedMediaType(shown()));
        }
    }
    Ok(format)
}

/// Reads the whole body within `timeout`, refusing more than `limit` bytes.
pub async fn read_limited(
    req: &HttpRequest,
    payload: web::Payload,
    limit: usize,
    timeout: std::time::Duration,
) -> Result<Bytes, ApiError> {
    tokio::time::timeout(timeout, read_within(req, payload, limit)).await.map_err(|_| ApiError::RequestTimeout)?
}

async fn read_within(req: &HttpRequest, mut payload: web::Payload, limit: usize) -> Result<Bytes, ApiError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > limit) {
        drain(payload).await;
        return Err(ApiError::PayloadTooLarge(limit));
    }
    let mut body = BytesMut::with_capacity(declared.unwrap_or(8 * 1024).min(limit));
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|e| {
            ApiError::BadRequest(vec![crate::outcome::Issue::says(
                crate::outcome::IssueCode::Structure,
                crate::outcome::Text::new("http-body-unreadable").arg("detail", e),
            )])
        })?;
        if body.len() + chunk.len() > limit {
            drain(payload).await;
            return Err(ApiError::PayloadTooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

async fn drain(mut payload: web::Payload) {
    let mut seen = 0usize;
    while let Some(Ok(chunk)) = payload.next().await {
        seen += chunk.len();
        if seen > DRAIN_LIMIT {
            break;
        }
    }
}
