//! The agent's side of chat: the end user writes to the technician. (The technician's
//! lines reach the agent as an ordinary [`super::AgentEvent::Deliver`] of
//! [`ControlMessage::Chat`]; chat needs no permission either way.)

use super::{AgentSession, State};
use crate::audit::{Actor, AuditAction, Outcome};
use crate::error::LocalMisuse;
use crate::message::ControlMessage;
use crate::time::Timestamp;

impl AgentSession {
    /// Queues the end user's chat line for the technician; the audit log gets its size,
    /// never its text.
    ///
    /// # Errors
    /// [`LocalMisuse`] when the session is not active or the line is longer than
    /// [`crate::message::MAX_CHAT_LEN`].
    pub fn send_chat(&mut self, text: String, now: Timestamp) -> Result<(), LocalMisuse> {
        if !matches!(self.state, State::Active(_)) {
            return Err(LocalMisuse::WrongPhase {
                action: "send a chat line",
                phase: self.phase().name(),
            });
        }
        let bytes = text.len();
        let message = ControlMessage::Chat(text);
        message.check_limits()?;
        self.audit_as(
            Actor::EndUser,
            now,
            AuditAction::Action {
                message: message.kind().to_owned(),
                summary: format!("{bytes} bytes of text"),
            },
            None,
            Outcome::Succeeded,
        );
        self.transmit.push_back(message);
        Ok(())
    }
}
