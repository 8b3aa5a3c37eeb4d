//! The broker's domain values: ids, organisations, delivery and message states, protocol codes.
//!
//! A leaf of the crate (see ARCHITECTURE.md, Layers): every other layer speaks in these types, and this
//! module imports nothing from the crate. Values are parsed once, where they enter (a request, the
//! directory, a database row); past that point a typo in an id or a state name does not compile.

pub mod codes;
pub mod format;
pub mod ids;
pub mod organization;
pub mod smart;
pub mod state;
pub mod urgency;

pub use codes::CareType;
pub use format::Format;
pub use ids::{DeliveryId, EventCode, HeaderId, PatientKey, PayloadHash, TrackingId};
pub use organization::{CertificateSha256, DeliveryMode, OrgId, OrgIdentifier, Organization, ReceiptPreference};
pub use smart::{ClientId, ClientRole, JwkSet, SmartClient};
pub use state::{DeliveryEvent, DeliveryState, ForwardMode, MessageState, StateSet};
pub use urgency::{
    OpenPeriod, OpeningHours, Priority, ReceiptKind, ResponseRule, ResponseTime, TimeOfDay, TimeZoneName, Weekdays,
};
