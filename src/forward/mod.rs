//! Forwarding (issue 14): a regional triage point passes on a request it received, and the broker keeps
//! the chain.
//!
//! The forwarded message is built by the broker ([`build`]), never retyped by the triage point, and
//! goes through ingest like any message (validated, routed, committed with its ledger entries). Its
//! commit also moves the triage point's delivery of the original to `forwarded`, stores the link
//! (`forwardings`), writes the `forwarded` ledger entry and queues the original sender's receipt, in
//! one transaction: a forwarding is either all there or not at all, and two racing forwardings of one
//! message cannot both be stored. What the candidates answer then follows the chain back (see
//! `delivery::settle`): the first acceptance answers the original, and in mode `first-accept` withdraws
//! the other candidates.
//!
//! `$forward` is idempotent: asking again for a forwarding that is still open, with the same receivers
//! and mode, answers with the first one's acknowledgement. Forwarding the same message again is allowed
//! once every candidate of the earlier forwarding has declined (or could not be reached).

mod build;
mod escalation;

/// The byte ranges of a stored message's entries: how a document is cut from it too (`notified`).
pub use build::{build, Destination, ForwardError, Forwarding, FORWARDED_FROM_URL, MAX_NOTE_CHARS, MAX_RECEIVERS};
pub use escalation::{escalate, Escalation, Escalator};

use bytes::Bytes;
use serde_json::Value;

use crate::auth::Principal;
use crate::delivery::settle::Settler;
use crate::directory::Directory;
use crate::ingest::{Accepted, IngestError, Ingestor};
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{DeliveryId, DeliveryState, ForwardMode, OrgId, OrgIdentifier, TrackingId};
use crate::outcome::{Issue, IssueCode, Text};
use crate::store::{DeliveryContext, ForwardingRecord, NewForwarding, Received, StoreError};
use crate::time::Millis;

/// Why a forwarding was refused.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    #[error("only a regional triage point forwards messages")]
    NotTriagePoint,
    #[error("the forwarding request is not valid")]
    Request(Vec<Issue>),
    #[error("no such message was delivered to this organisation")]
    NotFound,
    #[error("the message's payload was purged")]
    Purged,
    #[error("the message cannot be forwarded now")]
    Conflict(Issue),
    #[error(transparent)]
    Build(#[from] ForwardError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a triage point asks: the `Parameters` of `$forward`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub receivers: Vec<OrgIdentifier>,
    pub mode: ForwardMode,
    pub note: Option<String>,
    /// `tracking-id`: the message to forward, for `POST /fhir/$forward` (a pushed message).
    pub tracking_id: Option<String>,
}

fn invalid(text: Text, at: String) -> FlowError {
    FlowError::Request(vec![Issue::says(IssueCode::Invalid, text).at(at)])
}

impl Request {
    /// Reads `Parameters` with `receiver` (valueIdentifier, 1 to [`MAX_RECEIVERS`], no repeats),
    /// `mode` (valueCode `all` or `first-accept`, default `all`, at most one), `note` (valueString, at
    /// most one) and `tracking-id` (valueId, at most one).
    pub fn from_parameters(body: &[u8]) -> Result<Self, FlowError> {
        let parameters: Value = serde_json::from_slice(body)
            .map_err(|_| invalid(Text::new("forward-body-not-json"), "Parameters".into()))?;
        if parameters.get("resourceType").and_then(Value::as_str) != Some("Parameters") {
            return Err(invalid(Text::new("forward-not-parameters"), "Parameters".into()));
        }
        let mut request = Self { receivers: Vec::new(), mode: ForwardMode::All, note: None, tracking_id: None };
        let mut mode_seen = false;
        let items = parameters.get("parameter").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        if items.len() > MAX_RECEIVERS + 3 {
            return Err(invalid(Text::new("forward-too-many-parameters"), "Parameters.parameter".into()));
        }
        for (i, parameter) in items.iter().enumerate() {
            let at = format!("Parameters.parameter[{i}]");
            let text = |key: &str| parameter.get(key).and_then(Value::as_str);
            match text("name") {
                Some("receiver") => {
                    let identifier = parameter.get("valueIdentifier");
                    let field = |key| identifier.and_then(|id| id.get(key)).and_then(Value::as_str);
                    let receiver = field("system").zip(field("value")).and_then(|(s, v)| OrgIdentifier::new(s, v));
                    let receiver = receiver.ok_or_else(|| {
                        invalid(Text::new("forward-receiver-not-identifier"), format!("{at}.valueIdentifier"))
                    })?;
                    if request.receivers.contains(&receiver) {
                        return Err(invalid(Text::new("forward-receiver-twice"), format!("{at}.valueIdentifier")));
                    }
                    request.receivers.push(receiver);
                }
                Some("mode") if !mode_seen => {
                    mode_seen = true;
                    request.mode = text("valueCode")
                        .and_then(|code| code.parse().ok())
                        .ok_or_else(|| invalid(Text::new("forward-bad-mode"), format!("{at}.valueCode")))?;
                }
                Some("note") if request.note.is_none() => {
                    let note = text("valueString").filter(|s| !s.trim().is_empty());
                    let note =
                        note.ok_or_else(|| invalid(Text::new("forward-bad-note"), format!("{at}.valueString")))?;
                    request.note = Some(note.to_owned());
                }
                Some("tracking-id") if request.tracking_id.is_none() => {
                    let id = text("valueId").filter(|id| TrackingId::parse(id).is_some());
                    let id =
                        id.ok_or_else(|| invalid(Text::new("forward-bad-tracking-id"), format!("{at}.valueId")))?;
                    request.tracking_id = Some(id.to_owned());
                }
                Some(name @ ("mode" | "note" | "tracking-id")) => {
                    return Err(invalid(Text::new("forward-parameter-twice").arg("name", name), at));
                }
                _ => {
                    return Err(invalid(Text::new("forward-unknown-parameter"), format!("{at}.name")));
                }
            }
        }
        if request.receivers.is_empty() || request.receivers.len() > MAX_RECEIVERS {
            let text = Text::new("forward-receiver-count").num("max", MAX_RECEIVERS);
            return Err(invalid(text, "Parameters.parameter".into()));
        }
        if request.note.as_ref().is_some_and(|n| n.chars().count() > MAX_NOTE_CHARS) {
            let text = Text::new("forward-note-too-long").num("max", MAX_NOTE_CHARS);
            return Err(FlowError::Request(vec![Issue::says(IssueCode::Invalid, text)]));
        }
        Ok(request)
    }
}

/// The services a forwarding uses.
pub struct Flow<'a> {
    pub ingestor: &'a Ingestor,
    pub settler: &'a Settler,
    pub directory: &'a Directory,
    pub base_url: &'a str,
}

/// Which received message is forwarded.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// `POST /fhir/mailbox/{id}/$forward`: an item of the caller's mailbox.
    Mailbox(&'a str),
    /// `POST /fhir/$forward`: a message delivered to the caller, by the `tracking-id` parameter.
    Message,
}

/// `$forward`: the triage point `caller` passes a message it received on to the receivers it chose.
/// Answers with the forwarded message's acknowledgement (`duplicate` when this repeats an open
/// forwarding).
#[tracing::instrument(skip_all, fields(stage = "forward", org = %caller.org, mode = request.mode.as_str()))]
pub async fn forward(
    flow: &Flow<'_>,
    caller: &Principal,
    source: Source<'_>,
    request: &Request,
) -> Result<Accepted, FlowError> {
    let result = forward_as(flow, caller, source, request).await;
    // A refused forwarding is a refused access: recorded like any other, with why.
    let refused = match &result {
        Err(FlowError::NotTriagePoint) => Some("403 $forward by an organisation that is no triage point"),
        Err(FlowError::NotFound) => Some("404 $forward of a message not delivered to this organisation"),
        _ => None,
    };
    if let Some(reason) = refused {
        let entry = LedgerRecord::denied(&caller.org, reason);
        if let Err(e) = flow.settler.store().writer().append_ledger(vec![entry]).await {
            tracing::error!(error = ?e, "cannot write the ledger entry of a refused forwarding");
        }
    }
    result
}

async fn forward_as(
    flow: &Flow<'_>,
    caller: &Principal,
    source: Source<'_>,
    request: &Request,
) -> Result<Accepted, FlowError> {
    let snapshot = flow.directory.snapshot();
    let me = snapshot.organizations().iter().find(|o| o.id == caller.org).filter(|o| o.triage_point);
    let me = me.ok_or(FlowError::NotTriagePoint)?;
    let sender = me.identifiers.first().ok_or(FlowError::NotTriagePoint)?;
    let mut destinations = Vec::with_capacity(request.receivers.len());
    let mut receiver_orgs = Vec::with_capacity(request.receivers.len());
    for (i, receiver) in request.receivers.iter().enumerate() {
        let at = format!("Parameters.parameter[{i}].valueIdentifier");
        // Unknown receivers are refused by routing too; saying so here names the parameter.
        let Some(org) = snapshot.by_identifier(receiver) else {
            let issue = Issue::says(IssueCode::NotFound, Text::new("forward-unknown-receiver"));
            return Err(FlowError::Request(vec![issue.at(at)]));
        };
        if org.id == caller.org || receiver_orgs.contains(&org.id) {
            return Err(invalid(Text::new("forward-receiver-not-other"), at));
        }
        receiver_orgs.push(org.id.clone());
        destinations.push(Destination {
            receiver: receiver.clone(),
            name: org.name.clone(),
            endpoint: org.address.clone(),
        });
    }
    let (item, message) = match (source, request.tracking_id.as_deref()) {
        (Source::Mailbox(_), Some(_)) => {
            return Err(invalid(Text::new("forward-tracking-id-on-mailbox"), "Parameters".into()));
        }
        (Source::Message, None) => return Err(invalid(Text::new("forward-no-tracking-id"), "Parameters".into())),
        (Source::Mailbox(id), None) => (Some(DeliveryId::parse(id).ok_or(FlowError::NotFound)?), None),
        (Source::Message, Some(id)) => (None, Some(TrackingId::parse(id).ok_or(FlowError::NotFound)?)),
    };
    let received = match (&item, &message) {
        (Some(id), _) => Received::Item(id),
        (None, Some(id)) => Received::Message(id),
        (None, None) => return Err(FlowError::NotFound),
    };
    let store = flow.settler.store();
    let (original, payload) = store.received(&caller.org, received).await?.ok_or(FlowError::NotFound)?;
    match original.state {
        DeliveryState::Queued | DeliveryState::Delivered => {}
        DeliveryState::Forwarded => {
            if let Some(again) = repeated(flow, &original, &receiver_orgs, request.mode).await? {
                return Ok(again);
            }
        }
        done => {
            let text = Text::new("forward-already-done").arg("state", done);
            return Err(FlowError::Conflict(Issue::says(IssueCode::Conflict, text)));
        }
    }
    let payload = payload.ok_or(FlowError::Purged)?;
    let now = Millis::now();
    let tracking_id = TrackingId::generate();
    let forwarding = Forwarding {
        original: &original.tracking_id,
        sender,
        sender_name: &me.name,
        destinations: &destinations,
        note: request.note.as_deref(),
        broker: flow.base_url,
        now: &now.to_rfc3339_secs(),
    };
    let bytes = build(&payload, &forwarding)?;
    let summary = forwarded_summary(&destinations, request.mode);
    let link = link(flow, Some(&caller.org), &original, (&tracking_id, &destinations, request.mode), &summary, now);
    let accepted = flow.ingestor.submit_forwarded(caller, Bytes::from(bytes), tracking_id, link).await?;
    flow.settler.signals().arrived(&original.sender_org);
    tracing::info!(original = %original.tracking_id, forwarded = %accepted.tracking_id, "forwarded");
    Ok(accepted)
}

/// What the forwarded message's commit does to the original: its delivery to the triage point moves
/// to `forwarded` (from the state just read, so that the entries written here are true), with the
/// `forwarded` ledger entry that links both tracking ids and the original sender's receipt.
fn link(
    flow: &Flow<'_>,
    actor: Option<&OrgId>,
    original: &DeliveryContext,
    (tracking_id, destinations, mode): (&TrackingId, &[Destination], ForwardMode),
    summary: &Text,
    now: Millis,
) -> NewForwarding {
    let entry = |event| {
        LedgerRecord::new(event, now)
            .tracking(original.tracking_id.clone())
            .header(original.header_id.clone())
            .delivery(original.delivery_id.clone())
            .actor(actor.cloned())
            .sender(original.sender_org.clone())
            .receiver(original.receiver_org.clone())
            .event_code(original.event_code.clone())
    };
    let mut ledger = Vec::new();
    if original.state == DeliveryState::Queued {
        // Taken from the mailbox by forwarding it: that is its delivery.
        ledger.push(entry(LedgerEvent::Delivered).outcome("taken from the mailbox by forwarding"));
    }
    let receivers: Vec<String> = destinations.iter().map(|d| d.receiver.to_string()).collect();
    let outcome = format!("as {tracking_id} to {}; mode {}", receivers.join(", "), mode.as_str());
    ledger.push(entry(LedgerEvent::Forwarded).outcome(outcome));
    let receipt = flow.settler.receipt(original, DeliveryState::Forwarded, summary, &[], now, &mut ledger);
    NewForwarding {
        original_tracking_id: original.tracking_id.clone(),
        original_delivery_id: original.delivery_id.clone(),
        mode,
        from: std::iter::once(original.state).collect(),
        ledger,
        receipt,
    }
}

/// The original sender's receipt text for a forwarding by the triage point.
fn forwarded_summary(destinations: &[Destination], mode: ForwardMode) -> Text {
    let names: Vec<&str> = destinations.iter().map(|d| d.name.as_str()).collect();
    let text = match mode {
        ForwardMode::All => Text::new("receipt-forwarded"),
        ForwardMode::FirstAccept => Text::new("receipt-forwarded-first-accept"),
    };
    text.arg("names", names.join(", ")).num("count", names.len())
}

/// A `$forward` of a message the caller already forwarded: the earlier forwarding's acknowledgement if
/// this asks for the same (still open) forwarding; `None` if every earlier forwarding ended with nobody
/// placed, so that it may be forwarded again; a conflict otherwise.
async fn repeated(
    flow: &Flow<'_>,
    original: &DeliveryContext,
    receivers: &[OrgId],
    mode: ForwardMode,
) -> Result<Option<Accepted>, FlowError> {
    let store = flow.settler.store();
    let mut earlier: Vec<ForwardingRecord> = store.forwardings_of(&original.tracking_id).await?;
    earlier.retain(|f| f.original_delivery_id == original.delivery_id);
    let conflict = |text: Text| Err(FlowError::Conflict(Issue::says(IssueCode::Conflict, text)));
    let Some(last) = earlier.pop() else { return Ok(None) };
    let candidates = store.deliveries(&last.tracking_id).await?;
    let open = candidates.iter().any(|c| c.state.is_open() || c.state == DeliveryState::AcceptedByReceiver);
    if last.placed_delivery_id.is_none() && !open {
        // Every candidate declined or could not be reached: the triage point tries others.
        return Ok(None);
    }
    let mut same: Vec<&OrgId> = candidates.iter().map(|c| &c.receiver_org).collect();
    let mut asked: Vec<&OrgId> = receivers.iter().collect();
    same.sort();
    asked.sort();
    if same != asked || last.mode != mode {
        let state = if last.placed_delivery_id.is_some() { "placed" } else { "open" };
        return conflict(Text::new("forward-other-forwarding").arg("tracking", &last.tracking_id).arg("state", state));
    }
    let ack = store.acknowledgement(&last.tracking_id).await?.ok_or(FlowError::NotFound)?;
    Ok(Some(Accepted { tracking_id: last.tracking_id, ack, duplicate: true }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Language;

    #[test]
    fn another_forwarding_is_said_to_be_placed_or_still_open() {
        let said = |state| Text::new("forward-other-forwarding").arg("tracking", "t-1").arg("state", state);
        assert_eq!(
            said("open").render(Language::En),
            "this message was forwarded as t-1 to other receivers or in another mode, and that forwarding is still open"
        );
        assert!(said("placed").render(Language::En).ends_with("that forwarding is placed"));
        assert!(said("placed").render(Language::Nl).ends_with("die doorsturing is geplaatst"));
        assert!(said("open").render(Language::Fr).ends_with("ce transfert est toujours ouvert"));
    }
}
