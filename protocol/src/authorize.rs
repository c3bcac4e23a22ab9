//! The one place that decides whether a message is allowed by the granted scopes.
//!
//! | message | scope it needs |
//! | --- | --- |
//! | video frame | view |
//! | keyframe request, receiver report | view |
//! | monitor list, select monitor, cursor image, cursor (datagram) | view |
//! | quality preference, video quality | view |
//! | pointer move (datagram), pointer button, wheel, key, type text | input |
//! | clipboard text | clipboard |
//! | recording notice | record |
//! | run command, action pending/refused, command output | commands |
//! | system info request, system info | sysinfo |
//! | run diagnostic, diagnostic result | diagnostics |
//! | file offer, fetch, accepted, received, failed (and file streams) | files |
//! | hello, auth, consent, scope request/grant/refusal/revoke, ping, pong, chat, session end, error | none |
//!
//! Messages that need no scope are still limited to the phases where they make sense;
//! the session state machines ([`crate::session`]) check that before calling
//! [`authorize`]. Chat needs no scope: it is how the two people talk, and the end user
//! sees all of it in the agent's window.

use crate::message::{ControlMessage, Datagram, VideoFrameHeader};
use crate::scope::{Scope, ScopeSet};

/// A message that may need a scope.
pub trait NeedsScope {
    /// The scope it needs, if any.
    fn required_scope(&self) -> Option<Scope>;
    /// Its name, for errors and audit records.
    fn kind(&self) -> &'static str;
}

impl NeedsScope for ControlMessage {
    fn required_scope(&self) -> Option<Scope> {
        match self {
            ControlMessage::KeyframeRequest
            | ControlMessage::ReceiverReport(_)
            | ControlMessage::MonitorList(_)
            | ControlMessage::SelectMonitor(_)
            | ControlMessage::CursorImage(_)
            | ControlMessage::QualityPreference(_)
            | ControlMessage::VideoQuality(_) => Some(Scope::ViewScreen),
            ControlMessage::PointerButton(_)
            | ControlMessage::Wheel(_)
            | ControlMessage::Key(_)
            | ControlMessage::TypeText(_) => Some(Scope::ControlInput),
            ControlMessage::RecordingNotice(_) => Some(Scope::RecordSession),
            ControlMessage::ClipboardText(_) => Some(Scope::Clipboard),
            ControlMessage::RunCommand(_)
            | ControlMessage::ActionPending(_)
            | ControlMessage::ActionRefused(_)
            | ControlMessage::CommandOutput(_) => Some(Scope::RunCommands),
            ControlMessage::SystemInfoRequest(_) | ControlMessage::SystemInfo(_) => {
                Some(Scope::SystemInfo)
            }
            ControlMessage::RunDiagnostic(_) | ControlMessage::DiagnosticResult(_) => {
                Some(Scope::Diagnostics)
            }
            ControlMessage::FileOffer(_)
            | ControlMessage::FileFetch(_)
            | ControlMessage::FileAccepted(_)
            | ControlMessage::FileReceived(_)
            | ControlMessage::FileFailed(_) => Some(Scope::FileTransfer),
            ControlMessage::Hello(_)
            | ControlMessage::Auth(_)
            | ControlMessage::AuthRejected(_)
            | ControlMessage::ConsentRequest(_)
            | ControlMessage::ConsentDecision(_)
            | ControlMessage::ScopeRequest(_)
            | ControlMessage::ScopeGrant(_)
            | ControlMessage::ScopeRefused(_)
            | ControlMessage::ScopeRevoke(_)
            | ControlMessage::Ping(_)
            | ControlMessage::Pong(_)
            | ControlMessage::Chat(_)
            | ControlMessage::SessionEnd(_)
            | ControlMessage::Error(_) => None,
        }
    }

    fn kind(&self) -> &'static str {
        ControlMessage::kind(self)
    }
}

impl NeedsScope for Datagram {
    fn required_scope(&self) -> Option<Scope> {
        match self {
            Datagram::PointerMove { .. } => Some(Scope::ControlInput),
            Datagram::Cursor { .. } => Some(Scope::ViewScreen),
        }
    }

    fn kind(&self) -> &'static str {
        Datagram::kind(self)
    }
}

impl NeedsScope for VideoFrameHeader {
    fn required_scope(&self) -> Option<Scope> {
        Some(Scope::ViewScreen)
    }

    fn kind(&self) -> &'static str {
        "video-frame"
    }
}

/// A message was refused because its scope is not granted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message} needs the \"{required}\" permission, which is not granted")]
pub struct Denied {
    /// The message kind.
    pub message: &'static str,
    /// The scope it needs.
    pub required: Scope,
}

/// Decides whether `message` is allowed by `granted`.
pub fn authorize(message: &impl NeedsScope, granted: ScopeSet) -> Result<(), Denied> {
    match message.required_scope() {
        Some(required) if !granted.contains(required) => Err(Denied {
            message: message.kind(),
            required,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{MouseButton, PointerButton};

    #[test]
    fn input_needs_the_input_scope() {
        let click = ControlMessage::PointerButton(PointerButton {
            button: MouseButton::Left,
            pressed: true,
        });
        assert_eq!(
            authorize(&click, Scope::ViewScreen.into()),
            Err(Denied {
                message: "pointer-button",
                required: Scope::ControlInput
            })
        );
        assert_eq!(
            authorize(&click, ScopeSet::from([Scope::ControlInput])),
            Ok(())
        );
        let moved = Datagram::PointerMove {
            sequence: 1,
            x: 1,
            y: 1,
        };
        assert!(authorize(&moved, Scope::ViewScreen.into()).is_err());
        assert_eq!(
            authorize(
                &ControlMessage::ClipboardText("x".into()),
                ScopeSet::all().difference(Scope::Clipboard.into())
            )
            .unwrap_err()
            .to_string(),
            "clipboard-text needs the \"clipboard\" permission, which is not granted"
        );
    }

    #[test]
    fn chat_and_pings_need_no_scope() {
        assert_eq!(
            authorize(&ControlMessage::Chat("hi".into()), ScopeSet::empty()),
            Ok(())
        );
        assert_eq!(
            authorize(&ControlMessage::Ping(1), ScopeSet::empty()),
            Ok(())
        );
    }
}
