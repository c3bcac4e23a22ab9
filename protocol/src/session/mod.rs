//! The session state machines of both sides, driven by the caller.
//!
//! Both sides go through the same phases:
//!
//! ```text
//! awaiting hello -> authenticating -> awaiting consent -> active -> closed
//! ```
//!
//! [`AgentSession`] and [`ViewerSession`] do no I/O and read no clock. The caller feeds
//! them what arrived (`handle_control`, `handle_datagram`) and what the local person did
//! (consent answers, Stop, revocations), passing the current time, then drains:
//!
//! - `poll_transmit()`: control messages to send, in order;
//! - `poll_event()`: what happened (authenticated, consent needed, scopes changed, a
//!   message to act on, an audit record to write, the session ended).
//!
//! A message that is not valid in the current phase, or that only the other side may
//! send, is peer misbehaviour: the machine queues a `SessionEnd` for the peer, emits
//! an audit record and `Ended`, moves to closed, and returns the [`PeerMisbehaved`]
//! error. A message that is valid but needs a scope that is not granted is refused
//! (an `Error` of kind `PermissionDenied` goes back, an audit record is written) and
//! the session goes on: a revocation may cross input already in flight.
//!
//! [`PeerMisbehaved`]: crate::PeerMisbehaved

mod agent;
pub mod resume;
mod viewer;

pub use agent::{AgentConfig, AgentEvent, AgentSession, ConsentAnswer, ConsentPrompt};
pub use viewer::{Credential, SendError, ViewerConfig, ViewerEvent, ViewerSession};

/// The phase of a session, for display and errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Waiting for the peer's `Hello`.
    AwaitingHello,
    /// Running the one-time-code exchange.
    Authenticating,
    /// Authenticated; waiting for the consent request or the end user's answer.
    AwaitingConsent,
    /// Working: messages flow under the granted scopes.
    Active,
    /// Over.
    Closed,
}

impl Phase {
    /// The phase in words.
    pub const fn name(self) -> &'static str {
        match self {
            Phase::AwaitingHello => "awaiting hello",
            Phase::Authenticating => "authenticating",
            Phase::AwaitingConsent => "awaiting consent",
            Phase::Active => "active",
            Phase::Closed => "closed",
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
