//! The two kinds of failure: a peer that broke the protocol, and a caller that misused
//! this crate. They are different types so that nobody confuses an attack with a bug.

use crate::message::FieldTooLong;

/// The peer sent something the protocol forbids. The session must end; the event is
/// worth an audit record.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PeerMisbehaved {
    /// A length prefix above the channel's limit.
    #[error(
        "the peer announced a {declared}-byte frame on the {channel} channel, whose limit is {limit} bytes"
    )]
    FrameTooLarge {
        /// Which channel.
        channel: &'static str,
        /// What the prefix claimed.
        declared: u64,
        /// The channel's limit.
        limit: usize,
    },
    /// Bytes that do not decode.
    #[error("the peer sent bytes that are not a valid {what}: {detail}")]
    Malformed {
        /// What was expected.
        what: &'static str,
        /// What went wrong.
        detail: String,
    },
    /// A text field over its limit.
    #[error("the peer sent a message whose {0}")]
    FieldTooLong(#[from] FieldTooLong),
    /// A message that is valid, but not now.
    #[error("the peer sent {message} while the session was {phase}")]
    OutOfPhase {
        /// The message kind.
        message: &'static str,
        /// The phase the session was in.
        phase: &'static str,
    },
    /// A message only the other side may send (e.g. a viewer granting itself scopes).
    #[error("the peer sent {message}, which only the other side may send")]
    WrongDirection {
        /// The message kind.
        message: &'static str,
    },
    /// The consent request names a different key than the one that authenticated.
    #[error("the peer's consent request names a key other than the one it authenticated with")]
    FingerprintMismatch,
    /// A video frame larger than any screen.
    #[error("the peer sent a {width}x{height} video frame, larger than the {max}x{max} limit")]
    FrameDimensions {
        /// Claimed width.
        width: u32,
        /// Claimed height.
        height: u32,
        /// The limit on each side.
        max: u32,
    },
    /// The peer's `Hello` claims the wrong role.
    #[error("the peer says it is {claimed:?}, but it is the {expected:?} end of this connection")]
    WrongRole {
        /// What it claimed.
        claimed: crate::version::Role,
        /// What it must be.
        expected: crate::version::Role,
    },
    /// The peer did not finish a step in the time allowed (e.g. a connection that never
    /// proves the code: slowloris).
    #[error("the peer did not {step} within {limit_secs} s")]
    TooSlow {
        /// What it had to do.
        step: &'static str,
        /// The time allowed, in seconds.
        limit_secs: u64,
    },
    /// The peer stopped reading the control stream while sending (e.g. pings whose
    /// answers it never reads), so that messages to it pile up.
    #[error("the peer stopped reading: {waiting} messages to it are waiting")]
    NotReading {
        /// Messages waiting to be sent.
        waiting: usize,
    },
}

/// This crate was called in a way that cannot work; a bug on the local side.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LocalMisuse {
    /// A message too large for its channel.
    #[error("a {len}-byte message does not fit the {channel} channel's limit of {limit} bytes")]
    MessageTooLarge {
        /// Which channel.
        channel: &'static str,
        /// The encoded length.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A message that does not pass its own limits.
    #[error("refusing to send a message whose {0}")]
    FieldTooLong(#[from] FieldTooLong),
    /// Serialisation failed.
    #[error("could not encode the message: {0}")]
    Encode(String),
    /// An action that the session's phase does not allow.
    #[error("cannot {action} while the session is {phase}")]
    WrongPhase {
        /// What was attempted.
        action: &'static str,
        /// The phase the session was in.
        phase: &'static str,
    },
    /// The peer did not announce the feature this message belongs to.
    #[error("the peer did not announce support for {message}")]
    NotSupportedByPeer {
        /// The message kind.
        message: &'static str,
    },
}
