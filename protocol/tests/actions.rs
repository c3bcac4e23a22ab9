//! Running a command, confirmed one by one when the policy says so: both sides in
//! memory, with the audit trail and the attacks (no permission, unknown ids, floods,
//! a permission withdrawn while the question is up).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use common::*;
use lifeline_protocol::action::{
    ActionPending, CommandOutput, CommandRequest, MAX_ACTIONS_IN_FLIGHT,
};
use lifeline_protocol::audit::AuditAction;
use lifeline_protocol::message::ControlMessage;
use lifeline_protocol::session::{
    AgentEvent, AgentSession, ConsentAnswer, SendError, ViewerEvent, ViewerSession,
};
use lifeline_protocol::{CodeGuard, PeerMisbehaved, Scope, ScopeSet};

fn commands() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::RunCommands])
}

/// An active session granting `granted`, on an agent that confirms `confirm` actions.
fn active(granted: ScopeSet, confirm: ScopeSet) -> (Pair, CodeGuard) {
    active_asking(commands(), granted, confirm)
}

/// Like [`active`], the viewer asking for `requested`.
fn active_asking(requested: ScopeSet, granted: ScopeSet, confirm: ScopeSet) -> (Pair, CodeGuard) {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut config = agent_config(b"exporter");
    config.trust.confirm_actions = confirm;
    let mut pair = Pair::new(
        AgentSession::new(config),
        ViewerSession::new(viewer_config(&code, requested, b"exporter")),
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

fn audit_actions(events: &[AgentEvent]) -> Vec<AuditAction> {
    events
        .iter()
        .filter_map(|event| match event {
            AgentEvent::Audit(record) => Some(record.action.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_confirmed_command_runs_and_its_output_reaches_the_technician() {
    let (mut pair, mut guard) = active(commands(), Scope::RunCommands.into());
    let id = pair.viewer.run_command("df -h /".to_owned()).unwrap();
    pair.run(&mut guard);
    // The technician sees that it waits; the end user sees the exact command line.
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::ActionPending { id })
    );
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::ActionConfirmationNeeded {
        id,
        scope: Scope::RunCommands,
        description: "df -h /".to_owned(),
    }));
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::RunCommand(_)))
    );
    assert!(
        audit_actions(&events).contains(&AuditAction::ActionRequested {
            message: "run-command".to_owned(),
            summary: "df -h /".to_owned(),
            needs_confirmation: true,
        })
    );

    pair.agent.answer_action(id, true, pair.now).unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::RunCommand(CommandRequest {
        id,
        command_line: "df -h /".to_owned(),
    })));
    let output = CommandOutput {
        id,
        exit_code: Some(0),
        stdout: "Filesystem  Size\n/dev/vda  252G\n".to_owned(),
        stderr: String::new(),
        truncated: false,
    };
    pair.agent
        .command_finished(output.clone(), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::CommandOutput(output))
    );
    let audited = audit_actions(&pair.take_agent_events());
    assert!(audited.iter().any(|action| matches!(action,
        AuditAction::Action { message, summary }
            if message == "run-command" && summary.starts_with("exit code 0, 32 bytes"))));
    // A result for a command that already finished is the caller's mistake.
    assert!(
        pair.agent
            .command_finished(
                CommandOutput {
                    id,
                    exit_code: Some(0),
                    stdout: String::new(),
                    stderr: String::new(),
                    truncated: false,
                },
                pair.now
            )
            .is_err()
    );
}

#[test]
fn a_refused_command_never_runs_and_the_technician_is_told() {
    let (mut pair, mut guard) = active(commands(), Scope::RunCommands.into());
    let id = pair
        .viewer
        .run_command("rm -rf ~/Documents".to_owned())
        .unwrap();
    pair.run(&mut guard);
    pair.take_agent_events();
    pair.agent.answer_action(id, false, pair.now).unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::RunCommand(_)))
    );
    assert!(
        audit_actions(&events).contains(&AuditAction::ActionAnswered {
            message: "run-command".to_owned(),
            summary: "rm -rf ~/Documents".to_owned(),
            approved: false,
        })
    );
    assert!(pair.take_viewer_events().iter().any(|event| matches!(event,
        ViewerEvent::ActionRefused { id: refused, reason }
            if *refused == id && reason.contains("refused to run"))));
}

#[test]
fn without_a_confirmation_policy_commands_run_at_once() {
    let (mut pair, mut guard) = active(commands(), ScopeSet::empty());
    let id = pair.viewer.run_command("uptime".to_owned()).unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::RunCommand(CommandRequest {
                id,
                command_line: "uptime".to_owned(),
            }))
    );
    assert!(pair.take_viewer_events().is_empty());
}

#[test]
fn a_permission_withdrawn_while_the_question_is_up_wins_over_a_late_yes() {
    let (mut pair, mut guard) = active(commands(), Scope::RunCommands.into());
    let id = pair.viewer.run_command("reboot".to_owned()).unwrap();
    pair.run(&mut guard);
    pair.agent
        .revoke(Scope::RunCommands.into(), pair.now)
        .unwrap();
    pair.agent.answer_action(id, true, pair.now).unwrap();
    pair.run(&mut guard);
    assert!(
        !pair
            .take_agent_events()
            .iter()
            .any(|e| matches!(e, AgentEvent::RunCommand(_)))
    );
    assert!(pair.take_viewer_events().iter().any(|event| matches!(event,
        ViewerEvent::ActionRefused { reason, .. } if reason.contains("withdrawn"))));
}

#[test]
fn commands_without_the_permission_are_refused_on_both_sides() {
    let (mut pair, mut guard) = active(Scope::ViewScreen.into(), ScopeSet::empty());
    assert!(matches!(
        pair.viewer.run_command("id".to_owned()),
        Err(SendError::Denied(_))
    ));
    // A viewer that skips its own check: refused by the agent, audited, session goes on.
    pair.agent
        .handle_control(
            ControlMessage::RunCommand(CommandRequest {
                id: 9,
                command_line: "id".to_owned(),
            }),
            &mut guard,
            pair.now,
        )
        .unwrap();
    let events: Vec<AgentEvent> = std::iter::from_fn(|| pair.agent.poll_event()).collect();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::RunCommand(_)))
    );
    assert!(audit_actions(&events).iter().any(|action| matches!(action,
        AuditAction::Refused { message } if message == "run-command")));
}

#[test]
fn a_flood_of_commands_is_capped_and_an_agent_inventing_results_is_thrown_out() {
    let (mut pair, mut guard) = active(commands(), Scope::RunCommands.into());
    for n in 0..MAX_ACTIONS_IN_FLIGHT + 2 {
        pair.agent
            .handle_control(
                ControlMessage::RunCommand(CommandRequest {
                    id: u32::try_from(n).unwrap() + 100,
                    command_line: "yes".to_owned(),
                }),
                &mut guard,
                pair.now,
            )
            .unwrap();
    }
    let asked = std::iter::from_fn(|| pair.agent.poll_event())
        .collect::<Vec<_>>()
        .iter()
        .filter(|e| matches!(e, AgentEvent::ActionConfirmationNeeded { .. }))
        .count();
    assert_eq!(asked, MAX_ACTIONS_IN_FLIGHT);

    // The viewer never asked for action 77.
    let invented = ControlMessage::ActionPending(ActionPending { id: 77 });
    assert!(matches!(
        pair.viewer.handle_control(invented),
        Err(PeerMisbehaved::OutOfPhase { .. })
    ));
}

#[test]
fn a_recording_notice_needs_the_record_permission_and_is_delivered_and_audited() {
    let view_record = ScopeSet::from([Scope::ViewScreen, Scope::RecordSession]);
    let (mut pair, mut guard) = active_asking(view_record, view_record, ScopeSet::empty());
    pair.viewer
        .send(ControlMessage::RecordingNotice(true))
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::Deliver(ControlMessage::RecordingNotice(true))));
    assert!(audit_actions(&events).iter().any(|action| matches!(action,
        AuditAction::Action { summary, .. } if summary == "the technician started recording")));

    // Without the permission the viewer cannot send it, and a viewer that skips its
    // own check is refused by the agent.
    let (mut pair, mut guard) = active(Scope::ViewScreen.into(), ScopeSet::empty());
    assert!(matches!(
        pair.viewer.send(ControlMessage::RecordingNotice(true)),
        Err(SendError::Denied(_))
    ));
    pair.agent
        .handle_control(ControlMessage::RecordingNotice(true), &mut guard, pair.now)
        .unwrap();
    let events: Vec<AgentEvent> = std::iter::from_fn(|| pair.agent.poll_event()).collect();
    assert!(!events.iter().any(|e| matches!(e, AgentEvent::Deliver(_))));
}
