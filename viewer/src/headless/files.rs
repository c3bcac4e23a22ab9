//! What the headless viewer keeps of the file transfers its input script started
//! (`send`, `fetch`), for the statistics file, and whether every one has ended (the run
//! waits for that, as for commands).

use serde::Serialize;

use crate::link::{FileDirection, FileUpdate};

/// `pending`: the session ended before the transfer did.
const PENDING: &str = "pending";

/// A file the script sent or fetched, and what became of it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct FileRecord {
    /// `send` or `fetch`.
    pub direction: String,
    /// The local file's name (send) or the remote path (fetch).
    pub name: String,
    /// Whether the end user was asked to approve it.
    pub waited_for_approval: bool,
    /// `done`, `refused`, `failed`, or `pending` when the session ended first.
    pub outcome: String,
    /// Where it was saved: its name in the end user's Downloads folder (send), or the
    /// full path on this computer (fetch).
    pub saved_as: Option<String>,
    /// Its size in bytes, once known.
    pub size: Option<u64>,
    /// Its SHA-256 in hex, once it arrived.
    pub sha256: Option<String>,
    /// Why it was refused or failed.
    pub reason: Option<String>,
}

/// Follows the script's transfers to their ends.
#[derive(Debug, Default)]
pub(crate) struct FileTransfers {
    /// Transfers the script asked the session for.
    pub(crate) sent: usize,
    records: Vec<(u32, FileRecord)>,
}

impl FileTransfers {
    /// Follows one update from the session.
    pub(crate) fn apply(&mut self, update: FileUpdate) {
        if let FileUpdate::Started {
            ticket,
            direction,
            name,
        } = update
        {
            tracing::info!("file transfer {ticket} started: {name}");
            let direction = match direction {
                FileDirection::Send => "send",
                FileDirection::Fetch => "fetch",
            };
            self.records.push((
                ticket,
                FileRecord {
                    direction: direction.to_owned(),
                    name,
                    outcome: PENDING.to_owned(),
                    ..FileRecord::default()
                },
            ));
            return;
        }
        let ticket = match &update {
            FileUpdate::Started { ticket, .. }
            | FileUpdate::WaitingForApproval { ticket }
            | FileUpdate::Progress { ticket, .. }
            | FileUpdate::Done { ticket, .. }
            | FileUpdate::Refused { ticket, .. }
            | FileUpdate::Failed { ticket, .. }
            | FileUpdate::Withdrawn { ticket } => *ticket,
        };
        let Some(record) = self
            .records
            .iter_mut()
            .find(|(known, _)| *known == ticket)
            .map(|(_, record)| record)
        else {
            return;
        };
        match update {
            FileUpdate::Started { .. } => {}
            FileUpdate::WaitingForApproval { .. } => {
                tracing::info!("file transfer {ticket}: waiting for the end user's approval");
                record.waited_for_approval = true;
            }
            FileUpdate::Progress { total, .. } => record.size = Some(total),
            FileUpdate::Done {
                saved_as,
                size,
                sha256,
                ..
            } => {
                tracing::info!("file transfer {ticket} done: saved as {saved_as}");
                record.outcome = "done".to_owned();
                record.saved_as = Some(saved_as);
                record.size = Some(size);
                record.sha256 = Some(sha256);
            }
            FileUpdate::Refused { reason, .. } => {
                tracing::warn!("file transfer {ticket} refused: {reason}");
                record.outcome = "refused".to_owned();
                record.reason = Some(reason);
            }
            FileUpdate::Failed { reason, .. } => {
                tracing::warn!("file transfer {ticket} failed: {reason}");
                record.outcome = "failed".to_owned();
                record.reason = Some(reason);
            }
            FileUpdate::Withdrawn { .. } => {
                tracing::info!("file transfer {ticket} withdrawn");
                record.outcome = "withdrawn".to_owned();
            }
        }
    }

    /// Whether every transfer the script started has ended.
    pub(crate) fn done(&self) -> bool {
        self.records.len() >= self.sent
            && self
                .records
                .iter()
                .all(|(_, record)| record.outcome != PENDING)
    }

    /// The records, in the order the transfers started.
    pub(crate) fn into_records(self) -> Vec<FileRecord> {
        self.records.into_iter().map(|(_, record)| record).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transfer_is_waited_for_until_it_ends() {
        let mut files = FileTransfers {
            sent: 1,
            ..FileTransfers::default()
        };
        assert!(!files.done(), "not even started");
        files.apply(FileUpdate::Started {
            ticket: 1,
            direction: FileDirection::Fetch,
            name: "/etc/hostname".to_owned(),
        });
        files.apply(FileUpdate::WaitingForApproval { ticket: 1 });
        assert!(!files.done());
        files.apply(FileUpdate::Done {
            ticket: 1,
            saved_as: "/tmp/hostname".to_owned(),
            size: 6,
            sha256: "00".repeat(32),
        });
        assert!(files.done());
        let records = files.into_records();
        assert_eq!(records[0].outcome, "done");
        assert!(records[0].waited_for_approval);
        assert_eq!(records[0].direction, "fetch");
    }
}
