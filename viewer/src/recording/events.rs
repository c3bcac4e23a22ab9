//! The events of a recording in words, for the player's list and timeline markers:
//! each event gets a kind (which colour, whether it is a marker) and one line of text.
//!
//! Listing reads the whole file once (the events sit between the video frames), keeps
//! at most [`MAX_LISTED_EVENTS`] entries of at most [`MAX_EVENT_TEXT`] characters, and
//! stops at the first damaged chunk, saying so.

use std::io::{Read, Seek};

use lifeline_protocol::audit::{AuditAction, AuditRecord, Outcome};
use lifeline_protocol::recording::{Event, ReadError, Record, RecordingReader, Side};
use lifeline_protocol::{ScopeSet, Timestamp};

use lifeline_protocol::message::{KeyEvent, Modifiers};

use crate::ui::connect_screen::scope_words;
use crate::ui::input_map::lookup_usage;

/// Most events listed; later ones are counted in [`EventList::left_out`].
pub const MAX_LISTED_EVENTS: usize = 20_000;
/// Most characters of an event's text (chat lines and typed text are cut there).
pub const MAX_EVENT_TEXT: usize = 200;

/// What an event is about: its colour on the timeline and in the list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// The end user's answer to the connection request.
    Consent,
    /// Permissions asked for, granted, withdrawn or refused.
    Scopes,
    /// A chat line.
    Chat,
    /// A command run on the end user's computer (asked, confirmed, sent, finished).
    Command,
    /// A clipboard text.
    Clipboard,
    /// Any other audit record.
    Audit,
    /// The recording itself: picture size, paused, resumed, records lost.
    Recording,
    /// The end of the session.
    SessionEnd,
    /// The technician's clicks, scrolls and keys (listed on request, never markers).
    Input,
}

impl EventKind {
    /// Every kind, in the order of the legend.
    pub const ALL: [EventKind; 9] = [
        EventKind::Consent,
        EventKind::Scopes,
        EventKind::Chat,
        EventKind::Command,
        EventKind::Clipboard,
        EventKind::Audit,
        EventKind::Recording,
        EventKind::SessionEnd,
        EventKind::Input,
    ];

    /// The kind in a word or two.
    pub const fn label(self) -> &'static str {
        match self {
            EventKind::Consent => "consent",
            EventKind::Scopes => "permissions",
            EventKind::Chat => "chat",
            EventKind::Command => "command",
            EventKind::Clipboard => "clipboard",
            EventKind::Audit => "audit",
            EventKind::Recording => "recording",
            EventKind::SessionEnd => "session end",
            EventKind::Input => "input",
        }
    }

    /// Whether it is marked on the timeline (input is too frequent to be).
    pub const fn is_marker(self) -> bool {
        !matches!(self, EventKind::Input)
    }
}

/// One event in words.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventEntry {
    /// When.
    pub time: Timestamp,
    /// What about.
    pub kind: EventKind,
    /// One line, at most [`MAX_EVENT_TEXT`] characters.
    pub text: String,
}

/// The events of a recording.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventList {
    /// Events by time (at most [`MAX_LISTED_EVENTS`]).
    pub entries: Vec<EventEntry>,
    /// Events past the limit, not listed.
    pub left_out: u64,
    /// Why listing stopped before the end (a damaged or cut-off chunk).
    pub stopped_by: Option<String>,
}

impl EventList {
    /// The index of the last entry at or before `time`, among those `keep` accepts.
    pub fn last_at_or_before(
        &self,
        time: Timestamp,
        keep: impl Fn(&EventEntry) -> bool,
    ) -> Option<usize> {
        let end = self.entries.partition_point(|entry| entry.time <= time);
        self.entries[..end].iter().rposition(keep)
    }
}

/// Lists the events of the whole recording, from its start.
pub fn list_events<R: Read + Seek>(
    reader: &mut RecordingReader<R>,
) -> Result<EventList, ReadError> {
    reader.rewind();
    let mut list = EventList::default();
    loop {
        let record = match reader.next_record() {
            Ok(Some(record)) => record,
            Ok(None) => break,
            Err(err @ (ReadError::Damaged { .. } | ReadError::Truncated { .. })) => {
                list.stopped_by = Some(err.to_string());
                break;
            }
            Err(err) => return Err(err),
        };
        let Record::Event(event) = &record.record else {
            continue;
        };
        if list.entries.len() >= MAX_LISTED_EVENTS {
            list.left_out += 1;
            continue;
        }
        let (kind, text) = describe(event);
        list.entries.push(EventEntry {
            time: record.time,
            kind,
            text: cut(text),
        });
    }
    Ok(list)
}

fn cut(mut text: String) -> String {
    if let Some((at, _)) = text.char_indices().nth(MAX_EVENT_TEXT) {
        text.truncate(at);
        text.push('…');
    }
    // One line: a chat text's line breaks would break the list.
    if text.contains(['\n', '\r']) {
        text = text.replace(['\n', '\r'], " ");
    }
    text
}

fn side(side: Side) -> &'static str {
    match side {
        Side::Agent => "End user",
        Side::Technician => "Technician",
    }
}

fn scopes(set: ScopeSet) -> String {
    if set.is_empty() {
        return "nothing".to_owned();
    }
    set.iter()
        .map(|scope| scope_words(scope).to_lowercase())
        .collect::<Vec<_>>()
        .join(", ")
}

fn with_reason(text: String, reason: &str) -> String {
    if reason.trim().is_empty() {
        text
    } else {
        format!("{text} ({})", reason.trim())
    }
}

fn contents(bytes: usize, text: Option<&String>) -> String {
    match text {
        Some(text) => format!("\"{text}\""),
        None => format!("{bytes} bytes (the text was not kept)"),
    }
}

/// An event's kind and its line of text.
pub fn describe(event: &Event) -> (EventKind, String) {
    match event {
        Event::ConsentGranted { scopes: granted } => (
            EventKind::Consent,
            format!("The end user allowed: {}", scopes(*granted)),
        ),
        Event::ConsentRefused { reason } => (
            EventKind::Consent,
            with_reason("The end user refused the connection".to_owned(), reason),
        ),
        Event::ScopeRequested {
            scopes: asked,
            reason,
        } => (
            EventKind::Scopes,
            with_reason(
                format!("The technician asked for: {}", scopes(*asked)),
                reason,
            ),
        ),
        Event::ScopesChanged { granted } => (
            EventKind::Scopes,
            format!("Permissions now: {}", scopes(*granted)),
        ),
        Event::ScopeRefused {
            scopes: refused,
            reason,
        } => (
            EventKind::Scopes,
            with_reason(
                format!("The end user refused: {}", scopes(*refused)),
                reason,
            ),
        ),
        Event::Chat { from, bytes, text } => (
            EventKind::Chat,
            format!("{} wrote {}", side(*from), contents(*bytes, text.as_ref())),
        ),
        Event::Clipboard { from, bytes, text } => (
            EventKind::Clipboard,
            format!(
                "{}'s clipboard: {}",
                side(*from),
                contents(*bytes, text.as_ref())
            ),
        ),
        Event::Resolution { width, height } => (
            EventKind::Recording,
            format!("Picture size {width}×{height}"),
        ),
        Event::RecordingPaused { reason } => (
            EventKind::Recording,
            with_reason("Recording paused".to_owned(), reason),
        ),
        Event::RecordingResumed => (EventKind::Recording, "Recording resumed".to_owned()),
        Event::RecordsLost { count } => (
            EventKind::Recording,
            format!("{count} records left out (the recorder could not keep up)"),
        ),
        Event::SessionEnded { by, reason } => (
            EventKind::SessionEnd,
            with_reason(
                format!("Session ended by the {}", side(*by).to_lowercase()),
                reason,
            ),
        ),
        Event::Audit(record) => describe_audit(record),
        Event::PointerButton(button) => (
            EventKind::Input,
            format!(
                "{:?} button {}",
                button.button,
                if button.pressed {
                    "pressed"
                } else {
                    "released"
                }
            ),
        ),
        Event::Wheel(wheel) => (
            EventKind::Input,
            format!("Scrolled {} right, {} down", wheel.dx, wheel.dy),
        ),
        Event::Key(key) => (
            EventKind::Input,
            format!(
                "Key {} {}",
                key_words(key),
                if key.pressed { "pressed" } else { "released" }
            ),
        ),
        Event::TypeText { text } => (EventKind::Input, format!("Typed \"{text}\"")),
        _ => (EventKind::Recording, format!("Event {}", event.name())),
    }
}

/// A key as people name it: `Ctrl+C`, `Enter`, `'a'`, or its HID usage.
fn key_words(key: &KeyEvent) -> String {
    let mut words = String::new();
    for (bit, name) in [
        (Modifiers::CTRL, "Ctrl+"),
        (Modifiers::ALT, "Alt+"),
        (Modifiers::SHIFT, "Shift+"),
        (Modifiers::SUPER, "Super+"),
    ] {
        if key.modifiers.0 & bit.0 != 0 {
            words.push_str(name);
        }
    }
    match (key.text, lookup_usage(key.usb_hid_usage)) {
        (Some(c), _) if !c.is_control() && words.is_empty() => words.push_str(&format!("'{c}'")),
        (_, Some(entry)) => words.push_str(entry.key.name()),
        (Some(c), None) if !c.is_control() => words.push(c),
        _ => words.push_str(&format!("0x{:02x}", key.usb_hid_usage)),
    }
    words
}

fn outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Succeeded => String::new(),
        Outcome::Refused { reason } => format!(": refused ({reason})"),
        Outcome::Failed { reason } => format!(": failed ({reason})"),
        _ => String::new(),
    }
}

fn describe_audit(record: &AuditRecord) -> (EventKind, String) {
    let result = outcome(&record.outcome);
    let (kind, text) = match &record.action {
        AuditAction::CommandSent { command_line, .. } => {
            (EventKind::Command, format!("Command sent: {command_line}"))
        }
        AuditAction::CommandFinished {
            command_line,
            exit_code,
            ..
        } => (
            EventKind::Command,
            match exit_code {
                Some(code) => format!("Command finished with exit code {code}: {command_line}"),
                None => format!("Command stopped: {command_line}"),
            },
        ),
        AuditAction::ActionRequested {
            summary,
            needs_confirmation,
            ..
        } => (
            EventKind::Command,
            format!(
                "Asked to run: {summary}{}",
                if *needs_confirmation {
                    " (the end user confirms)"
                } else {
                    ""
                }
            ),
        ),
        AuditAction::ActionAnswered {
            summary, approved, ..
        } => (
            EventKind::Command,
            format!(
                "The end user {} {summary}",
                if *approved { "allowed" } else { "refused" }
            ),
        ),
        other => (EventKind::Audit, format!("Audit: {}", audit_words(other))),
    };
    (kind, text + &result)
}

fn audit_words(action: &AuditAction) -> String {
    match action {
        AuditAction::ConnectionAttempt { peer_address } => {
            format!("connection from {peer_address}")
        }
        AuditAction::Authentication => "the code was proven".to_owned(),
        AuditAction::ConsentAsked { scopes: asked, .. } => {
            format!("consent asked for {}", scopes(*asked))
        }
        AuditAction::ConsentAnswered { granted } => format!("consent: {}", scopes(*granted)),
        AuditAction::ScopesGranted { scopes: added } => format!("granted {}", scopes(*added)),
        AuditAction::ScopesRevoked { scopes: removed } => {
            format!("withdrawn {}", scopes(*removed))
        }
        AuditAction::Action { message, summary } => format!("{message} {summary}"),
        AuditAction::Refused { message } => format!("refused {message}"),
        AuditAction::TechnicianVerified {
            organisation,
            technician,
            ..
        } => format!("{technician} verified by {organisation}"),
        AuditAction::SessionEnded { reason } => format!("session ended ({reason})"),
        AuditAction::SessionResumed { previous, .. } => format!("resumed session {previous}"),
        AuditAction::AgentConnection { address, .. } => format!("connected to {address}"),
        AuditAction::AgentAuthentication { unattended, .. } => {
            if *unattended {
                "unattended access proven".to_owned()
            } else {
                "the end user's code was proven".to_owned()
            }
        }
        AuditAction::RecordingStarted { file } => format!("recording to {file}"),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeline_protocol::Scope;

    #[test]
    fn events_read_in_plain_words() {
        let (kind, text) = describe(&Event::ConsentGranted {
            scopes: ScopeSet::from([Scope::ViewScreen, Scope::RecordSession]),
        });
        assert_eq!(kind, EventKind::Consent);
        assert_eq!(
            text,
            "The end user allowed: see the screen, record the session"
        );
        let (kind, text) = describe(&Event::Chat {
            from: Side::Agent,
            bytes: 5,
            text: None,
        });
        assert_eq!(kind, EventKind::Chat);
        assert_eq!(text, "End user wrote 5 bytes (the text was not kept)");
        let (kind, text) = describe(&Event::SessionEnded {
            by: Side::Agent,
            reason: "Stop pressed".into(),
        });
        assert_eq!(kind, EventKind::SessionEnd);
        assert_eq!(text, "Session ended by the end user (Stop pressed)");
        assert!(
            !describe(&Event::TypeText { text: "x".into() })
                .0
                .is_marker()
        );
    }

    #[test]
    fn long_texts_are_cut_to_one_line() {
        let text = cut(format!("{}\nsecond line", "é".repeat(300)));
        assert_eq!(text.chars().count(), MAX_EVENT_TEXT + 1);
        assert!(text.ends_with('…'));
        assert_eq!(cut("a\nb".into()), "a b");
    }
}
