//! The agent's window screens, driven through `egui_kittest`: what the end user reads,
//! what each click sends to the session.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::{Duration, Instant};

use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::Queryable;
use lifeline_agent::ui::text::{Lang, Texts};
use lifeline_agent::ui::window::state::Notice;
use lifeline_agent::ui::window::{AgentUiState, Phase, WindowMode, agent_ui, fonts};
use lifeline_agent::ui::{UiEvent, UserCommand};
use lifeline_protocol::message::{TechnicianIdentity, Verification};
use lifeline_protocol::session::{ConsentAnswer, ConsentPrompt};
use lifeline_protocol::{Fingerprint, Scope, ScopeSet};

const CODE: &str = "482 193 705";
const NAME: &str = "Alice Tech";
const REASON: &str = "Printer ticket #4411: the printer no longer prints";

/// What one harness draws and what it sent.
struct Screen {
    state: AgentUiState,
    texts: &'static Texts,
    now: Instant,
    sent: Vec<UserCommand>,
}

fn screen_ui(ui: &mut egui::Ui, screen: &mut Screen) {
    if let Some(command) = agent_ui(ui, &mut screen.state, screen.texts, screen.now) {
        screen.sent.push(command);
    }
}

fn harness(lang: Lang, events: Vec<UiEvent>) -> Harness<'static, Screen> {
    let now = Instant::now();
    let mut state = AgentUiState::new();
    for event in events {
        state.apply(event, now);
    }
    let screen = Screen {
        state,
        texts: lang.texts(),
        now,
        sent: Vec::new(),
    };
    let mut harness = Harness::builder()
        .with_size(egui::vec2(520.0, 660.0))
        .with_context_setup(move |ctx| {
            fonts::apply_style(ctx);
            let installed = fonts::install_cjk_font(ctx, lang, fonts::CJK_FONT_CANDIDATES);
            assert!(
                installed || lang == Lang::En,
                "no Chinese font: install the Debian package {}",
                fonts::CJK_FONT_PACKAGE
            );
        })
        .build_ui_state(screen_ui, screen);
    settle(&mut harness);
    harness
}

fn fingerprint() -> Fingerprint {
    let mut bytes = [0_u8; 32];
    for (i, byte) in bytes.iter_mut().enumerate() {
        *byte = u8::try_from(i * 7 + 3).unwrap();
    }
    Fingerprint(bytes)
}

fn technician(verification: Verification) -> TechnicianIdentity {
    TechnicianIdentity {
        display_name: NAME.to_owned(),
        fingerprint: fingerprint(),
        verification,
    }
}

fn ready() -> UiEvent {
    UiEvent::Ready {
        device_id: "192.0.2.10:4433".to_owned(),
        code: CODE.to_owned(),
        expires_in: Duration::from_secs(300),
    }
}

fn consent_needed(scopes: ScopeSet, verification: Verification) -> UiEvent {
    UiEvent::ConsentNeeded(ConsentPrompt {
        technician: technician(verification),
        scopes,
        reason: REASON.to_owned(),
        unattended: false,
    })
}

fn session_active(granted: ScopeSet) -> UiEvent {
    UiEvent::SessionActive {
        technician: technician(Verification::Unverified),
        granted,
    }
}

fn view_and_input() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::ControlInput])
}

/// Lets the ui settle. Not `Harness::run`: the starting and ended screens show a
/// spinner, which repaints for ever.
fn settle(harness: &mut Harness<'_, Screen>) {
    harness.run_steps(4);
    harness.check_accessibility();
}

fn click(harness: &mut Harness<'_, Screen>, label: &str) {
    harness.get_by_label(label).click();
    settle(harness);
}

#[test]
fn consent_prompt_names_the_technician_reason_permissions_and_warns() {
    let en = Lang::En.texts();
    let scopes = ScopeSet::from([Scope::ViewScreen, Scope::ControlInput, Scope::Clipboard]);
    let harness = harness(
        Lang::En,
        vec![ready(), consent_needed(scopes, Verification::Unverified)],
    );

    harness.get_by_label(en.consent_title);
    harness.get_by_label(NAME);
    harness.get_by_label(en.wants_to_connect);
    harness.get_by_label(&fingerprint().to_string());
    harness.get_by_label("Identity not verified");
    harness.get_by_label(REASON);
    harness.get_by_label("See your screen");
    harness.get_by_label("Control your mouse and keyboard");
    harness.get_by_label("Read and change your clipboard");
    assert!(harness.query_by_label("Send and receive files").is_none());
    harness.get_by_label_contains("Only allow someone you contacted yourself");
    harness.get_by_label("Allow");
    harness.get_by_label("Deny");
}

#[test]
fn unticking_control_then_allow_grants_only_the_view() {
    let mut harness = harness(
        Lang::En,
        vec![
            ready(),
            consent_needed(view_and_input(), Verification::Unverified),
        ],
    );

    click(&mut harness, "Control your mouse and keyboard");
    assert!(
        harness.state().sent.is_empty(),
        "a tick alone sends nothing"
    );
    click(&mut harness, "Allow");

    let expected =
        UserCommand::AnswerConsent(ConsentAnswer::Allow(ScopeSet::from(Scope::ViewScreen)));
    assert_eq!(harness.state().sent, vec![expected]);
    assert!(matches!(
        harness.state().state.phase,
        Phase::WaitingForTechnician(_)
    ));
}

#[test]
fn deny_refuses() {
    let mut harness = harness(
        Lang::En,
        vec![
            ready(),
            consent_needed(view_and_input(), Verification::Unverified),
        ],
    );

    click(&mut harness, "Deny");

    let expected = UserCommand::AnswerConsent(ConsentAnswer::Deny {
        reason: String::new(),
    });
    assert_eq!(harness.state().sent, vec![expected]);
}

#[test]
fn allow_with_nothing_ticked_refuses() {
    let mut harness = harness(
        Lang::En,
        vec![
            ready(),
            consent_needed(view_and_input(), Verification::Unverified),
        ],
    );

    click(&mut harness, "See your screen");
    click(&mut harness, "Control your mouse and keyboard");
    click(&mut harness, "Allow");

    let expected = UserCommand::AnswerConsent(ConsentAnswer::Deny {
        reason: String::new(),
    });
    assert_eq!(harness.state().sent, vec![expected]);
}

#[test]
fn verified_technician_shows_the_organisation() {
    let verified = Verification::Organisation {
        organisation: "Acme IT".to_owned(),
    };
    let harness = harness(
        Lang::En,
        vec![ready(), consent_needed(view_and_input(), verified)],
    );

    harness.get_by_label("Verified by Acme IT");
    assert!(harness.query_by_label("Identity not verified").is_none());
}

#[test]
fn request_for_more_is_answered_as_a_scope_request_and_returns_to_the_banner() {
    let request = UiEvent::ScopeRequestNeeded {
        technician: technician(Verification::Unverified),
        scopes: ScopeSet::from(Scope::FileTransfer),
        reason: "Send the new driver".to_owned(),
    };
    let mut harness = harness(Lang::En, vec![session_active(view_and_input()), request]);
    harness.get_by_label("The technician asks for more");
    harness.get_by_label("Send the new driver");

    click(&mut harness, "Allow");

    let expected =
        UserCommand::AnswerScopeRequest(ConsentAnswer::Allow(ScopeSet::from(Scope::FileTransfer)));
    assert_eq!(harness.state().sent, vec![expected]);
    harness.get_by_label("Stop");
    assert_eq!(
        harness.state().state.window_mode(),
        WindowMode::Banner {
            permissions: 2,
            chat_lines: 0
        }
    );
}

#[test]
fn banner_switch_revokes_that_permission() {
    let mut harness = harness(Lang::En, vec![session_active(view_and_input())]);
    harness.get_by_label(NAME);
    harness.get_by_label("Identity not verified");
    harness.get_by_label("They may now:");

    click(&mut harness, "Control your mouse and keyboard");

    let expected = UserCommand::Revoke(ScopeSet::from(Scope::ControlInput));
    assert_eq!(harness.state().sent, vec![expected]);
    assert!(
        harness
            .query_by_label("Control your mouse and keyboard")
            .is_none()
    );
    harness.get_by_label("See your screen");
    assert_eq!(
        harness.state().state.window_mode(),
        WindowMode::Banner {
            permissions: 1,
            chat_lines: 0
        }
    );
}

#[test]
fn session_changes_update_the_banner() {
    let mut harness = harness(Lang::En, vec![session_active(view_and_input())]);

    let now = harness.state().now;
    let narrower = UiEvent::ScopesChanged(ScopeSet::from(Scope::ViewScreen));
    harness.state_mut().state.apply(narrower, now);
    settle(&mut harness);

    assert!(
        harness
            .query_by_label("Control your mouse and keyboard")
            .is_none()
    );
    harness.get_by_label("See your screen");
}

#[test]
fn stop_sends_stop_and_shows_the_end() {
    let mut harness = harness(Lang::En, vec![session_active(view_and_input())]);

    click(&mut harness, "Stop");

    assert_eq!(harness.state().sent, vec![UserCommand::Stop]);
    harness.get_by_label("The session has ended");
    assert_eq!(harness.state().state.window_mode(), WindowMode::Code);
}

#[test]
fn after_the_end_the_next_code_shows_again() {
    let ended = UiEvent::SessionEnded {
        reason: "The technician disconnected".to_owned(),
        may_resume: false,
    };
    let mut harness = harness(Lang::En, vec![session_active(view_and_input()), ended]);
    harness.get_by_label("The session has ended");
    harness.get_by_label("The technician disconnected");

    let now = harness.state().now;
    harness.state_mut().state.apply(ready(), now);
    settle(&mut harness);

    harness.get_by_label(CODE);
}

#[test]
fn after_a_lost_connection_the_code_screen_says_the_technician_may_come_back() {
    let ended = UiEvent::SessionEnded {
        reason: "the connection was lost".to_owned(),
        may_resume: true,
    };
    let mut harness = harness(Lang::En, vec![session_active(view_and_input()), ended]);
    let now = harness.state().now;
    harness.state_mut().state.apply(ready(), now);
    settle(&mut harness);

    harness.get_by_label(CODE);
    harness.get_by_label_contains("may reconnect without a new code");
    harness.get_by_label_contains("within 2:00");

    // The end user does not want that.
    harness.get_by_label("Do not let them reconnect").click();
    settle(&mut harness);
    assert_eq!(harness.state().sent, vec![UserCommand::RefuseResume]);
    assert!(
        harness
            .query_by_label_contains("may reconnect without a new code")
            .is_none()
    );
    harness.get_by_label(CODE);
}

#[test]
fn the_banner_shows_the_technicians_chat_line_and_sends_the_answer() {
    let mut harness = harness(
        Lang::En,
        vec![
            session_active(view_and_input()),
            UiEvent::ChatFromTechnician("I will restart the print spooler".to_owned()),
        ],
    );
    harness.get_by_label("I will restart the print spooler");
    harness.get_by_label(&format!("{NAME}:"));
    harness.get_by_role(Role::TextInput).click();
    settle(&mut harness);
    harness
        .get_by_role(Role::TextInput)
        .type_text("OK, go ahead");
    settle(&mut harness);
    harness.get_by_label("Send").click();
    settle(&mut harness);
    assert_eq!(
        harness.state().sent,
        vec![UserCommand::Chat("OK, go ahead".to_owned())]
    );
    harness.get_by_label("You:");
    harness.get_by_label("OK, go ahead");
}

#[test]
fn chinese_texts_appear() {
    let zh = Lang::ZhCn.texts();
    let harness = harness(
        Lang::ZhCn,
        vec![
            ready(),
            consent_needed(view_and_input(), Verification::Unverified),
        ],
    );

    harness.get_by_label("允许远程协助吗？");
    harness.get_by_label(zh.wants_to_connect);
    harness.get_by_label("身份未经验证");
    harness.get_by_label("查看您的屏幕");
    harness.get_by_label("控制您的鼠标和键盘");
    harness.get_by_label(zh.scam_warning);
    harness.get_by_label("允许");
    harness.get_by_label("拒绝");
    assert!(harness.query_by_label("Allow").is_none());
}

#[test]
fn chinese_waiting_screen_shows_code_and_hint() {
    let zh = Lang::ZhCn.texts();
    let harness = harness(
        Lang::ZhCn,
        vec![ready(), UiEvent::WrongCodeTried { failures: 1 }],
    );

    harness.get_by_label("您的一次性验证码");
    harness.get_by_label(CODE);
    harness.get_by_label(zh.read_code_hint);
    harness.get_by_label(zh.wrong_code_tried);
    harness.get_by_label("复制");
}

#[test]
fn waiting_shows_device_id_code_and_time_left() {
    let harness = harness(Lang::En, vec![ready()]);

    harness.get_by_label("Your device ID");
    harness.get_by_label("192.0.2.10:4433");
    harness.get_by_label("Your one-time code");
    harness.get_by_label(CODE);
    harness.get_by_label("Valid for 5:00");
    harness.get_by_label(Lang::En.texts().read_code_hint);
    assert!(harness.query_by_label_contains("wrong code").is_none());
}

#[test]
fn wrong_code_tried_shows_the_notice() {
    let mut harness = harness(Lang::En, vec![ready()]);

    let now = harness.state().now;
    harness
        .state_mut()
        .state
        .apply(UiEvent::WrongCodeTried { failures: 1 }, now);
    settle(&mut harness);

    harness.get_by_label("Someone typed a wrong code for this computer.");
}

#[test]
fn code_lock_shows_the_seconds_to_wait() {
    let harness = harness(Lang::En, vec![ready(), UiEvent::CodeLocked { seconds: 30 }]);

    harness.get_by_label_contains("new attempts wait 30 s");
}

#[test]
fn expired_code_says_so() {
    let mut harness = harness(Lang::En, vec![ready()]);

    harness.state_mut().now += Duration::from_secs(301);
    settle(&mut harness);

    harness.get_by_label(Lang::En.texts().code_expired);
    assert!(harness.query_by_label_contains("Valid for").is_none());
}

#[test]
fn copy_puts_the_digits_on_the_clipboard() {
    let mut harness = harness(Lang::En, vec![ready()]);

    harness.get_by_label("Copy").click();
    harness.step();

    let copied = harness.output().platform_output.commands.iter().any(
        |command| matches!(command, egui::OutputCommand::CopyText(text) if text == "482193705"),
    );
    assert!(copied, "the code's digits were not copied");
    settle(&mut harness);
    harness.get_by_label("Copied");
    let Phase::WaitingForTechnician(waiting) = &harness.state().state.phase else {
        panic!("not waiting any more");
    };
    assert!(waiting.copied);
    assert!(
        waiting
            .notices
            .iter()
            .all(|notice| !matches!(notice, Notice::CodeLocked { .. }))
    );
}

#[test]
fn errors_show_until_dismissed() {
    let error = UiEvent::Error("The network is unreachable".to_owned());
    let mut harness = harness(Lang::En, vec![ready(), error]);
    harness.get_by_label("The network is unreachable");
    harness.get_by_label(CODE);

    click(&mut harness, "OK");

    assert!(
        harness
            .query_by_label("The network is unreachable")
            .is_none()
    );
    assert_eq!(harness.state().state.error, None);
}

#[test]
fn starting_screen_waits_for_the_first_code() {
    let harness = harness(Lang::En, Vec::new());

    harness.get_by_label("Starting…");
}

#[test]
fn a_file_to_confirm_names_the_file_its_size_and_the_folder_and_deny_answers_it() {
    let description = "receive the file report.pdf (2.4 MB) into /home/ann/Downloads";
    let action = UiEvent::ActionConfirmationNeeded {
        id: 8,
        technician: technician(Verification::Unverified),
        scope: Scope::FileTransfer,
        description: description.to_owned(),
    };
    let mut harness = harness(Lang::En, vec![session_active(view_and_input()), action]);
    harness.get_by_label_contains("asks to move a file, once");
    assert!(
        harness
            .query_by_label_contains("asks to run this command")
            .is_none()
    );
    harness.get_by_label(description);
    click(&mut harness, "Deny");
    assert_eq!(
        harness.state().sent,
        vec![UserCommand::AnswerAction {
            id: 8,
            approved: false
        }]
    );
    assert!(harness.query_by_label(description).is_none());
}

#[test]
fn a_command_to_confirm_shows_the_exact_line_and_allow_once_answers_it() {
    let action = UiEvent::ActionConfirmationNeeded {
        id: 7,
        technician: technician(Verification::Unverified),
        scope: Scope::RunCommands,
        description: "systemctl restart cups".to_owned(),
    };
    let mut harness = harness(Lang::En, vec![session_active(view_and_input()), action]);
    harness.get_by_label_contains("asks to run this command on your computer, once");
    harness.get_by_label("systemctl restart cups");
    click(&mut harness, "Allow once");
    assert_eq!(
        harness.state().sent,
        vec![UserCommand::AnswerAction {
            id: 7,
            approved: true
        }]
    );
    // Answered: the question is gone, the banner stays.
    assert!(harness.query_by_label("systemctl restart cups").is_none());
    harness.get_by_label("Stop");
}

#[test]
fn continue_question_keeps_the_session_with_one_click() {
    let question = UiEvent::ContinueQuestion {
        answer_within: std::time::Duration::from_secs(300),
    };
    let mut harness = harness(Lang::En, vec![session_active(view_and_input()), question]);
    harness.get_by_label("The support session is still running. Continue?");
    harness.get_by_label_contains("Without an answer it ends in 5:00");
    click(&mut harness, "Continue");
    assert_eq!(harness.state().sent, vec![UserCommand::ContinueSession]);
    assert!(
        harness
            .query_by_label("The support session is still running. Continue?")
            .is_none()
    );
}

#[test]
fn a_service_shows_whose_technicians_may_connect_and_no_code() {
    let service = UiEvent::UnattendedOnly {
        device_id: "host:7443".to_owned(),
        organisations: vec!["Acme IT".to_owned()],
    };
    let harness = harness(Lang::En, vec![service]);
    harness.get_by_label_contains("accepts remote support without a code");
    harness.get_by_label("• Acme IT");
    assert!(harness.query_by_label(CODE).is_none());
}
