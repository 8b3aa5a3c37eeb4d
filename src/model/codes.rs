//! Code systems and names of the broker's own protocol, shared by the stages that read and write them.

/// The broker's code system of handover kinds (`MessageHeader.eventCoding.system`, and the events an
/// organisation accepts in the directory).
pub const EVENT_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/handover-event";

/// The broker's code system of care types (`profiles/CodeSystem-care-type.json`): what a care request
/// asks for, what a provider offers, and the groups of the bed-capacity Measure.
pub const CARE_TYPE_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/care-type";

/// The broker's code system of organisation roles, in `Organization.type`.
pub const ORGANIZATION_ROLE_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/organization-role";

/// `Organization.type` code of a regional triage point (a Dutch "zorgpunt", a Belgian coordination
/// point for short stays): it may forward the requests it receives.
pub const TRIAGE_POINT_CODE: &str = "triage-point";

/// A care type: a code of [`CARE_TYPE_SYSTEM`]. Checked for its form where it enters (lower-case
/// letters, digits and hyphens, at most 64); whether the code system defines it is the profiles' concern.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CareType(String);

impl CareType {
    pub fn parse(code: &str) -> Option<Self> {
        let well_formed = (1..=64).contains(&code.len())
            && code.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        well_formed.then(|| Self(code.to_owned()))
    }

    /// From a value the store wrote (already checked on the way in).
    pub fn from_stored(code: String) -> Self {
        Self(code)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for CareType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::CareType;

    #[test]
    fn care_types_are_codes_of_a_plain_form() {
        assert_eq!(CareType::parse("elv-palliative").map(|c| c.to_string()), Some("elv-palliative".to_owned()));
        for bad in ["", "ELV", "elv high", "elv_high", &"x".repeat(65), "kort\u{200B}verblijf"] {
            assert!(CareType::parse(bad).is_none(), "{bad:?}");
        }
    }
}
