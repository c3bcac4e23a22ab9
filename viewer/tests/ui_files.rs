//! The "Files" window driven by `egui_kittest` without a network: the session's end of
//! the link stands in for the session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lifeline_protocol::{Scope, ScopeSet};
use lifeline_viewer::link::{Command, FileDirection, FileUpdate, SessionEnd, Status, Update, link};
use lifeline_viewer::ui::{ViewerUi, WindowOptions};

struct Rig {
    harness: Harness<'static, ViewerUi>,
    session: SessionEnd,
    _data_dir: tempfile::TempDir,
}

fn rig(granted: ScopeSet) -> Rig {
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
    let mut rig = Rig {
        harness,
        session,
        _data_dir: data_dir,
    };
    rig.session.update(Update::Status(Status::Active));
    rig.session.update(Update::Granted(granted));
    rig.settle();
    rig
}

impl Rig {
    /// A few frames: enough for clicks to land and updates to be drained (a spinner
    /// keeps asking for repaints, so `run()` would never settle).
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

    fn file(&mut self, update: FileUpdate) {
        self.session.update(Update::File(update));
        self.settle();
    }
}

fn with_files() -> ScopeSet {
    ScopeSet::from([Scope::ViewScreen, Scope::FileTransfer])
}

#[test]
fn the_files_window_sends_a_file_and_shows_the_wait_the_progress_and_where_it_went() {
    let mut rig = rig(with_files());
    rig.harness.get_by_label("Files…").click();
    rig.settle();
    rig.type_into("File to send", "/home/sam/fix.sh");
    rig.harness.get_by_label("Send").click();
    rig.settle();
    assert_eq!(
        rig.commands(),
        vec![Command::SendFile("/home/sam/fix.sh".into())]
    );
    rig.file(FileUpdate::Started {
        ticket: 1,
        direction: FileDirection::Send,
        name: "fix.sh".into(),
    });
    rig.file(FileUpdate::WaitingForApproval { ticket: 1 });
    rig.harness
        .get_by_label("Waiting for the end user to approve this file…");
    // Until it is accepted, the offer can be withdrawn.
    rig.harness.get_by_label("Withdraw").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::CancelFile(1)]);
    rig.file(FileUpdate::Progress {
        ticket: 1,
        done: 1_000_000,
        total: 4_000_000,
    });
    rig.harness.get_by_label("1.0 MB of 4.0 MB");
    // Cancel stops it by its ticket.
    rig.harness.get_by_label("Cancel").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::CancelFile(1)]);
    rig.file(FileUpdate::Done {
        ticket: 1,
        saved_as: "fix (1).sh".into(),
        size: 4_000_000,
        sha256: "ab".repeat(32),
    });
    rig.harness
        .get_by_label("Saved in their Downloads as fix (1).sh (4.0 MB).");
    rig.harness
        .get_by_label(&format!("SHA-256 {}", "ab".repeat(32)));
}

#[test]
fn the_files_window_fetches_a_path_and_shows_a_refusal() {
    let mut rig = rig(with_files());
    rig.harness.get_by_label("Files…").click();
    rig.settle();
    rig.type_into("File to fetch", "~/Documents/report.pdf");
    rig.harness.get_by_label("Fetch").click();
    rig.settle();
    assert_eq!(
        rig.commands(),
        vec![Command::FetchFile("~/Documents/report.pdf".into())]
    );
    rig.file(FileUpdate::Started {
        ticket: 2,
        direction: FileDirection::Fetch,
        name: "~/Documents/report.pdf".into(),
    });
    rig.harness.get_by_label("← ~/Documents/report.pdf");
    // A fetch can be withdrawn while the end user is asked, too.
    rig.file(FileUpdate::WaitingForApproval { ticket: 2 });
    rig.harness.get_by_label("Withdraw");
    rig.file(FileUpdate::Refused {
        ticket: 2,
        reason: "the end user refused to send this file".into(),
    });
    rig.harness
        .get_by_label("Not moved: the end user refused to send this file.");
}

#[test]
fn without_the_files_permission_there_is_no_files_button() {
    let mut rig = rig(ScopeSet::from([Scope::ViewScreen]));
    assert!(rig.harness.query_by_label("Files…").is_none());
    rig.session.update(Update::Granted(with_files()));
    rig.settle();
    rig.harness.get_by_label("Files…");
}

#[test]
fn a_withdrawn_offer_reads_as_withdrawn_not_as_a_failure() {
    let mut rig = rig(with_files());
    rig.harness.get_by_label("Files…").click();
    rig.settle();
    rig.file(FileUpdate::Started {
        ticket: 5,
        direction: FileDirection::Send,
        name: "printer-driver.deb".into(),
    });
    rig.file(FileUpdate::WaitingForApproval { ticket: 5 });
    rig.file(FileUpdate::Withdrawn { ticket: 5 });
    rig.harness
        .get_by_label("Withdrawn before the end user answered; nothing moved.");
    assert!(rig.harness.query_by_label("Withdraw").is_none());
}
