//! The session recording format: chunked, hash-chained and signed, so that a recording
//! can be kept as evidence, survives a crash of the recorder, and plays from any point.
//!
//! What it does: [`RecordingWriter`] writes a recording to any [`std::io::Write`];
//! [`RecordingReader`] opens one from any [`std::io::Read`] + [`std::io::Seek`], finds
//! its keyframe index, seeks to a time and iterates records; [`verify()`] checks a whole
//! file and names the first bad chunk. Memory stays bounded whatever the length: one
//! chunk (at most [`CHUNK_BODY_LIMIT`] bytes) and an index of at most
//! [`MAX_INDEX_ENTRIES`] entries.
//!
//! What it does not do: no files, threads or clock reads. The caller opens files and
//! passes every time in; the viewer (and later the agent) own that.
//!
//! # The file format (version 1)
//!
//! All integers are big-endian. Times are [`Timestamp`](crate::Timestamp)s: milliseconds since the Unix
//! epoch, on the recorder's clock. Hashes are SHA-256.
//!
//! ## Chunks
//!
//! A recording is a sequence of chunks, nothing else:
//!
//! ```text
//! offset size  field
//! 0      4     magic "LLRC"
//! 4      1     kind: 0 header, 1 records, 2 index, 3 seal
//! 5      1     flags: bit 0 = the chunk's first record is a video keyframe
//! 6      8     seq: 0 for the first chunk, then +1 per chunk
//! 14     8     time: the chunk's first record (header: start; index, seal: when written)
//! 22     4     body length L (at most CHUNK_BODY_LIMIT)
//! 26     32    prev: the hash of the previous chunk (32 zero bytes for chunk 0)
//! 58     L     body
//! 58+L   32    hash: SHA-256 of bytes 0 .. 58+L (head and body)
//! 90+L   4     body length L again (so the file can be walked backwards from its end)
//! ```
//!
//! The `hash` is each chunk's checksum: a chunk cut short by a crash or changed on disk
//! does not match it. The `prev` field chains each chunk to the one before, so that a
//! removed, inserted or reordered chunk breaks the chain. Anybody can recompute SHA-256,
//! so the recorder also signs the chain (seal chunks, below) with its Ed25519 key.
//!
//! The first chunk is the **header** (kind 0): its body is one JSON object, [`Header`]:
//! the format and version, the recording's id, the start time, who recorded and with
//! which public key (the seals' signer), the agent's key fingerprint and software
//! version, the technician's name, fingerprint and how that name was verified, the
//! session id, the protocol version, and the [`Policy`] (whether keys, clipboard and
//! chat contents were kept).
//!
//! ## Records
//!
//! A **records** chunk (kind 1) holds records back to back, each
//!
//! ```text
//! 0   1  type: 1 video, 2 pointer move, 3 event
//! 1   8  time
//! 9   4  payload length P
//! 13  P  payload
//! ```
//!
//! Readers skip record types they do not know. Times never decrease within a recording.
//!
//! - **Video** (type 1): the encoded frame exactly as the agent sent it, never
//!   re-encoded: `sequence` u64, `capture_time` u64 (the agent's clock), `flags` u8
//!   (bit 0: keyframe), `width` u32, `height` u32, `codec` u8 (1: H.264 Annex-B access
//!   unit), then the access unit to the end of the payload. A recording's video starts
//!   with a keyframe; a keyframe always starts a new chunk (and sets the chunk's flag).
//! - **Pointer move** (type 2): `x` u32, `y` u32 in video pixels (the technician's
//!   pointer).
//! - **Event** (type 3): one UTF-8 JSON object, an [`Event`] in serde's external
//!   tagging with snake_case names, e.g. `{"scopes_changed":{"granted":["view"]}}`,
//!   `{"chat":{"from":"agent","bytes":5,"text":"hello"}}`, `{"audit":{…}}` (an
//!   [`AuditRecord`](crate::audit::AuditRecord) with its own stable names), or
//!   `{"resolution":{"width":1920,"height":1080}}` before the first frame of each size.
//!
//! ## Seals
//!
//! A **seal** chunk (kind 3) signs the chain up to itself. Its body is
//!
//! ```text
//! 0  1   final: 1 in the last chunk of a finished recording, else 0
//! 1  8   index offset: file offset of the index chunk (final seal), else 0
//! 9  64  Ed25519 signature
//! ```
//!
//! The signature covers `"lifeline recording seal v1\0"`, then the seal chunk's 58-byte
//! head (which holds its `seq`, `time` and `prev`, the hash of everything before it),
//! then the 9 body bytes before the signature. The key is the header's
//! `recorder.public_key`. Seals are written every [`SEAL_INTERVAL`] while there is
//! something new to sign, and at the end.
//!
//! ## Index
//!
//! An **index** chunk (kind 2), written once just before the final seal, lists records
//! chunks that start with a keyframe: a `count` u32, then `count` entries of `time`
//! u64, `offset` u64 (file offset of the chunk) and `seq` u64. When the recording was
//! not finished (the recorder crashed), readers rebuild the same list by walking the
//! chunk heads (`flags` and `time`), without reading bodies.
//!
//! A recording is **finished** when its last chunk is a final seal. A recording cut short
//! plays up to its last whole chunk; verification says which chunk was cut.
//!
//! ## What verification detects
//!
//! [`verify()`] reads every chunk and names the first bad one: a changed byte (its hash
//! does not match), a missing chunk (`seq` jumps, `prev` does not link), two chunks
//! swapped, a bad signature, a file cut inside a chunk, or a file that ends without a
//! final seal. Someone who rewrites the chain after an edit (recomputing every hash) is
//! caught at the next seal, whose signature no longer matches; only the holder of the
//! recorder's key can re-sign. A file that ends cleanly after removing whole chunks from
//! the end is reported as unfinished, with the last signed chunk named.

mod chunk;
mod event;
mod header;
mod index;
mod reader;
mod record;
mod verify;
mod writer;

#[cfg(test)]
mod tests;

use std::time::Duration;

pub use chunk::{CHUNK_BODY_LIMIT, ChunkHead, ChunkKind};
pub use event::{Event, Side};
pub use header::{
    AgentInfo, FORMAT_NAME, FORMAT_VERSION, Header, Policy, Recorder, RecordingId, TechnicianInfo,
    TechnicianVerification,
};
pub use index::{IndexEntry, MAX_INDEX_ENTRIES};
pub use reader::{ReadError, RecordingReader};
pub use record::{Record, TimedRecord};
pub use verify::{Problem, Report, verify};
pub use writer::{RecordingWriter, WriteError};

/// A records chunk is closed once its body reaches this size.
pub const CHUNK_TARGET_BYTES: usize = 256 * 1024;
/// A records chunk is closed once its first record is this old: a crash loses at most
/// about this much.
pub const CHUNK_MAX_AGE: Duration = Duration::from_secs(1);
/// The chain is signed this often while new chunks wait unsigned.
pub const SEAL_INTERVAL: Duration = Duration::from_secs(10);
