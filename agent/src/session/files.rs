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
//! network through the runtime's handle.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use lifeline_protocol::session::AgentSession;
use lifeline_protocol::transfer::{
    FILE_STREAM_PREFIX_LEN, FileCheck, FileFetch, FileJob, FileOffer, MAX_FILE_SIZE,
    decode_stream_header, human_size, numbered_name, safe_file_name, sha256_of, stream_header_len,
};
use lifeline_protocol::{CodeGuard, PeerMisbehaved};
use tokio::runtime::Handle;
use tokio::sync::{mpsc, watch};

use super::now;

/// Bytes read or written at a time.
const CHUNK: usize = 64 * 1024;
/// How long a file stream may take to send its header.
const HEADER_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);
/// The QUIC error code for a transfer stopped on purpose.
const STOPPED: quinn::VarInt = quinn::VarInt::from_u32(0);
/// How many numbered names are tried before giving up.
const MAX_NUMBER: u32 = 9999;

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

/// The file transfers of one session.
#[derive(Debug)]
pub(crate) struct FileTransfers {
    connection: quinn::Connection,
    data_dir: PathBuf,
    reports_tx: mpsc::UnboundedSender<FileReport>,
    /// Reports from the transfer threads, for the session loop.
    pub(crate) reports: mpsc::UnboundedReceiver<FileReport>,
    plans: HashMap<u32, Plan>,
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
            awaiting_stream: HashSet::new(),
            moving: HashMap::new(),
            receiving: HashSet::new(),
        }
    }

    /// Looks at the file system for a transfer the technician asked for: its id, and
    /// the sentence the end user will read or why it cannot be done.
    pub(crate) fn check(&mut self, job: &FileJob) -> (u32, Result<String, String>) {
        let id = job.id();
        let result = match job {
            FileJob::Receive(offer) => self.plan_receive(offer),
            FileJob::Send(fetch) => plan_send(fetch),
        };
        let result = result.map(|(plan, description)| {
            self.plans.insert(id, plan);
            description
        });
        (id, result)
    }

    fn plan_receive(&self, offer: &FileOffer) -> Result<(Plan, String), String> {
        let dir = download_dir(&self.data_dir);
        std::fs::create_dir_all(&dir).map_err(|err| {
            format!(
                "the end user's Downloads folder {} cannot be created: {err}",
                dir.display()
            )
        })?;
        let name = safe_file_name(&offer.name);
        let number = (0..=MAX_NUMBER)
            .find(|&n| !taken(&dir.join(numbered_name(&name, n))))
            .ok_or_else(|| format!("too many files named like {name} in the Downloads folder"))?;
        let description = format!(
            "receive the file {} ({}) into {}",
            numbered_name(&name, number),
            human_size(offer.size),
            dir.display()
        );
        Ok((Plan::Receive { dir, name, number }, description))
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
            let target = Target {
                dir,
                name,
                number,
                id,
            };
            let (result, stream) = receive_file(&handle, stream, &header, &target, stop);
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
            let result = send_file(&handle, &connection, &header, &path, &offer, stop)
                .map(|()| String::new());
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

/// Where received files go: the end user's Downloads folder, else `~/Downloads` when it
/// exists, else `Downloads` in the agent's data folder.
pub(crate) fn download_dir(data_dir: &Path) -> PathBuf {
    let user = directories::UserDirs::new();
    if let Some(dir) = user.as_ref().and_then(|dirs| dirs.download_dir()) {
        return dir.to_path_buf();
    }
    if let Some(home) = user
        .as_ref()
        .map(|dirs| dirs.home_dir().join("Downloads"))
        .filter(|dir| dir.is_dir())
    {
        return home;
    }
    data_dir.join("Downloads")
}

/// Whether something (a file, a folder, even a dangling link) has this name.
fn taken(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// A fetch: the full path (links resolved, `~` is the home folder), which must be a
/// readable regular file within the size limit.
fn plan_send(fetch: &FileFetch) -> Result<(Plan, String), String> {
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
    let description = format!(
        "send the file {} ({}) to the technician",
        path.display(),
        human_size(metadata.len())
    );
    Ok((Plan::Send { path }, description))
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

/// Where an offered file is saved.
struct Target {
    dir: PathBuf,
    name: String,
    number: u32,
    id: u32,
}

/// A partial file next to its final place; removed when dropped unless committed.
struct PartFile {
    path: PathBuf,
    file: File,
    committed: bool,
}

impl PartFile {
    fn create(target: &Target) -> std::io::Result<Self> {
        let mut attempt = 0u32;
        loop {
            let path = target.dir.join(format!(
                ".{}.{}-{attempt}.lifeline-part",
                target.name, target.id
            ));
            match File::options().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(Self {
                        path,
                        file,
                        committed: false,
                    });
                }
                Err(err) if err.kind() == ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Syncs the file and gives it its final name, never replacing a file: the planned
    /// number or the next free one. Returns the name used.
    fn commit(mut self, target: &Target) -> Result<String, String> {
        self.file
            .sync_all()
            .map_err(|err| write_error(&err, &target.dir))?;
        for number in target.number..=MAX_NUMBER {
            let name = numbered_name(&target.name, number);
            let path = target.dir.join(&name);
            match std::fs::hard_link(&self.path, &path) {
                Ok(()) => {
                    // The partial name goes when `self` drops; the final one stays.
                    return Ok(name);
                }
                Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
                // File systems without links (FAT): rename when the name is free.
                Err(_) if !taken(&path) => {
                    std::fs::rename(&self.path, &path)
                        .map_err(|err| write_error(&err, &target.dir))?;
                    self.committed = true;
                    return Ok(name);
                }
                Err(_) => {}
            }
        }
        Err(format!(
            "too many files named like {} in {}",
            target.name,
            target.dir.display()
        ))
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.committed
            && let Err(err) = std::fs::remove_file(&self.path)
        {
            tracing::warn!(
                "cannot remove the partial file {}: {err}",
                self.path.display()
            );
        }
    }
}

/// A write failure in words, for both people.
fn write_error(err: &std::io::Error, dir: &Path) -> String {
    if err.kind() == ErrorKind::StorageFull {
        "the end user's disk is full: the file was not saved".to_owned()
    } else {
        format!("cannot write the file into {}: {err}", dir.display())
    }
}

/// Writes the stream's bytes into a partial file, checks them, and saves the file.
/// Returns the name it was saved under, or why not; and the stream.
fn receive_file(
    handle: &Handle,
    mut stream: quinn::RecvStream,
    header: &FileOffer,
    target: &Target,
    mut stop: watch::Receiver<bool>,
) -> (Result<String, String>, quinn::RecvStream) {
    let mut part = match PartFile::create(target) {
        Ok(part) => part,
        Err(err) => {
            let _ = stream.stop(STOPPED);
            return (Err(write_error(&err, &target.dir)), stream);
        }
    };
    let mut check = FileCheck::new(header.size, header.sha256);
    loop {
        let chunk = handle.block_on(async {
            tokio::select! {
                chunk = stream.read_chunk(CHUNK, true) => Some(chunk),
                _ = stop.wait_for(|stopped| *stopped) => None,
            }
        });
        let bytes = match chunk {
            None => {
                let _ = stream.stop(STOPPED);
                return (Err("the transfer was stopped".to_owned()), stream);
            }
            Some(Ok(Some(chunk))) => chunk.bytes,
            Some(Ok(None)) => break,
            Some(Err(err)) => {
                return (
                    Err(format!("the technician's side stopped sending ({err})")),
                    stream,
                );
            }
        };
        if let Err(err) = check.update(&bytes) {
            let _ = stream.stop(STOPPED);
            return (Err(err.to_string()), stream);
        }
        if let Err(err) = part.file.write_all(&bytes) {
            let _ = stream.stop(STOPPED);
            return (Err(write_error(&err, &target.dir)), stream);
        }
    }
    let result = check
        .finish()
        .map_err(|err| err.to_string())
        .and_then(|()| part.commit(target));
    (result, stream)
}

/// Opens a file stream, sends the header and the file's bytes, and checks that they
/// are still the file announced.
fn send_file(
    handle: &Handle,
    connection: &quinn::Connection,
    header: &[u8],
    path: &Path,
    offer: &FileOffer,
    mut stop: watch::Receiver<bool>,
) -> Result<(), String> {
    let mut file =
        File::open(path).map_err(|err| format!("cannot read {}: {err}", path.display()))?;
    let mut stream = handle
        .block_on(connection.open_uni())
        .map_err(|err| format!("the connection failed: {err}"))?;
    let mut check = FileCheck::new(offer.size, offer.sha256);
    let mut buffer = vec![0u8; CHUNK];
    write_or_stop(handle, &mut stream, header, &mut stop)?;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => {
                let _ = stream.reset(STOPPED);
                return Err(format!("cannot read {}: {err}", path.display()));
            }
        };
        if check.update(&buffer[..n]).is_err() {
            let _ = stream.reset(STOPPED);
            return Err(changed(path));
        }
        write_or_stop(handle, &mut stream, &buffer[..n], &mut stop)?;
    }
    if check.finish().is_err() {
        let _ = stream.reset(STOPPED);
        return Err(changed(path));
    }
    stream
        .finish()
        .map_err(|err| format!("the connection failed: {err}"))
}

/// Writes `bytes`, unless the transfer is stopped first (the stream is then reset).
fn write_or_stop(
    handle: &Handle,
    stream: &mut quinn::SendStream,
    bytes: &[u8],
    stop: &mut watch::Receiver<bool>,
) -> Result<(), String> {
    let sent = handle.block_on(async {
        tokio::select! {
            written = stream.write_all(bytes) => Some(written),
            _ = stop.wait_for(|stopped| *stopped) => None,
        }
    });
    match sent {
        Some(Ok(())) => Ok(()),
        Some(Err(err)) => Err(format!("the technician's side stopped it ({err})")),
        None => {
            let _ = stream.reset(STOPPED);
            Err("the transfer was stopped".to_owned())
        }
    }
}

fn changed(path: &Path) -> String {
    format!(
        "{} changed while it was being sent; ask for it again",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn target(dir: &Path, name: &str, number: u32) -> Target {
        Target {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            number,
            id: 7,
        }
    }

    #[test]
    fn a_committed_file_never_replaces_one_and_its_partial_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report.pdf"), b"old").unwrap();
        let target = target(dir.path(), "report.pdf", 0);
        let mut part = PartFile::create(&target).unwrap();
        part.file.write_all(b"new").unwrap();
        assert_eq!(part.commit(&target).unwrap(), "report (1).pdf");
        assert_eq!(
            std::fs::read(dir.path().join("report.pdf")).unwrap(),
            b"old"
        );
        assert_eq!(
            std::fs::read(dir.path().join("report (1).pdf")).unwrap(),
            b"new"
        );
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names.len(), 2, "{names:?}");
    }

    #[test]
    fn an_abandoned_partial_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let part = PartFile::create(&target(dir.path(), "x.bin", 0)).unwrap();
        assert!(part.path.exists());
        drop(part);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
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
        let (_, description) = plan_send(&fetch(&link)).unwrap();
        // The end user sees the file that would really be read.
        let real = std::fs::canonicalize(&file).unwrap();
        assert_eq!(
            description,
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

    #[test]
    fn a_full_disk_is_said_plainly() {
        let err = std::io::Error::from(ErrorKind::StorageFull);
        assert_eq!(
            write_error(&err, Path::new("/home/ann/Downloads")),
            "the end user's disk is full: the file was not saved"
        );
    }
}
