//! The agent's side of resuming a lost session (see [`crate::session::resume`]).

use super::{Active, AgentEvent, AgentSession, State};
use crate::audit::{AuditAction, Outcome};
use crate::error::PeerMisbehaved;
use crate::message::{AuthMessage, AuthRejection, ControlMessage, EndReason, SessionId};
use crate::session::resume::ResumeGrant;
use crate::time::Timestamp;
use crate::version::Role;

impl AgentSession {
    /// Lets this connection resume the lost session `grant` describes (the caller keeps
    /// the grant of the last lost session and offers it to every new connection until
    /// it is used or expires). Checked only if the viewer asks to resume.
    pub fn offer_resume(&mut self, grant: ResumeGrant) {
        self.resumable = Some(grant);
    }

    /// After the connection of an active session was lost: what its technician needs
    /// to resume it. `None` when the session ended any other way.
    pub fn resume_grant(&self) -> Option<ResumeGrant> {
        self.lost.clone()
    }

    /// Remembers what a resumption needs, when an active session loses its connection.
    pub(super) fn keep_for_resumption(&mut self, now: Timestamp) {
        if let (State::Active(active), Some(technician)) = (&self.state, &self.shown_technician) {
            if active.granted.is_empty() {
                return;
            }
            self.lost = Some(ResumeGrant {
                session: self.config.session_id,
                viewer: self.config.peer,
                technician: technician.clone(),
                granted: active.granted,
                lost_at: now,
            });
        }
    }

    /// The viewer asks to resume `session` instead of proving a code.
    pub(super) fn on_resume(
        &mut self,
        session: SessionId,
        now: Timestamp,
    ) -> (State, Result<(), PeerMisbehaved>) {
        let checked = match &self.resumable {
            Some(grant) => grant
                .check(session, &self.config.peer, now)
                .map(|()| grant.clone()),
            None => Err(crate::session::resume::ResumeRefusal::NoSuchSession),
        };
        let grant = match checked {
            Ok(grant) => grant,
            Err(refusal) => {
                self.audit_as(
                    self.technician_actor(),
                    now,
                    AuditAction::SessionResumed {
                        previous: session,
                        granted: crate::scope::ScopeSet::empty(),
                    },
                    None,
                    Outcome::Refused {
                        reason: refusal.to_string(),
                    },
                );
                let rejection = AuthRejection::ResumeRefused {
                    reason: refusal.to_string(),
                };
                self.transmit
                    .push_back(ControlMessage::AuthRejected(rejection.clone()));
                self.finish(Role::Agent, EndReason::AuthenticationFailed(rejection), now);
                return (State::Closed, Ok(()));
            }
        };
        // Used once.
        self.resumable = None;
        self.audit_as(
            self.technician_actor(),
            now,
            AuditAction::SessionResumed {
                previous: grant.session,
                granted: grant.granted,
            },
            None,
            Outcome::Succeeded,
        );
        self.transmit
            .push_back(ControlMessage::Auth(AuthMessage::Resumed));
        self.events.push_back(AgentEvent::Authenticated);
        self.events.push_back(AgentEvent::SessionResumed {
            technician: grant.technician.clone(),
            previous: grant.session,
        });
        let active: Active = self.activate(grant.granted, grant.technician);
        (State::Active(active), Ok(()))
    }
}
