//! Files moving between the technician and the end user's computer, once the session's
//! state machine allows them (see `lifeline_protocol::transfer`).
//!
//! - **Received files** go to the end user's Downloads folder (from
//!   `directories::UserDirs`; else `~/Downloads` when it exists; else `Downloads` in the
//!   agent's data folder), never to a path the technician chooses. The name is made
//!   safe and never overwrites a file: `report (1).pdf` and so on. The bytes are
//!   written to a hidden partial file next to it, checked (size and SHA-256), synced,
//!   then linked under the final name; a wrong size or hash, a full disk, a
//!   cancellation or the end of the session removes the partial file.
//! - **Fetched files** are named by the technician's path (`~` is the end user's home);
//!   the end user is shown the full path the link resolves to, and that file is read,
//!   hashed, then sent. A file that changes while it is sent fails the transfer.
//!
//! Bytes move in 64 KiB pieces on a QUIC stream per file, so memory stays bounded
//! whatever the size; the viewer only gets credit for a stream once an offer is
//! accepted. The work runs on blocking threads (one per transfer), which wait on the
//! network through the runtime's handle. Moving the bytes and naming the saved file is
//! `file_io`, which the viewer compiles too.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use lifeline_protocol::session::AgentSession;
use lifeline_protocol::transfer::{
    FILE_STREAM_PREFIX_LEN, FileFetch, FileJob, FileOffer, MAX_FILE_SIZE, decode_stream_header,
    human_size, numbered_name, safe_file_name, sha256_of, stream_header_len,
};
use lifeline_protocol::{CodeGuard, PeerMisbehaved};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

use super::now;
use crate::ui::text::{Lang, Texts};

// Shared with the viewer, which compiles the same file (see its header).
#[path = "file_io.rs"]
mod file_io;
use file_io::{Mover, Target, download_dir, first_free_number};

/// How long a file stream may take to send its header.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// What the transfer threads report to the session.
#[derive(Debug)]
pub(crate) enum FileReport {
    /// A file stream from the viewer announced its header (or broke the protocol).
    Header(Result<(FileOffer, quinn::RecvStream), PeerMisbehaved>),
    /// A fetched file was read and hashed (its name, size and SHA-256), or not.
    Hashed {
        /// The transfer's id.
        id: u32,
        /// The file as it will be announced, or why it cannot be sent.
        result: Result<FileOffer, String>,
    },
    /// A transfer's bytes stopped moving.
    Finished {
        /// The transfer's id.
        id: u32,
        /// The name a received file was saved under (empty for a sent file), or why it
        /// failed.
        result: Result<String, String>,
        /// The stream, dropped only after the stream credit is lowered.
        stream: Option<quinn::RecvStream>,
    },
}

/// Where a checked transfer goes.
#[derive(Debug)]
enum Plan {
    /// An offered file: into `dir`, as `numbered_name(name, number)` or the next free one.
    Receive {
        dir: PathBuf,
        name: String,
        number: u32,
    },
    /// A fetched file: its full path.
    Send { path: PathBuf },
}

/// A checked transfer as the end user is asked to confirm it, in any language
/// ([`FileSentence::render`]); the English one goes into the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum FileSentence {
    /// An offered file, saved as `file` in `folder`.
    Receive {
        file: String,
        size: u64,
        folder: PathBuf,
    },
    /// A fetched file.
    Send { path: PathBuf, size: u64 },
}

impl FileSentence {
    /// The sentence in the language of `texts`.
    pub(crate) fn render(&self, texts: &Texts) -> String {
        match self {
            FileSentence::Receive { file, size, folder } => fill(
                texts.receive_file_sentence,
                &[
                    ("{file}", file),
                    ("{size}", &human_size(*size)),
                    ("{folder}", &folder.display().to_string()),
                ],
            ),
            FileSentence::Send { path, size } => fill(
                texts.send_file_sentence,
                &[
                    ("{path}", &path.display().to_string()),
                    ("{size}", &human_size(*size)),
                ],
            ),
        }
    }
}

/// `template` with each placeholder replaced by its value, in one pass: a value that
/// looks like a placeholder (a file named `{folder}.txt`) is not replaced again.
fn fill(template: &str, values: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let tail = &rest[start..];
        match values.iter().find(|(key, _)| tail.starts_with(key)) {
            Some((key, value)) => {
                out.push_str(value);
                rest = &tail[key.len()..];
            }
            None => {
                out.push('{');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The file transfers of one session.
#[derive(Debug)]
pub(crate) struct FileTransfers {
    connection: quinn::Connection,
    data_dir: PathBuf,
    reports_tx: mpsc::UnboundedSender<FileReport>,
    /// Reports from the transfer threads, for the session loop.
    pub(crate) reports: mpsc::UnboundedReceiver<FileReport>,
    plans: HashMap<u32, Plan>,
    /// What the end user is asked about each planned transfer.
    sentences: HashMap<u32, FileSentence>,
    /// Accepted offers whose stream has not arrived.
    awaiting_stream: HashSet<u32>,
    /// Transfers moving bytes, and how to stop each.
    moving: HashMap<u32, watch::Sender<bool>>,
    /// Of those, the ones receiving (they hold a stream credit).
    receiving: HashSet<u32>,
}

impl FileTransfers {
    /// No transfers yet, on `connection`; `data_dir` is the agent's data folder.
    pub(crate) fn new(connection: quinn::Connection, data_dir: PathBuf) -> Self {
        let (reports_tx, reports) = mpsc::unbounded_channel();
        Self {
            connection,
            data_dir,
            reports_tx,
            reports,
            plans: HashMap::new(),
            sentences: HashMap::new(),
            awaiting_stream: HashSet::new(),
            moving: HashMap::new(),
            receiving: HashSet::new(),
        }
    }

    /// Looks at the file system for a transfer the technician asked for: its id, and
    /// what will be done, in English (for the audit log; [`FileTransfers::take_sentence`]
    /// has it for the end user), or why it cannot be done.
    pub(crate) fn check(&mut self, job: &FileJob) -> (u32, Result<String, String>) {
        let id = job.id();
        let result = match job {
            FileJob::Receive(offer) => self.plan_receive(offer),
            FileJob::Send(fetch) => plan_send(fetch),
        };
        let result = result.map(|(plan, sentence)| {
            self.plans.insert(id, plan);
            let english = sentence.render(Lang::En.texts());
            self.sentences.insert(id, sentence);
            english
        });
        (id, result)
    }

    /// What the end user is asked about transfer `id`, once checked (once: the
    /// question is asked once).
    pub(crate) fn take_sentence(&mut self, id: u32) -> Option<FileSentence> {
        self.sentences.remove(&id)
    }

    fn plan_receive(&self, offer: &FileOffer) -> Result<(Plan, FileSentence), String> {
        let dir = download_dir(&self.data_dir);
        std::fs::create_dir_all(&dir).map_err(|err| {
            format!(
                "the end user's Downloads folder {} cannot be created: {err}",
                dir.display()
            )
        })?;
        let name = safe_file_name(&offer.name);
        let number = first_free_number(&dir, &name)
            .ok_or_else(|| format!("too many files named like {name} in the Downloads folder"))?;
        let sentence = FileSentence::Receive {
            file: numbered_name(&name, number),
            size: offer.size,
            folder: dir.clone(),
        };
        Ok((Plan::Receive { dir, name, number }, sentence))
    }

    /// An offer was accepted: the viewer may open one stream for it.
    pub(crate) fn expect_stream(&mut self, offer: &FileOffer) {
        self.awaiting_stream.insert(offer.id);
        self.update_stream_credit();
    }

    /// Streams the viewer may have open or about to open: one per accepted offer.
    fn update_stream_credit(&self) {
        let count =
            u32::try_from(self.awaiting_stream.len() + self.receiving.len()).unwrap_or(u32::MAX);
        self.connection
            .set_max_concurrent_uni_streams(quinn::VarInt::from_u32(count));
    }

    /// A unidirectional stream from the viewer: its header is read on a task of its
    /// own and reported.
    pub(crate) fn read_header(&self, mut stream: quinn::RecvStream) {
        let reports = self.reports_tx.clone();
        tokio::spawn(async move {
            let read = tokio::time::timeout(HEADER_TIMEOUT, read_stream_header(&mut stream)).await;
            let report = match read {
                Ok(Ok(Some(header))) => Ok((header, stream)),
                // Reset before its header: the viewer gave up; its reason comes on the
                // control stream.
                Ok(Ok(None)) => return,
                Ok(Err(violation)) => Err(violation),
                Err(_) => Err(PeerMisbehaved::TooSlow {
                    step: "send a file stream's header",
                    limit_secs: HEADER_TIMEOUT.as_secs(),
                }),
            };
            let _ = reports.send(FileReport::Header(report));
        });
    }

    /// Acts on a report from a transfer thread.
    pub(crate) fn on_report(
        &mut self,
        report: FileReport,
        agent: &mut AgentSession,
        guard: &mut CodeGuard,
    ) {
        match report {
            FileReport::Header(Ok((header, stream))) => {
                if agent.file_stream_opened(&header, guard, now()).is_ok() {
                    self.start_receive(header, stream);
                }
            }
            FileReport::Header(Err(violation)) => {
                tracing::warn!("the viewer sent a bad file stream: {violation}");
                agent.report_violation(&violation, guard, now());
            }
            FileReport::Hashed { id, result } => match result {
                Ok(offer) => match agent.file_ready(offer.clone(), now()) {
                    Ok(header) => self.start_send(offer, header),
                    Err(err) => tracing::debug!("a fetched file is no longer wanted: {err}"),
                },
                Err(reason) => self.finished(id, Err(reason), agent),
            },
            FileReport::Finished { id, result, stream } => {
                self.moving.remove(&id);
                self.receiving.remove(&id);
                self.update_stream_credit();
                drop(stream);
                self.finished(id, result, agent);
            }
        }
    }

    fn finished(&mut self, id: u32, result: Result<String, String>, agent: &mut AgentSession) {
        self.plans.remove(&id);
        self.sentences.remove(&id);
        match &result {
            Ok(saved_as) if !saved_as.is_empty() => tracing::info!(id, "received a file"),
            Ok(_) => tracing::info!(id, "sent a file"),
            Err(reason) => tracing::info!(id, "a file transfer failed: {reason}"),
        }
        if let Err(err) = agent.file_finished(id, result, now()) {
            tracing::debug!("a file transfer ended after it was stopped: {err}");
        }
    }

    fn start_receive(&mut self, header: FileOffer, stream: quinn::RecvStream) {
        let id = header.id;
        self.awaiting_stream.remove(&id);
        let Some(Plan::Receive { dir, name, number }) = self.plans.remove(&id) else {
            // The state machine accepted the stream, so it was planned: not reached.
            tracing::error!(id, "a file stream arrived for a transfer without a plan");
            return;
        };
        let (stop_tx, stop) = watch::channel(false);
        self.moving.insert(id, stop_tx);
        self.receiving.insert(id);
        let reports = self.reports_tx.clone();
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut stream = stream;
            let target = Target {
                dir: &dir,
                name: &name,
                first_number: number,
                id,
            };
            let mut mover = Mover {
                handle: &handle,
                stop,
                progress: &mut |_| {},
            };
            let result = file_io::receive(&mut mover, &mut stream, &header, &target)
                .map_err(|err| err.explain(&dir, "the end user's", "the technician's side"));
            let _ = reports.send(FileReport::Finished {
                id,
                result,
                stream: Some(stream),
            });
        });
    }

    /// A fetch was approved: the file is read and hashed on a thread, then reported.
    pub(crate) fn start_hashing(&mut self, fetch: &FileFetch) {
        let id = fetch.id;
        let Some(Plan::Send { path }) = self.plans.get(&id) else {
            tracing::error!(id, "an approved fetch without a plan");
            return;
        };
        let path = path.clone();
        let reports = self.reports_tx.clone();
        tokio::task::spawn_blocking(move || {
            let result = hash_file(id, &path);
            let _ = reports.send(FileReport::Hashed { id, result });
        });
    }

    fn start_send(&mut self, offer: FileOffer, header: Vec<u8>) {
        let id = offer.id;
        let Some(Plan::Send { path }) = self.plans.get(&id) else {
            return;
        };
        let path = path.clone();
        let (stop_tx, stop) = watch::channel(false);
        self.moving.insert(id, stop_tx);
        let reports = self.reports_tx.clone();
        let connection = self.connection.clone();
        let handle = Handle::current();
        tokio::task::spawn_blocking(move || {
            let mut mover = Mover {
                handle: &handle,
                stop,
                progress: &mut |_| {},
            };
            let result = file_io::send(&mut mover, &connection, &header, &path, &offer)
                .map(|()| String::new())
                .map_err(|err| err.explain(&path, "the end user's", "the technician's side"));
            let _ = reports.send(FileReport::Finished {
                id,
                result,
                stream: None,
            });
        });
    }

    /// Stops a transfer now (the technician cancelled it, or the permission went): a
    /// partial file is removed by its thread.
    pub(crate) fn cancel(&mut self, id: u32) {
        self.plans.remove(&id);
        self.sentences.remove(&id);
        if let Some(stop) = self.moving.remove(&id) {
            let _ = stop.send(true);
        }
        self.awaiting_stream.remove(&id);
        self.receiving.remove(&id);
        self.update_stream_credit();
    }
}

impl Drop for FileTransfers {
    fn drop(&mut self) {
        // The session is over: every transfer stops and removes its partial file.
        for stop in self.moving.values() {
            let _ = stop.send(true);
        }
    }
}

/// A fetch: the full path (links resolved, `~` is the home folder), which must be a
/// readable regular file within the size limit.
fn plan_send(fetch: &FileFetch) -> Result<(Plan, FileSentence), String> {
    let typed = fetch.path.trim();
    let expanded = match typed.strip_prefix('~') {
        Some(rest) if rest.is_empty() || rest.starts_with('/') => {
            let home = directories::UserDirs::new()
                .map(|dirs| dirs.home_dir().to_path_buf())
                .ok_or("the end user's home folder is unknown")?;
            home.join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(typed),
    };
    if !expanded.is_absolute() {
        return Err(format!(
            "{typed:?} is not a full path: give it from the root, e.g. /home/ann/report.pdf \
             or ~/report.pdf"
        ));
    }
    let path = std::fs::canonicalize(&expanded)
        .map_err(|err| format!("cannot find {}: {err}", expanded.display()))?;
    let metadata = std::fs::metadata(&path)
        .map_err(|err| format!("cannot look at {}: {err}", path.display()))?;
    if !metadata.is_file() {
        return Err(format!(
            "{} is not a file (folders and devices cannot be fetched)",
            path.display()
        ));
    }
    if metadata.len() > MAX_FILE_SIZE {
        return Err(format!(
            "{} ({}) is larger than the {} limit",
            path.display(),
            human_size(metadata.len()),
            human_size(MAX_FILE_SIZE)
        ));
    }
    File::open(&path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let sentence = FileSentence::Send {
        path: path.clone(),
        size: metadata.len(),
    };
    Ok((Plan::Send { path }, sentence))
}

/// Reads a fetched file once for its size and SHA-256.
fn hash_file(id: u32, path: &Path) -> Result<FileOffer, String> {
    let file = File::open(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let (size, sha256) = sha256_of(file.take(MAX_FILE_SIZE + 1))
        .map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    if size > MAX_FILE_SIZE {
        return Err(format!(
            "{} grew past the {} limit",
            path.display(),
            human_size(MAX_FILE_SIZE)
        ));
    }
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(FileOffer {
        id,
        name,
        size,
        sha256,
    })
}

/// Reads a file stream's tag, length and header. `None` when the stream was reset
/// before its header (the sender gave up).
async fn read_stream_header(
    stream: &mut quinn::RecvStream,
) -> Result<Option<FileOffer>, PeerMisbehaved> {
    let mut prefix = [0u8; FILE_STREAM_PREFIX_LEN];
    match stream.read_exact(&mut prefix).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::ReadError(quinn::ReadError::Reset(_))) => return Ok(None),
        Err(err) => return Err(cut_header(&err)),
    }
    let len = stream_header_len(&prefix)?;
    let mut body = vec![0u8; len];
    match stream.read_exact(&mut body).await {
        Ok(()) => {}
        Err(quinn::ReadExactError::ReadError(quinn::ReadError::Reset(_))) => return Ok(None),
        Err(err) => return Err(cut_header(&err)),
    }
    decode_stream_header(&body).map(Some)
}

fn cut_header(err: &quinn::ReadExactError) -> PeerMisbehaved {
    PeerMisbehaved::Malformed {
        what: "file stream",
        detail: format!("it ends inside its header ({err})"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    #[test]
    fn the_end_user_reads_a_transfer_in_their_language_and_the_audit_in_english() {
        let incoming = FileSentence::Receive {
            file: "report (1).pdf".to_owned(),
            size: 2_300_000,
            folder: PathBuf::from("/home/ann/Downloads"),
        };
        assert_eq!(
            incoming.render(Lang::En.texts()),
            "receive the file report (1).pdf (2.3 MB) into /home/ann/Downloads"
        );
        assert_eq!(
            incoming.render(Lang::ZhCn.texts()),
            "接收文件 report (1).pdf（2.3 MB），保存到 /home/ann/Downloads"
        );
        let outgoing = FileSentence::Send {
            path: PathBuf::from("/home/ann/notes.txt"),
            size: 12_000,
        };
        assert_eq!(
            outgoing.render(Lang::ZhCn.texts()),
            "把文件 /home/ann/notes.txt（12.0 kB）发送给技术人员"
        );
        // A name that looks like a placeholder stays what it is.
        let tricky = FileSentence::Receive {
            file: "{folder}.txt".to_owned(),
            size: 1,
            folder: PathBuf::from("/tmp"),
        };
        assert!(
            tricky
                .render(Lang::En.texts())
                .starts_with("receive the file {folder}.txt")
        );
    }

    #[test]
    fn fetches_resolve_links_and_refuse_folders_and_relative_paths() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("notes.txt");
        std::fs::write(&file, b"hello").unwrap();
        let link = dir.path().join("innocent.txt");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        let fetch = |path: &Path| FileFetch {
            id: 1,
            path: path.display().to_string(),
        };
        let (_, sentence) = plan_send(&fetch(&link)).unwrap();
        // The end user sees the file that would really be read.
        let real = std::fs::canonicalize(&file).unwrap();
        assert_eq!(
            sentence.render(Lang::En.texts()),
            format!(
                "send the file {} (5 bytes) to the technician",
                real.display()
            )
        );
        assert!(
            plan_send(&fetch(dir.path()))
                .unwrap_err()
                .contains("not a file")
        );
        assert!(
            plan_send(&FileFetch {
                id: 1,
                path: "notes.txt".to_owned()
            })
            .unwrap_err()
            .contains("not a full path")
        );
        assert!(
            plan_send(&fetch(&dir.path().join("missing")))
                .unwrap_err()
                .starts_with("cannot find")
        );
        let offer = hash_file(1, &real).unwrap();
        assert_eq!((offer.name.as_str(), offer.size), ("notes.txt", 5));
    }
}
