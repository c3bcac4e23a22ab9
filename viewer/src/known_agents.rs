//! Trust on first use of each agent's key.
//!
//! The first time an address authenticates with the right code, the viewer remembers
//! the agent key's fingerprint for that address in `known_agents.json` in its data
//! directory. Later connections to the same address must present the same key; a
//! different key is refused with an explanation, since it can mean someone is
//! intercepting the connection.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use lifeline_protocol::Fingerprint;

/// File name inside the viewer's data directory.
pub const KNOWN_AGENTS_FILE: &str = "known_agents.json";

/// What the viewer knows about an address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trust {
    /// Never seen: remember the key once the code is proven.
    FirstUse,
    /// Seen with this same key.
    Known,
    /// Seen with another key.
    Changed {
        /// The key remembered.
        expected: String,
    },
}

/// The agent at an address presented another key than before.
#[derive(Debug, thiserror::Error)]
#[error(
    "the device at {address} presented a different key than last time \
     (was {expected}, now {presented}). Someone may be intercepting the connection, or the \
     agent was reinstalled. If you are sure it is the right device, remove the entry for \
     {address} from {file} and connect again"
)]
pub struct KeyChanged {
    /// The address.
    pub address: String,
    /// The fingerprint remembered.
    pub expected: String,
    /// The fingerprint presented now.
    pub presented: String,
    /// The file to edit.
    pub file: String,
}

/// The remembered keys, by address.
#[derive(Debug)]
pub struct KnownAgents {
    path: PathBuf,
    agents: BTreeMap<String, String>,
}

impl KnownAgents {
    /// Loads the file in `dir` (an absent file is an empty list; a damaged one is an error).
    pub fn load(dir: &Path) -> std::io::Result<Self> {
        let path = dir.join(KNOWN_AGENTS_FILE);
        let agents = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|err| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("{} is damaged ({err}); fix or remove it", path.display()),
                )
            })?,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(err) => return Err(err),
        };
        Ok(Self { path, agents })
    }

    /// What is known of `address` presenting `fingerprint`.
    pub fn check(&self, address: &str, fingerprint: &Fingerprint) -> Trust {
        match self.agents.get(address) {
            None => Trust::FirstUse,
            Some(known) if *known == fingerprint.to_hex() => Trust::Known,
            Some(known) => Trust::Changed {
                expected: known.clone(),
            },
        }
    }

    /// Refuses a changed key with an explanation for the technician.
    pub fn verify(&self, address: &str, fingerprint: &Fingerprint) -> Result<Trust, KeyChanged> {
        match self.check(address, fingerprint) {
            Trust::Changed { expected } => Err(KeyChanged {
                address: address.to_owned(),
                expected,
                presented: fingerprint.to_hex(),
                file: self.path.display().to_string(),
            }),
            trust => Ok(trust),
        }
    }

    /// Remembers `fingerprint` for `address` and saves the file.
    pub fn remember(&mut self, address: &str, fingerprint: &Fingerprint) -> std::io::Result<()> {
        self.agents.insert(address.to_owned(), fingerprint.to_hex());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let json = serde_json::to_vec_pretty(&self.agents).map_err(std::io::Error::other)?;
        let temporary = self.path.with_extension("tmp");
        std::fs::write(&temporary, json)?;
        std::fs::rename(&temporary, &self.path)
    }
}

/// Reads a full fingerprint in hex (64 digits; dashes and spaces ignored).
pub fn parse_fingerprint(text: &str) -> anyhow::Result<Fingerprint> {
    let digits: String = text
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | ':'))
        .collect();
    let bytes = (0..digits.len())
        .step_by(2)
        .map(|i| {
            digits
                .get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>();
    match bytes.and_then(|bytes| <[u8; 32]>::try_from(bytes).ok()) {
        Some(bytes) => Ok(Fingerprint(bytes)),
        None => anyhow::bail!(
            "--agent-fingerprint must be the full fingerprint: 64 hex digits, as the agent \
             logs it at start (\"listening on … as …\" shows the short form)"
        ),
    }
}

#[cfg(test)]
mod tests {
    use lifeline_protocol::PublicKey;

    use super::*;

    #[test]
    fn a_changed_key_is_refused_with_an_explanation() {
        let dir = tempfile::tempdir().unwrap();
        let first = PublicKey([1; 32]).fingerprint();
        let other = PublicKey([2; 32]).fingerprint();
        let mut known = KnownAgents::load(dir.path()).unwrap();
        assert_eq!(
            known.verify("10.0.0.5:7443", &first).unwrap(),
            Trust::FirstUse
        );
        known.remember("10.0.0.5:7443", &first).unwrap();
        let known = KnownAgents::load(dir.path()).unwrap();
        assert_eq!(known.verify("10.0.0.5:7443", &first).unwrap(), Trust::Known);
        let err = known.verify("10.0.0.5:7443", &other).unwrap_err();
        assert!(
            err.to_string()
                .contains("presented a different key than last time"),
            "{err}"
        );
        assert_eq!(
            known.verify("10.0.0.6:7443", &other).unwrap(),
            Trust::FirstUse
        );
    }
}
