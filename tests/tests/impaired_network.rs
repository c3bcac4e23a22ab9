//! The real agent and headless viewer on impaired networks: each in a network namespace
//! of its own, joined by a veth pair, with delay, loss, rate caps, outages and a
//! change of the viewer's address (see `lifeline_tests::netns`).
//!
//! What is asserted is what the people at both ends would notice: the technician's
//! picture matches the end user's screen once the link allows it, typed text arrives
//! whole and in order, the session lives through a short outage and ends with a reason
//! after a long one. Numbers (latency under a cap, how fast the picture recovers) are
//! printed and measured by `scripts/bench-impaired.sh`; the bounds here are only loose
//! sanity limits a person would already find broken.
//!
//! Needs root for `ip netns` (CI runs as root; elsewhere the tests skip with a reason).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stderr,
    reason = "tests fail loudly on purpose and print what they measured"
)]

use std::path::Path;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lifeline_tests::netns::Link;
use lifeline_tests::{
    Agent, Guarded, Image, ViewerRun, Xvfb, run_headless_viewer_wrapped, wait_until,
};

const WIDTH: u32 = 1024;
const HEIGHT: u32 = 768;
/// The agent's port inside its namespace (nothing else listens there).
const AGENT_PORT: u16 = 4433;
/// The sentence typed across every impairment.
const SENTENCE: &str = "The quick brown fox jumps over the lazy dog 0123456789";

/// One end user's desktop with an agent in its namespace, and a technician's side.
struct Session {
    x: Xvfb,
    link: Link,
    agent: Agent,
    dir: tempfile::TempDir,
    typed: std::path::PathBuf,
    _windows: Vec<Guarded>,
}

impl Session {
    /// A desktop with text, a typing target, and an agent on `link` whose consent is
    /// given as soon as it is asked.
    fn start(link: Link) -> Self {
        let x = Xvfb::start(WIDTH, HEIGHT);
        let dir = tempfile::tempdir().unwrap();
        let typed = dir.path().join("typed.txt");
        let text = x.xterm(
            "80x20+420+300",
            "printf 'Lifeline on an impaired network\\n'; ls -l /usr/bin | head -16; sleep 600",
        );
        // Every keystroke lands in the file at once (no echo, no line buffering).
        let target = typing_target(&x, &typed);
        let address = format!("{}:{AGENT_PORT}", link.agent_ip);
        let mut agent = Agent::start_wrapped(&link.agent_wrapper(), &x.display, &address, &[]);
        agent.type_line("y");
        Self {
            x,
            link,
            agent,
            dir,
            typed,
            _windows: vec![text, target],
        }
    }

    fn agent_address(&self) -> String {
        format!("{}:{AGENT_PORT}", self.link.agent_ip)
    }

    /// Starts the headless viewer in the viewer's namespace, connecting to `address`.
    fn viewer(&self, address: &str, script: &str, args: &[&str]) -> JoinHandle<ViewerRun> {
        let script_path = self.dir.path().join("input.txt");
        std::fs::write(&script_path, script).unwrap();
        let wrapper = self.link.viewer_wrapper();
        let viewer_dir = self.dir.path().join("viewer");
        std::fs::create_dir_all(&viewer_dir).unwrap();
        let address = address.to_owned();
        let code = self.agent.code();
        let mut args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        args.extend([
            "--input-script".to_owned(),
            script_path.display().to_string(),
        ]);
        std::thread::spawn(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            run_headless_viewer_wrapped(&wrapper, &viewer_dir, &address, &code, &args)
        })
    }

    /// Waits until the end user's side shows the session as running.
    fn wait_active(&self) {
        assert!(
            self.agent
                .wait_for_output("They may now:", Duration::from_secs(30)),
            "the session did not start: {}\n{}",
            self.agent.stdout(),
            self.agent.stderr()
        );
    }

    fn typed(&self) -> String {
        std::fs::read_to_string(&self.typed).unwrap_or_default()
    }

    /// Waits (generously) for the whole sentence and checks it arrived exactly once,
    /// in order.
    fn assert_sentence_arrived(&self) {
        let whole = format!("{SENTENCE}\n");
        wait_until(Duration::from_secs(10), || self.typed() == whole);
        assert_eq!(
            self.typed(),
            whole,
            "typed text was lost, duplicated or reordered"
        );
    }

    /// The viewer's last frame against a screenshot of the agent's display.
    fn assert_picture_matches(&self, run: &ViewerRun, min_psnr: f64) -> f64 {
        let frame = run.frame.as_ref().expect("the viewer saved a frame");
        assert_eq!(
            (frame.width, frame.height),
            (WIDTH, HEIGHT),
            "the picture is shown at the remote screen's size"
        );
        let truth = self.x.screenshot();
        let psnr = frame.psnr(&truth);
        eprintln!("PSNR of the last picture against the screen: {psnr:.1} dB");
        if psnr < min_psnr {
            save_for_inspection(frame, &truth);
        }
        assert!(
            psnr >= min_psnr,
            "the technician's picture differs from the end user's screen: PSNR {psnr:.1} dB"
        );
        psnr
    }
}

/// An xterm at the top left whose every keystroke lands in `file` at once (no echo,
/// no line buffering). It keeps its pointer visible while typing (`pointerMode: 0`):
/// these tests are about the network, not about pointer shapes.
fn typing_target(x: &Xvfb, file: &Path) -> Guarded {
    let command = format!("stty -icanon -echo; exec cat > {}", file.display());
    let xterm = x.spawn(
        "xterm",
        &[
            "-xrm",
            "*pointerMode: 0",
            "-T",
            "typing-target",
            "-geometry",
            "40x6+10+10",
            "-fa",
            "",
            "-fn",
            "9x15",
            "-e",
            "sh",
            "-c",
            &command,
        ],
    );
    let mapped = wait_until(Duration::from_secs(15), || {
        !x.run(
            "xdotool",
            &["search", "--onlyvisible", "--name", "typing-target"],
        )
        .trim()
        .is_empty()
    });
    assert!(mapped, "the typing target did not appear on {}", x.display);
    xterm
}

fn save_for_inspection(frame: &Image, truth: &Image) {
    let dir = std::env::temp_dir();
    for (name, image) in [("viewer", frame), ("agent", truth)] {
        let path = dir.join(format!("impaired-{}-{name}.png", std::process::id()));
        let file = std::fs::File::create(&path).unwrap();
        let mut encoder = png::Encoder::new(file, image.width, image.height);
        encoder.set_color(png::ColorType::Rgba);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .unwrap()
            .write_image_data(&image.rgba)
            .unwrap();
        eprintln!("saved {}", path.display());
    }
}

fn unix_ms() -> u64 {
    u64::try_from(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_millis(),
    )
    .unwrap()
}

/// The sentence as an input script: words as text, spaces and the end as keys, with
/// pauses, so it spans `seconds` of session after `start_ms`.
fn typing_script(start_ms: u64, seconds: f64, tail_ms: u64) -> String {
    let words: Vec<&str> = SENTENCE.split(' ').collect();
    let pause = (seconds * 1000.0 / words.len() as f64) as u64;
    // The pointer over the typing target gives it the keyboard (no window manager).
    let mut script = format!("wait {start_ms}\nmove 100 40\nclick left\nwait 200\n");
    for (i, word) in words.iter().enumerate() {
        if i > 0 {
            script.push_str("key space\n");
        }
        script.push_str(&format!("type {word}\nwait {pause}\n"));
    }
    script.push_str(&format!("key Return\nwait {tail_ms}\n"));
    script
}

fn stat(run: &ViewerRun, path: &[&str]) -> f64 {
    let mut value = run.stats.as_ref().expect("statistics");
    for key in path {
        value = &value[*key];
    }
    value.as_f64().unwrap_or(f64::NAN)
}

/// Decode times (ms since the Unix epoch) of every frame the viewer showed.
fn frame_times(run: &ViewerRun) -> Vec<u64> {
    run.stats.as_ref().expect("statistics")["timeline"]
        .as_array()
        .expect("a timeline")
        .iter()
        .filter_map(|entry| entry[0].as_u64())
        .collect()
}

/// Picture sizes the agent reported sending, in order.
fn picture_sizes(run: &ViewerRun) -> Vec<(u64, u64)> {
    run.stats.as_ref().expect("statistics")["quality_changes"]
        .as_array()
        .map(|sizes| {
            sizes
                .iter()
                .map(|entry| {
                    (
                        entry[1].as_u64().unwrap_or(0),
                        entry[2].as_u64().unwrap_or(0),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn report(test: &str, run: &ViewerRun) {
    eprintln!(
        "{test}: {} frames, {:.1} fps, latency p50 {:.0} ms p95 {:.0} ms, {:.2} Mbit/s",
        stat(run, &["frames"]),
        stat(run, &["fps"]),
        stat(run, &["latency_ms", "p50"]),
        stat(run, &["latency_ms", "p95"]),
        stat(run, &["bytes_received"]) * 8.0 / stat(run, &["seconds"]).max(1.0) / 1e6,
    );
}

#[test]
fn fifty_ms_round_trip() {
    let Some(link) = Link::create_or_skip("fifty_ms_round_trip") else {
        return;
    };
    let session = Session::start(link);
    let relay = session.link.relay(&session.agent_address(), 25.0, 0.0);
    let viewer = session.viewer(&relay.address, &typing_script(1000, 3.0, 1500), &[]);
    session.wait_active();
    let run = viewer.join().unwrap();
    assert!(run.success, "the session failed: {}", run.stderr);
    report("50 ms RTT", &run);
    session.assert_sentence_arrived();
    session.assert_picture_matches(&run, 35.0);
}

#[test]
fn lossy_150_ms_round_trip() {
    let Some(link) = Link::create_or_skip("lossy_150_ms_round_trip") else {
        return;
    };
    let session = Session::start(link);
    let relay = session.link.relay(&session.agent_address(), 75.0, 2.0);
    let viewer = session.viewer(&relay.address, &typing_script(1000, 4.0, 1000), &[]);
    session.wait_active();
    // The screen changes while packets are being lost.
    std::thread::sleep(Duration::from_secs(2));
    session.x.run("xsetroot", &["-solid", "#205080"]);
    let run = viewer.join().unwrap();
    assert!(run.success, "the session failed: {}", run.stderr);
    report("150 ms RTT, 2% loss", &run);
    session.assert_sentence_arrived();
    session.assert_picture_matches(&run, 35.0);
}

/// A terminal over most of the screen that prints five lines of text every 20 ms (a
/// busy log, as W2) for `seconds`, then stays still.
fn scrolling_terminal(x: &Xvfb, seconds: u32) -> Guarded {
    x.xterm(
        "110x44+0+60",
        &format!(
            "end=$(($(date +%s)+{seconds})); i=0; while [ $(date +%s) -lt $end ]; do i=$((i+5)); seq -f \"$i %g $(date +%N) scrolling log line with some words in it, and a few more to fill it\" 5; sleep 0.02; done; sleep 600"
        ),
    )
}

/// A terminal over most of the screen whose every line changes 20 times a second
/// (random text) for `seconds`, then stays still: more than 0.5 Mbit/s at full size
/// however busy the machine is (a scrolling log scrolls slower on a loaded machine and
/// may fit).
fn churning_terminal(x: &Xvfb, seconds: u32) -> Guarded {
    x.xterm(
        "110x44+0+60",
        &format!(
            "end=$(($(date +%s)+{seconds})); while [ $(date +%s) -lt $end ]; do head -c 3300 /dev/urandom | base64 -w 100; sleep 0.05; done; sleep 600"
        ),
    )
}

/// A session of `session_secs` under a cap of `kbit_per_s` while `content` moves for
/// `scroll_secs`; the cap is lifted `lift_after` into the session when given.
fn capped_session(
    test: &str,
    kbit_per_s: u32,
    prefer: &str,
    lift_after: Option<Duration>,
    content: fn(&Xvfb, u32) -> Guarded,
    (scroll_secs, session_secs): (u32, u32),
) -> Option<(Session, ViewerRun, Guarded)> {
    let link = Link::create_or_skip(test)?;
    let session = Session::start(link);
    session.link.cap(kbit_per_s, 200);
    let viewer = session.viewer(
        &session.agent_address(),
        &format!("wait {}\n", session_secs * 1000),
        &["--prefer", prefer],
    );
    session.wait_active();
    let scroll = content(&session.x, scroll_secs);
    if let Some(after) = lift_after {
        std::thread::sleep(after);
        session.link.uncap();
    }
    let run = viewer.join().unwrap();
    assert!(run.success, "the session failed: {}", run.stderr);
    report(test, &run);
    if std::env::var("IMPAIRED_DEBUG").is_ok() {
        eprintln!(
            "agent log:\n{}\nviewer log:\n{}",
            session.agent.stderr(),
            run.stderr
        );
    }
    Some((session, run, scroll))
}

#[test]
fn a_two_megabit_cap_keeps_up() {
    let Some((session, run, _scroll)) = capped_session(
        "2 Mbit/s cap",
        2000,
        "quality",
        None,
        scrolling_terminal,
        (9, 13),
    ) else {
        return;
    };
    let p95 = stat(&run, &["latency_ms", "p95"]);
    assert!(
        p95 < 2000.0,
        "under a 2 Mbit/s cap the picture fell {p95:.0} ms behind (p95): a queue grew"
    );
    // Once the terminal is still, the picture is the end user's screen.
    session.assert_picture_matches(&run, 30.0);
}

#[test]
fn a_half_megabit_cap_scales_the_picture_down_and_back_up() {
    let Some((session, run, _scroll)) = capped_session(
        "0.5 Mbit/s cap",
        500,
        "speed",
        Some(Duration::from_secs(7)),
        churning_terminal,
        (19, 24),
    ) else {
        return;
    };
    let sizes = picture_sizes(&run);
    eprintln!("picture sizes over time: {sizes:?}");
    assert!(
        sizes.iter().any(|&(width, _)| width < u64::from(WIDTH)),
        "the agent never scaled the picture down under 0.5 Mbit/s: {sizes:?}"
    );
    assert_eq!(
        sizes.last().copied(),
        Some((u64::from(WIDTH), u64::from(HEIGHT))),
        "the picture did not return to full size once the cap was lifted"
    );
    let last_bitrate = run.stats.as_ref().expect("statistics")["quality_changes"]
        .as_array()
        .and_then(|changes| changes.last())
        .and_then(|last| last[3].as_u64())
        .unwrap_or(0);
    assert!(
        last_bitrate > 700_000,
        "the agent did not use the recovered link: {last_bitrate} bit/s"
    );
    // The last picture is coded at the rate the link had just recovered to: 31 dB
    // here on a quiet or a loaded machine, 30.0 once in CI; a stale or wrongly scaled
    // picture is far below.
    session.assert_picture_matches(&run, 29.0);
}

#[test]
fn a_three_second_outage_is_survived_and_the_picture_recovers() {
    let Some(link) = Link::create_or_skip("a_three_second_outage") else {
        return;
    };
    let session = Session::start(link);
    let mut relay = session.link.relay(&session.agent_address(), 10.0, 0.0);
    // The sentence is typed before, during and after the outage.
    let viewer = session.viewer(&relay.address, &typing_script(1000, 6.0, 3000), &[]);
    session.wait_active();
    std::thread::sleep(Duration::from_millis(2500));
    relay.down();
    std::thread::sleep(Duration::from_millis(1000));
    // The end user's screen changes while the link is down.
    session.x.run("xsetroot", &["-solid", "#206040"]);
    std::thread::sleep(Duration::from_millis(2000));
    relay.up();
    let link_back = unix_ms();
    let run = viewer.join().unwrap();
    assert!(
        run.success,
        "the session did not survive a 3 s outage: {}",
        run.stderr
    );
    report("3 s outage", &run);
    session.assert_sentence_arrived();
    session.assert_picture_matches(&run, 35.0);
    let last_frame = frame_times(&run).last().copied().unwrap_or(0);
    let recovery_ms = last_frame.saturating_sub(link_back);
    eprintln!("picture complete {recovery_ms} ms after the link returned");
    assert!(
        recovery_ms < 5000,
        "the picture took {recovery_ms} ms to recover after the link returned"
    );
}

/// A session whose link goes down for good: both sides end it with a reason, and the
/// end user is told the technician may come back. Returns the session and the
/// arguments the viewer printed to resume it (plus an input script that types the
/// sentence).
fn lost_session(name: &str) -> Option<(Session, Vec<String>)> {
    let link = Link::create_or_skip(name)?;
    let session = Session::start(link);
    let mut relay = session.link.relay(&session.agent_address(), 10.0, 0.0);
    let viewer = session.viewer(&relay.address, "wait 60000\n", &[]);
    session.wait_active();
    std::thread::sleep(Duration::from_secs(1));
    relay.down();
    let run = viewer.join().unwrap();
    assert!(!run.success, "the viewer did not notice the link was gone");
    assert!(
        run.stderr.contains("connection was lost") || run.stderr.contains("no answer"),
        "the viewer did not say why the session ended: {}",
        run.stderr
    );
    assert!(
        session
            .agent
            .wait_for_output("The session has ended", Duration::from_secs(10)),
        "the end user was not told the session ended: {}",
        session.agent.stdout()
    );
    let stdout = session.agent.stdout();
    let ended = stdout
        .lines()
        .find(|line| line.contains("The session has ended"))
        .unwrap_or_default();
    assert!(
        ended.contains("connection was lost"),
        "the end user was not told why: {ended:?}"
    );
    assert!(
        stdout.contains("may reconnect without a new code"),
        "the end user was not told the technician may come back: {stdout}"
    );

    // The viewer offered to resume without a new code.
    let offer = run
        .stderr
        .lines()
        .find(|line| line.contains("lifeline-viewer connect") && line.contains("--resume"))
        .unwrap_or_else(|| panic!("the viewer offered no reconnection: {}", run.stderr));
    let words: Vec<&str> = offer.split_whitespace().collect();
    let after = |flag: &str| {
        let at = words.iter().position(|word| *word == flag).unwrap();
        words[at + 1].to_owned()
    };
    let script = session.dir.path().join("resume.txt");
    std::fs::write(&script, typing_script(500, 2.0, 1000)).unwrap();
    let args = vec![
        "--resume".to_owned(),
        after("--resume"),
        "--agent-fingerprint".to_owned(),
        after("--agent-fingerprint"),
        "--scopes".to_owned(),
        "view,input".to_owned(),
        "--input-script".to_owned(),
        script.display().to_string(),
    ];
    Some((session, args))
}

/// Runs a headless viewer from the data directory `dir` (the key in it) with `args`,
/// straight to the agent.
fn viewer_from(session: &Session, dir: &str, args: &[String]) -> ViewerRun {
    let dir = session.dir.path().join(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run_headless_viewer_wrapped(
        &session.link.viewer_wrapper(),
        &dir,
        &session.agent_address(),
        "",
        &args,
    )
}

#[test]
fn a_long_outage_ends_the_session_and_the_same_technician_may_resume_it() {
    let Some((session, args)) = lost_session("a_long_outage") else {
        return;
    };
    // Someone else's viewer (another key) naming the session gets nothing.
    let intruder = viewer_from(&session, "intruder", &args);
    assert!(!intruder.success, "another key resumed the session");
    assert!(
        intruder.stderr.contains("not yours"),
        "the intruder was not told why: {}",
        intruder.stderr
    );
    assert_eq!(session.typed(), "", "the intruder typed");

    // The technician's own viewer resumes it: no code, no question to the end user,
    // and typing works again.
    let resumed = viewer_from(&session, "viewer", &args);
    assert!(
        resumed.success,
        "the session was not resumed: {}",
        resumed.stderr
    );
    session.assert_sentence_arrived();
    assert!(
        session.agent.stdout().matches("They may now:").count() >= 2,
        "the end user was not shown the resumed session: {}",
        session.agent.stdout()
    );
}

#[test]
fn the_end_user_can_refuse_that_a_lost_session_be_resumed() {
    let Some((mut session, args)) = lost_session("refused_resumption") else {
        return;
    };
    assert!(
        session
            .agent
            .stdout()
            .contains("Type 'no reconnect' to refuse"),
        "the end user was not told how to refuse: {}",
        session.agent.stdout()
    );
    session.agent.type_line("no reconnect");
    assert!(
        wait_until(Duration::from_secs(5), || session
            .agent
            .audit_lines()
            .iter()
            .any(|record| record["actor"] == "end_user"
                && record["action"].get("session_resumed").is_some())),
        "the refusal was not audited: {:?}",
        session.agent.audit_lines()
    );
    let refused = viewer_from(&session, "viewer", &args);
    assert!(
        !refused.success,
        "the session was resumed against the end user's wish"
    );
    assert!(
        refused.stderr.contains("new code"),
        "the technician was not told to ask for a new code: {}",
        refused.stderr
    );
    assert_eq!(session.typed(), "", "input arrived after the refusal");
}

#[test]
fn a_new_viewer_address_mid_session_keeps_the_session() {
    let Some(link) = Link::create_or_skip("a_new_viewer_address") else {
        return;
    };
    let mut session = Session::start(link);
    let viewer = session.viewer(
        &session.agent_address(),
        &typing_script(1000, 6.0, 3000),
        &[],
    );
    session.wait_active();
    std::thread::sleep(Duration::from_millis(3000));
    // The technician's machine moves to another address (new network, same laptop).
    session.link.move_viewer(3);
    std::thread::sleep(Duration::from_millis(1000));
    session.x.run("xsetroot", &["-solid", "#604020"]);
    let run = viewer.join().unwrap();
    assert!(
        run.success,
        "the session did not survive the viewer's new address: {}",
        run.stderr
    );
    report("new viewer address", &run);
    session.assert_sentence_arrived();
    // The change made after the move reached the technician.
    session.assert_picture_matches(&run, 35.0);
}
