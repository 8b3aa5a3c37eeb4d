//! Builders for the resources the broker sends: OperationOutcome, the acknowledgement response message,
//! the CapabilityStatement and the receipt `Parameters`.
//!
//! Every function takes plain borrowed inputs and returns compact JSON bytes. fhir-sdk's builders check
//! that required elements are set, so a missing element is a `FhirError` here, not a malformed resource
//! on the wire.

use std::fmt;

use fhir_sdk::r4b::codes::{
    BundleType, CapabilityStatementKind, EventCapabilityMode, FHIRVersion, IssueSeverity, IssueType, PublicationStatus,
    ResourceType, ResourceVersionPolicy, ResponseType, RestfulCapabilityMode, SearchParamType,
};
use fhir_sdk::r4b::resources::{
    Bundle, BundleEntry, CapabilityStatement, CapabilityStatementImplementation, CapabilityStatementMessaging,
    CapabilityStatementMessagingEndpoint, CapabilityStatementMessagingSupportedMessage, CapabilityStatementRest,
    CapabilityStatementRestResource, CapabilityStatementRestResourceInteraction,
    CapabilityStatementRestResourceOperation, CapabilityStatementRestResourceSearchParam,
    CapabilityStatementRestSecurity, CapabilityStatementSoftware, MessageHeader, MessageHeaderDestination,
    MessageHeaderEvent, MessageHeaderResponse, MessageHeaderSource, OperationOutcome, OperationOutcomeIssue,
    Parameters, ParametersParameter, ParametersParameterValue, Resource,
};
use fhir_sdk::r4b::types::{Coding, Extension, ExtensionValue, Identifier, Reference};
use fhir_sdk::time::OffsetDateTime;
use fhir_sdk::{BuilderError, DateTime, Instant};

/// Canonical base of the broker's own conformance resources and extensions.
const CANONICAL: &str = "https://fhir.handover-broker.eu";

/// Why an outgoing resource could not be built. Always a programming error in the caller's input
/// (an unknown issue-type code) or in this crate, never the fault of a client.
#[derive(Debug)]
pub enum FhirError {
    /// A required element was not set.
    Builder(String),
    /// A code is not in the FHIR value set it is bound to.
    UnknownCode(String),
    /// JSON (de)serialisation failed.
    Json(serde_json::Error),
}

impl fmt::Display for FhirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Builder(e) => write!(f, "incomplete FHIR resource: {e}"),
            Self::UnknownCode(c) => write!(f, "code not in its FHIR value set: {c}"),
            Self::Json(e) => write!(f, "FHIR JSON: {e}"),
        }
    }
}

impl std::error::Error for FhirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Json(e) => Some(e),
            _ => None,
        }
    }
}

impl From<BuilderError> for FhirError {
    fn from(e: BuilderError) -> Self {
        Self::Builder(e.to_string())
    }
}

impl From<serde_json::Error> for FhirError {
    fn from(e: serde_json::Error) -> Self {
        Self::Json(e)
    }
}

/// `OperationOutcome.issue.severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutcomeSeverity {
    Fatal,
    Error,
    Warning,
    Information,
}

/// One `OperationOutcome.issue`.
#[derive(Debug, Clone)]
pub struct OutcomeIssue<'a> {
    pub severity: OutcomeSeverity,
    /// A code from http://hl7.org/fhir/issue-type (`invalid`, `structure`, `required`, `not-found`, ...).
    pub code: &'a str,
    pub diagnostics: &'a str,
    /// FHIRPath of the offending element, when there is one.
    pub expression: Option<&'a str>,
}

/// The acknowledgement the broker returns when it has committed a message.
#[derive(Debug, Clone)]
pub struct Acknowledgement<'a> {
    /// `Bundle.id` of the acknowledgement itself.
    pub bundle_id: &'a str,
    /// `MessageHeader.id` of the acknowledgement.
    pub header_id: &'a str,
    /// `OperationOutcome.id` carried in the acknowledgement.
    pub outcome_id: &'a str,
    pub timestamp: OffsetDateTime,
    /// `MessageHeader.id` of the message being acknowledged.
    pub request_header_id: &'a str,
    pub event_system: &'a str,
    pub event_code: &'a str,
    /// The original sender: identifier (system, value) and its `source.endpoint`.
    pub sender_system: &'a str,
    pub sender_value: &'a str,
    pub sender_endpoint: &'a str,
    /// Where the broker receives messages (`{base}/fhir`).
    pub broker_endpoint: &'a str,
    pub software_version: &'a str,
    pub tracking_id: &'a str,
    /// Absolute or relative URL of the receipt resource.
    pub receipt_url: &'a str,
    pub receivers: usize,
    /// Issues that did not block acceptance (warnings), carried in the acknowledgement's OperationOutcome.
    pub warnings: &'a [OutcomeIssue<'a>],
}

/// A receipt: the response message telling a sender what became of its message at one receiver
/// (delivered, failed, expired, or the receiver's business response).
#[derive(Debug, Clone)]
pub struct Receipt<'a> {
    pub bundle_id: &'a str,
    pub header_id: &'a str,
    pub outcome_id: &'a str,
    pub timestamp: OffsetDateTime,
    /// `MessageHeader.id` of the sender's original message.
    pub request_header_id: &'a str,
    pub event_system: &'a str,
    pub event_code: &'a str,
    /// The original sender, to whom the receipt goes, and the endpoint it is delivered to.
    pub recipient_system: &'a str,
    pub recipient_value: &'a str,
    pub recipient_endpoint: &'a str,
    pub broker_endpoint: &'a str,
    pub software_version: &'a str,
    pub tracking_id: &'a str,
    /// The delivery state this receipt reports (`delivered`, `accepted-by-receiver`, ...).
    pub state: &'a str,
    /// `MessageHeader.response.code`: `ok` when true, `fatal-error` otherwise.
    pub ok: bool,
    /// At least one: what happened, then (for a business response) the receiver's own issues.
    pub issues: &'a [OutcomeIssue<'a>],
}

/// A handover kind the broker accepts, by its MessageDefinition.
#[derive(Debug, Clone)]
pub struct SupportedEvent<'a> {
    pub definition_url: &'a str,
}

/// Inputs of `GET /fhir/metadata`.
#[derive(Debug, Clone)]
pub struct Capability<'a> {
    pub software_version: &'a str,
    pub date: OffsetDateTime,
    /// `{base}/fhir`, absolute.
    pub fhir_base: &'a str,
    pub events: &'a [SupportedEvent<'a>],
    /// Minutes for which duplicate messages are recognised (`messaging.reliableCache`).
    pub reliable_cache_minutes: u32,
}

/// A state the message or delivery went through, with its time.
#[derive(Debug, Clone)]
pub struct DeliveryHistory<'a> {
    pub event: &'a str,
    pub at: OffsetDateTime,
}

/// One delivery (per receiver) in a receipt.
#[derive(Debug, Clone)]
pub struct DeliveryReceipt<'a> {
    pub delivery_id: &'a str,
    pub receiver_system: &'a str,
    pub receiver_value: &'a str,
    pub state: &'a str,
    pub attempts: u32,
    pub updated_at: OffsetDateTime,
    pub history: Vec<DeliveryHistory<'a>>,
}

/// Inputs of `GET /fhir/receipts/{tracking-id}`.
#[derive(Debug, Clone)]
pub struct MessageReceipt<'a> {
    pub tracking_id: &'a str,
    pub message_header_id: &'a str,
    pub event_system: &'a str,
    pub event_code: &'a str,
    pub state: &'a str,
    pub received_at: OffsetDateTime,
    pub history: Vec<DeliveryHistory<'a>>,
    pub deliveries: Vec<DeliveryReceipt<'a>>,
    /// Where a triage point that received it forwarded it, and what became of that.
    pub forwardings: Vec<ForwardingReceipt<'a>>,
}

/// One forwarding of a message by a triage point, in the original's receipt.
#[derive(Debug, Clone)]
pub struct ForwardingReceipt<'a> {
    /// The forwarded message's tracking id.
    pub tracking_id: &'a str,
    /// The triage point (identifier system and value).
    pub by_system: &'a str,
    pub by_value: &'a str,
    /// `all` or `first-accept`.
    pub mode: &'a str,
    pub at: OffsetDateTime,
    /// The candidate's delivery that was placed, if one was.
    pub placed_delivery_id: Option<&'a str>,
    pub deliveries: Vec<DeliveryReceipt<'a>>,
}

fn issue(input: &OutcomeIssue<'_>) -> Result<OperationOutcomeIssue, FhirError> {
    let severity = match input.severity {
        OutcomeSeverity::Fatal => IssueSeverity::Fatal,
        OutcomeSeverity::Error => IssueSeverity::Error,
        OutcomeSeverity::Warning => IssueSeverity::Warning,
        OutcomeSeverity::Information => IssueSeverity::Information,
    };
    let code: IssueType = input.code.parse().map_err(FhirError::UnknownCode)?;
    let mut builder =
        OperationOutcomeIssue::builder().severity(severity).code(code).diagnostics(input.diagnostics.to_owned());
    if let Some(expression) = input.expression {
        builder = builder.expression(vec![Some(expression.to_owned())]);
    }
    Ok(builder.build()?)
}

fn outcome(id: Option<&str>, issues: &[OutcomeIssue<'_>]) -> Result<OperationOutcome, FhirError> {
    let issues = issues.iter().map(|i| issue(i).map(Some)).collect::<Result<Vec<_>, _>>()?;
    let mut builder = OperationOutcome::builder().issue(issues);
    if let Some(id) = id {
        builder = builder.id(id.to_owned());
    }
    Ok(builder.build()?)
}

/// An `OperationOutcome` with the given issues (at least one; FHIR requires `issue` 1..*).
pub fn operation_outcome(issues: &[OutcomeIssue<'_>]) -> Result<Vec<u8>, FhirError> {
    Ok(serde_json::to_vec(&outcome(None, issues)?)?)
}

fn identifier(system: &str, value: &str) -> Result<Identifier, FhirError> {
    Ok(Identifier::builder().system(system.to_owned()).value(value.to_owned()).build()?)
}

fn coding(system: &str, code: &str) -> Result<Coding, FhirError> {
    Ok(Coding::builder().system(system.to_owned()).code(code.to_owned()).build()?)
}

/// The response message (`Bundle` of type `message`) saying the broker accepted a message.
///
/// The tracking id is carried three ways, for three kinds of client: the extension
/// `{CANONICAL}/StructureDefinition/tracking-id` on the MessageHeader, the OperationOutcome's
/// diagnostics, and the HTTP `Location` header that the API sets to `receipt_url`.
pub fn acknowledgement(ack: &Acknowledgement<'_>) -> Result<Vec<u8>, FhirError> {
    let diagnostics = format!(
        "Accepted by the broker for delivery to {} receiver(s). Tracking id {}; receipts at {}.",
        ack.receivers, ack.tracking_id, ack.receipt_url
    );
    let mut issues = vec![OutcomeIssue {
        severity: OutcomeSeverity::Information,
        code: "informational",
        diagnostics: &diagnostics,
        expression: None,
    }];
    issues.extend(ack.warnings.iter().cloned());
    response_message(&ResponseParts {
        bundle_id: ack.bundle_id,
        header_id: ack.header_id,
        outcome_id: ack.outcome_id,
        timestamp: ack.timestamp,
        request_header_id: ack.request_header_id,
        event: (ack.event_system, ack.event_code),
        to: (ack.sender_system, ack.sender_value, ack.sender_endpoint),
        broker_endpoint: ack.broker_endpoint,
        software_version: ack.software_version,
        tracking_id: ack.tracking_id,
        extra: Vec::new(),
        code: Some(ResponseType::Ok),
        issues: &issues,
    })
}

/// What a response message of the broker's (acknowledgement or receipt) is made of.
struct ResponseParts<'a> {
    bundle_id: &'a str,
    header_id: &'a str,
    outcome_id: &'a str,
    timestamp: OffsetDateTime,
    request_header_id: &'a str,
    event: (&'a str, &'a str),
    /// The organisation it goes to: identifier system and value, and endpoint.
    to: (&'a str, &'a str, &'a str),
    broker_endpoint: &'a str,
    software_version: &'a str,
    tracking_id: &'a str,
    /// Extensions on the MessageHeader after the tracking id.
    extra: Vec<Extension>,
    /// `MessageHeader.response.code`; `None`: not a response, the OperationOutcome is the focus.
    code: Option<ResponseType>,
    issues: &'a [OutcomeIssue<'a>],
}

/// A `Bundle` of type `message`: a MessageHeader answering `request_header_id`, and the OperationOutcome
/// its `response.details` points to.
fn response_message(parts: &ResponseParts<'_>) -> Result<Vec<u8>, FhirError> {
    let outcome_url = format!("urn:uuid:{}", parts.outcome_id);
    let outcome = outcome(Some(parts.outcome_id), parts.issues)?;
    let tracking = Extension::builder()
        .url(format!("{CANONICAL}/StructureDefinition/tracking-id"))
        .value(ExtensionValue::Id(parts.tracking_id.to_owned()))
        .build()?;
    let mut extensions = vec![tracking];
    extensions.extend(parts.extra.iter().cloned());
    let (system, value, endpoint) = parts.to;
    let destination = MessageHeaderDestination::builder()
        .endpoint(endpoint.to_owned())
        .receiver(Reference::builder().identifier(identifier(system, value)?).build()?)
        .build()?;
    let header = MessageHeader::builder()
        .id(parts.header_id.to_owned())
        .extension(extensions)
        .event(MessageHeaderEvent::Coding(coding(parts.event.0, parts.event.1)?))
        .destination(vec![Some(destination)])
        .source(
            MessageHeaderSource::builder()
                .name("handover-broker".to_owned())
                .software("handover-broker".to_owned())
                .version(parts.software_version.to_owned())
                .endpoint(parts.broker_endpoint.to_owned())
                .build()?,
        );
    let header = match parts.code {
        Some(code) => header.response(
            MessageHeaderResponse::builder()
                .identifier(parts.request_header_id.to_owned())
                .code(code)
                .details(Reference::builder().reference(outcome_url.clone()).build()?)
                .build()?,
        ),
        None => header.focus(vec![Some(Reference::builder().reference(outcome_url.clone()).build()?)]),
    }
    .build()?;
    let entries = vec![
        Some(
            BundleEntry::builder()
                .full_url(format!("urn:uuid:{}", parts.header_id))
                .resource(Resource::from(header))
                .build()?,
        ),
        Some(BundleEntry::builder().full_url(outcome_url).resource(Resource::from(outcome)).build()?),
    ];
    let bundle = Bundle::builder()
        .id(parts.bundle_id.to_owned())
        .r#type(BundleType::Message)
        .timestamp(Instant(parts.timestamp))
        .entry(entries)
        .build()?;
    Ok(serde_json::to_vec(&bundle)?)
}

/// The receipt response message for a sender (see [`Receipt`]). Like the acknowledgement it carries the
/// tracking id as an extension; the reported state is a second extension,
/// `{CANONICAL}/StructureDefinition/delivery-state` (a code of `{CANONICAL}/CodeSystem/delivery-state`).
pub fn receipt(receipt: &Receipt<'_>) -> Result<Vec<u8>, FhirError> {
    let state = Extension::builder()
        .url(format!("{CANONICAL}/StructureDefinition/delivery-state"))
        .value(ExtensionValue::Coding(coding(&format!("{CANONICAL}/CodeSystem/delivery-state"), receipt.state)?))
        .build()?;
    response_message(&ResponseParts {
        bundle_id: receipt.bundle_id,
        header_id: receipt.header_id,
        outcome_id: receipt.outcome_id,
        timestamp: receipt.timestamp,
        request_header_id: receipt.request_header_id,
        event: (receipt.event_system, receipt.event_code),
        to: (receipt.recipient_system, receipt.recipient_value, receipt.recipient_endpoint),
        broker_endpoint: receipt.broker_endpoint,
        software_version: receipt.software_version,
        tracking_id: receipt.tracking_id,
        extra: vec![state],
        code: Some(if receipt.ok { ResponseType::Ok } else { ResponseType::FatalError }),
        issues: receipt.issues,
    })
}

/// `MessageHeader.eventCoding` of the broker's own notices (not handovers): `{CANONICAL}/CodeSystem/broker-notice`.
pub const NOTICE_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/broker-notice";

/// A withdrawal: the message telling a candidate that a request forwarded to it needs no answer any
/// more (another candidate was placed). Not a response to anything the candidate sent: event
/// `withdrawal` of [`NOTICE_SYSTEM`], the OperationOutcome as its focus, and the withdrawn message named
/// by the extensions `{CANONICAL}/StructureDefinition/withdrawn-message` (its MessageHeader.id) and
/// `tracking-id`; `delivery-state` is `withdrawn`.
#[derive(Debug, Clone)]
pub struct Withdrawal<'a> {
    pub bundle_id: &'a str,
    pub header_id: &'a str,
    pub outcome_id: &'a str,
    pub timestamp: OffsetDateTime,
    /// `MessageHeader.id` of the withdrawn message, as the candidate received it.
    pub withdrawn_header_id: &'a str,
    /// The candidate: identifier (system, value) and endpoint.
    pub recipient_system: &'a str,
    pub recipient_value: &'a str,
    pub recipient_endpoint: &'a str,
    pub broker_endpoint: &'a str,
    pub software_version: &'a str,
    /// The withdrawn message's tracking id.
    pub tracking_id: &'a str,
    pub issues: &'a [OutcomeIssue<'a>],
}

/// The withdrawal message (see [`Withdrawal`]).
pub fn withdrawal(w: &Withdrawal<'_>) -> Result<Vec<u8>, FhirError> {
    let withdrawn = Extension::builder()
        .url(format!("{CANONICAL}/StructureDefinition/withdrawn-message"))
        .value(ExtensionValue::Id(w.withdrawn_header_id.to_owned()))
        .build()?;
    let state = Extension::builder()
        .url(format!("{CANONICAL}/StructureDefinition/delivery-state"))
        .value(ExtensionValue::Coding(coding(&format!("{CANONICAL}/CodeSystem/delivery-state"), "withdrawn")?))
        .build()?;
    response_message(&ResponseParts {
        bundle_id: w.bundle_id,
        header_id: w.header_id,
        outcome_id: w.outcome_id,
        timestamp: w.timestamp,
        request_header_id: w.withdrawn_header_id,
        event: (NOTICE_SYSTEM, "withdrawal"),
        to: (w.recipient_system, w.recipient_value, w.recipient_endpoint),
        broker_endpoint: w.broker_endpoint,
        software_version: w.software_version,
        tracking_id: w.tracking_id,
        extra: vec![withdrawn, state],
        code: None,
        issues: w.issues,
    })
}

/// The CapabilityStatement of `GET /fhir/metadata`.
/// The broker as the sender's FHIR server for Notified Pull receivers (Twiin, Nuts eOverdracht): their
/// workflow Tasks, the handover as a document, the message as accepted.
fn notified_pull_resources() -> Result<Vec<Option<CapabilityStatementRestResource>>, FhirError> {
    let interaction =
        |code: &str| CapabilityStatementRestResourceInteraction::builder().code(code.to_owned()).build().map(Some);
    let search = |name: &str, kind: SearchParamType| {
        CapabilityStatementRestResourceSearchParam::builder().name(name.to_owned()).r#type(kind).build().map(Some)
    };
    let task = CapabilityStatementRestResource::builder()
        .r#type(ResourceType::Task)
        .documentation(
            "Notified Pull: a receiver's workflow Tasks, one per handover addressed to it (the id is the delivery's). \
             Reading one delivers the handover; PUT or PATCH (application/json-patch+json) of status, businessStatus \
             and statusReason reports progress: received, accepted, in-progress (delivered), completed (accepted by \
             the receiver), rejected or cancelled (refused). If-Match or meta.versionId are honoured."
                .to_owned(),
        )
        .interaction(vec![
            interaction("read")?,
            interaction("search-type")?,
            interaction("update")?,
            interaction("patch")?,
        ])
        .versioning(ResourceVersionPolicy::Versioned)
        .update_create(false)
        .search_param(vec![search("status", SearchParamType::Token)?, search("_lastUpdated", SearchParamType::Date)?])
        .build()?;
    let composition = CapabilityStatementRestResource::builder()
        .r#type(ResourceType::Composition)
        .documentation(
            "GET Composition/{tracking-id}/$document: the handover addressed to the caller as a document Bundle, \
             its entries byte for byte as the sender wrote them."
                .to_owned(),
        )
        .operation(vec![Some(
            CapabilityStatementRestResourceOperation::builder()
                .name("document".to_owned())
                .definition("http://hl7.org/fhir/OperationDefinition/Composition-document".to_owned())
                .build()?,
        )])
        .build()?;
    let bundle = CapabilityStatementRestResource::builder()
        .r#type(ResourceType::Bundle)
        .documentation(
            "POST Bundle?receiver=system|value (repeated): send a FHIR document (Bundle of type document); the \
             broker wraps it in a message of the kind its Composition.type maps to and answers as \
             $process-message does. GET Bundle/{tracking-id}: the message addressed to the caller, exactly as \
             accepted."
                .to_owned(),
        )
        .interaction(vec![interaction("create")?, interaction("read")?])
        .build()?;
    Ok(vec![Some(task), Some(composition), Some(bundle)])
}

pub fn capability_statement(cap: &Capability<'_>) -> Result<Vec<u8>, FhirError> {
    let operation = |name: &str, definition: &str| {
        CapabilityStatementRestResourceOperation::builder()
            .name(name.to_owned())
            .definition(definition.to_owned())
            .build()
    };
    let mut rest = CapabilityStatementRest::builder()
        .mode(RestfulCapabilityMode::Server)
        .documentation(
            "Message broker for patient handovers. Submit FHIR message Bundles to $process-message; \
             follow each with GET receipts/{tracking-id}."
                .to_owned(),
        )
        .security(
            CapabilityStatementRestSecurity::builder()
                .description(
                    "Every request except metadata and health checks needs `Authorization: Bearer <token>`, \
                     a token bound to one organisation and one role."
                        .to_owned(),
                )
                .build()?,
        )
        .operation(vec![
            Some(operation(
                "process-message",
                "http://hl7.org/fhir/OperationDefinition/MessageHeader-process-message",
            )?),
            Some(operation("validate", "http://hl7.org/fhir/OperationDefinition/Resource-validate")?),
            Some(operation("forward", &format!("{CANONICAL}/OperationDefinition/forward"))?),
        ])
        .resource(vec![Some(
            CapabilityStatementRestResource::builder()
                .r#type(ResourceType::MeasureReport)
                .profile(format!("{CANONICAL}/Measure/bed-capacity"))
                .documentation(
                    "Bed capacity per care type (HL7 SANER pattern): providers create their reports; triage points \
                     and auditors search the region's latest and ask for its summary."
                        .to_owned(),
                )
                .interaction(vec![
                    Some(CapabilityStatementRestResourceInteraction::builder().code("create".to_owned()).build()?),
                    Some(CapabilityStatementRestResourceInteraction::builder().code("search-type".to_owned()).build()?),
                ])
                .operation(vec![Some(operation(
                    "region-summary",
                    &format!("{CANONICAL}/OperationDefinition/region-summary"),
                )?)])
                .build()?,
        )])
        .build()?;
    rest.resource.push(Some(
        CapabilityStatementRestResource::builder()
            .r#type(ResourceType::Measure)
            .documentation(
                "GET Measure/handover-quality/$evaluate-measure?periodStart=&periodEnd=&sender=&receiver=&kind=: \
                 the handover-quality MeasureReport (completeness, delivery, timeliness, latencies) for the region \
                 (quality role, auditors) or the caller's own organisation. The same figures as a page: /quality."
                    .to_owned(),
            )
            .operation(vec![Some(operation(
                "evaluate-measure",
                "http://hl7.org/fhir/OperationDefinition/Measure-evaluate-measure",
            )?)])
            .build()?,
    ));
    rest.resource.push(Some(
        CapabilityStatementRestResource::builder()
            .r#type(ResourceType::AuditEvent)
            .documentation(
                "The handover ledger as AuditEvents: auditors search it (patient-identifier, sender, receiver, event, \
                 message, date); a patient portal asks for one patient's handovers, in plain words."
                    .to_owned(),
            )
            .interaction(vec![Some(
                CapabilityStatementRestResourceInteraction::builder().code("search-type".to_owned()).build()?,
            )])
            .build()?,
    ));
    rest.resource.extend(notified_pull_resources()?);
    let supported = cap
        .events
        .iter()
        .map(|e| {
            CapabilityStatementMessagingSupportedMessage::builder()
                .mode(EventCapabilityMode::Receiver)
                .definition(e.definition_url.to_owned())
                .build()
                .map(Some)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let messaging = CapabilityStatementMessaging::builder()
        .endpoint(vec![Some(
            CapabilityStatementMessagingEndpoint::builder()
                .protocol(coding("http://terminology.hl7.org/CodeSystem/message-transport", "http")?)
                .address(format!("{}/$process-message", cap.fhir_base))
                .build()?,
        )])
        .reliable_cache(cap.reliable_cache_minutes)
        .documentation(
            "Duplicates are recognised by (sender, MessageHeader.id) for as long as the message is kept.".to_owned(),
        )
        .supported_message(supported)
        .build()?;
    let statement = CapabilityStatement::builder()
        .status(PublicationStatus::Active)
        .date(DateTime::DateTime(Instant(cap.date)))
        .publisher("handover-broker".to_owned())
        .kind(CapabilityStatementKind::Instance)
        .software(
            CapabilityStatementSoftware::builder()
                .name("handover-broker".to_owned())
                .version(cap.software_version.to_owned())
                .build()?,
        )
        .implementation(
            CapabilityStatementImplementation::builder()
                .description("handover-broker".to_owned())
                .url(cap.fhir_base.to_owned())
                .build()?,
        )
        .fhir_version(FHIRVersion::N401)
        .format(vec![Some("application/fhir+json".to_owned()), Some("application/fhir+xml".to_owned())])
        .rest(vec![Some(rest)])
        .messaging(vec![Some(messaging)])
        .build()?;
    Ok(serde_json::to_vec(&statement)?)
}

fn param(name: &str, value: ParametersParameterValue) -> Result<Option<ParametersParameter>, FhirError> {
    Ok(Some(ParametersParameter::builder().name(name.to_owned()).value(value).build()?))
}

fn part(name: &str, parts: Vec<Option<ParametersParameter>>) -> Result<Option<ParametersParameter>, FhirError> {
    Ok(Some(ParametersParameter::builder().name(name.to_owned()).part(parts).build()?))
}

fn history(entries: &[DeliveryHistory<'_>]) -> Result<Vec<Option<ParametersParameter>>, FhirError> {
    entries
        .iter()
        .map(|h| {
            part(
                "history",
                vec![
                    param("event", ParametersParameterValue::Code(h.event.to_owned()))?,
                    param("at", ParametersParameterValue::Instant(Instant(h.at)))?,
                ],
            )
        })
        .collect()
}

/// The receipt of one message: its state and each delivery's, as a `Parameters` resource.
pub fn receipt_parameters(receipt: &MessageReceipt<'_>) -> Result<Vec<u8>, FhirError> {
    use ParametersParameterValue as V;
    let mut params = vec![
        param("trackingId", V::Id(receipt.tracking_id.to_owned()))?,
        param("messageHeaderId", V::Id(receipt.message_header_id.to_owned()))?,
        param("event", V::Coding(coding(receipt.event_system, receipt.event_code)?))?,
        param("state", V::Code(receipt.state.to_owned()))?,
        param("receivedAt", V::Instant(Instant(receipt.received_at)))?,
    ];
    params.extend(history(&receipt.history)?);
    for d in &receipt.deliveries {
        params.push(delivery(d)?);
    }
    for f in &receipt.forwardings {
        let mut parts = vec![
            param("trackingId", V::Id(f.tracking_id.to_owned()))?,
            param("forwardedBy", V::Identifier(identifier(f.by_system, f.by_value)?))?,
            param("mode", V::Code(f.mode.to_owned()))?,
            param("forwardedAt", V::Instant(Instant(f.at)))?,
        ];
        if let Some(placed) = f.placed_delivery_id {
            parts.push(param("placedDeliveryId", V::Id(placed.to_owned()))?);
        }
        for d in &f.deliveries {
            parts.push(delivery(d)?);
        }
        params.push(part("forwarding", parts)?);
    }
    let parameters = Parameters::builder().id(receipt.tracking_id.to_owned()).parameter(params).build()?;
    Ok(serde_json::to_vec(&parameters)?)
}

/// A `delivery` part: one receiver's delivery with its history.
fn delivery(d: &DeliveryReceipt<'_>) -> Result<Option<ParametersParameter>, FhirError> {
    use ParametersParameterValue as V;
    let attempts = i32::try_from(d.attempts).unwrap_or(i32::MAX);
    let mut parts = vec![
        param("deliveryId", V::Id(d.delivery_id.to_owned()))?,
        param("receiver", V::Identifier(identifier(d.receiver_system, d.receiver_value)?))?,
        param("state", V::Code(d.state.to_owned()))?,
        param("attempts", V::Integer(attempts))?,
        param("updatedAt", V::Instant(Instant(d.updated_at)))?,
    ];
    parts.extend(history(&d.history)?);
    part("delivery", parts)
}

/// Parses `bytes` with fhir-sdk's R4B model and returns the resource type and, for a Bundle, its
/// `type`. For tests and checks of the broker's own output; never used on received messages.
pub fn parse_bundle_type(bytes: &[u8]) -> Result<(String, Option<String>), FhirError> {
    let resource: Resource = serde_json::from_slice(bytes)?;
    let kind = format!("{:?}", resource.resource_type());
    let bundle_type = match &resource {
        Resource::Bundle(b) => Some(b.r#type.to_string()),
        _ => None,
    };
    Ok((kind, bundle_type))
}
