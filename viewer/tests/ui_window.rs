//! The viewer's window driven by `egui_kittest` without a network: the session's end
//! of the link stands in for the session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lifeline_protocol::message::KeyEvent;
use lifeline_protocol::{Scope, ScopeSet};
use lifeline_viewer::link::{
    Command, CommandUpdate, ConnectRequest, RequestCredential, SessionEnd, Stats, Status, Update,
    VideoFrame, link,
};
use lifeline_viewer::ui::{ViewerUi, WindowOptions};

struct Rig {
    harness: Harness<'static, ViewerUi>,
    session: SessionEnd,
    _data_dir: tempfile::TempDir,
}

fn rig() -> Rig {
    let data_dir = tempfile::tempdir().unwrap();
    let (session, window) = link();
    let state = ViewerUi::new(
        window,
        WindowOptions {
            data_dir: Some(data_dir.path().to_path_buf()),
            ..WindowOptions::default()
        },
    );
    let harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(
            |ui, state: &mut ViewerUi| {
                state.logic(ui.ctx());
                state.window_ui(ui);
            },
            state,
        );
    Rig {
        harness,
        session,
        _data_dir: data_dir,
    }
}

impl Rig {
    /// A few frames: enough for clicks to land and updates to be drained. (A spinner
    /// keeps asking for repaints, so `run()` would never settle.)
    fn settle(&mut self) {
        self.harness.run_steps(3);
    }

    fn commands(&mut self) -> Vec<Command> {
        let mut commands = Vec::new();
        while let Ok(command) = self.session.commands.try_recv() {
            commands.push(command);
        }
        commands
    }

    fn type_into(&mut self, label: &str, text: &str) {
        self.harness.get_by_label(label).click();
        self.settle();
        self.harness.get_by_label(label).type_text(text);
        self.settle();
    }

    fn active_session(&mut self, granted: ScopeSet) {
        self.session.update(Update::Status(Status::Active));
        self.session.update(Update::Granted(granted));
        self.settle();
    }
}

#[test]
fn the_connect_screen_sends_what_was_typed() {
    let mut rig = rig();
    rig.settle();
    rig.type_into("Address", "10.0.0.5:7070");
    rig.type_into("Code", "123 456 789");
    rig.type_into("Your name", "Sam Lee");
    rig.harness.get_by_label("Use the clipboard").click();
    rig.settle();
    rig.harness.get_by_label("Connect").click();
    rig.settle();

    // The connection first; the quality preference follows it.
    assert_eq!(
        rig.commands()[..1],
        vec![Command::Connect(ConnectRequest {
            address: "10.0.0.5:7070".into(),
            credential: RequestCredential::Code("123 456 789".into()),
            agent_fingerprint: None,
            scopes: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput, Scope::Clipboard]),
            technician_name: "Sam Lee".into(),
            reason: String::new(),
        })]
    );
    assert_eq!(rig.harness.state().status(), &Status::Connecting);
    assert_eq!(
        rig.harness.state().recent().devices[0].address,
        "10.0.0.5:7070"
    );
    let saved = std::fs::read_to_string(rig._data_dir.path().join("recent.json")).unwrap();
    assert!(saved.contains("10.0.0.5:7070"), "{saved}");
}

#[test]
fn a_short_code_is_refused_with_words_and_nothing_is_sent() {
    let mut rig = rig();
    rig.settle();
    rig.type_into("Address", "10.0.0.5:7070");
    rig.type_into("Code", "123 456");
    rig.type_into("Your name", "Sam");
    rig.harness.get_by_label("Connect").click();
    rig.settle();
    assert!(rig.commands().is_empty());
    rig.harness
        .get_by_label_contains("The code has 9 digits; 6 typed");
}

#[test]
fn the_status_and_the_end_reason_are_shown_in_words() {
    let mut rig = rig();
    rig.session
        .update(Update::Status(Status::WaitingForConsent));
    rig.settle();
    rig.harness
        .get_by_label("Waiting for the end user to allow the connection…");
    rig.harness.get_by_label("Cancel").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::Disconnect]);

    rig.session.update(Update::Status(Status::Ended(
        "the end user refused the connection".into(),
    )));
    rig.settle();
    rig.harness
        .get_by_label("Not connected: the end user refused the connection");
}

#[test]
fn a_recent_device_fills_the_address() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut recent = lifeline_viewer::ui::recent::RecentDevices::default();
    recent.remember("192.168.1.20:7070", "Sam", 1);
    recent.remember("10.0.0.5:7070", "Sam", 2);
    recent.save(data_dir.path()).unwrap();
    let (_session, window) = link();
    let state = ViewerUi::new(
        window,
        WindowOptions {
            data_dir: Some(data_dir.path().to_path_buf()),
            ..WindowOptions::default()
        },
    );
    assert_eq!(
        state.form().address,
        "10.0.0.5:7070",
        "the newest is filled in"
    );
    assert_eq!(state.form().technician_name, "Sam");
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(
            |ui, state: &mut ViewerUi| {
                state.logic(ui.ctx());
                state.window_ui(ui);
            },
            state,
        );
    harness.run_steps(2);
    harness.get_by_label("192.168.1.20:7070").click();
    harness.run_steps(2);
    assert_eq!(harness.state().form().address, "192.168.1.20:7070");
}

#[test]
fn send_keys_ctrl_alt_del_sends_the_six_key_events_in_order() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]));
    rig.harness.get_by_label("Send keys").click();
    rig.settle();
    rig.harness.get_by_label("Ctrl+Alt+Del").click();
    rig.settle();
    let keys: Vec<(u16, bool)> = rig
        .commands()
        .into_iter()
        .map(|command| match command {
            Command::Key(KeyEvent {
                usb_hid_usage,
                pressed,
                ..
            }) => (usb_hid_usage, pressed),
            other => panic!("only keys expected, got {other:?}"),
        })
        .collect();
    assert_eq!(
        keys,
        vec![
            (0xE0, true),
            (0xE2, true),
            (0x4C, true),
            (0x4C, false),
            (0xE2, false),
            (0xE0, false)
        ]
    );
}

#[test]
fn request_more_asks_for_the_ticked_permissions() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen]));
    rig.harness.get_by_label("Request more…").click();
    rig.settle();
    rig.harness.get_by_label("Send and receive files").click();
    rig.settle();
    rig.harness.get_by_label("Ask").click();
    rig.settle();
    assert_eq!(
        rig.commands(),
        vec![Command::RequestScopes(ScopeSet::from([
            Scope::FileTransfer
        ]))]
    );
    rig.session.update(Update::Refused {
        scopes: ScopeSet::from([Scope::FileTransfer]),
    });
    rig.settle();
    assert_eq!(
        rig.harness.state().notice(),
        Some("The end user did not allow: Files.")
    );
}

#[test]
fn disconnect_ends_the_session_and_returns_to_the_form() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]));
    rig.harness.get_by_label("Disconnect").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::Disconnect]);
    assert_eq!(rig.harness.state().status(), &Status::Idle);
    rig.harness.get_by_label("Connect");
}

#[test]
fn a_frame_in_the_slot_becomes_a_texture_of_its_size_and_its_buffer_is_recycled() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen]));
    assert_eq!(rig.harness.state().screen().size(), None);
    rig.harness
        .get_by_label_contains("Waiting for the first picture");
    let (width, height) = (320, 200);
    rig.session.frames.put(VideoFrame {
        width,
        height,
        rgba: vec![128; (width * height * 4) as usize],
        sequence: 7,
    });
    rig.session.update(Update::Stats(Stats {
        fps: 30.0,
        rtt_ms: 12.0,
        bitrate_bps: 4_200_000.0,
        latency_ms: 35.0,
        decode_ms: 3.1,
    }));
    rig.settle();
    let screen = rig.harness.state().screen();
    assert_eq!(screen.size(), Some([320, 200]));
    assert_eq!(screen.sequence(), Some(7));
    assert_eq!(
        rig.session.frames.buffer().len(),
        320 * 200 * 4,
        "the frame's pixel buffer went back to the slot"
    );
}

#[test]
fn the_input_permission_gates_the_send_keys_menu() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen]));
    rig.harness.get_by_label("Send keys").click();
    rig.settle();
    assert!(rig.harness.query_by_label("Ctrl+Alt+Del").is_none());
    assert!(rig.commands().is_empty());
}

#[test]
fn unattended_connect_sends_the_second_factor_and_the_device_key_instead_of_a_code() {
    let mut rig = rig();
    rig.settle();
    rig.type_into("Address", "10.0.0.9:7443");
    rig.harness
        .get_by_label("Unattended: no code, with my organisation's certificate")
        .click();
    rig.settle();
    assert!(rig.harness.query_by_label("Code").is_none());
    rig.type_into("2nd factor", "123 456");
    rig.type_into("Device key", &"ab".repeat(32));
    rig.type_into("Your name", "Sam Lee");
    rig.harness.get_by_label("Connect").click();
    rig.settle();
    assert_eq!(
        rig.commands()[..1],
        vec![Command::Connect(ConnectRequest {
            address: "10.0.0.9:7443".into(),
            credential: RequestCredential::Unattended {
                totp: Some("123456".into())
            },
            agent_fingerprint: Some(lifeline_protocol::Fingerprint([0xab; 32])),
            scopes: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]),
            technician_name: "Sam Lee".into(),
            reason: String::new(),
        })]
    );
}

#[test]
fn the_commands_window_sends_a_command_and_shows_the_wait_and_the_output() {
    let mut rig = rig();
    rig.session.update(Update::Status(Status::Active));
    rig.session.update(Update::Granted(ScopeSet::from([
        Scope::ViewScreen,
        Scope::RunCommands,
    ])));
    rig.settle();
    rig.harness.get_by_label("Commands…").click();
    rig.settle();
    rig.type_into("Command", "uptime");
    rig.harness.get_by_label("Run").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::RunCommand("uptime".into())]);
    rig.session.update(Update::Command(CommandUpdate::Sent {
        id: 1,
        command_line: "uptime".into(),
    }));
    rig.session
        .update(Update::Command(CommandUpdate::WaitingForApproval { id: 1 }));
    rig.settle();
    rig.harness
        .get_by_label("Waiting for the end user to approve this command…");
    rig.session.update(Update::Command(CommandUpdate::Finished(
        lifeline_protocol::action::CommandOutput {
            id: 1,
            exit_code: Some(0),
            stdout: "up 3 days".into(),
            stderr: String::new(),
            truncated: false,
        },
    )));
    rig.settle();
    rig.harness.get_by_label("up 3 days");
    rig.harness.get_by_label("Exit code 0.");
}

#[test]
fn a_lost_connection_offers_to_reconnect_without_a_code() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]));
    let session = lifeline_protocol::message::SessionId([0x51; 16]);
    let agent = lifeline_protocol::PublicKey([0xA6; 32]).fingerprint();
    let original = ConnectRequest {
        address: "10.0.0.5:7070".into(),
        credential: RequestCredential::Code("123 456 789".into()),
        agent_fingerprint: None,
        scopes: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput]),
        technician_name: "Sam".into(),
        reason: String::new(),
    };
    let resume = original.to_resume(session, agent);
    rig.session.update(Update::ReconnectOffer(
        lifeline_viewer::link::ReconnectOffer {
            request: resume.clone(),
            until: std::time::Instant::now() + std::time::Duration::from_secs(100),
        },
    ));
    rig.session.update(Update::Status(Status::Ended(
        "the agent is gone: the connection was lost".into(),
    )));
    rig.settle();
    rig.harness
        .get_by_label_contains("The connection to 10.0.0.5:7070 was lost.");
    rig.harness.get_by_label_contains("without a new code");
    rig.harness.get_by_label("Reconnect").click();
    rig.settle();
    let commands = rig.commands();
    assert_eq!(commands.first(), Some(&Command::Connect(resume.clone())));
    assert_eq!(
        resume.credential,
        RequestCredential::Resume(session),
        "no code is sent"
    );
    assert_eq!(resume.agent_fingerprint, Some(agent));
    assert_eq!(rig.harness.state().status(), &Status::Connecting);
}

#[test]
fn an_expired_offer_or_a_session_ended_on_purpose_shows_no_reconnect_button() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen]));
    rig.session.update(Update::Status(Status::Ended(
        "the end user stopped the session".into(),
    )));
    rig.settle();
    assert!(rig.harness.query_by_label("Reconnect").is_none());

    rig.active_session(ScopeSet::from([Scope::ViewScreen]));
    let request = ConnectRequest {
        address: "10.0.0.5:7070".into(),
        credential: RequestCredential::Code("123 456 789".into()),
        agent_fingerprint: None,
        scopes: ScopeSet::from([Scope::ViewScreen]),
        technician_name: "Sam".into(),
        reason: String::new(),
    };
    rig.session.update(Update::ReconnectOffer(
        lifeline_viewer::link::ReconnectOffer {
            request: request.to_resume(
                lifeline_protocol::message::SessionId([1; 16]),
                lifeline_protocol::PublicKey([2; 32]).fingerprint(),
            ),
            until: std::time::Instant::now(),
        },
    ));
    rig.session.update(Update::Status(Status::Ended(
        "the connection was lost".into(),
    )));
    rig.settle();
    assert!(rig.harness.query_by_label("Reconnect").is_none());
}

#[test]
fn the_chat_window_opens_for_the_end_users_line_and_sends_the_technicians() {
    let mut rig = rig();
    rig.active_session(ScopeSet::from([Scope::ViewScreen]));
    rig.session
        .update(Update::ChatFromEndUser("The printer says paper jam".into()));
    rig.settle();
    rig.harness.get_by_label("The printer says paper jam");
    rig.type_into("Message", "Open the back cover, please");
    rig.harness.get_by_label("Send").click();
    rig.settle();
    assert_eq!(
        rig.commands(),
        vec![Command::Chat("Open the back cover, please".into())]
    );
    rig.harness.get_by_label("Open the back cover, please");
}
