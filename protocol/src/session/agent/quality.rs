//! The agent's side of video quality (see [`crate::message::quality`]): it tells the
//! viewer what it sends; the viewer's preference reaches it as an ordinary
//! [`super::AgentEvent::Deliver`] of [`ControlMessage::QualityPreference`].

use super::{AgentSession, State};
use crate::authorize::authorize;
use crate::error::LocalMisuse;
use crate::message::{Capabilities, ControlMessage, VideoQuality};

impl AgentSession {
    /// Queues a [`ControlMessage::VideoQuality`] for the viewer.
    ///
    /// # Errors
    /// [`LocalMisuse`] when the session is not active with the view permission, or the
    /// viewer did not announce [`Capabilities::ADAPTIVE_QUALITY`].
    pub fn send_video_quality(&mut self, quality: VideoQuality) -> Result<(), LocalMisuse> {
        let message = ControlMessage::VideoQuality(quality);
        let State::Active(active) = &self.state else {
            return Err(LocalMisuse::WrongPhase {
                action: "report the video quality",
                phase: self.phase().name(),
            });
        };
        if authorize(&message, active.granted).is_err() {
            return Err(LocalMisuse::WrongPhase {
                action: "report the video quality",
                phase: "active without the view permission",
            });
        }
        if !self.peer_supports(Capabilities::ADAPTIVE_QUALITY) {
            return Err(LocalMisuse::NotSupportedByPeer {
                message: message.kind(),
            });
        }
        self.transmit.push_back(message);
        Ok(())
    }
}
