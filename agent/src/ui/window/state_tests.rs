#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use lifeline_protocol::Fingerprint;
use lifeline_protocol::message::Verification;

use super::*;

fn technician() -> TechnicianIdentity {
    TechnicianIdentity {
        display_name: "Bob".to_owned(),
        fingerprint: Fingerprint([7; 32]),
        verification: Verification::Unverified,
    }
}

fn ready(code: &str) -> UiEvent {
    UiEvent::Ready {
        device_id: "device".to_owned(),
        code: code.to_owned(),
        expires_in: Duration::from_secs(60),
    }
}

fn waiting(state: &AgentUiState) -> &Waiting {
    match &state.phase {
        Phase::WaitingForTechnician(waiting) => waiting,
        other => panic!("not waiting: {other:?}"),
    }
}

#[test]
fn a_new_code_keeps_the_warnings() {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    state.apply(ready("111 111 111"), now);
    state.apply(UiEvent::WrongCodeTried { failures: 1 }, now);
    state.apply(UiEvent::WrongCodeTried { failures: 2 }, now);
    state.apply(UiEvent::CodeLocked { seconds: 30 }, now);
    state.apply(ready("222 222 222"), now);

    let waiting = waiting(&state);
    assert_eq!(waiting.code, "222 222 222");
    assert_eq!(
        waiting.notices,
        vec![
            Notice::WrongCodeTried { failures: 2 },
            Notice::CodeLocked {
                until: now + Duration::from_secs(30)
            },
        ]
    );
    assert_eq!(waiting.remaining(now), Some(Duration::from_secs(60)));
    assert_eq!(waiting.remaining(now + Duration::from_secs(60)), None);
}

#[test]
fn a_code_after_a_session_starts_without_warnings() {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    state.apply(ready("111 111 111"), now);
    state.apply(UiEvent::WrongCodeTried { failures: 1 }, now);
    state.apply(
        UiEvent::SessionEnded {
            reason: "bye".to_owned(),
            may_resume: false,
        },
        now,
    );
    state.apply(ready("222 222 222"), now);

    assert!(waiting(&state).notices.is_empty());
}

#[test]
fn prompts_start_all_ticked_and_return_to_what_was_before() {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    state.apply(ready("111 111 111"), now);
    let scopes = ScopeSet::from([Scope::ViewScreen, Scope::RunCommands]);
    let prompt = ConsentPrompt {
        technician: technician(),
        scopes,
        reason: String::new(),
        unattended: false,
    };
    state.apply(UiEvent::ConsentNeeded(prompt.clone()), now);
    // A second prompt replaces the first without stacking.
    state.apply(UiEvent::ConsentNeeded(prompt), now);

    let Phase::Consent(consent) = &state.phase else {
        panic!("no prompt");
    };
    assert_eq!(consent.ticked(), scopes);
    let answer = consent.allow();
    assert_eq!(
        answer,
        UserCommand::AnswerConsent(ConsentAnswer::Allow(scopes))
    );
    state.on_command(&answer);
    assert_eq!(waiting(&state).code, "111 111 111");
}

#[test]
fn scope_changes_during_a_request_reach_the_session() {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    let granted = ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]);
    state.apply(
        UiEvent::SessionActive {
            technician: technician(),
            granted,
        },
        now,
    );
    state.apply(
        UiEvent::ScopeRequestNeeded {
            technician: technician(),
            scopes: Scope::Clipboard.into(),
            reason: String::new(),
        },
        now,
    );
    assert_eq!(state.window_mode(), WindowMode::Prompt);
    state.apply(UiEvent::ScopesChanged(Scope::ViewScreen.into()), now);
    let Phase::Consent(consent) = &state.phase else {
        panic!("no prompt");
    };
    let refusal = consent.deny();
    assert_eq!(
        refusal,
        UserCommand::AnswerScopeRequest(ConsentAnswer::Deny {
            reason: String::new()
        })
    );
    state.on_command(&refusal);

    let Phase::Session(session) = &state.phase else {
        panic!("not back to the session");
    };
    assert_eq!(session.granted, Scope::ViewScreen.into());
    assert_eq!(
        state.window_mode(),
        WindowMode::Banner {
            permissions: 1,
            chat_lines: 0
        }
    );
}

#[test]
fn notices_without_a_code_on_screen_are_dropped() {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    state.apply(UiEvent::WrongCodeTried { failures: 1 }, now);
    assert_eq!(state.phase, Phase::Starting);
}

#[test]
fn stop_outside_a_session_changes_nothing() {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    state.apply(ready("111 111 111"), now);
    state.on_command(&UserCommand::Stop);
    assert!(matches!(state.phase, Phase::WaitingForTechnician(_)));
}

#[test]
fn a_lost_connection_tells_the_user_the_technician_may_come_back_for_a_while() {
    let now = Instant::now();
    let window = lifeline_protocol::session::resume::RESUME_WINDOW;
    let mut state = AgentUiState::new();
    state.apply(
        UiEvent::SessionEnded {
            reason: "the connection was lost".to_owned(),
            may_resume: true,
        },
        now,
    );
    state.apply(ready("333 333 333"), now);
    assert_eq!(
        waiting(&state).notices,
        vec![Notice::MayResume {
            until: now + window
        }]
    );

    // Once it has passed, a new code comes without the notice.
    let mut state_later = AgentUiState::new();
    state_later.apply(
        UiEvent::SessionEnded {
            reason: "the connection was lost".to_owned(),
            may_resume: true,
        },
        now,
    );
    state_later.apply(ready("444 444 444"), now + window);
    assert!(waiting(&state_later).notices.is_empty());

    // A session that was ended on purpose says nothing of the kind.
    let mut ended = AgentUiState::new();
    ended.apply(
        UiEvent::SessionEnded {
            reason: "the technician ended the session".to_owned(),
            may_resume: false,
        },
        now,
    );
    ended.apply(ready("555 555 555"), now);
    assert!(waiting(&ended).notices.is_empty());
}

#[test]
fn a_withdrawn_file_offer_takes_its_question_away_and_only_its_own() {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    state.apply(
        UiEvent::SessionActive {
            technician: technician(),
            granted: Scope::FileTransfer.into(),
        },
        now,
    );
    state.apply(
        UiEvent::ActionConfirmationNeeded {
            id: 4,
            technician: technician(),
            scope: Scope::FileTransfer,
            description: "receive the file a.deb (1.0 kB) into /tmp".to_owned(),
        },
        now,
    );
    let pending = |state: &AgentUiState| match &state.phase {
        Phase::Session(session) => session.pending_action.as_ref().map(|(id, ..)| *id),
        other => panic!("not in a session: {other:?}"),
    };
    assert_eq!(pending(&state), Some(4));
    // Another action's withdrawal leaves this question up.
    state.apply(UiEvent::ActionWithdrawn { id: 3 }, now);
    assert_eq!(pending(&state), Some(4));
    state.apply(UiEvent::ActionWithdrawn { id: 4 }, now);
    assert_eq!(pending(&state), None);
}
