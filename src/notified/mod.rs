//! Notified Pull receivers (issue 15): the broker as the sending organisation's FHIR server.
//!
//! A receiver registered with a `notified-pull` endpoint is told of each handover by a notification
//! Task (posted by the push workers, `delivery::notify`); it then reads its workflow Task
//! (`GET /fhir/Task/{id}`, the id being the delivery's), the handover as a FHIR document
//! (`GET /fhir/Composition/{tracking-id}/$document`) or the message as accepted
//! (`GET /fhir/Bundle/{tracking-id}`), and reports progress by updating the Task's status (`PUT` or
//! `PATCH`). The first read makes the delivery `delivered` (the receiver has fetched it); `completed`
//! answers it as accepted and `rejected`/`cancelled` as refused, each through the one `Settler`, so the
//! sender's receipt, the ledger entry and the Task's new version are one commit.
//!
//! Only the addressee reaches a Task or a message: for anyone else it does not exist (404) and the
//! refused read is a ledger entry. Every read is a ledger entry (`mailbox-read`), every status change
//! one too (`acknowledged` while the receiver has it, `business-response` for its answer). This module
//! never stores patient data beyond the receiver's own status reason, and never logs any.

mod document;
mod task;

use serde_json::{json, Value};

pub use document::DocumentError;
pub use task::{TaskStatus, MAX_CONCEPT_BYTES, MAX_PATCH_OPERATIONS};

use crate::auth::Principal;
use crate::delivery::settle::{Answered, OutboxRow, Settler};
use crate::directory::Directory;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{DeliveryId, DeliveryMode, DeliveryState, OrgId, TrackingId};
use crate::outcome::{Issue, IssueCode, Text};
use crate::store::{Change, Outbox, Settlement, Store, StoreError, TaskRecord, TaskWrite};
use crate::time::Millis;

/// The largest Task update (PUT or PATCH body) read: a Task is a few kilobytes.
pub const MAX_UPDATE_BYTES: usize = 64 * 1024;
/// Task search: default and largest page, and how many of the newest deliveries it looks at.
pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 500;
pub const SEARCH_WINDOW: usize = 1000;

#[derive(Debug, thiserror::Error)]
pub enum TaskError {
    /// No such Task, message or document for this organisation (or someone else's).
    #[error("not found")]
    NotFound,
    #[error("the handover has no Composition, so no document")]
    NoDocument,
    /// A search parameter the route cannot take: the text names it and says what is wrong.
    #[error("search parameter {problem}")]
    BadParameter { problem: Text },
    /// The update is not a Task (or JSON Patch) at all: 400.
    #[error("malformed Task update")]
    Malformed(Vec<Issue>),
    /// A Task, but changing what may not change: 422.
    #[error("unprocessable Task update")]
    Unprocessable(Vec<Issue>),
    #[error("a Task does not move from {from} to {to}")]
    IllegalMove { from: TaskStatus, to: TaskStatus },
    #[error("the delivery has ended ({0})")]
    Ended(DeliveryState),
    /// `meta.versionId` of the body is not the Task's, or the Task changed meanwhile.
    #[error("the Task is at version {current}")]
    VersionConflict { current: i64 },
    /// `If-Match` names another version.
    #[error("If-Match does not match version {current}")]
    PreconditionFailed { current: i64 },
    #[error("the message's payload was purged")]
    Purged,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<task::Refusal> for TaskError {
    fn from(refusal: task::Refusal) -> Self {
        match refusal {
            task::Refusal::Malformed(at, why) => Self::Malformed(vec![Issue::says(IssueCode::Structure, why).at(at)]),
            task::Refusal::Unprocessable(at, why) => {
                Self::Unprocessable(vec![Issue::says(IssueCode::BusinessRule, why).at(at)])
            }
        }
    }
}

/// A Task update as received.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    /// `PUT`: the whole Task.
    Put(&'a [u8]),
    /// `PATCH`: a JSON Patch.
    Patch(&'a [u8]),
}

/// A Task as answered: its JSON and version (for `ETag`).
#[derive(Debug, Clone)]
pub struct TaskAnswer {
    pub body: Vec<u8>,
    pub version: i64,
}

/// What `GET /fhir/Task?` was given, as received.
#[derive(Debug, Clone, Default)]
pub struct SearchParams {
    pub status: Vec<String>,
    pub last_updated: Vec<String>,
    pub count: Option<String>,
}

/// Which form of the handover a receiver reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Document,
    Message,
}

/// The Notified Pull side of the broker. Built once at start and shared (cheap to clone).
#[derive(Clone)]
pub struct Tasks {
    settler: Settler,
    directory: Directory,
}

impl Tasks {
    pub fn new(settler: Settler, directory: Directory) -> Self {
        Self { settler, directory }
    }

    fn store(&self) -> &Store {
        self.settler.store()
    }

    /// Whether `org` receives by notified pull: only then are its deliveries Tasks (a mailbox receiver
    /// reading one would take it out of its mailbox behind its back).
    fn notified_pull(&self, org: &OrgId) -> bool {
        let snapshot = self.directory.snapshot();
        snapshot.organizations().iter().any(|o| &o.id == org && o.delivery == DeliveryMode::NotifiedPull)
    }

    /// A refused access to something of another organisation: a ledger entry, then the same 404 as
    /// for nothing at all.
    async fn denied(
        &self,
        caller: &Principal,
        what: &str,
        entry: impl FnOnce(LedgerRecord) -> LedgerRecord,
    ) -> TaskError {
        let record = entry(LedgerRecord::denied(&caller.org, format!("404 {what} by another organisation")));
        if let Err(e) = self.store().writer().append_ledger(vec![record]).await {
            tracing::error!(error = ?e, "cannot write the ledger entry of a refused read");
        }
        TaskError::NotFound
    }

    /// The caller's own Task `id`.
    async fn own_task(&self, caller: &Principal, id: &str, what: &str) -> Result<TaskRecord, TaskError> {
        let id = DeliveryId::parse(id).ok_or(TaskError::NotFound)?;
        let Some(record) = self.store().task(&id).await? else { return Err(TaskError::NotFound) };
        if record.receiver_org != caller.org {
            let (receiver, tracking) = (record.receiver_org.clone(), record.tracking_id.clone());
            return Err(self.denied(caller, what, |e| e.receiver(receiver).tracking(tracking).delivery(id)).await);
        }
        if !self.notified_pull(&caller.org) {
            return Err(TaskError::NotFound);
        }
        Ok(record)
    }

    fn row<'a>(record: &'a TaskRecord) -> OutboxRow<'a> {
        OutboxRow {
            outbox: Outbox::Deliveries,
            id: &record.delivery_id,
            tracking_id: &record.tracking_id,
            org: &record.receiver_org,
        }
    }

    /// A ledger entry about the caller's own Task.
    fn entry(&self, record: &TaskRecord, event: LedgerEvent, at: Millis, outcome: &str) -> LedgerRecord {
        self.settler
            .entry(&Self::row(record), event, at, outcome)
            .actor(record.receiver_org.clone())
            .header(record.header_id.clone())
            .sender(record.sender_org.clone())
            .event_code(record.event_code.clone())
    }

    /// The receiver has fetched something of its delivery: its read entry, and, the first time, the
    /// delivery becomes `delivered` (with the sender's receipt) in the same commit.
    async fn fetched(&self, record: &TaskRecord, read: LedgerRecord) -> Result<(), TaskError> {
        if record.state == DeliveryState::Queued {
            let summary = crate::outcome::Text::new("receipt-fetched");
            let row = Self::row(record);
            if self.settler.finish(&row, DeliveryState::Delivered, &summary, "fetched", Some(read.clone())).await? {
                tracing::info!(stage = "notified", delivery_id = %record.delivery_id, "fetched: delivered");
                return Ok(());
            }
        }
        self.store().writer().append_ledger(vec![read]).await?;
        Ok(())
    }

    fn render(&self, record: &TaskRecord) -> Value {
        let snapshot = self.directory.snapshot();
        let sender = snapshot.organizations().iter().find(|o| o.id == record.sender_org);
        let requester =
            sender.and_then(|o| crate::delivery::notify::preferred(&o.identifiers).map(|i| (i, o.name.as_str())));
        task::view(record, &task::ViewContext { base_url: self.settler.base_url(), requester })
    }

    fn answer(&self, record: &TaskRecord) -> TaskAnswer {
        TaskAnswer { body: self.render(record).to_string().into_bytes(), version: record.version }
    }

    async fn reread(&self, id: &DeliveryId) -> Result<TaskRecord, TaskError> {
        self.store().task(id).await?.ok_or(TaskError::NotFound)
    }

    /// `GET /fhir/Task/{id}`: the caller's workflow Task. The first read delivers.
    #[tracing::instrument(skip_all, fields(stage = "notified", org = %caller.org, id = %id))]
    pub async fn read(&self, caller: &Principal, id: &str) -> Result<TaskAnswer, TaskError> {
        let record = self.own_task(caller, id, "Task read").await?;
        self.fetched(&record, self.entry(&record, LedgerEvent::MailboxRead, Millis::now(), "task read")).await?;
        Ok(self.answer(&self.reread(&record.delivery_id).await?))
    }

    /// `GET /fhir/Task?status=&_lastUpdated=&_count=`: the caller's Tasks, newest first, as a searchset.
    /// Listing is a ledger entry per Task listed; it delivers nothing.
    #[tracing::instrument(skip_all, fields(stage = "notified", org = %caller.org, listed))]
    pub async fn search(&self, caller: &Principal, params: &SearchParams) -> Result<Vec<u8>, TaskError> {
        let filter = Filter::parse(params)?;
        let records = if self.notified_pull(&caller.org) {
            self.store().tasks_of(&caller.org, SEARCH_WINDOW).await?
        } else {
            Vec::new()
        };
        let found: Vec<&TaskRecord> = records.iter().filter(|r| filter.matches(r)).take(filter.count).collect();
        let now = Millis::now();
        let reads: Vec<LedgerRecord> =
            found.iter().map(|r| self.entry(r, LedgerEvent::MailboxRead, now, "task listed")).collect();
        if !reads.is_empty() {
            self.store().writer().append_ledger(reads).await?;
        }
        tracing::Span::current().record("listed", found.len());
        let base = self.settler.base_url().trim_end_matches('/');
        let entries: Vec<Value> = found
            .iter()
            .map(|r| {
                json!({
                    "fullUrl": format!("{base}/fhir/Task/{}", r.delivery_id),
                    "resource": self.render(r),
                    "search": { "mode": "match" },
                })
            })
            .collect();
        let mut bundle = json!({
            "resourceType": "Bundle",
            "id": uuid::Uuid::new_v4().to_string(),
            "type": "searchset",
            "total": entries.len(),
            "link": [{ "relation": "self", "url": format!("{base}/fhir/Task{}", filter.query) }],
        });
        // FHIR JSON has no empty arrays.
        if !entries.is_empty() {
            bundle["entry"] = Value::Array(entries);
        }
        Ok(bundle.to_string().into_bytes())
    }

    /// `GET /fhir/Composition/{id}/$document` and `GET /fhir/Bundle/{id}` (`id`: the tracking id): the
    /// handover as a document, or the message exactly as accepted. The first read delivers.
    #[tracing::instrument(skip_all, fields(stage = "notified", org = %caller.org, id = %id))]
    ///
    /// `format`: the format the caller wants. The message of a receiver that wants XML is its XML form
    /// when it has one (the bytes received as XML, or the conversion made at acceptance); otherwise, and
    /// for the document, the JSON. Returns the body with its format.
    pub async fn handover(
        &self,
        caller: &Principal,
        id: &str,
        form: Form,
        format: crate::model::Format,
    ) -> Result<(Vec<u8>, crate::model::Format), TaskError> {
        let what = match form {
            Form::Document => "document download",
            Form::Message => "message download",
        };
        let tracking = TrackingId::parse(id).ok_or(TaskError::NotFound)?;
        let Some(message) = self.store().message(&tracking).await? else { return Err(TaskError::NotFound) };
        let Some((delivery, _)) = self.store().delivery_to(&tracking, &caller.org).await? else {
            return Err(self.denied(caller, what, |e| e.tracking(tracking)).await);
        };
        if !self.notified_pull(&caller.org) {
            return Err(TaskError::NotFound);
        }
        let record = self.reread(&delivery).await?;
        let Some(payload) = self.store().payload(&tracking).await? else {
            let purged = self.entry(&record, LedgerEvent::MailboxRead, Millis::now(), &format!("410 {what}: purged"));
            self.store().writer().append_ledger(vec![purged]).await?;
            return Err(TaskError::Purged);
        };
        let xml = match (form, format) {
            (Form::Message, crate::model::Format::Xml) => self.store().payload_xml(&tracking).await?,
            _ => None,
        };
        let (body, format) = match (form, xml) {
            (Form::Message, Some(xml)) => (xml, crate::model::Format::Xml),
            (Form::Message, None) => (payload, crate::model::Format::Json),
            (Form::Document, _) => document::document(&payload, &tracking, &message.received_at.to_rfc3339_secs())
                .map_err(|e| match e {
                    DocumentError::NoComposition => TaskError::NoDocument,
                    DocumentError::NotAMessage => TaskError::Store(StoreError::Corrupt("stored message".into())),
                })
                .map(|document| (document, crate::model::Format::Json))?,
        };
        let outcome = match form {
            Form::Document => "document downloaded",
            Form::Message => "message downloaded",
        };
        self.fetched(&record, self.entry(&record, LedgerEvent::MailboxRead, Millis::now(), outcome)).await?;
        Ok((body, format))
    }

    /// `PUT` / `PATCH /fhir/Task/{id}`: the receiver reports progress. `if_match` is the `If-Match`
    /// header, if any (`W/"3"`).
    #[tracing::instrument(skip_all, fields(stage = "notified", org = %caller.org, id = %id, status))]
    pub async fn update(
        &self,
        caller: &Principal,
        id: &str,
        body: Body<'_>,
        if_match: Option<&str>,
    ) -> Result<TaskAnswer, TaskError> {
        let record = self.own_task(caller, id, "Task update").await?;
        if let Some(tag) = if_match {
            if etag_version(tag) != Some(record.version) {
                return Err(TaskError::PreconditionFailed { current: record.version });
            }
        }
        let current = self.render(&record);
        let parse = |bytes: &[u8]| {
            serde_json::from_slice::<Value>(bytes).map_err(|e| {
                let text = Text::new("notified-body-not-json").arg("detail", e);
                TaskError::Malformed(vec![Issue::says(IssueCode::Structure, text)])
            })
        };
        let updated = match body {
            Body::Put(bytes) => parse(bytes)?,
            Body::Patch(bytes) => task::patched(&current, &parse(bytes)?)?,
        };
        let version = updated.pointer("/meta/versionId");
        if version.is_some_and(|v| v.as_str() != Some(record.version.to_string().as_str())) {
            return Err(TaskError::VersionConflict { current: record.version });
        }
        let requested = task::requested(&current, &updated)?;
        tracing::Span::current().record("status", requested.status.as_str());
        let shown = task::shown_status(&record);
        let unchanged = requested.status == shown
            && requested.business_status == record.business_status
            && requested.status_reason == record.status_reason;
        if unchanged {
            // The same Task again (a resend): nothing to do.
            return Ok(self.answer(&record));
        }
        if !shown.moves_to(requested.status) {
            return Err(TaskError::IllegalMove { from: shown, to: requested.status });
        }
        if !matches!(record.state, DeliveryState::Queued | DeliveryState::Delivered) {
            return Err(TaskError::Ended(record.state));
        }
        let now = Millis::now();
        let status = requested.status;
        let write = TaskWrite {
            delivery_id: record.delivery_id.clone(),
            receiver_org: record.receiver_org.clone(),
            status: status.as_str().to_owned(),
            business_status: requested.business_status.clone(),
            status_reason: requested.status_reason.clone(),
            version: record.version,
            at: now,
        };
        let target = status.delivery_state();
        let applied = match target {
            DeliveryState::Delivered if record.state == DeliveryState::Queued => {
                let entry = self.entry(&record, LedgerEvent::Acknowledged, now, &format!("task {status}"));
                let summary = crate::outcome::Text::new("receipt-task-set").arg("status", status);
                let row = Self::row(&record);
                self.settler
                    .finish_with_task(&row, DeliveryState::Delivered, &summary, "task", Some(entry), Some(write))
                    .await?
            }
            DeliveryState::Delivered => {
                // The delivery stays delivered: the Task changes, guarded like a move.
                let entry = self.entry(&record, LedgerEvent::Acknowledged, now, &format!("task {status}"));
                let states = [DeliveryState::Delivered].into_iter().collect();
                let mut settlement = Settlement::new(
                    Outbox::Deliveries,
                    record.delivery_id.clone(),
                    now,
                    Change::Hold { states },
                    vec![entry],
                    None,
                );
                settlement.task = Some(Box::new(write));
                self.store().writer().settle(vec![settlement]).await?.first() == Some(&true)
            }
            to => {
                let Some(context) = self.store().delivery_context(&record.delivery_id).await? else {
                    return Err(TaskError::NotFound);
                };
                let code = if to == DeliveryState::AcceptedByReceiver { "ok" } else { "fatal-error" };
                let entry =
                    self.entry(&record, LedgerEvent::BusinessResponse, now, &format!("{code} via task {status}"));
                let issues: Vec<Issue> = requested
                    .reason_text
                    .iter()
                    .map(|text| Issue::error(IssueCode::BusinessRule, text.clone()).at("Task.statusReason"))
                    .collect();
                match self.settler.answer_with_task(&context, to, entry, &issues, Some(write)).await? {
                    Answered::Applied => true,
                    Answered::PlacedElsewhere => return Err(TaskError::Ended(DeliveryState::Withdrawn)),
                    Answered::Moved => false,
                }
            }
        };
        let now_stored = self.reread(&record.delivery_id).await?;
        if !applied {
            // Another update (or the delivery's end) came first.
            if now_stored.version != record.version {
                return Err(TaskError::VersionConflict { current: now_stored.version });
            }
            return Err(TaskError::Ended(now_stored.state));
        }
        tracing::info!(delivery_id = %record.delivery_id, "task updated");
        Ok(self.answer(&now_stored))
    }
}

/// The version an `If-Match` value names: `W/"3"` or `"3"` (or a bare `3`).
fn etag_version(tag: &str) -> Option<i64> {
    let tag = tag.trim();
    let tag = tag.strip_prefix("W/").unwrap_or(tag);
    tag.trim_matches('"').parse().ok()
}

/// A Task search, checked.
struct Filter {
    statuses: Vec<TaskStatus>,
    /// `(prefix, from, to)`: the instant or date given, as the interval it stands for.
    last_updated: Vec<(&'static str, Millis, Millis)>,
    count: usize,
    /// The query as the broker understood it, for the `self` link.
    query: String,
}

impl Filter {
    fn parse(params: &SearchParams) -> Result<Self, TaskError> {
        let bad = |name: &'static str, problem: Text| TaskError::BadParameter { problem: problem.arg("name", name) };
        let mut statuses = Vec::new();
        for value in params.status.iter().flat_map(|v| v.split(',')) {
            statuses
                .push(value.trim().parse::<TaskStatus>().map_err(|_| bad("status", Text::new("notified-bad-status")))?);
        }
        let mut last_updated = Vec::new();
        for value in &params.last_updated {
            let given = ["eq", "gt", "lt", "ge", "le"].into_iter().find(|p| value.starts_with(p));
            let (prefix, text) = match given {
                Some(prefix) => (prefix, &value[2..]),
                None => ("eq", value.as_str()),
            };
            let from = crate::time::parse_instant(text)
                .ok_or_else(|| bad("_lastUpdated", Text::new("notified-bad-last-updated")))?;
            // A date stands for its day, an instant for its second.
            let to = if text.len() == 10 { from.plus_secs(86_400) } else { from.plus_secs(1) };
            last_updated.push((prefix, from, to));
        }
        let count = match params.count.as_deref() {
            None => DEFAULT_COUNT,
            Some(text) => text.parse::<usize>().map_err(|_| bad("_count", Text::new("search-count")))?.min(MAX_COUNT),
        };
        let mut query: Vec<String> = Vec::new();
        if !statuses.is_empty() {
            query.push(format!("status={}", statuses.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(",")));
        }
        for (prefix, from, _) in &last_updated {
            query.push(format!("_lastUpdated={prefix}{}", from.to_rfc3339_secs()));
        }
        query.push(format!("_count={count}"));
        Ok(Self { statuses, last_updated, count, query: format!("?{}", query.join("&")) })
    }

    fn matches(&self, record: &TaskRecord) -> bool {
        if !self.statuses.is_empty() && !self.statuses.contains(&task::shown_status(record)) {
            return false;
        }
        let at = task::last_updated(record).as_i64();
        self.last_updated.iter().all(|(prefix, from, to)| {
            let (from, to) = (from.as_i64(), to.as_i64());
            match *prefix {
                "gt" => at >= to,
                "lt" => at < from,
                "ge" => at >= from,
                "le" => at < to,
                _ => at >= from && at < to,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_match_names_a_version() {
        assert_eq!(etag_version("W/\"3\""), Some(3));
        assert_eq!(etag_version("\"12\""), Some(12));
        assert_eq!(etag_version("4"), Some(4));
        assert_eq!(etag_version("W/\"x\""), None);
    }

    #[test]
    fn search_parameters_are_checked() {
        let params = SearchParams {
            status: vec!["requested,in-progress".into()],
            last_updated: vec!["ge2026-12-01".into(), "lt2026-12-02T00:00:00Z".into()],
            count: Some("5000".into()),
        };
        let filter = Filter::parse(&params).unwrap();
        assert_eq!(filter.statuses, [TaskStatus::Requested, TaskStatus::InProgress]);
        assert_eq!(filter.count, MAX_COUNT);
        assert_eq!(filter.last_updated.len(), 2);
        for bad in [
            SearchParams { status: vec!["done".into()], ..Default::default() },
            SearchParams { last_updated: vec!["ge yesterday".into()], ..Default::default() },
            SearchParams { count: Some("-1".into()), ..Default::default() },
        ] {
            assert!(matches!(Filter::parse(&bad), Err(TaskError::BadParameter { .. })));
        }
    }
}
