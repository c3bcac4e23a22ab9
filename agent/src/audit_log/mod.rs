//! The agent's audit log: a hash-chained, signed, append-only file of JSON lines in the
//! data directory (`audit.jsonl`), and the `lifeline-agent audit` commands that check
//! and show it.
//!
//! # Format
//!
//! One JSON object per line. A record line is the [`AuditRecord`] with its own stable
//! field names, plus two chain fields in front:
//!
//! ```text
//! {"seq":0,"prev":"000…000","time":1700000000123,"session":null,"actor":"agent",…}
//! ```
//!
//! `seq` counts lines from 0, and `prev` is the SHA-256 of the previous line's exact
//! bytes (without the newline; 64 zeros on the first line). Editing, deleting or
//! reordering a line therefore breaks `seq` or `prev` on the lines after it. Anyone can
//! recompute such a chain, so the agent also signs it: a checkpoint line
//!
//! ```text
//! {"seq":7,"prev":"<hash of line seq 6>","checkpoint":{"head":"<same hash>",
//!  "signer":"<Ed25519 public key>","signature":"<hex>","time":1700000000456}}
//! ```
//!
//! signs `"lifeline audit checkpoint v1\0" || seq || head || time` with the agent's
//! identity key. Checkpoints are written when a session ends, after every
//! [`CHECKPOINT_EVERY_RECORDS`] records, every [`CHECKPOINT_INTERVAL`] while records
//! wait unsigned, and when the log is closed. Each checkpoint line is also copied to
//! `audit.head` (replaced atomically), so that cutting lines off the end of the log
//! is noticed as long as the head file survives.
//!
//! # What is and is not detected
//!
//! [`verify`] names the first bad line: an edited, deleted, inserted or reordered line
//! before the last checkpoint, a checkpoint not signed by the trusted key (by default
//! the agent's own), a cut-off last line, and lines missing from the end that
//! `audit.head` says were signed. Records after the last checkpoint are reported as
//! *not yet signed*: a person with write access can rewrite them with a fresh chain,
//! and deleting them is indistinguishable from them never having been written (after a
//! crash, the agent's next checkpoint signs them as it finds them). A person
//! who deletes or rolls back both files together, or who holds the agent's key, can
//! rewrite history; only a copy of the signed heads kept elsewhere would catch that.
//!
//! # Opening an existing log
//!
//! [`AuditLog::open`] verifies the existing file first and continues its chain. If it
//! does not verify, the agent refuses to start rather than fork the chain or hide the
//! damage: the error names the bad line and says to move both files away (keeping them
//! as evidence). Before each write the agent checks that the file still has the length
//! it left it with: if another process (a second agent given the same data directory,
//! or a person) changed it meanwhile, the agent stops writing to it and logs an error
//! rather than fork the chain. (`File::try_lock` would make this a lock, once the
//! workspace's minimum Rust version reaches 1.89.)
//!
//! Records never hold secrets (the protocol crate's records carry only kinds and
//! sizes); checkpoints hold only hashes, the public key and a signature.

pub mod command;
mod entry;
mod show;
mod verify;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use lifeline_protocol::audit::{AuditAction, AuditRecord};
use lifeline_protocol::{KeyPair, Timestamp};

use entry::{Checkpoint, Hash, Signature};
pub use show::{SessionFilter, ShowError, format_utc, write_human, write_json};
pub use verify::{Place, Problem, Report, Tamper, Trusted, VerifyError, head_path, verify};

/// File name of the log inside the data directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// A checkpoint is written after this many unsigned records.
pub const CHECKPOINT_EVERY_RECORDS: u64 = 64;

/// A checkpoint is written this long after the last one when records wait unsigned.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);

/// The log could not be opened for appending.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// A file operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The existing log does not verify.
    #[error(
        "the audit log {path} does not verify: {tamper}. Keep it as evidence: move {path} \
         and {head} out of the data directory, then start the agent again to begin a new log"
    )]
    Broken {
        /// The log.
        path: PathBuf,
        /// Its head file.
        head: PathBuf,
        /// The first bad line.
        tamper: Tamper,
    },
    /// The agent's key could not be copied for signing.
    #[error("cannot use the agent's key to sign the audit log: {0}")]
    Key(String),
}

/// An open, append-only, hash-chained audit log. Dropping it signs what is unsigned.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    writer: Arc<Mutex<Writer>>,
    timer: Option<Timer>,
}

#[derive(Debug)]
struct Timer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl AuditLog {
    /// Opens (creating if needed) the log in `dir`, continuing its chain, and signs its
    /// checkpoints with `key` (the agent's identity key).
    pub fn open(dir: &Path, key: &KeyPair) -> Result<Self, OpenError> {
        let io = |action, path: &Path| {
            let path = path.to_path_buf();
            move |source| OpenError::Io {
                action,
                path,
                source,
            }
        };
        std::fs::create_dir_all(dir).map_err(io("create", dir))?;
        let path = dir.join(AUDIT_FILE);
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).map_err(io("open", &path))?;
        let trusted = Trusted::key(key.public_key());
        let report = verify(&path, Some(&trusted)).map_err(|err| match err {
            VerifyError::Tampered(tamper) => OpenError::Broken {
                head: head_path(&path),
                path: path.clone(),
                tamper,
            },
            VerifyError::Io { path, source } => OpenError::Io {
                action: "read",
                path,
                source,
            },
        })?;
        let (next_seq, prev) = report.next();
        let key =
            KeyPair::from_pkcs8(key.to_pkcs8()).map_err(|err| OpenError::Key(err.to_string()))?;
        let writer = Arc::new(Mutex::new(Writer {
            file,
            head_path: head_path(&path),
            key,
            next_seq,
            prev,
            unsigned: report.unsigned_records,
            length: report.length(),
            failed: false,
        }));
        let timer = Timer::start(Arc::clone(&writer)).map_err(io("start a thread for", &path))?;
        tracing::debug!(path = %path.display(), next_seq, "audit log opened");
        Ok(Self {
            path,
            writer,
            timer: Some(timer),
        })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record; signs a checkpoint after it when a session ends or enough
    /// records wait unsigned.
    pub fn append(&mut self, record: &AuditRecord) -> std::io::Result<()> {
        let mut writer = lock(&self.writer);
        writer.append(record)?;
        let session_ended = matches!(record.action, AuditAction::SessionEnded { .. });
        if session_ended || writer.unsigned >= CHECKPOINT_EVERY_RECORDS {
            writer.checkpoint(crate::session::now())?;
        }
        Ok(())
    }

    /// Signs the chain now if any record is unsigned.
    pub fn checkpoint(&mut self) -> std::io::Result<()> {
        lock(&self.writer).checkpoint_if_unsigned(crate::session::now())
    }
}

impl Drop for AuditLog {
    fn drop(&mut self) {
        if let Some(timer) = self.timer.take() {
            drop(timer.stop);
            if timer.thread.join().is_err() {
                tracing::error!("the audit log's checkpoint thread panicked");
            }
        }
        if let Err(err) = self.checkpoint() {
            tracing::error!(
                "cannot sign the audit log {} on closing: {err}",
                self.path.display()
            );
        }
    }
}

impl Timer {
    fn start(writer: Arc<Mutex<Writer>>) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lifeline-audit".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    if let Err(err) = lock(&writer).checkpoint_if_unsigned(crate::session::now()) {
                        tracing::error!("cannot sign the audit log: {err}");
                    }
                }
            })?;
        Ok(Self { stop, thread })
    }
}

/// The writing side: the file and where the chain stands.
#[derive(Debug)]
struct Writer {
    file: File,
    head_path: PathBuf,
    key: KeyPair,
    next_seq: u64,
    prev: Hash,
    unsigned: u64,
    /// The file's length after our last write.
    length: u64,
    /// A write failed part-way, or someone else wrote: appending more would break the
    /// chain.
    failed: bool,
}

fn lock(writer: &Mutex<Writer>) -> MutexGuard<'_, Writer> {
    // A panic while holding the lock leaves `failed` set if a write was cut short, so
    // the state is still safe to use.
    writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Writer {
    fn append(&mut self, record: &AuditRecord) -> std::io::Result<()> {
        let line =
            entry::record_line(self.next_seq, self.prev, record).map_err(std::io::Error::other)?;
        self.write_line(&line)?;
        self.unsigned += 1;
        Ok(())
    }

    fn checkpoint_if_unsigned(&mut self, now: Timestamp) -> std::io::Result<()> {
        if self.unsigned == 0 {
            return Ok(());
        }
        self.checkpoint(now)
    }

    fn checkpoint(&mut self, now: Timestamp) -> std::io::Result<()> {
        let seq = self.next_seq;
        let checkpoint = Checkpoint {
            head: self.prev,
            signer: self.key.public_key(),
            signature: Signature(self.key.sign(&entry::signed_message(seq, self.prev, now))),
            time: now,
        };
        let mut line =
            entry::checkpoint_line(seq, self.prev, &checkpoint).map_err(std::io::Error::other)?;
        self.write_line(&line)?;
        self.unsigned = 0;
        self.file.sync_data()?;
        line.push(b'\n');
        write_atomically(&self.head_path, &line)
    }

    fn write_line(&mut self, line: &[u8]) -> std::io::Result<()> {
        if self.failed {
            return Err(std::io::Error::other(
                "the audit log is no longer written: an earlier write failed or another \
                 process changed the file. Restart the agent, which will check the log",
            ));
        }
        let found = self.file.metadata()?.len();
        if found != self.length {
            self.failed = true;
            return Err(std::io::Error::other(format!(
                "another process changed the audit log (it is {found} bytes, the agent left \
                 it at {}): check it with `lifeline-agent audit verify`, and give each agent \
                 its own --data-dir",
                self.length
            )));
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
        if let Err(err) = self.file.write_all(&bytes).and_then(|()| self.file.flush()) {
            self.failed = true;
            return Err(err);
        }
        self.length += u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.prev = Hash::of(line);
        self.next_seq += 1;
        Ok(())
    }
}

/// Writes `bytes` to a private temporary file next to `path`, then renames it over
/// `path`: readers see the old or the new content, never half.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let temporary = path.with_extension("head.tmp");
    let mut options = OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&temporary)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    std::fs::rename(&temporary, path)
}

#[cfg(test)]
mod tests;
