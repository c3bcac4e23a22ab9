//! The viewer's side of system information and diagnostics (see [`crate::system`]).
//!
//! The viewer asks, numbering each request from the same counter as commands; it
//! accepts only answers to requests it sent, of the matching kind, once each: any
//! other answer is peer misbehaviour. A report arriving after the permission was withdrawn
//! (by either side) is not passed on; the request ends as unavailable.

use super::{SendError, State, ViewerEvent, ViewerSession};
use crate::authorize::authorize;
use crate::error::{LocalMisuse, PeerMisbehaved};
use crate::message::ControlMessage;
use crate::scope::{Scope, ScopeSet};
use crate::system::{
    Diagnostic, DiagnosticReport, DiagnosticRequest, MAX_INSPECTIONS_IN_FLIGHT, SystemInfoRequest,
    SystemInfoResult,
};

impl ViewerSession {
    /// Asks the agent for its system report; returns the request's id. Needs the
    /// `sysinfo` permission.
    ///
    /// # Errors
    /// [`SendError::Denied`] without the permission; [`SendError::Local`] when the
    /// session is not active or [`MAX_INSPECTIONS_IN_FLIGHT`] requests wait already.
    pub fn request_system_info(&mut self) -> Result<u32, SendError> {
        let id = self.next_action_id;
        self.send_inspection(
            ControlMessage::SystemInfoRequest(SystemInfoRequest { id }),
            id,
            Scope::SystemInfo,
        )
    }

    /// Asks the agent to run one diagnostic of the menu; returns the request's id.
    /// Needs the `diagnostics` permission.
    ///
    /// # Errors
    /// As [`ViewerSession::request_system_info`], and [`SendError::Diagnostic`] for a
    /// bad argument (checked here before anything is sent).
    pub fn run_diagnostic(&mut self, diagnostic: Diagnostic) -> Result<u32, SendError> {
        diagnostic.validate()?;
        let id = self.next_action_id;
        self.send_inspection(
            ControlMessage::RunDiagnostic(DiagnosticRequest { id, diagnostic }),
            id,
            Scope::Diagnostics,
        )
    }

    fn send_inspection(
        &mut self,
        message: ControlMessage,
        id: u32,
        scope: Scope,
    ) -> Result<u32, SendError> {
        let State::Active { granted, .. } = self.state else {
            return Err(SendError::Local(LocalMisuse::WrongPhase {
                action: "ask for system information or a diagnostic",
                phase: self.phase().name(),
            }));
        };
        authorize(&message, granted)?;
        if self.inspections_in_flight.len() >= MAX_INSPECTIONS_IN_FLIGHT {
            return Err(SendError::Local(LocalMisuse::WrongPhase {
                action: "ask for system information or a diagnostic",
                phase: "waiting for the answers to earlier requests",
            }));
        }
        message.check_limits().map_err(LocalMisuse::from)?;
        self.next_action_id = self.next_action_id.wrapping_add(1).max(1);
        self.inspections_in_flight.push((id, scope));
        self.transmit.push_back(message);
        Ok(id)
    }

    /// A [`ControlMessage::SystemInfo`] or [`ControlMessage::DiagnosticResult`] from
    /// the agent, in an active session with `granted` permissions.
    pub(super) fn on_inspection_reply(
        &mut self,
        granted: ScopeSet,
        message: ControlMessage,
    ) -> Result<(), PeerMisbehaved> {
        let (id, scope) = match &message {
            ControlMessage::SystemInfo(reply) => (reply.id, Scope::SystemInfo),
            ControlMessage::DiagnosticResult(report) => (report.id, Scope::Diagnostics),
            _ => return Ok(()),
        };
        let Some(index) = self
            .inspections_in_flight
            .iter()
            .position(|known| *known == (id, scope))
        else {
            return Err(PeerMisbehaved::OutOfPhase {
                message: message.kind(),
                phase: "no request with this number was sent",
            });
        };
        self.inspections_in_flight.remove(index);
        let withdrawn = !granted.contains(scope);
        let event = match message {
            ControlMessage::SystemInfo(_) if withdrawn => ViewerEvent::SystemInfo {
                id,
                result: SystemInfoResult::Unavailable {
                    reason: "the permission to read system information was withdrawn \
                             before the report arrived"
                        .to_owned(),
                },
            },
            ControlMessage::SystemInfo(reply) => ViewerEvent::SystemInfo {
                id,
                result: reply.result,
            },
            ControlMessage::DiagnosticResult(_) if withdrawn => {
                ViewerEvent::DiagnosticResult(DiagnosticReport::unavailable(
                    id,
                    "the permission to run diagnostics was withdrawn before the result arrived",
                ))
            }
            ControlMessage::DiagnosticResult(report) => ViewerEvent::DiagnosticResult(report),
            _ => return Ok(()),
        };
        self.events.push_back(event);
        Ok(())
    }
}
