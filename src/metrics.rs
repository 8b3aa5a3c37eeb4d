//! Prometheus metrics on `GET /metrics`: delivery attempts by outcome, accept-to-deliver latency
//! (both counted in this process), and the deliveries by state and the queue depth per organisation
//! (read from the database at each scrape, so every broker node reports the shared truth).

use std::sync::Mutex;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

use crate::store::{Outbox, Store, StoreError};

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AttemptLabels {
    outbox: &'static str,
    outcome: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    outbox: &'static str,
    state: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    outbox: &'static str,
    organization: String,
}

/// The broker's metrics.
pub struct Metrics {
    registry: Mutex<Registry>,
    attempts: Family<AttemptLabels, Counter>,
    latency: Histogram,
    states: Family<StateLabels, Gauge>,
    queues: Family<QueueLabels, Gauge>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("handover_broker");
        let attempts = Family::<AttemptLabels, Counter>::default();
        registry.register("delivery_attempts", "Push attempts by outbox and outcome", attempts.clone());
        // 1 ms to about 9 hours: loopback pushes and retried deliveries on one scale.
        let latency = Histogram::new(exponential_buckets(0.001, 2.0, 25));
        registry.register(
            "delivery_latency_seconds",
            "From acceptance by the broker to delivery to the receiver",
            latency.clone(),
        );
        let states = Family::<StateLabels, Gauge>::default();
        registry.register("deliveries", "Deliveries and receipts by state", states.clone());
        let queues = Family::<QueueLabels, Gauge>::default();
        registry.register("queue_depth", "Queued deliveries and receipts per organisation", queues.clone());
        Self { registry: Mutex::new(registry), attempts, latency, states, queues }
    }

    /// One push attempt ended: `delivered`, `retry` or `failed`.
    pub fn attempt(&self, outbox: Outbox, outcome: &'static str) {
        self.attempts.get_or_create(&AttemptLabels { outbox: outbox.as_str(), outcome }).inc();
    }

    /// A handover was delivered `seconds` after the broker accepted it.
    pub fn delivered_after(&self, seconds: f64) {
        self.latency.observe(seconds);
    }

    /// The Prometheus text exposition, with the database's current counts.
    pub async fn render(&self, store: &Store) -> Result<String, StoreError> {
        let mut counts = Vec::new();
        let mut depths = Vec::new();
        for outbox in [Outbox::Deliveries, Outbox::Receipts] {
            counts.push((outbox, store.outbox_states(outbox).await?));
            depths.push((outbox, store.queue_depths(outbox).await?));
        }
        self.states.clear();
        for (outbox, rows) in counts {
            for (state, n) in rows {
                self.states.get_or_create(&StateLabels { outbox: outbox.as_str(), state }).set(n);
            }
        }
        self.queues.clear();
        for (outbox, rows) in depths {
            for (organization, n) in rows {
                self.queues.get_or_create(&QueueLabels { outbox: outbox.as_str(), organization }).set(n);
            }
        }
        let mut text = String::new();
        let registry = self.registry.lock().map_err(|_| StoreError::Corrupt("metrics registry poisoned".into()))?;
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &registry);
        Ok(text)
    }
}
