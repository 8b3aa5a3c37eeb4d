//! Ingest: a submitted message from bytes to a committed, acknowledged message.
//!
//! `submit` runs the stages in order and stops at the first that refuses:
//! envelope ([`envelope::parse`], 400) → profiles (completeness, 422) → routing (sender 403,
//! receivers 422) → one store transaction (message, one delivery per receiver, ledger entries) →
//! acknowledgement. The acknowledgement is returned only after the commit; a refused submission
//! leaves nothing behind but its ledger entries.
//!
//! Deduplication follows DESIGN.md section 3: the key is (sender, MessageHeader.id) and the database's
//! UNIQUE keys decide between concurrent duplicates inside the commit; when the key is taken, the
//! resubmission's canonical entries are compared with the stored original's.

mod response;

use std::sync::Arc;

use bytes::Bytes;

use crate::auth::Principal;
use crate::config::Limits;
use crate::delivery::settle::Settler;
use crate::directory::Directory;
use crate::fhirxml::Converter;
use crate::ledger::patient::PatientKeys;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::message::{self, entries_sha256, Submission};
use crate::model::{DeliveryId, EventCode, Format, HeaderId, OrgIdentifier, PatientKey, PayloadHash, TrackingId};
use crate::outcome::{Issue, IssueCode, Text};
use crate::profiles::Catalog;
use crate::routing::{self, RoutePlan, RoutingError};
use crate::store::{CommitOutcome, NewDelivery, NewForwarding, NewMessage, Packed, Store, StoreError};
use crate::time::Millis;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("not a well-formed message Bundle")]
    Envelope(Vec<Issue>),
    #[error("the handover is incomplete")]
    Incomplete(Vec<Issue>),
    #[error("the message's sender is not the caller")]
    Forbidden(Vec<Issue>),
    #[error("the message cannot be routed")]
    Unroutable(Vec<Issue>),
    #[error("the message id or Bundle id was used before for other content")]
    Conflict(Issue),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("cannot build the acknowledgement: {0}")]
    Acknowledgement(#[from] handover_fhir::FhirError),
}

impl From<RoutingError> for IngestError {
    fn from(e: RoutingError) -> Self {
        match e {
            RoutingError::Forbidden(issues) => Self::Forbidden(issues),
            RoutingError::Unroutable(issues) => Self::Unroutable(issues),
        }
    }
}

impl IngestError {
    /// The outcome written to the ledger for a refusal; `None` for the broker's own failures, which
    /// are not a decision about the message.
    fn ledger_outcome(&self) -> Option<String> {
        Some(match self {
            Self::Envelope(_) => "400 invalid-envelope".into(),
            // With the rule it broke first (code and location, indices left out so that the quality
            // report counts a rule, not a position): the broker's own text, no patient data.
            Self::Incomplete(issues) => match issues.iter().find(|i| i.is_error()) {
                Some(first) => {
                    // A profile constraint's issue starts with its key (`hb-pat-1: ...`): the rule's name.
                    let key = first.message.split_once(": ").map(|(key, _)| key).filter(|key| {
                        key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
                    });
                    format!(
                        "422 incomplete: {}{} at {}",
                        first.code.as_str(),
                        key.map(|key| format!(" {key}")).unwrap_or_default(),
                        without_indices(first.expression.as_deref().unwrap_or("Bundle"))
                    )
                }
                None => "422 incomplete".into(),
            },
            Self::Forbidden(_) => "403 sender-mismatch".into(),
            Self::Unroutable(_) => "422 unroutable".into(),
            Self::Conflict(_) => "409 conflict".into(),
            Self::Store(_) | Self::Acknowledgement(_) => return None,
        })
    }
}

/// A FHIRPath location without its indices (`Bundle.entry[3].resource` -> `Bundle.entry.resource`),
/// cut to 200 characters.
fn without_indices(expression: &str) -> String {
    let mut out = String::with_capacity(expression.len());
    let mut in_index = false;
    for c in expression.chars() {
        match c {
            '[' => in_index = true,
            ']' if in_index => in_index = false,
            _ if !in_index => out.push(c),
            _ => {}
        }
    }
    out.chars().take(200).collect()
}

/// A committed message.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub tracking_id: TrackingId,
    /// The acknowledgement response message, exactly as first returned.
    pub ack: Vec<u8>,
    /// An identical resubmission of a message accepted before.
    pub duplicate: bool,
}

/// What the ledger learns about a submission as it goes through the stages.
#[derive(Debug, Default)]
struct Attempt {
    payload_sha256: Option<PayloadHash>,
    header_id: Option<HeaderId>,
    event_code: Option<EventCode>,
    /// The first patient identifier's key (see `ledger::patient`): the ledger's name for the patient.
    patient_key: Option<PatientKey>,
    /// The hash of what the caller sent when the broker built the message from it (a wrapped document):
    /// then `received` names these bytes, and `accepted` the built message's.
    received_sha256: Option<PayloadHash>,
}

/// Runs submissions through the stages. Built once at start (cheap to clone).
#[derive(Clone)]
pub struct Ingestor {
    /// Also the store and the commit signals: a commit wakes the push workers and the receivers'
    /// long-polls at once instead of at their next poll.
    settler: Settler,
    directory: Directory,
    catalog: Arc<Catalog>,
    patient_keys: PatientKeys,
    limits: Limits,
    ttl_secs: u64,
    base_url: String,
    /// FHIR XML in (requests) and out (receivers that take XML).
    xml: Arc<Converter>,
}

impl Ingestor {
    #[allow(clippy::too_many_arguments)] // each is one service object built once in `startup`
    pub fn new(
        settler: Settler,
        directory: Directory,
        catalog: Arc<Catalog>,
        patient_keys: PatientKeys,
        limits: Limits,
        ttl_secs: u64,
        base_url: String,
        xml: Arc<Converter>,
    ) -> Self {
        Self { settler, directory, catalog, patient_keys, limits, ttl_secs, base_url, xml }
    }

    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    fn store(&self) -> &Store {
        self.settler.store()
    }

    /// The settler its commits and answers go through (shared with the flows built on ingest).
    pub fn settler(&self) -> &Settler {
        &self.settler
    }

    /// Accepts, or refuses with the reasons, a message Bundle posted by `caller` in `format`.
    pub async fn submit(&self, caller: &Principal, body: Bytes, format: Format) -> Result<Accepted, IngestError> {
        self.submit_as(caller, Received { bytes: body, format }, None, None).await
    }

    /// Submits a message the broker built around what `caller` sent (`document`: a document Bundle
    /// wrapped in a message): checked, routed, deduplicated and committed like any other, with the
    /// ledger's `received` entry naming `received`, the hash of the bytes the caller sent.
    pub async fn submit_wrapped(
        &self,
        caller: &Principal,
        body: Bytes,
        received: PayloadHash,
    ) -> Result<Accepted, IngestError> {
        self.submit_as(caller, Received { bytes: body, format: Format::Json }, None, Some(received)).await
    }

    /// The ledger entries (`received`, `rejected` with `outcome`) of a submission a flow refused before
    /// it became a message (a document it could not wrap): named by the hash of the bytes received,
    /// with the message id and kind when they were known. Nothing else is stored.
    pub async fn record_refused(
        &self,
        caller: &Principal,
        received: PayloadHash,
        known: (Option<HeaderId>, Option<EventCode>),
        outcome: &str,
    ) {
        tracing::info!(outcome, payload_sha256 = received.as_str(), "submission refused before ingest");
        let (header_id, event_code) = known;
        let attempt = Attempt { payload_sha256: Some(received), header_id, event_code, ..Attempt::default() };
        self.record_rejection(caller, attempt, outcome).await;
    }

    /// The ledger entries (`received`, `rejected` with `outcome`) of a submission the HTTP edge refused
    /// after knowing the caller but before its bytes were all read (a media type it does not take, a
    /// body over the limit or too slow): the caller only, no hash, since there are no bytes to name.
    pub async fn record_refused_unread(&self, caller: &Principal, outcome: &str) {
        tracing::info!(outcome, "submission refused before its body was read");
        self.record_rejection(caller, Attempt::default(), outcome).await;
    }

    /// Submits a message the broker built for a triage point (`forward`): checked, routed and
    /// committed like any other, stored under `tracking_id` together with `link` (the original's move
    /// to `forwarded`), or not at all.
    pub async fn submit_forwarded(
        &self,
        caller: &Principal,
        body: Bytes,
        tracking_id: TrackingId,
        link: NewForwarding,
    ) -> Result<Accepted, IngestError> {
        self.submit_as(caller, Received { bytes: body, format: Format::Json }, Some((tracking_id, link)), None).await
    }

    #[tracing::instrument(skip_all, fields(stage = "ingest", org = %caller.org, message_id, tracking_id, payload_sha256))]
    async fn submit_as(
        &self,
        caller: &Principal,
        body: Received,
        forwarding: Option<(TrackingId, NewForwarding)>,
        received: Option<PayloadHash>,
    ) -> Result<Accepted, IngestError> {
        let mut attempt = Attempt { received_sha256: received, ..Attempt::default() };
        let result = self.process(caller, body, forwarding, &mut attempt).await;
        match &result {
            Ok(accepted) => {
                tracing::Span::current().record("tracking_id", accepted.tracking_id.as_str());
                tracing::info!(duplicate = accepted.duplicate, "message accepted");
            }
            Err(e) => match e.ledger_outcome() {
                Some(outcome) => {
                    tracing::info!(outcome, "message rejected");
                    self.record_rejection(caller, attempt, &outcome).await;
                }
                None => tracing::error!(error = ?e, "message not stored"),
            },
        }
        result
    }

    /// A dry run for `$validate`: every check `submit` makes, nothing stored, the issues returned.
    #[tracing::instrument(skip_all, fields(stage = "ingest", org = %caller.org))]
    pub fn check(&self, caller: &Principal, body: Bytes, format: Format) -> Vec<Issue> {
        let submission = match self.parse(Received { bytes: body, format }) {
            Ok((submission, _)) => submission,
            Err(e) => return e.issues,
        };
        let mut issues = self.catalog.validate(&submission);
        if let Err(RoutingError::Forbidden(more) | RoutingError::Unroutable(more)) =
            routing::plan(&self.directory.snapshot(), caller, &submission)
        {
            issues.extend(more);
        }
        issues
    }

    /// The stages in order: envelope, (business responses apart), profiles, routing, the commit.
    async fn process(
        &self,
        caller: &Principal,
        received: Received,
        forwarding: Option<(TrackingId, NewForwarding)>,
        attempt: &mut Attempt,
    ) -> Result<Accepted, IngestError> {
        let span = tracing::Span::current();
        // The ledger names every submission, refused or not, by the hash of its exact bytes.
        let payload_sha256 = PayloadHash::of(&received.bytes);
        span.record("payload_sha256", payload_sha256.as_str());
        attempt.payload_sha256 = Some(attempt.received_sha256.clone().unwrap_or_else(|| payload_sha256.clone()));
        let format = received.format;
        let (submission, xml) = self.parse(received).map_err(|e| {
            attempt.header_id = e.header_id;
            IngestError::Envelope(e.issues)
        })?;
        span.record("message_id", submission.header_id().as_str());
        attempt.header_id = Some(submission.header_id().clone());
        attempt.event_code = Some(submission.event().code.clone());
        let patient_keys = self.patient_keys.of_bundle(submission.document());
        attempt.patient_key = patient_keys.first().cloned();

        if let (Some(original), None) = (submission.response_to(), &forwarding) {
            return self.answer(caller, &submission, original).await;
        }
        let issues = self.catalog.validate(&submission);
        if issues.iter().any(Issue::is_error) {
            return Err(IngestError::Incomplete(issues));
        }
        // What remains are warnings: they do not block, and the acknowledgement tells the sender.
        let plan = routing::plan(&self.directory.snapshot(), caller, &submission)?;
        let (tracking_id, link) = match forwarding {
            Some((tracking_id, link)) => (tracking_id, Some(Box::new(link))),
            None => (TrackingId::generate(), None),
        };
        let forms = Forms { format, payload_sha256, xml, wrapped_from: attempt.received_sha256.clone() };
        let (mut message, ack) =
            self.new_message(caller, &submission, &plan, &issues, (tracking_id, forms), patient_keys)?;
        message.forwarding = link;
        self.commit(&submission, &plan, message, ack).await
    }

    /// The message as it is stored: with its acknowledgement, one delivery per route and the ledger
    /// entries of its acceptance.
    fn new_message(
        &self,
        caller: &Principal,
        submission: &Submission,
        plan: &RoutePlan,
        warnings: &[Issue],
        (tracking_id, forms): (TrackingId, Forms),
        patient_keys: Vec<PatientKey>,
    ) -> Result<(NewMessage, Vec<u8>), IngestError> {
        let Forms { format: received_format, payload_sha256, xml, wrapped_from } = forms;
        let now = Millis::now();
        // The acknowledgement is kept (a resend gets it again): its warnings are in the first sender's language.
        let lang = crate::i18n::answer_language();
        let texts: Vec<_> = warnings.iter().map(|warning| warning.text_in(lang)).collect();
        let warnings: Vec<handover_fhir::OutcomeIssue<'_>> =
            warnings.iter().zip(&texts).map(|(warning, text)| warning.to_fhir(text)).collect();
        let ack =
            self.acknowledgement(submission, &plan.sender_identifier, &tracking_id, plan.routes.len(), &warnings, now)?;
        let entry = |event| {
            LedgerRecord::new(event, now)
                .tracking(tracking_id.clone())
                .header(submission.header_id().clone())
                .actor(caller.org.clone())
                .sender(caller.org.clone())
                .event_code(submission.event().code.clone())
        };
        // The patient key is chained once, on `received`; the message's other entries (now and later)
        // are found by patient through `message_patients`, which holds every key of the message. Keys on
        // every entry would cost each message two more index entries in the ledger.
        // Each form the message is kept in has its hash in the ledger: `received` the bytes received,
        // `accepted` the other form when one was made (the JSON checked, or the XML for receivers that
        // take XML; for a message the broker built from what the caller sent, a wrapped document, the
        // message stored), and each `routed` entry the form that receiver gets.
        let json_sha256 = match received_format {
            Format::Json => payload_sha256.clone(),
            Format::Xml => PayloadHash::of(submission.payload()),
        };
        let wants_xml = |route: &routing::Route| route.format == Format::Xml;
        let xml = match (received_format, xml) {
            (Format::Xml, xml) => xml,
            (Format::Json, _) if plan.routes.iter().any(wants_xml) => Some(self.xml_for_receivers(submission)?),
            (Format::Json, _) => None,
        };
        let xml_sha256 = xml.as_ref().map(|xml| match received_format {
            Format::Xml => payload_sha256.clone(),
            Format::Json => PayloadHash::of(xml),
        });
        let other = match received_format {
            Format::Json => xml_sha256.clone(),
            Format::Xml => Some(json_sha256.clone()),
        };
        let accepted = match (&wrapped_from, other) {
            (Some(_), _) => entry(LedgerEvent::Accepted).outcome("202").payload(payload_sha256.clone()),
            (None, Some(hash)) => entry(LedgerEvent::Accepted).outcome("202 kept as JSON and XML").payload(hash),
            (None, None) => entry(LedgerEvent::Accepted).outcome("202"),
        };
        let received = wrapped_from.unwrap_or_else(|| payload_sha256.clone());
        let mut ledger =
            vec![entry(LedgerEvent::Received).payload(received).patient(patient_keys.first().cloned()), accepted];
        let mut deliveries = Vec::with_capacity(plan.routes.len());
        for route in &plan.routes {
            let delivery_id = DeliveryId::generate();
            let mut routed = entry(LedgerEvent::Routed).delivery(delivery_id.clone()).receiver(route.receiver.clone());
            if route.format != received_format {
                let gets = if route.format == Format::Xml { xml_sha256.clone() } else { Some(json_sha256.clone()) };
                routed = routed.payload(gets).outcome(format!("as {}", route.format));
            }
            ledger.push(routed);
            deliveries.push(NewDelivery {
                delivery_id,
                receiver_org: route.receiver.clone(),
                receiver_system: route.identifier.system().to_owned(),
                receiver_value: route.identifier.value().to_owned(),
                expires_at: now.plus_secs(self.ttl_secs),
            });
        }
        let message = NewMessage {
            tracking_id,
            sender_org: caller.org.clone(),
            header_id: submission.header_id().clone(),
            bundle_id: submission.bundle_id().map(str::to_owned),
            event_system: submission.event().system.clone(),
            event_code: submission.event().code.clone(),
            payload_sha256,
            // Packed here, on the HTTP worker, so that the single writer only copies the smaller bytes.
            payload: Packed::new(submission.payload()),
            stay_ended_at: submission.stay_ended_at(),
            warnings: u32::try_from(warnings.len()).unwrap_or(u32::MAX),
            received_format,
            payload_xml: xml.as_deref().map(Packed::new),
            ack: Packed::new(&ack),
            received_at: now,
            want_infack: submission.handling().infack.unwrap_or(true),
            want_busack: submission.handling().busack.unwrap_or(true),
            priority: submission.priority(),
            patient_keys,
            deliveries,
            ledger,
            forwarding: None,
        };
        Ok((message, ack))
    }

    /// Commits the message (through the writer's group commit) and answers: accepted, an identical
    /// resend of an accepted message, or a conflict with one.
    async fn commit(
        &self,
        submission: &Submission,
        plan: &RoutePlan,
        message: NewMessage,
        ack: Vec<u8>,
    ) -> Result<Accepted, IngestError> {
        let tracking_id = message.tracking_id.clone();
        let conflict = |text: Text, at: &str| Err(IngestError::Conflict(Issue::says(IssueCode::Conflict, text).at(at)));
        match self.store().writer().accept(message).await? {
            CommitOutcome::Stored => {
                for route in &plan.routes {
                    self.settler.signals().arrived(&route.receiver);
                }
                Ok(Accepted { tracking_id, ack, duplicate: false })
            }
            CommitOutcome::KeyTaken { tracking_id, ack, payload } if same_entries(submission, payload.as_deref()) => {
                Ok(Accepted { tracking_id, ack, duplicate: true })
            }
            CommitOutcome::KeyTaken { payload: None, .. } => conflict(
                Text::new("ingest-header-id-purged").arg("header", submission.header_id()),
                "Bundle.entry[0].resource.id",
            ),
            CommitOutcome::KeyTaken { .. } => conflict(
                Text::new("ingest-header-id-reused").arg("header", submission.header_id()),
                "Bundle.entry[0].resource.id",
            ),
            CommitOutcome::OriginalMoved => conflict(Text::new("ingest-original-moved"), "Parameters"),
            CommitOutcome::BundleIdReused => conflict(Text::new("ingest-bundle-id-reused"), "Bundle.id"),
        }
    }

    /// The acknowledgement response message for a committed submission.
    fn acknowledgement(
        &self,
        submission: &Submission,
        sender: &OrgIdentifier,
        tracking_id: &TrackingId,
        receivers: usize,
        warnings: &[handover_fhir::OutcomeIssue<'_>],
        now: Millis,
    ) -> Result<Vec<u8>, IngestError> {
        let receipt_url = format!("{}/fhir/receipts/{tracking_id}", self.base_url);
        Ok(handover_fhir::acknowledgement(&handover_fhir::Acknowledgement {
            bundle_id: &uuid::Uuid::new_v4().to_string(),
            header_id: &uuid::Uuid::new_v4().to_string(),
            outcome_id: &uuid::Uuid::new_v4().to_string(),
            timestamp: now.to_datetime(),
            request_header_id: submission.header_id(),
            event_system: &submission.event().system,
            event_code: &submission.event().code,
            sender_system: sender.system(),
            sender_value: sender.value(),
            sender_endpoint: submission.source_endpoint(),
            broker_endpoint: &format!("{}/fhir", self.base_url),
            software_version: env!("CARGO_PKG_VERSION"),
            tracking_id,
            receipt_url: &receipt_url,
            receivers,
            warnings,
        })?)
    }

    /// The envelope of a submission, read from JSON or (straight into the same tree) from XML; with the
    /// XML received, which is kept beside the JSON written from it. XML that cannot be read is an
    /// envelope error: 400, like JSON that cannot be parsed.
    fn parse(&self, received: Received) -> Result<(Submission, Option<Bytes>), message::EnvelopeError> {
        match received.format {
            Format::Json => Ok((message::parse(received.bytes, &self.limits)?, None)),
            Format::Xml => {
                let submission = self.xml.read_message(received.bytes.clone(), &self.limits)?;
                Ok((submission, Some(received.bytes)))
            }
        }
    }

    /// The XML of a message received as JSON, for its receivers that take XML. The broker's model
    /// knows every element a checked message holds, so this fails only on a defect of its own.
    fn xml_for_receivers(&self, submission: &Submission) -> Result<Bytes, IngestError> {
        self.xml.write(submission.payload()).map(Bytes::from).map_err(|e| {
            IngestError::Envelope(vec![Issue::says(
                IssueCode::NotSupported,
                Text::new("ingest-xml-unwritable").arg("problem", &e.problem),
            )])
        })
    }

    /// Ledger entries for a refused submission. Failing to write them is logged, not returned: the
    /// client's answer is the refusal either way.
    async fn record_rejection(&self, caller: &Principal, attempt: Attempt, outcome: &str) {
        let now = Millis::now();
        let entry = |event| {
            LedgerRecord::new(event, now)
                .header(attempt.header_id.clone())
                .actor(caller.org.clone())
                .sender(caller.org.clone())
                .event_code(attempt.event_code.clone())
                .patient(attempt.patient_key.clone())
        };
        let received = entry(LedgerEvent::Received).payload(attempt.payload_sha256.clone());
        let rejected = entry(LedgerEvent::Rejected).outcome(outcome);
        if let Err(e) = self.store().writer().append_ledger(vec![received, rejected]).await {
            tracing::error!(error = ?e, "cannot write the ledger entry of a rejection");
        }
    }
}

/// A request body and the format its `Content-Type` names.
struct Received {
    bytes: Bytes,
    format: Format,
}

/// The forms of an accepted message beside its JSON: the format received, the hash of the bytes
/// received, and the XML received; for a message the broker built from what the caller sent (a wrapped
/// document), the hash of those bytes.
struct Forms {
    format: Format,
    payload_sha256: PayloadHash,
    xml: Option<Bytes>,
    wrapped_from: Option<PayloadHash>,
}

/// Whether a resubmission carries the entries of the stored original (compared by canonical hash, so
/// a resend with a new Bundle.id, timestamp, meta, key order or white space is the same message).
/// A purged original cannot be compared, and a changed message must not pass for it: not the same.
fn same_entries(submission: &Submission, stored: Option<&[u8]>) -> bool {
    let Some(stored) = stored else { return false };
    match serde_json::from_slice::<serde_json::Value>(stored) {
        Ok(original) => entries_sha256(&original) == submission.entries_sha256(),
        Err(_) => false,
    }
}
