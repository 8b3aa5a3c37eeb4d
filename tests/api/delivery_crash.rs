//! A broker killed (SIGKILL) in the middle of a push: the delivery was claimed with a lease, so the
//! restarted broker pushes it again when the lease runs out. At least once, never zero times.

use std::time::Duration;

use crate::delivery::{nursing_to, point_directory, wait_got, Receiver, Reply};
use crate::helpers::*;

/// Starts the real binary on the database in `dir` (demo tokens, a push timeout of 2 s and a lease of
/// 3 s); returns it and its base URL.
fn start_broker(dir: &std::path::Path) -> (std::process::Child, String) {
    let mut child = broker_command(dir)
        .env("HANDOVER_DEMO", "true")
        .env("HANDOVER_DELIVERY__TIMEOUT_MS", "2000")
        .env("HANDOVER_DELIVERY__LEASE_MS", "3000")
        .env("HANDOVER_DELIVERY__POLL_MS", "50")
        .spawn()
        .unwrap();
    let base = listening_base(&mut child);
    (child, base)
}

#[tokio::test]
async fn a_push_cut_short_by_a_crash_is_made_again_after_the_lease() {
    let dir = tempfile::tempdir().unwrap();
    let home_care = Receiver::plain();
    // The first push hangs until the broker is gone; the next one is answered at once.
    home_care.script([Reply::Slow(Duration::from_secs(60))]);
    let mut settings = test_settings(dir.path()).await;
    settings.database_url = format!("sqlite://{}/broker.db", dir.path().display());
    point_directory(&settings, &[("thuiszorg-parkstad", &home_care.address)]).await;

    let (mut broker, base) = start_broker(dir.path());
    let bundle = nursing_to(&home_care.address);
    let response = reqwest::Client::new()
        .post(format!("{base}/fhir/$process-message"))
        .bearer_auth(HOSPITAL)
        .header("Content-Type", FHIR_JSON)
        .body(serde_json::to_vec(&bundle).unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    let tracking = tracking_id(&response.json().await.unwrap());
    // The push is in flight (the receiver holds it): kill the broker without warning.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while home_care.state.script.lock().unwrap().len() == 1 {
        assert!(std::time::Instant::now() < deadline, "the push never started");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    broker.kill().unwrap();
    broker.wait().unwrap();

    // Restarted: when the crashed claim's lease (3 s) runs out, the delivery is made again.
    let (mut broker, _) = start_broker(dir.path());
    let got = wait_got(&home_care, 1).await;
    assert_eq!(got[0].message_id, bundle["entry"][0]["resource"]["id"].as_str().unwrap());
    // The receiver has it; the broker records it right after the answer.
    let store = handover_broker::store::Store::open(&settings.database_url, 2, 8).await.unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let delivery = loop {
        let deliveries = store.deliveries(&tracking).await.unwrap();
        if deliveries[0].state.as_str() == "delivered" {
            break deliveries[0].clone();
        }
        assert!(std::time::Instant::now() < deadline, "still {}", deliveries[0].state);
        tokio::time::sleep(Duration::from_millis(25)).await;
    };
    broker.kill().unwrap();
    broker.wait().unwrap();
    assert_eq!(delivery.attempts, 2, "the cut-short attempt and the one after the lease");
}
