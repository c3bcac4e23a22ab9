//! System information and diagnostics, both sides in memory: the report and the
//! results reach the technician; requests and answers are audited; the attacks (no
//! permission, bad arguments, floods, invented or oversized answers, a permission
//! withdrawn while the answer is gathered) are refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::*;
use lifeline_protocol::audit::{AuditAction, Outcome};
use lifeline_protocol::message::ControlMessage;
use lifeline_protocol::session::{
    AgentEvent, AgentSession, ConsentAnswer, SendError, ViewerEvent, ViewerSession,
};
use lifeline_protocol::system::{
    Diagnostic, DiagnosticReport, DiagnosticRequest, DiagnosticStatus, DiskInfo,
    MAX_INSPECTIONS_IN_FLIGHT, SystemInfoReply, SystemInfoRequest, SystemInfoResult, SystemReport,
};
use lifeline_protocol::{CodeGuard, PeerMisbehaved, Scope, ScopeSet};

fn inspect() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::SystemInfo, Scope::Diagnostics])
}

/// An active session in which the end user granted `granted` of [`inspect`].
fn active(granted: ScopeSet) -> (Pair, CodeGuard) {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut pair = Pair::new(
        AgentSession::new(agent_config(b"exporter")),
        ViewerSession::new(viewer_config(&code, inspect(), b"exporter")),
        T0,
    );
    pair.run(&mut guard);
    pair.agent
        .answer_consent(ConsentAnswer::Allow(granted), pair.now)
        .unwrap();
    pair.run(&mut guard);
    pair.take_agent_events();
    pair.take_viewer_events();
    (pair, guard)
}

fn audited(events: &[AgentEvent]) -> Vec<(AuditAction, Outcome)> {
    events
        .iter()
        .filter_map(|event| match event {
            AgentEvent::Audit(record) => Some((record.action.clone(), record.outcome.clone())),
            _ => None,
        })
        .collect()
}

fn sample_report() -> SystemReport {
    SystemReport {
        os_name: "Debian GNU/Linux".to_owned(),
        os_version: "13 (trixie)".to_owned(),
        kernel: "Linux 6.12.48".to_owned(),
        host_name: "front-desk".to_owned(),
        uptime_secs: 3600,
        cpu_model: "Example CPU".to_owned(),
        cpu_count: 2,
        memory_total_bytes: 8 << 30,
        memory_available_bytes: 6 << 30,
        disks: vec![DiskInfo {
            mount_point: "/".to_owned(),
            device: "/dev/vda1".to_owned(),
            file_system: "ext4".to_owned(),
            total_bytes: 100 << 30,
            free_bytes: 40 << 30,
        }],
        user: "alice".to_owned(),
        lifeline_version: "0.1.0".to_owned(),
        ..SystemReport::default()
    }
}

#[test]
fn the_report_reaches_the_technician_and_both_steps_are_audited() {
    let (mut pair, mut guard) = active(inspect());
    let id = pair.viewer.request_system_info().unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::GatherSystemInfo { id }));
    assert!(audited(&events).contains(&(
        AuditAction::ActionRequested {
            message: "system-info-request".to_owned(),
            summary: "system report".to_owned(),
            needs_confirmation: false,
        },
        Outcome::Succeeded
    )));

    pair.agent
        .system_info_ready(id, Ok(sample_report()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert_eq!(
        pair.take_viewer_events(),
        vec![ViewerEvent::SystemInfo {
            id,
            result: SystemInfoResult::Report(Box::new(sample_report())),
        }]
    );
    // That a report was sent is audited, not what it said.
    let audit = audited(&pair.take_agent_events());
    assert_eq!(
        audit,
        vec![(
            AuditAction::Action {
                message: "system-info".to_owned(),
                summary: "system report sent".to_owned(),
            },
            Outcome::Succeeded
        )]
    );
    // Answering twice is the caller's mistake.
    assert!(
        pair.agent
            .system_info_ready(id, Ok(sample_report()), pair.now)
            .is_err()
    );
    assert!(pair.agent_errors.is_empty() && pair.viewer_errors.is_empty());
}

#[test]
fn a_platform_without_a_report_says_so() {
    let (mut pair, mut guard) = active(inspect());
    let id = pair.viewer.request_system_info().unwrap();
    pair.run(&mut guard);
    pair.agent
        .system_info_ready(
            id,
            Err("system information is not supported on this platform yet".to_owned()),
            pair.now,
        )
        .unwrap();
    pair.run(&mut guard);
    assert!(pair.take_viewer_events().iter().any(|event| matches!(event,
        ViewerEvent::SystemInfo { result: SystemInfoResult::Unavailable { reason }, .. }
            if reason.contains("not supported on this platform yet"))));
    assert!(
        audited(&pair.take_agent_events())
            .iter()
            .any(|(_, outcome)| matches!(outcome, Outcome::Failed { .. }))
    );
}

#[test]
fn an_oversized_report_is_cut_by_the_agent_and_refused_from_a_peer() {
    let (mut pair, mut guard) = active(inspect());
    let id = pair.viewer.request_system_info().unwrap();
    pair.run(&mut guard);
    let mut huge = sample_report();
    huge.host_name = "h".repeat(100_000);
    huge.disks = vec![DiskInfo::default(); 10_000];
    pair.agent
        .system_info_ready(id, Ok(huge.clone()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_viewer_events();
    let [
        ViewerEvent::SystemInfo {
            result: SystemInfoResult::Report(report),
            ..
        },
    ] = events.as_slice()
    else {
        panic!("{events:?}");
    };
    assert!(report.truncated);
    assert!(report.check_limits().is_ok());

    // An agent that sends the oversized report itself breaks the protocol.
    let id = pair.viewer.request_system_info().unwrap();
    pair.run(&mut guard);
    let result = pair
        .viewer
        .handle_control(ControlMessage::SystemInfo(SystemInfoReply {
            id,
            result: SystemInfoResult::Report(Box::new(huge)),
        }));
    assert!(
        matches!(result, Err(PeerMisbehaved::FieldTooLong(_))),
        "{result:?}"
    );
}

#[test]
fn a_diagnostic_is_audited_with_its_name_and_argument_and_its_result_comes_back() {
    let (mut pair, mut guard) = active(inspect());
    let diagnostic = Diagnostic::parse("tcp", Some("localhost:8080")).unwrap();
    let id = pair.viewer.run_diagnostic(diagnostic.clone()).unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(
        events.contains(&AgentEvent::RunDiagnostic(DiagnosticRequest {
            id,
            diagnostic: diagnostic.clone(),
        }))
    );
    assert!(audited(&events).contains(&(
        AuditAction::ActionRequested {
            message: "run-diagnostic".to_owned(),
            summary: "tcp localhost:8080".to_owned(),
            needs_confirmation: false,
        },
        Outcome::Succeeded
    )));
    let report = DiagnosticReport {
        id,
        status: DiagnosticStatus::Failed,
        summary: "localhost:8080 refused the connection".to_owned(),
        details: vec!["127.0.0.1:8080: connection refused".to_owned()],
    };
    pair.agent
        .diagnostic_finished(report.clone(), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert_eq!(
        pair.take_viewer_events(),
        vec![ViewerEvent::DiagnosticResult(report)]
    );
    assert!(
        audited(&pair.take_agent_events())
            .iter()
            .any(|(action, _)| matches!(action,
        AuditAction::Action { message, summary }
            if message == "diagnostic-result" && summary.starts_with("failed: localhost:8080")))
    );
}

#[test]
fn without_the_permission_nothing_is_gathered_and_the_technician_gets_the_reason() {
    let (mut pair, mut guard) = active(Scope::ViewScreen.into());
    assert!(matches!(
        pair.viewer.request_system_info(),
        Err(SendError::Denied(_))
    ));
    assert!(matches!(
        pair.viewer.run_diagnostic(Diagnostic::DiskSpace),
        Err(SendError::Denied(_))
    ));
    // A viewer that skips its own checks: answered with the reason, audited, and the
    // session goes on.
    for message in [
        ControlMessage::SystemInfoRequest(SystemInfoRequest { id: 5 }),
        ControlMessage::RunDiagnostic(DiagnosticRequest {
            id: 6,
            diagnostic: Diagnostic::Memory,
        }),
    ] {
        pair.agent
            .handle_control(message, &mut guard, pair.now)
            .unwrap();
    }
    let events: Vec<AgentEvent> = std::iter::from_fn(|| pair.agent.poll_event()).collect();
    assert!(!events.iter().any(|event| matches!(
        event,
        AgentEvent::GatherSystemInfo { .. } | AgentEvent::RunDiagnostic(_)
    )));
    let refused: Vec<_> = audited(&events)
        .into_iter()
        .filter_map(|(action, _)| match action {
            AuditAction::Refused { message } => Some(message),
            _ => None,
        })
        .collect();
    assert_eq!(refused, ["system-info-request", "run-diagnostic"]);
    let answers: Vec<ControlMessage> = std::iter::from_fn(|| pair.agent.poll_transmit()).collect();
    assert!(
        matches!(&answers[0], ControlMessage::SystemInfo(SystemInfoReply {
        id: 5, result: SystemInfoResult::Unavailable { reason } }) if reason.contains("\"sysinfo\""))
    );
    assert!(
        matches!(&answers[1], ControlMessage::DiagnosticResult(DiagnosticReport {
        id: 6, status: DiagnosticStatus::Unavailable, summary, .. })
            if summary.contains("\"diagnostics\""))
    );
}

#[test]
fn host_names_are_checked_on_both_sides() {
    let (mut pair, mut guard) = active(inspect());
    let bad = Diagnostic::Dns {
        host: "example.com; rm -rf /".to_owned(),
    };
    assert!(matches!(
        pair.viewer.run_diagnostic(bad.clone()),
        Err(SendError::Diagnostic(_))
    ));
    pair.agent
        .handle_control(
            ControlMessage::RunDiagnostic(DiagnosticRequest {
                id: 3,
                diagnostic: bad,
            }),
            &mut guard,
            pair.now,
        )
        .unwrap();
    let events: Vec<AgentEvent> = std::iter::from_fn(|| pair.agent.poll_event()).collect();
    assert!(
        !events
            .iter()
            .any(|event| matches!(event, AgentEvent::RunDiagnostic(_)))
    );
    assert!(matches!(
        pair.agent.poll_transmit(),
        Some(ControlMessage::DiagnosticResult(DiagnosticReport {
            status: DiagnosticStatus::Unavailable,
            ..
        }))
    ));
    // A host name longer than DNS allows breaks the protocol.
    let result = pair.agent.handle_control(
        ControlMessage::RunDiagnostic(DiagnosticRequest {
            id: 4,
            diagnostic: Diagnostic::Dns {
                host: "a".repeat(10_000),
            },
        }),
        &mut guard,
        pair.now,
    );
    assert!(matches!(result, Err(PeerMisbehaved::FieldTooLong(_))));
}

#[test]
fn a_permission_withdrawn_while_the_answer_is_gathered_withholds_it() {
    let (mut pair, mut guard) = active(inspect());
    let info = pair.viewer.request_system_info().unwrap();
    let check = pair.viewer.run_diagnostic(Diagnostic::Memory).unwrap();
    pair.run(&mut guard);
    pair.take_agent_events();
    pair.agent
        .revoke(
            ScopeSet::from([Scope::SystemInfo, Scope::Diagnostics]),
            pair.now,
        )
        .unwrap();
    pair.agent
        .system_info_ready(info, Ok(sample_report()), pair.now)
        .unwrap();
    pair.agent
        .diagnostic_finished(
            DiagnosticReport {
                id: check,
                status: DiagnosticStatus::Ok,
                summary: "62 % of memory available".to_owned(),
                details: Vec::new(),
            },
            pair.now,
        )
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_viewer_events();
    assert!(events.iter().any(|event| matches!(event,
        ViewerEvent::SystemInfo { result: SystemInfoResult::Unavailable { reason }, .. }
            if reason.contains("withdrawn"))));
    assert!(events.iter().any(|event| matches!(event,
        ViewerEvent::DiagnosticResult(DiagnosticReport { status: DiagnosticStatus::Unavailable, summary, .. })
            if summary.contains("withdrawn"))));
    assert!(pair.viewer_errors.is_empty());
}

#[test]
fn a_report_crossing_the_technicians_give_up_is_not_shown() {
    let (mut pair, mut guard) = active(inspect());
    let id = pair.viewer.request_system_info().unwrap();
    pair.run(&mut guard);
    // The agent answers before it hears that the technician gave the permission up.
    pair.agent
        .system_info_ready(id, Ok(sample_report()), pair.now)
        .unwrap();
    pair.viewer.give_up(Scope::SystemInfo.into()).unwrap();
    pair.run(&mut guard);
    let events = pair.take_viewer_events();
    assert!(!events.iter().any(|event| matches!(
        event,
        ViewerEvent::SystemInfo {
            result: SystemInfoResult::Report(_),
            ..
        }
    )));
    assert!(pair.viewer_errors.is_empty() && pair.agent_errors.is_empty());
}

#[test]
fn a_flood_is_capped_and_invented_or_mismatched_answers_are_thrown_out() {
    let (mut pair, mut guard) = active(inspect());
    for id in 0..u32::try_from(MAX_INSPECTIONS_IN_FLIGHT).unwrap() + 2 {
        pair.agent
            .handle_control(
                ControlMessage::SystemInfoRequest(SystemInfoRequest { id: 100 + id }),
                &mut guard,
                pair.now,
            )
            .unwrap();
    }
    let gathered = std::iter::from_fn(|| pair.agent.poll_event())
        .filter(|event| matches!(event, AgentEvent::GatherSystemInfo { .. }))
        .count();
    assert_eq!(gathered, MAX_INSPECTIONS_IN_FLIGHT);
    let refused = std::iter::from_fn(|| pair.agent.poll_transmit())
        .filter(|message| {
            matches!(message, ControlMessage::SystemInfo(SystemInfoReply {
                result: SystemInfoResult::Unavailable { reason }, .. }) if reason.contains("at most"))
        })
        .count();
    assert_eq!(refused, 2);

    // The viewer also holds back its own flood.
    let (mut pair, _guard) = active(inspect());
    for _ in 0..MAX_INSPECTIONS_IN_FLIGHT {
        pair.viewer.run_diagnostic(Diagnostic::DiskSpace).unwrap();
    }
    assert!(matches!(
        pair.viewer.request_system_info(),
        Err(SendError::Local(_))
    ));

    // An answer nobody asked for, and a diagnostic result for a report request.
    let (mut pair, _guard) = active(inspect());
    let invented = ControlMessage::SystemInfo(SystemInfoReply {
        id: 77,
        result: SystemInfoResult::Report(Box::new(sample_report())),
    });
    assert!(matches!(
        pair.viewer.handle_control(invented),
        Err(PeerMisbehaved::OutOfPhase { .. })
    ));
    let (mut pair2, mut guard2) = active(inspect());
    let id = pair2.viewer.request_system_info().unwrap();
    pair2.run(&mut guard2);
    let mismatched = ControlMessage::DiagnosticResult(DiagnosticReport::unavailable(id, "no"));
    assert!(matches!(
        pair2.viewer.handle_control(mismatched),
        Err(PeerMisbehaved::OutOfPhase { .. })
    ));
    let _ = pair.take_viewer_events();
}

#[test]
fn only_the_viewer_asks_and_only_the_agent_answers() {
    let (mut pair, mut guard) = active(inspect());
    let wrong_way = ControlMessage::DiagnosticResult(DiagnosticReport::unavailable(1, "x"));
    assert!(matches!(
        pair.agent.handle_control(wrong_way, &mut guard, pair.now),
        Err(PeerMisbehaved::WrongDirection { .. })
    ));
    let (mut pair, _) = active(inspect());
    assert!(matches!(
        pair.viewer
            .handle_control(ControlMessage::SystemInfoRequest(SystemInfoRequest {
                id: 1
            })),
        Err(PeerMisbehaved::WrongDirection { .. })
    ));
}
