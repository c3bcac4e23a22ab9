//! Tamper tests: logs written through the real [`AuditLog`], then changed on disk.

use lifeline_protocol::audit::{Actor, AuditAction, Outcome};
use lifeline_protocol::message::SessionId;
use lifeline_protocol::{Scope, ScopeSet};
use serde_json::{Map, Value};

use super::*;

fn record(session: u8, action: AuditAction) -> AuditRecord {
    AuditRecord {
        time: Timestamp(1_700_000_000_000 + u64::from(session)),
        session: Some(SessionId([session; 16])),
        actor: Actor::Agent,
        action,
        scope: None,
        outcome: Outcome::Succeeded,
    }
}

fn ended(session: u8) -> AuditRecord {
    record(
        session,
        AuditAction::SessionEnded {
            reason: "viewer left".to_owned(),
        },
    )
}

/// Writes two sessions. Lines (seq = line - 1): 1-5 session 1 (seq 4 ends it),
/// 6 checkpoint, 7-8 session 2, 9 checkpoint.
fn sample(dir: &Path, key: &KeyPair) -> PathBuf {
    let mut log = AuditLog::open(dir, key).unwrap();
    let peer = AuditAction::ConnectionAttempt {
        peer_address: "192.0.2.1:5000".to_owned(),
    };
    log.append(&record(1, peer.clone())).unwrap();
    log.append(&record(1, AuditAction::Authentication)).unwrap();
    log.append(&record(
        1,
        AuditAction::ConsentAnswered {
            granted: ScopeSet::from([Scope::ViewScreen]),
        },
    ))
    .unwrap();
    log.append(&record(
        1,
        AuditAction::Action {
            message: "clipboard-text".to_owned(),
            summary: "12 bytes".to_owned(),
        },
    ))
    .unwrap();
    log.append(&ended(1)).unwrap();
    log.append(&record(2, peer)).unwrap();
    log.append(&ended(2)).unwrap();
    log.path().to_path_buf()
}

fn read_lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    let mut text = lines.join("\n");
    text.push('\n');
    std::fs::write(path, text).unwrap();
}

fn tamper(path: &Path, key: &KeyPair) -> Tamper {
    match verify(path, Some(&Trusted::key(key.public_key()))) {
        Err(VerifyError::Tampered(tamper)) => tamper,
        other => panic!("expected tampering to be found, got {other:?}"),
    }
}

fn at(line: u64, seq: Option<u64>) -> Place {
    Place::Line { line, seq }
}

/// Recomputes `prev` (and checkpoint heads) from line `from` on, as someone without
/// the agent's key would; checkpoints are re-signed by `signer` if given.
fn rechain(lines: &mut [String], from: usize, signer: Option<&KeyPair>) {
    for i in from..lines.len() {
        let prev = Hash::of(lines[i - 1].as_bytes());
        let mut fields: Map<String, Value> = serde_json::from_str(&lines[i]).unwrap();
        fields.insert("prev".to_owned(), Value::String(prev.to_string()));
        if let Some(Value::Object(checkpoint)) = fields.get_mut("checkpoint") {
            checkpoint.insert("head".to_owned(), Value::String(prev.to_string()));
            if let Some(key) = signer {
                let seq = u64::try_from(i).unwrap();
                let time = Timestamp(checkpoint["time"].as_u64().unwrap());
                let signature = key.sign(&entry::signed_message(seq, prev, time));
                let public = key.public_key();
                checkpoint.insert("signer".to_owned(), Value::String(entry::to_hex(&public.0)));
                checkpoint.insert(
                    "signature".to_owned(),
                    Value::String(entry::to_hex(&signature)),
                );
            }
        }
        lines[i] = serde_json::to_string(&fields).unwrap();
    }
}

#[test]
fn an_intact_log_verifies_with_its_checkpoints_and_head_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let report = verify(&path, Some(&Trusted::key(key.public_key()))).unwrap();
    assert_eq!(
        (report.lines, report.records, report.checkpoints),
        (9, 7, 2)
    );
    assert_eq!(report.unsigned_records, 0);
    assert_eq!(report.signer, Some(key.public_key()));
    assert_eq!(report.head_seq, Some(8));
    assert_eq!(report.warnings(&head_path(&path)), Vec::<String>::new());
    let by_fingerprint = Trusted::parse_hex(&key.public_key().fingerprint().to_hex()).unwrap();
    assert!(verify(&path, Some(&by_fingerprint)).is_ok());
    // The record lines keep the record's own field names at the top level.
    let first: Value = serde_json::from_str(&read_lines(&path)[0]).unwrap();
    assert_eq!(
        first["action"]["connection_attempt"]["peer_address"],
        "192.0.2.1:5000"
    );
}

#[test]
fn an_edited_record_is_named_by_the_line_after_it() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    assert!(lines[3].contains("12 bytes"));
    lines[3] = lines[3].replace("12 bytes", "13 bytes");
    write_lines(&path, &lines);
    let found = tamper(&path, &key);
    assert_eq!(found.place, at(5, Some(4)));
    assert_eq!(found.problem, Problem::WrongPrev { previous_line: 4 });
    assert!(
        found
            .to_string()
            .starts_with("line 5 (seq 4): the previous-record hash")
    );
}

#[test]
fn an_edited_record_rechained_without_the_key_breaks_the_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines[3] = lines[3].replace("12 bytes", "13 bytes");
    rechain(&mut lines, 4, None);
    write_lines(&path, &lines);
    let found = tamper(&path, &key);
    assert_eq!(found.place, at(6, Some(5)));
    assert_eq!(found.problem, Problem::BadSignature);
}

#[test]
fn a_deleted_record_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines.remove(2);
    write_lines(&path, &lines);
    let found = tamper(&path, &key);
    assert_eq!(found.place, at(3, Some(3)));
    assert_eq!(found.problem, Problem::WrongSeq { expected: 2 });
}

#[test]
fn a_deleted_first_record_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines.remove(0);
    write_lines(&path, &lines);
    assert_eq!(tamper(&path, &key).problem, Problem::StartMissing);
}

#[test]
fn swapped_records_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines.swap(1, 2);
    write_lines(&path, &lines);
    let found = tamper(&path, &key);
    assert_eq!(found.place, at(2, Some(2)));
    assert_eq!(found.problem, Problem::WrongSeq { expected: 1 });
}

#[test]
fn a_checkpoint_forged_with_another_key_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let forger = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines[3] = lines[3].replace("12 bytes", "13 bytes");
    rechain(&mut lines, 4, Some(&forger));
    write_lines(&path, &lines);
    let found = tamper(&path, &key);
    assert_eq!(found.place, at(6, Some(5)));
    assert_eq!(
        found.problem,
        Problem::Untrusted {
            signer: forger.public_key().fingerprint()
        }
    );
}

#[test]
fn without_a_trusted_key_a_change_of_signer_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let forger = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines[6] = lines[6].replace("192.0.2.1", "192.0.2.9");
    rechain(&mut lines, 7, Some(&forger));
    write_lines(&path, &lines);
    let Err(VerifyError::Tampered(found)) = verify(&path, None) else {
        panic!("a second signer went unnoticed");
    };
    assert_eq!(found.place, at(9, Some(8)));
    assert!(matches!(found.problem, Problem::SignerChanged { .. }));
}

#[test]
fn a_file_cut_mid_line_is_found() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let found = tamper(&path, &key);
    assert_eq!(found.place, at(9, None));
    assert_eq!(found.problem, Problem::Incomplete);
}

#[test]
fn lines_cut_from_the_end_are_found_through_the_head_file() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let lines = read_lines(&path);
    write_lines(&path, &lines[..5]);
    let found = tamper(&path, &key);
    assert_eq!(found.place, at(6, Some(5)));
    assert_eq!(found.problem, Problem::Truncated { signed_seq: 8 });
    assert!(found.to_string().contains("cut from the end"), "{found}");

    // Without the head file, the cut is invisible: only warnings remain.
    std::fs::remove_file(head_path(&path)).unwrap();
    let report = verify(&path, Some(&Trusted::key(key.public_key()))).unwrap();
    assert_eq!(report.unsigned_records, 5);
    let warnings = report.warnings(&head_path(&path)).join("\n");
    assert!(warnings.contains("not yet signed"), "{warnings}");
    assert!(warnings.contains("no head file"), "{warnings}");
}

#[test]
fn reopening_continues_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut log = AuditLog::open(dir.path(), &key).unwrap();
    log.append(&record(3, AuditAction::Authentication)).unwrap();
    drop(log);
    let report = verify(&path, Some(&Trusted::key(key.public_key()))).unwrap();
    assert_eq!(
        (report.lines, report.records, report.checkpoints),
        (11, 8, 3)
    );
    assert_eq!(report.unsigned_records, 0, "closing the log signs it");
    let tenth: Value = serde_json::from_str(&read_lines(&path)[9]).unwrap();
    assert_eq!(tenth["seq"], 9);
}

#[test]
fn a_broken_log_is_not_appended_to() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let path = sample(dir.path(), &key);
    let mut lines = read_lines(&path);
    lines.remove(2);
    write_lines(&path, &lines);
    let err = AuditLog::open(dir.path(), &key).unwrap_err();
    assert!(matches!(err, OpenError::Broken { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("line 3 (seq 3)"), "{message}");
    assert!(message.contains("move"), "{message}");
    assert_eq!(read_lines(&path), lines, "the broken log was changed");
}

#[test]
fn a_log_from_before_chaining_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let bare = serde_json::to_string(&ended(1)).unwrap();
    std::fs::write(dir.path().join(AUDIT_FILE), format!("{bare}\n")).unwrap();
    let found = tamper(&dir.path().join(AUDIT_FILE), &key);
    assert_eq!(found.place, at(1, None));
    assert_eq!(found.problem, Problem::Unchained);
}

#[test]
fn a_file_changed_by_another_process_is_no_longer_written() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let mut first = AuditLog::open(dir.path(), &key).unwrap();
    let mut second = AuditLog::open(dir.path(), &key).unwrap();
    first.append(&ended(1)).unwrap();
    let err = second.append(&ended(2)).unwrap_err();
    assert!(err.to_string().contains("another process changed"), "{err}");
    assert!(second.append(&ended(2)).is_err(), "the writer went on");
    drop(second);
    first.append(&ended(3)).unwrap();
    drop(first);
    let report = verify(&dir.path().join(AUDIT_FILE), None).unwrap();
    assert_eq!((report.records, report.checkpoints), (2, 2));
}

#[test]
fn long_sessions_are_signed_every_so_many_records() {
    let dir = tempfile::tempdir().unwrap();
    let key = KeyPair::generate().unwrap();
    let mut log = AuditLog::open(dir.path(), &key).unwrap();
    for _ in 0..CHECKPOINT_EVERY_RECORDS + 1 {
        log.append(&record(1, AuditAction::Authentication)).unwrap();
    }
    let report = verify(log.path(), None).unwrap();
    assert_eq!(report.checkpoints, 1);
    assert_eq!(report.unsigned_records, 1);
    log.checkpoint().unwrap();
    let report = verify(log.path(), None).unwrap();
    assert_eq!((report.checkpoints, report.unsigned_records), (2, 0));
}
