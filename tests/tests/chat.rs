//! Chat both ways with the real binaries: the technician's line reaches the end user's
//! terminal, the end user's answer reaches the technician, and the audit log has the
//! sizes but never the text.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::time::Duration;

use lifeline_tests::{Agent, Xvfb, spawn_scripted_viewer};

#[test]
fn technician_and_end_user_write_to_each_other() {
    let x = Xvfb::start(640, 480);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let viewer = spawn_scripted_viewer(
        &agent,
        "view",
        "chat Hello, I am looking at your printer now\nwait 6000\n",
    );
    assert!(
        agent.wait_for_output(
            "The technician says: Hello, I am looking at your printer now",
            Duration::from_secs(20)
        ),
        "the end user did not see the technician's line: {}",
        agent.stdout()
    );
    agent.type_line("say Thank you, it is the one upstairs");
    let run = viewer.join().unwrap();
    assert!(run.success, "{}", run.stderr);
    let stats = run.stats.expect("statistics");
    assert_eq!(
        stats["chat_received"],
        serde_json::json!(["Thank you, it is the one upstairs"]),
        "{stats}"
    );
    let audit = agent.audit_lines();
    let chat: Vec<&serde_json::Value> = audit
        .iter()
        .filter(|line| line["action"]["action"]["message"] == "chat")
        .collect();
    assert_eq!(chat.len(), 2, "{audit:?}");
    assert!(chat.iter().any(|line| line["actor"] == "end_user"));
    let text = serde_json::to_string(&audit).unwrap();
    assert!(
        !text.contains("printer") && !text.contains("upstairs"),
        "chat text reached the audit log"
    );
}
