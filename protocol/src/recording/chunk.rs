//! One chunk on disk: its 58-byte head, body, hash and repeated length, and how to read
//! one back without trusting what it claims.

use std::io::{Read, Seek, SeekFrom};

use ring::digest::{Context, SHA256};

use crate::time::Timestamp;

/// Largest chunk body, in bytes: one video frame of the largest size the protocol
/// allows (16 MiB) with its record headers fits.
pub const CHUNK_BODY_LIMIT: usize = 17 * 1024 * 1024;

pub(crate) const MAGIC: [u8; 4] = *b"LLRC";
pub(crate) const HEAD_LEN: usize = 58;
pub(crate) const TAIL_LEN: usize = 36;
/// Bytes a chunk takes besides its body.
pub(crate) const OVERHEAD: u64 = (HEAD_LEN + TAIL_LEN) as u64;

/// The flag of a records chunk whose first record is a video keyframe.
pub(crate) const FLAG_KEYFRAME: u8 = 1;

/// A SHA-256 value.
pub(crate) type Hash = [u8; 32];

/// What a chunk holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ChunkKind {
    /// The first chunk: the JSON header.
    Header,
    /// Timed records.
    Records,
    /// The keyframe index.
    Index,
    /// A signature of the chain so far.
    Seal,
}

impl ChunkKind {
    fn code(self) -> u8 {
        match self {
            ChunkKind::Header => 0,
            ChunkKind::Records => 1,
            ChunkKind::Index => 2,
            ChunkKind::Seal => 3,
        }
    }

    fn from_code(code: u8) -> Option<Self> {
        match code {
            0 => Some(ChunkKind::Header),
            1 => Some(ChunkKind::Records),
            2 => Some(ChunkKind::Index),
            3 => Some(ChunkKind::Seal),
            _ => None,
        }
    }
}

/// The head of a chunk, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChunkHead {
    /// What it holds.
    pub kind: ChunkKind,
    /// Flags (bit 0: starts with a keyframe).
    pub flags: u8,
    /// Its position in the chain, from 0.
    pub seq: u64,
    /// Its first record's time (or when it was written).
    pub time: Timestamp,
    /// Length of its body.
    pub body_len: u32,
    /// Hash of the chunk before it.
    pub(crate) prev: Hash,
}

impl ChunkHead {
    /// Whether the chunk's first record is a video keyframe.
    pub fn starts_with_keyframe(&self) -> bool {
        self.kind == ChunkKind::Records && self.flags & FLAG_KEYFRAME != 0
    }

    /// Bytes the whole chunk takes in the file.
    pub fn total_len(&self) -> u64 {
        OVERHEAD + u64::from(self.body_len)
    }

    pub(crate) fn encode(&self) -> [u8; HEAD_LEN] {
        let mut out = [0u8; HEAD_LEN];
        out[0..4].copy_from_slice(&MAGIC);
        out[4] = self.kind.code();
        out[5] = self.flags;
        out[6..14].copy_from_slice(&self.seq.to_be_bytes());
        out[14..22].copy_from_slice(&self.time.as_unix_millis().to_be_bytes());
        out[22..26].copy_from_slice(&self.body_len.to_be_bytes());
        out[26..58].copy_from_slice(&self.prev);
        out
    }

    /// Parses a head; an error says why it cannot be one (wrong marker, unknown kind,
    /// body over the limit).
    pub(crate) fn decode(bytes: &[u8; HEAD_LEN]) -> Result<Self, &'static str> {
        if bytes[0..4] != MAGIC {
            return Err("it does not start with the chunk marker");
        }
        let kind = ChunkKind::from_code(bytes[4]).ok_or("its kind is unknown")?;
        let u64_at = |at: usize| {
            let mut b = [0u8; 8];
            b.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(b)
        };
        let mut len = [0u8; 4];
        len.copy_from_slice(&bytes[22..26]);
        let body_len = u32::from_be_bytes(len);
        if usize::try_from(body_len).map_or(true, |len| len > CHUNK_BODY_LIMIT) {
            return Err("its length is over the limit");
        }
        let mut prev = [0u8; 32];
        prev.copy_from_slice(&bytes[26..58]);
        Ok(Self {
            kind,
            flags: bytes[5],
            seq: u64_at(6),
            time: Timestamp(u64_at(14)),
            body_len,
            prev,
        })
    }
}

/// The hash of a chunk: SHA-256 of head and body.
pub(crate) fn chunk_hash(head: &[u8; HEAD_LEN], body: &[u8]) -> Hash {
    let mut context = Context::new(&SHA256);
    context.update(head);
    context.update(body);
    let mut out = [0u8; 32];
    out.copy_from_slice(context.finish().as_ref());
    out
}

/// Encodes a whole chunk; returns its bytes and hash.
pub(crate) fn encode_chunk(head: &ChunkHead, body: &[u8]) -> (Vec<u8>, Hash) {
    let head_bytes = head.encode();
    let hash = chunk_hash(&head_bytes, body);
    let mut out = Vec::with_capacity(HEAD_LEN + body.len() + TAIL_LEN);
    out.extend_from_slice(&head_bytes);
    out.extend_from_slice(body);
    out.extend_from_slice(&hash);
    out.extend_from_slice(&head.body_len.to_be_bytes());
    (out, hash)
}

/// Why a chunk could not be read.
#[derive(Debug)]
pub(crate) enum ChunkError {
    /// The file ends exactly here: no more chunks.
    End,
    /// The file ends inside this chunk.
    Truncated,
    /// The bytes are not a good chunk.
    Damaged(String),
    /// Reading failed.
    Io(std::io::Error),
}

/// A chunk read back and checked against its own hash.
#[derive(Debug)]
pub(crate) struct ReadChunk {
    pub(crate) head: ChunkHead,
    pub(crate) hash: Hash,
}

/// Reads as many bytes as are there, up to `buf.len()`; returns how many.
fn read_full(source: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match source.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => {}
            Err(err) => return Err(err),
        }
    }
    Ok(filled)
}

/// Reads just a head (for index scans), leaving the source after it.
pub(crate) fn read_head(source: &mut impl Read) -> Result<ChunkHead, ChunkError> {
    let mut head = [0u8; HEAD_LEN];
    match read_full(source, &mut head).map_err(ChunkError::Io)? {
        0 => return Err(ChunkError::End),
        n if n < HEAD_LEN => return Err(ChunkError::Truncated),
        _ => {}
    }
    ChunkHead::decode(&head).map_err(|why| ChunkError::Damaged(format!("its head is bad: {why}")))
}

/// Reads the chunk at the source's position into `body` (replacing its contents) and
/// checks its hash and repeated length. `remaining` is how many bytes the file holds
/// from here: a length past it is a cut-off chunk, and nothing past it is allocated.
pub(crate) fn read_chunk(
    source: &mut impl Read,
    remaining: u64,
    body: &mut Vec<u8>,
) -> Result<ReadChunk, ChunkError> {
    let mut head_bytes = [0u8; HEAD_LEN];
    match read_full(source, &mut head_bytes).map_err(ChunkError::Io)? {
        0 => return Err(ChunkError::End),
        n if n < HEAD_LEN => return Err(ChunkError::Truncated),
        _ => {}
    }
    let head = ChunkHead::decode(&head_bytes)
        .map_err(|why| ChunkError::Damaged(format!("its head is bad: {why}")))?;
    if head.total_len() > remaining {
        return Err(ChunkError::Truncated);
    }
    // `body_len <= CHUNK_BODY_LIMIT` (checked by decode) and within the file.
    let body_len = usize::try_from(head.body_len).map_err(|_| ChunkError::Truncated)?;
    body.clear();
    body.resize(body_len, 0);
    if read_full(source, body).map_err(ChunkError::Io)? < body_len {
        return Err(ChunkError::Truncated);
    }
    let mut tail = [0u8; TAIL_LEN];
    if read_full(source, &mut tail).map_err(ChunkError::Io)? < TAIL_LEN {
        return Err(ChunkError::Truncated);
    }
    let hash = chunk_hash(&head_bytes, body);
    if tail[..32] != hash {
        return Err(ChunkError::Damaged(
            "its checksum does not match its contents".to_owned(),
        ));
    }
    if tail[32..] != head.body_len.to_be_bytes() {
        return Err(ChunkError::Damaged(
            "its trailing length does not match its head".to_owned(),
        ));
    }
    Ok(ReadChunk { head, hash })
}

/// The length of a seekable source, leaving its position at `restore`.
pub(crate) fn source_len(source: &mut impl Seek, restore: u64) -> std::io::Result<u64> {
    let len = source.seek(SeekFrom::End(0))?;
    source.seek(SeekFrom::Start(restore))?;
    Ok(len)
}
