//! Events: everything in a recording besides video and pointer moves, stored as JSON
//! with stable snake_case names.

use serde::{Deserialize, Serialize};

use crate::audit::AuditRecord;
use crate::message::{KeyEvent, PointerButton, Wheel};
use crate::scope::ScopeSet;

/// Which side of the session did something.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The end user's agent.
    Agent,
    /// The technician's viewer.
    Technician,
}

/// Something that happened in a recorded session.
///
/// Names are stable: recordings outlive software versions. Input events are the
/// technician's; whether keys and texts are kept is the header's [`super::Policy`],
/// applied by the writer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// The video size changed (written before the first frame of each size).
    Resolution {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// A pointer button pressed or released.
    PointerButton(PointerButton),
    /// A scroll.
    Wheel(Wheel),
    /// A key pressed or released (left out when the policy omits keys).
    Key(KeyEvent),
    /// Text typed as by a keyboard (left out when the policy omits keys).
    TypeText {
        /// The text.
        text: String,
    },
    /// A side's clipboard text.
    Clipboard {
        /// Whose clipboard.
        from: Side,
        /// Its size in bytes.
        bytes: usize,
        /// The text, unless the policy leaves contents out.
        text: Option<String>,
    },
    /// A chat line.
    Chat {
        /// Who wrote it.
        from: Side,
        /// Its size in bytes.
        bytes: usize,
        /// The text, unless the policy leaves contents out.
        text: Option<String>,
    },
    /// The end user answered the consent request: these scopes are granted.
    ConsentGranted {
        /// What was granted.
        scopes: ScopeSet,
    },
    /// The end user refused the consent request.
    ConsentRefused {
        /// Why, if they said.
        reason: String,
    },
    /// The technician asked for more scopes.
    ScopeRequested {
        /// What was asked.
        scopes: ScopeSet,
        /// Why.
        reason: String,
    },
    /// The granted scopes changed (granted, revoked or given up); this is the new set.
    ScopesChanged {
        /// What is granted now.
        granted: ScopeSet,
    },
    /// The end user refused a scope request.
    ScopeRefused {
        /// What was refused.
        scopes: ScopeSet,
        /// Why, if they said.
        reason: String,
    },
    /// Recording stopped for a while (e.g. the record scope was withdrawn); nothing
    /// but scope changes is recorded until it resumes.
    RecordingPaused {
        /// Why.
        reason: String,
    },
    /// Recording goes on after a pause.
    RecordingResumed,
    /// An audit record of the session.
    Audit(AuditRecord),
    /// The session ended.
    SessionEnded {
        /// Who ended it.
        by: Side,
        /// Why, in words.
        reason: String,
    },
    /// The recorder could not keep up and left this many records out.
    RecordsLost {
        /// How many.
        count: u64,
    },
}

impl Event {
    /// A short name for lists and markers (`chat`, `scopes_changed`, …).
    pub fn name(&self) -> &'static str {
        match self {
            Event::Resolution { .. } => "resolution",
            Event::PointerButton(_) => "pointer_button",
            Event::Wheel(_) => "wheel",
            Event::Key(_) => "key",
            Event::TypeText { .. } => "type_text",
            Event::Clipboard { .. } => "clipboard",
            Event::Chat { .. } => "chat",
            Event::ConsentGranted { .. } => "consent_granted",
            Event::ConsentRefused { .. } => "consent_refused",
            Event::ScopeRequested { .. } => "scope_requested",
            Event::ScopesChanged { .. } => "scopes_changed",
            Event::ScopeRefused { .. } => "scope_refused",
            Event::RecordingPaused { .. } => "recording_paused",
            Event::RecordingResumed => "recording_resumed",
            Event::Audit(_) => "audit",
            Event::SessionEnded { .. } => "session_ended",
            Event::RecordsLost { .. } => "records_lost",
        }
    }
}
