//! `lifeline-agent audit verify` and `audit show`, run as the built binary on logs
//! written through the agent's own `AuditLog`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail loudly on purpose"
)]

use std::path::Path;
use std::process::{Command, Output};

use lifeline_agent::audit_log::{AUDIT_FILE, AuditLog};
use lifeline_protocol::Timestamp;
use lifeline_protocol::audit::{Actor, AuditAction, AuditRecord, Outcome};
use lifeline_protocol::message::SessionId;

fn agent(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lifeline-agent"))
        .args(args)
        .env("RUST_LOG", "off")
        .output()
        .expect("the agent binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn record(session: u8, action: AuditAction) -> AuditRecord {
    AuditRecord {
        time: Timestamp(1_700_000_000_000),
        session: Some(SessionId([session; 16])),
        actor: Actor::EndUser,
        action,
        scope: None,
        outcome: Outcome::Succeeded,
    }
}

/// Two sessions (ids `1111…` and `2222…`) in the log of the agent whose data directory
/// is `dir`, signed with that agent's key.
fn write_log(dir: &Path) {
    let identity = lifeline_agent::identity::load_or_create(dir).unwrap();
    let mut log = AuditLog::open(dir, &identity.key, &lifeline_agent::cli::AUDIT_LOG).unwrap();
    for session in [0x11, 0x22] {
        log.append(&record(session, AuditAction::Authentication))
            .unwrap();
        log.append(&record(
            session,
            AuditAction::SessionEnded {
                reason: format!("session {session:x} over"),
            },
        ))
        .unwrap();
    }
}

#[test]
fn verify_passes_an_intact_log_and_names_the_bad_line_of_a_tampered_one() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path());
    let data_dir = dir.path().to_str().unwrap();

    let intact = agent(&["audit", "verify", "--data-dir", data_dir]);
    assert_eq!(intact.status.code(), Some(0), "{}", text(&intact.stderr));
    let stdout = text(&intact.stdout);
    assert!(stdout.starts_with("intact: "), "{stdout}");
    assert!(stdout.contains("4 records, 2 checkpoints"), "{stdout}");

    // Swap the second session's two records (lines 4 and 5, seq 3 and 4).
    let path = dir.path().join(AUDIT_FILE);
    let mut lines: Vec<String> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    lines.swap(3, 4);
    std::fs::write(&path, lines.join("\n") + "\n").unwrap();

    let tampered = agent(&[
        "--data-dir",
        data_dir,
        "audit",
        "verify",
        path.to_str().unwrap(),
    ]);
    assert_eq!(
        tampered.status.code(),
        Some(1),
        "{}",
        text(&tampered.stderr)
    );
    let stdout = text(&tampered.stdout);
    assert!(stdout.starts_with("TAMPERED: "), "{stdout}");
    assert!(
        stdout.contains("line 4 (seq 4): the sequence number should be 3"),
        "{stdout}"
    );
}

#[test]
fn verify_refuses_a_log_signed_by_another_agent() {
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    write_log(theirs.path());
    lifeline_agent::identity::load_or_create(ours.path()).unwrap();
    let their_log = theirs.path().join(AUDIT_FILE);
    let output = agent(&[
        "audit",
        "verify",
        "--data-dir",
        ours.path().to_str().unwrap(),
        their_log.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stdout).contains("not by the trusted key"));
}

#[test]
fn show_prints_one_line_per_record_and_filters_by_session() {
    let dir = tempfile::tempdir().unwrap();
    write_log(dir.path());
    let data_dir = dir.path().to_str().unwrap();

    let all = agent(&["audit", "show", "--data-dir", data_dir]);
    assert_eq!(all.status.code(), Some(0), "{}", text(&all.stderr));
    let all = text(&all.stdout);
    assert_eq!(
        all.lines().count(),
        6,
        "4 records and 2 checkpoints:\n{all}"
    );
    assert!(
        all.contains("2023-11-14T22:13:20.000Z  #0  session 11111111  end user  authentication")
    );

    let one = agent(&["audit", "show", "--data-dir", data_dir, "--session", "2222"]);
    let one = text(&one.stdout);
    assert_eq!(one.lines().count(), 2, "{one}");
    assert!(
        one.lines().all(|line| line.contains("session 22222222")),
        "{one}"
    );
    assert!(one.contains("session ended: session 22 over"), "{one}");

    let json = agent(&[
        "audit",
        "show",
        "--data-dir",
        data_dir,
        "--session",
        "2222",
        "--json",
    ]);
    let records: Vec<serde_json::Value> = text(&json.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(records.len(), 2);
    assert!(records.iter().all(|r| r["session"] == "22".repeat(16)));
    let back: AuditRecord = serde_json::from_value(records[0].clone()).unwrap();
    assert_eq!(back, record(0x22, AuditAction::Authentication));
}

#[test]
fn without_a_command_the_agent_keeps_its_options() {
    let help = agent(&["--help"]);
    assert_eq!(help.status.code(), Some(0));
    let help = text(&help.stdout);
    for expected in ["--listen", "--consent", "--data-dir", "audit"] {
        assert!(help.contains(expected), "{expected} missing from:\n{help}");
    }
}
