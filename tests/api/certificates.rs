//! Client certificates (mTLS) end to end over real TLS: a test PKI made with rcgen (a UZI-style CA with
//! a CRL, an eHealth-style CA without one, and a CA the broker does not trust), the broker with
//! `tls.client_ca`, and reqwest clients that present a certificate.

use std::path::PathBuf;
use std::sync::Arc;

use handover_broker::config::{ClientAuth, TlsSettings};
use handover_broker::model::CertificateSha256;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevocationReason, RevokedCertParams,
    SerialNumber,
};
use serde_json::Value;

use crate::helpers::*;

/// The UZI subjectAltName value of a server certificate of the demo hospital (URA 90000011).
const HOSPITAL_UZI: &str = "2.16.528.1.1003.1.3.5.5.2-1-12345678-S-90000011-00.000-00000000";
/// The serial number of the revoked certificate, listed in the UZI CA's CRL.
const REVOKED_SERIAL: u64 = 4242;

/// A CA: its certificate and key.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        Self { cert: params.self_signed(&key).unwrap(), key }
    }

    /// A client certificate (extended key usage clientAuth) made from `params`.
    fn issue(&self, mut params: CertificateParams) -> Identity {
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ClientAuth, ExtendedKeyUsagePurpose::ServerAuth];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Identity { pem: format!("{}{}", cert.pem(), key.serialize_pem()), der: cert.der().to_vec() }
    }
}

/// A client certificate with its key, as a client presents it.
struct Identity {
    pem: String,
    der: Vec<u8>,
}

impl Identity {
    fn sha256(&self) -> CertificateSha256 {
        CertificateSha256::of_der(&self.der)
    }
}

/// DER: one tag-length-value.
fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    match content.len() {
        n if n < 0x80 => out.push(n as u8),
        n if n <= 0xff => out.extend([0x81, n as u8]),
        n => out.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(content);
    out
}

/// The subjectAltName extension of a UZI server certificate: an `otherName` of type 2.5.5.5 whose
/// value is an IA5String (rcgen writes otherName values only as UTF8String, so the extension's DER is
/// made here and added as a custom extension).
fn uzi_subject_alt_name(value: &str) -> CustomExtension {
    let oid_2_5_5_5 = [0x06, 0x03, 0x55, 0x05, 0x05];
    let other_name = tlv(0xa0, &[&oid_2_5_5_5[..], &tlv(0xa0, &tlv(0x16, value.as_bytes()))].concat());
    CustomExtension::from_oid_content(&[2, 5, 29, 17], tlv(0x30, &other_name))
}

fn named(common_name: &str) -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, common_name);
    params
}

/// A UZI-style server certificate for the hospital's URA.
fn uzi(common_name: &str) -> CertificateParams {
    let mut params = named(common_name);
    params.distinguished_name.push(DnType::OrganizationName, "Ziekenhuis Zuid-Limburg (demo)");
    params.custom_extensions.push(uzi_subject_alt_name(HOSPITAL_UZI));
    params
}

/// An eHealth-style organisation certificate for wzc-de-duinen (NIHDI 10000000200).
fn ehealth() -> CertificateParams {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CountryName, "BE");
    params.distinguished_name.push(DnType::OrganizationName, "Federal Government");
    params.distinguished_name.push(DnType::OrganizationalUnitName, "eHealth-platform Belgium");
    params.distinguished_name.push(DnType::OrganizationalUnitName, "NIHII-HOSPITAL=10000000200");
    params.distinguished_name.push(DnType::CommonName, "NIHII-HOSPITAL=10000000200");
    params
}

/// The test PKI and the certificates of every case.
struct Pki {
    broker_ca: Ca,
    uzi_ca: Ca,
    ehealth_ca: Ca,
    hospital: Identity,
    duinen: Identity,
    pinned: Identity,
    two_organisations: Identity,
    expired: Identity,
    unknown_ca: Identity,
    revoked: Identity,
}

impl Pki {
    fn new() -> Self {
        let (broker_ca, uzi_ca, ehealth_ca) =
            (Ca::new("broker test CA"), Ca::new("UZI test CA"), Ca::new("eHealth test CA"));
        let mut two_organisations = ehealth();
        two_organisations.custom_extensions.push(uzi_subject_alt_name(HOSPITAL_UZI));
        let mut expired = uzi("expired.zzl-hospital.example");
        expired.not_before = rcgen::date_time_ymd(2019, 1, 1);
        expired.not_after = rcgen::date_time_ymd(2020, 1, 1);
        let mut revoked = uzi("revoked.zzl-hospital.example");
        revoked.serial_number = Some(SerialNumber::from(REVOKED_SERIAL));
        Self {
            hospital: uzi_ca.issue(uzi("ehr.zzl-hospital.example")),
            duinen: ehealth_ca.issue(ehealth()),
            pinned: uzi_ca.issue(named("his.gp-heerlen.example")),
            two_organisations: ehealth_ca.issue(two_organisations),
            expired: uzi_ca.issue(expired),
            unknown_ca: Ca::new("a CA the broker does not trust").issue(uzi("ehr.zzl-hospital.example")),
            revoked: uzi_ca.issue(revoked),
            broker_ca,
            uzi_ca,
            ehealth_ca,
        }
    }

    /// The UZI CA's CRL, listing the revoked certificate.
    fn crl(&self) -> rcgen::CertificateRevocationList {
        let params = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from(1u64),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from(REVOKED_SERIAL),
                revocation_time: rcgen::date_time_ymd(2024, 1, 1),
                reason_code: Some(RevocationReason::KeyCompromise),
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        };
        params.signed_by(&self.uzi_ca.cert, &self.uzi_ca.key).unwrap()
    }

    /// A client that trusts the broker and presents `identity` (none: no certificate).
    fn client(&self, identity: Option<&Identity>) -> reqwest::Client {
        let mut builder = reqwest::Client::builder()
            .use_rustls_tls()
            .add_root_certificate(reqwest::Certificate::from_pem(self.broker_ca.cert.pem().as_bytes()).unwrap());
        if let Some(identity) = identity {
            builder = builder.identity(reqwest::Identity::from_pem(identity.pem.as_bytes()).unwrap());
        }
        builder.build().unwrap()
    }
}

/// The broker over TLS asking for client certificates from the UZI and eHealth test CAs, with the UZI
/// CA's CRL (as PEM, or as DER).
async fn spawn_mtls(pki: &Pki, mode: ClientAuth, crl_as_der: bool) -> TestApp {
    let dir = Arc::new(tempfile::tempdir().unwrap());
    let write = |name: &str, bytes: &[u8]| -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    };
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &pki.broker_ca.cert, &pki.broker_ca.key).unwrap();
    let crl = pki.crl();
    let mut tls = TlsSettings::new(
        write("broker.pem", cert.pem().as_bytes()),
        write("broker.key", key.serialize_pem().as_bytes()),
    );
    tls.client_ca =
        Some(write("client-ca.pem", format!("{}{}", pki.uzi_ca.cert.pem(), pki.ehealth_ca.cert.pem()).as_bytes()));
    tls.client_auth = Some(mode);
    tls.crl = vec![if crl_as_der {
        write("uzi.crl", crl.der())
    } else {
        write("uzi-crl.pem", crl.pem().unwrap().as_bytes())
    }];
    let mut settings = test_settings(dir.path()).await;
    settings.tls = Some(tls);
    let app = spawn_with(settings, dir).await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);
    app
}

async fn post(
    app: &TestApp,
    client: &reqwest::Client,
    token: Option<&str>,
    bundle: &Value,
) -> reqwest::Result<reqwest::Response> {
    let mut request = client
        .post(format!("{}/fhir/$process-message", app.base))
        .header("Content-Type", FHIR_JSON)
        .body(serde_json::to_vec(bundle).unwrap());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await
}

async fn get(
    app: &TestApp,
    client: &reqwest::Client,
    token: Option<&str>,
    path: &str,
) -> reqwest::Result<reqwest::Response> {
    let mut request = client.get(format!("{}{path}", app.base));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await
}

/// A 401 OperationOutcome whose text says `why`.
async fn refused(response: reqwest::Response, why: &str) {
    let body = outcome(response, 401).await;
    assert!(issues_text(&body).contains(why), "expected {why:?} in {body}");
}

/// Pins `identity` on the organisation `id` through a directory import, as an operator would.
async fn pin(app: &TestApp, id: &str, identity: &Identity) -> Result<(), handover_broker::directory::DirectoryError> {
    let mut org = handover_broker::directory::organization(&app.store, id).await.unwrap();
    org.certificates.push(identity.sha256());
    let policy = handover_broker::address::TargetPolicy::new(true);
    handover_broker::directory::import(&app.store, &[org], None, policy).await.map(|_| ())
}

#[tokio::test]
async fn an_ehr_sends_with_only_its_certificate_and_reads_its_receipt() {
    let pki = Pki::new();
    let app = spawn_mtls(&pki, ClientAuth::Required, false).await;

    // The hospital's EHR, with its UZI server certificate and no token.
    let hospital = pki.client(Some(&pki.hospital));
    let response = post(&app, &hospital, None, &discharge()).await.unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let ack: Value = response.json().await.unwrap();
    let tracking = tracking_id(&ack);
    let receipt = get(&app, &hospital, None, &format!("/fhir/receipts/{tracking}")).await.unwrap();
    assert_eq!(receipt.status().as_u16(), 200);
    assert_eq!(receipt.json::<Value>().await.unwrap()["resourceType"], "Parameters");

    // The Belgian nursing home with its eHealth certificate (whose CA has no CRL: not checked) sends its
    // own admission handover, and cannot send the hospital's.
    let duinen = pki.client(Some(&pki.duinen));
    assert_eq!(
        post(&app, &duinen, None, &fresh(fixture("admission-handover-be.json"))).await.unwrap().status().as_u16(),
        202
    );
    assert_eq!(post(&app, &duinen, None, &discharge()).await.unwrap().status().as_u16(), 403);
    // ... nor read the hospital's receipt.
    let other = get(&app, &duinen, None, &format!("/fhir/receipts/{tracking}")).await.unwrap();
    assert_eq!(other.status().as_u16(), 404);
}

#[tokio::test]
async fn a_pinned_certificate_speaks_for_its_organisation_from_the_moment_it_is_pinned() {
    let pki = Pki::new();
    let app = spawn_mtls(&pki, ClientAuth::Required, false).await;
    let gp = pki.client(Some(&pki.pinned));
    // Verified, but it carries no identifier and is pinned nowhere yet.
    refused(get(&app, &gp, None, "/fhir/mailbox").await.unwrap(), "certificate not registered for any organisation")
        .await;

    pin(&app, "gp-heerlen", &pki.pinned).await.unwrap();
    assert_eq!(get(&app, &gp, None, "/fhir/mailbox").await.unwrap().status().as_u16(), 200);
    let referral = post(&app, &gp, None, &fresh(fixture("referral-nl.json"))).await.unwrap();
    assert_eq!(referral.status().as_u16(), 202);

    // The directory exports the pin as an Organization extension, and a certificate speaks for one
    // organisation only.
    let export = serde_json::to_string(&handover_broker::directory::export(&app.store).await.unwrap()).unwrap();
    assert!(export.contains(handover_broker::directory::CERTIFICATE_SHA256_URL));
    assert!(export.contains(pki.pinned.sha256().as_str()));
    let twice = pin(&app, "thuiszorg-parkstad", &pki.pinned).await.unwrap_err().to_string();
    assert!(twice.contains("pinned on another organisation"), "{twice}");
}

#[tokio::test]
async fn a_certificate_that_names_two_organisations_names_none() {
    let pki = Pki::new();
    let app = spawn_mtls(&pki, ClientAuth::Required, false).await;
    let both = pki.client(Some(&pki.two_organisations));
    refused(post(&app, &both, None, &discharge()).await.unwrap(), "names more than one organisation").await;
    // A fingerprint pinned on a third organisation makes it no less ambiguous.
    pin(&app, "gp-heerlen", &pki.two_organisations).await.unwrap();
    refused(get(&app, &both, None, "/fhir/mailbox").await.unwrap(), "names more than one organisation").await;
    assert_eq!(app.store.message_count().await.unwrap(), 0);
}

#[tokio::test]
async fn required_client_certificates_fail_the_handshake_when_missing_expired_unknown_or_revoked() {
    let pki = Pki::new();
    let app = spawn_mtls(&pki, ClientAuth::Required, false).await;
    // With TLS 1.3 the client learns of the refusal (a fatal alert naming the reason) on its first read.
    for (identity, alert) in [
        (None, "CertificateRequired"),
        (Some(&pki.expired), "CertificateExpired"),
        (Some(&pki.unknown_ca), "UnknownCA"),
        (Some(&pki.revoked), "CertificateRevoked"),
    ] {
        let client = pki.client(identity);
        let error = get(&app, &client, Some(HOSPITAL), "/fhir/mailbox").await.expect_err("the handshake fails");
        assert!(format!("{error:?}").contains(alert), "expected {alert}: {error:?}");
    }
    assert_eq!(
        get(&app, &pki.client(Some(&pki.hospital)), None, "/fhir/mailbox").await.unwrap().status().as_u16(),
        200
    );
}

#[tokio::test]
async fn optional_client_certificates_leave_tokens_working_and_answer_bad_certificates_with_401() {
    let pki = Pki::new();
    let app = spawn_mtls(&pki, ClientAuth::Optional, true).await;
    // No certificate: a token, as before.
    let anonymous = pki.client(None);
    assert_eq!(post(&app, &anonymous, Some(HOSPITAL), &discharge()).await.unwrap().status().as_u16(), 202);
    refused(post(&app, &anonymous, None, &discharge()).await.unwrap(), "no bearer token").await;
    // A valid certificate alone.
    assert_eq!(post(&app, &pki.client(Some(&pki.hospital)), None, &discharge()).await.unwrap().status().as_u16(), 202);
    // A certificate that does not verify is refused with the reason, even beside a valid token.
    for (identity, why) in [
        (&pki.expired, "the certificate has expired"),
        (&pki.unknown_ca, "not issued by a CA the broker trusts"),
        (&pki.revoked, "the certificate is revoked"),
    ] {
        let client = pki.client(Some(identity));
        refused(post(&app, &client, None, &discharge()).await.unwrap(), why).await;
        refused(post(&app, &client, Some(HOSPITAL), &discharge()).await.unwrap(), why).await;
    }
    assert_eq!(app.store.message_count().await.unwrap(), 2);
}

#[tokio::test]
async fn a_token_and_a_certificate_must_speak_for_the_same_organisation() {
    let pki = Pki::new();
    let app = spawn_mtls(&pki, ClientAuth::Optional, false).await;
    let hospital = pki.client(Some(&pki.hospital));
    assert_eq!(post(&app, &hospital, Some(HOSPITAL), &discharge()).await.unwrap().status().as_u16(), 202);
    refused(get(&app, &hospital, Some(GP_HEERLEN), "/fhir/mailbox").await.unwrap(), "different organisations").await;
    // The token decides the role: the hospital's admin token with the hospital's certificate is an admin.
    let admin = admin_token(&app).await;
    assert_eq!(get(&app, &hospital, Some(&admin), "/admin/organizations").await.unwrap().status().as_u16(), 200);
    // A verified certificate that speaks for no organisation leaves the decision to the token.
    let unregistered = pki.client(Some(&pki.pinned));
    assert_eq!(get(&app, &unregistered, Some(GP_HEERLEN), "/fhir/mailbox").await.unwrap().status().as_u16(), 200);
    // A bad token is refused whatever the certificate.
    refused(get(&app, &hospital, Some("not-a-token"), "/fhir/mailbox").await.unwrap(), "unknown").await;
}

/// The "wrong certificate" row of the authorization matrix (`matrix.rs` walks the other callers over
/// plain HTTP): a certificate from a trusted CA that speaks for no organisation reaches no route that
/// needs a role, whichever it is; the public ones answer as always.
#[tokio::test]
async fn every_route_refuses_a_certificate_that_speaks_for_no_organisation() {
    use handover_broker::api::authz::{Who, RULES};
    let pki = Pki::new();
    let app = spawn_mtls(&pki, ClientAuth::Optional, false).await;
    let nobody = pki.client(Some(&pki.pinned));
    for rule in RULES {
        let path = rule.route.replace("{tracking_id}", &uuid::Uuid::now_v7().to_string()).replace("{id}", "gp-brugge");
        let method = reqwest::Method::from_bytes(rule.method.as_bytes()).unwrap();
        let response = nobody.request(method, format!("{}{path}", app.base)).send().await.unwrap();
        let status = response.status().as_u16();
        let page = handover_broker::api::pages::PAGE_ROUTES.contains(&rule.route);
        match rule.who {
            // The token endpoint takes only a client assertion: without one it is an OAuth error.
            Who::Anyone if rule.route == "/oauth/token" => assert_eq!(status, 400),
            // A sign-in form sent without a token is the form again, with its 401.
            Who::Anyone if rule.method == "POST" && rule.route == "/login" => assert_eq!(status, 401),
            Who::Anyone => assert_eq!(status, 200, "{} {}", rule.method, rule.route),
            // A page answers a person: the sign-in form, not an OperationOutcome.
            Who::Role(_) | Who::AnyRole(_) if page => {
                assert_eq!(status, 401, "{} {}", rule.method, rule.route);
                let body = response.text().await.unwrap();
                assert!(body.contains("name=\"token\""), "{} {}: {body}", rule.method, rule.route);
            }
            Who::Role(_) | Who::AnyRole(_) => refused(response, "not registered for any organisation").await,
        }
    }
}
