//! Printing a log: one line per record for people, or the record lines as they are.

use std::io::Write;

use lifeline_protocol::Timestamp;
use lifeline_protocol::audit::{Actor, AuditAction, AuditRecord, Outcome};

use super::entry::{self, Body, Entry};

/// Which session's records to show: a session id, or its first hex digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionFilter(String);

impl SessionFilter {
    /// Reads a session id or the start of one (hex, as `audit show` prints it).
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
        "{0:?} is not a session id: give the id, or its first hex digits, as `audit show` \
         prints them"
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
        let text = match entry::parse(line) {
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
        let Ok(entry) = entry::parse(line) else {
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
        other => json_text(other),
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
        other => json_text(other),
    }
}

fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded => "succeeded".to_owned(),
        Outcome::Refused { reason } => format!("refused: {reason}"),
        Outcome::Failed { reason } => format!("failed: {reason}"),
        other => json_text(other),
    }
}

fn json_text(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "?".to_owned())
}

/// Replaces control characters (a technician's text could hold terminal escapes).
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect()
}

/// A timestamp as UTC ISO-8601 with milliseconds, e.g. `2023-11-14T22:13:20.123Z`.
pub fn format_utc(time: Timestamp) -> String {
    let millis = time.as_unix_millis();
    let seconds = millis / 1000;
    let (days, second_of_day) = (seconds / 86_400, seconds % 86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        second_of_day / 3600,
        second_of_day % 3600 / 60,
        second_of_day % 60,
        millis % 1000
    )
}

/// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's algorithm,
/// for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_times_match_known_dates() {
        assert_eq!(format_utc(Timestamp(0)), "1970-01-01T00:00:00.000Z");
        assert_eq!(
            format_utc(Timestamp(1_700_000_000_123)),
            "2023-11-14T22:13:20.123Z"
        );
        // A leap day, and the day after it.
        assert_eq!(
            format_utc(Timestamp(951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            format_utc(Timestamp(951_868_799_999)),
            "2000-02-29T23:59:59.999Z"
        );
        assert_eq!(
            format_utc(Timestamp(4_107_542_400_000)),
            "2100-03-01T00:00:00.000Z"
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
    fn control_characters_are_not_printed() {
        assert_eq!(printable("a\u{1b}[2Jb\n"), "a\u{fffd}[2Jb\u{fffd}");
    }
}
