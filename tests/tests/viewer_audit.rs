//! The technician's audit log: a real session (an agent on Xvfb, the headless viewer)
//! leaves `audit.jsonl` in the viewer's data directory, signed with the technician's
//! key, holding what the technician did and no secrets. `lifeline-viewer log verify`
//! passes it, `log show` prints it, and an edited line is named.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use lifeline_protocol::KeyPair;
use lifeline_protocol::audit::AuditRecord;
use lifeline_tests::{Agent, Xvfb, run_headless_viewer_in, workspace_binary};
use serde_json::Value;

const TYPED: &str = "typed words stay secret";

/// Runs `lifeline-viewer --data-dir DIR ARGS…`: its exit code, standard output and
/// standard error (errors logged).
fn viewer(dir: &Path, args: &[&str]) -> (Option<i32>, String, String) {
    let Output {
        status,
        stdout,
        stderr,
    } = std::process::Command::new(workspace_binary("lifeline-viewer"))
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "error")
        .output()
        .expect("the viewer binary runs");
    let text = |bytes: Vec<u8>| String::from_utf8_lossy(&bytes).into_owned();
    (status.code(), text(stdout), text(stderr))
}

fn fingerprint_hex(key_file: &Path) -> String {
    let key = KeyPair::from_pkcs8(&std::fs::read(key_file).unwrap()).unwrap();
    key.public_key().fingerprint().to_hex()
}

/// The records (not checkpoints) of the viewer's log whose action is `name`.
fn records<'a>(lines: &'a [Value], name: &str) -> Vec<&'a Value> {
    lines
        .iter()
        .filter(|line| line["action"].get(name).is_some() || line["action"] == name)
        .collect()
}

#[test]
fn a_session_leaves_a_signed_log_of_what_the_technician_did() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("script.txt");
    let steps = format!("move 20 20\ntype {TYPED}\nrun echo audited by the viewer\n");
    std::fs::write(&script, steps).unwrap();
    let x = Xvfb::start(640, 480);
    let mut agent = Agent::start(&x.display);
    agent.type_line("y");
    let (address, code) = (agent.address.clone(), agent.code());
    let viewer_dir = dir.path().to_path_buf();
    let script_arg = script.display().to_string();
    let session = std::thread::spawn(move || {
        let args = [
            "--scopes",
            "view,input,commands",
            "--input-script",
            &script_arg,
            "--reason",
            "printer setup",
        ];
        run_headless_viewer_in(&viewer_dir, &address, &code, &args)
    });
    assert!(
        agent.wait_for_output("asks to run this command", Duration::from_secs(30)),
        "{}",
        agent.stdout()
    );
    agent.type_line("y");
    let run = session.join().unwrap();
    assert!(run.success, "{}", run.stderr);
    let code = agent.code();
    drop(x);

    let log_path = dir.path().join("audit.jsonl");
    let raw = std::fs::read_to_string(&log_path).expect("the viewer wrote audit.jsonl");
    assert!(dir.path().join("audit.head").exists());
    let lines: Vec<Value> = raw
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();

    // Who: the technician's key, as the agent saw it too.
    let technician = fingerprint_hex(&dir.path().join("identity.pk8"));
    let agent_key = fingerprint_hex(&agent.data_dir.path().join("identity.pk8"));
    let connection = records(&lines, "agent_connection");
    assert_eq!(connection.len(), 1, "{raw}");
    assert_eq!(
        connection[0]["actor"]["technician"]["fingerprint"],
        technician
    );
    assert_eq!(
        connection[0]["action"]["agent_connection"]["address"],
        agent.address
    );
    assert_eq!(
        connection[0]["action"]["agent_connection"]["fingerprint"],
        agent_key
    );
    let authentication = records(&lines, "agent_authentication");
    assert_eq!(authentication.len(), 1, "{raw}");
    assert_eq!(authentication[0]["outcome"], "succeeded");
    assert_eq!(
        authentication[0]["action"]["agent_authentication"]["unattended"],
        false
    );
    // The same session id as in the agent's own log.
    let session_id = authentication[0]["session"].as_str().unwrap().to_owned();
    assert!(
        agent
            .audit_lines()
            .iter()
            .any(|line| line["session"] == session_id.as_str())
    );

    // What was asked and granted.
    let asked = records(&lines, "consent_asked");
    assert_eq!(
        asked[0]["action"]["consent_asked"]["reason"],
        "printer setup"
    );
    let answered = records(&lines, "consent_answered");
    assert_eq!(answered[0]["actor"], "end_user");
    assert_eq!(
        answered[0]["action"]["consent_answered"]["granted"],
        serde_json::json!(["view", "input", "commands"])
    );

    // Input once, at its first use; typed text never.
    let input = records(&lines, "action");
    assert_eq!(input.len(), 1, "{raw}");
    assert_eq!(input[0]["action"]["action"]["message"], "pointer-move");
    assert_eq!(input[0]["scope"], "input");
    assert!(!raw.contains(TYPED), "typed text in the log:\n{raw}");
    assert!(!raw.contains(&code) && !raw.contains(&code.replace(' ', "")));

    // The command: sent, allowed by the end user, finished with exit code 0.
    let sent = records(&lines, "command_sent");
    assert_eq!(
        sent[0]["action"]["command_sent"]["command_line"],
        "echo audited by the viewer"
    );
    let approval = records(&lines, "action_answered");
    assert_eq!(approval[0]["actor"], "end_user");
    assert_eq!(approval[0]["action"]["action_answered"]["approved"], true);
    let finished = records(&lines, "command_finished");
    assert_eq!(finished[0]["action"]["command_finished"]["exit_code"], 0);
    assert_eq!(finished[0]["outcome"], "succeeded");

    // The end, with its reason, then a checkpoint.
    let ended = records(&lines, "session_ended");
    assert_eq!(ended.len(), 1, "{raw}");
    assert!(
        ended[0]["action"]["session_ended"]["reason"]
            .as_str()
            .is_some_and(|reason| !reason.is_empty())
    );
    assert!(lines.last().unwrap().get("checkpoint").is_some(), "{raw}");
    for line in lines.iter().filter(|line| line.get("checkpoint").is_none()) {
        serde_json::from_value::<AuditRecord>(line.clone()).unwrap();
    }

    // `log verify`: intact, signed by the technician's key.
    let (status, stdout, stderr) = viewer(dir.path(), &["log", "verify"]);
    assert_eq!(status, Some(0), "{stderr}");
    assert!(stdout.starts_with("intact: "), "{stdout}");
    let records_and_checkpoints = format!("{} records, 1 checkpoints", lines.len() - 1);
    assert!(stdout.contains(&records_and_checkpoints), "{stdout}");

    // `log show`: the session's lines for people, and the records as JSON.
    let prefix = &session_id[..8];
    let (status, shown, stderr) = viewer(dir.path(), &["log", "show", "--session", prefix]);
    assert_eq!(status, Some(0), "{stderr}");
    for expected in [
        "authentication with the end user's code",
        "command 1 sent: \"echo audited by the viewer\"",
        "run-command allowed once: \"echo audited by the viewer\"",
    ] {
        assert!(
            shown.contains(expected),
            "{expected} missing from:\n{shown}"
        );
    }
    let (_, json, _) = viewer(dir.path(), &["log", "show", "--json"]);
    assert_eq!(json.lines().count(), lines.len() - 1);

    // An edited command line is found: the next line names the edited one.
    let mut edited: Vec<String> = raw.lines().map(str::to_owned).collect();
    let index = edited
        .iter()
        .position(|line| line.contains("\"command_sent\""))
        .unwrap();
    edited[index] = edited[index].replace("echo audited", "echo innocent");
    std::fs::write(&log_path, edited.join("\n") + "\n").unwrap();
    let (status, stdout, stderr) = viewer(dir.path(), &["log", "verify"]);
    assert_eq!(status, Some(1), "{stderr}");
    assert!(stdout.starts_with("TAMPERED: "), "{stdout}");
    // Lines count from 1 and sequence numbers from 0.
    let (edited_line, next_line, next_seq) = (index + 1, index + 2, index + 1);
    let named = format!(
        "line {next_line} (seq {next_seq}): the previous-record hash does not match line \
         {edited_line}: that line was edited"
    );
    assert!(stdout.contains(&named), "{stdout}");

    // A viewer with a broken log refuses to start rather than continue it.
    let connect = [
        "connect",
        "127.0.0.1:9",
        "--code",
        "123456789",
        "--headless",
    ];
    let (status, _, stderr) = viewer(dir.path(), &connect);
    assert_ne!(status, Some(0));
    assert!(stderr.contains("does not verify"), "{stderr}");
    assert!(stderr.contains("start the viewer again"), "{stderr}");
}
