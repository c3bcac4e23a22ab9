//! Files the technician sends to or fetches from the end user's computer (see
//! `lifeline_protocol::transfer`).
//!
//! - **Sending**: the local file is read once for its size and SHA-256, offered, and
//!   sent on a file stream of its own once the agent accepts it (after the end user
//!   approved it when the agent's policy asks). A file that changes while it is sent
//!   fails the transfer.
//! - **Fetching**: the agent's file stream announces the file's name, size and hash;
//!   the bytes go into a hidden partial file in this computer's Downloads folder
//!   (`directories::UserDirs`; else `~/Downloads` when it exists; else `Downloads` in
//!   the viewer's data folder), are checked, then linked under the file's safe name,
//!   never replacing a file (`report (1).pdf`…). A wrong size or hash, a full disk or a
//!   cancellation removes the partial file.
//!
//! Each transfer gets a ticket for the window as soon as it starts (hashing a large
//! file takes a while before the protocol's id exists). Bytes move in 64 KiB pieces on
//! a blocking thread per transfer, so memory stays bounded; progress is reported about
//! every 256 KiB.
//!
//! Moving the bytes and naming the saved file is the agent's `file_io.rs`, compiled here
//! too (see its header).

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use lifeline_protocol::audit::Outcome;
use lifeline_protocol::session::ViewerSession;
use lifeline_protocol::transfer::{
    FILE_STREAM_PREFIX_LEN, FileOffer, Sha256, decode_stream_header, encode_stream_header,
    human_size, safe_file_name, sha256_of, stream_header_len,
};
use lifeline_protocol::{LocalMisuse, PeerMisbehaved};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

use crate::link::{FileDirection, FileUpdate, SessionEnd, Update};

// The agent's file, compiled here too, so that receiving and naming files exists once
// (see its header and ARCHITECTURE.md).
#[path = "../../../agent/src/session/file_io.rs"]
mod file_io;
use file_io::{Mover, Target, download_dir, first_free_number};

/// Progress is reported after at least this many bytes.
const PROGRESS_STEP: u64 = 256 * 1024;
/// How long a file stream may take to send its header.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the transfer threads report to the session.
#[derive(Debug)]
pub(super) enum FileReport {
    /// A local file to send was read for its size and hash (or could not be).
    Hashed {
        ticket: u32,
        path: PathBuf,
        result: Result<(String, u64, Sha256), String>,
    },
    /// A file stream from the agent announced its header (or broke the protocol).
    Header(Result<(FileOffer, quinn::RecvStream), PeerMisbehaved>),
    /// Bytes moved so far.
    Progress { id: u32, done: u64 },
    /// A transfer's bytes stopped moving: a fetched file's full path, or nothing for a
    /// sent file (the agent says when it has it); or why it failed.
    Finished {
        id: u32,
        result: Result<Option<PathBuf>, String>,
    },
}

/// A transfer the protocol knows (by its id).
#[derive(Debug)]
struct Transfer {
    ticket: u32,
    /// `file-offer` or `file-fetch`, for the technician's audit log.
    kind: &'static str,
    /// The local file's name, or the remote path.
    name: String,
    /// The local file, for a send.
    path: Option<PathBuf>,
    size: u64,
    sha256: Option<Sha256>,
    /// Stops its thread, once bytes move.
    stop: Option<watch::Sender<bool>>,
}

/// Why an offer withdrawn before it was accepted ended (told to the agent, audited).
const WITHDRAWN: &str = "withdrawn by the technician before the end user answered";

/// The file transfers of one connection.
#[derive(Debug)]
pub(super) struct FileTransfers {
    connection: quinn::Connection,
    data_dir: PathBuf,
    reports_tx: mpsc::UnboundedSender<FileReport>,
    /// Reports from the transfer threads, for the session loop.
    pub(super) reports: mpsc::UnboundedReceiver<FileReport>,
    next_ticket: u32,
    transfers: HashMap<u32, Transfer>,
    /// Records for the technician's audit log, taken by [`FileTransfers::take_audit`].
    audit: Vec<(&'static str, String, Outcome)>,
}

impl FileTransfers {
    /// No transfers yet, on `connection`; `data_dir` is the viewer's data folder.
    pub(super) fn new(connection: quinn::Connection, data_dir: PathBuf) -> Self {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        Self {
            connection,
            data_dir,
            reports_tx,
            reports,
            next_ticket: 1,
            transfers: HashMap::new(),
            audit: Vec::new(),
        }
    }

    fn ticket(&mut self) -> u32 {
        let ticket = self.next_ticket;
        self.next_ticket = self.next_ticket.wrapping_add(1).max(1);
        ticket
    }

    /// The technician sends `path`: it is hashed on a thread, then offered.
    pub(super) fn send(&mut self, path: PathBuf, end: &SessionEnd) {
        let ticket = self.ticket();
        let name = path
            .file_name()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_else(|| path.display().to_string());
        end.update(Update::File(FileUpdate::Started {
            ticket,
            direction: FileDirection::Send,
            name: name.clone(),
        }));
        let reports = self.reports_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = hash_local(&path).map(|(size, sha256)| (name, size, sha256));
            let _ = reports.send(FileReport::Hashed {
                ticket,
                path,
                result,
            });
        });
    }

    /// The technician fetches `path` from the end user's computer.
    pub(super) fn fetch(&mut self, path: String, viewer: &mut ViewerSession, end: &SessionEnd) {
        let ticket = self.ticket();
        end.update(Update::File(FileUpdate::Started {
            ticket,
            direction: FileDirection::Fetch,
            name: path.clone(),
        }));
        match viewer.fetch_file(path.clone()) {
            Ok(id) => {
                self.audit.push((
                    "file-fetch",
                    format!("asked for {path:?}"),
                    Outcome::Succeeded,
                ));
                self.transfers.insert(
                    id,
                    Transfer {
                        ticket,
                        kind: "file-fetch",
                        name: path,
                        path: None,
                        size: 0,
                        sha256: None,
                        stop: None,
                    },
                );
            }
            Err(err) => end.update(Update::File(FileUpdate::Failed {
                ticket,
                reason: err.to_string(),
            })),
        }
    }

    /// The technician stops the transfer with `ticket`.
    pub(super) fn cancel(&mut self, ticket: u32, viewer: &mut ViewerSession, end: &SessionEnd) {
        let Some((&id, transfer)) = self.transfers.iter().find(|(_, t)| t.ticket == ticket) else {
            return;
        };
        let (reason, update) = if transfer.stop.is_some() {
            let reason = "cancelled by the technician".to_owned();
            (reason.clone(), FileUpdate::Failed { ticket, reason })
        } else {
            // Not moving yet: withdrawn, the end user's question goes away.
            (WITHDRAWN.to_owned(), FileUpdate::Withdrawn { ticket })
        };
        match viewer.file_finished(id, Err(reason)) {
            Ok(()) => self.end(id, end, update),
            Err(LocalMisuse::NotSupportedByPeer { .. }) => end.update(Update::Notice(
                "this agent runs an older Lifeline that cannot take a question back; the \
                 end user can refuse it, or cancel it once it moves"
                    .to_owned(),
            )),
            Err(err) => tracing::debug!("file transfer {id} already ended: {err}"),
        }
    }

    /// The window's update for "waiting for approval" of `id`, when it is a file
    /// transfer (else none: it is a command).
    pub(super) fn on_pending(&self, id: u32) -> Option<Update> {
        let transfer = self.transfers.get(&id)?;
        Some(Update::File(FileUpdate::WaitingForApproval {
            ticket: transfer.ticket,
        }))
    }

    /// The window's update for a refusal of `id`, when it is a file transfer (else
    /// none: it is a command).
    pub(super) fn on_refused(&mut self, id: u32, reason: &str) -> Option<Update> {
        let transfer = self.transfers.remove(&id)?;
        self.audit.push((
            transfer.kind,
            format!("{:?}", transfer.name),
            Outcome::Refused {
                reason: reason.to_owned(),
            },
        ));
        Some(Update::File(FileUpdate::Refused {
            ticket: transfer.ticket,
            reason: reason.to_owned(),
        }))
    }

    /// The agent accepted an offer: its bytes go on a file stream of their own.
    pub(super) fn on_accepted(&mut self, offer: &FileOffer, end: &SessionEnd) {
        let Some(transfer) = self.transfers.get_mut(&offer.id) else {
            return;
        };
        let Some(path) = transfer.path.clone() else {
            return;
        };
        let header = match encode_stream_header(offer) {
            Ok(header) => header,
            Err(err) => {
                // Our own offer passed these checks when it was made: not reached.
                end.update(Update::Notice(format!("cannot send the file: {err}")));
                return;
            }
        };
        let (stop_tx, stop) = watch::channel(false);
        transfer.stop = Some(stop_tx);
        let reports = self.reports_tx.clone();
        let connection = self.connection.clone();
        let offer = offer.clone();
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut progress = progress_reporter(&reports, offer.id, offer.size);
            let mut mover = Mover {
                handle: &handle,
                stop,
                progress: &mut progress,
            };
            let result = file_io::send(&mut mover, &connection, &header, &path, &offer)
                .map(|()| None)
                .map_err(|err| err.explain(&path, "this computer's", "the agent"));
            let _ = reports.send(FileReport::Finished {
                id: offer.id,
                result,
            });
        });
    }

    /// The agent saved a sent file, under this name in the end user's Downloads folder.
    pub(super) fn on_received(&mut self, id: u32, saved_as: String, end: &SessionEnd) {
        if let Some(transfer) = self.transfers.get(&id) {
            let done = FileUpdate::Done {
                ticket: transfer.ticket,
                saved_as,
                size: transfer.size,
                sha256: transfer.sha256.map(|h| h.to_string()).unwrap_or_default(),
            };
            self.end(id, end, done);
        }
    }

    /// The agent ended a transfer.
    pub(super) fn on_failed(&mut self, id: u32, reason: String, end: &SessionEnd) {
        if let Some(transfer) = self.transfers.get(&id) {
            let ticket = transfer.ticket;
            self.end(id, end, FileUpdate::Failed { ticket, reason });
        }
    }

    /// Stops the transfer's thread (a partial file goes with it) and tells the window.
    fn end(&mut self, id: u32, end: &SessionEnd, update: FileUpdate) {
        if let Some(transfer) = self.transfers.remove(&id) {
            if let Some(stop) = &transfer.stop {
                let _ = stop.send(true);
            }
            self.audit.push(audit_of_end(&transfer, &update));
        }
        end.update(Update::File(update));
    }

    /// What the technician's audit log should record since the last call.
    pub(super) fn take_audit(&mut self) -> Vec<(&'static str, String, Outcome)> {
        std::mem::take(&mut self.audit)
    }

    /// Where the stream readers report file streams (see [`read_file_stream`]).
    pub(super) fn report_sender(&self) -> mpsc::UnboundedSender<FileReport> {
        self.reports_tx.clone()
    }

    /// Acts on a report from a transfer thread.
    pub(super) fn on_report(
        &mut self,
        report: FileReport,
        viewer: &mut ViewerSession,
        end: &SessionEnd,
    ) {
        match report {
            FileReport::Hashed {
                ticket,
                path,
                result,
            } => self.offer(ticket, path, result, viewer, end),
            FileReport::Header(Ok((header, stream))) => match viewer.file_stream_opened(&header) {
                Ok(true) => self.start_receive(header, stream),
                // A fetch withdrawn while the agent was already sending it.
                Ok(false) => {
                    tracing::debug!(id = header.id, "a withdrawn file's stream is dropped");
                    drop(stream);
                }
                Err(_) => {}
            },
            FileReport::Header(Err(violation)) => {
                tracing::warn!("the agent sent a bad file stream: {violation}");
                viewer.report_violation(&violation);
            }
            FileReport::Progress { id, done } => {
                if let Some(transfer) = self.transfers.get(&id) {
                    end.update(Update::File(FileUpdate::Progress {
                        ticket: transfer.ticket,
                        done,
                        total: transfer.size,
                    }));
                }
            }
            FileReport::Finished { id, result } => self.finished(id, result, viewer, end),
        }
    }

    fn offer(
        &mut self,
        ticket: u32,
        path: PathBuf,
        result: Result<(String, u64, Sha256), String>,
        viewer: &mut ViewerSession,
        end: &SessionEnd,
    ) {
        let failed = |reason: String| Update::File(FileUpdate::Failed { ticket, reason });
        let (name, size, sha256) = match result {
            Ok(hashed) => hashed,
            Err(reason) => return end.update(failed(reason)),
        };
        match viewer.send_file(name.clone(), size, sha256) {
            Ok(id) => {
                let summary = format!(
                    "offered {name:?}, {} ({size} bytes), SHA-256 {sha256}",
                    human_size(size)
                );
                self.audit.push(("file-offer", summary, Outcome::Succeeded));
                self.transfers.insert(
                    id,
                    Transfer {
                        ticket,
                        kind: "file-offer",
                        name,
                        path: Some(path),
                        size,
                        sha256: Some(sha256),
                        stop: None,
                    },
                );
            }
            Err(err) => end.update(failed(err.to_string())),
        }
    }

    fn start_receive(&mut self, header: FileOffer, stream: quinn::RecvStream) {
        let Some(transfer) = self.transfers.get_mut(&header.id) else {
            return;
        };
        transfer.size = header.size;
        transfer.sha256 = Some(header.sha256);
        let (stop_tx, stop) = watch::channel(false);
        transfer.stop = Some(stop_tx);
        let dir = download_dir(&self.data_dir);
        let reports = self.reports_tx.clone();
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut stream = stream;
            let name = safe_file_name(&header.name);
            let target = Target {
                dir: &dir,
                name: &name,
                first_number: first_free_number(&dir, &name).unwrap_or(0),
                id: header.id,
            };
            let mut progress = progress_reporter(&reports, header.id, header.size);
            let mut mover = Mover {
                handle: &handle,
                stop,
                progress: &mut progress,
            };
            let result = file_io::receive(&mut mover, &mut stream, &header, &target)
                .map(|saved| Some(dir.join(saved)))
                .map_err(|err| err.explain(&dir, "this computer's", "the agent"));
            let _ = reports.send(FileReport::Finished {
                id: header.id,
                result,
            });
        });
    }

    fn finished(
        &mut self,
        id: u32,
        result: Result<Option<PathBuf>, String>,
        viewer: &mut ViewerSession,
        end: &SessionEnd,
    ) {
        let Some(transfer) = self.transfers.get(&id) else {
            // Ended already (cancelled, or the agent's conclusion came first).
            return;
        };
        let ticket = transfer.ticket;
        match result {
            // A sent file's last byte left: the agent's answer ends it.
            Ok(None) => {}
            Ok(Some(path)) => {
                let saved_as = path
                    .file_name()
                    .map(|name| name.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if let Err(err) = viewer.file_finished(id, Ok(saved_as)) {
                    tracing::debug!("a fetched file arrived after its transfer ended: {err}");
                }
                let done = FileUpdate::Done {
                    ticket,
                    saved_as: path.display().to_string(),
                    size: transfer.size,
                    sha256: transfer.sha256.map(|h| h.to_string()).unwrap_or_default(),
                };
                self.end(id, end, done);
            }
            Err(reason) => {
                if let Err(err) = viewer.file_finished(id, Err(reason.clone())) {
                    tracing::debug!("a file transfer failed after it ended: {err}");
                }
                self.end(id, end, FileUpdate::Failed { ticket, reason });
            }
        }
    }
}

impl Drop for FileTransfers {
    fn drop(&mut self) {
        // The session is over: every transfer stops and removes its partial file.
        for transfer in self.transfers.values() {
            if let Some(stop) = &transfer.stop {
                let _ = stop.send(true);
            }
        }
    }
}

/// The audit record of a transfer's end: the file, its size and hash when known, and
/// where it was saved; or why it failed.
fn audit_of_end(transfer: &Transfer, update: &FileUpdate) -> (&'static str, String, Outcome) {
    let mut summary = format!("{:?}", transfer.name);
    if let Some(sha256) = transfer.sha256 {
        summary.push_str(&format!(
            ", {} ({} bytes), SHA-256 {sha256}",
            human_size(transfer.size),
            transfer.size
        ));
    }
    let outcome = match update {
        FileUpdate::Done { saved_as, .. } => {
            summary.push_str(&format!("; saved as {saved_as:?}"));
            Outcome::Succeeded
        }
        FileUpdate::Refused { reason, .. } => Outcome::Refused {
            reason: reason.clone(),
        },
        FileUpdate::Failed { reason, .. } => Outcome::Failed {
            reason: reason.clone(),
        },
        FileUpdate::Withdrawn { .. } => Outcome::Failed {
            reason: WITHDRAWN.to_owned(),
        },
        _ => Outcome::Succeeded,
    };
    (transfer.kind, summary, outcome)
}

/// Reports progress about every [`PROGRESS_STEP`] bytes, and at the end.
fn progress_reporter(
    reports: &mpsc::UnboundedSender<FileReport>,
    id: u32,
    total: u64,
) -> impl FnMut(u64) + '_ {
    let mut last = 0;
    move |done| {
        if done - last >= PROGRESS_STEP || done == total {
            last = done;
            let _ = reports.send(FileReport::Progress { id, done });
        }
    }
}

fn hash_local(path: &Path) -> Result<(u64, Sha256), String> {
    let file = File::open(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    if !file.metadata().is_ok_and(|m| m.is_file()) {
        return Err(format!("{} is not a file", path.display()));
    }
    sha256_of(file).map_err(|err| format!("cannot read {}: {err}", path.display()))
}

/// A unidirectional stream from the agent whose first bytes were the file stream tag:
/// reads its header (within a time limit) and reports it.
pub(super) async fn read_file_stream(
    stream: quinn::RecvStream,
    tag: [u8; 4],
    reports: mpsc::UnboundedSender<FileReport>,
) {
    let read = tokio::time::timeout(HEADER_TIMEOUT, read_header(stream, tag)).await;
    let report = match read {
        Ok(Ok(Some(found))) => Ok(found),
        Ok(Ok(None)) => return,
        Ok(Err(violation)) => Err(violation),
        Err(_) => Err(PeerMisbehaved::TooSlow {
            step: "send a file stream's header",
            limit_secs: HEADER_TIMEOUT.as_secs(),
        }),
    };
    let _ = reports.send(FileReport::Header(report));
}

/// Reads the rest of a file stream's header after its tag. `None` when the agent reset
/// the stream first (it gave up; its reason comes on the control stream).
async fn read_header(
    mut stream: quinn::RecvStream,
    tag: [u8; 4],
) -> Result<Option<(FileOffer, quinn::RecvStream)>, PeerMisbehaved> {
    let cut = |err: quinn::ReadExactError| PeerMisbehaved::Malformed {
        what: "file stream",
        detail: format!("it ends inside its header ({err})"),
    };
    let mut prefix = [0u8; FILE_STREAM_PREFIX_LEN];
    prefix[..4].copy_from_slice(&tag);
    match stream.read_exact(&mut prefix[4..]).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::ReadError(quinn::ReadError::Reset(_))) => return Ok(None),
        Err(err) => return Err(cut(err)),
    }
    let mut body = vec![0u8; stream_header_len(&prefix)?];
    match stream.read_exact(&mut body).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::ReadError(quinn::ReadError::Reset(_))) => return Ok(None),
        Err(err) => return Err(cut(err)),
    }
    Ok(Some((decode_stream_header(&body)?, stream)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn folders_are_not_offered() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            hash_local(dir.path())
                .unwrap_err()
                .contains("is not a file")
        );
        assert!(
            hash_local(&dir.path().join("missing"))
                .unwrap_err()
                .starts_with("cannot read")
        );
    }
}
