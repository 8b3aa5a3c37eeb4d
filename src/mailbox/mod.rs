//! The pull mailbox (MESH, the Belgian eHealthBox, in FHIR): an organisation whose directory entry
//! says `mailbox` lists what waits for it (handovers and receipts), downloads each, and acknowledges
//! it; only the acknowledgement makes a handover `delivered` for its sender.
//!
//! Only the addressee sees an item: for anyone else it does not exist (404), so ids leak nothing.
//! Every listing and download is a ledger entry per message, and every acknowledgement too. Expiry is
//! the push workers' sweep: an item not acknowledged within its time to live becomes `expired` and
//! leaves the mailbox, and the sender of a handover gets a non-delivery receipt (a receipt that expires
//! makes none, so receipts never loop).

pub mod pull;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::auth::Principal;
use crate::delivery::settle::{OutboxRow, Settler};
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{DeliveryId, DeliveryState, EventCode, Format, OrgId, TrackingId};
use crate::outcome::Text;
use crate::signals::Signals;
use crate::store::{Cursor, MailboxItem, MailboxQuery, Store, StoreError};
use crate::time::Millis;

/// Default and largest page size.
pub const DEFAULT_COUNT: usize = 50;
pub const MAX_COUNT: usize = 500;
/// Longest long-poll.
pub const MAX_WAIT_SECS: u64 = 60;
/// A long-poll also looks again this often: another broker node's commits send no signal here.
const RECHECK: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
pub enum MailboxError {
    #[error("no such message in this mailbox")]
    NotFound,
    /// A search parameter the route cannot take: the text names it and says what is wrong.
    #[error("search parameter {problem}")]
    BadParameter { problem: Text },
    #[error("the message expired before it was acknowledged")]
    Expired,
    #[error("the message's payload was purged after its retention period")]
    Purged,
    #[error("at most {0} long-polls per organisation")]
    TooManyWaiting(usize),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The parameters of `GET /fhir/mailbox`, as received.
#[derive(Debug, Clone, Default)]
pub struct ListParams {
    pub count: Option<String>,
    pub cursor: Option<String>,
    pub since: Option<String>,
    pub event: Option<String>,
    pub wait: Option<String>,
    pub total: Option<String>,
}

/// `_total` (FHIR search): whether a listing says how many wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Total {
    /// `none`: no count at all.
    None,
    /// `estimate`, and the default: exact while at most [`COUNTED_UP_TO`] wait, left out beyond
    /// (FHIR lets a server leave `total` out; the `next` link says more follow). Counting a backlog of a
    /// hundred thousand took longer than reading the page itself.
    UpTo,
    /// `accurate`: always counted, at a cost that grows with the mailbox.
    Accurate,
}

/// The most a listing counts unless `_total=accurate` asks for more.
const COUNTED_UP_TO: i64 = 1000;

/// A listing request, checked: what to read, how long to wait, and the filters to repeat in links.
#[derive(Debug, Clone)]
struct Listing {
    count: usize,
    wait: Duration,
    total: Total,
    /// `limit` is one more than `count`, to tell whether another page follows.
    query: MailboxQuery,
    /// `&_since=...&event=...&_total=...` as the client gave them, for the `self` and `next` links.
    filters: String,
}

impl Listing {
    fn parse(params: &ListParams) -> Result<Self, MailboxError> {
        let count = match params.count.as_deref() {
            None => DEFAULT_COUNT,
            Some(text) => {
                text.parse::<usize>().map_err(|_| bad("_count", Text::new("search-count")))?.clamp(1, MAX_COUNT)
            }
        };
        let wait = match params.wait.as_deref() {
            None => 0,
            Some(text) => {
                text.parse::<u64>().map_err(|_| bad("_wait", Text::new("mailbox-bad-wait")))?.min(MAX_WAIT_SECS)
            }
        };
        let total = match params.total.as_deref() {
            None | Some("estimate") => Total::UpTo,
            Some("none") => Total::None,
            Some("accurate") => Total::Accurate,
            Some(_) => return Err(bad("_total", Text::new("mailbox-bad-total"))),
        };
        let query = MailboxQuery {
            after: params.cursor.as_deref().map(parse_cursor).transpose()?,
            since: params.since.as_deref().map(parse_since).transpose()?,
            // A blank event names no kind: like an absent one, it filters nothing.
            event: params.event.as_deref().and_then(EventCode::parse),
            limit: count + 1,
        };
        let mut filters = String::new();
        if let Some(since) = &params.since {
            filters.push_str(&format!("&_since={}", encode(since)));
        }
        if let Some(event) = &params.event {
            filters.push_str(&format!("&event={}", encode(event)));
        }
        if let Some(total) = &params.total {
            filters.push_str(&format!("&_total={}", encode(total)));
        }
        Ok(Self { count, wait: Duration::from_secs(wait), total, query, filters })
    }
}

/// The pull mailbox of every organisation. Built once at start and shared (cheap to clone).
#[derive(Clone)]
pub struct Mailbox {
    settler: Settler,
    /// Long-polls open per organisation, and the most one may hold.
    waiting: Arc<Mutex<HashMap<OrgId, usize>>>,
    max_waiting: usize,
}

/// One open long-poll, counted until dropped.
struct Waiting {
    waiting: Arc<Mutex<HashMap<OrgId, usize>>>,
    org: OrgId,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if let Ok(mut waiting) = self.waiting.lock() {
            if let Some(n) = waiting.get_mut(&self.org) {
                *n = n.saturating_sub(1);
                if *n == 0 {
                    waiting.remove(&self.org);
                }
            }
        }
    }
}

/// Parameter `name` refused with `problem`, a text that names it as `$name`.
fn bad(name: &'static str, problem: Text) -> MailboxError {
    MailboxError::BadParameter { problem: problem.arg("name", name) }
}

/// `{created_at}.{id}`, the `_cursor` of a `next` link.
fn parse_cursor(text: &str) -> Result<Cursor, MailboxError> {
    let not_ours = || bad("_cursor", Text::new("search-cursor"));
    let (at, id) = text.split_once('.').ok_or_else(not_ours)?;
    let at = at.parse::<i64>().map_err(|_| not_ours())?;
    let id = DeliveryId::parse(id).ok_or_else(not_ours)?;
    Ok(Cursor { created_at: Millis::from_i64(at), id })
}

fn parse_since(text: &str) -> Result<Millis, MailboxError> {
    crate::time::parse_instant(text).ok_or_else(|| bad("_since", Text::new("mailbox-bad-since")))
}

/// Query-string encoding of a parameter value (RFC 3986 unreserved characters kept).
fn encode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

fn outbox_row<'a>(caller: &'a Principal, item: &'a MailboxItem) -> OutboxRow<'a> {
    OutboxRow { outbox: item.outbox, id: &item.id, tracking_id: &item.tracking_id, org: &caller.org }
}

impl Mailbox {
    pub fn new(settler: Settler, max_waiting: usize) -> Self {
        Self { settler, waiting: Arc::default(), max_waiting }
    }

    /// A long-poll slot of `org`, or `TooManyWaiting` when it holds all of its own already.
    fn wait_slot(&self, org: &OrgId) -> Result<Waiting, MailboxError> {
        let mut waiting = self.waiting.lock().map_err(|_| MailboxError::TooManyWaiting(self.max_waiting))?;
        let n = waiting.entry(org.clone()).or_default();
        if *n >= self.max_waiting {
            return Err(MailboxError::TooManyWaiting(self.max_waiting));
        }
        *n += 1;
        Ok(Waiting { waiting: self.waiting.clone(), org: org.clone() })
    }

    fn store(&self) -> &Store {
        self.settler.store()
    }

    fn signals(&self) -> &Signals {
        self.settler.signals()
    }

    fn read_entry(&self, caller: &Principal, item: &MailboxItem, now: Millis, how: &str) -> LedgerRecord {
        self.settler
            .entry(&outbox_row(caller, item), LedgerEvent::MailboxRead, now, how)
            .actor(caller.org.clone())
            .event_code(item.event_code.clone())
    }

    /// `GET /fhir/mailbox`: a `searchset` Bundle of the caller's waiting messages, oldest first, each
    /// entry the message exactly as accepted, with `total` and a `next` link while more wait.
    #[tracing::instrument(skip_all, fields(stage = "mailbox", org = %caller.org, listed))]
    pub async fn list(&self, caller: &Principal, params: &ListParams, base_url: &str) -> Result<Vec<u8>, MailboxError> {
        let listing = Listing::parse(params)?;
        // A long-poll holds a connection and a task while it waits: each organisation has a few.
        let _slot = if listing.wait.is_zero() { None } else { Some(self.wait_slot(&caller.org)?) };
        let mut items = self.wait_for_items(caller, &listing).await?;
        let more = items.len() > listing.count;
        items.truncate(listing.count);
        let total = match listing.total {
            Total::None => None,
            // A first page that holds everything that waits has counted it already.
            _ if listing.query.after.is_none() && !more => Some(items.len() as i64),
            Total::UpTo => self.store().mailbox_count(&caller.org, &listing.query, Some(COUNTED_UP_TO)).await?,
            Total::Accurate => self.store().mailbox_count(&caller.org, &listing.query, None).await?,
        };

        let now = Millis::now();
        let reads: Vec<LedgerRecord> = items.iter().map(|item| self.read_entry(caller, item, now, "listed")).collect();
        if !reads.is_empty() {
            self.store().writer().append_ledger(reads).await?;
        }
        tracing::Span::current().record("listed", items.len());
        Ok(searchset(&items, total, more, &listing, base_url))
    }

    /// The first page of the caller's mailbox, waiting (a long-poll) up to `listing.wait` while it is
    /// empty.
    async fn wait_for_items(&self, caller: &Principal, listing: &Listing) -> Result<Vec<MailboxItem>, MailboxError> {
        let deadline = tokio::time::Instant::now() + listing.wait;
        let notify = self.signals().mailbox(&caller.org);
        loop {
            // Interest first, then the look: an arrival in between still wakes this wait.
            let notified = notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let items = self.store().mailbox_page(&caller.org, &listing.query).await?;
            let now = tokio::time::Instant::now();
            if !items.is_empty() || now >= deadline {
                return Ok(items);
            }
            tokio::select! {
                _ = notified => {}
                _ = tokio::time::sleep(RECHECK.min(deadline - now)) => {}
            }
        }
    }

    /// The caller asked for an item that is not its own: if it is someone else's, that is a ledger
    /// event (the answer is the same 404 either way).
    async fn denied(&self, caller: &Principal, id: &DeliveryId, what: &str) -> MailboxError {
        if let Ok(Some((org, tracking_id))) = self.store().outbox_addressee(id).await {
            let entry = LedgerRecord::denied(&caller.org, format!("404 {what} by another organisation"))
                .receiver(org)
                .tracking(tracking_id)
                .delivery(id.clone());
            if let Err(e) = self.store().writer().append_ledger(vec![entry]).await {
                tracing::error!(error = ?e, "cannot write the ledger entry of a refused read");
            }
        }
        MailboxError::NotFound
    }

    /// `GET /fhir/mailbox/{id}`: one message addressed to the caller, exactly as accepted, whether
    /// or not it was acknowledged already.
    #[tracing::instrument(skip_all, fields(stage = "mailbox", org = %caller.org, id = %id))]
    pub async fn read(&self, caller: &Principal, id: &str) -> Result<Vec<u8>, MailboxError> {
        Ok(self.read_item(caller, id).await?.1)
    }

    /// [`Mailbox::read`] for a caller that wants `format`: a handover's XML when it has one (the
    /// exact bytes received as XML, or the conversion made at ingest); otherwise the JSON, with the
    /// format of what is returned.
    pub async fn read_in(
        &self,
        caller: &Principal,
        id: &str,
        format: Format,
    ) -> Result<(Vec<u8>, Format), MailboxError> {
        let (tracking_id, json) = self.read_item(caller, id).await?;
        if format == Format::Xml {
            if let Some(xml) = self.store().payload_xml(&tracking_id).await? {
                return Ok((xml, Format::Xml));
            }
        }
        Ok((json, Format::Json))
    }

    /// [`Mailbox::read`], with the message's tracking id (what a forwarding links to).
    pub async fn read_item(&self, caller: &Principal, id: &str) -> Result<(TrackingId, Vec<u8>), MailboxError> {
        let id = DeliveryId::parse(id).ok_or(MailboxError::NotFound)?;
        let Some((item, _)) = self.store().mailbox_item(&caller.org, &id).await? else {
            return Err(self.denied(caller, &id, "download").await);
        };
        // A purged payload is a refused download, not a read: the ledger says which.
        let how = if item.payload.is_some() { "downloaded" } else { "410 purged" };
        self.store().writer().append_ledger(vec![self.read_entry(caller, &item, Millis::now(), how)]).await?;
        Ok((item.tracking_id, item.payload.ok_or(MailboxError::Purged)?))
    }

    /// `POST /fhir/mailbox/{id}/$acknowledge`: the caller has the message. A handover becomes
    /// `delivered` (and its sender gets the receipt); either way it leaves the mailbox. Idempotent:
    /// acknowledging again changes nothing and answers the same. Returns whether this call changed it.
    #[tracing::instrument(skip_all, fields(stage = "mailbox", org = %caller.org, id = %id))]
    pub async fn acknowledge(&self, caller: &Principal, id: &str) -> Result<bool, MailboxError> {
        let id = DeliveryId::parse(id).ok_or(MailboxError::NotFound)?;
        let Some((item, state)) = self.store().mailbox_item(&caller.org, &id).await? else {
            return Err(self.denied(caller, &id, "acknowledgement").await);
        };
        if state == DeliveryState::Queued {
            let row = outbox_row(caller, &item);
            let acknowledged = self
                .settler
                .entry(&row, LedgerEvent::Acknowledged, Millis::now(), "acknowledged")
                .actor(caller.org.clone());
            let summary = crate::outcome::Text::new("receipt-acknowledged-from-mailbox");
            if self.settler.finish(&row, DeliveryState::Delivered, &summary, "acknowledged", Some(acknowledged)).await?
            {
                tracing::info!(outbox = item.outbox.as_str(), "acknowledged");
                return Ok(true);
            }
        }
        // Moved on already (by an earlier acknowledgement, a business response, or expiry).
        match self.store().mailbox_item(&caller.org, &id).await? {
            Some((_, DeliveryState::Expired | DeliveryState::Failed)) => Err(MailboxError::Expired),
            Some(_) => Ok(false),
            None => Err(MailboxError::NotFound),
        }
    }
}

/// The searchset Bundle of a listing. The entries are the stored bytes, spliced in as they are: no
/// parse, no re-serialisation.
fn searchset(items: &[MailboxItem], total: Option<i64>, more: bool, listing: &Listing, base_url: &str) -> Vec<u8> {
    let (count, filters) = (listing.count, &listing.filters);
    let self_url = format!("{base_url}/fhir/mailbox?_count={count}{filters}");
    let mut links = vec![serde_json::json!({ "relation": "self", "url": self_url })];
    if let (true, Some(last)) = (more, items.last()) {
        let next =
            format!("{base_url}/fhir/mailbox?_count={count}{filters}&_cursor={}.{}", last.created_at.as_i64(), last.id);
        links.push(serde_json::json!({ "relation": "next", "url": next }));
    }
    let mut body = Vec::with_capacity(items.iter().map(|i| i.payload.as_ref().map_or(0, Vec::len) + 200).sum());
    let mut head = serde_json::json!({
        "resourceType": "Bundle",
        "id": uuid::Uuid::new_v4().to_string(),
        "type": "searchset",
    });
    if let Some(total) = total {
        head["total"] = total.into();
    }
    head["link"] = links.into();
    let head = head.to_string();
    body.extend_from_slice(&head.as_bytes()[..head.len() - 1]);
    // FHIR JSON has no empty arrays: an empty page has no `entry` at all.
    let listed: Vec<&MailboxItem> = items.iter().filter(|i| i.payload.is_some()).collect();
    if listed.is_empty() {
        body.push(b'}');
        return body;
    }
    body.extend_from_slice(b",\"entry\":[");
    for (n, item) in listed.into_iter().enumerate() {
        if n > 0 {
            body.push(b',');
        }
        let full_url = serde_json::to_string(&format!("{base_url}/fhir/mailbox/{}", item.id)).unwrap_or_default();
        body.extend_from_slice(format!("{{\"fullUrl\":{full_url},\"resource\":").as_bytes());
        body.extend_from_slice(item.payload.as_deref().unwrap_or(b"null"));
        body.extend_from_slice(b",\"search\":{\"mode\":\"match\"}}");
    }
    body.extend_from_slice(b"]}");
    body
}
