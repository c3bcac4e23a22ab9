//! The viewer's side of what accompanies the video (see [`crate::message::screen`]):
//! the monitor list and the pointer's image arrive on the control stream, its
//! position in datagrams. All of it is shown only while the view permission is
//! granted; malformed lists and images end the session like any other violation.

use super::{State, ViewerEvent, ViewerSession};
use crate::authorize::authorize;
use crate::error::PeerMisbehaved;
use crate::message::{ControlMessage, Datagram};
use crate::scope::ScopeSet;

impl ViewerSession {
    /// Handles a datagram from the agent.
    ///
    /// Pointer positions are passed on as [`ViewerEvent::Cursor`] (only the newest,
    /// only with the view permission). Datagrams outside an active session are dropped:
    /// they may overtake the consent decision on the control stream.
    ///
    /// # Errors
    /// [`PeerMisbehaved::WrongDirection`] for a datagram only a viewer sends; the
    /// session ends.
    pub fn handle_datagram(&mut self, datagram: Datagram) -> Result<(), PeerMisbehaved> {
        match datagram {
            Datagram::Cursor {
                sequence,
                x,
                y,
                visible,
            } => {
                let State::Active { granted, .. } = self.state else {
                    return Ok(());
                };
                let newer = self
                    .newest_cursor_sequence
                    .is_none_or(|newest| sequence > newest);
                if authorize(&datagram, granted).is_ok() && newer {
                    self.newest_cursor_sequence = Some(sequence);
                    self.events.push_back(ViewerEvent::Cursor { x, y, visible });
                }
                Ok(())
            }
            Datagram::PointerMove { .. } => {
                let violation = PeerMisbehaved::WrongDirection {
                    message: datagram.kind(),
                };
                self.report_violation(&violation);
                Err(violation)
            }
        }
    }

    /// A monitor list or pointer image from the agent, in an active session.
    pub(super) fn on_screen_info(
        &mut self,
        granted: ScopeSet,
        message: ControlMessage,
    ) -> Result<(), PeerMisbehaved> {
        let checked = match &message {
            ControlMessage::MonitorList(list) => list.validate(),
            ControlMessage::CursorImage(image) => image.validate(),
            _ => Ok(()),
        };
        if let Err(detail) = checked {
            return Err(PeerMisbehaved::Malformed {
                what: message.kind(),
                detail,
            });
        }
        // Sent before a revocation crossed it: dropped, not an offence.
        if authorize(&message, granted).is_ok() {
            self.events.push_back(ViewerEvent::Deliver(message));
        }
        Ok(())
    }
}
