//! handover-broker: a FHIR R4 message broker for patient handovers between care organisations.
//!
//! The flow of a handover through the crate, one module per stage:
//! `api` (HTTP edge) → `ingest` (envelope, dedup key) → `profiles` (completeness) → `routing`
//! (receivers from the `directory`) → `store` (one transaction) → `delivery` / mailbox → `receipts`,
//! with every state change appended to the `ledger`; `retention` purges payloads that are done. See ARCHITECTURE.md.

pub mod address;
pub mod api;
pub mod audit;
pub mod auth;
pub mod capacity;
pub mod config;
pub mod crypto;
pub mod delivery;
pub mod directory;
pub mod document;
pub mod fhirxml;
pub mod forward;
pub mod i18n;
pub mod ingest;
pub mod json;
pub mod ledger;
pub mod loadgen;
pub mod mailbox;
pub mod message;
pub mod metrics;
pub mod model;
pub mod notified;
pub mod outcome;
pub mod overdue;
pub mod profiles;
pub mod quality;
pub mod receipts;
pub mod retention;
pub mod routing;
pub mod service_hours;
pub mod signals;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod time;
