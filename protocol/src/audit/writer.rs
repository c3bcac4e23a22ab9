//! Writing a log: continuing its chain, appending records and signing checkpoints,
//! through a [`LogStore`] that the caller implements over its files.
//!
//! [`LogWriter`] decides what to write and when to sign; the store only appends bytes,
//! reports the log's length, syncs, and replaces the head file. Before each write the
//! writer checks that the log still has the length it left it with: if another writer
//! (a second program given the same data directory, or a person) changed it meanwhile,
//! or if a write failed part-way, it stops writing rather than fork the chain.

use std::io;

use super::chain::{self, Checkpoint, Hash};
use super::verify::{HeadFile, Tamper, Trusted, verify_log};
use super::{AuditAction, AuditRecord};
use crate::identity::KeyPair;
use crate::time::Timestamp;

/// A checkpoint is written after this many unsigned records.
pub const CHECKPOINT_EVERY_RECORDS: u64 = 64;

/// Where a log and its head file are kept: the agent and the viewer implement it over
/// files, tests over memory.
pub trait LogStore {
    /// The log's length in bytes as stored now (it changes if another writer appends).
    fn log_len(&mut self) -> io::Result<u64>;
    /// Appends `bytes` (whole lines) at the end of the log and flushes them.
    fn append_log(&mut self, bytes: &[u8]) -> io::Result<()>;
    /// Makes what was appended durable.
    fn sync_log(&mut self) -> io::Result<()>;
    /// Replaces the head file with `line` (one checkpoint line and its newline), so
    /// that readers see the old or the new content, never a mix.
    fn replace_head(&mut self, line: &[u8]) -> io::Result<()>;
}

/// A record or checkpoint was not written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WriteError {
    /// An earlier write failed part-way, or another writer changed the log: appending
    /// more would break the chain.
    #[error("the log is no longer written: an earlier write failed or another process changed it")]
    Stopped,
    /// Another writer changed the log since this one last wrote.
    #[error("another process changed the log (it is {found} bytes, it was left at {expected})")]
    ChangedElsewhere {
        /// Its length now.
        found: u64,
        /// Its length after this writer's last write.
        expected: u64,
    },
    /// The store failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Appends records to a hash-chained log and signs checkpoints with the owner's key.
#[derive(Debug)]
pub struct LogWriter<S> {
    store: S,
    key: KeyPair,
    next_seq: u64,
    prev: Hash,
    unsigned: u64,
    /// The log's length after our last write.
    length: u64,
    /// A write failed part-way, or someone else wrote.
    failed: bool,
}

impl<S: LogStore> LogWriter<S> {
    /// Continues the log whose content is `log` (and whose head file holds `head`),
    /// after checking it: its checkpoints must be signed by `key`. A log that does not
    /// verify is not continued, so that its damage is neither forked nor hidden.
    pub fn resume(
        store: S,
        key: KeyPair,
        log: &[u8],
        head: Option<HeadFile<'_>>,
    ) -> Result<Self, Tamper> {
        let report = verify_log(log, head, Some(&Trusted::key(key.public_key())))?;
        Ok(Self {
            store,
            key,
            next_seq: report.next_seq(),
            prev: report.last_hash(),
            unsigned: report.unsigned_records,
            length: report.length(),
            failed: false,
        })
    }

    /// Appends one record; then signs a checkpoint at `now` if a session ended or
    /// [`CHECKPOINT_EVERY_RECORDS`] records wait unsigned.
    pub fn append(&mut self, record: &AuditRecord, now: Timestamp) -> Result<(), WriteError> {
        let line =
            chain::record_line(self.next_seq, self.prev, record).map_err(io::Error::other)?;
        self.write_line(&line)?;
        self.unsigned += 1;
        let session_ended = matches!(record.action, AuditAction::SessionEnded { .. });
        if session_ended || self.unsigned >= CHECKPOINT_EVERY_RECORDS {
            self.checkpoint(now)?;
        }
        Ok(())
    }

    /// Signs the chain at `now` if any record is unsigned.
    pub fn checkpoint_if_unsigned(&mut self, now: Timestamp) -> Result<(), WriteError> {
        if self.unsigned == 0 {
            return Ok(());
        }
        self.checkpoint(now)
    }

    /// Signs the chain at `now`: a checkpoint line in the log, copied to the head file.
    pub fn checkpoint(&mut self, now: Timestamp) -> Result<(), WriteError> {
        let seq = self.next_seq;
        let checkpoint = Checkpoint::sign(&self.key, seq, self.prev, now);
        let mut line =
            chain::checkpoint_line(seq, self.prev, &checkpoint).map_err(io::Error::other)?;
        self.write_line(&line)?;
        self.unsigned = 0;
        self.store.sync_log()?;
        line.push(b'\n');
        self.store.replace_head(&line)?;
        Ok(())
    }

    /// Records written since the last checkpoint.
    pub fn unsigned_records(&self) -> u64 {
        self.unsigned
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    fn write_line(&mut self, line: &[u8]) -> Result<(), WriteError> {
        if self.failed {
            return Err(WriteError::Stopped);
        }
        let found = self.store.log_len()?;
        if found != self.length {
            self.failed = true;
            return Err(WriteError::ChangedElsewhere {
                found,
                expected: self.length,
            });
        }
        let mut bytes = Vec::with_capacity(line.len() + 1);
        bytes.extend_from_slice(line);
        bytes.push(b'\n');
        if let Err(err) = self.store.append_log(&bytes) {
            self.failed = true;
            return Err(err.into());
        }
        self.length += u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.prev = Hash::of(line);
        self.next_seq += 1;
        Ok(())
    }
}
