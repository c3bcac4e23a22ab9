//! Whole sessions between an in-memory agent and viewer, in virtual time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::Duration;

use common::*;
use lifeline_protocol::audit::{AuditAction, Outcome};
use lifeline_protocol::code::CodeNotice;
use lifeline_protocol::message::{
    AuthMessage, AuthRejection, ConsentRequest, ControlMessage, Datagram, EndReason, ErrorKind,
    KeyEvent, Modifiers, SessionEnd, TechnicianIdentity, Verification,
};
use lifeline_protocol::session::{
    AgentEvent, AgentSession, ConsentAnswer, Phase, SendError, ViewerEvent, ViewerSession,
};
use lifeline_protocol::version::Role;
use lifeline_protocol::{PeerMisbehaved, Scope, ScopeSet};

fn key_a() -> ControlMessage {
    ControlMessage::Key(KeyEvent {
        usb_hid_usage: 0x04,
        keysym: Some(0x61),
        text: Some('a'),
        modifiers: Modifiers::default(),
        pressed: true,
    })
}

fn view_input() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
}

fn ended(events: &[ViewerEvent]) -> Option<&SessionEnd> {
    events.iter().find_map(|event| match event {
        ViewerEvent::Ended(end) => Some(end),
        _ => None,
    })
}

fn agent_ended(events: &[AgentEvent]) -> Option<&SessionEnd> {
    events.iter().find_map(|event| match event {
        AgentEvent::Ended(end) => Some(end),
        _ => None,
    })
}

fn refusals(events: &[AgentEvent]) -> usize {
    events
        .iter()
        .filter(|event| {
            matches!(event, AgentEvent::Audit(record)
                if matches!(record.action, AuditAction::Refused { .. }))
        })
        .count()
}

/// Authenticates and answers the consent prompt with `answer`.
fn active_pair(guard: &mut lifeline_protocol::CodeGuard, answer: ConsentAnswer) -> Pair {
    let code = current_code(guard, T0);
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.run(guard);
    pair.agent.answer_consent(answer, pair.now).unwrap();
    pair.run(guard);
    pair
}

#[test]
fn right_code_consent_revoke_refuse_and_stop() {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.run(&mut guard);

    // Authenticated; the end user sees who asks and for what.
    let events = pair.take_agent_events();
    assert!(events.contains(&AgentEvent::Authenticated));
    let prompt = events
        .iter()
        .find_map(|event| match event {
            AgentEvent::ConsentNeeded(prompt) => Some(prompt.clone()),
            _ => None,
        })
        .expect("the end user is asked");
    assert_eq!(prompt.technician.display_name, "Sam from IT");
    assert_eq!(prompt.technician.fingerprint, viewer_key());
    assert_eq!(prompt.technician.verification, Verification::Unverified);
    assert_eq!(prompt.scopes, view_input());
    assert_eq!(prompt.reason, "printer does not print");
    assert_eq!(pair.agent.phase(), Phase::AwaitingConsent);
    assert_eq!(pair.viewer.phase(), Phase::AwaitingConsent);
    // The code was used up.
    assert_ne!(current_code(&mut guard, T0), code);

    // The user allows both.
    pair.agent
        .answer_consent(ConsentAnswer::Allow(view_input()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::Active);
    assert_eq!(pair.viewer.granted(), view_input());
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::ScopesChanged(view_input()))
    );

    // Input flows.
    pair.viewer.send(key_a()).unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::Deliver(key_a()))
    );

    // The user revokes input: the viewer learns it and refuses locally.
    pair.agent
        .revoke(Scope::ControlInput.into(), pair.now)
        .unwrap();
    pair.run(&mut guard);
    assert_eq!(pair.viewer.granted(), Scope::ViewScreen.into());
    assert!(matches!(
        pair.viewer.send(key_a()),
        Err(SendError::Denied(_))
    ));

    // A viewer that sends anyway is refused by the agent, which audits it.
    pair.take_agent_events();
    pair.agent
        .handle_control(key_a(), &mut guard, pair.now)
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(
        !events.contains(&AgentEvent::Deliver(key_a())),
        "refused input was delivered"
    );
    assert_eq!(refusals(&events), 1);
    let viewer_events = pair.take_viewer_events();
    assert!(viewer_events.iter().any(|event| matches!(event,
        ViewerEvent::Deliver(ControlMessage::Error(report)) if report.kind == ErrorKind::PermissionDenied)));
    assert_eq!(
        pair.agent.phase(),
        Phase::Active,
        "a refusal does not end the session"
    );

    // Stop ends the session on both sides.
    pair.agent.stop(pair.now);
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert_eq!(pair.viewer.phase(), Phase::Closed);
    let end = ended(&pair.viewer_events).expect("the viewer is told");
    assert_eq!(end.reason, EndReason::StoppedByUser);
    assert_eq!(end.by, Role::Agent);

    // Anything after Stop is refused and not acted upon.
    let after = pair.agent.handle_control(key_a(), &mut guard, pair.now);
    assert!(matches!(after, Err(PeerMisbehaved::OutOfPhase { .. })));
    assert!(!pair.agent_events.contains(&AgentEvent::Deliver(key_a())));
}

#[test]
fn three_wrong_codes_rotate_the_code_and_lock_further_attempts() {
    let mut guard = new_guard();
    let right = current_code(&mut guard, T0);
    let wrong = wrong_code(&right);
    for attempt in 1..=3 {
        let mut pair = Pair::connect(&wrong, view_input(), T0);
        pair.run(&mut guard);
        assert_eq!(pair.viewer.phase(), Phase::Closed);
        assert_eq!(pair.agent.phase(), Phase::Closed);
        let end = ended(&pair.viewer_events).expect("the technician is told");
        assert_eq!(
            end.reason,
            EndReason::AuthenticationFailed(AuthRejection::WrongCode {
                code_rotated: attempt == 3
            })
        );
        assert!(
            !pair
                .agent_events
                .iter()
                .any(|e| matches!(e, AgentEvent::ConsentNeeded(_)))
        );
    }
    // The end user is told wrong codes were tried, and has a new code.
    let notices: Vec<CodeNotice> = std::iter::from_fn(|| guard.poll_notice()).collect();
    assert!(notices.contains(&CodeNotice::WrongCodeTried { failures: 3 }));
    assert!(
        notices
            .iter()
            .any(|n| matches!(n, CodeNotice::RotatedAfterWrongCodes { .. }))
    );
    let rotated = current_code(&mut guard, T0);
    assert_ne!(rotated, right);

    // Even the new right code is refused during the back-off...
    let mut pair = Pair::connect(&rotated, view_input(), T0);
    pair.run(&mut guard);
    assert!(matches!(
        ended(&pair.viewer_events).map(|end| &end.reason),
        Some(EndReason::AuthenticationFailed(
            AuthRejection::TooManyAttempts {
                retry_after_secs: 30
            }
        ))
    ));
    // ...and accepted after it.
    let later = T0.saturating_add(Duration::from_secs(31));
    let mut pair = Pair::connect(&rotated, view_input(), later);
    pair.run(&mut guard);
    assert_eq!(pair.viewer.phase(), Phase::AwaitingConsent);
}

#[test]
fn the_old_code_stops_working_after_rotation() {
    let mut guard = new_guard();
    let right = current_code(&mut guard, T0);
    let wrong = wrong_code(&right);
    for _ in 0..3 {
        Pair::connect(&wrong, view_input(), T0).run(&mut guard);
    }
    let later = T0.saturating_add(Duration::from_secs(31));
    let mut pair = Pair::connect(&right, view_input(), later);
    pair.run(&mut guard);
    assert_eq!(pair.viewer.phase(), Phase::Closed);
}

#[test]
fn leaving_halfway_through_authentication_counts_as_a_wrong_attempt() {
    let mut guard = new_guard();
    let right = current_code(&mut guard, T0);
    let mut pair = Pair::connect(&right, view_input(), T0);
    // Hello both ways, then the viewer's SPAKE2 message reaches the agent, which replies.
    pair.viewer_to_agent(&mut guard); // hello
    pair.agent_to_viewer(); // hello
    pair.viewer_to_agent(&mut guard); // SPAKE2
    assert!(matches!(
        pair.agent.poll_transmit(),
        Some(ControlMessage::Auth(AuthMessage::Spake2(_)))
    ));
    // The attacker now has the agent's SPAKE2 message and leaves without a proof.
    pair.agent.connection_lost(&mut guard, T0);
    assert_eq!(
        guard.poll_notice(),
        Some(CodeNotice::WrongCodeTried { failures: 1 })
    );
}

#[test]
fn consent_refused_ends_the_session_without_activity() {
    let mut guard = new_guard();
    let mut pair = active_pair(
        &mut guard,
        ConsentAnswer::Deny {
            reason: "I did not call anyone".to_owned(),
        },
    );
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert_eq!(pair.viewer.phase(), Phase::Closed);
    assert_eq!(
        ended(&pair.viewer_events).map(|end| &end.reason),
        Some(&EndReason::ConsentRefused {
            reason: "I did not call anyone".to_owned()
        })
    );
    assert!(pair.viewer.send(key_a()).is_err());
    assert!(
        pair.agent
            .handle_control(key_a(), &mut guard, pair.now)
            .is_err()
    );
    assert!(!pair.agent_events.contains(&AgentEvent::Deliver(key_a())));
}

#[test]
fn view_only_grant_refuses_input_and_audits_it() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, ConsentAnswer::Allow(Scope::ViewScreen.into()));
    assert_eq!(pair.viewer.granted(), Scope::ViewScreen.into());
    pair.take_agent_events();
    // Pointer moves by datagram and a key on the control stream, both refused.
    for sequence in 0..5 {
        pair.agent
            .handle_datagram(
                Datagram::PointerMove {
                    sequence,
                    x: 10,
                    y: 10,
                },
                &mut guard,
                pair.now,
            )
            .unwrap();
    }
    pair.agent
        .handle_control(key_a(), &mut guard, pair.now)
        .unwrap();
    pair.run(&mut guard);
    let events = pair.take_agent_events();
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, AgentEvent::PointerMove { .. } | AgentEvent::Deliver(_)))
    );
    // One audit record per kind, not one per refused message.
    assert_eq!(refusals(&events), 2);
    let record = events
        .iter()
        .find_map(|e| match e {
            AgentEvent::Audit(record) if matches!(record.action, AuditAction::Refused { .. }) => {
                Some(record)
            }
            _ => None,
        })
        .unwrap();
    assert_eq!(record.scope, Some(Scope::ControlInput));
    assert!(matches!(record.outcome, Outcome::Refused { .. }));
}

#[test]
fn pointer_moves_keep_only_the_newest() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, ConsentAnswer::Allow(view_input()));
    pair.take_agent_events();
    let first = pair.viewer.pointer_move(100, 100).unwrap();
    let second = pair.viewer.pointer_move(200, 150).unwrap();
    // The second overtakes the first, as datagrams may.
    pair.agent
        .handle_datagram(second, &mut guard, pair.now)
        .unwrap();
    pair.agent
        .handle_datagram(first, &mut guard, pair.now)
        .unwrap();
    pair.run(&mut guard);
    let moves: Vec<AgentEvent> = pair
        .take_agent_events()
        .into_iter()
        .filter(|e| matches!(e, AgentEvent::PointerMove { .. }))
        .collect();
    assert_eq!(moves, vec![AgentEvent::PointerMove { x: 200, y: 150 }]);
}

#[test]
fn scopes_can_be_requested_during_the_session() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, ConsentAnswer::Allow(view_input()));
    pair.viewer
        .request_scopes(Scope::Clipboard.into(), "copy the error text".to_owned())
        .unwrap();
    pair.run(&mut guard);
    assert!(
        pair.take_agent_events()
            .contains(&AgentEvent::ScopeRequestNeeded {
                scopes: Scope::Clipboard.into(),
                reason: "copy the error text".to_owned(),
            })
    );
    pair.agent
        .answer_scope_request(ConsentAnswer::Allow(Scope::Clipboard.into()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    let all = view_input().union(Scope::Clipboard.into());
    assert_eq!(pair.viewer.granted(), all);
    assert_eq!(pair.agent.granted(), all);
    pair.viewer
        .send(ControlMessage::ClipboardText(
            "E_FAIL 0x80004005".to_owned(),
        ))
        .unwrap();
    pair.run(&mut guard);
    assert!(pair.take_agent_events().contains(&AgentEvent::Deliver(
        ControlMessage::ClipboardText("E_FAIL 0x80004005".to_owned())
    )));

    // A refused request changes nothing.
    pair.viewer
        .request_scopes(Scope::RunCommands.into(), "run sfc".to_owned())
        .unwrap();
    pair.run(&mut guard);
    pair.agent
        .answer_scope_request(
            ConsentAnswer::Deny {
                reason: "no".to_owned(),
            },
            pair.now,
        )
        .unwrap();
    pair.run(&mut guard);
    assert_eq!(pair.viewer.granted(), all);
    assert!(
        pair.viewer_events
            .iter()
            .any(|e| matches!(e, ViewerEvent::ScopeRefused { .. }))
    );
}

#[test]
fn a_viewer_granting_itself_scopes_is_thrown_out() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, ConsentAnswer::Allow(Scope::ViewScreen.into()));
    let result = pair.agent.handle_control(
        ControlMessage::ScopeGrant(ScopeSet::all()),
        &mut guard,
        pair.now,
    );
    assert_eq!(
        result,
        Err(PeerMisbehaved::WrongDirection {
            message: "scope-grant"
        })
    );
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert_eq!(pair.agent.granted(), ScopeSet::empty());
    pair.run(&mut guard);
    assert!(matches!(
        ended(&pair.viewer_events).map(|end| &end.reason),
        Some(EndReason::ProtocolViolation { .. })
    ));
}

#[test]
fn out_of_phase_messages_are_peer_misbehaviour() {
    let cases: Vec<ControlMessage> = vec![
        key_a(),
        ControlMessage::KeyframeRequest,
        ControlMessage::Auth(AuthMessage::Confirm(vec![0; 32])),
        ControlMessage::ConsentRequest(ConsentRequest {
            technician: TechnicianIdentity {
                display_name: "x".to_owned(),
                fingerprint: viewer_key(),
                verification: Verification::Unverified,
            },
            scopes: ScopeSet::all(),
            reason: String::new(),
            certificate: None,
        }),
        ControlMessage::Chat("hello before authentication".to_owned()),
    ];
    for message in cases {
        let mut guard = new_guard();
        let mut agent = AgentSession::new(agent_config(b"exporter"));
        let kind = message.kind();
        let result = agent.handle_control(message, &mut guard, T0);
        assert_eq!(
            result,
            Err(PeerMisbehaved::OutOfPhase {
                message: kind,
                phase: "awaiting hello"
            }),
            "{kind} before hello"
        );
        assert_eq!(agent.phase(), Phase::Closed);
        let events: Vec<AgentEvent> = std::iter::from_fn(|| agent.poll_event()).collect();
        assert!(matches!(
            agent_ended(&events).map(|end| &end.reason),
            Some(EndReason::ProtocolViolation { .. })
        ));
        assert_eq!(refusals(&events), 1, "the violation is audited");
        assert!(matches!(
            agent.poll_transmit(),
            Some(ControlMessage::SessionEnd(_))
        ));
    }
}

#[test]
fn input_before_consent_is_refused() {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::AwaitingConsent);
    let result = pair.agent.handle_control(key_a(), &mut guard, pair.now);
    assert!(matches!(result, Err(PeerMisbehaved::OutOfPhase { .. })));
    let result = pair.agent.handle_datagram(
        Datagram::PointerMove {
            sequence: 0,
            x: 0,
            y: 0,
        },
        &mut guard,
        pair.now,
    );
    assert!(result.is_err());
    pair.run(&mut guard);
    assert!(
        !pair
            .agent_events
            .iter()
            .any(|e| matches!(e, AgentEvent::Deliver(_) | AgentEvent::PointerMove { .. }))
    );
}

#[test]
fn claims_of_verification_and_foreign_fingerprints_are_not_believed() {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    // Run the authentication by hand, intercept the viewer's consent request and
    // send a forged one.
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.viewer_to_agent(&mut guard);
    pair.agent_to_viewer();
    pair.viewer_to_agent(&mut guard);
    pair.agent_to_viewer();
    pair.viewer_to_agent(&mut guard);
    pair.agent_to_viewer();
    let Some(ControlMessage::ConsentRequest(honest)) = pair.viewer.poll_transmit() else {
        panic!("the viewer sends its consent request after authenticating");
    };
    let mut forged = honest.clone();
    forged.technician.verification = Verification::Organisation {
        organisation: "Microsoft Support".to_owned(),
    };
    pair.agent
        .handle_control(ControlMessage::ConsentRequest(forged), &mut guard, T0)
        .unwrap();
    let prompt = std::iter::from_fn(|| pair.agent.poll_event())
        .find_map(|e| match e {
            AgentEvent::ConsentNeeded(prompt) => Some(prompt),
            _ => None,
        })
        .unwrap();
    assert_eq!(prompt.technician.verification, Verification::Unverified);

    // A consent request naming another key ends the session.
    let mut pair = Pair::connect(&current_code(&mut guard, T0), view_input(), T0);
    pair.viewer_to_agent(&mut guard);
    pair.agent_to_viewer();
    pair.viewer_to_agent(&mut guard);
    pair.agent_to_viewer();
    pair.viewer_to_agent(&mut guard);
    let mut foreign = honest;
    foreign.technician.fingerprint = agent_key();
    let result = pair
        .agent
        .handle_control(ControlMessage::ConsentRequest(foreign), &mut guard, T0);
    assert_eq!(result, Err(PeerMisbehaved::FingerprintMismatch));
}

#[test]
fn version_mismatch_is_explained_the_same_on_both_sides() {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut agent_config = agent_config(b"exporter");
    agent_config.versions = vec![3, 4];
    agent_config.software_version = "2.0.0".to_owned();
    let mut pair = Pair::new(
        AgentSession::new(agent_config),
        ViewerSession::new(viewer_config(&code, view_input(), b"exporter")),
        T0,
    );
    pair.run(&mut guard);
    let expected = "the technician's viewer is Lifeline 0.1.0 (protocol 1), but the end user's agent \
                    is Lifeline 2.0.0 and needs protocol 3 to 4: update the technician's viewer to a \
                    recent version";
    let viewer_end = ended(&pair.viewer_events).expect("the viewer ends");
    let agent_end = agent_ended(&pair.agent_events).expect("the agent ends");
    assert_eq!(viewer_end.reason.detail(), expected);
    assert_eq!(agent_end.reason.detail(), expected);
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert_eq!(pair.viewer.phase(), Phase::Closed);
    assert!(pair.agent_errors.is_empty() && pair.viewer_errors.is_empty());
}

#[test]
fn a_man_in_the_middle_with_its_own_tls_gets_no_session() {
    // The attacker terminates TLS on both sides and relays every message unchanged,
    // even with the right code typed by the real technician: the channel bindings
    // differ, so the proof fails and the attempt is counted.
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut pair = Pair::new(
        AgentSession::new(agent_config(b"exporter of attacker-agent TLS")),
        ViewerSession::new(viewer_config(
            &code,
            view_input(),
            b"exporter of viewer-attacker TLS",
        )),
        T0,
    );
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert!(!pair.agent_events.contains(&AgentEvent::Authenticated));
    assert!(
        !pair
            .agent_events
            .iter()
            .any(|e| matches!(e, AgentEvent::ConsentNeeded(_)))
    );
    assert_eq!(
        guard.poll_notice(),
        Some(CodeNotice::WrongCodeTried { failures: 1 })
    );
}

#[test]
fn the_code_never_crosses_the_wire() {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let digits: String = code.grouped().replace(' ', "");
    let mut agent = AgentSession::new(agent_config(b"exporter"));
    let mut viewer = ViewerSession::new(viewer_config(&code, view_input(), b"exporter"));
    let mut seen = Vec::new();
    for _ in 0..6 {
        while let Some(message) = viewer.poll_transmit() {
            seen.extend(lifeline_protocol::framing::encode_control(&message).unwrap());
            let _ = agent.handle_control(message, &mut guard, T0);
        }
        while let Some(message) = agent.poll_transmit() {
            seen.extend(lifeline_protocol::framing::encode_control(&message).unwrap());
            let _ = viewer.handle_control(message);
        }
    }
    assert_eq!(agent.phase(), Phase::AwaitingConsent);
    assert!(!seen.windows(9).any(|w| w == digits.as_bytes()));
    assert!(!String::from_utf8_lossy(&seen).contains(&code.grouped()));
}

#[test]
fn an_agent_that_cannot_prove_the_code_is_rejected_by_the_viewer() {
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.viewer_to_agent(&mut guard);
    pair.agent_to_viewer();
    pair.viewer_to_agent(&mut guard);
    pair.agent_to_viewer();
    let _viewer_proof = pair.viewer.poll_transmit().unwrap();
    // An impostor answers with a made-up proof.
    pair.viewer
        .handle_control(ControlMessage::Auth(AuthMessage::Confirm(vec![7; 32])))
        .unwrap();
    assert_eq!(pair.viewer.phase(), Phase::Closed);
    let events: Vec<ViewerEvent> = std::iter::from_fn(|| pair.viewer.poll_event()).collect();
    assert_eq!(
        ended(&events).map(|end| &end.reason),
        Some(&EndReason::PeerNotAuthenticated)
    );
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, ViewerEvent::Authenticated { .. }))
    );
}

#[test]
fn an_agent_sending_viewer_messages_is_thrown_out() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, ConsentAnswer::Allow(view_input()));
    let result = pair.viewer.handle_control(key_a());
    assert_eq!(
        result,
        Err(PeerMisbehaved::WrongDirection { message: "key" })
    );
    assert_eq!(pair.viewer.phase(), Phase::Closed);
}

#[test]
fn error_text_from_an_unauthenticated_peer_is_not_passed_on() {
    // Found by the agent_session fuzz target: an error report before authentication
    // was delivered to the agent's caller.
    let mut guard = new_guard();
    let mut agent = AgentSession::new(agent_config(b"exporter"));
    let report = ControlMessage::Error(lifeline_protocol::message::ErrorReport {
        kind: ErrorKind::Failed,
        message: "call +1 555 0100 for support".to_owned(),
    });
    assert_eq!(agent.handle_control(report, &mut guard, T0), Ok(()));
    assert!(
        std::iter::from_fn(|| agent.poll_event()).all(|e| !matches!(e, AgentEvent::Deliver(_)))
    );
    assert_eq!(agent.phase(), Phase::AwaitingHello);
}

#[test]
fn chat_goes_both_ways_without_a_permission_and_only_its_size_is_audited() {
    let mut guard = new_guard();
    let mut pair = active_pair(&mut guard, ConsentAnswer::Allow(Scope::ViewScreen.into()));
    pair.take_agent_events();
    pair.take_viewer_events();

    pair.viewer
        .send(ControlMessage::Chat(
            "Can you open the printer settings?".into(),
        ))
        .unwrap();
    pair.agent
        .send_chat("Done, it is open now".into(), pair.now)
        .unwrap();
    pair.run(&mut guard);

    let agent_events = pair.take_agent_events();
    assert!(
        agent_events.contains(&AgentEvent::Deliver(ControlMessage::Chat(
            "Can you open the printer settings?".into()
        )))
    );
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::Deliver(ControlMessage::Chat(
                "Done, it is open now".into()
            )))
    );
    let audited: Vec<String> = agent_events
        .iter()
        .filter_map(|event| match event {
            AgentEvent::Audit(record) => Some(format!("{:?}", record.action)),
            _ => None,
        })
        .collect();
    assert!(
        audited.iter().any(|line| line.contains("20 bytes of text")),
        "{audited:?}"
    );
    assert!(
        audited
            .iter()
            .all(|line| !line.contains("printer") && !line.contains("Done")),
        "chat text reached the audit log: {audited:?}"
    );

    // Too long, or after the end: refused locally, nothing sent.
    let long = "x".repeat(lifeline_protocol::message::MAX_CHAT_LEN + 1);
    assert!(pair.agent.send_chat(long, pair.now).is_err());
    pair.viewer.disconnect();
    pair.run(&mut guard);
    assert!(pair.agent.send_chat("hello?".into(), pair.now).is_err());
    assert!(pair.agent.poll_transmit().is_none());
}
