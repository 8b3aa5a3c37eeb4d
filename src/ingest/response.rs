//! Business responses: a receiver answers a handover it received (`MessageHeader.response`:
//! `identifier` = the original `MessageHeader.id`, `code` ok, transient-error or fatal-error, optional
//! OperationOutcome). Only the organisation the message was addressed to may answer it. The answer moves
//! the delivery to `accepted-by-receiver` or `rejected-by-receiver` and queues the sender's receipt, in
//! one transaction with the ledger entry.

use super::{Accepted, IngestError, Ingestor};
use crate::auth::Principal;
use crate::delivery::settle::Answered;
use crate::json::Field;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::message::Submission;
use crate::model::{DeliveryState, HeaderId, OrgId};
use crate::outcome::{Issue, IssueCode, Severity, Text};
use crate::routing;
use crate::store::DeliveryContext;
use crate::time::Millis;

const RESPONSE: &str = "Bundle.entry[0].resource.response";

/// What a response code asks for: a final state, or (transient-error) nothing yet.
fn requested_state(submission: &Submission) -> Result<Option<DeliveryState>, IngestError> {
    match submission.response_code() {
        Some("ok") => Ok(Some(DeliveryState::AcceptedByReceiver)),
        Some("fatal-error") => Ok(Some(DeliveryState::RejectedByReceiver)),
        Some("transient-error") => Ok(None),
        _ => Err(IngestError::Incomplete(vec![
            Issue::says(IssueCode::CodeInvalid, Text::new("ingest-response-code")).at(format!("{RESPONSE}.code"))
        ])),
    }
}

/// The issues of the first OperationOutcome in the response Bundle (the receiver's reasons).
fn receiver_issues(submission: &Submission) -> Vec<Issue> {
    let entries = submission.document().items("entry");
    let outcome = entries
        .iter()
        .filter_map(|e| e.field("resource"))
        .find(|r| r.str_field("resourceType") == Some("OperationOutcome"));
    let Some(outcome) = outcome else { return Vec::new() };
    outcome
        .items("issue")
        .iter()
        .take(100)
        .map(|issue| Issue {
            severity: match issue.str_field("severity") {
                Some("fatal") => Severity::Fatal,
                Some("error") => Severity::Error,
                Some("warning") => Severity::Warning,
                _ => Severity::Information,
            },
            code: IssueCode::from_code(issue.str_field("code").unwrap_or_default()),
            message: issue
                .str_field("diagnostics")
                .or_else(|| issue.field("details").and_then(|d| d.str_field("text")))
                .unwrap_or("(no text)")
                .chars()
                .take(1000)
                .collect(),
            expression: issue.items("expression").first().and_then(|e| e.as_str()).map(str::to_owned),
            // The receiver's own words, passed on as written.
            text: None,
        })
        .collect()
}

impl Ingestor {
    /// Takes a receiver's business response to a message delivered to it.
    pub(super) async fn answer(
        &self,
        caller: &Principal,
        submission: &Submission,
        original: &str,
    ) -> Result<Accepted, IngestError> {
        let issues = self.catalog.validate_response(submission);
        if issues.iter().any(Issue::is_error) {
            return Err(IngestError::Incomplete(issues));
        }
        let snapshot = self.directory.snapshot();
        let caller_identifier = routing::sender(&snapshot, caller, submission)?;
        let target = requested_state(submission)?;
        let context =
            self.answered_delivery(caller, original, &routing::named_receivers(&snapshot, submission)).await?;
        let now = Millis::now();
        let entry = LedgerRecord::new(LedgerEvent::BusinessResponse, now)
            .tracking(context.tracking_id.clone())
            .header(context.header_id.clone())
            .delivery(context.delivery_id.clone())
            .actor(caller.org.clone())
            .sender(context.sender_org.clone())
            .receiver(context.receiver_org.clone())
            .event_code(context.event_code.clone());
        let entry = match submission.response_code() {
            Some(code) => entry.outcome(code),
            None => entry,
        };
        let accepted = Accepted {
            tracking_id: context.tracking_id.clone(),
            ack: self.acknowledgement(submission, &caller_identifier, &context.tracking_id, 1, &[], now)?,
            duplicate: false,
        };
        let Some(target) = target else {
            // A transient error promises a final answer later: recorded, nothing changes.
            self.store().writer().append_ledger(vec![entry]).await?;
            return Ok(accepted);
        };
        match self.settler.answer(&context, target, entry, &receiver_issues(submission)).await? {
            Answered::Applied => return Ok(accepted),
            Answered::PlacedElsewhere => {
                return Err(IngestError::Conflict(
                    Issue::says(IssueCode::Conflict, Text::new("ingest-placed-elsewhere"))
                        .at(format!("{RESPONSE}.code")),
                ))
            }
            Answered::Moved => {}
        }
        // Already answered: the same answer again is a resend, another is a conflict.
        let current = self.store().delivery_context(&context.delivery_id).await?.map(|c| c.state);
        if current == Some(target) && self.answered_by(&context, &caller.org).await? {
            return Ok(Accepted { duplicate: true, ..accepted });
        }
        let text = match current {
            Some(current) if current == target => Text::new("ingest-answered-by-forwardee").arg("current", current),
            Some(current) => Text::new("ingest-already-answered").arg("current", current).arg("target", target),
            None => Text::new("ingest-cannot-become").arg("target", target),
        };
        Err(IngestError::Conflict(Issue::says(IssueCode::Conflict, text).at(format!("{RESPONSE}.code"))))
    }

    /// Whether the last answer of this delivery was `org`'s own: a forwarded message is answered by the
    /// organisation it was forwarded to, and the same code from its first receiver is then no resend.
    async fn answered_by(&self, context: &DeliveryContext, org: &OrgId) -> Result<bool, IngestError> {
        let entries = self.store().ledger_for_message(&context.tracking_id).await?;
        let last = entries
            .iter()
            .rev()
            .find(|e| e.event == LedgerEvent::BusinessResponse && e.delivery_id.as_ref() == Some(&context.delivery_id));
        Ok(last.is_some_and(|e| e.actor_org.as_ref() == Some(org)))
    }

    /// The delivery a response answers: addressed to the caller (the author of the response), of the
    /// message with the answered `MessageHeader.id` from the original sender the response is addressed
    /// to. `MessageHeader.id` is unique per sender only, so the id alone may name the messages of
    /// several senders: then the response must say whose it answers. The same answer for a message that
    /// does not exist and one addressed to someone else: a receiver learns nothing about other
    /// organisations' messages.
    async fn answered_delivery(
        &self,
        caller: &Principal,
        original: &str,
        addressees: &[OrgId],
    ) -> Result<DeliveryContext, IngestError> {
        // A handful at most: the senders that happened to use the same id for this receiver.
        const CANDIDATES: usize = 16;
        let candidates = match HeaderId::parse(original) {
            Some(original) => self.store().deliveries_answered(&original, &caller.org, CANDIDATES).await?,
            None => Vec::new(),
        };
        let mut answered: Vec<DeliveryContext> = match addressees {
            [] => candidates,
            named => candidates.into_iter().filter(|c| named.contains(&c.sender_org)).collect(),
        };
        match answered.len() {
            0 => {
                Err(IngestError::Forbidden(vec![Issue::says(IssueCode::Forbidden, Text::new("ingest-not-addressed"))
                    .at(format!("{RESPONSE}.identifier"))]))
            }
            1 => Ok(answered.remove(0)),
            _ => Err(IngestError::Incomplete(vec![Issue::says(
                IssueCode::Required,
                Text::new("ingest-several-originals"),
            )
            .at("Bundle.entry[0].resource.destination")])),
        }
    }
}
