//! A real agent and a real headless viewer on an Xvfb display: what the technician
//! sees, what the end user's computer receives, and what happens on every refusal.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::Duration;

use lifeline_tests::{Agent, Xvfb, run_headless_viewer, wait_until};

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 720;

/// An xterm whose every keystroke lands in `file` at once (no line buffering).
fn typing_target(x: &Xvfb, file: &std::path::Path) -> lifeline_tests::Guarded {
    x.xterm(
        "60x10+100+100",
        &format!(
            "stty -icanon -echo; echo ready; exec cat > {}",
            file.display()
        ),
    )
}

fn script(dir: &std::path::Path, text: &str) -> String {
    let path = dir.join("input.txt");
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[test]
fn the_technician_sees_the_screen_with_text() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let _xterm = x.xterm(
        "100x30+20+20",
        "printf 'Lifeline end-to-end test\\nThe quick brown fox jumps over the lazy dog 0123456789\\n'; ls -l /usr/bin | head -20; sleep 600",
    );
    std::thread::sleep(Duration::from_millis(500));
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--frames", "1"]);
    assert!(run.success, "viewer failed: {}", run.stderr);
    let frame = run.frame.expect("a saved frame");
    assert_eq!((frame.width, frame.height), (WIDTH, HEIGHT));
    let truth = x.screenshot();
    let psnr = frame.psnr(&truth);
    assert!(
        psnr >= 35.0,
        "PSNR {psnr:.1} dB against a screenshot of the agent's display"
    );
    assert!(
        agent
            .stdout()
            .contains("Test Technician (Identity not verified) wants to connect")
    );
}

#[test]
fn pointer_clicks_and_typed_text_land_on_the_agents_desktop() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let dir = tempfile::tempdir().unwrap();
    let typed = dir.path().join("typed.txt");
    let _xterm = typing_target(&x, &typed);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let input = script(
        dir.path(),
        "wait 300\nmove 300 150\nclick left\nwait 200\ntype hello lifeline\nkey Return\nkey shift+a\nwait 300\nmove 640 400\nwait 500\n",
    );
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--input-script", &input]);
    assert!(run.success, "viewer failed: {}", run.stderr);
    assert!(
        wait_until(Duration::from_secs(10), || std::fs::read_to_string(&typed)
            .is_ok_and(|text| text == "hello lifeline\nA")),
        "typed text did not arrive: {:?}",
        std::fs::read_to_string(&typed)
    );
    assert_eq!(
        x.pointer(),
        (640, 400),
        "the X pointer is where the viewer sent it"
    );
}

#[test]
fn a_click_from_the_viewer_reaches_the_window_under_the_pointer() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    // xev prints every event its window receives.
    let mut xev = std::process::Command::new("xev")
        .args(["-geometry", "300x200+500+300", "-event", "button"])
        .env("DISPLAY", &x.display)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("xev (x11-utils) runs");
    let events = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
    let sink = std::sync::Arc::clone(&events);
    let stdout = xev.stdout.take().unwrap();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            sink.lock().unwrap().push_str(&(line + "\n"));
        }
    });
    let _xev = lifeline_tests::Guarded(xev);
    assert!(wait_until(Duration::from_secs(15), || !x
        .run(
            "xdotool",
            &["search", "--onlyvisible", "--name", "Event Tester"]
        )
        .trim()
        .is_empty()));
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let dir = tempfile::tempdir().unwrap();
    let input = script(
        dir.path(),
        "wait 300\nmove 650 400\nwait 100\nclick right\nwait 500\n",
    );
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--input-script", &input]);
    assert!(run.success, "viewer failed: {}", run.stderr);
    assert!(
        wait_until(Duration::from_secs(10), || {
            let text = events.lock().unwrap();
            text.contains("ButtonPress event")
                && text.contains("button 3")
                && text.contains("ButtonRelease event")
        }),
        "the window did not receive the right click: {}",
        events.lock().unwrap()
    );
    assert!(
        events.lock().unwrap().contains("root:(650,400)"),
        "the click landed at the wrong place: {}",
        events.lock().unwrap()
    );
}

#[test]
fn a_wrong_code_gets_nothing_and_three_rotate_the_code() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let agent = Agent::start(&x.display);
    let right = agent.code();
    let wrong = if right == "000 000 001" {
        "000 000 002"
    } else {
        "000 000 001"
    };
    for attempt in 1..=3 {
        let run = run_headless_viewer(&agent.address, wrong, &["--frames", "1"]);
        assert!(!run.success, "a wrong code was accepted");
        assert!(run.frame.is_none(), "a frame arrived with a wrong code");
        assert!(
            run.stderr.contains("wrong code"),
            "attempt {attempt}: {}",
            run.stderr
        );
    }
    assert!(agent.wait_for_output("Someone typed a wrong code", Duration::from_secs(5)));
    assert!(
        wait_until(Duration::from_secs(5), || agent.code() != right),
        "the code was not replaced after three wrong attempts"
    );
    assert!(agent.stdout().contains("Wrong codes were tried too often"));
    // The old code is worthless now.
    let run = run_headless_viewer(&agent.address, &right, &["--frames", "1"]);
    assert!(!run.success);
    assert!(run.frame.is_none());
}

#[test]
fn refused_consent_gives_no_frames() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let mut agent = Agent::start(&x.display);
    agent.type_line("n");
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--frames", "1"]);
    assert!(!run.success);
    assert!(run.frame.is_none());
    assert!(run.stderr.contains("refused"), "{}", run.stderr);
}

#[test]
fn revoking_input_stops_it_at_once_and_stop_ends_both_sides() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let dir = tempfile::tempdir().unwrap();
    let typed = dir.path().join("typed.txt");
    let _xterm = typing_target(&x, &typed);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let input = script(
        dir.path(),
        "wait 300\nmove 300 150\ntype abc\nwait 4000\ntype def\nwait 1000\n",
    );
    let address = agent.address.clone();
    let code = agent.code();
    let viewer = std::thread::spawn(move || {
        run_headless_viewer(
            &address,
            &code,
            &["--input-script", &input, "--seconds", "60"],
        )
    });
    assert!(
        wait_until(Duration::from_secs(20), || std::fs::read_to_string(&typed)
            .is_ok_and(|t| t == "abc")),
        "input before the revocation did not arrive"
    );
    agent.type_line("revoke input");
    assert!(agent.wait_for_output(
        "They may now:\n  [view] See your screen\n",
        Duration::from_secs(5)
    ));
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(
        std::fs::read_to_string(&typed).unwrap(),
        "abc",
        "input arrived after it was revoked"
    );
    // Stop ends the session on both sides.
    agent.type_line("stop");
    let run = viewer.join().unwrap();
    assert!(
        run.stderr.contains("the end user stopped the session"),
        "{}",
        run.stderr
    );
    assert!(agent.wait_for_output("The session has ended", Duration::from_secs(5)));
}

#[test]
fn a_still_screen_costs_almost_no_bytes() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let _xterm = x.xterm("80x20+10+10", "echo still; sleep 600");
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--seconds", "10"]);
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    let bytes = stats["bytes_received"].as_u64().unwrap();
    let frames = stats["frames"].as_u64().unwrap();
    // One keyframe of a mostly black screen, then nothing: a few kilobytes.
    assert!(frames <= 2, "{frames} frames for a still screen");
    assert!(bytes < 50_000, "{bytes} bytes in 10 s of a still screen");
}

#[test]
fn a_changed_agent_key_is_refused_by_the_viewer() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let viewer_dir = tempfile::tempdir().unwrap();
    let address = format!("127.0.0.1:{}", lifeline_tests::free_udp_port());
    {
        let mut agent = Agent::start_on(&x.display, &address, &[]);
        agent.type_line("y");
        let run = lifeline_tests::run_headless_viewer_in(
            viewer_dir.path(),
            &address,
            &agent.code(),
            &["--frames", "1"],
        );
        assert!(run.success, "{}", run.stderr);
    }
    // Another agent (another key) answers at the same address.
    let mut impostor = Agent::start_on(&x.display, &address, &[]);
    impostor.type_line("y");
    let run = lifeline_tests::run_headless_viewer_in(
        viewer_dir.path(),
        &address,
        &impostor.code(),
        &["--frames", "1"],
    );
    assert!(!run.success);
    assert!(run.frame.is_none());
    assert!(
        run.stderr
            .contains("presented a different key than last time"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_agent_without_a_display_says_so() {
    let output = std::process::Command::new(lifeline_tests::workspace_binary("lifeline-agent"))
        .args([
            "--listen",
            "127.0.0.1:0",
            "--display",
            ":4999",
            "--consent",
            "tty",
        ])
        .arg("--data-dir")
        .arg(tempfile::tempdir().unwrap().path())
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("cannot open the display"), "{stderr}");
}

#[test]
fn a_change_after_a_still_moment_reaches_the_viewer() {
    let x = Xvfb::start(WIDTH, HEIGHT);
    let _xterm = x.xterm("60x10+40+40", "echo still for a moment; sleep 600");
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let address = agent.address.clone();
    let code = agent.code();
    let viewer =
        std::thread::spawn(move || run_headless_viewer(&address, &code, &["--seconds", "8"]));
    // Let the screen be still long enough for the agent to wait for change reports.
    std::thread::sleep(Duration::from_secs(4));
    x.run("xsetroot", &["-solid", "#c02020"]);
    let run = viewer.join().unwrap();
    assert!(run.success, "{}", run.stderr);
    let frame = run.frame.expect("a frame");
    let at = |x: u32, y: u32| {
        let i = ((y * frame.width + x) * 4) as usize;
        [frame.rgba[i], frame.rgba[i + 1], frame.rgba[i + 2]]
    };
    let [r, g, b] = at(1000, 600);
    assert!(
        r > 150 && g < 80 && b < 80,
        "the new background did not arrive: {:?}",
        at(1000, 600)
    );
    assert!(frame.psnr(&x.screenshot()) >= 35.0);
}
