//! The audit record: one security-relevant event, with the consent that allowed it;
//! and the audit log's format, without its files.
//!
//! Field and variant names are stable (snake_case in JSON): audit logs outlive
//! software versions. Records never hold secrets: no codes, keys, clipboard contents or
//! typed keys, only their kind and size.
//!
//! The agent and the technician's viewer each keep a log of these records in the same
//! format. What both need and touches no file is here:
//! - [`chain`]: the line format (JSON lines chained by SHA-256, signed checkpoints);
//! - [`verify`]: checking a log's bytes and naming the first bad line;
//! - [`show`]: printing a log for people, or its record lines as JSON;
//! - [`writer`]: [`LogWriter`](writer::LogWriter), which continues a chain and writes
//!   records and checkpoints to a [`LogStore`](writer::LogStore) the caller supplies.
//!
//! What it does not do: open, lock or rename files, start timers or read the clock.
//! The one implementation of that, over real files, is `agent/src/audit_log/` (the
//! viewer compiles the same module; see `ARCHITECTURE.md`).

pub mod chain;
pub mod show;
pub mod verify;
pub mod writer;

use serde::{Deserialize, Serialize};

use crate::identity::Fingerprint;
use crate::message::SessionId;
use crate::scope::{Scope, ScopeSet};
use crate::time::Timestamp;

/// One audited event.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    /// When it happened.
    pub time: Timestamp,
    /// The session it belongs to, if any.
    pub session: Option<SessionId>,
    /// Who did it.
    pub actor: Actor,
    /// What was done.
    pub action: AuditAction,
    /// The scope that allowed it, or that it needed when refused.
    pub scope: Option<Scope>,
    /// How it ended.
    pub outcome: Outcome,
}

/// Who acted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Actor {
    /// The agent software itself.
    Agent,
    /// The end user at the agent's machine.
    EndUser,
    /// The technician, known by key fingerprint.
    Technician {
        /// The technician key's fingerprint.
        fingerprint: Fingerprint,
    },
    /// A peer that has not authenticated.
    UnauthenticatedPeer,
}

/// What was done. Summaries only: never secrets or contents.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AuditAction {
    /// A peer connected.
    ConnectionAttempt {
        /// Its network address.
        peer_address: String,
    },
    /// The one-time-code authentication finished.
    Authentication,
    /// The end user was asked for permissions.
    ConsentAsked {
        /// What was asked.
        scopes: ScopeSet,
        /// The technician's stated reason.
        reason: String,
    },
    /// The end user answered.
    ConsentAnswered {
        /// What was granted (empty when refused).
        granted: ScopeSet,
    },
    /// Permissions were added during a session.
    ScopesGranted {
        /// What was added.
        scopes: ScopeSet,
    },
    /// Permissions were withdrawn.
    ScopesRevoked {
        /// What was withdrawn.
        scopes: ScopeSet,
    },
    /// A message acted upon under a scope. Input is recorded once per session, when
    /// first used, not for every key.
    Action {
        /// The message kind (e.g. `key`, `clipboard-text`).
        message: String,
        /// A content summary without secrets (e.g. a size).
        summary: String,
    },
    /// A message refused (missing scope, or protocol violation).
    Refused {
        /// The message kind.
        message: String,
    },
    /// The technician asked for an action (e.g. a command; `summary` is the command
    /// line).
    ActionRequested {
        /// The message kind.
        message: String,
        /// What exactly would be done.
        summary: String,
        /// Whether the end user is asked to confirm it.
        needs_confirmation: bool,
    },
    /// The end user confirmed or refused one action.
    ActionAnswered {
        /// The message kind.
        message: String,
        /// What exactly.
        summary: String,
        /// Allowed once (true) or refused.
        approved: bool,
    },
    /// A technician certificate was verified against a trusted organisation key.
    TechnicianVerified {
        /// The organisation, as the agent's policy names it.
        organisation: String,
        /// The technician's name from the certificate.
        technician: String,
        /// Whether it opened an unattended session (no code, no end user needed).
        unattended: bool,
    },
    /// The session ended.
    SessionEnded {
        /// Why.
        reason: String,
    },
    /// The technician resumed a session whose connection was lost, without a code
    /// (refused: `granted` is empty and the outcome says why).
    SessionResumed {
        /// The lost session.
        previous: crate::message::SessionId,
        /// The permissions it had, granted again.
        granted: ScopeSet,
    },
    /// The technician's viewer connected to an agent (the viewer's log).
    AgentConnection {
        /// The agent's address, as the technician gave it.
        address: String,
        /// The agent key's fingerprint, once the connection got that far.
        fingerprint: Option<Fingerprint>,
    },
    /// The technician's viewer proved its right to a session (the viewer's log).
    AgentAuthentication {
        /// Unattended access with a certificate (true), or the end user's one-time code.
        unattended: bool,
        /// The organisation named in the technician certificate presented, if any.
        organisation: Option<String>,
    },
    /// The technician sent a command to run on the end user's computer (the viewer's
    /// log).
    CommandSent {
        /// The command's id in this session.
        id: u32,
        /// The command line.
        command_line: String,
    },
    /// A command the technician sent ran to its end (the viewer's log).
    CommandFinished {
        /// The command's id in this session.
        id: u32,
        /// The command line.
        command_line: String,
        /// Its exit code; none when it was stopped (a signal, or the time limit).
        exit_code: Option<i32>,
    },
    /// The technician started recording the session (the viewer's log).
    RecordingStarted {
        /// The recording's file.
        file: String,
    },
}

/// How an audited event ended.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// It happened.
    Succeeded,
    /// It was refused.
    Refused {
        /// Why.
        reason: String,
    },
    /// It was attempted and failed.
    Failed {
        /// Why.
        reason: String,
    },
}

#[cfg(test)]
mod log_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_field_names_are_stable() {
        let record = AuditRecord {
            time: Timestamp(1_700_000_000_123),
            session: Some(SessionId([0xab; 16])),
            actor: Actor::EndUser,
            action: AuditAction::ConsentAnswered {
                granted: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]),
            },
            scope: None,
            outcome: Outcome::Succeeded,
        };
        let json = serde_json::to_value(&record).unwrap();
        assert_eq!(json["time"], 1_700_000_000_123u64);
        assert_eq!(json["actor"], "end_user");
        assert_eq!(json["session"], "ab".repeat(16));
        assert_eq!(
            json["action"]["consent_answered"]["granted"],
            serde_json::json!(["view", "input"])
        );
        assert_eq!(json["outcome"], "succeeded");
        let back: AuditRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, record);
        let binary = postcard::to_allocvec(&record).unwrap();
        assert_eq!(
            postcard::from_bytes::<AuditRecord>(&binary).unwrap(),
            record
        );
    }
}
