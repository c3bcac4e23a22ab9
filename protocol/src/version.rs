//! Protocol versions: what each side speaks, and the one both use.
//!
//! Each side announces every version it speaks in its `Hello`. The highest version both
//! speak is used; when there is none, both sides can explain the problem to a person
//! with [`VersionMismatch`]'s message. `Hello` is the first variant of the control
//! message enum and its fields never change, so any two versions can read each other's.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A protocol version number. Not the software version: several releases may speak
/// the same protocol.
pub type ProtocolVersion = u16;

/// The versions this build speaks, oldest first.
pub const SUPPORTED_VERSIONS: &[ProtocolVersion] = &[1];

/// The most versions a peer may list in its `Hello`; more is peer misbehaviour.
pub const MAX_ANNOUNCED_VERSIONS: usize = 32;

/// Which end of a session a peer is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Role {
    /// The end user's side, whose screen is shared.
    Agent,
    /// The technician's side.
    Viewer,
}

impl Role {
    /// How a person would name this side.
    pub const fn noun(self) -> &'static str {
        match self {
            Role::Agent => "the end user's agent",
            Role::Viewer => "the technician's viewer",
        }
    }

    /// The other side.
    pub const fn peer(self) -> Role {
        match self {
            Role::Agent => Role::Viewer,
            Role::Viewer => Role::Agent,
        }
    }
}

/// What one side announced: its role, software version and protocol versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Announced {
    /// Which side it is.
    pub role: Role,
    /// Its software version, e.g. `0.1.0`.
    pub software_version: String,
    /// The protocol versions it speaks.
    pub versions: Vec<ProtocolVersion>,
}

/// The two sides share no protocol version.
///
/// Its message names both sides, their versions and which one to update, so that both
/// the agent and the viewer can show it to a person as it is.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct VersionMismatch {
    /// This side.
    pub local: Announced,
    /// The peer.
    pub peer: Announced,
}

impl VersionMismatch {
    /// The side whose newest version is older than what the other needs: update it.
    pub fn side_to_update(&self) -> Role {
        let newest = |a: &Announced| a.versions.iter().copied().max().unwrap_or(0);
        if newest(&self.peer) < newest(&self.local) {
            self.peer.role
        } else {
            self.local.role
        }
    }
}

impl fmt::Display for VersionMismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (older, newer) = if self.side_to_update() == self.peer.role {
            (&self.peer, &self.local)
        } else {
            (&self.local, &self.peer)
        };
        write!(
            f,
            "{} is Lifeline {} (protocol {}), but {} is Lifeline {} and needs protocol {}: \
             update {} to a recent version",
            older.role.noun(),
            older.software_version,
            describe_versions(&older.versions),
            newer.role.noun(),
            newer.software_version,
            describe_versions(&newer.versions),
            older.role.noun(),
        )
    }
}

fn describe_versions(versions: &[ProtocolVersion]) -> String {
    match (versions.iter().min(), versions.iter().max()) {
        (Some(lo), Some(hi)) if lo == hi => lo.to_string(),
        (Some(lo), Some(hi)) => format!("{lo} to {hi}"),
        _ => "none".to_owned(),
    }
}

/// Picks the highest version both sides speak.
pub fn negotiate(local: &Announced, peer: &Announced) -> Result<ProtocolVersion, VersionMismatch> {
    local
        .versions
        .iter()
        .copied()
        .filter(|version| peer.versions.contains(version))
        .max()
        .ok_or_else(|| VersionMismatch {
            local: local.clone(),
            peer: peer.clone(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn announced(role: Role, software: &str, versions: &[u16]) -> Announced {
        Announced {
            role,
            software_version: software.to_owned(),
            versions: versions.to_vec(),
        }
    }

    #[test]
    fn highest_common_version_wins() {
        let agent = announced(Role::Agent, "0.1.0", &[1, 2, 3]);
        let viewer = announced(Role::Viewer, "0.2.0", &[2, 3, 4]);
        assert_eq!(negotiate(&agent, &viewer), Ok(3));
        assert_eq!(negotiate(&viewer, &agent), Ok(3));
    }

    #[test]
    fn mismatch_names_the_side_to_update_on_both_sides() {
        let agent = announced(Role::Agent, "0.9.0", &[4, 5]);
        let viewer = announced(Role::Viewer, "0.1.0", &[1]);
        let seen_by_agent = negotiate(&agent, &viewer).unwrap_err();
        let seen_by_viewer = negotiate(&viewer, &agent).unwrap_err();
        assert_eq!(seen_by_agent.side_to_update(), Role::Viewer);
        assert_eq!(seen_by_viewer.side_to_update(), Role::Viewer);
        let expected = "the technician's viewer is Lifeline 0.1.0 (protocol 1), but the end \
                        user's agent is Lifeline 0.9.0 and needs protocol 4 to 5: update the \
                        technician's viewer to a recent version";
        assert_eq!(seen_by_agent.to_string(), expected);
        assert_eq!(seen_by_viewer.to_string(), expected);
    }
}
