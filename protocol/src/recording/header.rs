//! The header chunk: who recorded what, when, under which policy (JSON).

use serde::{Deserialize, Serialize};

use crate::identity::{Fingerprint, PublicKey};
use crate::message::{SessionId, Verification};
use crate::time::Timestamp;

use super::event::Side;

/// The header's `format` value.
pub const FORMAT_NAME: &str = "lifeline-recording";
/// The format version this crate writes and reads.
pub const FORMAT_VERSION: u32 = 1;
/// Largest header body, in bytes.
pub(crate) const HEADER_LIMIT: usize = 64 * 1024;

/// A recording's random id, printed in hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RecordingId(#[serde(with = "crate::identity::hex_array")] pub [u8; 16]);

impl RecordingId {
    /// A fresh id from the system CSPRNG.
    pub fn random() -> Result<Self, crate::identity::KeyError> {
        let mut bytes = [0u8; 16];
        ring::rand::SecureRandom::fill(&ring::rand::SystemRandom::new(), &mut bytes)
            .map_err(|_| crate::identity::KeyError::Random)?;
        Ok(Self(bytes))
    }
}

impl std::fmt::Display for RecordingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::identity::hex(&self.0))
    }
}

impl std::fmt::Debug for RecordingId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecordingId({self})")
    }
}

/// The first chunk of every recording.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT_NAME`].
    pub format: String,
    /// The format version ([`FORMAT_VERSION`]).
    pub version: u32,
    /// This recording's id.
    pub recording_id: RecordingId,
    /// When recording started.
    pub started: Timestamp,
    /// Who recorded, and the key that signs the seals.
    pub recorder: Recorder,
    /// The end user's agent.
    pub agent: AgentInfo,
    /// The technician.
    pub technician: TechnicianInfo,
    /// The session's id, as the agent chose it.
    pub session_id: Option<SessionId>,
    /// The protocol version the session spoke.
    pub protocol_version: Option<u16>,
    /// What was left out.
    pub policy: Policy,
}

/// The recording side.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recorder {
    /// Which side recorded.
    pub side: Side,
    /// Its Ed25519 public key: the seals' signer. The writer fills it in.
    pub public_key: PublicKey,
    /// Its software, e.g. `lifeline-viewer 0.1.0`.
    pub software: String,
}

/// The agent's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentInfo {
    /// Its key's fingerprint (checked by TLS and the one-time code).
    pub fingerprint: Fingerprint,
    /// Its software version, as it announced it.
    pub software_version: Option<String>,
}

/// The technician's identity.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TechnicianInfo {
    /// The name they gave.
    pub name: String,
    /// Their key's fingerprint.
    pub fingerprint: Fingerprint,
    /// Who vouches for the name.
    pub verification: TechnicianVerification,
}

/// Who vouches for a technician's name.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum TechnicianVerification {
    /// Nobody: the name is what the technician typed.
    Unverified,
    /// An organisation key trusted by the agent signed the technician's key.
    Organisation {
        /// The organisation's name.
        name: String,
    },
}

impl From<&Verification> for TechnicianVerification {
    fn from(verification: &Verification) -> Self {
        match verification {
            Verification::Organisation { organisation } => TechnicianVerification::Organisation {
                name: organisation.clone(),
            },
            _ => TechnicianVerification::Unverified,
        }
    }
}

/// What the recording keeps. The writer applies it to every event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    /// Keep key presses and typed text (off: typed passwords stay out).
    pub keys: bool,
    /// Keep clipboard texts (off: only their sizes).
    pub clipboard_contents: bool,
    /// Keep chat texts (off: only their sizes).
    pub chat_contents: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            keys: true,
            clipboard_contents: true,
            chat_contents: true,
        }
    }
}

impl Header {
    /// Checks the header of a file being read.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, String> {
        let header: Header = serde_json::from_slice(body)
            .map_err(|err| format!("its header is not valid: {err}"))?;
        if header.format != FORMAT_NAME {
            return Err(format!(
                "its header names the format {:?}, not {FORMAT_NAME:?}",
                header.format
            ));
        }
        if header.version != FORMAT_VERSION {
            return Err(format!(
                "it is format version {}, and this software reads version {FORMAT_VERSION}: \
                 use a newer Lifeline",
                header.version
            ));
        }
        Ok(header)
    }
}
