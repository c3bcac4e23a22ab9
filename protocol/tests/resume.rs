//! Resuming a lost session without a code: both sides, and the attacks it must stop.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

mod common;

use std::time::Duration;

use common::*;
use lifeline_protocol::audit::{AuditAction, Outcome};
use lifeline_protocol::message::{AuthRejection, EndReason, SessionEnd, SessionId};
use lifeline_protocol::session::resume::{RESUME_WINDOW, ResumeGrant};
use lifeline_protocol::session::{
    AgentEvent, AgentSession, ConsentAnswer, Credential, Phase, ViewerEvent, ViewerSession,
};
use lifeline_protocol::{CodeGuard, Fingerprint, PublicKey, Scope, ScopeSet, Timestamp};

const LOST_SESSION: SessionId = SessionId([0x51; 16]);

fn view_input() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
}

/// An attended session granted view and input, whose connection is then lost.
fn lost_session(guard: &mut CodeGuard) -> (ResumeGrant, Vec<AgentEvent>) {
    let code = current_code(guard, T0);
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.run(guard);
    pair.agent
        .answer_consent(ConsentAnswer::Allow(view_input()), pair.now)
        .unwrap();
    pair.run(guard);
    assert_eq!(pair.agent.phase(), Phase::Active);
    pair.advance(Duration::from_secs(30));
    pair.agent.connection_lost(guard, pair.now);
    pair.run(guard);
    let grant = pair
        .agent
        .resume_grant()
        .expect("a lost active session can be resumed");
    (grant, pair.take_agent_events())
}

/// A new connection (new channel, new session id) on which the viewer with key
/// `viewer_key` asks to resume `session`, the agent being offered `grant`.
fn resuming_pair(
    grant: &ResumeGrant,
    viewer: Fingerprint,
    session: SessionId,
    at: Timestamp,
) -> Pair {
    let mut agent_config = agent_config(b"second connection");
    agent_config.peer = viewer;
    agent_config.session_id = SessionId([0x52; 16]);
    let mut agent = AgentSession::new(agent_config);
    agent.offer_resume(grant.clone());
    let code = current_code(&mut new_guard(), T0);
    let mut viewer_config = viewer_config(&code, view_input(), b"second connection");
    viewer_config.local = viewer;
    viewer_config.credential = Credential::Resume {
        session,
        agent: agent_key(),
    };
    Pair::new(agent, ViewerSession::new(viewer_config), at)
}

fn resume_audits(events: &[AgentEvent]) -> Vec<(AuditAction, Outcome)> {
    events
        .iter()
        .filter_map(|event| match event {
            AgentEvent::Audit(record)
                if matches!(record.action, AuditAction::SessionResumed { .. }) =>
            {
                Some((record.action.clone(), record.outcome.clone()))
            }
            _ => None,
        })
        .collect()
}

fn viewer_end(events: &[ViewerEvent]) -> Option<&SessionEnd> {
    events.iter().find_map(|event| match event {
        ViewerEvent::Ended(end) => Some(end),
        _ => None,
    })
}

#[test]
fn the_same_technician_resumes_a_lost_session_with_its_permissions_and_no_code() {
    let mut guard = new_guard();
    let (grant, _) = lost_session(&mut guard);
    assert_eq!(grant.session, LOST_SESSION);
    assert_eq!(grant.viewer, viewer_key());
    assert_eq!(grant.granted, view_input());
    assert_eq!(grant.technician.display_name, "Sam from IT");

    let later = grant.lost_at.saturating_add(Duration::from_secs(20));
    let mut pair = resuming_pair(&grant, viewer_key(), LOST_SESSION, later);
    // No code is involved: the guard is never consulted for this connection.
    let mut untouched = new_guard();
    pair.run(&mut untouched);

    assert_eq!(pair.agent.phase(), Phase::Active);
    assert_eq!(pair.viewer.phase(), Phase::Active);
    assert_eq!(pair.agent.granted(), view_input());
    assert_eq!(pair.viewer.granted(), view_input());
    let agent_events = pair.take_agent_events();
    assert!(agent_events.iter().any(|event| matches!(event,
        AgentEvent::SessionResumed { technician, previous }
            if technician.display_name == "Sam from IT" && *previous == LOST_SESSION)));
    assert!(
        !agent_events
            .iter()
            .any(|event| matches!(event, AgentEvent::ConsentNeeded(_))),
        "the end user was asked again"
    );
    assert_eq!(
        resume_audits(&agent_events),
        vec![(
            AuditAction::SessionResumed {
                previous: LOST_SESSION,
                granted: view_input()
            },
            Outcome::Succeeded
        )]
    );
    assert!(
        pair.take_viewer_events()
            .contains(&ViewerEvent::ScopesChanged(view_input()))
    );
    assert!(pair.agent_errors.is_empty() && pair.viewer_errors.is_empty());
}

fn assert_refused(pair: &mut Pair, why: &str) {
    pair.run(&mut new_guard());
    assert_eq!(pair.agent.phase(), Phase::Closed);
    assert_eq!(pair.viewer.phase(), Phase::Closed);
    assert_eq!(pair.agent.granted(), ScopeSet::empty());
    let end = viewer_end(&pair.take_viewer_events()).cloned().unwrap();
    match end.reason {
        EndReason::AuthenticationFailed(AuthRejection::ResumeRefused { reason }) => {
            assert!(reason.contains(why), "{reason:?} does not say {why:?}");
            assert!(reason.contains("new code"), "{reason:?} says nothing to do");
        }
        other => panic!("not a refused resumption: {other:?}"),
    }
    let audits = resume_audits(&pair.take_agent_events());
    assert_eq!(audits.len(), 1, "{audits:?}");
    assert!(matches!(audits[0].1, Outcome::Refused { .. }));
}

#[test]
fn another_technician_key_cannot_take_over_a_lost_session() {
    let mut guard = new_guard();
    let (grant, _) = lost_session(&mut guard);
    let attacker = PublicKey([0x66; 32]).fingerprint();
    let mut pair = resuming_pair(&grant, attacker, LOST_SESSION, grant.lost_at);
    assert_refused(&mut pair, "not yours");
}

#[test]
fn a_lost_session_cannot_be_resumed_after_the_window() {
    let mut guard = new_guard();
    let (grant, _) = lost_session(&mut guard);
    let too_late = grant
        .lost_at
        .saturating_add(RESUME_WINDOW + Duration::from_secs(1));
    let mut pair = resuming_pair(&grant, viewer_key(), LOST_SESSION, too_late);
    assert_refused(&mut pair, "more than 120 s ago");
}

#[test]
fn naming_another_session_or_having_no_grant_is_refused() {
    let mut guard = new_guard();
    let (grant, _) = lost_session(&mut guard);
    let mut pair = resuming_pair(&grant, viewer_key(), SessionId([0x99; 16]), grant.lost_at);
    assert_refused(&mut pair, "no lost session");

    // A fresh agent with nothing offered.
    let mut agent_config = agent_config(b"c");
    agent_config.session_id = SessionId([0x53; 16]);
    let mut viewer_config = viewer_config(&current_code(&mut guard, T0), view_input(), b"c");
    viewer_config.credential = Credential::Resume {
        session: LOST_SESSION,
        agent: agent_key(),
    };
    let mut pair = Pair::new(
        AgentSession::new(agent_config),
        ViewerSession::new(viewer_config),
        T0,
    );
    assert_refused(&mut pair, "no lost session");
}

#[test]
fn only_a_lost_active_session_leaves_a_grant() {
    // Ended by the viewer: nothing to resume.
    let mut guard = new_guard();
    let code = current_code(&mut guard, T0);
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.run(&mut guard);
    pair.agent
        .answer_consent(ConsentAnswer::Allow(view_input()), pair.now)
        .unwrap();
    pair.run(&mut guard);
    pair.viewer.disconnect();
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::Closed);
    pair.agent.connection_lost(&mut guard, pair.now);
    assert_eq!(pair.agent.resume_grant(), None);

    // Lost while the end user was still being asked: nothing was granted.
    let code = current_code(&mut guard, T0);
    let mut pair = Pair::connect(&code, view_input(), T0);
    pair.run(&mut guard);
    assert_eq!(pair.agent.phase(), Phase::AwaitingConsent);
    pair.agent.connection_lost(&mut guard, pair.now);
    assert_eq!(pair.agent.resume_grant(), None);
}

#[test]
fn the_viewer_resumes_only_with_the_agent_key_of_the_lost_session() {
    let mut guard = new_guard();
    let (grant, _) = lost_session(&mut guard);
    let mut pair = resuming_pair(&grant, viewer_key(), LOST_SESSION, grant.lost_at);
    // Someone else's key answers at the agent's address.
    let impostor = PublicKey([0x0B; 32]).fingerprint();
    let code = current_code(&mut guard, T0);
    let mut config = viewer_config(&code, view_input(), b"second connection");
    config.peer = impostor;
    config.credential = Credential::Resume {
        session: LOST_SESSION,
        agent: agent_key(),
    };
    pair.viewer = ViewerSession::new(config);
    pair.run(&mut guard);
    assert_eq!(pair.viewer.phase(), Phase::Closed);
    assert_eq!(
        viewer_end(&pair.take_viewer_events()).map(|end| end.reason.clone()),
        Some(EndReason::PeerNotAuthenticated)
    );
    assert!(
        resume_audits(&pair.take_agent_events()).is_empty(),
        "the viewer named the session to a key it does not know"
    );
}
