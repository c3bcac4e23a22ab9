//! Lifeline's wire protocol, sans-IO: everything the agent and the viewer must agree on.
//!
//! What it does:
//! - [`message`]: every message of a session, on the control stream, in datagrams and
//!   at the head of each video stream.
//! - [`framing`]: length-prefixed postcard frames with hard limits per channel;
//!   decoding never panics and never allocates past the limit.
//! - [`version`]: version negotiation, with a mismatch message both sides can show.
//! - [`scope`] and [`authorize()`]: the permission set, and the one function that
//!   decides which message needs which scope (the table is in [`mod@authorize`]).
//! - [`code`] and [`pake`]: one-time codes that are never sent, SPAKE2 over them with
//!   key confirmation bound to the TLS channel, and the guard that counts wrong codes.
//! - [`session`]: the agent and viewer state machines
//!   (awaiting hello → authenticating → awaiting consent → active → closed).
//! - [`identity`] and [`certificate`]: Ed25519 identity keys, fingerprints, and the
//!   self-signed TLS certificates that carry them.
//! - [`action`]: actions confirmed one by one (running a command).
//! - [`transfer`]: moving files both ways, each transfer confirmed by the end user when
//!   the policy asks: offers and fetches, file streams, safe names, size and hash checks.
//! - [`system`]: system information and the diagnostics menu (read-only checks).
//! - [`audit`]: the audit record, and the audit log's format over bytes: hash chain,
//!   signed checkpoints, verification naming the first bad line, display, and a writer
//!   over a store the caller supplies.
//! - [`recording`]: the session recording format (chunked, hash-chained, signed):
//!   writer, reader with seeking, and verification.
//! - [`trust`]: organisation keys, technician certificates, unattended access and its
//!   TOTP second factor.
//!
//! What it does not do: no sockets, no async runtime, no TLS, no UI, no clock reads
//! (time is passed in as [`Timestamp`]) and no files. The agent and the viewer own all
//! I/O and feed this crate what arrived.
//!
//! # Errors
//! A peer that breaks the protocol gives a [`PeerMisbehaved`]; a caller that misuses
//! this crate gives a [`LocalMisuse`]. A message refused for lack of a scope is neither:
//! it is a [`Denied`], and the session goes on.

pub mod action;
pub mod audit;
pub mod authorize;
pub mod certificate;
pub mod code;
mod error;
pub mod framing;
pub mod identity;
pub mod message;
pub mod pake;
pub mod recording;
pub mod scope;
pub mod session;
pub mod system;
mod time;
pub mod transfer;
pub mod trust;
pub mod version;

pub use authorize::{Denied, NeedsScope, authorize};
pub use code::{CodeGuard, CodePolicy, OneTimeCode};
pub use error::{LocalMisuse, PeerMisbehaved};
pub use identity::{Fingerprint, KeyPair, PublicKey};
pub use message::{ControlMessage, Datagram, VideoFrameHeader};
pub use scope::{Scope, ScopeSet};
pub use time::{Timestamp, UtcTime};
