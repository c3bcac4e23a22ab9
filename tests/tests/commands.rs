//! Commands from the technician, confirmed one by one by the end user (the default
//! policy): the technician sees the wait, then the output; a refusal never runs; both
//! are in the audit log with the command line.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::Duration;

use lifeline_tests::{Agent, Xvfb, spawn_scripted_viewer};

fn run_with_answer(answer: &str, marker: &std::path::Path) -> (lifeline_tests::ViewerRun, Agent) {
    let x = Xvfb::start(640, 480);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let viewer = spawn_scripted_viewer(
        &agent,
        "view,commands",
        &format!(
            "run echo hello from lifeline && touch {}\n",
            marker.display()
        ),
    );
    assert!(
        agent.wait_for_output("asks to run this command", Duration::from_secs(20)),
        "{}",
        agent.stdout()
    );
    // The end user sees exactly what would run.
    assert!(agent.stdout().contains("echo hello from lifeline && touch"));
    agent.type_line(answer);
    let run = viewer.join().unwrap();
    drop(x);
    (run, agent)
}

#[test]
fn an_approved_command_runs_and_the_technician_gets_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let (run, agent) = run_with_answer("y", &marker);
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    let command = &stats["commands"][0];
    assert_eq!(command["outcome"], "finished", "{stats}");
    assert_eq!(command["waited_for_approval"], true);
    assert_eq!(command["stdout"], "hello from lifeline\n");
    assert_eq!(command["exit_code"], 0);
    assert!(marker.exists());
    let audit = agent.audit_lines();
    assert!(audit.iter().any(|line| {
        line["action"]["action_answered"]["approved"] == true
            && line["action"]["action_answered"]["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("echo hello from lifeline"))
    }));
    assert!(audit.iter().any(|line| {
        line["action"]["action"]["summary"]
            .as_str()
            .is_some_and(|s| s.starts_with("exit code 0"))
    }));
}

#[test]
fn a_refused_command_never_runs_and_the_technician_is_told_why() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    let (run, agent) = run_with_answer("n", &marker);
    let stats = run.stats.expect("statistics");
    let command = &stats["commands"][0];
    assert_eq!(command["outcome"], "refused", "{stats}");
    assert!(
        command["refusal"]
            .as_str()
            .is_some_and(|r| r.contains("refused to run")),
        "{stats}"
    );
    std::thread::sleep(Duration::from_millis(300));
    assert!(!marker.exists(), "a refused command ran");
    assert!(
        agent
            .audit_lines()
            .iter()
            .any(|line| line["action"]["action_answered"]["approved"] == false)
    );
}
