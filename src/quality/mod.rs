//! Handover quality (issue 16): how handovers went, per sending organisation, receiving organisation,
//! kind and period, as a FHIR `MeasureReport` of the handover-quality Measure
//! (`profiles/Measure-handover-quality.json`), computed on request (`$evaluate-measure`) from the
//! counters the store keeps with the ledger (`ledger::counters`): never from payloads, which may be
//! purged, and never by scanning the ledger.
//!
//! Who reads: the quality role and auditors the region; an organisation its own figures (it must be
//! the sender or the receiver asked about). Every read is a ledger entry (`audit-query`).

mod report;

use time::Date;

use crate::auth::{Principal, Role};
use crate::directory::Directory;
use crate::ledger::{LedgerEvent, LedgerRecord};
use crate::model::{OrgId, OrgIdentifier};
use crate::outcome::{Issue, IssueCode, Text};
use crate::store::{QualityQuery, Store, StoreError};
use crate::time::Millis;

/// The canonical URL of the handover-quality Measure.
pub const HANDOVER_QUALITY_MEASURE: &str = "https://fhir.handover-broker.eu/Measure/handover-quality";

/// The longest period one report covers (days): ten years, far more than any report needs, and a
/// bound on the rows one request may sum.
pub const MAX_PERIOD_DAYS: i64 = 3_660;

/// The parameters `$evaluate-measure` takes here.
const PARAMETERS: &[&str] = &["periodStart", "periodEnd", "sender", "receiver", "kind", "_format"];

/// Why a report was refused.
#[derive(Debug, thiserror::Error)]
pub enum QualityError {
    /// Parameters that cannot be read (400).
    #[error("bad parameters")]
    BadRequest(Vec<Issue>),
    /// Figures of other organisations (403).
    #[error("forbidden")]
    Forbidden(Vec<Issue>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// What a report asks for, as read from the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    /// First and last day of the period (both included).
    pub start: Date,
    pub end: Date,
    pub sender: Option<OrgIdentifier>,
    pub receiver: Option<OrgIdentifier>,
    pub kind: Option<String>,
}

/// The quality stage, built once at start.
#[derive(Clone)]
pub struct Quality {
    store: Store,
    directory: Directory,
}

impl Quality {
    pub fn new(store: Store, directory: Directory) -> Self {
        Self { store, directory }
    }

    /// `GET /fhir/Measure/handover-quality/$evaluate-measure`: the report, as FHIR JSON.
    #[tracing::instrument(skip_all, fields(stage = "quality", org = %caller.org))]
    pub async fn evaluate(&self, caller: &Principal, params: &[(String, String)]) -> Result<Vec<u8>, QualityError> {
        let today = Millis::now().to_datetime().date();
        let request = read_request(params, today)?;
        let snapshot = self.directory.snapshot();
        let org_of = |identifier: &Option<OrgIdentifier>, name: &str| -> Result<Option<OrgId>, QualityError> {
            let Some(identifier) = identifier else { return Ok(None) };
            match snapshot.by_identifier(identifier) {
                Some(org) => Ok(Some(org.id.clone())),
                None => Err(QualityError::BadRequest(vec![Issue::says(
                    IssueCode::NotFound,
                    Text::new("quality-unknown-organisation").arg("name", name),
                )
                .at(name)])),
            }
        };
        let mut sender = org_of(&request.sender, "sender")?;
        let receiver = org_of(&request.receiver, "receiver")?;
        if caller.role == Role::Sender {
            // An organisation sees its own figures: as the sender unless it asks as the receiver.
            if sender.is_none() && receiver.is_none() {
                sender = Some(caller.org.clone());
            }
            if sender.as_ref() != Some(&caller.org) && receiver.as_ref() != Some(&caller.org) {
                let refusal = format!("403 quality report of other organisations by {}", caller.org);
                self.record(LedgerRecord::denied(&caller.org, refusal)).await?;
                return Err(QualityError::Forbidden(vec![Issue::says(
                    IssueCode::Forbidden,
                    Text::new("quality-forbidden"),
                )]));
            }
        }
        let query = QualityQuery {
            from_day: crate::ledger::counters::day_of(request.start),
            to_day: crate::ledger::counters::day_of(request.end) + 1,
            sender: sender.clone(),
            receiver: receiver.clone(),
            kind: request.kind.clone(),
        };
        let totals = self.store.quality_counts(&query).await?;
        let asked: Vec<&str> = params.iter().map(|(k, _)| k.as_str()).filter(|k| *k != "_format").collect();
        let entry = LedgerRecord::new(LedgerEvent::AuditQuery, Millis::now()).actor(caller.org.clone()).outcome(
            format!("200 quality report ({})", if asked.is_empty() { "defaults".into() } else { asked.join(", ") }),
        );
        self.record(entry).await?;
        tracing::info!(metrics = totals.len(), "quality report");
        Ok(report::measure_report(&request, &totals, Millis::now()))
    }

    async fn record(&self, entry: LedgerRecord) -> Result<(), QualityError> {
        Ok(self.store.writer().append_ledger(vec![entry]).await?)
    }
}

/// The request's parameters: a period of whole days (`periodStart`, `periodEnd` as FHIR dates; the
/// last 30 days up to `today` by default), organisations as `system|value`, the kind as its event code.
pub fn read_request(params: &[(String, String)], today: Date) -> Result<ReportRequest, QualityError> {
    let mut issues = Vec::new();
    let mut one = |name: &str| -> Option<&str> {
        let mut values = params.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str());
        let first = values.next();
        if values.next().is_some() {
            issues
                .push(Issue::says(IssueCode::Invalid, Text::new("quality-parameter-twice").arg("name", name)).at(name));
        }
        first
    };
    let (start, end, sender, receiver, kind) =
        (one("periodStart"), one("periodEnd"), one("sender"), one("receiver"), one("kind"));
    for (name, _) in params {
        if !PARAMETERS.contains(&name.as_str()) {
            issues.push(
                Issue::says(
                    IssueCode::NotSupported,
                    Text::new("quality-unknown-parameter").arg("known", PARAMETERS.join(", ")),
                )
                .at(name.chars().filter(char::is_ascii_alphanumeric).take(40).collect::<String>()),
            );
        }
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    let mut date = |name: &str, text: Option<&str>, default: Date| match text {
        None => default,
        Some(text) => Date::parse(text, format).unwrap_or_else(|_| {
            issues.push(Issue::says(IssueCode::Invalid, Text::new("quality-bad-date")).at(name));
            default
        }),
    };
    let end = date("periodEnd", end, today);
    let start = date("periodStart", start, end - time::Duration::days(29));
    if start > end {
        issues.push(Issue::says(IssueCode::Invalid, Text::new("quality-bad-period")).at("periodStart"));
    } else if (end - start).whole_days() >= MAX_PERIOD_DAYS {
        issues.push(
            Issue::says(IssueCode::TooCostly, Text::new("quality-period-too-long").num("max", MAX_PERIOD_DAYS))
                .at("periodStart"),
        );
    }
    let mut org = |name: &str, text: Option<&str>| {
        let text = text?;
        let parsed = text.split_once('|').and_then(|(system, value)| OrgIdentifier::new(system, value));
        if parsed.is_none() {
            issues.push(Issue::says(IssueCode::Invalid, Text::new("quality-bad-organisation")).at(name));
        }
        parsed
    };
    let (sender, receiver) = (org("sender", sender), org("receiver", receiver));
    let kind = kind.map(str::to_owned);
    if kind.as_deref().is_some_and(|k| k.is_empty() || k.len() > 64 || !k.bytes().all(|b| b.is_ascii_graphic())) {
        issues.push(Issue::says(IssueCode::Invalid, Text::new("quality-bad-kind")).at("kind"));
    }
    if !issues.is_empty() {
        return Err(QualityError::BadRequest(issues));
    }
    Ok(ReportRequest { start, end, sender, receiver, kind })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn the_period_defaults_to_the_last_30_days_and_is_bounded() {
        let today = time::macros::date!(2026 - 12 - 01);
        let request = read_request(&[], today).unwrap();
        assert_eq!((request.start, request.end), (time::macros::date!(2026 - 11 - 02), today));
        let too_long = params(&[("periodStart", "2000-01-01"), ("periodEnd", "2026-01-01")]);
        assert!(matches!(read_request(&too_long, today), Err(QualityError::BadRequest(_))));
        let reversed = params(&[("periodStart", "2026-02-01"), ("periodEnd", "2026-01-01")]);
        assert!(matches!(read_request(&reversed, today), Err(QualityError::BadRequest(_))));
    }

    #[test]
    fn hostile_parameters_are_refused_without_echoing_them() {
        let today = time::macros::date!(2026 - 12 - 01);
        let hostile = params(&[("periodStart", "<script>"), ("sender", "no-bar"), ("x<y>", "1"), ("kind", "a b")]);
        let Err(QualityError::BadRequest(issues)) = read_request(&hostile, today) else { panic!("refused") };
        assert_eq!(issues.len(), 4, "{issues:?}");
        assert!(issues
            .iter()
            .all(|i| !i.message.contains('<') && !i.expression.as_deref().unwrap_or("").contains('<')));
    }
}
