//! The viewer's real window against a fake session: Connect answers with the status
//! steps, then "Active" with view and input granted, and a generated 1280x720 test
//! picture (text-like stripes, a moving bar) arrives every 100 ms with stats.
//!
//! ```text
//! cargo run -p lifeline-viewer --example window_demo              # connect screen
//! cargo run -p lifeline-viewer --example window_demo -- --connect # straight to a session
//! cargo run -p lifeline-viewer --example window_demo -- --connect --fullscreen
//! ```
//! Keys, clicks and typed text the window sends are logged (`RUST_LOG=info`). With
//! `--connect` the session also grants `files`: a file sent waits for the end user's
//! approval until it is withdrawn.

use std::thread;
use std::time::{Duration, Instant};

use lifeline_protocol::{Scope, ScopeSet};
use lifeline_viewer::link::{
    Command, ConnectRequest, FileDirection, FileUpdate, RequestCredential, SessionEnd, Stats,
    Status, Update, VideoFrame, link,
};
use lifeline_viewer::ui::{WindowOptions, run_window};
use tokio::sync::mpsc::error::TryRecvError;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let has = |flag: &str| args.iter().any(|arg| arg == flag);
    let data_dir = std::env::temp_dir().join("lifeline-window-demo");
    let initial = has("--connect").then(|| ConnectRequest {
        address: "demo.example:7070".into(),
        credential: RequestCredential::Code("123 456 789".into()),
        agent_fingerprint: None,
        scopes: ScopeSet::from([Scope::ViewScreen, Scope::ControlInput, Scope::FileTransfer]),
        technician_name: "Demo Technician".into(),
        reason: "window demo".into(),
    });
    let (session, window) = link();
    thread::spawn(move || fake_session(session));
    run_window(
        window,
        WindowOptions {
            fullscreen: has("--fullscreen"),
            initial,
            data_dir: Some(data_dir),
            ..WindowOptions::default()
        },
    )
}

/// Answers commands like a session would, and streams the test picture while active.
fn fake_session(mut session: SessionEnd) {
    let mut active = false;
    let mut sequence = 0u64;
    let mut tickets = 0u32;
    let started = Instant::now();
    loop {
        loop {
            match session.commands.try_recv() {
                Ok(Command::Connect(request)) => {
                    tracing::info!(address = %request.address, scopes = %request.scopes, "connect");
                    for status in [
                        Status::Connecting,
                        Status::Authenticating,
                        Status::WaitingForConsent,
                    ] {
                        session.update(Update::Status(status));
                        thread::sleep(Duration::from_millis(300));
                    }
                    session.update(Update::Status(Status::Active));
                    session.update(Update::Granted(request.scopes.intersection(
                        ScopeSet::from([
                            Scope::ViewScreen,
                            Scope::ControlInput,
                            Scope::FileTransfer,
                        ]),
                    )));
                    active = true;
                }
                Ok(Command::Disconnect) => {
                    tracing::info!("disconnect");
                    session.update(Update::Status(Status::Ended(
                        "you disconnected; the end user's screen is no longer shared".into(),
                    )));
                    active = false;
                }
                Ok(Command::RequestScopes(scopes)) => {
                    tracing::info!(%scopes, "request scopes: refused in this demo");
                    session.update(Update::Refused { scopes });
                }
                Ok(Command::SendFile(path)) => {
                    tickets += 1;
                    let name = path.file_name().map_or_else(
                        || path.display().to_string(),
                        |name| name.to_string_lossy().into_owned(),
                    );
                    session.update(Update::File(FileUpdate::Started {
                        ticket: tickets,
                        direction: FileDirection::Send,
                        name,
                    }));
                    session.update(Update::File(FileUpdate::WaitingForApproval {
                        ticket: tickets,
                    }));
                }
                Ok(Command::CancelFile(ticket)) => {
                    session.update(Update::File(FileUpdate::Withdrawn { ticket }));
                }
                Ok(other) => tracing::info!(?other, "command"),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        if active {
            let mut rgba = session.frames.buffer();
            draw_test_picture(&mut rgba, sequence);
            session.frames.put(VideoFrame {
                width: WIDTH,
                height: HEIGHT,
                rgba,
                sequence,
            });
            session.update(Update::Stats(Stats {
                fps: 10.0,
                rtt_ms: 2.0 + (started.elapsed().as_secs_f32() * 3.0).sin().abs(),
                bitrate_bps: 3_400_000.0,
                latency_ms: 18.0,
                decode_ms: 2.4,
            }));
            sequence += 1;
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// A desktop-like picture: a blue background, a title bar, a window with rows of
/// "words", a bar that moves every frame, and a red 8x8 marker at (0, 0).
fn draw_test_picture(rgba: &mut Vec<u8>, sequence: u64) {
    let (width, height) = (WIDTH as usize, HEIGHT as usize);
    rgba.resize(width * height * 4, 0);
    let moving_x = (sequence as usize * 16) % width;
    for (i, pixel) in rgba.chunks_exact_mut(4).enumerate() {
        let (x, y) = (i % width, i / width);
        let mut color = [30, 60 + (y * 80 / height) as u8, 120, 255];
        let in_window = (160..1120).contains(&x) && (80..640).contains(&y);
        if in_window {
            if y < 112 {
                color = [60, 60, 70, 255];
            } else {
                color = [245, 245, 240, 255];
                let (row, line) = ((y - 112) % 22, (y - 112) / 22);
                // Words: dark runs separated by gaps, on 10-px-high lines.
                let in_word = (x / 7 + line * 13) % 9 != 0;
                let line_end = 1080 - (line * 37) % 300;
                if y >= 128 && (4..14).contains(&row) && in_word && x < line_end {
                    color = [40, 40, 48, 255];
                }
            }
        }
        if (moving_x..moving_x + 24).contains(&x) && (660..700).contains(&y) {
            color = [250, 200, 40, 255];
        }
        if x < 8 && y < 8 {
            color = [255, 0, 0, 255];
        }
        pixel.copy_from_slice(&color);
    }
}
