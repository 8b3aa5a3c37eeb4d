//! HTML for people: the quality page drawn from the same MeasureReport the API answers (so the page and
//! the API cannot disagree), readable without JavaScript, charts as inline SVG, tables that copy into a
//! spreadsheet; and what every page shares (the frame, the heading with its language links, refusals,
//! the sign-in form). Every text from outside (organisation names, refusal reasons) is escaped.

use std::fmt::Write as _;

use serde_json::Value;

use super::texts::{text, Lang};

/// `s` escaped for HTML text and attribute values.
pub fn escape(s: impl AsRef<str>) -> String {
    let s = s.as_ref();
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "\
*{box-sizing:border-box}body{font:16px/1.45 system-ui,sans-serif;margin:0;color:#1b1f24;background:#f6f7f9}\
main{max-width:72rem;margin:0 auto;padding:1rem}h1{font-size:1.6rem;margin:.2rem 0}h2{font-size:1.2rem;margin:1.6rem 0 .6rem}\
header{display:flex;flex-wrap:wrap;justify-content:space-between;align-items:baseline;gap:.5rem}\
nav a{margin-left:.6rem}form.filters{display:grid;grid-template-columns:repeat(auto-fit,minmax(12rem,1fr));gap:.6rem;\
background:#fff;padding:.8rem;border-radius:.4rem}form.filters label{display:flex;flex-direction:column;font-size:.85rem;gap:.2rem}\
input,select,button{font:inherit;padding:.3rem;max-width:100%}button{align-self:end;background:#0b5cad;color:#fff;border:0;\
border-radius:.3rem;padding:.45rem 1rem}.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(11rem,1fr));gap:.6rem}\
.cards{margin-top:.8rem}.card{background:#fff;border-radius:.4rem;padding:.7rem}.card .v{font-size:1.7rem;font-weight:600}.card .l{font-size:.85rem;color:#4a5360}\
.scroll{overflow-x:auto;background:#fff;border-radius:.4rem}table{border-collapse:collapse;width:100%}\
th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #e3e6ea;vertical-align:top}td.n{text-align:right;\
font-variant-numeric:tabular-nums}svg{width:100%;height:auto;background:#fff;border-radius:.4rem}.error{background:#fff3f3;\
border:1px solid #e0a0a0;padding:.8rem;border-radius:.4rem}\
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1.2rem;font-size:.85rem;margin:.2rem 0 .5rem}\
.key{display:inline-block;width:.8rem;height:.8rem;border-radius:.15rem;margin-right:.35rem;vertical-align:-.05rem}\
.k-occupied{background:#0b5cad}.k-available{background:#2e7d32}.k-other{background:#d5d9de}\
.bars{background:#fff;border-radius:.4rem;padding:.4rem .8rem;margin-bottom:.8rem}.bar{margin:.6rem 0}\
.bar-label{display:flex;flex-wrap:wrap;justify-content:space-between;gap:.1rem .8rem;font-size:.9rem;margin-bottom:.2rem}\
.bar-n{color:#4a5360;font-variant-numeric:tabular-nums}.bar svg{display:block;height:1.1rem;border-radius:.2rem;background:#d5d9de}\
.badge{display:inline-block;font-size:.75rem;line-height:1.5;padding:0 .45rem;border-radius:.7rem;background:#fde2c0;\
color:#6b3a00;font-weight:600}tr.stale td{background:#fff7eb}th.n{text-align:right}td.t{white-space:nowrap}p.note{font-size:.9rem;color:#4a5360}\
@media (max-width:40rem){table.stack thead{display:none}table.stack tr{display:block;border-bottom:1px solid #cfd4da;\
padding:.35rem 0}table.stack td{display:flex;justify-content:space-between;align-items:center;gap:1rem;border:0;\
padding:.12rem .6rem;text-align:right}table.stack td::before{content:attr(data-label);text-align:left;color:#4a5360}\
table.stack td.h{display:block;text-align:left;font-weight:600}table.stack td.h::before{content:none}}";

/// A whole page around `body`.
pub fn page(lang: Lang, title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title>\
         <style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        lang.code(),
        escape(title)
    )
}

/// The page's heading: its title and the language links, which keep what was asked (`asked`, the raw
/// query parameters; `lang` is replaced).
pub fn heading(body: &mut String, lang: Lang, title: &str, route: &str, asked: &[(String, String)]) {
    let keep: String = asked
        .iter()
        .filter(|(k, _)| k != "lang")
        .map(|(k, v)| {
            let (k, v): (String, String) = (
                url::form_urlencoded::byte_serialize(k.as_bytes()).collect(),
                url::form_urlencoded::byte_serialize(v.as_bytes()).collect(),
            );
            format!("&amp;{}={}", escape(k), escape(v))
        })
        .collect();
    let _ = write!(body, "<header><h1>{}</h1><nav aria-label=\"{}\">", escape(title), escape(text(lang, "language")));
    for other in Lang::ALL {
        let _ = write!(
            body,
            "<a href=\"{route}?lang={}{keep}\" hreflang=\"{0}\">{}</a>",
            other.code(),
            other.code().to_uppercase()
        );
    }
    body.push_str("</nav></header>");
}

/// The population counts of a report group, by code.
fn population(report: &Value, group: &str, code: &str) -> i64 {
    group_of(report, group)
        .and_then(|g| g["population"].as_array())
        .and_then(|p| p.iter().find(|p| p["code"]["coding"][0]["code"] == code))
        .and_then(|p| p["count"].as_i64())
        .unwrap_or(0)
}

fn group_of<'r>(report: &'r Value, code: &str) -> Option<&'r Value> {
    report["group"].as_array()?.iter().find(|g| g["code"]["coding"][0]["code"] == code)
}

/// A share as a percentage with one decimal, or a dash.
/// (Decimal comma in Dutch and French, and French's space before the sign.)
fn percent(lang: Lang, report: &Value, group: &str) -> String {
    let Some(share) = group_of(report, group).and_then(|g| g["measureScore"]["value"].as_f64()) else {
        return "–".to_owned();
    };
    let number = format!("{:.1}", share * 100.0);
    match lang {
        Lang::En => format!("{number}%"),
        Lang::Nl => format!("{}%", number.replace('.', ",")),
        Lang::Fr => format!("{}\u{a0}%", number.replace('.', ",")),
    }
}

/// A duration in seconds, in the largest unit that keeps it whole-ish.
pub(super) fn duration(secs: i64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} d", s / 86_400),
    }
}

/// The filter form's choices.
pub struct Choices<'a> {
    /// (value `system|value`, organisation name).
    pub organizations: Vec<(String, String)>,
    pub kinds: Vec<String>,
    /// What was asked (raw query parameters).
    pub asked: &'a [(String, String)],
}

impl Choices<'_> {
    fn asked(&self, name: &str) -> &str {
        self.asked.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str()).unwrap_or_default()
    }
}

/// The quality page of `report` (a handover-quality MeasureReport).
pub fn quality(lang: Lang, report: &Value, choices: &Choices<'_>) -> String {
    let t = |key| text(lang, key);
    let mut body = String::with_capacity(16 * 1024);
    // Header, with the language links keeping the filters.
    heading(&mut body, lang, &t("title"), "/quality", choices.asked);
    let _ = write!(body, "<p>{}</p>", escape(t("intro")));
    filters(&mut body, lang, report, choices);

    // The headline shares.
    body.push_str("<div class=\"cards\">");
    for group in ["completeness", "delivery", "sent-within-24h-of-stay-end", "delivered-within-24h-of-stay-end"] {
        let _ = write!(
            body,
            "<div class=\"card\"><div class=\"v\" data-share=\"{group}\">{}</div><div class=\"l\">{}</div></div>",
            percent(lang, report, group),
            escape(t(group))
        );
    }
    body.push_str("</div>");

    // Every figure, in a table that copies into a spreadsheet.
    let _ = write!(
        body,
        "<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(t("figures")),
        escape(t("figure")),
        escape(t("count"))
    );
    let rows: [(&str, &str); 14] = [
        ("completeness", "submitted"),
        ("completeness", "accepted"),
        ("completeness", "refused"),
        ("completeness", "accepted-with-warnings"),
        ("delivery", "routed"),
        ("delivery", "delivered"),
        ("delivery", "answered-accepted"),
        ("delivery", "answered-rejected"),
        ("delivery", "failed"),
        ("delivery", "expired"),
        ("sent-within-24h-of-stay-end", "stay-end-known"),
        ("sent-within-24h-of-stay-end", "sent-within-24h"),
        ("delivered-within-24h-of-stay-end", "delivered-stay-end-known"),
        ("delivered-within-24h-of-stay-end", "delivered-within-24h"),
    ];
    for (group, code) in rows {
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"n\" data-metric=\"{code}\">{}</td></tr>",
            escape(t(code)),
            population(report, group, code)
        );
    }
    body.push_str("</tbody></table></div>");

    // What became of the deliveries, as bars.
    let _ = write!(body, "<h2>{}</h2>", escape(t("outcomes")));
    let bars: Vec<(String, i64)> = ["delivered", "answered-accepted", "answered-rejected", "failed", "expired"]
        .iter()
        .map(|code| (t(code), population(report, "delivery", code)))
        .collect();
    body.push_str(&bar_chart(&bars, population(report, "delivery", "routed")));

    // Refusals.
    let _ = write!(body, "<h2>{}</h2>", escape(t("refusals")));
    let strata = group_of(report, "completeness")
        .and_then(|g| g["stratifier"][0]["stratum"].as_array())
        .cloned()
        .unwrap_or_default();
    if strata.is_empty() {
        let _ = write!(body, "<p>{}</p>", escape(t("no-refusals")));
    } else {
        let _ = write!(
            body,
            "<div class=\"scroll\"><table><thead><tr><th>{}</th><th>{}</th></tr></thead><tbody>",
            escape(t("reason")),
            escape(t("count"))
        );
        for stratum in &strata {
            let _ = write!(
                body,
                "<tr><td><code>{}</code></td><td class=\"n\" data-refusal>{}</td></tr>",
                escape(stratum["value"]["text"].as_str().unwrap_or_default()),
                stratum["population"][0]["count"].as_i64().unwrap_or(0)
            );
        }
        body.push_str("</tbody></table></div>");
    }

    // Latencies.
    let _ = write!(
        body,
        "<h2>{}</h2><div class=\"scroll\"><table><thead><tr><th></th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>",
        escape(t("latencies")),
        escape(t("measured")),
        escape(t("median")),
        escape(t("p90"))
    );
    for histogram in ["delivery-latency", "answer-latency", "sent-after-stay-end", "delivered-after-stay-end"] {
        let median = group_of(report, &format!("{histogram}-median")).cloned().unwrap_or_default();
        let p90 = group_of(report, &format!("{histogram}-p90")).cloned().unwrap_or_default();
        let measured = median["population"][0]["count"].as_i64().unwrap_or(0);
        let _ = write!(
            body,
            "<tr><td>{}</td><td class=\"n\" data-metric=\"{histogram}-measured\">{measured}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(t(histogram)),
            escape(quantile(lang, &median)),
            escape(quantile(lang, &p90))
        );
    }
    body.push_str("</tbody></table></div>");
    page(lang, &t("title"), &body)
}

/// A latency group's score as words: "at most 2 h", "more than 7 d", or "none".
fn quantile(lang: Lang, group: &Value) -> String {
    let score = &group["measureScore"];
    match (score["value"].as_i64(), score["comparator"].as_str()) {
        (Some(secs), Some(">")) => format!("{} {}", text(lang, "more-than"), duration(secs)),
        (Some(secs), _) => format!("{} {}", text(lang, "at-most"), duration(secs)),
        (None, _) => text(lang, "none"),
    }
}

/// Horizontal bars, each labelled with its count, scaled to `whole` (or to the largest bar).
fn bar_chart(bars: &[(String, i64)], whole: i64) -> String {
    let scale = bars.iter().map(|(_, n)| *n).max().unwrap_or(0).max(whole).max(1) as f64;
    let (row, label_w, width) = (28, 260.0, 760.0);
    let height = row * bars.len() + 8;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{}\" xmlns=\"http://www.w3.org/2000/svg\">",
        escape(bars.iter().map(|(l, n)| format!("{l}: {n}")).collect::<Vec<_>>().join("; "))
    );
    for (i, (label, n)) in bars.iter().enumerate() {
        let y = 4 + i * row;
        let w = (width - label_w - 60.0) * (*n as f64) / scale;
        let _ = write!(
            svg,
            "<text x=\"6\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"{label_w}\" y=\"{}\" width=\"{w:.1}\" height=\"18\" fill=\"#0b5cad\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"13\">{n}</text>",
            y + 14,
            escape(label),
            y + 2,
            label_w + w + 6.0,
            y + 14
        );
    }
    svg.push_str("</svg>");
    svg
}

fn filters(body: &mut String, lang: Lang, report: &Value, choices: &Choices<'_>) {
    let t = |key| escape(text(lang, key));
    let period = &report["period"];
    let _ = write!(
        body,
        "<form class=\"filters\" method=\"get\" action=\"/quality\" aria-label=\"{}\"><input type=\"hidden\" name=\"lang\" value=\"{}\">\
         <label>{}<input type=\"date\" name=\"periodStart\" value=\"{}\"></label>\
         <label>{}<input type=\"date\" name=\"periodEnd\" value=\"{}\"></label>",
        t("filters"),
        lang.code(),
        t("period-start"),
        escape(period["start"].as_str().unwrap_or_default()),
        t("period-end"),
        escape(period["end"].as_str().unwrap_or_default()),
    );
    for name in ["sender", "receiver"] {
        let _ = write!(body, "<label>{}<select name=\"{name}\"><option value=\"\">{}</option>", t(name), t("any"));
        for (value, label) in &choices.organizations {
            let selected = if choices.asked(name) == value { " selected" } else { "" };
            let _ = write!(body, "<option value=\"{}\"{selected}>{}</option>", escape(value), escape(label));
        }
        body.push_str("</select></label>");
    }
    let _ = write!(body, "<label>{}<select name=\"kind\"><option value=\"\">{}</option>", t("kind"), t("any"));
    for kind in &choices.kinds {
        let selected = if choices.asked("kind") == kind { " selected" } else { "" };
        let _ = write!(body, "<option value=\"{}\"{selected}>{}</option>", escape(kind), escape(kind));
    }
    let _ = write!(body, "</select></label><button type=\"submit\">{}</button></form>", t("show"));
}

/// A refusal (bad filters, figures of others) of the quality page: the issues' texts, escaped.
pub fn refused(lang: Lang, problems: &[String]) -> String {
    refused_at(lang, problems, "/quality")
}

/// A refusal or failure as a page: the problems' texts, escaped, and a way back to `back` (a page
/// route of the broker's own, never one taken from the request).
pub fn refused_at(lang: Lang, problems: &[String], back: &str) -> String {
    let mut body = format!("<h1>{}</h1><div class=\"error\"><ul>", escape(text(lang, "refused-page")));
    for problem in problems {
        let _ = write!(body, "<li>{}</li>", escape(problem));
    }
    let _ = write!(body, "</ul></div><p><a href=\"{back}?lang={}\">{back}</a></p>", lang.code());
    page(lang, &text(lang, "refused-page"), &body)
}

/// The sign-in form (a token, sent as a form post; the answer sets an HttpOnly session cookie).
pub fn login(lang: Lang, next: &str, failed: bool) -> String {
    let t = |key| escape(text(lang, key));
    let mut body = format!("<h1>{}</h1>", t("login-title"));
    if failed {
        let _ = write!(body, "<p class=\"error\">{}</p>", t("login-failed"));
    }
    let _ = write!(
        body,
        "<p>{}</p><form method=\"post\" action=\"/login\"><input type=\"hidden\" name=\"next\" value=\"{}\">\
         <label>{}<br><input type=\"password\" name=\"token\" autocomplete=\"off\" required size=\"40\"></label> \
         <button type=\"submit\">{}</button></form>",
        t("login-help"),
        escape(next),
        t("login-token"),
        t("login-submit")
    );
    page(lang, &text(lang, "login-title"), &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_from_outside_cannot_become_markup() {
        assert_eq!(
            escape("<script>\"x\" & 'y'</script>"),
            "&lt;script&gt;&quot;x&quot; &amp; &#39;y&#39;&lt;/script&gt;"
        );
        let page = refused(Lang::En, &["<img src=x onerror=alert(1)>".to_owned()]);
        assert!(!page.contains("<img"));
    }

    #[test]
    fn durations_read_in_their_unit() {
        assert_eq!(duration(30), "30 s");
        assert_eq!(duration(600), "10 min");
        assert_eq!(duration(14_400), "4 h");
        assert_eq!(duration(345_600), "4 d");
    }
}
