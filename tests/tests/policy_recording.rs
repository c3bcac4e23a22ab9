//! A deployment policy that records every session: the agent records it itself, says so
//! to the end user, and the recording verifies with the agent's key and replays what
//! the technician saw.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::process::Command;
use std::time::Duration;

use lifeline_tests::{Agent, Image, Xvfb, run_headless_viewer, wait_until, workspace_binary};

#[test]
fn the_agent_records_every_session_when_its_policy_says_so() {
    let x = Xvfb::start(800, 600);
    // Lines for the first 1.5 s, then a still screen: the viewer's last picture and the
    // recording's are then the same one (frames the agent sends as the viewer quits are
    // recorded but never shown, so a moving screen at the end would make them differ).
    let _xterm = x.xterm(
        "70x20+20+20",
        "for i in $(seq 1 15); do echo recorded by policy $i; sleep 0.1; done; sleep 600",
    );
    let dir = tempfile::tempdir().unwrap();
    let recordings = dir.path().join("evidence");
    let policy = dir.path().join("policy.toml");
    std::fs::write(
        &policy,
        format!(
            "[recording]\nalways = true\ndirectory = \"{}\"\nmax_total_mb = 100\n",
            recordings.display()
        ),
    )
    .unwrap();
    let mut agent = Agent::start_with(&x.display, &["--policy", policy.to_str().unwrap()]);
    agent.type_line("y");
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--seconds", "3"]);
    assert!(run.success, "{}", run.stderr);
    assert!(
        agent.wait_for_output(
            "recorded, as your organisation requires",
            Duration::from_secs(5)
        ),
        "{}",
        agent.stdout()
    );
    // The file is finished when the session's end reached the agent.
    let file = {
        let mut found = None;
        assert!(wait_until(Duration::from_secs(10), || {
            found = std::fs::read_dir(&recordings)
                .ok()
                .and_then(|mut entries| entries.next())
                .and_then(Result::ok)
                .map(|entry| entry.path());
            found.is_some()
        }));
        found.unwrap()
    };
    let verify = || {
        Command::new(workspace_binary("lifeline-viewer"))
            .args(["recording", "verify"])
            .arg(&file)
            .output()
            .unwrap()
    };
    assert!(
        wait_until(Duration::from_secs(10), || verify().status.success()),
        "{}",
        String::from_utf8_lossy(&verify().stdout)
    );
    let report = String::from_utf8_lossy(&verify().stdout).into_owned();
    assert!(report.contains("result: OK"), "{report}");
    // Its last picture is what the technician saw last.
    let picture = dir.path().join("end.png");
    let export = Command::new(workspace_binary("lifeline-viewer"))
        .args(["recording", "export"])
        .arg(&file)
        .args(["--screenshot", "end"])
        .arg(&picture)
        .output()
        .unwrap();
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let live = run.frame.expect("the live frame");
    let psnr = Image::load(&picture).psnr(&live);
    assert!(
        psnr >= 30.0,
        "PSNR {psnr:.1} dB between the recording and the live picture"
    );
}
