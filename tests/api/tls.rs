//! The broker over real TLS (rustls), with a certificate from a CA made in the test.

use crate::helpers::*;

#[tokio::test]
async fn the_broker_serves_https_with_its_configured_certificate() {
    let app = spawn_https_app().await;
    assert_eq!(app.post_message(HOSPITAL, &discharge()).await.status().as_u16(), 202);

    // A client that does not trust the CA cannot talk to it, and plain HTTP gets no answer.
    let untrusting = reqwest::Client::new();
    assert!(untrusting.get(format!("{}/healthz", app.base)).send().await.is_err());
    let plain = app.base.replace("https://", "http://");
    assert!(untrusting.get(format!("{plain}/healthz")).send().await.is_err());
}
