//! Answers the technician's system information requests and diagnostics, once the
//! protocol state machine authorized them: each on a thread of its own (reading a slow
//! file system or waiting for a resolver must not hold up the session), each result
//! sent back to the session through a channel. At most
//! [`lifeline_protocol::system::MAX_INSPECTIONS_IN_FLIGHT`] run per session, as the
//! state machine allows.

use std::sync::Arc;

use lifeline_protocol::system::{DiagnosticReport, DiagnosticRequest, DisplayInfo, SystemReport};
use tokio::sync::mpsc;

use super::Shared;
use crate::platform::SystemInspector;

pub(crate) mod diagnostics;

/// The answer when no thread can be started.
const NO_THREAD: &str = "the agent could not start a thread for this request; try again";

/// A finished request, for [`lifeline_protocol::session::AgentSession`].
#[derive(Debug)]
pub(crate) enum InspectionResult {
    /// The system report (or why there is none).
    SystemInfo {
        id: u32,
        result: Result<Box<SystemReport>, String>,
    },
    /// A diagnostic's result.
    Diagnostic(DiagnosticReport),
}

/// Starts the gathering threads of one session.
pub(crate) struct InspectionRunner {
    results: mpsc::UnboundedSender<InspectionResult>,
    inspector: Arc<dyn SystemInspector>,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for InspectionRunner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("InspectionRunner").finish_non_exhaustive()
    }
}

impl InspectionRunner {
    /// A runner sending each result to `results`.
    pub(crate) fn new(
        results: mpsc::UnboundedSender<InspectionResult>,
        shared: Arc<Shared>,
    ) -> Self {
        Self {
            results,
            inspector: Arc::from(crate::platform::system_inspector()),
            shared,
        }
    }

    /// Gathers the system report for request `id`.
    pub(crate) fn gather(&self, id: u32) {
        let inspector = Arc::clone(&self.inspector);
        let shared = Arc::clone(&self.shared);
        let failed = InspectionResult::SystemInfo {
            id,
            result: Err(NO_THREAD.to_owned()),
        };
        self.spawn(failed, move || {
            let result = inspector
                .report()
                .map(|mut report| {
                    report.displays = displays(&shared);
                    Box::new(report)
                })
                .map_err(|err| err.to_string());
            InspectionResult::SystemInfo { id, result }
        });
    }

    /// Runs one diagnostic.
    pub(crate) fn diagnose(&self, request: DiagnosticRequest) {
        let inspector = Arc::clone(&self.inspector);
        let failed =
            InspectionResult::Diagnostic(DiagnosticReport::unavailable(request.id, NO_THREAD));
        self.spawn(failed, move || {
            InspectionResult::Diagnostic(diagnostics::run(&request, inspector.as_ref()))
        });
    }

    /// Runs `work` on a thread of its own; without a thread, answers `failed`.
    fn spawn(
        &self,
        failed: InspectionResult,
        work: impl FnOnce() -> InspectionResult + Send + 'static,
    ) {
        let results = self.results.clone();
        let spawned = std::thread::Builder::new()
            .name("lifeline-inspect".to_owned())
            .spawn(move || {
                // The session may be over by now; then nobody wants the answer.
                let _ = results.send(work());
            });
        if let Err(err) = spawned {
            tracing::error!("cannot start a thread for system information: {err}");
            let _ = self.results.send(failed);
        }
    }
}

/// The displays as the pointer watcher sees them (the same list the viewer gets as
/// monitors); empty when the platform cannot tell.
fn displays(shared: &Shared) -> Vec<DisplayInfo> {
    let Some(open) = shared.pointer.as_ref() else {
        return Vec::new();
    };
    match open().and_then(|mut watcher| watcher.monitors()) {
        Ok(monitors) => monitors
            .into_iter()
            .map(|monitor| DisplayInfo {
                name: monitor.name,
                width: monitor.width,
                height: monitor.height,
                primary: monitor.primary,
            })
            .collect(),
        Err(err) => {
            tracing::debug!("the system report has no displays: {err}");
            Vec::new()
        }
    }
}
