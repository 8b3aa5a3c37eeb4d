//! The states of a message and of its deliveries (DESIGN.md section 3), and every allowed move.
//!
//! States travel as these enums through every layer, the store included; their names appear only in
//! the database and on the wire, read and written by `as_str` and `FromStr` here.

use std::fmt;
use std::str::FromStr;

/// States of a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DeliveryState {
    Queued,
    Delivered,
    AcceptedByReceiver,
    RejectedByReceiver,
    Failed,
    Expired,
    /// A triage point passed the message on (`$forward`); the answer comes through the chain.
    Forwarded,
    /// Another candidate was placed: the request was withdrawn from this receiver.
    Withdrawn,
}

/// What happened to a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryEvent {
    /// The receiver's system has it (2xx on push, or acknowledged from the mailbox).
    Delivered,
    /// The receiver's business response: ok.
    ReceiverAccepted,
    /// The receiver's business response: fatal-error.
    ReceiverRejected,
    /// A permanent error from the receiver.
    PermanentFailure,
    /// Not delivered within its time to live.
    TimeToLivePassed,
    /// The receiver, a triage point, forwarded the message.
    Forwarded,
    /// A placement among several candidates went to another receiver.
    Withdrawn,
}

impl DeliveryState {
    pub const ALL: [Self; 8] = [
        Self::Queued,
        Self::Delivered,
        Self::AcceptedByReceiver,
        Self::RejectedByReceiver,
        Self::Failed,
        Self::Expired,
        Self::Forwarded,
        Self::Withdrawn,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Delivered => "delivered",
            Self::AcceptedByReceiver => "accepted-by-receiver",
            Self::RejectedByReceiver => "rejected-by-receiver",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Forwarded => "forwarded",
            Self::Withdrawn => "withdrawn",
        }
    }

    /// No further change is possible.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::AcceptedByReceiver | Self::RejectedByReceiver | Self::Failed | Self::Expired | Self::Withdrawn
        )
    }

    /// Still waiting for its receiver's answer, or (forwarded) for the chain's.
    pub fn is_open(self) -> bool {
        matches!(self, Self::Queued | Self::Delivered | Self::Forwarded)
    }

    /// The state after `event`, or `None` when the protocol does not allow it from this state.
    pub fn transition(self, event: DeliveryEvent) -> Option<Self> {
        use DeliveryEvent as E;
        match (self, event) {
            (Self::Queued, E::Delivered) => Some(Self::Delivered),
            (Self::Queued, E::PermanentFailure) => Some(Self::Failed),
            (Self::Queued, E::TimeToLivePassed) => Some(Self::Expired),
            // A business response proves receipt, even if the delivery report was lost. A forwarded
            // message is answered by the end of the chain (or by the triage point itself).
            (Self::Queued | Self::Delivered | Self::Forwarded, E::ReceiverAccepted) => Some(Self::AcceptedByReceiver),
            (Self::Queued | Self::Delivered | Self::Forwarded, E::ReceiverRejected) => Some(Self::RejectedByReceiver),
            // Forwarding again (every earlier candidate declined) is decided by the forwarding's guard.
            (Self::Queued | Self::Delivered | Self::Forwarded, E::Forwarded) => Some(Self::Forwarded),
            (Self::Queued | Self::Delivered, E::Withdrawn) => Some(Self::Withdrawn),
            _ => None,
        }
    }
    /// The states from which `self` may be reached: the inverse of [`DeliveryState::transition`], the
    /// guard of a change in the store (a concurrent change that got there first wins).
    pub fn sources(self) -> StateSet {
        use DeliveryEvent as E;
        let event = match self {
            Self::Delivered => E::Delivered,
            Self::Failed => E::PermanentFailure,
            Self::Expired => E::TimeToLivePassed,
            Self::AcceptedByReceiver => E::ReceiverAccepted,
            Self::RejectedByReceiver => E::ReceiverRejected,
            Self::Forwarded => E::Forwarded,
            Self::Withdrawn => E::Withdrawn,
            Self::Queued => return StateSet::EMPTY,
        };
        Self::ALL.into_iter().filter(|s| s.transition(event) == Some(self)).collect()
    }

    fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A set of delivery states (a guard).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StateSet(u8);

impl StateSet {
    pub const EMPTY: Self = Self(0);

    pub fn contains(self, state: DeliveryState) -> bool {
        self.0 & state.bit() != 0
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The states in the order of [`DeliveryState::ALL`].
    pub fn iter(self) -> impl Iterator<Item = DeliveryState> {
        DeliveryState::ALL.into_iter().filter(move |s| self.contains(*s))
    }
}

impl FromIterator<DeliveryState> for StateSet {
    fn from_iter<I: IntoIterator<Item = DeliveryState>>(states: I) -> Self {
        Self(states.into_iter().fold(0, |bits, s| bits | s.bit()))
    }
}

impl fmt::Display for DeliveryState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DeliveryState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL.into_iter().find(|state| state.as_str() == s).ok_or_else(|| s.to_owned())
    }
}

/// How a triage point's forwarding places the patient (`$forward`'s `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardMode {
    /// Every receiver gets the request; the first acceptance answers the original.
    All,
    /// The first receiver to accept is placed; the others are withdrawn, and a later acceptance is
    /// refused.
    FirstAccept,
}

impl ForwardMode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::FirstAccept => "first-accept",
        }
    }
}

impl FromStr for ForwardMode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "all" => Ok(Self::All),
            "first-accept" => Ok(Self::FirstAccept),
            other => Err(other.to_owned()),
        }
    }
}

/// States of a message (DESIGN.md section 3). Only accepted messages are stored: a refused one leaves
/// its ledger entries and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MessageState {
    /// Committed, with one delivery per receiver.
    Accepted,
}

impl MessageState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Accepted => "accepted",
        }
    }
}

impl FromStr for MessageState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "accepted" => Ok(Self::Accepted),
            other => Err(other.to_owned()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::DeliveryEvent as E;
    use super::DeliveryState as S;

    #[test]
    fn queued_moves_to_delivered_failed_expired_or_a_business_response() {
        assert_eq!(S::Queued.transition(E::Delivered), Some(S::Delivered));
        assert_eq!(S::Queued.transition(E::PermanentFailure), Some(S::Failed));
        assert_eq!(S::Queued.transition(E::TimeToLivePassed), Some(S::Expired));
        assert_eq!(S::Queued.transition(E::ReceiverAccepted), Some(S::AcceptedByReceiver));
        assert_eq!(S::Queued.transition(E::ReceiverRejected), Some(S::RejectedByReceiver));
    }

    #[test]
    fn delivered_only_takes_a_business_response() {
        assert_eq!(S::Delivered.transition(E::ReceiverAccepted), Some(S::AcceptedByReceiver));
        assert_eq!(S::Delivered.transition(E::ReceiverRejected), Some(S::RejectedByReceiver));
        assert_eq!(S::Delivered.transition(E::Delivered), None);
        assert_eq!(S::Delivered.transition(E::TimeToLivePassed), None);
        assert_eq!(S::Delivered.transition(E::PermanentFailure), None);
    }

    #[test]
    fn terminal_states_never_change() {
        for state in [S::AcceptedByReceiver, S::RejectedByReceiver, S::Failed, S::Expired, S::Withdrawn] {
            assert!(state.is_terminal() && !state.is_open());
            for event in [
                E::Delivered,
                E::ReceiverAccepted,
                E::ReceiverRejected,
                E::PermanentFailure,
                E::TimeToLivePassed,
                E::Forwarded,
                E::Withdrawn,
            ] {
                assert_eq!(state.transition(event), None, "{state} must not change on {event:?}");
            }
        }
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in S::ALL {
            assert_eq!(state.as_str().parse::<S>(), Ok(state));
        }
        assert!("lost".parse::<S>().is_err());
    }
    #[test]
    fn sources_are_the_inverse_of_the_transitions() {
        let set = |states: &[S]| states.iter().copied().collect::<super::StateSet>();
        assert_eq!(S::Delivered.sources(), set(&[S::Queued]));
        assert_eq!(S::Failed.sources(), set(&[S::Queued]));
        assert_eq!(S::Expired.sources(), set(&[S::Queued]));
        assert_eq!(S::AcceptedByReceiver.sources(), set(&[S::Queued, S::Delivered, S::Forwarded]));
        assert_eq!(S::RejectedByReceiver.sources(), set(&[S::Queued, S::Delivered, S::Forwarded]));
        assert_eq!(S::Forwarded.sources(), set(&[S::Queued, S::Delivered, S::Forwarded]));
        assert_eq!(S::Withdrawn.sources(), set(&[S::Queued, S::Delivered]));
        assert!(S::Queued.sources().is_empty());
        assert_eq!(
            S::AcceptedByReceiver.sources().iter().collect::<Vec<_>>(),
            vec![S::Queued, S::Delivered, S::Forwarded]
        );
    }

    #[test]
    fn a_forwarded_message_waits_for_the_chain_and_a_withdrawn_one_is_over() {
        assert!(S::Forwarded.is_open() && !S::Forwarded.is_terminal());
        assert_eq!(S::Forwarded.transition(E::ReceiverAccepted), Some(S::AcceptedByReceiver));
        assert_eq!(S::Forwarded.transition(E::Delivered), None);
        assert_eq!(S::Forwarded.transition(E::TimeToLivePassed), None);
        assert_eq!(S::Forwarded.transition(E::Withdrawn), None);
        assert_eq!(S::Delivered.transition(E::Withdrawn), Some(S::Withdrawn));
        assert_eq!(S::AcceptedByReceiver.transition(E::Forwarded), None);
    }
}
