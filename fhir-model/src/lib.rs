//! The broker's outgoing FHIR resources, built with fhir-sdk's generated R4B types.
//!
//! fhir-sdk's generated serde code is large: a crate that instantiates it recompiles for minutes. This
//! crate keeps every use of it behind plain, non-generic functions that take simple input structs and
//! return JSON bytes, so the broker crate never monomorphises the generated code and rebuilds in
//! seconds.
//!
//! Only resources the broker *creates* go through here. Received messages are never parsed into these
//! types and re-serialised: fhir-sdk drops unknown elements and re-formats decimals and times, so the
//! broker stores and forwards the exact bytes it received.
//!
//! The generated types are R4B (4.3.0). Every element used here has the same name, type and
//! cardinality in R4 (4.0.1), which is what `fhirVersion` declares.

mod outgoing;

pub use fhir_sdk::time::OffsetDateTime;
pub use outgoing::{
    acknowledgement, capability_statement, operation_outcome, parse_bundle_type, receipt, receipt_parameters,
    Acknowledgement, Capability, DeliveryHistory, DeliveryReceipt, FhirError, MessageReceipt, OutcomeIssue,
    OutcomeSeverity, Receipt, SupportedEvent,
};
pub use outgoing::{withdrawal, ForwardingReceipt, Withdrawal, NOTICE_SYSTEM};
