//! The handover ledger: one append-only entry for every event in a message's life, hash-chained.
//!
//! This module defines what an entry is ([`LedgerRecord`], built with its builder methods), the chain
//! over entries ([`chain`]: genesis, canonical form, hash) and the patient keys ([`patient`]). It is a
//! leaf: `store` appends and reads entries, and `audit` serves them to auditors and verifies the chain.
//!
//! Invariants:
//! - Append-only: entries are inserted, never updated or deleted; the store's writer is the one
//!   appender, and no endpoint or CLI verb writes entries except through it.
//! - An entry is written in the same transaction as the state change it records (the store's writer
//!   takes the message, its deliveries and its entries as one job).
//! - No patient data in clear: an entry names organisations, message and delivery ids, the event code,
//!   the SHA-256 of the payload and the patient key (a keyed hash of the patient identifier).
//! - The text an entry records is the broker's own (outcomes, reasons), never caller-supplied text.

pub mod chain;
pub mod counters;
pub mod patient;

use std::fmt;
use std::str::FromStr;

use crate::model::{DeliveryId, EventCode, HeaderId, OrgId, PatientKey, PayloadHash, TrackingId};
use crate::time::Millis;

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerEvent {
    /// A submission arrived and was parsed far enough to be attributed.
    Received,
    /// The submission was refused; nothing was routed.
    Rejected,
    /// The message was committed.
    Accepted,
    /// A delivery to one receiver was created.
    Routed,
    /// A push to the receiver (or of a receipt to the sender) was tried; `outcome` says how it ended.
    DeliveryAttempt,
    /// The receiver's system has the message.
    Delivered,
    /// The receiver answered with a business response (`outcome`: `ok` or `fatal-error`).
    BusinessResponse,
    /// A permanent error: the message will not be delivered.
    Failed,
    /// Not delivered within its time to live.
    Expired,
    /// A receipt for the sender was created (`outcome`: the state it reports).
    ReceiptCreated,
    /// A request was refused because the caller may not do it (e.g. answer another's message).
    DeniedAccess,
    /// The addressee listed or downloaded a message from its mailbox.
    MailboxRead,
    /// The addressee acknowledged a message from its mailbox.
    Acknowledged,
    /// The message's payload was removed after its retention period; its entries stay.
    Purged,
    /// An organisation of the directory was added, changed or removed (`receiver_org`: the organisation;
    /// `outcome`: what changed, before and after; `actor_org`: the administrator's organisation, or none
    /// for the operator's command line).
    DirectoryChanged,
    /// An administrator read the directory (`outcome`: the route).
    AdminRead,
    /// An auditor searched or verified the ledger (`outcome`: what was asked, by parameter names;
    /// `patient_key`: the patient asked about, never the identifier).
    AuditQuery,
    /// A bearer token was issued for `receiver_org` (`outcome`: its id, role, scope and expiry; never
    /// the token).
    TokenIssued,
    /// A bearer token of `receiver_org` was revoked (`outcome`: its id, role and scope).
    TokenRevoked,
    /// An organisation (`actor_org`, also `sender_org`) reported its bed capacity (`outcome`: the
    /// report's id, its care types and the time its counts hold; never the counts' source text).
    CapacityReported,
    /// A triage point forwarded a message it received (`tracking_id`, `delivery_id`: the original and
    /// the triage point's delivery of it; `outcome`: the forwarded message's tracking id, receivers, mode).
    Forwarded,
    /// A candidate's delivery was withdrawn because another candidate was placed (`outcome`: the
    /// delivery that was placed).
    Withdrawn,
    /// Every candidate of a forwarding declined or could not be reached (`tracking_id`: the forwarded
    /// message).
    ForwardingDeclined,
    /// A delivery was not answered within the receiver's response time for the message's priority,
    /// counted in the receiver's opening hours (`receiver_org`: who has not answered; `outcome`: the
    /// priority, the response time and the deadline, and the escalation organisation if one is stated).
    /// Once per delivery.
    Overdue,
}

impl LedgerEvent {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Received => "received",
            Self::Rejected => "rejected",
            Self::Accepted => "accepted",
            Self::Routed => "routed",
            Self::DeliveryAttempt => "delivery-attempt",
            Self::Delivered => "delivered",
            Self::BusinessResponse => "business-response",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::ReceiptCreated => "receipt-created",
            Self::DeniedAccess => "denied-access",
            Self::MailboxRead => "mailbox-read",
            Self::Acknowledged => "acknowledged",
            Self::Purged => "purged",
            Self::DirectoryChanged => "directory-changed",
            Self::AdminRead => "admin-read",
            Self::AuditQuery => "audit-query",
            Self::TokenIssued => "token-issued",
            Self::TokenRevoked => "token-revoked",
            Self::CapacityReported => "capacity-reported",
            Self::Forwarded => "forwarded",
            Self::Withdrawn => "withdrawn",
            Self::ForwardingDeclined => "forwarding-declined",
            Self::Overdue => "overdue",
        }
    }
}

impl fmt::Display for LedgerEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LedgerEvent {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "received" => Self::Received,
            "rejected" => Self::Rejected,
            "accepted" => Self::Accepted,
            "routed" => Self::Routed,
            "delivery-attempt" => Self::DeliveryAttempt,
            "delivered" => Self::Delivered,
            "business-response" => Self::BusinessResponse,
            "failed" => Self::Failed,
            "expired" => Self::Expired,
            "receipt-created" => Self::ReceiptCreated,
            "denied-access" => Self::DeniedAccess,
            "mailbox-read" => Self::MailboxRead,
            "acknowledged" => Self::Acknowledged,
            "purged" => Self::Purged,
            "directory-changed" => Self::DirectoryChanged,
            "admin-read" => Self::AdminRead,
            "audit-query" => Self::AuditQuery,
            "token-issued" => Self::TokenIssued,
            "token-revoked" => Self::TokenRevoked,
            "capacity-reported" => Self::CapacityReported,
            "forwarded" => Self::Forwarded,
            "withdrawn" => Self::Withdrawn,
            "forwarding-declined" => Self::ForwardingDeclined,
            "overdue" => Self::Overdue,
            other => return Err(other.to_owned()),
        })
    }
}

/// One ledger entry. Made with [`LedgerRecord::new`] and the builder methods below, so that every
/// stage names the same facts the same way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LedgerRecord {
    pub at: Millis,
    pub event: LedgerEvent,
    pub tracking_id: Option<TrackingId>,
    /// `MessageHeader.id` of the message concerned, as the sender knows it.
    pub header_id: Option<HeaderId>,
    pub delivery_id: Option<DeliveryId>,
    /// The authenticated organisation that caused the event (`None` for the broker itself).
    pub actor_org: Option<OrgId>,
    pub sender_org: Option<OrgId>,
    pub receiver_org: Option<OrgId>,
    pub event_code: Option<EventCode>,
    /// Free-form, non-identifying outcome, e.g. `202`, `422 incomplete`, `409 header-id-reused`.
    pub outcome: Option<String>,
    pub payload_sha256: Option<PayloadHash>,
    /// Keyed hash (HMAC-SHA-256) of the patient's identifier: auditors find a patient's messages
    /// without the ledger holding the identifier.
    pub patient_key: Option<PatientKey>,
}

impl LedgerRecord {
    /// An entry for `event` at `at`, with every optional field empty.
    pub fn new(event: LedgerEvent, at: Millis) -> Self {
        Self {
            at,
            event,
            tracking_id: None,
            header_id: None,
            delivery_id: None,
            actor_org: None,
            sender_org: None,
            receiver_org: None,
            event_code: None,
            outcome: None,
            payload_sha256: None,
            patient_key: None,
        }
    }

    /// A refused request of `actor`: `reason` is the broker's own text (status and what was refused).
    pub fn denied(actor: &OrgId, reason: impl Into<String>) -> Self {
        Self::new(LedgerEvent::DeniedAccess, Millis::now()).actor(actor.clone()).outcome(reason)
    }

    /// A token for `org` was issued, with `role` and `scope` (the names of `auth::Role` and
    /// `auth::Scope`). The actor is empty: tokens are issued by the operator at the CLI on the host, who
    /// is no organisation of the directory. The outcome names the token's id, never the token.
    pub fn token_issued(
        at: Millis,
        org: &OrgId,
        token_id: &str,
        role: &str,
        scope: &str,
        expires: Option<Millis>,
    ) -> Self {
        let expires = expires.map_or_else(|| "never".to_owned(), Millis::to_rfc3339_secs);
        let grant = token_grant(role, scope);
        Self::new(LedgerEvent::TokenIssued, at)
            .receiver(org.clone())
            .outcome(format!("token {token_id}: {grant}, expires {expires}"))
    }

    /// A token of `org` was revoked; no actor (the operator at the CLI), as for
    /// [`LedgerRecord::token_issued`].
    pub fn token_revoked(at: Millis, org: &OrgId, token_id: &str, role: &str, scope: &str) -> Self {
        let grant = token_grant(role, scope);
        Self::new(LedgerEvent::TokenRevoked, at).receiver(org.clone()).outcome(format!("token {token_id}: {grant}"))
    }

    pub fn tracking(mut self, id: impl Into<Option<TrackingId>>) -> Self {
        self.tracking_id = id.into();
        self
    }

    pub fn header(mut self, id: impl Into<Option<HeaderId>>) -> Self {
        self.header_id = id.into();
        self
    }

    pub fn delivery(mut self, id: impl Into<Option<DeliveryId>>) -> Self {
        self.delivery_id = id.into();
        self
    }

    pub fn actor(mut self, org: impl Into<Option<OrgId>>) -> Self {
        self.actor_org = org.into();
        self
    }

    pub fn sender(mut self, org: impl Into<Option<OrgId>>) -> Self {
        self.sender_org = org.into();
        self
    }

    pub fn receiver(mut self, org: impl Into<Option<OrgId>>) -> Self {
        self.receiver_org = org.into();
        self
    }

    pub fn event_code(mut self, code: impl Into<Option<EventCode>>) -> Self {
        self.event_code = code.into();
        self
    }

    pub fn outcome(mut self, outcome: impl Into<String>) -> Self {
        self.outcome = Some(outcome.into());
        self
    }

    pub fn payload(mut self, hash: impl Into<Option<PayloadHash>>) -> Self {
        self.payload_sha256 = hash.into();
        self
    }

    pub fn patient(mut self, key: impl Into<Option<PatientKey>>) -> Self {
        self.patient_key = key.into();
        self
    }
}

/// What a token allows, as its ledger entries say it: `role sender`, `role auditor`, `role auditor regional`.
fn token_grant(role: &str, scope: &str) -> String {
    if scope == "regional" {
        format!("role {role} regional")
    } else {
        format!("role {role}")
    }
}

/// The head of the chain at a moment, to keep elsewhere: a later verification against it finds
/// entries removed from the end, which the chain alone cannot.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checkpoint {
    pub seq: i64,
    pub hash: String,
    /// When it was taken (RFC 3339).
    pub at: String,
}
