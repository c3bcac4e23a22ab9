//! The monitor picker and the agent's pointer in the viewer's window, driven by
//! `egui_kittest` without a network: the session's end of the link stands in for the
//! session.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lifeline_protocol::message::{CursorImage, MonitorInfo, MonitorList};
use lifeline_protocol::{Scope, ScopeSet};
use lifeline_viewer::link::{Command, SessionEnd, Status, Update, VideoFrame, link};
use lifeline_viewer::ui::{ViewerUi, WindowOptions};

struct Rig {
    harness: Harness<'static, ViewerUi>,
    session: SessionEnd,
    _data_dir: tempfile::TempDir,
}

fn active_rig() -> Rig {
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
    rig.session.update(Update::Granted(ScopeSet::from([
        Scope::ViewScreen,
        Scope::ControlInput,
    ])));
    rig.session.frames.put(VideoFrame {
        width: 640,
        height: 360,
        rgba: vec![90; 640 * 360 * 4],
        sequence: 1,
    });
    rig.settle();
    rig
}

impl Rig {
    fn settle(&mut self) {
        self.harness.run_steps(3);
    }

    fn commands(&mut self) -> Vec<Command> {
        std::iter::from_fn(|| self.session.commands.try_recv().ok()).collect()
    }
}

fn monitors(names: &[&str], selected: u32) -> MonitorList {
    MonitorList {
        monitors: (0..)
            .zip(names)
            .map(|(i, name)| MonitorInfo {
                name: (*name).to_owned(),
                x: 1280 * i,
                y: 0,
                width: 1280,
                height: 720,
                primary: i == 0,
            })
            .collect(),
        selected,
    }
}

#[test]
fn the_monitor_picker_lists_the_agents_monitors_and_switches() {
    let mut rig = active_rig();
    rig.session
        .update(Update::Monitors(monitors(&["LEFT", "RIGHT"], 0)));
    rig.settle();
    rig.harness.get_by_value("Monitor 1").click();
    rig.settle();
    assert!(
        rig.harness
            .query_by_label("1: LEFT (1280x720, primary)")
            .is_some()
    );
    rig.harness.get_by_label("2: RIGHT (1280x720)").click();
    rig.settle();
    assert_eq!(rig.commands(), vec![Command::SelectMonitor(1)]);

    // The agent confirms: the picker follows.
    rig.session
        .update(Update::Monitors(monitors(&["LEFT", "RIGHT"], 1)));
    rig.settle();
    assert!(rig.harness.query_by_value("Monitor 2").is_some());
    assert!(rig.harness.query_by_value("Monitor 1").is_none());
}

#[test]
fn with_one_monitor_there_is_no_picker() {
    let mut rig = active_rig();
    rig.session.update(Update::Monitors(monitors(&["ONLY"], 0)));
    rig.settle();
    assert!(rig.harness.query_by_value("Monitor 1").is_none());
    assert!(rig.commands().is_empty());
}

#[test]
fn the_agents_pointer_is_kept_and_forgotten_with_the_session() {
    let mut rig = active_rig();
    rig.session.update(Update::CursorImage(CursorImage {
        width: 2,
        height: 2,
        hot_x: 1,
        hot_y: 1,
        rgba: vec![255; 16],
    }));
    rig.session.update(Update::Cursor {
        x: 100,
        y: 50,
        visible: true,
    });
    rig.settle();
    let cursor = rig.harness.state().remote_pointer();
    assert_eq!(cursor.position(), Some((100, 50, true)));
    assert!(cursor.has_agent_image());

    rig.session
        .update(Update::Status(Status::Ended("the end user stopped".into())));
    rig.settle();
    assert_eq!(rig.harness.state().remote_pointer().position(), None);
}
