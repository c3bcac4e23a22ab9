//! The "System" window driven by `egui_kittest` without a network: the session's end of
//! the link stands in for the session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lifeline_protocol::system::{
    Diagnostic, DiagnosticReport, DiagnosticStatus, DiskInfo, InterfaceAddress, NetworkInterface,
    SystemInfoResult, SystemReport,
};
use lifeline_protocol::{Scope, ScopeSet};
use lifeline_viewer::link::{Command, InspectionUpdate, SessionEnd, Status, Update, link};
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
        .with_size([1280.0, 900.0])
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

    fn inspection(&mut self, update: InspectionUpdate) {
        self.session.update(Update::Inspection(update));
        self.settle();
    }
}

fn report() -> SystemReport {
    SystemReport {
        os_name: "Debian GNU/Linux".into(),
        os_version: "13 (trixie)".into(),
        kernel: "Linux 6.12.48".into(),
        host_name: "front-desk".into(),
        uptime_secs: 2 * 86_400 + 3 * 3600 + 4 * 60,
        cpu_model: "Example CPU".into(),
        cpu_count: 4,
        memory_total_bytes: 16 << 30,
        memory_available_bytes: 6 << 30,
        disks: vec![DiskInfo {
            mount_point: "/".into(),
            device: "/dev/vda1".into(),
            file_system: "ext4".into(),
            total_bytes: 100 << 30,
            free_bytes: 40 << 30,
        }],
        interfaces: vec![
            NetworkInterface {
                name: "eth0".into(),
                up: true,
                mac: Some("52:54:00:12:34:56".into()),
                addresses: vec![InterfaceAddress {
                    address: [192, 0, 2, 2].into(),
                    prefix_len: 24,
                }],
            },
            NetworkInterface {
                name: "wlan0".into(),
                up: false,
                mac: Some("52:54:00:ab:cd:ef".into()),
                addresses: vec![],
            },
        ],
        user: "alice".into(),
        lifeline_version: "0.1.0".into(),
        ..SystemReport::default()
    }
}

#[test]
fn opening_the_window_asks_for_the_report_and_shows_it() {
    let mut rig = rig(ScopeSet::from([Scope::ViewScreen, Scope::SystemInfo]));
    // No window and no request until the technician opens it.
    assert!(rig.harness.query_by_label("System information").is_none());
    assert!(rig.commands().is_empty());
    rig.harness.get_by_label("System…").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::RequestSystemInfo]);
    rig.inspection(InspectionUpdate::SystemInfoSent { id: 1 });
    rig.harness.get_by_label("Asking the end user's computer…");
    rig.inspection(InspectionUpdate::SystemInfo {
        id: 1,
        result: SystemInfoResult::Report(Box::new(report())),
    });
    rig.harness.get_by_label("front-desk");
    rig.harness.get_by_label("alice");
    rig.harness.get_by_label("Debian GNU/Linux 13 (trixie)");
    rig.harness.get_by_label("2 days 3 h 4 min");
    rig.harness.get_by_label("6.0 GiB available of 16.0 GiB");
    rig.harness
        .get_by_label("/: 40.0 GiB free of 100.0 GiB (ext4, /dev/vda1)");
    rig.harness
        .get_by_label("eth0 (up) 192.0.2.2/24 [52:54:00:12:34:56]");
    rig.harness.get_by_label("wlan0 (down) [52:54:00:ab:cd:ef]");
    // Diagnostics were not granted: the window says so instead of offering them.
    rig.harness.get_by_label(
        "Not allowed: ask the end user for the \"Diagnostics\" permission in the toolbar.",
    );
    assert!(rig.harness.query_by_label("Disk space").is_none());

    rig.harness.get_by_label("Refresh").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::RequestSystemInfo]);
}

#[test]
fn a_platform_without_a_report_is_shown_with_its_reason() {
    let mut rig = rig(ScopeSet::from([Scope::SystemInfo]));
    rig.harness.get_by_label("System…").click();
    rig.settle();
    rig.commands();
    rig.inspection(InspectionUpdate::SystemInfoSent { id: 1 });
    rig.inspection(InspectionUpdate::SystemInfo {
        id: 1,
        result: SystemInfoResult::Unavailable {
            reason: "system information is not supported on this platform yet".into(),
        },
    });
    rig.harness.get_by_label(
        "No system information: system information is not supported on this platform yet.",
    );
}

#[test]
fn the_diagnostics_menu_checks_arguments_and_shows_results() {
    let mut rig = rig(ScopeSet::from([Scope::ViewScreen, Scope::Diagnostics]));
    rig.harness.get_by_label("System…").click();
    rig.settle();
    // Without `sysinfo`, opening asks for nothing.
    assert!(rig.commands().is_empty());
    rig.harness.get_by_label("Disk space").click();
    rig.settle();
    assert_eq!(
        rig.commands(),
        vec![Command::RunDiagnostic(Diagnostic::DiskSpace)]
    );

    // A host name with a shell character is refused before anything is sent.
    rig.harness.get_by_label("Host name").click();
    rig.settle();
    rig.harness
        .get_by_label("Host name")
        .type_text("example.com;reboot");
    rig.settle();
    rig.harness.get_by_label("Resolve a host name").click();
    rig.settle();
    assert!(rig.commands().is_empty());
    rig.harness.get_by_label(
        "Not run: the dns diagnostic takes host names of letters, digits, dots and hyphens \
         only, not \"example.com;reboot\".",
    );

    rig.harness.get_by_label("Host:port").click();
    rig.settle();
    rig.harness
        .get_by_label("Host:port")
        .type_text("localhost:8080");
    rig.settle();
    rig.harness.get_by_label("Reach a TCP port").click();
    rig.settle();
    let tcp = Diagnostic::TcpConnect {
        host: "localhost".into(),
        port: 8080,
    };
    assert_eq!(rig.commands(), vec![Command::RunDiagnostic(tcp.clone())]);
    rig.inspection(InspectionUpdate::DiagnosticSent {
        id: 7,
        diagnostic: tcp,
    });
    rig.harness.get_by_label("tcp localhost:8080: running…");
    rig.inspection(InspectionUpdate::DiagnosticResult(DiagnosticReport {
        id: 7,
        status: DiagnosticStatus::Failed,
        summary: "localhost:8080 does not accept connections".into(),
        details: vec!["127.0.0.1:8080: Connection refused (os error 111)".into()],
    }));
    rig.harness.get_by_label("Failed");
    rig.harness
        .get_by_label("localhost:8080 does not accept connections");
    rig.harness
        .get_by_label("    127.0.0.1:8080: Connection refused (os error 111)");
}

#[test]
fn without_either_permission_there_is_no_system_window() {
    let mut rig = rig(ScopeSet::from([Scope::ViewScreen, Scope::RunCommands]));
    assert!(rig.harness.query_by_label("System…").is_none());
    rig.inspection(InspectionUpdate::SystemInfoSent { id: 1 });
    assert!(rig.harness.query_by_label("System information").is_none());
}
