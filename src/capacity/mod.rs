//! Live bed capacity (issue 14 item 4): providers report their counts per care type as FHIR
//! `MeasureReport`s of the bed-capacity Measure (`profiles/Measure-bed-capacity.json`, after HL7
//! SANER); the region's triage points read the latest report per organisation and a summary per care
//! type, each figure with its age, and counts older than `capacity.stale_after_secs` marked stale.
//!
//! A report is checked whole (every issue in one OperationOutcome) and stored through the writer with
//! its `capacity-reported` ledger entry in one transaction; only the latest counts per (organisation,
//! care type) are kept (the ledger keeps that each report came). Who reads: triage points and auditors
//! the region, a provider its own counts, nobody else. This stage never routes or delivers anything.

mod fhir;

use crate::auth::{Principal, Role};
use crate::directory::Directory;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::OrgId;
use crate::outcome::{Issue, IssueCode, Text};
use crate::store::{CapacityUpdate, Store, StoreError};
use crate::time::Millis;

pub use fhir::{CAPACITY_POPULATION_SYSTEM, MAX_GROUPS, STALE_URL};

/// The canonical URL of the bed-capacity Measure.
pub const BED_CAPACITY_MEASURE: &str = "https://fhir.handover-broker.eu/Measure/bed-capacity";

/// How far in the future a report's time may lie: clocks of reporting systems drift.
pub const CLOCK_SKEW_SECS: u64 = 300;

/// Why a report or a read was refused.
#[derive(Debug, thiserror::Error)]
pub enum CapacityError {
    /// Not JSON, or not a MeasureReport (400).
    #[error("not a MeasureReport")]
    Malformed(Vec<Issue>),
    /// A MeasureReport that breaks the Measure's rules (422).
    #[error("invalid capacity report")]
    Invalid(Vec<Issue>),
    /// A report for another organisation, or a read the caller may not make (403).
    #[error("forbidden")]
    Forbidden(Vec<Issue>),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Writing the answer failed (a bug).
    #[error("cannot write the answer")]
    Json(#[from] serde_json::Error),
}

/// What a reader reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reach {
    /// Every organisation: triage points and auditors.
    Region,
    /// Its own counts only: a provider of care types.
    Own(OrgId),
}

/// The capacity stage, built once at start.
#[derive(Clone)]
pub struct Capacity {
    store: Store,
    directory: Directory,
    /// The care types of the bed-capacity Measure (its groups' codes).
    care_types: Vec<String>,
    stale_after_secs: u64,
}

impl Capacity {
    pub fn new(store: Store, directory: Directory, care_types: Vec<String>, stale_after_secs: u64) -> Self {
        Self { store, directory, care_types, stale_after_secs }
    }

    /// `POST /fhir/MeasureReport`: checks the report, stores it with its ledger entry and returns the
    /// stored report (with its new id) as FHIR JSON.
    #[tracing::instrument(skip_all, fields(org = %caller.org))]
    pub async fn report(&self, caller: &Principal, body: &[u8]) -> Result<Vec<u8>, CapacityError> {
        let snapshot = self.directory.snapshot();
        let now = Millis::now();
        let report = fhir::parse_report(
            body,
            &fhir::Context { caller: &caller.org, snapshot: &snapshot, care_types: &self.care_types, now },
        )?;
        let report_id = uuid::Uuid::new_v4().to_string();
        let care_types: Vec<&str> = report.counts.iter().map(|c| c.care_type.as_str()).collect();
        let entry = LedgerRecord::new(LedgerEvent::CapacityReported, now)
            .actor(caller.org.clone())
            .sender(caller.org.clone())
            .payload(crate::model::PayloadHash::of(body))
            .outcome(format!(
                "201 MeasureReport {report_id}: {} as of {}",
                care_types.join(", "),
                report.as_of.to_rfc3339_secs()
            ));
        let update = CapacityUpdate {
            org: caller.org.clone(),
            report_id: report_id.clone(),
            as_of: report.as_of,
            received_at: now,
            counts: report.counts.clone(),
            ledger: entry,
        };
        self.store.writer().report_capacity(update).await?;
        tracing::info!(stage = "capacity", org = %caller.org, groups = report.counts.len(), "capacity reported");
        Ok(fhir::stored_report(&report, &report_id, now, &snapshot)?)
    }

    /// `GET /fhir/MeasureReport?measure=`: a searchset of the latest counts per organisation that the
    /// caller may read.
    #[tracing::instrument(skip_all, fields(org = %caller.org))]
    pub async fn latest(
        &self,
        caller: &Principal,
        params: &[(String, String)],
        base_url: &str,
    ) -> Result<Vec<u8>, CapacityError> {
        let reach = self.reach(caller)?;
        let rows = if measure_matches(params)? {
            match &reach {
                Reach::Region => self.store.capacity_latest(None).await?,
                Reach::Own(org) => self.store.capacity_latest(Some(org)).await?,
            }
        } else {
            Vec::new()
        };
        let now = Millis::now();
        let snapshot = self.directory.snapshot();
        Ok(fhir::searchset(&rows, now, self.stale_before(now), &snapshot, base_url)?)
    }

    /// `GET /fhir/MeasureReport/$region-summary`: the region per care type, as one MeasureReport.
    #[tracing::instrument(skip_all, fields(org = %caller.org))]
    pub async fn summary(&self, caller: &Principal, params: &[(String, String)]) -> Result<Vec<u8>, CapacityError> {
        if self.reach(caller)? != Reach::Region {
            return Err(forbidden(Text::new("capacity-summary-forbidden")));
        }
        let now = Millis::now();
        let totals = if measure_matches(params)? {
            self.store.capacity_summary(self.stale_before(now)).await?
        } else {
            Vec::new()
        };
        Ok(fhir::summary(&totals, now)?)
    }

    fn stale_before(&self, now: Millis) -> Millis {
        now.minus_secs(self.stale_after_secs)
    }

    /// Triage points and auditors read the region; a provider (an organisation that provides care
    /// types in the directory) its own counts; anyone else nothing.
    fn reach(&self, caller: &Principal) -> Result<Reach, CapacityError> {
        if caller.role == Role::Auditor {
            return Ok(Reach::Region);
        }
        let snapshot = self.directory.snapshot();
        let org = snapshot.organizations().iter().find(|o| o.id == caller.org);
        match org {
            Some(org) if org.triage_point => Ok(Reach::Region),
            Some(org) if !org.care_types.is_empty() => Ok(Reach::Own(org.id.clone())),
            _ => Err(forbidden(Text::new("capacity-read-forbidden"))),
        }
    }
}

fn forbidden(text: Text) -> CapacityError {
    CapacityError::Forbidden(vec![Issue::says(IssueCode::Forbidden, text)])
}

/// Whether the search's `measure` (absent: the bed-capacity Measure) names the bed-capacity Measure;
/// a measure this broker does not keep matches nothing. More than one `measure` is refused.
fn measure_matches(params: &[(String, String)]) -> Result<bool, CapacityError> {
    let measures: Vec<&str> = params.iter().filter(|(k, _)| k == "measure").map(|(_, v)| v.as_str()).collect();
    match measures.as_slice() {
        [] => Ok(true),
        [one] => Ok(one.split('|').next() == Some(BED_CAPACITY_MEASURE)),
        _ => Err(CapacityError::Malformed(vec![Issue::says(IssueCode::Invalid, Text::new("capacity-measure-twice"))])),
    }
}
