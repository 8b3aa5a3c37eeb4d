//! Code systems and names of the broker's own protocol, shared by the stages that read and write them.

/// The broker's code system of handover kinds (`MessageHeader.eventCoding.system`, and the events an
/// organisation accepts in the directory).
pub const EVENT_SYSTEM: &str = "https://fhir.handover-broker.eu/CodeSystem/handover-event";
