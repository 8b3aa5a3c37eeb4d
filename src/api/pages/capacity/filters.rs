//! The page's filters, read from the query string and bounded: what a hostile query can make the
//! page do is answer 400 with a page naming what is wrong (never echoing the value), never 500.

use crate::model::OrgIdentifier;

/// The longest query string read: a real one (a URI, an identifier, a care type) is under 300 bytes.
pub const MAX_QUERY: usize = 1024;
/// The longest `org`: an identifier system (a URI), `|`, an identifier value.
const MAX_ORG: usize = 300;
/// The parameters the page takes (`lang` is the language link's).
const NAMES: [&str; 3] = ["lang", "org", "care"];

/// The filters as asked; the organisation is found in the directory by the handler.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Asked {
    pub org: Option<OrgIdentifier>,
    pub care: Option<String>,
}

/// What is wrong with a query: each names a text of the pages' catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    TooLong,
    /// A parameter the page does not take, or one given twice.
    Unknown,
    /// `org` is not `SYSTEM|VALUE` of an organisation of the directory.
    Organization,
    /// `care` is not a care type of the bed-capacity Measure.
    CareType,
}

impl Problem {
    pub fn key(self) -> &'static str {
        match self {
            Self::TooLong => "capacity-bad-query",
            Self::Unknown => "capacity-bad-parameter",
            Self::Organization => "capacity-bad-organization",
            Self::CareType => "capacity-bad-care-type",
        }
    }
}

/// Reads the filters of `params` (the parsed `query`); empty values are no filter (what the form sends
/// for "all"). Every problem is collected.
pub fn read(query: &str, params: &[(String, String)], care_types: &[String]) -> Result<Asked, Vec<Problem>> {
    if query.len() > MAX_QUERY {
        return Err(vec![Problem::TooLong]);
    }
    let mut problems = Vec::new();
    let named_once = NAMES.iter().all(|n| params.iter().filter(|(k, _)| k == n).count() <= 1);
    if !named_once || params.iter().any(|(k, _)| !NAMES.contains(&k.as_str())) {
        problems.push(Problem::Unknown);
    }
    let value = |name: &str| params.iter().find(|(k, v)| k == name && !v.is_empty()).map(|(_, v)| v.as_str());
    let org = value("org").and_then(|org| {
        let parsed = (org.len() <= MAX_ORG && !org.chars().any(char::is_control))
            .then(|| OrgIdentifier::parse_token(org))
            .flatten()
            .filter(|id| id.system().contains(':'));
        if parsed.is_none() {
            problems.push(Problem::Organization);
        }
        parsed
    });
    let care = value("care").and_then(|care| {
        let known = care_types.iter().find(|c| c.as_str() == care).cloned();
        if known.is_none() {
            problems.push(Problem::CareType);
        }
        known
    });
    if problems.is_empty() {
        Ok(Asked { org, care })
    } else {
        Err(problems)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(query: &str) -> Vec<(String, String)> {
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
    }

    fn read_query(query: &str) -> Result<Asked, Vec<Problem>> {
        read(query, &params(query), &["elv-low".to_owned(), "hospice".to_owned()])
    }

    #[test]
    fn good_filters_are_read_and_empty_ones_are_none() {
        let asked = read_query("lang=nl&org=http://fhir.nl/fhir/NamingSystem/ura%7C90000015&care=hospice").unwrap();
        assert_eq!(asked.org.as_ref().map(|o| o.value()), Some("90000015"));
        assert_eq!(asked.care.as_deref(), Some("hospice"));
        assert_eq!(read_query("org=&care=").unwrap(), Asked::default());
        assert_eq!(read_query("").unwrap(), Asked::default());
    }

    #[test]
    fn hostile_filters_are_problems_not_failures() {
        let long = format!("org={}", "a".repeat(MAX_QUERY));
        let cases: [(&str, &[Problem]); 9] = [
            (&long, &[Problem::TooLong]),
            ("care=space-station", &[Problem::CareType]),
            ("care=%3Cscript%3E", &[Problem::CareType]),
            ("org=90000015", &[Problem::Organization]),
            ("org=%7C", &[Problem::Organization]),
            ("org=urn:x%7Cv%00", &[Problem::Organization]),
            ("care=hospice&care=elv-low", &[Problem::Unknown]),
            ("sender=x", &[Problem::Unknown]),
            ("org=nope&care=nope", &[Problem::Organization, Problem::CareType]),
        ];
        for (query, expected) in cases {
            assert_eq!(read_query(query).unwrap_err(), expected, "{query}");
        }
    }
}
