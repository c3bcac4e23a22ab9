//! The audit log's files: a hash-chained, signed, append-only file of JSON lines in
//! the data directory (`audit.jsonl`, with the latest checkpoint in `audit.head`), and
//! the `audit verify` / `audit show` commands that check and show it.
//!
//! The format, verification, display and the writer's logic are in the protocol crate
//! ([`lifeline_protocol::audit`]); this module gives them files, a lock, a timer thread
//! and a command line. **It is shared**: the agent compiles it as `audit_log`, and the
//! viewer compiles this same folder for the technician's log (`#[path]` in
//! `viewer/src/lib.rs`), each passing its own [`LogOwner`]. It may therefore use only
//! `std`, `lifeline_protocol`, `thiserror`, `tracing`, `anyhow`, `clap` and `serde_json`,
//! and nothing from `crate::`.
//!
//! # Files
//!
//! The log is `audit.jsonl` (mode 0600). Checkpoints are signed with the owner's
//! identity key when a session ends, after every [`CHECKPOINT_EVERY_RECORDS`] records,
//! every [`CHECKPOINT_INTERVAL`] while records wait unsigned, and when the log is
//! closed. Each checkpoint line is also copied to `audit.head`, replaced atomically (a
//! private temporary file renamed over it), so that cutting lines off the end of the
//! log is noticed as long as the head file survives.
//!
//! # Opening an existing log
//!
//! [`AuditLog::open`] verifies the existing file first and continues its chain. If it
//! does not verify, the program refuses to start rather than fork the chain or hide the
//! damage: the error names the bad line and says to move both files away (keeping them
//! as evidence). Before each write the writer checks that the file still has the length
//! it left it with: if another process (a second program given the same data directory,
//! or a person) changed it meanwhile, it stops writing to it and logs an error rather
//! than fork the chain. (`File::try_lock` would make this a lock, once the workspace's
//! minimum Rust version reaches 1.89.)
//!
//! Records never hold secrets (the protocol crate's records carry only kinds and
//! sizes); checkpoints hold only hashes, the public key and a signature.

pub mod command;

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use lifeline_protocol::audit::AuditRecord;
use lifeline_protocol::audit::verify::{HeadFile, verify_log};
use lifeline_protocol::audit::writer::{LogStore, LogWriter, WriteError};
use lifeline_protocol::{KeyPair, Timestamp};

pub use lifeline_protocol::audit::show::{
    SessionFilter, ShowError, format_utc, write_human, write_json,
};
pub use lifeline_protocol::audit::verify::{Place, Problem, Report, Tamper, Trusted};
pub use lifeline_protocol::audit::writer::CHECKPOINT_EVERY_RECORDS;

/// File name of the log inside the data directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// A checkpoint is written this long after the last one when records wait unsigned.
pub const CHECKPOINT_INTERVAL: Duration = Duration::from_secs(300);

/// What differs between the programs that keep an audit log.
#[derive(Debug)]
pub struct LogOwner {
    /// The program, in messages ("the agent", "the viewer").
    pub program: &'static str,
    /// The command that checks a log, e.g. `lifeline-agent audit verify`.
    pub verify_command: &'static str,
    /// The identity key's file name in the data directory.
    pub key_file: &'static str,
    /// The default data directory.
    pub default_data_dir: fn() -> anyhow::Result<PathBuf>,
    /// The clock that dates checkpoints.
    pub now: fn() -> Timestamp,
}

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
         and {head} out of the data directory, then start {program} again to begin a new log"
    )]
    Broken {
        /// The log.
        path: PathBuf,
        /// Its head file.
        head: PathBuf,
        /// The first bad line.
        tamper: Box<Tamper>,
        /// Who refuses to continue it.
        program: &'static str,
    },
    /// The owner's key could not be copied for signing.
    #[error("cannot use {program}'s key to sign the audit log: {reason}")]
    Key {
        /// Whose key.
        program: &'static str,
        /// Why.
        reason: String,
    },
}

/// An open, append-only, hash-chained audit log. Dropping it signs what is unsigned.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    owner: &'static LogOwner,
    writer: Arc<Mutex<LogWriter<FileStore>>>,
    timer: Option<Timer>,
}

#[derive(Debug)]
struct Timer {
    stop: mpsc::Sender<()>,
    thread: JoinHandle<()>,
}

impl AuditLog {
    /// Opens (creating if needed) the log in `dir`, continuing its chain, and signs its
    /// checkpoints with `key` (the owner's identity key).
    pub fn open(dir: &Path, key: &KeyPair, owner: &'static LogOwner) -> Result<Self, OpenError> {
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
        let (log, head) = read_log(&path).map_err(|err| match err {
            VerifyError::Io { path, source } => OpenError::Io {
                action: "read",
                path,
                source,
            },
            VerifyError::Tampered(tamper) => OpenError::Broken {
                head: head_path(&path),
                path: path.clone(),
                tamper: Box::new(tamper),
                program: owner.program,
            },
        })?;
        let head_file = head_path(&path);
        let key = KeyPair::from_pkcs8(key.to_pkcs8()).map_err(|err| OpenError::Key {
            program: owner.program,
            reason: err.to_string(),
        })?;
        let store = FileStore {
            file,
            head_path: head_file.clone(),
        };
        let head = head.as_deref().map(|bytes| HeadFile {
            path: &head_file,
            bytes,
        });
        let writer =
            LogWriter::resume(store, key, &log, head).map_err(|tamper| OpenError::Broken {
                head: head_file.clone(),
                path: path.clone(),
                tamper: Box::new(tamper),
                program: owner.program,
            })?;
        let writer = Arc::new(Mutex::new(writer));
        let timer = Timer::start(Arc::clone(&writer), owner.now)
            .map_err(io("start a thread for", &path))?;
        tracing::debug!(path = %path.display(), "audit log opened");
        Ok(Self {
            path,
            owner,
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
        let now = (self.owner.now)();
        let result = lock(&self.writer).append(record, now);
        result.map_err(|err| self.explain(err))
    }

    /// Signs the chain now if any record is unsigned.
    pub fn checkpoint(&mut self) -> std::io::Result<()> {
        let now = (self.owner.now)();
        let result = lock(&self.writer).checkpoint_if_unsigned(now);
        result.map_err(|err| self.explain(err))
    }

    /// A write error, with what to do about it.
    fn explain(&self, err: WriteError) -> std::io::Error {
        let LogOwner {
            program,
            verify_command,
            ..
        } = self.owner;
        match err {
            WriteError::Stopped => std::io::Error::other(format!(
                "the audit log is no longer written: an earlier write failed or another \
                 process changed the file. Restart {program}, which will check the log"
            )),
            WriteError::ChangedElsewhere { found, expected } => std::io::Error::other(format!(
                "another process changed the audit log (it is {found} bytes, {program} \
                     left it at {expected}): check it with `{verify_command}`, and give each \
                     running copy of {program} its own --data-dir"
            )),
            WriteError::Io(err) => err,
            other => std::io::Error::other(other),
        }
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
    fn start(
        writer: Arc<Mutex<LogWriter<FileStore>>>,
        now: fn() -> Timestamp,
    ) -> std::io::Result<Self> {
        let (stop, stopped) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("lifeline-audit".to_owned())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(CHECKPOINT_INTERVAL)
                {
                    if let Err(err) = lock(&writer).checkpoint_if_unsigned(now()) {
                        tracing::error!("cannot sign the audit log: {err}");
                    }
                }
            })?;
        Ok(Self { stop, thread })
    }
}

fn lock(writer: &Mutex<LogWriter<FileStore>>) -> MutexGuard<'_, LogWriter<FileStore>> {
    // A panic while holding the lock leaves the writer stopped if a write was cut
    // short, so the state is still safe to use.
    writer
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// The log file and where its head file goes.
#[derive(Debug)]
struct FileStore {
    file: File,
    head_path: PathBuf,
}

impl LogStore for FileStore {
    fn log_len(&mut self) -> std::io::Result<u64> {
        Ok(self.file.metadata()?.len())
    }

    fn append_log(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.file.write_all(bytes)?;
        self.file.flush()
    }

    fn sync_log(&mut self) -> std::io::Result<()> {
        self.file.sync_data()
    }

    fn replace_head(&mut self, line: &[u8]) -> std::io::Result<()> {
        write_atomically(&self.head_path, line)
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

/// The head file kept next to a log: `audit.jsonl` -> `audit.head`.
pub fn head_path(log: &Path) -> PathBuf {
    log.with_extension("head")
}

/// The log could not be checked, or is not intact.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The log was changed or damaged.
    #[error(transparent)]
    Tampered(#[from] Tamper),
}

/// Checks the log at `path` and its head file (see [`head_path`]; a missing head file
/// is a warning). Checkpoints must be signed by `trusted` if given, else all by the same
/// key. Returns the first bad line, or what was checked.
pub fn verify(path: &Path, trusted: Option<&Trusted>) -> Result<Report, VerifyError> {
    let (log, head) = read_log(path)?;
    let head_file = head_path(path);
    let head = head.as_deref().map(|bytes| HeadFile {
        path: &head_file,
        bytes,
    });
    Ok(verify_log(&log, head, trusted)?)
}

/// Reads a log and its head file, if there is one.
fn read_log(path: &Path) -> Result<(Vec<u8>, Option<Vec<u8>>), VerifyError> {
    let read_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| VerifyError::Io { path, source }
    };
    let log = std::fs::read(path).map_err(read_error(path))?;
    let head_file = head_path(path);
    let head = match std::fs::read(&head_file) {
        Ok(head) => Some(head),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(read_error(&head_file)(source)),
    };
    Ok((log, head))
}

#[cfg(test)]
mod tests;
