//! Escalation (issue 14, item 5): an urgent request its receiver did not answer within its response
//! time (counted in the receiver's opening hours) is forwarded, with the chain kept, to the escalation
//! organisation that receiver names in the directory for that priority.
//!
//! The broker forwards on the receiver's behalf, as the receiver's directory entry asked it to: the
//! forwarded message names the receiver as its sender (it is the request the receiver was given) and
//! carries the broker's note; the ledger's `forwarded` entry has no actor (the broker did it). From then
//! on it is a forwarding like a triage point's: the escalation organisation's answer answers the
//! original sender, and a late answer of the original receiver finds its delivery `forwarded`.

use bytes::Bytes;

use super::{build, link, Destination, Flow, FlowError, Forwarding};
use crate::auth::{Principal, Role};
use crate::model::{DeliveryId, DeliveryState, ForwardMode, OrgId, ResponseTime, TrackingId};
use crate::store::Received;
use crate::time::Millis;

/// An overdue delivery to escalate.
#[derive(Debug, Clone)]
pub struct Escalation<'a> {
    pub delivery_id: &'a DeliveryId,
    /// The organisation the receiver's directory entry names for the message's priority.
    pub to: &'a OrgId,
    /// Why, for the escalation organisation (the triage note of the forwarded message, in its language)
    /// and for the original sender (its receipt).
    pub reason: &'a crate::outcome::Text,
}

/// Forwards the overdue delivery; `None` when there is nothing to do any more (answered or moved on
/// meanwhile, or the receiver or the escalation organisation left the directory).
#[tracing::instrument(skip_all, fields(stage = "escalation", delivery_id = %escalation.delivery_id))]
pub async fn escalate(flow: &Flow<'_>, escalation: &Escalation<'_>) -> Result<Option<TrackingId>, FlowError> {
    let store = flow.settler.store();
    let Some(context) = store.delivery_context(escalation.delivery_id).await? else { return Ok(None) };
    if !matches!(context.state, DeliveryState::Queued | DeliveryState::Delivered) {
        return Ok(None);
    }
    let snapshot = flow.directory.snapshot();
    let organizations = snapshot.organizations();
    let receiver = organizations.iter().find(|o| o.id == context.receiver_org);
    let target = organizations.iter().find(|o| &o.id == escalation.to);
    let (Some(receiver), Some(target)) = (receiver, target) else { return Ok(None) };
    let (Some(sender), Some(target_identifier)) = (receiver.identifiers.first(), target.identifiers.first()) else {
        return Ok(None);
    };
    if target.id == receiver.id || target.id == context.sender_org {
        tracing::warn!("an escalation organisation that is the receiver or the sender itself is ignored");
        return Ok(None);
    }
    let Some((original, Some(payload))) =
        store.received(&context.receiver_org, Received::Item(escalation.delivery_id)).await?
    else {
        return Ok(None);
    };
    let destinations = [Destination {
        receiver: target_identifier.clone(),
        name: target.name.clone(),
        endpoint: target.address.clone(),
    }];
    let now = Millis::now();
    let tracking_id = TrackingId::generate();
    let note = escalation.reason.render(target.language.unwrap_or(crate::i18n::Language::En));
    let forwarding = Forwarding {
        original: &original.tracking_id,
        sender,
        sender_name: &receiver.name,
        destinations: &destinations,
        note: Some(&note),
        broker: flow.base_url,
        now: &now.to_rfc3339_secs(),
    };
    let bytes = build(&payload, &forwarding)?;
    let summary = escalation.reason.clone().reworded("receipt-escalated");
    let summary = summary.arg("receiver", &receiver.name).arg("target", &target.name);
    let link = link(flow, None, &original, (&tracking_id, &destinations, ForwardMode::All), &summary, now);
    // The receiver's own principal: the message is the receiver's request, passed on as it asked.
    let on_behalf = Principal::organization(receiver.id.clone(), Role::Sender);
    let accepted = flow.ingestor.submit_forwarded(&on_behalf, Bytes::from(bytes), tracking_id, link).await?;
    flow.settler.signals().arrived(&original.sender_org);
    tracing::info!(original = %original.tracking_id, forwarded = %accepted.tracking_id, "escalated");
    Ok(Some(accepted.tracking_id))
}

/// The escalation pass: forwards every overdue delivery whose receiver names an escalation
/// organisation for its priority. Run after each overdue sweep; owns what a [`Flow`] borrows.
#[derive(Clone)]
pub struct Escalator {
    ingestor: crate::ingest::Ingestor,
    directory: crate::directory::Directory,
    base_url: String,
}

impl Escalator {
    /// At most this many per pass; the rest wait for the next.
    pub const PER_PASS: usize = 100;

    pub fn new(ingestor: crate::ingest::Ingestor, directory: crate::directory::Directory, base_url: String) -> Self {
        Self { ingestor, directory, base_url }
    }

    /// Escalates what is due; returns the tracking ids of the forwarded messages. One that cannot be
    /// escalated now (e.g. the escalation organisation does not accept the kind) is logged and tried
    /// again at the next pass.
    #[tracing::instrument(skip_all, fields(stage = "escalation"))]
    pub async fn run(&self) -> Result<Vec<TrackingId>, FlowError> {
        let flow = Flow {
            ingestor: &self.ingestor,
            settler: self.ingestor.settler(),
            directory: &self.directory,
            base_url: &self.base_url,
        };
        let mut forwarded = Vec::new();
        for due in flow.settler.store().escalations_due(Self::PER_PASS).await? {
            let within = u64::try_from(due.within_secs).ok().and_then(ResponseTime::from_secs);
            let within = within.map_or_else(|| format!("{} s", due.within_secs), |w| w.to_string());
            let reason =
                crate::outcome::Text::new("escalation-reason").arg("priority", due.priority).arg("within", within);
            let escalation = Escalation { delivery_id: &due.delivery_id, to: &due.escalation_org, reason: &reason };
            match escalate(&flow, &escalation).await {
                Ok(Some(tracking_id)) => forwarded.push(tracking_id),
                Ok(None) => {}
                Err(e) => tracing::warn!(delivery_id = %due.delivery_id, error = %e, "cannot escalate now"),
            }
        }
        Ok(forwarded)
    }
}
