//! Identifier systems whose values carry a check: declared in `profiles/` as `NamingSystem`
//! resources with the broker's extension naming the check (`identifier-check`, a code), and checked
//! wherever an identifier of such a system appears in a message. A wrong value is an error on the
//! patient (the handover would be about someone else) and a warning elsewhere (an organisation or
//! practitioner the receiver can still look up by name).

use rustc_hash::FxHashMap;
use serde_json::Value;

use super::base::IdentifierSite;
use crate::outcome::{Issue, IssueCode, Severity, Text};

/// The `NamingSystem` extension (`valueCode`) that names the check of its system.
pub const CHECK_URL: &str = "https://fhir.handover-broker.eu/StructureDefinition/identifier-check";

/// The checks the broker knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Dutch citizen service number: 9 digits passing the 11-check ("elfproef").
    Bsn,
    /// Belgian INSZ/NISS (and BIS) number: 11 digits, the last two 97 minus the first nine modulo 97,
    /// with a 2 put in front of the nine for people born in 2000 or later.
    Insz,
    /// Belgian enterprise number (CBE/KBO): 10 digits starting 0 or 1, the last two 97 minus the first
    /// eight modulo 97.
    Cbe,
    /// A number of digits of one of these lengths (URA, AGB, NIHII/RIZIV, UZI: their check digits, where
    /// they have one, are not published for checking).
    Digits(&'static [usize]),
}

impl Check {
    fn from_code(code: &str) -> Option<Self> {
        Some(match code {
            "bsn" => Self::Bsn,
            "insz" => Self::Insz,
            "cbe" => Self::Cbe,
            "ura" | "agb" => Self::Digits(&[8]),
            "uzi" => Self::Digits(&[9]),
            "nihii" => Self::Digits(&[8, 11]),
            _ => return None,
        })
    }

    /// Whether `value` passes; `Err` says why not (a text to which the caller adds the system's `name`
    /// and whose identifier it is, `holder`: `patient` or `other`). The value itself is never in it.
    pub fn check(self, value: &str) -> Result<(), Text> {
        let digits: Option<Vec<u32>> = value.chars().map(|c| c.to_digit(10)).collect();
        let Some(d) = digits else { return Err(Text::new("identifier-not-digits")) };
        match self {
            Self::Digits(lengths) if lengths.contains(&d.len()) => Ok(()),
            Self::Digits(_) => Err(Text::new("identifier-digit-count")),
            Self::Bsn if d.len() != 9 => Err(Text::new("identifier-not-9-digits")),
            Self::Bsn => {
                let sum: i64 =
                    d[..8].iter().zip((2..=9).rev()).map(|(x, w)| i64::from(*x) * w).sum::<i64>() - i64::from(d[8]);
                (sum % 11 == 0 && d.iter().any(|x| *x != 0))
                    .then_some(())
                    .ok_or_else(|| Text::new("identifier-eleven-check"))
            }
            Self::Insz if d.len() != 11 => Err(Text::new("identifier-not-11-digits")),
            Self::Insz => {
                let (base, check) = (number(&d[..9]), u64::from(d[9] * 10 + d[10]));
                let ok = 97 - base % 97 == check || 97 - (2_000_000_000 + base) % 97 == check;
                ok.then_some(()).ok_or_else(|| Text::new("identifier-check-digit"))
            }
            Self::Cbe if d.len() != 10 || d[0] > 1 => Err(Text::new("identifier-not-10-digits")),
            Self::Cbe => {
                let check = u64::from(d[8] * 10 + d[9]);
                (97 - number(&d[..8]) % 97 == check).then_some(()).ok_or_else(|| Text::new("identifier-check-digit"))
            }
        }
    }
}

fn number(digits: &[u32]) -> u64 {
    digits.iter().fold(0, |n, d| n * 10 + u64::from(*d))
}

/// The declared systems, by their URI.
#[derive(Debug, Clone, Default)]
pub struct IdentifierSystems {
    by_system: FxHashMap<String, (String, Check)>,
}

impl IdentifierSystems {
    /// Takes a `NamingSystem` resource: its `uri` unique ids get the check its extension names (a
    /// NamingSystem without the extension declares nothing to check).
    pub fn add(&mut self, resource: &Value) -> Result<(), String> {
        let extensions = resource.get("extension").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        let Some(code) = extensions
            .iter()
            .find(|e| e.get("url").and_then(Value::as_str) == Some(CHECK_URL))
            .and_then(|e| e.get("valueCode").and_then(Value::as_str))
        else {
            return Ok(());
        };
        let check = Check::from_code(code).ok_or_else(|| format!("unknown identifier check {code:?}"))?;
        let name = resource.get("name").and_then(Value::as_str).unwrap_or("identifier").to_owned();
        let ids = resource.get("uniqueId").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
        for id in ids.iter().filter(|id| id.get("type").and_then(Value::as_str) == Some("uri")) {
            if let Some(uri) = id.get("value").and_then(Value::as_str) {
                self.by_system.insert(uri.to_owned(), (name.clone(), check));
            }
        }
        Ok(())
    }

    /// Checks an identifier the base walk met, if its system is declared.
    pub fn check(&self, site: &IdentifierSite<'_>, issues: &mut Vec<Issue>) {
        let Some((name, check)) = self.by_system.get(site.system) else { return };
        if let Err(why) = check.check(site.value) {
            let (severity, holder) =
                if site.patient { (Severity::Error, "patient") } else { (Severity::Warning, "other") };
            let text = why.arg("name", name).arg("holder", holder);
            issues.push(Issue::says(IssueCode::Value, text).severity(severity).at(format!("{}.value", site.path)));
        }
    }
}

/// One step of the path to a node (also used by the attachment checks' walk).
pub(super) enum Step<'j> {
    Entry(usize),
    Key(&'j str),
    Index(usize),
}

/// The FHIRPath of a node, e.g. `Bundle.entry[2].resource.identifier[0]`.
pub(super) fn expression(path: &[Step<'_>]) -> String {
    let mut text = String::new();
    for step in path {
        match step {
            Step::Entry(i) => text.push_str(&format!("Bundle.entry[{i}].resource")),
            Step::Key(key) => {
                text.push('.');
                text.push_str(key);
            }
            Step::Index(n) => text.push_str(&format!("[{n}]")),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::Check;

    #[test]
    fn bsn_numbers_pass_the_eleven_check_or_not() {
        for good in ["999911120", "999920029", "111222333"] {
            assert_eq!(Check::Bsn.check(good), Ok(()), "{good}");
        }
        for bad in ["999911121", "123456789", "000000000", "99991112", "99991112x"] {
            assert!(Check::Bsn.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn insz_numbers_pass_modulo_97_in_both_centuries_and_as_bis_numbers() {
        // Born 12 May 1936; born 1 February 2001 (the 2 in front); a BIS number (month + 40).
        let born_2001 = 97 - (2_010_201_001u64 % 97);
        for good in ["36051299815".to_owned(), format!("010201001{born_2001:02}"), bis()] {
            assert_eq!(Check::Insz.check(&good), Ok(()), "{good}");
        }
        for bad in ["36051299816", "3605129981", "36051299815x"] {
            assert!(Check::Insz.check(bad).is_err(), "{bad}");
        }
    }

    fn bis() -> String {
        let base = 364_512_998u64;
        format!("{base}{:02}", 97 - base % 97)
    }

    #[test]
    fn a_failed_check_is_said_in_every_language_without_the_value() {
        use crate::i18n::Language;
        let why = Check::Bsn.check("999911121").unwrap_err();
        let said = |holder: &'static str, lang| why.clone().arg("name", "BSN").arg("holder", holder).render(lang);
        assert_eq!(said("patient", Language::En), "the patient's BSN fails the 11-check");
        assert_eq!(said("other", Language::En), "BSN fails the 11-check");
        assert_eq!(said("patient", Language::Nl), "BSN van de patiënt voldoet niet aan de elfproef");
        assert_eq!(said("other", Language::Fr), "le numéro BSN ne satisfait pas au contrôle modulo 11");
        for lang in Language::ALL {
            assert!(!said("patient", lang).contains("999911121"));
        }
    }

    #[test]
    fn enterprise_numbers_pass_modulo_97_and_formats_are_digits_of_their_length() {
        assert_eq!(Check::Cbe.check("0403170701"), Ok(()));
        assert!(Check::Cbe.check("0403170702").is_err());
        assert!(Check::Cbe.check("2403170701").is_err());
        assert_eq!(Check::Digits(&[8]).check("90000011"), Ok(()));
        assert!(Check::Digits(&[8]).check("9000001").is_err());
        assert_eq!(Check::Digits(&[8, 11]).check("10000000100"), Ok(()));
        assert!(Check::Digits(&[8, 11]).check("1000000010").is_err());
    }
}
