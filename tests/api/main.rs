//! Integration tests: the real broker on a random loopback port with a fresh SQLite file.

mod helpers;

mod admin;
mod attachments;
mod auth;
mod browser;
mod capacity;
mod certificates;
mod corpus;
mod dedup;
mod delivery;
mod delivery_cases;
mod delivery_crash;
mod documents;
mod forward;
mod ledger;
mod limits;
mod mailbox;
mod mailbox_cases;
mod matrix;
mod notified_pull;
mod overdue;
mod patient_portal;
mod process_message;
mod quality;
mod receipts;
mod restart;
mod retention;
mod schema;
mod service;
mod smart;
mod tls;
mod tokens;
mod trust;
mod validation;
mod xml;
