//! The files: logs written through the real [`AuditLog`], then changed on disk. (The
//! chain and its verification are tested in memory in the protocol crate.)

use lifeline_protocol::audit::{Actor, AuditAction, Outcome};
use lifeline_protocol::message::SessionId;

use super::*;

fn now() -> Timestamp {
    Timestamp(1_700_000_000_500)
}

static OWNER: LogOwner = LogOwner {
    program: "the test",
    verify_command: "test audit verify",
    key_file: "identity.pk8",
    default_data_dir: || anyhow::bail!("tests pass a data directory"),
    now,
};

fn open(dir: &Path, key: &KeyPair) -> AuditLog {
    AuditLog::open(dir, key, &OWNER).unwrap()
}

fn ended(session: u8) -> AuditRecord {
    AuditRecord {
        time: Timestamp(1_700_000_000_000),
        session: Some(SessionId([session; 16])),
        actor: Actor::Agent,
        action: AuditAction::SessionEnded {
            reason: "viewer left".to_owned(),
        },
        scope: None,
        outcome: Outcome::Succeeded,
    }
}

/// Three sessions, each ended and signed: lines 1, 3, 5 are records, 2, 4, 6
/// checkpoints.
fn three_sessions(dir: &Path, key: &KeyPair) -> PathBuf {
    let mut log = open(dir, key);
    for session in 1..=3 {
        log.append(&ended(session)).unwrap();
    }
    log.path().to_path_buf()
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn the_log_and_its_head_file_are_written_privately_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = three_sessions(dir.path(), &key);
    assert_eq!(path, dir.path().join(AUDIT_FILE));
    let report = verify(&path, Some(&Trusted::key(key.public_key()))).unwrap();
    assert_eq!((report.records, report.checkpoints), (3, 3));
    assert_eq!(report.head_seq, Some(5));
    let head = std::fs::read_to_string(head_path(&path)).unwrap();
    assert_eq!(head, format!("{}\n", read_lines(&path)[5]));
    assert!(!dir.path().join("audit.head.tmp").exists());
    #[cfg(unix)]
    for file in [path.clone(), head_path(&path)] {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", file.display());
    }
}

#[test]
fn lines_cut_from_the_end_of_the_file_are_found_through_the_head_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = three_sessions(dir.path(), &key);
    let lines = read_lines(&path);
    std::fs::write(&path, format!("{}\n", lines[..4].join("\n"))).unwrap();
    let Err(VerifyError::Tampered(found)) = verify(&path, None) else {
        panic!("the cut went unnoticed");
    };
    assert_eq!(
        found.place,
        Place::Line {
            line: 5,
            seq: Some(4)
        }
    );
    assert_eq!(found.problem, Problem::Truncated { signed_seq: 5 });
}

#[test]
fn reopening_continues_the_chain_and_closing_signs_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = three_sessions(dir.path(), &key);
    let mut log = open(dir.path(), &key);
    let mut record = ended(4);
    record.action = AuditAction::Authentication;
    log.append(&record).unwrap();
    drop(log);
    let report = verify(&path, Some(&Trusted::key(key.public_key()))).unwrap();
    assert_eq!((report.lines, report.records), (8, 4));
    assert_eq!(report.unsigned_records, 0, "closing the log signs it");
}

#[test]
fn a_broken_log_is_not_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = three_sessions(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines.remove(2);
    std::fs::write(&path, format!("{}\n", lines.join("\n"))).unwrap();
    let err = AuditLog::open(dir.path(), &key, &OWNER).unwrap_err();
    assert!(matches!(err, OpenError::Broken { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("line 3 (seq 3)"), "{message}");
    assert!(message.contains("move"), "{message}");
    assert!(message.contains("start the test again"), "{message}");
    assert_eq!(read_lines(&path), lines, "the broken log was changed");
}

#[test]
fn a_file_changed_by_another_process_is_no_longer_written() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let mut first = open(dir.path(), &key);
    let mut second = open(dir.path(), &key);
    first.append(&ended(1)).unwrap();
    let err = second.append(&ended(2)).unwrap_err();
    assert!(err.to_string().contains("another process changed"), "{err}");
    assert!(err.to_string().contains("`test audit verify`"), "{err}");
    assert!(second.append(&ended(2)).is_err(), "the writer went on");
    drop(second);
    first.append(&ended(3)).unwrap();
    drop(first);
    let report = verify(&dir.path().join(AUDIT_FILE), None).unwrap();
    assert_eq!((report.records, report.checkpoints), (2, 2));
}
