//! The broker's own view of an `OperationOutcome.issue`: what every stage reports when it refuses
//! something. Stages collect issues; only `api` turns them into FHIR JSON.
//!
//! An issue's words for people come from the message catalogues (`i18n`) when it was made with a
//! [`Text`]: `message` holds them in English (for logs, tests and the CLI) and [`Issue::text_in`]
//! writes them in the language of whoever reads the answer.

use std::borrow::Cow;
use std::fmt;

use crate::i18n::{self, Arg, Language};

/// `OperationOutcome.issue.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// The subset of http://hl7.org/fhir/issue-type the broker uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IssueCode {
    Structure,
    Required,
    Value,
    CodeInvalid,
    Invariant,
    Invalid,
    NotFound,
    /// The content was deleted (e.g. a payload purged after its retention period).
    Deleted,
    NotSupported,
    BusinessRule,
    Forbidden,
    Conflict,
    Duplicate,
    TooCostly,
    TooLong,
    Login,
    Exception,
    Transient,
    /// Too many requests; try again later.
    Throttled,
    /// The request took longer than the broker allows.
    Timeout,
    Informational,
    Processing,
}

impl IssueCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Structure => "structure",
            Self::Required => "required",
            Self::Value => "value",
            Self::CodeInvalid => "code-invalid",
            Self::Invariant => "invariant",
            Self::Invalid => "invalid",
            Self::NotFound => "not-found",
            Self::Deleted => "deleted",
            Self::NotSupported => "not-supported",
            Self::BusinessRule => "business-rule",
            Self::Forbidden => "forbidden",
            Self::Conflict => "conflict",
            Self::Duplicate => "duplicate",
            Self::TooCostly => "too-costly",
            Self::TooLong => "too-long",
            Self::Login => "login",
            Self::Exception => "exception",
            Self::Throttled => "throttled",
            Self::Timeout => "timeout",
            Self::Transient => "transient",
            Self::Informational => "informational",
            Self::Processing => "processing",
        }
    }
}

/// One problem with a request. `message` is shown to the client: it names elements and organisation
/// identifiers, never patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub severity: Severity,
    pub code: IssueCode,
    pub message: String,
    /// FHIRPath of the offending element, e.g. `Bundle.entry[0].resource.destination[1].receiver`.
    pub expression: Option<String>,
    /// The catalogue text `message` was written from, to write it again in another language.
    pub text: Option<Box<Text>>,
}

/// A text for people from the catalogues: its id and named arguments. Arguments are element names,
/// codes, counts and organisation identifiers, never patient data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    id: &'static str,
    args: Vec<(&'static str, Arg)>,
}

impl Text {
    pub fn new(id: &'static str) -> Self {
        Self { id, args: Vec::new() }
    }

    /// A word or name, shown as given.
    pub fn arg(mut self, name: &'static str, value: impl fmt::Display) -> Self {
        self.args.push((name, Arg::Word(value.to_string())));
        self
    }

    /// A count, which the catalogues may use to choose singular or plural.
    pub fn num(mut self, name: &'static str, value: impl TryInto<i64>) -> Self {
        self.args.push((name, Arg::Number(value.try_into().unwrap_or(i64::MAX))));
        self
    }

    /// Another text with the same arguments (e.g. a receipt telling the sender what a note told the receiver).
    pub fn reworded(mut self, id: &'static str) -> Self {
        self.id = id;
        self
    }

    pub fn id(&self) -> &'static str {
        self.id
    }

    /// The text in `lang` (English when that language lacks it; the id when no catalogue has it).
    pub fn render(&self, lang: Language) -> String {
        i18n::render(lang, self.id, &self.args)
    }
}

impl IssueCode {
    /// A code as received (e.g. in a receiver's OperationOutcome); one this broker does not name
    /// becomes `processing`.
    pub fn from_code(code: &str) -> Self {
        [
            Self::Structure,
            Self::Required,
            Self::Value,
            Self::CodeInvalid,
            Self::Invariant,
            Self::Invalid,
            Self::NotFound,
            Self::Deleted,
            Self::NotSupported,
            Self::BusinessRule,
            Self::Forbidden,
            Self::Conflict,
            Self::Duplicate,
            Self::TooCostly,
            Self::TooLong,
            Self::Login,
            Self::Exception,
            Self::Transient,
            Self::Throttled,
            Self::Timeout,
            Self::Informational,
        ]
        .into_iter()
        .find(|c| c.as_str() == code)
        .unwrap_or(Self::Processing)
    }
}

impl Issue {
    pub fn error(code: IssueCode, message: impl Into<String>) -> Self {
        Self { severity: Severity::Error, code, message: message.into(), expression: None, text: None }
    }

    /// An error whose words come from the catalogues.
    pub fn says(code: IssueCode, text: Text) -> Self {
        Self {
            severity: Severity::Error,
            code,
            message: text.render(Language::En),
            expression: None,
            text: Some(Box::new(text)),
        }
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    /// The issue's words in `lang`: from its catalogue text, else a profile constraint's text by its key
    /// (`hb-pat-1: ...`), else as written (a receiver's own words, passed on).
    pub fn text_in(&self, lang: Language) -> Cow<'_, str> {
        if let Some(text) = &self.text {
            return Cow::Owned(text.render(lang));
        }
        match i18n::issue_text(lang, &self.message) {
            Some(text) => Cow::Owned(text),
            None => Cow::Borrowed(&self.message),
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    pub fn is_error(&self) -> bool {
        matches!(self.severity, Severity::Error | Severity::Fatal)
    }

    /// The issue as input of the FHIR builders (the only place the two meet), its words in `text`
    /// (from [`Issue::text_in`]).
    pub fn to_fhir<'a>(&'a self, text: &'a str) -> handover_fhir::OutcomeIssue<'a> {
        handover_fhir::OutcomeIssue {
            severity: match self.severity {
                Severity::Fatal => handover_fhir::OutcomeSeverity::Fatal,
                Severity::Error => handover_fhir::OutcomeSeverity::Error,
                Severity::Warning => handover_fhir::OutcomeSeverity::Warning,
                Severity::Information => handover_fhir::OutcomeSeverity::Information,
            },
            code: self.code.as_str(),
            diagnostics: text,
            expression: self.expression.as_deref(),
        }
    }
}

/// The most issues one answer lists. A body within the size limit can hold a million unknown members;
/// listing each would make the answer (and the memory to build it) larger than the request.
pub const MAX_ISSUES: usize = 10_000;

/// Collecting issues up to [`MAX_ISSUES`], then one issue saying that the list stops there.
pub trait Report {
    fn report(&mut self, issue: Issue);
}

impl Report for Vec<Issue> {
    fn report(&mut self, issue: Issue) {
        match self.len() {
            n if n < MAX_ISSUES => self.push(issue),
            MAX_ISSUES => {
                self.push(Issue::says(IssueCode::TooCostly, Text::new("issues-listed-first").num("count", MAX_ISSUES)))
            }
            _ => {}
        }
    }
}

/// The text in English (logs, error chains).
impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Language::En))
    }
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.expression {
            Some(expr) => write!(f, "{} ({}): {}", expr, self.code.as_str(), self.message),
            None => write!(f, "({}): {}", self.code.as_str(), self.message),
        }
    }
}
