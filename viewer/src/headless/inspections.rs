//! What the headless viewer keeps of the system reports and diagnostics its input
//! script asked for (`sysinfo`, `diagnose`), for the statistics file, and whether every
//! one has been answered (the run waits for that, as for commands).

use lifeline_protocol::system::{
    DiagnosticReport, MAX_INSPECTIONS_IN_FLIGHT, SystemInfoResult, SystemReport,
};
use serde::Serialize;

use crate::link::{Command, InspectionUpdate};
use crate::script::Step;

/// `pending`: the session ended before the answer came.
const PENDING: &str = "pending";

/// A system report the script asked for, and what came back.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct SystemInfoRecord {
    /// `report`, `unavailable`, or `pending` when the session ended first.
    pub outcome: String,
    /// The report.
    pub report: Option<SystemReport>,
    /// Why there is none.
    pub reason: Option<String>,
}

/// A diagnostic the script ran, and its result.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct DiagnosticRecord {
    /// The diagnostic's menu name, e.g. `dns`.
    pub name: String,
    /// Its argument, e.g. `localhost`.
    pub argument: Option<String>,
    /// `ok`, `warning`, `failed`, `unavailable`, or `pending` when the session ended
    /// first.
    pub status: String,
    /// The result in one line.
    pub summary: String,
    /// More lines.
    pub details: Vec<String>,
}

/// Follows the script's requests to their answers.
#[derive(Debug, Default)]
pub(crate) struct Inspections {
    /// Requests the script sent to the session.
    pub(crate) sent: usize,
    reports: Vec<(u32, SystemInfoRecord)>,
    diagnostics: Vec<(u32, DiagnosticRecord)>,
}

impl Inspections {
    /// Follows one update from the session.
    pub(crate) fn apply(&mut self, update: InspectionUpdate) {
        match update {
            InspectionUpdate::SystemInfoSent { id } => {
                tracing::info!("system report {id} asked for");
                self.reports.push((
                    id,
                    SystemInfoRecord {
                        outcome: PENDING.to_owned(),
                        ..SystemInfoRecord::default()
                    },
                ));
            }
            InspectionUpdate::SystemInfo { id, result } => {
                let Some((_, record)) = self.reports.iter_mut().find(|(known, _)| *known == id)
                else {
                    return;
                };
                match result {
                    SystemInfoResult::Report(report) => {
                        tracing::info!("system report {id} arrived");
                        record.outcome = "report".to_owned();
                        record.report = Some(*report);
                    }
                    SystemInfoResult::Unavailable { reason } => {
                        tracing::warn!("no system report: {reason}");
                        record.outcome = "unavailable".to_owned();
                        record.reason = Some(reason);
                    }
                }
            }
            InspectionUpdate::DiagnosticSent { id, diagnostic } => {
                tracing::info!("diagnostic {id} sent: {}", diagnostic.describe());
                self.diagnostics.push((
                    id,
                    DiagnosticRecord {
                        name: diagnostic.name().to_owned(),
                        argument: diagnostic.argument(),
                        status: PENDING.to_owned(),
                        ..DiagnosticRecord::default()
                    },
                ));
            }
            InspectionUpdate::DiagnosticResult(DiagnosticReport {
                id,
                status,
                summary,
                details,
            }) => {
                let Some((_, record)) = self.diagnostics.iter_mut().find(|(known, _)| *known == id)
                else {
                    return;
                };
                tracing::info!("diagnostic {id}: {status}: {summary}");
                record.status = status.name().to_owned();
                record.summary = summary;
                record.details = details;
            }
        }
    }

    /// Requests sent and not answered yet.
    fn waiting(&self) -> usize {
        let answered = self
            .reports
            .iter()
            .filter(|(_, r)| r.outcome != PENDING)
            .count()
            + self
                .diagnostics
                .iter()
                .filter(|(_, d)| d.status != PENDING)
                .count();
        self.sent.saturating_sub(answered)
    }

    /// Whether the script must wait before step `next`: it asks for a report or a
    /// diagnostic while as many wait for answers as the agent takes at once.
    pub(crate) fn must_wait_before(&self, next: Option<&Step>) -> bool {
        let asks = matches!(next, Some(Step::Send(commands)) if commands.iter().any(|command| {
            matches!(command, Command::RequestSystemInfo | Command::RunDiagnostic(_))
        }));
        asks && self.waiting() >= MAX_INSPECTIONS_IN_FLIGHT
    }

    /// Whether every request the script sent has its answer.
    pub(crate) fn done(&self) -> bool {
        self.reports.len() + self.diagnostics.len() >= self.sent
            && self.reports.iter().all(|(_, r)| r.outcome != PENDING)
            && self.diagnostics.iter().all(|(_, d)| d.status != PENDING)
    }

    /// The records, in the order the script asked.
    pub(crate) fn into_records(self) -> (Vec<SystemInfoRecord>, Vec<DiagnosticRecord>) {
        (
            self.reports.into_iter().map(|(_, r)| r).collect(),
            self.diagnostics.into_iter().map(|(_, d)| d).collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lifeline_protocol::system::{Diagnostic, DiagnosticStatus};

    #[test]
    fn requests_are_followed_to_their_answers() {
        let mut inspections = Inspections {
            sent: 2,
            ..Inspections::default()
        };
        assert!(!inspections.done());
        let ask = Step::Send(vec![Command::RequestSystemInfo]);
        assert!(!inspections.must_wait_before(Some(&ask)));
        inspections.sent = MAX_INSPECTIONS_IN_FLIGHT;
        assert!(inspections.must_wait_before(Some(&ask)));
        assert!(!inspections.must_wait_before(Some(&Step::Wait(Default::default()))));
        inspections.sent = 2;
        inspections.apply(InspectionUpdate::SystemInfoSent { id: 1 });
        inspections.apply(InspectionUpdate::DiagnosticSent {
            id: 2,
            diagnostic: Diagnostic::Memory,
        });
        assert!(!inspections.done());
        inspections.apply(InspectionUpdate::SystemInfo {
            id: 1,
            result: SystemInfoResult::Unavailable {
                reason: "not supported on this platform yet".to_owned(),
            },
        });
        inspections.apply(InspectionUpdate::DiagnosticResult(DiagnosticReport {
            id: 2,
            status: DiagnosticStatus::Warning,
            summary: "8 % of memory available".to_owned(),
            details: vec![],
        }));
        // An answer to something never asked changes nothing.
        inspections.apply(InspectionUpdate::DiagnosticResult(
            DiagnosticReport::unavailable(9, "?"),
        ));
        assert!(inspections.done());
        let (reports, diagnostics) = inspections.into_records();
        assert_eq!(reports[0].outcome, "unavailable");
        assert_eq!(diagnostics.len(), 1);
        assert_eq!(diagnostics[0].status, "warning");
        assert_eq!(diagnostics[0].name, "memory");
    }
}
