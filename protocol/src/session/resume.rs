//! Resuming a session whose connection was lost, without a new code.
//!
//! When the connection of an active session is lost (an outage longer than the
//! transport's idle timeout), the agent keeps a [`ResumeGrant`] for [`RESUME_WINDOW`].
//! Within it, the same technician may open a new connection, name the lost session and
//! get the permissions the end user had granted back, without the end user reading out
//! a new code or answering the consent prompt again. The banner shows the session again
//! at once, and the end user can stop it as any other.
//!
//! A grant is bound to the technician's key (the TLS handshake proves the viewer holds
//! it), used at most once, and made only for a session that was lost: never for one
//! that either side ended, that broke the protocol, or that was never granted
//! anything. The viewer, for its part, resumes only with the agent key it saw in the
//! lost session (see [`crate::session::Credential::Resume`]).

use std::time::Duration;

use crate::identity::Fingerprint;
use crate::message::{SessionId, TechnicianIdentity};
use crate::scope::ScopeSet;
use crate::time::Timestamp;

/// How long after a lost connection the technician may resume without a new code.
pub const RESUME_WINDOW: Duration = Duration::from_secs(120);

/// What the agent keeps of a lost session so its technician may resume it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResumeGrant {
    /// The session that was lost.
    pub session: SessionId,
    /// The key the technician's viewer proved in it.
    pub viewer: Fingerprint,
    /// Who the technician was, as the agent verified it.
    pub technician: TechnicianIdentity,
    /// What the end user had granted when the connection was lost.
    pub granted: ScopeSet,
    /// When the connection was lost.
    pub lost_at: Timestamp,
}

/// Why a resumption was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ResumeRefusal {
    /// No session of that id can be resumed here (it was never lost, or another session
    /// came since).
    #[error(
        "this device has no lost session to resume: ask the person you are helping for a \
         new code"
    )]
    NoSuchSession,
    /// The session was lost with another technician's key.
    #[error("that session was not yours: ask the person you are helping for a new code")]
    OtherTechnician,
    /// Too late.
    #[error(
        "the session was lost more than {} s ago: ask the person you are helping for a new \
         code",
        RESUME_WINDOW.as_secs()
    )]
    Expired,
}

impl ResumeGrant {
    /// Until when it may be used.
    pub fn expires_at(&self) -> Timestamp {
        self.lost_at.saturating_add(RESUME_WINDOW)
    }

    /// Whether the viewer with key `viewer` may resume `session` at `now`.
    pub fn check(
        &self,
        session: SessionId,
        viewer: &Fingerprint,
        now: Timestamp,
    ) -> Result<(), ResumeRefusal> {
        if session != self.session {
            return Err(ResumeRefusal::NoSuchSession);
        }
        if *viewer != self.viewer {
            return Err(ResumeRefusal::OtherTechnician);
        }
        if now > self.expires_at() || now < self.lost_at {
            return Err(ResumeRefusal::Expired);
        }
        Ok(())
    }
}
