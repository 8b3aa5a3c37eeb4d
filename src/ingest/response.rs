//! Business responses: a receiver answers a handover it received (`MessageHeader.response`:
//! `identifier` = the original `MessageHeader.id`, `code` ok, transient-error or fatal-error, optional
//! OperationOutcome). Only the organisation the message was addressed to may answer it. The answer moves
//! the delivery to `accepted-by-receiver` or `rejected-by-receiver` and queues the sender's receipt, in
//! one transaction with the ledger entry.

use super::{Accepted, IngestError, Ingestor, Submission};
use crate::auth::Principal;
use crate::delivery::push::from_states;
use crate::delivery::settle::Settler;
use crate::delivery::DeliveryState;
use crate::json::Field;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::outcome::{Issue, IssueCode, Severity};
use crate::routing;
use crate::store::{Change, Outbox, Settlement};
use crate::time::Millis;

const RESPONSE: &str = "Bundle.entry[0].resource.response";

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
        let snapshot = self.directory.snapshot();
        let caller_identifier = routing::sender(&snapshot, caller, submission).map_err(|e| match e {
            routing::RoutingError::Forbidden(issues) => IngestError::Forbidden(issues),
            routing::RoutingError::Unroutable(issues) => IngestError::Unroutable(issues),
        })?;
        let target = match submission.response_code() {
            Some("ok") => Some(DeliveryState::AcceptedByReceiver),
            Some("fatal-error") => Some(DeliveryState::RejectedByReceiver),
            Some("transient-error") => None,
            _ => {
                return Err(IngestError::Incomplete(vec![Issue::error(
                    IssueCode::CodeInvalid,
                    "MessageHeader.response.code must be ok, transient-error or fatal-error",
                )
                .at(format!("{RESPONSE}.code"))]))
            }
        };
        // The same answer for a message that does not exist and one addressed to someone else: a
        // receiver learns nothing about other organisations' messages.
        let Some(context) = self.store.delivery_answered(original, caller.org.as_str()).await? else {
            return Err(IngestError::Forbidden(vec![Issue::error(
                IssueCode::Forbidden,
                "no message with this MessageHeader.id was addressed to this organisation; only its receiver \
                 may answer a message",
            )
            .at(format!("{RESPONSE}.identifier"))]));
        };
        let now = Millis::now();
        let mut entry = LedgerRecord::new(LedgerEvent::BusinessResponse, now);
        entry.tracking_id = Some(context.tracking_id.clone());
        entry.header_id = Some(context.header_id.clone());
        entry.delivery_id = Some(context.delivery_id.clone());
        entry.actor_org = Some(caller.org.to_string());
        entry.sender_org = Some(context.sender_org.clone());
        entry.receiver_org = Some(context.receiver_org.clone());
        entry.event_code = Some(context.event_code.clone());
        entry.outcome = submission.response_code().map(str::to_owned);
        let accepted = Accepted {
            tracking_id: context.tracking_id.clone(),
            ack: self.acknowledgement(submission, &caller_identifier, &context.tracking_id, 1, &[], now)?,
            duplicate: false,
        };
        let Some(target) = target else {
            // A transient error promises a final answer later: recorded, nothing changes.
            self.store.writer().append_ledger(vec![entry]).await?;
            return Ok(accepted);
        };
        let receiver_issues = receiver_issues(submission);
        let summary = match target {
            DeliveryState::AcceptedByReceiver => "The receiver accepted the message.",
            _ => "The receiver rejected the message; its reasons follow.",
        };
        let settler = Settler {
            store: self.store.clone(),
            directory: self.directory.clone(),
            base_url: self.base_url.clone(),
            ttl_secs: self.ttl_secs,
            signals: self.signals.clone(),
        };
        let mut ledger = vec![entry];
        let receipt = settler.receipt(&context, target, summary, &receiver_issues, now, &mut ledger);
        let settlement = Settlement {
            outbox: Outbox::Handovers,
            id: context.delivery_id.clone(),
            at: now,
            change: Change::Finish { to: target.as_str(), from: from_states(target), error: None, delivered: false },
            ledger,
            receipt,
        };
        let applied = self.store.writer().settle(vec![settlement]).await?;
        if applied.first() == Some(&true) {
            self.signals.arrived(&context.sender_org);
            return Ok(accepted);
        }
        // Already answered: the same answer again is a resend, another is a conflict.
        let current = self.store.delivery_context(&context.delivery_id).await?.map(|c| c.state);
        if current.as_deref() == Some(target.as_str()) {
            return Ok(Accepted { duplicate: true, ..accepted });
        }
        Err(IngestError::Conflict(
            Issue::error(
                IssueCode::Conflict,
                format!("this delivery is already {}; it cannot become {}", current.unwrap_or_default(), target),
            )
            .at(format!("{RESPONSE}.code")),
        ))
    }
}
