//! Organisations as the directory knows them: the broker's key, the identifiers messages use for
//! them, how they receive and which receipts they want. Read from and written to the store and the
//! directory's FHIR form by the layers above.

use std::fmt;

use super::EventCode;

/// The broker's key of an organisation: the `Organization.id` of the directory (a FHIR id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgId(String);

impl OrgId {
    /// A FHIR id: 1-64 of `A-Z a-z 0-9 - .`.
    pub fn parse(s: &str) -> Option<Self> {
        let ok =
            !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.');
        ok.then(|| Self(s.to_owned()))
    }

    /// From a value the store wrote (already checked on the way in).
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl PartialEq<&str> for OrgId {
    fn eq(&self, other: &&str) -> bool {
        self.0 == *other
    }
}

impl std::ops::Deref for OrgId {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrgId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An organisation identifier (`system|value`), e.g. a URA, AGB or NIHDI number.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OrgIdentifier {
    system: String,
    value: String,
}

impl OrgIdentifier {
    pub fn new(system: &str, value: &str) -> Option<Self> {
        let (system, value) = (system.trim(), value.trim());
        (!system.is_empty() && !value.is_empty()).then(|| Self { system: system.to_owned(), value: value.to_owned() })
    }

    /// Parses `SYSTEM|VALUE` (the FHIR search token form).
    pub fn parse_token(s: &str) -> Option<Self> {
        let (system, value) = s.rsplit_once('|')?;
        Self::new(system, value)
    }

    pub fn system(&self) -> &str {
        &self.system
    }

    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for OrgIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}|{}", self.system, self.value)
    }
}

/// How an organisation receives its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryMode {
    /// The broker POSTs to `{address}/$process-message`.
    Push,
    /// The organisation pulls from `GET /fhir/mailbox`.
    Mailbox,
    /// Notified Pull (Twiin, Nuts eOverdracht): the broker POSTs a notification `Task` to
    /// `{address}/Task`; the organisation then reads its workflow `Task` and the handover from the
    /// broker and reports progress by updating that `Task`.
    NotifiedPull,
}

impl DeliveryMode {
    /// Whether the broker connects to the organisation's `Endpoint.address` (a push, or a
    /// notification): such an address must be one the broker may reach.
    pub fn posts_to_address(self) -> bool {
        matches!(self, Self::Push | Self::NotifiedPull)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Mailbox => "mailbox",
            Self::NotifiedPull => "notified-pull",
        }
    }
}

/// Which receipts (response messages about its own sent messages) an organisation wants by default.
/// Whatever it chooses, the state of its messages stays queryable at `GET /fhir/receipts/{id}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ReceiptPreference {
    /// Infrastructure receipts (delivered, failed, expired) and business responses (accepted or
    /// rejected by the receiver).
    #[default]
    All,
    /// Business responses, and failures (failed, expired); no `delivered` receipts.
    BusinessOnly,
    /// No receipts.
    None,
}

impl ReceiptPreference {
    /// The code used in the directory's FHIR extension and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::BusinessOnly => "business-only",
            Self::None => "none",
        }
    }

    pub fn parse(code: &str) -> Option<Self> {
        match code {
            "all" => Some(Self::All),
            "business-only" => Some(Self::BusinessOnly),
            "none" => Some(Self::None),
            _ => None,
        }
    }
}

impl fmt::Display for ReceiptPreference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One directory entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: OrgId,
    pub name: String,
    pub identifiers: Vec<OrgIdentifier>,
    /// Its SMART Backend Services client (client id, JWK Set, roles), if it registered one.
    pub smart: Option<super::SmartClient>,
    /// Handover event codes it accepts.
    pub events: Vec<EventCode>,
    pub delivery: DeliveryMode,
    /// `Endpoint.address`: where pushes go; for a mailbox, the address senders put in
    /// `MessageHeader.destination.endpoint`.
    pub address: String,
    /// PEM text of the CA certificate(s) to trust for its push endpoint, in addition to the broker's
    /// configured roots. Checked on import to hold at least one `CERTIFICATE` block and nothing else.
    pub ca_pem: Option<String>,
    /// Whether the broker presents its client certificate (mTLS) to its push endpoint.
    pub client_certificate: bool,
    /// Which receipts it wants about the messages it sends.
    pub receipts: ReceiptPreference,
    /// Client certificates pinned to it: a verified client certificate (mTLS) with one of these SHA-256
    /// fingerprints speaks for this organisation.
    pub certificates: Vec<CertificateSha256>,
    /// A regional triage point (`Organization.type`): it may forward the requests it receives.
    pub triage_point: bool,
    /// The format it takes handovers in (`Endpoint.payloadMimeType`): JSON unless it names FHIR XML.
    pub format: super::Format,
    /// The care types it provides (sorted, no duplicates).
    pub care_types: Vec<super::codes::CareType>,
    /// When it is open (its response times count only these hours); `None`: around the clock.
    pub hours: Option<super::OpeningHours>,
    /// What it promises per priority (sorted by priority, one each).
    pub response_rules: Vec<super::ResponseRule>,
    /// The language its people read; the receipts it is sent are written in it (`None`: English).
    pub language: Option<crate::i18n::Language>,
}

impl Organization {
    /// What it promises for requests of `priority`, if it states anything.
    pub fn response_rule(&self, priority: super::Priority) -> Option<&super::ResponseRule> {
        self.response_rules.iter().find(|rule| rule.priority == priority)
    }
}

/// The SHA-256 fingerprint of a certificate's DER encoding, as 64 lower-case hex digits: how a client
/// certificate is pinned on an organisation.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CertificateSha256(String);

impl CertificateSha256 {
    /// The fingerprint of a DER-encoded certificate.
    pub fn of_der(der: &[u8]) -> Self {
        use sha2::Digest;
        Self(hex::encode(sha2::Sha256::digest(der)))
    }

    /// 64 hex digits, in either case, optionally in colon-separated pairs as `openssl x509 -fingerprint
    /// -sha256` prints them; kept in lower case without colons, so one certificate has one spelling.
    pub fn parse(text: &str) -> Option<Self> {
        let text = text.trim();
        let hex: String = if text.contains(':') {
            let pairs: Vec<&str> = text.split(':').collect();
            if pairs.len() != 32 || pairs.iter().any(|pair| pair.len() != 2) {
                return None;
            }
            pairs.concat()
        } else {
            text.to_owned()
        };
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| Self(hex.to_ascii_lowercase()))
    }

    /// From a value the store wrote (already checked on the way in).
    pub fn from_stored(s: String) -> Self {
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CertificateSha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::{CertificateSha256, ReceiptPreference};

    #[test]
    fn certificate_fingerprints_are_64_hex_digits_kept_in_lower_case() {
        let lower = "ab".repeat(32);
        assert_eq!(CertificateSha256::parse(&lower).map(|f| f.to_string()), Some(lower.clone()));
        assert_eq!(CertificateSha256::parse(&"AB".repeat(32)).map(|f| f.to_string()), Some(lower.clone()));
        let openssl = vec!["AB"; 32].join(":");
        assert_eq!(CertificateSha256::parse(&openssl).map(|f| f.to_string()), Some(lower));
        for refused in ["", "ab", &"ab".repeat(31), &"ab".repeat(33), &"zz".repeat(32), &vec!["ABC"; 32].join(":")] {
            assert_eq!(CertificateSha256::parse(refused), None, "{refused:?}");
        }
        assert_eq!(
            CertificateSha256::of_der(b"abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn receipt_preferences_parse_from_their_codes_only() {
        for preference in [ReceiptPreference::All, ReceiptPreference::BusinessOnly, ReceiptPreference::None] {
            assert_eq!(ReceiptPreference::parse(preference.as_str()), Some(preference));
        }
        assert_eq!(ReceiptPreference::All.as_str(), "all");
        assert_eq!(ReceiptPreference::BusinessOnly.as_str(), "business-only");
        assert_eq!(ReceiptPreference::None.as_str(), "none");
        for code in ["", "All", "business_only", "businessonly", " none", "some"] {
            assert_eq!(ReceiptPreference::parse(code), None, "{code:?}");
        }
        assert_eq!(ReceiptPreference::default(), ReceiptPreference::All);
    }
}
