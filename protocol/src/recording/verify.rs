//! Checking a whole recording: every chunk's hash, the chain, the signatures, the
//! records, and whether it was finished. The first problem is named with its chunk.

use std::fmt;
use std::io::{Read, Seek, SeekFrom};

use crate::identity::{Fingerprint, PublicKey};
use crate::time::Timestamp;

use super::chunk::{ChunkError, ChunkKind, Hash, OVERHEAD, read_chunk, read_head};
use super::header::Header;
use super::index::Index;
use super::record::{BodyCursor, Record};
use super::writer::{SEAL_BODY_LEN, SEAL_SIGNED_BODY, seal_message};

/// The first thing wrong with a recording.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Not a Lifeline recording (or its header chunk is damaged).
    NotARecording {
        /// Why.
        detail: String,
    },
    /// The seals are signed by another key than the one the recording must come from.
    WrongSigner {
        /// The key it must be signed by.
        expected: Fingerprint,
        /// The key its header names.
        found: Fingerprint,
    },
    /// A chunk's bytes were changed (its checksum does not match, or its contents are
    /// malformed).
    Damaged {
        /// The chunk's `seq` (the one expected at this place).
        chunk: u64,
        /// Its offset in the file.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// Chunks are missing: `chunk` was expected, `found` came.
    Missing {
        /// The first missing chunk.
        chunk: u64,
        /// The chunk found in its place.
        found: u64,
        /// The offset where `chunk` should be.
        offset: u64,
    },
    /// Chunks are out of order: `found` stands where `chunk` should be.
    OutOfOrder {
        /// The chunk expected here.
        chunk: u64,
        /// The chunk found here.
        found: u64,
        /// The offset.
        offset: u64,
    },
    /// A seal's signature does not verify: the chain before it was rewritten.
    BadSignature {
        /// The seal chunk's `seq`.
        chunk: u64,
        /// Its offset.
        offset: u64,
    },
    /// The file ends inside a chunk: the recorder stopped while writing it (or the file
    /// was cut). Everything before it is intact and plays.
    Truncated {
        /// The cut-off chunk.
        chunk: u64,
        /// Its offset.
        offset: u64,
    },
    /// The file ends after a whole chunk but without the final seal: the recorder
    /// stopped (crash, kill), or chunks were removed from the end.
    Unfinished {
        /// The last chunk present.
        last_chunk: u64,
    },
    /// Chunks follow the final seal.
    AfterEnd {
        /// The first chunk after the end.
        chunk: u64,
        /// Its offset.
        offset: u64,
    },
}

impl Problem {
    /// The chunk the problem is in, when there is one.
    pub fn chunk(&self) -> Option<u64> {
        match self {
            Problem::NotARecording { .. } => Some(0),
            Problem::WrongSigner { .. } => None,
            Problem::Damaged { chunk, .. }
            | Problem::Missing { chunk, .. }
            | Problem::OutOfOrder { chunk, .. }
            | Problem::BadSignature { chunk, .. }
            | Problem::Truncated { chunk, .. }
            | Problem::AfterEnd { chunk, .. } => Some(*chunk),
            Problem::Unfinished { last_chunk } => Some(last_chunk + 1),
        }
    }

    /// Whether the recording may only be incomplete (a recorder that stopped), as
    /// opposed to damaged or tampered with.
    pub fn is_incomplete_only(&self) -> bool {
        matches!(self, Problem::Truncated { .. } | Problem::Unfinished { .. })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NotARecording { detail } => {
                write!(f, "not a Lifeline recording: {detail}")
            }
            Problem::WrongSigner { expected, found } => write!(
                f,
                "the recording is signed by key {found}, not by the expected key {expected}"
            ),
            Problem::Damaged {
                chunk,
                offset,
                detail,
            } => write!(f, "chunk {chunk} (at byte {offset}) is damaged: {detail}"),
            Problem::Missing {
                chunk,
                found,
                offset,
            } if *found == chunk + 1 => write!(
                f,
                "chunk {chunk} is missing: chunk {found} follows chunk {} (at byte {offset})",
                chunk.saturating_sub(1)
            ),
            Problem::Missing {
                chunk,
                found,
                offset,
            } => write!(
                f,
                "chunks {chunk} to {} are missing: chunk {found} follows chunk {} (at byte \
                 {offset})",
                found - 1,
                chunk.saturating_sub(1)
            ),
            Problem::OutOfOrder {
                chunk,
                found,
                offset,
            } => write!(
                f,
                "chunks are out of order: chunk {found} stands where chunk {chunk} belongs \
                 (at byte {offset})"
            ),
            Problem::BadSignature { chunk, offset } => write!(
                f,
                "the signature in chunk {chunk} (at byte {offset}) does not match: the chunks \
                 before it were changed"
            ),
            Problem::Truncated { chunk, offset } => write!(
                f,
                "the file is cut off inside chunk {chunk} (at byte {offset}): the recorder \
                 stopped while writing it; everything before it is intact"
            ),
            Problem::Unfinished { last_chunk } => write!(
                f,
                "the recording ends after chunk {last_chunk} without its final seal: the \
                 recorder stopped (crash or kill), or chunks were removed from the end"
            ),
            Problem::AfterEnd { chunk, offset } => {
                write!(f, "chunk {chunk} (at byte {offset}) follows the final seal")
            }
        }
    }
}

/// What [`verify`] found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Report {
    /// The header, when it could be read.
    pub header: Option<Header>,
    /// Whole, good chunks before the first problem (the header included).
    pub chunks: u64,
    /// Records in those chunks.
    pub records: u64,
    /// Video frames among them.
    pub video_frames: u64,
    /// The first and last record's times.
    pub span: Option<(Timestamp, Timestamp)>,
    /// The last good seal: chunks before it are signed.
    pub signed_through: Option<u64>,
    /// Whether the final seal was found.
    pub finished: bool,
    /// The first problem, if any.
    pub problem: Option<Problem>,
}

impl Report {
    /// Finished, intact and signed throughout.
    pub fn is_valid(&self) -> bool {
        self.problem.is_none() && self.finished
    }

    /// The signer's fingerprint, from the header.
    pub fn signer(&self) -> Option<Fingerprint> {
        self.header
            .as_ref()
            .map(|header| header.recorder.public_key.fingerprint())
    }
}

/// Checks a whole recording. `trusted`: the key it must be signed by (by default any
/// key, whose fingerprint the report gives). Only I/O failures are errors; everything
/// wrong with the bytes is in the report.
pub fn verify<R: Read + Seek>(
    mut source: R,
    trusted: Option<&PublicKey>,
) -> std::io::Result<Report> {
    let len = super::chunk::source_len(&mut source, 0)?;
    let mut report = Report {
        header: None,
        chunks: 0,
        records: 0,
        video_frames: 0,
        span: None,
        signed_through: None,
        finished: false,
        problem: None,
    };
    let mut body = Vec::new();
    let first = match read_chunk(&mut source, len, &mut body) {
        Ok(chunk) if chunk.head.kind == ChunkKind::Header && chunk.head.seq == 0 => chunk,
        Ok(_) => return Ok(not_a_recording(report, "its first chunk is not a header")),
        Err(ChunkError::Io(err)) => return Err(err),
        Err(ChunkError::End) => return Ok(not_a_recording(report, "it is empty")),
        Err(ChunkError::Truncated) => {
            return Ok(not_a_recording(report, "it ends inside its first chunk"));
        }
        Err(ChunkError::Damaged(why)) => {
            return Ok(not_a_recording(report, &format!("its first chunk: {why}")));
        }
    };
    let header = match Header::parse(&body) {
        Ok(header) => header,
        Err(why) => return Ok(not_a_recording(report, &why)),
    };
    let key = header.recorder.public_key;
    report.header = Some(header);
    report.chunks = 1;
    if let Some(trusted) = trusted
        && *trusted != key
    {
        report.problem = Some(Problem::WrongSigner {
            expected: trusted.fingerprint(),
            found: key.fingerprint(),
        });
        return Ok(report);
    }
    let mut walk = Walk {
        prev: first.hash,
        expected: 1,
        offset: first.head.total_len(),
        key,
    };
    report.problem = walk.run(&mut source, len, &mut body, &mut report)?;
    Ok(report)
}

fn not_a_recording(mut report: Report, detail: &str) -> Report {
    report.problem = Some(Problem::NotARecording {
        detail: detail.to_owned(),
    });
    report
}

struct Walk {
    prev: Hash,
    expected: u64,
    offset: u64,
    key: PublicKey,
}

impl Walk {
    fn run<R: Read + Seek>(
        &mut self,
        source: &mut R,
        len: u64,
        body: &mut Vec<u8>,
        report: &mut Report,
    ) -> std::io::Result<Option<Problem>> {
        loop {
            let (chunk, offset) = (self.expected, self.offset);
            source.seek(SeekFrom::Start(offset))?;
            let read = match read_chunk(source, len - offset, body) {
                Ok(read) => read,
                Err(ChunkError::Io(err)) => return Err(err),
                Err(ChunkError::End) if report.finished => return Ok(None),
                Err(ChunkError::End) => {
                    return Ok(Some(Problem::Unfinished {
                        last_chunk: chunk - 1,
                    }));
                }
                Err(ChunkError::Truncated) => {
                    return Ok(Some(truncated_or_damaged(source, len, chunk, offset)?));
                }
                Err(ChunkError::Damaged(detail)) => {
                    return Ok(Some(Problem::Damaged {
                        chunk,
                        offset,
                        detail,
                    }));
                }
            };
            if report.finished {
                return Ok(Some(Problem::AfterEnd {
                    chunk: read.head.seq,
                    offset,
                }));
            }
            let found = read.head.seq;
            if found != chunk {
                let next_offset = offset + read.head.total_len();
                source.seek(SeekFrom::Start(next_offset))?;
                let swapped =
                    found < chunk || read_head(source).is_ok_and(|next| next.seq == chunk);
                return Ok(Some(if swapped {
                    Problem::OutOfOrder {
                        chunk,
                        found,
                        offset,
                    }
                } else {
                    Problem::Missing {
                        chunk,
                        found,
                        offset,
                    }
                }));
            }
            if read.head.prev != self.prev {
                return Ok(Some(Problem::Damaged {
                    chunk,
                    offset,
                    detail: format!(
                        "it does not link to chunk {}: the chain was rewritten",
                        chunk - 1
                    ),
                }));
            }
            if let Err(problem) = self.check_body(&read.head, body, report) {
                return Ok(Some(problem));
            }
            report.chunks += 1;
            self.prev = read.hash;
            self.expected += 1;
            self.offset += read.head.total_len();
        }
    }

    fn check_body(
        &self,
        head: &super::chunk::ChunkHead,
        body: &[u8],
        report: &mut Report,
    ) -> Result<(), Problem> {
        let damaged = |detail: String| Problem::Damaged {
            chunk: head.seq,
            offset: self.offset,
            detail,
        };
        match head.kind {
            ChunkKind::Header => return Err(damaged("a second header".to_owned())),
            ChunkKind::Records => {
                let mut cursor = BodyCursor::new();
                while let Some(record) = cursor.next(body).map_err(damaged)? {
                    report.records += 1;
                    if matches!(record.record, Record::Video { .. }) {
                        report.video_frames += 1;
                    }
                    report.span = Some(match report.span {
                        None => (record.time, record.time),
                        Some((first, _)) => (first, record.time),
                    });
                }
            }
            ChunkKind::Index => {
                Index::decode(body).map_err(damaged)?;
            }
            ChunkKind::Seal => {
                if body.len() != SEAL_BODY_LEN || body[0] > 1 {
                    return Err(damaged("the seal is malformed".to_owned()));
                }
                let message = seal_message(&head.encode(), &body[..SEAL_SIGNED_BODY]);
                if self
                    .key
                    .verify(&message, &body[SEAL_SIGNED_BODY..])
                    .is_err()
                {
                    return Err(Problem::BadSignature {
                        chunk: head.seq,
                        offset: self.offset,
                    });
                }
                report.signed_through = Some(head.seq);
                report.finished = body[0] == 1;
            }
        }
        Ok(())
    }
}

/// A chunk whose length runs past the end of the file: a cut-off last chunk, unless
/// the file ends with a whole chunk after it (then its length field was changed).
fn truncated_or_damaged<R: Read + Seek>(
    source: &mut R,
    len: u64,
    chunk: u64,
    offset: u64,
) -> std::io::Result<Problem> {
    if len >= offset + OVERHEAD {
        source.seek(SeekFrom::Start(len - 4))?;
        let mut last_len = [0u8; 4];
        source.read_exact(&mut last_len)?;
        let last_start = len
            .checked_sub(OVERHEAD + u64::from(u32::from_be_bytes(last_len)))
            .filter(|start| *start > offset);
        if let Some(start) = last_start {
            source.seek(SeekFrom::Start(start))?;
            let mut body = Vec::new();
            if read_chunk(source, len - start, &mut body).is_ok() {
                return Ok(Problem::Damaged {
                    chunk,
                    offset,
                    detail: "its length points past the end of the file".to_owned(),
                });
            }
        }
    }
    Ok(Problem::Truncated { chunk, offset })
}
