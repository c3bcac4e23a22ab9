//! Tamper tests: logs written through [`LogWriter`] into memory, then changed.

use std::cell::RefCell;
use std::io;
use std::path::Path;
use std::rc::Rc;

use serde_json::{Map, Value};

use super::chain::{Hash, Signature, signed_message};
use super::verify::{HeadFile, Place, Problem, Report, Tamper, Trusted, verify_log};
use super::writer::{CHECKPOINT_EVERY_RECORDS, LogStore, LogWriter, WriteError};
use super::{Actor, AuditAction, AuditRecord, Outcome};
use crate::identity::KeyPair;
use crate::message::SessionId;
use crate::scope::{Scope, ScopeSet};
use crate::time::Timestamp;

const HEAD: &str = "audit.head";

/// A log and its head file in memory, shareable between writers.
#[derive(Clone, Debug, Default)]
struct Memory(Rc<RefCell<Files>>);

#[derive(Debug, Default)]
struct Files {
    log: Vec<u8>,
    head: Option<Vec<u8>>,
    refuse_appends: bool,
}

impl LogStore for Memory {
    fn log_len(&mut self) -> io::Result<u64> {
        Ok(self.0.borrow().log.len() as u64)
    }

    fn append_log(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut files = self.0.borrow_mut();
        if files.refuse_appends {
            // Half a line reaches the disk, then the disk is full.
            let half = bytes.len() / 2;
            files.log.extend_from_slice(&bytes[..half]);
            return Err(io::Error::other("disk full"));
        }
        files.log.extend_from_slice(bytes);
        Ok(())
    }

    fn sync_log(&mut self) -> io::Result<()> {
        Ok(())
    }

    fn replace_head(&mut self, line: &[u8]) -> io::Result<()> {
        self.0.borrow_mut().head = Some(line.to_vec());
        Ok(())
    }
}

impl Memory {
    fn log(&self) -> Vec<u8> {
        self.0.borrow().log.clone()
    }

    fn lines(&self) -> Vec<String> {
        String::from_utf8(self.log())
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    fn set_lines(&self, lines: &[String]) {
        let mut text = lines.join("\n");
        text.push('\n');
        self.0.borrow_mut().log = text.into_bytes();
    }

    fn verify(&self, trusted: Option<&Trusted>) -> Result<Report, Tamper> {
        let files = self.0.borrow();
        let head = files.head.as_deref().map(|bytes| HeadFile {
            path: Path::new(HEAD),
            bytes,
        });
        verify_log(&files.log, head, trusted)
    }

    fn resume(&self, key: &KeyPair) -> Result<LogWriter<Memory>, Tamper> {
        let files = self.0.borrow();
        let head = files.head.as_deref().map(|bytes| HeadFile {
            path: Path::new(HEAD),
            bytes,
        });
        LogWriter::resume(self.clone(), copy(key), &files.log, head)
    }
}

fn copy(key: &KeyPair) -> KeyPair {
    KeyPair::from_pkcs8(key.to_pkcs8()).unwrap()
}

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

const NOW: Timestamp = Timestamp(1_700_000_001_000);

/// Writes two sessions. Lines (seq = line - 1): 1-5 session 1 (seq 4 ends it),
/// 6 checkpoint, 7-8 session 2, 9 checkpoint.
fn sample(key: &KeyPair) -> Memory {
    let memory = Memory::default();
    let mut log = memory.resume(key).unwrap();
    let peer = AuditAction::ConnectionAttempt {
        peer_address: "192.0.2.1:5000".to_owned(),
    };
    let clipboard = AuditAction::Action {
        message: "clipboard-text".to_owned(),
        summary: "12 bytes".to_owned(),
    };
    let consent = AuditAction::ConsentAnswered {
        granted: ScopeSet::from([Scope::ViewScreen]),
    };
    let records = [
        record(1, peer.clone()),
        record(1, AuditAction::Authentication),
        record(1, consent),
        record(1, clipboard),
        ended(1),
        record(2, peer),
        ended(2),
    ];
    for record in &records {
        log.append(record, NOW).unwrap();
    }
    memory
}

fn tamper(memory: &Memory, key: &KeyPair) -> Tamper {
    match memory.verify(Some(&Trusted::key(key.public_key()))) {
        Err(tamper) => tamper,
        Ok(report) => panic!("expected tampering to be found, got {report:?}"),
    }
}

fn at(line: u64, seq: Option<u64>) -> Place {
    Place::Line { line, seq }
}

/// Recomputes `prev` (and checkpoint heads) from line `from` on, as someone without
/// the key would; checkpoints are re-signed by `signer` if given.
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
                let signature = Signature(key.sign(&signed_message(seq, prev, time)));
                let signer = serde_json::to_value(key.public_key()).unwrap();
                checkpoint.insert("signer".to_owned(), signer);
                checkpoint.insert("signature".to_owned(), String::from(signature).into());
            }
        }
        lines[i] = serde_json::to_string(&fields).unwrap();
    }
}

#[test]
fn an_intact_log_verifies_with_its_checkpoints_and_head_file() {
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let report = memory
        .verify(Some(&Trusted::key(key.public_key())))
        .unwrap();
    assert_eq!(
        (report.lines, report.records, report.checkpoints),
        (9, 7, 2)
    );
    assert_eq!(report.unsigned_records, 0);
    assert_eq!(report.signer, Some(key.public_key()));
    assert_eq!(report.head_seq, Some(8));
    assert_eq!(report.warnings(Path::new(HEAD)), Vec::<String>::new());
    let by_fingerprint = Trusted::parse_hex(&key.public_key().fingerprint().to_hex()).unwrap();
    assert!(memory.verify(Some(&by_fingerprint)).is_ok());
    // The record lines keep the record's own field names at the top level.
    let first: Value = serde_json::from_str(&memory.lines()[0]).unwrap();
    assert_eq!(
        first["action"]["connection_attempt"]["peer_address"],
        "192.0.2.1:5000"
    );
}

#[test]
fn an_edited_record_is_named_by_the_line_after_it() {
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let mut lines = memory.lines();
    assert!(lines[3].contains("12 bytes"));
    lines[3] = lines[3].replace("12 bytes", "13 bytes");
    memory.set_lines(&lines);
    let found = tamper(&memory, &key);
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
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let mut lines = memory.lines();
    lines[3] = lines[3].replace("12 bytes", "13 bytes");
    rechain(&mut lines, 4, None);
    memory.set_lines(&lines);
    let found = tamper(&memory, &key);
    assert_eq!(found.place, at(6, Some(5)));
    assert_eq!(found.problem, Problem::BadSignature);
}

#[test]
fn deleted_and_swapped_records_are_found() {
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let original = memory.lines();

    let mut lines = original.clone();
    lines.remove(2);
    memory.set_lines(&lines);
    let found = tamper(&memory, &key);
    assert_eq!(found.place, at(3, Some(3)));
    assert_eq!(found.problem, Problem::WrongSeq { expected: 2 });

    memory.set_lines(&original[1..]);
    assert_eq!(tamper(&memory, &key).problem, Problem::StartMissing);

    let mut lines = original;
    lines.swap(1, 2);
    memory.set_lines(&lines);
    let found = tamper(&memory, &key);
    assert_eq!(found.place, at(2, Some(2)));
    assert_eq!(found.problem, Problem::WrongSeq { expected: 1 });
}

#[test]
fn a_checkpoint_forged_with_another_key_is_found() {
    let key = KeyPair::generate().unwrap();
    let forger = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let mut lines = memory.lines();
    lines[3] = lines[3].replace("12 bytes", "13 bytes");
    rechain(&mut lines, 4, Some(&forger));
    memory.set_lines(&lines);
    let found = tamper(&memory, &key);
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
    let key = KeyPair::generate().unwrap();
    let forger = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let mut lines = memory.lines();
    lines[6] = lines[6].replace("192.0.2.1", "192.0.2.9");
    rechain(&mut lines, 7, Some(&forger));
    memory.set_lines(&lines);
    let Err(found) = memory.verify(None) else {
        panic!("a second signer went unnoticed");
    };
    assert_eq!(found.place, at(9, Some(8)));
    assert!(matches!(found.problem, Problem::SignerChanged { .. }));
}

#[test]
fn a_log_cut_mid_line_or_at_a_line_end_is_found() {
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let bytes = memory.log();
    memory.0.borrow_mut().log = bytes[..bytes.len() - 10].to_vec();
    let found = tamper(&memory, &key);
    assert_eq!(found.place, at(9, None));
    assert_eq!(found.problem, Problem::Incomplete);

    memory.set_lines(
        &String::from_utf8(bytes)
            .unwrap()
            .lines()
            .take(5)
            .map(str::to_owned)
            .collect::<Vec<_>>(),
    );
    let found = tamper(&memory, &key);
    assert_eq!(found.place, at(6, Some(5)));
    assert_eq!(found.problem, Problem::Truncated { signed_seq: 8 });
    assert!(found.to_string().contains("cut from the end"), "{found}");

    // Without the head file, the cut is invisible: only warnings remain.
    memory.0.borrow_mut().head = None;
    let report = memory
        .verify(Some(&Trusted::key(key.public_key())))
        .unwrap();
    assert_eq!(report.unsigned_records, 5);
    let warnings = report.warnings(Path::new(HEAD)).join("\n");
    assert!(warnings.contains("not yet signed"), "{warnings}");
    assert!(warnings.contains("no head file audit.head"), "{warnings}");
}

#[test]
fn a_damaged_head_file_is_named() {
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    memory.0.borrow_mut().head = Some(b"{\"seq\":1}".to_vec());
    let found = tamper(&memory, &key);
    assert_eq!(found.place, Place::HeadFile(HEAD.into()));
    assert_eq!(found.problem, Problem::Incomplete);
    assert!(found.to_string().starts_with("head file audit.head: "));
}

#[test]
fn resuming_continues_the_chain_and_refuses_a_broken_log() {
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let mut log = memory.resume(&key).unwrap();
    log.append(&record(3, AuditAction::Authentication), NOW)
        .unwrap();
    assert_eq!(log.unsigned_records(), 1);
    log.checkpoint_if_unsigned(NOW).unwrap();
    log.checkpoint_if_unsigned(NOW).unwrap();
    let report = memory.verify(None).unwrap();
    assert_eq!(
        (report.lines, report.records, report.checkpoints),
        (11, 8, 3)
    );
    let tenth: Value = serde_json::from_str(&memory.lines()[9]).unwrap();
    assert_eq!(tenth["seq"], 9);

    let mut lines = memory.lines();
    lines.remove(2);
    memory.set_lines(&lines);
    let found = memory.resume(&key).unwrap_err();
    assert_eq!(found.place, at(3, Some(3)));

    // Another key's log is not continued either.
    let other = KeyPair::generate().unwrap();
    let theirs = sample(&other);
    let found = theirs.resume(&key).unwrap_err();
    assert!(matches!(found.problem, Problem::Untrusted { .. }));
}

#[test]
fn a_log_from_before_chaining_is_refused_by_name() {
    let key = KeyPair::generate().unwrap();
    let memory = Memory::default();
    let bare = serde_json::to_string(&ended(1)).unwrap();
    memory.set_lines(&[bare]);
    let found = tamper(&memory, &key);
    assert_eq!(found.place, at(1, None));
    assert_eq!(found.problem, Problem::Unchained);
}

#[test]
fn a_log_changed_by_another_writer_is_no_longer_written() {
    let key = KeyPair::generate().unwrap();
    let memory = Memory::default();
    let mut first = memory.resume(&key).unwrap();
    let mut second = memory.resume(&key).unwrap();
    first.append(&ended(1), NOW).unwrap();
    let err = second.append(&ended(2), NOW).unwrap_err();
    assert!(
        matches!(err, WriteError::ChangedElsewhere { found, expected: 0 } if found > 0),
        "{err}"
    );
    assert!(matches!(
        second.append(&ended(2), NOW),
        Err(WriteError::Stopped)
    ));
    first.append(&ended(3), NOW).unwrap();
    let report = memory.verify(None).unwrap();
    assert_eq!((report.records, report.checkpoints), (2, 2));
}

#[test]
fn a_write_cut_short_stops_the_writer() {
    let key = KeyPair::generate().unwrap();
    let memory = Memory::default();
    let mut log = memory.resume(&key).unwrap();
    log.append(&record(1, AuditAction::Authentication), NOW)
        .unwrap();
    memory.0.borrow_mut().refuse_appends = true;
    assert!(matches!(log.append(&ended(1), NOW), Err(WriteError::Io(_))));
    memory.0.borrow_mut().refuse_appends = false;
    assert!(matches!(
        log.append(&ended(1), NOW),
        Err(WriteError::Stopped)
    ));
    assert_eq!(tamper(&memory, &key).problem, Problem::Incomplete);
}

#[test]
fn long_sessions_are_signed_every_so_many_records() {
    let key = KeyPair::generate().unwrap();
    let memory = Memory::default();
    let mut log = memory.resume(&key).unwrap();
    for _ in 0..CHECKPOINT_EVERY_RECORDS + 1 {
        log.append(&record(1, AuditAction::Authentication), NOW)
            .unwrap();
    }
    let report = memory.verify(None).unwrap();
    assert_eq!((report.checkpoints, report.unsigned_records), (1, 1));
    log.checkpoint_if_unsigned(NOW).unwrap();
    let report = memory.verify(None).unwrap();
    assert_eq!((report.checkpoints, report.unsigned_records), (2, 0));
}

#[test]
fn show_prints_lines_for_people_and_record_lines_as_json() {
    use super::show::{SessionFilter, write_human, write_json};
    let key = KeyPair::generate().unwrap();
    let memory = sample(&key);
    let log = memory.log();
    let mut out = Vec::new();
    write_human(&mut out, &log, None).unwrap();
    let all = String::from_utf8(out).unwrap();
    assert_eq!(
        all.lines().count(),
        9,
        "7 records and 2 checkpoints:\n{all}"
    );
    assert!(
        all.starts_with(
            "2023-11-14T22:13:20.001Z  #0  session 01010101  agent  connection from \
             192.0.2.1:5000  scope -  succeeded\n"
        ),
        "{all}"
    );
    let fingerprint = key.public_key().fingerprint();
    assert!(
        all.contains(&format!("#5  checkpoint: signed by key {fingerprint}")),
        "{all}"
    );

    let second = SessionFilter::parse("0202").unwrap();
    let mut out = Vec::new();
    write_human(&mut out, &log, Some(&second)).unwrap();
    let one = String::from_utf8(out).unwrap();
    assert_eq!(one.lines().count(), 2, "{one}");
    assert!(one.contains("session ended: viewer left"), "{one}");

    let mut out = Vec::new();
    write_json(&mut out, &log, Some(&second)).unwrap();
    let lines = memory.lines();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        format!("{}\n{}\n", lines[6], lines[7])
    );
}

/// A signed sample log and its head file, made once.
fn sample_bytes() -> &'static (Vec<u8>, Vec<u8>) {
    static SAMPLE: std::sync::OnceLock<(Vec<u8>, Vec<u8>)> = std::sync::OnceLock::new();
    SAMPLE.get_or_init(|| {
        let memory = sample(&KeyPair::generate().unwrap());
        let head = memory.0.borrow().head.clone().unwrap();
        (memory.log(), head)
    })
}

proptest::proptest! {
    #[test]
    fn damaged_logs_are_named_never_panic(
        position in 0usize..4096,
        byte in proptest::prelude::any::<u8>(),
        noise in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512),
    ) {
        use super::show::{write_human, write_json};
        let (log, head) = sample_bytes();
        let mut damaged = log.clone();
        let position = position % damaged.len();
        let changed = damaged[position] != byte;
        damaged[position] = byte;
        let head = Some(HeadFile { path: Path::new(HEAD), bytes: head });
        let result = verify_log(&damaged, head, None);
        proptest::prop_assert!(result.is_err() || !changed, "a changed byte went unnoticed");
        let _ = write_human(&mut Vec::new(), &damaged, None);
        let _ = write_json(&mut Vec::new(), &damaged, None);
        // Bytes that are not a log at all.
        let _ = verify_log(&noise, Some(HeadFile { path: Path::new(HEAD), bytes: &noise }), None);
        let _ = write_human(&mut Vec::new(), &noise, None);
    }
}
