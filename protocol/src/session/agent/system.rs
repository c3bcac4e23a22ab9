//! The agent's side of system information and diagnostics (see [`crate::system`]).
//!
//! A request is authorized, limited to [`MAX_INSPECTIONS_IN_FLIGHT`] at once, checked
//! (a diagnostic's argument), audited, and handed to the caller as
//! [`AgentEvent::GatherSystemInfo`] or [`AgentEvent::RunDiagnostic`]; the caller's
//! answer is cut to the protocol's limits, audited and sent. A request that is refused
//! (no permission, too many at once, a bad argument) is answered at once with the
//! reason, so the viewer never waits for an answer that will not come. A permission
//! withdrawn while an answer was being gathered withholds the answer.

use super::{Active, AgentEvent, AgentSession, State};
use crate::action::truncate_to;
use crate::audit::{AuditAction, Outcome};
use crate::authorize::authorize;
use crate::error::LocalMisuse;
use crate::message::{ControlMessage, MAX_REASON_LEN};
use crate::scope::Scope;
use crate::system::{
    DiagnosticReport, MAX_INSPECTIONS_IN_FLIGHT, SystemInfoReply, SystemInfoResult, SystemReport,
};
use crate::time::Timestamp;

impl AgentSession {
    /// A [`ControlMessage::SystemInfoRequest`] or [`ControlMessage::RunDiagnostic`]
    /// from the viewer, in an active session.
    pub(super) fn on_inspection(
        &mut self,
        active: &mut Active,
        message: ControlMessage,
        now: Timestamp,
    ) {
        let kind = message.kind();
        let (id, scope, description) = match &message {
            ControlMessage::SystemInfoRequest(request) => {
                (request.id, Scope::SystemInfo, "system report".to_owned())
            }
            ControlMessage::RunDiagnostic(request) => (
                request.id,
                Scope::Diagnostics,
                request.diagnostic.describe(),
            ),
            _ => return,
        };
        if let Err(denied) = authorize(&message, active.granted) {
            self.refuse_quietly(active, kind, &denied, now);
            self.answer_refused(id, scope, denied.to_string());
            return;
        }
        let duplicate = self.inspections.iter().any(|(known, _)| *known == id);
        if duplicate || self.inspections.len() >= MAX_INSPECTIONS_IN_FLIGHT {
            let reason = if duplicate {
                "a request with this number is still being answered".to_owned()
            } else {
                format!(
                    "at most {MAX_INSPECTIONS_IN_FLIGHT} system information requests and \
                     diagnostics may be answered at once; wait for the earlier ones"
                )
            };
            self.answer_refused(id, scope, reason);
            return;
        }
        if let ControlMessage::RunDiagnostic(request) = &message
            && let Err(bad) = request.diagnostic.validate()
        {
            self.audit(
                now,
                AuditAction::Refused {
                    message: kind.to_owned(),
                },
                Some(scope),
                Outcome::Refused {
                    reason: bad.to_string(),
                },
            );
            self.answer_refused(id, scope, bad.to_string());
            return;
        }
        self.audit(
            now,
            AuditAction::ActionRequested {
                message: kind.to_owned(),
                summary: description,
                needs_confirmation: false,
            },
            Some(scope),
            Outcome::Succeeded,
        );
        self.inspections.push((id, scope));
        match message {
            ControlMessage::SystemInfoRequest(_) => {
                self.events.push_back(AgentEvent::GatherSystemInfo { id });
            }
            ControlMessage::RunDiagnostic(request) => {
                self.events.push_back(AgentEvent::RunDiagnostic(request));
            }
            _ => {}
        }
    }

    fn answer_refused(&mut self, id: u32, scope: Scope, mut reason: String) {
        truncate_to(&mut reason, MAX_REASON_LEN);
        let message = if scope == Scope::SystemInfo {
            ControlMessage::SystemInfo(SystemInfoReply {
                id,
                result: SystemInfoResult::Unavailable { reason },
            })
        } else {
            ControlMessage::DiagnosticResult(DiagnosticReport::unavailable(id, reason))
        };
        self.transmit.push_back(message);
    }

    /// Takes request `id` off the list of those being answered; says whether its
    /// permission is still granted.
    fn finish_inspection(
        &mut self,
        id: u32,
        scope: Scope,
        action: &'static str,
    ) -> Result<bool, LocalMisuse> {
        let wrong_phase = LocalMisuse::WrongPhase {
            action,
            phase: self.phase().name(),
        };
        let State::Active(active) = &self.state else {
            return Err(wrong_phase);
        };
        let still_granted = active.granted.contains(scope);
        let Some(index) = self
            .inspections
            .iter()
            .position(|known| *known == (id, scope))
        else {
            return Err(wrong_phase);
        };
        self.inspections.remove(index);
        Ok(still_granted)
    }

    /// The report asked for by [`AgentEvent::GatherSystemInfo`] is ready, or could not
    /// be gathered (`Err` says why, e.g. not supported on this platform yet). It is cut
    /// to the protocol's limits, audited (that it was sent, not its contents) and sent.
    ///
    /// # Errors
    /// [`LocalMisuse`] when no such request is being answered (the session ended).
    pub fn system_info_ready(
        &mut self,
        id: u32,
        result: Result<SystemReport, String>,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        let still_granted =
            self.finish_inspection(id, Scope::SystemInfo, "send a system report")?;
        let result = match result {
            _ if !still_granted => SystemInfoResult::Unavailable {
                reason: "the permission to read system information was withdrawn".to_owned(),
            },
            Ok(mut report) => {
                report.fit_limits();
                SystemInfoResult::Report(Box::new(report))
            }
            Err(mut reason) => {
                truncate_to(&mut reason, MAX_REASON_LEN);
                SystemInfoResult::Unavailable { reason }
            }
        };
        let outcome = match &result {
            SystemInfoResult::Report(_) => Outcome::Succeeded,
            SystemInfoResult::Unavailable { reason } => Outcome::Failed {
                reason: reason.clone(),
            },
        };
        self.audit(
            now,
            AuditAction::Action {
                message: "system-info".to_owned(),
                summary: "system report sent".to_owned(),
            },
            Some(Scope::SystemInfo),
            outcome,
        );
        self.transmit
            .push_back(ControlMessage::SystemInfo(SystemInfoReply { id, result }));
        Ok(())
    }

    /// The diagnostic started by [`AgentEvent::RunDiagnostic`] has its result. It is
    /// cut to the protocol's limits, audited with its status and sent.
    ///
    /// # Errors
    /// [`LocalMisuse`] when no such diagnostic is running (the session ended).
    pub fn diagnostic_finished(
        &mut self,
        mut report: DiagnosticReport,
        now: Timestamp,
    ) -> Result<(), LocalMisuse> {
        let still_granted =
            self.finish_inspection(report.id, Scope::Diagnostics, "send a diagnostic's result")?;
        if !still_granted {
            report = DiagnosticReport::unavailable(
                report.id,
                "the permission to run diagnostics was withdrawn",
            );
        }
        report.fit_limits();
        self.audit(
            now,
            AuditAction::Action {
                message: "diagnostic-result".to_owned(),
                summary: format!("{}: {}", report.status, report.summary),
            },
            Some(Scope::Diagnostics),
            Outcome::Succeeded,
        );
        self.transmit
            .push_back(ControlMessage::DiagnosticResult(report));
        Ok(())
    }
}
