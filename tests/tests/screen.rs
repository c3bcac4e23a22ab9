//! What accompanies the video, with the real binaries on Xvfb: an agent whose screen
//! holds two RandR monitors, a viewer that switches between them, and the pointer
//! drawn by the viewer where it is on the agent's screen, without a video frame.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lifeline_tests::{Agent, Image, Xvfb, run_headless_viewer, wait_until};

const MONITOR_WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

fn crop(image: &Image, left: u32, top: u32, width: u32, height: u32) -> Image {
    let stride = image.width as usize * 4;
    let rgba = (top..top + height)
        .flat_map(|row| {
            let start = row as usize * stride + left as usize * 4;
            image.rgba[start..start + width as usize * 4]
                .iter()
                .copied()
        })
        .collect();
    Image {
        width,
        height,
        rgba,
    }
}

fn script(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("input.txt");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn unix_millis() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

#[test]
fn the_viewer_switches_to_the_agents_other_monitor() {
    let x = Xvfb::start(2 * MONITOR_WIDTH, HEIGHT);
    // Different things on the two halves: text on the left, the X logo on the right.
    let _xterm = x.xterm(
        "100x30+20+20",
        "printf 'the LEFT monitor\\n'; ls -l /usr/bin | head -25; sleep 600",
    );
    let _logo = x.spawn("xlogo", &["-geometry", "500x500+1700+100"]);
    assert!(wait_until(Duration::from_secs(15), || !x
        .run("xdotool", &["search", "--onlyvisible", "--class", "xlogo"])
        .trim()
        .is_empty()));
    // Two RandR monitors side by side on the one screen (the clients above keep the
    // server from resetting between these calls).
    x.run(
        "xrandr",
        &["--setmonitor", "LEFT", "1280/339x720/191+0+0", "screen"],
    );
    x.run(
        "xrandr",
        &["--setmonitor", "RIGHT", "1280/339x720/191+1280+0", "none"],
    );
    let listed = x.run("xrandr", &["--listmonitors"]);
    assert!(listed.contains("Monitors: 2"), "{listed}");
    std::thread::sleep(Duration::from_millis(500));

    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let dir = tempfile::tempdir().unwrap();
    let input = script(dir.path(), "wait 1500\nmonitor 1\nwait 4000\n");
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--input-script", &input]);
    assert!(run.success, "viewer failed: {}", run.stderr);
    let stats = run.stats.expect("statistics");
    assert_eq!(stats["monitors"], serde_json::json!(["LEFT", "RIGHT"]));
    assert_eq!(
        stats["monitor_selected"], 1,
        "the agent confirmed the switch"
    );

    let frame = run.frame.expect("a saved frame");
    assert_eq!((frame.width, frame.height), (MONITOR_WIDTH, HEIGHT));
    let screen = x.screenshot();
    let right = crop(&screen, MONITOR_WIDTH, 0, MONITOR_WIDTH, HEIGHT);
    let left = crop(&screen, 0, 0, MONITOR_WIDTH, HEIGHT);
    let (psnr_right, psnr_left) = (frame.psnr(&right), frame.psnr(&left));
    assert!(
        psnr_right >= 35.0,
        "the last picture is the right monitor: PSNR {psnr_right:.1} dB against it \
         ({psnr_left:.1} dB against the left one)"
    );
    assert!(
        psnr_left < psnr_right - 10.0,
        "the left monitor is not what is shown ({psnr_left:.1} dB against it)"
    );
    assert!(
        agent
            .stderr()
            .contains("the technician switched to monitor 1"),
        "{}",
        agent.stderr()
    );
}

#[test]
fn the_pointer_is_drawn_where_it_is_and_moving_it_costs_no_video_frame() {
    let x = Xvfb::start(MONITOR_WIDTH, HEIGHT);
    // A client that draws nothing keeps the server from resetting between the calls
    // below; then a plain grey desktop, so that the pointer stands out.
    let _keep = x.spawn("xev", &["-root"]);
    std::thread::sleep(Duration::from_millis(500));
    x.run("xsetroot", &["-solid", "#808080"]);
    x.run("xdotool", &["mousemove", "100", "100"]);
    std::thread::sleep(Duration::from_millis(500));

    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let dir = tempfile::tempdir().unwrap();
    let input = script(dir.path(), "wait 6000\n");
    let address = agent.address.clone();
    let code = agent.code();
    let viewer = std::thread::spawn(move || {
        run_headless_viewer(
            &address,
            &code,
            &["--input-script", &input, "--draw-cursor"],
        )
    });
    // Once the first picture is there and the screen is still, the pointer moves.
    std::thread::sleep(Duration::from_secs(3));
    let moved_at = unix_millis();
    x.run("xdotool", &["mousemove", "300", "200"]);
    let run = viewer.join().unwrap();
    assert!(run.success, "viewer failed: {}", run.stderr);
    let stats = run.stats.expect("statistics");
    assert_eq!(
        stats["cursor"],
        serde_json::json!([300, 200, true]),
        "where the viewer was told the pointer is"
    );
    assert_eq!(
        stats["cursor_image"], true,
        "the agent sent the pointer's image"
    );
    let frames_after_move = stats["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|frame| frame[0].as_u64().unwrap() > moved_at)
        .count();
    assert_eq!(
        frames_after_move, 0,
        "moving the pointer over a still screen sent video frames"
    );

    // The saved picture is the screen with the pointer drawn in: it differs from a
    // screenshot (which, like the video, has no pointer) only around (300, 200).
    let frame = run.frame.expect("a saved frame");
    let screen = x.screenshot();
    let (mut left, mut top, mut right, mut bottom) = (u32::MAX, u32::MAX, 0, 0);
    for y in 0..HEIGHT {
        for x_ in 0..MONITOR_WIDTH {
            let at = ((y * MONITOR_WIDTH + x_) * 4) as usize;
            let differs = (0..3).any(|c| frame.rgba[at + c].abs_diff(screen.rgba[at + c]) > 60);
            if differs {
                (left, top) = (left.min(x_), top.min(y));
                (right, bottom) = (right.max(x_), bottom.max(y));
            }
        }
    }
    assert!(left <= right, "no pointer was drawn into the picture");
    assert!(
        (left..=right).contains(&300) && (top..=bottom).contains(&200),
        "the pointer's image ({left},{top} to {right},{bottom}) does not cover (300, 200)"
    );
    assert!(
        right - left < 64 && bottom - top < 64,
        "only the pointer differs, not more: {left},{top} to {right},{bottom}"
    );
}
