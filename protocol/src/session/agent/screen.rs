//! The agent's side of what accompanies the video (see [`crate::message::screen`]):
//! the monitor list, the pointer's image and its position.
//!
//! The agent sends them only while the session is active with the view permission,
//! and only to a viewer that announced the matching capability in its `Hello`; the
//! viewer answers a monitor list with `SelectMonitor`, which reaches the agent as an
//! ordinary [`super::AgentEvent::Deliver`].

use super::{AgentSession, State};
use crate::authorize::authorize;
use crate::error::LocalMisuse;
use crate::message::{Capabilities, ControlMessage, Datagram};

impl AgentSession {
    /// Whether the viewer announced `capability` in its `Hello`.
    pub fn peer_supports(&self, capability: Capabilities) -> bool {
        self.peer_capabilities.contains(capability)
    }

    /// Queues a [`ControlMessage::MonitorList`] or [`ControlMessage::CursorImage`] for
    /// the viewer.
    ///
    /// # Errors
    /// [`LocalMisuse`] for another kind of message, a session that is not active with
    /// the view permission, a viewer that did not announce the feature, or a message
    /// over its limits.
    pub fn send_screen_info(&mut self, message: ControlMessage) -> Result<(), LocalMisuse> {
        let capability = match &message {
            ControlMessage::MonitorList(_) => Capabilities::MULTI_MONITOR,
            ControlMessage::CursorImage(_) => Capabilities::CURSOR,
            _ => {
                return Err(LocalMisuse::WrongPhase {
                    action: "send this message kind through `send_screen_info`",
                    phase: self.phase().name(),
                });
            }
        };
        self.check_screen_info(message.kind(), capability, &message)?;
        message.check_limits()?;
        self.transmit.push_back(message);
        Ok(())
    }

    /// The pointer's position as a datagram to send: (x, y) in pixels of the monitor
    /// shown, numbered so that the viewer keeps the newest.
    ///
    /// # Errors
    /// As [`AgentSession::send_screen_info`].
    pub fn cursor_position(
        &mut self,
        x: i32,
        y: i32,
        visible: bool,
    ) -> Result<Datagram, LocalMisuse> {
        let datagram = Datagram::Cursor {
            sequence: self.next_cursor_sequence,
            x,
            y,
            visible,
        };
        self.check_screen_info(datagram.kind(), Capabilities::CURSOR, &datagram)?;
        self.next_cursor_sequence += 1;
        Ok(datagram)
    }

    fn check_screen_info(
        &self,
        kind: &'static str,
        capability: Capabilities,
        message: &impl crate::authorize::NeedsScope,
    ) -> Result<(), LocalMisuse> {
        let State::Active(active) = &self.state else {
            return Err(LocalMisuse::WrongPhase {
                action: "send what accompanies the video",
                phase: self.phase().name(),
            });
        };
        if authorize(message, active.granted).is_err() {
            return Err(LocalMisuse::WrongPhase {
                action: "send what accompanies the video",
                phase: "active without the view permission",
            });
        }
        if !self.peer_supports(capability) {
            return Err(LocalMisuse::NotSupportedByPeer { message: kind });
        }
        Ok(())
    }
}
