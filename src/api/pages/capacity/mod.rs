//! `GET /capacity` (issue 16): live bed capacity for people, the companion of `/quality`. It asks the
//! capacity stage for exactly what the API answers (`GET /fhir/MeasureReport`, the latest report per
//! organisation; `GET /fhir/MeasureReport/$region-summary`, the totals per care type) and draws the page
//! from that FHIR JSON (`view`), so that the page and the API cannot disagree; the same caller reaches
//! the same figures (the region for triage points and auditors, its own for a provider, 403 for
//! anyone else). Filters (organisation, care type) narrow what is shown, never what is read.
//!
//! Ledger: the API's capacity reads append no entry of their own; a caller without a reading role is
//! refused by `authorize`, which ledgers the refusal. The page calls the same two, so reading the page
//! leaves the same trail as reading the API.
//!
//! Every answer is a page: a bad filter 400, a refusal 403, no credentials the sign-in form (401), a
//! failure its status with a page; nothing here unwraps.

mod filters;
mod markup;
mod view;

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde_json::Value;

use super::texts::{text, Lang};
use super::{html, lang_of, params, render};
use crate::api::{ApiError, AppState};
use crate::auth::Principal;
use crate::capacity::{CapacityError, BED_CAPACITY_MEASURE};
use crate::directory::Snapshot;
use markup::Scope;

/// The page's route, where refusals lead back to.
const ROUTE: &str = "/capacity";

/// `GET /capacity`: the capacity page.
pub async fn capacity(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let params = params(&req);
    let lang = lang_of(&req, &params);
    let caller = match state.authorize(&req).await {
        Ok(caller) => caller,
        Err(ApiError::Unauthorized(_)) => return sign_in(lang, req.query_string()),
        Err(e) => return failed(lang, &e),
    };
    match answer(&req, &state, &caller, &params, lang).await {
        Ok(page) => html(StatusCode::OK, page),
        Err(refusal) => *refusal,
    }
}

/// The sign-in form, with the way back here (the query kept when it is within bounds).
fn sign_in(lang: Lang, query: &str) -> HttpResponse {
    let next = if query.is_empty() || query.len() > filters::MAX_QUERY {
        ROUTE.to_owned()
    } else {
        format!("{ROUTE}?{query}")
    };
    html(StatusCode::UNAUTHORIZED, render::login(lang, &super::next_page(Some(&next)), false))
}

fn refused(status: StatusCode, lang: Lang, problems: &[String]) -> HttpResponse {
    html(status, render::refused_at(lang, problems, ROUTE))
}

/// Any other error of the edge as a page with its status: the edge's own answer is built first, so that
/// its logging (causes of 5xx, never sent) and headers (`Retry-After`) stay those of the API.
fn failed(lang: Lang, error: &ApiError) -> HttpResponse {
    let answer = error.error_response();
    let status = answer.status();
    let problems: Vec<String> = match error {
        ApiError::Forbidden(issues) | ApiError::BadRequest(issues) => {
            issues.iter().map(|i| i.text_in(lang).into_owned()).collect()
        }
        _ if status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE => {
            vec![text(lang, "capacity-try-later")]
        }
        _ => vec![text(lang, "capacity-failed")],
    };
    let mut page = refused(status, lang, &problems);
    if let Some(retry) = answer.headers().get(header::RETRY_AFTER) {
        page.headers_mut().insert(header::RETRY_AFTER, retry.clone());
    }
    page
}

/// A refusal of the capacity stage as a page.
fn capacity_failed(lang: Lang, error: CapacityError) -> HttpResponse {
    match error {
        // Not a reader: the stage's reason, in the page's words.
        CapacityError::Forbidden(_) => refused(StatusCode::FORBIDDEN, lang, &[text(lang, "capacity-forbidden")]),
        other => failed(lang, &ApiError::from(other)),
    }
}

/// The page, or the page that refuses it (boxed: an answer is large, and the page is the common case).
async fn answer(
    req: &HttpRequest,
    state: &AppState,
    caller: &Principal,
    params: &[(String, String)],
    lang: Lang,
) -> Result<String, Box<HttpResponse>> {
    // Who may read what is the stage's: a caller it refuses is refused before any filter is looked at.
    let latest =
        state.capacity.latest(caller, &[], &state.base_url).await.map_err(|e| Box::new(capacity_failed(lang, e)))?;
    let care_types = state.ingestor.catalog().measure_groups(BED_CAPACITY_MEASURE).unwrap_or_default();
    let asked = filters::read(req.query_string(), params, care_types).map_err(|problems| {
        let problems: Vec<String> = problems.iter().map(|p| text(lang, p.key())).collect();
        Box::new(refused(StatusCode::BAD_REQUEST, lang, &problems))
    })?;
    // The summary is the region's: a provider is refused it, as by the API, and sees its own report.
    let summary = match state.capacity.summary(caller, &[]).await {
        Ok(summary) => Some(summary),
        Err(CapacityError::Forbidden(_)) => None,
        Err(e) => return Err(Box::new(capacity_failed(lang, e))),
    };
    let json = |bytes: &[u8]| {
        serde_json::from_slice::<Value>(bytes).map_err(|e| Box::new(failed(lang, &ApiError::Internal(e.into()))))
    };
    let latest = json(&latest)?;
    let summary = summary.as_deref().map(json).transpose()?;
    let region = summary.is_some();

    let snapshot = state.directory.snapshot();
    // The organisation asked for, named as its reports name it (their reporter's first identifier).
    let org = match &asked.org {
        None => None,
        Some(identifier) => {
            let found = snapshot.by_identifier(identifier).filter(|o| region || o.id == caller.org);
            let Some(found) = found else {
                let key = if region { "capacity-bad-organization" } else { "capacity-own-only" };
                let status = if region { StatusCode::BAD_REQUEST } else { StatusCode::FORBIDDEN };
                return Err(Box::new(refused(status, lang, &[text(lang, key)])));
            };
            let token = found.identifiers.first().map(|i| format!("{}|{}", i.system(), i.value()));
            Some((token.unwrap_or_default(), found.name.clone()))
        }
    };

    let rows = view::reports(&latest);
    let mut shown: Vec<&view::ReportRow> = rows
        .iter()
        .filter(|r| org.as_ref().is_none_or(|(token, _)| &r.org == token))
        .filter(|r| asked.care.as_ref().is_none_or(|care| &r.care == care))
        .collect();
    // People look organisations up by name (the searchset is in the order of the broker's ids); each
    // organisation's care types stay in the order of its report.
    shown.sort_by(|a, b| a.name.cmp(&b.name));
    let (scope, care) = match (&summary, &org) {
        (Some(summary), None) => {
            let care = view::summary(summary);
            (Scope::Region, care.into_iter().filter(|c| asked.care.as_ref().is_none_or(|k| &c.care == k)).collect())
        }
        (Some(_), Some((_, name))) => (Scope::Organization(name.clone()), view::own(&shown)),
        (None, _) => (Scope::Own, view::own(&shown)),
    };
    let organizations = choices(&snapshot, &rows, (!region).then_some(caller));
    let view = markup::Capacity {
        scope,
        care,
        reports: shown,
        organizations,
        care_types,
        org: org.map(|(token, _)| token),
        care_type: asked.care.clone(),
        asked: params,
    };
    Ok(markup::capacity(lang, &view))
}

/// The organisations the filter offers: for the region, those that provide care types in the directory
/// and those that reported; for a provider (`own`), itself.
fn choices(snapshot: &Snapshot, rows: &[view::ReportRow], own: Option<&Principal>) -> Vec<(String, String)> {
    let mut organizations: Vec<(String, String)> = snapshot
        .organizations()
        .iter()
        .filter(|o| match own {
            Some(caller) => o.id == caller.org,
            None => {
                !o.care_types.is_empty()
                    || rows
                        .iter()
                        .any(|r| o.identifiers.iter().any(|i| r.org == format!("{}|{}", i.system(), i.value())))
            }
        })
        .filter_map(|o| o.identifiers.first().map(|i| (format!("{}|{}", i.system(), i.value()), o.name.clone())))
        .collect();
    organizations.sort_by(|a, b| a.1.cmp(&b.1));
    organizations
}
