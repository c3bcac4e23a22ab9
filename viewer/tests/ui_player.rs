//! The player window driven by `egui_kittest` on synthetic recordings of real H.264:
//! it opens paused with the header, the events and the integrity shown; Play and Pause
//! run and stop the clock; a click on an event goes there and shows that picture; the
//! speed buttons set the speed; a damaged file says where and stops before it; the
//! connect screen opens a recording and closes it again.
//!
//! The player runs on its own thread, so each check waits (by frames, up to a bound)
//! for the state a person would see, never for a time.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use egui_kittest::Harness;
use egui_kittest::kittest::Queryable as _;
use lifeline_protocol::Timestamp;
use lifeline_viewer::link::link;
use lifeline_viewer::recording::playback::{EventsState, Integrity, Phase, PlaybackState};
use lifeline_viewer::recording::player::Speed;
use lifeline_viewer::recording::synthetic::{SyntheticSpec, write_synthetic};
use lifeline_viewer::ui::player::PlayerUi;
use lifeline_viewer::ui::{ViewerUi, WindowOptions};

/// Ten seconds, a frame every 100 ms, a keyframe every 30 frames; chat lines at frames
/// 20 (the end user), 60 (the technician), a command at frame 66.
fn spec() -> SyntheticSpec {
    SyntheticSpec {
        frames: 100,
        keyframe_every: 30,
        distinct_intervals: 4,
        ..SyntheticSpec::default()
    }
}

fn write(dir: &Path, name: &str) -> PathBuf {
    let path = dir.join(name);
    let mut bytes = Vec::new();
    write_synthetic(&mut bytes, &spec()).unwrap();
    std::fs::write(&path, bytes).unwrap();
    path
}

fn harness(path: &Path) -> Harness<'static, PlayerUi> {
    Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(
            |ui, player: &mut PlayerUi| {
                player.logic(ui.ctx());
                player.window_ui(ui);
            },
            PlayerUi::open(path, false),
        )
}

/// Runs frames until the player's state satisfies `done` (at most about 20 s).
fn wait_for(
    harness: &mut Harness<'static, PlayerUi>,
    what: &str,
    done: impl Fn(&PlaybackState) -> bool,
) {
    for _ in 0..2_000 {
        harness.step();
        if done(harness.state().state()) {
            harness.run_steps(2);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("waited in vain for {what}: {:#?}", harness.state().state());
}

fn ready(state: &PlaybackState) -> bool {
    state.phase == Phase::Ready
        && matches!(state.events, EventsState::Listed(_))
        && !matches!(state.integrity, Integrity::Checking(_))
}

fn at(spec: &SyntheticSpec, frame: u64) -> Timestamp {
    spec.frame_time(frame)
}

#[test]
fn the_player_opens_paused_with_the_header_the_events_and_the_integrity() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "session.llrec");
    let mut harness = harness(&path);
    wait_for(&mut harness, "the recording to open and be checked", ready);

    harness.get_by_label("Recording session.llrec");
    harness.get_by_label_contains("Tess Tester (verified by Example Support)");
    harness.get_by_label_contains("Intact: finished and signed throughout by");
    harness.get_by_label("Play");
    harness.get_by_label("Timeline");
    harness.get_by_label("0:00.0 / 0:10.0");
    harness.get_by_label_contains("End user wrote \"chat line at frame 20\"");
    harness.get_by_label_contains("Technician wrote \"chat line at frame 60\"");
    harness.get_by_label_contains("Command sent: uptime");
    harness.get_by_label_contains("The end user allowed: see the screen, record the session");
    harness.get_by_label_contains("Session ended by the technician");

    let state = harness.state().state();
    assert!(!state.playing);
    assert_eq!(state.picture_sequence, Some(0));
    assert_eq!(harness.state().screen().size(), Some([320, 240]));
}

#[test]
fn play_runs_the_clock_and_pause_stops_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "session.llrec");
    let mut harness = harness(&path);
    wait_for(&mut harness, "the recording to open", ready);
    let start = harness.state().state().start;

    harness.get_by_label("Play").click();
    wait_for(&mut harness, "the clock to run", |s| {
        s.playing && s.offset_ms(s.position) >= 500 && s.picture_sequence > Some(2)
    });
    harness.get_by_label("Pause");

    harness.get_by_label("Pause").click();
    wait_for(&mut harness, "the clock to stop", |s| !s.playing);
    harness.get_by_label("Play");
    let stopped = harness.state().state().clone();
    assert!(stopped.position > start);
    for _ in 0..10 {
        harness.step();
        std::thread::sleep(Duration::from_millis(20));
    }
    let later = harness.state().state();
    assert_eq!(later.position, stopped.position, "paused: the clock stands");
    assert_eq!(later.picture_sequence, stopped.picture_sequence);
}

#[test]
fn clicking_an_event_goes_there_and_shows_that_picture() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "session.llrec");
    let mut harness = harness(&path);
    wait_for(&mut harness, "the recording to open", ready);
    let spec = spec();

    harness
        .get_by_label_contains("Technician wrote \"chat line at frame 60\"")
        .click();
    wait_for(&mut harness, "the picture of frame 60", |s| {
        s.position == at(&spec, 60) && s.picture_sequence == Some(60) && !s.seeking
    });
    harness.get_by_label("0:06.1 / 0:10.0");

    // Back to an earlier event, across a keyframe.
    harness
        .get_by_label_contains("End user wrote \"chat line at frame 20\"")
        .click();
    wait_for(&mut harness, "the picture of frame 20", |s| {
        s.position == at(&spec, 20) && s.picture_sequence == Some(20)
    });
    assert!(
        !harness.state().state().playing,
        "a seek keeps the player paused"
    );
}

#[test]
fn the_speed_buttons_set_the_speed() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "session.llrec");
    let mut harness = harness(&path);
    wait_for(&mut harness, "the recording to open", ready);
    assert_eq!(harness.state().state().speed, Speed::Normal);

    for speed in [Speed::Octuple, Speed::Half, Speed::Double] {
        harness.get_by_label(speed.label()).click();
        wait_for(&mut harness, speed.label(), |s| s.speed == speed);
    }
    // At 8x the ten seconds play to the end and the player pauses there.
    harness.get_by_label("8×").click();
    harness.get_by_label("Play").click();
    wait_for(&mut harness, "the end", |s| {
        !s.playing && s.position == s.end && s.picture_sequence == Some(99)
    });
    harness.get_by_label("0:10.0 / 0:10.0");
}

#[test]
fn a_damaged_recording_says_where_and_stops_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "damaged.llrec");
    let mut bytes = std::fs::read(&path).unwrap();
    // The fifth records chunk (kind byte 1), a byte in the middle of its body.
    let mut offset = 0;
    let mut records = 0;
    loop {
        let body = u32::from_be_bytes(bytes[offset + 22..offset + 26].try_into().unwrap()) as usize;
        if bytes[offset + 4] == 1 {
            records += 1;
            if records == 5 {
                bytes[offset + 58 + body / 2] ^= 0x40;
                break;
            }
        }
        offset += 58 + body + 36;
    }
    std::fs::write(&path, bytes).unwrap();
    let mut harness = harness(&path);
    wait_for(&mut harness, "the damage to be found", |s| {
        matches!(s.integrity, Integrity::Damaged { .. }) && s.limit < s.end
    });
    harness.get_by_label_contains("Damaged or altered at chunk");
    harness.get_by_label_contains("what follows is not shown");

    harness.get_by_label("8×").click();
    harness.get_by_label("Play").click();
    wait_for(&mut harness, "playback to stop before the damage", |s| {
        !s.playing && s.position == s.limit && s.position < s.end
    });
}

#[test]
fn the_connect_screen_opens_a_recording_and_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "from-the-form.llrec");
    let (_session, window) = link();
    let state = ViewerUi::new(
        window,
        WindowOptions {
            data_dir: Some(dir.path().to_path_buf()),
            ..WindowOptions::default()
        },
    );
    let mut harness = Harness::builder()
        .with_size([1280.0, 800.0])
        .build_ui_state(
            |ui, state: &mut ViewerUi| {
                state.logic(ui.ctx());
                state.window_ui(ui);
            },
            state,
        );
    harness.run_steps(3);

    harness.get_by_label("Open recording").click();
    harness.run_steps(3);
    harness.get_by_label("Type the path of a recording (.llrec) first.");

    harness.get_by_label("Recording file").click();
    harness.run_steps(2);
    harness
        .get_by_label("Recording file")
        .type_text(path.to_str().unwrap());
    harness.run_steps(2);
    harness.get_by_label("Open recording").click();
    let mut opened = false;
    for _ in 0..1_000 {
        harness.step();
        if harness.query_by_label("Play").is_some() {
            opened = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(opened, "the player shows Play once the recording is open");
    harness.get_by_label("Recording from-the-form.llrec");

    harness.get_by_label("Close recording").click();
    harness.run_steps(3);
    harness.get_by_label("Connect");
    assert!(harness.query_by_label("Play").is_none());
}
