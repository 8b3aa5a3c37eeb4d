//! The message as parsed: a submitted message Bundle's envelope (MessageHeader, sender, destinations,
//! receipt wishes) and the index of its entries, read once from the exact bytes received.
//!
//! A leaf shared by the stages that read a message: `ingest` parses it, `profiles` validate it and
//! `routing` resolves its parties. It decides nothing about the message beyond its envelope's form.

mod envelope;
mod index;

pub use envelope::{
    deeper_than, entries_sha256, parse, parse_with, read_json, Destination, EnvelopeError, EventCoding, Handling,
    PartyRef, Submission, DOCUMENT_BUNDLE, MESSAGE_BUNDLE,
};
pub use index::BundleIndex;
