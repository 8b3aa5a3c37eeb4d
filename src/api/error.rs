//! The one place where errors become HTTP answers.
//!
//! | error                                   | status | issue code          |
//! |-----------------------------------------|--------|---------------------|
//! | no / bad / unknown token                | 401    | login               |
//! | wrong role, sender is not the caller    | 403    | forbidden           |
//! | unknown resource or someone else's      | 404    | not-found           |
//! | wrong method on a known path            | 405    | not-supported       |
//! | body too large                          | 413    | too-long            |
//! | media type not FHIR JSON                | 415    | not-supported       |
//! | not JSON / not a message Bundle / limit | 400    | structure, ...      |
//! | document: no or bad receiver parameter  | 400    | required, invalid   |
//! | incomplete or unroutable handover       | 422    | per issue           |
//! | document type that is no handover kind  | 422    | code-invalid        |
//! | capacity report breaking the Measure    | 422    | per issue           |
//! | message id or Bundle id reused          | 409    | conflict            |
//! | illegal Task move or version conflict   | 409    | conflict            |
//! | If-Match names another Task version     | 412    | conflict            |
//! | mailbox message whose payload is purged | 410    | deleted             |
//! | body not received in time               | 408    | timeout             |
//! | over the organisation's rate or polls   | 429    | throttled (+ Retry-After) |
//! | database unavailable                    | 503    | transient           |
//! | anything else (a bug)                   | 500    | exception           |
//!
//! Every body is an `OperationOutcome`. Internal causes are logged with their chain and never sent.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};

use crate::auth::AuthError;
use crate::ingest::IngestError;
use crate::mailbox::MailboxError;
use crate::outcome::{Issue, IssueCode};
use crate::receipts::ReceiptError;
use crate::store::StoreError;

pub const FHIR_JSON: &str = "application/fhir+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthenticated: {0}")]
    Unauthorized(String),
    #[error("forbidden")]
    Forbidden(Vec<Issue>),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("unsupported media type")]
    UnsupportedMediaType(String),
    #[error("not acceptable: {0}")]
    NotAcceptable(String),
    #[error("bad request")]
    BadRequest(Vec<Issue>),
    #[error("unprocessable")]
    Unprocessable(Vec<Issue>),
    #[error("conflict")]
    Conflict(Issue),
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("gone: {0}")]
    Gone(String),
    #[error("too many requests: {why}")]
    TooManyRequests { why: String, retry_after_secs: u64 },
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        match e {
            AuthError::Store(e) => Self::from(e),
            other => Self::Unauthorized(other.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Corrupt(_) => Self::Internal(e.into()),
            other => Self::Unavailable(other.into()),
        }
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::Envelope(issues) => Self::BadRequest(issues),
            IngestError::Incomplete(issues) | IngestError::Unroutable(issues) => Self::Unprocessable(issues),
            IngestError::Forbidden(issues) => Self::Forbidden(issues),
            IngestError::Conflict(issue) => Self::Conflict(issue),
            IngestError::Store(e) => Self::from(e),
            IngestError::Acknowledgement(e) => Self::Internal(e.into()),
        }
    }
}

impl From<ReceiptError> for ApiError {
    fn from(e: ReceiptError) -> Self {
        match e {
            ReceiptError::NotFound => Self::NotFound("no receipt with this tracking id for this organisation".into()),
            ReceiptError::Store(e) => Self::from(e),
            ReceiptError::Fhir(e) => Self::Internal(e.into()),
        }
    }
}

impl From<crate::forward::FlowError> for ApiError {
    fn from(e: crate::forward::FlowError) -> Self {
        use crate::forward::{FlowError, ForwardError};
        match e {
            FlowError::NotTriagePoint => Self::Forbidden(vec![Issue::error(
                IssueCode::Forbidden,
                "only an organisation marked as a regional triage point in the directory forwards messages",
            )]),
            FlowError::Request(issues) => Self::Unprocessable(issues),
            FlowError::NotFound => Self::NotFound("no message with this id was delivered to this organisation".into()),
            FlowError::Purged => Self::Gone(
                "the message's payload was removed after its retention period; it cannot be forwarded".into(),
            ),
            FlowError::Conflict(issue) => Self::Conflict(issue),
            FlowError::Build(ForwardError::NotAMessage(why)) => {
                Self::Unprocessable(vec![Issue::error(IssueCode::Invalid, format!("cannot forward: {why}"))])
            }
            FlowError::Build(e) => Self::Unprocessable(vec![Issue::error(IssueCode::Invalid, e.to_string())]),
            FlowError::Ingest(e) => Self::from(e),
            FlowError::Store(e) => Self::from(e),
        }
    }
}

impl From<crate::document::DocumentError> for ApiError {
    fn from(e: crate::document::DocumentError) -> Self {
        use crate::document::DocumentError;
        match e {
            DocumentError::Request(issues) | DocumentError::Malformed(issues) => Self::BadRequest(issues),
            DocumentError::UnknownType(issues) | DocumentError::Unroutable(issues) => Self::Unprocessable(issues),
            DocumentError::UnknownSender(issues) => Self::Forbidden(issues),
            DocumentError::Ingest(e) => Self::from(e),
            DocumentError::Write(e) => Self::Internal(e.into()),
        }
    }
}

impl From<MailboxError> for ApiError {
    fn from(e: MailboxError) -> Self {
        match e {
            // The same answer for someone else's message as for none: ids leak nothing.
            MailboxError::NotFound => Self::NotFound("no such message in this mailbox".into()),
            MailboxError::BadParameter { name, problem } => {
                Self::BadRequest(vec![Issue::error(IssueCode::Invalid, format!("{name}: {problem}"))])
            }
            MailboxError::Expired => Self::Conflict(Issue::error(
                IssueCode::Conflict,
                "the message expired before it was acknowledged; its sender has been told it was not delivered",
            )),
            MailboxError::Purged => Self::Gone(
                "the message was delivered or ended long enough ago that its payload was purged (retention); \
                 its history is still in the ledger"
                    .into(),
            ),
            MailboxError::TooManyWaiting(max) => Self::TooManyRequests {
                why: format!(
                    "this organisation already holds {max} long-polls of its mailbox open; wait for one to end"
                ),
                retry_after_secs: 1,
            },
            MailboxError::Store(e) => Self::from(e),
        }
    }
}

impl From<crate::audit::AuditError> for ApiError {
    fn from(e: crate::audit::AuditError) -> Self {
        use crate::audit::AuditError;
        match e {
            AuditError::BadParameter { name, problem } => {
                Self::BadRequest(vec![Issue::error(IssueCode::Invalid, format!("{name}: {problem}"))])
            }
            AuditError::Store(e) => Self::from(e),
        }
    }
}

impl From<crate::quality::QualityError> for ApiError {
    fn from(e: crate::quality::QualityError) -> Self {
        use crate::quality::QualityError;
        match e {
            QualityError::BadRequest(issues) => Self::BadRequest(issues),
            QualityError::Forbidden(issues) => Self::Forbidden(issues),
            QualityError::Store(e) => Self::from(e),
        }
    }
}

impl From<crate::capacity::CapacityError> for ApiError {
    fn from(e: crate::capacity::CapacityError) -> Self {
        use crate::capacity::CapacityError;
        match e {
            CapacityError::Malformed(issues) => Self::BadRequest(issues),
            CapacityError::Invalid(issues) => Self::Unprocessable(issues),
            CapacityError::Forbidden(issues) => Self::Forbidden(issues),
            CapacityError::Store(e) => Self::from(e),
            CapacityError::Json(e) => Self::Internal(e.into()),
        }
    }
}

impl From<crate::notified::TaskError> for ApiError {
    fn from(e: crate::notified::TaskError) -> Self {
        use crate::notified::TaskError;
        let conflict = |text: String| Self::Conflict(Issue::error(IssueCode::Conflict, text));
        match e {
            // The same answer for someone else's Task or message as for none: ids leak nothing.
            TaskError::NotFound => Self::NotFound("no such Task or handover for this organisation".into()),
            TaskError::NoDocument => {
                Self::NotFound("this handover holds no Composition, so there is no document; read the message".into())
            }
            TaskError::BadParameter { name, problem } => {
                Self::BadRequest(vec![Issue::error(IssueCode::Invalid, format!("{name}: {problem}"))])
            }
            TaskError::Malformed(issues) => Self::BadRequest(issues),
            TaskError::Unprocessable(issues) => Self::Unprocessable(issues),
            TaskError::IllegalMove { from, to } => {
                conflict(format!("a Task with status {from} cannot become {to}; the Task is unchanged"))
            }
            TaskError::Ended(state) => {
                conflict(format!("this delivery is {state}: its Task can no longer change (the sender has been told)"))
            }
            TaskError::VersionConflict { current } => conflict(format!(
                "the Task is at version {current}: read it again and apply the change to that version"
            )),
            TaskError::PreconditionFailed { current } => {
                Self::PreconditionFailed(format!("If-Match does not name the Task's current version ({current})"))
            }
            TaskError::Purged => Self::Gone(
                "the handover's payload was removed after its retention period; its history is still in the ledger"
                    .into(),
            ),
            TaskError::Store(e) => Self::from(e),
        }
    }
}

impl ApiError {
    /// Status and the issues the client sees.
    fn classify(&self) -> (StatusCode, Vec<Issue>) {
        let one = |status, code, message: &str| (status, vec![Issue::error(code, message)]);
        match self {
            Self::Unauthorized(why) => one(StatusCode::UNAUTHORIZED, IssueCode::Login, why),
            Self::Forbidden(issues) => (StatusCode::FORBIDDEN, issues.clone()),
            Self::NotFound(what) => one(StatusCode::NOT_FOUND, IssueCode::NotFound, what),
            Self::MethodNotAllowed => {
                one(StatusCode::METHOD_NOT_ALLOWED, IssueCode::NotSupported, "this method is not allowed on this path")
            }
            Self::PayloadTooLarge(limit) => one(
                StatusCode::PAYLOAD_TOO_LARGE,
                IssueCode::TooLong,
                &format!("the request body is larger than the limit of {limit} bytes"),
            ),
            Self::UnsupportedMediaType(found) => one(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                IssueCode::NotSupported,
                &format!(
                    "Content-Type {found} is not accepted; send application/fhir+json or application/fhir+xml \
                     (or application/json, application/xml), charset utf-8"
                ),
            ),
            Self::NotAcceptable(asked) => one(
                StatusCode::NOT_ACCEPTABLE,
                IssueCode::NotSupported,
                &format!("the broker answers in application/fhir+json or application/fhir+xml, not {asked}"),
            ),
            Self::BadRequest(issues) => (StatusCode::BAD_REQUEST, issues.clone()),
            Self::Unprocessable(issues) => (StatusCode::UNPROCESSABLE_ENTITY, issues.clone()),
            Self::Conflict(issue) => (StatusCode::CONFLICT, vec![issue.clone()]),
            Self::PreconditionFailed(why) => one(StatusCode::PRECONDITION_FAILED, IssueCode::Conflict, why),
            Self::Gone(what) => one(StatusCode::GONE, IssueCode::Deleted, what),
            Self::TooManyRequests { why, .. } => one(StatusCode::TOO_MANY_REQUESTS, IssueCode::Throttled, why),
            Self::RequestTimeout => one(
                StatusCode::REQUEST_TIMEOUT,
                IssueCode::Timeout,
                "the request body did not arrive within the time allowed; nothing was stored",
            ),
            Self::Unavailable(_) => one(
                StatusCode::SERVICE_UNAVAILABLE,
                IssueCode::Transient,
                "the broker cannot reach its database; nothing was stored, retry later",
            ),
            Self::Internal(_) => one(
                StatusCode::INTERNAL_SERVER_ERROR,
                IssueCode::Exception,
                "internal error; nothing was stored. The broker's log has the details",
            ),
        }
    }
}

/// An `OperationOutcome` body for `issues`, its words in the language the caller asked for.
pub fn outcome_body(issues: &[Issue]) -> Vec<u8> {
    outcome_body_in(issues, crate::i18n::answer_language())
}

/// An `OperationOutcome` body for `issues`, its words in `lang`.
pub fn outcome_body_in(issues: &[Issue], lang: crate::i18n::Language) -> Vec<u8> {
    let texts: Vec<_> = issues.iter().map(|issue| issue.text_in(lang)).collect();
    let issues: Vec<handover_fhir::OutcomeIssue<'_>> =
        issues.iter().zip(&texts).map(|(issue, text)| issue.to_fhir(text)).collect();
    handover_fhir::operation_outcome(&issues).unwrap_or_else(|e| {
        tracing::error!(error = %e, "cannot build an OperationOutcome");
        br#"{"resourceType":"OperationOutcome","issue":[{"severity":"error","code":"exception"}]}"#.to_vec()
    })
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.classify().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, issues) = self.classify();
        if status.is_server_error() {
            tracing::error!(error = ?self, status = status.as_u16(), "request failed");
        }
        let mut response = HttpResponse::build(status);
        response.content_type(FHIR_JSON);
        match self {
            Self::Unauthorized(_) => {
                response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            Self::Unavailable(_) => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            Self::TooManyRequests { retry_after_secs, .. } => {
                response.insert_header((header::RETRY_AFTER, retry_after_secs.max(&1).to_string()));
            }
            _ => {}
        }
        response.body(outcome_body(&issues))
    }
}
