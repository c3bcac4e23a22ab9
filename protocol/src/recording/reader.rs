//! Reading a recording for playback and export: open, index, seek to a time, iterate
//! records. Each chunk is checked against its own hash as it is read; the chain and
//! signatures are [`verify`](super::verify())'s job.

use std::io::{Read, Seek, SeekFrom};

use crate::time::Timestamp;

use super::chunk::{
    ChunkError, ChunkHead, ChunkKind, HEAD_LEN, OVERHEAD, TAIL_LEN, read_chunk, read_head,
    source_len,
};
use super::header::{HEADER_LIMIT, Header};
use super::index::{Index, IndexEntry};
use super::record::{BodyCursor, TimedRecord};
use super::writer::SEAL_BODY_LEN;

/// A recording could not be read (further).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading the file failed.
    #[error("cannot read the recording: {0}")]
    Io(#[from] std::io::Error),
    /// The file is not a Lifeline recording this software reads.
    #[error("this is not a Lifeline recording this software can read: {0}")]
    NotARecording(String),
    /// A chunk is damaged; what comes before it plays.
    #[error("chunk {chunk} (at byte {offset}) is damaged: {detail}")]
    Damaged {
        /// The chunk's `seq` (as expected at this place).
        chunk: u64,
        /// Its offset in the file.
        offset: u64,
        /// What is wrong.
        detail: String,
    },
    /// The file ends inside a chunk (the recorder stopped while writing it); everything
    /// before it plays.
    #[error("the recording is cut off inside chunk {chunk} (at byte {offset})")]
    Truncated {
        /// The chunk's `seq` (as expected at this place).
        chunk: u64,
        /// Its offset in the file.
        offset: u64,
    },
}

/// Reads a recording: [`open`](Self::open), then [`seek`](Self::seek) or
/// [`rewind`](Self::rewind) and [`next_record`](Self::next_record) in a loop.
///
/// Memory: one chunk and the index, whatever the length.
#[derive(Debug)]
pub struct RecordingReader<R> {
    source: R,
    len: u64,
    header: Header,
    first_offset: u64,
    index: Vec<IndexEntry>,
    finished: bool,
    // Where the next chunk starts, and its expected seq.
    next_offset: u64,
    next_seq: u64,
    body: Vec<u8>,
    cursor: BodyCursor,
    body_seq: u64,
    body_offset: u64,
    stopped: bool,
}

impl<R: Read + Seek> RecordingReader<R> {
    /// Opens a recording: reads its header and its index (the final one, or, for a
    /// recording that was not finished, one rebuilt from the chunk heads).
    pub fn open(mut source: R) -> Result<Self, ReadError> {
        let len = source_len(&mut source, 0)?;
        let mut body = Vec::new();
        let chunk = match read_chunk(&mut source, len, &mut body) {
            Ok(chunk) => chunk,
            Err(ChunkError::Io(err)) => return Err(err.into()),
            Err(ChunkError::End) => return Err(ReadError::NotARecording("it is empty".into())),
            Err(ChunkError::Truncated) => {
                return Err(ReadError::NotARecording(
                    "it ends inside its first chunk".into(),
                ));
            }
            Err(ChunkError::Damaged(why)) => {
                return Err(ReadError::NotARecording(format!("its first chunk: {why}")));
            }
        };
        if chunk.head.kind != ChunkKind::Header || chunk.head.seq != 0 || body.len() > HEADER_LIMIT
        {
            return Err(ReadError::NotARecording(
                "its first chunk is not a header".into(),
            ));
        }
        let header = Header::parse(&body).map_err(ReadError::NotARecording)?;
        let first_offset = chunk.head.total_len();
        let mut reader = Self {
            source,
            len,
            header,
            first_offset,
            index: Vec::new(),
            finished: false,
            next_offset: first_offset,
            next_seq: 1,
            body: Vec::new(),
            cursor: BodyCursor::new(),
            body_seq: 0,
            body_offset: 0,
            stopped: false,
        };
        match reader.final_index()? {
            Some(index) => {
                reader.index = index;
                reader.finished = true;
            }
            None => reader.index = reader.scan_index()?,
        }
        reader.rewind();
        Ok(reader)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The keyframe index: records chunks that start with a keyframe, by time.
    pub fn index(&self) -> &[IndexEntry] {
        &self.index
    }

    /// Whether the recording was finished (its last chunk is a final seal). An
    /// unfinished recording plays up to its last whole chunk.
    pub fn is_finished(&self) -> bool {
        self.finished
    }

    /// Goes back to the first record.
    pub fn rewind(&mut self) {
        self.next_offset = self.first_offset;
        self.next_seq = 1;
        self.body.clear();
        self.cursor = BodyCursor::new();
        self.stopped = false;
    }

    /// Positions the reader at the last keyframe at or before `time` (or the first
    /// keyframe when `time` is earlier), and returns that keyframe's time; `None` when
    /// the recording has no video (the reader is then rewound). A player decodes from
    /// there and shows frames from `time` on.
    pub fn seek(&mut self, time: Timestamp) -> Result<Option<Timestamp>, ReadError> {
        let at = self.index.partition_point(|entry| entry.time <= time);
        let Some(start) = self.index.get(at.saturating_sub(1)).copied() else {
            self.rewind();
            return Ok(None);
        };
        // The index may be thinned: walk the heads from there for a later keyframe
        // chunk that is still not after `time`.
        let limit = self.index.get(at).map_or(u64::MAX, |next| next.offset);
        let mut best = start;
        let mut offset = start.offset;
        while offset < limit && offset < self.len {
            self.source.seek(SeekFrom::Start(offset))?;
            let Ok(head) = read_head(&mut self.source) else {
                break;
            };
            if head.time > time {
                break;
            }
            if head.starts_with_keyframe() {
                best = IndexEntry {
                    time: head.time,
                    offset,
                    seq: head.seq,
                };
            }
            offset += head.total_len();
        }
        self.next_offset = best.offset;
        self.next_seq = best.seq;
        self.body.clear();
        self.cursor = BodyCursor::new();
        self.stopped = false;
        Ok(Some(best.time))
    }

    /// The next record, or `None` at the end. A damaged or cut-off chunk ends the
    /// iteration with an error naming it; what came before it is good.
    pub fn next_record(&mut self) -> Result<Option<TimedRecord>, ReadError> {
        loop {
            if self.stopped {
                return Ok(None);
            }
            match self.cursor.next(&self.body) {
                Ok(Some(record)) => return Ok(Some(record)),
                Ok(None) => {}
                Err(detail) => {
                    self.stopped = true;
                    return Err(ReadError::Damaged {
                        chunk: self.body_seq,
                        offset: self.body_offset,
                        detail,
                    });
                }
            }
            if !self.load_next_records_chunk()? {
                self.stopped = true;
                return Ok(None);
            }
        }
    }

    /// Reads chunks until a records chunk; false at the end of the recording.
    fn load_next_records_chunk(&mut self) -> Result<bool, ReadError> {
        loop {
            let offset = self.next_offset;
            let chunk = self.next_seq;
            self.source.seek(SeekFrom::Start(offset))?;
            let remaining = self.len.saturating_sub(offset);
            let read = match read_chunk(&mut self.source, remaining, &mut self.body) {
                Ok(read) => read,
                Err(ChunkError::End) => return Ok(false),
                Err(ChunkError::Io(err)) => {
                    self.stopped = true;
                    return Err(err.into());
                }
                Err(ChunkError::Truncated) => {
                    self.stopped = true;
                    self.body.clear();
                    return Err(ReadError::Truncated { chunk, offset });
                }
                Err(ChunkError::Damaged(detail)) => {
                    self.stopped = true;
                    self.body.clear();
                    return Err(ReadError::Damaged {
                        chunk,
                        offset,
                        detail,
                    });
                }
            };
            self.next_offset = offset + read.head.total_len();
            self.next_seq = read.head.seq.saturating_add(1);
            self.cursor = BodyCursor::new();
            self.body_seq = read.head.seq;
            self.body_offset = offset;
            match read.head.kind {
                ChunkKind::Records => return Ok(true),
                ChunkKind::Seal if self.body.first() == Some(&1) => {
                    self.body.clear();
                    return Ok(false);
                }
                _ => self.body.clear(),
            }
        }
    }

    /// The index named by a final seal at the end of the file, if there is one that
    /// checks out.
    fn final_index(&mut self) -> Result<Option<Vec<IndexEntry>>, ReadError> {
        let seal_len = OVERHEAD + SEAL_BODY_LEN as u64;
        if self.len < self.first_offset + seal_len {
            return Ok(None);
        }
        let seal_offset = self.len - seal_len;
        self.source.seek(SeekFrom::Start(seal_offset))?;
        let mut body = Vec::new();
        let Ok(seal) = read_chunk(&mut self.source, seal_len, &mut body) else {
            return Ok(None);
        };
        if seal.head.kind != ChunkKind::Seal || body.first() != Some(&1) {
            return Ok(None);
        }
        let mut offset = [0u8; 8];
        offset.copy_from_slice(&body[1..9]);
        let index_offset = u64::from_be_bytes(offset);
        if index_offset < self.first_offset || index_offset >= seal_offset {
            return Ok(None);
        }
        self.source.seek(SeekFrom::Start(index_offset))?;
        let Ok(index) = read_chunk(&mut self.source, seal_offset - index_offset, &mut body) else {
            return Ok(None);
        };
        if index.head.kind != ChunkKind::Index {
            return Ok(None);
        }
        Ok(Index::decode(&body).ok())
    }

    /// Rebuilds the index from the chunk heads, without reading bodies. Stops at the
    /// first head that does not make sense.
    fn scan_index(&mut self) -> Result<Vec<IndexEntry>, ReadError> {
        let mut index = Index::new();
        let mut offset = self.first_offset;
        while offset + (HEAD_LEN + TAIL_LEN) as u64 <= self.len {
            self.source.seek(SeekFrom::Start(offset))?;
            let head: ChunkHead = match read_head(&mut self.source) {
                Ok(head) => head,
                Err(ChunkError::Io(err)) => return Err(err.into()),
                Err(_) => break,
            };
            if offset + head.total_len() > self.len {
                break;
            }
            if head.starts_with_keyframe() {
                index.push(IndexEntry {
                    time: head.time,
                    offset,
                    seq: head.seq,
                });
            }
            offset += head.total_len();
        }
        Ok(index.entries)
    }
}
