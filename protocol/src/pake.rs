//! Authentication by one-time code, without ever sending the code.
//!
//! Both sides run SPAKE2 (RustCrypto `spake2`, Ed25519 group) with the code as the
//! password and the two key fingerprints as identities (viewer = A, agent = B). The
//! resulting key is never used directly: both sides derive a confirmation key from it
//! with HKDF-SHA256, salted with the *channel binding* the caller supplies (the TLS
//! exporter of the QUIC connection), and each proves it holds the key with an HMAC over
//! the transcript. So:
//!
//! - an eavesdropper sees two random-looking group elements and two MACs, from which no
//!   guess of the code can be tested offline;
//! - an active attacker gets one guess per connection, and the agent counts it
//!   (see [`crate::code::CodeGuard`]); the viewer proves first, so the attacker learns
//!   nothing before the guess is counted;
//! - a man in the middle who terminates TLS on both sides has two different channel
//!   bindings, so the MACs do not verify even if the code were relayed.

use ring::hkdf;
use ring::hmac;
use spake2::{Ed25519Group, Identity, Password, Spake2};

use crate::code::OneTimeCode;
use crate::identity::Fingerprint;

const CONFIRM_SALT: &[u8] = b"lifeline/v1/spake2-key-confirmation";
const VIEWER_LABEL: &[u8] = b"lifeline/v1/viewer-confirms";
const AGENT_LABEL: &[u8] = b"lifeline/v1/agent-confirms";

/// Length of a confirmation MAC.
pub const CONFIRM_LEN: usize = 32;

/// Which side of the exchange this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PakeSide {
    /// The technician's viewer (SPAKE2 side A).
    Viewer,
    /// The end user's agent (SPAKE2 side B).
    Agent,
}

/// What both sides must agree on for the exchange to succeed.
#[derive(Clone, Copy, Debug)]
pub struct PakeContext<'a> {
    /// The viewer's key fingerprint.
    pub viewer: &'a Fingerprint,
    /// The agent's key fingerprint.
    pub agent: &'a Fingerprint,
    /// A value unique to this connection that both ends computed on their own
    /// (the TLS exporter). Different values mean different connections.
    pub channel_binding: &'a [u8],
}

/// The first half of the exchange: our SPAKE2 state and the message to send.
pub struct PakeStart {
    side: PakeSide,
    state: Spake2<Ed25519Group>,
    outbound: Vec<u8>,
}

impl std::fmt::Debug for PakeStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PakeStart")
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

/// The peer's SPAKE2 message could not be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the peer's SPAKE2 message is malformed ({0:?})")]
pub struct BadPakeMessage(pub spake2::Error);

impl PakeStart {
    /// Starts the exchange for `side` with `code`.
    pub fn new(side: PakeSide, code: &OneTimeCode, context: &PakeContext<'_>) -> Self {
        let password = Password::new(code.as_password());
        let viewer = Identity::new(&context.viewer.0);
        let agent = Identity::new(&context.agent.0);
        let (state, outbound) = match side {
            PakeSide::Viewer => Spake2::<Ed25519Group>::start_a(&password, &viewer, &agent),
            PakeSide::Agent => Spake2::<Ed25519Group>::start_b(&password, &viewer, &agent),
        };
        Self {
            side,
            state,
            outbound,
        }
    }

    /// The SPAKE2 message to send to the peer.
    pub fn message(&self) -> &[u8] {
        &self.outbound
    }

    /// Combines the peer's message into the confirmation keys.
    pub fn finish(
        self,
        inbound: &[u8],
        context: &PakeContext<'_>,
    ) -> Result<Confirmation, BadPakeMessage> {
        let (viewer_msg, agent_msg) = match self.side {
            PakeSide::Viewer => (self.outbound.as_slice(), inbound),
            PakeSide::Agent => (inbound, self.outbound.as_slice()),
        };
        let transcript = transcript_hash(viewer_msg, agent_msg, context);
        let shared = self.state.finish(inbound).map_err(BadPakeMessage)?;
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, CONFIRM_SALT).extract(&shared);
        let info = [context.channel_binding];
        let okm = prk
            .expand(&info, hmac::HMAC_SHA256)
            .map_err(|_| BadPakeMessage(spake2::Error::CorruptMessage))?;
        Ok(Confirmation {
            side: self.side,
            key: hmac::Key::from(okm),
            transcript,
        })
    }
}

fn transcript_hash(viewer_msg: &[u8], agent_msg: &[u8], context: &PakeContext<'_>) -> Vec<u8> {
    let mut hash = ring::digest::Context::new(&ring::digest::SHA256);
    for part in [
        viewer_msg,
        agent_msg,
        &context.viewer.0[..],
        &context.agent.0[..],
        context.channel_binding,
    ] {
        hash.update(&(part.len() as u64).to_be_bytes());
        hash.update(part);
    }
    hash.finish().as_ref().to_vec()
}

/// The confirmation keys of a finished exchange.
pub struct Confirmation {
    side: PakeSide,
    key: hmac::Key,
    transcript: Vec<u8>,
}

impl std::fmt::Debug for Confirmation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Confirmation")
            .field("side", &self.side)
            .finish_non_exhaustive()
    }
}

/// The peer's confirmation MAC is wrong: wrong code, or a different channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the peer could not prove it knows the code on this connection")]
pub struct ConfirmationFailed;

impl Confirmation {
    /// Our MAC, proving we hold the key.
    pub fn our_mac(&self) -> Vec<u8> {
        self.mac(self.side).as_ref().to_vec()
    }

    /// Checks the peer's MAC in constant time.
    pub fn verify_peer(&self, mac: &[u8]) -> Result<(), ConfirmationFailed> {
        let peer = match self.side {
            PakeSide::Viewer => PakeSide::Agent,
            PakeSide::Agent => PakeSide::Viewer,
        };
        let label = label(peer);
        let mut message = Vec::with_capacity(label.len() + self.transcript.len());
        message.extend_from_slice(label);
        message.extend_from_slice(&self.transcript);
        hmac::verify(&self.key, &message, mac).map_err(|_| ConfirmationFailed)
    }

    fn mac(&self, side: PakeSide) -> hmac::Tag {
        let mut context = hmac::Context::with_key(&self.key);
        context.update(label(side));
        context.update(&self.transcript);
        context.sign()
    }
}

fn label(side: PakeSide) -> &'static [u8] {
    match side {
        PakeSide::Viewer => VIEWER_LABEL,
        PakeSide::Agent => AGENT_LABEL,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::PublicKey;

    struct Setup {
        viewer: Fingerprint,
        agent: Fingerprint,
    }

    fn setup() -> Setup {
        Setup {
            viewer: PublicKey([1; 32]).fingerprint(),
            agent: PublicKey([2; 32]).fingerprint(),
        }
    }

    fn run(
        viewer_code: &str,
        agent_code: &str,
        viewer_binding: &[u8],
        agent_binding: &[u8],
    ) -> (Confirmation, Confirmation) {
        let s = setup();
        let viewer_ctx = PakeContext {
            viewer: &s.viewer,
            agent: &s.agent,
            channel_binding: viewer_binding,
        };
        let agent_ctx = PakeContext {
            viewer: &s.viewer,
            agent: &s.agent,
            channel_binding: agent_binding,
        };
        let viewer = PakeStart::new(
            PakeSide::Viewer,
            &OneTimeCode::parse(viewer_code).unwrap(),
            &viewer_ctx,
        );
        let agent = PakeStart::new(
            PakeSide::Agent,
            &OneTimeCode::parse(agent_code).unwrap(),
            &agent_ctx,
        );
        let to_agent = viewer.message().to_vec();
        let to_viewer = agent.message().to_vec();
        (
            viewer.finish(&to_viewer, &viewer_ctx).unwrap(),
            agent.finish(&to_agent, &agent_ctx).unwrap(),
        )
    }

    #[test]
    fn same_code_same_channel_confirms_both_ways() {
        let (viewer, agent) = run("123456789", "123456789", b"tls", b"tls");
        assert_eq!(agent.verify_peer(&viewer.our_mac()), Ok(()));
        assert_eq!(viewer.verify_peer(&agent.our_mac()), Ok(()));
        assert_ne!(
            viewer.our_mac(),
            agent.our_mac(),
            "a reflected MAC must not verify"
        );
        assert_eq!(
            viewer.verify_peer(&viewer.our_mac()),
            Err(ConfirmationFailed)
        );
    }

    #[test]
    fn wrong_code_fails_confirmation() {
        let (viewer, agent) = run("123456789", "123456780", b"tls", b"tls");
        assert_eq!(
            agent.verify_peer(&viewer.our_mac()),
            Err(ConfirmationFailed)
        );
    }

    #[test]
    fn different_channel_bindings_fail_confirmation() {
        let (viewer, agent) = run("123456789", "123456789", b"tls-to-mitm", b"tls-from-mitm");
        assert_eq!(
            agent.verify_peer(&viewer.our_mac()),
            Err(ConfirmationFailed)
        );
    }

    #[test]
    fn the_code_does_not_appear_in_the_messages() {
        let s = setup();
        let ctx = PakeContext {
            viewer: &s.viewer,
            agent: &s.agent,
            channel_binding: b"x",
        };
        let code = OneTimeCode::parse("123456789").unwrap();
        let start = PakeStart::new(PakeSide::Viewer, &code, &ctx);
        assert!(!start.message().windows(9).any(|w| w == b"123456789"));
    }

    #[test]
    fn malformed_peer_message_is_an_error() {
        let s = setup();
        let ctx = PakeContext {
            viewer: &s.viewer,
            agent: &s.agent,
            channel_binding: b"x",
        };
        let start = PakeStart::new(
            PakeSide::Agent,
            &OneTimeCode::parse("123456789").unwrap(),
            &ctx,
        );
        assert!(start.finish(&[0x41; 5], &ctx).is_err());
    }
}
