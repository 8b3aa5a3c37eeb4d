//! The broker over real TLS (rustls), with a certificate from a CA made in the test.

use crate::helpers::*;

#[tokio::test]
async fn the_broker_serves_https_with_its_configured_certificate() {
    let dir = std::sync::Arc::new(tempfile::tempdir().unwrap());
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let params = rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let cert = params.signed_by(&key, &ca, &ca_key).unwrap();
    let (cert_path, key_path) = (dir.path().join("broker.pem"), dir.path().join("broker.key"));
    std::fs::write(&cert_path, cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();

    let mut settings = test_settings(dir.path()).await;
    settings.tls = Some(handover_broker::config::TlsSettings::new(cert_path, key_path));
    let mut app = spawn_with(settings, dir).await;
    assert!(app.base.starts_with("https://127.0.0.1:"), "{}", app.base);

    app.client = reqwest::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
        .build()
        .unwrap();
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);

    // A client that does not trust the CA cannot talk to it, and plain HTTP gets no answer.
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(format!("{}/healthz", app.base)).send().await.is_err());
    let plain = app.base.replace("https://", "http://");
    assert!(untrusting.get(format!("{plain}/healthz")).send().await.is_err());
}
