//! Printing a log's content: one line per record for people, or the record lines as
//! they are. The caller reads the file and chooses where the output goes.

use std::io::Write;

use super::chain::{self, Body, Entry};
use super::{Actor, AuditAction, AuditRecord, Outcome};
use crate::time::Timestamp;

/// Which session's records to show: a session id, or its first hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFilter(String);

impl SessionFilter {
    /// Reads a session id or the start of one (hex, as [`write_human`] prints it).
    pub fn parse(text: &str) -> Result<Self, ShowError> {
        let prefix = text.trim().to_ascii_lowercase();
        if prefix.is_empty() || prefix.len() > 32 || !prefix.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(ShowError::BadSession(text.to_owned()));
        }
        Ok(Self(prefix))
    }

    fn matches(&self, entry: &Entry) -> bool {
        match &entry.body {
            Body::Record(fields) => fields
                .get("session")
                .and_then(|session| session.as_str())
                .is_some_and(|session| session.starts_with(&self.0)),
            Body::Checkpoint(_) => false,
        }
    }
}

/// The log could not be shown.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ShowError {
    /// The session filter is not hex.
    #[error(
        "{0:?} is not a session id: give the id, or its first hex digits, as `show` prints \
         them"
    )]
    BadSession(String),
    /// Writing the output failed.
    #[error("cannot write the output: {0}")]
    Write(#[from] std::io::Error),
}

/// Writes one line per entry for people: time (UTC), seq, session, actor, action,
/// scope, outcome. Checkpoints are shown unless a session is chosen.
pub fn write_human(
    out: &mut dyn Write,
    log: &[u8],
    session: Option<&SessionFilter>,
) -> Result<(), ShowError> {
    for (number, line) in lines(log) {
        let text = match chain::parse(line) {
            Ok(entry) if session.is_none_or(|filter| filter.matches(&entry)) => {
                entry_text(&entry, line)
            }
            Ok(_) => continue,
            Err(problem) if session.is_none() => format!("line {number}: unreadable: {problem}"),
            Err(_) => continue,
        };
        writeln!(out, "{}", printable(&text))?;
    }
    Ok(())
}

/// Writes the record lines (not checkpoints) exactly as they are in the log: the
/// record's fields plus `seq` and `prev`, one JSON object per line.
pub fn write_json(
    out: &mut dyn Write,
    log: &[u8],
    session: Option<&SessionFilter>,
) -> Result<(), ShowError> {
    for (_, line) in lines(log) {
        let Ok(entry) = chain::parse(line) else {
            continue;
        };
        let chosen = session.is_none_or(|filter| filter.matches(&entry));
        if chosen && matches!(entry.body, Body::Record(_)) {
            out.write_all(line)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

/// Complete lines with their numbers (from 1).
fn lines(log: &[u8]) -> impl Iterator<Item = (u64, &[u8])> {
    log.split(|&byte| byte == b'\n')
        .filter(|line| !line.is_empty())
        .zip(1..)
        .map(|(line, number)| (number, line))
}

fn entry_text(entry: &Entry, line: &[u8]) -> String {
    let seq = entry.seq;
    match &entry.body {
        Body::Checkpoint(checkpoint) => format!(
            "{}  #{seq}  checkpoint: signed by key {}",
            format_utc(checkpoint.time),
            checkpoint.signer.fingerprint()
        ),
        Body::Record(_) => match entry.body.record() {
            Some(record) => record_text(seq, &record),
            None => format!(
                "#{seq}  a record this version cannot read: {}",
                String::from_utf8_lossy(line)
            ),
        },
    }
}

fn record_text(seq: u64, record: &AuditRecord) -> String {
    let session = record
        .session
        .map(|id| id.to_string().chars().take(8).collect::<String>())
        .unwrap_or_else(|| "-".to_owned());
    let scope = record
        .scope
        .map(|scope| scope.to_string())
        .unwrap_or_else(|| "-".to_owned());
    format!(
        "{}  #{seq}  session {session}  {}  {}  scope {scope}  {}",
        format_utc(record.time),
        actor_text(&record.actor),
        action_text(&record.action),
        outcome_text(&record.outcome),
    )
}

fn actor_text(actor: &Actor) -> String {
    match actor {
        Actor::Agent => "agent".to_owned(),
        Actor::EndUser => "end user".to_owned(),
        Actor::Technician { fingerprint } => format!("technician {fingerprint}"),
        Actor::UnauthenticatedPeer => "unauthenticated peer".to_owned(),
    }
}

fn action_text(action: &AuditAction) -> String {
    match action {
        AuditAction::ConnectionAttempt { peer_address } => {
            format!("connection from {peer_address}")
        }
        AuditAction::Authentication => "authentication".to_owned(),
        AuditAction::ConsentAsked { scopes, reason } => {
            format!("consent asked for {scopes}, reason {reason:?}")
        }
        AuditAction::ConsentAnswered { granted } => format!("consent answered: granted {granted}"),
        AuditAction::ScopesGranted { scopes } => format!("permissions granted: {scopes}"),
        AuditAction::ScopesRevoked { scopes } => format!("permissions revoked: {scopes}"),
        AuditAction::Action { message, summary } => format!("{message} ({summary})"),
        AuditAction::Refused { message } => format!("refused {message}"),
        AuditAction::SessionEnded { reason } => format!("session ended: {reason}"),
        AuditAction::SessionResumed { previous, granted } => {
            format!("resumed lost session {previous} without a code, permissions {granted}")
        }
        AuditAction::TechnicianVerified {
            organisation,
            technician,
            unattended,
        } => format!(
            "{} technician {technician:?} of {organisation:?} verified by certificate",
            if *unattended {
                "unattended:"
            } else {
                "attended:"
            }
        ),
        AuditAction::ActionRequested {
            message,
            summary,
            needs_confirmation,
        } => format!(
            "{message} requested: {summary:?}{}",
            if *needs_confirmation {
                ", the end user is asked to confirm"
            } else {
                ""
            }
        ),
        AuditAction::ActionAnswered {
            message,
            summary,
            approved,
        } => format!(
            "{message} {}: {summary:?}",
            if *approved { "allowed once" } else { "refused" }
        ),
        AuditAction::AgentConnection {
            address,
            fingerprint,
        } => match fingerprint {
            Some(fingerprint) => format!("connection to {address}, agent key {fingerprint}"),
            None => format!("connection to {address}"),
        },
        AuditAction::AgentAuthentication {
            unattended,
            organisation,
        } => format!(
            "authentication {}{}",
            if *unattended {
                "for unattended access"
            } else {
                "with the end user's code"
            },
            organisation
                .as_ref()
                .map(|name| format!(", certificate of {name:?}"))
                .unwrap_or_default()
        ),
        AuditAction::CommandSent { id, command_line } => {
            format!("command {id} sent: {command_line:?}")
        }
        AuditAction::CommandFinished {
            id,
            command_line,
            exit_code,
        } => match exit_code {
            Some(code) => format!("command {id} finished with exit code {code}: {command_line:?}"),
            None => format!("command {id} stopped (a signal or the time limit): {command_line:?}"),
        },
        AuditAction::RecordingStarted { file } => format!("recording started: {file}"),
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded => "succeeded".to_owned(),
        Outcome::Refused { reason } => format!("refused: {reason}"),
        Outcome::Failed { reason } => format!("failed: {reason}"),
    }
}

/// Replaces control characters (a technician's text could hold terminal escapes).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// A timestamp as UTC ISO-8601 with milliseconds, e.g. `2023-11-14T22:13:20.123Z`.
pub fn format_utc(time: Timestamp) -> String {
    format!("{:#}", time.utc())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_are_iso_8601_with_milliseconds() {
        assert_eq!(
            format_utc(Timestamp(1_700_000_000_123)),
            "2023-11-14T22:13:20.123Z"
        );
    }

    #[test]
    fn session_filters_are_hex_prefixes() {
        assert!(SessionFilter::parse("AB12").is_ok());
        assert!(matches!(
            SessionFilter::parse("xyz"),
            Err(ShowError::BadSession(_))
        ));
        assert!(SessionFilter::parse("").is_err());
        assert!(SessionFilter::parse(&"a".repeat(33)).is_err());
    }

    #[test]
    fn the_technicians_actions_read_as_sentences() {
        let fingerprint = crate::Fingerprint([0xab; 32]);
        let text = |action| {
            record_text(
                3,
                &AuditRecord {
                    time: Timestamp(0),
                    session: None,
                    actor: Actor::Technician { fingerprint },
                    action,
                    scope: None,
                    outcome: Outcome::Succeeded,
                },
            )
        };
        let connection = text(AuditAction::AgentConnection {
            address: "192.0.2.1:7443".to_owned(),
            fingerprint: Some(fingerprint),
        });
        assert_eq!(
            connection,
            format!(
                "1970-01-01T00:00:00.000Z  #3  session -  technician {fingerprint}  \
                 connection to 192.0.2.1:7443, agent key {fingerprint}  scope -  succeeded"
            )
        );
        let cases = [
            (
                AuditAction::AgentAuthentication {
                    unattended: true,
                    organisation: Some("Example IT".to_owned()),
                },
                "authentication for unattended access, certificate of \"Example IT\"",
            ),
            (
                AuditAction::CommandSent {
                    id: 2,
                    command_line: "ls -l".to_owned(),
                },
                "command 2 sent: \"ls -l\"",
            ),
            (
                AuditAction::CommandFinished {
                    id: 2,
                    command_line: "ls -l".to_owned(),
                    exit_code: Some(1),
                },
                "command 2 finished with exit code 1: \"ls -l\"",
            ),
            (
                AuditAction::ActionAnswered {
                    message: "run-command".to_owned(),
                    summary: "ls -l".to_owned(),
                    approved: false,
                },
                "run-command refused: \"ls -l\"",
            ),
            (
                AuditAction::RecordingStarted {
                    file: "/tmp/a.llrec".to_owned(),
                },
                "recording started: /tmp/a.llrec",
            ),
        ];
        for (action, expected) in cases {
            let line = text(action);
            assert!(line.contains(&format!("  {expected}  scope -")), "{line}");
        }
    }

    #[test]
    fn control_characters_are_not_printed() {
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\u{fffd}[2Jb\u{fffd}");
    }
}
