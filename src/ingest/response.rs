//! Business responses: a receiver answers a handover it received (`MessageHeader.response`:
//! `identifier` = the original `MessageHeader.id`, `code` ok, transient-error or fatal-error, optional
//! OperationOutcome). Only the organisation the message was addressed to may answer it. The answer moves
//! the delivery to `accepted-by-receiver` or `rejected-by-receiver` and queues the sender's receipt, in
//! one transaction with the ledger entry.

use super::{Accepted, IngestError, Ingestor};
use crate::auth::Principal;
use crate::json::Field;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::message::Submission;
use crate::model::{DeliveryState, HeaderId};
use crate::outcome::{Issue, IssueCode, Severity};
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
        _ => Err(IngestError::Incomplete(vec![Issue::error(
            IssueCode::CodeInvalid,
            "MessageHeader.response.code must be ok, transient-error or fatal-error",
        )
        .at(format!("{RESPONSE}.code"))])),
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
        let caller_identifier = routing::sender(&self.directory.snapshot(), caller, submission)?;
        let target = requested_state(submission)?;
        let context = self.answered_delivery(caller, original).await?;
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
        if self.settler.answer(&context, target, entry, &receiver_issues(submission)).await? {
            return Ok(accepted);
        }
        // Already answered: the same answer again is a resend, another is a conflict.
        let current = self.store().delivery_context(&context.delivery_id).await?.map(|c| c.state);
        if current == Some(target) {
            return Ok(Accepted { duplicate: true, ..accepted });
        }
        let current = current.map(DeliveryState::as_str).unwrap_or_default();
        Err(IngestError::Conflict(
            Issue::error(IssueCode::Conflict, format!("this delivery is already {current}; it cannot become {target}"))
                .at(format!("{RESPONSE}.code")),
        ))
    }

    /// The delivery to the caller of the message a response answers. The same answer for a message
    /// that does not exist and one addressed to someone else: a receiver learns nothing about other
    /// organisations' messages.
    async fn answered_delivery(&self, caller: &Principal, original: &str) -> Result<DeliveryContext, IngestError> {
        let context = match HeaderId::parse(original) {
            Some(original) => self.store().delivery_answered(&original, &caller.org).await?,
            None => None,
        };
        context.ok_or_else(|| {
            IngestError::Forbidden(vec![Issue::error(
                IssueCode::Forbidden,
                "no message with this MessageHeader.id was addressed to this organisation; only its receiver \
                 may answer a message",
            )
            .at(format!("{RESPONSE}.identifier"))])
        })
    }
}
