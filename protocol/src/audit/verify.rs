//! Checking a log's content: the chain, the checkpoints' signatures, and the head file.
//!
//! # What is and is not detected
//!
//! [`verify_log`] names the first bad line: an edited, deleted, inserted or reordered
//! line before the last checkpoint, a checkpoint not signed by the trusted key (by
//! default the log owner's own), a cut-off last line, and lines missing from the end
//! that the head file says were signed. Records after the last checkpoint are reported
//! as *not yet signed*: a person with write access can rewrite them with a fresh chain,
//! and deleting them is indistinguishable from them never having been written. A person
//! who deletes or rolls back both files together, or who holds the owner's key, can
//! rewrite history; only a copy of the signed heads kept elsewhere would catch that.
//!
//! The caller reads the files; this module only sees their bytes (the head file's path
//! is there to name it in messages).

use std::fmt;
use std::path::{Path, PathBuf};

use super::chain::{self, Body, Checkpoint, Entry, Hash};
use crate::identity::{Fingerprint, PublicKey};

/// A key that checkpoints must be signed by: a public key, or the full fingerprint
/// (SHA-256) of one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Trusted([u8; 32]);

impl Trusted {
    /// Trust exactly this key.
    pub fn key(key: PublicKey) -> Self {
        Self(key.0)
    }

    /// Reads 64 hex digits: a public key or a key's full fingerprint.
    pub fn parse_hex(text: &str) -> Option<Self> {
        let bytes = chain::from_hex(text.trim())?;
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    fn matches(&self, key: &PublicKey) -> bool {
        key.0 == self.0 || key.fingerprint().0 == self.0
    }
}

/// The head file's content, and its path to name it in messages.
#[derive(Clone, Copy, Debug)]
pub struct HeadFile<'a> {
    /// Where it is.
    pub path: &'a Path,
    /// What it holds.
    pub bytes: &'a [u8],
}

/// What a successful check found.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Report {
    /// Lines in the log.
    pub lines: u64,
    /// Record lines.
    pub records: u64,
    /// Checkpoint lines.
    pub checkpoints: u64,
    /// Records after the last checkpoint.
    pub unsigned_records: u64,
    /// The key that signed the checkpoints.
    pub signer: Option<PublicKey>,
    /// Whether the signer was checked against a trusted key.
    pub signer_trusted: bool,
    /// The sequence number of the signed copy in the head file, if there was one.
    pub head_seq: Option<u64>,
    /// Where the chain continues: the next sequence number and the last line's hash.
    next: (u64, Hash),
    /// The length of the log checked, in bytes.
    length: u64,
}

impl Report {
    /// What the check could not vouch for, for people; `head` names the head file.
    pub fn warnings(&self, head: &Path) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.unsigned_records > 0 {
            warnings.push(format!(
                "{} record(s) after the last checkpoint are not yet signed: they could have \
                 been rewritten or removed without a trace",
                self.unsigned_records
            ));
        }
        if self.checkpoints > 0 && !self.signer_trusted {
            warnings.push(
                "no trusted key was given: the checkpoints were checked against the key \
                 written in the log, which proves only that one key signed them all"
                    .to_owned(),
            );
        }
        if self.head_seq.is_none() && self.lines > 0 {
            warnings.push(format!(
                "no head file {}: lines cut from the end of the log cannot be detected",
                head.display()
            ));
        }
        warnings
    }

    /// The sequence number the next line gets.
    pub fn next_seq(&self) -> u64 {
        self.next.0
    }

    /// The hash of the last line (the next line's `prev`).
    pub fn last_hash(&self) -> Hash {
        self.next.1
    }

    /// The length of the log checked, in bytes.
    pub fn length(&self) -> u64 {
        self.length
    }
}

/// The first bad place in a log, and what is wrong there.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {problem}")]
pub struct Tamper {
    /// Where.
    pub place: Place,
    /// What.
    pub problem: Problem,
}

/// A place in a log.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Place {
    /// A line of the log, counted from 1, and its sequence number if it could be read
    /// (or, past the end of the log, the one it should have had).
    Line {
        /// The line number.
        line: u64,
        /// The sequence number.
        seq: Option<u64>,
    },
    /// The head file.
    HeadFile(PathBuf),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Line {
                line,
                seq: Some(seq),
            } => write!(f, "line {line} (seq {seq})"),
            Place::Line { line, seq: None } => write!(f, "line {line}"),
            Place::HeadFile(path) => write!(f, "head file {}", path.display()),
        }
    }
}

/// What is wrong with a line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Problem {
    /// The last line has no newline.
    #[error(
        "the line is incomplete (no newline at its end): the file was cut, or the program \
         writing it stopped mid-line"
    )]
    Incomplete,
    /// Not JSON.
    #[error("the line is not a JSON object ({0}): it was damaged or edited")]
    NotJson(String),
    /// A bare record without chain fields.
    #[error(
        "the line has no sequence number or previous-record hash: it was written before \
         the log was hash-chained, or inserted by hand"
    )]
    Unchained,
    /// JSON, but not a log entry.
    #[error("the line is not a valid log entry ({0}): it was damaged or edited")]
    Malformed(String),
    /// The first line does not start a chain.
    #[error(
        "the log does not start a chain (seq 0, previous-record hash of zeros): its first \
         records were deleted"
    )]
    StartMissing,
    /// The sequence number is not the next one.
    #[error(
        "the sequence number should be {expected}: a record before it was deleted, or \
         records were reordered"
    )]
    WrongSeq {
        /// The number it should have.
        expected: u64,
    },
    /// `prev` is not the hash of the previous line.
    #[error(
        "the previous-record hash does not match line {previous_line}: that line was \
         edited, or a record between them was deleted or reordered"
    )]
    WrongPrev {
        /// The line before.
        previous_line: u64,
    },
    /// A checkpoint's head is not its `prev`.
    #[error("the checkpoint's head is not its previous-record hash: the checkpoint was edited")]
    HeadMismatch,
    /// A checkpoint's signature is wrong.
    #[error(
        "the checkpoint's signature does not verify: the records before it were changed \
         and re-chained, or the checkpoint was forged"
    )]
    BadSignature,
    /// Signed, but not by the trusted key.
    #[error(
        "the checkpoint is signed by key {signer}, not by the trusted key: it was forged, \
         or the log belongs to another device or person (then pass --signer with their key)"
    )]
    Untrusted {
        /// The fingerprint of the key that signed.
        signer: Fingerprint,
    },
    /// Signed by a different key than earlier checkpoints.
    #[error(
        "the checkpoint is signed by key {signer}, unlike the earlier checkpoints: it was \
         forged"
    )]
    SignerChanged {
        /// The fingerprint of the key that signed.
        signer: Fingerprint,
    },
    /// The log is shorter than the head file says.
    #[error(
        "the log ends before this line, but it was signed up to seq {signed_seq} (see the \
         head file): lines were cut from the end"
    )]
    Truncated {
        /// The head file's sequence number.
        signed_seq: u64,
    },
    /// A line differs from its signed copy in the head file.
    #[error("the line differs from its signed copy in the head file: it was edited")]
    DiffersFromHead,
}

/// Checks a log's bytes and its head file's (`None` when there is none: a warning).
/// Checkpoints must be signed by `trusted` if given, else all by the same key. Returns
/// the first bad line, or what was checked.
pub fn verify_log(
    log: &[u8],
    head: Option<HeadFile<'_>>,
    trusted: Option<&Trusted>,
) -> Result<Report, Tamper> {
    let head = head.map(|head| read_head(head, trusted)).transpose()?;
    let mut walk = Walk {
        trusted,
        report: Report {
            lines: 0,
            records: 0,
            checkpoints: 0,
            unsigned_records: 0,
            signer: None,
            signer_trusted: trusted.is_some(),
            head_seq: None,
            next: (0, Hash::GENESIS),
            length: u64::try_from(log.len()).unwrap_or(u64::MAX),
        },
    };
    let mut rest = log;
    while !rest.is_empty() {
        let line_number = walk.report.lines + 1;
        let Some(end) = rest.iter().position(|&byte| byte == b'\n') else {
            let seq = chain::parse(rest).ok().map(|entry| entry.seq);
            return Err(tamper(line_number, seq, Problem::Incomplete));
        };
        let line = &rest[..end];
        rest = &rest[end + 1..];
        let seq = walk.line(line_number, line)?;
        if let Some((head_seq, head_line)) = &head
            && *head_seq == seq
        {
            if *head_line != line {
                return Err(tamper(line_number, Some(seq), Problem::DiffersFromHead));
            }
            walk.report.head_seq = Some(seq);
        }
    }
    if let Some((signed_seq, _)) = head
        && walk.report.head_seq.is_none()
    {
        let (next_seq, _) = walk.report.next;
        return Err(tamper(
            walk.report.lines + 1,
            Some(next_seq),
            Problem::Truncated { signed_seq },
        ));
    }
    Ok(walk.report)
}

fn tamper(line: u64, seq: Option<u64>, problem: Problem) -> Tamper {
    Tamper {
        place: Place::Line { line, seq },
        problem,
    }
}

/// Reads the head file: one signed checkpoint line. Returns its seq and line bytes.
fn read_head<'a>(head: HeadFile<'a>, trusted: Option<&Trusted>) -> Result<(u64, &'a [u8]), Tamper> {
    let bad = |problem| Tamper {
        place: Place::HeadFile(head.path.to_path_buf()),
        problem,
    };
    let Some(line) = head.bytes.strip_suffix(b"\n") else {
        return Err(bad(Problem::Incomplete));
    };
    let entry = chain::parse(line).map_err(bad)?;
    let Body::Checkpoint(checkpoint) = &entry.body else {
        return Err(bad(Problem::Malformed(
            "it holds a record, not a checkpoint".to_owned(),
        )));
    };
    check_checkpoint(&entry, checkpoint, trusted, None).map_err(bad)?;
    Ok((entry.seq, line))
}

/// Checks a checkpoint's head and signature, and who signed it: the trusted key, or
/// else the key of the earlier checkpoints.
fn check_checkpoint(
    entry: &Entry,
    checkpoint: &Checkpoint,
    trusted: Option<&Trusted>,
    earlier_signer: Option<PublicKey>,
) -> Result<(), Problem> {
    checkpoint.check(entry.seq, entry.prev)?;
    let signer = checkpoint.signer.fingerprint();
    match (trusted, earlier_signer) {
        (Some(trusted), _) if !trusted.matches(&checkpoint.signer) => {
            Err(Problem::Untrusted { signer })
        }
        (None, Some(earlier)) if earlier != checkpoint.signer => {
            Err(Problem::SignerChanged { signer })
        }
        _ => Ok(()),
    }
}

struct Walk<'a> {
    trusted: Option<&'a Trusted>,
    report: Report,
}

impl Walk<'_> {
    /// Checks one complete line against the chain so far; returns its seq.
    fn line(&mut self, number: u64, line: &[u8]) -> Result<u64, Tamper> {
        let entry = chain::parse(line).map_err(|problem| tamper(number, None, problem))?;
        let bad = |problem| tamper(number, Some(entry.seq), problem);
        let (expected_seq, expected_prev) = self.report.next;
        if number == 1 && (entry.seq != 0 || entry.prev != Hash::GENESIS) {
            return Err(bad(Problem::StartMissing));
        }
        if entry.seq != expected_seq {
            return Err(bad(Problem::WrongSeq {
                expected: expected_seq,
            }));
        }
        if entry.prev != expected_prev {
            return Err(bad(Problem::WrongPrev {
                previous_line: number - 1,
            }));
        }
        match &entry.body {
            Body::Record(_) => {
                self.report.records += 1;
                self.report.unsigned_records += 1;
            }
            Body::Checkpoint(checkpoint) => {
                check_checkpoint(&entry, checkpoint, self.trusted, self.report.signer)
                    .map_err(bad)?;
                self.report.signer = Some(checkpoint.signer);
                self.report.checkpoints += 1;
                self.report.unsigned_records = 0;
            }
        }
        self.report.lines = number;
        self.report.next = (entry.seq + 1, Hash::of(line));
        Ok(entry.seq)
    }
}
