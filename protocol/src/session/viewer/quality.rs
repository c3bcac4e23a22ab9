//! The viewer's side of video quality (see [`crate::message::quality`]): reports of
//! what the agent sends are checked and passed on; the technician's preference goes
//! out through [`ViewerSession::send`] as [`ControlMessage::QualityPreference`], which
//! a viewer sends only to an agent that has reported its quality (and so knows the
//! message).

use super::{ViewerEvent, ViewerSession};
use crate::authorize::authorize;
use crate::error::PeerMisbehaved;
use crate::message::{ControlMessage, VideoQuality};
use crate::scope::ScopeSet;

impl ViewerSession {
    /// A [`ControlMessage::VideoQuality`] from the agent, in an active session.
    pub(super) fn on_video_quality(
        &mut self,
        granted: ScopeSet,
        quality: VideoQuality,
    ) -> Result<(), PeerMisbehaved> {
        let message = ControlMessage::VideoQuality(quality);
        if let Err(detail) = quality.validate() {
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
