//! Delivery: the life of one message for one receiver.
//!
//! A delivery is created `queued` in the same transaction that accepts its message. The push workers
//! and the mailbox move it on; every allowed move is in `model::state` (`DeliveryState::transition`), so a
//! state can only change in ways the protocol (DESIGN.md section 3) allows.

pub mod notify;
pub mod push;
pub mod retry;
pub mod settle;
mod tls;

pub use push::{DispatchReport, Outcomes, PushWorkers, Pusher};
