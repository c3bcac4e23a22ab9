//! Long attended sessions ask the end user "continue?"; without an answer the session
//! ends on both sides with the reason, with an answer it goes on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::Duration;

use lifeline_tests::{Agent, Xvfb, run_headless_viewer};

/// A policy asking after about 2 s, with 3 s to answer.
fn quick_policy(dir: &std::path::Path) -> String {
    let path = dir.join("policy.toml");
    std::fs::write(
        &path,
        "[attended]\ncontinue_after_minutes = 0.035\ncontinue_answer_seconds = 3\n",
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn nobody_answering_continue_ends_the_session_with_the_reason() {
    let x = Xvfb::start(640, 480);
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Agent::start_with(&x.display, &["--policy", &quick_policy(dir.path())]);
    agent.type_line("y");
    let run = run_headless_viewer(&agent.address, &agent.code(), &["--seconds", "15"]);
    assert!(
        agent.stdout().contains("still running. Continue?"),
        "{}",
        agent.stdout()
    );
    assert!(
        !run.success,
        "the session should have ended early: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("nobody at the end user's computer answered"),
        "{}",
        run.stderr
    );
    assert!(agent.audit_lines().iter().any(|line| {
        line["action"]["session_ended"]["reason"]
            .as_str()
            .is_some_and(|reason| reason.contains("nobody at the end user's computer"))
    }));
}

#[test]
fn answering_continue_keeps_the_session() {
    let x = Xvfb::start(640, 480);
    let dir = tempfile::tempdir().unwrap();
    let mut agent = Agent::start_with(&x.display, &["--policy", &quick_policy(dir.path())]);
    agent.type_line("y");
    let address = agent.address.clone();
    let code = agent.code();
    let viewer =
        std::thread::spawn(move || run_headless_viewer(&address, &code, &["--seconds", "7"]));
    assert!(agent.wait_for_output("Continue?", Duration::from_secs(10)));
    agent.type_line("y");
    let run = viewer.join().unwrap();
    assert!(
        run.success,
        "the session should have lasted: {}",
        run.stderr
    );
}
