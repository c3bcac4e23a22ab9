//! The agent's audit log: one JSON record per line, appended to `audit.jsonl` in the
//! data directory. Records never hold secrets (the protocol crate's records carry only
//! kinds and sizes).

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use lifeline_protocol::audit::AuditRecord;

/// File name of the log inside the data directory.
pub const AUDIT_FILE: &str = "audit.jsonl";

/// An open, append-only audit log.
#[derive(Debug)]
pub struct AuditLog {
    path: PathBuf,
    file: File,
}

impl AuditLog {
    /// Opens (creating if needed) the log in `dir`.
    pub fn open(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(AUDIT_FILE);
        let mut options = OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path)?;
        Ok(Self { path, file })
    }

    /// Where the log is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one record and flushes it to the file.
    pub fn append(&mut self, record: &AuditRecord) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(record).map_err(std::io::Error::other)?;
        line.push(b'\n');
        self.file.write_all(&line)?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use lifeline_protocol::Timestamp;
    use lifeline_protocol::audit::{Actor, AuditAction, Outcome};

    use super::*;

    #[test]
    fn records_are_appended_one_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let record = AuditRecord {
            time: Timestamp(1),
            session: None,
            actor: Actor::Agent,
            action: AuditAction::SessionEnded {
                reason: "test".to_owned(),
            },
            scope: None,
            outcome: Outcome::Succeeded,
        };
        AuditLog::open(dir.path()).unwrap().append(&record).unwrap();
        AuditLog::open(dir.path()).unwrap().append(&record).unwrap();
        let text = std::fs::read_to_string(dir.path().join(AUDIT_FILE)).unwrap();
        assert_eq!(text.lines().count(), 2);
        let back: AuditRecord = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!(back, record);
    }
}
