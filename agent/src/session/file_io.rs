//! One file's bytes between a QUIC stream and the file system, for the agent and the
//! viewer alike (the viewer compiles this file as its own module through `#[path]`, so
//! the code that writes, checks and names received files exists once; see
//! `ARCHITECTURE.md`). It uses only `std`, `tokio`, `quinn`, `tracing` and
//! `lifeline_protocol`, nothing from `crate::`.
//!
//! - [`receive`]: the bytes go into a hidden partial file next to the target, are
//!   checked (never more than announced; at the end exactly the size and SHA-256), the
//!   file is synced, then linked under the first free numbered name, never replacing a
//!   file. Any failure or a stop removes the partial file.
//! - [`send`]: the file goes in 64 KiB pieces after its stream header, checked against
//!   what was announced so that a file changing meanwhile fails the transfer.
//!
//! Both run on a blocking thread and wait on the network through the runtime's handle;
//! a stop signal ends them at once (the stream is stopped or reset).

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::path::{Path, PathBuf};

use lifeline_protocol::transfer::{FileCheck, FileOffer, TransferError, numbered_name};
use tokio::runtime::Handle;
use tokio::sync::watch;

/// Bytes read or written at a time.
pub(crate) const CHUNK: usize = 64 * 1024;
/// The QUIC error code for a transfer stopped on purpose.
pub(crate) const STOPPED: quinn::VarInt = quinn::VarInt::from_u32(0);
/// How many numbered names are tried before giving up.
pub(crate) const MAX_NUMBER: u32 = 9999;

/// Why a file's bytes stopped moving.
#[derive(Debug)]
pub(crate) enum MoveError {
    /// This side stopped it (a cancel, a withdrawn permission, the session's end).
    Stopped,
    /// The other side stopped or reset the stream, or the connection failed.
    Peer(String),
    /// The bytes are not the file announced.
    Check(TransferError),
    /// The file being sent changed while it was read.
    Changed,
    /// The local file could not be read.
    Read(std::io::Error),
    /// The received file could not be written (or synced, or named).
    Write(std::io::Error),
    /// Every numbered name up to [`MAX_NUMBER`] is taken.
    NoFreeName,
}

impl MoveError {
    /// The failure in words for both people: `file` is the file read or the folder
    /// written, `this_computer` says whose disk (e.g. "the end user's"), `other_side`
    /// who sends or receives the bytes (e.g. "the technician's side").
    pub(crate) fn explain(&self, file: &Path, this_computer: &str, other_side: &str) -> String {
        match self {
            MoveError::Stopped => "the transfer was stopped".to_owned(),
            MoveError::Peer(detail) => format!("{other_side} stopped the transfer ({detail})"),
            MoveError::Check(err) => err.to_string(),
            MoveError::Changed => format!(
                "{} changed while it was being sent; try again",
                file.display()
            ),
            MoveError::Read(err) => format!("cannot read {}: {err}", file.display()),
            MoveError::Write(err) if err.kind() == ErrorKind::StorageFull => {
                format!("{this_computer} disk is full: the file was not saved")
            }
            MoveError::Write(err) => {
                format!("cannot write the file into {}: {err}", file.display())
            }
            MoveError::NoFreeName => format!(
                "too many files with this name in {}: the file was not saved",
                file.display()
            ),
        }
    }
}

/// What a transfer thread needs: the runtime to wait on, the stop signal, and where to
/// report the bytes moved so far.
pub(crate) struct Mover<'a> {
    /// The runtime the stream belongs to.
    pub(crate) handle: &'a Handle,
    /// Set to true (or dropped) to stop the transfer.
    pub(crate) stop: watch::Receiver<bool>,
    /// Called with the bytes moved after each piece.
    pub(crate) progress: &'a mut dyn FnMut(u64),
}

/// Where a received file goes: `numbered_name(name, first_number)` in `dir`, or the next
/// free number.
pub(crate) struct Target<'a> {
    /// The folder.
    pub(crate) dir: &'a Path,
    /// The safe file name.
    pub(crate) name: &'a str,
    /// The first number to try (0: the name itself).
    pub(crate) first_number: u32,
    /// The transfer's id (for the partial file's name).
    pub(crate) id: u32,
}

/// Whether something (a file, a folder, even a dangling link) has this name.
pub(crate) fn taken(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok()
}

/// The first number whose name is free in `dir`.
pub(crate) fn first_free_number(dir: &Path, name: &str) -> Option<u32> {
    (0..=MAX_NUMBER).find(|&n| !taken(&dir.join(numbered_name(name, n))))
}

/// Where received files go: the user's Downloads folder (`directories::UserDirs`), else
/// `~/Downloads` when it exists, else `Downloads` in the program's data folder.
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

/// A partial file next to its final place; removed when dropped unless renamed.
struct PartFile {
    path: PathBuf,
    file: File,
    renamed: bool,
}

impl PartFile {
    fn create(target: &Target<'_>) -> std::io::Result<Self> {
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
                        renamed: false,
                    });
                }
                Err(err) if err.kind() == ErrorKind::AlreadyExists && attempt < 100 => {
                    attempt += 1;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Syncs the file and gives it the first free numbered name from the target's,
    /// never replacing a file (a link fails when the name exists). Returns the name.
    fn commit(mut self, target: &Target<'_>) -> Result<String, MoveError> {
        self.file.sync_all().map_err(MoveError::Write)?;
        for number in target.first_number..=MAX_NUMBER {
            let name = numbered_name(target.name, number);
            let path = target.dir.join(&name);
            match std::fs::hard_link(&self.path, &path) {
                // The partial name goes when `self` drops; the final one stays.
                Ok(()) => return Ok(name),
                Err(err) if err.kind() == ErrorKind::AlreadyExists => {}
                // File systems without links (FAT): rename when the name is free.
                Err(_) if !taken(&path) => {
                    std::fs::rename(&self.path, &path).map_err(MoveError::Write)?;
                    self.renamed = true;
                    return Ok(name);
                }
                Err(_) => {}
            }
        }
        Err(MoveError::NoFreeName)
    }
}

impl Drop for PartFile {
    fn drop(&mut self) {
        if !self.renamed
            && let Err(err) = std::fs::remove_file(&self.path)
        {
            tracing::warn!(
                "cannot remove the partial file {}: {err}",
                self.path.display()
            );
        }
    }
}

/// Writes the stream's bytes (after its header) into a partial file, checks them against
/// `header`, and saves the file. Returns the name it was saved under.
pub(crate) fn receive(
    mover: &mut Mover<'_>,
    stream: &mut quinn::RecvStream,
    header: &FileOffer,
    target: &Target<'_>,
) -> Result<String, MoveError> {
    let result = receive_into_part(mover, stream, header, target);
    if matches!(
        result,
        Err(MoveError::Stopped | MoveError::Check(_) | MoveError::Write(_))
    ) {
        let _ = stream.stop(STOPPED);
    }
    result
}

fn receive_into_part(
    mover: &mut Mover<'_>,
    stream: &mut quinn::RecvStream,
    header: &FileOffer,
    target: &Target<'_>,
) -> Result<String, MoveError> {
    std::fs::create_dir_all(target.dir).map_err(MoveError::Write)?;
    let mut part = PartFile::create(target).map_err(MoveError::Write)?;
    let mut check = FileCheck::new(header.size, header.sha256);
    let stop = &mut mover.stop;
    loop {
        let chunk = mover.handle.block_on(async {
            tokio::select! {
                chunk = stream.read_chunk(CHUNK, true) => Some(chunk),
                _ = stop.wait_for(|stopped| *stopped) => None,
            }
        });
        let bytes = match chunk {
            None => return Err(MoveError::Stopped),
            Some(Ok(Some(chunk))) => chunk.bytes,
            Some(Ok(None)) => break,
            Some(Err(err)) => return Err(MoveError::Peer(err.to_string())),
        };
        check.update(&bytes).map_err(MoveError::Check)?;
        part.file.write_all(&bytes).map_err(MoveError::Write)?;
        (mover.progress)(check.received());
    }
    check.finish().map_err(MoveError::Check)?;
    part.commit(target)
}

/// Opens a stream on `connection`, sends `header` then the file at `path`, checking it
/// is still the file `offer` announced, and finishes the stream.
pub(crate) fn send(
    mover: &mut Mover<'_>,
    connection: &quinn::Connection,
    header: &[u8],
    path: &Path,
    offer: &FileOffer,
) -> Result<(), MoveError> {
    let mut file = File::open(path).map_err(MoveError::Read)?;
    let mut stream = mover
        .handle
        .block_on(connection.open_uni())
        .map_err(|err| MoveError::Peer(err.to_string()))?;
    let result = send_pieces(mover, &mut stream, &mut file, header, offer);
    match result {
        Ok(()) => stream
            .finish()
            .map_err(|err| MoveError::Peer(err.to_string())),
        Err(err) => {
            let _ = stream.reset(STOPPED);
            Err(err)
        }
    }
}

fn send_pieces(
    mover: &mut Mover<'_>,
    stream: &mut quinn::SendStream,
    file: &mut File,
    header: &[u8],
    offer: &FileOffer,
) -> Result<(), MoveError> {
    let mut check = FileCheck::new(offer.size, offer.sha256);
    let mut buffer = vec![0u8; CHUNK];
    write_or_stop(mover, stream, header)?;
    loop {
        let n = match file.read(&mut buffer) {
            Ok(0) => break,
            Ok(n) => n,
            Err(err) if err.kind() == ErrorKind::Interrupted => continue,
            Err(err) => return Err(MoveError::Read(err)),
        };
        check.update(&buffer[..n]).map_err(|_| MoveError::Changed)?;
        write_or_stop(mover, stream, &buffer[..n])?;
        (mover.progress)(check.received());
    }
    check.finish().map_err(|_| MoveError::Changed)
}

/// Writes `bytes`, unless the transfer is stopped first.
fn write_or_stop(
    mover: &mut Mover<'_>,
    stream: &mut quinn::SendStream,
    bytes: &[u8],
) -> Result<(), MoveError> {
    let stop = &mut mover.stop;
    let sent = mover.handle.block_on(async {
        tokio::select! {
            written = stream.write_all(bytes) => Some(written),
            _ = stop.wait_for(|stopped| *stopped) => None,
        }
    });
    match sent {
        Some(Ok(())) => Ok(()),
        Some(Err(err)) => Err(MoveError::Peer(err.to_string())),
        None => Err(MoveError::Stopped),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "tests")]
    use super::*;

    fn target<'a>(dir: &'a Path, name: &'a str) -> Target<'a> {
        Target {
            dir,
            name,
            first_number: 0,
            id: 7,
        }
    }

    #[test]
    fn a_committed_file_never_replaces_one_and_its_partial_file_goes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("report.pdf"), b"old").unwrap();
        let target = target(dir.path(), "report.pdf");
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
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        assert_eq!(first_free_number(dir.path(), "report.pdf"), Some(2));
    }

    #[test]
    fn an_abandoned_partial_file_is_removed() {
        let dir = tempfile::tempdir().unwrap();
        let part = PartFile::create(&target(dir.path(), "x.bin")).unwrap();
        assert!(part.path.exists());
        drop(part);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn failures_are_said_plainly() {
        let full = MoveError::Write(std::io::Error::from(ErrorKind::StorageFull));
        assert_eq!(
            full.explain(
                Path::new("/home/ann/Downloads"),
                "the end user's",
                "the viewer"
            ),
            "the end user's disk is full: the file was not saved"
        );
        assert_eq!(
            MoveError::Peer("reset by peer".to_owned()).explain(
                Path::new("/x"),
                "this computer's",
                "the agent"
            ),
            "the agent stopped the transfer (reset by peer)"
        );
    }
}
