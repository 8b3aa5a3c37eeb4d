//! Texts for people in Dutch, French and English (issue 16), from Project Fluent message catalogues in
//! `locales/{en,nl,fr}/*.ftl`, built into the binary: the profiles' constraint texts (what a refused
//! handover is told), the pages' words, and what a patient portal shows. Issue codes and expressions
//! stay language-neutral; only the words change.
//!
//! A leaf: no other module of the broker is imported here.

use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};

/// A language the broker writes for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Language {
    En,
    Nl,
    Fr,
}

/// Each catalogue in each language: (file name, [en, nl, fr]).
const CATALOGUES: &[(&str, [&str; 3])] = &[
    (
        "constraints.ftl",
        [
            include_str!("../../locales/en/constraints.ftl"),
            include_str!("../../locales/nl/constraints.ftl"),
            include_str!("../../locales/fr/constraints.ftl"),
        ],
    ),
    (
        "pages.ftl",
        [
            include_str!("../../locales/en/pages.ftl"),
            include_str!("../../locales/nl/pages.ftl"),
            include_str!("../../locales/fr/pages.ftl"),
        ],
    ),
    (
        "requests.ftl",
        [
            include_str!("../../locales/en/requests.ftl"),
            include_str!("../../locales/nl/requests.ftl"),
            include_str!("../../locales/fr/requests.ftl"),
        ],
    ),
    (
        "http.ftl",
        [
            include_str!("../../locales/en/http.ftl"),
            include_str!("../../locales/nl/http.ftl"),
            include_str!("../../locales/fr/http.ftl"),
        ],
    ),
    (
        "validation.ftl",
        [
            include_str!("../../locales/en/validation.ftl"),
            include_str!("../../locales/nl/validation.ftl"),
            include_str!("../../locales/fr/validation.ftl"),
        ],
    ),
    (
        "routing.ftl",
        [
            include_str!("../../locales/en/routing.ftl"),
            include_str!("../../locales/nl/routing.ftl"),
            include_str!("../../locales/fr/routing.ftl"),
        ],
    ),
    (
        "receipts.ftl",
        [
            include_str!("../../locales/en/receipts.ftl"),
            include_str!("../../locales/nl/receipts.ftl"),
            include_str!("../../locales/fr/receipts.ftl"),
        ],
    ),
    (
        "cli.ftl",
        [
            include_str!("../../locales/en/cli.ftl"),
            include_str!("../../locales/nl/cli.ftl"),
            include_str!("../../locales/fr/cli.ftl"),
        ],
    ),
    (
        "patient.ftl",
        [
            include_str!("../../locales/en/patient.ftl"),
            include_str!("../../locales/nl/patient.ftl"),
            include_str!("../../locales/fr/patient.ftl"),
        ],
    ),
];

impl Language {
    pub const ALL: [Language; 3] = [Language::Nl, Language::Fr, Language::En];

    pub fn code(self) -> &'static str {
        match self {
            Self::En => "en",
            Self::Nl => "nl",
            Self::Fr => "fr",
        }
    }

    fn index(self) -> usize {
        match self {
            Self::En => 0,
            Self::Nl => 1,
            Self::Fr => 2,
        }
    }

    /// A language tag's language (`nl-BE` is Dutch), if the broker writes it.
    pub fn of(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next()?.trim().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Self::En),
            "nl" => Some(Self::Nl),
            "fr" => Some(Self::Fr),
            _ => None,
        }
    }

    /// `explicit` when it names a language of the broker (a page's language link), else the best of
    /// `Accept-Language` by quality, else English.
    pub fn negotiate(explicit: Option<&str>, accept_language: Option<&str>) -> Self {
        if let Some(lang) = explicit.and_then(Self::of) {
            return lang;
        }
        let Some(header) = accept_language else { return Self::En };
        // At most 32 ranges are looked at: a real header is short, a hostile one gains nothing.
        let mut best: Option<(f32, Self)> = None;
        for range in header.split(',').take(32) {
            let mut parts = range.split(';');
            let tag = parts.next().unwrap_or_default().trim();
            let q = parts
                .find_map(|p| p.trim().strip_prefix("q="))
                .map_or(Some(1.0), |q| q.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q)));
            if let (Some(lang), Some(q)) = (Self::of(tag), q) {
                if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                    best = Some((q, lang));
                }
            }
        }
        best.map_or(Self::En, |(_, lang)| lang)
    }
}

static BUNDLES: LazyLock<[FluentBundle<FluentResource>; 3]> =
    LazyLock::new(|| [bundle(Language::En), bundle(Language::Nl), bundle(Language::Fr)]);

fn bundle(lang: Language) -> FluentBundle<FluentResource> {
    let id = lang.code().parse().unwrap_or_default();
    let mut bundle = FluentBundle::new_concurrent(vec![id]);
    // No Unicode isolation marks around arguments: the texts go into JSON and HTML, not bidi UIs.
    bundle.set_use_isolating(false);
    for (_, sources) in CATALOGUES {
        // A catalogue that does not parse is kept as far as it parses (the tests fail on it).
        let resource = FluentResource::try_new(sources[lang.index()].to_owned()).unwrap_or_else(|(r, _)| r);
        let _ = bundle.add_resource(resource);
    }
    bundle
}

/// The text `id` in `lang` with `args`; `None` when no catalogue has it in that language.
pub fn text(lang: Language, id: &str, args: &[(&str, &str)]) -> Option<String> {
    let bundle = &BUNDLES[lang.index()];
    let pattern = bundle.get_message(id)?.value()?;
    let mut fluent_args = FluentArgs::new();
    for (name, value) in args {
        fluent_args.set(*name, *value);
    }
    let mut errors = Vec::new();
    let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
    errors.is_empty().then(|| text.into_owned())
}

/// An argument of a text: a word shown as given (codes, names, identifiers: `00012` stays `00012`), or
/// a count, which a catalogue may use to pick singular or plural.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Arg {
    Word(String),
    Number(i64),
}

/// The text `id` in `lang` with typed `args`, falling back to English, then to the id itself.
pub fn render(lang: Language, id: &str, args: &[(&str, Arg)]) -> String {
    let format = |lang: Language| {
        let bundle = &BUNDLES[lang.index()];
        let pattern = bundle.get_message(id)?.value()?;
        let mut fluent_args = FluentArgs::new();
        for (name, value) in args {
            match value {
                Arg::Word(word) => fluent_args.set(*name, FluentValue::from(word.as_str())),
                Arg::Number(n) => fluent_args.set(*name, FluentValue::from(*n)),
            }
        }
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&fluent_args), &mut errors);
        errors.is_empty().then(|| text.into_owned())
    };
    format(lang).or_else(|| format(Language::En)).unwrap_or_else(|| id.to_owned())
}

/// The language of the answer being written, and whether any words were written in it.
struct Answer {
    lang: Language,
    used: std::cell::Cell<bool>,
}

tokio::task_local! {
    /// Set by the HTTP edge for the request's task: the stages that write words need no parameter for it.
    static ANSWER: Answer;
}

/// Runs `work` with `lang` as the language of the answer it writes ([`answer_language`]); also says
/// whether any words were asked for in it (the answer then names its language).
pub async fn answering_in<F: std::future::Future>(lang: Language, work: F) -> (F::Output, bool) {
    let answer = Answer { lang, used: std::cell::Cell::new(false) };
    ANSWER
        .scope(answer, async {
            let output = work.await;
            (output, ANSWER.with(|answer| answer.used.get()))
        })
        .await
}

/// The language the caller asked its answer in, English outside a request.
pub fn answer_language() -> Language {
    ANSWER
        .try_with(|answer| {
            answer.used.set(true);
            answer.lang
        })
        .unwrap_or(Language::En)
}

/// [`text`], falling back to English, then to the id itself: a missing text shows, it never fails.
pub fn text_or_english(lang: Language, id: &str, args: &[(&str, &str)]) -> String {
    text(lang, id, args).or_else(|| text(Language::En, id, args)).unwrap_or_else(|| id.to_owned())
}

/// An issue's text in `lang`: a profile constraint's issue (`hb-pat-1: The patient has ...`) gets the
/// constraint's text from the catalogue, its key kept in front; any other text stays as written.
pub fn issue_text(lang: Language, message: &str) -> Option<String> {
    if lang == Language::En {
        return None;
    }
    let (key, _) = message.split_once(": ")?;
    let translated = text(lang, &format!("constraint-{key}"), &[])?;
    Some(format!("{key}: {translated}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(source: &str) -> Vec<String> {
        source
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with(' ') && l.contains(" = "))
            .filter_map(|l| l.split_once(" = ").map(|(id, _)| id.trim().to_owned()))
            .collect()
    }

    #[test]
    fn every_catalogue_has_the_same_keys_in_every_language_and_parses() {
        for (name, sources) in CATALOGUES {
            let english = ids(sources[0]);
            assert!(!english.is_empty(), "{name}");
            for (lang, source) in Language::ALL.iter().zip([sources[1], sources[2], sources[0]]) {
                assert_eq!(ids(source), english, "{name} in {}: keys differ from English", lang.code());
                assert!(FluentResource::try_new(source.to_owned()).is_ok(), "{name} in {} does not parse", lang.code());
            }
        }
    }

    /// Every `Text::new` of an id in the sources names a text of the English catalogues (and so, by the
    /// test above, of every language): a text id mistyped in code would otherwise show as the bare id.
    #[test]
    fn every_text_the_code_asks_for_is_in_the_catalogues() {
        let english: std::collections::BTreeSet<String> = CATALOGUES.iter().flat_map(|(_, s)| ids(s[0])).collect();
        let mut missing = Vec::new();
        let mut asked = 0;
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(dir).unwrap().flatten() {
                let path = entry.path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let source = std::fs::read_to_string(&path).unwrap_or_default();
                for (_, rest) in source.match_indices("Text::new(\"").map(|(i, _)| source.split_at(i + 11)) {
                    let id = rest.split('"').next().unwrap_or_default();
                    asked += 1;
                    if !english.contains(id) {
                        missing.push(format!("{}: {id}", path.display()));
                    }
                }
            }
        }
        assert!(asked > 0);
        assert!(missing.is_empty(), "texts asked for but not catalogued: {missing:#?}");
    }

    #[test]
    fn every_profile_constraint_has_a_text_and_every_text_a_constraint() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("profiles");
        let mut keys = std::collections::BTreeSet::new();
        for file in std::fs::read_dir(dir).unwrap().flatten() {
            let name = file.file_name().to_string_lossy().into_owned();
            if !name.starts_with("StructureDefinition-") {
                continue;
            }
            let profile: serde_json::Value = serde_json::from_slice(&std::fs::read(file.path()).unwrap()).unwrap();
            for part in ["snapshot", "differential"] {
                for element in profile[part]["element"].as_array().into_iter().flatten() {
                    for constraint in element["constraint"].as_array().into_iter().flatten() {
                        if let Some(key) = constraint["key"].as_str().filter(|_| constraint["human"].is_string()) {
                            keys.insert(format!("constraint-{key}"));
                        }
                    }
                }
            }
        }
        let catalogued: std::collections::BTreeSet<String> = ids(CATALOGUES[0].1[0]).into_iter().collect();
        assert_eq!(catalogued, keys);
    }

    #[test]
    fn texts_come_in_the_language_asked_with_their_arguments() {
        let nl = text(
            Language::Nl,
            "patient-sent",
            &[("sender", "A"), ("kind", "ontslagbrief"), ("receiver", "B"), ("date", "2026-12-01")],
        );
        assert_eq!(nl.as_deref(), Some("A heeft op 2026-12-01 een ontslagbrief over u gestuurd naar B."));
        let issue = issue_text(Language::Fr, "hb-pat-1: The patient has a national identifier").unwrap();
        assert!(issue.starts_with("hb-pat-1: ") && !issue.contains("The patient"), "{issue}");
        assert_eq!(issue_text(Language::Fr, "no constraint here"), None);
        assert_eq!(text_or_english(Language::Fr, "no-such-id", &[]), "no-such-id");
    }

    #[test]
    fn the_language_follows_the_link_then_the_header() {
        assert_eq!(Language::negotiate(Some("fr"), Some("nl")), Language::Fr);
        assert_eq!(Language::negotiate(None, Some("de-DE, nl-BE;q=0.8, fr;q=0.5")), Language::Nl);
        assert_eq!(Language::negotiate(None, Some("fr-BE;q=0.9, en;q=0.4")), Language::Fr);
        assert_eq!(Language::negotiate(Some("xx"), Some("nl;q=abc, *")), Language::En);
        assert_eq!(Language::negotiate(None, Some(&"x,".repeat(10_000))), Language::En);
        assert_eq!(Language::negotiate(None, None), Language::En);
    }
}
