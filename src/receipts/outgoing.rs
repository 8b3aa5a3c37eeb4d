//! Receipts as messages: the response message a sender gets when one of its deliveries is delivered,
//! fails, expires, or is accepted or rejected by the receiver (NHS ITK3's two tiers: infrastructure and
//! business). The message is queued in the receipts outbox in the same transaction as the state change
//! it reports, and reaches the sender by its own delivery mode. An `overdue` receipt says that a
//! receiver has not answered a request within its response time: no state change, but news for the
//! sender all the same.

use crate::directory::Snapshot;
use crate::i18n::Language;
use crate::model::{
    DeliveryId, DeliveryState, HeaderId, Organization, Priority, ReceiptKind, ReceiptPreference, ResponseTime,
};
use crate::outcome::{Issue, Severity, Text};
use crate::store::{DeliveryContext, NewReceipt};
use crate::time::Millis;

/// What a receipt needs besides the delivery.
pub struct ReceiptInput<'a> {
    pub state: DeliveryState,
    /// One line for the sender: what happened (no patient data), written in its language.
    pub summary: &'a Text,
    /// The receiver's own issues, for a business response.
    pub receiver_issues: &'a [Issue],
    pub base_url: &'a str,
    pub now: Millis,
    pub ttl_secs: u64,
}

/// Whether the sender wants a receipt for `state` (its handling keys; non-delivery always).
pub fn wanted(context: &DeliveryContext, state: DeliveryState) -> bool {
    match state {
        DeliveryState::Delivered => context.want_infack,
        // Forwarding and withdrawal are steps towards the business answer.
        DeliveryState::AcceptedByReceiver
        | DeliveryState::RejectedByReceiver
        | DeliveryState::Forwarded
        | DeliveryState::Withdrawn => context.want_busack,
        DeliveryState::Failed | DeliveryState::Expired => true,
        DeliveryState::Queued => false,
    }
}

/// The receipt for `context`'s sender, or `None` when it is not wanted or the sender has left the
/// directory (the state stays queryable at `GET /fhir/receipts/{id}` either way).
pub fn receipt_for(
    directory: &Snapshot,
    context: &DeliveryContext,
    input: &ReceiptInput<'_>,
) -> Result<Option<NewReceipt>, handover_fhir::FhirError> {
    if !wanted(context, input.state) {
        return Ok(None);
    }
    let Some(sender) = directory.organizations().iter().find(|o| o.id == context.sender_org) else {
        return Ok(None);
    };
    // The sender's standing preference from the directory; the message's handling keys only narrow it.
    match sender.receipts {
        ReceiptPreference::None => return Ok(None),
        ReceiptPreference::BusinessOnly if input.state == DeliveryState::Delivered => return Ok(None),
        _ => {}
    }
    let lang = sender.language.unwrap_or(Language::En);
    let receiver = format!("{}|{}", context.receiver_system, context.receiver_value);
    let about = Text::new("receipt-about").arg("receiver", receiver).arg("tracking", &context.tracking_id);
    let summary = format!("{} {}", input.summary.render(lang), about.render(lang));
    let ok =
        matches!(input.state, DeliveryState::Delivered | DeliveryState::AcceptedByReceiver | DeliveryState::Forwarded);
    let mut issues = vec![handover_fhir::OutcomeIssue {
        severity: if ok { handover_fhir::OutcomeSeverity::Information } else { handover_fhir::OutcomeSeverity::Error },
        code: if ok { "informational" } else { "processing" },
        diagnostics: &summary,
        expression: None,
    }];
    let passed_on: Vec<&Issue> = input.receiver_issues.iter().filter(|i| i.severity != Severity::Information).collect();
    issues.extend(passed_on.iter().map(|issue| issue.to_fhir(&issue.message)));
    let message =
        Message { state: input.state.as_str(), ok, issues: &issues, base_url: input.base_url, now: input.now };
    let Some((receipt_id, header_id, payload)) = build(sender, context, &message)? else { return Ok(None) };
    Ok(Some(NewReceipt {
        receipt_id,
        tracking_id: context.tracking_id.clone(),
        delivery_id: context.delivery_id.clone(),
        recipient_org: context.sender_org.clone(),
        kind: input.state.into(),
        header_id,
        payload,
        expires_at: input.now.plus_secs(input.ttl_secs),
    }))
}

/// What an overdue receipt says besides the delivery.
pub struct OverdueInput<'a> {
    pub priority: Priority,
    pub within: ResponseTime,
    /// When the response was due.
    pub due: Millis,
    pub base_url: &'a str,
    pub now: Millis,
    pub ttl_secs: u64,
}

/// The `overdue` receipt for `context`'s sender: the receiver has not answered within its response
/// time. `None` when the sender wants no receipts at all or has left the directory (the ledger has the
/// `overdue` entry either way). Sent whatever the message's handling keys say, like non-delivery:
/// an unanswered urgent request is what a sender must hear of. Its response code is `ok` (nothing was
/// refused, the request still stands) with a warning; the delivery-state extension says `overdue`.
pub fn overdue_receipt_for(
    directory: &Snapshot,
    context: &DeliveryContext,
    input: &OverdueInput<'_>,
) -> Result<Option<NewReceipt>, handover_fhir::FhirError> {
    let Some(sender) = directory.organizations().iter().find(|o| o.id == context.sender_org) else {
        return Ok(None);
    };
    if sender.receipts == ReceiptPreference::None {
        return Ok(None);
    }
    let diagnostics = Text::new("receipt-overdue")
        .arg("receiver", format!("{}|{}", context.receiver_system, context.receiver_value))
        .arg("priority", input.priority)
        .arg("within", input.within)
        .arg("due", input.due.to_rfc3339_secs())
        .arg("tracking", &context.tracking_id)
        .render(sender.language.unwrap_or(Language::En));
    let issues = [handover_fhir::OutcomeIssue {
        severity: handover_fhir::OutcomeSeverity::Warning,
        code: "timeout",
        diagnostics: &diagnostics,
        expression: None,
    }];
    let message = Message { state: "overdue", ok: true, issues: &issues, base_url: input.base_url, now: input.now };
    let Some((receipt_id, header_id, payload)) = build(sender, context, &message)? else { return Ok(None) };
    Ok(Some(NewReceipt {
        receipt_id,
        tracking_id: context.tracking_id.clone(),
        delivery_id: context.delivery_id.clone(),
        recipient_org: context.sender_org.clone(),
        kind: ReceiptKind::Overdue,
        header_id,
        payload,
        expires_at: input.now.plus_secs(input.ttl_secs),
    }))
}

/// What one receipt message says.
struct Message<'a> {
    /// The delivery-state extension's code.
    state: &'a str,
    /// `MessageHeader.response.code` `ok` (else `fatal-error`).
    ok: bool,
    issues: &'a [handover_fhir::OutcomeIssue<'a>],
    base_url: &'a str,
    now: Millis,
}

/// The receipt message to `sender` about `context`'s delivery, with its new id and `MessageHeader.id`;
/// `None` when the sender has no identifier to address it by.
fn build(
    sender: &Organization,
    context: &DeliveryContext,
    message: &Message<'_>,
) -> Result<Option<(DeliveryId, HeaderId, Vec<u8>)>, handover_fhir::FhirError> {
    let Some(identifier) = sender.identifiers.first() else { return Ok(None) };
    let receipt_id = DeliveryId::generate();
    let header_id = HeaderId::generate();
    let payload = handover_fhir::receipt(&handover_fhir::Receipt {
        bundle_id: &uuid::Uuid::new_v4().to_string(),
        header_id: &header_id,
        outcome_id: &uuid::Uuid::new_v4().to_string(),
        timestamp: message.now.to_datetime(),
        request_header_id: &context.header_id,
        event_system: &context.event_system,
        event_code: &context.event_code,
        recipient_system: identifier.system(),
        recipient_value: identifier.value(),
        recipient_endpoint: &sender.address,
        broker_endpoint: &format!("{}/fhir", message.base_url),
        software_version: env!("CARGO_PKG_VERSION"),
        tracking_id: &context.tracking_id,
        state: message.state,
        ok: message.ok,
        issues: message.issues,
    })?;
    Ok(Some((receipt_id, header_id, payload)))
}

/// The withdrawal for the candidate of `context` (a delivery of a forwarded message): another candidate
/// was placed, so the request needs no answer. Queued in the receipts outbox to the candidate, and
/// delivered by its own delivery mode like a receipt. `None` if the candidate left the directory.
pub fn withdrawal_for(
    directory: &Snapshot,
    context: &DeliveryContext,
    input: &ReceiptInput<'_>,
) -> Result<Option<NewReceipt>, handover_fhir::FhirError> {
    let Some(candidate) = directory.organizations().iter().find(|o| o.id == context.receiver_org) else {
        return Ok(None);
    };
    let header_id = HeaderId::generate();
    let lang = candidate.language.unwrap_or(Language::En);
    let about = Text::new("withdrawal-about").arg("tracking", &context.tracking_id).arg("header", &context.header_id);
    let summary = format!("{} {}", input.summary.render(lang), about.render(lang));
    let issues = [handover_fhir::OutcomeIssue {
        severity: handover_fhir::OutcomeSeverity::Information,
        code: "informational",
        diagnostics: &summary,
        expression: None,
    }];
    let payload = handover_fhir::withdrawal(&handover_fhir::Withdrawal {
        bundle_id: &uuid::Uuid::new_v4().to_string(),
        header_id: &header_id,
        outcome_id: &uuid::Uuid::new_v4().to_string(),
        timestamp: input.now.to_datetime(),
        withdrawn_header_id: &context.header_id,
        recipient_system: &context.receiver_system,
        recipient_value: &context.receiver_value,
        recipient_endpoint: &candidate.address,
        broker_endpoint: &format!("{}/fhir", input.base_url),
        software_version: env!("CARGO_PKG_VERSION"),
        tracking_id: &context.tracking_id,
        issues: &issues,
    })?;
    Ok(Some(NewReceipt {
        receipt_id: DeliveryId::generate(),
        tracking_id: context.tracking_id.clone(),
        delivery_id: context.delivery_id.clone(),
        recipient_org: context.receiver_org.clone(),
        kind: DeliveryState::Withdrawn.into(),
        header_id,
        payload,
        expires_at: input.now.plus_secs(input.ttl_secs),
    }))
}
