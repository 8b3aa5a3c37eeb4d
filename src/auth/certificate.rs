//! Client certificates (mTLS): verifying them at the HTTPS listener, and which organisation a verified
//! certificate speaks for.
//!
//! With `tls.client_ca` the listener asks every client for a certificate and verifies it against that CA
//! bundle (and the CRLs of `tls.crl`) with rustls' `WebPkiClientVerifier`:
//! - `required`: a client without a valid certificate fails the TLS handshake (an alert such as
//!   `CertificateRequired`, `CertificateExpired`, `UnknownCA` or `CertificateRevoked`; with TLS 1.3 the
//!   client sees it on its first read, as the server checks the certificate after the client's
//!   handshake is done). The broker logs the refusal in one line at info.
//! - `optional`: a client without a certificate connects and authenticates with a bearer token. A
//!   certificate that is presented is still checked, once per connection, when the connection starts
//!   ([`ClientCertificates::check`]); one that fails is kept as [`PeerCertificate::Refused`] and every
//!   request on that connection is answered 401 with the reason, whatever else it carries. This gives
//!   the client a readable answer instead of a bare TLS alert, and a bad certificate is never ignored.
//!
//! A verified certificate speaks for the one organisation it names ([`Authenticator::authenticate_certificate`]):
//! by a SHA-256 fingerprint pinned on the organisation in the directory, or by an identifier the
//! national schemes put in their certificates:
//! - Dutch UZI server certificates: a subjectAltName `otherName` of type 2.5.5.5 whose value (an
//!   IA5String) is `<OID CA>-<version>-<UZI number>-<card type>-<subscriber number>-<role>-<AGB>`; for
//!   card type `S` (server) the subscriber number is the organisation's URA.
//! - Belgian eHealth organisation certificates: subject attributes (OU, CN, serialNumber) of the form
//!   `NIHII-<TYPE>=<number>` (NIHDI organisation number) or `CBE=<number>` (enterprise number).
//!
//! A certificate that names more than one organisation speaks for none.

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::WebPkiClientVerifier;
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use x509_parser::prelude::{FromDer, GeneralName, X509Certificate};

use super::{AuthError, Authenticator, Principal, Role};
use crate::config::{ClientAuth, TlsSettings};
use crate::model::{CertificateSha256, OrgIdentifier};

/// The URA, the Dutch register of care organisations: the subscriber number of a UZI server certificate.
pub const URA_SYSTEM: &str = "http://fhir.nl/fhir/NamingSystem/ura";
/// The NIHDI (RIZIV/INAMI) number of a Belgian care organisation: `NIHII-<TYPE>=` in eHealth certificates.
pub const NIHDI_ORGANIZATION_SYSTEM: &str =
    "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/nihdi-organization";
/// The Belgian enterprise number (KBO/BCE): `CBE=` in eHealth certificates.
pub const CBE_SYSTEM: &str = "https://www.ehealth.fgov.be/standards/fhir/core/NamingSystem/cbe";
/// The `otherName` type of the UZI register's subjectAltName (the OID of IA5String).
const UZI_OTHER_NAME: &str = "2.5.5.5";

/// Why the client certificate settings could not be loaded (at start).
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot read {path}: {source}")]
    Read { path: String, source: std::io::Error },
    #[error("tls.client_ca {path}: {problem}")]
    ClientCa { path: String, problem: String },
    #[error("tls.crl {path}: {problem}")]
    Crl { path: String, problem: String },
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

/// What the listener found about a connection's client certificate, kept in the connection's data
/// (`HttpRequest::conn_data`) for every request on it. No value: the client presented none.
#[derive(Debug, Clone)]
pub enum PeerCertificate {
    /// Verified against `tls.client_ca` and `tls.crl`: the leaf certificate (DER).
    Verified(CertificateDer<'static>),
    /// Presented but not valid (`optional` mode only), with the reason.
    Refused(Refusal),
}

/// Why a presented client certificate was refused: told to the client (401) and logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    Expired,
    NotValidYet,
    Revoked,
    /// Not issued by a CA of `tls.client_ca`.
    UnknownIssuer,
    /// Not for TLS client authentication (extended key usage).
    NotForClientAuthentication,
    /// Another reason WebPKI gives, in rustls' words.
    Invalid(String),
    /// Not a certificate problem at all (rustls' words).
    Other(String),
}

impl Refusal {
    /// The reason as a word of the catalogues (`auth-certificate-refused` chooses its sentence by it).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::NotValidYet => "not-valid-yet",
            Self::Revoked => "revoked",
            Self::UnknownIssuer => "unknown-issuer",
            Self::NotForClientAuthentication => "not-for-client-auth",
            Self::Invalid(_) => "invalid",
            Self::Other(_) => "other",
        }
    }

    /// rustls' own words, for the reasons that have them (a technical detail, shown as given).
    pub fn detail(&self) -> &str {
        match self {
            Self::Invalid(detail) | Self::Other(detail) => detail,
            _ => "",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Expired => f.write_str("the certificate has expired"),
            Self::NotValidYet => f.write_str("the certificate is not valid yet"),
            Self::Revoked => f.write_str("the certificate is revoked"),
            Self::UnknownIssuer => {
                f.write_str("the certificate is not issued by a CA the broker trusts for client certificates")
            }
            Self::NotForClientAuthentication => {
                f.write_str("the certificate is not for TLS client authentication (extended key usage)")
            }
            Self::Invalid(detail) => write!(f, "the certificate is not valid: {detail}"),
            Self::Other(detail) => f.write_str(detail),
        }
    }
}

/// What a certificate says about who holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertificateClaims {
    pub sha256: CertificateSha256,
    /// The organisation identifiers it carries (UZI URA, eHealth NIHDI and CBE), sorted, no repeats.
    pub identifiers: Vec<OrgIdentifier>,
}

/// The fingerprint of a DER certificate and the organisation identifiers it carries. A certificate
/// that x509-parser cannot read carries none (its fingerprint may still be pinned).
pub fn claims(der: &[u8]) -> CertificateClaims {
    let sha256 = CertificateSha256::of_der(der);
    let mut identifiers = Vec::new();
    if let Ok((_, certificate)) = X509Certificate::from_der(der) {
        if let Ok(Some(san)) = certificate.subject_alternative_name() {
            for name in &san.value.general_names {
                if let GeneralName::OtherName(oid, value) = name {
                    if oid.to_id_string() == UZI_OTHER_NAME {
                        identifiers.extend(
                            other_name_text(value)
                                .and_then(uzi_server_ura)
                                .and_then(|ura| OrgIdentifier::new(URA_SYSTEM, ura)),
                        );
                    }
                }
            }
        }
        let named = [
            x509_parser::oid_registry::OID_X509_ORGANIZATIONAL_UNIT,
            x509_parser::oid_registry::OID_X509_COMMON_NAME,
            x509_parser::oid_registry::OID_X509_SERIALNUMBER,
        ];
        for attribute in certificate.subject().iter_attributes().filter(|a| named.contains(a.attr_type())) {
            if let Ok(text) = attribute.as_str() {
                identifiers.extend(ehealth_identifiers(text));
            }
        }
    }
    identifiers.sort();
    identifiers.dedup();
    CertificateClaims { sha256, identifiers }
}

/// The text of an `otherName` value: `[0] EXPLICIT` around an IA5String (what the UZI register writes)
/// or a UTF8String.
fn other_name_text(value: &[u8]) -> Option<&str> {
    use x509_parser::asn1_rs::{Any, Class, Tag};
    let (_, explicit) = Any::from_der(value).ok()?;
    if explicit.class() != Class::ContextSpecific || explicit.tag() != Tag(0) {
        return None;
    }
    let (_, inner) = Any::from_der(explicit.data).ok()?;
    if inner.class() != Class::Universal || !matches!(inner.tag(), Tag::Ia5String | Tag::Utf8String) {
        return None;
    }
    std::str::from_utf8(inner.data).ok()
}

/// The URA in a UZI subjectAltName value `<OID CA>-<version>-<UZI number>-<card type>-<subscriber
/// number>-<role>-<AGB>`, for card type `S` (server certificate) only: the other card types belong to
/// people (care providers, employees), whose subscriber number is their employer's, not theirs to use
/// for system-to-system traffic.
pub fn uzi_server_ura(value: &str) -> Option<&str> {
    let fields: Vec<&str> = value.split('-').collect();
    let [_ca, _version, _uzi, card, subscriber, _role, _agb] = fields.as_slice() else {
        return None;
    };
    (*card == "S" && digits(subscriber)).then_some(*subscriber)
}

/// The organisation identifiers in one subject attribute of an eHealth certificate: `NIHII-<TYPE>=<n>`
/// (NIHDI organisation number, e.g. `NIHII-HOSPITAL=71000123`) and `CBE=<n>`; a CN may hold several,
/// comma-separated (`CBE=0123456789, RECIPE`). `NIHII=` alone (a care provider, a person) and `SSIN=` (a
/// citizen) name no organisation.
pub fn ehealth_identifiers(value: &str) -> Vec<OrgIdentifier> {
    value
        .split(',')
        .filter_map(|part| part.trim().split_once('='))
        .filter(|(_, number)| digits(number))
        .filter_map(|(kind, number)| {
            let kind = kind.trim().to_ascii_uppercase();
            let system = match kind.strip_prefix("NIHII-") {
                Some(rest)
                    if !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-') =>
                {
                    NIHDI_ORGANIZATION_SYSTEM
                }
                Some(_) => return None,
                None if kind == "CBE" => CBE_SYSTEM,
                None => return None,
            };
            OrgIdentifier::new(system, number)
        })
        .collect()
}

fn digits(text: &str) -> bool {
    !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_digit())
}

impl Authenticator {
    /// The organisation a client certificate speaks for, as a caller of role `sender`: the one its
    /// fingerprint is pinned on and its identifiers belong to. Refused (401) when it was not verified,
    /// names no organisation of the directory, or names more than one.
    pub async fn authenticate_certificate(&self, certificate: &PeerCertificate) -> Result<Principal, AuthError> {
        let der = match certificate {
            PeerCertificate::Verified(der) => der,
            PeerCertificate::Refused(reason) => return Err(AuthError::CertificateRefused(reason.clone())),
        };
        let claims = claims(der);
        let mut organizations = BTreeSet::new();
        organizations.extend(self.store.organization_by_certificate(&claims.sha256).await?);
        for identifier in &claims.identifiers {
            organizations.extend(self.store.organization_by_identifier(identifier).await?);
        }
        let mut organizations = organizations.into_iter();
        match (organizations.next(), organizations.next()) {
            (Some(org), None) => Ok(Principal::organization(org, Role::Sender)),
            (None, _) => Err(AuthError::CertificateNotRegistered),
            (Some(_), Some(_)) => Err(AuthError::CertificateAmbiguous),
        }
    }

    /// The caller of a request, from its `Authorization` header and the connection's client certificate.
    ///
    /// A certificate that was presented but refused refuses the request, token or not: the client
    /// is told what is wrong with it. With only one of the two, that one decides. With both, the token
    /// decides the caller and its role, and a certificate that speaks for another organisation refuses
    /// the request (401): two credentials that disagree are a misconfigured or a borrowed one, and
    /// guessing which one is meant would be unsafe. A certificate that speaks for no organisation (or
    /// for more than one) does not disagree, and the token decides.
    pub async fn authenticate_caller(
        &self,
        authorization: Option<&str>,
        certificate: Option<&PeerCertificate>,
    ) -> Result<Principal, AuthError> {
        match (authorization, certificate) {
            (_, Some(PeerCertificate::Refused(reason))) => Err(AuthError::CertificateRefused(reason.clone())),
            (None, Some(certificate)) => self.authenticate_certificate(certificate).await,
            (authorization, None) => self.authenticate(authorization).await,
            (Some(authorization), Some(certificate)) => {
                let principal = self.authenticate(Some(authorization)).await?;
                match self.authenticate_certificate(certificate).await {
                    Ok(holder) if holder.org != principal.org => Err(AuthError::CertificateDisagrees),
                    Ok(_) | Err(AuthError::CertificateNotRegistered | AuthError::CertificateAmbiguous) => Ok(principal),
                    Err(e) => Err(e),
                }
            }
        }
    }
}

/// The listener's client certificate checks (`tls.client_ca`, `tls.client_auth`, `tls.crl`), loaded
/// once at start. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ClientCertificates {
    /// rustls' WebPKI verifier over the CA bundle and CRLs; in `optional` mode it allows no certificate.
    verifier: Arc<dyn ClientCertVerifier>,
    mode: ClientAuth,
}

impl ClientCertificates {
    /// The checks `tls` asks for, or `None` without `tls.client_ca`.
    pub fn load(tls: &TlsSettings) -> Result<Option<Self>, CertificateError> {
        let (Some(client_ca), Some(mode)) = (&tls.client_ca, tls.client_auth()) else {
            return Ok(None);
        };
        let roots = read_client_ca(client_ca)?;
        let cas = roots.len();
        let mut crls = Vec::new();
        for path in &tls.crl {
            crls.extend(read_crls(path)?);
        }
        let mut builder = WebPkiClientVerifier::builder(Arc::new(roots));
        if !crls.is_empty() {
            // Every certificate of the chain is looked up in the CRLs of its issuer; one whose issuer
            // published none in `tls.crl` is not checked (as without `tls.crl` at all) rather than
            // refused, so that a CA bundle may hold CAs with and without CRLs.
            builder = builder.with_crls(crls.iter().cloned()).allow_unknown_revocation_status();
        }
        if mode == ClientAuth::Optional {
            builder = builder.allow_unauthenticated();
        }
        let verifier = builder.build()?;
        tracing::info!(client_auth = ?mode, cas, crls = crls.len(), "client certificates (mTLS) enabled");
        Ok(Some(Self { verifier, mode }))
    }

    pub fn mode(&self) -> ClientAuth {
        self.mode
    }

    /// The verifier for the listener's TLS handshakes. `required`: rustls' verifier, and a refusal is
    /// logged in one line. `optional`: the handshake takes any certificate whose key the client holds
    /// (rustls still checks the handshake's signature with it) and [`ClientCertificates::check`] decides
    /// at the start of the connection, so that the client gets a 401 with the reason.
    pub fn handshake_verifier(&self) -> Arc<dyn ClientCertVerifier> {
        match self.mode {
            ClientAuth::Required => Arc::new(ListenerVerifier { inner: self.verifier.clone(), deferred: false }),
            ClientAuth::Optional => Arc::new(ListenerVerifier { inner: self.verifier.clone(), deferred: true }),
        }
    }

    /// What to keep for a connection whose client presented `chain` (leaf first): verified now, in
    /// both modes, so that a resumed TLS session is checked again too.
    pub fn check(&self, chain: &[CertificateDer<'_>]) -> Option<PeerCertificate> {
        let (leaf, intermediates) = chain.split_first()?;
        Some(match self.verifier.verify_client_cert(leaf, intermediates, UnixTime::now()) {
            Ok(_) => PeerCertificate::Verified(leaf.clone().into_owned()),
            Err(e) => {
                let reason = refusal(&e);
                tracing::info!(
                    certificate = %CertificateSha256::of_der(leaf),
                    subject = %subject(leaf),
                    reason = %reason,
                    "client certificate refused: requests on this connection are answered 401"
                );
                PeerCertificate::Refused(reason)
            }
        })
    }
}

/// The CA certificates of `tls.client_ca`: a PEM bundle of at least one certificate.
fn read_client_ca(path: &Path) -> Result<rustls::RootCertStore, CertificateError> {
    let problem = |problem: String| CertificateError::ClientCa { path: path.display().to_string(), problem };
    let pem = read(path)?;
    let mut roots = rustls::RootCertStore::empty();
    for certificate in CertificateDer::pem_slice_iter(&pem) {
        let certificate = certificate.map_err(|e| problem(format!("not a PEM certificate bundle: {e}")))?;
        roots.add(certificate).map_err(|e| problem(format!("a certificate is not usable as a CA: {e}")))?;
    }
    if roots.is_empty() {
        return Err(problem("holds no PEM CERTIFICATE".to_owned()));
    }
    Ok(roots)
}

/// The CRLs of one `tls.crl` file: PEM (`X509 CRL` blocks, one or more) or one DER CRL. A CRL past its
/// next update is still used (a stale list still lists what it revoked) and logged as a warning.
fn read_crls(path: &Path) -> Result<Vec<CertificateRevocationListDer<'static>>, CertificateError> {
    let problem = |problem: String| CertificateError::Crl { path: path.display().to_string(), problem };
    let bytes = read(path)?;
    let crls = if bytes.first() == Some(&0x30) {
        vec![CertificateRevocationListDer::from(bytes)]
    } else {
        CertificateRevocationListDer::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| problem(format!("neither a DER CRL nor PEM: {e}")))?
    };
    if crls.is_empty() {
        return Err(problem("holds no X509 CRL".to_owned()));
    }
    let now = crate::time::Millis::now().as_i64() / 1000;
    for crl in &crls {
        let (_, parsed) =
            x509_parser::parse_x509_crl(crl).map_err(|e| problem(format!("not a certificate revocation list: {e}")))?;
        let next_update = parsed.next_update();
        if next_update.is_some_and(|next| next.timestamp() < now) {
            tracing::warn!(
                crl = %path.display(),
                issuer = %parsed.issuer(),
                next_update = %next_update.map(|t| t.to_string()).unwrap_or_default(),
                "a CRL is past its next update: fetch the current one and restart the broker"
            );
        }
    }
    Ok(crls)
}

fn read(path: &Path) -> Result<Vec<u8>, CertificateError> {
    std::fs::read(path).map_err(|source| CertificateError::Read { path: path.display().to_string(), source })
}

/// The reason a certificate was refused, for the client and the log.
fn refusal(error: &rustls::Error) -> Refusal {
    use rustls::CertificateError as C;
    let rustls::Error::InvalidCertificate(error) = error else {
        return Refusal::Other(error.to_string());
    };
    match error {
        C::Expired | C::ExpiredContext { .. } => Refusal::Expired,
        C::NotValidYet | C::NotValidYetContext { .. } => Refusal::NotValidYet,
        C::Revoked => Refusal::Revoked,
        C::UnknownIssuer => Refusal::UnknownIssuer,
        C::InvalidPurpose | C::InvalidPurposeContext { .. } => Refusal::NotForClientAuthentication,
        other => Refusal::Invalid(other.to_string()),
    }
}

/// The subject of a certificate for the log (organisation certificates name organisations, not people).
fn subject(der: &[u8]) -> String {
    match X509Certificate::from_der(der) {
        Ok((_, certificate)) => certificate.subject().to_string(),
        Err(_) => "(unreadable)".to_owned(),
    }
}

/// The listener's verifier. `required` (`deferred: false`): rustls' verifier, logging each refusal in
/// one line (rustls itself only sends the alert; the client reads it). `optional` (`deferred: true`):
/// offers client authentication without requiring it, and leaves the verdict on a presented
/// certificate to [`ClientCertificates::check`] when the connection starts; safe only because nothing
/// else reads the peer certificates of the listener's connections.
#[derive(Debug)]
struct ListenerVerifier {
    inner: Arc<dyn ClientCertVerifier>,
    deferred: bool,
}

impl ClientCertVerifier for ListenerVerifier {
    fn offer_client_auth(&self) -> bool {
        true
    }

    fn client_auth_mandatory(&self) -> bool {
        !self.deferred && self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        if self.deferred {
            return Ok(ClientCertVerified::assertion());
        }
        self.inner.verify_client_cert(end_entity, intermediates, now).inspect_err(|e| {
            tracing::info!(
                certificate = %CertificateSha256::of_der(end_entity),
                subject = %subject(end_entity),
                reason = %refusal(e),
                "client certificate refused: TLS handshake failed"
            );
        })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ura(value: &str) -> OrgIdentifier {
        OrgIdentifier::new(URA_SYSTEM, value).unwrap()
    }

    fn nihdi(value: &str) -> OrgIdentifier {
        OrgIdentifier::new(NIHDI_ORGANIZATION_SYSTEM, value).unwrap()
    }

    #[test]
    fn the_ura_of_a_uzi_server_certificate_is_its_subscriber_number() {
        assert_eq!(uzi_server_ura("2.16.528.1.1003.1.3.5.5.2-1-12345678-S-90000123-00.000-00000000"), Some("90000123"));
        // Card types of people (Z care provider, N/M employee) name no organisation.
        for card in ["Z", "N", "M", "s", ""] {
            let value = format!("2.16.528.1.1003.1.3.5.5.2-1-12345678-{card}-90000123-01.015-12345678");
            assert_eq!(uzi_server_ura(&value), None, "{value}");
        }
        for malformed in [
            "",
            "2.16.528.1.1003.1.3.5.5.2-1-12345678-S-90000123-00.000",
            "2.16.528.1.1003.1.3.5.5.2-1-12345678-S-90000123-00.000-00000000-extra",
            "2.16.528.1.1003.1.3.5.5.2-1-12345678-S--00.000-00000000",
            "2.16.528.1.1003.1.3.5.5.2-1-12345678-S-9000O123-00.000-00000000",
        ] {
            assert_eq!(uzi_server_ura(malformed), None, "{malformed}");
        }
    }

    #[test]
    fn ehealth_subject_attributes_give_nihdi_and_cbe_numbers() {
        assert_eq!(ehealth_identifiers("NIHII-HOSPITAL=71000123"), [nihdi("71000123")]);
        assert_eq!(ehealth_identifiers("NIHII-PHARMACY=12345678"), [nihdi("12345678")]);
        assert_eq!(ehealth_identifiers("nihii-labo=81000123"), [nihdi("81000123")]);
        assert_eq!(ehealth_identifiers("NIHII-OTD_PHARMACY=1234"), [nihdi("1234")]);
        assert_eq!(
            ehealth_identifiers("CBE=0839485926, RECIPE"),
            [OrgIdentifier::new(CBE_SYSTEM, "0839485926").unwrap()]
        );
        for none in
            ["NIHII=12345678", "SSIN=85073003328", "NIHII-=123", "NIHII-HOSPITAL=", "CBE=0123.456.789", "RECIPE"]
        {
            assert_eq!(ehealth_identifiers(none), [], "{none}");
        }
    }

    #[test]
    fn a_certificate_carries_its_ehealth_identifiers_and_its_fingerprint() {
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CountryName, "BE");
        params.distinguished_name.push(rcgen::DnType::OrganizationalUnitName, "eHealth-platform Belgium");
        params.distinguished_name.push(rcgen::DnType::OrganizationalUnitName, "NIHII-HOSPITAL=10000000200");
        params.distinguished_name.push(rcgen::DnType::CommonName, "NIHII-HOSPITAL=10000000200");
        let key = rcgen::KeyPair::generate().unwrap();
        let certificate = params.self_signed(&key).unwrap();
        let claims = claims(certificate.der());
        assert_eq!(claims.identifiers, [nihdi("10000000200")]);
        assert_eq!(claims.sha256, CertificateSha256::of_der(certificate.der()));
        assert_eq!(super::claims(b"not a certificate").identifiers, []);
    }

    #[test]
    fn the_uzi_other_name_is_read_from_its_explicit_ia5_or_utf8_string() {
        let tlv = |tag: u8, content: &[u8]| [&[tag, content.len() as u8][..], content].concat();
        let value = "2.16.528.1.1003.1.3.5.5.2-1-12345678-S-90000011-00.000-00000000";
        assert_eq!(other_name_text(&tlv(0xa0, &tlv(0x16, value.as_bytes()))), Some(value));
        assert_eq!(other_name_text(&tlv(0xa0, &tlv(0x0c, value.as_bytes()))), Some(value));
        assert_eq!(other_name_text(&tlv(0xa1, &tlv(0x16, value.as_bytes()))), None);
        assert_eq!(other_name_text(&tlv(0xa0, &tlv(0x04, value.as_bytes()))), None);
        assert_eq!(other_name_text(b""), None);
        // rcgen writes otherName values as UTF8String.
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.subject_alt_names =
            vec![rcgen::SanType::OtherName((vec![2, 5, 5, 5], rcgen::OtherNameValue::Utf8String(value.to_owned())))];
        let key = rcgen::KeyPair::generate().unwrap();
        assert_eq!(claims(params.self_signed(&key).unwrap().der()).identifiers, [ura("90000011")]);
    }

    #[test]
    fn client_certificate_settings_that_cannot_be_read_stop_the_start() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, bytes: &[u8]| {
            let path = dir.path().join(name);
            std::fs::write(&path, bytes).unwrap();
            path
        };
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = write("ca.pem", params.self_signed(&key).unwrap().pem().as_bytes());
        let mut tls = TlsSettings::new(dir.path().join("b.pem"), dir.path().join("b.key"));
        assert!(ClientCertificates::load(&tls).unwrap().is_none(), "off without client_ca");

        tls.client_ca = Some(ca.clone());
        assert_eq!(ClientCertificates::load(&tls).unwrap().unwrap().mode(), ClientAuth::Optional);
        for (bundle, why) in [("missing.pem", "cannot read"), ("empty.pem", "holds no PEM CERTIFICATE")] {
            tls.client_ca = Some(if bundle == "empty.pem" { write(bundle, b"") } else { dir.path().join(bundle) });
            let error = ClientCertificates::load(&tls).unwrap_err().to_string();
            assert!(error.contains(why), "{error}");
        }
        tls.client_ca = Some(ca);
        for (crl, why) in
            [(&b"not a crl"[..], "holds no X509 CRL"), (&b"0\x03\x02\x01\x00"[..], "not a certificate revocation list")]
        {
            tls.crl = vec![write("bad.crl", crl)];
            let error = ClientCertificates::load(&tls).unwrap_err().to_string();
            assert!(error.contains(why), "{error}");
        }
    }
}
