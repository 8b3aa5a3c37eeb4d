//! The language of an answer's words (issue 16): the caller's `Accept-Language` becomes the language
//! every text of its answer is written in (OperationOutcome issues, an acknowledgement's warnings),
//! through `i18n::answering_in`; codes and expressions never change. An answer that has words in that
//! language says so in `Content-Language`. Runs inside the format middleware, so that an XML answer is
//! written from the same words.

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::middleware::Next;

use crate::i18n::{self, Language};

pub async fn localize<B: MessageBody + 'static>(
    req: ServiceRequest,
    next: Next<B>,
) -> Result<ServiceResponse<B>, actix_web::Error> {
    let accept = req.headers().get(header::ACCEPT_LANGUAGE).and_then(|h| h.to_str().ok());
    let asked = accept.is_some();
    let lang = Language::negotiate(None, accept);
    let (response, used) = i18n::answering_in(lang, next.call(req)).await;
    let mut response = response?;
    if asked {
        let headers = response.headers_mut();
        headers.insert(header::VARY, HeaderValue::from_static("Accept, Accept-Language"));
        if used {
            headers.insert(header::CONTENT_LANGUAGE, HeaderValue::from_static(lang.code()));
        }
    }
    Ok(response)
}
