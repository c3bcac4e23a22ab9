//! A viewer that breaks the protocol's order, against the real agent on Xvfb: messages
//! before authentication, out of phase, after the end of the session or after the end
//! user's Stop; input without the permission; a viewer granting itself permissions.
//!
//! Every case ends with the checks of `Fixture::assert_survived`: the agent runs, its
//! memory stayed bounded, nothing reached the desktop, and an honest viewer still gets
//! a session.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use lifeline_protocol::framing::encode_datagram;
use lifeline_protocol::message::{
    ControlMessage, Datagram, EndReason, ErrorKind, KeyEvent, Modifiers, ScopeRequest, SessionEnd,
};
use lifeline_protocol::session::Phase;
use lifeline_protocol::version::Role;
use lifeline_protocol::{Scope, ScopeSet};
use lifeline_tests::hostile::{
    Case, Fixture, RawPeer, is_refusal, is_session_end, is_violation, run_cases,
};

fn view_and_input() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
}

fn pointer_move(sequence: u64) -> Vec<u8> {
    encode_datagram(&Datagram::PointerMove {
        sequence,
        x: 320,
        y: 240,
    })
    .unwrap()
}

/// Expects the agent to end the session for a protocol violation mentioning `detail`,
/// and to have audited it.
fn expect_violation(fixture: &Fixture, mark: usize, peer: &mut RawPeer, detail: &str) {
    let ending = fixture.block_on(peer.until_ended());
    match ending.session_end.as_ref().map(|end| &end.reason) {
        Some(EndReason::ProtocolViolation { detail: said }) => {
            assert!(said.contains(detail), "the agent said: {said}");
        }
        other => panic!("expected a protocol violation about {detail}, got {other:?}"),
    }
    fixture.expect_audit(mark, &format!("a violation about {detail}"), |record| {
        is_violation(record, detail)
    });
}

fn input_before_hello(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    fixture
        .block_on(peer.send_raw(&ControlMessage::TypeText("pwned".to_owned())))
        .unwrap();
    expect_violation(
        fixture,
        mark,
        &mut peer,
        "type-text while the session was awaiting hello",
    );
}

fn self_grant_before_authentication(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    fixture.block_on(async {
        // The honest hello, then a grant only the agent may send, then input.
        peer.flush().await.unwrap();
        peer.send_raw(&ControlMessage::ScopeGrant(ScopeSet::all()))
            .await
            .unwrap();
        peer.send_raw(&ControlMessage::TypeText("pwned".to_owned()))
            .await
            .unwrap();
    });
    expect_violation(fixture, mark, &mut peer, "scope-grant");
}

fn datagram_before_authentication(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    fixture.block_on(peer.flush()).unwrap();
    peer.connection
        .send_datagram(pointer_move(0).into())
        .unwrap();
    expect_violation(fixture, mark, &mut peer, "pointer-move");
}

fn input_between_proof_and_consent(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let mut peer = fixture.peer(view_and_input());
    fixture.block_on(async {
        // Authenticated, but the consent request is held back: input instead.
        peer.drive(|phase| phase == Phase::AwaitingConsent)
            .await
            .unwrap();
        peer.send_raw(&ControlMessage::TypeText("pwned".to_owned()))
            .await
            .unwrap();
    });
    expect_violation(
        fixture,
        mark,
        &mut peer,
        "type-text while the session was awaiting consent",
    );
}

fn self_grant_while_the_prompt_is_shown(fixture: &mut Fixture) {
    let mark = fixture.audit_mark();
    let prompt = "Mallory (Identity not verified) wants to connect";
    let prompts = fixture.agent.stdout().matches(prompt).count();
    let reason = "scope-grant, which only the other side may send";
    let ended = fixture.sessions_ended_on_terminal(reason);
    let mut peer = fixture.peer(view_and_input());
    fixture.block_on(async {
        peer.drive(|phase| phase == Phase::AwaitingConsent)
            .await
            .unwrap();
        // The consent request goes out: the end user sees the prompt.
        peer.flush().await.unwrap();
    });
    assert!(
        lifeline_tests::wait_until(std::time::Duration::from_secs(10), || {
            fixture.agent.stdout().matches(prompt).count() > prompts
        }),
        "the prompt was not shown"
    );
    fixture
        .block_on(peer.send_raw(&ControlMessage::ScopeGrant(ScopeSet::all())))
        .unwrap();
    expect_violation(fixture, mark, &mut peer, reason);
    fixture.wait_for_session_end_on_terminal(reason, ended);
}

/// An active session with `granted` (typed on the agent's terminal).
fn active_peer(fixture: &mut Fixture, granted: &str) -> RawPeer {
    fixture.agent.type_line(granted);
    let mut peer = fixture.peer(view_and_input());
    fixture.block_on(peer.activate()).unwrap();
    peer
}

fn second_hello_in_an_active_session(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    let mark = fixture.audit_mark();
    let hello = lifeline_tests::hostile::viewer_session(
        &fixture.technician,
        &peer.connection,
        &fixture.agent.code(),
        ScopeSet::all(),
    )
    .poll_transmit()
    .unwrap();
    fixture.block_on(peer.send_raw(&hello)).unwrap();
    expect_violation(
        fixture,
        mark,
        &mut peer,
        "hello while the session was active",
    );
}

fn self_grant_in_an_active_session(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    assert_eq!(peer.viewer.granted(), ScopeSet::from([Scope::ViewScreen]));
    let mark = fixture.audit_mark();
    fixture.block_on(async {
        peer.send_raw(&ControlMessage::ScopeGrant(ScopeSet::all()))
            .await
            .unwrap();
        peer.send_raw(&ControlMessage::TypeText("pwned".to_owned()))
            .await
            .unwrap();
    });
    expect_violation(
        fixture,
        mark,
        &mut peer,
        "scope-grant, which only the other side may send",
    );
}

fn input_without_the_permission(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    let mark = fixture.audit_mark();
    let errors = fixture.block_on(async {
        peer.connection
            .send_datagram(pointer_move(1).into())
            .unwrap();
        peer.send_raw(&ControlMessage::TypeText("pwned".to_owned()))
            .await
            .unwrap();
        peer.send_raw(&ControlMessage::Key(KeyEvent {
            usb_hid_usage: 0x04,
            keysym: None,
            text: Some('a'),
            modifiers: Modifiers(0),
            pressed: true,
        }))
        .await
        .unwrap();
        let mut errors = Vec::new();
        while errors.len() < 2 {
            for message in peer.read_messages().await.unwrap() {
                if let ControlMessage::Error(report) = message {
                    errors.push(report);
                }
            }
        }
        errors
    });
    for report in &errors {
        assert_eq!(
            report.kind,
            ErrorKind::PermissionDenied,
            "{}",
            report.message
        );
        assert!(
            report.message.contains("\"input\" permission"),
            "{}",
            report.message
        );
    }
    fixture.expect_audit(mark, "refused typed text", |r| {
        is_refusal(r, "type-text", "input")
    });
    fixture.expect_audit(mark, "a refused key", |r| is_refusal(r, "key", "input"));
    fixture.expect_audit(mark, "a refused pointer move", |r| {
        is_refusal(r, "pointer-move", "input")
    });
    // A refusal is not the end: the session goes on until the viewer leaves.
    assert_eq!(peer.viewer.phase(), Phase::Active);
    fixture
        .block_on(peer.send_raw(&ControlMessage::SessionEnd(SessionEnd {
            by: Role::Viewer,
            reason: EndReason::DisconnectedByTechnician,
        })))
        .unwrap();
    fixture.block_on(peer.until_ended());
    fixture.expect_audit(mark, "the end of the session", |r| {
        is_session_end(r, "the technician disconnected")
    });
}

fn input_after_the_viewers_goodbye(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "y");
    assert!(peer.viewer.granted().contains(Scope::ControlInput));
    let mark = fixture.audit_mark();
    fixture.block_on(async {
        // Goodbye, and input right behind it in the same stream.
        let mut bytes = Vec::new();
        for message in [
            ControlMessage::SessionEnd(SessionEnd {
                by: Role::Viewer,
                reason: EndReason::DisconnectedByTechnician,
            }),
            ControlMessage::TypeText("pwned".to_owned()),
        ] {
            bytes.extend(lifeline_protocol::framing::encode_control(&message).unwrap());
        }
        peer.send_bytes(&bytes).await.unwrap();
        let _ = peer.connection.send_datagram(pointer_move(5).into());
    });
    fixture.block_on(peer.until_ended());
    fixture.expect_audit(mark, "the end of the session", |r| {
        is_session_end(r, "the technician disconnected")
    });
}

fn input_after_the_end_users_stop(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "y");
    let mark = fixture.audit_mark();
    fixture.agent.type_line("stop");
    let ending = fixture.block_on(async {
        // Wait for the agent's goodbye, then keep typing as if nothing happened.
        while !peer
            .read_messages()
            .await
            .unwrap()
            .iter()
            .any(|message| matches!(message, ControlMessage::SessionEnd(_)))
        {}
        let _ = peer
            .send_raw(&ControlMessage::TypeText("pwned".to_owned()))
            .await;
        let _ = peer.connection.send_datagram(pointer_move(9).into());
        peer.until_ended().await
    });
    assert!(ending.closed, "the agent kept the connection open");
    fixture.expect_audit(mark, "the end user's stop", |r| {
        is_session_end(r, "the end user stopped the session")
    });
}

fn two_scope_requests_at_once(fixture: &mut Fixture) {
    let mut peer = active_peer(fixture, "view");
    let mark = fixture.audit_mark();
    let reason = "waiting for the answer to an earlier scope request";
    let ended = fixture.sessions_ended_on_terminal(reason);
    fixture.block_on(async {
        peer.viewer
            .request_scopes(ScopeSet::from([Scope::Clipboard]), "first".to_owned())
            .unwrap();
        peer.flush().await.unwrap();
        // The viewer refuses to ask twice; on the wire, a second request anyway.
        peer.send_raw(&ControlMessage::ScopeRequest(ScopeRequest {
            scopes: ScopeSet::from([Scope::Clipboard]),
            reason: "second".to_owned(),
        }))
        .await
        .unwrap();
    });
    expect_violation(fixture, mark, &mut peer, reason);
    fixture.wait_for_session_end_on_terminal(reason, ended);
}

#[test]
fn messages_out_of_turn_end_the_session_and_are_audited() {
    let mut fixture = Fixture::start();
    let cases: &[Case] = &[
        ("input before hello", input_before_hello),
        (
            "self grant before authentication",
            self_grant_before_authentication,
        ),
        (
            "datagram before authentication",
            datagram_before_authentication,
        ),
        (
            "input between proof and consent",
            input_between_proof_and_consent,
        ),
        (
            "self grant while the prompt is shown",
            self_grant_while_the_prompt_is_shown,
        ),
    ];
    run_cases(&mut fixture, cases);
}

#[test]
fn an_active_session_refuses_what_was_not_granted() {
    let mut fixture = Fixture::start();
    let cases: &[Case] = &[
        (
            "second hello in an active session",
            second_hello_in_an_active_session,
        ),
        (
            "self grant in an active session",
            self_grant_in_an_active_session,
        ),
        ("input without the permission", input_without_the_permission),
        (
            "input after the viewer's goodbye",
            input_after_the_viewers_goodbye,
        ),
        (
            "input after the end user's stop",
            input_after_the_end_users_stop,
        ),
        ("two scope requests at once", two_scope_requests_at_once),
    ];
    run_cases(&mut fixture, cases);
}
