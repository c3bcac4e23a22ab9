//! Playing a real recorded session: a session on Xvfb is recorded by the headless
//! viewer, then played through the viewer's player core (the one the player window
//! runs) from the start to the end at 8x: every recorded frame decodes, the clock stops
//! at the end, and the last picture is pixel for pixel the last one the technician saw
//! live. `lifeline-viewer play` names a missing file instead of opening a window.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::fs::File;
use std::io::BufReader;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use lifeline_protocol::recording::RecordingReader;
use lifeline_tests::{Agent, Image, Xvfb, run_headless_viewer_in, workspace_binary};
use lifeline_viewer::recording::events::{EventKind, list_events};
use lifeline_viewer::recording::player::{Player, Speed};

const WIDTH: u32 = 1024;
const HEIGHT: u32 = 640;

#[test]
fn a_recorded_session_plays_to_the_end_and_ends_on_the_live_picture() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let _terminal = x.xterm(
        "90x25+10+10",
        "for i in $(seq 1 300); do echo \"played back line $i\"; sleep 0.1; done; sleep 600",
    );
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("session.llrec");
    let run = run_headless_viewer_in(
        dir.path(),
        &agent.address,
        &agent.code(),
        &["--seconds", "4", "--record", file.to_str().unwrap()],
    );
    assert!(run.success, "viewer failed: {}", run.stderr);
    let live = run.frame.expect("the live frame");
    let live_frames = run.stats.expect("statistics")["frames"].as_u64().unwrap();

    let mut player = Player::open(BufReader::new(File::open(&file).unwrap())).unwrap();
    assert!(player.is_finished());
    assert_eq!(player.header().technician.name, "Test Technician");
    let first = player
        .picture()
        .expect("opens on the first picture")
        .sequence;
    let t0 = Instant::now();
    player.set_speed(Speed::Octuple, t0);
    player.play(t0).unwrap();
    let mut now = t0;
    let mut steps = 0;
    loop {
        now += Duration::from_millis(40);
        let step = player.advance(now, usize::MAX).unwrap();
        steps += 1;
        if step.reached_end {
            break;
        }
        assert!(steps < 10_000, "playback never reached the end");
    }
    assert!(!player.is_playing());
    assert_eq!(player.position(), player.end());
    assert_eq!(player.problem(), None);
    let stats = player.stats();
    assert_eq!(
        stats.frames_decoded, live_frames,
        "every recorded frame was played: {stats:?}"
    );
    assert_eq!(stats.decode_errors, 0);
    assert_eq!(stats.jumps, 0);

    let last = player.picture().unwrap();
    assert!(last.sequence > first);
    let played = Image {
        width: last.width,
        height: last.height,
        rgba: last.rgba.clone(),
    };
    assert_eq!((played.width, played.height), (WIDTH, HEIGHT));
    assert!(
        played == live,
        "the last picture played differs from the last one seen live (PSNR {:.1} dB)",
        played.psnr(&live)
    );

    // The side panel's list: the consent first, the end of the session last.
    let mut reader = RecordingReader::open(BufReader::new(File::open(&file).unwrap())).unwrap();
    let events = list_events(&mut reader).unwrap();
    let kinds: Vec<EventKind> = events
        .entries
        .iter()
        .map(|e| e.kind)
        .filter(|k| *k != EventKind::Recording)
        .collect();
    assert_eq!(kinds.first(), Some(&EventKind::Consent), "{events:#?}");
    assert_eq!(kinds.last(), Some(&EventKind::SessionEnd), "{events:#?}");
    assert_eq!(events.stopped_by, None);
}

#[test]
fn play_names_a_missing_file() {
    let output = Command::new(workspace_binary("lifeline-viewer"))
        .args(["play", "/nonexistent/session.llrec"])
        .stdin(Stdio::null())
        .output()
        .expect("the viewer binary runs");
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("there is no recording at /nonexistent/session.llrec"),
        "{stderr}"
    );
}
