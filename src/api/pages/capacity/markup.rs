//! The capacity page's HTML: per care type a bar (inline SVG: occupied, free, the rest of the total)
//! and, for the region, a table of the totals; per organisation a table of its latest counts with their
//! time, age and staleness. Tables are real tables with plain numbers, so that they copy into a
//! spreadsheet; on a phone their rows stack (CSS only). The cells carry `data-*` names for the tests.

use std::fmt::Write as _;

use super::view::{CareRow, Counts, ReportRow};
use crate::api::pages::render::{duration, escape, heading, page};
use crate::api::pages::texts::{text, text_if_any, text_with, Lang};

/// Whose figures the page shows.
pub enum Scope {
    /// Every organisation's (triage points, auditors).
    Region,
    /// The caller's own (a provider).
    Own,
    /// One organisation of the region, by the filter: its name.
    Organization(String),
}

/// Everything the page shows.
pub struct Capacity<'a> {
    pub scope: Scope,
    /// Per care type: the regional summary's groups, or the one organisation's.
    pub care: Vec<CareRow>,
    /// Per organisation and care type: the searchset's groups, as filtered.
    pub reports: Vec<&'a ReportRow>,
    /// The filter form's organisations: (`SYSTEM|VALUE`, name).
    pub organizations: Vec<(String, String)>,
    /// The filter form's care types (the Measure's).
    pub care_types: &'a [String],
    /// The filters asked (the organisation as its reports name it).
    pub org: Option<String>,
    pub care_type: Option<String>,
    /// The raw query, for the language links.
    pub asked: &'a [(String, String)],
}

/// A care type's name in `lang` (the code itself when the catalogues do not know it).
fn care_name(lang: Lang, code: &str) -> String {
    text_if_any(lang, &format!("care-type-{code}")).unwrap_or_else(|| code.to_owned())
}

/// An RFC 3339 instant of the API (`2026-12-01T14:03:00Z`) as `2026-12-01 14:03 UTC`.
fn when(instant: &str) -> String {
    match (instant.get(..10), instant.get(11..16), instant.ends_with('Z')) {
        (Some(date), Some(time), true) => format!("{date} {time} UTC"),
        _ => instant.to_owned(),
    }
}

fn ago(lang: Lang, secs: Option<i64>) -> String {
    secs.map(|s| text_with(lang, "capacity-ago", &[("age", &duration(s))])).unwrap_or_else(|| "–".to_owned())
}

fn badge(lang: Lang, stale: bool) -> String {
    if stale {
        format!(" <span class=\"badge\">{}</span>", escape(text(lang, "capacity-stale")))
    } else {
        String::new()
    }
}

/// The capacity page.
pub fn capacity(lang: Lang, view: &Capacity<'_>) -> String {
    let t = |key: &str| escape(text(lang, key));
    let mut body = String::with_capacity(16 * 1024);
    heading(&mut body, lang, &text(lang, "capacity-title"), "/capacity", view.asked);
    let _ = write!(body, "<p>{}</p><p class=\"note\">{}</p>", t("capacity-intro"), t("capacity-stale-note"));
    filters(&mut body, lang, view);
    let scope = match &view.scope {
        Scope::Region => text(lang, "capacity-scope-region"),
        Scope::Own => text(lang, "capacity-scope-own"),
        Scope::Organization(name) => name.clone(),
    };
    let _ = write!(body, "<p data-scope>{}</p>", escape(text_with(lang, "capacity-shown", &[("scope", &scope)])));

    let _ = write!(body, "<h2>{}</h2>", t("capacity-per-care-type"));
    if view.care.is_empty() {
        nothing(&mut body, lang, view);
    } else {
        bars(&mut body, lang, &view.care);
        if matches!(view.scope, Scope::Region) {
            totals(&mut body, lang, &view.care);
        }
    }
    let _ = write!(body, "<h2>{}</h2>", t("capacity-per-organization"));
    if view.reports.is_empty() {
        nothing(&mut body, lang, view);
    } else {
        reports(&mut body, lang, &view.reports);
    }
    page(lang, &text(lang, "capacity-title"), &body)
}

fn nothing(body: &mut String, lang: Lang, view: &Capacity<'_>) {
    let key =
        if view.org.is_some() || view.care_type.is_some() { "capacity-nothing-filtered" } else { "capacity-nothing" };
    let _ = write!(body, "<p>{}</p>", escape(text(lang, key)));
}

fn filters(body: &mut String, lang: Lang, view: &Capacity<'_>) {
    let t = |key: &str| escape(text(lang, key));
    let _ = write!(
        body,
        "<form class=\"filters\" method=\"get\" action=\"/capacity\" aria-label=\"{}\">\
         <input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{}<select name=\"org\"><option value=\"\">{}</option>",
        t("filters"),
        lang.code(),
        t("capacity-organization"),
        t("any"),
    );
    for (value, name) in &view.organizations {
        let selected = if view.org.as_deref() == Some(value.as_str()) { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{}\"{selected}>{}</option>", escape(value), escape(name));
    }
    let _ = write!(
        body,
        "</select></label><label>{}<select name=\"care\"><option value=\"\">{}</option>",
        t("capacity-care-type"),
        t("capacity-any-care-type")
    );
    for code in view.care_types {
        let selected = if view.care_type.as_deref() == Some(code.as_str()) { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{}\"{selected}>{}</option>", escape(code), escape(care_name(lang, code)));
    }
    let _ = write!(body, "</select></label><button type=\"submit\">{}</button></form>", t("show"));
}

/// "3 free · 9 occupied · 12 in total", in `lang`.
fn counts_in_words(lang: Lang, counts: Counts) -> String {
    let n = |n: i64| n.to_string();
    text_with(
        lang,
        "capacity-counts",
        &[("available", &n(counts.available)), ("occupied", &n(counts.occupied)), ("total", &n(counts.total))],
    )
}

/// A bar per care type, as a share of its total: occupied, then free, the rest (neither) grey. The
/// words are HTML beside the bar, so they stay readable at a phone's width; the SVG stretches.
fn bars(body: &mut String, lang: Lang, care: &[CareRow]) {
    let t = |key: &str| escape(text(lang, key));
    let _ = write!(
        body,
        "<div class=\"bars\"><div class=\"legend\"><span><span class=\"key k-occupied\"></span>{}</span>\
         <span><span class=\"key k-available\"></span>{}</span><span><span class=\"key k-other\"></span>{}</span></div>",
        t("capacity-occupied"),
        t("capacity-available"),
        t("capacity-other"),
    );
    for row in care {
        let name = care_name(lang, &row.care);
        let words = counts_in_words(lang, row.counts);
        let whole = row.counts.total.max(row.counts.occupied + row.counts.available).max(1) as f64;
        let occupied = 1000.0 * row.counts.occupied as f64 / whole;
        let available = 1000.0 * row.counts.available as f64 / whole;
        let _ = write!(
            body,
            "<div class=\"bar\"><div class=\"bar-label\"><span>{}{}</span><span class=\"bar-n\">{}</span></div>\
             <svg viewBox=\"0 0 1000 20\" preserveAspectRatio=\"none\" role=\"img\" aria-label=\"{}: {}\" \
             data-bar=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">\
             <rect x=\"0\" y=\"0\" width=\"{occupied:.1}\" height=\"20\" fill=\"#0b5cad\"/>\
             <rect x=\"{occupied:.1}\" y=\"0\" width=\"{available:.1}\" height=\"20\" fill=\"#2e7d32\"/></svg></div>",
            escape(&name),
            badge(lang, row.stale_organizations > 0),
            escape(&words),
            escape(&name),
            escape(&words),
            escape(&row.care),
        );
    }
    body.push_str("</div>");
}

/// A number cell: plain digits, named for the tests (`data-summary="elv-low/available"`).
fn number(body: &mut String, label: &str, attribute: &str, name: &str, n: i64) {
    let _ = write!(body, "<td class=\"n\" data-label=\"{label}\" {attribute}=\"{}\">{n}</td>", escape(name));
}

/// Numbers' columns, aligned as their numbers are.
const NUMBERS: [&str; 5] = [
    "capacity-available",
    "capacity-occupied",
    "capacity-total",
    "capacity-organizations",
    "capacity-stale-organizations",
];

/// A table's opening and its head row (`columns`: the texts' keys).
fn head(body: &mut String, lang: Lang, columns: &[&str]) {
    body.push_str("<div class=\"scroll\"><table class=\"stack\"><thead><tr>");
    for key in columns {
        let class = if NUMBERS.contains(key) { " class=\"n\"" } else { "" };
        let _ = write!(body, "<th scope=\"col\"{class}>{}</th>", escape(text(lang, key)));
    }
    body.push_str("</tr></thead><tbody>");
}

/// The region's totals per care type.
fn totals(body: &mut String, lang: Lang, care: &[CareRow]) {
    let t = |key: &str| escape(text(lang, key));
    let columns = [
        "capacity-care-type",
        "capacity-available",
        "capacity-occupied",
        "capacity-total",
        "capacity-organizations",
        "capacity-stale-organizations",
        "capacity-oldest",
    ];
    head(body, lang, &columns);
    for row in care {
        let stale = row.stale_organizations > 0;
        let _ = write!(
            body,
            "<tr{}><td class=\"h\">{}{}</td>",
            if stale { " class=\"stale\"" } else { "" },
            escape(care_name(lang, &row.care)),
            badge(lang, stale)
        );
        let name = |n: &str| format!("{}/{n}", row.care);
        number(body, &t("capacity-available"), "data-summary", &name("available"), row.counts.available);
        number(body, &t("capacity-occupied"), "data-summary", &name("occupied"), row.counts.occupied);
        number(body, &t("capacity-total"), "data-summary", &name("total"), row.counts.total);
        number(body, &t("capacity-organizations"), "data-summary", &name("organizations"), row.organizations);
        number(body, &t("capacity-stale-organizations"), "data-summary", &name("stale"), row.stale_organizations);
        let oldest = escape(ago(lang, row.age_secs));
        let _ = write!(body, "<td class=\"t\" data-label=\"{}\">{oldest}</td></tr>", t("capacity-oldest"));
    }
    body.push_str("</tbody></table></div>");
}

/// Each organisation's latest counts per care type, with when they held and whether they are stale.
fn reports(body: &mut String, lang: Lang, rows: &[&ReportRow]) {
    let t = |key: &str| escape(text(lang, key));
    let columns = [
        "capacity-organization",
        "capacity-care-type",
        "capacity-available",
        "capacity-occupied",
        "capacity-total",
        "capacity-as-of",
        "capacity-updated",
        "capacity-status",
    ];
    head(body, lang, &columns);
    for row in rows {
        let id = format!("{}/{}", row.org, row.care);
        let _ = write!(
            body,
            "<tr{}><td class=\"h\">{}</td><td data-label=\"{}\">{}</td>",
            if row.stale { " class=\"stale\"" } else { "" },
            escape(&row.name),
            t("capacity-care-type"),
            escape(care_name(lang, &row.care)),
        );
        number(body, &t("capacity-available"), "data-report", &format!("{id}/available"), row.counts.available);
        number(body, &t("capacity-occupied"), "data-report", &format!("{id}/occupied"), row.counts.occupied);
        number(body, &t("capacity-total"), "data-report", &format!("{id}/total"), row.counts.total);
        let as_of = match &row.as_of {
            Some(at) => {
                format!("<time datetime=\"{}\" data-as-of=\"{}\">{}</time>", escape(at), escape(&id), escape(when(at)))
            }
            None => "–".to_owned(),
        };
        let status = if row.stale {
            format!("<span class=\"badge\" data-stale=\"{}\">{}</span>", escape(&id), t("capacity-stale"))
        } else {
            t("capacity-current")
        };
        let _ = write!(
            body,
            "<td class=\"t\" data-label=\"{}\">{as_of}</td><td class=\"t\" data-label=\"{}\">{}</td>\
             <td data-label=\"{}\">{status}</td></tr>",
            t("capacity-as-of"),
            t("capacity-updated"),
            escape(ago(lang, row.age_secs)),
            t("capacity-status"),
        );
    }
    body.push_str("</tbody></table></div>");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(org: &str, name: &str, stale: bool) -> ReportRow {
        ReportRow {
            org: org.to_owned(),
            name: name.to_owned(),
            care: "elv-low".to_owned(),
            counts: Counts { total: 12, occupied: 9, available: 3 },
            as_of: Some("2026-12-01T14:03:00Z".to_owned()),
            age_secs: Some(600),
            stale,
        }
    }

    #[test]
    fn names_from_the_directory_cannot_become_markup_and_stale_counts_say_so() {
        let hostile = row("urn:x|\"><script>", "<img src=x onerror=alert(1)>", true);
        let care = super::super::view::own(&[&hostile]);
        let view = Capacity {
            scope: Scope::Organization("<b>".to_owned()),
            care,
            reports: vec![&hostile],
            organizations: vec![("urn:x|\"><script>".to_owned(), "<img>".to_owned())],
            care_types: &[],
            org: None,
            care_type: None,
            asked: &[],
        };
        let html = capacity(Lang::Nl, &view);
        assert!(!html.contains("<img") && !html.contains("<script") && !html.contains("<b>"), "{html}");
        assert!(html.contains("data-stale=") && html.contains("verouderd"), "{html}");
        assert!(html.contains("<time datetime=\"2026-12-01T14:03:00Z\""));
        assert!(html.contains(">2026-12-01 14:03 UTC</time>"));
    }

    #[test]
    fn care_types_have_names_in_every_language() {
        assert_eq!(care_name(Lang::Nl, "elv-low"), "Eerstelijnsverblijf laag complex");
        assert_eq!(care_name(Lang::Fr, "short-stay"), "Court séjour");
        assert_eq!(care_name(Lang::En, "not-yet-known"), "not-yet-known");
    }

    #[test]
    fn times_read_as_dates_and_clock_times() {
        assert_eq!(when("2026-12-01T14:03:59Z"), "2026-12-01 14:03 UTC");
        assert_eq!(when("odd"), "odd");
    }
}
