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
use crate::outcome::{Issue, IssueCode, Text};
use crate::receipts::ReceiptError;
use crate::store::StoreError;

pub const FHIR_JSON: &str = "application/fhir+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("unauthenticated: {0}")]
    Unauthorized(Text),
    #[error("forbidden")]
    Forbidden(Vec<Issue>),
    #[error("not found: {0}")]
    NotFound(Text),
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("body larger than {0} bytes")]
    PayloadTooLarge(usize),
    #[error("unsupported media type")]
    UnsupportedMediaType(Given),
    #[error("not acceptable: {0}")]
    NotAcceptable(Given),
    #[error("bad request")]
    BadRequest(Vec<Issue>),
    #[error("unprocessable")]
    Unprocessable(Vec<Issue>),
    #[error("conflict")]
    Conflict(Issue),
    #[error("precondition failed: {0}")]
    PreconditionFailed(Text),
    #[error("gone: {0}")]
    Gone(Text),
    #[error("too many requests: {why}")]
    TooManyRequests { why: Text, retry_after_secs: u64 },
    #[error("the request body did not arrive in time")]
    RequestTimeout,
    #[error("service unavailable")]
    Unavailable(#[source] anyhow::Error),
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    /// The ledger's outcome for a submission refused at the edge: the status and why, in the words
    /// of the ledger (English, no content of the request).
    pub fn edge_outcome(&self) -> String {
        match self {
            Self::PayloadTooLarge(limit) => format!("413 too-long: body over {limit} bytes"),
            Self::UnsupportedMediaType(_) => "415 unsupported-media-type".to_owned(),
            Self::RequestTimeout => "408 body-timeout".to_owned(),
            Self::BadRequest(_) => "400 unreadable-body".to_owned(),
            other => other.status_code().as_u16().to_string(),
        }
    }
}

/// What a client sent for a header or parameter the broker cannot take, as its answer shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Given {
    /// Nothing: the header is missing.
    Nothing,
    /// A header value that is not ASCII (not shown).
    NotAscii,
    /// The value as sent (at most 80 characters of it).
    Value(String),
}

impl Given {
    /// Which of the three, as a word of the catalogues (their texts choose their words by it).
    fn kind(&self) -> &'static str {
        match self {
            Self::Nothing => "none",
            Self::NotAscii => "not-ascii",
            Self::Value(_) => "value",
        }
    }
}

impl std::fmt::Display for Given {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Nothing => f.write_str("(none)"),
            Self::NotAscii => f.write_str("(not ASCII)"),
            Self::Value(value) => f.write_str(value),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(e: AuthError) -> Self {
        let text = match e {
            AuthError::Store(e) => return Self::from(e),
            AuthError::Missing => Text::new("auth-missing"),
            AuthError::Malformed => Text::new("auth-malformed"),
            AuthError::Unknown => Text::new("auth-unknown"),
            AuthError::Expired => Text::new("auth-expired"),
            AuthError::UnknownOrganization(identifier) => {
                Text::new("auth-unknown-organization").arg("identifier", identifier)
            }
            AuthError::RegionalNotAuditor(role) => Text::new("auth-regional-not-auditor").arg("role", role.as_str()),
            AuthError::Lifetime => Text::new("auth-lifetime"),
            AuthError::Random(detail) => Text::new("auth-random").arg("detail", detail),
            AuthError::CertificateNotRegistered => Text::new("auth-certificate-not-registered"),
            AuthError::CertificateAmbiguous => Text::new("auth-certificate-ambiguous"),
            AuthError::CertificateRefused(refusal) => {
                Text::new("auth-certificate-refused").arg("reason", refusal.code()).arg("detail", refusal.detail())
            }
            AuthError::CertificateDisagrees => Text::new("auth-certificate-disagrees"),
        };
        Self::Unauthorized(text)
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
            ReceiptError::NotFound => Self::NotFound(Text::new("http-no-receipt")),
            ReceiptError::Store(e) => Self::from(e),
            ReceiptError::Fhir(e) => Self::Internal(e.into()),
        }
    }
}

impl From<crate::forward::FlowError> for ApiError {
    fn from(e: crate::forward::FlowError) -> Self {
        use crate::forward::{FlowError, ForwardError};
        match e {
            FlowError::NotTriagePoint => {
                Self::Forbidden(vec![Issue::says(IssueCode::Forbidden, Text::new("forward-not-triage-point"))])
            }
            FlowError::Request(issues) => Self::Unprocessable(issues),
            FlowError::NotFound => Self::NotFound(Text::new("forward-not-found")),
            FlowError::Purged => Self::Gone(Text::new("forward-purged")),
            FlowError::Conflict(issue) => Self::Conflict(issue),
            FlowError::Build(ForwardError::NotAMessage(why)) => Self::Unprocessable(vec![Issue::says(
                IssueCode::Invalid,
                Text::new("forward-not-a-message").arg("detail", why),
            )]),
            FlowError::Build(ForwardError::Receivers) => Self::Unprocessable(vec![Issue::says(
                IssueCode::Invalid,
                Text::new("http-forward-receivers").num("max", crate::forward::MAX_RECEIVERS),
            )]),
            FlowError::Build(ForwardError::NoteTooLong) => Self::Unprocessable(vec![Issue::says(
                IssueCode::Invalid,
                Text::new("http-forward-note-too-long").num("max", crate::forward::MAX_NOTE_CHARS),
            )]),
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
            MailboxError::NotFound => Self::NotFound(Text::new("mailbox-not-found")),
            MailboxError::BadParameter { problem } => Self::BadRequest(vec![bad_parameter(problem)]),
            MailboxError::Expired => Self::Conflict(Issue::says(IssueCode::Conflict, Text::new("mailbox-expired"))),
            MailboxError::Purged => Self::Gone(Text::new("mailbox-purged")),
            MailboxError::TooManyWaiting(max) => Self::TooManyRequests {
                why: Text::new("mailbox-too-many-waiting").num("max", max),
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
            AuditError::BadParameter { problem } => Self::BadRequest(vec![bad_parameter(problem)]),
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
        let conflict = |text: Text| Self::Conflict(Issue::says(IssueCode::Conflict, text));
        match e {
            // The same answer for someone else's Task or message as for none: ids leak nothing.
            TaskError::NotFound => Self::NotFound(Text::new("task-not-found")),
            TaskError::NoDocument => Self::NotFound(Text::new("task-no-document")),
            TaskError::BadParameter { problem } => Self::BadRequest(vec![bad_parameter(problem)]),
            TaskError::Malformed(issues) => Self::BadRequest(issues),
            TaskError::Unprocessable(issues) => Self::Unprocessable(issues),
            TaskError::IllegalMove { from, to } => {
                conflict(Text::new("task-illegal-move").arg("from", from).arg("to", to))
            }
            TaskError::Ended(state) => conflict(Text::new("task-ended").arg("state", state)),
            TaskError::VersionConflict { current } => {
                conflict(Text::new("task-version-conflict").arg("current", current))
            }
            TaskError::PreconditionFailed { current } => {
                Self::PreconditionFailed(Text::new("task-precondition-failed").arg("current", current))
            }
            TaskError::Purged => Self::Gone(Text::new("task-purged")),
            TaskError::Store(e) => Self::from(e),
        }
    }
}

impl ApiError {
    /// Status and the issues the client sees.
    fn classify(&self) -> (StatusCode, Vec<Issue>) {
        let one = |status, code, text: Text| (status, vec![Issue::says(code, text)]);
        match self {
            Self::Unauthorized(why) => one(StatusCode::UNAUTHORIZED, IssueCode::Login, why.clone()),
            Self::Forbidden(issues) => (StatusCode::FORBIDDEN, issues.clone()),
            Self::NotFound(what) => one(StatusCode::NOT_FOUND, IssueCode::NotFound, what.clone()),
            Self::MethodNotAllowed => {
                one(StatusCode::METHOD_NOT_ALLOWED, IssueCode::NotSupported, Text::new("http-method-not-allowed"))
            }
            Self::PayloadTooLarge(limit) => {
                one(StatusCode::PAYLOAD_TOO_LARGE, IssueCode::TooLong, Text::new("http-too-large").arg("limit", limit))
            }
            Self::UnsupportedMediaType(found) => one(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                IssueCode::NotSupported,
                Text::new("http-unsupported-media-type").arg("kind", found.kind()).arg("found", found),
            ),
            Self::NotAcceptable(asked) => one(
                StatusCode::NOT_ACCEPTABLE,
                IssueCode::NotSupported,
                Text::new("http-not-acceptable").arg("kind", asked.kind()).arg("asked", asked),
            ),
            Self::BadRequest(issues) => (StatusCode::BAD_REQUEST, issues.clone()),
            Self::Unprocessable(issues) => (StatusCode::UNPROCESSABLE_ENTITY, issues.clone()),
            Self::Conflict(issue) => (StatusCode::CONFLICT, vec![issue.clone()]),
            Self::PreconditionFailed(why) => one(StatusCode::PRECONDITION_FAILED, IssueCode::Conflict, why.clone()),
            Self::Gone(what) => one(StatusCode::GONE, IssueCode::Deleted, what.clone()),
            Self::TooManyRequests { why, .. } => one(StatusCode::TOO_MANY_REQUESTS, IssueCode::Throttled, why.clone()),
            Self::RequestTimeout => one(StatusCode::REQUEST_TIMEOUT, IssueCode::Timeout, Text::new("http-timeout")),
            Self::Unavailable(_) => {
                one(StatusCode::SERVICE_UNAVAILABLE, IssueCode::Transient, Text::new("http-unavailable"))
            }
            Self::Internal(_) => {
                one(StatusCode::INTERNAL_SERVER_ERROR, IssueCode::Exception, Text::new("http-internal"))
            }
        }
    }
}

/// A query parameter the route cannot take: the stage that checked it says which and what is wrong
/// with it, in a text of its own (`{ $name }: ...`), written in the caller's language.
fn bad_parameter(problem: Text) -> Issue {
    Issue::says(IssueCode::Invalid, problem)
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
